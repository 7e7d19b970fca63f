//! The credential scope of `V11-HMAC-SHA256`: the region and service a derived key is for.

use std::fmt;

use crate::error::{SigningError, SigningErrorKind};

/// The region and the service a `V11-HMAC-SHA256` ([`Algorithm::V11HmacSha256`]) signature is
/// for, as Huawei's `DerivationAKSKSigner` takes them (`region_id`,
/// `derived_auth_service_name`).
///
/// Together with the date of `X-Sdk-Date` they make the credential scope
/// `YYYYMMDD/region/service`, the HKDF `info` of the derived key (see
/// [`CredentialScope`]).
///
/// [`Algorithm::V11HmacSha256`]: crate::Algorithm::V11HmacSha256
///
/// # Example
///
/// ```
/// use fgs_signing::Scope;
///
/// # fn main() -> Result<(), fgs_signing::SigningError> {
/// let scope = Scope::new("cn-north-4", "functiongraph")?;
/// assert_eq!(scope.region(), "cn-north-4");
/// assert_eq!(scope.service(), "functiongraph");
/// assert!(Scope::new("cn-north-4", "a/b").is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    region: String,
    service: String,
}

impl Scope {
    /// The scope of `region` (a region id such as `cn-north-4`) and `service` (the service
    /// name of the derived key, such as `functiongraph`).
    ///
    /// # Errors
    ///
    /// A [`SigningError`] of kind [`SigningErrorKind::InvalidScope`] if either is empty or
    /// contains anything but visible ASCII other than `/` and `,` (which could not be read
    /// back from the `Credential=` of the `Authorization` header).
    pub fn new(region: &str, service: &str) -> Result<Scope, SigningError> {
        check_scope_part("region", region)?;
        check_scope_part("service", service)?;
        Ok(Scope {
            region: region.to_owned(),
            service: service.to_owned(),
        })
    }

    /// The region id.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The service name.
    #[must_use]
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The credential scope of a request signed at `sdk_date` (an `X-Sdk-Date`, whose first
    /// eight characters are the date).
    pub(crate) fn at(&self, sdk_date: &str) -> CredentialScope {
        CredentialScope {
            date: sdk_date.get(..8).unwrap_or(sdk_date).to_owned(),
            region: self.region.clone(),
            service: self.service.clone(),
        }
    }
}

/// The credential scope of a `V11-HMAC-SHA256` signature: `YYYYMMDD/region/service`, where
/// `YYYYMMDD` is the date of the request's `X-Sdk-Date`.
///
/// It is the HKDF `info` of the derived key, the third line of the string to sign and what
/// follows the access key in `Credential=AK/...` of the `Authorization` header.
/// [`Display`](fmt::Display) writes it as `YYYYMMDD/region/service`.
///
/// # Example
///
/// ```
/// use fgs_signing::CredentialScope;
///
/// let scope = CredentialScope {
///     date: "20240101".to_owned(),
///     region: "cn-north-4".to_owned(),
///     service: "functiongraph".to_owned(),
/// };
/// assert_eq!(scope.to_string(), "20240101/cn-north-4/functiongraph");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CredentialScope {
    /// The date, `YYYYMMDD`.
    pub date: String,
    /// The region id.
    pub region: String,
    /// The service name.
    pub service: String,
}

impl CredentialScope {
    /// Parses `YYYYMMDD/region/service`, as in `Credential=AK/YYYYMMDD/region/service`.
    pub(crate) fn parse(text: &str) -> Result<CredentialScope, SigningError> {
        let mut parts = text.split('/');
        let (Some(date), Some(region), Some(service), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SigningError::new(
                SigningErrorKind::InvalidScope,
                "the credential scope must be YYYYMMDD/region/service",
            ));
        };
        if date.len() != 8 || !date.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(SigningError::new(
                SigningErrorKind::InvalidScope,
                "the date of the credential scope must be YYYYMMDD",
            ));
        }
        check_scope_part("region", region)?;
        check_scope_part("service", service)?;
        Ok(CredentialScope {
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        })
    }
}

impl fmt::Display for CredentialScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.date, self.region, self.service)
    }
}

fn check_scope_part(what: &str, value: &str) -> Result<(), SigningError> {
    if value.is_empty() || value.contains(|c: char| !c.is_ascii_graphic() || c == '/' || c == ',') {
        return Err(SigningError::new(
            SigningErrorKind::InvalidScope,
            format!("the {what} of a credential scope must be non-empty visible ASCII without `/` and `,`"),
        ));
    }
    Ok(())
}
