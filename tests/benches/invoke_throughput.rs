//! Invoke throughput and CPU time per call: the fgs client (on the reqwest and on the
//! hyper transport, with a static token and with AK/SK signing) against two floors,
//! hand-written hyper-util request loops doing the same HTTP exchange, all against the
//! emulator over TCP on 127.0.0.1.
//!
//! `cargo bench -p fgs-tests --bench invoke_throughput` measures each configuration at
//! every point (concurrency 1, 16, 128; event 1 KB, 64 KB, 1 MB) for `FGS_BENCH_SECONDS`
//! (default 3), split into `FGS_BENCH_ROUNDS` (default 3) rounds that run the
//! configurations in a rotated order, each slice after `FGS_BENCH_WARMUP_SECONDS`
//! (default 0.5) of warm-up, and prints one table. Run without `--bench` (as
//! `cargo test --all-targets` does) it only runs the wire check (below) and one checked
//! call per configuration and event size, against a fresh emulator per event size where
//! `FGS_BENCH_EMULATOR` puts it.
//!
//! The configurations (their `FGS_BENCH_CONFIGS` names in brackets; all six by default):
//! - floor (`floor`): a hyper-util client, configured as the hyper transport configures
//!   its pool (minus TLS), sending the SDK's request and reading the whole response body;
//!   it decodes nothing.
//! - fair floor (`fairfloor`): the same exchange plus the decoding any client must do: the
//!   v1 envelope `{request_id, result, log, status}` into a small serde struct (the result
//!   as an unescaped `String`), the `X-Cff-Invoke-Summary` header's JSON into another, and
//!   `X-Cff-Request-Id` read as `&str`. A missing header fails the run.
//! - fgs + reqwest (`reqwest`) and fgs + hyper (`hyper`): `fgs::Client` on its default
//!   transport and on the hyper transport (`fgs::transport::HyperTransport`), with a static token, `NoRetry` and its
//!   default timeout.
//! - fgs + reqwest (AK/SK) (`reqwest-aksk`) and fgs + hyper (AK/SK) (`hyper-aksk`): the
//!   same clients signing every request with `AkSkAuth` (a permanent key pair).
//!
//! What is measured, per call: building the request, sending it and reading the whole
//! response body. The event is pre-serialised `Bytes` (the SDK gets it with `.body(..)`),
//! so serialisation is not measured; the function's result JSON is decoded by none. What
//! the SDK always does on `send()` (the typed response headers, including the summary
//! JSON, and the v1 envelope) counts against it, and so does its whole-call timeout (the
//! floors set none). The wire check, before measuring and in the smoke run, prints what
//! each configuration sends to an in-process emulator and fails unless the floor's and
//! the fair floor's requests equal the SDK's on the hyper transport with the static token
//! in method, path, headers and body (reqwest adds `accept: */*`), and the AK/SK requests
//! carry `Authorization` and no `X-Auth-Token`.
//!
//! The emulator accepts both the static token and the AK/SK pair and has one function,
//! `default/echo`, which answers every event with the same small JSON. Every slice gets a
//! fresh emulator and a fresh client, so each slice opens its connections during its
//! warm-up. Where the emulator runs is `FGS_BENCH_EMULATOR`:
//! - `process` (the default): in a child process (this binary, re-executed with
//!   `FGS_BENCH_EMULATOR_CHILD=1` by `support/child_emulator.rs`, on a multi-thread runtime
//!   of its own), one per slice, reaped after it. The callers run on a multi-thread runtime
//!   of one worker per core, and the CPU columns count this process only: the client.
//! - `in-process`: the emulator and the callers share one multi-thread runtime (one worker
//!   per core), so on a small machine the numbers are CPU-bound and client work shows up as
//!   lost throughput; the CPU columns count the whole process, emulator and client. With
//!   `FGS_BENCH_RUNTIMES=split` (only with `in-process`) the emulator and the callers get a
//!   runtime of one worker each, and the CPU columns count the callers' runtime only.
//!
//! The columns: `inv/s` (calls finished inside the measuring windows, over the windows),
//! `p50`/`p90`/`p99 ms` (latency of every call started inside them), `calls` (calls
//! started), `floor/cl` and `fair/cl` (the floor's and the fair floor's inv/s over the
//! row's), `CPU us/inv` (user + system CPU time from `/proc`, from the start of each window
//! until its last call has finished, over the calls started in it), `CPU/floor` and
//! `CPU/fair` (the row's CPU us/inv over the floor's and the fair floor's), `per round`
//! (the lowest and highest CPU/fair of the rounds) and `AK/SK/token` (an AK/SK row's CPU
//! us/inv over the same transport's static-token row: what signing costs). The AK/SK rows
//! have no floor of their own; the fair floor's row shows its ratios to the floor (what
//! the decoding costs). The target is CPU/fair < 1.10 for the static-token SDK rows; the
//! points that miss it are listed at the end with their raw floor ratios. CPU time per
//! call is what background load disturbs least.
//!
//! For analysis, `FGS_BENCH_CONFIGS=floor,fairfloor,reqwest,hyper,reqwest-aksk,hyper-aksk`,
//! `FGS_BENCH_CONCURRENCY=1,16,128` and `FGS_BENCH_PAYLOADS=1kb,64kb,1mb` run a part of the
//! table (e.g. under a profiler); an unknown configuration name is an error.
//!
//! `FGS_BENCH_INSTRUCTIONS=<calls>` measures something else: the instructions the client
//! executes per invoke, counted by callgrind (see [`instructions`]), for the selected
//! configurations at 1 KB (or `FGS_BENCH_PAYLOADS`). Unlike CPU time, that count is the
//! same on every run of the same build, so it can tell apart changes of a few hundred
//! instructions; it is skipped, with a message, where valgrind is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark: a failure should stop it

#[path = "support/child_emulator.rs"]
mod child_emulator;

use std::io::Write as _;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use child_emulator::EmulatorProcess;
use fgs::auth::{AkSkAuth, Credentials, StaticToken};
use fgs::transport::HyperTransport;
use fgs::transport::ReqwestTransport;
use fgs::{Client, FunctionUrn};
use fgs_emulator::{Emulator, EmulatorBuilder, Function, Handler, RecordedRequest};
use http::{HeaderName, HeaderValue, Method, Uri, header};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::Deserialize;
use serde_json::{Value, json};

const TOKEN: &str = "bench-token";
const AK: &str = "AKINVOKETHROUGHPUT001";
const SK: &str = "SKinvokeThroughput0123456789abcdefghijkl";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const CONCURRENCY: [usize; 3] = [1, 16, 128];
const KIB: usize = 1024;
const PAYLOADS: [(usize, &str); 3] = [(KIB, "1 KB"), (64 * KIB, "64 KB"), (KIB * KIB, "1 MB")];

/// The SDK's `User-Agent`, sent by the floors too so that the bytes on the wire match.
const USER_AGENT: &str = "fgs-rust/0.1.0";

/// The fair floor's ratios decide the target; this is the limit.
const TARGET: f64 = 1.10;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Config {
    /// The hand-written hyper-util loop: the floor.
    Floor,
    /// The floor plus the decoding every client must do: the fair floor.
    FairFloor,
    /// The fgs client on its default transport, static token.
    Reqwest,
    /// The fgs client on the hyper transport (`fgs::transport::HyperTransport`), static token.
    Hyper,
    /// The fgs client on its default transport, AK/SK signing.
    ReqwestAkSk,
    /// The fgs client on the hyper transport (`fgs::transport::HyperTransport`), AK/SK signing.
    HyperAkSk,
}

impl Config {
    const ALL: [Config; 6] = [
        Config::Floor,
        Config::FairFloor,
        Config::Reqwest,
        Config::Hyper,
        Config::ReqwestAkSk,
        Config::HyperAkSk,
    ];

    fn label(self) -> &'static str {
        match self {
            Config::Floor => "floor (raw hyper-util)",
            Config::FairFloor => "fair floor (hyper + decode)",
            Config::Reqwest => "fgs + reqwest",
            Config::Hyper => "fgs + hyper",
            Config::ReqwestAkSk => "fgs + reqwest (AK/SK)",
            Config::HyperAkSk => "fgs + hyper (AK/SK)",
        }
    }

    /// The name `FGS_BENCH_CONFIGS` takes.
    fn name(self) -> &'static str {
        match self {
            Config::Floor => "floor",
            Config::FairFloor => "fairfloor",
            Config::Reqwest => "reqwest",
            Config::Hyper => "hyper",
            Config::ReqwestAkSk => "reqwest-aksk",
            Config::HyperAkSk => "hyper-aksk",
        }
    }

    /// For an AK/SK configuration, the static-token one on the same transport.
    fn token_twin(self) -> Option<Config> {
        match self {
            Config::ReqwestAkSk => Some(Config::Reqwest),
            Config::HyperAkSk => Some(Config::Hyper),
            _ => None,
        }
    }

    /// Whether the target applies (the SDK with a static token, which the floors match).
    fn has_target(self) -> bool {
        matches!(self, Config::Reqwest | Config::Hyper)
    }
}

/// Where the emulator runs (`FGS_BENCH_EMULATOR`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Process,
    InProcess,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Process => "process",
            Mode::InProcess => "in-process",
        }
    }
}

/// What a caller needs to know of an emulator, wherever it runs.
struct Target {
    endpoint: String,
    urn: String,
    project_id: String,
}

impl Target {
    fn of(emulator: &Emulator) -> Target {
        Target {
            endpoint: emulator.endpoint(),
            urn: emulator.urn(child_emulator::PACKAGE, child_emulator::NAME, None),
            project_id: emulator.project_id().to_owned(),
        }
    }
}

/// The emulator of one slice.
enum Server {
    InProcess(Emulator),
    Process(EmulatorProcess),
}

impl Server {
    async fn start(mode: Mode) -> Server {
        match mode {
            Mode::InProcess => Server::InProcess(in_process_emulator().await),
            // Starting the child blocks until it prints its endpoint.
            Mode::Process => Server::Process(
                tokio::task::spawn_blocking(EmulatorProcess::start)
                    .await
                    .expect("start the emulator process"),
            ),
        }
    }

    fn target(&self) -> Target {
        match self {
            Server::InProcess(emulator) => Target::of(emulator),
            Server::Process(process) => Target {
                endpoint: process.endpoint.clone(),
                urn: process.urn.clone(),
                project_id: process.project_id.clone(),
            },
        }
    }

    async fn stop(self) {
        match self {
            Server::InProcess(emulator) => drop(emulator),
            // Dropping the handle waits for the child to exit.
            Server::Process(process) => tokio::task::spawn_blocking(move || drop(process))
                .await
                .expect("stop the emulator process"),
        }
    }
}

/// The floors' request, built per call from parts made once.
struct RawRequest {
    client: HyperClient<HttpConnector, Full<Bytes>>,
    uri: Uri,
    content_type: HeaderValue,
    user_agent: HeaderValue,
    version: HeaderValue,
    token: HeaderValue,
}

impl RawRequest {
    fn new(target: &Target) -> RawRequest {
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
            target.project_id,
            target.urn.replace(':', "%3A")
        );
        RawRequest {
            client,
            uri: format!("{}{path}", target.endpoint).parse().expect("URI"),
            content_type: HeaderValue::from_static("application/json"),
            user_agent: HeaderValue::from_static(USER_AGENT),
            version: HeaderValue::from_static("v1"),
            token: HeaderValue::from_static(TOKEN),
        }
    }

    async fn send(&self, body: Bytes) -> http::Response<Incoming> {
        let mut request = http::Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.uri.clone();
        let headers = request.headers_mut();
        headers.insert(header::CONTENT_TYPE, self.content_type.clone());
        headers.insert(header::USER_AGENT, self.user_agent.clone());
        headers.insert(X_CFF_REQUEST_VERSION, self.version.clone());
        headers.insert(X_AUTH_TOKEN, self.token.clone());
        self.client.request(request).await.expect("floor request")
    }
}

/// The v1 envelope as the fair floor reads it.
#[derive(Deserialize)]
struct Envelope {
    request_id: String,
    result: String,
    log: String,
    status: i32,
}

/// `X-Cff-Invoke-Summary` as the fair floor reads it.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Summary {
    duration: f64,
    billing_duration: f64,
    memory_size: i64,
    memory_used: f64,
}

/// One way of making the call.
#[allow(clippy::large_enum_variant)] // one per slice, behind an `Arc`
enum Caller {
    Sdk { client: Client, urn: FunctionUrn },
    Floor(RawRequest),
    FairFloor(RawRequest),
}

const X_CFF_REQUEST_VERSION: HeaderName = HeaderName::from_static("x-cff-request-version");
const X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");
const X_CFF_REQUEST_ID: HeaderName = HeaderName::from_static("x-cff-request-id");
const X_CFF_INVOKE_SUMMARY: HeaderName = HeaderName::from_static("x-cff-invoke-summary");

impl Caller {
    fn new(config: Config, target: &Target) -> Caller {
        let sdk = |client: fgs::ClientBuilder| {
            let client = client.endpoint_url(&target.endpoint);
            let client = match config.token_twin() {
                Some(_) => client.auth(AkSkAuth::new(Credentials::new(AK, SK))),
                None => client.auth(StaticToken::new(TOKEN)),
            };
            Caller::Sdk {
                client: client.retry_policy(fgs::retry::NoRetry).build().expect("client"),
                urn: target.urn.parse().expect("URN"),
            }
        };
        let reqwest =
            || Client::builder().transport(ReqwestTransport::new(CONNECT_TIMEOUT).expect("reqwest transport"));
        let hyper = || Client::builder().transport(HyperTransport::new(CONNECT_TIMEOUT).expect("hyper transport"));
        match config {
            Config::Reqwest | Config::ReqwestAkSk => sdk(reqwest()),
            Config::Hyper | Config::HyperAkSk => sdk(hyper()),
            Config::Floor => Caller::Floor(RawRequest::new(target)),
            Config::FairFloor => Caller::FairFloor(RawRequest::new(target)),
        }
    }

    /// One invoke; returns the response status and the result as text (the SDK's and the
    /// fair floor's decoded `result`, or the floor's raw v1 body) for checks outside the
    /// measured loop. `checked` adds the fair floor's checks of what it decoded, which the
    /// measured loop leaves out.
    async fn call(&self, body: Bytes, checked: bool) -> (u16, Bytes) {
        match self {
            Caller::Sdk { client, urn } => {
                let output = client.invoke(urn).body(body).send().await.expect("invoke");
                (output.status().as_u16(), output.result().clone())
            }
            Caller::Floor(request) => {
                let response = request.send(body).await;
                let status = response.status().as_u16();
                let body = response.into_body().collect().await.expect("floor body").to_bytes();
                (status, body)
            }
            Caller::FairFloor(request) => {
                let response = request.send(body).await;
                let status = response.status().as_u16();
                let (parts, body) = response.into_parts();
                let body = body.collect().await.expect("fair floor body").to_bytes();
                if status != 200 {
                    // An error document, not an envelope: `check` reports the status.
                    return (status, body);
                }
                let request_id = parts
                    .headers
                    .get(X_CFF_REQUEST_ID)
                    .expect("the response has no X-Cff-Request-Id")
                    .to_str()
                    .expect("X-Cff-Request-Id is text");
                let summary: Summary = serde_json::from_slice(
                    parts
                        .headers
                        .get(X_CFF_INVOKE_SUMMARY)
                        .expect("the response has no X-Cff-Invoke-Summary")
                        .as_bytes(),
                )
                .expect("X-Cff-Invoke-Summary is the summary JSON");
                let envelope: Envelope = serde_json::from_slice(&body).expect("the body is the v1 envelope");
                if checked {
                    assert_eq!(envelope.request_id, request_id, "the envelope's request id");
                    assert_eq!(envelope.status, 200, "the envelope's status");
                    assert!(
                        summary.duration >= 0.0
                            && summary.billing_duration >= 1.0
                            && summary.memory_size > 0
                            && summary.memory_used > 0.0,
                        "implausible summary {summary:?}"
                    );
                }
                // What a caller would look at; kept so that none of the decoding is dropped.
                std::hint::black_box((
                    request_id,
                    &summary,
                    &envelope.request_id,
                    &envelope.log,
                    envelope.status,
                ));
                (status, Bytes::from(envelope.result))
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

/// The emulator, in this process or in the child: the static token and the AK/SK pair,
/// and `default/echo`, which answers every event with the same small JSON.
fn emulator_builder() -> EmulatorBuilder {
    let echo = Handler::from_fn(|event: Value, _ctx| async move {
        Ok(json!({ "ok": true, "kind": event["kind"], "seq": event["seq"] }))
    });
    Emulator::builder()
        .token(TOKEN)
        .access_key(AK, SK)
        .function(Function::new(child_emulator::PACKAGE, child_emulator::NAME, echo))
}

async fn in_process_emulator() -> Emulator {
    let start = async { emulator_builder().start().await.expect("start the emulator") };
    match SERVER_RUNTIME.get() {
        Some(server) => server.spawn(start).await.expect("start the emulator"),
        None => start.await,
    }
}

const EXPECTED_RESULT: &str = r#"{"kind":"bench","ok":true,"seq":12345}"#;

/// Checks one call's outcome outside the measured loop.
fn check(config: Config, status: u16, body: &Bytes) {
    assert_eq!(status, 200, "{config:?}: {}", String::from_utf8_lossy(body));
    let result = match config {
        Config::Floor => {
            let envelope: Value = serde_json::from_slice(body).unwrap();
            envelope["result"].as_str().unwrap().to_owned()
        }
        _ => String::from_utf8(body.to_vec()).unwrap(),
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
                let (status, _) = caller.call(body.clone(), false).await;
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
    /// CPU time counted (see `slice`) while measuring.
    cpu: Duration,
    /// Invocations per second of each round.
    round_ips: Vec<f64>,
    /// CPU microseconds per invocation of each round.
    round_cpu: Vec<f64>,
}

impl Samples {
    fn ips(&self) -> f64 {
        self.in_window as f64 / self.window.as_secs_f64()
    }

    /// CPU time per invocation (from the start of the window until the last call started
    /// in it has finished), in microseconds.
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
/// `window` of measured calls. Returns the calls and the CPU time they took: this
/// process's, or with split runtimes the callers' runtime's.
async fn slice(
    mode: Mode,
    config: Config,
    concurrency: usize,
    body: &Bytes,
    warmup: Duration,
    window: Duration,
) -> (Run, Duration) {
    let server = Server::start(mode).await;
    let caller = Arc::new(Caller::new(config, &server.target()));
    let (status, result) = caller.call(body.clone(), true).await;
    check(config, status, &result);
    drive(&caller, body, concurrency, warmup).await;
    let threads = SERVER_RUNTIME.get().map(|_| CLIENT_THREADS);
    let cpu_before = cpu_time(threads);
    let run = drive(&caller, body, concurrency, window).await;
    let cpu = cpu_time(threads).saturating_sub(cpu_before);
    // The client's connections go first, then the server (and what it recorded).
    drop(caller);
    server.stop().await;
    (run, cpu)
}

/// Prints what each configuration sent to an in-process emulator (what a client sends
/// does not depend on where the server runs, and only this one can show it), and fails if
/// the floors' requests differ from the SDK's on the hyper transport with the static
/// token in method, path, headers or body (reqwest adds `accept`), or if an AK/SK request
/// is not signed.
async fn wire_check() {
    let emulator = in_process_emulator().await;
    let target = Target::of(&emulator);
    let body = payload(KIB);
    let mut seen: Vec<(Config, RecordedRequest)> = Vec::new();
    for config in Config::ALL {
        let before = emulator.request_count();
        let (status, result) = Caller::new(config, &target).call(body.clone(), true).await;
        check(config, status, &result);
        let request = emulator.requests().swap_remove(before);
        let mut names: Vec<String> = request.headers.keys().map(|n| n.as_str().to_owned()).collect();
        names.sort();
        println!(
            "  {:<27} {} {} [{}]",
            config.label(),
            request.method,
            request.path,
            names.join(", ")
        );
        assert_eq!(request.body, body, "{config:?} sent another body");
        seen.push((config, request));
    }
    let sent = |config: Config| &seen.iter().find(|(c, _)| *c == config).unwrap().1;
    let hyper = sent(Config::Hyper);
    for floor in [Config::Floor, Config::FairFloor] {
        let request = sent(floor);
        assert_eq!(
            request.method, hyper.method,
            "{floor:?}: the method differs from the SDK's"
        );
        assert_eq!(request.path, hyper.path, "{floor:?}: the path differs from the SDK's");
        assert_eq!(
            request.headers, hyper.headers,
            "{floor:?}: the headers differ from the SDK's (hyper transport, static token)"
        );
    }
    for config in [Config::ReqwestAkSk, Config::HyperAkSk] {
        let request = sent(config);
        assert_eq!(request.path, hyper.path, "{config:?}: the path differs");
        assert!(
            request.headers.contains_key(header::AUTHORIZATION) && !request.headers.contains_key(X_AUTH_TOKEN),
            "{config:?}: not an AK/SK-signed request"
        );
    }
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

/// `FGS_BENCH_CONFIGS` as configurations, in the table's order.
fn selected_configs() -> Vec<Config> {
    let Some(names) = env_list("FGS_BENCH_CONFIGS") else {
        return Config::ALL.to_vec();
    };
    for name in &names {
        assert!(
            Config::ALL.iter().any(|c| c.name() == name),
            "FGS_BENCH_CONFIGS: unknown configuration {name:?} (known: {})",
            Config::ALL.map(Config::name).join(", ")
        );
    }
    Config::ALL
        .into_iter()
        .filter(|c| names.iter().any(|n| n == c.name()))
        .collect()
}

/// `FGS_BENCH_CONCURRENCY` as concurrencies, in the table's order; all when unset.
fn selected_concurrencies() -> Vec<usize> {
    match env_list("FGS_BENCH_CONCURRENCY") {
        Some(values) => CONCURRENCY
            .into_iter()
            .filter(|c| values.contains(&c.to_string()))
            .collect(),
        None => CONCURRENCY.to_vec(),
    }
}

/// `FGS_BENCH_PAYLOADS` (`1kb`, `64kb`, `1mb`) as event sizes; `unset` when it is unset.
fn selected_payloads(unset: &[(usize, &'static str)]) -> Vec<(usize, &'static str)> {
    match env_list("FGS_BENCH_PAYLOADS") {
        Some(values) => PAYLOADS
            .into_iter()
            .filter(|(_, label)| values.contains(&label.replace(' ', "").to_ascii_lowercase()))
            .collect(),
        None => unset.to_vec(),
    }
}

/// A ratio to two decimals, or `-` when there is none.
fn ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

fn main() {
    if child_emulator::serve_if_child(emulator_builder) {
        return;
    }
    if let Some(calls) = instructions::requested() {
        instructions::run(calls);
        return;
    }
    let bench = std::env::args().any(|a| a == "--bench");
    let mode = match std::env::var("FGS_BENCH_EMULATOR").ok().as_deref().map(str::trim) {
        None | Some("") => Mode::Process,
        Some(name) if name == Mode::Process.name() => Mode::Process,
        Some(name) if name == Mode::InProcess.name() => Mode::InProcess,
        Some(other) => panic!("FGS_BENCH_EMULATOR={other:?}: expected `process` (the default) or `in-process`"),
    };
    // `split`: the emulator and the callers get a runtime (and a core) each, and the CPU
    // column counts the callers' runtime only: what the client side costs per call.
    let split = std::env::var("FGS_BENCH_RUNTIMES").is_ok_and(|v| v.trim().eq_ignore_ascii_case("split"));
    assert!(
        !split || mode == Mode::InProcess,
        "FGS_BENCH_RUNTIMES=split needs FGS_BENCH_EMULATOR=in-process (a child process has its own runtime)"
    );
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
    let (layout, cpu_scope) = match (mode, split) {
        (Mode::Process, _) => (
            format!(
                "emulator in a child process per slice (its own multi-thread runtime); callers on a tokio \
                 multi-thread runtime of {workers} workers"
            ),
            "this process's (the client only: the emulator runs in a child process)",
        ),
        (Mode::InProcess, true) => (
            "emulator in process; two tokio multi-thread runtimes of 1 worker each, one for the emulator and one \
             for the callers"
                .to_owned(),
            "the callers' runtime's",
        ),
        (Mode::InProcess, false) => (
            format!(
                "emulator in process; tokio multi-thread runtime, {workers} workers, shared by the emulator and the callers"
            ),
            "the whole process's (emulator and callers)",
        ),
    };
    runtime.block_on(async {
        if !bench {
            println!("invoke_throughput: smoke run, emulator {} (use `cargo bench` to measure)", mode.name());
            wire_check().await;
            for (size, _) in PAYLOADS {
                let server = Server::start(mode).await;
                let target = server.target();
                for config in Config::ALL {
                    let (status, result) = Caller::new(config, &target).call(payload(size), true).await;
                    check(config, status, &result);
                }
                server.stop().await;
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
        let configs = selected_configs();
        let concurrencies = selected_concurrencies();
        let payloads = selected_payloads(&PAYLOADS);

        println!("machine: {}", machine());
        println!(
            "{layout}; {:.1} s measured per point and configuration, in {rounds} rounds of {:.2} s, each after {:.2} s \
             of warm-up on a fresh emulator and client; load average at start {}",
            seconds.as_secs_f64(),
            per_round.as_secs_f64(),
            warmup.as_secs_f64(),
            load()
        );
        println!("requests on the wire (1 KB event, in-process emulator):");
        wire_check().await;
        println!();
        println!(
            "(floor/cl, fair/cl: the floor's and the fair floor's inv/s / the row's; CPU us/inv: {cpu_scope} CPU time, \
             user + system, per invocation; CPU/floor, CPU/fair: the row's CPU us/inv / the floor's and the fair \
             floor's; per round: lowest-highest CPU/fair of the rounds; AK/SK/token: an AK/SK row's CPU us/inv / the \
             same transport's static-token row's, the cost of signing; target: CPU/fair < {TARGET:.2} for the \
             static-token fgs rows)"
        );
        let header = format!(
            "{:<27} {:>4} {:>7} {:>8} {:>8} {:>8} {:>8} {:>7} {:>8} {:>8} {:>10} {:>9} {:>8} {:>11} {:>11}",
            "config",
            "conc",
            "payload",
            "inv/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "calls",
            "floor/cl",
            "fair/cl",
            "CPU us/inv",
            "CPU/floor",
            "CPU/fair",
            "per round",
            "AK/SK/token"
        );
        println!("{header}");
        let mut misses = Vec::new();
        for (size, size_label) in payloads {
            let body = payload(size);
            for &concurrency in &concurrencies {
                // The point's time is split into rounds, each running every configuration
                // once in a rotated order, so that a change in background load while the
                // point runs falls on all alike.
                let mut samples: Vec<Samples> = configs.iter().map(|_| Samples::default()).collect();
                for round in 0..rounds {
                    for k in 0..configs.len() {
                        let index = (round + k) % configs.len();
                        let (run, cpu) = slice(mode, configs[index], concurrency, &body, warmup, per_round).await;
                        let entry = &mut samples[index];
                        entry.round_ips.push(run.in_window as f64 / per_round.as_secs_f64());
                        entry.round_cpu.push(cpu.as_secs_f64() * 1e6 / run.latencies.len() as f64);
                        entry.latencies.extend(run.latencies);
                        entry.in_window += run.in_window;
                        entry.window += per_round;
                        entry.cpu += cpu;
                    }
                }
                for entry in &mut samples {
                    entry.latencies.sort_unstable();
                }
                let of = |config: Config| configs.iter().position(|c| *c == config).map(|i| &samples[i]);
                let (floor, fair) = (of(Config::Floor), of(Config::FairFloor));
                for (config, entry) in configs.iter().zip(&samples) {
                    let (ips, cpu) = (entry.ips(), entry.cpu_per_call());
                    // Each floor ratio where it means something: the floors against the
                    // SDK with the same credentials (none of them signs), the fair floor
                    // against the floor.
                    let (vs_floor, vs_fair) = match config {
                        Config::Floor | Config::ReqwestAkSk | Config::HyperAkSk => (None, None),
                        Config::FairFloor => (floor, None),
                        Config::Reqwest | Config::Hyper => (floor, fair),
                    };
                    let mut spread = String::new();
                    if let Some(fair) = vs_fair {
                        let per_round: Vec<f64> =
                            entry.round_cpu.iter().zip(&fair.round_cpu).map(|(c, f)| c / f).collect();
                        let low = per_round.iter().copied().fold(f64::INFINITY, f64::min);
                        let high = per_round.iter().copied().fold(0.0, f64::max);
                        spread = format!("{low:.2}-{high:.2}");
                        let cpu_fair = cpu / fair.cpu_per_call();
                        if config.has_target() && cpu_fair >= TARGET {
                            misses.push(format!(
                                "{} at concurrency {concurrency}, {size_label}: CPU/fair {cpu_fair:.2} (CPU/floor {}, \
                                 fair/cl {:.2}, floor/cl {})",
                                config.label(),
                                ratio(floor.map(|f| cpu / f.cpu_per_call())),
                                fair.ips() / ips,
                                ratio(floor.map(|f| f.ips() / ips)),
                            ));
                        }
                    }
                    let signing = config.token_twin().and_then(of).map(Samples::cpu_per_call);
                    let row = format!(
                        "{:<27} {:>4} {:>7} {:>8.0} {:>8.3} {:>8.3} {:>8.3} {:>7} {:>8} {:>8} {:>10.1} {:>9} {:>8} {:>11} {:>11}",
                        config.label(),
                        concurrency,
                        size_label,
                        ips,
                        percentile(&entry.latencies, 0.50),
                        percentile(&entry.latencies, 0.90),
                        percentile(&entry.latencies, 0.99),
                        entry.latencies.len(),
                        ratio(vs_floor.map(|f| f.ips() / ips)),
                        ratio(vs_fair.map(|f| f.ips() / ips)),
                        cpu,
                        ratio(vs_floor.map(|f| cpu / f.cpu_per_call())),
                        ratio(vs_fair.map(|f| cpu / f.cpu_per_call())),
                        spread,
                        if config.token_twin().is_some() { ratio(signing.map(|t| cpu / t)) } else { String::new() },
                    );
                    println!("{}", row.trim_end());
                }
                let _ = std::io::stdout().flush();
            }
        }
        println!();
        println!("load average at end {}", load());
        if !configs.contains(&Config::FairFloor) || !configs.iter().any(|c| c.has_target()) {
            println!("target (CPU/fair < {TARGET:.2}) not evaluated: it needs the fair floor and fgs + reqwest or hyper");
        } else if misses.is_empty() {
            println!("CPU/fair < {TARGET:.2} everywhere (the raw floor's ratios are in the table)");
        } else {
            println!("CPU/fair >= {TARGET:.2} (target missed; raw floor ratios in brackets):");
            for miss in misses {
                println!("  {miss}");
            }
        }
    });
}

/// `FGS_BENCH_INSTRUCTIONS=<calls>`: instructions per invoke, counted by callgrind.
///
/// CPU time on a shared 2-core machine moves by 15 % between runs; an instruction count
/// hardly moves for the same binary and inputs, so it is what small changes to the per-call
/// path are judged by. Its cache simulation adds the first-level cache misses per invoke:
/// state that is larger, copied more or spread over more memory shows there, and costs CPU
/// time that the instruction count alone does not show.
/// Each configuration, concurrency (`FGS_BENCH_CONCURRENCY`) and event size runs in its own
/// process under `valgrind --tool=callgrind`: the callers are tasks on one current-thread
/// runtime, against the emulator in a child process (not traced). After a checked call and
/// 100 warm-up calls per caller, every caller makes `calls / concurrency` (rounded up)
/// calls inside [`instructions::measured_calls`], the only function callgrind counts
/// (`--toggle-collect`). The table shows that count per call: everything the client
/// executes per invoke (the runtime, hyper, the SDK, libc: the allocator's work with many
/// calls in flight included) except the kernel.
mod instructions {
    use super::*;
    use std::process::Command;

    /// Set in the process that runs under callgrind: `<config>:<event bytes>:<calls>`.
    const CHILD: &str = "FGS_BENCH_INSTRUCTIONS_CHILD";
    const WARMUP_CALLS: usize = 100;

    /// The number of calls to count, when `FGS_BENCH_INSTRUCTIONS` asks for this mode.
    pub fn requested() -> Option<usize> {
        if let Ok(child) = std::env::var(CHILD) {
            measure_in_child(&child);
            std::process::exit(0);
        }
        let value = std::env::var("FGS_BENCH_INSTRUCTIONS").ok()?;
        let calls = value
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|calls| *calls > 0)
            .unwrap_or_else(|| panic!("FGS_BENCH_INSTRUCTIONS={value:?}: expected a number of calls, such as 2000"));
        Some(calls)
    }

    /// Runs every selected configuration, concurrency and event size under callgrind and
    /// prints the instructions per call, with each fgs row's ratio to the fair floor's.
    pub fn run(calls: usize) {
        let version = Command::new("valgrind").arg("--version").output();
        let Ok(version) = version.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()) else {
            println!("invoke_throughput: instructions skipped: valgrind is not installed");
            return;
        };
        let configs = selected_configs();
        let payloads = selected_payloads(&PAYLOADS[..1]);
        let concurrencies = selected_concurrencies();
        let dir = std::env::temp_dir().join(format!("fgs-bench-callgrind-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("callgrind output directory");
        println!("machine: {}; {version}", machine());
        println!(
            "instructions per invoke (callgrind, user space): the callers as tasks on one current-thread runtime, \
             emulator in a child process; about {calls} calls counted after {WARMUP_CALLS} per caller of warm-up"
        );
        println!(
            "(instr/inv: instructions per invoke; /floor, /fair: over the floor's and the fair floor's; L1 misses/inv: \
             first-level cache misses per invoke, instruction and data, in callgrind's model of this machine's caches)"
        );
        println!(
            "{:<27} {:>4} {:>7} {:>12} {:>9} {:>9} {:>14}",
            "config", "conc", "payload", "instr/inv", "/floor", "/fair", "L1 misses/inv"
        );
        let exe = std::env::current_exe().expect("current_exe");
        for (size, label) in payloads {
            for &concurrency in &concurrencies {
                // Every caller makes the same number of calls.
                let per_caller = calls.div_ceil(concurrency);
                let counted_calls = per_caller * concurrency;
                let mut counted: Vec<(Config, f64)> = Vec::new();
                for &config in &configs {
                    let out = dir.join(format!("{}-{concurrency}-{size}.out", config.name()));
                    let run = Command::new("valgrind")
                        .arg("--tool=callgrind")
                        .arg("--cache-sim=yes")
                        .arg(format!("--callgrind-out-file={}", out.display()))
                        .arg("--toggle-collect=*instructions::measured_calls*")
                        .arg("--quiet")
                        .arg(&exe)
                        .arg("--bench")
                        .env(CHILD, format!("{}:{size}:{per_caller}:{concurrency}", config.name()))
                        .output()
                        .expect("run valgrind");
                    // valgrind's notes (which cache it models) only matter when the run fails.
                    assert!(
                        run.status.success(),
                        "{config:?} under callgrind: {}\n{}",
                        run.status,
                        String::from_utf8_lossy(&run.stderr)
                    );
                    let totals = read_totals(&out);
                    let per_call = totals.instructions as f64 / counted_calls as f64;
                    let l1_misses = totals.l1_misses as f64 / counted_calls as f64;
                    counted.push((config, per_call));
                    let of = |c: Config| counted.iter().find(|(k, _)| *k == c).map(|(_, v)| per_call / v);
                    let (vs_floor, vs_fair) = match config {
                        Config::Reqwest | Config::Hyper => (of(Config::Floor), of(Config::FairFloor)),
                        Config::FairFloor => (of(Config::Floor), None),
                        _ => (None, None),
                    };
                    println!(
                        "{:<27} {:>4} {:>7} {:>12.0} {:>9} {:>9} {:>14.0}",
                        config.label(),
                        concurrency,
                        label,
                        per_call,
                        ratio(vs_floor),
                        ratio(vs_fair),
                        l1_misses
                    );
                    let _ = std::io::stdout().flush();
                }
            }
        }
        println!("(callgrind's output files, for callgrind_annotate: {})", dir.display());
    }

    /// What a callgrind output file counted.
    struct Totals {
        instructions: u64,
        /// First-level misses: instruction fetches, data reads and data writes.
        l1_misses: u64,
    }

    /// The `summary:` (or `totals:`) line of a callgrind output file, by its `events:` names.
    fn read_totals(path: &std::path::Path) -> Totals {
        let text = std::fs::read_to_string(path).expect("callgrind output");
        let line = |prefix: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(prefix))
                .map(|rest| rest.split_whitespace().collect::<Vec<_>>())
        };
        let events = line("events:").unwrap_or_else(|| panic!("no events line in {}", path.display()));
        let counts = line("summary:")
            .or_else(|| line("totals:"))
            .unwrap_or_else(|| panic!("no totals in {}", path.display()));
        let count = |name: &str| {
            events
                .iter()
                .position(|e| *e == name)
                .and_then(|i| counts.get(i))
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Totals {
            instructions: count("Ir"),
            l1_misses: count("I1mr") + count("D1mr") + count("D1mw"),
        }
    }

    /// In the process under callgrind: one configuration, `concurrency` callers making
    /// `per_caller` counted calls each.
    fn measure_in_child(spec: &str) {
        let parts: Vec<&str> = spec.split(':').collect();
        let [name, size, per_caller, concurrency] = parts[..] else {
            panic!("{CHILD}={spec:?}");
        };
        let config = Config::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .unwrap_or_else(|| panic!("{CHILD}: unknown configuration {name:?}"));
        let number = |text: &str| text.parse::<usize>().unwrap_or_else(|_| panic!("{CHILD}={spec:?}"));
        let (size, per_caller, concurrency) = (number(size), number(per_caller), number(concurrency));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let body = payload(size);
        let (server, caller) = runtime.block_on(async {
            let server = Server::start(Mode::Process).await;
            let caller = Arc::new(Caller::new(config, &server.target()));
            let (status, result) = caller.call(body.clone(), true).await;
            check(config, status, &result);
            // Opens the connections the measured calls will use.
            callers(&caller, &body, concurrency, WARMUP_CALLS).await;
            (server, caller)
        });
        measured_calls(&runtime, &caller, &body, concurrency, per_caller);
        drop(caller);
        runtime.block_on(server.stop());
    }

    /// `concurrency` tasks, each making `calls` calls one after the other.
    async fn callers(caller: &Arc<Caller>, body: &Bytes, concurrency: usize, calls: usize) {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let (caller, body) = (Arc::clone(caller), body.clone());
            tasks.spawn(async move {
                for _ in 0..calls {
                    let (status, _) = caller.call(body.clone(), false).await;
                    assert_eq!(status, 200);
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("a caller panicked");
        }
    }

    /// The calls callgrind counts (`--toggle-collect` names this function): the tasks run
    /// inside `block_on`, so inside this frame.
    #[inline(never)]
    pub fn measured_calls(
        runtime: &tokio::runtime::Runtime,
        caller: &Arc<Caller>,
        body: &Bytes,
        concurrency: usize,
        per_caller: usize,
    ) {
        runtime.block_on(callers(caller, body, concurrency, per_caller));
    }
}
