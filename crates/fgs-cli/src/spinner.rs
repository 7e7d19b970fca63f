//! A spinner with the elapsed seconds on stderr while a synchronous invoke runs, only
//! when stderr is a terminal.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
const REDRAW: Duration = Duration::from_millis(100);
/// Carriage return, then erase the line.
const CLEAR: &str = "\r\x1b[2K";

/// A running spinner; [`stop`](Spinner::stop) clears its line.
pub(crate) struct Spinner {
    task: JoinHandle<()>,
}

impl Spinner {
    /// Starts redrawing `\r| invoking LABEL 1.2s` every 100 ms, or nothing when stderr is
    /// not a terminal (a pipe, a file, a test).
    pub(crate) fn start(label: String) -> Option<Spinner> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let started = Instant::now();
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(REDRAW);
            for frame in FRAMES.iter().cycle() {
                ticker.tick().await;
                let elapsed = started.elapsed().as_secs_f64();
                let mut stderr = std::io::stderr().lock();
                let _ = write!(stderr, "\r{frame} invoking {label} {elapsed:.1}s");
                let _ = stderr.flush();
            }
        });
        Some(Spinner { task })
    }

    /// Stops redrawing and clears the line, before anything else is printed.
    pub(crate) async fn stop(self) {
        self.task.abort();
        // Wait until the task is gone, so that no frame is drawn after the clear.
        let _ = self.task.await;
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "{CLEAR}");
        let _ = stderr.flush();
    }
}
