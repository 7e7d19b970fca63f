use std::collections::HashSet;

use std::borrow::Cow;

use crate::{
    FunctionRef, FunctionUrn, Qualifier, UrnError, UrnErrorKind, UrnPart, encode_path_segment,
    encode_path_segment_into, percent_decode, percent_decode_strict, percent_escape_at,
};

const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const BASE: &str = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello";

fn parse(text: &str) -> FunctionUrn {
    FunctionUrn::parse(text).unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
}

fn parse_err(text: &str) -> UrnError {
    match FunctionUrn::parse(text) {
        Ok(urn) => panic!("{text:?} should not parse, got {urn:?}"),
        Err(e) => e,
    }
}

/// Asserts part, kind and that the span points at `spanned` in `text`.
fn assert_err(text: &str, part: UrnPart, kind: UrnErrorKind, spanned: &str) -> UrnError {
    let err = parse_err(text);
    assert_eq!(err.part(), part, "part of {text:?}: {err}");
    assert_eq!(err.kind(), kind, "kind of {text:?}: {err}");
    assert_eq!(
        text.get(err.span()),
        Some(spanned),
        "span {:?} of {text:?}: {err}",
        err.span()
    );
    err
}

// ---------------------------------------------------------------- valid URNs

#[test]
fn parses_version_qualifier() {
    let urn = parse(&format!("{BASE}:latest"));
    assert_eq!(urn.region(), "cn-north-4");
    assert_eq!(urn.project_id(), PROJECT);
    assert_eq!(urn.package(), "default");
    assert_eq!(urn.name(), "hello");
    assert_eq!(urn.qualifier(), Some(Qualifier::Version("latest")));
    assert_eq!(urn.qualifier(), Some(Qualifier::LATEST));
    assert_eq!(urn.version(), Some("latest"));
    assert_eq!(urn.alias(), None);
    assert_eq!(urn.as_str(), format!("{BASE}:latest"));
}

#[test]
fn parses_published_and_custom_versions() {
    for version in ["v20240101-120000", "1", "v1.2.3", "my_version-2", "V9"] {
        let urn = parse(&format!("{BASE}:{version}"));
        assert_eq!(urn.version(), Some(version));
        assert_eq!(urn.alias(), None);
    }
}

#[test]
fn parses_alias_qualifier() {
    let urn = parse(&format!("{BASE}:!prod"));
    assert_eq!(urn.qualifier(), Some(Qualifier::Alias("prod")));
    assert_eq!(urn.alias(), Some("prod"));
    assert_eq!(urn.version(), None);
    assert_eq!(urn.name(), "hello");
    assert_eq!(parse(&format!("{BASE}:!a")).alias(), Some("a"));
    assert_eq!(parse(&format!("{BASE}:!blue_green-2")).alias(), Some("blue_green-2"));
}

#[test]
fn parses_unqualified() {
    let urn = parse(BASE);
    assert_eq!(urn.qualifier(), None);
    assert_eq!(urn.version(), None);
    assert_eq!(urn.alias(), None);
    assert_eq!(urn.name(), "hello");
    assert_ne!(urn, parse(&format!("{BASE}:latest")));
}

#[test]
fn parses_various_regions() {
    for region in [
        "cn-north-4",
        "eu-west-101",
        "my-kualalumpur-1",
        "ae-ad-1",
        "ap-southeast-3",
        "la-south-2",
        "cn-east-3",
        "ru-moscow-1",
        "af-south-1",
        "ab",
    ] {
        let text = format!("urn:fss:{region}:{PROJECT}:function:default:hello");
        assert_eq!(parse(&text).region(), region);
    }
}

#[test]
fn parses_permissive_project_and_package() {
    let urn = parse("urn:fss:cn-north-4:ABC123:function:My_App-1:f");
    assert_eq!(urn.project_id(), "ABC123");
    assert_eq!(urn.package(), "My_App-1");
    assert_eq!(urn.name(), "f");
    assert_eq!(parse("urn:fss:cn-north-4:p:function:_:a_b-c9").package(), "_");
}

#[test]
fn accepts_maximum_lengths() {
    let region = format!("a{}", "b".repeat(63));
    let project = "f".repeat(64);
    let package = "p".repeat(64);
    let name = format!("n{}", "_".repeat(58)) + "1";
    let version = "v".repeat(64);
    let alias = "a".repeat(64);
    assert_eq!(name.len(), 60);
    let text = format!("urn:fss:{region}:{project}:function:{package}:{name}:{version}");
    let urn = parse(&text);
    assert_eq!(urn.region(), region);
    assert_eq!(urn.name(), name);
    assert_eq!(urn.version(), Some(version.as_str()));
    let text = format!("urn:fss:{region}:{project}:function:{package}:{name}:!{alias}");
    assert_eq!(parse(&text).alias(), Some(alias.as_str()));
}

#[test]
fn conversions_and_formatting() {
    let text = format!("{BASE}:!prod");
    let a: FunctionUrn = text.parse().unwrap();
    let b = FunctionUrn::try_from(text.as_str()).unwrap();
    let c = FunctionUrn::try_from(text.clone()).unwrap();
    assert_eq!(a, b);
    assert_eq!(b, c);
    assert_eq!(a.to_string(), text);
    assert_eq!(AsRef::<str>::as_ref(&a), text);
    assert_eq!(format!("{a:?}"), format!("FunctionUrn({text:?})"));
    assert_eq!(c.alias(), Some("prod"));
    assert!(FunctionUrn::try_from(String::from("urn:fss:")).is_err());
    assert!("nope".parse::<FunctionUrn>().is_err());
}

#[test]
fn equality_hash_and_order_follow_the_text() {
    let a = parse(&format!("{BASE}:a1"));
    let b = parse(&format!("{BASE}:b1"));
    assert!(a < b);
    assert_eq!(a.cmp(&a.clone()), std::cmp::Ordering::Equal);
    let set: HashSet<FunctionUrn> = [a.clone(), b.clone(), a.clone()].into_iter().collect();
    assert_eq!(set.len(), 2);
    let mut sorted = vec![b.clone(), a.clone()];
    sorted.sort();
    assert_eq!(sorted, vec![a, b]);
}

#[test]
fn round_trips_through_display() {
    for text in [
        BASE.to_owned(),
        format!("{BASE}:latest"),
        format!("{BASE}:v20240101-120000"),
        format!("{BASE}:!prod"),
        "urn:fss:eu-west-101:AbC:function:pkg_1:f-1:1.0".to_owned(),
    ] {
        let urn = parse(&text);
        let shown = format!("{urn}");
        let again = parse(&shown);
        assert_eq!(urn, again);
        assert_eq!(urn.qualifier(), again.qualifier());
        assert_eq!(again.as_str(), text);
        let rebuilt = FunctionUrn::from_parts(
            urn.region(),
            urn.project_id(),
            urn.package(),
            urn.name(),
            urn.qualifier(),
        )
        .unwrap();
        assert_eq!(rebuilt, urn);
    }
}

// -------------------------------------------------------------------- errors

#[test]
fn error_empty_input() {
    let err = assert_err("", UrnPart::Prefix, UrnErrorKind::Missing, "");
    assert_eq!(err.span(), 0..0);
    assert!(err.to_string().contains("input is empty"), "{err}");
}

#[test]
fn error_prefix() {
    let expected = UrnErrorKind::Expected("urn:fss:");
    assert_err("arn:aws:lambda:x", UrnPart::Prefix, expected.clone(), "arn:aws:");
    let err = assert_err(
        "URN:FSS:cn-north-4:p:function:d:h",
        UrnPart::Prefix,
        expected.clone(),
        "URN:FSS:",
    );
    assert_eq!(
        err.to_string(),
        r#"invalid function URN: expected "urn:fss:" as the prefix, found "URN:FSS:""#
    );
    assert_err("hello", UrnPart::Prefix, expected.clone(), "hello");
    assert_err("urn:fss", UrnPart::Prefix, expected.clone(), "urn:fss");
    assert_err(" urn:fss:x", UrnPart::Prefix, expected, " urn:fss:");
}

#[test]
fn error_missing_parts() {
    let cases = [
        ("urn:fss:", UrnPart::Region),
        ("urn:fss:cn-north-4", UrnPart::ProjectId),
        ("urn:fss:cn-north-4:", UrnPart::ProjectId),
        ("urn:fss:cn-north-4:p", UrnPart::ResourceType),
        ("urn:fss:cn-north-4:p:function", UrnPart::Package),
        ("urn:fss:cn-north-4:p:function:", UrnPart::Package),
        ("urn:fss:cn-north-4:p:function:default", UrnPart::Name),
        ("urn:fss:cn-north-4:p:function:default:", UrnPart::Name),
    ];
    for (text, part) in cases {
        let err = assert_err(text, part, UrnErrorKind::Missing, "");
        assert_eq!(err.span(), text.len()..text.len(), "{text}");
    }
    let err = parse_err("urn:fss:cn-north-4:p:function:default");
    assert_eq!(
        err.to_string(),
        "invalid function URN: missing function name (expected \
         urn:fss:{region}:{project_id}:function:{package}:{name}[:{version}|:!{alias}])"
    );
}

#[test]
fn error_empty_parts() {
    let cases = [
        ("urn:fss::p:function:d:h", UrnPart::Region, 8),
        ("urn:fss:cn-north-4::function:d:h", UrnPart::ProjectId, 19),
        ("urn:fss:cn-north-4:p::d:h", UrnPart::ResourceType, 21),
        ("urn:fss:cn-north-4:p:function::h", UrnPart::Package, 30),
        ("urn:fss:cn-north-4:p:function:d::latest", UrnPart::Name, 32),
    ];
    for (text, part, at) in cases {
        let err = assert_err(text, part, UrnErrorKind::Empty, "");
        assert_eq!(err.span(), at..at, "{text}");
    }
    // A trailing `:` after the name leaves an empty (optional) qualifier.
    let text = format!("{BASE}:");
    let err = assert_err(&text, UrnPart::Version, UrnErrorKind::Empty, "");
    assert_eq!(err.span(), text.len()..text.len());
    assert!(
        err.to_string().starts_with("invalid function URN: empty version"),
        "{err}"
    );
    let text = format!("{BASE}:!");
    let err = assert_err(&text, UrnPart::Alias, UrnErrorKind::Empty, "");
    assert_eq!(err.span(), text.len()..text.len());
    assert_err(&format!("{BASE}::x"), UrnPart::Version, UrnErrorKind::Empty, "");
}

#[test]
fn error_resource_type() {
    let err = assert_err(
        "urn:fss:cn-north-4:p:Function:d:h",
        UrnPart::ResourceType,
        UrnErrorKind::Expected("function"),
        "Function",
    );
    assert_eq!(
        err.to_string(),
        r#"invalid function URN: expected "function" as the resource type, found "Function""#
    );
    assert_err(
        "urn:fss:cn-north-4:p:trigger:d:h",
        UrnPart::ResourceType,
        UrnErrorKind::Expected("function"),
        "trigger",
    );
}

#[test]
fn error_region() {
    let mk = |region: &str| format!("urn:fss:{region}:p:function:d:h");
    let ch = |ch, index| UrnErrorKind::InvalidChar { ch, index };
    assert_err(&mk("CN-north-4"), UrnPart::Region, ch('C', 0), "CN-north-4");
    assert_err(&mk("cn_north_4"), UrnPart::Region, ch('_', 2), "cn_north_4");
    assert_err(&mk("cn north"), UrnPart::Region, ch(' ', 2), "cn north");
    assert_err(&mk("4cn"), UrnPart::Region, UrnErrorKind::BadStart, "4cn");
    assert_err(&mk("-cn"), UrnPart::Region, UrnErrorKind::BadStart, "-cn");
    assert_err(&mk("cn-"), UrnPart::Region, UrnErrorKind::BadEnd, "cn-");
    assert_err(&mk("c"), UrnPart::Region, UrnErrorKind::TooShort { min: 2 }, "c");
    let long = "a".repeat(65);
    assert_err(&mk(&long), UrnPart::Region, UrnErrorKind::TooLong { max: 64 }, &long);
    let err = parse_err(&mk("cn-"));
    assert_eq!(
        err.to_string(),
        r#"invalid function URN: region "cn-" must end with a lowercase ASCII letter or digit"#
    );
    let err = parse_err(&mk("c"));
    assert_eq!(
        err.to_string(),
        r#"invalid function URN: region "c" is too short (1 characters, at least 2 required)"#
    );
}

#[test]
fn error_project_id() {
    let mk = |project: &str| format!("urn:fss:cn-north-4:{project}:function:d:h");
    assert_err(
        &mk("0123-4567"),
        UrnPart::ProjectId,
        UrnErrorKind::InvalidChar { ch: '-', index: 4 },
        "0123-4567",
    );
    let long = "f".repeat(65);
    assert_err(&mk(&long), UrnPart::ProjectId, UrnErrorKind::TooLong { max: 64 }, &long);
}

#[test]
fn error_package() {
    let mk = |package: &str| format!("urn:fss:cn-north-4:p:function:{package}:h");
    assert_err(
        &mk("my.pkg"),
        UrnPart::Package,
        UrnErrorKind::InvalidChar { ch: '.', index: 2 },
        "my.pkg",
    );
    let long = "p".repeat(65);
    assert_err(&mk(&long), UrnPart::Package, UrnErrorKind::TooLong { max: 64 }, &long);
}

#[test]
fn error_name() {
    let mk = |name: &str| format!("urn:fss:cn-north-4:p:function:d:{name}");
    let err = assert_err(&mk("9hello"), UrnPart::Name, UrnErrorKind::BadStart, "9hello");
    assert_eq!(
        err.to_string(),
        r#"invalid function URN: function name "9hello" must start with a letter"#
    );
    assert_err(&mk("_hello"), UrnPart::Name, UrnErrorKind::BadStart, "_hello");
    assert_err(&mk("hello-"), UrnPart::Name, UrnErrorKind::BadEnd, "hello-");
    assert_err(&mk("hello_"), UrnPart::Name, UrnErrorKind::BadEnd, "hello_");
    assert_err(
        &mk("héllo"),
        UrnPart::Name,
        UrnErrorKind::InvalidChar { ch: 'é', index: 1 },
        "héllo",
    );
    assert_err(
        &mk("hello!prod"),
        UrnPart::Name,
        UrnErrorKind::InvalidChar { ch: '!', index: 5 },
        "hello!prod",
    );
    let long = "h".repeat(61);
    let err = assert_err(&mk(&long), UrnPart::Name, UrnErrorKind::TooLong { max: 60 }, &long);
    assert!(err.to_string().contains("(61 characters, at most 60 allowed)"), "{err}");
    let err = parse_err(&mk("a b"));
    assert_eq!(
        err.to_string(),
        "invalid function URN: function name \"a b\" contains the invalid character ' ' at \
         index 1 (allowed: ASCII letters, digits, '_' and '-')"
    );
}

#[test]
fn error_version() {
    let mk = |version: &str| format!("{BASE}:{version}");
    assert_err(&mk(".v1"), UrnPart::Version, UrnErrorKind::BadStart, ".v1");
    assert_err(&mk("-v1"), UrnPart::Version, UrnErrorKind::BadStart, "-v1");
    assert_err(
        &mk("v 1"),
        UrnPart::Version,
        UrnErrorKind::InvalidChar { ch: ' ', index: 1 },
        "v 1",
    );
    let long = "1".repeat(65);
    assert_err(&mk(&long), UrnPart::Version, UrnErrorKind::TooLong { max: 64 }, &long);
    // Versions may end with any allowed character.
    assert_eq!(parse(&mk("v1.")).version(), Some("v1."));
}

#[test]
fn error_alias() {
    let mk = |alias: &str| format!("{BASE}:!{alias}");
    let err = assert_err(&mk("1prod"), UrnPart::Alias, UrnErrorKind::BadStart, "1prod");
    assert_eq!(err.span().start, BASE.len() + 2, "span excludes the `!`");
    assert_err(&mk("prod-"), UrnPart::Alias, UrnErrorKind::BadEnd, "prod-");
    assert_err(
        &mk("pr.od"),
        UrnPart::Alias,
        UrnErrorKind::InvalidChar { ch: '.', index: 2 },
        "pr.od",
    );
    assert_err(
        &mk("!prod"),
        UrnPart::Alias,
        UrnErrorKind::InvalidChar { ch: '!', index: 0 },
        "!prod",
    );
    let long = "a".repeat(65);
    assert_err(&mk(&long), UrnPart::Alias, UrnErrorKind::TooLong { max: 64 }, &long);
}

#[test]
fn error_trailing() {
    let text = format!("{BASE}:latest:extra");
    let err = assert_err(&text, UrnPart::Trailing, UrnErrorKind::Unexpected, ":extra");
    assert_eq!(
        err.to_string(),
        r#"invalid function URN: unexpected text after the version: ":extra""#
    );
    let text = format!("{BASE}:!prod:x:y");
    let err = assert_err(&text, UrnPart::Trailing, UrnErrorKind::Unexpected, ":x:y");
    assert_eq!(
        err.to_string(),
        r#"invalid function URN: unexpected text after the alias: ":x:y""#
    );
    assert_err(
        &format!("{BASE}:latest:"),
        UrnPart::Trailing,
        UrnErrorKind::Unexpected,
        ":",
    );
}

#[test]
fn error_is_std_error_and_quotes_control_chars() {
    let err = parse_err("urn:fss:cn-north-4:p:function:d:a\nb");
    let dynamic: &dyn std::error::Error = &err;
    assert!(dynamic.to_string().contains(r#""a\nb""#), "{dynamic}");
    assert!(dynamic.to_string().contains(r"'\n'"), "{dynamic}");
}

#[test]
fn part_display() {
    let names = [
        (UrnPart::Prefix, "prefix"),
        (UrnPart::Region, "region"),
        (UrnPart::ProjectId, "project id"),
        (UrnPart::ResourceType, "resource type"),
        (UrnPart::Package, "package"),
        (UrnPart::Name, "function name"),
        (UrnPart::Version, "version"),
        (UrnPart::Alias, "alias"),
        (UrnPart::Trailing, "trailing text"),
    ];
    for (part, name) in names {
        assert_eq!(part.to_string(), name);
    }
}

// ------------------------------------------------------- building and editing

#[test]
fn from_parts_builds_urns() {
    let urn = FunctionUrn::from_parts("cn-north-4", PROJECT, "default", "hello", None).unwrap();
    assert_eq!(urn.as_str(), BASE);
    assert_eq!(urn.qualifier(), None);
    let urn = FunctionUrn::from_parts(
        "cn-north-4",
        PROJECT,
        "default",
        "hello",
        Some(Qualifier::Alias("prod")),
    )
    .unwrap();
    assert_eq!(urn.as_str(), format!("{BASE}:!prod"));
    assert_eq!(urn.alias(), Some("prod"));
    assert_eq!(urn.name(), "hello");
    let urn = FunctionUrn::from_parts("ae-ad-1", "x", "p", "f", Some(Qualifier::Version("v20240101-120000"))).unwrap();
    assert_eq!(urn.as_str(), "urn:fss:ae-ad-1:x:function:p:f:v20240101-120000");
    assert_eq!(urn.version(), Some("v20240101-120000"));
    assert_eq!(urn.region(), "ae-ad-1");
}

#[test]
fn from_parts_validates_each_part() {
    let build = |region, project, package, name, qualifier| match FunctionUrn::from_parts(
        region, project, package, name, qualifier,
    ) {
        Ok(urn) => panic!("should fail, got {urn:?}"),
        Err(e) => e,
    };
    let err = build("CN", PROJECT, "default", "hello", None);
    assert_eq!((err.part(), err.span()), (UrnPart::Region, 8..10));
    assert_eq!(err.kind(), UrnErrorKind::InvalidChar { ch: 'C', index: 0 });

    let err = build("cn-north-4", "", "default", "hello", None);
    assert_eq!(
        (err.part(), err.kind(), err.span()),
        (UrnPart::ProjectId, UrnErrorKind::Empty, 19..19)
    );

    // A `:` inside a part must not be able to smuggle in extra fields.
    let err = build("cn-north-4", PROJECT, "a:b", "hello", None);
    assert_eq!(err.part(), UrnPart::Package);
    assert_eq!(err.kind(), UrnErrorKind::InvalidChar { ch: ':', index: 1 });

    let err = build("cn-north-4", PROJECT, "default", "9hello", None);
    assert_eq!((err.part(), err.kind()), (UrnPart::Name, UrnErrorKind::BadStart));
    let start = BASE.len() - "hello".len();
    assert_eq!(err.span(), start..start + 6);

    let err = build("cn-north-4", PROJECT, "default", "hello", Some(Qualifier::Version("")));
    assert_eq!((err.part(), err.kind()), (UrnPart::Version, UrnErrorKind::Empty));
    assert_eq!(err.span(), BASE.len() + 1..BASE.len() + 1);

    let err = build(
        "cn-north-4",
        PROJECT,
        "default",
        "hello",
        Some(Qualifier::Version("!prod")),
    );
    assert_eq!(err.part(), UrnPart::Version);
    assert_eq!(err.kind(), UrnErrorKind::InvalidChar { ch: '!', index: 0 });

    // Aliases are passed without `!`.
    let err = build(
        "cn-north-4",
        PROJECT,
        "default",
        "hello",
        Some(Qualifier::Alias("!prod")),
    );
    assert_eq!(err.part(), UrnPart::Alias);
    assert_eq!(err.kind(), UrnErrorKind::InvalidChar { ch: '!', index: 0 });
    assert_eq!(err.span(), BASE.len() + 2..BASE.len() + 7);
}

#[test]
fn with_qualifier_and_unqualified() {
    let base = parse(BASE);
    let latest = base.with_qualifier(Qualifier::LATEST).unwrap();
    assert_eq!(latest.as_str(), format!("{BASE}:latest"));
    assert_eq!(latest.version(), Some("latest"));

    let prod = latest.with_qualifier(Qualifier::Alias("prod")).unwrap();
    assert_eq!(prod.as_str(), format!("{BASE}:!prod"));
    assert_eq!(prod.alias(), Some("prod"));
    assert_eq!(prod.name(), "hello");
    assert_eq!(prod.region(), "cn-north-4");

    assert_eq!(prod.unqualified(), base);
    assert_eq!(prod.unqualified().qualifier(), None);
    assert_eq!(base.unqualified(), base);
    assert_eq!(prod.unqualified().name(), "hello");

    let err = base.with_qualifier(Qualifier::Alias("-x")).unwrap_err();
    assert_eq!((err.part(), err.kind()), (UrnPart::Alias, UrnErrorKind::BadStart));
    assert_eq!(err.span(), BASE.len() + 2..BASE.len() + 4);
    let err = base.with_qualifier(Qualifier::Version("a:b")).unwrap_err();
    assert_eq!(err.kind(), UrnErrorKind::InvalidChar { ch: ':', index: 1 });
    // The original is untouched by a failed edit.
    assert_eq!(base.as_str(), BASE);
}

#[test]
fn qualifier_parse_and_display() {
    assert_eq!(Qualifier::parse("latest"), Ok(Qualifier::LATEST));
    assert_eq!(Qualifier::parse("!prod"), Ok(Qualifier::Alias("prod")));
    assert_eq!(Qualifier::parse("v1.0"), Ok(Qualifier::Version("v1.0")));
    let err = Qualifier::parse("!").unwrap_err();
    assert_eq!(
        (err.part(), err.kind(), err.span()),
        (UrnPart::Alias, UrnErrorKind::Empty, 1..1)
    );
    let err = Qualifier::parse("").unwrap_err();
    assert_eq!((err.part(), err.kind()), (UrnPart::Version, UrnErrorKind::Empty));
    assert_eq!(Qualifier::Alias("prod").to_string(), "!prod");
    assert_eq!(Qualifier::Version("latest").to_string(), "latest");
}

// ------------------------------------------------------------------ encoding

#[test]
fn encodes_path_segments() {
    assert_eq!(encode_path_segment(""), "");
    assert_eq!(encode_path_segment("AZaz09-_.~"), "AZaz09-_.~");
    assert_eq!(encode_path_segment(":"), "%3A");
    assert_eq!(encode_path_segment("!"), "%21");
    assert_eq!(encode_path_segment(" "), "%20");
    assert_eq!(encode_path_segment("~"), "~");
    assert_eq!(encode_path_segment("é"), "%C3%A9");
    assert_eq!(encode_path_segment("%3A"), "%253A");
    assert_eq!(encode_path_segment("a/b?c#d+e&f=g"), "a%2Fb%3Fc%23d%2Be%26f%3Dg");
    assert_eq!(encode_path_segment("\u{7f}\u{0}"), "%7F%00");
    assert_eq!(encode_path_segment("😀"), "%F0%9F%98%80");
}

#[test]
fn encode_into_appends() {
    let mut out = String::from("/x/");
    encode_path_segment_into("a:b", &mut out);
    encode_path_segment_into("", &mut out);
    encode_path_segment_into("!", &mut out);
    assert_eq!(out, "/x/a%3Ab%21");
}

// ------------------------------------------------------------------ decoding

#[test]
fn decodes_valid_escapes_in_either_case() {
    assert_eq!(&*percent_decode(b"urn%3Afss%3Ax%3A%21prod"), b"urn:fss:x:!prod");
    assert_eq!(&*percent_decode(b"caf%c3%A9"), "caf\u{e9}".as_bytes());
    assert_eq!(&*percent_decode(b"%00%7f%FF"), [0x00, 0x7F, 0xFF]);
    assert_eq!(&*percent_decode(b"%253A"), b"%3A", "decoded once only");
    assert_eq!(&*percent_decode(b"a+b"), b"a+b", "+ is not a space");
    assert_eq!(&*percent_decode(b""), b"");
}

#[test]
fn lenient_decoding_keeps_malformed_escapes() {
    for malformed in [&b"%"[..], b"%4", b"%zz", b"%4g", b"%g4", b"100%", b"%%41"] {
        let decoded = percent_decode(malformed);
        let expected: &[u8] = if malformed == b"%%41" { b"%A" } else { malformed };
        assert_eq!(&*decoded, expected, "{:?}", String::from_utf8_lossy(malformed));
    }
    assert_eq!(&*percent_decode(b"%zz%41%4"), b"%zzA%4");
}

#[test]
fn decoding_borrows_when_nothing_changes() {
    assert!(matches!(percent_decode(b"plain"), Cow::Borrowed(_)));
    assert!(matches!(percent_decode(b"only %zz malformed"), Cow::Borrowed(_)));
    assert!(matches!(percent_decode(b"%41"), Cow::Owned(_)));
    assert!(matches!(percent_decode_strict(b"plain"), Some(Cow::Borrowed(_))));
}

#[test]
fn strict_decoding_refuses_malformed_escapes() {
    assert_eq!(percent_decode_strict(b"urn%3Afss").as_deref(), Some(&b"urn:fss"[..]));
    assert_eq!(percent_decode_strict(b"%FF").as_deref(), Some(&[0xFF][..]));
    for malformed in [&b"%"[..], b"%4", b"%zz", b"a%4g", b"ok%41 then %"] {
        assert_eq!(percent_decode_strict(malformed), None, "{malformed:?}");
    }
}

#[test]
fn escape_at_reads_one_escape() {
    assert_eq!(percent_escape_at(b"%41", 0), Some(b'A'));
    assert_eq!(percent_escape_at(b"x%2f", 1), Some(b'/'));
    assert_eq!(percent_escape_at(b"x%2f", 0), None);
    assert_eq!(percent_escape_at(b"%2", 0), None);
    assert_eq!(percent_escape_at(b"%41", usize::MAX), None);
}

#[test]
fn decoding_inverts_encoding() {
    for text in [
        "",
        "hello:!prod",
        "a b~c",
        "caf\u{e9}",
        "%3A",
        "a/b?c#d+e&f=g",
        "\u{7f}\u{0}",
        "\u{1F600}",
    ] {
        assert_eq!(
            &*percent_decode(encode_path_segment(text).as_bytes()),
            text.as_bytes(),
            "{text:?}"
        );
        assert_eq!(
            percent_decode_strict(encode_path_segment(text).as_bytes()).as_deref(),
            Some(text.as_bytes()),
            "{text:?}"
        );
    }
}

#[test]
fn path_segment_of_urns() {
    let urn = parse(&format!("{BASE}:latest"));
    assert_eq!(
        urn.to_path_segment(),
        "urn%3Afss%3Acn-north-4%3A0123456789abcdef0123456789abcdef%3Afunction%3Adefault%3Ahello%3Alatest"
    );
    let urn = parse(&format!("{BASE}:!prod"));
    assert!(urn.to_path_segment().ends_with("%3Ahello%3A%21prod"));
    assert_eq!(urn.to_path_segment(), encode_path_segment(urn.as_str()));
}

// ------------------------------------------------------------ function refs

fn reference(text: &str) -> FunctionRef {
    FunctionRef::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn reference_error(text: &str) -> UrnError {
    FunctionRef::parse(text).unwrap_err()
}

#[test]
fn function_refs_parse_every_form() {
    let plain = reference("default/hello");
    assert_eq!(
        (plain.package(), plain.name(), plain.qualifier()),
        ("default", "hello", None)
    );
    assert_eq!(plain.as_str(), "default/hello");

    let version = reference("my_app/hello-world2:v20240101-120000");
    assert_eq!(version.package(), "my_app");
    assert_eq!(version.name(), "hello-world2");
    assert_eq!(version.version(), Some("v20240101-120000"));
    assert_eq!(version.alias(), None);

    let alias = reference("default/hello:!prod");
    assert_eq!(alias.qualifier(), Some(Qualifier::Alias("prod")));
    assert_eq!(alias.alias(), Some("prod"));
    assert_eq!(alias.version(), None);
    assert_eq!(alias.to_string(), "default/hello:!prod");
    assert_eq!(format!("{alias:?}"), r#"FunctionRef("default/hello:!prod")"#);

    // `name!alias` is shorthand for `name:!alias`, and is written back canonically.
    let short = reference("default/hello!prod");
    assert_eq!(short, alias);
    assert_eq!(short.as_str(), "default/hello:!prod");

    assert_eq!("default/hello".parse::<FunctionRef>(), Ok(plain.clone()));
    assert_eq!(FunctionRef::try_from("default/hello"), Ok(plain));
}

#[test]
fn function_refs_resolve_to_urns() {
    let urn = reference("default/hello:!prod").resolve("cn-north-4", PROJECT).unwrap();
    assert_eq!(urn, parse(&format!("{BASE}:!prod")));
    let urn = reference("default/hello").resolve("cn-north-4", PROJECT).unwrap();
    assert_eq!(urn, parse(BASE));

    let err = reference("default/hello").resolve("CN North", PROJECT).unwrap_err();
    assert_eq!(err.part(), UrnPart::Region);
    assert!(
        err.to_string().starts_with("invalid function URN: region \"CN North\""),
        "{err}"
    );
    let err = reference("default/hello").resolve("cn-north-4", "").unwrap_err();
    assert_eq!(err.part(), UrnPart::ProjectId);
    assert_eq!(err.kind(), UrnErrorKind::Empty);
}

#[test]
fn function_refs_from_parts_and_with_qualifier() {
    let built = FunctionRef::from_parts("default", "hello", Some(Qualifier::Version("v1"))).unwrap();
    assert_eq!(built, reference("default/hello:v1"));
    assert_eq!(
        built.with_qualifier(Qualifier::Alias("prod")).unwrap(),
        reference("default/hello:!prod")
    );

    let err = FunctionRef::from_parts("default", "hello", Some(Qualifier::Alias("-x"))).unwrap_err();
    assert_eq!(
        (err.part(), err.kind(), err.span()),
        (UrnPart::Alias, UrnErrorKind::BadStart, 15..17)
    );
    assert_eq!(
        err.to_string(),
        r#"invalid function reference: alias "-x" must start with a letter"#
    );
    let err = FunctionRef::from_parts("bad package", "hello", None).unwrap_err();
    assert_eq!(err.part(), UrnPart::Package);
}

#[test]
fn function_ref_errors_name_the_part() {
    let cases: &[(&str, UrnPart, UrnErrorKind, std::ops::Range<usize>, &str)] = &[
        (
            "",
            UrnPart::Package,
            UrnErrorKind::Missing,
            0..0,
            "the input is empty (expected {package}/{name}[:{version}|:!{alias}])",
        ),
        (
            "hello",
            UrnPart::Name,
            UrnErrorKind::Missing,
            5..5,
            "missing function name (expected {package}/{name}[:{version}|:!{alias}])",
        ),
        (
            "default/",
            UrnPart::Name,
            UrnErrorKind::Missing,
            8..8,
            "missing function name (expected {package}/{name}[:{version}|:!{alias}])",
        ),
        (
            "/hello",
            UrnPart::Package,
            UrnErrorKind::Empty,
            0..0,
            "empty package (expected {package}/{name}[:{version}|:!{alias}])",
        ),
        (
            "default/:v1",
            UrnPart::Name,
            UrnErrorKind::Empty,
            8..8,
            "empty function name (expected {package}/{name}[:{version}|:!{alias}])",
        ),
        (
            "bad package/hello",
            UrnPart::Package,
            UrnErrorKind::InvalidChar { ch: ' ', index: 3 },
            0..11,
            "package \"bad package\" contains the invalid character ' ' at index 3 (allowed: ASCII letters, digits, '_' and '-')",
        ),
        (
            "default/9hello",
            UrnPart::Name,
            UrnErrorKind::BadStart,
            8..14,
            "function name \"9hello\" must start with a letter",
        ),
        (
            "default/a/b",
            UrnPart::Name,
            UrnErrorKind::InvalidChar { ch: '/', index: 1 },
            8..11,
            "function name \"a/b\" contains the invalid character '/' at index 1 (allowed: ASCII letters, digits, '_' and '-')",
        ),
        (
            "default/hello:",
            UrnPart::Version,
            UrnErrorKind::Empty,
            14..14,
            "empty version (expected {package}/{name}[:{version}|:!{alias}])",
        ),
        (
            "default/hello:!",
            UrnPart::Alias,
            UrnErrorKind::Empty,
            15..15,
            "empty alias (expected {package}/{name}[:{version}|:!{alias}])",
        ),
        (
            "default/hello!-x",
            UrnPart::Alias,
            UrnErrorKind::BadStart,
            14..16,
            "alias \"-x\" must start with a letter",
        ),
        (
            "default/hello:.v1",
            UrnPart::Version,
            UrnErrorKind::BadStart,
            14..17,
            "version \".v1\" must start with a letter or digit",
        ),
        (
            "default/hello:v1:x",
            UrnPart::Trailing,
            UrnErrorKind::Unexpected,
            16..18,
            "unexpected text after the version: \":x\"",
        ),
        (
            "default/hello:!prod:x",
            UrnPart::Trailing,
            UrnErrorKind::Unexpected,
            19..21,
            "unexpected text after the alias: \":x\"",
        ),
        (
            " default/hello",
            UrnPart::Package,
            UrnErrorKind::InvalidChar { ch: ' ', index: 0 },
            0..8,
            "package \" default\" contains the invalid character ' ' at index 0 (allowed: ASCII letters, digits, '_' and '-')",
        ),
    ];
    for (text, part, kind, span, problem) in cases {
        let err = reference_error(text);
        assert_eq!(err.part(), *part, "{text:?}: {err}");
        assert_eq!(err.kind(), *kind, "{text:?}: {err}");
        assert_eq!(err.span(), span.clone(), "{text:?}: {err}");
        assert_eq!(err.problem().to_string(), *problem, "{text:?}");
        assert_eq!(
            err.to_string(),
            format!("invalid function reference: {problem}"),
            "{text:?}"
        );
    }
}

// --------------------------------------------------------------------- serde

#[cfg(feature = "serde")]
mod serde_tests {
    use super::{BASE, parse};
    use crate::{FunctionRef, FunctionUrn};

    #[test]
    fn function_refs_serialize_as_their_text() {
        let function = FunctionRef::parse("default/hello!prod").unwrap();
        let json = serde_json::to_string(&function).unwrap();
        assert_eq!(json, r#""default/hello:!prod""#);
        assert_eq!(serde_json::from_str::<FunctionRef>(&json).unwrap(), function);
        let err = serde_json::from_str::<FunctionRef>(r#""hello""#).unwrap_err();
        assert!(err.to_string().contains("missing function name"), "{err}");
    }

    #[test]
    fn serializes_as_string() {
        let urn = parse(&format!("{BASE}:!prod"));
        let json = serde_json::to_string(&urn).unwrap();
        assert_eq!(json, format!("\"{BASE}:!prod\""));
    }

    #[test]
    fn deserializes_and_validates() {
        let json = format!("\"{BASE}:latest\"");
        let urn: FunctionUrn = serde_json::from_str(&json).unwrap();
        assert_eq!(urn.version(), Some("latest"));
        // From an owned string too.
        let value = serde_json::Value::String(format!("{BASE}:!prod"));
        let urn: FunctionUrn = serde_json::from_value(value).unwrap();
        assert_eq!(urn.alias(), Some("prod"));

        let err = serde_json::from_str::<FunctionUrn>(&format!("\"{BASE}:latest:x\"")).unwrap_err();
        assert!(err.to_string().contains("unexpected text after the version"), "{err}");
        let err = serde_json::from_str::<FunctionUrn>("42").unwrap_err();
        assert!(err.to_string().contains("function URN string"), "{err}");
    }

    #[test]
    fn round_trips_in_structs() {
        let urns = vec![parse(BASE), parse(&format!("{BASE}:v1"))];
        let json = serde_json::to_string(&urns).unwrap();
        let back: Vec<FunctionUrn> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, urns);
    }
}
