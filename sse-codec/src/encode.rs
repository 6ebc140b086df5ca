//! Writing events: [`EventEncoder`], and the encoding methods of [`Event`]
//! and [`Frame`].
//!
//! The wire format written for an event, field by field:
//!
//! ```text
//! event: <type>\n        only if the type is not the default ("message")
//! id: <id>\n             only if set
//! retry: <ms>\n          only if set
//! data: <line 1>\n       one line per line of data, always with the space,
//! data: <line 2>\n       so data starting with a space survives
//! \n                     the blank line that dispatches the event
//! ```
//!
//! Every field value was checked when the [`Event`] was built, so encoding
//! cannot fail and cannot produce a field that was not given. The exact
//! length is known up front ([`Event::encoded_len`]), so encoding into a
//! `BytesMut` reserves once and copies each byte once.

use std::io;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio_util::codec::Encoder;

use crate::encoded::EncodedEvent;
use crate::error::{InvalidField, InvalidFieldKind};
use crate::event::{Event, Frame};
use crate::event_ref::EventRef;
use crate::parse;

const EVENT_PREFIX: &[u8] = b"event: ";
const ID_PREFIX: &[u8] = b"id: ";
const RETRY_PREFIX: &[u8] = b"retry: ";
const DATA_PREFIX: &[u8] = b"data: ";
const COMMENT_PREFIX: &[u8] = b":";
const EOL: &[u8] = b"\n";

/// The text of the default keep-alive comment, an empty comment line (`:\n`):
/// the shortest bytes that keep a connection and its proxies busy without
/// dispatching anything.
pub const KEEP_ALIVE: &[u8] = b":\n";

// ===== impl Event =====

impl Event {
    /// The exact number of bytes [`encode`](Self::encode) writes. `O(1)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = sse_codec::Event::new("hi");
    /// assert_eq!(event.encoded_len(), event.to_bytes().len());
    /// ```
    pub fn encoded_len(&self) -> usize {
        self.parts().len()
    }

    /// Appends the event's wire bytes to `dst`, reserving the exact length
    /// first. Writing into a reused buffer allocates nothing once the buffer
    /// has grown to fit.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use sse_codec::Event;
    ///
    /// let mut buf = BytesMut::new();
    /// Event::new("a\nb").encode(&mut buf);
    /// assert_eq!(&buf[..], b"data: a\ndata: b\n\n");
    /// ```
    pub fn encode(&self, dst: &mut BytesMut) {
        self.parts().put(dst);
    }

    /// The event's wire bytes, in one allocation of the exact size.
    pub fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut buf);
        buf.freeze()
    }

    /// The event's wire bytes as a [`Buf`](bytes::Buf) that shares the data instead of
    /// copying it, when the data is a single line: a small head (`event`,
    /// `id`, `retry` and `data: `), the data itself, and `\n\n`.
    ///
    /// Use it for large payloads (a 1 MiB JSON document costs no 1 MiB copy)
    /// with writers that take a `Buf` or a sequence of [`Bytes`] (the parts
    /// are yielded by [`EncodedEvent::into_parts`]). Data with several lines
    /// must be interleaved with `data: ` prefixes, so it is copied into one
    /// buffer as [`to_bytes`](Self::to_bytes) does.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Buf;
    /// use sse_codec::Event;
    ///
    /// let payload = "x".repeat(1 << 20);
    /// let event = Event::new(payload);
    /// let encoded = event.to_buf();
    /// assert_eq!(encoded.remaining(), event.encoded_len());
    /// let parts: Vec<_> = encoded.into_parts().collect();
    /// assert_eq!(parts.len(), 3);
    /// assert_eq!(parts[1].as_ptr(), event.data().as_ptr()); // shared, not copied
    /// ```
    pub fn to_buf(&self) -> EncodedEvent {
        if self.data_lines != 1 {
            return EncodedEvent::new(self.to_bytes(), Bytes::new(), b"");
        }
        let mut head = BytesMut::with_capacity(self.head_len() + DATA_PREFIX.len());
        self.put_head(&mut head);
        head.put_slice(DATA_PREFIX);
        EncodedEvent::new(head.freeze(), self.data.clone().into_bytes(), b"\n\n")
    }

    /// The event as the parts its wire form is written from.
    #[inline]
    fn parts(&self) -> Parts<'_> {
        Parts {
            event_type: self.event_type.as_deref().map(str::as_bytes),
            id: self.id.as_deref().map(str::as_bytes),
            retry: self.retry,
            data: self.data.as_bytes(),
            // Stored data has LF line breaks only, one byte each.
            lines: self.data_lines,
            break_bytes: self.data_lines - 1,
        }
    }

    /// Length of the `event`, `id` and `retry` lines.
    fn head_len(&self) -> usize {
        self.parts().head_len()
    }

    fn put_head(&self, dst: &mut BytesMut) {
        self.parts().put_head(dst);
    }
}

// ===== impl EventRef =====

impl EventRef<'_> {
    /// Appends the event's wire bytes to `dst`, straight from the borrowed
    /// fields: the type and id are checked as
    /// [`EventBuilder`](crate::EventBuilder) checks them, the data is split
    /// at its line breaks (CR, LF, CRLF) in the same pass that counts them,
    /// and the exact length is reserved once. Nothing is allocated once `dst`
    /// has room. The bytes are those of the [`Event`] built from the same
    /// fields.
    ///
    /// # Errors
    ///
    /// [`InvalidField`] if the type has a line break or the id a line break
    /// or NUL; `dst` is then left as it was.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use sse_codec::EventRef;
    ///
    /// let mut buf = BytesMut::with_capacity(4096);
    /// for token in ["Hel", "lo"] {
    ///     EventRef::new(token).encode(&mut buf)?;
    /// }
    /// assert_eq!(&buf[..], b"data: Hel\n\ndata: lo\n\n");
    /// assert!(EventRef::new("x").with_id("1\nid: 2").encode(&mut buf).is_err());
    /// # Ok::<(), sse_codec::InvalidField>(())
    /// ```
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), InvalidField> {
        let event_type = self.event_type.map(str::as_bytes);
        if event_type.is_some_and(|t| parse::has_line_break(t, false)) {
            return Err(InvalidFieldKind::EventTypeLineBreak.into());
        }
        let id = self.id.map(str::as_bytes);
        if let Some(id) = id.filter(|id| parse::has_line_break(id, true)) {
            return Err(parse::id_error(id).into());
        }
        let data = self.data.as_bytes();
        let (lines, break_bytes) = match parse::has_line_break(data, false) {
            false => (1, 0),
            true => count_breaks(data),
        };
        Parts {
            event_type,
            id,
            retry: self.retry,
            data,
            lines,
            break_bytes,
        }
        .put(dst);
        Ok(())
    }
}

/// The lines of `data` and the bytes its line breaks take (CRLF is one
/// break of two bytes), split as the decoder splits them.
#[cold]
fn count_breaks(data: &[u8]) -> (usize, usize) {
    let (lines, text) = parse::lines(data).fold((0, 0), |(n, len), line| (n + 1, len + line.len()));
    (lines, data.len() - text)
}

/// An event's fields as its wire form is written from them, checked.
struct Parts<'a> {
    event_type: Option<&'a [u8]>,
    id: Option<&'a [u8]>,
    retry: Option<Duration>,
    data: &'a [u8],
    /// Lines of the data: one more than its line breaks.
    lines: usize,
    /// Bytes of the data's line breaks, which are not written as they are.
    break_bytes: usize,
}

impl Parts<'_> {
    /// The exact length of the wire form.
    #[inline]
    fn len(&self) -> usize {
        self.head_len()
            + self.lines * (DATA_PREFIX.len() + EOL.len())
            + (self.data.len() - self.break_bytes)
            + EOL.len()
    }

    #[inline]
    fn head_len(&self) -> usize {
        let field = |prefix: &[u8], value: Option<&[u8]>| {
            value.map_or(0, |v| prefix.len() + v.len() + EOL.len())
        };
        field(EVENT_PREFIX, self.event_type)
            + field(ID_PREFIX, self.id)
            + self.retry.map_or(0, retry_len)
    }

    #[inline]
    fn put_head(&self, dst: &mut BytesMut) {
        if let Some(event_type) = self.event_type {
            put_field(dst, EVENT_PREFIX, event_type);
        }
        if let Some(id) = self.id {
            put_field(dst, ID_PREFIX, id);
        }
        if let Some(retry) = self.retry {
            put_retry(dst, retry);
        }
    }

    /// Writes the wire form, reserving its exact length first.
    #[inline]
    fn put(&self, dst: &mut BytesMut) {
        dst.reserve(self.len());
        self.put_head(dst);
        if self.lines == 1 {
            put_field(dst, DATA_PREFIX, self.data);
        } else {
            self.put_lines(dst);
        }
        dst.put_slice(EOL);
    }

    /// The data as one `data:` line per line, split at CR, LF and CRLF.
    fn put_lines(&self, dst: &mut BytesMut) {
        for line in parse::lines(self.data) {
            put_field(dst, DATA_PREFIX, line);
        }
    }
}

#[inline]
fn put_field(dst: &mut BytesMut, prefix: &[u8], value: &[u8]) {
    dst.put_slice(prefix);
    dst.put_slice(value);
    dst.put_slice(EOL);
}

/// Writes a `retry` line, in whole milliseconds.
fn put_retry(dst: &mut BytesMut, retry: Duration) {
    let mut digits = itoa::Buffer::new();
    put_field(
        dst,
        RETRY_PREFIX,
        digits.format(retry.as_millis()).as_bytes(),
    );
}

/// Length of the `retry` line [`put_retry`] writes.
fn retry_len(retry: Duration) -> usize {
    RETRY_PREFIX.len() + itoa::Buffer::new().format(retry.as_millis()).len() + EOL.len()
}

// ===== impl Frame =====

impl Frame {
    /// The exact number of bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        match self {
            Frame::Event(event) => event.encoded_len(),
            Frame::Comment(text) => parse::lines(text.as_bytes())
                .map(|line| COMMENT_PREFIX.len() + line.len() + EOL.len())
                .sum(),
            // The retry line, then a blank line ending its block.
            Frame::Retry(retry) => retry_len(*retry) + EOL.len(),
        }
    }

    /// Appends the frame's wire bytes to `dst`, reserving the exact length
    /// first.
    ///
    /// A comment is written as one `:` line per line of its text; a retry is
    /// written as a block of its own (`retry: <ms>\n\n`), so it does not
    /// become part of the next event.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use bytes::BytesMut;
    /// use sse_codec::Frame;
    ///
    /// let mut buf = BytesMut::new();
    /// Frame::comment("two\nlines").encode(&mut buf);
    /// Frame::Retry(Duration::from_secs(3)).encode(&mut buf);
    /// assert_eq!(&buf[..], b":two\n:lines\nretry: 3000\n\n");
    /// ```
    pub fn encode(&self, dst: &mut BytesMut) {
        match self {
            Frame::Event(event) => event.encode(dst),
            Frame::Comment(text) => {
                dst.reserve(self.encoded_len());
                for line in parse::lines(text.as_bytes()) {
                    put_field(dst, COMMENT_PREFIX, line);
                }
            }
            Frame::Retry(retry) => {
                dst.reserve(self.encoded_len());
                put_retry(dst, *retry);
                dst.put_slice(EOL);
            }
        }
    }

    /// The frame's wire bytes, in one allocation of the exact size.
    pub fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut buf);
        buf.freeze()
    }
}

// ===== EventEncoder =====

/// A [`tokio_util::codec::Encoder`] for [`Event`]s and [`Frame`]s, for use
/// with `FramedWrite`.
///
/// Encoding cannot fail once an `Event` exists (its fields were checked when
/// it was built); the `io::Error` in the signature is what `FramedWrite`
/// requires.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use sse_codec::{Event, EventEncoder, Frame};
/// use tokio_util::codec::Encoder;
///
/// let mut encoder = EventEncoder::new();
/// let mut buf = BytesMut::new();
/// encoder.encode(Event::new("hello"), &mut buf)?;
/// encoder.encode(Frame::comment(""), &mut buf)?;
/// assert_eq!(&buf[..], b"data: hello\n\n:\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct EventEncoder {
    _priv: (),
}

impl EventEncoder {
    /// Creates an encoder.
    pub fn new() -> Self {
        EventEncoder::default()
    }
}

impl Encoder<Event> for EventEncoder {
    type Error = io::Error;

    fn encode(&mut self, event: Event, dst: &mut BytesMut) -> Result<(), io::Error> {
        event.encode(dst);
        Ok(())
    }
}

impl Encoder<&Event> for EventEncoder {
    type Error = io::Error;

    fn encode(&mut self, event: &Event, dst: &mut BytesMut) -> Result<(), io::Error> {
        event.encode(dst);
        Ok(())
    }
}

impl Encoder<Frame> for EventEncoder {
    type Error = io::Error;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), io::Error> {
        frame.encode(dst);
        Ok(())
    }
}

impl Encoder<&Frame> for EventEncoder {
    type Error = io::Error;

    fn encode(&mut self, frame: &Frame, dst: &mut BytesMut) -> Result<(), io::Error> {
        frame.encode(dst);
        Ok(())
    }
}
