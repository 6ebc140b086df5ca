//! [`KeepAlive`]: what to send on an idle stream, and when; and the timer
//! an [`EncodeStream`](super::EncodeStream) runs it with.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::{Instant, Sleep};

use crate::encoded::EncodedFrame;
use crate::event::Frame;
use crate::str::ByteStr;

/// When and what to send to keep an idle event stream's connection open.
///
/// Proxies and load balancers close connections that stay silent; browsers
/// and clients cannot tell a silent server from a dead one. A comment line is
/// ignored by every `EventSource`, so [`EncodeStream`](super::EncodeStream) sends one whenever no
/// event has gone out for [`interval`](Self::interval).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sse_codec::stream::KeepAlive;
///
/// let keep_alive = KeepAlive::new().interval(Duration::from_secs(30)).text("ping");
/// assert_eq!(keep_alive.interval_duration(), Duration::from_secs(30));
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct KeepAlive {
    comment: Bytes,
    interval: Duration,
}

impl KeepAlive {
    /// The default interval, 15 seconds (what axum and the HTML standard's
    /// example use).
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

    /// An empty comment line (`:\n`) every 15 seconds of silence.
    pub fn new() -> Self {
        KeepAlive {
            comment: Bytes::from_static(crate::encode::KEEP_ALIVE),
            interval: Self::DEFAULT_INTERVAL,
        }
    }

    /// Sends the keep-alive after `interval` without an event.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sends `text` as the comment (one comment line per line of it).
    pub fn text(mut self, text: impl Into<ByteStr>) -> Self {
        self.comment = Frame::Comment(text.into()).to_bytes();
        self
    }

    /// Sends `frame` as the keep-alive instead of a comment (an event a page
    /// listens to, to tell a live connection from a dead one).
    pub fn frame(mut self, frame: EncodedFrame) -> Self {
        self.comment = frame.into_bytes();
        self
    }

    /// The interval of silence after which the keep-alive is sent.
    pub fn interval_duration(&self) -> Duration {
        self.interval
    }

    /// The bytes sent as the keep-alive.
    pub fn comment_bytes(&self) -> &Bytes {
        &self.comment
    }
}

impl Default for KeepAlive {
    fn default() -> Self {
        Self::new()
    }
}

/// A [`KeepAlive`] at work: the bytes to send and the timer of silence,
/// started at the first poll, so a stream can be built outside a runtime.
#[derive(Debug)]
pub(super) struct Heartbeat {
    keep_alive: KeepAlive,
    timer: Option<Pin<Box<Sleep>>>,
}

impl Heartbeat {
    pub(super) fn new(keep_alive: KeepAlive) -> Self {
        Heartbeat {
            keep_alive,
            timer: None,
        }
    }

    /// Something went out: the silence starts again now.
    pub(super) fn reset(&mut self) {
        if let Some(timer) = &mut self.timer {
            timer
                .as_mut()
                .reset(Instant::now() + self.keep_alive.interval);
        }
    }

    /// The keep-alive's bytes once an interval of silence has passed (and
    /// the next interval started).
    pub(super) fn poll_beat(&mut self, cx: &mut Context<'_>) -> Poll<Bytes> {
        let interval = self.keep_alive.interval;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(interval)));
        ready!(timer.as_mut().poll(cx));
        timer.as_mut().reset(Instant::now() + interval);
        Poll::Ready(self.keep_alive.comment.clone())
    }
}
