//! The server against slow, numerous and hostile clients, settings at their extremes
//! (never a panic), and the error codes it sends checked against the generated catalogue.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use fgs_core::generated::error_codes::ErrorCode;
use fgs_emulator::{Emulator, Fault, FaultRule, Function, Handler, MAX_DURATION};
use serde_json::json;

/// Generous bound for "the server gave up on the client": far above the configured
/// timeouts, far below the 30 s defaults.
const GAVE_UP_WITHIN: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_client_that_never_finishes_its_head_is_disconnected() {
    let emulator = Emulator::builder()
        .token(TOKEN)
        .header_read_timeout(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let mut conn = Conn::connect(emulator.addr()).await;
    conn.write_all(b"POST /v2/x HTTP/1.1\r\nHost: a\r\nX-Slow: ").await;
    let (received, elapsed) = timed(tokio::time::timeout(GAVE_UP_WITHIN, conn.read_to_close())).await;
    received.expect("the server closes the connection");
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");

    // An idle kept-alive connection is closed as well.
    let mut idle = Conn::connect(emulator.addr()).await;
    let closed = tokio::time::timeout(GAVE_UP_WITHIN, idle.read_to_close()).await;
    assert!(closed.expect("closed").is_empty());
}

#[tokio::test]
async fn a_body_that_never_arrives_is_400_without_running_the_function() {
    let emulator = Emulator::builder()
        .token(TOKEN)
        .body_read_timeout(Duration::from_millis(300))
        .function(Function::new("default", "echo", echo()))
        .start()
        .await
        .unwrap();
    let path = invoke_path(&emulator, "default", "echo", None);
    let mut conn = Conn::connect(emulator.addr()).await;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: a\r\nX-Auth-Token: {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"a\":"
    );
    conn.write_all(head.as_bytes()).await;
    let (response, elapsed) = timed(tokio::time::timeout(GAVE_UP_WITHIN, conn.read_response())).await;
    let response = response.expect("an answer before the client finishes");
    assert_fss_error(&response, 400, "FSS.0400");
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let emulator = Emulator::builder()
        .token(TOKEN)
        .max_connections(1)
        .function(Function::new("default", "echo", echo()))
        .start()
        .await
        .unwrap();
    let path = invoke_path(&emulator, "default", "echo", None);
    let call = request(
        "POST",
        &path,
        &[("X-Auth-Token", TOKEN), ("Content-Type", "application/json")],
        b"{}",
    );
    let mut first = Conn::connect(emulator.addr()).await;
    assert_eq!(first.send(&call).await.status, 200);

    // The second connection is made (the kernel's backlog) but not served while the first
    // is open.
    let mut second = Conn::connect(emulator.addr()).await;
    second.write_all(&call).await;
    let waiting = tokio::time::timeout(Duration::from_millis(300), second.read_response()).await;
    assert!(waiting.is_err(), "served over the cap");
    assert_eq!(emulator.connection_count(), 1);

    drop(first);
    let response = tokio::time::timeout(GAVE_UP_WITHIN, second.read_response())
        .await
        .expect("served once the first connection closed");
    assert_eq!(response.status, 200);
    assert_eq!(emulator.connection_count(), 2);
}

#[tokio::test]
async fn request_ids_and_tokens_are_unique_and_unpredictable_in_form() {
    let emulator = Emulator::builder().token(TOKEN).start().await.unwrap();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let token = emulator.issue_token();
        assert!(token.starts_with("MIIemu"), "{token}");
        assert_eq!(token.len(), "MIIemu".len() + 32);
        assert!(seen.insert(token));
    }
}

/// Durations at their maximum are clamped: nothing overflows a clock, every call answers.
#[tokio::test]
async fn builder_settings_at_their_maximum_do_not_panic() {
    let slow = Handler::from_fn(|event, ctx| async move {
        // The deadline is far away but representable.
        assert!(ctx.remaining() > Duration::from_secs(3600));
        Ok(event)
    });
    let emulator = Emulator::builder()
        .token(TOKEN)
        .token_lifetime(Duration::MAX)
        .metadata_credentials(Duration::MAX)
        .header_read_timeout(Duration::MAX)
        .body_read_timeout(Duration::MAX)
        .max_connections(usize::MAX)
        .record_limit(usize::MAX)
        .record_body_limit(usize::MAX)
        .function(
            Function::new("default", "slow", slow)
                .timeout(Duration::MAX)
                .max_concurrency(usize::MAX),
        )
        .start()
        .await
        .unwrap();
    let path = invoke_path(&emulator, "default", "slow", None);
    let response = invoke(&emulator, &path, &[], br#"{"ok":true}"#).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json(), json!({ "ok": true }));

    // Tokens and temporary keys that live "forever" work, with a readable expiry.
    let token = emulator.issue_token();
    let response = send(
        emulator.addr(),
        &request("POST", &path, &[("X-Auth-Token", token.as_str())], b"{}"),
    )
    .await;
    assert_eq!(response.status, 200);
    let (ak, _sk, _token) = emulator.issue_temporary_credentials(Duration::MAX);
    assert!(ak.starts_with("TMPAK"));
    let session = send(
        emulator.addr(),
        &request(
            "PUT",
            "/meta-data/latest/api/token",
            &[("X-Metadata-Token-Ttl-Seconds", "21600")],
            b"",
        ),
    )
    .await;
    assert_eq!(session.status, 200);
    let key = send(
        emulator.addr(),
        &request(
            "GET",
            "/openstack/latest/securitykey",
            &[("X-Metadata-Token", session.text().as_str())],
            b"",
        ),
    )
    .await;
    assert_eq!(key.status, 200, "{}", key.text());
    let expires_at = key.json()["credential"]["expires_at"].as_str().unwrap().to_owned();
    assert!(expires_at.starts_with("21"), "about 100 years from now: {expires_at}");

    // Waiting "forever" for a finished run returns it.
    let request_id = emulator.invocations()[0].request_id.clone();
    assert!(emulator.wait_for_invocation(&request_id, Duration::MAX).await.is_some());
    emulator.shutdown().await;
}

#[tokio::test]
async fn fault_durations_at_their_maximum_do_not_panic() {
    let emulator = Emulator::builder()
        .token(TOKEN)
        .function(Function::new("default", "echo", echo()))
        .function(Function::new("default", "stuck", echo()))
        .start()
        .await
        .unwrap();
    let path = invoke_path(&emulator, "default", "echo", None);
    emulator.inject(FaultRule::once(Fault::throttled(Duration::MAX)));
    let response = invoke(&emulator, &path, &[], b"{}").await;
    assert_fss_error(&response, 429, "FSS.0429");
    assert_eq!(
        response.header("retry-after"),
        Some(Duration::MAX.as_secs().to_string().as_str())
    );
    // A latency that never ends: the request waits, the server keeps serving others. The
    // rule is for `stuck` only, so no other request can take it, and the next call goes
    // once the stuck request has arrived (polled, not a fixed wait).
    emulator.inject(FaultRule::once(Fault::Latency(Duration::MAX)).for_function("default", "stuck"));
    let mut stuck = Conn::connect(emulator.addr()).await;
    let stuck_path = invoke_path(&emulator, "default", "stuck", None);
    let before = emulator.request_count();
    stuck
        .write_all(&request("POST", &stuck_path, &[("X-Auth-Token", TOKEN)], b"{}"))
        .await;
    tokio::time::timeout(GAVE_UP_WITHIN, async {
        while emulator.request_count() == before {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the stuck request arrived");
    assert_eq!(invoke(&emulator, &path, &[], b"{}").await.status, 200);
    assert!(MAX_DURATION < Duration::MAX);
}

#[tokio::test]
async fn metadata_session_tokens_need_a_valid_ttl() {
    let emulator = Emulator::builder()
        .token(TOKEN)
        .metadata_credentials(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    for ttl in ["0", "21601", "-1", "soon", "99999999999999999999999"] {
        let response = send(
            emulator.addr(),
            &request(
                "PUT",
                "/meta-data/latest/api/token",
                &[("X-Metadata-Token-Ttl-Seconds", ttl)],
                b"",
            ),
        )
        .await;
        assert_eq!(response.status, 400, "{ttl}: {}", response.text());
    }
    let wrong = send(
        emulator.addr(),
        &request(
            "GET",
            "/openstack/latest/securitykey",
            &[("X-Metadata-Token", "0123456789abcdef0123456789abcdef")],
            b"",
        ),
    )
    .await;
    assert_eq!(wrong.status, 401);
}

/// What each error the emulator sends says, read back from the wire and looked up in the
/// catalogue generated from the spec: same status, and "not executed" exactly when the
/// function did not run. (The unit test in `codes.rs` checks the full list.)
#[tokio::test]
async fn errors_on_the_wire_agree_with_the_generated_catalogue() {
    let emulator = Emulator::builder()
        .token(TOKEN)
        .function(Function::new("default", "echo", echo()).max_concurrency(0))
        .function(Function::new("default", "open", echo()))
        .start()
        .await
        .unwrap();
    let echo = invoke_path(&emulator, "default", "echo", None);
    let open = invoke_path(&emulator, "default", "open", None);
    let other_project = format!(
        "/v2/ffffffffffffffffffffffffffffffff/fgs/functions/{}/invocations",
        fgs_urn::encode_path_segment(&format!(
            "urn:fss:{}:ffffffffffffffffffffffffffffffff:function:default:open",
            emulator.region()
        ))
    );
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (request("POST", "/nowhere", &[], b""), "APIGW.0101"),
        (request("POST", &open, &[], b"{}"), "APIGW.0301"),
        (
            request("POST", &open, &[("X-Auth-Token", TOKEN)], b"{not json"),
            "FSS.0406",
        ),
        (
            request(
                "POST",
                &open,
                &[("X-Auth-Token", TOKEN), ("X-Cff-Instance-Memory", "7")],
                b"{}",
            ),
            "FSS.1007",
        ),
        (
            request(
                "POST",
                &open,
                &[("X-Auth-Token", TOKEN), ("X-Cff-Request-Version", "v9")],
                b"{}",
            ),
            "FSS.0400",
        ),
        (
            request(
                "POST",
                &invoke_path(&emulator, "default", "none", None),
                &[("X-Auth-Token", TOKEN)],
                b"{}",
            ),
            "FSS.1051",
        ),
        (
            request(
                "POST",
                &invoke_path(&emulator, "default", "open", Some("v9")),
                &[("X-Auth-Token", TOKEN)],
                b"{}",
            ),
            "FSS.1052",
        ),
        (
            request(
                "POST",
                &invoke_path(&emulator, "default", "open", Some("!nope")),
                &[("X-Auth-Token", TOKEN)],
                b"{}",
            ),
            "FSS.1053",
        ),
        (
            request(
                "POST",
                "/v2/p/fgs/functions/not-a-urn/invocations",
                &[("X-Auth-Token", TOKEN)],
                b"{}",
            ),
            "FSS.1309",
        ),
        (
            request("POST", &other_project, &[("X-Auth-Token", TOKEN)], b"{}"),
            "FSS.0403",
        ),
        (request("POST", &echo, &[("X-Auth-Token", TOKEN)], b"{}"), "FSS.0429"),
        (
            request("POST", &open, &[("X-Auth-Token", TOKEN)], &vec![b' '; 7 * 1024 * 1024]),
            "FSS.1201",
        ),
    ];
    for (raw, expected) in cases {
        let response = send_while_reading(emulator.addr(), raw).await;
        let body = response.json();
        let code = body["error_code"].as_str().unwrap_or_else(|| panic!("{body}"));
        assert_eq!(code, expected, "{body}");
        let info = ErrorCode::from(code)
            .info(response.status)
            .unwrap_or_else(|| panic!("the catalogue does not pair {code} with {}", response.status));
        assert!(info.not_executed, "{code}: sent before running, so not executed");
    }
    assert_eq!(emulator.invocation_count("default", "open"), 0);
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
}
