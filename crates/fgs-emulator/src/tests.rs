//! Tests talking to the server over real TCP with hand-written HTTP/1.1.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::net::TcpStream;

use crate::{Invocation, LocalFunctionGraph, Outcome};

/// One client connection, reading responses framed by `Content-Length`.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

#[derive(Debug)]
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

impl Conn {
    async fn connect(addr: SocketAddr) -> Conn {
        Conn {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    async fn write_all(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            self.stream.writable().await.unwrap();
            match self.stream.try_write(data) {
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("write failed: {e}"),
            }
        }
    }

    /// Reads more bytes into the buffer; panics on EOF.
    async fn fill(&mut self) {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            self.stream.readable().await.unwrap();
            match self.stream.try_read(&mut chunk) {
                Ok(0) => panic!("connection closed; have {:?}", String::from_utf8_lossy(&self.buf)),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    async fn read_response(&mut self) -> RawResponse {
        let head_end = loop {
            if let Some(pos) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos;
            }
            self.fill().await;
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.trim().to_owned(), value.trim().to_owned())
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().unwrap())
            .expect("responses carry Content-Length");
        let start = head_end + 4;
        while self.buf.len() < start + length {
            self.fill().await;
        }
        let body = self.buf[start..start + length].to_vec();
        self.buf.drain(..start + length);
        RawResponse { status, headers, body }
    }

    async fn send(&mut self, request: &[u8]) -> RawResponse {
        self.write_all(request).await;
        tokio::time::timeout(Duration::from_secs(10), self.read_response())
            .await
            .expect("response within 10 s")
    }
}

/// Builds a request with `Host` and (unless given) `Content-Length`.
fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-length")) {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

async fn send(server: &LocalFunctionGraph, request: &[u8]) -> RawResponse {
    Conn::connect(server.addr()).await.send(request).await
}

const AUTH: (&str, &str) = ("X-Auth-Token", LocalFunctionGraph::TOKEN);

/// The invocation path with the URN percent-encoded.
fn invoke_path(server: &LocalFunctionGraph, package: &str, name: &str, qualifier: Option<&str>) -> String {
    let urn = server.urn(package, name, qualifier);
    format!(
        "/v2/{}/fgs/functions/{}/invocations",
        LocalFunctionGraph::PROJECT_ID,
        fgs_urn::encode_path_segment(&urn)
    )
}

/// POSTs `body` to the sync invocation of `urn` with the token and `headers`.
async fn invoke(server: &LocalFunctionGraph, path: &str, headers: &[(&str, &str)], body: &[u8]) -> RawResponse {
    let mut all = vec![AUTH, ("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    send(server, &request("POST", path, &all, body)).await
}

fn assert_fss_error(response: &RawResponse, status: u16, code: &str, message: &str) {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    let id = response.header("x-cff-request-id").expect("X-Cff-Request-Id");
    assert_eq!(id.len(), 36, "{id}");
    let body = response.json();
    assert_eq!(body["error_code"], code, "{body}");
    assert_eq!(body["error_msg"], message, "{body}");
}

fn assert_gateway_error(response: &RawResponse, status: u16, code: &str) -> Value {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body = response.json();
    assert_eq!(body["error_code"], code, "{body}");
    let id = response.header("x-request-id").expect("X-Request-Id");
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(body["request_id"], id);
    assert!(response.header("x-cff-request-id").is_none());
    body
}

fn hello(invocation: Invocation) -> Outcome {
    Outcome::Return {
        result: json!({ "greeting": format!("hello {}", invocation.event["name"].as_str().unwrap_or("world")) }),
        log: vec!["first line".to_owned(), "second line".to_owned()],
    }
}

#[tokio::test]
async fn sync_v1_with_log_tail() {
    let server = LocalFunctionGraph::start().await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_in_handler = Arc::clone(&seen);
    server.register("default", "hello", move |invocation| {
        seen_in_handler.lock().unwrap().push(invocation.clone());
        hello(invocation)
    });

    let path = invoke_path(&server, "default", "hello", Some("latest"));
    let response = invoke(
        &server,
        &path,
        &[
            ("X-CFF-Request-Version", "v1"),
            ("X-Cff-Log-Type", "tail"),
            ("X-Cff-Instance-Memory", "256"),
        ],
        br#"{"name":"fgs"}"#,
    )
    .await;

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("x-cff-response-version"), Some("v1"));
    assert_eq!(response.header("x-func-err-code"), Some("0"));
    assert_eq!(response.header("x-is-func-err"), Some("false"));
    let id = response.header("x-cff-request-id").unwrap().to_owned();
    assert_eq!(id.split('-').map(str::len).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);

    let summary: Value = serde_json::from_str(response.header("x-cff-invoke-summary").unwrap()).unwrap();
    assert!(summary["duration"].as_f64().unwrap() >= 0.0);
    let billing = summary["billingDuration"].as_u64().unwrap();
    assert!(billing >= 1);
    assert!(billing as f64 >= summary["duration"].as_f64().unwrap());
    assert_eq!(summary["memorySize"], 256);
    assert!(summary["memoryUsed"].as_f64().unwrap() > 0.0);
    assert_eq!(
        response.header("x-cff-billing-duration"),
        Some(billing.to_string().as_str())
    );

    let body = response.json();
    assert_eq!(body["request_id"], id.as_str());
    assert_eq!(body["status"], 200);
    let result: Value = serde_json::from_str(body["result"].as_str().unwrap()).unwrap();
    assert_eq!(result, json!({ "greeting": "hello fgs" }));
    let log = body["log"].as_str().unwrap();
    assert!(
        log.contains(&format!("Start invoke request '{id}', version: latest\n")),
        "{log}"
    );
    assert!(log.contains("\nfirst line\nsecond line\n"), "{log}");
    assert!(
        log.contains(&format!("Finish invoke request '{id}', duration: ")),
        "{log}"
    );
    assert!(log.ends_with("billing memory: 256MB"), "{log}");
    assert!(!log.contains("invoke Failed"));
    // The log starts with an RFC 3339 UTC timestamp.
    assert_eq!(&log[4..5], "-");
    assert_eq!(&log[10..11], "T");
    assert_eq!(&log[23..24], "Z");

    let header_log = base64::engine::general_purpose::STANDARD
        .decode(response.header("x-cff-function-log").unwrap())
        .unwrap();
    assert_eq!(String::from_utf8(header_log).unwrap(), log);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].event, json!({ "name": "fgs" }));
    assert_eq!(seen[0].request_id, id);
    assert_eq!(seen[0].urn, server.urn("default", "hello", Some("latest")));
    assert_eq!(seen[0].version, "latest");
    assert_eq!(seen[0].memory_mb, 256);
    assert_eq!(server.invocations("default", "hello"), 1);
}

#[tokio::test]
async fn sync_v0_is_the_raw_result() {
    let server = LocalFunctionGraph::start().await.unwrap();
    server.register("default", "hello", hello);
    let path = invoke_path(&server, "default", "hello", None);

    for headers in [&[][..], &[("X-CFF-Request-Version", "v0")][..]] {
        let response = invoke(&server, &path, headers, b"").await;
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.header("x-cff-response-version"), Some("v0"));
        assert_eq!(response.header("x-func-err-code"), Some("0"));
        assert_eq!(response.header("x-is-func-err"), Some("false"));
        assert!(response.header("x-cff-function-log").is_none());
        assert!(response.header("x-cff-invoke-summary").is_some());
        assert_eq!(response.json(), json!({ "greeting": "hello world" }));
    }

    // v1 without tail: empty log, no log header.
    let response = invoke(&server, &path, &[("X-CFF-Request-Version", "v1")], b"").await;
    assert_eq!(response.json()["log"], "");
    assert!(response.header("x-cff-function-log").is_none());
    assert_eq!(server.invocations("default", "hello"), 3);
}

#[tokio::test]
async fn function_error() {
    let server = LocalFunctionGraph::start().await.unwrap();
    server.register("default", "broken", |_| Outcome::Raise {
        error_type: "ValueError".to_owned(),
        error_message: "bad input".to_owned(),
        stack_trace: vec!["at handler (index.js:3)".to_owned()],
        log: vec!["about to fail".to_owned()],
    });
    let path = invoke_path(&server, "default", "broken", Some("latest"));

    let response = invoke(
        &server,
        &path,
        &[("X-CFF-Request-Version", "v1"), ("X-Cff-Log-Type", "tail")],
        b"{}",
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("x-func-err-code"), Some("1"));
    assert_eq!(response.header("x-is-func-err"), Some("true"));
    let body = response.json();
    let expected = json!({
        "errorMessage": "bad input",
        "errorType": "ValueError",
        "stackTrace": ["at handler (index.js:3)"],
    });
    let result: Value = serde_json::from_str(body["result"].as_str().unwrap()).unwrap();
    assert_eq!(result, expected);
    let log = body["log"].as_str().unwrap();
    assert!(log.contains("about to fail\n"), "{log}");
    assert!(log.contains("'(invoke Failed), duration: "), "{log}");

    let response = invoke(&server, &path, &[], b"{}").await;
    assert_eq!(response.header("x-func-err-code"), Some("1"));
    assert_eq!(response.json(), expected);
}

#[tokio::test]
async fn missing_function_version_and_alias() {
    let server = LocalFunctionGraph::start().await.unwrap();
    server.register("default", "hello", hello);

    let response = invoke(&server, &invoke_path(&server, "default", "nope", None), &[], b"{}").await;
    assert_fss_error(&response, 404, "FSS.1051", "Not found the function");
    let response = invoke(&server, &invoke_path(&server, "other", "hello", None), &[], b"{}").await;
    assert_fss_error(&response, 404, "FSS.1051", "Not found the function");

    let response = invoke(
        &server,
        &invoke_path(&server, "default", "hello", Some("v9")),
        &[],
        b"{}",
    )
    .await;
    assert_fss_error(&response, 404, "FSS.1052", "Not found the function version");

    let response = invoke(
        &server,
        &invoke_path(&server, "default", "hello", Some("!prod")),
        &[],
        b"{}",
    )
    .await;
    assert_fss_error(&response, 404, "FSS.1053", "Not found the function alias");

    // An alias pointing at an unregistered version.
    server.register_alias("default", "hello", "!dangling", "v2");
    let response = invoke(
        &server,
        &invoke_path(&server, "default", "hello", Some("!dangling")),
        &[],
        b"{}",
    )
    .await;
    assert_fss_error(&response, 404, "FSS.1052", "Not found the function version");
    assert_eq!(server.invocations("default", "hello"), 0);
}

#[tokio::test]
async fn alias_resolution_and_raw_urn() {
    let server = LocalFunctionGraph::start().await.unwrap();
    server.register("default", "hello", |_| Outcome::ok(json!("latest")));
    server.register_version("default", "hello", "v1", |inv| {
        Outcome::ok(json!(format!("v1 {}", inv.version)))
    });
    server.register_alias("default", "hello", "prod", "v1");

    let path = invoke_path(&server, "default", "hello", Some("!prod"));
    assert!(path.contains("%3A%21prod/invocations"), "{path}");
    let response = invoke(&server, &path, &[], b"{}").await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json(), json!("v1 v1"));

    // The raw `:` form is accepted too.
    let raw = format!(
        "/v2/{}/fgs/functions/{}/invocations",
        LocalFunctionGraph::PROJECT_ID,
        server.urn("default", "hello", Some("!prod"))
    );
    let response = invoke(&server, &raw, &[], b"{}").await;
    assert_eq!(response.json(), json!("v1 v1"));

    let response = invoke(
        &server,
        &invoke_path(&server, "default", "hello", Some("v1")),
        &[],
        b"{}",
    )
    .await;
    assert_eq!(response.json(), json!("v1 v1"));
    let response = invoke(&server, &invoke_path(&server, "default", "hello", None), &[], b"{}").await;
    assert_eq!(response.json(), json!("latest"));
    assert_eq!(server.invocations("default", "hello"), 4);

    // The recorded path keeps the percent-encoding.
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[0].path, path);
    assert_eq!(requests[0].method, http::Method::POST);
    assert_eq!(requests[0].body.as_ref(), b"{}");
    assert_eq!(requests[0].headers["x-auth-token"], LocalFunctionGraph::TOKEN);
    assert_eq!(requests[1].path, raw);
}

#[tokio::test]
async fn unauthorized_without_or_with_wrong_token() {
    let server = LocalFunctionGraph::start().await.unwrap();
    server.register("default", "hello", hello);
    let path = invoke_path(&server, "default", "hello", None);

    let response = send(&server, &request("POST", &path, &[], b"{}")).await;
    let body = assert_gateway_error(&response, 401, "APIGW.0301");
    assert!(
        body["error_msg"]
            .as_str()
            .unwrap()
            .starts_with("Incorrect IAM authentication information: ")
    );

    let response = send(
        &server,
        &request("POST", &path, &[("X-Auth-Token", "secret-wrong-token")], b"{}"),
    )
    .await;
    let body = assert_gateway_error(&response, 401, "APIGW.0301");
    assert!(!response.text().contains("secret-wrong-token"), "{body}");

    // Auth is checked before the URN and the body.
    let response = send(
        &server,
        &request(
            "POST",
            "/v2/x/fgs/functions/bad/invocations",
            &[("Content-Length", "99999999")],
            b"",
        ),
    )
    .await;
    assert_gateway_error(&response, 401, "APIGW.0301");
    assert_eq!(server.invocations("default", "hello"), 0);
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn body_too_large() {
    let server = LocalFunctionGraph::start().await.unwrap();
    server.register("default", "hello", hello);
    let path = invoke_path(&server, "default", "hello", None);

    // Content-Length over 6 MiB: rejected without sending the body.
    let too_long = (6 * 1024 * 1024 + 1).to_string();
    let response = send(
        &server,
        &request("POST", &path, &[AUTH, ("Content-Length", too_long.as_str())], b""),
    )
    .await;
    assert_fss_error(&response, 413, "FSS.1201", "The request body is too large");

    // A chunked async body over 256 KiB: reading stops at the limit.
    let async_path = path.replace("/invocations", "/invocations-async");
    let mut raw = format!(
        "POST {async_path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        LocalFunctionGraph::TOKEN
    )
    .into_bytes();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..5 {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(&chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let response = send(&server, &raw).await;
    assert_fss_error(&response, 413, "FSS.1201", "The request body is too large");

    // Just under the async limit is fine (whitespace around `{}` is JSON).
    let mut body = vec![b' '; 256 * 1024 - 2];
    body.extend_from_slice(b"{}");
    let response = send(&server, &request("POST", &async_path, &[AUTH], &body)).await;
    assert_eq!(response.status, 202, "{}", response.text());

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests[0].body.is_empty());
    assert!(requests[1].body.is_empty());
    assert_eq!(requests[2].body.len(), 256 * 1024);
}

#[tokio::test]
async fn invalid_requests() {
    let server = LocalFunctionGraph::start().await.unwrap();
    server.register("default", "hello", hello);
    let path = invoke_path(&server, "default", "hello", None);

    let response = invoke(&server, &path, &[], b"{not json").await;
    assert_fss_error(
        &response,
        400,
        "FSS.0406",
        "Not acceptable: the request body is not in the required JSON format",
    );

    let bad_urn = format!(
        "/v2/{}/fgs/functions/urn%3Afss%3Anope/invocations",
        LocalFunctionGraph::PROJECT_ID
    );
    let response = invoke(&server, &bad_urn, &[], b"{}").await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error_code"], "FSS.1309");
    let message = response.json()["error_msg"].as_str().unwrap().to_owned();
    assert!(message.starts_with("Invalid function URN: "), "{message}");
    assert!(!message.contains("invalid function URN"), "{message}");

    let bad_escape = format!("/v2/{}/fgs/functions/urn%3/invocations", LocalFunctionGraph::PROJECT_ID);
    let response = invoke(&server, &bad_escape, &[], b"{}").await;
    assert_eq!(response.json()["error_code"], "FSS.1309");

    let other_project = path.replacen(LocalFunctionGraph::PROJECT_ID, "ffffffffffffffffffffffffffffffff", 1);
    let response = invoke(&server, &other_project, &[], b"{}").await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error_code"], "FSS.0400");

    let response = invoke(&server, &path, &[("X-CFF-Request-Version", "v2")], b"{}").await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error_code"], "FSS.0400");

    for memory in ["100", "abc", "16384"] {
        let response = invoke(&server, &path, &[("X-Cff-Instance-Memory", memory)], b"{}").await;
        assert_fss_error(&response, 400, "FSS.1007", "Invalid function memory");
    }
    assert_eq!(server.invocations("default", "hello"), 0);
}

#[tokio::test]
async fn unknown_route() {
    let server = LocalFunctionGraph::start().await.unwrap();
    server.register("default", "hello", hello);
    let path = invoke_path(&server, "default", "hello", None);

    for (method, target) in [
        ("GET", "/"),
        ("POST", "/v2/x/fgs/functions"),
        ("GET", path.as_str()),
        ("POST", &format!("{path}/extra")),
        ("POST", &path.replace("/invocations", "/invoke")),
    ] {
        let response = send(&server, &request(method, target, &[AUTH], b"")).await;
        let body = assert_gateway_error(&response, 404, "APIGW.0101");
        assert_eq!(
            body["error_msg"],
            "The API does not exist or has not been published in the environment"
        );
    }
    // Routing comes before authentication.
    let response = send(&server, &request("GET", "/nothing", &[], b"")).await;
    assert_gateway_error(&response, 404, "APIGW.0101");
    assert_eq!(server.request_count(), 6);
}

#[tokio::test]
async fn respond_next_is_used_once_in_order() {
    let server = LocalFunctionGraph::start().await.unwrap();
    server.register("default", "hello", hello);
    let path = invoke_path(&server, "default", "hello", None);

    server.respond_next(
        502,
        vec![("Content-Type".to_owned(), "text/html".to_owned())],
        "<html><body>502 Bad Gateway</body></html>",
    );
    server.respond_next(
        429,
        vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("Retry-After".to_owned(), "1".to_owned()),
        ],
        r#"{"error_code":"FSS.0429","error_msg":"Too many requests"}"#,
    );

    let response = invoke(&server, &path, &[], b"{}").await;
    assert_eq!(response.status, 502);
    assert_eq!(response.header("content-type"), Some("text/html"));
    assert_eq!(response.text(), "<html><body>502 Bad Gateway</body></html>");

    // Canned responses come before routing and authentication.
    let response = send(&server, &request("GET", "/anything", &[], b"")).await;
    assert_eq!(response.status, 429);
    assert_eq!(response.header("retry-after"), Some("1"));
    assert_eq!(response.json()["error_code"], "FSS.0429");

    let response = invoke(&server, &path, &[], b"{}").await;
    assert_eq!(response.status, 200);
    assert_eq!(server.request_count(), 3);
    assert_eq!(server.requests()[1].path, "/anything");
    assert_eq!(server.invocations("default", "hello"), 1);
}

#[tokio::test]
async fn async_invocation_runs_once() {
    let server = LocalFunctionGraph::start().await.unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let runs_in_handler = Arc::clone(&runs);
    let event = Arc::new(Mutex::new(None));
    let event_in_handler = Arc::clone(&event);
    server.register("default", "worker", move |invocation| {
        runs_in_handler.fetch_add(1, Ordering::SeqCst);
        *event_in_handler.lock().unwrap() = Some(invocation.event);
        Outcome::ok(Value::Null)
    });
    let path = invoke_path(&server, "default", "worker", Some("latest")).replace("/invocations", "/invocations-async");

    let response = invoke(&server, &path, &[], br#"{"job":42}"#).await;
    assert_eq!(response.status, 202, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    let id = response.json()["request_id"].as_str().unwrap().to_owned();
    assert_eq!(response.header("x-cff-request-id"), Some(id.as_str()));

    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while server.invocations("default", "worker") == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "the async handler did not run");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.invocations("default", "worker"), 1);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(*event.lock().unwrap(), Some(json!({ "job": 42 })));

    // Async lookups fail like sync ones.
    let missing = invoke_path(&server, "default", "absent", None).replace("/invocations", "/invocations-async");
    let response = invoke(&server, &missing, &[], b"{}").await;
    assert_fss_error(&response, 404, "FSS.1051", "Not found the function");
}

#[tokio::test]
async fn keep_alive_serves_several_requests_on_one_connection() {
    let server = LocalFunctionGraph::start().await.unwrap();
    server.register("default", "hello", hello);
    let path = invoke_path(&server, "default", "hello", None);

    let mut conn = Conn::connect(server.addr()).await;
    for name in ["a", "b", "c"] {
        let body = format!(r#"{{"name":"{name}"}}"#);
        let response = conn.send(&request("POST", &path, &[AUTH], body.as_bytes())).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.json(), json!({ "greeting": format!("hello {name}") }));
    }
    // Errors keep the connection usable too.
    let response = conn.send(&request("POST", "/nope", &[AUTH], b"")).await;
    assert_eq!(response.status, 404);
    let response = conn.send(&request("POST", &path, &[AUTH], b"")).await;
    assert_eq!(response.status, 200);
    assert_eq!(server.invocations("default", "hello"), 4);
}

#[tokio::test]
async fn log_is_cut_to_its_last_4096_bytes() {
    let server = LocalFunctionGraph::start().await.unwrap();
    server.register("default", "chatty", |_| Outcome::Return {
        result: json!(1),
        log: (0..500).map(|i| format!("line {i} é")).collect(),
    });
    let path = invoke_path(&server, "default", "chatty", None);
    let response = invoke(
        &server,
        &path,
        &[("X-CFF-Request-Version", "v1"), ("X-Cff-Log-Type", "tail")],
        b"{}",
    )
    .await;
    let body = response.json();
    let log = body["log"].as_str().unwrap();
    assert!(log.len() <= 4096 && log.len() > 4000, "{}", log.len());
    assert!(!log.contains("Start invoke request"));
    assert!(log.contains("line 499 é\n"));
    assert!(log.contains("Finish invoke request"));
    assert_eq!(body["result"], "1");
}

#[tokio::test]
async fn dropping_the_server_stops_it() {
    let server = LocalFunctionGraph::start().await.unwrap();
    let addr = server.addr();
    assert!(addr.ip().is_loopback());
    assert_eq!(server.endpoint(), format!("http://127.0.0.1:{}", addr.port()));
    drop(server);
    // Give the runtime a moment to run the abort.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn oversized_body_sent_in_full_still_gets_413_and_keeps_the_connection() {
    let server = LocalFunctionGraph::start().await.unwrap();
    server.register("default", "hello", hello);
    let path = invoke_path(&server, "default", "hello", None);

    let mut conn = Conn::connect(server.addr()).await;
    let body = vec![b' '; 7 * 1024 * 1024];
    let response = conn.send(&request("POST", &path, &[AUTH], &body)).await;
    assert_fss_error(&response, 413, "FSS.1201", "The request body is too large");

    // The rest of the body was drained, so the connection is still usable.
    let response = conn.send(&request("POST", &path, &[AUTH], b"{}")).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(server.request_count(), 2);
    assert_eq!(server.invocations("default", "hello"), 1);
}
