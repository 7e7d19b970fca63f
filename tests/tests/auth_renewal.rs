//! IAM token renewal under stress, against the emulator's IAM endpoint over real TCP on
//! 127.0.0.1: callers holding a valid token never wait for a renewal, a failed renewal
//! backs off instead of being retried by every caller, and a 401 drops only the token
//! that was refused. Timing is decided by a `ManualClock` and by a transport that holds
//! IAM requests until the test releases them, not by racing the wall clock (wall-clock
//! bounds are generous secondary checks).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use fgs::async_trait;
use fgs::auth::AuthErrorKind;
use fgs::auth::{IamTokenAuth, ManualClock};
use fgs::transport::{ReqwestTransport, SendOptions, Transport, TransportError};
use fgs::{Client, FunctionUrn};
use fgs_emulator::{Emulator, Fault, FaultRule, Function, Handler};
use http::HeaderValue;
use tokio::sync::Semaphore;

const DOMAIN: &str = "acme";
const USER: &str = "alice";
const PASSWORD: &str = "correct horse battery staple";
const DAY: Duration = Duration::from_secs(24 * 3600);
/// Inside the default refresh window (10 to 15 minutes before expiry), still valid.
const INTO_THE_WINDOW: Duration = Duration::from_secs(24 * 3600 - 60);
/// The longest first backoff after a failed token request.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);

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

fn token_requests(emulator: &Emulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v3/auth/tokens"))
        .count()
}

/// Passes requests to a reqwest transport, each only once the test has released it;
/// counts requests started and finished.
#[derive(Debug)]
struct Gated {
    inner: ReqwestTransport,
    gate: Semaphore,
    started: AtomicUsize,
    finished: AtomicUsize,
}

impl Gated {
    fn new(open: usize) -> Arc<Self> {
        Arc::new(Gated {
            inner: ReqwestTransport::new(Duration::from_secs(5)).unwrap(),
            gate: Semaphore::new(open),
            started: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
        })
    }

    fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    fn release(&self, requests: usize) {
        self.gate.add_permits(requests);
    }

    async fn until_finished(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.finished.load(Ordering::SeqCst) < count {
            assert!(Instant::now() < deadline, "IAM requests did not finish");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn until_started(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.started() < count {
            assert!(Instant::now() < deadline, "IAM requests did not start");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The same gate, shared with the auth.
#[derive(Debug)]
struct Shared(Arc<Gated>);

#[async_trait]
impl Transport for Shared {
    async fn send(
        &self,
        request: http::Request<Bytes>,
        options: &SendOptions,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let gated = &self.0;
        gated.started.fetch_add(1, Ordering::SeqCst);
        if let Ok(permit) = gated.gate.acquire().await {
            permit.forget();
        }
        let response = gated.inner.send(request, options).await;
        gated.finished.fetch_add(1, Ordering::SeqCst);
        response
    }
}

fn auth(emulator: &Emulator, clock: &ManualClock, gated: &Arc<Gated>) -> IamTokenAuth {
    IamTokenAuth::builder()
        .endpoint(emulator.endpoint())
        .password(DOMAIN, USER, PASSWORD)
        .project_name(emulator.region())
        .clock(clock.clone())
        .transport(Shared(Arc::clone(gated)))
        .build()
        .unwrap()
}

/// `count` concurrent `token()` calls; each must return within 10 s.
async fn concurrent_tokens(auth: &IamTokenAuth, count: usize) -> Vec<Result<HeaderValue, fgs::auth::AuthError>> {
    let calls: Vec<_> = (0..count)
        .map(|_| {
            let auth = auth.clone();
            tokio::spawn(async move { auth.token().await })
        })
        .collect();
    let mut results = Vec::new();
    for call in calls {
        let result = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .expect("a caller waited")
            .unwrap();
        results.push(result);
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_callers_in_the_window_are_not_delayed_by_a_slow_failing_renewal() {
    let emulator = emulator(DAY).await;
    let clock = ManualClock::new(SystemTime::now());
    let gated = Gated::new(1);
    let auth = auth(&emulator, &clock, &gated);
    let first = auth.token().await.unwrap();

    clock.advance(INTO_THE_WINDOW);
    emulator.inject(FaultRule::once(Fault::error(503, "IAM.0001", "IAM is unavailable")).for_iam());
    // The renewal hangs at the gate (a slow IAM) while five callers ask.
    let started = Instant::now();
    for token in concurrent_tokens(&auth, 5).await {
        assert_eq!(token.unwrap(), first, "the still-valid token, at once");
    }
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    gated.until_started(2).await;
    assert_eq!(gated.started(), 2, "one renewal for five callers");
    assert_eq!(token_requests(&emulator), 1, "and it is still held");

    // IAM answers 503: the renewal failed; five more callers keep the valid token and
    // none of them asks IAM again during the backoff.
    gated.release(1);
    gated.until_finished(2).await;
    assert_eq!(token_requests(&emulator), 2);
    for token in concurrent_tokens(&auth, 5).await {
        assert_eq!(token.unwrap(), first);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(gated.started(), 2, "no retry before the backoff has passed");

    // After the backoff one renewal goes, and succeeds.
    clock.advance(FIRST_BACKOFF);
    gated.release(100);
    for token in concurrent_tokens(&auth, 5).await {
        token.unwrap(); // the old token, or the new one once the renewal has landed
    }
    gated.until_finished(3).await;
    let renewed = auth.token().await.unwrap();
    assert_ne!(renewed, first);
    assert_eq!(gated.started(), 3);
    assert_eq!(token_requests(&emulator), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_iam_delays_no_invocation_holding_a_valid_token() {
    let emulator = emulator(DAY).await;
    let clock = ManualClock::new(SystemTime::now());
    let auth = IamTokenAuth::builder()
        .endpoint(emulator.endpoint())
        .password(DOMAIN, USER, PASSWORD)
        .project_name(emulator.region())
        .clock(clock.clone())
        .build()
        .unwrap();
    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(auth)
        .build()
        .unwrap();
    let urn: Arc<FunctionUrn> = Arc::new(emulator.urn("default", "echo", None).parse().unwrap());
    client.invoke(urn.as_ref()).send().await.unwrap();

    clock.advance(INTO_THE_WINDOW);
    // The renewal takes 30 s; the five calls must not wait for it.
    emulator.inject(FaultRule::once(Fault::Latency(Duration::from_secs(30))).for_iam());
    let started = Instant::now();
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let (client, urn) = (client.clone(), Arc::clone(&urn));
            tokio::spawn(async move { client.invoke(&urn).send().await.map(|_| ()) })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    // Generous for a loaded machine, and far below the 30 s of the renewal.
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(emulator.invocation_count("default", "echo"), 6);
    let deadline = Instant::now() + Duration::from_secs(10);
    while token_requests(&emulator) < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(token_requests(&emulator), 2, "one renewal for five callers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_without_a_token_share_one_failed_request_then_back_off() {
    let emulator = emulator(DAY).await;
    let clock = ManualClock::new(SystemTime::now());
    let gated = Gated::new(0);
    let auth = auth(&emulator, &clock, &gated);
    emulator.inject(FaultRule::once(Fault::error(503, "IAM.0001", "IAM is unavailable")).for_iam());

    let waiting: Vec<_> = (0..5)
        .map(|_| {
            let auth = auth.clone();
            tokio::spawn(async move { auth.token().await })
        })
        .collect();
    gated.until_started(1).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    gated.release(1);
    for call in waiting {
        let err = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .unwrap()
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Provider);
        assert!(err.to_string().contains("HTTP 503"), "{err}");
    }
    assert_eq!(gated.started(), 1, "five waiting callers, one request");

    // During the backoff the error comes at once, without a request.
    let err = auth.token().await.unwrap_err();
    assert!(err.to_string().contains("after a backoff"), "{err}");
    assert!(err.to_string().contains("HTTP 503"), "{err}");
    assert_eq!(gated.started(), 1);

    clock.advance(FIRST_BACKOFF);
    gated.release(100);
    auth.token().await.unwrap();
    assert_eq!(gated.started(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_refused_together_renew_the_token_once() {
    let emulator = emulator(DAY).await;
    // A clock that never moves: only the service knows the token expired. The service's
    // "expired" is an injected `401 APIGW.0307` for every invocation until it is cleared,
    // not a token that really lives a second or two, which would race the clock.
    let gated = Gated::new(1);
    let auth = IamTokenAuth::builder()
        .endpoint(emulator.endpoint())
        .password(DOMAIN, USER, PASSWORD)
        .project_name(emulator.region())
        .clock(ManualClock::new(SystemTime::now()))
        .refresh_window(Duration::ZERO)
        .transport(Shared(Arc::clone(&gated)))
        .build()
        .unwrap();
    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(auth)
        .build()
        .unwrap();
    let urn: Arc<FunctionUrn> = Arc::new(emulator.urn("default", "echo", None).parse().unwrap());
    client.invoke(&urn).send().await.unwrap();
    emulator.inject(FaultRule::always(Fault::error(
        401,
        fgs::ErrorCode::TokenExpired.as_str(),
        "the token has expired",
    )));

    let calls: Vec<_> = (0..5)
        .map(|_| {
            let (client, urn) = (client.clone(), Arc::clone(&urn));
            tokio::spawn(async move { client.invoke(&urn).send().await.map(|_| ()) })
        })
        .collect();
    // The first refusal drops the token and starts the renewal, which is held at the gate
    // (calls that authenticate after the drop wait for the new token). Every refusal until
    // then is of the first token. The refusals stop before the gate opens, so only requests
    // with the first token are ever refused, however the calls interleave: one still in
    // flight now is simply accepted.
    gated.until_started(2).await;
    emulator.clear_faults();
    // Besides the first call's: at least the one refused request that started the renewal.
    let sent_with_the_first_token = emulator
        .requests()
        .iter()
        .filter(|r| r.path.contains("/invocations"))
        .count()
        - 1;
    assert!(sent_with_the_first_token >= 1, "{sent_with_the_first_token}");
    gated.release(100);
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(gated.started(), 2, "refusals of one token, one renewal");
    assert_eq!(token_requests(&emulator), 2);
    assert_eq!(emulator.invocation_count("default", "echo"), 6);
}

#[tokio::test]
async fn reject_token_drops_only_the_token_that_was_refused() {
    let emulator = emulator(DAY).await;
    let clock = ManualClock::new(SystemTime::now());
    let gated = Gated::new(100);
    let auth = auth(&emulator, &clock, &gated);
    let first = auth.token().await.unwrap();

    assert!(auth.reject_token(&HeaderValue::from_static("an-older-token")).await);
    assert_eq!(auth.token().await.unwrap(), first, "another token was refused: kept");
    assert_eq!(token_requests(&emulator), 1);

    assert!(auth.reject_token(&first).await);
    let second = auth.token().await.unwrap();
    assert_ne!(second, first);
    assert_eq!(token_requests(&emulator), 2);

    // A late refusal of the first token keeps the second.
    assert!(auth.reject_token(&first).await);
    assert_eq!(auth.token().await.unwrap(), second);
    assert_eq!(token_requests(&emulator), 2);

    let fixed = IamTokenAuth::from_token("issued-elsewhere", None);
    assert!(!fixed.reject_token(&HeaderValue::from_static("issued-elsewhere")).await);
}

#[tokio::test]
async fn extreme_refresh_windows_and_durations_do_not_panic() {
    let emulator = emulator(DAY).await;
    for window in [Duration::ZERO, Duration::from_nanos(1), Duration::MAX] {
        let clock = ManualClock::new(SystemTime::now());
        let auth = IamTokenAuth::builder()
            .endpoint(emulator.endpoint())
            .password(DOMAIN, USER, PASSWORD)
            .project_name(emulator.region())
            .clock(clock.clone())
            .refresh_window(window)
            .build()
            .unwrap();
        let first = auth.token().await.unwrap();
        clock.advance(Duration::from_secs(3600));
        assert_eq!(auth.token().await.unwrap(), first, "{window:?}");
        // Past the emulator's expiry (real time + 24 h) by this clock, a token it issues
        // has expired on arrival: a clear error, no panic.
        clock.advance(DAY);
        let err = auth.token().await.unwrap_err();
        assert!(err.to_string().contains("had already expired"), "{err}");
    }
    for duration in [Duration::ZERO, Duration::MAX] {
        let caller = IamTokenAuth::builder()
            .endpoint(emulator.endpoint())
            .password(DOMAIN, USER, PASSWORD)
            .project_name(emulator.region())
            .build()
            .unwrap();
        let agency = IamTokenAuth::builder()
            .endpoint(emulator.endpoint())
            .assume_role(caller, "partner", "fgs-invoker")
            .assume_role_duration(duration)
            .project_name(emulator.region())
            .refresh_window(Duration::MAX)
            .build()
            .unwrap();
        // IAM decides whether it accepts the duration; nothing here panics.
        let _ = agency.token().await;
    }
}
