//! Errors print well: printed with their causes the way users print them (`anyhow`'s
//! `{:#}`, or a walk along `std::error::Error::source`), every message of an `fgs::Error`
//! appears once; `{}` alone still says what failed and whether anything was sent (or the
//! function ran); no secret and no control character is ever printed.
//!
//! Each error comes from a real failure where one can be had on 127.0.0.1: a refused
//! port, a listener that never answers, a scripted raw-TCP server, the emulator with a
//! fault rule, a function that raised. The rest (every `TransportErrorKind`, a cause with
//! control characters, a hook's error) come through a transport or a hook written here,
//! so they still pass through the client as a transport's failure does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::fmt;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use fgs::async_trait;
use fgs::auth::{AkSkAuth, EnvironmentCredentials, IamTokenAuth, StaticToken};
use fgs::bytes::Bytes;
use fgs::hooks::{Hook, HookContext};
use fgs::retry::NoRetry;
use fgs::transport::HyperTransport;
use fgs::transport::{Delivery, ResponseTooLarge, SendOptions, Transport, TransportError, TransportErrorKind};
use fgs::{Client, ClientBuilder, ConfigError, Error, FunctionUrn, ResponseVersion};
use fgs_emulator::{Emulator, Fault, FaultRule, Function, FunctionError, Handler};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Secrets the clients below hold: none may ever be printed.
const TOKEN: &str = "tok-SECRET-4b1d0c2e";
const SECRET_KEY: &str = "SK-SECRET-9a8b7c6d";
const PASSWORD: &str = "pw-SECRET-correct-horse";
const SECRETS: [&str; 3] = [TOKEN, SECRET_KEY, PASSWORD];

const URN: &str = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const QUICK: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------------------

/// The messages along `error`'s chain: its own `Display`, then each cause's.
fn layers(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut texts = Vec::new();
    let mut next = Some(error);
    while let Some(current) = next {
        texts.push(current.to_string());
        assert!(texts.len() < 64, "a chain that does not end: {texts:?}");
        next = current.source();
    }
    texts
}

/// Asserts everything this file is about for one error:
/// 1. along the chain (a `source()` walk, and `anyhow`'s `{:#}`, which must be that chain
///    joined by `: `) no message contains the text of a cause after it, so nothing is
///    printed twice;
/// 2. `{}` alone says each of `says` (what failed, whether anything was sent or ran);
/// 3. no secret appears in `{}`, `{:#}` or `{:?}`, and no control character in `{:#}`.
///
/// Returns `{:#}`, for the case to check more.
fn check(case: &str, error: Error, says: &[&str]) -> String {
    let chain = layers(&error);
    for (i, outer) in chain.iter().enumerate() {
        for inner in &chain[i + 1..] {
            assert!(
                !outer.contains(inner.as_str()),
                "{case}: the message {outer:?} repeats its cause {inner:?}; the whole chain: {chain:#?}"
            );
        }
    }
    let display = error.to_string();
    let debug = format!("{error:?}");
    let any = anyhow::Error::new(error);
    let alternate = format!("{any:#}");
    // Shown with `--nocapture`: what users see.
    eprintln!("{case}\n  {{}}   {display}\n  {{:#}} {alternate}");
    assert_eq!(
        alternate,
        chain.join(": "),
        "{case}: anyhow's {{:#}} is the source chain"
    );
    assert_eq!(any.to_string(), display, "{case}");
    assert_eq!(any.chain().count(), chain.len(), "{case}");
    for phrase in says {
        assert!(
            display.contains(phrase),
            "{case}: {{}} should say {phrase:?}, it is {display:?}"
        );
    }
    for secret in SECRETS {
        for shown in [&display, &alternate, &debug] {
            assert!(!shown.contains(secret), "{case}: a secret is printed: {shown}");
        }
    }
    assert!(
        !alternate.chars().any(char::is_control),
        "{case}: a control character is printed: {alternate:?}"
    );
    alternate
}

// ---------------------------------------------------------------------------------------
// Servers and clients
// ---------------------------------------------------------------------------------------

/// What a scripted server does after reading a request.
#[derive(Clone)]
enum Answer {
    /// Writes these bytes and closes.
    Bytes(Vec<u8>),
    /// Resets the connection (`SO_LINGER` 0).
    Reset,
    /// Never answers (until the client goes away, or 60 s).
    Silence,
}

/// A raw-TCP server on 127.0.0.1 that reads each request's head and body, then answers
/// with `answer`.
struct Scripted {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Scripted {
    async fn start(answer: Answer) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(play(stream, answer.clone()));
            }
        });
        Scripted { addr, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn play(mut stream: TcpStream, answer: Answer) {
    if !read_request(&mut stream).await {
        return;
    }
    match answer {
        Answer::Bytes(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Answer::Reset => {
            stream.set_zero_linger().unwrap();
            drop(stream);
        }
        Answer::Silence => {
            let mut sink = [0u8; 4096];
            let wait = async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} };
            let _ = tokio::time::timeout(Duration::from_secs(60), wait).await;
        }
    }
}

/// Reads one request, head and `Content-Length` body; false when the client went away.
async fn read_request(stream: &mut TcpStream) -> bool {
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .filter_map(|line| line.strip_prefix("content-length:"))
                .find_map(|value| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                return true;
            }
        }
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => return false,
        }
    }
}

/// A complete response: status line, headers, `content-length`, `connection: close`, body.
fn http(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A port on 127.0.0.1 that refuses connections while the socket lives (bound, never
/// listening).
fn refused_port() -> (TcpSocket, u16) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

/// The HTTP stacks a transport failure is checked with.
#[derive(Clone, Copy, Debug)]
enum Stack {
    Reqwest,
    Hyper,
}

const STACKS: [Stack; 2] = [Stack::Reqwest, Stack::Hyper];

/// A client of `stack` for `url`, with a static token and no retries.
fn client_for(stack: Stack, url: &str) -> Client {
    let builder = Client::builder()
        .endpoint_url(url)
        .auth(StaticToken::new(TOKEN))
        .connect_timeout(CONNECT_TIMEOUT)
        .retry_policy(NoRetry);
    let builder = match stack {
        Stack::Reqwest => builder,
        Stack::Hyper => builder.transport(HyperTransport::new(CONNECT_TIMEOUT).unwrap()),
    };
    builder.build().unwrap()
}

fn urn() -> FunctionUrn {
    URN.parse().unwrap()
}

/// Invokes [`URN`] through `client` within `timeout` and returns the error.
async fn invoke_error(client: &Client, timeout: Duration) -> Error {
    let urn = urn();
    let outcome = tokio::time::timeout(timeout * 3, client.invoke(&urn).timeout(timeout).send())
        .await
        .expect("the call hung");
    outcome.expect_err("the call should fail")
}

const EMULATOR_TOKEN: &str = TOKEN;

async fn emulator() -> Emulator {
    let raises = Handler::from_fn(|_, _| async { Err(FunctionError::new("ValueError", "bad input")) });
    let gateway = Handler::from_fn(|_, _| async {
        Ok(json!({ "statusCode": 503, "headers": {}, "body": "the upstream is down", "isBase64Encoded": false }))
    });
    let echo = Handler::from_fn(|event, _| async move { Ok(event) });
    Emulator::builder()
        .token(EMULATOR_TOKEN)
        .function(Function::new("default", "raises", raises))
        .function(Function::new("default", "gateway", gateway))
        .function(Function::new("default", "echo", echo))
        .start()
        .await
        .unwrap()
}

fn emulator_builder(emulator: &Emulator) -> ClientBuilder {
    Client::builder()
        .endpoint_url(emulator.endpoint())
        .region(emulator.region())
        .project_id(emulator.project_id())
        .auth(StaticToken::new(TOKEN))
        .retry_policy(NoRetry)
}

fn emulator_urn(emulator: &Emulator, name: &str) -> FunctionUrn {
    emulator.urn("default", name, None).parse().unwrap()
}

/// A cause with a cause, like the layers of an HTTP stack's error.
#[derive(Debug)]
struct Cause {
    text: String,
    source: Option<Box<Cause>>,
}

impl Cause {
    fn chain<S: AsRef<str>>(texts: &[S]) -> Cause {
        let (first, rest) = texts.split_first().unwrap();
        Cause {
            text: first.as_ref().to_owned(),
            source: (!rest.is_empty()).then(|| Box::new(Cause::chain(rest))),
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A transport that fails every request with the next of its errors.
#[derive(Debug)]
struct Failing(Mutex<Vec<TransportError>>);

#[async_trait]
impl Transport for Failing {
    async fn send(
        &self,
        _request: fgs::http::Request<Bytes>,
        _options: &SendOptions,
    ) -> Result<fgs::http::Response<Bytes>, TransportError> {
        Err(self.0.lock().unwrap().remove(0))
    }
}

/// The error a client gets when its transport fails with `error`.
async fn through_transport(error: TransportError) -> Error {
    let client = Client::builder()
        .region("cn-north-4")
        .auth(StaticToken::new(TOKEN))
        .transport(Failing(Mutex::new(vec![error])))
        .retry_policy(NoRetry)
        .build()
        .unwrap();
    invoke_error(&client, QUICK).await
}

// ---------------------------------------------------------------------------------------
// Transport failures over real TCP, with both stacks
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_refused_connection() {
    let (_held, port) = refused_port();
    for stack in STACKS {
        let client = client_for(stack, &format!("http://127.0.0.1:{port}"));
        let error = invoke_error(&client, QUICK).await;
        assert!(
            matches!(&error, Error::Transport(e) if e.kind() == TransportErrorKind::Connect),
            "{error:?}"
        );
        let shown = check(
            &format!("refused ({stack:?})"),
            error,
            &["could not connect", "the request was not sent"],
        );
        // The operating system's reason is there, once, as the deepest cause.
        assert!(shown.to_lowercase().contains("refused"), "{shown}");
    }
}

#[tokio::test]
async fn a_listener_that_never_answers() {
    let server = Scripted::start(Answer::Silence).await;
    for stack in STACKS {
        let error = invoke_error(&client_for(stack, &server.url()), Duration::from_secs(1)).await;
        assert!(
            matches!(&error, Error::Timeout(e) if e.delivery() == Delivery::MaybeSent),
            "{error:?}"
        );
        check(
            &format!("timeout ({stack:?})"),
            error,
            &["timed out", "the request may have reached the service"],
        );
    }
}

#[tokio::test]
async fn a_connection_reset_after_the_request() {
    let server = Scripted::start(Answer::Reset).await;
    for stack in STACKS {
        let error = invoke_error(&client_for(stack, &server.url()), QUICK).await;
        assert!(
            matches!(&error, Error::Transport(e) if e.delivery() == Delivery::MaybeSent),
            "{error:?}"
        );
        check(
            &format!("reset ({stack:?})"),
            error,
            &["the request may have reached the service"],
        );
    }
}

#[tokio::test]
async fn garbage_instead_of_a_response() {
    let server = Scripted::start(Answer::Bytes(b"HTTP/1.1 two hundred OK\r\n\r\n".to_vec())).await;
    for stack in STACKS {
        let error = invoke_error(&client_for(stack, &server.url()), QUICK).await;
        assert!(matches!(&error, Error::Transport(_)), "{error:?}");
        check(
            &format!("garbage ({stack:?})"),
            error,
            &["the request may have reached the service"],
        );
    }
}

// ---------------------------------------------------------------------------------------
// Responses that are errors
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_service_error_from_a_fault_rule() {
    let emulator = emulator().await;
    emulator.inject(FaultRule::once(Fault::error(500, "FSS.0500", "Internal server error")));
    let client = emulator_builder(&emulator).build().unwrap();
    let error = client.invoke(emulator_urn(&emulator, "echo")).send().await.unwrap_err();
    assert!(matches!(&error, Error::Service(_)), "{error:?}");
    check(
        "service error",
        error,
        &[
            "FSS.0500",
            "HTTP 500",
            "Internal server error",
            "the function may have run",
        ],
    );
}

#[tokio::test]
async fn a_refused_token() {
    let emulator = emulator().await;
    let client = emulator_builder(&emulator)
        .auth(StaticToken::new(format!("{TOKEN}-but-wrong")))
        .build()
        .unwrap();
    let error = client.invoke(emulator_urn(&emulator, "echo")).send().await.unwrap_err();
    assert!(matches!(&error, Error::Service(e) if e.status() == 401), "{error:?}");
    check("refused token", error, &["HTTP 401", "the function did not run"]);
}

#[tokio::test]
async fn a_malformed_response() {
    let body = br#"{"request_id":"r","result":"#;
    let server = Scripted::start(Answer::Bytes(http(
        "200 OK",
        &[("content-type", "application/json")],
        body,
    )))
    .await;
    for stack in STACKS {
        let error = invoke_error(&client_for(stack, &server.url()), QUICK).await;
        assert!(matches!(&error, Error::Decode(_)), "{error:?}");
        let shown = check(
            &format!("malformed ({stack:?})"),
            error,
            &["cannot decode", "HTTP 200", "the function ran"],
        );
        // The JSON error is the cause, once.
        assert!(shown.contains("EOF"), "{shown}");
    }
}

#[tokio::test]
async fn a_redirect() {
    let server = Scripted::start(Answer::Bytes(http(
        "307 Temporary Redirect",
        &[("location", "http://127.0.0.1:1/elsewhere")],
        b"",
    )))
    .await;
    let error = invoke_error(&client_for(Stack::Reqwest, &server.url()), QUICK).await;
    assert!(matches!(&error, Error::Decode(_)), "{error:?}");
    check(
        "redirect",
        error,
        &["redirect", "HTTP 307", "the function may have run"],
    );
}

#[tokio::test]
async fn a_result_that_is_not_the_type_asked_for() {
    // Server text with terminal escapes, quoted by serde in its error: kept out of `{:#}`.
    let body = json!({ "request_id": "r", "result": r#""\u001b[2J\u0007evil""# }).to_string();
    let server = Scripted::start(Answer::Bytes(http(
        "200 OK",
        &[("content-type", "application/json")],
        body.as_bytes(),
    )))
    .await;
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)] // only ever refused
    enum Verdict {
        Yes,
        No,
    }
    let output = client_for(Stack::Reqwest, &server.url())
        .invoke(urn())
        .send()
        .await
        .unwrap();
    let error = output.result_json::<Verdict>().unwrap_err();
    assert!(matches!(&error, Error::Decode(_)), "{error:?}");
    let shown = check("unknown variant", error, &["cannot decode", "the function ran"]);
    assert!(shown.contains("unknown variant"), "{shown}");
    assert!(shown.contains("evil"), "{shown}");
}

#[tokio::test]
async fn an_oversized_response() {
    let server = Scripted::start(Answer::Bytes(http(
        "200 OK",
        &[("content-type", "application/json")],
        &[b'x'; 4096],
    )))
    .await;
    for stack in STACKS {
        let urn = urn();
        let error = client_for(stack, &server.url())
            .invoke(&urn)
            .max_response_bytes(100)
            .send()
            .await
            .unwrap_err();
        assert!(matches!(&error, Error::ResponseTooLarge(_)), "{error:?}");
        check(
            &format!("too large ({stack:?})"),
            error,
            &["HTTP 200", "100 bytes", "the function ran"],
        );
    }
}

#[tokio::test]
async fn a_function_that_raised() {
    let emulator = emulator().await;
    let client = emulator_builder(&emulator).build().unwrap();
    let output = client.invoke(emulator_urn(&emulator, "raises")).send().await.unwrap();
    let error = output.into_result::<serde_json::Value>().unwrap_err();
    assert!(matches!(&error, Error::Function(_)), "{error:?}");
    check("raised", error, &["the function raised", "ValueError", "bad input"]);
}

#[tokio::test]
async fn a_function_that_answered_an_error_status() {
    let emulator = emulator().await;
    let client = emulator_builder(&emulator).build().unwrap();
    let output = client.invoke(emulator_urn(&emulator, "gateway")).send().await.unwrap();
    let error = output.into_api_gateway_result::<serde_json::Value>().unwrap_err();
    assert!(matches!(&error, Error::FunctionStatus(_)), "{error:?}");
    check(
        "function status",
        error,
        &["the function answered HTTP 503", "the upstream is down"],
    );
}

// ---------------------------------------------------------------------------------------
// Nothing sent: input, configuration, credentials
// ---------------------------------------------------------------------------------------

const NOTHING_SENT: &str = "invalid input, nothing was sent: ";

#[test]
fn a_bad_urn() {
    let error = Error::from("urn:fss:cn-north-4:nope".parse::<FunctionUrn>().unwrap_err());
    assert!(
        matches!(&error, Error::InvalidInput(fgs::InvalidInput::Urn(_))),
        "{error:?}"
    );
    check("bad URN", error, &[NOTHING_SENT, "invalid function URN"]);
}

#[tokio::test]
async fn every_invalid_input() {
    // The port refuses: a request that got as far as the transport would fail to connect.
    let (_held, port) = refused_port();
    let client = client_for(Stack::Reqwest, &format!("http://127.0.0.1:{port}"));
    let urn = urn();

    let too_large = client
        .invoke(&urn)
        .body(vec![b'x'; 6 * 1024 * 1024 + 1])
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            &too_large,
            Error::InvalidInput(fgs::InvalidInput::PayloadTooLarge { .. })
        ),
        "{too_large:?}"
    );
    check("payload too large", too_large, &[NOTHING_SENT, "accepts at most"]);

    struct Unserialisable;
    impl serde::Serialize for Unserialisable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("this value refuses to be JSON"))
        }
    }
    let serialize = client.invoke(&urn).json(&Unserialisable).send().await.unwrap_err();
    assert!(
        matches!(&serialize, Error::InvalidInput(fgs::InvalidInput::Serialize(_))),
        "{serialize:?}"
    );
    let shown = check("serialize", serialize, &[NOTHING_SENT, "cannot be serialised as JSON"]);
    assert!(shown.ends_with(": this value refuses to be JSON"), "{shown}");

    let header = client
        .invoke(&urn)
        .response_version(ResponseVersion::from("v1\nx-injected: 1"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&header, Error::InvalidInput(fgs::InvalidInput::Header(_))),
        "{header:?}"
    );
    check("header", header, &[NOTHING_SENT, "not a valid header value"]);

    let elsewhere: FunctionUrn = URN.replace("cn-north-4", "ap-southeast-1").parse().unwrap();
    let regional = Client::builder()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .region("cn-north-4")
        .auth(StaticToken::new(TOKEN))
        .build()
        .unwrap();
    let wrong_region = regional.invoke(&elsewhere).send().await.unwrap_err();
    assert!(
        matches!(
            &wrong_region,
            Error::InvalidInput(fgs::InvalidInput::WrongRegion { .. })
        ),
        "{wrong_region:?}"
    );
    check(
        "wrong region",
        wrong_region,
        &[NOTHING_SENT, "ap-southeast-1", "cn-north-4"],
    );
}

/// A hook that refuses every request, with a cause.
#[derive(Debug)]
struct Refusing;

impl Hook for Refusing {
    fn before_send(
        &self,
        _request: &mut fgs::http::Request<Bytes>,
        _context: &HookContext<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Err(Box::new(Cause::chain(&[
            "the policy forbids this function",
            "policy file line 3",
        ])))
    }
}

#[tokio::test]
async fn a_hook_that_refuses() {
    let (_held, port) = refused_port();
    let client = Client::builder()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .auth(StaticToken::new(TOKEN))
        .hook(Refusing)
        .build()
        .unwrap();
    let error = invoke_error(&client, QUICK).await;
    assert!(
        matches!(&error, Error::InvalidInput(fgs::InvalidInput::Hook(_))),
        "{error:?}"
    );
    let shown = check("hook", error, &[NOTHING_SENT, "a hook refused the request"]);
    assert_eq!(
        shown,
        "invalid input, nothing was sent: a hook refused the request: the policy forbids this function: policy \
         file line 3"
    );
}

#[test]
fn a_configuration_error() {
    let error = Error::from(Client::builder().build().unwrap_err());
    assert!(matches!(&error, Error::Config(_)), "{error:?}");
    check("config", error, &["invalid client configuration: "]);

    // A cause with control characters and a long chain is kept printable and bounded.
    let causes: Vec<String> = std::iter::once("a cause with \u{1b}[31mescapes\u{7}".to_owned())
        .chain((1..=40).map(|i| format!("deeper cause #{i}.")))
        .collect();
    let error = Error::from(ConfigError::new("proxy cannot be used").with_source(Cause::chain(&causes)));
    let chain_length = layers(&error).len();
    let shown = check(
        "config with a cause",
        error,
        &["invalid client configuration: proxy cannot be used"],
    );
    assert!(
        shown.contains(": a cause with [31mescapes: deeper cause #1.: "),
        "{shown}"
    );
    assert!(chain_length < 20, "{chain_length} causes are printed: {shown}");
}

#[tokio::test]
async fn credentials_that_are_missing() {
    let (_held, port) = refused_port();
    let client = Client::builder()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .region("cn-north-4")
        .project_id("0123456789abcdef0123456789abcdef")
        .auth(AkSkAuth::new(EnvironmentCredentials::from_lookup(|_| None)))
        .build()
        .unwrap();
    let error = invoke_error(&client, QUICK).await;
    assert!(matches!(&error, Error::Auth(_)), "{error:?}");
    check(
        "missing credentials",
        error,
        &["could not authenticate, nothing was sent: ", "HUAWEICLOUD_SDK_AK"],
    );

    // Present but with a secret key the client holds: never printed.
    let with_key = Client::builder()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .region("cn-north-4")
        .project_id("0123456789abcdef0123456789abcdef")
        .auth(AkSkAuth::new(EnvironmentCredentials::from_lookup(|name| {
            (name == "HUAWEICLOUD_SDK_SK").then(|| SECRET_KEY.to_owned())
        })))
        .build()
        .unwrap();
    let error = invoke_error(&with_key, QUICK).await;
    check(
        "missing access key",
        error,
        &["could not authenticate, nothing was sent: "],
    );
}

#[tokio::test]
async fn an_identity_service_that_cannot_be_reached() {
    let (_held, port) = refused_port();
    let iam = IamTokenAuth::builder()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .password("acme", "alice", PASSWORD)
        .project_name("cn-north-4")
        .build()
        .unwrap();
    let client = Client::builder()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .region("cn-north-4")
        .project_id("0123456789abcdef0123456789abcdef")
        .auth(iam)
        .retry_policy(NoRetry)
        .build()
        .unwrap();
    let error = invoke_error(&client, QUICK).await;
    assert!(matches!(&error, Error::Auth(_)), "{error:?}");
    let shown = check(
        "IAM unreachable",
        error,
        &["could not authenticate, nothing was sent: ", "IAM"],
    );
    // The IAM request's own failure follows, once: what failed, then why.
    assert!(
        shown.contains(": could not connect (the request was not sent): "),
        "{shown}"
    );
}

// ---------------------------------------------------------------------------------------
// Every kind of transport failure, through a transport of our own
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_transport_error_kind() {
    let causes = || Cause::chain(&["error sending request", "client error (Connect)", "tcp connect error"]);
    let cases = [
        (
            TransportError::connect(causes()),
            "could not connect",
            "the request was not sent",
        ),
        (
            TransportError::timeout(Delivery::NotSent, causes()),
            "timed out",
            "the request was not sent",
        ),
        (
            TransportError::timeout(Delivery::MaybeSent, causes()),
            "timed out",
            "the request may have reached the service",
        ),
        (
            TransportError::io(Delivery::MaybeSent, causes()),
            "connection failed",
            "the request may have reached the service",
        ),
        (
            TransportError::other(Delivery::NotSent, causes()),
            "request failed",
            "the request was not sent",
        ),
    ];
    for (transport, what, sent) in cases {
        let kind = transport.kind();
        let error = through_transport(transport).await;
        let shown = check(&format!("{kind:?}"), error, &[what, sent]);
        assert!(
            shown.ends_with(": error sending request: client error (Connect): tcp connect error"),
            "{shown}"
        );
    }

    let too_large = TransportError::response_too_large(ResponseTooLarge {
        status: fgs::http::StatusCode::OK,
        headers: fgs::http::HeaderMap::new(),
        limit: 100,
        announced: Some(4096),
    });
    let error = through_transport(too_large).await;
    assert!(matches!(&error, Error::ResponseTooLarge(_)), "{error:?}");
    check("too large", error, &["4096 bytes", "the function ran"]);

    // A transport's cause with control characters: printable in `{:#}`.
    let hostile = TransportError::io(
        Delivery::MaybeSent,
        Cause::chain(&["the server said \u{1b}]0;owned\u{7}", "\r\nsecond line"]),
    );
    let shown = check(
        "hostile cause",
        through_transport(hostile).await,
        &["connection failed"],
    );
    assert!(shown.ends_with(": the server said ]0;owned:  second line"), "{shown}");
}
