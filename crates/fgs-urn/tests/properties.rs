//! Property tests of the URN and function reference grammars, the path encoder and the
//! decoder.
//!
//! The grammar is restated here independently of `src/rules.rs` (as the table in the crate
//! documentation), so that generated URNs cover exactly the valid language and a drift between
//! the documented rules and the checker shows up as a failing property.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fgs_urn::{
    FunctionRef, FunctionUrn, Qualifier, UrnError, UrnErrorKind, UrnPart, check_part, encode_path_segment,
    encode_path_segment_into, percent_decode, percent_decode_strict,
};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;

const PREFIX: &str = "urn:fss:";
const RESOURCE_TYPE: &str = "function";

/// Cases per property; the whole file runs in a few seconds in debug.
fn config(cases: u32) -> Config {
    Config {
        cases,
        // Never write `proptest-regressions/` into the source tree (CI only checks).
        failure_persistence: None,
        ..Config::default()
    }
}

const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";

/// One row of the grammar table: allowed characters, first and last character, length.
#[derive(Debug)]
struct Spec {
    min: usize,
    max: usize,
    allowed: fn(char) -> bool,
    start: fn(char) -> bool,
    end: fn(char) -> bool,
}

fn any_char(_: char) -> bool {
    true
}
fn lower(c: char) -> bool {
    c.is_ascii_lowercase()
}
fn lower_or_digit(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}
fn region_char(c: char) -> bool {
    lower_or_digit(c) || c == '-'
}
fn letter(c: char) -> bool {
    c.is_ascii_alphabetic()
}
fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}
fn word(c: char) -> bool {
    alnum(c) || c == '_' || c == '-'
}
fn version_char(c: char) -> bool {
    word(c) || c == '.'
}

const REGION: Spec = Spec {
    min: 2,
    max: 64,
    allowed: region_char,
    start: lower,
    end: lower_or_digit,
};
const PROJECT_ID: Spec = Spec {
    min: 1,
    max: 64,
    allowed: alnum,
    start: any_char,
    end: any_char,
};
const PACKAGE: Spec = Spec {
    min: 1,
    max: 64,
    allowed: word,
    start: any_char,
    end: any_char,
};
const NAME: Spec = Spec {
    min: 1,
    max: 60,
    allowed: word,
    start: letter,
    end: alnum,
};
const VERSION: Spec = Spec {
    min: 1,
    max: 64,
    allowed: version_char,
    start: alnum,
    end: any_char,
};
const ALIAS: Spec = Spec {
    min: 1,
    max: 64,
    allowed: word,
    start: letter,
    end: alnum,
};

/// The ASCII characters that may appear in some URN part, plus the separators.
fn urn_alphabet() -> Vec<char> {
    format!("{LOWER}{UPPER}{DIGITS}_-.!:").chars().collect()
}

impl Spec {
    fn is_valid(&self, value: &str) -> bool {
        let (Some(first), Some(last)) = (value.chars().next(), value.chars().last()) else {
            return false;
        };
        value.chars().all(self.allowed)
            && (self.start)(first)
            && (self.end)(last)
            && (self.min..=self.max).contains(&value.len())
    }

    fn chars(&self, filter: impl Fn(char) -> bool) -> Vec<char> {
        urn_alphabet()
            .into_iter()
            .filter(|&c| (self.allowed)(c) && filter(c))
            .collect()
    }

    /// Values of `len` characters made of allowed ones, with the first from `first` and the
    /// last from `last` (for `len == 1` the one character is drawn from `first`).
    fn with_len(&self, len: usize, first: Vec<char>, last: Vec<char>) -> BoxedStrategy<String> {
        let middle = self.chars(any_char);
        match len {
            0 => Just(String::new()).boxed(),
            1 => select(first).prop_map(String::from).boxed(),
            _ => (
                select(first),
                prop::collection::vec(select(middle), len - 2),
                select(last),
            )
                .prop_map(|(first, middle, last)| {
                    let mut value = String::from(first);
                    value.extend(middle);
                    value.push(last);
                    value
                })
                .boxed(),
        }
    }

    /// Every valid value, with the shortest and longest lengths drawn often.
    fn valid(&'static self) -> BoxedStrategy<String> {
        prop_oneof![Just(self.min), Just(self.max), self.min..=self.max]
            .prop_flat_map(move |len| {
                let first = if len == 1 {
                    self.chars(|c| (self.start)(c) && (self.end)(c))
                } else {
                    self.chars(self.start)
                };
                self.with_len(len, first, self.chars(self.end))
            })
            .boxed()
    }

    /// Valid characters and ends, but one to ten characters too long.
    fn too_long(&'static self) -> BoxedStrategy<String> {
        (self.max + 1..=self.max + 10)
            .prop_flat_map(move |len| self.with_len(len, self.chars(self.start), self.chars(self.end)))
            .boxed()
    }
}

fn spec(part: UrnPart) -> &'static Spec {
    match part {
        UrnPart::Region => &REGION,
        UrnPart::ProjectId => &PROJECT_ID,
        UrnPart::Package => &PACKAGE,
        UrnPart::Name => &NAME,
        UrnPart::Version => &VERSION,
        UrnPart::Alias => &ALIAS,
        other => panic!("{other} has no rule"),
    }
}

#[derive(Clone, Debug)]
enum Qual {
    Version(String),
    Alias(String),
}

impl Qual {
    fn as_qualifier(&self) -> Qualifier<'_> {
        match self {
            Qual::Version(v) => Qualifier::Version(v),
            Qual::Alias(a) => Qualifier::Alias(a),
        }
    }
    fn part(&self) -> UrnPart {
        match self {
            Qual::Version(_) => UrnPart::Version,
            Qual::Alias(_) => UrnPart::Alias,
        }
    }
    fn value(&self) -> &str {
        match self {
            Qual::Version(v) | Qual::Alias(v) => v,
        }
    }
    fn value_mut(&mut self) -> &mut String {
        match self {
            Qual::Version(v) | Qual::Alias(v) => v,
        }
    }
}

/// The parts of a URN, valid or not.
#[derive(Clone, Debug)]
struct Parts {
    region: String,
    project_id: String,
    package: String,
    name: String,
    qualifier: Option<Qual>,
}

impl Parts {
    fn text(&self) -> String {
        let mut text = format!(
            "{PREFIX}{}:{}:{RESOURCE_TYPE}:{}:{}",
            self.region, self.project_id, self.package, self.name
        );
        match &self.qualifier {
            None => {}
            Some(Qual::Version(v)) => text.push_str(&format!(":{v}")),
            Some(Qual::Alias(a)) => text.push_str(&format!(":!{a}")),
        }
        text
    }

    fn get_mut(&mut self, part: UrnPart) -> &mut String {
        match part {
            UrnPart::Region => &mut self.region,
            UrnPart::ProjectId => &mut self.project_id,
            UrnPart::Package => &mut self.package,
            UrnPart::Name => &mut self.name,
            UrnPart::Version | UrnPart::Alias => self.qualifier.as_mut().unwrap().value_mut(),
            other => panic!("{other} is not a variable part"),
        }
    }

    fn get(&self, part: UrnPart) -> &str {
        match part {
            UrnPart::Region => &self.region,
            UrnPart::ProjectId => &self.project_id,
            UrnPart::Package => &self.package,
            UrnPart::Name => &self.name,
            UrnPart::Version | UrnPart::Alias => self.qualifier.as_ref().unwrap().value(),
            other => panic!("{other} is not a variable part"),
        }
    }

    /// Byte range of a variable part in `text()` (for an alias, without the `!`).
    fn span(&self, part: UrnPart) -> std::ops::Range<usize> {
        let start = match part {
            UrnPart::Region => PREFIX.len(),
            UrnPart::ProjectId => PREFIX.len() + self.region.len() + 1,
            UrnPart::Package => PREFIX.len() + self.region.len() + self.project_id.len() + RESOURCE_TYPE.len() + 3,
            UrnPart::Name => self.span(UrnPart::Package).end + 1,
            UrnPart::Version => self.span(UrnPart::Name).end + 1,
            UrnPart::Alias => self.span(UrnPart::Name).end + 2,
            other => panic!("{other} is not a variable part"),
        };
        start..start + self.get(part).len()
    }

    fn build(&self) -> Result<FunctionUrn, UrnError> {
        FunctionUrn::from_parts(
            &self.region,
            &self.project_id,
            &self.package,
            &self.name,
            self.qualifier.as_ref().map(Qual::as_qualifier),
        )
    }
}

fn qualifier() -> impl Strategy<Value = Option<Qual>> {
    prop_oneof![
        Just(None),
        Just(Some(Qual::Version("latest".to_owned()))),
        VERSION.valid().prop_map(|v| Some(Qual::Version(v))),
        ALIAS.valid().prop_map(|a| Some(Qual::Alias(a))),
    ]
}

fn valid_parts() -> impl Strategy<Value = Parts> {
    (
        REGION.valid(),
        PROJECT_ID.valid(),
        PACKAGE.valid(),
        NAME.valid(),
        qualifier(),
    )
        .prop_map(|(region, project_id, package, name, qualifier)| Parts {
            region,
            project_id,
            package,
            name,
            qualifier,
        })
}

/// Valid parts with a qualifier.
fn qualified_parts() -> impl Strategy<Value = Parts> {
    valid_parts().prop_filter("needs a qualifier", |parts| parts.qualifier.is_some())
}

/// An independent recogniser of the URN language.
fn is_valid_urn(text: &str) -> bool {
    let Some(rest) = text.strip_prefix(PREFIX) else {
        return false;
    };
    let fields: Vec<&str> = rest.split(':').collect();
    if !(5..=6).contains(&fields.len()) {
        return false;
    }
    let qualifier_ok = match fields.get(5) {
        None => true,
        Some(q) => match q.strip_prefix('!') {
            Some(alias) => ALIAS.is_valid(alias),
            None => VERSION.is_valid(q),
        },
    };
    REGION.is_valid(fields[0])
        && PROJECT_ID.is_valid(fields[1])
        && fields[2] == RESOURCE_TYPE
        && PACKAGE.is_valid(fields[3])
        && NAME.is_valid(fields[4])
        && qualifier_ok
}

/// The parts that can carry a wrong character or length, given whether there is a qualifier.
fn variable_parts(parts: &Parts) -> Vec<UrnPart> {
    let mut list = vec![UrnPart::Region, UrnPart::ProjectId, UrnPart::Package, UrnPart::Name];
    if let Some(q) = &parts.qualifier {
        list.push(q.part());
    }
    list
}

/// Asserts that `parts` (with exactly one wrong `part`) is rejected by `parse`, `from_parts`
/// and `check_part` alike, naming `part` with `kind` and pointing at it.
fn assert_rejected(parts: &Parts, part: UrnPart, kind: &UrnErrorKind) -> Result<(), TestCaseError> {
    let text = parts.text();
    let error = FunctionUrn::parse(&text).expect_err(&text);
    prop_assert_eq!(error.part(), part, "{}: {}", text, error);
    prop_assert_eq!(&error.kind(), kind, "{}: {}", text, error);
    prop_assert_eq!(error.span(), parts.span(part), "{}: {}", text, error);
    prop_assert!(error.to_string().contains(&part.to_string()), "{}", error);
    // Building from the same parts fails identically, and so does checking the part alone.
    prop_assert_eq!(parts.build().unwrap_err(), error);
    let alone = check_part(part, parts.get(part)).unwrap_err();
    prop_assert_eq!(alone.kind(), kind.clone());
    prop_assert!(!is_valid_urn(&text));
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    /// Every URN of the grammar parses, prints back unchanged and reports its parts.
    #[test]
    fn valid_urns_round_trip(parts in valid_parts()) {
        let text = parts.text();
        prop_assert!(is_valid_urn(&text));
        let urn = FunctionUrn::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(urn.as_str(), text.as_str());
        prop_assert_eq!(urn.to_string(), text.clone());
        let displayed = urn.to_string();
        prop_assert_eq!(FunctionUrn::parse(&displayed).unwrap(), urn.clone());
        prop_assert_eq!(text.parse::<FunctionUrn>().unwrap(), urn.clone());
        prop_assert_eq!(FunctionUrn::try_from(text.clone()).unwrap(), urn.clone());

        prop_assert_eq!(urn.region(), parts.region.as_str());
        prop_assert_eq!(urn.project_id(), parts.project_id.as_str());
        prop_assert_eq!(urn.package(), parts.package.as_str());
        prop_assert_eq!(urn.name(), parts.name.as_str());
        let expected = parts.qualifier.as_ref().map(Qual::as_qualifier);
        prop_assert_eq!(urn.qualifier(), expected);
        prop_assert_eq!(urn.version(), match &parts.qualifier {
            Some(Qual::Version(v)) => Some(v.as_str()),
            _ => None,
        });
        prop_assert_eq!(urn.alias(), match &parts.qualifier {
            Some(Qual::Alias(a)) => Some(a.as_str()),
            _ => None,
        });

        // Built from its parts, it is the same URN.
        prop_assert_eq!(parts.build().unwrap(), urn.clone());

        // Without and with its qualifier.
        let unqualified = urn.unqualified();
        prop_assert_eq!(unqualified.qualifier(), None);
        prop_assert_eq!(unqualified.name(), parts.name.as_str());
        let base = format!("{PREFIX}{}:{}:{RESOURCE_TYPE}:{}:{}", parts.region, parts.project_id, parts.package,
            parts.name);
        prop_assert_eq!(unqualified.as_str(), base.as_str());
        if let Some(q) = expected {
            prop_assert_eq!(unqualified.with_qualifier(q).unwrap(), urn.clone());
            let written = q.to_string();
            prop_assert_eq!(Qualifier::parse(&written).unwrap(), q);
            prop_assert_eq!(format!("{base}:{written}"), text.clone());
        }

        prop_assert_eq!(urn.to_path_segment(), encode_path_segment(&text));
        prop_assert_eq!(decode(&urn.to_path_segment()), text.clone());
        for part in variable_parts(&parts) {
            prop_assert!(check_part(part, parts.get(part)).is_ok());
        }
    }
}

/// A character that `spec` does not allow and that does not change the URN's structure.
fn bad_char(spec: &'static Spec) -> impl Strategy<Value = char> {
    prop_oneof![
        select(
            " !\"#$%&'()*+,./;<=>?@[\\]^_`{|}~-ABCZaz09\u{0}\u{7f}é€😀"
                .chars()
                .collect::<Vec<_>>()
        ),
        any::<char>(),
    ]
    .prop_filter("allowed or a separator", move |&c| !(spec.allowed)(c) && c != ':')
}

/// Valid parts and one of its variable parts.
fn parts_and_part() -> impl Strategy<Value = (Parts, UrnPart)> {
    valid_parts().prop_flat_map(|parts| {
        let candidates = variable_parts(&parts);
        (Just(parts), select(candidates))
    })
}

type WrongValues = BoxedStrategy<(String, UrnErrorKind)>;

/// Valid parts with one part replaced by one of `wrong(part)`'s values.
fn with_wrong_part(
    wrong: impl Fn(UrnPart) -> Option<WrongValues> + Clone + 'static,
) -> impl Strategy<Value = (Parts, UrnPart, UrnErrorKind)> {
    parts_and_part()
        .prop_filter_map("no such mutation for this part", move |(parts, part)| {
            wrong(part).map(|values| (parts, part, values))
        })
        .prop_flat_map(|(parts, part, values)| (Just(parts), Just(part), values))
        .prop_map(|(mut parts, part, (value, kind))| {
            *parts.get_mut(part) = value;
            (parts, part, kind)
        })
}

/// Edits one character of `text`: insert, delete or replace, with characters near the grammar.
fn edit() -> impl Strategy<Value = (u8, prop::sample::Index, char)> {
    let mut alphabet = urn_alphabet();
    alphabet.extend([' ', '/', '%', 'é', '\u{0}']);
    (0..3u8, any::<prop::sample::Index>(), select(alphabet))
}

fn apply_edit(text: &mut String, (op, at, ch): &(u8, prop::sample::Index, char)) {
    let boundaries: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
    let index = *at.get(&boundaries);
    let next = text[index..].chars().next().map(char::len_utf8);
    match (op, next) {
        (0, _) | (_, None) => text.insert(index, *ch),
        (1, Some(len)) => text.replace_range(index..index + len, ""),
        (_, Some(len)) => text.replace_range(index..index + len, &ch.to_string()),
    }
}

/// What every successfully parsed text satisfies.
fn check_parsed(text: &str, urn: &FunctionUrn) -> Result<(), TestCaseError> {
    prop_assert_eq!(urn.as_str(), text);
    let rebuilt = FunctionUrn::from_parts(
        urn.region(),
        urn.project_id(),
        urn.package(),
        urn.name(),
        urn.qualifier(),
    );
    prop_assert_eq!(&rebuilt.unwrap(), urn);
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    /// A character outside a part's alphabet is reported as that part's invalid character, at
    /// its index, by `parse`, `from_parts` and `check_part` alike.
    #[test]
    fn a_bad_character_names_its_part(
        (parts, part, ch, index) in parts_and_part().prop_flat_map(|(parts, part)| {
            let len = parts.get(part).len();
            (Just(parts), Just(part), bad_char(spec(part)), 0..=len)
        })
    ) {
        // `!` at the start of a version makes it an alias (covered by the other properties).
        prop_assume!(!(part == UrnPart::Version && index == 0 && ch == '!'));
        let mut parts = parts;
        parts.get_mut(part).insert(index, ch);
        assert_rejected(&parts, part, &UrnErrorKind::InvalidChar { ch, index })?;
    }

    /// Parsing agrees with the grammar on URNs with a few random edits (mostly invalid,
    /// sometimes still valid), and whatever parses is exactly the input.
    #[test]
    fn parse_accepts_exactly_the_grammar(parts in valid_parts(), edits in prop::collection::vec(edit(), 1..4)) {
        let mut text = parts.text();
        for edit in &edits {
            apply_edit(&mut text, edit);
        }
        let parsed = FunctionUrn::parse(&text);
        prop_assert_eq!(parsed.is_ok(), is_valid_urn(&text), "{:?}: {:?}", text, parsed);
        if let Ok(urn) = parsed {
            check_parsed(&text, &urn)?;
        }
    }

    /// Arbitrary text never makes the parser panic and is accepted only if it is in the grammar.
    #[test]
    fn parse_handles_arbitrary_text(text in prop_oneof![
        any::<String>(),
        "urn:fss:[a-z0-9:!._-]{0,40}",
        "urn:fss:[a-z][a-z0-9-]{0,4}[a-z0-9]:[a-f0-9]{1,8}:function:[a-z_]{1,5}:[a-zA-Z0-9_:!.-]{0,12}",
    ]) {
        let parsed = FunctionUrn::parse(&text);
        prop_assert_eq!(parsed.is_ok(), is_valid_urn(&text), "{:?}: {:?}", text, parsed);
        if let Ok(urn) = parsed {
            check_parsed(&text, &urn)?;
        }
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// A part longer than its maximum (with valid characters and ends) is too long.
    #[test]
    fn an_overlong_part_is_too_long(
        (parts, part, kind) in with_wrong_part(|part| {
            let spec = spec(part);
            Some(spec.too_long().prop_map(|value| (value, UrnErrorKind::TooLong { max: spec.max })).boxed())
        })
    ) {
        assert_rejected(&parts, part, &kind)?;
    }

    /// A part starting or ending with a character its rule does not allow there, and a region
    /// of one letter.
    #[test]
    fn a_bad_start_or_end_names_its_part(
        (parts, part, kind) in with_wrong_part(|part| {
            let spec = spec(part);
            let bad_start = spec.chars(|c| !(spec.start)(c));
            let bad_end = spec.chars(|c| !(spec.end)(c));
            let mut options: Vec<WrongValues> = Vec::new();
            if !bad_start.is_empty() {
                options.push(
                    (1..=spec.max)
                        .prop_flat_map(move |len| spec.with_len(len, bad_start.clone(), spec.chars(spec.end)))
                        .prop_map(|value| (value, UrnErrorKind::BadStart))
                        .boxed(),
                );
            }
            if !bad_end.is_empty() {
                options.push(
                    (2..=spec.max)
                        .prop_flat_map(move |len| spec.with_len(len, spec.chars(spec.start), bad_end.clone()))
                        .prop_map(|value| (value, UrnErrorKind::BadEnd))
                        .boxed(),
                );
            }
            if spec.min > 1 {
                let single = spec.chars(|c| (spec.start)(c) && (spec.end)(c));
                options.push(
                    spec.with_len(1, single, Vec::new())
                        .prop_map(move |value| (value, UrnErrorKind::TooShort { min: spec.min }))
                        .boxed(),
                );
            }
            (!options.is_empty()).then(|| proptest::strategy::Union::new(options).boxed())
        })
    ) {
        assert_rejected(&parts, part, &kind)?;
    }

    /// An empty part is reported as empty where it would be (an empty last part, with nothing
    /// after it, as missing).
    #[test]
    fn an_empty_part_names_its_part((parts, part) in parts_and_part()) {
        let mut parts = parts;
        parts.get_mut(part).clear();
        let text = parts.text();
        let error = FunctionUrn::parse(&text).unwrap_err();
        let at_end = part == UrnPart::Name && parts.qualifier.is_none();
        let kind = if at_end { UrnErrorKind::Missing } else { UrnErrorKind::Empty };
        prop_assert_eq!((error.part(), error.kind()), (part, kind), "{}: {}", text, error);
        prop_assert_eq!(error.span(), parts.span(part));
        prop_assert!(error.to_string().contains(&part.to_string()), "{}", error);
        let built = parts.build().unwrap_err();
        prop_assert_eq!((built.part(), built.kind(), built.span()), (part, UrnErrorKind::Empty, parts.span(part)));
        prop_assert_eq!(check_part(part, "").unwrap_err().kind(), UrnErrorKind::Empty);
    }

    /// A URN cut off after any of its fields (with or without the `:`) lacks the next one.
    #[test]
    fn a_truncated_urn_names_the_missing_part(parts in valid_parts(), kept in 0..5usize, colon in any::<bool>()) {
        let fields = [&parts.region, &parts.project_id, RESOURCE_TYPE, &parts.package, &parts.name];
        let names = [UrnPart::Region, UrnPart::ProjectId, UrnPart::ResourceType, UrnPart::Package, UrnPart::Name];
        let mut text = format!("{PREFIX}{}", fields[..kept].join(":"));
        if kept > 0 && colon {
            text.push(':');
        }
        let error = FunctionUrn::parse(&text).unwrap_err();
        prop_assert_eq!((error.part(), error.kind()), (names[kept], UrnErrorKind::Missing), "{}: {}", text, error);
        prop_assert_eq!(error.span(), text.len()..text.len());
        prop_assert!(error.to_string().contains(&format!("missing {}", names[kept])), "{}", error);
    }

    /// Too many or too few `:`-separated fields are rejected; text after a qualifier is reported
    /// as trailing text after it.
    #[test]
    fn wrong_field_counts_are_rejected(
        parts in qualified_parts(),
        extra in prop::collection::vec("[a-z0-9!_.-]{0,6}", 1..4),
        positions in prop::collection::vec(any::<prop::sample::Index>(), 3),
        removals in prop::collection::vec(any::<prop::sample::Index>(), 2..8),
    ) {
        let text = parts.text();
        // Fields appended after the qualifier.
        let long = format!("{text}:{}", extra.join(":"));
        let error = FunctionUrn::parse(&long).unwrap_err();
        prop_assert_eq!((error.part(), error.kind()), (UrnPart::Trailing, UrnErrorKind::Unexpected), "{}", long);
        prop_assert_eq!(error.span(), text.len()..long.len());
        let after = parts.qualifier.as_ref().unwrap().part();
        prop_assert!(error.to_string().contains(&format!("after the {after}")), "{}", error);

        // Fields inserted anywhere (nine or more fields).
        let mut fields: Vec<String> = text.split(':').map(str::to_owned).collect();
        for (position, field) in positions.iter().zip(&extra) {
            let index = position.index(fields.len() + 1);
            fields.insert(index, field.clone());
        }
        let joined = fields.join(":");
        prop_assert!(FunctionUrn::parse(&joined).is_err(), "{}", joined);

        // Two or more of the eight fields removed (six or fewer).
        let mut fields: Vec<&str> = text.split(':').collect();
        for removal in &removals {
            if !fields.is_empty() {
                fields.remove(removal.index(fields.len()));
            }
        }
        let short = fields.join(":");
        prop_assert!(FunctionUrn::parse(&short).is_err(), "{}", short);
    }

    /// Any other prefix or resource type is reported as such.
    #[test]
    fn a_wrong_prefix_or_resource_type_is_named(
        parts in valid_parts(),
        at in any::<prop::sample::Index>(),
        replacement in any::<char>(),
        resource_type in "[^:]{0,12}",
    ) {
        let text = parts.text();
        let index = at.index(PREFIX.len());
        prop_assume!(replacement != char::from(PREFIX.as_bytes()[index]));
        let mut wrong = text.clone();
        wrong.replace_range(index..=index, &replacement.to_string());
        let error = FunctionUrn::parse(&wrong).unwrap_err();
        prop_assert_eq!((error.part(), error.kind()), (UrnPart::Prefix, UrnErrorKind::Expected(PREFIX)), "{}", wrong);
        prop_assert_eq!(error.span().start, 0);

        prop_assume!(resource_type != RESOURCE_TYPE);
        let wrong = text.replacen(":function:", &format!(":{resource_type}:"), 1);
        let error = FunctionUrn::parse(&wrong).unwrap_err();
        let kind = if resource_type.is_empty() { UrnErrorKind::Empty } else { UrnErrorKind::Expected(RESOURCE_TYPE) };
        prop_assert_eq!((error.part(), error.kind()), (UrnPart::ResourceType, kind), "{}", wrong);
        let start = PREFIX.len() + parts.region.len() + parts.project_id.len() + 2;
        prop_assert_eq!(error.span(), start..start + resource_type.len());
    }
}

// ------------------------------------------------------------ function refs

impl Parts {
    /// `package/name[:version|:!alias]`, or with `name!alias` when `short_alias`.
    fn reference_text(&self, short_alias: bool) -> String {
        let mut text = format!("{}/{}", self.package, self.name);
        match &self.qualifier {
            None => {}
            Some(Qual::Version(v)) => text.push_str(&format!(":{v}")),
            Some(Qual::Alias(a)) if short_alias => text.push_str(&format!("!{a}")),
            Some(Qual::Alias(a)) => text.push_str(&format!(":!{a}")),
        }
        text
    }

    /// Byte range of a part in `reference_text(false)` (for an alias, without the `!`).
    fn reference_span(&self, part: UrnPart) -> std::ops::Range<usize> {
        let start = match part {
            UrnPart::Package => 0,
            UrnPart::Name => self.package.len() + 1,
            UrnPart::Version => self.package.len() + self.name.len() + 2,
            UrnPart::Alias => self.package.len() + self.name.len() + 3,
            other => panic!("{other} is not a part of a function reference"),
        };
        start..start + self.get(part).len()
    }
}

/// An independent recogniser of the function reference language.
fn is_valid_reference(text: &str) -> bool {
    let Some((package, rest)) = text.split_once('/') else {
        return false;
    };
    let (name, qualifier) = match rest.find([':', '!']) {
        None => (rest, None),
        Some(at) if rest[at..].starts_with('!') => (&rest[..at], Some(&rest[at..])),
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
    };
    PACKAGE.is_valid(package)
        && NAME.is_valid(name)
        && match qualifier {
            None => true,
            Some(q) => match q.strip_prefix('!') {
                Some(alias) => ALIAS.is_valid(alias),
                None => VERSION.is_valid(q),
            },
        }
}

proptest! {
    #![proptest_config(config(256))]

    /// Every valid reference parses (in both alias spellings) to its parts, displays as its
    /// canonical text, parses back to itself and resolves to the URN with the same parts.
    #[test]
    fn valid_function_refs_round_trip(parts in valid_parts(), short_alias in any::<bool>()) {
        let canonical = parts.reference_text(false);
        let function = FunctionRef::parse(&parts.reference_text(short_alias)).unwrap();
        prop_assert_eq!(function.as_str(), canonical.as_str());
        prop_assert_eq!(function.to_string(), canonical.clone());
        prop_assert_eq!(function.package(), parts.package.as_str());
        prop_assert_eq!(function.name(), parts.name.as_str());
        prop_assert_eq!(function.qualifier(), parts.qualifier.as_ref().map(Qual::as_qualifier));
        let displayed = function.to_string();
        prop_assert_eq!(FunctionRef::parse(&displayed).unwrap(), function.clone());
        let built = FunctionRef::from_parts(&parts.package, &parts.name, parts.qualifier.as_ref().map(Qual::as_qualifier));
        prop_assert_eq!(built.unwrap(), function.clone());
        prop_assert_eq!(function.resolve(&parts.region, &parts.project_id).unwrap(), parts.build().unwrap());
    }

    /// A character a part does not allow is reported for that part, at its span.
    #[test]
    fn a_bad_character_in_a_function_ref_names_its_part(
        (parts, part) in parts_and_part().prop_filter("a reference part", |(_, part)| {
            !matches!(part, UrnPart::Region | UrnPart::ProjectId)
        }),
        at in any::<prop::sample::Index>(),
        ch in any::<char>().prop_filter("a separator", |c| !matches!(c, ':' | '/' | '!')),
    ) {
        prop_assume!(!(spec(part).allowed)(ch));
        let mut parts = parts;
        let value = parts.get_mut(part);
        let index = value.char_indices().map(|(i, _)| i).nth(at.index(value.chars().count())).unwrap();
        value.insert(index, ch);
        let err = FunctionRef::parse(&parts.reference_text(false)).unwrap_err();
        prop_assert_eq!(err.part(), part, "{}", err);
        prop_assert_eq!(err.kind(), UrnErrorKind::InvalidChar { ch, index });
        prop_assert_eq!(err.span(), parts.reference_span(part));
        prop_assert!(err.to_string().starts_with("invalid function reference: "), "{}", err);
    }

    /// Parsing never panics, and accepts exactly what the independent recogniser accepts;
    /// every error span lies within the input.
    #[test]
    fn function_ref_parse_accepts_exactly_the_grammar(text in prop_oneof![
        any::<String>(),
        "[a-c9_.!:/ -]{0,12}",
        valid_parts().prop_flat_map(|parts| (Just(parts.reference_text(false)), prop::collection::vec(edit(), 1..3)))
            .prop_map(|(mut text, edits)| { for e in &edits { apply_edit(&mut text, e); } text }),
    ]) {
        match FunctionRef::parse(&text) {
            Ok(function) => {
                prop_assert!(is_valid_reference(&text), "accepted {:?}", text);
                prop_assert_eq!(FunctionRef::parse(function.as_str()).unwrap(), function);
            }
            Err(err) => {
                prop_assert!(!is_valid_reference(&text), "rejected {:?}: {}", text, err);
                prop_assert!(err.span().end <= text.len() && err.span().start <= err.span().end);
            }
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// The encoder writes only unreserved characters and uppercase `%XX` escapes, leaves
    /// unreserved characters alone, and decodes back to its input, for any Unicode text.
    #[test]
    fn path_encoding_is_unreserved_and_reversible(text in prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9:!%/ ?#&=+~._-]{0,20}",
        "\\PC{0,20}",
    ]) {
        let encoded = encode_path_segment(&text);
        let bytes = encoded.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let escape = &bytes[i + 1..(i + 3).min(bytes.len())];
                prop_assert!(
                    escape.len() == 2 && escape.iter().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b)),
                    "bad escape at {} in {:?}", i, encoded
                );
                i += 3;
            } else {
                prop_assert!(is_unreserved(bytes[i]), "{:?} left unencoded in {:?}", char::from(bytes[i]), encoded);
                i += 1;
            }
        }
        prop_assert_eq!(decode(&encoded), text.clone());
        let expected_len: usize = text.bytes().map(|b| if is_unreserved(b) { 1 } else { 3 }).sum();
        prop_assert_eq!(encoded.len(), expected_len);

        let mut appended = String::from("/v2/");
        encode_path_segment_into(&text, &mut appended);
        prop_assert_eq!(appended, format!("/v2/{encoded}"));
    }

    /// `percent_decode` and `percent_decode_strict` invert the encoder for any Unicode text.
    #[test]
    fn percent_decoding_inverts_the_encoder(text in prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9:!%/ ?#&=+~._-]{0,20}",
        "\\PC{0,20}",
    ]) {
        let encoded = encode_path_segment(&text);
        prop_assert_eq!(&*percent_decode(encoded.as_bytes()), text.as_bytes());
        let strict = percent_decode_strict(encoded.as_bytes());
        prop_assert_eq!(strict.as_deref(), Some(text.as_bytes()));
    }

    /// On arbitrary bytes the lenient decoder agrees with an independent reference decoder,
    /// and the strict one agrees with it exactly when no `%` starts a malformed escape.
    #[test]
    fn percent_decoding_matches_a_reference(input in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..24),
        "[%0-9a-gA-G+/]{0,24}".prop_map(String::into_bytes),
    ]) {
        let (expected, malformed) = reference_decode(&input);
        prop_assert_eq!(&*percent_decode(&input), &expected[..]);
        let strict = percent_decode_strict(&input);
        if malformed {
            prop_assert_eq!(strict, None);
        } else {
            prop_assert_eq!(strict.as_deref(), Some(&expected[..]));
        }
    }
}

/// Lenient percent-decoding written independently: returns the decoded bytes and whether
/// some `%` did not start a two-hex-digit escape.
fn reference_decode(input: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut malformed = false;
    let mut i = 0;
    while i < input.len() {
        let escape = input.get(i + 1..i + 3).and_then(|hex| std::str::from_utf8(hex).ok());
        match escape.filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit())) {
            Some(hex) if input[i] == b'%' => {
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            _ => {
                malformed |= input[i] == b'%';
                out.push(input[i]);
                i += 1;
            }
        }
    }
    (out, malformed)
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~')
}

/// Decodes `%XX` escapes; panics on anything that is not unreserved or a well-formed escape.
fn decode(encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
