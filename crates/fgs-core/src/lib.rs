//! The core of **fgs**, the Rust SDK for Huawei Cloud FunctionGraph: the client, the
//! generated protocol types, and the [`Transport`](transport::Transport) and
//! [`Auth`](auth::Auth) traits that let you bring your own HTTP stack and credentials.
//!
//! Most programs depend on the `fgs` facade crate, which re-exports this one.
//!
//! ```no_run
//! use fgs_core::{Client, FunctionUrn, auth::StaticToken};
//!
//! # async fn demo() -> Result<(), fgs_core::Error> {
//! let client = Client::builder()
//!     .region("cn-north-4")
//!     .auth(StaticToken::new(std::env::var("IAM_TOKEN").unwrap_or_default()))
//!     .build()?;
//! let urn: FunctionUrn =
//!     "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest".parse()?;
//! let output = client
//!     .invoke(&urn)
//!     .json(&serde_json::json!({ "name": "fgs" }))
//!     .log_tail(true)
//!     .send()
//!     .await?;
//! if let Some(error) = output.function_error()? {
//!     eprintln!("the function raised {:?}: {:?}", error.error_type, error.error_message);
//! } else {
//!     let greeting: serde_json::Value = output.result_json()?;
//!     println!("{greeting} in {:?} ms", output.summary().and_then(|s| s.duration));
//! }
//! # Ok(()) }
//! ```
//!
//! The generated code lives in [`generated`] and is rebuilt from the API description
//! with `cargo xtask codegen`; everything else here is written by hand.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;
mod client;
pub mod config;
pub mod endpoint;
pub mod error;
mod evidence;
mod execution;
mod fan_out;
mod service_error;
// prettyplease formats the generated files; rustfmt would disagree with it on details.
#[rustfmt::skip]
pub mod generated;
pub mod hooks;
mod invoke;
mod json_text;
pub mod network;
mod project;
pub mod protocol;
pub mod retry;
#[doc(hidden)]
pub mod stub;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;
pub mod transport;

pub use async_trait::async_trait;
pub use bytes;
pub use fgs_urn::{FunctionRef, FunctionUrn, Qualifier, UrnError, UrnErrorKind, UrnPart};
pub use http;

pub use client::{
    Client, ClientBuilder, DEADLINE_MARGIN, DEFAULT_CONNECT_TIMEOUT, DEFAULT_IAM_ENDPOINT, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
};
pub use error::{
    ConfigError, DecodeError, Error, Execution, FunctionHttpStatus, FunctionRaised, InvalidInput, ServiceError,
};
pub use fan_out::invoke_all;
pub use generated::error_codes::ErrorCode;
pub use generated::types::{FunctionError, InstanceMemory, InvokeSummary, LogType, ResponseVersion};
pub use invoke::{
    ApiGatewayResponse, AsyncInvokeOutput, FunctionTarget, IntoFunctionTarget, Invoke, InvokeAsync, InvokeOutput,
    ResponseProblem,
};
