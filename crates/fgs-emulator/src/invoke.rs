//! The invoke API: one request goes through named steps, parse → resolve → admit → run →
//! respond, each of which may end it early with an error response.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use fgs_core::generated::operations::headers::{
    X_CFF_BILLING_DURATION, X_CFF_FUNCTION_LOG, X_CFF_INSTANCE_MEMORY, X_CFF_INVOKE_SUMMARY, X_CFF_LOG_TYPE,
    X_CFF_REQUEST_ID, X_CFF_REQUEST_VERSION, X_CFF_RESPONSE_VERSION, X_FUNC_ERR_CODE, X_IS_FUNC_ERR,
};
use fgs_core::generated::operations::{AsyncInvokeFunction, InvokeFunction};
use fgs_core::generated::types::{AsyncInvokeResult, InvokeResult, InvokeSummary, LogType, ResponseVersion};
use fgs_core::protocol::Operation;
use fgs_urn::FunctionUrn;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::codes::{self, SentError};
use crate::fault::{Fault, FaultSite, PacedBody, full};
use crate::function::{Context, FunctionError, Handler, LogBuffer, MEMORY_SIZES_MB};
use crate::record::{InvocationRecord, InvokeMode, RunOutcome, cap_lines, copy_headers, keep_tail};
use crate::reply::{APPLICATION_JSON, Reply, canned, fault_error, json_bytes, response, send_error};
use crate::state::Shared;
use crate::{ids, time};

/// The function log is cut to its last this many bytes. The spec says "about 4 KB" in
/// prose; the number is the emulator's.
const LOG_LIMIT: usize = 4096;
/// `X-Func-Err-Code` values. The service's codes for these cases are not documented; the
/// emulator's are its own.
const FUNC_ERR_RAISED: &str = "1";
const FUNC_ERR_TIMEOUT: &str = "2";
const FUNC_ERR_NONE: &str = "0";

/// The parts of an authenticated invoke request.
pub(crate) struct Call<'a> {
    /// The `{project_id}` path segment.
    pub(crate) project_id: &'a str,
    /// The `{function_urn}` path segment, as sent.
    pub(crate) urn_segment: &'a str,
    /// Synchronous or asynchronous.
    pub(crate) mode: InvokeMode,
    /// The request headers.
    pub(crate) headers: &'a HeaderMap,
    /// The request body.
    pub(crate) body: Bytes,
}

/// Why an invocation ended before a normal response.
pub(crate) enum Stop {
    /// An error response.
    Early(Box<Reply>),
    /// Close the connection without a response.
    Dropped,
}
use Stop::{Dropped, Early};

/// What the request headers ask for.
struct Options {
    /// The body format of a synchronous response.
    body_version: ResponseVersion,
    /// `X-Cff-Instance-Memory`, checked against the spec's sizes.
    memory_mb: Option<u32>,
    /// Whether the log tail was asked for.
    tail_log: bool,
}

/// The function version a request resolved to, and its settings.
struct Resolved {
    handler: Handler,
    version: String,
    timeout: Duration,
    memory_mb: u32,
    slots: Option<Arc<Semaphore>>,
}

/// A run that has started, and what the response needs to know about it.
struct Started {
    context: Context,
    version: String,
    memory_mb: u32,
    started_at: SystemTime,
    task: JoinHandle<(RunOutcome, Duration)>,
}

/// One invoke request being handled: what every step needs.
struct Invocation<'a> {
    shared: &'a Arc<Shared>,
    call: Call<'a>,
    request_id: String,
}

/// Handles an authenticated invoke request.
pub(crate) async fn invoke(shared: &Arc<Shared>, call: Call<'_>) -> Result<Reply, Stop> {
    let invocation = Invocation {
        shared,
        call,
        request_id: ids::uuid_like(),
    };
    // parse
    let urn = invocation.parse_urn()?;
    let fault = invocation.fault_before_run(&urn).await?;
    let options = invocation.parse_options()?;
    // resolve
    let resolved = invocation.resolve(&urn, options.memory_mb)?;
    let event = invocation.parse_event()?;
    // admit
    let permit = invocation.admit(resolved.slots.clone())?;
    // run
    let started = invocation.start(&urn, resolved, event, permit);
    // respond
    if invocation.call.mode == InvokeMode::Async {
        drop(started.task);
        return Ok(accepted(invocation.request_id));
    }
    invocation.respond(started, &options, fault).await
}

impl Invocation<'_> {
    /// Ends the request with one of the emulator's own errors.
    fn refuse(&self, error: &'static SentError, message: &str) -> Stop {
        Early(Box::new(send_error(&self.request_id, error, message)))
    }

    /// The URN from the path, in the emulator's project.
    fn parse_urn(&self) -> Result<FunctionUrn, Stop> {
        // Both wire forms are accepted: percent-encoded (the Python SDK) and raw (Go, Node).
        let decoded = fgs_urn::percent_decode_strict(self.call.urn_segment.as_bytes())
            .and_then(|bytes| String::from_utf8(bytes.into_owned()).ok())
            .ok_or_else(|| {
                self.refuse(
                    &codes::INVALID_URN,
                    "Invalid function URN: not valid percent-encoded UTF-8",
                )
            })?;
        let urn = FunctionUrn::parse(&decoded).map_err(|error| {
            self.refuse(
                &codes::INVALID_URN,
                &format!("Invalid function URN: {}", error.problem()),
            )
        })?;
        if urn.project_id() != self.call.project_id {
            return Err(self.refuse(
                &codes::INVALID_PARAMETER,
                "Bad request: the project id in the path does not match the function URN",
            ));
        }
        if self.call.project_id != self.shared.config.project_id {
            return Err(self.refuse(
                &codes::FORBIDDEN,
                "Forbidden: the project id does not match the credentials' project",
            ));
        }
        Ok(urn)
    }

    /// Applies the first fault rule for this function that acts before the run; returns
    /// the one that acts later (after the run, or on the response body).
    async fn fault_before_run(&self, urn: &FunctionUrn) -> Result<Option<Fault>, Stop> {
        let site = FaultSite::Invocation {
            package: urn.package(),
            name: urn.name(),
        };
        let fault = self.shared.lock().take_fault(&site);
        match fault {
            Some(Fault::Latency(delay)) => {
                tokio::time::sleep(delay).await;
                Ok(None)
            }
            Some(Fault::Error {
                status,
                code,
                message,
                retry_after,
            }) => {
                let mut reply = fault_error(&self.request_id, status, &code, &message);
                if let Some(after) = retry_after.and_then(|d| HeaderValue::from_str(&d.as_secs().to_string()).ok()) {
                    reply.headers_mut().insert(RETRY_AFTER, after);
                }
                Err(Early(Box::new(reply)))
            }
            Some(Fault::Response { status, headers, body }) => Err(Early(Box::new(canned(status, headers, body)))),
            Some(Fault::DropBeforeRun) => Err(Dropped),
            other => Ok(other),
        }
    }

    /// The body version, memory and log type the headers ask for.
    fn parse_options(&self) -> Result<Options, Stop> {
        let headers = self.call.headers;
        let requested = headers
            .get(X_CFF_REQUEST_VERSION)
            .map(|value| value.to_str().map(ResponseVersion::from));
        let body_version = match requested {
            None | Some(Ok(ResponseVersion::V0)) => ResponseVersion::V0,
            Some(Ok(ResponseVersion::V1)) => ResponseVersion::V1,
            Some(_) if self.call.mode == InvokeMode::Async => ResponseVersion::V0,
            Some(_) => {
                return Err(self.refuse(
                    &codes::INVALID_PARAMETER,
                    &format!(
                        "Bad request: {X_CFF_REQUEST_VERSION} must be {}",
                        ResponseVersion::VALUES.join(" or ")
                    ),
                ));
            }
        };
        let memory_mb = match headers.get(X_CFF_INSTANCE_MEMORY) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .ok()
                    .and_then(|v| v.trim().parse::<u32>().ok())
                    .filter(|m| MEMORY_SIZES_MB.contains(m))
                    .ok_or_else(|| self.refuse(&codes::INVALID_MEMORY, "Invalid function memory"))?,
            ),
        };
        let log_type = headers
            .get(X_CFF_LOG_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(|value| LogType::from(value.to_ascii_lowercase().as_str()));
        // `null`, no header, or a value the spec does not list: no log.
        let tail_log = matches!(log_type, Some(LogType::Tail));
        Ok(Options {
            body_version,
            memory_mb,
            tail_log,
        })
    }

    /// The registered function and version the URN names.
    fn resolve(&self, urn: &FunctionUrn, requested_memory: Option<u32>) -> Result<Resolved, Stop> {
        let state = self.shared.lock();
        let Some(registered) = state.functions.get(&(urn.package().to_owned(), urn.name().to_owned())) else {
            return Err(self.refuse(&codes::FUNCTION_NOT_FOUND, "Not found the function"));
        };
        let function = &registered.function;
        let version = match urn.qualifier() {
            None => "latest".to_owned(),
            Some(fgs_urn::Qualifier::Version(version)) => version.to_owned(),
            Some(fgs_urn::Qualifier::Alias(alias)) => match function.aliases.get(alias) {
                Some(version) => version.clone(),
                None => return Err(self.refuse(&codes::ALIAS_NOT_FOUND, "Not found the function alias")),
            },
        };
        let Some(handler) = function.versions.get(&version) else {
            return Err(self.refuse(&codes::VERSION_NOT_FOUND, "Not found the function version"));
        };
        Ok(Resolved {
            handler: handler.clone(),
            version,
            timeout: function.timeout,
            memory_mb: requested_memory.unwrap_or(function.memory_mb),
            slots: registered.slots.clone(),
        })
    }

    /// The event: the JSON body, `{}` when there is none.
    fn parse_event(&self) -> Result<Value, Stop> {
        if self.call.body.is_empty() {
            return Ok(Value::Object(serde_json::Map::new()));
        }
        serde_json::from_slice(&self.call.body).map_err(|_| {
            self.refuse(
                &codes::NOT_ACCEPTABLE,
                "Not acceptable: the request body is not in the required JSON format",
            )
        })
    }

    /// A concurrency slot, when the function has a limit.
    fn admit(&self, slots: Option<Arc<Semaphore>>) -> Result<Option<OwnedSemaphorePermit>, Stop> {
        let Some(slots) = slots else {
            return Ok(None);
        };
        let permit = slots.try_acquire_owned().map_err(|_| {
            self.refuse(
                &codes::TOO_MANY_REQUESTS,
                "Too many concurrent requests. Please try again later",
            )
        })?;
        Ok(Some(permit))
    }

    /// Records the run and starts it as its own task: it finishes and is recorded even
    /// when the caller hangs up (hyper then drops the request's future), and it holds the
    /// concurrency slot until then.
    fn start(
        &self,
        urn: &FunctionUrn,
        resolved: Resolved,
        event: Value,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Started {
        let Resolved {
            handler,
            version,
            timeout,
            memory_mb,
            slots: _,
        } = resolved;
        let record_limit = self.shared.config.records.body;
        let context = Context {
            request_id: self.request_id.clone(),
            urn: urn.as_str().to_owned(),
            version: version.clone(),
            memory_mb,
            deadline: time::instant_after(Instant::now(), timeout),
            // Enough for the log tail of the response and for the record.
            log: Arc::new(Mutex::new(LogBuffer::new(record_limit.max(LOG_LIMIT)))),
        };
        let started_at = SystemTime::now();
        let event_truncated = self.call.body.len() > record_limit;
        let record = InvocationRecord {
            request_id: self.request_id.clone(),
            mode: self.call.mode,
            urn: urn.as_str().to_owned(),
            package: urn.package().to_owned(),
            name: urn.name().to_owned(),
            version: version.clone(),
            headers: copy_headers(self.call.headers),
            event: if event_truncated { Value::Null } else { event.clone() },
            event_truncated,
            memory_mb,
            started_at,
            outcome: None,
            duration: None,
            log: Vec::new(),
            log_truncated: false,
        };
        let event_bytes = if event_truncated { 0 } else { self.call.body.len() };
        self.shared.lock().records.push_invocation(record.clone(), event_bytes);

        let task = {
            let shared = Arc::clone(self.shared);
            let context = context.clone();
            tokio::spawn(async move {
                let (outcome, elapsed) = run(handler, event, context.clone(), timeout).await;
                drop(permit);
                finish(&shared, &context, record, outcome.clone(), elapsed);
                (outcome, elapsed)
            })
        };
        Started {
            context,
            version,
            memory_mb,
            started_at,
            task,
        }
    }

    /// Waits for a synchronous run and answers with its result, applying any fault that
    /// acts after the run.
    async fn respond(&self, started: Started, options: &Options, fault: Option<Fault>) -> Result<Reply, Stop> {
        let Ok((outcome, elapsed)) = started.task.await else {
            return Err(self.refuse(&codes::RUN_LOST, "Internal error: the run was lost"));
        };
        let finished_at = SystemTime::now();
        if fault == Some(Fault::DropAfterRun) {
            return Err(Dropped);
        }
        let measured = Measured {
            request_id: &self.request_id,
            version: &started.version,
            memory_mb: started.memory_mb,
            duration_ms: elapsed.as_micros() as f64 / 1000.0,
            memory_used_mb: memory_used(started.memory_mb, self.call.body.len()),
            started_at: started.started_at,
            finished_at,
        };
        let reply = sync_response(&measured, &outcome, &started.context.log_lines(), options);
        Ok(pace_body(reply, fault).await)
    }
}

/// 202 with the request id, for an asynchronous invocation.
fn accepted(request_id: String) -> Reply {
    let body = json_bytes(&AsyncInvokeResult::new(request_id.clone()));
    response(
        success_status::<AsyncInvokeFunction>(),
        vec![
            (CONTENT_TYPE, APPLICATION_JSON.to_owned()),
            (X_CFF_REQUEST_ID, request_id),
        ],
        full(body),
    )
}

/// The reply with its body sent slowly or cut short, when the fault says so.
async fn pace_body(mut reply: Reply, fault: Option<Fault>) -> Reply {
    match fault {
        Some(Fault::SlowBody { chunk, delay }) => {
            let body = std::mem::replace(reply.body_mut(), full(Bytes::new()));
            let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
            *reply.body_mut() = PacedBody::slow(bytes, chunk, delay);
        }
        Some(Fault::TruncatedBody) => {
            let body = std::mem::replace(reply.body_mut(), full(Bytes::new()));
            let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
            *reply.body_mut() = PacedBody::truncated(bytes);
        }
        _ => {}
    }
    reply
}

/// Runs a handler under the function's timeout. A closure runs as its own task so that
/// a panic is contained and a timeout can abort it; a command's process is killed when
/// its future is dropped.
async fn run(handler: Handler, event: Value, context: Context, timeout: Duration) -> (RunOutcome, Duration) {
    let started = Instant::now();
    let outcome = match handler {
        Handler::Closure(function) => {
            let mut task = tokio::spawn(function(event, context));
            match tokio::time::timeout(timeout, &mut task).await {
                Ok(Ok(Ok(value))) => RunOutcome::Returned(value),
                Ok(Ok(Err(error))) => RunOutcome::Raised(error),
                Ok(Err(join_error)) => RunOutcome::Raised(FunctionError::new(
                    "RuntimeError",
                    if join_error.is_panic() {
                        "the handler panicked"
                    } else {
                        "the handler was cancelled"
                    },
                )),
                Err(_) => {
                    task.abort();
                    RunOutcome::TimedOut
                }
            }
        }
        Handler::Command(command) => {
            match tokio::time::timeout(timeout, crate::command::run(&command, &event, &context)).await {
                Ok(Ok(value)) => RunOutcome::Returned(value),
                Ok(Err(error)) => RunOutcome::Raised(error),
                Err(_) => RunOutcome::TimedOut,
            }
        }
    };
    (outcome, started.elapsed())
}

/// Completes the record of a run (in the window if it is still there) and tells the
/// observer, which sees every run even when the window no longer holds it.
fn finish(shared: &Shared, context: &Context, mut record: InvocationRecord, outcome: RunOutcome, elapsed: Duration) {
    record.outcome = Some(outcome);
    record.duration = Some(elapsed);
    (record.log, record.log_truncated) = cap_lines(&context.log_lines(), shared.config.records.body);
    shared.lock().records.finish(&record);
    shared.finished.notify_waiters();
    if let Some(observer) = &shared.config.observer {
        observer(&record);
    }
}

/// A plausible memory use in MB: a fixed runtime footprint plus twice the event size,
/// capped at the instance memory.
fn memory_used(memory_mb: u32, event_len: usize) -> f64 {
    let used = 24.0 + 2.0 * event_len as f64 / (1024.0 * 1024.0);
    (used.min(f64::from(memory_mb)) * 1000.0).round() / 1000.0
}

/// The measurements of one synchronous run.
struct Measured<'a> {
    request_id: &'a str,
    version: &'a str,
    memory_mb: u32,
    duration_ms: f64,
    memory_used_mb: f64,
    started_at: SystemTime,
    finished_at: SystemTime,
}

impl Measured<'_> {
    /// Billed duration: whole milliseconds, rounded up, at least 1.
    fn billing_ms(&self) -> u64 {
        (self.duration_ms.ceil() as u64).max(1)
    }

    /// `X-Cff-Invoke-Summary`: the summary as JSON.
    fn summary(&self) -> String {
        let mut summary = InvokeSummary::new();
        summary.duration = Some(self.duration_ms);
        summary.billing_duration = Some(self.billing_ms() as f64);
        summary.memory_size = Some(i64::from(self.memory_mb));
        summary.memory_used = Some(self.memory_used_mb);
        String::from_utf8_lossy(&json_bytes(&summary)).into_owned()
    }

    /// The log as the service writes it, cut to its last [`LOG_LIMIT`] bytes.
    fn log_text(&self, lines: &[String], failed: bool) -> String {
        let mut text = format!(
            "{} Start invoke request '{}', version: {}\n",
            time::format_utc(self.started_at),
            self.request_id,
            self.version
        );
        for line in lines {
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(&format!(
            "{} Finish invoke request '{}'{}, duration: {:.3}ms, billing duration: {}ms, memory used: {:.3}MB, \
             billing memory: {}MB",
            time::format_utc(self.finished_at),
            self.request_id,
            if failed { "(invoke Failed)" } else { "" },
            self.duration_ms,
            self.billing_ms(),
            self.memory_used_mb,
            self.memory_mb
        ));
        keep_tail(&text, LOG_LIMIT).to_owned()
    }
}

/// The answer to a synchronous run: the result (raw for `v0`, in the envelope for `v1`),
/// the summary and function-error headers, and the log tail when it was asked for.
fn sync_response(measured: &Measured<'_>, outcome: &RunOutcome, lines: &[String], options: &Options) -> Reply {
    let (result, error_code) = result_of(outcome, measured.duration_ms);
    let log = if options.tail_log {
        measured.log_text(lines, error_code.is_some())
    } else {
        String::new()
    };
    let mut headers = vec![
        (CONTENT_TYPE, APPLICATION_JSON.to_owned()),
        (X_CFF_REQUEST_ID, measured.request_id.to_owned()),
        (X_CFF_INVOKE_SUMMARY, measured.summary()),
        (X_CFF_BILLING_DURATION, measured.billing_ms().to_string()),
        (X_CFF_RESPONSE_VERSION, options.body_version.as_str().to_owned()),
        (X_FUNC_ERR_CODE, error_code.unwrap_or(FUNC_ERR_NONE).to_owned()),
        (X_IS_FUNC_ERR, error_code.is_some().to_string()),
    ];
    if options.tail_log {
        headers.push((
            X_CFF_FUNCTION_LOG,
            base64::engine::general_purpose::STANDARD.encode(&log),
        ));
    }
    let body = match options.body_version {
        ResponseVersion::V1 => {
            let mut envelope = InvokeResult::new(measured.request_id.to_owned(), result);
            envelope.log = Some(log);
            envelope.status = Some(200);
            json_bytes(&envelope)
        }
        _ => Bytes::from(result),
    };
    response(success_status::<InvokeFunction>(), headers, full(body))
}

/// The `result` of a run (what the function returned, or the error document), and its
/// `X-Func-Err-Code` when it failed.
fn result_of(outcome: &RunOutcome, duration_ms: f64) -> (String, Option<&'static str>) {
    match outcome {
        RunOutcome::Returned(value) => (value.to_string(), None),
        RunOutcome::Raised(error) => (error.to_json().to_string(), Some(FUNC_ERR_RAISED)),
        RunOutcome::TimedOut => {
            let error = FunctionError::new(
                "TimeoutError",
                format!("invocation timed out after {:.3} s", duration_ms / 1000.0),
            );
            (error.to_json().to_string(), Some(FUNC_ERR_TIMEOUT))
        }
    }
}

/// The status the spec gives a successful `O`.
fn success_status<O: Operation>() -> StatusCode {
    StatusCode::from_u16(O::INFO.success_status).unwrap_or(StatusCode::OK)
}
