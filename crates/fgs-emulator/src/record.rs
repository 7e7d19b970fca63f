//! What the emulator saw, for tests to inspect.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use fgs_core::generated::operations::{AKSK_SIGNATURE_HEADER, IAM_TOKEN_HEADER};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::function::FunctionError;
use crate::headers;

/// A request as it reached the server, recorded before any handling.
///
/// The emulator keeps a window of the most recent requests (see
/// [`EmulatorBuilder::record_limit`](crate::EmulatorBuilder::record_limit) and
/// [`record_memory_limit`](crate::EmulatorBuilder::record_memory_limit)), each with at most
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
    /// Body, up to the record body limit (by default 6 MiB, the largest request). Empty when the request was
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

/// A copy of `headers` that owns its bytes (hyper's values share its read buffer, which a
/// record would otherwise keep alive), with credentials marked sensitive.
pub(crate) fn copy_headers(headers: &HeaderMap) -> HeaderMap {
    let mut copy = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if let Ok(mut value) = HeaderValue::from_bytes(value.as_bytes()) {
            value.set_sensitive(value_is_sensitive(name));
            copy.append(name.clone(), value);
        }
    }
    copy
}

/// Whether `name` is a header that carries credentials: recorded, but marked sensitive.
fn value_is_sensitive(name: &HeaderName) -> bool {
    [
        IAM_TOKEN_HEADER,
        AKSK_SIGNATURE_HEADER,
        fgs_signing::SECURITY_TOKEN,
        headers::X_SUBJECT_TOKEN,
    ]
    .contains(name)
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

/// Keeps only the first `max` bytes of `text`, moving the cut back to a character
/// boundary so the result stays valid UTF-8.
pub(crate) fn keep_head(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// Keeps only the last `max` bytes of `text`, moving the cut forward to the
/// next character boundary so the result stays valid UTF-8.
pub(crate) fn keep_tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text.get(start..).unwrap_or_default()
}

/// Bytes a run's record holds in event and log.
fn run_bytes(record: &InvocationRecord, event_bytes: usize) -> usize {
    let log: usize = record.log.iter().map(String::len).sum();
    event_bytes.saturating_add(log)
}

/// How much the records may hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordLimits {
    /// How many requests and how many runs to keep; `None`: all of them.
    pub(crate) count: Option<usize>,
    /// Bytes of body, event and log kept per record.
    pub(crate) body: usize,
    /// Bytes of bodies (requests), or of events and logs (runs), a window holds in all.
    pub(crate) total: usize,
}

/// The recorded requests and runs: windows of the most recent, and exact counters.
pub(crate) struct Records {
    limits: RecordLimits,
    next_seq: u64,
    /// Requests with a sequence number and the bytes they hold, oldest first.
    requests: VecDeque<(u64, usize, RecordedRequest)>,
    request_bytes: usize,
    /// Requests seen since the last clear (more than the window holds).
    request_count: usize,
    /// Runs with the bytes they hold (the event's JSON text, counted once), in start order.
    invocations: VecDeque<(usize, usize, InvocationRecord)>,
    invocation_bytes: usize,
    /// Runs started per function since the last clear.
    runs: HashMap<(String, String), usize>,
}

impl Records {
    pub(crate) fn new(limits: RecordLimits) -> Self {
        Records {
            limits,
            next_seq: 0,
            requests: VecDeque::new(),
            request_bytes: 0,
            request_count: 0,
            invocations: VecDeque::new(),
            invocation_bytes: 0,
            runs: HashMap::new(),
        }
    }

    /// Whether a window of `len` records holding `bytes` is over its limits; the newest
    /// record always stays.
    fn over(&self, len: usize, bytes: usize) -> bool {
        len > 1 && (self.limits.count.is_some_and(|limit| len > limit) || bytes > self.limits.total)
    }

    fn evict(&mut self) {
        while self.over(self.requests.len(), self.request_bytes) {
            let Some((_, bytes, _)) = self.requests.pop_front() else {
                break;
            };
            self.request_bytes = self.request_bytes.saturating_sub(bytes);
        }
        while self.over(self.invocations.len(), self.invocation_bytes) {
            let Some((_, bytes, _)) = self.invocations.pop_front() else {
                break;
            };
            self.invocation_bytes = self.invocation_bytes.saturating_sub(bytes);
        }
    }

    /// Records a request (without its body, see [`attach_body`](Self::attach_body)) and
    /// returns its sequence number.
    pub(crate) fn push_request(&mut self, method: &http::Method, path: &str, headers: &HeaderMap) -> u64 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.request_count = self.request_count.saturating_add(1);
        if self.limits.count == Some(0) {
            return seq;
        }
        let path = keep_head(path, self.limits.body).to_owned();
        let bytes = path.len();
        let request = RecordedRequest {
            method: method.clone(),
            path,
            headers: copy_headers(headers),
            body: Bytes::new(),
            body_truncated: false,
        };
        self.requests.push_back((seq, bytes, request));
        self.request_bytes = self.request_bytes.saturating_add(bytes);
        self.evict();
        seq
    }

    /// Marks that request `seq` came with a body that was not kept.
    pub(crate) fn body_not_kept(&mut self, seq: u64, received: usize) {
        if let Some((_, request)) = self.request_mut(seq) {
            request.body_truncated = received > 0;
        }
    }

    /// Keeps (up to the limit) the body of request `seq`, once it is authenticated.
    pub(crate) fn attach_body(&mut self, seq: u64, body: &[u8]) {
        let limit = self.limits.body;
        let Some((bytes, request)) = self.request_mut(seq) else {
            return;
        };
        (request.body, request.body_truncated) = cap_bytes(body, limit);
        let added = request.body.len();
        *bytes = bytes.saturating_add(added);
        self.request_bytes = self.request_bytes.saturating_add(added);
        self.evict();
    }

    fn request_mut(&mut self, seq: u64) -> Option<(&mut usize, &mut RecordedRequest)> {
        let index = self.requests.binary_search_by_key(&seq, |(s, _, _)| *s).ok()?;
        self.requests.get_mut(index).map(|(_, bytes, request)| (bytes, request))
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.iter().map(|(_, _, request)| request.clone()).collect()
    }

    pub(crate) fn request_count(&self) -> usize {
        self.request_count
    }

    /// Records a run that starts; `event_bytes` is the length of its event's JSON text if
    /// the record keeps the event.
    pub(crate) fn push_invocation(&mut self, record: InvocationRecord, event_bytes: usize) {
        let runs = self
            .runs
            .entry((record.package.clone(), record.name.clone()))
            .or_default();
        *runs = runs.saturating_add(1);
        if self.limits.count == Some(0) {
            return;
        }
        let bytes = run_bytes(&record, event_bytes);
        self.invocations.push_back((event_bytes, bytes, record));
        self.invocation_bytes = self.invocation_bytes.saturating_add(bytes);
        self.evict();
    }

    /// Completes the record of run `request_id` if it is still in the window.
    pub(crate) fn finish(&mut self, finished: &InvocationRecord) {
        let Some((event_bytes, bytes, record)) = self
            .invocations
            .iter_mut()
            .rev()
            .find(|(_, _, r)| r.request_id == finished.request_id)
        else {
            return;
        };
        record.clone_from(finished);
        let new = run_bytes(record, *event_bytes);
        self.invocation_bytes = self.invocation_bytes.saturating_sub(*bytes).saturating_add(new);
        *bytes = new;
        self.evict();
    }

    pub(crate) fn invocations(&self) -> Vec<InvocationRecord> {
        self.invocations.iter().map(|(_, _, record)| record.clone()).collect()
    }

    pub(crate) fn invocation(&self, request_id: &str) -> Option<InvocationRecord> {
        self.invocations
            .iter()
            .rev()
            .find(|(_, _, r)| r.request_id == request_id)
            .map(|(_, _, record)| record.clone())
    }

    pub(crate) fn run_count(&self, package: &str, name: &str) -> usize {
        self.runs
            .iter()
            .find(|((p, n), _)| p == package && n == name)
            .map_or(0, |(_, count)| *count)
    }

    /// How many requests and how many runs the windows hold now.
    pub(crate) fn held(&self) -> (usize, usize) {
        (self.requests.len(), self.invocations.len())
    }

    /// Forgets the requests and finished runs; runs still going stay, and count.
    pub(crate) fn clear(&mut self) {
        self.requests.clear();
        self.request_bytes = 0;
        self.request_count = 0;
        self.invocations.retain(|(_, _, record)| record.outcome.is_none());
        self.invocation_bytes = self.invocations.iter().map(|(_, bytes, _)| *bytes).sum();
        self.runs.clear();
        for (_, _, record) in &self.invocations {
            let runs = self
                .runs
                .entry((record.package.clone(), record.name.clone()))
                .or_default();
            *runs = runs.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_tail_on_char_boundary() {
        assert_eq!(keep_tail("hello", 10), "hello");
        assert_eq!(keep_tail("hello", 3), "llo");
        // "é" is two bytes; cutting inside it moves forward.
        assert_eq!(keep_tail("aéb", 2), "b");
        assert_eq!(keep_tail("aéb", 3), "éb");
        assert_eq!(keep_head("hello", 10), "hello");
        assert_eq!(keep_head("hello", 3), "hel");
        assert_eq!(keep_head("aéb", 2), "a");
    }
}
