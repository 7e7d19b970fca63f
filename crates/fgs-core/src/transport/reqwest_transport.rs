//! The default transport, on reqwest with rustls.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::BodyExt as _;

use super::{Delivery, SendOptions, Transport, TransportError};

/// Sends requests with a [`reqwest::Client`]: pooled keep-alive connections, rustls,
/// no redirects followed.
///
/// Use [`ReqwestTransport::from_client`] to bring your own client, for proxies, custom
/// root certificates or client certificates:
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let http = reqwest::Client::builder()
///     .proxy(reqwest::Proxy::https("http://proxy.internal:3128")?)
///     .build()?;
/// let transport = fgs_core::transport::ReqwestTransport::from_client(http);
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
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            // The client decides what may be sent again; the transport sends once.
            .retry(reqwest::retry::never())
            .no_proxy()
            .tcp_keepalive(Duration::from_secs(60))
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| TransportError::other(Delivery::NotSent, e))?;
        Ok(ReqwestTransport { client })
    }

    /// A transport that sends with `client` as it is configured.
    pub fn from_client(client: reqwest::Client) -> Self {
        ReqwestTransport { client }
    }
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
        options: &SendOptions,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let mut request =
            reqwest::Request::try_from(request).map_err(|e| TransportError::other(Delivery::NotSent, e))?;
        *request.timeout_mut() = options.timeout;
        let response = self.client.execute(request).await.map_err(classify)?;
        // Move the head over as it is: no copy of the headers.
        let (parts, body) = http::Response::from(response).into_parts();
        // Once a status line has arrived the request certainly reached the server.
        let body = body
            .collect()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    TransportError::timeout(Delivery::MaybeSent, e)
                } else {
                    TransportError::io(Delivery::MaybeSent, e)
                }
            })?
            .to_bytes();
        Ok(http::Response::from_parts(parts, body))
    }
}

fn classify(error: reqwest::Error) -> TransportError {
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
