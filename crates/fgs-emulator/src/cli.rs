//! The command-line front end: `fgs-emulator --function default/hello=./hello.sh`.
//!
//! [`Args`] is a clap parser so that other binaries (the `fgs` CLI's `local` command) can
//! embed the same flags and call [`run`].
//!
//! While it runs, [`run`] records where it listens and what it accepts in a
//! [`LocalState`] file ([`LocalState::default_path`]), which `fgs invoke --local` reads; the
//! file is removed when it stops.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use fgs_core::generated::operations::InvokeFunctionRequest;
use fgs_core::generated::types::ResponseVersion;
use fgs_core::protocol::RequestParts as _;

use crate::record::{InvocationRecord, RunOutcome};
use crate::{Emulator, Function, Handler, LocalState, TlsIdentity, ids, time};

/// Runs a local FunctionGraph on 127.0.0.1 with functions given as shell commands.
#[derive(Debug, Clone, Parser)]
#[command(name = "fgs-emulator", version, about, long_about = None)]
pub struct Args {
    /// A function as `PACKAGE/NAME[:VERSION]=COMMAND`: the event on stdin, the result on
    /// stdout, stderr into the log, a non-zero exit a function error. Repeatable; flags for
    /// the same PACKAGE/NAME are its versions (`latest` without `:VERSION`; without such a
    /// flag, `latest` runs the last version's command). Without any, the built-in demo
    /// `default/hello` answers {"message": "Hello, NAME!"}.
    #[arg(long = "function", value_name = "PACKAGE/NAME[:VERSION]=COMMAND", value_parser = parse_function)]
    pub functions: Vec<FunctionArg>,
    /// An alias as `PACKAGE/NAME:ALIAS=VERSION` (or `:!ALIAS`), pointing at a version given
    /// with --function, or at `latest`. Repeatable.
    #[arg(long = "alias", value_name = "PACKAGE/NAME:ALIAS=VERSION", value_parser = parse_alias)]
    pub aliases: Vec<AliasArg>,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8000, env = "FGS_EMULATOR_PORT")]
    pub port: u16,
    /// Address to listen on. Anything but loopback exposes the emulator to the network.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Project id of the URNs.
    #[arg(long, default_value = crate::DEFAULT_PROJECT_ID)]
    pub project_id: String,
    /// Region of the URNs.
    #[arg(long, default_value = crate::DEFAULT_REGION)]
    pub region: String,
    /// An accepted X-Auth-Token (generated when no credentials are given). Repeatable.
    #[arg(
        long = "token",
        value_name = "TOKEN",
        env = "FGS_EMULATOR_TOKEN",
        hide_env_values = true
    )]
    pub tokens: Vec<String>,
    /// An accepted access key (with --secret-key; generated when no credentials are given).
    #[arg(
        long,
        requires = "secret_key",
        env = "FGS_EMULATOR_ACCESS_KEY",
        hide_env_values = true
    )]
    pub access_key: Option<String>,
    /// The secret key of --access-key.
    #[arg(
        long,
        requires = "access_key",
        env = "FGS_EMULATOR_SECRET_KEY",
        hide_env_values = true
    )]
    pub secret_key: Option<String>,
    /// An IAM user for POST /v3/auth/tokens, as DOMAIN/NAME:PASSWORD. Repeatable.
    #[arg(long = "iam-user", value_name = "DOMAIN/NAME:PASSWORD", value_parser = parse_iam_user)]
    pub iam_users: Vec<IamUserArg>,
    /// Lifetime of issued tokens, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "86400", value_parser = parse_seconds)]
    pub token_lifetime: Duration,
    /// Accept requests without credentials.
    #[arg(long)]
    pub no_auth: bool,
    /// Function timeout in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "3", value_parser = parse_seconds)]
    pub timeout: Duration,
    /// Function memory in MB.
    #[arg(long, default_value_t = crate::DEFAULT_MEMORY_MB)]
    pub memory: u32,
    /// At most this many concurrent runs per function (a huge number: no limit).
    #[arg(long)]
    pub max_concurrency: Option<usize>,
    /// Keep this many recent requests and runs for inspection.
    #[arg(long, value_name = "COUNT", default_value_t = crate::DEFAULT_RECORD_LIMIT, conflicts_with = "unbounded_records")]
    pub record_limit: usize,
    /// Keep every request and run (memory grows with each call).
    #[arg(long)]
    pub unbounded_records: bool,
    /// Keep at most this many bytes of each recorded body, event and log.
    #[arg(long, value_name = "BYTES", default_value_t = crate::DEFAULT_RECORD_BODY_LIMIT)]
    pub record_body_limit: usize,
    /// Keep at most this many bytes of bodies (and of events and logs) in all; the oldest
    /// records go first.
    #[arg(long, value_name = "BYTES", default_value_t = crate::DEFAULT_RECORD_MEMORY_LIMIT, conflicts_with = "unbounded_records")]
    pub record_memory_limit: usize,
    /// Seconds a client may take to send a request's head (and a kept-alive connection
    /// may sit idle).
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    pub header_read_timeout: Duration,
    /// Seconds a client may take to send a request's body.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    pub body_read_timeout: Duration,
    /// Serve at most this many connections at once; more wait to be accepted.
    #[arg(long, value_name = "COUNT", default_value_t = crate::DEFAULT_MAX_CONNECTIONS, value_parser = parse_max_connections)]
    pub max_connections: usize,
    /// Serve HTTPS with a self-signed certificate made for this run (127.0.0.1, ::1,
    /// localhost); its PEM goes to a file only you can read, and the banner says how to
    /// trust it.
    #[arg(long)]
    pub tls: bool,
}

/// A number of seconds (`3`, `0.5`): finite, not negative, at most [`crate::MAX_DURATION`].
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    let max = crate::MAX_DURATION.as_secs();
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("`{text}` is not a number of seconds from 0 to {max}"));
    }
    match Duration::try_from_secs_f64(seconds) {
        Ok(duration) if duration <= crate::MAX_DURATION => Ok(duration),
        _ => Err(format!("{text} seconds is too long: at most {max} (about 100 years)")),
    }
}

fn parse_max_connections(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("at least 1 connection is needed".into()),
        Ok(max) => Ok(max),
        Err(_) => Err(format!("`{text}` is not a number of connections")),
    }
}

/// `PACKAGE/NAME[:VERSION]=COMMAND`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionArg {
    /// Package.
    pub package: String,
    /// Name.
    pub name: String,
    /// Shell command line.
    pub command: String,
    /// The published version this command is; `None` for `latest` (no `:VERSION`, or
    /// `:latest`).
    pub version: Option<String>,
}

/// `PACKAGE/NAME:ALIAS=VERSION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasArg {
    /// Package.
    pub package: String,
    /// Name.
    pub name: String,
    /// The alias, without the `!` it is written with in URNs.
    pub alias: String,
    /// The version it points at (`latest` or one given with `--function`).
    pub version: String,
}

/// `DOMAIN/NAME:PASSWORD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamUserArg {
    /// Account (domain) name.
    pub domain: String,
    /// User name.
    pub name: String,
    /// Password.
    pub password: String,
}

/// The version `latest`, which every function has.
const LATEST: &str = "latest";

fn parse_function(text: &str) -> Result<FunctionArg, String> {
    let (id, command) = text.split_once('=').ok_or("expected PACKAGE/NAME[:VERSION]=COMMAND")?;
    let (function, version) = match id.split_once(':') {
        Some((function, version)) => (function, Some(version)),
        None => (id, None),
    };
    let (package, name) = parse_function_id(function, "`=`")?;
    if let Some(version) = version {
        if version.starts_with('!') {
            return Err(format!(
                "`{version}` is an alias: declare it with --alias {package}/{name}:{version}=VERSION"
            ));
        }
        check(fgs_urn::UrnPart::Version, version)?;
    }
    if command.trim().is_empty() {
        return Err("the command after `=` is empty".into());
    }
    Ok(FunctionArg {
        package,
        name,
        command: command.to_owned(),
        version: version.filter(|version| *version != LATEST).map(str::to_owned),
    })
}

fn parse_alias(text: &str) -> Result<AliasArg, String> {
    let (id, version) = text.split_once('=').ok_or("expected PACKAGE/NAME:ALIAS=VERSION")?;
    let (function, alias) = id.split_once(':').ok_or("expected PACKAGE/NAME:ALIAS before `=`")?;
    let (package, name) = parse_function_id(function, "`:`")?;
    let alias = alias.strip_prefix('!').unwrap_or(alias);
    check(fgs_urn::UrnPart::Alias, alias)?;
    if version.starts_with('!') {
        return Err(format!(
            "an alias points at a version, not at another alias (`{version}`)"
        ));
    }
    check(fgs_urn::UrnPart::Version, version)?;
    Ok(AliasArg {
        package,
        name,
        alias: alias.to_owned(),
        version: version.to_owned(),
    })
}

/// `PACKAGE/NAME`, checked as URN parts; `before` says where it is expected.
fn parse_function_id(text: &str, before: &str) -> Result<(String, String), String> {
    let (package, name) = text
        .split_once('/')
        .ok_or_else(|| format!("expected PACKAGE/NAME before {before}"))?;
    check(fgs_urn::UrnPart::Package, package)?;
    check(fgs_urn::UrnPart::Name, name)?;
    Ok((package.to_owned(), name.to_owned()))
}

fn check(part: fgs_urn::UrnPart, value: &str) -> Result<(), String> {
    fgs_urn::check_part(part, value).map_err(|e| e.to_string())
}

fn parse_iam_user(text: &str) -> Result<IamUserArg, String> {
    let (id, password) = text.split_once(':').ok_or("expected DOMAIN/NAME:PASSWORD")?;
    let (domain, name) = id.split_once('/').ok_or("expected DOMAIN/NAME before `:`")?;
    Ok(IamUserArg {
        domain: domain.to_owned(),
        name: name.to_owned(),
        password: password.to_owned(),
    })
}

/// One line per finished run, for the terminal.
pub fn describe(record: &InvocationRecord) -> String {
    let outcome = match &record.outcome {
        Some(RunOutcome::Returned(_)) => "ok".to_owned(),
        Some(RunOutcome::Raised(error)) => format!("error {error}"),
        Some(RunOutcome::TimedOut) => "timed out".to_owned(),
        None => "running".to_owned(),
    };
    let duration = record.duration.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    format!(
        "{} {:?} {}/{}:{} {} in {duration:.1} ms [{}]",
        time::format_utc(record.started_at),
        record.mode,
        record.package,
        record.name,
        record.version,
        outcome,
        record.request_id
    )
}

/// What a version of a function runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Runs {
    /// A shell command line.
    Command(String),
    /// The built-in demo: `{"message": "Hello, NAME!"}`.
    Demo,
}

impl Runs {
    fn handler(&self) -> Handler {
        match self {
            Runs::Command(command) => Handler::command(command),
            Runs::Demo => demo_handler(),
        }
    }

    /// For the banner.
    fn describe(&self) -> &str {
        match self {
            Runs::Command(command) => command,
            Runs::Demo => r#"built-in demo (answers {"message": "Hello, NAME!"})"#,
        }
    }
}

/// The built-in demo `default/hello`: `{"message": "Hello, NAME!"}` for the event's string
/// field `name` (`world` without one), and one line in the log.
fn demo_handler() -> Handler {
    Handler::from_fn(|event: serde_json::Value, ctx| async move {
        let name = event
            .get("name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("world")
            .to_owned();
        ctx.log(format!("saying hello to {name}"));
        Ok(serde_json::json!({ "message": format!("Hello, {name}!") }))
    })
}

/// One function to register, from the `--function` and `--alias` flags.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Planned {
    package: String,
    name: String,
    /// What `latest` runs.
    latest: Runs,
    /// The version whose command `latest` runs, when no flag gave `latest` its own.
    latest_as: Option<String>,
    /// Published versions and their commands, in the order given.
    versions: Vec<(String, String)>,
    /// Aliases (without `!`) and the versions they point at, in the order given.
    aliases: Vec<(String, String)>,
}

/// The functions `args` declare (or the built-in demo `default/hello` when none), their
/// versions and aliases; an error names the flag that is wrong.
fn plan(args: &Args) -> Result<Vec<Planned>, String> {
    let mut planned: Vec<Planned> = Vec::new();
    if args.functions.is_empty() {
        planned.push(Planned {
            package: "default".into(),
            name: "hello".into(),
            latest: Runs::Demo,
            latest_as: None,
            versions: Vec::new(),
            aliases: Vec::new(),
        });
    }
    // The functions in the order first given; `latest` of each if a flag gave it.
    let mut latest: Vec<Option<String>> = Vec::new();
    for f in &args.functions {
        let index = match planned.iter().position(|p| p.package == f.package && p.name == f.name) {
            Some(index) => index,
            None => {
                planned.push(Planned {
                    package: f.package.clone(),
                    name: f.name.clone(),
                    latest: Runs::Demo,
                    latest_as: None,
                    versions: Vec::new(),
                    aliases: Vec::new(),
                });
                latest.push(None);
                planned.len() - 1
            }
        };
        let (Some(function), Some(latest)) = (planned.get_mut(index), latest.get_mut(index)) else {
            continue;
        };
        let id = format!("{}/{}", f.package, f.name);
        match &f.version {
            None if latest.is_some() => {
                return Err(format!("--function {id}: its `latest` is given twice"));
            }
            None => *latest = Some(f.command.clone()),
            Some(version) if function.versions.iter().any(|(known, _)| known == version) => {
                return Err(format!("--function {id}:{version}: version `{version}` is given twice"));
            }
            Some(version) => function.versions.push((version.clone(), f.command.clone())),
        }
    }
    for (function, latest) in planned.iter_mut().zip(latest) {
        match (latest, function.versions.last()) {
            (Some(command), _) => function.latest = Runs::Command(command),
            (None, Some((version, command))) => {
                function.latest = Runs::Command(command.clone());
                function.latest_as = Some(version.clone());
            }
            // Only the demo has neither.
            (None, None) => {}
        }
    }
    for a in &args.aliases {
        let flag = format!("--alias {}/{}:!{}={}", a.package, a.name, a.alias, a.version);
        let Some(function) = planned.iter_mut().find(|p| p.package == a.package && p.name == a.name) else {
            return Err(format!(
                "{flag}: there is no function {0}/{1} (declare it with --function {0}/{1}=COMMAND)",
                a.package, a.name
            ));
        };
        if a.version != LATEST && !function.versions.iter().any(|(version, _)| *version == a.version) {
            let known: Vec<&str> = std::iter::once(LATEST)
                .chain(function.versions.iter().map(|(version, _)| version.as_str()))
                .collect();
            return Err(format!(
                "{flag}: {}/{} has no version `{}` (it has {}; declare one with --function {}/{}:{}=COMMAND)",
                a.package,
                a.name,
                a.version,
                known.join(", "),
                a.package,
                a.name,
                a.version
            ));
        }
        if function.aliases.iter().any(|(alias, _)| *alias == a.alias) {
            return Err(format!("{flag}: alias `!{}` is given twice", a.alias));
        }
        function.aliases.push((a.alias.clone(), a.version.clone()));
    }
    Ok(planned)
}

/// The emulator `args` describe, not started yet, the functions it serves, and the
/// credentials it accepts.
struct Prepared {
    builder: crate::EmulatorBuilder,
    functions: Vec<Planned>,
    tokens: Vec<String>,
    access: Option<(String, String)>,
}

/// Turns `args` into a builder; generates credentials when none are given. An error: the
/// functions, versions and aliases do not fit together.
fn prepare(args: &Args) -> Result<Prepared, String> {
    let functions = plan(args)?;
    let mut builder = Emulator::builder()
        .bind(SocketAddr::new(args.bind, args.port))
        .project_id(&args.project_id)
        .region(&args.region)
        .token_lifetime(args.token_lifetime)
        .record_body_limit(args.record_body_limit)
        .header_read_timeout(args.header_read_timeout)
        .body_read_timeout(args.body_read_timeout)
        .max_connections(args.max_connections)
        .on_invocation(|record| eprintln!("{}", describe(record)));
    builder = if args.unbounded_records {
        builder.unbounded_records()
    } else {
        builder
            .record_limit(args.record_limit)
            .record_memory_limit(args.record_memory_limit)
    };
    for planned in &functions {
        let mut function = Function::new(&planned.package, &planned.name, planned.latest.handler())
            .timeout(args.timeout)
            .memory_mb(args.memory);
        for (version, command) in &planned.versions {
            function = function.version(version, Handler::command(command));
        }
        for (alias, version) in &planned.aliases {
            function = function.alias(alias, version);
        }
        if let Some(max) = args.max_concurrency {
            function = function.max_concurrency(max);
        }
        builder = builder.function(function);
    }
    let no_credentials_given = args.tokens.is_empty() && args.access_key.is_none() && args.iam_users.is_empty();
    let mut tokens = args.tokens.clone();
    let mut access = args.access_key.clone().zip(args.secret_key.clone());
    if args.no_auth {
        builder = builder.without_auth();
    } else if no_credentials_given {
        tokens.push(format!("local-{}", ids::hex32()));
        access = Some((
            format!("AK{}", ids::hex32().get(..18).unwrap_or_default().to_ascii_uppercase()),
            ids::hex32(),
        ));
    }
    for token in &tokens {
        builder = builder.token(token);
    }
    if let Some((ak, sk)) = &access {
        builder = builder.access_key(ak, sk);
    }
    for user in &args.iam_users {
        builder = builder.iam_user(&user.domain, &user.name, &user.password);
    }
    Ok(Prepared {
        builder,
        functions,
        tokens,
        access,
    })
}

/// Starts the emulator described by `args`, records it in the [`LocalState`] file for
/// `fgs invoke --local`, prints how to reach it, logs each run to stderr, and stops cleanly
/// on Ctrl-C (and SIGTERM or SIGHUP on Unix), removing the state file if it is still its
/// own.
///
/// An error: the flags do not fit together (an alias for an unknown version, a version
/// given twice), or the emulator cannot start.
pub async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let Prepared {
        mut builder,
        functions,
        tokens,
        access,
    } = prepare(&args)?;
    let identity = match args.tls {
        true => Some(TlsIdentity::self_signed(tls_names(args.bind))?),
        false => None,
    };
    if let Some(identity) = &identity {
        builder = builder.tls(identity.clone());
    }
    // Listening before the banner, so that a signal after it is always handled.
    let mut stop = StopSignals::new()?;
    let emulator = builder.start().await?;
    let certificate_file = match &identity {
        Some(identity) => Some(
            crate::tls::write_certificate_file(identity.cert_chain_pem(), emulator.addr().port())
                .map_err(|e| format!("cannot write the TLS certificate file: {e}"))?,
        ),
        None => None,
    };
    let state = LocalState {
        pid: std::process::id(),
        endpoint: client_endpoint(&emulator),
        region: emulator.region().to_owned(),
        project_id: emulator.project_id().to_owned(),
        no_auth: args.no_auth,
        token: tokens.first().cloned(),
        access_key: access.as_ref().map(|(ak, _)| ak.clone()),
        secret_key: access.as_ref().map(|(_, sk)| sk.clone()),
        ca_file: certificate_file.clone(),
    };
    let state_file = write_state_file(&state);
    if let StateFile::NotWritten(reason) = &state_file {
        eprintln!("warning: no state file ({reason}): `fgs invoke --local` will not find this emulator");
    }
    let credentials = Credentials {
        tokens: &tokens,
        access: access.as_ref(),
        certificate_file: certificate_file.as_deref(),
    };
    print_banner(&emulator, &args, &credentials, &functions, &state_file);
    let stopped = stop.wait().await;
    eprintln!("stopping");
    emulator.shutdown().await;
    if let StateFile::Written(path) = &state_file {
        remove_state_file(path, &state);
    }
    // The certificate is made for one run: no one should trust it after.
    if let Some(path) = &certificate_file {
        let _ = std::fs::remove_file(path);
    }
    stopped?;
    Ok(())
}

/// The endpoint for clients on this machine: the emulator's, with loopback for an
/// unspecified address (`--bind 0.0.0.0` or `::`), which is not one to connect to.
fn client_endpoint(emulator: &Emulator) -> String {
    let scheme = if emulator.endpoint().starts_with("https:") {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{}", connectable(emulator.addr()))
}

/// `addr`, with loopback in place of an unspecified address.
fn connectable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// Where the state file went.
enum StateFile {
    /// Written at this path.
    Written(PathBuf),
    /// Not written, and why (for "no state file (…)").
    NotWritten(String),
}

/// Writes `state` to [`LocalState::default_path`].
fn write_state_file(state: &LocalState) -> StateFile {
    let Some(path) = LocalState::default_path() else {
        return StateFile::NotWritten(
            "none of $XDG_RUNTIME_DIR, $XDG_CACHE_HOME and ~/.cache is an existing directory".into(),
        );
    };
    match state.write(&path) {
        Ok(()) => StateFile::Written(path),
        Err(e) => StateFile::NotWritten(format!("cannot write the state file {}: {e}", path.display())),
    }
}

/// Removes the state file at `path` if it still records `ours`: another `fgs local`
/// started later may have replaced it with its own.
fn remove_state_file(path: &Path, ours: &LocalState) {
    match LocalState::read(path) {
        Ok(recorded) if recorded.pid == ours.pid && recorded.endpoint == ours.endpoint => {
            let _ = std::fs::remove_file(path);
        }
        _ => {}
    }
}

/// The signals that stop the emulator, listened to from its start.
struct StopSignals {
    #[cfg(unix)]
    signals: [tokio::signal::unix::Signal; 3],
}

impl StopSignals {
    /// Listens for SIGINT (Ctrl-C), SIGTERM and SIGHUP on Unix; for Ctrl-C elsewhere.
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals {
                signals: [
                    signal(SignalKind::interrupt())?,
                    signal(SignalKind::terminate())?,
                    signal(SignalKind::hangup())?,
                ],
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    /// Waits for the first of them.
    async fn wait(&mut self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            let [interrupt, terminate, hangup] = &mut self.signals;
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
                _ = hangup.recv() => {}
            }
            Ok(())
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await
        }
    }
}

/// What the `--tls` certificate is valid for: loopback, and the bound address when it is
/// a specific one.
fn tls_names(bind: IpAddr) -> Vec<String> {
    let mut names: Vec<String> = crate::LOCALHOST_NAMES.iter().map(|name| (*name).to_owned()).collect();
    let bound = bind.to_string();
    if !bind.is_unspecified() && !names.contains(&bound) {
        names.push(bound);
    }
    names
}

/// The credentials the emulator accepts, for the banner.
struct Credentials<'a> {
    tokens: &'a [String],
    access: Option<&'a (String, String)>,
    /// The `--tls` certificate's PEM file, for clients to trust.
    certificate_file: Option<&'a Path>,
}

/// Prints where the emulator listens, what it accepts, and how to call it.
fn print_banner(
    emulator: &Emulator,
    args: &Args,
    credentials: &Credentials<'_>,
    functions: &[Planned],
    state_file: &StateFile,
) {
    let endpoint = emulator.endpoint();
    println!("fgs-emulator listening on {endpoint}");
    println!("  project id  {}", emulator.project_id());
    println!("  region      {}", emulator.region());
    if let Some(path) = credentials.certificate_file {
        println!(
            "  tls         self-signed, new each run, for {}",
            tls_names(args.bind).join(", ")
        );
        println!("  certificate {}   (PEM, readable by you only)", path.display());
    }
    if args.no_auth {
        println!("  auth        off (--no-auth)");
    }
    for token in credentials.tokens {
        println!("  token       {token}   (X-Auth-Token)");
    }
    if let Some((ak, sk)) = credentials.access {
        println!("  access key  {ak}");
        println!("  secret key  {sk}");
    }
    for user in &args.iam_users {
        println!(
            "  IAM user    {}/{}   (POST {endpoint}/v3/auth/tokens)",
            user.domain, user.name
        );
    }
    println!(
        "  IAM project {}   (GET {endpoint}{}?{}={}, the SDKs' project lookup)",
        emulator.project_id(),
        crate::iam::PROJECTS_PATH,
        crate::iam::PROJECT_NAME_QUERY,
        emulator.region()
    );
    for line in function_lines(functions) {
        println!("{line}");
    }
    match state_file {
        StateFile::Written(path) => println!("  state file  {}   (for fgs invoke --local)", path.display()),
        StateFile::NotWritten(reason) => println!("  state file  none ({reason})"),
    }
    let first = functions.first();
    if let Some(f) = first {
        print_invoke_example(emulator, &f.package, &f.name, credentials);
    }
    if let Some(path) = credentials.certificate_file {
        println!(
            "\nTrust the certificate: export HUAWEICLOUD_SDK_CA_FILE={0}\n  or in Rust: \
             Client::builder().add_root_certificate(root) for each root of \
             fgs::network::Certificate::from_pem_file(\"{0}\")",
            path.display()
        );
    }
    let exports = exports(emulator, credentials).join(" ");
    let invoke = first.map(|f| format!("fgs invoke {}/{}", f.package, f.name));
    match (state_file, invoke) {
        (StateFile::Written(_), Some(invoke)) => {
            println!("\nIn another terminal:\n  {invoke} --local --data '{EXAMPLE_EVENT}'");
            println!("\nFor Client::from_env() and other tools:\n  export {exports}");
        }
        (StateFile::NotWritten(_), Some(invoke)) => {
            println!(
                "\nIn another terminal (without a state file, --local cannot find this emulator):\n  export \
                 {exports}\n  {invoke} --data '{EXAMPLE_EVENT}'"
            );
        }
        (_, None) => println!("\nFor `fgs invoke` and Client::from_env() in another terminal:\n  export {exports}"),
    }
    println!("\nPress Ctrl-C to stop.");
}

/// The event of the banner's examples, which the built-in demo greets.
const EXAMPLE_EVENT: &str = r#"{"name":"fgs"}"#;

/// The banner's lines for the functions: `latest`, then each version, then each alias.
fn function_lines(functions: &[Planned]) -> Vec<String> {
    let mut lines = Vec::new();
    for f in functions {
        let id = format!("{}/{}", f.package, f.name);
        lines.push(match &f.latest_as {
            None => format!("  function    {id} -> {}", f.latest.describe()),
            Some(version) => format!("  function    {id} -> {}   (latest, as {version})", f.latest.describe()),
        });
        for (version, command) in &f.versions {
            lines.push(format!("  function    {id}:{version} -> {command}"));
        }
        for (alias, version) in &f.aliases {
            lines.push(format!("  alias       {id}:!{alias} -> {version}"));
        }
    }
    lines
}

/// A `curl` command line and a Rust hint that invoke `package/name`. The header names are
/// written as the spec capitalises them, for people to read and copy.
fn print_invoke_example(emulator: &Emulator, package: &str, name: &str, credentials: &Credentials<'_>) {
    let endpoint = emulator.endpoint();
    let urn = emulator.urn(package, name, Some(LATEST));
    let path = InvokeFunctionRequest::new(emulator.project_id(), urn.as_str()).path();
    let auth = match credentials.tokens.first() {
        Some(token) => format!(" \\\n    -H 'X-Auth-Token: {token}'"),
        None => String::new(),
    };
    let trust = match credentials.certificate_file {
        Some(path) => format!(" --cacert {}", path.display()),
        None => String::new(),
    };
    println!("\nInvoke it:");
    println!(
        "  curl{trust} -s -X POST {endpoint}{path}{auth} \\\n    -H 'Content-Type: application/json' -H '{}: {}' -d \
         '{EXAMPLE_EVENT}'",
        fgs_core::generated::operations::headers::as_written::X_CFF_REQUEST_VERSION,
        ResponseVersion::V1,
    );
    println!("\nor from Rust: Client::builder().endpoint_url(\"{endpoint}\") and invoke {urn}");
}

/// What `fgs invoke` and `Client::from_env` read from the environment
/// (`fgs_core::config`).
fn exports(emulator: &Emulator, credentials: &Credentials<'_>) -> Vec<String> {
    use fgs_core::config;
    let mut exports = vec![
        format!("{}={}", config::FUNCTIONGRAPH_ENDPOINT, emulator.endpoint()),
        format!("{}={}", config::REGION, emulator.region()),
        format!("{}={}", config::PROJECT_ID, emulator.project_id()),
    ];
    match (credentials.tokens.first(), credentials.access) {
        (Some(token), _) => exports.push(format!("{}={token}", config::IAM_TOKEN)),
        (None, Some((ak, sk))) => {
            exports.push(format!("{}={ak}", config::ACCESS_KEY));
            exports.push(format!("{}={sk}", config::SECRET_KEY));
        }
        (None, None) => {}
    }
    if let Some(path) = credentials.certificate_file {
        exports.push(format!("{}={}", config::CA_FILE, path.display()));
    }
    exports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_function_arguments() {
        let f = parse_function("default/hello=./hello.sh --fast").unwrap();
        assert_eq!(
            f,
            FunctionArg {
                package: "default".into(),
                name: "hello".into(),
                command: "./hello.sh --fast".into(),
                version: None,
            }
        );
        assert!(parse_function("hello=./x").unwrap_err().contains("PACKAGE/NAME"));
        assert!(
            parse_function("default/9bad=./x")
                .unwrap_err()
                .contains("function name")
        );
        assert!(parse_function("default/hello=").unwrap_err().contains("empty"));
        assert!(parse_function("default/hello").is_err());
    }

    #[test]
    fn parses_iam_users() {
        let u = parse_iam_user("acme/alice:s3cr:et").unwrap();
        assert_eq!(
            (u.domain.as_str(), u.name.as_str(), u.password.as_str()),
            ("acme", "alice", "s3cr:et")
        );
        assert!(parse_iam_user("alice:pw").is_err());
    }

    #[test]
    fn flags_parse() {
        let args = Args::try_parse_from([
            "fgs-emulator",
            "--function",
            "default/hello=cat",
            "--port",
            "0",
            "--no-auth",
        ])
        .unwrap();
        assert_eq!(args.functions.len(), 1);
        assert_eq!(args.port, 0);
        assert!(args.no_auth);
        assert!(
            Args::try_parse_from(["fgs-emulator", "--access-key", "AK"]).is_err(),
            "needs --secret-key"
        );
        assert_eq!(args.timeout, Duration::from_secs(3));
        assert_eq!(args.token_lifetime, Duration::from_secs(86_400));
        assert_eq!(args.record_limit, crate::DEFAULT_RECORD_LIMIT);
        assert_eq!(args.max_connections, crate::DEFAULT_MAX_CONNECTIONS);
    }

    fn parse_error(flags: &[&str]) -> String {
        let mut argv = vec!["fgs-emulator"];
        argv.extend_from_slice(flags);
        Args::try_parse_from(argv).unwrap_err().to_string()
    }

    #[test]
    fn out_of_range_durations_are_clear_errors() {
        for (flag, value) in [
            ("--timeout", "1e19"),
            ("--timeout", "1e300"),
            ("--timeout", "inf"),
            ("--timeout", "NaN"),
            ("--timeout", "-1"),
            ("--token-lifetime", "18446744073709551615"),
            ("--header-read-timeout", "1e19"),
            ("--body-read-timeout", "99999999999999"),
        ] {
            let error = parse_error(&[&format!("{flag}={value}")]);
            assert!(error.contains(flag), "{flag} {value}: {error}");
            assert!(error.contains("seconds"), "{flag} {value}: {error}");
        }
        assert!(parse_error(&["--timeout", "soon"]).contains("not a number of seconds"));
        assert!(parse_error(&["--max-connections", "0"]).contains("at least 1"));
        assert!(parse_error(&["--max-concurrency", "1e30"]).contains("--max-concurrency"));
        assert!(parse_error(&["--record-limit", "5", "--unbounded-records"]).contains("cannot be used"));
        // The largest accepted values parse.
        let max = crate::MAX_DURATION.as_secs().to_string();
        let args = Args::try_parse_from(["fgs-emulator", "--timeout", &max, "--token-lifetime", &max]).unwrap();
        assert_eq!(args.timeout, crate::MAX_DURATION);
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
    }

    /// The largest values the flags accept start an emulator that answers.
    #[tokio::test]
    async fn extreme_settings_start_without_panicking() {
        let max = crate::MAX_DURATION.as_secs().to_string();
        let usize_max = usize::MAX.to_string();
        let args = Args::try_parse_from([
            "fgs-emulator",
            "--port",
            "0",
            "--timeout",
            &max,
            "--token-lifetime",
            &max,
            "--header-read-timeout",
            &max,
            "--body-read-timeout",
            &max,
            "--max-concurrency",
            &usize_max,
            "--max-connections",
            &usize_max,
            "--record-limit",
            &usize_max,
            "--record-body-limit",
            &usize_max,
            "--function",
            "default/echo=cat",
        ])
        .unwrap();
        let prepared = prepare(&args).unwrap();
        assert_eq!(prepared.tokens.len(), 1, "a token is generated");
        let emulator = prepared.builder.start().await.unwrap();
        // A token lives for the longest lifetime without overflowing the clock.
        let token = emulator.issue_token();
        assert!(!token.is_empty());
        emulator.shutdown().await;
    }

    fn args(flags: &[&str]) -> Args {
        let mut argv = vec!["fgs-emulator"];
        argv.extend_from_slice(flags);
        Args::try_parse_from(argv).unwrap()
    }

    #[test]
    fn parses_versions_of_functions() {
        let f = parse_function("default/hello:v1.2_b-3=./v1.sh a=b:c").unwrap();
        assert_eq!(
            f,
            FunctionArg {
                package: "default".into(),
                name: "hello".into(),
                command: "./v1.sh a=b:c".into(),
                version: Some("v1.2_b-3".into()),
            }
        );
        assert_eq!(parse_function("default/hello:latest=cat").unwrap().version, None);
        let error = parse_function("default/hello:=cat").unwrap_err();
        assert!(error.contains("version"), "{error}");
        let error = parse_function("default/hello:v 1=cat").unwrap_err();
        assert!(error.contains("version"), "{error}");
        let error = parse_function("default/hello:!prod=cat").unwrap_err();
        assert!(error.contains("--alias default/hello:!prod=VERSION"), "{error}");
        assert!(parse_function("default:v1/hello=cat").is_err());
    }

    #[test]
    fn parses_aliases() {
        let expected = AliasArg {
            package: "default".into(),
            name: "hello".into(),
            alias: "prod".into(),
            version: "v1".into(),
        };
        assert_eq!(parse_alias("default/hello:prod=v1").unwrap(), expected);
        assert_eq!(parse_alias("default/hello:!prod=v1").unwrap(), expected);
        assert_eq!(parse_alias("default/hello:prod=latest").unwrap().version, "latest");
        for (text, expected) in [
            ("default/hello:prod", "PACKAGE/NAME:ALIAS=VERSION"),
            ("default/hello=v1", "PACKAGE/NAME:ALIAS"),
            ("hello:prod=v1", "PACKAGE/NAME"),
            ("default/hello:9prod=v1", "alias"),
            ("default/hello:prod-=v1", "alias"),
            ("default/hello:!=v1", "alias"),
            ("default/hello:prod=", "version"),
            ("default/hello:prod=v/1", "version"),
            ("default/hello:prod=!beta", "not at another alias"),
            ("default/9hello:prod=v1", "function name"),
        ] {
            let error = parse_alias(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let error = parse_error(&["--alias", "default/hello:prod"]);
        assert!(error.contains("--alias"), "{error}");
    }

    #[test]
    fn flags_for_one_function_are_its_versions() {
        let planned = plan(&args(&[
            "--function",
            "default/hello:v1=./v1.sh",
            "--function",
            "other/echo=cat",
            "--function",
            "default/hello=./latest.sh",
            "--function",
            "default/hello:v2=./v2.sh",
            "--alias",
            "default/hello:prod=v1",
            "--alias",
            "default/hello:!canary=latest",
        ]))
        .unwrap();
        assert_eq!(
            planned,
            [
                Planned {
                    package: "default".into(),
                    name: "hello".into(),
                    latest: Runs::Command("./latest.sh".into()),
                    latest_as: None,
                    versions: vec![("v1".into(), "./v1.sh".into()), ("v2".into(), "./v2.sh".into())],
                    aliases: vec![("prod".into(), "v1".into()), ("canary".into(), "latest".into())],
                },
                Planned {
                    package: "other".into(),
                    name: "echo".into(),
                    latest: Runs::Command("cat".into()),
                    latest_as: None,
                    versions: Vec::new(),
                    aliases: Vec::new(),
                },
            ]
        );
        assert_eq!(
            function_lines(&planned),
            [
                "  function    default/hello -> ./latest.sh",
                "  function    default/hello:v1 -> ./v1.sh",
                "  function    default/hello:v2 -> ./v2.sh",
                "  alias       default/hello:!prod -> v1",
                "  alias       default/hello:!canary -> latest",
                "  function    other/echo -> cat",
            ]
        );

        // Without an unqualified flag, `latest` runs the last version given.
        let planned = plan(&args(&[
            "--function",
            "default/hello:v2=./v2.sh",
            "--function",
            "default/hello:v1=./v1.sh",
        ]))
        .unwrap();
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].latest, Runs::Command("./v1.sh".into()));
        assert_eq!(planned[0].latest_as.as_deref(), Some("v1"));
        assert_eq!(
            function_lines(&planned)[0],
            "  function    default/hello -> ./v1.sh   (latest, as v1)"
        );
    }

    #[test]
    fn versions_and_aliases_that_do_not_fit_are_clear_errors() {
        for (flags, expected) in [
            (
                &["--function", "default/hello:v1=a", "--function", "default/hello:v1=b"][..],
                "--function default/hello:v1: version `v1` is given twice",
            ),
            (
                &["--function", "default/hello=a", "--function", "default/hello:latest=b"][..],
                "--function default/hello: its `latest` is given twice",
            ),
            (
                &["--function", "default/hello:v1=a", "--alias", "default/hello:prod=v2"][..],
                "--alias default/hello:!prod=v2: default/hello has no version `v2` (it has latest, v1;",
            ),
            (
                &["--function", "default/hello=a", "--alias", "default/other:prod=latest"][..],
                "--alias default/other:!prod=latest: there is no function default/other (declare it with \
                 --function default/other=COMMAND)",
            ),
            (
                &[
                    "--function",
                    "default/hello:v1=a",
                    "--alias",
                    "default/hello:prod=v1",
                    "--alias",
                    "default/hello:!prod=latest",
                ][..],
                "alias `!prod` is given twice",
            ),
            // The built-in demo has only `latest`.
            (&["--alias", "default/hello:prod=v1"][..], "has no version `v1`"),
        ] {
            let error = plan(&args(flags)).unwrap_err();
            assert!(error.contains(expected), "{flags:?}: {error}");
        }
        // The same alias name on two functions is fine, and so is one for the demo's latest.
        assert!(
            plan(&args(&[
                "--function",
                "a/one=x",
                "--function",
                "a/two=y",
                "--alias",
                "a/one:prod=latest",
                "--alias",
                "a/two:prod=latest",
            ]))
            .is_ok()
        );
        assert_eq!(
            plan(&args(&["--alias", "default/hello:prod=latest"])).unwrap()[0].aliases,
            [("prod".to_owned(), "latest".to_owned())]
        );
    }

    #[test]
    fn without_functions_the_built_in_demo_is_served() {
        let planned = plan(&args(&[])).unwrap();
        assert_eq!(planned.len(), 1);
        assert_eq!(
            (planned[0].package.as_str(), planned[0].name.as_str()),
            ("default", "hello")
        );
        assert_eq!(planned[0].latest, Runs::Demo);
        assert_eq!(
            function_lines(&planned),
            [r#"  function    default/hello -> built-in demo (answers {"message": "Hello, NAME!"})"#]
        );
    }

    #[tokio::test]
    async fn the_demo_greets_by_name_and_logs() {
        let emulator = prepare(&args(&["--port", "0", "--no-auth"]))
            .unwrap()
            .builder
            .start()
            .await
            .unwrap();
        let client = |body: &'static str| {
            let endpoint = emulator.endpoint();
            let urn = emulator.urn("default", "hello", None);
            let path = InvokeFunctionRequest::new(emulator.project_id(), urn.as_str()).path();
            async move {
                use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
                let addr = endpoint.trim_start_matches("http://").to_owned();
                let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
                let request = format!(
                    "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(request.as_bytes()).await.unwrap();
                let mut response = String::new();
                stream.read_to_string(&mut response).await.unwrap();
                response
            }
        };
        for (event, message) in [
            (r#"{"name":"fgs"}"#, r#"{"message":"Hello, fgs!"}"#),
            ("{}", r#"{"message":"Hello, world!"}"#),
            (r#"{"name":7}"#, r#"{"message":"Hello, world!"}"#),
            ("[1]", r#"{"message":"Hello, world!"}"#),
        ] {
            let response = client(event).await;
            assert!(response.starts_with("HTTP/1.1 200"), "{response}");
            assert!(response.ends_with(message), "{event}: {response}");
        }
        let runs = emulator.invocations();
        assert_eq!(runs.len(), 4);
        assert!(
            runs[0].log.iter().any(|line| line == "saying hello to fgs"),
            "{:?}",
            runs[0].log
        );
        emulator.shutdown().await;
    }

    #[test]
    fn the_port_comes_from_the_environment_too() {
        let args = Args::try_parse_from(["fgs-emulator"]).unwrap();
        // The variable is not set in tests (setting it would race other tests).
        if std::env::var_os("FGS_EMULATOR_PORT").is_none() {
            assert_eq!(args.port, 8000);
        }
        use clap::CommandFactory as _;
        let port = Args::command()
            .get_arguments()
            .find(|arg| arg.get_id() == "port")
            .and_then(|arg| arg.get_env().map(|env| env.to_owned()));
        assert_eq!(port.as_deref(), Some(std::ffi::OsStr::new("FGS_EMULATOR_PORT")));
    }

    #[tokio::test]
    async fn the_state_file_records_an_endpoint_to_connect_to() {
        for (addr, expected) in [
            ("0.0.0.0:8000", "127.0.0.1:8000"),
            ("[::]:8000", "[::1]:8000"),
            ("127.0.0.1:8000", "127.0.0.1:8000"),
            ("[::1]:9", "[::1]:9"),
        ] {
            assert_eq!(connectable(addr.parse().unwrap()), expected.parse().unwrap());
        }
        let emulator = prepare(&args(&["--port", "0"])).unwrap().builder.start().await.unwrap();
        assert_eq!(client_endpoint(&emulator), emulator.endpoint());
        emulator.shutdown().await;
    }

    #[test]
    fn the_state_file_is_removed_only_while_it_is_ours() {
        let dir = std::env::temp_dir().join(format!("fgs-cli-state-test-{}", ids::hex32()));
        let path = dir.join(LocalState::FILE_NAME);
        let ours = LocalState {
            pid: std::process::id(),
            endpoint: "http://127.0.0.1:1".into(),
            region: "cn-north-4".into(),
            project_id: "p".into(),
            no_auth: true,
            token: None,
            access_key: None,
            secret_key: None,
            ca_file: None,
        };
        let theirs = LocalState {
            pid: ours.pid.wrapping_add(1),
            endpoint: "http://127.0.0.1:2".into(),
            ..ours.clone()
        };
        theirs.write(&path).unwrap();
        remove_state_file(&path, &ours);
        assert_eq!(
            LocalState::read(&path).unwrap(),
            theirs,
            "another emulator's file stays"
        );
        ours.write(&path).unwrap();
        remove_state_file(&path, &ours);
        assert!(!path.exists());
        remove_state_file(&path, &ours);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
