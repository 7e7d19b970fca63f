//! Verifying a signed request in one call, as a server does.

use std::time::{Duration, SystemTime};

use fgs_urn::encode_path_segment;
use http::{HeaderMap, Method, Uri};

use crate::authorization::Authorization;
use crate::canonical::build_canonical_request;
use crate::date::{format_sdk_date, parse_sdk_date};
use crate::error::{SigningError, SigningErrorKind, VerifyError};
use crate::headers::{SDK_DATE, SECURITY_TOKEN, request_sdk_date};
use crate::payload::payload_hash;
use crate::signature::{signature, signatures_match, string_to_sign};

/// How far `X-Sdk-Date` may be from the server's clock (15 minutes), in
/// either direction, before the API gateway rejects the request as expired.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// A received request, as [`verify`] needs it.
#[derive(Debug, Clone, Copy)]
pub struct VerifyInput<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The request target; only its path and query are used.
    pub uri: &'a Uri,
    /// The request headers (including `Host`, if the client signed it).
    pub headers: &'a HeaderMap,
    /// The exact body bytes.
    pub body: &'a [u8],
    /// The parsed `Authorization` header.
    pub authorization: &'a Authorization,
}

/// Verifies a signed request.
///
/// In this order:
/// 1. `x-sdk-date` must be one of the signed headers, and the request must
///    have exactly one valid `X-Sdk-Date` header;
/// 2. the canonical request is computed with the `Authorization` header's
///    signed header names (all of which must be present);
/// 3. `X-Sdk-Date` must be at most [`MAX_CLOCK_SKEW`] away from `now`;
/// 4. the signature computed with `secret_key` must equal the one in the
///    `Authorization` header (compared in constant time).
///
/// The caller looks up `secret_key` by [`Authorization::access_key`].
///
/// # Errors
///
/// [`VerifyError::Malformed`] for problems of steps 1 and 2,
/// [`VerifyError::ClockSkew`] and [`VerifyError::SignatureMismatch`] for
/// steps 3 and 4.
pub fn verify(request: &VerifyInput<'_>, secret_key: &[u8], now: SystemTime) -> Result<(), VerifyError> {
    let authorization = request.authorization;
    if !authorization
        .signed_headers
        .iter()
        .any(|name| name == SDK_DATE.as_str())
    {
        return Err(SigningError::new(
            SigningErrorKind::DateNotSigned,
            "x-sdk-date is not in SignedHeaders of the Authorization header",
        )
        .into());
    }
    let sdk_date = request_sdk_date(request.headers)?;
    let sdk_time = parse_sdk_date(sdk_date)?;
    let payload_hash = payload_hash(request.headers, request.body);
    let canonical_request = build_canonical_request(
        request.method,
        request.uri,
        request.headers,
        &authorization.signed_headers,
        &payload_hash,
        false,
    )?;

    let skew = match now.duration_since(sdk_time) {
        Ok(behind) => behind,
        Err(ahead) => ahead.duration(),
    };
    if skew > MAX_CLOCK_SKEW {
        return Err(VerifyError::ClockSkew {
            sdk_date: sdk_date.to_owned(),
            server_date: format_sdk_date(now),
        });
    }

    let expected = signature(secret_key, &string_to_sign(sdk_date, &canonical_request));
    if signatures_match(&expected, &authorization.signature) {
        Ok(())
    } else {
        let redacted = build_canonical_request(
            request.method,
            request.uri,
            request.headers,
            &authorization.signed_headers,
            &payload_hash,
            true,
        )?;
        Err(VerifyError::SignatureMismatch {
            canonical_request: redact_security_tokens(redacted, request.headers),
        })
    }
}

/// Replaces any remaining occurrence of a security token value (as sent or
/// percent-encoded, e.g. in the query string) by `***`; the header line
/// itself is already redacted.
fn redact_security_tokens(mut canonical_request: String, headers: &HeaderMap) -> String {
    for value in headers.get_all(SECURITY_TOKEN) {
        let token = String::from_utf8_lossy(value.as_bytes());
        let token = token.trim();
        if token.is_empty() {
            continue;
        }
        for form in [token.to_owned(), encode_path_segment(token)] {
            if canonical_request.contains(&form) {
                canonical_request = canonical_request.replace(&form, "***");
            }
        }
    }
    canonical_request
}
