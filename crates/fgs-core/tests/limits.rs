//! The body limits of the API description (`x-max-body-bytes`: 6 MiB for a synchronous
//! invoke, 256 KiB for an asynchronous one), enforced by the client before anything is
//! sent: a body of exactly the limit reaches the transport, one byte more is
//! `InvalidInput::PayloadTooLarge` and the transport sees nothing.
#![cfg(feature = "test-util")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fgs_core::auth::StaticToken;
use fgs_core::generated::operations::{AsyncInvokeFunction, InvokeFunction};
use fgs_core::protocol::Operation;
use fgs_core::test_util::{CaptureTransport, async_invoke_response, invoke_response};
use fgs_core::{Client, Error, FunctionUrn, InvalidInput};
use serde_json::json;

const URN: &str = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest";

fn urn() -> FunctionUrn {
    URN.parse().unwrap()
}

fn client_with(transport: CaptureTransport) -> Client {
    Client::builder()
        .endpoint_url("http://127.0.0.1:9")
        .auth(StaticToken::new("test-token"))
        .transport(transport)
        .build()
        .unwrap()
}

/// A JSON document (`{"pad":"xx…"}`) of exactly `len` bytes.
fn json_of_len(len: u64) -> Vec<u8> {
    let len = usize::try_from(len).unwrap();
    assert!(len >= br#"{"pad":""}"#.len());
    let mut body = br#"{"pad":""#.to_vec();
    body.resize(len - 2, b'x');
    body.extend_from_slice(br#""}"#);
    assert_eq!(body.len(), len);
    serde_json::from_slice::<serde_json::Value>(&body).unwrap();
    body
}

fn the_limit<O: Operation>() -> u64 {
    O::INFO
        .max_body_bytes
        .unwrap_or_else(|| panic!("{} declares no x-max-body-bytes", O::INFO.id))
}

fn assert_too_large(result: Result<impl std::fmt::Debug, Error>, operation: &str, size: u64, limit: u64) {
    match result {
        Err(Error::InvalidInput(InvalidInput::PayloadTooLarge {
            operation: op,
            size: s,
            limit: l,
        })) => {
            assert_eq!((op, s as u64, l), (operation, size, limit));
        }
        other => panic!("expected PayloadTooLarge, got {other:?}"),
    }
}

#[test]
fn the_limits_are_the_services() {
    assert_eq!(the_limit::<InvokeFunction>(), 6 * 1024 * 1024);
    assert_eq!(the_limit::<AsyncInvokeFunction>(), 256 * 1024);
}

#[tokio::test]
async fn a_synchronous_body_of_the_limit_is_sent_and_one_byte_more_is_not() {
    let limit = the_limit::<InvokeFunction>();

    let capture = CaptureTransport::with_response(invoke_response(&json!("ok")));
    let client = client_with(capture.clone());
    let body = json_of_len(limit);
    client.invoke(urn()).body(body.clone()).send().await.unwrap();
    let sent = capture.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body().len() as u64, limit);
    assert_eq!(sent[0].body()[..], body[..]);

    let capture = CaptureTransport::with_response(invoke_response(&json!("ok")));
    let client = client_with(capture.clone());
    let result = client.invoke(urn()).body(json_of_len(limit + 1)).send().await;
    assert_too_large(result, InvokeFunction::INFO.id, limit + 1, limit);
    assert!(capture.requests().is_empty(), "nothing may be sent");
}

#[tokio::test]
async fn an_asynchronous_body_of_the_limit_is_sent_and_one_byte_more_is_not() {
    let limit = the_limit::<AsyncInvokeFunction>();

    let capture = CaptureTransport::with_response(async_invoke_response("req-1"));
    let client = client_with(capture.clone());
    client
        .invoke_async(urn())
        .body(json_of_len(limit))
        .send()
        .await
        .unwrap();
    let sent = capture.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body().len() as u64, limit);

    let capture = CaptureTransport::with_response(async_invoke_response("req-1"));
    let client = client_with(capture.clone());
    let result = client.invoke_async(urn()).body(json_of_len(limit + 1)).send().await;
    assert_too_large(result, AsyncInvokeFunction::INFO.id, limit + 1, limit);
    assert!(capture.requests().is_empty(), "nothing may be sent");

    // The synchronous limit does not apply to an asynchronous invoke: well under 6 MiB is
    // still too large here.
    let capture = CaptureTransport::with_response(async_invoke_response("req-1"));
    let client = client_with(capture.clone());
    let result = client.invoke_async(urn()).body(json_of_len(limit * 2)).send().await;
    assert_too_large(result, AsyncInvokeFunction::INFO.id, limit * 2, limit);
    assert!(capture.requests().is_empty(), "nothing may be sent");
}
