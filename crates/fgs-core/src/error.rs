//! The one error type of the SDK, and the evidence each variant keeps.
//!
//! # How errors print
//!
//! Printed with its causes (`{:#}` of `anyhow` or `eyre`, or a walk along
//! [`source`](std::error::Error::source)), an [`Error`] shows each message once:
//!
//! - [`Error`]'s `Display` is the whole description in the SDK's words: what failed and
//!   whether anything was sent or the function ran. A variant that wraps a payload
//!   ([`InvalidInput`], [`AuthError`], [`TransportError`], [`ServiceError`],
//!   [`DecodeError`], ...) includes the payload's `Display`, and its `source()` skips the
//!   payload and returns the payload's own source. So `{}` alone says what happened, and
//!   `{:#}` adds only the deeper causes.
//! - No payload's `Display` includes the text of its source; its `source()` returns it.
//!   The low-level causes (an I/O error, the HTTP stack's error, a JSON error) appear
//!   once each, after a `: `.
//! - A cause an error keeps from elsewhere is kept printable: when any message along its
//!   chain holds control characters or is too long, the chain is replaced by a copy whose
//!   texts are cut and cleaned (see [`printable`]).
//!
//! ```
//! let err = fgs_core::Error::from(fgs_core::Client::builder().build().unwrap_err());
//! // `{}` alone says what failed; the causes, if any, follow in `{:#}` once each.
//! assert!(err.to_string().starts_with("invalid client configuration: "));
//! ```

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::auth::AuthError;
use crate::evidence::{MAX_KEPT_CHARS, bounded, evidence, printable_source};
use crate::generated::error_codes::ErrorCode;
use crate::protocol::InvalidHeaderValue;
use crate::transport::{Delivery, ResponseTooLarge, TransportError, TransportErrorKind};

pub use crate::evidence::{MAX_EVIDENCE_BYTES, printable};
pub use crate::execution::Execution;
pub use crate::service_error::ServiceError;

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
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The call was refused before anything was sent.
    InvalidInput(InvalidInput),
    /// The client's settings are unusable (from [`ClientBuilder::build`](crate::ClientBuilder::build),
    /// or found at call time, e.g. no project id for a function named without one);
    /// nothing was sent.
    Config(ConfigError),
    /// Credentials could not be applied; nothing was sent.
    Auth(AuthError),
    /// No complete response arrived.
    Transport(TransportError),
    /// A time limit was reached; [`TransportError::delivery`] says whether the request may
    /// have reached the service.
    Timeout(TransportError),
    /// The service or its API gateway answered with an error status.
    Service(Box<ServiceError>),
    /// A response arrived but does not have the documented shape. For an invoke with a
    /// 2xx status the function ran; only its result could not be read.
    Decode(Box<DecodeError>),
    /// The response body was larger than the call's cap
    /// ([`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)).
    /// The request reached the service; with a 2xx status the function ran.
    ResponseTooLarge(Box<ResponseTooLarge>),
    /// The function ran and raised an error. Only calls that turn function errors into
    /// `Err` return it ([`InvokeOutput::into_result`](crate::InvokeOutput::into_result) and
    /// `#[fgs_function]` stubs); otherwise a raised error is data in the output.
    Function(Box<FunctionRaised>),
    /// A function behind API Gateway answered with a status outside 2xx.
    FunctionStatus(Box<FunctionHttpStatus>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput(e) => write!(f, "invalid input, nothing was sent: {e}"),
            Error::Config(e) => fmt::Display::fmt(e, f),
            Error::Auth(e) => write!(f, "could not authenticate, nothing was sent: {e}"),
            Error::Transport(e) | Error::Timeout(e) => fmt::Display::fmt(e, f),
            Error::Service(e) => write!(f, "{e}; {}", execution_phrase(e.execution())),
            Error::Decode(e) => fmt::Display::fmt(e, f),
            Error::ResponseTooLarge(e) => write!(f, "{e}; {}", ran_phrase(e.status)),
            Error::Function(e) => fmt::Display::fmt(e, f),
            Error::FunctionStatus(e) => fmt::Display::fmt(e, f),
        }
    }
}

/// The payload's `Display` is part of the variant's; its source is the variant's source.
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::InvalidInput(e) => e.source(),
            Error::Config(e) => e.source(),
            Error::Auth(e) => e.source(),
            Error::Transport(e) | Error::Timeout(e) => e.source(),
            Error::Service(e) => e.source(),
            Error::Decode(e) => e.source(),
            Error::ResponseTooLarge(e) => e.source(),
            Error::Function(e) => e.source(),
            Error::FunctionStatus(e) => e.source(),
        }
    }
}

impl From<InvalidInput> for Error {
    fn from(error: InvalidInput) -> Self {
        Error::InvalidInput(error)
    }
}

impl From<ConfigError> for Error {
    fn from(error: ConfigError) -> Self {
        Error::Config(error)
    }
}

fn execution_phrase(execution: Execution) -> &'static str {
    match execution {
        Execution::NotRun => "the function did not run",
        Execution::MaybeRun => "the function may have run",
        Execution::Ran => "the function ran",
    }
}

fn ran_phrase(status: StatusCode) -> &'static str {
    if status.is_success() {
        "the function ran"
    } else {
        "the function may have run"
    }
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
            Error::ResponseTooLarge(e) => Some(e.status),
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

    /// Whether the function ran because of this call. See [`Execution`].
    pub fn execution(&self) -> Execution {
        match self {
            Error::InvalidInput(_) | Error::Config(_) | Error::Auth(_) => Execution::NotRun,
            Error::Transport(e) | Error::Timeout(e) => match e.delivery() {
                Delivery::NotSent => Execution::NotRun,
                Delivery::MaybeSent => Execution::MaybeRun,
            },
            Error::Service(e) => e.execution(),
            Error::ResponseTooLarge(e) if e.status.is_success() => Execution::Ran,
            Error::ResponseTooLarge(_) => Execution::MaybeRun,
            Error::Decode(e) if e.status.is_some_and(|s| s.is_success()) => Execution::Ran,
            Error::Decode(_) => Execution::MaybeRun,
            Error::Function(_) | Error::FunctionStatus(_) => Execution::Ran,
        }
    }

    /// True when the function certainly did not run because of this request, so sending
    /// the same request again cannot run it twice ([`Execution::NotRun`]). It says nothing
    /// about whether a second attempt would succeed; see [`is_transient`](Self::is_transient).
    pub fn is_retry_safe(&self) -> bool {
        self.execution() == Execution::NotRun
    }

    /// True when a later attempt may succeed: a failed connection (but not a failed TLS
    /// handshake, [`TransportError::tls_error`]) or exchange, a timeout,
    /// throttling, or a service error the catalogue marks transient (an unknown code with
    /// status 429 or 5xx counts as transient too).
    pub fn is_transient(&self) -> bool {
        match self {
            // A failed TLS handshake (an untrusted certificate, a wrong name) does not fix itself.
            Error::Transport(e) => e.kind() != TransportErrorKind::Other && e.tls_error().is_none(),
            Error::Timeout(_) => true,
            Error::Service(e) => e.is_transient(),
            _ => false,
        }
    }

    /// The error a transport's failure is, its causes kept printable ([`printable_source`]).
    pub(crate) fn from_transport(error: TransportError) -> Self {
        // A TLS failure stays a `TlsError` (so `tls_error()` finds it and it is not
        // retried); only what it wraps, which may quote the server's certificate, is made
        // printable.
        if let Some(tls) = error.tls_error() {
            return Error::Transport(TransportError::tls(crate::network::TlsError::new(
                tls.failure(),
                tls.host().map(str::to_owned),
                std::error::Error::source(tls).map(crate::evidence::printable_copy),
            )));
        }
        let (kind, delivery) = (error.kind(), error.delivery());
        match kind {
            TransportErrorKind::Timeout => Error::Timeout(TransportError::new(
                kind,
                delivery,
                printable_source(error.into_source()),
            )),
            TransportErrorKind::ResponseTooLarge => match error.into_source().downcast::<ResponseTooLarge>() {
                Ok(details) => Error::ResponseTooLarge(details),
                // A transport that used the kind without the details: still an I/O failure
                // after the request was sent.
                Err(source) => Error::Transport(TransportError::io(Delivery::MaybeSent, printable_source(source))),
            },
            _ => Error::Transport(TransportError::new(
                kind,
                delivery,
                printable_source(error.into_source()),
            )),
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
    #[error("the payload cannot be serialised as JSON")]
    Serialize(#[source] serde_json::Error),
    /// A header value cannot be sent.
    #[error(transparent)]
    Header(#[from] InvalidHeaderValue),
    /// A [`Hook`](crate::hooks::Hook) refused to send the request.
    #[error("a hook refused the request")]
    Hook(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The function URN names another region than the client's: the service would
    /// refuse it after a round trip.
    #[error("function URN is in region {urn_region} but the client is configured for region {client_region}")]
    WrongRegion {
        /// The URN's region.
        urn_region: String,
        /// The client's region.
        client_region: String,
    },
}

/// A client setting is unusable: a malformed region or endpoint, no credentials, an
/// unreadable environment variable or file, or no project id where one is needed.
/// Building a client is not a call, so this is not [`InvalidInput`].
///
/// ```
/// let err = fgs_core::Client::builder().build().unwrap_err();
/// assert!(err.to_string().starts_with("invalid client configuration: "));
/// ```
#[derive(Debug)]
pub struct ConfigError {
    message: String,
    source: Option<BoxError>,
}

impl ConfigError {
    /// A configuration error saying `message` (which names the setting and how to fix it).
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError {
            message: bounded(message.into(), MAX_KEPT_CHARS),
            source: None,
        }
    }

    /// The same error, caused by `source`.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(printable_source(source.into()));
        self
    }

    /// What is wrong, without the prefix [`Display`](fmt::Display) adds.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid client configuration: {}", self.message)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response that does not have the documented shape. The headers and (a bounded prefix
/// of) the body are kept; for a synchronous invoke with a 2xx status the function ran.
#[derive(Debug)]
pub struct DecodeError {
    pub(crate) operation: &'static str,
    pub(crate) status: Option<StatusCode>,
    pub(crate) what: String,
    pub(crate) headers: HeaderMap,
    /// At most [`MAX_EVIDENCE_BYTES`] of the bytes that could not be decoded.
    pub(crate) body: Bytes,
    pub(crate) body_len: usize,
    pub(crate) source: Option<BoxError>,
}

impl DecodeError {
    pub(crate) fn new(
        operation: &'static str,
        status: Option<StatusCode>,
        what: impl Into<String>,
        headers: HeaderMap,
        body: &Bytes,
        source: Option<BoxError>,
    ) -> Self {
        let (body, body_len) = evidence(body);
        DecodeError {
            operation,
            status,
            what: bounded(what.into(), MAX_KEPT_CHARS),
            headers,
            body,
            body_len,
            source: source.map(printable_source),
        }
    }

    /// The length of the bytes that could not be decoded, of which [`body`](Self::body)
    /// may be a prefix.
    pub fn body_len(&self) -> usize {
        self.body_len
    }

    /// Whether [`body`](Self::body) is only the start.
    pub fn body_is_truncated(&self) -> bool {
        self.body.len() < self.body_len
    }

    /// Whether the function ran: a 2xx response arrived, so it did.
    pub fn function_ran(&self) -> bool {
        self.status.is_some_and(|s| s.is_success())
    }

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

    /// The bytes that could not be decoded (the response body, or the function's result),
    /// cut at [`MAX_EVIDENCE_BYTES`].
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot decode {} of {} (", self.what, self.operation)?;
        match self.status {
            Some(status) => write!(f, "HTTP {}, {})", status.as_u16(), ran_phrase(status)),
            None => f.write_str("the function may have run)"),
        }
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
pub struct FunctionRaised {
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

impl fmt::Display for FunctionRaised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the function raised ")?;
        match (&self.error_type, &self.error_message) {
            (Some(kind), Some(message)) => write!(f, "{}: {}", printable(kind), printable(message))?,
            (Some(kind), None) => f.write_str(&printable(kind))?,
            (None, Some(message)) => f.write_str(&printable(message))?,
            (None, None) => write!(f, "an error ({} bytes of result)", self.result.len())?,
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {}]", printable(id))?;
        }
        Ok(())
    }
}

impl std::error::Error for FunctionRaised {}

/// A function behind API Gateway answered `{statusCode, headers, body}` with a status
/// outside 2xx.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FunctionHttpStatus {
    /// `statusCode`.
    pub status_code: u16,
    /// `headers`.
    pub headers: serde_json::Map<String, serde_json::Value>,
    /// `body`, Base64-decoded when `isBase64Encoded` was set.
    pub body: Bytes,
    /// Request id of the invocation.
    pub request_id: Option<String>,
}

impl fmt::Display for FunctionHttpStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the function answered HTTP {}", self.status_code)?;
        match std::str::from_utf8(&self.body) {
            Ok(text) if !text.is_empty() && text.len() <= 200 => write!(f, ": {}", printable(text.trim()))?,
            _ => write!(f, " ({} bytes of body)", self.body.len())?,
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {}]", printable(id))?;
        }
        Ok(())
    }
}

impl std::error::Error for FunctionHttpStatus {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{TlsError, TlsFailure};

    #[test]
    fn a_tls_failure_quoting_hostile_text_stays_a_tls_failure_and_prints_clean() {
        let hostile = std::io::Error::other("certificate valid only for \u{1b}[31mevil\u{1b}[0m\nname");
        let error = Error::from_transport(TransportError::tls(TlsError::new(
            TlsFailure::WrongHostName,
            Some("127.0.0.1".into()),
            Some(Box::new(hostile)),
        )));
        let Error::Transport(transport) = &error else {
            panic!("expected a transport error, got {error:?}")
        };
        let tls = transport.tls_error().expect("still a TlsError");
        assert_eq!(tls.failure(), TlsFailure::WrongHostName);
        assert!(!error.is_transient(), "a certificate does not fix itself");
        assert_eq!(error.execution(), Execution::NotRun);
        let mut chain = error.to_string();
        let mut cause = std::error::Error::source(&error);
        while let Some(current) = cause {
            chain.push_str(": ");
            chain.push_str(&current.to_string());
            cause = current.source();
        }
        assert!(!chain.chars().any(char::is_control), "{chain:?}");
        assert!(chain.contains("evil"), "the text is kept, made printable: {chain}");
    }
}
