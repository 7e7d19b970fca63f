//! Credentials for **fgs**, the FunctionGraph SDK: implementations of
//! [`fgs_core::auth::Auth`] that work with any transport.
//!
//! - [`AkSkAuth`]: AK/SK request signing (`SDK-HMAC-SHA256`), byte-identical to Huawei's
//!   official signers, with permanent or temporary (security-token) credentials.
//! - [`IamTokenAuth`]: an IAM token obtained from `POST /v3/auth/tokens`, cached, renewed
//!   ahead of expiry in the background (no caller holding a valid token waits), backing off
//!   after a failed renewal, and renewed once more when the service says it expired.
//! - [`CredentialChain`]: credentials found the way Huawei's SDKs find them: explicit
//!   values, environment variables, the shared credentials file, ECS/CCE metadata.
//!
//! ```no_run
//! use fgs_auth::{AkSkAuth, Credentials};
//!
//! # fn demo() -> Result<(), fgs_core::Error> {
//! let client = fgs_core::Client::builder()
//!     .region("cn-north-4")
//!     .auth(AkSkAuth::new(Credentials::new("AK...", "SK...")))
//!     .build()?;
//! # Ok(()) }
//! ```

mod aksk;
mod clock;
mod credentials;
mod iam;
mod renew;

pub use aksk::AkSkAuth;
pub use clock::{Clock, ManualClock, SystemClock};
pub use credentials::{Credentials, ProvideCredentials};
pub use iam::{DEFAULT_REFRESH_WINDOW, IamTokenAuth, IamTokenAuthBuilder};

mod chain;
mod environment;
mod metadata;
mod profile;

pub use chain::{CredentialChain, CredentialSource};
pub use environment::EnvironmentCredentials;
pub use metadata::MetadataCredentials;
pub use profile::ProfileCredentials;
