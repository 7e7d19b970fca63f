//! A spinner with the elapsed seconds on stderr while a synchronous invoke runs.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
const REDRAW: Duration = Duration::from_millis(100);

/// Whether a spinner may be drawn: stderr is a terminal that is not `TERM=dumb`, and
/// `NO_COLOR` is unset (its users ask for plain output). The drawing uses only `\r` and
/// spaces, no escape sequences, so a console without VT support (older Windows
/// consoles) shows it correctly too.
pub(crate) fn allowed(stderr_is_terminal: bool, term: Option<&str>, no_color: Option<&str>) -> bool {
    stderr_is_terminal && term != Some("dumb") && no_color.is_none_or(str::is_empty)
}

/// A running spinner; [`stop`](Spinner::stop) clears its line.
pub(crate) struct Spinner {
    task: JoinHandle<()>,
    /// The widest line drawn, for clearing it.
    width: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Spinner {
    /// Starts redrawing `\r| invoking LABEL 1.2s` every 100 ms, or nothing when
    /// [`allowed`] says no for this process's stderr and environment.
    pub(crate) fn start(label: String) -> Option<Spinner> {
        let term = std::env::var("TERM").ok();
        let no_color = std::env::var("NO_COLOR").ok();
        if !allowed(std::io::stderr().is_terminal(), term.as_deref(), no_color.as_deref()) {
            return None;
        }
        let started = Instant::now();
        let width = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let drawn = std::sync::Arc::clone(&width);
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(REDRAW);
            for frame in FRAMES.iter().cycle() {
                ticker.tick().await;
                let elapsed = started.elapsed().as_secs_f64();
                let line = format!("{frame} invoking {label} {elapsed:.1}s");
                drawn.fetch_max(line.chars().count(), std::sync::atomic::Ordering::Relaxed);
                let mut stderr = std::io::stderr().lock();
                let _ = write!(stderr, "\r{line}");
                let _ = stderr.flush();
            }
        });
        Some(Spinner { task, width })
    }

    /// Stops redrawing and blanks the line, before anything else is printed.
    pub(crate) async fn stop(self) {
        self.task.abort();
        // Wait until the task is gone, so that no frame is drawn after the clear.
        let _ = self.task.await;
        let width = self.width.load(std::sync::atomic::Ordering::Relaxed);
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r{:width$}\r", "");
        let _ = stderr.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spinner_only_draws_on_a_capable_terminal() {
        assert!(allowed(true, Some("xterm-256color"), None));
        assert!(allowed(true, None, Some("")), "an empty NO_COLOR does not count");
        assert!(!allowed(false, Some("xterm"), None), "a pipe or a file");
        assert!(!allowed(true, Some("dumb"), None));
        assert!(!allowed(true, Some("xterm"), Some("1")));
    }
}
