//! What the emulator saw, for tests to inspect.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

use crate::function::FunctionError;

/// A request as it reached the server, recorded before any handling.
///
/// The emulator keeps a window of the most recent requests (see
/// [`EmulatorBuilder::record_limit`](crate::EmulatorBuilder::record_limit)), each with at most
/// [`record_body_limit`](crate::EmulatorBuilder::record_body_limit) bytes of body and of path.
/// Credential headers (`X-Auth-Token`, `Authorization`, `X-Security-Token`,
/// `X-Subject-Token`) are kept but marked sensitive, so `Debug` does not show them.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// Method.
    pub method: http::Method,
    /// Path and query as received, percent-encoding kept (cut at the record body limit).
    pub path: String,
    /// Headers.
    pub headers: http::HeaderMap,
    /// Body, up to the record body limit (64 KiB by default). Empty when the request was
    /// refused before its body mattered: over the size limit (it is not buffered then),
    /// unreadable, for an unknown route, or without valid credentials (nothing of an
    /// unauthenticated request's body is kept).
    pub body: Bytes,
    /// Whether `body` holds less than was received.
    pub body_truncated: bool,
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
    /// The event; `Value::Null` when its JSON text was longer than the record body limit
    /// (see `event_truncated`).
    pub event: Value,
    /// Whether the event was too large to keep.
    pub event_truncated: bool,
    /// Memory of the run, in MB.
    pub memory_mb: u32,
    /// When the run started.
    pub started_at: SystemTime,
    /// How the run ended; `None` while it is still running.
    pub outcome: Option<RunOutcome>,
    /// How long the run took; `None` while it is still running.
    pub duration: Option<Duration>,
    /// Log lines the function wrote: the last ones, up to the record body limit in bytes.
    pub log: Vec<String>,
    /// Whether earlier log lines were left out.
    pub log_truncated: bool,
}

/// Headers that carry credentials: recorded, but marked sensitive.
const SENSITIVE: [&str; 4] = ["x-auth-token", "authorization", "x-security-token", "x-subject-token"];

/// A copy of `headers` that owns its bytes (hyper's values share its read buffer, which a
/// record would otherwise keep alive), with credentials marked sensitive.
pub(crate) fn copy_headers(headers: &HeaderMap) -> HeaderMap {
    let mut copy = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if let Ok(mut value) = HeaderValue::from_bytes(value.as_bytes()) {
            value.set_sensitive(value_is_sensitive(name.as_str()));
            copy.append(name.clone(), value);
        }
    }
    copy
}

fn value_is_sensitive(name: &str) -> bool {
    SENSITIVE.contains(&name)
}

/// The first `limit` bytes of `bytes` in an allocation of their own, and whether any were
/// left out.
pub(crate) fn cap_bytes(bytes: &[u8], limit: usize) -> (Bytes, bool) {
    let kept = bytes.get(..limit).unwrap_or(bytes);
    (Bytes::copy_from_slice(kept), kept.len() < bytes.len())
}

/// The last lines of `lines` whose bytes add up to at most `limit`, and whether any were
/// left out.
pub(crate) fn cap_lines(lines: &[String], limit: usize) -> (Vec<String>, bool) {
    let mut total = 0usize;
    let mut start = lines.len();
    for line in lines.iter().rev() {
        let next = total.saturating_add(line.len());
        if next > limit {
            break;
        }
        total = next;
        start -= 1;
    }
    (
        lines.get(start..).map(<[String]>::to_vec).unwrap_or_default(),
        start > 0,
    )
}

/// The recorded requests and runs: windows of the most recent, and exact counters.
pub(crate) struct Records {
    /// How many requests and how many runs to keep; `None`: all of them.
    limit: Option<usize>,
    /// Bytes of body, event and log kept per record.
    pub(crate) body_limit: usize,
    next_seq: u64,
    /// Requests with a sequence number, oldest first.
    requests: VecDeque<(u64, RecordedRequest)>,
    /// Requests seen since the last clear (more than the window holds).
    request_count: usize,
    /// Runs, in start order.
    invocations: VecDeque<InvocationRecord>,
    /// Runs started per function since the last clear.
    runs: HashMap<(String, String), usize>,
}

impl Records {
    pub(crate) fn new(limit: Option<usize>, body_limit: usize) -> Self {
        Records {
            limit,
            body_limit,
            next_seq: 0,
            requests: VecDeque::new(),
            request_count: 0,
            invocations: VecDeque::new(),
            runs: HashMap::new(),
        }
    }

    fn over(&self, len: usize) -> bool {
        self.limit.is_some_and(|limit| len > limit)
    }

    /// Records a request (without its body, see [`attach_body`](Self::attach_body)) and
    /// returns its sequence number.
    pub(crate) fn push_request(&mut self, method: &http::Method, path: &str, headers: &HeaderMap) -> u64 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.request_count = self.request_count.saturating_add(1);
        if self.limit == Some(0) {
            return seq;
        }
        let path = crate::util::keep_head(path, self.body_limit).to_owned();
        let request = RecordedRequest {
            method: method.clone(),
            path,
            headers: copy_headers(headers),
            body: Bytes::new(),
            body_truncated: false,
        };
        self.requests.push_back((seq, request));
        while self.over(self.requests.len()) {
            self.requests.pop_front();
        }
        seq
    }

    /// Marks that request `seq` came with a body that was not kept.
    pub(crate) fn body_not_kept(&mut self, seq: u64, received: usize) {
        if let Some(request) = self.request_mut(seq) {
            request.body_truncated = received > 0;
        }
    }

    /// Keeps (up to the limit) the body of request `seq`, once it is authenticated.
    pub(crate) fn attach_body(&mut self, seq: u64, body: &[u8]) {
        let limit = self.body_limit;
        if let Some(request) = self.request_mut(seq) {
            (request.body, request.body_truncated) = cap_bytes(body, limit);
        }
    }

    fn request_mut(&mut self, seq: u64) -> Option<&mut RecordedRequest> {
        let index = self.requests.binary_search_by_key(&seq, |(s, _)| *s).ok()?;
        self.requests.get_mut(index).map(|(_, request)| request)
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.iter().map(|(_, request)| request.clone()).collect()
    }

    pub(crate) fn request_count(&self) -> usize {
        self.request_count
    }

    pub(crate) fn push_invocation(&mut self, record: InvocationRecord) {
        let runs = self
            .runs
            .entry((record.package.clone(), record.name.clone()))
            .or_default();
        *runs = runs.saturating_add(1);
        if self.limit == Some(0) {
            return;
        }
        self.invocations.push_back(record);
        while self.over(self.invocations.len()) {
            self.invocations.pop_front();
        }
    }

    /// Completes the record of run `request_id` if it is still in the window.
    pub(crate) fn finish(&mut self, finished: &InvocationRecord) {
        if let Some(record) = self
            .invocations
            .iter_mut()
            .rev()
            .find(|r| r.request_id == finished.request_id)
        {
            record.clone_from(finished);
        }
    }

    pub(crate) fn invocations(&self) -> Vec<InvocationRecord> {
        self.invocations.iter().cloned().collect()
    }

    pub(crate) fn invocation(&self, request_id: &str) -> Option<InvocationRecord> {
        self.invocations
            .iter()
            .rev()
            .find(|r| r.request_id == request_id)
            .cloned()
    }

    pub(crate) fn run_count(&self, package: &str, name: &str) -> usize {
        self.runs
            .iter()
            .find(|((p, n), _)| p == package && n == name)
            .map_or(0, |(_, count)| *count)
    }

    /// How many requests and runs the windows hold now.
    pub(crate) fn held(&self) -> (usize, usize) {
        (self.requests.len(), self.invocations.len())
    }

    /// Forgets the requests and finished runs; runs still going stay, and count.
    pub(crate) fn clear(&mut self) {
        self.requests.clear();
        self.request_count = 0;
        self.invocations.retain(|record| record.outcome.is_none());
        self.runs.clear();
        for record in &self.invocations {
            let runs = self
                .runs
                .entry((record.package.clone(), record.name.clone()))
                .or_default();
            *runs = runs.saturating_add(1);
        }
    }
}
