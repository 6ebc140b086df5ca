//! The decoder's state, in the three groups the spec's model has, and the
//! line loop that both front ends (owned and borrowing) drive.
//!
//! BE ADVISED
//!
//! The loop ([`State::step`]) reads a chunk given as a byte slice
//! and records where field values lie as offsets: [`Text::Chunk`] into the
//! chunk being read, or in the decoder's own buffers. It never hands out a
//! reference; each front end turns offsets into what it returns (a `&str` of
//! the chunk, a `Bytes` slice of it) and the block is cleared after.
//!
//! Invariants worth knowing before changing anything:
//!
//! 1. Offsets into the chunk ([`Text::Chunk`], [`Data::in_chunk`]) are only
//!    held while that chunk is being read. Before a front end lets go of a
//!    chunk, [`State::release_input`] copies what they point at into
//!    the block's own buffers. So the memory a decoder holds between chunks
//!    is its own, and bounded.
//! 2. `Connection::line` holds the start of a line whose end has not
//!    arrived. At stream start, [`Bom::Matching`] counts the bytes of a
//!    possible BOM until three bytes decide it; if it is no BOM, those bytes
//!    become the start of `line`.
//! 3. A CR ends a line at once, also as the last byte of a chunk; `skip_lf`
//!    then swallows a LF that starts the next chunk (CRLF split in two).
//!    Waiting for the next byte instead would delay dispatch of `data:x\r\r`.
//! 4. Limit: for every non-blank line, `Block::size + line length` must not
//!    exceed `max_event_size`, where `size` counts the block's data (values
//!    plus one LF each) and event type. The check runs on the full length of
//!    a complete line and on the growing length of a partial one; because a
//!    partial line is never longer than the line, both checks fail for the
//!    same input whatever the chunking, so errors and events come out the
//!    same for every way of splitting the stream.
//! 5. After `EventTooLarge` the block is dropped (data, type, and an id it
//!    set) and input is skipped up to the next blank line ([`Skip`]). A
//!    `retry` read before the overflow stays in effect: the spec applies it
//!    at once.
//! 6. `Connection::line` and `Data::buf` grow geometrically, but their
//!    capacities together never exceed `max_event_size` (`reserve_bounded`).
//! 7. UTF-8 is checked once per chunk, over its complete lines (the
//!    [`Input::checked`] part: from the first line that starts in the chunk
//!    to the last line end). A value inside it is a `str` as it is; any
//!    other value (a line that spans chunks, a chunk with invalid bytes) is
//!    converted on its own, with U+FFFD for what is not UTF-8. A character
//!    cut by a chunk boundary is always in a spanning line, never in the
//!    checked part.

use std::borrow::Cow;
use std::mem;
use std::time::Duration;

use crate::parse::{self, Field, Line};

/// The connection: how far the byte stream has been read. Reset by
/// `finish`, at the end of a stream.
#[derive(Debug, Default)]
pub(super) struct Connection {
    /// Whether the stream's first bytes may still be a BOM.
    pub(super) bom: Bom,
    /// The last line end was a CR at the very end of a chunk: a LF starting
    /// the next chunk completes that CRLF and is skipped.
    pub(super) skip_lf: bool,
    /// The start of a line whose end has not arrived, copied out of earlier
    /// chunks (so the caller's chunk can be dropped); then, for one step, the
    /// whole line.
    pub(super) line: Vec<u8>,
    /// `line` holds a complete line that a front end is reading (a comment):
    /// clear it before reading on.
    pub(super) line_handed_out: bool,
    /// Skipping input after `EventTooLarge`.
    pub(super) skip: Skip,
}

/// The byte order mark at the start of a stream (invariant 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Bom {
    /// This many bytes of a BOM have been seen; more are needed to decide.
    Matching(usize),
    /// Stripped, or there was none.
    Decided,
}

impl Default for Bom {
    fn default() -> Self {
        Bom::Matching(0)
    }
}

/// Skipping an event that went past the limit (invariant 5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Skip {
    /// Reading normally.
    #[default]
    No,
    /// Skipping up to the next blank line. `mid_line`: the line being
    /// skipped has bytes, so its end is not a blank line.
    Block { mid_line: bool },
}

/// The event block being read: reset when a blank line ends it.
#[derive(Debug, Default)]
pub(super) struct Block {
    /// The spec's data buffer.
    pub(super) data: Data,
    /// The event type buffer, if an `event` field set it.
    pub(super) event_type: Option<Text>,
    /// Where [`Text::Own`] event types are.
    pub(super) type_buf: Vec<u8>,
    /// The spec's "last event ID buffer", when an `id` field of this block
    /// set it (committed to the source at the blank line).
    pub(super) id: Option<Text>,
    /// Where [`Text::Own`] ids are.
    pub(super) id_buf: Vec<u8>,
    /// Bytes counted against the limit (invariant 4).
    pub(super) size: usize,
    /// Length of the event type counted in `size`.
    pub(super) type_len: usize,
    /// A valid `retry` read in this block, carried by its event.
    pub(super) retry: Option<Duration>,
}

/// The data lines of a block.
#[derive(Debug, Default)]
pub(super) struct Data {
    /// How many data lines the block has; 0 means the data buffer is empty
    /// and a blank line dispatches nothing.
    pub(super) lines: usize,
    /// The block's only data line so far, when it lies in the chunk being
    /// read: its value is not copied at all.
    pub(super) in_chunk: Option<(usize, usize)>,
    /// Otherwise the values joined by LF, from `start` on (a line that
    /// spanned chunks is moved here whole, field name included).
    pub(super) buf: Vec<u8>,
    /// Where the data starts in `buf`.
    pub(super) start: usize,
}

/// Where a value of the block lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Text {
    /// In the chunk being read, at these offsets (invariant 1).
    Chunk(usize, usize),
    /// In the field's own buffer of the [`Block`].
    Own,
}

/// What an `EventSource` keeps across connections.
#[derive(Debug, Default)]
pub(super) struct Source {
    /// The spec's "last event ID string", in the decoder's own buffer:
    /// committing an id copies a few bytes instead of sharing the chunk.
    pub(super) last_event_id: String,
    /// `last_event_id` as a shared string for owned events that carry it
    /// without an `id` field of their own; made the first time one needs it.
    pub(super) last_event_id_shared: Option<crate::ByteStr>,
    /// The reconnection time set by the last valid `retry` field.
    pub(super) retry: Option<Duration>,
}

/// Which frames a front end wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Want {
    /// Events only: comments and `retry` fields are read but not reported.
    Events,
    /// Events, comments, and `retry` fields.
    Frames,
}

/// A complete line being acted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Span {
    /// In the chunk, at these offsets.
    Chunk(usize, usize),
    /// In `Connection::line`, at these offsets (a line that spanned chunks).
    Held(usize, usize),
}

/// What one step of the loop found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// The chunk is used up.
    End,
    /// The block holds an event to dispatch: read it, then call
    /// `Block::clear`.
    Event,
    /// A comment, without its colon.
    Comment(Span),
    /// A valid `retry` field.
    Retry(Duration),
    /// The event went past the limit; it is being skipped.
    TooLarge,
}

/// The chunk being read, and the part of it checked as UTF-8 (invariant 7).
#[derive(Clone, Copy, Debug)]
pub(super) struct Input<'c> {
    pub(super) bytes: &'c [u8],
    /// Where `checked` starts in `bytes`.
    pub(super) checked_at: usize,
    /// `bytes[checked_at..checked_at + checked.len()]`, when it is UTF-8.
    pub(super) checked: Option<&'c str>,
    /// Where the chunk's last CR or LF is.
    pub(super) last_break: Option<usize>,
}

impl<'c> Input<'c> {
    /// The value at `start..end` of the chunk as text: borrowed when it lies
    /// in the checked part, otherwise converted on its own.
    #[inline]
    pub(super) fn str(&self, start: usize, end: usize) -> Cow<'c, str> {
        match self.checked_str(start, end) {
            Some(text) => Cow::Borrowed(text),
            None => String::from_utf8_lossy(&self.bytes[start..end]),
        }
    }

    /// The value at `start..end` of the chunk, if it lies in the checked
    /// part (and so needs no check of its own).
    #[inline]
    pub(super) fn checked_str(&self, start: usize, end: usize) -> Option<&'c str> {
        let checked = self.checked?;
        let from = start.checked_sub(self.checked_at)?;
        checked.get(from..end - self.checked_at)
    }
}

/// The complete lines of a chunk: what to check as UTF-8 once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CompleteLines {
    /// Where they start: 0, or past the first line end when the chunk's
    /// first bytes continue a line of an earlier chunk.
    pub(super) start: usize,
    /// Just past the last line end (`start` when there is none).
    pub(super) end: usize,
    /// Where the chunk's last CR or LF is.
    pub(super) last_break: Option<usize>,
}

/// Where the complete lines of `chunk` lie, given whether its first bytes
/// continue a line of an earlier chunk.
fn complete_lines(breaks: &parse::LineBreaks, chunk: &[u8], continues_line: bool) -> CompleteLines {
    let none = CompleteLines {
        start: 0,
        end: 0,
        last_break: None,
    };
    // Forward first: a chunk in the middle of a long line has no line end,
    // and a forward search says so at memory speed (a backward one, measured,
    // at a third of it).
    let Some(first) = breaks.find(chunk) else {
        return none;
    };
    let last = breaks.rfind(chunk).unwrap_or(first);
    let first = if continues_line { first + 1 } else { 0 };
    CompleteLines {
        start: first.min(last + 1),
        end: last + 1,
        last_break: Some(last),
    }
}

/// `bytes` as text, borrowed when it is UTF-8 (checked with `simdutf8`),
/// with U+FFFD for each invalid sequence otherwise.
#[inline]
pub(super) fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Text of a value of the block: `t` resolved against the chunk or `own`.
#[inline]
pub(super) fn text<'a>(t: Text, chunk: &'a [u8], own: &'a [u8]) -> &'a [u8] {
    match t {
        Text::Chunk(start, end) => &chunk[start..end],
        Text::Own => own,
    }
}

impl Block {
    /// Forgets the block, keeping the buffers' capacity.
    pub(super) fn clear(&mut self) {
        self.data.lines = 0;
        self.data.in_chunk = None;
        self.data.buf.clear();
        self.data.start = 0;
        self.event_type = None;
        self.id = None;
        self.size = 0;
        self.type_len = 0;
        self.retry = None;
    }

    /// The event type to report: `None` for the default type (empty or
    /// `message`).
    pub(super) fn event_type_text<'a>(&'a self, chunk: &'a [u8]) -> Option<(Text, &'a [u8])> {
        let t = self.event_type?;
        let bytes = text(t, chunk, &self.type_buf);
        (!bytes.is_empty() && bytes != parse::DEFAULT_EVENT_TYPE.as_bytes()).then_some((t, bytes))
    }
}

/// The decoder's state: the limit and the three groups. The line loop and
/// what it calls are its methods, so a front end can run it while reading
/// its own chunk (`EventDecoder::current`) alongside.
#[derive(Debug)]
pub(super) struct State {
    /// Limit on the bytes held for one event (invariant 4).
    pub(super) max_event_size: usize,
    /// How far the byte stream has been read; reset by `finish`.
    pub(super) conn: Connection,
    /// The event block being read; reset at each blank line.
    pub(super) block: Block,
    /// What the `EventSource` keeps across connections.
    pub(super) source: Source,
    /// The line end search, made once.
    pub(super) breaks: parse::LineBreaks,
}

impl State {
    /// Whether the next chunk's first bytes continue a line of an earlier
    /// one (and so may continue a character).
    pub(super) fn continues_line(&self) -> bool {
        !self.conn.line.is_empty()
            || matches!(self.conn.bom, Bom::Matching(n) if n > 0)
            || self.conn.skip == Skip::Block { mid_line: true }
    }

    /// Where the complete lines of a new `chunk` lie, given what the
    /// earlier chunks left: the part to check as UTF-8 once.
    pub(super) fn complete_lines(&self, chunk: &[u8]) -> CompleteLines {
        complete_lines(&self.breaks, chunk, self.continues_line())
    }

    /// The line loop: reads lines of `input` from `*pos` until one yields
    /// something for the front end, or the chunk ends.
    pub(super) fn step(&mut self, input: &Input<'_>, pos: &mut usize, want: Want) -> Step {
        if mem::take(&mut self.conn.line_handed_out) {
            self.conn.line.clear();
        }
        let chunk = input.bytes;
        loop {
            let rest = &chunk[*pos..];
            if rest.is_empty() {
                return Step::End;
            }
            if self.conn.skip_lf {
                self.conn.skip_lf = false;
                if rest[0] == b'\n' {
                    *pos += 1;
                    continue;
                }
            }
            if let Bom::Matching(matched) = self.conn.bom {
                *pos += self.strip_bom(matched, rest);
                continue;
            }
            // Past the chunk's last line end (found when the chunk was
            // checked) there is none to search for.
            let past_last = input.last_break.is_none_or(|last| last < *pos);
            let found = if past_last {
                None
            } else {
                parse::find_line_end(&self.breaks, rest)
            };
            let Some(end) = found else {
                *pos = chunk.len();
                return match self.hold_partial_line(rest) {
                    Ok(()) => Step::End,
                    Err(TooLarge) => Step::TooLarge,
                };
            };
            let start = *pos;
            *pos += end.next;
            self.conn.skip_lf = end.cr_at_end;
            if let Skip::Block { mid_line } = self.conn.skip {
                // A blank line ends the skipped block.
                self.conn.skip = if end.len == 0 && !mid_line {
                    Skip::No
                } else {
                    Skip::Block { mid_line: false }
                };
                continue;
            }
            let span = if self.conn.line.is_empty() {
                if self.check_line(end.len, false).is_err() {
                    return Step::TooLarge;
                }
                if self.data_then_blank(input, start, start + end.len, pos) {
                    return Step::Event;
                }
                Span::Chunk(start, start + end.len)
            } else {
                if self
                    .check_line(self.conn.line.len() + end.len, false)
                    .is_err()
                {
                    return Step::TooLarge;
                }
                self.reserve_line(end.len);
                self.conn.line.extend_from_slice(&rest[..end.len]);
                Span::Held(0, self.conn.line.len())
            };
            if let Some(step) = self.process_line(input, span, want) {
                return step;
            }
        }
    }

    /// The shape of nearly every event's end, and of whole LLM token events:
    /// the block's first data line (at `start..end`, ended by LF or CRLF) is
    /// followed at once by a blank line (LF). Then the line and the blank
    /// line are taken together and the event dispatched, without a second
    /// trip through the loop. Any other case goes the general way.
    #[inline]
    fn data_then_blank(
        &mut self,
        input: &Input<'_>,
        start: usize,
        end: usize,
        pos: &mut usize,
    ) -> bool {
        let chunk = input.bytes;
        if self.block.data.lines != 0 || chunk.get(*pos) != Some(&b'\n') || chunk[*pos - 1] != b'\n'
        {
            return false;
        }
        let Some(value) = chunk[start..end].strip_prefix(parse::DATA_FIELD) else {
            return false;
        };
        let value_start = end - value.len() + usize::from(value.first() == Some(&b' '));
        *pos += 1;
        self.block.data.lines = 1;
        self.block.data.in_chunk = Some((value_start, end));
        // The data buffer is not empty: the dispatch makes an event.
        self.dispatch(input)
    }

    /// At stream start: matches `rest` against the BOM, `matched` bytes of
    /// which were seen, and returns how many bytes to consume.
    fn strip_bom(&mut self, matched: usize, rest: &[u8]) -> usize {
        let n = (parse::BOM.len() - matched).min(rest.len());
        if rest[..n] != parse::BOM[matched..matched + n] {
            // Not a BOM: the bytes matched so far start the first line (and
            // count against the limit from the next check on).
            self.conn.line.extend_from_slice(&parse::BOM[..matched]);
            self.conn.bom = Bom::Decided;
            return 0;
        }
        self.conn.bom = if matched + n == parse::BOM.len() {
            Bom::Decided
        } else {
            Bom::Matching(matched + n)
        };
        n
    }

    /// Keeps `rest`, the start of a line whose end is in a later chunk.
    fn hold_partial_line(&mut self, rest: &[u8]) -> Result<(), TooLarge> {
        if let Skip::Block { .. } = self.conn.skip {
            self.conn.skip = Skip::Block { mid_line: true };
            return Ok(());
        }
        self.check_line(self.conn.line.len() + rest.len(), true)?;
        self.reserve_line(rest.len());
        self.conn.line.extend_from_slice(rest);
        Ok(())
    }

    /// Enforces the limit for a non-blank line of `len` bytes (invariant 4).
    /// On overflow, drops the block and starts skipping; `mid_line` says the
    /// rest of this line is still to come.
    fn check_line(&mut self, len: usize, mid_line: bool) -> Result<(), TooLarge> {
        // A blank line adds nothing; it must get through to end the block even
        // if the limit was lowered below what the block already holds.
        if len == 0 || self.block.size.saturating_add(len) <= self.max_event_size {
            return Ok(());
        }
        self.block.clear();
        self.conn.line.clear();
        self.conn.skip = Skip::Block { mid_line };
        Err(TooLarge)
    }

    /// Acts on one complete line.
    fn process_line(&mut self, input: &Input<'_>, span: Span, want: Want) -> Option<Step> {
        let (line, base, held) = match span {
            Span::Chunk(start, end) => (&input.bytes[start..end], start, false),
            Span::Held(start, end) => (&self.conn.line[start..end], start, true),
        };
        let offsets = |value: &[u8]| {
            let start = value.as_ptr() as usize - line.as_ptr() as usize;
            (start, start + value.len())
        };
        let (field, (start, end)) = match parse::parse_line(line) {
            Line::Blank => {
                return self.dispatch(input).then_some(Step::Event);
            }
            Line::Comment(text) => {
                if want == Want::Events {
                    self.conn.line.clear();
                    return None;
                }
                let (start, end) = offsets(text);
                self.conn.line_handed_out = held;
                return Some(match span {
                    Span::Chunk(..) => Step::Comment(Span::Chunk(base + start, base + end)),
                    Span::Held(..) => Step::Comment(Span::Held(start, end)),
                });
            }
            Line::Field(Field::Retry, value) => {
                let retry = parse::parse_retry(value);
                self.conn.line.clear();
                let retry = retry?;
                self.source.retry = Some(retry);
                self.block.retry = Some(retry);
                return (want == Want::Frames).then_some(Step::Retry(retry));
            }
            Line::Field(Field::Unknown, _) => {
                self.conn.line.clear();
                return None;
            }
            Line::Field(Field::Id, value) if memchr::memchr(0, value).is_some() => {
                // "If the field value does not contain U+0000 NULL, then set
                // the last event ID buffer to the field value."
                self.conn.line.clear();
                return None;
            }
            Line::Field(field, value) => (field, offsets(value)),
        };
        let block = &mut self.block;
        match field {
            Field::Data => {
                block.size += end - start + 1;
                if held {
                    self.push_held_data(start, end);
                } else {
                    self.push_chunk_data(input.bytes, base + start, base + end);
                }
            }
            Field::Event => {
                block.size = block.size - block.type_len + (end - start);
                block.type_len = end - start;
                block.event_type = Some(if held {
                    block.type_buf.clear();
                    block
                        .type_buf
                        .extend_from_slice(&self.conn.line[start..end]);
                    Text::Own
                } else {
                    Text::Chunk(base + start, base + end)
                });
            }
            _ => {
                block.id = Some(if held {
                    block.id_buf.clear();
                    block.id_buf.extend_from_slice(&self.conn.line[start..end]);
                    Text::Own
                } else {
                    Text::Chunk(base + start, base + end)
                });
            }
        }
        self.conn.line.clear();
        None
    }

    /// A data line lying in the chunk, at `start..end`.
    fn push_chunk_data(&mut self, chunk: &[u8], start: usize, end: usize) {
        let data = &mut self.block.data;
        data.lines += 1;
        if data.lines == 1 {
            data.in_chunk = Some((start, end));
            return;
        }
        self.spill_data(chunk);
        let value = &chunk[start..end];
        self.reserve_data(value.len() + 1);
        self.block.data.buf.push(b'\n');
        self.block.data.buf.extend_from_slice(value);
    }

    /// A data line held in `Connection::line`, its value at `start..end`.
    fn push_held_data(&mut self, start: usize, end: usize) {
        let data = &mut self.block.data;
        data.lines += 1;
        if data.lines == 1 {
            // The first line moves, prefix and all: no copy. The two buffers
            // trade places, so neither allocation is lost.
            data.buf.clear();
            mem::swap(&mut data.buf, &mut self.conn.line);
            data.buf.truncate(end);
            data.start = start;
            return;
        }
        if data.start > 0 {
            data.buf.drain(..data.start);
            data.start = 0;
        }
        self.reserve_data(end - start + 1);
        self.block.data.buf.push(b'\n');
        self.block
            .data
            .buf
            .extend_from_slice(&self.conn.line[start..end]);
    }

    /// Copies the block's single data line out of the chunk into its buffer.
    fn spill_data(&mut self, chunk: &[u8]) {
        if let Some((start, end)) = self.block.data.in_chunk.take() {
            self.block.data.buf.clear();
            self.block.data.start = 0;
            self.reserve_data(end - start);
            self.block.data.buf.extend_from_slice(&chunk[start..end]);
        }
    }

    /// A blank line: the spec's "dispatch the event" steps up to the point
    /// where the event is made. Returns whether there is an event: an empty
    /// data buffer dispatches nothing.
    fn dispatch(&mut self, input: &Input<'_>) -> bool {
        // 1. The last event ID string takes the buffer's value, even when no
        //    event is dispatched.
        if let Some(id) = self.block.id {
            let last = &mut self.source.last_event_id;
            last.clear();
            match id {
                Text::Chunk(start, end) => last.push_str(&input.str(start, end)),
                Text::Own => last.push_str(&lossy(&self.block.id_buf)),
            }
            self.source.last_event_id_shared = None;
        }
        if self.block.data.lines == 0 {
            self.block.clear();
            return false;
        }
        true
    }

    /// Copies what must outlive the chunk (invariant 1).
    pub(super) fn release_input(&mut self, chunk: &[u8]) {
        self.spill_data(chunk);
        let block = &mut self.block;
        if let Some(Text::Chunk(start, end)) = block.event_type {
            block.type_buf.clear();
            block.type_buf.extend_from_slice(&chunk[start..end]);
            block.event_type = Some(Text::Own);
        }
        if let Some(Text::Chunk(start, end)) = block.id {
            block.id_buf.clear();
            block.id_buf.extend_from_slice(&chunk[start..end]);
            block.id = Some(Text::Own);
        }
    }

    fn reserve_line(&mut self, additional: usize) {
        reserve_bounded(
            &mut self.conn.line,
            additional,
            &mut self.block.data.buf,
            self.max_event_size,
        );
    }

    fn reserve_data(&mut self, additional: usize) {
        reserve_bounded(
            &mut self.block.data.buf,
            additional,
            &mut self.conn.line,
            self.max_event_size,
        );
    }
}

/// The event being read went past the limit.
#[derive(Debug)]
pub(super) struct TooLarge;

/// Makes room in `buf` for `additional` more bytes, growing geometrically but
/// keeping the capacities of `buf` and `other` together within `max` (the
/// caller has checked that the bytes themselves fit). `other`'s spare
/// capacity is given back first if it is in the way.
pub(super) fn reserve_bounded(
    buf: &mut Vec<u8>,
    additional: usize,
    other: &mut Vec<u8>,
    max: usize,
) {
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
    fn complete_lines_skip_a_continued_first_line_and_a_partial_last_one() {
        let lines = |chunk: &[u8], continues| {
            let found = complete_lines(parse::LineBreaks::get(), chunk, continues);
            (found.start, found.end, found.last_break)
        };
        assert_eq!(lines(b"a\nb\nc", false), (0, 4, Some(3)));
        assert_eq!(lines(b"a\nb\nc", true), (2, 4, Some(3)));
        assert_eq!(lines(b"abc", false), (0, 0, None));
        assert_eq!(lines(b"a\r", true), (2, 2, Some(1)));
    }
}
