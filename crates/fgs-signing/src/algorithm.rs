//! The signing algorithms of Huawei Cloud's SDKs and what tells them apart.

use std::fmt;
use std::str::FromStr;

use http::{HeaderMap, HeaderName};

use crate::digest::HashFunction;
use crate::error::{SigningError, SigningErrorKind};
use crate::headers::{CONTENT_SHA256, CONTENT_SM3};
use crate::payload::{EMPTY_PAYLOAD_SHA256, EMPTY_PAYLOAD_SM3};

/// A request signing algorithm of Huawei Cloud's official SDKs.
///
/// All of them share the canonical request ([`canonical_request`](crate::canonical_request));
/// they differ in the hash function, the key, the string to sign and the `Authorization`
/// header:
///
/// | algorithm | hash | signature |
/// | --- | --- | --- |
/// | [`HmacSha256`](Algorithm::HmacSha256) `SDK-HMAC-SHA256` | SHA-256 | HMAC-SHA256 with the secret key |
/// | [`HmacSm3`](Algorithm::HmacSm3) `SDK-HMAC-SM3` | SM3 | HMAC-SM3 with the secret key |
/// | [`EcdsaP256Sha256`](Algorithm::EcdsaP256Sha256) `SDK-ECDSA-P256-SHA256` | SHA-256 | ECDSA on P-256 with a private key derived from AK and SK |
/// | [`Sm2Sm3`](Algorithm::Sm2Sm3) `SDK-SM2-SM3` | SM3 | SM2 with a private key derived from AK and SK |
/// | [`V11HmacSha256`](Algorithm::V11HmacSha256) `V11-HMAC-SHA256` | SHA-256 | HMAC-SHA256 with a key derived for the date, region and service |
///
/// Use it with a [`SigningKey`](crate::SigningKey).
///
/// # Example
///
/// ```
/// use fgs_signing::Algorithm;
///
/// assert_eq!(Algorithm::default(), Algorithm::HmacSha256);
/// assert_eq!(Algorithm::HmacSm3.name(), "SDK-HMAC-SM3");
/// assert_eq!(Algorithm::from_name("SDK-HMAC-SM3"), Some(Algorithm::HmacSm3));
/// assert_eq!(Algorithm::HmacSm3.content_header(), "x-sdk-content-sm3");
/// assert_eq!("SDK-HMAC-SHA256".parse::<Algorithm>().ok(), Some(Algorithm::HmacSha256));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// `SDK-HMAC-SHA256`, the default of every SDK.
    #[default]
    HmacSha256,
    /// `SDK-HMAC-SM3`: `SDK-HMAC-SHA256` with SM3 in place of SHA-256 everywhere, and
    /// `X-Sdk-Content-Sm3` in place of `X-Sdk-Content-Sha256`.
    HmacSm3,
    /// `SDK-ECDSA-P256-SHA256`: the string to sign of `SDK-HMAC-SHA256` (with this name),
    /// signed with ECDSA on NIST P-256 over its SHA-256; the signature is the lowercase
    /// hexadecimal DER of `(r, s)`. The private key is derived from the AK/SK pair (see
    /// [`SigningKey::new`](crate::SigningKey::new)), so a server that knows the pair verifies
    /// with the public key.
    EcdsaP256Sha256,
    /// `SDK-SM2-SM3`: like [`EcdsaP256Sha256`](Algorithm::EcdsaP256Sha256) with SM3 in place
    /// of SHA-256 everywhere (also in the key derivation), SM2 signatures (GB/T 32918.2, with
    /// the default identifier `1234567812345678`) on the SM2 curve, and `X-Sdk-Content-Sm3`
    /// in place of `X-Sdk-Content-Sha256`.
    Sm2Sm3,
    /// `V11-HMAC-SHA256`, Huawei's derived AK/SK (`DerivationAKSKSigner`): HMAC-SHA256 keyed
    /// with the lowercase hexadecimal text of HKDF-SHA256(salt = AK, ikm = SK,
    /// info = `YYYYMMDD/region/service`, 32 bytes), a string to sign with that credential
    /// scope as third line, and `Credential=AK/YYYYMMDD/region/service` in place of
    /// `Access=AK`. Needs a [`Scope`](crate::Scope).
    V11HmacSha256,
}

impl Algorithm {
    /// Every algorithm, the default first.
    pub const ALL: [Algorithm; 5] = [
        Algorithm::HmacSha256,
        Algorithm::HmacSm3,
        Algorithm::EcdsaP256Sha256,
        Algorithm::Sm2Sm3,
        Algorithm::V11HmacSha256,
    ];

    /// The algorithm's name, the first word of the `Authorization` header and of the string
    /// to sign.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "SDK-HMAC-SHA256",
            Algorithm::HmacSm3 => "SDK-HMAC-SM3",
            Algorithm::EcdsaP256Sha256 => "SDK-ECDSA-P256-SHA256",
            Algorithm::Sm2Sm3 => "SDK-SM2-SM3",
            Algorithm::V11HmacSha256 => "V11-HMAC-SHA256",
        }
    }

    /// The algorithm named `name` (exactly, case-sensitively), if there is one.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|algorithm| algorithm.name() == name)
    }

    /// The header whose value replaces the body hash in the canonical request, typically
    /// [`UNSIGNED_PAYLOAD`](crate::UNSIGNED_PAYLOAD): [`CONTENT_SM3`](crate::CONTENT_SM3)
    /// (`X-Sdk-Content-Sm3`) for the algorithms that hash with SM3,
    /// [`CONTENT_SHA256`](crate::CONTENT_SHA256) (`X-Sdk-Content-Sha256`) for the others.
    #[must_use]
    pub const fn content_header(self) -> HeaderName {
        match self.hash_function() {
            HashFunction::Sha256 => CONTENT_SHA256,
            HashFunction::Sm3 => CONTENT_SM3,
        }
    }

    /// The payload hash of an empty body: [`EMPTY_PAYLOAD_SHA256`] or [`EMPTY_PAYLOAD_SM3`].
    #[must_use]
    pub const fn empty_payload_hash(self) -> &'static str {
        match self.hash_function() {
            HashFunction::Sha256 => EMPTY_PAYLOAD_SHA256,
            HashFunction::Sm3 => EMPTY_PAYLOAD_SM3,
        }
    }

    /// The payload hash of a request (step 1): the trimmed value of the
    /// [`content_header`](Algorithm::content_header) if the request has it, otherwise the
    /// lowercase hexadecimal hash of the exact body bytes. For
    /// [`HmacSha256`](Algorithm::HmacSha256) this is [`payload_hash`](crate::payload_hash).
    ///
    /// # Example
    ///
    /// ```
    /// use fgs_signing::{Algorithm, CONTENT_SHA256, CONTENT_SM3, EMPTY_PAYLOAD_SM3, UNSIGNED_PAYLOAD};
    /// use http::{HeaderMap, HeaderValue};
    ///
    /// let mut headers = HeaderMap::new();
    /// assert_eq!(Algorithm::HmacSm3.payload_hash(&headers, b""), EMPTY_PAYLOAD_SM3);
    /// // The SHA-256 header does not concern SM3.
    /// headers.insert(CONTENT_SHA256, HeaderValue::from_static(UNSIGNED_PAYLOAD));
    /// assert_eq!(Algorithm::HmacSm3.payload_hash(&headers, b""), EMPTY_PAYLOAD_SM3);
    /// headers.insert(CONTENT_SM3, HeaderValue::from_static(UNSIGNED_PAYLOAD));
    /// assert_eq!(Algorithm::HmacSm3.payload_hash(&headers, b"ignored"), UNSIGNED_PAYLOAD);
    /// ```
    #[must_use]
    pub fn payload_hash(self, headers: &HeaderMap, body: &[u8]) -> String {
        match headers.get(self.content_header()) {
            Some(value) => String::from_utf8_lossy(value.as_bytes()).trim().to_owned(),
            None => self.hash_function().hex(body),
        }
    }

    /// The lowercase hexadecimal hash of `data` with the algorithm's hash function (SHA-256 or
    /// SM3), as used for the payload and the canonical request.
    ///
    /// # Example
    ///
    /// ```
    /// use fgs_signing::{Algorithm, EMPTY_PAYLOAD_SHA256, EMPTY_PAYLOAD_SM3};
    ///
    /// assert_eq!(Algorithm::HmacSha256.hash_hex(b""), EMPTY_PAYLOAD_SHA256);
    /// assert_eq!(Algorithm::HmacSm3.hash_hex(b""), EMPTY_PAYLOAD_SM3);
    /// ```
    #[must_use]
    pub fn hash_hex(self, data: &[u8]) -> String {
        self.hash_function().hex(data)
    }

    /// Whether the algorithm signs for a credential scope (needs a [`Scope`](crate::Scope)
    /// to sign, and its `Authorization` header has `Credential=` in place of `Access=`): true
    /// for [`V11HmacSha256`](Algorithm::V11HmacSha256) only.
    #[must_use]
    pub const fn needs_scope(self) -> bool {
        matches!(self, Algorithm::V11HmacSha256)
    }

    /// Whether the algorithm signs with a private key derived from the AK/SK pair (and a
    /// verifier checks with the public key): true for
    /// [`EcdsaP256Sha256`](Algorithm::EcdsaP256Sha256) and [`Sm2Sm3`](Algorithm::Sm2Sm3).
    #[must_use]
    pub const fn is_asymmetric(self) -> bool {
        matches!(self, Algorithm::EcdsaP256Sha256 | Algorithm::Sm2Sm3)
    }

    /// The hash function used everywhere by the algorithm.
    pub(crate) const fn hash_function(self) -> HashFunction {
        match self {
            Algorithm::HmacSha256 | Algorithm::EcdsaP256Sha256 | Algorithm::V11HmacSha256 => HashFunction::Sha256,
            Algorithm::HmacSm3 | Algorithm::Sm2Sm3 => HashFunction::Sm3,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = SigningError;

    /// [`Algorithm::from_name`], with an error of kind
    /// [`SigningErrorKind::UnsupportedAlgorithm`] for an unknown name.
    fn from_str(name: &str) -> Result<Algorithm, SigningError> {
        Algorithm::from_name(name).ok_or_else(|| {
            SigningError::new(
                SigningErrorKind::UnsupportedAlgorithm,
                format!("unsupported signing algorithm {name:?}"),
            )
        })
    }
}
