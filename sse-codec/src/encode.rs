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

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::Encoder;

use crate::decode::EventDecoder;
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

    /// The event's wire bytes as a [`Buf`] that shares the data instead of
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
            return EncodedEvent {
                head: self.to_bytes(),
                data: Bytes::new(),
                tail: b"",
            };
        }
        let mut head = BytesMut::with_capacity(self.head_len() + DATA_PREFIX.len());
        self.put_head(&mut head);
        head.put_slice(DATA_PREFIX);
        EncodedEvent {
            head: head.freeze(),
            data: self.data.clone().into_bytes(),
            tail: b"\n\n",
        }
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

// ===== EncodedFrame =====

/// A frame in its wire form, encoded once and shared: cloning it copies a
/// pointer, not the bytes. What a broadcaster hands to every subscriber.
///
/// It can only be made by encoding an [`Event`] or a [`Frame`] (or by
/// [`concat`](Self::concat)enating such values), so it always holds whole,
/// well-formed frames: raw bytes cannot be passed off as one.
///
/// # Examples
///
/// ```
/// use sse_codec::{EncodedFrame, Event};
///
/// let frame = EncodedFrame::from(Event::new("hi"));
/// let copy = frame.clone();
/// assert_eq!(copy.as_bytes(), "data: hi\n\n");
/// assert_eq!(frame.len(), 10);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EncodedFrame(Bytes);

impl EncodedFrame {
    /// The wire bytes.
    #[inline]
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Takes the wire bytes.
    #[inline]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The number of wire bytes.
    #[inline]
    #[allow(clippy::len_without_is_empty)] // never empty: every frame has bytes
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Several frames as one value: their wire bytes, in order, copied once
    /// into one buffer. Writing it is writing each of them; a writer that
    /// pays per chunk (HTTP/1.1 chunked encoding, one body frame per chunk)
    /// pays once.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_codec::{EncodedFrame, Event};
    ///
    /// let a = EncodedFrame::from(Event::new("a"));
    /// let b = EncodedFrame::from(Event::new("b"));
    /// assert_eq!(EncodedFrame::concat(&[a, b]).as_bytes(), "data: a\n\ndata: b\n\n");
    /// ```
    pub fn concat(frames: &[EncodedFrame]) -> EncodedFrame {
        if let [one] = frames {
            return one.clone();
        }
        let mut buf = BytesMut::with_capacity(frames.iter().map(EncodedFrame::len).sum());
        for frame in frames {
            buf.extend_from_slice(&frame.0);
        }
        EncodedFrame(buf.freeze())
    }

    /// Takes bytes that were written as one encoded event frame somewhere
    /// else (another process, through a shared log such as Redis) after
    /// checking that they are exactly that: one whole event, ending with its
    /// blank line, nothing before or after it that a stream would read
    /// differently. Returns the frame, sharing `wire`'s bytes (no copy), and
    /// the event it carries.
    ///
    /// This costs one decode, where [`From<&Event>`](#impl-From%3C%26Event%3E-for-EncodedFrame)
    /// costs an encode; a broadcaster receiving a frame once and forwarding
    /// it to many subscribers pays it once.
    ///
    /// # Errors
    ///
    /// [`NotOneFrame`] if `wire` does not end with a blank line (`\n\n`),
    /// starts with a byte order mark, holds no event or more than one, or
    /// anything after the event.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use sse_codec::EncodedFrame;
    ///
    /// let (frame, event) = EncodedFrame::from_wire(Bytes::from("id: 7\ndata: hi\n\n"))?;
    /// assert_eq!(event.id(), Some("7"));
    /// assert_eq!(frame.as_bytes(), "id: 7\ndata: hi\n\n");
    ///
    /// // Raw bytes that are not one whole frame are refused.
    /// assert!(EncodedFrame::from_wire(Bytes::from("data: cut off\n")).is_err());
    /// assert!(EncodedFrame::from_wire(Bytes::from("data: a\n\ndata: b\n\n")).is_err());
    /// # Ok::<(), sse_codec::NotOneFrame>(())
    /// ```
    pub fn from_wire(wire: Bytes) -> Result<(EncodedFrame, Event), NotOneFrame> {
        const BOM: &[u8] = b"\xEF\xBB\xBF";
        if !wire.ends_with(b"\n\n") || wire.starts_with(BOM) {
            return Err(NotOneFrame { _priv: () });
        }
        let mut decoder = EventDecoder::with_max_event_size(usize::MAX);
        let mut input = wire.clone();
        match decoder.decode_event(&mut input) {
            Ok(Some(event)) if input.is_empty() => Ok((EncodedFrame(wire), event)),
            _ => Err(NotOneFrame { _priv: () }),
        }
    }
}

/// Bytes refused by [`EncodedFrame::from_wire`]: they are not exactly one
/// whole event frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not exactly one whole event frame")]
pub struct NotOneFrame {
    _priv: (),
}

impl From<&Event> for EncodedFrame {
    fn from(event: &Event) -> Self {
        EncodedFrame(event.to_bytes())
    }
}

impl From<Event> for EncodedFrame {
    fn from(event: Event) -> Self {
        EncodedFrame(event.to_bytes())
    }
}

impl From<&Frame> for EncodedFrame {
    fn from(frame: &Frame) -> Self {
        EncodedFrame(frame.to_bytes())
    }
}

impl From<Frame> for EncodedFrame {
    fn from(frame: Frame) -> Self {
        EncodedFrame(frame.to_bytes())
    }
}

// ===== EncodedEvent =====

/// An encoded event that shares its data with the [`Event`]; see
/// [`Event::to_buf`].
///
/// It implements [`Buf`], and [`into_parts`](Self::into_parts) yields its
/// non-empty parts as [`Bytes`] for writers that take body chunks.
#[derive(Clone, Debug)]
#[must_use]
pub struct EncodedEvent {
    head: Bytes,
    data: Bytes,
    tail: &'static [u8],
}

impl EncodedEvent {
    /// The parts of the encoding, in order, skipping empty ones.
    pub fn into_parts(mut self) -> impl Iterator<Item = Bytes> {
        std::iter::from_fn(move || self.next_part())
    }

    /// Takes the next non-empty part.
    pub(crate) fn next_part(&mut self) -> Option<Bytes> {
        if !self.head.is_empty() {
            return Some(std::mem::take(&mut self.head));
        }
        if !self.data.is_empty() {
            return Some(std::mem::take(&mut self.data));
        }
        if !self.tail.is_empty() {
            return Some(Bytes::from_static(std::mem::take(&mut self.tail)));
        }
        None
    }
}

impl Buf for EncodedEvent {
    fn remaining(&self) -> usize {
        self.head.len() + self.data.len() + self.tail.len()
    }

    fn chunk(&self) -> &[u8] {
        if !self.head.is_empty() {
            &self.head
        } else if !self.data.is_empty() {
            &self.data
        } else {
            self.tail
        }
    }

    fn advance(&mut self, mut cnt: usize) {
        let from_head = cnt.min(self.head.len());
        self.head.advance(from_head);
        cnt -= from_head;
        let from_data = cnt.min(self.data.len());
        self.data.advance(from_data);
        cnt -= from_data;
        assert!(
            cnt <= self.tail.len(),
            "cannot advance past the end of an EncodedEvent"
        );
        self.tail = &self.tail[cnt..];
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
