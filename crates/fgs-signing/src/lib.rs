//! Huawei Cloud AK/SK request signing: `SDK-HMAC-SHA256` and every other algorithm of
//! Huawei's official SDKs.
//!
//! This crate is the one implementation of the signing canonicalisation in
//! the `fgs` workspace: the emulator uses it to *verify* signed requests and
//! the client uses it to *sign* them, and both produce canonical requests
//! byte-identical to those of Huawei's official Python signer
//! (`huaweicloudsdkcore.signer.Signer`).
//!
//! # Algorithms
//!
//! The steps below are those of `SDK-HMAC-SHA256`, the default, which [`sign`] implements.
//! The other [`Algorithm`]s of Huawei's SDKs share its canonical request and differ in the
//! hash, the key, the string to sign and the `Authorization` header: `SDK-HMAC-SM3`,
//! `SDK-ECDSA-P256-SHA256` and `SDK-SM2-SM3` (private keys derived from the AK/SK pair),
//! and `V11-HMAC-SHA256` (a key derived per day, region and service, see [`Scope`]). A
//! [`SigningKey`] signs with any of them ([`SigningKey::sign`]); [`Authorization::parse`]
//! reads all of their headers, and [`verify`] (with the secret key) or [`verify_with`] (with
//! a kept [`SigningKey`]) verifies all of them.
//!
//! ```
//! use fgs_signing::{Algorithm, Authorization, SDK_DATE, Scope, SigningKey, VerifyInput, parse_sdk_date, verify};
//! use http::{HeaderMap, HeaderValue, Method, Uri};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let uri: Uri = "/v2/0123456789abcdef0123456789abcdef/fgs/functions".parse()?;
//! let mut headers = HeaderMap::new();
//! headers.insert(SDK_DATE, HeaderValue::from_static("20240101T120000Z"));
//! for algorithm in Algorithm::ALL {
//!     let key = SigningKey::new(algorithm, "AKEXAMPLE", b"SKEXAMPLE")?
//!         .with_scope(Scope::new("cn-north-4", "functiongraph")?);
//!     let signed = key.sign(&Method::GET, &uri, &headers, b"", "20240101T120000Z")?;
//!     assert!(signed.authorization.starts_with(algorithm.name()));
//!
//!     let authorization = Authorization::parse(&signed.authorization)?;
//!     assert_eq!(authorization.algorithm, algorithm);
//!     let request = VerifyInput { method: &Method::GET, uri: &uri, headers: &headers, body: b"", authorization: &authorization };
//!     verify(&request, b"SKEXAMPLE", parse_sdk_date("20240101T120000Z")?)?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Algorithm
//!
//! 1. **Payload hash** ([`payload_hash`]): the lowercase hexadecimal SHA-256
//!    of the body, or the value of `X-Sdk-Content-Sha256` if present
//!    (signers send [`UNSIGNED_PAYLOAD`] for non-JSON bodies, see
//!    [`wants_unsigned_payload`]).
//! 2. **Canonical URI** ([`canonical_uri`]): the path percent-decoded, split
//!    on `/`, each segment re-encoded keeping only `A-Z a-z 0-9 - _ . ~`,
//!    with a trailing `/`.
//! 3. **Canonical query** ([`canonical_query`]): pairs decoded, sorted by key
//!    then value, re-encoded, joined with `&`.
//! 4. **Signed headers** ([`default_signed_headers`]): by default every
//!    header whose name has no `_`, lowercase and sorted.
//! 5. **Canonical headers**: `name:trimmed value\n` for each signed header.
//! 6. **Canonical request** ([`canonical_request`]):
//!    `METHOD\nURI\nQUERY\nHEADERS\nSIGNED_HEADERS\nPAYLOAD_HASH`.
//! 7. **String to sign** ([`string_to_sign`]):
//!    `SDK-HMAC-SHA256\nX-Sdk-Date\nhex(sha256(canonical request))`.
//! 8. **Signature** ([`signature`]): hex HMAC-SHA256 keyed with the secret
//!    key.
//! 9. **Authorization** ([`authorization`], parsed by [`Authorization`]):
//!    `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`.
//! 10. **Date** ([`format_sdk_date`], [`parse_sdk_date`]): `X-Sdk-Date` is
//!     `YYYYMMDDTHHMMSSZ` in UTC and must be within [`MAX_CLOCK_SKEW`] of the
//!     server's clock.
//!
//! [`sign`] and [`verify`] do all of it in one call.
//!
//! # Example
//!
//! Sign a request, then verify it as the emulator would:
//!
//! ```
//! use fgs_signing::{Authorization, SDK_DATE, VerifyError, VerifyInput, parse_sdk_date, sign, verify};
//! use http::{HeaderMap, HeaderValue, Method, Uri, header};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let uri: Uri = "https://functiongraph.cn-north-4.myhuaweicloud.com/v2/0123456789abcdef0123456789abcdef\
//!                 /fgs/functions/urn%3Afss%3Acn-north-4%3A0123456789abcdef0123456789abcdef%3Afunction\
//!                 %3Adefault%3Ahello%3Alatest/invocations"
//!     .parse()?;
//! let sdk_date = "20240101T120000Z";
//! let body = br#"{"k": "v"}"#;
//!
//! // Client side.
//! let mut headers = HeaderMap::new();
//! headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
//! headers.insert(header::HOST, HeaderValue::from_static("functiongraph.cn-north-4.myhuaweicloud.com"));
//! headers.insert(SDK_DATE, HeaderValue::from_static(sdk_date));
//! let signed = sign(&Method::POST, &uri, &headers, body, "AKEXAMPLE", b"SKEXAMPLE", sdk_date)?;
//! assert_eq!(signed.signed_headers, ["content-type", "host", "x-sdk-date"]);
//! headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&signed.authorization)?);
//!
//! // Server side.
//! let authorization = Authorization::parse(headers[header::AUTHORIZATION].to_str()?)?;
//! assert_eq!(authorization.access_key, "AKEXAMPLE");
//! let request = VerifyInput { method: &Method::POST, uri: &uri, headers: &headers, body, authorization: &authorization };
//! let now = parse_sdk_date(sdk_date)?;
//! verify(&request, b"SKEXAMPLE", now)?;
//!
//! // A wrong secret key, or any change to the signed parts, is detected.
//! let error = verify(&request, b"other secret", now).unwrap_err();
//! assert!(matches!(error, VerifyError::SignatureMismatch { .. }));
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod algorithm;
mod authorization;
mod canonical;
pub mod date;
mod digest;
mod ecc;
mod error;
mod headers;
mod key;
mod payload;
mod scope;
mod sign;
mod signature;
mod verify;

#[cfg(test)]
mod tests;

pub use algorithm::Algorithm;
pub use authorization::{Authorization, authorization};
pub use canonical::{canonical_query, canonical_request, canonical_uri, default_signed_headers};
pub use date::{format_sdk_date, parse_sdk_date};
pub use error::{SigningError, SigningErrorKind, VerifyError};
pub use headers::{CONTENT_SHA256, CONTENT_SM3, PROJECT_ID, SDK_DATE, SECURITY_TOKEN};
pub use key::SigningKey;
pub use payload::{EMPTY_PAYLOAD_SHA256, EMPTY_PAYLOAD_SM3, UNSIGNED_PAYLOAD, payload_hash, wants_unsigned_payload};
pub use scope::{CredentialScope, Scope};
pub use sign::{Signed, sign};
pub use signature::{ALGORITHM, signature, signatures_match, string_to_sign};
pub use verify::{MAX_CLOCK_SKEW, VerifyInput, verify, verify_with};
