//! Client-side helpers for the adapters' tests over real sockets: the same
//! checks run against axum and warp servers. Every wait is bounded in time.

pub mod scripted;
pub mod servers;

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{stream, Stream, StreamExt};
use sse_codec::{Event, EventStream};

/// The events of a response, decoded by sse-codec.
pub type Events = EventStream<Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>>;

/// Decodes the body of `response`.
pub fn events(response: reqwest::Response) -> Events {
    EventStream::new(Box::pin(response.bytes_stream()))
}

/// `n` events, `every` apart, each carrying as data the microseconds since
/// `t0` at which it was yielded, and its index as id.
pub fn ticks(t0: Instant, n: u64, every: Duration) -> impl Stream<Item = Event> + Send {
    stream::iter(0..n).then(move |i| async move {
        tokio::time::sleep(every).await;
        Event::builder()
            .id(i.to_string())
            .data(t0.elapsed().as_micros().to_string())
            .build()
            .expect("an integer id is valid")
    })
}

/// How long after being yielded each event of a [`ticks`] stream arrived.
pub async fn latencies(response: reqwest::Response, t0: Instant) -> Vec<Duration> {
    let mut events = events(response);
    let mut out = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("an event or the end within 5 s")
    {
        let sent = Duration::from_micros(event.unwrap().data().parse().unwrap());
        out.push(t0.elapsed() - sent);
    }
    out
}

/// The ids of `events`, as integers.
pub fn ids(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e.id().unwrap().parse().unwrap())
        .collect()
}

/// Opens the event stream at `url` as a reconnecting `EventSource` does,
/// sending `last_event_id` if given, and checks the response headers.
pub async fn connect(url: &str, last_event_id: Option<&str>) -> Events {
    let mut request = reqwest::Client::new().get(url);
    if let Some(id) = last_event_id {
        request = request.header(sse_codec::http::LAST_EVENT_ID, id);
    }
    let response = request.send().await.unwrap();
    assert_sse_headers(response.headers());
    events(response)
}

/// The first `n` events from `url`, sending `last_event_id` if given.
pub async fn take(url: &str, last_event_id: Option<&str>, n: usize) -> Vec<Event> {
    let taken = connect(url, last_event_id)
        .await
        .map(Result::unwrap)
        .take(n)
        .collect();
    tokio::time::timeout(Duration::from_secs(10), taken)
        .await
        .expect("events within 10 s")
}

/// Sets its flag when dropped: put one in a server's event stream to see
/// when the server drops the stream.
#[derive(Debug)]
pub struct DropFlag(pub Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// An event stream that yields "first", then holds `flag` forever.
pub fn first_then_hold(flag: DropFlag) -> impl Stream<Item = Event> + Send {
    let rest = stream::pending::<Event>().map(move |event| {
        let _ = &flag;
        event
    });
    stream::iter([Event::new("first")]).chain(rest)
}

/// Reads the first event of `url`, goes away, and returns how long the
/// server took to drop its stream (which must hold a [`DropFlag`] on
/// `dropped`); panics after 1 s.
pub async fn disconnect_and_time_drop(url: &str, dropped: &AtomicBool) -> Duration {
    let mut events = events(reqwest::get(url).await.unwrap());
    assert_eq!(events.next().await.unwrap().unwrap().data(), "first");
    let gone = Instant::now();
    drop(events);
    while !dropped.load(Ordering::SeqCst) {
        assert!(
            gone.elapsed() < Duration::from_secs(1),
            "stream still alive 1 s after the client left"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    gone.elapsed()
}

/// Opens `n` streams on `url`, each read up to its first event ("hello").
pub async fn open_streams(url: &str, n: usize) -> Vec<Events> {
    let client = reqwest::Client::new();
    let mut open = Vec::new();
    for _ in 0..n {
        let mut events = events(client.get(url).send().await.unwrap());
        assert_eq!(events.next().await.unwrap().unwrap().data(), "hello");
        open.push(events);
    }
    open
}

/// Every stream ends cleanly (no error) within 1 s.
pub async fn assert_clean_end(open: Vec<Events>) {
    for mut events in open {
        let end = tokio::time::timeout(Duration::from_secs(1), events.next())
            .await
            .expect("the stream ended within 1 s");
        assert!(end.is_none(), "expected a clean end, got {end:?}");
    }
}

/// A known stream for the adapters' exact-body tests: a bare `retry`, a
/// named event with an id and CRLF in its data, a comment, an event with
/// empty data (which a browser still dispatches).
pub fn known_frames() -> Vec<sse_codec::Frame> {
    use sse_codec::Frame;
    vec![
        Frame::Retry(Duration::from_secs(3)),
        Frame::Event(
            Event::builder()
                .event_type("progress")
                .id("1")
                .data("a\r\nb")
                .build()
                .expect("valid fields"),
        ),
        Frame::comment("note"),
        Frame::Event(Event::new("")),
    ]
}

/// The exact body [`known_frames`] must be sent as.
pub const KNOWN_WIRE: &str =
    "retry: 3000\n\nevent: progress\nid: 1\ndata: a\ndata: b\n\n:note\ndata: \n\n";

/// The headers every event stream response carries, and the ones it must
/// not (HTTP/2 forbids `Connection`; a stream has no length).
pub fn assert_sse_headers(headers: &reqwest::header::HeaderMap) {
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache, no-transform");
    assert_eq!(headers["x-accel-buffering"], "no");
    assert!(headers.get("connection").is_none());
    assert!(headers.get("content-length").is_none());
}

/// What a browser's `EventSource` dispatches reading `body` (decoded by
/// sse-codec): `(type, data, lastEventId)` per event.
pub fn dispatched(body: &str) -> Vec<(String, String, String)> {
    let mut decoder = sse_codec::EventDecoder::new();
    let mut input = Bytes::copy_from_slice(body.as_bytes());
    let mut out = Vec::new();
    while let Some(event) = decoder.decode_event(&mut input).unwrap() {
        out.push((
            event.event_type().to_owned(),
            event.data().to_owned(),
            decoder.last_event_id().unwrap_or_default().to_owned(),
        ));
    }
    out
}
