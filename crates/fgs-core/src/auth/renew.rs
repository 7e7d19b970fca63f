//! Cached credentials renewed by one fetch at a time, shared by IAM tokens and metadata
//! credentials.
//!
//! The rules:
//! - a cached value before its refresh time is returned at once;
//! - inside the refresh window (due, not yet expired) the value is still returned at once,
//!   and one renewal starts in the background (a spawned task on the current tokio
//!   runtime; without a runtime the caller renews inline), so no caller holding a valid
//!   value waits for it;
//! - callers with no valid value wait for the one fetch in flight and share its outcome,
//!   success or error: a failed fetch is not repeated by every waiter in turn;
//! - after a failed fetch no renewal starts until a backoff has passed (exponential, with
//!   jitter, never past the expiry of the value still cached); meanwhile callers with a
//!   valid value keep it, and callers without one get the last error at once;
//! - every duration is combined with checked or saturating arithmetic, so no
//!   configuration (`Duration::MAX`, zero) can panic.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::auth::{AuthError, AuthErrorKind};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::auth::clock::Clock;

/// What a fetch yields: the value and when it expires, with the fetch's private state
/// (the lock guard) handed back.
pub(crate) type FetchFuture<T, S> =
    Pin<Box<dyn Future<Output = (OwnedMutexGuard<S>, Result<(T, SystemTime), AuthError>)> + Send>>;

/// How a [`Renewer`] schedules renewals and retries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// Renew this long before expiry.
    pub(crate) refresh_window: Duration,
    /// Renew up to this fraction of the window earlier still, at random (0 for none), so
    /// that many clients do not renew at the same moment.
    pub(crate) jitter: f64,
    /// The backoff after the first failed fetch; it doubles with each further failure.
    pub(crate) backoff_initial: Duration,
    /// The longest backoff.
    pub(crate) backoff_max: Duration,
}

impl Policy {
    /// When to renew a value that arrived at `now` and expires at `expires_at`: the
    /// refresh window (plus jitter) before expiry, or halfway to expiry when that is
    /// already past.
    pub(crate) fn refresh_at(&self, now: SystemTime, expires_at: SystemTime) -> SystemTime {
        let jitter = fraction_of(self.refresh_window, self.jitter * fastrand::f64());
        let ahead = self.refresh_window.saturating_add(jitter);
        match expires_at.checked_sub(ahead) {
            Some(at) if at > now => at,
            _ => {
                let left = expires_at.duration_since(now).unwrap_or_default();
                now.checked_add(left / 2).unwrap_or(now)
            }
        }
    }

    /// The backoff after `failures` consecutive failed fetches (at least 1): the initial
    /// backoff doubled per failure, capped, then between half and all of it at random.
    pub(crate) fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        let full = self
            .backoff_initial
            .saturating_mul(1u32 << doublings)
            .min(self.backoff_max);
        let jittered = fraction_of(full, 0.5 + fastrand::f64() / 2.0);
        jittered.min(full)
    }
}

/// `duration * fraction` for a fraction in `[0, 1]`, never panicking (`Duration::mul_f64`
/// panics when rounding overflows).
pub(crate) fn fraction_of(duration: Duration, fraction: f64) -> Duration {
    if !(fraction.is_finite() && fraction > 0.0) {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(duration.as_secs_f64() * fraction.min(1.0))
        .unwrap_or(duration)
        .min(duration)
}

/// `now + by`, or the latest time this platform can represent nearby when that
/// overflows.
pub(crate) fn saturating_add(now: SystemTime, by: Duration) -> SystemTime {
    if let Some(at) = now.checked_add(by) {
        return at;
    }
    // Halve until it fits: still far beyond any lifetime that matters.
    let mut by = by;
    while !by.is_zero() {
        by /= 2;
        if let Some(at) = now.checked_add(by) {
            return at;
        }
    }
    now
}

/// What a caller finds in the cache.
enum Look<T> {
    /// A value before its refresh time.
    Fresh(T),
    /// A valid value due for renewal, and whether a backoff holds the renewal back.
    Due(T, bool),
    /// No valid value; the number of fetches finished so far.
    Invalid(u64),
}

/// A cached value.
struct Entry<T> {
    value: T,
    expires_at: SystemTime,
    refresh_at: SystemTime,
}

/// The last failed fetch, kept without its source so that it can be handed to every
/// caller it concerns.
struct Failure {
    kind: AuthErrorKind,
    message: String,
}

struct State<T> {
    entry: Option<Entry<T>>,
    /// Fetches finished (successfully or not).
    completed: u64,
    /// Consecutive failed fetches.
    failures: u32,
    failure: Option<Failure>,
    /// No fetch starts before this time (set after a failure).
    not_before: Option<SystemTime>,
}

/// A cached value of type `T`, renewed by one fetch at a time; `S` is the state that the
/// fetch keeps between fetches (for example a session token), owned by whoever fetches.
pub(crate) struct Renewer<T, S> {
    /// Names the value in messages, e.g. "IAM token".
    what: &'static str,
    clock: Arc<dyn Clock>,
    policy: Policy,
    state: StdMutex<State<T>>,
    /// Held by the one fetch in flight.
    flight: Arc<Mutex<S>>,
}

impl<T, S> Renewer<T, S>
where
    T: Clone + Send + 'static,
    S: Send + 'static,
{
    /// An empty cache.
    pub(crate) fn new(what: &'static str, clock: Arc<dyn Clock>, policy: Policy, session: S) -> Self {
        Renewer {
            what,
            clock,
            policy,
            state: StdMutex::new(State {
                entry: None,
                completed: 0,
                failures: 0,
                failure: None,
                not_before: None,
            }),
            flight: Arc::new(Mutex::new(session)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing panics while holding the lock; a poisoned lock still holds valid state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached value, renewing it as the module documentation says. `fetch` gets the
    /// fetch lock and must hand it back with its outcome.
    pub(crate) async fn get<F>(self: &Arc<Self>, fetch: F) -> Result<T, AuthError>
    where
        F: FnOnce(OwnedMutexGuard<S>) -> FetchFuture<T, S> + Send + 'static,
    {
        let now = self.clock.now();
        let seen = match self.look(now) {
            Look::Fresh(value) => return Ok(value),
            Look::Due(value, backing_off) => {
                // Someone else renewing already, or backing off: nothing to do.
                if !backing_off {
                    if let Ok(guard) = Arc::clone(&self.flight).try_lock_owned() {
                        self.renew_in_background(guard, fetch).await;
                    }
                }
                return Ok(value);
            }
            Look::Invalid(seen) => seen,
        };
        // No valid value: wait for the fetch in flight, if any, and share its outcome.
        let guard = Arc::clone(&self.flight).lock_owned().await;
        let now = self.clock.now();
        {
            let state = self.lock();
            if let Some(entry) = state.entry.as_ref().filter(|entry| now < entry.expires_at) {
                return Ok(entry.value.clone());
            }
            if let Some(failure) = &state.failure {
                if state.completed != seen {
                    return Err(AuthError::new(failure.kind, failure.message.clone()));
                }
                if let Some(wait) = state.not_before.and_then(|at| at.duration_since(now).ok()) {
                    return Err(AuthError::new(
                        failure.kind,
                        format!(
                            "{} (getting a new {} again in {} ms, after a backoff)",
                            failure.message,
                            self.what,
                            wait.as_millis()
                        ),
                    ));
                }
            }
        }
        let (guard, outcome) = fetch(guard).await;
        let result = self.record(outcome);
        drop(guard);
        result
    }

    /// What the cache holds at `now`.
    fn look(&self, now: SystemTime) -> Look<T> {
        let state = self.lock();
        match state.entry.as_ref().filter(|entry| now < entry.expires_at) {
            Some(entry) if now < entry.refresh_at => Look::Fresh(entry.value.clone()),
            Some(entry) => Look::Due(entry.value.clone(), state.not_before.is_some_and(|at| now < at)),
            None => Look::Invalid(state.completed),
        }
    }

    /// Renews on a spawned task (inline when there is no tokio runtime), unless a renewal
    /// finished meanwhile or a backoff began.
    async fn renew_in_background<F>(self: &Arc<Self>, guard: OwnedMutexGuard<S>, fetch: F)
    where
        F: FnOnce(OwnedMutexGuard<S>) -> FetchFuture<T, S> + Send + 'static,
    {
        let now = self.clock.now();
        {
            let state = self.lock();
            let fresh = state
                .entry
                .as_ref()
                .is_some_and(|entry| now < entry.refresh_at && now < entry.expires_at);
            if fresh || state.not_before.is_some_and(|at| now < at) {
                return;
            }
        }
        let this = Arc::clone(self);
        let renewal = async move {
            let (guard, outcome) = fetch(guard).await;
            // A failure is kept for the backoff; the caller already has a valid value.
            let _ = this.record(outcome);
            drop(guard);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(renewal);
            }
            Err(_) => renewal.await,
        }
    }

    /// Stores the outcome of a fetch: the new value, or the failure and a backoff.
    fn record(&self, outcome: Result<(T, SystemTime), AuthError>) -> Result<T, AuthError> {
        let now = self.clock.now();
        let outcome = outcome.and_then(|(value, expires_at)| {
            if expires_at > now {
                Ok((value, expires_at))
            } else {
                Err(AuthError::provider(format!(
                    "the new {} had already expired on arrival (its expiry is {} s before the clock of this machine)",
                    self.what,
                    now.duration_since(expires_at).unwrap_or_default().as_secs()
                )))
            }
        });
        let mut state = self.lock();
        state.completed = state.completed.wrapping_add(1);
        match outcome {
            Ok((value, expires_at)) => {
                state.entry = Some(Entry {
                    value: value.clone(),
                    expires_at,
                    refresh_at: self.policy.refresh_at(now, expires_at),
                });
                state.failures = 0;
                state.failure = None;
                state.not_before = None;
                Ok(value)
            }
            Err(error) => {
                state.failures = state.failures.saturating_add(1);
                let mut not_before = saturating_add(now, self.policy.backoff(state.failures));
                // Once the cached value has expired, a caller may try again at once.
                if let Some(entry) = state.entry.as_ref().filter(|entry| now < entry.expires_at) {
                    not_before = not_before.min(entry.expires_at);
                }
                state.not_before = Some(not_before);
                // Callers that share this failure get a copy: the whole chain in one message,
                // so the reason (e.g. the refused connection) is not lost.
                state.failure = Some(Failure {
                    kind: error.kind(),
                    message: chain_text(&error),
                });
                Err(error)
            }
        }
    }

    /// Drops the cached value.
    pub(crate) fn invalidate(&self) {
        self.lock().entry = None;
    }

    /// Drops the cached value if `rejected` says it is the one that was refused; `true`
    /// when it was dropped.
    pub(crate) fn invalidate_if(&self, rejected: impl FnOnce(&T) -> bool) -> bool {
        let mut state = self.lock();
        let Some(entry) = &state.entry else {
            return false;
        };
        if !rejected(&entry.value) {
            return false;
        }
        state.entry = None;
        true
    }
}

/// An error and its causes, joined by ": ", as `{:#}` prints them.
pub(crate) fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        text.push_str(": ");
        text.push_str(&current.to_string());
        cause = current.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::auth::ManualClock;

    const NOON: u64 = 1_704_110_400;
    const HOUR: Duration = Duration::from_secs(3600);

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn policy() -> Policy {
        Policy {
            refresh_window: Duration::from_secs(600),
            jitter: 0.0,
            backoff_initial: Duration::from_secs(10),
            backoff_max: Duration::from_secs(300),
        }
    }

    /// Counts fetches; each waits for a permit, then answers from `answer`.
    struct Fake {
        started: AtomicUsize,
        gate: tokio::sync::Semaphore,
    }

    impl Fake {
        fn new(open: bool) -> Arc<Self> {
            Arc::new(Fake {
                started: AtomicUsize::new(0),
                gate: tokio::sync::Semaphore::new(if open { 1 << 20 } else { 0 }),
            })
        }

        fn started(&self) -> usize {
            self.started.load(Ordering::SeqCst)
        }
    }

    type R = Renewer<u32, ()>;

    fn fetch(
        fake: &Arc<Fake>,
        answer: Result<(u32, SystemTime), AuthErrorKind>,
    ) -> impl FnOnce(OwnedMutexGuard<()>) -> FetchFuture<u32, ()> + Send + 'static {
        let fake = Arc::clone(fake);
        move |guard| {
            Box::pin(async move {
                fake.started.fetch_add(1, Ordering::SeqCst);
                if let Ok(permit) = fake.gate.acquire().await {
                    permit.forget();
                }
                (guard, answer.map_err(|kind| AuthError::new(kind, "the source failed")))
            })
        }
    }

    fn renewer(clock: &ManualClock) -> Arc<R> {
        Arc::new(Renewer::new("value", Arc::new(clock.clone()), policy(), ()))
    }

    /// Lets spawned tasks run.
    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn valid_values_are_returned_while_a_renewal_is_in_flight() {
        let clock = ManualClock::new(at(NOON));
        let renewer = renewer(&clock);
        let open = Fake::new(true);
        assert_eq!(renewer.get(fetch(&open, Ok((1, at(NOON) + HOUR)))).await.unwrap(), 1);
        clock.advance(Duration::from_secs(55 * 60)); // inside the window
        let slow = Fake::new(false);
        for _ in 0..5 {
            assert_eq!(
                renewer.get(fetch(&slow, Ok((2, at(NOON) + 2 * HOUR)))).await.unwrap(),
                1
            );
        }
        settle().await;
        assert_eq!(slow.started(), 1, "one renewal for five callers");
        slow.gate.add_permits(1);
        settle().await;
        assert_eq!(renewer.get(fetch(&slow, Ok((3, at(NOON))))).await.unwrap(), 2);
        assert_eq!(slow.started(), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_renewal_backs_off_while_the_value_is_valid() {
        let clock = ManualClock::new(at(NOON));
        let renewer = renewer(&clock);
        let open = Fake::new(true);
        renewer.get(fetch(&open, Ok((1, at(NOON) + HOUR)))).await.unwrap();
        clock.advance(Duration::from_secs(50 * 60));
        let failing = Fake::new(true);
        for _ in 0..5 {
            assert_eq!(
                renewer
                    .get(fetch(&failing, Err(AuthErrorKind::Provider)))
                    .await
                    .unwrap(),
                1
            );
            settle().await;
        }
        assert_eq!(failing.started(), 1, "no retry before the backoff passes");
        // The first backoff is 5 to 10 s.
        clock.advance(Duration::from_secs(4));
        renewer
            .get(fetch(&failing, Err(AuthErrorKind::Provider)))
            .await
            .unwrap();
        settle().await;
        assert_eq!(failing.started(), 1);
        clock.advance(Duration::from_secs(6));
        renewer
            .get(fetch(&failing, Err(AuthErrorKind::Provider)))
            .await
            .unwrap();
        settle().await;
        assert_eq!(failing.started(), 2, "tried again after the backoff");
        // The second backoff is 10 to 20 s.
        clock.advance(Duration::from_secs(9));
        renewer
            .get(fetch(&failing, Err(AuthErrorKind::Provider)))
            .await
            .unwrap();
        settle().await;
        assert_eq!(failing.started(), 2);
        clock.advance(Duration::from_secs(11));
        assert_eq!(
            renewer.get(fetch(&open, Ok((2, at(NOON) + 2 * HOUR)))).await.unwrap(),
            1
        );
        settle().await;
        assert_eq!(renewer.get(fetch(&open, Ok((3, at(NOON))))).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn callers_without_a_value_share_one_failed_fetch() {
        let clock = ManualClock::new(at(NOON));
        let renewer = renewer(&clock);
        let failing = Fake::new(false);
        let callers: Vec<_> = (0..5)
            .map(|_| {
                let (renewer, fetch) = (Arc::clone(&renewer), fetch(&failing, Err(AuthErrorKind::Provider)));
                tokio::spawn(async move { renewer.get(fetch).await })
            })
            .collect();
        settle().await;
        failing.gate.add_permits(1);
        for caller in callers {
            let err = caller.await.unwrap().unwrap_err();
            assert_eq!(err.kind(), AuthErrorKind::Provider);
            assert!(err.to_string().starts_with("the source failed"), "{err}");
        }
        assert_eq!(failing.started(), 1, "one fetch for five waiting callers");
        // During the backoff the error comes at once.
        let err = renewer
            .get(fetch(&failing, Err(AuthErrorKind::Provider)))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("after a backoff"), "{err}");
        assert_eq!(failing.started(), 1);
        clock.advance(Duration::from_secs(10));
        let open = Fake::new(true);
        assert_eq!(renewer.get(fetch(&open, Ok((7, at(NOON) + HOUR)))).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn a_value_that_arrives_expired_is_an_error() {
        let clock = ManualClock::new(at(NOON));
        let renewer = renewer(&clock);
        let err = renewer
            .get(fetch(&Fake::new(true), Ok((1, at(NOON - 5)))))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Provider);
        assert!(err.to_string().contains("had already expired"), "{err}");
    }

    #[tokio::test]
    async fn refusals_drop_the_refused_value_only() {
        let clock = ManualClock::new(at(NOON));
        let renewer = renewer(&clock);
        let open = Fake::new(true);
        renewer.get(fetch(&open, Ok((1, at(NOON) + HOUR)))).await.unwrap();
        assert!(!renewer.invalidate_if(|value| *value == 0), "another value was refused");
        assert!(renewer.invalidate_if(|value| *value == 1));
        // Dropped: the next caller fetches value 2.
        assert_eq!(renewer.get(fetch(&open, Ok((2, at(NOON) + HOUR)))).await.unwrap(), 2);
        // Late refusals of requests that carried value 1 keep the replacement.
        assert!(!renewer.invalidate_if(|value| *value == 1));
        assert_eq!(renewer.get(fetch(&open, Ok((3, at(NOON) + HOUR)))).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_zero_window_renews_at_expiry() {
        let clock = ManualClock::new(at(NOON));
        let zero = Policy {
            refresh_window: Duration::ZERO,
            jitter: 0.0,
            backoff_initial: Duration::ZERO,
            backoff_max: Duration::ZERO,
        };
        let renewer: Arc<R> = Arc::new(Renewer::new("value", Arc::new(clock.clone()), zero, ()));
        let open = Fake::new(true);
        assert_eq!(renewer.get(fetch(&open, Ok((1, at(NOON) + HOUR)))).await.unwrap(), 1);
        assert_eq!(renewer.get(fetch(&open, Ok((2, at(NOON) + HOUR)))).await.unwrap(), 1);
        assert_eq!(open.started(), 1);
    }

    /// Polls `future` to completion on this thread, without any runtime.
    fn block_on<F: Future>(future: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut context = std::task::Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
                return output;
            }
            std::thread::park();
        }
    }

    #[test]
    fn without_a_runtime_the_due_caller_renews_inline() {
        let clock = ManualClock::new(at(NOON));
        let renewer = renewer(&clock);
        let open = Fake::new(true);
        assert_eq!(
            block_on(renewer.get(fetch(&open, Ok((1, at(NOON) + HOUR))))).unwrap(),
            1
        );
        clock.advance(Duration::from_secs(55 * 60));
        // Nothing to spawn on: this caller renews, and still gets the valid value.
        assert_eq!(
            block_on(renewer.get(fetch(&open, Ok((2, at(NOON) + 2 * HOUR))))).unwrap(),
            1
        );
        assert_eq!(open.started(), 2);
        assert_eq!(block_on(renewer.get(fetch(&open, Ok((3, at(NOON)))))).unwrap(), 2);
    }

    #[test]
    fn extreme_durations_do_not_panic() {
        let now = at(NOON);
        for window in [Duration::ZERO, Duration::from_nanos(1), Duration::MAX] {
            for jitter in [0.0, 0.5, 1.0, f64::NAN, f64::INFINITY, -1.0] {
                for backoff in [Duration::ZERO, Duration::MAX] {
                    let policy = Policy {
                        refresh_window: window,
                        jitter,
                        backoff_initial: backoff,
                        backoff_max: Duration::MAX,
                    };
                    let refresh_at = policy.refresh_at(now, now + HOUR);
                    assert!(refresh_at >= now && refresh_at <= now + HOUR);
                    assert_eq!(policy.refresh_at(now, now - HOUR), now);
                    for failures in [0, 1, 2, 40, u32::MAX] {
                        assert!(policy.backoff(failures) <= backoff);
                    }
                }
            }
        }
        // A huge window: renewed halfway.
        let policy = Policy {
            refresh_window: Duration::MAX,
            ..policy()
        };
        assert_eq!(policy.refresh_at(now, now + HOUR), now + HOUR / 2);
        assert!(saturating_add(now, Duration::MAX) > now);
        assert_eq!(saturating_add(now, Duration::ZERO), now);
        assert_eq!(fraction_of(Duration::MAX, 1.0), Duration::MAX);
        assert_eq!(fraction_of(Duration::MAX, f64::NAN), Duration::ZERO);
    }
}
