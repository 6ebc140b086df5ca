//! `sse serve --send-timeout`: a client that stops reading is let go (its
//! socket and buffers come back), while one that reads slowly, 4 KiB every
//! 100 ms, is kept. Before, a stuck client kept its connection for as long
//! as it stayed connected.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod support;
use support::{open_stream, start_serve};

const SEND_TIMEOUT_SECS: u64 = 4;

/// Reads `socket` to its end; `true` if the server closed it (EOF or a
/// reset) within `limit`.
async fn closed_within(socket: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = vec![0u8; 64 * 1024];
    let read_to_end = async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(limit, read_to_end).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_client_is_closed_and_a_slow_reader_is_kept() {
    let timeout = SEND_TIMEOUT_SECS.to_string();
    let (mut server, url, _stderr) = start_serve(&["--send-timeout", &timeout]).await;
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stuck = open_stream(&addr).await;
    let mut slow = open_stream(&addr).await;

    // The slow reader: 4 KiB every 100 ms (40 KiB/s), until told to stop.
    let (stop, mut stopped) = tokio::sync::watch::channel(());
    let slow_reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        let mut total = 0usize;
        loop {
            tokio::select! {
                read = slow.read(&mut buf) => match read {
                    Ok(0) => return Err(format!("closed after {total} bytes")),
                    Err(err) => return Err(format!("{err} after {total} bytes")),
                    Ok(n) => total += n,
                },
                _ = stopped.changed() => return Ok(total),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    // Events of 1 KiB every 10 ms (100 KiB/s, more than the slow reader
    // takes) for long enough that the stuck client's buffers fill and the
    // send timeout passes with room to spare.
    let mut stdin = server.stdin.take().unwrap();
    let data = "x".repeat(1000);
    let started = Instant::now();
    let run_for = Duration::from_secs(3 * SEND_TIMEOUT_SECS);
    let mut n = 0u64;
    while started.elapsed() < run_for {
        stdin
            .write_all(format!("{{\"data\":\"{n} {data}\"}}\n").as_bytes())
            .await
            .unwrap();
        n += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stdin.flush().await.unwrap();

    // The stuck client was let go: what it has buffered ends (reading it
    // now, if the server had kept it, would only make it flow again).
    assert!(
        closed_within(&mut stuck, Duration::from_secs(5)).await,
        "a client that read nothing for {}s was kept",
        run_for.as_secs()
    );
    // The slow reader was kept the whole time and kept receiving.
    stop.send(()).unwrap();
    let total = tokio::time::timeout(Duration::from_secs(5), slow_reader)
        .await
        .expect("the slow reader stops")
        .unwrap()
        .unwrap_or_else(|err| panic!("the slow reader was closed: {err}"));
    println!(
        "slow reader took {total} bytes in {:?}; {n} events sent",
        started.elapsed()
    );
    assert!(
        total > 100 * 1024,
        "the slow reader received only {total} bytes"
    );
    let _ = server.kill().await;
}
