//! Request handling: reading the body under its limit, recording, routing, and handing
//! each request to its endpoint (the invoke API, IAM's tokens, project lookup and
//! federation, STS, pod identity, metadata).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fgs_core::generated::operations::{AsyncInvokeFunction, InvokeFunction};
use fgs_core::protocol::{Operation, OperationInfo};
use http::header::CONTENT_LENGTH;
use http::request::Parts;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper::body::Incoming;

use crate::auth;
use crate::codes::{self, SentError};
use crate::fault::{Fault, FaultSite};
use crate::federation::{self, ASSUME_WITH_OIDC_PATH, POD_IDENTITY_PATH};
use crate::iam::{self, ID_TOKEN_TOKENS_PATH, PROJECTS_PATH, SECURITY_TOKENS_PATH, TOKENS_PATH as IAM_TOKENS_PATH};
use crate::ids;
use crate::invoke::{self, Call, Stop};
use crate::record::InvokeMode;
use crate::reply::{DropConnection, Reply, canned, fault_error, send_error};
use crate::state::Shared;

/// The spec's synchronous and asynchronous invoke operations.
const SYNC_INVOKE: &OperationInfo = &<InvokeFunction as Operation>::INFO;
const ASYNC_INVOKE: &OperationInfo = &<AsyncInvokeFunction as Operation>::INFO;
/// Largest request body of a synchronous invocation, as the spec gives it (6 MiB).
pub(crate) const SYNC_BODY_LIMIT: usize = body_limit(SYNC_INVOKE.max_body_bytes);
/// Largest request body of an asynchronous invocation, as the spec gives it (256 KiB).
const ASYNC_BODY_LIMIT: usize = body_limit(ASYNC_INVOKE.max_body_bytes);
/// Largest body of other requests (IAM, metadata), and of an operation the spec would
/// give no limit.
const OTHER_BODY_LIMIT: usize = 64 * 1024;
/// How much of an oversized body is read and thrown away (without buffering) after the
/// 413, so that a client still writing it sees the response rather than a reset.
const DRAIN_MAX: usize = 64 * 1024 * 1024;
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The ECS metadata service's paths: outside the FunctionGraph spec (IAM's are in `iam.rs`).
const METADATA_TOKEN_PATH: &str = "/meta-data/latest/api/token";
const METADATA_SECURITY_KEY_PATH: &str = "/openstack/latest/securitykey";

/// `max_body_bytes` of an operation as a `usize`.
const fn body_limit(max_body_bytes: Option<u64>) -> usize {
    match max_body_bytes {
        Some(bytes) if bytes <= usize::MAX as u64 => bytes as usize,
        _ => OTHER_BODY_LIMIT,
    }
}

/// Which endpoint a request is for.
enum Route<'a> {
    Invoke {
        project_id: &'a str,
        urn_segment: &'a str,
        mode: InvokeMode,
    },
    IamTokens,
    IamProjects,
    IamIdTokenTokens,
    IamSecurityTokens,
    StsAssumeWithOidc,
    PodIdentity,
    MetadataToken,
    MetadataSecurityKey,
}

impl Route<'_> {
    /// The largest body this endpoint reads.
    fn body_limit(&self) -> usize {
        match self {
            Route::Invoke {
                mode: InvokeMode::Sync, ..
            } => SYNC_BODY_LIMIT,
            Route::Invoke {
                mode: InvokeMode::Async,
                ..
            } => ASYNC_BODY_LIMIT,
            Route::IamTokens
            | Route::IamProjects
            | Route::IamIdTokenTokens
            | Route::IamSecurityTokens
            | Route::StsAssumeWithOidc
            | Route::PodIdentity
            | Route::MetadataToken
            | Route::MetadataSecurityKey => OTHER_BODY_LIMIT,
        }
    }
}

fn route<'a>(method: &Method, path: &'a str) -> Option<Route<'a>> {
    match (method, path) {
        (&Method::PUT, METADATA_TOKEN_PATH) => Some(Route::MetadataToken),
        (&Method::GET, METADATA_SECURITY_KEY_PATH) => Some(Route::MetadataSecurityKey),
        (&Method::POST, IAM_TOKENS_PATH) => Some(Route::IamTokens),
        (&Method::GET, PROJECTS_PATH) => Some(Route::IamProjects),
        (&Method::POST, ID_TOKEN_TOKENS_PATH) => Some(Route::IamIdTokenTokens),
        (&Method::POST, SECURITY_TOKENS_PATH) => Some(Route::IamSecurityTokens),
        (&Method::POST, ASSUME_WITH_OIDC_PATH) => Some(Route::StsAssumeWithOidc),
        (&Method::POST, POD_IDENTITY_PATH) => Some(Route::PodIdentity),
        _ => invoke_route(method, path),
    }
}

/// The invoke operation whose spec method and path template the request matches.
fn invoke_route<'a>(method: &Method, path: &'a str) -> Option<Route<'a>> {
    let operations = [(SYNC_INVOKE, InvokeMode::Sync), (ASYNC_INVOKE, InvokeMode::Async)];
    operations.into_iter().find_map(|(info, mode)| {
        let params = match_path(info, method, path)?;
        let param = |name: &str| params.iter().find(|(key, _)| *key == name).map(|(_, value)| *value);
        Some(Route::Invoke {
            project_id: param("project_id")?,
            urn_segment: param("function_urn")?,
            mode,
        })
    })
}

/// Matches a request against an operation's method and path template
/// (`/v2/{project_id}/...`): the value of each `{placeholder}` by name, or `None` if the
/// request is not for this operation. A placeholder matches one non-empty segment.
fn match_path<'a>(info: &OperationInfo, method: &Method, path: &'a str) -> Option<Vec<(&'static str, &'a str)>> {
    if *method != info.method {
        return None;
    }
    let mut params = Vec::new();
    let mut segments = path.split('/');
    for part in info.path_template.split('/') {
        let segment = segments.next()?;
        match part.strip_prefix('{').and_then(|name| name.strip_suffix('}')) {
            Some(name) if !segment.is_empty() => params.push((name, segment)),
            Some(_) => return None,
            None if part == segment => {}
            None => return None,
        }
    }
    segments.next().is_none().then_some(params)
}

enum BodyRead {
    Complete(Bytes),
    TooLarge,
    Failed,
    TimedOut,
}

/// Records whether a request's body is kept: only once the request is authenticated, so
/// that nothing of a refused request's body is kept.
struct BodyRecord<'a> {
    shared: &'a Shared,
    seq: u64,
}

impl BodyRecord<'_> {
    fn keep(&self, body: &Bytes) {
        self.shared.lock().records.attach_body(self.seq, body);
    }

    fn not_kept(&self, received: usize) {
        self.shared.lock().records.body_not_kept(self.seq, received);
    }
}

/// Handles one request. `Err` closes the connection without a response.
pub(crate) async fn serve(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Reply, DropConnection> {
    let (parts, mut body) = request.into_parts();
    let route = route(&parts.method, parts.uri.path());
    let limit = route.as_ref().map_or(OTHER_BODY_LIMIT, Route::body_limit);
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
    // Recorded before any handling, but the body only once the request is authenticated.
    let path = parts.uri.path_and_query().map_or("", |pq| pq.as_str());
    let seq = shared.lock().records.push_request(&parts.method, path, &parts.headers);
    let record = BodyRecord { shared: &shared, seq };

    let Some(route) = route else {
        record.not_kept(match &read {
            BodyRead::Complete(bytes) => bytes.len(),
            BodyRead::TooLarge | BodyRead::Failed | BodyRead::TimedOut => 1,
        });
        return Ok(send_error(
            &ids::uuid_like(),
            &codes::API_NOT_FOUND,
            "The API does not exist or has not been published in the environment",
        ));
    };
    let body = match complete_body(read) {
        Ok(body) => body,
        Err((error, message)) => {
            record.not_kept(1);
            return Ok(send_error(&ids::uuid_like(), error, message));
        }
    };
    dispatch(&shared, route, &parts, body, &record).await
}

/// The body that was read in full, or the error answering one that was not.
fn complete_body(read: BodyRead) -> Result<Bytes, (&'static SentError, &'static str)> {
    let (error, message) = match read {
        BodyRead::Complete(bytes) => return Ok(bytes),
        BodyRead::TooLarge => (&codes::BODY_TOO_LARGE, "The request body is too large"),
        BodyRead::Failed => (
            &codes::INVALID_PARAMETER,
            "Bad request: the request body could not be read",
        ),
        BodyRead::TimedOut => (
            &codes::INVALID_PARAMETER,
            "Bad request: the request body was not received in time",
        ),
    };
    Err((error, message))
}

/// Hands a request whose body was read to its endpoint.
async fn dispatch(
    shared: &Arc<Shared>,
    route: Route<'_>,
    parts: &Parts,
    body: Bytes,
    record: &BodyRecord<'_>,
) -> Result<Reply, DropConnection> {
    match route {
        Route::IamTokens => iam_tokens(shared, &parts.headers, body, record).await,
        Route::IamProjects => {
            if let Some(answer) = service_fault(shared, &FaultSite::Iam, body.len(), record).await {
                return answer;
            }
            if let Some(reply) = refusal(shared, parts, &body, record) {
                return Ok(reply);
            }
            Ok(iam::list_projects(shared, &parts.uri, &parts.headers))
        }
        // Their bodies hold ID tokens and tokens: never kept.
        Route::IamIdTokenTokens => {
            if let Some(answer) = service_fault(shared, &FaultSite::Iam, body.len(), record).await {
                return answer;
            }
            record.not_kept(body.len());
            Ok(federation::id_token_tokens(shared, &parts.headers, &body))
        }
        Route::IamSecurityTokens => {
            if let Some(answer) = service_fault(shared, &FaultSite::Iam, body.len(), record).await {
                return answer;
            }
            record.not_kept(body.len());
            Ok(federation::security_tokens(shared, &body))
        }
        Route::StsAssumeWithOidc => {
            if let Some(answer) = service_fault(shared, &FaultSite::Sts, body.len(), record).await {
                return answer;
            }
            record.not_kept(body.len());
            Ok(federation::assume_with_oidc(shared, &body))
        }
        Route::PodIdentity => {
            if let Some(answer) = service_fault(shared, &FaultSite::PodIdentity, body.len(), record).await {
                return answer;
            }
            record.not_kept(body.len());
            Ok(federation::pod_identity(shared, &parts.headers))
        }
        Route::MetadataToken => {
            record.not_kept(body.len());
            Ok(auth::metadata_token(shared, &parts.headers))
        }
        Route::MetadataSecurityKey => {
            record.not_kept(body.len());
            Ok(auth::metadata_security_key(shared, &parts.headers))
        }
        Route::Invoke {
            project_id,
            urn_segment,
            mode,
        } => {
            if let Some(reply) = refusal(shared, parts, &body, record) {
                return Ok(reply);
            }
            let call = Call {
                project_id,
                urn_segment,
                mode,
                headers: &parts.headers,
                body,
            };
            match invoke::invoke(shared, call).await {
                Ok(reply) => Ok(reply),
                Err(Stop::Early(reply)) => Ok(*reply),
                Err(Stop::Dropped) => Err(DropConnection),
            }
        }
    }
}

/// Checks a request's credentials (`auth::authenticate`): keeps its body in the record
/// and returns `None` when they are good, returns the gateway's 401 when not.
fn refusal(shared: &Shared, parts: &Parts, body: &Bytes, record: &BodyRecord<'_>) -> Option<Reply> {
    match auth::authenticate(shared, &parts.method, &parts.uri, &parts.headers, body) {
        Ok(()) => {
            record.keep(body);
            None
        }
        Err(rejection) => {
            record.not_kept(body.len());
            Some(send_error(&ids::uuid_like(), rejection.error, &rejection.message))
        }
    }
}

/// Applies the first fault rule for a credential service (IAM, STS, pod identity) that
/// fires, if any: waits out a latency (and returns `None`, to go on handling), or returns
/// the fault's answer. A refused request's body (of `body_len` bytes) is not kept.
async fn service_fault(
    shared: &Shared,
    site: &FaultSite<'_>,
    body_len: usize,
    record: &BodyRecord<'_>,
) -> Option<Result<Reply, DropConnection>> {
    let fault = shared.lock().take_fault(site);
    let answer = match fault? {
        Fault::Latency(delay) => {
            tokio::time::sleep(delay).await;
            return None;
        }
        Fault::Error {
            status, code, message, ..
        } => Ok(fault_error(&ids::uuid_like(), status, &code, &message)),
        Fault::Response { status, headers, body } => Ok(canned(status, headers, body)),
        Fault::DropBeforeRun | Fault::DropAfterRun => Err(DropConnection),
        _ => return None,
    };
    record.not_kept(body_len);
    Some(answer)
}

/// `POST /v3/auth/tokens`, after any fault rule for IAM.
async fn iam_tokens(
    shared: &Shared,
    headers: &HeaderMap,
    body: Bytes,
    record: &BodyRecord<'_>,
) -> Result<Reply, DropConnection> {
    if let Some(answer) = service_fault(shared, &FaultSite::Iam, body.len(), record).await {
        return answer;
    }
    let reply = auth::issue_token(shared, headers, &body);
    // The body holds a password: kept only when it was right.
    if reply.status() == StatusCode::CREATED {
        record.keep(&body);
    } else {
        record.not_kept(body.len());
    }
    Ok(reply)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_limits_are_the_specs() {
        assert_eq!(SYNC_BODY_LIMIT, 6 * 1024 * 1024);
        assert_eq!(ASYNC_BODY_LIMIT, 256 * 1024);
    }

    #[test]
    fn routes_invoke_paths_by_the_spec_templates() {
        let route_of = |method: &Method, path: &'static str| match route(method, path) {
            Some(Route::Invoke {
                project_id,
                urn_segment,
                mode,
            }) => Some((project_id, urn_segment, mode)),
            _ => None,
        };
        assert_eq!(
            route_of(&Method::POST, "/v2/p/fgs/functions/u/invocations"),
            Some(("p", "u", InvokeMode::Sync))
        );
        assert_eq!(
            route_of(&Method::POST, "/v2/p/fgs/functions/u/invocations-async"),
            Some(("p", "u", InvokeMode::Async))
        );
        for path in [
            "/v2/p/fgs/functions/u/invocations/",
            "/v2//fgs/functions/u/invocations",
            "/v2/p/fgs/functions//invocations",
            "/v2/p/fgs/functions/u/other",
            "/v2/p/fgs/functions/u",
            "v2/p/fgs/functions/u/invocations",
            "/v3/p/fgs/functions/u/invocations",
        ] {
            assert_eq!(route_of(&Method::POST, path), None, "{path}");
        }
        assert_eq!(route_of(&Method::GET, "/v2/p/fgs/functions/u/invocations"), None);
        assert!(matches!(route(&Method::POST, IAM_TOKENS_PATH), Some(Route::IamTokens)));
        assert!(route(&Method::GET, IAM_TOKENS_PATH).is_none());
        assert!(matches!(route(&Method::GET, PROJECTS_PATH), Some(Route::IamProjects)));
        assert!(route(&Method::POST, PROJECTS_PATH).is_none());
        assert!(route(&Method::GET, "/v3/projects/").is_none());
        assert!(matches!(
            route(&Method::POST, "/v3.0/OS-AUTH/id-token/tokens"),
            Some(Route::IamIdTokenTokens)
        ));
        assert!(matches!(
            route(&Method::POST, "/v3.0/OS-CREDENTIAL/securitytokens"),
            Some(Route::IamSecurityTokens)
        ));
        assert!(matches!(
            route(&Method::POST, "/v5/agencies/assume-with-oidc"),
            Some(Route::StsAssumeWithOidc)
        ));
        assert!(matches!(
            route(&Method::POST, "/v1/pod-identity/credentials"),
            Some(Route::PodIdentity)
        ));
        assert!(route(&Method::GET, "/v5/agencies/assume-with-oidc").is_none());
    }
}
