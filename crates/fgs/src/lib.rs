//! **fgs**: the Rust SDK for invoking Huawei Cloud FunctionGraph functions.
//!
//! This is the crate to depend on. It re-exports [`fgs_core`] (the client, the generated
//! protocol types, and the transport and auth traits).
//!
//! ```no_run
//! use fgs::{Client, FunctionUrn, auth::StaticToken};
//!
//! # async fn demo() -> Result<(), fgs::Error> {
//! let client = Client::builder()
//!     .region("cn-north-4")
//!     .auth(StaticToken::new(std::env::var("IAM_TOKEN").unwrap_or_default()))
//!     .build()?;
//! let urn: FunctionUrn =
//!     "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest".parse()?;
//! let output = client.invoke(&urn).json(&serde_json::json!({ "name": "fgs" })).send().await?;
//! println!("{}", output.result_str()?);
//! # Ok(()) }
//! ```
//!
//! Features:
//! - `reqwest` (default): the default transport, reqwest with rustls. Without it, pass
//!   your own [`Transport`](transport::Transport) to [`ClientBuilder::transport`].

#[doc(inline)]
pub use fgs_core::*;

pub use fgs_macros::{fgs_function, fgs_functions};

/// What `#[fgs_function]` expansions refer to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use fgs_core::async_trait;
    pub use fgs_core::stub;
    pub use fgs_core::{InstanceMemory, Qualifier, ResponseVersion};
}

/// The README's examples, compiled as doc tests so they cannot rot.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
