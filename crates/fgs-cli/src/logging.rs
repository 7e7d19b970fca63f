//! `-v`/`--debug` and `RUST_LOG`: what the client does, as tracing events on stderr.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// What `--debug` turns on: the SDK's `fgs.invoke` span, its attempt and retry events,
/// and this program's own.
const DEBUG_DIRECTIVES: &str = "fgs_core=debug,fgs=debug,fgs_cli=debug";

/// The filter for `debug` and the value of `RUST_LOG` (which comes after, so that it can
/// raise or lower any target); `None` when neither asks for anything.
pub(crate) fn directives(debug: bool, rust_log: Option<&str>) -> Option<String> {
    let rust_log = rust_log.map(str::trim).filter(|value| !value.is_empty());
    match (debug, rust_log) {
        (false, None) => None,
        (true, None) => Some(DEBUG_DIRECTIVES.to_owned()),
        (false, Some(rust_log)) => Some(rust_log.to_owned()),
        (true, Some(rust_log)) => Some(format!("{DEBUG_DIRECTIVES},{rust_log}")),
    }
}

/// Installs a subscriber writing to stderr when `--debug` or `RUST_LOG` asks for one;
/// `true` when it did. Spans are printed when they close, with their fields and how long
/// they took. The SDK records no payloads and no credentials, so none reach the output.
pub(crate) fn install(debug: bool) -> bool {
    let rust_log = std::env::var("RUST_LOG").ok();
    let Some(directives) = directives(debug, rust_log.as_deref()) else {
        return false;
    };
    let filter = match EnvFilter::try_new(&directives) {
        Ok(filter) => filter,
        Err(error) => {
            crate::render::note(&format!("warning: RUST_LOG is not a filter ({error}); using --debug's"));
            EnvFilter::new(DEBUG_DIRECTIVES)
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_span_events(FmtSpan::CLOSE)
        .with_target(true)
        .try_init()
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_refines_debug() {
        assert_eq!(directives(false, None), None);
        assert_eq!(directives(false, Some("  ")), None);
        assert_eq!(directives(true, None).as_deref(), Some(DEBUG_DIRECTIVES));
        assert_eq!(directives(false, Some("hyper=trace")).as_deref(), Some("hyper=trace"));
        assert_eq!(
            directives(true, Some("fgs_core=trace")),
            Some(format!("{DEBUG_DIRECTIVES},fgs_core=trace"))
        );
    }
}
