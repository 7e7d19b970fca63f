//! Credentials from the environment variables Huawei's SDKs read.

use std::fmt;
use std::sync::Arc;

use crate::auth::AuthError;
use async_trait::async_trait;

use crate::auth::credentials::{Credentials, ProvideCredentials};

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
/// Values are trimmed, and an empty variable counts as unset. The variables are read on
/// every call of [`credentials`](Self::credentials) (a
/// [`CredentialChain`](crate::auth::CredentialChain) reads them once and keeps the result).
///
/// Not supported: federated identities (`HUAWEICLOUD_SDK_IDP_ID` with
/// `HUAWEICLOUD_SDK_ID_TOKEN_FILE`) and the domain id of global services
/// (`HUAWEICLOUD_SDK_DOMAIN_ID`); they are ignored.
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

    /// Reads the process environment.
    pub fn new() -> Self {
        EnvironmentCredentials {
            lookup: process_environment(),
        }
    }

    /// Reads variables through `lookup` (`None`: unset) instead of the process
    /// environment, for tests.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self::from_shared_lookup(Arc::new(lookup))
    }

    pub(crate) fn from_shared_lookup(lookup: Lookup) -> Self {
        EnvironmentCredentials { lookup }
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
    async fn provide_credentials(&self) -> Result<Credentials, AuthError> {
        self.credentials()
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
