//! The client: endpoint, transport, auth and defaults, shared by every call.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, Uri, header};

use crate::auth::{Auth, AuthContext};
use crate::error::{ConfigError, DecodeError, Error, InvalidInput};
use crate::generated::operations::{AKSK_SIGNATURE_HEADER, ErrorHeaders, IAM_TOKEN_HEADER, InvokeFunction};
use crate::generated::types::ErrorResponse;
use crate::hooks::{Hook, HookContext};
use crate::network::NetworkSettings;
use crate::project::{CredentialsProject, Discovery, LookupContext, ProjectSource};
use crate::protocol::{Operation, OperationInfo, RequestParts};
use crate::retry::{CallInfo, RetryDecision, RetryPolicy, Sleep, StandardRetry, TokioSleep};
use crate::service_error;
use crate::transport::{Delivery, ResponseTooLarge, SendOptions, Transport, TransportError};

/// Default deadline of a whole call (authentication, every attempt, every wait between
/// attempts): the longest synchronous run the service allows (`x-max-run-seconds` in the
/// spec, 900 s) plus a margin of [`DEADLINE_MARGIN`]. Set a lower
/// [`ClientBuilder::timeout`] (your function's timeout plus a few seconds) when you can.
pub const DEFAULT_TIMEOUT: Duration = {
    let run = match InvokeFunction::MAX_RUN_SECONDS {
        Some(seconds) => seconds,
        None => 900,
    };
    Duration::from_secs(run.saturating_add(DEADLINE_MARGIN.as_secs()))
};

/// What [`DEFAULT_TIMEOUT`] adds to the longest run: the exchange around it.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// Default cap on a response body: the largest legal result (6 MB) with every byte
/// escaped in the v1 JSON envelope, with room to spare.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 << 20;

/// Default limit for opening a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const USER_AGENT: &str = concat!("fgs-rust/", env!("CARGO_PKG_VERSION"));

/// A FunctionGraph client. Cheap to clone (one `Arc`), and shareable across tasks.
///
/// ```no_run
/// use fgs_core::{Client, FunctionUrn, auth::StaticToken};
///
/// # async fn demo() -> Result<(), fgs_core::Error> {
/// let client = Client::builder()
///     .region("cn-north-4")
///     .auth(StaticToken::new(std::env::var("IAM_TOKEN").unwrap_or_default()))
///     .build()?;
/// let urn: FunctionUrn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest".parse()?;
/// let output = client.invoke(&urn).json(&serde_json::json!({"name": "fgs"})).send().await?;
/// println!("{}", output.result_str()?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    /// Path of the base URL without a trailing `/`, usually empty.
    base_path: String,
    region: Option<String>,
    project: ProjectSource,
    transport: Arc<dyn Transport>,
    auth: Arc<dyn Auth>,
    timeout: Duration,
    attempt_timeout: Option<Duration>,
    max_response_bytes: u64,
    user_agent: HeaderValue,
    retry: Arc<dyn RetryPolicy>,
    sleep: Arc<dyn Sleep>,
    hooks: Vec<Arc<dyn Hook>>,
    trace_urn: bool,
    /// Request URIs of recent calls, by operation and URN.
    uris: UriCache,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Client")
            .field(
                "endpoint",
                &format_args!("{}://{}{}", inner.scheme, inner.authority, inner.base_path),
            )
            .field("region", &inner.region)
            .field("project", &inner.project)
            .field("transport", &inner.transport)
            .field("auth", &inner.auth)
            .field("timeout", &inner.timeout)
            .field("retry", &inner.retry)
            .field("hooks", &inner.hooks)
            .finish()
    }
}

/// The IAM endpoint asked for the project id when none is set
/// ([`ClientBuilder::discover_project_id`]): the global one the official SDKs use.
pub const DEFAULT_IAM_ENDPOINT: &str = "https://iam.myhuaweicloud.com";

/// Builds a [`Client`].
#[derive(Default)]
pub struct ClientBuilder {
    region: Option<String>,
    endpoint: Option<String>,
    project_id: Option<String>,
    discover_project_id: bool,
    iam_endpoint: Option<String>,
    pub(crate) credentials_project: Option<Box<dyn CredentialsProject>>,
    /// The first setting from the environment that could not be used, reported by `build`.
    pub(crate) deferred_error: Option<ConfigError>,
    transport: Option<Arc<dyn Transport>>,
    auth: Option<Arc<dyn Auth>>,
    timeout: Option<Duration>,
    attempt_timeout: Option<Duration>,
    max_response_bytes: Option<u64>,
    network: NetworkSettings,
    app_name: Option<String>,
    allow_insecure_http: bool,
    retry: Option<Arc<dyn RetryPolicy>>,
    sleep: Option<Arc<dyn Sleep>>,
    hooks: Vec<Arc<dyn Hook>>,
    trace_urn: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("project_id", &self.project_id)
            .field("transport", &self.transport)
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The region, e.g. `cn-north-4`. Without [`endpoint_url`](Self::endpoint_url) the
    /// endpoint is `https://functiongraph.{region}.myhuaweicloud.com`. With a region set,
    /// URNs of other regions are refused before sending (the service would reject them).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// An explicit base URL, e.g. a local emulator (`http://127.0.0.1:8000`) or a
    /// private endpoint. Plain `http` is accepted only for loopback addresses unless
    /// [`allow_insecure_http`](Self::allow_insecure_http) is set.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The default project id, for calls that name a function without a full URN.
    pub fn project_id(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = Some(project_id.into());
        self
    }

    /// Without a [`project_id`](Self::project_id), look the region's project up from IAM
    /// at the first call that names a function without one, as the official SDKs do: a
    /// signed `GET {iam}/v3/projects?name={region}`. The id found is kept for the client's
    /// life (clones share it); a failed lookup is not kept, so the next call asks again.
    /// It fails with [`Error::Config`] naming the region when IAM has no project of that
    /// name, several, or cannot be reached. Off by default;
    /// [`from_env`](Self::from_env) turns it on.
    pub fn discover_project_id(mut self, enabled: bool) -> Self {
        self.discover_project_id = enabled;
        self
    }

    /// The IAM endpoint for [`discover_project_id`](Self::discover_project_id) (default
    /// [`DEFAULT_IAM_ENDPOINT`]), e.g. a regional one or a local emulator. The same rules
    /// as [`endpoint_url`](Self::endpoint_url) apply.
    pub fn iam_endpoint(mut self, url: impl Into<String>) -> Self {
        self.iam_endpoint = Some(url.into());
        self
    }

    /// The credentials.
    pub fn auth(mut self, auth: impl Auth + 'static) -> Self {
        self.auth = Some(Arc::new(auth));
        self
    }

    /// The credentials, already shared.
    pub fn shared_auth(mut self, auth: Arc<dyn Auth>) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The HTTP stack. Defaults to [`ReqwestTransport`](crate::transport::ReqwestTransport)
    /// with feature `reqwest`, else to `HyperTransport` with feature `hyper`, set up from
    /// this builder's network settings. A transport passed here keeps its own settings.
    pub fn transport(mut self, transport: impl Transport + 'static) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// The HTTP stack, already shared.
    pub fn shared_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The deadline of a whole call (default [`DEFAULT_TIMEOUT`]): it covers obtaining
    /// credentials (an IAM token or metadata request), every attempt from connecting to the
    /// last byte of the response, and every wait between attempts. No retry starts that
    /// could not begin before it. When it passes after a request may have been sent, the
    /// error ([`Error::Timeout`]) says the function may have run. Calls can override it
    /// ([`Invoke::timeout`](crate::Invoke::timeout)). A duration too long to represent
    /// means no deadline.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// An optional limit for each attempt's exchange (connecting, sending, the response),
    /// within the call's [`timeout`](Self::timeout). Unset by default: an attempt may use
    /// whatever is left of the deadline. Useful with an idempotent call, so that one stuck
    /// attempt leaves time for another.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// The largest response body a call reads (default [`DEFAULT_MAX_RESPONSE_BYTES`]).
    /// A larger response fails with [`Error::ResponseTooLarge`] without being buffered:
    /// the transport refuses a `Content-Length` over the cap before reading and stops
    /// reading once the cap is passed. Calls can override it
    /// ([`Invoke::max_response_bytes`](crate::Invoke::max_response_bytes)).
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = Some(limit);
        self
    }

    /// Limit for opening a connection with the default transport
    /// (default [`DEFAULT_CONNECT_TIMEOUT`]). A transport you pass in keeps its own.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.network.connect_timeout = Some(timeout);
        self
    }

    /// Trusts `certificate` as a root for the default transport's TLS, besides the
    /// platform's roots (unless [`tls_built_in_roots`](Self::tls_built_in_roots) turns
    /// those off): for a private CA, or a self-signed local endpoint such as `fgs local --tls`.
    /// Repeatable. A transport you pass in keeps its own roots. See [`crate::network`].
    ///
    /// ```no_run
    /// use fgs_core::network::Certificate;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut builder = fgs_core::Client::builder().endpoint_url("https://fgs.internal.example");
    /// for root in Certificate::from_pem_file("/etc/pki/private-ca.pem")? {
    ///     builder = builder.add_root_certificate(root);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn add_root_certificate(mut self, certificate: crate::network::Certificate) -> Self {
        self.network.root_certificates.push(certificate);
        self
    }

    /// Whether the default transport trusts the platform's root certificates (default
    /// `true`). With `false` only the roots added with
    /// [`add_root_certificate`](Self::add_root_certificate) are trusted, and
    /// [`build`](Self::build) refuses to build without one.
    pub fn tls_built_in_roots(mut self, enabled: bool) -> Self {
        self.network.built_in_roots = enabled;
        self
    }

    /// Sends the default transport's requests through `proxy` (those it is for, less its
    /// `no_proxy` hosts); proxies are tried in the order added. Without this or
    /// [`proxy_from_env`](Self::proxy_from_env) no proxy is used, whatever the
    /// environment says. A transport you pass in keeps its own settings.
    ///
    /// ```no_run
    /// use fgs_core::network::Proxy;
    ///
    /// let builder = fgs_core::Client::builder()
    ///     .region("cn-north-4")
    ///     .proxy(Proxy::https("http://proxy.internal:3128").basic_auth("svc", "password"));
    /// ```
    pub fn proxy(mut self, proxy: crate::network::Proxy) -> Self {
        self.network.proxies.push(proxy);
        self
    }

    /// Adds the proxies the environment names, read now: `HTTPS_PROXY` (or `https_proxy`)
    /// for https endpoints, `HTTP_PROXY` (or `http_proxy`) for plain http ones, `ALL_PROXY`
    /// (or `all_proxy`) for what those leave, each with the `NO_PROXY` (or `no_proxy`)
    /// exclusions, as reqwest and curl read them. Credentials in a proxy URL are kept as a
    /// secret. Nothing is read in a CGI process (`REQUEST_METHOD` set).
    pub fn proxy_from_env(mut self) -> Self {
        self.network.proxy_from_env();
        self
    }

    /// Appended to the `User-Agent` header, e.g. `billing-service/2.1`.
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = Some(name.into());
        self
    }

    /// The retry policy (default [`StandardRetry`]: only failures where the function
    /// certainly did not run, unless a call is marked idempotent). [`NoRetry`](crate::retry::NoRetry)
    /// turns retries off.
    pub fn retry_policy(mut self, policy: impl RetryPolicy + 'static) -> Self {
        self.retry = Some(Arc::new(policy));
        self
    }

    /// How retries wait (default: the Tokio timer); tests pass a sleep that returns at once.
    pub fn sleep(mut self, sleep: impl Sleep + 'static) -> Self {
        self.sleep = Some(Arc::new(sleep));
        self
    }

    /// Records the full URN (with the project id) in the `fgs.invoke` tracing span; by
    /// default only region, package, name and qualifier are recorded.
    pub fn trace_full_urn(mut self, enabled: bool) -> Self {
        self.trace_urn = enabled;
        self
    }

    /// Adds a hook called around each attempt, after those added before.
    pub fn hook(mut self, hook: impl Hook + 'static) -> Self {
        self.hooks.push(Arc::new(hook));
        self
    }

    /// Allows plain `http` to non-loopback hosts, which sends credentials unencrypted.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(mut self) -> Result<Client, ConfigError> {
        if let Some(error) = self.deferred_error {
            return Err(error);
        }
        let config = ConfigError::new;
        let region = match &self.region {
            Some(region) => {
                fgs_urn::check_part(fgs_urn::UrnPart::Region, region)
                    .map_err(|_| config(format!("region {region:?} is not a region id like cn-north-4")))?;
                Some(region.clone())
            }
            None => None,
        };
        let url = match (&self.endpoint, &region) {
            (Some(url), _) => url.clone(),
            (None, Some(region)) => format!("https://functiongraph.{region}.myhuaweicloud.com"),
            (None, None) => return Err(config("set a region or an endpoint URL".into())),
        };
        let uri = crate::endpoint::parse_endpoint(&url, self.allow_insecure_http)
            .map_err(|e| config(format!("endpoint: {e}")))?;
        let (Some(scheme), Some(authority)) = (uri.scheme().cloned(), uri.authority().cloned()) else {
            return Err(config(format!("endpoint {url:?} has no scheme or host")));
        };
        let base_path = uri.path().trim_end_matches('/').to_owned();

        let project = self.project_source(region.is_some())?;
        let auth = self
            .auth
            .ok_or_else(|| config("no credentials: call auth(...)".into()))?;
        let transport = match self.transport {
            Some(transport) => transport,
            None => crate::network::default_transport(&self.network)?,
        };
        let user_agent = match &self.app_name {
            Some(app) => HeaderValue::from_str(&format!("{USER_AGENT} {app}"))
                .map_err(|_| config(format!("app name {app:?} cannot be sent in a header")))?,
            None => HeaderValue::from_static(USER_AGENT),
        };
        Ok(Client {
            inner: Arc::new(Inner {
                scheme,
                authority,
                base_path,
                region,
                project,
                transport,
                auth,
                timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
                attempt_timeout: self.attempt_timeout,
                max_response_bytes: self.max_response_bytes.unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
                user_agent,
                retry: self.retry.unwrap_or_else(|| Arc::new(StandardRetry::new())),
                sleep: self.sleep.unwrap_or_else(|| Arc::new(TokioSleep)),
                hooks: self.hooks,
                trace_urn: self.trace_urn,
                uris: UriCache::default(),
            }),
        })
    }
}

impl ClientBuilder {
    fn project_source(&mut self, has_region: bool) -> Result<ProjectSource, ConfigError> {
        if let Some(id) = self.project_id.take() {
            fgs_urn::check_part(fgs_urn::UrnPart::ProjectId, &id)
                .map_err(|e| ConfigError::new(format!("project id: {e}")))?;
            return Ok(ProjectSource::Fixed(id));
        }
        if !self.discover_project_id || !has_region {
            return Ok(ProjectSource::None);
        }
        let url = self.iam_endpoint.as_deref().unwrap_or(DEFAULT_IAM_ENDPOINT);
        let iam_endpoint = crate::endpoint::parse_endpoint(url, self.allow_insecure_http)
            .map_err(|e| ConfigError::new(format!("IAM endpoint: {e}")))?;
        Ok(ProjectSource::Discovered(Box::new(Discovery {
            iam_endpoint,
            from_credentials: self.credentials_project.take(),
            found: tokio::sync::OnceCell::new(),
        })))
    }
}

/// Where a call goes and how long it may take.
pub(crate) struct CallTarget<'a> {
    pub project_id: &'a str,
    pub region: &'a str,
    /// The call's deadline, started before anything else the call does.
    pub deadline: &'a Deadline,
    pub idempotent: bool,
    pub retry: Option<Arc<dyn RetryPolicy>>,
    pub max_response_bytes: Option<u64>,
    /// What alone decides the request path of this operation (the URN, for the invoke
    /// operations, whose path is the URN's project id and the URN), so that the URI can
    /// be reused; `None` builds it every time.
    pub uri_key: Option<&'a str>,
}

/// A response with the operation's success status, for the caller to decode: its typed
/// headers ([`Operation::ResponseHeaders`]) included, which the invoke output reads only
/// when asked for.
pub(crate) struct RawSuccess {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Client {
    /// A builder with no settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The region set on the builder, if any.
    pub fn region(&self) -> Option<&str> {
        self.inner.region.as_deref()
    }

    /// The default project id: the one set on the builder or found in the environment,
    /// or the one [discovered](ClientBuilder::discover_project_id) once a call needed it.
    pub fn project_id(&self) -> Option<&str> {
        self.inner.project.known()
    }

    /// The default project id, looked up from the credentials or IAM now if it is not
    /// known yet ([`ClientBuilder::discover_project_id`]). Fails with [`Error::Config`]
    /// when the client has no way to know it.
    pub async fn resolve_project_id(&self) -> Result<&str, Error> {
        self.resolve_project_id_within(&Deadline::starting_now(self.inner.timeout))
            .await
    }

    /// [`resolve_project_id`](Self::resolve_project_id) within a call's deadline.
    pub(crate) async fn resolve_project_id_within(&self, clock: &Deadline) -> Result<&str, Error> {
        let inner = &self.inner;
        let discovery = match &inner.project {
            ProjectSource::Fixed(id) => return Ok(id),
            ProjectSource::None => {
                return Err(Error::Config(ConfigError::new(
                    "no project id: set HUAWEICLOUD_SDK_PROJECT_ID, call ClientBuilder::project_id, or turn on \
                     ClientBuilder::discover_project_id (or name the function by its full URN)",
                )));
            }
            ProjectSource::Discovered(discovery) => discovery,
        };
        if let Some(id) = discovery.found.get() {
            return Ok(id);
        }
        let region = inner.region.as_deref().unwrap_or_default();
        let context = LookupContext {
            region,
            auth: &inner.auth,
            transport: &inner.transport,
            user_agent: &inner.user_agent,
            timeout: clock.remaining(),
        };
        // Boxed: the lookup happens once per client, and inline its state would enlarge
        // every call's future by a kilobyte.
        Box::pin(clock.bound("looking up the project id", discovery.project_id(&context))).await?
    }

    /// The URN a call goes to: a URN as given (after the region check), a
    /// [`FunctionRef`](crate::FunctionRef) completed with the client's region and project.
    pub(crate) async fn resolve_function(
        &self,
        function: &crate::invoke::FunctionTarget,
        clock: &Deadline,
    ) -> Result<crate::FunctionUrn, Error> {
        use crate::invoke::FunctionTarget;
        match function {
            FunctionTarget::Urn(urn) => {
                self.check_region(urn)?;
                Ok(urn.clone())
            }
            FunctionTarget::Ref(function) => {
                let Some(region) = self.region() else {
                    return Err(Error::Config(ConfigError::new(format!(
                        "function {function} is resolved in the client's region, but the client has none: set \
                         HUAWEICLOUD_SDK_REGION or call ClientBuilder::region (or name it by its full URN)"
                    ))));
                };
                let project_id = self.resolve_project_id_within(clock).await?;
                Ok(function.resolve(region, project_id)?)
            }
        }
    }

    pub(crate) fn traces_full_urn(&self) -> bool {
        self.inner.trace_urn
    }

    /// The default deadline of a call ([`ClientBuilder::timeout`]).
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The default response body cap ([`ClientBuilder::max_response_bytes`]).
    pub fn max_response_bytes(&self) -> u64 {
        self.inner.max_response_bytes
    }

    /// Refuses a URN of another region than the client's, which the service would reject
    /// after a round trip.
    pub(crate) fn check_region(&self, urn: &crate::FunctionUrn) -> Result<(), Error> {
        match &self.inner.region {
            Some(region) if region != urn.region() => Err(Error::InvalidInput(InvalidInput::WrongRegion {
                urn_region: urn.region().to_owned(),
                client_region: region.clone(),
            })),
            _ => Ok(()),
        }
    }

    /// Sends one request of operation `O` and sorts the response into success or error.
    /// Nothing is sent when the body is too large or a header cannot be built.
    ///
    /// Not an `async fn`, which would keep a second copy of the arguments in its state.
    #[allow(clippy::manual_async_fn)]
    pub(crate) fn execute<'a, O>(
        &'a self,
        params: &'a O::Request<'_>,
        body: Bytes,
        target: CallTarget<'a>,
    ) -> impl std::future::Future<Output = Result<RawSuccess, Error>> + Send + 'a
    where
        O: Operation<ErrorBody = ErrorResponse, ErrorHeaders = ErrorHeaders>,
    {
        async move {
            // A reference made at compile time: `&O::INFO` would put a copy in the state.
            let info: &'static OperationInfo = const { &O::INFO };
            let uri = match target.uri_key {
                Some(key) => match self.inner.uris.get(info.id, key) {
                    Some(uri) => {
                        check_body_size(info, &body)?;
                        uri
                    }
                    None => {
                        let uri = self.checked_uri::<O>(params, &body)?;
                        self.inner.uris.insert(info.id, key, &uri);
                        uri
                    }
                },
                None => self.checked_uri::<O>(params, &body)?,
            };
            let inner = &self.inner;
            let build = || self.build_request::<O>(params, &uri, &body);
            let context = AuthContext::new(info, target.project_id, target.region);
            let deadline = target.deadline.at;
            let timeout = target.deadline.timeout;
            let max_response_bytes = target.max_response_bytes.unwrap_or(inner.max_response_bytes);
            let policy = target.retry.clone().unwrap_or_else(|| Arc::clone(&inner.retry));
            let call = CallInfo::new(info.id, target.idempotent);
            let mut attempt: u32 = 1;
            let mut renewed_after_rejection = false;
            // Whether an earlier attempt may have run the function, for what a deadline
            // error says.
            let mut may_have_run = false;
            loop {
                tracing::Span::current().record("attempt", attempt);
                let clock = Deadline {
                    at: deadline,
                    timeout,
                    may_have_run,
                };
                let mut sent_credentials = None;
                // Timed only for the debug events below, when something listens for them.
                let attempt_started = tracing::enabled!(tracing::Level::DEBUG).then(Instant::now);
                // In a block, so that the outcome takes no room in the state while a renewal
                // or a retry's wait is awaited below.
                let error = {
                    let outcome = self
                        .attempt(
                            &build,
                            &context,
                            &clock,
                            max_response_bytes,
                            attempt,
                            &mut sent_credentials,
                        )
                        .await;
                    let elapsed_ms = attempt_started.map_or(0.0, |started| started.elapsed().as_secs_f64() * 1000.0);
                    let error = match outcome {
                        Ok(success) => {
                            tracing::debug!(
                                attempt,
                                elapsed_ms,
                                status = success.status.as_u16(),
                                "attempt answered"
                            );
                            policy.on_success(attempt);
                            return Ok(success);
                        }
                        Err(error) => error,
                    };
                    tracing::debug!(
                        attempt,
                        elapsed_ms,
                        status = error.status().map_or(0, |s| s.as_u16()),
                        error = %error,
                        "attempt failed"
                    );
                    error
                };
                may_have_run |= !error.is_retry_safe();
                // The gateway refused the credentials, so the function did not run: if the
                // auth renews them, the request goes once more, as an attempt of its own.
                if !renewed_after_rejection && self.renewed_after_refusal(&error, &sent_credentials, &clock).await? {
                    renewed_after_rejection = true;
                    attempt = attempt.saturating_add(1);
                    continue;
                }
                let delay = match policy.decide(attempt, &error, &call) {
                    RetryDecision::Stop => return Err(error),
                    RetryDecision::RetryAfter(delay) => delay,
                };
                // A retry that could only start after the deadline is not made: the caller
                // gets the error that stopped the last attempt, not a timeout hiding it.
                if clock.remaining().is_some_and(|left| delay >= left) {
                    tracing::debug!(attempt, error = %error, "not retrying: the wait would pass the deadline");
                    return Err(error);
                }
                tracing::debug!(attempt, error = %error, delay_ms = delay.as_millis() as u64, "retrying");
                inner.sleep.sleep(delay).await;
                attempt = attempt.saturating_add(1);
            }
        }
    }

    /// After a 401 (the gateway refused the credentials, so the function did not run),
    /// asks the auth to renew what was refused; `true` when the request should go once
    /// more.
    async fn renewed_after_refusal(
        &self,
        error: &Error,
        sent: &Option<SentCredentials>,
        clock: &Deadline,
    ) -> Result<bool, Error> {
        let (Error::Service(rejection), Some(refused)) = (error, sent) else {
            return Ok(false);
        };
        if rejection.status() != StatusCode::UNAUTHORIZED {
            return Ok(false);
        }
        clock
            .bound(
                "renewing the rejected credentials",
                self.inner.auth.on_rejected(rejection, &refused.to_header_map()),
            )
            .await
    }

    /// A fresh request for one attempt; the body is shared, not copied.
    fn build_request<O: Operation>(
        &self,
        params: &O::Request<'_>,
        uri: &Uri,
        body: &Bytes,
    ) -> Result<http::Request<Bytes>, Error> {
        let info = &O::INFO;
        let mut request = http::Request::new(body.clone());
        *request.method_mut() = info.method.clone();
        *request.uri_mut() = uri.clone();
        let headers = request.headers_mut();
        if let Some(content_type) = info.request_content_types.first() {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        headers.insert(header::USER_AGENT, self.inner.user_agent.clone());
        params.write_headers(headers).map_err(InvalidInput::from)?;
        Ok(request)
    }

    /// The request URI, after the checks that send nothing when they fail (the body limit
    /// of the operation).
    fn checked_uri<O: Operation>(&self, params: &O::Request<'_>, body: &Bytes) -> Result<Uri, Error> {
        check_body_size(&O::INFO, body)?;
        let inner = &self.inner;
        let path = params.path();
        let mut path_and_query = String::with_capacity(inner.base_path.len() + path.len());
        path_and_query.push_str(&inner.base_path);
        path_and_query.push_str(&path);
        Uri::builder()
            .scheme(inner.scheme.clone())
            .authority(inner.authority.clone())
            .path_and_query(path_and_query)
            .build()
            .map_err(|e| Error::Config(ConfigError::new(format!("cannot build the request URI: {e}"))))
    }

    /// One attempt, in three steps: prepare the request (hooks, authentication), send it
    /// within the deadline, sort the response into success or error.
    async fn attempt(
        &self,
        build: &impl Fn() -> Result<http::Request<Bytes>, Error>,
        context: &AuthContext<'_>,
        clock: &Deadline,
        max_response_bytes: u64,
        attempt: u32,
        sent_credentials: &mut Option<SentCredentials>,
    ) -> Result<RawSuccess, Error> {
        let hook_context = HookContext {
            operation: context.operation,
            attempt,
        };
        if clock.remaining() == Some(Duration::ZERO) {
            return Err(clock.expired("starting an attempt", Delivery::NotSent));
        }
        let options;
        // The request lives in this block only: handed to the transport before the state
        // machine waits for the response, it takes no room in it then.
        let sending = {
            let request = self.prepare(build, context, clock, &hook_context).await?;
            *sent_credentials = Some(SentCredentials::of(&request));
            // After authenticating, which may have taken some of the time left.
            options = self.send_options(clock, max_response_bytes);
            self.inner.transport.send(request, &options)
        };
        let response = self.response(sending, clock).await?;
        for hook in &self.inner.hooks {
            hook.after_response(&response, &hook_context);
        }
        sort_response(context.operation, response, max_response_bytes)
    }

    /// Builds the request, lets the hooks see it, then authenticates it (within the
    /// deadline): signing comes last, over the final headers.
    async fn prepare(
        &self,
        build: &impl Fn() -> Result<http::Request<Bytes>, Error>,
        context: &AuthContext<'_>,
        clock: &Deadline,
        hook_context: &HookContext<'_>,
    ) -> Result<http::Request<Bytes>, Error> {
        let mut request = build()?;
        for hook in &self.inner.hooks {
            hook.before_send(&mut request, hook_context)
                .map_err(|e| Error::InvalidInput(InvalidInput::Hook(e)))?;
        }
        clock
            .bound("authenticating", self.inner.auth.authenticate(&mut request, context))
            .await?
            .map_err(Error::Auth)?;
        Ok(request)
    }

    /// What the transport is given: what is left of the deadline (or the attempt timeout,
    /// if shorter) and the response cap.
    fn send_options(&self, clock: &Deadline, max_response_bytes: u64) -> SendOptions {
        let per_attempt = match (clock.remaining(), self.inner.attempt_timeout) {
            (Some(left), Some(limit)) => Some(left.min(limit)),
            (left, limit) => left.or(limit),
        };
        SendOptions {
            timeout: per_attempt,
            max_response_bytes: Some(max_response_bytes),
        }
    }

    /// Waits for the transport's answer within the deadline.
    async fn response(
        &self,
        send: crate::transport::SendFuture<'_>,
        clock: &Deadline,
    ) -> Result<http::Response<Bytes>, Error> {
        let inner = &self.inner;
        // The transport bounds the exchange itself (and knows best whether anything was
        // sent when time runs out); this guard, a little later, holds the deadline for a
        // transport that does not.
        let guard = match inner.transport.enforces_timeout() {
            true => None,
            false => clock.at.map(|at| at.checked_add(TRANSPORT_GRACE).unwrap_or(at)),
        };
        match until(guard, send).await {
            Some(sent) => sent.map_err(Error::from_transport),
            None => Err(clock.expired("waiting for the response", Delivery::MaybeSent)),
        }
    }
}

/// Refuses a body over the operation's limit, before anything is sent.
fn check_body_size(info: &OperationInfo, body: &Bytes) -> Result<(), Error> {
    match info.max_body_bytes {
        Some(limit) if body.len() as u64 > limit => Err(InvalidInput::PayloadTooLarge {
            operation: info.id,
            size: body.len(),
            limit,
        }
        .into()),
        _ => Ok(()),
    }
}

/// The request URIs of the last few (operation, URN) pairs a client called. Building one
/// percent-encodes the project id and the URN and has `http` parse the path again; a
/// client mostly calls a few functions, so a handful of entries serve nearly every call.
#[derive(Default)]
struct UriCache {
    entries: std::sync::Mutex<std::collections::VecDeque<(&'static str, Box<str>, Uri)>>,
}

impl UriCache {
    /// Entries kept; the oldest goes first.
    const CAPACITY: usize = 16;

    fn get(&self, operation: &'static str, key: &str) -> Option<Uri> {
        let entries = self.entries.lock().ok()?;
        entries
            .iter()
            .find(|(op, k, _)| *op == operation && **k == *key)
            .map(|(_, _, uri)| uri.clone())
    }

    fn insert(&self, operation: &'static str, key: &str, uri: &Uri) {
        // A poisoned lock only costs the cache.
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        // Concurrent first calls to one function all miss; one entry is enough.
        if entries.iter().any(|(op, k, _)| *op == operation && **k == *key) {
            return;
        }
        if entries.len() >= Self::CAPACITY {
            entries.pop_front();
        }
        entries.push_back((operation, key.into(), uri.clone()));
    }
}

/// Sorts a response of operation `info`: the success status as it came, an error status
/// as a [`ServiceError`](crate::ServiceError), anything else (a redirect, an unexpected
/// status) as a decode error that keeps the evidence.
fn sort_response(
    info: &OperationInfo,
    response: http::Response<Bytes>,
    max_response_bytes: u64,
) -> Result<RawSuccess, Error> {
    let (parts, body) = response.into_parts();
    // A transport that ignored the cap still gets no further than here.
    if body.len() as u64 > max_response_bytes {
        return Err(Error::ResponseTooLarge(Box::new(ResponseTooLarge {
            status: parts.status,
            headers: parts.headers,
            limit: max_response_bytes,
            announced: None,
        })));
    }
    if parts.status.as_u16() == info.success_status {
        return Ok(RawSuccess {
            status: parts.status,
            headers: parts.headers,
            body,
        });
    }
    if parts.status.is_client_error() || parts.status.is_server_error() {
        return Err(Error::Service(Box::new(service_error::read(
            info.id,
            parts.status,
            parts.headers,
            &body,
        ))));
    }
    let what = if parts.status.is_redirection() {
        let location = parts
            .headers
            .get(header::LOCATION)
            .map(|l| crate::protocol::quoted_prefix(&String::from_utf8_lossy(l.as_bytes())))
            .unwrap_or_else(|| "nowhere".into());
        format!(
            "a redirect (HTTP {} to {location}), which is not followed: credentials and the event go only to the \
             configured endpoint",
            parts.status.as_u16()
        )
    } else {
        format!(
            "an unexpected HTTP {} response (expected {})",
            parts.status.as_u16(),
            info.success_status
        )
    };
    Err(Error::Decode(Box::new(DecodeError::new(
        info.id,
        Some(parts.status),
        what,
        parts.headers,
        &body,
        None,
    ))))
}

/// How long after the deadline the client stops a transport that ignored
/// [`SendOptions::timeout`].
const TRANSPORT_GRACE: Duration = Duration::from_millis(250);

/// The credential headers a request carried, kept (without copying the values) so that a
/// refusal can name what was refused.
struct SentCredentials {
    iam_token: Option<HeaderValue>,
    signature: Option<HeaderValue>,
}

impl SentCredentials {
    /// The first value of each credentials header, as `HeaderMap::get` would give it, in
    /// one pass over the request's few headers rather than two hashed lookups.
    fn of(request: &http::Request<Bytes>) -> Self {
        let mut sent = SentCredentials {
            iam_token: None,
            signature: None,
        };
        for (name, value) in request.headers() {
            let slot = if *name == IAM_TOKEN_HEADER {
                &mut sent.iam_token
            } else if *name == AKSK_SIGNATURE_HEADER {
                &mut sent.signature
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = Some(value.clone());
            }
        }
        sent
    }

    fn to_header_map(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(token) = &self.iam_token {
            headers.insert(IAM_TOKEN_HEADER, token.clone());
        }
        if let Some(signature) = &self.signature {
            headers.insert(AKSK_SIGNATURE_HEADER, signature.clone());
        }
        headers
    }
}

/// The one deadline of a call, covering authentication, every attempt and every wait.
pub(crate) struct Deadline {
    at: Option<tokio::time::Instant>,
    timeout: Duration,
    may_have_run: bool,
}

impl Deadline {
    /// A deadline `timeout` from now. One too far to represent is no deadline: nothing
    /// overflows.
    pub(crate) fn starting_now(timeout: Duration) -> Self {
        Deadline {
            at: tokio::time::Instant::now().checked_add(timeout),
            timeout,
            may_have_run: false,
        }
    }

    /// Time left; `None` when the call has no representable deadline.
    fn remaining(&self) -> Option<Duration> {
        self.at
            .map(|at| at.saturating_duration_since(tokio::time::Instant::now()))
    }

    /// Runs `work` until the deadline.
    async fn bound<T>(&self, phase: &'static str, work: impl std::future::Future<Output = T>) -> Result<T, Error> {
        until(self.at, work)
            .await
            .ok_or_else(|| self.expired(phase, Delivery::NotSent))
    }

    /// The error for a deadline reached during `phase`. It says the request may have
    /// reached the service if this phase or an earlier attempt may have sent it.
    fn expired(&self, phase: &'static str, delivery: Delivery) -> Error {
        let delivery = if self.may_have_run {
            Delivery::MaybeSent
        } else {
            delivery
        };
        Error::Timeout(TransportError::timeout(
            delivery,
            DeadlineReached {
                timeout: self.timeout,
                phase,
            },
        ))
    }
}

/// Runs `work` until `at`; `None` when `at` came first.
///
/// The timer is made only when `work` does not finish at once (a cached token, an
/// in-memory transport cost nothing), and only inside a Tokio runtime: on another
/// executor the transport's own [`SendOptions::timeout`] is the only limit, rather than a
/// panic.
async fn until<T>(at: Option<tokio::time::Instant>, work: impl std::future::Future<Output = T>) -> Option<T> {
    use std::task::Poll;
    let mut work = std::pin::pin!(work);
    let mut timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    let runtime = at.is_some() && tokio::runtime::Handle::try_current().is_ok();
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        let Some(at) = at.filter(|_| runtime) else {
            return Poll::Pending;
        };
        let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// The call's deadline passed.
#[derive(Debug)]
struct DeadlineReached {
    timeout: Duration,
    phase: &'static str,
}

impl fmt::Display for DeadlineReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the call's {:?} deadline passed while {}", self.timeout, self.phase)
    }
}

impl std::error::Error for DeadlineReached {}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> ClientBuilder {
        Client::builder().auth(crate::auth::StaticToken::new("t"))
    }

    fn config_error(result: Result<Client, ConfigError>) -> String {
        match result {
            Err(error) => error.message().to_owned(),
            Ok(client) => panic!("expected a configuration error, got {client:?}"),
        }
    }

    #[test]
    fn sent_credentials_are_the_first_value_of_each_header() {
        let mut request = http::Request::new(Bytes::new());
        assert!(SentCredentials::of(&request).iam_token.is_none());
        let headers = request.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.append(IAM_TOKEN_HEADER, HeaderValue::from_static("first"));
        headers.insert(header::USER_AGENT, HeaderValue::from_static("agent"));
        headers.append(IAM_TOKEN_HEADER, HeaderValue::from_static("second"));
        headers.insert(AKSK_SIGNATURE_HEADER, HeaderValue::from_static("signature"));
        let sent = SentCredentials::of(&request);
        assert_eq!(sent.iam_token.as_ref(), request.headers().get(IAM_TOKEN_HEADER));
        assert_eq!(sent.signature.as_ref(), request.headers().get(AKSK_SIGNATURE_HEADER));
        assert_eq!(sent.iam_token.unwrap(), "first");
    }

    #[test]
    fn endpoint_from_region() {
        let client = builder().region("cn-north-4").build().unwrap();
        assert_eq!(
            client.inner.authority.as_str(),
            "functiongraph.cn-north-4.myhuaweicloud.com"
        );
        assert_eq!(client.inner.scheme, http::uri::Scheme::HTTPS);
        assert_eq!(client.region(), Some("cn-north-4"));
        assert_eq!(client.timeout(), DEFAULT_TIMEOUT);
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(builder().endpoint_url("http://127.0.0.1:9000").build().is_ok());
        assert!(builder().endpoint_url("http://[::1]:9000/").build().is_ok());
        assert!(builder().endpoint_url("http://localhost:9000").build().is_ok());
        let message = config_error(builder().endpoint_url("http://fgs.example.com").build());
        assert!(message.contains("plain http"), "{message}");
        assert!(
            builder()
                .endpoint_url("http://fgs.example.com")
                .allow_insecure_http(true)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn refuses_unusable_settings() {
        assert!(config_error(builder().build()).contains("region or an endpoint"));
        assert!(config_error(builder().region("CN North").build()).contains("region"));
        assert!(config_error(builder().endpoint_url("ftp://x").build()).contains("http or https"));
        assert!(config_error(builder().endpoint_url("not a url").build()).contains("not an absolute URL"));
        assert!(config_error(builder().endpoint_url("https://x/?a=1").build()).contains("query"));
        assert!(config_error(Client::builder().region("cn-north-4").build()).contains("credentials"));
        assert!(config_error(builder().region("cn-north-4").app_name("a\nb").build()).contains("app name"));
    }

    #[test]
    fn base_path_is_kept_without_trailing_slash() {
        let client = builder().endpoint_url("https://gw.example.com/fgs/").build().unwrap();
        assert_eq!(client.inner.base_path, "/fgs");
    }

    #[test]
    fn uri_cache_keeps_the_latest_entries_per_operation_and_key() {
        let cache = UriCache::default();
        let uri = |n: usize| -> Uri { format!("http://127.0.0.1/{n}").parse().unwrap() };
        for n in 0..UriCache::CAPACITY + 2 {
            cache.insert("invoke", &format!("urn-{n}"), &uri(n));
        }
        assert_eq!(cache.get("invoke", "urn-0"), None, "the oldest went first");
        assert_eq!(cache.get("invoke", "urn-1"), None);
        assert_eq!(cache.get("invoke", "urn-2"), Some(uri(2)));
        let last = UriCache::CAPACITY + 1;
        assert_eq!(cache.get("invoke", &format!("urn-{last}")), Some(uri(last)));
        assert_eq!(cache.get("invokeAsync", "urn-2"), None, "keyed by operation too");
        // A key already there is not added again (and so evicts nothing).
        cache.insert("invoke", "urn-2", &uri(99));
        assert_eq!(cache.get("invoke", "urn-2"), Some(uri(2)));
        assert_eq!(cache.get("invoke", "urn-3"), Some(uri(3)));
    }

    #[test]
    fn debug_shows_no_secret() {
        let client = Client::builder()
            .region("cn-north-4")
            .auth(crate::auth::StaticToken::new("super-secret"))
            .build()
            .unwrap();
        assert!(!format!("{client:?}").contains("super-secret"));
    }
}
