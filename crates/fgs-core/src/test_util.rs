//! Test doubles for code that uses the [`Client`](crate::Client): transports that answer
//! from a script instead of a network, and the responses FunctionGraph sends, ready-made.
//!
//! Enabled by the `test-util` feature; turn it on for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! fgs = { version = "0.1", features = ["test-util"] }
//! ```
//!
//! - [`ReplayTransport`] answers requests with a list of [`Replay`]s (responses or
//!   transport failures), in order, and records the requests;
//! - [`CaptureTransport`] answers every request with the same response and records the
//!   requests;
//! - [`invoke_response`], [`function_error_response`], [`error_response`],
//!   [`async_invoke_response`] and [`InvokeResponseBuilder`] build the responses.
//!
//! Both transports are cheap to clone and the clones share their records: hand one clone
//! to the client and keep another to look at what was sent.
//!
//! # Example
//!
//! ```
//! use fgs_core::auth::StaticToken;
//! use fgs_core::test_util::{ReplayTransport, invoke_response};
//! use fgs_core::{Client, FunctionUrn};
//! use serde_json::json;
//!
//! #[derive(Debug, PartialEq, serde::Deserialize)]
//! struct Greeting {
//!     message: String,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let replay = ReplayTransport::new([invoke_response(&json!({ "message": "hello, fgs" }))]);
//! let client = Client::builder()
//!     .endpoint_url("http://127.0.0.1:9") // never contacted: the transport answers
//!     .auth(StaticToken::new("t"))
//!     .transport(replay.clone())
//!     .build()?;
//!
//! let urn: FunctionUrn =
//!     "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest".parse()?;
//! let greeting: Greeting = client.invoke(&urn).json(&json!({ "name": "fgs" })).send().await?.into_result()?;
//! assert_eq!(greeting, Greeting { message: "hello, fgs".into() });
//!
//! // What the client sent:
//! let request = replay.last_request().expect("one request was sent");
//! assert_eq!(request.method(), "POST");
//! assert_eq!(
//!     request.uri().path(),
//!     "/v2/0123456789abcdef0123456789abcdef/fgs/functions/\
//!      urn%3Afss%3Acn-north-4%3A0123456789abcdef0123456789abcdef%3Afunction%3Adefault%3Ahello%3Alatest\
//!      /invocations"
//! );
//! assert_eq!(request.headers()["x-auth-token"], "t");
//! assert_eq!(request.headers()["content-type"], "application/json");
//! assert_eq!(request.body().as_ref(), br#"{"name":"fgs"}"#);
//! replay.assert_all_used();
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};

use crate::generated::operations::headers as names;
use crate::generated::types::{
    AsyncInvokeResult, ErrorResponse, FunctionError, InvokeResult, InvokeSummary, ResponseVersion,
};
use crate::transport::{Delivery, SendOptions, Transport, TransportError};

/// The request id the response helpers put in their responses, unless told otherwise
/// ([`InvokeResponseBuilder::request_id`]).
pub const REQUEST_ID: &str = "00000000-0000-4000-8000-000000000000";

/// `X-Func-Err-Code` of a response whose function raised an error. The service does not
/// document its codes; any value other than `0` marks a raised error.
pub const FUNCTION_ERROR_CODE: &str = "1";

const APPLICATION_JSON: &str = "application/json";

/// Stops a test with `message`. Test utilities report misuse by panicking, like `assert!`.
#[allow(clippy::panic)] // the one place test_util panics; only ever reached from test code.
#[track_caller]
fn fail(message: String) -> ! {
    panic!("{message}")
}

/// Locks `mutex`, carrying on after a panic in another test thread: the records stay
/// readable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `METHOD URI` of a request, for messages.
fn describe(request: &http::Request<Bytes>) -> String {
    format!("{} {}", request.method(), request.uri())
}

// ---------------------------------------------------------------------------------------
// ReplayTransport
// ---------------------------------------------------------------------------------------

/// One scripted answer of a [`ReplayTransport`]: a response, or a transport failure.
///
/// Responses and [`TransportError`]s convert into it, so a list of either can be passed
/// to [`ReplayTransport::new`] directly; mixing the two takes the constructors:
///
/// ```
/// use fgs_core::test_util::{Replay, ReplayTransport, error_response, invoke_response};
/// use fgs_core::transport::{Delivery, TransportError};
///
/// let replay = ReplayTransport::new([
///     Replay::error(TransportError::connect("connection refused")),
///     Replay::error(TransportError::timeout(Delivery::MaybeSent, "no answer in 30 s")),
///     Replay::response(error_response(429, "FSS.0429", "too many requests")),
///     Replay::response(invoke_response(&serde_json::json!(42))),
/// ]);
/// assert_eq!(replay.remaining(), 4);
/// ```
#[derive(Debug)]
pub struct Replay(ReplayKind);

#[derive(Debug)]
enum ReplayKind {
    Response(http::Response<Bytes>),
    Error(TransportError),
}

impl Replay {
    /// Answers with `response` (any status: an error status goes through the client's
    /// error handling like a real one).
    pub fn response(response: http::Response<Bytes>) -> Self {
        Replay(ReplayKind::Response(response))
    }

    /// Fails with `error`, as a transport would: the client returns
    /// [`Error::Timeout`](crate::Error::Timeout) for a
    /// [`TransportErrorKind::Timeout`](crate::transport::TransportErrorKind::Timeout) and
    /// [`Error::Transport`](crate::Error::Transport) for anything else.
    pub fn error(error: TransportError) -> Self {
        Replay(ReplayKind::Error(error))
    }

    /// Whether this replay is a failure rather than a response.
    pub fn is_error(&self) -> bool {
        matches!(self.0, ReplayKind::Error(_))
    }
}

impl From<http::Response<Bytes>> for Replay {
    fn from(response: http::Response<Bytes>) -> Self {
        Replay::response(response)
    }
}

impl From<TransportError> for Replay {
    fn from(error: TransportError) -> Self {
        Replay::error(error)
    }
}

/// A [`Transport`] that answers from a script: each request gets the next [`Replay`],
/// a response or a failure, in the order given. Every request is recorded.
///
/// A request that arrives after the script is used up fails with a
/// [`TransportError`] of kind [`Other`](crate::transport::TransportErrorKind::Other),
/// [`Delivery::NotSent`], whose message says that the replays ran out, so the client
/// returns [`Error::Transport`](crate::Error::Transport). [`assert_all_used`](Self::assert_all_used)
/// checks the other direction: that the code under test made every expected request.
///
/// Each attempt the client makes takes one replay: when the client's retry policy sends
/// a failed request again (for example after a [`Delivery::NotSent`] failure or a
/// throttled 429), the next replay answers the new attempt.
///
/// Clones share the script and the records.
///
/// ```
/// use fgs_core::auth::StaticToken;
/// use fgs_core::test_util::{Replay, ReplayTransport, invoke_response};
/// use fgs_core::transport::{Delivery, TransportError};
/// use fgs_core::{Client, Error, FunctionUrn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let replay = ReplayTransport::new([
///     Replay::error(TransportError::io(Delivery::MaybeSent, "connection reset")),
///     Replay::response(invoke_response(&serde_json::json!({ "total": 3 }))),
/// ]);
/// let client = Client::builder()
///     .endpoint_url("http://127.0.0.1:9")
///     .auth(StaticToken::new("t"))
///     .transport(replay.clone())
///     .build()?;
/// let urn: FunctionUrn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:sum:latest".parse()?;
///
/// // The connection broke after the request went out: the function may have run.
/// let error = client.invoke(&urn).send().await.unwrap_err();
/// assert!(matches!(error, Error::Transport(_)));
/// assert!(!error.is_retry_safe());
///
/// let output = client.invoke(&urn).send().await?;
/// assert_eq!(output.result_json::<serde_json::Value>()?["total"], 3);
///
/// assert_eq!(replay.requests().len(), 2);
/// replay.assert_all_used();
///
/// // One more request finds the script used up (said by the error's cause).
/// let error = client.invoke(&urn).send().await.unwrap_err();
/// let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
/// assert!(cause.contains("no replay left"), "{error}: {cause}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ReplayTransport {
    state: Arc<Mutex<ReplayState>>,
}

struct ReplayState {
    pending: VecDeque<Replay>,
    given: usize,
    requests: Vec<http::Request<Bytes>>,
}

impl ReplayTransport {
    /// A transport that answers with `replays`, in order: anything that converts into a
    /// [`Replay`], such as responses or [`TransportError`]s.
    pub fn new<I>(replays: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Replay>,
    {
        let pending: VecDeque<Replay> = replays.into_iter().map(Into::into).collect();
        ReplayTransport {
            state: Arc::new(Mutex::new(ReplayState {
                given: pending.len(),
                pending,
                requests: Vec::new(),
            })),
        }
    }

    /// Every request sent so far, in order, including those that found the script used
    /// up. Each is the final request, as authenticated.
    pub fn requests(&self) -> Vec<http::Request<Bytes>> {
        lock(&self.state).requests.clone()
    }

    /// The most recent request, if any.
    pub fn last_request(&self) -> Option<http::Request<Bytes>> {
        lock(&self.state).requests.last().cloned()
    }

    /// How many replays have not been used yet.
    pub fn remaining(&self) -> usize {
        lock(&self.state).pending.len()
    }

    /// `Ok` when every replay was used, else `Err` with a message saying how many were
    /// not: the code under test made fewer requests than the test expected.
    ///
    /// ```
    /// use fgs_core::test_util::{ReplayTransport, invoke_response};
    ///
    /// let replay = ReplayTransport::new([invoke_response(&serde_json::json!(null))]);
    /// let message = replay.check_all_used().unwrap_err();
    /// assert!(message.contains("1 of 1 replay was not used"), "{message}");
    /// ```
    pub fn check_all_used(&self) -> Result<(), String> {
        let state = lock(&self.state);
        let unused = state.pending.len();
        if unused == 0 {
            return Ok(());
        }
        let sent = match state.requests.len() {
            0 => "no request was sent".to_owned(),
            1 => "1 request was sent".to_owned(),
            n => format!("{n} requests were sent"),
        };
        let verb = if unused == 1 { "was" } else { "were" };
        let given = state.given;
        let noun = if given == 1 { "replay" } else { "replays" };
        Err(format!(
            "ReplayTransport: {unused} of {given} {noun} {verb} not used ({sent}); the code under test made fewer \
             requests than expected"
        ))
    }

    /// Panics, with a message saying how many replays are left, unless every replay was
    /// used. The non-panicking form is [`check_all_used`](Self::check_all_used).
    ///
    /// # Panics
    ///
    /// When a replay was not used.
    #[track_caller]
    pub fn assert_all_used(&self) {
        if let Err(message) = self.check_all_used() {
            fail(message);
        }
    }

    fn answer(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, TransportError> {
        let mut state = lock(&self.state);
        let what = describe(&request);
        state.requests.push(request);
        match state.pending.pop_front() {
            Some(Replay(ReplayKind::Response(response))) => Ok(response),
            Some(Replay(ReplayKind::Error(error))) => Err(error),
            None => {
                let number = state.requests.len();
                let given = state.given;
                Err(TransportError::other(
                    Delivery::NotSent,
                    format!(
                        "ReplayTransport has no replay left for request {number} ({what}): it was given {given}, \
                         so the code under test made more requests than expected"
                    ),
                ))
            }
        }
    }
}

impl fmt::Debug for ReplayTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("ReplayTransport")
            .field("remaining", &state.pending.len())
            .field("requests", &state.requests.len())
            .finish()
    }
}

#[async_trait]
impl Transport for ReplayTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
        _options: &SendOptions,
    ) -> Result<http::Response<Bytes>, TransportError> {
        self.answer(request)
    }
}

// ---------------------------------------------------------------------------------------
// CaptureTransport
// ---------------------------------------------------------------------------------------

/// A [`Transport`] that answers every request with the same response and records the
/// requests: for tests that only look at what was sent.
///
/// The default response is [`invoke_response`] with a `null` result, which decodes as
/// `()`, `Option<T>` or [`serde_json::Value`].
///
/// Clones share the records.
///
/// ```
/// use fgs_core::auth::StaticToken;
/// use fgs_core::test_util::CaptureTransport;
/// use fgs_core::{Client, FunctionUrn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let capture = CaptureTransport::new();
/// let client = Client::builder()
///     .endpoint_url("http://127.0.0.1:9")
///     .auth(StaticToken::new("t"))
///     .transport(capture.clone())
///     .build()?;
/// let urn: FunctionUrn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:audit:latest".parse()?;
///
/// let () = client.invoke(&urn).json(&[1, 2, 3]).log_tail(true).send().await?.into_result()?;
///
/// let request = capture.last_request().expect("a request was sent");
/// assert_eq!(request.body().as_ref(), b"[1,2,3]");
/// assert_eq!(request.headers()["x-cff-log-type"], "tail");
/// assert_eq!(request.headers()["x-cff-request-version"], "v1");
/// assert_eq!(capture.requests().len(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CaptureTransport {
    response: Arc<http::Response<Bytes>>,
    requests: Arc<Mutex<Vec<http::Request<Bytes>>>>,
}

impl CaptureTransport {
    /// Answers every request with a 200 `v1` invoke response whose result is `null`.
    pub fn new() -> Self {
        Self::with_response(invoke_response(&serde_json::Value::Null))
    }

    /// Answers every request with a copy of `response`.
    ///
    /// ```
    /// use fgs_core::test_util::{CaptureTransport, error_response};
    ///
    /// let capture = CaptureTransport::with_response(error_response(403, "FSS.0403", "forbidden"));
    /// assert!(capture.last_request().is_none());
    /// ```
    pub fn with_response(response: http::Response<Bytes>) -> Self {
        CaptureTransport {
            response: Arc::new(response),
            requests: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Every request sent so far, in order.
    pub fn requests(&self) -> Vec<http::Request<Bytes>> {
        lock(&self.requests).clone()
    }

    /// The most recent request, if any.
    pub fn last_request(&self) -> Option<http::Request<Bytes>> {
        lock(&self.requests).last().cloned()
    }
}

impl Default for CaptureTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for CaptureTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureTransport")
            .field("status", &self.response.status())
            .field("requests", &lock(&self.requests).len())
            .finish()
    }
}

#[async_trait]
impl Transport for CaptureTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
        _options: &SendOptions,
    ) -> Result<http::Response<Bytes>, TransportError> {
        lock(&self.requests).push(request);
        Ok(http::Response::clone(&self.response))
    }
}

// ---------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------

/// A 200 response of a synchronous invoke whose function returned `result`, in the `v1`
/// format the client asks for by default.
///
/// The body is `{"request_id", "result", "log": "", "status": 200}` with `result` the JSON
/// text of `result` (the service sends the function's value as a string); the headers are
/// `Content-Type: application/json`, `X-Cff-Request-Id` ([`REQUEST_ID`]),
/// `X-Cff-Response-Version: v1`, `X-Cff-Invoke-Summary`, `X-Func-Err-Code: 0` and
/// `X-Is-Func-Err: false`. [`InvokeResponseBuilder`] makes variations.
///
/// ```
/// use fgs_core::test_util::{REQUEST_ID, invoke_response};
///
/// let response = invoke_response(&serde_json::json!({ "ok": true }));
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["x-cff-request-id"], REQUEST_ID);
/// let body: serde_json::Value = serde_json::from_slice(response.body())?;
/// assert_eq!(body["result"], r#"{"ok":true}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn invoke_response(result: &serde_json::Value) -> http::Response<Bytes> {
    InvokeResponseBuilder::new(result).build()
}

/// A 200 response of a synchronous invoke whose function raised `error_type` with
/// `message`: `result` is `{"errorMessage", "errorType", "stackTrace": []}`, and the
/// headers say `X-Is-Func-Err: true`, `X-Func-Err-Code: 1` ([`FUNCTION_ERROR_CODE`]).
///
/// The call succeeds; the client reports the error as data
/// ([`InvokeOutput::function_error`](crate::InvokeOutput::function_error)), or as
/// [`Error::Function`](crate::Error::Function) from
/// [`into_result`](crate::InvokeOutput::into_result).
///
/// ```
/// use fgs_core::test_util::function_error_response;
///
/// let response = function_error_response("ValueError", "name is required");
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["x-is-func-err"], "true");
/// ```
pub fn function_error_response(error_type: &str, message: &str) -> http::Response<Bytes> {
    InvokeResponseBuilder::function_error(error_type, message).build()
}

/// An error response of the service or its API gateway: `status` with the body
/// `{"error_code": code, "error_msg": message}` and `X-Request-Id` ([`REQUEST_ID`]).
///
/// The client turns it into [`Error::Service`](crate::Error::Service) carrying `code`.
///
/// ```
/// use fgs_core::test_util::error_response;
///
/// let response = error_response(404, "FSS.1051", "function not found");
/// assert_eq!(response.status(), 404);
/// assert_eq!(response.body().as_ref(), br#"{"error_code":"FSS.1051","error_msg":"function not found"}"#);
/// ```
///
/// # Panics
///
/// When `status` is not an HTTP status (100 to 999).
#[track_caller]
pub fn error_response(status: u16, code: &str, message: &str) -> http::Response<Bytes> {
    let status = match StatusCode::from_u16(status) {
        Ok(status) => status,
        Err(_) => fail(format!("test_util::error_response: {status} is not an HTTP status")),
    };
    let body = json_body(&ErrorResponse::new(code.to_owned(), message.to_owned()));
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(APPLICATION_JSON));
    headers.insert(names::X_REQUEST_ID, HeaderValue::from_static(REQUEST_ID));
    response(status, headers, body)
}

/// A 202 response of an asynchronous invoke: `{"request_id": request_id}`.
///
/// ```
/// use fgs_core::test_util::async_invoke_response;
///
/// let response = async_invoke_response("run-1");
/// assert_eq!(response.status(), 202);
/// assert_eq!(response.body().as_ref(), br#"{"request_id":"run-1"}"#);
/// ```
pub fn async_invoke_response(request_id: &str) -> http::Response<Bytes> {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(APPLICATION_JSON));
    let body = json_body(&AsyncInvokeResult::new(request_id.to_owned()));
    response(StatusCode::ACCEPTED, headers, body)
}

/// A generated wire type as JSON.
#[track_caller]
fn json_body(value: &impl serde::Serialize) -> Bytes {
    match serde_json::to_vec(value) {
        Ok(body) => Bytes::from(body),
        Err(e) => fail(format!("test_util: a response body cannot be serialised: {e}")),
    }
}

fn response(status: StatusCode, headers: HeaderMap, body: Bytes) -> http::Response<Bytes> {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// Builds a 200 synchronous-invoke response with a chosen request id, log, summary or
/// format. [`invoke_response`] and [`function_error_response`] are its defaults.
///
/// ```
/// use fgs_core::ResponseVersion;
/// use fgs_core::test_util::InvokeResponseBuilder;
///
/// let response = InvokeResponseBuilder::new(&serde_json::json!("done"))
///     .request_id("req-7")
///     .log("START\nEND\n")
///     .response_version(ResponseVersion::V0)
///     .build();
/// // v0: the result is the body; the log travels Base64-encoded in a header.
/// assert_eq!(response.body().as_ref(), br#""done""#);
/// assert_eq!(response.headers()["x-cff-request-id"], "req-7");
/// assert_eq!(response.headers()["x-cff-function-log"], "U1RBUlQKRU5ECg==");
/// ```
#[derive(Debug, Clone)]
#[must_use = "call build() to get the response"]
pub struct InvokeResponseBuilder {
    result: String,
    function_error_code: Option<String>,
    request_id: String,
    log: Option<String>,
    summary: InvokeSummary,
    version: ResponseVersion,
}

impl InvokeResponseBuilder {
    /// A function that returned `result`.
    pub fn new(result: &serde_json::Value) -> Self {
        Self::raw(result.to_string())
    }

    /// A function whose result is `result` exactly as given, for a result that is not
    /// JSON (which [`InvokeOutput::result_str`](crate::InvokeOutput::result_str) reads).
    pub fn raw(result: impl Into<String>) -> Self {
        InvokeResponseBuilder {
            result: result.into(),
            function_error_code: None,
            request_id: REQUEST_ID.to_owned(),
            log: None,
            summary: {
                let mut summary = InvokeSummary::new();
                summary.billing_duration = Some(2.0);
                summary.duration = Some(1.5);
                summary.memory_size = Some(128);
                summary.memory_used = Some(32.0);
                summary
            },
            version: ResponseVersion::V1,
        }
    }

    /// A function that raised `error_type` with `message` (see [`function_error_response`]).
    pub fn function_error(error_type: &str, message: &str) -> Self {
        let mut error = FunctionError::new();
        error.error_message = Some(message.to_owned());
        error.error_type = Some(error_type.to_owned());
        error.stack_trace = Some(Vec::new());
        Self::raw(String::from_utf8_lossy(&json_body(&error)).into_owned()).function_error_code(FUNCTION_ERROR_CODE)
    }

    /// Marks the run as failed with `X-Func-Err-Code: code` and `X-Is-Func-Err: true`
    /// (the result is whatever was given, e.g. a timeout's error document).
    pub fn function_error_code(mut self, code: impl Into<String>) -> Self {
        self.function_error_code = Some(code.into());
        self
    }

    /// The request id, in the body (`v1`) and `X-Cff-Request-Id`. Default [`REQUEST_ID`].
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = request_id.into();
        self
    }

    /// The tail of the function's log, as the service sends it when asked with
    /// [`Invoke::log_tail`](crate::Invoke::log_tail): in the `v1` body and Base64-encoded
    /// in `X-Cff-Function-Log`.
    pub fn log(mut self, log: impl Into<String>) -> Self {
        self.log = Some(log.into());
        self
    }

    /// The execution summary sent in `X-Cff-Invoke-Summary`. The default says 1.5 ms,
    /// billed 2 ms, 128 MB configured and 32 MB used.
    pub fn summary(mut self, summary: InvokeSummary) -> Self {
        self.summary = summary;
        self
    }

    /// The response format: `v1` (the default) wraps the result in a JSON envelope, `v0`
    /// sends it as the body.
    pub fn response_version(mut self, version: ResponseVersion) -> Self {
        self.version = version;
        self
    }

    /// The response.
    ///
    /// # Panics
    ///
    /// When the request id cannot be sent in a header.
    #[track_caller]
    pub fn build(self) -> http::Response<Bytes> {
        let summary = match serde_json::to_string(&self.summary) {
            Ok(summary) => summary,
            Err(e) => fail(format!("test_util: the invoke summary cannot be serialised: {e}")),
        };
        let raised = self.function_error_code.is_some();
        let mut headers = HeaderMap::new();
        let mut set = |name: HeaderName, value: String| match HeaderValue::try_from(value) {
            Ok(value) => {
                headers.insert(name, value);
            }
            Err(_) => fail(format!(
                "test_util: the value given for {name} cannot be sent in an HTTP header"
            )),
        };
        set(http::header::CONTENT_TYPE, APPLICATION_JSON.to_owned());
        set(names::X_CFF_REQUEST_ID, self.request_id.clone());
        set(names::X_CFF_RESPONSE_VERSION, self.version.as_str().to_owned());
        set(names::X_CFF_INVOKE_SUMMARY, summary);
        set(
            names::X_FUNC_ERR_CODE,
            self.function_error_code.unwrap_or_else(|| "0".to_owned()),
        );
        set(names::X_IS_FUNC_ERR, raised.to_string());
        if let Some(log) = &self.log {
            set(
                names::X_CFF_FUNCTION_LOG,
                base64::engine::general_purpose::STANDARD.encode(log),
            );
        }
        let body = match self.version {
            ResponseVersion::V0 => Bytes::from(self.result),
            _ => {
                let mut envelope = InvokeResult::new(self.request_id, self.result);
                envelope.log = Some(self.log.unwrap_or_default());
                envelope.status = Some(200);
                json_body(&envelope)
            }
        };
        response(StatusCode::OK, headers, body)
    }
}
