//! One suite, two HTTP stacks: every case below runs once with the default reqwest
//! transport and once with the hyper transport (`fgs::transport::HyperTransport`), against the
//! emulator over real TCP on 127.0.0.1. Both must keep the same contract: send once,
//! bound the whole exchange by the timeout, say whether a failed request may have
//! reached the service, and pass every status through for the client to judge.
//!
//! A case is an `async fn(Arc<dyn Transport>)`; `suite!` at the bottom instantiates each
//! for both transports (`reqwest_transport::<case>` and `hyper_transport::<case>`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::sync::Arc;
use std::time::Duration;

use fgs::auth::StaticToken;
use fgs::transport::HyperTransport;
use fgs::transport::{Delivery, ReqwestTransport, Transport, TransportErrorKind};
use fgs::{Client, Error, FunctionUrn};
use fgs_emulator::{Emulator, Fault, FaultRule, Function, Handler};
use serde_json::{Value, json};

const TOKEN: &str = "transport-suite-token";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MIB: usize = 1024 * 1024;

fn reqwest() -> Arc<dyn Transport> {
    Arc::new(ReqwestTransport::new(CONNECT_TIMEOUT).expect("the reqwest transport"))
}

fn hyper() -> Arc<dyn Transport> {
    Arc::new(HyperTransport::new(CONNECT_TIMEOUT).expect("the hyper transport"))
}

/// How long `default/slow` runs: far longer than any test waits for it, so a timeout that
/// works is told from one that does not by a wide margin, however loaded the machine.
const SLOW_RUN: Duration = Duration::from_secs(60);

/// An emulator with `default/echo` (returns its event) and `default/slow` (runs for
/// [`SLOW_RUN`]).
async fn emulator() -> Emulator {
    let echo = Handler::from_fn(|event, _ctx| async move { Ok(event) });
    let slow = Handler::from_fn(|_event, _ctx| async move {
        tokio::time::sleep(SLOW_RUN).await;
        Ok(json!("late"))
    });
    Emulator::builder()
        .token(TOKEN)
        .function(Function::new("default", "echo", echo))
        .function(Function::new("default", "slow", slow).timeout(SLOW_RUN * 2))
        .start()
        .await
        .expect("start the emulator")
}

fn client(emulator: &Emulator, transport: Arc<dyn Transport>) -> Client {
    Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(StaticToken::new(TOKEN))
        .shared_transport(transport)
        .build()
        .expect("client")
}

/// A port on 127.0.0.1 that refuses connections while the returned socket lives: bound,
/// never listening, so no other test can take the port in the meantime (binding port 0,
/// dropping the listener and reusing the number races with every other test).
fn refused_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

fn urn(emulator: &Emulator, name: &str) -> FunctionUrn {
    emulator.urn("default", name, None).parse().expect("valid URN")
}

/// Invokes `default/echo` with `{"n": n}` and checks the answer.
async fn echo_once(client: &Client, emulator: &Emulator, n: usize) {
    let output = client
        .invoke(urn(emulator, "echo"))
        .json(&json!({ "n": n }))
        .send()
        .await
        .unwrap();
    assert_eq!(output.status(), 200);
    assert_eq!(output.result_json::<Value>().unwrap(), json!({ "n": n }));
}

/// The transport error inside `err`, which must be `Error::Transport`.
fn transport_error(err: &Error) -> &fgs::transport::TransportError {
    match err {
        Error::Transport(transport) => transport,
        other => panic!("expected a transport error, got {other:?}"),
    }
}

/// The transport error inside `err`, which must be `Error::Timeout`.
fn timeout_error(err: &Error) -> &fgs::transport::TransportError {
    match err {
        Error::Timeout(timeout) => timeout,
        other => panic!("expected a timeout, got {other:?}"),
    }
}

// ----- the cases -----

async fn a_mebibyte_goes_each_way(transport: Arc<dyn Transport>) {
    let emulator = emulator().await;
    let data = "x".repeat(MIB);
    let output = client(&emulator, transport)
        .invoke(urn(&emulator, "echo"))
        .json(&json!({ "data": data }))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert_eq!(output.status(), 200);
    let result: Value = output.result_json().unwrap();
    assert_eq!(result["data"].as_str().map(str::len), Some(MIB));
    assert!(result["data"].as_str().unwrap().bytes().all(|b| b == b'x'));
    let requests = emulator.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body.len(), MIB + r#"{"data":""}"#.len());
}

async fn sequential_invokes_share_one_connection(transport: Arc<dyn Transport>) {
    let emulator = emulator().await;
    let client = client(&emulator, transport);
    for n in 0..10 {
        echo_once(&client, &emulator, n).await;
    }
    assert_eq!(emulator.request_count(), 10);
    assert_eq!(emulator.connection_count(), 1, "keep-alive: one pooled connection");
}

async fn a_refused_connection_is_not_sent(transport: Arc<dyn Transport>) {
    // A port that is bound but never listens refuses connections, and stays ours (no other
    // test can start listening on it) until `_socket` is dropped at the end.
    let (_socket, port) = refused_port();
    let client = Client::builder()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .auth(StaticToken::new(TOKEN))
        .shared_transport(transport)
        .build()
        .unwrap();
    let urn: FunctionUrn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:echo"
        .parse()
        .unwrap();
    let err = client.invoke(&urn).send().await.unwrap_err();
    let transport = transport_error(&err);
    assert_eq!(transport.kind(), TransportErrorKind::Connect);
    assert_eq!(transport.delivery(), Delivery::NotSent);
    assert!(err.is_retry_safe());
    assert!(
        err.to_string()
            .starts_with("could not connect (the request was not sent)"),
        "{err}"
    );
}

async fn a_slow_function_times_out_after_running_once(transport: Arc<dyn Transport>) {
    let emulator = emulator().await;
    let started = std::time::Instant::now();
    let err = client(&emulator, transport)
        .invoke(urn(&emulator, "slow"))
        .timeout(Duration::from_millis(500))
        .send()
        .await
        .unwrap_err();
    // A third of the run: only a timeout that cut the call short ends this early.
    assert!(
        started.elapsed() < SLOW_RUN / 3,
        "the timeout did not cut the call short: {:?}",
        started.elapsed()
    );
    assert_eq!(timeout_error(&err).delivery(), Delivery::MaybeSent);
    assert!(!err.is_retry_safe(), "the function is running");
    assert!(
        err.to_string()
            .starts_with("timed out (the request may have reached the service)"),
        "{err}"
    );
    assert_eq!(emulator.request_count(), 1, "sent once, never re-sent");
    assert_eq!(emulator.invocation_count("default", "slow"), 1);
}

async fn injected_latency_past_the_timeout_is_an_unknown_outcome(transport: Arc<dyn Transport>) {
    let emulator = emulator().await;
    emulator.inject(FaultRule::once(Fault::Latency(SLOW_RUN)));
    let err = client(&emulator, transport)
        .invoke(urn(&emulator, "echo"))
        .timeout(Duration::from_millis(500))
        .send()
        .await
        .unwrap_err();
    assert_eq!(timeout_error(&err).delivery(), Delivery::MaybeSent);
    assert!(!err.is_retry_safe());
    assert_eq!(emulator.request_count(), 1, "sent once, never re-sent");
}

async fn a_connection_dropped_after_the_run_is_an_unknown_outcome(transport: Arc<dyn Transport>) {
    let emulator = emulator().await;
    emulator.inject(FaultRule::once(Fault::DropAfterRun));
    let client = client(&emulator, transport);
    let err = client
        .invoke(urn(&emulator, "echo"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap_err();
    let transport = transport_error(&err);
    assert_eq!(transport.kind(), TransportErrorKind::Io);
    assert_eq!(transport.delivery(), Delivery::MaybeSent);
    assert!(!err.is_retry_safe(), "the function ran");
    assert_eq!(emulator.invocation_count("default", "echo"), 1, "ran exactly once");
    assert_eq!(emulator.request_count(), 1, "sent once, never re-sent");
    // The dead connection is not reused: the next call goes through on a new one.
    echo_once(&client, &emulator, 7).await;
    assert_eq!(emulator.connection_count(), 2);
}

async fn a_connection_dropped_before_the_run_is_still_an_unknown_outcome(transport: Arc<dyn Transport>) {
    let emulator = emulator().await;
    emulator.inject(FaultRule::once(Fault::DropBeforeRun));
    let client = client(&emulator, transport);
    let err = client
        .invoke(urn(&emulator, "echo"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap_err();
    // The client cannot tell this from a drop after the run.
    let transport = transport_error(&err);
    assert_eq!(transport.delivery(), Delivery::MaybeSent);
    assert!(!err.is_retry_safe());
    assert_eq!(emulator.request_count(), 1, "sent once, never re-sent");
    assert_eq!(emulator.invocation_count("default", "echo"), 0);
    echo_once(&client, &emulator, 8).await;
}

async fn a_truncated_body_is_an_unknown_outcome(transport: Arc<dyn Transport>) {
    let emulator = emulator().await;
    emulator.inject(FaultRule::once(Fault::TruncatedBody));
    let err = client(&emulator, transport)
        .invoke(urn(&emulator, "echo"))
        .json(&json!({ "padding": "p".repeat(4096) }))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap_err();
    let transport = transport_error(&err);
    assert_eq!(transport.kind(), TransportErrorKind::Io);
    assert_eq!(transport.delivery(), Delivery::MaybeSent);
    assert!(!err.is_retry_safe(), "the function ran");
    assert_eq!(emulator.invocation_count("default", "echo"), 1);
}

async fn a_slow_body_within_the_timeout_succeeds(transport: Arc<dyn Transport>) {
    let emulator = emulator().await;
    emulator.inject(FaultRule::once(Fault::SlowBody {
        chunk: 64,
        delay: Duration::from_millis(20),
    }));
    let output = client(&emulator, transport)
        .invoke(urn(&emulator, "echo"))
        .json(&json!({ "n": 1, "padding": "p".repeat(256) }))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(output.result_json::<Value>().unwrap()["n"], 1);
}

async fn a_slow_body_past_the_timeout_times_out(transport: Arc<dyn Transport>) {
    let emulator = emulator().await;
    // About 70 chunks of 16 bytes, one every 500 ms: the body takes some 35 s, the timeout
    // is 2 s, so the call can only end in a few seconds if the timeout covers the body.
    emulator.inject(FaultRule::once(Fault::SlowBody {
        chunk: 16,
        delay: Duration::from_millis(500),
    }));
    let started = std::time::Instant::now();
    let err = client(&emulator, transport)
        .invoke(urn(&emulator, "echo"))
        .json(&json!({ "padding": "p".repeat(1024) }))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the timeout must cover the body: {:?}",
        started.elapsed()
    );
    assert_eq!(timeout_error(&err).delivery(), Delivery::MaybeSent);
    assert!(!err.is_retry_safe());
    assert_eq!(emulator.invocation_count("default", "echo"), 1);
}

async fn a_proxy_502_page_passes_through_as_a_service_error(transport: Arc<dyn Transport>) {
    let emulator = emulator().await;
    let html = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";
    emulator.inject(FaultRule::once(Fault::response(
        502,
        vec![
            ("Content-Type".into(), "text/html".into()),
            ("X-Request-Id".into(), "proxy-1".into()),
        ],
        html,
    )));
    let err = client(&emulator, transport)
        .invoke(urn(&emulator, "echo"))
        .send()
        .await
        .unwrap_err();
    let Error::Service(service) = &err else {
        panic!("expected a service error, got {err:?}")
    };
    assert_eq!(service.status(), 502);
    assert_eq!(service.code(), None);
    assert_eq!(service.request_id(), Some("proxy-1"));
    assert_eq!(service.headers()["content-type"], "text/html");
    assert_eq!(service.body().as_ref(), html.as_bytes());
    assert!(!err.is_retry_safe(), "a 502 after sending may have run the function");
    assert_eq!(emulator.request_count(), 1, "the transport does not retry a 502");
}

async fn thirty_two_concurrent_invokes_all_succeed(transport: Arc<dyn Transport>) {
    let emulator = Arc::new(emulator().await);
    let client = client(&emulator, transport);
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..32 {
        let client = client.clone();
        let emulator = Arc::clone(&emulator);
        calls.spawn(async move { echo_once(&client, &emulator, n).await });
    }
    while let Some(done) = calls.join_next().await {
        done.expect("an invoke task panicked");
    }
    assert_eq!(emulator.request_count(), 32);
    assert_eq!(emulator.invocation_count("default", "echo"), 32);
    assert!(emulator.connection_count() <= 32);
}

/// Instantiates every case for both transports.
macro_rules! suite {
    ($($case:ident),+ $(,)?) => {
        /// The suite with the default transport, reqwest.
        mod reqwest_transport {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::reqwest()).await;
                }
            )+
        }

        /// The suite with `fgs::transport::HyperTransport`.
        mod hyper_transport {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::hyper()).await;
                }
            )+
        }
    };
}

suite!(
    a_mebibyte_goes_each_way,
    sequential_invokes_share_one_connection,
    a_refused_connection_is_not_sent,
    a_slow_function_times_out_after_running_once,
    injected_latency_past_the_timeout_is_an_unknown_outcome,
    a_connection_dropped_after_the_run_is_an_unknown_outcome,
    a_connection_dropped_before_the_run_is_still_an_unknown_outcome,
    a_truncated_body_is_an_unknown_outcome,
    a_slow_body_within_the_timeout_succeeds,
    a_slow_body_past_the_timeout_times_out,
    a_proxy_502_page_passes_through_as_a_service_error,
    thirty_two_concurrent_invokes_all_succeed,
);
