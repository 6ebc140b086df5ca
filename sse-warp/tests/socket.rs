//! Over a real TCP socket on 127.0.0.1, with reqwest decoded by sse-codec:
//! per-event latency, HTTP/2, a client going away, graceful shutdown with
//! 100 open streams. Every loop is bounded in count and time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use sse_codec::EventStream;
use sse_warp::{Event, KeepAlive};
use tokio_util::sync::CancellationToken;
use warp::Filter;

/// Serves `filter` on an ephemeral port of 127.0.0.1 until `shutdown`.
async fn serve<F>(
    filter: F,
    shutdown: CancellationToken,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>)
where
    F: Filter + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = warp::serve(filter)
        .incoming(listener)
        .graceful(shutdown.cancelled_owned());
    (addr, tokio::spawn(server.run()))
}

fn ticks(t0: Instant, n: u64, every: Duration) -> impl futures_util::Stream<Item = Event> + Send {
    stream::iter(0..n).then(move |i| async move {
        tokio::time::sleep(every).await;
        Event::builder()
            .id(i.to_string())
            .data(t0.elapsed().as_micros().to_string())
            .build()
            .unwrap()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_arrives_as_soon_as_it_is_yielded() {
    let t0 = Instant::now();
    let route =
        warp::path("events").map(move || sse_warp::reply(ticks(t0, 10, Duration::from_millis(50))));
    let (addr, _server) = serve(route, CancellationToken::new()).await;
    let response = reqwest::get(format!("http://{addr}/events")).await.unwrap();
    let mut events = EventStream::new(response.bytes_stream());
    let mut latencies = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
    {
        let sent = Duration::from_micros(event.unwrap().data().parse().unwrap());
        latencies.push(t0.elapsed() - sent);
    }
    assert_eq!(latencies.len(), 10);
    let worst = *latencies.iter().max().unwrap();
    eprintln!("warp HTTP/1.1 event latency on loopback: max {worst:?}");
    assert!(worst < Duration::from_millis(100), "{latencies:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_with_prior_knowledge() {
    let t0 = Instant::now();
    let route =
        warp::path("events").map(move || sse_warp::reply(ticks(t0, 5, Duration::from_millis(10))));
    let (addr, _server) = serve(route, CancellationToken::new()).await;
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client
        .get(format!("http://{addr}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), warp::http::Version::HTTP_2);
    let events: Vec<_> = EventStream::new(response.bytes_stream()).collect().await;
    let ids: Vec<_> = events
        .iter()
        .map(|e| e.as_ref().unwrap().id().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["0", "1", "2", "3", "4"]);
}

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
    let route = warp::path("events").map(move || {
        let guard = DropFlag(flag.clone());
        let rest = stream::pending::<Event>().map(move |e| {
            let _ = &guard;
            e
        });
        sse_warp::reply(stream::iter([Event::new("first")]).chain(rest))
            .keep_alive(KeepAlive::new().interval(Duration::from_millis(100)))
    });
    let (addr, _server) = serve(route, CancellationToken::new()).await;
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
    eprintln!(
        "warp: stream dropped {:?} after the client left",
        gone.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_with_100_open_streams() {
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let route = warp::path("events").map(move || {
        let events = stream::iter([Event::new("hello")]).chain(stream::pending());
        sse_warp::reply(events).until(token.clone().cancelled_owned())
    });
    let (addr, server) = serve(route, shutdown.clone()).await;
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
        .unwrap();
    eprintln!(
        "warp: graceful shutdown with 100 open streams took {:?}",
        start.elapsed()
    );
    for mut events in open {
        let end = tokio::time::timeout(Duration::from_secs(1), events.next())
            .await
            .unwrap();
        assert!(end.is_none(), "expected a clean end, got {end:?}");
    }
}
