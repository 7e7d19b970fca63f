//! The invoke protocol over raw HTTP/1.1: envelopes, headers, logs, errors, limits,
//! routing, keep-alive, recording and shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use common::*;
use fgs_emulator::{Function, FunctionError, Handler, InvokeMode, RunOutcome};
use serde_json::{Value, json};
use tokio::net::TcpStream;

fn greeter() -> Function {
    Function::new(
        "default",
        "hello",
        Handler::from_fn(|event, ctx| async move {
            ctx.log("first line");
            ctx.log("second line");
            let name = event["name"].as_str().unwrap_or("world").to_owned();
            Ok(json!({ "greeting": format!("hello {name}") }))
        }),
    )
}

fn sleeper(millis: u64) -> Function {
    Function::new(
        "default",
        "sleeper",
        Handler::from_fn(move |_event, _ctx| async move {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            Ok(json!("slept"))
        }),
    )
}

/// `default/sleeper`, whose runs each wait for a permit of the returned gate (then return
/// `"slept"`): a run lasts exactly until the test lets it end, whatever the clock says.
fn gated_sleeper() -> (Function, Arc<tokio::sync::Semaphore>) {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let held = Arc::clone(&gate);
    let function = Function::new(
        "default",
        "sleeper",
        Handler::from_fn(move |_event, _ctx| {
            let held = Arc::clone(&held);
            async move {
                held.acquire().await.unwrap().forget();
                Ok(json!("slept"))
            }
        }),
    );
    (function, gate)
}

fn assert_request_id_format(id: &str) {
    assert_eq!(
        id.split('-').map(str::len).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12],
        "{id}"
    );
}

#[tokio::test]
async fn sync_v1_envelope_and_headers() {
    let emulator = start([greeter()]).await;
    let path = invoke_path(&emulator, "default", "hello", Some("latest"));
    let response = invoke(
        &emulator,
        &path,
        &[("X-CFF-Request-Version", "v1")],
        br#"{"name":"fgs"}"#,
    )
    .await;

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("x-cff-response-version"), Some("v1"));
    assert_eq!(response.header("x-func-err-code"), Some("0"));
    assert_eq!(response.header("x-is-func-err"), Some("false"));
    let id = response
        .header("x-cff-request-id")
        .expect("X-Cff-Request-Id")
        .to_owned();
    assert_request_id_format(&id);

    let body = response.json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["log", "request_id", "result", "status"], "{body}");
    assert_eq!(body["request_id"], id.as_str());
    assert_eq!(body["status"], 200);
    assert!(body["result"].is_string(), "result is JSON text: {body}");
    assert_eq!(response.v1_result(), json!({ "greeting": "hello fgs" }));

    let summary = response.summary();
    for key in ["duration", "billingDuration", "memorySize", "memoryUsed"] {
        assert!(summary[key].is_number(), "{key} in {summary}");
    }
    assert_eq!(summary["memorySize"], 128);
    assert!(summary["memoryUsed"].as_f64().unwrap() > 0.0);
    let billing: f64 = response
        .header("x-cff-billing-duration")
        .expect("X-CFF-Billing-Duration")
        .parse()
        .unwrap();
    assert_eq!(summary["billingDuration"].as_f64().unwrap(), billing);
    assert!(billing >= 1.0);
}

#[tokio::test]
async fn summary_duration_reflects_real_time() {
    let emulator = start([sleeper(50)]).await;
    let path = invoke_path(&emulator, "default", "sleeper", None);
    let response = invoke(&emulator, &path, &[("X-CFF-Request-Version", "v1")], b"{}").await;
    assert_eq!(response.status, 200, "{}", response.text());
    let summary = response.summary();
    let duration = summary["duration"].as_f64().unwrap();
    let billing = summary["billingDuration"].as_f64().unwrap();
    assert!(duration >= 50.0, "{summary}");
    assert!(duration < 5000.0, "{summary}");
    assert!(billing >= duration, "{summary}");
    assert_eq!(billing.fract(), 0.0, "billed in whole milliseconds: {summary}");
    assert_eq!(
        response.header("x-cff-billing-duration"),
        Some(format!("{billing}").as_str())
    );
}

#[tokio::test]
async fn sync_v0_body_is_the_raw_result() {
    let emulator = start([greeter()]).await;
    let path = invoke_path(&emulator, "default", "hello", None);
    let response = invoke(
        &emulator,
        &path,
        &[("X-CFF-Request-Version", "v0")],
        br#"{"name":"v0"}"#,
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-cff-response-version"), Some("v0"));
    assert_eq!(response.header("x-func-err-code"), Some("0"));
    assert_eq!(response.header("x-is-func-err"), Some("false"));
    assert!(response.header("x-cff-request-id").is_some());
    assert!(response.header("x-cff-invoke-summary").is_some());
    assert_eq!(response.json(), json!({ "greeting": "hello v0" }));
}

#[tokio::test]
async fn absent_request_version_means_v0() {
    let emulator = start([greeter()]).await;
    let path = invoke_path(&emulator, "default", "hello", None);
    let response = invoke(&emulator, &path, &[], br#"{"name":"x"}"#).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-cff-response-version"), Some("v0"));
    assert_eq!(response.json(), json!({ "greeting": "hello x" }));
}

#[tokio::test]
async fn log_tail_in_body_and_header() {
    let emulator = start([greeter()]).await;
    let path = invoke_path(&emulator, "default", "hello", Some("latest"));
    let response = invoke_v1(&emulator, &path, b"{}").await;
    assert_eq!(response.status, 200, "{}", response.text());
    let id = response.header("x-cff-request-id").unwrap().to_owned();
    let body = response.json();
    let log = body["log"].as_str().expect("log text");
    assert!(
        log.contains(&format!("Start invoke request '{id}', version: latest\n")),
        "{log}"
    );
    assert!(log.contains("\nfirst line\nsecond line\n"), "{log}");
    assert!(
        log.contains(&format!("Finish invoke request '{id}', duration: ")),
        "{log}"
    );
    assert!(log.ends_with("billing memory: 128MB"), "{log}");
    assert!(!log.contains("invoke Failed"), "{log}");
    let start = log.find("Start invoke").unwrap();
    let first = log.find("first line").unwrap();
    let finish = log.find("Finish invoke").unwrap();
    assert!(start < first && first < finish, "{log}");

    let header = response.header("x-cff-function-log").expect("X-Cff-Function-Log");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(header)
        .expect("base64 log");
    assert_eq!(String::from_utf8(decoded).unwrap(), log);
}

#[tokio::test]
async fn log_tail_with_v0_is_only_in_the_header() {
    let emulator = start([greeter()]).await;
    let path = invoke_path(&emulator, "default", "hello", None);
    let response = invoke(&emulator, &path, &[("X-Cff-Log-Type", "tail")], b"{}").await;
    assert_eq!(response.json(), json!({ "greeting": "hello world" }));
    let header = response.header("x-cff-function-log").expect("X-Cff-Function-Log");
    let log = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(header).unwrap()).unwrap();
    assert!(log.contains("first line\nsecond line\n"), "{log}");
    assert!(log.contains("Start invoke request"), "{log}");
}

#[tokio::test]
async fn without_tail_the_log_is_empty_and_no_header() {
    let emulator = start([greeter()]).await;
    let path = invoke_path(&emulator, "default", "hello", None);
    let response = invoke(&emulator, &path, &[("X-CFF-Request-Version", "v1")], b"{}").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["log"], "");
    assert!(response.header("x-cff-function-log").is_none());
    // The record still has the lines.
    let id = response.header("x-cff-request-id").unwrap();
    assert_eq!(emulator.invocation(id).unwrap().log, ["first line", "second line"]);
}

#[tokio::test]
async fn log_is_cut_to_its_last_4096_bytes() {
    let chatty = Function::new(
        "default",
        "chatty",
        Handler::from_fn(|_event, ctx| async move {
            for i in 0..500 {
                ctx.log(format!("line {i:03} é"));
            }
            Ok(json!(1))
        }),
    );
    let emulator = start([chatty]).await;
    let path = invoke_path(&emulator, "default", "chatty", None);
    let response = invoke_v1(&emulator, &path, b"{}").await;
    let body = response.json();
    let log = body["log"].as_str().unwrap();
    assert!(log.len() <= 4096 && log.len() > 4000, "{}", log.len());
    assert!(!log.contains("Start invoke request"), "the head is cut");
    assert!(!log.contains("line 000 é"), "the head is cut");
    assert!(log.contains("line 499 é\n"), "the tail is kept");
    assert!(log.contains("Finish invoke request"), "the tail is kept");
    let header = response.header("x-cff-function-log").unwrap();
    let decoded = base64::engine::general_purpose::STANDARD.decode(header).unwrap();
    assert_eq!(decoded, log.as_bytes());
    assert_eq!(body["result"], "1");
}

#[tokio::test]
async fn function_error_response() {
    let broken = Function::new(
        "default",
        "broken",
        Handler::from_fn(|_event, ctx| async move {
            ctx.log("about to fail");
            Err(FunctionError::new("ValueError", "bad input").with_stack_trace(["at handler (index.js:3)"]))
        }),
    );
    let emulator = start([broken]).await;
    let path = invoke_path(&emulator, "default", "broken", None);
    let response = invoke_v1(&emulator, &path, b"{}").await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-is-func-err"), Some("true"));
    let code = response.header("x-func-err-code").unwrap();
    assert_ne!(code, "0");
    assert!(code.parse::<i64>().is_ok(), "{code}");
    let expected = json!({
        "errorMessage": "bad input",
        "errorType": "ValueError",
        "stackTrace": ["at handler (index.js:3)"],
    });
    assert_eq!(response.v1_result(), expected);
    let log = response.json()["log"].as_str().unwrap().to_owned();
    assert!(log.contains("about to fail\n"), "{log}");
    assert!(log.contains("(invoke Failed)"), "{log}");

    // v0: the error document is the body.
    let response = invoke(&emulator, &path, &[], b"{}").await;
    assert_eq!(response.header("x-is-func-err"), Some("true"));
    assert_eq!(response.json(), expected);
}

#[tokio::test]
async fn timeout_stops_the_handler() {
    /// Sets its flag when dropped: when the emulator stops the run.
    struct OnDrop(Arc<AtomicBool>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    // The run would take a minute; the function's timeout is 500 ms. Only the timeout can
    // answer within the bounds below, however loaded the machine.
    let finished = Arc::new(AtomicBool::new(false));
    let stopped = Arc::new(AtomicBool::new(false));
    let (flag, dropped) = (Arc::clone(&finished), Arc::clone(&stopped));
    let slow = Function::new(
        "default",
        "slow",
        Handler::from_fn(move |_event, _ctx| {
            let flag = Arc::clone(&flag);
            let guard = OnDrop(Arc::clone(&dropped));
            async move {
                let _guard = guard;
                tokio::time::sleep(Duration::from_secs(60)).await;
                flag.store(true, Ordering::SeqCst);
                Ok(json!("too late"))
            }
        }),
    )
    .timeout(Duration::from_millis(500));
    let emulator = start([slow]).await;
    let path = invoke_path(&emulator, "default", "slow", None);
    let (response, elapsed) = timed(invoke(&emulator, &path, &[("X-CFF-Request-Version", "v1")], b"{}")).await;
    assert!(elapsed >= Duration::from_millis(500), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(30),
        "answered at the timeout, not at the end of the run: {elapsed:?}"
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-is-func-err"), Some("true"));
    assert_ne!(response.header("x-func-err-code"), Some("0"));
    let result = response.v1_result();
    assert_eq!(result["errorType"], "TimeoutError", "{result}");
    assert!(
        result["errorMessage"].as_str().is_some_and(|m| !m.is_empty()),
        "{result}"
    );

    let id = response.header("x-cff-request-id").unwrap();
    let record = emulator.invocation(id).expect("recorded");
    assert_eq!(record.outcome, Some(RunOutcome::TimedOut));
    assert!(record.duration.unwrap() >= Duration::from_millis(500));

    // The handler's future is dropped (stopped), not left running to its end.
    tokio::time::timeout(Duration::from_secs(10), async {
        while !stopped.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the timed-out handler kept running");
    assert!(!finished.load(Ordering::SeqCst), "the timed-out handler ran to its end");
}

#[tokio::test]
async fn max_concurrency_rejects_a_second_concurrent_call() {
    // The first run lasts until the gate opens, so the second call certainly overlaps it.
    let (gated, gate) = gated_sleeper();
    let emulator = Arc::new(start([gated.max_concurrency(1)]).await);
    let path = invoke_path(&emulator, "default", "sleeper", None);
    let first = {
        let emulator = Arc::clone(&emulator);
        let path = path.clone();
        tokio::spawn(async move { invoke(&emulator, &path, &[], b"{}").await })
    };
    // Wait until the first run has started.
    tokio::time::timeout(Duration::from_secs(5), async {
        while emulator.invocation_count("default", "sleeper") == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the first call started");

    let second = invoke(&emulator, &path, &[], b"{}").await;
    let body = assert_fss_error(&second, 429, "FSS.0429");
    assert!(!body["error_msg"].as_str().unwrap().is_empty());

    gate.add_permits(1);
    let first = first.await.unwrap();
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.json(), json!("slept"));
    assert_eq!(emulator.invocation_count("default", "sleeper"), 1);

    // The slot is free again.
    gate.add_permits(1);
    let third = invoke(&emulator, &path, &[], b"{}").await;
    assert_eq!(third.status, 200, "{}", third.text());
}

#[tokio::test]
async fn instance_memory_header_sets_the_memory_size() {
    let probe = Function::new(
        "default",
        "probe",
        Handler::from_fn(|_e, ctx| async move { Ok(json!(ctx.memory_mb())) }),
    );
    let emulator = start([probe]).await;
    let path = invoke_path(&emulator, "default", "probe", None);
    let response = invoke(&emulator, &path, &[("X-Cff-Instance-Memory", "512")], b"{}").await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.summary()["memorySize"], 512);
    assert_eq!(response.json(), json!(512));
    let id = response.header("x-cff-request-id").unwrap();
    assert_eq!(emulator.invocation(id).unwrap().memory_mb, 512);
}

#[tokio::test]
async fn invalid_instance_memory_is_rejected() {
    let emulator = start([greeter()]).await;
    let path = invoke_path(&emulator, "default", "hello", None);
    for memory in ["abc", "100", "16384", ""] {
        let response = invoke(&emulator, &path, &[("X-Cff-Instance-Memory", memory)], b"{}").await;
        assert_fss_error(&response, 400, "FSS.1007");
    }
    assert_eq!(emulator.invocation_count("default", "hello"), 0);
}

#[tokio::test]
async fn function_memory_is_the_default_memory_size() {
    let probe = Function::new(
        "default",
        "probe",
        Handler::from_fn(|_e, ctx| async move { Ok(json!(ctx.memory_mb())) }),
    )
    .memory_mb(256);
    let emulator = start([probe]).await;
    let path = invoke_path(&emulator, "default", "probe", None);
    let response = invoke_v1(&emulator, &path, b"{}").await;
    assert_eq!(response.summary()["memorySize"], 256);
    assert_eq!(response.v1_result(), json!(256));
    assert!(
        response.json()["log"]
            .as_str()
            .unwrap()
            .ends_with("billing memory: 256MB")
    );
}

#[tokio::test]
async fn async_invocation_runs_once_in_the_background() {
    // The run waits until the test lets it go, so the 202 cannot have waited for it: no
    // clock involved.
    let (gated, gate) = gated_sleeper();
    let emulator = start([gated]).await;
    let path = async_path(&invoke_path(&emulator, "default", "sleeper", Some("latest")));
    let response = tokio::time::timeout(RESPONSE_TIMEOUT, invoke(&emulator, &path, &[], br#"{"job":42}"#))
        .await
        .expect("the 202 does not wait for the run");
    assert_eq!(response.status, 202, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body = response.json();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    let id = body["request_id"].as_str().expect("request_id").to_owned();
    assert_request_id_format(&id);
    assert_eq!(response.header("x-cff-request-id"), Some(id.as_str()));

    gate.add_permits(1);
    let record = emulator
        .wait_for_invocation(&id, Duration::from_secs(30))
        .await
        .expect("the run finished");
    assert_eq!(record.mode, InvokeMode::Async);
    assert_eq!(record.event, json!({ "job": 42 }));
    assert_eq!(record.outcome, Some(RunOutcome::Returned(json!("slept"))));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(emulator.invocation_count("default", "sleeper"), 1);
    assert_eq!(emulator.invocations().len(), 1);
}

#[tokio::test]
async fn wait_for_invocation_gives_up_after_its_timeout() {
    let emulator = start([greeter()]).await;
    let (record, elapsed) = timed(emulator.wait_for_invocation("no-such-id", Duration::from_millis(100))).await;
    assert!(record.is_none());
    assert!(elapsed >= Duration::from_millis(100));
}

#[tokio::test]
async fn async_body_over_256_kib_is_413() {
    let emulator = start([echo_function()]).await;
    let path = async_path(&invoke_path(&emulator, "default", "echo", None));
    let mut body = vec![b' '; 256 * 1024 - 1];
    body.extend_from_slice(b"{}");
    let response = send_while_reading(
        emulator.addr(),
        request(
            "POST",
            &path,
            &[("X-Auth-Token", TOKEN), ("Content-Type", "application/json")],
            &body,
        ),
    )
    .await;
    assert_fss_error(&response, 413, "FSS.1201");

    // Exactly 256 KiB is accepted.
    body.remove(0);
    let response = invoke(&emulator, &path, &[], &body).await;
    assert_eq!(response.status, 202, "{}", response.text());
}

fn echo_function() -> Function {
    Function::new("default", "echo", echo())
}

#[tokio::test]
async fn sync_body_over_6_mib_by_content_length_is_413() {
    let emulator = start([echo_function()]).await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let body = vec![b' '; 6 * 1024 * 1024 + 1];
    let response = send_while_reading(
        emulator.addr(),
        request(
            "POST",
            &path,
            &[("X-Auth-Token", TOKEN), ("Content-Type", "application/json")],
            &body,
        ),
    )
    .await;
    assert_fss_error(&response, 413, "FSS.1201");
    let requests = emulator.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].body.is_empty(), "an oversized body is not recorded");
    assert_eq!(
        requests[0].headers["content-length"],
        (6 * 1024 * 1024 + 1).to_string().as_str()
    );
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}

#[tokio::test]
async fn sync_chunked_body_over_6_mib_is_413() {
    let emulator = start([echo_function()]).await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let mut raw = request(
        "POST",
        &path,
        &[
            ("X-Auth-Token", TOKEN),
            ("Content-Type", "application/json"),
            ("Transfer-Encoding", "chunked"),
        ],
        b"",
    );
    let chunk = vec![b' '; 512 * 1024];
    for _ in 0..13 {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(&chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    assert!(
        !String::from_utf8_lossy(&raw[..512])
            .to_ascii_lowercase()
            .contains("content-length")
    );
    let response = send_while_reading(emulator.addr(), raw).await;
    assert_fss_error(&response, 413, "FSS.1201");
    let requests = emulator.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].body.is_empty(), "an oversized body is not recorded");
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}

#[tokio::test]
async fn chunked_body_within_the_limit_is_accepted() {
    let emulator = start([echo_function()]).await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let mut raw = request(
        "POST",
        &path,
        &[("X-Auth-Token", TOKEN), ("Transfer-Encoding", "chunked")],
        b"",
    );
    raw.extend_from_slice(b"5\r\n{\"a\":\r\n3\r\n 7}\r\n0\r\n\r\n");
    let response = send(emulator.addr(), &raw).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json(), json!({ "a": 7 }));
}

#[tokio::test]
async fn invalid_json_is_406_as_the_catalogue_says() {
    let emulator = start([echo_function()]).await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let response = invoke(&emulator, &path, &[], b"{not json").await;
    assert_fss_error(&response, 406, "FSS.0406");
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}

#[tokio::test]
async fn empty_body_is_an_empty_object_event() {
    let emulator = start([echo_function()]).await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let response = invoke(&emulator, &path, &[], b"").await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json(), json!({}));
    assert_eq!(emulator.invocations()[0].event, json!({}));
}

#[tokio::test]
async fn unknown_paths_and_methods_are_404_apigw_0101() {
    let emulator = start([echo_function()]).await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let targets = [
        ("GET", "/".to_owned()),
        ("GET", path.clone()),
        ("PUT", path.clone()),
        ("POST", "/v2/x/fgs/functions".to_owned()),
        ("POST", format!("{path}/extra")),
        ("POST", path.replace("/invocations", "/invoke")),
        ("GET", "/v3/auth/tokens".to_owned()),
    ];
    for (method, target) in &targets {
        let response = send(
            emulator.addr(),
            &request(method, target, &[("X-Auth-Token", TOKEN)], b""),
        )
        .await;
        let body = assert_gateway_error(&response, 404, "APIGW.0101");
        assert!(response.header("x-cff-request-id").is_none(), "{method} {target}");
        assert!(body["error_msg"].as_str().unwrap().contains("does not exist"), "{body}");
    }
    // Routing comes before authentication.
    let response = send(emulator.addr(), &request("GET", "/nothing", &[], b"")).await;
    assert_gateway_error(&response, 404, "APIGW.0101");
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
    assert_eq!(emulator.request_count(), targets.len() + 1);
}

#[tokio::test]
async fn keep_alive_serves_two_requests_on_one_connection() {
    let emulator = start([greeter()]).await;
    let path = invoke_path(&emulator, "default", "hello", None);
    let mut conn = Conn::connect(emulator.addr()).await;
    let mut ids = Vec::new();
    for name in ["a", "b"] {
        let body = format!(r#"{{"name":"{name}"}}"#);
        let response = conn
            .send(&request("POST", &path, &[("X-Auth-Token", TOKEN)], body.as_bytes()))
            .await;
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(response.json(), json!({ "greeting": format!("hello {name}") }));
        ids.push(response.header("x-cff-request-id").unwrap().to_owned());
    }
    assert_ne!(ids[0], ids[1], "every invocation has its own request id");
    // An error keeps the connection usable too.
    let response = conn.send(&request("POST", "/nope", &[], b"")).await;
    assert_eq!(response.status, 404);
    let response = conn
        .send(&request("POST", &path, &[("X-Auth-Token", TOKEN)], b""))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(emulator.invocation_count("default", "hello"), 3);
}

#[tokio::test]
async fn percent_encoded_and_raw_urns_are_both_accepted() {
    let emulator = start([echo_function()]).await;
    let encoded = invoke_path(&emulator, "default", "echo", Some("latest"));
    assert!(encoded.contains("urn%3Afss%3A"), "{encoded}");
    let raw = raw_invoke_path(&emulator, "default", "echo", Some("latest"));
    assert!(raw.contains("urn:fss:"), "{raw}");
    for path in [&encoded, &raw] {
        let response = invoke(&emulator, path, &[], br#"{"via":1}"#).await;
        assert_eq!(response.status, 200, "{path}: {}", response.text());
        assert_eq!(response.json(), json!({ "via": 1 }));
    }
    assert_eq!(emulator.invocation_count("default", "echo"), 2);
}

#[tokio::test]
async fn invalid_urn_is_400_fss_1309() {
    let emulator = start([echo_function()]).await;
    let project = emulator.project_id().to_owned();
    for segment in [
        "urn%3Afss%3Anope".to_owned(),
        "not-a-urn".to_owned(),
        "urn%3".to_owned(),
        format!("urn:fss:cn-north-4:{project}:function:default:9bad"),
    ] {
        let path = format!("/v2/{project}/fgs/functions/{segment}/invocations");
        let response = invoke(&emulator, &path, &[], b"{}").await;
        let body = assert_fss_error(&response, 400, "FSS.1309");
        let message = body["error_msg"].as_str().unwrap();
        assert!(message.starts_with("Invalid function URN"), "{body}");
        assert!(
            !message.contains("invalid function URN"),
            "the parser's prefix is not repeated: {message}"
        );
    }
    assert!(emulator.invocations().is_empty());
}

#[tokio::test]
async fn path_project_differing_from_the_urn_is_400() {
    let emulator = start([echo_function()]).await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let other = path.replacen(emulator.project_id(), "ffffffffffffffffffffffffffffffff", 1);
    assert_ne!(path, other);
    let response = invoke(&emulator, &other, &[], b"{}").await;
    assert_fss_error(&response, 400, "FSS.0400");
    assert!(emulator.invocations().is_empty());
}

#[tokio::test]
async fn urn_of_another_project_is_403() {
    let emulator = start([echo_function()]).await;
    let other = "ffffffffffffffffffffffffffffffff";
    let urn = format!("urn:fss:{}:{other}:function:default:echo:latest", emulator.region());
    let path = format!(
        "/v2/{other}/fgs/functions/{}/invocations",
        fgs_urn::encode_path_segment(&urn)
    );
    let response = invoke(&emulator, &path, &[], b"{}").await;
    assert_fss_error(&response, 403, "FSS.0403");
    assert!(emulator.invocations().is_empty());
}

#[tokio::test]
async fn invalid_request_version_is_400() {
    let emulator = start([echo_function()]).await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let response = invoke(&emulator, &path, &[("X-CFF-Request-Version", "v2")], b"{}").await;
    assert_fss_error(&response, 400, "FSS.0400");
}

#[tokio::test]
async fn requests_are_recorded_as_received() {
    let emulator = start([echo_function()]).await;
    let encoded = invoke_path(&emulator, "default", "echo", Some("latest"));
    let raw = raw_invoke_path(&emulator, "default", "echo", None);
    invoke(&emulator, &encoded, &[("X-Custom", "one")], br#"{"n":1}"#).await;
    invoke(&emulator, &format!("{raw}?x=%2F"), &[], br#"{"n":2}"#).await;
    send(emulator.addr(), &request("GET", "/what%20ever", &[], b"")).await;

    let requests = emulator.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(emulator.request_count(), 3);
    assert_eq!(requests[0].method, http::Method::POST);
    assert_eq!(requests[0].path, encoded, "percent-encoding is kept");
    assert_eq!(requests[0].headers["x-custom"], "one");
    assert_eq!(requests[0].headers["x-auth-token"], TOKEN);
    assert_eq!(requests[0].body.as_ref(), br#"{"n":1}"#);
    assert_eq!(requests[1].path, format!("{raw}?x=%2F"));
    assert_eq!(requests[1].body.as_ref(), br#"{"n":2}"#);
    assert_eq!(requests[2].method, http::Method::GET);
    assert_eq!(requests[2].path, "/what%20ever");
    assert!(requests[2].body.is_empty());
}

#[tokio::test]
async fn shutdown_completes_and_the_port_refuses_connections() {
    let emulator = start([echo_function()]).await;
    let addr = emulator.addr();
    assert!(addr.ip().is_loopback());
    assert_eq!(emulator.endpoint(), format!("http://{addr}"));
    let path = invoke_path(&emulator, "default", "echo", None);
    let response = invoke(&emulator, &path, &[], b"{}").await;
    assert_eq!(response.status, 200);
    let ((), elapsed) = timed(emulator.shutdown()).await;
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the port still accepts connections"
    );
}

#[tokio::test]
async fn shutdown_finishes_an_open_idle_connection() {
    let emulator = start([echo_function()]).await;
    let addr = emulator.addr();
    let path = invoke_path(&emulator, "default", "echo", None);
    let mut conn = Conn::connect(addr).await;
    let response = conn
        .send(&request("POST", &path, &[("X-Auth-Token", TOKEN)], b"{}"))
        .await;
    assert_eq!(response.status, 200);
    // The idle keep-alive connection does not hold up the shutdown.
    let ((), elapsed) = timed(emulator.shutdown()).await;
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    let rest = tokio::time::timeout(Duration::from_secs(2), conn.read_to_close())
        .await
        .expect("closed");
    assert!(rest.is_empty());
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn request_ids_differ_and_match_the_record() {
    let emulator = start([echo_function()]).await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let response = invoke(&emulator, &path, &[("X-CFF-Request-Version", "v1")], b"{}").await;
        let id = response.header("x-cff-request-id").unwrap().to_owned();
        assert_eq!(response.json()["request_id"], Value::String(id.clone()));
        ids.push(id);
    }
    let recorded: Vec<String> = emulator.invocations().into_iter().map(|r| r.request_id).collect();
    assert_eq!(recorded, ids);
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 3);
}

#[tokio::test]
async fn oversized_body_sent_in_full_still_keeps_the_connection() {
    let emulator = start([echo_function()]).await;
    let path = invoke_path(&emulator, "default", "echo", None);
    let stream = TcpStream::connect(emulator.addr()).await.unwrap();
    let (read, mut write) = stream.into_split();
    let big = request("POST", &path, &[("X-Auth-Token", TOKEN)], &vec![b' '; 7 * 1024 * 1024]);
    let writer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt as _;
        write
            .write_all(&big)
            .await
            .expect("the whole oversized body is accepted");
        write
    });
    let mut conn = Conn::new(read);
    let response = tokio::time::timeout(RESPONSE_TIMEOUT, conn.read_response())
        .await
        .unwrap();
    assert_fss_error(&response, 413, "FSS.1201");
    let mut write = tokio::time::timeout(RESPONSE_TIMEOUT, writer).await.unwrap().unwrap();
    // The rest of the body was drained, so the connection still serves requests.
    {
        use tokio::io::AsyncWriteExt as _;
        write
            .write_all(&request("POST", &path, &[("X-Auth-Token", TOKEN)], b"{}"))
            .await
            .unwrap();
    }
    let response = tokio::time::timeout(RESPONSE_TIMEOUT, conn.read_response())
        .await
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(emulator.invocation_count("default", "echo"), 1);
}

#[tokio::test]
async fn dropping_the_emulator_stops_it() {
    let emulator = start([echo_function()]).await;
    let addr = emulator.addr();
    drop(emulator);
    // The abort runs on the runtime: wait for it (not for a fixed time).
    tokio::time::timeout(Duration::from_secs(10), async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the emulator still accepts connections after being dropped");
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let emulator = start([sleeper(300)]).await;
    let path = invoke_path(&emulator, "default", "sleeper", None);
    let mut conn = Conn::connect(emulator.addr()).await;
    conn.write_all(&request("POST", &path, &[("X-Auth-Token", TOKEN)], b"{}"))
        .await;
    // Wait until the run has started, then shut down.
    tokio::time::timeout(Duration::from_secs(5), async {
        while emulator.invocation_count("default", "sleeper") == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    let addr = emulator.addr();
    let shutdown = tokio::spawn(emulator.shutdown());
    let response = tokio::time::timeout(RESPONSE_TIMEOUT, conn.read_response())
        .await
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json(), json!("slept"));
    tokio::time::timeout(Duration::from_secs(3), shutdown)
        .await
        .expect("shutdown completes")
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn timed_out_run_keeps_its_log_lines() {
    let slow = Function::new(
        "default",
        "slow",
        Handler::from_fn(|_event, ctx| async move {
            ctx.log("before the wait");
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(json!(null))
        }),
    )
    .timeout(Duration::from_millis(200));
    let emulator = start([slow]).await;
    let path = invoke_path(&emulator, "default", "slow", None);
    let response = invoke_v1(&emulator, &path, b"{}").await;
    let log = response.json()["log"].as_str().unwrap().to_owned();
    assert!(log.contains("\nbefore the wait\n"), "{log}");
    assert!(log.contains("(invoke Failed)"), "{log}");
    let record = emulator
        .invocation(response.header("x-cff-request-id").unwrap())
        .unwrap();
    assert_eq!(record.log, ["before the wait"]);
}

#[tokio::test]
async fn async_run_past_its_timeout_is_recorded_as_timed_out() {
    let slow = Function::new(
        "default",
        "slow",
        Handler::from_fn(|_event, _ctx| async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(json!(null))
        }),
    )
    .timeout(Duration::from_millis(200));
    let emulator = start([slow]).await;
    let path = async_path(&invoke_path(&emulator, "default", "slow", None));
    let response = invoke(&emulator, &path, &[], b"{}").await;
    assert_eq!(response.status, 202, "{}", response.text());
    let id = response.json()["request_id"].as_str().unwrap().to_owned();
    // The run would take a minute: a record within 30 s can only come from the timeout.
    let record = emulator.wait_for_invocation(&id, Duration::from_secs(30)).await;
    assert_eq!(record.expect("recorded").outcome, Some(RunOutcome::TimedOut));
}
