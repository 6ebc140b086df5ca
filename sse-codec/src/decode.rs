//! [`EventDecoder`]: the incremental, bounded event stream decoder.
//!
//! ```text
//! event: update\r\n   ─┐
//! id: 42\n             │ one event block (fields, any line end)
//! data: a\n            │
//! data: b\n           ─┘
//! \n                   ← blank line dispatches: Event { event_type: "update", id: "42", data: "a\nb" }
//! ```

// BE ADVISED
//
// The decoder is fed chunks of bytes (`Bytes`) and reads them line by line.
// Everything it keeps between two calls is in the fields below; the rest of
// the work happens on the caller's chunk, by offset, without copying.
//
// Invariants worth knowing before changing anything:
//
// 1. When a decode call returns `Ok(None)` it has consumed its whole input and
//    holds no reference into it (`release_input` copies what must outlive the
//    chunk: partial data, the event type, the ids). So the memory a decoder
//    holds between chunks is its own, and bounded; the events it *returns*
//    share the chunk, which is the point of zero-copy.
// 2. `line` holds the start of a line whose end has not arrived. At stream
//    start, `bom_matched` counts the bytes of a possible BOM until three bytes
//    decide it; if it is no BOM, those bytes become the start of `line`.
// 3. A CR ends a line at once, also as the last byte of a chunk; `skip_lf`
//    then swallows a LF that starts the next chunk (CRLF split in two).
//    Waiting for the next byte instead would delay dispatch of `data:x\r\r`.
// 4. Limit: for every non-blank line, `event_size + line length` must not
//    exceed `max_event_size`, where `event_size` counts the block's data
//    (values plus one LF each) and event type. The check runs on the full
//    length of a complete line and on the growing length of a partial one;
//    because a partial line is never longer than the line, both checks fail
//    for the same input whatever the chunking, so errors and events come out
//    the same for every way of splitting the stream.
// 5. After `EventTooLarge` the block is dropped (data, type, and an id it set)
//    and input is skipped up to the next blank line (`discarding`). A `retry`
//    read before the overflow stays in effect: the spec applies it at once.
// 6. `line` and `data_owned` grow geometrically, but their capacities together
//    never exceed `max_event_size` (`reserve_bounded`).

use std::mem;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use crate::error::DecodeError;
use crate::event::{Event, Frame};
use crate::parse::{self, Field, Line};
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
    /// Limit on the bytes held for one event (invariant 4).
    max_event_size: usize,

    // ----- the connection: reset by `finish` -----
    /// The first bytes of the stream have not all been seen, so a BOM may
    /// still be in progress.
    at_stream_start: bool,
    /// How many bytes of a BOM the stream has started with so far.
    bom_matched: usize,
    /// The last line end was a CR at the very end of a chunk: a LF starting
    /// the next chunk completes that CRLF and is skipped.
    skip_lf: bool,
    /// The start of a line whose end has not arrived, copied out of earlier
    /// chunks (so the caller's chunk can be dropped).
    line: Vec<u8>,
    /// Skipping input up to the next blank line, after `EventTooLarge`.
    discarding: bool,
    /// While discarding: the line being skipped has at least one byte, so its
    /// end is not a blank line.
    discarding_line: bool,
    /// What is left of a chunk taken from `FramedRead`'s buffer, for the
    /// `tokio_util` `Decoder` impl. Empty whenever `decode` returns `None`.
    pending: Bytes,

    // ----- the event block being read: reset on dispatch -----
    /// Values of the block's data lines read from the current chunk: slices
    /// of it, joined only at dispatch (one allocation of the exact size, or
    /// none for a single line).
    data_lines: Vec<Bytes>,
    /// Values of data lines from earlier chunks, joined by LF.
    data_owned: Vec<u8>,
    /// How many data lines `data_owned` holds.
    owned_lines: usize,
    /// How many data lines the block has in all; 0 means the spec's data
    /// buffer is empty and a blank line dispatches nothing.
    data_count: usize,
    /// The event type buffer (empty: the default type).
    event_type: Bytes,
    /// Bytes of the block counted against the limit (invariant 4).
    event_size: usize,
    /// A valid `retry` read in this block, carried by the event it dispatches.
    block_retry: Option<Duration>,
    /// Some field above, or an id below, may be a slice of the current chunk
    /// (invariant 1).
    borrowed: bool,

    // ----- the EventSource: kept across connections -----
    /// The spec's "last event ID buffer" when an `id` field of the current
    /// block has changed it (`None`: the buffer equals `last_event_id`).
    /// Committed to `last_event_id` when a blank line is read.
    pending_id: Option<ByteStr>,
    /// The spec's "last event ID string" of the event source, in the
    /// decoder's own buffer: committing an id copies a few bytes instead of
    /// sharing (and later releasing) the chunk once more.
    last_event_id: String,
    /// `last_event_id` as a `ByteStr` for events that carry it without an
    /// `id` field of their own; made the first time one needs it.
    last_event_id_shared: Option<ByteStr>,
    /// The reconnection time set by the last valid `retry` field.
    retry: Option<Duration>,
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
            max_event_size,
            at_stream_start: true,
            bom_matched: 0,
            skip_lf: false,
            line: Vec::new(),
            discarding: false,
            discarding_line: false,
            pending: Bytes::new(),
            data_lines: Vec::new(),
            data_owned: Vec::new(),
            owned_lines: 0,
            data_count: 0,
            event_type: Bytes::new(),
            event_size: 0,
            block_retry: None,
            borrowed: false,
            pending_id: None,
            last_event_id: String::new(),
            last_event_id_shared: None,
            retry: None,
        }
    }

    /// The maximum size of one event, in bytes.
    pub fn max_event_size(&self) -> usize {
        self.max_event_size
    }

    /// Changes the maximum size of one event. It applies from the next line
    /// on; an event already past a lower limit is refused when its next line
    /// arrives.
    pub fn set_max_event_size(&mut self, max_event_size: usize) -> &mut Self {
        self.max_event_size = max_event_size;
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
        Some(self.last_event_id.as_str()).filter(|id| !id.is_empty())
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
        self.last_event_id.clear();
        self.last_event_id.push_str(&id);
        self.last_event_id_shared = Some(id);
        self.pending_id = None;
        self
    }

    /// The reconnection time set by the last valid `retry` field, if any.
    ///
    /// A `retry` field takes effect as soon as its line is read, even in a
    /// block that dispatches no event.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// The number of bytes the decoder holds between calls for an
    /// incomplete line and event (at most
    /// [`max_event_size`](Self::max_event_size)).
    pub fn buffered_len(&self) -> usize {
        self.line.len()
            + self.data_owned.len()
            + self.data_lines.iter().map(Bytes::len).sum::<usize>()
            + self.event_type.len()
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
            match self.decode_next(input, false)? {
                Some(Frame::Event(event)) => return Ok(Some(event)),
                Some(_) => continue,
                None => return Ok(None),
            }
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
        self.decode_next(input, true)
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
        self.at_stream_start = true;
        self.bom_matched = 0;
        self.skip_lf = false;
        self.line = Vec::new();
        self.discarding = false;
        self.discarding_line = false;
        self.pending = Bytes::new();
        self.drop_block();
    }

    /// Runs the decoder over `input` and consumes what it read. With `frames`
    /// false, only events are returned.
    fn decode_next(
        &mut self,
        input: &mut Bytes,
        frames: bool,
    ) -> Result<Option<Frame>, DecodeError> {
        let mut pos = 0;
        let result = self.decode_from(input, &mut pos, frames);
        input.advance(pos);
        if let Ok(None) = result {
            self.release_input();
        }
        result
    }

    /// The main loop: reads lines of `input` from `*pos` until one yields a
    /// frame, an error, or the input ends.
    fn decode_from(
        &mut self,
        input: &Bytes,
        pos: &mut usize,
        frames: bool,
    ) -> Result<Option<Frame>, DecodeError> {
        loop {
            let rest = &input[*pos..];
            if rest.is_empty() {
                return Ok(None);
            }
            if self.skip_lf {
                self.skip_lf = false;
                if rest[0] == b'\n' {
                    *pos += 1;
                    continue;
                }
            }
            if self.at_stream_start {
                *pos += self.strip_bom(rest);
                continue;
            }
            let Some(end) = parse::find_line_end(rest) else {
                *pos = input.len();
                self.hold_partial_line(rest)?;
                return Ok(None);
            };
            let start = *pos;
            *pos += end.next;
            self.skip_lf = end.cr_at_end;
            if self.discarding {
                // A blank line ends the skipped block.
                self.discarding = end.len > 0 || self.discarding_line;
                self.discarding_line = false;
                continue;
            }
            let frame = if self.line.is_empty() {
                self.check_line(end.len, false)?;
                self.process_line(input, &input[start..start + end.len], frames)
            } else {
                self.check_line(self.line.len() + end.len, false)?;
                self.reserve_line(end.len);
                self.line.extend_from_slice(&rest[..end.len]);
                let line = Bytes::from(mem::take(&mut self.line));
                self.process_line(&line, &line, frames)
            };
            if frame.is_some() {
                return Ok(frame);
            }
        }
    }

    /// At stream start: matches `rest` against the BOM and returns how many
    /// bytes to consume. Clears `at_stream_start` once the BOM is decided.
    fn strip_bom(&mut self, rest: &[u8]) -> usize {
        let held = self.bom_matched;
        let n = (parse::BOM.len() - held).min(rest.len());
        if rest[..n] != parse::BOM[held..held + n] {
            // Not a BOM: the bytes matched so far start the first line (and
            // count against the limit from the next check on).
            self.line.extend_from_slice(&parse::BOM[..held]);
            self.bom_matched = 0;
            self.at_stream_start = false;
            return 0;
        }
        self.bom_matched += n;
        if self.bom_matched == parse::BOM.len() {
            self.bom_matched = 0;
            self.at_stream_start = false;
        }
        n
    }

    /// Keeps `rest`, the start of a line whose end is in a later chunk.
    fn hold_partial_line(&mut self, rest: &[u8]) -> Result<(), DecodeError> {
        if self.discarding {
            self.discarding_line = true;
            return Ok(());
        }
        self.check_line(self.line.len() + rest.len(), true)?;
        self.reserve_line(rest.len());
        self.line.extend_from_slice(rest);
        Ok(())
    }

    /// Enforces the limit for a non-blank line of `len` bytes (invariant 4).
    /// On overflow, drops the block and starts discarding; `mid_line` says
    /// the rest of this line is still to come.
    fn check_line(&mut self, len: usize, mid_line: bool) -> Result<(), DecodeError> {
        // A blank line adds nothing; it must get through to end the block even
        // if the limit was lowered below what the block already holds.
        if len == 0 || self.event_size.saturating_add(len) <= self.max_event_size {
            return Ok(());
        }
        self.drop_block();
        self.line.clear();
        self.discarding = true;
        self.discarding_line = mid_line;
        Err(DecodeError::EventTooLarge {
            max: self.max_event_size,
        })
    }

    /// Acts on one complete line. `line` is a slice of `base`, so values can
    /// be kept as slices of it.
    fn process_line(&mut self, base: &Bytes, line: &[u8], frames: bool) -> Option<Frame> {
        match parse::parse_line(line) {
            Line::Blank => return self.dispatch().map(Frame::Event),
            Line::Comment(text) if frames => {
                return Some(Frame::Comment(ByteStr::from_utf8_lossy(
                    base.slice_ref(text),
                )));
            }
            Line::Comment(_) => {}
            Line::Field(Field::Data, value) => {
                self.data_lines.push(base.slice_ref(value));
                self.data_count += 1;
                self.event_size += value.len() + 1;
                self.borrowed = true;
            }
            Line::Field(Field::Event, value) => {
                self.event_size = self.event_size - self.event_type.len() + value.len();
                self.event_type = base.slice_ref(value);
                self.borrowed = true;
            }
            Line::Field(Field::Id, value) => {
                // "If the field value does not contain U+0000 NULL, then set
                // the last event ID buffer to the field value."
                if memchr::memchr(0, value).is_none() {
                    self.pending_id = Some(ByteStr::from_utf8_lossy(base.slice_ref(value)));
                    self.borrowed = true;
                }
            }
            Line::Field(Field::Retry, value) => {
                let retry = parse::parse_retry(value)?;
                self.retry = Some(retry);
                self.block_retry = Some(retry);
                if frames {
                    return Some(Frame::Retry(retry));
                }
            }
            Line::Field(Field::Unknown, _) => {}
        }
        None
    }

    /// A blank line: the spec's "dispatch the event" steps.
    fn dispatch(&mut self) -> Option<Event> {
        // 1. The last event ID string takes the buffer's value, even when no
        //    event is dispatched.
        let new_id = self.pending_id.take();
        if let Some(id) = &new_id {
            self.last_event_id.clear();
            self.last_event_id.push_str(id);
            self.last_event_id_shared = None;
        }
        let retry = self.block_retry.take();
        let event_type = mem::take(&mut self.event_type);
        self.event_size = 0;
        // 2. An empty data buffer dispatches nothing.
        if self.data_count == 0 {
            return None;
        }
        // 3. The trailing LF is never stored (values are joined by LF).
        let data_lines = mem::take(&mut self.data_count);
        let data = if self.owned_lines == 0 && self.data_lines.len() == 1 {
            self.data_lines.pop().unwrap_or_default()
        } else {
            self.flush_data_lines();
            self.owned_lines = 0;
            Bytes::from(mem::take(&mut self.data_owned))
        };
        // 4-5. The type defaults to "message"; the event carries the last
        //      event ID string.
        Some(Event {
            data: ByteStr::from_utf8_lossy(data),
            data_lines,
            event_type: (!event_type.is_empty() && &event_type[..] != b"message")
                .then(|| ByteStr::from_utf8_lossy(event_type)),
            id: match new_id {
                // The id this block set goes into the event as it is.
                Some(id) => Some(id).filter(|id| !id.is_empty()),
                None if self.last_event_id.is_empty() => None,
                None => Some(
                    self.last_event_id_shared
                        .get_or_insert_with(|| ByteStr::from(self.last_event_id.as_str()))
                        .clone(),
                ),
            },
            retry,
        })
    }

    /// Moves the data lines sliced from the current chunk into `data_owned`.
    fn flush_data_lines(&mut self) {
        let separators = self.data_lines.len() - usize::from(self.owned_lines == 0);
        let len = self.data_lines.iter().map(Bytes::len).sum::<usize>() + separators;
        reserve_bounded(
            &mut self.data_owned,
            len,
            &mut self.line,
            self.max_event_size,
        );
        for value in self.data_lines.drain(..) {
            if self.owned_lines > 0 {
                self.data_owned.push(b'\n');
            }
            self.data_owned.extend_from_slice(&value);
            self.owned_lines += 1;
        }
    }

    fn reserve_line(&mut self, additional: usize) {
        reserve_bounded(
            &mut self.line,
            additional,
            &mut self.data_owned,
            self.max_event_size,
        );
    }

    /// Forgets the block being read, including an `id` it set (not yet
    /// committed by a blank line).
    fn drop_block(&mut self) {
        self.data_lines.clear();
        self.data_owned = Vec::new();
        self.owned_lines = 0;
        self.data_count = 0;
        self.event_type = Bytes::new();
        self.event_size = 0;
        self.block_retry = None;
        self.pending_id = None;
    }

    /// Copies what must outlive the current chunk (invariant 1).
    fn release_input(&mut self) {
        if !mem::take(&mut self.borrowed) {
            return;
        }
        if !self.data_lines.is_empty() {
            self.flush_data_lines();
        }
        if !self.event_type.is_empty() {
            self.event_type = Bytes::copy_from_slice(&self.event_type);
        }
        if let Some(id) = &mut self.pending_id {
            *id = ByteStr::from(id.as_str());
        }
    }
}

/// Makes room in `buf` for `additional` more bytes, growing geometrically but
/// keeping the capacities of `buf` and `other` together within `max` (the
/// caller has checked that the bytes themselves fit). `other`'s spare
/// capacity is given back first if it is in the way.
fn reserve_bounded(buf: &mut Vec<u8>, additional: usize, other: &mut Vec<u8>, max: usize) {
    let needed = buf.len() + additional;
    if needed <= buf.capacity() {
        return;
    }
    if needed.saturating_add(other.capacity()) > max {
        other.shrink_to_fit();
    }
    let budget = max.saturating_sub(other.capacity()).max(needed);
    let target = (buf.capacity() * 2).clamp(needed, budget);
    buf.reserve_exact(target - buf.len());
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
    fn reserve_bounded_caps_combined_capacity() {
        let mut a = Vec::new();
        let mut b = Vec::with_capacity(60);
        b.extend_from_slice(&[0; 10]);
        reserve_bounded(&mut a, 50, &mut b, 100);
        assert!(a.capacity() >= 50);
        assert!(
            a.capacity() + b.capacity() <= 100,
            "{} {}",
            a.capacity(),
            b.capacity()
        );
        a.extend_from_slice(&[0; 50]);
        reserve_bounded(&mut a, 40, &mut b, 100);
        assert!(a.capacity() >= 90);
        assert!(a.capacity() + b.capacity() <= 100);
    }

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
        let start = chunk.as_ptr() as usize;
        let range = start..start + chunk.len();
        assert!(decoder.decode_event(&mut chunk).unwrap().is_none());
        let inside = |p: *const u8| range.contains(&(p as usize));
        assert!(!inside(decoder.event_type.as_ptr()));
        assert!(!inside(decoder.pending_id.as_ref().unwrap().as_ptr()));
        assert!(!inside(decoder.data_owned.as_ptr()));
        assert!(decoder.data_lines.is_empty());
    }
}
