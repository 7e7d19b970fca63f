//! The character and length rules of each URN part.
//!
//! The rules are data so that the checker and the error messages (which list
//! the allowed characters) cannot drift apart. The parts ([`UrnPart`]) and what
//! can be wrong with them ([`UrnErrorKind`]) are defined here, where they are
//! checked; `error.rs` builds messages from them.

use std::fmt;

/// The literal every URN starts with.
pub(crate) const PREFIX: &str = "urn:fss:";
/// The literal resource type of functions.
pub(crate) const RESOURCE_TYPE: &str = "function";
/// Written before an alias name in the qualifier position.
pub(crate) const ALIAS_MARK: char = '!';
/// The shape of a URN, quoted by errors about missing or empty parts.
pub(crate) const FORMAT: &str = "urn:fss:{region}:{project_id}:function:{package}:{name}[:{version}|:!{alias}]";
/// The shape of a function reference, quoted by its errors about missing or empty parts.
pub(crate) const REF_FORMAT: &str = "{package}/{name}[:{version}|:!{alias}]";
/// Separates the package from the name in a function reference.
pub(crate) const REF_SEPARATOR: char = '/';

/// A part of a function URN, as named by [`UrnError::part`](crate::UrnError::part).
///
/// `Display` names the part in words (`"project id"`, `"function name"`, ...).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UrnPart {
    /// The leading `urn:fss:`.
    Prefix,
    /// The region, such as `cn-north-4`.
    Region,
    /// The project id, such as `0123456789abcdef0123456789abcdef`.
    ProjectId,
    /// The resource type, which must be the literal `function`.
    ResourceType,
    /// The package (application) the function belongs to, such as `default`.
    Package,
    /// The function name.
    Name,
    /// A version qualifier, such as `latest` or `v20240101-120000`.
    ///
    /// An empty qualifier (a URN ending in `:`) is reported as an empty
    /// version.
    Version,
    /// An alias qualifier, the name after `!`.
    Alias,
    /// Text after the qualifier, which no valid URN has.
    Trailing,
}

impl UrnPart {
    fn describe(self) -> &'static str {
        match self {
            Self::Prefix => "prefix",
            Self::Region => "region",
            Self::ProjectId => "project id",
            Self::ResourceType => "resource type",
            Self::Package => "package",
            Self::Name => "function name",
            Self::Version => "version",
            Self::Alias => "alias",
            Self::Trailing => "trailing text",
        }
    }
}

impl fmt::Display for UrnPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// What is wrong with a part of a function URN, as returned by
/// [`UrnError::kind`](crate::UrnError::kind).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrnErrorKind {
    /// The input ends before this required part.
    Missing,
    /// The part is present (followed by `:`) but empty, or was given as an
    /// empty string to [`FunctionUrn::from_parts`](crate::FunctionUrn::from_parts).
    Empty,
    /// The part has more than `max` characters.
    TooLong {
        /// The largest allowed number of characters.
        max: usize,
    },
    /// The part has fewer than `min` characters (only regions, which need two).
    TooShort {
        /// The smallest allowed number of characters.
        min: usize,
    },
    /// The part contains a character it may not contain.
    InvalidChar {
        /// The first offending character.
        ch: char,
        /// Its byte index within the part.
        index: usize,
    },
    /// The part starts with a character it may not start with.
    BadStart,
    /// The part ends with a character it may not end with.
    BadEnd,
    /// The part must be this literal text (the prefix `urn:fss:` or the
    /// resource type `function`).
    Expected(&'static str),
    /// There is text where the URN must end.
    Unexpected,
}

/// A byte test together with its description for error messages.
#[derive(Clone, Copy)]
pub(crate) struct ByteClass {
    pub(crate) test: fn(u8) -> bool,
    pub(crate) description: &'static str,
}

/// How one part of the URN must look.
pub(crate) struct Rule {
    pub(crate) min: usize,
    pub(crate) max: usize,
    pub(crate) allowed: ByteClass,
    pub(crate) start: Option<ByteClass>,
    pub(crate) end: Option<ByteClass>,
}

fn is_lower(b: u8) -> bool {
    b.is_ascii_lowercase()
}
fn is_lower_or_digit(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}
fn is_region_byte(b: u8) -> bool {
    is_lower_or_digit(b) || b == b'-'
}
fn is_letter(b: u8) -> bool {
    b.is_ascii_alphabetic()
}
fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn is_word(b: u8) -> bool {
    is_alnum(b) || b == b'_' || b == b'-'
}
fn is_version_byte(b: u8) -> bool {
    is_word(b) || b == b'.'
}

const LOWER: ByteClass = ByteClass {
    test: is_lower,
    description: "a lowercase ASCII letter",
};
const LOWER_OR_DIGIT: ByteClass = ByteClass {
    test: is_lower_or_digit,
    description: "a lowercase ASCII letter or digit",
};
const LETTER: ByteClass = ByteClass {
    test: is_letter,
    description: "a letter",
};
const LETTER_OR_DIGIT: ByteClass = ByteClass {
    test: is_alnum,
    description: "a letter or digit",
};
const WORD: ByteClass = ByteClass {
    test: is_word,
    description: "ASCII letters, digits, '_' and '-'",
};

const REGION: Rule = Rule {
    min: 2,
    max: 64,
    allowed: ByteClass {
        test: is_region_byte,
        description: "lowercase ASCII letters, digits and '-'",
    },
    start: Some(LOWER),
    end: Some(LOWER_OR_DIGIT),
};

// Unconfirmed: real project ids are 32 lowercase hex digits, but nothing
// documents that as the rule, so accept what cannot break the URN syntax.
const PROJECT_ID: Rule = Rule {
    min: 1,
    max: 64,
    allowed: ByteClass {
        test: is_alnum,
        description: "ASCII letters and digits",
    },
    start: None,
    end: None,
};

// Unconfirmed: FunctionGraph does not document the package (app) rule.
const PACKAGE: Rule = Rule {
    min: 1,
    max: 64,
    allowed: WORD,
    start: None,
    end: None,
};

const NAME: Rule = Rule {
    min: 1,
    max: 60,
    allowed: WORD,
    start: Some(LETTER),
    end: Some(LETTER_OR_DIGIT),
};

const VERSION: Rule = Rule {
    min: 1,
    max: 64,
    allowed: ByteClass {
        test: is_version_byte,
        description: "ASCII letters, digits, '_', '.' and '-'",
    },
    start: Some(LETTER_OR_DIGIT),
    end: None,
};

const ALIAS: Rule = Rule {
    min: 1,
    max: 64,
    allowed: WORD,
    start: Some(LETTER),
    end: Some(LETTER_OR_DIGIT),
};

/// The rule of a part, or `None` for parts that are fixed literals.
pub(crate) fn rule_for(part: UrnPart) -> Option<&'static Rule> {
    match part {
        UrnPart::Region => Some(&REGION),
        UrnPart::ProjectId => Some(&PROJECT_ID),
        UrnPart::Package => Some(&PACKAGE),
        UrnPart::Name => Some(&NAME),
        UrnPart::Version => Some(&VERSION),
        UrnPart::Alias => Some(&ALIAS),
        UrnPart::Prefix | UrnPart::ResourceType | UrnPart::Trailing => None,
    }
}

/// Checks `value` against the rule of `part`.
///
/// Characters are checked before the length so that a wrong character is
/// reported even in an overlong value; once every character is known to be
/// ASCII, the byte length equals the character count.
pub(crate) fn check(part: UrnPart, value: &str) -> Result<(), UrnErrorKind> {
    let Some(rule) = rule_for(part) else {
        return Ok(());
    };
    if value.is_empty() {
        return Err(UrnErrorKind::Empty);
    }
    for (index, ch) in value.char_indices() {
        let allowed = u8::try_from(ch).is_ok_and(|b| b.is_ascii() && (rule.allowed.test)(b));
        if !allowed {
            return Err(UrnErrorKind::InvalidChar { ch, index });
        }
    }
    let bytes = value.as_bytes();
    if let (Some(start), Some(&first)) = (rule.start, bytes.first()) {
        if !(start.test)(first) {
            return Err(UrnErrorKind::BadStart);
        }
    }
    if let (Some(end), Some(&last)) = (rule.end, bytes.last()) {
        if !(end.test)(last) {
            return Err(UrnErrorKind::BadEnd);
        }
    }
    if value.len() > rule.max {
        return Err(UrnErrorKind::TooLong { max: rule.max });
    }
    if value.len() < rule.min {
        return Err(UrnErrorKind::TooShort { min: rule.min });
    }
    Ok(())
}
