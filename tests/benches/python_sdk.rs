//! fgs against Huawei's official Python SDK (`huaweicloudsdkfunctiongraph`): synchronous
//! invokes per second of the same function on the same emulator, both AK/SK-signing.
//!
//! `cargo bench -p fgs-tests --bench python_sdk`:
//!
//! 1. finds Python 3.8+ with pip (`python3`, then `python`; as the emulator's interop test
//!    `crates/fgs-emulator/tests/official_python_sdk.rs` does) and installs the SDK pinned
//!    in `crates/fgs-emulator/tests/python/requirements.txt` with `pip install --target`
//!    into `target/python-bench` (or `$CARGO_TARGET_DIR/python-bench`), once: later runs
//!    reuse it while the pins are unchanged. Without Python or pip it prints `SKIPPED: ...`
//!    and exits 0.
//! 2. runs the emulator in a child process (this binary, re-executed with
//!    `FGS_BENCH_EMULATOR_CHILD=1` by `support/child_emulator.rs`), so that the server's
//!    CPU time is not mixed into the fgs client's process: AK/SK credentials only (an
//!    unsigned call is refused) and one function, `default/echo`, which returns its event.
//!    The child prints its endpoint on stdout and serves until its stdin closes. It keeps
//!    the emulator's default bounded window of records, the same for both sides.
//! 3. measures, at concurrency 1 and 16, for `FGS_BENCH_ROUNDS` (default 3) rounds of
//!    `FGS_BENCH_SECONDS` (default 5) each after `FGS_BENCH_WARMUP_SECONDS` (default 1)
//!    of warm-up, alternating which side goes first in each round:
//!    - fgs: `fgs::Client` on its default (reqwest) transport with
//!      `AkSkAuth::new(Credentials::new(AK, SK))`, `NoRetry` (the Python SDK does not
//!      retry by default either), invoking the full URN with `.json(&event)` (serialised
//!      per call) and a v1 response; one client shared by 16 Tokio tasks on a
//!      multi-thread runtime (the way a Rust program uses it); a fresh client per slice;
//!    - Python: `benches/python/invoke_load.py`, a fresh process per slice, 16 threads
//!      with one `FunctionGraphClient` each (`BasicCredentials(ak, sk, project_id)`, the
//!      emulator as the endpoint, configured as the interop test's script configures it),
//!      an `InvokeFunctionRequest` per call with the event as a dict (the SDK serialises
//!      it), v1 response; its environment is the bench's minus cargo's `CARGO*` variables
//!      (`requests` reads the whole environment on every call, looking for proxies).
//!
//!    Every call's outcome is checked (a status other than 200, a function error or any
//!    other failure is an error; one checked call per client compares the result with
//!    the event), and any error fails the run rather than being counted as throughput.
//!    The event is the same ~1 KB JSON object on both sides (1,024 bytes as fgs
//!    serialises it; the Python SDK's `simplejson` adds a space after each `:` and `,`).
//!
//! Counted: calls that finished inside the window, over the window. CPU time per call
//! (user + system): fgs from `/proc/self/stat` (the bench process: the client and its
//! runtime only), Python from `time.process_time()` in the script, the emulator from
//! `/proc/{child}/stat`; each over the window until the last call started in it has
//! finished, divided by the calls started in it. On a system without `/proc` the fgs and
//! emulator CPU columns are omitted.
//!
//! Run without `--bench` (as `cargo test --all-targets` does), it only smoke-tests: one
//! checked fgs call against the child emulator, and one Python call if the SDK is already
//! installed (it is not installed by a smoke run).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark: a failure should stop it

#[path = "support/child_emulator.rs"]
mod child_emulator;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use child_emulator::{EmulatorProcess, cpu_time};
use fgs::auth::{AkSkAuth, Credentials};
use fgs::{Client, FunctionUrn, ResponseVersion};
use fgs_emulator::{Emulator, EmulatorBuilder, Function, Handler};
use serde_json::{Value, json};

const AK: &str = "AKPYTHONSDKBENCH00001";
const SK: &str = "SKpythonSdkBench0123456789abcdefghijklmn";

const CONCURRENCY: [usize; 2] = [1, 16];
const EVENT_BYTES: usize = 1024;

/// Where the pinned SDK comes from and where the load script is.
fn requirements() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/fgs-emulator/tests/python/requirements.txt")
}

fn load_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python/invoke_load.py")
}

/// `target/python-bench` (or under `$CARGO_TARGET_DIR`).
fn sdk_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("python-bench")
}

const MARKER: &str = ".installed-requirements.txt";

// ---------------------------------------------------------------------------------------
// The emulator, in a child process
// ---------------------------------------------------------------------------------------

/// The child's emulator: AK/SK only, `default/echo` returning its event.
fn emulator_builder() -> EmulatorBuilder {
    let echo = Handler::from_fn(|event: Value, _ctx| async move { Ok(event) });
    Emulator::builder()
        .access_key(AK, SK)
        .function(Function::new(child_emulator::PACKAGE, child_emulator::NAME, echo))
}

fn since(before: Option<Duration>, after: Option<Duration>) -> Option<Duration> {
    Some(after?.saturating_sub(before?))
}

// ---------------------------------------------------------------------------------------
// One measured slice
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Fgs,
    Python,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Fgs => "fgs (reqwest)",
            Side::Python => "Python SDK",
        }
    }
}

/// What one side did in one window.
struct Slice {
    /// Calls that finished inside the window.
    in_window: u64,
    /// Calls started inside the window.
    calls: u64,
    window: Duration,
    /// The side's process CPU time from the window's start until its last call finished.
    cpu: Option<Duration>,
    /// The emulator's CPU time over the same span.
    server_cpu: Option<Duration>,
}

impl Slice {
    fn ips(&self) -> f64 {
        self.in_window as f64 / self.window.as_secs_f64()
    }
}

/// A JSON object of exactly `EVENT_BYTES` bytes as serde_json writes it.
fn event() -> Value {
    let make = |pad: String| json!({ "kind": "bench", "seq": 12345, "tags": ["a", "b", "c"], "data": pad });
    let empty = serde_json::to_vec(&make(String::new())).unwrap().len();
    let pad: String = "abcdefghijklmnopqrstuvwxyz0123456789"
        .chars()
        .cycle()
        .take(EVENT_BYTES - empty)
        .collect();
    let event = make(pad);
    assert_eq!(serde_json::to_vec(&event).unwrap().len(), EVENT_BYTES);
    event
}

fn fgs_client(emulator: &EmulatorProcess) -> Client {
    Client::builder()
        .endpoint_url(&emulator.endpoint)
        .auth(AkSkAuth::new(Credentials::new(AK, SK)))
        .retry_policy(fgs::retry::NoRetry)
        .build()
        .expect("fgs client")
}

/// One invoke; `Err` describes a failure of any kind.
async fn fgs_invoke(client: &Client, urn: &FunctionUrn, event: &Value) -> Result<fgs::InvokeOutput, String> {
    let output = client
        .invoke(urn)
        .json(event)
        .response_version(ResponseVersion::V1)
        .send()
        .await
        .map_err(|e| format!("{e:#}"))?;
    if output.status() != 200 || output.is_function_error() {
        return Err(format!(
            "status {}, function error {:?}",
            output.status(),
            output.function_error_code()
        ));
    }
    Ok(output)
}

/// A checked call: the result must be the event.
async fn fgs_check(client: &Client, urn: &FunctionUrn, event: &Value) {
    let output = fgs_invoke(client, urn, event)
        .await
        .unwrap_or_else(|e| panic!("fgs invoke failed: {e}"));
    let result: Value = output.result_json().expect("the result is JSON");
    assert_eq!(&result, event, "fgs: the result differs from the event");
}

/// Calls in a loop from `concurrency` tasks until `window` has passed; returns the calls
/// started, those finished inside the window, and the first error of any.
async fn fgs_drive(
    client: &Arc<Client>,
    urn: &Arc<FunctionUrn>,
    event: &Arc<Value>,
    concurrency: usize,
    window: Duration,
) -> (u64, u64, Option<String>) {
    let deadline = Instant::now() + window;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, urn, event) = (Arc::clone(client), Arc::clone(urn), Arc::clone(event));
        tasks.spawn(async move {
            let (mut calls, mut in_window) = (0u64, 0u64);
            while Instant::now() < deadline {
                calls += 1;
                if let Err(error) = fgs_invoke(&client, &urn, &event).await {
                    return (calls, in_window, Some(error));
                }
                in_window += u64::from(Instant::now() <= deadline);
            }
            (calls, in_window, None)
        });
    }
    let (mut calls, mut in_window, mut first_error) = (0, 0, None);
    while let Some(done) = tasks.join_next().await {
        let (c, w, error) = done.expect("a caller panicked");
        calls += c;
        in_window += w;
        first_error = first_error.or(error);
    }
    (calls, in_window, first_error)
}

async fn fgs_slice(
    emulator: &EmulatorProcess,
    event: &Arc<Value>,
    concurrency: usize,
    warmup: Duration,
    window: Duration,
) -> Slice {
    let client = Arc::new(fgs_client(emulator));
    let urn = Arc::new(emulator.urn.parse::<FunctionUrn>().expect("URN"));
    fgs_check(&client, &urn, event).await;
    let (_, _, error) = fgs_drive(&client, &urn, event, concurrency, warmup).await;
    if let Some(error) = error {
        panic!("fgs invoke failed during warm-up at concurrency {concurrency}: {error}");
    }
    let (cpu_before, server_before) = (cpu_time("self"), emulator.cpu());
    let (calls, in_window, error) = fgs_drive(&client, &urn, event, concurrency, window).await;
    let (cpu_after, server_after) = (cpu_time("self"), emulator.cpu());
    if let Some(error) = error {
        panic!("fgs invoke failed at concurrency {concurrency}: {error}");
    }
    Slice {
        in_window,
        calls,
        window,
        cpu: since(cpu_before, cpu_after),
        server_cpu: since(server_before, server_after),
    }
}

// ---------------------------------------------------------------------------------------
// Python
// ---------------------------------------------------------------------------------------

/// The first of `python3` and `python` that is Python 3.8+ with pip, or why there is none
/// (as `official_python_sdk.rs` looks for it).
fn python() -> Result<String, String> {
    let runs = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let version_ok = ["-c", "import sys; assert sys.version_info >= (3, 8)"];
    let candidates: Vec<&str> = ["python3", "python"]
        .into_iter()
        .filter(|candidate| runs(candidate, &version_ok))
        .collect();
    match candidates
        .iter()
        .find(|candidate| runs(candidate, &["-m", "pip", "--version"]))
    {
        Some(python) => Ok((*python).to_owned()),
        None if candidates.is_empty() => Err("no Python 3.8+ on PATH (tried python3 and python)".to_owned()),
        None => Err(format!("{} has no pip (`{0} -m pip --version` failed)", candidates[0])),
    }
}

/// The SDK's directory if the pinned requirements are installed there.
fn installed_sdk() -> Option<PathBuf> {
    let pins = std::fs::read_to_string(requirements()).expect("read the requirements file");
    let target = sdk_dir();
    (std::fs::read_to_string(target.join(MARKER)).ok()? == pins).then_some(target)
}

/// Installs the pinned SDK into its own directory, once per requirements file.
fn install_sdk(python: &str) -> PathBuf {
    if let Some(target) = installed_sdk() {
        return target;
    }
    let requirements = requirements();
    let pins = std::fs::read_to_string(&requirements).expect("read the requirements file");
    let target = sdk_dir();
    println!(
        "installing the official Python SDK ({}) into {} (once) ...",
        requirements.display(),
        target.display()
    );
    let _ = std::io::stdout().flush();
    let _ = std::fs::remove_dir_all(&target);
    let status = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "--target",
        ])
        .arg(&target)
        .arg("-r")
        .arg(&requirements)
        .status()
        .expect("run pip");
    assert!(
        status.success(),
        "pip could not install {} into {}",
        requirements.display(),
        target.display()
    );
    std::fs::write(target.join(MARKER), pins).expect("write the marker");
    target
}

struct Python {
    program: String,
    sdk: PathBuf,
}

impl Python {
    fn command(&self, emulator: &EmulatorProcess, event: &Value) -> Command {
        let mut command = Command::new(&self.program);
        // The environment of the shell that ran cargo: without the variables cargo adds
        // (requests walks the whole environment on every call, looking for proxies).
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("CARGO") {
                command.env_remove(name);
            }
        }
        command
            .arg(load_script())
            .env("PYTHONPATH", &self.sdk)
            .env("FGS_ENDPOINT", &emulator.endpoint)
            .env("FGS_AK", AK)
            .env("FGS_SK", SK)
            .env("FGS_PROJECT_ID", &emulator.project_id)
            .env("FGS_URN", &emulator.urn)
            .env("FGS_EVENT", event.to_string())
            // Keep the SDK from reaching for a proxy.
            .env("NO_PROXY", "*")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("http_proxy")
            .env_remove("https_proxy");
        command
    }

    /// Python's and the SDK's versions, from the script's `info`.
    fn versions(&self, emulator: &EmulatorProcess, event: &Value) -> Value {
        let output = self
            .command(emulator, event)
            .arg("info")
            .output()
            .expect("run the load script");
        assert!(
            output.status.success(),
            "the load script's `info` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("the load script's `info` is JSON")
    }

    /// One slice: a fresh process of the load script. Returns the slice and the body size
    /// the SDK sends.
    fn slice(
        &self,
        emulator: &EmulatorProcess,
        event: &Value,
        concurrency: usize,
        warmup: Duration,
        window: Duration,
    ) -> (Slice, u64) {
        let mut child = self
            .command(emulator, event)
            .arg("run")
            .arg(concurrency.to_string())
            .arg(warmup.as_secs_f64().to_string())
            .arg(window.as_secs_f64().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the load script");
        let mut stderr = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let (mut server_before, mut server_after, mut report) = (None, None, None);
        let mut stdout = String::new();
        for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
            let line = line.expect("read the load script's output");
            if line == "start" {
                server_before = emulator.cpu();
            } else if line.starts_with('{') {
                server_after = emulator.cpu();
                report = serde_json::from_str::<Value>(&line).ok();
            }
            stdout.push_str(&line);
            stdout.push('\n');
        }
        let status = child.wait().expect("wait for the load script");
        let stderr = stderr.join().unwrap_or_default();
        let Some(report) = report.filter(|_| status.success()) else {
            panic!("the Python load script failed ({status}):\n{stdout}{stderr}");
        };
        let errors = report["errors"].as_u64().expect("errors");
        if errors > 0 {
            panic!(
                "the Python SDK's invokes failed at concurrency {concurrency}: {errors} errors, the first: {}",
                report["first_error"]
            );
        }
        let slice = Slice {
            in_window: report["in_window"].as_u64().expect("in_window"),
            calls: report["calls"].as_u64().expect("calls"),
            window,
            cpu: Some(Duration::from_secs_f64(report["cpu_s"].as_f64().expect("cpu_s"))),
            server_cpu: since(server_before, server_after),
        };
        (slice, report["body_bytes"].as_u64().unwrap_or(0))
    }
}

// ---------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------

/// One side at one concurrency, over the rounds.
#[derive(Default)]
struct Samples {
    rounds: Vec<f64>,
    calls: u64,
    cpu: Option<Duration>,
    server_cpu: Option<Duration>,
}

impl Samples {
    fn add(&mut self, slice: &Slice) {
        let first = self.rounds.is_empty();
        self.rounds.push(slice.ips());
        self.calls += slice.calls;
        let sum = |total: Option<Duration>, part: Option<Duration>| match (first, total, part) {
            (true, _, part) => part,
            (false, Some(total), Some(part)) => Some(total + part),
            _ => None,
        };
        self.cpu = sum(self.cpu, slice.cpu);
        self.server_cpu = sum(self.server_cpu, slice.server_cpu);
    }

    fn median(&self) -> f64 {
        median(&self.rounds)
    }

    fn per_call(&self, cpu: Option<Duration>) -> String {
        match cpu {
            Some(cpu) if self.calls > 0 => format!("{:.0}", cpu.as_secs_f64() * 1e6 / self.calls as f64),
            _ => "-".to_owned(),
        }
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn range(values: &[f64], decimals: usize) -> String {
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(0.0, f64::max);
    format!("{low:.decimals$}-{high:.decimals$}")
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim())
        })
        .unwrap_or("unknown CPU");
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("nproc {nproc}, {model}")
}

fn rustc_version() -> String {
    Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown (`rustc --version` failed)".to_owned())
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn env_seconds(name: &str, default: f64) -> Duration {
    let value = std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(default);
    Duration::from_secs_f64(value.max(0.0))
}

// ---------------------------------------------------------------------------------------

fn main() {
    if child_emulator::serve_if_child(emulator_builder) {
        return;
    }
    let bench = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let event = Arc::new(event());

    if !bench {
        println!("python_sdk: smoke run (use `cargo bench` to measure)");
        let emulator = EmulatorProcess::start();
        runtime.block_on(async {
            let client = fgs_client(&emulator);
            let urn: FunctionUrn = emulator.urn.parse().expect("URN");
            fgs_check(&client, &urn, &event).await;
        });
        match (python(), installed_sdk()) {
            (Ok(program), Some(sdk)) => {
                let python = Python { program, sdk };
                python.slice(&emulator, &event, 1, Duration::ZERO, Duration::ZERO);
                println!("python_sdk: fgs and the Python SDK ok");
            }
            _ => println!("python_sdk: fgs ok (the Python SDK is not installed: not checked)"),
        }
        return;
    }

    let program = match python() {
        Ok(program) => program,
        Err(missing) => {
            println!(
                "SKIPPED: the fgs vs official Python SDK benchmark needs Python 3.8+ with pip: {missing}. \
                 Install them (e.g. `apt-get install python3 python3-pip`) and run it again."
            );
            return;
        }
    };
    let sdk = install_sdk(&program);
    let python = Python { program, sdk };

    let seconds = env_seconds("FGS_BENCH_SECONDS", 5.0);
    let warmup = env_seconds("FGS_BENCH_WARMUP_SECONDS", 1.0);
    let rounds = std::env::var("FGS_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(3)
        .max(1);

    let emulator = EmulatorProcess::start();
    let versions = python.versions(&emulator, &event);
    println!("machine: {}", machine());
    println!("rustc: {}", rustc_version());
    println!(
        "Python: {} {} ({}), huaweicloudsdkfunctiongraph {}, huaweicloudsdkcore {}",
        versions["implementation"].as_str().unwrap_or("?"),
        versions["python"].as_str().unwrap_or("?"),
        python.program,
        versions["sdk"].as_str().unwrap_or("?"),
        versions["core"].as_str().unwrap_or("?"),
    );
    println!(
        "emulator: a child process at {} (AK/SK only), function default/echo returning its event",
        emulator.endpoint
    );
    println!(
        "{rounds} rounds of {:.1} s per side and concurrency, each after {:.1} s of warm-up, fgs and Python \
         alternating; load average at start {}",
        seconds.as_secs_f64(),
        warmup.as_secs_f64(),
        load()
    );
    let _ = std::io::stdout().flush();

    let mut table = Vec::new();
    let mut python_body = 0;
    for concurrency in CONCURRENCY {
        let (mut fgs, mut py) = (Samples::default(), Samples::default());
        for round in 0..rounds {
            let order = if round % 2 == 0 {
                [Side::Fgs, Side::Python]
            } else {
                [Side::Python, Side::Fgs]
            };
            for side in order {
                let slice = match side {
                    Side::Fgs => runtime.block_on(fgs_slice(&emulator, &event, concurrency, warmup, seconds)),
                    Side::Python => {
                        let (slice, body) = python.slice(&emulator, &event, concurrency, warmup, seconds);
                        python_body = body;
                        slice
                    }
                };
                println!(
                    "  c={concurrency:<2} round {}/{rounds} {:<13} {:>8.0} inv/s",
                    round + 1,
                    side.label(),
                    slice.ips()
                );
                let _ = std::io::stdout().flush();
                match side {
                    Side::Fgs => fgs.add(&slice),
                    Side::Python => py.add(&slice),
                }
            }
        }
        table.push((concurrency, fgs, py));
    }
    let load_end = load();
    drop(emulator);

    println!();
    println!(
        "event: {EVENT_BYTES} B as fgs sends it, {python_body} B as the Python SDK sends it; v1 response (the \
         event echoed as the result); AK/SK signing on both sides"
    );
    println!(
        "(inv/s per round: lowest-highest over the rounds; CPU us/inv: user + system CPU time per invoke of the \
         side's own process, and of the emulator's process while that side ran; fgs/Python: median / median, and \
         per round: lowest-highest of the rounds' ratios)"
    );
    println!(
        "{:<13} {:>4} {:>17} {:>9} {:>8} {:>11} {:>12} {:>11} {:>11}",
        "side", "conc", "inv/s per round", "median", "calls", "CPU us/inv", "emulator us", "fgs/Python", "per round"
    );
    for (concurrency, fgs, py) in &table {
        let per_round: Vec<f64> = fgs.rounds.iter().zip(&py.rounds).map(|(f, p)| f / p).collect();
        for (side, samples) in [(Side::Fgs, fgs), (Side::Python, py)] {
            let (ratio, spread) = match side {
                Side::Fgs => (format!("{:.1}x", fgs.median() / py.median()), range(&per_round, 1)),
                Side::Python => (String::new(), String::new()),
            };
            let row = format!(
                "{:<13} {:>4} {:>17} {:>9.0} {:>8} {:>11} {:>12} {:>11} {:>11}",
                side.label(),
                concurrency,
                range(&samples.rounds, 0),
                samples.median(),
                samples.calls,
                samples.per_call(samples.cpu),
                samples.per_call(samples.server_cpu),
                ratio,
                spread
            );
            println!("{}", row.trim_end());
        }
    }
    println!();
    println!("load average at end {load_end}");
}
