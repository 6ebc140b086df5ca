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
