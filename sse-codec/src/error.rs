//! Error types: [`DecodeError`] for reading, [`InvalidField`] for building
//! events, [`EventStreamError`] for the `Stream` adapter.

use std::io;

/// An error from [`EventDecoder`](crate::EventDecoder).
///
/// Malformed SSE is *not* an error: the spec gives every byte sequence a
/// meaning (unknown fields and bad `retry` values are ignored, invalid UTF-8
/// becomes U+FFFD), and the decoder follows it. What remains is a resource
/// limit, and I/O errors from the reader a `FramedRead` wraps.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// An event grew past the decoder's maximum event size.
    ///
    /// The decoder reports this once per oversized event, drops that event
    /// (its data, type and id) and skips input up to the next blank line; the
    /// next call resumes decoding the events that follow.
    #[error("event exceeded the maximum size of {max} bytes")]
    EventTooLarge {
        /// The limit in force, in bytes.
        max: usize,
    },
    /// Reading the underlying byte stream failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// An event field that cannot be written without changing the meaning of the
/// stream, returned by [`EventBuilder::build`](crate::EventBuilder::build).
///
/// An event type or id containing CR or LF would end its line early and let
/// the rest of the value be read as another field (field injection); an id
/// containing NUL is ignored by every `EventSource`. Such values are refused
/// when the event is built, so an [`Event`](crate::Event) that exists can
/// always be encoded faithfully.
///
/// # Examples
///
/// ```
/// use sse_codec::Event;
///
/// let err = Event::builder().id("1\ndata: injected").build().unwrap_err();
/// assert_eq!(err.to_string(), "id contains a line break");
/// ```
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct InvalidField {
    kind: InvalidFieldKind,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum InvalidFieldKind {
    #[error("event type contains a line break")]
    EventTypeLineBreak,
    #[error("id contains a line break")]
    IdLineBreak,
    #[error("id contains a NUL character")]
    IdNul,
    #[cfg(feature = "json")]
    #[error("data could not be serialized as JSON")]
    Json(#[source] serde_json::Error),
}

impl From<InvalidFieldKind> for InvalidField {
    fn from(kind: InvalidFieldKind) -> Self {
        InvalidField { kind }
    }
}

/// An error from [`EventStream`](crate::EventStream): either the byte stream
/// it reads failed, or decoding did.
///
/// The source error is kept as it is, so a caller can match on it (for
/// example to tell a `reqwest` timeout from a reset connection).
#[derive(Debug, thiserror::Error)]
pub enum EventStreamError<E> {
    /// The decoder refused an event; see [`DecodeError`]. The stream goes on
    /// with the events that follow.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The underlying byte stream yielded an error.
    #[error("reading the event stream failed")]
    Source(#[source] E),
}
