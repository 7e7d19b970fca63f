//! Retries: which failures may be sent again, how long to wait, and when to give up.
//!
//! A synchronous invoke is not idempotent, so the promise is: a request is never sent
//! again when the function may have run, unless the call is marked
//! [`idempotent`](crate::Invoke::idempotent) (or you supply a policy that decides
//! otherwise). By default a call is sent again only when the function certainly did not
//! run and a later attempt may succeed: a connection that never opened, throttling (429),
//! or another refusal the error catalogue marks as not executed and transient. Read
//! timeouts, connections dropped after sending and 5xx responses after sending are retried
//! only for idempotent calls. Whatever the policy says, no retry sleeps past the call's
//! deadline ([`ClientBuilder::timeout`](crate::ClientBuilder::timeout)).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::error::{Error, Execution};

/// What a retry policy knows about the call.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct CallInfo {
    /// Operation id, e.g. `invokeFunction`.
    pub operation: &'static str,
    /// Whether running the function twice is harmless.
    pub idempotent: bool,
}

impl CallInfo {
    /// Information about a call of `operation`.
    pub fn new(operation: &'static str, idempotent: bool) -> Self {
        CallInfo { operation, idempotent }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Return the error.
    Stop,
    /// Wait this long, then send again.
    RetryAfter(Duration),
}

/// Decides whether a failed attempt is sent again.
pub trait RetryPolicy: Send + Sync + fmt::Debug {
    /// Called after attempt number `attempt` (1 for the first) failed with `error`.
    fn decide(&self, attempt: u32, error: &Error, call: &CallInfo) -> RetryDecision;

    /// Called when an attempt succeeded, e.g. to refill a retry budget.
    fn on_success(&self, _attempt: u32) {}
}

/// Never retries.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRetry;

impl RetryPolicy for NoRetry {
    fn decide(&self, _attempt: u32, _error: &Error, _call: &CallInfo) -> RetryDecision {
        RetryDecision::Stop
    }
}

/// Waits; injectable so that tests need not wait for real.
pub trait Sleep: Send + Sync + fmt::Debug {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// Sleeps on the Tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Why a failed attempt may be sent again, or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retryability {
    /// The function certainly did not run and a later attempt may succeed.
    NotExecuted,
    /// The function may have run; safe to send again only for idempotent calls.
    MaybeExecuted,
    /// Sending again would fail the same way (bad input, credentials, not found).
    Permanent,
}

/// How the standard policy sorts an error: [`Error::execution`] says whether the function
/// may have run, [`Error::is_transient`] whether a later attempt may succeed. There is no
/// other rule: this and [`Error::is_retry_safe`] cannot disagree.
pub fn classify(error: &Error) -> Retryability {
    match (error.execution(), error.is_transient()) {
        (_, false) => Retryability::Permanent,
        (Execution::NotRun, true) => Retryability::NotExecuted,
        (Execution::MaybeRun | Execution::Ran, true) => Retryability::MaybeExecuted,
    }
}

/// A budget of retries shared by all calls of a client: each retry spends tokens, each
/// success earns one back, and an empty bucket stops retrying, so that an outage does not
/// multiply the traffic.
#[derive(Debug)]
pub struct TokenBucket {
    capacity: u32,
    // Atomic rather than locked: every successful call refills it, from many tasks at once.
    tokens: AtomicU32,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens.
    pub fn new(capacity: u32) -> Self {
        TokenBucket {
            capacity,
            tokens: AtomicU32::new(capacity),
        }
    }

    /// Takes `cost` tokens if there are enough.
    pub fn try_spend(&self, cost: u32) -> bool {
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |tokens| tokens.checked_sub(cost))
            .is_ok()
    }

    /// Adds `amount` tokens, up to the capacity.
    pub fn refill(&self, amount: u32) {
        // A full bucket (the common case) is left alone without a write.
        let _ = self.tokens.fetch_update(Ordering::AcqRel, Ordering::Acquire, |tokens| {
            (tokens < self.capacity).then(|| tokens.saturating_add(amount).min(self.capacity))
        });
    }

    /// Tokens left.
    pub fn available(&self) -> u32 {
        self.tokens.load(Ordering::Acquire)
    }
}

/// The default policy: up to `max_attempts` attempts, exponential backoff with full
/// jitter (a random wait between zero and `base * 2^(attempt-1)`, capped), `Retry-After`
/// honoured, and a [`TokenBucket`] budget.
///
/// ```
/// use std::time::Duration;
/// use fgs_core::retry::StandardRetry;
///
/// let policy = StandardRetry::new().max_attempts(5).base_delay(Duration::from_millis(50));
/// # let _ = policy;
/// ```
#[derive(Debug)]
pub struct StandardRetry {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    budget: TokenBucket,
}

/// Tokens a retry costs; a success earns one back.
const RETRY_COST: u32 = 5;
/// A retry after a timeout costs more: timeouts are the expensive way to fail.
const TIMEOUT_RETRY_COST: u32 = 10;

impl Default for StandardRetry {
    fn default() -> Self {
        StandardRetry {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(20),
            budget: TokenBucket::new(500),
        }
    }
}

impl StandardRetry {
    /// Three attempts, 100 ms base delay, 20 s cap, a budget of 500 tokens.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most this many attempts in all (1 means no retry).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The first retry waits up to this long; each further one doubles it.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// No wait is longer than this (`Retry-After` included).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The size of the retry budget.
    pub fn budget(mut self, tokens: u32) -> Self {
        self.budget = TokenBucket::new(tokens);
        self
    }

    /// Tokens left in the budget.
    pub fn budget_available(&self) -> u32 {
        self.budget.available()
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(16);
        let ceiling = self.base_delay.saturating_mul(1 << exponent).min(self.max_delay);
        // Not `mul_f64`, which panics when rounding takes a huge ceiling past Duration::MAX.
        Duration::try_from_secs_f64(ceiling.as_secs_f64() * fastrand::f64()).map_or(ceiling, |wait| wait.min(ceiling))
    }
}

impl RetryPolicy for StandardRetry {
    fn decide(&self, attempt: u32, error: &Error, call: &CallInfo) -> RetryDecision {
        if attempt >= self.max_attempts {
            return RetryDecision::Stop;
        }
        let allowed = match classify(error) {
            Retryability::NotExecuted => true,
            Retryability::MaybeExecuted => call.idempotent,
            Retryability::Permanent => false,
        };
        if !allowed {
            return RetryDecision::Stop;
        }
        let cost = if matches!(error, Error::Timeout(_)) {
            TIMEOUT_RETRY_COST
        } else {
            RETRY_COST
        };
        if !self.budget.try_spend(cost) {
            return RetryDecision::Stop;
        }
        let delay = match error.as_service_error().and_then(|e| e.retry_after()) {
            Some(after) => after.min(self.max_delay),
            None => self.backoff(attempt),
        };
        RetryDecision::RetryAfter(delay)
    }

    fn on_success(&self, _attempt: u32) {
        self.budget.refill(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = StandardRetry::new()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(350));
        for _ in 0..50 {
            assert!(policy.backoff(1) <= Duration::from_millis(100));
            assert!(policy.backoff(2) <= Duration::from_millis(200));
            assert!(policy.backoff(3) <= Duration::from_millis(350));
            assert!(policy.backoff(30) <= Duration::from_millis(350));
        }
    }

    #[test]
    fn extreme_settings_do_not_panic() {
        let policy = StandardRetry::new()
            .base_delay(Duration::MAX)
            .max_delay(Duration::MAX)
            .max_attempts(u32::MAX)
            .budget(u32::MAX);
        for attempt in [0, 1, 2, 63, 64, u32::MAX] {
            assert!(policy.backoff(attempt) <= Duration::MAX);
        }
        let zero = StandardRetry::new()
            .base_delay(Duration::ZERO)
            .max_delay(Duration::ZERO);
        assert_eq!(zero.backoff(5), Duration::ZERO);
    }

    #[test]
    fn the_budget_runs_out_and_refills() {
        let bucket = TokenBucket::new(10);
        assert!(bucket.try_spend(5));
        assert!(bucket.try_spend(5));
        assert!(!bucket.try_spend(5));
        bucket.refill(100);
        assert_eq!(bucket.available(), 10);
    }
}
