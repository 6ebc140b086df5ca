//! The hub's promises, checked on the wire: every frame a subscription
//! yields is decoded by sse-codec's (spec-tested) decoder, as a browser
//! would read it.

use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use sse_codec::Event;
use sse_hub::{Hub, Subscription};

mod support;
use support::{decode_all, Ready};

/// What the subscription yields without waiting.
fn ready(subscription: &mut Subscription) -> Vec<Event> {
    let mut out = Vec::new();
    while let Some(Some(frame)) = subscription.next().now_or_never() {
        out.extend(decode_all(&frame));
    }
    out
}

fn publish_n(hub: &Hub, channel: &str, range: std::ops::RangeInclusive<u64>) {
    for n in range {
        let Ok(_) = hub
            .publish(channel, Event::new(format!("event {n}")))
            .ready();
    }
}

fn ids(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.id().unwrap()).collect()
}

#[test]
fn ids_are_consecutive_per_channel_unless_given() {
    let hub = Hub::new();
    assert_eq!(hub.publish("a", Event::new("x")).ready().unwrap(), "1");
    assert_eq!(hub.publish("a", Event::new("x")).ready().unwrap(), "2");
    assert_eq!(hub.publish("b", Event::new("x")).ready().unwrap(), "1");
    let given = Event::builder().id("order-17").data("x").build().unwrap();
    assert_eq!(hub.publish("a", given).ready().unwrap(), "order-17");
    assert_eq!(hub.publish("a", Event::new("x")).ready().unwrap(), "4");
}

#[test]
fn new_subscribers_get_live_events_only() {
    let hub = Hub::new();
    publish_n(&hub, "c", 1..=3);
    let Ok(mut sub) = hub.subscribe("c", None).ready();
    assert!(ready(&mut sub).is_empty());
    publish_n(&hub, "c", 4..=5);
    let got = ready(&mut sub);
    assert_eq!(ids(&got), ["4", "5"]);
    assert_eq!(got[0].data(), "event 4");
}

#[test]
fn replays_exactly_the_missed_events_then_live() {
    let hub = Hub::new();
    publish_n(&hub, "c", 1..=5);
    let Ok(mut sub) = hub.subscribe("c", Some("2")).ready();
    // Published after subscribing, before the replay is read.
    publish_n(&hub, "c", 6..=7);
    assert_eq!(ids(&ready(&mut sub)), ["3", "4", "5", "6", "7"]);
    // Up to date: nothing to replay.
    let Ok(mut sub) = hub.subscribe("c", Some("7")).ready();
    assert!(ready(&mut sub).is_empty());
}

#[test]
fn replays_after_ids_the_publisher_chose() {
    let hub = Hub::new();
    for id in ["a", "b", "c"] {
        let event = Event::builder().id(id).data(id).build().unwrap();
        hub.publish("c", event).ready().unwrap();
    }
    let Ok(mut sub) = hub.subscribe("c", Some("a")).ready();
    assert_eq!(ids(&ready(&mut sub)), ["b", "c"]);
}

#[test]
fn too_old_or_unknown_ids_get_the_reset_event_then_live() {
    let hub = Hub::builder()
        .history_events(3)
        .history_burst(0, Duration::ZERO)
        .build();
    publish_n(&hub, "c", 1..=10);
    // History holds 8, 9, 10: "6" is too old (7 is gone), the others are
    // unknown here (a restarted server, another channel's id).
    for (stale, live) in [("6", 11), ("not-an-id", 12), ("99", 13)] {
        let latest = (live - 1).to_string();
        let Ok(mut sub) = hub.subscribe("c", Some(stale)).ready();
        publish_n(&hub, "c", live..=live);
        let got = ready(&mut sub);
        assert_eq!(got.len(), 2, "{stale}");
        assert_eq!(got[0].event_type(), "reset");
        // The reset carries the latest id, so a reconnect resumes there.
        assert_eq!(got[0].id(), Some(latest.as_str()));
        assert_eq!(got[1].data(), format!("event {live}"));
    }
    // History now holds 11, 12, 13: the oldest kept id is not a gap.
    let Ok(mut sub) = hub.subscribe("c", Some("11")).ready();
    assert_eq!(ids(&ready(&mut sub)), ["12", "13"]);
}

#[test]
fn reset_event_is_configurable_and_empty_channels_reset_the_id() {
    let reset = Event::builder()
        .event_type("reload")
        .data("state lost")
        .build()
        .unwrap();
    let hub = Hub::builder().reset_event(reset).build();
    // A server that restarted has no history: the client's id is unknown.
    let Ok(mut sub) = hub.subscribe("c", Some("57")).ready();
    let frame = sub.next().now_or_never().unwrap().unwrap();
    // `id:` with no value: the browser's last event ID becomes empty, so it
    // sends none on its next reconnect.
    assert_eq!(
        frame.as_bytes(),
        "event: reload\nid: \ndata: state lost\n\n"
    );
    let got = decode_all(&frame);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event_type(), "reload");
    assert_eq!(got[0].data(), "state lost");
    assert_eq!(got[0].id(), None);
}

#[test]
fn history_is_bounded_by_events_and_by_bytes() {
    let hub = Hub::builder()
        .history_events(100)
        .history_bytes(1000)
        .build();
    publish_n(&hub, "c", 1..=1000);
    let stats = hub.channel_stats("c").unwrap();
    assert!(stats.history_bytes <= 1000, "{stats:?}");
    assert!(stats.history_events <= 100);
    assert_eq!(stats.published, 1000);
    // The newest events are the ones kept.
    let first_kept = 1000 - stats.history_events as u64 + 1;
    let Ok(mut sub) = hub
        .subscribe("c", Some(first_kept.to_string().as_str()))
        .ready();
    let got = ready(&mut sub);
    assert_eq!(got.len(), stats.history_events - 1);
    assert_eq!(got.last().unwrap().id(), Some("1000"));
}

#[test]
fn channels_are_isolated() {
    let hub = Hub::new();
    let Ok(mut a) = hub.subscribe("user-a", None).ready();
    publish_n(&hub, "user-b", 1..=5);
    assert!(ready(&mut a).is_empty());
    // B's ids mean nothing on A: A's own history is replayed, never B's.
    publish_n(&hub, "user-a", 1..=2);
    let Ok(mut a2) = hub.subscribe("user-a", Some("1")).ready();
    let got = ready(&mut a2);
    assert_eq!(ids(&got), ["2"]);
    assert!(got.iter().all(|e| e.data() == "event 2"));
    assert_eq!(ready(&mut a).len(), 2);
}

#[test]
fn a_slow_subscriber_falls_out_of_history_gets_the_reset_and_goes_on() {
    let hub = Hub::builder()
        .history_events(100)
        .history_burst(0, Duration::ZERO)
        .build();
    let Ok(mut fast) = hub.subscribe("c", None).ready();
    let Ok(mut slow) = hub.subscribe("c", None).ready();
    // The slow one reads one event, then stalls.
    publish_n(&hub, "c", 1..=1);
    assert_eq!(ids(&ready(&mut slow)), ["1"]);
    let mut fast_seen = ready(&mut fast);
    for n in 2..=5000 {
        publish_n(&hub, "c", n..=n);
        // The hub holds the channel's history once, whoever lags.
        assert!(hub.channel_stats("c").unwrap().history_events <= 100);
        fast_seen.extend(ready(&mut fast));
    }
    // The fast subscriber got everything, with no reset.
    assert_eq!(fast_seen.len(), 5000);
    assert!(fast_seen.iter().all(|e| e.event_type() == "message"));
    // The slow one is told it missed events (the reset carries the latest
    // id), then goes on with the next ones.
    let got = ready(&mut slow);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].event_type(), got[0].id()), ("reset", Some("5000")));
    publish_n(&hub, "c", 5001..=5001);
    assert_eq!(ids(&ready(&mut slow)), ["5001"]);
    let stats = hub.channel_stats("c").unwrap();
    assert_eq!((stats.lagged, stats.subscribers), (1, 2));
}

#[test]
fn a_subscriber_within_history_is_never_reset_however_far_behind() {
    let hub = Hub::builder().history_events(1000).build();
    let Ok(mut sub) = hub.subscribe("c", None).ready();
    publish_n(&hub, "c", 1..=1000);
    assert_eq!(sub.backlog(), (0, 1000));
    let got = ready(&mut sub);
    assert_eq!(got.len(), 1000);
    assert!(got.iter().all(|e| e.event_type() == "message"));
    assert_eq!(hub.stats().lagged, 0);
}

#[test]
fn one_event_larger_than_history_still_reaches_a_subscriber_that_keeps_up() {
    let hub = Hub::builder()
        .history_bytes(100)
        .history_burst(0, Duration::ZERO)
        .build();
    let Ok(mut sub) = hub.subscribe("c", None).ready();
    let big = "x".repeat(10_000);
    hub.publish("c", Event::new(big.clone())).ready().unwrap();
    assert_eq!(ready(&mut sub)[0].data(), big);
    hub.publish("c", Event::new(big.clone())).ready().unwrap();
    assert_eq!(ready(&mut sub)[0].data(), big);
    assert_eq!(
        hub.channel_stats("c").unwrap().history_events,
        1,
        "only the newest"
    );
}

#[test]
fn every_subscriber_gets_the_same_bytes() {
    let hub = Hub::new();
    let mut subs: Vec<_> = (0..3)
        .map(|_| hub.subscribe("c", None).ready().unwrap())
        .collect();
    hub.publish("c", Event::new("shared")).ready().unwrap();
    let frames: Vec<_> = subs
        .iter_mut()
        .map(|s| s.next().now_or_never().unwrap().unwrap())
        .collect();
    let ptr = frames[0].as_bytes().as_ptr();
    assert!(
        frames.iter().all(|f| f.as_bytes().as_ptr() == ptr),
        "encoded once, shared"
    );
}

#[test]
fn stats_count_subscribers_and_prune_drops_empty_channels() {
    let hub = Hub::builder().history_events(0).build();
    let a = hub.subscribe("a", None).ready().unwrap();
    let _b = hub.subscribe("b", None).ready().unwrap();
    hub.publish("c", Event::new("no one listens"))
        .ready()
        .unwrap();
    let stats = hub.stats();
    assert_eq!((stats.channels, stats.subscribers), (3, 2));
    assert_eq!(hub.channel_stats("a").unwrap().subscribers, 1);
    drop(a);
    assert_eq!(hub.channel_stats("a").unwrap().subscribers, 0);
    // "a" and "c" have no subscriber and (history 0) no history.
    assert_eq!(hub.prune(), 2);
    assert_eq!(hub.stats().channels, 1);
    assert!(hub.channel_stats("a").is_none());
    // A pruned channel comes back on use.
    hub.publish("a", Event::new("again")).ready().unwrap();
    assert_eq!(hub.channel_stats("a").unwrap().published, 1);
}

#[tokio::test]
async fn publishing_never_waits_for_a_subscriber() {
    // Without the slack for bursts, history alone bounds the log.
    let hub = Hub::builder().history_burst(0, Duration::ZERO).build();
    let mut stalled: Vec<_> = (0..100)
        .map(|_| hub.subscribe("c", None).ready().unwrap())
        .collect();
    // No subscriber is ever polled; publishing still completes (bounded),
    // and the hub holds the history once (1000 events by default).
    let publish = tokio::task::spawn_blocking({
        let hub = hub.clone();
        move || publish_n(&hub, "c", 1..=10_000)
    });
    tokio::time::timeout(Duration::from_secs(30), publish)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hub.channel_stats("c").unwrap().history_events, 1000);
    // Each learns what it missed when it reads again.
    for sub in &mut stalled {
        assert_eq!(ready(sub)[0].event_type(), "reset");
    }
    assert_eq!(hub.stats().lagged, 100);
}

#[test]
fn a_subscription_never_ends() {
    let hub = Hub::new();
    let mut sub = hub.subscribe("c", None).ready().unwrap();
    assert!(sub.next().now_or_never().is_none(), "pending, not ended");
}

#[test]
fn oldest_replays_all_of_history() {
    let hub = Hub::builder()
        .history_events(3)
        .history_burst(0, Duration::ZERO)
        .build();
    publish_n(&hub, "c", 1..=5);
    let Ok(mut sub) = hub.subscribe("c", sse_hub::Resume::Oldest).ready();
    assert_eq!(ids(&ready(&mut sub)), ["3", "4", "5"]);
    publish_n(&hub, "c", 6..=6);
    assert_eq!(ids(&ready(&mut sub)), ["6"]);
    // A subscriber is a position in history: one that starts at the oldest
    // event and reads nothing before the next publish has fallen out of it.
    let Ok(mut sub) = hub.subscribe("c", sse_hub::Resume::Oldest).ready();
    publish_n(&hub, "c", 7..=7);
    let got = ready(&mut sub);
    assert_eq!((got[0].event_type(), got[0].id()), ("reset", Some("7")));
}

#[test]
fn ready_frames_are_joined_into_chunks_of_whole_events() {
    let hub = Hub::builder()
        .history_events(10_000)
        .history_bytes(usize::MAX)
        .build();
    publish_n(&hub, "c", 1..=5000);
    hub.publish("c", Event::new("y".repeat(80_000)))
        .ready()
        .unwrap();
    publish_n(&hub, "c", 5002..=5003);
    let Ok(mut sub) = hub.subscribe("c", sse_hub::Resume::Oldest).ready();
    let Ok(mut other) = hub.subscribe("c", sse_hub::Resume::Oldest).ready();
    let mut events = Vec::new();
    let mut shared = Vec::new();
    while let Some(Some(chunk)) = sub.next().now_or_never() {
        let in_chunk = decode_all(&chunk);
        // Joined chunks stay within 64 KiB; a large event goes alone.
        assert!(chunk.len() <= 64 * 1024 || in_chunk.len() == 1);
        let twin = other.next().now_or_never().unwrap().unwrap();
        assert_eq!(twin, chunk);
        shared.push(twin.as_bytes().as_ptr() == chunk.as_bytes().as_ptr());
        events.extend(in_chunk);
    }
    // Two subscribers at the same place read the same shared bytes: a chunk
    // is joined once, not once per subscriber; all but the last (the part
    // of the log still filling, joined for each reader).
    let chunks = shared.len();
    assert_eq!(shared[..chunks - 1], vec![true; chunks - 1]);
    assert_eq!(events.len(), 5003);
    let ids: Vec<u64> = events
        .iter()
        .map(|e| e.id().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, (1..=5003).collect::<Vec<_>>());
    assert!(chunks < 10, "{chunks} chunks for 5003 events");
}

#[test]
fn old_events_expire_so_idle_channels_can_be_pruned() {
    let hub = Hub::builder()
        .history_max_age(Duration::from_millis(50))
        .build();
    publish_n(&hub, "session-1", 1..=3);
    let Ok(mut sub) = hub.subscribe("session-1", Some("1")).ready();
    assert_eq!(ids(&ready(&mut sub)), ["2", "3"]);
    drop(sub);
    assert_eq!(hub.prune(), 0, "young history keeps the channel");
    std::thread::sleep(Duration::from_millis(80));
    // Too late to replay: the client is told.
    let Ok(mut late) = hub.subscribe("session-1", Some("1")).ready();
    assert_eq!(ready(&mut late)[0].event_type(), "reset");
    drop(late);
    assert_eq!(hub.channel_stats("session-1").unwrap().history_events, 0);
    assert_eq!(hub.prune(), 1);
    assert_eq!(hub.stats().channels, 0);
}

#[test]
fn a_burst_past_history_reaches_a_subscriber_that_reads_it_later_without_a_reset() {
    // The defaults: 1,000 events of history, slack for bursts.
    let hub = Hub::new();
    let Ok(mut reader) = hub.subscribe("c", None).ready();
    publish_n(&hub, "c", 1..=20_000);
    // Read only now, as a subscriber sharing the CPU with the publisher
    // would: every event, in order, no reset.
    let mut ids = Vec::new();
    while ids.len() < 20_000 {
        let got = ready(&mut reader);
        assert!(!got.is_empty(), "stopped after {}", ids.len());
        for event in got {
            assert_eq!(event.event_type(), "message", "after {}", ids.len());
            ids.push(event.id().unwrap().parse::<u64>().unwrap());
        }
    }
    assert!(ids.iter().copied().eq(1..=20_000));
    // The slack is for those connected, not for replay: a client resuming
    // from the burst's start gets the reset; one within history, its events.
    let Ok(mut resumed) = hub.subscribe("c", Some("100")).ready();
    assert_eq!(ready(&mut resumed)[0].event_type(), "reset");
    let Ok(mut recent) = hub.subscribe("c", Some("19998")).ready();
    let got: Vec<_> = ready(&mut recent)
        .iter()
        .map(|e| e.id().unwrap().to_owned())
        .collect();
    assert_eq!(got, ["19999", "20000"]);
}

#[test]
fn a_burst_is_given_back_after_its_age_and_bounded_by_its_bytes() {
    let hub = Hub::builder()
        .history_events(100)
        .history_burst(1 << 20, Duration::from_millis(200))
        .build();
    let Ok(mut stalled) = hub.subscribe("c", None).ready();
    publish_n(&hub, "c", 1..=2_000);
    assert_eq!(hub.channel_stats("c").unwrap().history_events, 2_000);
    // Older than the burst age: back to history at the next publish.
    std::thread::sleep(Duration::from_millis(300));
    publish_n(&hub, "c", 2_001..=2_001);
    assert_eq!(hub.channel_stats("c").unwrap().history_events, 100);
    // The stalled subscriber fell out of it: the reset, then the newest.
    assert_eq!(ready(&mut stalled)[0].event_type(), "reset");
    // A burst past the burst bytes (1 MiB) is cut to them while it lasts.
    publish_n(&hub, "c", 2_002..=200_000);
    let stats = hub.channel_stats("c").unwrap();
    assert!(stats.history_bytes < 1 << 20, "{}", stats.history_bytes);
    assert!(stats.history_events > 100, "{}", stats.history_events);
}
