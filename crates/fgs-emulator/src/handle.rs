//! Request handling: recording, routing, authentication, faults, and the invoke API.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use fgs_core::generated::types::{AsyncInvokeResult, ErrorResponse, InvokeResult, InvokeSummary};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde::Serialize;
use serde_json::Value;

use crate::auth;
use crate::codes::{self, SentError};
use crate::fault::{Fault, FaultSite, PacedBody, ResponseBody, full};
use crate::function::{Context, Handler, LogBuffer, MEMORY_SIZES_MB};
use crate::record::{InvocationRecord, InvokeMode, RunOutcome, cap_lines, copy_headers};
use crate::server::Shared;
use crate::time;
use crate::util;

/// Largest request body of a synchronous invocation (6 MiB).
pub(crate) const SYNC_BODY_LIMIT: usize = 6 * 1024 * 1024;
/// Largest request body of an asynchronous invocation (256 KiB).
pub(crate) const ASYNC_BODY_LIMIT: usize = 256 * 1024;
/// Largest body of other requests (IAM).
const OTHER_BODY_LIMIT: usize = 64 * 1024;
/// The function log is cut to its last this many bytes.
const LOG_LIMIT: usize = 4096;
/// How much of an oversized body is read and thrown away (without buffering) after the
/// 413, so that a client still writing it sees the response rather than a reset.
const DRAIN_MAX: usize = 64 * 1024 * 1024;
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// `X-Func-Err-Code` values. The service's codes for these cases are not documented; the
/// emulator's are its own.
const FUNC_ERR_RAISED: &str = "1";
const FUNC_ERR_TIMEOUT: &str = "2";

const APPLICATION_JSON: &str = "application/json";
const X_CFF_REQUEST_ID: HeaderName = HeaderName::from_static("x-cff-request-id");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Returned by the service to make hyper close the connection without a response.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

pub(crate) type Reply = Response<ResponseBody>;

/// Which endpoint a request is for.
enum Route<'a> {
    Invoke {
        project_id: &'a str,
        urn_segment: &'a str,
        mode: InvokeMode,
    },
    IamTokens,
    MetadataToken,
    MetadataSecurityKey,
}

fn route<'a>(method: &Method, path: &'a str) -> Option<Route<'a>> {
    match (method, path) {
        (&Method::PUT, "/meta-data/latest/api/token") => return Some(Route::MetadataToken),
        (&Method::GET, "/openstack/latest/securitykey") => return Some(Route::MetadataSecurityKey),
        (&Method::POST, "/v3/auth/tokens") => return Some(Route::IamTokens),
        (&Method::POST, _) => {}
        _ => return None,
    }
    let mut segments = path.strip_prefix('/')?.split('/');
    let (Some("v2"), Some(project_id), Some("fgs"), Some("functions"), Some(urn_segment), Some(last), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return None;
    };
    let mode = match last {
        "invocations" => InvokeMode::Sync,
        "invocations-async" => InvokeMode::Async,
        _ => return None,
    };
    (!project_id.is_empty() && !urn_segment.is_empty()).then_some(Route::Invoke {
        project_id,
        urn_segment,
        mode,
    })
}

enum BodyRead {
    Complete(Bytes),
    TooLarge,
    Failed,
    TimedOut,
}

/// Handles one request. `Err` closes the connection without a response.
pub(crate) async fn serve(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Reply, DropConnection> {
    let (parts, mut body) = request.into_parts();
    let route = route(&parts.method, parts.uri.path());
    let limit = match &route {
        Some(Route::Invoke {
            mode: InvokeMode::Sync, ..
        }) => SYNC_BODY_LIMIT,
        Some(Route::Invoke {
            mode: InvokeMode::Async,
            ..
        }) => ASYNC_BODY_LIMIT,
        _ => OTHER_BODY_LIMIT,
    };
    let read = match tokio::time::timeout(
        shared.config.body_read_timeout,
        read_body(&parts.headers, &mut body, limit),
    )
    .await
    {
        Ok(read) => read,
        Err(_) => BodyRead::TimedOut,
    };
    if matches!(read, BodyRead::TooLarge) {
        drain_in_background(body);
    }
    // Recorded before any handling, but the body only once the request is authenticated:
    // nothing of a refused request's body is kept.
    let path = parts.uri.path_and_query().map_or("", |pq| pq.as_str());
    let seq = shared.lock().records.push_request(&parts.method, path, &parts.headers);
    let keep_body = |body: &Bytes| shared.lock().records.attach_body(seq, body);
    let body_not_kept = |received: usize| shared.lock().records.body_not_kept(seq, received);

    let Some(route) = route else {
        body_not_kept(match &read {
            BodyRead::Complete(bytes) => bytes.len(),
            BodyRead::TooLarge | BodyRead::Failed | BodyRead::TimedOut => 1,
        });
        return Ok(send_error(
            &util::uuid_like(),
            &codes::API_NOT_FOUND,
            "The API does not exist or has not been published in the environment",
        ));
    };
    let body = match read {
        BodyRead::Complete(bytes) => bytes,
        BodyRead::TooLarge => {
            body_not_kept(1);
            return Ok(send_error(
                &util::uuid_like(),
                &codes::BODY_TOO_LARGE,
                "The request body is too large",
            ));
        }
        BodyRead::Failed => {
            body_not_kept(1);
            return Ok(send_error(
                &util::uuid_like(),
                &codes::INVALID_PARAMETER,
                "Bad request: the request body could not be read",
            ));
        }
        BodyRead::TimedOut => {
            body_not_kept(1);
            return Ok(send_error(
                &util::uuid_like(),
                &codes::INVALID_PARAMETER,
                "Bad request: the request body was not received in time",
            ));
        }
    };
    match route {
        Route::IamTokens => {
            let fault = shared.lock().take_fault(&FaultSite::Iam);
            match fault {
                Some(Fault::Latency(delay)) => tokio::time::sleep(delay).await,
                Some(Fault::Error {
                    status, code, message, ..
                }) => {
                    body_not_kept(body.len());
                    return Ok(fault_error(&util::uuid_like(), status, &code, &message));
                }
                Some(Fault::Response {
                    status,
                    headers,
                    body: canned_body,
                }) => {
                    body_not_kept(body.len());
                    return Ok(canned(status, headers, canned_body));
                }
                Some(Fault::DropBeforeRun | Fault::DropAfterRun) => {
                    body_not_kept(body.len());
                    return Err(DropConnection);
                }
                _ => {}
            }
            let reply = auth::issue_token(&shared, &parts.headers, &body);
            // The body holds a password: kept only when it was right.
            if reply.status() == StatusCode::CREATED {
                keep_body(&body);
            } else {
                body_not_kept(body.len());
            }
            Ok(reply)
        }
        Route::MetadataToken => {
            body_not_kept(body.len());
            Ok(auth::metadata_token(&shared, &parts.headers))
        }
        Route::MetadataSecurityKey => {
            body_not_kept(body.len());
            Ok(auth::metadata_security_key(&shared, &parts.headers))
        }
        Route::Invoke {
            project_id,
            urn_segment,
            mode,
        } => {
            if let Err(rejection) = auth::authenticate(&shared, &parts.method, &parts.uri, &parts.headers, &body) {
                body_not_kept(body.len());
                return Ok(send_error(&util::uuid_like(), rejection.error, &rejection.message));
            }
            keep_body(&body);
            let call = Call {
                project_id,
                urn_segment,
                mode,
                headers: &parts.headers,
                body,
            };
            match invoke(&shared, call).await {
                Ok(reply) | Err(Early(reply)) => Ok(reply),
                Err(Dropped) => Err(DropConnection),
            }
        }
    }
}

async fn read_body(headers: &HeaderMap, body: &mut Incoming, limit: usize) -> BodyRead {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return BodyRead::TooLarge;
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => BodyRead::Complete(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => BodyRead::TooLarge,
        Err(_) => BodyRead::Failed,
    }
}

fn drain_in_background(mut body: Incoming) {
    tokio::spawn(async move {
        let drain = async {
            let mut seen = 0usize;
            while let Some(Ok(frame)) = body.frame().await {
                seen = seen.saturating_add(frame.data_ref().map_or(0, Bytes::len));
                if seen > DRAIN_MAX {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain).await;
    });
}

pub(crate) fn json_bytes(value: &impl Serialize) -> Bytes {
    // Serialising the plain structs here cannot fail; `null` keeps the server answering.
    Bytes::from(serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec()))
}

pub(crate) fn response(status: StatusCode, headers: Vec<(HeaderName, String)>, body: ResponseBody) -> Reply {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let map = response.headers_mut();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            map.append(name, value);
        }
    }
    response
}

/// Sends one of the emulator's own errors (every one is listed in [`codes`]): the
/// gateway's shape for `APIGW.*` codes, FunctionGraph's for `FSS.*` (with `request_id`).
pub(crate) fn send_error(request_id: &str, error: &'static SentError, message: &str) -> Reply {
    if error.is_gateway() {
        gateway_error(error.status, error.code.as_str(), message)
    } else {
        fss_error(request_id, error.status, error.code.as_str(), message)
    }
}

/// An error chosen by a fault rule: any status and code.
fn fault_error(request_id: &str, status: u16, code: &str, message: &str) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if code.starts_with("APIGW.") {
        gateway_error(status, code, message)
    } else {
        fss_error(request_id, status, code, message)
    }
}

/// An error of FunctionGraph itself: `X-Cff-Request-Id`, no `request_id` in the body.
fn fss_error(request_id: &str, status: StatusCode, code: &str, message: &str) -> Reply {
    let body = json_bytes(&ErrorResponse::new(code.into(), message.into()));
    response(
        status,
        vec![
            (CONTENT_TYPE, APPLICATION_JSON.to_owned()),
            (X_CFF_REQUEST_ID, request_id.to_owned()),
        ],
        full(body),
    )
}

/// An error of the API gateway: `X-Request-Id` and the same id as `request_id`.
fn gateway_error(status: StatusCode, code: &str, message: &str) -> Reply {
    let request_id = util::hex32();
    let mut error = ErrorResponse::new(code.into(), message.into());
    error.request_id = Some(request_id.clone());
    let body = json_bytes(&error);
    response(
        status,
        vec![(CONTENT_TYPE, APPLICATION_JSON.to_owned()), (X_REQUEST_ID, request_id)],
        full(body),
    )
}

/// The parts of an authenticated invoke request.
struct Call<'a> {
    project_id: &'a str,
    urn_segment: &'a str,
    mode: InvokeMode,
    headers: &'a HeaderMap,
    body: Bytes,
}

/// Why an invocation ended before a normal response.
enum Stop {
    /// An error response.
    Early(Reply),
    /// Close the connection without a response.
    Dropped,
}
use Stop::{Dropped, Early};

#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyVersion {
    V0,
    V1,
}

async fn invoke(shared: &Arc<Shared>, call: Call<'_>) -> Result<Reply, Stop> {
    let request_id = util::uuid_like();
    let refuse = |error: &'static SentError, message: &str| Early(send_error(&request_id, error, message));

    // Both wire forms are accepted: percent-encoded (the Python SDK) and raw (Go, Node).
    let decoded = util::percent_decode(call.urn_segment).ok_or_else(|| {
        refuse(
            &codes::INVALID_URN,
            "Invalid function URN: not valid percent-encoded UTF-8",
        )
    })?;
    let urn = fgs_urn::FunctionUrn::parse(&decoded).map_err(|error| {
        refuse(
            &codes::INVALID_URN,
            &format!("Invalid function URN: {}", error.problem()),
        )
    })?;
    if urn.project_id() != call.project_id {
        return Err(refuse(
            &codes::INVALID_PARAMETER,
            "Bad request: the project id in the path does not match the function URN",
        ));
    }
    if call.project_id != shared.config.project_id {
        return Err(refuse(
            &codes::FORBIDDEN,
            "Forbidden: the project id does not match the credentials' project",
        ));
    }

    let site = FaultSite::Invocation {
        package: urn.package(),
        name: urn.name(),
    };
    let fault = shared.lock().take_fault(&site);
    let fault = match fault {
        Some(Fault::Latency(delay)) => {
            tokio::time::sleep(delay).await;
            None
        }
        Some(Fault::Error {
            status,
            code,
            message,
            retry_after,
        }) => {
            let mut reply = fault_error(&request_id, status, &code, &message);
            if let Some(after) = retry_after.and_then(|d| HeaderValue::from_str(&d.as_secs().to_string()).ok()) {
                reply.headers_mut().insert(RETRY_AFTER, after);
            }
            return Err(Early(reply));
        }
        Some(Fault::Response { status, headers, body }) => return Err(Early(canned(status, headers, body))),
        Some(Fault::DropBeforeRun) => return Err(Dropped),
        other => other,
    };

    let body_version = match call.headers.get("x-cff-request-version").map(HeaderValue::as_bytes) {
        None | Some(b"v0") => BodyVersion::V0,
        Some(b"v1") => BodyVersion::V1,
        Some(_) if call.mode == InvokeMode::Async => BodyVersion::V0,
        Some(_) => {
            return Err(refuse(
                &codes::INVALID_PARAMETER,
                "Bad request: X-CFF-Request-Version must be v0 or v1",
            ));
        }
    };
    let requested_memory = match call.headers.get("x-cff-instance-memory") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u32>().ok())
                .filter(|m| MEMORY_SIZES_MB.contains(m))
                .ok_or_else(|| refuse(&codes::INVALID_MEMORY, "Invalid function memory"))?,
        ),
    };
    let tail_log = call
        .headers
        .get("x-cff-log-type")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"tail"));

    let (handler, version, timeout, memory_mb, slots) = {
        let state = shared.lock();
        let Some(registered) = state.functions.get(&(urn.package().to_owned(), urn.name().to_owned())) else {
            return Err(refuse(&codes::FUNCTION_NOT_FOUND, "Not found the function"));
        };
        let function = &registered.function;
        let version = match urn.qualifier() {
            None => "latest".to_owned(),
            Some(fgs_urn::Qualifier::Version(version)) => version.to_owned(),
            Some(fgs_urn::Qualifier::Alias(alias)) => match function.aliases.get(alias) {
                Some(version) => version.clone(),
                None => return Err(refuse(&codes::ALIAS_NOT_FOUND, "Not found the function alias")),
            },
        };
        let Some(handler) = function.versions.get(&version) else {
            return Err(refuse(&codes::VERSION_NOT_FOUND, "Not found the function version"));
        };
        let memory = requested_memory.unwrap_or(function.memory_mb);
        (
            handler.clone(),
            version,
            function.timeout,
            memory,
            registered.slots.clone(),
        )
    };

    let event: Value = if call.body.is_empty() {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(&call.body).map_err(|_| {
            refuse(
                &codes::NOT_ACCEPTABLE,
                "Not acceptable: the request body is not in the required JSON format",
            )
        })?
    };

    let permit = match slots {
        None => None,
        Some(slots) => Some(slots.try_acquire_owned().map_err(|_| {
            refuse(
                &codes::TOO_MANY_REQUESTS,
                "Too many concurrent requests. Please try again later",
            )
        })?),
    };

    let record_limit = shared.config.records.body;
    let context = Context {
        request_id: request_id.clone(),
        urn: urn.as_str().to_owned(),
        version: version.clone(),
        memory_mb,
        deadline: time::instant_after(Instant::now(), timeout),
        // Enough for the log tail of the response and for the record.
        log: Arc::new(Mutex::new(LogBuffer::new(record_limit.max(LOG_LIMIT)))),
    };
    let started_at = SystemTime::now();
    let event_truncated = call.body.len() > record_limit;
    let record = InvocationRecord {
        request_id: request_id.clone(),
        mode: call.mode,
        urn: urn.as_str().to_owned(),
        package: urn.package().to_owned(),
        name: urn.name().to_owned(),
        version: version.clone(),
        headers: copy_headers(call.headers),
        event: if event_truncated { Value::Null } else { event.clone() },
        event_truncated,
        memory_mb,
        started_at,
        outcome: None,
        duration: None,
        log: Vec::new(),
        log_truncated: false,
    };
    let event_bytes = if event_truncated { 0 } else { call.body.len() };
    shared.lock().records.push_invocation(record.clone(), event_bytes);

    // The run is its own task: it finishes and is recorded even when the caller hangs up
    // (hyper then drops this future), and it holds the concurrency slot until then.
    let run_task = {
        let shared = Arc::clone(shared);
        let context = context.clone();
        tokio::spawn(async move {
            let (outcome, elapsed) = run(handler, event, context.clone(), timeout).await;
            drop(permit);
            finish(&shared, &context, record, outcome.clone(), elapsed);
            (outcome, elapsed)
        })
    };
    if call.mode == InvokeMode::Async {
        drop(run_task);
        let body = json_bytes(&AsyncInvokeResult::new(request_id.clone()));
        return Ok(response(
            StatusCode::ACCEPTED,
            vec![
                (CONTENT_TYPE, APPLICATION_JSON.to_owned()),
                (X_CFF_REQUEST_ID, request_id),
            ],
            full(body),
        ));
    }
    let Ok((outcome, elapsed)) = run_task.await else {
        return Err(refuse(&codes::RUN_LOST, "Internal error: the run was lost"));
    };
    let finished_at = SystemTime::now();
    if fault == Some(Fault::DropAfterRun) {
        return Err(Dropped);
    }

    let measured = Measured {
        request_id: &request_id,
        version: &version,
        memory_mb,
        duration_ms: elapsed.as_micros() as f64 / 1000.0,
        memory_used_mb: memory_used(memory_mb, call.body.len()),
        started_at,
        finished_at,
    };
    let mut reply = sync_response(&measured, &outcome, &context.log_lines(), body_version, tail_log);
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
    Ok(reply)
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
                Ok(Err(join_error)) => RunOutcome::Raised(crate::FunctionError::new(
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

fn canned(status: u16, headers: Vec<(String, String)>, body: Bytes) -> Reply {
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let map = response.headers_mut();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            // hyper sets Content-Length from the body; a given one could only disagree.
            if name != CONTENT_LENGTH {
                map.append(name, value);
            }
        }
    }
    response
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
        util::keep_tail(&text, LOG_LIMIT).to_owned()
    }
}

fn sync_response(
    measured: &Measured<'_>,
    outcome: &RunOutcome,
    lines: &[String],
    version: BodyVersion,
    tail_log: bool,
) -> Reply {
    let (result, error_code) = match outcome {
        RunOutcome::Returned(value) => (value.to_string(), None),
        RunOutcome::Raised(error) => (error.to_json().to_string(), Some(FUNC_ERR_RAISED)),
        RunOutcome::TimedOut => {
            let error = crate::FunctionError::new(
                "TimeoutError",
                format!("invocation timed out after {:.3} s", measured.duration_ms / 1000.0),
            );
            (error.to_json().to_string(), Some(FUNC_ERR_TIMEOUT))
        }
    };
    let log = if tail_log {
        measured.log_text(lines, error_code.is_some())
    } else {
        String::new()
    };
    let mut summary = InvokeSummary::new();
    summary.duration = Some(measured.duration_ms);
    summary.billing_duration = Some(measured.billing_ms() as f64);
    summary.memory_size = Some(i64::from(measured.memory_mb));
    summary.memory_used = Some(measured.memory_used_mb);
    let summary = json_bytes(&summary);
    let mut headers = vec![
        (CONTENT_TYPE, APPLICATION_JSON.to_owned()),
        (X_CFF_REQUEST_ID, measured.request_id.to_owned()),
        (
            HeaderName::from_static("x-cff-invoke-summary"),
            String::from_utf8_lossy(&summary).into_owned(),
        ),
        (
            HeaderName::from_static("x-cff-billing-duration"),
            measured.billing_ms().to_string(),
        ),
        (
            HeaderName::from_static("x-cff-response-version"),
            match version {
                BodyVersion::V0 => "v0",
                BodyVersion::V1 => "v1",
            }
            .to_owned(),
        ),
        (
            HeaderName::from_static("x-func-err-code"),
            error_code.unwrap_or("0").to_owned(),
        ),
        (
            HeaderName::from_static("x-is-func-err"),
            error_code.is_some().to_string(),
        ),
    ];
    if tail_log {
        headers.push((
            HeaderName::from_static("x-cff-function-log"),
            base64::engine::general_purpose::STANDARD.encode(&log),
        ));
    }
    let body = match version {
        BodyVersion::V0 => Bytes::from(result),
        BodyVersion::V1 => {
            let mut envelope = InvokeResult::new(measured.request_id.to_owned(), result);
            envelope.log = Some(log);
            envelope.status = Some(200);
            json_bytes(&envelope)
        }
    };
    response(StatusCode::OK, headers, full(body))
}
