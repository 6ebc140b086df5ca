//! [`RedisBackend`]: one hub across several server instances, on Redis
//! (feature `redis`).
//!
//! [`RedisBackend::builder`] configures and connects it; give it to
//! [`HubBuilder::build_with`](crate::HubBuilder::build_with). Everything a
//! hub on Redis adds to the in-memory one is here: its builder, its errors
//! and its counters.

// # BE ADVISED: how the instances agree
//
// Per channel, Redis holds three things (names under a key prefix,
// `sse:` by default):
//
// - `sse:meta:<channel>`, a hash: the channel's `epoch` and latest `seq`;
// - `sse:log:<channel>`, a stream: the recent frames, entry id `<seq>-0`,
//   trimmed with `MAXLEN ~` (and expired by age, if set);
// - `sse:live:<channel>`, a pub/sub channel: each frame as published.
//
// Publishing is one Lua script (`publish.lua`), so these never disagree:
// next `seq`, `XADD` of the frame sse-codec encoded once on the publishing
// instance with an `id: <epoch>-<seq>` line in front, `PUBLISH` of the
// same bytes. Every instance forwards those bytes to its clients as they
// are: no re-encoding anywhere.
//
// The epoch is made from Redis's clock whenever the meta hash is missing,
// so an id from before Redis lost the channel names a dead epoch and gets
// the reset event; within an epoch, `seq` counts 1, 2, 3, ...
//
// Each instance keeps, per channel with local subscribers, a `Local`: a
// `FrameLog` of the frames it received (its subscribers are positions in
// it) and a *cursor*, the position of the last frame it appended.
// Invariants, each relied on below:
//
// 1. Every frame appended to the local log is the cursor's successor (same
//    epoch, `seq + 1`), or a reset event after which the cursor is Redis's
//    latest position, or (when Redis lost the channel and a new epoch
//    began) a reset event carrying `<new epoch>-0` followed by that epoch's
//    frames from 1. So no subscriber ever sees a gap that is not
//    announced, nor a frame twice.
// 2. Live frames go straight to the log only while the local's `Feed` is
//    `InSync`. A frame that is not the successor (a message lost while the
//    pub/sub connection was down, another epoch) takes it out of sync: the
//    frame waits in the feed's `Pending` and a *resync* reads Redis's position and
//    the log after the cursor in one atomic script (`read.lua`), hands the
//    missing frames over (or the reset event when the log no longer holds
//    them), then drains the pending frames in order. Resyncs of one local run one at
//    a time (`Local::sync`).
// 3. Before a new subscriber of a channel already joined is placed, one
//    read checks Redis's epoch; if it moved on (a loss this instance has
//    not seen yet), a resync puts the reset in the log first, so that it
//    reaches only the subscribers that were there before the loss.
//    A new subscriber's reader is placed at the end of the local log under
//    the local's lock, and its replay is read from Redis up to the cursor as
//    it was at that moment: what comes after the cursor reaches the reader.
//    Replay and live events meet exactly there: no gap, no duplicate.
// 4. A channel's pub/sub subscription is made before its first resync
//    reads the log, and after a reconnection every local is subscribed
//    again before it resyncs; a resync whose read may predate the current
//    connection's subscription (the `generation` changed) reads again.
//
// Where each part lives: `config` (the builder, connecting), `position`
// (ids as positions, frames read back), `local` (a channel's state on this
// instance), `shared` (what the hub and the task share; join and resync),
// `pubsub` (the task), `replay` (a new subscriber's missed frames),
// `timing` (round trips bounded, retry waits), and
// below, the backend itself.

mod config;
mod error;
mod lease;
mod local;
mod position;
mod pubsub;
mod replay;
mod shared;
mod timing;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use sse_codec::{ByteStr, EncodedFrame, Event};

use self::local::Joining;
use self::position::Position;
use self::shared::Shared;
use self::timing::bounded;
use crate::backend::Backend;
use crate::end::{ChannelStatus, End};
use crate::lock::lock;
use crate::log::Start;
use crate::resume::{Replay, Resume};
use crate::stats::{ChannelStats, HubStats};

pub use self::config::{RedisBackendBuilder, DEFAULT_PREFIX, DEFAULT_TIMEOUT};
pub use self::error::{RedisError, RedisErrorKind};
pub use self::lease::{DEFAULT_LEASE_TTL, LOST};

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
/// received, once, in a [`FrameLog`](crate::backend::FrameLog) (its subscribers are positions in it),
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
///   a few times it (each of its round trips is bounded: one or two on a
///   channel the instance already follows, up to six when Redis lost the
///   channel), and at once while the pub/sub connection is known to be
///   down. Nothing waits forever. A server answers a failed subscribe with
///   503.
/// - Connected subscribers stay connected. When the pub/sub connection
///   comes back (retried every second at most), every channel catches up
///   from the log; what the log no longer holds becomes the reset event.
/// - Redis lost its data (`FLUSHALL`, a restart without persistence): the
///   subscribers connected before get the reset event once, as soon as
///   their instance sees the channel's new epoch (at reconnection, with the
///   next event, or when a new subscriber comes), and then every event of
///   the new epoch, its first included (the reset's id is `<epoch>-0`). A
///   new subscriber after the loss gets no reset. A client that resumes
///   with an id of the old epoch gets the reset, then the new epoch from
///   its start (when the log still holds it all; else the reset carries
///   the latest id).
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), sse_hub::redis::RedisError> {
/// use sse_hub::redis::RedisBackend;
/// use sse_hub::Hub;
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
    lease_task: tokio::task::AbortHandle,
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
        self.lease_task.abort();
    }
}

impl Backend for RedisBackend {
    type Error = RedisError;

    /// One round trip: the publish script (see [how it
    /// works](RedisBackend#how-it-works)). The event must not have an id:
    /// its id is its position, `<epoch>-<seq>`.
    async fn publish(&self, channel: &str, event: Event) -> Result<ByteStr, RedisError> {
        if event.id().is_some() {
            return Err(RedisError::event_has_id());
        }
        let frame = EncodedFrame::from(&event).into_bytes();
        drop(event);
        let id = self.shared.append(channel, &frame, None).await?;
        crate::metrics::published(frame.len());
        Ok(id)
    }

    /// One round trip: the publish script with the end event, which also
    /// sets the channel's keys to expire after the history's `ended_ttl`.
    async fn end(&self, channel: &str, end: End) -> Result<ByteStr, RedisError> {
        let frame = end.frame(None).into_bytes();
        self.shared.append(channel, &frame, Some(&end)).await
    }

    /// One round trip: the lease script (see [the `lease` module](self)).
    async fn produce(&self, channel: &str) -> Result<(), RedisError> {
        self.shared.lease(channel).await
    }

    fn produced(&self, channel: &str) {
        self.shared.release(channel);
    }

    /// One round trip: `PUBLISH` on `<prefix>cancel` (every instance
    /// subscribes to it) and `ZSCORE` of the channel's lease.
    async fn cancel(&self, channel: &str) -> Result<bool, RedisError> {
        self.shared.cancel(channel).await
    }

    fn on_cancel(&self, deliver: Arc<dyn Fn(&str) + Send + Sync>) {
        *lock(&self.shared.cancel_hook) = Some(shared::CancelHook(deliver));
    }

    /// One round trip: `HMGET` of the channel's meta hash and `ZSCORE` of
    /// its lease (a channel whose producer started is live before its first
    /// event).
    async fn status(&self, channel: &str) -> Result<ChannelStatus, RedisError> {
        type Meta = (Option<u64>, Option<u64>, Option<String>);
        let shared = &*self.shared;
        let mut reading = redis::pipe();
        reading
            .cmd("HMGET")
            .arg(shared.meta_key(channel))
            .arg("epoch")
            .arg("ended")
            .arg("end")
            .cmd("ZSCORE")
            .arg(shared.leases_key())
            .arg(channel);
        let mut commands = shared.commands.clone();
        let ((epoch, ended, end), lease): (Meta, Option<f64>) =
            bounded(shared.timeout, reading.query_async(&mut commands)).await?;
        Ok(
            match (epoch, ended, end.as_deref().and_then(End::from_json)) {
                (None, _, _) if lease.is_some() => ChannelStatus::Live,
                (None, _, _) => ChannelStatus::Unknown,
                (Some(epoch), Some(seq), Some(end)) => ChannelStatus::Ended {
                    end,
                    id: ByteStr::from(format!("{epoch}-{seq}")),
                },
                (Some(_), _, _) => ChannelStatus::Live,
            },
        )
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
            let joined = lock(&local.state).feed.is_joined();
            if joined {
                shared.check_epoch(&local).await?;
            } else {
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
            let (at, reader, ended) = {
                let state = lock(&local.state);
                if state.removed {
                    continue;
                }
                (state.cursor, state.log.reader_at_end(), state.log.ended())
            };
            drop(joining);
            let replay = match claimed {
                None if from == Resume::Live => Replay::Missed(Vec::new()),
                // Resumed after the end: nothing will come.
                Some(Some(_)) if ended.is_some_and(|e| Resume::After(&e.id) == from) => {
                    Replay::Ended(Vec::new())
                }
                None => self.replay(channel, 0, at, true).await?,
                Some(Some(claimed)) if claimed == at => Replay::Missed(Vec::new()),
                Some(Some(claimed)) if claimed.epoch == at.epoch && claimed.seq < at.seq => {
                    self.replay(channel, claimed.seq, at, false).await?
                }
                // An id of an earlier epoch (Redis lost the channel since):
                // the reset, then the current epoch from its start if the
                // log still holds all of it.
                Some(Some(claimed)) if claimed.epoch < at.epoch => {
                    match self.replay(channel, 0, at, false).await? {
                        Replay::Missed(then) => Replay::Reset {
                            last_id: at.epoch_start().id(),
                            then,
                        },
                        Replay::Ended(then) => Replay::Reset {
                            last_id: at.epoch_start().id(),
                            then,
                        },
                        reset @ Replay::Reset { .. } => reset,
                    }
                }
                // Not ours, or ahead of what Redis holds: the reset, with
                // the latest id.
                Some(_) => Replay::Reset {
                    last_id: at.id(),
                    then: Vec::new(),
                },
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
        let mut stats = HubStats::of_channels(locals.len());
        for local in locals {
            stats.count(&lock(&local.state).log);
        }
        stats
    }

    /// Drops the channels that have no subscriber on this instance and
    /// unsubscribes from their live frames (Redis keeps their history).
    /// The backend also does this by itself every 5 seconds.
    fn prune(&self) -> usize {
        self.shared.prune()
    }

    /// One round trip: `HSET` and `PEXPIRE` of the owner's hash
    /// `<prefix>presence:<scope>:<owner>`, in one transaction.
    async fn presence_put(
        &self,
        scope: &str,
        owner: &str,
        entries: &[(String, String)],
        ttl: std::time::Duration,
    ) -> Result<(), RedisError> {
        let shared = &*self.shared;
        let key = shared.presence_key(scope, owner);
        let mut pipe = redis::pipe();
        pipe.atomic();
        if !entries.is_empty() {
            pipe.hset_multiple(&key, entries).ignore();
        }
        pipe.pexpire(&key, ttl.as_millis() as i64).ignore();
        let mut commands = shared.commands.clone();
        bounded(shared.timeout, pipe.query_async::<()>(&mut commands)).await
    }

    /// One round trip: `HDEL`.
    async fn presence_remove(
        &self,
        scope: &str,
        owner: &str,
        keys: &[String],
    ) -> Result<(), RedisError> {
        if keys.is_empty() {
            return Ok(());
        }
        let shared = &*self.shared;
        let mut commands = shared.commands.clone();
        let mut removing = redis::cmd("HDEL");
        removing.arg(shared.presence_key(scope, owner)).arg(keys);
        bounded(shared.timeout, removing.query_async::<()>(&mut commands)).await
    }

    /// One round trip: `PEXPIRE`, which answers 0 for a hash that is gone.
    async fn presence_refresh(
        &self,
        scope: &str,
        owner: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, RedisError> {
        let shared = &*self.shared;
        let mut commands = shared.commands.clone();
        let mut refreshing = redis::cmd("PEXPIRE");
        refreshing
            .arg(shared.presence_key(scope, owner))
            .arg(ttl.as_millis() as u64);
        Ok(bounded(shared.timeout, refreshing.query_async::<i64>(&mut commands)).await? == 1)
    }

    /// `SCAN` of the owners' hashes, then one `HGETALL` each, pipelined.
    async fn presence_list(
        &self,
        scope: &str,
    ) -> Result<Option<crate::backend::PresenceList>, RedisError> {
        let shared = &*self.shared;
        let prefix = shared.presence_key(scope, "");
        let mut commands = shared.commands.clone();
        let mut keys: Vec<String> = Vec::new();
        let mut cursor = 0u64;
        loop {
            let mut scanning = redis::cmd("SCAN");
            scanning
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", glob_escape(&prefix)))
                .arg("COUNT")
                .arg(1000);
            let scanned = scanning.query_async::<(u64, Vec<String>)>(&mut commands);
            let (next, found) = bounded(shared.timeout, scanned).await?;
            keys.extend(found);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        keys.sort();
        keys.dedup();
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.hgetall(key);
        }
        let sets: Vec<Vec<(String, String)>> = if keys.is_empty() {
            Vec::new()
        } else {
            bounded(shared.timeout, pipe.query_async(&mut commands)).await?
        };
        let mut out = Vec::new();
        for (key, set) in keys.iter().zip(sets) {
            let owner = &key[prefix.len()..];
            for (k, v) in set {
                out.push((owner.to_owned(), k, v));
            }
        }
        Ok(Some(out))
    }
}

/// `text` with the glob characters of `SCAN MATCH` escaped.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
