//! The state one instance shares between its hub and its pub/sub task:
//! the connections, the scripts, and every channel's [`Local`]; reading
//! the log, joining a channel and resyncing it (invariants 2 and 4).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, PubSubSink};
use redis::Script;
use sse_codec::ByteStr;

use super::local::{Feed, Local, Pending};
use super::position::{complete, parse_frame, LogRead, Position, Step};
use super::timing::{bounded, MAX_RETRY_WAIT};
use super::RedisError;
use crate::end::End;
use crate::lock::lock;
use crate::log::HistoryLimits;

#[derive(Debug)]
pub(super) struct Shared {
    pub(super) prefix: String,
    pub(super) history_events: usize,
    /// The bounds of each channel's local log: how far a subscriber of this
    /// instance may fall behind before it gets the reset event.
    pub(super) local_limits: HistoryLimits,
    /// The log's time to live after a publish, 0 for none.
    pub(super) log_ttl_ms: u128,
    /// The meta hash's time to live after a publish, 0 for none.
    pub(super) meta_ttl_ms: u128,
    pub(super) timeout: Duration,
    pub(super) commands: ConnectionManager,
    pub(super) publish: Script,
    pub(super) read: Script,
    pub(super) lease: Script,
    pub(super) expire: Script,
    pub(super) lease_ttl: Duration,
    /// The channels whose producers run on this instance: their leases are
    /// renewed.
    pub(super) leased: Mutex<std::collections::HashSet<String>>,
    /// Where a cancel for a channel goes ([`Backend::on_cancel`](crate::backend::Backend::on_cancel)).
    pub(super) cancel_hook: Mutex<Option<CancelHook>>,
    pub(super) channels: Mutex<HashMap<Box<str>, Arc<Local>>>,
    /// The pub/sub connection's command half; `None` while it is down, so
    /// that a new channel fails at once instead of waiting.
    pub(super) pubsub: Mutex<Option<PubSubSink>>,
    /// Held while (un)subscribing, so that a channel's SUBSCRIBE and a
    /// sweep's UNSUBSCRIBE of it cannot cross, nor either cross the
    /// re-subscription after a reconnection.
    pub(super) subscribing: tokio::sync::Mutex<()>,
    /// Incremented each time the pub/sub connection has been made again and
    /// every channel subscribed on it (invariant 4).
    pub(super) generation: AtomicU64,
    pub(super) runtime: tokio::runtime::Handle,
    pub(super) counters: Counters,
}

/// Delivers a cancel for a channel to this instance's producer of it.
#[derive(Clone)]
pub(super) struct CancelHook(pub(super) Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for CancelHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CancelHook(..)")
    }
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) live_messages: AtomicU64,
    pub(super) backfilled: AtomicU64,
    pub(super) resets: AtomicU64,
    pub(super) reconnects: AtomicU64,
}

impl Shared {
    pub(super) fn meta_key(&self, channel: &str) -> String {
        format!("{}meta:{channel}", self.prefix)
    }

    /// The hash of `owner`'s presence entries under `scope` (with an empty
    /// owner: the prefix of them all).
    pub(super) fn presence_key(&self, scope: &str, owner: &str) -> String {
        format!("{}presence:{scope}:{owner}", self.prefix)
    }

    pub(super) fn log_key(&self, channel: &str) -> String {
        format!("{}log:{channel}", self.prefix)
    }

    pub(super) fn live_name(&self, channel: &str) -> String {
        format!("{}live:{channel}", self.prefix)
    }

    /// Runs the publish script (`publish.lua`): `frame` (without its id
    /// line) appended to `channel`, as its end when `end` is given; one
    /// round trip. Returns its id, `<epoch>-<seq>`.
    pub(super) async fn append(
        &self,
        channel: &str,
        frame: &[u8],
        end: Option<&End>,
    ) -> Result<ByteStr, RedisError> {
        let mut invocation = self.publish.key(self.meta_key(channel));
        invocation
            .key(self.log_key(channel))
            .key(self.leases_key())
            .arg(self.live_name(channel))
            .arg(frame)
            .arg(self.history_events);
        match end {
            None => invocation
                .arg(self.log_ttl_ms.to_string())
                .arg(self.meta_ttl_ms.to_string())
                .arg("0")
                .arg("")
                .arg("0"),
            // The ended channel's keys expire after `ended_ttl` instead.
            Some(end) => invocation
                .arg("0")
                .arg("0")
                .arg("1")
                .arg(end.to_json())
                .arg(self.local_limits.ended_ttl.as_millis().max(1).to_string())
                .arg(channel),
        };
        let mut commands = self.commands.clone();
        let (epoch, seq): (u64, u64) =
            bounded(self.timeout, invocation.invoke_async(&mut commands)).await?;
        Ok(ByteStr::from(format!("{epoch}-{seq}")))
    }

    /// The position of `channel` in Redis, and the frames of its log after
    /// `after`, up to `upto` (the latest if `None`): one atomic script.
    pub(super) async fn read(
        &self,
        channel: &str,
        after: u64,
        upto: Option<u64>,
    ) -> Result<LogRead, RedisError> {
        let mut invocation = self.read.key(self.meta_key(channel));
        invocation.key(self.log_key(channel)).arg(after);
        match upto {
            Some(upto) => invocation.arg(upto),
            None => invocation.arg("+"),
        };
        let mut commands = self.commands.clone();
        let (epoch, seq, frames, ended): (Option<u64>, u64, Vec<Vec<u8>>, Option<u64>) =
            bounded(self.timeout, invocation.invoke_async(&mut commands)).await?;
        Ok(LogRead {
            head: Position {
                epoch: epoch.unwrap_or(0),
                seq,
            },
            frames: frames
                .into_iter()
                .map(|f| parse_frame(Bytes::from(f)))
                .collect(),
            ended,
        })
    }

    /// The local state of `channel`, made if there is none.
    pub(super) fn local(&self, channel: &str) -> Arc<Local> {
        let mut channels = lock(&self.channels);
        match channels.get(channel) {
            Some(local) => Arc::clone(local),
            None => {
                crate::metrics::channels(1.0);
                let local = Arc::new(Local::new(channel, self.local_limits));
                channels.insert(channel.into(), Arc::clone(&local));
                local
            }
        }
    }

    /// Before a new subscriber of a joined channel is placed (invariant 3):
    /// if Redis's epoch of the channel is no longer the cursor's (Redis lost
    /// it), resyncs now, so that the reset goes into the log before the new
    /// reader and not to it. One round trip.
    pub(super) async fn check_epoch(&self, local: &Local) -> Result<(), RedisError> {
        let cursor = lock(&local.state).cursor;
        if cursor == Position::default() {
            return Ok(());
        }
        let read = self.read(&local.name, cursor.seq, Some(cursor.seq)).await?;
        if read.head.epoch != cursor.epoch {
            self.resync(local).await?;
        }
        Ok(())
    }

    /// Subscribes this instance to `channel`'s live frames, then brings its
    /// local in sync (invariant 4).
    pub(super) async fn join(&self, local: &Local) -> Result<(), RedisError> {
        {
            let _subscribing = self.subscribing.lock().await;
            let sink = lock(&self.pubsub).clone();
            let mut sink = sink.ok_or_else(RedisError::not_connected)?;
            bounded(self.timeout, sink.subscribe(self.live_name(&local.name))).await?;
        }
        self.resync(local).await
    }

    /// Brings `local` in sync with Redis (invariant 2): reads Redis's
    /// position and the log after the cursor, hands over what is missing or
    /// the reset event, then the frames that arrived meanwhile.
    pub(super) async fn resync(&self, local: &Local) -> Result<(), RedisError> {
        let _one_at_a_time = local.sync.lock().await;
        loop {
            let generation = self.generation.load(Ordering::SeqCst);
            let (joined, cursor) = {
                let mut state = lock(&local.state);
                (state.feed.fall_behind(), state.cursor)
            };
            // Joining: start at Redis's position, read nothing before it.
            let upto = if joined { None } else { Some(0) };
            let read = self.read(&local.name, cursor.seq, upto).await?;
            let head = read.head;
            // Joining an ended channel: its end goes into the local log (at
            // the cursor), so that a new reader reads it and finishes.
            let end = if !joined && head.seq > 0 && read.ended == Some(head.seq) {
                let last = self.read(&local.name, head.seq - 1, Some(head.seq)).await?;
                last.frames
                    .into_iter()
                    .flatten()
                    .find(|r| r.at == head && r.end.is_some())
            } else {
                None
            };
            // Redis lost the channel and a new epoch began: its frames from
            // the start, to hand over after the reset (invariant 1), if the
            // log still holds them all. Read here, outside the lock.
            let lost = joined && head.epoch != cursor.epoch && cursor != Position::default();
            let new_epoch = if lost && head.seq > 0 {
                let fresh = self.read(&local.name, 0, Some(head.seq)).await?;
                (fresh.head.epoch == head.epoch && complete(&fresh.frames, head.epoch, 0, head.seq))
                    .then_some(fresh.frames)
            } else {
                None
            };

            let mut state = lock(&local.state);
            if joined {
                let same = head.epoch == cursor.epoch || cursor == Position::default();
                if same && complete(&read.frames, head.epoch, cursor.seq, head.seq) {
                    let backfilled = u64::try_from(read.frames.len()).unwrap_or(u64::MAX);
                    for received in read.frames.into_iter().flatten() {
                        received.append_to(&state.log);
                    }
                    self.counters
                        .backfilled
                        .fetch_add(backfilled, Ordering::Relaxed);
                } else if let Some(frames) = new_epoch {
                    state.log.push_reset(head.epoch_start().id());
                    for received in frames.into_iter().flatten() {
                        received.append_to(&state.log);
                    }
                    self.counters.resets.fetch_add(1, Ordering::Relaxed);
                } else if !(same && head.seq <= cursor.seq) {
                    state.log.push_reset(head.id());
                    self.counters.resets.fetch_add(1, Ordering::Relaxed);
                }
            }
            if let Some(end) = end {
                end.append_to(&state.log);
            }
            state.cursor = head;
            let mut pending = state.feed.take_pending();
            let mut again = std::mem::take(&mut pending.overflowed);
            while let Some(received) = pending.frames.pop_front() {
                match state.cursor.step(received.at) {
                    Step::Old => {}
                    Step::Next => {
                        state.cursor = received.at;
                        received.append_to(&state.log);
                    }
                    // Published before the epoch that was just read: stale.
                    Step::Gap if received.at.epoch != head.epoch => {}
                    Step::Gap => {
                        pending.frames.push_front(received);
                        again = true;
                        break;
                    }
                }
            }
            if self.generation.load(Ordering::SeqCst) != generation {
                again = true;
            }
            if !again {
                state.feed = Feed::InSync;
                return Ok(());
            }
            state.feed = Feed::Behind(pending);
        }
    }

    /// Resyncs `local` in a task, retrying (waits doubling up to
    /// [`MAX_RETRY_WAIT`]) until it succeeds or the channel is dropped.
    pub(super) fn spawn_resync(self: &Arc<Self>, local: Arc<Local>) {
        let shared = Arc::clone(self);
        self.runtime.spawn(async move {
            let mut wait = Duration::from_millis(25);
            while !lock(&local.state).removed {
                if shared.resync(&local).await.is_ok() {
                    return;
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_RETRY_WAIT);
            }
        });
    }

    /// A live frame from the pub/sub connection.
    pub(super) fn on_message(self: &Arc<Self>, live_name: &str, payload: &[u8]) {
        let Some(channel) = live_name
            .strip_prefix(self.prefix.as_str())
            .and_then(|name| name.strip_prefix("live:"))
        else {
            return;
        };
        let Some(local) = lock(&self.channels).get(channel).cloned() else {
            return; // unsubscribed meanwhile
        };
        self.counters.live_messages.fetch_add(1, Ordering::Relaxed);
        let frame = parse_frame(Bytes::copy_from_slice(payload));
        let mut guard = lock(&local.state);
        let state = &mut *guard;
        match state.feed {
            Feed::Joining(ref mut pending) | Feed::Behind(ref mut pending) => pending.hold(frame),
            Feed::InSync => {
                let step = frame
                    .as_ref()
                    .map_or(Step::Gap, |r| state.cursor.step(r.at));
                match (step, frame) {
                    (Step::Old, _) => {}
                    (Step::Next, Some(received)) => {
                        state.cursor = received.at;
                        received.append_to(&state.log);
                    }
                    (_, frame) => {
                        let mut pending = Pending::default();
                        pending.hold(frame);
                        state.feed = Feed::Behind(pending);
                        drop(guard);
                        self.spawn_resync(local);
                    }
                }
            }
        }
    }

    /// Drops the channels without local subscribers (and not being joined),
    /// and unsubscribes from their live frames; returns how many.
    pub(super) fn prune(self: &Arc<Self>) -> usize {
        let mut dropped = Vec::new();
        lock(&self.channels).retain(|name, local| {
            let mut state = lock(&local.state);
            state.removed = state.joining == 0 && state.log.readers() == 0;
            if state.removed {
                dropped.push(name.clone());
            }
            !state.removed
        });
        let count = dropped.len();
        crate::metrics::channels(-(count as f64));
        if count > 0 {
            let shared = Arc::clone(self);
            self.runtime.spawn(async move {
                let _subscribing = shared.subscribing.lock().await;
                let names: Vec<String> = {
                    let channels = lock(&shared.channels);
                    let gone = dropped.iter().filter(|name| !channels.contains_key(*name));
                    gone.map(|name| shared.live_name(name)).collect()
                };
                let sink = lock(&shared.pubsub).clone();
                if let (Some(mut sink), false) = (sink, names.is_empty()) {
                    // A failure means the connection is gone, and with it
                    // the subscriptions.
                    let _ = bounded(shared.timeout, sink.unsubscribe(names)).await;
                }
            });
        }
        count
    }
}
