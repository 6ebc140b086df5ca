//! `sse serve` over HTTP/2 (h2c, as a proxy speaks it): 500 event streams
//! on one connection all receive, while one more stream on the same
//! connection is never read. hyper's default of 200 concurrent streams
//! refused (or, to a client that queues, never answered) the 201st.

use std::time::Duration;

use futures_util::StreamExt;
use sse_codec::EventDecoder;
use tokio::io::AsyncWriteExt;

mod support;
use support::start_serve;

const STREAMS: usize = 500;
const EVENTS: usize = 100;

/// Reads `response` until `EVENTS` events have arrived.
async fn read_events(response: reqwest::Response) -> usize {
    let mut body = response.bytes_stream();
    let mut decoder = EventDecoder::new();
    let mut events = 0;
    while events < EVENTS {
        let Some(Ok(mut chunk)) = body.next().await else {
            break;
        };
        while let Ok(Some(_)) = decoder.decode_event(&mut chunk) {
            events += 1;
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_streams_on_one_http2_connection_all_receive_beside_an_unread_one() {
    // One connection only: a second would get 503.
    let (mut server, url, _stderr) = start_serve(&["--max-connections", "1"]).await;
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        // Small stream windows, a large connection window: an unread
        // stream pins 32 KiB of it, the others go on.
        .http2_initial_stream_window_size(32 * 1024)
        .http2_initial_connection_window_size(8 * 1024 * 1024)
        .build()
        .unwrap();
    let open = |client: &reqwest::Client| {
        let request = client
            .get(&url)
            .header("accept", "text/event-stream")
            .send();
        async move {
            let response = tokio::time::timeout(Duration::from_secs(20), request)
                .await
                .expect("a response head within 20 s")
                .unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.version(), reqwest::Version::HTTP_2);
            response
        }
    };
    // The connection is made by the first stream; the rest share it.
    let unread = open(&client).await;
    let mut opening = Vec::new();
    for _ in 0..STREAMS {
        opening.push(tokio::spawn(open(&client)));
    }
    let mut readers = Vec::new();
    for response in opening {
        let response = response.await.unwrap();
        readers.push(tokio::spawn(read_events(response)));
    }

    // 100 events of 1 KiB: more than the unread stream's window.
    let mut stdin = server.stdin.take().unwrap();
    let data = "x".repeat(1024);
    for n in 0..EVENTS {
        stdin
            .write_all(format!("{{\"data\":\"{n} {data}\"}}\n").as_bytes())
            .await
            .unwrap();
    }
    stdin.flush().await.unwrap();

    for reader in readers {
        let events = tokio::time::timeout(Duration::from_secs(30), reader)
            .await
            .expect("every stream receives within 30 s")
            .unwrap();
        assert_eq!(events, EVENTS, "a stream stopped short");
    }
    drop(unread);
    let _ = server.kill().await;
}
