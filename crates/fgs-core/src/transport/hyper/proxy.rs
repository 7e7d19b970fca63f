//! Proxies for [`HyperTransport`](crate::transport::HyperTransport), as the reqwest transport speaks to
//! them: an `https` destination is reached through a `CONNECT` tunnel (the proxy sees the
//! host and port, never the request), a plain `http` one by sending the request to the
//! proxy in absolute form. A proxy URL may itself be `https://` (TLS to the proxy).
//!
//! Which proxy a destination takes is hyper-util's [`Matcher`], the `NO_PROXY` rules
//! included, one per configured [`Proxy`], tried in the order they were added.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::network::{Proxy, ProxyScope};
use crate::transport::{Delivery, TransportError};
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Uri};
use http_body::{Frame, SizeHint};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;
use zeroize::Zeroizing;

use super::RequestBody;

type BoxError = Box<dyn StdError + Send + Sync>;

/// One configured proxy: which destinations it takes, and its `Proxy-Authorization`.
pub(crate) struct ProxyRoute {
    matcher: Matcher,
    /// `Basic ...`, marked sensitive so hyper never logs it.
    authorization: Option<HeaderValue>,
}

impl ProxyRoute {
    /// Refuses, with a message free of credentials, a proxy that cannot be used.
    pub(crate) fn new(proxy: &Proxy) -> Result<ProxyRoute, TransportError> {
        let url = proxy
            .checked_url()
            .map_err(|e| TransportError::other(Delivery::NotSent, e))?;
        let builder = Matcher::builder();
        let builder = match proxy.scope() {
            ProxyScope::Https => builder.https(url),
            ProxyScope::Http => builder.http(url),
            _ => builder.all(url),
        };
        let matcher = builder.no(proxy.no_proxy_list().unwrap_or_default()).build();
        let authorization = match proxy.credentials() {
            Some((user, password)) => {
                // Copies of the password are zeroed when dropped, as the `Secret` is.
                let pair = Zeroizing::new(format!("{user}:{}", password.expose()));
                let header = Zeroizing::new(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
                ));
                let mut value = HeaderValue::from_str(&header).map_err(|_| {
                    TransportError::other(Delivery::NotSent, "the proxy credentials cannot be sent in a header")
                })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        Ok(ProxyRoute { matcher, authorization })
    }
}

/// The proxies of a transport, in the order they were added.
#[derive(Clone)]
pub(crate) struct ProxyRoutes(Arc<[ProxyRoute]>);

impl ProxyRoutes {
    pub(crate) fn new(proxies: &[Proxy]) -> Result<ProxyRoutes, TransportError> {
        let routes = proxies.iter().map(ProxyRoute::new).collect::<Result<Vec<_>, _>>()?;
        Ok(ProxyRoutes(routes.into()))
    }

    /// The proxy `dst` goes through, and the credentials for it; `None` to go direct.
    fn route(&self, dst: &Uri) -> Option<(Uri, Option<&HeaderValue>)> {
        self.0.iter().find_map(|route| {
            let intercept = route.matcher.intercept(dst)?;
            Some((intercept.uri().clone(), route.authorization.as_ref()))
        })
    }

    /// The `Proxy-Authorization` a request to plain-`http` `dst` carries: such a request
    /// goes to the proxy itself, which reads the header (a tunnelled one carries none; its
    /// `CONNECT` does).
    pub(crate) fn authorization_for(&self, dst: &Uri) -> Option<HeaderValue> {
        if dst.scheme() != Some(&http::uri::Scheme::HTTP) {
            return None;
        }
        self.route(dst).and_then(|(_, authorization)| authorization.cloned())
    }
}

/// Opens the connection a request travels on: straight to its host, a `CONNECT` tunnel
/// through a proxy, or (plain `http`) a connection to the proxy that hyper then sends the
/// request to in absolute form. TLS to the destination is the HTTPS connector around it.
///
/// `P` reaches a proxy, over TLS for an `https://` proxy URL: the HTTPS connector of the
/// TLS stack in use (hyper-rustls's or hyper-tls's) around a plain [`HttpConnector`]. Its
/// stream type is also the one of a direct connection, as that connector's plain variant.
#[derive(Clone)]
pub(crate) struct ProxyConnector<P> {
    direct: HttpConnector,
    to_proxy: P,
    routes: ProxyRoutes,
}

impl<P> ProxyConnector<P> {
    pub(crate) fn new(direct: HttpConnector, to_proxy: P, routes: ProxyRoutes) -> ProxyConnector<P> {
        ProxyConnector {
            direct,
            to_proxy,
            routes,
        }
    }
}

type Connecting<S> = Pin<Box<dyn Future<Output = Result<ProxyStream<S>, BoxError>> + Send>>;

impl<P> Service<Uri> for ProxyConnector<P>
where
    P: Service<Uri> + Clone + Send + Sync + 'static,
    P::Response: From<TokioIo<TcpStream>> + hyper::rt::Read + hyper::rt::Write + Connection + Unpin + Send + 'static,
    P::Future: Send + 'static,
    P::Error: Into<BoxError>,
{
    type Response = ProxyStream<P::Response>;
    type Error = BoxError;
    type Future = Connecting<P::Response>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Both inner connectors are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        match self.routes.route(&dst) {
            None => {
                let connecting = self.direct.call(dst);
                Box::pin(async move {
                    let io = connecting.await?;
                    Ok(ProxyStream {
                        io: P::Response::from(io),
                        via_proxy: false,
                    })
                })
            }
            Some((proxy, _)) if dst.scheme() == Some(&http::uri::Scheme::HTTP) => {
                let connecting = self.to_proxy.call(proxy);
                Box::pin(async move {
                    Ok(ProxyStream {
                        io: connecting.await.map_err(Into::into)?,
                        via_proxy: true,
                    })
                })
            }
            Some((proxy, authorization)) => {
                let mut tunnel = Tunnel::new(proxy, self.to_proxy.clone());
                if let Some(authorization) = authorization {
                    tunnel = tunnel.with_auth(authorization.clone());
                }
                let tunnelling = tunnel.call(dst);
                Box::pin(async move {
                    match tunnelling.await {
                        Ok(io) => Ok(ProxyStream { io, via_proxy: false }),
                        Err(error) => Err(tunnel_error(error)),
                    }
                })
            }
        }
    }
}

/// hyper-util's tunnel error is not a public type; a 407 is known by its text and given a
/// type of its own, so that the transport can tell it from a failure to connect.
fn tunnel_error(error: impl StdError + Send + Sync + 'static) -> BoxError {
    if error.to_string().ends_with("proxy authorization required") {
        Box::new(ProxyAuthRequired {
            source: Box::new(error),
        })
    } else {
        Box::new(error)
    }
}

/// A proxy refused the tunnel for want of (valid) credentials.
#[derive(Debug)]
pub(crate) struct ProxyAuthRequired {
    source: BoxError,
}

impl fmt::Display for ProxyAuthRequired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the proxy refused the connection: 407 Proxy Authentication Required (check the proxy's user \
             and password)",
        )
    }
}

impl StdError for ProxyAuthRequired {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

/// The body of a request on a proxied client: a [`RequestBody`], as a type of its own (see
/// `send_proxied`).
pub(crate) struct ProxiedBody(pub(crate) RequestBody);

impl http_body::Body for ProxiedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.get_mut().0).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }
}

/// A connection from [`ProxyConnector`]: TCP, possibly TLS to a proxy, and whether requests
/// on it go to a proxy (hyper then writes them in absolute form).
pub(crate) struct ProxyStream<S> {
    io: S,
    via_proxy: bool,
}

impl<S> fmt::Debug for ProxyStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyStream")
            .field("via_proxy", &self.via_proxy)
            .finish_non_exhaustive()
    }
}

impl<S: Connection> Connection for ProxyStream<S> {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.via_proxy)
    }
}

impl<S: hyper::rt::Read + Unpin> hyper::rt::Read for ProxyStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<S: hyper::rt::Write + Unpin> hyper::rt::Write for ProxyStream<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use super::*;

    fn uri(text: &str) -> Uri {
        text.parse().unwrap()
    }

    #[test]
    fn the_first_proxy_that_takes_a_destination_is_its_route() {
        let routes = ProxyRoutes::new(&[
            Proxy::https("http://tunnel.internal:3128").no_proxy("localhost,.internal,10.0.0.0/8"),
            Proxy::all("https://user:pw@fallback.internal:8443"),
        ])
        .unwrap();
        let via = |dst: &str| {
            routes
                .route(&uri(dst))
                .map(|(proxy, auth)| (proxy.to_string(), auth.is_some()))
        };
        let tunnel = Some(("http://tunnel.internal:3128/".to_owned(), false));
        let fallback = Some(("https://fallback.internal:8443/".to_owned(), true));
        assert_eq!(via("https://functiongraph.cn-north-4.myhuaweicloud.com/v2"), tunnel);
        // Excluded from the first by its NO_PROXY list, so the second takes them.
        assert_eq!(via("https://fgs.internal/v2"), fallback);
        assert_eq!(via("https://10.1.2.3/v2"), fallback);
        assert_eq!(via("https://localhost:8443/v2"), fallback);
        // The first is for https only.
        assert_eq!(via("http://127.0.0.1:8000/v2"), fallback);
    }

    #[test]
    fn only_plain_http_requests_carry_the_proxy_credentials() {
        let routes = ProxyRoutes::new(&[Proxy::all("http://proxy.internal:3128")
            .basic_auth("svc", "pa:ss")
            .no_proxy("127.0.0.1")])
        .unwrap();
        let expected = HeaderValue::from_static("Basic c3ZjOnBhOnNz");
        assert_eq!(
            routes.authorization_for(&uri("http://fgs.example:80/v2")),
            Some(expected)
        );
        // A tunnelled request: the credentials went with its CONNECT.
        assert_eq!(routes.authorization_for(&uri("https://fgs.example/v2")), None);
        // Not through the proxy at all.
        assert_eq!(routes.authorization_for(&uri("http://127.0.0.1:8000/v2")), None);
        let authorization = routes.authorization_for(&uri("http://fgs.example/v2")).unwrap();
        assert!(authorization.is_sensitive());
    }

    #[test]
    fn an_unusable_proxy_is_refused_without_its_password() {
        let error = ProxyRoutes::new(&[Proxy::all("socks5://svc:hunter2@127.0.0.1:1080")])
            .err()
            .unwrap();
        let text = format!("{error} {error:?}");
        assert!(text.contains("proxy"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
