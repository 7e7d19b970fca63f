#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test
//! The README's command-line walk-throughs, run as written.
//!
//! A `<!-- walkthrough: server -->` block holds the command of terminal 1 (`fgs local ...`),
//! started in the background; each `<!-- walkthrough: client -->` block after it is a
//! console session of terminal 2: every `$ ` line runs through `sh` at the repository's
//! root, with the `fgs` under test first on PATH and nothing else in the environment but
//! HOME and a runtime directory of its own, and its output (stdout and stderr, as a
//! terminal shows them) must be the lines shown. Request ids, times, ports and durations
//! vary from run to run and are compared by shape only (see [`shape`]).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fgs_emulator::LocalState;

const FGS: &str = env!("CARGO_BIN_EXE_fgs");
const README: &str = include_str!("../../../README.md");
const RUN_LIMIT: Duration = Duration::from_secs(60);

#[derive(Debug, PartialEq)]
enum Step {
    /// Terminal 1: a command that keeps running.
    Server(String),
    /// Terminal 2: a command and the output shown for it.
    Client { command: String, output: Vec<String> },
}

/// The fenced block after each walkthrough marker, in document order.
fn steps(readme: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let kind = match line.trim() {
            "<!-- walkthrough: server -->" => "server",
            "<!-- walkthrough: client -->" => "client",
            _ => continue,
        };
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "a walkthrough marker must precede a code block, not {fence:?}"
        );
        let block: Vec<&str> = lines.by_ref().take_while(|line| !line.starts_with("```")).collect();
        if kind == "server" {
            assert_eq!(block.len(), 1, "a server block holds one command: {block:?}");
            steps.push(Step::Server(block[0].to_owned()));
            continue;
        }
        let mut current: Option<(String, Vec<String>)> = None;
        for line in block {
            if let Some(command) = line.strip_prefix("$ ") {
                steps.extend(current.take().map(client));
                current = Some((command.to_owned(), Vec::new()));
            } else {
                let (_, output) = current
                    .as_mut()
                    .unwrap_or_else(|| panic!("output before any `$ ` command: {line:?}"));
                output.push(line.to_owned());
            }
        }
        steps.extend(current.map(client));
    }
    steps
}

fn client((command, mut output): (String, Vec<String>)) -> Step {
    // The blank line that separates one command from the next is not output.
    while output.last().is_some_and(|line| line.trim().is_empty()) {
        output.pop();
    }
    Step::Client { command, output }
}

/// Text with everything that varies between runs replaced by `#`: each run of hex
/// digits, `.`, `:` and `-` that holds a digit and is a request id, a time, an address
/// or a fraction (it holds a separator or a hex letter, or is 4 characters or longer).
/// Short plain numbers (exit codes, HTTP statuses, memory sizes) are compared as they are.
fn shape(text: &str) -> String {
    let in_run = |c: char| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '-');
    let mut shaped = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, shaped: &mut String| {
        let has_digit = run.chars().any(|c| c.is_ascii_digit());
        let varies = run.chars().any(|c| !c.is_ascii_digit()) || run.len() >= 4;
        if has_digit && varies {
            shaped.push('#');
        } else {
            shaped.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if in_run(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut shaped);
            shaped.push(c);
        }
    }
    flush(&mut run, &mut shaped);
    shaped.trim_end().to_owned()
}

/// The repository's root, where the README's commands are run.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A shell running `command` as a user of the README would, with the `fgs` under test.
fn shell(runtime: &Path, command: &str) -> tokio::process::Command {
    let bin = Path::new(FGS).parent().unwrap();
    let mut path = std::ffi::OsString::from(bin);
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    let mut shell = tokio::process::Command::new("sh");
    shell
        .arg("-c")
        .arg(command)
        .current_dir(root())
        .env_clear()
        .env("PATH", path)
        .env("HOME", runtime.join("home"))
        .env("XDG_RUNTIME_DIR", runtime)
        // The README's `fgs local` listens on 8000; here, on any free port.
        .env("FGS_EMULATOR_PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    shell
}

/// Starts a server step and waits for its state file.
async fn start(runtime: &Path, command: &str) -> tokio::process::Child {
    let state_file = runtime.join("fgs").join(LocalState::FILE_NAME);
    let _ = std::fs::remove_file(&state_file);
    // `exec`: the shell becomes `fgs local`, so the signal below reaches it.
    let child = shell(runtime, &format!("exec {command}")).spawn().unwrap();
    tokio::time::timeout(RUN_LIMIT, async {
        while LocalState::read(&state_file).is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("`{command}` wrote no state file in time"));
    child
}

async fn stop(mut child: tokio::process::Child) {
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(RUN_LIMIT, child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "fgs local stopped with {status:?}");
}

#[tokio::test]
async fn the_readme_walkthroughs_run_as_written() {
    let steps = steps(README);
    let servers = steps.iter().filter(|s| matches!(s, Step::Server(_))).count();
    let clients = steps.len() - servers;
    assert!(
        servers >= 2 && clients >= 8,
        "the walkthrough markers are missing: {steps:?}"
    );
    assert!(matches!(&steps[0], Step::Server(command) if command == "fgs local"));

    let runtime = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("readme-walkthrough-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&runtime);
    std::fs::create_dir_all(runtime.join("home")).unwrap();

    let mut server = None;
    for step in &steps {
        match step {
            Step::Server(command) => {
                if let Some(previous) = server.take() {
                    stop(previous).await;
                }
                server = Some(start(&runtime, command).await);
            }
            Step::Client { command, output } => {
                assert!(server.is_some(), "`{command}` comes before any server block");
                let child = shell(&runtime, &format!("exec 2>&1; {command}")).spawn().unwrap();
                let ran = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
                    .await
                    .unwrap_or_else(|_| panic!("`{command}` did not finish in time"))
                    .unwrap();
                let got = String::from_utf8(ran.stdout).unwrap();
                let expected = output.join("\n");
                assert_eq!(
                    shape(&got),
                    shape(&expected),
                    "`{command}` printed\n{got}\nbut the README shows\n{expected}"
                );
            }
        }
    }
    stop(server.unwrap()).await;
    assert!(!runtime.join("fgs").join(LocalState::FILE_NAME).exists());
}

#[test]
fn shapes_keep_what_is_fixed_and_hide_what_varies() {
    assert_eq!(
        shape("request id: 2b0f6c1e-93a4-4d8e-a6f1-5c7d9e3b8a20"),
        shape("request id: 7b752118-3f68-4bce-867f-2065cbf0cf4a")
    );
    assert_eq!(shape("POST http://127.0.0.1:43213/x"), "POST http://#/x");
    assert_eq!(shape("\"duration\": 4.212,"), "\"duration\": #,");
    assert_ne!(shape("exit 3"), shape("exit 4"));
    assert_ne!(shape("error: FSS.1051 (HTTP 404)"), shape("error: FSS.1051 (HTTP 500)"));
    assert_ne!(shape("\"version\": \"v1\""), shape("\"version\": \"latest\""));
    assert_eq!(shape("x-sdk-date: 20261129T221320Z"), "x-sdk-date: #T#Z");
}

#[test]
fn walkthrough_blocks_are_parsed_into_commands_and_output() {
    let readme = "text\n<!-- walkthrough: server -->\n```sh\nfgs local\n```\n\n<!-- walkthrough: client -->\n```console\n$ a\none\ntwo\n\n$ b; echo \"exit $?\"\nexit 0\n```\n";
    assert_eq!(
        steps(readme),
        [
            Step::Server("fgs local".into()),
            Step::Client {
                command: "a".into(),
                output: vec!["one".into(), "two".into()]
            },
            Step::Client {
                command: "b; echo \"exit $?\"".into(),
                output: vec!["exit 0".into()]
            },
        ]
    );
}
