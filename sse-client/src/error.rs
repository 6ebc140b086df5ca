//! [`Error`]: why a connection failed or could not be made.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::StatusCode;
use sse_codec::DecodeError;

#[cfg(doc)]
use crate::EventSourceBuilder;

/// Why a connection failed or could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be built (an invalid URL or header).
    #[error("invalid request: {0}")]
    Request(#[source] RequestError),
    /// The server answered with a status other than 200 (or 204, which ends
    /// the stream without an error). Fatal, as in `EventSource`. The
    /// response is kept: an API's JSON error is in its body.
    #[error("unexpected HTTP status {}", .0.status)]
    Status(Box<Rejected>),
    /// The server answered 200 with another `Content-Type` than
    /// `text/event-stream`. Fatal. The response is kept.
    #[error("unexpected content type {}, expected text/event-stream", .0.content_type().unwrap_or("(none)"))]
    ContentType(Box<Rejected>),
    /// The connection failed or broke: the client reconnects.
    #[error("connection failed: {0}")]
    Transport(#[source] reqwest::Error),
    /// Nothing arrived for [`EventSourceBuilder::idle_timeout`]: the client
    /// drops the connection and reconnects.
    #[error("no data for {0:?}")]
    Idle(Duration),
    /// An event was larger than the decoder's limit and was skipped; the
    /// stream goes on.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// [`EventSourceBuilder::max_reconnects`] was reached. Fatal.
    #[error("gave up after {0} reconnections")]
    ReconnectLimit(u32),
    /// The connection broke ([`Error::Transport`]) or went idle
    /// ([`Error::Idle`]) after an event had arrived, and the request is not
    /// sent again ([`EventSourceBuilder::resend_after_events`]: the default
    /// for a method other than `GET`). Fatal: what arrived is all there is.
    #[error("the stream broke after its first event, and the request is not sent again: {0}")]
    NotResent(#[source] Box<Error>),
}

/// A response the client did not take as an event stream: its status, its
/// headers, and the start of its body (at most [`REJECTED_BODY_MAX`]
/// bytes, read for at most the idle timeout or 5 s).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejected {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The first bytes of the body.
    pub body: Bytes,
}

impl Rejected {
    /// The `Content-Type` header, if it is text.
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(CONTENT_TYPE)?.to_str().ok()
    }
}

/// How much of a rejected response's body is kept: 64 KiB.
pub const REJECTED_BODY_MAX: usize = 64 * 1024;

impl Error {
    /// The response the client rejected, for [`Error::Status`] and
    /// [`Error::ContentType`].
    pub fn rejected(&self) -> Option<&Rejected> {
        match self {
            Error::Status(rejected) | Error::ContentType(rejected) => Some(rejected),
            _ => None,
        }
    }

    /// Whether the stream ends after this error. The others are reported
    /// and the stream carries on (reconnecting, for [`Error::Transport`]).
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            Error::Transport(_) | Error::Idle(_) | Error::Decode(_)
        )
    }
}

/// Why an [`EventSource`](crate::EventSource) could not be built: which
/// part of the request is invalid, with the parser's error as the source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The URL does not parse.
    #[error("invalid URL {url:?}")]
    Url {
        /// The URL given.
        url: String,
        /// Why it does not parse.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A header name is not a valid HTTP header name.
    #[error("invalid header name {name:?}")]
    HeaderName {
        /// The name given.
        name: String,
        /// Why it is invalid.
        #[source]
        source: reqwest::header::InvalidHeaderName,
    },
    /// A header value is not a valid HTTP header value (a line break, say).
    #[error("invalid value for header {name}")]
    HeaderValue {
        /// The header's name.
        name: String,
        /// Why the value is invalid.
        #[source]
        source: reqwest::header::InvalidHeaderValue,
    },
    /// The last event ID cannot be sent: not a valid header value, or NUL
    /// in it (no browser would send it).
    #[error("invalid last event ID {0:?}")]
    LastEventId(String),
    /// The HTTP client could not be made (its TLS backend failed to start).
    #[error("cannot make the HTTP client")]
    Client(#[source] reqwest::Error),
}
