//! Load and faults: the client against the emulator at 256 concurrent calls, with about 5 %
//! of the attempts broken on purpose (dropped before the run, dropped after the run, a
//! truncated body, 429 with `Retry-After`, 503). Every event carries a call number that the
//! function counts, so the test can check what the client promises under pressure:
//!
//! - a default (non-idempotent) call never runs twice, and every call that returned `Ok` ran;
//! - an error that says it is retry-safe belongs to a call whose function did not run;
//! - no call outlives its deadline, and the whole run ends within a generous bound;
//! - no result reaches the wrong caller (the function echoes the call number and the request
//!   id, the caller compares both), and the request ids of successful calls are unique;
//! - idempotent calls, given enough attempts, all end and all succeed.
//!
//! It runs once per transport (reqwest, hyper). The CI-sized run is 2,000 calls per
//! transport; `FGS_LOAD_CALLS` scales it:
//!
//! ```text
//! FGS_LOAD_CALLS=10000 cargo test -p fgs-tests --release --test load_faults -- --nocapture
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fgs::auth::StaticToken;
use fgs::hooks::{Hook, HookContext};
use fgs::retry::{RetryPolicy, Sleep, StandardRetry};
use fgs::transport::HyperTransport;
use fgs::transport::Transport;
use fgs::{Client, Error, FunctionUrn};
use fgs_emulator::{Emulator, Fault, FaultRule, Function, Handler};
use serde_json::{Value, json};

const TOKEN: &str = "load-faults-token";
/// Calls per transport unless `FGS_LOAD_CALLS` says otherwise.
const DEFAULT_CALLS: usize = 2_000;
const CONCURRENCY: usize = 256;
/// Each of the five faults applies to about one attempt in this many: about 5 % in all.
const ONE_IN: u32 = 100;
/// The deadline of every call (`Invoke::timeout`).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long past its deadline a call may take before the test calls it a hang: scheduling
/// on a loaded two-core machine, not the client.
const HANG_GRACE: Duration = Duration::from_secs(5);
/// How long past its deadline a call may end before the test calls the deadline broken.
const DEADLINE_SLACK: Duration = Duration::from_secs(3);
/// Every fourth call is idempotent.
const IDEMPOTENT_EVERY: usize = 4;
/// Attempts for idempotent calls: with 5 % faults per attempt, all of them end in `Ok`.
const IDEMPOTENT_ATTEMPTS: u32 = 10;

fn calls() -> usize {
    match std::env::var("FGS_LOAD_CALLS") {
        Ok(value) => value.trim().parse().expect("FGS_LOAD_CALLS is a number of calls"),
        Err(_) => DEFAULT_CALLS,
    }
}

/// Drop before the run, drop after the run, a truncated body, 429 with `Retry-After`, 503.
fn faults() -> [Fault; 5] {
    [
        Fault::DropBeforeRun,
        Fault::DropAfterRun,
        Fault::TruncatedBody,
        Fault::throttled(Duration::from_secs(1)),
        Fault::error(503, "FSS.0503", "Service unavailable"),
    ]
}

/// Waits a millisecond whatever it is asked, and counts the waits, so that backoff and
/// `Retry-After` cost no real time.
#[derive(Debug, Clone, Default)]
struct FastSleep {
    sleeps: Arc<AtomicU64>,
}

impl Sleep for FastSleep {
    fn sleep(&self, _duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.sleeps.fetch_add(1, Ordering::Relaxed);
        Box::pin(tokio::time::sleep(Duration::from_millis(1)))
    }
}

/// Counts attempts and the statuses of the responses that arrived whole.
#[derive(Debug, Clone, Default)]
struct Attempts {
    sent: Arc<AtomicU64>,
    statuses: Arc<Mutex<BTreeMap<u16, u64>>>,
}

impl Hook for Attempts {
    fn before_send(
        &self,
        _request: &mut fgs::http::Request<fgs::bytes::Bytes>,
        _context: &HookContext<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn after_response(&self, response: &fgs::http::Response<fgs::bytes::Bytes>, _context: &HookContext<'_>) {
        *self
            .statuses
            .lock()
            .unwrap()
            .entry(response.status().as_u16())
            .or_default() += 1;
    }
}

/// How one call ended, as the caller saw it.
#[derive(Debug)]
enum Ending {
    /// `problem`: the result is not this call's.
    Ok {
        request_id: String,
        problem: Option<String>,
    },
    Err {
        kind: String,
        retry_safe: bool,
        detail: String,
    },
    /// Still running `HANG_GRACE` after its deadline.
    Hung,
}

#[derive(Debug)]
struct Outcome {
    call: usize,
    idempotent: bool,
    elapsed: Duration,
    ending: Ending,
}

/// A short name for the kind of error, for the summary.
fn kind(error: &Error) -> String {
    match error {
        Error::Transport(e) => format!("transport/{:?}/{:?}", e.kind(), e.delivery()),
        Error::Timeout(e) => format!("timeout/{:?}", e.delivery()),
        Error::Service(e) => format!("{}/{}", e.status().as_u16(), e.raw_code().unwrap_or("-")),
        Error::Decode(_) => "decode".to_owned(),
        Error::Auth(_) => "auth".to_owned(),
        Error::InvalidInput(_) => "invalid-input".to_owned(),
        _ => "other".to_owned(),
    }
}

/// The emulator with `default/count`: counts its event's call number in `runs` and echoes
/// the number with the request id it ran under.
async fn emulator(runs: Arc<Vec<AtomicU32>>) -> Emulator {
    let count = Handler::from_fn(move |event: Value, ctx| {
        let runs = Arc::clone(&runs);
        async move {
            let call = event["call"].as_u64().expect("every event has a call number");
            runs[usize::try_from(call).unwrap()].fetch_add(1, Ordering::SeqCst);
            Ok(json!({ "call": call, "request_id": ctx.request_id() }))
        }
    });
    let emulator = Emulator::builder()
        .token(TOKEN)
        .function(Function::new("default", "count", count).timeout(Duration::from_secs(60)))
        .start()
        .await
        .expect("start the emulator");
    for fault in faults() {
        emulator.inject(FaultRule::always(fault).one_in(ONE_IN));
    }
    emulator
}

/// One call, bounded from outside by its deadline plus `HANG_GRACE`.
async fn call(client: &Client, urn: &FunctionUrn, policy: &Arc<dyn RetryPolicy>, call: usize) -> Outcome {
    let idempotent = call % IDEMPOTENT_EVERY == IDEMPOTENT_EVERY - 1;
    let mut invoke = client
        .invoke(urn)
        .json(&json!({ "call": call }))
        .timeout(CALL_TIMEOUT)
        .idempotent(idempotent);
    if idempotent {
        invoke = invoke.retry_policy(Arc::clone(policy));
    }
    let started = Instant::now();
    let result = tokio::time::timeout(CALL_TIMEOUT + HANG_GRACE, invoke.send()).await;
    let elapsed = started.elapsed();
    let ending = match result {
        Err(_) => Ending::Hung,
        Ok(Err(error)) => Ending::Err {
            kind: kind(&error),
            retry_safe: error.is_retry_safe(),
            detail: error.to_string(),
        },
        Ok(Ok(output)) => {
            let request_id = output.request_id().unwrap_or_default().to_owned();
            let problem = match output.result_json::<Value>() {
                Err(error) => Some(format!("the result is not JSON: {error}")),
                Ok(_) if output.is_function_error() => Some("a function error".to_owned()),
                Ok(echo) if echo["call"] != json!(call) => Some(format!("another call's result: {echo}")),
                Ok(echo) if echo["request_id"] != json!(request_id) => Some(format!(
                    "the result ran under another request id than the response's {request_id}: {echo}"
                )),
                Ok(_) => None,
            };
            Ending::Ok { request_id, problem }
        }
    };
    Outcome {
        call,
        idempotent,
        elapsed,
        ending,
    }
}

/// Runs the load against a fresh emulator; `transport: None` is the client's default.
async fn run(label: &str, transport: Option<Arc<dyn Transport>>) {
    let calls = calls();
    let runs: Arc<Vec<AtomicU32>> = Arc::new((0..calls).map(|_| AtomicU32::new(0)).collect());
    let emulator = Arc::new(emulator(Arc::clone(&runs)).await);
    let urn: FunctionUrn = emulator.urn("default", "count", None).parse().unwrap();
    let sleep = FastSleep::default();
    let attempts = Attempts::default();
    // Default calls keep the client's default policy (three attempts, not-executed
    // failures only); idempotent calls get room enough to outlast 5 % faults.
    let mut builder = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(StaticToken::new(TOKEN))
        .sleep(sleep.clone())
        .hook(attempts.clone());
    if let Some(transport) = transport {
        builder = builder.shared_transport(transport);
    }
    let client = builder.build().unwrap();
    let idempotent_policy: Arc<dyn RetryPolicy> =
        Arc::new(StandardRetry::new().max_attempts(IDEMPOTENT_ATTEMPTS).budget(u32::MAX));

    let overall = Duration::from_secs(60) + Duration::from_millis(20) * u32::try_from(calls).unwrap();
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (client, urn, policy) = (client.clone(), urn.clone(), Arc::clone(&idempotent_policy));
            let (next, emulator) = (Arc::clone(&next), Arc::clone(&emulator));
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                loop {
                    let number = next.fetch_add(1, Ordering::Relaxed);
                    if number >= calls {
                        return outcomes;
                    }
                    // Our own count is the evidence; the emulator's records need not grow.
                    if number % 1_000 == 999 {
                        emulator.clear_records();
                    }
                    outcomes.push(call(&client, &urn, &policy, number).await);
                }
            })
        })
        .collect();
    let joined = tokio::time::timeout(overall, async {
        let mut outcomes = Vec::with_capacity(calls);
        for worker in workers {
            outcomes.extend(worker.await.expect("a worker panicked"));
        }
        outcomes
    })
    .await;
    let duration = started.elapsed();
    let outcomes = joined.unwrap_or_else(|_| panic!("{label}: {calls} calls did not end within {overall:?}"));
    assert_eq!(outcomes.len(), calls);

    let mut violations = Vec::new();
    let mut request_ids: HashMap<String, usize> = HashMap::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let (mut ok, mut ok_idempotent, mut idempotent_calls) = (0, 0, 0);
    let mut slowest = Duration::ZERO;
    for outcome in &outcomes {
        let number = outcome.call;
        let ran = runs[number].load(Ordering::SeqCst);
        slowest = slowest.max(outcome.elapsed);
        idempotent_calls += usize::from(outcome.idempotent);
        if !outcome.idempotent && ran > 1 {
            violations.push(format!(
                "call {number} (not idempotent) ran {ran} times: {:?}",
                outcome.ending
            ));
        }
        // Past the deadline by more than the scheduling slack of a loaded two-core machine
        // (and less than a hang, which is reported below).
        if outcome.elapsed > CALL_TIMEOUT + DEADLINE_SLACK {
            violations.push(format!(
                "call {number} took {:?}, past its {CALL_TIMEOUT:?} deadline: {:?}",
                outcome.elapsed, outcome.ending
            ));
        }
        match &outcome.ending {
            Ending::Ok { request_id, problem } => {
                ok += 1;
                if let Some(problem) = problem {
                    violations.push(format!(
                        "call {number} returned Ok with a result that is not its own: {problem}"
                    ));
                }
                ok_idempotent += usize::from(outcome.idempotent);
                // (Running twice is reported above.)
                if ran == 0 {
                    violations.push(format!("call {number} returned Ok but its function never ran"));
                }
                if request_id.is_empty() {
                    violations.push(format!("call {number} returned Ok without a request id"));
                } else if let Some(other) = request_ids.insert(request_id.clone(), number) {
                    violations.push(format!("calls {other} and {number} both got request id {request_id}"));
                }
            }
            Ending::Err {
                kind,
                retry_safe,
                detail,
            } => {
                *errors.entry(kind.clone()).or_default() += 1;
                // A default call is re-sent only after attempts that did not run, so a
                // retry-safe error means it never ran. An idempotent call may have run on
                // an earlier attempt, which its last error does not speak for.
                if *retry_safe && ran > 0 && !outcome.idempotent {
                    violations.push(format!(
                        "call {number}: the error says retry-safe but the function ran {ran} times: {kind}: {detail}"
                    ));
                }
                if outcome.idempotent {
                    violations.push(format!(
                        "idempotent call {number} failed after {IDEMPOTENT_ATTEMPTS} attempts: {kind}: {detail}"
                    ));
                }
            }
            Ending::Hung => violations.push(format!(
                "call {number} was still running {HANG_GRACE:?} past its {CALL_TIMEOUT:?} deadline"
            )),
        }
    }

    let mut latencies: Vec<Duration> = outcomes.iter().map(|o| o.elapsed).collect();
    latencies.sort_unstable();
    let percentile = |p: usize| latencies[(latencies.len() - 1) * p / 100];
    let total_runs: u64 = runs.iter().map(|r| u64::from(r.load(Ordering::SeqCst))).sum();
    let sent = attempts.sent.load(Ordering::Relaxed);
    let statuses = attempts.statuses.lock().unwrap().clone();
    let whole: u64 = statuses.values().sum();
    // Every Ok call had exactly one attempt that was not broken; every other attempt was.
    let faulted = sent.saturating_sub(ok as u64);
    let rate = if sent == 0 {
        0.0
    } else {
        faulted as f64 * 100.0 / sent as f64
    };
    eprintln!(
        "load_faults[{label}]: {calls} calls ({idempotent_calls} idempotent) at concurrency {CONCURRENCY} in {:.2?}: \
         {sent} attempts, {faulted} faulted ({rate:.1} %; 429: {}, 503: {}, no whole response: {}), \
         {total_runs} runs, ok {ok} ({ok_idempotent} idempotent), errors {errors:?}, \
         {} backoff sleeps, call latency p50 {:.2?} p99 {:.2?} max {slowest:.2?}",
        duration,
        statuses.get(&429).copied().unwrap_or(0),
        statuses.get(&503).copied().unwrap_or(0),
        sent.saturating_sub(whole),
        sleep.sleeps.load(Ordering::Relaxed),
        percentile(50),
        percentile(99),
    );
    assert!(
        violations.is_empty(),
        "{label}: {} violations, the first ones:\n{}",
        violations.len(),
        violations.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
    assert_eq!(
        ok_idempotent, idempotent_calls,
        "{label}: every idempotent call succeeded"
    );
    assert!(faulted > 0, "{label}: no fault was injected; the test proves nothing");
    if calls >= 1_000 {
        // About 1 % of the attempts each: at this size, none missing is a broken injection.
        for status in [429, 503] {
            assert!(statuses.contains_key(&status), "{label}: no {status} was injected");
        }
        assert!(sent > whole, "{label}: no connection was dropped or cut short");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_reqwest_transport_under_load_and_faults() {
    run("reqwest", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_transport_under_load_and_faults() {
    let hyper = HyperTransport::new(Duration::from_secs(5)).expect("the hyper transport");
    run("hyper", Some(Arc::new(hyper))).await;
}
