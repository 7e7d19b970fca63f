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
//! - `reqwest` (default): the default transport, reqwest.
//! - `hyper`: the hyper 1.x transport (`transport::HyperTransport`), which does the same
//!   work with about half the instructions per call. Without `reqwest` it is the default
//!   transport; with both, pass it to [`ClientBuilder::transport`]. With neither, pass your
//!   own [`Transport`](transport::Transport).
//! - `rustls-aws-lc` (default), `rustls-ring`, `native-tls`: the TLS stack of either
//!   transport (see [`network`]).
//! - `auth` (default): AK/SK signing, IAM tokens that renew themselves, the credential
//!   chain (in [`auth`]) and [`Client::from_env`].
//! - `macros` (default): [`fgs_function`] and [`fgs_functions`].
//! - `blocking`: [`blocking::Client`], for programs without an async runtime.
//! - `test-util`: test doubles for code that uses the client.

#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(inline)]
pub use fgs_core::*;

/// `package/name[:version|:!alias]`: a function without its region and project, which
/// [`FunctionRef::resolve`] completes into a [`FunctionUrn`].
#[doc(inline)]
pub use fgs_urn::FunctionRef;

/// Turns a bodiless `async fn` into a typed call of one FunctionGraph function.
///
/// You write the signature; the macro writes the call. The signature is the whole API:
/// the client first, at most one input (any `Serialize`), and a `Result` whose `Ok` type
/// the function's result is decoded into (any `DeserializeOwned`) and whose error type is
/// `fgs::Error` or any type that is `From<fgs::Error>`.
///
/// ```no_run
/// use fgs::{Client, Error, fgs_function};
/// # #[derive(serde::Serialize)] pub struct HelloIn { pub name: String }
/// # #[derive(serde::Deserialize)] pub struct HelloOut { pub message: String }
///
/// /// Says hello (doc comments carry over).
/// #[fgs_function(urn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest")]
/// pub async fn hello(client: &Client, input: HelloIn) -> Result<HelloOut, Error>;
///
/// /// The same function by name, in the client's region and project, through an alias.
/// #[fgs_function(function = "default/hello", alias = "prod", log, timeout = "30s")]
/// pub async fn hello_prod(client: &Client, input: HelloIn) -> Result<HelloOut, Error>;
///
/// # async fn demo(client: Client) -> Result<(), Error> {
/// let out = hello(&client, HelloIn { name: "fgs".into() }).await?;
/// println!("{}", out.message);
/// # Ok(()) }
/// ```
///
/// # Options
///
/// | option | meaning |
/// |---|---|
/// | `urn = "urn:fss:..."` | the function, checked at compile time (a malformed URN is a compile error naming the wrong part) |
/// | `function = "package/name"` | the function in the client's region and project (set both on the [`ClientBuilder`]), resolved at call time; checked at compile time as a [`FunctionRef`], so `"package/name:v1"` and `"package/name:!prod"` name the qualifier too |
/// | `version = "..."` / `alias = "..."` | the qualifier, with `function` (when it names none) |
/// | `log` | ask for the log tail (see it with `output = "raw"`) |
/// | `response_version = "v0"` | the response format (default `v1`) |
/// | `memory = 512` | instance memory for the call, one of the sizes the service accepts (checked at compile time) |
/// | `timeout = "30s"` | the call's deadline: auth, attempts and waits (`ms`, `s`, `m`) |
/// | `idempotent` | running the function twice is harmless: the only way a retry policy may re-send a call that may have reached the service |
/// | `output = "json"` | (default) the result decoded into the output type; a function that raised is [`Error::Function`] |
/// | `output = "raw"` | return the [`InvokeOutput`] (log, summary, headers); a raised error stays data |
/// | `output = "api_gateway"` | for functions returning `{statusCode, isBase64Encoded, body, headers}`: `body` (Base64 too) decoded into the output type, a non-2xx status is [`Error::FunctionStatus`] |
/// | `crate = "path"` | where the `fgs` crate is, if you re-export it under another name |
///
/// # What it expands to
///
/// The body becomes a constant describing the call and one call into the runtime:
///
/// ```text
/// pub async fn hello(client: &Client, input: HelloIn) -> Result<HelloOut, Error> {
///     const SPEC: ::fgs::__private::stub::Spec = ::fgs::__private::stub::Spec {
///         target: ::fgs::__private::stub::Target::Urn("urn:fss:cn-north-4:...:hello:latest"),
///         log_tail: false, response_version: None, memory: None, timeout: None, idempotent: false,
///     };
///     ::fgs::__private::stub::call_json(client, &SPEC, Some(&input)).await.map_err(Into::into)
/// }
/// ```
///
/// The expansion names only `::fgs::__private` (so your crate needs no serde, http or
/// async-trait dependency for it) and reads no files. On any mistake every error is
/// reported at once and the function is still declared, so nothing else cascades.
#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
#[doc(inline)]
pub use fgs_macros::fgs_function;

/// Turns a trait whose `async fn` methods carry `#[function(...)]` into a typed client:
/// the trait (made object-safe with async-trait, `Send + Sync`) plus `{Trait}Client`,
/// which implements it by invoking the functions. Application code depends on the trait;
/// its tests implement it with a fake.
///
/// Each method takes `&self`, at most one input, and returns a `Result`; its
/// `#[function(...)]` takes the options of [`fgs_function`].
///
/// ```no_run
/// use std::sync::Arc;
/// use fgs::{Client, Error, fgs_functions};
/// # #[derive(serde::Serialize)] pub struct HelloIn { pub name: String }
/// # #[derive(serde::Deserialize)] pub struct HelloOut { pub message: String }
///
/// /// The greeting functions.
/// #[fgs_functions]
/// pub trait Greetings {
///     /// Says hello.
///     #[function(function = "default/hello")]
///     async fn hello(&self, input: HelloIn) -> Result<HelloOut, Error>;
/// }
///
/// /// Application code sees only the trait.
/// async fn welcome(greetings: &dyn Greetings) -> Result<String, Error> {
///     Ok(greetings.hello(HelloIn { name: "fgs".into() }).await?.message)
/// }
///
/// # async fn demo(client: Client) -> Result<(), Error> {
/// // In production, the generated client:
/// let greetings: Arc<dyn Greetings> = Arc::new(GreetingsClient::new(client));
/// println!("{}", welcome(greetings.as_ref()).await?);
/// # Ok(()) }
///
/// // In a unit test, a fake: no server, no network.
/// struct FakeGreetings;
///
/// #[fgs::async_trait]
/// impl Greetings for FakeGreetings {
///     async fn hello(&self, input: HelloIn) -> Result<HelloOut, Error> {
///         Ok(HelloOut { message: format!("fake hello, {}", input.name) })
///     }
/// }
/// # async fn test() { assert_eq!(welcome(&FakeGreetings).await.unwrap(), "fake hello, fgs"); }
/// ```
#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
#[doc(inline)]
pub use fgs_macros::fgs_functions;

/// What `#[fgs_function]` expansions refer to. Not a public API.
///
/// Expansions build `stub::Spec` by struct literal, so this crate requires `fgs-macros`
/// and `fgs-core` with exact (`=`) versions: a macro always expands against the stub
/// runtime it was written for (see `fgs_core::stub`).
#[cfg(feature = "macros")]
#[doc(hidden)]
pub mod __private {
    pub use fgs_core::async_trait;
    pub use fgs_core::stub;
    pub use fgs_core::{InstanceMemory, ResponseVersion};
}

/// The README's examples, compiled as doc tests so they cannot rot.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
