//! Server-Sent Events replies for [warp](https://docs.rs/warp), encoded by
//! the spec-exact [`sse_codec`].
//!
//! The names mirror `warp::sse` ([`reply`], [`last_event_id`],
//! [`keep_alive`], [`Event`]), so switching is a change of `use`. Unlike
//! `warp::sse::Event`, an [`Event`] here cannot carry an event type or id
//! that injects another field (the reply ends cleanly at such an event),
//! splits data on CR, LF and CRLF, and is encoded once, without `format!`. The reply sets
//! `Cache-Control: no-cache, no-transform` and `X-Accel-Buffering: no`, sends
//! each event as its own chunk, and ends cleanly at the first error of the
//! event stream (map errors to events first, e.g. with an `error` event
//! type, if the client should hear about them). For a graceful shutdown,
//! give each reply [`SseReply::until`] a signal. This crate holds no SSE
//! syntax: that is all in `sse-codec`.
//!
//! # Example
//!
//! ```
//! use futures_util::stream;
//! use sse_warp::{Event, KeepAlive};
//! use warp::Filter;
//!
//! let events = warp::path("events")
//!     .and(sse_warp::last_event_id())
//!     .map(|last: Option<String>| {
//!         let next: u64 = last.and_then(|id| id.parse().ok()).map_or(0, |id: u64| id + 1);
//!         let event = Event::builder().id(next.to_string()).data("hello").build().unwrap();
//!         sse_warp::reply(stream::iter([event])).keep_alive(KeepAlive::new())
//!     });
//! # let _ = events;
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

use std::convert::Infallible;
use std::str::FromStr;

use futures_core::Stream;
use sse_codec::http::RESPONSE_HEADERS;
use sse_codec::stream::{EncodeStream, IntoOutgoing};
use sync_wrapper::SyncStream;
use warp::http::header::HeaderValue;
use warp::reply::Response;
use warp::{Filter, Reply};

mod event;

pub use crate::event::{keep_alive, Event, EventBuilder, KeepAlive, KeepAliveStream};
pub use sse_codec::{EncodedFrame, Frame, InvalidField};

/// An SSE reply: a stream of events sent as `text/event-stream`.
///
/// Made by [`reply`]. The stream's items may be [`Event`]s, [`Frame`]s, or
/// `Result`s of either; the first `Err` ends the reply cleanly.
#[derive(Debug)]
#[must_use]
pub struct SseReply<S> {
    chunks: EncodeStream<S>,
}

/// Replies with the events of `stream` (the counterpart of
/// `warp::sse::reply`).
///
/// # Examples
///
/// ```
/// use futures_util::stream;
/// use sse_warp::Event;
///
/// let reply = sse_warp::reply(stream::iter([Event::new("hello")]));
/// # let _ = reply;
/// ```
pub fn reply<S: IntoEventStream>(stream: S) -> SseReply<S::Stream> {
    let (events, keep_alive) = stream.into_event_stream();
    let reply = SseReply {
        chunks: EncodeStream::new(events),
    };
    match keep_alive {
        Some(keep_alive) => reply.keep_alive(keep_alive),
        None => reply,
    }
}

/// What [`reply`] takes: a stream of events (or frames, or `Result`s of
/// either), or one with its keep-alive from [`KeepAlive::stream`].
pub trait IntoEventStream {
    /// The stream of events.
    type Stream;

    /// The stream, and its keep-alive if it has one.
    fn into_event_stream(self) -> (Self::Stream, Option<KeepAlive>);
}

impl<S: Stream> IntoEventStream for S {
    type Stream = S;

    fn into_event_stream(self) -> (S, Option<KeepAlive>) {
        (self, None)
    }
}

impl<S: Stream> IntoEventStream for KeepAliveStream<S> {
    type Stream = S;

    fn into_event_stream(self) -> (S, Option<KeepAlive>) {
        (self.events, Some(self.keep_alive))
    }
}

impl<S> SseReply<S> {
    /// Sends a keep-alive comment after each [`KeepAlive::interval`] without
    /// an event.
    pub fn keep_alive(self, keep_alive: KeepAlive) -> Self {
        SseReply {
            chunks: self.chunks.keep_alive(keep_alive.0),
        }
    }

    /// Ends the reply cleanly when `signal` completes, so that a graceful
    /// server shutdown is not held up by open event streams.
    pub fn until(self, signal: impl std::future::Future<Output = ()> + Send + 'static) -> Self {
        SseReply {
            chunks: self.chunks.until(signal),
        }
    }

    /// Like [`until`](Self::until), but first sends a `retry` picked at
    /// random between 0 and `window`, so that the clients reconnect spread
    /// over `window` rather than all at once (a drain).
    pub fn until_drained(
        self,
        signal: impl std::future::Future<Output = ()> + Send + 'static,
        window: std::time::Duration,
    ) -> Self {
        SseReply {
            chunks: self.chunks.until_drained(signal, window),
        }
    }
}

impl<S> Reply for SseReply<S>
where
    S: Stream + Send + 'static,
    S::Item: IntoOutgoing,
{
    /// 200 with the event stream, or 204 No Content when the stream ends
    /// before its first item (a hub subscription that resumed after its
    /// channel's end: see [`sse_codec::stream::started`]), which
    /// stops a browser's `EventSource`.
    fn into_response(self) -> Response {
        let Some(chunks) = sse_codec::stream::started(Box::pin(self.chunks.end_on_error())) else {
            return warp::http::StatusCode::NO_CONTENT.into_response();
        };
        let body = SyncStream::new(chunks);
        let mut response = warp::reply::stream(body).into_response();
        for (name, value) in RESPONSE_HEADERS {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        response
    }
}

/// Extracts the `Last-Event-ID` header a reconnecting client sends, parsed
/// as a `T` (the counterpart of `warp::sse::last_event_id::<T>()`; a
/// `String` takes any id).
///
/// `None` when the header is absent, empty, not UTF-8, contains NUL, or does
/// not parse as a `T`: this filter never rejects (warp's rejects a header
/// that does not parse, and the request fails).
///
/// # Examples
///
/// ```
/// use warp::Filter;
///
/// let route = sse_warp::last_event_id::<u64>().map(|last: Option<u64>| format!("{last:?}"));
/// let any = sse_warp::last_event_id().map(|last: Option<String>| format!("{last:?}"));
/// # let _ = (route, any);
/// ```
pub fn last_event_id<T>() -> impl Filter<Extract = (Option<T>,), Error = Infallible> + Copy
where
    T: FromStr + Send + Sync + 'static,
{
    warp::header::value(sse_codec::http::LAST_EVENT_ID)
        .map(Some)
        .or(warp::any().map(|| None))
        .unify()
        .map(|value: Option<HeaderValue>| {
            value
                .as_ref()
                .and_then(|v| sse_codec::http::parse_last_event_id(v.as_bytes()))
                .and_then(|id| id.parse().ok())
        })
}

/// Like [`last_event_id`], but when the header is absent also reads the
/// `lastEventId` query parameter, which `EventSource` polyfills (and pages
/// that open a new `EventSource` to resume) send instead. Never rejects.
///
/// # Examples
///
/// ```
/// use warp::Filter;
///
/// let route = sse_warp::last_event_id_or_query().map(|last: Option<String>| format!("{last:?}"));
/// # let _ = route;
/// ```
pub fn last_event_id_or_query(
) -> impl Filter<Extract = (Option<String>,), Error = Infallible> + Copy {
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    last_event_id::<String>()
        .and(query)
        .map(|header: Option<String>, query: String| {
            header.or_else(|| {
                sse_codec::http::last_event_id_from_query(&query).map(std::borrow::Cow::into_owned)
            })
        })
}

/// The crate's README, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
