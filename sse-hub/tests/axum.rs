//! End to end through sse-axum over a real socket, with a real HTTP client
//! that disconnects and reconnects with `Last-Event-ID`, as a browser does.

use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use futures_util::StreamExt;
use sse_axum::{LastEventId, Sse};
use sse_codec::Event;
use sse_hub::{Hub, Subscription};
use test_support::connect;

async fn events(State(hub): State<Hub>, LastEventId(last): LastEventId) -> Sse<Subscription> {
    let Ok(subscription) = hub.subscribe("jobs", last.as_deref()).await;
    Sse::new(subscription)
}

async fn serve(hub: Hub) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let app = Router::new().route("/events", get(events)).with_state(hub);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn wait_for_subscribers(hub: &Hub, n: usize) {
    for _ in 0..500 {
        if hub.stats().subscribers == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("{n} subscribers within 1 s");
}

/// Reads events until `last` (by id), checking each is the next one.
async fn read_until(events: &mut test_support::Events, next: &mut u64, last: u64) {
    while *next <= last {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("an event within 10 s")
            .expect("the stream goes on")
            .unwrap();
        assert_eq!(
            event.id(),
            Some(next.to_string().as_str()),
            "no gap, no duplicate"
        );
        assert_eq!(event.data(), format!("event {next}"));
        *next += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reconnects_gets_every_event_exactly_once() {
    let hub = Hub::new();
    let url = serve(hub.clone()).await;
    let mut first = connect(&url, None).await;
    wait_for_subscribers(&hub, 1).await;
    let publisher = tokio::spawn({
        let hub = hub.clone();
        async move {
            for n in 1..=300u64 {
                hub.publish("jobs", Event::new(format!("event {n}")))
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_micros(500)).await;
            }
        }
    });
    let mut next = 1;
    read_until(&mut first, &mut next, 100).await;
    // The network drops; events go on being published meanwhile.
    drop(first);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let last = (next - 1).to_string();
    let mut second = connect(&url, Some(&last)).await;
    read_until(&mut second, &mut next, 300).await;
    publisher.await.unwrap();
    assert_eq!(hub.channel_stats("jobs").unwrap().lagged, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_falls_out_of_history_and_gets_the_reset_event() {
    // History (the channel's log): 1,000 events of ~1 KB. The server holds
    // that whatever its clients do.
    // No slack for bursts: this is what history alone bounds.
    let hub = Hub::builder()
        .history_events(1000)
        .history_burst(0, Duration::ZERO)
        .build();
    let url = serve(hub.clone()).await;
    let mut stalled = connect(&url, None).await;
    let mut reader = connect(&url, None).await;
    wait_for_subscribers(&hub, 2).await;
    let data = "x".repeat(1000);
    // The other client reads everything as it comes, in order: it is never
    // further behind than history, so it never gets a reset.
    let reading = tokio::spawn({
        let data = data.clone();
        async move {
            for next in 1..=20_000u64 {
                let event = reader.next().await.unwrap().unwrap();
                assert_eq!(
                    event.event_type(),
                    "message",
                    "no reset for a client keeping up"
                );
                assert_eq!(event.data(), format!("event {next}{data}"));
            }
            reader
        }
    });
    // 20 MiB, at about 20 MiB/s, while `stalled` reads nothing: far more
    // than history and the sockets' buffers hold.
    for n in 1..=20_000u64 {
        hub.publish("jobs", Event::new(format!("event {n}{data}")))
            .await
            .unwrap();
        if n % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let mut reader = tokio::time::timeout(Duration::from_secs(30), reading)
        .await
        .unwrap()
        .unwrap();
    let stats = hub.channel_stats("jobs").unwrap();
    assert!(stats.history_bytes < 1100 * 1000, "{}", stats.history_bytes);

    // The stalled client reads what was in flight, in order, then the reset
    // event carrying the latest id, then what comes next: a gap, announced.
    let mut seen = 0u64;
    let reset = loop {
        let event = tokio::time::timeout(Duration::from_secs(10), stalled.next())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .unwrap();
        if event.event_type() == "reset" {
            break event;
        }
        seen += 1;
        assert_eq!(event.id(), Some(seen.to_string().as_str()));
    };
    assert!(
        seen < 19_000,
        "it fell behind ({seen} read before the reset)"
    );
    assert_eq!(reset.id(), Some("20000"));
    assert_eq!(
        hub.channel_stats("jobs").unwrap().lagged,
        1,
        "only the stalled client"
    );
    hub.publish("jobs", Event::new("after")).await.unwrap();
    for client in [&mut stalled, &mut reader] {
        let event = tokio::time::timeout(Duration::from_secs(10), client.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!((event.id(), event.data()), (Some("20001"), "after"));
    }
}
