//! Memory stays flat however long the emulator runs: its records are a bounded window.
//!
//! Before records were bounded, a 60-second soak at 64 callers grew the emulator by about
//! 10 KB per call (5.7 GB for 577k calls). Here an emulator with the default settings is
//! driven in-process over loopback by keep-alive clients sending invocations with a
//! 256-byte event (one call in ten with the v1 envelope and the log tail, one in ten
//! without credentials and refused with 401), and
//! the resident set of the whole test process is read from `/proc/self/status` once the
//! record window is full and again at the end.
//!
//! - `memory_stays_flat_over_tens_of_thousands_of_calls` runs in CI: 20,000 calls (about
//!   10 s of CPU in a debug build, so about 6 s on 2 idle cores). Growth must stay under
//!   8 MiB after a 2,000-call warm-up that fills the window: a leak of the old size would be
//!   about 180 MB over the 18,000 measured calls, and one of 470 bytes per call would
//!   already cross the bound, while allocator noise (arenas, fragmentation, the runtime's
//!   buffers) stays under 1 MiB in practice.
//! - `long_soak_memory_stays_flat` is the long run, ignored by default:
//!   `cargo test -p fgs-emulator --release --test soak -- --ignored --nocapture`
//!   (300,000 calls at 64 connections).
//!
//! This file holds only these tests, so that no other test shares the process whose memory
//! is measured.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::*;
use fgs_emulator::{Emulator, Function, Handler};
use serde_json::json;

/// The resident set of this process, in bytes (Linux); `None` elsewhere.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Bytes of padding in each event.
const PAD: usize = 256;

async fn emulator() -> Emulator {
    let handler = Handler::from_fn(|event, ctx| async move {
        ctx.log(format!("handling call {}", event["n"]));
        Ok(json!({ "n": event["n"], "echo": event["pad"] }))
    });
    Emulator::builder()
        .token(TOKEN)
        .function(Function::new("default", "soak", handler))
        .start()
        .await
        .unwrap()
}

/// Sends `calls` invocations over `connections` keep-alive connections (call `n` is
/// refused when `n % 10 == 9`, asks for the v1 envelope and the log tail when
/// `n % 10 == 0`); returns how many were answered 200 and how many 401.
async fn drive(emulator: &Emulator, connections: usize, calls: usize) -> (usize, usize) {
    let path = invoke_path(emulator, "default", "soak", None);
    let body = json!({ "n": 1, "pad": "p".repeat(PAD) }).to_string();
    let build = |token: &str, v1_tail: bool| {
        let mut headers = vec![("X-Auth-Token", token), ("Content-Type", "application/json")];
        if v1_tail {
            headers.extend([("X-Cff-Request-Version", "v1"), ("X-Cff-Log-Type", "tail")]);
        }
        Arc::new(request("POST", &path, &headers, body.as_bytes()))
    };
    let (plain, v1_tail, refused) = (build(TOKEN, false), build(TOKEN, true), build("wrong-token", false));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..connections {
        let share = calls / connections + usize::from(worker < calls % connections);
        let (plain, v1_tail, refused, addr) = (
            Arc::clone(&plain),
            Arc::clone(&v1_tail),
            Arc::clone(&refused),
            emulator.addr(),
        );
        tasks.spawn(async move {
            let mut conn = Conn::connect(addr).await;
            let (mut ok, mut denied) = (0, 0);
            for i in 0..share {
                let n = worker + i * connections;
                let request = match n % 10 {
                    9 => &refused,
                    0 => &v1_tail,
                    _ => &plain,
                };
                match conn.send(request).await.status {
                    200 => ok += 1,
                    401 => denied += 1,
                    other => panic!("call {n}: status {other}"),
                }
            }
            (ok, denied)
        });
    }
    let (mut ok, mut denied) = (0, 0);
    while let Some(result) = tasks.join_next().await {
        let (o, d) = result.unwrap();
        ok += o;
        denied += d;
    }
    (ok, denied)
}

/// How many of `calls` calls [`drive`] sends without valid credentials.
fn refused_among(calls: usize) -> usize {
    (0..calls).filter(|n| n % 10 == 9).count()
}

struct Soak {
    connections: usize,
    warm_up: usize,
    measured: usize,
    max_growth: u64,
}

async fn soak(plan: Soak) {
    let emulator = emulator().await;
    let started = Instant::now();
    drive(&emulator, plan.connections, plan.warm_up).await;
    let limit = fgs_emulator::DEFAULT_RECORD_LIMIT;
    assert_eq!(emulator.records_held(), (limit, limit), "the window is full");
    let before = rss_bytes();
    let (ok, refused) = drive(&emulator, plan.connections, plan.measured).await;
    let after = rss_bytes();
    let total = plan.warm_up + plan.measured;
    assert_eq!(
        (ok, refused),
        (
            plan.measured - refused_among(plan.measured),
            refused_among(plan.measured)
        )
    );
    assert_eq!(emulator.request_count(), total);
    assert_eq!(
        emulator.invocation_count("default", "soak"),
        total - refused_among(plan.warm_up) - refused_among(plan.measured)
    );
    assert_eq!(emulator.records_held(), (limit, limit), "the window stays at its size");
    let elapsed = started.elapsed();
    match (before, after) {
        (Some(before), Some(after)) => {
            let growth = after.saturating_sub(before);
            println!(
                "{total} calls ({} measured) over {} connections in {:.1} s: RSS {:.1} MiB after the warm-up, \
                 {:.1} MiB at the end (+{:.2} MiB, {:.1} bytes per measured call)",
                plan.measured,
                plan.connections,
                elapsed.as_secs_f64(),
                before as f64 / 1048576.0,
                after as f64 / 1048576.0,
                growth as f64 / 1048576.0,
                growth as f64 / plan.measured as f64,
            );
            assert!(
                growth < plan.max_growth,
                "RSS grew by {growth} bytes over {} calls (bound {})",
                plan.measured,
                plan.max_growth
            );
        }
        _ => println!(
            "{total} calls in {:.1} s; RSS not measured (no /proc/self/status)",
            elapsed.as_secs_f64()
        ),
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_flat_over_tens_of_thousands_of_calls() {
    soak(Soak {
        connections: 16,
        warm_up: 2_000,
        measured: 18_000,
        max_growth: 8 * 1024 * 1024,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long soak (300,000 calls): cargo test -p fgs-emulator --release --test soak -- --ignored --nocapture"]
async fn long_soak_memory_stays_flat() {
    soak(Soak {
        connections: 64,
        warm_up: 20_000,
        measured: 280_000,
        max_growth: 16 * 1024 * 1024,
    })
    .await;
}
