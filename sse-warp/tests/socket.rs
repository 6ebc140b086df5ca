//! Over a real TCP socket on 127.0.0.1, with reqwest decoded by sse-codec:
//! per-event latency, HTTP/2, a client going away, graceful shutdown with
//! 100 open streams. Every loop is bounded in count and time; the client
//! side is shared with sse-axum's tests (`test-support`).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use sse_warp::{Event, KeepAlive};
use test_support::DropFlag;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_arrives_as_soon_as_it_is_yielded() {
    let t0 = Instant::now();
    let route = warp::path("events")
        .map(move || sse_warp::reply(test_support::ticks(t0, 10, Duration::from_millis(50))));
    let (addr, _server) = serve(route, CancellationToken::new()).await;
    let response = reqwest::get(format!("http://{addr}/events")).await.unwrap();
    let lat = test_support::latencies(response, t0).await;
    assert_eq!(lat.len(), 10);
    let worst = *lat.iter().max().unwrap();
    eprintln!("warp HTTP/1.1 event latency on loopback: max {worst:?}");
    assert!(worst < Duration::from_millis(100), "{lat:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_with_prior_knowledge() {
    let t0 = Instant::now();
    let route = warp::path("events")
        .map(move || sse_warp::reply(test_support::ticks(t0, 5, Duration::from_millis(10))));
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
    let events: Vec<sse_codec::Event> = test_support::events(response)
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(test_support::ids(&events), [0, 1, 2, 3, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_drops_the_stream_promptly() {
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let route = warp::path("events").map(move || {
        sse_warp::reply(test_support::first_then_hold(DropFlag(flag.clone())))
            .keep_alive(KeepAlive::new().interval(Duration::from_millis(100)))
    });
    let (addr, _server) = serve(route, CancellationToken::new()).await;
    let took =
        test_support::disconnect_and_time_drop(&format!("http://{addr}/events"), &dropped).await;
    eprintln!("warp: stream dropped {took:?} after the client left");
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
    let open = test_support::open_streams(&format!("http://{addr}/events"), 100).await;
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
    test_support::assert_clean_end(open).await;
}
