//! `EncodeStream`: one chunk per event as it is yielded, keep-alive timing
//! (with tokio's paused clock), errors passed on, large data not copied.
#![cfg(feature = "stream")]

use std::time::Duration;

use bytes::Bytes;
use futures_util::{stream, StreamExt};
use sse_codec::stream::{EncodeStream, KeepAlive, ZERO_COPY_MIN};
use sse_codec::{Event, Frame};
use tokio::time::Instant;

/// Events yielded at the given offsets (seconds) from the start.
fn events_at(
    seconds: &'static [u64],
) -> impl futures_util::Stream<Item = Result<Event, std::io::Error>> {
    let start = Instant::now();
    stream::iter(seconds).then(move |&s| async move {
        tokio::time::sleep_until(start + Duration::from_secs(s)).await;
        Ok(Event::new(format!("at {s}")))
    })
}

/// Collects (seconds since start, chunk) until the stream ends or `until`.
async fn collect_until<S>(stream: S, until: u64) -> Vec<(u64, Bytes)>
where
    S: futures_util::Stream<Item = Result<Bytes, std::io::Error>>,
{
    let start = Instant::now();
    let deadline = start + Duration::from_secs(until);
    let mut out = Vec::new();
    let mut stream = std::pin::pin!(stream);
    while let Ok(Some(chunk)) = tokio::time::timeout_at(deadline, stream.next()).await {
        out.push((start.elapsed().as_secs(), chunk.unwrap()));
    }
    out
}

#[tokio::test(start_paused = true)]
async fn keep_alive_after_each_interval_of_silence() {
    let stream = EncodeStream::new(stream::pending::<Result<Event, std::io::Error>>())
        .keep_alive(KeepAlive::new());
    let chunks = collect_until(stream, 50).await;
    let times: Vec<u64> = chunks.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, [15, 30, 45]);
    assert!(chunks.iter().all(|(_, c)| c == ":\n"));
}

#[tokio::test(start_paused = true)]
async fn events_reset_the_keep_alive_timer() {
    let stream = EncodeStream::new(events_at(&[10, 20, 40])).keep_alive(KeepAlive::new());
    let chunks = collect_until(stream, 70).await;
    let got: Vec<(u64, &str)> = chunks
        .iter()
        .map(|(t, c)| (*t, std::str::from_utf8(c).unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (10, "data: at 10\n\n"),
            (20, "data: at 20\n\n"),
            (35, ":\n"), // 15 s after the last event
            (40, "data: at 40\n\n"),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn keep_alive_interval_and_text_are_configurable() {
    let keep_alive = KeepAlive::new()
        .interval(Duration::from_secs(2))
        .text("ping\npong");
    let stream = EncodeStream::new(stream::pending::<Result<Event, std::io::Error>>())
        .keep_alive(keep_alive);
    let chunks = collect_until(stream, 5).await;
    assert_eq!(
        chunks,
        [
            (2, Bytes::from(":ping\n:pong\n")),
            (4, Bytes::from(":ping\n:pong\n"))
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn without_keep_alive_nothing_is_sent() {
    let stream = EncodeStream::new(stream::pending::<Result<Event, std::io::Error>>());
    assert!(collect_until(stream, 100).await.is_empty());
}

#[tokio::test]
async fn errors_are_passed_on_and_frames_encoded() {
    let items = stream::iter(vec![
        Ok(Frame::Event(Event::new("a"))),
        Ok(Frame::comment("note")),
        Ok(Frame::Retry(Duration::from_millis(500))),
        Err(std::io::Error::other("boom")),
    ]);
    let out: Vec<_> = EncodeStream::new(items).collect().await;
    assert_eq!(out[0].as_ref().unwrap(), "data: a\n\n");
    assert_eq!(out[1].as_ref().unwrap(), ":note\n");
    assert_eq!(out[2].as_ref().unwrap(), "retry: 500\n\n");
    assert_eq!(out[3].as_ref().unwrap_err().to_string(), "boom");
}

#[tokio::test]
async fn end_on_error_ends_the_stream_cleanly() {
    let items = stream::iter(vec![
        Ok(Event::new("a")),
        Err(std::io::Error::other("boom")),
        Ok(Event::new("never sent")),
    ]);
    let out: Vec<_> = EncodeStream::new(items).end_on_error().collect().await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].as_ref().unwrap(), "data: a\n\n");
}

#[tokio::test]
async fn infallible_streams_of_events() {
    let out: Vec<_> = EncodeStream::new(stream::iter([Event::new("a"), Event::new("b")]))
        .collect()
        .await;
    let out: Vec<Bytes> = out.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(out, ["data: a\n\n", "data: b\n\n"]);
}

#[tokio::test]
async fn large_single_line_data_is_not_copied() {
    let payload = Bytes::from(vec![b'x'; ZERO_COPY_MIN]);
    let event = Event::builder()
        .id("1")
        .data(sse_codec::ByteStr::from_utf8(payload.clone()).unwrap())
        .build()
        .unwrap();
    let chunks: Vec<Bytes> =
        EncodeStream::new(stream::iter([Ok::<_, std::io::Error>(event.clone())]))
            .map(Result::unwrap)
            .collect()
            .await;
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks[0], "id: 1\ndata: ");
    assert_eq!(chunks[1].as_ptr(), payload.as_ptr());
    assert_eq!(chunks[2], "\n\n");
    assert_eq!(chunks.concat(), event.to_bytes());
    // Smaller data goes out as one chunk.
    let small = Event::new("x".repeat(ZERO_COPY_MIN - 1));
    let chunks: Vec<_> = EncodeStream::new(stream::iter([Ok::<_, std::io::Error>(small)]))
        .collect()
        .await;
    assert_eq!(chunks.len(), 1);
}

#[tokio::test]
async fn encoded_frames_are_written_as_they_are_without_a_copy() {
    let frame =
        sse_codec::EncodedFrame::from(Event::builder().id("9").data("a\nb").build().unwrap());
    let out: Vec<Bytes> = EncodeStream::new(stream::iter([frame.clone(), frame.clone()]))
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(
        out,
        ["id: 9\ndata: a\ndata: b\n\n", "id: 9\ndata: a\ndata: b\n\n"]
    );
    // The subscriber's chunk is the broadcaster's bytes, shared.
    assert_eq!(out[0].as_ptr(), frame.as_bytes().as_ptr());
    assert_eq!(out[1].as_ptr(), frame.as_bytes().as_ptr());
}
