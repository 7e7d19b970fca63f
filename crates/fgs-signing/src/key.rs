//! [`SigningKey`]: what an algorithm needs to sign, derived once from an AK/SK pair.

use std::fmt;

use http::{HeaderMap, Method, Uri};
use zeroize::Zeroizing;

use crate::algorithm::Algorithm;
use crate::authorization::format_authorization;
use crate::canonical::{build_canonical_request, signed_header_names};
use crate::digest::{hex_lower, push_hex};
use crate::ecc::{P256Key, Sm2Key};
use crate::error::{SigningError, SigningErrorKind};
use crate::scope::{CredentialScope, Scope};
use crate::sign::{Signed, check_access_key, check_sdk_date};
use crate::signature::signatures_match;

/// The key of one [`Algorithm`] for one access key: what signs requests
/// ([`SigningKey::sign`]) and verifies them ([`verify_with`](crate::verify_with)).
///
/// It is made once from an AK/SK pair and can sign any number of requests; a client keeps it
/// (it is `Send + Sync`) for as long as its credentials do not change.
///
/// Neither the secret key nor a derived private key appears in [`Debug`](fmt::Debug) output
/// or in an error, and both are zeroized when the key is dropped.
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
    scope: Option<Scope>,
    material: Material,
}

/// The secret part of a [`SigningKey`].
#[derive(Clone)]
enum Material {
    /// The secret key itself (the HMAC algorithms, and `V11-HMAC-SHA256`, whose key is
    /// derived for each date).
    Secret(Zeroizing<Vec<u8>>),
    /// The derived P-256 private key (`SDK-ECDSA-P256-SHA256`).
    P256(P256Key),
    /// The derived SM2 private key (`SDK-SM2-SM3`).
    Sm2(Box<Sm2Key>),
}

impl SigningKey {
    /// Makes the key of `algorithm` for the access key `access_key` and the secret key
    /// `secret_key` (its bytes, usually the UTF-8 of the text Huawei Cloud gave).
    ///
    /// For the elliptic-curve algorithms ([`Algorithm::is_asymmetric`]) this derives the
    /// private key exactly like Huawei's SDKs (`P256SHA256Signer._derive_key`): for `counter`
    /// from 0 to 254, `candidate` = HMAC(key = SK, `00 00 00 01` || algorithm name || `00` ||
    /// AK || `counter` || `00 00 01 00`) as a big-endian integer, with the algorithm's hash
    /// (SHA-256 or SM3); the first `candidate` up to `n - 2` (`n` the order of the curve)
    /// gives the private key `candidate + 1`. That takes a scalar multiplication, so keep the
    /// key rather than making it for each request.
    ///
    /// A key of an algorithm that [`needs_scope`](Algorithm::needs_scope) signs only once it
    /// has one ([`with_scope`](SigningKey::with_scope)).
    ///
    /// # Errors
    ///
    /// A [`SigningError`] of kind [`SigningErrorKind::InvalidAccessKey`] if `access_key` is
    /// empty or cannot be written into an `Authorization` header (it must be visible ASCII
    /// without `,`, and for `V11-HMAC-SHA256` without `/`), or
    /// [`SigningErrorKind::InvalidSecretKey`] if `secret_key` is empty, or
    /// [`SigningErrorKind::KeyDerivation`] if no private key can be derived (none of the 255
    /// candidates is in range, which has a probability below 2^-8000).
    pub fn new(algorithm: Algorithm, access_key: &str, secret_key: &[u8]) -> Result<SigningKey, SigningError> {
        check_access_key(access_key)?;
        if algorithm.needs_scope() && access_key.contains('/') {
            return Err(SigningError::new(
                SigningErrorKind::InvalidAccessKey,
                "the access key of a derived key must not contain `/`",
            ));
        }
        if secret_key.is_empty() {
            return Err(SigningError::new(
                SigningErrorKind::InvalidSecretKey,
                "the secret key must not be empty",
            ));
        }
        SigningKey::unchecked(algorithm, access_key, secret_key)
    }

    /// [`SigningKey::new`] without the checks of the access key and the secret key, for a
    /// verifier, which must check whatever it was sent.
    pub(crate) fn unchecked(
        algorithm: Algorithm,
        access_key: &str,
        secret_key: &[u8],
    ) -> Result<SigningKey, SigningError> {
        let material = match algorithm {
            Algorithm::HmacSha256 | Algorithm::HmacSm3 | Algorithm::V11HmacSha256 => {
                Material::Secret(Zeroizing::new(secret_key.to_vec()))
            }
            Algorithm::EcdsaP256Sha256 => Material::P256(P256Key::derive(access_key, secret_key)?),
            Algorithm::Sm2Sm3 => Material::Sm2(Box::new(Sm2Key::derive(access_key, secret_key)?)),
        };
        Ok(SigningKey {
            algorithm,
            access_key: access_key.to_owned(),
            scope: None,
            material,
        })
    }

    /// This key with the region and service it signs for. Only `V11-HMAC-SHA256`
    /// ([`Algorithm::needs_scope`]) uses them; the other algorithms ignore them.
    ///
    /// # Example
    ///
    /// ```
    /// use fgs_signing::{Algorithm, SDK_DATE, Scope, SigningKey};
    /// use http::{HeaderMap, HeaderValue, Method, Uri};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let key = SigningKey::new(Algorithm::V11HmacSha256, "AKEXAMPLE", b"SKEXAMPLE")?
    ///     .with_scope(Scope::new("cn-north-4", "functiongraph")?);
    /// let uri: Uri = "/v2/p/fgs/functions".parse()?;
    /// let mut headers = HeaderMap::new();
    /// headers.insert(SDK_DATE, HeaderValue::from_static("20240101T120000Z"));
    /// let signed = key.sign(&Method::GET, &uri, &headers, b"", "20240101T120000Z")?;
    /// assert!(signed.authorization.starts_with(
    ///     "V11-HMAC-SHA256 Credential=AKEXAMPLE/20240101/cn-north-4/functiongraph, SignedHeaders=x-sdk-date, Signature="
    /// ));
    /// assert!(signed.string_to_sign.starts_with("V11-HMAC-SHA256\n20240101T120000Z\n20240101/cn-north-4/functiongraph\n"));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_scope(mut self, scope: Scope) -> SigningKey {
        self.scope = Some(scope);
        self
    }

    /// The public key of an elliptic-curve algorithm ([`Algorithm::is_asymmetric`]), SEC1
    /// uncompressed (`04 || x || y`, 65 bytes); `None` for the others.
    ///
    /// # Example
    ///
    /// ```
    /// use fgs_signing::{Algorithm, SigningKey};
    ///
    /// # fn main() -> Result<(), fgs_signing::SigningError> {
    /// let key = SigningKey::new(Algorithm::EcdsaP256Sha256, "AKEXAMPLE", b"SKEXAMPLE")?;
    /// let public_key = key.public_key().unwrap_or_default();
    /// assert_eq!((public_key.len(), public_key.first()), (65, Some(&4)));
    /// assert_eq!(SigningKey::new(Algorithm::HmacSha256, "AKEXAMPLE", b"SKEXAMPLE")?.public_key(), None);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn public_key(&self) -> Option<Vec<u8>> {
        match &self.material {
            Material::Secret(_) => None,
            Material::P256(key) => Some(key.public_key()),
            Material::Sm2(key) => Some(key.public_key()),
        }
    }

    /// The derived private key of an elliptic-curve algorithm, 64 lowercase hexadecimal
    /// digits (tests only).
    #[cfg(test)]
    pub(crate) fn derived_private_key_hex(&self) -> Option<String> {
        match &self.material {
            Material::Secret(_) => None,
            Material::P256(key) => Some(key.private_key_hex()),
            Material::Sm2(key) => Some(key.private_key_hex()),
        }
    }

    /// The SM2 key, for tests.
    #[cfg(test)]
    pub(crate) fn sm2_key(&self) -> Option<&Sm2Key> {
        match &self.material {
            Material::Sm2(key) => Some(key),
            _ => None,
        }
    }

    /// The region and service this key signs for, if it was given them.
    #[must_use]
    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_ref()
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
    /// ([`SigningErrorKind::DateMismatch`]), a header value is not UTF-8
    /// ([`SigningErrorKind::InvalidHeaderValue`]), or the algorithm needs a scope and the key
    /// has none ([`SigningErrorKind::MissingScope`]).
    pub fn sign(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        sdk_date: &str,
    ) -> Result<Signed, SigningError> {
        let names = signed_header_names(headers);
        let (canonical_request, string_to_sign, signature, authorization) =
            self.sign_with(method, uri, headers, body, sdk_date, &names)?;
        Ok(Signed {
            canonical_request,
            string_to_sign,
            signature,
            authorization,
            signed_headers: names.into_iter().map(str::to_owned).collect(),
        })
    }

    /// The `Authorization` header value of [`sign`](Self::sign) alone: what a client sends,
    /// without the owned copies of the intermediate steps that [`Signed`] hands out.
    ///
    /// # Errors
    ///
    /// As [`sign`](Self::sign).
    ///
    /// # Example
    ///
    /// ```
    /// use fgs_signing::{Algorithm, SigningKey, format_sdk_date};
    /// use http::{HeaderMap, HeaderValue, Method, Uri};
    ///
    /// let key = SigningKey::new(Algorithm::HmacSha256, "AK", b"SK")?;
    /// let date = "20240101T120000Z";
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-sdk-date", HeaderValue::from_static(date));
    /// headers.insert("host", HeaderValue::from_static("example.com"));
    /// let uri: Uri = "https://example.com/v2/p/fgs/functions".parse()?;
    /// let authorization = key.authorization(&Method::GET, &uri, &headers, b"", date)?;
    /// assert_eq!(authorization, key.sign(&Method::GET, &uri, &headers, b"", date)?.authorization);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn authorization(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        sdk_date: &str,
    ) -> Result<String, SigningError> {
        let names = signed_header_names(headers);
        let (_, _, _, authorization) = self.sign_with(method, uri, headers, body, sdk_date, &names)?;
        Ok(authorization)
    }

    /// The canonical request, string to sign, signature and `Authorization` value of a request
    /// whose signed headers are `names`.
    fn sign_with(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        sdk_date: &str,
        names: &[&str],
    ) -> Result<(String, String, String, String), SigningError> {
        check_sdk_date(headers, sdk_date)?;
        let credential_scope = self.credential_scope(sdk_date)?;
        let payload_hash = self.algorithm.payload_hash(headers, body);
        let canonical_request = build_canonical_request(method, uri, headers, names, &payload_hash, false)?;
        let string_to_sign = self.string_to_sign(sdk_date, credential_scope.as_ref(), &canonical_request);
        let signature = self.signature(&string_to_sign, credential_scope.as_ref())?;
        let authorization = format_authorization(
            self.algorithm,
            &self.access_key,
            credential_scope.as_ref(),
            names,
            &signature,
        );
        Ok((canonical_request, string_to_sign, signature, authorization))
    }

    /// The credential scope of a request signed at `sdk_date`, for an algorithm that
    /// [`needs_scope`](Algorithm::needs_scope); `None` for the others.
    pub(crate) fn credential_scope(&self, sdk_date: &str) -> Result<Option<CredentialScope>, SigningError> {
        if !self.algorithm.needs_scope() {
            return Ok(None);
        }
        match &self.scope {
            Some(scope) => Ok(Some(scope.at(sdk_date))),
            None => Err(SigningError::new(
                SigningErrorKind::MissingScope,
                format!("a {} key needs a region and a service to sign", self.algorithm),
            )),
        }
    }

    /// The string to sign: `ALGORITHM\nX-Sdk-Date\nhex(hash(canonical request))`, with the
    /// credential scope as third line if there is one.
    pub(crate) fn string_to_sign(
        &self,
        sdk_date: &str,
        credential_scope: Option<&CredentialScope>,
        canonical_request: &str,
    ) -> String {
        let hash = self.algorithm.hash_function().digest(canonical_request.as_bytes());
        let algorithm = self.algorithm.name();
        let mut out = String::with_capacity(algorithm.len() + sdk_date.len() + 2 * hash.len() + 48);
        out.push_str(algorithm);
        out.push('\n');
        out.push_str(sdk_date);
        out.push('\n');
        if let Some(scope) = credential_scope {
            out.push_str(&scope.to_string());
            out.push('\n');
        }
        push_hex(&hash, &mut out);
        out
    }

    /// The lowercase hexadecimal signature of `string_to_sign`; the HMAC key of
    /// `V11-HMAC-SHA256` is derived for `credential_scope`.
    pub(crate) fn signature(
        &self,
        string_to_sign: &str,
        credential_scope: Option<&CredentialScope>,
    ) -> Result<String, SigningError> {
        let hash = self.algorithm.hash_function();
        match (&self.material, credential_scope) {
            (Material::Secret(secret_key), None) => Ok(hash.hmac_hex(secret_key, string_to_sign.as_bytes())),
            (Material::Secret(secret_key), Some(scope)) => {
                let derived = derive_v11_key(&self.access_key, secret_key, &scope.to_string())?;
                Ok(hash.hmac_hex(derived.as_bytes(), string_to_sign.as_bytes()))
            }
            (Material::P256(key), _) => key.sign(string_to_sign.as_bytes()),
            (Material::Sm2(key), _) => key.sign(string_to_sign.as_bytes()),
        }
    }

    /// Whether `signature` (as sent in the `Authorization` header) is this key's signature of
    /// `string_to_sign`: recomputed and compared in constant time for the HMAC algorithms,
    /// checked with the public key for the elliptic-curve ones (for SM2 with the `Z` of
    /// GB/T 32918 or the one of Huawei's Python SDK).
    pub(crate) fn signature_matches(
        &self,
        string_to_sign: &str,
        credential_scope: Option<&CredentialScope>,
        signature: &str,
    ) -> Result<bool, SigningError> {
        match &self.material {
            Material::Secret(_) => {
                let expected = self.signature(string_to_sign, credential_scope)?;
                Ok(signatures_match(&expected, signature))
            }
            Material::P256(key) => Ok(key.verify(string_to_sign.as_bytes(), signature)),
            Material::Sm2(key) => Ok(key.verify(string_to_sign.as_bytes(), signature)),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("access_key", &self.access_key)
            .field("scope", &self.scope)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The HMAC key of `V11-HMAC-SHA256` for the credential scope `info`: the lowercase
/// hexadecimal text of HKDF-SHA256(salt = AK, ikm = SK, info, 32 bytes), as Huawei's
/// `hkdf.get_der_key_sha256` returns it (`binascii.hexlify(...).decode()`), whose UTF-8 bytes
/// key the HMAC.
fn derive_v11_key(access_key: &str, secret_key: &[u8], info: &str) -> Result<Zeroizing<String>, SigningError> {
    let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(Some(access_key.as_bytes()), secret_key);
    let mut okm = Zeroizing::new([0_u8; 32]);
    hkdf.expand(info.as_bytes(), okm.as_mut_slice()).map_err(|_| {
        SigningError::new(
            SigningErrorKind::KeyDerivation,
            "HKDF-SHA256 cannot derive the V11-HMAC-SHA256 key",
        )
    })?;
    Ok(Zeroizing::new(hex_lower(okm.as_slice())))
}
