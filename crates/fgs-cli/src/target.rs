//! The TARGET argument: a full function URN, or `PACKAGE/NAME[:VERSION|:!ALIAS]` completed
//! with a region and a project id.

use fgs::{FunctionRef, FunctionUrn, UrnErrorKind, UrnPart};

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

    /// `package/name`, for messages.
    pub(crate) fn function_name(&self) -> String {
        match self {
            Target::Urn(urn) => format!("{}/{}", urn.package(), urn.name()),
            Target::Short(function) => format!("{}/{}", function.package(), function.name()),
        }
    }

    /// The URN to invoke. A full URN is used as given; the short form is completed with
    /// `region` and `project_id`.
    pub(crate) fn resolve(&self, region: Option<&str>, project_id: Option<&str>) -> Result<FunctionUrn, String> {
        let function = match self {
            Target::Urn(urn) => return Ok(urn.clone()),
            Target::Short(function) => function,
        };
        let name = self.function_name();
        let region = region
            .ok_or_else(|| format!("{name} needs a region: pass --region or set FGS_REGION (or give a full URN)"))?;
        let project_id = project_id.ok_or_else(|| {
            format!(
                "{name} needs a project id: pass --project-id, set HUAWEICLOUD_SDK_PROJECT_ID, or put \
                 project_id in [basic] of ~/.huaweicloud/credentials (or give a full URN)"
            )
        })?;
        function.resolve(region, project_id).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROJECT: &str = "0123456789abcdef0123456789abcdef";

    fn short(text: &str) -> Result<String, String> {
        Ok(Target::parse(text)?
            .resolve(Some("cn-north-4"), Some(PROJECT))?
            .as_str()
            .to_owned())
    }

    #[test]
    fn short_forms_become_urns() {
        let base = format!("urn:fss:cn-north-4:{PROJECT}:function:default:hello");
        assert_eq!(short("default/hello").unwrap(), base);
        assert_eq!(short("default/hello:latest").unwrap(), format!("{base}:latest"));
        assert_eq!(short("default/hello:v1").unwrap(), format!("{base}:v1"));
        assert_eq!(short("default/hello:!prod").unwrap(), format!("{base}:!prod"));
        assert_eq!(short("default/hello!prod").unwrap(), format!("{base}:!prod"));
    }

    #[test]
    fn full_urns_are_kept_as_given() {
        let urn = format!("urn:fss:ap-southeast-1:{PROJECT}:function:pkg:fn:!prod");
        let target = Target::parse(&urn).unwrap();
        assert_eq!(target.function_name(), "pkg/fn");
        assert_eq!(target.resolve(Some("cn-north-4"), None).unwrap().as_str(), urn);
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

    #[test]
    fn the_short_form_needs_region_and_project() {
        let target = Target::parse("default/hello").unwrap();
        assert!(target.resolve(None, Some(PROJECT)).unwrap_err().contains("--region"));
        assert!(
            target
                .resolve(Some("cn-north-4"), None)
                .unwrap_err()
                .contains("--project-id")
        );
        assert!(
            target
                .resolve(Some("CN North"), Some(PROJECT))
                .unwrap_err()
                .contains("region")
        );
    }
}
