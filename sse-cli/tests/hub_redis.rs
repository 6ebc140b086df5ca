//! `sse hub --redis` when Redis fails: a hung Redis makes a publish fail
//! with 503 within the Redis timeout (1 s), never hang;
//! subscribers stay connected and get what is published once it is back; a
//! Redis restarted without its data announces the loss with a `reset`
//! event, then the updates go on.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use test_support::servers::RedisServer;

mod support;
use support::start_hub;

// HS256 with "key", {"mercure":{"publish":["*"]}}, signed by python3's hmac.
const TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtZXJjdXJlIjp7InB1Ymxpc2giOlsiKiJdfX0.DE8tA07o6y1jkvBLBCKBJkMNCLreFH09RVHeCl3Huy8";

async fn publish(url: &str, data: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(url)
        .bearer_auth(TOKEN)
        .form(&[("topic", "t"), ("data", data)])
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap()
        .status()
}

async fn next(stream: &mut test_support::Events) -> (String, String) {
    let event = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("an event within 30 s")
        .expect("the stream goes on")
        .unwrap();
    (event.event_type().to_owned(), event.data().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_or_emptied_redis_fails_publishes_in_bounded_time_and_loses_nothing_silently() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let redis_url = redis.url();
    let (_hub, url, _) = start_hub(&[
        "--redis",
        &redis_url,
        "--publisher-jwt-key",
        "key",
        "--anonymous",
    ])
    .await;
    let mut stream = test_support::connect(&format!("{url}?match=t"), None).await;
    assert_eq!(publish(&url, "one").await, 200);
    assert_eq!(next(&mut stream).await, ("message".into(), "one".into()));

    // Hung: 503, within 5 s (1 s of Redis timeout, with room).
    redis.pause(true);
    let start = Instant::now();
    let status = publish(&url, "lost").await;
    let took = start.elapsed();
    redis.pause(false);
    assert_eq!(status, 503);
    assert!(took < Duration::from_secs(5), "answered in {took:?}");
    // Back: the subscriber, still connected, gets the next update. The one
    // that timed out was sent to Redis before it hung, and Redis runs it
    // once it continues: a 503 after a timeout means "not known to be
    // published" (a publisher that retries gives an id, to recognize a
    // duplicate), so it may come first, once.
    assert_eq!(publish(&url, "two").await, 200);
    let mut got = vec![next(&mut stream).await];
    if got[0].1 == "lost" {
        got.push(next(&mut stream).await);
    }
    assert_eq!(
        got.last(),
        Some(&("message".into(), "two".into())),
        "{got:?}"
    );

    // Restarted without its data: the loss is announced, then the updates
    // go on.
    redis.start_again();
    let start = Instant::now();
    loop {
        match publish(&url, "three").await.as_u16() {
            200 => break,
            503 => {
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "Redis back within 30 s"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("publish answered {other}"),
        }
    }
    let mut got = vec![next(&mut stream).await];
    if got[0].0 == "reset" {
        got.push(next(&mut stream).await);
    }
    assert_eq!(
        got,
        [
            ("reset".into(), String::new()),
            ("message".into(), "three".into())
        ]
    );
}
