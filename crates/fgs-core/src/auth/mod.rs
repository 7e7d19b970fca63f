//! Credentials: the [`Auth`] seam, the static IAM token and, with feature `auth` (on by
//! default), the implementations the official Huawei SDKs offer.
//!
//! An [`Auth`] gets the complete outgoing request (method, URI, headers and body) just
//! before it is sent, so one trait fits both a token header (`X-Auth-Token`) and AK/SK
//! signing, which signs all of those.
//!
//! With feature `auth`:
//! - [`AkSkAuth`]: AK/SK request signing (`SDK-HMAC-SHA256`), byte-identical to Huawei's
//!   official signers, with permanent or temporary (security-token) credentials.
//! - [`IamTokenAuth`]: an IAM token obtained from `POST /v3/auth/tokens`, cached, renewed
//!   ahead of expiry in the background (no caller holding a valid token waits), backing off
//!   after a failed renewal, and renewed once more when the service says it expired.
//! - [`CredentialChain`]: credentials found the way Huawei's SDKs find them, in their
//!   order: explicit values, an agency assumed with OIDC through STS
//!   ([`OidcStsCredentials`]), environment variables (keys, or a federated identity:
//!   [`FederatedCredentials`]), the shared credentials file, ECS/CCE metadata
//!   ([`MetadataCredentials`]), a CCE pod identity ([`PodIdentityCredentials`]). The
//!   temporary credentials of these sources renew themselves ahead of expiry, as IAM
//!   tokens do.
//!
//! ```no_run
//! # #[cfg(feature = "auth")] {
//! use fgs_core::auth::{AkSkAuth, Credentials};
//!
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = fgs_core::Client::builder()
//!     .region("cn-north-4")
//!     .auth(AkSkAuth::new(Credentials::new("AK...", "SK...")))
//!     .build()?;
//! # Ok(()) }
//! # }
//! ```

#[cfg(feature = "auth")]
mod aksk;
#[cfg(feature = "auth")]
mod chain;
#[cfg(feature = "auth")]
mod clock;
#[cfg(feature = "auth")]
mod credentials;
#[cfg(feature = "auth")]
pub(crate) mod environment;
#[cfg(feature = "auth")]
mod federated;
#[cfg(feature = "auth")]
mod iam;
#[cfg(feature = "auth")]
mod metadata;
#[cfg(feature = "auth")]
mod oidc;
#[cfg(feature = "auth")]
mod pod_identity;
#[cfg(feature = "auth")]
mod profile;
#[cfg(feature = "auth")]
mod renew;
#[cfg(feature = "auth")]
mod temporary;

#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use aksk::AkSkAuth;
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use chain::{CredentialChain, CredentialSource};
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use clock::{Clock, ManualClock, SystemClock};
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use credentials::{Credentials, ProvideCredentials};
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use environment::EnvironmentCredentials;
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use federated::FederatedCredentials;
/// The signing algorithms of Huawei's SDKs, for [`AkSkAuth::signing_algorithm`].
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use fgs_signing::Algorithm as SigningAlgorithm;
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use iam::{DEFAULT_REFRESH_WINDOW, IamTokenAuth, IamTokenAuthBuilder};
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use metadata::MetadataCredentials;
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use oidc::OidcStsCredentials;
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use pod_identity::PodIdentityCredentials;
#[cfg(feature = "auth")]
#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
pub use profile::ProfileCredentials;

use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;
use http::HeaderValue;

use crate::generated::operations::IAM_TOKEN_HEADER;
use crate::protocol::OperationInfo;
use crate::service_error::ServiceError;

/// Applies credentials to outgoing requests.
///
/// Called once per request, after every other header is set and with the final body,
/// immediately before the request goes to the transport. An error stops the request:
/// nothing is sent.
///
/// # Example
///
/// A token read from somewhere else on every call:
///
/// ```
/// use fgs_core::auth::{Auth, AuthContext, AuthError};
/// use fgs_core::async_trait;
///
/// #[derive(Debug)]
/// struct FromEnvironment;
///
/// #[async_trait]
/// impl Auth for FromEnvironment {
///     async fn authenticate(
///         &self,
///         request: &mut http::Request<bytes::Bytes>,
///         _context: &AuthContext<'_>,
///     ) -> Result<(), AuthError> {
///         let token = std::env::var("MY_IAM_TOKEN")
///             .map_err(|_| AuthError::missing("MY_IAM_TOKEN is not set"))?;
///         let mut value = http::HeaderValue::try_from(token)
///             .map_err(|_| AuthError::invalid("MY_IAM_TOKEN is not a valid header value"))?;
///         value.set_sensitive(true);
///         request.headers_mut().insert("x-auth-token", value);
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Auth: Send + Sync + fmt::Debug {
    /// Adds credentials to `request`.
    async fn authenticate(
        &self,
        request: &mut http::Request<Bytes>,
        context: &AuthContext<'_>,
    ) -> Result<(), AuthError>;

    /// Called when the service answered 401 to a request this auth authenticated (for
    /// example `APIGW.0307`, an expired token). `refused` holds the credential headers
    /// that request carried (those of the API's security schemes, `X-Auth-Token` and
    /// `Authorization`), so that only the credentials actually refused are dropped, not
    /// a replacement obtained meanwhile. Return `true` when the request should be
    /// authenticated and sent once more: a 401 comes from the gateway, so the function
    /// did not run. The re-send is an attempt of its own, seen by hooks and tracing, and
    /// is made at most once per call. The default keeps the error.
    async fn on_rejected(&self, _error: &ServiceError, _refused: &http::HeaderMap) -> bool {
        false
    }
}

/// What an [`Auth`] may need to know about the call besides the request itself.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct AuthContext<'a> {
    /// The operation being called.
    pub operation: &'a OperationInfo,
    /// Project the request is for (AK/SK signing sends it as `X-Project-Id`).
    pub project_id: &'a str,
    /// Region the request is for.
    pub region: &'a str,
}

impl<'a> AuthContext<'a> {
    /// A context for a call of `operation` in `project_id` and `region`.
    pub fn new(operation: &'a OperationInfo, project_id: &'a str, region: &'a str) -> Self {
        AuthContext {
            operation,
            project_id,
            region,
        }
    }
}

/// Why credentials could not be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// No credentials were found.
    Missing,
    /// Credentials are present but unusable (wrong format, characters HTTP cannot carry).
    Invalid,
    /// Credentials have expired and could not be renewed.
    Expired,
    /// The credential source (IAM, a metadata service, a file) failed.
    Provider,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Credentials could not be applied; the request was not sent.
///
/// Its message must never contain a secret.
#[derive(Debug)]
pub struct AuthError {
    kind: AuthErrorKind,
    message: String,
    source: Option<BoxError>,
}

impl AuthError {
    /// An error of `kind` with a message (which must not contain a secret).
    pub fn new(kind: AuthErrorKind, message: impl Into<String>) -> Self {
        AuthError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// No credentials were found.
    pub fn missing(message: impl Into<String>) -> Self {
        Self::new(AuthErrorKind::Missing, message)
    }

    /// Credentials are unusable.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(AuthErrorKind::Invalid, message)
    }

    /// Credentials have expired.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(AuthErrorKind::Expired, message)
    }

    /// The credential source failed.
    pub fn provider(message: impl Into<String>) -> Self {
        Self::new(AuthErrorKind::Provider, message)
    }

    /// Attaches the underlying error.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        // A cause may carry a server's text: made printable and bounded, like every
        // other error's.
        self.source = Some(crate::evidence::printable_source(source.into()));
        self
    }

    /// Why credentials could not be applied.
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The cause is the `source()`, not part of this text: printed with its causes
        // (`{:#}`), each message appears once.
        f.write_str(&self.message)
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A secret string: `Debug` and `Display` print `<redacted>`, never the value, the
/// memory is zeroed when it is dropped, and equality takes the same time wherever the
/// values differ (`subtle`), so comparing a secret does not leak it through timing.
#[derive(Clone)]
pub struct Secret(String);

impl PartialEq for Secret {
    /// Constant-time in the contents (only the lengths are compared in variable time).
    fn eq(&self, other: &Self) -> bool {
        subtle::ConstantTimeEq::ct_eq(self.0.as_bytes(), other.0.as_bytes()).into()
    }
}

impl Eq for Secret {}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Keep the result out of logs and error messages.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

/// An IAM token sent as `X-Auth-Token` on every request.
///
/// The token is one you already have (the `X-Subject-Token` of an IAM
/// `POST /v3/auth/tokens`); it is valid for 24 hours and is not renewed.
///
/// ```
/// use fgs_core::auth::StaticToken;
///
/// let auth = StaticToken::new("MIIEhgYJKoZIhvcNAQcCoIIEdzCCBHMCAQExDTAL...");
/// assert_eq!(format!("{auth:?}"), "StaticToken { token: <redacted> }");
/// ```
#[derive(Clone)]
pub struct StaticToken {
    /// `None` when the token holds characters a header cannot carry; reported on use so
    /// that construction stays infallible and the error still comes before any sending.
    header: Option<HeaderValue>,
}

impl StaticToken {
    /// Uses `token` for every request.
    pub fn new(token: impl Into<Secret>) -> Self {
        let token: Secret = token.into();
        let header = HeaderValue::from_str(token.expose().trim()).ok().map(|mut value| {
            value.set_sensitive(true);
            value
        });
        StaticToken { header }
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticToken")
            .field("token", &format_args!("<redacted>"))
            .finish()
    }
}

#[async_trait]
impl Auth for StaticToken {
    async fn authenticate(
        &self,
        request: &mut http::Request<Bytes>,
        _context: &AuthContext<'_>,
    ) -> Result<(), AuthError> {
        let value = self
            .header
            .clone()
            .ok_or_else(|| AuthError::invalid("the IAM token holds characters that cannot be sent in a header"))?;
        request.headers_mut().insert(IAM_TOKEN_HEADER, value);
        Ok(())
    }
}

/// Sends no credentials: for a server that asks for none, such as a local emulator
/// started with `fgs local --no-auth`. FunctionGraph itself refuses such requests
/// (401).
///
/// ```
/// let client = fgs_core::Client::builder()
///     .endpoint_url("http://127.0.0.1:8000")
///     .auth(fgs_core::auth::Anonymous)
///     .build()?;
/// # Ok::<(), fgs_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Anonymous;

#[async_trait]
impl Auth for Anonymous {
    async fn authenticate(
        &self,
        _request: &mut http::Request<Bytes>,
        _context: &AuthContext<'_>,
    ) -> Result<(), AuthError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::operations::InvokeFunction;
    use crate::protocol::Operation;

    static INFO: crate::protocol::OperationInfo = <InvokeFunction as Operation>::INFO;

    fn context() -> AuthContext<'static> {
        AuthContext::new(&INFO, "p", "r")
    }

    #[tokio::test]
    async fn static_token_sets_a_sensitive_header() {
        let mut request = http::Request::new(Bytes::new());
        StaticToken::new("tok-123")
            .authenticate(&mut request, &context())
            .await
            .unwrap();
        let value = &request.headers()["x-auth-token"];
        assert_eq!(value, "tok-123");
        assert!(value.is_sensitive());
    }

    #[tokio::test]
    async fn a_token_http_cannot_carry_fails_before_sending() {
        let mut request = http::Request::new(Bytes::new());
        let err = StaticToken::new("secret\nvalue")
            .authenticate(&mut request, &context())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Invalid);
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(request.headers().is_empty());
    }

    #[test]
    fn secret_equality_compares_the_whole_value() {
        assert_eq!(Secret::new("hunter2"), Secret::new("hunter2"));
        assert_ne!(Secret::new("hunter2"), Secret::new("hunter3"));
        assert_ne!(Secret::new("hunter2"), Secret::new("xunter2"));
        assert_ne!(Secret::new("hunter2"), Secret::new("hunter22"));
        assert_ne!(Secret::new("hunter2"), Secret::new(""));
        assert_eq!(Secret::new(""), Secret::new(""));
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "<redacted> <redacted>");
        assert!(!format!("{:?}", StaticToken::new("hunter2")).contains("hunter2"));
    }
}
