//! No gap and no duplicate: subscribers that read at any pace, fall behind,
//! disconnect and reconnect with their last event ID, while events are
//! published in between (property test) and from other threads (stress).
//! A reset comes only right after a reconnect with an id history no longer
//! holds, or to a subscriber that fell further behind than history.
//! Every frame is decoded by sse-codec's decoder, as a client would.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use proptest::prelude::*;
use sse_codec::Event;
use sse_hub::{Hub, Subscription};

mod support;
use support::{decode_all, Ready};

/// A client as a browser's `EventSource` behaves: it remembers the last
/// event ID and sends it when it reconnects.
struct Client {
    subscription: Option<Subscription>,
    last_id: Option<String>,
    /// The id the next event must have.
    expect: u64,
    /// Events published when the client reconnected; a reset must carry it.
    reset_allowed: Option<u64>,
    resets: usize,
}

impl Client {
    fn connect(hub: &Hub, published: u64) -> Client {
        Client {
            subscription: Some(hub.subscribe("c", None).ready().unwrap()),
            last_id: None,
            expect: published + 1,
            reset_allowed: None,
            resets: 0,
        }
    }

    fn reconnect(&mut self, hub: &Hub, published: u64) {
        self.subscription = Some(hub.subscribe("c", self.last_id.as_deref()).ready().unwrap());
        self.reset_allowed = Some(published);
        if self.last_id.is_none() {
            // Nothing seen yet, so nothing to resume from: a new client.
            self.expect = published + 1;
        }
    }

    /// Reads up to `n` chunks that are ready, `published` events having
    /// been published in a channel that keeps `history` of them.
    fn read(&mut self, n: usize, published: u64, history: u64) {
        for _ in 0..n {
            let subscription = self.subscription.as_mut().unwrap();
            match subscription.next().now_or_never() {
                None => return,
                Some(None) => panic!("a subscription never ends"),
                Some(Some(chunk)) => {
                    let events = decode_all(&chunk);
                    events
                        .iter()
                        .for_each(|e| self.check(e, published, history));
                }
            }
        }
    }

    fn check(&mut self, event: &Event, published: u64, history: u64) {
        let id: u64 = event.id().unwrap().parse().unwrap();
        if event.event_type() == "reset" {
            if self.reset_allowed == Some(id) {
                // First after a reconnect, naming the latest event then.
                self.reset_allowed = None;
            } else {
                // Fell out of history while connected: named the latest.
                assert_eq!(id, published, "the reset carries the latest id");
                assert!(
                    self.expect + history <= published,
                    "only a client further behind than history gets a reset"
                );
            }
            assert!(id + 1 > self.expect, "a reset only skips forward");
            self.resets += 1;
            self.expect = id + 1;
        } else {
            assert_eq!(id, self.expect, "no gap and no duplicate");
            assert_eq!(event.data(), format!("event {id}"));
            self.expect += 1;
            self.reset_allowed = None;
        }
        self.last_id = Some(id.to_string());
    }
}

#[derive(Clone, Debug)]
enum Op {
    Publish(u64),
    Read(usize, usize),
    Reconnect(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1..6u64).prop_map(Op::Publish),
        (0..3usize, 0..12usize).prop_map(|(c, n)| Op::Read(c, n)),
        (0..3usize).prop_map(Op::Reconnect),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn interleaved_publish_read_and_reconnect(
        ops in prop::collection::vec(op(), 1..80),
        history in prop_oneof![Just(2usize), Just(8), Just(10_000)],
    ) {
        let hub = Hub::builder().history_events(history).build();
        let mut published = 0u64;
        let publish = |hub: &Hub, n: u64, published: &mut u64| {
            for _ in 0..n {
                *published += 1;
                let id = hub.publish("c", Event::new(format!("event {published}"))).ready().unwrap();
                assert_eq!(id, published.to_string());
            }
        };
        let mut clients: Vec<Client> = (0..3).map(|_| Client::connect(&hub, 0)).collect();
        for op in ops {
            match op {
                Op::Publish(n) => publish(&hub, n, &mut published),
                Op::Read(c, n) => clients[c].read(n, published, history as u64),
                Op::Reconnect(c) => clients[c].reconnect(&hub, published),
            }
        }
        // Drain: every client ends up with every event.
        for client in &mut clients {
            client.read(usize::MAX, published, history as u64);
            prop_assert_eq!(client.expect, published + 1);
            if history >= 10_000 {
                prop_assert_eq!(client.resets, 0, "history held everything");
            }
        }
    }
}

/// One publisher thread, four subscriber threads that read a few events,
/// drop the connection and resume with their last id, all at once.
#[test]
fn concurrent_publish_and_resume_stress() {
    const EVENTS: u64 = 20_000;
    let hub = Hub::builder()
        .history_events(EVENTS as usize)
        .history_bytes(usize::MAX)
        .build();
    let start = Arc::new(Barrier::new(5));
    let subscribers: Vec<_> = (0..4u64)
        .map(|t| {
            let hub = hub.clone();
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .unwrap();
                let mut client = Client::connect(&hub, 0);
                start.wait();
                let mut reconnects = 0;
                let mut rng = t * 7919 + 1;
                while client.expect <= EVENTS {
                    // Read 1..=8 chunks (waiting for them), then reconnect.
                    rng = rng
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let n = 1 + (rng >> 61);
                    for _ in 0..n {
                        if client.expect > EVENTS {
                            break;
                        }
                        let subscription = client.subscription.as_mut().unwrap();
                        let next = runtime.block_on(async {
                            let next = subscription.next();
                            tokio::time::timeout(Duration::from_secs(10), next).await
                        });
                        let frame = next.expect("an event within 10 s").expect("never ends");
                        decode_all(&frame)
                            .iter()
                            .for_each(|e| client.check(e, EVENTS, EVENTS));
                    }
                    client.reconnect(&hub, 0);
                    client.reset_allowed = None; // history holds everything: no reset
                    reconnects += 1;
                }
                assert_eq!(client.resets, 0);
                reconnects
            })
        })
        .collect();
    start.wait();
    for n in 1..=EVENTS {
        hub.publish("c", Event::new(format!("event {n}")))
            .ready()
            .unwrap();
        if n % 64 == 0 {
            std::thread::yield_now();
        }
    }
    for subscriber in subscribers {
        let reconnects = subscriber.join().unwrap();
        assert!(reconnects > 20, "resumed {reconnects} times");
    }
}
