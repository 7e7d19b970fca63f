//! The `fgs-emulator` binary: started as a developer would, invoked over HTTP, stopped
//! with Ctrl-C (SIGINT) or SIGTERM. Each run gets its own `XDG_RUNTIME_DIR`, so the state
//! file of a developer's own `fgs local` is never touched.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fgs_emulator::LocalState;

/// A fresh directory for `XDG_RUNTIME_DIR`, removed at the end.
struct RuntimeDir(PathBuf);

impl RuntimeDir {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("fgs-binary-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        RuntimeDir(dir)
    }

    /// Where the emulator writes its state file.
    fn state_file(&self) -> PathBuf {
        self.0.join("fgs").join(LocalState::FILE_NAME)
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary with a private runtime directory.
fn emulator_command(runtime: &RuntimeDir) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fgs-emulator"));
    command
        .env("XDG_RUNTIME_DIR", &runtime.0)
        .env_remove("FGS_EMULATOR_PORT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Kills the child if the test fails half-way.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn post(addr: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut request = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn runs_command_functions_prints_how_to_call_them_and_stops_on_ctrl_c() {
    let runtime = RuntimeDir::new("commands");
    let child = emulator_command(&runtime)
        .args(["--port", "0", "--token", "cli-token", "--timeout", "5"])
        .args(["--function", "default/echo=cat"])
        .args(["--function", "default/fail=echo broken >&2; exit 4"])
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let mut stdout = BufReader::new(running.0.stdout.take().unwrap());
    let mut stderr = BufReader::new(running.0.stderr.take().unwrap());

    let (addr, banner) = read_banner(&mut stdout);
    assert!(addr.starts_with("127.0.0.1:"), "binds loopback by default: {addr}");
    assert!(banner.contains("token       cli-token"), "{banner}");
    assert!(banner.contains("function    default/echo -> cat"), "{banner}");
    assert!(banner.contains("curl -s -X POST"), "{banner}");
    assert!(banner.contains("-H 'X-Auth-Token: cli-token'"), "{banner}");
    assert!(
        banner.contains(&format!(
            "IAM project {}   (GET http://{addr}/v3/projects?name=cn-north-4,",
            fgs_emulator::DEFAULT_PROJECT_ID
        )),
        "{banner}"
    );

    let project = fgs_emulator::DEFAULT_PROJECT_ID;
    let urn = format!("urn:fss:cn-north-4:{project}:function:default:echo:latest");
    let path = format!(
        "/v2/{project}/fgs/functions/{}/invocations",
        fgs_urn::encode_path_segment(&urn)
    );
    let headers = [
        ("X-Auth-Token", "cli-token"),
        ("Content-Type", "application/json"),
        ("X-CFF-Request-Version", "v1"),
    ];
    let response = post(&addr, &path, &headers, r#"{"from":"the terminal"}"#);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains(r#""result":"{\"from\":\"the terminal\"}""#),
        "{response}"
    );

    let fail_path = path.replace("%3Aecho%3A", "%3Afail%3A");
    let response = post(&addr, &fail_path, &headers, "{}");
    assert!(response.contains("x-is-func-err: true"), "{response}");
    assert!(response.contains("exited with status 4"), "{response}");

    let response = post(&addr, &path, &[("X-Auth-Token", "wrong")], "{}");
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");

    // One line per run on stderr.
    let mut log = String::new();
    for _ in 0..2 {
        stderr.read_line(&mut log).unwrap();
    }
    assert!(log.contains("Sync default/echo:latest ok"), "{log}");
    assert!(log.contains("Sync default/fail:latest error CommandFailed"), "{log}");

    stop_with_sigint(&mut running);
    assert!(TcpStream::connect(&addr).is_err(), "the port is closed after stopping");
}

/// The address from the first line of the banner, and the rest of the banner up to the
/// "Press Ctrl-C" line.
fn read_banner(stdout: &mut impl BufRead) -> (String, String) {
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let endpoint = first
        .trim()
        .strip_prefix("fgs-emulator listening on ")
        .unwrap_or_else(|| panic!("{first}"));
    let addr = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .unwrap()
        .to_owned();
    let mut banner = String::new();
    for _ in 0..60 {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 || line.starts_with("Press Ctrl-C") {
            break;
        }
        banner.push_str(&line);
    }
    (addr, banner)
}

/// Sends SIGINT and waits (up to 10 s) for a successful exit.
fn stop_with_sigint(running: &mut Running) {
    stop_with(running, "-INT");
}

/// Sends `signal` (`-INT`, `-TERM`) and waits (up to 10 s) for a successful exit.
fn stop_with(running: &mut Running, signal: &str) {
    let pid = running.0.id().to_string();
    assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
    let started = Instant::now();
    loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "did not stop on {signal}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The path of `urn`'s synchronous invocations, the URN percent-encoded.
fn invoke_path(urn: &str) -> String {
    format!(
        "/v2/{}/fgs/functions/{}/invocations",
        fgs_emulator::DEFAULT_PROJECT_ID,
        fgs_urn::encode_path_segment(urn)
    )
}

/// The body of an HTTP/1.1 response.
fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

/// `fgs-emulator` with no flags at all (the README's `fgs local`, on a free port through
/// FGS_EMULATOR_PORT): the built-in demo answers, the state file records the emulator for
/// `fgs invoke --local`, privately, and is gone after Ctrl-C.
#[test]
fn without_flags_serves_the_demo_and_records_a_state_file_until_ctrl_c() {
    let runtime = RuntimeDir::new("demo");
    let child = emulator_command(&runtime)
        .env("FGS_EMULATOR_PORT", "0")
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let mut stdout = BufReader::new(running.0.stdout.take().unwrap());
    let mut stderr = BufReader::new(running.0.stderr.take().unwrap());
    let (addr, banner) = read_banner(&mut stdout);

    let path = runtime.state_file();
    assert!(
        banner.contains(&format!("  state file  {}   (for fgs invoke --local)", path.display())),
        "{banner}"
    );
    assert!(
        banner.contains(r#"  function    default/hello -> built-in demo (answers {"message": "Hello, NAME!"})"#),
        "{banner}"
    );
    assert!(
        banner.contains("In another terminal:\n  fgs invoke default/hello --local --data '{\"name\":\"fgs\"}'"),
        "{banner}"
    );
    assert!(
        banner.contains(&format!(
            "For Client::from_env() and other tools:\n  export HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT=http://{addr}"
        )),
        "{banner}"
    );
    assert_eq!(mode(&path), 0o600, "the state file is its owner's only");
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    let state = LocalState::read(&path).unwrap();
    assert_eq!(state.pid, running.0.id());
    assert_eq!(state.endpoint, format!("http://{addr}"));
    assert_eq!(state.region, "cn-north-4");
    assert_eq!(state.project_id, fgs_emulator::DEFAULT_PROJECT_ID);
    assert!(!state.no_auth);
    assert_eq!(state.ca_file, None);
    let token = state.token.clone().expect("a generated token");
    assert!(banner.contains(&format!("token       {token}")), "{banner}");
    assert!(state.access_key.is_some() && state.secret_key.is_some());
    assert_eq!(state.process_is_alive(), Some(true));

    let urn = format!(
        "urn:fss:cn-north-4:{}:function:default:hello:latest",
        fgs_emulator::DEFAULT_PROJECT_ID
    );
    let headers = [("X-Auth-Token", token.as_str()), ("Content-Type", "application/json")];
    let response = post(&addr, &invoke_path(&urn), &headers, r#"{"name":"fgs"}"#);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(body(&response), r#"{"message":"Hello, fgs!"}"#, "{response}");
    let mut log = String::new();
    stderr.read_line(&mut log).unwrap();
    assert!(log.contains("Sync default/hello:latest ok"), "{log}");

    stop_with_sigint(&mut running);
    assert!(!path.exists(), "the state file is removed on Ctrl-C");
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("stopping"), "{rest}");
    assert!(!rest.contains("warning"), "{rest}");
}

/// Versions and aliases from the command line: `:!prod` runs the version it points at;
/// SIGTERM stops the emulator and removes the state file too.
#[test]
fn aliases_run_the_version_they_point_at_and_sigterm_stops() {
    let runtime = RuntimeDir::new("aliases");
    let child = emulator_command(&runtime)
        .args(["--port", "0", "--token", "alias-token"])
        .args([
            "--function",
            r#"default/hello:v1=printf '{"ran":"v1","version":"%s"}' "$FGS_FUNCTION_VERSION""#,
        ])
        .args(["--function", r#"default/hello=printf '{"ran":"latest"}'"#])
        .args(["--alias", "default/hello:prod=v1"])
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let mut stdout = BufReader::new(running.0.stdout.take().unwrap());
    let (addr, banner) = read_banner(&mut stdout);
    assert!(
        banner.contains(r#"  function    default/hello -> printf '{"ran":"latest"}'"#),
        "{banner}"
    );
    assert!(
        banner.contains(r#"  function    default/hello:v1 -> printf '{"ran":"v1""#),
        "{banner}"
    );
    assert!(banner.contains("  alias       default/hello:!prod -> v1"), "{banner}");

    let urn = format!(
        "urn:fss:cn-north-4:{}:function:default:hello:!prod",
        fgs_emulator::DEFAULT_PROJECT_ID
    );
    let path = invoke_path(&urn);
    assert!(
        path.ends_with("%3A%21prod/invocations") || path.ends_with("%3A!prod/invocations"),
        "{path}"
    );
    let headers = [("X-Auth-Token", "alias-token"), ("Content-Type", "application/json")];
    let response = post(&addr, &path, &headers, "{}");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(body(&response), r#"{"ran":"v1","version":"v1"}"#, "{response}");
    let latest = invoke_path(&urn.replace(":!prod", ":latest"));
    let response = post(&addr, &latest, &headers, "{}");
    assert_eq!(body(&response), r#"{"ran":"latest"}"#, "{response}");

    let state_file = runtime.state_file();
    assert!(state_file.exists());
    stop_with(&mut running, "-TERM");
    assert!(!state_file.exists(), "the state file is removed on SIGTERM");
}

/// With `--tls` the state file records the HTTPS endpoint and the certificate to trust;
/// when a later emulator has replaced the file, stopping leaves the other one's file.
#[test]
fn records_tls_and_leaves_another_emulators_state_file() {
    let runtime = RuntimeDir::new("replaced");
    let child = emulator_command(&runtime)
        .args(["--port", "0", "--no-auth", "--tls"])
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let mut stdout = BufReader::new(running.0.stdout.take().unwrap());
    let (addr, banner) = read_banner(&mut stdout);
    assert!(banner.contains("auth        off"), "{banner}");
    let path = runtime.state_file();
    let mut state = LocalState::read(&path).unwrap();
    assert_eq!(state.endpoint, format!("https://{addr}"));
    assert!(state.no_auth);
    assert_eq!(state.token, None);
    let ca_file = state.ca_file.clone().expect("the certificate");
    assert!(ca_file.starts_with(runtime.0.join("fgs")), "{}", ca_file.display());
    assert!(
        banner.contains(&format!("certificate {}", ca_file.display())),
        "{banner}"
    );
    state.pid = state.pid.wrapping_add(1);
    state.endpoint = "http://127.0.0.1:1".into();
    state.write(&path).unwrap();
    stop_with_sigint(&mut running);
    assert_eq!(LocalState::read(&path).unwrap(), state);
    assert!(!ca_file.exists(), "the certificate is removed");
}

/// Flags that do not fit together stop the binary before it starts, saying which.
#[test]
fn an_alias_of_an_unknown_version_is_an_error_before_starting() {
    let runtime = RuntimeDir::new("bad-alias");
    let output = emulator_command(&runtime)
        .args(["--port", "0", "--function", "default/hello:v1=cat"])
        .args(["--alias", "default/hello:prod=v2"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--alias default/hello:!prod=v2: default/hello has no version `v2`"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "nothing started");
    assert!(!runtime.0.join("fgs").exists(), "no state file");
}

#[test]
fn rejects_bad_flags_with_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_fgs-emulator"))
        .args(["--function", "hello=cat"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PACKAGE/NAME"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_fgs-emulator"))
        .args(["--alias", "default/hello:prod=!beta"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not at another alias"), "{stderr}");
}
