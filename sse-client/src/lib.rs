//! A reconnecting Server-Sent Events client on [reqwest]: a [`Stream`] of
//! events that behaves like a browser's `EventSource`, plus what the browser
//! cannot do.
//!
//! Like `EventSource` (the [HTML standard]'s processing model):
//!
//! - the body is decoded by [`sse_codec`], exactly as a browser decodes it;
//! - when the server ends the response, it waits the reconnection time
//!   (3 s, or what the last `retry` field said, but never less than
//!   [`DEFAULT_MIN_RECONNECT_DELAY`], so no server can turn its clients into
//!   a load generator) and reconnects, sending `Last-Event-ID`;
//! - HTTP 204 No Content ends the stream for good (the server's way of
//!   saying "stop");
//! - a status other than 200 or a `Content-Type` other than
//!   `text/event-stream` fails the connection: a typed [`Error`], and the
//!   stream ends rather than retrying forever.
//!
//! Like a browser, it asks for and decodes compressed streams (gzip, brotli,
//! deflate, zstd: reqwest's decoders), event by event as they arrive.
//!
//! Beyond it: custom headers (a bearer token), made afresh for each attempt
//! if needed ([`EventSourceBuilder::headers_with`]), any method and body
//! (POST, as LLM APIs use), your own [`reqwest::Client`], a limit on
//! reconnections, idle and connect timeouts, and exponential backoff with
//! jitter, capped, while the network is down.
//!
//! Unlike `EventSource`, which only sends GET and sends it again whenever
//! the stream ends, a request with another method is sent again only until
//! its first event arrives: a POST to a model's chat-completions API would
//! otherwise submit the prompt twice, be billed twice, and start its answer
//! over. After an event, a stream the server ends is the end (no error),
//! and one that breaks ends with [`Error::NotResent`]. GET keeps the
//! browser's behaviour; [`EventSourceBuilder::resend_after_events`] opts a
//! POST in (a server that resumes it with `Last-Event-ID`).
//!
//! # Example
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use sse_client::{EventSource, Frame, Message};
//!
//! # async fn run() -> Result<(), sse_client::Error> {
//! let mut events = EventSource::builder("https://api.example.com/v1/chat")
//!     .method(reqwest::Method::POST)
//!     .header("authorization", "Bearer sk-...")
//!     .body(r#"{"stream": true}"#)
//!     .build()?;
//! while let Some(message) = events.next().await {
//!     match message {
//!         Ok(Message::Frame(Frame::Event(event))) => println!("{}: {}", event.event_type(), event.data()),
//!         Ok(_) => {}                          // opened, retry, comment
//!         Err(err) if err.is_fatal() => return Err(err),
//!         Err(err) => eprintln!("{err}; reconnecting"),
//!     }
//! }
//! # Ok(())
//! # }
//! # let _ = run;
//! ```
//!
//! [HTML standard]: https://html.spec.whatwg.org/multipage/server-sent-events.html

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod builder;
mod connection;
mod error;
mod request;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use reqwest::header::HeaderMap;

pub use crate::builder::EventSourceBuilder;
pub use crate::error::{Error, Rejected, RequestError, REJECTED_BODY_MAX};
pub use reqwest;
pub use sse_codec::{Event, Frame};

/// The reconnection time before any `retry` field: 3 seconds, as browsers
/// use.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(3);

/// The longest wait between reconnection attempts while they keep failing.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The shortest wait between two connection attempts, whatever the server
/// says: 500 ms, the floor Firefox applies to a `retry` field
/// (`MIN_RECONNECTION_TIME_VALUE` in its `EventSource.cpp`). Chromium takes
/// any `retry`, even 0, so a server that sends `retry: 0` and closes each
/// stream makes every Chromium tab reconnect at once, again and again; this
/// client reconnects at most twice a second. See
/// [`EventSourceBuilder::min_reconnect_delay`].
pub const DEFAULT_MIN_RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// What the stream yields: that a connection opened, or a [`Frame`] of the
/// stream as sse-codec decodes it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A connection was opened: status 200 and `text/event-stream` (the
    /// `open` event of `EventSource`), with the response's headers (rate
    /// limits, a request id). Yielded again after each reconnect.
    Open(HeaderMap),
    /// An event as `EventSource` dispatches it ([`Event::id`] is its
    /// `lastEventId`), a comment (often a keep-alive), or a valid `retry`
    /// field (the new reconnection time).
    Frame(Frame),
}

impl Message {
    /// The event, if this is one.
    pub fn event(&self) -> Option<&Event> {
        match self {
            Message::Frame(Frame::Event(event)) => Some(event),
            _ => None,
        }
    }

    /// The event, if this is one.
    pub fn into_event(self) -> Option<Event> {
        match self {
            Message::Frame(Frame::Event(event)) => Some(event),
            _ => None,
        }
    }
}

/// A reconnecting event stream: a [`Stream`] of [`Message`]s, or of errors.
///
/// It ends after HTTP 204, after a fatal error ([`Error::is_fatal`]), or
/// never. Dropping it closes the connection.
#[must_use = "streams do nothing unless polled"]
pub struct EventSource {
    inner: Pin<Box<dyn Stream<Item = Result<Message, Error>> + Send>>,
}

impl std::fmt::Debug for EventSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSource").finish_non_exhaustive()
    }
}

impl EventSource {
    /// An event source for `GET url`; see [`builder`](Self::builder) for
    /// more.
    ///
    /// # Errors
    ///
    /// [`Error::Request`] for an invalid URL.
    pub fn new(url: impl Into<String>) -> Result<Self, Error> {
        Self::builder(url).build()
    }

    /// Configures an event source for `url`.
    pub fn builder(url: impl Into<String>) -> EventSourceBuilder {
        EventSourceBuilder::new(url.into())
    }
}

impl Stream for EventSource {
    type Item = Result<Message, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// The crate's README, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
