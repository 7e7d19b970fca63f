//! Retries, hooks and tracing, proved against the emulator's fault injection, counting
//! executions on the emulator: a call that is not idempotent runs at most once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fgs::auth::StaticToken;
use fgs::hooks::{Hook, HookContext};
use fgs::retry::{CallInfo, NoRetry, RetryDecision, RetryPolicy, Sleep, StandardRetry};
use fgs::transport::{Delivery, TransportErrorKind};
use fgs::{Client, ClientBuilder, Error, ErrorCode, FunctionUrn, fgs_function};
use fgs_emulator::{Emulator, Fault, FaultRule, Function, Handler};
use serde_json::json;

const TOKEN: &str = "resilience-token";

/// Records every wait and returns at once, so retry tests take no real time.
#[derive(Debug, Clone, Default)]
struct RecordingSleep(Arc<Mutex<Vec<Duration>>>);

impl RecordingSleep {
    fn waits(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

impl Sleep for RecordingSleep {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.0.lock().unwrap().push(duration);
        Box::pin(async {})
    }
}

/// How long `default/slow` runs: far past every attempt timeout and deadline below, so
/// no scheduling delay on a loaded machine lets it answer in time.
const SLOW_RUN: Duration = Duration::from_secs(60);

async fn emulator() -> Emulator {
    let echo = Handler::from_fn(|event, _| async move { Ok(event) });
    let slow = Handler::from_fn(|_, _| async {
        tokio::time::sleep(SLOW_RUN).await;
        Ok(json!("late"))
    });
    Emulator::builder()
        .token(TOKEN)
        .function(Function::new("default", "echo", echo))
        .function(Function::new("default", "slow", slow).timeout(SLOW_RUN * 2))
        .start()
        .await
        .unwrap()
}

fn builder(emulator: &Emulator, sleep: &RecordingSleep) -> ClientBuilder {
    Client::builder()
        .endpoint_url(emulator.endpoint())
        .region(emulator.region())
        .project_id(emulator.project_id())
        .auth(StaticToken::new(TOKEN))
        .sleep(sleep.clone())
}

fn urn(emulator: &Emulator, name: &str) -> FunctionUrn {
    emulator.urn("default", name, None).parse().unwrap()
}

fn runs(emulator: &Emulator, name: &str) -> usize {
    emulator.invocation_count("default", name)
}

#[tokio::test]
async fn throttling_is_retried_by_default_and_the_function_runs_once() {
    let emulator = emulator().await;
    let sleep = RecordingSleep::default();
    let client = builder(&emulator, &sleep).build().unwrap();
    emulator.inject(FaultRule::once(Fault::error(
        429,
        "FSS.0429",
        "Too many concurrent requests",
    )));
    let out = client
        .invoke(urn(&emulator, "echo"))
        .json(&json!({ "a": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(out.result_json::<serde_json::Value>().unwrap(), json!({ "a": 1 }));
    assert_eq!(emulator.request_count(), 2);
    assert_eq!(runs(&emulator, "echo"), 1);
    assert_eq!(sleep.waits().len(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let emulator = emulator().await;
    let sleep = RecordingSleep::default();
    let client = builder(&emulator, &sleep).build().unwrap();
    emulator.inject(FaultRule::once(Fault::throttled(Duration::from_secs(7))));
    client.invoke(urn(&emulator, "echo")).send().await.unwrap();
    assert_eq!(sleep.waits(), [Duration::from_secs(7)]);
}

#[tokio::test]
async fn gateway_throttling_and_not_executed_codes_are_retried() {
    let emulator = emulator().await;
    let sleep = RecordingSleep::default();
    let client = builder(&emulator, &sleep).build().unwrap();
    emulator.inject(FaultRule::once(Fault::error(
        429,
        "APIGW.0308",
        "The throttling threshold has been reached",
    )));
    emulator.inject(FaultRule::once(Fault::error(
        503,
        "FSS.1402",
        "Failed to pull the image",
    )));
    client.invoke(urn(&emulator, "echo")).send().await.unwrap();
    assert_eq!(emulator.request_count(), 3);
    assert_eq!(runs(&emulator, "echo"), 1);
}

#[tokio::test]
async fn attempts_are_capped() {
    let emulator = emulator().await;
    let sleep = RecordingSleep::default();
    let client = builder(&emulator, &sleep)
        .retry_policy(StandardRetry::new().max_attempts(4))
        .build()
        .unwrap();
    emulator.inject(FaultRule::always(Fault::error(
        429,
        "FSS.0429",
        "Too many concurrent requests",
    )));
    let err = client.invoke(urn(&emulator, "echo")).send().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::TooManyRequests));
    assert_eq!(emulator.request_count(), 4);
    assert_eq!(sleep.waits().len(), 3);
    // Full jitter: each wait is at most base * 2^(n-1).
    for (i, wait) in sleep.waits().iter().enumerate() {
        assert!(*wait <= Duration::from_millis(100 * (1 << i)), "wait {i}: {wait:?}");
    }
}

#[tokio::test]
async fn a_refused_connection_is_retried_because_nothing_was_sent() {
    // Bound but never listening: refuses connections, and no other test can take the port
    // while `_socket` lives (binding port 0, dropping and reusing the number would race).
    let _socket = tokio::net::TcpSocket::new_v4().unwrap();
    _socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
    let port = _socket.local_addr().unwrap().port();
    let sleep = RecordingSleep::default();
    let client = Client::builder()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .auth(StaticToken::new(TOKEN))
        .sleep(sleep.clone())
        .build()
        .unwrap();
    let urn: FunctionUrn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:echo"
        .parse()
        .unwrap();
    let err = client.invoke(&urn).send().await.unwrap_err();
    let Error::Transport(transport) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(transport.kind(), TransportErrorKind::Connect);
    assert_eq!(sleep.waits().len(), 2, "three attempts in all");
    // reqwest names the URL in its errors; the transport strips it, so the project id and
    // the function never reach logs through an error.
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("0123456789abcdef0123456789abcdef"), "{shown}");
    assert!(!shown.contains("invocations"), "{shown}");
}

#[tokio::test]
async fn an_endpoint_with_a_password_in_it_is_refused_without_echoing_it() {
    let err = Client::builder()
        .endpoint_url("https://user:hunter2@fgs.example.com")
        .auth(StaticToken::new(TOKEN))
        .build()
        .unwrap_err();
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(err.to_string().contains("user name or password"), "{err}");
}

#[tokio::test]
async fn a_5xx_after_sending_is_not_retried_unless_idempotent() {
    let emulator = emulator().await;
    let sleep = RecordingSleep::default();
    let client = builder(&emulator, &sleep).build().unwrap();
    emulator.inject(FaultRule::once(Fault::error(500, "FSS.0500", "Internal server error")));
    let err = client.invoke(urn(&emulator, "echo")).send().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InternalServerError));
    assert_eq!(emulator.request_count(), 1);

    emulator.inject(FaultRule::once(Fault::error(502, "FSS.0502", "Bad gateway")));
    client
        .invoke(urn(&emulator, "echo"))
        .idempotent(true)
        .send()
        .await
        .unwrap();
    assert_eq!(emulator.request_count(), 3);
}

#[tokio::test]
async fn a_dropped_connection_after_the_run_is_never_retried_by_default() {
    let emulator = emulator().await;
    let sleep = RecordingSleep::default();
    let client = builder(&emulator, &sleep).build().unwrap();
    emulator.inject(FaultRule::once(Fault::DropAfterRun));
    let err = client.invoke(urn(&emulator, "echo")).send().await.unwrap_err();
    let Error::Transport(transport) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(transport.delivery(), Delivery::MaybeSent);
    assert!(!err.is_retry_safe());
    assert_eq!(runs(&emulator, "echo"), 1, "ran once, not re-sent");
    assert!(sleep.waits().is_empty());
}

#[tokio::test]
async fn an_idempotent_call_is_retried_after_a_dropped_connection() {
    let emulator = emulator().await;
    let sleep = RecordingSleep::default();
    let client = builder(&emulator, &sleep).build().unwrap();
    emulator.inject(FaultRule::once(Fault::DropAfterRun));
    client
        .invoke(urn(&emulator, "echo"))
        .idempotent(true)
        .send()
        .await
        .unwrap();
    assert_eq!(runs(&emulator, "echo"), 2, "the caller said running twice is harmless");
}

#[tokio::test]
async fn a_read_timeout_is_not_retried_unless_idempotent() {
    let emulator = emulator().await;
    let sleep = RecordingSleep::default();
    // Each attempt may take 500 ms, the whole call far longer.
    let client = builder(&emulator, &sleep)
        .attempt_timeout(Duration::from_millis(500))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let err = client.invoke(urn(&emulator, "slow")).send().await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert_eq!(emulator.request_count(), 1);

    let err = client
        .invoke(urn(&emulator, "slow"))
        .idempotent(true)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert_eq!(emulator.request_count(), 4, "idempotent: three attempts");
}

#[tokio::test]
async fn the_budget_stops_retries_during_an_outage() {
    let emulator = emulator().await;
    let sleep = RecordingSleep::default();
    // Room for two retries (5 tokens each).
    let client = builder(&emulator, &sleep)
        .retry_policy(StandardRetry::new().max_attempts(5).budget(10))
        .build()
        .unwrap();
    emulator.inject(FaultRule::always(Fault::error(
        503,
        "FSS.1402",
        "Failed to pull the image",
    )));
    assert!(client.invoke(urn(&emulator, "echo")).send().await.is_err());
    assert_eq!(emulator.request_count(), 3);
    assert!(client.invoke(urn(&emulator, "echo")).send().await.is_err());
    assert_eq!(emulator.request_count(), 4, "the empty budget allows no retry");
}

#[tokio::test]
async fn no_retry_turns_retries_off() {
    let emulator = emulator().await;
    let sleep = RecordingSleep::default();
    let client = builder(&emulator, &sleep).retry_policy(NoRetry).build().unwrap();
    emulator.inject(FaultRule::once(Fault::error(
        429,
        "FSS.0429",
        "Too many concurrent requests",
    )));
    assert!(client.invoke(urn(&emulator, "echo")).send().await.is_err());
    assert_eq!(emulator.request_count(), 1);
}

/// A user-supplied policy decides for itself, e.g. to retry everything twice.
#[derive(Debug)]
struct RetryEverything;

impl RetryPolicy for RetryEverything {
    fn decide(&self, attempt: u32, _error: &Error, _call: &CallInfo) -> RetryDecision {
        if attempt < 2 {
            RetryDecision::RetryAfter(Duration::from_millis(1))
        } else {
            RetryDecision::Stop
        }
    }
}

#[tokio::test]
async fn a_user_policy_can_retry_what_the_default_would_not() {
    let emulator = emulator().await;
    let sleep = RecordingSleep::default();
    let client = builder(&emulator, &sleep).build().unwrap();
    emulator.inject(FaultRule::once(Fault::DropAfterRun));
    client
        .invoke(urn(&emulator, "echo"))
        .retry_policy(Arc::new(RetryEverything))
        .send()
        .await
        .unwrap();
    assert_eq!(runs(&emulator, "echo"), 2);
}

#[fgs_function(function = "default/echo", idempotent)]
async fn echo_idempotent(client: &Client, input: serde_json::Value) -> Result<serde_json::Value, Error>;

#[fgs_function(function = "default/echo")]
async fn echo_once(client: &Client, input: serde_json::Value) -> Result<serde_json::Value, Error>;

#[tokio::test]
async fn only_stubs_marked_idempotent_are_re_sent() {
    let emulator = emulator().await;
    let sleep = RecordingSleep::default();
    let client = builder(&emulator, &sleep).build().unwrap();
    emulator.inject(FaultRule::once(Fault::DropAfterRun));
    assert!(echo_once(&client, json!({})).await.is_err());
    assert_eq!(runs(&emulator, "echo"), 1);
    emulator.inject(FaultRule::once(Fault::DropAfterRun));
    assert_eq!(
        echo_idempotent(&client, json!({ "x": 1 })).await.unwrap(),
        json!({ "x": 1 })
    );
    assert_eq!(runs(&emulator, "echo"), 3);
}

/// Adds a header and records what it saw.
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<String>>);

impl Hook for Recorder {
    fn before_send(
        &self,
        request: &mut fgs::http::Request<fgs::bytes::Bytes>,
        context: &HookContext<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        request
            .headers_mut()
            .insert("x-tenant", fgs::http::HeaderValue::from_static("blue"));
        self.0
            .lock()
            .unwrap()
            .push(format!("before {} attempt {}", context.operation.id, context.attempt));
        Ok(())
    }

    fn after_response(&self, response: &fgs::http::Response<fgs::bytes::Bytes>, context: &HookContext<'_>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("after {} {}", context.attempt, response.status().as_u16()));
    }
}

/// A [`Recorder`] the test keeps a handle to.
#[derive(Debug)]
struct Shared(Arc<Recorder>);

impl Hook for Shared {
    fn before_send(
        &self,
        request: &mut fgs::http::Request<fgs::bytes::Bytes>,
        context: &HookContext<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.before_send(request, context)
    }

    fn after_response(&self, response: &fgs::http::Response<fgs::bytes::Bytes>, context: &HookContext<'_>) {
        self.0.after_response(response, context)
    }
}

#[tokio::test]
async fn hooks_see_every_attempt_and_can_add_headers() {
    let emulator = emulator().await;
    let sleep = RecordingSleep::default();
    let recorder = Arc::new(Recorder::default());
    let client = builder(&emulator, &sleep)
        .hook(Shared(Arc::clone(&recorder)))
        .build()
        .unwrap();
    emulator.inject(FaultRule::once(Fault::error(
        429,
        "FSS.0429",
        "Too many concurrent requests",
    )));
    client.invoke(urn(&emulator, "echo")).send().await.unwrap();
    assert_eq!(
        *recorder.0.lock().unwrap(),
        [
            "before invokeFunction attempt 1",
            "after 1 429",
            "before invokeFunction attempt 2",
            "after 2 200"
        ]
    );
    assert!(emulator.requests().iter().all(|r| r.headers["x-tenant"] == "blue"));
}

#[derive(Debug)]
struct Refuse;

impl Hook for Refuse {
    fn before_send(
        &self,
        _request: &mut fgs::http::Request<fgs::bytes::Bytes>,
        _context: &HookContext<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Err("maintenance window".into())
    }
}

#[tokio::test]
async fn a_hook_can_stop_a_call_before_anything_is_sent() {
    let emulator = emulator().await;
    let client = builder(&emulator, &RecordingSleep::default())
        .hook(Refuse)
        .build()
        .unwrap();
    let err = client.invoke(urn(&emulator, "echo")).send().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input, nothing was sent: a hook refused the request"
    );
    // The hook's own error is the cause.
    assert_eq!(
        std::error::Error::source(&err).map(ToString::to_string).as_deref(),
        Some("maintenance window")
    );
    assert_eq!(emulator.request_count(), 0);
}

/// Sends `old` until the gateway refuses it, then `new`; remembers what each refusal named.
#[derive(Debug, Default)]
struct RenewingToken {
    renewed: std::sync::atomic::AtomicBool,
    refused: Mutex<Vec<String>>,
}

#[fgs::async_trait]
impl fgs::auth::Auth for RenewingToken {
    async fn authenticate(
        &self,
        request: &mut fgs::http::Request<fgs::bytes::Bytes>,
        _context: &fgs::auth::AuthContext<'_>,
    ) -> Result<(), fgs::auth::AuthError> {
        let token = if self.renewed.load(std::sync::atomic::Ordering::SeqCst) {
            TOKEN
        } else {
            "expired-token"
        };
        request
            .headers_mut()
            .insert("x-auth-token", fgs::http::HeaderValue::from_static(token));
        Ok(())
    }

    async fn on_rejected(&self, _error: &fgs::ServiceError, refused: &fgs::http::HeaderMap) -> bool {
        let named = refused
            .get("x-auth-token")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        self.refused.lock().unwrap().push(named);
        self.renewed.store(true, std::sync::atomic::Ordering::SeqCst);
        true
    }
}

#[tokio::test]
async fn the_re_send_after_a_renewed_401_is_an_attempt_hooks_see() {
    let emulator = emulator().await;
    let recorder = Arc::new(Recorder::default());
    let auth = Arc::new(RenewingToken::default());
    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .shared_auth(Arc::clone(&auth) as Arc<dyn fgs::auth::Auth>)
        .sleep(RecordingSleep::default())
        .hook(Shared(Arc::clone(&recorder)))
        .build()
        .unwrap();
    client.invoke(urn(&emulator, "echo")).send().await.unwrap();
    assert_eq!(
        *recorder.0.lock().unwrap(),
        [
            "before invokeFunction attempt 1",
            "after 1 401",
            "before invokeFunction attempt 2",
            "after 2 200"
        ]
    );
    // The auth is told which credentials were refused, not merely that something was.
    assert_eq!(*auth.refused.lock().unwrap(), ["expired-token"]);
    assert_eq!(runs(&emulator, "echo"), 1);
}

/// Never finishes authenticating, like an IAM endpoint that accepts and never answers.
#[derive(Debug)]
struct HangingAuth;

#[fgs::async_trait]
impl fgs::auth::Auth for HangingAuth {
    async fn authenticate(
        &self,
        _request: &mut fgs::http::Request<fgs::bytes::Bytes>,
        _context: &fgs::auth::AuthContext<'_>,
    ) -> Result<(), fgs::auth::AuthError> {
        std::future::pending::<()>().await;
        Ok(())
    }
}

#[tokio::test]
async fn the_deadline_covers_authentication() {
    let emulator = emulator().await;
    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(HangingAuth)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.invoke(urn(&emulator, "echo")).send().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let Error::Timeout(timeout) = &err else {
        panic!("expected a timeout, got {err:?}")
    };
    assert_eq!(timeout.delivery(), Delivery::NotSent);
    assert!(err.is_retry_safe());
    assert!(
        err.to_string().starts_with("timed out (the request was not sent)"),
        "{err}"
    );
    // What the deadline interrupted is the cause.
    let cause = std::error::Error::source(&err)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(cause.contains("while authenticating"), "{err}: {cause}");
    assert_eq!(emulator.request_count(), 0);
}

#[tokio::test]
async fn no_retry_sleeps_past_the_deadline() {
    let emulator = emulator().await;
    // The real timer: a retry that honoured Retry-After would wait 30 s.
    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(StaticToken::new(TOKEN))
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    emulator.inject(FaultRule::always(Fault::throttled(Duration::from_secs(30))));
    let started = std::time::Instant::now();
    let err = client.invoke(urn(&emulator, "echo")).send().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    // The caller gets the throttling that stopped the call, not a timeout hiding it.
    assert_eq!(err.code(), Some(&ErrorCode::TooManyRequests));
    assert_eq!(emulator.request_count(), 1);
    assert_eq!(runs(&emulator, "echo"), 0);
}

#[tokio::test]
async fn the_deadline_bounds_every_attempt_of_an_idempotent_call() {
    let emulator = emulator().await;
    let sleep = RecordingSleep::default();
    // `slow` takes a minute; each attempt may take 500 ms; the call 5 s in all.
    let client = builder(&emulator, &sleep)
        .attempt_timeout(Duration::from_millis(500))
        .timeout(Duration::from_secs(5))
        .retry_policy(StandardRetry::new().max_attempts(50))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client
        .invoke(urn(&emulator, "slow"))
        .idempotent(true)
        .send()
        .await
        .unwrap_err();
    // Far from the 5 s deadline, and farther from the minute of one run.
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    let Error::Timeout(timeout) = &err else {
        panic!("expected a timeout, got {err:?}")
    };
    // Something was sent: the error says the function may have run.
    assert_eq!(timeout.delivery(), Delivery::MaybeSent);
    assert!(!err.is_retry_safe());
    let attempts = emulator.request_count();
    assert!((2..50).contains(&attempts), "{attempts} attempts");
}

#[tokio::test]
async fn extreme_timeouts_and_caps_do_not_panic() {
    let emulator = emulator().await;
    let client = builder(&emulator, &RecordingSleep::default())
        .timeout(Duration::MAX)
        .attempt_timeout(Duration::MAX)
        .max_response_bytes(u64::MAX)
        .build()
        .unwrap();
    client.invoke(urn(&emulator, "echo")).send().await.unwrap();
    client
        .invoke(urn(&emulator, "echo"))
        .timeout(Duration::ZERO)
        .send()
        .await
        .unwrap_err();
    let err = client
        .invoke(urn(&emulator, "echo"))
        .max_response_bytes(0)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ResponseTooLarge(_)), "{err:?}");
    assert_eq!(err.execution(), fgs::Execution::Ran);
}
