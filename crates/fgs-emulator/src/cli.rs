//! The command-line front end: `fgs-emulator --function default/hello=./hello.sh`.
//!
//! [`Args`] is a clap parser so that other binaries (the `fgs` CLI's `local` command) can
//! embed the same flags and call [`run`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use clap::Parser;
use fgs_core::generated::operations::InvokeFunctionRequest;
use fgs_core::generated::types::ResponseVersion;
use fgs_core::protocol::RequestParts as _;

use crate::record::{InvocationRecord, RunOutcome};
use crate::{Emulator, Function, Handler, TlsIdentity, ids, time};

/// Runs a local FunctionGraph on 127.0.0.1 with functions given as shell commands.
#[derive(Debug, Clone, Parser)]
#[command(name = "fgs-emulator", version, about, long_about = None)]
pub struct Args {
    /// A function as `PACKAGE/NAME=COMMAND`: the event on stdin, the result on stdout,
    /// stderr into the log, a non-zero exit a function error. Repeatable.
    #[arg(long = "function", value_name = "PACKAGE/NAME=COMMAND", value_parser = parse_function)]
    pub functions: Vec<FunctionArg>,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8000)]
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

/// `PACKAGE/NAME=COMMAND`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionArg {
    /// Package.
    pub package: String,
    /// Name.
    pub name: String,
    /// Shell command line.
    pub command: String,
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

fn parse_function(text: &str) -> Result<FunctionArg, String> {
    let (id, command) = text.split_once('=').ok_or("expected PACKAGE/NAME=COMMAND")?;
    let (package, name) = id.split_once('/').ok_or("expected PACKAGE/NAME before `=`")?;
    fgs_urn::check_part(fgs_urn::UrnPart::Package, package).map_err(|e| e.to_string())?;
    fgs_urn::check_part(fgs_urn::UrnPart::Name, name).map_err(|e| e.to_string())?;
    if command.trim().is_empty() {
        return Err("the command after `=` is empty".into());
    }
    Ok(FunctionArg {
        package: package.to_owned(),
        name: name.to_owned(),
        command: command.to_owned(),
    })
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

/// The emulator `args` describe, not started yet, and the credentials it accepts.
struct Prepared {
    builder: crate::EmulatorBuilder,
    tokens: Vec<String>,
    access: Option<(String, String)>,
}

/// Turns `args` into a builder; generates credentials when none are given.
fn prepare(args: &Args) -> Prepared {
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
    for f in &args.functions {
        let mut function = Function::new(&f.package, &f.name, Handler::command(&f.command))
            .timeout(args.timeout)
            .memory_mb(args.memory);
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
    Prepared {
        builder,
        tokens,
        access,
    }
}

/// Starts the emulator described by `args`, prints how to reach it, logs each run to
/// stderr, and stops cleanly on Ctrl-C.
pub async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let Prepared {
        mut builder,
        tokens,
        access,
    } = prepare(&args);
    let identity = match args.tls {
        true => Some(TlsIdentity::self_signed(tls_names(args.bind))?),
        false => None,
    };
    if let Some(identity) = &identity {
        builder = builder.tls(identity.clone());
    }
    let emulator = builder.start().await?;
    let certificate_file = match &identity {
        Some(identity) => Some(
            crate::tls::write_certificate_file(identity.cert_chain_pem(), emulator.addr().port())
                .map_err(|e| format!("cannot write the TLS certificate file: {e}"))?,
        ),
        None => None,
    };
    let credentials = Credentials {
        tokens: &tokens,
        access: access.as_ref(),
        certificate_file: certificate_file.as_deref(),
    };
    print_banner(&emulator, &args, &credentials);
    tokio::signal::ctrl_c().await?;
    eprintln!("stopping");
    emulator.shutdown().await;
    // The certificate is made for one run: no one should trust it after.
    if let Some(path) = &certificate_file {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
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
fn print_banner(emulator: &Emulator, args: &Args, credentials: &Credentials<'_>) {
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
    for f in &args.functions {
        println!("  function    {}/{} -> {}", f.package, f.name, f.command);
    }
    if let Some(f) = args.functions.first() {
        print_invoke_example(emulator, f, credentials);
    }
    if let Some(path) = credentials.certificate_file {
        println!(
            "\nTrust the certificate: export HUAWEICLOUD_SDK_CA_FILE={0}\n  or in Rust: \
             Client::builder().add_root_certificate(root) for each root of \
             fgs::network::Certificate::from_pem_file(\"{0}\")",
            path.display()
        );
    }
    println!(
        "\nFor `fgs invoke` in another terminal:\n  export {}",
        exports(emulator, credentials).join(" ")
    );
    println!("\nPress Ctrl-C to stop.");
}

/// A `curl` command line and a Rust hint that invoke `f`. The header names are written
/// as the spec capitalises them, for people to read and copy.
fn print_invoke_example(emulator: &Emulator, f: &FunctionArg, credentials: &Credentials<'_>) {
    let endpoint = emulator.endpoint();
    let urn = emulator.urn(&f.package, &f.name, Some("latest"));
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
        "  curl{trust} -s -X POST {endpoint}{path}{auth} \\\n    -H 'Content-Type: application/json' -H '{}: {}' -d '{{}}'",
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
                command: "./hello.sh --fast".into()
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
        let prepared = prepare(&args);
        assert_eq!(prepared.tokens.len(), 1, "a token is generated");
        let emulator = prepared.builder.start().await.unwrap();
        // A token lives for the longest lifetime without overflowing the clock.
        let token = emulator.issue_token();
        assert!(!token.is_empty());
        emulator.shutdown().await;
    }
}
