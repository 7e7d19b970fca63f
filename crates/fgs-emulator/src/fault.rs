//! Fault injection: make the emulator misbehave the way networks and services do, so that
//! client code can be tested against it.

use std::collections::VecDeque;
use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use http_body_util::combinators::BoxBody;
use hyper::body::{Body, Frame};

use crate::codes;

/// One way to misbehave.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// Wait this long before handling the request (the function still runs).
    Latency(Duration),
    /// Answer with an error of the service (`FSS.*`) or its gateway (`APIGW.*`, which
    /// adds `request_id`), without running the function.
    Error {
        /// HTTP status.
        status: u16,
        /// `error_code`.
        code: String,
        /// `error_msg`.
        message: String,
        /// Sent as `Retry-After` in whole seconds.
        retry_after: Option<Duration>,
    },
    /// Answer with exactly this response, without running the function (a proxy's HTML
    /// page, a malformed body, ...).
    Response {
        /// HTTP status.
        status: u16,
        /// Headers.
        headers: Vec<(String, String)>,
        /// Body.
        body: Bytes,
    },
    /// Read the request, then close the connection without answering and without
    /// running the function.
    DropBeforeRun,
    /// Run the function to the end, then close the connection without answering: the
    /// client cannot know whether it ran.
    DropAfterRun,
    /// Run the function and send the response body in pieces of `chunk` bytes, waiting
    /// `delay` before each.
    SlowBody {
        /// Bytes per piece.
        chunk: usize,
        /// Wait before each piece.
        delay: Duration,
    },
    /// Run the function, announce the full body length, send half of it and close.
    TruncatedBody,
}

impl Fault {
    /// An error response with a service error code; the status decides nothing else.
    pub fn error(status: u16, code: impl Into<String>, message: impl Into<String>) -> Fault {
        Fault::Error {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// 429 `FSS.0429` (the catalogue's `TooManyRequests`) with `Retry-After`.
    pub fn throttled(retry_after: Duration) -> Fault {
        Fault::Error {
            status: codes::TOO_MANY_REQUESTS.status.as_u16(),
            code: codes::TOO_MANY_REQUESTS.code.as_str().into(),
            message: "Too many concurrent requests. Please try again later".into(),
            retry_after: Some(retry_after),
        }
    }

    /// An arbitrary response.
    pub fn response(status: u16, headers: Vec<(String, String)>, body: impl Into<Bytes>) -> Fault {
        Fault::Response {
            status,
            headers,
            body: body.into(),
        }
    }
}

/// When a [`Fault`] applies: to which requests, and how many times.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub(crate) fault: Fault,
    pub(crate) target: FaultTarget,
    pub(crate) remaining: Option<usize>,
    /// Applies to about one matching request in this many (`0` and `1`: every one).
    pub(crate) one_in: u32,
}

/// Which requests a rule applies to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FaultTarget {
    /// Every invocation request.
    Invocations,
    /// Invocation requests of one function.
    Function(String, String),
    /// Requests to the IAM endpoint (tokens, project lookup, federation).
    Iam,
    /// Requests to STS (`AssumeAgencyWithOIDC`).
    Sts,
    /// Requests to the pod identity endpoint.
    PodIdentity,
}

/// The request a fault is looked up for.
pub(crate) enum FaultSite<'a> {
    Invocation { package: &'a str, name: &'a str },
    Iam,
    Sts,
    PodIdentity,
}

impl FaultRule {
    /// `fault` for every invocation request, until removed.
    pub fn always(fault: Fault) -> Self {
        FaultRule {
            fault,
            target: FaultTarget::Invocations,
            remaining: None,
            one_in: 1,
        }
    }

    /// `fault` for the next `times` invocation requests.
    pub fn times(fault: Fault, times: usize) -> Self {
        FaultRule {
            fault,
            target: FaultTarget::Invocations,
            remaining: Some(times),
            one_in: 1,
        }
    }

    /// `fault` for the next invocation request only.
    pub fn once(fault: Fault) -> Self {
        Self::times(fault, 1)
    }

    /// Only for requests to function `package/name` (any version).
    pub fn for_function(mut self, package: impl Into<String>, name: impl Into<String>) -> Self {
        self.target = FaultTarget::Function(package.into(), name.into());
        self
    }

    /// Applies to about one matching request in `n`, chosen at random and independently
    /// for each request; `0` and `1` mean every matching request.
    ///
    /// Only the requests it fires for use up a repetition, so
    /// `FaultRule::times(fault, k).one_in(20)` fires at most `k` times. When a rule does
    /// not fire, the next rule that matches is tried, so several probabilistic rules
    /// make a mix of faults:
    ///
    /// ```
    /// use std::time::Duration;
    /// use fgs_emulator::{Fault, FaultRule};
    ///
    /// // About 1 % of invocations each: dropped after the run, and throttled.
    /// let rules = [
    ///     FaultRule::always(Fault::DropAfterRun).one_in(100),
    ///     FaultRule::always(Fault::throttled(Duration::from_secs(1))).one_in(100),
    /// ];
    /// # let _ = rules;
    /// ```
    pub fn one_in(mut self, n: u32) -> Self {
        self.one_in = n.max(1);
        self
    }

    /// For requests to the IAM endpoint (token requests `POST /v3/auth/tokens`, project
    /// lookups `GET /v3/projects`, and federation: `POST /v3.0/OS-AUTH/id-token/tokens`,
    /// `POST /v3.0/OS-CREDENTIAL/securitytokens`) instead of invocations; `Latency`,
    /// `Error`, `Response` and `DropBeforeRun` apply there. A fault answers before
    /// credentials are checked, as an unreachable or failing IAM would.
    pub fn for_iam(mut self) -> Self {
        self.target = FaultTarget::Iam;
        self
    }

    /// For requests to STS (`POST /v5/agencies/assume-with-oidc`) instead of invocations,
    /// as [`for_iam`](Self::for_iam) is for IAM.
    pub fn for_sts(mut self) -> Self {
        self.target = FaultTarget::Sts;
        self
    }

    /// For requests to the pod identity endpoint instead of invocations, as
    /// [`for_iam`](Self::for_iam) is for IAM.
    pub fn for_pod_identity(mut self) -> Self {
        self.target = FaultTarget::PodIdentity;
        self
    }

    /// Whether the rule applies to this request: it targets it, has repetitions left, and
    /// (for a probabilistic rule) the dice say so. Rolls the dice only for requests it
    /// targets.
    pub(crate) fn fires_for(&self, site: &FaultSite<'_>) -> bool {
        self.remaining != Some(0) && self.matches(site) && (self.one_in <= 1 || fastrand::u32(..self.one_in) == 0)
    }

    fn matches(&self, site: &FaultSite<'_>) -> bool {
        match (&self.target, site) {
            (FaultTarget::Invocations, FaultSite::Invocation { .. }) => true,
            (FaultTarget::Function(p, n), FaultSite::Invocation { package, name }) => p == package && n == name,
            (FaultTarget::Iam, FaultSite::Iam)
            | (FaultTarget::Sts, FaultSite::Sts)
            | (FaultTarget::PodIdentity, FaultSite::PodIdentity) => true,
            _ => false,
        }
    }
}

/// How long a truncated body waits before failing, for hyper to flush what it has.
const FLUSH_PAUSE: Duration = Duration::from_millis(50);

/// The response body type of the server.
pub(crate) type ResponseBody = BoxBody<Bytes, std::io::Error>;

pub(crate) fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    http_body_util::Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A body that yields pieces with a delay before each, then optionally fails (which
/// makes hyper abort the connection with the announced length unmet).
pub(crate) struct PacedBody {
    pieces: VecDeque<Bytes>,
    delay: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    fail_at_end: bool,
    length: u64,
}

impl PacedBody {
    pub(crate) fn slow(bytes: Bytes, chunk: usize, delay: Duration) -> ResponseBody {
        let length = bytes.len() as u64;
        let chunk = chunk.max(1);
        let mut pieces = VecDeque::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let piece = rest.split_to(chunk.min(rest.len()));
            pieces.push_back(piece);
        }
        PacedBody {
            pieces,
            delay,
            sleep: None,
            fail_at_end: false,
            length,
        }
        .boxed()
    }

    pub(crate) fn truncated(bytes: Bytes) -> ResponseBody {
        let length = bytes.len() as u64;
        let half = bytes.slice(..bytes.len() / 2);
        let pieces = if half.is_empty() {
            VecDeque::new()
        } else {
            VecDeque::from([half])
        };
        PacedBody {
            pieces,
            delay: Duration::ZERO,
            sleep: None,
            fail_at_end: true,
            length,
        }
        .boxed()
    }
}

impl Body for PacedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.pieces.is_empty() {
            if !self.fail_at_end {
                return Poll::Ready(None);
            }
            // Pause before failing so that hyper writes out the head and the pieces sent
            // so far; failing at once would close the connection with them still buffered.
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(FLUSH_PAUSE)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
            self.fail_at_end = false;
            return Poll::Ready(Some(Err(std::io::Error::other(
                "response body cut short by fault injection",
            ))));
        }
        if !self.delay.is_zero() {
            let delay = self.delay;
            let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        Poll::Ready(self.pieces.pop_front().map(|piece| Ok(Frame::data(piece))))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.length)
    }
}
