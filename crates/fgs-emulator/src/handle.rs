//! Request handling: recording, canned responses, routing, authentication
//! and the invoke API itself.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde::Serialize;

use crate::server::{Canned, Invocation, Outcome, RecordedRequest, Resolved, Shared};
use crate::util;

/// Largest request body of a synchronous invocation (6 MiB).
pub(crate) const SYNC_BODY_LIMIT: usize = 6 * 1024 * 1024;
/// Largest request body of an asynchronous invocation (256 KiB).
pub(crate) const ASYNC_BODY_LIMIT: usize = 256 * 1024;
/// The function log is cut to its last this many bytes.
const LOG_LIMIT: usize = 4096;
/// Instance memory sizes (MB) the service accepts.
const MEMORY_SIZES: [u32; 15] = [
    128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 8192, 10240,
];
/// Memory used when no `X-Cff-Instance-Memory` header is sent.
const DEFAULT_MEMORY: u32 = 128;
/// How much of an oversized body is read and thrown away (without buffering)
/// after the 413 response, so that a client still writing it sees the
/// response rather than a connection reset.
const DRAIN_MAX: usize = 64 * 1024 * 1024;
/// How long an oversized body is drained at most.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

const APPLICATION_JSON: &str = "application/json";
const X_AUTH_TOKEN: &str = "x-auth-token";
const X_CFF_REQUEST_ID: &str = "x-cff-request-id";
const X_REQUEST_ID: &str = "x-request-id";

/// Which invocation endpoint a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Sync,
    Async,
}

/// A request path that matched an invocation route.
struct Route<'a> {
    project_id: &'a str,
    urn_segment: &'a str,
    mode: Mode,
}

/// Matches `POST /v2/{project_id}/fgs/functions/{function_urn}/invocations[-async]`.
fn route<'a>(method: &Method, path: &'a str) -> Option<Route<'a>> {
    if method != Method::POST {
        return None;
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
        "invocations" => Mode::Sync,
        "invocations-async" => Mode::Async,
        _ => return None,
    };
    if project_id.is_empty() || urn_segment.is_empty() {
        return None;
    }
    Some(Route {
        project_id,
        urn_segment,
        mode,
    })
}

/// How reading the request body went.
enum BodyRead {
    Complete(Bytes),
    TooLarge,
    Failed,
}

/// Handles one request. Never fails: every problem is an HTTP response.
pub(crate) async fn serve(shared: Arc<Shared>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, mut body) = request.into_parts();
    let path = parts.uri.path();
    let matched = route(&parts.method, path);
    let limit = match matched.as_ref().map(|r| r.mode) {
        Some(Mode::Async) => ASYNC_BODY_LIMIT,
        _ => SYNC_BODY_LIMIT,
    };

    let read = read_body(&parts.headers, &mut body, limit).await;
    if matches!(read, BodyRead::TooLarge) {
        drain_in_background(body);
    }
    let body_bytes = match &read {
        BodyRead::Complete(bytes) => bytes.clone(),
        BodyRead::TooLarge | BodyRead::Failed => Bytes::new(),
    };

    let canned = {
        let mut state = shared.lock();
        state.record(RecordedRequest {
            method: parts.method.clone(),
            path: parts
                .uri
                .path_and_query()
                .map_or_else(|| parts.uri.to_string(), |pq| pq.as_str().to_owned()),
            headers: parts.headers.clone(),
            body: body_bytes.clone(),
        });
        state.next_canned()
    };
    if let Some(canned) = canned {
        return canned_response(canned);
    }

    let Some(route) = matched else {
        return gateway_error(
            StatusCode::NOT_FOUND,
            "APIGW.0101",
            "The API does not exist or has not been published in the environment",
        );
    };

    match parts.headers.get(X_AUTH_TOKEN) {
        None => {
            return gateway_error(
                StatusCode::UNAUTHORIZED,
                "APIGW.0301",
                "Incorrect IAM authentication information: x-auth-token not found",
            );
        }
        Some(token) if token.as_bytes() != shared.token.as_bytes() => {
            return gateway_error(
                StatusCode::UNAUTHORIZED,
                "APIGW.0301",
                "Incorrect IAM authentication information: decrypt token fail",
            );
        }
        Some(_) => {}
    }

    let request_id = util::uuid_like();
    let body = match read {
        BodyRead::Complete(bytes) => bytes,
        BodyRead::TooLarge => {
            return fss_error(
                &request_id,
                StatusCode::PAYLOAD_TOO_LARGE,
                "FSS.1201",
                "The request body is too large",
            );
        }
        BodyRead::Failed => {
            return fss_error(
                &request_id,
                StatusCode::BAD_REQUEST,
                "FSS.0400",
                "Bad request: the request body could not be read",
            );
        }
    };
    match invoke(&shared, &route, &parts.headers, &body, &request_id).await {
        Ok(response) | Err(response) => response,
    }
}

/// Reads the body up to `limit` bytes. A `Content-Length` over the limit is
/// rejected without reading anything.
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

/// Reads and discards the rest of an oversized body in the background, up to
/// [`DRAIN_MAX`] bytes and [`DRAIN_TIMEOUT`], so that the connection can
/// deliver the 413 response to a client that is still sending.
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

/// The body of an error response, in the service's field order.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: &'a str,
    error_msg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

/// The value reported by a function that raised.
#[derive(Serialize)]
struct FunctionError<'a> {
    #[serde(rename = "errorMessage")]
    error_message: &'a str,
    #[serde(rename = "errorType")]
    error_type: &'a str,
    #[serde(rename = "stackTrace")]
    stack_trace: &'a [String],
}

/// The `X-Cff-Invoke-Summary` header.
#[derive(Serialize)]
struct InvokeSummary {
    duration: f64,
    #[serde(rename = "billingDuration")]
    billing_duration: u64,
    #[serde(rename = "memorySize")]
    memory_size: u32,
    #[serde(rename = "memoryUsed")]
    memory_used: f64,
}

/// The body of a v1 synchronous response.
#[derive(Serialize)]
struct V1Body<'a> {
    request_id: &'a str,
    result: &'a str,
    log: &'a str,
    status: u16,
}

/// The body of an asynchronous response.
#[derive(Serialize)]
struct AsyncBody<'a> {
    request_id: &'a str,
}

/// Builds a response, leaving out headers whose value is not a valid header
/// value.
fn response(status: StatusCode, headers: Vec<(HeaderName, String)>, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let map = response.headers_mut();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            map.append(name, value);
        }
    }
    response
}

fn json_bytes(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec())
}

/// An error of FunctionGraph itself: `X-Cff-Request-Id` header, no
/// `request_id` in the body.
fn fss_error(request_id: &str, status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json_bytes(&ErrorBody {
        error_code: code,
        error_msg: message,
        request_id: None,
    });
    response(
        status,
        vec![
            (CONTENT_TYPE, APPLICATION_JSON.to_owned()),
            (HeaderName::from_static(X_CFF_REQUEST_ID), request_id.to_owned()),
        ],
        body,
    )
}

/// An error of the API gateway: `X-Request-Id` header and the same id as
/// `request_id` in the body.
fn gateway_error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let request_id = util::hex32();
    let body = json_bytes(&ErrorBody {
        error_code: code,
        error_msg: message,
        request_id: Some(&request_id),
    });
    response(
        status,
        vec![
            (CONTENT_TYPE, APPLICATION_JSON.to_owned()),
            (HeaderName::from_static(X_REQUEST_ID), request_id.clone()),
        ],
        body,
    )
}

fn canned_response(canned: Canned) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(canned.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(Full::new(canned.body));
    *response.status_mut() = status;
    let map = response.headers_mut();
    for (name, value) in canned.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            // Hyper sets Content-Length from the body; a canned one could
            // only disagree with it.
            if name != CONTENT_LENGTH {
                map.append(name, value);
            }
        }
    }
    response
}

/// The response format asked for with `X-CFF-Request-Version`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ResponseVersion {
    V0,
    V1,
}

impl ResponseVersion {
    fn as_str(self) -> &'static str {
        match self {
            ResponseVersion::V0 => "v0",
            ResponseVersion::V1 => "v1",
        }
    }
}

type Reply = Result<Response<Full<Bytes>>, Response<Full<Bytes>>>;

/// Validates and runs an invocation. Both variants are responses; `Err` is
/// an early error response.
async fn invoke(shared: &Arc<Shared>, route: &Route<'_>, headers: &HeaderMap, body: &Bytes, request_id: &str) -> Reply {
    let bad_request = |code: &str, message: &str| fss_error(request_id, StatusCode::BAD_REQUEST, code, message);

    let decoded = util::percent_decode(route.urn_segment).ok_or_else(|| {
        bad_request(
            "FSS.1309",
            "Invalid function URN: the path segment is not valid percent-encoded UTF-8",
        )
    })?;
    let urn = fgs_urn::FunctionUrn::parse(&decoded).map_err(|error| {
        let text = error.to_string();
        let reason = text.strip_prefix("invalid function URN: ").unwrap_or(&text);
        bad_request("FSS.1309", &format!("Invalid function URN: {reason}"))
    })?;
    if urn.project_id() != route.project_id {
        return Err(bad_request(
            "FSS.0400",
            "Bad request: the project id in the path does not match the function URN",
        ));
    }

    let version_header = headers.get("x-cff-request-version").map(HeaderValue::as_bytes);
    let response_version = match version_header {
        None | Some(b"v0") => ResponseVersion::V0,
        Some(b"v1") => ResponseVersion::V1,
        Some(_) if route.mode == Mode::Async => ResponseVersion::V0,
        Some(_) => {
            return Err(bad_request(
                "FSS.0400",
                "Bad request: X-CFF-Request-Version must be v0 or v1",
            ));
        }
    };

    let memory_mb = match headers.get("x-cff-instance-memory") {
        None => DEFAULT_MEMORY,
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|m| MEMORY_SIZES.contains(m))
            .ok_or_else(|| bad_request("FSS.1007", "Invalid function memory"))?,
    };
    let tail_log = headers
        .get("x-cff-log-type")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"tail"));

    let resolved = shared.lock().resolve(urn.package(), urn.name(), urn.qualifier());
    let (handler, version) = match resolved {
        Resolved::Found { handler, version } => (handler, version),
        Resolved::NoFunction => {
            return Err(not_found(request_id, "FSS.1051", "Not found the function"));
        }
        Resolved::NoVersion => {
            return Err(not_found(request_id, "FSS.1052", "Not found the function version"));
        }
        Resolved::NoAlias => {
            return Err(not_found(request_id, "FSS.1053", "Not found the function alias"));
        }
    };

    let event: serde_json::Value = if body.is_empty() {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(body).map_err(|_| {
            bad_request(
                "FSS.0406",
                "Not acceptable: the request body is not in the required JSON format",
            )
        })?
    };

    let invocation = Invocation {
        event,
        request_id: request_id.to_owned(),
        urn: urn.as_str().to_owned(),
        version: version.clone(),
        memory_mb,
    };
    let package = urn.package().to_owned();
    let name = urn.name().to_owned();

    if route.mode == Mode::Async {
        let shared = Arc::clone(shared);
        tokio::spawn(async move {
            let _ = tokio::task::spawn_blocking(move || handler(invocation)).await;
            shared.lock().count_invocation(&package, &name);
        });
        let body = json_bytes(&AsyncBody { request_id });
        return Ok(response(
            StatusCode::ACCEPTED,
            vec![
                (CONTENT_TYPE, APPLICATION_JSON.to_owned()),
                (HeaderName::from_static(X_CFF_REQUEST_ID), request_id.to_owned()),
            ],
            body,
        ));
    }

    let started_at = SystemTime::now();
    let started = Instant::now();
    let outcome = tokio::task::spawn_blocking(move || handler(invocation)).await;
    let elapsed = started.elapsed();
    let finished_at = SystemTime::now();
    shared.lock().count_invocation(&package, &name);
    let Ok(outcome) = outcome else {
        return Err(fss_error(
            request_id,
            StatusCode::INTERNAL_SERVER_ERROR,
            "FSS.0500",
            "Internal error: the function handler panicked",
        ));
    };

    let run = Run {
        request_id,
        version: &version,
        memory_mb,
        // Whole microseconds, in milliseconds: `0.123` rather than
        // `0.12345678`.
        duration_ms: elapsed.as_micros() as f64 / 1000.0,
        memory_used_mb: memory_used(memory_mb, body.len()),
        started_at,
        finished_at,
    };
    Ok(sync_response(&run, &outcome, response_version, tail_log))
}

fn not_found(request_id: &str, code: &str, message: &str) -> Response<Full<Bytes>> {
    fss_error(request_id, StatusCode::NOT_FOUND, code, message)
}

/// A plausible memory use in MB: a fixed runtime footprint plus twice the
/// event size, rounded to three decimals and capped at the instance memory.
fn memory_used(memory_mb: u32, event_len: usize) -> f64 {
    let used = 24.0 + 2.0 * event_len as f64 / (1024.0 * 1024.0);
    (used.min(f64::from(memory_mb)) * 1000.0).round() / 1000.0
}

/// The measurements of one synchronous run.
struct Run<'a> {
    request_id: &'a str,
    version: &'a str,
    memory_mb: u32,
    duration_ms: f64,
    memory_used_mb: f64,
    started_at: SystemTime,
    finished_at: SystemTime,
}

impl Run<'_> {
    /// The billed duration: whole milliseconds, rounded up, at least 1.
    fn billing_ms(&self) -> u64 {
        // `duration_ms` is small and non-negative, so the cast is exact.
        (self.duration_ms.ceil() as u64).max(1)
    }

    /// The function log as the service writes it, cut to its last
    /// [`LOG_LIMIT`] bytes.
    fn log_text(&self, lines: &[String], failed: bool) -> String {
        let mut text = format!(
            "{} Start invoke request '{}', version: {}\n",
            util::format_utc(self.started_at),
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
            util::format_utc(self.finished_at),
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

/// The 200 response of a synchronous invocation.
fn sync_response(run: &Run<'_>, outcome: &Outcome, version: ResponseVersion, tail_log: bool) -> Response<Full<Bytes>> {
    let (result, lines, failed) = match outcome {
        Outcome::Return { result, log } => (serde_json::to_string(result).unwrap_or_default(), log, false),
        Outcome::Raise {
            error_type,
            error_message,
            stack_trace,
            log,
        } => (
            serde_json::to_string(&FunctionError {
                error_message,
                error_type,
                stack_trace,
            })
            .unwrap_or_default(),
            log,
            true,
        ),
    };
    let log = if tail_log {
        run.log_text(lines, failed)
    } else {
        String::new()
    };
    let summary = serde_json::to_string(&InvokeSummary {
        duration: run.duration_ms,
        billing_duration: run.billing_ms(),
        memory_size: run.memory_mb,
        memory_used: run.memory_used_mb,
    })
    .unwrap_or_default();

    let mut headers = vec![
        (CONTENT_TYPE, APPLICATION_JSON.to_owned()),
        (HeaderName::from_static(X_CFF_REQUEST_ID), run.request_id.to_owned()),
        (HeaderName::from_static("x-cff-invoke-summary"), summary),
        (
            HeaderName::from_static("x-cff-billing-duration"),
            run.billing_ms().to_string(),
        ),
        (
            HeaderName::from_static("x-cff-response-version"),
            version.as_str().to_owned(),
        ),
        (
            HeaderName::from_static("x-func-err-code"),
            if failed { "1" } else { "0" }.to_owned(),
        ),
        (HeaderName::from_static("x-is-func-err"), failed.to_string()),
    ];
    if tail_log {
        headers.push((
            HeaderName::from_static("x-cff-function-log"),
            base64::engine::general_purpose::STANDARD.encode(&log),
        ));
    }
    let body = match version {
        ResponseVersion::V0 => result.into_bytes(),
        ResponseVersion::V1 => json_bytes(&V1Body {
            request_id: run.request_id,
            result: &result,
            log: &log,
            status: 200,
        }),
    };
    response(StatusCode::OK, headers, body)
}
