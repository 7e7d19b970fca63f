//! `cargo xtask codegen` writes `crates/fgs-core/src/generated/` from `spec/`;
//! `cargo xtask codegen --check` changes nothing and fails when those files are stale.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod codegen;

const USAGE: &str = "usage: cargo xtask codegen [--check]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
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

fn workspace_root() -> PathBuf {
    // xtask lives one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}
