//! What the emulator saw, for tests to inspect.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde_json::Value;

use crate::function::FunctionError;

/// A request as it reached the server, recorded before any handling.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// Method.
    pub method: http::Method,
    /// Path and query as received, percent-encoding kept.
    pub path: String,
    /// Headers.
    pub headers: http::HeaderMap,
    /// Body; empty when it was over the size limit (it is not buffered then).
    pub body: Bytes,
}

/// How an invocation was requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InvokeMode {
    /// `.../invocations`: the caller waits for the result.
    Sync,
    /// `.../invocations-async`: queued, the caller gets a request id.
    Async,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum RunOutcome {
    /// The function returned this value.
    Returned(Value),
    /// The function raised this error (a command that exited non-zero included).
    Raised(FunctionError),
    /// The function ran past its timeout and was stopped.
    TimedOut,
}

impl RunOutcome {
    /// Whether the run failed (raised or timed out).
    pub fn is_error(&self) -> bool {
        !matches!(self, RunOutcome::Returned(_))
    }
}

/// One run of a function: started when the emulator began executing the handler.
#[derive(Clone, Debug)]
pub struct InvocationRecord {
    /// Request id, as sent in `X-Cff-Request-Id` (or the async `request_id`).
    pub request_id: String,
    /// Sync or async.
    pub mode: InvokeMode,
    /// The URN as invoked (alias or version as sent).
    pub urn: String,
    /// Package of the function.
    pub package: String,
    /// Name of the function.
    pub name: String,
    /// The version that ran.
    pub version: String,
    /// Request headers.
    pub headers: http::HeaderMap,
    /// The event.
    pub event: Value,
    /// Memory of the run, in MB.
    pub memory_mb: u32,
    /// When the run started.
    pub started_at: SystemTime,
    /// How the run ended; `None` while it is still running.
    pub outcome: Option<RunOutcome>,
    /// How long the run took; `None` while it is still running.
    pub duration: Option<Duration>,
    /// Log lines the function wrote.
    pub log: Vec<String>,
}
