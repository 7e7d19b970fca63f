//! Credentials from the environment variables Huawei's SDKs read.

use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::auth::AuthError;
use async_trait::async_trait;

use crate::auth::credentials::{Credentials, ProvideCredentials};
use crate::auth::federated::FederatedCredentials;

/// Looks up one variable; `None` when it is unset.
pub(crate) type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment as a [`Lookup`]; a value that is not Unicode counts as unset.
pub(crate) fn process_environment() -> Lookup {
    Arc::new(|name: &str| std::env::var(name).ok())
}

/// A variable's value with surrounding whitespace removed; empty counts as unset, as in
/// the official SDKs.
pub(crate) fn non_empty(lookup: &Lookup, name: &str) -> Option<String> {
    lookup(name)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// Credentials from environment variables, as Huawei's SDKs read them:
///
/// | variable | meaning |
/// |---|---|
/// | `HUAWEICLOUD_SDK_AK` | access key id (required) |
/// | `HUAWEICLOUD_SDK_SK` | secret access key (required) |
/// | `HUAWEICLOUD_SDK_SECURITY_TOKEN` | security token of temporary credentials (optional) |
/// | `HUAWEICLOUD_SDK_PROJECT_ID` | project id (optional, see [`project_id`](Self::project_id)) |
///
/// | `HUAWEICLOUD_SDK_IDP_ID` | identity provider of a federated identity (with the next) |
/// | `HUAWEICLOUD_SDK_ID_TOKEN_FILE` | file holding its OIDC ID token |
/// | `HUAWEICLOUD_SDK_IAM_ENDPOINT` | IAM, for a federated identity (default `https://iam.myhuaweicloud.com`) |
///
/// Values are trimmed, and an empty variable counts as unset. The variables are read on
/// every call of [`credentials`](Self::credentials) (a
/// [`CredentialChain`](crate::auth::CredentialChain) reads them once and keeps the result).
///
/// With `HUAWEICLOUD_SDK_IDP_ID` and `HUAWEICLOUD_SDK_ID_TOKEN_FILE` set, the identity is
/// federated, as in the official SDKs (whatever `HUAWEICLOUD_SDK_AK` says): its
/// temporary keys come from IAM ([`federated`](Self::federated), a
/// [`FederatedCredentials`]), and [`provide_credentials`](ProvideCredentials::provide_credentials)
/// returns them, renewed before they expire.
///
/// Not supported: the domain id of global services (`HUAWEICLOUD_SDK_DOMAIN_ID`); it is
/// ignored.
///
/// ```
/// use fgs_core::auth::EnvironmentCredentials;
///
/// // Tests pass their own lookup instead of changing the process environment.
/// let env = EnvironmentCredentials::from_lookup(|name| match name {
///     "HUAWEICLOUD_SDK_AK" => Some("AK-EXAMPLE".to_owned()),
///     "HUAWEICLOUD_SDK_SK" => Some("SK-EXAMPLE".to_owned()),
///     _ => None,
/// });
/// let credentials = env.credentials()?;
/// assert_eq!(credentials.access_key(), "AK-EXAMPLE");
/// assert_eq!(env.project_id(), None);
/// # Ok::<(), fgs_core::auth::AuthError>(())
/// ```
#[derive(Clone)]
pub struct EnvironmentCredentials {
    lookup: Lookup,
    /// The federated identity, once asked for: kept, so that its credentials are renewed
    /// rather than fetched at every call.
    federated: Arc<OnceLock<FederatedCredentials>>,
}

impl fmt::Debug for EnvironmentCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvironmentCredentials").finish_non_exhaustive()
    }
}

impl Default for EnvironmentCredentials {
    fn default() -> Self {
        Self::new()
    }
}

impl EnvironmentCredentials {
    /// The access key id variable.
    pub const ACCESS_KEY_VAR: &'static str = crate::config::ACCESS_KEY;
    /// The secret access key variable.
    pub const SECRET_KEY_VAR: &'static str = crate::config::SECRET_KEY;
    /// The security token variable (temporary credentials).
    pub const SECURITY_TOKEN_VAR: &'static str = crate::config::SECURITY_TOKEN;
    /// The project id variable.
    pub const PROJECT_ID_VAR: &'static str = crate::config::PROJECT_ID;
    /// The identity provider variable of a federated identity.
    pub const IDP_ID_VAR: &'static str = crate::config::IDP_ID;
    /// The ID token file variable of a federated identity.
    pub const ID_TOKEN_FILE_VAR: &'static str = crate::config::ID_TOKEN_FILE;

    /// Reads the process environment.
    pub fn new() -> Self {
        Self::from_shared_lookup(process_environment())
    }

    /// Reads variables through `lookup` (`None`: unset) instead of the process
    /// environment, for tests.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self::from_shared_lookup(Arc::new(lookup))
    }

    pub(crate) fn from_shared_lookup(lookup: Lookup) -> Self {
        EnvironmentCredentials {
            lookup,
            federated: Arc::default(),
        }
    }

    /// The federated identity the variables name (`HUAWEICLOUD_SDK_IDP_ID` with
    /// `HUAWEICLOUD_SDK_ID_TOKEN_FILE`, exchanged at `HUAWEICLOUD_SDK_IAM_ENDPOINT`), if
    /// they name one; the same one (sharing its cache) on every call once found. Fails
    /// ([`Missing`](crate::auth::AuthErrorKind::Missing)) when only one of the two is set.
    pub fn federated(&self) -> Result<Option<FederatedCredentials>, AuthError> {
        if let Some(federated) = self.federated.get() {
            return Ok(Some(federated.clone()));
        }
        let idp_id = non_empty(&self.lookup, Self::IDP_ID_VAR);
        let file = non_empty(&self.lookup, Self::ID_TOKEN_FILE_VAR);
        let (idp_id, file) = match (idp_id, file) {
            (Some(idp_id), Some(file)) => (idp_id, file),
            (None, None) => return Ok(None),
            (Some(_), None) => {
                return Err(AuthError::missing(format!(
                    "{} is not set (but {} is)",
                    Self::ID_TOKEN_FILE_VAR,
                    Self::IDP_ID_VAR
                )));
            }
            (None, Some(_)) => {
                return Err(AuthError::missing(format!(
                    "{} is not set (but {} is)",
                    Self::IDP_ID_VAR,
                    Self::ID_TOKEN_FILE_VAR
                )));
            }
        };
        let mut federated = FederatedCredentials::new(idp_id, file);
        if let Some(iam) = non_empty(&self.lookup, crate::config::IAM_ENDPOINT) {
            federated = federated.with_iam_endpoint_from(&iam, crate::config::IAM_ENDPOINT);
        }
        // Another caller may have stored one first: that one is used.
        Ok(Some(self.federated.get_or_init(|| federated).clone()))
    }

    /// The credentials the variables hold now.
    ///
    /// With `HUAWEICLOUD_SDK_SECURITY_TOKEN` set they are temporary credentials (without a
    /// known expiry). Fails with [`AuthErrorKind::Missing`](crate::auth::AuthErrorKind)
    /// naming the unset variables when the access key id or the secret key is missing.
    pub fn credentials(&self) -> Result<Credentials, AuthError> {
        let access_key = non_empty(&self.lookup, Self::ACCESS_KEY_VAR);
        let secret_key = non_empty(&self.lookup, Self::SECRET_KEY_VAR);
        let (access_key, secret_key) = match (access_key, secret_key) {
            (Some(access_key), Some(secret_key)) => (access_key, secret_key),
            (None, None) => {
                return Err(AuthError::missing(format!(
                    "{} and {} are not set",
                    Self::ACCESS_KEY_VAR,
                    Self::SECRET_KEY_VAR
                )));
            }
            (None, Some(_)) => {
                return Err(AuthError::missing(format!(
                    "{} is not set (but {} is)",
                    Self::ACCESS_KEY_VAR,
                    Self::SECRET_KEY_VAR
                )));
            }
            (Some(_), None) => {
                return Err(AuthError::missing(format!(
                    "{} is not set (but {} is)",
                    Self::SECRET_KEY_VAR,
                    Self::ACCESS_KEY_VAR
                )));
            }
        };
        Ok(match non_empty(&self.lookup, Self::SECURITY_TOKEN_VAR) {
            Some(token) => Credentials::temporary(access_key, secret_key, token, None),
            None => Credentials::new(access_key, secret_key),
        })
    }

    /// The project id from `HUAWEICLOUD_SDK_PROJECT_ID`, if set.
    pub fn project_id(&self) -> Option<String> {
        non_empty(&self.lookup, Self::PROJECT_ID_VAR)
    }
}

#[async_trait]
impl ProvideCredentials for EnvironmentCredentials {
    /// The federated identity's credentials if the variables name one, else
    /// [`credentials`](Self::credentials).
    async fn provide_credentials(&self) -> Result<Credentials, AuthError> {
        match self.federated()? {
            Some(federated) => federated.provide_credentials().await,
            None => self.credentials(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::auth::AuthErrorKind;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> EnvironmentCredentials {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        EnvironmentCredentials::from_lookup(move |name| vars.get(name).cloned())
    }

    #[test]
    fn permanent_keys() {
        let env = env(&[("HUAWEICLOUD_SDK_AK", "AK1"), ("HUAWEICLOUD_SDK_SK", "SK1")]);
        let credentials = env.credentials().unwrap();
        assert_eq!(credentials.access_key(), "AK1");
        assert_eq!(credentials.secret_key().expose(), "SK1");
        assert!(credentials.security_token().is_none());
        assert!(credentials.expires_at().is_none());
        assert_eq!(env.project_id(), None);
    }

    #[test]
    fn temporary_keys_and_project_id() {
        let env = env(&[
            ("HUAWEICLOUD_SDK_AK", " AK2\n"),
            ("HUAWEICLOUD_SDK_SK", "SK2"),
            ("HUAWEICLOUD_SDK_SECURITY_TOKEN", "TOKEN2"),
            ("HUAWEICLOUD_SDK_PROJECT_ID", "0123456789abcdef0123456789abcdef"),
        ]);
        let credentials = env.credentials().unwrap();
        assert_eq!(credentials.access_key(), "AK2", "values are trimmed");
        assert_eq!(credentials.security_token().map(|t| t.expose()), Some("TOKEN2"));
        assert_eq!(env.project_id().as_deref(), Some("0123456789abcdef0123456789abcdef"));
    }

    #[test]
    fn empty_security_token_means_permanent_keys() {
        let env = env(&[
            ("HUAWEICLOUD_SDK_AK", "AK"),
            ("HUAWEICLOUD_SDK_SK", "SK"),
            ("HUAWEICLOUD_SDK_SECURITY_TOKEN", ""),
            ("HUAWEICLOUD_SDK_PROJECT_ID", "  "),
        ]);
        assert!(env.credentials().unwrap().security_token().is_none());
        assert_eq!(env.project_id(), None);
    }

    #[test]
    fn missing_variables_are_named_and_values_never_printed() {
        let err = env(&[]).credentials().unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Missing);
        assert_eq!(err.to_string(), "HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are not set");

        let err = env(&[("HUAWEICLOUD_SDK_AK", "AK-VALUE")]).credentials().unwrap_err();
        assert_eq!(
            err.to_string(),
            "HUAWEICLOUD_SDK_SK is not set (but HUAWEICLOUD_SDK_AK is)"
        );

        let err = env(&[("HUAWEICLOUD_SDK_SK", "SK-VALUE"), ("HUAWEICLOUD_SDK_AK", "")])
            .credentials()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "HUAWEICLOUD_SDK_AK is not set (but HUAWEICLOUD_SDK_SK is)"
        );
        assert!(!err.to_string().contains("SK-VALUE"));
    }

    #[tokio::test]
    async fn provides_credentials() {
        let env = env(&[("HUAWEICLOUD_SDK_AK", "AK"), ("HUAWEICLOUD_SDK_SK", "SK")]);
        assert_eq!(env.provide_credentials().await.unwrap().access_key(), "AK");
        assert_eq!(format!("{env:?}"), "EnvironmentCredentials { .. }");
    }
}
