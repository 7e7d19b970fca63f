//! An error status from the service or its gateway, read into the evidence it keeps.

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};

use crate::evidence::{MAX_KEPT_CHARS, bounded, evidence, printable};
use crate::execution::Execution;
use crate::generated::error_codes::ErrorCode;
use crate::generated::operations::ErrorHeaders;
use crate::generated::types::ErrorResponse;
use crate::protocol::{ErrorCodeInfo, FromHeaderMap};

/// An error status from FunctionGraph (`FSS.*` codes) or its API gateway (`APIGW.*`),
/// with the evidence: status, code, message, request id, headers and the raw body.
#[derive(Debug, Clone)]
pub struct ServiceError {
    pub(crate) operation: &'static str,
    pub(crate) status: StatusCode,
    pub(crate) code: Option<ErrorCode>,
    pub(crate) message: String,
    pub(crate) request_id: Option<String>,
    pub(crate) headers: HeaderMap,
    /// At most [`MAX_EVIDENCE_BYTES`](crate::error::MAX_EVIDENCE_BYTES) of the body.
    pub(crate) body: Bytes,
    pub(crate) body_len: usize,
}

impl ServiceError {
    /// Whether the function ran: the catalogue's `notExecuted` for this code and status;
    /// for a code the catalogue does not know, a 429 was refused before running and
    /// anything else may have run.
    pub fn execution(&self) -> Execution {
        match self.catalogue() {
            Some(info) if info.not_executed => Execution::NotRun,
            Some(_) => Execution::MaybeRun,
            None if self.status == StatusCode::TOO_MANY_REQUESTS => Execution::NotRun,
            None => Execution::MaybeRun,
        }
    }

    /// Whether a later attempt may succeed: the catalogue's `transient`; for a code it
    /// does not know, a 429 or a 5xx status.
    pub fn is_transient(&self) -> bool {
        match self.catalogue() {
            Some(info) => info.transient,
            None => self.status == StatusCode::TOO_MANY_REQUESTS || self.status.is_server_error(),
        }
    }

    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error code from the body (`error_code`); `None` when the body had none, for
    /// example an HTML page from a proxy.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.code.as_ref()
    }

    /// The wire code as sent, e.g. `FSS.1051`.
    pub fn raw_code(&self) -> Option<&str> {
        self.code.as_ref().map(ErrorCode::as_str)
    }

    /// The message from the body (`error_msg`), or a description of a body that had none.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Request id from the body, `X-Request-Id` or `X-Cff-Request-Id`.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Id of the operation that failed, e.g. `invokeFunction`.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// Response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The response body as received, cut at [`MAX_EVIDENCE_BYTES`](crate::error::MAX_EVIDENCE_BYTES)
    /// (see [`body_is_truncated`](Self::body_is_truncated)).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The length of the whole body, of which [`body`](Self::body) may be a prefix.
    pub fn body_len(&self) -> usize {
        self.body_len
    }

    /// Whether [`body`](Self::body) is only the start of the body.
    pub fn body_is_truncated(&self) -> bool {
        self.body.len() < self.body_len
    }

    /// The wait the service asked for with `Retry-After`, if any: delay-seconds, or an
    /// HTTP date (the wait until then, zero for a date in the past). Any other shape is
    /// ignored; so is every value but the first.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        parse_retry_after(
            self.headers.get(http::header::RETRY_AFTER)?,
            std::time::SystemTime::now(),
        )
    }

    /// What the error-code catalogue says about this code with this status.
    pub fn catalogue(&self) -> Option<&'static ErrorCodeInfo> {
        self.code.as_ref()?.info(self.status.as_u16())
    }
}

/// Reads `Retry-After` (RFC 9110 §10.2.3) relative to `now`.
pub(crate) fn parse_retry_after(value: &http::HeaderValue, now: std::time::SystemTime) -> Option<std::time::Duration> {
    let text = std::str::from_utf8(value.as_bytes()).ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // All digits but too large for u64: as long a wait as can be said.
        return Some(std::time::Duration::from_secs(text.parse::<u64>().unwrap_or(u64::MAX)));
    }
    let date = httpdate::parse_http_date(text).ok()?;
    Some(date.duration_since(now).unwrap_or_default())
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = printable(&self.message);
        match &self.code {
            Some(code) => write!(
                f,
                "{} (HTTP {}): {message}",
                printable(code.as_str()),
                self.status.as_u16()
            )?,
            None => write!(f, "HTTP {}: {message}", self.status)?,
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {}]", printable(id))?;
        }
        Ok(())
    }
}

impl std::error::Error for ServiceError {}

/// Reads an error response. The documented body is `{error_code, error_msg[, request_id]}`,
/// each field also under the aliases the spec lists (`x-aliases`); a body with only some
/// of them still gives what it has, and a body that is not JSON at all (a proxy's HTML
/// page) still gives a readable error.
pub(crate) fn read(operation: &'static str, status: StatusCode, headers: HeaderMap, body: &Bytes) -> ServiceError {
    let typed_headers = ErrorHeaders::from_header_map(&headers, &mut Vec::new()).ok();
    let header_request_id = typed_headers.and_then(|h| h.request_id.or(h.cff_request_id));
    let (code, message, body_request_id) = match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(parsed) => (Some(parsed.error_code), parsed.error_msg, parsed.request_id),
        Err(_) => match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(value) => {
                let text = |keys: &[&str]| {
                    keys.iter()
                        .find_map(|k| value.get(*k).and_then(|v| v.as_str()).map(str::to_owned))
                };
                let code = text(ErrorResponse::ERROR_CODE_NAMES);
                let message = text(ErrorResponse::ERROR_MSG_NAMES)
                    .unwrap_or_else(|| format!("error body without a message ({} bytes)", body.len()));
                (code, message, text(&["request_id"]))
            }
            Err(_) => (None, describe_unstructured(&headers, body), None),
        },
    };
    let (body, body_len) = evidence(body);
    // Every field is server text: kept bounded, whatever the body held.
    let keep = |text: String, max: usize| bounded(text, max);
    ServiceError {
        operation,
        status,
        code: code.map(|c| ErrorCode::from(keep(c, 64).as_str())),
        message: keep(message, MAX_KEPT_CHARS),
        request_id: body_request_id.or(header_request_id).map(|id| keep(id, 256)),
        headers,
        body,
        body_len,
    }
}

fn describe_unstructured(headers: &HeaderMap, body: &Bytes) -> String {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("no content type");
    if body.is_empty() {
        return "empty response body".into();
    }
    // A short plain-text body is the message; anything else is summarised, not dumped.
    match std::str::from_utf8(body) {
        Ok(text) if body.len() <= 200 && !content_type.contains("html") => text.trim().to_owned(),
        _ => format!("non-JSON response body ({content_type}, {} bytes)", body.len()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use http::HeaderValue;

    use super::*;

    fn retry_after(value: &[u8]) -> Option<Duration> {
        // 2015-10-21 07:28:00 UTC
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        parse_retry_after(&HeaderValue::from_bytes(value).unwrap(), now)
    }

    #[test]
    fn retry_after_in_every_shape() {
        assert_eq!(retry_after(b"5"), Some(Duration::from_secs(5)));
        assert_eq!(retry_after(b" 5 "), Some(Duration::from_secs(5)));
        assert_eq!(retry_after(b"0"), Some(Duration::ZERO));
        assert_eq!(retry_after(b"99999999999"), Some(Duration::from_secs(99_999_999_999)));
        assert_eq!(
            retry_after(b"999999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            retry_after(b"Wed, 21 Oct 2015 07:28:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(b"Wed, 21 Oct 2015 07:00:00 GMT"),
            Some(Duration::ZERO),
            "a past date"
        );
        for odd in [
            &b"-1"[..],
            b"1.5",
            b"",
            b"soon",
            b"\xff\xfe",
            b"5, 6",
            b"Wed, 99 Oct 2015 07:28:00 GMT",
        ] {
            assert_eq!(retry_after(odd), None, "{odd:?}");
        }
    }

    #[test]
    fn error_bodies_in_every_shape() {
        let gateway = read(
            "op",
            StatusCode::UNAUTHORIZED,
            HeaderMap::new(),
            &Bytes::from_static(br#"{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information","request_id":"abc"}"#),
        );
        assert_eq!(gateway.code(), Some(&ErrorCode::IncorrectAuthentication));
        assert_eq!(gateway.request_id(), Some("abc"));
        assert_eq!(
            gateway.to_string(),
            "APIGW.0301 (HTTP 401): Incorrect IAM authentication information [request id abc]"
        );

        let camel = read(
            "op",
            StatusCode::BAD_REQUEST,
            HeaderMap::new(),
            &Bytes::from_static(br#"{"errorCode":"FSS.0400","errorMsg":"bad"}"#),
        );
        assert_eq!(camel.code(), Some(&ErrorCode::InvalidParameter));
        assert_eq!(camel.message(), "bad");

        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        headers.insert("x-request-id", HeaderValue::from_static("gw-1"));
        let html = read(
            "op",
            StatusCode::BAD_GATEWAY,
            headers,
            &Bytes::from_static(b"<html><body>502 Bad Gateway</body></html>"),
        );
        assert_eq!(html.code(), None);
        assert_eq!(html.request_id(), Some("gw-1"));
        assert_eq!(
            html.to_string(),
            "HTTP 502 Bad Gateway: non-JSON response body (text/html, 41 bytes) [request id gw-1]"
        );
    }
}
