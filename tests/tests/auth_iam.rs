//! IAM tokens against the emulator's IAM endpoint and FunctionGraph API, over real TCP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use fgs::auth::{IamTokenAuth, ManualClock};
use fgs::{Client, Error, FunctionUrn};
use fgs_emulator::{Emulator, Fault, FaultRule, Function, Handler};
use serde_json::json;

const DOMAIN: &str = "acme";
const USER: &str = "alice";
const PASSWORD: &str = "correct horse battery staple";

async fn emulator(token_lifetime: Duration) -> Emulator {
    let echo = Handler::from_fn(|event, _| async move { Ok(event) });
    Emulator::builder()
        .iam_user(DOMAIN, USER, PASSWORD)
        .token_lifetime(token_lifetime)
        .function(Function::new("default", "echo", echo))
        .start()
        .await
        .unwrap()
}

fn auth(emulator: &Emulator, clock: &ManualClock) -> IamTokenAuth {
    IamTokenAuth::builder()
        .endpoint(emulator.endpoint())
        .password(DOMAIN, USER, PASSWORD)
        .project_name(emulator.region())
        .clock(clock.clone())
        .build()
        .unwrap()
}

fn client(emulator: &Emulator, auth: IamTokenAuth) -> Client {
    Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(auth)
        .build()
        .unwrap()
}

fn urn(emulator: &Emulator) -> FunctionUrn {
    emulator.urn("default", "echo", None).parse().unwrap()
}

fn token_requests(emulator: &Emulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v3/auth/tokens"))
        .count()
}

/// Waits (up to 10 s) until the emulator has seen `count` token requests: renewals inside
/// the window run in the background.
async fn until_token_requests(emulator: &Emulator, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while token_requests(emulator) < count {
        assert!(
            Instant::now() < deadline,
            "only {} token requests",
            token_requests(emulator)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn fetches_once_and_reuses_the_token() {
    let emulator = emulator(Duration::from_secs(24 * 3600)).await;
    let client = client(&emulator, auth(&emulator, &ManualClock::new(SystemTime::now())));
    for i in 0..3 {
        let out = client
            .invoke(urn(&emulator))
            .json(&json!({ "i": i }))
            .send()
            .await
            .unwrap();
        assert_eq!(out.result_json::<serde_json::Value>().unwrap(), json!({ "i": i }));
    }
    assert_eq!(token_requests(&emulator), 1);
    let token_request = &emulator.requests()[0];
    assert_eq!(token_request.path, "/v3/auth/tokens?nocatalog=true");
    let body: serde_json::Value = serde_json::from_slice(&token_request.body).unwrap();
    assert_eq!(body["auth"]["identity"]["methods"], json!(["password"]));
    assert_eq!(body["auth"]["scope"]["project"]["name"], emulator.region());
}

#[tokio::test]
async fn renews_ahead_of_expiry() {
    let emulator = emulator(Duration::from_secs(24 * 3600)).await;
    let clock = ManualClock::new(SystemTime::now());
    let client = client(&emulator, auth(&emulator, &clock));
    client.invoke(urn(&emulator)).send().await.unwrap();
    // Still well before the refresh window.
    clock.advance(Duration::from_secs(23 * 3600));
    client.invoke(urn(&emulator)).send().await.unwrap();
    assert_eq!(token_requests(&emulator), 1);
    // Inside the window (10 min + up to 5 min of jitter before expiry).
    clock.advance(Duration::from_secs(3600 - 5 * 60));
    client.invoke(urn(&emulator)).send().await.unwrap();
    until_token_requests(&emulator, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_calls_share_one_token_request() {
    let emulator = emulator(Duration::from_secs(24 * 3600)).await;
    let client = client(&emulator, auth(&emulator, &ManualClock::new(SystemTime::now())));
    let urn = Arc::new(urn(&emulator));
    let calls: Vec<_> = (0..100)
        .map(|i| {
            let (client, urn) = (client.clone(), Arc::clone(&urn));
            tokio::spawn(async move {
                client
                    .invoke(urn.as_ref())
                    .json(&json!({ "i": i }))
                    .send()
                    .await
                    .map(|_| ())
            })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(token_requests(&emulator), 1);
    assert_eq!(emulator.invocation_count("default", "echo"), 100);
}

#[tokio::test]
async fn a_failed_renewal_keeps_the_still_valid_token() {
    let emulator = emulator(Duration::from_secs(24 * 3600)).await;
    let clock = ManualClock::new(SystemTime::now());
    let client = client(&emulator, auth(&emulator, &clock));
    client.invoke(urn(&emulator)).send().await.unwrap();
    clock.advance(Duration::from_secs(24 * 3600 - 60));
    emulator.inject(FaultRule::once(Fault::error(503, "IAM.0001", "IAM is unavailable")).for_iam());
    client.invoke(urn(&emulator)).send().await.unwrap();
    until_token_requests(&emulator, 2).await;
    // Calls during the backoff (5 s at most for the first failure) do not ask IAM.
    tokio::time::sleep(Duration::from_millis(100)).await;
    client.invoke(urn(&emulator)).send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(token_requests(&emulator), 2, "no retry during the backoff");
    // After it, the next call tries again, and succeeds.
    clock.advance(Duration::from_secs(5));
    client.invoke(urn(&emulator)).send().await.unwrap();
    until_token_requests(&emulator, 3).await;
}

#[tokio::test]
async fn a_failed_renewal_after_expiry_is_an_auth_error_and_sends_nothing() {
    let emulator = emulator(Duration::from_secs(24 * 3600)).await;
    let clock = ManualClock::new(SystemTime::now());
    let client = client(&emulator, auth(&emulator, &clock));
    client.invoke(urn(&emulator)).send().await.unwrap();
    clock.advance(Duration::from_secs(25 * 3600));
    emulator.inject(FaultRule::once(Fault::error(503, "IAM.0001", "IAM is unavailable")).for_iam());
    let err = client.invoke(urn(&emulator)).send().await.unwrap_err();
    assert!(matches!(err, Error::Auth(_)), "{err:?}");
    assert!(err.is_retry_safe());
    assert!(err.to_string().contains("HTTP 503"), "{err}");
    assert_eq!(emulator.invocation_count("default", "echo"), 1);
}

/// The service says the token expired before our clock does: drop it, renew, send again.
///
/// The gateway's "expired" is an injected `401 APIGW.0307` for the second call rather than
/// a token that really lives half a second: a lifetime that short races the clock on a
/// loaded machine (the first call could already find its token expired).
#[tokio::test]
async fn a_token_that_expires_mid_run_is_renewed_and_the_call_sent_once_more() {
    let emulator = emulator(Duration::from_secs(24 * 3600)).await;
    // This clock never moves and nothing is renewed early, so the provider believes its
    // token is fresh until the service says otherwise.
    let auth = IamTokenAuth::builder()
        .endpoint(emulator.endpoint())
        .password(DOMAIN, USER, PASSWORD)
        .project_name(emulator.region())
        .clock(ManualClock::new(SystemTime::now()))
        .refresh_window(Duration::ZERO)
        .build()
        .unwrap();
    let client = client(&emulator, auth);
    client.invoke(urn(&emulator)).send().await.unwrap();
    emulator.inject(FaultRule::once(Fault::error(
        401,
        fgs::ErrorCode::TokenExpired.as_str(),
        "the token has expired",
    )));
    let out = client
        .invoke(urn(&emulator))
        .json(&json!({ "after": "expiry" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.result_json::<serde_json::Value>().unwrap(),
        json!({ "after": "expiry" })
    );
    assert_eq!(token_requests(&emulator), 2);
    // The refused request never ran the function: one run per call.
    assert_eq!(emulator.invocation_count("default", "echo"), 2);
    let refused = emulator
        .requests()
        .iter()
        .filter(|r| r.path.contains("/invocations"))
        .count();
    assert_eq!(refused, 3, "two calls, one of them sent twice");
}

#[tokio::test]
async fn a_wrong_password_is_an_auth_error_without_the_password() {
    let emulator = emulator(Duration::from_secs(3600)).await;
    let auth = IamTokenAuth::builder()
        .endpoint(emulator.endpoint())
        .password(DOMAIN, USER, "wrong password 123")
        .project_name(emulator.region())
        .build()
        .unwrap();
    let err = client(&emulator, auth).invoke(urn(&emulator)).send().await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("The username or password is wrong"), "{text}");
    assert!(!text.contains("wrong password 123"), "{text}");
    assert_eq!(emulator.request_count(), 1, "only the token request was sent");
}

#[tokio::test]
async fn an_agency_token_comes_from_assume_role() {
    let emulator = emulator(Duration::from_secs(3600)).await;
    let caller = auth(&emulator, &ManualClock::new(SystemTime::now()));
    let agency = IamTokenAuth::builder()
        .endpoint(emulator.endpoint())
        .assume_role(caller, "partner-account", "fgs-invoker")
        .assume_role_duration(Duration::from_secs(3600))
        .project_id(emulator.project_id())
        .build()
        .unwrap();
    client(&emulator, agency).invoke(urn(&emulator)).send().await.unwrap();
    let requests = emulator.requests();
    let role_request = requests
        .iter()
        .rfind(|r| r.path.starts_with("/v3/auth/tokens"))
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&role_request.body).unwrap();
    assert_eq!(body["auth"]["identity"]["assume_role"]["agency_name"], "fgs-invoker");
    assert_eq!(body["auth"]["identity"]["assume_role"]["duration_seconds"], 3600);
    assert!(
        role_request.headers.contains_key("x-auth-token"),
        "authorised by the caller's token"
    );
    assert_eq!(token_requests(&emulator), 2);
}

#[tokio::test]
async fn an_issued_token_is_used_until_it_expires() {
    let emulator = emulator(Duration::from_secs(3600)).await;
    let token = emulator.issue_token();
    let auth = IamTokenAuth::from_token(token.as_str(), Some(SystemTime::now() + Duration::from_secs(3600)));
    client(&emulator, auth).invoke(urn(&emulator)).send().await.unwrap();

    let expired = IamTokenAuth::from_token(token.as_str(), Some(SystemTime::now() - Duration::from_secs(1)));
    let err = client(&emulator, expired)
        .invoke(urn(&emulator))
        .send()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("has expired"), "{err}");
    assert!(!format!("{err:?}").contains(&token));
}

#[test]
fn passwords_never_print_and_endpoints_are_checked() {
    let auth = IamTokenAuth::builder()
        .endpoint("https://iam.example.com")
        .password(DOMAIN, USER, PASSWORD)
        .project_name("cn-north-4")
        .build()
        .unwrap();
    assert!(!format!("{auth:?}").contains(PASSWORD));
    let insecure = IamTokenAuth::builder()
        .endpoint("http://iam.example.com")
        .password(DOMAIN, USER, PASSWORD)
        .project_name("cn-north-4")
        .build()
        .unwrap_err();
    assert!(insecure.to_string().contains("plain http"), "{insecure}");
    let unscoped = IamTokenAuth::builder()
        .endpoint("https://iam.example.com")
        .password(DOMAIN, USER, PASSWORD)
        .build();
    assert!(unscoped.unwrap_err().to_string().contains("project"));
}
