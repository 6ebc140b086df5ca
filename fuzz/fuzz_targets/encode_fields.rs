//! Arbitrary field strings never produce bytes that decode to a field nobody
//! set: each frame written decodes to exactly the frames it stands for.
#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use sse_codec::{Event, EventDecoder, Frame};

#[derive(Arbitrary, Debug)]
enum Item {
    Event { data: String, event_type: String, id: String },
    Comment(String),
    Retry(u32),
}

fuzz_target!(|items: Vec<Item>| {
    let mut wire = BytesMut::new();
    let mut expected = 0usize;
    for item in &items {
        let frame = match item {
            Item::Event { data, event_type, id } => {
                match Event::builder().data(data.as_str()).event_type(event_type.as_str()).id(id.as_str()).build() {
                    Ok(event) => Frame::Event(event),
                    Err(_) => continue,
                }
            }
            Item::Comment(text) => Frame::comment(text.as_str()),
            Item::Retry(ms) => Frame::Retry(std::time::Duration::from_millis(u64::from(*ms))),
        };
        // A comment is one frame per line; everything else exactly one.
        expected += match &frame {
            Frame::Comment(text) => text.replace("\r\n", "\n").split(['\r', '\n']).count(),
            _ => 1,
        };
        frame.encode(&mut wire);
    }
    let mut wire = wire.freeze();
    let mut decoder = EventDecoder::with_max_event_size(usize::MAX);
    let mut decoded = Vec::new();
    while let Some(frame) = decoder.decode_frame(&mut wire).unwrap() {
        decoded.push(frame);
    }
    assert_eq!(decoded.len(), expected, "{items:?} decoded as {decoded:?}");
    let sent_events = items.iter().filter(|i| matches!(i, Item::Event { .. })).count();
    let events = decoded.iter().filter(|f| matches!(f, Frame::Event(_))).count();
    assert!(events <= sent_events);
});
