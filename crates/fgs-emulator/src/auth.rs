//! Authentication as the API gateway does it (IAM tokens, AK/SK signatures), a minimal
//! IAM token endpoint, and the ECS metadata endpoints.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use fgs_core::generated::operations::{AKSK_SIGNATURE_HEADER, IAM_TOKEN_HEADER};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{Value, json};

use crate::codes::{self, SentError};
use crate::fault::full;
use crate::headers::{X_METADATA_TOKEN, X_METADATA_TOKEN_TTL_SECONDS, X_SUBJECT_TOKEN};
use crate::reply::{APPLICATION_JSON, Reply, json_bytes, response};
use crate::state::{SecretKey, Shared, secret_eq};
use crate::{ids, time};

/// Why the gateway refuses a request: an `APIGW.*` error and message.
pub(crate) struct Rejection {
    pub(crate) error: &'static SentError,
    pub(crate) message: String,
}

fn incorrect(detail: impl std::fmt::Display) -> Rejection {
    Rejection {
        error: &codes::INCORRECT_AUTHENTICATION,
        message: format!("Incorrect IAM authentication information: {detail}"),
    }
}

/// When a token accepted by the emulator expires: `None` if unknown, `Some(None)` if
/// never. The lookup hashes with the map's random keys and compares in constant time.
fn token_expiry(shared: &Shared, token: &str) -> Option<Option<SystemTime>> {
    shared.lock().tokens.get(&SecretKey(token.to_owned())).copied()
}

/// Checks the credentials of an invoke request or an IAM project lookup: `X-Auth-Token`
/// if present, else an `SDK-HMAC-SHA256` signature.
pub(crate) fn authenticate(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Rejection> {
    if !shared.config.auth_required {
        return Ok(());
    }
    if let Some(token) = headers.get(IAM_TOKEN_HEADER) {
        let token = token.to_str().map_err(|_| incorrect("decrypt token fail"))?;
        return match token_expiry(shared, token) {
            None => Err(incorrect("decrypt token fail")),
            Some(Some(expires_at)) if expires_at <= SystemTime::now() => Err(Rejection {
                error: &codes::TOKEN_EXPIRED,
                message: "The token must be updated.".into(),
            }),
            Some(_) => Ok(()),
        };
    }
    let Some(authorization) = headers.get(AKSK_SIGNATURE_HEADER) else {
        return Err(incorrect(format_args!(
            "neither {IAM_TOKEN_HEADER} nor an AK/SK signature was sent"
        )));
    };
    let authorization = authorization
        .to_str()
        .ok()
        .and_then(|value| fgs_signing::Authorization::parse(value).ok())
        .ok_or_else(|| incorrect("the Authorization header is not an AK/SK signature of a known algorithm"))?;
    let temporary = shared.lock().temporary_keys.get(&authorization.access_key).cloned();
    let key = match (shared.config.access_keys.get(&authorization.access_key), temporary) {
        (Some(key), _) => key.clone(),
        (None, Some((key, expires_at))) if expires_at > SystemTime::now() => key,
        (None, Some(_)) => return Err(incorrect("the temporary access key has expired")),
        (None, None) => return Err(incorrect(format_args!("ak {} not exist", authorization.access_key))),
    };
    if let Some(expected) = &key.security_token {
        let sent = headers.get(fgs_signing::SECURITY_TOKEN).map(|v| v.as_bytes());
        if !sent.is_some_and(|sent| secret_eq(sent, expected.as_bytes())) {
            return Err(incorrect(
                "the security token of the temporary access key is missing or wrong",
            ));
        }
    }
    let input = fgs_signing::VerifyInput {
        method,
        uri,
        headers,
        body,
        authorization: &authorization,
    };
    match fgs_signing::verify(&input, key.secret.as_bytes(), SystemTime::now()) {
        Ok(()) => Ok(()),
        Err(fgs_signing::VerifyError::ClockSkew { sdk_date, server_date }) => Err(Rejection {
            error: &codes::SIGNATURE_EXPIRED,
            message: format!(
                "Incorrect app authentication information: signature expired, signature time: {sdk_date}, server time: {server_date}"
            ),
        }),
        Err(fgs_signing::VerifyError::SignatureMismatch { canonical_request }) => Err(incorrect(format_args!(
            "verify aksk signature fail, canonicalRequest:{}",
            canonical_request.replace('\n', "|")
        ))),
        Err(other) => Err(incorrect(other)),
    }
}

/// An error of IAM: `{"error": {"code", "message", "title"}}`.
pub(crate) fn iam_error(status: StatusCode, message: &str) -> Reply {
    let body = json_bytes(&json!({
        "error": { "code": status.as_u16(), "message": message, "title": status.canonical_reason().unwrap_or("Error") }
    }));
    response(status, vec![(CONTENT_TYPE, APPLICATION_JSON.to_owned())], full(body))
}

/// `POST /v3/auth/tokens` with a project scope and the password method, or the
/// `assume_role` method (an agency, authorised by the caller's own `X-Auth-Token`): 201
/// with the token in `X-Subject-Token`.
pub(crate) fn issue_token(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> Reply {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return iam_error(StatusCode::BAD_REQUEST, "The request body is not valid JSON.");
    };
    let identity = match identify(shared, headers, &request["auth"]["identity"]) {
        Ok(identity) => identity,
        Err(IamRefusal(status, message)) => return iam_error(status, message),
    };
    let project = &request["auth"]["scope"]["project"];
    let in_scope = project["name"].as_str() == Some(shared.config.region.as_str())
        || project["id"].as_str() == Some(shared.config.project_id.as_str());
    if !in_scope {
        return iam_error(
            StatusCode::BAD_REQUEST,
            "The scope must be this emulator's project (by region name or id).",
        );
    }
    token_issued(shared, &identity)
}

/// Why IAM refuses a token request: the status and message of its error.
struct IamRefusal(StatusCode, &'static str);

/// Who asks for a token, and by which method.
struct Identity {
    method: &'static str,
    name: String,
    domain: String,
}

/// Checks `auth.identity` of a token request: a known user's password, or an agency
/// assumed with a valid token.
fn identify(shared: &Shared, headers: &HeaderMap, identity: &Value) -> Result<Identity, IamRefusal> {
    let methods = identity["methods"].as_array();
    let has = |method: &str| methods.is_some_and(|m| m.iter().any(|v| v == method));
    if has("password") {
        password_identity(shared, &identity["password"]["user"])
    } else if has("assume_role") {
        assume_role_identity(shared, headers, &identity["assume_role"])
    } else {
        Err(IamRefusal(
            StatusCode::BAD_REQUEST,
            "The emulator supports the password and assume_role methods.",
        ))
    }
}

/// The password method: the user must be configured, with that password.
fn password_identity(shared: &Shared, user: &Value) -> Result<Identity, IamRefusal> {
    let (Some(name), Some(password), Some(domain)) = (
        user["name"].as_str(),
        user["password"].as_str(),
        user["domain"]["name"].as_str(),
    ) else {
        return Err(IamRefusal(
            StatusCode::BAD_REQUEST,
            "auth.identity.password.user needs name, password and domain.name.",
        ));
    };
    // The password is compared in constant time, and with every user's.
    let known = shared.config.iam_users.iter().fold(false, |known, u| {
        known | (secret_eq(u.password.as_bytes(), password.as_bytes()) & (u.name == name) & (u.domain == domain))
    });
    if !known {
        return Err(IamRefusal(
            StatusCode::UNAUTHORIZED,
            "The username or password is wrong.",
        ));
    }
    Ok(Identity {
        method: "password",
        name: name.to_owned(),
        domain: domain.to_owned(),
    })
}

/// The `assume_role` method: the caller's own token must be valid.
fn assume_role_identity(shared: &Shared, headers: &HeaderMap, role: &Value) -> Result<Identity, IamRefusal> {
    let (Some(agency), Some(domain)) = (role["agency_name"].as_str(), role["domain_name"].as_str()) else {
        return Err(IamRefusal(
            StatusCode::BAD_REQUEST,
            "auth.identity.assume_role needs agency_name and domain_name.",
        ));
    };
    let caller = headers.get(IAM_TOKEN_HEADER).and_then(|v| v.to_str().ok());
    if !caller.is_some_and(|token| token_valid(shared, token)) {
        return Err(IamRefusal(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires a valid X-Auth-Token.",
        ));
    }
    Ok(Identity {
        method: "assume_role",
        name: agency.to_owned(),
        domain: domain.to_owned(),
    })
}

/// Issues a token for `identity`: 201, the token in `X-Subject-Token`, and IAM's token
/// document.
fn token_issued(shared: &Shared, identity: &Identity) -> Reply {
    let issued_at = SystemTime::now();
    let (token, expires_at) = shared.issue_token();
    let Identity { method, name, domain } = identity;
    let body = json_bytes(&json!({
        "token": {
            "expires_at": time::format_utc_micros(expires_at),
            "issued_at": time::format_utc_micros(issued_at),
            "methods": [method],
            "project": {
                "domain": { "name": domain },
                "id": shared.config.project_id,
                "name": shared.config.region,
            },
            "user": { "name": name, "domain": { "name": domain } },
            "roles": [],
            "catalog": [],
        }
    }));
    response(
        StatusCode::CREATED,
        vec![(CONTENT_TYPE, APPLICATION_JSON.to_owned()), (X_SUBJECT_TOKEN, token)],
        full(body),
    )
}

pub(crate) fn token_valid(shared: &Shared, token: &str) -> bool {
    match token_expiry(shared, token) {
        Some(None) => true,
        Some(Some(expires_at)) => expires_at > SystemTime::now(),
        None => false,
    }
}

/// The longest session token the metadata service issues (6 hours), as on ECS.
const METADATA_TOKEN_MAX_TTL: u64 = 21_600;

/// `PUT /meta-data/latest/api/token`: a session token for the metadata service.
pub(crate) fn metadata_token(shared: &Shared, headers: &HeaderMap) -> Reply {
    if shared.config.metadata_lifetime.is_none() {
        return metadata_error(StatusCode::NOT_FOUND, "metadata is not enabled on this emulator");
    }
    let Some(ttl) = headers.get(X_METADATA_TOKEN_TTL_SECONDS) else {
        return metadata_error(StatusCode::BAD_REQUEST, "X-Metadata-Token-Ttl-Seconds is required");
    };
    let Some(ttl) = ttl
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ttl| (1..=METADATA_TOKEN_MAX_TTL).contains(ttl))
    else {
        return metadata_error(
            StatusCode::BAD_REQUEST,
            "X-Metadata-Token-Ttl-Seconds must be a whole number of seconds from 1 to 21600",
        );
    };
    let token = ids::hex32();
    let expires_at = time::system_time_after(SystemTime::now(), Duration::from_secs(ttl));
    shared.lock().add_metadata_token(token.clone(), expires_at);
    response(
        StatusCode::OK,
        vec![(CONTENT_TYPE, "text/plain".to_owned())],
        full(token),
    )
}

/// `GET /openstack/latest/securitykey`: temporary credentials, as on an ECS instance with
/// an agency.
pub(crate) fn metadata_security_key(shared: &Shared, headers: &HeaderMap) -> Reply {
    let Some(lifetime) = shared.config.metadata_lifetime else {
        return metadata_error(StatusCode::NOT_FOUND, "metadata is not enabled on this emulator");
    };
    let token = headers.get(X_METADATA_TOKEN).and_then(|v| v.to_str().ok());
    if !token.is_some_and(|token| shared.lock().metadata_token_valid(token)) {
        return metadata_error(StatusCode::UNAUTHORIZED, "a valid X-Metadata-Token is required");
    }
    let (access, secret, security_token, expires_at) = shared.issue_temporary_key(lifetime);
    let body = json_bytes(&json!({
        "credential": {
            "access": access,
            "secret": secret,
            "securitytoken": security_token,
            "expires_at": time::format_utc_micros(expires_at),
        }
    }));
    response(
        StatusCode::OK,
        vec![(CONTENT_TYPE, APPLICATION_JSON.to_owned())],
        full(body),
    )
}

fn metadata_error(status: StatusCode, message: &str) -> Reply {
    response(
        status,
        vec![(CONTENT_TYPE, "text/plain".to_owned())],
        full(message.to_owned()),
    )
}
