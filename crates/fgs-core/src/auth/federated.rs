//! Temporary credentials of a federated identity: an OIDC ID token exchanged with IAM, as
//! the official SDKs' `FederalAccessor` does (`idp_id` with `id_token_file`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::{HeaderValue, Uri};
use serde_json::json;

use crate::auth::clock::Clock;
use crate::auth::credentials::{Credentials, ProvideCredentials};
use crate::auth::iam::IAM_MAX_RESPONSE_BYTES;
use crate::auth::temporary::{
    ConfigProblem, Renewing, join, json_post, parse_credential, read_token_file, secret_json, send, sensitive_header,
    service_endpoint, service_message,
};
use crate::auth::{AuthError, Secret};
use crate::transport::Transport;

/// IAM's path that exchanges an ID token for an unscoped token.
const ID_TOKEN_TOKENS_PATH: &str = "/v3.0/OS-AUTH/id-token/tokens";
/// IAM's path that issues temporary keys for a token.
const SECURITY_TOKENS_PATH: &str = "/v3.0/OS-CREDENTIAL/securitytokens";
/// The header naming the identity provider of the ID token.
const IDP_ID_HEADER: &str = "x-idp-id";
/// The header of IAM's answer that carries the token.
const SUBJECT_TOKEN_HEADER: &str = "x-subject-token";

/// Temporary credentials of a federated identity, from IAM, as Huawei's official SDKs get
/// them for `idp_id` with `id_token_file` (in the environment as
/// `HUAWEICLOUD_SDK_IDP_ID` with `HUAWEICLOUD_SDK_ID_TOKEN_FILE`, or in a section of the
/// credentials file):
///
/// 1. the OIDC ID token is read from its file (at most 64 KiB, trimmed, not empty; read
///    again at every renewal, since platforms rotate it);
/// 2. `POST {iam}/v3.0/OS-AUTH/id-token/tokens` with `X-Idp-Id: {idp_id}` and
///    `{"auth": {"id_token": {"id": "<ID token>"}}}`: IAM answers with an unscoped token
///    in `X-Subject-Token`;
/// 3. `POST {iam}/v3.0/OS-CREDENTIAL/securitytokens` with the `token` method (the token in
///    the body, as the official SDKs send it) and `duration_seconds` 21600: IAM answers
///    with temporary AK/SK and a security token (`credential.access`, ...).
///
/// The IAM endpoint is [`DEFAULT_ENDPOINT`](Self::DEFAULT_ENDPOINT) unless set (the
/// environment's `HUAWEICLOUD_SDK_IAM_ENDPOINT`, or `iam_endpoint` in the credentials
/// file). Renewal is that of every temporary source (see
/// [`OidcStsCredentials`](crate::auth::OidcStsCredentials)); IAM's answers are read up to
/// 1 MiB, each request within 30 s. Neither the ID token nor IAM's token appears in
/// `Debug`, `Display` or an error.
///
/// ```no_run
/// use fgs_core::auth::{AkSkAuth, FederatedCredentials};
///
/// # fn demo() -> Result<(), fgs_core::Error> {
/// let federated = FederatedCredentials::new("my-idp", "/var/run/secrets/tokens/oidc-token");
/// let client = fgs_core::Client::builder()
///     .region("cn-north-4")
///     .auth(AkSkAuth::new(federated))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FederatedCredentials {
    idp_id: String,
    id_token_file: PathBuf,
    endpoint: Result<Uri, ConfigProblem>,
    renewing: Renewing,
}

impl fmt::Debug for FederatedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FederatedCredentials")
            .field("idp_id", &self.idp_id)
            .field("id_token_file", &self.id_token_file)
            .field("endpoint", &self.endpoint.as_ref().ok())
            .field("refresh_window", &self.renewing.refresh_window())
            .finish_non_exhaustive()
    }
}

impl FederatedCredentials {
    /// IAM of the official SDKs when no endpoint is set.
    pub const DEFAULT_ENDPOINT: &'static str = "https://iam.myhuaweicloud.com";
    /// The lifetime asked for the temporary keys: 6 hours, as the official SDKs ask.
    pub const DURATION: Duration = Duration::from_secs(6 * 60 * 60);
    /// Limit of each request to IAM: 30 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// The largest answer read from IAM: 1 MiB.
    pub const MAX_RESPONSE_BYTES: u64 = IAM_MAX_RESPONSE_BYTES;

    /// The identity `idp_id` proves with the ID token in `id_token_file`, exchanged at
    /// [`DEFAULT_ENDPOINT`](Self::DEFAULT_ENDPOINT).
    pub fn new(idp_id: impl Into<String>, id_token_file: impl Into<PathBuf>) -> Self {
        FederatedCredentials {
            idp_id: idp_id.into(),
            id_token_file: id_token_file.into(),
            endpoint: service_endpoint(Self::DEFAULT_ENDPOINT, "IAM endpoint"),
            renewing: Renewing::new("federated credentials", Self::DEFAULT_TIMEOUT),
        }
    }

    /// IAM's base URL (`https`, or `http` on loopback such as a local emulator).
    pub fn with_iam_endpoint(mut self, url: impl AsRef<str>) -> Self {
        self.endpoint = service_endpoint(url.as_ref(), "IAM endpoint");
        self.renewing = self
            .renewing
            .clone()
            .with_refresh_window(self.renewing.refresh_window());
        self
    }

    /// `with_iam_endpoint` naming where the URL came from (a variable, a file's key).
    pub(crate) fn with_iam_endpoint_from(mut self, url: &str, what: &str) -> Self {
        self.endpoint = service_endpoint(url, what);
        self
    }

    /// Sends the IAM requests with `transport`.
    pub fn with_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.renewing = self.renewing.with_transport(transport);
        self
    }

    /// Uses `clock` to decide when to renew (tests).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.renewing = self.renewing.with_clock(Arc::new(clock));
        self
    }

    /// Fetches new credentials this long before the cached ones expire (default 10
    /// minutes).
    pub fn with_refresh_window(mut self, window: Duration) -> Self {
        self.renewing = self.renewing.with_refresh_window(window);
        self
    }

    /// Limit of each request (default [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT)).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.renewing = self.renewing.with_timeout(timeout);
        self
    }

    /// The identity provider id.
    pub fn idp_id(&self) -> &str {
        &self.idp_id
    }

    /// The file holding the ID token.
    pub fn id_token_file(&self) -> &Path {
        &self.id_token_file
    }
}

#[async_trait]
impl ProvideCredentials for FederatedCredentials {
    async fn provide_credentials(&self) -> Result<Credentials, AuthError> {
        let endpoint = self.endpoint.clone().map_err(|problem| problem.error())?;
        let idp_header = HeaderValue::from_str(&self.idp_id)
            .map_err(|_| AuthError::invalid("the identity provider id holds characters a header cannot carry"))?;
        let idp_id = self.idp_id.clone();
        let file = self.id_token_file.clone();
        self.renewing
            .get(move |transport, timeout| {
                Box::pin(async move {
                    let service = format!("IAM at {endpoint}");
                    let id_token = read_token_file(&file, "the ID token file")?;
                    // 1. The ID token for an unscoped token.
                    let body = secret_json(json!({ "auth": { "id_token": { "id": id_token.expose() } } }));
                    let mut request = json_post(join(&endpoint, ID_TOKEN_TOKENS_PATH)?, body);
                    request.headers_mut().insert(IDP_ID_HEADER, idp_header);
                    let response = send(&transport, request, &service, timeout, IAM_MAX_RESPONSE_BYTES).await?;
                    if !response.status().is_success() {
                        return Err(AuthError::provider(format!(
                            "{service} refused the ID token of identity provider {idp_id}: HTTP {}: {}",
                            response.status().as_u16(),
                            service_message(response.body())
                        )));
                    }
                    let token = response
                        .headers()
                        .get(SUBJECT_TOKEN_HEADER)
                        .and_then(|value| value.to_str().ok())
                        .map(str::trim)
                        .filter(|value| !value.is_empty())
                        .map(Secret::new)
                        .ok_or_else(|| {
                            AuthError::provider(format!(
                                "{service} answered the ID token with HTTP {} but without an X-Subject-Token header \
                                 (the token)",
                                response.status().as_u16()
                            ))
                        })?;
                    // Not sent as a header (the official SDKs send it in the body only), but
                    // checked, so that an unusable token fails here and not at IAM.
                    sensitive_header(&token, "IAM's token")?;
                    // 2. Temporary keys for the token.
                    let body = secret_json(json!({ "auth": { "identity": {
                        "methods": ["token"],
                        "token": { "id": token.expose(), "duration_seconds": FederatedCredentials::DURATION.as_secs() },
                    } } }));
                    let request = json_post(join(&endpoint, SECURITY_TOKENS_PATH)?, body);
                    let response = send(&transport, request, &service, timeout, IAM_MAX_RESPONSE_BYTES).await?;
                    if !response.status().is_success() {
                        return Err(AuthError::provider(format!(
                            "{service} refused temporary keys for the federated token: HTTP {}: {}",
                            response.status().as_u16(),
                            service_message(response.body())
                        )));
                    }
                    parse_credential(response.body())
                        .map_err(|what| AuthError::provider(format!("the temporary keys answer of {service} {what}")))
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthErrorKind;

    #[tokio::test]
    async fn a_plain_http_endpoint_off_loopback_is_refused_before_sending() {
        let err = FederatedCredentials::new("idp", "/nonexistent")
            .with_iam_endpoint("http://iam.example.com")
            .provide_credentials()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Invalid);
        assert!(err.to_string().starts_with("IAM endpoint: "), "{err}");
    }
}
