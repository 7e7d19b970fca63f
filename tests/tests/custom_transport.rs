//! Custom transport integrations: the [`Transport`] trait is the whole seam between the
//! client and an HTTP stack, so a user-written transport can wrap another one and add
//! behaviour (here, recording) without any help from the SDK.
//!
//! [`RecordingTransport`] is the template. It is used below with the emulator through
//! both the reqwest and the hyper transport, and it sees everything the client sends:
//! invocations, the gateway's 401 for an expired token and the request sent again after
//! renewal, and the IAM token requests of the auth (which takes the same transport).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use fgs::async_trait;
use fgs::auth::{IamTokenAuth, ManualClock, StaticToken};
use fgs::bytes::Bytes;
use fgs::http::{self, HeaderMap, HeaderName, Method, StatusCode};
use fgs::transport::HyperTransport;
use fgs::transport::{Delivery, ReqwestTransport, SendOptions, Transport, TransportError, TransportErrorKind};
use fgs::{Client, Error, FunctionUrn};
use fgs_emulator::{Emulator, Fault, FaultRule, Function, Handler};
use serde_json::json;

const TOKEN: &str = "custom-transport-token";
const PASSWORD: &str = "s3cret-password";

/// Written in place of a credential's value.
pub const REDACTED: &str = "<redacted>";

/// Headers whose values are credentials and are never recorded. Values marked
/// [sensitive](http::HeaderValue::is_sensitive) (as the SDK's auths mark theirs) are
/// redacted too, whatever the header's name.
pub const CREDENTIAL_HEADERS: [&str; 7] = [
    "authorization",
    "proxy-authorization",
    "x-auth-token",
    "x-security-token",
    "x-subject-token",
    "cookie",
    "set-cookie",
];

/// One request and what came of it: the metadata of the exchange, never a body, and
/// headers with their credentials replaced by [`REDACTED`].
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The request method.
    pub method: Method,
    /// The request URI, without any `user:password@` part.
    pub uri: String,
    /// The request headers, credentials redacted.
    pub request_headers: Vec<(HeaderName, String)>,
    /// Length of the request body.
    pub request_bytes: usize,
    /// From handing the request to the inner transport until it returned.
    pub elapsed: Duration,
    /// The response, or the failure.
    pub outcome: Outcome,
}

/// How an [`Exchange`] ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A whole response arrived, whatever its status (the client judges statuses).
    Response {
        /// The status.
        status: StatusCode,
        /// The response headers, credentials redacted.
        headers: Vec<(HeaderName, String)>,
        /// Length of the response body.
        bytes: usize,
    },
    /// No whole response arrived.
    Failed {
        /// What failed.
        kind: TransportErrorKind,
        /// Whether the request may have reached the service.
        delivery: Delivery,
        /// The error, as displayed.
        message: String,
    },
}

impl Exchange {
    /// The response status, if a response arrived.
    pub fn status(&self) -> Option<StatusCode> {
        match &self.outcome {
            Outcome::Response { status, .. } => Some(*status),
            Outcome::Failed { .. } => None,
        }
    }

    /// The recorded value of request header `name` (lower case).
    pub fn request_header(&self, name: &str) -> Option<&str> {
        find(&self.request_headers, name)
    }

    /// The recorded value of response header `name` (lower case).
    pub fn response_header(&self, name: &str) -> Option<&str> {
        match &self.outcome {
            Outcome::Response { headers, .. } => find(headers, name),
            Outcome::Failed { .. } => None,
        }
    }

    /// The path of the URI.
    pub fn path(&self) -> &str {
        let after_scheme = self.uri.split_once("://").map_or(self.uri.as_str(), |(_, rest)| rest);
        let path = after_scheme.find('/').map_or("/", |start| &after_scheme[start..]);
        path.split_once('?').map_or(path, |(path, _)| path)
    }
}

fn find<'a>(headers: &'a [(HeaderName, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// A transport that sends with another transport and records every exchange.
///
/// # A template for custom transport integrations
///
/// Everything the client needs from an HTTP stack is
/// [`Transport::send`]: one built and authenticated `http::Request<Bytes>` in, one whole
/// `http::Response<Bytes>` (or a [`TransportError`]) out. A wrapper like this one is how
/// to add behaviour around any transport, the default reqwest one or
/// `fgs::transport::HyperTransport` alike: metrics, tracing, audit logs, request
/// signing for a corporate proxy, fault injection in tests.
///
/// Keep the contract of the trait when you write one:
///
/// - call the inner transport **once** per `send`, and never retry: a synchronous invoke
///   is not idempotent, and the client decides what is safe to send again (it resends
///   after a 401 only when the auth renewed its credentials, which shows up here as two
///   exchanges);
/// - pass the [`SendOptions`] on unchanged, so that the whole-call timeout still holds;
/// - return the inner transport's errors as they are: their [`Delivery`] tells the client
///   whether the function may have run, and guessing it would make retries unsafe;
/// - return every response, whatever its status; interpreting them is the client's job;
/// - never keep or log credentials: `Authorization` (AK/SK signatures), `X-Auth-Token`
///   and `X-Security-Token` on requests, `X-Subject-Token` on IAM's responses. This
///   recorder keeps no bodies (invoke payloads are user data; IAM requests carry
///   passwords) and replaces credential header values with [`REDACTED`];
/// - be `Send + Sync + Debug`: the client shares one transport across tasks and prints
///   it in its own `Debug` output.
///
/// Clones share the inner transport and the record, so one recorder can serve the client
/// and an auth that fetches tokens (`IamTokenAuth::builder().transport(..)`).
///
/// ```ignore
/// let recorder = RecordingTransport::new(HyperTransport::new(Duration::from_secs(10))?);
/// let client = fgs::Client::builder()
///     .region("cn-north-4")
///     .auth(auth)
///     .transport(recorder.clone())
///     .build()?;
/// client.invoke(&urn).send().await?;
/// for exchange in recorder.exchanges() {
///     println!("{} {} -> {:?} in {:?}", exchange.method, exchange.uri, exchange.status(), exchange.elapsed);
/// }
/// ```
pub struct RecordingTransport<T> {
    inner: Arc<T>,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
}

impl<T> Clone for RecordingTransport<T> {
    fn clone(&self) -> Self {
        RecordingTransport {
            inner: Arc::clone(&self.inner),
            exchanges: Arc::clone(&self.exchanges),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for RecordingTransport<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingTransport")
            .field("inner", &self.inner)
            .field("recorded", &self.lock().len())
            .finish()
    }
}

impl<T: Transport> RecordingTransport<T> {
    /// Records what `inner` sends.
    pub fn new(inner: T) -> Self {
        RecordingTransport {
            inner: Arc::new(inner),
            exchanges: Arc::default(),
        }
    }
}

impl<T> RecordingTransport<T> {
    /// Every exchange so far, in the order they finished.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.lock().clone()
    }

    /// Forgets the exchanges recorded so far.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Locks the record. A panic elsewhere while it was locked leaves it usable.
    fn lock(&self) -> MutexGuard<'_, Vec<Exchange>> {
        self.exchanges.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl<T: Transport> Transport for RecordingTransport<T> {
    async fn send(
        &self,
        request: http::Request<Bytes>,
        options: &SendOptions,
    ) -> Result<http::Response<Bytes>, TransportError> {
        // Take what is recorded before the request moves into the inner transport.
        let method = request.method().clone();
        let uri = without_userinfo(request.uri());
        let request_headers = redacted(request.headers());
        let request_bytes = request.body().len();

        let started = Instant::now();
        let result = self.inner.send(request, options).await;
        let elapsed = started.elapsed();

        let outcome = match &result {
            Ok(response) => Outcome::Response {
                status: response.status(),
                headers: redacted(response.headers()),
                bytes: response.body().len(),
            },
            Err(error) => Outcome::Failed {
                kind: error.kind(),
                delivery: error.delivery(),
                message: error.to_string(),
            },
        };
        self.lock().push(Exchange {
            method,
            uri,
            request_headers,
            request_bytes,
            elapsed,
            outcome,
        });
        // Unchanged, errors included: the client relies on their delivery.
        result
    }
}

/// The headers with credential values replaced by [`REDACTED`].
fn redacted(headers: &HeaderMap) -> Vec<(HeaderName, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let shown = if value.is_sensitive() || CREDENTIAL_HEADERS.contains(&name.as_str()) {
                REDACTED.to_owned()
            } else {
                value.to_str().map_or_else(|_| "<not text>".to_owned(), str::to_owned)
            };
            (name.clone(), shown)
        })
        .collect()
}

/// The URI as text, without `user:password@`.
fn without_userinfo(uri: &http::Uri) -> String {
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => {
            let host_port = authority
                .as_str()
                .rsplit_once('@')
                .map_or(authority.as_str(), |(_, hp)| hp);
            let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
            format!("{scheme}://{host_port}{path}")
        }
        _ => uri.to_string(),
    }
}

// ----- used with the emulator, through both transports -----

fn reqwest() -> ReqwestTransport {
    ReqwestTransport::new(Duration::from_secs(5)).expect("the reqwest transport")
}

fn hyper() -> HyperTransport {
    HyperTransport::new(Duration::from_secs(5)).expect("the hyper transport")
}

async fn emulator(token_lifetime: Duration) -> Emulator {
    let echo = Handler::from_fn(|event, _ctx| async move { Ok(event) });
    Emulator::builder()
        .token(TOKEN)
        .iam_user("acme", "alice", PASSWORD)
        .token_lifetime(token_lifetime)
        .function(Function::new("default", "echo", echo))
        .start()
        .await
        .expect("start the emulator")
}

fn urn(emulator: &Emulator) -> FunctionUrn {
    emulator.urn("default", "echo", None).parse().unwrap()
}

/// Asserts that nothing secret made it into the record, however it is printed.
fn assert_no_secrets<T: fmt::Debug>(recorder: &RecordingTransport<T>, secrets: &[&str]) {
    let printed = format!("{:?} {recorder:?}", recorder.exchanges());
    for secret in secrets {
        assert!(!printed.contains(secret), "{secret:?} was recorded: {printed}");
    }
}

/// Five invokes, one of them answered with a service error: five exchanges with their
/// statuses, sizes and times, and the token redacted.
async fn records_invokes_with_redacted_credentials<T: Transport + 'static>(transport: T) {
    let emulator = emulator(Duration::from_secs(3600)).await;
    let recorder = RecordingTransport::new(transport);
    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(StaticToken::new(TOKEN))
        .transport(recorder.clone())
        .build()
        .unwrap();
    let mut payload_sizes = Vec::new();
    for n in 0..5 {
        if n == 3 {
            emulator.inject(FaultRule::once(Fault::error(500, "FSS.0500", "internal error")));
        }
        let payload = json!({ "n": n, "padding": "p".repeat(n * 100) });
        payload_sizes.push(serde_json::to_vec(&payload).unwrap().len());
        let result = client.invoke(urn(&emulator)).json(&payload).send().await;
        assert_eq!(result.is_ok(), n != 3, "{result:?}");
    }

    let exchanges = recorder.exchanges();
    let statuses: Vec<_> = exchanges.iter().map(|e| e.status().map(|s| s.as_u16())).collect();
    assert_eq!(statuses, [Some(200), Some(200), Some(200), Some(500), Some(200)]);
    for (exchange, payload_size) in exchanges.iter().zip(&payload_sizes) {
        assert_eq!(exchange.method, Method::POST);
        assert_eq!(
            exchange.path(),
            format!(
                "/v2/{}/fgs/functions/{}/invocations",
                emulator.project_id(),
                emulator.urn("default", "echo", None).replace(':', "%3A")
            )
        );
        assert!(exchange.uri.starts_with(&emulator.endpoint()), "{}", exchange.uri);
        assert_eq!(exchange.request_bytes, *payload_size);
        assert_eq!(exchange.request_header("x-auth-token"), Some(REDACTED));
        assert_eq!(exchange.request_header("content-type"), Some("application/json"));
        assert!(exchange.elapsed > Duration::ZERO);
        let Outcome::Response { bytes, .. } = &exchange.outcome else {
            panic!("expected a response: {exchange:?}")
        };
        assert!(*bytes > 0);
    }
    assert_eq!(
        exchanges.len(),
        emulator.request_count(),
        "one exchange per request sent"
    );
    assert_no_secrets(&recorder, &[TOKEN]);
}

/// An IAM token that the gateway refuses as expired: the recorder sees the token request,
/// the invoke, the 401, a new token request and the invoke sent once more, with neither the
/// password nor any token in the record.
///
/// The gateway's "expired" is an injected `401 APIGW.0307` for the second invoke rather
/// than a token that really lives a second: a lifetime that short races the clock on a
/// loaded machine (the first invoke could already find its token expired).
async fn records_the_401_and_the_request_sent_again_after_renewal<T: Transport + 'static>(transport: T) {
    let emulator = emulator(Duration::from_secs(3600)).await;
    let recorder = RecordingTransport::new(transport);
    // The auth's clock stands still and no refresh window applies, so nothing but the 401
    // makes it fetch a new token.
    let auth = IamTokenAuth::builder()
        .endpoint(emulator.endpoint())
        .password("acme", "alice", PASSWORD)
        .project_name(emulator.region())
        .transport(recorder.clone())
        .clock(ManualClock::new(SystemTime::now()))
        .refresh_window(Duration::ZERO)
        .build()
        .unwrap();
    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(auth)
        .transport(recorder.clone())
        .build()
        .unwrap();
    client
        .invoke(urn(&emulator))
        .json(&json!({ "n": 1 }))
        .send()
        .await
        .unwrap();
    emulator.inject(FaultRule::once(Fault::error(
        401,
        fgs::ErrorCode::TokenExpired.as_str(),
        "the token has expired",
    )));
    let output = client
        .invoke(urn(&emulator))
        .json(&json!({ "n": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(output.result_json::<serde_json::Value>().unwrap(), json!({ "n": 2 }));

    let exchanges = recorder.exchanges();
    let summary: Vec<_> = exchanges
        .iter()
        .map(|e| {
            let kind = if e.path() == "/v3/auth/tokens" {
                "token"
            } else {
                "invoke"
            };
            (kind, e.status().map(|s| s.as_u16()))
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("token", Some(201)),
            ("invoke", Some(200)),
            ("invoke", Some(401)),
            ("token", Some(201)),
            ("invoke", Some(200)),
        ]
    );
    // IAM's answer carries the token in a header: recorded, but redacted.
    assert_eq!(exchanges[0].response_header("x-subject-token"), Some(REDACTED));
    assert_eq!(exchanges[2].request_header("x-auth-token"), Some(REDACTED));
    // The token request's body holds the password: only its size is kept.
    assert!(exchanges[0].request_bytes > PASSWORD.len());
    let issued: Vec<_> = emulator
        .requests()
        .iter()
        .filter_map(|r| r.headers.get("x-auth-token").map(|v| v.to_str().unwrap().to_owned()))
        .collect();
    assert_eq!(issued.len(), 3);
    assert_ne!(issued[0], issued[2], "the invoke was sent again with a new token");
    let mut secrets = vec![PASSWORD];
    secrets.extend(issued.iter().map(String::as_str));
    assert_no_secrets(&recorder, &secrets);
}

/// Failures are recorded with what the inner transport said about delivery, and reach
/// the client unchanged.
async fn records_failures_with_their_delivery<T: Transport + 'static>(transport: T) {
    let emulator = emulator(Duration::from_secs(3600)).await;
    let recorder = RecordingTransport::new(transport);
    let client = Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(StaticToken::new(TOKEN))
        .transport(recorder.clone())
        .build()
        .unwrap();
    emulator.inject(FaultRule::once(Fault::DropAfterRun));
    let err = client.invoke(urn(&emulator)).send().await.unwrap_err();
    assert!(
        matches!(&err, Error::Transport(e) if e.delivery() == Delivery::MaybeSent),
        "{err:?}"
    );
    assert!(!err.is_retry_safe());

    // Bound but never listening: refuses connections, and no other test can take the port
    // while `_socket` lives (binding port 0, dropping and reusing the number would race).
    let _socket = tokio::net::TcpSocket::new_v4().unwrap();
    _socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
    let refused = _socket.local_addr().unwrap().port();
    let nowhere = Client::builder()
        .endpoint_url(format!("http://127.0.0.1:{refused}"))
        .auth(StaticToken::new(TOKEN))
        .transport(recorder.clone())
        .build()
        .unwrap();
    let err = nowhere.invoke(urn(&emulator)).send().await.unwrap_err();
    assert!(err.is_retry_safe(), "{err:?}");

    let failures: Vec<_> = recorder
        .exchanges()
        .into_iter()
        .map(|e| match e.outcome {
            Outcome::Failed { kind, delivery, .. } => (kind, delivery),
            Outcome::Response { status, .. } => panic!("expected a failure, got {status}"),
        })
        .collect();
    // The dropped connection may have run the function: the client does not send it
    // again. A refused connection certainly did not, so the client's retry policy may try
    // again: each attempt is one more exchange, each sent once by the transport.
    assert_eq!(failures[0], (TransportErrorKind::Io, Delivery::MaybeSent));
    assert!(failures.len() >= 2, "{failures:?}");
    assert!(
        failures[1..]
            .iter()
            .all(|f| *f == (TransportErrorKind::Connect, Delivery::NotSent)),
        "{failures:?}"
    );
    assert_eq!(emulator.invocation_count("default", "echo"), 1);
    assert_no_secrets(&recorder, &[TOKEN]);
}

#[test]
fn credentials_in_headers_and_uris_are_redacted() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        "SDK-HMAC-SHA256 Access=AK, Signature=abc".parse().unwrap(),
    );
    headers.insert("x-security-token", "sts".parse().unwrap());
    let mut marked = http::HeaderValue::from_static("hidden");
    marked.set_sensitive(true);
    headers.insert("x-custom-secret", marked);
    headers.insert("x-cff-log-type", "tail".parse().unwrap());
    let shown = redacted(&headers);
    assert_eq!(find(&shown, "authorization"), Some(REDACTED));
    assert_eq!(find(&shown, "x-security-token"), Some(REDACTED));
    assert_eq!(find(&shown, "x-custom-secret"), Some(REDACTED));
    assert_eq!(find(&shown, "x-cff-log-type"), Some("tail"));

    let uri: http::Uri = "https://user:pw@fgs.example.com:8443/v2/p?x=1".parse().unwrap();
    assert_eq!(without_userinfo(&uri), "https://fgs.example.com:8443/v2/p?x=1");
}

#[tokio::test]
async fn reqwest_records_invokes_with_redacted_credentials() {
    records_invokes_with_redacted_credentials(reqwest()).await;
}

#[tokio::test]
async fn hyper_records_invokes_with_redacted_credentials() {
    records_invokes_with_redacted_credentials(hyper()).await;
}

#[tokio::test]
async fn reqwest_records_the_401_and_the_request_sent_again_after_renewal() {
    records_the_401_and_the_request_sent_again_after_renewal(reqwest()).await;
}

#[tokio::test]
async fn hyper_records_the_401_and_the_request_sent_again_after_renewal() {
    records_the_401_and_the_request_sent_again_after_renewal(hyper()).await;
}

#[tokio::test]
async fn reqwest_records_failures_with_their_delivery() {
    records_failures_with_their_delivery(reqwest()).await;
}

#[tokio::test]
async fn hyper_records_failures_with_their_delivery() {
    records_failures_with_their_delivery(hyper()).await;
}
