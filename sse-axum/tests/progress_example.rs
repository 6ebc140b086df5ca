//! The `progress` example's server, over 127.0.0.1 with a real client and
//! in headless Chromium: named events with consecutive ids, and a client
//! that reconnects with `Last-Event-ID` (header, or `?lastEventId=`) gets
//! exactly the events it missed, no gap and no duplicate.

#[path = "../examples/progress/app.rs"]
#[allow(dead_code)]
mod app;

use std::time::Duration;

use futures_util::StreamExt;
use test_support::{ids, take};
use tokio_util::sync::CancellationToken;

async fn start(step: Duration) -> (std::net::SocketAddr, CancellationToken) {
    let jobs = app::Jobs::new();
    tokio::spawn(jobs.clone().run(step));
    let shutdown = CancellationToken::new();
    let router = app::router(jobs, shutdown.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (addr, shutdown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_gets_exactly_the_missed_events() {
    let (addr, _shutdown) = start(Duration::from_millis(5)).await;
    let url = format!("http://{addr}/events");
    let first = take(&url, None, 25).await;
    // Consecutive ids from 1; 20 progress events, then the job's finished.
    assert_eq!(ids(&first), (1..=25).collect::<Vec<u64>>());
    assert!(first[..20].iter().all(|e| e.event_type() == "progress"));
    assert_eq!(first[20].event_type(), "finished");
    assert_eq!(first[20].data(), "job 1 done\n10000 rows updated");

    // Disconnected after id 7, while the job ran on: resume.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let resumed = take(&url, Some("7"), 40).await;
    assert_eq!(
        ids(&resumed),
        (8..48).collect::<Vec<u64>>(),
        "gap or duplicate"
    );

    // The query parameter does the same, for polyfilled clients.
    let response = reqwest::get(format!("{url}?lastEventId=30")).await.unwrap();
    let mut events = test_support::events(response);
    let next = events.next().await.unwrap().unwrap();
    assert_eq!(next.id(), Some("31"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_the_server_never_gave_gets_a_reset_then_live_events() {
    // As after a server restart: the client's id is unknown to the hub.
    let (addr, _shutdown) = start(Duration::from_millis(5)).await;
    let url = format!("http://{addr}/events");
    let events = take(&url, Some("999999"), 3).await;
    assert_eq!(events[0].event_type(), "reset");
    let latest: u64 = events[0].id().map_or(0, |id| id.parse().unwrap());
    assert_eq!(ids(&events[1..]), [latest + 1, latest + 2]);
}
