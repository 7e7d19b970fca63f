//! Fault injection: latency, forced errors, canned responses, dropped connections, slow
//! and truncated bodies, and which requests a rule applies to.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use fgs_emulator::{Emulator, Fault, FaultRule, Function, RunOutcome};
use serde_json::json;

async fn two_functions() -> Emulator {
    start([
        Function::new("default", "echo", echo()),
        Function::new("default", "other", constant(json!("other"))),
    ])
    .await
}

fn echo_path(emulator: &Emulator) -> String {
    invoke_path(emulator, "default", "echo", None)
}

fn invoke_request(path: &str, body: &[u8]) -> Vec<u8> {
    request(
        "POST",
        path,
        &[("X-Auth-Token", TOKEN), ("Content-Type", "application/json")],
        body,
    )
}

#[tokio::test]
async fn latency_delays_a_successful_call() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::once(Fault::Latency(Duration::from_millis(150))));
    let path = echo_path(&emulator);
    let (response, elapsed) = timed(invoke(&emulator, &path, &[], br#"{"late":true}"#)).await;
    assert!(elapsed >= Duration::from_millis(150), "{elapsed:?}");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json(), json!({ "late": true }));
    assert_eq!(emulator.invocation_count("default", "echo"), 1);
    // The latency is not part of the function's duration.
    assert!(
        response.summary()["duration"].as_f64().unwrap() < 150.0,
        "{}",
        response.summary()
    );
}

#[tokio::test]
async fn error_fault_with_retry_after_does_not_run_the_function() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::once(Fault::throttled(Duration::from_secs(3))));
    let path = echo_path(&emulator);
    let response = invoke(&emulator, &path, &[], b"{}").await;
    let body = assert_fss_error(&response, 429, "FSS.0429");
    assert!(!body["error_msg"].as_str().unwrap().is_empty());
    assert_eq!(response.header("retry-after"), Some("3"));
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
    assert!(emulator.invocations().is_empty());
}

#[tokio::test]
async fn error_fault_with_explicit_fields() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::once(Fault::Error {
        status: 503,
        code: "FSS.0500".into(),
        message: "Service busy, try later".into(),
        retry_after: Some(Duration::from_secs(1)),
    }));
    emulator.inject(FaultRule::once(Fault::error(500, "FSS.0500", "internal")));
    let path = echo_path(&emulator);
    let response = invoke(&emulator, &path, &[], b"{}").await;
    let body = assert_fss_error(&response, 503, "FSS.0500");
    assert_eq!(body["error_msg"], "Service busy, try later");
    assert_eq!(response.header("retry-after"), Some("1"));
    let response = invoke(&emulator, &path, &[], b"{}").await;
    let body = assert_fss_error(&response, 500, "FSS.0500");
    assert_eq!(body["error_msg"], "internal");
    assert!(response.header("retry-after").is_none());
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}

#[tokio::test]
async fn apigw_error_fault_has_a_request_id_in_the_body() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::once(Fault::error(502, "APIGW.0201", "Backend unavailable")));
    let path = echo_path(&emulator);
    let response = invoke(&emulator, &path, &[], b"{}").await;
    let body = assert_gateway_error(&response, 502, "APIGW.0201");
    assert_eq!(body["error_msg"], "Backend unavailable");
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}

#[tokio::test]
async fn response_fault_is_sent_exactly() {
    let emulator = two_functions().await;
    let html = "<html><body>502 Bad Gateway</body></html>";
    emulator.inject(FaultRule::once(Fault::response(
        502,
        vec![
            ("Content-Type".into(), "text/html".into()),
            ("X-Proxy".into(), "edge-7".into()),
        ],
        html,
    )));
    let path = echo_path(&emulator);
    let response = invoke(&emulator, &path, &[], b"{}").await;
    assert_eq!(response.status, 502);
    assert_eq!(response.header("content-type"), Some("text/html"));
    assert_eq!(response.header("x-proxy"), Some("edge-7"));
    assert_eq!(response.text(), html);
    assert!(response.header("x-cff-request-id").is_none());
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}

#[tokio::test]
async fn drop_before_run_closes_without_a_response() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::once(Fault::DropBeforeRun));
    let path = echo_path(&emulator);
    let mut conn = Conn::connect(emulator.addr()).await;
    conn.write_all(&invoke_request(&path, b"{}")).await;
    let received = tokio::time::timeout(Duration::from_secs(5), conn.read_to_close())
        .await
        .expect("closed");
    assert!(received.is_empty(), "got {:?}", String::from_utf8_lossy(&received));
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
    assert_eq!(emulator.request_count(), 1, "the request was read");
}

#[tokio::test]
async fn drop_after_run_closes_without_a_response_after_one_run() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::once(Fault::DropAfterRun));
    let path = echo_path(&emulator);
    let mut conn = Conn::connect(emulator.addr()).await;
    conn.write_all(&invoke_request(&path, br#"{"ran":1}"#)).await;
    let received = tokio::time::timeout(Duration::from_secs(5), conn.read_to_close())
        .await
        .expect("closed");
    assert!(received.is_empty(), "got {:?}", String::from_utf8_lossy(&received));
    assert_eq!(emulator.invocation_count("default", "echo"), 1);
    let record = &emulator.invocations()[0];
    assert_eq!(record.outcome, Some(RunOutcome::Returned(json!({ "ran": 1 }))));
}

#[tokio::test]
async fn slow_body_arrives_in_pieces() {
    let text = "x".repeat(38); // 40 bytes of JSON string
    let function = Function::new("default", "text", constant(json!(text)));
    let emulator = start([function]).await;
    let (chunk, delay, pieces) = (10, Duration::from_millis(60), 4);
    emulator.inject(FaultRule::once(Fault::SlowBody { chunk, delay }));
    let path = invoke_path(&emulator, "default", "text", None);

    let started = Instant::now();
    let mut conn = Conn::connect(emulator.addr()).await;
    conn.write_all(&invoke_request(&path, b"{}")).await;
    let head = tokio::time::timeout(Duration::from_secs(5), conn.read_head())
        .await
        .expect("head");
    assert_eq!(head.status, 200);
    let length = head.content_length().expect("Content-Length announced");
    assert_eq!(length, 40);
    let mut body = Vec::new();
    let mut arrivals = Vec::new();
    while body.len() < length {
        let bytes = tokio::time::timeout(Duration::from_secs(5), conn.next_bytes())
            .await
            .expect("more body");
        let bytes = bytes.expect("connection open until the body is complete");
        arrivals.push((started.elapsed(), bytes.len()));
        body.extend(bytes);
    }
    let total = started.elapsed();
    assert!(total >= delay * pieces, "{total:?}");
    assert!(arrivals.len() >= 2, "the body came in one piece: {arrivals:?}");
    assert!(
        arrivals.iter().all(|(_, n)| *n <= chunk),
        "pieces larger than {chunk}: {arrivals:?}"
    );
    let spread = arrivals.last().unwrap().0 - arrivals.first().unwrap().0;
    assert!(spread >= delay, "pieces arrived together: {arrivals:?}");
    assert_eq!(body.len(), length);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap(), json!(text));
}

/// Reads everything until the server closes and splits it into head and body.
async fn read_raw_until_close(conn: &mut Conn) -> (String, Vec<u8>) {
    let all = tokio::time::timeout(Duration::from_secs(5), conn.read_to_close())
        .await
        .expect("closed");
    let Some(end) = all.windows(4).position(|w| w == b"\r\n\r\n") else {
        panic!(
            "no complete response head in the {} bytes received: {:?}",
            all.len(),
            String::from_utf8_lossy(&all)
        );
    };
    (
        String::from_utf8_lossy(&all[..end]).into_owned(),
        all[end + 4..].to_vec(),
    )
}

#[tokio::test]
async fn truncated_body_announces_more_than_it_sends() {
    let function = Function::new("default", "text", constant(json!("y".repeat(98))));
    let emulator = start([function]).await;
    emulator.inject(FaultRule::once(Fault::TruncatedBody));
    let path = invoke_path(&emulator, "default", "text", None);
    let mut conn = Conn::connect(emulator.addr()).await;
    conn.write_all(&invoke_request(&path, b"{}")).await;
    let (head, body) = read_raw_until_close(&mut conn).await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let length: usize = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("Content-Length announced");
    assert_eq!(length, 100);
    assert!(body.len() < length, "{} of {length} bytes", body.len());
    assert!(!body.is_empty(), "part of the body is sent");
    assert_eq!(emulator.invocation_count("default", "text"), 1);
}

#[tokio::test]
async fn once_applies_to_one_request_only() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::once(Fault::error(500, "FSS.0500", "once")));
    let path = echo_path(&emulator);
    assert_fss_error(&invoke(&emulator, &path, &[], b"{}").await, 500, "FSS.0500");
    for _ in 0..2 {
        let response = invoke(&emulator, &path, &[], b"{}").await;
        assert_eq!(response.status, 200, "{}", response.text());
    }
    assert_eq!(emulator.invocation_count("default", "echo"), 2);
}

#[tokio::test]
async fn a_rejected_request_does_not_use_up_a_fault() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::once(Fault::error(500, "FSS.0500", "once")));
    let path = echo_path(&emulator);
    // Unauthenticated and unrouted requests never reach fault handling.
    assert_gateway_error(
        &send(emulator.addr(), &request("POST", &path, &[], b"{}")).await,
        401,
        "APIGW.0301",
    );
    assert_gateway_error(
        &send(emulator.addr(), &request("GET", "/x", &[], b"")).await,
        404,
        "APIGW.0101",
    );
    assert_fss_error(&invoke(&emulator, &path, &[], b"{}").await, 500, "FSS.0500");
}

#[tokio::test]
async fn for_function_targets_only_that_function() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::always(Fault::error(503, "FSS.0503", "other is down")).for_function("default", "other"));
    let echo = echo_path(&emulator);
    let other = invoke_path(&emulator, "default", "other", None);
    let other_v = invoke_path(&emulator, "default", "other", Some("latest"));
    assert_eq!(invoke(&emulator, &echo, &[], b"{}").await.status, 200);
    assert_fss_error(&invoke(&emulator, &other, &[], b"{}").await, 503, "FSS.0503");
    assert_fss_error(&invoke(&emulator, &other_v, &[], b"{}").await, 503, "FSS.0503");
    assert_eq!(invoke(&emulator, &echo, &[], b"{}").await.status, 200);
    assert_eq!(emulator.invocation_count("default", "echo"), 2);
    assert_eq!(emulator.invocation_count("default", "other"), 0);
}

#[tokio::test]
async fn once_for_function_waits_for_that_function() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::once(Fault::error(500, "FSS.0500", "x")).for_function("default", "other"));
    let echo = echo_path(&emulator);
    let other = invoke_path(&emulator, "default", "other", None);
    assert_eq!(invoke(&emulator, &echo, &[], b"{}").await.status, 200);
    assert_fss_error(&invoke(&emulator, &other, &[], b"{}").await, 500, "FSS.0500");
    assert_eq!(invoke(&emulator, &other, &[], b"{}").await.status, 200);
}

#[tokio::test]
async fn times_applies_to_that_many_requests() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::times(Fault::error(500, "FSS.0500", "twice"), 2));
    let path = echo_path(&emulator);
    assert_fss_error(&invoke(&emulator, &path, &[], b"{}").await, 500, "FSS.0500");
    assert_fss_error(&invoke(&emulator, &path, &[], b"{}").await, 500, "FSS.0500");
    assert_eq!(invoke(&emulator, &path, &[], b"{}").await.status, 200);
    assert_eq!(emulator.invocation_count("default", "echo"), 1);
}

#[tokio::test]
async fn times_zero_applies_to_no_request() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::times(Fault::error(500, "FSS.0500", "never"), 0));
    let path = echo_path(&emulator);
    let response = invoke(&emulator, &path, &[], br#"{"n":1}"#).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json(), json!({ "n": 1 }));
    let response = invoke(&emulator, &path, &[], br#"{"n":2}"#).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(emulator.invocation_count("default", "echo"), 2);
}

#[tokio::test]
async fn rules_apply_in_the_order_added() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::once(Fault::error(500, "FSS.0001", "first")));
    emulator.inject(FaultRule::once(Fault::error(500, "FSS.0002", "second")));
    let path = echo_path(&emulator);
    assert_fss_error(&invoke(&emulator, &path, &[], b"{}").await, 500, "FSS.0001");
    assert_fss_error(&invoke(&emulator, &path, &[], b"{}").await, 500, "FSS.0002");
    assert_eq!(invoke(&emulator, &path, &[], b"{}").await.status, 200);
}

#[tokio::test]
async fn clear_faults_removes_every_rule() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::always(Fault::error(500, "FSS.0500", "always")));
    emulator.inject(FaultRule::times(Fault::DropBeforeRun, 5).for_function("default", "other"));
    let path = echo_path(&emulator);
    assert_fss_error(&invoke(&emulator, &path, &[], b"{}").await, 500, "FSS.0500");
    assert_fss_error(&invoke(&emulator, &path, &[], b"{}").await, 500, "FSS.0500");
    emulator.clear_faults();
    assert_eq!(invoke(&emulator, &path, &[], b"{}").await.status, 200);
    let other = invoke_path(&emulator, "default", "other", None);
    assert_eq!(invoke(&emulator, &other, &[], b"{}").await.status, 200);
}

#[tokio::test]
async fn latency_fault_applies_to_async_invocations_before_the_202() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::once(Fault::Latency(Duration::from_millis(120))));
    let path = async_path(&echo_path(&emulator));
    let (response, elapsed) = timed(invoke(&emulator, &path, &[], b"{}")).await;
    assert_eq!(response.status, 202, "{}", response.text());
    assert!(elapsed >= Duration::from_millis(120), "{elapsed:?}");
}

#[tokio::test]
async fn a_dropped_connection_leaves_the_server_working() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::once(Fault::DropBeforeRun));
    let path = echo_path(&emulator);
    let mut conn = Conn::connect(emulator.addr()).await;
    conn.write_all(&invoke_request(&path, b"{}")).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.read_to_close())
        .await
        .expect("closed");
    let response = invoke(&emulator, &path, &[], br#"{"after":"drop"}"#).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), json!({ "after": "drop" }));
}

/// The bounds are more than seven standard deviations from the expectation, so the test
/// fails by chance far less than once in a billion runs.
#[tokio::test]
async fn one_in_applies_to_about_one_request_in_n() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::always(Fault::error(503, "FSS.0503", "sometimes")).one_in(4));
    let path = echo_path(&emulator);
    let mut faulted = 0;
    for _ in 0..400 {
        let response = invoke(&emulator, &path, &[], b"{}").await;
        match response.status {
            503 => faulted += 1,
            200 => {}
            other => panic!("unexpected status {other}: {}", response.text()),
        }
    }
    // Expected 100, standard deviation about 8.7.
    assert!((35..=165).contains(&faulted), "{faulted} of 400 faulted");
    assert_eq!(emulator.invocation_count("default", "echo"), 400 - faulted);
}

#[tokio::test]
async fn one_in_respects_the_repetition_count_and_falls_through_to_later_rules() {
    let emulator = two_functions().await;
    emulator.inject(FaultRule::times(Fault::error(500, "FSS.0500", "counted"), 3).one_in(2));
    let path = echo_path(&emulator);
    let mut counted = 0;
    for _ in 0..200 {
        match invoke(&emulator, &path, &[], b"{}").await.status {
            500 => counted += 1,
            200 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    // At most 3; fewer than 3 in 200 fair coin flips is out of reach (2^-190).
    assert_eq!(counted, 3);

    // `0` and `1` mean every request; a rule that does not fire leaves the request to the next.
    emulator.inject(FaultRule::once(Fault::error(500, "FSS.0500", "zero")).one_in(0));
    assert_fss_error(&invoke(&emulator, &path, &[], b"{}").await, 500, "FSS.0500");
    emulator.inject(FaultRule::always(Fault::error(503, "FSS.0503", "never")).one_in(u32::MAX));
    emulator.inject(FaultRule::always(Fault::error(429, "FSS.0429", "fallback")));
    let response = invoke(&emulator, &path, &[], b"{}").await;
    assert_fss_error(&response, 429, "FSS.0429");
}
