//! Hostile and broken IAM and metadata servers: a scripted raw-TCP server on 127.0.0.1
//! writes exact bytes (including what no HTTP library would send), and each case asserts
//! the typed outcome (an `AuthError` of kind `Provider` saying what was wrong, never a
//! panic), that the call returns within a bound, and, for size cases, that the body was
//! refused at the cap (`ResponseTooLarge`) and the server could not push more than a few
//! MiB before the connection was dropped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::error::Error as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fgs::auth::{AuthError, AuthErrorKind};
use fgs::auth::{IamTokenAuth, MetadataCredentials, ProvideCredentials};
use fgs::transport::{TransportError, TransportErrorKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Every case must finish within this.
const BOUND: Duration = Duration::from_secs(10);
const MIB: u64 = 1024 * 1024;

/// What the server does once it has read a request.
#[derive(Clone)]
enum Reply {
    /// Writes these bytes and closes.
    Bytes(Vec<u8>),
    /// Waits, then writes the bytes and closes.
    After(Duration, Vec<u8>),
    /// Writes the head, then `size` bytes of body (in chunked framing if asked), as fast
    /// as the client reads, and closes; `u64::MAX` is an endless body.
    Stream { head: Vec<u8>, size: u64, chunked: bool },
    /// Writes the head, then one body byte every `every`, up to `count`.
    Trickle {
        head: Vec<u8>,
        every: Duration,
        count: usize,
    },
}

/// A scripted server: `script` maps the request line (`PUT /path HTTP/1.1`) to a reply.
struct Server {
    url: String,
    /// Body and head bytes written so far, over all connections.
    written: Arc<AtomicU64>,
}

async fn serve(script: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let written = Arc::new(AtomicU64::new(0));
    let script = Arc::new(script);
    let counter = Arc::clone(&written);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (script, counter) = (Arc::clone(&script), Arc::clone(&counter));
            tokio::spawn(async move {
                let _ = handle(socket, &*script, &counter).await;
            });
        }
    });
    Server { url, written }
}

async fn handle(
    mut socket: TcpStream,
    script: &(dyn Fn(&str) -> Reply + Send + Sync),
    written: &AtomicU64,
) -> std::io::Result<()> {
    // Read the request head (and discard the body it announces).
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buffer.len() > 64 * 1024 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body_read = buffer.len() - end;
    while body_read < length.min(1 << 20) {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body_read += n;
    }
    let request_line = head.lines().next().unwrap_or_default().to_owned();
    let mut write = async |bytes: &[u8]| -> std::io::Result<()> {
        socket.write_all(bytes).await?;
        written.fetch_add(bytes.len() as u64, Ordering::SeqCst);
        Ok(())
    };
    match script(&request_line) {
        Reply::Bytes(bytes) => write(&bytes).await?,
        Reply::After(delay, bytes) => {
            tokio::time::sleep(delay).await;
            write(&bytes).await?;
        }
        Reply::Stream { head, size, chunked } => {
            write(&head).await?;
            let block = vec![b'x'; 64 * 1024];
            let mut sent = 0u64;
            while sent < size {
                let n = usize::try_from((size - sent).min(block.len() as u64)).unwrap();
                if chunked {
                    write(format!("{n:x}\r\n").as_bytes()).await?;
                    write(&block[..n]).await?;
                    write(b"\r\n").await?;
                } else {
                    write(&block[..n]).await?;
                }
                sent += n as u64;
            }
            if chunked {
                write(b"0\r\n\r\n").await?;
            }
        }
        Reply::Trickle { head, every, count } => {
            write(&head).await?;
            for _ in 0..count {
                tokio::time::sleep(every).await;
                write(b"x").await?;
            }
        }
    }
    socket.shutdown().await
}

/// A complete response with `Content-Length` and `Connection: close`.
fn response(status: &str, headers: &[&str], body: &str) -> Reply {
    let mut text = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for header in headers {
        text.push_str(header);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text.push_str(body);
    Reply::Bytes(text.into_bytes())
}

const TOKEN_BODY: &str = r#"{"token":{"expires_at":"2999-01-01T00:00:00.000000Z","methods":["password"]}}"#;

fn iam(url: &str) -> IamTokenAuth {
    IamTokenAuth::builder()
        .endpoint(url)
        .password("acme", "alice", "correct horse battery staple")
        .project_name("cn-north-4")
        .build()
        .unwrap()
}

fn metadata(url: &str) -> MetadataCredentials {
    MetadataCredentials::new()
        .with_endpoint(url)
        .with_timeout(Duration::from_millis(500))
}

/// Runs `call` within [`BOUND`] and returns its error, which must be a `Provider` error.
async fn provider_error<T: std::fmt::Debug>(call: impl Future<Output = Result<T, AuthError>>) -> AuthError {
    let started = Instant::now();
    let outcome = tokio::time::timeout(BOUND, call).await.expect("the call hung");
    assert!(started.elapsed() < BOUND);
    let err = outcome.expect_err("a hostile server must be an error");
    assert_eq!(err.kind(), AuthErrorKind::Provider, "{err}");
    err
}

/// The transport error under an `AuthError`.
fn transport_error(err: &AuthError) -> &TransportError {
    err.source()
        .and_then(|source| source.downcast_ref::<TransportError>())
        .unwrap_or_else(|| panic!("no transport error under {err:?}"))
}

/// Asserts a refusal at `limit` and that the server could push no more than a few MiB.
async fn assert_too_large(err: &AuthError, limit: u64, announced: Option<u64>, server: &Server) {
    let transport = transport_error(err);
    assert_eq!(transport.kind(), TransportErrorKind::ResponseTooLarge, "{err}");
    let details = transport.as_response_too_large().unwrap();
    assert_eq!(details.limit, limit);
    assert_eq!(details.announced, announced);
    // The client dropped the connection: the server stops within socket buffers of the cap.
    // Wait until its count stays put for a while (however long a loaded machine takes to
    // let it notice, up to BOUND), rather than for a fixed time.
    let deadline = Instant::now() + BOUND;
    let mut written = server.written.load(Ordering::SeqCst);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = server.written.load(Ordering::SeqCst);
        if now == written {
            break;
        }
        assert!(Instant::now() < deadline, "the server is still writing ({now} bytes)");
        written = now;
    }
    assert!(written < limit + 32 * MIB, "{written} bytes were pushed");
}

// ---- IAM ----

#[tokio::test]
async fn iam_200_without_x_subject_token() {
    let server = serve(|_| response("200 OK", &["Content-Type: application/json"], TOKEN_BODY)).await;
    let err = provider_error(iam(&server.url).token()).await;
    assert_eq!(
        err.to_string(),
        "IAM answered HTTP 200 without an X-Subject-Token header (the token)"
    );
}

#[tokio::test]
async fn iam_201_with_an_empty_x_subject_token() {
    let server = serve(|_| response("201 Created", &["X-Subject-Token: "], TOKEN_BODY)).await;
    let err = provider_error(iam(&server.url).token()).await;
    assert!(err.to_string().contains("without an X-Subject-Token"), "{err}");
}

#[tokio::test]
async fn iam_expires_at_in_the_past() {
    let body = r#"{"token":{"expires_at":"2001-01-01T00:00:00.000000Z"}}"#;
    let server = serve(move |_| response("201 Created", &["X-Subject-Token: MIIsecret"], body)).await;
    let err = provider_error(iam(&server.url).token()).await;
    assert!(err.to_string().contains("had already expired"), "{err}");
    assert!(!format!("{err} {err:?}").contains("MIIsecret"));
}

#[tokio::test]
async fn iam_expires_at_before_1970_is_in_the_past() {
    let body = r#"{"token":{"expires_at":"1969-12-31T23:59:59Z"}}"#;
    let server = serve(move |_| response("201 Created", &["X-Subject-Token: MIIsecret"], body)).await;
    let err = provider_error(iam(&server.url).token()).await;
    assert!(err.to_string().contains("had already expired"), "{err}");
}

#[tokio::test]
async fn iam_expires_at_with_an_offset_and_spaces() {
    let body = r#"{"token":{"expires_at":" 2999-01-01T08:00:00.5+08:00 "}}"#;
    let server = serve(move |_| response("201 Created", &["X-Subject-Token: MIIsecret"], body)).await;
    let token = iam(&server.url).token().await.unwrap();
    assert_eq!(token.as_bytes(), b"MIIsecret");
}

#[tokio::test]
async fn iam_without_expires_at() {
    let server = serve(|_| response("201 Created", &["X-Subject-Token: MIIsecret"], r#"{"token":{}}"#)).await;
    let err = provider_error(iam(&server.url).token()).await;
    assert_eq!(err.to_string(), "IAM's token response has no readable token.expires_at");
}

#[tokio::test]
async fn iam_10_mb_body_with_content_length() {
    let server = serve(|_| Reply::Stream {
        head: b"HTTP/1.1 201 Created\r\nX-Subject-Token: MIIsecret\r\nContent-Length: 10000000\r\n\r\n".to_vec(),
        size: 10_000_000,
        chunked: false,
    })
    .await;
    let err = provider_error(iam(&server.url).token()).await;
    assert!(
        err.to_string()
            .starts_with("IAM's answer to the token request is larger than the 1048576 bytes read for it"),
        "{err}"
    );
    assert_too_large(&err, MIB, Some(10_000_000), &server).await;
}

#[tokio::test]
async fn iam_10_mb_body_chunked_without_content_length() {
    let server = serve(|_| Reply::Stream {
        head: b"HTTP/1.1 201 Created\r\nX-Subject-Token: MIIsecret\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
        size: 10_000_000,
        chunked: true,
    })
    .await;
    let err = provider_error(iam(&server.url).token()).await;
    assert!(err.to_string().contains("larger than the 1048576 bytes"), "{err}");
    assert_too_large(&err, MIB, None, &server).await;
}

#[tokio::test]
async fn iam_endless_body_until_close() {
    let server = serve(|_| Reply::Stream {
        head: b"HTTP/1.1 201 Created\r\nX-Subject-Token: MIIsecret\r\nConnection: close\r\n\r\n".to_vec(),
        size: u64::MAX,
        chunked: false,
    })
    .await;
    let err = provider_error(iam(&server.url).token()).await;
    assert!(err.to_string().contains("larger than the 1048576 bytes"), "{err}");
    assert_too_large(&err, MIB, None, &server).await;
}

#[tokio::test]
async fn iam_body_that_is_not_json() {
    let server = serve(|_| {
        response(
            "201 Created",
            &["X-Subject-Token: MIIsecret", "Content-Type: text/html"],
            "<html><body>Proxy login</body></html>",
        )
    })
    .await;
    let err = provider_error(iam(&server.url).token()).await;
    assert!(err.to_string().starts_with("IAM's token response is not JSON"), "{err}");
}

#[tokio::test]
async fn iam_garbage_that_is_not_http() {
    let server = serve(|_| Reply::Bytes(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\xfe garbage".to_vec())).await;
    let err = provider_error(iam(&server.url).token()).await;
    assert!(err.to_string().starts_with("the token request to IAM failed"), "{err}");
    assert_ne!(transport_error(&err).kind(), TransportErrorKind::ResponseTooLarge);
}

#[tokio::test]
async fn iam_closes_the_connection_mid_headers() {
    let server = serve(|_| Reply::Bytes(b"HTTP/1.1 201 Created\r\nX-Subject-To".to_vec())).await;
    let err = provider_error(iam(&server.url).token()).await;
    assert!(err.to_string().starts_with("the token request to IAM failed"), "{err}");
}

#[tokio::test]
async fn iam_closes_the_connection_before_answering() {
    let server = serve(|_| Reply::Bytes(Vec::new())).await;
    let err = provider_error(iam(&server.url).token()).await;
    assert!(err.to_string().starts_with("the token request to IAM failed"), "{err}");
}

#[tokio::test]
async fn iam_error_with_a_long_message_and_control_characters() {
    let message = format!("bad\u{1b}[31m password {}", "x".repeat(10_000));
    let body = serde_json::json!({ "error": { "code": 401, "message": message } }).to_string();
    let server = serve(move |_| response("401 Unauthorized", &["Content-Type: application/json"], &body)).await;
    let err = provider_error(iam(&server.url).token()).await;
    let text = err.to_string();
    assert!(
        text.starts_with("IAM refused the token request with HTTP 401: bad [31m password xxx"),
        "{text}"
    );
    assert!(text.len() < 300 && text.ends_with("..."), "{text}");
    assert!(!text.chars().any(char::is_control));
}

// ---- metadata ----

const KEY: &str = r#"{"credential":{"access":"AK","secret":"SK-SECRET","securitytoken":"TOKEN","expires_at":"2999-01-01T00:00:00.000000Z"}}"#;

/// Session tokens from `PUT`, then `key` for the securitykey request.
fn metadata_script(key: Reply) -> impl Fn(&str) -> Reply + Send + Sync + 'static {
    move |line| {
        if line.starts_with("PUT ") {
            response("200 OK", &[], "session-token")
        } else {
            key.clone()
        }
    }
}

#[tokio::test]
async fn metadata_answering_past_its_timeout() {
    // The answer comes after a minute: only the 500 ms timeout ends the call within BOUND
    // (checked by `provider_error`), however loaded the machine.
    let server = serve(|_| Reply::After(Duration::from_secs(60), b"HTTP/1.1 200 OK\r\n\r\n".to_vec())).await;
    let err = provider_error(metadata(&server.url).provide_credentials()).await;
    assert!(
        err.to_string().starts_with(&format!(
            "the metadata service at {} did not answer PUT /meta-data/latest/api/token within 500 ms",
            server.url
        )),
        "{err}"
    );
    assert_eq!(transport_error(&err).kind(), TransportErrorKind::Timeout);
}

#[tokio::test]
async fn metadata_body_trickling_past_its_timeout() {
    let server = serve(metadata_script(Reply::Trickle {
        head: b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec(),
        every: Duration::from_millis(100),
        count: 1000,
    }))
    .await;
    // The body takes 100 s: only the timeout ends the call within BOUND (checked by
    // `provider_error`).
    let err = provider_error(metadata(&server.url).provide_credentials()).await;
    assert!(
        err.to_string()
            .contains("did not answer GET /openstack/latest/securitykey"),
        "{err}"
    );
}

#[tokio::test]
async fn metadata_huge_session_token() {
    let server = serve(|_| Reply::Stream {
        head: b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n".to_vec(),
        size: 10_000_000,
        chunked: false,
    })
    .await;
    let err = provider_error(metadata(&server.url).provide_credentials()).await;
    assert_eq!(
        err.to_string().split(": ").next().unwrap(),
        "the metadata service's answer to PUT /meta-data/latest/api/token is larger than the 65536 bytes read for it"
    );
    assert_too_large(&err, 64 * 1024, Some(10_000_000), &server).await;
}

#[tokio::test]
async fn metadata_endless_credentials() {
    let server = serve(metadata_script(Reply::Stream {
        head: b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec(),
        size: u64::MAX,
        chunked: false,
    }))
    .await;
    let err = provider_error(metadata(&server.url).provide_credentials()).await;
    assert!(
        err.to_string()
            .contains("answer to GET /openstack/latest/securitykey is larger than the 65536 bytes"),
        "{err}"
    );
    assert_too_large(&err, 64 * 1024, None, &server).await;
}

#[tokio::test]
async fn metadata_malformed_json() {
    let server = serve(metadata_script(response(
        "200 OK",
        &[],
        r#"{"credential": {"access": "AK", "#,
    )))
    .await;
    let err = provider_error(metadata(&server.url).provide_credentials()).await;
    assert!(
        err.to_string()
            .starts_with("the metadata service's /openstack/latest/securitykey answer is not JSON"),
        "{err}"
    );
}

#[tokio::test]
async fn metadata_missing_field() {
    let body = r#"{"credential":{"access":"AK","secret":"SK-SECRET","expires_at":"2999-01-01T00:00:00Z"}}"#;
    let server = serve(metadata_script(response("200 OK", &[], body))).await;
    let err = provider_error(metadata(&server.url).provide_credentials()).await;
    assert_eq!(
        err.to_string(),
        "the metadata service's /openstack/latest/securitykey answer has no securitytoken"
    );
    assert!(!format!("{err:?}").contains("SK-SECRET"));
}

#[tokio::test]
async fn metadata_credentials_already_expired() {
    let body = r#"{"credential":{"access":"AK","secret":"SK-SECRET","securitytoken":"T","expires_at":"2001-01-01T00:00:00Z"}}"#;
    let server = serve(metadata_script(response("200 OK", &[], body))).await;
    let err = provider_error(metadata(&server.url).provide_credentials()).await;
    assert!(err.to_string().contains("had already expired"), "{err}");
}

#[tokio::test]
async fn metadata_garbage_that_is_not_http() {
    let server = serve(metadata_script(Reply::Bytes(
        b"\x16\x03\x01\x02\x00 not http at all".to_vec(),
    )))
    .await;
    let err = provider_error(metadata(&server.url).provide_credentials()).await;
    assert!(
        err.to_string().starts_with(&format!(
            "GET /openstack/latest/securitykey to the metadata service at {} failed",
            server.url
        )),
        "{err}"
    );
}

#[tokio::test]
async fn metadata_well_formed_answer_works() {
    // The control case: the same server with a proper answer gives credentials.
    let server = serve(metadata_script(response(
        "200 OK",
        &["Content-Type: application/json"],
        KEY,
    )))
    .await;
    let credentials = tokio::time::timeout(BOUND, metadata(&server.url).provide_credentials())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(credentials.access_key(), "AK");
    let server = serve(|_| response("201 Created", &["X-Subject-Token: MIIsecret"], TOKEN_BODY)).await;
    let token = tokio::time::timeout(BOUND, iam(&server.url).token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token, "MIIsecret");
}
