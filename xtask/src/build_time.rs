//! `cargo xtask build-time [--rounds N] [--release]`: how much longer a user's crate takes
//! to build from clean when it depends on the facade (default features) than a bare
//! reqwest + tokio + serde crate. Target (issue): ≤ 1.20×. It also times the facade with
//! the hyper transport in place of reqwest, what making hyper the default would give.
//!
//! It writes three throwaway crates under `target/build-time/` (or
//! `$CARGO_TARGET_DIR/build-time/`), each its own workspace with a copy of this
//! workspace's `Cargo.lock`, so that both resolve the versions this workspace uses:
//!
//! - `fgs-user`: `fgs` (by path, default features), `tokio` (`macros`, `rt-multi-thread`),
//!   `serde` (`derive`), `serde_json`;
//! - `fgs-hyper`: the same program on `fgs` with `default-features = false` and the
//!   defaults but `hyper` for `reqwest` (`hyper`, `auth`, `rustls-aws-lc`, `macros`);
//! - `bare`: `reqwest` configured as the facade's default transport configures it
//!   (`default-features = false`, `rustls`: rustls on aws-lc-rs), and the same `tokio`,
//!   `serde` and `serde_json`.
//!
//! Each `main.rs` uses its dependencies the way a first program would (builds a client and
//! a call, sends it only when run with `--send`; the tool never runs them). Before timing,
//! `cargo fetch` makes sure every crate is in the local registry cache (the only network
//! use, and only for crates not there yet); every timed build is then
//! `cargo build --offline --locked` (dev profile; `--release` with `--release`) with the
//! default number of jobs, into a target directory deleted before each build, timed by
//! wall clock. Each round starts with another crate.
//!
//! `CARGO_INCREMENTAL=0` for both: here the facade is a path dependency, which cargo
//! would build incrementally, while a user gets it from the registry, which cargo never
//! builds incrementally. Variables of the `cargo xtask` run that would change the builds
//! (`CARGO_TARGET_DIR`, `CARGO_BUILD_TARGET_DIR`, jobserver `MAKEFLAGS`) are removed.
//!
//! A measurement tool, not a test: nothing runs it in `cargo test` or CI.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Target ratio fgs-user / bare.
const TARGET: f64 = 1.20;

/// What `cargo xtask build-time` was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Builds per crate.
    pub rounds: usize,
    /// `cargo build --release` instead of the dev profile.
    pub release: bool,
}

impl Options {
    /// Parses the arguments after `build-time`.
    pub fn parse(args: &[&str]) -> Result<Options, String> {
        let mut options = Options {
            rounds: 2,
            release: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match *arg {
                "--release" => options.release = true,
                "--rounds" => {
                    let value = args.next().ok_or("--rounds needs a number")?;
                    options.rounds = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("--rounds {value}: not a positive number"))?;
                }
                other => return Err(format!("build-time: unknown argument {other:?}")),
            }
        }
        Ok(options)
    }
}

/// The crates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    FgsUser,
    FgsHyper,
    Bare,
}

impl Subject {
    /// All, the one the ratios are over last.
    const ALL: [Subject; 3] = [Subject::FgsUser, Subject::FgsHyper, Subject::Bare];

    fn name(self) -> &'static str {
        match self {
            Subject::FgsUser => "fgs-user",
            Subject::FgsHyper => "fgs-hyper",
            Subject::Bare => "bare",
        }
    }
}

const FGS_USER_MAIN: &str = r#"//! A first fgs program (written by `cargo xtask build-time`; never run by it).
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug)]
struct Event {
    name: String,
    n: u32,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = fgs::Client::builder()
        .endpoint_url("http://127.0.0.1:9")
        .auth(fgs::auth::StaticToken::new("token"))
        .build()?;
    let event = Event { name: "world".into(), n: 1 };
    let call = client.invoke("default/hello").json(&event);
    if std::env::args().any(|a| a == "--send") {
        let output = call.send().await?;
        let reply: serde_json::Value = output.result_json()?;
        println!("{reply}");
    }
    Ok(())
}
"#;

const BARE_MAIN: &str = r#"//! A first reqwest program (written by `cargo xtask build-time`; never run by it).
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug)]
struct Event {
    name: String,
    n: u32,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = reqwest::Client::builder().build()?;
    let event = Event { name: "world".into(), n: 1 };
    let request = client
        .post("http://127.0.0.1:9/v2/project/fgs/functions/urn/invocations")
        .header("content-type", "application/json")
        .header("x-auth-token", "token")
        .body(serde_json::to_vec(&event)?)
        .build()?;
    if std::env::args().any(|a| a == "--send") {
        let response = client.execute(request).await?;
        let reply: serde_json::Value = serde_json::from_slice(&response.bytes().await?)?;
        println!("{reply}");
    }
    Ok(())
}
"#;

/// The dependencies both crates share, with this workspace's version requirements.
const COMMON_DEPENDENCIES: &str = r#"tokio = { version = "1.47", features = ["macros", "rt-multi-thread"] }
serde = { version = "1.0.219", features = ["derive"] }
serde_json = "1.0.143"
"#;

fn manifest(subject: Subject, root: &Path) -> String {
    // Forward slashes: a TOML basic string would read Windows backslashes as escapes.
    let fgs = root.join("crates").join("fgs").display().to_string().replace('\\', "/");
    let dependency = match subject {
        Subject::FgsUser => format!("fgs = {{ path = \"{fgs}\" }}\n"),
        Subject::FgsHyper => format!(
            "fgs = {{ path = \"{fgs}\", default-features = false, features = [\"hyper\", \"auth\", \"rustls-aws-lc\", \"macros\"] }}\n"
        ),
        // As fgs-core's default `rustls-aws-lc` feature configures it (workspace:
        // default-features = false; the feature adds `rustls`).
        Subject::Bare => {
            "reqwest = { version = \"0.13\", default-features = false, features = [\"rustls\"] }\n".to_owned()
        }
    };
    format!(
        "# Written by `cargo xtask build-time`.\n[package]\nname = \"{}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\n{dependency}{COMMON_DEPENDENCIES}\n\
         # Its own workspace, not the one this directory may sit in.\n[workspace]\n",
        subject.name()
    )
}

/// Writes the crate and returns its directory.
fn write_crate(base: &Path, subject: Subject, root: &Path) -> Result<PathBuf, String> {
    let dir = base.join(subject.name());
    let src = dir.join("src");
    fs::create_dir_all(&src).map_err(|e| format!("cannot create {}: {e}", src.display()))?;
    let write =
        |path: PathBuf, text: &str| fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()));
    write(dir.join("Cargo.toml"), &manifest(subject, root))?;
    let main = match subject {
        Subject::FgsUser | Subject::FgsHyper => FGS_USER_MAIN,
        Subject::Bare => BARE_MAIN,
    };
    write(src.join("main.rs"), main)?;
    let lock = root.join("Cargo.lock");
    fs::copy(&lock, dir.join("Cargo.lock")).map_err(|e| format!("cannot copy {}: {e}", lock.display()))?;
    Ok(dir)
}

/// `cargo` with the variables of this run that would change a build removed.
fn cargo(dir: &Path) -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(dir);
    for name in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        "CARGO_BUILD_JOBS",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
    ] {
        command.env_remove(name);
    }
    command.env("CARGO_INCREMENTAL", "0");
    command
}

/// Output of a command that must succeed.
fn run(mut command: Command, what: &str) -> Result<std::process::Output, String> {
    let output = command.output().map_err(|e| format!("cannot run {what}: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// One clean build: its wall-clock time and how many crates it compiled.
fn build(dir: &Path, release: bool) -> Result<(Duration, usize), String> {
    let target = dir.join("target");
    if target.exists() {
        fs::remove_dir_all(&target).map_err(|e| format!("cannot delete {}: {e}", target.display()))?;
    }
    let mut command = cargo(dir);
    command
        .args(["build", "--offline", "--locked", "--target-dir"])
        .arg(&target);
    if release {
        command.arg("--release");
    }
    let started = Instant::now();
    let output = run(command, &format!("cargo build in {}", dir.display()))?;
    let elapsed = started.elapsed();
    let compiled = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.trim_start().starts_with("Compiling "))
        .count();
    Ok((elapsed, compiled))
}

fn first_line(mut command: Command) -> String {
    command
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn machine() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim())
        })
        .unwrap_or("unknown CPU");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} usable cores, {model}")
}

fn load() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Where the crates go: `$CARGO_TARGET_DIR/build-time` or `<root>/target/build-time`.
fn base_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            // Relative to where cargo was run, as cargo reads it.
            let dir = if dir.is_absolute() {
                dir
            } else {
                std::env::current_dir().map(|cwd| cwd.join(&dir)).unwrap_or(dir)
            };
            dir.join("build-time")
        }
        None => root.join("target").join("build-time"),
    }
}

/// Prints a line at once (the run takes minutes).
fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Writes the crates, builds each `options.rounds` times and returns the summary.
pub fn run_measurement(root: &Path, options: Options) -> Result<String, String> {
    let base = base_dir(root);
    let subjects = Subject::ALL;
    let mut dirs = Vec::new();
    for subject in subjects {
        dirs.push(write_crate(&base, subject, root)?);
    }
    let profile = if options.release { "release" } else { "dev" };
    say(&format!("machine: {}", machine()));
    say(&format!("rustc: {}", first_line(with_args("rustc", &["--version"]))));
    let mut cargo_version = cargo(&base);
    cargo_version.arg("--version");
    say(&format!("cargo: {}", first_line(cargo_version)));
    let names: Vec<&str> = subjects.iter().map(|s| s.name()).collect();
    say(&format!("crates: {} ({})", base.display(), names.join(", ")));
    say(&format!(
        "each build: `CARGO_INCREMENTAL=0 cargo build --offline --locked{}` into a fresh target directory, default jobs; \
         {} rounds, each starting with another crate",
        if options.release { " --release" } else { "" },
        options.rounds
    ));

    // Not timed: fill the registry cache (and the lock file's new root entry).
    for dir in &dirs {
        let mut fetch = cargo(dir);
        fetch.arg("fetch");
        run(fetch, &format!("cargo fetch in {}", dir.display()))?;
    }
    say(&format!("load average at start: {}", load()));

    let mut times: Vec<Vec<f64>> = vec![Vec::new(); subjects.len()];
    let mut units = vec![0usize; subjects.len()];
    for round in 0..options.rounds {
        for step in 0..subjects.len() {
            let index = (round + step) % subjects.len();
            let (elapsed, compiled) = build(&dirs[index], options.release)?;
            times[index].push(elapsed.as_secs_f64());
            units[index] = compiled;
            say(&format!(
                "  round {}/{} {:<9} {:>7.1} s ({compiled} crates compiled)",
                round + 1,
                options.rounds,
                subjects[index].name(),
                elapsed.as_secs_f64()
            ));
        }
    }
    // The builds are large; keep the crates, not their targets.
    for dir in &dirs {
        let _ = fs::remove_dir_all(dir.join("target"));
    }

    let bare_index = subjects.len() - 1;
    let mut report = String::new();
    let _ = writeln!(report, "load average at end: {}", load());
    let _ = writeln!(report, "clean {profile} build, wall clock:");
    for (index, subject) in subjects.iter().enumerate() {
        let each: Vec<String> = times[index].iter().map(|t| format!("{t:.1}")).collect();
        let _ = writeln!(
            report,
            "  {:<9} median {:>6.1} s  (rounds: {} s; {} crates)",
            subject.name(),
            median(&times[index]),
            each.join(", "),
            units[index]
        );
    }
    // Each round builds every crate back to back, so its ratio is the least disturbed by
    // load that comes and goes.
    for index in 0..bare_index {
        let ratio = median(&times[index]) / median(&times[bare_index]);
        let per_round: Vec<String> = times[index]
            .iter()
            .zip(&times[bare_index])
            .map(|(fgs, bare)| format!("{:.2}", fgs / bare))
            .collect();
        let _ = writeln!(
            report,
            "{} / bare: {ratio:.2} (median / median; per round: {}){}",
            subjects[index].name(),
            per_round.join(", "),
            match subjects[index] {
                Subject::FgsUser if ratio <= TARGET => format!(" (target <= {TARGET:.2}: met)"),
                Subject::FgsUser => format!(" (target <= {TARGET:.2}: missed)"),
                _ => String::new(),
            }
        );
    }
    Ok(report)
}

fn with_args(program: &str, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    command.args(args);
    command
}
