//! The emulator in a child process, shared by the benchmarks that keep the server's CPU
//! time out of the client's process (`#[path = "support/child_emulator.rs"] mod child_emulator;`).
//!
//! The child is the benchmark's own binary, re-executed with `FGS_BENCH_EMULATOR_CHILD=1`:
//! its `main` first calls [`serve_if_child`] with the emulator it wants (the caller's
//! credentials and its function [`PACKAGE`]/[`NAME`]). The child prints one JSON line on
//! stdout (endpoint, the function's URN, project id) and serves until its stdin closes, so
//! a parent that exits or dies takes its child with it. The parent's handle,
//! [`EmulatorProcess`], waits at most [`READY_TIMEOUT`] for that line (a child that dies
//! or stays silent is an error, not a hang) and on drop closes the child's stdin and
//! reaps it, killing it if it has not exited after [`EXIT_TIMEOUT`].

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fgs_emulator::EmulatorBuilder;
use serde_json::{Value, json};

/// Set to `1` in the re-executed child that runs the emulator.
pub const CHILD_VAR: &str = "FGS_BENCH_EMULATOR_CHILD";

/// The function whose URN the child reports: the emulator must register it.
pub const PACKAGE: &str = "default";
pub const NAME: &str = "echo";

/// How long the child may take to print its endpoint (it is built already: seconds would
/// do, but a loaded machine starting a big binary can be slow).
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the child may take to shut down after its stdin closes.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// In `main`, before anything else: in the child, serves the emulator `build` makes (on a
/// multi-thread runtime of its own) until stdin closes, and returns `true`; in the
/// parent, returns `false` without calling `build`.
pub fn serve_if_child(build: impl FnOnce() -> EmulatorBuilder) -> bool {
    if !std::env::var(CHILD_VAR).is_ok_and(|v| v == "1") {
        return false;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let emulator = build().start().await.expect("start the emulator");
        let ready = json!({
            "endpoint": emulator.endpoint(),
            "urn": emulator.urn(PACKAGE, NAME, None),
            "project_id": emulator.project_id(),
        });
        {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{ready}").expect("stdout");
            stdout.flush().expect("stdout");
        }
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await
        .expect("stdin reader");
        emulator.shutdown().await;
    });
    true
}

/// The parent's handle on the child; dropping it closes the child's stdin and reaps it.
pub struct EmulatorProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    pub endpoint: String,
    pub urn: String,
    pub project_id: String,
}

impl EmulatorProcess {
    pub fn start() -> EmulatorProcess {
        let exe = std::env::current_exe().expect("current_exe");
        let mut child = Command::new(exe)
            .env(CHILD_VAR, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the emulator process");
        let stdin = child.stdin.take();
        // Read on a thread of its own so that a silent child cannot hold the parent: the
        // thread ends when the child's stdout closes, which killing the child ensures.
        let stdout = child.stdout.take().expect("child stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            let _ = sender.send(read);
        });
        let line = match receiver.recv_timeout(READY_TIMEOUT) {
            Ok(Ok(line)) => line,
            Ok(Err(error)) => {
                kill(&mut child);
                panic!("reading the emulator process's endpoint failed: {error}");
            }
            Err(_) => {
                kill(&mut child);
                panic!(
                    "the emulator process printed no endpoint within {} s",
                    READY_TIMEOUT.as_secs()
                );
            }
        };
        let ready: Value = match serde_json::from_str(line.trim()) {
            Ok(ready) => ready,
            Err(error) => {
                // An empty line is end of file: the child died before it was ready.
                let status = child.try_wait().ok().flatten();
                kill(&mut child);
                panic!("the emulator process printed {line:?} instead of its endpoint ({error}); exit: {status:?}");
            }
        };
        let text = |key: &str| ready[key].as_str().expect(key).to_owned();
        EmulatorProcess {
            endpoint: text("endpoint"),
            urn: text("urn"),
            project_id: text("project_id"),
            stdin,
            child,
        }
    }

    /// The child's CPU time so far (user + system); `None` without `/proc`.
    #[allow(dead_code)] // not every benchmark reports the server's CPU time
    pub fn cpu(&self) -> Option<Duration> {
        cpu_time(&self.child.id().to_string())
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                _ => break,
            }
        }
        eprintln!(
            "the emulator process did not exit within {} s of its stdin closing: killed",
            EXIT_TIMEOUT.as_secs()
        );
        kill(&mut self.child);
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// User plus system CPU time of a process (`self` or a pid) from `/proc/{pid}/stat`, in
/// clock ticks of 10 ms (`USER_HZ` is 100 on Linux); `None` without `/proc`.
#[allow(dead_code)] // not every benchmark reports the server's CPU time
pub fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // utime and stime are fields 14 and 15: 12 and 13 after the name, which is in
    // parentheses and may hold spaces.
    let (_, after) = stat.rsplit_once(')')?;
    let fields: Vec<u64> = after.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    Some(Duration::from_millis((fields.get(11)? + fields.get(12)?) * 10))
}
