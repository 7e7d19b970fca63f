//! The hostile-server suite (issue 10, §9): the client against a scripted loopback
//! server that answers like a broken proxy, a misbehaving gateway or an attacker.
//!
//! The server is raw TCP on 127.0.0.1: for each connection it reads the request (head, and
//! body by `Content-Length`) and then plays a [`Script`] of exact bytes, pauses, trickles,
//! endless streams, resets (`SO_LINGER` 0) and hangs, so it can send what HTTP libraries
//! refuse to: invalid UTF-8 in headers, 60 KB header lines, garbage, 1xx and 599
//! statuses, bodies that never end. It counts connections and complete requests, so that
//! a case can assert that a request reached it exactly once.
//!
//! Every case runs against both transports (the default reqwest one and
//! `fgs::transport::HyperTransport`; the redirect cases also against a reqwest
//! transport built from a default `reqwest::ClientBuilder`, whose redirect policy would
//! follow) and asserts the typed outcome and that the call returned within its deadline
//! plus [`SLACK`]. The size cases run one after another in one test and assert that the
//! process' peak RSS stays within the call's cap plus [`MEMORY_SLACK`] of where it started, whatever the
//! server announces or streams; the other tests of this binary are small.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fgs::auth::StaticToken;
use fgs::error::Execution;
use fgs::retry::{NoRetry, Retryability, Sleep, classify};
use fgs::transport::HyperTransport;
use fgs::transport::{Delivery, ReqwestTransport, ResponseTooLarge, TransportError, TransportErrorKind};
use fgs::{
    Client, ClientBuilder, DecodeError, Error, FunctionUrn, Invoke, InvokeOutput, ResponseVersion, ServiceError,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

const URN: &str = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest";
/// A well-formed v1 body whose result is `{"a":1}`.
const V1_OK: &[u8] = br#"{"request_id":"r","result":"{\"a\":1}"}"#;
const RESULT: &str = r#"{"a":1}"#;
/// How much later than its deadline a call may return (a loaded 2-core CI machine).
const SLACK: Duration = Duration::from_secs(2);
/// The deadline of calls that should end at once.
const QUICK: Duration = Duration::from_secs(10);
/// A short deadline, for cases that must end by it.
const SHORT: Duration = Duration::from_secs(1);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;
const GIB: u64 = 1 << 30;
/// How far the peak RSS may rise above its starting point in a size case, beyond the
/// bytes the call is allowed to buffer (its cap, or the body of an error it keeps).
const MEMORY_SLACK: u64 = 16 << 20;

// ---------------------------------------------------------------------------------------
// The scripted server
// ---------------------------------------------------------------------------------------

/// One thing the server does on a connection.
#[derive(Clone, Debug)]
enum Step {
    /// Write these bytes.
    Send(Vec<u8>),
    /// Write these bytes `n` times (a large body without holding it in memory).
    Repeat(Vec<u8>, u64),
    /// Write these bytes again and again until the client goes away (or 30 s pass).
    Endless(Vec<u8>),
    /// Write one byte at a time, pausing after each.
    Trickle(Vec<u8>, Duration),
    /// Wait.
    Pause(Duration),
    /// Abort the connection with a reset (`SO_LINGER` 0, then close).
    Reset,
    /// Send nothing more; keep the connection open until the client closes it (or 30 s).
    Hang,
}

/// What the server does on one connection. After the last step it closes the connection
/// gracefully (FIN), unless a step reset it.
#[derive(Clone, Debug)]
struct Script {
    /// Read the request (head and `Content-Length` body) before the steps.
    read_request: bool,
    steps: Vec<Step>,
}

impl Script {
    /// Reads the request, then plays `steps`.
    fn after_request(steps: Vec<Step>) -> Self {
        Script {
            read_request: true,
            steps,
        }
    }

    /// Reads the request and answers with exactly these bytes.
    fn reply(bytes: Vec<u8>) -> Self {
        Self::after_request(vec![Step::Send(bytes)])
    }

    /// Plays `steps` without reading anything first.
    fn at_once(steps: Vec<Step>) -> Self {
        Script {
            read_request: false,
            steps,
        }
    }
}

/// A scripted server on 127.0.0.1. Connection `i` plays `scripts[i]`, or the last script
/// once they run out.
struct Server {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn start(scripts: Vec<Script>) -> Server {
        assert!(!scripts.is_empty());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (seen, counted) = (Arc::clone(&connections), Arc::clone(&requests));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let index = seen.fetch_add(1, Ordering::SeqCst);
                let script = scripts[index.min(scripts.len() - 1)].clone();
                tokio::spawn(play(stream, script, Arc::clone(&counted)));
            }
        });
        Server {
            addr,
            connections,
            requests,
            task,
        }
    }

    /// A server that answers every request with `bytes`.
    async fn replying(bytes: Vec<u8>) -> Server {
        Server::start(vec![Script::reply(bytes)]).await
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Complete requests (head and body) read so far.
    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn play(mut stream: TcpStream, script: Script, requests: Arc<AtomicUsize>) {
    if script.read_request {
        if read_request(&mut stream).await.is_none() {
            return;
        }
        requests.fetch_add(1, Ordering::SeqCst);
    }
    let give_up = Instant::now() + Duration::from_secs(30);
    for step in script.steps {
        match step {
            Step::Send(bytes) => {
                if stream.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Step::Repeat(bytes, times) => {
                for _ in 0..times {
                    if stream.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
            }
            Step::Endless(bytes) => {
                while Instant::now() < give_up {
                    if stream.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                return;
            }
            Step::Trickle(bytes, pause) => {
                for byte in bytes {
                    if stream.write_all(&[byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(pause).await;
                }
            }
            Step::Pause(pause) => tokio::time::sleep(pause).await,
            Step::Reset => {
                stream.set_zero_linger().unwrap();
                drop(stream);
                return;
            }
            Step::Hang => {
                let mut sink = [0u8; 4096];
                let wait = async {
                    while let Ok(n) = stream.read(&mut sink).await {
                        if n == 0 {
                            break;
                        }
                    }
                };
                let _ = tokio::time::timeout(Duration::from_secs(30), wait).await;
                return;
            }
        }
    }
    let _ = stream.shutdown().await;
}

/// Reads one request: the head, and as many body bytes as `Content-Length` says (at most
/// 8 MiB in all). `None` when the client went away first.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).into_owned();
            let length = head
                .lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, value)| value.trim().parse::<usize>().unwrap_or(0));
            if seen.len() >= end + 4 + length {
                return Some(head);
            }
        }
        if seen.len() > 8 * MIB {
            return None;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        seen.extend_from_slice(&buf[..n]);
    }
}

/// A complete HTTP/1.1 response: status line, the headers given (values as raw bytes),
/// `content-length`, `connection: close`, body.
fn http(status: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let mut out = head(status, headers);
    out.truncate(out.len() - 2);
    out.extend_from_slice(format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

/// A response head (status line, headers, blank line) exactly as given.
fn head(status: &str, headers: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A 200 with a JSON content type, the extra headers given and `body`.
fn ok_with(headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let mut all: Vec<(&str, &[u8])> = vec![("content-type", b"application/json")];
    all.extend_from_slice(headers);
    http("200 OK", &all, body)
}

/// A port on 127.0.0.1 that refuses connections while the returned socket lives: bound,
/// never listening, so no other test can take the port in the meantime (binding port 0,
/// dropping the listener and reusing the number races with every other test).
fn refused_port() -> (TcpSocket, u16) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

/// A listener whose accept queue is full, so that connecting hangs (the kernel drops
/// further handshakes). `None` when this system does not let the queue fill up.
async fn unresponsive() -> Option<(SocketAddr, TcpListener, Vec<TcpStream>)> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        // Generous: a connection that is merely slow on a loaded machine must not be taken
        // for a full queue (the tests would then connect, and expect not to).
        match tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => fillers.push(stream),
            _ => return Some((addr, listener, fillers)),
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// The client side
// ---------------------------------------------------------------------------------------

/// The HTTP stack under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stack {
    /// The default transport (reqwest).
    Reqwest,
    /// `fgs::transport::HyperTransport`.
    Hyper,
    /// `ReqwestTransport::from_builder(reqwest::Client::builder())`: a user's builder,
    /// whose default policy follows redirects.
    ReqwestUserBuilder,
}

fn builder_for(stack: Stack, url: String) -> ClientBuilder {
    let builder = Client::builder()
        .endpoint_url(url)
        .auth(StaticToken::new("t"))
        .connect_timeout(CONNECT_TIMEOUT);
    match stack {
        Stack::Reqwest => builder,
        Stack::Hyper => builder.transport(HyperTransport::new(CONNECT_TIMEOUT).unwrap()),
        Stack::ReqwestUserBuilder => {
            builder.transport(ReqwestTransport::from_builder(reqwest::Client::builder()).unwrap())
        }
    }
}

fn builder(stack: Stack, server: &Server) -> ClientBuilder {
    builder_for(stack, server.url())
}

fn client(stack: Stack, server: &Server) -> Client {
    builder(stack, server).build().unwrap()
}

fn urn() -> FunctionUrn {
    URN.parse().unwrap()
}

/// Runs `case` for the reqwest and the hyper transport, concurrently.
async fn both<F, Fut>(case: F)
where
    F: Fn(Stack) -> Fut,
    Fut: Future<Output = ()>,
{
    tokio::join!(case(Stack::Reqwest), case(Stack::Hyper));
}

/// Invokes [`URN`] with `deadline` (and whatever `tweak` adds), and asserts that the call
/// returned by the deadline plus [`SLACK`]. Returns the outcome and the time it took.
async fn timed_call(
    client: &Client,
    deadline: Duration,
    tweak: impl FnOnce(Invoke) -> Invoke,
) -> (Result<InvokeOutput, Error>, Duration) {
    let urn = urn();
    let invoke = tweak(client.invoke(&urn).timeout(deadline));
    let started = Instant::now();
    let outcome = tokio::time::timeout(deadline + SLACK * 5, invoke.send())
        .await
        .unwrap_or_else(|_| panic!("the call hung far past its {deadline:?} deadline"));
    let elapsed = started.elapsed();
    assert!(
        elapsed < deadline + SLACK,
        "the call took {elapsed:?} with a {deadline:?} deadline: {outcome:?}"
    );
    (outcome, elapsed)
}

async fn call(
    client: &Client,
    deadline: Duration,
    tweak: impl FnOnce(Invoke) -> Invoke,
) -> Result<InvokeOutput, Error> {
    timed_call(client, deadline, tweak).await.0
}

/// Calls a fresh client of `stack` against a server answering `bytes`, with [`QUICK`].
async fn call_replying(stack: Stack, bytes: Vec<u8>) -> (Result<InvokeOutput, Error>, Server) {
    let server = Server::replying(bytes).await;
    let outcome = call(&client(stack, &server), QUICK, |i| i).await;
    (outcome, server)
}

fn decode_error(error: &Error) -> &DecodeError {
    match error {
        Error::Decode(e) => e,
        other => panic!("expected Error::Decode, got {other:?}"),
    }
}

fn service_error(error: &Error) -> &ServiceError {
    match error {
        Error::Service(e) => e,
        other => panic!("expected Error::Service, got {other:?}"),
    }
}

fn transport_error(error: &Error) -> &TransportError {
    match error {
        Error::Transport(e) => e,
        other => panic!("expected Error::Transport, got {other:?}"),
    }
}

fn timeout_error(error: &Error) -> &TransportError {
    match error {
        Error::Timeout(e) => e,
        other => panic!("expected Error::Timeout, got {other:?}"),
    }
}

fn too_large(error: &Error) -> &ResponseTooLarge {
    match error {
        Error::ResponseTooLarge(e) => e,
        other => panic!("expected Error::ResponseTooLarge, got {other:?}"),
    }
}

/// The function may have run, and the one rule says so everywhere.
fn assert_maybe_ran(error: &Error) {
    assert!(
        matches!(error.execution(), Execution::MaybeRun | Execution::Ran),
        "{error:?}"
    );
    assert!(!error.is_retry_safe(), "{error:?}");
    assert_ne!(classify(error), Retryability::NotExecuted, "{error:?}");
}

/// A failure after the request was (or may have been) written: the function may have run.
fn assert_transport_maybe_sent(error: &Error) {
    let transport = transport_error(error);
    assert_eq!(transport.delivery(), Delivery::MaybeSent, "{error:?}");
    assert_eq!(error.execution(), Execution::MaybeRun, "{error:?}");
    assert!(!error.is_retry_safe(), "{error:?}");
}

/// An unreadable result of a 200: the function ran, the evidence is kept.
fn assert_ran_unreadable(error: &Error, body: &[u8]) {
    let decode = decode_error(error);
    assert_eq!(error.status(), Some(http::StatusCode::OK), "{error:?}");
    assert_eq!(error.execution(), Execution::Ran, "{error:?}");
    assert!(!error.is_retry_safe(), "{error:?}");
    assert!(decode.function_ran());
    assert!(error.to_string().contains("the function ran"), "{error}");
    let kept = body.len().min(fgs::error::MAX_EVIDENCE_BYTES);
    assert_eq!(decode.body().as_ref(), &body[..kept], "{error:?}");
    assert_eq!(decode.body_len(), body.len());
    assert_eq!(decode.body_is_truncated(), body.len() > kept);
}

fn has_problem(output: &InvokeOutput, part: &str) -> bool {
    output.problems().iter().any(|p| p.part.contains(part))
}

/// Records every wait of the retry loop and returns at once.
#[derive(Debug, Clone, Default)]
struct RecordingSleep(Arc<Mutex<Vec<Duration>>>);

impl RecordingSleep {
    fn waits(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

impl Sleep for RecordingSleep {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.0.lock().unwrap().push(duration);
        Box::pin(async {})
    }
}

// ---------------------------------------------------------------------------------------
// 1. A finished invoke keeps its result: informational junk is a problem, not an error
// ---------------------------------------------------------------------------------------

/// A 200 with a good result and one odd informational part.
struct Junk {
    case: &'static str,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: &'static [u8],
    /// The result the call must keep.
    result: &'static str,
    check: fn(&InvokeOutput),
}

fn junk_cases() -> Vec<Junk> {
    let v1 = V1_OK;
    let header = |name: &'static str, value: &[u8]| vec![(name, value.to_vec())];
    vec![
        Junk {
            case: "X-Cff-Invoke-Summary: not json {",
            headers: header("X-Cff-Invoke-Summary", b"not json {"),
            body: v1,
            result: RESULT,
            check: |out| {
                assert!(out.summary().is_none());
                assert_eq!(out.summary_raw().as_deref(), Some("not json {"));
                assert!(has_problem(out, "X-Cff-Invoke-Summary"));
            },
        },
        Junk {
            case: "X-Cff-Invoke-Summary of 60 KB (one header line)",
            headers: header("X-Cff-Invoke-Summary", &[b'x'; 60 * KIB]),
            body: v1,
            result: RESULT,
            check: |out| {
                assert!(out.summary().is_none());
                assert_eq!(out.summary_raw().unwrap().len(), 60 * KIB);
                assert!(has_problem(out, "X-Cff-Invoke-Summary"));
            },
        },
        Junk {
            case: "X-Cff-Function-Log: !!!notbase64",
            headers: header("X-Cff-Function-Log", b"!!!notbase64"),
            body: v1,
            result: RESULT,
            check: |out| {
                assert!(out.log().is_none());
                assert!(has_problem(out, "X-Cff-Function-Log"));
                assert_eq!(out.headers()["x-cff-function-log"], "!!!notbase64");
            },
        },
        Junk {
            case: "X-Is-Func-Err: 1",
            headers: header("X-Is-Func-Err", b"1"),
            body: v1,
            result: RESULT,
            check: |out| {
                assert!(out.is_function_error());
                assert!(out.problems().is_empty(), "{:?}", out.problems());
            },
        },
        Junk {
            case: "X-Is-Func-Err: TRUE",
            headers: header("X-Is-Func-Err", b"TRUE"),
            body: v1,
            result: RESULT,
            check: |out| {
                assert!(out.is_function_error());
                assert!(out.problems().is_empty(), "{:?}", out.problems());
            },
        },
        Junk {
            case: "X-Is-Func-Err: maybe",
            headers: header("X-Is-Func-Err", b"maybe"),
            body: v1,
            result: RESULT,
            check: |out| {
                assert!(!out.is_function_error());
                assert!(has_problem(out, "X-Is-Func-Err"));
            },
        },
        Junk {
            case: "X-Func-Err-Code: 7 (no X-Is-Func-Err)",
            headers: header("X-Func-Err-Code", b"7"),
            body: v1,
            result: RESULT,
            check: |out| {
                assert!(out.is_function_error());
                assert_eq!(out.function_error_code(), Some("7"));
            },
        },
        Junk {
            case: "X-CFF-Billing-Duration: odd text",
            headers: header("X-CFF-Billing-Duration", b"about 3 fortnights; ms=?"),
            body: v1,
            result: RESULT,
            check: |out| {
                // Billing information is documented as free text: kept as sent.
                assert_eq!(out.billing_duration_header(), Some("about 3 fortnights; ms=?"));
                assert!(out.problems().is_empty(), "{:?}", out.problems());
            },
        },
        Junk {
            case: "X-CFF-Billing-Duration: invalid UTF-8",
            headers: header("X-CFF-Billing-Duration", b"\xff\xfe12"),
            body: v1,
            result: RESULT,
            check: |out| {
                assert_eq!(out.billing_duration_header(), None);
                assert!(has_problem(out, "X-CFF-Billing-Duration"));
            },
        },
        Junk {
            case: "X-Cff-Request-Id: invalid UTF-8",
            headers: header("X-Cff-Request-Id", b"req-\xc3\x28-\xff"),
            body: br#"{"result":"{\"a\":1}"}"#,
            result: RESULT,
            check: |out| {
                assert_eq!(out.request_id(), None);
                assert!(has_problem(out, "X-Cff-Request-Id"));
                assert_eq!(out.headers()["x-cff-request-id"].as_bytes(), b"req-\xc3\x28-\xff");
            },
        },
        Junk {
            case: "invalid UTF-8 in a header the SDK does not read",
            headers: header("X-Junk", b"\x80\x81\xfe\xff"),
            body: v1,
            result: RESULT,
            check: |out| {
                assert!(out.problems().is_empty(), "{:?}", out.problems());
                assert_eq!(out.headers()["x-junk"].as_bytes(), b"\x80\x81\xfe\xff");
            },
        },
        Junk {
            case: "X-Cff-Response-Version: v9",
            headers: header("X-Cff-Response-Version", b"v9"),
            body: v1,
            result: RESULT,
            check: |out| {
                assert_eq!(out.response_version(), &ResponseVersion::V1);
                assert!(has_problem(out, "X-Cff-Response-Version"));
            },
        },
        Junk {
            case: "X-Cff-Response-Version: v0 on a v1 request (the response's word wins)",
            headers: header("X-Cff-Response-Version", b"v0"),
            body: v1,
            result: r#"{"request_id":"r","result":"{\"a\":1}"}"#,
            check: |out| {
                assert_eq!(out.response_version(), &ResponseVersion::V0);
                assert!(out.problems().is_empty(), "{:?}", out.problems());
            },
        },
        Junk {
            case: "body status: \"ok\"",
            headers: vec![],
            body: br#"{"request_id":"r","result":"{\"a\":1}","status":"ok"}"#,
            result: RESULT,
            check: |out| {
                assert_eq!(out.function_status(), None);
                assert!(has_problem(out, "status"));
            },
        },
        Junk {
            case: "body log: null",
            headers: vec![],
            body: br#"{"request_id":"r","result":"{\"a\":1}","log":null,"status":200}"#,
            result: RESULT,
            check: |out| {
                assert_eq!(out.log(), None);
                assert_eq!(out.function_status(), Some(200));
                assert!(out.problems().is_empty(), "{:?}", out.problems());
            },
        },
        Junk {
            case: "body log: 5",
            headers: vec![],
            body: br#"{"request_id":"r","result":"{\"a\":1}","log":5}"#,
            result: RESULT,
            check: |out| {
                assert_eq!(out.log(), None);
                assert!(has_problem(out, "log"));
            },
        },
        Junk {
            case: "body request_id: 7",
            headers: vec![],
            body: br#"{"request_id":7,"result":"{\"a\":1}"}"#,
            result: RESULT,
            check: |out| {
                assert_eq!(out.request_id(), None);
                assert!(has_problem(out, "request_id"));
            },
        },
        Junk {
            case: "body result: null",
            headers: vec![],
            body: br#"{"request_id":"r","result":null}"#,
            result: "",
            check: |out| {
                assert!(out.result().is_empty());
                assert!(out.problems().is_empty(), "{:?}", out.problems());
            },
        },
        Junk {
            case: "body result: {\"x\":1} (not a string)",
            headers: vec![],
            body: br#"{"request_id":"r","result":{"x":1}}"#,
            result: r#"{"x":1}"#,
            check: |out| {
                assert!(has_problem(out, "result"));
            },
        },
        Junk {
            case: "unknown extra body fields",
            headers: vec![],
            body: br#"{"zz":[1,{"y":null}],"request_id":"r","result":"{\"a\":1}","extra":true}"#,
            result: RESULT,
            check: |out| {
                assert_eq!(out.request_id(), Some("r"));
                assert!(out.problems().is_empty(), "{:?}", out.problems());
            },
        },
        Junk {
            case: "terminal escapes in body request_id and log",
            headers: vec![],
            body: br#"{"request_id":"\u001b[31mred","result":"{\"a\":1}","log":"\u001b]0;pwned\u0007"}"#,
            result: RESULT,
            check: |out| {
                // Kept as sent (it is data); only Display output is cleaned.
                assert_eq!(out.request_id(), Some("\u{1b}[31mred"));
                assert!(out.problems().is_empty(), "{:?}", out.problems());
            },
        },
        Junk {
            case: "every junk header at once",
            headers: vec![
                ("X-Cff-Invoke-Summary", b"[1,2".to_vec()),
                ("X-Cff-Function-Log", b"%%%".to_vec()),
                ("X-Is-Func-Err", b"perhaps".to_vec()),
                ("X-Cff-Request-Id", b"\xff".to_vec()),
                ("X-Cff-Response-Version", b"\xfe".to_vec()),
                ("X-CFF-Billing-Duration", b"\xfd".to_vec()),
            ],
            body: br#"{"request_id":[],"result":"{\"a\":1}","log":{},"status":1e99}"#,
            result: RESULT,
            check: |out| {
                for part in [
                    "X-Cff-Invoke-Summary",
                    "X-Cff-Function-Log",
                    "X-Is-Func-Err",
                    "X-Cff-Request-Id",
                    "X-Cff-Response-Version",
                    "X-CFF-Billing-Duration",
                    "body field request_id",
                    "body field log",
                    "body field status",
                ] {
                    assert!(has_problem(out, part), "{part}: {:?}", out.problems());
                }
                assert!(!out.is_function_error());
            },
        },
    ]
}

#[tokio::test]
async fn informational_junk_never_costs_the_result() {
    both(|stack| async move {
        for junk in junk_cases() {
            let headers: Vec<(&str, &[u8])> = junk.headers.iter().map(|(n, v)| (*n, v.as_slice())).collect();
            let (outcome, server) = call_replying(stack, ok_with(&headers, junk.body)).await;
            let output = outcome.unwrap_or_else(|e| panic!("{stack:?}, {}: {e:?}", junk.case));
            assert_eq!(output.status(), 200);
            assert_eq!(output.result_str().unwrap(), junk.result, "{stack:?}, {}", junk.case);
            (junk.check)(&output);
            // Problems are printable.
            for problem in output.problems() {
                assert!(!problem.to_string().chars().any(char::is_control), "{problem:?}");
            }
            assert_eq!(server.requests(), 1, "{stack:?}, {}", junk.case);
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Unreadable results: the function ran, the evidence is kept
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unreadable_result_is_a_decode_error_that_says_the_function_ran() {
    let big_html = {
        let mut page = b"<html><body>".to_vec();
        page.resize(300 * KIB, b'x');
        page
    };
    let cases: Vec<(&str, &[u8], Vec<u8>)> = vec![
        ("non-JSON body", b"text/plain", b"hello, world".to_vec()),
        ("empty body", b"application/json", Vec::new()),
        (
            "HTML 200 body",
            b"text/html",
            b"<html><head><title>Login</title></head><body>captive portal</body></html>".to_vec(),
        ),
        (
            "body without `result`",
            b"application/json",
            br#"{"request_id":"r","log":"","status":200}"#.to_vec(),
        ),
        (
            "truncated JSON (complete by Content-Length)",
            b"application/json",
            br#"{"request_id":"r","result":"{\"a"#.to_vec(),
        ),
        (
            "invalid UTF-8 inside the v1 JSON",
            b"application/json",
            b"{\"request_id\":\"r\",\"result\":\"\xff\xfe\"}".to_vec(),
        ),
        (
            "`result` twice (ambiguous)",
            b"application/json",
            br#"{"result":"{\"a\":1}","result":"{\"a\":2}"}"#.to_vec(),
        ),
        ("300 KB HTML 200 body (evidence cut at 64 KiB)", b"text/html", big_html),
    ];
    both(|stack| {
        let cases = cases.clone();
        async move {
            for (case, content_type, body) in cases {
                let (outcome, server) =
                    call_replying(stack, http("200 OK", &[("content-type", content_type)], &body)).await;
                let error = outcome.expect_err(case);
                assert_ran_unreadable(&error, &body);
                assert_eq!(decode_error(&error).headers()["content-type"], content_type, "{case}");
                // Never sent again: the function ran.
                assert_eq!(server.requests(), 1, "{stack:?}, {case}");
            }
        }
    })
    .await;
}

#[tokio::test]
/// At 834c491 a JSON array was read as the envelope by position (serde's sequence form of a
/// struct): `[1,2,3]` gave `Ok` with result `1`. Fixed by the field-by-field reader (2b3350b).
async fn a_json_array_is_not_a_v1_envelope() {
    both(|stack| async move {
        for body in [&b"[1,2,3]"[..], br#"["{\"a\":1}","r"]"#] {
            let (outcome, server) =
                call_replying(stack, http("200 OK", &[("content-type", b"application/json")], body)).await;
            let error = outcome.expect_err("a JSON array has no `result` field");
            assert_ran_unreadable(&error, body);
            assert_eq!(server.requests(), 1);
        }
    })
    .await;
}

#[tokio::test]
async fn v0_returns_any_body_as_it_is() {
    /// (case, content type if any, body)
    type Case = (&'static str, Option<&'static [u8]>, Vec<u8>);
    let cases: Vec<Case> = vec![
        (
            "v0 text/html",
            Some(b"text/html; charset=utf-8"),
            b"<h1>hi</h1>".to_vec(),
        ),
        (
            "v0 application/octet-stream",
            Some(b"application/octet-stream"),
            vec![0, 1, 2, 255],
        ),
        ("v0 image/png", Some(b"image/png"), b"\x89PNG\r\n\x1a\n".to_vec()),
        ("v0 no content type", None, b"plain".to_vec()),
        ("v0 garbage content type", Some(b";;;=\"\xff"), b"{}".to_vec()),
        ("v0 empty body", Some(b"application/json"), Vec::new()),
        (
            "v0 invalid UTF-8 body",
            Some(b"text/plain"),
            b"ok \xc3\x28 \xff".to_vec(),
        ),
    ];
    both(|stack| {
        let cases = cases.clone();
        async move {
            for (case, content_type, body) in cases {
                let headers: Vec<(&str, &[u8])> = content_type.map(|ct| ("content-type", ct)).into_iter().collect();
                let server = Server::replying(http("200 OK", &headers, &body)).await;
                let output = call(&client(stack, &server), QUICK, |i| {
                    i.response_version(ResponseVersion::V0)
                })
                .await
                .unwrap_or_else(|e| panic!("{stack:?}, {case}: {e:?}"));
                assert_eq!(output.result().as_ref(), body.as_slice(), "{case}");
                assert_eq!(output.response_version(), &ResponseVersion::V0);
                match std::str::from_utf8(&body) {
                    Ok(text) => assert_eq!(output.result_str().unwrap(), text),
                    Err(_) => {
                        let error = output.result_str().unwrap_err();
                        assert_eq!(error.execution(), Execution::Ran, "{error:?}");
                        assert_eq!(decode_error(&error).body().as_ref(), body.as_slice());
                    }
                }
                assert_eq!(server.requests(), 1);
            }
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Statuses
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn informational_statuses_alone_are_no_answer() {
    both(|stack| async move {
        // 100 and 102, then the connection closes: no final response.
        let server = Server::start(vec![Script::after_request(vec![Step::Send(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n".to_vec(),
        )])])
        .await;
        let error = call(&client(stack, &server), QUICK, |i| i).await.unwrap_err();
        assert_transport_maybe_sent(&error);
        assert_eq!(server.requests(), 1, "{stack:?}");
        assert_eq!(server.connections(), 1, "{stack:?}");
    })
    .await;
}

#[tokio::test]
async fn informational_statuses_before_the_answer_are_skipped() {
    both(|stack| async move {
        let mut bytes = b"HTTP/1.1 103 Early Hints\r\nlink: </x>; rel=preload\r\n\r\n".to_vec();
        bytes.extend(ok_with(&[], V1_OK));
        let (outcome, server) = call_replying(stack, bytes).await;
        assert_eq!(outcome.unwrap().result_str().unwrap(), RESULT);
        assert_eq!(server.requests(), 1);
    })
    .await;
}

#[tokio::test]
async fn an_unrequested_101_is_not_a_result() {
    both(|stack| async move {
        let (outcome, server) = call_replying(
            stack,
            head(
                "101 Switching Protocols",
                &[("upgrade", b"websocket"), ("connection", b"upgrade")],
            ),
        )
        .await;
        let error = outcome.unwrap_err();
        assert_eq!(error.status(), Some(http::StatusCode::SWITCHING_PROTOCOLS), "{error:?}");
        decode_error(&error);
        assert_maybe_ran(&error);
        assert_eq!(server.requests(), 1);
    })
    .await;
}

#[tokio::test]
async fn redirects_are_reported_never_followed() {
    for stack in [Stack::Reqwest, Stack::Hyper, Stack::ReqwestUserBuilder] {
        for status in [
            "301 Moved Permanently",
            "302 Found",
            "303 See Other",
            "307 Temporary Redirect",
            "308 Permanent Redirect",
        ] {
            // Where the redirect points: it must never see a connection.
            let target = Server::replying(ok_with(&[], V1_OK)).await;
            let location = format!("{}/v2/steal?token=1", target.url());
            let server = Server::replying(http(
                status,
                &[("location", location.as_bytes()), ("content-type", b"text/html")],
                b"<a href=elsewhere>moved</a>",
            ))
            .await;
            let error = call(&client(stack, &server), QUICK, |i| i).await.unwrap_err();
            let decode = decode_error(&error);
            assert_eq!(error.status().map(|s| s.as_u16()), Some(status[..3].parse().unwrap()));
            assert!(error.to_string().contains("redirect"), "{stack:?} {status}: {error}");
            assert!(decode.what().contains(&target.addr.to_string()), "{error}");
            assert_maybe_ran(&error);
            // No wait needed: the server counts a request before it answers, and a followed
            // redirect would have connected to `target` before the call returned.
            assert_eq!(server.requests(), 1, "{stack:?} {status}");
            assert_eq!(target.connections(), 0, "{stack:?} {status}: the redirect was followed");
        }
    }
}

#[tokio::test]
async fn unknown_and_html_server_errors_are_not_retry_safe_and_not_resent() {
    both(|stack| async move {
        let html = b"<html><body><h1>599 Network Connect Timeout</h1></body></html>";
        for (case, response) in [
            (
                "599 with HTML",
                http("599 Whatever", &[("content-type", b"text/html")], html),
            ),
            (
                "500 with HTML",
                http("500 Internal Server Error", &[("content-type", b"text/html")], html),
            ),
            (
                "503 FSS.0503",
                http(
                    "503 Service Unavailable",
                    &[("content-type", b"application/json"), ("x-request-id", b"gw-9")],
                    br#"{"error_code":"FSS.0503","error_msg":"Service unavailable"}"#,
                ),
            ),
            ("502 with an empty body", http("502 Bad Gateway", &[], b"")),
        ] {
            let (outcome, server) = call_replying(stack, response).await;
            let error = outcome.unwrap_err();
            let service = service_error(&error);
            assert_eq!(error.execution(), Execution::MaybeRun, "{case}: {error:?}");
            assert!(!error.is_retry_safe(), "{case}");
            assert_eq!(classify(&error), Retryability::MaybeExecuted, "{case}");
            // The default policy does not send a call that may have run again.
            assert_eq!(server.requests(), 1, "{stack:?}, {case}");
            if case.starts_with("503") {
                assert_eq!(service.raw_code(), Some("FSS.0503"));
                assert_eq!(service.request_id(), Some("gw-9"));
            } else {
                assert_eq!(service.code(), None, "{case}");
                assert!(
                    !error.to_string().contains("<html"),
                    "HTML dumped into Display: {error}"
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn throttling_without_a_known_code_is_retry_safe_and_retried() {
    both(|stack| async move {
        for (case, response) in [
            ("429 without a body", http("429 Too Many Requests", &[], b"")),
            (
                "429 with an unknown code",
                http(
                    "429 Too Many Requests",
                    &[("content-type", b"application/json")],
                    br#"{"error_code":"XYZ.9999","error_msg":"slow down"}"#,
                ),
            ),
        ] {
            let server = Server::replying(response).await;
            let sleep = RecordingSleep::default();
            let client = builder(stack, &server).sleep(sleep.clone()).build().unwrap();
            let error = call(&client, QUICK, |i| i).await.unwrap_err();
            assert_eq!(error.status(), Some(http::StatusCode::TOO_MANY_REQUESTS));
            service_error(&error);
            assert!(error.is_retry_safe(), "{case}");
            assert_eq!(error.execution(), Execution::NotRun);
            assert_eq!(classify(&error), Retryability::NotExecuted, "{case}");
            // The default policy sends it again (the function did not run): 3 attempts.
            assert_eq!(server.requests(), 3, "{stack:?}, {case}");
            assert_eq!(sleep.waits().len(), 2, "{case}");
        }
        // Throttled once, then answered: the result arrives and the function ran once.
        let server = Server::start(vec![
            Script::reply(http("429 Too Many Requests", &[], b"")),
            Script::reply(ok_with(&[], V1_OK)),
        ])
        .await;
        let client = builder(stack, &server)
            .sleep(RecordingSleep::default())
            .build()
            .unwrap();
        assert_eq!(call(&client, QUICK, |i| i).await.unwrap().result_str().unwrap(), RESULT);
        assert_eq!(server.requests(), 2);
    })
    .await;
}

#[tokio::test]
async fn odd_success_and_out_of_range_statuses_are_decode_errors() {
    both(|stack| async move {
        // 204: a success status, but not the documented 200, and no result.
        let (outcome, server) = call_replying(stack, head("204 No Content", &[])).await;
        let error = outcome.unwrap_err();
        assert_eq!(error.status(), Some(http::StatusCode::NO_CONTENT));
        decode_error(&error);
        assert!(!error.is_retry_safe());
        assert_eq!(server.requests(), 1);

        // 999: outside every class the client knows.
        let (outcome, server) = call_replying(stack, http("999 Whatever", &[], b"?")).await;
        let error = outcome.unwrap_err();
        assert_eq!(error.status().map(|s| s.as_u16()), Some(999));
        decode_error(&error);
        assert_maybe_ran(&error);
        assert_eq!(server.requests(), 1);
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Sizes: huge and endless bodies; memory stays bounded
// ---------------------------------------------------------------------------------------

fn status_field(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// Resets the peak-RSS mark to the current RSS where Linux allows it (`clear_refs` 5), so
/// that each case measures its own peak; returns the mark to compare against.
fn memory_mark() -> Option<u64> {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_field("VmHWM:")
}

/// Asserts that the peak RSS since `mark` grew by less than `buffered` (what the call may
/// hold: its cap, or the whole body of a smaller response) plus [`MEMORY_SLACK`].
fn assert_memory_bounded(case: &str, mark: Option<u64>, buffered: u64) {
    let (Some(before), Some(after)) = (mark, status_field("VmHWM:")) else {
        return; // no /proc: nothing to measure
    };
    let grown = after.saturating_sub(before);
    eprintln!("{case}: peak RSS +{} KiB", grown >> 10);
    assert!(
        grown < buffered + MEMORY_SLACK,
        "{case}: peak RSS grew by {} MiB (from {} MiB)",
        grown >> 20,
        before >> 20
    );
}

/// 64 KiB of body bytes.
fn block() -> Vec<u8> {
    vec![b'x'; 64 * KIB]
}

/// One chunk of a chunked body: 64 KiB.
fn chunk() -> Vec<u8> {
    let mut out = format!("{:x}\r\n", 64 * KIB).into_bytes();
    out.extend(block());
    out.extend_from_slice(b"\r\n");
    out
}

#[tokio::test]
async fn huge_and_endless_bodies_are_refused_with_bounded_memory() {
    const CAP: u64 = MIB as u64;
    let json: &[(&str, &[u8])] = &[("content-type", b"application/json")];
    for stack in [Stack::Reqwest, Stack::Hyper] {
        // A 200 announcing 1 GiB (and the server keeps writing): refused before reading.
        let case = format!("{stack:?}: 200 with Content-Length 1 GiB");
        let mark = memory_mark();
        let server = Server::start(vec![Script::after_request(vec![
            Step::Send(head(
                "200 OK",
                &[("content-type", b"application/json"), ("content-length", b"1073741824")],
            )),
            Step::Endless(block()),
        ])])
        .await;
        let (outcome, elapsed) = timed_call(&client(stack, &server), QUICK, |i| i.max_response_bytes(CAP)).await;
        let error = outcome.unwrap_err();
        let details = too_large(&error);
        assert_eq!(details.status, 200, "{case}");
        assert_eq!(details.announced, Some(GIB), "{case}");
        assert_eq!(details.limit, CAP);
        assert_eq!(error.execution(), Execution::Ran, "{case}");
        assert!(!error.is_retry_safe());
        assert!(elapsed < Duration::from_secs(3), "{case}: took {elapsed:?}");
        assert_eq!(server.requests(), 1, "{case}");
        assert_memory_bounded(&case, mark, CAP);

        // A 500 announcing 1 GiB: the same, and the function may have run.
        let case = format!("{stack:?}: 500 with Content-Length 1 GiB");
        let mark = memory_mark();
        let server = Server::start(vec![Script::after_request(vec![
            Step::Send(head("500 Internal Server Error", &[("content-length", b"1073741824")])),
            Step::Endless(block()),
        ])])
        .await;
        let error = call(&client(stack, &server), QUICK, |i| i.max_response_bytes(CAP))
            .await
            .unwrap_err();
        assert_eq!(too_large(&error).status, 500, "{case}");
        assert_eq!(error.execution(), Execution::MaybeRun, "{case}");
        assert_eq!(server.requests(), 1, "{case}");
        assert_memory_bounded(&case, mark, CAP);

        // Endless chunked body.
        let case = format!("{stack:?}: endless chunked body");
        let mark = memory_mark();
        let server = Server::start(vec![Script::after_request(vec![
            Step::Send(head(
                "200 OK",
                &[("content-type", b"application/json"), ("transfer-encoding", b"chunked")],
            )),
            Step::Endless(chunk()),
        ])])
        .await;
        let (outcome, elapsed) = timed_call(&client(stack, &server), QUICK, |i| i.max_response_bytes(CAP)).await;
        let error = outcome.unwrap_err();
        let details = too_large(&error);
        assert_eq!(details.announced, None, "{case}");
        assert_eq!(error.execution(), Execution::Ran, "{case}");
        assert!(elapsed < Duration::from_secs(5), "{case}: took {elapsed:?}");
        assert_memory_bounded(&case, mark, CAP);

        // Endless body delimited by the end of the connection (no length, no chunking).
        let case = format!("{stack:?}: endless body without length");
        let mark = memory_mark();
        let server = Server::start(vec![Script::after_request(vec![
            Step::Send(head(
                "200 OK",
                &[("content-type", b"application/json"), ("connection", b"close")],
            )),
            Step::Endless(block()),
        ])])
        .await;
        let (outcome, elapsed) = timed_call(&client(stack, &server), QUICK, |i| i.max_response_bytes(CAP)).await;
        let error = outcome.unwrap_err();
        assert_eq!(too_large(&error).announced, None, "{case}");
        assert_eq!(error.execution(), Execution::Ran, "{case}");
        assert!(elapsed < Duration::from_secs(5), "{case}: took {elapsed:?}");
        assert_memory_bounded(&case, mark, CAP);

        // 1 GiB streamed (chunked) under the default 32 MiB cap: refused at the cap.
        let case = format!("{stack:?}: 1 GiB chunked under the default cap");
        let mark = memory_mark();
        let server = Server::start(vec![Script::after_request(vec![
            Step::Send(head("200 OK", &[("transfer-encoding", b"chunked")])),
            Step::Repeat(chunk(), GIB / (64 * KIB as u64)),
            Step::Send(b"0\r\n\r\n".to_vec()),
        ])])
        .await;
        let capped = client(stack, &server);
        let error = call(&capped, QUICK, |i| i).await.unwrap_err();
        assert_eq!(too_large(&error).limit, capped.max_response_bytes(), "{case}");
        assert_memory_bounded(&case, mark, capped.max_response_bytes());

        // A body exactly at the cap is read; one byte more is not.
        let case = format!("{stack:?}: a body of exactly the cap");
        let mark = memory_mark();
        let mut body = br#"{"request_id":"r","result":""#.to_vec();
        let filler = CAP as usize - body.len() - 2;
        body.extend(std::iter::repeat_n(b'y', filler));
        body.extend_from_slice(br#""}"#);
        assert_eq!(body.len() as u64, CAP);
        let server = Server::start(vec![
            Script::reply(http("200 OK", json, &body)),
            Script::reply(http("200 OK", json, &[body.as_slice(), b" "].concat())),
        ])
        .await;
        let at_cap = client(stack, &server);
        let output = call(&at_cap, QUICK, |i| i.max_response_bytes(CAP)).await.unwrap();
        assert_eq!(output.result().len(), filler, "{case}");
        drop(output);
        let error = call(&at_cap, QUICK, |i| i.max_response_bytes(CAP)).await.unwrap_err();
        assert_eq!(too_large(&error).announced, Some(CAP + 1), "{case}");
        assert_memory_bounded(&case, mark, 2 * CAP);

        // An asynchronous invoke has a small cap of its own (1 MiB), whatever the client's.
        let case = format!("{stack:?}: async invoke with an endless 202");
        let mark = memory_mark();
        let server = Server::start(vec![Script::after_request(vec![
            Step::Send(head("202 Accepted", &[("transfer-encoding", b"chunked")])),
            Step::Endless(chunk()),
        ])])
        .await;
        let queuing = client(stack, &server);
        let urn = urn();
        let started = Instant::now();
        let error = queuing.invoke_async(&urn).timeout(QUICK).send().await.unwrap_err();
        assert!(started.elapsed() < QUICK + SLACK);
        let details = too_large(&error);
        assert_eq!((details.status.as_u16(), details.limit), (202, CAP), "{case}");
        assert_memory_bounded(&case, mark, CAP);

        // A 500 with a 10 MB body under a large cap: the error keeps 64 KiB of it.
        let case = format!("{stack:?}: 500 with a 10 MB body");
        let mark = memory_mark();
        let ten_mb = 160 * 64 * KIB;
        let server = Server::start(vec![Script::after_request(vec![
            Step::Send(head(
                "500 Internal Server Error",
                &[("content-length", ten_mb.to_string().as_bytes())],
            )),
            Step::Repeat(block(), 160),
        ])])
        .await;
        let error = call(&client_for_large(stack, &server), QUICK, |i| i).await.unwrap_err();
        let service = service_error(&error);
        assert!(service.body().len() <= 64 * KIB, "{case}");
        assert!(service.body_is_truncated(), "{case}");
        assert_eq!(service.body_len(), ten_mb, "{case}");
        assert_eq!(error.execution(), Execution::MaybeRun);
        assert_eq!(server.requests(), 1);
        drop(error);
        assert_memory_bounded(&case, mark, ten_mb as u64);
    }
}

/// A client with a cap far above the bodies of the case (64 MiB).
fn client_for_large(stack: Stack, server: &Server) -> Client {
    builder(stack, server).max_response_bytes(64 << 20).build().unwrap()
}

// ---------------------------------------------------------------------------------------
// Time: every call ends by its deadline
// ---------------------------------------------------------------------------------------

/// A timeout after the request was sent: the function may have run, and it was not sent
/// again.
fn assert_timeout_maybe_sent(error: &Error) {
    let timeout = timeout_error(error);
    assert_eq!(timeout.delivery(), Delivery::MaybeSent, "{error:?}");
    assert_eq!(error.execution(), Execution::MaybeRun);
    assert!(!error.is_retry_safe());
    assert_eq!(classify(error), Retryability::MaybeExecuted);
}

#[tokio::test]
async fn a_body_trickling_past_the_deadline_times_out() {
    both(|stack| async move {
        let mut bytes = head(
            "200 OK",
            &[("content-type", b"application/json"), ("content-length", b"64")],
        );
        bytes.extend_from_slice(br#"{"request_id":"r","result":"#);
        let server = Server::start(vec![Script::after_request(vec![
            Step::Send(bytes),
            Step::Trickle(vec![b' '; 40], Duration::from_millis(200)),
        ])])
        .await;
        let error = call(&client(stack, &server), SHORT, |i| i).await.unwrap_err();
        assert_timeout_maybe_sent(&error);
        assert_eq!(server.requests(), 1, "{stack:?}");
    })
    .await;
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    both(|stack| async move {
        let server = Server::start(vec![Script::after_request(vec![Step::Hang])]).await;
        let error = call(&client(stack, &server), SHORT, |i| i).await.unwrap_err();
        assert_timeout_maybe_sent(&error);
        assert_eq!(server.requests(), 1, "{stack:?}");
        assert_eq!(server.connections(), 1, "{stack:?}");
    })
    .await;
}

#[tokio::test]
async fn a_server_that_never_reads_times_out() {
    both(|stack| async move {
        let server = Server::start(vec![Script::at_once(vec![Step::Pause(Duration::from_secs(20))])]).await;
        let error = call(&client(stack, &server), SHORT, |i| i).await.unwrap_err();
        assert_timeout_maybe_sent(&error);
        assert_eq!(server.connections(), 1, "{stack:?}");
    })
    .await;
}

#[tokio::test]
async fn headers_that_trickle_time_out() {
    both(|stack| async move {
        let server = Server::start(vec![Script::after_request(vec![
            Step::Send(b"HTTP/1.1 200 OK\r\n".to_vec()),
            Step::Trickle(
                b"x-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".to_vec(),
                Duration::from_millis(200),
            ),
        ])])
        .await;
        let error = call(&client(stack, &server), SHORT, |i| i).await.unwrap_err();
        assert_timeout_maybe_sent(&error);
        assert_eq!(server.requests(), 1, "{stack:?}");
    })
    .await;
}

/// A client of `url` on `stack` whose connect timeout is `connect`, with the default retry
/// policy and waits that return at once.
fn connect_timeout_client(stack: Stack, url: String, connect: Duration) -> Client {
    let builder = Client::builder()
        .endpoint_url(url)
        .auth(StaticToken::new("t"))
        .connect_timeout(connect)
        .sleep(RecordingSleep::default());
    match stack {
        Stack::Hyper => builder.transport(HyperTransport::new(connect).unwrap()),
        _ => builder,
    }
    .build()
    .unwrap()
}

#[tokio::test]
async fn a_connection_that_never_opens_is_a_timeout_that_sent_nothing() {
    let Some((addr, _listener, _fillers)) = unresponsive().await else {
        return; // this system does not let an accept queue fill up
    };
    for stack in [Stack::Reqwest, Stack::Hyper] {
        // The connect timeout (300 ms) passes first: nothing was sent, so the default
        // policy tries again (3 attempts), all within the deadline.
        let client = connect_timeout_client(stack, format!("http://{addr}"), Duration::from_millis(300));
        let error = call(&client, Duration::from_secs(5), |i| i).await.unwrap_err();
        let timeout = timeout_error(&error);
        assert_eq!(timeout.delivery(), Delivery::NotSent, "{stack:?}: {error:?}");
        assert!(error.is_retry_safe(), "{stack:?}");
        assert_eq!(classify(&error), Retryability::NotExecuted);
    }
}

/// A server that takes the TCP connection and never answers the TLS ClientHello: the
/// connect timeout covers the handshake on both transports (hyper-util's own covers TCP
/// alone), so each attempt ends at the connect timeout, not at the call's deadline, nothing
/// was sent, and the default policy tries again within the deadline.
#[tokio::test]
async fn a_tls_handshake_that_never_answers_is_bounded_by_the_connect_timeout() {
    const CONNECT: Duration = Duration::from_millis(300);
    for stack in [Stack::Reqwest, Stack::Hyper] {
        let server = Server::start(vec![Script::at_once(vec![Step::Hang])]).await;
        let client = connect_timeout_client(stack, format!("https://{}", server.addr), CONNECT);
        let error = call(&client, Duration::from_secs(20), |i| i).await.unwrap_err();
        let timeout = timeout_error(&error);
        assert_eq!(timeout.delivery(), Delivery::NotSent, "{stack:?}: {error:?}");
        assert!(error.is_retry_safe(), "{stack:?}");
        // Had an attempt waited for the deadline, there would have been one connection.
        assert_eq!(server.connections(), 3, "{stack:?}: {error}");
        assert_eq!(server.requests(), 0, "{stack:?}");
    }
}

/// Both transports know whether hyper had begun to write the request when the deadline
/// passes (their request body marks that moment): while connecting, nothing was sent.
#[tokio::test]
async fn a_deadline_that_passes_while_connecting_says_nothing_was_sent() {
    let Some((addr, _listener, _fillers)) = unresponsive().await else {
        return;
    };
    for (stack, expected) in [(Stack::Hyper, Delivery::NotSent), (Stack::Reqwest, Delivery::NotSent)] {
        let client = builder_for(stack, format!("http://{addr}"))
            .retry_policy(NoRetry)
            .build()
            .unwrap();
        let error = call(&client, Duration::from_millis(500), |i| i).await.unwrap_err();
        let timeout = timeout_error(&error);
        assert_eq!(timeout.delivery(), expected, "{stack:?}: {error}");
        assert_eq!(
            error.is_retry_safe(),
            expected == Delivery::NotSent,
            "{stack:?}: {error}"
        );
    }
}

#[tokio::test]
async fn a_huge_retry_after_never_sleeps_past_the_deadline() {
    both(|stack| async move {
        let server = Server::replying(http(
            "429 Too Many Requests",
            &[("retry-after", b"99999999999"), ("content-type", b"application/json")],
            br#"{"error_code":"FSS.0429","error_msg":"Too many concurrent requests"}"#,
        ))
        .await;
        // The default policy and the real Tokio sleep.
        let deadline = Duration::from_secs(2);
        let (outcome, elapsed) = timed_call(&client(stack, &server), deadline, |i| i).await;
        let error = outcome.unwrap_err();
        assert_eq!(error.status(), Some(http::StatusCode::TOO_MANY_REQUESTS), "{error:?}");
        assert_eq!(
            service_error(&error).retry_after(),
            Some(Duration::from_secs(99_999_999_999))
        );
        assert!(error.is_retry_safe());
        assert!(elapsed < deadline, "{stack:?}: took {elapsed:?}");
        assert_eq!(server.requests(), 1, "{stack:?}");
    })
    .await;
}

#[tokio::test]
async fn retry_after_of_every_odd_shape_is_bounded() {
    // (case, value, expected waits: None = backoff of up to 100 ms then 200 ms)
    let far_future = b"Fri, 31 Dec 9999 23:59:59 GMT".to_vec();
    let cases: Vec<(&str, Vec<u8>, Option<Duration>, usize)> = vec![
        ("-1", b"-1".to_vec(), None, 3),
        ("1.5", b"1.5".to_vec(), None, 3),
        ("empty", Vec::new(), None, 3),
        ("spaces", b"   ".to_vec(), None, 3),
        (
            "a past date",
            b"Wed, 21 Oct 2015 07:28:00 GMT".to_vec(),
            Some(Duration::ZERO),
            3,
        ),
        ("0", b"0".to_vec(), Some(Duration::ZERO), 3),
        ("non-ASCII", "\u{4e00}\u{79d2}".as_bytes().to_vec(), None, 3),
        ("invalid UTF-8", b"\xff\xfe".to_vec(), None, 3),
        ("a date far in the future", far_future, None, 1),
        ("more digits than u64", b"99999999999999999999999999".to_vec(), None, 1),
    ];
    both(|stack| {
        let cases = cases.clone();
        async move {
            for (case, value, wait, attempts) in cases {
                let server = Server::replying(http("429 Too Many Requests", &[("retry-after", &value)], b"")).await;
                let sleep = RecordingSleep::default();
                let client = builder(stack, &server).sleep(sleep.clone()).build().unwrap();
                let error = call(&client, Duration::from_secs(5), |i| i).await.unwrap_err();
                assert_eq!(error.status(), Some(http::StatusCode::TOO_MANY_REQUESTS), "{case}");
                assert!(error.is_retry_safe(), "{case}");
                assert_eq!(server.requests(), attempts, "{stack:?}, Retry-After {case}");
                let waits = sleep.waits();
                assert_eq!(waits.len(), attempts - 1, "{case}: {waits:?}");
                match wait {
                    Some(expected) => assert!(waits.iter().all(|w| *w == expected), "{case}: {waits:?}"),
                    None => {
                        for (n, w) in waits.iter().enumerate() {
                            assert!(*w <= Duration::from_millis(100 << n), "{case}: {waits:?}");
                        }
                    }
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_retry_after_within_the_deadline_is_honoured_up_to_the_policy_cap() {
    both(|stack| async move {
        // A far date, a generous deadline: the wait is clamped to StandardRetry's 20 s cap.
        let server = Server::start(vec![
            Script::reply(http(
                "429 Too Many Requests",
                &[("retry-after", b"Fri, 31 Dec 9999 23:59:59 GMT")],
                b"",
            )),
            Script::reply(ok_with(&[], V1_OK)),
        ])
        .await;
        let sleep = RecordingSleep::default();
        let client = builder(stack, &server).sleep(sleep.clone()).build().unwrap();
        let output = call(&client, Duration::from_secs(60), |i| i).await.unwrap();
        assert_eq!(output.result_str().unwrap(), RESULT);
        assert_eq!(sleep.waits(), [Duration::from_secs(20)]);
        assert_eq!(server.requests(), 2);
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Malformed HTTP and broken connections
// ---------------------------------------------------------------------------------------

/// Each script breaks the exchange after the request arrived: a transport error that
/// says the request may have reached the service, and no second attempt.
#[tokio::test]
async fn broken_responses_are_transport_errors_and_never_resent() {
    let mut long_headers = b"HTTP/1.1 200 OK\r\n".to_vec();
    for n in 0..1024 {
        long_headers.extend_from_slice(format!("x-h{n}: {}\r\n", "v".repeat(1000)).as_bytes());
    }
    long_headers.extend_from_slice(b"\r\n");
    let cases: Vec<(&str, Vec<Step>)> = vec![
        (
            "garbage that is not HTTP",
            vec![Step::Send(b"SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\n".to_vec())],
        ),
        (
            "binary garbage",
            vec![Step::Send((0..=255u8).cycle().take(4096).collect())],
        ),
        (
            "a status line without a code",
            vec![Step::Send(b"HTTP/1.1 OK\r\n\r\n".to_vec())],
        ),
        (
            "HTTP/2 status line on HTTP/1.1",
            vec![Step::Send(b"HTTP/2 200\r\n\r\n".to_vec())],
        ),
        (
            "a header line without a colon",
            vec![Step::Send(b"HTTP/1.1 200 OK\r\nthis is not a header\r\n\r\n".to_vec())],
        ),
        (
            "a NUL byte in a header value",
            vec![Step::Send(
                b"HTTP/1.1 200 OK\r\nx-a: a\0b\r\ncontent-length: 0\r\n\r\n".to_vec(),
            )],
        ),
        (
            "two different Content-Length headers",
            vec![Step::Send(
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 7\r\n\r\nhello!!".to_vec(),
            )],
        ),
        (
            "an invalid chunk size",
            vec![Step::Send(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n".to_vec(),
            )],
        ),
        ("1 MB of headers", vec![Step::Send(long_headers)]),
        (
            "headers that never end",
            vec![
                Step::Send(b"HTTP/1.1 200 OK\r\n".to_vec()),
                Step::Endless(b"x-more: 0123456789012345678901234567890123456789\r\n".to_vec()),
            ],
        ),
        ("closed before any byte of a response", vec![]),
        ("reset before any byte of a response", vec![Step::Reset]),
        (
            "closed during the headers",
            vec![Step::Send(b"HTTP/1.1 200 OK\r\ncontent-ty".to_vec())],
        ),
        (
            "reset during the headers",
            vec![
                Step::Send(b"HTTP/1.1 200 OK\r\ncontent-ty".to_vec()),
                Step::Pause(Duration::from_millis(50)),
                Step::Reset,
            ],
        ),
        (
            "closed after the headers, before the body",
            vec![Step::Send(head("200 OK", &[("content-length", b"38")]))],
        ),
        (
            "reset after the headers, before the body",
            vec![
                Step::Send(head("200 OK", &[("content-length", b"38")])),
                Step::Pause(Duration::from_millis(50)),
                Step::Reset,
            ],
        ),
        (
            "closed mid-body (Content-Length larger than sent)",
            vec![Step::Send(
                [
                    head("200 OK", &[("content-length", b"100")]),
                    br#"{"request_id":"r","#.to_vec(),
                ]
                .concat(),
            )],
        ),
        (
            "reset mid-body",
            vec![
                Step::Send(
                    [
                        head("200 OK", &[("content-length", b"100")]),
                        br#"{"request_id":"r","#.to_vec(),
                    ]
                    .concat(),
                ),
                Step::Pause(Duration::from_millis(50)),
                Step::Reset,
            ],
        ),
        (
            "closed mid-chunk",
            vec![Step::Send(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n40\r\n{\"request_id\"".to_vec(),
            )],
        ),
    ];
    both(|stack| {
        let cases = cases.clone();
        async move {
            for (case, steps) in cases {
                let server = Server::start(vec![Script::after_request(steps)]).await;
                let error = call(&client(stack, &server), QUICK, |i| i).await.expect_err(case);
                assert!(
                    matches!(error, Error::Transport(_)),
                    "{stack:?}, {case}: expected a transport error, got {error:?}"
                );
                assert_transport_maybe_sent(&error);
                assert_ne!(transport_error(&error).kind(), TransportErrorKind::Connect, "{case}");
                // The default policy does not send again what may have run (a re-send would
                // have happened before the call returned, and requests are counted on
                // arrival, before any answer).
                assert_eq!(server.requests(), 1, "{stack:?}, {case}");
                assert_eq!(server.connections(), 1, "{stack:?}, {case}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn only_an_idempotent_call_is_sent_again_after_a_dropped_response() {
    both(|stack| async move {
        // Closed after reading the request, before any byte of a response.
        let server = Server::start(vec![Script::after_request(vec![])]).await;
        let sleep = RecordingSleep::default();
        let client = builder(stack, &server).sleep(sleep.clone()).build().unwrap();
        let error = call(&client, QUICK, |i| i).await.unwrap_err();
        assert_transport_maybe_sent(&error);
        assert_eq!(
            server.requests(),
            1,
            "{stack:?}: a call that may have run was sent again"
        );
        // The same failure for a call declared idempotent: the default policy re-sends it.
        let error = call(&client, QUICK, |i| i.idempotent(true)).await.unwrap_err();
        assert_transport_maybe_sent(&error);
        assert_eq!(server.requests(), 1 + 3, "{stack:?}");
        assert_eq!(sleep.waits().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_rejected_token_is_not_run_and_not_resent() {
    both(|stack| async move {
        let (outcome, server) = call_replying(
            stack,
            http(
                "401 Unauthorized",
                &[("content-type", b"application/json")],
                br#"{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information","request_id":"x"}"#,
            ),
        )
        .await;
        let error = outcome.unwrap_err();
        let service = service_error(&error);
        assert_eq!(service.raw_code(), Some("APIGW.0301"));
        assert_eq!(error.execution(), Execution::NotRun);
        assert!(error.is_retry_safe());
        assert_eq!(classify(&error), Retryability::Permanent);
        // StaticToken cannot renew: no second attempt.
        assert_eq!(server.requests(), 1, "{stack:?}");
    })
    .await;
}

#[tokio::test]
async fn a_connection_reset_on_accept_is_a_transport_error() {
    both(|stack| async move {
        // Reset before reading anything: the request may or may not have been written.
        let server = Server::start(vec![Script::at_once(vec![Step::Reset])]).await;
        let error = call(&client(stack, &server), QUICK, |i| i).await.unwrap_err();
        let transport = transport_error(&error);
        eprintln!(
            "{stack:?}: reset on accept: {error} (connections {})",
            server.connections()
        );
        assert_ne!(transport.kind(), TransportErrorKind::Timeout, "{error:?}");
        // Whatever the transport concludes, the one rule agrees with itself, and a call
        // that may have been delivered is not delivered again.
        assert_eq!(error.is_retry_safe(), transport.delivery() == Delivery::NotSent);
        if transport.delivery() == Delivery::MaybeSent {
            assert_eq!(server.connections(), 1, "{stack:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_refused_connection_sent_nothing_and_is_retry_safe() {
    both(|stack| async move {
        let sleep = RecordingSleep::default();
        let (_socket, port) = refused_port();
        let client = builder_for(stack, format!("http://127.0.0.1:{port}"))
            .sleep(sleep.clone())
            .build()
            .unwrap();
        let error = call(&client, QUICK, |i| i).await.unwrap_err();
        let transport = transport_error(&error);
        assert_eq!(transport.kind(), TransportErrorKind::Connect, "{error:?}");
        assert_eq!(transport.delivery(), Delivery::NotSent);
        assert_eq!(error.execution(), Execution::NotRun);
        assert!(error.is_retry_safe());
        assert_eq!(classify(&error), Retryability::NotExecuted);
        // Retried by the default policy, as nothing can have run.
        assert_eq!(sleep.waits().len(), 2, "{stack:?}");
    })
    .await;
}

#[tokio::test]
async fn lenient_but_valid_http_is_read() {
    both(|stack| async move {
        // HTTP/1.0, no length: the body runs to the end of the connection.
        let mut bytes = b"HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n".to_vec();
        bytes.extend_from_slice(V1_OK);
        let (outcome, _server) = call_replying(stack, bytes).await;
        assert_eq!(outcome.unwrap().result_str().unwrap(), RESULT, "{stack:?}: HTTP/1.0");

        // Bare LF line endings.
        let bytes = [
            format!(
                "HTTP/1.1 200 OK\ncontent-type: application/json\ncontent-length: {}\n\n",
                V1_OK.len()
            )
            .as_bytes(),
            V1_OK,
        ]
        .concat();
        let (outcome, _server) = call_replying(stack, bytes).await;
        assert_eq!(outcome.unwrap().result_str().unwrap(), RESULT, "{stack:?}: bare LF");

        // A chunked body in many one-byte chunks, with trailers.
        let mut bytes = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        for byte in V1_OK {
            bytes.extend_from_slice(b"1\r\n");
            bytes.push(*byte);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\nx-trailer: 1\r\n\r\n");
        let (outcome, _server) = call_replying(stack, bytes).await;
        assert_eq!(outcome.unwrap().result_str().unwrap(), RESULT, "{stack:?}: tiny chunks");
    })
    .await;
}
