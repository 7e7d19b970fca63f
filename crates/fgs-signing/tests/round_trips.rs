//! Every algorithm: what fgs signs, it verifies (with the secret key and with a kept key);
//! any change to a signed part, a wrong key, a key for something else or a stale date is
//! rejected.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use fgs_signing::{
    Algorithm, Authorization, CONTENT_SHA256, EMPTY_PAYLOAD_SHA256, SDK_DATE, Scope, SigningErrorKind, SigningKey,
    UNSIGNED_PAYLOAD, VerifyError, VerifyInput, canonical_request, parse_sdk_date, signature, string_to_sign, verify,
    verify_with,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

const AK: &str = "AKEXAMPLE1234567890";
const SK: &str = "SKEXAMPLEabcdefghijklmnopqrstuvwxyz0123";
const DATE: &str = "20240229T120000Z";

fn key(algorithm: Algorithm) -> SigningKey {
    let key = SigningKey::new(algorithm, AK, SK.as_bytes()).unwrap();
    if algorithm.needs_scope() {
        key.with_scope(Scope::new("cn-north-4", "functiongraph").unwrap())
    } else {
        key
    }
}

#[derive(Clone)]
struct Request {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Request {
    fn new(body: &[u8], content_type: &str) -> Request {
        let mut headers = HeaderMap::new();
        headers.insert(SDK_DATE, HeaderValue::from_static(DATE));
        headers.insert(
            "host",
            HeaderValue::from_static("functiongraph.cn-north-4.myhuaweicloud.com"),
        );
        headers.insert("content-type", HeaderValue::from_str(content_type).unwrap());
        headers.insert(
            "x-project-id",
            HeaderValue::from_static("0123456789abcdef0123456789abcdef"),
        );
        Request {
            method: Method::POST,
            uri: "/v2/0123456789abcdef0123456789abcdef/fgs/functions/urn%3Afss%3Acn-north-4%3Ap%3Afunction%3Adefault%3Ahello%3Alatest/invocations?b=2&a=1"
                .parse()
                .unwrap(),
            headers,
            body: body.to_vec(),
        }
    }

    fn sign(&self, key: &SigningKey) -> Authorization {
        let signed = key
            .sign(&self.method, &self.uri, &self.headers, &self.body, DATE)
            .unwrap();
        let authorization = Authorization::parse(&signed.authorization).unwrap();
        assert_eq!(authorization.to_string(), signed.authorization);
        assert_eq!(authorization.algorithm, key.algorithm());
        authorization
    }

    /// [`verify`] with `secret_key` and [`verify_with`] with `key` at `now`; both must agree.
    fn verify_at(
        &self,
        authorization: &Authorization,
        secret_key: &str,
        key: &SigningKey,
        now: SystemTime,
    ) -> Result<(), VerifyError> {
        let input = VerifyInput {
            method: &self.method,
            uri: &self.uri,
            headers: &self.headers,
            body: &self.body,
            authorization,
        };
        let with_secret = verify(&input, secret_key.as_bytes(), now);
        let with_key = verify_with(&input, key, now);
        assert_eq!(with_secret, with_key);
        with_key
    }

    fn verify(&self, authorization: &Authorization, key: &SigningKey) -> Result<(), VerifyError> {
        self.verify_at(authorization, SK, key, parse_sdk_date(DATE).unwrap())
    }
}

/// A change to a request, for the tampering test.
type Change = Box<dyn Fn(&mut Request)>;

fn is_mismatch(result: Result<(), VerifyError>) -> bool {
    matches!(result, Err(VerifyError::SignatureMismatch { .. }))
}

fn malformed_kind(result: Result<(), VerifyError>) -> SigningErrorKind {
    match result {
        Err(VerifyError::Malformed(error)) => error.kind(),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn every_algorithm_round_trips() {
    for algorithm in Algorithm::ALL {
        let key = key(algorithm);
        for (body, content_type) in [
            (&br#"{"k": "v"}"#[..], "application/json"),
            (b"", "application/json"),
            (b"\x00\xff raw bytes", "application/octet-stream"),
        ] {
            let mut request = Request::new(body, content_type);
            if fgs_signing::wants_unsigned_payload(Some(content_type)) {
                request
                    .headers
                    .insert(algorithm.content_header(), HeaderValue::from_static(UNSIGNED_PAYLOAD));
            }
            let authorization = request.sign(&key);
            request
                .verify(&authorization, &key)
                .unwrap_or_else(|error| panic!("{algorithm} {content_type}: {error}"));
            // A key made again from the same pair verifies too.
            request
                .verify(&authorization, &self::key(algorithm))
                .unwrap_or_else(|error| panic!("{algorithm} {content_type}: {error}"));
        }
    }
}

#[test]
fn any_change_to_a_signed_part_is_detected() {
    for algorithm in Algorithm::ALL {
        let key = key(algorithm);
        let request = Request::new(br#"{"k": "v"}"#, "application/json");
        let authorization = request.sign(&key);
        let changes: Vec<(&str, Change)> = vec![
            ("method", Box::new(|r| r.method = Method::PUT)),
            ("path", Box::new(|r| r.uri = "/v2/other?b=2&a=1".parse().unwrap())),
            (
                "query",
                Box::new(|r| {
                    r.uri = format!("{}?b=2&a=2", r.uri.path()).parse().unwrap();
                }),
            ),
            ("body", Box::new(|r| r.body = br#"{"k": "w"}"#.to_vec())),
            (
                "signed header",
                Box::new(|r| {
                    r.headers.insert("x-project-id", HeaderValue::from_static("other"));
                }),
            ),
            (
                "content header added",
                Box::new(|r| {
                    r.headers.insert(
                        HeaderName::from_static("x-sdk-content-sha256"),
                        HeaderValue::from_static(UNSIGNED_PAYLOAD),
                    );
                    r.headers.insert(
                        HeaderName::from_static("x-sdk-content-sm3"),
                        HeaderValue::from_static(UNSIGNED_PAYLOAD),
                    );
                }),
            ),
        ];
        for (what, change) in changes {
            let mut changed = request.clone();
            change(&mut changed);
            assert!(is_mismatch(changed.verify(&authorization, &key)), "{algorithm}: {what}");
        }
        // An unsigned header may change.
        let mut changed = request.clone();
        changed
            .headers
            .insert("x_unsigned", HeaderValue::from_static("anything"));
        changed.verify(&authorization, &key).unwrap();

        // A changed signature.
        let mut tampered = authorization.clone();
        let last = tampered.signature.pop().unwrap();
        tampered.signature.push(if last == 'a' { 'b' } else { 'a' });
        assert!(is_mismatch(request.verify(&tampered, &key)), "{algorithm}: signature");
        let mut truncated = authorization.clone();
        truncated.signature.truncate(10);
        assert!(is_mismatch(request.verify(&truncated, &key)), "{algorithm}: truncated");

        // A removed signed header.
        let mut removed = request.clone();
        removed.headers.remove("x-project-id");
        assert_eq!(
            malformed_kind(removed.verify(&authorization, &key)),
            SigningErrorKind::MissingSignedHeader
        );
    }
}

#[test]
fn wrong_keys_are_rejected() {
    for algorithm in Algorithm::ALL {
        let key = key(algorithm);
        let request = Request::new(b"{}", "application/json");
        let authorization = request.sign(&key);
        let now = parse_sdk_date(DATE).unwrap();

        // Another secret key for the same access key.
        let other_secret = SigningKey::new(algorithm, AK, b"another secret").unwrap();
        assert!(
            is_mismatch(request.verify_at(&authorization, "another secret", &other_secret, now)),
            "{algorithm}"
        );

        // A kept key for another access key, or another algorithm.
        let input = VerifyInput {
            method: &request.method,
            uri: &request.uri,
            headers: &request.headers,
            body: &request.body,
            authorization: &authorization,
        };
        let other_ak = SigningKey::new(algorithm, "AKOTHER", SK.as_bytes()).unwrap();
        assert_eq!(
            malformed_kind(verify_with(&input, &other_ak, now)),
            SigningErrorKind::KeyMismatch
        );
        for other in Algorithm::ALL.into_iter().filter(|other| *other != algorithm) {
            let other_key = self::key(other);
            assert_eq!(
                malformed_kind(verify_with(&input, &other_key, now)),
                SigningErrorKind::KeyMismatch
            );
            // The header claiming another algorithm: its signature is not that algorithm's.
            let relabelled = Authorization {
                algorithm: other,
                credential_scope: other
                    .needs_scope()
                    .then(|| Scope::new("cn-north-4", "functiongraph").unwrap())
                    .map(|scope| fgs_signing::CredentialScope {
                        date: DATE[..8].to_owned(),
                        region: scope.region().to_owned(),
                        service: scope.service().to_owned(),
                    }),
                ..authorization.clone()
            };
            assert!(
                is_mismatch(request.verify_at(&relabelled, SK, &other_key, now)),
                "{algorithm} as {other}"
            );
        }
    }
}

#[test]
fn stale_dates_are_rejected() {
    for algorithm in Algorithm::ALL {
        let key = key(algorithm);
        let request = Request::new(b"{}", "application/json");
        let authorization = request.sign(&key);
        let date = parse_sdk_date(DATE).unwrap();
        for offset in [Duration::from_secs(14 * 60), Duration::from_secs(15 * 60)] {
            request.verify_at(&authorization, SK, &key, date + offset).unwrap();
            request.verify_at(&authorization, SK, &key, date - offset).unwrap();
        }
        for now in [
            date + Duration::from_secs(15 * 60 + 1),
            date - Duration::from_secs(16 * 60),
        ] {
            let error = request.verify_at(&authorization, SK, &key, now).unwrap_err();
            assert!(matches!(error, VerifyError::ClockSkew { .. }), "{algorithm}: {error}");
        }
    }
}

#[test]
fn v11_scopes_must_agree() {
    let key = key(Algorithm::V11HmacSha256);
    let request = Request::new(b"{}", "application/json");
    let authorization = request.sign(&key);
    let now = parse_sdk_date(DATE).unwrap();
    let scope = authorization.credential_scope.clone().unwrap();
    assert_eq!(scope.to_string(), "20240229/cn-north-4/functiongraph");

    // A kept key for another region or service.
    let input = |authorization| VerifyInput {
        method: &request.method,
        uri: &request.uri,
        headers: &request.headers,
        body: &request.body,
        authorization,
    };
    for (region, service) in [("cn-north-1", "functiongraph"), ("cn-north-4", "iam")] {
        let other = SigningKey::new(Algorithm::V11HmacSha256, AK, SK.as_bytes())
            .unwrap()
            .with_scope(Scope::new(region, service).unwrap());
        assert_eq!(
            malformed_kind(verify_with(&input(&authorization), &other, now)),
            SigningErrorKind::KeyMismatch
        );
    }
    // A key without a scope takes the header's.
    let unscoped = SigningKey::new(Algorithm::V11HmacSha256, AK, SK.as_bytes()).unwrap();
    verify_with(&input(&authorization), &unscoped, now).unwrap();

    // The header naming another region: another derived key.
    let mut moved = authorization.clone();
    moved.credential_scope = Some(fgs_signing::CredentialScope {
        region: "cn-north-1".to_owned(),
        ..scope.clone()
    });
    assert!(is_mismatch(verify(&input(&moved), SK.as_bytes(), now)));
    assert!(is_mismatch(verify_with(&input(&moved), &unscoped, now)));

    // The header naming another day than X-Sdk-Date.
    let mut other_day = authorization.clone();
    other_day.credential_scope = Some(fgs_signing::CredentialScope {
        date: "20240228".to_owned(),
        ..scope
    });
    assert_eq!(
        malformed_kind(verify(&input(&other_day), SK.as_bytes(), now)),
        SigningErrorKind::DateMismatch
    );

    // A hand-made V11 header without a scope.
    let mut no_scope = authorization.clone();
    no_scope.credential_scope = None;
    assert_eq!(
        malformed_kind(verify(&input(&no_scope), SK.as_bytes(), now)),
        SigningErrorKind::InvalidAuthorization
    );
}

/// With `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` and an empty body, Huawei's Python signer
/// signs the empty body's hash and its Go signer (like fgs) `UNSIGNED-PAYLOAD`: `verify`
/// accepts both, and nothing else.
#[test]
fn both_payload_hashes_of_an_unsigned_empty_body_verify() {
    let mut request = Request::new(b"", "application/octet-stream");
    request
        .headers
        .insert(CONTENT_SHA256, HeaderValue::from_static(UNSIGNED_PAYLOAD));
    let signed_headers = fgs_signing::default_signed_headers(&request.headers);
    let now = parse_sdk_date(DATE).unwrap();
    let key = key(Algorithm::HmacSha256);
    for (payload_hash, accepted) in [
        (UNSIGNED_PAYLOAD, true),
        (EMPTY_PAYLOAD_SHA256, true),
        (fgs_signing::EMPTY_PAYLOAD_SM3, false),
        ("UNSIGNED-PAYLOAD ", false),
    ] {
        let canonical = canonical_request(
            &request.method,
            &request.uri,
            &request.headers,
            &signed_headers,
            payload_hash,
        )
        .unwrap();
        let header = fgs_signing::authorization(
            AK,
            &signed_headers,
            &signature(SK.as_bytes(), &string_to_sign(DATE, &canonical)),
        );
        let authorization = Authorization::parse(&header).unwrap();
        let result = request.verify_at(&authorization, SK, &key, now);
        assert_eq!(result.is_ok(), accepted, "{payload_hash:?}: {result:?}");
    }
    // With a body, only the header's value counts.
    let mut with_body = request.clone();
    with_body.body = b"x".to_vec();
    let canonical = canonical_request(
        &with_body.method,
        &with_body.uri,
        &with_body.headers,
        &signed_headers,
        &fgs_signing::payload_hash(&HeaderMap::new(), b"x"),
    )
    .unwrap();
    let header = fgs_signing::authorization(
        AK,
        &signed_headers,
        &signature(SK.as_bytes(), &string_to_sign(DATE, &canonical)),
    );
    let authorization = Authorization::parse(&header).unwrap();
    assert!(is_mismatch(with_body.verify_at(&authorization, SK, &key, now)));
}
