//! The default transport, on reqwest with rustls.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::{Delivery, SendOptions, Transport, TransportError, TransportErrorKind, collect_body};

/// Sends requests with a [`reqwest::Client`]: pooled keep-alive connections, rustls,
/// no redirects followed, no retries of its own.
///
/// One limit of reqwest: when [`SendOptions::timeout`] passes while a connection is still
/// being opened, reqwest does not say so, and the failure is reported as
/// [`Delivery::MaybeSent`] (never re-sent for a call that is not idempotent). The
/// separate connect timeout is reported exactly, as [`Delivery::NotSent`]. The hyper
/// transport (`fgs-transport-hyper`) tells the two apart in every case.
///
/// Use [`ReqwestTransport::from_builder`] to configure reqwest yourself, for proxies,
/// custom root certificates or client certificates:
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let builder = reqwest::Client::builder()
///     .proxy(reqwest::Proxy::https("http://proxy.internal:3128")?);
/// let transport = fgs_core::transport::ReqwestTransport::from_builder(builder)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with its own client: the given connect timeout, no redirects, no
    /// retries of its own, and no proxy taken from the environment (so credentials never
    /// go somewhere unexpected).
    pub fn new(connect_timeout: Duration) -> Result<Self, TransportError> {
        let builder = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .no_proxy()
            .tcp_keepalive(Duration::from_secs(60))
            .pool_idle_timeout(Duration::from_secs(90));
        Self::from_builder(builder)
    }

    /// A transport from your reqwest settings. Redirects and reqwest's own retries are
    /// turned off whatever the builder says: a redirect would carry `X-Auth-Token`,
    /// `X-Security-Token` and the event to another host, and a 307/308 would run the
    /// function again; the client alone decides what may be sent twice.
    ///
    /// There is deliberately no constructor from a built `reqwest::Client`, whose redirect
    /// policy cannot be read or changed.
    pub fn from_builder(builder: reqwest::ClientBuilder) -> Result<Self, TransportError> {
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .build()
            .map_err(|e| TransportError::other(Delivery::NotSent, e.without_url()))?;
        Ok(ReqwestTransport { client })
    }
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
        options: &SendOptions,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let mut request = reqwest::Request::try_from(request)
            .map_err(|e| TransportError::other(Delivery::NotSent, e.without_url()))?;
        *request.timeout_mut() = options.timeout;
        let response = self.client.execute(request).await.map_err(classify)?;
        // Move the head over as it is: no copy of the headers.
        let (parts, body) = http::Response::from(response).into_parts();
        // Once a status line has arrived the request certainly reached the server.
        let body = collect_body(&parts, body, options.max_response_bytes)
            .await
            .map_err(body_error)?;
        Ok(http::Response::from_parts(parts, body))
    }
}

/// reqwest reports its own timeout while the body streams; keep it a timeout.
fn body_error(error: TransportError) -> TransportError {
    if error.kind() != TransportErrorKind::Io {
        return error;
    }
    match error.into_source().downcast::<reqwest::Error>() {
        Ok(e) if e.is_timeout() => TransportError::timeout(Delivery::MaybeSent, e.without_url()),
        Ok(e) => TransportError::io(Delivery::MaybeSent, e.without_url()),
        Err(other) => TransportError::io(Delivery::MaybeSent, other),
    }
}

/// Sorts a reqwest failure. The request URL (project id, function URN) is stripped from
/// the error text, so that logs and traces of errors never carry it.
fn classify(error: reqwest::Error) -> TransportError {
    let error = error.without_url();
    if error.is_connect() {
        if error.is_timeout() {
            TransportError::timeout(Delivery::NotSent, error)
        } else {
            TransportError::connect(error)
        }
    } else if error.is_builder() {
        TransportError::other(Delivery::NotSent, error)
    } else if error.is_timeout() {
        TransportError::timeout(Delivery::MaybeSent, error)
    } else {
        TransportError::io(Delivery::MaybeSent, error)
    }
}
