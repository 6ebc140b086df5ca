//! A reference decoder written straight from the WHATWG text, for the
//! property tests: whole input at once, strings instead of bytes, no limits,
//! no cleverness. It shares no code with the crate's decoder.
//!
//! <https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>

use std::time::Duration;

use sse_codec::{Event, Frame};

/// What a browser would see for `input`, followed by the end of the stream.
pub fn decode(input: &[u8], last_event_id: &str) -> (Vec<Frame>, String, Option<Duration>) {
    // "Streams must be decoded using the UTF-8 decode algorithm", which
    // strips one leading BOM and replaces invalid sequences.
    let text = String::from_utf8_lossy(input);
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);

    let mut frames = Vec::new();
    let mut data = String::new();
    let mut event_type = String::new();
    let mut id_buffer = last_event_id.to_owned();
    let mut last_id = last_event_id.to_owned();
    let mut retry = None;
    let mut block_retry = None;

    // Only lines followed by an end-of-line are lines; what follows the last
    // one is an incomplete line, discarded at the end of the stream.
    let mut rest = text;
    while let Some(eol) = rest.find(['\r', '\n']) {
        let line = &rest[..eol];
        rest = if rest[eol..].starts_with("\r\n") {
            &rest[eol + 2..]
        } else {
            &rest[eol + 1..]
        };

        if line.is_empty() {
            // Dispatch the event.
            last_id = id_buffer.clone();
            let retry_of_block = block_retry.take();
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            if data.ends_with('\n') {
                data.pop();
            }
            let mut event = Event::builder().data(data.as_str());
            if !event_type.is_empty() {
                event = event.event_type(event_type.as_str());
            }
            if !last_id.is_empty() {
                event = event.id(last_id.as_str());
            }
            if let Some(r) = retry_of_block {
                event = event.retry(r);
            }
            frames.push(Frame::Event(
                event.build().expect("decoded fields are valid"),
            ));
            data.clear();
            event_type.clear();
            continue;
        }
        if let Some(comment) = line.strip_prefix(':') {
            frames.push(Frame::comment(comment));
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => event_type = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => id_buffer = value.to_owned(),
            // Chromium ignores a value that does not fit its integer.
            "retry"
                if value.chars().all(|c| c.is_ascii_digit()) && value.parse::<u64>().is_ok() =>
            {
                let ms = value.parse::<u64>().unwrap();
                retry = Some(Duration::from_millis(ms));
                block_retry = retry;
                frames.push(Frame::Retry(Duration::from_millis(ms)));
            }
            _ => {}
        }
    }
    (frames, last_id, retry)
}
