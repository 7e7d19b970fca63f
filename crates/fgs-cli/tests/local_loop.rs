#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test
//! The local loop as a user runs it: `fgs local` in the background, then
//! `fgs invoke --local` with nothing exported. Every process gets an empty environment
//! with its own runtime directory, so each test has its own state file.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fgs_emulator::LocalState;

const FGS: &str = env!("CARGO_BIN_EXE_fgs");
/// No run may take this long.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A fresh runtime directory (mode 0700, as a login session's is) and an empty HOME.
fn runtime_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("fgs-cli-local")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("home")).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

/// `fgs ARGS` with only PATH, HOME and XDG_RUNTIME_DIR set.
fn fgs(runtime: &Path, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(FGS);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", runtime.join("home"))
        .env("XDG_RUNTIME_DIR", runtime)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

async fn run(mut command: tokio::process::Command) -> Run {
    let child = command.spawn().expect("start fgs");
    let output = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .expect("fgs finished in time")
        .unwrap();
    Run {
        code: output.status.code().expect("fgs exited, not killed by a signal"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// A running `fgs local` and the state file it wrote.
struct Local {
    child: tokio::process::Child,
    state_file: PathBuf,
    state: LocalState,
}

impl Local {
    /// Starts `fgs local ARGS` on a free port and waits for its state file.
    async fn start(runtime: &Path, args: &[&str]) -> Local {
        let mut command = fgs(runtime, &["local"]);
        command.args(args).env("FGS_EMULATOR_PORT", "0");
        let child = command.spawn().expect("start fgs local");
        let state_file = runtime.join("fgs").join(LocalState::FILE_NAME);
        let state = tokio::time::timeout(RUN_LIMIT, async {
            loop {
                if let Ok(state) = LocalState::read(&state_file) {
                    return state;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("fgs local wrote its state file in time");
        Local {
            child,
            state_file,
            state,
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("still running").to_string();
        let status = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Stops it with `signal` and returns its stderr.
    async fn stop(mut self, signal: &str) -> (std::process::ExitStatus, PathBuf) {
        self.signal(signal);
        let status = tokio::time::timeout(RUN_LIMIT, self.child.wait())
            .await
            .expect("fgs local stops")
            .unwrap();
        (status, self.state_file)
    }
}

#[tokio::test]
async fn invoke_local_needs_no_exports_against_an_emulator_with_auth() {
    let runtime = runtime_dir("auth");
    let local = Local::start(&runtime, &[]).await;

    // The state file holds credentials: readable by its owner only.
    let mode = std::fs::metadata(&local.state_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let dir_mode = std::fs::metadata(local.state_file.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700, "{dir_mode:o}");
    assert!(!local.state.no_auth);
    assert!(local.state.access_key.is_some() && local.state.secret_key.is_some());

    // The built-in demo, with nothing exported.
    let out = run(fgs(
        &runtime,
        &["invoke", "default/hello", "--local", "--data", r#"{"name":"fgs"}"#],
    ))
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "{\n  \"message\": \"Hello, fgs!\"\n}\n", "{out:?}");
    assert!(out.stderr.contains("request id: "), "{out:?}");

    // Auth is really on: the same call without --local and without credentials is refused.
    let refused = run(fgs(
        &runtime,
        &[
            "invoke",
            "default/hello",
            "--endpoint",
            &local.state.endpoint,
            "--region",
            &local.state.region,
            "--project-id",
            &local.state.project_id,
            "--token",
            "not-a-token-it-knows",
        ],
    ))
    .await;
    assert_eq!(refused.code, 4, "{refused:?}");

    // Keys in the environment are not sent to the emulator: --local reads none.
    let mut with_cloud_keys = fgs(&runtime, &["invoke", "default/hello", "--local"]);
    with_cloud_keys
        .env("HUAWEICLOUD_SDK_AK", "CLOUD-AK")
        .env("HUAWEICLOUD_SDK_SK", "CLOUD-SK")
        .env("HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT", "http://127.0.0.1:9");
    let out = run(with_cloud_keys).await;
    assert_eq!(out.code, 0, "{out:?}");

    let (status, state_file) = local.stop("-INT").await;
    assert!(status.success(), "{status:?}");
    assert!(!state_file.exists(), "the state file is removed on exit");
    let after = run(fgs(&runtime, &["invoke", "default/hello", "--local"])).await;
    assert_eq!(after.code, 2, "{after:?}");
    assert!(after.stderr.contains("no local FunctionGraph is running"), "{after:?}");
    assert!(after.stderr.contains("fgs local"), "{after:?}");
}

#[tokio::test]
async fn invoke_local_needs_no_credentials_against_no_auth() {
    let runtime = runtime_dir("no-auth");
    let local = Local::start(&runtime, &["--no-auth"]).await;
    assert!(local.state.no_auth);
    let out = run(fgs(&runtime, &["invoke", "default/hello", "--local"])).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "{\n  \"message\": \"Hello, world!\"\n}\n", "{out:?}");
    // SIGTERM (a service manager, `kill`) also removes the state file.
    let (status, state_file) = local.stop("-TERM").await;
    assert!(status.success(), "{status:?}");
    assert!(!state_file.exists());
}

#[tokio::test]
async fn versions_and_aliases_from_the_command_line() {
    let runtime = runtime_dir("aliases");
    let local = Local::start(
        &runtime,
        &[
            "--function",
            "default/hello=echo '\"latest\"'",
            "--function",
            "default/hello:v1=echo '\"one\"'",
            "--alias",
            "default/hello:prod=v1",
        ],
    )
    .await;
    for (args, expected) in [
        (&["default/hello"][..], "\"latest\"\n"),
        (&["default/hello:v1"][..], "\"one\"\n"),
        (&["default/hello:!prod"][..], "\"one\"\n"),
        (&["default/hello", "--alias", "prod"][..], "\"one\"\n"),
        (&["default/hello", "--version", "v1"][..], "\"one\"\n"),
    ] {
        let mut command = fgs(&runtime, &["invoke", "--local"]);
        command.args(args);
        let out = run(command).await;
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        assert_eq!(out.stdout, expected, "{args:?}: {out:?}");
    }
    let unknown = run(fgs(&runtime, &["invoke", "--local", "default/hello:!staging"])).await;
    assert_eq!(unknown.code, 4, "an unknown alias is the service's 404: {unknown:?}");
    drop(local);
}

#[tokio::test]
async fn a_stale_state_file_is_a_clear_error_not_a_hang() {
    // The emulator was killed without a chance to clean up.
    let runtime = runtime_dir("stale");
    let local = Local::start(&runtime, &[]).await;
    let pid = local.state.pid;
    let (_, state_file) = local.stop("-KILL").await;
    assert!(state_file.exists(), "SIGKILL leaves the file behind");
    let out = run(fgs(&runtime, &["invoke", "default/hello", "--local"])).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("is not running any more"), "{out:?}");
    assert!(out.stderr.contains(&pid.to_string()), "{out:?}");
    assert!(out.stderr.contains(&state_file.display().to_string()), "{out:?}");

    // A file whose process is alive (this test) but whose port answers nothing: the
    // refused connection is reported with where the address came from.
    let mut state = LocalState::read(&state_file).unwrap();
    state.pid = std::process::id();
    state.endpoint = "http://127.0.0.1:9".into();
    state.write(&state_file).unwrap();
    let out = run(fgs(&runtime, &["invoke", "default/hello", "--local", "--no-retry"])).await;
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.stderr.contains("http://127.0.0.1:9 is where"), "{out:?}");
    assert!(out.stderr.contains("is it still running?"), "{out:?}");

    // A file that is not a state file.
    std::fs::write(&state_file, "not json").unwrap();
    let out = run(fgs(&runtime, &["invoke", "default/hello", "--local"])).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains(&state_file.display().to_string()), "{out:?}");
}

#[tokio::test]
async fn debug_shows_the_span_and_attempts_but_no_secret() {
    let runtime = runtime_dir("debug");
    let local = Local::start(&runtime, &[]).await;
    let secret_key = local.state.secret_key.clone().unwrap();
    let token = local.state.token.clone().unwrap();

    let out = run(fgs(&runtime, &["invoke", "default/hello", "--local", "--debug"])).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("fgs.invoke"), "{out:?}");
    assert!(out.stderr.contains("function=default/hello"), "{out:?}");
    assert!(out.stderr.contains("attempt answered"), "{out:?}");
    assert!(out.stderr.contains("time.busy"), "the span's timing: {out:?}");
    assert_eq!(
        out.stdout, "{\n  \"message\": \"Hello, world!\"\n}\n",
        "stdout keeps only the result"
    );

    // Everything every crate logs, at the most verbose level: still no secret.
    let mut trace = fgs(&runtime, &["invoke", "default/hello", "--local", "-v"]);
    trace.env("RUST_LOG", "trace");
    let out = run(trace).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("fgs.invoke"), "{out:?}");
    for secret in [&secret_key, &token] {
        assert!(!out.stderr.contains(secret.as_str()), "a secret in the trace: {out:?}");
        assert!(!out.stdout.contains(secret.as_str()));
    }

    // A refused attempt and its retry, with the reason.
    let mut state = local.state.clone();
    state.pid = std::process::id();
    state.endpoint = "http://127.0.0.1:9".into();
    let other = runtime_dir("debug-retry");
    state.write(&other.join("fgs").join(LocalState::FILE_NAME)).unwrap();
    let out = run(fgs(
        &other,
        &["invoke", "default/hello", "--local", "--debug", "--retries", "1"],
    ))
    .await;
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.stderr.contains("attempt failed"), "{out:?}");
    assert!(out.stderr.contains("retrying"), "{out:?}");
    assert!(!out.stderr.contains(secret_key.as_str()), "{out:?}");
    drop(local);
}

#[tokio::test]
async fn invoke_local_trusts_the_certificate_of_fgs_local_tls() {
    let runtime = runtime_dir("tls");
    let local = Local::start(&runtime, &["--tls"]).await;
    assert!(
        local.state.endpoint.starts_with("https://127.0.0.1:"),
        "{:?}",
        local.state
    );
    let ca_file = local.state.ca_file.clone().expect("the certificate's file");
    assert!(ca_file.exists());
    let out = run(fgs(
        &runtime,
        &["invoke", "default/hello", "--local", "--data", r#"{"name":"tls"}"#],
    ))
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "{\n  \"message\": \"Hello, tls!\"\n}\n", "{out:?}");
    let (status, state_file) = local.stop("-INT").await;
    assert!(status.success());
    assert!(
        !state_file.exists() && !ca_file.exists(),
        "both files go with the emulator"
    );
}
