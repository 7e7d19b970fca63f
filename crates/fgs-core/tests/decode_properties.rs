//! Property tests of the invoke response decoder (issue 10, §1 and §9): whatever a server
//! answers (any status, the declared headers and others with any bytes a header can hold,
//! any body), `send()` returns `Ok` or a typed `Error` without panicking; a 2xx whose body
//! holds a result keeps it; every error gives one answer to "may this run twice?"; and an
//! error keeps a bounded prefix of the body.
//!
//! Each case goes through a real `Client` whose `ReplayTransport` answers with the
//! generated response, so the whole path (`attempt`, header readers, `InvokeOutput::decode`)
//! runs; nothing touches the network.

#![cfg(feature = "test-util")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fgs_core::auth::StaticToken;
use fgs_core::bytes::Bytes;
use fgs_core::error::Execution;
use fgs_core::generated::error_codes::ERROR_CODES;
use fgs_core::http::{self, HeaderMap, HeaderName, HeaderValue, StatusCode};
use fgs_core::retry::{NoRetry, Retryability, classify};
use fgs_core::test_util::{Replay, ReplayTransport};
use fgs_core::{Client, Error, FunctionUrn, InvokeOutput, ResponseVersion};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;

const URN: &str = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest";

/// The longest `Display` of an error, in characters. `printable` cuts each server-sent part
/// at 1,000 characters, and a message shows up to three of them (a service error's code,
/// message and request id; a raised error's type, message and request id), so the bound is
/// about 3 × 1,000 plus the words around them (3,030 at most today; see
/// `long_server_text_is_cut_in_every_message`).
const MAX_DISPLAY_CHARS: usize = 3100;

/// Cases per property; the whole file runs in a few seconds in debug.
fn config(cases: u32) -> Config {
    Config {
        cases,
        // Never write `proptest-regressions/` into the source tree (CI only checks).
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------
// The call
// ---------------------------------------------------------------------------------------

/// Invokes through a client whose transport answers with `response`, on a runtime of its
/// own (proptest bodies are synchronous).
fn invoke(
    response: http::Response<Bytes>,
    requested: &ResponseVersion,
    max_response_bytes: Option<u64>,
) -> Result<InvokeOutput, Error> {
    let replay = ReplayTransport::new([Replay::response(response)]);
    let client = Client::builder()
        .endpoint_url("http://127.0.0.1:9")
        .auth(StaticToken::new("t"))
        .retry_policy(NoRetry)
        .transport(replay.clone())
        .build()
        .unwrap();
    let urn: FunctionUrn = URN.parse().unwrap();
    let mut call = client.invoke(&urn).response_version(requested.clone());
    if let Some(limit) = max_response_bytes {
        call = call.max_response_bytes(limit);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime.block_on(call.send());
    // One answer, one request: no retry, and no re-send after a 401 (a static token is
    // never renewed).
    assert_eq!(replay.requests().len(), 1, "{outcome:?}");
    outcome
}

fn response(status: u16, headers: &HeaderMap, body: &[u8]) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::copy_from_slice(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    *response.headers_mut() = headers.clone();
    response
}

/// The format the decoder must read the body in: what `X-Cff-Response-Version` says when
/// it says `v0` or `v1` (its first value, trimmed), else what the call asked for.
fn effective_version(headers: &HeaderMap, requested: &ResponseVersion) -> ResponseVersion {
    let said = headers
        .get("x-cff-response-version")
        .and_then(|value| std::str::from_utf8(value.as_bytes()).ok())
        .map(str::trim);
    match said {
        Some("v0") => ResponseVersion::V0,
        Some("v1") => ResponseVersion::V1,
        _ => requested.clone(),
    }
}

// ---------------------------------------------------------------------------------------
// What every outcome must satisfy
// ---------------------------------------------------------------------------------------

/// Printable and bounded `Display`, and one answer to "may this run twice?".
fn check_error(error: &Error, status: StatusCode) -> Result<(), TestCaseError> {
    let shown = error.to_string();
    prop_assert!(
        !shown.chars().any(char::is_control),
        "control character in the error text {shown:?}"
    );
    let chars = shown.chars().count();
    prop_assert!(
        chars < MAX_DISPLAY_CHARS,
        "the error text is {chars} characters: {shown:?}"
    );
    // Neither may panic.
    let _ = format!("{error:?}");
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        let _ = inner.to_string();
        source = inner.source();
    }

    prop_assert_eq!(error.is_retry_safe(), error.execution() == Execution::NotRun);
    let class = classify(error);
    if class == Retryability::NotExecuted {
        prop_assert!(error.is_retry_safe(), "{error:?} is classified {class:?}");
    }
    prop_assert_eq!(
        class == Retryability::NotExecuted,
        error.is_retry_safe() && error.is_transient()
    );
    if status.is_success() {
        // A 2xx means the function ran, whatever could not be read afterwards.
        prop_assert!(!error.is_retry_safe(), "{error:?} after HTTP {status}");
        prop_assert_eq!(error.execution(), Execution::Ran);
    }
    Ok(())
}

/// The typed outcome of a response with `status`, and the invariants of each.
fn check_outcome(outcome: &Result<InvokeOutput, Error>, status: u16) -> Result<(), TestCaseError> {
    let status = StatusCode::from_u16(status).unwrap();
    match outcome {
        Ok(output) => {
            // Only the documented success status is a success.
            prop_assert_eq!(output.status(), StatusCode::OK);
            prop_assert_eq!(status, StatusCode::OK);
            check_output(output)?;
        }
        Err(error) => {
            match error {
                Error::Service(service) => {
                    prop_assert!(status.is_client_error() || status.is_server_error());
                    prop_assert_eq!(service.status(), status);
                    prop_assert_eq!(service.operation(), "invokeFunction");
                    let _ = (
                        service.code(),
                        service.raw_code(),
                        service.catalogue(),
                        service.retry_after(),
                    );
                }
                Error::Decode(decode) => {
                    prop_assert!(!(status.is_client_error() || status.is_server_error()));
                    prop_assert_eq!(decode.status(), Some(status));
                    prop_assert_eq!(decode.function_ran(), status.is_success());
                }
                Error::ResponseTooLarge(_) => {}
                other => prop_assert!(false, "HTTP {status} gave an untyped outcome {other:?}"),
            }
            prop_assert_eq!(error.status(), Some(status));
            check_error(error, status)?;
        }
    }
    Ok(())
}

/// Every accessor of a successful output works, and every error one returns is as
/// well-behaved as an error of `send`.
fn check_output(output: &InvokeOutput) -> Result<(), TestCaseError> {
    let _ = format!("{output:?}");
    let _ = (output.headers(), output.typed_headers(), output.response_version());
    let _ = (output.request_id(), output.result(), output.log(), output.summary());
    let _ = (
        output.summary_raw(),
        output.billing_duration_header(),
        output.function_status(),
    );
    let _ = (output.is_function_error(), output.function_error_code());
    for problem in output.problems() {
        let shown = problem.to_string();
        prop_assert!(!shown.chars().any(char::is_control), "{shown:?}");
    }
    let ok = StatusCode::OK;
    let errors = [
        output.result_str().err(),
        output.result_json::<serde_json::Value>().err(),
        output.function_error().err(),
        output.api_gateway_response().err(),
        output.clone().into_result::<serde_json::Value>().err(),
        output.clone().into_api_gateway_result::<serde_json::Value>().err(),
    ];
    for error in errors.iter().flatten() {
        check_error(error, ok)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// JSON, written by hand so that it can have duplicate keys, every escape and hostile tokens
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A token as written: out-of-range numbers, lone surrogates, syntax errors.
    Raw(&'static str),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

const HOSTILE_TOKENS: &[&str] = &[
    r#""\ud800""#,
    r#""\udc00\u0041""#,
    r#""\ud83d\ude00""#,
    r#""\u0000\u001b[31m""#,
    r#""\x""#,
    "1e400",
    "-0",
    "18446744073709551616",
    "-9223372036854775809",
    "2147483648",
    "1.0",
    "NaN",
    "Infinity",
    "0123",
    ".5",
    "tru",
    "[",
    "}",
    "\"unterminated",
    "\u{feff}null",
];

/// How to write a document: escapes, spacing. An empty list writes it plainly.
#[derive(Clone, Debug)]
struct Style {
    choices: Vec<u8>,
    next: usize,
}

impl Style {
    fn new(choices: Vec<u8>) -> Self {
        Style { choices, next: 0 }
    }

    fn choice(&mut self) -> u8 {
        if self.choices.is_empty() {
            return 0;
        }
        let choice = self.choices[self.next % self.choices.len()];
        self.next += 1;
        choice
    }

    fn space(&mut self, out: &mut String) {
        match self.choice() % 8 {
            5 => out.push(' '),
            6 => out.push_str("\n  "),
            7 => out.push_str(" \t\r\n"),
            _ => {}
        }
    }
}

fn write_string(text: &str, style: &mut Style, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        let choice = style.choice();
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' if choice % 2 == 0 => out.push_str("\\n"),
            '\t' if choice % 2 == 0 => out.push_str("\\t"),
            '\r' if choice % 2 == 0 => out.push_str("\\r"),
            '\u{8}' if choice % 2 == 0 => out.push_str("\\b"),
            '\u{c}' if choice % 2 == 0 => out.push_str("\\f"),
            '/' if choice % 4 == 1 => out.push_str("\\/"),
            c if (c as u32) < 0x20 || choice % 4 == 2 => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    if choice & 0x10 == 0 {
                        out.push_str(&format!("\\u{unit:04x}"));
                    } else {
                        out.push_str(&format!("\\u{unit:04X}"));
                    }
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_json(value: &Json, style: &mut Style, out: &mut String) {
    style.space(out);
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Int(i) => out.push_str(&i.to_string()),
        // Debug writes `1e300` and `0.1`, both JSON; a non-finite float is never generated.
        Json::Float(f) => out.push_str(&format!("{f:?}")),
        Json::Str(text) => write_string(text, style, out),
        Json::Raw(token) => out.push_str(token),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, style, out);
            }
            style.space(out);
            out.push(']');
        }
        Json::Object(fields) => {
            out.push('{');
            for (i, (key, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                style.space(out);
                write_string(key, style, out);
                style.space(out);
                out.push(':');
                write_json(item, style, out);
            }
            style.space(out);
            out.push('}');
        }
    }
    style.space(out);
}

fn render(value: &Json, choices: Vec<u8>) -> Vec<u8> {
    let mut out = String::new();
    write_json(value, &mut Style::new(choices), &mut out);
    out.into_bytes()
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

/// Any text, control characters included; now and then long enough to test bounds.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => vec(any::<char>(), 0..16).prop_map(String::from_iter),
        // Long text is a short one repeated: cheap to generate and to shrink.
        1 => (vec(any::<char>(), 1..8), 0..2500usize).prop_map(|(chars, len)| chars.iter().cycle().take(len).collect()),
    ]
}

const KNOWN_KEYS: &[&str] = &[
    "result",
    "request_id",
    "log",
    "status",
    "error_code",
    "error_msg",
    "errorCode",
    "errorMsg",
    "code",
    "message",
    "statusCode",
    "isBase64Encoded",
    "body",
    "headers",
    "errorType",
    "errorMessage",
    "stackTrace",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        select(KNOWN_KEYS).prop_map(str::to_owned),
        vec(any::<char>(), 0..8).prop_map(String::from_iter),
    ]
}

/// Any JSON value; with `hostile`, tokens that are not JSON or that parsers disagree on.
fn json_value(hostile: bool) -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::Int),
        any::<f64>().prop_map(|f| if f.is_finite() { Json::Float(f) } else { Json::Null }),
        text().prop_map(Json::Str),
    ];
    let leaf = if hostile {
        prop_oneof![6 => leaf, 1 => select(HOSTILE_TOKENS).prop_map(Json::Raw)].boxed()
    } else {
        leaf.boxed()
    };
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Json::Array),
            vec((key(), inner), 0..4).prop_map(Json::Object),
        ]
    })
    .boxed()
}

/// An error body as the service or a gateway writes it, with a code from the catalogue
/// (at its own status) or any other.
fn error_body() -> impl Strategy<Value = (Option<u16>, Json)> {
    let code = prop_oneof![
        select(ERROR_CODES).prop_map(|info| (Some(info.status), Json::Str(info.code.to_owned()))),
        json_value(true).prop_map(|code| (None, code)),
    ];
    let names = select(
        &[
            ("error_code", "error_msg"),
            ("errorCode", "errorMsg"),
            ("code", "message"),
        ][..],
    );
    (code, names, json_value(true), proptest::option::of(json_value(true))).prop_map(
        |((status, code), (code_key, message_key), message, request_id)| {
            let mut fields = vec![(code_key.to_owned(), code), (message_key.to_owned(), message)];
            if let Some(id) = request_id {
                fields.push(("request_id".to_owned(), id));
            }
            (status, Json::Object(fields))
        },
    )
}

/// A v1 envelope with any values in any field, duplicates included.
fn envelope_like() -> impl Strategy<Value = Json> {
    vec((key(), json_value(true)), 0..6).prop_map(Json::Object)
}

const ODD_BODIES: &[&str] = &[
    "",
    " ",
    "null",
    "\"\"",
    "{}",
    "[]",
    "{\"result\":",
    "{\"result\":null}",
    "{\"result\":\"\"}",
    "{\"result\":\"x\"}garbage",
    "{\"result\":\"x\"}\n{\"result\":\"y\"}",
    "<html><body><h1>502 Bad Gateway</h1></body></html>",
    "\u{feff}{\"result\":\"x\"}",
];

/// Any body: random bytes, JSON of every shape, JSON cut short or with a stray byte.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let document = prop_oneof![
        3 => json_value(true),
        3 => envelope_like(),
        2 => error_body().prop_map(|(_, body)| body),
    ];
    let rendered = (document, vec(any::<u8>(), 0..16)).prop_map(|(value, choices)| render(&value, choices));
    prop_oneof![
        3 => vec(any::<u8>(), 0..256),
        6 => rendered.clone(),
        2 => (rendered, any::<prop::sample::Index>(), any::<u8>(), any::<bool>()).prop_map(
            |(mut bytes, at, byte, cut)| {
                if !bytes.is_empty() {
                    let at = at.index(bytes.len());
                    if cut {
                        bytes.truncate(at);
                    } else {
                        bytes.insert(at, byte);
                    }
                }
                bytes
            }
        ),
        1 => select(ODD_BODIES).prop_map(|body| body.as_bytes().to_vec()),
    ]
}

/// Every response header the API description declares, and those the client reads.
const DECLARED_HEADERS: &[&str] = &[
    "X-Cff-Request-Id",
    "X-Cff-Invoke-Summary",
    "X-Cff-Function-Log",
    "X-CFF-Billing-Duration",
    "X-Cff-Response-Version",
    "X-Func-Err-Code",
    "X-Is-Func-Err",
    "X-Request-Id",
    "Content-Type",
    "Retry-After",
    "Location",
];

fn header_name() -> impl Strategy<Value = HeaderName> {
    prop_oneof![
        4 => select(DECLARED_HEADERS).prop_map(str::to_owned),
        1 => "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,24}",
    ]
    .prop_map(|name| HeaderName::from_bytes(name.as_bytes()).unwrap())
}

/// Values that mean something to one of the declared headers, or nearly do.
const PLAUSIBLE_VALUES: &[&str] = &[
    "",
    "true",
    "false",
    "TRUE",
    "1",
    "0",
    " 0 ",
    "yes",
    "null",
    "v0",
    "v1",
    " v1 ",
    "V1",
    "v2",
    r#"{"duration":1.5,"billingDuration":2,"memorySize":128,"memoryUsed":31.2}"#,
    r#"{"duration":"fast"}"#,
    "not json {",
    "aGVsbG8=",
    "aGVsbG8",
    "/w==",
    "8J+YgA==",
    "!!!",
    "120",
    "99999999999",
    "99999999999999999999999",
    "-1",
    "1e400",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "Thu, 01 Jan 2099 00:00:00 GMT",
    "application/json",
    "text/plain; charset=utf-8",
    "text/html",
    "https://fgs.example.com/elsewhere",
    "/relative",
];

/// Bytes a header value may hold (`HeaderValue::from_bytes` accepts them): visible ASCII,
/// space, tab and any byte from 0x80, so invalid UTF-8 too.
fn sanitise(mut bytes: Vec<u8>) -> Vec<u8> {
    for byte in &mut bytes {
        if (*byte < 0x20 && *byte != b'\t') || *byte == 0x7f {
            *byte = b' ';
        }
    }
    bytes
}

fn header_value() -> impl Strategy<Value = HeaderValue> {
    let byte = prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff];
    prop_oneof![
        4 => vec(byte.clone(), 0..48),
        4 => select(PLAUSIBLE_VALUES).prop_map(|value| value.as_bytes().to_vec()),
        2 => (json_value(true), vec(any::<u8>(), 0..8)).prop_map(|(value, choices)| render(&value, choices)),
        1 => text().prop_map(String::into_bytes),
        1 => (vec(byte, 1..8), 0..3000usize).prop_map(|(bytes, len)| bytes.iter().cycle().take(len).copied().collect()),
    ]
    .prop_map(|bytes| HeaderValue::from_bytes(&sanitise(bytes)).unwrap())
}

fn headers() -> impl Strategy<Value = HeaderMap> {
    vec((header_name(), header_value()), 0..8).prop_map(|pairs| {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name, value);
        }
        map
    })
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => Just(200u16),
        1 => select(&[201u16, 202, 204, 206, 301, 302, 307, 308, 400, 401, 403, 404, 406, 413, 429, 500, 502, 503, 504][..]),
        2 => 100u16..=599,
    ]
}

fn requested_version() -> impl Strategy<Value = ResponseVersion> {
    prop_oneof![Just(ResponseVersion::V0), Just(ResponseVersion::V1)]
}

/// A whole response; error bodies from the catalogue come with their own status.
fn any_response() -> impl Strategy<Value = (u16, HeaderMap, Vec<u8>)> {
    prop_oneof![
        4 => (status(), headers(), body()),
        1 => (error_body(), status(), headers(), vec(any::<u8>(), 0..16)).prop_map(
            |((catalogued, body), status, headers, choices)| {
                (catalogued.unwrap_or(status), headers, render(&body, choices))
            }
        ),
    ]
}

// ---------------------------------------------------------------------------------------
// Property 1: no panic, a typed outcome, a printable bounded message
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn any_response_gives_a_typed_outcome(
        (status, headers, body) in any_response(),
        requested in requested_version(),
    ) {
        let outcome = invoke(response(status, &headers, &body), &requested, None);
        check_outcome(&outcome, status)?;
    }
}

/// The worst case of the bound: every server-sent part of a message at its longest.
#[test]
fn long_server_text_is_cut_in_every_message() {
    let long = |c: char| c.to_string().repeat(5000);
    let body = serde_json::json!({"error_code": long('c'), "error_msg": long('m'), "request_id": long('r')});
    let outcome = invoke(
        response(500, &HeaderMap::new(), body.to_string().as_bytes()),
        &ResponseVersion::V1,
        None,
    );
    check_outcome(&outcome, 500).unwrap();

    let result = serde_json::json!({"errorType": long('t'), "errorMessage": long('m')}).to_string();
    let body = serde_json::json!({"result": result, "request_id": long('r')});
    let mut headers = HeaderMap::new();
    headers.insert("x-is-func-err", HeaderValue::from_static("true"));
    let outcome = invoke(
        response(200, &headers, body.to_string().as_bytes()),
        &ResponseVersion::V1,
        None,
    );
    let raised = outcome.unwrap().into_result::<serde_json::Value>().unwrap_err();
    assert!(matches!(raised, Error::Function(_)), "{raised:?}");
    check_error(&raised, StatusCode::OK).unwrap();
}

// ---------------------------------------------------------------------------------------
// Property 2: a finished invoke keeps its result
// ---------------------------------------------------------------------------------------

const ENVELOPE_FIELDS: &[&str] = &["result", "request_id", "log", "status"];

/// A v1 envelope whose `result` is a string (`None`: `null`), with any JSON in the
/// informational fields and any extra fields, in any order.
#[derive(Clone, Debug)]
struct Envelope {
    result: Option<String>,
    request_id: Option<Json>,
    log: Option<Json>,
    status: Option<Json>,
    fields: Vec<(String, Json)>,
}

fn envelope() -> impl Strategy<Value = Envelope> {
    let extra_key = key().prop_filter("an extra field", |key| !ENVELOPE_FIELDS.contains(&key.as_str()));
    let informational = (
        proptest::option::of(json_value(false)),
        proptest::option::of(json_value(false)),
        proptest::option::of(json_value(false)),
        vec((extra_key, json_value(false)), 0..4),
    );
    (proptest::option::of(text()), informational).prop_flat_map(|(result, (request_id, log, status, extras))| {
        let mut fields = vec![("result".to_owned(), result.clone().map_or(Json::Null, Json::Str))];
        for (name, value) in [("request_id", &request_id), ("log", &log), ("status", &status)] {
            if let Some(value) = value {
                fields.push((name.to_owned(), value.clone()));
            }
        }
        fields.extend(extras);
        let envelope = Envelope {
            result,
            request_id,
            log,
            status,
            fields: Vec::new(),
        };
        (Just(envelope), Just(fields).prop_shuffle()).prop_map(|(envelope, fields)| Envelope { fields, ..envelope })
    })
}

/// The first value of `name`, trimmed, when it is UTF-8.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?;
    Some(std::str::from_utf8(value.as_bytes()).ok()?.trim().to_owned())
}

fn output_of(outcome: Result<InvokeOutput, Error>, body: &[u8]) -> Result<InvokeOutput, TestCaseError> {
    outcome.map_err(|error| {
        TestCaseError::fail(format!(
            "a 200 with a result failed: {error}\n{error:?}\nbody: {:?}",
            String::from_utf8_lossy(body)
        ))
    })
}

proptest! {
    #![proptest_config(config(700))]

    #[test]
    fn a_v1_result_survives_any_informational_junk(
        envelope in envelope(),
        choices in vec(any::<u8>(), 0..16),
        headers in headers(),
        requested in prop_oneof![1 => Just(ResponseVersion::V0), 3 => Just(ResponseVersion::V1)],
    ) {
        let body = render(&Json::Object(envelope.fields.clone()), choices);
        let output = output_of(invoke(response(200, &headers, &body), &requested, None), &body)?;
        let version = effective_version(&headers, &requested);
        prop_assert_eq!(output.response_version(), &version);
        let header_request_id = header_text(&headers, "x-cff-request-id");
        if version == ResponseVersion::V0 {
            // The response said v0: the body is the result, whatever it looks like.
            prop_assert_eq!(output.result().as_ref(), &body[..]);
            prop_assert_eq!(output.request_id().map(str::to_owned), header_request_id);
        } else {
            let expected = envelope.result.clone().unwrap_or_default();
            prop_assert_eq!(output.result().as_ref(), expected.as_bytes());
            let request_id = match &envelope.request_id {
                Some(Json::Str(id)) => Some(id.clone()),
                _ => header_request_id,
            };
            prop_assert_eq!(output.request_id().map(str::to_owned), request_id);
            let status = match &envelope.status {
                Some(Json::Int(status)) => i32::try_from(*status).ok(),
                _ => None,
            };
            prop_assert_eq!(output.function_status(), status);
            if let Some(Json::Str(log)) = &envelope.log {
                if !log.is_empty() {
                    prop_assert_eq!(output.log(), Some(log.as_str()));
                }
            }
        }
        check_outcome(&Ok(output), 200)?;
    }

    #[test]
    fn a_v0_body_is_the_result(body in body(), headers in headers()) {
        let outcome = invoke(response(200, &headers, &body), &ResponseVersion::V0, None);
        if effective_version(&headers, &ResponseVersion::V0) == ResponseVersion::V0 {
            let output = output_of(outcome, &body)?;
            prop_assert_eq!(output.result().as_ref(), &body[..]);
            prop_assert_eq!(output.response_version(), &ResponseVersion::V0);
            prop_assert_eq!(output.request_id().map(str::to_owned), header_text(&headers, "x-cff-request-id"));
            prop_assert_eq!(output.function_status(), None);
            check_outcome(&Ok(output), 200)?;
        } else {
            // The response says it is v1: read as such, with whatever outcome.
            check_outcome(&outcome, 200)?;
        }
    }
}

proptest! {
    #![proptest_config(config(100))]

    /// Issue 10 §1: "Malformed or unexpected informational parts never fail the call",
    /// repeated ones included.
    #[test]
    fn a_repeated_informational_field_keeps_the_result(
        envelope in envelope(),
        field in select(&["request_id", "log", "status"][..]),
        first in json_value(false),
        second in json_value(false),
        choices in vec(any::<u8>(), 0..16),
    ) {
        let mut fields = envelope.fields.clone();
        fields.retain(|(key, _)| key != field);
        fields.push((field.to_owned(), first));
        fields.push((field.to_owned(), second));
        let body = render(&Json::Object(fields), choices);
        let output = output_of(invoke(response(200, &HeaderMap::new(), &body), &ResponseVersion::V1, None), &body)?;
        let expected = envelope.result.clone().unwrap_or_default();
        prop_assert_eq!(output.result().as_ref(), expected.as_bytes());
    }
}

// ---------------------------------------------------------------------------------------
// Property 3: one answer to "may this run twice?"
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(700))]

    #[test]
    fn every_error_says_whether_the_function_may_have_run(
        (status, headers, body) in any_response(),
        requested in requested_version(),
        limit in prop_oneof![3 => Just(None), 1 => (0u64..512).prop_map(Some)],
    ) {
        let outcome = invoke(response(status, &headers, &body), &requested, limit);
        // `check_error` holds `is_retry_safe`, `execution` and `classify` together.
        check_outcome(&outcome, status)?;
        let too_large = limit.is_some_and(|limit| body.len() as u64 > limit);
        let Err(error) = &outcome else {
            prop_assert!(!too_large);
            return Ok(());
        };
        prop_assert_eq!(matches!(error, Error::ResponseTooLarge(_)), too_large, "{:?}", error);
        if let Error::Service(service) = error {
            // The catalogue's word for a known code at its status; else only a 429 was
            // refused before running.
            let catalogued = ERROR_CODES
                .iter()
                .find(|info| Some(info.code) == service.raw_code() && info.status == status);
            let not_run = catalogued.map_or(status == 429, |info| info.not_executed);
            prop_assert_eq!(error.is_retry_safe(), not_run, "{:?}", error);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Property 4: an error keeps a bounded prefix of the body
// ---------------------------------------------------------------------------------------

const EVIDENCE_BYTES: usize = 64 * 1024;

/// A body of up to 200 KiB, often near the bound: bytes in a pattern, or an error document
/// whose message fills it.
fn large_body() -> impl Strategy<Value = Vec<u8>> {
    let len = prop_oneof![
        2 => 0..=200 * 1024usize,
        1 => EVIDENCE_BYTES - 2..=EVIDENCE_BYTES + 2,
    ];
    (len, any::<u8>(), any::<bool>()).prop_map(|(len, seed, document)| {
        const PREFIX: &str = r#"{"error_code":"FSS.0500","error_msg":""#;
        if document && len >= PREFIX.len() + 2 {
            let mut body = PREFIX.to_owned();
            body.extend(std::iter::repeat_n('m', len - PREFIX.len() - 2));
            body.push_str("\"}");
            body.into_bytes()
        } else {
            (0..len).map(|i| seed.wrapping_add((i % 251) as u8)).collect()
        }
    })
}

/// A 2xx body that is not JSON, so that the result cannot be read.
fn large_undecodable_body() -> impl Strategy<Value = Vec<u8>> {
    large_body().prop_map(|mut body| {
        body.insert(0, b'<');
        body
    })
}

fn check_evidence(kept: &Bytes, kept_len: usize, truncated: bool, body: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(kept.len() <= EVIDENCE_BYTES);
    prop_assert_eq!(kept.len(), body.len().min(EVIDENCE_BYTES));
    prop_assert!(kept.as_ref() == &body[..kept.len()], "the kept body is not a prefix");
    prop_assert_eq!(kept_len, body.len());
    prop_assert_eq!(truncated, body.len() > EVIDENCE_BYTES);
    Ok(())
}

proptest! {
    #![proptest_config(config(120))]

    #[test]
    fn a_service_error_keeps_a_bounded_body(
        status in 400u16..=599,
        headers in headers(),
        body in large_body(),
        requested in requested_version(),
    ) {
        let outcome = invoke(response(status, &headers, &body), &requested, None);
        check_outcome(&outcome, status)?;
        let Err(Error::Service(error)) = &outcome else {
            return Err(TestCaseError::fail(format!("HTTP {status} gave {outcome:?}")));
        };
        check_evidence(error.body(), error.body_len(), error.body_is_truncated(), &body)?;
    }

    #[test]
    fn an_unreadable_result_keeps_a_bounded_body(
        headers in headers(),
        body in large_undecodable_body(),
    ) {
        let mut headers = headers;
        headers.remove("x-cff-response-version");
        let outcome = invoke(response(200, &headers, &body), &ResponseVersion::V1, None);
        check_outcome(&outcome, 200)?;
        let Err(Error::Decode(error)) = &outcome else {
            return Err(TestCaseError::fail(format!("{outcome:?}")));
        };
        check_evidence(error.body(), error.body_len(), error.body_is_truncated(), &body)?;
    }
}

/// Everything an error holds that came from the body, beyond `body()`: the message, code
/// and request id of a service error, the text of a decode error's cause.
fn retained_text(error: &Error) -> usize {
    let mut total = 0;
    if let Some(service) = error.as_service_error() {
        total +=
            service.message().len() + service.raw_code().map_or(0, str::len) + service.request_id().map_or(0, str::len);
    }
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        total += inner.to_string().len();
        source = inner.source();
    }
    total
}

proptest! {
    #![proptest_config(config(60))]

    /// Issue 10 §2: "errors keep at most a bounded prefix of a body", in every part read
    /// from the body, not only `body()`.
    #[test]
    fn an_error_keeps_no_more_of_the_body_than_the_bound(
        status in prop_oneof![400u16..=599, Just(200u16)],
        len in 0..=200 * 1024usize,
        field in select(&["error_code", "error_msg", "request_id", "result"][..]),
        whole_string in any::<bool>(),
    ) {
        let text = "x".repeat(len);
        let body = if whole_string {
            serde_json::to_vec(&text).unwrap()
        } else {
            serde_json::to_vec(&serde_json::json!({ field: text, "error_code": "FSS.0500" })).unwrap()
        };
        let outcome = invoke(response(status, &HeaderMap::new(), &body), &ResponseVersion::V1, None);
        if let Err(error) = &outcome {
            let retained = retained_text(error);
            prop_assert!(retained <= EVIDENCE_BYTES + 1024, "{} bytes of body text kept beyond body()", retained);
        }
    }
}
