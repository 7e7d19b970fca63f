//! Error types of the signing and verification functions.

use std::error::Error;
use std::fmt;

/// What kind of problem a [`SigningError`] reports.
///
/// A verifier can map each kind onto the error code it wants to return; the
/// [`Display`](fmt::Display) text of the [`SigningError`] says the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigningErrorKind {
    /// The `Authorization` header is not a well-formed authorization of one of the
    /// [`Algorithm`](crate::Algorithm)s.
    InvalidAuthorization,
    /// The request has no `X-Sdk-Date` header, or has it more than once.
    MissingDate,
    /// An `X-Sdk-Date` value is not of the form `YYYYMMDDTHHMMSSZ`, names an
    /// impossible date, or cannot be represented as a
    /// [`SystemTime`](std::time::SystemTime).
    InvalidDate,
    /// The date given to [`sign`](crate::sign) differs from the request's
    /// `X-Sdk-Date` header.
    DateMismatch,
    /// `x-sdk-date` is not one of the signed headers.
    DateNotSigned,
    /// A signed header is absent from the request.
    MissingSignedHeader,
    /// A signed header name is empty, not a valid header name, or not
    /// lowercase.
    InvalidSignedHeaderName,
    /// A signed header's value is not valid UTF-8.
    InvalidHeaderValue,
    /// The access key given to [`sign`](crate::sign) or
    /// [`SigningKey::new`](crate::SigningKey::new) is empty or contains
    /// whitespace, `,`, a control character or non-ASCII, so it cannot be
    /// written into an `Authorization` header that a server can read.
    InvalidAccessKey,
    /// An algorithm name is not one of [`Algorithm::ALL`](crate::Algorithm::ALL).
    UnsupportedAlgorithm,
    /// The secret key given to [`SigningKey::new`](crate::SigningKey::new) is empty.
    InvalidSecretKey,
    /// A `V11-HMAC-SHA256` key has no [`Scope`](crate::Scope) to sign with.
    MissingScope,
    /// A region, service or credential scope is empty or malformed.
    InvalidScope,
    /// A key cannot be derived from the access key and the secret key (for the
    /// elliptic-curve algorithms: no candidate of Huawei's derivation was in range, which
    /// happens with a probability below 2^-8000).
    KeyDerivation,
    /// The [`SigningKey`](crate::SigningKey) given to [`verify_with`](crate::verify_with) is
    /// for another algorithm, access key or scope than the `Authorization` header.
    KeyMismatch,
}

/// A request cannot be canonicalised, signed or checked because it (or an
/// argument) is malformed.
///
/// The [`Display`](fmt::Display) text says what is wrong. It names headers
/// but never includes a header value, a signature or a secret key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SigningError {
    kind: SigningErrorKind,
    message: String,
}

impl SigningError {
    pub(crate) fn new(kind: SigningErrorKind, message: impl Into<String>) -> SigningError {
        SigningError {
            kind,
            message: message.into(),
        }
    }

    /// The kind of problem.
    #[must_use]
    pub fn kind(&self) -> SigningErrorKind {
        self.kind
    }
}

impl fmt::Display for SigningError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for SigningError {}

/// Why [`verify`](crate::verify) rejected a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// The request cannot be checked: the `X-Sdk-Date` header is missing or
    /// malformed, `x-sdk-date` is not signed, a signed header is absent from
    /// the request, a signed header value is not UTF-8, the credential scope's date is not
    /// the request's, or the key does not fit the `Authorization` header
    /// ([`SigningErrorKind::KeyMismatch`]) or cannot be derived.
    Malformed(SigningError),
    /// The request's `X-Sdk-Date` is more than
    /// [`MAX_CLOCK_SKEW`](crate::MAX_CLOCK_SKEW) away from the verifier's
    /// clock.
    ClockSkew {
        /// The request's `X-Sdk-Date` value.
        sdk_date: String,
        /// The verifier's time, formatted like `X-Sdk-Date`.
        server_date: String,
    },
    /// The signature in the `Authorization` header is not the one computed
    /// from the request.
    SignatureMismatch {
        /// The canonical request the verifier computed, with every value of
        /// `X-Security-Token` replaced by `***`, so that it can be shown to a
        /// client to debug its signer.
        canonical_request: String,
    },
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Malformed(error) => write!(f, "cannot verify the request signature: {error}"),
            VerifyError::ClockSkew { sdk_date, server_date } => {
                write!(
                    f,
                    "signature expired, signature time: {sdk_date}, server time: {server_date}"
                )
            }
            VerifyError::SignatureMismatch { canonical_request } => write!(
                f,
                "the request signature does not match; the canonical request computed by the server is:\n\
                 {canonical_request}"
            ),
        }
    }
}

impl Error for VerifyError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            VerifyError::Malformed(error) => Some(error),
            VerifyError::ClockSkew { .. } | VerifyError::SignatureMismatch { .. } => None,
        }
    }
}

impl From<SigningError> for VerifyError {
    fn from(error: SigningError) -> VerifyError {
        VerifyError::Malformed(error)
    }
}
