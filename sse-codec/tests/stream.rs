//! The integrations: `EventStream` over a stream of chunks, `FramedRead`
//! with `EventDecoder`, `FramedWrite` with `EventEncoder`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{stream, SinkExt, StreamExt};
use sse_codec::{
    DecodeError, Event, EventDecoder, EventEncoder, EventStream, EventStreamError, Frame,
};
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::codec::{FramedRead, FramedWrite};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

/// A source error type of the caller's, to check it comes through as is.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("connection reset")]
struct Reset;

#[test]
fn event_stream_decodes_across_chunks_and_discards_unterminated_tail() {
    let body = stream::iter(
        [
            "\u{FEFF}id: 1\r",
            "\ndata: a\r\n",
            "\r\ndata: b\n\ndata: cut off",
        ]
        .map(|s| Ok::<_, Reset>(Bytes::from(s))),
    );
    let events: Vec<_> = block_on(EventStream::new(body).collect());
    let events: Vec<Event> = events.into_iter().map(Result::unwrap).collect();
    assert_eq!(events.len(), 2);
    assert_eq!((events[0].data(), events[0].id()), ("a", Some("1")));
    assert_eq!((events[1].data(), events[1].id()), ("b", Some("1")));
}

#[test]
fn event_stream_passes_the_source_error_through() {
    let body = stream::iter(vec![
        Ok(Bytes::from("data: before\n\n")),
        Err(Reset),
        Ok(Bytes::from("data: after\n\n")),
    ]);
    let items: Vec<_> = block_on(EventStream::new(body).collect());
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().data(), "before");
    match &items[1] {
        Err(EventStreamError::Source(err)) => assert_eq!(*err, Reset),
        other => panic!("expected the source error, got {other:?}"),
    }
    let err = items[1].as_ref().unwrap_err();
    assert_eq!(err.to_string(), "reading the event stream failed");
    assert_eq!(
        std::error::Error::source(err).unwrap().to_string(),
        "connection reset"
    );
    assert_eq!(items[2].as_ref().unwrap().data(), "after");
}

#[test]
fn event_stream_goes_on_after_an_oversized_event() {
    let body = stream::iter(
        ["data: 0123456789abcdef\n", "\n", "data: ok\n\n"].map(|s| Ok::<_, Reset>(Bytes::from(s))),
    );
    let decoder = EventDecoder::with_max_event_size(12);
    let items: Vec<_> = block_on(EventStream::with_decoder(body, decoder).collect());
    assert!(matches!(
        items[0],
        Err(EventStreamError::Decode(DecodeError::EventTooLarge {
            max: 12
        }))
    ));
    assert_eq!(items[1].as_ref().unwrap().data(), "ok");
    assert_eq!(items.len(), 2);
}

#[test]
fn event_stream_keeps_decoder_state_for_reconnection() {
    let body = stream::iter([Ok::<_, Reset>(Bytes::from(
        "id: 9\nretry: 250\ndata: x\n\n",
    ))]);
    let mut events = EventStream::new(body);
    block_on(async {
        assert_eq!(events.next().await.unwrap().unwrap().data(), "x");
        assert!(events.next().await.is_none());
    });
    assert_eq!(events.decoder().last_event_id(), Some("9"));
    let (_, decoder) = events.into_parts();
    // Resume on a new connection with the same decoder.
    let body = stream::iter([Ok::<_, Reset>(Bytes::from("data: y\n\n"))]);
    let event = block_on(EventStream::with_decoder(body, decoder).next())
        .unwrap()
        .unwrap();
    assert_eq!(event.id(), Some("9"));
}

/// An `AsyncRead` that returns its input a few bytes per read.
struct Trickle {
    data: &'static [u8],
    step: usize,
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.step.min(self.data.len()).min(buf.remaining());
        buf.put_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Poll::Ready(Ok(()))
    }
}

#[test]
fn framed_read_in_small_reads() {
    let input: &'static [u8] = b"event: a\r\ndata: 1\r\n\r\n: ping\r\ndata: 2\rdata: 3\r\r";
    for step in 1..=input.len() {
        let reader = Trickle { data: input, step };
        let events: Vec<Event> = block_on(
            FramedRead::new(reader, EventDecoder::new())
                .map(Result::unwrap)
                .collect(),
        );
        let got: Vec<(&str, &str)> = events.iter().map(|e| (e.event_type(), e.data())).collect();
        assert_eq!(
            got,
            [("a", "1"), ("message", "2\n3")],
            "reads of {step} bytes"
        );
    }
}

#[test]
fn framed_read_discards_unterminated_event_at_eof() {
    let reader: &[u8] = b"data: 1\n\ndata: 2\n";
    let events: Vec<_> = block_on(FramedRead::new(reader, EventDecoder::new()).collect());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].as_ref().unwrap().data(), "1");
}

#[test]
fn framed_write_then_framed_read() {
    let frames = vec![
        Frame::Event(
            Event::builder()
                .event_type("update")
                .id("1")
                .data("line 1\nline 2")
                .build()
                .unwrap(),
        ),
        Frame::comment("keep-alive"),
        Frame::Event(Event::new(" leading space")),
        Frame::Event(Event::new("")),
    ];
    let written = block_on(async {
        let mut sink = FramedWrite::new(Vec::new(), EventEncoder::new());
        for frame in &frames {
            sink.send(frame).await.unwrap();
        }
        sink.into_inner()
    });
    assert_eq!(
        written,
        b"event: update\nid: 1\ndata: line 1\ndata: line 2\n\n:keep-alive\ndata:  leading space\n\ndata: \n\n"
    );
    let events: Vec<Event> = block_on(
        FramedRead::new(&written[..], EventDecoder::new())
            .map(Result::unwrap)
            .collect(),
    );
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].data(), "line 1\nline 2");
    assert_eq!(events[1].data(), " leading space");
    assert_eq!(events[1].id(), Some("1"));
    assert_eq!(events[2].data(), "");
}
