//! [`EventStream`]: events from any stream of byte chunks.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::decode::EventDecoder;
use crate::error::EventStreamError;
use crate::event::Event;

pin_project! {
    /// A [`Stream`] of [`Event`]s decoded from a stream of byte chunks, such
    /// as an HTTP response body (`reqwest::Response::bytes_stream()`, or a
    /// hyper or axum body's data stream).
    ///
    /// Chunks are decoded in place: an event whose data lies within one chunk
    /// shares that chunk's storage. When the byte stream ends, an event cut
    /// off before its blank line is discarded, as a browser does, and the
    /// stream ends.
    ///
    /// Unlike `FramedRead`, this stream goes on after an
    /// [`EventTooLarge`](crate::DecodeError::EventTooLarge) error, with the
    /// events that follow. An error from the byte stream is passed on as
    /// [`EventStreamError::Source`], and the byte stream is polled again
    /// after it (most end there).
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures_util::{stream, StreamExt};
    /// use sse_codec::EventStream;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let body = stream::iter([
    ///     Ok::<_, std::io::Error>(Bytes::from("event: tick\ndata: 1\n")),
    ///     Ok(Bytes::from("\ndata: 2\n\n")),
    /// ]);
    /// let events: Vec<_> = EventStream::new(body).collect().await;
    /// let first = events[0].as_ref().unwrap();
    /// assert_eq!((first.event_type(), first.data()), ("tick", "1"));
    /// assert_eq!(events[1].as_ref().unwrap().data(), "2");
    /// # });
    /// ```
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct EventStream<S> {
        #[pin]
        inner: S,
        decoder: EventDecoder,
        chunk: Bytes,
        done: bool,
    }
}

impl<S> EventStream<S> {
    /// Decodes `inner` with a default [`EventDecoder`].
    pub fn new(inner: S) -> Self {
        Self::with_decoder(inner, EventDecoder::new())
    }

    /// Decodes `inner` with `decoder`, for another size limit or a seeded
    /// last event ID (when resuming after a reconnection).
    pub fn with_decoder(inner: S, decoder: EventDecoder) -> Self {
        EventStream {
            inner,
            decoder,
            chunk: Bytes::new(),
            done: false,
        }
    }

    /// The decoder, for the last event ID and reconnection time seen so far.
    pub fn decoder(&self) -> &EventDecoder {
        &self.decoder
    }

    /// The decoder, mutably.
    pub fn decoder_mut(&mut self) -> &mut EventDecoder {
        &mut self.decoder
    }

    /// Gives back the byte stream and the decoder (to resume with a new
    /// connection: its last event ID and reconnection time are kept).
    pub fn into_parts(self) -> (S, EventDecoder) {
        (self.inner, self.decoder)
    }
}

impl<S, E> Stream for EventStream<S>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    type Item = Result<Event, EventStreamError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            match this.decoder.decode_event(this.chunk) {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Err(err) => return Poll::Ready(Some(Err(err.into()))),
                Ok(None) => {}
            }
            if *this.done {
                return Poll::Ready(None);
            }
            match ready!(this.inner.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => *this.chunk = chunk,
                Some(Err(err)) => return Poll::Ready(Some(Err(EventStreamError::Source(err)))),
                None => {
                    *this.done = true;
                    this.decoder.finish();
                    return Poll::Ready(None);
                }
            }
        }
    }
}
