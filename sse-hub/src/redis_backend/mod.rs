//! [`RedisBackend`]: one hub across several server instances, on Redis.
//!
//! # BE ADVISED: how the instances agree
//!
//! Per channel, Redis holds three things (names under a key prefix,
//! `sse:` by default):
//!
//! - `sse:meta:<channel>`, a hash: the channel's `epoch` and latest `seq`;
//! - `sse:log:<channel>`, a stream: the recent frames, entry id `<seq>-0`,
//!   trimmed with `MAXLEN ~` (and expired by age, if set);
//! - `sse:live:<channel>`, a pub/sub channel: each frame as published.
//!
//! Publishing is one Lua script (`publish.lua`), so these never disagree:
//! next `seq`, `XADD` of the frame sse-codec encoded once on the publishing
//! instance with an `id: <epoch>-<seq>` line in front, `PUBLISH` of the
//! same bytes. Every instance forwards those bytes to its clients as they
//! are: no re-encoding anywhere.
//!
//! The epoch is made from Redis's clock whenever the meta hash is missing,
//! so an id from before Redis lost the channel names a dead epoch and gets
//! the reset event; within an epoch, `seq` counts 1, 2, 3, ...
//!
//! Each instance keeps, per channel with local subscribers, a [`Local`]:
//! a [`FrameLog`] of the frames it received (its subscribers are positions
//! in it) and a *cursor*, the position of the last frame it appended. Invariants, each relied on below:
//!
//! 1. Every frame appended to the local log is the cursor's successor (same
//!    epoch, `seq + 1`), or a reset event after which the cursor is Redis's
//!    latest position. So no subscriber ever sees a gap that is not
//!    announced, nor a frame twice.
//! 2. Live frames go straight to the log only while the local is *in
//!    sync*. A frame that is not the successor (a message lost while the
//!    pub/sub connection was down, another epoch) takes it out of sync: the
//!    frame waits in `pending` and a *resync* reads Redis's position and
//!    the log after the cursor in one atomic script (`read.lua`), hands the
//!    missing frames over (or the reset event when the log no longer holds
//!    them), then drains `pending` in order. Resyncs of one local run one at
//!    a time (`Local::sync`).
//! 3. A new subscriber's reader is placed at the end of the local log under
//!    the local's lock, and its replay is read from Redis up to the cursor as
//!    it was at that moment: what comes after the cursor reaches the reader.
//!    Replay and live events meet exactly there: no gap, no duplicate.
//! 4. A channel's pub/sub subscription is made before its first resync
//!    reads the log, and after a reconnection every local is subscribed
//!    again before it resyncs; a resync whose read may predate the current
//!    connection's subscription (the `generation` changed) reads again.

mod error;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink};
use redis::Script;
use sse_codec::{ByteStr, EncodedFrame, Event};

use crate::backend::Start;
use crate::backend::{Backend, ChannelStats, HubStats, Replay, Resume};
use crate::log::{FrameLog, HistoryLimits};

pub use self::error::{RedisError, RedisErrorKind};

/// How long one Redis round trip may take before the operation fails with
/// [`RedisErrorKind::Timeout`]: 1 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// The default key prefix: `sse:`.
pub const DEFAULT_PREFIX: &str = "sse:";

/// Live frames kept per channel while its local is out of sync; past this,
/// later ones are dropped and the resync reads them from the log instead.
const MAX_PENDING: usize = 4096;

/// How often channels without local subscribers are dropped and
/// unsubscribed.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// The longest wait between two attempts to reconnect the pub/sub
/// connection or to resync a channel.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(1);

/// A [`Backend`] that runs one hub across server instances on Redis: an
/// event published on any instance reaches the subscribers of every
/// instance, and a client resumes on any instance with its `Last-Event-ID`.
///
/// It keeps the promises of the in-memory backend across instances: every
/// event is delivered live, replayed, or announced by the reset event;
/// never a silent gap, never a duplicate. Ids are `<epoch>-<seq>`: `seq`
/// counts 1, 2, 3, ... per channel, and `epoch` changes when Redis loses
/// the channel's data (a restart without persistence, `FLUSHALL`), so an
/// id from before the loss gets the reset event.
///
/// Each instance holds one multiplexed connection for commands and one
/// pub/sub connection, whatever the number of subscribers: an event costs
/// one round trip to publish (one Lua script) and one pub/sub message per
/// instance that has subscribers of its channel.
///
/// # How it works
///
/// Per channel, Redis holds a hash `<prefix>meta:<channel>` (epoch and
/// latest sequence number), a stream `<prefix>log:<channel>` (the history,
/// trimmed with `MAXLEN ~` and, if set, expired by age) and a pub/sub
/// channel `<prefix>live:<channel>`. Publishing is one Lua script: next
/// sequence number, `XADD` of the frame that sse-codec encoded once on the
/// publishing instance (with its `id:` line in front), `PUBLISH` of the
/// same bytes; every instance forwards those bytes as they are.
///
/// Each instance keeps, per channel with subscribers there, the frames it
/// received, once, in a [`FrameLog`] (its subscribers are positions in it),
/// and the position it has received up to. A subscriber's replay is read
/// from the stream up to that position, and the frames after it reach the
/// subscriber through the local log: no gap, no duplicate. A live frame that skips ahead (messages lost
/// while the pub/sub connection was down), or a reconnection, makes the
/// instance read what is missing from the stream; what the stream no longer
/// holds becomes the reset event.
///
/// # Failures
///
/// - Redis down or hung: [`Hub::publish`](crate::Hub::publish) fails with
///   a [`RedisError`] within [`timeout`](RedisBackendBuilder::timeout)
///   (one round trip); [`Hub::subscribe`](crate::Hub::subscribe) within
///   four times it (at most four round trips), and at once while the
///   pub/sub connection is known to be down. Nothing waits forever. A
///   server answers a failed subscribe with 503.
/// - Connected subscribers stay connected. When the pub/sub connection
///   comes back (retried every second at most), every channel catches up
///   from the log; what the log no longer holds becomes the reset event.
/// - Redis lost its data: a client that resumes gets the reset event; a
///   connected one gets it as soon as its instance sees the channel's new
///   epoch (at reconnection, or with the next event).
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), sse_hub::RedisError> {
/// use sse_hub::{Hub, RedisBackend};
///
/// let backend = RedisBackend::builder("redis://127.0.0.1:6379/")
///     .history_events(500)
///     .connect()
///     .await?;
/// let hub = Hub::builder().build_with(backend);
/// let id = hub.publish("news", sse_codec::Event::new("hello")).await?;
/// assert!(id.contains('-')); // `<epoch>-<seq>`
/// # Ok(()) }
/// # let _ = run;
/// ```
#[derive(Debug)]
pub struct RedisBackend {
    shared: Arc<Shared>,
    pubsub_task: tokio::task::AbortHandle,
}

/// Configures a [`RedisBackend`]; made by [`RedisBackend::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct RedisBackendBuilder {
    url: String,
    prefix: String,
    history_events: usize,
    history_bytes: usize,
    history_max_age: Option<Duration>,
    channel_max_idle: Option<Duration>,
    timeout: Duration,
}

/// Counts of what a [`RedisBackend`] instance did, for tests, benchmarks
/// and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisStats {
    /// Pub/sub messages received: one per event per instance with local
    /// subscribers of its channel, whatever their number.
    pub live_messages: u64,
    /// Frames read from the log to fill a gap in the live messages.
    pub backfilled: u64,
    /// Reset events sent to connected subscribers because the log no longer
    /// held what they were owed.
    pub resets: u64,
    /// Times the pub/sub connection was lost and made again.
    pub reconnects: u64,
}

impl RedisBackend {
    /// Configures a backend on the Redis server at `url`
    /// (`redis://[:password@]host:port[/db]`).
    pub fn builder(url: impl Into<String>) -> RedisBackendBuilder {
        RedisBackendBuilder {
            url: url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            history_events: 1000,
            history_bytes: HistoryLimits::default().bytes,
            history_max_age: None,
            channel_max_idle: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// What this instance did so far.
    pub fn redis_stats(&self) -> RedisStats {
        let c = &self.shared.counters;
        RedisStats {
            live_messages: c.live_messages.load(Ordering::Relaxed),
            backfilled: c.backfilled.load(Ordering::Relaxed),
            resets: c.resets.load(Ordering::Relaxed),
            reconnects: c.reconnects.load(Ordering::Relaxed),
        }
    }
}

impl Drop for RedisBackend {
    fn drop(&mut self) {
        self.pubsub_task.abort();
    }
}

impl RedisBackendBuilder {
    /// The prefix of every key and pub/sub channel name (default
    /// [`DEFAULT_PREFIX`]), so that several hubs can share one Redis.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The events of history kept per channel (default 1000; at least 1).
    /// Redis trims with `MAXLEN ~`, so a few more may be kept.
    pub fn history_events(mut self, events: usize) -> Self {
        self.history_events = events.max(1);
        self
    }

    /// The most bytes of recent frames each instance keeps per channel for
    /// its subscribers (default 1 MiB), with at most
    /// [`history_events`](Self::history_events) of them: how far one of its
    /// subscribers may fall behind before it gets the reset event. (The
    /// Redis stream is trimmed by count.)
    pub fn history_bytes(mut self, bytes: usize) -> Self {
        self.history_bytes = bytes;
        self
    }

    /// How long a channel's history is kept after its latest event (default:
    /// no limit). A client away longer gets the reset event.
    pub fn history_max_age(mut self, max_age: Duration) -> Self {
        self.history_max_age = Some(max_age);
        self
    }

    /// How long a channel's position is kept after its latest event
    /// (default: no limit). Per-user or per-session channels want it, so
    /// that Redis forgets the ones nobody uses; a channel forgotten starts a
    /// new epoch, and a client resuming across it gets the reset event.
    pub fn channel_max_idle(mut self, max_idle: Duration) -> Self {
        self.channel_max_idle = Some(max_idle);
        self
    }

    /// How long one Redis round trip may take (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects: one multiplexed connection for commands, one for pub/sub,
    /// and a task (on the current tokio runtime) that receives the live
    /// events and reconnects the pub/sub connection when it is lost.
    ///
    /// # Errors
    ///
    /// The URL is not a Redis URL, or Redis cannot be reached within the
    /// timeout.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn connect(self) -> Result<RedisBackend, RedisError> {
        let client = redis::Client::open(self.url.as_str()).map_err(RedisError::invalid_url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(MAX_RETRY_WAIT);
        let commands = bounded(
            self.timeout,
            client.get_connection_manager_with_config(config),
        )
        .await?;
        let (pubsub, messages) = bounded(self.timeout, client.get_async_pubsub())
            .await?
            .split();
        let ms = |d: Option<Duration>| d.map_or(0, |d| d.as_millis().max(1));
        let shared = Arc::new(Shared {
            prefix: self.prefix,
            history_events: self.history_events,
            local_limits: HistoryLimits {
                events: self.history_events,
                bytes: self.history_bytes,
                max_age: None,
            },
            log_ttl_ms: ms(self.history_max_age.max(self.channel_max_idle)),
            meta_ttl_ms: ms(self.channel_max_idle),
            timeout: self.timeout,
            commands,
            publish: Script::new(include_str!("publish.lua")),
            read: Script::new(include_str!("read.lua")),
            channels: Mutex::default(),
            pubsub: Mutex::new(Some(pubsub)),
            subscribing: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            runtime: tokio::runtime::Handle::current(),
            counters: Counters::default(),
        });
        let task = tokio::spawn(run_pubsub(Arc::clone(&shared), client, messages));
        Ok(RedisBackend {
            shared,
            pubsub_task: task.abort_handle(),
        })
    }
}

/// `future`, failing after `timeout`.
async fn bounded<T>(
    timeout: Duration,
    future: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, RedisError> {
    match tokio::time::timeout(timeout, future).await {
        Ok(result) => result.map_err(RedisError::unavailable),
        Err(_) => Err(RedisError::timeout(timeout)),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under these locks leaves the state consistent before it
    // can panic (allocation aside), so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ===== the state one instance shares between its hub and its task =====

#[derive(Debug)]
struct Shared {
    prefix: String,
    history_events: usize,
    /// The bounds of each channel's local log: how far a subscriber of this
    /// instance may fall behind before it gets the reset event.
    local_limits: HistoryLimits,
    /// The log's time to live after a publish, 0 for none.
    log_ttl_ms: u128,
    /// The meta hash's time to live after a publish, 0 for none.
    meta_ttl_ms: u128,
    timeout: Duration,
    commands: ConnectionManager,
    publish: Script,
    read: Script,
    channels: Mutex<HashMap<Box<str>, Arc<Local>>>,
    /// The pub/sub connection's command half; `None` while it is down, so
    /// that a new channel fails at once instead of waiting.
    pubsub: Mutex<Option<PubSubSink>>,
    /// Held while (un)subscribing, so that a channel's SUBSCRIBE and a
    /// sweep's UNSUBSCRIBE of it cannot cross, nor either cross the
    /// re-subscription after a reconnection.
    subscribing: tokio::sync::Mutex<()>,
    /// Incremented each time the pub/sub connection has been made again and
    /// every channel subscribed on it (invariant 4).
    generation: AtomicU64,
    runtime: tokio::runtime::Handle,
    counters: Counters,
}

#[derive(Debug, Default)]
struct Counters {
    live_messages: AtomicU64,
    backfilled: AtomicU64,
    resets: AtomicU64,
    reconnects: AtomicU64,
}

/// A position in a channel's log: `epoch` 0 and `seq` 0 for a channel
/// Redis holds nothing of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Position {
    epoch: u64,
    seq: u64,
}

impl Position {
    /// The position an SSE id names, if it is one of ours: `<epoch>-<seq>`
    /// in decimal, as this backend writes it (no sign, no leading zero).
    fn parse(id: &str) -> Option<Position> {
        let (epoch, seq) = id.split_once('-')?;
        let number = |s: &str| {
            let canonical = !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && (s == "0" || !s.starts_with('0'));
            canonical.then(|| s.parse::<u64>().ok()).flatten()
        };
        Some(Position {
            epoch: number(epoch)?,
            seq: number(seq)?,
        })
    }

    /// The SSE id of this position, `None` for an empty channel.
    fn id(self) -> Option<ByteStr> {
        (self.epoch != 0).then(|| ByteStr::from(format!("{}-{}", self.epoch, self.seq)))
    }

    /// What a frame at `next` is to a reader at `self`.
    fn step(self, next: Position) -> Step {
        if next.epoch == self.epoch {
            match next.seq {
                seq if seq <= self.seq => Step::Old,
                seq if seq == self.seq + 1 => Step::Next,
                _ => Step::Gap,
            }
        } else if self == Position::default() && next.seq == 1 {
            // The first event of a channel that was empty.
            Step::Next
        } else {
            Step::Gap
        }
    }
}

enum Step {
    /// Handed over already.
    Old,
    /// The successor: hand it over.
    Next,
    /// Something is missing in between, or it is of another epoch.
    Gap,
}

/// A frame received from Redis.
#[derive(Debug)]
struct Received {
    at: Position,
    id: ByteStr,
    frame: EncodedFrame,
}

/// A frame read from Redis, with its position; `None` for bytes that are
/// not one of our frames (the log or the channel was written by something
/// else), which are treated as missing.
fn parse_frame(wire: Bytes) -> Option<Received> {
    let (frame, event) = EncodedFrame::from_wire(wire).ok()?;
    let id = ByteStr::from(event.id()?);
    Some(Received {
        at: Position::parse(&id)?,
        id,
        frame,
    })
}

/// Whether `frames` are exactly the positions after `after` up to `upto`
/// of `epoch`.
fn complete(frames: &[Option<Received>], epoch: u64, after: u64, upto: u64) -> bool {
    upto.checked_sub(after) == u64::try_from(frames.len()).ok()
        && frames.iter().zip(after + 1..).all(|(frame, seq)| {
            frame
                .as_ref()
                .is_some_and(|received| received.at == Position { epoch, seq })
        })
}

/// What `read.lua` answered.
struct LogRead {
    head: Position,
    frames: Vec<Option<Received>>,
}

impl Shared {
    fn meta_key(&self, channel: &str) -> String {
        format!("{}meta:{channel}", self.prefix)
    }

    fn log_key(&self, channel: &str) -> String {
        format!("{}log:{channel}", self.prefix)
    }

    fn live_name(&self, channel: &str) -> String {
        format!("{}live:{channel}", self.prefix)
    }

    /// The position of `channel` in Redis, and the frames of its log after
    /// `after`, up to `upto` (the latest if `None`): one atomic script.
    async fn read(
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
        let (epoch, seq, frames): (Option<u64>, u64, Vec<Vec<u8>>) =
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
        })
    }

    /// The local state of `channel`, made if there is none.
    fn local(&self, channel: &str) -> Arc<Local> {
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

    /// Subscribes this instance to `channel`'s live frames, then brings its
    /// local in sync (invariant 4).
    async fn join(&self, local: &Local) -> Result<(), RedisError> {
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
    async fn resync(&self, local: &Local) -> Result<(), RedisError> {
        let _one_at_a_time = local.sync.lock().await;
        loop {
            let generation = self.generation.load(Ordering::SeqCst);
            let (joined, cursor) = {
                let mut state = lock(&local.state);
                state.in_sync = false;
                (state.joined, state.cursor)
            };
            // Joining: start at Redis's position, read nothing before it.
            let upto = if joined { None } else { Some(0) };
            let read = self.read(&local.name, cursor.seq, upto).await?;
            let head = read.head;

            let mut state = lock(&local.state);
            if joined {
                let same = head.epoch == cursor.epoch || cursor == Position::default();
                if same && complete(&read.frames, head.epoch, cursor.seq, head.seq) {
                    for received in read.frames.iter().flatten() {
                        state.log.push(received.id.clone(), received.frame.clone());
                    }
                    let backfilled = u64::try_from(read.frames.len()).unwrap_or(u64::MAX);
                    self.counters
                        .backfilled
                        .fetch_add(backfilled, Ordering::Relaxed);
                } else if !(same && head.seq <= cursor.seq) {
                    state.log.push_reset(head.id());
                    self.counters.resets.fetch_add(1, Ordering::Relaxed);
                }
            }
            state.joined = true;
            state.cursor = head;
            let mut again = std::mem::take(&mut state.pending_overflowed);
            while let Some(received) = state.pending.pop_front() {
                match state.cursor.step(received.at) {
                    Step::Old => {}
                    Step::Next => {
                        state.cursor = received.at;
                        state.log.push(received.id, received.frame);
                    }
                    // Published before the epoch that was just read: stale.
                    Step::Gap if received.at.epoch != head.epoch => {}
                    Step::Gap => {
                        state.pending.push_front(received);
                        again = true;
                        break;
                    }
                }
            }
            if self.generation.load(Ordering::SeqCst) != generation {
                again = true;
            }
            if !again {
                state.in_sync = true;
                return Ok(());
            }
        }
    }

    /// Resyncs `local` in a task, retrying (waits doubling up to
    /// [`MAX_RETRY_WAIT`]) until it succeeds or the channel is dropped.
    fn spawn_resync(self: &Arc<Self>, local: Arc<Local>) {
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
    fn on_message(self: &Arc<Self>, live_name: &str, payload: &[u8]) {
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
        let mut state = lock(&local.state);
        if state.in_sync {
            let step = frame
                .as_ref()
                .map_or(Step::Gap, |r| state.cursor.step(r.at));
            match (step, frame) {
                (Step::Old, _) => return,
                (Step::Next, Some(received)) => {
                    state.cursor = received.at;
                    state.log.push(received.id, received.frame);
                    return;
                }
                (_, frame) => {
                    state.in_sync = false;
                    state.hold(frame);
                }
            }
            drop(state);
            self.spawn_resync(local);
        } else {
            state.hold(frame);
        }
    }

    /// Drops the channels without local subscribers (and not being joined),
    /// and unsubscribes from their live frames; returns how many.
    fn prune(self: &Arc<Self>) -> usize {
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

// ===== the local state of one channel =====

#[derive(Debug)]
struct Local {
    name: Box<str>,
    /// Held by a resync from its first read to its last update
    /// (invariant 2).
    sync: tokio::sync::Mutex<()>,
    state: Mutex<LocalState>,
}

#[derive(Debug)]
struct LocalState {
    /// Set when the sweep drops the channel, so that a subscriber that
    /// found it just before starts again with a new one.
    removed: bool,
    /// Subscribers between finding this local and adding their sink; the
    /// sweep leaves it alone meanwhile.
    joining: usize,
    /// Whether a first resync has set the cursor.
    joined: bool,
    /// Whether live frames go straight to the log (invariant 2).
    in_sync: bool,
    /// The position of the last frame appended to the log (invariant 1).
    cursor: Position,
    /// Live frames received while out of sync, oldest first.
    pending: VecDeque<Received>,
    /// Whether frames were left out of `pending` because it was full.
    pending_overflowed: bool,
    /// The frames received, read by this instance's subscribers.
    log: FrameLog,
}

impl Local {
    fn new(name: &str, limits: HistoryLimits) -> Self {
        Local {
            name: name.into(),
            sync: tokio::sync::Mutex::new(()),
            state: Mutex::new(LocalState {
                removed: false,
                joining: 0,
                joined: false,
                in_sync: false,
                cursor: Position::default(),
                pending: VecDeque::new(),
                pending_overflowed: false,
                log: FrameLog::new(limits),
            }),
        }
    }
}

impl LocalState {
    /// Keeps a live frame for the resync under way. Bytes that are not one
    /// of our frames are dropped: the resync reads the log instead.
    fn hold(&mut self, frame: Option<Received>) {
        match frame {
            Some(frame) if self.pending.len() < MAX_PENDING => self.pending.push_back(frame),
            _ => self.pending_overflowed = true,
        }
    }
}

/// Counts a subscriber as joining a local until dropped.
struct Joining<'a>(&'a Local);

impl<'a> Joining<'a> {
    fn new(local: &'a Local) -> Self {
        lock(&local.state).joining += 1;
        Joining(local)
    }
}

impl Drop for Joining<'_> {
    fn drop(&mut self) {
        lock(&self.0.state).joining -= 1;
    }
}

// ===== the pub/sub task =====

/// Receives the live frames of this instance's channels; when the
/// connection is lost, makes it again (see [`reconnect`]). Also drops idle
/// channels now and then.
async fn run_pubsub(
    shared: Arc<Shared>,
    client: redis::Client,
    mut messages: redis::aio::PubSubStream,
) {
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    loop {
        loop {
            tokio::select! {
                message = next_message(&mut messages) => match message {
                    Some(message) => {
                        shared.on_message(message.get_channel_name(), message.get_payload_bytes());
                    }
                    None => break,
                },
                _ = sweep.tick() => {
                    shared.prune();
                }
            }
        }
        *lock(&shared.pubsub) = None;
        shared.counters.reconnects.fetch_add(1, Ordering::Relaxed);
        let mut wait = Duration::from_millis(25);
        messages = loop {
            if let Ok(messages) = reconnect(&shared, &client).await {
                break messages;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_RETRY_WAIT);
        };
    }
}

/// Makes the pub/sub connection again, subscribes every channel again and
/// resyncs each (invariant 4).
async fn reconnect(
    shared: &Arc<Shared>,
    client: &redis::Client,
) -> Result<redis::aio::PubSubStream, RedisError> {
    let (mut sink, messages) = bounded(shared.timeout, client.get_async_pubsub())
        .await?
        .split();
    let _subscribing = shared.subscribing.lock().await;
    let locals: Vec<Arc<Local>> = lock(&shared.channels).values().cloned().collect();
    let names: Vec<String> = locals.iter().map(|l| shared.live_name(&l.name)).collect();
    if !names.is_empty() {
        bounded(shared.timeout, sink.subscribe(names)).await?;
    }
    *lock(&shared.pubsub) = Some(sink);
    shared.generation.fetch_add(1, Ordering::SeqCst);
    for local in locals {
        let joined = {
            let mut state = lock(&local.state);
            state.in_sync = false;
            state.joined
        };
        if joined {
            shared.spawn_resync(local);
        }
    }
    Ok(messages)
}

async fn next_message(messages: &mut redis::aio::PubSubStream) -> Option<redis::Msg> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *messages).poll_next(cx)).await
}

// ===== Backend =====

impl Backend for RedisBackend {
    type Error = RedisError;

    /// One round trip: the publish script (see [how it
    /// works](RedisBackend#how-it-works)). The event must not have an id:
    /// its id is its position, `<epoch>-<seq>`.
    async fn publish(&self, channel: &str, event: Event) -> Result<ByteStr, RedisError> {
        if event.id().is_some() {
            return Err(RedisError::event_has_id());
        }
        let shared = &*self.shared;
        let frame = EncodedFrame::from(&event).into_bytes();
        drop(event);
        let mut invocation = shared.publish.key(shared.meta_key(channel));
        invocation
            .key(shared.log_key(channel))
            .arg(shared.live_name(channel))
            .arg(&frame[..])
            .arg(shared.history_events)
            .arg(shared.log_ttl_ms.to_string())
            .arg(shared.meta_ttl_ms.to_string());
        let mut commands = shared.commands.clone();
        let (epoch, seq): (u64, u64) =
            bounded(shared.timeout, invocation.invoke_async(&mut commands)).await?;
        crate::metrics::published(frame.len());
        Ok(ByteStr::from(format!("{epoch}-{seq}")))
    }

    /// Joins the channel on this instance if it is new here (subscribes to
    /// its live frames and reads its position), places a reader at the end
    /// of the local log, and reads the replay from Redis up to the position
    /// the reader starts at.
    async fn subscribe(&self, channel: &str, from: Resume<'_>) -> Result<Start, RedisError> {
        let shared = &*self.shared;
        if lock(&shared.pubsub).is_none() {
            // Redis is down: the subscriber would get nothing until it is
            // back. Say so now (a server answers 503 and the client retries).
            return Err(RedisError::not_connected());
        }
        loop {
            let local = shared.local(channel);
            let joining = Joining::new(&local);
            let joined = lock(&local.state).joined;
            if !joined {
                shared.join(&local).await?;
            }
            let claimed = match from {
                Resume::After(id) => Some(Position::parse(id)),
                _ => None,
            };
            if let Some(Some(claimed)) = claimed {
                let cursor = lock(&local.state).cursor;
                if claimed.epoch != cursor.epoch || claimed.seq > cursor.seq {
                    // Seen on another instance before this one got it, or
                    // of an epoch this instance has not seen yet: catch up
                    // once before judging the id.
                    shared.resync(&local).await?;
                }
            }
            // Invariant 3. If the replay below fails or is cancelled, the
            // reader is dropped: nothing stays registered.
            let (at, reader) = {
                let state = lock(&local.state);
                if state.removed {
                    continue;
                }
                (state.cursor, state.log.reader_at_end())
            };
            drop(joining);
            let replay = match claimed {
                None if from == Resume::Live => Replay::Missed(Vec::new()),
                None => self.replay(channel, 0, at, true).await?,
                Some(Some(claimed)) if claimed == at => Replay::Missed(Vec::new()),
                Some(Some(claimed)) if claimed.epoch == at.epoch && claimed.seq < at.seq => {
                    self.replay(channel, claimed.seq, at, false).await?
                }
                Some(_) => Replay::Reset { last_id: at.id() },
            };
            return Ok(Start::new(replay, reader));
        }
    }

    /// This instance's view: its local subscribers, and as `last_id` and
    /// `published` the position it has handed them up to. History lives in
    /// Redis: the history fields are 0.
    fn channel_stats(&self, channel: &str) -> Option<ChannelStats> {
        let local = lock(&self.shared.channels).get(channel).cloned()?;
        let state = lock(&local.state);
        Some(ChannelStats {
            subscribers: state.log.readers(),
            published: state.cursor.seq,
            lagged: state.log.lagged(),
            last_id: state.cursor.id(),
            ..ChannelStats::default()
        })
    }

    fn stats(&self) -> HubStats {
        let locals: Vec<_> = lock(&self.shared.channels).values().cloned().collect();
        let mut stats = HubStats {
            channels: locals.len(),
            ..HubStats::default()
        };
        for local in locals {
            let state = lock(&local.state);
            stats.subscribers += state.log.readers();
            stats.lagged += state.log.lagged();
        }
        stats
    }

    /// Drops the channels that have no subscriber on this instance and
    /// unsubscribes from their live frames (Redis keeps their history).
    /// The backend also does this by itself every 5 seconds.
    fn prune(&self) -> usize {
        self.shared.prune()
    }
}

impl RedisBackend {
    /// The frames a subscriber starting at `at` missed after `after`: all
    /// that the log holds up to `at` if `oldest`, else exactly the ones
    /// after `after`, or the reset event if the log no longer has them all.
    async fn replay(
        &self,
        channel: &str,
        after: u64,
        at: Position,
        oldest: bool,
    ) -> Result<Replay, RedisError> {
        if at.seq <= after {
            return Ok(Replay::Missed(Vec::new()));
        }
        let read = self.shared.read(channel, after, Some(at.seq)).await?;
        if read.head.epoch != at.epoch {
            // Lost since the sink was added: the live side resets it too.
            return Ok(Replay::Reset {
                last_id: read.head.id(),
            });
        }
        let mut frames = read.frames;
        if oldest {
            // Whatever the log still holds, as long as it runs up to `at`.
            let first = frames
                .iter()
                .rposition(Option::is_none)
                .map_or(0, |i| i + 1);
            frames.drain(..first);
            let after = at.seq - u64::try_from(frames.len()).unwrap_or(at.seq);
            if !complete(&frames, at.epoch, after, at.seq) {
                frames.clear();
            }
        } else if !complete(&frames, at.epoch, after, at.seq) {
            return Ok(Replay::Reset { last_id: at.id() });
        }
        Ok(Replay::Missed(
            frames
                .into_iter()
                .flatten()
                .map(|received| received.frame)
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_only_as_written() {
        let at = |epoch, seq| Some(Position { epoch, seq });
        assert_eq!(
            Position::parse("1764000000123456-7"),
            at(1_764_000_000_123_456, 7)
        );
        for not_ours in [
            "", "7", "-7", "1-", "01-7", "1-07", "+1-7", "1-+7", "1-7-8", "a-1", "1 -7",
        ] {
            assert_eq!(Position::parse(not_ours), None, "{not_ours:?}");
        }
        assert_eq!(Position { epoch: 5, seq: 9 }.id().as_deref(), Some("5-9"));
        assert_eq!(Position::default().id(), None);
    }

    #[test]
    fn steps() {
        let p = |epoch, seq| Position { epoch, seq };
        assert!(matches!(p(5, 3).step(p(5, 4)), Step::Next));
        assert!(matches!(p(5, 3).step(p(5, 3)), Step::Old));
        assert!(matches!(p(5, 3).step(p(5, 5)), Step::Gap));
        assert!(matches!(p(5, 3).step(p(6, 4)), Step::Gap));
        assert!(matches!(p(5, 3).step(p(4, 9)), Step::Gap));
        assert!(matches!(p(0, 0).step(p(6, 1)), Step::Next));
        assert!(matches!(p(0, 0).step(p(6, 2)), Step::Gap));
    }
}
