//! The client authenticates every way the service allows, against the emulator, which
//! verifies each as the API gateway does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::time::{Duration, SystemTime};

use fgs::auth::{AkSkAuth, Auth, Credentials, IamTokenAuth, ManualClock, StaticToken};
use fgs::{Client, Error, ErrorCode, FunctionUrn};
use fgs_emulator::{Emulator, Function, Handler};
use serde_json::json;

const AK: &str = "AKE2ETEST00000000001";
const SK: &str = "SKe2eTest0123456789abcdefghijklmnopqrst";

async fn emulator() -> Emulator {
    let echo = Handler::from_fn(|event, ctx| async move {
        ctx.log("echoing");
        Ok(event)
    });
    Emulator::builder()
        .access_key(AK, SK)
        .iam_user("acme", "alice", "s3cret-password")
        .token("static-token")
        .function(Function::new("default", "echo", echo).alias("prod", "latest"))
        .start()
        .await
        .unwrap()
}

fn client(emulator: &Emulator, auth: impl Auth + 'static) -> Client {
    Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(auth)
        .build()
        .unwrap()
}

/// A sync call with a log tail, an alias URN and an async call: each must authenticate.
async fn exercise(emulator: &Emulator, client: &Client) {
    let urn: FunctionUrn = emulator.urn("default", "echo", Some("!prod")).parse().unwrap();
    let out = client
        .invoke(&urn)
        .json(&json!({ "n": 1 }))
        .log_tail(true)
        .send()
        .await
        .unwrap();
    assert_eq!(out.result_json::<serde_json::Value>().unwrap(), json!({ "n": 1 }));
    assert!(out.log().unwrap().contains("echoing"));
    let queued = client.invoke_async(&urn).json(&json!({ "n": 2 })).send().await.unwrap();
    let run = emulator
        .wait_for_invocation(queued.request_id(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(run.event, json!({ "n": 2 }));
}

#[tokio::test]
async fn with_a_permanent_access_key() {
    let emulator = emulator().await;
    exercise(&emulator, &client(&emulator, AkSkAuth::new(Credentials::new(AK, SK)))).await;
    let request = &emulator.requests()[0];
    let authorization = request.headers["authorization"].to_str().unwrap();
    assert!(
        authorization.starts_with(&format!("SDK-HMAC-SHA256 Access={AK}, SignedHeaders=")),
        "{authorization}"
    );
    assert_eq!(request.headers["x-project-id"], emulator.project_id());
    assert!(
        request.path.contains("%3A%21prod/invocations"),
        "the alias is signed as sent: {}",
        request.path
    );
}

/// Every signing algorithm of the official SDKs, each verified by the emulator (ECDSA and
/// SM2 with the public key derived from its AK/SK), also with temporary credentials; a
/// wrong secret key fails whatever the algorithm.
#[tokio::test]
async fn with_every_signing_algorithm() {
    use fgs::auth::SigningAlgorithm;

    let emulator = emulator().await;
    let (ak, sk, token) = emulator.issue_temporary_credentials(Duration::from_secs(900));
    for algorithm in SigningAlgorithm::ALL {
        let with = |credentials: Credentials| match algorithm {
            SigningAlgorithm::V11HmacSha256 => AkSkAuth::new(credentials).derived_auth_service("functiongraph"),
            other => AkSkAuth::new(credentials).signing_algorithm(other),
        };
        let before = emulator.requests().len();
        exercise(&emulator, &client(&emulator, with(Credentials::new(AK, SK)))).await;
        let temporary = Credentials::temporary(ak.clone(), sk.clone(), token.clone(), None);
        exercise(&emulator, &client(&emulator, with(temporary))).await;
        for request in &emulator.requests()[before..] {
            let authorization = request.headers["authorization"].to_str().unwrap();
            assert!(authorization.starts_with(algorithm.name()), "{authorization}");
        }
        let wrong = client(&emulator, with(Credentials::new(AK, "not-the-secret-key")));
        let urn: FunctionUrn = emulator.urn("default", "echo", None).parse().unwrap();
        let error = wrong.invoke(&urn).send().await.unwrap_err();
        assert_eq!(error.status().map(|s| s.as_u16()), Some(401), "{algorithm:?}: {error}");
    }
}

#[tokio::test]
async fn with_temporary_credentials_and_a_security_token() {
    let emulator = emulator().await;
    let (ak, sk, token) = emulator.issue_temporary_credentials(Duration::from_secs(900));
    let credentials = Credentials::temporary(
        ak,
        sk,
        token.as_str(),
        Some(SystemTime::now() + Duration::from_secs(900)),
    );
    exercise(&emulator, &client(&emulator, AkSkAuth::new(credentials))).await;
    assert_eq!(emulator.requests()[0].headers["x-security-token"], token.as_str());
}

#[tokio::test]
async fn with_an_iam_token_from_a_password() {
    let emulator = emulator().await;
    let auth = IamTokenAuth::builder()
        .endpoint(emulator.endpoint())
        .password("acme", "alice", "s3cret-password")
        .project_name(emulator.region())
        .build()
        .unwrap();
    exercise(&emulator, &client(&emulator, auth)).await;
    let token_requests = emulator
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v3/auth/tokens"))
        .count();
    assert_eq!(token_requests, 1);
}

#[tokio::test]
async fn with_a_static_token() {
    let emulator = emulator().await;
    exercise(&emulator, &client(&emulator, StaticToken::new("static-token"))).await;
}

#[tokio::test]
async fn a_wrong_secret_key_is_refused_by_the_gateway() {
    let emulator = emulator().await;
    let client = client(&emulator, AkSkAuth::new(Credentials::new(AK, "not-the-secret")));
    let urn: FunctionUrn = emulator.urn("default", "echo", None).parse().unwrap();
    let err = client.invoke(&urn).send().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::IncorrectAuthentication));
    assert!(err.is_retry_safe(), "refused at the gateway, the function did not run");
    assert!(!format!("{err} {err:?}").contains("not-the-secret"));
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}

#[tokio::test]
async fn a_skewed_clock_is_reported_as_an_expired_signature() {
    let emulator = emulator().await;
    let twenty_minutes_slow = ManualClock::new(SystemTime::now() - Duration::from_secs(20 * 60));
    let client = client(
        &emulator,
        AkSkAuth::new(Credentials::new(AK, SK)).with_clock(twenty_minutes_slow),
    );
    let urn: FunctionUrn = emulator.urn("default", "echo", None).parse().unwrap();
    let err = client.invoke(&urn).send().await.unwrap_err();
    let Error::Service(service) = &err else {
        panic!("expected a service error, got {err:?}")
    };
    assert_eq!(service.code(), Some(&ErrorCode::SignatureExpired));
    assert_eq!(service.status(), 401);
    assert!(err.to_string().contains("signature expired"), "{err}");
}
