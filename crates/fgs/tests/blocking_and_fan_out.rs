//! The blocking client from plain (non-async) tests, and `invoke_all`'s bounds and
//! order, against the emulator over TCP on 127.0.0.1.

#![cfg(feature = "blocking")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fgs::auth::StaticToken;
use fgs::{Client, Error};
use fgs_emulator::{Emulator, Function, Handler};
use serde_json::json;

const TOKEN: &str = "blocking-token";

/// An emulator whose `slow` function records how many runs overlap.
async fn emulator(in_flight: Arc<AtomicUsize>, peak: Arc<AtomicUsize>) -> Emulator {
    let echo = Handler::from_fn(|event, _| async move { Ok(event) });
    let slow = Handler::from_fn(move |event, _| {
        let (in_flight, peak) = (Arc::clone(&in_flight), Arc::clone(&peak));
        async move {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(30)).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok(event)
        }
    });
    Emulator::builder()
        .token(TOKEN)
        .function(Function::new("default", "echo", echo))
        .function(Function::new("default", "slow", slow))
        .start()
        .await
        .unwrap()
}

fn builder(emulator: &Emulator) -> fgs::ClientBuilder {
    Client::builder()
        .region(emulator.region())
        .project_id(emulator.project_id())
        .endpoint_url(emulator.endpoint())
        .auth(StaticToken::new(TOKEN))
}

/// The emulator on a runtime of its own, so the test thread is not inside one.
fn emulator_runtime() -> (tokio::runtime::Runtime, Emulator, Arc<AtomicUsize>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let peak = Arc::new(AtomicUsize::new(0));
    let emulator = runtime.block_on(emulator(Arc::new(AtomicUsize::new(0)), Arc::clone(&peak)));
    (runtime, emulator, peak)
}

#[test]
fn the_blocking_client_invokes_from_plain_code() {
    let (_runtime, emulator, _) = emulator_runtime();
    let client = builder(&emulator).build_blocking().unwrap();
    let out = client
        .invoke("default/echo")
        .json(&json!({"n": 1}))
        .log_tail(true)
        .send()
        .unwrap();
    assert_eq!(out.result_json::<serde_json::Value>().unwrap(), json!({"n": 1}));
    let queued = client
        .invoke_async("default/echo")
        .json(&json!({"n": 2}))
        .send()
        .unwrap();
    assert!(!queued.request_id().is_empty());

    // The same typed errors: a function that does not exist is a service error.
    let err = client.invoke("default/missing").send().unwrap_err();
    assert!(matches!(err, Error::Service(_)), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
}

#[test]
fn the_blocking_client_refuses_to_block_inside_an_async_runtime() {
    let (runtime, emulator, _) = emulator_runtime();
    let client = builder(&emulator).build_blocking().unwrap();
    let err = runtime
        .block_on(async { client.invoke("default/echo").send() })
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains("inside an async runtime"), "{err}");
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
    // Dropping the last clone inside a runtime does not panic either.
    runtime.block_on(async move { drop(client) });
}

#[test]
fn blocking_fan_out_keeps_input_order_and_the_bound() {
    let (_runtime, emulator, peak) = emulator_runtime();
    let client = builder(&emulator).build_blocking().unwrap();
    let calls = (0..12).map(|n| client.invoke("default/slow").json(&json!({ "n": n })));
    let outcomes = client.invoke_all(calls, 3).unwrap();
    assert_eq!(outcomes.len(), 12);
    for (n, outcome) in outcomes.into_iter().enumerate() {
        let value: serde_json::Value = outcome.unwrap().result_json().unwrap();
        assert_eq!(value, json!({ "n": n }));
    }
    let peak = peak.load(Ordering::SeqCst);
    assert!((1..=3).contains(&peak), "at most 3 in flight, saw {peak}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_all_keeps_input_order_reports_each_failure_and_holds_the_bound() {
    let peak = Arc::new(AtomicUsize::new(0));
    let emulator = emulator(Arc::new(AtomicUsize::new(0)), Arc::clone(&peak)).await;
    let client = builder(&emulator).build().unwrap();
    let calls = (0..20).map(|n| {
        let function = if n % 5 == 4 { "default/missing" } else { "default/slow" };
        client.invoke(function).json(&json!({ "n": n }))
    });
    let outcomes = fgs::invoke_all(calls, 4).await;
    assert_eq!(outcomes.len(), 20);
    for (n, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Ok(out) => assert_eq!(out.result_json::<serde_json::Value>().unwrap(), json!({ "n": n })),
            Err(err) => {
                assert_eq!(n % 5, 4, "only the missing function fails: {err}");
                assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
            }
        }
    }
    let peak = peak.load(Ordering::SeqCst);
    assert!(
        (2..=4).contains(&peak),
        "the calls overlapped, at most 4 at once; saw {peak}"
    );
    // A concurrency of 0 means one at a time, not a hang.
    let one = fgs::invoke_all([client.invoke("default/echo")], 0).await;
    assert!(one[0].is_ok());
}
