//! Whether a failed call ran the function: the one answer to "may this run twice?".

/// Whether the function ran because of a call that failed.
///
/// This is the one answer to "may this run twice?": [`Error::is_retry_safe`](crate::Error::is_retry_safe) and the
/// retry policies' [`classify`](crate::retry::classify) both derive from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Execution {
    /// The function certainly did not run because of this request (nothing was sent, or
    /// the service refused it before running anything): sending it again cannot run it
    /// twice.
    NotRun,
    /// The function may have run: the request may have reached the service and no answer
    /// says otherwise.
    MaybeRun,
    /// The function ran: a response of the run arrived, or it raised.
    Ran,
}
