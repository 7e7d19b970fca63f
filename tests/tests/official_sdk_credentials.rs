//! Huawei's official Python SDK gets temporary keys from the emulator's credential
//! services with its own providers, configured by the same variables fgs reads, and
//! invokes a function with them: an agency assumed with OIDC through STS
//! (`OidcStsCredentialProvider`), a federated identity exchanged at IAM
//! (`EnvCredentialProvider` with `HUAWEICLOUD_SDK_IDP_ID`), and a CCE pod identity
//! (`PodIdentityCredentialProvider`). So the emulator's endpoints answer what the official
//! SDK expects, independently of fgs's client. Each provider is used on its own, never
//! the SDK's whole chain, whose metadata step would reach for 169.254.169.254.
//!
//! The SDK is the one `crates/fgs-emulator/tests/official_python_sdk.rs` uses, installed
//! the same way (pinned in that crate's `tests/python/requirements.txt`) into cargo's
//! per-target temporary directory, once. Prerequisite: Python 3.8+ with pip; a missing
//! one fails the test unless `FGS_SKIP_PYTHON=1` (then it prints `SKIPPED` and passes).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use fgs_emulator::{Emulator, Function, Handler};
use serde_json::Value;

#[path = "../../crates/fgs-emulator/tests/python/support.rs"]
mod python_support;

const PROVIDER: &str = "iam::0123456789:identity-provider:ci-oidc";
const AGENCY: &str = "iam::0123456789:agency:deployer";
const ID_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.PYTHON-OIDC.signature";
const IDP: &str = "corp-idp";
const FEDERATED_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.PYTHON-FEDERATED.signature";
const POD_TOKEN: &str = "PYTHON-POD-TOKEN";

/// Gets credentials from the provider named by FGS_PROVIDER and invokes FGS_URN with them.
const SCRIPT: &str = r#"
import json, os
from huaweicloudsdkcore.auth import provider
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkfunctiongraph.v2 import FunctionGraphClient, InvokeFunctionRequest

config = HttpConfig.get_default_config()
config.ignore_ssl_verification = True
credentials = getattr(provider, os.environ["FGS_PROVIDER"]).get_basic().get_credentials()
credentials.project_id = os.environ["FGS_PROJECT_ID"]
client = FunctionGraphClient.new_builder().with_http_config(config).with_credentials(credentials) \
    .with_endpoints([os.environ["FGS_ENDPOINT"]]).build()
request = InvokeFunctionRequest(function_urn=os.environ["FGS_URN"], x_cff_request_version="v1", body={"n": 1})
response = client.invoke_function(request)
print(json.dumps({"status": response.status_code, "result": response.result}))
"#;

/// The pinned SDK, installed once (into the emulator's interop test's directory).
fn install_sdk(python: &str) -> PathBuf {
    python_support::install_sdk(
        python,
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/fgs-emulator/tests/python/requirements.txt"),
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("official-python-sdk"),
    )
}

fn token_file(name: &str, contents: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fgs-official-sdk-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("token");
    std::fs::write(&path, contents).unwrap();
    path
}

/// Runs the script with only `vars` (and what Python needs) in its environment.
fn run(python: &str, sdk: &Path, emulator: &Emulator, provider: &str, vars: &[(&str, String)]) -> Value {
    let home = token_file(&format!("{provider}-home"), "").with_file_name("home");
    let output = Command::new(python)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("PYTHONPATH", sdk)
        .env("NO_PROXY", "*")
        .env("FGS_PROVIDER", provider)
        .env("FGS_ENDPOINT", emulator.endpoint())
        .env("FGS_PROJECT_ID", emulator.project_id())
        .env("FGS_URN", emulator.urn("default", "echo", None))
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["-c", SCRIPT])
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{provider}: {stdout}\n{stderr}");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_sdks_providers_get_keys_from_the_emulator_and_invoke() {
    let Some(python) = python_support::python_or_skip("the official SDK credential-provider test") else {
        return;
    };
    let sdk = tokio::task::spawn_blocking({
        let python = python.clone();
        move || install_sdk(&python)
    })
    .await
    .unwrap();
    let emulator = Emulator::builder()
        .oidc_agency(PROVIDER, AGENCY, ID_TOKEN)
        .federated_identity(IDP, FEDERATED_TOKEN)
        .pod_identity(POD_TOKEN)
        .function(Function::new(
            "default",
            "echo",
            Handler::from_fn(|event, _| async move { Ok(event) }),
        ))
        .start()
        .await
        .unwrap();
    let cases = [
        (
            "OidcStsCredentialProvider",
            "/v5/agencies/assume-with-oidc",
            vec![
                ("HUAWEICLOUD_OIDC_PROVIDER_URN", PROVIDER.to_owned()),
                ("HUAWEICLOUD_OIDC_AGENCY_URN", AGENCY.to_owned()),
                (
                    "HUAWEICLOUD_OIDC_TOKEN_FILE",
                    token_file("oidc", ID_TOKEN).display().to_string(),
                ),
                ("HUAWEICLOUD_SDK_STS_ENDPOINT", emulator.endpoint()),
            ],
        ),
        (
            "EnvCredentialProvider",
            "/v3.0/OS-CREDENTIAL/securitytokens",
            vec![
                ("HUAWEICLOUD_SDK_IDP_ID", IDP.to_owned()),
                (
                    "HUAWEICLOUD_SDK_ID_TOKEN_FILE",
                    token_file("federated", FEDERATED_TOKEN).display().to_string(),
                ),
                ("HUAWEICLOUD_SDK_IAM_ENDPOINT", emulator.endpoint()),
            ],
        ),
        (
            "PodIdentityCredentialProvider",
            "/v1/pod-identity/credentials",
            vec![
                ("HC_CONTAINER_CREDENTIALS_FULL_URI", emulator.pod_identity_uri()),
                (
                    "HC_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                    token_file("pod", POD_TOKEN).display().to_string(),
                ),
            ],
        ),
    ];
    for (provider, path, vars) in cases {
        emulator.clear_records();
        let value = {
            let emulator = &emulator;
            tokio::task::block_in_place(|| run(&python, &sdk, emulator, provider, &vars))
        };
        assert_eq!(value["status"], 200, "{provider}: {value}");
        assert_eq!(value["result"], r#"{"n":1}"#, "{provider}: {value}");
        let requests = emulator.requests();
        assert_eq!(
            requests.iter().filter(|r| r.path == path).count(),
            1,
            "{provider}: {requests:?}"
        );
        let invocation = emulator.invocations().pop().expect("an invocation");
        let authorization = invocation.headers["authorization"].to_str().unwrap();
        assert!(
            authorization.starts_with("SDK-HMAC-SHA256 Access=TMPAK"),
            "{provider}: {authorization}"
        );
        assert!(invocation.headers.contains_key("x-security-token"), "{provider}");
    }
}
