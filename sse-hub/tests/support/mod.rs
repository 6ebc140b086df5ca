//! Reading a subscription as a client does.

use sse_codec::{Event, EventDecoder};
use sse_hub::EncodedFrame;

/// The events in one chunk a subscription yielded (one frame, or several
/// joined), decoded by sse-codec's decoder as an `EventSource` would. A
/// chunk always holds whole events.
pub(crate) fn decode_all(chunk: &EncodedFrame) -> Vec<Event> {
    let mut input = chunk.as_bytes().clone();
    let mut decoder = EventDecoder::new();
    let mut events = Vec::new();
    while let Some(event) = decoder.decode_event(&mut input).unwrap() {
        events.push(event);
    }
    assert!(
        input.is_empty() && decoder.buffered_len() == 0,
        "whole events only"
    );
    assert!(!events.is_empty(), "a chunk dispatches at least one event");
    events
}

/// Runs a future of the in-memory hub, which is ready at once: its
/// `publish` and `subscribe` never wait, so sync tests and threads need no
/// runtime.
#[allow(dead_code)] // not every test binary uses it
pub(crate) trait Ready: std::future::Future + Sized {
    fn ready(self) -> Self::Output {
        futures_util::FutureExt::now_or_never(self).expect("the in-memory hub never waits")
    }
}

impl<F: std::future::Future> Ready for F {}
