//! [`SigningKey`]: what an algorithm needs to sign, derived once from an AK/SK pair.

use std::fmt;

use http::{HeaderMap, Method, Uri};
use zeroize::Zeroizing;

use crate::algorithm::Algorithm;
use crate::canonical::{build_canonical_request, default_signed_headers};
use crate::error::{SigningError, SigningErrorKind};
use crate::sign::{Signed, check_access_key, check_sdk_date};

/// The key of one [`Algorithm`] for one access key: what signs requests.
///
/// It is made once from an AK/SK pair and can sign any number of requests; a client keeps it
/// for as long as its credentials do not change.
///
/// The secret key never appears in [`Debug`](fmt::Debug) output and is zeroized when the key
/// is dropped.
///
/// # Example
///
/// ```
/// use fgs_signing::{Algorithm, SDK_DATE, SigningKey};
/// use http::{HeaderMap, HeaderValue, Method, Uri};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = SigningKey::new(Algorithm::HmacSm3, "AKEXAMPLE", b"SKEXAMPLE")?;
/// let uri: Uri = "https://functiongraph.cn-north-4.myhuaweicloud.com/v2/p/fgs/functions".parse()?;
/// let mut headers = HeaderMap::new();
/// headers.insert(SDK_DATE, HeaderValue::from_static("20240101T120000Z"));
/// let signed = key.sign(&Method::GET, &uri, &headers, b"", "20240101T120000Z")?;
/// assert!(signed.authorization.starts_with("SDK-HMAC-SM3 Access=AKEXAMPLE, SignedHeaders=x-sdk-date, Signature="));
/// assert!(!format!("{key:?}").contains("SKEXAMPLE"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SigningKey {
    algorithm: Algorithm,
    access_key: String,
    material: Material,
}

/// The secret part of a [`SigningKey`].
#[derive(Clone)]
enum Material {
    /// The secret key itself (the HMAC algorithms).
    Secret(Zeroizing<Vec<u8>>),
}

impl SigningKey {
    /// Makes the key of `algorithm` for the access key `access_key` and the secret key
    /// `secret_key` (its bytes, usually the UTF-8 of the text Huawei Cloud gave).
    ///
    /// # Errors
    ///
    /// A [`SigningError`] of kind [`SigningErrorKind::InvalidAccessKey`] if `access_key` is
    /// empty or cannot be written into an `Authorization` header (it must be visible ASCII
    /// without `,`), or [`SigningErrorKind::InvalidSecretKey`] if `secret_key` is empty.
    pub fn new(algorithm: Algorithm, access_key: &str, secret_key: &[u8]) -> Result<SigningKey, SigningError> {
        check_access_key(access_key)?;
        if secret_key.is_empty() {
            return Err(SigningError::new(
                SigningErrorKind::InvalidSecretKey,
                "the secret key must not be empty",
            ));
        }
        let material = match algorithm {
            Algorithm::HmacSha256 | Algorithm::HmacSm3 => Material::Secret(Zeroizing::new(secret_key.to_vec())),
        };
        Ok(SigningKey {
            algorithm,
            access_key: access_key.to_owned(),
            material,
        })
    }

    /// The algorithm this key signs with.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The access key (AK) this key signs for.
    #[must_use]
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// Signs a request like Huawei's SDKs do with this key's algorithm.
    ///
    /// Exactly [`sign`](crate::sign) but for any algorithm: the caller has put every header it
    /// wants to send into `headers`, among them `X-Sdk-Date` with the value `sdk_date` and,
    /// for a body that is not to be signed, the algorithm's
    /// [`content_header`](Algorithm::content_header) with
    /// [`UNSIGNED_PAYLOAD`](crate::UNSIGNED_PAYLOAD); every header whose name has no `_` is
    /// signed. The caller then sends [`Signed::authorization`] as the `Authorization` header.
    ///
    /// # Errors
    ///
    /// A [`SigningError`] if `sdk_date` is not a valid `X-Sdk-Date`
    /// ([`SigningErrorKind::InvalidDate`]), `headers` has no `X-Sdk-Date` or more than one
    /// ([`SigningErrorKind::MissingDate`]) or one that differs from `sdk_date`
    /// ([`SigningErrorKind::DateMismatch`]), or a header value is not UTF-8
    /// ([`SigningErrorKind::InvalidHeaderValue`]).
    pub fn sign(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        sdk_date: &str,
    ) -> Result<Signed, SigningError> {
        check_sdk_date(headers, sdk_date)?;
        let signed_headers = default_signed_headers(headers);
        let payload_hash = self.algorithm.payload_hash(headers, body);
        let canonical_request = build_canonical_request(method, uri, headers, &signed_headers, &payload_hash, false)?;
        let string_to_sign = self.string_to_sign(sdk_date, &canonical_request);
        let signature = self.signature(&string_to_sign)?;
        let authorization = format!(
            "{} Access={}, SignedHeaders={}, Signature={signature}",
            self.algorithm,
            self.access_key,
            signed_headers.join(";")
        );
        Ok(Signed {
            canonical_request,
            string_to_sign,
            signature,
            authorization,
            signed_headers,
        })
    }

    /// The string to sign: `ALGORITHM\nX-Sdk-Date\nhex(hash(canonical request))`.
    pub(crate) fn string_to_sign(&self, sdk_date: &str, canonical_request: &str) -> String {
        format!(
            "{}\n{sdk_date}\n{}",
            self.algorithm,
            self.algorithm.hash_hex(canonical_request.as_bytes())
        )
    }

    /// The lowercase hexadecimal signature of `string_to_sign`.
    pub(crate) fn signature(&self, string_to_sign: &str) -> Result<String, SigningError> {
        match &self.material {
            Material::Secret(secret_key) => Ok(self
                .algorithm
                .hash_function()
                .hmac_hex(secret_key, string_to_sign.as_bytes())),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("access_key", &self.access_key)
            .field("secret", &"<redacted>")
            .finish()
    }
}
