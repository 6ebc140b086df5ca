//! The hub across instances on Redis, against the in-memory hub, side by
//! side in one run, with a `redis-server` of its own on 127.0.0.1.
//!
//! ```text
//! cargo bench -p benches --bench redis            # 1,000 subscribers, 5 s at 1,000 events/s
//! cargo bench -p benches --bench redis -- --quick # 100 subscribers, 1 s
//! ```
//!
//! 1. **Latency**: a publisher on instance B sends 1,000 events/s to one
//!    channel; N subscribers on instance A (hub subscriptions in this
//!    process, the queues an HTTP response would drain) record when each
//!    event reaches them. Publish-to-receive p50/p99 over all deliveries;
//!    the in-memory hub (publisher and subscribers on one instance) runs
//!    the same load first. Instances A and B are two `RedisBackend`s, each
//!    with its own connections, in this process.
//! 2. **Redis traffic**: pub/sub messages received by A per event (one,
//!    whatever N is: no per-subscriber traffic), and the commands Redis ran
//!    per published event (`INFO commandstats`).
//! 3. **Publish throughput** on one channel through Redis: one publish at a
//!    time, and 64 in flight (a server publishing for many requests).
//!
//! Every wait is bounded; a loss (an event a subscriber never received) is
//! reported and fails the run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sse_codec::Event;
use sse_hub::backend::Backend;
use sse_hub::redis::RedisBackend;
use sse_hub::{Hub, Subscription};
use test_support::servers::RedisServer;

const CHANNEL: &str = "bench";

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let (subscribers, seconds) = if quick { (100, 1) } else { (1000, 5) };
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(&redis, subscribers, seconds));
}

async fn run(redis: &RedisServer, subscribers: usize, seconds: u64) {
    let events = seconds * 1000;
    println!(
        "{subscribers} subscribers on one channel, {events} events at 1,000 events/s ({} cores)",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!("{:<44} {:>8} {:>8} {:>8}", "", "p50 ms", "p99 ms", "max ms");

    let memory = Hub::new();
    let latencies = latency(&memory, &memory, subscribers, events).await;
    report("in-memory hub (one instance)", &latencies);

    let a = Hub::builder().build_with(RedisBackend::builder(redis.url()).connect().await.unwrap());
    let b = Hub::builder().build_with(RedisBackend::builder(redis.url()).connect().await.unwrap());
    let before = command_calls(redis);
    let messages_before = a.backend().redis_stats().live_messages;
    let latencies = latency(&b, &a, subscribers, events).await;
    report("redis hub (publish on B, subscribers on A)", &latencies);
    let after = command_calls(redis);
    let messages = a.backend().redis_stats().live_messages - messages_before;
    println!(
        "pub/sub messages received by A per event: {:.3} (N = {subscribers})",
        messages as f64 / events as f64
    );
    let mut ran: Vec<(String, f64)> = after
        .iter()
        .map(|(name, calls)| {
            let calls = calls - before.get(name).copied().unwrap_or(0);
            (name.clone(), calls as f64 / events as f64)
        })
        .filter(|(_, per_event)| *per_event >= 0.01)
        .collect();
    ran.sort_by(|x, y| x.0.cmp(&y.0));
    let ran: Vec<String> = ran
        .iter()
        .map(|(name, n)| format!("{name} {n:.2}"))
        .collect();
    println!("redis commands per published event: {}", ran.join(", "));

    for in_flight in [1, 64] {
        let rate = throughput(&b, in_flight, Duration::from_secs(seconds.min(3))).await;
        println!(
            "publish throughput through redis, {in_flight:>2} in flight: {rate:>8.0} events/s"
        );
    }
}

/// Publishes `events` on `publisher` at 1,000/s while `subscribers`
/// subscriptions of `receiver` record each delivery; returns every
/// publish-to-receive latency.
async fn latency<P: Backend, R: Backend>(
    publisher: &Hub<P>,
    receiver: &Hub<R>,
    subscribers: usize,
    events: u64,
) -> Vec<Duration> {
    let t0 = Instant::now();
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..events).map(|_| AtomicU64::new(0)).collect());
    let mut readers = Vec::new();
    for _ in 0..subscribers {
        let subscription = receiver.subscribe(CHANNEL, None).await.unwrap();
        readers.push(tokio::spawn(read(
            subscription,
            Arc::clone(&sent),
            t0,
            events,
        )));
    }
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    for n in 0..events {
        tick.tick().await;
        let at = u64::try_from(t0.elapsed().as_nanos()).unwrap();
        sent[n as usize].store(at, Ordering::SeqCst);
        publisher
            .publish(CHANNEL, Event::new(n.to_string()))
            .await
            .unwrap();
    }
    let mut all = Vec::new();
    for reader in readers {
        match tokio::time::timeout(Duration::from_secs(30), reader).await {
            Ok(Ok(Ok(latencies))) => all.extend(latencies),
            Ok(Ok(Err(got))) => panic!("a subscriber received {got} of {events} events: LOST"),
            _ => panic!("a subscriber did not finish within 30 s"),
        }
    }
    all
}

/// Reads `events` frames, recording each one's latency (the frames carry
/// no newline in their data, so each ends with one blank line).
async fn read(
    mut subscription: Subscription,
    sent: Arc<Vec<AtomicU64>>,
    t0: Instant,
    events: u64,
) -> Result<Vec<Duration>, u64> {
    let mut latencies = Vec::with_capacity(events as usize);
    let mut got = 0u64;
    while got < events {
        let Ok(Some(chunk)) =
            tokio::time::timeout(Duration::from_secs(10), subscription.next()).await
        else {
            return Err(got);
        };
        let now = u64::try_from(t0.elapsed().as_nanos()).unwrap();
        let frames = memchr::memmem::find_iter(chunk.as_bytes(), b"\n\n").count() as u64;
        for n in got..got + frames {
            let at = sent[n as usize].load(Ordering::SeqCst);
            latencies.push(Duration::from_nanos(now.saturating_sub(at)));
        }
        got += frames;
    }
    Ok(latencies)
}

fn report(name: &str, latencies: &[Duration]) {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    println!(
        "{name:<44} {:>8.3} {:>8.3} {:>8.3}",
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

/// Events per second published on one channel with `in_flight` publishes
/// outstanding, for `duration`.
async fn throughput<B: Backend>(hub: &Hub<B>, in_flight: usize, duration: Duration) -> f64 {
    let start = Instant::now();
    let done = AtomicU64::new(0);
    let workers = (0..in_flight).map(|_| async {
        while start.elapsed() < duration {
            hub.publish("throughput", Event::new("x")).await.unwrap();
            done.fetch_add(1, Ordering::Relaxed);
        }
    });
    futures_util::future::join_all(workers).await;
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// `cmdstat_<name>` calls from `INFO commandstats`.
fn command_calls(redis: &RedisServer) -> std::collections::HashMap<String, u64> {
    redis
        .cli(&["INFO", "commandstats"])
        .lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .filter(|(name, _)| {
            !["info", "ping", "hello", "client|setinfo", "client|setname"].contains(&name.as_str())
        })
        .collect()
}
