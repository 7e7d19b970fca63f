//! The request body both transports hand to hyper, which marks when hyper first looks at
//! it: the moment a request may start to reach the wire. A timeout before it has sent
//! nothing.

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use super::Delivery;

/// The body of a request the SDK's transports send: the request's bytes, and a mark set
/// when hyper (under `HyperTransport` or reqwest) first looks at them.
///
/// hyper asks a body whether it is empty just before it writes the request head, and
/// reads it only after that, so a request whose body hyper never touched has not had a
/// byte written: a timeout before then is reported with [`Delivery::NotSent`]. The body is
/// not copied.
pub struct RequestBody {
    pub(crate) data: Option<Bytes>,
    pub(crate) stage: Arc<AtomicU8>,
}

impl RequestBody {
    /// `data`, marking `stage` when first looked at.
    pub(crate) fn new(data: Bytes, stage: &Arc<AtomicU8>) -> RequestBody {
        RequestBody {
            data: Some(data),
            stage: Arc::clone(stage),
        }
    }

    fn touched(&self) {
        self.stage.fetch_max(Stage::Exchanging as u8, Ordering::Relaxed);
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("len", &self.data.as_ref().map_or(0, Bytes::len))
            .finish_non_exhaustive()
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        this.touched();
        Poll::Ready(this.data.take().filter(|d| !d.is_empty()).map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        // The first thing hyper asks, right before it writes the head: from here on the
        // request may be on the wire.
        self.touched();
        self.data.as_ref().is_none_or(Bytes::is_empty)
    }

    fn size_hint(&self) -> SizeHint {
        // Not a mark: hyper asks only after `is_end_stream`, and reqwest's redirect layer
        // asks before connecting.
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

/// How far an exchange got, for telling what a timeout interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// hyper has not touched the request's body: nothing of the request was written.
    Connecting = 0,
    /// hyper is writing the request, or has written it.
    Exchanging = 1,
    /// The response head arrived; its body is being read.
    ReadingBody = 2,
}

impl Stage {
    /// A fresh mark, at [`Stage::Connecting`].
    pub(crate) fn mark() -> Arc<AtomicU8> {
        Arc::new(AtomicU8::new(Stage::Connecting as u8))
    }

    /// The stage `mark` records.
    pub(crate) fn of(mark: &AtomicU8) -> Stage {
        Stage::from_u8(mark.load(Ordering::Relaxed))
    }

    pub(crate) fn from_u8(value: u8) -> Stage {
        match value {
            0 => Stage::Connecting,
            1 => Stage::Exchanging,
            _ => Stage::ReadingBody,
        }
    }

    pub(crate) fn delivery(self) -> Delivery {
        match self {
            Stage::Connecting => Delivery::NotSent,
            Stage::Exchanging | Stage::ReadingBody => Delivery::MaybeSent,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use super::*;

    #[test]
    fn the_request_body_marks_the_first_question_and_gives_its_bytes_once() {
        use http_body::Body as _;
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        for (data, frames) in [(Bytes::from_static(b"{}"), 1), (Bytes::new(), 0)] {
            for ask in [0, 1, 2] {
                let stage = Stage::mark();
                let mut body = RequestBody {
                    data: Some(data.clone()),
                    stage: Arc::clone(&stage),
                };
                assert_eq!(stage.load(Ordering::Relaxed), Stage::Connecting as u8);
                match ask {
                    0 => assert_eq!(body.is_end_stream(), data.is_empty()),
                    1 => {
                        assert_eq!(body.size_hint().exact(), Some(data.len() as u64));
                        assert_eq!(Stage::of(&stage), Stage::Connecting, "asking the size is no mark");
                    }
                    _ => {}
                }
                let mut seen = Vec::new();
                while let Poll::Ready(Some(frame)) = Pin::new(&mut body).poll_frame(&mut cx) {
                    seen.push(frame.unwrap().into_data().unwrap());
                }
                assert_eq!(stage.load(Ordering::Relaxed), Stage::Exchanging as u8);
                assert_eq!(seen.len(), frames);
                assert_eq!(seen.concat(), data.to_vec());
                assert!(body.is_end_stream());
                // A later stage is never moved back.
                stage.store(Stage::ReadingBody as u8, Ordering::Relaxed);
                body.touched();
                assert_eq!(stage.load(Ordering::Relaxed), Stage::ReadingBody as u8);
            }
        }
    }

    #[test]
    fn each_stage_says_whether_the_request_may_have_been_sent() {
        assert_eq!(Stage::Connecting.delivery(), Delivery::NotSent);
        assert_eq!(Stage::Exchanging.delivery(), Delivery::MaybeSent);
        assert_eq!(Stage::ReadingBody.delivery(), Delivery::MaybeSent);
        for stage in [Stage::Connecting, Stage::Exchanging, Stage::ReadingBody] {
            assert_eq!(Stage::from_u8(stage as u8), stage);
        }
        assert_eq!(Stage::of(&Stage::mark()), Stage::Connecting);
    }
}
