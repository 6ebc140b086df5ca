//! The warp `progress` example's server over 127.0.0.1: named events with
//! consecutive ids, and a client that reconnects with `Last-Event-ID`
//! (header, or `?lastEventId=`) gets exactly the events it missed.

#[path = "../examples/warp_progress/app.rs"]
#[allow(dead_code)]
mod app;

use std::time::Duration;

use test_support::{ids, take};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_gets_exactly_the_missed_events() {
    let jobs = app::Jobs::new();
    tokio::spawn(jobs.clone().run(Duration::from_millis(5)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        warp::serve(app::routes(jobs, CancellationToken::new()))
            .incoming(listener)
            .run(),
    );
    let url = format!("http://{addr}/events");

    let first = take(&url, None, 21).await;
    assert_eq!(ids(&first), (1..=21).collect::<Vec<u64>>());
    assert_eq!(first[0].event_type(), "progress");
    assert_eq!(first[20].event_type(), "finished");

    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        ids(&take(&url, Some("7"), 30).await),
        (8..38).collect::<Vec<u64>>()
    );
    let by_query = take(&format!("{url}?lastEventId=12"), None, 3).await;
    assert_eq!(ids(&by_query), [13, 14, 15]);

    let page = reqwest::get(format!("http://{addr}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("new EventSource('/events')"));
}
