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

/// The protocol is told from the first bytes without taking them: a
/// client whose first bytes arrive in pieces is served in its protocol,
/// an HTTP/1 request that starts like the HTTP/2 preface ("P") included,
/// and one that stops mid-preface is closed after the header timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_protocol_is_told_from_first_bytes_sent_in_pieces() {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/", axum::routing::post(|| async { "posted" }));
    let limits = Limits {
        header_timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    tokio::spawn(serve(
        listener,
        app,
        limits,
        std::future::pending(),
        Duration::ZERO,
    ));
    let pause = || tokio::time::sleep(Duration::from_millis(50));

    // HTTP/1, its method's first letter alone first: hyper reads the
    // whole head, "P" included.
    let mut http1 = tokio::net::TcpStream::connect(addr).await.unwrap();
    http1.write_all(b"P").await.unwrap();
    pause().await;
    http1
        .write_all(b"OST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_all(&mut http1).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("posted"), "{answer}");

    // HTTP/2's preface in two pieces, then the client's SETTINGS: the
    // server answers with its own SETTINGS frame (type 4 on stream 0).
    let mut http2 = tokio::net::TcpStream::connect(addr).await.unwrap();
    http2.write_all(&PREFACE[..8]).await.unwrap();
    pause().await;
    http2.write_all(&PREFACE[8..]).await.unwrap();
    http2.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap();
    let mut frame = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(5), http2.read_exact(&mut frame))
        .await
        .expect("the server's SETTINGS in time")
        .unwrap();
    assert_eq!(frame[3], 4, "a SETTINGS frame: {frame:?}");
    assert_eq!(&frame[5..], &[0, 0, 0, 0], "on stream 0: {frame:?}");

    // Part of the preface and then silence: closed, unanswered, after the
    // header timeout.
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    silent.write_all(&PREFACE[..3]).await.unwrap();
    let start = Instant::now();
    let answer = read_all(&mut silent).await;
    assert_eq!(answer, "");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "closed after {:?}",
        start.elapsed()
    );
}
