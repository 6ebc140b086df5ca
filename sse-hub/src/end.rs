//! Channels that end: why one ended ([`End`]), what a channel is now
//! ([`ChannelStatus`]), and the end as its subscribers receive it.

use sse_codec::{ByteStr, EncodedFrame, Event};

/// The event type of a channel's end event.
pub const END_TYPE: &str = "end";

/// Why a channel ended: the last thing its subscribers receive, as an
/// event of type [`END_TYPE`] whose data is JSON
/// `{"reason": "done" | "cancelled" | "error", "message": "..."}` (the
/// message only when there is one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// Everything was sent.
    Done,
    /// Someone asked for it to stop ([`Hub::cancel`](crate::Hub::cancel)).
    Cancelled,
    /// It failed: the producer said why, or was dropped without ending it,
    /// or its instance was lost.
    Error(String),
}

impl End {
    /// `done`, `cancelled` or `error`.
    pub fn reason(&self) -> &'static str {
        match self {
            End::Done => "done",
            End::Cancelled => "cancelled",
            End::Error(_) => "error",
        }
    }

    /// The error's message.
    pub fn message(&self) -> Option<&str> {
        match self {
            End::Error(message) => Some(message),
            End::Done | End::Cancelled => None,
        }
    }

    /// The end event's data: `{"reason":"error","message":"..."}`.
    pub fn to_json(&self) -> String {
        let mut json = format!("{{\"reason\":\"{}\"", self.reason());
        if let Some(message) = self.message() {
            json.push_str(",\"message\":");
            push_json_string(&mut json, message);
        }
        json.push('}');
        json
    }

    /// The end event with `id`, encoded; without one for a backend that
    /// adds its own id line (Redis).
    pub(crate) fn frame(&self, id: Option<ByteStr>) -> EncodedFrame {
        let mut event = Event::builder().event_type(END_TYPE).data(self.to_json());
        if let Some(id) = id {
            event = event.id(id);
        }
        let event = event
            .build()
            .expect("a backend's id and JSON data are valid");
        EncodedFrame::from(event)
    }

    /// The end that [`to_json`](Self::to_json) wrote, read back.
    #[cfg(feature = "redis")]
    pub(crate) fn from_json(json: &str) -> Option<End> {
        let value: serde_json::Value = serde_json::from_str(json).ok()?;
        match value.get("reason")?.as_str()? {
            "done" => Some(End::Done),
            "cancelled" => Some(End::Cancelled),
            "error" => Some(End::Error(value.get("message")?.as_str()?.to_owned())),
            _ => None,
        }
    }
}

/// `text` as a JSON string (RFC 8259: quotes, backslash and control
/// characters escaped).
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// What a channel is now ([`Hub::status`](crate::Hub::status)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelStatus {
    /// No such channel: never used, or ended and expired.
    Unknown,
    /// It exists and has not ended: events may still come.
    Live,
    /// It ended: its history (the end last) is kept until it expires.
    Ended {
        /// Why.
        end: End,
        /// The end event's id: a subscriber that resumes after it gets
        /// nothing more.
        id: ByteStr,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_event_is_json_with_its_reason_and_message() {
        assert_eq!(End::Done.to_json(), r#"{"reason":"done"}"#);
        assert_eq!(End::Cancelled.to_json(), r#"{"reason":"cancelled"}"#);
        let error = End::Error("upstream said \"no\"\n\\ \u{1}".into());
        assert_eq!(
            error.to_json(),
            r#"{"reason":"error","message":"upstream said \"no\"\n\\ \u0001"}"#
        );
        assert_eq!(
            End::Done.frame(Some("7".into())).as_bytes(),
            "event: end\nid: 7\ndata: {\"reason\":\"done\"}\n\n"
        );
    }
}
