//! Authentication: tokens (configured, issued, expired), the IAM token endpoint, AK/SK
//! signatures (permanent and temporary keys) and `without_auth`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use fgs_emulator::{Emulator, Function};
use serde_json::{Value, json};

const AK: &str = "AKTESTLOCAL0001";
const SK: &str = "sk-test-local-secret";
const TEMP_AK: &str = "AKTEMPORARY0002";
const TEMP_SK: &str = "sk-temporary-secret";
const SECURITY_TOKEN: &str = "sectok-VERY-SECRET-value-7c1e";

fn echo_function() -> Function {
    Function::new("default", "echo", echo())
}

async fn start_with_keys() -> Emulator {
    Emulator::builder()
        .token(TOKEN)
        .access_key(AK, SK)
        .temporary_access_key(TEMP_AK, TEMP_SK, SECURITY_TOKEN)
        .iam_user("my-domain", "alice", "correct horse")
        .function(echo_function())
        .start()
        .await
        .unwrap()
}

async fn post(emulator: &Emulator, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    send(emulator.addr(), &request("POST", path, headers, body)).await
}

async fn post_signed(emulator: &Emulator, path: &str, headers: &[(String, String)], body: &[u8]) -> Response {
    send(emulator.addr(), &request_owned("POST", path, headers, body)).await
}

fn assert_ok(response: &Response) {
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-is-func-err"), Some("false"));
}

fn iam_body(domain: &str, user: &str, password: &str, scope: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": { "user": { "name": user, "password": password, "domain": { "name": domain } } }
            },
            "scope": { "project": scope }
        }
    }))
    .unwrap()
}

// ---- tokens ----

#[tokio::test]
async fn no_credentials_is_401_apigw_0301() {
    let emulator = start_with_keys().await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let response = post(&emulator, &path, &[("Content-Type", "application/json")], b"{}").await;
    assert_gateway_error(&response, 401, "APIGW.0301");
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
    assert_eq!(emulator.request_count(), 1, "rejected requests are recorded too");
}

#[tokio::test]
async fn configured_token_is_accepted() {
    let emulator = start_with_keys().await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let response = post(&emulator, &path, &[("X-Auth-Token", TOKEN)], br#"{"a":1}"#).await;
    assert_ok(&response);
    assert_eq!(response.json(), json!({ "a": 1 }));
}

#[tokio::test]
async fn unknown_token_is_401_apigw_0301() {
    let emulator = start_with_keys().await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let response = post(&emulator, &path, &[("X-Auth-Token", "not-a-known-token-secret")], b"{}").await;
    assert_gateway_error(&response, 401, "APIGW.0301");
    assert!(!response.text().contains("not-a-known-token-secret"));
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}

/// The lifetime of issued tokens in the expiry tests: long enough that the first use right
/// after issuing is in time on a loaded machine, short enough to wait out.
const SHORT_LIFETIME: Duration = Duration::from_secs(3);

/// Waits until a token issued at `issued` with [`SHORT_LIFETIME`] has certainly expired.
async fn until_expired(issued: tokio::time::Instant) {
    tokio::time::sleep_until(issued + SHORT_LIFETIME + Duration::from_secs(1)).await;
}

#[tokio::test]
async fn issued_token_expires() {
    let emulator = Emulator::builder()
        .token(TOKEN)
        .token_lifetime(SHORT_LIFETIME)
        .function(echo_function())
        .start()
        .await
        .unwrap();
    let issued = tokio::time::Instant::now();
    let token = emulator.issue_token();
    assert_ne!(token, TOKEN);
    let path = invoke_path(&emulator, "default", "echo", None);
    let response = post(&emulator, &path, &[("X-Auth-Token", &token)], b"{}").await;
    assert_ok(&response);

    until_expired(issued).await;
    let response = post(&emulator, &path, &[("X-Auth-Token", &token)], b"{}").await;
    assert_gateway_error(&response, 401, "APIGW.0307");
    // Issuing another token keeps the expired one known as expired (so clients renew),
    // not unknown.
    let _ = emulator.issue_token();
    let response = post(&emulator, &path, &[("X-Auth-Token", &token)], b"{}").await;
    assert_gateway_error(&response, 401, "APIGW.0307");
    // Configured tokens never expire.
    let response = post(&emulator, &path, &[("X-Auth-Token", TOKEN)], b"{}").await;
    assert_ok(&response);
    assert_eq!(emulator.invocation_count("default", "echo"), 2);
}

#[tokio::test]
async fn issued_tokens_are_distinct() {
    let emulator = start_with_keys().await;
    let a = emulator.issue_token();
    let b = emulator.issue_token();
    assert_ne!(a, b);
    let path = invoke_path(&emulator, "default", "echo", None);
    for token in [&a, &b] {
        assert_ok(&post(&emulator, &path, &[("X-Auth-Token", token)], b"{}").await);
    }
}

// ---- IAM ----

fn assert_iam_timestamp(text: &str) {
    // YYYY-MM-DDTHH:MM:SS.ffffffZ
    let bytes = text.as_bytes();
    assert_eq!(bytes.len(), 27, "{text}");
    for (i, b) in bytes.iter().enumerate() {
        let expected_ok = match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            19 => *b == b'.',
            26 => *b == b'Z',
            _ => b.is_ascii_digit(),
        };
        assert!(expected_ok, "{text} at {i}");
    }
}

#[tokio::test]
async fn iam_password_login_issues_a_usable_token() {
    let emulator = start_with_keys().await;
    let scope = json!({ "name": emulator.region() });
    let body = iam_body("my-domain", "alice", "correct horse", scope);
    let response = post(
        &emulator,
        "/v3/auth/tokens",
        &[("Content-Type", "application/json")],
        &body,
    )
    .await;
    assert_eq!(response.status, 201, "{}", response.text());
    let token = response.header("x-subject-token").expect("X-Subject-Token").to_owned();
    assert!(!token.is_empty());
    let json = response.json();
    let expires_at = json["token"]["expires_at"].as_str().expect("token.expires_at");
    assert_iam_timestamp(expires_at);
    assert_iam_timestamp(json["token"]["issued_at"].as_str().expect("token.issued_at"));
    assert!(expires_at > json["token"]["issued_at"].as_str().unwrap());
    assert_eq!(json["token"]["project"]["id"], emulator.project_id());
    assert_eq!(json["token"]["user"]["name"], "alice");
    assert!(!response.text().contains("correct horse"), "the password is not echoed");

    let path = invoke_path(&emulator, "default", "echo", None);
    let response = post(&emulator, &path, &[("X-Auth-Token", &token)], br#"{"via":"iam"}"#).await;
    assert_ok(&response);
    assert_eq!(response.json(), json!({ "via": "iam" }));
}

#[tokio::test]
async fn iam_scope_by_project_id_is_accepted() {
    let emulator = start_with_keys().await;
    let body = iam_body(
        "my-domain",
        "alice",
        "correct horse",
        json!({ "id": emulator.project_id() }),
    );
    let response = post(&emulator, "/v3/auth/tokens", &[], &body).await;
    assert_eq!(response.status, 201, "{}", response.text());
}

#[tokio::test]
async fn iam_wrong_password_is_401() {
    let emulator = start_with_keys().await;
    for (domain, user, password) in [
        ("my-domain", "alice", "wrong"),
        ("my-domain", "bob", "correct horse"),
        ("other", "alice", "correct horse"),
    ] {
        let body = iam_body(domain, user, password, json!({ "name": emulator.region() }));
        let response = post(&emulator, "/v3/auth/tokens", &[], &body).await;
        assert_eq!(response.status, 401, "{}", response.text());
        assert!(response.header("x-subject-token").is_none());
        assert!(response.json()["error"].is_object(), "{}", response.text());
    }
}

#[tokio::test]
async fn iam_wrong_scope_is_400() {
    let emulator = start_with_keys().await;
    for scope in [
        json!({ "name": "eu-west-101" }),
        json!({ "id": "ffffffffffffffffffffffffffffffff" }),
        json!({}),
    ] {
        let body = iam_body("my-domain", "alice", "correct horse", scope);
        let response = post(&emulator, "/v3/auth/tokens", &[], &body).await;
        assert_eq!(response.status, 400, "{}", response.text());
        assert!(response.header("x-subject-token").is_none());
    }
}

#[tokio::test]
async fn iam_malformed_requests_are_400() {
    let emulator = start_with_keys().await;
    let response = post(&emulator, "/v3/auth/tokens", &[], b"{not json").await;
    assert_eq!(response.status, 400, "{}", response.text());
    let token_method = json!({ "auth": { "identity": { "methods": ["token"] } } });
    let response = post(&emulator, "/v3/auth/tokens", &[], token_method.to_string().as_bytes()).await;
    assert_eq!(response.status, 400, "{}", response.text());
}

// ---- AK/SK ----

#[tokio::test]
async fn signed_request_with_percent_encoded_path_is_accepted() {
    let emulator = start_with_keys().await;
    let path = invoke_path(&emulator, "default", "echo", Some("latest"));
    assert!(path.contains("%3A"));
    let body = br#"{"signed":true}"#;
    let headers = Signer::new(AK, SK).headers(&emulator, &path, body);
    let response = post_signed(&emulator, &path, &headers, body).await;
    assert_ok(&response);
    assert_eq!(response.json(), json!({ "signed": true }));
}

#[tokio::test]
async fn signed_request_with_raw_colon_path_is_accepted() {
    let emulator = start_with_keys().await;
    let path = raw_invoke_path(&emulator, "default", "echo", Some("latest"));
    assert!(path.contains("urn:fss:"));
    let body = br#"{"raw":true}"#;
    let headers = Signer::new(AK, SK).headers(&emulator, &path, body);
    let response = post_signed(&emulator, &path, &headers, body).await;
    assert_ok(&response);
    assert_eq!(response.json(), json!({ "raw": true }));
}

#[tokio::test]
async fn signed_with_the_wrong_secret_is_401_with_the_canonical_request() {
    let emulator = start_with_keys().await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let headers = Signer::new(AK, "not-the-secret").headers(&emulator, &path, b"{}");
    let response = post_signed(&emulator, &path, &headers, b"{}").await;
    let body = assert_gateway_error(&response, 401, "APIGW.0301");
    let message = body["error_msg"].as_str().unwrap();
    assert!(message.contains("canonicalRequest"), "{message}");
    assert!(message.contains("/invocations/"), "{message}");
    assert!(
        !message.contains(SK) && !message.contains("not-the-secret"),
        "{message}"
    );
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}

#[tokio::test]
async fn unknown_access_key_is_401() {
    let emulator = start_with_keys().await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let headers = Signer::new("AKNOBODY", SK).headers(&emulator, &path, b"{}");
    let response = post_signed(&emulator, &path, &headers, b"{}").await;
    assert_gateway_error(&response, 401, "APIGW.0301");
}

#[tokio::test]
async fn body_tampered_after_signing_is_401() {
    let emulator = start_with_keys().await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let headers = Signer::new(AK, SK).headers(&emulator, &path, br#"{"amount":1}"#);
    let response = post_signed(&emulator, &path, &headers, br#"{"amount":9}"#).await;
    assert_gateway_error(&response, 401, "APIGW.0301");
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}

#[tokio::test]
async fn signed_header_changed_after_signing_is_401() {
    let emulator = start_with_keys().await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let mut headers = Signer::new(AK, SK).headers(&emulator, &path, b"{}");
    for (name, value) in &mut headers {
        if name == "x-project-id" {
            *value = "ffffffffffffffffffffffffffffffff".to_owned();
        }
    }
    let response = post_signed(&emulator, &path, &headers, b"{}").await;
    assert_gateway_error(&response, 401, "APIGW.0301");
}

#[tokio::test]
async fn sdk_date_16_minutes_old_is_401_apigw_0303() {
    let emulator = start_with_keys().await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let mut signer = Signer::new(AK, SK);
    signer.time = SystemTime::now() - Duration::from_secs(16 * 60);
    let headers = signer.headers(&emulator, &path, b"{}");
    let response = post_signed(&emulator, &path, &headers, b"{}").await;
    assert_gateway_error(&response, 401, "APIGW.0303");
    assert_eq!(emulator.invocation_count("default", "echo"), 0);

    // As far in the future is refused too.
    signer.time = SystemTime::now() + Duration::from_secs(16 * 60);
    let headers = signer.headers(&emulator, &path, b"{}");
    assert_gateway_error(&post_signed(&emulator, &path, &headers, b"{}").await, 401, "APIGW.0303");

    // 14 minutes is within the allowed skew.
    signer.time = SystemTime::now() - Duration::from_secs(14 * 60);
    let headers = signer.headers(&emulator, &path, b"{}");
    assert_ok(&post_signed(&emulator, &path, &headers, b"{}").await);
}

#[tokio::test]
async fn temporary_key_with_its_security_token_is_accepted() {
    let emulator = start_with_keys().await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let mut signer = Signer::new(TEMP_AK, TEMP_SK);
    signer.security_token = Some(SECURITY_TOKEN);
    let headers = signer.headers(&emulator, &path, br#"{"t":1}"#);
    assert!(headers.iter().any(|(n, _)| n == "x-security-token"));
    let authorization = &headers.iter().find(|(n, _)| n == "Authorization").unwrap().1;
    assert!(
        authorization.contains("x-security-token"),
        "the token is signed: {authorization}"
    );
    let response = post_signed(&emulator, &path, &headers, br#"{"t":1}"#).await;
    assert_ok(&response);
    assert_eq!(response.json(), json!({ "t": 1 }));
}

#[tokio::test]
async fn temporary_key_without_its_security_token_is_401() {
    let emulator = start_with_keys().await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let headers = Signer::new(TEMP_AK, TEMP_SK).headers(&emulator, &path, b"{}");
    let response = post_signed(&emulator, &path, &headers, b"{}").await;
    assert_gateway_error(&response, 401, "APIGW.0301");
    assert!(!response.text().contains(SECURITY_TOKEN));
}

#[tokio::test]
async fn temporary_key_with_a_wrong_security_token_is_401() {
    let emulator = start_with_keys().await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let mut signer = Signer::new(TEMP_AK, TEMP_SK);
    signer.security_token = Some("sectok-wrong-guess-4411");
    let headers = signer.headers(&emulator, &path, b"{}");
    let response = post_signed(&emulator, &path, &headers, b"{}").await;
    assert_gateway_error(&response, 401, "APIGW.0301");
    assert!(!response.text().contains(SECURITY_TOKEN));
    assert!(!response.text().contains("sectok-wrong-guess-4411"));
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}

#[tokio::test]
async fn security_token_never_appears_in_error_bodies() {
    let emulator = start_with_keys().await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let mut bodies = Vec::new();

    // Right token, wrong secret: the canonical request is in the message, redacted.
    let mut signer = Signer::new(TEMP_AK, "wrong-secret");
    signer.security_token = Some(SECURITY_TOKEN);
    let headers = signer.headers(&emulator, &path, b"{}");
    let response = post_signed(&emulator, &path, &headers, b"{}").await;
    let body = assert_gateway_error(&response, 401, "APIGW.0301");
    assert!(
        body["error_msg"].as_str().unwrap().contains("canonicalRequest"),
        "{body}"
    );
    assert!(
        body["error_msg"].as_str().unwrap().contains("x-security-token:"),
        "{body}"
    );
    bodies.push(response.text());

    // Right token, tampered body.
    let mut signer = Signer::new(TEMP_AK, TEMP_SK);
    signer.security_token = Some(SECURITY_TOKEN);
    let headers = signer.headers(&emulator, &path, b"{}");
    bodies.push(post_signed(&emulator, &path, &headers, br#"{"x":1}"#).await.text());

    // Right token, stale date.
    signer.time = SystemTime::now() - Duration::from_secs(20 * 60);
    let headers = signer.headers(&emulator, &path, b"{}");
    let response = post_signed(&emulator, &path, &headers, b"{}").await;
    assert_gateway_error(&response, 401, "APIGW.0303");
    bodies.push(response.text());

    // The token sent also in the query string of a mis-signed request.
    let query_path = format!("{path}?token={SECURITY_TOKEN}");
    let mut signer = Signer::new(TEMP_AK, "wrong-secret");
    signer.security_token = Some(SECURITY_TOKEN);
    let headers = signer.headers(&emulator, &query_path, b"{}");
    let response = post_signed(&emulator, &query_path, &headers, b"{}").await;
    assert_gateway_error(&response, 401, "APIGW.0301");
    bodies.push(response.text());

    for body in &bodies {
        assert!(!body.contains(SECURITY_TOKEN), "leaked the security token: {body}");
    }
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}

#[tokio::test]
async fn malformed_authorization_is_401() {
    let emulator = start_with_keys().await;
    let path = invoke_path(&emulator, "default", "echo", None);
    for value in ["Basic dXNlcjpwYXNz", "SDK-HMAC-SHA256 nonsense"] {
        let response = post(&emulator, &path, &[("Authorization", value)], b"{}").await;
        assert_gateway_error(&response, 401, "APIGW.0301");
    }
}

#[tokio::test]
async fn without_auth_accepts_anything() {
    let emulator = Emulator::builder()
        .without_auth()
        .function(echo_function())
        .start()
        .await
        .unwrap();
    let path = invoke_path(&emulator, "default", "echo", None);
    let response = post(&emulator, &path, &[], br#"{"anon":true}"#).await;
    assert_ok(&response);
    assert_eq!(response.json(), json!({ "anon": true }));
    let response = post(&emulator, &path, &[("X-Auth-Token", "whatever")], b"{}").await;
    assert_ok(&response);
    let response = post(
        &emulator,
        &path,
        &[(
            "Authorization",
            "SDK-HMAC-SHA256 Access=X, SignedHeaders=host, Signature=00",
        )],
        b"{}",
    )
    .await;
    assert_ok(&response);
    assert_eq!(emulator.invocation_count("default", "echo"), 3);
}

#[tokio::test]
async fn a_default_emulator_requires_credentials() {
    let emulator = Emulator::builder().function(echo_function()).start().await.unwrap();
    let path = invoke_path(&emulator, "default", "echo", None);
    let response = post(&emulator, &path, &[], b"{}").await;
    assert_gateway_error(&response, 401, "APIGW.0301");
}

#[tokio::test]
async fn iam_tokens_follow_the_configured_lifetime() {
    let emulator = Emulator::builder()
        .iam_user("d", "u", "p")
        .token_lifetime(SHORT_LIFETIME)
        .function(echo_function())
        .start()
        .await
        .unwrap();
    let body = iam_body("d", "u", "p", json!({ "name": emulator.region() }));
    let issued = tokio::time::Instant::now();
    let response = post(&emulator, "/v3/auth/tokens", &[], &body).await;
    assert_eq!(response.status, 201, "{}", response.text());
    let token = response.header("x-subject-token").unwrap().to_owned();
    let path = invoke_path(&emulator, "default", "echo", None);
    assert_ok(&post(&emulator, &path, &[("X-Auth-Token", &token)], b"{}").await);
    until_expired(issued).await;
    let response = post(&emulator, &path, &[("X-Auth-Token", &token)], b"{}").await;
    assert_gateway_error(&response, 401, "APIGW.0307");
}
