//! HTTPS: the identity the emulator serves ([`TlsIdentity`]), a self-signed one for local
//! use, the handshake of each accepted connection, and the certificate file `--tls` writes.
//!
//! rustls with the aws-lc-rs provider, named explicitly, so the process's default provider
//! (or its absence) does not matter.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// The names a [`TlsIdentity::localhost`] certificate is valid for.
pub const LOCALHOST_NAMES: [&str; 3] = ["127.0.0.1", "::1", "localhost"];

/// A certificate chain and its private key, in PEM, for the emulator to serve HTTPS with
/// ([`EmulatorBuilder::tls`](crate::EmulatorBuilder::tls)). `Debug` never shows the key.
///
/// ```
/// use fgs_emulator::{Emulator, TlsIdentity};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let identity = TlsIdentity::localhost()?;
/// let emulator = Emulator::builder().without_auth().tls(identity.clone()).start().await?;
/// assert!(emulator.endpoint().starts_with("https://127.0.0.1:"));
/// // A client trusts `identity.cert_chain_pem()` as a root to call it.
/// # emulator.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TlsIdentity {
    cert_chain_pem: String,
    key_pem: String,
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert_chain_pem", &self.cert_chain_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

impl TlsIdentity {
    /// An identity from PEM text: the server's certificate first, then any intermediates;
    /// and its private key (PKCS#8, PKCS#1 or SEC1). Checked when the emulator starts.
    pub fn new(cert_chain_pem: impl Into<String>, key_pem: impl Into<String>) -> Self {
        TlsIdentity {
            cert_chain_pem: cert_chain_pem.into(),
            key_pem: key_pem.into(),
        }
    }

    /// A fresh self-signed certificate (and key) valid for `names`: host names or IP
    /// addresses. Clients trust it by adding [`cert_chain_pem`](Self::cert_chain_pem) as a
    /// root certificate.
    pub fn self_signed<I, S>(names: I) -> Result<Self, TlsSetupError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(names)
            .map_err(|e| TlsSetupError::new(format!("cannot generate a certificate: {e}")))?;
        Ok(TlsIdentity {
            cert_chain_pem: pem_text("CERTIFICATE", cert.der()),
            key_pem: pem_text("PRIVATE KEY", &signing_key.serialize_der()),
        })
    }

    /// A fresh self-signed certificate for [`LOCALHOST_NAMES`] (`127.0.0.1`, `::1`,
    /// `localhost`).
    pub fn localhost() -> Result<Self, TlsSetupError> {
        TlsIdentity::self_signed(LOCALHOST_NAMES)
    }

    /// The certificate chain, PEM: what a client adds as a root to trust a self-signed
    /// identity.
    pub fn cert_chain_pem(&self) -> &str {
        &self.cert_chain_pem
    }

    /// The private key, PEM. Keep it out of logs.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The rustls acceptor serving this identity (HTTP/1.1 over TLS 1.2 or 1.3).
    pub(crate) fn acceptor(&self) -> Result<TlsAcceptor, TlsSetupError> {
        let chain = CertificateDer::pem_slice_iter(self.cert_chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsSetupError::new(format!("the certificate chain is not PEM: {e}")))?;
        if chain.is_empty() {
            return Err(TlsSetupError::new(
                "the certificate chain holds no -----BEGIN CERTIFICATE----- section",
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            // The key's text never goes into the message.
            .map_err(|_| TlsSetupError::new("the private key is not a PEM private key (PKCS#8, PKCS#1 or SEC1)"))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsSetupError::new(format!("no TLS version available: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| TlsSetupError::new(format!("the certificate and key cannot be used: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// A [`TlsIdentity`] that cannot be generated or served.
#[derive(Debug, Clone)]
pub struct TlsSetupError {
    message: String,
}

impl TlsSetupError {
    fn new(message: impl Into<String>) -> Self {
        TlsSetupError {
            message: message.into(),
        }
    }
}

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS identity: {}", self.message)
    }
}

impl std::error::Error for TlsSetupError {}

impl From<TlsSetupError> for io::Error {
    fn from(error: TlsSetupError) -> Self {
        io::Error::new(io::ErrorKind::InvalidInput, error)
    }
}

/// An accepted connection: plain TCP, or TLS over it.
pub(crate) enum Connection {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Completes the TLS handshake of `stream` when the emulator serves HTTPS, within
/// `timeout` (the header read timeout: a client that stalls in the handshake is one that
/// stalls before its request head) and until the emulator stops. `None`: the handshake
/// failed (an untrusted certificate, plain HTTP, a stalled client), so nothing was
/// received and nothing is recorded.
pub(crate) async fn accept(
    acceptor: Option<&TlsAcceptor>,
    stream: TcpStream,
    timeout: Duration,
    stop: &mut watch::Receiver<bool>,
) -> Option<Connection> {
    let Some(acceptor) = acceptor else {
        return Some(Connection::Plain(stream));
    };
    tokio::select! {
        handshake = tokio::time::timeout(timeout, acceptor.accept(stream)) => match handshake {
            Ok(Ok(tls)) => Some(Connection::Tls(Box::new(tls))),
            _ => None,
        },
        _ = stop.changed() => None,
    }
}

impl AsyncRead for Connection {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Connection::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Connection::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Connection::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Connection::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Connection::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Connection::Plain(stream) => stream.is_write_vectored(),
            Connection::Tls(stream) => stream.is_write_vectored(),
        }
    }
}

/// Where `--tls` writes the certificate of a run: the first of the
/// [state directories](crate::local_state::state_dir_candidates) (`$XDG_RUNTIME_DIR/fgs`,
/// else `$XDG_CACHE_HOME/fgs` or `~/.cache/fgs`) that is or can be made a directory, each
/// created readable by the owner only; else a new private directory under the temporary
/// directory.
fn certificate_dir() -> io::Result<PathBuf> {
    for dir in crate::local_state::state_dir_candidates() {
        if private_dir(&dir, true).is_ok() {
            return Ok(dir);
        }
    }
    // A shared temporary directory: a fresh directory no one else can have prepared.
    let dir = std::env::temp_dir().join(format!("fgs-local-{}", crate::ids::hex32()));
    private_dir(&dir, false)?;
    Ok(dir)
}

/// Creates `dir` (mode 0700 on Unix); an existing one is accepted when `reuse`.
fn private_dir(dir: &Path, reuse: bool) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Err(e) if reuse && e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        other => other,
    }
}

/// Writes `pem` to `local-{port}.pem` in the [certificate directory](certificate_dir),
/// readable by the owner only (mode 0600 on Unix), replacing an earlier run's file.
pub(crate) fn write_certificate_file(pem: &str, port: u16) -> io::Result<PathBuf> {
    use std::io::Write as _;

    let path = certificate_dir()?.join(format!("local-{port}.pem"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    // An earlier file keeps its mode through `open`; set it.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(pem.as_bytes())?;
    file.sync_all()?;
    Ok(path)
}

/// DER as a PEM section (RFC 7468: Base64 in lines of 64). Written here rather than with
/// rcgen's `pem` feature, which would bring a second version of base64 into the graph.
fn pem_text(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        // Base64 is ASCII, so every chunk is UTF-8.
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use super::*;

    #[test]
    fn self_signed_identities_serve_and_hide_their_key() {
        let identity = TlsIdentity::localhost().unwrap();
        assert!(identity.cert_chain_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(identity.key_pem().contains("PRIVATE KEY"));
        let debug = format!("{identity:?}");
        assert!(!debug.contains(identity.key_pem()), "{debug}");
        assert!(identity.acceptor().is_ok());
    }

    #[test]
    fn unusable_identities_are_clear_errors() {
        let good = TlsIdentity::localhost().unwrap();
        let other = TlsIdentity::localhost().unwrap();
        for (identity, expected) in [
            (TlsIdentity::new("", good.key_pem()), "no -----BEGIN CERTIFICATE-----"),
            (
                TlsIdentity::new(good.cert_chain_pem(), "not a key"),
                "not a PEM private key",
            ),
            (
                TlsIdentity::new(good.cert_chain_pem(), other.key_pem()),
                "cannot be used",
            ),
        ] {
            let Err(error) = identity.acceptor() else {
                panic!("{identity:?} was accepted");
            };
            let error = error.to_string();
            assert!(error.contains(expected), "{error}");
            assert!(!error.contains("PRIVATE KEY"), "{error}");
        }
        assert!(
            TlsIdentity::self_signed(["n\u{e4}me.example"]).is_err(),
            "names are ASCII"
        );
    }
}
