//! `sse serve` with its defaults: a burst much larger than the history
//! (20,000 events written at once, history 1,000) reaches every reader
//! that keeps up on average, whole, with no reset event. Before the slack
//! for bursts, readers that fell more than 1,000 events behind in the burst
//! got the reset and skipped ahead.

use std::time::Duration;

use futures_util::StreamExt;
use sse_codec::EventDecoder;
use tokio::io::AsyncWriteExt;

mod support;
use support::start_serve;

const READERS: usize = 50;
const EVENTS: u64 = 20_000;

/// Reads `response` until the burst's last event: how many arrived, or
/// what stopped it (a reset, the end of the stream).
async fn read_burst(response: reqwest::Response) -> Result<u64, String> {
    let mut body = response.bytes_stream();
    let mut decoder = EventDecoder::new();
    let mut seen = 0;
    while seen < EVENTS {
        let Some(Ok(mut chunk)) = body.next().await else {
            return Err(format!("the stream ended after {seen} events"));
        };
        while let Ok(Some(event)) = decoder.decode_event(&mut chunk) {
            if event.event_type() != "message" {
                return Err(format!("{} after {seen} events", event.event_type()));
            }
            seen += 1;
            assert_eq!(event.data(), format!("burst {seen}"), "in order, none lost");
        }
    }
    Ok(seen)
}

async fn burst_reaches_every_reader(extra: &[&str]) -> Vec<Result<u64, String>> {
    let (mut server, url, _stderr) = start_serve(extra).await;
    let client = reqwest::Client::new();
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let response = client
            .get(&url)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        readers.push(tokio::spawn(read_burst(response)));
    }
    // Connected: the server answered every request head. Now the burst,
    // in one write.
    let mut burst = String::new();
    for n in 1..=EVENTS {
        burst.push_str(&format!("{{\"data\":\"burst {n}\"}}\n"));
    }
    let mut stdin = server.stdin.take().unwrap();
    stdin.write_all(burst.as_bytes()).await.unwrap();
    stdin.flush().await.unwrap();
    let mut results = Vec::new();
    for reader in readers {
        let result = tokio::time::timeout(Duration::from_secs(60), reader)
            .await
            .expect("the burst is read within 60 s")
            .unwrap();
        results.push(result);
    }
    let _ = server.kill().await;
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_larger_than_history_reaches_every_reader_under_the_defaults() {
    let results = burst_reaches_every_reader(&[]).await;
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {READERS} readers: {failed:?}",
        failed.len()
    );
}
