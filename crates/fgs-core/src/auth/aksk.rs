//! AK/SK request signing (`SDK-HMAC-SHA256` and the other algorithms of Huawei's SDKs), as
//! Huawei's SDKs sign.

use std::sync::{Arc, Mutex};

use fgs_signing::{Algorithm, Scope, SigningKey};

use crate::auth::{Auth, AuthContext, AuthError};
use async_trait::async_trait;
use bytes::Bytes;
use http::HeaderValue;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};

use crate::auth::clock::{Clock, SystemClock};
use crate::auth::credentials::{Credentials, ProvideCredentials};

/// Signs every request with an access key pair.
///
/// Before signing it adds `X-Sdk-Date` (from its [`Clock`]), `Host`, `X-Project-Id` (the
/// project of the call) and, for temporary credentials, `X-Security-Token`; for a body
/// that is not JSON it signs `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`. The canonical
/// request is built by `fgs-signing` from the request exactly as it will be sent, so an
/// alias URN (`!`) signs the same way it is encoded on the wire.
///
/// The algorithm is `SDK-HMAC-SHA256` unless chosen with
/// [`signing_algorithm`](Self::signing_algorithm) (`SDK-HMAC-SM3`, `SDK-ECDSA-P256-SHA256`,
/// `SDK-SM2-SM3`) or [`derived_auth_service`](Self::derived_auth_service)
/// (`V11-HMAC-SHA256`), as the official SDKs' `signing_algorithm` and
/// `derived_auth_service_name` choose them. With the SM3 algorithms, an unsigned body is
/// marked with `X-Sdk-Content-Sm3`.
///
/// ```
/// use fgs_core::auth::{AkSkAuth, Credentials, SigningAlgorithm};
///
/// let auth = AkSkAuth::new(Credentials::new("AK-EXAMPLE", "SK-EXAMPLE"));
/// assert!(!format!("{auth:?}").contains("SK-EXAMPLE"));
/// let sm2 = AkSkAuth::new(Credentials::new("AK-EXAMPLE", "SK-EXAMPLE")).signing_algorithm(SigningAlgorithm::Sm2Sm3);
/// assert_eq!(sm2.algorithm(), SigningAlgorithm::Sm2Sm3);
/// ```
#[derive(Debug, Clone)]
pub struct AkSkAuth {
    provider: Arc<dyn ProvideCredentials>,
    clock: Arc<dyn Clock>,
    algorithm: Algorithm,
    /// The service of `V11-HMAC-SHA256`'s credential scope.
    derived_service: Option<String>,
    /// The key of the last credentials used: deriving an ECDSA or SM2 key costs a scalar
    /// multiplication, so it is made once per credentials, not per request.
    key: Arc<Mutex<Option<CachedKey>>>,
}

/// A signing key and the credentials it was made from.
struct CachedKey {
    credentials: Credentials,
    region: String,
    key: Arc<SigningKey>,
}

impl std::fmt::Debug for CachedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedKey")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl AkSkAuth {
    /// Signs with credentials from `provider` (a [`Credentials`] value, a
    /// [`CredentialChain`](crate::auth::CredentialChain), or your own).
    pub fn new(provider: impl ProvideCredentials + 'static) -> Self {
        Self::from_shared(Arc::new(provider))
    }

    /// Signs with credentials from an already shared provider.
    pub fn from_shared(provider: Arc<dyn ProvideCredentials>) -> Self {
        AkSkAuth {
            provider,
            clock: Arc::new(SystemClock),
            algorithm: Algorithm::default(),
            derived_service: None,
            key: Arc::default(),
        }
    }

    /// Signs with `algorithm` instead of `SDK-HMAC-SHA256`. For `V11-HMAC-SHA256`, use
    /// [`derived_auth_service`](Self::derived_auth_service), which also names the service.
    pub fn signing_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self.key = Arc::default();
        self
    }

    /// Signs with derived AK/SK (`V11-HMAC-SHA256`) for `service`, in the region of each
    /// call: the official SDKs' `derived_auth_service_name`, for services and regions that
    /// require it.
    pub fn derived_auth_service(mut self, service: impl Into<String>) -> Self {
        self.algorithm = Algorithm::V11HmacSha256;
        self.derived_service = Some(service.into());
        self.key = Arc::default();
        self
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Uses `clock` for `X-Sdk-Date` and expiry checks (tests).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Signs `request` with `credentials` for a call in `project_id` (with no region:
    /// `V11-HMAC-SHA256` needs [`sign_in`](Self::sign_in)).
    pub fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        credentials: &Credentials,
        project_id: &str,
    ) -> Result<(), AuthError> {
        self.sign_in(request, credentials, project_id, "")
    }

    /// Signs `request` with `credentials` for a call in `project_id` and `region`.
    pub fn sign_in(
        &self,
        request: &mut http::Request<Bytes>,
        credentials: &Credentials,
        project_id: &str,
        region: &str,
    ) -> Result<(), AuthError> {
        let key = self.signing_key(credentials, region)?;
        let now = self.clock.now();
        if credentials.expires_at().is_some_and(|expires_at| expires_at <= now) {
            return Err(AuthError::expired(format!(
                "the temporary credentials of access key {} have expired",
                credentials.access_key()
            )));
        }
        let sdk_date = fgs_signing::format_sdk_date(now);
        // Copied straight into a header value, only when the request has no `Host` yet.
        let host = match request.uri().authority() {
            Some(authority) if !request.headers().contains_key(HOST) => Some(header_value(authority.as_str(), "Host")?),
            _ => None,
        };
        let wants_unsigned = {
            let content_type = request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
            fgs_signing::wants_unsigned_payload(content_type)
        };
        let headers = request.headers_mut();
        headers.insert(fgs_signing::SDK_DATE, header_value(&sdk_date, "X-Sdk-Date")?);
        if let Some(host) = host {
            headers.insert(HOST, host);
        }
        headers.insert(fgs_signing::PROJECT_ID, header_value(project_id, "X-Project-Id")?);
        match credentials.security_token() {
            Some(token) => {
                let mut value = header_value(token.expose(), "the security token")?;
                value.set_sensitive(true);
                headers.insert(fgs_signing::SECURITY_TOKEN, value);
            }
            None => {
                headers.remove(fgs_signing::SECURITY_TOKEN);
            }
        }
        if wants_unsigned {
            headers.insert(
                self.algorithm.content_header(),
                HeaderValue::from_static(fgs_signing::UNSIGNED_PAYLOAD),
            );
        }
        let authorization = key
            .authorization(
                request.method(),
                request.uri(),
                request.headers(),
                request.body(),
                &sdk_date,
            )
            .map_err(|e| AuthError::invalid(format!("cannot sign the request: {e}")))?;
        let mut authorization = header_value(&authorization, "Authorization")?;
        authorization.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, authorization);
        Ok(())
    }
}

impl AkSkAuth {
    /// The key for `credentials` (and `region`, for `V11-HMAC-SHA256`), made once per
    /// credentials and kept until they change.
    fn signing_key(&self, credentials: &Credentials, region: &str) -> Result<Arc<SigningKey>, AuthError> {
        let scoped_region = if self.algorithm.needs_scope() { region } else { "" };
        if let Ok(cached) = self.key.lock() {
            if let Some(cached) = cached.as_ref() {
                if cached.region == scoped_region && cached.credentials.same_keys(credentials) {
                    return Ok(Arc::clone(&cached.key));
                }
            }
        }
        let mut key = SigningKey::new(
            self.algorithm,
            credentials.access_key(),
            credentials.secret_key().expose().as_bytes(),
        )
        .map_err(|e| AuthError::invalid(format!("cannot sign with access key {}: {e}", credentials.access_key())))?;
        if self.algorithm.needs_scope() {
            let service = self.derived_service.as_deref().unwrap_or_default();
            let scope = Scope::new(region, service).map_err(|e| {
                AuthError::invalid(format!("{} needs a region and a service: {e}", self.algorithm.name()))
            })?;
            key = key.with_scope(scope);
        }
        let key = Arc::new(key);
        if let Ok(mut cached) = self.key.lock() {
            *cached = Some(CachedKey {
                credentials: credentials.clone(),
                region: scoped_region.to_owned(),
                key: Arc::clone(&key),
            });
        }
        Ok(key)
    }
}

/// The message names the header, never its value (which may be secret).
fn header_value(value: &str, what: &str) -> Result<HeaderValue, AuthError> {
    HeaderValue::from_str(value)
        .map_err(|_| AuthError::invalid(format!("{what} holds characters a header cannot carry")))
}

#[async_trait]
impl Auth for AkSkAuth {
    async fn authenticate(
        &self,
        request: &mut http::Request<Bytes>,
        context: &AuthContext<'_>,
    ) -> Result<(), AuthError> {
        let credentials = self.provider.provide_credentials().await?;
        self.sign_in(request, &credentials, context.project_id, context.region)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::auth::ManualClock;

    fn request(uri: &str, content_type: &str, body: &'static [u8]) -> http::Request<Bytes> {
        let mut request = http::Request::new(Bytes::from_static(body));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = uri.parse().unwrap();
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        request
    }

    const AK: &str = "AKEXAMPLE1234567890";
    const SK: &str = "SKEXAMPLEabcdefghijklmnopqrstuvwxyz0123";
    const PROJECT: &str = "0123456789abcdef0123456789abcdef";
    const URN_PATH: &str = "/v2/0123456789abcdef0123456789abcdef/fgs/functions/urn%3Afss%3Acn-north-4%3A0123456789abcdef0123456789abcdef%3Afunction%3Adefault%3Ahello%3Alatest/invocations";

    fn clock_2024() -> ManualClock {
        // 2024-01-01T12:00:00Z, the time of the official signer's vectors.
        ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_704_110_400))
    }

    /// The primary vector of the official Python signer, through the Auth path.
    #[test]
    fn signs_like_the_official_python_signer() {
        let auth = AkSkAuth::new(Credentials::new(AK, SK)).with_clock(clock_2024());
        let mut request = request(
            &format!("https://functiongraph.cn-north-4.myhuaweicloud.com{URN_PATH}"),
            "application/json",
            br#"{"k": "v"}"#,
        );
        let headers = request.headers_mut();
        headers.insert("x-cff-log-type", HeaderValue::from_static("tail"));
        headers.insert("x-cff-request-version", HeaderValue::from_static("v1"));
        auth.sign(&mut request, &Credentials::new(AK, SK), PROJECT).unwrap();
        assert_eq!(
            request.headers()[AUTHORIZATION],
            "SDK-HMAC-SHA256 Access=AKEXAMPLE1234567890, SignedHeaders=content-type;host;x-cff-log-type;x-cff-request-version;x-project-id;x-sdk-date, Signature=db985453ff587ac234c53a3e95c78774747c6f6b546bc7d0daa441cd97a25351"
        );
        assert!(request.headers()[AUTHORIZATION].is_sensitive());
        assert_eq!(request.headers()["x-sdk-date"], "20240101T120000Z");
        assert_eq!(request.headers()["x-project-id"], PROJECT);
    }

    #[test]
    fn temporary_credentials_sign_the_security_token() {
        let credentials = Credentials::temporary(AK, SK, "EXAMPLE-SECURITY-TOKEN", None);
        let auth = AkSkAuth::new(credentials.clone()).with_clock(clock_2024());
        let mut request = request(
            &format!("https://functiongraph.cn-north-4.myhuaweicloud.com{URN_PATH}"),
            "application/json",
            b"{}",
        );
        auth.sign(&mut request, &credentials, PROJECT).unwrap();
        let authorization = request.headers()[AUTHORIZATION].to_str().unwrap();
        assert!(authorization.contains("x-security-token"), "{authorization}");
        assert!(request.headers()["x-security-token"].is_sensitive());
    }

    #[test]
    fn non_json_bodies_are_unsigned_payloads() {
        let auth = AkSkAuth::new(Credentials::new(AK, SK)).with_clock(clock_2024());
        let mut request = request("https://example.com/upload", "application/octet-stream", b"\x00\x01");
        auth.sign(&mut request, &Credentials::new(AK, SK), PROJECT).unwrap();
        assert_eq!(request.headers()["x-sdk-content-sha256"], "UNSIGNED-PAYLOAD");
        let authorization = request.headers()[AUTHORIZATION].to_str().unwrap();
        assert!(authorization.contains("x-sdk-content-sha256"), "{authorization}");
    }

    /// Every algorithm signs through the Auth path in a form the verifier (made from the
    /// same AK/SK, as a server makes it) accepts; SM3 marks unsigned bodies with its header.
    #[tokio::test]
    async fn every_algorithm_signs_what_its_verifier_accepts() {
        use fgs_signing::{Authorization, VerifyInput, verify_with};

        let operation = <crate::generated::operations::InvokeFunction as crate::protocol::Operation>::INFO;
        let context = AuthContext::new(&operation, PROJECT, "cn-north-4");
        for algorithm in Algorithm::ALL {
            let auth = match algorithm {
                Algorithm::V11HmacSha256 => {
                    AkSkAuth::new(Credentials::new(AK, SK)).derived_auth_service("functiongraph")
                }
                other => AkSkAuth::new(Credentials::new(AK, SK)).signing_algorithm(other),
            }
            .with_clock(clock_2024());
            assert_eq!(auth.algorithm(), algorithm);
            for (content_type, body) in [
                ("application/json", &b"{\"k\":1}"[..]),
                ("application/octet-stream", b"\x00"),
            ] {
                let mut request = request(
                    &format!("https://functiongraph.cn-north-4.myhuaweicloud.com{URN_PATH}"),
                    content_type,
                    body,
                );
                *request.body_mut() = Bytes::copy_from_slice(body);
                auth.authenticate(&mut request, &context).await.unwrap();
                let header = request.headers()[AUTHORIZATION].to_str().unwrap().to_owned();
                assert!(header.starts_with(algorithm.name()), "{header}");
                if content_type != "application/json" {
                    assert_eq!(
                        request.headers()[algorithm.content_header()],
                        "UNSIGNED-PAYLOAD",
                        "{algorithm:?}"
                    );
                }
                let authorization = Authorization::parse(&header).unwrap();
                let mut server = SigningKey::new(algorithm, AK, SK.as_bytes()).unwrap();
                if algorithm.needs_scope() {
                    server = server.with_scope(Scope::new("cn-north-4", "functiongraph").unwrap());
                }
                let input = VerifyInput {
                    method: request.method(),
                    uri: request.uri(),
                    headers: request.headers(),
                    body: request.body(),
                    authorization: &authorization,
                };
                verify_with(&input, &server, clock_2024().now()).unwrap_or_else(|e| panic!("{algorithm:?}: {e}"));
            }
        }
    }

    #[test]
    fn the_key_is_made_once_per_credentials() {
        let auth = AkSkAuth::new(Credentials::new(AK, SK)).signing_algorithm(Algorithm::EcdsaP256Sha256);
        let first = auth.signing_key(&Credentials::new(AK, SK), "").unwrap();
        let again = auth.signing_key(&Credentials::new(AK, SK), "").unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let rotated = auth.signing_key(&Credentials::new(AK, "another-secret"), "").unwrap();
        assert!(!Arc::ptr_eq(&first, &rotated), "new credentials, new key");
        // V11 without a region (the plain `sign`) is a clear error, not a bad signature.
        let v11 = AkSkAuth::new(Credentials::new(AK, SK)).derived_auth_service("functiongraph");
        let mut request = request("https://example.com/x", "application/json", b"{}");
        let error = v11.sign(&mut request, &Credentials::new(AK, SK), PROJECT).unwrap_err();
        assert!(error.to_string().contains("V11-HMAC-SHA256"), "{error}");
        assert!(!format!("{auth:?}").contains(SK));
    }

    #[test]
    fn expired_temporary_credentials_send_nothing() {
        let clock = clock_2024();
        let credentials = Credentials::temporary(AK, SK, "token", Some(clock.now() - Duration::from_secs(1)));
        let auth = AkSkAuth::new(credentials.clone()).with_clock(clock);
        let mut request = request("https://example.com/x", "application/json", b"{}");
        let err = auth.sign(&mut request, &credentials, PROJECT).unwrap_err();
        assert_eq!(err.kind(), crate::auth::AuthErrorKind::Expired);
        assert!(!request.headers().contains_key(AUTHORIZATION));
    }

    #[test]
    fn secrets_never_print() {
        let credentials = Credentials::temporary(AK, SK, "the-security-token", None);
        let text = format!("{credentials:?} {:?}", AkSkAuth::new(credentials.clone()));
        assert!(!text.contains(SK) && !text.contains("the-security-token"), "{text}");
        assert!(text.contains(AK));
    }
}
