//! A local Huawei Cloud FunctionGraph that speaks the real invoke protocol, for tests,
//! examples and your own integration suites.
//!
//! The emulator is a real HTTP/1.1 server on 127.0.0.1 (HTTPS with
//! [`EmulatorBuilder::tls`] and a [`TlsIdentity`], e.g. a self-signed one). It serves
//!
//! - `POST /v2/{project_id}/fgs/functions/{function_urn}/invocations` (synchronous: v1 JSON
//!   envelope or v0 raw body, log tail, invoke summary, function-error headers) and
//!   `.../invocations-async` (202 and a request id; the run continues in the background),
//!   with the URN percent-encoded (as the Python SDK sends it) or raw (Go, Node);
//! - `POST /v3/auth/tokens`, a minimal IAM issuing project-scoped tokens
//!   (`X-Subject-Token`, 201) with a configurable lifetime;
//! - `GET /v3/projects?name={region}`, IAM's project lookup that the official SDKs make
//!   when given AK/SK and a region but no project id (by default the region's project,
//!   whose id is the emulator's project id; see
//!   [`EmulatorBuilder::iam_project`]);
//! - the credential services of workloads, issuing temporary keys that invokes accept
//!   (with a configurable lifetime, [`EmulatorBuilder::temporary_credentials_lifetime`]):
//!   IAM's federation (`POST /v3.0/OS-AUTH/id-token/tokens` with `X-Idp-Id`, then
//!   `POST /v3.0/OS-CREDENTIAL/securitytokens`; [`EmulatorBuilder::federated_identity`]),
//!   STS's `POST /v5/agencies/assume-with-oidc` ([`EmulatorBuilder::oidc_agency`]), a
//!   CCE pod identity endpoint ([`EmulatorBuilder::pod_identity`]), and the ECS metadata
//!   service ([`EmulatorBuilder::metadata_credentials`]);
//! - the gateway's 404 `APIGW.0101` for anything else.
//!
//! Authentication is on by default, as on the service: an `X-Auth-Token` the emulator
//! issued or was given (an expired one gets 401 `APIGW.0307`), or an `SDK-HMAC-SHA256`
//! signature by a configured key pair (a bad signature gets 401 `APIGW.0301`, a clock
//! 15 minutes off `APIGW.0303`), verified with the same canonicalisation (`fgs-signing`)
//! the SDK signs with.
//!
//! Functions are async Rust closures or external commands, with versions, aliases, a
//! timeout, a memory size and a concurrency limit. Faults (latency, forced errors, dropped
//! connections, slow or truncated bodies) can be injected per function or per request,
//! some or all of the time, and the most recent requests and runs are recorded for
//! inspection.
//!
//! The emulator can be left running: it keeps a bounded window of records (by default the
//! last 1,000 requests and 1,000 runs, and at most 64 MiB of bodies, events and logs in
//! each window), prunes expired tokens,
//! times out slow clients (30 s for a request's head or body; idle kept-alive connections
//! close after 30 s), serves at most 1,024 connections at once, draws ids, tokens and keys
//! from the OS random number generator, and compares secrets in constant time.
//!
//! ```
//! use fgs_emulator::{Emulator, Function, FunctionError, Handler};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let hello = Handler::from_fn(|event, ctx| async move {
//!     ctx.log("saying hello");
//!     match event["name"].as_str() {
//!         Some(name) => Ok(serde_json::json!({ "message": format!("Hello, {name}!") })),
//!         None => Err(FunctionError::new("ValueError", "name is required")),
//!     }
//! });
//! let emulator = Emulator::builder()
//!     .token("local-token")
//!     .access_key("AK-LOCAL", "SK-LOCAL")
//!     .function(Function::new("default", "hello", hello))
//!     .start()
//!     .await?;
//! // Point a client at `emulator.endpoint()` and invoke `emulator.urn("default", "hello", None)`.
//! # emulator.shutdown().await;
//! # Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
pub mod cli;
mod codes;
mod command;
mod fault;
mod federation;
mod function;
mod handle;
mod headers;
mod iam;
mod ids;
mod invoke;
mod local_state;
mod record;
mod reply;
mod server;
mod state;
mod time;
mod tls;

pub use fault::{Fault, FaultRule};
pub use function::{Context, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, Function, FunctionError, Handler, MEMORY_SIZES_MB};
pub use local_state::{LocalState, LocalStateError};
pub use record::{InvocationRecord, InvokeMode, RecordedRequest, RunOutcome};
pub use server::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_PROJECT_ID,
    DEFAULT_RECORD_BODY_LIMIT, DEFAULT_RECORD_LIMIT, DEFAULT_RECORD_MEMORY_LIMIT, DEFAULT_REGION,
    DEFAULT_TOKEN_LIFETIME, Emulator, EmulatorBuilder, MAX_DURATION,
};
pub use tls::{LOCALHOST_NAMES, TlsIdentity, TlsSetupError};
