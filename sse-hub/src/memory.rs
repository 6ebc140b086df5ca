//! [`MemoryBackend`]: history and fan-out in this process.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sse_codec::{ByteStr, EncodedFrame, Event};

use crate::backend::{Backend, ChannelStats, HubStats, Replay, Resume};
use crate::queue::{Sink, Sinks};

/// How much history each channel keeps for replay: at most `events` events
/// and at most `bytes` encoded bytes, and, if `max_age` is set, no event
/// older than that; the oldest are dropped first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryLimits {
    /// The most events kept per channel.
    pub events: usize,
    /// The most encoded bytes kept per channel.
    pub bytes: usize,
    /// How long an event stays in history. With it, a channel nobody
    /// publishes to empties, and [`Backend::prune`] can drop it: what
    /// per-user or per-session channels need.
    pub max_age: Option<Duration>,
}

impl Default for HistoryLimits {
    /// 1000 events and 1 MiB per channel, kept however old.
    fn default() -> Self {
        HistoryLimits {
            events: 1000,
            bytes: 1 << 20,
            max_age: None,
        }
    }
}

/// The default [`Backend`]: each channel's history and subscribers in
/// memory, behind one short lock per channel.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    limits: HistoryLimits,
    channels: Mutex<HashMap<Box<str>, Arc<Mutex<Channel>>>>,
}

#[derive(Debug)]
struct Channel {
    /// Set by `prune` when it removes the channel from the map, so that a
    /// caller who looked it up just before retries with the new one.
    removed: bool,
    /// The sequence number of the next event.
    next_seq: u64,
    last_id: Option<ByteStr>,
    history: VecDeque<Entry>,
    history_bytes: usize,
    sinks: Sinks,
}

#[derive(Debug)]
struct Entry {
    published: Instant,
    seq: u64,
    id: ByteStr,
    frame: EncodedFrame,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under these locks leaves the state consistent before it
    // can panic (allocation aside), so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryBackend {
    /// A backend keeping `limits` of history per channel.
    pub fn new(limits: HistoryLimits) -> Self {
        MemoryBackend {
            limits,
            channels: Mutex::default(),
        }
    }

    /// Runs `f` on `name`'s channel, creating it if needed, under its lock.
    fn with_channel<T>(&self, name: &str, f: impl FnOnce(&mut Channel) -> T) -> T {
        loop {
            let channel = {
                let mut channels = lock(&self.channels);
                match channels.get(name) {
                    Some(channel) => Arc::clone(channel),
                    None => Arc::clone(
                        channels
                            .entry(name.into())
                            .or_insert_with(|| Arc::new(Mutex::new(Channel::new()))),
                    ),
                }
            };
            let mut channel = lock(&channel);
            if !channel.removed {
                return f(&mut channel);
            }
        }
    }
}

impl Channel {
    fn new() -> Self {
        Channel {
            removed: false,
            next_seq: 1,
            last_id: None,
            history: VecDeque::new(),
            history_bytes: 0,
            sinks: Sinks::default(),
        }
    }

    fn publish(&mut self, limits: HistoryLimits, event: Event) -> ByteStr {
        let seq = self.next_seq;
        self.next_seq += 1;
        let (event, id) = match event.id() {
            Some(id) => {
                let id = ByteStr::from(id);
                (event, id)
            }
            None => {
                let id = ByteStr::from(seq.to_string());
                let event = event
                    .into_builder()
                    .id(id.clone())
                    .build()
                    .expect("a decimal id is a valid id");
                (event, id)
            }
        };
        let frame = EncodedFrame::from(&event);
        drop(event);

        self.sinks.send(&frame);

        self.history_bytes += frame.len();
        self.history.push_back(Entry {
            published: Instant::now(),
            seq,
            id: id.clone(),
            frame,
        });
        self.trim(limits);
        self.last_id = Some(id.clone());
        id
    }

    /// Drops the oldest events while history is over a limit.
    fn trim(&mut self, limits: HistoryLimits) {
        let expired = |entry: &Entry| {
            limits
                .max_age
                .is_some_and(|age| entry.published.elapsed() >= age)
        };
        while let Some(oldest) = self.history.front() {
            let over = self.history.len() > limits.events || self.history_bytes > limits.bytes;
            if !over && !expired(oldest) {
                break;
            }
            self.history_bytes -= oldest.frame.len();
            self.history.pop_front();
        }
    }

    /// The position in history of the event with id `id`.
    fn position(&self, id: &str) -> Option<usize> {
        // Sequence ids are found by arithmetic; ids the publisher chose, by
        // a scan from the newest.
        if let (Ok(seq), Some(first)) = (id.parse::<u64>(), self.history.front()) {
            let at = seq
                .checked_sub(first.seq)
                .and_then(|i| usize::try_from(i).ok());
            if let Some(i) = at.filter(|&i| self.history.get(i).is_some_and(|e| e.id == id)) {
                return Some(i);
            }
        }
        self.history.iter().rposition(|entry| entry.id == id)
    }

    fn replay(&self, from: Resume<'_>) -> Replay {
        let last = match from {
            Resume::Live => return Replay::Missed(Vec::new()),
            Resume::Oldest => {
                return Replay::Missed(self.history.iter().map(|e| e.frame.clone()).collect())
            }
            Resume::After(last) => last,
        };
        if let Some(i) = self.position(last) {
            let missed = self.history.range(i + 1..).map(|e| e.frame.clone());
            return Replay::Missed(missed.collect());
        }
        if self.last_id.as_deref() == Some(last) {
            // The latest event, dropped from history by the byte limit.
            return Replay::Missed(Vec::new());
        }
        Replay::Reset {
            last_id: self.last_id.clone(),
        }
    }

    fn subscribers(&self) -> usize {
        self.sinks.live()
    }

    fn stats(&self) -> ChannelStats {
        ChannelStats {
            subscribers: self.subscribers(),
            history_events: self.history.len(),
            history_bytes: self.history_bytes,
            published: self.next_seq - 1,
            overflowed: self.sinks.overflowed,
            last_id: self.last_id.clone(),
        }
    }
}

impl Backend for MemoryBackend {
    type Error = Infallible;

    /// Ready at once: the work is done when it is called.
    fn publish(
        &self,
        channel: &str,
        event: Event,
    ) -> impl Future<Output = Result<ByteStr, Infallible>> + Send {
        let id = self.with_channel(channel, |ch| ch.publish(self.limits, event));
        std::future::ready(Ok(id))
    }

    /// Ready at once: the work is done when it is called.
    fn subscribe(
        &self,
        channel: &str,
        from: Resume<'_>,
        sink: Sink,
    ) -> impl Future<Output = Result<Replay, Infallible>> + Send {
        let replay = self.with_channel(channel, |ch| {
            ch.trim(self.limits);
            ch.sinks.add(sink);
            ch.replay(from)
        });
        std::future::ready(Ok(replay))
    }

    fn channel_stats(&self, channel: &str) -> Option<ChannelStats> {
        let channel = Arc::clone(lock(&self.channels).get(channel)?);
        let mut channel = lock(&channel);
        channel.trim(self.limits);
        Some(channel.stats())
    }

    fn stats(&self) -> HubStats {
        let channels: Vec<_> = lock(&self.channels).values().cloned().collect();
        let mut stats = HubStats {
            channels: channels.len(),
            ..HubStats::default()
        };
        for channel in channels {
            let channel = lock(&channel);
            stats.subscribers += channel.subscribers();
            stats.overflowed += channel.sinks.overflowed;
        }
        stats
    }

    fn prune(&self) -> usize {
        let mut channels = lock(&self.channels);
        let before = channels.len();
        channels.retain(|_, channel| {
            let mut channel = lock(channel);
            channel.trim(self.limits);
            channel.removed = channel.history.is_empty() && channel.subscribers() == 0;
            !channel.removed
        });
        before - channels.len()
    }
}
