//! Over a real TCP socket on 127.0.0.1, with a real HTTP client (reqwest)
//! whose body is decoded by sse-codec: events arrive as they are yielded,
//! a client that goes away releases the server's stream, HTTP/2 works.
//! Every loop here is bounded in count and time.

use std::future::IntoFuture;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use futures_util::{stream, Stream, StreamExt};
use sse_axum::{Event, KeepAlive, Sse};
use sse_codec::EventStream;

/// Serves `app` on an ephemeral port of 127.0.0.1.
async fn serve(app: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Events `n` apart of `every`, each carrying the microseconds since `t0`
/// at which it was yielded.
fn ticks(t0: Instant, n: u64, every: Duration) -> impl Stream<Item = Event> {
    stream::iter(0..n).then(move |i| async move {
        tokio::time::sleep(every).await;
        Event::builder()
            .id(i.to_string())
            .data(t0.elapsed().as_micros().to_string())
            .build()
            .unwrap()
    })
}

async fn latencies(client: reqwest::Client, url: String, t0: Instant) -> Vec<Duration> {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut events = EventStream::new(response.bytes_stream());
    let mut out = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
    {
        let sent = Duration::from_micros(event.unwrap().data().parse().unwrap());
        out.push(t0.elapsed() - sent);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_arrives_as_soon_as_it_is_yielded() {
    let t0 = Instant::now();
    let app = Router::new().route(
        "/events",
        get(move || async move { Sse::new(ticks(t0, 10, Duration::from_millis(50))) }),
    );
    let addr = serve(app).await;
    let lat = latencies(reqwest::Client::new(), format!("http://{addr}/events"), t0).await;
    assert_eq!(lat.len(), 10);
    let worst = lat.iter().max().unwrap();
    eprintln!("HTTP/1.1 event latency on loopback: max {worst:?}, all {lat:?}");
    // Held back for a buffer to fill, the first events would wait for the
    // last (450 ms later); generous against a loaded CI machine.
    assert!(*worst < Duration::from_millis(100), "{lat:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_with_prior_knowledge() {
    let t0 = Instant::now();
    let app = Router::new().route(
        "/events",
        get(move || async move { Sse::new(ticks(t0, 5, Duration::from_millis(20))) }),
    );
    let addr = serve(app).await;
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client
        .get(format!("http://{addr}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert!(response.headers().get("connection").is_none());
    let events: Vec<_> = EventStream::new(response.bytes_stream()).collect().await;
    let ids: Vec<_> = events
        .iter()
        .map(|e| e.as_ref().unwrap().id().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["0", "1", "2", "3", "4"]);
}

/// Sets its flag when dropped: when the server drops the event stream.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_drops_the_stream_promptly() {
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let app = Router::new().route(
        "/events",
        get(move || {
            let guard = DropFlag(flag.clone());
            async move {
                let first = stream::iter([Event::new("first")]);
                // Then nothing, forever, holding the guard (a subscription).
                let rest = stream::pending::<Event>().map(move |e| {
                    let _ = &guard;
                    e
                });
                Sse::new(first.chain(rest))
                    .keep_alive(KeepAlive::new().interval(Duration::from_millis(100)))
            }
        }),
    );
    let addr = serve(app).await;
    let response = reqwest::get(format!("http://{addr}/events")).await.unwrap();
    let mut events = EventStream::new(response.bytes_stream());
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
    eprintln!("stream dropped {:?} after the client left", gone.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_with_100_open_streams() {
    use tokio_util::sync::CancellationToken;

    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let app = Router::new().route(
        "/events",
        get(move || {
            let token = token.clone();
            async move {
                let events = stream::iter([Event::new("hello")]).chain(stream::pending());
                Sse::new(events).until(token.cancelled_owned())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .into_future(),
    );

    let client = reqwest::Client::new();
    let mut open = Vec::new();
    for _ in 0..100 {
        let response = client
            .get(format!("http://{addr}/events"))
            .send()
            .await
            .unwrap();
        let mut events = EventStream::new(response.bytes_stream());
        assert_eq!(events.next().await.unwrap().unwrap().data(), "hello");
        open.push(events);
    }

    let start = Instant::now();
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("graceful shutdown hung on open event streams")
        .unwrap()
        .unwrap();
    eprintln!(
        "graceful shutdown with 100 open streams took {:?}",
        start.elapsed()
    );
    // Every client sees the body end cleanly (no error), so it reconnects.
    for mut events in open {
        let end = tokio::time::timeout(Duration::from_secs(1), events.next())
            .await
            .unwrap();
        assert!(end.is_none(), "expected a clean end, got {end:?}");
    }
}
