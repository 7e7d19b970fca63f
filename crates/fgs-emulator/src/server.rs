//! The server: public types, shared state and the accept loop.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::handle;

/// A function handler: called once per invocation with the event, returns
/// what the function did.
pub(crate) type Handler = Arc<dyn Fn(Invocation) -> Outcome + Send + Sync>;

/// One invocation of a registered function, as seen by its handler.
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation {
    /// The event: the request body parsed as JSON (`{}` for an empty body).
    pub event: serde_json::Value,
    /// The request id, also sent back in the `X-Cff-Request-Id` header.
    pub request_id: String,
    /// The function URN from the request path, percent-decoded.
    pub urn: String,
    /// The version that was invoked, after resolving an alias or a missing
    /// qualifier (`latest`).
    pub version: String,
    /// The instance memory in MB (`X-Cff-Instance-Memory`, default 128).
    pub memory_mb: u32,
}

/// What a function handler did.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The function returned `result` (serialized to a string with serde_json for the v1 `result` field / v0 body)
    /// and wrote `log` lines.
    Return {
        /// The return value.
        result: serde_json::Value,
        /// Log lines written by the function, without trailing newlines.
        log: Vec<String>,
    },
    /// The function raised an error.
    Raise {
        /// The error type, e.g. `ValueError` (`errorType` in the result).
        error_type: String,
        /// The error message (`errorMessage` in the result).
        error_message: String,
        /// The stack trace lines (`stackTrace` in the result).
        stack_trace: Vec<String>,
        /// Log lines written by the function before it raised.
        log: Vec<String>,
    },
}

impl Outcome {
    /// A successful return of `result` without log lines.
    #[must_use]
    pub fn ok(result: serde_json::Value) -> Outcome {
        Outcome::Return {
            result,
            log: Vec::new(),
        }
    }

    /// A raised error without stack trace or log lines.
    #[must_use]
    pub fn error(error_type: impl Into<String>, error_message: impl Into<String>) -> Outcome {
        Outcome::Raise {
            error_type: error_type.into(),
            error_message: error_message.into(),
            stack_trace: Vec::new(),
            log: Vec::new(),
        }
    }
}

/// A request as it reached the server, recorded before any handling.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// The request method.
    pub method: http::Method,
    /// The request target as received (path and query, percent-encoding
    /// kept), e.g. `/v2/{project}/fgs/functions/urn%3Afss%3A.../invocations`.
    pub path: String,
    /// The request headers.
    pub headers: http::HeaderMap,
    /// The request body. Empty when the body was over the size limit (it is
    /// not buffered then) or could not be read.
    pub body: Bytes,
}

/// A canned response queued with [`LocalFunctionGraph::respond_next`].
#[derive(Clone, Debug)]
pub(crate) struct Canned {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
}

/// The versions and aliases of one registered function.
#[derive(Default)]
struct Function {
    versions: HashMap<String, Handler>,
    /// Alias name (without `!`) → version.
    aliases: HashMap<String, String>,
}

/// The result of looking up a function by package, name and qualifier.
pub(crate) enum Resolved {
    /// The handler to run and the version it was registered for.
    Found { handler: Handler, version: String },
    /// No function with that package and name.
    NoFunction,
    /// The function exists but not the version (also when an alias points
    /// to a version that is not registered).
    NoVersion,
    /// The function exists but not the alias.
    NoAlias,
}

/// Mutable server state.
#[derive(Default)]
pub(crate) struct State {
    functions: HashMap<(String, String), Function>,
    canned: VecDeque<Canned>,
    requests: Vec<RecordedRequest>,
    invocations: HashMap<(String, String), usize>,
}

impl State {
    pub(crate) fn record(&mut self, request: RecordedRequest) {
        self.requests.push(request);
    }

    pub(crate) fn next_canned(&mut self) -> Option<Canned> {
        self.canned.pop_front()
    }

    pub(crate) fn count_invocation(&mut self, package: &str, name: &str) {
        *self
            .invocations
            .entry((package.to_owned(), name.to_owned()))
            .or_default() += 1;
    }

    /// Looks a function up. `qualifier` is `None` for `latest`.
    pub(crate) fn resolve(&self, package: &str, name: &str, qualifier: Option<fgs_urn::Qualifier<'_>>) -> Resolved {
        let Some(function) = self.functions.get(&(package.to_owned(), name.to_owned())) else {
            return Resolved::NoFunction;
        };
        let version = match qualifier {
            None => "latest",
            Some(fgs_urn::Qualifier::Version(version)) => version,
            Some(fgs_urn::Qualifier::Alias(alias)) => match function.aliases.get(alias) {
                Some(version) => version.as_str(),
                None => return Resolved::NoAlias,
            },
        };
        match function.versions.get(version) {
            Some(handler) => Resolved::Found {
                handler: Arc::clone(handler),
                version: version.to_owned(),
            },
            None => Resolved::NoVersion,
        }
    }
}

/// State shared between the [`LocalFunctionGraph`] handle and the
/// connection tasks.
pub(crate) struct Shared {
    /// The expected `X-Auth-Token`.
    pub(crate) token: String,
    state: Mutex<State>,
}

impl Shared {
    /// Locks the state, ignoring poisoning (a panicking handler never holds
    /// the lock, and the state stays consistent between statements).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An in-process stand-in for the FunctionGraph invoke API, serving HTTP/1.1
/// on `127.0.0.1` and an ephemeral port.
///
/// See the [crate documentation](crate) for the routes and responses.
/// Dropping it stops the server: the accept loop and every open connection
/// are aborted.
pub struct LocalFunctionGraph {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_task: JoinHandle<()>,
}

impl LocalFunctionGraph {
    /// The project id of the URNs the server is used with.
    pub const PROJECT_ID: &'static str = "0123456789abcdef0123456789abcdef";
    /// The region of the URNs the server is used with.
    pub const REGION: &'static str = "cn-north-4";
    /// The `X-Auth-Token` expected by a server built with [`start`](Self::start).
    pub const TOKEN: &'static str = "local-test-token";

    /// Starts a server expecting [`TOKEN`](Self::TOKEN).
    ///
    /// Must be called inside a Tokio runtime; the server runs on it until
    /// dropped.
    ///
    /// # Errors
    ///
    /// Returns the error of binding the listening socket.
    pub async fn start() -> std::io::Result<LocalFunctionGraph> {
        Self::start_with_token(Self::TOKEN).await
    }

    /// Starts a server expecting `token` as `X-Auth-Token`.
    ///
    /// # Errors
    ///
    /// Returns the error of binding the listening socket.
    pub async fn start_with_token(token: impl Into<String>) -> std::io::Result<LocalFunctionGraph> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            token: token.into(),
            state: Mutex::new(State::default()),
        });
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(LocalFunctionGraph {
            addr,
            shared,
            accept_task,
        })
    }

    /// The base URL of the server: `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on (always `127.0.0.1`).
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URN of a function in [`REGION`](Self::REGION) and
    /// [`PROJECT_ID`](Self::PROJECT_ID), not percent-encoded.
    ///
    /// `qualifier` is written as in a URN: `Some("latest")`, `Some("!prod")`,
    /// or `None` for an unqualified URN.
    #[must_use]
    pub fn urn(&self, package: &str, name: &str, qualifier: Option<&str>) -> String {
        let mut urn = format!(
            "urn:fss:{}:{}:function:{package}:{name}",
            Self::REGION,
            Self::PROJECT_ID
        );
        if let Some(qualifier) = qualifier {
            urn.push(':');
            urn.push_str(qualifier);
        }
        urn
    }

    /// Registers `handler` as version `latest` of a function, which also
    /// answers URNs without a qualifier. Replaces an earlier handler.
    pub fn register(&self, package: &str, name: &str, handler: impl Fn(Invocation) -> Outcome + Send + Sync + 'static) {
        self.register_version(package, name, "latest", handler);
    }

    /// Registers `handler` as `version` of a function. Replaces an earlier
    /// handler of that version.
    pub fn register_version(
        &self,
        package: &str,
        name: &str,
        version: &str,
        handler: impl Fn(Invocation) -> Outcome + Send + Sync + 'static,
    ) {
        let mut state = self.shared.lock();
        state
            .functions
            .entry((package.to_owned(), name.to_owned()))
            .or_default()
            .versions
            .insert(version.to_owned(), Arc::new(handler));
    }

    /// Points `alias` (with or without its leading `!`) of a function at
    /// `version`. Invoking the alias of an unregistered version answers
    /// 404 FSS.1052.
    pub fn register_alias(&self, package: &str, name: &str, alias: &str, version: &str) {
        let alias = alias.strip_prefix('!').unwrap_or(alias);
        let mut state = self.shared.lock();
        state
            .functions
            .entry((package.to_owned(), name.to_owned()))
            .or_default()
            .aliases
            .insert(alias.to_owned(), version.to_owned());
    }

    /// Queues a canned response. Each queued response answers exactly one
    /// later request, in order, instead of the normal handling (the request
    /// is still recorded first).
    ///
    /// An invalid status code is sent as 500; headers with an invalid name or
    /// value are left out. `Content-Length` is set from the body.
    pub fn respond_next(&self, status: u16, headers: Vec<(String, String)>, body: impl Into<Bytes>) {
        self.shared.lock().canned.push_back(Canned {
            status,
            headers,
            body: body.into(),
        });
    }

    /// Every request that reached the server so far, in arrival order.
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The number of requests that reached the server so far.
    #[must_use]
    pub fn request_count(&self) -> usize {
        self.shared.lock().requests.len()
    }

    /// How many times a handler of the function (any version) has finished
    /// running, synchronous and asynchronous invocations alike.
    #[must_use]
    pub fn invocations(&self, package: &str, name: &str) -> usize {
        self.shared
            .lock()
            .invocations
            .get(&(package.to_owned(), name.to_owned()))
            .copied()
            .unwrap_or(0)
    }
}

impl fmt::Debug for LocalFunctionGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalFunctionGraph")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for LocalFunctionGraph {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

/// Accepts connections until aborted. Connections live in a `JoinSet` owned
/// by this task, so aborting it also aborts them.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(_) => {
                // E.g. too many open files: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        // Small request/response exchanges: send them without delay.
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(handle::serve(shared, request).await) }
            });
            // Connection errors (client gone, malformed request) only end
            // this connection.
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
