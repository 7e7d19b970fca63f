//! The one error type of the SDK, and the evidence each variant keeps.

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::auth::AuthError;
use crate::generated::error_codes::ErrorCode;
use crate::protocol::{ErrorCodeInfo, InvalidHeaderValue};
use crate::transport::{Delivery, TransportError, TransportErrorKind};

/// Everything that can go wrong in a call.
///
/// A function that raised an error is not an `Error`: the call succeeded and
/// [`InvokeOutput::is_function_error`](crate::InvokeOutput::is_function_error) says so.
///
/// ```
/// # async fn demo(client: fgs_core::Client, urn: fgs_core::FunctionUrn) {
/// match client.invoke(&urn).send().await {
///     Ok(output) => println!("ran: {:?}", output.request_id()),
///     Err(fgs_core::Error::Service(e)) if e.status() == 429 => println!("throttled: {e}"),
///     Err(e) if e.is_retry_safe() => println!("not run, safe to try again: {e}"),
///     Err(e) => println!("failed (the function may have run): {e}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The call was refused before anything was sent.
    #[error("invalid input, nothing was sent: {0}")]
    InvalidInput(#[from] InvalidInput),
    /// Credentials could not be applied; nothing was sent.
    #[error("could not authenticate, nothing was sent: {0}")]
    Auth(#[source] AuthError),
    /// No complete response arrived.
    #[error("{0}")]
    Transport(#[source] TransportError),
    /// A time limit was reached; [`TransportError::delivery`] says whether the request may
    /// have reached the service.
    #[error("{0}")]
    Timeout(#[source] TransportError),
    /// The service or its API gateway answered with an error status.
    #[error("{0}")]
    Service(#[source] Box<ServiceError>),
    /// A response arrived but does not have the documented shape.
    #[error("{0}")]
    Decode(#[source] Box<DecodeError>),
    /// The function ran and raised an error. Only calls that turn function errors into
    /// `Err` return it ([`InvokeOutput::into_result`](crate::InvokeOutput::into_result) and
    /// `#[fgs_function]` stubs); otherwise a raised error is data in the output.
    #[error("{0}")]
    Function(#[source] Box<FunctionFailed>),
    /// A function behind API Gateway answered with a status outside 2xx.
    #[error("{0}")]
    FunctionStatus(#[source] Box<FunctionStatusError>),
}

impl From<fgs_urn::UrnError> for Error {
    fn from(error: fgs_urn::UrnError) -> Self {
        Error::InvalidInput(InvalidInput::Urn(error))
    }
}

impl Error {
    /// The HTTP status of the response, when one arrived.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Service(e) => Some(e.status),
            Error::Decode(e) => e.status,
            _ => None,
        }
    }

    /// The request id the service assigned, when a response carried one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Service(e) => e.request_id(),
            Error::Function(e) => e.request_id.as_deref(),
            Error::FunctionStatus(e) => e.request_id.as_deref(),
            _ => None,
        }
    }

    /// The service error code, when the response had one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Service(e) => e.code(),
            _ => None,
        }
    }

    /// The service error, if this is one.
    pub fn as_service_error(&self) -> Option<&ServiceError> {
        match self {
            Error::Service(e) => Some(e),
            _ => None,
        }
    }

    /// True when the function certainly did not run because of this request, so sending
    /// the same request again cannot run it twice. It says nothing about whether a second
    /// attempt would succeed.
    pub fn is_retry_safe(&self) -> bool {
        match self {
            Error::InvalidInput(_) | Error::Auth(_) => true,
            Error::Transport(e) | Error::Timeout(e) => e.delivery() == Delivery::NotSent,
            Error::Service(e) => e.catalogue().is_some_and(|info| info.not_executed),
            Error::Decode(_) | Error::Function(_) | Error::FunctionStatus(_) => false,
        }
    }

    pub(crate) fn from_transport(error: TransportError) -> Self {
        if error.kind() == TransportErrorKind::Timeout {
            Error::Timeout(error)
        } else {
            Error::Transport(error)
        }
    }
}

/// Why a call was refused before anything was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidInput {
    /// A function URN does not follow the naming rules.
    #[error(transparent)]
    Urn(#[from] fgs_urn::UrnError),
    /// The request body is larger than the operation accepts.
    #[error("the request body is {size} bytes but {operation} accepts at most {limit} bytes")]
    PayloadTooLarge {
        /// Operation id.
        operation: &'static str,
        /// Body size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: u64,
    },
    /// The payload could not be serialised as JSON.
    #[error("the payload cannot be serialised as JSON: {0}")]
    Serialize(#[source] serde_json::Error),
    /// A header value cannot be sent.
    #[error(transparent)]
    Header(#[from] InvalidHeaderValue),
    /// A [`Hook`](crate::hooks::Hook) refused to send the request.
    #[error("a hook refused the request: {0}")]
    Hook(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The endpoint or another client setting is unusable.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

/// An error status from FunctionGraph (`FSS.*` codes) or its API gateway (`APIGW.*`),
/// with the evidence: status, code, message, request id, headers and the raw body.
#[derive(Debug, Clone)]
pub struct ServiceError {
    pub(crate) operation: &'static str,
    pub(crate) status: StatusCode,
    pub(crate) code: Option<ErrorCode>,
    pub(crate) message: String,
    pub(crate) request_id: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl ServiceError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error code from the body (`error_code`); `None` when the body had none, for
    /// example an HTML page from a proxy.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.code.as_ref()
    }

    /// The wire code as sent, e.g. `FSS.1051`.
    pub fn raw_code(&self) -> Option<&str> {
        self.code.as_ref().map(ErrorCode::as_str)
    }

    /// The message from the body (`error_msg`), or a description of a body that had none.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Request id from the body, `X-Request-Id` or `X-Cff-Request-Id`.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Id of the operation that failed, e.g. `invokeFunction`.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// Response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The response body exactly as received.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The wait the service asked for with `Retry-After` (in seconds), if any.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        let value = self.headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
        value.trim().parse::<u64>().ok().map(std::time::Duration::from_secs)
    }

    /// What the error-code catalogue says about this code with this status.
    pub fn catalogue(&self) -> Option<&'static ErrorCodeInfo> {
        self.code.as_ref()?.info(self.status.as_u16())
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code} (HTTP {}): {}", self.status.as_u16(), self.message)?,
            None => write!(f, "HTTP {}: {}", self.status, self.message)?,
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServiceError {}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response that does not have the documented shape. The raw body and headers are
/// kept; for a synchronous invoke the function may well have run.
#[derive(Debug)]
pub struct DecodeError {
    pub(crate) operation: &'static str,
    pub(crate) status: Option<StatusCode>,
    pub(crate) what: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) source: Option<BoxError>,
}

impl DecodeError {
    /// HTTP status of the response, if the error came from one.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// What could not be decoded.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// Response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The bytes that could not be decoded (the response body, or the function's result).
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot decode {} of {}", self.what, self.operation)?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {})", status.as_u16())?;
        }
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// What a function that raised an error returned: `errorType`, `errorMessage`,
/// `stackTrace`, with the invocation's error code and request id.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FunctionFailed {
    /// `errorType`, e.g. `ValueError`.
    pub error_type: Option<String>,
    /// `errorMessage`.
    pub error_message: Option<String>,
    /// `stackTrace`.
    pub stack_trace: Vec<String>,
    /// `X-Func-Err-Code`.
    pub error_code: Option<String>,
    /// Request id of the invocation.
    pub request_id: Option<String>,
    /// The result exactly as returned.
    pub result: Bytes,
}

impl fmt::Display for FunctionFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the function raised ")?;
        match (&self.error_type, &self.error_message) {
            (Some(kind), Some(message)) => write!(f, "{kind}: {message}")?,
            (Some(kind), None) => f.write_str(kind)?,
            (None, Some(message)) => f.write_str(message)?,
            (None, None) => write!(f, "an error ({} bytes of result)", self.result.len())?,
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for FunctionFailed {}

/// A function behind API Gateway answered `{statusCode, headers, body}` with a status
/// outside 2xx.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FunctionStatusError {
    /// `statusCode`.
    pub status_code: u16,
    /// `headers`.
    pub headers: serde_json::Map<String, serde_json::Value>,
    /// `body`, Base64-decoded when `isBase64Encoded` was set.
    pub body: Bytes,
    /// Request id of the invocation.
    pub request_id: Option<String>,
}

impl fmt::Display for FunctionStatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the function answered HTTP {}", self.status_code)?;
        match std::str::from_utf8(&self.body) {
            Ok(text) if !text.is_empty() && text.len() <= 200 => write!(f, ": {}", text.trim())?,
            _ => write!(f, " ({} bytes of body)", self.body.len())?,
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for FunctionStatusError {}
