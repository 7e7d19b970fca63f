//! `fgs`: invoke Huawei Cloud FunctionGraph functions from the command line, and run a
//! local FunctionGraph (the `fgs-emulator`) to invoke them against.
//!
//! ```text
//! fgs local
//! fgs invoke default/hello --local --data '{"name":"fgs"}' --log --summary
//! ```
//!
//! The result goes to stdout; the log, the summary, the request id and errors go to
//! stderr, so `fgs invoke ... | jq` sees only the result. Exit codes are the `EXIT_*`
//! constants below.

mod dry_run;
mod invoke;
mod local;
mod logging;
mod payload;
mod render;
mod spinner;
mod target;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

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
    /// Show what the client does on stderr: the fgs.invoke span with its timings, each
    /// attempt, and each retry with its reason (credentials are never shown). RUST_LOG
    /// (e.g. `fgs_core=trace,hyper=debug`) adds to it, or works alone.
    #[arg(short = 'v', long = "debug", global = true)]
    debug: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Invoke a function and print its result.
    #[command(after_help = invoke::after_help())]
    Invoke(invoke::InvokeArgs),
    /// Run a local FunctionGraph (the emulator) on 127.0.0.1 with functions given as
    /// shell commands (or a built-in demo, default/hello); stop it with Ctrl-C. While it
    /// runs, `fgs invoke --local` finds it.
    Local(fgs_emulator::cli::Args),
    /// Print a shell completion script, e.g. `fgs completions bash > ~/.local/share/bash-completion/completions/fgs`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `fgs manpage > ~/.local/share/man/man1/fgs.1`.
    Manpage,
}

#[tokio::main]
async fn main() -> ExitCode {
    // clap exits by itself: 0 for --help and --version, 2 for a usage error.
    let cli = Cli::parse();
    let tracing = logging::install(cli.debug);
    let code = match cli.command {
        Command::Invoke(args) => invoke::run(args, tracing).await,
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "fgs", &mut script);
            print_or_fail(&script)
        }
        Command::Manpage => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => print_or_fail(&page),
                Err(error) => {
                    render::note(&format!("error: cannot render the manual page: {error}"));
                    EXIT_FAILURE
                }
            }
        }
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

/// Writes generated text to stdout; the exit code.
fn print_or_fail(bytes: &[u8]) -> u8 {
    match render::stdout(bytes) {
        Ok(()) => EXIT_OK,
        Err(error) => {
            render::note(&format!("error: cannot write to stdout: {error}"));
            EXIT_FAILURE
        }
    }
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

    /// The table of variables and flags (shared by the README and the library docs) names
    /// real `fgs invoke` flags, each documented with the variable it stands for.
    #[test]
    fn the_configuration_table_names_real_flags() {
        let table = include_str!("../../fgs-core/src/environment.md");
        let mut command = Cli::command();
        let invoke = command
            .find_subcommand_mut("invoke")
            .unwrap_or_else(|| panic!("no invoke subcommand"));
        let mut flags = 0;
        for row in table.lines().skip(2) {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let (variable, flag) = (cells[1], cells[2]);
            let Some(flag) = flag.strip_prefix("`--").and_then(|f| f.strip_suffix('`')) else {
                assert!(flag.is_empty(), "{row}");
                continue;
            };
            let variable = variable.trim_matches('`');
            let argument = invoke
                .get_arguments()
                .find(|a| a.get_long() == Some(flag))
                .unwrap_or_else(|| panic!("the table names --{flag}, which fgs invoke does not have"));
            let help = argument.get_help().map(ToString::to_string).unwrap_or_default();
            assert!(
                help.contains(variable),
                "--{flag}'s help does not name {variable}: {help}"
            );
            flags += 1;
        }
        assert_eq!(flags, 7, "{table}");
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
            _ => panic!("not parsed as local"),
        }
    }
}
