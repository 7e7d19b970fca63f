//! Temporary credentials from the instance metadata service of ECS and CCE.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::auth::AuthError;
use crate::transport::{SendOptions, Transport, TransportErrorKind};
use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, Uri};
use tokio::sync::OwnedMutexGuard;

use crate::auth::clock::{Clock, SystemClock};
use crate::auth::credentials::{Credentials, ProvideCredentials};
use crate::auth::renew::{FetchFuture, Policy, Renewer};
use crate::auth::temporary::{parse_credential, quote};

const TOKEN_PATH: &str = "/meta-data/latest/api/token";
const SECURITY_KEY_PATH: &str = "/openstack/latest/securitykey";
const TOKEN_HEADER: &str = "x-metadata-token";
const TOKEN_TTL_HEADER: &str = "x-metadata-token-ttl-seconds";
/// What the metadata service says, with a 401, when the instance has no agency; a new
/// session token cannot help then.
const NO_AGENCY: &str = "Please configure Cloud Service Agency first";
/// A session token is renewed this long before its TTL runs out.
const TOKEN_MARGIN: Duration = Duration::from_secs(5 * 60);
/// When the service has no session tokens (404, 405 or 503 to the token request),
/// requests go without one, and a token is asked for again after this long.
const TOKENLESS_RECHECK: Duration = Duration::from_secs(24 * 60 * 60);
/// After a failed fetch, the next attempt waits this long (between half and all of it
/// at random), doubling with each further failure up to [`RETRY_DELAY_MAX`], so that an
/// unreachable service is not asked by every request.
const RETRY_DELAY: Duration = Duration::from_secs(30);
/// The longest wait between failed fetches.
const RETRY_DELAY_MAX: Duration = Duration::from_secs(5 * 60);

/// Temporary credentials of the agency of an ECS instance or CCE node, from its instance
/// metadata service, as Huawei's SDKs get them:
///
/// 1. `PUT {endpoint}/meta-data/latest/api/token` with `X-Metadata-Token-Ttl-Seconds:
///    21600` returns a session token (a service that answers 404, 405 or 503 has none,
///    and the next request goes without);
/// 2. `GET {endpoint}/openstack/latest/securitykey` with `X-Metadata-Token` returns
///    `{"credential": {"access", "secret", "securitytoken", "expires_at"}}` (the
///    alternative names the official SDKs accept work too: a `credentials` wrapper or
///    none; `accessKeyId`/`access_key_id`, `secretAccessKey`/`secret_access_key`,
///    `securityToken`/`security_token`, `expiration`). A 401 gets a new session token
///    and one more try, unless it says the instance has no agency.
///
/// The credentials are cached and fetched again once the [`Clock`] reaches `expires_at`
/// minus the refresh window ([`DEFAULT_REFRESH_WINDOW`](Self::DEFAULT_REFRESH_WINDOW),
/// see [`with_refresh_window`](Self::with_refresh_window)). Inside that window callers
/// keep getting the still-valid credentials at once while one refresh runs in the
/// background (a task spawned on the current tokio runtime), so no caller holding valid
/// credentials waits for the service. Callers without valid credentials wait for the one
/// fetch in flight and share its outcome, success or error. After a failed fetch the next
/// one waits for a backoff (15 to 30 s, doubling up to 5 min, never past the expiry of
/// the cached credentials): meanwhile valid credentials keep being used, and without
/// them calls fail at once with the last error. Clones share the cache.
///
/// Each request is limited to 3 s ([`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT)) and its
/// answer to 64 KiB ([`MAX_RESPONSE_BYTES`](Self::MAX_RESPONSE_BYTES)); a slower,
/// larger or malformed answer is an [`AuthError`] of kind
/// [`Provider`](crate::auth::AuthErrorKind::Provider). The
/// metadata service only exists inside Huawei Cloud, so a
/// [`CredentialChain`](crate::auth::CredentialChain) asks it only when given one with
/// [`with_metadata`](crate::auth::CredentialChain::with_metadata).
///
/// ```no_run
/// use fgs_core::auth::{AkSkAuth, MetadataCredentials};
///
/// # fn demo() -> Result<(), fgs_core::Error> {
/// // On an ECS instance with an agency:
/// let client = fgs_core::Client::builder()
///     .region("cn-north-4")
///     .auth(AkSkAuth::new(MetadataCredentials::new()))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MetadataCredentials {
    /// Base URL without a trailing `/`.
    endpoint: String,
    transport: Option<Arc<dyn Transport>>,
    clock: Arc<dyn Clock>,
    refresh_window: Duration,
    timeout: Duration,
    shared: Arc<Shared>,
}

impl fmt::Debug for MetadataCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataCredentials")
            .field("endpoint", &self.endpoint)
            .field("refresh_window", &self.refresh_window)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for MetadataCredentials {
    fn default() -> Self {
        Self::new()
    }
}

/// State shared by clones: the cached credentials, and the session of the one fetch at a
/// time.
type Shared = Renewer<Credentials, Session>;

/// What the fetching caller keeps between fetches.
#[derive(Default)]
struct Session {
    /// The default transport, created at first use.
    transport: Option<Arc<dyn Transport>>,
    token: Option<SessionToken>,
}

/// A session token of the metadata service, or the knowledge that it has none.
struct SessionToken {
    value: Option<HeaderValue>,
    obtained_at: SystemTime,
}

impl SessionToken {
    fn usable(&self, now: SystemTime) -> bool {
        let lifetime = match self.value {
            Some(_) => MetadataCredentials::TOKEN_TTL.saturating_sub(TOKEN_MARGIN),
            None => TOKENLESS_RECHECK,
        };
        now.duration_since(self.obtained_at).is_ok_and(|age| age < lifetime)
    }
}

impl MetadataCredentials {
    /// The metadata service of ECS and CCE.
    pub const DEFAULT_ENDPOINT: &'static str = "http://169.254.169.254";
    /// How long before `expires_at` credentials are fetched again: 10 minutes.
    pub const DEFAULT_REFRESH_WINDOW: Duration = Duration::from_secs(10 * 60);
    /// Limit for each request to the metadata service (and for connecting with the
    /// default transport): 3 seconds, as in the official SDKs.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
    /// The lifetime asked for session tokens (`X-Metadata-Token-Ttl-Seconds`): 6 hours.
    pub const TOKEN_TTL: Duration = Duration::from_secs(6 * 60 * 60);
    /// The largest answer read from the metadata service: 64 KiB (a credentials answer
    /// is about 2 KiB).
    pub const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

    /// Credentials from [`DEFAULT_ENDPOINT`](Self::DEFAULT_ENDPOINT), over the default
    /// transport (reqwest, feature `reqwest`), timed by the system clock.
    pub fn new() -> Self {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        MetadataCredentials {
            endpoint: Self::DEFAULT_ENDPOINT.to_owned(),
            transport: None,
            shared: Self::cache(&clock, Self::DEFAULT_REFRESH_WINDOW),
            clock,
            refresh_window: Self::DEFAULT_REFRESH_WINDOW,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    fn cache(clock: &Arc<dyn Clock>, refresh_window: Duration) -> Arc<Shared> {
        let policy = Policy {
            refresh_window,
            jitter: 0.0,
            backoff_initial: RETRY_DELAY,
            backoff_max: RETRY_DELAY_MAX,
        };
        Arc::new(Renewer::new(
            "metadata credentials",
            Arc::clone(clock),
            policy,
            Session::default(),
        ))
    }

    /// Starts over with an empty cache (the settings changed).
    fn reset(mut self) -> Self {
        self.shared = Self::cache(&self.clock, self.refresh_window);
        self
    }

    /// Another metadata service base URL, e.g. a local emulator (`http://127.0.0.1:8000`).
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = url.into().trim_end_matches('/').to_owned();
        self.reset()
    }

    /// Sends the metadata requests with `transport` (each with the
    /// [timeout](Self::with_timeout) as its [`SendOptions::timeout`]).
    pub fn with_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self.reset()
    }

    /// Uses `clock` to decide when to refresh (tests).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self.reset()
    }

    /// Fetches new credentials this long before the cached ones expire (default
    /// [`DEFAULT_REFRESH_WINDOW`](Self::DEFAULT_REFRESH_WINDOW)). Credentials that
    /// arrive with less time left than that (any window up to `Duration::MAX`) are
    /// fetched again halfway to their expiry; `Duration::ZERO` fetches at expiry.
    pub fn with_refresh_window(mut self, window: Duration) -> Self {
        self.refresh_window = window;
        self.reset()
    }

    /// Limit for each request (default [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT)). Any
    /// value is accepted; `Duration::ZERO` makes every request time out.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self.reset()
    }

    /// The metadata service base URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn current(&self) -> Result<Credentials, AuthError> {
        let this = self.clone();
        self.shared
            .get(
                move |mut session: OwnedMutexGuard<Session>| -> FetchFuture<Credentials, Session> {
                    Box::pin(async move {
                        let outcome = this.fetch(&mut session).await;
                        (session, outcome)
                    })
                },
            )
            .await
    }

    /// Gets a session token if needed, then the credentials.
    async fn fetch(&self, session: &mut Session) -> Result<(Credentials, SystemTime), AuthError> {
        let transport = self.transport(session)?;
        let now = self.clock.now();
        if !session.token.as_ref().is_some_and(|token| token.usable(now)) {
            session.token = Some(self.session_token(&transport, false).await?);
        }
        let mut response = self.security_key(&transport, session).await?;
        if response.status() == StatusCode::UNAUTHORIZED && !body_text(response.body()).contains(NO_AGENCY) {
            session.token = Some(self.session_token(&transport, true).await?);
            response = self.security_key(&transport, session).await?;
        }
        if !response.status().is_success() {
            let hint = if body_text(response.body()).contains(NO_AGENCY) {
                " (the instance has no agency: bind one to it in the ECS console)"
            } else {
                ""
            };
            return Err(AuthError::provider(format!(
                "the metadata service answered GET {SECURITY_KEY_PATH} with HTTP {}{hint}: {}",
                response.status().as_u16(),
                quote(response.body())
            )));
        }
        parse_credential(response.body())
            .map_err(|what| AuthError::provider(format!("the metadata service's {SECURITY_KEY_PATH} answer {what}")))
    }

    fn transport(&self, session: &mut Session) -> Result<Arc<dyn Transport>, AuthError> {
        if let Some(transport) = self.transport.as_ref().or(session.transport.as_ref()) {
            return Ok(Arc::clone(transport));
        }
        let transport = default_transport(self.timeout)?;
        session.transport = Some(Arc::clone(&transport));
        Ok(transport)
    }

    fn uri(&self, path: &str) -> Result<Uri, AuthError> {
        let uri: Uri = format!("{}{path}", self.endpoint)
            .parse()
            .map_err(|_| AuthError::invalid(format!("metadata endpoint {:?} is not a URL", self.endpoint)))?;
        if uri.host().is_none() {
            return Err(AuthError::invalid(format!(
                "metadata endpoint {:?} has no host",
                self.endpoint
            )));
        }
        Ok(uri)
    }

    async fn send(
        &self,
        transport: &Arc<dyn Transport>,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, AuthError> {
        let what = format!("{} {}", request.method(), request.uri().path());
        let options = SendOptions::new()
            .timeout(self.timeout)
            .max_response_bytes(Self::MAX_RESPONSE_BYTES);
        transport.send(request, &options).await.map_err(|e| match e.kind() {
            TransportErrorKind::ResponseTooLarge => AuthError::provider(format!(
                "the metadata service's answer to {what} is larger than the {} bytes read for it",
                Self::MAX_RESPONSE_BYTES
            ))
            .with_source(e),
            TransportErrorKind::Timeout => AuthError::provider(format!(
                "the metadata service at {} did not answer {what} within {} ms",
                self.endpoint,
                self.timeout.as_millis()
            ))
            .with_source(e),
            TransportErrorKind::Connect => {
                AuthError::provider(format!("could not reach the metadata service at {}", self.endpoint)).with_source(e)
            }
            _ => AuthError::provider(format!("{what} to the metadata service at {} failed", self.endpoint))
                .with_source(e),
        })
    }

    /// `PUT /meta-data/latest/api/token`. With `required` false, a service without
    /// session tokens (404, 405, 503) yields "no token".
    async fn session_token(&self, transport: &Arc<dyn Transport>, required: bool) -> Result<SessionToken, AuthError> {
        let mut request = http::Request::new(Bytes::new());
        *request.method_mut() = Method::PUT;
        *request.uri_mut() = self.uri(TOKEN_PATH)?;
        request
            .headers_mut()
            .insert(TOKEN_TTL_HEADER, HeaderValue::from(Self::TOKEN_TTL.as_secs()));
        let response = self.send(transport, request).await?;
        let obtained_at = self.clock.now();
        let status = response.status();
        if status == StatusCode::OK {
            let text = std::str::from_utf8(response.body()).map(str::trim).unwrap_or_default();
            let mut value = HeaderValue::from_str(text)
                .ok()
                .filter(|_| !text.is_empty())
                .ok_or_else(|| AuthError::provider("the metadata service answered an unusable session token"))?;
            value.set_sensitive(true);
            return Ok(SessionToken {
                value: Some(value),
                obtained_at,
            });
        }
        let tokenless = matches!(status.as_u16(), 404 | 405 | 503);
        if tokenless && !required {
            return Ok(SessionToken {
                value: None,
                obtained_at,
            });
        }
        Err(AuthError::provider(format!(
            "the metadata service answered PUT {TOKEN_PATH} with HTTP {}: {}",
            status.as_u16(),
            quote(response.body())
        )))
    }

    /// `GET /openstack/latest/securitykey`, with the session token if there is one.
    async fn security_key(
        &self,
        transport: &Arc<dyn Transport>,
        session: &Session,
    ) -> Result<http::Response<Bytes>, AuthError> {
        let mut request = http::Request::new(Bytes::new());
        *request.uri_mut() = self.uri(SECURITY_KEY_PATH)?;
        if let Some(token) = session.token.as_ref().and_then(|token| token.value.clone()) {
            request.headers_mut().insert(TOKEN_HEADER, token);
        }
        self.send(transport, request).await
    }
}

#[cfg(any(feature = "reqwest", feature = "hyper"))]
fn default_transport(connect_timeout: Duration) -> Result<Arc<dyn Transport>, AuthError> {
    crate::transport::internal_default(connect_timeout)
        .map_err(|e| AuthError::provider("cannot create the HTTP client for the metadata service").with_source(e))
}

#[cfg(not(any(feature = "reqwest", feature = "hyper")))]
fn default_transport(_connect_timeout: Duration) -> Result<Arc<dyn Transport>, AuthError> {
    Err(AuthError::invalid(
        "no transport for the metadata service: enable the `reqwest` or `hyper` feature or call with_transport(...)",
    ))
}

#[async_trait]
impl ProvideCredentials for MetadataCredentials {
    async fn provide_credentials(&self) -> Result<Credentials, AuthError> {
        self.current().await
    }
}

fn body_text(body: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(body)
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex as StdMutex;
    use std::time::UNIX_EPOCH;

    use crate::auth::{AuthErrorKind, Secret};
    use crate::transport::TransportError;

    use super::*;
    use crate::auth::ManualClock;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn parse(json: &str) -> Result<(Credentials, SystemTime), String> {
        parse_credential(json.as_bytes())
    }

    #[test]
    fn parses_the_securitykey_answer() {
        let (credentials, expires_at) = parse(
            r#"{"credential":{"access":"AK1","secret":"SK1","securitytoken":"TOK1","expires_at":"2024-01-01T12:00:00.000000Z"}}"#,
        )
        .unwrap();
        assert_eq!(credentials.access_key(), "AK1");
        assert_eq!(credentials.secret_key().expose(), "SK1");
        assert_eq!(credentials.security_token().map(Secret::expose), Some("TOK1"));
        assert_eq!(credentials.expires_at(), Some(at(1_704_110_400)));
        assert_eq!(expires_at, at(1_704_110_400));
    }

    #[test]
    fn accepts_the_alternative_names() {
        for json in [
            r#"{"credentials":{"accessKeyId":"A","secretAccessKey":"S","securityToken":"T","expiration":"2024-01-01T12:00:00Z"}}"#,
            r#"{"access_key_id":"A","secret_access_key":"S","security_token":"T","expires_at":"2024-01-01T12:00:00Z"}"#,
            r#"{"credential":{"access":"","accessKeyId":"A","secret":"S","securitytoken":"T","expires_at":"2024-01-01T12:00:00Z"}}"#,
            r#"{"credential":{"access":"A","secret":"S","securitytoken":"T","expires_at":" 2024-01-01T20:00:00+08:00 "}}"#,
        ] {
            let (credentials, expires_at) = parse(json).unwrap();
            assert_eq!(expires_at, at(1_704_110_400), "{json}");
            assert_eq!(credentials.access_key(), "A", "{json}");
            assert_eq!(credentials.secret_key().expose(), "S");
            assert_eq!(credentials.security_token().map(Secret::expose), Some("T"));
        }
    }

    #[test]
    fn bad_answers_say_what_is_missing_without_values() {
        assert_eq!(parse("not json").unwrap_err(), "is not JSON (line 1, column 2)");
        assert_eq!(parse(r#"{"credential":"x"}"#).unwrap_err(), "has no credential object");
        let err = parse(r#"{"credential":{"access":"AK","secret":"SECRET-VALUE"}}"#).unwrap_err();
        assert_eq!(err, "has no securitytoken, expires_at");
        let err =
            parse(r#"{"credential":{"access":"A","secret":"SECRET-VALUE","securitytoken":"T","expires_at":"soon"}}"#)
                .unwrap_err();
        assert!(err.contains("\"soon\"") && !err.contains("SECRET-VALUE"), "{err}");
    }

    /// Answers from a script and records what was asked.
    #[derive(Debug, Default)]
    struct Scripted {
        answers: StdMutex<VecDeque<Result<(u16, &'static str), ()>>>,
        seen: StdMutex<Vec<(Method, String, Option<String>)>>,
    }

    impl Scripted {
        fn new(answers: impl IntoIterator<Item = Result<(u16, &'static str), ()>>) -> Arc<Self> {
            Arc::new(Scripted {
                answers: StdMutex::new(answers.into_iter().collect()),
                seen: StdMutex::default(),
            })
        }

        fn seen(&self) -> Vec<(Method, String, Option<String>)> {
            self.seen.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl Transport for Scripted {
        async fn send(
            &self,
            request: http::Request<Bytes>,
            options: &SendOptions,
        ) -> Result<http::Response<Bytes>, TransportError> {
            assert_eq!(options.timeout, Some(MetadataCredentials::DEFAULT_TIMEOUT));
            assert_eq!(options.max_response_bytes, Some(64 * 1024));
            let token = request
                .headers()
                .get(TOKEN_HEADER)
                .map(|v| v.to_str().unwrap().to_owned());
            if request.method() == Method::PUT {
                assert_eq!(request.headers()[TOKEN_TTL_HEADER], "21600");
            }
            self.seen
                .lock()
                .unwrap()
                .push((request.method().clone(), request.uri().to_string(), token));
            match self
                .answers
                .lock()
                .unwrap()
                .pop_front()
                .expect("an answer left in the script")
            {
                Ok((status, body)) => Ok(http::Response::builder()
                    .status(status)
                    .body(Bytes::from_static(body.as_bytes()))
                    .unwrap()),
                Err(()) => Err(TransportError::connect("connection refused")),
            }
        }
    }

    const KEY_1: &str = r#"{"credential":{"access":"AK1","secret":"SK1","securitytoken":"T1","expires_at":"2024-01-01T13:00:00.000000Z"}}"#;
    const KEY_2: &str = r#"{"credential":{"access":"AK2","secret":"SK2","securitytoken":"T2","expires_at":"2024-01-01T14:00:00.000000Z"}}"#;
    /// 2024-01-01T12:00:00Z; KEY_1 expires an hour later.
    const NOON: u64 = 1_704_110_400;

    fn metadata(transport: &Arc<Scripted>, clock: &ManualClock) -> MetadataCredentials {
        let transport: Arc<dyn Transport> = transport.clone();
        MetadataCredentials::new()
            .with_endpoint("http://metadata.test/")
            .with_transport(transport)
            .with_clock(clock.clone())
    }

    #[tokio::test]
    async fn fetches_a_token_then_the_key_and_caches() {
        let transport = Scripted::new([Ok((200, "session-1")), Ok((200, KEY_1))]);
        let clock = ManualClock::new(at(NOON));
        let metadata = metadata(&transport, &clock);
        let credentials = metadata.provide_credentials().await.unwrap();
        assert_eq!(credentials.access_key(), "AK1");
        clock.advance(Duration::from_secs(49 * 60));
        assert_eq!(metadata.provide_credentials().await.unwrap().access_key(), "AK1");
        assert_eq!(
            transport.seen(),
            vec![
                (
                    Method::PUT,
                    "http://metadata.test/meta-data/latest/api/token".to_owned(),
                    None
                ),
                (
                    Method::GET,
                    "http://metadata.test/openstack/latest/securitykey".to_owned(),
                    Some("session-1".to_owned())
                ),
            ]
        );
    }

    #[tokio::test]
    async fn refreshes_within_the_window_reusing_the_session_token() {
        let transport = Scripted::new([Ok((200, "session-1")), Ok((200, KEY_1)), Ok((200, KEY_2))]);
        let clock = ManualClock::new(at(NOON));
        let metadata = metadata(&transport, &clock);
        metadata.provide_credentials().await.unwrap();
        clock.advance(Duration::from_secs(50 * 60));
        // Still valid: returned at once while the refresh runs in the background.
        assert_eq!(metadata.provide_credentials().await.unwrap().access_key(), "AK1");
        settle().await;
        assert_eq!(metadata.provide_credentials().await.unwrap().access_key(), "AK2");
        let seen = transport.seen();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[2].2.as_deref(), Some("session-1"));
    }

    #[tokio::test]
    async fn a_401_gets_a_new_session_token_once() {
        let transport = Scripted::new([
            Ok((200, "session-1")),
            Ok((401, "token expired")),
            Ok((200, "session-2")),
            Ok((200, KEY_1)),
        ]);
        let clock = ManualClock::new(at(NOON));
        let credentials = metadata(&transport, &clock).provide_credentials().await.unwrap();
        assert_eq!(credentials.access_key(), "AK1");
        let tokens: Vec<_> = transport
            .seen()
            .into_iter()
            .map(|(method, _, token)| (method, token))
            .collect();
        assert_eq!(
            tokens,
            vec![
                (Method::PUT, None),
                (Method::GET, Some("session-1".to_owned())),
                (Method::PUT, None),
                (Method::GET, Some("session-2".to_owned())),
            ]
        );
    }

    #[tokio::test]
    async fn a_second_401_is_an_error() {
        let transport = Scripted::new([Ok((200, "s1")), Ok((401, "no")), Ok((200, "s2")), Ok((401, "still no"))]);
        let err = metadata(&transport, &ManualClock::new(at(NOON)))
            .provide_credentials()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Provider);
        assert_eq!(
            err.to_string(),
            "the metadata service answered GET /openstack/latest/securitykey with HTTP 401: still no"
        );
    }

    #[tokio::test]
    async fn no_agency_is_not_retried() {
        let transport = Scripted::new([
            Ok((200, "s1")),
            Ok((401, "Please configure Cloud Service Agency first")),
        ]);
        let err = metadata(&transport, &ManualClock::new(at(NOON)))
            .provide_credentials()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("the instance has no agency"), "{err}");
        assert_eq!(transport.seen().len(), 2);
    }

    #[tokio::test]
    async fn without_session_tokens_requests_go_without() {
        let transport = Scripted::new([Ok((404, "not found")), Ok((200, KEY_1))]);
        let credentials = metadata(&transport, &ManualClock::new(at(NOON)))
            .provide_credentials()
            .await
            .unwrap();
        assert_eq!(credentials.access_key(), "AK1");
        assert_eq!(transport.seen()[1].2, None);
    }

    #[tokio::test]
    async fn other_token_failures_are_errors() {
        let transport = Scripted::new([Ok((500, "boom"))]);
        let err = metadata(&transport, &ManualClock::new(at(NOON)))
            .provide_credentials()
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the metadata service answered PUT /meta-data/latest/api/token with HTTP 500: boom"
        );
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_valid_credentials_then_backs_off() {
        let transport = Scripted::new([Ok((200, "s1")), Ok((200, KEY_1)), Err(()), Ok((200, KEY_2))]);
        let clock = ManualClock::new(at(NOON));
        let metadata = metadata(&transport, &clock);
        metadata.provide_credentials().await.unwrap();
        clock.advance(Duration::from_secs(55 * 60));
        assert_eq!(
            metadata.provide_credentials().await.unwrap().access_key(),
            "AK1",
            "kept after a failure"
        );
        settle().await;
        assert_eq!(
            metadata.provide_credentials().await.unwrap().access_key(),
            "AK1",
            "no retry at once"
        );
        settle().await;
        assert_eq!(transport.seen().len(), 3);
        // The first backoff is between half and all of RETRY_DELAY.
        clock.advance(RETRY_DELAY / 2 - Duration::from_secs(1));
        assert_eq!(metadata.provide_credentials().await.unwrap().access_key(), "AK1");
        settle().await;
        assert_eq!(transport.seen().len(), 3, "still backing off");
        clock.advance(RETRY_DELAY / 2 + Duration::from_secs(1));
        assert_eq!(metadata.provide_credentials().await.unwrap().access_key(), "AK1");
        settle().await;
        assert_eq!(metadata.provide_credentials().await.unwrap().access_key(), "AK2");
        assert_eq!(transport.seen().len(), 4);
    }

    #[tokio::test]
    async fn expired_credentials_are_not_used_when_refresh_fails() {
        let transport = Scripted::new([Ok((200, "s1")), Ok((200, KEY_1)), Err(())]);
        let clock = ManualClock::new(at(NOON));
        let metadata = metadata(&transport, &clock);
        metadata.provide_credentials().await.unwrap();
        clock.advance(Duration::from_secs(60 * 60));
        let err = metadata.provide_credentials().await.unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Provider);
        assert!(
            err.to_string()
                .starts_with("could not reach the metadata service at http://metadata.test"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn short_lived_credentials_refresh_halfway() {
        // KEY_1 expires an hour after NOON; with a two-hour window it is due at half-time.
        let transport = Scripted::new([Ok((200, "s1")), Ok((200, KEY_1)), Ok((200, KEY_2))]);
        let clock = ManualClock::new(at(NOON));
        let metadata = metadata(&transport, &clock).with_refresh_window(Duration::from_secs(2 * 60 * 60));
        metadata.provide_credentials().await.unwrap();
        clock.advance(Duration::from_secs(29 * 60));
        assert_eq!(metadata.provide_credentials().await.unwrap().access_key(), "AK1");
        clock.advance(Duration::from_secs(60));
        assert_eq!(metadata.provide_credentials().await.unwrap().access_key(), "AK1");
        settle().await;
        assert_eq!(metadata.provide_credentials().await.unwrap().access_key(), "AK2");
    }

    /// Lets spawned tasks run.
    async fn settle() {
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
    }

    /// Holds every request until released, then passes it on.
    #[derive(Debug)]
    struct Gated {
        inner: Arc<Scripted>,
        gate: tokio::sync::Semaphore,
        started: std::sync::atomic::AtomicUsize,
    }

    #[async_trait]
    impl Transport for Gated {
        async fn send(
            &self,
            request: http::Request<Bytes>,
            options: &SendOptions,
        ) -> Result<http::Response<Bytes>, TransportError> {
            self.started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if let Ok(permit) = self.gate.acquire().await {
                permit.forget();
            }
            self.inner.send(request, options).await
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_with_valid_credentials_never_wait_for_a_slow_failing_refresh() {
        let scripted = Scripted::new([Ok((200, "s1")), Ok((200, KEY_1)), Err(()), Ok((200, KEY_2))]);
        let gated = Arc::new(Gated {
            inner: Arc::clone(&scripted),
            gate: tokio::sync::Semaphore::new(2),
            started: Default::default(),
        });
        let clock = ManualClock::new(at(NOON));
        let transport: Arc<dyn Transport> = gated.clone();
        let metadata = MetadataCredentials::new()
            .with_endpoint("http://metadata.test")
            .with_transport(transport)
            .with_clock(clock.clone());
        metadata.provide_credentials().await.unwrap();
        clock.advance(Duration::from_secs(55 * 60));
        // Five callers inside the window while the service hangs: all answered at once.
        let callers: Vec<_> = (0..5)
            .map(|_| {
                let metadata = metadata.clone();
                tokio::spawn(async move { metadata.provide_credentials().await })
            })
            .collect();
        for caller in callers {
            let credentials = tokio::time::timeout(Duration::from_secs(10), caller)
                .await
                .expect("no caller waits for the refresh")
                .unwrap()
                .unwrap();
            assert_eq!(credentials.access_key(), "AK1");
        }
        let started = || gated.started.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(started(), 3, "one refresh for five callers, still held");
        // The refresh fails; no caller retries before the backoff has passed.
        gated.gate.add_permits(1);
        while scripted.seen().len() < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for _ in 0..5 {
            assert_eq!(metadata.provide_credentials().await.unwrap().access_key(), "AK1");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(started(), 3);
        clock.advance(RETRY_DELAY);
        gated.gate.add_permits(1);
        assert_eq!(metadata.provide_credentials().await.unwrap().access_key(), "AK1");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while metadata.provide_credentials().await.unwrap().access_key() != "AK2" {
            assert!(
                std::time::Instant::now() < deadline,
                "the refresh after the backoff never landed"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(started(), 4);
    }

    #[tokio::test]
    async fn extreme_settings_do_not_panic() {
        for window in [Duration::ZERO, Duration::MAX] {
            let transport = Scripted::new([Ok((200, "s1")), Ok((200, KEY_1))]);
            let clock = ManualClock::new(at(NOON));
            let metadata = metadata(&transport, &clock).with_refresh_window(window);
            assert_eq!(metadata.provide_credentials().await.unwrap().access_key(), "AK1");
            clock.advance(Duration::from_secs(20 * 60));
            assert_eq!(metadata.provide_credentials().await.unwrap().access_key(), "AK1");
        }
    }

    #[tokio::test]
    async fn a_bad_endpoint_is_invalid() {
        let err = MetadataCredentials::new()
            .with_endpoint("not a url")
            .provide_credentials()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Invalid);
    }

    #[test]
    fn debug_and_defaults() {
        let metadata = MetadataCredentials::new();
        assert_eq!(metadata.endpoint(), "http://169.254.169.254");
        assert!(format!("{metadata:?}").starts_with("MetadataCredentials { endpoint: \"http://169.254.169.254\""));
    }
}
