//! Property tests: what a client signs, a server verifies, however the request's path and
//! query are (equivalently) encoded on the way; and any change to a signed part of the
//! request makes verification fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fgs_signing::{
    Authorization, CONTENT_SHA256, SDK_DATE, SigningErrorKind, UNSIGNED_PAYLOAD, VerifyError, VerifyInput,
    format_sdk_date, parse_sdk_date, sign, verify,
};
use http::header::{AUTHORIZATION, HOST};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::Config;

/// Cases per property; the whole file runs in a few seconds in debug.
fn config(cases: u32) -> Config {
    Config {
        cases,
        // Never write `proptest-regressions/` into the source tree (CI only checks).
        failure_persistence: None,
        ..Config::default()
    }
}

const HOST_NAME: &str = "functiongraph.cn-north-4.myhuaweicloud.com";

/// A request as the client builds it, before encoding.
#[derive(Clone, Debug)]
struct Request {
    method: Method,
    /// Decoded path segments (no `/` inside).
    segments: Vec<String>,
    /// Decoded query pairs; `None` is a key without `=`.
    query: Vec<(String, Option<String>)>,
    /// Header names as written (any case) and values (UTF-8, possibly padded).
    headers: Vec<(String, String)>,
    host: bool,
    unsigned_payload: bool,
    body: Vec<u8>,
    /// Seconds since the epoch of `X-Sdk-Date`.
    time: i64,
    access_key: String,
    secret_key: Vec<u8>,
}

/// How to write one request on the wire: the seeds for literal-or-escaped choices, the hex case
/// of escapes, the order of query pairs and the case of header names.
#[derive(Clone, Debug)]
struct Encoding {
    choices: Vec<u8>,
    query_order: Vec<Index>,
}

impl Encoding {
    fn choice(&self, n: usize) -> u8 {
        self.choices[n % self.choices.len()]
    }
}

fn encoding() -> impl Strategy<Value = Encoding> {
    (
        prop::collection::vec(any::<u8>(), 1..32),
        prop::collection::vec(any::<Index>(), 0..8),
    )
        .prop_map(|(choices, query_order)| Encoding { choices, query_order })
}

/// Bytes `http` accepts literally in a path (see `http::uri::path`), minus `%` and `/`, whose
/// literal form would mean something else.
fn path_literal(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x24..=0x3B | 0x3D | 0x40..=0x5F | 0x61..=0x7A | 0x7C | 0x7E) && !b"%/".contains(&byte)
}

/// Bytes `http` accepts literally in a query, minus `%`, `&` and `=`.
fn query_literal(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x24..=0x3B | 0x3D | 0x3F..=0x7E) && !b"%&=".contains(&byte)
}

/// Writes `text` with each character either literal (where allowed, non-ASCII included) or
/// percent-encoded with upper- or lowercase hex digits, as `encoding` chooses.
fn encode(text: &str, literal: fn(u8) -> bool, encoding: &Encoding, counter: &mut usize) -> String {
    let mut out = String::new();
    for ch in text.chars() {
        *counter += 1;
        let choice = encoding.choice(*counter);
        let allowed = if ch.is_ascii() { literal(ch as u8) } else { true };
        if allowed && choice % 3 != 0 {
            out.push(ch);
        } else {
            let mut buf = [0; 4];
            for byte in ch.encode_utf8(&mut buf).bytes() {
                if choice % 2 == 0 {
                    out.push_str(&format!("%{byte:02X}"));
                } else {
                    out.push_str(&format!("%{byte:02x}"));
                }
            }
        }
    }
    out
}

impl Request {
    fn sdk_date(&self) -> String {
        format_sdk_date(system_time(self.time))
    }

    fn path_and_query(&self, encoding: &Encoding) -> PathAndQuery {
        let mut counter = 0;
        let mut text = String::new();
        for segment in &self.segments {
            text.push('/');
            text.push_str(&encode(segment, path_literal, encoding, &mut counter));
        }
        if text.is_empty() {
            text.push('/');
        }
        let mut pairs: Vec<_> = self.query.iter().collect();
        for (i, index) in encoding.query_order.iter().enumerate() {
            if !pairs.is_empty() {
                let (len, j) = (pairs.len(), index.index(pairs.len()));
                pairs.swap(i % len, j);
            }
        }
        for (i, (key, value)) in pairs.into_iter().enumerate() {
            text.push(if i == 0 { '?' } else { '&' });
            text.push_str(&encode(key, query_literal, encoding, &mut counter));
            if let Some(value) = value {
                text.push('=');
                text.push_str(&encode(value, query_literal, encoding, &mut counter));
            }
        }
        text.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    /// The headers the client signs (everything but `Authorization`).
    fn client_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        if self.host {
            headers.insert(HOST, HeaderValue::from_static(HOST_NAME));
        }
        if self.unsigned_payload {
            headers.insert(CONTENT_SHA256, HeaderValue::from_static(UNSIGNED_PAYLOAD));
        }
        headers.insert(SDK_DATE, HeaderValue::from_str(&self.sdk_date()).unwrap());
        headers
    }

    fn client_uri(&self, encoding: &Encoding) -> Uri {
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(Scheme::HTTPS);
        parts.authority = Some(Authority::from_static(HOST_NAME));
        parts.path_and_query = Some(self.path_and_query(encoding));
        Uri::from_parts(parts).unwrap()
    }

    fn sign(&self, encoding: &Encoding) -> fgs_signing::Signed {
        sign(
            &self.method,
            &self.client_uri(encoding),
            &self.client_headers(),
            &self.body,
            &self.access_key,
            &self.secret_key,
            &self.sdk_date(),
        )
        .unwrap_or_else(|e| panic!("signing failed: {e}"))
    }

    /// Verifies `authorization` against this request as a server receives it: the origin-form
    /// target written with `encoding`, header values without the surrounding spaces and tabs an
    /// HTTP/1 parser strips, names in whatever case, and the `Authorization` header added.
    fn verify(&self, authorization: &str, encoding: &Encoding, now: SystemTime) -> Result<(), VerifyError> {
        let mut parts = http::uri::Parts::default();
        parts.path_and_query = Some(self.path_and_query(encoding));
        let uri = Uri::from_parts(parts).unwrap();
        let mut headers = HeaderMap::new();
        for (i, (name, value)) in self.client_headers().iter().enumerate() {
            let name = if encoding.choice(i) % 2 == 0 {
                name.as_str().to_ascii_uppercase()
            } else {
                name.as_str().to_owned()
            };
            let value = value.as_bytes().trim_ascii_start().trim_ascii_end();
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        headers.insert(AUTHORIZATION, HeaderValue::from_str(authorization).unwrap());
        let authorization = Authorization::parse(headers[AUTHORIZATION].to_str().unwrap()).unwrap();
        let input = VerifyInput {
            method: &self.method,
            uri: &uri,
            headers: &headers,
            body: &self.body,
            authorization: &authorization,
        };
        verify(&input, &self.secret_key, now)
    }
}

fn system_time(seconds: i64) -> SystemTime {
    let magnitude = Duration::from_secs(seconds.unsigned_abs());
    if seconds >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

/// 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z, the dates `X-Sdk-Date` can write.
const FIRST_SECOND: i64 = -62_167_219_200;
const LAST_SECOND: i64 = 253_402_300_799;

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        select(vec![
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::HEAD
        ]),
        "[A-Za-z]{1,10}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ]
}

/// Path segment text: punctuation that URLs treat specially, spaces, `%`, Unicode.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9!%: ~._-]{0,10}",
        "urn:fss:[a-z0-9-]{2,8}:[0-9a-f]{4}:function:default:[a-z]{1,5}(:!?[a-z]{1,4})?",
        "[^/]{0,6}",
        "[!%: é😀+]{1,4}",
    ]
}

fn query_text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z]{0,3}", "[a-zA-Z0-9!%:=&+/? é~._-]{0,8}", "\\PC{0,5}"]
}

fn query() -> impl Strategy<Value = Vec<(String, Option<String>)>> {
    let key = prop_oneof![
        select(vec!["a", "k", "key", "x-y", ""]).prop_map(str::to_owned),
        query_text()
    ];
    let value = prop_oneof![Just(None), Just(Some(String::new())), query_text().prop_map(Some)];
    prop::collection::vec((key, value), 0..6)
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "Content-Type",
            "X-Project-Id",
            "x-custom",
            "X-CUSTOM",
            "X_Private",
            "x-security-token"
        ])
        .prop_map(str::to_owned),
        "[A-Za-z][A-Za-z0-9_-]{0,12}",
    ]
    .prop_filter("set by the test", |name| {
        !["x-sdk-date", "x-sdk-content-sha256", "authorization", "host"].contains(&name.to_ascii_lowercase().as_str())
    })
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{0,16}", "[ \t]{0,2}[a-z,;=]{1,6}[ \t]{0,2}", "\\PC{0,8}"]
}

fn request() -> impl Strategy<Value = Request> {
    (
        (method(), prop::collection::vec(segment(), 1..5), query()),
        prop::collection::vec((header_name(), header_value()), 1..6),
        (
            any::<bool>(),
            prop::bool::weighted(0.2),
            prop::collection::vec(any::<u8>(), 0..64),
        ),
        (
            FIRST_SECOND..=LAST_SECOND,
            "[A-Za-z0-9]{1,40}",
            "[A-Za-z0-9+/=]{1,64}".prop_map(String::into_bytes),
        ),
    )
        .prop_map(
            |((method, segments, query), headers, (host, unsigned_payload, body), (time, access_key, secret_key))| {
                Request {
                    method,
                    segments,
                    query,
                    headers,
                    host,
                    unsigned_payload,
                    body,
                    time,
                    access_key,
                    secret_key,
                }
            },
        )
}

/// A clock within the allowed skew of `time` (at most 15 minutes either way).
fn now_near(time: i64, offset: i64) -> SystemTime {
    system_time(time + offset)
}

/// A change to one part of a request.
#[derive(Clone, Debug)]
enum Change {
    Method(Method),
    PathSegment(Index, String),
    QueryValue(Index, String),
    HeaderValue(Index, String),
    Body(Vec<u8>),
    /// Seconds added to `X-Sdk-Date`.
    Date(i64),
    SecretKey(Vec<u8>),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        method().prop_map(Change::Method),
        (any::<Index>(), segment()).prop_map(|(i, s)| Change::PathSegment(i, s)),
        (any::<Index>(), query_text()).prop_map(|(i, s)| Change::QueryValue(i, s)),
        (any::<Index>(), header_value()).prop_map(|(i, s)| Change::HeaderValue(i, s)),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Change::Body),
        prop_oneof![-900..=-1i64, 1..=900i64].prop_map(Change::Date),
        "[A-Za-z0-9+/=]{1,64}".prop_map(|k| Change::SecretKey(k.into_bytes())),
    ]
}

/// Applies `change`; returns whether the change touches a signed part of the request (an
/// unsigned header, or the body under `UNSIGNED-PAYLOAD`, may change freely), or `None` if
/// it changes nothing the canonical form sees.
fn apply(request: &mut Request, change: &Change) -> Option<bool> {
    match change {
        Change::Method(method) => {
            let differs = !method.as_str().eq_ignore_ascii_case(request.method.as_str());
            request.method = method.clone();
            differs.then_some(true)
        }
        Change::PathSegment(index, segment) => {
            let old = {
                let i = index.index(request.segments.len());
                &mut request.segments[i]
            };
            let differs = old != segment && !segment.contains('/');
            *old = segment.clone();
            differs.then_some(true)
        }
        Change::QueryValue(index, value) => {
            if request.query.is_empty() {
                request.query.push(("k".to_owned(), Some(value.clone())));
                return Some(true);
            }
            let (_, old) = {
                let i = index.index(request.query.len());
                &mut request.query[i]
            };
            let differs = old.as_deref().unwrap_or_default() != value;
            *old = Some(value.clone());
            differs.then_some(true)
        }
        Change::HeaderValue(index, value) => {
            let (name, old) = {
                let i = index.index(request.headers.len());
                &mut request.headers[i]
            };
            let differs = old.trim() != value.trim();
            *old = value.clone();
            differs.then_some(!name.contains('_'))
        }
        Change::Body(body) => {
            let differs = *body != request.body;
            request.body = body.clone();
            differs.then_some(!request.unsigned_payload)
        }
        Change::Date(seconds) => {
            let time = request.time + seconds;
            let differs = (FIRST_SECOND..=LAST_SECOND).contains(&time);
            request.time = time;
            differs.then_some(true)
        }
        Change::SecretKey(key) => {
            let differs = *key != request.secret_key;
            request.secret_key = key.clone();
            differs.then_some(true)
        }
    }
}

proptest! {
    #![proptest_config(config(192))]

    /// A signed request verifies, whichever equivalent encoding of its path and query and order
    /// of its query pairs the server sees, at any time within the allowed clock skew.
    #[test]
    fn signed_requests_verify(
        request in request(),
        client in encoding(),
        server in encoding(),
        offset in -900..=900i64,
    ) {
        let signed = request.sign(&client);
        let mut expected: Vec<String> = request
            .client_headers()
            .keys()
            .map(|name| name.as_str().to_owned())
            .filter(|name| !name.contains('_'))
            .collect();
        expected.sort();
        prop_assert_eq!(&signed.signed_headers, &expected);
        let now = now_near(request.time, offset);
        let result = request.verify(&signed.authorization, &server, now);
        prop_assert!(result.is_ok(), "{:?}\nsigned:\n{}", result, signed.canonical_request);
    }

    /// Changing a signed part (method, a path segment, a query value, a signed header value, the
    /// body, the date, the secret key) after signing makes verification fail with a signature
    /// mismatch; changing an unsigned header, or the body under `UNSIGNED-PAYLOAD`, does not.
    #[test]
    fn changed_requests_do_not_verify(
        request in request(),
        client in encoding(),
        server in encoding(),
        change in change(),
    ) {
        let signed = request.sign(&client);
        let mut changed = request.clone();
        let Some(signed_part) = apply(&mut changed, &change) else {
            return Err(TestCaseError::reject("the change changes nothing"));
        };
        let now = system_time(changed.time);
        let result = changed.verify(&signed.authorization, &server, now);
        if signed_part {
            prop_assert!(
                matches!(result, Err(VerifyError::SignatureMismatch { .. })),
                "{:?} after {:?}\nsigned:\n{}", result, change, signed.canonical_request
            );
        } else {
            prop_assert!(result.is_ok(), "{:?} after {:?}", result, change);
        }
    }

    /// A request whose date is more than 15 minutes from the server's clock is too old (or too
    /// new), even with a valid signature.
    #[test]
    fn dates_beyond_the_skew_are_rejected(
        request in request(),
        encoding in encoding(),
        offset in prop_oneof![901..=100_000i64, -100_000..=-901i64],
    ) {
        let signed = request.sign(&encoding);
        let result = request.verify(&signed.authorization, &encoding, now_near(request.time, offset));
        prop_assert!(matches!(result, Err(VerifyError::ClockSkew { .. })), "{:?}", result);
    }

    /// Removing a signed header makes the request malformed.
    #[test]
    fn a_removed_signed_header_is_malformed(request in request(), encoding in encoding(), index in any::<Index>()) {
        let signed = request.sign(&encoding);
        let mut changed = request.clone();
        let name = changed.headers[index.index(changed.headers.len())].0.to_ascii_lowercase();
        prop_assume!(!name.contains('_'));
        changed.headers.retain(|(other, _)| other.to_ascii_lowercase() != name);
        let result = changed.verify(&signed.authorization, &encoding, system_time(request.time));
        match result {
            Err(VerifyError::Malformed(error)) => prop_assert_eq!(error.kind(), SigningErrorKind::MissingSignedHeader),
            other => prop_assert!(false, "{:?}", other),
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// `X-Sdk-Date` values and times convert both ways, over all the years the format can write.
    #[test]
    fn sdk_dates_round_trip(seconds in FIRST_SECOND..=LAST_SECOND, nanos in 0..1_000_000_000u32) {
        let time = system_time(seconds);
        let text = format_sdk_date(time + Duration::from_nanos(u64::from(nanos)));
        prop_assert_eq!(text.len(), 16);
        prop_assert_eq!(parse_sdk_date(&text).unwrap(), time);
        prop_assert_eq!(format_sdk_date(time), text);
    }

    /// Any access key that `sign` accepts can be sent in an `Authorization` header and is read
    /// back unchanged.
    #[test]
    fn accepted_access_keys_survive_the_header(access_key in prop_oneof![any::<String>(), "[ -~]{1,12}"]) {
        let mut request = Request {
            method: Method::POST,
            segments: vec!["v2".to_owned()],
            query: Vec::new(),
            headers: Vec::new(),
            host: true,
            unsigned_payload: false,
            body: Vec::new(),
            time: 1_704_110_400,
            access_key: String::new(),
            secret_key: b"secret".to_vec(),
        };
        request.access_key = access_key;
        let encoding = Encoding { choices: vec![1], query_order: Vec::new() };
        let uri = request.client_uri(&encoding);
        let result = sign(&request.method, &uri, &request.client_headers(), b"", &request.access_key,
            &request.secret_key, &request.sdk_date());
        if let Ok(signed) = result {
            let value = HeaderValue::from_str(&signed.authorization);
            prop_assert!(value.is_ok(), "{:?} gives the unsendable {:?}", request.access_key, signed.authorization);
            let value = value.unwrap();
            let text = value.to_str();
            prop_assert!(text.is_ok(), "{:?} gives the unreadable {:?}", request.access_key, signed.authorization);
            let parsed = Authorization::parse(text.unwrap()).unwrap();
            prop_assert_eq!(&parsed.access_key, &request.access_key);
            prop_assert!(request.verify(&signed.authorization, &encoding, system_time(request.time)).is_ok());
        }
    }
}
