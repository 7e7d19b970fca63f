//! Signing a request in one call.

use http::{HeaderMap, Method, Uri};

use crate::authorization::authorization;
use crate::canonical::{build_canonical_request, default_signed_headers};
use crate::date::parse_sdk_date;
use crate::error::{SigningError, SigningErrorKind};
use crate::headers::request_sdk_date;
use crate::payload::payload_hash;
use crate::signature::{signature, string_to_sign};

/// Everything [`sign`] computed for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The canonical request (see [`canonical_request`](crate::canonical_request)).
    pub canonical_request: String,
    /// The string to sign (see [`string_to_sign`](crate::string_to_sign)).
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
    check_sdk_date(headers, sdk_date)?;
    check_access_key(access_key)?;
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

/// Checks that `sdk_date` is a valid `X-Sdk-Date` and that `headers` has exactly one
/// `X-Sdk-Date`, equal to it.
pub(crate) fn check_sdk_date(headers: &HeaderMap, sdk_date: &str) -> Result<(), SigningError> {
    parse_sdk_date(sdk_date)?;
    if request_sdk_date(headers)? != sdk_date {
        return Err(SigningError::new(
            SigningErrorKind::DateMismatch,
            format!("the X-Sdk-Date header differs from the signing date {sdk_date:?}"),
        ));
    }
    Ok(())
}

/// Checks that `access_key` can be written into an `Authorization` header that a server can
/// read back.
pub(crate) fn check_access_key(access_key: &str) -> Result<(), SigningError> {
    // Only visible ASCII can be read back from a header as text (`HeaderValue::to_str`), and a
    // control character cannot be put into one at all.
    if access_key.is_empty() || access_key.contains(|c: char| !c.is_ascii_graphic() || c == ',') {
        return Err(SigningError::new(
            SigningErrorKind::InvalidAccessKey,
            "the access key must be non-empty visible ASCII without `,`",
        ));
    }
    Ok(())
}
