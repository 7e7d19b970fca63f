//! Temporary credentials of a CCE pod identity, as the official SDKs'
//! `PodIdentityCredentialProvider` gets them.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::Uri;

use crate::auth::AuthError;
use crate::auth::clock::Clock;
use crate::auth::credentials::{Credentials, ProvideCredentials};
use crate::auth::environment::{Lookup, non_empty, process_environment};
use crate::auth::temporary::{
    ConfigProblem, MAX_ANSWER_BYTES, Renewing, json_post, parse_credential, quote, read_token_file, send,
    sensitive_header,
};
use crate::config;
use crate::transport::Transport;

/// Temporary credentials of the identity of a CCE pod, from the agent the cluster runs for
/// it, as Huawei's official SDKs get them (their `PodIdentityCredentialProvider`, last in
/// their credential chain):
///
/// `POST {HC_CONTAINER_CREDENTIALS_FULL_URI}` with `Authorization: <the contents of
/// HC_CONTAINER_AUTHORIZATION_TOKEN_FILE, trimmed>` and the JSON body `{}`; an answer
/// other than 2xx is an error, a 2xx answer holds the credentials (`credential.access`,
/// ... or the other names the official SDKs accept).
///
/// The URI must be `https`, or plain `http` to a loopback or link-local address (where
/// the cluster's agent listens): the token must not cross a network in clear. The token
/// file is read again at every fetch (the platform rotates it), at most 64 KiB; each
/// request is limited to 5 s ([`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT), as in the
/// official SDKs) and its answer to 64 KiB. Renewal is that of every temporary source
/// (see [`OidcStsCredentials`](crate::auth::OidcStsCredentials)).
///
/// ```no_run
/// use fgs_core::auth::{AkSkAuth, PodIdentityCredentials};
///
/// # fn demo() -> Result<(), fgs_core::Error> {
/// let client = fgs_core::Client::builder()
///     .region("cn-north-4")
///     .auth(AkSkAuth::new(PodIdentityCredentials::from_env()))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PodIdentityCredentials {
    uri: Result<Uri, ConfigProblem>,
    token_file: Result<PathBuf, ConfigProblem>,
    renewing: Renewing,
}

impl fmt::Debug for PodIdentityCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PodIdentityCredentials")
            .field("uri", &self.uri.as_ref().ok())
            .field("token_file", &self.token_file.as_ref().ok())
            .field("refresh_window", &self.renewing.refresh_window())
            .finish_non_exhaustive()
    }
}

impl PodIdentityCredentials {
    /// Limit of each request: 5 seconds, as in the official SDKs.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
    /// The largest answer read: 64 KiB.
    pub const MAX_RESPONSE_BYTES: u64 = MAX_ANSWER_BYTES;

    /// Credentials from `uri`, authorised by the token in `token_file`.
    pub fn new(uri: impl AsRef<str>, token_file: impl Into<PathBuf>) -> Self {
        Self::from_parts(check_uri(uri.as_ref(), "the pod identity URI"), Ok(token_file.into()))
    }

    fn from_parts(uri: Result<Uri, ConfigProblem>, token_file: Result<PathBuf, ConfigProblem>) -> Self {
        PodIdentityCredentials {
            uri,
            token_file,
            renewing: Renewing::new("pod identity credentials", Self::DEFAULT_TIMEOUT),
        }
    }

    /// From `HC_CONTAINER_CREDENTIALS_FULL_URI` and `HC_CONTAINER_AUTHORIZATION_TOKEN_FILE`
    /// of the process environment.
    pub fn from_env() -> Self {
        Self::from_shared_lookup(&process_environment())
    }

    /// From the variables read through `lookup` (`None`: unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        let lookup: Lookup = Arc::new(lookup);
        Self::from_shared_lookup(&lookup)
    }

    /// Whether the variables ask for this source: the URI is set.
    pub(crate) fn configured(lookup: &Lookup) -> bool {
        non_empty(lookup, config::POD_CREDENTIALS_URI).is_some()
    }

    pub(crate) fn from_shared_lookup(lookup: &Lookup) -> Self {
        let uri = match non_empty(lookup, config::POD_CREDENTIALS_URI) {
            Some(uri) => check_uri(&uri, config::POD_CREDENTIALS_URI),
            None => Err(ConfigProblem::missing(format!(
                "{} is not set",
                config::POD_CREDENTIALS_URI
            ))),
        };
        let token_file = non_empty(lookup, config::POD_AUTHORIZATION_TOKEN_FILE)
            .map(PathBuf::from)
            .ok_or_else(|| ConfigProblem::missing(format!("{} is not set", config::POD_AUTHORIZATION_TOKEN_FILE)));
        Self::from_parts(uri, token_file)
    }

    /// Sends the requests with `transport`.
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
}

/// `https`, or `http` to a loopback or link-local host; no user info.
fn check_uri(text: &str, what: &str) -> Result<Uri, ConfigProblem> {
    let text = text.trim();
    let after_scheme = text.split_once("://").map_or(text, |(_, rest)| rest);
    if after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .contains('@')
    {
        return Err(ConfigProblem::invalid(format!(
            "{what} must not hold a user name or password"
        )));
    }
    let uri: Uri = text
        .parse()
        .map_err(|_| ConfigProblem::invalid(format!("{what} {text:?} is not a URL")))?;
    let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
        return Err(ConfigProblem::invalid(format!(
            "{what} {text:?} is not an absolute URL"
        )));
    };
    match scheme {
        "https" => Ok(uri),
        "http" if local(host) => Ok(uri),
        "http" => Err(ConfigProblem::invalid(format!(
            "{what} {text:?} is plain http to a host that is neither loopback nor link-local; use https"
        ))),
        _ => Err(ConfigProblem::invalid(format!(
            "{what} {text:?} is neither http nor https"
        ))),
    }
}

/// Loopback (`localhost`, `127.0.0.0/8`, `::1`) or link-local (`169.254.0.0/16`,
/// `fe80::/10`).
fn local(host: &str) -> bool {
    if crate::endpoint::is_loopback(host) {
        return true;
    }
    match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_link_local(),
        Ok(IpAddr::V6(ip)) => (ip.segments()[0] & 0xffc0) == 0xfe80,
        Err(_) => false,
    }
}

#[async_trait]
impl ProvideCredentials for PodIdentityCredentials {
    async fn provide_credentials(&self) -> Result<Credentials, AuthError> {
        let uri = self.uri.clone().map_err(|problem| problem.error())?;
        let token_file = self.token_file.clone().map_err(|problem| problem.error())?;
        self.renewing
            .get(move |transport, timeout| {
                Box::pin(async move {
                    let token = read_token_file(&token_file, "the pod identity token file")?;
                    let mut request = json_post(uri.clone(), b"{}".to_vec());
                    request.headers_mut().insert(
                        http::header::AUTHORIZATION,
                        sensitive_header(&token, "the pod identity token")?,
                    );
                    let service = format!("the pod identity endpoint {uri}");
                    let response = send(&transport, request, &service, timeout, MAX_ANSWER_BYTES).await?;
                    if !response.status().is_success() {
                        return Err(AuthError::provider(format!(
                            "{service} answered HTTP {}: {}",
                            response.status().as_u16(),
                            quote(response.body())
                        )));
                    }
                    parse_credential(response.body())
                        .map_err(|what| AuthError::provider(format!("the answer of {service} {what}")))
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthErrorKind;

    #[test]
    fn only_https_or_local_http() {
        for ok in [
            "https://pod-identity.example.com/v1/credentials",
            "http://127.0.0.1:8080/c",
            "http://localhost/c",
            "http://169.254.170.2/v1/credentials",
            "http://[fe80::1]/c",
            "http://[::1]:9/c",
        ] {
            assert!(check_uri(ok, "uri").is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1/c",
            "http://pod.example.com/c",
            "ftp://127.0.0.1/c",
            "not a url",
            "/relative",
            "https://user:pw@example.com/c",
        ] {
            let err = check_uri(bad, "uri").unwrap_err().error();
            assert_eq!(err.kind(), AuthErrorKind::Invalid, "{bad}");
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
    }

    #[tokio::test]
    async fn missing_variables_are_named() {
        let err = PodIdentityCredentials::from_lookup(|_| None)
            .provide_credentials()
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "HC_CONTAINER_CREDENTIALS_FULL_URI is not set");
        let err = PodIdentityCredentials::from_lookup(|name| {
            (name == "HC_CONTAINER_CREDENTIALS_FULL_URI").then(|| "http://127.0.0.1:1/c".to_owned())
        })
        .provide_credentials()
        .await
        .unwrap_err();
        assert_eq!(err.to_string(), "HC_CONTAINER_AUTHORIZATION_TOKEN_FILE is not set");
    }
}
