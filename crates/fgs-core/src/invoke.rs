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

use crate::FunctionUrn;
use crate::client::{CallTarget, Client};
use crate::error::{DecodeError, Error, FunctionFailed, FunctionStatusError, InvalidInput};
use crate::generated::operations::{
    AsyncInvokeFunction, AsyncInvokeFunctionRequest, InvokeFunction, InvokeFunctionRequest,
    InvokeFunctionResponseHeaders,
};
use crate::generated::types::{FunctionError, InstanceMemory, InvokeResult, InvokeSummary, LogType, ResponseVersion};
use crate::retry::RetryPolicy;

/// The event sent when the caller gives none: the service expects a JSON object.
const EMPTY_EVENT: &[u8] = b"{}";

impl Client {
    /// Starts a synchronous invocation of `urn`: the function runs and its result comes
    /// back in the response.
    ///
    /// A synchronous invoke is not idempotent and is sent exactly once.
    pub fn invoke(&self, urn: &FunctionUrn) -> Invoke<'_> {
        Invoke {
            client: self,
            urn: urn.clone(),
            body: Ok(Bytes::from_static(EMPTY_EVENT)),
            log_type: None,
            response_version: ResponseVersion::V1,
            memory: None,
            timeout: None,
            idempotent: false,
            retry: None,
        }
    }

    /// Starts an asynchronous invocation of `urn`: the service queues the run and answers
    /// at once with its request id.
    pub fn invoke_async(&self, urn: &FunctionUrn) -> InvokeAsync<'_> {
        InvokeAsync {
            client: self,
            urn: urn.clone(),
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
pub struct Invoke<'a> {
    client: &'a Client,
    urn: FunctionUrn,
    body: Result<Bytes, InvalidInput>,
    log_type: Option<LogType>,
    response_version: ResponseVersion,
    memory: Option<InstanceMemory>,
    timeout: Option<Duration>,
    idempotent: bool,
    retry: Option<Arc<dyn RetryPolicy>>,
}

impl fmt::Debug for Invoke<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invoke")
            .field("urn", &self.urn)
            .field("body_bytes", &self.body.as_ref().map(Bytes::len).ok())
            .field("log_type", &self.log_type)
            .field("response_version", &self.response_version)
            .field("memory", &self.memory)
            .field("timeout", &self.timeout)
            .field("idempotent", &self.idempotent)
            .finish()
    }
}

impl Invoke<'_> {
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

    /// Overrides the client's whole-call timeout for this call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Declares that running the function twice for one call is harmless. The client
    /// never sends a request again by itself; this is the only flag under which a retry
    /// policy may re-send a call that may have reached the service.
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
        let span = invoke_span("sync", &self.urn, self.client.traces_full_urn());
        let started = Instant::now();
        let result = self.send_inner().instrument(span.clone()).await;
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

    async fn send_inner(self) -> Result<InvokeOutput, Error> {
        let body = self.body?;
        self.client.check_region(&self.urn)?;
        let mut params = InvokeFunctionRequest::new(self.urn.project_id(), self.urn.as_str());
        params.log_type = self.log_type;
        params.request_version = Some(self.response_version.clone());
        params.instance_memory = self.memory;
        let target = CallTarget {
            project_id: self.urn.project_id(),
            region: self.urn.region(),
            timeout: self.timeout,
            idempotent: self.idempotent,
            retry: self.retry,
        };
        let raw = self.client.execute::<InvokeFunction>(&params, body, target).await?;
        InvokeOutput::decode(
            raw.status,
            raw.typed_headers,
            raw.headers,
            raw.body,
            &self.response_version,
        )
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
    typed_headers: InvokeFunctionResponseHeaders,
    response_version: ResponseVersion,
    request_id: Option<String>,
    result: Bytes,
    log: Option<String>,
    function_status: Option<i32>,
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
            .finish_non_exhaustive()
    }
}

impl InvokeOutput {
    fn decode(
        status: StatusCode,
        typed_headers: InvokeFunctionResponseHeaders,
        headers: HeaderMap,
        body: Bytes,
        requested: &ResponseVersion,
    ) -> Result<Self, Error> {
        let decode_error = |what: &str, body: Bytes, source: Box<dyn std::error::Error + Send + Sync>| {
            Error::Decode(Box::new(DecodeError {
                operation: "invokeFunction",
                status: Some(status),
                what: what.to_owned(),
                headers: headers.clone(),
                body,
                source: Some(source),
            }))
        };
        // The response says which format it is in; the request is only a fallback.
        let version = typed_headers
            .response_version
            .clone()
            .unwrap_or_else(|| requested.clone());
        let header_log = match &typed_headers.function_log {
            Some(encoded) => {
                Some(decode_log(encoded).map_err(|e| decode_error("header X-Cff-Function-Log", body.clone(), e))?)
            }
            None => None,
        };
        let (request_id, result, body_log, function_status) = match version {
            ResponseVersion::V0 => (typed_headers.request_id.clone(), body, None, None),
            _ => {
                let envelope: InvokeResult = serde_json::from_slice(&body)
                    .map_err(|e| decode_error("the v1 response body", body.clone(), e.into()))?;
                (
                    Some(envelope.request_id),
                    Bytes::from(envelope.result),
                    envelope.log,
                    envelope.status,
                )
            }
        };
        // The body carries the log as text in v1; the header is the only source in v0.
        let log = body_log.filter(|log| !log.is_empty()).or(header_log);
        Ok(InvokeOutput {
            status,
            headers,
            request_id: request_id.or_else(|| typed_headers.request_id.clone()),
            typed_headers,
            response_version: version,
            result,
            log,
            function_status,
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
        &self.typed_headers
    }

    /// The format the response came in.
    pub fn response_version(&self) -> &ResponseVersion {
        &self.response_version
    }

    /// Request id of this invocation.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The function's return value as the service sent it: usually JSON text.
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

    /// The execution summary: duration, billed duration and memory.
    pub fn summary(&self) -> Option<&InvokeSummary> {
        self.typed_headers.invoke_summary.as_ref()
    }

    /// Billing information as sent (`X-CFF-Billing-Duration`).
    pub fn billing_duration(&self) -> Option<&str> {
        self.typed_headers.billing_duration.as_deref()
    }

    /// Whether the function raised an error (`X-Is-Func-Err`, or a non-zero
    /// `X-Func-Err-Code`).
    pub fn is_function_error(&self) -> bool {
        self.typed_headers.is_function_error.unwrap_or(false)
            || self
                .function_error_code()
                .is_some_and(|code| code.trim() != "0" && !code.trim().is_empty())
    }

    /// The invocation's error code (`X-Func-Err-Code`; `0` on success).
    pub fn function_error_code(&self) -> Option<&str> {
        self.typed_headers.function_error_code.as_deref()
    }

    /// The `status` field of the v1 body.
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
            return Err(Error::FunctionStatus(Box::new(FunctionStatusError {
                status_code: response.status_code,
                headers: response.headers,
                body: response.body,
                request_id: self.request_id.clone(),
            })));
        }
        serde_json::from_slice(&response.body).map_err(|e| {
            Error::Decode(Box::new(DecodeError {
                operation: "invokeFunction",
                status: Some(self.status),
                what: "the API Gateway response body as JSON".into(),
                headers: self.headers.clone(),
                body: response.body.clone(),
                source: Some(e.into()),
            }))
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
        Err(Error::Function(Box::new(FunctionFailed {
            error_type: details.error_type,
            error_message: details.error_message,
            stack_trace: details.stack_trace.unwrap_or_default(),
            error_code: self.function_error_code().map(str::to_owned),
            request_id: self.request_id.clone(),
            result: self.result.clone(),
        })))
    }

    fn result_error(&self, what: &str, source: Box<dyn std::error::Error + Send + Sync>) -> Error {
        Error::Decode(Box::new(DecodeError {
            operation: "invokeFunction",
            status: Some(self.status),
            what: what.to_owned(),
            headers: self.headers.clone(),
            body: self.result.clone(),
            source: Some(source),
        }))
    }
}

/// The `fgs.invoke` span: which function (never the project id or the payload), and
/// empty fields the call fills in.
fn invoke_span(mode: &'static str, urn: &FunctionUrn, full_urn: bool) -> tracing::Span {
    let span = tracing::info_span!(
        "fgs.invoke",
        mode,
        region = urn.region(),
        function = %format_args!("{}/{}", urn.package(), urn.name()),
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
        match urn.qualifier() {
            Some(qualifier) => span.record("qualifier", tracing::field::display(qualifier)),
            None => span.record("qualifier", "latest"),
        };
        if full_urn {
            span.record("urn", urn.as_str());
        }
    }
    span
}

fn record_outcome<T>(span: &tracing::Span, started: Instant, result: &Result<T, Error>, success: impl FnOnce(&T)) {
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

fn decode_log(encoded: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded.trim())?;
    // The service cuts the log at a byte count, which can split a character.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// An asynchronous invocation being set up; [`send`](InvokeAsync::send) queues it.
#[must_use = "nothing is sent until `send` is awaited"]
pub struct InvokeAsync<'a> {
    client: &'a Client,
    urn: FunctionUrn,
    body: Result<Bytes, InvalidInput>,
    memory: Option<InstanceMemory>,
    timeout: Option<Duration>,
}

impl fmt::Debug for InvokeAsync<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvokeAsync")
            .field("urn", &self.urn)
            .field("body_bytes", &self.body.as_ref().map(Bytes::len).ok())
            .field("memory", &self.memory)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl InvokeAsync<'_> {
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

    /// Overrides the client's whole-call timeout for this call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Queues the run. Traced as an `fgs.invoke` span, like [`Invoke::send`].
    pub async fn send(self) -> Result<AsyncInvokeOutput, Error> {
        let span = invoke_span("async", &self.urn, self.client.traces_full_urn());
        let started = Instant::now();
        let result = self.send_inner().instrument(span.clone()).await;
        record_outcome(&span, started, &result, |output| {
            span.record("status", output.status().as_u16());
            span.record("request_id", output.request_id());
        });
        result
    }

    async fn send_inner(self) -> Result<AsyncInvokeOutput, Error> {
        let body = self.body?;
        self.client.check_region(&self.urn)?;
        let mut params = AsyncInvokeFunctionRequest::new(self.urn.project_id(), self.urn.as_str());
        params.instance_memory = self.memory;
        // Queuing a run is no more idempotent than running it.
        let target = CallTarget {
            project_id: self.urn.project_id(),
            region: self.urn.region(),
            timeout: self.timeout,
            idempotent: false,
            retry: None,
        };
        let raw = self
            .client
            .execute::<AsyncInvokeFunction>(&params, body, target)
            .await?;
        let parsed: crate::generated::types::AsyncInvokeResult = serde_json::from_slice(&raw.body).map_err(|e| {
            Error::Decode(Box::new(DecodeError {
                operation: "asyncInvokeFunction",
                status: Some(raw.status),
                what: "the response body".into(),
                headers: raw.headers.clone(),
                body: raw.body.clone(),
                source: Some(e.into()),
            }))
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
