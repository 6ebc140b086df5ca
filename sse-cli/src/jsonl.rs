//! The JSON Lines formats: what `decode` and `listen --json` write, and what
//! `encode` and `serve` read.

use std::io::Write;

use serde::{Deserialize, Serialize};
use sse_codec::{Event, Frame, FrameRef};

/// One output line.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Line<'a> {
    /// An event as `EventSource` dispatches it.
    Event {
        #[serde(rename = "type")]
        event_type: &'a str,
        data: &'a str,
        #[serde(rename = "lastEventId")]
        last_event_id: &'a str,
    },
    Retry {
        retry: u128,
    },
    Comment {
        comment: &'a str,
    },
}

impl<'a> Line<'a> {
    /// The line for a decoded frame; `None` for comments unless wanted.
    pub(crate) fn of(frame: &'a Frame, comments: bool) -> Option<Line<'a>> {
        Self::of_ref(frame.as_frame_ref(), comments)
    }

    /// The line for a decoded frame, borrowed.
    pub(crate) fn of_ref(frame: FrameRef<'a>, comments: bool) -> Option<Line<'a>> {
        match frame {
            FrameRef::Event(event) => Some(Line::Event {
                event_type: event.event_type(),
                data: event.data(),
                last_event_id: event.id().unwrap_or_default(),
            }),
            FrameRef::Retry(retry) => Some(Line::Retry {
                retry: retry.as_millis(),
            }),
            FrameRef::Comment(text) if comments => Some(Line::Comment { comment: text }),
            _ => None,
        }
    }

    /// Writes the line and its newline.
    pub(crate) fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        out.write_all(b"\n")
    }
}

/// One input line: `data` (a string, or any JSON value, written as JSON),
/// `event`, `id`, `retry` (milliseconds) and `comment`, all optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    data: Option<serde_json::Value>,
    event: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    comment: Option<String>,
}

/// The frames one input line stands for, in order: its comment, then its
/// event (or its retry alone). An error says why the line is refused; then
/// nothing of it may be written.
pub(crate) fn parse(line: &str) -> Result<Vec<Frame>, String> {
    let input: Input = serde_json::from_str(line).map_err(|err| json_error(&err))?;
    let mut frames = Vec::new();
    if let Some(comment) = input.comment {
        frames.push(Frame::comment(comment));
    }
    let retry = input.retry.map(std::time::Duration::from_millis);
    if input.data.is_some() || input.event.is_some() || input.id.is_some() {
        let mut event = Event::builder();
        match input.data {
            Some(serde_json::Value::String(data)) => event = event.data(data),
            Some(value) => event = event.data(value.to_string()),
            None => {}
        }
        if let Some(event_type) = input.event {
            event = event.event_type(event_type);
        }
        if let Some(id) = input.id {
            event = event.id(id);
        }
        if let Some(retry) = retry {
            event = event.retry(retry);
        }
        frames.push(Frame::Event(event.build().map_err(|err| err.to_string())?));
    } else if let Some(retry) = retry {
        frames.push(Frame::Retry(retry));
    }
    if frames.is_empty() {
        return Err("no field: expected data, event, id, retry or comment".to_owned());
    }
    Ok(frames)
}

/// serde_json's message with its position given as a column only: the line
/// number that matters is the input's, which the caller names.
fn json_error(err: &serde_json::Error) -> String {
    let message = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    match message.strip_suffix(&suffix) {
        Some(message) => format!("{message} (column {})", err.column()),
        None => message,
    }
}
