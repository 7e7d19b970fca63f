//! The error type of URN and function reference parsing and construction.

use std::fmt;
use std::ops::Range;

use crate::rules::{self, FORMAT, REF_FORMAT, UrnErrorKind, UrnPart};

/// Why a text is not a valid function URN or [function reference](crate::FunctionRef),
/// or why parts do not make one.
///
/// The error names the [part](UrnError::part) that is wrong, [what is
/// wrong](UrnError::kind) with it and [where](UrnError::span) it is, so that
/// a compile-time check can point at the offending part of a literal. Its
/// `Display` is one sentence quoting the offending part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrnError {
    part: UrnPart,
    kind: UrnErrorKind,
    span: Range<usize>,
    /// The offending text, kept so the message can quote it without the input.
    text: String,
    /// For trailing text: the part it follows, so the message can say where.
    after: Option<UrnPart>,
    /// What was being parsed: a URN, or a `package/name` reference.
    subject: Subject,
}

/// The grammar an error is about, for the message's lead-in and the shape it quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Subject {
    Urn,
    Reference,
}

impl UrnError {
    pub(crate) fn new(part: UrnPart, kind: UrnErrorKind, span: Range<usize>, text: &str) -> Self {
        Self {
            part,
            kind,
            span,
            text: text.to_owned(),
            after: None,
            subject: Subject::Urn,
        }
    }

    /// The same error, about a [`FunctionRef`](crate::FunctionRef) rather than a URN.
    pub(crate) fn in_reference(self) -> Self {
        Self {
            subject: Subject::Reference,
            ..self
        }
    }

    pub(crate) fn missing(part: UrnPart, at: usize) -> Self {
        Self::new(part, UrnErrorKind::Missing, at..at, "")
    }

    pub(crate) fn trailing(after: UrnPart, span: Range<usize>, text: &str) -> Self {
        Self {
            after: Some(after),
            ..Self::new(UrnPart::Trailing, UrnErrorKind::Unexpected, span, text)
        }
    }

    /// The part of the URN that is wrong.
    #[must_use]
    pub fn part(&self) -> UrnPart {
        self.part
    }

    /// What is wrong with the part.
    #[must_use]
    pub fn kind(&self) -> UrnErrorKind {
        self.kind.clone()
    }

    /// The byte range of the offending part in the input.
    ///
    /// For [`Missing`](UrnErrorKind::Missing) parts this is the empty range at
    /// the end of the input; for [`Empty`](UrnErrorKind::Empty) parts, the
    /// empty range where the part would be. For trailing text it starts at
    /// the `:` after the qualifier. For an alias it covers the name after
    /// `!`. Errors from [`FunctionUrn::from_parts`](crate::FunctionUrn::from_parts)
    /// and [`FunctionUrn::with_qualifier`](crate::FunctionUrn::with_qualifier)
    /// give the range in the URN text that would have been built.
    #[must_use]
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }
}

impl fmt::Display for UrnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.subject {
            Subject::Urn => "invalid function URN: ",
            Subject::Reference => "invalid function reference: ",
        })?;
        self.write_problem(f)
    }
}

/// [`UrnError::problem`]: the message without the "invalid function URN" lead-in.
struct Problem<'a>(&'a UrnError);

impl fmt::Display for Problem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_problem(f)
    }
}

impl UrnError {
    /// What is wrong, without the "invalid function URN: " (or "invalid function
    /// reference: ") lead-in, for messages that are about one part on its own
    /// (`function name "9hello" must start with a letter`).
    pub fn problem(&self) -> impl fmt::Display + '_ {
        Problem(self)
    }

    fn write_problem(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = self.part;
        let text = self.text.as_str();
        let rule = rules::rule_for(part);
        let (format, first) = match self.subject {
            Subject::Urn => (FORMAT, UrnPart::Prefix),
            Subject::Reference => (REF_FORMAT, UrnPart::Package),
        };
        match &self.kind {
            UrnErrorKind::Missing if part == first => {
                write!(f, "the input is empty (expected {format})")
            }
            UrnErrorKind::Missing => write!(f, "missing {part} (expected {format})"),
            UrnErrorKind::Empty => write!(f, "empty {part} (expected {format})"),
            UrnErrorKind::TooLong { max } => write!(
                f,
                "{part} {text:?} is too long ({} characters, at most {max} allowed)",
                text.chars().count()
            ),
            UrnErrorKind::TooShort { min } => write!(
                f,
                "{part} {text:?} is too short ({} characters, at least {min} required)",
                text.chars().count()
            ),
            UrnErrorKind::InvalidChar { ch, index } => {
                write!(
                    f,
                    "{part} {text:?} contains the invalid character {ch:?} at index {index}"
                )?;
                match rule {
                    Some(rule) => write!(f, " (allowed: {})", rule.allowed.description),
                    None => Ok(()),
                }
            }
            UrnErrorKind::BadStart => match rule.and_then(|r| r.start) {
                Some(class) => write!(f, "{part} {text:?} must start with {}", class.description),
                None => write!(f, "{part} {text:?} has an invalid first character"),
            },
            UrnErrorKind::BadEnd => match rule.and_then(|r| r.end) {
                Some(class) => write!(f, "{part} {text:?} must end with {}", class.description),
                None => write!(f, "{part} {text:?} has an invalid last character"),
            },
            UrnErrorKind::Expected(expected) => {
                write!(f, "expected {expected:?} as the {part}, found {text:?}")
            }
            UrnErrorKind::Unexpected => match self.after {
                Some(after) => write!(f, "unexpected text after the {after}: {text:?}"),
                None => write!(f, "unexpected text: {text:?}"),
            },
        }
    }
}

impl std::error::Error for UrnError {}
