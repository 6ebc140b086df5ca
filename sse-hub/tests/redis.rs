//! The Redis backend against a real `redis-server`, started by each test
//! on a free port of 127.0.0.1: several hubs on one Redis are several server
//! instances. What a client receives is decoded with sse-codec's decoder.
#![cfg(feature = "redis")]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sse_codec::Event;
use sse_hub::redis::{RedisBackend, RedisBackendBuilder, RedisErrorKind};
use sse_hub::{Hub, Resume, Subscription};
use test_support::servers::RedisServer;

mod support;
use support::decode_all;

type RedisHub = Hub<RedisBackend>;

/// An instance: a hub on the Redis at `url`.
async fn instance(
    url: &str,
    configure: impl FnOnce(RedisBackendBuilder) -> RedisBackendBuilder,
) -> RedisHub {
    let backend = configure(RedisBackend::builder(url))
        .connect()
        .await
        .unwrap();
    Hub::builder().build_with(backend)
}

async fn instances<const N: usize>(redis: &RedisServer) -> [RedisHub; N] {
    let mut hubs = Vec::new();
    for _ in 0..N {
        hubs.push(instance(&redis.url(), |b| b).await);
    }
    hubs.try_into().ok().unwrap()
}

/// What a client received: `(event type, id, data)` per event.
type Received = Vec<(String, String, String)>;

/// Reads from `subscription` until `until` says stop or 5 s pass without
/// an event.
async fn read_until(
    subscription: &mut Subscription,
    mut until: impl FnMut(&Received) -> bool,
) -> Received {
    let mut out = Received::new();
    while !until(&out) {
        let chunk = tokio::time::timeout(Duration::from_secs(5), subscription.next())
            .await
            .unwrap_or_else(|_| panic!("no event within 5 s; received so far: {out:?}"))
            .expect("the subscription goes on");
        for event in decode_all(&chunk) {
            out.push((
                event.event_type().to_owned(),
                event.id().unwrap_or_default().to_owned(),
                event.data().to_owned(),
            ));
        }
    }
    out
}

async fn read_n(subscription: &mut Subscription, n: usize) -> Received {
    read_until(subscription, |got| got.len() >= n).await
}

/// Nothing more arrives within `wait`.
async fn assert_quiet(subscription: &mut Subscription, wait: Duration) {
    if let Ok(Some(chunk)) = tokio::time::timeout(wait, subscription.next()).await {
        panic!("unexpected: {:?}", decode_all(&chunk));
    }
}

fn data(received: &Received) -> Vec<&str> {
    received.iter().map(|(_, _, data)| data.as_str()).collect()
}

/// `(epoch, seq)` of an id written by the Redis backend.
fn position(id: &str) -> (u64, u64) {
    let (epoch, seq) = id.split_once('-').expect("<epoch>-<seq>");
    (epoch.parse().unwrap(), seq.parse().unwrap())
}

/// `seen` is exactly `epoch`'s positions 1 to `last`, in order; else the
/// first difference is reported.
fn assert_consecutive(seen: &[(u64, u64)], epoch: u64, last: u64) {
    let expected = (1..=last).map(|seq| (epoch, seq));
    if let Some((i, (got, want))) = seen
        .iter()
        .copied()
        .zip(expected)
        .enumerate()
        .find(|(_, (got, want))| got != want)
    {
        panic!("event {i}: got {got:?}, expected {want:?} (a gap or a duplicate)");
    }
    assert_eq!(seen.len() as u64, last, "every event once");
}

async fn publish(hub: &RedisHub, channel: &str, data: &str) -> String {
    hub.publish(channel, Event::new(data))
        .await
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_published_on_one_instance_reaches_all_and_a_client_resumes_on_another() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let [a, b, c] = instances::<3>(&redis).await;

    let mut on_a = a.subscribe("news", None).await.unwrap();
    let mut on_c = c.subscribe("news", None).await.unwrap();
    let first = publish(&b, "news", "one").await;
    let (epoch, seq) = position(&first);
    assert_eq!(seq, 1);
    assert_eq!(data(&read_n(&mut on_a, 1).await), ["one"]);
    assert_eq!(
        read_n(&mut on_c, 1).await,
        [("message".into(), first.clone(), "one".into())]
    );

    // The client on A reads two more, then its connection drops.
    publish(&b, "news", "two").await;
    let last_seen = publish(&a, "news", "three").await;
    let got = read_n(&mut on_a, 2).await;
    assert_eq!(got[1].1, last_seen);
    drop(on_a);
    for n in ["four", "five", "six"] {
        publish(&b, "news", n).await;
    }
    // ... and it comes back on C with its Last-Event-ID: exactly what it
    // missed, then the live events.
    let mut resumed = c.subscribe("news", Some(last_seen.as_str())).await.unwrap();
    let replayed = read_n(&mut resumed, 3).await;
    assert_eq!(data(&replayed), ["four", "five", "six"]);
    let ids: Vec<_> = replayed.iter().map(|(_, id, _)| position(id)).collect();
    assert_eq!(ids, [(epoch, 4), (epoch, 5), (epoch, 6)]);
    publish(&a, "news", "seven").await;
    assert_eq!(data(&read_n(&mut resumed, 1).await), ["seven"]);
    assert_quiet(&mut resumed, Duration::from_millis(200)).await;

    // One pub/sub message per instance per event, whatever the number of
    // subscribers there.
    let mut crowd = Vec::new();
    for _ in 0..50 {
        crowd.push(c.subscribe("news", None).await.unwrap());
    }
    let before = c.backend().redis_stats().live_messages;
    publish(&b, "news", "eight").await;
    for sub in &mut crowd {
        assert_eq!(data(&read_n(sub, 1).await), ["eight"]);
    }
    assert_eq!(c.backend().redis_stats().live_messages - before, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_and_resuming_clients_see_every_event_once_in_order() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let hubs = instances::<3>(&redis).await;
    const PER_PUBLISHER: u64 = 300;
    const TOTAL: u64 = 3 * PER_PUBLISHER;
    const CLIENTS: usize = 6;
    let deadline = Instant::now() + Duration::from_secs(60);

    // Each client starts before the first event, reads a few chunks, drops
    // its connection and resumes on another instance, over and over.
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let hubs = hubs.clone();
        let first = hubs[client % 3].subscribe("c", None).await.unwrap();
        clients.push(tokio::spawn(async move {
            let mut subscription = first;
            let mut seen: Vec<(u64, u64)> = Vec::new();
            let mut hops = 0u64;
            while seen.last().map_or(0, |p| p.1) < TOTAL {
                assert!(
                    Instant::now() < deadline,
                    "client {client} stuck at {:?}",
                    seen.last()
                );
                for (kind, id, _) in read_n(&mut subscription, 1).await {
                    assert_eq!(kind, "message", "client {client}: no reset expected");
                    seen.push(position(&id));
                }
                if seen.len() % 7 == 3 {
                    hops += 1;
                    let last = format!("{}-{}", seen.last().unwrap().0, seen.last().unwrap().1);
                    let hub = &hubs[(client + hops as usize) % 3];
                    subscription = hub.subscribe("c", Some(last.as_str())).await.unwrap();
                }
            }
            (seen, hops)
        }));
    }
    let mut publishers = Vec::new();
    for (p, hub) in hubs.iter().enumerate() {
        let hub = hub.clone();
        publishers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for n in 0..PER_PUBLISHER {
                let id = hub
                    .publish("c", Event::new(format!("{p}:{n}")))
                    .await
                    .unwrap();
                mine.push(position(&id).1);
                if n % 16 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            mine
        }));
    }
    for publisher in publishers {
        let mine = publisher.await.unwrap();
        assert!(
            mine.windows(2).all(|w| w[0] < w[1]),
            "one publisher's events keep their order"
        );
    }
    for client in clients {
        let (seen, hops) = client.await.unwrap();
        let epoch = seen[0].0;
        assert_consecutive(&seen, epoch, TOTAL);
        assert!(hops > 10, "the clients did resume ({hops} times)");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_older_than_the_history_or_unknown_gets_the_reset_event() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let a = instance(&redis.url(), |b| b.history_events(10)).await;
    let b = instance(&redis.url(), |b| b.history_events(10)).await;
    let mut ids = Vec::new();
    for n in 0..300 {
        ids.push(publish(&a, "c", &n.to_string()).await);
    }
    let latest = ids.last().unwrap().clone();

    // Trimmed away (MAXLEN ~ keeps a little more than 10, never 290).
    let mut old = b.subscribe("c", Some(ids[9].as_str())).await.unwrap();
    assert_eq!(
        read_n(&mut old, 1).await,
        [("reset".into(), latest.clone(), String::new())]
    );
    // Recent enough: replayed.
    let mut recent = b.subscribe("c", Some(ids[295].as_str())).await.unwrap();
    assert_eq!(
        data(&read_n(&mut recent, 4).await),
        ["296", "297", "298", "299"]
    );
    // Not an id of ours, from the future, of another epoch: reset.
    let (epoch, seq) = position(&latest);
    for unknown in [
        "7",
        "garbage",
        &format!("{epoch}-{}", seq + 5),
        &format!("{}-1", epoch - 1),
    ] {
        let mut sub = b.subscribe("c", Some(unknown)).await.unwrap();
        assert_eq!(
            read_n(&mut sub, 1).await,
            [("reset".into(), latest.clone(), String::new())],
            "{unknown}"
        );
    }
    // The latest id: nothing to replay.
    let mut current = b.subscribe("c", Some(latest.as_str())).await.unwrap();
    assert_quiet(&mut current, Duration::from_millis(200)).await;
    // Resume::Oldest: what the log holds, ending with the latest.
    let mut oldest = b.subscribe("c", Resume::Oldest).await.unwrap();
    let all = read_until(&mut oldest, |got| got.last().is_some_and(|e| e.1 == latest)).await;
    assert!((10..=200).contains(&all.len()), "{}", all.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushed_redis_means_a_new_epoch_announced_once_and_no_event_lost() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let [a, b] = instances::<2>(&redis).await;
    let mut connected = a.subscribe("c", None).await.unwrap();
    let mut before = String::new();
    for n in 1..=3 {
        before = publish(&b, "c", &format!("old {n}")).await;
    }
    assert_eq!(
        data(&read_n(&mut connected, 3).await),
        ["old 1", "old 2", "old 3"]
    );

    redis.cli(&["FLUSHALL"]);
    let first = publish(&b, "c", "new 1").await;
    let (epoch, seq) = position(&first);
    assert_ne!(epoch, position(&before).0, "a new epoch");
    assert_eq!(seq, 1);
    // The connected client is told once, with an id that resumes at the
    // new epoch's start, and then gets the new epoch's first event: the
    // reset announces a possible loss, it does not take an event's place.
    let start = format!("{epoch}-0");
    assert_eq!(
        read_n(&mut connected, 2).await,
        [
            ("reset".into(), start.clone(), String::new()),
            ("message".into(), first.clone(), "new 1".into()),
        ]
    );
    // After the loss: a new client without Last-Event-ID gets no reset (it
    // missed nothing); one resuming with an id of the old epoch gets the
    // reset and the new epoch from its start; both on either instance.
    let mut fresh_a = a.subscribe("c", None).await.unwrap();
    let mut fresh_b = b.subscribe("c", None).await.unwrap();
    let mut resumed = b.subscribe("c", Some(before.as_str())).await.unwrap();
    let second = publish(&b, "c", "new 2").await;
    for fresh in [&mut fresh_a, &mut fresh_b] {
        assert_eq!(
            read_n(fresh, 1).await,
            [("message".into(), second.clone(), "new 2".into())]
        );
    }
    assert_eq!(
        read_n(&mut resumed, 3).await,
        [
            ("reset".into(), start.clone(), String::new()),
            ("message".into(), first.clone(), "new 1".into()),
            ("message".into(), second.clone(), "new 2".into()),
        ]
    );
    assert_eq!(
        read_n(&mut connected, 1).await,
        [("message".into(), second.clone(), "new 2".into())]
    );
    // The reset's id resumes where it says: the whole new epoch.
    let mut from_start = a.subscribe("c", Some(start.as_str())).await.unwrap();
    assert_eq!(data(&read_n(&mut from_start, 2).await), ["new 1", "new 2"]);
    for sub in [
        &mut connected,
        &mut fresh_a,
        &mut fresh_b,
        &mut resumed,
        &mut from_start,
    ] {
        assert_quiet(sub, Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_arrives_after_a_flush_and_before_any_event_gets_no_reset() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let [a, b] = instances::<2>(&redis).await;
    let mut connected = a.subscribe("c", None).await.unwrap();
    publish(&b, "c", "old").await;
    assert_eq!(data(&read_n(&mut connected, 1).await), ["old"]);

    redis.cli(&["FLUSHALL"]);
    // Instance A has not heard of the loss: nothing was published since.
    let mut fresh = a.subscribe("c", None).await.unwrap();
    let first = publish(&b, "c", "new 1").await;
    assert_eq!(position(&first).1, 1);
    assert_eq!(
        read_n(&mut fresh, 1).await,
        [("message".into(), first.clone(), "new 1".into())]
    );
    // The client connected before the loss is told, once, then gets it all.
    let got = read_n(&mut connected, 2).await;
    assert_eq!(got[0].0, "reset");
    assert_eq!(got[1], ("message".into(), first, "new 1".into()));
    assert_quiet(&mut connected, Duration::from_millis(200)).await;
    assert_quiet(&mut fresh, Duration::from_millis(200)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restarted_without_its_data_resets_connected_and_resuming_clients() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let [a, b] = instances::<2>(&redis).await;
    let mut connected = a.subscribe("c", None).await.unwrap();
    let before = publish(&b, "c", "before").await;
    assert_eq!(data(&read_n(&mut connected, 1).await), ["before"]);

    redis.start_again();
    // Nothing published since: the channel is empty, so the reset carries
    // an empty id (the browser forgets the dead one).
    assert_eq!(
        read_n(&mut connected, 1).await,
        [("reset".into(), String::new(), String::new())]
    );
    let first = wait_for(|| publish_ok(&b, "c", "first")).await;
    assert_eq!(position(&first).1, 1);
    assert_eq!(
        read_n(&mut connected, 1).await,
        [("message".into(), first.clone(), "first".into())]
    );
    // Resuming with an id of the old epoch: the reset, then the new epoch
    // from its start.
    let mut resumed = b.subscribe("c", Some(before.as_str())).await.unwrap();
    assert_eq!(
        read_n(&mut resumed, 2).await,
        [
            (
                "reset".into(),
                format!("{}-0", position(&first).0),
                String::new()
            ),
            ("message".into(), first, "first".into()),
        ]
    );
}

async fn publish_ok(hub: &RedisHub, channel: &str, data: &str) -> Option<String> {
    hub.publish(channel, Event::new(data))
        .await
        .ok()
        .map(|id| id.to_string())
}

/// Retries `f` until it gives a value, for at most 10 s.
async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(mut f: impl FnMut() -> F) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = f().await {
            return value;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not back within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_for_two_seconds_under_load_fails_publishes_and_loses_no_event() {
    let Some(mut redis) = RedisServer::start_persistent() else {
        return;
    };
    let timeout = Duration::from_millis(300);
    let a = instance(&redis.url(), |b| b.timeout(timeout)).await;
    let b = instance(&redis.url(), |b| b.timeout(timeout)).await;
    let mut on_a = a.subscribe("c", None).await.unwrap();
    let mut on_b = b.subscribe("c", None).await.unwrap();

    let publisher = {
        let b = b.clone();
        tokio::spawn(async move {
            let (mut ok, mut failed, mut slowest) = (Vec::new(), 0, Duration::ZERO);
            let start = Instant::now();
            let mut n = 0;
            while start.elapsed() < Duration::from_secs(5) {
                n += 1;
                let t = Instant::now();
                match b.publish("c", Event::new(n.to_string())).await {
                    Ok(id) => ok.push(id.to_string()),
                    Err(err) => {
                        assert!(
                            matches!(
                                err.kind(),
                                RedisErrorKind::Unavailable | RedisErrorKind::Timeout
                            ),
                            "{err}"
                        );
                        failed += 1;
                    }
                }
                slowest = slowest.max(t.elapsed());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (ok, failed, slowest)
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.kill();
    // New subscribers get an error, quickly, while Redis is down.
    let t = Instant::now();
    let refused = a.subscribe("another", None).await;
    assert!(refused.is_err(), "no subscription without Redis");
    assert!(
        t.elapsed() < timeout * 5,
        "refused within the bound: {:?}",
        t.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.start_again();
    let (ok, failed, slowest) = publisher.await.unwrap();
    assert!(failed > 0, "publishes failed during the outage");
    assert!(
        slowest < timeout * 3,
        "each failed within the bound: {slowest:?}"
    );
    let last = ok.last().unwrap().clone();

    // Both subscribers stayed connected and got every event that was
    // published, once, in order: no silent gap (an event whose publish
    // failed with a timeout may still have been stored: then they get it).
    for sub in [&mut on_a, &mut on_b] {
        let got = read_until(sub, |got| got.last().is_some_and(|e| e.1 == last)).await;
        assert!(
            got.iter().all(|(kind, _, _)| kind == "message"),
            "no reset: nothing was lost"
        );
        let seen: Vec<_> = got.iter().map(|(_, id, _)| position(id)).collect();
        assert_consecutive(&seen, position(&last).0, position(&last).1);
        let ids: std::collections::HashSet<_> = got.iter().map(|e| e.1.clone()).collect();
        assert!(ok.iter().all(|id| ids.contains(id)));
    }
    assert!(a.backend().redis_stats().reconnects >= 1);
    // And new subscribers are welcome again.
    drop(wait_for(|| async { a.subscribe("another", None).await.ok() }).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_fails_publish_within_the_timeout_and_delivers_after() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let timeout = Duration::from_millis(300);
    let a = instance(&redis.url(), |b| b.timeout(timeout)).await;
    let mut sub = a.subscribe("c", None).await.unwrap();
    publish(&a, "c", "one").await;
    redis.pause(true);
    let t = Instant::now();
    let err = a.publish("c", Event::new("lost?")).await.unwrap_err();
    assert_eq!(err.kind(), RedisErrorKind::Timeout);
    assert!(t.elapsed() < timeout * 2, "{:?}", t.elapsed());
    redis.pause(false);
    let two = wait_for(|| publish_ok(&a, "c", "two")).await;
    // The timed-out publish was queued to Redis and ran when it woke: it is
    // delivered, in order, not lost silently.
    let got = read_until(&mut sub, |got| got.last().is_some_and(|e| e.1 == two)).await;
    let seen: Vec<_> = got.iter().map(|(_, id, _)| position(id)).collect();
    assert_consecutive(&seen, position(&two).0, position(&two).1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_are_isolated_also_against_a_forged_last_event_id() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let [a, b] = instances::<2>(&redis).await;
    let mut alice = Vec::new();
    for n in 0..5 {
        alice.push(publish(&a, "user-alice", &format!("secret {n}")).await);
    }
    let bob_first = publish(&a, "user-bob", "hello bob").await;
    // Bob forges an id of Alice's channel (of an earlier epoch than his
    // channel's): he gets his own channel's reset, then his channel from
    // its start, and nothing of Alice's.
    let mut bob = b
        .subscribe("user-bob", Some(alice[0].as_str()))
        .await
        .unwrap();
    let got = read_n(&mut bob, 2).await;
    let bob_start = format!("{}-0", position(&bob_first).0);
    assert_eq!(
        got,
        [
            ("reset".into(), bob_start, String::new()),
            ("message".into(), bob_first, "hello bob".into()),
        ]
    );
    publish(&a, "user-alice", "secret 5").await;
    let next = publish(&a, "user-bob", "for bob").await;
    let got = read_n(&mut bob, 1).await;
    assert_eq!(got, [("message".into(), next, "for bob".into())]);
    // Keys of one hub never reach another hub on the same Redis.
    let other = instance(&redis.url(), |b| b.prefix("other:")).await;
    let mut elsewhere = other
        .subscribe("user-alice", Some(alice[0].as_str()))
        .await
        .unwrap();
    assert_eq!(
        read_n(&mut elsewhere, 1).await,
        [("reset".into(), String::new(), String::new())]
    );
    let stats: HashMap<_, _> = [("a", a.stats().channels), ("b", b.stats().channels)].into();
    assert_eq!(stats["b"], 1, "instance b joined only bob's channel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_with_their_own_id_are_refused_and_frames_are_encoded_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let [a, b] = instances::<2>(&redis).await;
    let with_id = Event::builder().id("mine").data("x").build().unwrap();
    let err = a.publish("c", with_id).await.unwrap_err();
    assert_eq!(err.kind(), RedisErrorKind::EventHasId);

    let mut sub = b.subscribe("c", None).await.unwrap();
    let event = Event::builder()
        .event_type("progress")
        .data("line one\nline two")
        .retry(Duration::from_millis(2500))
        .build()
        .unwrap();
    let id = a.publish("c", event.clone()).await.unwrap();
    let chunk = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    // The bytes on the wire: an id line, then the event as sse-codec wrote it.
    let mut expected = format!("id: {id}\n").into_bytes();
    expected.extend_from_slice(&sse_codec::EncodedFrame::from(&event).into_bytes());
    assert_eq!(chunk.as_bytes(), &expected[..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_listens_to_a_channel_only_while_it_has_subscribers() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let [a] = instances::<1>(&redis).await;
    let listeners = || {
        let out = redis.cli(&["PUBSUB", "NUMSUB", "sse:live:c"]);
        out.lines().nth(1).unwrap().trim().parse::<u64>().unwrap()
    };
    assert_eq!(listeners(), 0);
    let first = a.subscribe("c", None).await.unwrap();
    let second = a.subscribe("c", None).await.unwrap();
    assert_eq!(listeners(), 1, "one pub/sub subscription per instance");
    drop(first);
    assert_eq!(a.prune(), 0, "a subscriber is left");
    drop(second);
    assert_eq!(a.prune(), 1);
    let start = Instant::now();
    while listeners() != 0 {
        assert!(start.elapsed() < Duration::from_secs(5), "still subscribed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And it comes back with the next subscriber.
    let mut again = a.subscribe("c", None).await.unwrap();
    let id = publish(&a, "c", "back").await;
    assert_eq!(
        read_n(&mut again, 1).await,
        [("message".into(), id, "back".into())]
    );
}
