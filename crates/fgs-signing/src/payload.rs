//! The payload hash (step 1 of the algorithm): the body's SHA-256, or the value of
//! `X-Sdk-Content-Sha256`.

use http::HeaderMap;

use crate::digest::sha256_hex;
use crate::headers::CONTENT_SHA256;

/// The `X-Sdk-Content-Sha256` value that exempts the body from the
/// signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Lowercase hexadecimal SHA-256 of the empty body.
pub const EMPTY_PAYLOAD_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Lowercase hexadecimal SM3 of the empty body (the payload hash of an empty body for the
/// algorithms that hash with SM3).
pub const EMPTY_PAYLOAD_SM3: &str = "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b";

/// The payload hash of a request (step 1 of the algorithm).
///
/// If the request has an `X-Sdk-Content-Sha256` header, its (trimmed) value
/// is the payload hash, typically [`UNSIGNED_PAYLOAD`](crate::UNSIGNED_PAYLOAD).
/// Otherwise it is the lowercase hexadecimal SHA-256 of the exact body bytes
/// ([`EMPTY_PAYLOAD_SHA256`](crate::EMPTY_PAYLOAD_SHA256) for an empty body).
///
/// # Example
///
/// ```
/// use fgs_signing::{payload_hash, EMPTY_PAYLOAD_SHA256, CONTENT_SHA256, UNSIGNED_PAYLOAD};
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(payload_hash(&headers, b""), EMPTY_PAYLOAD_SHA256);
/// headers.insert(CONTENT_SHA256, HeaderValue::from_static(UNSIGNED_PAYLOAD));
/// assert_eq!(payload_hash(&headers, b"ignored"), UNSIGNED_PAYLOAD);
/// ```
#[must_use]
pub fn payload_hash(headers: &HeaderMap, body: &[u8]) -> String {
    match headers.get(CONTENT_SHA256) {
        Some(value) => String::from_utf8_lossy(value.as_bytes()).trim().to_owned(),
        None => sha256_hex(body),
    }
}

/// Whether a signer should add `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`
/// instead of hashing the body: true when there is a `Content-Type` and it
/// does not start with `application/json` or `application/bson`
/// (case-sensitively, like Huawei's signers).
///
/// # Example
///
/// ```
/// use fgs_signing::wants_unsigned_payload;
///
/// assert!(!wants_unsigned_payload(None));
/// assert!(!wants_unsigned_payload(Some("application/json;charset=utf-8")));
/// assert!(wants_unsigned_payload(Some("application/octet-stream")));
/// ```
#[must_use]
pub fn wants_unsigned_payload(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|value| !value.starts_with("application/json") && !value.starts_with("application/bson"))
}
