//! The `Authorization` header (step 9 of the algorithm): writing it and parsing it.

use std::fmt;

use crate::algorithm::Algorithm;
use crate::canonical::{push_joined, signed_header_name};
use crate::error::{SigningError, SigningErrorKind};
use crate::scope::CredentialScope;
use crate::signature::ALGORITHM;

/// The `Authorization` header value (step 9 of the algorithm):
/// `SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<a;b;c>, Signature=<hex>`.
///
/// # Example
///
/// ```
/// use fgs_signing::authorization;
///
/// let names = vec!["host".to_owned(), "x-sdk-date".to_owned()];
/// assert_eq!(
///     authorization("AK", &names, "abc123"),
///     "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=abc123"
/// );
/// ```
#[must_use]
pub fn authorization(access_key: &str, signed_headers: &[String], signature: &str) -> String {
    format!(
        "{ALGORITHM} Access={access_key}, SignedHeaders={}, Signature={signature}",
        signed_headers.join(";")
    )
}

/// The `Authorization` header value of any algorithm: `ALGORITHM Access=AK, ...`, or for a
/// credential scope (`V11-HMAC-SHA256`) `ALGORITHM Credential=AK/SCOPE, ...`.
pub(crate) fn format_authorization<N: AsRef<str>>(
    algorithm: Algorithm,
    access_key: &str,
    credential_scope: Option<&CredentialScope>,
    signed_headers: &[N],
    signature: &str,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(160);
    // Writing into a `String` cannot fail.
    let _ = match credential_scope {
        Some(scope) => write!(out, "{algorithm} Credential={access_key}/{scope}, SignedHeaders="),
        None => write!(out, "{algorithm} Access={access_key}, SignedHeaders="),
    };
    push_joined(signed_headers, &mut out);
    out.push_str(", Signature=");
    out.push_str(signature);
    out
}

/// A parsed `Authorization` header, of any [`Algorithm`].
///
/// [`Display`](fmt::Display) writes it back in canonical form:
/// `ALGORITHM Access=AK, SignedHeaders=a;b, Signature=hex`, or with a credential scope
/// `V11-HMAC-SHA256 Credential=AK/YYYYMMDD/region/service, SignedHeaders=a;b, Signature=hex`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key (`Access=`, or what precedes the first `/` of `Credential=`).
    pub access_key: String,
    /// The signed header names, lowercase, in the order given
    /// (`SignedHeaders=`).
    pub signed_headers: Vec<String>,
    /// The signature as sent (`Signature=`).
    pub signature: String,
    /// The algorithm, the header's first word.
    pub algorithm: Algorithm,
    /// The credential scope of an algorithm that [`needs_scope`](Algorithm::needs_scope)
    /// (what follows the access key in `Credential=AK/YYYYMMDD/region/service`); `None` for
    /// the others.
    pub credential_scope: Option<CredentialScope>,
}

impl Authorization {
    /// Parses an `Authorization` header value.
    ///
    /// The value must start with an algorithm name of [`Algorithm::ALL`] followed by
    /// whitespace and three parts separated by `,`, each exactly once, in any order:
    /// `Access=` (or, for `V11-HMAC-SHA256`, `Credential=AK/YYYYMMDD/region/service`),
    /// `SignedHeaders=` and `Signature=`. Whitespace around the whole value, around `,` and
    /// around `=` is tolerated. The access key must be non-empty without whitespace; the
    /// signed header names must be valid, lowercase and non-empty; the signature must be
    /// non-empty hexadecimal.
    ///
    /// # Errors
    ///
    /// A [`SigningError`] of kind [`SigningErrorKind::InvalidAuthorization`]
    /// saying what is wrong.
    ///
    /// # Example
    ///
    /// ```
    /// use fgs_signing::{Algorithm, Authorization};
    ///
    /// # fn main() -> Result<(), fgs_signing::SigningError> {
    /// let auth = Authorization::parse("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=0a1b")?;
    /// assert_eq!(auth.access_key, "AK");
    /// assert_eq!(auth.signed_headers, ["host", "x-sdk-date"]);
    /// assert_eq!(auth.signature, "0a1b");
    /// assert_eq!(auth.algorithm, Algorithm::HmacSha256);
    /// assert!(Authorization::parse("SDK-HMAC-SHA1 Access=AK, SignedHeaders=host, Signature=0a").is_err());
    ///
    /// let v11 = Authorization::parse(
    ///     "V11-HMAC-SHA256 Credential=AK/20240101/cn-north-4/functiongraph, SignedHeaders=x-sdk-date, Signature=0a",
    /// )?;
    /// assert_eq!((v11.algorithm, v11.access_key.as_str()), (Algorithm::V11HmacSha256, "AK"));
    /// let scope = v11.credential_scope.as_ref().map(ToString::to_string);
    /// assert_eq!(scope.as_deref(), Some("20240101/cn-north-4/functiongraph"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn parse(value: &str) -> Result<Authorization, SigningError> {
        let value = value.trim();
        let (name, rest) = value
            .split_once(char::is_whitespace)
            .ok_or_else(|| invalid("expected the algorithm, a space and Access=, SignedHeaders=, Signature="))?;
        let algorithm = Algorithm::from_name(name).ok_or_else(|| {
            let names: Vec<&str> = Algorithm::ALL.iter().map(|algorithm| algorithm.name()).collect();
            invalid(format!("unsupported algorithm {name:?}, expected one of {names:?}"))
        })?;
        let key_part = if algorithm.needs_scope() {
            "Credential"
        } else {
            "Access"
        };
        let mut access_key = None;
        let mut signed_headers = None;
        let mut signature = None;
        for part in rest.split(',') {
            let part = part.trim();
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| invalid(format!("expected `name=value`, found {part:?}")))?;
            let (key, value) = (key.trim(), value.trim());
            let slot = match key {
                _ if key == key_part => &mut access_key,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => return Err(invalid(format!("unknown part {key:?} for {algorithm}"))),
            };
            if slot.replace(value).is_some() {
                return Err(invalid(format!("{key} is given more than once")));
            }
        }
        let access_key = access_key.ok_or_else(|| invalid(format!("{key_part} is missing")))?;
        let signed_headers = signed_headers.ok_or_else(|| invalid("SignedHeaders is missing"))?;
        let signature = signature.ok_or_else(|| invalid("Signature is missing"))?;

        let (access_key, credential_scope) = if algorithm.needs_scope() {
            let (access_key, scope) = access_key
                .split_once('/')
                .ok_or_else(|| invalid("Credential must be AK/YYYYMMDD/region/service"))?;
            let scope = CredentialScope::parse(scope).map_err(|error| invalid(format!("in Credential: {error}")))?;
            (access_key, Some(scope))
        } else {
            (access_key, None)
        };
        if access_key.is_empty() || access_key.contains(char::is_whitespace) {
            return Err(invalid(format!(
                "the access key of {key_part} must be non-empty and contain no whitespace"
            )));
        }
        if signature.is_empty() || !signature.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(invalid("Signature must be non-empty hexadecimal"));
        }
        let signed_headers = signed_headers
            .split(';')
            .map(|name| {
                if name.is_empty() {
                    return Err(invalid("SignedHeaders contains an empty header name"));
                }
                signed_header_name(name)
                    .map(|_| name.to_owned())
                    .map_err(|error| invalid(format!("in SignedHeaders: {error}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Authorization {
            access_key: access_key.to_owned(),
            signed_headers,
            signature: signature.to_owned(),
            algorithm,
            credential_scope,
        })
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_authorization(
            self.algorithm,
            &self.access_key,
            self.credential_scope.as_ref(),
            &self.signed_headers,
            &self.signature,
        ))
    }
}

fn invalid(message: impl fmt::Display) -> SigningError {
    SigningError::new(
        SigningErrorKind::InvalidAuthorization,
        format!("invalid Authorization header: {message}"),
    )
}
