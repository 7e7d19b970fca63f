//! What `#[fgs_function]` stubs expand to call. Not a public API: the expansion refers to
//! it through `fgs::__private`, and it changes with the macro.
//!
//! Keeping the logic here (rather than in the expansion) keeps expansions small and lets
//! this code be tested like any other.
//!
//! # The macro and this module move together
//!
//! Expansions build [`Spec`] and [`Target`] by struct literal and call the functions here
//! by name, so this module and `fgs-macros` are one unit split over two crates: any
//! change to one may need the other, and no semver promise covers the pair. The facade
//! `fgs` therefore requires both **exactly** (`fgs-macros = "=x.y.z"` and
//! `fgs-core = "=x.y.z"`, checked by `crates/fgs/tests/pinned_versions.rs`), and all three
//! are released with one version. Code that uses the macros depends on `fgs` only, so it
//! always gets the runtime its expansions were written for. Never depend on this module
//! from anywhere but an expansion.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use fgs_urn::FunctionRef;

use crate::error::Error;
use crate::{Client, FunctionTarget, FunctionUrn, InstanceMemory, InvokeOutput, ResponseVersion};

/// Which function a stub calls.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// A full URN, checked at compile time.
    Urn(&'static str),
    /// A [`FunctionRef`] (`package/name[:version|:!alias]`, checked at compile time), in
    /// the client's region and project.
    Function(&'static str),
}

/// A stub's settings, built as a constant by the expansion.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The function.
    pub target: Target,
    /// `log = true`.
    pub log_tail: bool,
    /// `response_version = "v0"`.
    pub response_version: Option<&'static str>,
    /// `memory = 512`, as the header value.
    pub memory: Option<&'static str>,
    /// `timeout = "30s"`.
    pub timeout: Option<Duration>,
    /// `idempotent`.
    pub idempotent: bool,
}

impl Spec {
    /// The function this stub calls; a [`Target::Function`] is completed with the
    /// client's region and project when the call is sent.
    pub fn function(&self) -> Result<FunctionTarget, Error> {
        Ok(match self.target {
            Target::Urn(urn) => FunctionTarget::Urn(FunctionUrn::parse(urn)?),
            Target::Function(function) => FunctionTarget::Ref(FunctionRef::parse(function)?),
        })
    }
}

/// Invokes the stub's function with `input` (`None` sends `{}`) and returns the raw
/// output.
pub async fn invoke<I: Serialize + ?Sized>(
    client: &Client,
    spec: &Spec,
    input: Option<&I>,
) -> Result<InvokeOutput, Error> {
    let mut call = client
        .invoke(spec.function()?)
        .log_tail(spec.log_tail)
        .idempotent(spec.idempotent);
    if let Some(input) = input {
        call = call.json(input);
    }
    if let Some(version) = spec.response_version {
        call = call.response_version(ResponseVersion::from(version));
    }
    if let Some(memory) = spec.memory {
        call = call.memory(InstanceMemory::from(memory));
    }
    if let Some(timeout) = spec.timeout {
        call = call.timeout(timeout);
    }
    call.send().await
}

/// `output = "json"` (the default): the result decoded into `O`, a raised error as
/// [`Error::Function`].
pub async fn call_json<I: Serialize + ?Sized, O: DeserializeOwned>(
    client: &Client,
    spec: &Spec,
    input: Option<&I>,
) -> Result<O, Error> {
    invoke(client, spec, input).await?.into_result()
}

/// `output = "api_gateway"`: the `{statusCode, isBase64Encoded, body, headers}` result,
/// `body` decoded into `O`, a non-2xx status as [`Error::FunctionStatus`].
pub async fn call_api_gateway<I: Serialize + ?Sized, O: DeserializeOwned>(
    client: &Client,
    spec: &Spec,
    input: Option<&I>,
) -> Result<O, Error> {
    invoke(client, spec, input).await?.into_api_gateway_result()
}

/// Fails compilation (when used in a constant) if `value` is not one of `allowed`: the
/// expansion checks option values against the lists generated from the spec.
// A panic in const evaluation is a compile error, which is the point; the expansion only
// calls this in `const _: () = ...`.
#[allow(clippy::panic)]
pub const fn assert_one_of(allowed: &[&str], value: &str, message: &str) {
    let mut i = 0;
    while i < allowed.len() {
        if bytes_equal(allowed[i].as_bytes(), value.as_bytes()) {
            return;
        }
        i += 1;
    }
    panic!("{}", message);
}

const fn bytes_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(region: Option<&str>, project: Option<&str>) -> Client {
        let mut builder = Client::builder()
            .endpoint_url("http://127.0.0.1:9")
            .auth(crate::auth::StaticToken::new("t"));
        if let Some(region) = region {
            builder = builder.region(region);
        }
        if let Some(project) = project {
            builder = builder.project_id(project);
        }
        builder.build().unwrap()
    }

    fn spec(target: Target) -> Spec {
        Spec {
            target,
            log_tail: false,
            response_version: None,
            memory: None,
            timeout: None,
            idempotent: false,
        }
    }

    const PROJECT: &str = "0123456789abcdef0123456789abcdef";

    #[tokio::test]
    async fn resolves_functions_against_the_client() {
        let target = spec(Target::Function("default/hello:!prod")).function().unwrap();
        let clock = crate::client::Deadline::starting_now(Duration::from_secs(5));
        let urn = client(Some("ap-southeast-1"), Some(PROJECT))
            .resolve_function(&target, &clock)
            .await
            .unwrap();
        assert_eq!(
            urn.as_str(),
            format!("urn:fss:ap-southeast-1:{PROJECT}:function:default:hello:!prod")
        );

        let err = client(Some("ap-southeast-1"), None)
            .resolve_function(&target, &clock)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert!(err.to_string().contains("no project id"), "{err}");
        let err = client(None, Some(PROJECT))
            .resolve_function(&target, &clock)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("default/hello:!prod"), "{err}");
        assert!(err.to_string().contains("has none"), "{err}");
    }

    #[test]
    fn pinned_urns_parse() {
        let urn = "urn:fss:cn-north-4:abc:function:default:hello:latest";
        assert_eq!(spec(Target::Urn(urn)).function().unwrap().to_string(), urn);
    }

    #[test]
    fn option_values_are_checked_against_the_spec_lists() {
        assert_one_of(InstanceMemory::VALUES, "512", "memory");
        assert_one_of(ResponseVersion::VALUES, "v0", "response_version");
        assert!(std::panic::catch_unwind(|| assert_one_of(InstanceMemory::VALUES, "500", "memory")).is_err());
    }
}
