//! The borrowing front end: [`EventDecoder::for_each_event`] and
//! [`EventDecoder::for_each_frame`] hand out events whose fields are `&str`
//! of the chunk (or of the decoder's buffer, for a line that spanned
//! chunks), with no reference count and no allocation.

use std::borrow::Cow;

use super::state::{self, Input, Span, Step, Text, Want};
use super::EventDecoder;
use crate::error::DecodeError;
use crate::event_ref::{EventRef, FrameRef};

impl EventDecoder {
    /// Decodes all of `chunk` and calls `f` with each event, borrowed: its
    /// fields are `&str` of the chunk itself (or of the decoder's buffer, for
    /// a line that began in an earlier chunk). Nothing is copied, counted or
    /// allocated for an event that lies in one chunk, and the chunk is
    /// checked as UTF-8 once, not field by field.
    ///
    /// This is the fastest way to read a stream when each event is looked at
    /// and let go (parse the JSON in its data, print it, forward it); keep
    /// what must outlive the call with [`EventRef::to_event`] or by copying
    /// the fields. The events, errors and limits are exactly those of
    /// [`decode_event`](Self::decode_event), in any chunking; the two can be
    /// mixed on one decoder.
    ///
    /// `f` gets `Err(`[`DecodeError::EventTooLarge`]`)` once for each event
    /// past the limit, which is skipped; decoding goes on with the rest of
    /// the chunk. The whole chunk is always read: a line or event it cuts is
    /// kept for the next chunk.
    ///
    /// # Examples
    ///
    /// Sum the tokens of an LLM stream without allocating per event:
    ///
    /// ```
    /// use sse_codec::EventDecoder;
    ///
    /// let mut decoder = EventDecoder::new();
    /// let mut text = String::new();
    /// for chunk in [&b"data: {\"t\":\"Hel"[..], b"lo\"}\n\ndata: {\"t\":\" world\"}\n\n"] {
    ///     decoder.for_each_event(chunk, |event| match event {
    ///         Ok(event) => {
    ///             let value: serde_json::Value = serde_json::from_str(event.data()).unwrap();
    ///             text.push_str(value["t"].as_str().unwrap());
    ///         }
    ///         Err(err) => eprintln!("skipped: {err}"),
    ///     });
    /// }
    /// assert_eq!(text, "Hello world");
    /// ```
    pub fn for_each_event<F>(&mut self, chunk: &[u8], mut f: F)
    where
        F: FnMut(Result<EventRef<'_>, DecodeError>),
    {
        self.visit(chunk, Want::Events, |frame| match frame {
            Ok(FrameRef::Event(event)) => f(Ok(event)),
            Ok(_) => {}
            Err(err) => f(Err(err)),
        });
    }

    /// Like [`for_each_event`](Self::for_each_event), with comments and
    /// `retry` fields too, in stream order: what
    /// [`decode_frame`](Self::decode_frame) yields, borrowed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_codec::{EventDecoder, FrameRef};
    ///
    /// let mut decoder = EventDecoder::new();
    /// let mut seen = Vec::new();
    /// decoder.for_each_frame(b":ping\nretry: 5000\ndata: x\n\n", |frame| {
    ///     seen.push(match frame.unwrap() {
    ///         FrameRef::Comment(text) => format!("comment {text}"),
    ///         FrameRef::Event(event) => format!("event {}", event.data()),
    ///         other => format!("{other:?}"),
    ///     });
    /// });
    /// assert_eq!(seen, ["comment ping", "Retry(5s)", "event x"]);
    /// assert_eq!(decoder.retry(), Some(Duration::from_secs(5)));
    /// ```
    pub fn for_each_frame<F>(&mut self, chunk: &[u8], f: F)
    where
        F: FnMut(Result<FrameRef<'_>, DecodeError>),
    {
        self.visit(chunk, Want::Frames, f);
    }

    fn visit<F>(&mut self, chunk: &[u8], want: Want, mut f: F)
    where
        F: FnMut(Result<FrameRef<'_>, DecodeError>),
    {
        self.leave_chunk();
        let lines = self.state.complete_lines(chunk);
        let input = Input {
            bytes: chunk,
            checked_at: lines.start,
            checked: simdutf8::basic::from_utf8(&chunk[lines.start..lines.end]).ok(),
            last_break: lines.last_break,
        };
        let mut pos = 0;
        loop {
            match self.state.step(&input, &mut pos, want) {
                Step::End => break,
                Step::TooLarge => f(Err(DecodeError::EventTooLarge {
                    max: self.state.max_event_size,
                })),
                Step::Retry(retry) => f(Ok(FrameRef::Retry(retry))),
                Step::Comment(span) => {
                    let text = match span {
                        Span::Chunk(start, end) => input.str(start, end),
                        Span::Held(start, end) => state::lossy(&self.state.conn.line[start..end]),
                    };
                    f(Ok(FrameRef::Comment(&text)));
                }
                Step::Event => {
                    self.call_with_event(&input, &mut f);
                    self.state.block.clear();
                }
            }
        }
        self.state.release_input(chunk);
    }

    /// Calls `f` with the event the block holds.
    fn call_with_event<F>(&self, input: &Input<'_>, f: &mut F)
    where
        F: FnMut(Result<FrameRef<'_>, DecodeError>),
    {
        let block = &self.state.block;
        let data = match block.data.in_chunk {
            Some((start, end)) => input.str(start, end),
            None => state::lossy(&block.data.buf[block.data.start..]),
        };
        let event_type: Option<Cow<'_, str>> =
            block
                .event_type_text(input.bytes)
                .map(|(t, bytes)| match t {
                    Text::Chunk(start, end) => input.str(start, end),
                    Text::Own => state::lossy(bytes),
                });
        // The dispatch has committed the block's id, if it set one.
        let id = Some(self.state.source.last_event_id.as_str()).filter(|id| !id.is_empty());
        f(Ok(FrameRef::Event(EventRef::decoded(
            &data,
            event_type.as_deref(),
            id,
            block.retry,
        ))));
    }
}
