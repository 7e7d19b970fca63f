//! TLS for [`HyperTransport`](crate::transport::HyperTransport): the rustls client configuration
//! (provider, roots), the native-tls connector (feature `native-tls`), and the reading of
//! either's handshake failures.

use std::sync::Arc;

use crate::network::{Certificate, TlsError, TlsFailure, find_cause};
use crate::transport::{Delivery, TransportError};
use rustls::crypto::CryptoProvider;
use rustls_pki_types::CertificateDer;

/// The crypto provider: ring with feature `rustls-ring`, else aws-lc-rs with
/// `rustls-aws-lc`, else the one the process installed.
fn provider() -> Result<Arc<CryptoProvider>, TransportError> {
    #[cfg(feature = "rustls-ring")]
    return Ok(Arc::new(rustls::crypto::ring::default_provider()));
    #[cfg(all(feature = "rustls-aws-lc", not(feature = "rustls-ring")))]
    return Ok(Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    #[cfg(not(any(feature = "rustls-aws-lc", feature = "rustls-ring")))]
    CryptoProvider::get_default().cloned().ok_or_else(|| {
        setup_error(
            "no rustls crypto provider: enable the feature rustls-aws-lc or rustls-ring, \
             or install one with rustls::crypto::CryptoProvider::install_default",
        )
    })
}

fn setup_error(message: impl Into<String>) -> TransportError {
    TransportError::other(Delivery::NotSent, message.into())
}

/// Refuses a configuration that trusts no root at all, whichever TLS stack it is for.
fn something_trusted(roots: &[Certificate], built_in_roots: bool) -> Result<(), TransportError> {
    match built_in_roots || !roots.is_empty() {
        true => Ok(()),
        false => Err(setup_error(
            "tls_built_in_roots(false) without add_root_certificate: no server could be trusted",
        )),
    }
}

/// The added root at `index` (from 0) that the TLS stack refused.
fn unusable_root(index: usize, error: impl std::fmt::Display) -> TransportError {
    setup_error(format!(
        "root certificate {} cannot be used as a trust anchor: {error}",
        index.saturating_add(1)
    ))
}

/// A client configuration trusting the platform's roots (rustls-platform-verifier) and
/// `roots`, or only `roots` when `built_in_roots` is false. ALPN is left empty, as
/// hyper-rustls requires (it sets HTTP/1.1 itself).
pub(crate) fn client_config(
    roots: &[Certificate],
    built_in_roots: bool,
) -> Result<rustls::ClientConfig, TransportError> {
    something_trusted(roots, built_in_roots)?;
    let provider = provider()?;
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::other(Delivery::NotSent, e))?;
    let roots = roots.iter().map(|root| CertificateDer::from(root.as_der().to_vec()));
    if built_in_roots {
        #[cfg(not(target_os = "android"))]
        let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider);
        #[cfg(target_os = "android")]
        let verifier = match roots.len() {
            0 => rustls_platform_verifier::Verifier::new(provider),
            _ => Err(rustls::Error::General(
                "on Android, added roots need tls_built_in_roots(false)".into(),
            )),
        };
        let verifier =
            verifier.map_err(|e| TransportError::other(Delivery::NotSent, LoadRootsError { source: Box::new(e) }))?;
        Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth())
    } else {
        let mut store = rustls::RootCertStore::empty();
        for (index, root) in roots.enumerate() {
            store.add(root).map_err(|e| unusable_root(index, e))?;
        }
        Ok(builder.with_root_certificates(store).with_no_client_auth())
    }
}

/// The root certificates could not be loaded.
#[derive(Debug)]
struct LoadRootsError {
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl std::fmt::Display for LoadRootsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "could not load the root certificates (the operating system's and those added; to trust only \
             added roots, set tls_built_in_roots(false))",
        )
    }
}

impl std::error::Error for LoadRootsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// A native-tls connector trusting the platform's store and `roots`, or only `roots` when
/// `built_in_roots` is false; TLS 1.2 at least, as with rustls.
#[cfg(feature = "native-tls")]
pub(crate) fn native_connector(
    roots: &[Certificate],
    built_in_roots: bool,
) -> Result<native_tls::TlsConnector, TransportError> {
    something_trusted(roots, built_in_roots)?;
    let mut builder = native_tls::TlsConnector::builder();
    builder
        .min_protocol_version(Some(native_tls::Protocol::Tlsv12))
        .disable_built_in_roots(!built_in_roots);
    for (index, root) in roots.iter().enumerate() {
        let root = native_tls::Certificate::from_der(root.as_der()).map_err(|e| unusable_root(index, e))?;
        builder.add_root_certificate(root);
    }
    builder
        .build()
        .map_err(|e| setup_error(format!("the platform's TLS library (native-tls) cannot be set up: {e}")))
}

/// The TLS failure among the causes of a connect error, if it is one.
pub(crate) fn failure(error: &(dyn std::error::Error + 'static)) -> Option<TlsFailure> {
    #[cfg(feature = "native-tls")]
    if let Some(e) = find_cause::<native_tls::Error>(error) {
        return Some(crate::network::native_tls_failure(e));
    }
    find_cause::<rustls::Error>(error).map(crate::network::rustls_failure)
}

/// A [`TransportError`] for a failed handshake with `host`.
pub(crate) fn handshake_error(
    failure: TlsFailure,
    host: Option<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> TransportError {
    TransportError::tls(TlsError::new(failure, host, Some(Box::new(source))))
}
