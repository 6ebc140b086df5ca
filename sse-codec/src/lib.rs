//! A spec-exact, zero-copy, bounded codec for Server-Sent Events
//! (`text/event-stream`).
//!
//! # Overview
//!
//! - [`EventDecoder`] reads an event stream exactly as a browser's
//!   `EventSource` does, chunk by chunk, in bounded memory. Use it directly
//!   (push bytes, pull events), as a `tokio_util` [`Decoder`] with
//!   `FramedRead`, or through [`EventStream`] over any stream of
//!   `Result<Bytes, E>` such as an HTTP response body.
//! - [`Event`] is the value both directions share; [`EventBuilder`] checks
//!   each field when it is set, so no event can carry an injected field.
//! - [`EventEncoder`] writes events (`tokio_util` [`Encoder`], for
//!   `FramedWrite`); [`Event::encode`] writes into a reused `BytesMut` with
//!   one exact reservation; [`Event::to_buf`] shares a large payload instead
//!   of copying it.
//! - [`Frame`] adds the parts of a stream that are not events: comments
//!   (keep-alives) and `retry` fields.
//!
//! Framework adapters (axum, warp) build on this crate and contain no SSE
//! syntax of their own.
//!
//! # Example: decoding a byte stream
//!
//! ```
//! use futures_util::StreamExt;
//! use sse_codec::EventDecoder;
//! use tokio_util::codec::FramedRead;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! // Any `AsyncRead`: a socket, a child process's stdout, a file.
//! let body: &[u8] = b"\xEF\xBB\xBFevent: greeting\r\ndata: hello\r\ndata: world\r\n\r\n: keep-alive\n";
//! let mut events = FramedRead::new(body, EventDecoder::new());
//! let event = events.next().await.unwrap()?;
//! assert_eq!(event.event_type(), "greeting");
//! assert_eq!(event.data(), "hello\nworld");
//! assert!(events.next().await.is_none());
//! # Ok::<(), sse_codec::DecodeError>(())
//! # }).unwrap();
//! ```
//!
//! # Example: encoding events
//!
//! ```
//! use bytes::BytesMut;
//! use sse_codec::{Event, Frame};
//!
//! let mut buf = BytesMut::new();
//! Event::builder().event_type("progress").id("1").data("10%").build()?.encode(&mut buf);
//! Event::new("two\nlines").encode(&mut buf);
//! Frame::comment("").encode(&mut buf); // keep-alive
//! assert_eq!(
//!     &buf[..],
//!     b"event: progress\nid: 1\ndata: 10%\n\ndata: two\ndata: lines\n\n:\n"
//! );
//!
//! // Fields that would inject other fields are refused.
//! assert!(Event::builder().event_type("x\ndata: evil").build().is_err());
//! # Ok::<(), sse_codec::InvalidField>(())
//! ```
//!
//! # Feature flags
//!
//! Name | Description | Default?
//! ---|---|---
//! `json` | [`EventBuilder::json_data`], serializing with `serde_json` straight into the data buffer | No
//! `stream` | `KeepAlive` and `EncodeStream`: a stream of events as body chunks with keep-alive comments (tokio time) | No
//!
//! # Spec conformance
//!
//! The decoder implements the WHATWG HTML standard, [§9.2.6 *Interpreting an
//! event stream*][spec], and is tested against cases ported from the
//! web-platform-tests `eventsource/format-*` tests, each in four chunkings:
//!
//! - The stream is UTF-8 whatever the `Content-Type` says; invalid bytes
//!   become U+FFFD (per field, which gives the same text as decoding the
//!   whole stream, since the decoder only splits at ASCII bytes).
//! - One leading U+FEFF BOM is stripped, also when split across chunks; a
//!   second BOM, or one later in the stream, is part of a line.
//! - Lines end at CRLF, LF, or a lone CR; a CRLF split across two chunks is
//!   one line end.
//! - A line starting with `:` is a comment. Otherwise the field name is what
//!   precedes the first `:`, and one leading space of the value is removed; a
//!   line without `:` is a field with an empty value. Names are
//!   case-sensitive; unknown names are ignored.
//! - `event` sets the type; `data` appends its value and a LF; `id` sets the
//!   last event ID buffer unless the value contains NUL; `retry` sets the
//!   reconnection time if the value is only ASCII digits (milliseconds).
//! - A blank line commits the last event ID, then dispatches an event if the
//!   data buffer is not empty, with the trailing LF removed, the type
//!   defaulting to `message`, and the last event ID, which persists to later
//!   events.
//! - At the end of the stream, an event without its blank line is discarded.
//!
//! Deliberate choices where the spec says nothing, or where a bound is needed:
//!
//! - **Size limit.** An event past [`EventDecoder::max_event_size`] (default
//!   [`DEFAULT_MAX_EVENT_SIZE`], 1 MiB) is dropped with
//!   [`DecodeError::EventTooLarge`], including an `id` in its block; the
//!   browser has no such limit.
//! - **Huge `retry` values** past `u64::MAX` milliseconds saturate; an empty
//!   `retry` value is ignored (it is no integer).
//! - **Reconnection.** After [`EventDecoder::finish`] (end of a connection),
//!   the last event ID buffer starts from the last event ID string, as
//!   Chromium and Firefox do, so events of the new connection without an `id`
//!   still report it.
//! - **The empty last event ID** is reported as `None` by [`Event::id`] and
//!   [`EventDecoder::last_event_id`]; browsers report `""`.
//!
//! # Zero-copy
//!
//! Decoding borrows: when a data line, event type or id lies within one input
//! chunk, the decoded [`ByteStr`] is a slice of that chunk's [`Bytes`], not a
//! copy; a data field of several lines is joined in one allocation of the
//! exact size. The flip side, as with any `Bytes` slice: an [`Event`] you
//! keep holds its whole chunk alive. Copy the fields out (`String::from`) if
//! you keep a few small events from large chunks for long.
//!
//! Only bytes of a line or event that straddles two chunks are copied, once,
//! into the decoder's own bounded buffer.
//!
//! [spec]: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
//! [`Decoder`]: tokio_util::codec::Decoder
//! [`Encoder`]: tokio_util::codec::Encoder
//! [`Bytes`]: bytes::Bytes

#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

mod decode;
mod encode;
#[cfg(feature = "stream")]
mod encode_stream;
mod error;
mod event;
#[cfg(feature = "stream")]
mod framework_event;
mod parse;
#[allow(unsafe_code)]
mod str;
mod stream;

pub use crate::decode::{EventDecoder, DEFAULT_MAX_EVENT_SIZE};
pub use crate::encode::{EncodedEvent, EncodedFrame, EventEncoder, NotOneFrame, KEEP_ALIVE};
#[cfg(feature = "stream")]
#[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
pub use crate::encode_stream::{
    EncodeStream, EndOnError, IntoOutgoing, KeepAlive, Outgoing, RESPONSE_HEADERS, ZERO_COPY_MIN,
};
pub use crate::error::{DecodeError, EventStreamError, InvalidField};
pub use crate::event::{Event, EventBuilder, Frame};
#[cfg(feature = "stream")]
#[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
pub use crate::framework_event::{FrameworkEvent, FrameworkEventBuilder};
pub use crate::str::ByteStr;
pub use crate::stream::EventStream;

/// The media type of an event stream, for `Content-Type` and `Accept`.
pub const MIME_TYPE: &str = "text/event-stream";

/// The request header in which a reconnecting client sends the last event ID
/// it saw (lowercase, as HTTP/2 requires).
pub const LAST_EVENT_ID: &str = "last-event-id";

/// The name of the query parameter that `EventSource` polyfills send the
/// last event ID in, when they cannot set the header.
pub const LAST_EVENT_ID_QUERY: &str = "lastEventId";

/// Finds the `lastEventId` parameter in a URL query string (without the
/// `?`), as polyfilled clients send it, decoded as a browser's
/// `URLSearchParams` decodes it (`%XX` escapes, `+` for a space).
///
/// The npm `event-source-polyfill` appends
/// `lastEventId=` + `encodeURIComponent(id)` to the URL on each
/// reconnection, so an id with `/`, `:`, a space or a non-ASCII character
/// arrives escaped. When the parameter appears more than once (a page that
/// resumes by URL, then the polyfill's own), the last one is the newest.
/// Like [`parse_last_event_id`], a value that is empty, not UTF-8 once
/// decoded, or contains NUL is no last event ID.
///
/// # Examples
///
/// ```
/// use sse_codec::last_event_id_from_query;
///
/// assert_eq!(last_event_id_from_query("a=1&lastEventId=42").as_deref(), Some("42"));
/// assert_eq!(last_event_id_from_query("lastEventId=a%2Fb%20c").as_deref(), Some("a/b c"));
/// assert_eq!(last_event_id_from_query("lastEventId=caf%C3%A9").as_deref(), Some("caf\u{e9}"));
/// assert_eq!(last_event_id_from_query("lastEventId=1&lastEventId=2").as_deref(), Some("2"));
/// assert_eq!(last_event_id_from_query("lastEventId="), None);
/// assert_eq!(last_event_id_from_query("lastEventId=%00"), None);
/// assert_eq!(last_event_id_from_query("lasteventid=1"), None);
/// ```
pub fn last_event_id_from_query(query: &str) -> Option<std::borrow::Cow<'_, str>> {
    let (_, value) = query
        .rsplit('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == LAST_EVENT_ID_QUERY)?;
    if !value.contains(['%', '+']) {
        return parse_last_event_id(value.as_bytes()).map(std::borrow::Cow::Borrowed);
    }
    let decoded = percent_decode(value.as_bytes());
    parse_last_event_id(&decoded).map(|id| std::borrow::Cow::Owned(id.to_owned()))
}

/// The bytes of an `application/x-www-form-urlencoded` value: `+` is a
/// space, `%` and two hex digits a byte, anything else itself (a `%` not
/// followed by two hex digits stays, as the WHATWG URL standard says).
fn percent_decode(value: &[u8]) -> Vec<u8> {
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let byte = match value[i] {
            b'+' => b' ',
            b'%' => match (
                value.get(i + 1).copied().and_then(hex),
                value.get(i + 2).copied().and_then(hex),
            ) {
                (Some(high), Some(low)) => {
                    i += 2;
                    high * 16 + low
                }
                _ => b'%',
            },
            other => other,
        };
        out.push(byte);
        i += 1;
    }
    out
}

/// Reads the value of a `Last-Event-ID` request header.
///
/// A browser sends the last event ID string UTF-8 encoded, and only when it
/// is not empty; an id can never contain NUL (the decoder ignores such `id`
/// fields). So a value that is empty, not UTF-8, or contains NUL is no last
/// event ID: `None`, never an error.
///
/// # Examples
///
/// ```
/// use sse_codec::parse_last_event_id;
///
/// assert_eq!(parse_last_event_id(b"42"), Some("42"));
/// assert_eq!(parse_last_event_id("caf\u{e9}".as_bytes()), Some("caf\u{e9}"));
/// assert_eq!(parse_last_event_id(b""), None);
/// assert_eq!(parse_last_event_id(b"\xFF"), None);
/// assert_eq!(parse_last_event_id(b"4\x002"), None);
/// ```
pub fn parse_last_event_id(value: &[u8]) -> Option<&str> {
    if value.is_empty() || memchr::memchr(0, value).is_some() {
        return None;
    }
    std::str::from_utf8(value).ok()
}
