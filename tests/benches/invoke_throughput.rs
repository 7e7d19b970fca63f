//! Invoke throughput and latency: the fgs client (on the reqwest and on the hyper
//! transport) against a floor, a hand-written hyper-util request loop doing the same HTTP
//! exchange, all against the in-process emulator over TCP on 127.0.0.1.
//!
//! `cargo bench -p fgs-tests --bench invoke_throughput` measures each configuration at
//! every point (concurrency 1, 16, 128; event 1 KB, 64 KB, 1 MB) for `FGS_BENCH_SECONDS`
//! (default 3), split into `FGS_BENCH_ROUNDS` (default 3) rounds that run the three
//! configurations in a rotated order, each slice after `FGS_BENCH_WARMUP_SECONDS`
//! (default 0.5) of warm-up, and prints one table. Run without `--bench` (as
//! `cargo test --all-targets` does) it only checks that the three configurations work and
//! that the floor sends what the SDK sends.
//!
//! What is measured, per call: building the request, sending it and reading the whole
//! response body. The event is pre-serialised `Bytes` (the SDK gets it with `.body(..)`),
//! so serialisation is not measured; the function's result JSON is decoded in none of the
//! three. What the SDK always does on `send()` (the typed response headers, including the
//! `X-Cff-Invoke-Summary` JSON, and the v1 envelope) is part of what it costs, and so is
//! counted against it; so is its whole-call timeout (the floor sets none). The SDK runs
//! with `NoRetry`, a static token and its default timeout. The floor sends the same
//! method, path, headers and body as the SDK on the hyper transport (checked before
//! measuring; reqwest adds `accept: */*`).
//!
//! The emulator and the callers share one multi-thread Tokio runtime (one worker per
//! core), so on a small machine the numbers are CPU-bound: SDK work shows up as lost
//! throughput. Every slice gets a fresh emulator and a fresh client (the emulator keeps a
//! record of every request and event, which at 1 MB is a lot of memory), so each slice
//! opens its connections during its warm-up. The CPU columns give the process's CPU time
//! per invocation, which background load disturbs less than throughput.
//!
//! For analysis: `FGS_BENCH_RUNTIMES=split` gives the emulator and the callers a runtime
//! of one worker each and counts only the callers' CPU time (what the client side costs
//! per call); `FGS_BENCH_CONFIGS=floor,reqwest,hyper`, `FGS_BENCH_CONCURRENCY=1,16,128`
//! and `FGS_BENCH_PAYLOADS=1kb,64kb,1mb` run a part of the table (e.g. under a profiler).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark: a failure should stop it

use std::io::Write as _;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use fgs::auth::StaticToken;
use fgs::transport::ReqwestTransport;
use fgs::{Client, FunctionUrn};
use fgs_emulator::{Emulator, Function, Handler};
use fgs_transport_hyper::HyperTransport;
use http::{HeaderName, HeaderValue, Method, Uri, header};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde_json::{Value, json};

const TOKEN: &str = "bench-token";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const CONCURRENCY: [usize; 3] = [1, 16, 128];
const KIB: usize = 1024;
const PAYLOADS: [(usize, &str); 3] = [(KIB, "1 KB"), (64 * KIB, "64 KB"), (KIB * KIB, "1 MB")];

/// The SDK's `User-Agent`, sent by the floor too so that the bytes on the wire match.
const USER_AGENT: &str = "fgs-rust/0.1.0";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Config {
    /// The hand-written hyper-util loop: the floor.
    Floor,
    /// The fgs client on its default transport.
    Reqwest,
    /// The fgs client on `fgs-transport-hyper`.
    Hyper,
}

impl Config {
    const ALL: [Config; 3] = [Config::Floor, Config::Reqwest, Config::Hyper];

    fn label(self) -> &'static str {
        match self {
            Config::Floor => "floor (raw hyper-util)",
            Config::Reqwest => "fgs + reqwest",
            Config::Hyper => "fgs + hyper",
        }
    }
}

/// One way of making the call.
#[allow(clippy::large_enum_variant)] // one per point, behind an `Arc`
enum Caller {
    Sdk {
        client: Client,
        urn: FunctionUrn,
    },
    Floor {
        client: HyperClient<HttpConnector, Full<Bytes>>,
        uri: Uri,
        content_type: HeaderValue,
        user_agent: HeaderValue,
        version: HeaderValue,
        token: HeaderValue,
    },
}

const X_CFF_REQUEST_VERSION: HeaderName = HeaderName::from_static("x-cff-request-version");
const X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");

impl Caller {
    fn new(config: Config, emulator: &Emulator) -> Caller {
        let urn_text = emulator.urn("default", "echo", None);
        let sdk = |client: fgs::ClientBuilder| Caller::Sdk {
            client: client
                .endpoint_url(emulator.endpoint())
                .auth(StaticToken::new(TOKEN))
                .retry_policy(fgs::retry::NoRetry)
                .build()
                .expect("client"),
            urn: urn_text.parse().expect("URN"),
        };
        match config {
            Config::Reqwest => {
                sdk(Client::builder().transport(ReqwestTransport::new(CONNECT_TIMEOUT).expect("reqwest transport")))
            }
            Config::Hyper => {
                sdk(Client::builder().transport(HyperTransport::new(CONNECT_TIMEOUT).expect("hyper transport")))
            }
            Config::Floor => {
                // As the hyper transport configures its pool, minus TLS.
                let mut connector = HttpConnector::new();
                connector.set_nodelay(true);
                connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
                let client = HyperClient::builder(TokioExecutor::new())
                    .pool_timer(TokioTimer::new())
                    .build(connector);
                // The URN percent-encoded as one path segment, as the SDK sends it.
                let path = format!(
                    "/v2/{}/fgs/functions/{}/invocations",
                    emulator.project_id(),
                    urn_text.replace(':', "%3A")
                );
                Caller::Floor {
                    client,
                    uri: format!("{}{path}", emulator.endpoint()).parse().expect("URI"),
                    content_type: HeaderValue::from_static("application/json"),
                    user_agent: HeaderValue::from_static(USER_AGENT),
                    version: HeaderValue::from_static("v1"),
                    token: HeaderValue::from_static(TOKEN),
                }
            }
        }
    }

    /// One invoke; returns the response status and the result as text (the SDK's decoded
    /// `result`, or the floor's raw v1 body) for checks outside the measured loop.
    async fn call(&self, body: Bytes) -> (u16, Bytes) {
        match self {
            Caller::Sdk { client, urn } => {
                let output = client.invoke(urn).body(body).send().await.expect("invoke");
                (output.status().as_u16(), output.result().clone())
            }
            Caller::Floor {
                client,
                uri,
                content_type,
                user_agent,
                version,
                token,
            } => {
                let mut request = http::Request::new(Full::new(body));
                *request.method_mut() = Method::POST;
                *request.uri_mut() = uri.clone();
                let headers = request.headers_mut();
                headers.insert(header::CONTENT_TYPE, content_type.clone());
                headers.insert(header::USER_AGENT, user_agent.clone());
                headers.insert(X_CFF_REQUEST_VERSION, version.clone());
                headers.insert(X_AUTH_TOKEN, token.clone());
                let response = client.request(request).await.expect("floor request");
                let status = response.status().as_u16();
                let body = response.into_body().collect().await.expect("floor body").to_bytes();
                (status, body)
            }
        }
    }
}

/// A JSON object whose serialised size is exactly `size` bytes: a few fields and a long
/// string (so that the emulator's parse of the event stays cheap and the same for all).
fn payload(size: usize) -> Bytes {
    let empty = serde_json::to_vec(&json!({ "kind": "bench", "seq": 12345, "data": "" })).unwrap();
    let pad: String = "abcdefghijklmnopqrstuvwxyz0123456789"
        .chars()
        .cycle()
        .take(size - empty.len())
        .collect();
    let bytes = serde_json::to_vec(&json!({ "kind": "bench", "seq": 12345, "data": pad })).unwrap();
    assert_eq!(bytes.len(), size);
    Bytes::from(bytes)
}

/// The runtime the emulator runs on when it has its own (`FGS_BENCH_RUNTIMES=split`).
static SERVER_RUNTIME: OnceLock<tokio::runtime::Handle> = OnceLock::new();

/// Thread names of the two runtimes, for telling their CPU time apart.
const CLIENT_THREADS: &str = "bench-client";
const SERVER_THREADS: &str = "bench-server";

/// An emulator with `default/echo`, which answers every event with the same small JSON.
async fn emulator() -> Emulator {
    let start = async {
        let echo = Handler::from_fn(|event: Value, _ctx| async move {
            Ok(json!({ "ok": true, "kind": event["kind"], "seq": event["seq"] }))
        });
        Emulator::builder()
            .token(TOKEN)
            .function(Function::new("default", "echo", echo))
            .start()
            .await
            .expect("start the emulator")
    };
    match SERVER_RUNTIME.get() {
        Some(server) => server.spawn(start).await.expect("start the emulator"),
        None => start.await,
    }
}

const EXPECTED_RESULT: &str = r#"{"kind":"bench","ok":true,"seq":12345}"#;

/// Checks one call's outcome outside the measured loop.
fn check(config: Config, status: u16, body: &Bytes) {
    assert_eq!(status, 200, "{config:?}");
    let result = match config {
        Config::Floor => {
            let envelope: Value = serde_json::from_slice(body).unwrap();
            envelope["result"].as_str().unwrap().to_owned()
        }
        Config::Reqwest | Config::Hyper => String::from_utf8(body.to_vec()).unwrap(),
    };
    let value: Value = serde_json::from_str(&result).unwrap();
    assert_eq!(
        value,
        serde_json::from_str::<Value>(EXPECTED_RESULT).unwrap(),
        "{config:?}"
    );
}

/// What the callers of one slice did.
struct Run {
    /// Latency of every call started in the window, in nanoseconds.
    latencies: Vec<u64>,
    /// Calls that finished inside the window.
    in_window: usize,
}

/// Runs `concurrency` callers in a loop, each starting calls until `window` has passed.
/// Throughput counts the calls that finished inside the window (the calls still in
/// flight at its end would otherwise stretch it by up to a tail latency); latencies are
/// those of every call started inside it.
async fn drive(caller: &Arc<Caller>, body: &Bytes, concurrency: usize, window: Duration) -> Run {
    let deadline = Instant::now() + window;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let caller = Arc::clone(caller);
        let body = body.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(1024);
            let mut in_window = 0;
            while Instant::now() < deadline {
                let started = Instant::now();
                let (status, _) = caller.call(body.clone()).await;
                let finished = Instant::now();
                latencies.push((finished - started).as_nanos() as u64);
                in_window += usize::from(finished <= deadline);
                assert_eq!(status, 200);
            }
            (latencies, in_window)
        });
    }
    let mut run = Run {
        latencies: Vec::new(),
        in_window: 0,
    };
    while let Some(done) = tasks.join_next().await {
        let (latencies, in_window) = done.expect("a caller panicked");
        run.latencies.extend(latencies);
        run.in_window += in_window;
    }
    run
}

/// One configuration's calls at one point, summed over the rounds.
#[derive(Default)]
struct Samples {
    latencies: Vec<u64>,
    /// Calls that finished inside the measuring windows, and the windows' total length.
    in_window: usize,
    window: Duration,
    /// CPU time of the whole process (emulator, client, runtime) while measuring.
    cpu: Duration,
    /// Invocations per second of each round.
    round_ips: Vec<f64>,
}

impl Samples {
    fn ips(&self) -> f64 {
        self.in_window as f64 / self.window.as_secs_f64()
    }

    /// Process CPU time per invocation (from the start of the window until the last call
    /// started in it has finished), in microseconds.
    fn cpu_per_call(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.latencies.len() as f64
    }
}

/// User plus system CPU time so far (from `/proc`, in clock ticks of 10 ms: `USER_HZ` is
/// 100 on Linux): of the whole process, or of its threads whose name starts with `threads`.
fn cpu_time(threads: Option<&str>) -> Duration {
    // utime and stime, fields 14 and 15 of a stat line: 12 and 13 after the name, which
    // is in parentheses and may hold spaces.
    let ticks = |stat: &str| -> (String, u64) {
        let (head, after) = stat.rsplit_once(')').unwrap_or(("", ""));
        let name = head.split_once('(').map_or("", |(_, n)| n).to_owned();
        let fields: Vec<u64> = after.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
        (
            name,
            fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0),
        )
    };
    let total = match threads {
        None => ticks(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default()).1,
        Some(prefix) => std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .flatten()
                    .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
                    .map(|stat| ticks(&stat))
                    .filter(|(name, _)| name.starts_with(prefix))
                    .map(|(_, ticks)| ticks)
                    .sum()
            })
            .unwrap_or(0),
    };
    Duration::from_millis(total * 10)
}

/// Nearest-rank percentile of sorted nanoseconds, in milliseconds.
fn percentile(sorted: &[u64], p: f64) -> f64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1e6
}

/// One slice of a point: a fresh emulator and caller, a checked call, warm-up, then a
/// `window` of measured calls. Returns the calls and the process CPU time they took.
async fn slice(
    config: Config,
    concurrency: usize,
    body: &Bytes,
    warmup: Duration,
    window: Duration,
) -> (Run, Duration) {
    let emulator = emulator().await;
    let caller = Arc::new(Caller::new(config, &emulator));
    let (status, result) = caller.call(body.clone()).await;
    check(config, status, &result);
    drive(&caller, body, concurrency, warmup).await;
    // With split runtimes, only the callers' side (the client's runtime) is counted.
    let threads = SERVER_RUNTIME.get().map(|_| CLIENT_THREADS);
    let cpu_before = cpu_time(threads);
    let run = drive(&caller, body, concurrency, window).await;
    let cpu = cpu_time(threads).saturating_sub(cpu_before);
    // The client's connections go first, then the server (and what it recorded).
    drop(caller);
    drop(emulator);
    (run, cpu)
}

/// Prints what each configuration sent, and fails if the floor's request differs from the
/// SDK's on the hyper transport in method, path, headers or body (reqwest adds `accept`).
async fn wire_check() {
    let emulator = emulator().await;
    let body = payload(KIB);
    let mut seen = Vec::new();
    for config in Config::ALL {
        let before = emulator.request_count();
        let (status, result) = Caller::new(config, &emulator).call(body.clone()).await;
        check(config, status, &result);
        let request = emulator.requests().swap_remove(before);
        let mut names: Vec<String> = request.headers.keys().map(|n| n.as_str().to_owned()).collect();
        names.sort();
        println!(
            "  {:<24} {} {} [{}]",
            config.label(),
            request.method,
            request.path,
            names.join(", ")
        );
        assert_eq!(request.body, body, "{config:?} sent another body");
        seen.push(request);
    }
    let (floor, hyper) = (&seen[0], &seen[2]);
    assert_eq!(floor.method, hyper.method, "the floor's method differs from the SDK's");
    assert_eq!(floor.path, hyper.path, "the floor's path differs from the SDK's");
    assert_eq!(
        floor.headers, hyper.headers,
        "the floor's headers differ from the SDK's (hyper transport)"
    );
}

fn env_seconds(name: &str, default: f64) -> Duration {
    let value = std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(default);
    Duration::from_secs_f64(value.max(0.0))
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
    let listed = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let usable = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {listed} logical CPUs listed, {usable} usable")
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// A comma-separated list from the environment, for running a part of the table (when
/// profiling, say); `None` when unset.
fn env_list(name: &str) -> Option<Vec<String>> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .split(',')
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    // `split`: the emulator and the callers get a runtime (and a core) each, and the CPU
    // column counts the callers' runtime only: what the client side costs per call.
    let split = std::env::var("FGS_BENCH_RUNTIMES").is_ok_and(|v| v.trim().eq_ignore_ascii_case("split"));
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name(CLIENT_THREADS);
    let server_runtime = split.then(|| {
        builder.worker_threads(1);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(SERVER_THREADS)
            .enable_all()
            .build()
            .expect("server runtime")
    });
    if let Some(server) = &server_runtime {
        let _ = SERVER_RUNTIME.set(server.handle().clone());
    }
    let runtime = builder.build().expect("runtime");
    let workers = runtime.metrics().num_workers();
    let layout = if split {
        "two tokio multi-thread runtimes of 1 worker each, one for the emulator and one for the callers \
         (CPU columns: the callers' runtime only)"
            .to_owned()
    } else {
        format!("tokio multi-thread runtime, {workers} workers, shared by the emulator and the callers")
    };
    runtime.block_on(async {
        if !bench {
            println!("invoke_throughput: smoke run (use `cargo bench` to measure)");
            wire_check().await;
            for (size, _) in PAYLOADS {
                for config in Config::ALL {
                    let emulator = emulator().await;
                    let (status, result) = Caller::new(config, &emulator).call(payload(size)).await;
                    check(config, status, &result);
                }
            }
            println!("invoke_throughput: ok");
            return;
        }
        let seconds = env_seconds("FGS_BENCH_SECONDS", 3.0);
        let warmup = env_seconds("FGS_BENCH_WARMUP_SECONDS", 0.5);
        let rounds = std::env::var("FGS_BENCH_ROUNDS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(3)
            .max(1);
        let per_round = seconds / rounds as u32;
        // Optional filters, e.g. FGS_BENCH_CONFIGS=hyper FGS_BENCH_CONCURRENCY=128
        // FGS_BENCH_PAYLOADS=1kb to profile one configuration at one point.
        let configs: Vec<Config> = match env_list("FGS_BENCH_CONFIGS") {
            Some(names) => Config::ALL
                .into_iter()
                .filter(|c| names.iter().any(|n| format!("{c:?}").eq_ignore_ascii_case(n)))
                .collect(),
            None => Config::ALL.to_vec(),
        };
        let concurrencies: Vec<usize> = match env_list("FGS_BENCH_CONCURRENCY") {
            Some(values) => CONCURRENCY
                .into_iter()
                .filter(|c| values.contains(&c.to_string()))
                .collect(),
            None => CONCURRENCY.to_vec(),
        };
        let payloads: Vec<(usize, &str)> = match env_list("FGS_BENCH_PAYLOADS") {
            Some(values) => PAYLOADS
                .into_iter()
                .filter(|(_, label)| values.contains(&label.replace(' ', "").to_ascii_lowercase()))
                .collect(),
            None => PAYLOADS.to_vec(),
        };

        println!("machine: {}", machine());
        println!(
            "{layout}; {:.1} s measured per point and configuration, in {rounds} rounds of {:.2} s, each after {:.2} s \
             of warm-up on a fresh emulator and client; load average at start {}",
            seconds.as_secs_f64(),
            per_round.as_secs_f64(),
            warmup.as_secs_f64(),
            load()
        );
        println!("requests on the wire (1 KB event):");
        wire_check().await;
        println!();
        println!(
            "(floor/client: floor inv/s / client inv/s, target < 1.10; per round: its lowest and highest value \
             over the rounds; CPU us/inv: {} CPU time, user + system, per invocation; CPU ratio: client / floor)",
            if split {
                "the callers' runtime's"
            } else {
                "the whole process's (emulator and callers)"
            }
        );
        println!(
            "{:<22} {:>4} {:>7} {:>8} {:>8} {:>8} {:>8} {:>7} {:>12} {:>11} {:>9} {:>9}",
            "config",
            "conc",
            "payload",
            "inv/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "calls",
            "floor/client",
            "per round",
            "CPU us/inv",
            "CPU ratio"
        );
        let mut misses = Vec::new();
        for (size, size_label) in payloads {
            let body = payload(size);
            for &concurrency in &concurrencies {
                // The point's time is split into rounds, each running every configuration
                // once in a rotated order, so that a change in background load while the
                // point runs falls on all three alike.
                let mut samples: Vec<Samples> = configs.iter().map(|_| Samples::default()).collect();
                for round in 0..rounds {
                    for k in 0..configs.len() {
                        let index = (round + k) % configs.len();
                        let (run, cpu) = slice(configs[index], concurrency, &body, warmup, per_round).await;
                        let entry = &mut samples[index];
                        entry.round_ips.push(run.in_window as f64 / per_round.as_secs_f64());
                        entry.latencies.extend(run.latencies);
                        entry.in_window += run.in_window;
                        entry.window += per_round;
                        entry.cpu += cpu;
                    }
                }
                for entry in &mut samples {
                    entry.latencies.sort_unstable();
                }
                let floor = configs.iter().position(|c| *c == Config::Floor).map(|i| &samples[i]);
                for (config, entry) in configs.iter().zip(&samples) {
                    let ips = entry.ips();
                    let (ratio, spread, cpu_ratio) = match floor {
                        Some(floor) if *config != Config::Floor => {
                            let ratio = floor.ips() / ips;
                            if ratio >= 1.10 {
                                misses.push(format!(
                                    "{} at concurrency {concurrency}, {size_label}: {ratio:.2}",
                                    config.label()
                                ));
                            }
                            let per_round: Vec<f64> = floor
                                .round_ips
                                .iter()
                                .zip(&entry.round_ips)
                                .map(|(f, c)| f / c)
                                .collect();
                            let low = per_round.iter().copied().fold(f64::INFINITY, f64::min);
                            let high = per_round.iter().copied().fold(0.0, f64::max);
                            (
                                format!("{ratio:.2}"),
                                format!("{low:.2}-{high:.2}"),
                                format!("{:.2}", entry.cpu_per_call() / floor.cpu_per_call()),
                            )
                        }
                        _ => ("-".to_owned(), String::new(), "-".to_owned()),
                    };
                    println!(
                        "{:<22} {:>4} {:>7} {:>8.0} {:>8.3} {:>8.3} {:>8.3} {:>7} {:>12} {:>11} {:>9.1} {:>9}",
                        config.label(),
                        concurrency,
                        size_label,
                        ips,
                        percentile(&entry.latencies, 0.50),
                        percentile(&entry.latencies, 0.90),
                        percentile(&entry.latencies, 0.99),
                        entry.latencies.len(),
                        ratio,
                        spread,
                        entry.cpu_per_call(),
                        cpu_ratio
                    );
                }
                let _ = std::io::stdout().flush();
            }
        }
        println!();
        println!("load average at end {}", load());
        if misses.is_empty() {
            println!("floor/client < 1.10 everywhere");
        } else {
            println!("floor/client >= 1.10 (target missed):");
            for miss in misses {
                println!("  {miss}");
            }
        }
    });
}
