//! The bounded queue between the hub and one subscriber: [`Sink`] is the
//! hub's end, [`Subscription`] the subscriber's.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use sse_codec::{ByteStr, EncodedFrame, Event};

/// What became of a frame handed to a [`Sink`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Delivery {
    /// Queued for the subscriber.
    Queued,
    /// The subscriber was too far behind: its queue would have passed its
    /// byte limit. The queue is emptied and the subscription ends, so the
    /// client reconnects and replays from history. The sink stays closed.
    Overflowed,
    /// The subscription was dropped (or overflowed earlier). The sink can be
    /// forgotten.
    Closed,
}

/// The hub's end of one subscriber's queue: what a [`Backend`] keeps for
/// every subscriber of a channel and hands each live frame to.
///
/// [`Backend`]: crate::Backend
#[derive(Debug)]
pub struct Sink {
    queue: Arc<Queue>,
}

/// The subscriber's end: the frames to replay, then the live ones.
///
/// A [`Stream`] of [`EncodedFrame`]s that the framework adapters take as
/// their event stream (`sse_axum::Sse::new(subscription)`). It ends when
/// the subscriber falls too far behind (see [`Delivery::Overflowed`]) and
/// otherwise never; dropping it unsubscribes.
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Subscription {
    replay: std::vec::IntoIter<EncodedFrame>,
    queue: Arc<Queue>,
}

#[derive(Debug)]
struct Queue {
    max_bytes: usize,
    /// The hub's reset event, shared by all its queues.
    reset: Arc<Event>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    frames: VecDeque<EncodedFrame>,
    /// Sum of the lengths of `frames`.
    bytes: usize,
    closed: bool,
    waker: Option<Waker>,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves `State` consistent (every
        // update is a single push, pop or clear), so poisoning is ignored.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A new queue holding at most `max_bytes` of frames (or one frame of any
/// size): the hub's end, and a function that makes the subscriber's end
/// once its replay is known.
pub(crate) fn queue(
    max_bytes: usize,
    reset: Arc<Event>,
) -> (Sink, impl FnOnce(Vec<EncodedFrame>) -> Subscription) {
    let queue = Arc::new(Queue {
        max_bytes,
        reset,
        state: Mutex::new(State::default()),
    });
    let sink = Sink {
        queue: Arc::clone(&queue),
    };
    (sink, move |replay: Vec<EncodedFrame>| Subscription {
        replay: replay.into_iter(),
        queue,
    })
}

impl Sink {
    /// Queues `frame` for the subscriber, without blocking beyond a short
    /// lock.
    ///
    /// If the queue holds frames and `frame` would take it past its byte
    /// limit, the subscriber is disconnected instead: its queued frames are
    /// freed and its stream ends ([`Delivery::Overflowed`]). A single frame
    /// larger than the limit still goes into an empty queue, so one large
    /// event never disconnects a subscriber that keeps up.
    pub fn send(&self, frame: EncodedFrame) -> Delivery {
        let mut state = self.queue.lock();
        if state.closed {
            return Delivery::Closed;
        }
        let delivery = if !state.frames.is_empty()
            && state.bytes.saturating_add(frame.len()) > self.queue.max_bytes
        {
            state.close();
            Delivery::Overflowed
        } else {
            state.bytes += frame.len();
            state.frames.push_back(frame);
            Delivery::Queued
        };
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        delivery
    }

    /// The hub's reset event carrying `last_id` (empty when `None`), for a
    /// backend that finds, while subscribers are connected, that events they
    /// were owed are lost (its log lost the channel's data). Every sink of a
    /// hub makes the same frame: make it once and [`send`](Self::send) it
    /// to each.
    pub fn reset_frame(&self, last_id: Option<ByteStr>) -> EncodedFrame {
        reset_frame(&self.queue.reset, last_id)
    }

    /// Whether the subscription is gone (dropped or overflowed).
    pub fn is_closed(&self) -> bool {
        self.queue.lock().closed
    }

    /// The bytes queued and not yet taken by the subscriber.
    pub fn queued_bytes(&self) -> usize {
        self.queue.lock().bytes
    }
}

/// Closes a sink's queue when dropped, unless [`keep`](Self::keep) was
/// called: for a backend that adds a sink and then has to compute the
/// replay, which may fail or be cancelled before the subscription exists.
#[derive(Debug)]
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) struct SinkGuard(Option<Arc<Queue>>);

#[cfg_attr(not(feature = "redis"), allow(dead_code))]
impl SinkGuard {
    pub(crate) fn new(sink: &Sink) -> Self {
        SinkGuard(Some(Arc::clone(&sink.queue)))
    }

    /// The subscription will exist: leave the sink open.
    pub(crate) fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for SinkGuard {
    fn drop(&mut self) {
        if let Some(queue) = self.0.take() {
            queue.lock().close();
        }
    }
}

/// The live sinks of one channel, as a backend keeps them.
#[derive(Debug)]
pub(crate) struct Sinks {
    sinks: Vec<Sink>,
    /// `sinks.len()` at which closed sinks are next swept out.
    sweep_at: usize,
    /// Subscribers disconnected because they fell too far behind.
    pub(crate) overflowed: u64,
}

const FIRST_SWEEP: usize = 64;

impl Default for Sinks {
    fn default() -> Self {
        Sinks {
            sinks: Vec::new(),
            sweep_at: FIRST_SWEEP,
            overflowed: 0,
        }
    }
}

impl Sinks {
    /// Adds `sink`, sweeping out closed ones when the list has doubled
    /// since the last sweep (so adding stays O(1) amortized).
    pub(crate) fn add(&mut self, sink: Sink) {
        if self.sinks.len() >= self.sweep_at {
            self.sinks.retain(|sink| !sink.is_closed());
            self.sweep_at = (self.sinks.len() * 2).max(FIRST_SWEEP);
        }
        self.sinks.push(sink);
    }

    /// Hands `frame` to every sink, forgetting the closed and the
    /// overflowed ones.
    pub(crate) fn send(&mut self, frame: &EncodedFrame) {
        let overflowed = &mut self.overflowed;
        self.sinks.retain(|sink| match sink.send(frame.clone()) {
            Delivery::Queued => true,
            Delivery::Overflowed => {
                *overflowed += 1;
                false
            }
            Delivery::Closed => false,
        });
    }

    /// The hub's reset event carrying `last_id`, encoded once, to every
    /// sink. Does nothing without sinks.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn send_reset(&mut self, last_id: Option<ByteStr>) {
        if let Some(first) = self.sinks.first() {
            let frame = first.reset_frame(last_id);
            self.send(&frame);
        }
    }

    /// The subscribers still connected.
    pub(crate) fn live(&self) -> usize {
        self.sinks.iter().filter(|sink| !sink.is_closed()).count()
    }
}

/// `reset` with `last_id` as its id (empty when `None`), encoded.
pub(crate) fn reset_frame(reset: &Event, last_id: Option<ByteStr>) -> EncodedFrame {
    let reset = reset.clone().into_builder().id(last_id.unwrap_or_default());
    EncodedFrame::from(reset.build().expect("an id from the backend is a valid id"))
}

impl Subscription {
    /// The frames still to replay, and the bytes queued behind them.
    pub fn backlog(&self) -> (usize, usize) {
        (self.replay.len(), self.queue.lock().bytes)
    }
}

/// Frames already waiting are written as one chunk of up to this many bytes
/// (a copy, which costs less than a chunk per frame in the HTTP layer).
/// Only frames that are ready are joined, so this adds no latency.
const BATCH_BYTES: usize = 16 * 1024;

/// `first` joined with the frames `more` gives while they fit in
/// [`BATCH_BYTES`]; `more(room)` yields the next frame only if it is at most
/// `room` bytes.
fn batch(first: EncodedFrame, mut more: impl FnMut(usize) -> Option<EncodedFrame>) -> EncodedFrame {
    let mut room = BATCH_BYTES.saturating_sub(first.len());
    let Some(second) = more(room) else {
        return first;
    };
    room -= second.len();
    let mut frames = vec![first, second];
    while let Some(frame) = more(room) {
        room -= frame.len();
        frames.push(frame);
    }
    EncodedFrame::concat(&frames)
}

impl Stream for Subscription {
    type Item = EncodedFrame;

    /// The next frame, or several ready frames joined into one value (whole
    /// frames, in order).
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EncodedFrame>> {
        let this = &mut *self;
        if let Some(first) = this.replay.next() {
            let replay = &mut this.replay;
            return Poll::Ready(Some(batch(first, |room| {
                let fits = replay.as_slice().first()?.len() <= room;
                if fits {
                    replay.next()
                } else {
                    None
                }
            })));
        }
        let mut state = this.queue.lock();
        if let Some(first) = state.pop() {
            return Poll::Ready(Some(batch(first, |room| {
                let fits = state.frames.front()?.len() <= room;
                if fits {
                    state.pop()
                } else {
                    None
                }
            })));
        }
        if state.closed {
            return Poll::Ready(None);
        }
        match &mut state.waker {
            Some(waker) => waker.clone_from(cx.waker()),
            None => state.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl State {
    /// Frees the queued frames and ends the subscription.
    fn close(&mut self) {
        self.closed = true;
        self.frames = VecDeque::new();
        self.bytes = 0;
    }

    fn pop(&mut self) -> Option<EncodedFrame> {
        let frame = self.frames.pop_front()?;
        self.bytes -= frame.len();
        Some(frame)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut state = self.queue.lock();
        state.close();
        state.waker = None;
    }
}
