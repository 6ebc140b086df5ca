//! [`EncodeStream`]: a stream of events as a stream of body chunks, with
//! keep-alive comments. Feature `stream`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use pin_project_lite::pin_project;

use super::keep_alive::{Heartbeat, KeepAlive};
use crate::encoded::{EncodedEvent, EncodedFrame};
use crate::event::{Event, Frame};

/// Events whose data is a single line at least this long are written without
/// copying the data: as three chunks (head, data, `\n\n`) instead of one.
pub const ZERO_COPY_MIN: usize = 16 * 1024;

/// What [`EncodeStream`] writes for one item: a frame it encodes, or a frame
/// encoded already (by a broadcaster, once for all its subscribers), which
/// it writes as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outgoing {
    /// A frame to encode.
    Frame(Frame),
    /// A frame already encoded.
    Encoded(EncodedFrame),
    /// Nothing more: the stream ends here, cleanly. What a
    /// [`FrameworkEvent`](crate::adapter::FrameworkEvent) with an invalid field
    /// becomes, since its setters could not report it.
    End,
}

impl From<Event> for Outgoing {
    fn from(event: Event) -> Self {
        Outgoing::Frame(Frame::Event(event))
    }
}

impl From<Frame> for Outgoing {
    fn from(frame: Frame) -> Self {
        Outgoing::Frame(frame)
    }
}

impl From<EncodedFrame> for Outgoing {
    fn from(frame: EncodedFrame) -> Self {
        Outgoing::Encoded(frame)
    }
}

/// An item [`EncodeStream`] can write: an [`Event`], a [`Frame`] or an
/// [`EncodedFrame`], or a `Result` of one (fallible streams).
pub trait IntoOutgoing {
    /// The error of a fallible item.
    type Error;

    /// What to write, or the error.
    ///
    /// # Errors
    ///
    /// The item's own error.
    fn into_outgoing(self) -> Result<Outgoing, Self::Error>;
}

macro_rules! infallible_outgoing {
    ($($item:ty),*) => {$(
        impl IntoOutgoing for $item {
            type Error = Infallible;

            fn into_outgoing(self) -> Result<Outgoing, Infallible> {
                Ok(self.into())
            }
        }
    )*};
}

infallible_outgoing!(
    Event,
    Frame,
    EncodedFrame,
    Outgoing,
    crate::adapter::FrameworkEvent
);

impl<T: Into<Outgoing>, E> IntoOutgoing for Result<T, E> {
    type Error = E;

    fn into_outgoing(self) -> Result<Outgoing, E> {
        self.map(Into::into)
    }
}

pin_project! {
    /// Encodes a stream of events (or [`Frame`]s, or [`EncodedFrame`]s) into a stream of body
    /// chunks, one chunk per event as soon as it is yielded, and sends a
    /// keep-alive comment after each [`KeepAlive::interval`] of silence.
    ///
    /// An error from the event stream is passed on as it is, or, after
    /// [`end_on_error`](Self::end_on_error), ends the stream (the framework
    /// adapters do that, so the response body ends cleanly and the client
    /// reconnects).
    /// Large single-line events ([`ZERO_COPY_MIN`] bytes of data or more) go
    /// out as three chunks that share the data instead of copying it.
    ///
    /// The keep-alive timer needs a tokio runtime with time enabled.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// use sse_codec::stream::EncodeStream;
    /// use sse_codec::Event;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let events = stream::iter([Ok::<_, std::io::Error>(Event::new("hi"))]);
    /// let chunks: Vec<_> = EncodeStream::new(events).collect().await;
    /// assert_eq!(chunks[0].as_ref().unwrap(), "data: hi\n\n");
    /// # });
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct EncodeStream<S> {
        #[pin]
        events: S,
        heartbeat: Option<Heartbeat>,
        // The rest of a large event being written without a copy.
        pending: Option<EncodedEvent>,
        shutdown: Option<Shutdown>,
        done: bool,
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for EncodeStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodeStream")
            .field("events", &self.events)
            .field("heartbeat", &self.heartbeat)
            .field("shutdown", &self.shutdown)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<S> EncodeStream<S> {
    /// Encodes `events`, without keep-alive.
    pub fn new(events: S) -> Self {
        EncodeStream {
            events,
            heartbeat: None,
            pending: None,
            shutdown: None,
            done: false,
        }
    }

    /// Ends the stream, cleanly, when `signal` completes: the way to let a
    /// server's graceful shutdown finish while event streams are open (they
    /// never end on their own). A large event already being written is
    /// finished first.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// use sse_codec::stream::EncodeStream;
    /// use sse_codec::Event;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let endless = stream::repeat_with(|| Event::new("tick"));
    /// let mut chunks = EncodeStream::new(endless).until(async { let _ = stopped.await; });
    /// assert!(chunks.next().await.is_some());
    /// stop.send(()).unwrap();
    /// assert!(chunks.next().await.is_none());
    /// # });
    /// ```
    pub fn until(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown = Some(Shutdown {
            signal: Box::pin(signal),
            drain: None,
        });
        self
    }

    /// Like [`until`](Self::until), but before ending sends a `retry`
    /// field picked at random, uniformly, between 0 and `window`: the
    /// clients of a server that shuts down then reconnect (to the next
    /// instance) spread over `window` instead of all in the same
    /// millisecond.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::{stream, StreamExt};
    /// use sse_codec::stream::EncodeStream;
    /// use sse_codec::Event;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let endless = stream::pending::<Event>();
    /// let mut chunks = EncodeStream::new(endless).until_drained(async {}, Duration::from_secs(10));
    /// let last = chunks.next().await.unwrap().unwrap();
    /// assert!(last.starts_with(b"retry: ") && last.ends_with(b"\n"));
    /// assert!(chunks.next().await.is_none());
    /// # });
    /// ```
    pub fn until_drained(
        mut self,
        signal: impl Future<Output = ()> + Send + 'static,
        window: Duration,
    ) -> Self {
        self.shutdown = Some(Shutdown {
            signal: Box::pin(signal),
            drain: Some(window),
        });
        self
    }

    /// Ends the stream at the first error from the event stream, dropping
    /// the error, instead of yielding it: the result never fails.
    ///
    /// A response body that ends cleanly is what an `EventSource` needs to
    /// reconnect; a body that fails aborts the connection instead. To tell
    /// the client about an error, send it as an event before ending.
    pub fn end_on_error(self) -> EndOnError<Self> {
        EndOnError {
            inner: self,
            done: false,
        }
    }

    /// Sends keep-alive comments as `keep_alive` says.
    ///
    /// The timer starts when the stream is first polled, which must be in a
    /// tokio runtime with time enabled.
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> Self {
        self.heartbeat = Some(Heartbeat::new(keep_alive));
        self
    }
}

impl<S> Stream for EncodeStream<S>
where
    S: Stream,
    S::Item: IntoOutgoing,
{
    type Item = Result<Bytes, <S::Item as IntoOutgoing>::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if let Some(part) = this.pending.as_mut().and_then(EncodedEvent::next_part) {
            return Poll::Ready(Some(Ok(part)));
        }
        *this.pending = None;
        if let Some(shutdown) = this.shutdown {
            if let Poll::Ready(last) = shutdown.poll_signal(cx) {
                *this.done = true;
                *this.shutdown = None;
                if let Some(last) = last {
                    return Poll::Ready(Some(Ok(last)));
                }
            }
        }
        if *this.done {
            return Poll::Ready(None);
        }
        match this
            .events
            .poll_next(cx)
            .map(|item| item.map(IntoOutgoing::into_outgoing))
        {
            Poll::Ready(Some(Ok(item))) => {
                if let Some(heartbeat) = this.heartbeat {
                    heartbeat.reset();
                }
                let chunk = match item {
                    Outgoing::End => {
                        *this.done = true;
                        return Poll::Ready(None);
                    }
                    Outgoing::Encoded(frame) => frame.into_bytes(),
                    Outgoing::Frame(Frame::Event(event)) if worth_sharing(&event) => {
                        let mut encoded = event.to_buf();
                        let head = encoded.next_part();
                        *this.pending = Some(encoded);
                        head.unwrap_or_default()
                    }
                    Outgoing::Frame(frame) => frame.to_bytes(),
                };
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err))),
            Poll::Ready(None) => {
                *this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => match this.heartbeat {
                Some(heartbeat) => heartbeat.poll_beat(cx).map(|beat| Some(Ok(beat))),
                None => Poll::Pending,
            },
        }
    }
}

/// How an [`EncodeStream`] ends by itself: when `signal` completes (a
/// server's shutdown), after a `retry` spread over `drain` if set.
struct Shutdown {
    signal: Pin<Box<dyn Future<Output = ()> + Send>>,
    drain: Option<Duration>,
}

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shutdown")
            .field("drain", &self.drain)
            .finish_non_exhaustive()
    }
}

impl Shutdown {
    /// Ready once signalled, with the last chunk to send (the `retry` of a
    /// drain), if any.
    fn poll_signal(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        ready!(self.signal.as_mut().poll(cx));
        Poll::Ready(
            self.drain
                .take()
                .map(|window| Frame::Retry(spread(window)).to_bytes()),
        )
    }
}

/// A duration picked uniformly between 0 and `window` (whole milliseconds),
/// different for each call: the random keys of std's `RandomState` are the
/// randomness (no generator to depend on; this needs no more than spread).
fn spread(window: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(random % millis.saturating_add(1))
}

/// Whether [`Event::to_buf`] saves a copy worth more than the extra chunks it
/// makes: single-line data of at least [`ZERO_COPY_MIN`] bytes.
fn worth_sharing(event: &Event) -> bool {
    event.data_lines == 1 && event.data.len() >= ZERO_COPY_MIN
}

pin_project! {
    /// An [`EncodeStream`] that ends at the first error instead of yielding
    /// it; see [`EncodeStream::end_on_error`].
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct EndOnError<S> {
        #[pin]
        inner: S,
        done: bool,
    }
}

impl<S, E> Stream for EndOnError<S>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        match ready!(this.inner.poll_next(cx)) {
            Some(Ok(chunk)) => Poll::Ready(Some(Ok(chunk))),
            Some(Err(_)) | None => {
                *this.done = true;
                Poll::Ready(None)
            }
        }
    }
}
