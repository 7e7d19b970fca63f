//! What the sources of temporary credentials from a web service share (ECS/CCE metadata,
//! OIDC through STS, federation through IAM, CCE pod identity): the renewing cache around
//! a fetch, the default transport, token files read through a limit, sending with errors
//! that name the service and the limit that failed, and the credential answer they all
//! give (`_process_credential` of the official SDKs).

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use fgs_signing::date::parse_rfc3339;
use http::{HeaderValue, Method, Uri};
use serde_json::Value;
use tokio::sync::OwnedMutexGuard;

use crate::auth::clock::{Clock, SystemClock};
use crate::auth::credentials::Credentials;
use crate::auth::renew::{FetchFuture, Policy, Renewer};
use crate::auth::{AuthError, AuthErrorKind, Secret};
use crate::transport::{SendOptions, Transport, TransportErrorKind};

/// The largest token file read (an OIDC ID token, a pod identity's authorization token):
/// 64 KiB; a JWT is a few KiB.
pub(crate) const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;
/// The largest answer of STS or a pod identity endpoint read: 64 KiB (a credentials
/// answer is about 2 KiB).
pub(crate) const MAX_ANSWER_BYTES: u64 = 64 * 1024;
/// How long before expiry credentials are fetched again unless configured.
pub(crate) const DEFAULT_REFRESH_WINDOW: Duration = Duration::from_secs(10 * 60);
/// The backoff after a first failed fetch; it doubles with each further failure.
const BACKOFF_INITIAL: Duration = Duration::from_secs(5);
/// The longest backoff between failed fetches.
const BACKOFF_MAX: Duration = Duration::from_secs(5 * 60);
/// The longest part of an error answer quoted in a message.
const QUOTE_LIMIT: usize = 200;
/// The JSON content type the official SDKs send to IAM and STS.
pub(crate) const JSON_UTF8: &str = "application/json;charset=UTF-8";

/// What the fetching caller keeps between fetches: the default transport, created at first
/// use.
#[derive(Default)]
pub(crate) struct Session {
    transport: Option<Arc<dyn Transport>>,
}

/// A fetch of new credentials, given the transport and the per-request timeout.
pub(crate) type Fetch = Pin<Box<dyn Future<Output = Result<(Credentials, SystemTime), AuthError>> + Send>>;

/// Credentials fetched from a service and renewed by [`Renewer`]'s rules (see `renew.rs`):
/// no caller holding valid credentials waits, one fetch at a time, backoff after failure.
/// Clones share the cache; a changed setting starts a new one.
#[derive(Clone)]
pub(crate) struct Renewing {
    what: &'static str,
    transport: Option<Arc<dyn Transport>>,
    clock: Arc<dyn Clock>,
    refresh_window: Duration,
    timeout: Duration,
    cache: Arc<Renewer<Credentials, Session>>,
}

impl fmt::Debug for Renewing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renewing")
            .field("refresh_window", &self.refresh_window)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Renewing {
    /// An empty cache of `what` (e.g. "OIDC credentials"), each request limited to `timeout`.
    pub(crate) fn new(what: &'static str, timeout: Duration) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        Renewing {
            what,
            transport: None,
            cache: Self::cache(what, &clock, DEFAULT_REFRESH_WINDOW),
            clock,
            refresh_window: DEFAULT_REFRESH_WINDOW,
            timeout,
        }
    }

    fn cache(
        what: &'static str,
        clock: &Arc<dyn Clock>,
        refresh_window: Duration,
    ) -> Arc<Renewer<Credentials, Session>> {
        let policy = Policy {
            refresh_window,
            jitter: 0.0,
            backoff_initial: BACKOFF_INITIAL,
            backoff_max: BACKOFF_MAX,
        };
        Arc::new(Renewer::new(what, Arc::clone(clock), policy, Session::default()))
    }

    fn reset(mut self) -> Self {
        self.cache = Self::cache(self.what, &self.clock, self.refresh_window);
        self
    }

    pub(crate) fn with_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self.reset()
    }

    pub(crate) fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self.reset()
    }

    pub(crate) fn with_refresh_window(mut self, window: Duration) -> Self {
        self.refresh_window = window;
        self.reset()
    }

    pub(crate) fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self.reset()
    }

    pub(crate) fn refresh_window(&self) -> Duration {
        self.refresh_window
    }

    /// The cached credentials, fetched with `fetch` when the renewal rules say so.
    pub(crate) async fn get<F>(&self, fetch: F) -> Result<Credentials, AuthError>
    where
        F: FnOnce(Arc<dyn Transport>, Duration) -> Fetch + Send + 'static,
    {
        let transport = self.transport.clone();
        let timeout = self.timeout;
        self.cache
            .get(
                move |mut session: OwnedMutexGuard<Session>| -> FetchFuture<Credentials, Session> {
                    Box::pin(async move {
                        let outcome = match transport.or_else(|| session.transport.clone()) {
                            Some(transport) => fetch(transport, timeout).await,
                            None => match default_transport(timeout) {
                                Ok(transport) => {
                                    session.transport = Some(Arc::clone(&transport));
                                    fetch(transport, timeout).await
                                }
                                Err(error) => Err(error),
                            },
                        };
                        (session, outcome)
                    })
                },
            )
            .await
    }
}

#[cfg(any(feature = "reqwest", feature = "hyper"))]
pub(crate) fn default_transport(connect_timeout: Duration) -> Result<Arc<dyn Transport>, AuthError> {
    crate::transport::internal_default(connect_timeout)
        .map_err(|e| AuthError::provider("cannot create the HTTP client for a credential source").with_source(e))
}

#[cfg(not(any(feature = "reqwest", feature = "hyper")))]
pub(crate) fn default_transport(_connect_timeout: Duration) -> Result<Arc<dyn Transport>, AuthError> {
    Err(AuthError::invalid(
        "no transport for the credential source: enable the `reqwest` or `hyper` feature or call with_transport(...)",
    ))
}

/// A setting that could not be used, kept to be reported at first use (so that
/// construction stays infallible and nothing is contacted).
#[derive(Clone, Debug)]
pub(crate) struct ConfigProblem {
    kind: AuthErrorKind,
    message: String,
}

impl ConfigProblem {
    pub(crate) fn missing(message: impl Into<String>) -> Self {
        ConfigProblem {
            kind: AuthErrorKind::Missing,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        ConfigProblem {
            kind: AuthErrorKind::Invalid,
            message: message.into(),
        }
    }

    pub(crate) fn error(&self) -> AuthError {
        AuthError::new(self.kind, self.message.clone())
    }
}

/// A service base URL (`https`, or `http` on loopback), as `what` in messages.
pub(crate) fn service_endpoint(url: &str, what: &str) -> Result<Uri, ConfigProblem> {
    crate::endpoint::parse_endpoint(url.trim(), false).map_err(|e| ConfigProblem::invalid(format!("{what}: {e}")))
}

/// `endpoint` with `path` appended to its path.
pub(crate) fn join(endpoint: &Uri, path: &str) -> Result<Uri, AuthError> {
    let base = endpoint.path().trim_end_matches('/');
    let mut parts = endpoint.clone().into_parts();
    parts.path_and_query = Some(
        format!("{base}{path}")
            .parse()
            .map_err(|_| AuthError::invalid(format!("cannot build the URI of {path}")))?,
    );
    Uri::from_parts(parts).map_err(|_| AuthError::invalid(format!("cannot build the URI of {path}")))
}

/// A `POST` of `body` to `uri` as `application/json;charset=UTF-8`.
pub(crate) fn json_post(uri: Uri, body: Vec<u8>) -> http::Request<Bytes> {
    let mut request = http::Request::new(Bytes::from(body));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = uri;
    request
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    request
}

/// A secret as a header value marked sensitive; `what` names it in the error.
pub(crate) fn sensitive_header(value: &Secret, what: &str) -> Result<HeaderValue, AuthError> {
    let mut header = HeaderValue::from_str(value.expose())
        .map_err(|_| AuthError::invalid(format!("{what} holds characters a header cannot carry")))?;
    header.set_sensitive(true);
    Ok(header)
}

/// Sends `request` to `service` (named in messages, e.g. "STS at https://sts...") within
/// `timeout`, reading at most `max_bytes` of the answer.
pub(crate) async fn send(
    transport: &Arc<dyn Transport>,
    request: http::Request<Bytes>,
    service: &str,
    timeout: Duration,
    max_bytes: u64,
) -> Result<http::Response<Bytes>, AuthError> {
    let what = format!("{} {}", request.method(), request.uri().path());
    let options = SendOptions::new().timeout(timeout).max_response_bytes(max_bytes);
    transport.send(request, &options).await.map_err(|e| match e.kind() {
        TransportErrorKind::ResponseTooLarge => AuthError::provider(format!(
            "the answer of {service} to {what} is larger than the {max_bytes} bytes read for it"
        ))
        .with_source(e),
        TransportErrorKind::Timeout => AuthError::provider(format!(
            "{service} did not answer {what} within {} ms",
            timeout.as_millis()
        ))
        .with_source(e),
        TransportErrorKind::Connect => AuthError::provider(format!("could not reach {service}")).with_source(e),
        _ => AuthError::provider(format!("{what} to {service} failed")).with_source(e),
    })
}

/// The trimmed contents of the token file at `path` (`what` names it in messages): at
/// most [`MAX_TOKEN_FILE_BYTES`] read, UTF-8, not empty. Read at every fetch, so that a
/// token the platform rotates (Kubernetes projected tokens) is picked up.
pub(crate) fn read_token_file(path: &Path, what: &str) -> Result<Secret, AuthError> {
    use std::io::Read as _;
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            AuthError::missing(format!("{what} {shown} does not exist"))
        } else {
            AuthError::provider(format!("cannot read {what} {shown}")).with_source(e)
        }
    })?;
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    file.take(MAX_TOKEN_FILE_BYTES.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| AuthError::provider(format!("cannot read {what} {shown}")).with_source(e))?;
    if bytes.len() as u64 > MAX_TOKEN_FILE_BYTES {
        return Err(AuthError::invalid(format!(
            "{what} {shown} is larger than {MAX_TOKEN_FILE_BYTES} bytes, which is too large for a token"
        )));
    }
    let text =
        std::str::from_utf8(&bytes).map_err(|_| AuthError::invalid(format!("{what} {shown} is not UTF-8 text")))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(AuthError::invalid(format!("{what} {shown} is empty")));
    }
    Ok(Secret::new(token))
}

/// `value` as JSON bytes; the strings of `value` (which hold a token) are cleared before
/// it is dropped.
pub(crate) fn secret_json(mut value: Value) -> Vec<u8> {
    let bytes = value.to_string().into_bytes();
    clear_strings(&mut value);
    bytes
}

fn clear_strings(value: &mut Value) {
    match value {
        Value::String(text) => zeroize::Zeroize::zeroize(text),
        Value::Array(items) => items.iter_mut().for_each(clear_strings),
        Value::Object(map) => map.values_mut().for_each(clear_strings),
        _ => {}
    }
}

/// The start of an error answer, on one line, for a message. Only error answers are
/// quoted, never one that carries credentials.
pub(crate) fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_owned();
    }
    let mut quoted: String = text
        .chars()
        .take(QUOTE_LIMIT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > QUOTE_LIMIT {
        quoted.push_str("...");
    }
    quoted
}

/// The message of a Huawei Cloud error answer (`error_msg`, `error.message`, `message`),
/// or the start of the body; printable and bounded.
pub(crate) fn service_message(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        v["error_msg"]
            .as_str()
            .or_else(|| v["error"]["message"].as_str())
            .or_else(|| v["message"].as_str())
            .map(str::to_owned)
    });
    match message {
        Some(message) => quote(message.as_bytes()),
        None => quote(body),
    }
}

/// The credentials of an answer and when they expire, as the official SDKs read them: the
/// object under `credential` or `credentials` (or the answer itself), with `access` /
/// `accessKeyId` / `access_key_id`, `secret` / `secretAccessKey` / `secret_access_key`,
/// `securitytoken` / `securityToken` / `security_token` and `expires_at` / `expiration`
/// (RFC 3339). `Err` says what is wrong with it (never a value).
pub(crate) fn parse_credential(body: &[u8]) -> Result<(Credentials, SystemTime), String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("is not JSON (line {}, column {})", e.line(), e.column()))?;
    let object = value
        .get("credential")
        .or_else(|| value.get("credentials"))
        .unwrap_or(&value);
    if !object.is_object() {
        return Err("has no credential object".to_owned());
    }
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| object.get(*name).and_then(Value::as_str).filter(|s| !s.is_empty()))
    };
    let access = field(&["access", "accessKeyId", "access_key_id"]);
    let secret = field(&["secret", "secretAccessKey", "secret_access_key"]);
    let token = field(&["securitytoken", "securityToken", "security_token"]);
    let expires = field(&["expires_at", "expiration"]);
    let missing: Vec<&str> = [
        (access.is_none(), "access"),
        (secret.is_none(), "secret"),
        (token.is_none(), "securitytoken"),
        (expires.is_none(), "expires_at"),
    ]
    .iter()
    .filter_map(|(missing, name)| missing.then_some(*name))
    .collect();
    let (Some(access), Some(secret), Some(token), Some(expires)) = (access, secret, token, expires) else {
        return Err(format!("has no {}", missing.join(", ")));
    };
    let expires_at = parse_rfc3339(expires.trim())
        .ok_or_else(|| format!("has an expires_at {expires:?} that is not a time like 2024-01-01T12:00:00.000000Z"))?;
    Ok((
        Credentials::temporary(access, Secret::new(secret), Secret::new(token), Some(expires_at)),
        expires_at,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, contents: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("fgs-token-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn token_files_are_trimmed_bounded_and_not_empty() {
        let path = temp_file("ok", b"  eyJ.token.sig\n");
        assert_eq!(
            read_token_file(&path, "the token file").unwrap().expose(),
            "eyJ.token.sig"
        );

        let err = read_token_file(&temp_file("empty", b" \n"), "the token file").unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Invalid);
        assert!(err.to_string().ends_with("is empty"), "{err}");

        let big = vec![b'a'; MAX_TOKEN_FILE_BYTES as usize + 1];
        let err = read_token_file(&temp_file("big", &big), "the token file").unwrap_err();
        assert!(err.to_string().contains("is larger than 65536 bytes"), "{err}");
        let exact = vec![b'a'; MAX_TOKEN_FILE_BYTES as usize];
        assert!(read_token_file(&temp_file("exact", &exact), "the token file").is_ok());

        let err = read_token_file(Path::new("/nonexistent/fgs-token"), "the token file").unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Missing);
        assert_eq!(err.to_string(), "the token file /nonexistent/fgs-token does not exist");

        let err = read_token_file(&temp_file("binary", b"SECRET\xff"), "the token file").unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_token_file_is_refused_after_the_limit() {
        let err = read_token_file(Path::new("/dev/zero"), "the token file").unwrap_err();
        assert!(err.to_string().contains("is larger than"), "{err}");
    }

    #[test]
    fn secret_json_clears_its_strings() {
        let bytes = secret_json(serde_json::json!({ "a": ["x", { "b": "y" }], "n": 1 }));
        assert_eq!(bytes, br#"{"a":["x",{"b":"y"}],"n":1}"#);
    }

    #[test]
    fn service_messages_are_quoted() {
        assert_eq!(
            service_message(br#"{"error_msg":"bad token","error_code":"STS.1"}"#),
            "bad token"
        );
        assert_eq!(service_message(br#"{"error":{"message":"no"}}"#), "no");
        assert_eq!(service_message(b"plain\ntext"), "plain text");
        assert_eq!(service_message(b""), "(empty body)");
    }
}
