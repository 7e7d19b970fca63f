//! Emulated functions: their handlers, settings, versions and aliases.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fgs_core::generated::types::InstanceMemory;
use serde_json::Value;

/// The service's default function timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// The service's default memory size, in MB.
pub const DEFAULT_MEMORY_MB: u32 = 128;
/// Memory sizes (MB) the service accepts, for functions and for `X-Cff-Instance-Memory`:
/// the spec's `InstanceMemory` values.
pub const MEMORY_SIZES_MB: [u32; InstanceMemory::VALUES.len()] = memory_sizes();

/// [`InstanceMemory::VALUES`] as numbers, at compile time.
const fn memory_sizes() -> [u32; InstanceMemory::VALUES.len()] {
    let mut sizes = [0; InstanceMemory::VALUES.len()];
    let mut i = 0;
    while i < sizes.len() {
        sizes[i] = parse_decimal(InstanceMemory::VALUES[i]);
        i += 1;
    }
    sizes
}

/// A decimal number; the build fails if the spec ever lists something else.
const fn parse_decimal(text: &str) -> u32 {
    let bytes = text.as_bytes();
    assert!(!bytes.is_empty(), "an InstanceMemory value is empty");
    let mut value = 0u32;
    let mut i = 0;
    while i < bytes.len() {
        assert!(
            bytes[i].is_ascii_digit(),
            "an InstanceMemory value is not a decimal number"
        );
        value = value * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    value
}

/// The error a function raised: what the service puts in `result` as
/// `{"errorMessage", "errorType", "stackTrace"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// `errorType`, e.g. `ValueError`.
    pub error_type: String,
    /// `errorMessage`.
    pub error_message: String,
    /// `stackTrace`, one frame per entry.
    pub stack_trace: Vec<String>,
}

impl FunctionError {
    /// An error of `error_type` with `error_message` and no stack trace.
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        FunctionError {
            error_type: error_type.into(),
            error_message: error_message.into(),
            stack_trace: Vec::new(),
        }
    }

    /// Adds stack frames.
    pub fn with_stack_trace(mut self, frames: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.stack_trace = frames.into_iter().map(Into::into).collect();
        self
    }

    /// The JSON document the service returns for it.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "errorMessage": self.error_message,
            "errorType": self.error_type,
            "stackTrace": self.stack_trace,
        })
    }
}

impl fmt::Display for FunctionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)
    }
}

impl std::error::Error for FunctionError {}

/// What a handler is given besides the event: the request id, where it runs, and a logger
/// whose lines land in the log tail.
#[derive(Clone)]
pub struct Context {
    pub(crate) request_id: String,
    pub(crate) urn: String,
    pub(crate) version: String,
    pub(crate) memory_mb: u32,
    pub(crate) deadline: Instant,
    pub(crate) log: Arc<Mutex<LogBuffer>>,
}

/// The lines a run wrote: the most recent, up to a number of bytes, so that a function
/// that logs without end does not grow the emulator without end.
#[derive(Debug, Default)]
pub(crate) struct LogBuffer {
    lines: std::collections::VecDeque<String>,
    bytes: usize,
    cap: usize,
}

impl LogBuffer {
    /// Keeps the last lines adding up to at most `cap` bytes.
    pub(crate) fn new(cap: usize) -> Self {
        LogBuffer {
            lines: std::collections::VecDeque::new(),
            bytes: 0,
            cap,
        }
    }

    fn push(&mut self, line: &str) {
        self.bytes = self.bytes.saturating_add(line.len());
        self.lines.push_back(line.to_owned());
        while self.bytes > self.cap {
            let Some(first) = self.lines.pop_front() else { break };
            self.bytes = self.bytes.saturating_sub(first.len());
        }
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("request_id", &self.request_id)
            .field("urn", &self.urn)
            .field("version", &self.version)
            .field("memory_mb", &self.memory_mb)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// The request id of this invocation.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The invoked URN as sent (before alias resolution).
    pub fn function_urn(&self) -> &str {
        &self.urn
    }

    /// The version that runs, after resolving an alias or a missing qualifier.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Memory of this invocation, in MB.
    pub fn memory_mb(&self) -> u32 {
        self.memory_mb
    }

    /// Time left before the function's timeout stops it.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Writes one line to the function's log.
    pub fn log(&self, line: impl Into<String>) {
        let line = line.into();
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        // A line with newlines is several lines, as in a real runtime.
        for line in line.lines() {
            log.push(line);
        }
    }

    pub(crate) fn log_lines(&self) -> Vec<String> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.lines.iter().cloned().collect()
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Value, FunctionError>> + Send>>;
type HandlerFn = dyn Fn(Value, Context) -> BoxFuture + Send + Sync;

/// What runs when a function is invoked.
#[derive(Clone)]
pub enum Handler {
    /// An async Rust closure.
    Closure(Arc<HandlerFn>),
    /// An external command run through the shell: the event on stdin, the result on
    /// stdout (JSON, or else taken as a string), stderr into the log, a non-zero exit a
    /// function error. Environment: `FGS_REQUEST_ID`, `FGS_FUNCTION_URN`,
    /// `FGS_FUNCTION_VERSION`, `FGS_MEMORY_MB`.
    Command(String),
}

impl fmt::Debug for Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Handler::Closure(_) => f.write_str("Handler::Closure"),
            Handler::Command(command) => f.debug_tuple("Handler::Command").field(command).finish(),
        }
    }
}

impl Handler {
    /// An async closure taking the event and a [`Context`].
    ///
    /// ```
    /// use fgs_emulator::{Handler, FunctionError};
    ///
    /// let greet = Handler::from_fn(|event, ctx| async move {
    ///     ctx.log(format!("greeting {}", event["name"]));
    ///     match event["name"].as_str() {
    ///         Some(name) => Ok(serde_json::json!({ "message": format!("Hello, {name}!") })),
    ///         None => Err(FunctionError::new("ValueError", "name is required")),
    ///     }
    /// });
    /// ```
    pub fn from_fn<F, Fut>(handler: F) -> Handler
    where
        F: Fn(Value, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, FunctionError>> + Send + 'static,
    {
        Handler::Closure(Arc::new(move |event, context| Box::pin(handler(event, context))))
    }

    /// A shell command line, e.g. `./hello.sh` or `python3 handler.py`.
    pub fn command(command_line: impl Into<String>) -> Handler {
        Handler::Command(command_line.into())
    }
}

/// A function to register: `latest` and any published versions, aliases, and settings.
///
/// ```
/// use std::time::Duration;
/// use fgs_emulator::{Function, Handler};
///
/// let echo = Handler::from_fn(|event, _ctx| async move { Ok(event) });
/// let function = Function::new("default", "echo", echo.clone())
///     .version("v1", echo)
///     .alias("prod", "v1")
///     .timeout(Duration::from_secs(10))
///     .memory_mb(256)
///     .max_concurrency(2);
/// ```
#[derive(Debug, Clone)]
pub struct Function {
    pub(crate) package: String,
    pub(crate) name: String,
    pub(crate) versions: BTreeMap<String, Handler>,
    pub(crate) aliases: BTreeMap<String, String>,
    pub(crate) timeout: Duration,
    pub(crate) memory_mb: u32,
    pub(crate) max_concurrency: Option<usize>,
}

impl Function {
    /// Function `package/name` whose `latest` version runs `handler`.
    pub fn new(package: impl Into<String>, name: impl Into<String>, handler: Handler) -> Self {
        let mut versions = BTreeMap::new();
        versions.insert("latest".to_owned(), handler);
        Function {
            package: package.into(),
            name: name.into(),
            versions,
            aliases: BTreeMap::new(),
            timeout: DEFAULT_TIMEOUT,
            memory_mb: DEFAULT_MEMORY_MB,
            max_concurrency: None,
        }
    }

    /// Adds a published version with its own handler.
    pub fn version(mut self, version: impl Into<String>, handler: Handler) -> Self {
        self.versions.insert(version.into(), handler);
        self
    }

    /// Points `alias` (with or without `!`) at `version`.
    pub fn alias(mut self, alias: impl AsRef<str>, version: impl Into<String>) -> Self {
        let alias = alias.as_ref();
        self.aliases
            .insert(alias.strip_prefix('!').unwrap_or(alias).to_owned(), version.into());
        self
    }

    /// How long a run may take before it is stopped and reported (default 3 s, as the
    /// service). Longer than about 100 years is taken as 100 years.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = crate::time::clamp_duration(timeout);
        self
    }

    /// Configured memory in MB (default 128).
    pub fn memory_mb(mut self, memory_mb: u32) -> Self {
        self.memory_mb = memory_mb;
        self
    }

    /// At most this many runs at once; more get 429 FSS.0429 (default: no limit). More
    /// than Tokio's semaphore can count (`usize::MAX >> 3`) is taken as that.
    pub fn max_concurrency(mut self, max: usize) -> Self {
        self.max_concurrency = Some(max.min(tokio::sync::Semaphore::MAX_PERMITS));
        self
    }

    /// `package/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.package, self.name)
    }
}
