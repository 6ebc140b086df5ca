//! A batch job reports its progress as server-sent events; a client decodes
//! them from a byte stream that arrives in arbitrary network-sized pieces.
//!
//! Run with `cargo run -p sse-codec --example pieces`.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{stream, StreamExt};
use sse_codec::{Event, EventStream, Frame};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // ----- server side: encode the job's events into one body -----
    let mut body = BytesMut::new();
    Frame::Retry(Duration::from_secs(3)).encode(&mut body);
    let total = 5;
    for (id, done) in (1..=total).enumerate() {
        Event::builder()
            .event_type("progress")
            .id((id + 1).to_string())
            .data(format!("{{\"done\":{done},\"total\":{total}}}"))
            .build()?
            .encode(&mut body);
        Frame::comment("").encode(&mut body); // a keep-alive between events
    }
    Event::builder()
        .event_type("finished")
        .id((total + 1).to_string())
        .data("batch update complete\n5 rows changed")
        .build()?
        .encode(&mut body);
    let body = body.freeze();
    println!(
        "--- the wire ({} bytes) ---\n{}",
        body.len(),
        String::from_utf8_lossy(&body)
    );

    // ----- network: cut the body into 7-byte pieces, splitting lines -----
    let pieces: Vec<Result<Bytes, std::io::Error>> = body
        .chunks(7)
        .map(|piece| Ok(Bytes::copy_from_slice(piece)))
        .collect();

    // ----- client side: decode events as a browser's EventSource would -----
    println!("--- what the client receives ---");
    let mut events = EventStream::new(stream::iter(pieces));
    tokio::runtime::Builder::new_current_thread()
        .build()?
        .block_on(async {
            while let Some(event) = events.next().await {
                let event = event?;
                println!(
                    "{:>9} id={} data={:?}",
                    event.event_type(),
                    event.id().unwrap_or("-"),
                    event.data()
                );
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        })?;
    println!(
        "last event id {:?}, reconnect after {:?}",
        events.decoder().last_event_id(),
        events.decoder().retry()
    );
    Ok(())
}
