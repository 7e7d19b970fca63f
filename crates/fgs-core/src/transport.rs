//! The seam between the client and an HTTP stack.
//!
//! A [`Transport`] sends one fully built request and returns the whole response. The
//! client builds, authenticates and interprets; the transport only moves bytes. The
//! default is [`ReqwestTransport`] (feature `reqwest`); anything else (another HTTP stack,
//! a proxy tunnel, a recorder in tests) implements the trait.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

#[cfg(feature = "reqwest")]
mod reqwest_transport;
#[cfg(feature = "reqwest")]
pub use reqwest_transport::ReqwestTransport;

/// Sends HTTP requests.
///
/// Contract for implementations:
/// - send the request exactly once; never retry on your own (a synchronous invoke is not
///   idempotent, and the client decides what is safe to send again);
/// - honour [`SendOptions::timeout`] for the whole exchange, request and response body;
/// - report whether the request may have reached the server ([`Delivery`]): a failure to
///   connect is [`Delivery::NotSent`], anything after the first byte was written is
///   [`Delivery::MaybeSent`].
///
/// # Example
///
/// A transport that wraps another and counts requests:
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use fgs_core::transport::{SendOptions, Transport, TransportError};
/// use fgs_core::async_trait;
///
/// #[derive(Debug)]
/// struct Counting<T> { inner: T, sent: AtomicUsize }
///
/// #[async_trait]
/// impl<T: Transport> Transport for Counting<T> {
///     async fn send(
///         &self,
///         request: http::Request<bytes::Bytes>,
///         options: &SendOptions,
///     ) -> Result<http::Response<bytes::Bytes>, TransportError> {
///         self.sent.fetch_add(1, Ordering::Relaxed);
///         self.inner.send(request, options).await
///     }
/// }
/// ```
#[async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request` and returns the complete response.
    async fn send(
        &self,
        request: http::Request<Bytes>,
        options: &SendOptions,
    ) -> Result<http::Response<Bytes>, TransportError>;
}

/// Per-request options a transport must honour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendOptions {
    /// Limit for the whole exchange, from connecting to the last byte of the response.
    pub timeout: Option<Duration>,
}

impl SendOptions {
    /// Options with no limits set.
    pub fn new() -> Self {
        SendOptions::default()
    }

    /// Sets the whole-exchange timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// Whether a failed request may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Certainly not sent: the function cannot have run because of it.
    NotSent,
    /// Possibly sent: the function may have run.
    MaybeSent,
}

/// What kind of failure a [`TransportError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// Could not connect (DNS, refused, TLS handshake).
    Connect,
    /// A time limit was reached.
    Timeout,
    /// The connection failed while sending or receiving.
    Io,
    /// Anything else, e.g. a request the HTTP stack refused to build.
    Other,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A failure below HTTP: no complete response was received.
#[derive(Debug)]
pub struct TransportError {
    kind: TransportErrorKind,
    delivery: Delivery,
    source: BoxError,
}

impl TransportError {
    /// A failure of the given kind.
    pub fn new(kind: TransportErrorKind, delivery: Delivery, source: impl Into<BoxError>) -> Self {
        TransportError {
            kind,
            delivery,
            source: source.into(),
        }
    }

    /// Could not connect; the request was not sent.
    pub fn connect(source: impl Into<BoxError>) -> Self {
        Self::new(TransportErrorKind::Connect, Delivery::NotSent, source)
    }

    /// A time limit was reached.
    pub fn timeout(delivery: Delivery, source: impl Into<BoxError>) -> Self {
        Self::new(TransportErrorKind::Timeout, delivery, source)
    }

    /// The connection failed while sending or receiving.
    pub fn io(delivery: Delivery, source: impl Into<BoxError>) -> Self {
        Self::new(TransportErrorKind::Io, delivery, source)
    }

    /// Any other failure.
    pub fn other(delivery: Delivery, source: impl Into<BoxError>) -> Self {
        Self::new(TransportErrorKind::Other, delivery, source)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// Whether the request may have reached the server.
    pub fn delivery(&self) -> Delivery {
        self.delivery
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Io => "connection failed",
            TransportErrorKind::Other => "request failed",
        };
        let delivery = match self.delivery {
            Delivery::NotSent => "the request was not sent",
            Delivery::MaybeSent => "the request may have reached the service",
        };
        write!(f, "{what} ({delivery}): {}", self.source)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}
