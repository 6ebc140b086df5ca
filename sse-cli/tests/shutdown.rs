//! `sse serve` in production: SIGTERM and SIGINT end every stream cleanly
//! and exit in time whatever stdin does, `--drain` spreads the clients'
//! reconnections, a half-sent request head is dropped, and connections past
//! the cap get 503.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;
use support::start_serve;

/// Sends `signal` (`TERM`, `INT`) to `child`.
fn signal(child: &tokio::process::Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .args(["-s", signal, &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Reads a response body to its end: `Ok(text)` if it ended cleanly, `Err`
/// if the connection broke.
async fn body(response: reqwest::Response) -> Result<String, String> {
    let mut stream = response.bytes_stream();
    let mut text = Vec::new();
    while let Some(chunk) = stream.next().await {
        text.extend_from_slice(&chunk.map_err(|err| err.to_string())?);
    }
    Ok(String::from_utf8_lossy(&text).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_100_streams_cleanly_with_spread_retries_and_exits_in_time() {
    let (mut server, url, _stderr) = start_serve(&["--drain", "2"]).await;
    // stdin stays open (the writer is alive): it must not hold the exit.
    let mut stdin = server.stdin.take().unwrap();
    let client = reqwest::Client::new();
    let mut streams = Vec::new();
    for _ in 0..100 {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        streams.push(tokio::spawn(body(response)));
    }
    stdin
        .write_all(b"{\"data\":\"before the end\"}\n")
        .await
        .unwrap();
    stdin.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let start = Instant::now();
    signal(&server, "TERM");
    let mut retries = Vec::new();
    for stream in streams {
        let text = tokio::time::timeout(Duration::from_secs(5), stream)
            .await
            .expect("each stream ends")
            .unwrap()
            .expect("ended cleanly, not reset");
        assert!(text.contains("data: before the end\n"), "{text:?}");
        let last = text.trim_end().lines().last().unwrap();
        let ms: u64 = last
            .strip_prefix("retry: ")
            .expect("a retry last")
            .parse()
            .unwrap();
        assert!(ms <= 2000, "{ms}");
        retries.push(ms);
    }
    let status = tokio::time::timeout(Duration::from_secs(5), server.wait())
        .await
        .expect("the process exits")
        .unwrap();
    let took = start.elapsed();
    eprintln!("MEASURE exit after SIGTERM with 100 streams, --drain 2: {took:?}");
    assert!(took < Duration::from_secs(4), "exited after {took:?}");
    assert!(status.success() || status.code().is_none(), "{status:?}");
    // Spread over the window: many distinct values, from early to late.
    retries.sort_unstable();
    eprintln!(
        "MEASURE retries: min {} ms, median {} ms, max {} ms",
        retries[0],
        retries[retries.len() / 2],
        retries[retries.len() - 1]
    );
    retries.dedup();
    eprintln!("MEASURE distinct retries: {}", retries.len());
    assert!(retries.len() > 80, "{} distinct retries", retries.len());
    assert!(
        retries[0] < 300 && *retries.last().unwrap() > 1700,
        "{retries:?}"
    );
    drop(stdin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_ends_streams_cleanly_and_exits_within_a_second_with_stdin_open() {
    let (mut server, url, _stderr) = start_serve(&[]).await;
    let _stdin = server.stdin.take().unwrap();
    let response = reqwest::get(&url).await.unwrap();
    let stream = tokio::spawn(body(response));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    signal(&server, "INT");
    let text = tokio::time::timeout(Duration::from_secs(3), stream)
        .await
        .unwrap()
        .unwrap();
    assert!(text.is_ok(), "the body ended cleanly: {text:?}");
    tokio::time::timeout(Duration::from_secs(3), server.wait())
        .await
        .expect("the process exits")
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_request_heads_are_dropped_after_the_header_timeout() {
    let (mut server, url, _stderr) = start_serve(&["--header-timeout", "1"]).await;
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut sockets = Vec::new();
    for _ in 0..20 {
        let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
        socket
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        sockets.push(socket);
    }
    let start = Instant::now();
    for mut socket in sockets {
        let mut buf = [0u8; 256];
        // The server closes it (after an error response, or none).
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a stalled request head held after 5 s");
    }
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    server.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_get_503() {
    let (mut server, url, _stderr) = start_serve(&["--max-connections", "3"]).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        // One client per stream, so each is its own connection.
        let response = reqwest::Client::new().get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        open.push(response);
    }
    let refused = reqwest::Client::new().get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    drop(open);
    // Once they are gone there is room again.
    let start = Instant::now();
    loop {
        let response = reqwest::Client::new().get(&url).send().await.unwrap();
        if response.status() == 200 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no room after the others left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill().await.unwrap();
}
