//! Temporary credentials of an agency assumed with an OIDC ID token through STS
//! (`AssumeAgencyWithOIDC`), as the official SDKs' `OidcStsCredentialProvider` gets them.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::Uri;
use serde_json::{Value, json};

use crate::auth::clock::Clock;
use crate::auth::credentials::{Credentials, ProvideCredentials};
use crate::auth::environment::{Lookup, non_empty, process_environment};
use crate::auth::temporary::{
    ConfigProblem, MAX_ANSWER_BYTES, Renewing, join, json_post, parse_credential, read_token_file, secret_json, send,
    service_endpoint, service_message,
};
use crate::auth::{AuthError, Secret};
use crate::config;
use crate::transport::Transport;

/// STS's path of `AssumeAgencyWithOIDC`.
const ASSUME_WITH_OIDC_PATH: &str = "/v5/agencies/assume-with-oidc";

/// Where the ID token comes from.
#[derive(Clone)]
enum IdToken {
    /// Given as a value.
    Value(Secret),
    /// Read from this file at every fetch (Kubernetes rotates projected tokens).
    File(PathBuf),
}

/// What STS is asked.
#[derive(Clone)]
struct Settings {
    /// A required URN variable that is not set, reported before anything else.
    problem: Option<ConfigProblem>,
    endpoint: Result<Uri, ConfigProblem>,
    provider_urn: String,
    agency_urn: String,
    id_token: Result<IdToken, ConfigProblem>,
    session_name: String,
    duration: Result<Duration, ConfigProblem>,
    policy: Option<String>,
    policy_ids: Vec<String>,
}

/// Temporary credentials of an agency assumed with an OpenID Connect ID token, from STS's
/// `AssumeAgencyWithOIDC`, as Huawei's official SDKs get them (their
/// `OidcStsCredentialProvider`, first in their credential chain): for workloads with an
/// identity from an OIDC provider (a Kubernetes service account, a CI system).
///
/// `POST {sts}/v5/agencies/assume-with-oidc` with `{"provider_urn", "agency_urn",
/// "agency_session_name", "id_token", "duration_seconds"[, "policy"][, "policy_ids"]}`;
/// the answer's credentials (`credentials.access_key_id`, ... or the other names the
/// official SDKs accept) become temporary AK/SK with a security token.
///
/// From the environment ([`from_env`](Self::from_env)):
///
/// | variable | meaning |
/// |---|---|
/// | `HUAWEICLOUD_OIDC_PROVIDER_URN` | URN of the identity provider (required) |
/// | `HUAWEICLOUD_OIDC_AGENCY_URN` | URN of the agency to assume (required) |
/// | `HUAWEICLOUD_OIDC_ID_TOKEN` | the ID token itself, or: |
/// | `HUAWEICLOUD_OIDC_TOKEN_FILE` | a file holding it, read again at every renewal |
/// | `HUAWEICLOUD_OIDC_SESSION_NAME` | session name (default `oidc-sts-session`) |
/// | `HUAWEICLOUD_OIDC_DURATION_SECONDS` | lifetime asked for (default 3600) |
/// | `HUAWEICLOUD_OIDC_POLICY` | a JSON policy narrowing the agency's permissions |
/// | `HUAWEICLOUD_OIDC_POLICY_IDS` | comma-separated ids of policies narrowing them |
/// | `HUAWEICLOUD_SDK_STS_ENDPOINT` | STS (default `https://sts.cn-north-4.myhuaweicloud.com`) |
///
/// Renewal is that of every temporary source: credentials are fetched again the refresh
/// window (10 minutes, [`with_refresh_window`](Self::with_refresh_window)) before they
/// expire, in the background, so no caller holding valid credentials waits; callers
/// without valid ones share one fetch; a failed fetch is retried after a backoff (5 s
/// doubling up to 5 min). Each request is limited to 10 s
/// ([`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT)), its answer to 64 KiB, the token file to
/// 64 KiB. A setting that cannot be used (a missing variable, a duration that is not a
/// number, an endpoint in plain `http` off loopback) is reported at first use, before
/// anything is sent. The ID token never appears in `Debug`, `Display` or an error.
///
/// ```no_run
/// use fgs_core::auth::{AkSkAuth, OidcStsCredentials};
///
/// # fn demo() -> Result<(), fgs_core::Error> {
/// let oidc = OidcStsCredentials::new(
///     "iam::0123456789:identity-provider:my-oidc",
///     "iam::0123456789:agency:my-agency",
/// )
/// .with_id_token_file("/var/run/secrets/tokens/oidc-token");
/// let client = fgs_core::Client::builder()
///     .region("cn-north-4")
///     .auth(AkSkAuth::new(oidc))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OidcStsCredentials {
    settings: Arc<Settings>,
    renewing: Renewing,
}

impl fmt::Debug for OidcStsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let settings = &self.settings;
        let id_token = match &settings.id_token {
            Ok(IdToken::Value(_)) => "<redacted>".to_owned(),
            Ok(IdToken::File(path)) => format!("file {}", path.display()),
            Err(_) => "(none)".to_owned(),
        };
        f.debug_struct("OidcStsCredentials")
            .field("endpoint", &settings.endpoint.as_ref().ok())
            .field("provider_urn", &settings.provider_urn)
            .field("agency_urn", &settings.agency_urn)
            .field("id_token", &format_args!("{id_token}"))
            .field("session_name", &settings.session_name)
            .field("duration", &settings.duration.as_ref().ok())
            .field("refresh_window", &self.renewing.refresh_window())
            .finish_non_exhaustive()
    }
}

impl OidcStsCredentials {
    /// STS of the official SDKs when `HUAWEICLOUD_SDK_STS_ENDPOINT` is unset.
    pub const DEFAULT_ENDPOINT: &'static str = "https://sts.cn-north-4.myhuaweicloud.com";
    /// The session name when none is given.
    pub const DEFAULT_SESSION_NAME: &'static str = "oidc-sts-session";
    /// The lifetime asked for when none is given: 1 hour.
    pub const DEFAULT_DURATION: Duration = Duration::from_secs(3600);
    /// Limit of each request to STS: 10 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// The largest answer read from STS: 64 KiB.
    pub const MAX_RESPONSE_BYTES: u64 = MAX_ANSWER_BYTES;

    /// The agency `agency_urn`, assumed through the identity provider `provider_urn`, from
    /// [`DEFAULT_ENDPOINT`](Self::DEFAULT_ENDPOINT). Give the ID token with
    /// [`with_id_token`](Self::with_id_token) or [`with_id_token_file`](Self::with_id_token_file).
    pub fn new(provider_urn: impl Into<String>, agency_urn: impl Into<String>) -> Self {
        Self::from_settings(Settings {
            problem: None,
            endpoint: service_endpoint(Self::DEFAULT_ENDPOINT, "STS endpoint"),
            provider_urn: provider_urn.into(),
            agency_urn: agency_urn.into(),
            id_token: Err(ConfigProblem::missing(
                "no OIDC ID token: call with_id_token or with_id_token_file",
            )),
            session_name: Self::DEFAULT_SESSION_NAME.to_owned(),
            duration: Ok(Self::DEFAULT_DURATION),
            policy: None,
            policy_ids: Vec::new(),
        })
    }

    fn from_settings(settings: Settings) -> Self {
        OidcStsCredentials {
            settings: Arc::new(settings),
            renewing: Renewing::new("OIDC agency credentials", Self::DEFAULT_TIMEOUT),
        }
    }

    /// From the process environment (see the table above).
    pub fn from_env() -> Self {
        Self::from_shared_lookup(&process_environment())
    }

    /// From variables read through `lookup` (`None`: unset) instead of the process
    /// environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        let lookup: Lookup = Arc::new(lookup);
        Self::from_shared_lookup(&lookup)
    }

    /// Whether the variables ask for this source: the provider or the agency URN is set.
    pub(crate) fn configured(lookup: &Lookup) -> bool {
        non_empty(lookup, config::OIDC_PROVIDER_URN).is_some() || non_empty(lookup, config::OIDC_AGENCY_URN).is_some()
    }

    pub(crate) fn from_shared_lookup(lookup: &Lookup) -> Self {
        let var = |name: &str| non_empty(lookup, name);
        let required = |name: &str| var(name).ok_or_else(|| ConfigProblem::missing(format!("{name} is not set")));
        let provider_urn = required(config::OIDC_PROVIDER_URN);
        let agency_urn = required(config::OIDC_AGENCY_URN);
        let id_token = match (var(config::OIDC_ID_TOKEN), var(config::OIDC_TOKEN_FILE)) {
            (Some(token), _) => Ok(IdToken::Value(Secret::new(token))),
            (None, Some(file)) => Ok(IdToken::File(PathBuf::from(file))),
            (None, None) => Err(ConfigProblem::missing(format!(
                "neither {} nor {} is set",
                config::OIDC_ID_TOKEN,
                config::OIDC_TOKEN_FILE
            ))),
        };
        let duration = match var(config::OIDC_DURATION_SECONDS) {
            None => Ok(Self::DEFAULT_DURATION),
            Some(text) => text.parse::<u64>().map(Duration::from_secs).map_err(|_| {
                ConfigProblem::invalid(format!(
                    "{} is {}, which is not a whole number of seconds",
                    config::OIDC_DURATION_SECONDS,
                    crate::protocol::quoted_prefix(&text)
                ))
            }),
        };
        let endpoint = var(config::STS_ENDPOINT).unwrap_or_else(|| Self::DEFAULT_ENDPOINT.to_owned());
        let endpoint = service_endpoint(&endpoint, config::STS_ENDPOINT);
        // The URNs have no setter to fix them later: their problem is kept on its own (the
        // others are checked where they are kept).
        let first_problem = [provider_urn.as_ref().err(), agency_urn.as_ref().err()]
            .into_iter()
            .flatten()
            .next()
            .cloned();
        let settings = Settings {
            problem: first_problem,
            endpoint,
            provider_urn: provider_urn.unwrap_or_default(),
            agency_urn: agency_urn.unwrap_or_default(),
            id_token,
            session_name: var(config::OIDC_SESSION_NAME).unwrap_or_else(|| Self::DEFAULT_SESSION_NAME.to_owned()),
            duration,
            policy: var(config::OIDC_POLICY),
            policy_ids: var(config::OIDC_POLICY_IDS)
                .map(|ids| {
                    ids.split(',')
                        .map(str::trim)
                        .filter(|id| !id.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        };
        Self::from_settings(settings)
    }

    fn with(mut self, change: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = (*self.settings).clone();
        change(&mut settings);
        self.settings = Arc::new(settings);
        self.renewing = self
            .renewing
            .clone()
            .with_refresh_window(self.renewing.refresh_window());
        self
    }

    /// The ID token itself.
    pub fn with_id_token(self, token: impl Into<Secret>) -> Self {
        let token = token.into();
        self.with(|s| s.id_token = Ok(IdToken::Value(token)))
    }

    /// A file holding the ID token, read again at every fetch (at most 64 KiB, trimmed,
    /// not empty).
    pub fn with_id_token_file(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.with(|s| s.id_token = Ok(IdToken::File(path)))
    }

    /// STS's base URL (`https`, or `http` on loopback such as a local emulator).
    pub fn with_endpoint(self, url: impl AsRef<str>) -> Self {
        let endpoint = service_endpoint(url.as_ref(), "STS endpoint");
        self.with(|s| s.endpoint = endpoint)
    }

    /// The session name (default [`DEFAULT_SESSION_NAME`](Self::DEFAULT_SESSION_NAME)).
    pub fn with_session_name(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.with(|s| s.session_name = name)
    }

    /// The lifetime asked for (default [`DEFAULT_DURATION`](Self::DEFAULT_DURATION)),
    /// sent in whole seconds.
    pub fn with_duration(self, duration: Duration) -> Self {
        self.with(|s| s.duration = Ok(duration))
    }

    /// A JSON policy that narrows the agency's permissions.
    pub fn with_policy(self, policy: impl Into<String>) -> Self {
        let policy = policy.into();
        self.with(|s| s.policy = Some(policy))
    }

    /// Ids of policies that narrow the agency's permissions.
    pub fn with_policy_ids(self, ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let ids = ids.into_iter().map(Into::into).collect();
        self.with(|s| s.policy_ids = ids)
    }

    /// Sends the STS requests with `transport` (each with the timeout as its
    /// [`SendOptions::timeout`](crate::transport::SendOptions)).
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
    /// minutes); credentials with less time left than that are renewed halfway to expiry.
    pub fn with_refresh_window(mut self, window: Duration) -> Self {
        self.renewing = self.renewing.with_refresh_window(window);
        self
    }

    /// Limit of each request (default [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT)).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.renewing = self.renewing.with_timeout(timeout);
        self
    }

    /// The request body, with the ID token (read from its file now if it is in one).
    fn body(settings: &Settings) -> Result<Vec<u8>, AuthError> {
        let id_token = match &settings.id_token {
            Ok(IdToken::Value(token)) => token.clone(),
            Ok(IdToken::File(path)) => read_token_file(path, "the OIDC ID token file")?,
            Err(problem) => return Err(problem.error()),
        };
        let duration = settings.duration.as_ref().map_err(ConfigProblem::error)?;
        let mut body = json!({
            "provider_urn": settings.provider_urn,
            "agency_urn": settings.agency_urn,
            "agency_session_name": settings.session_name,
            "id_token": id_token.expose(),
            "duration_seconds": duration.as_secs(),
        });
        if let Some(policy) = &settings.policy {
            body["policy"] = Value::String(policy.clone());
        }
        if !settings.policy_ids.is_empty() {
            body["policy_ids"] = json!(settings.policy_ids);
        }
        Ok(secret_json(body))
    }
}

#[async_trait]
impl ProvideCredentials for OidcStsCredentials {
    async fn provide_credentials(&self) -> Result<Credentials, AuthError> {
        let settings = Arc::clone(&self.settings);
        if let Some(problem) = &settings.problem {
            return Err(problem.error());
        }
        let endpoint = settings.endpoint.clone().map_err(|problem| problem.error())?;
        if let Some(problem) = [settings.id_token.as_ref().err(), settings.duration.as_ref().err()]
            .into_iter()
            .flatten()
            .next()
        {
            return Err(problem.error());
        }
        self.renewing
            .get(move |transport, timeout| {
                Box::pin(async move {
                    let service = format!("STS at {endpoint}");
                    let request = json_post(join(&endpoint, ASSUME_WITH_OIDC_PATH)?, Self::body(&settings)?);
                    let response = send(&transport, request, &service, timeout, MAX_ANSWER_BYTES).await?;
                    if !response.status().is_success() {
                        return Err(AuthError::provider(format!(
                            "{service} refused to assume the agency with the OIDC token: HTTP {}: {}",
                            response.status().as_u16(),
                            service_message(response.body())
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
    use std::collections::HashMap;

    use super::*;
    use crate::auth::AuthErrorKind;

    fn from(vars: &[(&str, &str)]) -> OidcStsCredentials {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        OidcStsCredentials::from_lookup(move |name| vars.get(name).cloned())
    }

    #[tokio::test]
    async fn missing_settings_are_reported_before_sending() {
        let err = from(&[]).provide_credentials().await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Missing);
        assert_eq!(err.to_string(), "HUAWEICLOUD_OIDC_PROVIDER_URN is not set");
        let err = from(&[])
            .with_endpoint("http://127.0.0.1:1")
            .with_id_token("t")
            .provide_credentials()
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "HUAWEICLOUD_OIDC_PROVIDER_URN is not set",
            "later settings do not hide it"
        );
        let err = from(&[
            ("HUAWEICLOUD_OIDC_PROVIDER_URN", "p"),
            ("HUAWEICLOUD_OIDC_AGENCY_URN", "a"),
        ])
        .provide_credentials()
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "neither HUAWEICLOUD_OIDC_ID_TOKEN nor HUAWEICLOUD_OIDC_TOKEN_FILE is set"
        );
        let err = from(&[
            ("HUAWEICLOUD_OIDC_PROVIDER_URN", "p"),
            ("HUAWEICLOUD_OIDC_AGENCY_URN", "a"),
            ("HUAWEICLOUD_OIDC_ID_TOKEN", "SECRET-TOKEN"),
            ("HUAWEICLOUD_OIDC_DURATION_SECONDS", "an hour"),
        ])
        .provide_credentials()
        .await
        .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Invalid);
        assert_eq!(
            err.to_string(),
            r#"HUAWEICLOUD_OIDC_DURATION_SECONDS is "an hour", which is not a whole number of seconds"#
        );
        let err = from(&[
            ("HUAWEICLOUD_OIDC_PROVIDER_URN", "p"),
            ("HUAWEICLOUD_OIDC_AGENCY_URN", "a"),
            ("HUAWEICLOUD_OIDC_ID_TOKEN", "SECRET-TOKEN"),
            ("HUAWEICLOUD_SDK_STS_ENDPOINT", "http://sts.example.com"),
        ])
        .provide_credentials()
        .await
        .unwrap_err();
        assert!(err.to_string().starts_with("HUAWEICLOUD_SDK_STS_ENDPOINT: "), "{err}");
    }

    #[test]
    fn the_body_has_what_the_official_sdks_send() {
        let oidc = from(&[
            ("HUAWEICLOUD_OIDC_PROVIDER_URN", "prov"),
            ("HUAWEICLOUD_OIDC_AGENCY_URN", "agency"),
            ("HUAWEICLOUD_OIDC_ID_TOKEN", "tok"),
            ("HUAWEICLOUD_OIDC_POLICY", r#"{"Version":"5.0"}"#),
            ("HUAWEICLOUD_OIDC_POLICY_IDS", " a, ,b "),
        ]);
        let body: Value = serde_json::from_slice(&OidcStsCredentials::body(&oidc.settings).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "provider_urn": "prov", "agency_urn": "agency", "agency_session_name": "oidc-sts-session",
                "id_token": "tok", "duration_seconds": 3600, "policy": "{\"Version\":\"5.0\"}",
                "policy_ids": ["a", "b"],
            })
        );
        let debug = format!("{oidc:?}");
        assert!(!debug.contains("tok\""), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }
}
