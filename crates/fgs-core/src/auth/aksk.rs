//! AK/SK request signing (`SDK-HMAC-SHA256`), as Huawei's SDKs sign.

use std::sync::Arc;

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
/// ```
/// use fgs_core::auth::{AkSkAuth, Credentials};
///
/// let auth = AkSkAuth::new(Credentials::new("AK-EXAMPLE", "SK-EXAMPLE"));
/// assert!(!format!("{auth:?}").contains("SK-EXAMPLE"));
/// ```
#[derive(Debug, Clone)]
pub struct AkSkAuth {
    provider: Arc<dyn ProvideCredentials>,
    clock: Arc<dyn Clock>,
}

impl AkSkAuth {
    /// Signs with credentials from `provider` (a [`Credentials`] value, a
    /// [`CredentialChain`](crate::auth::CredentialChain), or your own).
    pub fn new(provider: impl ProvideCredentials + 'static) -> Self {
        AkSkAuth {
            provider: Arc::new(provider),
            clock: Arc::new(SystemClock),
        }
    }

    /// Signs with credentials from an already shared provider.
    pub fn from_shared(provider: Arc<dyn ProvideCredentials>) -> Self {
        AkSkAuth {
            provider,
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses `clock` for `X-Sdk-Date` and expiry checks (tests).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Signs `request` with `credentials` for a call in `project_id`.
    pub fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        credentials: &Credentials,
        project_id: &str,
    ) -> Result<(), AuthError> {
        let now = self.clock.now();
        if credentials.expires_at().is_some_and(|expires_at| expires_at <= now) {
            return Err(AuthError::expired(format!(
                "the temporary credentials of access key {} have expired",
                credentials.access_key()
            )));
        }
        let sdk_date = fgs_signing::format_sdk_date(now);
        let host = request.uri().authority().map(|a| a.as_str().to_owned());
        let wants_unsigned = {
            let content_type = request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
            fgs_signing::wants_unsigned_payload(content_type)
        };
        let headers = request.headers_mut();
        headers.insert(fgs_signing::SDK_DATE, header_value(&sdk_date, "X-Sdk-Date")?);
        if let Some(host) = host {
            if !headers.contains_key(HOST) {
                headers.insert(HOST, header_value(&host, "Host")?);
            }
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
                fgs_signing::CONTENT_SHA256,
                HeaderValue::from_static(fgs_signing::UNSIGNED_PAYLOAD),
            );
        }
        let signed = fgs_signing::sign(
            request.method(),
            request.uri(),
            request.headers(),
            request.body(),
            credentials.access_key(),
            credentials.secret_key().expose().as_bytes(),
            &sdk_date,
        )
        .map_err(|e| AuthError::invalid(format!("cannot sign the request: {e}")))?;
        let mut authorization = header_value(&signed.authorization, "Authorization")?;
        authorization.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, authorization);
        Ok(())
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
        self.sign(request, &credentials, context.project_id)
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
