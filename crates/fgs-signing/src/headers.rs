//! The headers the algorithm reads by name.

use http::{HeaderMap, HeaderName};

use crate::error::{SigningError, SigningErrorKind};

/// `X-Sdk-Date`: the signing time, `YYYYMMDDTHHMMSSZ` in UTC; always signed.
pub const SDK_DATE: HeaderName = HeaderName::from_static("x-sdk-date");

/// `X-Sdk-Content-Sha256`: replaces the body hash in the canonical request
/// (usually [`UNSIGNED_PAYLOAD`](crate::UNSIGNED_PAYLOAD)).
pub const CONTENT_SHA256: HeaderName = HeaderName::from_static("x-sdk-content-sha256");

/// `X-Sdk-Content-Sm3`: what [`CONTENT_SHA256`] is to the algorithms that hash with SM3
/// (`SDK-HMAC-SM3`, `SDK-SM2-SM3`), see [`Algorithm::content_header`](crate::Algorithm::content_header).
pub const CONTENT_SM3: HeaderName = HeaderName::from_static("x-sdk-content-sm3");

/// `X-Security-Token`: the security token of temporary credentials; its
/// value is redacted from [`VerifyError::SignatureMismatch`](crate::VerifyError::SignatureMismatch).
pub const SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-security-token");

/// `X-Project-Id`: the project a request acts on.
pub const PROJECT_ID: HeaderName = HeaderName::from_static("x-project-id");

/// The request's only `X-Sdk-Date` value, trimmed.
pub(crate) fn request_sdk_date(headers: &HeaderMap) -> Result<&str, SigningError> {
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
