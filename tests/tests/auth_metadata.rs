//! Instance metadata credentials against the emulator's metadata routes, over real TCP on
//! 127.0.0.1, and an invocation signed with them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use fgs::auth::AuthErrorKind;
use fgs::auth::{
    AkSkAuth, Clock, CredentialChain, CredentialSource, EnvironmentCredentials, ManualClock, MetadataCredentials,
    ProfileCredentials, ProvideCredentials,
};
use fgs::{Client, FunctionUrn};
use fgs_emulator::{Emulator, Function, Handler};
use serde_json::json;

const LIFETIME: Duration = Duration::from_secs(3600);
const TOKEN_PATH: &str = "/meta-data/latest/api/token";
const SECURITY_KEY_PATH: &str = "/openstack/latest/securitykey";

async fn emulator() -> Emulator {
    let echo = Handler::from_fn(|event, _| async move { Ok(event) });
    Emulator::builder()
        .metadata_credentials(LIFETIME)
        .function(Function::new("default", "echo", echo))
        .start()
        .await
        .unwrap()
}

fn metadata(emulator: &Emulator, clock: &ManualClock) -> MetadataCredentials {
    MetadataCredentials::new()
        .with_endpoint(emulator.endpoint())
        .with_clock(clock.clone())
}

/// How many requests went to `path`.
fn requests_to(emulator: &Emulator, method: &str, path: &str) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r.method == method && r.path == path)
        .count()
}

#[tokio::test]
async fn first_fetch_gets_a_session_token_then_temporary_credentials() {
    let emulator = emulator().await;
    let clock = ManualClock::new(SystemTime::now());
    let credentials = metadata(&emulator, &clock).provide_credentials().await.unwrap();

    assert!(credentials.access_key().starts_with("TMPAK"), "{credentials:?}");
    assert!(credentials.security_token().is_some());
    let expires_at = credentials.expires_at().unwrap();
    let left = expires_at.duration_since(clock.now()).unwrap();
    assert!(
        left > LIFETIME - Duration::from_secs(60) && left < LIFETIME + Duration::from_secs(60),
        "{left:?}"
    );

    let requests = emulator.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("PUT", TOKEN_PATH)
    );
    assert_eq!(requests[0].headers["x-metadata-token-ttl-seconds"], "21600");
    assert_eq!(
        (requests[1].method.as_str(), requests[1].path.as_str()),
        ("GET", SECURITY_KEY_PATH)
    );
    assert!(requests[1].headers.contains_key("x-metadata-token"));
}

#[tokio::test]
async fn valid_credentials_are_reused_without_requests() {
    let emulator = emulator().await;
    let clock = ManualClock::new(SystemTime::now());
    let metadata = metadata(&emulator, &clock);
    let first = metadata.provide_credentials().await.unwrap();
    let count = emulator.request_count();
    clock.advance(Duration::from_secs(49 * 60)); // still outside the 10-minute refresh window
    for _ in 0..5 {
        let again = metadata.provide_credentials().await.unwrap();
        assert_eq!(again.access_key(), first.access_key());
    }
    let clone = metadata.clone();
    assert_eq!(
        clone.provide_credentials().await.unwrap().access_key(),
        first.access_key(),
        "clones share the cache"
    );
    assert_eq!(emulator.request_count(), count);
}

#[tokio::test]
async fn credentials_are_refreshed_near_expiry() {
    let emulator = emulator().await;
    let clock = ManualClock::new(SystemTime::now());
    let metadata = metadata(&emulator, &clock);
    let first = metadata.provide_credentials().await.unwrap();
    clock.advance(Duration::from_secs(51 * 60)); // inside the 10-minute window
    // Still valid: returned at once while the refresh runs in the background.
    let kept = metadata.provide_credentials().await.unwrap();
    assert_eq!(kept.access_key(), first.access_key());
    let second = until_new(&metadata, first.access_key()).await;
    assert_ne!(second.access_key(), first.access_key());
    assert_eq!(requests_to(&emulator, "GET", SECURITY_KEY_PATH), 2);
    assert_eq!(
        requests_to(&emulator, "PUT", TOKEN_PATH),
        1,
        "the session token is reused"
    );
}

#[tokio::test]
async fn a_configurable_refresh_window() {
    let emulator = emulator().await;
    let clock = ManualClock::new(SystemTime::now());
    let metadata = metadata(&emulator, &clock).with_refresh_window(Duration::from_secs(30 * 60));
    metadata.provide_credentials().await.unwrap();
    clock.advance(Duration::from_secs(29 * 60));
    metadata.provide_credentials().await.unwrap();
    assert_eq!(requests_to(&emulator, "GET", SECURITY_KEY_PATH), 1);
    clock.advance(Duration::from_secs(2 * 60));
    let first = metadata.provide_credentials().await.unwrap();
    until_new(&metadata, first.access_key()).await;
    assert_eq!(requests_to(&emulator, "GET", SECURITY_KEY_PATH), 2);
}

/// Waits (up to 10 s) for credentials other than `old`: a refresh inside the window runs
/// in the background.
async fn until_new(metadata: &MetadataCredentials, old: &str) -> fgs::auth::Credentials {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let credentials = metadata.provide_credentials().await.unwrap();
        if credentials.access_key() != old {
            return credentials;
        }
        assert!(std::time::Instant::now() < deadline, "no refresh");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_failed_refresh_keeps_still_valid_credentials() {
    let emulator = emulator().await;
    let clock = ManualClock::new(SystemTime::now());
    let metadata = metadata(&emulator, &clock);
    let first = metadata.provide_credentials().await.unwrap();
    emulator.shutdown().await;

    clock.advance(Duration::from_secs(55 * 60)); // due for refresh, five minutes left
    let kept = metadata.provide_credentials().await.unwrap();
    assert_eq!(kept.access_key(), first.access_key());

    clock.advance(Duration::from_secs(6 * 60)); // expired: nothing to fall back on
    let err = metadata.provide_credentials().await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Provider);
    assert!(
        err.to_string()
            .starts_with("could not reach the metadata service at http://127.0.0.1:"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_share_one_fetch() {
    let emulator = emulator().await;
    let metadata = MetadataCredentials::new().with_endpoint(emulator.endpoint());
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let metadata = metadata.clone();
            tokio::spawn(async move { metadata.provide_credentials().await })
        })
        .collect();
    let mut access_keys = Vec::new();
    for task in tasks {
        access_keys.push(task.await.unwrap().unwrap().access_key().to_owned());
    }
    access_keys.dedup();
    assert_eq!(access_keys.len(), 1, "{access_keys:?}");
    assert_eq!(requests_to(&emulator, "GET", SECURITY_KEY_PATH), 1);
    assert_eq!(requests_to(&emulator, "PUT", TOKEN_PATH), 1);
}

#[tokio::test]
async fn invoke_signed_with_metadata_credentials_through_the_chain() {
    let emulator = emulator().await;
    // Nothing in the environment or a credentials file, whatever this machine has.
    let chain = CredentialChain::default_chain()
        .with_environment(EnvironmentCredentials::from_lookup(|_| None))
        .with_profile(ProfileCredentials::from_path(concat!(
            env!("CARGO_TARGET_TMPDIR"),
            "/no-such-dir/credentials"
        )))
        .with_metadata(MetadataCredentials::new().with_endpoint(emulator.endpoint()));
    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(AkSkAuth::new(chain.clone()))
        .build()
        .unwrap();
    let urn: FunctionUrn = emulator.urn("default", "echo", None).parse().unwrap();

    for n in 0..2 {
        let output = client.invoke(&urn).json(&json!({ "n": n })).send().await.unwrap();
        assert_eq!(output.result_json::<serde_json::Value>().unwrap(), json!({ "n": n }));
    }
    assert_eq!(chain.resolved_source(), Some(CredentialSource::Metadata));
    assert_eq!(chain.project_id().await.unwrap(), None, "metadata has no project id");
    assert_eq!(
        requests_to(&emulator, "GET", SECURITY_KEY_PATH),
        1,
        "the chain keeps the metadata credentials"
    );

    let invocations = emulator.invocations();
    assert_eq!(invocations.len(), 2);
    let headers = &invocations[0].headers;
    let authorization = headers["authorization"].to_str().unwrap();
    assert!(
        authorization.starts_with("SDK-HMAC-SHA256 Access=TMPAK"),
        "{authorization}"
    );
    assert!(authorization.contains("x-security-token"), "{authorization}");
    assert!(headers.contains_key("x-security-token"));
}

#[tokio::test]
async fn invoke_signed_with_metadata_credentials_directly() {
    let emulator = emulator().await;
    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(AkSkAuth::new(
            MetadataCredentials::new().with_endpoint(emulator.endpoint()),
        ))
        .build()
        .unwrap();
    let urn: FunctionUrn = emulator.urn("default", "echo", Some("latest")).parse().unwrap();
    let output = client
        .invoke(&urn)
        .json(&json!({ "hello": "metadata" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        output.result_json::<serde_json::Value>().unwrap(),
        json!({ "hello": "metadata" })
    );
}
