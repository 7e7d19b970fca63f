#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test
//! `fgs local --tls` as a developer runs it: HTTPS on 127.0.0.1 with a certificate made for
//! the run, written where only its owner can read it, and a banner that says how to trust
//! it. Clients that trust it invoke; `fgs invoke` without it fails the handshake and sends
//! nothing. Every `fgs` runs with an empty environment, like the other CLI tests.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fgs::auth::StaticToken;
use fgs::network::Certificate;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};

const FGS: &str = env!("CARGO_BIN_EXE_fgs");
const TOKEN: &str = "local-tls-token";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";
/// No run may take this long.
const RUN_LIMIT: Duration = Duration::from_secs(60);

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fgs-cli-tls").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `fgs ARGS` with an empty environment but for `env`.
fn fgs(args: &[&str], env: &[(&str, &str)], home: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(FGS);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        // Project-id discovery never leaves the machine.
        .env("HUAWEICLOUD_SDK_IAM_ENDPOINT", "http://127.0.0.1:9")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

async fn invoke(endpoint: &str, env: &[(&str, &str)], home: &Path) -> (i32, String, String) {
    let mut args = vec![
        "invoke",
        "default/echo",
        "--region",
        "cn-north-4",
        "--project-id",
        PROJECT,
        "--data",
        r#"{"via":"tls"}"#,
        "--endpoint",
    ];
    args.push(endpoint);
    let output = tokio::time::timeout(RUN_LIMIT, fgs(&args, env, home).output())
        .await
        .expect("fgs invoke finished in time")
        .unwrap();
    (
        output.status.code().expect("exited"),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn local_tls_serves_https_with_a_certificate_only_its_owner_reads() {
    let home = scratch("home");
    let runtime_dir = scratch("runtime");
    let runtime = runtime_dir.to_str().unwrap();
    let mut local = fgs(
        &[
            "local",
            "--tls",
            "--port",
            "0",
            "--function",
            "default/echo=cat",
            "--token",
            TOKEN,
        ],
        &[("XDG_RUNTIME_DIR", runtime)],
        &home,
    )
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(local.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    loop {
        let line = tokio::time::timeout(RUN_LIMIT, lines.next_line())
            .await
            .expect("the banner in time")
            .unwrap()
            .expect("the banner ends with Press Ctrl-C");
        let done = line.starts_with("Press Ctrl-C");
        banner.push(line);
        if done {
            break;
        }
    }
    let banner = banner.join("\n");
    let endpoint = banner
        .lines()
        .next()
        .and_then(|first| first.strip_prefix("fgs-emulator listening on "))
        .unwrap_or_else(|| panic!("{banner}"))
        .to_owned();
    assert!(endpoint.starts_with("https://127.0.0.1:"), "{banner}");
    let certificate = banner
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("certificate "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no certificate line: {banner}"));
    assert!(
        certificate.starts_with(runtime_dir.join("fgs")),
        "{}",
        certificate.display()
    );
    let ca_file = certificate.to_str().unwrap();
    // How to trust it, with the variable name `from_env` reads and the builder call.
    assert!(
        banner.contains(&format!("HUAWEICLOUD_SDK_CA_FILE={ca_file}")),
        "{banner}"
    );
    assert!(banner.contains("add_root_certificate"), "{banner}");
    assert!(banner.contains(&format!("curl --cacert {ca_file}")), "{banner}");
    #[cfg(unix)]
    {
        assert_eq!(mode(&certificate), 0o600, "the certificate file is the owner's only");
        assert_eq!(mode(certificate.parent().unwrap()), 0o700);
    }

    // A client trusting the file's certificate invokes.
    let mut builder = fgs::Client::builder()
        .endpoint_url(&endpoint)
        .auth(StaticToken::new(TOKEN));
    for root in Certificate::from_pem_file(&certificate).unwrap() {
        builder = builder.add_root_certificate(root);
    }
    let client = builder.build().unwrap();
    let urn = format!("urn:fss:cn-north-4:{PROJECT}:function:default:echo:latest");
    let output = client
        .invoke(urn.as_str())
        .json(&serde_json::json!({"via": "sdk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(output.result_str().unwrap(), r#"{"via":"sdk"}"#);

    // `fgs invoke` without the certificate: the handshake fails, nothing is sent.
    let (code, stdout, stderr) = invoke(&endpoint, &[("HUAWEICLOUD_SDK_IAM_TOKEN", TOKEN)], &home).await;
    assert_eq!(code, 5, "{stdout}\n{stderr}");
    assert!(stderr.contains("TLS handshake failed"), "{stderr}");
    assert!(stderr.contains("the request was not sent"), "{stderr}");
    // With it, through the environment variable the banner names.
    let (code, stdout, stderr) = invoke(
        &endpoint,
        &[
            ("HUAWEICLOUD_SDK_IAM_TOKEN", TOKEN),
            ("HUAWEICLOUD_SDK_CA_FILE", ca_file),
        ],
        &home,
    )
    .await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(stdout, "{\n  \"via\": \"tls\"\n}\n");

    // Ctrl-C stops it and removes the certificate: it was for this run only.
    let pid = local.id().expect("still running").to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(RUN_LIMIT, local.wait())
        .await
        .expect("fgs local stops on SIGINT")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let mut stderr = String::new();
    local.stderr.take().unwrap().read_to_string(&mut stderr).await.unwrap();
    assert!(stderr.contains("stopping"), "{stderr}");
    assert!(!certificate.exists(), "the certificate file is removed on exit");
}
