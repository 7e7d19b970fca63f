//! The default transport, on reqwest, with the TLS stack the Cargo features select.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::request_body::{RequestBody, Stage};
use super::{Delivery, SendFuture, SendOptions, Transport, TransportError, TransportErrorKind, collect_body};
use crate::error::ConfigError;
#[cfg(any(feature = "rustls-aws-lc", feature = "rustls-ring", feature = "native-tls"))]
use crate::network::find_cause;
use crate::network::{Certificate, NetworkSettings, Proxy, ProxyScope, TlsBackend, TlsError, TlsFailure};

/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// The TCP keep-alive interval.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// Sends requests with a [`reqwest::Client`]: pooled keep-alive connections, the TLS stack
/// the features select ([`TlsBackend::SELECTED`]), no redirects followed, no retries of
/// its own, no proxy unless configured.
///
/// When [`SendOptions::timeout`] passes, the failure says whether hyper (under reqwest)
/// had begun to write the request: the request body marks the moment hyper first looks at
/// it, right before it writes the head. A timeout while connecting (TCP, TLS, a proxy's
/// tunnel) is [`Delivery::NotSent`]; a later one [`Delivery::MaybeSent`].
///
/// A failed TLS handshake (an untrusted certificate, one for another host name) is a
/// [`TransportError`] with [`Delivery::NotSent`] carrying a
/// [`TlsError`] ([`TransportError::tls_error`]).
///
/// [`ReqwestTransport::builder`] sets root certificates and proxies; it is what
/// [`ClientBuilder`](crate::ClientBuilder) uses for the default transport. To configure
/// reqwest yourself (client certificates, a resolver), use
/// [`ReqwestTransport::from_builder`]:
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let builder = reqwest::Client::builder()
///     .proxy(reqwest::Proxy::https("http://proxy.internal:3128")?);
/// let transport = fgs_core::transport::ReqwestTransport::from_builder(builder)?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    /// The settings it was built with; `None` for a reqwest builder brought by the caller.
    settings: Option<NetworkSettings>,
    /// reqwest takes a `url::Url`, and parsing one from the request's URI is the largest
    /// part of what reqwest costs per call; a client calls a few URIs over and over.
    urls: std::sync::Arc<UrlCache>,
}

/// The `Url`s of the last few request URIs.
#[derive(Default)]
struct UrlCache {
    entries: std::sync::Mutex<std::collections::VecDeque<(http::Uri, reqwest::Url)>>,
}

impl UrlCache {
    const CAPACITY: usize = 16;

    fn url(&self, uri: &http::Uri) -> Option<reqwest::Url> {
        let entries = self.entries.lock().ok()?;
        entries
            .iter()
            .find(|(known, _)| known == uri)
            .map(|(_, url)| url.clone())
    }

    fn insert(&self, uri: &http::Uri, url: &reqwest::Url) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        // Concurrent first calls to one URI all miss; one entry is enough.
        if entries.iter().any(|(known, _)| known == uri) {
            return;
        }
        if entries.len() >= Self::CAPACITY {
            entries.pop_front();
        }
        entries.push_back((uri.clone(), url.clone()));
    }
}

impl fmt::Debug for ReqwestTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not reqwest's client: its Debug lists proxies as reqwest keeps them.
        let mut debug = f.debug_struct("ReqwestTransport");
        match &self.settings {
            Some(settings) => debug
                .field("tls", &TlsBackend::SELECTED)
                .field("connect_timeout", &settings.connect_timeout)
                .field("root_certificates", &settings.root_certificates.len())
                .field("tls_built_in_roots", &settings.built_in_roots)
                .field("proxies", &settings.proxies)
                .finish(),
            None => debug.field("client", &"configured by the caller").finish(),
        }
    }
}

impl ReqwestTransport {
    /// A transport with its own client: the given connect timeout, the platform's root
    /// certificates, no redirects, no retries of its own, and no proxy (none is taken from
    /// the environment, so credentials never go somewhere unexpected).
    pub fn new(connect_timeout: Duration) -> Result<Self, TransportError> {
        Self::builder().connect_timeout(connect_timeout).build()
    }

    /// Starts configuring a transport: root certificates, proxies, the connect timeout.
    ///
    /// ```no_run
    /// use fgs_core::network::{Certificate, Proxy};
    /// use fgs_core::transport::ReqwestTransport;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let transport = ReqwestTransport::builder()
    ///     .add_root_certificate(Certificate::from_pem(&std::fs::read("private-ca.pem")?)?)
    ///     .proxy(Proxy::https("http://proxy.internal:3128"))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder() -> ReqwestTransportBuilder {
        ReqwestTransportBuilder::default()
    }

    /// The transport of [`NetworkSettings`], with configuration errors as such.
    pub(crate) fn from_settings(settings: NetworkSettings) -> Result<Self, ConfigError> {
        settings.check()?;
        let connect_timeout = settings.connect_timeout.unwrap_or(crate::DEFAULT_CONNECT_TIMEOUT);
        let mut builder = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .no_proxy()
            .tcp_keepalive(TCP_KEEPALIVE)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT);
        builder = tls::configure(builder, &settings)?;
        for proxy in &settings.proxies {
            builder = builder.proxy(reqwest_proxy(proxy)?);
        }
        let client = finish(builder)
            .map_err(|e| ConfigError::new("cannot build the default transport (reqwest)").with_source(e))?;
        Ok(ReqwestTransport {
            client,
            settings: Some(settings),
            urls: Default::default(),
        })
    }

    /// A transport from your reqwest settings. Redirects and reqwest's own retries are
    /// turned off whatever the builder says: a redirect would carry `X-Auth-Token`,
    /// `X-Security-Token` and the event to another host, and a 307/308 would run the
    /// function again; the client alone decides what may be sent twice.
    ///
    /// The builder's TLS is reqwest's: with only the `rustls-ring` feature (reqwest without
    /// a crypto provider of its own), give it a rustls configuration
    /// (`tls_backend_preconfigured`) or install a process-wide provider first; otherwise
    /// this fails with an error saying so.
    ///
    /// There is deliberately no constructor from a built `reqwest::Client`, whose redirect
    /// policy cannot be read or changed.
    pub fn from_builder(builder: reqwest::ClientBuilder) -> Result<Self, TransportError> {
        let client = finish(builder).map_err(|e| TransportError::other(Delivery::NotSent, e))?;
        Ok(ReqwestTransport {
            client,
            settings: None,
            urls: Default::default(),
        })
    }
}

/// Builds the client with redirects and retries off.
fn finish(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, Box<dyn std::error::Error + Send + Sync>> {
    let builder = builder
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never());
    // reqwest built with `rustls-no-provider` panics when it needs a provider and the
    // process has none; report that instead.
    #[cfg(all(feature = "rustls-ring", not(feature = "rustls-aws-lc")))]
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| builder.build()));
        return match built {
            Ok(result) => result.map_err(|e| e.without_url().into()),
            Err(_) => Err(
                "reqwest has no rustls crypto provider (feature rustls-ring): configure its TLS with \
                 tls_backend_preconfigured, install a process-wide provider, or use ReqwestTransport::builder"
                    .into(),
            ),
        };
    }
    builder.build().map_err(|e| e.without_url().into())
}

/// reqwest's form of a [`Proxy`].
fn reqwest_proxy(proxy: &Proxy) -> Result<reqwest::Proxy, ConfigError> {
    let url = proxy.checked_url()?;
    let built = match proxy.scope() {
        ProxyScope::All => reqwest::Proxy::all(&url),
        ProxyScope::Https => reqwest::Proxy::https(&url),
        ProxyScope::Http => reqwest::Proxy::http(&url),
    };
    // reqwest's message may quote the URL, which carries no credentials here.
    let mut built = built.map_err(|e| ConfigError::new(format!("proxy {url} cannot be used")).with_source(e))?;
    if let Some((user, password)) = proxy.credentials() {
        built = built.basic_auth(user, password.expose());
    }
    if let Some(list) = proxy.no_proxy_list() {
        built = built.no_proxy(reqwest::NoProxy::from_string(list));
    }
    Ok(built)
}

/// Configures a [`ReqwestTransport`]; the same settings as
/// [`ClientBuilder`](crate::ClientBuilder)'s for its default transport.
///
/// Defaults: connect timeout [`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT),
/// the platform's root certificates, no proxy.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ReqwestTransportBuilder {
    settings: NetworkSettings,
}

impl ReqwestTransportBuilder {
    /// Limit for opening a connection, TLS handshake included; reported as a timeout with
    /// [`Delivery::NotSent`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = Some(timeout);
        self
    }

    /// Trusts `certificate` as a root, besides the platform's roots (unless
    /// [`tls_built_in_roots`](Self::tls_built_in_roots) turns those off).
    pub fn add_root_certificate(mut self, certificate: Certificate) -> Self {
        self.settings.root_certificates.push(certificate);
        self
    }

    /// Whether the platform's root certificates are trusted (default `true`). With
    /// `false`, only the roots added with [`add_root_certificate`](Self::add_root_certificate)
    /// are, and at least one is needed.
    pub fn tls_built_in_roots(mut self, enabled: bool) -> Self {
        self.settings.built_in_roots = enabled;
        self
    }

    /// Sends through `proxy` the requests it is for; proxies are tried in the order added.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.settings.proxies.push(proxy);
        self
    }

    /// Adds the proxies the environment names now (`HTTPS_PROXY`, `HTTP_PROXY`,
    /// `ALL_PROXY`, with `NO_PROXY`; see
    /// [`ClientBuilder::proxy_from_env`](crate::ClientBuilder::proxy_from_env)).
    pub fn proxy_from_env(mut self) -> Self {
        self.settings.proxy_from_env();
        self
    }

    /// Builds the transport. Unusable settings (a proxy URL, a root the TLS stack refuses,
    /// no root at all) fail with [`TransportErrorKind::Other`] and [`Delivery::NotSent`].
    pub fn build(self) -> Result<ReqwestTransport, TransportError> {
        ReqwestTransport::from_settings(self.settings).map_err(|e| TransportError::other(Delivery::NotSent, e))
    }
}

#[async_trait]
impl Transport for ReqwestTransport {
    // Written as async-trait would expand it, so that the checks, the conversion and
    // reqwest's own request future are made before the boxed future, which then holds
    // none of the request (async-trait's would hold it twice). No I/O starts before the
    // returned future is polled.
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
        if self.settings.is_some()
            && TlsBackend::SELECTED.is_none()
            && request.uri().scheme() == Some(&http::uri::Scheme::HTTPS)
        {
            return Box::pin(std::future::ready(Err(TransportError::other(
                Delivery::NotSent,
                "this build has no TLS: enable the feature rustls-aws-lc, rustls-ring or native-tls for https",
            ))));
        }
        // Shares the client's authority (no copy); the host is only named in a TLS error.
        let authority = request.uri().authority().cloned();
        // Shared with the body, which hyper moves to the connection's task.
        let stage = Stage::mark();
        let mut request = match self.reqwest_request(request.map(|data| RequestBody::new(data, &stage))) {
            Ok(request) => request,
            Err(error) => return Box::pin(std::future::ready(Err(error))),
        };
        *request.timeout_mut() = options.timeout;
        let pending = self.client.execute(request);
        let max_response_bytes = options.max_response_bytes;
        Box::pin(async move {
            let response = pending
                .await
                .map_err(|e| classify(e, authority.as_ref().map(|a| a.host()), Stage::of(&stage)))?;
            // Move the head over as it is: no copy of the headers.
            let (parts, body) = http::Response::from(response).into_parts();
            // Once a status line has arrived the request certainly reached the server.
            let body = collect_body(&parts, body, max_response_bytes)
                .await
                .map_err(body_error)?;
            Ok(http::Response::from_parts(parts, body))
        })
    }

    /// reqwest's request timeout covers connecting, the exchange and the body.
    fn enforces_timeout(&self) -> bool {
        true
    }
}

/// reqwest reports its own timeout while the body streams; keep it a timeout.
impl ReqwestTransport {
    /// reqwest's form of `request`, with the `Url` of a URI seen before taken from the
    /// cache (parsed once per URI, not per call).
    fn reqwest_request(&self, request: http::Request<RequestBody>) -> Result<reqwest::Request, TransportError> {
        let invalid = |e: reqwest::Error| TransportError::other(Delivery::NotSent, e.without_url());
        let request = request.map(reqwest::Body::wrap);
        // reqwest's own conversion carries extensions over; `Request::new` cannot.
        if !request.extensions().is_empty() {
            return reqwest::Request::try_from(request).map_err(invalid);
        }
        let cached = self.urls.url(request.uri());
        let (parts, body) = request.into_parts();
        let url = match cached {
            Some(url) => url,
            None => {
                let uri = parts.uri.clone();
                let converted = reqwest::Request::try_from(http::Request::from_parts(parts, body)).map_err(invalid)?;
                self.urls.insert(&uri, converted.url());
                return Ok(converted);
            }
        };
        let mut converted = reqwest::Request::new(parts.method, url);
        *converted.headers_mut() = parts.headers;
        *converted.version_mut() = parts.version;
        *converted.body_mut() = Some(body);
        Ok(converted)
    }
}

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
fn classify(error: reqwest::Error, host: Option<&str>, stage: Stage) -> TransportError {
    let error = error.without_url();
    if error.is_connect() {
        if let Some(failure) = tls::failure(&error) {
            TransportError::tls(TlsError::new(failure, host.map(str::to_owned), Some(Box::new(error))))
        } else if proxy_refused_credentials(&error) {
            // Not `Connect`: wrong credentials do not fix themselves, so no retry.
            TransportError::other(Delivery::NotSent, ProxyAuthRequired { source: error })
        } else if error.is_timeout() {
            TransportError::timeout(Delivery::NotSent, error)
        } else {
            TransportError::connect(error)
        }
    } else if error.is_builder() {
        TransportError::other(Delivery::NotSent, error)
    } else if error.is_timeout() {
        // reqwest's whole-request timeout does not say what it interrupted; the body's
        // mark does.
        TransportError::timeout(stage.delivery(), error)
    } else {
        TransportError::io(Delivery::MaybeSent, error)
    }
}

/// Whether a proxy answered the tunnel request with 407: hyper-util's tunnel error is not
/// public, so it is known by its text.
fn proxy_refused_credentials(error: &reqwest::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    for _ in 0..32 {
        let Some(current) = cause else {
            return false;
        };
        if current.to_string().ends_with("proxy authorization required") {
            return true;
        }
        cause = current.source();
    }
    false
}

/// A proxy refused the tunnel for want of (valid) credentials.
#[derive(Debug)]
struct ProxyAuthRequired {
    source: reqwest::Error,
}

impl fmt::Display for ProxyAuthRequired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the proxy refused the connection: 407 Proxy Authentication Required (check the proxy's user \
             and password)",
        )
    }
}

impl std::error::Error for ProxyAuthRequired {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The TLS stack [`TlsBackend::SELECTED`] names: configuring it, and reading its failures.
mod tls {
    use super::*;

    /// native-tls: the platform's store, plus the added roots.
    #[cfg(feature = "native-tls")]
    pub(super) fn configure(
        builder: reqwest::ClientBuilder,
        settings: &NetworkSettings,
    ) -> Result<reqwest::ClientBuilder, ConfigError> {
        let mut roots = Vec::with_capacity(settings.root_certificates.len());
        for (index, root) in settings.root_certificates.iter().enumerate() {
            let root = reqwest::Certificate::from_der(root.as_der()).map_err(|e| {
                ConfigError::new(format!("root certificate {} cannot be used", index.saturating_add(1))).with_source(e)
            })?;
            roots.push(root);
        }
        let builder = builder.tls_backend_native();
        Ok(if settings.built_in_roots {
            builder.tls_certs_merge(roots)
        } else {
            builder.tls_certs_only(roots)
        })
    }

    /// rustls with the provider the features name, handed to reqwest ready-made.
    #[cfg(all(not(feature = "native-tls"), any(feature = "rustls-aws-lc", feature = "rustls-ring")))]
    pub(super) fn configure(
        builder: reqwest::ClientBuilder,
        settings: &NetworkSettings,
    ) -> Result<reqwest::ClientBuilder, ConfigError> {
        let mut config = rustls_config(settings)?;
        // This transport speaks HTTP/1.1.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(builder.tls_backend_preconfigured(config))
    }

    /// No TLS: plain HTTP only.
    #[cfg(not(any(feature = "native-tls", feature = "rustls-aws-lc", feature = "rustls-ring")))]
    pub(super) fn configure(
        builder: reqwest::ClientBuilder,
        _settings: &NetworkSettings,
    ) -> Result<reqwest::ClientBuilder, ConfigError> {
        Ok(builder)
    }

    #[cfg(all(not(feature = "native-tls"), any(feature = "rustls-aws-lc", feature = "rustls-ring")))]
    fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
        #[cfg(feature = "rustls-ring")]
        let provider = rustls::crypto::ring::default_provider();
        #[cfg(not(feature = "rustls-ring"))]
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        std::sync::Arc::new(provider)
    }

    /// A rustls configuration trusting the platform's roots (through
    /// rustls-platform-verifier) and the added ones, or only the added ones.
    #[cfg(all(not(feature = "native-tls"), any(feature = "rustls-aws-lc", feature = "rustls-ring")))]
    fn rustls_config(settings: &NetworkSettings) -> Result<rustls::ClientConfig, ConfigError> {
        use std::sync::Arc;

        use rustls_pki_types::CertificateDer;

        let provider = provider();
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| ConfigError::new("the TLS provider offers no safe protocol version").with_source(e))?;
        let roots = settings
            .root_certificates
            .iter()
            .map(|root| CertificateDer::from(root.as_der().to_vec()));
        if settings.built_in_roots {
            #[cfg(not(target_os = "android"))]
            let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider);
            #[cfg(target_os = "android")]
            let verifier = match roots.len() {
                0 => rustls_platform_verifier::Verifier::new(provider),
                _ => Err(rustls::Error::General(
                    "on Android, added roots need tls_built_in_roots(false)".into(),
                )),
            };
            let verifier = verifier.map_err(|e| {
                ConfigError::new(
                    "cannot load the root certificates (the platform's and those added); to trust only added \
                     roots, set tls_built_in_roots(false)",
                )
                .with_source(e)
            })?;
            Ok(builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth())
        } else {
            let mut store = rustls::RootCertStore::empty();
            for (index, root) in roots.enumerate() {
                store.add(root).map_err(|e| {
                    ConfigError::new(format!(
                        "root certificate {} cannot be used as a trust anchor",
                        index.saturating_add(1)
                    ))
                    .with_source(e)
                })?;
            }
            Ok(builder.with_root_certificates(store).with_no_client_auth())
        }
    }

    /// Why the handshake failed, when the error is a TLS failure of the stack in use.
    pub(super) fn failure(error: &reqwest::Error) -> Option<TlsFailure> {
        #[cfg(any(feature = "rustls-aws-lc", feature = "rustls-ring"))]
        if let Some(e) = find_cause::<rustls::Error>(error) {
            return Some(crate::network::rustls_failure(e));
        }
        #[cfg(feature = "native-tls")]
        if let Some(e) = find_cause::<native_tls::Error>(error) {
            return Some(crate::network::native_tls_failure(e));
        }
        #[cfg(not(any(feature = "rustls-aws-lc", feature = "rustls-ring", feature = "native-tls")))]
        let _ = error;
        None
    }
}
