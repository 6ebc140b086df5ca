//! Test support shared by the integration tests: drive the decoder in every
//! chunking mode, and compare.
// Each test binary uses part of it; the items are `pub` for the binaries.
#![allow(dead_code, unreachable_pub)]

pub mod naive;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use sse_codec::{DecodeError, Event, EventDecoder, Frame};
use tokio_util::codec::Decoder;

/// One item out of the decoder: a frame, or the size-limit error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    Frame(Frame),
    TooLarge,
}

/// Everything observable after decoding a whole stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub out: Vec<Out>,
    pub last_event_id: Option<String>,
    pub retry: Option<Duration>,
}

fn outcome(decoder: &EventDecoder, out: Vec<Out>) -> Outcome {
    Outcome {
        out,
        last_event_id: decoder.last_event_id().map(str::to_owned),
        retry: decoder.retry(),
    }
}

fn push(out: &mut Vec<Out>, result: Result<Option<Frame>, DecodeError>) -> bool {
    match result {
        Ok(Some(frame)) => {
            out.push(Out::Frame(frame));
            true
        }
        Ok(None) => false,
        Err(DecodeError::EventTooLarge { .. }) => {
            out.push(Out::TooLarge);
            true
        }
        Err(err) => panic!("unexpected error {err}"),
    }
}

/// Decodes `chunks` in order with a decoder from `make`, then ends the
/// stream, twice: owned (`decode_frame`) and borrowed (`for_each_frame`),
/// and checks that both agree. Returns the outcome.
pub fn decode_chunks<'a>(
    make: impl Fn() -> EventDecoder,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Outcome {
    let chunks: Vec<&[u8]> = chunks.into_iter().collect();
    let owned = decode_chunks_owned(make(), chunks.iter().copied());
    let borrowed = decode_chunks_borrowed(make(), chunks.iter().copied());
    assert_eq!(
        borrowed, owned,
        "borrowed and owned decoding differ: {chunks:?}"
    );
    owned
}

fn check_bound(decoder: &EventDecoder) {
    assert!(
        decoder.buffered_len() <= decoder.max_event_size(),
        "holds {} bytes, limit {}",
        decoder.buffered_len(),
        decoder.max_event_size()
    );
}

/// Decodes `chunks` in order with `decode_frame`, then ends the stream.
pub fn decode_chunks_owned<'a>(
    mut decoder: EventDecoder,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Outcome {
    let mut out = Vec::new();
    for chunk in chunks {
        let mut chunk = Bytes::copy_from_slice(chunk);
        while push(&mut out, decoder.decode_frame(&mut chunk)) {}
        assert!(chunk.is_empty(), "Ok(None) before the chunk was used up");
        check_bound(&decoder);
    }
    decoder.finish();
    outcome(&decoder, out)
}

/// Decodes `chunks` in order with `for_each_frame`, then ends the stream.
pub fn decode_chunks_borrowed<'a>(
    mut decoder: EventDecoder,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Outcome {
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.for_each_frame(chunk, |frame| {
            out.push(match frame {
                Ok(frame) => Out::Frame(frame.to_frame().expect("a decoded frame is valid")),
                Err(DecodeError::EventTooLarge { .. }) => Out::TooLarge,
                Err(err) => panic!("unexpected error {err}"),
            });
        });
        check_bound(&decoder);
    }
    decoder.finish();
    outcome(&decoder, out)
}

/// The input split at the given offsets (sorted, within the input).
pub fn split_at<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        chunks.push(&input[start..cut]);
        start = cut;
    }
    chunks.push(&input[start..]);
    chunks
}

/// Events only, through the `tokio_util` `Decoder` impl: all bytes buffered,
/// then `decode` until `None`, then `decode_eof`.
pub fn decode_via_eof(mut decoder: EventDecoder, input: &[u8]) -> (Vec<Out>, EventDecoder) {
    let mut out = Vec::new();
    let mut buf = BytesMut::from(input);
    let events = |r: Result<Option<Event>, DecodeError>| r.map(|e| e.map(Frame::Event));
    while push(&mut out, events(decoder.decode(&mut buf))) {}
    while push(&mut out, events(decoder.decode_eof(&mut buf))) {}
    (out, decoder)
}

/// Only the events of `out` (and errors), as `decode_event` reports them.
pub fn events_only(out: &[Out]) -> Vec<Out> {
    out.iter()
        .filter(|o| matches!(o, Out::TooLarge | Out::Frame(Frame::Event(_))))
        .cloned()
        .collect()
}

/// Decodes `input` in the four modes of STYLE 2.7 and checks they agree:
/// whole, split at every offset, one byte at a time, and events-only through
/// `decode_eof`. Returns the outcome.
pub fn decode_four_ways(make: impl Fn() -> EventDecoder, input: &[u8]) -> Outcome {
    let whole = decode_chunks(&make, [input]);
    for cut in 0..=input.len() {
        let split = decode_chunks(&make, split_at(input, &[cut]));
        assert_eq!(split, whole, "split at byte {cut} of {input:?}");
    }
    let bytewise = decode_chunks(&make, input.chunks(1));
    assert_eq!(bytewise, whole, "one byte at a time: {input:?}");

    let (events, mut decoder) = decode_via_eof(make(), input);
    assert_eq!(
        events,
        events_only(&whole.out),
        "through decode_eof: {input:?}"
    );
    // After the end of the stream nothing of an unterminated event leaks into
    // the next connection.
    let mut probe = Bytes::from_static(b"data: p\n\n");
    let next = decoder.decode_event(&mut probe).unwrap().unwrap();
    assert_eq!(next.data(), "p", "state leaked past decode_eof: {input:?}");
    assert_eq!(next.event_type(), "message");
    whole
}

// ===== expected values =====

/// An expected event with default type, no id, no retry.
pub fn ev(data: &str) -> Frame {
    Frame::Event(Event::new(data.to_owned()))
}

/// Builders on expected events.
pub trait Expect {
    fn ty(self, event_type: &str) -> Frame;
    fn id(self, id: &str) -> Frame;
    fn retry_ms(self, ms: u64) -> Frame;
}

fn rebuild(
    frame: Frame,
    f: impl FnOnce(sse_codec::EventBuilder) -> sse_codec::EventBuilder,
) -> Frame {
    let Frame::Event(e) = frame else {
        panic!("not an event")
    };
    let mut b = Event::builder()
        .data(e.data().to_owned())
        .event_type(e.event_type().to_owned());
    if let Some(id) = e.id() {
        b = b.id(id.to_owned());
    }
    if let Some(r) = e.retry() {
        b = b.retry(r);
    }
    Frame::Event(f(b).build().unwrap())
}

impl Expect for Frame {
    fn ty(self, event_type: &str) -> Frame {
        rebuild(self, |b| b.event_type(event_type.to_owned()))
    }
    fn id(self, id: &str) -> Frame {
        rebuild(self, |b| b.id(id.to_owned()))
    }
    fn retry_ms(self, ms: u64) -> Frame {
        rebuild(self, |b| b.retry(Duration::from_millis(ms)))
    }
}

pub fn comment(text: &str) -> Frame {
    Frame::comment(text.to_owned())
}

pub fn retry(ms: u64) -> Frame {
    Frame::Retry(Duration::from_millis(ms))
}
