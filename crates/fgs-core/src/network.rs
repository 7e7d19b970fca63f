//! Network settings of the default transport, and the TLS and proxy types every transport
//! can share: root [`Certificate`]s, [`Proxy`]s, and [`TlsError`], the typed failure of a
//! TLS handshake.
//!
//! # TLS stacks
//!
//! The default transport ([`ReqwestTransport`](crate::transport::ReqwestTransport), or
//! with the `hyper` feature and without `reqwest`, `HyperTransport`) speaks TLS with the
//! stack a Cargo feature picks (see [`TlsBackend`]), and so does a `HyperTransport` built
//! with its own builder:
//!
//! - `rustls-aws-lc` (default): rustls with the aws-lc-rs crypto provider, rustls's own
//!   default and what reqwest 0.13 picks;
//! - `rustls-ring`: rustls with ring, for targets where aws-lc-rs does not build;
//! - `native-tls`: the platform's library (OpenSSL, Secure Transport, SChannel) and its
//!   certificate store, for hosts whose policy (FIPS, a managed store) requires it.
//!
//! With more than one enabled, `native-tls` wins over `rustls-ring`, which wins over
//! `rustls-aws-lc`: a feature added next to the defaults is the one meant. With none, the
//! default transport speaks plain HTTP only (a loopback emulator) and refuses `https`
//! before sending. The rustls stacks trust the platform's roots through
//! `rustls-platform-verifier` and always use the provider their feature names, whatever
//! provider the process installed as its default.
//!
//! # Trusting another root
//!
//! A private CA or a self-signed endpoint (such as `fgs local --tls`) is trusted by adding
//! its root certificate; the platform's roots stay trusted unless
//! [`ClientBuilder::tls_built_in_roots`](crate::ClientBuilder::tls_built_in_roots) turns
//! them off:
//!
//! ```no_run
//! use fgs_core::network::Certificate;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut builder = fgs_core::Client::builder().endpoint_url("https://127.0.0.1:8443");
//! for root in Certificate::from_pem_file("/run/user/1000/fgs/local-8443.pem")? {
//!     builder = builder.add_root_certificate(root);
//! }
//! # Ok(()) }
//! ```
//!
//! # Proxies
//!
//! No proxy is used unless asked for: [`ClientBuilder::proxy`](crate::ClientBuilder::proxy)
//! with a [`Proxy`], or [`ClientBuilder::proxy_from_env`](crate::ClientBuilder::proxy_from_env)
//! for `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY` and their kin.
//!
//! These settings are those of the default transport. A transport you pass in
//! ([`ClientBuilder::transport`](crate::ClientBuilder::transport)) keeps its own: configure
//! it directly (`HyperTransportBuilder::add_root_certificate` and `::proxy` for the hyper
//! transport,
//! [`ReqwestTransport::builder`](crate::transport::ReqwestTransport::builder)).

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::auth::Secret;
use crate::error::ConfigError;
use crate::transport::Transport;
#[cfg(test)]
use crate::transport::{Delivery, TransportError, TransportErrorKind};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

// ---------------------------------------------------------------------------------------
// TLS stack
// ---------------------------------------------------------------------------------------

/// A TLS stack the default transport can use; which one a build uses is
/// [`TlsBackend::SELECTED`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsBackend {
    /// rustls with the aws-lc-rs provider (feature `rustls-aws-lc`, the default).
    RustlsAwsLc,
    /// rustls with the ring provider (feature `rustls-ring`).
    RustlsRing,
    /// The platform's TLS library (feature `native-tls`).
    NativeTls,
}

impl TlsBackend {
    /// The stack the default transport uses in this build: `native-tls` if enabled, else
    /// `rustls-ring` if enabled, else `rustls-aws-lc` if enabled; `None` without a TLS
    /// feature (plain HTTP only).
    pub const SELECTED: Option<TlsBackend> = if cfg!(feature = "native-tls") {
        Some(TlsBackend::NativeTls)
    } else if cfg!(feature = "rustls-ring") {
        Some(TlsBackend::RustlsRing)
    } else if cfg!(feature = "rustls-aws-lc") {
        Some(TlsBackend::RustlsAwsLc)
    } else {
        None
    };

    /// The Cargo feature that selects it, e.g. `rustls-aws-lc`.
    pub fn feature(self) -> &'static str {
        match self {
            TlsBackend::RustlsAwsLc => "rustls-aws-lc",
            TlsBackend::RustlsRing => "rustls-ring",
            TlsBackend::NativeTls => "native-tls",
        }
    }
}

impl fmt::Display for TlsBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsBackend::RustlsAwsLc => "rustls (aws-lc-rs)",
            TlsBackend::RustlsRing => "rustls (ring)",
            TlsBackend::NativeTls => "native-tls",
        })
    }
}

// ---------------------------------------------------------------------------------------
// Root certificates
// ---------------------------------------------------------------------------------------

/// The largest PEM file [`Certificate::from_pem_file`] reads (1 MiB): a bundle of every
/// public root is about 200 KiB.
pub const MAX_PEM_FILE_BYTES: u64 = 1 << 20;

/// An X.509 certificate to trust as a root, held as DER.
///
/// Construction checks the encoding's outer shape only; the TLS stack checks the rest when
/// the transport is built, and a certificate it cannot use as a trust anchor fails that
/// build with a configuration error.
///
/// ```
/// use fgs_core::network::Certificate;
///
/// let pem = b"-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";
/// let root = Certificate::from_pem(pem)?;
/// assert_eq!(root.as_der(), &[0x30, 0x03, 0x02, 0x01, 0x00]);
/// # Ok::<(), fgs_core::network::CertificateError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Certificate {
    der: Arc<[u8]>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Certificate({} bytes of DER)", self.der.len())
    }
}

impl Certificate {
    /// A certificate from its DER encoding.
    ///
    /// Fails when `der` is not one ASN.1 `SEQUENCE` spanning the whole input (PEM text, an
    /// empty or truncated file).
    pub fn from_der(der: impl Into<Vec<u8>>) -> Result<Certificate, CertificateError> {
        let der = der.into();
        check_der(&der).map_err(|detail| CertificateError::new(CertificateErrorKind::Malformed, detail))?;
        Ok(Certificate { der: der.into() })
    }

    /// The one certificate in a PEM text (`-----BEGIN CERTIFICATE-----`). Other sections
    /// (a private key, parameters) are ignored; a text with several certificates is
    /// refused: read it with [`from_pem_bundle`](Self::from_pem_bundle).
    pub fn from_pem(pem: &[u8]) -> Result<Certificate, CertificateError> {
        let mut all = Certificate::from_pem_bundle(pem)?;
        match (all.pop(), all.len()) {
            (Some(only), 0) => Ok(only),
            (_, more) => Err(CertificateError::new(
                CertificateErrorKind::NotOne,
                format!(
                    "the PEM text holds {} certificates where one was expected; read a bundle with \
                     Certificate::from_pem_bundle",
                    more.saturating_add(1)
                ),
            )),
        }
    }

    /// Every certificate in a PEM text, in order: at least one. Other sections are
    /// ignored.
    pub fn from_pem_bundle(pem: &[u8]) -> Result<Vec<Certificate>, CertificateError> {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject as _;

        let mut certificates = Vec::new();
        for (index, section) in CertificateDer::pem_slice_iter(pem).enumerate() {
            let number = index.saturating_add(1);
            let der = section.map_err(|e| {
                CertificateError::new(
                    CertificateErrorKind::Malformed,
                    format!("PEM certificate {number} cannot be read: {e}"),
                )
            })?;
            check_der(&der).map_err(|detail| {
                CertificateError::new(
                    CertificateErrorKind::Malformed,
                    format!("PEM certificate {number}: {detail}"),
                )
            })?;
            certificates.push(Certificate {
                der: der.as_ref().into(),
            });
        }
        if certificates.is_empty() {
            return Err(CertificateError::new(
                CertificateErrorKind::NoCertificate,
                "no certificate found: expected a PEM section starting with -----BEGIN CERTIFICATE-----",
            ));
        }
        Ok(certificates)
    }

    /// Every certificate in a PEM file (a single root or a bundle), read through a limit of
    /// [`MAX_PEM_FILE_BYTES`]: a larger file is refused without being read past the limit.
    /// Errors name the file.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), fgs_core::network::CertificateError> {
    /// let roots = fgs_core::network::Certificate::from_pem_file("/etc/fgs/private-ca.pem")?;
    /// let builder = roots
    ///     .into_iter()
    ///     .fold(fgs_core::Client::builder(), |builder, root| builder.add_root_certificate(root));
    /// # Ok(()) }
    /// ```
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Vec<Certificate>, CertificateError> {
        let path = path.as_ref();
        let read = |kind, detail: String| CertificateError::new(kind, detail).at(path);
        let file = std::fs::File::open(path)
            .map_err(|e| read(CertificateErrorKind::Read, format!("cannot open the file: {e}")))?;
        let mut text = Vec::new();
        file.take(MAX_PEM_FILE_BYTES.saturating_add(1))
            .read_to_end(&mut text)
            .map_err(|e| read(CertificateErrorKind::Read, format!("cannot read the file: {e}")))?;
        if text.len() as u64 > MAX_PEM_FILE_BYTES {
            return Err(read(
                CertificateErrorKind::TooLarge,
                format!(
                    "the file is larger than {MAX_PEM_FILE_BYTES} bytes (1 MiB), far more than a bundle of \
                     root certificates; is it the right file?"
                ),
            ));
        }
        Certificate::from_pem_bundle(&text).map_err(|e| e.at(path))
    }

    /// The DER encoding.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }
}

/// Whether `der` is one ASN.1 SEQUENCE (tag `0x30`) whose length spans the whole input.
fn check_der(der: &[u8]) -> Result<(), String> {
    const NOT_DER: &str = "not a DER certificate (expected one ASN.1 SEQUENCE spanning the input); \
                           PEM text goes to Certificate::from_pem";
    let (&tag, rest) = der.split_first().ok_or("the certificate is empty")?;
    let (&first, rest) = rest.split_first().ok_or(NOT_DER)?;
    if tag != 0x30 {
        return Err(NOT_DER.into());
    }
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err(NOT_DER.into());
        }
        let (bytes, rest) = rest.split_at(count);
        let length = bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
        (length, rest)
    };
    if length != rest.len() {
        return Err(format!(
            "the certificate's DER encoding announces {length} bytes but {} follow (truncated or not DER)",
            rest.len()
        ));
    }
    Ok(())
}

/// A certificate that could not be read: an unreadable or oversized file, no certificate,
/// or a malformed one. The message names the file when there is one.
#[derive(Debug)]
pub struct CertificateError {
    kind: CertificateErrorKind,
    path: Option<PathBuf>,
    detail: String,
}

/// What kind of failure a [`CertificateError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertificateErrorKind {
    /// The file could not be opened or read.
    Read,
    /// The file is larger than [`MAX_PEM_FILE_BYTES`].
    TooLarge,
    /// The text holds no PEM certificate.
    NoCertificate,
    /// A certificate is malformed (bad PEM, bad base64, not DER).
    Malformed,
    /// [`Certificate::from_pem`] found more than one certificate.
    NotOne,
}

impl CertificateError {
    fn new(kind: CertificateErrorKind, detail: impl Into<String>) -> Self {
        CertificateError {
            kind,
            path: None,
            detail: detail.into(),
        }
    }

    fn at(mut self, path: &Path) -> Self {
        self.path = Some(path.to_owned());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> CertificateErrorKind {
        self.kind
    }

    /// The file, when the certificates came from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "certificate file {}: {}", path.display(), self.detail),
            None => f.write_str(&self.detail),
        }
    }
}

impl std::error::Error for CertificateError {}

// ---------------------------------------------------------------------------------------
// Proxies
// ---------------------------------------------------------------------------------------

/// An HTTP proxy, for the default transport ([`ClientBuilder::proxy`](crate::ClientBuilder::proxy))
/// or for the hyper transport (`HyperTransportBuilder::proxy`): requests to `https`
/// endpoints go through a `CONNECT` tunnel, so the proxy sees the host name but not the
/// request.
///
/// The URL is `http://host:port` (or `https://` for a proxy spoken to over TLS); without
/// a scheme, `http://` is assumed. Credentials in the URL (`http://user:password@host:3128`)
/// are taken out and used as [`basic_auth`](Self::basic_auth). The password is a
/// [`Secret`]: it never appears in `Debug`, `Display` or error messages. A URL that cannot
/// be used is reported by [`ClientBuilder::build`](crate::ClientBuilder::build).
///
/// ```no_run
/// use fgs_core::network::Proxy;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = fgs_core::Client::builder()
///     .region("cn-north-4")
///     .auth(fgs_core::auth::StaticToken::new("token"))
///     .proxy(
///         Proxy::https("http://proxy.internal:3128")
///             .basic_auth("svc-fgs", std::env::var("PROXY_PASSWORD")?)
///             .no_proxy("localhost,127.0.0.1,.internal"),
///     )
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Proxy {
    scope: ProxyScope,
    target: Result<ProxyTarget, String>,
    user: Option<String>,
    password: Option<Secret>,
    no_proxy: Option<String>,
}

/// Which requests a [`Proxy`] is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyScope {
    /// Requests to `https` endpoints.
    Https,
    /// Requests to plain `http` endpoints.
    Http,
    /// Every request.
    All,
}

/// A proxy URL without credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProxyTarget {
    scheme: &'static str,
    authority: String,
}

impl Proxy {
    /// The proxies the environment names: `HTTPS_PROXY`, `HTTP_PROXY` and `ALL_PROXY`
    /// (upper case first, then lower case), each with `NO_PROXY`; nothing in a CGI process
    /// (`REQUEST_METHOD` set), where `HTTP_PROXY` could come from a client's `Proxy:` header.
    /// What [`ClientBuilder::proxy_from_env`](crate::ClientBuilder::proxy_from_env) adds.
    ///
    /// ```
    /// let proxies = fgs_core::network::Proxy::from_env();
    /// for proxy in &proxies {
    ///     println!("{:?} requests go through {}", proxy.scope(), proxy.url());
    /// }
    /// ```
    pub fn from_env() -> Vec<Proxy> {
        proxies_from_lookup(|name| std::env::var(name).ok())
    }

    /// A proxy for every request.
    pub fn all(url: impl AsRef<str>) -> Proxy {
        Proxy::new(ProxyScope::All, url.as_ref())
    }

    /// A proxy for requests to `https` endpoints (every real FunctionGraph endpoint).
    pub fn https(url: impl AsRef<str>) -> Proxy {
        Proxy::new(ProxyScope::Https, url.as_ref())
    }

    /// A proxy for requests to plain `http` endpoints.
    pub fn http(url: impl AsRef<str>) -> Proxy {
        Proxy::new(ProxyScope::Http, url.as_ref())
    }

    fn new(scope: ProxyScope, url: &str) -> Proxy {
        let (target, credentials) = match parse_proxy_url(url) {
            Ok((target, credentials)) => (Ok(target), credentials),
            Err(message) => (Err(message), None),
        };
        let (user, password) = match credentials {
            Some((user, password)) => (Some(user), Some(password)),
            None => (None, None),
        };
        Proxy {
            scope,
            target,
            user,
            password,
            no_proxy: None,
        }
    }

    /// Authenticates to the proxy with HTTP Basic (`Proxy-Authorization`), replacing any
    /// credentials the URL carried.
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<Secret>) -> Proxy {
        self.user = Some(user.into());
        self.password = Some(password.into());
        self
    }

    /// Hosts reached without the proxy: a comma-separated list as in `NO_PROXY`
    /// (`localhost,127.0.0.1,.internal,10.0.0.0/8`; a name matches its subdomains, `*`
    /// matches everything).
    pub fn no_proxy(mut self, hosts: impl Into<String>) -> Proxy {
        self.no_proxy = Some(hosts.into());
        self
    }

    /// Which requests it is for.
    pub fn scope(&self) -> ProxyScope {
        self.scope
    }

    /// The proxy URL without credentials (for an unusable URL, the text given with any
    /// credentials masked).
    pub fn url(&self) -> String {
        match &self.target {
            Ok(target) => format!("{}://{}", target.scheme, target.authority),
            Err(message) => message.clone(),
        }
    }

    /// The `NO_PROXY`-style exclusion list, if any.
    pub fn no_proxy_list(&self) -> Option<&str> {
        self.no_proxy.as_deref()
    }

    /// The user name and password for the proxy, if any (keep the password out of logs).
    pub fn credentials(&self) -> Option<(&str, &Secret)> {
        self.user.as_deref().zip(self.password.as_ref())
    }

    /// The URL without credentials, or why it cannot be used (credentials masked): what a
    /// transport connects to.
    pub fn checked_url(&self) -> Result<String, ConfigError> {
        match &self.target {
            Ok(target) => Ok(format!("{}://{}", target.scheme, target.authority)),
            Err(message) => Err(ConfigError::new(format!("proxy: {message}"))),
        }
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("scope", &self.scope)
            .field("url", &self.url())
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

/// Splits a proxy URL into where to connect and the credentials it carries. Error
/// messages never contain the credentials.
fn parse_proxy_url(url: &str) -> Result<(ProxyTarget, Option<(String, Secret)>), String> {
    let url = url.trim();
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("http".to_owned(), url),
    };
    // Userinfo ends at the last `@` of the authority (a password may contain `@`).
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let (userinfo, host_port) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let shown = || match userinfo {
        Some(_) => format!("{scheme}://<credentials>@{host_port}{path}"),
        None => format!("{scheme}://{host_port}{path}"),
    };
    let scheme: &'static str = match scheme.as_str() {
        "http" => "http",
        "https" => "https",
        _ => {
            return Err(format!(
                "{:?} is not an http:// or https:// proxy URL (other schemes, such as socks5, are not supported)",
                shown()
            ));
        }
    };
    if !(path.is_empty() || path == "/") {
        return Err(format!(
            "{:?}: a proxy URL is scheme://host:port, without a path",
            shown()
        ));
    }
    if host_port.is_empty() || host_port.parse::<http::uri::Authority>().is_err() {
        return Err(format!(
            "{:?} does not name a proxy host (expected scheme://host:port)",
            shown()
        ));
    }
    let credentials = userinfo.map(|userinfo| {
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        let decode = |text: &str| String::from_utf8_lossy(&fgs_urn::percent_decode(text.as_bytes())).into_owned();
        (decode(user), Secret::new(decode(password)))
    });
    Ok((
        ProxyTarget {
            scheme,
            authority: host_port.to_owned(),
        },
        credentials,
    ))
}

/// The proxies the environment names, read through `lookup` (`std::env::var` in
/// [`ClientBuilder::proxy_from_env`](crate::ClientBuilder::proxy_from_env)), as reqwest
/// and hyper-util read them: `HTTPS_PROXY`/`https_proxy` for `https` endpoints,
/// `HTTP_PROXY`/`http_proxy` for `http` ones, `ALL_PROXY`/`all_proxy` for what those leave,
/// each with `NO_PROXY`/`no_proxy`; the upper-case name first; empty values ignored. In a
/// CGI process (`REQUEST_METHOD` set) nothing is read, since `HTTP_PROXY` could come from
/// a client's `Proxy:` header.
pub(crate) fn proxies_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Vec<Proxy> {
    if lookup("REQUEST_METHOD").is_some() {
        return Vec::new();
    }
    let first = |names: [&str; 2]| {
        names
            .into_iter()
            .filter_map(&lookup)
            .map(|value| value.trim().to_owned())
            .find(|value| !value.is_empty())
    };
    let no_proxy = first(["NO_PROXY", "no_proxy"]);
    let mut proxies = Vec::new();
    let mut add = |proxy: Proxy| {
        proxies.push(match &no_proxy {
            Some(list) => proxy.no_proxy(list.clone()),
            None => proxy,
        })
    };
    if let Some(url) = first(["HTTPS_PROXY", "https_proxy"]) {
        add(Proxy::https(url));
    }
    if let Some(url) = first(["HTTP_PROXY", "http_proxy"]) {
        add(Proxy::http(url));
    }
    if let Some(url) = first(["ALL_PROXY", "all_proxy"]) {
        add(Proxy::all(url));
    }
    proxies
}

// ---------------------------------------------------------------------------------------
// TLS failures
// ---------------------------------------------------------------------------------------

/// Why a TLS handshake failed, in plain words. See [`TlsError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The server's certificate does not chain to a trusted root: self-signed, issued by a
    /// private CA whose root was not added, or signed by another key than that of the
    /// trusted root whose name it gives as its issuer.
    UntrustedCertificate,
    /// The server's certificate is not valid for the host name (or address) connected to.
    WrongHostName,
    /// The server's certificate has expired or is not valid yet.
    ExpiredCertificate,
    /// The server's certificate is otherwise unusable: malformed, revoked, the wrong
    /// purpose, an unsupported signature.
    InvalidCertificate,
    /// The server did not answer in TLS (typically a plain `http` server).
    NotTls,
    /// The server refused the handshake: no common protocol version or cipher, or it
    /// wants a client certificate.
    Refused,
    /// Any other handshake failure.
    Other,
}

impl TlsFailure {
    fn describe(self, host: &str) -> String {
        match self {
            TlsFailure::UntrustedCertificate => format!(
                "the certificate of {host} is not issued by a root this client trusts (self-signed, or from \
                 a private CA: trust its root with add_root_certificate or HUAWEICLOUD_SDK_CA_FILE)"
            ),
            TlsFailure::WrongHostName => {
                format!("the certificate presented is not valid for the name {host} (it was issued for another)")
            }
            TlsFailure::ExpiredCertificate => {
                format!("the certificate of {host} has expired or is not valid yet (or this machine's clock is off)")
            }
            TlsFailure::InvalidCertificate => {
                format!("the certificate of {host} cannot be accepted (malformed, revoked or unsupported)")
            }
            TlsFailure::NotTls => format!("{host} did not answer in TLS (is it a plain http endpoint?)"),
            TlsFailure::Refused => format!(
                "{host} refused the handshake (no common TLS version or cipher, or it requires a client \
                 certificate)"
            ),
            TlsFailure::Other => format!("the handshake with {host} did not complete"),
        }
    }
}

/// A failed TLS handshake: the connection was never usable, so nothing of the request
/// was sent. Transports report it as a [`TransportError`](crate::transport::TransportError)
/// of kind [`Connect`](crate::transport::TransportErrorKind::Connect) with
/// [`Delivery::NotSent`](crate::transport::Delivery::NotSent); find it with
/// [`TransportError::tls_error`](crate::transport::TransportError::tls_error). It is not
/// transient: a certificate the client does not trust stays untrusted, so the client does
/// not retry it.
///
/// ```
/// # fn demo(error: fgs_core::Error) {
/// if let fgs_core::Error::Transport(transport) = &error {
///     if let Some(tls) = transport.tls_error() {
///         eprintln!("TLS with {:?} failed: {:?}", tls.host(), tls.failure());
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct TlsError {
    failure: TlsFailure,
    host: Option<String>,
    source: Option<BoxError>,
}

impl TlsError {
    /// A handshake failure with `host` (the name or address connected to), caused by
    /// `source` (the TLS library's error, kept as the [`source`](std::error::Error::source)).
    pub fn new(failure: TlsFailure, host: Option<String>, source: Option<BoxError>) -> Self {
        TlsError { failure, host, source }
    }

    /// Why it failed.
    pub fn failure(&self) -> TlsFailure {
        self.failure
    }

    /// The host name or address connected to, if known.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = self.host.as_deref().unwrap_or("the server");
        write!(f, "TLS handshake failed: {}", self.failure.describe(host))
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The first error of type `T` among `error` and its causes, looking inside
/// `std::io::Error`s too (whose `source` skips the error they wrap). For transports that
/// sort their stack's failures.
pub fn find_cause<'a, T: std::error::Error + 'static>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a T> {
    let mut next = Some(error);
    // A bound, in case a chain loops.
    for _ in 0..64 {
        let current = next?;
        if let Some(found) = current.downcast_ref::<T>() {
            return Some(found);
        }
        next = match current.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}

/// What a rustls handshake error says, for either transport's [`TlsError`].
#[cfg(any(feature = "rustls-aws-lc", feature = "rustls-ring", feature = "hyper"))]
pub(crate) fn rustls_failure(error: &rustls::Error) -> TlsFailure {
    use rustls::CertificateError as Cert;
    match error {
        // A bad signature: a trusted root's name on a certificate its key did not sign.
        rustls::Error::InvalidCertificate(Cert::UnknownIssuer | Cert::BadSignature) => TlsFailure::UntrustedCertificate,
        rustls::Error::InvalidCertificate(Cert::NotValidForName | Cert::NotValidForNameContext { .. }) => {
            TlsFailure::WrongHostName
        }
        rustls::Error::InvalidCertificate(
            Cert::Expired | Cert::ExpiredContext { .. } | Cert::NotValidYet | Cert::NotValidYetContext { .. },
        ) => TlsFailure::ExpiredCertificate,
        rustls::Error::InvalidCertificate(_) => TlsFailure::InvalidCertificate,
        rustls::Error::InvalidMessage(_) => TlsFailure::NotTls,
        rustls::Error::AlertReceived(_) | rustls::Error::PeerIncompatible(_) => TlsFailure::Refused,
        _ => TlsFailure::Other,
    }
}

/// What a native-tls handshake error says, for either transport's [`TlsError`]: only its
/// message tells (OpenSSL's verify result).
#[cfg(feature = "native-tls")]
pub(crate) fn native_tls_failure(error: &native_tls::Error) -> TlsFailure {
    let text = error.to_string().to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|needle| text.contains(needle));
    if has(&["hostname mismatch", "ip address mismatch", "host name mismatch"]) {
        TlsFailure::WrongHostName
    } else if has(&[
        "self-signed",
        "self signed",
        "unable to get local issuer",
        "unable to get issuer",
        "unable to verify the first certificate",
        "not trusted",
    ]) {
        TlsFailure::UntrustedCertificate
    } else if has(&["certificate has expired", "not yet valid"]) {
        TlsFailure::ExpiredCertificate
    } else if has(&[
        "wrong version number",
        "packet length too long",
        "record layer failure",
        "http request",
    ]) {
        TlsFailure::NotTls
    } else if has(&["certificate verify failed", "certificate"]) {
        TlsFailure::InvalidCertificate
    } else if has(&[
        "alert",
        "handshake failure",
        "no protocols available",
        "unsupported protocol",
    ]) {
        TlsFailure::Refused
    } else {
        TlsFailure::Other
    }
}

// ---------------------------------------------------------------------------------------
// The default transport's settings
// ---------------------------------------------------------------------------------------

/// What [`ClientBuilder`](crate::ClientBuilder) keeps for the default transport (and
/// [`ReqwestTransportBuilder`](crate::transport::ReqwestTransportBuilder) for its own).
#[derive(Debug, Clone)]
pub(crate) struct NetworkSettings {
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) root_certificates: Vec<Certificate>,
    pub(crate) built_in_roots: bool,
    pub(crate) proxies: Vec<Proxy>,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            connect_timeout: None,
            root_certificates: Vec::new(),
            built_in_roots: true,
            proxies: Vec::new(),
        }
    }
}

impl NetworkSettings {
    /// Adds the proxies the process environment names.
    pub(crate) fn proxy_from_env(&mut self) {
        self.proxies.extend(Proxy::from_env());
    }

    /// Refuses settings no TLS stack could honour.
    #[cfg_attr(not(any(feature = "reqwest", feature = "hyper")), allow(dead_code))]
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if TlsBackend::SELECTED.is_none() && (!self.root_certificates.is_empty() || !self.built_in_roots) {
            return Err(ConfigError::new(
                "root certificate settings need TLS: enable the feature rustls-aws-lc, rustls-ring or native-tls",
            ));
        }
        if !self.built_in_roots && self.root_certificates.is_empty() {
            return Err(ConfigError::new(
                "tls_built_in_roots(false) without add_root_certificate: no server could be trusted",
            ));
        }
        for proxy in &self.proxies {
            proxy.checked_url()?;
        }
        Ok(())
    }
}

/// The transport a client gets when none is given.
#[cfg(feature = "reqwest")]
pub(crate) fn default_transport(settings: &NetworkSettings) -> Result<Arc<dyn Transport>, ConfigError> {
    let transport = crate::transport::ReqwestTransport::from_settings(settings.clone())?;
    Ok(Arc::new(transport))
}

/// The transport a client gets when none is given.
#[cfg(all(feature = "hyper", not(feature = "reqwest")))]
pub(crate) fn default_transport(settings: &NetworkSettings) -> Result<Arc<dyn Transport>, ConfigError> {
    let transport = crate::transport::HyperTransport::from_settings(settings)?;
    Ok(Arc::new(transport))
}

/// The transport a client gets when none is given.
#[cfg(not(any(feature = "reqwest", feature = "hyper")))]
pub(crate) fn default_transport(_settings: &NetworkSettings) -> Result<Arc<dyn Transport>, ConfigError> {
    Err(ConfigError::new(
        "no transport: enable the `reqwest` or `hyper` feature or call transport(...)",
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use super::*;

    const TINY_DER: &[u8] = &[0x30, 0x03, 0x02, 0x01, 0x00];
    const TINY_PEM: &str = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";

    #[test]
    fn der_shape_is_checked() {
        assert_eq!(Certificate::from_der(TINY_DER).unwrap().as_der(), TINY_DER);
        for bad in [
            &b""[..],
            b"\x30",
            b"\x31\x00",
            b"\x30\x04\x02\x01\x00",
            TINY_PEM.as_bytes(),
        ] {
            let error = Certificate::from_der(bad).unwrap_err();
            assert_eq!(error.kind(), CertificateErrorKind::Malformed, "{bad:?}: {error}");
        }
        // Long-form lengths.
        let mut long = vec![0x30, 0x81, 0x80];
        long.extend(std::iter::repeat_n(0u8, 0x80));
        assert!(Certificate::from_der(long).is_ok());
    }

    #[test]
    fn pem_single_and_bundle() {
        assert_eq!(Certificate::from_pem(TINY_PEM.as_bytes()).unwrap().as_der(), TINY_DER);
        let with_key = format!("{TINY_PEM}-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n");
        assert!(
            Certificate::from_pem(with_key.as_bytes()).is_ok(),
            "other sections are skipped"
        );
        let two = format!("{TINY_PEM}{TINY_PEM}");
        assert_eq!(Certificate::from_pem_bundle(two.as_bytes()).unwrap().len(), 2);
        let error = Certificate::from_pem(two.as_bytes()).unwrap_err();
        assert_eq!(error.kind(), CertificateErrorKind::NotOne);
        assert!(error.to_string().contains("from_pem_bundle"), "{error}");

        let none = Certificate::from_pem_bundle(b"hello").unwrap_err();
        assert_eq!(none.kind(), CertificateErrorKind::NoCertificate);
        assert!(none.to_string().contains("BEGIN CERTIFICATE"), "{none}");
        let bad = Certificate::from_pem_bundle(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")
            .unwrap_err();
        assert_eq!(bad.kind(), CertificateErrorKind::Malformed, "{bad}");
        let unterminated = Certificate::from_pem_bundle(b"-----BEGIN CERTIFICATE-----\nMAMCAQA=\n").unwrap_err();
        assert_eq!(unterminated.kind(), CertificateErrorKind::Malformed, "{unterminated}");
    }

    #[test]
    fn pem_files_are_read_within_the_limit() {
        let dir = std::env::temp_dir().join(format!("fgs-network-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("roots.pem");
        std::fs::write(&good, format!("{TINY_PEM}{TINY_PEM}")).unwrap();
        assert_eq!(Certificate::from_pem_file(&good).unwrap().len(), 2);

        let large = dir.join("large.pem");
        let mut text = TINY_PEM.as_bytes().to_vec();
        text.resize(usize::try_from(MAX_PEM_FILE_BYTES).unwrap() + 1, b'\n');
        std::fs::write(&large, &text).unwrap();
        let error = Certificate::from_pem_file(&large).unwrap_err();
        assert_eq!(error.kind(), CertificateErrorKind::TooLarge);
        assert_eq!(error.path(), Some(large.as_path()));
        assert!(error.to_string().contains("large.pem"), "{error}");
        // Exactly the limit is read.
        text.truncate(usize::try_from(MAX_PEM_FILE_BYTES).unwrap());
        std::fs::write(&large, &text).unwrap();
        assert!(Certificate::from_pem_file(&large).is_ok());

        let missing = Certificate::from_pem_file(dir.join("missing.pem")).unwrap_err();
        assert_eq!(missing.kind(), CertificateErrorKind::Read);
        assert!(missing.to_string().contains("missing.pem"), "{missing}");
        let not_pem = dir.join("not.pem");
        std::fs::write(&not_pem, "nothing here").unwrap();
        let error = Certificate::from_pem_file(&not_pem).unwrap_err();
        assert_eq!(error.kind(), CertificateErrorKind::NoCertificate);
        assert!(error.to_string().contains("not.pem"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn proxy_urls_lose_their_credentials() {
        let proxy = Proxy::all("http://alice:s3cr%40t@proxy.internal:3128");
        assert_eq!(proxy.url(), "http://proxy.internal:3128");
        let (user, password) = proxy.credentials().unwrap();
        assert_eq!((user, password.expose()), ("alice", "s3cr@t"));
        let debug = format!("{proxy:?}");
        assert!(!debug.contains("s3cr"), "{debug}");
        assert!(debug.contains("alice"), "{debug}");

        assert_eq!(
            Proxy::https("proxy:3128").url(),
            "http://proxy:3128",
            "http:// is assumed"
        );
        let replaced = Proxy::https("http://a:b@proxy:1").basic_auth("carol", "pw");
        assert_eq!(replaced.credentials().unwrap().0, "carol");
        assert!(replaced.checked_url().is_ok());
    }

    #[test]
    fn unusable_proxy_urls_are_configuration_errors_without_credentials() {
        for url in [
            "socks5://bob:hunter2@proxy:1080",
            "http://bob:hunter2@",
            "http://bob:hunter2@proxy:3128/path",
            "http://bob:hunter2@pro xy:3128",
            "",
        ] {
            let proxy = Proxy::all(url);
            let error = proxy.checked_url().unwrap_err().to_string();
            assert!(error.contains("proxy"), "{url}: {error}");
            assert!(!error.contains("hunter2") && !error.contains("bob"), "{url}: {error}");
            assert!(!format!("{proxy:?}").contains("hunter2"), "{url}");
            let settings = NetworkSettings {
                proxies: vec![proxy],
                ..NetworkSettings::default()
            };
            assert!(settings.check().is_err(), "{url}");
        }
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn summary(proxies: &[Proxy]) -> Vec<(ProxyScope, String, Option<String>)> {
        proxies
            .iter()
            .map(|p| (p.scope(), p.url(), p.no_proxy_list().map(str::to_owned)))
            .collect()
    }

    #[test]
    fn proxies_from_the_environment() {
        assert!(proxies_from_lookup(env(&[])).is_empty());
        let proxies = proxies_from_lookup(env(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:2"),
            ("all_proxy", "http://all:3"),
            ("no_proxy", "localhost,.internal"),
        ]));
        let no = Some("localhost,.internal".to_owned());
        assert_eq!(
            summary(&proxies),
            vec![
                (ProxyScope::Https, "http://upper:1".to_owned(), no.clone()),
                (ProxyScope::All, "http://all:3".to_owned(), no),
            ]
        );
        // Lower case when upper case is empty; HTTP_PROXY for http.
        let proxies = proxies_from_lookup(env(&[
            ("HTTPS_PROXY", " "),
            ("https_proxy", "lower:2"),
            ("HTTP_PROXY", "http://plain:4"),
        ]));
        assert_eq!(
            summary(&proxies),
            vec![
                (ProxyScope::Https, "http://lower:2".to_owned(), None),
                (ProxyScope::Http, "http://plain:4".to_owned(), None),
            ]
        );
        // Credentials from the variable are kept, and kept secret.
        let proxies = proxies_from_lookup(env(&[("HTTPS_PROXY", "http://u:pw-from-env@proxy:3128")]));
        assert_eq!(proxies[0].credentials().unwrap().1.expose(), "pw-from-env");
        assert!(!format!("{proxies:?}").contains("pw-from-env"));
        // Not in CGI.
        assert!(proxies_from_lookup(env(&[("REQUEST_METHOD", "GET"), ("HTTPS_PROXY", "http://p:1")])).is_empty());
    }

    #[test]
    fn root_settings_that_trust_nothing_are_refused() {
        let settings = NetworkSettings {
            built_in_roots: false,
            ..NetworkSettings::default()
        };
        let error = settings.check().unwrap_err().to_string();
        assert!(error.contains("tls_built_in_roots(false)"), "{error}");
        assert!(NetworkSettings::default().check().is_ok());
    }

    #[test]
    fn tls_errors_are_found_in_transport_errors() {
        let tls = TlsError::new(TlsFailure::WrongHostName, Some("127.0.0.1".into()), None);
        let error = TransportError::tls(tls);
        assert_eq!(error.kind(), TransportErrorKind::Connect);
        assert_eq!(error.delivery(), Delivery::NotSent);
        let found = error.tls_error().unwrap();
        assert_eq!(found.failure(), TlsFailure::WrongHostName);
        let text = found.to_string();
        assert!(
            text.contains("TLS") && text.contains("not valid for the name 127.0.0.1"),
            "{text}"
        );
        assert!(TransportError::connect("refused").tls_error().is_none());

        // Inside an io::Error, whose `source` skips what it wraps.
        let inner = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            TlsError::new(TlsFailure::Other, None, None),
        );
        let outer: BoxError = Box::new(TransportError::io(Delivery::MaybeSent, inner));
        assert!(find_cause::<TlsError>(outer.as_ref()).is_some());
    }
}
