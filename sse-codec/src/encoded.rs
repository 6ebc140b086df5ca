//! Events in their wire form: [`EncodedFrame`] (whole frames, encoded once
//! and shared) and [`EncodedEvent`] (an event whose data is shared, not
//! copied). The writer is `encode.rs`; this is what it produces, and the
//! one way to take encoded bytes back ([`EncodedFrame::from_wire`]).

use bytes::{Buf, Bytes, BytesMut};

use crate::decode::EventDecoder;
use crate::event::{Event, Frame};
use crate::parse;

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
        if !wire.ends_with(b"\n\n") || wire.starts_with(parse::BOM) {
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
    /// `head`, then `data` (shared, not copied), then `tail`.
    pub(crate) fn new(head: Bytes, data: Bytes, tail: &'static [u8]) -> Self {
        EncodedEvent { head, data, tail }
    }

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
