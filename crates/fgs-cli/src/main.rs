//! `fgs`: invoke Huawei Cloud FunctionGraph functions from the command line, and run a
//! local FunctionGraph (the `fgs-emulator`) to invoke them against.
//!
//! ```text
//! fgs local --function default/hello=./hello.sh
//! fgs invoke default/hello --data '{"name":"fgs"}' --log --summary
//! ```
//!
//! The result goes to stdout; the log, the summary, the request id and errors go to
//! stderr, so `fgs invoke ... | jq` sees only the result. Exit codes are the `EXIT_*`
//! constants below.

mod invoke;
mod payload;
mod render;
mod spinner;
mod target;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Success.
const EXIT_OK: u8 = 0;
/// A usage or input error, found before anything was sent (clap's own usage errors also
/// exit with 2).
const EXIT_USAGE: u8 = 2;
/// The function ran and raised an error; its result is still printed.
const EXIT_FUNCTION_ERROR: u8 = 3;
/// FunctionGraph or its API gateway answered with an error status.
const EXIT_SERVICE_ERROR: u8 = 4;
/// A transport failure, a timeout or any other failure.
const EXIT_FAILURE: u8 = 5;

/// Every exit code with its meaning: the one table, rendered into `fgs --help` and
/// `fgs invoke --help` by [`exit_codes_help`].
const EXIT_CODES: &[(u8, &str)] = &[
    (EXIT_OK, "success"),
    (
        EXIT_USAGE,
        "usage or input error: bad URN, unreadable file, invalid JSON, payload over the\n     \
         limit, no credentials (found before anything is sent)",
    ),
    (
        EXIT_FUNCTION_ERROR,
        "the function raised an error (its result is still printed)",
    ),
    (
        EXIT_SERVICE_ERROR,
        "service or gateway error (CODE (HTTP status): message [request id ...] on stderr)",
    ),
    (EXIT_FAILURE, "transport, timeout or other failure"),
];

/// The exit-code section of the help, rendered from [`EXIT_CODES`].
fn exit_codes_help() -> String {
    let mut help = String::from("Exit codes:");
    for (code, meaning) in EXIT_CODES {
        help.push_str(&format!("\n  {code}  {meaning}"));
    }
    help
}

/// Invoke FunctionGraph functions, or run a local FunctionGraph to invoke them against.
#[derive(Debug, Parser)]
#[command(name = "fgs", version, after_help = exit_codes_help())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Invoke a function and print its result.
    #[command(after_help = invoke::after_help())]
    Invoke(invoke::InvokeArgs),
    /// Run a local FunctionGraph (the emulator) on 127.0.0.1 with functions given as
    /// shell commands; stop it with Ctrl-C.
    Local(fgs_emulator::cli::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    // clap exits by itself: 0 for --help and --version, 2 for a usage error.
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Invoke(args) => invoke::run(args).await,
        Command::Local(args) => match fgs_emulator::cli::run(args).await {
            Ok(()) => EXIT_OK,
            Err(error) => {
                render::note(&format!("error: {error}"));
                EXIT_FAILURE
            }
        },
    };
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_help_lists_every_exit_code() {
        let codes: Vec<u8> = EXIT_CODES.iter().map(|(code, _)| *code).collect();
        assert_eq!(
            codes,
            [
                EXIT_OK,
                EXIT_USAGE,
                EXIT_FUNCTION_ERROR,
                EXIT_SERVICE_ERROR,
                EXIT_FAILURE
            ]
        );
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains(&exit_codes_help()), "{help}");
        let mut command = Cli::command();
        let invoke = command
            .find_subcommand_mut("invoke")
            .unwrap_or_else(|| panic!("no invoke subcommand"));
        let help = invoke.render_long_help().to_string();
        assert!(help.contains(&exit_codes_help()), "{help}");
        assert!(help.contains("  4  service or gateway error"), "{help}");
    }

    #[test]
    fn local_takes_the_emulator_flags() {
        let cli = Cli::try_parse_from([
            "fgs",
            "local",
            "--port",
            "0",
            "--function",
            "default/echo=cat",
            "--token",
            "T",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        match cli.command {
            Command::Local(args) => {
                assert_eq!(args.port, 0);
                assert_eq!(args.tokens, ["T"]);
                assert_eq!(args.functions.len(), 1);
            }
            Command::Invoke(_) => panic!("parsed as invoke"),
        }
    }
}
