//! `fgs invoke`: one synchronous or asynchronous invocation.

use std::io::IsTerminal as _;
use std::time::Duration;

use bytes::Bytes;
use clap::ValueEnum;
use clap::builder::PossibleValuesParser;
use fgs::auth::AuthErrorKind;
use fgs::retry::{NoRetry, StandardRetry};
use fgs::{Client, ClientBuilder, FunctionTarget, InstanceMemory};

use crate::dry_run::DryRunTransport;
use crate::local::Local;
use crate::render::{self, note, note_block};
use crate::spinner::Spinner;
use crate::target::Target;
use crate::{EXIT_FAILURE, EXIT_FUNCTION_ERROR, EXIT_OK, EXIT_SERVICE_ERROR, EXIT_USAGE};

/// Extra help of `fgs invoke --help`: output, credentials, then the exit codes (rendered
/// from the one table, [`crate::EXIT_CODES`]).
pub(crate) fn after_help() -> String {
    format!(
        "\
Output: the result on stdout (pretty-printed JSON; a JSON document inside a string is
decoded too; --raw prints the bytes as they came); the log (--log), the summary
(--summary), the request id and errors on stderr. --async prints the request id on stdout.
--output json prints one JSON object on stdout instead: {{request_id, status, result,
function_error, log, summary}}, or {{error: {{kind, status, code, message, request_id}}}}.

Configuration: the library's Client::from_env, with each flag in place of its variable
(the README's table lists them all). Credentials, the first that is set: --token or
HUAWEICLOUD_SDK_IAM_TOKEN (an IAM token); else AK/SK from HUAWEICLOUD_SDK_AK /
HUAWEICLOUD_SDK_SK (/ HUAWEICLOUD_SDK_SECURITY_TOKEN), then [basic] (or --profile's
section) of ~/.huaweicloud/credentials (or HUAWEICLOUD_SDK_CREDENTIALS_FILE), then the ECS
metadata service only with --metadata (or HUAWEICLOUD_SDK_USE_METADATA=true). HTTPS_PROXY,
HTTP_PROXY, ALL_PROXY and NO_PROXY are honoured, as curl honours them.

--local takes all of that from the running `fgs local` instead (its state file), and
nothing from the environment.

Retries: only a request that certainly did not run the function is sent again (refused
connections, throttling); --retries sets how many times, --no-retry never.

{}",
        crate::exit_codes_help()
    )
}

/// The `--timeout` help: the default is the SDK's [`fgs::DEFAULT_TIMEOUT`].
fn timeout_help() -> String {
    format!(
        "Give up after this many seconds [default: {}, the SDK's default, longer than the longest \
         synchronous run]",
        fgs::DEFAULT_TIMEOUT.as_secs()
    )
}

/// The flags of `fgs invoke`.
#[derive(Debug, clap::Args)]
pub(crate) struct InvokeArgs {
    /// The function to invoke.
    #[arg(
        value_name = "TARGET",
        help = "The function: a full URN (urn:fss:REGION:PROJECT_ID:function:PACKAGE:NAME[:QUALIFIER]), or \
                PACKAGE/NAME[:VERSION|:!ALIAS] in the region and project of --region and --project-id"
    )]
    target: String,
    /// The event: JSON text, @FILE to read a file, or @- for stdin. Without it, stdin is read
    /// when it is not a terminal (empty means {}); otherwise {} is sent.
    #[arg(long, short = 'd', value_name = "JSON|@FILE")]
    data: Option<String>,
    /// Ask for the tail of the function's log and print it on stderr.
    #[arg(long)]
    log: bool,
    /// Print the result exactly as it came, without pretty-printing or decoding.
    #[arg(long)]
    raw: bool,
    /// Print the invoke summary (duration, billed duration, memory) on stderr.
    #[arg(long)]
    summary: bool,
    /// Queue the run and print its request id instead of waiting for the result.
    #[arg(long = "async", conflicts_with_all = ["log", "raw", "summary"])]
    asynchronous: bool,
    /// Memory for this invocation, in MB (the function must allow dynamic memory).
    #[arg(long, value_name = "MB", value_parser = PossibleValuesParser::new(InstanceMemory::VALUES))]
    memory: Option<String>,
    /// Give up after this many seconds (default: the SDK's `DEFAULT_TIMEOUT`).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, help = timeout_help())]
    timeout: Option<Duration>,
    /// The service URL.
    #[arg(
        long,
        value_name = "URL",
        help = "The service URL, e.g. http://127.0.0.1:8000 for `fgs local` \
                [env: HUAWEICLOUD_SDK_FUNCTIONGRAPH_ENDPOINT] [default: https://functiongraph.REGION.myhuaweicloud.com]"
    )]
    endpoint: Option<String>,
    /// The region of a PACKAGE/NAME target, e.g. cn-north-4 (a full URN names its own)
    /// [env: HUAWEICLOUD_SDK_REGION].
    #[arg(long)]
    region: Option<String>,
    /// The project id of a PACKAGE/NAME target [env: HUAWEICLOUD_SDK_PROJECT_ID] [default:
    /// the one beside the AK/SK in the credentials file, else IAM's, looked up].
    #[arg(long, value_name = "ID")]
    project_id: Option<String>,
    /// An IAM token, sent as X-Auth-Token. On the command line it lands in your shell history
    /// and in `ps`: prefer HUAWEICLOUD_SDK_IAM_TOKEN [env: HUAWEICLOUD_SDK_IAM_TOKEN].
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Also ask the ECS/CCE metadata service for credentials (last, when no other source has
    /// any) [env: HUAWEICLOUD_SDK_USE_METADATA=true].
    #[arg(long)]
    metadata: bool,
    /// Invoke on the `fgs local` running on this machine: its address, region, project
    /// and credentials come from the state file it keeps, nothing from the environment.
    #[arg(long, conflicts_with_all = ["endpoint", "region", "project_id", "token", "metadata", "profile", "ca_file"])]
    local: bool,
    /// Invoke this version (instead of writing TARGET:VERSION).
    #[arg(long = "version", value_name = "VERSION", conflicts_with = "alias")]
    function_version: Option<String>,
    /// Invoke through this alias (instead of writing TARGET:!ALIAS).
    #[arg(long, value_name = "ALIAS")]
    alias: Option<String>,
    /// The section of the credentials file to read instead of [basic]
    /// [env: HUAWEICLOUD_SDK_PROFILE].
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// A PEM file of extra root certificates to trust (e.g. the one `fgs local --tls`
    /// writes) [env: HUAWEICLOUD_SDK_CA_FILE].
    #[arg(long, value_name = "FILE")]
    ca_file: Option<String>,
    /// Send again at most this many times when the request certainly did not run (a
    /// refused connection, throttling) [default: 2].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=MAX_RETRIES), conflicts_with = "no_retry")]
    retries: Option<u32>,
    /// Never send the request again.
    #[arg(long)]
    no_retry: bool,
    /// Print the request that would be sent (method, URL, headers with credentials
    /// redacted, body size) and send nothing. Credentials are obtained as for a real call.
    #[arg(long)]
    dry_run: bool,
    /// Print only the result and errors: no progress, no request id.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// No progress spinner (it is also off when stderr is not a terminal, with TERM=dumb
    /// or NO_COLOR).
    #[arg(long)]
    no_progress: bool,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

/// The most `--retries` takes: a bound on how long a refused call keeps trying.
const MAX_RETRIES: i64 = 10;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// The result on stdout, everything else on stderr.
    Text,
    /// One JSON object on stdout.
    Json,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if seconds <= 0.0 {
        return Err("the timeout must be more than 0 seconds".into());
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())
}

/// Why `fgs invoke` did not succeed.
enum Failure {
    /// Found before anything was sent.
    Input(String),
    /// The SDK's error.
    Sdk(fgs::Error),
    /// The SDK's error reaching the `fgs local` of the state file, with where its address
    /// came from.
    Local(fgs::Error, String),
    /// Stdout could not be written.
    Output(std::io::Error),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Input(_) => EXIT_USAGE,
            Failure::Sdk(error) | Failure::Local(error, _) => match error {
                fgs::Error::InvalidInput(_) | fgs::Error::Config(_) => EXIT_USAGE,
                fgs::Error::Auth(e) if matches!(e.kind(), AuthErrorKind::Missing | AuthErrorKind::Invalid) => {
                    EXIT_USAGE
                }
                fgs::Error::Service(_) => EXIT_SERVICE_ERROR,
                fgs::Error::Function(_) | fgs::Error::FunctionStatus(_) => EXIT_FUNCTION_ERROR,
                _ => EXIT_FAILURE,
            },
            Failure::Output(_) => EXIT_FAILURE,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Failure::Input(_) => "input",
            Failure::Output(_) => "output",
            Failure::Sdk(error) | Failure::Local(error, _) => match error {
                fgs::Error::InvalidInput(_) => "input",
                fgs::Error::Config(_) => "config",
                fgs::Error::Auth(_) => "auth",
                fgs::Error::Transport(_) => "transport",
                fgs::Error::Timeout(_) => "timeout",
                fgs::Error::Service(_) => "service",
                fgs::Error::Decode(_) => "decode",
                fgs::Error::ResponseTooLarge(_) => "response_too_large",
                fgs::Error::Function(_) => "function",
                fgs::Error::FunctionStatus(_) => "function_status",
                _ => "other",
            },
        }
    }

    /// The one-line message of text mode.
    fn message(&self) -> String {
        match self {
            Failure::Input(message) => message.clone(),
            Failure::Sdk(error @ fgs::Error::Auth(auth)) if auth.kind() == AuthErrorKind::Missing => format!(
                "{} (pass --token or set {} for an IAM token; --metadata to ask the ECS metadata service)",
                with_causes(error),
                fgs::config::IAM_TOKEN
            ),
            Failure::Sdk(error) => with_causes(error),
            Failure::Local(error, hint) => format!("{} ({hint})", with_causes(error)),
            Failure::Output(error) => format!("cannot write the result to stdout: {error}"),
        }
    }

    /// Prints `{"error": {...}}` on stdout.
    fn print_json(&self) -> std::io::Result<()> {
        let message = self.message();
        let json = match self {
            Failure::Sdk(fgs::Error::Service(service)) => render::error_json(
                self.kind(),
                Some(service.status().as_u16()),
                service.raw_code(),
                service.message(),
                service.request_id(),
            ),
            Failure::Sdk(error) | Failure::Local(error, _) => render::error_json(
                self.kind(),
                error.status().map(|s| s.as_u16()),
                None,
                &message,
                error.request_id(),
            ),
            _ => render::error_json(self.kind(), None, None, &message, None),
        };
        render::stdout_json(&json)
    }
}

/// The error's message followed by its causes, as `{:#}` prints them: each message of an
/// `fgs::Error` chain appears once.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Runs `fgs invoke` and returns the exit code; `tracing` says whether a subscriber
/// writes to stderr (no spinner then).
pub(crate) async fn run(args: InvokeArgs, tracing: bool) -> u8 {
    let json = args.output == OutputFormat::Json;
    let result = invoke(&args, tracing).await;
    let failure = match result {
        Ok(code) => return code,
        Err(failure) => failure,
    };
    if json {
        if let Err(error) = failure.print_json() {
            note(&format!(
                "error: {}; also cannot write to stdout: {error}",
                failure.message()
            ));
        }
    } else {
        // The function ran but its result could not be read: show what arrived, so
        // nothing the function produced is lost.
        if let Failure::Sdk(fgs::Error::Decode(decode)) = &failure {
            if decode.function_ran() && !decode.body().is_empty() {
                if let Err(error) = render::stdout(decode.body()) {
                    note(&format!("cannot write the response to stdout: {error}"));
                }
                if decode.body_is_truncated() {
                    note(&format!(
                        "note: only the first {} of {} bytes of the response are shown",
                        decode.body().len(),
                        decode.body_len()
                    ));
                }
            }
        }
        note(&format!("error: {}", failure.message()));
    }
    failure.exit_code()
}

/// Everything up to sending is checked first; then the call, then the output.
async fn invoke(args: &InvokeArgs, tracing: bool) -> Result<u8, Failure> {
    let target = Target::parse(&args.target)
        .and_then(|target| target.qualified(args.function_version.as_deref(), args.alias.as_deref()))
        .map_err(Failure::Input)?;
    let local = match args.local {
        true => Some(Local::find().map_err(Failure::Input)?),
        false => None,
    };

    let (limit, kind) = if args.asynchronous {
        (crate::payload::async_limit(), "an asynchronous invoke")
    } else {
        (crate::payload::sync_limit(), "a synchronous invoke")
    };
    let payload = {
        let stdin = std::io::stdin();
        let is_terminal = stdin.is_terminal();
        crate::payload::read(
            args.data.as_deref(),
            limit,
            kind,
            crate::payload::Stdin {
                reader: &mut stdin.lock(),
                is_terminal,
            },
        )
        .map_err(Failure::Input)?
    };

    let dry_run = args.dry_run.then(DryRunTransport::default);
    let client = client(args, &target, local.as_ref(), dry_run.as_ref())?;
    let function = target.function_target();
    if let (fgs::FunctionTarget::Ref(_), None) = (&function, client.region()) {
        return Err(Failure::Input(format!(
            "{} needs a region: pass --region or set {} (or give a full URN)",
            target.function_name(),
            fgs::config::REGION
        )));
    }

    let progress = !(tracing || args.quiet || args.no_progress || args.dry_run);
    let outcome = if args.asynchronous {
        invoke_async(args, &client, function, payload).await
    } else {
        invoke_sync(args, &client, function, payload, &target, progress).await
    };
    if let Some(request) = dry_run.as_ref().and_then(DryRunTransport::take) {
        render::stdout(crate::dry_run::describe(&request).as_bytes()).map_err(Failure::Output)?;
        return Ok(EXIT_OK);
    }
    match (outcome, &local) {
        (Err(Failure::Sdk(fgs::Error::Transport(error))), Some(local))
            if error.kind() == fgs::transport::TransportErrorKind::Connect =>
        {
            Err(Failure::Local(fgs::Error::Transport(error), local.hint()))
        }
        (outcome, _) => outcome,
    }
}

/// The client, configured as the library's `ClientBuilder::from_env` configures it, with
/// the flags in place of the variables they stand for: one set of rules for the library
/// and the CLI. A full URN names its own region. With `--local`, the running emulator's
/// state stands for every variable and the environment is not read.
fn client(
    args: &InvokeArgs,
    target: &Target,
    local: Option<&Local>,
    dry_run: Option<&DryRunTransport>,
) -> Result<Client, Failure> {
    use fgs::config;
    let flag = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let region = flag(&args.region).or_else(|| match target {
        Target::Urn(urn) => Some(urn.region().to_owned()),
        Target::Short(_) => None,
    });
    let overrides: Vec<(&'static str, String)> = match local {
        Some(local) => {
            if !local.has_credentials() {
                return Err(Failure::Input(format!(
                    "the local FunctionGraph in {} accepts no token and no AK/SK that --local could use; invoke it \
                     with --endpoint and credentials instead",
                    local.path.display()
                )));
            }
            local.variables()
        }
        None => [
            (config::REGION, region),
            (config::FUNCTIONGRAPH_ENDPOINT, flag(&args.endpoint)),
            (config::PROJECT_ID, flag(&args.project_id)),
            (config::IAM_TOKEN, flag(&args.token)),
            (config::USE_METADATA, args.metadata.then(|| "true".to_owned())),
            (config::PROFILE, flag(&args.profile)),
            (config::CA_FILE, flag(&args.ca_file)),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect(),
    };
    let read_environment = local.is_none();
    let mut builder = ClientBuilder::from_lookup(move |name| {
        overrides
            .iter()
            .find(|(flag, _)| *flag == name)
            .map(|(_, value)| value.clone())
            .or_else(|| {
                if read_environment {
                    std::env::var(name).ok()
                } else {
                    None
                }
            })
    })
    .app_name(concat!("fgs-cli/", env!("CARGO_PKG_VERSION")));
    match local {
        // Unlike the library (opt-in), a command line follows the shell's proxy settings,
        // except to the emulator on this machine.
        None => builder = builder.proxy_from_env(),
        // A local server that is there answers at once.
        Some(local) => {
            builder = builder.connect_timeout(LOCAL_CONNECT_TIMEOUT);
            if local.no_auth() {
                builder = builder.auth(fgs::auth::Anonymous);
            }
        }
    }
    if args.no_retry {
        builder = builder.retry_policy(NoRetry);
    } else if let Some(retries) = args.retries {
        builder = builder.retry_policy(StandardRetry::new().max_attempts(retries.saturating_add(1)));
    }
    if let Some(dry_run) = dry_run {
        // Nothing is sent, so nothing is retried, and the project id must be known
        // without asking IAM.
        builder = builder
            .transport(dry_run.clone())
            .retry_policy(NoRetry)
            .discover_project_id(false);
    }
    builder.build().map_err(|e| Failure::Sdk(e.into()))
}

/// How long `--local` waits for the emulator to accept a connection.
const LOCAL_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

async fn invoke_sync(
    args: &InvokeArgs,
    client: &Client,
    function: FunctionTarget,
    payload: Bytes,
    target: &Target,
    progress: bool,
) -> Result<u8, Failure> {
    let mut call = client.invoke(function).body(payload).log_tail(args.log);
    if let Some(memory) = &args.memory {
        call = call.memory(InstanceMemory::from(memory.as_str()));
    }
    if let Some(timeout) = args.timeout {
        call = call.timeout(timeout);
    }
    let spinner = progress.then(|| Spinner::start(target.function_name())).flatten();
    let outcome = call.send().await;
    if let Some(spinner) = spinner {
        spinner.stop().await;
    }
    let output = outcome.map_err(Failure::Sdk)?;
    let code = if output.is_function_error() {
        EXIT_FUNCTION_ERROR
    } else {
        EXIT_OK
    };

    if args.output == OutputFormat::Json {
        render::stdout_json(&render::output_json(&output, args.raw)).map_err(Failure::Output)?;
        return Ok(code);
    }
    for problem in output.problems() {
        note(&format!("warning: {problem}"));
    }
    if args.log {
        match output.log() {
            Some(log) => note_block(log),
            None => note("log: none was returned"),
        }
    }
    let result = if args.raw {
        output.result().to_vec()
    } else {
        render::pretty_result(output.result())
    };
    render::stdout(&result).map_err(Failure::Output)?;
    if args.summary {
        match (output.summary(), output.summary_raw()) {
            (Some(summary), _) => note(&render::summary_line(summary)),
            (None, Some(raw)) => note(&format!("summary (unreadable, as sent): {raw}")),
            (None, None) => note("summary: none was returned"),
        }
    }
    if let (Some(request_id), false) = (output.request_id(), args.quiet) {
        note(&format!("request id: {request_id}"));
    }
    if output.is_function_error() {
        note(&render::function_error_line(&output));
    }
    Ok(code)
}

async fn invoke_async(
    args: &InvokeArgs,
    client: &Client,
    function: FunctionTarget,
    payload: Bytes,
) -> Result<u8, Failure> {
    let mut call = client.invoke_async(function).body(payload);
    if let Some(memory) = &args.memory {
        call = call.memory(InstanceMemory::from(memory.as_str()));
    }
    if let Some(timeout) = args.timeout {
        call = call.timeout(timeout);
    }
    let output = call.send().await.map_err(Failure::Sdk)?;
    if args.output == OutputFormat::Json {
        render::stdout_json(&render::async_output_json(&output)).map_err(Failure::Output)?;
    } else {
        render::stdout(format!("{}\n", output.request_id()).as_bytes()).map_err(Failure::Output)?;
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_positive_seconds() {
        assert_eq!(parse_seconds("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_seconds("30").unwrap(), Duration::from_secs(30));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("soon").is_err());
    }

    #[test]
    fn the_help_here_ends_with_the_exit_codes_and_names_the_sdk_default() {
        assert!(after_help().ends_with(&crate::exit_codes_help()));
        let default = format!("[default: {}, ", fgs::DEFAULT_TIMEOUT.as_secs());
        assert!(timeout_help().contains(&default), "{}", timeout_help());
    }

    #[test]
    fn failures_map_to_exit_codes() {
        assert_eq!(Failure::Input("bad".into()).exit_code(), EXIT_USAGE);
        assert_eq!(Failure::Input("bad".into()).kind(), "input");
        let invalid = fgs::Error::Config(fgs::ConfigError::new("x"));
        assert_eq!(Failure::Sdk(invalid).exit_code(), EXIT_USAGE);
        let missing = fgs::Error::Auth(fgs::auth::AuthError::missing("none"));
        assert_eq!(Failure::Sdk(missing).exit_code(), EXIT_USAGE);
        let provider = fgs::Error::Auth(fgs::auth::AuthError::provider("metadata down"));
        assert_eq!(Failure::Sdk(provider).exit_code(), EXIT_FAILURE);
        assert_eq!(Failure::Output(std::io::Error::other("x")).exit_code(), EXIT_FAILURE);
    }
}
