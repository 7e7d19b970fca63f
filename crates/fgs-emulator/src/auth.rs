//! Authentication as the API gateway does it (IAM tokens, AK/SK signatures), and a
//! minimal IAM token endpoint.

use std::time::SystemTime;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, Method, StatusCode, Uri};
use serde_json::{Value, json};

use crate::fault::full;
use crate::handle::{Reply, json_bytes, response};
use crate::server::Shared;
use crate::util;

/// Why the gateway refuses a request: an `APIGW.*` code and message.
pub(crate) struct Rejection {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

fn incorrect(detail: impl std::fmt::Display) -> Rejection {
    Rejection {
        code: "APIGW.0301",
        message: format!("Incorrect IAM authentication information: {detail}"),
    }
}

/// Checks the credentials of an invoke request: `X-Auth-Token` if present, else an
/// `SDK-HMAC-SHA256` signature.
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
    if let Some(token) = headers.get("x-auth-token") {
        let token = token.to_str().map_err(|_| incorrect("decrypt token fail"))?;
        return match shared.lock().tokens.get(token) {
            None => Err(incorrect("decrypt token fail")),
            Some(Some(expires_at)) if *expires_at <= SystemTime::now() => Err(Rejection {
                code: "APIGW.0307",
                message: "The token must be updated.".into(),
            }),
            Some(_) => Ok(()),
        };
    }
    let Some(authorization) = headers.get(http::header::AUTHORIZATION) else {
        return Err(incorrect("neither x-auth-token nor an AK/SK signature was sent"));
    };
    let authorization = authorization
        .to_str()
        .ok()
        .and_then(|value| fgs_signing::Authorization::parse(value).ok())
        .ok_or_else(|| incorrect("the Authorization header is not an SDK-HMAC-SHA256 signature"))?;
    let temporary = shared.lock().temporary_keys.get(&authorization.access_key).cloned();
    let key = match (shared.config.access_keys.get(&authorization.access_key), temporary) {
        (Some(key), _) => key.clone(),
        (None, Some((key, expires_at))) if expires_at > SystemTime::now() => key,
        (None, Some(_)) => return Err(incorrect("the temporary access key has expired")),
        (None, None) => return Err(incorrect(format_args!("ak {} not exist", authorization.access_key))),
    };
    if let Some(expected) = &key.security_token {
        let sent = headers.get(fgs_signing::SECURITY_TOKEN).map(|v| v.as_bytes());
        if sent != Some(expected.as_bytes()) {
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
            code: "APIGW.0303",
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

fn iam_error(status: StatusCode, message: &str) -> Reply {
    let body = json_bytes(&json!({
        "error": { "code": status.as_u16(), "message": message, "title": status.canonical_reason().unwrap_or("Error") }
    }));
    response(status, vec![(CONTENT_TYPE, "application/json".to_owned())], full(body))
}

/// `POST /v3/auth/tokens` with a project scope and the password method, or the
/// `assume_role` method (an agency, authorised by the caller's own `X-Auth-Token`): 201
/// with the token in `X-Subject-Token`.
pub(crate) fn issue_token(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> Reply {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return iam_error(StatusCode::BAD_REQUEST, "The request body is not valid JSON.");
    };
    let identity = &request["auth"]["identity"];
    let methods = identity["methods"].as_array();
    let has = |method: &str| methods.is_some_and(|m| m.iter().any(|v| v == method));
    let (method, name, domain) = if has("password") {
        let user = &identity["password"]["user"];
        let (Some(name), Some(password), Some(domain)) = (
            user["name"].as_str(),
            user["password"].as_str(),
            user["domain"]["name"].as_str(),
        ) else {
            return iam_error(
                StatusCode::BAD_REQUEST,
                "auth.identity.password.user needs name, password and domain.name.",
            );
        };
        let known = shared
            .config
            .iam_users
            .iter()
            .any(|u| u.name == name && u.domain == domain && u.password == password);
        if !known {
            return iam_error(StatusCode::UNAUTHORIZED, "The username or password is wrong.");
        }
        ("password", name.to_owned(), domain.to_owned())
    } else if has("assume_role") {
        let role = &identity["assume_role"];
        let (Some(agency), Some(domain)) = (role["agency_name"].as_str(), role["domain_name"].as_str()) else {
            return iam_error(
                StatusCode::BAD_REQUEST,
                "auth.identity.assume_role needs agency_name and domain_name.",
            );
        };
        let caller = headers.get("x-auth-token").and_then(|v| v.to_str().ok());
        if !caller.is_some_and(|token| token_valid(shared, token)) {
            return iam_error(
                StatusCode::UNAUTHORIZED,
                "The request you have made requires a valid X-Auth-Token.",
            );
        }
        ("assume_role", agency.to_owned(), domain.to_owned())
    } else {
        return iam_error(
            StatusCode::BAD_REQUEST,
            "The emulator supports the password and assume_role methods.",
        );
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
    let issued_at = SystemTime::now();
    let (token, expires_at) = shared.issue_token();
    let body = json_bytes(&json!({
        "token": {
            "expires_at": util::format_utc_micros(expires_at),
            "issued_at": util::format_utc_micros(issued_at),
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
        vec![
            (CONTENT_TYPE, "application/json".to_owned()),
            (HeaderName::from_static("x-subject-token"), token),
        ],
        full(body),
    )
}

fn token_valid(shared: &Shared, token: &str) -> bool {
    match shared.lock().tokens.get(token) {
        Some(None) => true,
        Some(Some(expires_at)) => *expires_at > SystemTime::now(),
        None => false,
    }
}

/// `PUT /meta-data/latest/api/token`: a session token for the metadata service.
pub(crate) fn metadata_token(shared: &Shared, headers: &HeaderMap) -> Reply {
    if shared.config.metadata_lifetime.is_none() {
        return metadata_error(StatusCode::NOT_FOUND, "metadata is not enabled on this emulator");
    }
    if !headers.contains_key("x-metadata-token-ttl-seconds") {
        return metadata_error(StatusCode::BAD_REQUEST, "X-Metadata-Token-Ttl-Seconds is required");
    }
    let token = util::hex32();
    shared.lock().metadata_tokens.push(token.clone());
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
    let token = headers.get("x-metadata-token").and_then(|v| v.to_str().ok());
    if !token.is_some_and(|token| shared.lock().metadata_tokens.iter().any(|t| t == token)) {
        return metadata_error(StatusCode::UNAUTHORIZED, "a valid X-Metadata-Token is required");
    }
    let (access, secret, security_token, expires_at) = shared.issue_temporary_key(lifetime);
    let body = json_bytes(&json!({
        "credential": {
            "access": access,
            "secret": secret,
            "securitytoken": security_token,
            "expires_at": util::format_utc_micros(expires_at),
        }
    }));
    response(
        StatusCode::OK,
        vec![(CONTENT_TYPE, "application/json".to_owned())],
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
