//! Test support for the `fgs` workspace: [`LocalFunctionGraph`], a small
//! in-process stand-in for the FunctionGraph invoke API.
//!
//! The server speaks HTTP/1.1 (with keep-alive) on `127.0.0.1` and an
//! ephemeral port, and never binds any other address. Functions are plain
//! synchronous closures from [`Invocation`] to [`Outcome`]; every request is
//! recorded before it is handled, and canned responses can be queued to
//! exercise error paths.
//!
//! # Example
//!
//! ```
//! use fgs_tests::{LocalFunctionGraph, Outcome};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let server = LocalFunctionGraph::start().await?;
//! server.register("default", "hello", |invocation| Outcome::Return {
//!     result: json!({ "hello": invocation.event["name"] }),
//!     log: vec![format!("running version {}", invocation.version)],
//! });
//! server.register_version("default", "hello", "v1", |_| Outcome::ok(json!("from v1")));
//! server.register_alias("default", "hello", "prod", "v1");
//!
//! // Point a client at `server.endpoint()`, authenticate with
//! // `X-Auth-Token: local-test-token` and invoke e.g. this URN:
//! let urn = server.urn("default", "hello", Some("!prod"));
//! assert_eq!(
//!     urn,
//!     "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:!prod"
//! );
//! assert!(server.endpoint().starts_with("http://127.0.0.1:"));
//!
//! // Make the next request fail as a proxy would.
//! server.respond_next(502, vec![("Content-Type".into(), "text/html".into())], "<html>Bad Gateway</html>");
//! assert_eq!(server.request_count(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Routes
//!
//! | request | handling |
//! |---------|----------|
//! | `POST /v2/{project_id}/fgs/functions/{function_urn}/invocations` | synchronous invocation, body ≤ 6 MiB |
//! | `POST /v2/{project_id}/fgs/functions/{function_urn}/invocations-async` | asynchronous invocation, body ≤ 256 KiB |
//! | anything else | 404 `APIGW.0101` |
//!
//! `{function_urn}` may be percent-encoded (`urn%3Afss%3A...%3A%21prod`) or
//! raw (`urn:fss:...:!prod`). Requests are handled in this order:
//!
//! 1. the request is recorded ([`LocalFunctionGraph::requests`]);
//! 2. a response queued with [`LocalFunctionGraph::respond_next`] is sent
//!    instead of anything below;
//! 3. an unknown route answers 404 `APIGW.0101`;
//! 4. a missing or wrong `X-Auth-Token` answers 401 `APIGW.0301`;
//! 5. a body over the limit answers 413 `FSS.1201` (it is not buffered:
//!    `Content-Length` is checked first and reading stops at the limit);
//! 6. an invalid URN answers 400 `FSS.1309`, a project id in the path that
//!    differs from the URN's 400 `FSS.0400`, an `X-CFF-Request-Version`
//!    other than `v0`/`v1` 400 `FSS.0400`, an invalid
//!    `X-Cff-Instance-Memory` 400 `FSS.1007`;
//! 7. a missing function, version or alias answers 404 `FSS.1051`,
//!    `FSS.1052` or `FSS.1053`;
//! 8. a body that is not JSON answers 400 `FSS.0406` (an empty body is `{}`);
//! 9. the handler runs.
//!
//! Gateway errors (`APIGW.*`) carry `X-Request-Id` and the same id as
//! `request_id` in the body; FunctionGraph errors (`FSS.*`) carry
//! `X-Cff-Request-Id`. Error bodies are JSON
//! (`{"error_code":...,"error_msg":...}`).
//!
//! # Responses
//!
//! A synchronous invocation answers 200 with `X-Cff-Request-Id`,
//! `X-Cff-Invoke-Summary`, `X-CFF-Billing-Duration`,
//! `X-Cff-Response-Version`, `X-Func-Err-Code` (`0`, or `1` when the function
//! raised), `X-Is-Func-Err` and, when the request sent `X-Cff-Log-Type: tail`,
//! `X-Cff-Function-Log` (the base64 log, at most 4096 bytes). With
//! `X-CFF-Request-Version: v1` the body is
//! `{"request_id":...,"result":"<result as a JSON string>","log":...,"status":200}`;
//! otherwise (`v0`) it is the result itself. A raised error's result is
//! `{"errorMessage":...,"errorType":...,"stackTrace":[...]}`.
//!
//! An asynchronous invocation answers 202 `{"request_id":...}` and runs the
//! handler once in the background.

mod handle;
mod server;
mod util;

pub use server::{Invocation, LocalFunctionGraph, Outcome, RecordedRequest};

#[cfg(test)]
mod tests;
