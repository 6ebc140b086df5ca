//! An arbitrary event is either refused by the builder (an event type or id
//! with a line break, an id with NUL) or encodes and decodes back equal.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use sse_codec::{Event, EventDecoder};

fuzz_target!(|fields: (String, Option<String>, Option<String>, Option<u64>)| {
    let (data, event_type, id, retry) = fields;
    let mut builder = Event::builder().data(data.as_str());
    if let Some(t) = &event_type {
        builder = builder.event_type(t.as_str());
    }
    if let Some(id) = &id {
        builder = builder.id(id.as_str());
    }
    if let Some(ms) = retry {
        builder = builder.retry(std::time::Duration::from_millis(ms));
    }
    let refused = event_type.as_deref().is_some_and(|t| t.contains(['\r', '\n']))
        || id.as_deref().is_some_and(|id| id.contains(['\r', '\n', '\0']));
    let Ok(event) = builder.build() else {
        assert!(refused, "valid fields refused");
        return;
    };
    assert!(!refused, "invalid field accepted");
    let mut wire = BytesMut::new();
    event.encode(&mut wire);
    assert_eq!(wire.len(), event.encoded_len());
    let mut wire = wire.freeze();
    let mut decoder = EventDecoder::with_max_event_size(usize::MAX);
    let decoded = decoder.decode_event(&mut wire).unwrap().expect("an event");
    assert!(wire.is_empty());
    // What the receiver sees: CR line breaks as LF, an empty id as no id.
    assert_eq!(decoded.data(), data.replace("\r\n", "\n").replace('\r', "\n"));
    assert_eq!(decoded.event_type(), event.event_type());
    assert_eq!(decoded.id(), event.id().filter(|id| !id.is_empty()));
    assert_eq!(decoded.retry(), event.retry().map(|r| std::time::Duration::from_millis(r.as_millis() as u64)));
});
