//! `fgs-emulator`: a local FunctionGraph from the terminal.
//!
//! ```text
//! fgs-emulator --function 'default/hello=sh crates/fgs-cli/functions/hello.sh'
//! ```

use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main]
async fn main() -> ExitCode {
    match fgs_emulator::cli::run(fgs_emulator::cli::Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fgs-emulator: {error}");
            ExitCode::FAILURE
        }
    }
}
