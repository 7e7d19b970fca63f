//! More vectors from Huawei's official Python signer (`tests/data/official-signer-cases.json`,
//! made by `tests/data/official_signer_cases.py`): alias URNs encoded and raw, a query with
//! spaces and repeated keys, a non-ASCII header value, a non-ASCII body, an empty body and
//! an unsigned (non-JSON) payload. Each must sign byte-identically and verify.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use serde_json::Value;

fn cases() -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/official-signer-cases.json");
    let data: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    data["cases"].as_array().unwrap().clone()
}

#[test]
fn every_official_case_signs_identically_and_verifies() {
    let cases = cases();
    assert_eq!(cases.len(), 7);
    for case in cases {
        let label = case["label"].as_str().unwrap();
        let inputs = &case["inputs"];
        let method: Method = inputs["method"].as_str().unwrap().parse().unwrap();
        let uri: Uri = inputs["url_as_sent"].as_str().unwrap().parse().unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in inputs["headers"].as_object().unwrap() {
            // Non-ASCII values travel as their UTF-8 bytes, as the official SDK sends them.
            let value = HeaderValue::from_bytes(value.as_str().unwrap().as_bytes()).unwrap();
            headers.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), value);
        }
        let body = inputs["body"].as_str().unwrap().as_bytes();
        let ak = inputs["ak"].as_str().unwrap();
        let sk = inputs["sk"].as_str().unwrap().as_bytes();
        let date = inputs["timestamp"].as_str().unwrap();

        let signed = fgs_signing::sign(&method, &uri, &headers, body, ak, sk, date).unwrap();
        assert_eq!(
            signed.canonical_request,
            case["output"]["canonical_request"].as_str().unwrap(),
            "{label}"
        );
        assert_eq!(
            signed.authorization,
            case["output"]["authorization"].as_str().unwrap(),
            "{label}"
        );

        let authorization = fgs_signing::Authorization::parse(&signed.authorization).unwrap();
        let input = fgs_signing::VerifyInput {
            method: &method,
            uri: &uri,
            headers: &headers,
            body,
            authorization: &authorization,
        };
        let now = UNIX_EPOCH + Duration::from_secs(1_704_110_400); // 2024-01-01T12:00:00Z
        fgs_signing::verify(&input, sk, now).unwrap_or_else(|e| panic!("{label}: {e}"));
    }
}

/// The encoded and the raw alias URN sign the same, so either wire form verifies.
#[test]
fn alias_urns_sign_the_same_encoded_or_raw() {
    let cases = cases();
    let authorization = |i: usize| cases[i]["output"]["authorization"].as_str().unwrap().to_owned();
    assert_eq!(authorization(0), authorization(1));
}
