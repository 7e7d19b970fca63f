//! The `FunctionRef` type: `package/name[:version|:!alias]`, a function named without its
//! region and project.

use std::str::FromStr;

use crate::error::UrnError;
use crate::rules::{self, ALIAS_MARK, REF_SEPARATOR, UrnErrorKind, UrnPart};
use crate::urn::{QualifierKind, Span, check_qualifier, push_part, push_qualifier, qualifier_value};
use crate::{FunctionUrn, Qualifier};

/// A function named by package and name, with an optional qualifier, but without the
/// region and project that a [`FunctionUrn`] carries:
///
/// ```text
/// {package}/{name}[:{version}|:!{alias}]
/// ```
///
/// This is the short form the CLI accepts, `#[fgs_function(function = "...")]` takes and
/// stubs resolve against the client's region and project. Each part follows the rules of
/// the same part of a URN (see the [crate documentation](crate#rules)); errors name the
/// wrong part with the same [`UrnPart`] and [`UrnErrorKind`], with byte spans in the
/// input. `package/name!alias` is accepted as a shorthand for `package/name:!alias`;
/// [`Display`](std::fmt::Display) and [`as_str`](FunctionRef::as_str) always write the `:!`
/// form, so parsing what is displayed gives the same reference.
///
/// Equality, hashing and ordering are those of that canonical text.
///
/// # Example
///
/// ```
/// use fgs_urn::{FunctionRef, Qualifier, UrnPart};
///
/// # fn main() -> Result<(), fgs_urn::UrnError> {
/// let function = FunctionRef::parse("default/hello:!prod")?;
/// assert_eq!(function.package(), "default");
/// assert_eq!(function.name(), "hello");
/// assert_eq!(function.qualifier(), Some(Qualifier::Alias("prod")));
///
/// let urn = function.resolve("cn-north-4", "0123456789abcdef0123456789abcdef")?;
/// assert_eq!(urn.as_str(), "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:!prod");
///
/// assert_eq!(FunctionRef::parse("default/hello!prod")?, function);
///
/// let err = FunctionRef::parse("default/9hello").unwrap_err();
/// assert_eq!(err.part(), UrnPart::Name);
/// assert_eq!(err.span(), 8..14);
/// assert_eq!(
///     err.to_string(),
///     r#"invalid function reference: function name "9hello" must start with a letter"#
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct FunctionRef {
    /// Canonical text: `package/name`, then `:version` or `:!alias`.
    text: String,
    package: Span,
    name: Span,
    /// For an alias the span excludes the `!`.
    qualifier: Option<(QualifierKind, Span)>,
}

impl FunctionRef {
    /// Parses and validates `package/name[:version|:!alias]` (or `package/name!alias`).
    ///
    /// The text must match exactly: no whitespace is trimmed.
    ///
    /// # Errors
    ///
    /// Returns a [`UrnError`] naming the first part that is missing, empty or invalid
    /// (a text without `/` is missing its [name](UrnPart::Name)), or the text found
    /// after the qualifier ([`UrnPart::Trailing`]). Spans are byte ranges in `text`.
    pub fn parse(text: &str) -> Result<FunctionRef, UrnError> {
        let (package, name, qualifier) = split(text).map_err(UrnError::in_reference)?;
        FunctionRef::from_parts(package, name, qualifier)
    }

    /// Builds a reference from its parts, validating each of them. An alias is given
    /// without its `!`.
    ///
    /// # Errors
    ///
    /// Returns a [`UrnError`] for the first invalid part; its span is the byte range the
    /// part would have had in the built text.
    ///
    /// ```
    /// use fgs_urn::{FunctionRef, Qualifier};
    ///
    /// let function = FunctionRef::from_parts("default", "hello", Some(Qualifier::LATEST)).unwrap();
    /// assert_eq!(function.as_str(), "default/hello:latest");
    /// assert!(FunctionRef::from_parts("default", "hello", Some(Qualifier::Alias("-x"))).is_err());
    /// ```
    pub fn from_parts(package: &str, name: &str, qualifier: Option<Qualifier<'_>>) -> Result<FunctionRef, UrnError> {
        let capacity = package.len() + name.len() + qualifier.map_or(0, |q| qualifier_value(q).len() + 2) + 1;
        let mut text = String::with_capacity(capacity);
        let package = push_part(&mut text, UrnPart::Package, package).map_err(UrnError::in_reference)?;
        text.push(REF_SEPARATOR);
        let name = push_part(&mut text, UrnPart::Name, name).map_err(UrnError::in_reference)?;
        let qualifier = qualifier
            .map(|qualifier| push_qualifier(&mut text, qualifier))
            .transpose()
            .map_err(UrnError::in_reference)?;
        Ok(FunctionRef {
            text,
            package,
            name,
            qualifier,
        })
    }

    /// The same reference with `qualifier` instead of its current one (if any).
    ///
    /// # Errors
    ///
    /// Returns a [`UrnError`] if the qualifier is invalid.
    ///
    /// ```
    /// use fgs_urn::{FunctionRef, Qualifier};
    ///
    /// let function = FunctionRef::parse("default/hello").unwrap();
    /// assert_eq!(function.with_qualifier(Qualifier::Version("v1")).unwrap().as_str(), "default/hello:v1");
    /// ```
    pub fn with_qualifier(&self, qualifier: Qualifier<'_>) -> Result<FunctionRef, UrnError> {
        FunctionRef::from_parts(self.package(), self.name(), Some(qualifier))
    }

    /// The URN of this function in `region` and `project_id`.
    ///
    /// # Errors
    ///
    /// Returns a [`UrnError`] about the [region](UrnPart::Region) or the
    /// [project id](UrnPart::ProjectId) if either is invalid (the other parts were
    /// checked when the reference was made); spans are byte ranges in the URN text that
    /// would have been built.
    ///
    /// ```
    /// use fgs_urn::{FunctionRef, UrnPart};
    ///
    /// let function = FunctionRef::parse("default/hello:v1").unwrap();
    /// let urn = function.resolve("cn-north-4", "abc123").unwrap();
    /// assert_eq!(urn.as_str(), "urn:fss:cn-north-4:abc123:function:default:hello:v1");
    /// assert_eq!(function.resolve("CN North", "abc123").unwrap_err().part(), UrnPart::Region);
    /// ```
    pub fn resolve(&self, region: &str, project_id: &str) -> Result<FunctionUrn, UrnError> {
        FunctionUrn::from_parts(region, project_id, self.package(), self.name(), self.qualifier())
    }

    /// The canonical text, `package/name[:version|:!alias]`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn slice(&self, span: Span) -> &str {
        // The spans were produced from this very text; `get` keeps this panic-free anyway.
        self.text.get(span.start..span.end).unwrap_or_default()
    }

    /// The package (application), such as `default`.
    #[must_use]
    pub fn package(&self) -> &str {
        self.slice(self.package)
    }

    /// The function name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.slice(self.name)
    }

    /// The qualifier, or `None` if there is none (the service then invokes `latest`).
    #[must_use]
    pub fn qualifier(&self) -> Option<Qualifier<'_>> {
        self.qualifier.map(|(kind, span)| kind.with_value(self.slice(span)))
    }

    /// The version, if the qualifier is a version.
    #[must_use]
    pub fn version(&self) -> Option<&str> {
        self.qualifier().and_then(Qualifier::version)
    }

    /// The alias name (without `!`), if the qualifier is an alias.
    #[must_use]
    pub fn alias(&self) -> Option<&str> {
        self.qualifier().and_then(Qualifier::alias)
    }
}

/// The parts of `text`, each checked, with errors spanning `text`.
fn split(text: &str) -> Result<(&str, &str, Option<Qualifier<'_>>), UrnError> {
    if text.is_empty() {
        return Err(UrnError::missing(UrnPart::Package, 0));
    }
    let Some(slash) = text.find(REF_SEPARATOR) else {
        return Err(UrnError::missing(UrnPart::Name, text.len()));
    };
    let package = checked(text, UrnPart::Package, Span { start: 0, end: slash })?;
    let name_start = slash + REF_SEPARATOR.len_utf8();
    let name_end = text
        .get(name_start..)
        .and_then(|rest| rest.find([':', ALIAS_MARK]))
        .map_or(text.len(), |at| name_start + at);
    if name_start == text.len() {
        return Err(UrnError::missing(UrnPart::Name, text.len()));
    }
    let name = checked(
        text,
        UrnPart::Name,
        Span {
            start: name_start,
            end: name_end,
        },
    )?;
    let qualifier = match text.get(name_end..) {
        Some(rest) if rest.starts_with(':') => Some(qualifier_at(text, name_end + 1)?),
        Some(rest) if rest.starts_with(ALIAS_MARK) => Some(qualifier_at(text, name_end)?),
        _ => None,
    };
    Ok((package, name, qualifier))
}

/// The part of `text` at `span`, checked against the rule of `part`.
fn checked(text: &str, part: UrnPart, span: Span) -> Result<&str, UrnError> {
    let value = text.get(span.start..span.end).unwrap_or_default();
    if value.is_empty() {
        return Err(UrnError::new(part, UrnErrorKind::Empty, span.start..span.start, ""));
    }
    rules::check(part, value).map_err(|kind| UrnError::new(part, kind, span.start..span.end, value))?;
    Ok(value)
}

/// The qualifier written from byte `start` of `text` (`!` included for an alias), which
/// must run to the end of `text`.
fn qualifier_at(text: &str, start: usize) -> Result<Qualifier<'_>, UrnError> {
    let rest = text.get(start..).unwrap_or_default();
    let end = rest.find(':').map_or(text.len(), |at| start + at);
    let field = text.get(start..end).unwrap_or_default();
    let (kind, span) = check_qualifier(field, start)?;
    if end < text.len() {
        let after = match kind {
            QualifierKind::Version => UrnPart::Version,
            QualifierKind::Alias => UrnPart::Alias,
        };
        return Err(UrnError::trailing(
            after,
            end..text.len(),
            text.get(end..).unwrap_or_default(),
        ));
    }
    Ok(kind.with_value(text.get(span.start..span.end).unwrap_or_default()))
}

impl FromStr for FunctionRef {
    type Err = UrnError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        FunctionRef::parse(text)
    }
}

impl TryFrom<&str> for FunctionRef {
    type Error = UrnError;

    fn try_from(text: &str) -> Result<Self, Self::Error> {
        FunctionRef::parse(text)
    }
}

crate::text_identity::text_identity!(FunctionRef);
