//! The test doubles of `fgs_core::test_util`, driven through a real `Client`.
#![cfg(feature = "test-util")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fgs_core::auth::StaticToken;
use fgs_core::test_util::{
    CaptureTransport, FUNCTION_ERROR_CODE, InvokeResponseBuilder, REQUEST_ID, Replay, ReplayTransport,
    async_invoke_response, error_response, function_error_response, invoke_response,
};
use fgs_core::transport::{Delivery, SendOptions, Transport, TransportError, TransportErrorKind};
use fgs_core::{Client, Error, ErrorCode, FunctionUrn, ResponseVersion, bytes, http};
use serde_json::{Value, json};

const URN: &str = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest";
const ENCODED_PATH: &str = "/v2/0123456789abcdef0123456789abcdef/fgs/functions/\
    urn%3Afss%3Acn-north-4%3A0123456789abcdef0123456789abcdef%3Afunction%3Adefault%3Ahello%3Alatest/invocations";

fn urn() -> FunctionUrn {
    URN.parse().unwrap()
}

fn client(transport: impl Transport + 'static) -> Client {
    Client::builder()
        .endpoint_url("http://127.0.0.1:9")
        .auth(StaticToken::new("test-token"))
        .transport(transport)
        .build()
        .unwrap()
}

/// The error and its causes, as `{:#}` prints them (a transport's reason is a cause).
fn with_causes(error: &dyn std::error::Error) -> String {
    std::iter::successors(Some(error), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

fn transport_error(result: Result<fgs_core::InvokeOutput, Error>) -> TransportError {
    match result {
        Err(Error::Transport(error)) => error,
        other => panic!("expected Error::Transport, got {other:?}"),
    }
}

#[tokio::test]
async fn replays_answer_in_order() {
    let replay = ReplayTransport::new([
        invoke_response(&json!({ "n": 1 })),
        invoke_response(&json!({ "n": 2 })),
        invoke_response(&json!({ "n": 3 })),
    ]);
    let client = client(replay.clone());
    for expected in 1..=3 {
        assert_eq!(replay.remaining(), 4 - expected);
        let value: Value = client.invoke(urn()).send().await.unwrap().into_result().unwrap();
        assert_eq!(value, json!({ "n": expected }));
    }
    assert_eq!(replay.remaining(), 0);
    assert_eq!(replay.requests().len(), 3);
    replay.check_all_used().unwrap();
    replay.assert_all_used();
}

#[tokio::test]
async fn running_out_is_a_transport_error_that_was_not_sent() {
    let replay = ReplayTransport::new([invoke_response(&json!(null))]);
    let client = client(replay.clone());
    client.invoke(urn()).send().await.unwrap();

    let error = transport_error(client.invoke(urn()).send().await);
    assert_eq!(error.kind(), TransportErrorKind::Other);
    assert_eq!(error.delivery(), Delivery::NotSent);
    let message = with_causes(&error);
    assert!(message.contains("no replay left for request"), "{message}");
    assert!(message.contains("it was given 1"), "{message}");
    assert!(message.contains(ENCODED_PATH), "{message}");

    // The requests that found the script used up are recorded too (more than one when
    // the client's retry policy tried again: nothing was sent, so it may).
    assert!(replay.requests().len() >= 2);
    replay.assert_all_used();

    // An empty script fails the first request.
    let empty = ReplayTransport::new(Vec::<Replay>::new());
    let error = client_error(&empty).await;
    assert!(error.is_retry_safe());
    assert!(with_causes(&error).contains("no replay left for request"), "{error}");
}

#[tokio::test]
async fn running_out_counts_the_requests() {
    // Driven directly, without a client, so that no retry policy is involved.
    let replay = ReplayTransport::new([invoke_response(&json!(null))]);
    let request = || {
        http::Request::builder()
            .method("POST")
            .uri("http://127.0.0.1:9/x")
            .body(bytes::Bytes::from_static(b"{}"))
            .unwrap()
    };
    let options = SendOptions::new();
    assert_eq!(replay.send(request(), &options).await.unwrap().status(), 200);
    let error = replay.send(request(), &options).await.unwrap_err();
    assert_eq!(
        with_causes(&error),
        "request failed (the request was not sent): ReplayTransport has no replay left for request 2 \
         (POST http://127.0.0.1:9/x): it was given 1, so the code under test made more requests than expected"
    );
    let error = replay.send(request(), &options).await.unwrap_err();
    assert!(with_causes(&error).contains("for request 3"), "{error}");
    assert_eq!(replay.requests().len(), 3);
}

async fn client_error(transport: &ReplayTransport) -> Error {
    client(transport.clone()).invoke(urn()).send().await.unwrap_err()
}

#[tokio::test]
async fn unused_replays_are_reported() {
    let replay = ReplayTransport::new([invoke_response(&json!(1)), invoke_response(&json!(2))]);
    let message = replay.check_all_used().unwrap_err();
    assert!(
        message.contains("2 of 2 replays were not used (no request was sent)"),
        "{message}"
    );

    client(replay.clone()).invoke(urn()).send().await.unwrap();
    let message = replay.check_all_used().unwrap_err();
    assert!(
        message.contains("1 of 2 replays was not used (1 request was sent)"),
        "{message}"
    );
    assert!(message.contains("fewer requests than expected"), "{message}");
}

#[test]
#[should_panic(expected = "1 of 1 replay was not used")]
fn assert_all_used_panics_when_a_replay_is_left() {
    ReplayTransport::new([invoke_response(&json!(null))]).assert_all_used();
}

#[tokio::test]
async fn requests_are_recorded_as_sent() {
    let replay = ReplayTransport::new([invoke_response(&json!("a")), invoke_response(&json!("b"))]);
    let client = client(replay.clone());
    client
        .invoke(urn())
        .json(&json!({ "name": "fgs" }))
        .log_tail(true)
        .send()
        .await
        .unwrap();
    client
        .invoke(urn())
        .body(&b"[1,2]"[..])
        .response_version(ResponseVersion::V0)
        .send()
        .await
        .unwrap();

    let requests = replay.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(first.method(), "POST");
    assert_eq!(first.uri().scheme_str(), Some("http"));
    assert_eq!(first.uri().authority().unwrap().as_str(), "127.0.0.1:9");
    assert_eq!(first.uri().path(), ENCODED_PATH);
    assert_eq!(first.headers()["x-auth-token"], "test-token");
    assert_eq!(first.headers()["content-type"], "application/json");
    assert_eq!(first.headers()["x-cff-log-type"], "tail");
    assert_eq!(first.headers()["x-cff-request-version"], "v1");
    assert!(first.headers()["user-agent"].to_str().unwrap().starts_with("fgs-rust/"));
    assert_eq!(first.body().as_ref(), br#"{"name":"fgs"}"#);

    let second = replay.last_request().unwrap();
    assert_eq!(second.body().as_ref(), b"[1,2]");
    assert_eq!(second.headers()["x-cff-request-version"], "v0");
    assert!(second.headers().get("x-cff-log-type").is_none());
}

#[tokio::test]
async fn clones_share_the_script_and_the_records() {
    let replay = ReplayTransport::new([invoke_response(&json!(1)), invoke_response(&json!(2))]);
    let other = replay.clone();
    client(other.clone()).invoke(urn()).send().await.unwrap();
    assert_eq!(replay.remaining(), 1);
    assert_eq!(replay.requests().len(), 1);
    let value: i64 = client(replay.clone())
        .invoke(urn())
        .send()
        .await
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(value, 2);
    assert_eq!(other.requests().len(), 2);
    assert_eq!(format!("{other:?}"), "ReplayTransport { remaining: 0, requests: 2 }");
}

#[tokio::test]
async fn invoke_response_decodes_with_every_header() {
    let replay = ReplayTransport::new([invoke_response(&json!({ "greeting": "hi" }))]);
    let output = client(replay).invoke(urn()).send().await.unwrap();
    assert_eq!(output.status(), 200);
    assert_eq!(output.request_id(), Some(REQUEST_ID));
    assert_eq!(output.response_version(), &ResponseVersion::V1);
    assert_eq!(output.result_str().unwrap(), r#"{"greeting":"hi"}"#);
    assert!(!output.is_function_error());
    assert_eq!(output.function_error_code(), Some("0"));
    assert_eq!(output.function_status(), Some(200));
    assert!(output.function_error().unwrap().is_none());
    assert_eq!(output.log(), None);
    let summary = output.summary().unwrap();
    assert_eq!(summary.duration, Some(1.5));
    assert_eq!(summary.billing_duration, Some(2.0));
    assert_eq!(summary.memory_size, Some(128));
    assert_eq!(summary.memory_used, Some(32.0));
}

#[tokio::test]
async fn function_error_is_data_until_into_result() {
    let replay = ReplayTransport::new([
        function_error_response("ValueError", "name is required"),
        function_error_response("ValueError", "name is required"),
    ]);
    let client = client(replay.clone());

    let output = client.invoke(urn()).send().await.unwrap();
    assert_eq!(output.status(), 200);
    assert!(output.is_function_error());
    assert_eq!(output.function_error_code(), Some(FUNCTION_ERROR_CODE));
    let raised = output.function_error().unwrap().unwrap();
    assert_eq!(raised.error_type.as_deref(), Some("ValueError"));
    assert_eq!(raised.error_message.as_deref(), Some("name is required"));
    assert_eq!(raised.stack_trace, Some(vec![]));

    let error = client
        .invoke(urn())
        .send()
        .await
        .unwrap()
        .into_result::<Value>()
        .unwrap_err();
    match &error {
        Error::Function(failed) => {
            assert_eq!(failed.error_type.as_deref(), Some("ValueError"));
            assert_eq!(failed.error_message.as_deref(), Some("name is required"));
            assert_eq!(failed.error_code.as_deref(), Some(FUNCTION_ERROR_CODE));
            assert_eq!(failed.request_id.as_deref(), Some(REQUEST_ID));
        }
        other => panic!("expected Error::Function, got {other:?}"),
    }
    assert_eq!(error.request_id(), Some(REQUEST_ID));
    replay.assert_all_used();
}

#[tokio::test]
async fn error_response_is_a_service_error_with_the_code() {
    // Neither is sent again by a retry policy: 404 FSS.1051 is permanent, and a 5xx may
    // have run the (non-idempotent) function.
    let replay = ReplayTransport::new([
        error_response(404, "FSS.1051", "function not found"),
        error_response(500, "FSS.9999", "something new"),
    ]);
    let client = client(replay.clone());

    let error = client.invoke(urn()).send().await.unwrap_err();
    let Error::Service(service) = &error else {
        panic!("expected Error::Service, got {error:?}");
    };
    assert_eq!(service.status(), 404);
    assert_eq!(service.code(), Some(&ErrorCode::FunctionNotFound));
    assert_eq!(service.raw_code(), Some("FSS.1051"));
    assert_eq!(service.message(), "function not found");
    assert_eq!(service.request_id(), Some(REQUEST_ID));
    assert_eq!(service.operation(), "invokeFunction");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404));

    let error = client.invoke(urn()).send().await.unwrap_err();
    assert_eq!(error.code(), Some(&ErrorCode::from("FSS.9999")));
    assert_eq!(error.as_service_error().unwrap().raw_code(), Some("FSS.9999"));
    assert!(!error.is_retry_safe());
    replay.assert_all_used();
    assert_eq!(replay.requests().len(), 2);

    // A throttled call may be retried, so it is answered by a transport that always says 429.
    let throttled = CaptureTransport::with_response(error_response(429, "FSS.0429", "too many requests"));
    let error = client_of(&throttled).invoke(urn()).send().await.unwrap_err();
    assert_eq!(error.code(), Some(&ErrorCode::TooManyRequests));
    assert_eq!(error.status().map(|s| s.as_u16()), Some(429));
    // The catalogue says a 429 FSS.0429 did not run the function.
    assert!(error.is_retry_safe());
}

fn client_of(capture: &CaptureTransport) -> Client {
    client(capture.clone())
}

#[test]
#[should_panic(expected = "1000 is not an HTTP status")]
fn error_response_refuses_a_status_out_of_range() {
    let _ = error_response(1000, "X", "y");
}

#[tokio::test]
async fn replayed_transport_errors_reach_the_caller() {
    // Failures after sending: a non-idempotent call is never sent again, so each call
    // takes exactly one replay.
    let replay = ReplayTransport::new([
        Replay::error(TransportError::io(Delivery::MaybeSent, "connection reset")),
        Replay::error(TransportError::timeout(Delivery::MaybeSent, "no answer")),
        Replay::response(invoke_response(&json!("recovered"))),
    ]);
    let client = client(replay.clone());

    let error = client.invoke(urn()).send().await.unwrap_err();
    assert!(
        matches!(&error, Error::Transport(e) if e.kind() == TransportErrorKind::Io),
        "{error:?}"
    );
    assert!(with_causes(&error).contains("connection reset"), "{error}");
    assert!(!error.is_retry_safe());

    let error = client.invoke(urn()).send().await.unwrap_err();
    assert!(
        matches!(&error, Error::Timeout(e) if e.delivery() == Delivery::MaybeSent),
        "{error:?}"
    );
    assert!(!error.is_retry_safe());

    let value: String = client.invoke(urn()).send().await.unwrap().into_result().unwrap();
    assert_eq!(value, "recovered");
    assert_eq!(replay.requests().len(), 3);
    replay.assert_all_used();
}

#[tokio::test]
async fn replayed_connect_errors_reach_the_caller() {
    // A connection that never opened may be retried, so every attempt gets one.
    let replay =
        ReplayTransport::new(std::iter::repeat_with(|| TransportError::connect("connection refused")).take(10));
    let refused = transport_error(client(replay.clone()).invoke(urn()).send().await);
    assert_eq!(refused.kind(), TransportErrorKind::Connect);
    assert_eq!(refused.delivery(), Delivery::NotSent);
    assert!(with_causes(&refused).contains("connection refused"), "{refused}");
    let attempts = replay.requests().len();
    assert!((1..10).contains(&attempts), "{attempts} attempts");
    assert_eq!(replay.remaining(), 10 - attempts);
}

#[test]
fn replays_convert_from_responses_and_errors() {
    let response: Replay = invoke_response(&json!(null)).into();
    let error: Replay = TransportError::connect("refused").into();
    assert!(!response.is_error());
    assert!(error.is_error());
    let replay = ReplayTransport::new([response, error]);
    assert_eq!(replay.remaining(), 2);
    let only_errors = ReplayTransport::new([TransportError::connect("refused")]);
    assert_eq!(only_errors.remaining(), 1);
}

#[tokio::test]
async fn capture_answers_everything_and_records() {
    let capture = CaptureTransport::new();
    assert!(capture.last_request().is_none());
    let client = client(capture.clone());
    for n in 0..3 {
        let () = client
            .invoke(urn())
            .json(&json!({ "n": n }))
            .send()
            .await
            .unwrap()
            .into_result()
            .unwrap();
    }
    let requests = capture.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].body().as_ref(), br#"{"n":0}"#);
    let last = capture.last_request().unwrap();
    assert_eq!(last.body().as_ref(), br#"{"n":2}"#);
    assert_eq!(last.uri().path(), ENCODED_PATH);
    assert_eq!(last.headers()["x-auth-token"], "test-token");
    assert_eq!(format!("{capture:?}"), "CaptureTransport { status: 200, requests: 3 }");
    assert_eq!(CaptureTransport::default().requests().len(), 0);
}

#[tokio::test]
async fn capture_with_an_error_response() {
    let capture = CaptureTransport::with_response(error_response(403, "FSS.0403", "forbidden"));
    let client = client(capture.clone());
    for _ in 0..2 {
        let error = client.invoke(urn()).send().await.unwrap_err();
        assert_eq!(error.code(), Some(&ErrorCode::from("FSS.0403")));
    }
    assert_eq!(capture.requests().len(), 2);
}

#[tokio::test]
async fn builder_variations() {
    let replay = ReplayTransport::new([
        InvokeResponseBuilder::new(&json!({ "ok": true }))
            .request_id("req-1")
            .log("START\nhello\nEND\n")
            .build(),
        InvokeResponseBuilder::raw("plain text")
            .response_version(ResponseVersion::V0)
            .request_id("req-2")
            .log("v0 log")
            .build(),
        InvokeResponseBuilder::new(&json!({ "errorType": "TimeoutError", "errorMessage": "timed out" }))
            .function_error_code("2")
            .build(),
    ]);
    let client = client(replay.clone());

    let output = client.invoke(urn()).log_tail(true).send().await.unwrap();
    assert_eq!(output.request_id(), Some("req-1"));
    assert_eq!(output.log(), Some("START\nhello\nEND\n"));
    assert_eq!(output.result_json::<Value>().unwrap(), json!({ "ok": true }));

    let output = client
        .invoke(urn())
        .response_version(ResponseVersion::V0)
        .log_tail(true)
        .send()
        .await
        .unwrap();
    assert_eq!(output.response_version(), &ResponseVersion::V0);
    assert_eq!(output.request_id(), Some("req-2"));
    assert_eq!(output.result_str().unwrap(), "plain text");
    assert_eq!(output.log(), Some("v0 log"));

    let output = client.invoke(urn()).send().await.unwrap();
    assert!(output.is_function_error());
    assert_eq!(output.function_error_code(), Some("2"));
    let raised = output.function_error().unwrap().unwrap();
    assert_eq!(raised.error_type.as_deref(), Some("TimeoutError"));
    replay.assert_all_used();
}

#[tokio::test]
async fn async_invoke_is_replayed_too() {
    let replay = ReplayTransport::new([async_invoke_response("run-42")]);
    let output = client(replay.clone()).invoke_async(urn()).send().await.unwrap();
    assert_eq!(output.request_id(), "run-42");
    assert_eq!(output.status(), 202);
    assert!(
        replay
            .last_request()
            .unwrap()
            .uri()
            .path()
            .ends_with("/invocations-async")
    );
}
