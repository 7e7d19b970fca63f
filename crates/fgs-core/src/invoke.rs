//! Synchronous and asynchronous invocation.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument as _;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{CallTarget, Client, Deadline};
use crate::error::{DecodeError, Error, FunctionHttpStatus, FunctionRaised, InvalidInput};
use crate::generated::operations::headers as names;
use crate::generated::operations::headers::as_written;
use crate::generated::operations::{
    AsyncInvokeFunction, AsyncInvokeFunctionRequest, InvokeFunction, InvokeFunctionRequest,
    InvokeFunctionResponseHeaders,
};
use crate::generated::types::{FunctionError, InstanceMemory, InvokeSummary, LogType, ResponseVersion};
use crate::protocol::{FromHeaderMap as _, header_bool, header_enum, header_string, header_text, quoted_prefix};
use crate::retry::RetryPolicy;
use crate::{FunctionRef, FunctionUrn, UrnError};
use serde_json::value::RawValue;

/// Cap on the answer to an asynchronous invoke, `{"request_id": ...}`.
const ASYNC_MAX_RESPONSE_BYTES: u64 = 1 << 20;

/// The event sent when the caller gives none: the service expects a JSON object.
const EMPTY_EVENT: &[u8] = b"{}";

/// The function a call goes to: a full URN, or a [`FunctionRef`] completed with the
/// client's region and project when the call is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionTarget {
    /// A full URN: it names its own region and project.
    Urn(FunctionUrn),
    /// `package/name[:version|:!alias]`, in the client's region and project.
    Ref(FunctionRef),
}

impl FunctionTarget {
    /// Parses a full URN (text starting `urn:`) or a `package/name[:version|:!alias]`
    /// reference.
    pub fn parse(text: &str) -> Result<Self, UrnError> {
        if text.starts_with("urn:") {
            FunctionUrn::parse(text).map(FunctionTarget::Urn)
        } else {
            FunctionRef::parse(text).map(FunctionTarget::Ref)
        }
    }

    /// `package/name`, for messages and traces.
    fn package_and_name(&self) -> (&str, &str) {
        match self {
            FunctionTarget::Urn(urn) => (urn.package(), urn.name()),
            FunctionTarget::Ref(function) => (function.package(), function.name()),
        }
    }

    fn qualifier(&self) -> Option<fgs_urn::Qualifier<'_>> {
        match self {
            FunctionTarget::Urn(urn) => urn.qualifier(),
            FunctionTarget::Ref(function) => function.qualifier(),
        }
    }
}

impl fmt::Display for FunctionTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FunctionTarget::Urn(urn) => fmt::Display::fmt(urn, f),
            FunctionTarget::Ref(function) => fmt::Display::fmt(function, f),
        }
    }
}

impl std::str::FromStr for FunctionTarget {
    type Err = UrnError;
    fn from_str(text: &str) -> Result<Self, UrnError> {
        FunctionTarget::parse(text)
    }
}

/// What [`Client::invoke`] accepts: a [`FunctionUrn`], a [`FunctionRef`], a
/// [`FunctionTarget`], or text holding either (parsed when the call is set up; a parse
/// error is reported by `send`, before anything is sent).
pub trait IntoFunctionTarget {
    /// The target, or why the text names none.
    fn into_function_target(self) -> Result<FunctionTarget, UrnError>;
}

impl IntoFunctionTarget for FunctionTarget {
    fn into_function_target(self) -> Result<FunctionTarget, UrnError> {
        Ok(self)
    }
}

impl IntoFunctionTarget for &FunctionTarget {
    fn into_function_target(self) -> Result<FunctionTarget, UrnError> {
        Ok(self.clone())
    }
}

impl IntoFunctionTarget for FunctionUrn {
    fn into_function_target(self) -> Result<FunctionTarget, UrnError> {
        Ok(FunctionTarget::Urn(self))
    }
}

impl IntoFunctionTarget for &FunctionUrn {
    fn into_function_target(self) -> Result<FunctionTarget, UrnError> {
        Ok(FunctionTarget::Urn(self.clone()))
    }
}

/// A URN shared between tasks.
impl IntoFunctionTarget for &Arc<FunctionUrn> {
    fn into_function_target(self) -> Result<FunctionTarget, UrnError> {
        Ok(FunctionTarget::Urn(FunctionUrn::clone(self)))
    }
}

impl IntoFunctionTarget for FunctionRef {
    fn into_function_target(self) -> Result<FunctionTarget, UrnError> {
        Ok(FunctionTarget::Ref(self))
    }
}

impl IntoFunctionTarget for &FunctionRef {
    fn into_function_target(self) -> Result<FunctionTarget, UrnError> {
        Ok(FunctionTarget::Ref(self.clone()))
    }
}

impl IntoFunctionTarget for &str {
    fn into_function_target(self) -> Result<FunctionTarget, UrnError> {
        FunctionTarget::parse(self)
    }
}

impl IntoFunctionTarget for &String {
    fn into_function_target(self) -> Result<FunctionTarget, UrnError> {
        FunctionTarget::parse(self)
    }
}

impl IntoFunctionTarget for String {
    fn into_function_target(self) -> Result<FunctionTarget, UrnError> {
        FunctionTarget::parse(&self)
    }
}

impl Client {
    /// Starts a synchronous invocation of `function`: the function runs and its result
    /// comes back in the response.
    ///
    /// `function` is a [`FunctionUrn`], a [`FunctionRef`] (`package/name[:version|:!alias]`,
    /// completed with the client's region and project) or text holding either. The
    /// returned [`Invoke`] owns a clone of the client (one `Arc`), so its `send()` future
    /// is `'static` and can be spawned:
    ///
    /// ```no_run
    /// # async fn demo(client: fgs_core::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let call = client.invoke("default/hello:!prod").json(&serde_json::json!({"n": 1}));
    /// let output = tokio::spawn(call.send()).await??;
    /// println!("{}", output.result_str()?);
    /// # Ok(()) }
    /// ```
    ///
    /// A synchronous invoke is not idempotent: it is never sent again when the function may
    /// have run, unless the call is marked [`idempotent`](Invoke::idempotent). It is sent
    /// again (by the default [`StandardRetry`](crate::retry::StandardRetry)) only when the
    /// function certainly did not run, e.g. after throttling or a refused connection.
    pub fn invoke(&self, function: impl IntoFunctionTarget) -> Invoke {
        Invoke {
            client: self.clone(),
            function: function.into_function_target(),
            body: Ok(Bytes::from_static(EMPTY_EVENT)),
            log_type: None,
            response_version: ResponseVersion::V1,
            memory: None,
            timeout: None,
            idempotent: false,
            retry: None,
            max_response_bytes: None,
        }
    }

    /// Starts an asynchronous invocation of `urn`: the service queues the run and answers
    /// at once with its request id.
    pub fn invoke_async(&self, function: impl IntoFunctionTarget) -> InvokeAsync {
        InvokeAsync {
            client: self.clone(),
            function: function.into_function_target(),
            body: Ok(Bytes::from_static(EMPTY_EVENT)),
            memory: None,
            timeout: None,
        }
    }
}

fn serialize_event<T: Serialize + ?Sized>(event: &T) -> Result<Bytes, InvalidInput> {
    serde_json::to_vec(event)
        .map(Bytes::from)
        .map_err(InvalidInput::Serialize)
}

/// A synchronous invocation being set up; [`send`](Invoke::send) runs it.
#[must_use = "nothing is sent until `send` is awaited"]
pub struct Invoke {
    client: Client,
    function: Result<FunctionTarget, UrnError>,
    body: Result<Bytes, InvalidInput>,
    log_type: Option<LogType>,
    response_version: ResponseVersion,
    memory: Option<InstanceMemory>,
    timeout: Option<Duration>,
    idempotent: bool,
    retry: Option<Arc<dyn RetryPolicy>>,
    max_response_bytes: Option<u64>,
}

impl fmt::Debug for Invoke {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invoke")
            .field("function", &self.function)
            .field("body_bytes", &self.body.as_ref().map(Bytes::len).ok())
            .field("log_type", &self.log_type)
            .field("response_version", &self.response_version)
            .field("memory", &self.memory)
            .field("timeout", &self.timeout)
            .field("idempotent", &self.idempotent)
            .finish()
    }
}

impl Invoke {
    /// The event, serialised as JSON. A serialisation failure is reported by `send`.
    pub fn json<T: Serialize + ?Sized>(mut self, event: &T) -> Self {
        self.body = serialize_event(event);
        self
    }

    /// The event as JSON bytes, sent as they are (no copy). The default is `{}`.
    pub fn body(mut self, event: impl Into<Bytes>) -> Self {
        self.body = Ok(event.into());
        self
    }

    /// Asks for the tail of the function's log (`X-Cff-Log-Type: tail`).
    pub fn log_tail(mut self, tail: bool) -> Self {
        self.log_type = tail.then_some(LogType::Tail);
        self
    }

    /// The response format. The default is `v1`, the JSON envelope; `v0` returns the raw
    /// result. Both give the same [`InvokeOutput`].
    pub fn response_version(mut self, version: ResponseVersion) -> Self {
        self.response_version = version;
        self
    }

    /// Memory for this invocation only (the function must allow dynamic memory).
    pub fn memory(mut self, memory: InstanceMemory) -> Self {
        self.memory = Some(memory);
        self
    }

    /// Overrides the client's deadline for this call: it covers authentication, every
    /// attempt and every wait between attempts
    /// (see [`ClientBuilder::timeout`](crate::ClientBuilder::timeout)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Overrides the client's response body cap for this call
    /// ([`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)).
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = Some(limit);
        self
    }

    /// Declares that running the function twice for one call is harmless. This is the
    /// only flag under which the standard retry policy re-sends a call that may have
    /// reached the service (a read timeout, a dropped connection, a 5xx).
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Whether the call was declared [`idempotent`](Self::idempotent).
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// Uses `policy` instead of the client's retry policy for this call.
    pub fn retry_policy(mut self, policy: Arc<dyn RetryPolicy>) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Sends the request (again only as the retry policy allows) and waits for the
    /// function's result.
    ///
    /// Traced as an `fgs.invoke` span with the function (package and name, not the
    /// project), attempt, status, request id, duration and billed duration; never the
    /// payload or credentials.
    pub async fn send(self) -> Result<InvokeOutput, Error> {
        let span = invoke_span("sync", &self.function, &self.client);
        let started = (!span.is_disabled()).then(Instant::now);
        // Boxed: the call's state machine is several KB, and unboxed every move of this
        // future (into a task, into `Instrumented`) would copy all of it.
        let result = Box::pin(self.send_inner()).instrument(span.clone()).await;
        record_outcome(&span, started, &result, |output| {
            span.record("status", output.status().as_u16());
            span.record("request_id", output.request_id().unwrap_or_default());
            if let Some(billed) = output.summary().and_then(|s| s.billing_duration) {
                span.record("billing_duration_ms", billed);
            }
            span.record("function_error", output.is_function_error());
        });
        result
    }

    // Not an `async fn`: that would keep a second copy of `self` in the state machine.
    #[allow(clippy::manual_async_fn)]
    fn send_inner(self) -> impl std::future::Future<Output = Result<InvokeOutput, Error>> + Send {
        async move {
            let body = self.body?;
            let function = self.function?;
            let deadline = Deadline::starting_now(self.timeout.unwrap_or(self.client.timeout()));
            let urn = self.client.resolve_function(&function, &deadline).await?;
            record_urn(&urn, &self.client);
            let mut params = InvokeFunctionRequest::new(urn.project_id(), urn.as_str());
            params.log_type = self.log_type;
            params.request_version = Some(self.response_version.clone());
            params.instance_memory = self.memory;
            let target = CallTarget {
                project_id: urn.project_id(),
                region: urn.region(),
                deadline: &deadline,
                idempotent: self.idempotent,
                retry: self.retry,
                max_response_bytes: self.max_response_bytes,
                uri_key: Some(urn.as_str()),
            };
            let raw = self.client.execute::<InvokeFunction>(&params, body, target).await?;
            InvokeOutput::decode(raw.status, raw.headers, raw.body, &self.response_version)
        }
    }
}

/// The outcome of a synchronous invocation: the function ran.
///
/// If the function raised an error the call still succeeds; check
/// [`is_function_error`](Self::is_function_error) or [`function_error`](Self::function_error).
/// Both response formats (`v1` JSON envelope, `v0` raw body) decode into this type.
#[derive(Clone)]
pub struct InvokeOutput {
    status: StatusCode,
    headers: HeaderMap,
    response_version: ResponseVersion,
    request_id: Option<String>,
    result: Bytes,
    log: Option<String>,
    function_status: Option<i32>,
    /// What reading the body found wrong, in the order found.
    body_problems: Vec<ResponseProblem>,
    /// The typed headers, and every problem (the headers' first, then `body_problems`),
    /// made when one of them is first asked for: most callers read the result alone, and
    /// parsing the informational headers (the summary JSON above all) on every call would
    /// charge them for what they never read.
    /// Boxed: the output is moved several times on its way to the caller, and inline this
    /// would make each move copy some 250 bytes that most callers never look at.
    informational: std::sync::OnceLock<Box<Informational>>,
}

/// The lazily decoded part of an [`InvokeOutput`].
#[derive(Clone)]
struct Informational {
    typed_headers: InvokeFunctionResponseHeaders,
    problems: Vec<ResponseProblem>,
}

impl fmt::Debug for InvokeOutput {
    // The result and log are the user's data: shown by size only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvokeOutput")
            .field("status", &self.status)
            .field("request_id", &self.request_id)
            .field("response_version", &self.response_version)
            .field("is_function_error", &self.is_function_error())
            .field("function_error_code", &self.function_error_code())
            .field("summary", &self.summary())
            .field("result_bytes", &self.result.len())
            .field("log_bytes", &self.log.as_ref().map(String::len))
            .field("problems", &self.problems())
            .finish_non_exhaustive()
    }
}

impl InvokeOutput {
    /// Reads a 2xx response. Only the result decides: once the body yields it (the v1
    /// envelope's `result`, or the v0 body itself) this succeeds, and every informational
    /// part that is malformed becomes a [`ResponseProblem`] instead of an error.
    ///
    /// Reads now only the headers that reading the body depends on (the format, the log
    /// and the request id), each on its own: a malformed one counts as absent here and is
    /// reported by [`informational`](Self::informational) with the others.
    fn decode(status: StatusCode, headers: HeaderMap, body: Bytes, requested: &ResponseVersion) -> Result<Self, Error> {
        let mut problems: Vec<ResponseProblem> = Vec::new();
        let declared_version: Option<ResponseVersion> = header_enum(
            &headers,
            &names::X_CFF_RESPONSE_VERSION,
            as_written::X_CFF_RESPONSE_VERSION,
        )
        .ok()
        .flatten();
        // The response says which format it is in; the request decides when it does not
        // say, or says something this SDK does not know.
        let version = match declared_version {
            Some(known @ (ResponseVersion::V0 | ResponseVersion::V1)) => known,
            Some(other) => {
                problems.push(ResponseProblem::new(
                    format!("header {}", as_written::X_CFF_RESPONSE_VERSION),
                    format!(
                        "is {}, read as the requested {requested}",
                        quoted_prefix(other.as_str())
                    ),
                ));
                requested.clone()
            }
            None => requested.clone(),
        };
        let header_log = header_text(&headers, &names::X_CFF_FUNCTION_LOG, as_written::X_CFF_FUNCTION_LOG)
            .ok()
            .flatten()
            .and_then(|encoded| match decode_log(encoded) {
                Ok(log) => Some(log),
                Err(e) => {
                    problems.push(ResponseProblem::new(
                        format!("header {}", as_written::X_CFF_FUNCTION_LOG),
                        format!("is not Base64 ({e}); the raw value is in headers()"),
                    ));
                    None
                }
            });
        let (request_id, result, body_log, function_status) = match version {
            ResponseVersion::V0 => (None, body, None, None),
            _ => match read_envelope(body, &mut problems) {
                Ok(envelope) => envelope,
                Err(((what, source), body)) => {
                    return Err(Error::Decode(Box::new(DecodeError::new(
                        "invokeFunction",
                        Some(status),
                        what,
                        headers,
                        &body,
                        source,
                    ))));
                }
            },
        };
        // The body carries the log as text in v1; the header is the only source in v0.
        let log = body_log.filter(|log| !log.is_empty()).or(header_log);
        let request_id = request_id.or_else(|| {
            header_string(&headers, &names::X_CFF_REQUEST_ID, as_written::X_CFF_REQUEST_ID)
                .ok()
                .flatten()
        });
        Ok(InvokeOutput {
            status,
            headers,
            request_id,
            response_version: version,
            result,
            log,
            function_status,
            body_problems: problems,
            informational: std::sync::OnceLock::new(),
        })
    }

    /// The typed headers and every problem, decoded on first use.
    fn informational(&self) -> &Informational {
        self.informational.get_or_init(|| {
            let mut header_problems = Vec::new();
            // Every header of this response is optional, so reading them cannot fail; were
            // one made required, `Default` would no longer be derived and this would not
            // compile, which is the moment to decide what a missing one means here.
            let typed_headers = InvokeFunctionResponseHeaders::from_header_map(&self.headers, &mut header_problems)
                .unwrap_or_else(|e| {
                    header_problems.push(e);
                    InvokeFunctionResponseHeaders::default()
                });
            let problems = header_problems
                .into_iter()
                .map(ResponseProblem::from)
                .chain(self.body_problems.iter().cloned())
                .collect();
            Box::new(Informational {
                typed_headers,
                problems,
            })
        })
    }

    /// HTTP status (200).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// All response headers as received.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The typed response headers.
    pub fn typed_headers(&self) -> &InvokeFunctionResponseHeaders {
        &self.informational().typed_headers
    }

    /// The format the response came in.
    pub fn response_version(&self) -> &ResponseVersion {
        &self.response_version
    }

    /// Request id of this invocation.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The function's return value as the service sent it: usually JSON text. Empty when
    /// the v1 body's `result` is `null`; a `result` that is not a string (a service that
    /// does not stringify it) is kept as its JSON text.
    pub fn result(&self) -> &Bytes {
        &self.result
    }

    /// The result as text.
    pub fn result_str(&self) -> Result<&str, Error> {
        std::str::from_utf8(&self.result).map_err(|e| self.result_error("the function result as UTF-8", e.into()))
    }

    /// Decodes the result as JSON into `T` (the service returns the function's value as a
    /// string, so this is the second of two parses).
    pub fn result_json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.result).map_err(|e| self.result_error("the function result as JSON", e.into()))
    }

    /// The tail of the function's log, decoded, when it was asked for with
    /// [`Invoke::log_tail`].
    pub fn log(&self) -> Option<&str> {
        self.log.as_deref()
    }

    /// The execution summary: duration, billed duration and memory. `None` when the
    /// service sent none, or sent one that is not the documented JSON: then
    /// [`summary_raw`](Self::summary_raw) has the text and [`problems`](Self::problems)
    /// says what is wrong with it.
    pub fn summary(&self) -> Option<&InvokeSummary> {
        self.informational().typed_headers.invoke_summary.as_ref()
    }

    /// `X-Cff-Invoke-Summary` as sent (invalid UTF-8 replaced), whether or not it parsed.
    pub fn summary_raw(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.headers
            .get(crate::generated::operations::headers::X_CFF_INVOKE_SUMMARY)
            .map(|value| String::from_utf8_lossy(value.as_bytes()))
    }

    /// The informational parts of the response that were present but malformed: a
    /// summary that is not JSON, a log header that is not Base64, an `X-Is-Func-Err` that
    /// is not a boolean, a `status` that is not a number, ... None of them failed the call;
    /// the accessor of each part returns `None`, and the raw headers stay in
    /// [`headers`](Self::headers). Empty for a well-formed response.
    pub fn problems(&self) -> &[ResponseProblem] {
        &self.informational().problems
    }

    /// The billing-duration header ([`X_CFF_BILLING_DURATION`](crate::generated::operations::headers::X_CFF_BILLING_DURATION))
    /// as the service sends it (text). The billed time as a number of milliseconds is
    /// [`summary`](Self::summary)`()?.billing_duration`.
    pub fn billing_duration_header(&self) -> Option<&str> {
        self.informational().typed_headers.billing_duration_header.as_deref()
    }

    /// Whether the function raised an error: `X-Is-Func-Err` is `true` (any case) or `1`,
    /// or `X-Func-Err-Code` is present and not `0`. An `X-Is-Func-Err` of any other shape
    /// is listed in [`problems`](Self::problems) and decides nothing.
    pub fn is_function_error(&self) -> bool {
        // Read on its own (typed stubs ask on every call); a malformed value counts as
        // absent, as in `typed_headers()`, whose problems list it.
        header_bool(&self.headers, &names::X_IS_FUNC_ERR, as_written::X_IS_FUNC_ERR)
            .ok()
            .flatten()
            .unwrap_or(false)
            || self
                .function_error_code()
                .is_some_and(|code| code.trim() != "0" && !code.trim().is_empty())
    }

    /// The invocation's error code (`X-Func-Err-Code`; `0` on success).
    pub fn function_error_code(&self) -> Option<&str> {
        header_text(&self.headers, &names::X_FUNC_ERR_CODE, as_written::X_FUNC_ERR_CODE)
            .ok()
            .flatten()
    }

    /// The `status` field of the v1 body (`None` in v0, when absent, or when it is not an
    /// integer; see [`problems`](Self::problems)).
    pub fn function_status(&self) -> Option<i32> {
        self.function_status
    }

    /// The error the function raised, parsed from the result; `None` when it did not raise.
    pub fn function_error(&self) -> Result<Option<FunctionError>, Error> {
        if self.is_function_error() {
            self.result_json().map(Some)
        } else {
            Ok(None)
        }
    }

    /// The decoded result, or [`Error::Function`] when the function raised an error.
    ///
    /// ```no_run
    /// # async fn demo(client: fgs_core::Client, urn: fgs_core::FunctionUrn) -> Result<(), fgs_core::Error> {
    /// let sum: i64 = client.invoke(&urn).json(&[1, 2]).send().await?.into_result()?;
    /// # Ok(()) }
    /// ```
    pub fn into_result<T: DeserializeOwned>(self) -> Result<T, Error> {
        self.raised()?;
        self.result_json()
    }

    /// The result read as the response of a function behind API Gateway,
    /// `{statusCode, isBase64Encoded, body, headers}`, with `body` Base64-decoded when so
    /// marked.
    pub fn api_gateway_response(&self) -> Result<ApiGatewayResponse, Error> {
        let envelope: ApiGatewayEnvelope = self.result_json()?;
        let body = match envelope.body {
            serde_json::Value::Null => Bytes::new(),
            serde_json::Value::String(text) if envelope.is_base64_encoded => Bytes::from(
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|e| self.result_error("the Base64 body of the API Gateway response", e.into()))?,
            ),
            serde_json::Value::String(text) => Bytes::from(text),
            // Some runtimes put the JSON value itself in `body`.
            other => Bytes::from(other.to_string()),
        };
        Ok(ApiGatewayResponse {
            status_code: envelope.status_code,
            headers: envelope.headers,
            body,
        })
    }

    /// For a function behind API Gateway: [`Error::Function`] when it raised,
    /// [`Error::FunctionStatus`] when `statusCode` is not 2xx, else `body` decoded as
    /// JSON into `T`.
    pub fn into_api_gateway_result<T: DeserializeOwned>(self) -> Result<T, Error> {
        self.raised()?;
        let response = self.api_gateway_response()?;
        if !(200..300).contains(&response.status_code) {
            return Err(Error::FunctionStatus(Box::new(FunctionHttpStatus {
                status_code: response.status_code,
                headers: response.headers,
                body: response.body,
                request_id: self.request_id.clone(),
            })));
        }
        serde_json::from_slice(&response.body).map_err(|e| {
            Error::Decode(Box::new(DecodeError::new(
                "invokeFunction",
                Some(self.status),
                "the API Gateway response body as JSON",
                self.headers.clone(),
                &response.body,
                Some(e.into()),
            )))
        })
    }

    /// `Err(Error::Function)` when the function raised.
    fn raised(&self) -> Result<(), Error> {
        if !self.is_function_error() {
            return Ok(());
        }
        // A result that is not the documented error document still means the function
        // failed; it is kept whole in `result`.
        let details: FunctionError = self.result_json().unwrap_or(FunctionError {
            error_message: None,
            error_type: None,
            stack_trace: None,
        });
        Err(Error::Function(Box::new(FunctionRaised {
            error_type: details.error_type,
            error_message: details.error_message,
            stack_trace: details.stack_trace.unwrap_or_default(),
            error_code: self.function_error_code().map(str::to_owned),
            request_id: self.request_id.clone(),
            result: self.result.clone(),
        })))
    }

    fn result_error(&self, what: &str, source: Box<dyn std::error::Error + Send + Sync>) -> Error {
        Error::Decode(Box::new(DecodeError::new(
            "invokeFunction",
            Some(self.status),
            what,
            self.headers.clone(),
            &self.result,
            Some(source),
        )))
    }
}

/// The `fgs.invoke` span: which function (never the project id or the payload), and
/// empty fields the call fills in.
fn invoke_span(mode: &'static str, function: &Result<FunctionTarget, UrnError>, client: &Client) -> tracing::Span {
    let region = match function {
        Ok(FunctionTarget::Urn(urn)) => urn.region(),
        _ => client.region().unwrap_or_default(),
    };
    let (package, name) = function.as_ref().map_or(("", ""), FunctionTarget::package_and_name);
    let span = tracing::info_span!(
        "fgs.invoke",
        mode,
        region,
        function = %format_args!("{package}/{name}"),
        qualifier = tracing::field::Empty,
        urn = tracing::field::Empty,
        attempt = tracing::field::Empty,
        status = tracing::field::Empty,
        request_id = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
        billing_duration_ms = tracing::field::Empty,
        function_error = tracing::field::Empty,
        error = tracing::field::Empty,
    );
    // Formatted only when someone listens: the hot path pays nothing without a subscriber.
    if !span.is_disabled() {
        match function.as_ref().ok().and_then(FunctionTarget::qualifier) {
            Some(qualifier) => span.record("qualifier", tracing::field::display(qualifier)),
            None => span.record("qualifier", "latest"),
        };
    }
    span
}

/// Records the URN a call resolved to in the current `fgs.invoke` span, when the client
/// traces full URNs.
fn record_urn(urn: &FunctionUrn, client: &Client) {
    if client.traces_full_urn() {
        tracing::Span::current().record("urn", urn.as_str());
    }
}

/// Records how the call ended on its span. `started` is `None` for a span that records
/// nothing, and then nothing is read (the informational headers are decoded on first use,
/// and the clock is not read).
fn record_outcome<T>(
    span: &tracing::Span,
    started: Option<Instant>,
    result: &Result<T, Error>,
    success: impl FnOnce(&T),
) {
    let Some(started) = started else {
        return;
    };
    span.record("duration_ms", started.elapsed().as_secs_f64() * 1000.0);
    match result {
        Ok(output) => success(output),
        Err(error) => {
            span.record("status", error.status().map_or(0, |s| s.as_u16()));
            span.record("error", tracing::field::display(error));
            if let Some(id) = error.request_id() {
                span.record("request_id", id);
            }
        }
    }
}

/// The response of a function behind API Gateway.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApiGatewayResponse {
    /// `statusCode`.
    pub status_code: u16,
    /// `headers`.
    pub headers: serde_json::Map<String, serde_json::Value>,
    /// `body`, Base64-decoded when `isBase64Encoded` was set.
    pub body: Bytes,
}

#[derive(serde::Deserialize)]
struct ApiGatewayEnvelope {
    #[serde(rename = "statusCode")]
    status_code: u16,
    #[serde(rename = "isBase64Encoded", default)]
    is_base64_encoded: bool,
    #[serde(default)]
    body: serde_json::Value,
    #[serde(default)]
    headers: serde_json::Map<String, serde_json::Value>,
}

/// An informational part of a response that was present but malformed. The call still
/// succeeded; see [`InvokeOutput::problems`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseProblem {
    /// Which part, e.g. `header X-Cff-Invoke-Summary` or `body field status`.
    pub part: String,
    /// What is wrong with it.
    pub problem: String,
}

impl ResponseProblem {
    fn new(part: impl Into<String>, problem: impl Into<String>) -> Self {
        ResponseProblem {
            part: part.into(),
            problem: problem.into(),
        }
    }
}

impl From<crate::protocol::HeaderDecodeError> for ResponseProblem {
    fn from(error: crate::protocol::HeaderDecodeError) -> Self {
        ResponseProblem::new(format!("header {}", error.header), error.problem)
    }
}

impl fmt::Display for ResponseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.part, crate::error::printable(&self.problem))
    }
}

/// The v1 envelope, read leniently in one pass: the informational fields are taken as raw
/// JSON (borrowed from the body) and interpreted on their own, so that an odd one cannot
/// cost the result. A repeated informational field keeps its last value; a repeated
/// `result` is ambiguous and so unreadable.
#[derive(Default)]
struct Envelope<'a> {
    /// `None`: absent.
    result: Option<&'a RawValue>,
    results: usize,
    request_id: Option<&'a RawValue>,
    log: Option<&'a RawValue>,
    status: Option<&'a RawValue>,
    repeated: Vec<&'static str>,
}

/// The envelope's field names, read without allocating.
enum EnvelopeField {
    Result,
    RequestId,
    Log,
    Status,
    Other,
}

impl<'de> serde::Deserialize<'de> for EnvelopeField {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Names;
        impl serde::de::Visitor<'_> for Names {
            type Value = EnvelopeField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<EnvelopeField, E> {
                Ok(match name {
                    "result" => EnvelopeField::Result,
                    "request_id" => EnvelopeField::RequestId,
                    "log" => EnvelopeField::Log,
                    "status" => EnvelopeField::Status,
                    _ => EnvelopeField::Other,
                })
            }
        }
        deserializer.deserialize_identifier(Names)
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Envelope<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Fields<'a> {
            type Value = Envelope<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the v1 envelope, a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Envelope<'a>, M::Error> {
                let mut envelope = Envelope::default();
                while let Some(field) = map.next_key::<EnvelopeField>()? {
                    let (slot, name) = match field {
                        EnvelopeField::Result => {
                            envelope.result = Some(map.next_value::<&'de RawValue>()?);
                            envelope.results = envelope.results.saturating_add(1);
                            continue;
                        }
                        EnvelopeField::RequestId => (&mut envelope.request_id, "request_id"),
                        EnvelopeField::Log => (&mut envelope.log, "log"),
                        EnvelopeField::Status => (&mut envelope.status, "status"),
                        EnvelopeField::Other => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                            continue;
                        }
                    };
                    if slot.is_some() && !envelope.repeated.contains(&name) {
                        envelope.repeated.push(name);
                    }
                    *slot = Some(map.next_value::<&'de RawValue>()?);
                }
                Ok(envelope)
            }
        }
        deserializer.deserialize_map(Fields(std::marker::PhantomData))
    }
}

type Envelope4 = (Option<String>, Bytes, Option<String>, Option<i32>);
type EnvelopeError = (String, Option<Box<dyn std::error::Error + Send + Sync>>);

/// Reads `{request_id, result, log, status}` from a v1 body. The result is sliced out of
/// `body` without a copy when it holds no escapes, and unescaped in place when the body is
/// not shared; otherwise it is unescaped once into a buffer of its own. On an error the
/// body comes back untouched, as evidence.
fn read_envelope(body: Bytes, problems: &mut Vec<ResponseProblem>) -> Result<Envelope4, (EnvelopeError, Bytes)> {
    let (fields, result) = match read_fields(&body, problems) {
        Ok(read) => read,
        Err(error) => return Err((error, body)),
    };
    let result = match result {
        ResultPlace::Null => Bytes::new(),
        ResultPlace::Raw(range) if range.end <= body.len() && range.start <= range.end => body.slice(range),
        ResultPlace::Raw(_) => return Err((("the v1 response body's result".to_owned(), None), body)),
        ResultPlace::Escaped(range) => unescape_result(body, range)?,
    };
    let (request_id, log, status) = fields;
    Ok((request_id, result, log, status))
}

/// Where the result is, once the envelope has been read.
enum ResultPlace {
    Null,
    /// In the body as it is: a string without escapes (its text), or not a string (its
    /// JSON text).
    Raw(std::ops::Range<usize>),
    /// A string's text in the body, with escapes.
    Escaped(std::ops::Range<usize>),
}

type EnvelopeFields = (Option<String>, Option<String>, Option<i32>);

/// The envelope's informational fields, and where its result is.
fn read_fields(
    body: &Bytes,
    problems: &mut Vec<ResponseProblem>,
) -> Result<(EnvelopeFields, ResultPlace), EnvelopeError> {
    let envelope: Envelope<'_> =
        serde_json::from_slice(body).map_err(|e| ("the v1 response body".to_owned(), Some(e.into())))?;
    if envelope.results > 1 {
        return Err(("the v1 response body: it has more than one `result`".to_owned(), None));
    }
    for name in &envelope.repeated {
        problems.push(ResponseProblem::new(
            format!("body field {name}"),
            "is repeated; the last value is kept",
        ));
    }
    // Offsets into the body: the raw value is borrowed from it.
    let range_of = |text: &str| {
        let start = (text.as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
        start..start.saturating_add(text.len())
    };
    let result = match envelope.result.map(RawValue::get) {
        None => return Err(("the v1 response body: it has no `result`".to_owned(), None)),
        Some("null") => ResultPlace::Null,
        Some(raw) => match raw.strip_prefix('"').and_then(|quoted| quoted.strip_suffix('"')) {
            None => {
                problems.push(ResponseProblem::new(
                    "body field result",
                    "is not a string; kept as its JSON text",
                ));
                ResultPlace::Raw(range_of(raw))
            }
            Some(text) if !text.contains('\\') => ResultPlace::Raw(range_of(text)),
            Some(text) => ResultPlace::Escaped(range_of(text)),
        },
    };
    let text_field = |name: &str, raw: Option<&RawValue>, problems: &mut Vec<ResponseProblem>| {
        let raw = raw.map(RawValue::get).filter(|raw| *raw != "null")?;
        // A string without escapes is its text between the quotes (serde_json has checked
        // it as JSON already): no second parse.
        if let Some(text) = plain_string(raw) {
            return Some(text.to_owned());
        }
        match serde_json::from_str::<String>(raw) {
            Ok(text) => Some(text),
            Err(_) => {
                problems.push(ResponseProblem::new(
                    format!("body field {name}"),
                    format!("is {}, not a string", quoted_prefix(raw)),
                ));
                None
            }
        }
    };
    let request_id = text_field("request_id", envelope.request_id, problems);
    let log = text_field("log", envelope.log, problems);
    let status = envelope
        .status
        .map(RawValue::get)
        .filter(|raw| *raw != "null")
        .and_then(|raw| {
            // The usual plain integer, without a second JSON parse; anything else (an
            // exponent, an overflow, not a number) is serde_json's to judge and report.
            if let Some(status) = plain_i32(raw) {
                return Some(status);
            }
            match serde_json::from_str::<i32>(raw) {
                Ok(status) => Some(status),
                Err(_) => {
                    problems.push(ResponseProblem::new(
                        "body field status",
                        format!("is {}, not a 32-bit integer", quoted_prefix(raw)),
                    ));
                    None
                }
            }
        });
    Ok(((request_id, log, status), result))
}

/// The text of a JSON string (checked as JSON already) that holds no escapes.
fn plain_string(raw: &str) -> Option<&str> {
    raw.strip_prefix('"')?
        .strip_suffix('"')
        .filter(|text| !text.contains('\\'))
}

/// A JSON number (checked as JSON already) written as digits alone that fit an `i32`.
/// A sign is left to serde_json, which reads `-0` as a float.
fn plain_i32(raw: &str) -> Option<i32> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

/// The result's text at `range` of `body`, unescaped: in place when the body is not
/// shared (no copy at all), else into a buffer of its own. An escape the fast path does
/// not decode (a lone surrogate, say) is left to serde_json, which reports it or decodes it.
fn unescape_result(body: Bytes, range: std::ops::Range<usize>) -> Result<Bytes, (EnvelopeError, Bytes)> {
    use crate::json_text::{unescape, unescape_in_place, unescaped_len};
    let text = body.get(range.clone()).unwrap_or_default();
    // Uniqueness first: a shared body (a small response, sliced from the read buffer)
    // skips the validating pass that only the in-place path needs.
    let in_place = body.is_unique() && unescaped_len(text).is_some();
    if !in_place {
        if let Some(unescaped) = unescape(text) {
            return Ok(Bytes::from(unescaped));
        }
        // The string with its quotes, for serde_json.
        let quoted = range.start.checked_sub(1).zip(range.end.checked_add(1));
        let parsed = quoted
            .and_then(|(start, end)| body.get(start..end))
            .map(serde_json::from_slice::<String>);
        return match parsed {
            Some(Ok(text)) => Ok(Bytes::from(text)),
            Some(Err(e)) => Err((("the v1 response body's result".to_owned(), Some(e.into())), body)),
            None => Err((("the v1 response body's result".to_owned(), None), body)),
        };
    }
    match body.try_into_mut() {
        Ok(mut buffer) => {
            let start = range.start;
            let unescaped = buffer.get_mut(range).and_then(unescape_in_place);
            let body = buffer.freeze();
            match unescaped.and_then(|len| start.checked_add(len)) {
                Some(end) if end <= body.len() => Ok(body.slice(start..end)),
                _ => Err((("the v1 response body's result".to_owned(), None), body)),
            }
        }
        Err(body) => match body.get(range).and_then(unescape) {
            Some(text) => Ok(Bytes::from(text)),
            None => Err((("the v1 response body's result".to_owned(), None), body)),
        },
    }
}

fn decode_log(encoded: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded.trim())?;
    // The service cuts the log at a byte count, which can split a character.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// An asynchronous invocation being set up; [`send`](InvokeAsync::send) queues it.
#[must_use = "nothing is sent until `send` is awaited"]
pub struct InvokeAsync {
    client: Client,
    function: Result<FunctionTarget, UrnError>,
    body: Result<Bytes, InvalidInput>,
    memory: Option<InstanceMemory>,
    timeout: Option<Duration>,
}

impl fmt::Debug for InvokeAsync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvokeAsync")
            .field("function", &self.function)
            .field("body_bytes", &self.body.as_ref().map(Bytes::len).ok())
            .field("memory", &self.memory)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl InvokeAsync {
    /// The event, serialised as JSON.
    pub fn json<T: Serialize + ?Sized>(mut self, event: &T) -> Self {
        self.body = serialize_event(event);
        self
    }

    /// The event as JSON bytes, sent as they are. The default is `{}`.
    pub fn body(mut self, event: impl Into<Bytes>) -> Self {
        self.body = Ok(event.into());
        self
    }

    /// Memory for this invocation only.
    pub fn memory(mut self, memory: InstanceMemory) -> Self {
        self.memory = Some(memory);
        self
    }

    /// Overrides the client's deadline for this call (authentication, attempts, waits).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Queues the run. Traced as an `fgs.invoke` span, like [`Invoke::send`].
    pub async fn send(self) -> Result<AsyncInvokeOutput, Error> {
        let span = invoke_span("async", &self.function, &self.client);
        let started = (!span.is_disabled()).then(Instant::now);
        // Boxed, as `Invoke::send`.
        let result = Box::pin(self.send_inner()).instrument(span.clone()).await;
        record_outcome(&span, started, &result, |output| {
            span.record("status", output.status().as_u16());
            span.record("request_id", output.request_id());
        });
        result
    }

    async fn send_inner(self) -> Result<AsyncInvokeOutput, Error> {
        let body = self.body?;
        let function = self.function?;
        let deadline = Deadline::starting_now(self.timeout.unwrap_or(self.client.timeout()));
        let urn = self.client.resolve_function(&function, &deadline).await?;
        record_urn(&urn, &self.client);
        let mut params = AsyncInvokeFunctionRequest::new(urn.project_id(), urn.as_str());
        params.instance_memory = self.memory;
        // Queuing a run is no more idempotent than running it.
        let target = CallTarget {
            project_id: urn.project_id(),
            region: urn.region(),
            deadline: &deadline,
            idempotent: false,
            retry: None,
            // The answer is a request id: a small cap, whatever results may need.
            max_response_bytes: Some(self.client.max_response_bytes().min(ASYNC_MAX_RESPONSE_BYTES)),
            uri_key: Some(urn.as_str()),
        };
        let raw = self
            .client
            .execute::<AsyncInvokeFunction>(&params, body, target)
            .await?;
        let parsed: crate::generated::types::AsyncInvokeResult = serde_json::from_slice(&raw.body).map_err(|e| {
            Error::Decode(Box::new(DecodeError::new(
                "asyncInvokeFunction",
                Some(raw.status),
                "the response body",
                raw.headers.clone(),
                &raw.body,
                Some(e.into()),
            )))
        })?;
        Ok(AsyncInvokeOutput {
            status: raw.status,
            headers: raw.headers,
            request_id: parsed.request_id,
        })
    }
}

/// An accepted asynchronous invocation.
#[derive(Debug, Clone)]
pub struct AsyncInvokeOutput {
    status: StatusCode,
    headers: HeaderMap,
    request_id: String,
}

impl AsyncInvokeOutput {
    /// Request id of the queued run.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// HTTP status (202).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// All response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result_of(body: Bytes) -> Result<Bytes, String> {
        read_envelope(body, &mut Vec::new())
            .map(|(_, result, _, _)| result)
            .map_err(|((what, _), _)| what)
    }

    /// The informational headers are decoded when first asked for, not before; the result,
    /// request id, log and function-error flag need no such decoding. Once decoded, the
    /// problems list the headers' first, in the order of the API description, then the
    /// body's, as before the decoding was deferred.
    #[test]
    fn informational_headers_are_decoded_on_first_use() {
        let mut headers = HeaderMap::new();
        let mut set = |name: &http::HeaderName, value: &'static str| {
            headers.insert(name.clone(), http::HeaderValue::from_static(value));
        };
        set(&names::X_CFF_INVOKE_SUMMARY, "{not json");
        set(&names::X_CFF_RESPONSE_VERSION, "v9");
        set(&names::X_CFF_FUNCTION_LOG, "***");
        set(&names::X_IS_FUNC_ERR, "maybe");
        set(&names::X_FUNC_ERR_CODE, " E1 ");
        set(&names::X_CFF_REQUEST_ID, "from-header");
        let body = Bytes::from_static(br#"{"result": "42", "status": "200"}"#);
        let output = InvokeOutput::decode(StatusCode::OK, headers, body, &ResponseVersion::V1).unwrap();

        assert_eq!(output.result().as_ref(), b"42");
        assert_eq!(output.request_id(), Some("from-header"));
        assert_eq!(output.function_error_code(), Some("E1"));
        assert!(output.is_function_error(), "a non-zero error code decides");
        assert_eq!(output.response_version(), &ResponseVersion::V1);
        assert!(output.informational.get().is_none(), "decoded before it was asked for");

        let wheres: Vec<&str> = output.problems().iter().map(|p| p.part.as_str()).collect();
        let header = |name: &str| format!("header {name}");
        assert_eq!(
            wheres,
            [
                header(as_written::X_CFF_INVOKE_SUMMARY),
                header(as_written::X_IS_FUNC_ERR),
                header(as_written::X_CFF_RESPONSE_VERSION),
                header(as_written::X_CFF_FUNCTION_LOG),
                "body field status".to_owned(),
            ],
            "{:?}",
            output.problems()
        );
        assert!(output.informational.get().is_some());
        assert_eq!(output.summary(), None);
        assert_eq!(output.typed_headers().is_function_error, None);
        assert_eq!(output.typed_headers().request_id.as_deref(), Some("from-header"));
    }

    /// The result is the same whether the body is unescaped in place (nothing else holds
    /// it) or copied (a clone holds it), and in place it stays inside the body's buffer.
    #[test]
    fn the_shortcuts_for_plain_fields_agree_with_serde_json() {
        let strings = [
            r#""""#,
            r#""req-1""#,
            r#""a\"b""#,
            r#""\u00e9""#,
            r#""é""#,
            "0",
            "null",
            "[]",
            "{}",
        ];
        for raw in strings {
            if let Some(text) = plain_string(raw) {
                assert_eq!(serde_json::from_str::<String>(raw).unwrap(), text, "{raw}");
            }
        }
        assert_eq!(plain_string(r#""req-1""#), Some("req-1"));
        assert_eq!(plain_string(r#""a\"b""#), None);
        assert_eq!(plain_string("12"), None);
        let numbers = [
            "0",
            "-0",
            "200",
            "-1",
            "2147483647",
            "-2147483648",
            "2147483648",
            "-2147483649",
            "1e2",
            "1.0",
            "-1.5",
            "99999999999999999999",
            r#""200""#,
            "null",
        ];
        for raw in numbers {
            match plain_i32(raw) {
                Some(status) => assert_eq!(serde_json::from_str::<i32>(raw).unwrap(), status, "{raw}"),
                // Left to serde_json, which reads it or reports it.
                None => assert!(
                    !raw.bytes().all(|b| b.is_ascii_digit()) || raw.parse::<i32>().is_err(),
                    "{raw}"
                ),
            }
        }
        assert_eq!(plain_i32("200"), Some(200));
        assert_eq!(plain_i32("2147483648"), None);
        assert_eq!(plain_i32("-0"), None);
    }

    #[test]
    fn in_place_and_copied_results_agree() {
        let value = r#"{"text":"a \"quoted\" \\ word","emoji":"😀","list":[1,2]}"#;
        let envelope = serde_json::json!({"request_id": "r", "result": value, "log": "", "status": 200});
        let bytes = serde_json::to_vec(&envelope).unwrap();

        let unique = Bytes::from(bytes.clone());
        let start = unique.as_ptr() as usize;
        let in_place = result_of(unique).unwrap();
        assert_eq!(in_place, value.as_bytes());
        let at = in_place.as_ptr() as usize;
        assert!(at >= start && at < start + bytes.len(), "unescaped in place");

        let shared = Bytes::from(bytes.clone());
        let _holder = shared.clone();
        assert_eq!(result_of(shared).unwrap(), value.as_bytes());
    }

    /// What the fast path does not decode goes to serde_json: a lone surrogate fails the
    /// way serde_json fails it, with the body kept as evidence.
    #[test]
    fn a_lone_surrogate_is_serde_jsons_to_judge() {
        for shared in [false, true] {
            let body = Bytes::from_static(br#"{"result":"ab\ud800cd"}"#);
            let body = if shared { body } else { Bytes::from(body.to_vec()) };
            let _holder = shared.then(|| body.clone());
            let error = read_envelope(body, &mut Vec::new()).unwrap_err();
            assert_eq!(error.0.0, "the v1 response body's result");
            assert!(error.0.1.is_some(), "serde_json's error is the cause");
            assert_eq!(&error.1[..], br#"{"result":"ab\ud800cd"}"#, "the body is untouched");
        }
    }
}
