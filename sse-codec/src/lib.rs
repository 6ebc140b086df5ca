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
//!
//! The crate root is the codec. Three modules serve other audiences, so
//! that their names stay out of a decoder's way:
//!
//! - [`http`]: what an event stream means in HTTP (media type, the headers
//!   of each side, `Last-Event-ID` from a header or a polyfill's query).
//! - `stream` (feature `stream`): a stream of events as HTTP body chunks,
//!   with keep-alive and shutdown, for servers.
//! - `adapter` (feature `stream`): the plumbing that framework adapters
//!   (`sse-axum`, `sse-warp`) share. They contain no SSE syntax of their
//!   own.
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
//! `stream` | The `stream` module (`KeepAlive`, `EncodeStream`: a stream of events as body chunks with keep-alive comments, on tokio's time) and the `adapter` module | No
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

#[cfg(feature = "stream")]
#[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
pub mod adapter;
mod decode;
mod decode_stream;
mod encode;
mod encoded;
mod error;
mod event;
mod event_ref;
pub mod http;
mod parse;
#[allow(unsafe_code)]
mod str;
#[cfg(feature = "stream")]
#[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
pub mod stream;

pub use crate::decode::{EventDecoder, DEFAULT_MAX_EVENT_SIZE};
pub use crate::decode_stream::EventStream;
pub use crate::encode::{EventEncoder, KEEP_ALIVE};
pub use crate::encoded::{EncodedEvent, EncodedFrame, NotOneFrame};
pub use crate::error::{DecodeError, EventStreamError, InvalidField};
pub use crate::event::{Event, EventBuilder, Frame};
pub use crate::event_ref::{EventRef, FrameRef};
pub use crate::str::ByteStr;

/// The crate's README, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
