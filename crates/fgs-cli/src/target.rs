//! The TARGET argument: a full function URN, or `PACKAGE/NAME[:VERSION|:!ALIAS]` completed
//! with a region and a project id.

use fgs::{FunctionRef, FunctionUrn, Qualifier, UrnErrorKind, UrnPart};

/// A parsed TARGET, every part already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A full URN: it names its own region and project.
    Urn(FunctionUrn),
    /// The short form, which needs a region and a project id.
    Short(FunctionRef),
}

impl Target {
    /// Parses and checks TARGET, with the URN rules of the SDK ([`FunctionUrn`] and
    /// [`FunctionRef`], which also takes `NAME!ALIAS` for `NAME:!ALIAS`).
    pub(crate) fn parse(text: &str) -> Result<Target, String> {
        if text.starts_with("urn:") {
            return FunctionUrn::parse(text).map(Target::Urn).map_err(|e| e.to_string());
        }
        match FunctionRef::parse(text) {
            Ok(function) => Ok(Target::Short(function)),
            Err(e) if e.part() == UrnPart::Name && e.kind() == UrnErrorKind::Missing => Err(format!(
                "{text:?} is neither a function URN (urn:fss:REGION:PROJECT_ID:function:PACKAGE:NAME[:QUALIFIER]) \
                 nor PACKAGE/NAME[:VERSION|:!ALIAS]"
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The target with `--version` or `--alias` applied; an error when TARGET already
    /// names a qualifier.
    pub(crate) fn qualified(self, version: Option<&str>, alias: Option<&str>) -> Result<Target, String> {
        let (qualifier, flag) = match (version, alias) {
            (Some(version), _) => (Qualifier::Version(version), "--version"),
            (None, Some(alias)) => (Qualifier::Alias(alias.strip_prefix('!').unwrap_or(alias)), "--alias"),
            (None, None) => return Ok(self),
        };
        let existing = match &self {
            Target::Urn(urn) => urn.qualifier().map(|q| q.to_string()),
            Target::Short(function) => function.qualifier().map(|q| q.to_string()),
        };
        if let Some(existing) = existing {
            return Err(format!(
                "the target already names {existing:?}: give the qualifier either in the target or with {flag}, not both"
            ));
        }
        match self {
            Target::Urn(urn) => urn.with_qualifier(qualifier).map(Target::Urn),
            Target::Short(function) => function.with_qualifier(qualifier).map(Target::Short),
        }
        .map_err(|e| e.to_string())
    }

    /// `package/name`, for messages.
    pub(crate) fn function_name(&self) -> String {
        match self {
            Target::Urn(urn) => format!("{}/{}", urn.package(), urn.name()),
            Target::Short(function) => format!("{}/{}", function.package(), function.name()),
        }
    }

    /// What the client invokes: a full URN as given, the short form completed by the
    /// client with its region and project.
    pub(crate) fn function_target(&self) -> fgs::FunctionTarget {
        match self {
            Target::Urn(urn) => fgs::FunctionTarget::Urn(urn.clone()),
            Target::Short(function) => fgs::FunctionTarget::Ref(function.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_become_what_the_client_invokes() {
        let urn = "urn:fss:ap-southeast-1:0123456789abcdef0123456789abcdef:function:pkg:fn:!prod";
        let target = Target::parse(urn).unwrap();
        assert_eq!(target.function_name(), "pkg/fn");
        assert_eq!(target.function_target().to_string(), urn);
        for (text, canonical) in [
            ("default/hello", "default/hello"),
            ("default/hello:v1", "default/hello:v1"),
            ("default/hello!prod", "default/hello:!prod"),
        ] {
            let target = Target::parse(text).unwrap();
            assert!(matches!(target.function_target(), fgs::FunctionTarget::Ref(_)));
            assert_eq!(target.function_target().to_string(), canonical);
        }
    }

    #[test]
    fn version_and_alias_flags_qualify_the_target() {
        let qualified = |text: &str, version: Option<&str>, alias: Option<&str>| {
            Target::parse(text)
                .unwrap()
                .qualified(version, alias)
                .map(|t| t.function_target().to_string())
        };
        assert_eq!(
            qualified("default/hello", Some("v1"), None).unwrap(),
            "default/hello:v1"
        );
        assert_eq!(
            qualified("default/hello", None, Some("prod")).unwrap(),
            "default/hello:!prod"
        );
        assert_eq!(
            qualified("default/hello", None, Some("!prod")).unwrap(),
            "default/hello:!prod"
        );
        assert_eq!(qualified("default/hello", None, None).unwrap(), "default/hello");
        let urn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello";
        assert_eq!(qualified(urn, Some("v2"), None).unwrap(), format!("{urn}:v2"));
        let twice = qualified("default/hello:v1", None, Some("prod")).unwrap_err();
        assert!(
            twice.contains("already names \"v1\"") && twice.contains("--alias"),
            "{twice}"
        );
        assert!(qualified(&format!("{urn}:!prod"), Some("v1"), None).is_err());
        assert!(qualified("default/hello", Some("bad version!"), None).is_err());
    }

    #[test]
    fn bad_targets_name_the_problem() {
        assert!(Target::parse("hello").unwrap_err().contains("neither a function URN"));
        assert!(
            Target::parse("default/")
                .unwrap_err()
                .contains("neither a function URN")
        );
        assert_eq!(
            Target::parse("default/9hello").unwrap_err(),
            r#"invalid function reference: function name "9hello" must start with a letter"#
        );
        assert!(
            Target::parse("default/hello:v1:x")
                .unwrap_err()
                .contains("after the version")
        );
        assert!(Target::parse("default/hello:!").is_err());
        assert!(Target::parse("default/hello:").is_err());
        assert!(Target::parse("urn:fss:cn-north-4:p:function:default").is_err());
        assert!(Target::parse("bad package/hello").is_err());
    }
}
