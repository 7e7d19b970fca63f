//! The running emulator, its builder, and the accept loop.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::fault::FaultRule;
use crate::function::Function;
use crate::handle;
use crate::record::{InvocationRecord, RecordLimits, RecordedRequest};
use crate::state::{AccessKey, Config, FederatedIdentity, IamProject, IamUser, OidcAgency, SecretKey, Shared, State};
use crate::tls::{self, TlsIdentity};
use crate::{ids, time};

/// The project id used when none is configured.
pub const DEFAULT_PROJECT_ID: &str = "0123456789abcdef0123456789abcdef";
/// The region used when none is configured.
pub const DEFAULT_REGION: &str = "cn-north-4";
/// How long issued IAM tokens live unless configured (the service's 24 h).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// How many recent requests, and how many recent runs, are kept unless configured.
pub const DEFAULT_RECORD_LIMIT: usize = 1_000;
/// How many bytes of each body, event and log are kept in records unless configured: the
/// largest synchronous request (6 MiB), so that by default nothing is cut.
pub const DEFAULT_RECORD_BODY_LIMIT: usize = handle::SYNC_BODY_LIMIT;
/// How many bytes of bodies the request window holds in all, and of events and logs the
/// run window, unless configured (64 MiB each): the oldest records leave first.
pub const DEFAULT_RECORD_MEMORY_LIMIT: usize = 64 * 1024 * 1024;
/// How long a client may take to send a request's head (and how long a kept-alive
/// connection may sit idle) unless configured.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client may take to send a request's body unless configured.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How many connections are served at once unless configured; more wait to be accepted.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1_024;
/// The longest duration any setting takes (about 100 years): longer ones are clamped.
pub const MAX_DURATION: Duration = time::MAX_DURATION;
/// How long `shutdown` lets open connections finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Builds an [`Emulator`].
///
/// Authentication is on by default: configure at least one [`token`](Self::token),
/// [`access_key`](Self::access_key) or [`iam_user`](Self::iam_user), or turn it off with
/// [`without_auth`](Self::without_auth).
#[must_use]
pub struct EmulatorBuilder {
    bind: SocketAddr,
    config: Config,
    functions: Vec<Function>,
    tokens: Vec<String>,
    tls: Option<TlsIdentity>,
}

impl fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("bind", &self.bind)
            .field("project_id", &self.config.project_id)
            .field("region", &self.config.region)
            .field(
                "functions",
                &self.functions.iter().map(Function::id).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            config: Config {
                project_id: DEFAULT_PROJECT_ID.to_owned(),
                region: DEFAULT_REGION.to_owned(),
                auth_required: true,
                access_keys: HashMap::new(),
                iam_users: Vec::new(),
                own_iam_project: true,
                iam_projects: Vec::new(),
                domain_id: ids::hex32(),
                token_lifetime: DEFAULT_TOKEN_LIFETIME,
                observer: None,
                metadata_lifetime: None,
                federated_identities: Vec::new(),
                oidc_agencies: Vec::new(),
                pod_identity_tokens: Vec::new(),
                temporary_lifetime: None,
                records: RecordLimits {
                    count: Some(DEFAULT_RECORD_LIMIT),
                    body: DEFAULT_RECORD_BODY_LIMIT,
                    total: DEFAULT_RECORD_MEMORY_LIMIT,
                },
                header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
                body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
                max_connections: DEFAULT_MAX_CONNECTIONS,
            },
            functions: Vec::new(),
            tokens: Vec::new(),
            tls: None,
        }
    }
}

impl EmulatorBuilder {
    /// The address to listen on (default `127.0.0.1:0`, an ephemeral port on loopback).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// The project id URNs must carry (default [`DEFAULT_PROJECT_ID`]).
    pub fn project_id(mut self, project_id: impl Into<String>) -> Self {
        self.config.project_id = project_id.into();
        self
    }

    /// The region (default [`DEFAULT_REGION`]); IAM tokens are scoped to it.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.config.region = region.into();
        self
    }

    /// Registers a function.
    pub fn function(mut self, function: Function) -> Self {
        self.functions.push(function);
        self
    }

    /// Accepts `token` as `X-Auth-Token`; it never expires.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.tokens.push(token.into());
        self
    }

    /// Accepts requests signed with this permanent key pair.
    pub fn access_key(mut self, access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        self.config.access_keys.insert(
            access_key.into(),
            AccessKey {
                secret: secret_key.into(),
                security_token: None,
            },
        );
        self
    }

    /// Accepts requests signed with this temporary key pair, which must carry
    /// `X-Security-Token: security_token`.
    pub fn temporary_access_key(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
        security_token: impl Into<String>,
    ) -> Self {
        self.config.access_keys.insert(
            access_key.into(),
            AccessKey {
                secret: secret_key.into(),
                security_token: Some(security_token.into()),
            },
        );
        self
    }

    /// An IAM user that may obtain tokens from `POST /v3/auth/tokens` (password method).
    pub fn iam_user(mut self, domain: impl Into<String>, name: impl Into<String>, password: impl Into<String>) -> Self {
        self.config.iam_users.push(IamUser {
            domain: domain.into(),
            name: name.into(),
            password: password.into(),
        });
        self
    }

    /// A project that IAM's project lookup (`GET /v3/projects`) lists, after the
    /// emulator's own: by default IAM lists one project, named after the
    /// [region](Self::region), whose id is the [project id](Self::project_id), so that a
    /// client looking its project up by region gets the id its invocations need.
    /// Repeatable; projects may share a name, so a lookup by that name finds several
    /// (which the official SDKs refuse). Projects added here only change what IAM lists,
    /// not the project id invocations must carry.
    pub fn iam_project(mut self, name: impl Into<String>, id: impl Into<String>) -> Self {
        self.config.iam_projects.push(IamProject {
            name: name.into(),
            id: id.into(),
        });
        self
    }

    /// Makes IAM's project lookup (`GET /v3/projects`) list no project: neither the
    /// emulator's own nor those added so far by [`iam_project`](Self::iam_project) (those
    /// added after are listed). For testing a client that finds no project.
    pub fn no_iam_projects(mut self) -> Self {
        self.config.own_iam_project = false;
        self.config.iam_projects.clear();
        self
    }

    /// How long issued tokens live (default 24 h); short lifetimes test expiry. Longer
    /// than [`MAX_DURATION`] is taken as that.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.token_lifetime = time::clamp_duration(lifetime);
        self
    }

    /// Keeps the `limit` most recent requests and the `limit` most recent runs for
    /// [`Emulator::requests`] and [`Emulator::invocations`] (default
    /// [`DEFAULT_RECORD_LIMIT`]), so that a long-running emulator does not grow without
    /// end. Counts ([`Emulator::request_count`], [`Emulator::invocation_count`]) stay exact.
    /// `0` keeps none.
    pub fn record_limit(mut self, limit: usize) -> Self {
        self.config.records.count = Some(limit);
        self
    }

    /// Keeps every request and run, whatever their number and size: memory grows with
    /// each call, so only for short runs that need all of them.
    pub fn unbounded_records(mut self) -> Self {
        self.config.records.count = None;
        self.config.records.total = usize::MAX;
        self
    }

    /// How many bytes of bodies the request window holds in all, and of events and logs
    /// the run window (default [`DEFAULT_RECORD_MEMORY_LIMIT`] each): past it, the oldest
    /// records leave the window (the newest always stays).
    pub fn record_memory_limit(mut self, bytes: usize) -> Self {
        self.config.records.total = bytes;
        self
    }

    /// Keeps at most `bytes` of each recorded body, event and function log (default
    /// [`DEFAULT_RECORD_BODY_LIMIT`]); longer ones are cut and marked
    /// ([`RecordedRequest::body_truncated`], [`InvocationRecord::event_truncated`],
    /// [`InvocationRecord::log_truncated`]).
    pub fn record_body_limit(mut self, bytes: usize) -> Self {
        self.config.records.body = bytes;
        self
    }

    /// How long a client may take to send a request's head, and how long a kept-alive
    /// connection may sit idle before it is closed (default
    /// [`DEFAULT_HEADER_READ_TIMEOUT`]; at most [`MAX_DURATION`]).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.header_read_timeout = time::clamp_duration(timeout);
        self
    }

    /// How long a client may take to send a request's body (default
    /// [`DEFAULT_BODY_READ_TIMEOUT`]; at most [`MAX_DURATION`]); a slower one gets 400
    /// `FSS.0400` and the function does not run.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.body_read_timeout = time::clamp_duration(timeout);
        self
    }

    /// Serves at most `max` connections at once (default [`DEFAULT_MAX_CONNECTIONS`];
    /// at least 1); further clients wait in the listen backlog until one closes.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.config.max_connections = max.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// Calls `observer` with each finished run (from the server's tasks; keep it quick).
    pub fn on_invocation(mut self, observer: impl Fn(&InvocationRecord) + Send + Sync + 'static) -> Self {
        self.config.observer = Some(Arc::new(observer));
        self
    }

    /// Serves ECS/CCE instance metadata (`PUT /meta-data/latest/api/token`,
    /// `GET /openstack/latest/securitykey`) handing out temporary credentials that live
    /// for `lifetime` (at most [`MAX_DURATION`]) and that invoke requests accept.
    pub fn metadata_credentials(mut self, lifetime: Duration) -> Self {
        self.config.metadata_lifetime = Some(time::clamp_duration(lifetime));
        self
    }

    /// Lets IAM exchange `id_token` from identity provider `idp_id` for a token
    /// (`POST /v3.0/OS-AUTH/id-token/tokens` with `X-Idp-Id`), for which
    /// `POST /v3.0/OS-CREDENTIAL/securitytokens` issues temporary keys that invoke
    /// requests accept: the official SDKs' federation (`HUAWEICLOUD_SDK_IDP_ID` with
    /// `HUAWEICLOUD_SDK_ID_TOKEN_FILE`). Repeatable.
    pub fn federated_identity(mut self, idp_id: impl Into<String>, id_token: impl Into<String>) -> Self {
        self.config.federated_identities.push(FederatedIdentity {
            idp_id: idp_id.into(),
            id_token: id_token.into(),
        });
        self
    }

    /// Lets STS's `POST /v5/agencies/assume-with-oidc` assume `agency_urn` through
    /// `provider_urn` with `id_token`, issuing temporary keys that invoke requests accept.
    /// Repeatable.
    pub fn oidc_agency(
        mut self,
        provider_urn: impl Into<String>,
        agency_urn: impl Into<String>,
        id_token: impl Into<String>,
    ) -> Self {
        self.config.oidc_agencies.push(OidcAgency {
            provider_urn: provider_urn.into(),
            agency_urn: agency_urn.into(),
            id_token: id_token.into(),
        });
        self
    }

    /// Serves a CCE pod identity endpoint at [`Emulator::pod_identity_uri`] that issues
    /// temporary keys (accepted by invoke requests) to requests whose `Authorization` is
    /// `token`. Repeatable.
    pub fn pod_identity(mut self, token: impl Into<String>) -> Self {
        self.config.pod_identity_tokens.push(token.into());
        self
    }

    /// How long the temporary keys of IAM's `securitytokens`, STS and the pod identity
    /// endpoint live (at most [`MAX_DURATION`]), whatever the request asks: short
    /// lifetimes test expiry. By default, what the request asks (`duration_seconds`; pod
    /// identity: 1 hour).
    pub fn temporary_credentials_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.temporary_lifetime = Some(time::clamp_duration(lifetime));
        self
    }

    /// Accepts every request without credentials.
    pub fn without_auth(mut self) -> Self {
        self.config.auth_required = false;
        self
    }

    /// Serves HTTPS with `identity` instead of plain HTTP: [`Emulator::endpoint`] is then
    /// `https://...`, and clients trust the identity's certificate (for a
    /// [self-signed](TlsIdentity::self_signed) one, by adding it as a root). The TLS
    /// handshake must finish within the [header read timeout](Self::header_read_timeout);
    /// a connection whose handshake fails is closed, nothing of it recorded.
    pub fn tls(mut self, identity: TlsIdentity) -> Self {
        self.tls = Some(identity);
        self
    }

    /// Binds the listener and starts serving on the current Tokio runtime. Fails with
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) when the [TLS identity](Self::tls)
    /// cannot be used.
    pub async fn start(self) -> std::io::Result<Emulator> {
        let acceptor = self.tls.as_ref().map(TlsIdentity::acceptor).transpose()?;
        let listener = TcpListener::bind(self.bind).await?;
        let addr = listener.local_addr()?;
        let mut state = State::new(&self.config);
        for function in self.functions {
            state.add_function(function);
        }
        state
            .tokens
            .extend(self.tokens.into_iter().map(|token| (SecretKey(token), None)));
        let shared = Arc::new(Shared::new(self.config, state));
        let (stop, stopped) = watch::channel(false);
        let tls = acceptor.is_some();
        let accept_task = tokio::spawn(accept_loop(listener, acceptor, Arc::clone(&shared), stopped));
        Ok(Emulator {
            addr,
            tls,
            shared,
            stop,
            accept_task: Some(accept_task),
        })
    }
}

/// A running emulator. Dropping it stops the server at once; [`shutdown`](Self::shutdown)
/// stops it cleanly.
///
/// ```
/// use fgs_emulator::{Emulator, Function, Handler};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let emulator = Emulator::builder()
///     .token("local-token")
///     .function(Function::new("default", "echo", Handler::from_fn(|event, _ctx| async move { Ok(event) })))
///     .start()
///     .await?;
/// println!("FunctionGraph at {}", emulator.endpoint());
/// println!("invoke {}", emulator.urn("default", "echo", Some("latest")));
/// emulator.shutdown().await;
/// # Ok(()) }
/// ```
pub struct Emulator {
    addr: SocketAddr,
    /// Whether it serves HTTPS.
    tls: bool,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    accept_task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("endpoint", &self.endpoint())
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// A builder with the defaults: `127.0.0.1:0`, [`DEFAULT_PROJECT_ID`],
    /// [`DEFAULT_REGION`], authentication on.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Base URL, e.g. `http://127.0.0.1:38123` (`https://` when it [serves
    /// TLS](EmulatorBuilder::tls)); also the IAM endpoint (tokens and project lookup).
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The URI of the pod identity endpoint ([`EmulatorBuilder::pod_identity`]), what
    /// `HC_CONTAINER_CREDENTIALS_FULL_URI` holds for it.
    pub fn pod_identity_uri(&self) -> String {
        format!("{}{}", self.endpoint(), crate::federation::POD_IDENTITY_PATH)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The project id URNs must carry.
    pub fn project_id(&self) -> &str {
        &self.shared.config.project_id
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.shared.config.region
    }

    /// The URN of a function here; `qualifier` as in a URN (`Some("latest")`,
    /// `Some("!prod")`) or `None`.
    pub fn urn(&self, package: &str, name: &str, qualifier: Option<&str>) -> String {
        let mut urn = format!(
            "urn:fss:{}:{}:function:{package}:{name}",
            self.region(),
            self.project_id()
        );
        if let Some(qualifier) = qualifier {
            urn.push(':');
            urn.push_str(qualifier);
        }
        urn
    }

    /// Registers a function, replacing one with the same package and name.
    pub fn add_function(&self, function: Function) {
        self.shared.lock().add_function(function);
    }

    /// Adds a fault rule. Rules are tried in the order added; the first that applies
    /// to a request is used.
    pub fn inject(&self, rule: FaultRule) {
        self.shared.lock().faults.push(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Issues a token as `POST /v3/auth/tokens` would, valid for the configured lifetime.
    pub fn issue_token(&self) -> String {
        self.shared.issue_token().0
    }

    /// Issues temporary credentials as the metadata endpoint would: `(access key, secret
    /// key, security token)`, valid for `lifetime`.
    pub fn issue_temporary_credentials(&self, lifetime: Duration) -> (String, String, String) {
        let (ak, sk, token, _) = self.shared.issue_temporary_key(lifetime);
        (ak, sk, token)
    }

    /// The most recent requests that reached the server (all of them unless more than the
    /// [record limit](EmulatorBuilder::record_limit) arrived since the last
    /// [`clear_records`](Self::clear_records)), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().records.requests()
    }

    /// How many TCP connections were accepted: with keep-alive, fewer than requests.
    pub fn connection_count(&self) -> usize {
        self.shared.connections.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many requests reached the server since the start or the last
    /// [`clear_records`](Self::clear_records), counting those no longer in the window.
    pub fn request_count(&self) -> usize {
        self.shared.lock().records.request_count()
    }

    /// How many requests and how many runs the record windows hold now: at most the
    /// [record limit](EmulatorBuilder::record_limit) each.
    pub fn records_held(&self) -> (usize, usize) {
        self.shared.lock().records.held()
    }

    /// Forgets the recorded requests and finished runs, and resets the counts (runs still
    /// going are kept and counted).
    pub fn clear_records(&self) {
        self.shared.lock().records.clear();
    }

    /// The most recent runs of any function (see [`requests`](Self::requests) for the
    /// window), in start order, finished or not.
    pub fn invocations(&self) -> Vec<InvocationRecord> {
        self.shared.lock().records.invocations()
    }

    /// How many times function `package/name` (any version) started running since the
    /// start or the last [`clear_records`](Self::clear_records): exact, however many runs
    /// the window holds.
    pub fn invocation_count(&self, package: &str, name: &str) -> usize {
        self.shared.lock().records.run_count(package, name)
    }

    /// The run with this request id, if it is still in the window.
    pub fn invocation(&self, request_id: &str) -> Option<InvocationRecord> {
        self.shared.lock().records.invocation(request_id)
    }

    /// Waits until the run with this request id has finished (or `timeout` passes) and
    /// returns it; for asynchronous invocations.
    pub async fn wait_for_invocation(&self, request_id: &str, timeout: Duration) -> Option<InvocationRecord> {
        let deadline = tokio::time::Instant::from_std(time::instant_after(std::time::Instant::now(), timeout));
        loop {
            let notified = self.shared.finished.notified();
            if let Some(record) = self.invocation(request_id).filter(|r| r.outcome.is_some()) {
                return Some(record);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// Stops accepting connections, lets open ones finish their current exchange (up to
    /// 5 s), and waits for the server to stop.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.accept_task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(task) = &self.accept_task {
            task.abort();
        }
    }
}

/// Accepts connections until told to stop, then shuts the open ones down gracefully.
/// Connections live in a `JoinSet` owned by this task, so aborting it aborts them too.
async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let slots = Arc::new(Semaphore::new(shared.config.max_connections));
    loop {
        while connections.try_join_next().is_some() {}
        // At the connection cap, wait for one to close before accepting: further clients
        // wait in the listen backlog.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // E.g. too many open files: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        shared.connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let shared = Arc::clone(&shared);
        let mut stop = stop.clone();
        let header_read_timeout = shared.config.header_read_timeout;
        let tls = tls.clone();
        connections.spawn(async move {
            let _slot = slot;
            let Some(stream) = tls::accept(tls.as_ref(), stream, header_read_timeout, &mut stop).await else {
                return;
            };
            let service = service_fn(move |request| handle::serve(Arc::clone(&shared), request));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
}
