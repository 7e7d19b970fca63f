//! The `fgs-emulator` binary: started as a developer would, invoked over HTTP, stopped
//! with Ctrl-C (SIGINT).

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test

use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    let child = Command::new(env!("CARGO_BIN_EXE_fgs-emulator"))
        .args(["--port", "0", "--token", "cli-token", "--timeout", "5"])
        .args(["--function", "default/echo=cat"])
        .args(["--function", "default/fail=echo broken >&2; exit 4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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
    let addr = endpoint.strip_prefix("http://").unwrap().to_owned();
    let mut banner = String::new();
    for _ in 0..20 {
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
    let pid = running.0.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let started = Instant::now();
    loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    }
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
}
