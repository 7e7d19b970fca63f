//! Test vectors computed with Huawei's official Python signer
//! (`tests/data/aksk-vectors.json`), plus verification failures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use fgs_signing::{
    Authorization, SigningErrorKind, VerifyError, VerifyInput, authorization, canonical_query, canonical_request,
    canonical_uri, default_signed_headers, parse_sdk_date, payload_hash, sign, signature, string_to_sign, verify,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/aksk-vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {value}"))
}

/// One request of the vector file.
struct Request {
    ak: String,
    sk: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Vec<u8>,
    sdk_date: String,
}

impl Request {
    /// From an object with `ak`, `sk`, `method`, `url`, `headers`, `body`.
    fn from_json(inputs: &Value) -> Request {
        let mut headers = HeaderMap::new();
        for (name, value) in inputs["headers"].as_object().unwrap() {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
            );
        }
        let sdk_date = headers["x-sdk-date"].to_str().unwrap().to_owned();
        Request {
            ak: text(inputs, "ak").to_owned(),
            sk: text(inputs, "sk").to_owned(),
            method: text(inputs, "method").parse().unwrap(),
            uri: text(inputs, "url").parse().unwrap(),
            headers,
            body: text(inputs, "body").as_bytes().to_vec(),
            sdk_date,
        }
    }

    fn canonical_request(&self, signed_headers: &[String]) -> String {
        let hash = payload_hash(&self.headers, &self.body);
        canonical_request(&self.method, &self.uri, &self.headers, signed_headers, &hash).unwrap()
    }

    fn verify_with(&self, authorization: &Authorization, secret_key: &str, now_offset: i64) -> Result<(), VerifyError> {
        let date = parse_sdk_date(&self.sdk_date).unwrap();
        let offset = Duration::from_secs(now_offset.unsigned_abs());
        let now = if now_offset >= 0 { date + offset } else { date - offset };
        let input = VerifyInput {
            method: &self.method,
            uri: &self.uri,
            headers: &self.headers,
            body: &self.body,
            authorization,
        };
        verify(&input, secret_key.as_bytes(), now)
    }
}

fn check_example(example: &Value) {
    let label = text(example, "label");
    let inputs = &example["inputs"];
    let output = &example["output"];
    let request = Request::from_json(inputs);
    assert_eq!(request.sdk_date, text(inputs, "timestamp"), "{label}");

    assert_eq!(
        canonical_uri(request.uri.path()),
        text(output, "canonical_uri"),
        "{label}"
    );
    assert_eq!(
        canonical_query(request.uri.query()),
        text(output, "canonical_query_string"),
        "{label}"
    );
    let signed_headers = default_signed_headers(&request.headers);
    assert_eq!(signed_headers.join(";"), text(output, "signed_headers"), "{label}");
    assert_eq!(
        payload_hash(&request.headers, &request.body),
        text(output, "hashed_payload"),
        "{label}"
    );
    let canonical = request.canonical_request(&signed_headers);
    assert_eq!(canonical, text(output, "canonical_request"), "{label}");
    let to_sign = string_to_sign(&request.sdk_date, &canonical);
    assert_eq!(to_sign, text(output, "string_to_sign"), "{label}");
    assert!(to_sign.ends_with(text(output, "canonical_request_sha256")), "{label}");
    let signature = signature(request.sk.as_bytes(), &to_sign);
    assert_eq!(signature, text(output, "signature"), "{label}");
    let header = authorization(&request.ak, &signed_headers, &signature);
    assert_eq!(header, text(output, "authorization"), "{label}");

    // The one-call signer agrees.
    let signed = sign(
        &request.method,
        &request.uri,
        &request.headers,
        &request.body,
        &request.ak,
        request.sk.as_bytes(),
        &request.sdk_date,
    )
    .unwrap();
    assert_eq!(signed.canonical_request, canonical, "{label}");
    assert_eq!(signed.string_to_sign, to_sign, "{label}");
    assert_eq!(signed.signature, signature, "{label}");
    assert_eq!(signed.authorization, header, "{label}");
    assert_eq!(signed.signed_headers, signed_headers, "{label}");

    // And the verifier accepts the official Authorization header.
    let parsed = Authorization::parse(text(output, "authorization")).unwrap();
    assert_eq!(parsed.access_key, request.ak, "{label}");
    assert_eq!(parsed.to_string(), header, "{label}");
    request.verify_with(&parsed, &request.sk, 0).unwrap();
}

#[test]
fn primary_vector() {
    check_example(&vectors()["primary"]);
}

#[test]
fn every_example_vector() {
    let vectors = vectors();
    let examples = vectors["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 4);
    for example in examples {
        check_example(example);
    }
}

fn compact_body_example(vectors: &Value) -> &Value {
    vectors["examples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|example| example["inputs"]["body"] == r#"{"k":"v"}"#)
        .unwrap()
}

#[test]
fn raw_colons_in_path_sign_like_encoded_ones() {
    let vectors = vectors();
    let example = compact_body_example(&vectors);
    let mut inputs = example["inputs"].clone();
    let url = text(&inputs, "url");
    let (origin, path) = url.split_at(url.find("/v2/").unwrap());
    let raw_url = format!("{origin}{}", path.replace("%3A", ":"));
    assert!(raw_url.contains("/urn:fss:cn-north-4:"), "{raw_url}");
    inputs["url"] = Value::String(raw_url);

    let request = Request::from_json(&inputs);
    let signed_headers = default_signed_headers(&request.headers);
    let canonical = request.canonical_request(&signed_headers);
    assert_eq!(canonical, text(&example["output"], "canonical_request"));
    let signature = signature(request.sk.as_bytes(), &string_to_sign(&request.sdk_date, &canonical));
    assert_eq!(
        authorization(&request.ak, &signed_headers, &signature),
        text(&example["output"], "authorization")
    );
    let parsed = Authorization::parse(text(&example["output"], "authorization")).unwrap();
    request.verify_with(&parsed, &request.sk, 0).unwrap();
}

#[test]
fn go_sdk_vectors_with_only_the_date_signed() {
    let vectors = vectors();
    let go = vectors["go_sdk_test_vectors"]["vectors"].as_array().unwrap();
    assert_eq!(go.len(), 2);
    let signed_headers = vec!["x-sdk-date".to_owned()];
    for vector in go {
        let request = Request::from_json(vector);
        // Go does not sign `_` headers, Content-Type or Host; the Python
        // default would not sign `TEST_UNDERSCORE` either.
        assert!(
            !default_signed_headers(&request.headers)
                .iter()
                .any(|name| name.contains('_'))
        );
        let canonical = request.canonical_request(&signed_headers);
        assert_eq!(canonical, text(vector, "canonical_request"));
        let to_sign = string_to_sign(&request.sdk_date, &canonical);
        assert_eq!(to_sign, text(vector, "string_to_sign"));
        let signature = signature(request.sk.as_bytes(), &to_sign);
        assert_eq!(
            authorization(&request.ak, &signed_headers, &signature),
            text(vector, "authorization")
        );
        let parsed = Authorization::parse(text(vector, "authorization")).unwrap();
        request.verify_with(&parsed, &request.sk, 0).unwrap();
    }
}

// ---------------------------------------------------------------- verification failures

/// The example with temporary credentials (`X-Security-Token` signed) and a
/// query string, with its official `Authorization`.
fn token_example() -> (Request, Authorization) {
    let vectors = vectors();
    let example = vectors["examples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|example| example["inputs"]["headers"].get("X-Security-Token").is_some())
        .unwrap();
    let request = Request::from_json(&example["inputs"]);
    let authorization = Authorization::parse(text(&example["output"], "authorization")).unwrap();
    assert!(authorization.signed_headers.contains(&"x-security-token".to_owned()));
    (request, authorization)
}

const TOKEN: &str = "EXAMPLE-SECURITY-TOKEN";

fn assert_mismatch_without_token(result: Result<(), VerifyError>) -> String {
    match result {
        Err(VerifyError::SignatureMismatch { canonical_request }) => {
            assert!(!canonical_request.contains(TOKEN), "{canonical_request}");
            assert!(
                canonical_request.contains("\nx-security-token:***\n"),
                "{canonical_request}"
            );
            canonical_request
        }
        other => panic!("expected SignatureMismatch, got {other:?}"),
    }
}

fn assert_malformed(result: Result<(), VerifyError>, kind: SigningErrorKind) {
    match result {
        Err(VerifyError::Malformed(error)) => assert_eq!(error.kind(), kind, "{error}"),
        other => panic!("expected Malformed({kind:?}), got {other:?}"),
    }
}

#[test]
fn wrong_secret_key_is_a_mismatch() {
    let (request, authorization) = token_example();
    request.verify_with(&authorization, &request.sk, 0).unwrap();
    let error = request.verify_with(&authorization, "SKwrong", 0).unwrap_err();
    let message = error.to_string();
    let canonical = assert_mismatch_without_token(Err(error));
    assert!(!message.contains(TOKEN));
    assert!(!message.contains(&request.sk));
    // Apart from the token, the canonical request is the one that was signed.
    assert_eq!(
        canonical,
        request
            .canonical_request(&authorization.signed_headers)
            .replace(TOKEN, "***")
    );
}

#[test]
fn tampered_body_is_a_mismatch() {
    let (mut request, authorization) = token_example();
    request.body = br#"{"k": "w"}"#.to_vec();
    assert_mismatch_without_token(request.verify_with(&authorization, &request.sk, 0));
}

#[test]
fn tampered_query_or_header_is_a_mismatch() {
    let (mut request, authorization) = token_example();
    request.uri = format!("{}?a=x%3Ay&b=2%204", request.uri.path()).parse().unwrap();
    assert_mismatch_without_token(request.verify_with(&authorization, &request.sk, 0));

    let (mut request, authorization) = token_example();
    request
        .headers
        .insert("x-cff-log-type", HeaderValue::from_static("none"));
    assert_mismatch_without_token(request.verify_with(&authorization, &request.sk, 0));

    // An unsigned header may change freely.
    let (mut request, authorization) = token_example();
    request
        .headers
        .insert("user-agent", HeaderValue::from_static("anything"));
    request.verify_with(&authorization, &request.sk, 0).unwrap();
}

#[test]
fn security_token_is_redacted_everywhere() {
    let (mut request, authorization) = token_example();
    request.uri = format!("{}?token={TOKEN}&a=x%3Ay&b=2%203", request.uri.path())
        .parse()
        .unwrap();
    let canonical = assert_mismatch_without_token(request.verify_with(&authorization, &request.sk, 0));
    assert!(canonical.contains("token=***"), "{canonical}");
}

#[test]
fn date_more_than_15_minutes_off_is_clock_skew() {
    let (request, authorization) = token_example();
    request.verify_with(&authorization, &request.sk, 15 * 60).unwrap();
    request.verify_with(&authorization, &request.sk, -15 * 60).unwrap();
    for offset in [16 * 60, -16 * 60] {
        match request.verify_with(&authorization, &request.sk, offset) {
            Err(error @ VerifyError::ClockSkew { .. }) => {
                let expected_server = if offset > 0 {
                    "20240101T121600Z"
                } else {
                    "20240101T114400Z"
                };
                assert_eq!(
                    error.to_string(),
                    format!("signature expired, signature time: 20240101T120000Z, server time: {expected_server}")
                );
            }
            other => panic!("expected ClockSkew, got {other:?}"),
        }
    }
}

#[test]
fn unsigned_date_is_malformed() {
    let (request, mut authorization) = token_example();
    authorization.signed_headers.retain(|name| name != "x-sdk-date");
    assert_malformed(
        request.verify_with(&authorization, &request.sk, 0),
        SigningErrorKind::DateNotSigned,
    );
}

#[test]
fn missing_signed_header_is_malformed() {
    let (mut request, authorization) = token_example();
    request.headers.remove("x-cff-log-type");
    assert_malformed(
        request.verify_with(&authorization, &request.sk, 0),
        SigningErrorKind::MissingSignedHeader,
    );
}

#[test]
fn missing_or_bad_date_header_is_malformed() {
    let (mut request, authorization) = token_example();
    let date = request.headers.remove("x-sdk-date").unwrap();
    let now = parse_sdk_date(&request.sdk_date).unwrap();
    let input = VerifyInput {
        method: &request.method,
        uri: &request.uri,
        headers: &request.headers,
        body: &request.body,
        authorization: &authorization,
    };
    match verify(&input, request.sk.as_bytes(), now) {
        Err(VerifyError::Malformed(error)) => assert_eq!(error.kind(), SigningErrorKind::MissingDate),
        other => panic!("expected Malformed(MissingDate), got {other:?}"),
    }

    request
        .headers
        .insert("x-sdk-date", HeaderValue::from_static("2024-01-01T12:00:00Z"));
    assert_malformed(
        request.verify_with(&authorization, &request.sk, 0),
        SigningErrorKind::InvalidDate,
    );

    request.headers.insert("x-sdk-date", date.clone());
    request.headers.append("x-sdk-date", date);
    assert_malformed(
        request.verify_with(&authorization, &request.sk, 0),
        SigningErrorKind::MissingDate,
    );
}
