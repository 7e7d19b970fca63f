//! The credential services of workloads, as the official SDKs call them: IAM's federation
//! with an OIDC ID token (an unscoped token for the ID token, then temporary keys for the
//! token), STS's `AssumeAgencyWithOIDC`, and a CCE pod identity endpoint. The temporary
//! keys they issue are the ones the metadata endpoint issues: invoke requests signed with
//! them (and carrying their `X-Security-Token`) are accepted until they expire.
//!
//! Every path and wire field is named here once; IAM's two paths are in `iam.rs` with
//! IAM's others.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::auth::iam_error;
use crate::fault::full;
use crate::headers::{X_IDP_ID, X_SUBJECT_TOKEN};
use crate::reply::{APPLICATION_JSON, Reply, json_bytes, response};
use crate::state::{Shared, secret_eq};
use crate::{ids, time};

/// STS's `AssumeAgencyWithOIDC`.
pub(crate) const ASSUME_WITH_OIDC_PATH: &str = "/v5/agencies/assume-with-oidc";
/// The emulator's pod identity endpoint (the path of `HC_CONTAINER_CREDENTIALS_FULL_URI`).
pub(crate) const POD_IDENTITY_PATH: &str = "/v1/pod-identity/credentials";

/// The shortest and longest `duration_seconds` IAM's `securitytokens` accepts.
const SECURITY_TOKEN_DURATION: (u64, u64) = (900, 86_400);
/// IAM's `duration_seconds` when none is asked for.
const SECURITY_TOKEN_DEFAULT_DURATION: u64 = 900;
/// The shortest and longest `duration_seconds` STS's `AssumeAgencyWithOIDC` accepts.
const OIDC_DURATION: (u64, u64) = (900, 43_200);
/// How long pod identity credentials live unless configured.
const POD_IDENTITY_LIFETIME: Duration = Duration::from_secs(3600);

/// The lifetime of issued keys: the configured one if any, else `asked`.
fn lifetime(shared: &Shared, asked: Duration) -> Duration {
    shared.config.temporary_lifetime.unwrap_or(asked)
}

/// `POST /v3.0/OS-AUTH/id-token/tokens` with `X-Idp-Id` and `{"auth": {"id_token":
/// {"id"}}}`: 201 with an unscoped token in `X-Subject-Token` when the pair is configured.
pub(crate) fn id_token_tokens(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> Reply {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return iam_error(StatusCode::BAD_REQUEST, "The request body is not valid JSON.");
    };
    let Some(idp_id) = headers.get(X_IDP_ID).and_then(|v| v.to_str().ok()) else {
        return iam_error(StatusCode::BAD_REQUEST, "The X-Idp-Id header is required.");
    };
    let Some(id_token) = request["auth"]["id_token"]["id"].as_str() else {
        return iam_error(StatusCode::BAD_REQUEST, "auth.id_token.id is required.");
    };
    // Compared with every configured pair, in constant time.
    let known = shared
        .config
        .federated_identities
        .iter()
        .fold(false, |known, identity| {
            known | (secret_eq(identity.id_token.as_bytes(), id_token.as_bytes()) & (identity.idp_id == idp_id))
        });
    if !known {
        return iam_error(
            StatusCode::UNAUTHORIZED,
            "The ID token is not valid for this identity provider.",
        );
    }
    let issued_at = SystemTime::now();
    let (token, expires_at) = shared.issue_token();
    let body = json_bytes(&json!({
        "token": {
            "expires_at": time::format_utc_micros(expires_at),
            "issued_at": time::format_utc_micros(issued_at),
            "methods": ["mapped"],
            "user": { "name": "federated-user", "OS-FEDERATION": { "identity_provider": { "id": idp_id } } },
        }
    }));
    response(
        StatusCode::CREATED,
        vec![(CONTENT_TYPE, APPLICATION_JSON.to_owned()), (X_SUBJECT_TOKEN, token)],
        full(body),
    )
}

/// `POST /v3.0/OS-CREDENTIAL/securitytokens` with the `token` method: 201 with temporary
/// keys (`{"credential": {"access", "secret", "securitytoken", "expires_at"}}`) for a
/// valid token.
pub(crate) fn security_tokens(shared: &Shared, body: &Bytes) -> Reply {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return iam_error(StatusCode::BAD_REQUEST, "The request body is not valid JSON.");
    };
    let identity = &request["auth"]["identity"];
    let has_token_method = identity["methods"]
        .as_array()
        .is_some_and(|methods| methods.iter().any(|m| m == "token"));
    if !has_token_method {
        return iam_error(StatusCode::BAD_REQUEST, "auth.identity.methods must hold \"token\".");
    }
    let token = identity["token"]["id"].as_str();
    if !token.is_some_and(|token| crate::auth::token_valid(shared, token)) {
        return iam_error(
            StatusCode::UNAUTHORIZED,
            "auth.identity.token.id must be a valid token.",
        );
    }
    let duration = match &identity["token"]["duration_seconds"] {
        Value::Null => SECURITY_TOKEN_DEFAULT_DURATION,
        value => match value
            .as_u64()
            .filter(|d| (SECURITY_TOKEN_DURATION.0..=SECURITY_TOKEN_DURATION.1).contains(d))
        {
            Some(duration) => duration,
            None => {
                return iam_error(
                    StatusCode::BAD_REQUEST,
                    "auth.identity.token.duration_seconds must be from 900 to 86400.",
                );
            }
        },
    };
    let (access, secret, security_token, expires_at) =
        shared.issue_temporary_key(lifetime(shared, Duration::from_secs(duration)));
    let body = json_bytes(&json!({
        "credential": {
            "access": access,
            "secret": secret,
            "securitytoken": security_token,
            "expires_at": time::format_utc_micros(expires_at),
        }
    }));
    response(
        StatusCode::CREATED,
        vec![(CONTENT_TYPE, APPLICATION_JSON.to_owned())],
        full(body),
    )
}

/// An error of STS: `{"error_code", "error_msg", "request_id"}`.
fn sts_error(status: StatusCode, code: &str, message: &str) -> Reply {
    let body = json_bytes(&json!({ "error_code": code, "error_msg": message, "request_id": ids::hex32() }));
    response(status, vec![(CONTENT_TYPE, APPLICATION_JSON.to_owned())], full(body))
}

/// `POST /v5/agencies/assume-with-oidc`: 200 with the agency's temporary keys
/// (`{"credentials": {"access_key_id", "secret_access_key", "security_token",
/// "expiration"}, "assumed_agency": {...}}`) when the provider, agency and ID token are
/// configured together.
pub(crate) fn assume_with_oidc(shared: &Shared, body: &Bytes) -> Reply {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "STS.0001",
            "The request body is not valid JSON.",
        );
    };
    let field = |name: &str| request[name].as_str().filter(|value| !value.is_empty());
    let (Some(provider), Some(agency), Some(session), Some(id_token)) = (
        field("provider_urn"),
        field("agency_urn"),
        field("agency_session_name"),
        field("id_token"),
    ) else {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "STS.0002",
            "provider_urn, agency_urn, agency_session_name and id_token are required.",
        );
    };
    let duration = match &request["duration_seconds"] {
        Value::Null => 3600,
        value => match value
            .as_u64()
            .filter(|d| (OIDC_DURATION.0..=OIDC_DURATION.1).contains(d))
        {
            Some(duration) => duration,
            None => {
                return sts_error(
                    StatusCode::BAD_REQUEST,
                    "STS.0003",
                    "duration_seconds must be from 900 to 43200.",
                );
            }
        },
    };
    let known = shared.config.oidc_agencies.iter().fold(false, |known, a| {
        known
            | (secret_eq(a.id_token.as_bytes(), id_token.as_bytes())
                & (a.provider_urn == provider)
                & (a.agency_urn == agency))
    });
    if !known {
        return sts_error(
            StatusCode::FORBIDDEN,
            "STS.0403",
            "The ID token does not allow assuming this agency through this provider.",
        );
    }
    let (access, secret, security_token, expires_at) =
        shared.issue_temporary_key(lifetime(shared, Duration::from_secs(duration)));
    let body = json_bytes(&json!({
        "credentials": {
            "access_key_id": access,
            "secret_access_key": secret,
            "security_token": security_token,
            "expiration": time::format_utc_micros(expires_at),
        },
        "assumed_agency": {
            "agency_session_id": format!("{}:{session}", ids::hex32()),
            "agency_session_urn": format!("sts::{}:assumed-agency:{session}", shared.config.domain_id),
        },
    }));
    response(
        StatusCode::OK,
        vec![(CONTENT_TYPE, APPLICATION_JSON.to_owned())],
        full(body),
    )
}

/// `POST /v1/pod-identity/credentials` with a configured token as `Authorization`: 200
/// with temporary keys (`{"accessKeyId", "secretAccessKey", "securityToken",
/// "expiration"}`).
pub(crate) fn pod_identity(shared: &Shared, headers: &HeaderMap) -> Reply {
    let plain = |status: StatusCode, message: &str| {
        response(
            status,
            vec![(CONTENT_TYPE, "text/plain".to_owned())],
            full(message.to_owned()),
        )
    };
    if shared.config.pod_identity_tokens.is_empty() {
        return plain(StatusCode::NOT_FOUND, "pod identity is not enabled on this emulator");
    }
    let sent = headers.get(AUTHORIZATION).map(|v| v.as_bytes()).unwrap_or_default();
    let known = shared
        .config
        .pod_identity_tokens
        .iter()
        .fold(false, |known, token| known | secret_eq(token.as_bytes(), sent));
    if !known {
        return plain(StatusCode::UNAUTHORIZED, "a valid Authorization token is required");
    }
    let (access, secret, security_token, expires_at) =
        shared.issue_temporary_key(lifetime(shared, POD_IDENTITY_LIFETIME));
    let body = json_bytes(&json!({
        "accessKeyId": access,
        "secretAccessKey": secret,
        "securityToken": security_token,
        "expiration": time::format_utc_micros(expires_at),
    }));
    response(
        StatusCode::OK,
        vec![(CONTENT_TYPE, APPLICATION_JSON.to_owned())],
        full(body),
    )
}
