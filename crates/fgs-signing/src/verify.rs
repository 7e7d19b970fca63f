//! One-call signing and verification.

use std::time::SystemTime;

use fgs_urn::encode_path_segment;
use http::{HeaderMap, Method, Uri};

use crate::auth::{Authorization, authorization, signature, signatures_match, string_to_sign};
use crate::canonical::{build_canonical_request, default_signed_headers, payload_hash};
use crate::date::{format_sdk_date, parse_sdk_date};
use crate::error::{SigningError, SigningErrorKind, VerifyError};
use crate::{MAX_CLOCK_SKEW, SDK_DATE, SECURITY_TOKEN};

/// Everything [`sign`] computed for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The canonical request (see [`canonical_request`](crate::canonical_request)).
    pub canonical_request: String,
    /// The string to sign (see [`string_to_sign`]).
    pub string_to_sign: String,
    /// The lowercase hexadecimal signature.
    pub signature: String,
    /// The `Authorization` header value to send.
    pub authorization: String,
    /// The signed header names, as listed in `authorization`.
    pub signed_headers: Vec<String>,
}

/// Signs a request the way Huawei's Python signer does.
///
/// The caller has already put every header it wants to send into `headers`
/// (`X-Sdk-Date` with the value `sdk_date`, and as it wishes `Host`,
/// `X-Project-Id`, `X-Security-Token`, and `X-Sdk-Content-Sha256` when
/// [`wants_unsigned_payload`](crate::wants_unsigned_payload)); every header
/// whose name contains no `_` is signed ([`default_signed_headers`]). The
/// caller then adds the returned [`Signed::authorization`] as the
/// `Authorization` header.
///
/// # Errors
///
/// A [`SigningError`] if `sdk_date` is not a valid `X-Sdk-Date`
/// ([`SigningErrorKind::InvalidDate`]), `headers` has no `X-Sdk-Date` or
/// more than one ([`SigningErrorKind::MissingDate`]) or one that differs from
/// `sdk_date` ([`SigningErrorKind::DateMismatch`]), `access_key` cannot be
/// written into the header ([`SigningErrorKind::InvalidAccessKey`]), or a
/// header value is not UTF-8 ([`SigningErrorKind::InvalidHeaderValue`]).
pub fn sign(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    access_key: &str,
    secret_key: &[u8],
    sdk_date: &str,
) -> Result<Signed, SigningError> {
    parse_sdk_date(sdk_date)?;
    if request_sdk_date(headers)? != sdk_date {
        return Err(SigningError::new(
            SigningErrorKind::DateMismatch,
            format!("the X-Sdk-Date header differs from the signing date {sdk_date:?}"),
        ));
    }
    // Only visible ASCII can be read back from a header as text (`HeaderValue::to_str`), and a
    // control character cannot be put into one at all.
    if access_key.is_empty() || access_key.contains(|c: char| !c.is_ascii_graphic() || c == ',') {
        return Err(SigningError::new(
            SigningErrorKind::InvalidAccessKey,
            "the access key must be non-empty visible ASCII without `,`",
        ));
    }
    let signed_headers = default_signed_headers(headers);
    let payload_hash = payload_hash(headers, body);
    let canonical_request = build_canonical_request(method, uri, headers, &signed_headers, &payload_hash, false)?;
    let string_to_sign = string_to_sign(sdk_date, &canonical_request);
    let signature = signature(secret_key, &string_to_sign);
    let authorization = authorization(access_key, &signed_headers, &signature);
    Ok(Signed {
        canonical_request,
        string_to_sign,
        signature,
        authorization,
        signed_headers,
    })
}

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

/// The request's only `X-Sdk-Date` value, trimmed.
fn request_sdk_date(headers: &HeaderMap) -> Result<&str, SigningError> {
    let mut values = headers.get_all(SDK_DATE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(SigningError::new(
            SigningErrorKind::MissingDate,
            "the request must have exactly one X-Sdk-Date header",
        ));
    };
    value.to_str().map(str::trim).map_err(|_| {
        SigningError::new(
            SigningErrorKind::InvalidDate,
            "the X-Sdk-Date header is not a valid date of the form YYYYMMDDTHHMMSSZ",
        )
    })
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
