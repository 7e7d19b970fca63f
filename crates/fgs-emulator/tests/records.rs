//! Records are bounded: a window of the most recent requests and runs, bodies, events and
//! logs cut at a cap and marked, nothing of a refused request's body, credentials hidden
//! from `Debug`; counts stay exact.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use fgs_emulator::{Emulator, EmulatorBuilder, Function, Handler};
use serde_json::json;

async fn start_with(builder: EmulatorBuilder) -> Emulator {
    builder
        .token(TOKEN)
        .function(Function::new("default", "echo", echo()))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_window_keeps_the_most_recent_requests_and_runs_and_counts_stay_exact() {
    let emulator = start_with(Emulator::builder().record_limit(3)).await;
    let path = invoke_path(&emulator, "default", "echo", None);
    for n in 0..10 {
        let response = invoke(&emulator, &path, &[], json!({ "n": n }).to_string().as_bytes()).await;
        assert_eq!(response.status, 200, "{}", response.text());
    }
    assert_eq!(emulator.request_count(), 10);
    assert_eq!(emulator.invocation_count("default", "echo"), 10);
    assert_eq!(emulator.records_held(), (3, 3));
    let requests = emulator.requests();
    let bodies: Vec<_> = requests.iter().map(|r| r.body.clone()).collect();
    assert_eq!(bodies, [&br#"{"n":7}"#[..], br#"{"n":8}"#, br#"{"n":9}"#]);
    let events: Vec<_> = emulator.invocations().iter().map(|r| r.event["n"].clone()).collect();
    assert_eq!(events, [json!(7), json!(8), json!(9)]);

    emulator.clear_records();
    assert_eq!(emulator.request_count(), 0);
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
    assert_eq!(emulator.records_held(), (0, 0));
}

#[tokio::test]
async fn a_zero_limit_keeps_nothing_but_counts() {
    let emulator = start_with(Emulator::builder().record_limit(0)).await;
    let path = invoke_path(&emulator, "default", "echo", None);
    assert_eq!(invoke(&emulator, &path, &[], b"{}").await.status, 200);
    assert_eq!(emulator.records_held(), (0, 0));
    assert_eq!(emulator.request_count(), 1);
    assert_eq!(emulator.invocation_count("default", "echo"), 1);
}

#[tokio::test]
async fn the_default_window_is_bounded_and_unbounded_records_keep_everything() {
    let bounded = start_with(Emulator::builder()).await;
    let unbounded = start_with(Emulator::builder().unbounded_records()).await;
    let calls = fgs_emulator::DEFAULT_RECORD_LIMIT + 20;
    for emulator in [&bounded, &unbounded] {
        let path = invoke_path(emulator, "default", "echo", None);
        let mut conn = Conn::connect(emulator.addr()).await;
        let request = request(
            "POST",
            &path,
            &[("X-Auth-Token", TOKEN), ("Content-Type", "application/json")],
            b"{}",
        );
        for _ in 0..calls {
            assert_eq!(conn.send(&request).await.status, 200);
        }
    }
    let limit = fgs_emulator::DEFAULT_RECORD_LIMIT;
    assert_eq!(bounded.records_held(), (limit, limit));
    assert_eq!(bounded.request_count(), calls);
    assert_eq!(unbounded.records_held(), (calls, calls));
}

#[tokio::test]
async fn bodies_events_and_logs_are_cut_at_the_cap_and_marked() {
    let chatty = Handler::from_fn(|event, ctx| async move {
        for n in 0..100 {
            ctx.log(format!("line {n:03} {}", "x".repeat(90)));
        }
        Ok(event)
    });
    let emulator = Emulator::builder()
        .token(TOKEN)
        .record_body_limit(1024)
        .function(Function::new("default", "chatty", chatty))
        .start()
        .await
        .unwrap();
    let path = invoke_path(&emulator, "default", "chatty", None);
    let big = json!({ "data": "y".repeat(4000) }).to_string();
    let response = invoke_v1(&emulator, &path, big.as_bytes()).await;
    assert_eq!(response.status, 200, "{}", response.text());
    // The caller still gets the whole result; only the record is cut.
    assert_eq!(response.v1_result()["data"].as_str().unwrap().len(), 4000);

    let request = &emulator.requests()[0];
    assert_eq!(request.body.len(), 1024);
    assert_eq!(&request.body[..], &big.as_bytes()[..1024]);
    assert!(request.body_truncated);

    let run = &emulator.invocations()[0];
    assert!(run.event_truncated);
    assert!(run.event.is_null());
    assert!(run.log_truncated);
    let kept: usize = run.log.iter().map(String::len).sum();
    assert!(kept <= 1024, "{kept}");
    assert_eq!(
        run.log.last().unwrap().get(..8),
        Some("line 099"),
        "the last lines are kept"
    );

    // Under the cap nothing is marked.
    let response = invoke(&emulator, &path, &[], br#"{"small":true}"#).await;
    assert_eq!(response.status, 200);
    let request = &emulator.requests()[1];
    assert_eq!(&request.body[..], br#"{"small":true}"#);
    assert!(!request.body_truncated);
    assert!(!emulator.invocations()[1].event_truncated);
}

#[tokio::test]
async fn nothing_of_a_refused_requests_body_is_kept() {
    let emulator = Emulator::builder()
        .token(TOKEN)
        .iam_user("acme", "alice", "right-password")
        .function(Function::new("default", "echo", echo()))
        .start()
        .await
        .unwrap();
    let path = invoke_path(&emulator, "default", "echo", None);
    let response = send(
        emulator.addr(),
        &request("POST", &path, &[("X-Auth-Token", "not-a-token")], br#"{"secret":1}"#),
    )
    .await;
    assert_eq!(response.status, 401);
    let login = |password: &str| {
        json!({ "auth": {
            "identity": { "methods": ["password"], "password": { "user": {
                "name": "alice", "password": password, "domain": { "name": "acme" } } } },
            "scope": { "project": { "name": emulator.region() } }
        }})
        .to_string()
    };
    let wrong = send(
        emulator.addr(),
        &request("POST", "/v3/auth/tokens", &[], login("wrong-password").as_bytes()),
    )
    .await;
    assert_eq!(wrong.status, 401);
    let unknown = send(emulator.addr(), &request("POST", "/nowhere", &[], b"payload")).await;
    assert_eq!(unknown.status, 404);
    let right = send(
        emulator.addr(),
        &request("POST", "/v3/auth/tokens", &[], login("right-password").as_bytes()),
    )
    .await;
    assert_eq!(right.status, 201);

    let requests = emulator.requests();
    assert_eq!(requests.len(), 4, "refused requests are recorded, without their bodies");
    for refused in &requests[..3] {
        assert!(refused.body.is_empty(), "{refused:?}");
        assert!(refused.body_truncated, "{refused:?}");
    }
    assert_eq!(&requests[3].body[..], login("right-password").as_bytes());
    assert!(!format!("{requests:?}").contains("wrong-password"));
}

#[tokio::test]
async fn the_window_also_holds_at_most_so_many_bytes() {
    let emulator = start_with(Emulator::builder().record_memory_limit(10_000)).await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let body = json!({ "data": "z".repeat(3000) }).to_string();
    for _ in 0..10 {
        assert_eq!(invoke(&emulator, &path, &[], body.as_bytes()).await.status, 200);
    }
    let (requests, runs) = emulator.records_held();
    assert!((1..=3).contains(&requests), "{requests}");
    assert!((1..=3).contains(&runs), "{runs}");
    assert_eq!(emulator.request_count(), 10);
    // The newest record stays, however large.
    let big = json!({ "data": "z".repeat(20_000) }).to_string();
    assert_eq!(invoke(&emulator, &path, &[], big.as_bytes()).await.status, 200);
    assert_eq!(emulator.records_held(), (1, 1));
    assert_eq!(&emulator.requests()[0].body[..], big.as_bytes());
    assert!(!emulator.requests()[0].body_truncated);
}

#[tokio::test]
async fn credentials_are_recorded_but_hidden_from_debug() {
    let emulator = start_with(Emulator::builder()).await;
    let path = invoke_path(&emulator, "default", "echo", None);
    assert_eq!(invoke(&emulator, &path, &[], b"{}").await.status, 200);
    let request = &emulator.requests()[0];
    assert_eq!(request.headers["x-auth-token"], TOKEN);
    let run = &emulator.invocations()[0];
    assert_eq!(run.headers["x-auth-token"], TOKEN);
    let debug = format!("{request:?} {run:?}");
    assert!(!debug.contains(TOKEN), "{debug}");
}

#[tokio::test]
async fn the_observer_sees_runs_the_window_no_longer_holds() {
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&seen);
    let emulator = start_with(Emulator::builder().record_limit(1).on_invocation(move |record| {
        assert!(record.outcome.is_some());
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }))
    .await;
    let path = invoke_path(&emulator, "default", "echo", None);
    for _ in 0..5 {
        assert_eq!(invoke(&emulator, &path, &[], b"{}").await.status, 200);
    }
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 5);
    assert_eq!(emulator.invocations().len(), 1);
}
