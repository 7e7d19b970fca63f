//! The hyper 1.x transport (feature `hyper`): [`HyperTransport`], the pooled
//! [`hyper_util` legacy client](hyper_util::client::legacy::Client) with rustls
//! ([`hyper_rustls`]), the operating system's root certificates and any you add.
//!
//! It does the same exchange as the reqwest transport with about half the instructions
//! per call (reqwest parses every request's URL twice more, in its pending request and in
//! its redirect policy, and runs its tower layers). Use it for the highest call rates, when
//! your program already builds on hyper and you want one HTTP stack, or when you need
//! control over the connector. With the `reqwest` feature off it is also the transport a
//! [`Client`](crate::Client) gets when given none, set up from the builder's network
//! settings (connect timeout, root certificates, proxies); with both features on, reqwest
//! is that default and this one is chosen with
//! [`ClientBuilder::transport`](crate::ClientBuilder::transport):
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use fgs_core::{Client, FunctionUrn, auth::StaticToken};
//! use fgs_core::transport::HyperTransport;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder()
//!     .region("cn-north-4")
//!     .auth(StaticToken::new(std::env::var("IAM_TOKEN")?))
//!     .transport(HyperTransport::new(Duration::from_secs(10))?)
//!     .build()?;
//! let urn: FunctionUrn =
//!     "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest".parse()?;
//! let output = client.invoke(&urn).json(&serde_json::json!({ "name": "fgs" })).send().await?;
//! println!("{}", output.result_str()?);
//! # Ok(()) }
//! ```
//!
//! What the transport does, and what it leaves to the client:
//!
//! - it sends every request once. hyper-util re-dispatches a request only when a pooled
//!   connection turns out to be closed before any byte of the request was written to it;
//!   a request that may have been written is never sent again;
//! - [`SendOptions::timeout`] bounds the whole exchange: connecting, sending, waiting
//!   for the response and reading its body; the connect timeout bounds opening a new
//!   connection: TCP, the TLS handshake and a proxy's tunnel;
//! - [`SendOptions::max_response_bytes`] bounds the body: a larger `Content-Length` is
//!   refused before reading, and reading stops once the cap is passed
//!   ([`collect_body`], the same reader as the reqwest transport's);
//! - failures say whether the request may have reached the service ([`Delivery`]): a
//!   failure to connect (refused, DNS, TLS handshake, connect timeout) and a timeout
//!   before hyper began writing the request (its [`RequestBody`] marks that moment) are
//!   [`Delivery::NotSent`]; anything later is [`Delivery::MaybeSent`];
//! - statuses are not judged: a 401, a 502 or a proxy's HTML page comes back as a
//!   response for the client to interpret, and redirects are not followed;
//! - plain `http` is allowed (for loopback emulators); the client refuses plain `http` to
//!   other hosts unless told otherwise;
//! - a failed TLS handshake (an untrusted certificate, one for another name) is a
//!   [`TransportError`] with [`Delivery::NotSent`] carrying a
//!   [`TlsError`](crate::network::TlsError) ([`TransportError::tls_error`]).
//!
//! TLS is the stack the features pick, as for the reqwest transport
//! ([`TlsBackend::SELECTED`](crate::network::TlsBackend::SELECTED),
//! [`HyperTransport::tls_backend`]): rustls with the crypto provider a feature names,
//! `rustls-aws-lc` (default, rustls's own default) or `rustls-ring` for targets where
//! aws-lc-rs does not build (with both, ring; with neither, the provider the process
//! installed), or with `native-tls` the platform's library (OpenSSL, Secure Transport,
//! SChannel) through hyper-tls, which wins over both. Root certificates are the operating
//! system's (through `rustls-platform-verifier`, or the platform's store for native-tls)
//! plus those given to [`HyperTransportBuilder::add_root_certificate`]. A client of your own
//! ([`HyperTransport::from_client`], a [`HyperClient`]) is built on hyper-rustls's
//! connector.
//!
//! Proxies are opt-in, as on the reqwest transport, and take the same [`Proxy`] values:
//! [`HyperTransportBuilder::proxy`], or [`HyperTransportBuilder::proxy_from_env`] for
//! `HTTPS_PROXY`, `NO_PROXY` and their kin. An `https` endpoint is reached through a
//! `CONNECT` tunnel (hyper-util's), so the proxy never sees the request. The proxy
//! settings of [`ClientBuilder`](crate::ClientBuilder) are the default transport's; a
//! `HyperTransport` passed in keeps its own.
//!
//! [`hyper_util`], [`hyper_rustls`] and [`rustls`] are re-exported so that a client for
//! [`HyperTransport::from_client`] can be built with the same versions.

use std::error::Error as StdError;
use std::fmt;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::network::{Certificate, Proxy};
use crate::transport::{Delivery, SendFuture, SendOptions, Transport, TransportError, collect_body};
use async_trait::async_trait;
use bytes::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

pub use hyper_rustls;
pub use hyper_util;
pub use rustls;

mod proxy;
mod tls;

pub use super::request_body::RequestBody;
use super::request_body::Stage;

use proxy::{ProxiedBody, ProxyAuthRequired, ProxyConnector, ProxyRoutes};

/// The hyper client a [`HyperTransport`] sends with: HTTPS (or plain HTTP) over the
/// hyper-util connection pool, with request bodies held in memory.
pub type HyperClient = Client<HttpsConnector<HttpConnector>, RequestBody>;

/// The client a [`HyperTransport`] built with proxies sends with.
#[cfg(not(feature = "native-tls"))]
type ProxiedClient = Client<HttpsConnector<ProxyConnector<HttpsConnector<HttpConnector>>>, ProxiedBody>;

/// The clients of a transport built with native-tls, without and with proxies.
#[cfg(feature = "native-tls")]
type NativeClient = Client<hyper_tls::HttpsConnector<HttpConnector>, RequestBody>;
#[cfg(feature = "native-tls")]
type NativeProxiedClient =
    Client<hyper_tls::HttpsConnector<ProxyConnector<hyper_tls::HttpsConnector<HttpConnector>>>, ProxiedBody>;

/// The client requests go out on.
#[derive(Clone)]
enum Sender {
    Direct(HyperClient),
    /// With proxies; only a request to a plain-`http` destination through a proxy that
    /// wants credentials needs `routes` again (for its `Proxy-Authorization`).
    #[cfg(not(feature = "native-tls"))]
    Proxied {
        client: ProxiedClient,
        routes: ProxyRoutes,
    },
    #[cfg(feature = "native-tls")]
    NativeDirect(NativeClient),
    #[cfg(feature = "native-tls")]
    NativeProxied {
        client: NativeProxiedClient,
        routes: ProxyRoutes,
    },
}

/// How long an idle pooled connection is kept by default (as with the reqwest transport).
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// The TCP keep-alive interval of connections this crate opens.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// Sends requests with hyper 1.x: pooled keep-alive HTTP/1.1 connections, TLS (rustls, or
/// native-tls with that feature) with the operating system's root certificates (and any
/// added), TCP no-delay, a connect timeout, no redirects followed.
///
/// Cheap to clone: clones share the connection pool.
///
/// ```no_run
/// use std::time::Duration;
/// use fgs_core::transport::HyperTransport;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = fgs_core::Client::builder()
///     .endpoint_url("http://127.0.0.1:8000")
///     .auth(fgs_core::auth::StaticToken::new("local-token"))
///     .transport(HyperTransport::new(Duration::from_secs(5))?)
///     .build()?;
/// # Ok(()) }
/// ```
///
/// See [`HyperTransport::builder`] for the pool settings and
/// [`HyperTransport::from_client`] to bring a client you configured yourself.
#[derive(Clone)]
pub struct HyperTransport {
    sender: Sender,
    /// The settings it was built with; `None` for a client brought by the caller.
    settings: Option<HyperTransportBuilder>,
}

impl fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("HyperTransport");
        match &self.settings {
            Some(settings) => debug
                .field("connect_timeout", &settings.connect_timeout)
                .field("pool_idle_timeout", &settings.pool_idle_timeout)
                .field("pool_max_idle_per_host", &settings.pool_max_idle_per_host)
                .field("tls", &self.tls_backend())
                .field("root_certificates", &settings.root_certificates.len())
                .field("tls_built_in_roots", &settings.built_in_roots)
                .field("proxies", &settings.proxies)
                .finish(),
            None => debug.field("client", &"provided by the caller").finish(),
        }
    }
}

impl HyperTransport {
    /// A transport with its own connection pool and the given connect timeout; the other
    /// settings are the defaults of [`HyperTransportBuilder`].
    ///
    /// Fails when the operating system's root certificates cannot be loaded.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), fgs_core::transport::TransportError> {
    /// let transport = fgs_core::transport::HyperTransport::new(std::time::Duration::from_secs(10))?;
    /// # Ok(()) }
    /// ```
    pub fn new(connect_timeout: Duration) -> Result<Self, TransportError> {
        Self::builder().connect_timeout(connect_timeout).build()
    }

    /// Starts configuring a transport.
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// # fn main() -> Result<(), fgs_core::transport::TransportError> {
    /// let transport = fgs_core::transport::HyperTransport::builder()
    ///     .connect_timeout(Duration::from_secs(3))
    ///     .pool_idle_timeout(Some(Duration::from_secs(30)))
    ///     .pool_max_idle_per_host(8)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder() -> HyperTransportBuilder {
        HyperTransportBuilder::default()
    }

    /// A transport that sends with `client` as it is configured: your own rustls
    /// configuration (client certificates, through the [`HttpsConnector`]), a custom
    /// resolver or connector, timeouts, pool limits.
    ///
    /// Keep redirects unfollowed (hyper never follows them) and do not add retries to the
    /// stack below: the SDK decides what may be sent again. A TLS failure is reported as
    /// such only when the connector's error carries the [`rustls::Error`] (or, with the
    /// `native-tls` feature, the `native_tls::Error`).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use fgs_core::transport::HyperTransport;
    /// use fgs_core::transport::hyper::hyper_rustls::HttpsConnectorBuilder;
    /// use fgs_core::transport::hyper::hyper_util::client::legacy::{Client, connect::HttpConnector};
    /// use fgs_core::transport::hyper::hyper_util::rt::{TokioExecutor, TokioTimer};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut http = HttpConnector::new();
    /// http.enforce_http(false); // the HTTPS connector below handles the scheme
    /// http.set_nodelay(true);
    /// http.set_connect_timeout(Some(Duration::from_secs(2)));
    /// // The roots and provider this crate would use; change what you need.
    /// let tls = HyperTransport::builder().rustls_client_config()?;
    /// let https = HttpsConnectorBuilder::new()
    ///     .with_tls_config(tls)
    ///     .https_only()
    ///     .enable_http1()
    ///     .wrap_connector(http);
    /// let client = Client::builder(TokioExecutor::new())
    ///     .pool_timer(TokioTimer::new())
    ///     .pool_max_idle_per_host(4)
    ///     .build(https);
    /// let transport = HyperTransport::from_client(client);
    /// # Ok(()) }
    /// ```
    pub fn from_client(client: HyperClient) -> Self {
        HyperTransport {
            sender: Sender::Direct(client),
            settings: None,
        }
    }

    /// The transport a client without `reqwest` gets when given none: the builder's
    /// network settings (connect timeout, root certificates, proxies) on a pool of its own.
    #[cfg(not(feature = "reqwest"))]
    pub(crate) fn from_settings(settings: &crate::network::NetworkSettings) -> Result<Self, crate::ConfigError> {
        settings.check()?;
        let builder = HyperTransportBuilder {
            connect_timeout: settings.connect_timeout.unwrap_or(crate::DEFAULT_CONNECT_TIMEOUT),
            root_certificates: settings.root_certificates.clone(),
            built_in_roots: settings.built_in_roots,
            proxies: settings.proxies.clone(),
            ..HyperTransportBuilder::default()
        };
        builder
            .build()
            .map_err(|e| crate::ConfigError::new("the hyper transport cannot be set up").with_source(e))
    }

    /// The hyper client requests are sent with; `None` for a transport built with
    /// proxies, whose client has a connector of this crate's own, or with native-tls,
    /// whose client is hyper-tls's rather than a [`HyperClient`].
    pub fn client(&self) -> Option<&HyperClient> {
        match &self.sender {
            Sender::Direct(client) => Some(client),
            _ => None,
        }
    }

    /// The TLS stack this transport speaks: the one the features select
    /// ([`TlsBackend::SELECTED`](crate::network::TlsBackend::SELECTED)) for a transport
    /// built here, `None` for a client brought with [`from_client`](Self::from_client)
    /// (its connector decides).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), fgs_core::transport::TransportError> {
    /// let transport = fgs_core::transport::HyperTransport::new(std::time::Duration::from_secs(10))?;
    /// assert_eq!(transport.tls_backend(), fgs_core::network::TlsBackend::SELECTED);
    /// # Ok(()) }
    /// ```
    pub fn tls_backend(&self) -> Option<crate::network::TlsBackend> {
        self.settings.as_ref().and(crate::network::TlsBackend::SELECTED)
    }
}

/// Configures a [`HyperTransport`].
///
/// Defaults: connect timeout [`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT), idle connections
/// kept for [`DEFAULT_POOL_IDLE_TIMEOUT`], no limit on idle connections per host, the
/// operating system's root certificates, no proxy.
///
/// ```no_run
/// use std::time::Duration;
/// use fgs_core::network::Certificate;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut builder = fgs_core::transport::HyperTransport::builder().connect_timeout(Duration::from_millis(500));
/// // A private CA, or the certificate `fgs local --tls` prints.
/// for root in Certificate::from_pem_file("private-ca.pem")? {
///     builder = builder.add_root_certificate(root);
/// }
/// let transport = builder.build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct HyperTransportBuilder {
    connect_timeout: Duration,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: usize,
    root_certificates: Vec<Certificate>,
    built_in_roots: bool,
    proxies: Vec<Proxy>,
}

impl Default for HyperTransportBuilder {
    fn default() -> Self {
        HyperTransportBuilder {
            connect_timeout: crate::DEFAULT_CONNECT_TIMEOUT,
            pool_idle_timeout: Some(DEFAULT_POOL_IDLE_TIMEOUT),
            pool_max_idle_per_host: usize::MAX,
            root_certificates: Vec::new(),
            built_in_roots: true,
            proxies: Vec::new(),
        }
    }
}

impl HyperTransportBuilder {
    /// Limit for opening a connection, TCP, TLS handshake and a proxy's tunnel included. A
    /// connection that cannot be opened in time fails as a timeout with
    /// [`Delivery::NotSent`], which the retry policy may retry.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an unused connection stays in the pool; `None` keeps it until the server
    /// closes it.
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// The most idle connections kept per host; `0` turns pooling off (a connection per
    /// request).
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// Trusts `certificate` as a root, besides the operating system's roots (unless
    /// [`tls_built_in_roots`](Self::tls_built_in_roots) turns those off). Repeatable.
    pub fn add_root_certificate(mut self, certificate: Certificate) -> Self {
        self.root_certificates.push(certificate);
        self
    }

    /// Whether the operating system's root certificates are trusted (default `true`). With
    /// `false` only the roots added with [`add_root_certificate`](Self::add_root_certificate)
    /// are, and at least one is needed.
    pub fn tls_built_in_roots(mut self, enabled: bool) -> Self {
        self.built_in_roots = enabled;
        self
    }

    /// Sends through `proxy` the requests it is for ([`Proxy::https`], [`Proxy::http`],
    /// [`Proxy::all`], minus its [`no_proxy`](Proxy::no_proxy) hosts); with several, the
    /// first added that takes a request. An `https` destination is reached through a
    /// `CONNECT` tunnel, so the proxy sees its host and port but not the request; a plain
    /// `http` one by sending the request to the proxy. The proxy URL may be `https://`
    /// (TLS to the proxy, trusting the same roots). A proxy that refuses the credentials
    /// (407) fails the call with [`Delivery::NotSent`].
    ///
    /// ```no_run
    /// use fgs_core::network::Proxy;
    ///
    /// # fn main() -> Result<(), fgs_core::transport::TransportError> {
    /// let transport = fgs_core::transport::HyperTransport::builder()
    ///     .proxy(
    ///         Proxy::https("http://proxy.internal:3128")
    ///             .basic_auth("svc-fgs", "proxy-password")
    ///             .no_proxy("localhost,127.0.0.1,.internal"),
    ///     )
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxies.push(proxy);
        self
    }

    /// Adds the proxies the environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
    /// `NO_PROXY` and their lower-case forms; see [`Proxy::from_env`]). Without this call
    /// the environment is not read.
    pub fn proxy_from_env(mut self) -> Self {
        self.proxies.extend(Proxy::from_env());
        self
    }

    /// The rustls configuration [`build`](Self::build) uses when the features pick rustls:
    /// the crypto provider they name (see the [crate docs](crate)) and the root
    /// certificates. A starting point for a client of your own
    /// ([`HyperTransport::from_client`]); leave its ALPN protocols empty (hyper-rustls sets
    /// them).
    pub fn rustls_client_config(&self) -> Result<rustls::ClientConfig, TransportError> {
        tls::client_config(&self.root_certificates, self.built_in_roots)
    }

    /// Loads the root certificates and builds the transport.
    ///
    /// Fails, without panicking, when no usable root certificate is found (none from the
    /// operating system nor added, or an added one rustls refuses), when no crypto
    /// provider is available (neither feature, and none installed for the process), or
    /// when a proxy URL cannot be used (the error does not show its credentials).
    pub fn build(self) -> Result<HyperTransport, TransportError> {
        let mut http = HttpConnector::new();
        // The HTTPS connector wrapping it decides which schemes are allowed.
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_keepalive(Some(TCP_KEEPALIVE));
        http.set_connect_timeout(Some(self.connect_timeout));
        let mut client = Client::builder(TokioExecutor::new());
        client
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host);
        let sender = self.sender(http, &client)?;
        Ok(HyperTransport {
            sender,
            settings: Some(self),
        })
    }

    /// The clients over rustls.
    #[cfg(not(feature = "native-tls"))]
    fn sender(
        &self,
        http: HttpConnector,
        client: &hyper_util::client::legacy::Builder,
    ) -> Result<Sender, TransportError> {
        use hyper_rustls::HttpsConnectorBuilder;

        let tls = self.rustls_client_config()?;
        let https = |config: rustls::ClientConfig| {
            HttpsConnectorBuilder::new()
                .with_tls_config(config)
                .https_or_http()
                .enable_http1()
        };
        if self.proxies.is_empty() {
            return Ok(Sender::Direct(client.build(https(tls).wrap_connector(http))));
        }
        let routes = ProxyRoutes::new(&self.proxies)?;
        // TLS to an `https://` proxy URL, with the same roots.
        let to_proxy = https(tls.clone()).wrap_connector(http.clone());
        let connector = https(tls).wrap_connector(ProxyConnector::new(http, to_proxy, routes.clone()));
        Ok(Sender::Proxied {
            client: client.build(connector),
            routes,
        })
    }

    /// The clients over native-tls, which the features select over rustls.
    #[cfg(feature = "native-tls")]
    fn sender(
        &self,
        http: HttpConnector,
        client: &hyper_util::client::legacy::Builder,
    ) -> Result<Sender, TransportError> {
        let tls = tls::native_connector(&self.root_certificates, self.built_in_roots)?;
        let https = |inner| hyper_tls::HttpsConnector::from((inner, tls.clone().into()));
        if self.proxies.is_empty() {
            return Ok(Sender::NativeDirect(client.build(https(http))));
        }
        let routes = ProxyRoutes::new(&self.proxies)?;
        // TLS to an `https://` proxy URL, with the same roots.
        let to_proxy = https(http.clone());
        let connector =
            hyper_tls::HttpsConnector::from((ProxyConnector::new(http, to_proxy, routes.clone()), tls.into()));
        Ok(Sender::NativeProxied {
            client: client.build(connector),
            routes,
        })
    }
}

/// The whole-exchange limit of [`SendOptions::timeout`] was reached.
#[derive(Debug)]
struct WholeCallTimeout {
    limit: Duration,
    stage: Stage,
}

impl fmt::Display for WholeCallTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let during = match self.stage {
            Stage::Connecting => "while connecting",
            Stage::Exchanging => "while waiting for the response",
            Stage::ReadingBody => "while reading the response body",
        };
        write!(f, "the exchange did not finish within {:?} ({during})", self.limit)
    }
}

impl StdError for WholeCallTimeout {}

#[async_trait]
impl Transport for HyperTransport {
    // Written as async-trait would expand it, so that the checks and hyper-util's own
    // request future are made before the boxed future: it then holds neither the request
    // (async-trait's would hold it twice) nor a second copy of anything, and its allocation
    // stays small enough for the allocator's per-thread cache. No I/O starts before the
    // returned future is polled, so the timeout still covers the whole exchange.
    fn send<'life0, 'life1, 'async_trait>(
        &'life0 self,
        request: http::Request<Bytes>,
        options: &'life1 SendOptions,
    ) -> SendFuture<'async_trait>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        if let Err(error) = check_request(&request) {
            return Box::pin(std::future::ready(Err(error)));
        }
        // Shares the client's authority (no copy); the host is only named in a TLS error.
        let authority = request.uri().authority().cloned();
        // Shared with the body, which hyper moves to the connection's task.
        let stage = Stage::mark();
        let request = request.map(|data| RequestBody::new(data, &stage));
        let response = match &self.sender {
            Sender::Direct(client) => client.request(request),
            #[cfg(not(feature = "native-tls"))]
            Sender::Proxied { client, routes } => send_proxied(client, routes, request),
            #[cfg(feature = "native-tls")]
            Sender::NativeDirect(client) => client.request(request),
            #[cfg(feature = "native-tls")]
            Sender::NativeProxied { client, routes } => send_proxied(client, routes, request),
        };
        let (limit, max_response_bytes) = (options.timeout, options.max_response_bytes);
        // A client brought by the caller keeps its own connect timeout.
        let connect_limit = self.settings.as_ref().map(|settings| settings.connect_timeout);
        Box::pin(async move {
            // Pinned here and lent: moved into `within_limits`, it would take room twice.
            let exchange = std::pin::pin!(async {
                let response = response
                    .await
                    .map_err(|e| classify(e, authority.as_ref().map(|a| a.host())))?;
                stage.store(Stage::ReadingBody as u8, Ordering::Relaxed);
                let (head, body) = response.into_parts();
                let body = collect_body(&head, body, max_response_bytes).await?;
                Ok(http::Response::from_parts(head, body))
            });
            within_limits(exchange, limit, connect_limit, &stage).await
        })
    }

    /// The whole exchange, body included, runs under `SendOptions::timeout`.
    fn enforces_timeout(&self) -> bool {
        true
    }
}

/// Runs `exchange` within `limit` (the whole exchange) and, until hyper starts writing the
/// request, within `connect_limit`: hyper-util's own connect timeout covers the TCP
/// connection alone, and this one also the TLS handshake and a proxy's tunnel, as
/// reqwest's does. One timer serves both, armed at the earlier deadline and moved only if
/// it fires once the connection is open, so a call that ends in time touches it no more
/// than a plain timeout would.
async fn within_limits(
    mut exchange: std::pin::Pin<&mut impl std::future::Future<Output = Result<http::Response<Bytes>, TransportError>>>,
    limit: Option<Duration>,
    connect_limit: Option<Duration>,
    stage: &std::sync::atomic::AtomicU8,
) -> Result<http::Response<Bytes>, TransportError> {
    use std::task::Poll;

    let now = tokio::time::Instant::now();
    // A limit too far to represent is no limit.
    let whole = limit.and_then(|limit| Some((limit, now.checked_add(limit)?)));
    let connect = connect_limit
        .and_then(|limit| Some((limit, now.checked_add(limit)?)))
        .filter(|(_, at)| whole.is_none_or(|(_, whole_at)| *at < whole_at));
    let Some((_, first)) = connect.or(whole) else {
        return exchange.await;
    };
    let mut timer = std::pin::pin!(tokio::time::sleep_until(first));
    let mut connecting = connect;
    let mut armed = true;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(outcome) = exchange.as_mut().poll(cx) {
            return Poll::Ready(outcome);
        }
        if !armed || timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        if let Some((limit, _)) = connecting.take() {
            if Stage::of(stage) == Stage::Connecting {
                return Poll::Ready(Err(TransportError::timeout(
                    Delivery::NotSent,
                    ConnectTimeout { limit },
                )));
            }
            // Connected in time: the whole exchange's limit is left.
            let Some((_, at)) = whole else {
                armed = false;
                return Poll::Pending;
            };
            timer.as_mut().reset(at);
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        let stage = Stage::of(stage);
        let limit = whole.map_or(Duration::ZERO, |(limit, _)| limit);
        Poll::Ready(Err(TransportError::timeout(
            stage.delivery(),
            WholeCallTimeout { limit, stage },
        )))
    })
    .await
}

/// The connection was not open within the transport's connect timeout.
#[derive(Debug)]
struct ConnectTimeout {
    limit: Duration,
}

impl fmt::Display for ConnectTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not open a connection within the connect timeout of {:?} (TCP, TLS handshake and any proxy \
             tunnel)",
            self.limit
        )
    }
}

impl StdError for ConnectTimeout {}

/// Hands a request to the proxied client, with the `Proxy-Authorization` a plain-`http`
/// request through a proxy carries. Out of line, and with a body type of its own, so that
/// hyper's code for a transport without proxies (the common one) is compiled as if no
/// proxied client existed: sharing hyper's body-generic functions between the two clients
/// changed LLVM's inlining of them and cost the direct path 600 instructions per call.
#[cold]
#[inline(never)]
fn send_proxied<C>(
    client: &Client<C, ProxiedBody>,
    routes: &ProxyRoutes,
    request: http::Request<RequestBody>,
) -> hyper_util::client::legacy::ResponseFuture
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let mut request = request.map(ProxiedBody);
    if let Some(authorization) = routes.authorization_for(request.uri()) {
        request
            .headers_mut()
            .insert(http::header::PROXY_AUTHORIZATION, authorization);
    }
    client.request(request)
}

/// Refuses, before connecting, what hyper would only refuse after connecting (when it
/// could no longer say that nothing was sent).
fn check_request(request: &http::Request<Bytes>) -> Result<(), TransportError> {
    let uri = request.uri();
    let scheme_ok = uri
        .scheme()
        .is_some_and(|s| *s == http::uri::Scheme::HTTP || *s == http::uri::Scheme::HTTPS);
    if !scheme_ok || uri.authority().is_none() {
        return Err(TransportError::other(
            Delivery::NotSent,
            "the request URI is not an absolute http or https URI",
        ));
    }
    let version = request.version();
    if version != http::Version::HTTP_11 && version != http::Version::HTTP_10 {
        return Err(TransportError::other(
            Delivery::NotSent,
            format!("this transport speaks HTTP/1.x, not {version:?}"),
        ));
    }
    Ok(())
}

/// Sorts a failure to get a response head by whether the request may have been sent.
fn classify(error: hyper_util::client::legacy::Error, host: Option<&str>) -> TransportError {
    if error.is_connect() {
        if let Some(failure) = tls::failure(&error) {
            tls::handshake_error(failure, host.map(str::to_owned), error)
        } else if crate::network::find_cause::<ProxyAuthRequired>(&error).is_some() {
            // Not `Connect`: wrong credentials do not fix themselves, so no retry.
            TransportError::other(Delivery::NotSent, error)
        } else if is_timed_out(&error) {
            TransportError::timeout(Delivery::NotSent, error)
        } else {
            TransportError::connect(error)
        }
    } else {
        TransportError::io(Delivery::MaybeSent, error)
    }
}

/// Whether an I/O timeout (the connect timeout) is among the causes of `error`.
fn is_timed_out(error: &(dyn StdError + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = current.source();
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use std::future::Future;
    use std::net::SocketAddr;
    use std::time::Instant;

    use crate::transport::TransportErrorKind;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::{TcpListener, TcpSocket, TcpStream};

    use super::*;

    fn transport() -> HyperTransport {
        HyperTransport::new(Duration::from_secs(5)).unwrap()
    }

    fn post(url: String, body: &'static [u8]) -> http::Request<Bytes> {
        http::Request::builder()
            .method(http::Method::POST)
            .uri(url)
            .header("content-type", "application/json")
            .body(Bytes::from_static(body))
            .unwrap()
    }

    fn within(timeout: Duration) -> SendOptions {
        SendOptions::new().timeout(timeout)
    }

    /// Reads one request (head and a `Content-Length` body) and returns it as text.
    async fn read_request(stream: &mut TcpStream) -> String {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the client closed before sending a whole request");
            seen.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&seen).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                if seen.len() >= end + 4 + length {
                    return text;
                }
            }
        }
    }

    /// A server on 127.0.0.1 that runs `script` on the first connection it accepts.
    async fn serve_once<F, Fut>(script: F) -> SocketAddr
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            script(stream).await;
        });
        addr
    }

    /// A port on 127.0.0.1 that nothing listens on.
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    /// A listener on 127.0.0.1 whose accept queue is full, so that connecting hangs (the
    /// kernel drops further handshakes). The returned values keep it that way.
    async fn unresponsive() -> (SocketAddr, TcpListener, Vec<TcpStream>) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut fillers = Vec::new();
        for _ in 0..4 {
            match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => fillers.push(stream),
                _ => break,
            }
        }
        (addr, listener, fillers)
    }

    /// The text of the error's cause: a transport error's `Display` says what failed, its
    /// cause says why.
    fn cause(error: &TransportError) -> String {
        StdError::source(error).map(ToString::to_string).unwrap_or_default()
    }

    #[tokio::test]
    async fn keeps_the_response_head_and_sends_the_request_as_given() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let addr = serve_once(|mut stream| async move {
            let request = read_request(&mut stream).await;
            tx.send(request).unwrap();
            stream
                .write_all(b"HTTP/1.1 418 I'm a teapot\r\ncontent-length: 5\r\nx-a: 1\r\nx-a: 2\r\n\r\nshort")
                .await
                .unwrap();
        })
        .await;
        let mut request = post(format!("http://{addr}/v2/p/fgs?x=1"), br#"{"k":"v"}"#);
        request.headers_mut().insert("x-auth-token", "secret".parse().unwrap());
        let response = transport()
            .send(request, &within(Duration::from_secs(5)))
            .await
            .unwrap();
        assert_eq!(response.status(), 418);
        assert_eq!(response.version(), http::Version::HTTP_11);
        let values: Vec<_> = response.headers().get_all("x-a").iter().collect();
        assert_eq!(values, ["1", "2"]);
        assert_eq!(response.body().as_ref(), b"short");

        let sent = rx.await.unwrap();
        assert!(sent.starts_with("POST /v2/p/fgs?x=1 HTTP/1.1\r\n"), "{sent}");
        assert!(sent.contains("x-auth-token: secret\r\n"), "{sent}");
        assert!(sent.contains(&format!("host: {addr}\r\n")), "{sent}");
        assert!(sent.contains("content-length: 9\r\n"), "{sent}");
        assert!(sent.ends_with(r#"{"k":"v"}"#), "{sent}");
    }

    #[tokio::test]
    async fn redirects_are_returned_not_followed() {
        let addr = serve_once(|mut stream| async move {
            read_request(&mut stream).await;
            stream
                .write_all(
                    b"HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:1/\r\ncontent-length: 0\r\n\r\n",
                )
                .await
                .unwrap();
        })
        .await;
        let response = transport()
            .send(post(format!("http://{addr}/"), b"{}"), &SendOptions::new())
            .await
            .unwrap();
        assert_eq!(response.status(), 307);
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error_not_sent() {
        let error = transport()
            .send(
                post(format!("http://127.0.0.1:{}/", closed_port()), b"{}"),
                &within(Duration::from_secs(5)),
            )
            .await
            .unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Connect);
        assert_eq!(error.delivery(), Delivery::NotSent);
    }

    #[tokio::test]
    async fn a_failed_tls_handshake_is_a_connect_error_not_sent() {
        // A plain-text server answers the TLS client hello with garbage.
        let addr = serve_once(|mut stream| async move {
            let mut buf = [0u8; 512];
            let _ = stream.read(&mut buf).await;
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        })
        .await;
        let error = transport()
            .send(post(format!("https://{addr}/"), b"{}"), &within(Duration::from_secs(5)))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Connect, "{error}");
        assert_eq!(error.delivery(), Delivery::NotSent);
    }

    #[tokio::test]
    async fn the_connect_timeout_is_a_timeout_not_sent() {
        let (addr, _listener, fillers) = unresponsive().await;
        if fillers.is_empty() {
            eprintln!(
                "SKIPPED: this system does not let an accept queue fill up, so connecting cannot be made to hang"
            );
            return;
        }
        let transport = HyperTransport::new(Duration::from_millis(200)).unwrap();
        let started = Instant::now();
        let outcome = transport
            .send(post(format!("http://{addr}/"), b"{}"), &within(Duration::from_secs(10)))
            .await;
        let error = outcome.unwrap_err();
        assert_eq!(error.delivery(), Delivery::NotSent, "{error}");
        assert_eq!(error.kind(), TransportErrorKind::Timeout, "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_tls_handshake_that_never_answers_ends_at_the_connect_timeout() {
        // Holds the connection open and says nothing.
        let addr = serve_once(|stream| async move {
            let _open = stream;
            tokio::time::sleep(Duration::from_secs(10)).await;
        })
        .await;
        let transport = HyperTransport::new(Duration::from_millis(200)).unwrap();
        let error = transport
            .send(
                post(format!("https://{addr}/"), b"{}"),
                &within(Duration::from_secs(10)),
            )
            .await
            .unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Timeout, "{error}");
        assert_eq!(error.delivery(), Delivery::NotSent, "{error}");
        assert!(
            cause(&error).contains("connect timeout of 200ms"),
            "{error}: {}",
            cause(&error)
        );
    }

    #[tokio::test]
    async fn the_connect_timeout_does_not_cut_an_exchange_on_an_open_connection() {
        let addr = serve_once(|mut stream| async move {
            read_request(&mut stream).await;
            tokio::time::sleep(Duration::from_secs(10)).await;
        })
        .await;
        // The connect timeout passes while the server thinks: the whole exchange's
        // limit, later, is the one that ends the call.
        let transport = HyperTransport::new(Duration::from_millis(100)).unwrap();
        let error = transport
            .send(
                post(format!("http://{addr}/"), b"{}"),
                &within(Duration::from_millis(500)),
            )
            .await
            .unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Timeout, "{error}");
        assert_eq!(error.delivery(), Delivery::MaybeSent, "{error}");
        assert!(
            cause(&error).contains("did not finish within 500ms (while waiting for the response)"),
            "{error}: {}",
            cause(&error)
        );
    }

    #[tokio::test]
    async fn a_whole_call_timeout_before_connecting_is_not_sent() {
        let (addr, _listener, fillers) = unresponsive().await;
        if fillers.is_empty() {
            eprintln!(
                "SKIPPED: this system does not let an accept queue fill up, so connecting cannot be made to hang"
            );
            return;
        }
        let error = transport()
            .send(
                post(format!("http://{addr}/"), b"{}"),
                &within(Duration::from_millis(200)),
            )
            .await
            .unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Timeout, "{error}");
        assert_eq!(error.delivery(), Delivery::NotSent, "{error}");
        assert!(cause(&error).contains("while connecting"), "{error}: {}", cause(&error));
    }

    #[tokio::test]
    async fn a_whole_call_timeout_after_sending_may_have_been_sent() {
        // An empty body too: hyper never reads one, so only its first question marks the
        // request.
        for body in [&b"{}"[..], b""] {
            let addr = serve_once(|mut stream| async move {
                read_request(&mut stream).await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            })
            .await;
            let error = transport()
                .send(
                    post(format!("http://{addr}/"), body),
                    &within(Duration::from_millis(200)),
                )
                .await
                .unwrap_err();
            assert_eq!(error.kind(), TransportErrorKind::Timeout, "{body:?}");
            assert_eq!(error.delivery(), Delivery::MaybeSent, "{body:?}: {error}");
            assert!(
                cause(&error).contains("while waiting for the response"),
                "{error}: {}",
                cause(&error)
            );
        }
    }

    #[tokio::test]
    async fn the_timeout_covers_the_body() {
        let addr = serve_once(|mut stream| async move {
            read_request(&mut stream).await;
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf")
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
        .await;
        let error = transport()
            .send(
                post(format!("http://{addr}/"), b"{}"),
                &within(Duration::from_millis(300)),
            )
            .await
            .unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Timeout);
        assert_eq!(error.delivery(), Delivery::MaybeSent);
        assert!(
            cause(&error).contains("while reading the response body"),
            "{error}: {}",
            cause(&error)
        );
    }

    #[tokio::test]
    async fn a_connection_closed_without_an_answer_may_have_been_sent() {
        let addr = serve_once(|mut stream| async move {
            read_request(&mut stream).await;
        })
        .await;
        let error = transport()
            .send(post(format!("http://{addr}/"), b"{}"), &within(Duration::from_secs(5)))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Io);
        assert_eq!(error.delivery(), Delivery::MaybeSent);
    }

    #[tokio::test]
    async fn a_truncated_body_is_an_io_error_that_may_have_been_sent() {
        let addr = serve_once(|mut stream| async move {
            read_request(&mut stream).await;
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf")
                .await
                .unwrap();
        })
        .await;
        let error = transport()
            .send(post(format!("http://{addr}/"), b"{}"), &within(Duration::from_secs(5)))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Io);
        assert_eq!(error.delivery(), Delivery::MaybeSent);
    }

    #[tokio::test]
    async fn a_relative_uri_is_refused_before_sending() {
        let error = transport()
            .send(post("/v2/no-host".into(), b"{}"), &SendOptions::new())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Other);
        assert_eq!(error.delivery(), Delivery::NotSent);

        let mut http2 = post(format!("http://127.0.0.1:{}/", closed_port()), b"{}");
        *http2.version_mut() = http::Version::HTTP_2;
        let error = transport().send(http2, &SendOptions::new()).await.unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Other);
        assert_eq!(error.delivery(), Delivery::NotSent);
    }

    #[test]
    fn timeouts_are_found_among_the_causes() {
        #[derive(Debug)]
        struct Wrapper(std::io::Error);
        impl fmt::Display for Wrapper {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("tcp connect error")
            }
        }
        impl StdError for Wrapper {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let timed_out = Wrapper(std::io::Error::new(std::io::ErrorKind::TimedOut, "slow"));
        assert!(is_timed_out(&timed_out));
        let refused = Wrapper(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "no"));
        assert!(!is_timed_out(&refused));
    }

    #[test]
    fn a_timeout_names_the_stage_and_delivery() {
        let error = TransportError::timeout(
            Delivery::NotSent,
            WholeCallTimeout {
                limit: Duration::from_millis(250),
                stage: Stage::Connecting,
            },
        );
        assert_eq!(error.to_string(), "timed out (the request was not sent)");
        assert_eq!(
            cause(&error),
            "the exchange did not finish within 250ms (while connecting)"
        );
    }

    #[tokio::test]
    async fn debug_shows_the_settings() {
        let transport = HyperTransport::builder()
            .connect_timeout(Duration::from_secs(3))
            .pool_max_idle_per_host(2)
            .build()
            .unwrap();
        let debug = format!("{transport:?}");
        assert!(debug.contains("connect_timeout: 3s"), "{debug}");
        assert!(debug.contains("pool_idle_timeout: Some(90s)"), "{debug}");
        assert!(debug.contains("pool_max_idle_per_host: 2"), "{debug}");
        assert!(
            debug.contains(&format!("tls: {:?}", crate::network::TlsBackend::SELECTED)),
            "{debug}"
        );
        // A native-tls transport's client is not a `HyperClient` (hyper-rustls's) to hand out.
        let Some(client) = transport.client() else {
            assert_eq!(
                transport.tls_backend(),
                Some(crate::network::TlsBackend::NativeTls),
                "{debug}"
            );
            return;
        };
        let custom = HyperTransport::from_client(client.clone());
        assert_eq!(
            format!("{custom:?}"),
            r#"HyperTransport { client: "provided by the caller" }"#
        );
        assert_eq!(custom.tls_backend(), None);
    }
}
