//! Access keys, and the trait of everything that supplies them.

use std::fmt;
use std::time::SystemTime;

use crate::auth::{AuthError, Secret};
use async_trait::async_trait;

/// An access key pair, optionally temporary (with a security token and an expiry).
///
/// `Debug` shows the access key id only; the secret key and security token are
/// [`Secret`]s, zeroed when dropped.
#[derive(Clone)]
pub struct Credentials {
    access_key: String,
    secret_key: Secret,
    security_token: Option<Secret>,
    expires_at: Option<SystemTime>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key)
            .field("security_token", &self.security_token)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Credentials {
    /// A permanent key pair.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<Secret>) -> Self {
        Credentials {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            security_token: None,
            expires_at: None,
        }
    }

    /// A temporary key pair: requests also carry `X-Security-Token`.
    pub fn temporary(
        access_key: impl Into<String>,
        secret_key: impl Into<Secret>,
        security_token: impl Into<Secret>,
        expires_at: Option<SystemTime>,
    ) -> Self {
        Credentials {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            security_token: Some(security_token.into()),
            expires_at,
        }
    }

    /// The access key id (not secret).
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The secret key.
    pub fn secret_key(&self) -> &Secret {
        &self.secret_key
    }

    /// The security token of temporary credentials.
    pub fn security_token(&self) -> Option<&Secret> {
        self.security_token.as_ref()
    }

    /// When temporary credentials stop working.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// Whether `other` holds the same key pair (the secret compared in constant time).
    pub(crate) fn same_keys(&self, other: &Credentials) -> bool {
        self.access_key == other.access_key && self.secret_key == other.secret_key
    }
}

/// Supplies credentials; called before every signed request, so implementations cache.
#[async_trait]
pub trait ProvideCredentials: Send + Sync + fmt::Debug {
    /// Current credentials.
    async fn provide_credentials(&self) -> Result<Credentials, AuthError>;
}

#[async_trait]
impl ProvideCredentials for Credentials {
    async fn provide_credentials(&self) -> Result<Credentials, AuthError> {
        Ok(self.clone())
    }
}
