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

#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub mod hyper;
#[cfg(any(feature = "hyper", feature = "reqwest"))]
mod request_body;
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub use self::hyper::{HyperTransport, HyperTransportBuilder};
#[cfg(feature = "reqwest")]
mod reqwest;
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use self::reqwest::{ReqwestTransport, ReqwestTransportBuilder};

/// The default transport with `connect_timeout` and no other setting: what the SDK's own
/// requests (IAM, the metadata service, credential sources) use when given no transport.
/// reqwest with the `reqwest` feature, else hyper.
#[cfg(feature = "reqwest")]
#[cfg_attr(not(feature = "auth"), allow(dead_code))]
pub(crate) fn internal_default(connect_timeout: Duration) -> Result<std::sync::Arc<dyn Transport>, TransportError> {
    Ok(std::sync::Arc::new(ReqwestTransport::new(connect_timeout)?))
}

/// The default transport with `connect_timeout` and no other setting: what the SDK's own
/// requests (IAM, the metadata service, credential sources) use when given no transport.
/// reqwest with the `reqwest` feature, else hyper.
#[cfg(all(feature = "hyper", not(feature = "reqwest")))]
#[cfg_attr(not(feature = "auth"), allow(dead_code))]
pub(crate) fn internal_default(connect_timeout: Duration) -> Result<std::sync::Arc<dyn Transport>, TransportError> {
    Ok(std::sync::Arc::new(HyperTransport::new(connect_timeout)?))
}

/// Sends HTTP requests.
///
/// Contract for implementations:
/// - send the request exactly once; never retry on your own (a synchronous invoke is not
///   idempotent, and the client decides what is safe to send again);
/// - never follow a redirect: return the 3xx response as it is, so credentials and the
///   event never go to a host the user did not configure;
/// - honour [`SendOptions::timeout`] for the whole exchange, request and response body;
/// - honour [`SendOptions::max_response_bytes`]: refuse a `Content-Length` over the cap
///   before reading, and stop reading once the cap is passed, with
///   [`TransportError::response_too_large`] (the [`collect_body`] helper does both);
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

    /// Whether [`send`](Self::send) always ends by [`SendOptions::timeout`] on its own.
    ///
    /// The client bounds every call by its deadline. For a transport that says `false`
    /// (the default, always safe) it also runs a timer of its own around `send`, a little
    /// after the timeout, in case the transport ignores it. A transport that enforces the
    /// timeout itself can say `true` and spare each call that second timer; the
    /// transports of this SDK do.
    fn enforces_timeout(&self) -> bool {
        false
    }
}

/// The future [`Transport::send`] returns, as `#[async_trait]` spells it.
///
/// For a transport that writes `send` out without the sugar, to do its checks and start
/// its HTTP client's request before the boxed future is made (so that the box holds no
/// copy of the request), as both transports of this SDK do:
///
/// ```
/// use bytes::Bytes;
/// use fgs_core::transport::{SendFuture, SendOptions, Transport, TransportError};
///
/// #[derive(Debug)]
/// struct Refusing;
///
/// #[async_trait::async_trait]
/// impl Transport for Refusing {
///     fn send<'life0, 'life1, 'async_trait>(
///         &'life0 self,
///         _request: http::Request<Bytes>,
///         _options: &'life1 SendOptions,
///     ) -> SendFuture<'async_trait>
///     where
///         'life0: 'async_trait,
///         'life1: 'async_trait,
///         Self: 'async_trait,
///     {
///         let refused = TransportError::other(fgs_core::transport::Delivery::NotSent, "refused");
///         Box::pin(std::future::ready(Err(refused)))
///     }
/// }
/// ```
pub type SendFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<http::Response<Bytes>, TransportError>> + Send + 'a>>;

/// Per-request options a transport must honour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendOptions {
    /// Limit for the whole exchange, from connecting to the last byte of the response.
    pub timeout: Option<Duration>,
    /// The largest response body to read, in bytes. `None` reads any size, which only
    /// callers that trust the server should ask for.
    pub max_response_bytes: Option<u64>,
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

    /// Sets the response body cap.
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = Some(limit);
        self
    }
}

/// A response whose body is larger than [`SendOptions::max_response_bytes`]: the status
/// and headers arrived, the body was not read past the cap (nor at all when
/// `Content-Length` announced too much).
///
/// The request reached the server; for a synchronous invoke with a 2xx status the
/// function ran.
#[derive(Debug, Clone)]
pub struct ResponseTooLarge {
    /// Status of the response.
    pub status: http::StatusCode,
    /// Headers of the response.
    pub headers: http::HeaderMap,
    /// The cap that was passed.
    pub limit: u64,
    /// The size `Content-Length` announced, if it did.
    pub announced: Option<u64>,
}

impl fmt::Display for ResponseTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the HTTP {} response body ", self.status.as_u16())?;
        match self.announced {
            Some(size) => write!(f, "announces {size} bytes, more")?,
            None => f.write_str("runs longer")?,
        }
        write!(f, " than the {} bytes this call reads", self.limit)
    }
}

impl std::error::Error for ResponseTooLarge {}

/// Reads a response body into one buffer, within `limit` bytes.
///
/// The announced `Content-Length` is checked before anything is read, and reading stops
/// at the first frame past the cap, so a hostile server cannot make the caller buffer
/// more than `limit` plus one frame. Transports built on any [`http_body::Body`] (hyper,
/// reqwest, a test double) share this one implementation.
///
/// A body error is reported as [`TransportErrorKind::Io`] with [`Delivery::MaybeSent`]: a
/// response head arrived, so the request reached the server.
pub async fn collect_body<B>(head: &http::response::Parts, body: B, limit: Option<u64>) -> Result<Bytes, TransportError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let too_large = |announced| {
        TransportError::response_too_large(ResponseTooLarge {
            status: head.status,
            headers: head.headers.clone(),
            limit: limit.unwrap_or(u64::MAX),
            announced,
        })
    };
    // The body knows its framed length (hyper and reqwest take it from a valid
    // `Content-Length`), which spares parsing the header again; a body that does not know
    // it is read and counted all the same.
    let announced = body.size_hint().exact().or_else(|| {
        head.headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    });
    if let (Some(size), Some(limit)) = (announced, limit) {
        if size > limit {
            return Err(too_large(Some(size)));
        }
    }
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut buffer: Option<bytes::BytesMut> = None;
    let mut total: u64 = 0;
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|e| TransportError::io(Delivery::MaybeSent, e))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers carry nothing the client reads
        };
        total = total.saturating_add(data.len() as u64);
        if limit.is_some_and(|limit| total > limit) {
            return Err(too_large(announced));
        }
        // One frame (the common case for small responses) is kept without a copy.
        match (&mut first, &mut buffer) {
            (None, None) => first = Some(data),
            (Some(_), None) => {
                let head = first.take().unwrap_or_default();
                let capacity = announced.map_or(0, |n| n.min(limit.unwrap_or(u64::MAX)));
                let mut joined = bytes::BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
                joined.extend_from_slice(&head);
                joined.extend_from_slice(&data);
                buffer = Some(joined);
            }
            (_, Some(joined)) => joined.extend_from_slice(&data),
        }
    }
    Ok(match (first, buffer) {
        (_, Some(joined)) => joined.freeze(),
        (Some(single), None) => single,
        (None, None) => Bytes::new(),
    })
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
    /// The response body is larger than [`SendOptions::max_response_bytes`]; the source
    /// is a [`ResponseTooLarge`] with the status and headers.
    ResponseTooLarge,
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

    /// The response body passed the cap. The request reached the server.
    pub fn response_too_large(details: ResponseTooLarge) -> Self {
        Self::new(TransportErrorKind::ResponseTooLarge, Delivery::MaybeSent, details)
    }

    /// The details of a [`TransportErrorKind::ResponseTooLarge`] failure.
    pub fn as_response_too_large(&self) -> Option<&ResponseTooLarge> {
        self.source.downcast_ref::<ResponseTooLarge>()
    }

    /// A failed TLS handshake ([`TlsError`](crate::network::TlsError)): kind
    /// [`Connect`](TransportErrorKind::Connect), nothing sent.
    pub fn tls(error: crate::network::TlsError) -> Self {
        Self::new(TransportErrorKind::Connect, Delivery::NotSent, error)
    }

    /// The TLS handshake failure this error is, if it is one.
    pub fn tls_error(&self) -> Option<&crate::network::TlsError> {
        self.source.downcast_ref::<crate::network::TlsError>()
    }

    /// Takes the source error out, e.g. to inspect it by value.
    pub fn into_source(self) -> BoxError {
        self.source
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
            TransportErrorKind::Connect if self.tls_error().is_some() => "could not connect securely (TLS)",
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Io => "connection failed",
            TransportErrorKind::ResponseTooLarge => "response too large",
            TransportErrorKind::Other => "request failed",
        };
        let delivery = match self.delivery {
            Delivery::NotSent => "the request was not sent",
            Delivery::MaybeSent => "the request may have reached the service",
        };
        // The cause is the `source()`, not part of this text: printed with its causes
        // (`{:#}`), each message appears once.
        write!(f, "{what} ({delivery})")
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}
