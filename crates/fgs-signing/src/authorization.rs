//! The `Authorization` header (step 9 of the algorithm): writing it and parsing it.

use std::fmt;

use crate::algorithm::Algorithm;
use crate::canonical::signed_header_name;
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
pub(crate) fn format_authorization(
    algorithm: Algorithm,
    access_key: &str,
    credential_scope: Option<&CredentialScope>,
    signed_headers: &[String],
    signature: &str,
) -> String {
    let signed_headers = signed_headers.join(";");
    match credential_scope {
        Some(scope) => format!(
            "{algorithm} Credential={access_key}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
        ),
        None => format!("{algorithm} Access={access_key}, SignedHeaders={signed_headers}, Signature={signature}"),
    }
}

/// A parsed `Authorization` header.
///
/// [`Display`](fmt::Display) writes it back in the canonical form of
/// [`authorization`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key (`Access=`).
    pub access_key: String,
    /// The signed header names, lowercase, in the order given
    /// (`SignedHeaders=`).
    pub signed_headers: Vec<String>,
    /// The signature as sent (`Signature=`).
    pub signature: String,
}

impl Authorization {
    /// Parses an `Authorization` header value.
    ///
    /// The value must start with the algorithm `SDK-HMAC-SHA256` followed by
    /// whitespace and the three parts `Access=`, `SignedHeaders=` and
    /// `Signature=`, separated by `,`, each exactly once, in any order.
    /// Whitespace around the whole value, around `,` and around `=` is
    /// tolerated. The access key must be non-empty without whitespace; the
    /// signed header names must be valid, lowercase and non-empty; the
    /// signature must be non-empty hexadecimal.
    ///
    /// # Errors
    ///
    /// A [`SigningError`] of kind [`SigningErrorKind::InvalidAuthorization`]
    /// saying what is wrong.
    ///
    /// # Example
    ///
    /// ```
    /// use fgs_signing::Authorization;
    ///
    /// # fn main() -> Result<(), fgs_signing::SigningError> {
    /// let auth = Authorization::parse("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=0a1b")?;
    /// assert_eq!(auth.access_key, "AK");
    /// assert_eq!(auth.signed_headers, ["host", "x-sdk-date"]);
    /// assert_eq!(auth.signature, "0a1b");
    /// assert!(Authorization::parse("SDK-HMAC-SHA1 Access=AK, SignedHeaders=host, Signature=0a").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn parse(value: &str) -> Result<Authorization, SigningError> {
        let value = value.trim();
        let (algorithm, rest) = value
            .split_once(char::is_whitespace)
            .ok_or_else(|| invalid("expected the algorithm, a space and Access=, SignedHeaders=, Signature="))?;
        if algorithm != ALGORITHM {
            return Err(invalid(format!(
                "unsupported algorithm {algorithm:?}, expected {ALGORITHM:?}"
            )));
        }
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
                "Access" => &mut access_key,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => return Err(invalid(format!("unknown part {key:?}"))),
            };
            if slot.replace(value).is_some() {
                return Err(invalid(format!("{key} is given more than once")));
            }
        }
        let access_key = access_key.ok_or_else(|| invalid("Access is missing"))?;
        let signed_headers = signed_headers.ok_or_else(|| invalid("SignedHeaders is missing"))?;
        let signature = signature.ok_or_else(|| invalid("Signature is missing"))?;

        if access_key.is_empty() || access_key.contains(char::is_whitespace) {
            return Err(invalid("Access must be non-empty and contain no whitespace"));
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
        })
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&authorization(&self.access_key, &self.signed_headers, &self.signature))
    }
}

fn invalid(message: impl fmt::Display) -> SigningError {
    SigningError::new(
        SigningErrorKind::InvalidAuthorization,
        format!("invalid Authorization header: {message}"),
    )
}
