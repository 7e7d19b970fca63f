//! Building responses: the emulator's own errors in the service's and the gateway's
//! shapes, fault-injected errors and canned responses.

use bytes::Bytes;
use fgs_core::generated::operations::headers::{X_CFF_REQUEST_ID, X_REQUEST_ID};
use fgs_core::generated::types::ErrorResponse;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderName, HeaderValue, Response, StatusCode};
use serde::Serialize;

use crate::codes::{self, SentError};
use crate::fault::{ResponseBody, full};
use crate::ids;

/// The media type of every JSON body the emulator sends.
pub(crate) const APPLICATION_JSON: &str = "application/json";

/// Returned by the service to make hyper close the connection without a response.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

/// A response of the emulator.
pub(crate) type Reply = Response<ResponseBody>;

/// A response of the emulator.
/// `value` as JSON.
pub(crate) fn json_bytes(value: &impl Serialize) -> Bytes {
    // Serialising the plain structs here cannot fail; `null` keeps the server answering.
    Bytes::from(serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec()))
}

/// A response with `status`, `headers` (values that are not valid header values are left
/// out) and `body`.
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
pub(crate) fn fault_error(request_id: &str, status: u16, code: &str, message: &str) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if codes::is_gateway_code(code) {
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
    let request_id = ids::hex32();
    let mut error = ErrorResponse::new(code.into(), message.into());
    error.request_id = Some(request_id.clone());
    let body = json_bytes(&error);
    response(
        status,
        vec![(CONTENT_TYPE, APPLICATION_JSON.to_owned()), (X_REQUEST_ID, request_id)],
        full(body),
    )
}

/// Exactly the response a fault rule describes.
pub(crate) fn canned(status: u16, headers: Vec<(String, String)>, body: Bytes) -> Reply {
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
