//! [`EventDecoder`]: the incremental, bounded event stream decoder.
//!
//! ```text
//! event: update\r\n   ─┐
//! id: 42\n             │ one event block (fields, any line end)
//! data: a\n            │
//! data: b\n           ─┘
//! \n                   ← blank line dispatches: Event { event_type: "update", id: "42", data: "a\nb" }
//! ```

// The decoder's state and its line loop are in `state.rs` (read its BE
// ADVISED first); the borrowing front end is in `borrowed.rs`. This file
// holds the public type and the owned front end.

mod borrowed;
mod state;

use std::mem;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use self::state::{Block, Connection, Input, Source, Span, State, Step, Text, Want};
use crate::error::DecodeError;
use crate::event::{Event, Frame};
use crate::parse;
use crate::str::ByteStr;

/// The default maximum size of one event, 1 MiB. See
/// [`EventDecoder::with_max_event_size`] for what counts.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 1024 * 1024;

/// An incremental decoder for `text/event-stream` bodies that interprets the
/// stream exactly as a browser's `EventSource` does.
///
/// It follows the WHATWG HTML standard's [*Interpreting an event
/// stream*][spec]: a leading BOM is stripped once; CR, LF and CRLF end lines,
/// also when a CRLF is split between two chunks; fields are case-sensitive;
/// unknown fields are ignored; bytes that are not UTF-8 become U+FFFD and never
/// stop the stream; an event is dispatched at a blank line when its data
/// buffer is not empty; and an event cut off by the end of the stream is
/// discarded. See the crate documentation's "Spec conformance" section.
///
/// It can be driven three ways:
///
/// - push bytes and pull events without a runtime: [`decode_event`] and
///   [`decode_frame`] take a `&mut Bytes` chunk and consume it;
/// - as a [`tokio_util::codec::Decoder`] (`Item = Event`), for `FramedRead`;
/// - through [`EventStream`](crate::EventStream), over any stream of
///   `Result<Bytes, E>` (an HTTP body).
///
/// Besides events, the decoder keeps what a browser keeps for the whole
/// `EventSource`: the [last event ID](Self::last_event_id), which persists
/// across events and reconnections, and the [reconnection time](Self::retry).
///
/// # Memory
///
/// The decoder holds at most [`max_event_size`](Self::max_event_size) bytes
/// for an event that is being read, whatever its input (a gigabyte with no
/// line end included); an event past the limit is reported as
/// [`DecodeError::EventTooLarge`] and skipped, and decoding carries on with
/// the next event. The default, [`DEFAULT_MAX_EVENT_SIZE`], keeps a decoder
/// of untrusted input bounded; raise it with
/// [`with_max_event_size`](Self::with_max_event_size) if you expect larger
/// events. Work is linear in the input: bytes held between chunks are never
/// scanned or copied again.
///
/// # Examples
///
/// Push bytes, pull events:
///
/// ```
/// use bytes::Bytes;
/// use sse_codec::EventDecoder;
///
/// let mut decoder = EventDecoder::new();
/// let mut events = Vec::new();
/// for chunk in ["id: 1\ndata: hel", "lo\n\ndata: world\r", "\n\r\n"] {
///     let mut chunk = Bytes::from(chunk);
///     while let Some(event) = decoder.decode_event(&mut chunk)? {
///         events.push(event);
///     }
/// }
/// assert_eq!(events[0].data(), "hello");
/// assert_eq!(events[0].id(), Some("1"));
/// assert_eq!(events[1].data(), "world");
/// assert_eq!(events[1].id(), Some("1")); // the last event ID persists
/// # Ok::<(), sse_codec::DecodeError>(())
/// ```
///
/// [spec]: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
/// [`decode_event`]: Self::decode_event
/// [`decode_frame`]: Self::decode_frame
#[derive(Debug)]
pub struct EventDecoder {
    /// The limit, the connection, the block being read, and what the
    /// `EventSource` keeps (see `state.rs`).
    state: State,
    /// The chunk `decode_event` and `decode_frame` are reading, between
    /// calls; empty once it is used up.
    current: Current,
    /// What is left of a chunk taken from `FramedRead`'s buffer, for the
    /// `tokio_util` `Decoder` impl. Empty whenever `decode` returns `None`.
    pending: Bytes,
    /// Where the owned front end copies the small values of events that
    /// spanned chunks (see [`arena_copy`]).
    arena: BytesMut,
}

/// Size of the owned front end's arena.
const ARENA: usize = 16 * 1024;

/// Joined data up to this long is copied out of the data buffer (which is
/// kept for the next event, so a stream of multi-line events reuses one
/// buffer instead of growing a new one each time); longer data takes the
/// buffer itself, so each of its bytes is copied once.
const COPY_OUT: usize = 64 * 1024;

/// Copies `bytes` into `arena` and returns them as a slice sharing it: the
/// values of an event that spanned two chunks (about one event per chunk)
/// then cost no allocation of their own, only one per arena filled.
fn arena_copy(arena: &mut BytesMut, bytes: &[u8]) -> Bytes {
    if bytes.len() > ARENA / 4 {
        return Bytes::copy_from_slice(bytes);
    }
    if arena.capacity() - arena.len() < bytes.len() {
        *arena = BytesMut::with_capacity(ARENA);
    }
    arena.extend_from_slice(bytes);
    arena.split().freeze()
}

/// The chunk the owned front end is reading: the caller's `Bytes` (so
/// events can share it), and its complete lines checked as UTF-8 once.
#[derive(Debug, Default)]
struct Current {
    bytes: Bytes,
    /// Where `checked` starts in `bytes`.
    checked_at: usize,
    /// `bytes[checked_at..]` up to the last line end, if it is UTF-8.
    checked: Option<ByteStr>,
    /// Where the chunk's last CR or LF is.
    last_break: Option<usize>,
}

impl Current {
    /// Whether `input` is what is left of this chunk.
    fn holds(&self, input: &Bytes) -> bool {
        let (start, end) = (self.bytes.as_ptr() as usize, self.bytes.len());
        let at = input.as_ptr() as usize;
        !self.bytes.is_empty() && at >= start && at + input.len() == start + end
    }

    fn input(&self) -> Input<'_> {
        Input {
            bytes: &self.bytes,
            checked_at: self.checked_at,
            checked: self.checked.as_deref(),
            last_break: self.last_break,
        }
    }

    /// The value at `start..end` as a string sharing the chunk: without a
    /// second check when it lies in the checked part.
    #[inline]
    fn shared_str(&self, start: usize, end: usize) -> ByteStr {
        let checked = self.checked.as_ref().and_then(|checked| {
            let from = start.checked_sub(self.checked_at)?;
            checked.substr(from, end - self.checked_at)
        });
        checked.unwrap_or_else(|| ByteStr::from_utf8_lossy(self.bytes.slice(start..end)))
    }
}

impl Default for EventDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl EventDecoder {
    /// Creates a decoder with the default limit, [`DEFAULT_MAX_EVENT_SIZE`].
    ///
    /// # Examples
    ///
    /// ```
    /// let decoder = sse_codec::EventDecoder::new();
    /// assert_eq!(decoder.max_event_size(), sse_codec::DEFAULT_MAX_EVENT_SIZE);
    /// ```
    pub fn new() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// Creates a decoder that refuses events larger than `max_event_size`
    /// bytes.
    ///
    /// The limit bounds what the decoder holds for one event: the data read
    /// so far (each data line's value plus one byte for its line break), the
    /// event type, and the line being read, whole, field name included. So
    /// `data: abc` needs a limit of at least 9, and no line of any kind (a
    /// comment, an id) can be longer than the limit. A higher limit lets a
    /// client accept larger events; a lower one bounds the memory an
    /// untrusted server can make it hold.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use sse_codec::{DecodeError, EventDecoder};
    ///
    /// let mut decoder = EventDecoder::with_max_event_size(10);
    /// let mut input = Bytes::from("data: far too long\n\ndata: ok\n\n");
    /// assert!(matches!(
    ///     decoder.decode_event(&mut input),
    ///     Err(DecodeError::EventTooLarge { max: 10 })
    /// ));
    /// // The oversized event is skipped; the next one arrives.
    /// assert_eq!(decoder.decode_event(&mut input)?.unwrap().data(), "ok");
    /// # Ok::<(), DecodeError>(())
    /// ```
    pub fn with_max_event_size(max_event_size: usize) -> Self {
        EventDecoder {
            state: State {
                max_event_size,
                conn: Connection::default(),
                block: Block::default(),
                source: Source::default(),
                breaks: *parse::LineBreaks::get(),
            },
            current: Current::default(),
            pending: Bytes::new(),
            arena: BytesMut::new(),
        }
    }

    /// The maximum size of one event, in bytes.
    pub fn max_event_size(&self) -> usize {
        self.state.max_event_size
    }

    /// Changes the maximum size of one event. It applies from the next line
    /// on; an event already past a lower limit is refused when its next line
    /// arrives.
    pub fn set_max_event_size(&mut self, max_event_size: usize) -> &mut Self {
        self.state.max_event_size = max_event_size;
        self
    }

    /// The last event ID: the value a browser would send in the
    /// `Last-Event-ID` header when it reconnects. `None` when it is empty.
    ///
    /// It is set by an `id` field when the block containing it ends (at a
    /// blank line, whether or not the block dispatches an event), and it
    /// persists until another `id` field changes it, also across
    /// [`finish`](Self::finish).
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use sse_codec::EventDecoder;
    ///
    /// let mut decoder = EventDecoder::new();
    /// let mut input = Bytes::from("id: 7\n\n");
    /// assert!(decoder.decode_event(&mut input)?.is_none()); // no data: no event
    /// assert_eq!(decoder.last_event_id(), Some("7"));
    /// # Ok::<(), sse_codec::DecodeError>(())
    /// ```
    pub fn last_event_id(&self) -> Option<&str> {
        Some(self.state.source.last_event_id.as_str()).filter(|id| !id.is_empty())
    }

    /// Seeds the last event ID, as a client does when it reconnects with the
    /// id it last saw: later events without an `id` field report it.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use sse_codec::EventDecoder;
    ///
    /// let mut decoder = EventDecoder::new();
    /// decoder.set_last_event_id("41");
    /// let event = decoder.decode_event(&mut Bytes::from("data: x\n\n"))?.unwrap();
    /// assert_eq!(event.id(), Some("41"));
    /// # Ok::<(), sse_codec::DecodeError>(())
    /// ```
    pub fn set_last_event_id(&mut self, id: impl Into<ByteStr>) -> &mut Self {
        let id = id.into();
        self.state.source.last_event_id.clear();
        self.state.source.last_event_id.push_str(&id);
        self.state.source.last_event_id_shared = Some(id);
        self.state.block.id = None;
        self
    }

    /// The reconnection time set by the last valid `retry` field, if any.
    ///
    /// A `retry` field takes effect as soon as its line is read, even in a
    /// block that dispatches no event.
    pub fn retry(&self) -> Option<Duration> {
        self.state.source.retry
    }

    /// The number of bytes the decoder holds between calls for an
    /// incomplete line and event (at most
    /// [`max_event_size`](Self::max_event_size)).
    pub fn buffered_len(&self) -> usize {
        let data = &self.state.block.data;
        let data_len = match data.in_chunk {
            Some((start, end)) => end - start,
            None => data.buf.len() - data.start,
        };
        self.state.conn.line.len() + data_len + self.state.block.type_len
    }

    /// Decodes the next event from the front of `input`, consuming the bytes
    /// it reads.
    ///
    /// Returns `Ok(None)` once `input` is used up (it is then empty); call
    /// again with the next chunk. A line or event cut by the end of a chunk
    /// is kept and completed by the next one. Comments and `retry` fields do
    /// not produce events; see [`decode_frame`](Self::decode_frame) to see
    /// them too.
    ///
    /// The event's fields share `input`'s storage when they lie within it.
    ///
    /// # Errors
    ///
    /// [`DecodeError::EventTooLarge`], once per event past the limit. The
    /// event is skipped; calling again goes on with the rest of `input`.
    pub fn decode_event(&mut self, input: &mut Bytes) -> Result<Option<Event>, DecodeError> {
        loop {
            return match self.run(input, Want::Events) {
                Step::End => Ok(None),
                Step::Event => Ok(Some(self.state.owned_event(&self.current, &mut self.arena))),
                Step::TooLarge => Err(self.too_large()),
                // Only reported when frames are wanted.
                Step::Comment(_) | Step::Retry(_) => continue,
            };
        }
    }

    /// Decodes the next [`Frame`] from the front of `input`: an event, a
    /// comment, or a valid `retry` field, in stream order.
    ///
    /// Otherwise the same as [`decode_event`](Self::decode_event).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use sse_codec::{EventDecoder, Frame};
    ///
    /// let mut decoder = EventDecoder::new();
    /// let mut input = Bytes::from(":ping\nretry: 5000\ndata: x\n\n");
    /// let mut frames = Vec::new();
    /// while let Some(frame) = decoder.decode_frame(&mut input)? {
    ///     frames.push(frame);
    /// }
    /// assert_eq!(frames[0], Frame::comment("ping"));
    /// assert_eq!(frames[1], Frame::Retry(Duration::from_millis(5000)));
    /// assert!(matches!(&frames[2], Frame::Event(e) if e.data() == "x"));
    /// # Ok::<(), sse_codec::DecodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`decode_event`](Self::decode_event).
    pub fn decode_frame(&mut self, input: &mut Bytes) -> Result<Option<Frame>, DecodeError> {
        Ok(Some(match self.run(input, Want::Frames) {
            Step::End => return Ok(None),
            Step::Event => Frame::Event(self.state.owned_event(&self.current, &mut self.arena)),
            Step::Comment(span) => Frame::Comment(self.state.owned_comment(
                &self.current,
                span,
                &mut self.arena,
            )),
            Step::Retry(retry) => Frame::Retry(retry),
            Step::TooLarge => return Err(self.too_large()),
        }))
    }

    /// Ends the stream: discards an incomplete event (the spec: "if the file
    /// ends in the middle of an event, before the final empty line, the
    /// incomplete event is not dispatched") and readies the decoder for a new
    /// connection, where a leading BOM is stripped again.
    ///
    /// The last event ID and the reconnection time are kept, as an
    /// `EventSource` keeps them across reconnections; an `id` field of the
    /// discarded block does not take effect.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use sse_codec::EventDecoder;
    ///
    /// let mut decoder = EventDecoder::new();
    /// assert!(decoder.decode_event(&mut Bytes::from("data: cut off\n"))?.is_none());
    /// decoder.finish();
    /// // The cut-off data does not leak into the next connection's first event.
    /// let event = decoder.decode_event(&mut Bytes::from("data: fresh\n\n"))?.unwrap();
    /// assert_eq!(event.data(), "fresh");
    /// # Ok::<(), sse_codec::DecodeError>(())
    /// ```
    pub fn finish(&mut self) {
        self.leave_chunk();
        self.state.conn = Connection::default();
        self.state.block = Block::default();
        self.pending = Bytes::new();
    }
    /// The owned front end: makes `current` hold what is left of `input`,
    /// runs the loop over it from where `input` starts, and consumes what
    /// it read. On `Step::End` the chunk is let go.
    #[inline]
    fn run(&mut self, input: &mut Bytes, want: Want) -> Step {
        if !self.current.holds(input) {
            self.leave_chunk();
            self.enter_chunk(input.clone());
        }
        let from = input.as_ptr() as usize - self.current.bytes.as_ptr() as usize;
        let mut pos = from;
        let step = self.state.step(&self.current.input(), &mut pos, want);
        input.advance(pos - from);
        if step == Step::End {
            self.leave_chunk();
        }
        step
    }

    fn too_large(&self) -> DecodeError {
        DecodeError::EventTooLarge {
            max: self.state.max_event_size,
        }
    }

    /// Starts reading `bytes`, checking its complete lines as UTF-8 once.
    fn enter_chunk(&mut self, bytes: Bytes) {
        let lines = self.state.complete_lines(&bytes);
        self.current = Current {
            checked: ByteStr::from_utf8_checked(bytes.slice(lines.start..lines.end)),
            checked_at: lines.start,
            last_break: lines.last_break,
            bytes,
        };
    }

    /// Lets go of the owned front end's chunk, if it holds one.
    fn leave_chunk(&mut self) {
        let current = mem::take(&mut self.current);
        if !current.bytes.is_empty() {
            self.state.release_input(&current.bytes);
        }
    }
}

impl State {
    fn owned_comment(&self, current: &Current, span: Span, arena: &mut BytesMut) -> ByteStr {
        match span {
            Span::Chunk(start, end) => current.shared_str(start, end),
            Span::Held(start, end) => {
                ByteStr::from_utf8_lossy(arena_copy(arena, &self.conn.line[start..end]))
            }
        }
    }

    /// The event the block holds, as an [`Event`] sharing the chunk; clears
    /// the block.
    #[inline]
    fn owned_event(&mut self, current: &Current, arena: &mut BytesMut) -> Event {
        let block = &mut self.block;
        let data = match block.data.in_chunk {
            Some((start, end)) => current.shared_str(start, end),
            // Small: copied, and the buffer kept for the next event.
            None if block.data.buf.len() - block.data.start <= COPY_OUT => {
                ByteStr::from_utf8_lossy(arena_copy(arena, &block.data.buf[block.data.start..]))
            }
            // Large: the buffer itself becomes the event's data.
            None => {
                let mut bytes = Bytes::from(mem::take(&mut block.data.buf));
                bytes.advance(block.data.start);
                ByteStr::from_utf8_lossy(bytes)
            }
        };
        let event_type = block
            .event_type_text(&current.bytes)
            .map(|(t, bytes)| match t {
                Text::Chunk(start, end) => current.shared_str(start, end),
                Text::Own => ByteStr::from_utf8_lossy(arena_copy(arena, bytes)),
            });
        let id = match block.id {
            Some(Text::Chunk(start, end)) if start == end => None,
            // The id this block set goes into the event as it is.
            Some(Text::Chunk(start, end)) => Some(current.shared_str(start, end)),
            _ if self.source.last_event_id.is_empty() => None,
            _ => Some(
                self.source
                    .last_event_id_shared
                    .get_or_insert_with(|| {
                        ByteStr::from_utf8_lossy(arena_copy(
                            arena,
                            self.source.last_event_id.as_bytes(),
                        ))
                    })
                    .clone(),
            ),
        };
        let event = Event {
            data,
            data_lines: block.data.lines,
            event_type,
            id,
            retry: block.retry,
        };
        block.clear();
        event
    }
}

/// Use an `EventDecoder` with `FramedRead`.
///
/// `decode` takes what `FramedRead` has buffered as one chunk (without
/// copying it) and yields its events one by one. `decode_eof` ends the
/// stream as [`EventDecoder::finish`] does.
///
/// Note that `FramedRead` ends its stream after the first error, including
/// [`DecodeError::EventTooLarge`]; [`EventStream`](crate::EventStream) goes on
/// with the next event instead.
impl Decoder for EventDecoder {
    type Item = Event;
    type Error = DecodeError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Event>, DecodeError> {
        if self.pending.is_empty() {
            self.pending = src.split().freeze();
        }
        let mut chunk = mem::take(&mut self.pending);
        let result = self.decode_event(&mut chunk);
        self.pending = chunk;
        result
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Event>, DecodeError> {
        if let Some(event) = self.decode(src)? {
            return Ok(Some(event));
        }
        self.finish();
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_data_line_is_not_copied() {
        let mut decoder = EventDecoder::new();
        let input = Bytes::from_static(b"data: zero-copy\n\n");
        let mut chunk = input.clone();
        let event = decoder.decode_event(&mut chunk).unwrap().unwrap();
        assert_eq!(event.data().as_ptr(), input[6..].as_ptr());
    }

    #[test]
    fn held_state_does_not_borrow_the_chunk() {
        let mut decoder = EventDecoder::new();
        let mut chunk = Bytes::from(b"id: 5\nevent: e\ndata: a\ndata: b\n".to_vec());
        assert!(decoder.decode_event(&mut chunk).unwrap().is_none());
        assert!(decoder.current.bytes.is_empty());
        assert_eq!(decoder.state.block.event_type, Some(Text::Own));
        assert_eq!(decoder.state.block.id, Some(Text::Own));
        assert_eq!(decoder.state.block.data.in_chunk, None);
        assert_eq!(&decoder.state.block.data.buf[..], b"a\nb");
    }
}
