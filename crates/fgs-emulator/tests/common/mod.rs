//! Shared helpers: a hand-written HTTP/1.1 client over `tokio::net::TcpStream`, request
//! builders for the invoke API, AK/SK signing, and assertions on the error shapes.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use fgs_emulator::{Emulator, Function, Handler};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The token every test emulator accepts.
pub const TOKEN: &str = "test-token-0123";

/// How long any single response may take before a test fails.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics with the body text if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `result` of a v1 body, parsed as JSON.
    pub fn v1_result(&self) -> Value {
        let body = self.json();
        let text = body["result"]
            .as_str()
            .unwrap_or_else(|| panic!("no string result in {body}"));
        serde_json::from_str(text).unwrap_or_else(|e| panic!("result is not JSON ({e}): {text}"))
    }

    /// The `X-Cff-Invoke-Summary` header, parsed.
    pub fn summary(&self) -> Value {
        let header = self
            .header("x-cff-invoke-summary")
            .expect("X-Cff-Invoke-Summary header");
        serde_json::from_str(header).unwrap_or_else(|e| panic!("summary is not JSON ({e}): {header}"))
    }
}

/// The head of a response.
#[derive(Debug)]
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn content_length(&self) -> Option<usize> {
        self.header("content-length")
            .map(|v| v.parse().expect("numeric Content-Length"))
    }
}

/// One client connection with a read buffer.
pub struct Conn<S = TcpStream> {
    stream: S,
    buf: Vec<u8>,
}

impl Conn<TcpStream> {
    pub async fn connect(addr: SocketAddr) -> Conn {
        assert!(addr.ip().is_loopback(), "tests only talk to loopback, not {addr}");
        Conn::new(TcpStream::connect(addr).await.expect("connect to the emulator"))
    }
}

impl<S> Conn<S> {
    pub fn new(stream: S) -> Conn<S> {
        Conn {
            stream,
            buf: Vec::new(),
        }
    }
}

impl<S: AsyncWrite + Unpin> Conn<S> {
    pub async fn write_all(&mut self, data: &[u8]) {
        self.stream.write_all(data).await.expect("write the request");
        self.stream.flush().await.expect("flush the request");
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    /// Writes a request and reads one response.
    pub async fn send(&mut self, request: &[u8]) -> Response {
        self.write_all(request).await;
        tokio::time::timeout(RESPONSE_TIMEOUT, self.read_response())
            .await
            .expect("a response within 10 s")
    }
}

impl<S: AsyncRead + Unpin> Conn<S> {
    /// Reads more bytes into the buffer; `false` on EOF or a connection error.
    async fn fill(&mut self) -> bool {
        // On the heap: a large array would make every future holding this one large.
        let mut chunk = vec![0u8; 64 * 1024];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    async fn fill_or_panic(&mut self) {
        assert!(
            self.fill().await,
            "connection closed early; have {:?}",
            String::from_utf8_lossy(&self.buf)
        );
    }

    /// Reads a status line and headers, leaving anything after them buffered.
    pub async fn read_head(&mut self) -> Head {
        let end = loop {
            if let Some(pos) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos;
            }
            self.fill_or_panic().await;
        };
        let head = String::from_utf8(self.buf[..end].to_vec()).expect("response head is UTF-8");
        self.buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("status line");
        assert!(status_line.starts_with("HTTP/1.1 "), "bad status line {status_line:?}");
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        let headers = lines
            .map(|line| {
                let (name, value) = line
                    .split_once(':')
                    .unwrap_or_else(|| panic!("bad header line {line:?}"));
                (name.trim().to_owned(), value.trim().to_owned())
            })
            .collect();
        Head { status, headers }
    }

    /// Reads exactly `n` bytes.
    async fn read_exact_buffered(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill_or_panic().await;
        }
        self.buf.drain(..n).collect()
    }

    async fn read_line(&mut self) -> String {
        let end = loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                break pos;
            }
            self.fill_or_panic().await;
        };
        let line = String::from_utf8(self.buf[..end].to_vec()).expect("UTF-8 line");
        self.buf.drain(..end + 2);
        line
    }

    /// Reads one full response (Content-Length, chunked, or until EOF).
    pub async fn read_response(&mut self) -> Response {
        let head = self.read_head().await;
        let chunked = head
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        let body = if let Some(length) = head.content_length() {
            self.read_exact_buffered(length).await
        } else if chunked {
            let mut body = Vec::new();
            loop {
                let line = self.read_line().await;
                let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                    .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
                if size == 0 {
                    // Trailers until the empty line.
                    while !self.read_line().await.is_empty() {}
                    break;
                }
                body.extend(self.read_exact_buffered(size).await);
                assert_eq!(self.read_line().await, "", "chunk not followed by CRLF");
            }
            body
        } else {
            self.read_to_close().await
        };
        Response {
            status: head.status,
            headers: head.headers,
            body,
        }
    }

    /// The next bytes available: buffered ones first, else one read; `None` at EOF.
    pub async fn next_bytes(&mut self) -> Option<Vec<u8>> {
        if self.buf.is_empty() && !self.fill().await {
            return None;
        }
        Some(std::mem::take(&mut self.buf))
    }

    /// Everything until the peer closes (or resets) the connection.
    pub async fn read_to_close(&mut self) -> Vec<u8> {
        while self.fill().await {}
        std::mem::take(&mut self.buf)
    }
}

/// Builds a request. `Host` and `Content-Length` are added unless given (no
/// `Content-Length` either when `Transfer-Encoding` is given).
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !has("host") {
        head.push_str("Host: 127.0.0.1\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !has("content-length") && !has("transfer-encoding") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Sends one request on a new connection.
pub async fn send(addr: SocketAddr, request: &[u8]) -> Response {
    Conn::connect(addr).await.send(request).await
}

/// Sends a (large) request while reading the response at the same time, so that a
/// server answering before it has read everything cannot deadlock the test.
pub async fn send_while_reading(addr: SocketAddr, request: Vec<u8>) -> Response {
    assert!(addr.ip().is_loopback());
    let stream = TcpStream::connect(addr).await.expect("connect to the emulator");
    let (read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        // The server may stop reading and close: write errors are expected then.
        let _ = write.write_all(&request).await;
        let _ = write.flush().await;
        write
    });
    let mut conn = Conn::new(read);
    let response = tokio::time::timeout(RESPONSE_TIMEOUT, conn.read_response())
        .await
        .expect("a response within 10 s");
    writer.abort();
    response
}

/// The invoke path with the URN percent-encoded (as the Python SDK sends it).
pub fn invoke_path(emulator: &Emulator, package: &str, name: &str, qualifier: Option<&str>) -> String {
    let urn = emulator.urn(package, name, qualifier);
    format!(
        "/v2/{}/fgs/functions/{}/invocations",
        emulator.project_id(),
        fgs_urn::encode_path_segment(&urn)
    )
}

/// The invoke path with the URN's `:` as is (as Go and Node send it).
pub fn raw_invoke_path(emulator: &Emulator, package: &str, name: &str, qualifier: Option<&str>) -> String {
    format!(
        "/v2/{}/fgs/functions/{}/invocations",
        emulator.project_id(),
        emulator.urn(package, name, qualifier)
    )
}

/// The asynchronous counterpart of an invoke path.
pub fn async_path(path: &str) -> String {
    path.strip_suffix("/invocations")
        .map(|p| format!("{p}/invocations-async"))
        .expect("an invoke path")
}

/// POSTs `body` to `path` with the test token, JSON content type and `headers`.
pub async fn invoke(emulator: &Emulator, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let mut all = vec![("X-Auth-Token", TOKEN), ("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    send(emulator.addr(), &request("POST", path, &all, body)).await
}

/// Invokes with the v1 envelope and the log tail.
pub async fn invoke_v1(emulator: &Emulator, path: &str, body: &[u8]) -> Response {
    invoke(
        emulator,
        path,
        &[("X-CFF-Request-Version", "v1"), ("X-Cff-Log-Type", "tail")],
        body,
    )
    .await
}

/// Starts an emulator accepting [`TOKEN`] with these functions.
pub async fn start(functions: impl IntoIterator<Item = Function>) -> Emulator {
    let mut builder = Emulator::builder().token(TOKEN);
    for function in functions {
        builder = builder.function(function);
    }
    builder.start().await.expect("start the emulator")
}

/// A handler returning its event.
pub fn echo() -> Handler {
    Handler::from_fn(|event, _ctx| async move { Ok(event) })
}

/// A handler returning a constant.
pub fn constant(value: Value) -> Handler {
    Handler::from_fn(move |_event, _ctx| {
        let value = value.clone();
        async move { Ok(value) }
    })
}

/// Asserts a FunctionGraph error: status, JSON `{error_code, error_msg}` without
/// `request_id`, and an `X-Cff-Request-Id`.
pub fn assert_fss_error(response: &Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    let id = response
        .header("x-cff-request-id")
        .expect("X-Cff-Request-Id on an FSS error");
    assert_eq!(
        id.split('-').map(str::len).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12],
        "{id}"
    );
    let body = response.json();
    assert_eq!(body["error_code"], code, "{body}");
    assert!(body["error_msg"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body.get("request_id").is_none(), "{body}");
    body
}

/// Asserts an API gateway error: status, code, and `request_id` equal to `X-Request-Id`.
pub fn assert_gateway_error(response: &Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body = response.json();
    assert_eq!(body["error_code"], code, "{body}");
    assert!(body["error_msg"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    let id = response
        .header("x-request-id")
        .expect("X-Request-Id on a gateway error");
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_eq!(body["request_id"], id, "{body}");
    body
}

/// An AK/SK key pair to sign with.
pub struct Signer<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    /// Sent (and signed) as `X-Security-Token`.
    pub security_token: Option<&'a str>,
    /// The signing time (`X-Sdk-Date`).
    pub time: SystemTime,
}

impl<'a> Signer<'a> {
    pub fn new(access_key: &'a str, secret_key: &'a str) -> Self {
        Signer {
            access_key,
            secret_key,
            security_token: None,
            time: SystemTime::now(),
        }
    }

    /// The headers of a signed `POST path` with `body` to `emulator`, `Authorization`
    /// included, as name/value pairs to pass to [`request`].
    pub fn headers(&self, emulator: &Emulator, path: &str, body: &[u8]) -> Vec<(String, String)> {
        self.headers_for(&Method::POST, emulator, path, body)
    }

    /// The headers of a signed `method path` with `body` to `emulator`, as
    /// [`headers`](Self::headers).
    pub fn headers_for(&self, method: &Method, emulator: &Emulator, path: &str, body: &[u8]) -> Vec<(String, String)> {
        let sdk_date = fgs_signing::format_sdk_date(self.time);
        let mut headers = HeaderMap::new();
        let mut put = |name: HeaderName, value: &str| {
            headers.insert(name, HeaderValue::from_str(value).expect("valid header value"));
        };
        put(http::header::HOST, &emulator.addr().to_string());
        put(http::header::CONTENT_TYPE, "application/json");
        put(fgs_signing::SDK_DATE, &sdk_date);
        put(fgs_signing::PROJECT_ID, emulator.project_id());
        if let Some(token) = self.security_token {
            put(fgs_signing::SECURITY_TOKEN, token);
        }
        let uri: Uri = path.parse().expect("a valid request target");
        let signed = fgs_signing::sign(
            method,
            &uri,
            &headers,
            body,
            self.access_key,
            self.secret_key.as_bytes(),
            &sdk_date,
        )
        .expect("sign the request");
        let mut pairs: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.to_str().expect("ASCII").to_owned()))
            .collect();
        pairs.push(("Authorization".to_owned(), signed.authorization));
        pairs
    }
}

/// Builds a request from owned header pairs.
pub fn request_owned(method: &str, path: &str, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    request(method, path, &borrowed, body)
}

/// Whether `sh` can be run (command handlers need it).
///
/// Without `sh` the calling test fails, saying why (a skip printed into captured output
/// would show as `ok`), unless `FGS_SKIP_SH=1` is set: then this prints `SKIPPED` and
/// returns `false`, and the caller returns without running.
pub fn has_sh() -> bool {
    let ok = std::process::Command::new("sh")
        .arg("-c")
        .arg("true")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("FGS_SKIP_SH").is_ok_and(|v| v == "1"),
            "command functions need `sh` on PATH, which cannot be run here; set FGS_SKIP_SH=1 to skip \
             these tests on purpose"
        );
        println!("SKIPPED (FGS_SKIP_SH=1): `sh` is not available");
    }
    ok
}

/// Runs `future` and returns its output with the time it took.
pub async fn timed<F: std::future::Future>(future: F) -> (F::Output, Duration) {
    let started = Instant::now();
    let output = future.await;
    (output, started.elapsed())
}
