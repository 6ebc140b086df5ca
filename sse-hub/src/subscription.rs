//! [`Subscription`]: what a subscriber receives, the replay and then its
//! [`Reader`]'s position in the channel's log, as a stream of frames.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use sse_codec::{ByteStr, EncodedFrame, Event};

use crate::log::{Read, Reader, SEGMENT_BYTES};
use crate::resume::Replay;

/// A subscriber's stream: the frames to replay, then the live ones.
///
/// A [`Stream`] of [`EncodedFrame`]s that the framework adapters take as
/// their event stream (`sse_axum::Sse::new(subscription)`). It ends after
/// the channel's end event ([`Hub::end`](crate::Hub::end)), and only then;
/// dropping it unsubscribes. A subscriber that falls further behind than the
/// channel's history gets the reset event in its stream, then the newest
/// events.
///
/// A subscription that resumed after its channel's end has nothing to send:
/// [`is_finished`](Self::is_finished) says so at once, and its
/// `size_hint` is `(0, Some(0))`, and it ends at its first poll, which the
/// adapters answer with 204 No Content (a browser's `EventSource` then
/// stops reconnecting).
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Subscription {
    replay: std::vec::IntoIter<EncodedFrame>,
    reader: Reader,
    /// The hub's reset event.
    reset: Arc<Event>,
    /// The channel's end is in `replay` (or was read): nothing follows.
    finished: bool,
}

impl Subscription {
    pub(crate) fn new(replay: Replay, reader: Reader, reset: Arc<Event>) -> Self {
        let mut finished = false;
        let replay = match replay {
            Replay::Missed(frames) => frames,
            Replay::Ended(frames) => {
                finished = true;
                frames
            }
            Replay::Reset { last_id, then } => {
                let mut frames = Vec::with_capacity(1 + then.len());
                frames.push(reset_frame(&reset, last_id));
                frames.extend(then);
                frames
            }
        };
        Subscription {
            replay: replay.into_iter(),
            reader,
            reset,
            finished,
        }
    }

    /// Whether the stream has nothing more to yield: the channel's end has
    /// been yielded, or it resumed after the end.
    pub fn is_finished(&self) -> bool {
        self.finished && self.replay.len() == 0
    }

    /// The frames still to replay, and the entries of the channel's log
    /// after this subscriber's position.
    pub fn backlog(&self) -> (usize, u64) {
        (self.replay.len(), self.reader.behind())
    }
}

/// `reset` with `last_id` as its id (empty when `None`), encoded.
fn reset_frame(reset: &Event, last_id: Option<ByteStr>) -> EncodedFrame {
    let reset = reset.clone().into_builder().id(last_id.unwrap_or_default());
    EncodedFrame::from(reset.build().expect("an id from the backend is a valid id"))
}

impl Stream for Subscription {
    type Item = EncodedFrame;

    /// The next frame, or several ready frames joined into one value (whole
    /// frames, in order).
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EncodedFrame>> {
        let this = &mut *self;
        if let Some(first) = this.replay.next() {
            // Joined into chunks of up to a log segment's size.
            let mut room = SEGMENT_BYTES.saturating_sub(first.len());
            let mut frames = vec![first];
            while let Some(next) = this.replay.as_slice().first().filter(|f| f.len() <= room) {
                room -= next.len();
                frames.push(next.clone());
                this.replay.next();
            }
            return Poll::Ready(Some(EncodedFrame::concat(&frames)));
        }
        if this.finished {
            return Poll::Ready(None);
        }
        match this.reader.poll_read(cx) {
            Poll::Ready(Read::Frames(frames)) => Poll::Ready(Some(frames)),
            Poll::Ready(Read::End(end)) => {
                this.finished = true;
                Poll::Ready(Some(end))
            }
            Poll::Ready(Read::Reset(last_id)) => {
                crate::metrics::reset();
                Poll::Ready(Some(reset_frame(&this.reset, last_id)))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// `(0, Some(0))` once [finished](Self::is_finished); otherwise at
    /// least the frames still to replay, joined, and no upper bound.
    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.is_finished() {
            (0, Some(0))
        } else {
            (usize::from(self.replay.len() > 0), None)
        }
    }
}
