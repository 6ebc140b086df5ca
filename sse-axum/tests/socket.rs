//! Over a real TCP socket on 127.0.0.1, with a real HTTP client (reqwest)
//! whose body is decoded by sse-codec: events arrive as they are yielded,
//! a client that goes away releases the server's stream, graceful shutdown
//! ends 100 open streams, HTTP/2 works. Every loop is bounded in count and
//! time; the client side is shared with sse-warp's tests (`test-support`).

use std::future::IntoFuture;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use futures_util::{stream, StreamExt};
use sse_axum::{Event, KeepAlive, Sse};
use test_support::DropFlag;
use tokio_util::sync::CancellationToken;

/// Serves `app` on an ephemeral port of 127.0.0.1 until `shutdown`.
async fn serve(
    app: Router,
    shutdown: CancellationToken,
) -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned());
    (addr, tokio::spawn(server.into_future()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_arrives_as_soon_as_it_is_yielded() {
    let t0 = Instant::now();
    let app = Router::new().route(
        "/events",
        get(
            move || async move { Sse::new(test_support::ticks(t0, 10, Duration::from_millis(50))) },
        ),
    );
    let (addr, _server) = serve(app, CancellationToken::new()).await;
    let response = reqwest::get(format!("http://{addr}/events")).await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let lat = test_support::latencies(response, t0).await;
    assert_eq!(lat.len(), 10);
    let worst = *lat.iter().max().unwrap();
    eprintln!("axum HTTP/1.1 event latency on loopback: max {worst:?}, all {lat:?}");
    // Held back for a buffer to fill, the first events would wait for the
    // last (450 ms later); generous against a loaded CI machine.
    assert!(worst < Duration::from_millis(100), "{lat:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_with_prior_knowledge() {
    let t0 = Instant::now();
    let app = Router::new().route(
        "/events",
        get(move || async move { Sse::new(test_support::ticks(t0, 5, Duration::from_millis(20))) }),
    );
    let (addr, _server) = serve(app, CancellationToken::new()).await;
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
    let app = Router::new().route(
        "/events",
        get(move || {
            let events = test_support::first_then_hold(DropFlag(flag.clone()));
            async move {
                Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_millis(100)))
            }
        }),
    );
    let (addr, _server) = serve(app, CancellationToken::new()).await;
    let took =
        test_support::disconnect_and_time_drop(&format!("http://{addr}/events"), &dropped).await;
    eprintln!("axum: stream dropped {took:?} after the client left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_with_100_open_streams() {
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
    let (addr, server) = serve(app, shutdown.clone()).await;
    let open = test_support::open_streams(&format!("http://{addr}/events"), 100).await;
    let start = Instant::now();
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("graceful shutdown hung on open event streams")
        .unwrap()
        .unwrap();
    eprintln!(
        "axum: graceful shutdown with 100 open streams took {:?}",
        start.elapsed()
    );
    test_support::assert_clean_end(open).await;
}
