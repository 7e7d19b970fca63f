//! IAM tokens (`X-Auth-Token`) that renew themselves.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use fgs_core::ErrorCode;
use fgs_core::ServiceError;
use fgs_core::auth::{Auth, AuthContext, AuthError, Secret};
use fgs_core::transport::{SendOptions, Transport};
use http::{HeaderValue, Method, Uri};
use serde_json::{Value, json};
use tokio::sync::{Mutex, RwLock};

use crate::clock::{Clock, SystemClock};
use crate::time::parse_iso_utc;

/// How long before expiry a token is renewed (tokens live 24 h).
pub const DEFAULT_REFRESH_WINDOW: Duration = Duration::from_secs(10 * 60);
const IAM_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a token comes from.
#[derive(Clone)]
enum Source {
    /// `password` method, project scope.
    Password {
        domain: String,
        user: String,
        password: Secret,
        scope: Scope,
    },
    /// `assume_role` method: an agency, authorised by the caller's own token.
    AssumeRole {
        caller: IamTokenAuth,
        domain: String,
        agency: String,
        duration: Option<Duration>,
        scope: Scope,
    },
    /// A token issued elsewhere; it cannot be renewed.
    Fixed {
        token: Secret,
        expires_at: Option<SystemTime>,
    },
}

#[derive(Clone, Debug)]
enum Scope {
    ProjectName(String),
    ProjectId(String),
}

impl Scope {
    fn json(&self) -> Value {
        match self {
            Scope::ProjectName(name) => json!({ "project": { "name": name } }),
            Scope::ProjectId(id) => json!({ "project": { "id": id } }),
        }
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Password {
                domain, user, scope, ..
            } => f
                .debug_struct("Password")
                .field("domain", domain)
                .field("user", user)
                .field("password", &"<redacted>")
                .field("scope", scope)
                .finish(),
            Source::AssumeRole {
                domain, agency, scope, ..
            } => f
                .debug_struct("AssumeRole")
                .field("domain", domain)
                .field("agency", agency)
                .field("scope", scope)
                .finish(),
            Source::Fixed { .. } => f.write_str("Fixed(<redacted>)"),
        }
    }
}

/// A cached token and when to renew it.
struct Cached {
    header: HeaderValue,
    expires_at: SystemTime,
    refresh_at: SystemTime,
}

struct Inner {
    source: Source,
    endpoint: Option<Uri>,
    transport: Option<Arc<dyn Transport>>,
    clock: Arc<dyn Clock>,
    refresh_window: Duration,
    cache: RwLock<Option<Cached>>,
    /// Held by the one caller that renews, so that concurrent callers share one request.
    refreshing: Mutex<()>,
}

/// An IAM token sent as `X-Auth-Token`, obtained from `POST {iam}/v3/auth/tokens` and
/// cached.
///
/// The token is renewed ahead of expiry (by [`DEFAULT_REFRESH_WINDOW`] plus a random part
/// of it, so that many clients do not renew at the same moment); concurrent callers wait
/// for one renewal; if renewing fails while the cached token is still valid, the cached
/// token keeps being used; and when FunctionGraph answers 401 `APIGW.0307` (the token must
/// be updated) the token is dropped and the request sent once more with a new one.
///
/// ```no_run
/// use fgs_auth::IamTokenAuth;
///
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = IamTokenAuth::builder()
///     .region("cn-north-4")
///     .password("my-account", "my-iam-user", std::env::var("IAM_PASSWORD")?)
///     .project_name("cn-north-4")
///     .build()?;
/// let client = fgs_core::Client::builder().region("cn-north-4").auth(auth).build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct IamTokenAuth {
    inner: Arc<Inner>,
}

impl fmt::Debug for IamTokenAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IamTokenAuth")
            .field("source", &self.inner.source)
            .field("endpoint", &self.inner.endpoint)
            .field("refresh_window", &self.inner.refresh_window)
            .finish_non_exhaustive()
    }
}

/// Builds an [`IamTokenAuth`].
#[derive(Default)]
#[must_use]
pub struct IamTokenAuthBuilder {
    endpoint: Option<String>,
    region: Option<String>,
    password: Option<(String, String, Secret)>,
    assume_role: Option<(IamTokenAuth, String, String, Option<Duration>)>,
    scope: Option<Scope>,
    transport: Option<Arc<dyn Transport>>,
    clock: Option<Arc<dyn Clock>>,
    refresh_window: Option<Duration>,
    allow_insecure_http: bool,
}

impl fmt::Debug for IamTokenAuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IamTokenAuthBuilder")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl IamTokenAuthBuilder {
    /// The IAM endpoint, e.g. `https://iam.myhuaweicloud.com` (or a local emulator).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The regional IAM endpoint `https://iam.{region}.myhuaweicloud.com`, unless
    /// [`endpoint`](Self::endpoint) is set.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The `password` method: account (domain) name, IAM user name and password.
    pub fn password(mut self, domain: impl Into<String>, user: impl Into<String>, password: impl Into<Secret>) -> Self {
        self.password = Some((domain.into(), user.into(), password.into()));
        self
    }

    /// The `assume_role` method: a token for `agency` of account `domain`, authorised by
    /// `caller`'s token.
    pub fn assume_role(mut self, caller: IamTokenAuth, domain: impl Into<String>, agency: impl Into<String>) -> Self {
        self.assume_role = Some((caller, domain.into(), agency.into(), None));
        self
    }

    /// How long an `assume_role` token lives (IAM's `duration_seconds`).
    pub fn assume_role_duration(mut self, duration: Duration) -> Self {
        if let Some(role) = &mut self.assume_role {
            role.3 = Some(duration);
        }
        self
    }

    /// Scope the token to the project with this name (usually the region id).
    pub fn project_name(mut self, name: impl Into<String>) -> Self {
        self.scope = Some(Scope::ProjectName(name.into()));
        self
    }

    /// Scope the token to the project with this id.
    pub fn project_id(mut self, id: impl Into<String>) -> Self {
        self.scope = Some(Scope::ProjectId(id.into()));
        self
    }

    /// The HTTP stack for IAM requests (default: reqwest, with feature `reqwest`).
    pub fn transport(mut self, transport: impl Transport + 'static) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// The clock that decides when to renew (tests).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Renew this long before expiry (default [`DEFAULT_REFRESH_WINDOW`]).
    pub fn refresh_window(mut self, window: Duration) -> Self {
        self.refresh_window = Some(window);
        self
    }

    /// Allows plain `http` to an IAM endpoint that is not loopback.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Checks the settings.
    pub fn build(self) -> Result<IamTokenAuth, AuthError> {
        let scope = self
            .scope
            .or_else(|| self.region.clone().map(Scope::ProjectName))
            .ok_or_else(|| {
                AuthError::invalid("set project_name or project_id: FunctionGraph needs a project-scoped token")
            })?;
        let source = match (self.password, self.assume_role) {
            (Some((domain, user, password)), None) => Source::Password {
                domain,
                user,
                password,
                scope,
            },
            (None, Some((caller, domain, agency, duration))) => Source::AssumeRole {
                caller,
                domain,
                agency,
                duration,
                scope,
            },
            (Some(_), Some(_)) => return Err(AuthError::invalid("choose one of password and assume_role")),
            (None, None) => {
                return Err(AuthError::missing(
                    "no IAM credentials: call password(...) or assume_role(...)",
                ));
            }
        };
        let url = match (self.endpoint, &self.region) {
            (Some(url), _) => url,
            (None, Some(region)) => format!("https://iam.{region}.myhuaweicloud.com"),
            (None, None) => return Err(AuthError::invalid("set the IAM endpoint or the region")),
        };
        let endpoint = check_endpoint(&url, self.allow_insecure_http)?;
        let transport = match self.transport {
            Some(transport) => transport,
            None => default_transport()?,
        };
        Ok(IamTokenAuth::from_parts(
            source,
            Some(endpoint),
            Some(transport),
            self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            self.refresh_window.unwrap_or(DEFAULT_REFRESH_WINDOW),
        ))
    }
}

fn check_endpoint(url: &str, allow_insecure_http: bool) -> Result<Uri, AuthError> {
    let uri: Uri = url
        .parse()
        .map_err(|_| AuthError::invalid(format!("IAM endpoint {url:?} is not a URL")))?;
    let host = uri
        .host()
        .ok_or_else(|| AuthError::invalid(format!("IAM endpoint {url:?} has no host")))?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") => {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if loopback || allow_insecure_http {
                Ok(uri)
            } else {
                Err(AuthError::invalid(format!(
                    "IAM endpoint {url:?} uses plain http to a host that is not loopback, which would send the password unencrypted"
                )))
            }
        }
        _ => Err(AuthError::invalid(format!(
            "IAM endpoint {url:?} must use http or https"
        ))),
    }
}

#[cfg(feature = "reqwest")]
fn default_transport() -> Result<Arc<dyn Transport>, AuthError> {
    let transport = fgs_core::transport::ReqwestTransport::new(Duration::from_secs(10))
        .map_err(|e| AuthError::provider("cannot create the HTTP client for IAM").with_source(e))?;
    Ok(Arc::new(transport))
}

#[cfg(not(feature = "reqwest"))]
fn default_transport() -> Result<Arc<dyn Transport>, AuthError> {
    Err(AuthError::invalid(
        "no transport for IAM: enable the `reqwest` feature or call transport(...)",
    ))
}

impl IamTokenAuth {
    /// Starts building a renewing token source.
    pub fn builder() -> IamTokenAuthBuilder {
        IamTokenAuthBuilder::default()
    }

    /// A token issued elsewhere. It is never renewed: when it expires, calls fail with an
    /// expired-credentials error.
    pub fn from_token(token: impl Into<Secret>, expires_at: Option<SystemTime>) -> Self {
        Self::from_parts(
            Source::Fixed {
                token: token.into(),
                expires_at,
            },
            None,
            None,
            Arc::new(SystemClock),
            DEFAULT_REFRESH_WINDOW,
        )
    }

    fn from_parts(
        source: Source,
        endpoint: Option<Uri>,
        transport: Option<Arc<dyn Transport>>,
        clock: Arc<dyn Clock>,
        refresh_window: Duration,
    ) -> Self {
        IamTokenAuth {
            inner: Arc::new(Inner {
                source,
                endpoint,
                transport,
                clock,
                refresh_window,
                cache: RwLock::new(None),
                refreshing: Mutex::new(()),
            }),
        }
    }

    /// The current token as a header value, renewing it first if it is due.
    pub async fn token(&self) -> Result<HeaderValue, AuthError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        if let Some(cached) = &*inner.cache.read().await {
            if now < cached.refresh_at {
                return Ok(cached.header.clone());
            }
        }
        // One caller renews; the others wait here and then find the fresh token.
        let _renewing = inner.refreshing.lock().await;
        let now = inner.clock.now();
        if let Some(cached) = &*inner.cache.read().await {
            if now < cached.refresh_at {
                return Ok(cached.header.clone());
            }
        }
        match self.fetch().await {
            Ok((header, expires_at)) => {
                let refresh_at = self.refresh_time(now, expires_at);
                *inner.cache.write().await = Some(Cached {
                    header: header.clone(),
                    expires_at,
                    refresh_at,
                });
                Ok(header)
            }
            Err(error) => match &*inner.cache.read().await {
                // Renewal is early on purpose; a failure only matters once the token is gone.
                Some(cached) if now < cached.expires_at => Ok(cached.header.clone()),
                _ => Err(error),
            },
        }
    }

    /// Renew at `expires_at - window - jitter`, jitter being up to half the window.
    fn refresh_time(&self, now: SystemTime, expires_at: SystemTime) -> SystemTime {
        let window = self.inner.refresh_window;
        let jitter = window.mul_f64(fastrand::f64() / 2.0);
        let refresh_at = expires_at.checked_sub(window + jitter).unwrap_or(now);
        refresh_at.max(now)
    }

    /// Drops the cached token, so the next call gets a new one.
    pub async fn invalidate(&self) {
        *self.inner.cache.write().await = None;
    }

    async fn fetch(&self) -> Result<(HeaderValue, SystemTime), AuthError> {
        let inner = &self.inner;
        let (body, caller_token) = match &inner.source {
            Source::Fixed { token, expires_at } => {
                let expires_at =
                    expires_at.unwrap_or(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX)));
                if expires_at <= inner.clock.now() {
                    return Err(AuthError::expired(
                        "the IAM token has expired and was issued elsewhere, so it cannot be renewed",
                    ));
                }
                let mut header = HeaderValue::from_str(token.expose().trim())
                    .map_err(|_| AuthError::invalid("the IAM token holds characters a header cannot carry"))?;
                header.set_sensitive(true);
                return Ok((header, expires_at));
            }
            Source::Password {
                domain,
                user,
                password,
                scope,
            } => (
                json!({ "auth": {
                    "identity": { "methods": ["password"], "password": { "user": {
                        "name": user, "password": password.expose(), "domain": { "name": domain }
                    } } },
                    "scope": scope.json(),
                } }),
                None,
            ),
            Source::AssumeRole {
                caller,
                domain,
                agency,
                duration,
                scope,
            } => {
                let mut role = json!({ "domain_name": domain, "agency_name": agency });
                if let Some(duration) = duration {
                    role["duration_seconds"] = json!(duration.as_secs());
                }
                let body = json!({ "auth": {
                    "identity": { "methods": ["assume_role"], "assume_role": role },
                    "scope": scope.json(),
                } });
                (body, Some(Box::pin(caller.token()).await?))
            }
        };
        let (Some(endpoint), Some(transport)) = (&inner.endpoint, &inner.transport) else {
            return Err(AuthError::invalid("this IAM token source has no endpoint"));
        };
        let uri = join(endpoint, "/v3/auth/tokens?nocatalog=true")?;
        let mut request = http::Request::new(Bytes::from(body.to_string()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        request.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=utf8"),
        );
        if let Some(caller_token) = caller_token {
            request.headers_mut().insert("x-auth-token", caller_token);
        }
        let response = transport
            .send(request, &SendOptions::new().timeout(IAM_TIMEOUT))
            .await
            .map_err(|e| AuthError::provider("could not reach IAM for a token").with_source(e))?;
        if response.status() != http::StatusCode::CREATED {
            return Err(AuthError::provider(format!(
                "IAM refused the token request with HTTP {}: {}",
                response.status().as_u16(),
                iam_message(response.body())
            )));
        }
        let mut header = response
            .headers()
            .get("x-subject-token")
            .cloned()
            .ok_or_else(|| AuthError::provider("IAM answered 201 without X-Subject-Token"))?;
        header.set_sensitive(true);
        let parsed: Value = serde_json::from_slice(response.body())
            .map_err(|e| AuthError::provider("IAM's token response is not JSON").with_source(e))?;
        let expires_at = parsed["token"]["expires_at"]
            .as_str()
            .and_then(parse_iso_utc)
            .ok_or_else(|| AuthError::provider("IAM's token response has no readable token.expires_at"))?;
        Ok((header, expires_at))
    }
}

fn join(endpoint: &Uri, path_and_query: &str) -> Result<Uri, AuthError> {
    let base = endpoint.path().trim_end_matches('/');
    let mut parts = endpoint.clone().into_parts();
    parts.path_and_query = Some(
        format!("{base}{path_and_query}")
            .parse()
            .map_err(|_| AuthError::invalid("cannot build the IAM request URI"))?,
    );
    Uri::from_parts(parts).map_err(|_| AuthError::invalid("cannot build the IAM request URI"))
}

/// IAM's error message (`{"error":{"message"}}` or `error_msg`), never the request.
fn iam_message(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    parsed
        .as_ref()
        .and_then(|v| {
            v["error"]["message"]
                .as_str()
                .or_else(|| v["error_msg"].as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| format!("{} bytes of body", body.len()))
}

#[async_trait]
impl Auth for IamTokenAuth {
    async fn authenticate(
        &self,
        request: &mut http::Request<Bytes>,
        _context: &AuthContext<'_>,
    ) -> Result<(), AuthError> {
        let token = self.token().await?;
        request
            .headers_mut()
            .insert(fgs_core::generated::operations::IAM_TOKEN_HEADER, token);
        Ok(())
    }

    async fn on_rejected(&self, error: &ServiceError) -> bool {
        // An expired token (or one of another region) is worth renewing once; other 401s
        // (a disabled user, a wrong password) would only fail again.
        if error.code() == Some(&ErrorCode::TokenExpired) && !matches!(self.inner.source, Source::Fixed { .. }) {
            self.invalidate().await;
            true
        } else {
            false
        }
    }
}
