//! Verifying a signed request in one call, as a server does.

use std::time::{Duration, SystemTime};

use fgs_urn::encode_path_segment;
use http::{HeaderMap, Method, Uri};

use crate::authorization::Authorization;
use crate::canonical::build_canonical_request;
use crate::date::{format_sdk_date, parse_sdk_date};
use crate::error::{SigningError, SigningErrorKind, VerifyError};
use crate::headers::{SDK_DATE, SECURITY_TOKEN, request_sdk_date};
use crate::key::SigningKey;

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

/// Verifies a signed request, of any [`Algorithm`](crate::Algorithm), with the secret key of the access key it
/// names.
///
/// In this order:
/// 1. `x-sdk-date` must be one of the signed headers, and the request must
///    have exactly one valid `X-Sdk-Date` header; for `V11-HMAC-SHA256` the date of the
///    credential scope must be the date of `X-Sdk-Date`;
/// 2. the canonical request is computed with the `Authorization` header's
///    signed header names (all of which must be present);
/// 3. `X-Sdk-Date` must be at most [`MAX_CLOCK_SKEW`] away from `now`;
/// 4. the signature must be the one of the algorithm named by the `Authorization` header
///    for the access key it names and `secret_key`: recomputed and compared in constant time
///    for the HMAC algorithms (for `V11-HMAC-SHA256` with the key derived for the credential
///    scope of the header), checked with the public key derived from the AK/SK pair for
///    `SDK-ECDSA-P256-SHA256` and `SDK-SM2-SM3`.
///
/// The caller looks up `secret_key` by [`Authorization::access_key`]. This derives the key
/// for every request, which for the elliptic-curve algorithms takes a scalar
/// multiplication; a server that verifies many of them keeps a [`SigningKey`] per access key
/// and calls [`verify_with`].
///
/// **Two payload hashes.** When the body is empty and the request carries the algorithm's
/// [`content_header`](crate::Algorithm::content_header) (as Huawei's signers add
/// `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` for any non-JSON `Content-Type`), Huawei's
/// Python signer hashes the empty body anyway, where its Go signer (and fgs) signs the
/// header's value; either signature is accepted.
///
/// # Errors
///
/// [`VerifyError::Malformed`] for problems of steps 1 and 2,
/// [`VerifyError::ClockSkew`] and [`VerifyError::SignatureMismatch`] for
/// steps 3 and 4.
pub fn verify(request: &VerifyInput<'_>, secret_key: &[u8], now: SystemTime) -> Result<(), VerifyError> {
    let authorization = request.authorization;
    let key = SigningKey::unchecked(authorization.algorithm, &authorization.access_key, secret_key)?;
    verify_with(request, &key, now)
}

/// Verifies a signed request with a [`SigningKey`] made (and kept) for the access key it
/// names: [`verify`] without deriving the key again.
///
/// The key's algorithm and access key must be those of the `Authorization` header. A
/// `V11-HMAC-SHA256` key verifies with the credential scope of the header; if the key has a
/// [`Scope`](crate::Scope), the header's region and service must be its.
///
/// # Errors
///
/// As [`verify`], and [`VerifyError::Malformed`] with a [`SigningErrorKind::KeyMismatch`]
/// if the key is for another algorithm, access key or scope.
///
/// # Example
///
/// ```
/// use fgs_signing::{Algorithm, Authorization, SDK_DATE, SigningKey, VerifyInput, parse_sdk_date, verify_with};
/// use http::{HeaderMap, HeaderValue, Method, Uri};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = SigningKey::new(Algorithm::Sm2Sm3, "AKEXAMPLE", b"SKEXAMPLE")?;
/// let uri: Uri = "/v2/p/fgs/functions".parse()?;
/// let mut headers = HeaderMap::new();
/// headers.insert(SDK_DATE, HeaderValue::from_static("20240101T120000Z"));
/// let signed = key.sign(&Method::GET, &uri, &headers, b"", "20240101T120000Z")?;
///
/// // The server made the same key from the same AK/SK pair, once.
/// let server_key = SigningKey::new(Algorithm::Sm2Sm3, "AKEXAMPLE", b"SKEXAMPLE")?;
/// let authorization = Authorization::parse(&signed.authorization)?;
/// let request = VerifyInput { method: &Method::GET, uri: &uri, headers: &headers, body: b"", authorization: &authorization };
/// verify_with(&request, &server_key, parse_sdk_date("20240101T120500Z")?)?;
/// # Ok(())
/// # }
/// ```
pub fn verify_with(request: &VerifyInput<'_>, key: &SigningKey, now: SystemTime) -> Result<(), VerifyError> {
    let authorization = request.authorization;
    check_key(authorization, key)?;
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
    let credential_scope = authorization.credential_scope.as_ref();
    if let Some(scope) = credential_scope {
        if sdk_date.get(..8) != Some(scope.date.as_str()) {
            return Err(SigningError::new(
                SigningErrorKind::DateMismatch,
                "the date of the credential scope is not the date of X-Sdk-Date",
            )
            .into());
        }
    }
    let algorithm = key.algorithm();
    let payload_hash = algorithm.payload_hash(request.headers, request.body);
    let canonical = |payload_hash: &str| {
        build_canonical_request(
            request.method,
            request.uri,
            request.headers,
            &authorization.signed_headers,
            payload_hash,
            false,
        )
    };
    let canonical_request = canonical(&payload_hash)?;

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

    let matches = |canonical_request: &str| {
        let string_to_sign = key.string_to_sign(sdk_date, credential_scope, canonical_request);
        key.signature_matches(&string_to_sign, credential_scope, &authorization.signature)
    };
    if matches(&canonical_request)? {
        return Ok(());
    }
    // Huawei's Python signer hashes an empty body even when the content header is sent.
    let empty_hash = algorithm.empty_payload_hash();
    let python_hashed_empty_body = request.body.is_empty()
        && request.headers.contains_key(algorithm.content_header())
        && payload_hash != empty_hash;
    if python_hashed_empty_body && matches(&canonical(empty_hash)?)? {
        return Ok(());
    }
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

/// Checks that `key` is for the algorithm, the access key and (if it has one) the scope of
/// `authorization`, and that a scoped algorithm's header has a credential scope.
fn check_key(authorization: &Authorization, key: &SigningKey) -> Result<(), SigningError> {
    let mismatch = |what: &str| {
        SigningError::new(
            SigningErrorKind::KeyMismatch,
            format!("the verifying key is for another {what} than the Authorization header"),
        )
    };
    if key.algorithm() != authorization.algorithm {
        return Err(mismatch("algorithm"));
    }
    if key.access_key() != authorization.access_key {
        return Err(mismatch("access key"));
    }
    if !key.algorithm().needs_scope() {
        return Ok(());
    }
    let Some(scope) = &authorization.credential_scope else {
        return Err(SigningError::new(
            SigningErrorKind::InvalidAuthorization,
            format!("a {} Authorization header needs a credential scope", key.algorithm()),
        ));
    };
    match key.scope() {
        Some(own) if own.region() != scope.region || own.service() != scope.service => Err(mismatch("scope")),
        _ => Ok(()),
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
