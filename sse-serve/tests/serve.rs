//! `sse_serve::serve`: a half-sent request head is closed after the
//! header timeout, a connection past the cap gets 503, and it stops on its
//! signal.

use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use sse_serve::{serve, Limits, Stopped};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn read_all(socket: &mut tokio::net::TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_and_the_server_stops_on_its_signal() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/", get(|| async { "hello" }));
    let limits = Limits {
        header_timeout: Duration::from_millis(500),
        max_connections: 2,
        ..Limits::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        app,
        limits,
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(1),
    ));

    // Two half-sent heads take both places...
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        socket.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        stalled.push(socket);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // ... so a third connection gets 503 after its request head.
    let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(read_all(&mut third).await.starts_with("HTTP/1.1 503"));
    // The stalled ones are closed after the header timeout.
    let start = Instant::now();
    for mut socket in stalled {
        read_all(&mut socket).await;
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // With the places free again, a request is served.
    let mut fourth = tokio::net::TcpStream::connect(addr).await.unwrap();
    fourth
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert!(read_all(&mut fourth).await.ends_with("hello"));

    stop.send(()).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(3), server)
        .await
        .expect("stops on its signal")
        .unwrap();
    assert_eq!(stopped, Stopped::Drained);
}
