//! Server-Sent Events responses for [axum](https://docs.rs/axum), encoded by
//! the spec-exact [`sse_codec`].
//!
//! The names mirror `axum::response::sse` ([`Sse`], [`KeepAlive`], [`Event`]),
//! so switching is a change of `use`. What changes:
//!
//! - [`Event`] is built as axum's is (`Event::default().event(..).data(..)`),
//!   but no setter panics: an id or event type that would inject a field
//!   makes the event invalid ([`Event::error`]) and the response ends cleanly
//!   at it, never a corrupted stream; data with CR, LF or CRLF becomes
//!   several `data:` lines; an event with empty data is still sent (a
//!   browser dispatches it);
//! - responses carry `Cache-Control: no-cache, no-transform` and
//!   `X-Accel-Buffering: no`, so proxies and nginx pass events through at
//!   once;
//! - an error from the event stream ends the response cleanly (the client sees
//!   the end of the body and reconnects) instead of aborting the connection;
//! - [`LastEventId`] extracts the `Last-Event-ID` header a reconnecting client
//!   sends, and never rejects a request.
//!
//! This crate holds no SSE syntax: encoding, keep-alive and the header rule
//! live in `sse-codec`.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use axum::{routing::get, Router};
//! use futures_util::stream::{self, Stream};
//! use sse_axum::{Event, KeepAlive, LastEventId, Sse};
//!
//! async fn events(LastEventId(last): LastEventId) -> Sse<impl Stream<Item = Event>> {
//!     let start: u64 = last.and_then(|id| id.parse().ok()).map_or(0, |id: u64| id + 1);
//!     let events = stream::iter(start..start + 3).map(|n| {
//!         Event::builder().id(n.to_string()).data(format!("tick {n}")).build().unwrap()
//!     });
//!     Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
//! }
//!
//! let _app: Router = Router::new().route("/events", get(events));
//! # use futures_util::StreamExt;
//! ```
//!
//! # Errors in the event stream
//!
//! A stream of `Result<Event, E>` ends the response at the first `Err`. To
//! tell the client what went wrong, turn the error into an event first:
//!
//! ```
//! use futures_util::{Stream, StreamExt};
//! use sse_axum::Event;
//!
//! fn with_error_events(
//!     events: impl Stream<Item = Result<Event, std::io::Error>>,
//! ) -> impl Stream<Item = Event> {
//!     events.map(|item| {
//!         item.unwrap_or_else(|err| {
//!             Event::builder().event_type("error").data(err.to_string()).build().unwrap()
//!         })
//!     })
//! }
//! # let _ = with_error_events(futures_util::stream::empty());
//! ```
//!
//! # Serving in production
//!
//! `axum::serve` sets no header read timeout and no cap on connections. The
//! `sse-serve` crate has `sse_serve::serve`: hyper's server with both, and a
//! graceful shutdown that waits for the streams you end (with
//! [`Sse::until`]) for a grace period.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

use std::convert::Infallible;

use axum_core::body::Body;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use futures_core::Stream;
use http::header::HeaderValue;
use http::request::Parts;
use sse_codec::http::RESPONSE_HEADERS;
use sse_codec::stream::{started, EncodeStream, IntoOutgoing};

mod event;
#[cfg(feature = "mercure")]
#[cfg_attr(docsrs, doc(cfg(feature = "mercure")))]
pub mod mercure;

pub use crate::event::{Event, EventBuilder, EventDataWriter, KeepAlive};
pub use sse_codec::{EncodedFrame, Frame, InvalidField};

/// An SSE response: a stream of events sent as `text/event-stream`.
///
/// The stream's items may be [`Event`]s, [`Frame`]s (to send comments or a
/// bare `retry`), or `Result`s of either; the first `Err` ends the response
/// cleanly. Each event is sent as its own body chunk as soon as the stream
/// yields it.
///
/// # Examples
///
/// ```
/// use futures_util::stream;
/// use sse_axum::{Event, Sse};
///
/// let response = Sse::new(stream::iter([Event::new("hello")]));
/// # let _ = response;
/// ```
#[derive(Debug)]
#[must_use]
pub struct Sse<S> {
    chunks: EncodeStream<S>,
}

impl<S> Sse<S> {
    /// A response that sends the events of `stream`, without keep-alive.
    pub fn new(stream: S) -> Self {
        Sse {
            chunks: EncodeStream::new(stream),
        }
    }

    /// Sends a keep-alive comment after each [`KeepAlive::interval`] without
    /// an event.
    pub fn keep_alive(self, keep_alive: KeepAlive) -> Self {
        Sse {
            chunks: self.chunks.keep_alive(keep_alive.0),
        }
    }

    /// Ends the response cleanly when `signal` completes.
    ///
    /// Event streams never end on their own, so without this a graceful
    /// shutdown (`axum::serve(..).with_graceful_shutdown(..)`) waits forever
    /// for open SSE responses. Give every response a future that completes
    /// when the server shuts down, for example from one
    /// `tokio_util::sync::CancellationToken`:
    ///
    /// ```
    /// use futures_util::stream;
    /// use sse_axum::{Event, Sse};
    /// use tokio_util::sync::CancellationToken;
    ///
    /// let shutdown = CancellationToken::new();
    /// let response = Sse::new(stream::pending::<Event>())
    ///     .until(shutdown.clone().cancelled_owned());
    /// // ... and pass `shutdown.cancelled_owned()` to `with_graceful_shutdown`,
    /// // then `shutdown.cancel()` to stop.
    /// # let _ = response;
    /// ```
    ///
    /// The client sees the body end, as after any clean close, and an
    /// `EventSource` reconnects (to the next server instance) with its
    /// `Last-Event-ID`.
    pub fn until(self, signal: impl std::future::Future<Output = ()> + Send + 'static) -> Self {
        Sse {
            chunks: self.chunks.until(signal),
        }
    }

    /// Like [`until`](Self::until), but first sends a `retry` picked at
    /// random between 0 and `window`, so that the clients of a server that
    /// shuts down reconnect spread over `window` rather than all at once
    /// (a drain).
    pub fn until_drained(
        self,
        signal: impl std::future::Future<Output = ()> + Send + 'static,
        window: std::time::Duration,
    ) -> Self {
        Sse {
            chunks: self.chunks.until_drained(signal, window),
        }
    }
}

impl<S> IntoResponse for Sse<S>
where
    S: Stream + Send + 'static,
    S::Item: IntoOutgoing,
{
    /// 200 with the event stream, or 204 No Content when the stream ends
    /// before its first item (a hub subscription that resumed after its
    /// channel's end: see [`sse_codec::stream::started`]), which
    /// stops a browser's `EventSource`.
    fn into_response(self) -> Response {
        let Some(chunks) = started(Box::pin(self.chunks.end_on_error())) else {
            return http::StatusCode::NO_CONTENT.into_response();
        };
        let mut response = Response::new(Body::from_stream(chunks));
        for (name, value) in RESPONSE_HEADERS {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        response
    }
}

/// The `Last-Event-ID` header of a request: the id of the last event a
/// reconnecting client received, to resume after it.
///
/// `None` when the header is absent, empty, not UTF-8 or contains NUL: a bad
/// header is no last event ID, never a rejection or a panic.
///
/// # Examples
///
/// ```
/// use sse_axum::LastEventId;
///
/// async fn handler(LastEventId(last): LastEventId) -> String {
///     format!("resume after {last:?}")
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::get(handler);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LastEventId(pub Option<String>);

impl<St: Send + Sync> FromRequestParts<St> for LastEventId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Infallible> {
        let id = parts
            .headers
            .get(sse_codec::http::LAST_EVENT_ID)
            .and_then(|value| sse_codec::http::parse_last_event_id(value.as_bytes()));
        Ok(LastEventId(id.map(str::to_owned)))
    }
}

/// Like [`LastEventId`], but when the header is absent also reads the
/// `lastEventId` query parameter, which `EventSource` polyfills (and pages
/// that open a new `EventSource` to resume) send instead.
///
/// # Examples
///
/// ```
/// use sse_axum::LastEventIdOrQuery;
///
/// async fn handler(LastEventIdOrQuery(last): LastEventIdOrQuery) -> String {
///     format!("resume after {last:?}")
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::get(handler);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LastEventIdOrQuery(pub Option<String>);

impl<St: Send + Sync> FromRequestParts<St> for LastEventIdOrQuery {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Infallible> {
        let Ok(LastEventId(header)) = LastEventId::from_request_parts(parts, state).await;
        let query = parts.uri.query().unwrap_or_default();
        Ok(LastEventIdOrQuery(header.or_else(|| {
            sse_codec::http::last_event_id_from_query(query).map(std::borrow::Cow::into_owned)
        })))
    }
}

/// The crate's README, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
