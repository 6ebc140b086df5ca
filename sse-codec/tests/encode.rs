//! Exact wire bytes for each encoder feature, and refusal of every field
//! that could inject another.

mod support;

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use sse_codec::{Event, Frame, KEEP_ALIVE};
use support::{decode_chunks, Out};

fn encoded(event: &Event) -> Bytes {
    let bytes = event.to_bytes();
    assert_eq!(bytes.len(), event.encoded_len(), "encoded_len of {event:?}");
    bytes
}

/// Decodes `bytes` as one stream and returns its frames.
fn decode(bytes: &[u8]) -> Vec<Out> {
    decode_chunks(sse_codec::EventDecoder::new, [bytes]).out
}

/// `event` encodes to exactly `wire`, which decodes back to `event` alone.
fn assert_wire(event: Event, wire: &str) {
    assert_eq!(encoded(&event), wire);
    assert_eq!(
        decode(wire.as_bytes()),
        vec![Out::Frame(Frame::Event(event))]
    );
}

#[test]
fn data_only() {
    assert_wire(Event::new("hello"), "data: hello\n\n");
}

#[test]
fn empty_data_is_still_an_event() {
    // A browser dispatches `data: ` with empty data; axum's encoder drops it.
    assert_wire(Event::new(""), "data: \n\n");
}

#[test]
fn data_with_leading_space_keeps_it() {
    assert_wire(Event::new(" indented"), "data:  indented\n\n");
}

#[test]
fn data_with_trailing_newline_keeps_it() {
    assert_wire(Event::new("line\n"), "data: line\ndata: \n\n");
}

#[test]
fn every_line_break_starts_a_data_line() {
    let event = Event::new("a\r\nb\rc\nd");
    assert_eq!(event.data(), "a\nb\nc\nd");
    assert_eq!(encoded(&event), "data: a\ndata: b\ndata: c\ndata: d\n\n");
}

#[test]
fn lone_cr_in_data_does_not_lose_the_rest() {
    // sse-codec 0.3 wrote "data: a\rb", which decodes as "a" and a field "b".
    let event = Event::new("a\rb");
    assert_eq!(encoded(&event), "data: a\ndata: b\n\n");
    assert_eq!(
        decode(&encoded(&event)),
        vec![Out::Frame(Frame::Event(Event::new("a\nb")))]
    );
}

#[test]
fn all_fields_in_fixed_order() {
    let event = Event::builder()
        .data("d")
        .retry(Duration::from_millis(2500))
        .id("i")
        .event_type("t")
        .build()
        .unwrap();
    assert_eq!(encoded(&event), "event: t\nid: i\nretry: 2500\ndata: d\n\n");
}

#[test]
fn default_type_is_not_written() {
    for ty in ["", "message"] {
        let event = Event::builder().event_type(ty).data("x").build().unwrap();
        assert_eq!(event.event_type(), "message");
        assert_eq!(encoded(&event), "data: x\n\n");
        assert_eq!(event, Event::new("x"));
    }
}

#[test]
fn empty_id_is_written_to_reset_the_last_event_id() {
    let event = Event::builder().id("").data("x").build().unwrap();
    assert_eq!(event.id(), Some(""));
    assert_eq!(encoded(&event), "id: \ndata: x\n\n");
}

#[test]
fn retry_is_written_in_whole_milliseconds() {
    let event = Event::builder()
        .retry(Duration::from_micros(1_999))
        .build()
        .unwrap();
    assert_eq!(encoded(&event), "retry: 1\ndata: \n\n");
    let event = Event::builder()
        .retry(Duration::from_secs(u64::MAX))
        .build()
        .unwrap();
    assert_eq!(
        encoded(&event),
        "retry: 18446744073709551615000\ndata: \n\n"
    );
}

#[test]
fn event_type_with_line_break_is_refused() {
    for ty in ["a\nb", "a\rb", "a\r\n", "\n", "x\ndata: injected"] {
        let err = Event::builder()
            .event_type(ty)
            .data("x")
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "event type contains a line break",
            "{ty:?}"
        );
    }
}

#[test]
fn id_with_line_break_or_nul_is_refused() {
    for id in ["1\n", "\r1", "1\r\ndata: x"] {
        let err = Event::builder().id(id).build().unwrap_err();
        assert_eq!(err.to_string(), "id contains a line break", "{id:?}");
    }
    let err = Event::builder().id("1\0").build().unwrap_err();
    assert_eq!(err.to_string(), "id contains a NUL character");
}

#[test]
fn first_invalid_field_wins() {
    let err = Event::builder()
        .id("\n")
        .event_type("\n")
        .data("fine")
        .build()
        .unwrap_err();
    assert_eq!(err.to_string(), "id contains a line break");
}

#[test]
fn injection_attempt_from_sse_codec_0_3_is_refused() {
    // STYLE 4.2.1: event "x\ndata: injected" used to encode a second field.
    assert!(Event::builder()
        .event_type("x\ndata: injected")
        .data("a\rb")
        .build()
        .is_err());
}

#[test]
fn comment_frames_one_line_each() {
    assert_eq!(Frame::comment("").to_bytes(), ":\n");
    assert_eq!(Frame::comment("a\r\nb\rc\n").to_bytes(), ":a\n:b\n:c\n:\n");
    let frame = Frame::comment("two\nlines");
    assert_eq!(frame.to_bytes().len(), frame.encoded_len());
    assert_eq!(KEEP_ALIVE, &Frame::comment("").to_bytes()[..]);
}

#[test]
fn retry_frame_is_its_own_block() {
    let mut buf = BytesMut::new();
    Frame::Retry(Duration::from_millis(3000)).encode(&mut buf);
    Event::new("x").encode(&mut buf);
    assert_eq!(&buf[..], b"retry: 3000\n\ndata: x\n\n");
    // Decoded, the retry does not attach to the event.
    assert_eq!(
        decode(&buf),
        vec![
            Out::Frame(Frame::Retry(Duration::from_millis(3000))),
            Out::Frame(Frame::Event(Event::new("x"))),
        ]
    );
}

#[test]
fn encode_appends_and_reserves_exactly() {
    let event = Event::builder()
        .event_type("t")
        .id("1")
        .data("a\nb")
        .build()
        .unwrap();
    let mut buf = BytesMut::new();
    event.encode(&mut buf);
    assert_eq!(buf.capacity(), event.encoded_len());
    event.encode(&mut buf);
    assert_eq!(&buf[..], &[event.to_bytes(), event.to_bytes()].concat()[..]);
}

#[test]
fn to_buf_shares_single_line_data() {
    let payload = Bytes::from(vec![b'x'; 100_000]);
    let event = Event::builder()
        .event_type("big")
        .id("9")
        .data(sse_codec::ByteStr::from_utf8(payload.clone()).unwrap())
        .build()
        .unwrap();
    let buf = event.to_buf();
    assert_eq!(buf.remaining(), event.encoded_len());
    let parts: Vec<Bytes> = buf.clone().into_parts().collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[1].as_ptr(), payload.as_ptr(), "payload was copied");
    assert_eq!(parts.concat(), event.to_bytes());
    // As a Buf, read in odd steps across the part boundaries.
    let mut buf = buf;
    let mut out = Vec::new();
    while buf.has_remaining() {
        let n = buf.chunk().len().min(7);
        out.extend_from_slice(&buf.chunk()[..n]);
        buf.advance(n);
    }
    assert_eq!(out, event.to_bytes());
}

#[test]
fn to_buf_of_multi_line_data_is_one_part() {
    let event = Event::new("a\nb");
    let parts: Vec<Bytes> = event.to_buf().into_parts().collect();
    assert_eq!(parts, vec![event.to_bytes()]);
}

#[test]
fn conversions() {
    assert_eq!(Event::from("x"), Event::new("x"));
    assert_eq!(Event::from(String::from("x")), Event::new("x"));
    assert_eq!(
        Event::try_from(Bytes::from_static(b"x")).unwrap(),
        Event::new("x")
    );
    assert!(Event::try_from(Bytes::from_static(b"\xFF")).is_err());
    assert_eq!(Frame::from(Event::new("x")), Frame::Event(Event::new("x")));
    assert_eq!(Event::new("x").into_data(), "x");
}

#[cfg(feature = "json")]
mod json {
    use std::collections::HashMap;

    use super::*;

    #[derive(serde::Serialize)]
    struct Progress<'a> {
        job: &'a str,
        done: u32,
    }

    #[test]
    fn json_data_is_one_line() {
        let event = Event::builder()
            .event_type("progress")
            .json_data(&Progress {
                job: "a\nb",
                done: 3,
            })
            .build()
            .unwrap();
        assert_eq!(
            encoded(&event),
            "event: progress\ndata: {\"job\":\"a\\nb\",\"done\":3}\n\n"
        );
    }

    #[test]
    fn unserializable_json_is_an_error() {
        let mut map = HashMap::new();
        map.insert((1, 2), 3);
        let err = Event::builder().json_data(&map).build().unwrap_err();
        assert_eq!(err.to_string(), "data could not be serialized as JSON");
        assert!(std::error::Error::source(&err).is_some());
    }
}
