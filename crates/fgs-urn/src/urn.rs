//! The `FunctionUrn` type: parsing, construction and accessors.

use std::fmt;
use std::hash::Hash;
use std::str::FromStr;
use std::sync::Arc;

use crate::encode::encode_path_segment;
use crate::error::UrnError;
use crate::rules::{self, ALIAS_MARK, PREFIX, RESOURCE_TYPE, UrnErrorKind, UrnPart};

/// The qualifier of a function URN: a version or an alias.
///
/// In URN text an alias is written with a leading `!`; [`Qualifier::Alias`]
/// holds the name without it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Qualifier<'a> {
    /// A version: `latest`, a published version such as `v20240101-120000`
    /// or a custom version name.
    Version(&'a str),
    /// An alias, without the `!` it is written with in a URN.
    Alias(&'a str),
}

impl Qualifier<'static> {
    /// The `latest` version, which the service also invokes for a URN
    /// without a qualifier.
    pub const LATEST: Qualifier<'static> = Qualifier::Version("latest");
}

impl<'a> Qualifier<'a> {
    /// Parses a qualifier as written in a URN: `!name` is an alias, anything
    /// else a version.
    ///
    /// Error spans are byte ranges in `text`.
    ///
    /// ```
    /// use fgs_urn::Qualifier;
    ///
    /// assert_eq!(Qualifier::parse("!prod"), Ok(Qualifier::Alias("prod")));
    /// assert_eq!(Qualifier::parse("latest"), Ok(Qualifier::LATEST));
    /// assert!(Qualifier::parse("!").is_err());
    /// ```
    pub fn parse(text: &'a str) -> Result<Self, UrnError> {
        let (kind, span) = check_qualifier(text, 0)?;
        Ok(kind.with_value(text.get(span.start..span.end).unwrap_or_default()))
    }

    /// The version, if this is a version.
    #[must_use]
    pub fn version(self) -> Option<&'a str> {
        match self {
            Qualifier::Version(version) => Some(version),
            Qualifier::Alias(_) => None,
        }
    }

    /// The alias name (without `!`), if this is an alias.
    #[must_use]
    pub fn alias(self) -> Option<&'a str> {
        match self {
            Qualifier::Alias(alias) => Some(alias),
            Qualifier::Version(_) => None,
        }
    }
}

/// Prints the qualifier as written in a URN (`latest`, `!prod`).
impl fmt::Display for Qualifier<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Qualifier::Version(version) => f.write_str(version),
            Qualifier::Alias(alias) => write!(f, "{ALIAS_MARK}{alias}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QualifierKind {
    Version,
    Alias,
}

/// Byte range of a part within the URN text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl QualifierKind {
    /// The qualifier of this kind whose value is `value`.
    pub(crate) fn with_value(self, value: &str) -> Qualifier<'_> {
        match self {
            QualifierKind::Version => Qualifier::Version(value),
            QualifierKind::Alias => Qualifier::Alias(value),
        }
    }
}

impl Span {
    fn is_empty(self) -> bool {
        self.start >= self.end
    }
}

/// The byte ranges of the parts, found once so that accessors need no parsing.
#[derive(Clone, Copy, Debug)]
struct Layout {
    region: Span,
    project_id: Span,
    package: Span,
    name: Span,
    /// For an alias the span excludes the `!`.
    qualifier: Option<(QualifierKind, Span)>,
}

/// A validated FunctionGraph function URN.
///
/// ```text
/// urn:fss:{region}:{project_id}:function:{package}:{name}[:{version}|:!{alias}]
/// ```
///
/// The URN text is stored once together with the byte ranges of its parts,
/// so the accessors are free. Equality, hashing and ordering are those of the
/// URN text. A URN without a qualifier is distinct from the same URN with
/// `:latest`, although the service invokes `latest` for both.
///
/// # Example
///
/// ```
/// use fgs_urn::{FunctionUrn, Qualifier};
///
/// # fn main() -> Result<(), fgs_urn::UrnError> {
/// let urn = FunctionUrn::parse(
///     "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest",
/// )?;
/// assert_eq!(urn.region(), "cn-north-4");
/// assert_eq!(urn.project_id(), "0123456789abcdef0123456789abcdef");
/// assert_eq!(urn.package(), "default");
/// assert_eq!(urn.name(), "hello");
/// assert_eq!(urn.version(), Some("latest"));
/// assert_eq!(urn.alias(), None);
/// assert_eq!(
///     urn.to_path_segment(),
///     "urn%3Afss%3Acn-north-4%3A0123456789abcdef0123456789abcdef%3Afunction%3Adefault%3Ahello%3Alatest"
/// );
///
/// let same = FunctionUrn::from_parts(
///     "cn-north-4",
///     "0123456789abcdef0123456789abcdef",
///     "default",
///     "hello",
///     Some(Qualifier::LATEST),
/// )?;
/// assert_eq!(same, urn);
/// assert_eq!(urn.unqualified().qualifier(), None);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct FunctionUrn {
    /// Shared: a URN is cloned into every call made with it, and a clone costs no copy.
    text: Arc<str>,
    layout: Layout,
}

impl FunctionUrn {
    /// Parses and validates a function URN.
    ///
    /// The text must match exactly: no whitespace is trimmed and the prefix
    /// is case-sensitive.
    ///
    /// # Errors
    ///
    /// Returns a [`UrnError`] naming the first part that is missing, empty or
    /// invalid, or the text found after the qualifier.
    pub fn parse(text: &str) -> Result<FunctionUrn, UrnError> {
        let layout = parse_layout(text)?;
        Ok(FunctionUrn {
            text: Arc::from(text),
            layout,
        })
    }

    /// Builds a URN from its parts, validating each of them.
    ///
    /// An alias is given without its `!`.
    ///
    /// # Errors
    ///
    /// Returns a [`UrnError`] for the first invalid part; its span is the
    /// byte range the part would have had in the built URN text.
    pub fn from_parts(
        region: &str,
        project_id: &str,
        package: &str,
        name: &str,
        qualifier: Option<Qualifier<'_>>,
    ) -> Result<FunctionUrn, UrnError> {
        let mut text = String::with_capacity(
            PREFIX.len()
                + region.len()
                + project_id.len()
                + RESOURCE_TYPE.len()
                + package.len()
                + name.len()
                + qualifier.map_or(0, |q| 2 + qualifier_value(q).len())
                + 4, // the `:` separators after the prefix
        );
        text.push_str(PREFIX);
        let region = push_part(&mut text, UrnPart::Region, region)?;
        text.push(':');
        let project_id = push_part(&mut text, UrnPart::ProjectId, project_id)?;
        text.push(':');
        text.push_str(RESOURCE_TYPE);
        text.push(':');
        let package = push_part(&mut text, UrnPart::Package, package)?;
        text.push(':');
        let name = push_part(&mut text, UrnPart::Name, name)?;
        let qualifier = match qualifier {
            Some(q) => Some(push_qualifier(&mut text, q)?),
            None => None,
        };
        Ok(FunctionUrn {
            text: Arc::from(text),
            layout: Layout {
                region,
                project_id,
                package,
                name,
                qualifier,
            },
        })
    }

    /// The whole URN text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn slice(&self, span: Span) -> &str {
        // The spans were produced from this very text, so the lookup always
        // succeeds; `get` keeps the accessor panic-free regardless.
        self.text.get(span.start..span.end).unwrap_or_default()
    }

    /// The region, such as `cn-north-4`.
    #[must_use]
    pub fn region(&self) -> &str {
        self.slice(self.layout.region)
    }

    /// The project id.
    #[must_use]
    pub fn project_id(&self) -> &str {
        self.slice(self.layout.project_id)
    }

    /// The package (application) of the function, such as `default`.
    #[must_use]
    pub fn package(&self) -> &str {
        self.slice(self.layout.package)
    }

    /// The function name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.slice(self.layout.name)
    }

    /// The qualifier, or `None` for an unqualified URN.
    ///
    /// An unqualified URN invokes `latest`, but it is reported as `None`
    /// rather than `Some(Qualifier::LATEST)` so that it round-trips.
    #[must_use]
    pub fn qualifier(&self) -> Option<Qualifier<'_>> {
        self.layout
            .qualifier
            .map(|(kind, span)| kind.with_value(self.slice(span)))
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

    /// The same URN without its qualifier.
    #[must_use]
    pub fn unqualified(&self) -> FunctionUrn {
        FunctionUrn {
            text: Arc::from(self.text.get(..self.layout.name.end).unwrap_or_default()),
            layout: Layout {
                qualifier: None,
                ..self.layout
            },
        }
    }

    /// The same URN with `qualifier` instead of its current one (if any).
    ///
    /// # Errors
    ///
    /// Returns a [`UrnError`] if the qualifier is invalid; its span is the
    /// byte range the qualifier would have had in the built URN text.
    pub fn with_qualifier(&self, qualifier: Qualifier<'_>) -> Result<FunctionUrn, UrnError> {
        let base = self.text.get(..self.layout.name.end).unwrap_or_default();
        let mut text = String::with_capacity(base.len() + 2 + qualifier_value(qualifier).len());
        text.push_str(base);
        let qualifier = push_qualifier(&mut text, qualifier)?;
        Ok(FunctionUrn {
            text: Arc::from(text),
            layout: Layout {
                qualifier: Some(qualifier),
                ..self.layout
            },
        })
    }

    /// The URN percent-encoded as one path segment, as used in the
    /// invocation request path (`urn%3Afss%3Acn-north-4%3A...`).
    ///
    /// See [`encode_path_segment`](crate::encode_path_segment).
    #[must_use]
    pub fn to_path_segment(&self) -> String {
        encode_path_segment(&self.text)
    }
}

pub(crate) fn qualifier_value(qualifier: Qualifier<'_>) -> &str {
    match qualifier {
        Qualifier::Version(value) | Qualifier::Alias(value) => value,
    }
}

/// Validates `value` as `part` and appends it, reporting errors at the
/// position the part would have had.
pub(crate) fn push_part(text: &mut String, part: UrnPart, value: &str) -> Result<Span, UrnError> {
    let start = text.len();
    rules::check(part, value).map_err(|kind| UrnError::new(part, kind, start..start + value.len(), value))?;
    text.push_str(value);
    Ok(Span { start, end: text.len() })
}

pub(crate) fn push_qualifier(text: &mut String, qualifier: Qualifier<'_>) -> Result<(QualifierKind, Span), UrnError> {
    text.push(':');
    match qualifier {
        Qualifier::Version(version) => {
            push_part(text, UrnPart::Version, version).map(|span| (QualifierKind::Version, span))
        }
        Qualifier::Alias(alias) => {
            text.push(ALIAS_MARK);
            push_part(text, UrnPart::Alias, alias).map(|span| (QualifierKind::Alias, span))
        }
    }
}

/// Checks a qualifier field found at byte `offset` of the input.
pub(crate) fn check_qualifier(field: &str, offset: usize) -> Result<(QualifierKind, Span), UrnError> {
    let (part, kind, start) = match field.strip_prefix(ALIAS_MARK) {
        Some(_) => (UrnPart::Alias, QualifierKind::Alias, ALIAS_MARK.len_utf8()),
        None => (UrnPart::Version, QualifierKind::Version, 0),
    };
    let value = field.get(start..).unwrap_or_default();
    let span = Span {
        start: offset + start,
        end: offset + field.len(),
    };
    rules::check(part, value).map_err(|error| UrnError::new(part, error, span.start..span.end, value))?;
    Ok((kind, span))
}

/// Splits the input into `:`-separated fields, remembering whether each
/// field was followed by a `:` (which tells "empty" from "missing").
struct Fields<'a> {
    text: &'a str,
    pos: usize,
    done: bool,
}

impl<'a> Fields<'a> {
    fn next_field(&mut self) -> Option<(Span, bool)> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let rest = self.text.get(start..).unwrap_or_default();
        match rest.find(':') {
            Some(len) => {
                let end = start + len;
                self.pos = end + 1;
                Some((Span { start, end }, true))
            }
            None => {
                let end = self.text.len();
                self.done = true;
                self.pos = end;
                Some((Span { start, end }, false))
            }
        }
    }

    fn slice(&self, span: Span) -> &'a str {
        self.text.get(span.start..span.end).unwrap_or_default()
    }

    /// The next field of a required part. An empty field at the very end of
    /// the input (`...:`) counts as missing, since nothing was written for it
    /// and no separator follows.
    fn required(&mut self, part: UrnPart) -> Result<(Span, &'a str), UrnError> {
        match self.next_field() {
            Some((span, true)) if span.is_empty() => {
                Err(UrnError::new(part, UrnErrorKind::Empty, span.start..span.start, ""))
            }
            Some((span, _)) if !span.is_empty() => Ok((span, self.slice(span))),
            _ => Err(UrnError::missing(part, self.text.len())),
        }
    }

    /// The next field of a required part, checked against the part's rule.
    fn checked(&mut self, part: UrnPart) -> Result<Span, UrnError> {
        let (span, value) = self.required(part)?;
        rules::check(part, value).map_err(|kind| UrnError::new(part, kind, span.start..span.end, value))?;
        Ok(span)
    }
}

fn parse_layout(text: &str) -> Result<Layout, UrnError> {
    if text.is_empty() {
        return Err(UrnError::missing(UrnPart::Prefix, 0));
    }
    if !text.starts_with(PREFIX) {
        // Quote what stands where the prefix should be: up to the second
        // `:` (e.g. `arn:aws:`), or everything if there is no such `:`.
        let end = text
            .match_indices(':')
            .nth(1)
            .map_or(text.len(), |(index, _)| index + 1);
        let found = text.get(..end).unwrap_or_default();
        return Err(UrnError::new(
            UrnPart::Prefix,
            UrnErrorKind::Expected(PREFIX),
            0..end,
            found,
        ));
    }
    let mut fields = Fields {
        text,
        pos: PREFIX.len(),
        done: false,
    };
    let region = fields.checked(UrnPart::Region)?;
    let project_id = fields.checked(UrnPart::ProjectId)?;
    let (span, resource_type) = fields.required(UrnPart::ResourceType)?;
    if resource_type != RESOURCE_TYPE {
        return Err(UrnError::new(
            UrnPart::ResourceType,
            UrnErrorKind::Expected(RESOURCE_TYPE),
            span.start..span.end,
            resource_type,
        ));
    }
    let package = fields.checked(UrnPart::Package)?;
    let name = fields.checked(UrnPart::Name)?;
    let qualifier = match fields.next_field() {
        None => None,
        Some((span, followed)) => {
            let (kind, value) = check_qualifier(fields.slice(span), span.start)?;
            if followed {
                let after = match kind {
                    QualifierKind::Version => UrnPart::Version,
                    QualifierKind::Alias => UrnPart::Alias,
                };
                let rest = text.get(span.end..).unwrap_or_default();
                return Err(UrnError::trailing(after, span.end..text.len(), rest));
            }
            Some((kind, value))
        }
    };
    Ok(Layout {
        region,
        project_id,
        package,
        name,
        qualifier,
    })
}

impl FromStr for FunctionUrn {
    type Err = UrnError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        FunctionUrn::parse(text)
    }
}

impl TryFrom<&str> for FunctionUrn {
    type Error = UrnError;

    fn try_from(text: &str) -> Result<Self, Self::Error> {
        FunctionUrn::parse(text)
    }
}

impl TryFrom<String> for FunctionUrn {
    type Error = UrnError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let layout = parse_layout(&text)?;
        Ok(FunctionUrn {
            text: Arc::from(text),
            layout,
        })
    }
}

crate::text_identity::text_identity!(FunctionUrn);
