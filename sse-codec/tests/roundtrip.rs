//! Property tests: the decoder against the naive reference decoder, chunking
//! invariance (also at the size limit), and encode-then-decode.

mod support;

use std::time::Duration;

use bytes::BytesMut;
use proptest::prelude::*;
use proptest::sample::Index;
use sse_codec::{Event, EventDecoder, EventRef, Frame};
use support::{decode_chunks, naive, split_at, Out};

/// Bytes made of the pieces that matter to the grammar, so that random
/// input is dense in fields, line ends, BOMs and broken UTF-8.
fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop::sample::select(vec![
        &b"data"[..],
        b"event",
        b"id",
        b"retry",
        b"message",
        b"Data",
        b":",
        b": ",
        b" ",
        b"\r",
        b"\n",
        b"\r\n",
        b"x",
        b"12",
        b"\xEF\xBB\xBF",
        b"\xEF",
        b"\xFF",
        b"\xE2\x82",
        b"\xC3\xA9",
        b"\0",
    ]);
    prop::collection::vec(token, 0..80).prop_map(|tokens| tokens.concat())
}

/// Sorted cut offsets within `len`.
fn cuts(len: usize, picks: &[Index]) -> Vec<usize> {
    let mut cuts: Vec<usize> = picks.iter().map(|i| i.index(len + 1)).collect();
    cuts.sort_unstable();
    cuts
}

fn unlimited() -> EventDecoder {
    EventDecoder::with_max_event_size(usize::MAX)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The decoder, in any chunking, agrees with the naive reference decoder
    /// written from the spec.
    #[test]
    fn decoder_matches_naive_reference(input in sse_bytes(), picks in prop::collection::vec(any::<Index>(), 0..6)) {
        let outcome = decode_chunks(unlimited, split_at(&input, &cuts(input.len(), &picks)));
        let (frames, last_event_id, retry) = naive::decode(&input, "");
        prop_assert_eq!(outcome.out, frames.into_iter().map(Out::Frame).collect::<Vec<_>>());
        prop_assert_eq!(outcome.last_event_id.unwrap_or_default(), last_event_id);
        prop_assert_eq!(outcome.retry, retry);
    }

    /// Any bytes, any chunking: the same result as one chunk, and no panic.
    #[test]
    fn any_bytes_any_chunking(input in prop::collection::vec(any::<u8>(), 0..300), picks in prop::collection::vec(any::<Index>(), 0..8)) {
        let whole = decode_chunks(unlimited, [&input[..]]);
        let split = decode_chunks(unlimited, split_at(&input, &cuts(input.len(), &picks)));
        prop_assert_eq!(split, whole);
    }

    /// With a small size limit, errors and events are still the same in every
    /// chunking, and the decoder never holds more than the limit (checked
    /// after every chunk in `decode_chunks`).
    #[test]
    fn limit_is_chunking_invariant(input in sse_bytes(), max in 0usize..40, picks in prop::collection::vec(any::<Index>(), 0..8)) {
        let make = || EventDecoder::with_max_event_size(max);
        let whole = decode_chunks(make, [&input[..]]);
        let split = decode_chunks(make, split_at(&input, &cuts(input.len(), &picks)));
        let bytewise = decode_chunks(make, input.chunks(1));
        prop_assert_eq!(&split, &whole);
        prop_assert_eq!(&bytewise, &whole);
        // Every event that arrives is one the unlimited decoder also sees.
        let all = decode_chunks(unlimited, [&input[..]]);
        for out in &whole.out {
            if let Out::Frame(Frame::Event(event)) = out {
                prop_assert!(all.out.iter().any(|o| matches!(o, Out::Frame(Frame::Event(e)) if e.data() == event.data())));
            }
        }
    }
}

// ===== encode, then decode =====

fn data() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[ a:\r\n\u{feff}\u{0}\u{e9}]{0,24}"]
}

fn event() -> impl Strategy<Value = Event> {
    let event_type = prop::option::of(prop_oneof!["[^\r\n]{0,12}", Just("message".to_owned())]);
    let id = prop::option::of("[^\r\n\u{0}]{0,12}");
    let retry = prop::option::of(any::<u64>().prop_map(Duration::from_millis));
    (data(), event_type, id, retry).prop_map(|(data, event_type, id, retry)| {
        let mut b = Event::builder().data(data);
        if let Some(t) = event_type {
            b = b.event_type(t);
        }
        if let Some(id) = id {
            b = b.id(id);
        }
        if let Some(r) = retry {
            b = b.retry(r);
        }
        b.build().expect("generated fields are valid")
    })
}

fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        4 => event().prop_map(Frame::Event),
        1 => data().prop_map(Frame::comment),
        1 => any::<u64>().prop_map(|ms| Frame::Retry(Duration::from_millis(ms))),
    ]
}

/// Splits text at CRLF, CR and LF, as a test-local reference.
fn text_lines(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .split('\n')
        .map(str::to_owned)
        .collect()
}

/// What a browser-like decoder reports for `frames` once encoded: each
/// event's id is the last event ID at dispatch (it persists, and an empty id
/// resets it), a retry is reported before the event that carries it, and a
/// comment is one frame per line.
fn as_received(frames: &[Frame]) -> Vec<Frame> {
    let mut last_id = String::new();
    let mut out = Vec::new();
    for frame in frames {
        match frame {
            Frame::Event(event) => {
                if let Some(id) = event.id() {
                    id.clone_into(&mut last_id);
                }
                if let Some(retry) = event.retry() {
                    out.push(Frame::Retry(retry));
                }
                let mut b = Event::builder()
                    .data(event.data().to_owned())
                    .event_type(event.event_type().to_owned());
                if !last_id.is_empty() {
                    b = b.id(last_id.clone());
                }
                if let Some(retry) = event.retry() {
                    b = b.retry(retry);
                }
                out.push(Frame::Event(b.build().unwrap()));
            }
            Frame::Comment(text) => out.extend(text_lines(text).into_iter().map(Frame::comment)),
            Frame::Retry(retry) => out.push(Frame::Retry(*retry)),
            other => panic!("unknown frame {other:?}"),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// decode(encode(e)) == e for one event from a fresh decoder.
    #[test]
    fn one_event_round_trips(event in event()) {
        let mut bytes = event.to_bytes();
        let mut decoder = EventDecoder::with_max_event_size(usize::MAX);
        let decoded = decoder.decode_event(&mut bytes).unwrap().expect("an event");
        prop_assert!(decoder.decode_event(&mut bytes).unwrap().is_none());
        // A decoded event's id is the last event ID: an empty id reads as none.
        let expected = as_received(&[Frame::Event(event)]).pop().unwrap();
        prop_assert_eq!(Frame::Event(decoded), expected);
    }

    /// An encoded event read back with `EncodedFrame::from_wire` (what a
    /// broadcaster receiving frames from another process does) is taken as
    /// it is, with the same event; two frames, a frame cut short, or one
    /// with bytes after it are refused.
    #[test]
    fn from_wire_takes_exactly_one_whole_frame(event in event(), cut in any::<Index>()) {
        let wire = event.to_bytes();
        let (frame, decoded) = sse_codec::EncodedFrame::from_wire(wire.clone()).unwrap();
        prop_assert_eq!(frame.as_bytes(), &wire);
        let expected = as_received(&[Frame::Event(event)]).pop().unwrap();
        prop_assert_eq!(Frame::Event(decoded), expected);
        let twice = [&wire[..], &wire[..]].concat();
        prop_assert!(sse_codec::EncodedFrame::from_wire(twice.into()).is_err());
        let short = wire.slice(..cut.index(wire.len()));
        prop_assert!(sse_codec::EncodedFrame::from_wire(short).is_err());
        let trailing = [&wire[..], b":"].concat();
        prop_assert!(sse_codec::EncodedFrame::from_wire(trailing.into()).is_err());
    }

    /// Any valid sequence of frames, encoded and decoded in any chunking,
    /// comes back as a browser would see it, with no frame nobody wrote.
    #[test]
    fn frames_round_trip_in_any_chunking(frames in prop::collection::vec(frame(), 0..12), picks in prop::collection::vec(any::<Index>(), 0..8)) {
        let mut buf = BytesMut::new();
        for frame in &frames {
            frame.encode(&mut buf);
        }
        let outcome = decode_chunks(|| EventDecoder::with_max_event_size(usize::MAX), split_at(&buf, &cuts(buf.len(), &picks)));
        let expected: Vec<Out> = as_received(&frames).into_iter().map(Out::Frame).collect();
        prop_assert_eq!(outcome.out, expected);
    }

    /// Event types and ids with a line break are refused; any other value is
    /// written so that it decodes to exactly the fields that were set.
    #[test]
    fn fields_cannot_inject(
        event_type in prop_oneof!["[a:\r\n ]{0,8}", any::<String>()],
        id in prop_oneof!["[a:\r\n\u{0} ]{0,8}", any::<String>()],
        data in data(),
    ) {
        let built = Event::builder().event_type(event_type.clone()).id(id.clone()).data(data).build();
        let bad_type = event_type.contains(['\r', '\n']);
        let bad_id = id.contains(['\r', '\n', '\0']);
        prop_assert_eq!(built.is_err(), bad_type || bad_id);
        if let Ok(event) = built {
            let outcome = decode_chunks(|| EventDecoder::with_max_event_size(usize::MAX), [&event.to_bytes()[..]]);
            let expected: Vec<Out> = as_received(&[Frame::Event(event)]).into_iter().map(Out::Frame).collect();
            prop_assert_eq!(outcome.out, expected);
        }
    }

    /// Encoding straight from borrowed fields (`EventRef::encode`) refuses
    /// exactly what the builder refuses, and otherwise writes the very bytes
    /// of the event built from the same fields, with the exact length
    /// reserved and nothing written on error.
    #[test]
    fn borrowed_fields_encode_as_the_built_event(
        event_type in prop::option::of(prop_oneof!["[a:\r\n ]{0,8}", any::<String>(), Just("message".to_owned())]),
        id in prop::option::of(prop_oneof!["[a:\r\n\u{0} ]{0,8}", any::<String>()]),
        retry in prop::option::of(any::<u64>().prop_map(Duration::from_millis)),
        data in data(),
    ) {
        let mut builder = Event::builder().data(data.clone());
        let mut borrowed = EventRef::new(&data);
        if let Some(t) = &event_type {
            builder = builder.event_type(t.clone());
            borrowed = borrowed.with_event_type(t);
        }
        if let Some(id) = &id {
            builder = builder.id(id.clone());
            borrowed = borrowed.with_id(id);
        }
        if let Some(r) = retry {
            builder = builder.retry(r);
            borrowed = borrowed.with_retry(r);
        }
        let mut buf = BytesMut::from(&b"before"[..]);
        let written = borrowed.encode(&mut buf);
        match builder.build() {
            Ok(event) => {
                prop_assert!(written.is_ok());
                prop_assert_eq!(&buf[6..], &event.to_bytes()[..]);
                prop_assert_eq!(borrowed.to_event().unwrap(), event);
            }
            Err(_) => {
                prop_assert!(written.is_err());
                prop_assert_eq!(&buf[..], b"before");
            }
        }
    }
}
