//! IAM tokens (`X-Auth-Token`) that renew themselves.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::ErrorCode;
use crate::ServiceError;
use crate::auth::{Auth, AuthContext, AuthError, Secret};
use crate::transport::{SendOptions, Transport, TransportErrorKind};
use async_trait::async_trait;
use bytes::Bytes;
use fgs_signing::date::parse_rfc3339;
use http::{HeaderValue, Method, Uri};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::sync::OwnedMutexGuard;

use crate::auth::clock::{Clock, SystemClock};
use crate::auth::renew::{FetchFuture, Policy, Renewer};

/// How long before expiry a token is renewed (tokens live 24 h).
pub const DEFAULT_REFRESH_WINDOW: Duration = Duration::from_secs(10 * 60);
const IAM_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest IAM answer read. A token response (with `nocatalog=true`) is a few KiB;
/// the token itself travels in a header.
pub(crate) const IAM_MAX_RESPONSE_BYTES: u64 = 1024 * 1024;
/// The backoff after a first failed token request; it doubles with each further failure.
const BACKOFF_INITIAL: Duration = Duration::from_secs(5);
/// The longest backoff between token requests that fail.
const BACKOFF_MAX: Duration = Duration::from_secs(5 * 60);
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

struct Inner {
    source: Source,
    endpoint: Option<Uri>,
    transport: Option<Arc<dyn Transport>>,
    clock: Arc<dyn Clock>,
    refresh_window: Duration,
    /// The cached token, renewed by one request at a time.
    cache: Arc<Renewer<HeaderValue, ()>>,
}

/// An IAM token sent as `X-Auth-Token`, obtained from `POST {iam}/v3/auth/tokens` and
/// cached.
///
/// Renewal:
/// - the token is renewed ahead of expiry, by the [refresh
///   window](IamTokenAuthBuilder::refresh_window) ([`DEFAULT_REFRESH_WINDOW`]) plus a
///   random part of up to half of it, so that many clients do not renew at the same moment
///   (a token with less time left than that is renewed halfway to its expiry);
/// - inside that window callers keep getting the still-valid token at once while one
///   renewal runs in the background (a task spawned on the current tokio runtime): no
///   caller holding a valid token waits for IAM;
/// - callers with no valid token (the first call, or after expiry) wait for the one
///   request in flight and share its outcome, success or error;
/// - a failed renewal is not repeated by every caller: the next attempt waits for a
///   backoff (5 s doubling up to 5 min, each between half and all of that at random, and
///   never past the expiry of the token still cached). Meanwhile the still-valid token is
///   used; once there is none, calls fail at once with the last error until the backoff
///   has passed;
/// - when FunctionGraph answers 401 `APIGW.0307` (the token must be updated) the token is
///   dropped and the request sent once more with a new one. Requests refused together
///   drop it once: a token fetched less than 10 s ago to replace one refused earlier is
///   kept, as the refusal is most likely for a request sent with the old one (see
///   [`reject_token`](IamTokenAuth::reject_token) for callers that know which token was
///   refused).
///
/// IAM answers are read up to 1 MiB, each request within 30 s; a larger, malformed or
/// already expired answer is an [`AuthError`] of kind
/// [`Provider`](crate::auth::AuthErrorKind::Provider).
///
/// ```no_run
/// use fgs_core::auth::IamTokenAuth;
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

    /// Renew this long before expiry (default [`DEFAULT_REFRESH_WINDOW`]), plus up to half
    /// of it at random. Any value is accepted: a window longer than a token's lifetime
    /// (up to `Duration::MAX`) renews each token halfway to its expiry, and
    /// `Duration::ZERO` renews at expiry.
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
    // The same rule as the FunctionGraph endpoint: the password must not travel in clear.
    crate::endpoint::parse_endpoint(url, allow_insecure_http)
        .map_err(|e| AuthError::invalid(format!("IAM endpoint: {e}")))
}

#[cfg(any(feature = "reqwest", feature = "hyper"))]
fn default_transport() -> Result<Arc<dyn Transport>, AuthError> {
    crate::transport::internal_default(Duration::from_secs(10))
        .map_err(|e| AuthError::provider("cannot create the HTTP client for IAM").with_source(e))
}

#[cfg(not(any(feature = "reqwest", feature = "hyper")))]
fn default_transport() -> Result<Arc<dyn Transport>, AuthError> {
    Err(AuthError::invalid(
        "no transport for IAM: enable the `reqwest` or `hyper` feature or call transport(...)",
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
        let policy = Policy {
            refresh_window,
            jitter: 0.5,
            backoff_initial: BACKOFF_INITIAL,
            backoff_max: BACKOFF_MAX,
        };
        IamTokenAuth {
            inner: Arc::new(Inner {
                source,
                endpoint,
                transport,
                cache: Arc::new(Renewer::new("IAM token", Arc::clone(&clock), policy, ())),
                clock,
                refresh_window,
            }),
        }
    }

    /// The current token as a header value. Inside the refresh window this is the
    /// still-valid token while a renewal runs in the background; without a valid token
    /// it waits for one (see [`IamTokenAuth`] for the rules).
    pub async fn token(&self) -> Result<HeaderValue, AuthError> {
        self.boxed_token().await
    }

    /// [`token`](Self::token) as a future of a named type: `assume_role` asks its caller
    /// for a token inside a fetch, and a recursive `async fn` could not be proven `Send`.
    fn boxed_token(&self) -> Pin<Box<dyn Future<Output = Result<HeaderValue, AuthError>> + Send + '_>> {
        Box::pin(async move {
            if let Source::Fixed { token, expires_at } = &self.inner.source {
                return self.fixed_token(token, *expires_at);
            }
            let this = self.clone();
            self.inner
                .cache
                .get(move |guard: OwnedMutexGuard<()>| -> FetchFuture<HeaderValue, ()> {
                    Box::pin(async move {
                        let outcome = this.fetch().await;
                        (guard, outcome)
                    })
                })
                .await
        })
    }

    fn fixed_token(&self, token: &Secret, expires_at: Option<SystemTime>) -> Result<HeaderValue, AuthError> {
        if expires_at.is_some_and(|expires_at| expires_at <= self.inner.clock.now()) {
            return Err(AuthError::expired(
                "the IAM token has expired and was issued elsewhere, so it cannot be renewed",
            ));
        }
        let mut header = HeaderValue::from_str(token.expose().trim())
            .map_err(|_| AuthError::invalid("the IAM token holds characters a header cannot carry"))?;
        header.set_sensitive(true);
        Ok(header)
    }

    /// Drops the cached token, so the next call gets a new one.
    pub async fn invalidate(&self) {
        self.inner.cache.invalidate();
    }

    /// Drops the cached token if it is `rejected` (compared in constant time), for a
    /// caller that knows which token a refused request carried. Returns `true` when a
    /// new token will be used next: the rejected one was dropped, or the cached token is
    /// already another one. A token issued elsewhere
    /// ([`from_token`](Self::from_token)) cannot be renewed, so this returns `false` for it.
    pub async fn reject_token(&self, rejected: &HeaderValue) -> bool {
        if matches!(self.inner.source, Source::Fixed { .. }) {
            return false;
        }
        self.inner
            .cache
            .invalidate_if(|cached| bool::from(cached.as_bytes().ct_eq(rejected.as_bytes())));
        true
    }

    /// One token from IAM: build the request, send it, read the answer.
    async fn fetch(&self) -> Result<(HeaderValue, SystemTime), AuthError> {
        if let Source::Fixed { token, expires_at } = &self.inner.source {
            let header = self.fixed_token(token, *expires_at)?;
            let far = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX));
            return Ok((header, expires_at.unwrap_or(far)));
        }
        let (body, caller_token) = self.token_request_body().await?;
        let (Some(endpoint), Some(transport)) = (&self.inner.endpoint, &self.inner.transport) else {
            return Err(AuthError::invalid("this IAM token source has no endpoint"));
        };
        let request = token_request(endpoint, &body, caller_token)?;
        let response = send_token_request(transport.as_ref(), request).await?;
        read_token_response(&response)
    }

    /// The JSON body of `POST /v3/auth/tokens` for this source, and for `assume_role` the
    /// caller's token that authorises it.
    async fn token_request_body(&self) -> Result<(Value, Option<HeaderValue>), AuthError> {
        match &self.inner.source {
            Source::Fixed { .. } => Err(AuthError::invalid(
                "the IAM token was issued elsewhere, so it is not requested from IAM",
            )),
            Source::Password {
                domain,
                user,
                password,
                scope,
            } => {
                let body = json!({ "auth": {
                    "identity": { "methods": ["password"], "password": { "user": {
                        "name": user, "password": password.expose(), "domain": { "name": domain }
                    } } },
                    "scope": scope.json(),
                } });
                Ok((body, None))
            }
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
                Ok((body, Some(caller.boxed_token().await?)))
            }
        }
    }
}

/// `POST {endpoint}/v3/auth/tokens?nocatalog=true` with `body`, carrying `caller_token` as
/// `X-Auth-Token` when there is one.
fn token_request(
    endpoint: &Uri,
    body: &Value,
    caller_token: Option<HeaderValue>,
) -> Result<http::Request<Bytes>, AuthError> {
    let mut request = http::Request::new(Bytes::from(body.to_string()));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = join(endpoint, "/v3/auth/tokens?nocatalog=true")?;
    request.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf8"),
    );
    if let Some(caller_token) = caller_token {
        request.headers_mut().insert("x-auth-token", caller_token);
    }
    Ok(request)
}

/// Sends the token request within [`IAM_TIMEOUT`], reading at most
/// [`IAM_MAX_RESPONSE_BYTES`] of the answer; a failure says which limit or step failed.
async fn send_token_request(
    transport: &dyn Transport,
    request: http::Request<Bytes>,
) -> Result<http::Response<Bytes>, AuthError> {
    let options = SendOptions::new()
        .timeout(IAM_TIMEOUT)
        .max_response_bytes(IAM_MAX_RESPONSE_BYTES);
    transport.send(request, &options).await.map_err(|e| match e.kind() {
        TransportErrorKind::ResponseTooLarge => AuthError::provider(format!(
            "IAM's answer to the token request is larger than the {IAM_MAX_RESPONSE_BYTES} bytes read for it"
        ))
        .with_source(e),
        TransportErrorKind::Timeout => AuthError::provider(format!(
            "IAM did not answer the token request within {} s",
            IAM_TIMEOUT.as_secs()
        ))
        .with_source(e),
        TransportErrorKind::Connect => AuthError::provider("could not reach IAM for a token").with_source(e),
        _ => AuthError::provider("the token request to IAM failed").with_source(e),
    })
}

/// The token (`X-Subject-Token`, marked sensitive) and its expiry (`token.expires_at`) from
/// IAM's answer, or what is wrong with the answer.
fn read_token_response(response: &http::Response<Bytes>) -> Result<(HeaderValue, SystemTime), AuthError> {
    let status = response.status();
    if !status.is_success() {
        return Err(AuthError::provider(format!(
            "IAM refused the token request with HTTP {}: {}",
            status.as_u16(),
            iam_message(response.body())
        )));
    }
    let mut header = response
        .headers()
        .get("x-subject-token")
        .filter(|value| !value.as_bytes().iter().all(u8::is_ascii_whitespace))
        .cloned()
        .ok_or_else(|| {
            AuthError::provider(format!(
                "IAM answered HTTP {} without an X-Subject-Token header (the token)",
                status.as_u16()
            ))
        })?;
    header.set_sensitive(true);
    let parsed: Value = serde_json::from_slice(response.body())
        .map_err(|e| AuthError::provider("IAM's token response is not JSON").with_source(e))?;
    let expires_at = parsed["token"]["expires_at"]
        .as_str()
        .and_then(|text| parse_rfc3339(text.trim()))
        .ok_or_else(|| AuthError::provider("IAM's token response has no readable token.expires_at"))?;
    Ok((header, expires_at))
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

/// The longest part of IAM's error message quoted.
const MESSAGE_LIMIT: usize = 200;

/// IAM's error message (`{"error":{"message"}}` or `error_msg`), never the request, at
/// most [`MESSAGE_LIMIT`] characters without control characters.
fn iam_message(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        v["error"]["message"]
            .as_str()
            .or_else(|| v["error_msg"].as_str())
            .map(str::to_owned)
    });
    let Some(message) = message else {
        return format!("{} bytes of body", body.len());
    };
    let mut quoted: String = message
        .chars()
        .take(MESSAGE_LIMIT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if message.chars().count() > MESSAGE_LIMIT {
        quoted.push_str("...");
    }
    quoted
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
            .insert(crate::generated::operations::IAM_TOKEN_HEADER, token);
        Ok(())
    }

    async fn on_rejected(&self, error: &ServiceError, refused: &http::HeaderMap) -> bool {
        // An expired token (or one of another region) is worth renewing once; other 401s
        // (a disabled user, a wrong password) would only fail again.
        if error.code() != Some(&ErrorCode::TokenExpired) {
            return false;
        }
        match refused.get(crate::generated::operations::IAM_TOKEN_HEADER) {
            // Only the token that was refused is dropped: a replacement fetched while the
            // request was in flight is kept.
            Some(token) => self.reject_token(token).await,
            None => false,
        }
    }
}
