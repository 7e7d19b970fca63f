//! Functions: versions and aliases, the handler context, panics, command handlers and
//! the invocation records.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use common::*;
use fgs_emulator::{Function, FunctionError, Handler, InvokeMode, RunOutcome};
use serde_json::json;

/// `latest` answers "latest", `v1` answers "v1 <ctx.version>", alias `prod` → `v1`.
fn versioned() -> Function {
    Function::new("default", "hello", constant(json!("latest")))
        .version(
            "v1",
            Handler::from_fn(|_e, ctx| async move { Ok(json!(format!("v1 {}", ctx.version()))) }),
        )
        .alias("prod", "v1")
}

#[tokio::test]
async fn versions_and_aliases_run_their_handlers() {
    let emulator = start([versioned()]).await;
    let cases = [
        (Some("v1"), "v1 v1", "v1"),
        (Some("!prod"), "v1 v1", "v1"),
        (Some("latest"), "latest", "latest"),
        (None, "latest", "latest"),
    ];
    for (qualifier, expected, version) in cases {
        let path = invoke_path(&emulator, "default", "hello", qualifier);
        let response = invoke(&emulator, &path, &[], b"{}").await;
        assert_eq!(response.status, 200, "{qualifier:?}: {}", response.text());
        assert_eq!(response.json(), json!(expected), "{qualifier:?}");
        let record = emulator
            .invocation(response.header("x-cff-request-id").unwrap())
            .unwrap();
        assert_eq!(record.version, version, "{qualifier:?}");
        assert_eq!(
            record.urn,
            emulator.urn("default", "hello", qualifier),
            "the URN as invoked"
        );
    }
    assert_eq!(emulator.invocation_count("default", "hello"), 4);
}

#[tokio::test]
async fn alias_declared_with_bang_and_raw_urn() {
    let function = Function::new("default", "hello", constant(json!("latest")))
        .version("v2", constant(json!("two")))
        .alias("!beta", "v2");
    let emulator = start([function]).await;
    let path = raw_invoke_path(&emulator, "default", "hello", Some("!beta"));
    let response = invoke(&emulator, &path, &[], b"{}").await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json(), json!("two"));
}

#[tokio::test]
async fn unknown_version_is_404_fss_1052() {
    let emulator = start([versioned()]).await;
    let path = invoke_path(&emulator, "default", "hello", Some("v9"));
    let response = invoke(&emulator, &path, &[], b"{}").await;
    assert_fss_error(&response, 404, "FSS.1052");
    assert_eq!(emulator.invocation_count("default", "hello"), 0);
}

#[tokio::test]
async fn alias_to_a_missing_version_is_404_fss_1052() {
    let function = Function::new("default", "hello", echo()).alias("dangling", "v7");
    let emulator = start([function]).await;
    let path = invoke_path(&emulator, "default", "hello", Some("!dangling"));
    let response = invoke(&emulator, &path, &[], b"{}").await;
    assert_fss_error(&response, 404, "FSS.1052");
}

#[tokio::test]
async fn unknown_alias_is_404_fss_1053() {
    let emulator = start([versioned()]).await;
    let path = invoke_path(&emulator, "default", "hello", Some("!staging"));
    let response = invoke(&emulator, &path, &[], b"{}").await;
    assert_fss_error(&response, 404, "FSS.1053");
    assert_eq!(emulator.invocation_count("default", "hello"), 0);
}

#[tokio::test]
async fn unknown_function_is_404_fss_1051() {
    let emulator = start([versioned()]).await;
    for (package, name) in [("default", "nope"), ("other", "hello")] {
        let path = invoke_path(&emulator, package, name, None);
        let response = invoke(&emulator, &path, &[], b"{}").await;
        assert_fss_error(&response, 404, "FSS.1051");
        // Asynchronous lookups fail the same way.
        let response = invoke(&emulator, &async_path(&path), &[], b"{}").await;
        assert_fss_error(&response, 404, "FSS.1051");
    }
    assert!(emulator.invocations().is_empty());
}

#[tokio::test]
async fn add_function_registers_and_replaces_at_run_time() {
    let emulator = start([]).await;
    let path = invoke_path(&emulator, "default", "late", None);
    assert_fss_error(&invoke(&emulator, &path, &[], b"{}").await, 404, "FSS.1051");
    emulator.add_function(Function::new("default", "late", constant(json!(1))));
    assert_eq!(invoke(&emulator, &path, &[], b"{}").await.json(), json!(1));
    emulator.add_function(Function::new("default", "late", constant(json!(2))));
    assert_eq!(invoke(&emulator, &path, &[], b"{}").await.json(), json!(2));
}

#[tokio::test]
async fn handler_gets_the_event_and_context() {
    let handler = Handler::from_fn(|event, ctx| async move {
        Ok(json!({
            "event": event,
            "request_id": ctx.request_id(),
            "urn": ctx.function_urn(),
            "version": ctx.version(),
            "memory_mb": ctx.memory_mb(),
            "remaining_ms": ctx.remaining().as_millis() as u64,
        }))
    });
    let function = Function::new("default", "ctx", echo())
        .version("v3", handler)
        .alias("prod", "v3")
        .memory_mb(1024)
        .timeout(Duration::from_secs(30));
    let emulator = start([function]).await;
    let path = invoke_path(&emulator, "default", "ctx", Some("!prod"));
    let response = invoke(&emulator, &path, &[("X-CFF-Request-Version", "v1")], br#"{"k":[1,2]}"#).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let result = response.v1_result();
    assert_eq!(result["event"], json!({ "k": [1, 2] }));
    assert_eq!(result["request_id"], response.header("x-cff-request-id").unwrap());
    assert_eq!(result["request_id"], response.json()["request_id"]);
    assert_eq!(
        result["urn"],
        emulator.urn("default", "ctx", Some("!prod")),
        "the URN as sent"
    );
    assert_eq!(result["version"], "v3", "the version after alias resolution");
    assert_eq!(result["memory_mb"], 1024);
    let remaining = result["remaining_ms"].as_u64().unwrap();
    // Less than the timeout, and (with a 30 s timeout) some left however slowly it started.
    assert!(remaining <= 30_000 && remaining > 0, "{remaining}");
}

#[tokio::test]
async fn context_log_splits_multi_line_entries() {
    let function = Function::new(
        "default",
        "lines",
        Handler::from_fn(|_e, ctx| async move {
            ctx.log("one\ntwo");
            ctx.log(String::from("three"));
            Ok(json!(null))
        }),
    );
    let emulator = start([function]).await;
    let path = invoke_path(&emulator, "default", "lines", None);
    let response = invoke_v1(&emulator, &path, b"{}").await;
    assert!(response.json()["log"].as_str().unwrap().contains("\none\ntwo\nthree\n"));
    assert_eq!(emulator.invocations()[0].log, ["one", "two", "three"]);
}

#[tokio::test]
async fn panicking_closure_is_a_function_error_and_the_server_survives() {
    let function = Function::new(
        "default",
        "panics",
        Handler::from_fn(|event, _ctx| async move {
            if event["boom"] == true {
                panic!("deliberate panic in a test handler");
            }
            Ok(json!("fine"))
        }),
    );
    let emulator = start([function]).await;
    let path = invoke_path(&emulator, "default", "panics", None);
    let response = invoke(
        &emulator,
        &path,
        &[("X-CFF-Request-Version", "v1")],
        br#"{"boom":true}"#,
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-is-func-err"), Some("true"));
    assert_ne!(response.header("x-func-err-code"), Some("0"));
    let result = response.v1_result();
    assert!(result["errorType"].as_str().is_some_and(|t| !t.is_empty()), "{result}");
    assert!(
        result["errorMessage"].as_str().is_some_and(|m| !m.is_empty()),
        "{result}"
    );
    let record = emulator
        .invocation(response.header("x-cff-request-id").unwrap())
        .unwrap();
    assert!(
        matches!(record.outcome, Some(RunOutcome::Raised(_))),
        "{:?}",
        record.outcome
    );

    let response = invoke(&emulator, &path, &[], b"{}").await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json(), json!("fine"));
}

#[tokio::test]
async fn invocations_are_recorded() {
    let function = Function::new(
        "default",
        "rec",
        Handler::from_fn(|event, ctx| async move {
            ctx.log("recorded line");
            if event["fail"] == true {
                return Err(FunctionError::new("ValueError", "asked to fail"));
            }
            Ok(json!({ "ok": true }))
        }),
    )
    .version("v1", echo())
    .memory_mb(256);
    let emulator = start([function]).await;
    let before = SystemTime::now();
    let latest = invoke_path(&emulator, "default", "rec", None);
    let v1 = invoke_path(&emulator, "default", "rec", Some("v1"));
    let ok = invoke(&emulator, &latest, &[("X-Custom", "a")], br#"{"n":1}"#).await;
    let failed = invoke(&emulator, &latest, &[], br#"{"fail":true}"#).await;
    let versioned = invoke(&emulator, &v1, &[], br#"{"n":3}"#).await;
    let queued = invoke(&emulator, &async_path(&v1), &[], br#"{"n":4}"#).await;
    let async_id = queued.json()["request_id"].as_str().unwrap().to_owned();
    emulator
        .wait_for_invocation(&async_id, Duration::from_secs(5))
        .await
        .expect("async run finished");

    let records = emulator.invocations();
    assert_eq!(records.len(), 4);
    assert_eq!(emulator.invocation_count("default", "rec"), 4);
    assert_eq!(emulator.invocation_count("default", "other"), 0);

    let first = &records[0];
    assert_eq!(first.request_id, ok.header("x-cff-request-id").unwrap());
    assert_eq!(first.mode, InvokeMode::Sync);
    assert_eq!((first.package.as_str(), first.name.as_str()), ("default", "rec"));
    assert_eq!(first.version, "latest");
    assert_eq!(first.urn, emulator.urn("default", "rec", None));
    assert_eq!(first.event, json!({ "n": 1 }));
    assert_eq!(first.headers["x-custom"], "a");
    assert_eq!(first.memory_mb, 256);
    assert!(first.started_at >= before - Duration::from_secs(1));
    assert_eq!(first.outcome, Some(RunOutcome::Returned(json!({ "ok": true }))));
    assert!(first.duration.is_some());
    assert_eq!(first.log, ["recorded line"]);

    let second = &records[1];
    assert_eq!(second.request_id, failed.header("x-cff-request-id").unwrap());
    assert_eq!(
        second.outcome,
        Some(RunOutcome::Raised(FunctionError::new("ValueError", "asked to fail")))
    );
    assert!(second.outcome.as_ref().unwrap().is_error());

    let third = &records[2];
    assert_eq!(third.request_id, versioned.header("x-cff-request-id").unwrap());
    assert_eq!(third.version, "v1");
    assert_eq!(third.outcome, Some(RunOutcome::Returned(json!({ "n": 3 }))));
    assert!(third.log.is_empty());

    let fourth = &records[3];
    assert_eq!(fourth.request_id, async_id);
    assert_eq!(fourth.mode, InvokeMode::Async);
    assert_eq!(fourth.version, "v1");
    assert_eq!(fourth.event, json!({ "n": 4 }));
    assert_eq!(fourth.outcome, Some(RunOutcome::Returned(json!({ "n": 4 }))));
}

#[tokio::test]
async fn a_running_invocation_has_no_outcome_yet() {
    // The run waits for the test to open the gate, so it is certainly still running when
    // the test looks; then it takes at least 50 ms.
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let held = std::sync::Arc::clone(&gate);
    let function = Function::new(
        "default",
        "slow",
        Handler::from_fn(move |_e, _ctx| {
            let held = std::sync::Arc::clone(&held);
            async move {
                held.acquire().await.unwrap().forget();
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(json!(1))
            }
        }),
    );
    let emulator = start([function]).await;
    let path = async_path(&invoke_path(&emulator, "default", "slow", None));
    let response = invoke(&emulator, &path, &[], b"{}").await;
    let id = response.json()["request_id"].as_str().unwrap().to_owned();
    let running = emulator.invocation(&id).expect("recorded at start");
    assert!(running.outcome.is_none());
    assert!(running.duration.is_none());
    gate.add_permits(1);
    let done = emulator
        .wait_for_invocation(&id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done.outcome, Some(RunOutcome::Returned(json!(1))));
    assert!(done.duration.unwrap() >= Duration::from_millis(50));
}

// ---- command handlers ----

fn command(name: &str, line: &str) -> Function {
    Function::new("cmd", name, Handler::command(line))
}

#[tokio::test]
async fn command_cat_echoes_the_event() {
    if !has_sh() {
        return;
    }
    let emulator = start([command("cat", "cat")]).await;
    let path = invoke_path(&emulator, "cmd", "cat", None);
    let response = invoke(&emulator, &path, &[], br#"{"hello":"world","n":[1,2,3]}"#).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-is-func-err"), Some("false"));
    assert_eq!(response.json(), json!({ "hello": "world", "n": [1, 2, 3] }));
}

#[tokio::test]
async fn command_json_stdout_is_the_result() {
    if !has_sh() {
        return;
    }
    let emulator = start([command("json", r#"echo '{"a":1}'"#)]).await;
    let path = invoke_path(&emulator, "cmd", "json", None);
    let response = invoke(&emulator, &path, &[("X-CFF-Request-Version", "v1")], b"{}").await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.v1_result(), json!({ "a": 1 }));
}

#[tokio::test]
async fn command_non_json_stdout_is_a_string() {
    if !has_sh() {
        return;
    }
    let emulator = start([command("text", "echo hello there")]).await;
    let path = invoke_path(&emulator, "cmd", "text", None);
    let response = invoke(&emulator, &path, &[("X-CFF-Request-Version", "v1")], b"{}").await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.v1_result(), json!("hello there"));
    assert_eq!(response.json()["result"], r#""hello there""#);
}

#[tokio::test]
async fn command_failure_is_a_function_error_with_stderr_in_the_log() {
    if !has_sh() {
        return;
    }
    let emulator = start([command("fails", "echo oops >&2; exit 3")]).await;
    let path = invoke_path(&emulator, "cmd", "fails", None);
    let response = invoke_v1(&emulator, &path, b"{}").await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-is-func-err"), Some("true"));
    assert_ne!(response.header("x-func-err-code"), Some("0"));
    let result = response.v1_result();
    let message = result["errorMessage"].as_str().unwrap();
    assert!(message.contains("status 3"), "{message}");
    assert!(result["errorType"].as_str().is_some_and(|t| !t.is_empty()), "{result}");
    let log = response.json()["log"].as_str().unwrap().to_owned();
    assert!(log.contains("oops"), "{log}");
    let header = response.header("x-cff-function-log").unwrap();
    let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(header).unwrap()).unwrap();
    assert_eq!(decoded, log);
    let record = emulator
        .invocation(response.header("x-cff-request-id").unwrap())
        .unwrap();
    assert!(matches!(record.outcome, Some(RunOutcome::Raised(_))));
    assert!(record.log.iter().any(|l| l.contains("oops")), "{:?}", record.log);
}

#[tokio::test]
async fn command_sees_its_request_id_and_settings_in_the_environment() {
    if !has_sh() {
        return;
    }
    let line = r#"printf '{"id":"%s","version":"%s","memory":"%s","urn":"%s"}' "$FGS_REQUEST_ID" "$FGS_FUNCTION_VERSION" "$FGS_MEMORY_MB" "$FGS_FUNCTION_URN""#;
    let emulator = start([command("env", line).memory_mb(512)]).await;
    let path = invoke_path(&emulator, "cmd", "env", Some("latest"));
    let response = invoke(&emulator, &path, &[], b"{}").await;
    assert_eq!(response.status, 200, "{}", response.text());
    let result = response.json();
    assert_eq!(result["id"], response.header("x-cff-request-id").unwrap());
    assert_eq!(result["version"], "latest");
    assert_eq!(result["memory"], "512");
    assert_eq!(result["urn"], emulator.urn("cmd", "env", Some("latest")));
}

#[tokio::test]
async fn command_timeout_returns_promptly() {
    if !has_sh() {
        return;
    }
    // The command would take a minute: an answer within 30 s can only be the timeout's.
    let emulator = start([command("sleepy", "sleep 60").timeout(Duration::from_millis(300))]).await;
    let path = invoke_path(&emulator, "cmd", "sleepy", None);
    let (response, elapsed) = timed(invoke(&emulator, &path, &[("X-CFF-Request-Version", "v1")], b"{}")).await;
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(30),
        "the call waited for the command: {elapsed:?}"
    );
    assert_eq!(response.header("x-is-func-err"), Some("true"));
    assert_eq!(response.v1_result()["errorType"], "TimeoutError");
    let record = emulator
        .invocation(response.header("x-cff-request-id").unwrap())
        .unwrap();
    assert_eq!(record.outcome, Some(RunOutcome::TimedOut));
}

#[tokio::test]
async fn command_timeout_kills_the_process() {
    if !has_sh() {
        return;
    }
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let marker = std::env::temp_dir().join(format!("fgs-emulator-kill-{}-{nanos}", std::process::id()));
    let marker_text = marker.to_str().unwrap().to_owned();
    let line = format!("sleep 3; touch '{marker_text}'");
    let emulator = start([command("killed", &line).timeout(Duration::from_millis(300))]).await;
    let path = invoke_path(&emulator, "cmd", "killed", None);
    let started = tokio::time::Instant::now();
    let response = invoke(&emulator, &path, &[("X-CFF-Request-Version", "v1")], b"{}").await;
    assert_eq!(response.v1_result()["errorType"], "TimeoutError");
    // Had it not been killed, the shell would have created the file 3 s after the start.
    // Waiting past that is a check that something did not happen; it can only fail if the
    // 300 ms timeout came more than 2.7 s late.
    tokio::time::sleep_until(started + Duration::from_millis(4500)).await;
    let exists = marker.exists();
    let _ = std::fs::remove_file(&marker);
    assert!(!exists, "the timed-out command kept running");
}

#[tokio::test]
async fn a_run_finishes_and_is_recorded_when_the_client_hangs_up() {
    let function = Function::new(
        "default",
        "slow",
        Handler::from_fn(|_e, ctx| async move {
            ctx.log("working");
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(json!("done"))
        }),
    );
    let emulator = start([function]).await;
    let path = invoke_path(&emulator, "default", "slow", None);
    let mut conn = Conn::connect(emulator.addr()).await;
    conn.write_all(&request("POST", &path, &[("X-Auth-Token", TOKEN)], b"{}"))
        .await;
    tokio::time::timeout(Duration::from_secs(5), async {
        while emulator.invocation_count("default", "slow") == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    // The client gives up (as an SDK with a short timeout would).
    drop(conn);
    let id = emulator.invocations()[0].request_id.clone();
    let record = emulator.wait_for_invocation(&id, Duration::from_secs(30)).await;
    let record = record.expect("the run is recorded as finished");
    assert_eq!(record.outcome, Some(RunOutcome::Returned(json!("done"))));
}

#[tokio::test]
async fn records_can_be_cleared_for_long_runs() {
    let emulator = fgs_emulator::Emulator::builder()
        .without_auth()
        .function(Function::new("default", "echo", echo()))
        .start()
        .await
        .unwrap();
    let path = invoke_path(&emulator, "default", "echo", None);
    for _ in 0..3 {
        let response = send(emulator.addr(), &request("POST", &path, &[], b"{}")).await;
        assert_eq!(response.status, 200);
    }
    assert_eq!(emulator.request_count(), 3);
    assert_eq!(emulator.invocations().len(), 3);
    emulator.clear_records();
    assert_eq!(emulator.request_count(), 0);
    assert!(emulator.invocations().is_empty());
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}
