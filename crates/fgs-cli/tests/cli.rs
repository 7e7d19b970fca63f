#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test
//! `fgs` run as a subprocess against an emulator in this process, on 127.0.0.1 only.
//!
//! Every run has an empty environment (no HUAWEICLOUD_* or FGS_* variables from the
//! machine) and a HOME under the target directory, so no real credentials are read.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fgs_emulator::{Emulator, Function, FunctionError, Handler};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;

const FGS: &str = env!("CARGO_BIN_EXE_fgs");
const TOKEN: &str = "cli-test-token";
/// No run may take this long.
const RUN_LIMIT: Duration = Duration::from_secs(60);

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fgs-cli").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An empty HOME: no ~/.huaweicloud/credentials.
fn empty_home() -> PathBuf {
    scratch("home")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {self:?}"))
    }
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

/// `fgs ARGS` with an empty environment.
struct Fgs {
    command: tokio::process::Command,
    stdin: Option<Vec<u8>>,
}

fn fgs<I, S>(args: I) -> Fgs
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = tokio::process::Command::new(FGS);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", empty_home())
        // Project-id discovery never leaves the machine: IAM is a closed loopback port
        // unless a test points it at an emulator.
        .env("HUAWEICLOUD_SDK_IAM_ENDPOINT", "http://127.0.0.1:9")
        .kill_on_drop(true);
    Fgs { command, stdin: None }
}

impl Fgs {
    fn env(mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(name, value);
        self
    }

    fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    async fn run(mut self) -> Run {
        let stdin = if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        let mut child = self
            .command
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start fgs");
        if let Some(bytes) = self.stdin.take() {
            let mut pipe = child.stdin.take().unwrap();
            tokio::spawn(async move {
                // fgs may stop reading early (a payload over the limit).
                let _ = pipe.write_all(&bytes).await;
            });
        }
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
}

fn hello() -> Function {
    let greet = Handler::from_fn(|event, ctx| async move {
        ctx.log("saying hello");
        Ok(json!({ "greeting": format!("hello, {}", event["name"].as_str().unwrap_or("nobody")) }))
    });
    Function::new("default", "hello", greet).alias("prod", "latest")
}

fn functions() -> Vec<Function> {
    let echo = Handler::from_fn(|event, _ctx| async move { Ok(event) });
    let broken = Handler::from_fn(|_event, ctx| async move {
        ctx.log("about to fail");
        Err(FunctionError::new("ValueError", "name is required").with_stack_trace(["handler.py line 3"]))
    });
    // Returns serialised JSON, as a string.
    let stringly = Handler::from_fn(|_event, _ctx| async move { Ok(Value::String(r#"{"a":1}"#.into())) });
    // Runs for a minute: far past `--timeout`, however loaded the machine.
    let slow = Handler::from_fn(|_event, _ctx| async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(json!("late"))
    });
    vec![
        hello(),
        Function::new("default", "echo", echo),
        Function::new("default", "broken", broken),
        Function::new("default", "stringly", stringly),
        Function::new("default", "slow", slow).timeout(Duration::from_secs(120)),
    ]
}

async fn emulator() -> Emulator {
    let mut builder = Emulator::builder().token(TOKEN);
    for function in functions() {
        builder = builder.function(function);
    }
    builder.start().await.expect("start the emulator")
}

/// `fgs invoke URN --endpoint ...` with the token in HUAWEICLOUD_SDK_IAM_TOKEN.
fn invoke(emulator: &Emulator, name: &str, extra: &[&str]) -> Fgs {
    let urn = emulator.urn("default", name, None);
    let mut args = vec!["invoke".to_owned(), urn, "--endpoint".into(), emulator.endpoint()];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    fgs(args).env("HUAWEICLOUD_SDK_IAM_TOKEN", TOKEN)
}

#[tokio::test]
async fn success_prints_the_pretty_result_on_stdout_and_the_request_id_on_stderr() {
    let emulator = emulator().await;
    let run = invoke(&emulator, "hello", &["--data", r#"{"name":"fgs"}"#]).run().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "{\n  \"greeting\": \"hello, fgs\"\n}\n", "{run:?}");
    let request_id = &emulator.invocations()[0].request_id;
    assert!(run.stderr.contains(&format!("request id: {request_id}")), "{run:?}");
    assert!(
        !run.stderr.contains('\r'),
        "no spinner when stderr is not a terminal: {run:?}"
    );
    let request = &emulator.requests()[0];
    assert_eq!(&request.body[..], br#"{"name":"fgs"}"#, "the payload is sent as given");
    assert_eq!(request.headers["x-auth-token"], TOKEN);
    assert!(!request.headers.contains_key("x-cff-log-type"), "no log unless --log");
    let agent = request.headers["user-agent"].to_str().unwrap();
    assert!(agent.contains("fgs-cli/"), "{agent}");
}

#[tokio::test]
async fn the_short_form_takes_region_and_project_id() {
    let emulator = emulator().await;
    let run = fgs([
        "invoke",
        "default/hello:!prod",
        "--endpoint",
        &emulator.endpoint(),
        "--region",
        emulator.region(),
        "--project-id",
        emulator.project_id(),
        "--token",
        TOKEN,
    ])
    .stdin(r#"{"name":"short"}"#)
    .run()
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "{\n  \"greeting\": \"hello, short\"\n}\n");
    assert_eq!(
        emulator.invocations()[0].urn,
        emulator.urn("default", "hello", Some("!prod"))
    );
    assert!(!run.stderr.contains(TOKEN), "the token is never printed: {run:?}");

    // The same from the environment `fgs local` prints.
    let run = fgs(["invoke", "default/hello"])
        .env("HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT", emulator.endpoint())
        .env("HUAWEICLOUD_SDK_REGION", emulator.region())
        .env("HUAWEICLOUD_SDK_PROJECT_ID", emulator.project_id())
        .env("HUAWEICLOUD_SDK_IAM_TOKEN", TOKEN)
        .run()
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "{\n  \"greeting\": \"hello, nobody\"\n}\n");

    // Without a project id there is nothing to complete the short form with.
    let run = fgs(["invoke", "default/hello", "--endpoint", &emulator.endpoint()])
        .env("HUAWEICLOUD_SDK_REGION", emulator.region())
        .env("HUAWEICLOUD_SDK_IAM_TOKEN", TOKEN)
        .run()
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("no project id"), "{run:?}");
    assert_eq!(emulator.request_count(), 2);
}

#[tokio::test]
async fn log_and_summary_go_to_stderr() {
    let emulator = emulator().await;
    let run = invoke(&emulator, "hello", &["--log", "--summary"]).run().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout, "{\n  \"greeting\": \"hello, nobody\"\n}\n",
        "stdout stays clean"
    );
    assert!(run.stderr.contains("saying hello"), "{run:?}");
    assert!(run.stderr.contains("Start invoke request"), "{run:?}");
    assert!(run.stderr.contains("summary: duration "), "{run:?}");
    assert!(run.stderr.contains("memory 128 MB"), "{run:?}");
    assert_eq!(emulator.requests()[0].headers["x-cff-log-type"], "tail");
}

#[tokio::test]
async fn a_function_error_exits_3_with_the_result_on_stdout() {
    let emulator = emulator().await;
    let run = invoke(&emulator, "broken", &[]).run().await;
    assert_eq!(run.code, 3, "{run:?}");
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["errorType"], "ValueError");
    assert_eq!(result["errorMessage"], "name is required");
    assert!(
        run.stderr.contains("function error: ValueError: name is required"),
        "{run:?}"
    );
    assert!(run.stderr.contains("request id: "), "{run:?}");
}

#[tokio::test]
async fn a_service_error_exits_4_with_code_status_and_request_id_on_stderr() {
    let emulator = emulator().await;
    let run = invoke(&emulator, "nope", &[]).run().await;
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("FSS.1051 (HTTP 404): "), "{run:?}");
    assert!(run.stderr.contains("[request id "), "{run:?}");

    // A wrong token is the gateway's 401, and is not echoed.
    let run = invoke(&emulator, "hello", &[])
        .env("HUAWEICLOUD_SDK_IAM_TOKEN", "wrong-token")
        .run()
        .await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("HTTP 401"), "{run:?}");
    assert!(!run.stderr.contains("wrong-token"), "{run:?}");
}

#[tokio::test]
async fn the_payload_comes_from_stdin_or_a_file() {
    let emulator = emulator().await;
    let run = invoke(&emulator, "echo", &[]).stdin(r#"{"from": "stdin"}"#).run().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "{\n  \"from\": \"stdin\"\n}\n");
    assert_eq!(&emulator.requests()[0].body[..], br#"{"from": "stdin"}"#);

    let file = scratch("payload").join("event.json");
    std::fs::write(&file, "{\"from\": \"file\"}\n").unwrap();
    let data = format!("@{}", file.display());
    let run = invoke(&emulator, "echo", &["--data", &data]).run().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "{\n  \"from\": \"file\"\n}\n");

    // No --data and an empty stdin: `{}`.
    let run = invoke(&emulator, "echo", &[]).run().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "{}\n");
    assert_eq!(&emulator.requests()[2].body[..], b"{}");
}

#[tokio::test]
async fn bad_input_exits_2_and_sends_nothing() {
    let emulator = emulator().await;
    let cases: Vec<(Fgs, &str)> = vec![
        (
            invoke(&emulator, "echo", &["--data", "@/nonexistent/fgs/event.json"]),
            "cannot read the --data file /nonexistent/fgs/event.json",
        ),
        (
            invoke(&emulator, "echo", &["--data", "{\"a\": }"]),
            "the payload from --data is not valid JSON",
        ),
        (
            invoke(&emulator, "echo", &[]).stdin("not json"),
            "the payload from stdin is not valid JSON",
        ),
        (
            fgs([
                "invoke",
                "urn:fss:cn-north-4:p1:function:default:9bad",
                "--endpoint",
                &emulator.endpoint(),
            ])
            .env("HUAWEICLOUD_SDK_IAM_TOKEN", TOKEN),
            "function name \"9bad\"",
        ),
        (
            fgs(["invoke", "hello", "--endpoint", &emulator.endpoint()]).env("HUAWEICLOUD_SDK_IAM_TOKEN", TOKEN),
            "neither a function URN",
        ),
        (
            invoke(&emulator, "echo", &["--memory", "100"]),
            "invalid value '100' for '--memory <MB>'",
        ),
        (invoke(&emulator, "echo", &["--async", "--log"]), "cannot be used with"),
        (fgs(["invoke"]), "<TARGET>"),
    ];
    for (command, expected) in cases {
        let run = command.run().await;
        assert_eq!(run.code, 2, "{run:?}");
        assert!(run.stderr.contains(expected), "expected {expected:?}: {run:?}");
        assert_eq!(run.stdout, "", "{run:?}");
    }
    assert_eq!(emulator.request_count(), 0, "nothing was sent");
}

#[tokio::test]
async fn payloads_over_the_limit_exit_2_and_send_nothing() {
    let emulator = emulator().await;
    let dir = scratch("limits");
    // Valid JSON, one byte over 6 MiB.
    let big = dir.join("big.json");
    std::fs::write(&big, format!("\"{}\"", "a".repeat(6 * 1024 * 1024 - 1))).unwrap();
    let run = invoke(&emulator, "echo", &["--data", &format!("@{}", big.display())])
        .run()
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("6291457 bytes"), "{run:?}");
    assert!(run.stderr.contains("6 MiB"), "{run:?}");

    // The same from stdin.
    let run = invoke(&emulator, "echo", &[])
        .stdin(std::fs::read(&big).unwrap())
        .run()
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("more than 6291456 bytes"), "{run:?}");

    // 300 KiB is fine synchronously but over the 256 KiB of an asynchronous invoke.
    let medium = dir.join("medium.json");
    std::fs::write(&medium, format!("\"{}\"", "a".repeat(300 * 1024))).unwrap();
    let run = invoke(
        &emulator,
        "echo",
        &["--async", "--data", &format!("@{}", medium.display())],
    )
    .run()
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("256 KiB"), "{run:?}");
    assert_eq!(emulator.request_count(), 0, "nothing was sent");
}

#[tokio::test]
async fn no_credentials_exits_2_listing_the_sources() {
    let emulator = emulator().await;
    let run = fgs([
        "invoke",
        &emulator.urn("default", "hello", None),
        "--endpoint",
        &emulator.endpoint(),
    ])
    .run()
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("no credentials found"), "{run:?}");
    assert!(run.stderr.contains("environment: "), "{run:?}");
    assert!(run.stderr.contains("profile: "), "{run:?}");
    assert!(run.stderr.contains("metadata: not enabled"), "{run:?}");
    assert!(
        run.stderr.contains("HUAWEICLOUD_SDK_IAM_TOKEN"),
        "says how to give a token: {run:?}"
    );
    assert_eq!(emulator.request_count(), 0);
}

#[tokio::test]
async fn output_json_is_one_object_for_success() {
    let emulator = emulator().await;
    let run = invoke(
        &emulator,
        "hello",
        &["--output", "json", "--log", "--data", r#"{"name":"json"}"#],
    )
    .run()
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let value = run.json();
    let request_id = emulator.invocations()[0].request_id.clone();
    assert_eq!(value["request_id"], request_id.as_str());
    assert_eq!(value["status"], 200);
    assert_eq!(value["result"], json!({ "greeting": "hello, json" }));
    assert_eq!(value["function_error"], Value::Null);
    assert!(value["log"].as_str().unwrap().contains("saying hello"), "{run:?}");
    assert_eq!(value["summary"]["memorySize"], 128);
    assert_eq!(run.stderr, "", "everything is in the object");

    let run = invoke(&emulator, "broken", &["--output", "json"]).run().await;
    assert_eq!(run.code, 3, "{run:?}");
    let value = run.json();
    assert_eq!(value["function_error"]["errorType"], "ValueError");
    assert_eq!(value["function_error"]["errorMessage"], "name is required");
    assert_eq!(value["log"], Value::Null);
}

#[tokio::test]
async fn output_json_is_one_object_for_errors() {
    let emulator = emulator().await;
    let run = invoke(&emulator, "nope", &["--output", "json"]).run().await;
    assert_eq!(run.code, 4, "{run:?}");
    let error = &run.json()["error"];
    assert_eq!(error["kind"], "service");
    assert_eq!(error["status"], 404);
    assert_eq!(error["code"], "FSS.1051");
    assert!(error["message"].as_str().unwrap().len() > 3, "{run:?}");
    assert!(error["request_id"].is_string(), "{run:?}");

    let run = invoke(&emulator, "echo", &["--output", "json", "--data", "{"])
        .run()
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    let error = &run.json()["error"];
    assert_eq!(error["kind"], "input");
    assert_eq!(error["status"], Value::Null);
    assert!(error["message"].as_str().unwrap().contains("not valid JSON"), "{run:?}");
}

#[tokio::test]
async fn raw_prints_the_result_as_it_came() {
    let emulator = emulator().await;
    let pretty = invoke(&emulator, "stringly", &[]).run().await;
    assert_eq!(pretty.code, 0, "{pretty:?}");
    assert_eq!(pretty.stdout, "{\n  \"a\": 1\n}\n", "JSON inside a string is decoded");

    let raw = invoke(&emulator, "stringly", &["--raw"]).run().await;
    assert_eq!(raw.code, 0, "{raw:?}");
    // Exactly the result of the SDK, byte for byte.
    let client = fgs::Client::builder()
        .endpoint_url(emulator.endpoint())
        .auth(fgs::auth::StaticToken::new(TOKEN))
        .build()
        .unwrap();
    let urn: fgs::FunctionUrn = emulator.urn("default", "stringly", None).parse().unwrap();
    let output = client.invoke(&urn).send().await.unwrap();
    assert_eq!(raw.stdout.as_bytes(), &output.result()[..]);
    assert_ne!(raw.stdout, pretty.stdout);
}

#[tokio::test]
async fn async_prints_the_request_id_and_the_run_happens() {
    let emulator = emulator().await;
    let run = invoke(&emulator, "echo", &["--async", "--data", r#"{"queued":true}"#])
        .run()
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    let request_id = run.stdout.trim();
    assert!(
        !request_id.is_empty() && !request_id.contains(char::is_whitespace),
        "{run:?}"
    );
    let record = emulator
        .wait_for_invocation(request_id, Duration::from_secs(10))
        .await
        .expect("the queued run happens");
    assert_eq!(record.request_id, request_id);
    assert!(emulator.requests()[0].path.ends_with("/invocations-async"));

    let run = invoke(&emulator, "echo", &["--async", "--output", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:?}");
    let value = run.json();
    assert!(value["request_id"].is_string(), "{run:?}");
    assert_eq!(value["status"], 202);
}

#[tokio::test]
async fn a_refused_connection_exits_5() {
    let emulator = emulator().await;
    // Bound but never listening: refuses connections, and no other test can take the port
    // while `_socket` lives (binding port 0, dropping and reusing the number would race).
    let _socket = tokio::net::TcpSocket::new_v4().unwrap();
    _socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
    let port = _socket.local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let run = fgs([
        "invoke",
        &emulator.urn("default", "hello", None),
        "--endpoint",
        &endpoint,
    ])
    .env("HUAWEICLOUD_SDK_IAM_TOKEN", TOKEN)
    .run()
    .await;
    assert_eq!(run.code, 5, "{run:?}");
    assert!(run.stderr.contains("could not connect"), "{run:?}");
    assert!(run.stderr.contains("the request was not sent"), "{run:?}");
}

#[tokio::test]
async fn a_timeout_exits_5() {
    let emulator = emulator().await;
    let run = invoke(&emulator, "slow", &["--timeout", "0.5"]).run().await;
    assert_eq!(run.code, 5, "{run:?}");
    assert!(run.stderr.contains("timed out"), "{run:?}");
}

#[tokio::test]
async fn aksk_without_a_project_id_looks_it_up_from_iam() {
    let emulator = Emulator::builder()
        .access_key("AKCLITEST0123456789", "cli-secret-key")
        .function(hello())
        .start()
        .await
        .unwrap();
    let run = fgs(["invoke", "default/hello", "--region", emulator.region()])
        .env("HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT", emulator.endpoint())
        .env("HUAWEICLOUD_SDK_IAM_ENDPOINT", emulator.endpoint())
        .env("HUAWEICLOUD_SDK_AK", "AKCLITEST0123456789")
        .env("HUAWEICLOUD_SDK_SK", "cli-secret-key")
        .run()
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    let paths: Vec<String> = emulator.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths[0],
        format!("/v3/projects?name={}", emulator.region()),
        "{paths:?}"
    );
    assert_eq!(emulator.invocations()[0].urn, emulator.urn("default", "hello", None));

    // IAM unreachable (the closed port every run gets): a usage error naming the fix.
    let run = fgs(["invoke", "default/hello", "--region", emulator.region()])
        .env("HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT", emulator.endpoint())
        .env("HUAWEICLOUD_SDK_AK", "AKCLITEST0123456789")
        .env("HUAWEICLOUD_SDK_SK", "cli-secret-key")
        .run()
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("HUAWEICLOUD_SDK_PROJECT_ID"), "{run:?}");
    assert_eq!(emulator.invocations().len(), 1, "nothing more ran");
}

#[tokio::test]
async fn aksk_from_the_environment_signs_the_request() {
    let emulator = Emulator::builder()
        .access_key("AKCLITEST0123456789", "cli-secret-key")
        .function(hello())
        .start()
        .await
        .unwrap();
    let run = fgs(["invoke", "default/hello", "--data", r#"{"name":"aksk"}"#])
        .env("HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT", emulator.endpoint())
        .env("HUAWEICLOUD_SDK_REGION", emulator.region())
        .env("HUAWEICLOUD_SDK_AK", "AKCLITEST0123456789")
        .env("HUAWEICLOUD_SDK_SK", "cli-secret-key")
        .env("HUAWEICLOUD_SDK_PROJECT_ID", emulator.project_id())
        .run()
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "{\n  \"greeting\": \"hello, aksk\"\n}\n");
    let authorization = emulator.requests()[0].headers["authorization"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        authorization.starts_with("SDK-HMAC-SHA256 Access=AKCLITEST0123456789"),
        "{authorization}"
    );
    assert!(!run.stderr.contains("cli-secret-key"));

    // A wrong secret key: the gateway refuses the signature.
    let run = fgs(["invoke", &emulator.urn("default", "hello", None)])
        .env("HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT", emulator.endpoint())
        .env("HUAWEICLOUD_SDK_AK", "AKCLITEST0123456789")
        .env("HUAWEICLOUD_SDK_SK", "not-the-secret-key")
        .run()
        .await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(!run.stderr.contains("not-the-secret-key"), "{run:?}");
}

#[tokio::test]
async fn the_credentials_file_gives_keys_and_project_id() {
    let emulator = Emulator::builder()
        .access_key("AKFROMFILE0123456789", "file-secret-key")
        .function(hello())
        .start()
        .await
        .unwrap();
    let home = scratch("home-with-credentials");
    std::fs::create_dir_all(home.join(".huaweicloud")).unwrap();
    std::fs::write(
        home.join(".huaweicloud/credentials"),
        format!(
            "[basic]\nak = AKFROMFILE0123456789\nsk = file-secret-key\nproject_id = {}\n",
            emulator.project_id()
        ),
    )
    .unwrap();
    let run = fgs(["invoke", "default/hello", "--region", emulator.region()])
        .env("HOME", &home)
        .env("HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT", emulator.endpoint())
        .run()
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        emulator.invocations()[0].urn,
        emulator.urn("default", "hello", None),
        "the project id of the credentials file completes the short form"
    );
}

/// `fgs local` in one process, `fgs invoke` against it from another, Ctrl-C stops it.
#[cfg(unix)]
#[tokio::test]
async fn local_serves_until_sigint() {
    use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};

    let mut local = tokio::process::Command::new(FGS)
        .args(["local", "--port", "0", "--function", "default/echo=cat", "--token", "T"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", empty_home())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(local.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(RUN_LIMIT, lines.next_line())
        .await
        .expect("the banner in time")
        .unwrap()
        .expect("a first line");
    let url = first
        .strip_prefix("fgs-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let banner = tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            rest.push(line);
        }
        rest
    });

    let run = fgs([
        "invoke",
        "default/echo",
        "--region",
        "cn-north-4",
        "--project-id",
        "0123456789abcdef0123456789abcdef",
        "--data",
        r#"{"via":"local"}"#,
    ])
    .env("HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT", &url)
    .env("HUAWEICLOUD_SDK_IAM_TOKEN", "T")
    .run()
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "{\n  \"via\": \"local\"\n}\n");

    let pid = local.id().expect("still running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(RUN_LIMIT, local.wait())
        .await
        .expect("fgs local stops on SIGINT")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let mut stderr = String::new();
    local.stderr.take().unwrap().read_to_string(&mut stderr).await.unwrap();
    assert!(stderr.contains("default/echo"), "the run is logged: {stderr}");
    assert!(stderr.contains("stopping"), "{stderr}");
    let banner = banner.await.unwrap().join("\n");
    assert!(
        banner.contains(&format!("export HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT={url}")),
        "{banner}"
    );
}

#[tokio::test]
async fn odd_informational_headers_keep_the_result_and_warn() {
    let emulator = emulator().await;
    emulator.inject(fgs_emulator::FaultRule::once(fgs_emulator::Fault::response(
        200,
        vec![
            ("X-Cff-Invoke-Summary".into(), "not json {".into()),
            ("X-Cff-Function-Log".into(), "!!not base64".into()),
            ("X-Is-Func-Err".into(), "0".into()),
        ],
        r#"{"request_id":"r-1","result":"{\"a\":1}","log":null,"status":"ok"}"#,
    )));
    let run = invoke(&emulator, "hello", &["--summary"]).run().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "{\n  \"a\": 1\n}\n", "{run:?}");
    assert!(run.stderr.contains("warning: header X-Cff-Invoke-Summary"), "{run:?}");
    assert!(run.stderr.contains("warning: header X-Cff-Function-Log"), "{run:?}");
    assert!(run.stderr.contains("warning: body field status"), "{run:?}");
    assert!(
        run.stderr.contains("summary (unreadable, as sent): not json {"),
        "{run:?}"
    );
}

#[tokio::test]
async fn an_unreadable_result_is_printed_as_received_and_exits_5() {
    let emulator = emulator().await;
    emulator.inject(fgs_emulator::FaultRule::once(fgs_emulator::Fault::response(
        200,
        vec![("Content-Type".into(), "text/html".into())],
        "<html>proxy says hi</html>",
    )));
    let run = invoke(&emulator, "hello", &[]).run().await;
    assert_eq!(run.code, 5, "{run:?}");
    assert_eq!(run.stdout, "<html>proxy says hi</html>", "{run:?}");
    assert!(run.stderr.contains("the function ran"), "{run:?}");
}

#[tokio::test]
async fn server_text_reaches_the_terminal_without_control_characters() {
    let emulator = emulator().await;
    emulator.inject(fgs_emulator::FaultRule::once(fgs_emulator::Fault::error(
        400,
        "FSS.0400",
        "bad \u{1b}[2J\u{1b}]0;owned\u{7}request\r\nsecond line",
    )));
    let run = invoke(&emulator, "hello", &[]).run().await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(!run.stderr.contains('\u{1b}'), "{run:?}");
    assert!(!run.stderr.contains('\r'), "{run:?}");
    assert!(!run.stderr.contains('\u{7}'), "{run:?}");
    assert!(run.stderr.contains("bad [2J]0;ownedrequest second line"), "{run:?}");
}

#[tokio::test]
async fn profile_reads_a_named_section_of_the_credentials_file() {
    let emulator = Emulator::builder()
        .access_key("AKSTAGING01234567890", "staging-secret-key")
        .function(hello())
        .start()
        .await
        .unwrap();
    let home = scratch("home-with-profiles");
    std::fs::create_dir_all(home.join(".huaweicloud")).unwrap();
    std::fs::write(
        home.join(".huaweicloud/credentials"),
        format!(
            "[basic]\nak = AKBASIC0123456789012\nsk = basic-secret-key\n\n[staging]\nak = AKSTAGING01234567890\nsk = staging-secret-key\nproject_id = {}\n",
            emulator.project_id()
        ),
    )
    .unwrap();
    let with = |extra: &[&str]| {
        let mut args = vec!["invoke", "default/hello", "--region", emulator.region()];
        args.extend_from_slice(extra);
        fgs(args)
            .env("HOME", &home)
            .env("HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT", emulator.endpoint())
    };
    let run = with(&["--profile", "staging"]).run().await;
    assert_eq!(run.code, 0, "{run:?}");
    let signature = emulator.requests()[0].headers["authorization"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(signature.contains("Access=AKSTAGING01234567890"), "{signature}");

    // The variable works the same way; [basic] is the default and its keys are refused here.
    let run = with(&[]).env("HUAWEICLOUD_SDK_PROFILE", "staging").run().await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = with(&["--project-id", emulator.project_id()]).run().await;
    assert_eq!(run.code, 4, "{run:?}");
    let run = with(&["--profile", "prod"]).run().await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("there is no [prod] section"), "{run:?}");
}

#[tokio::test]
async fn dry_run_prints_the_signed_request_and_sends_nothing() {
    let emulator = Emulator::builder()
        .access_key("AKDRYRUN012345678901", "dry-run-secret-key")
        .function(hello())
        .start()
        .await
        .unwrap();
    let run = fgs([
        "invoke",
        "default/hello:!prod",
        "--region",
        emulator.region(),
        "--project-id",
        emulator.project_id(),
        "--data",
        r#"{"name":"fgs"}"#,
        "--log",
        "--dry-run",
    ])
    .env("HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT", emulator.endpoint())
    .env("HUAWEICLOUD_SDK_AK", "AKDRYRUN012345678901")
    .env("HUAWEICLOUD_SDK_SK", "dry-run-secret-key")
    .run()
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let urn = emulator.urn("default", "hello", Some("!prod"));
    let first = run.stdout.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "POST {}/v2/{}/fgs/functions/{}/invocations",
            emulator.endpoint(),
            emulator.project_id(),
            fgs_urn::encode_path_segment(&urn)
        ),
        "{run:?}"
    );
    assert!(run.stdout.contains("authorization: <redacted>\n"), "{run:?}");
    assert!(run.stdout.contains("x-cff-log-type: tail\n"), "{run:?}");
    assert!(
        run.stdout.contains("(14 bytes of body, not sent: --dry-run)"),
        "{run:?}"
    );
    assert!(!run.stdout.contains("dry-run-secret-key") && !run.stderr.contains("dry-run-secret-key"));
    assert_eq!(emulator.request_count(), 0, "nothing reached the emulator");

    // The project id cannot be looked up without sending: a clear error instead.
    let run = fgs(["invoke", "default/hello", "--region", emulator.region(), "--dry-run"])
        .env("HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT", emulator.endpoint())
        .env("HUAWEICLOUD_SDK_AK", "AKDRYRUN012345678901")
        .env("HUAWEICLOUD_SDK_SK", "dry-run-secret-key")
        .run()
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("HUAWEICLOUD_SDK_PROJECT_ID"), "{run:?}");
    assert_eq!(emulator.request_count(), 0);
}

#[tokio::test]
async fn quiet_prints_only_the_result() {
    let emulator = emulator().await;
    let run = invoke(&emulator, "hello", &["--quiet", "--data", r#"{"name":"q"}"#])
        .run()
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "{\n  \"greeting\": \"hello, q\"\n}\n");
    assert_eq!(run.stderr, "", "{run:?}");
}

#[tokio::test]
async fn retries_and_no_retry_bound_the_attempts() {
    // Throttled every time: sent once with --no-retry, 1 + N times with --retries N.
    let emulator = emulator().await;
    emulator.inject(fgs_emulator::FaultRule::always(fgs_emulator::Fault::throttled(
        Duration::ZERO,
    )));
    let run = invoke(&emulator, "hello", &["--no-retry"]).run().await;
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(emulator.request_count(), 1);
    let run = invoke(&emulator, "hello", &["--retries", "2"]).run().await;
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(emulator.request_count(), 4);
    let run = invoke(&emulator, "hello", &["--retries", "11"]).run().await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = invoke(&emulator, "hello", &["--retries", "1", "--no-retry"])
        .run()
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(emulator.request_count(), 4);
}

#[tokio::test]
async fn completions_and_the_manual_page_are_generated() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = fgs(["completions", shell]).run().await;
        assert_eq!(run.code, 0, "{shell}: {run:?}");
        for word in ["invoke", "local", "dry-run", "no-retry", "completions"] {
            assert!(run.stdout.contains(word), "{shell} lacks {word}: {run:?}");
        }
    }
    // Where bash is installed, its script parses.
    let bash = fgs(["completions", "bash"]).run().await;
    let script = scratch("completions").join("fgs.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    match std::process::Command::new("bash").arg("-n").arg(&script).output() {
        Ok(out) => assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => eprintln!("SKIPPED: bash -n on the completion script (bash not runnable: {e})"),
    }
    let run = fgs(["completions", "tcsh"]).run().await;
    assert_eq!(run.code, 2, "{run:?}");

    let man = fgs(["manpage"]).run().await;
    assert_eq!(man.code, 0, "{man:?}");
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH fgs"),
        "{man:?}"
    );
    assert!(man.stdout.contains("invoke"), "{man:?}");
}
