//! `cargo xtask codegen` writes `crates/fgs-core/src/generated/` from `spec/`;
//! `cargo xtask codegen --check` changes nothing and fails when those files are stale;
//! `cargo xtask protocol-literals` fails when hand-written library code spells a protocol
//! fact (an error code or an `X-Cff-` header) instead of naming the generated constant;
//! `cargo xtask build-time [--rounds N] [--release]` times a clean build of a user crate on
//! the facade against a bare reqwest + tokio + serde crate (a measurement, not a check).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod build_time;
mod codegen;
mod protocol_literals;

const USAGE: &str = "usage: cargo xtask codegen [--check] | cargo xtask protocol-literals | cargo xtask build-time [--rounds N] [--release]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if args.as_slice() == ["protocol-literals"] {
        return protocol_literals_command();
    }
    if let ["build-time", rest @ ..] = args.as_slice() {
        return build_time_command(rest);
    }
    let mode = match args.as_slice() {
        ["codegen"] => codegen::Mode::Write,
        ["codegen", "--check"] => codegen::Mode::Check,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match codegen::run(&workspace_root(), mode) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Times clean builds of a crate on the facade and of a bare one; prints the ratio.
fn build_time_command(args: &[&str]) -> ExitCode {
    let options = match build_time::Options::parse(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match build_time::run_measurement(&workspace_root(), options) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Lists protocol literals in hand-written library code; fails when there is one.
fn protocol_literals_command() -> ExitCode {
    match protocol_literals::find(&workspace_root()) {
        Ok(findings) if findings.is_empty() => ExitCode::SUCCESS,
        Ok(findings) => {
            for f in findings {
                eprintln!("{}:{}: {}", f.file.display(), f.line, f.text);
            }
            eprintln!("use fgs_core::generated::operations::headers, ErrorCode or the catalogue instead");
            ExitCode::FAILURE
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    // xtask lives one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}
