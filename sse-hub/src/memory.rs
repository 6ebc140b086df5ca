//! [`MemoryBackend`]: history and fan-out in this process.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};

use sse_codec::{ByteStr, EncodedFrame, Event};

use crate::backend::Backend;
use crate::end::{ChannelStatus, End};
use crate::lock::lock;
use crate::log::{FrameLog, HistoryLimits, Start};
use crate::resume::Resume;
use crate::stats::{ChannelStats, HubStats};

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
    /// History, read by every subscriber at its own position.
    log: FrameLog,
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
                    None => {
                        crate::metrics::channels(1.0);
                        Arc::clone(
                            channels
                                .entry(name.into())
                                .or_insert_with(|| Arc::new(Mutex::new(Channel::new(self.limits)))),
                        )
                    }
                }
            };
            let mut guard = lock(&channel);
            if !guard.removed && !guard.expire(self.limits) {
                return f(&mut guard);
            }
            drop(guard);
            // Pruned, or ended and past its time (then unknown): out of the
            // map if it is still there, and made anew.
            let mut channels = lock(&self.channels);
            if channels.get(name).is_some_and(|c| Arc::ptr_eq(c, &channel)) {
                channels.remove(name);
                crate::metrics::channels(-1.0);
            }
        }
    }
}

impl Channel {
    fn new(limits: HistoryLimits) -> Self {
        Channel {
            removed: false,
            next_seq: 1,
            log: FrameLog::new(limits),
        }
    }

    fn publish(&mut self, event: Event) -> ByteStr {
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
        let frame = EncodedFrame::from(event);
        crate::metrics::published(frame.len());
        self.log.push(id.clone(), frame);
        id
    }

    /// Marks the channel removed if it ended `ended_ttl` ago or more.
    fn expire(&mut self, limits: HistoryLimits) -> bool {
        let expired = self
            .log
            .ended_at()
            .is_some_and(|at| at.elapsed() >= limits.ended_ttl);
        self.removed |= expired;
        expired
    }

    fn end(&mut self, end: End) -> ByteStr {
        if let Some(ended) = self.log.ended() {
            return ended.id;
        }
        let id = ByteStr::from(self.next_seq.to_string());
        self.next_seq += 1;
        self.log.push_end(id.clone(), end);
        id
    }

    fn status(&self) -> ChannelStatus {
        match self.log.ended() {
            Some(ended) => ChannelStatus::Ended {
                end: ended.end,
                id: ended.id,
            },
            None => ChannelStatus::Live,
        }
    }

    fn stats(&self) -> ChannelStats {
        ChannelStats {
            subscribers: self.log.readers(),
            history_events: self.log.len(),
            history_bytes: self.log.bytes(),
            published: self.next_seq - 1,
            lagged: self.log.lagged(),
            last_id: self.log.last_id(),
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
        let id = self.with_channel(channel, |ch| ch.publish(event));
        std::future::ready(Ok(id))
    }

    /// Ready at once: the work is done when it is called.
    fn subscribe(
        &self,
        channel: &str,
        from: Resume<'_>,
    ) -> impl Future<Output = Result<Start, Infallible>> + Send {
        let start = self.with_channel(channel, |ch| ch.log.open(from));
        std::future::ready(Ok(start))
    }

    /// Ready at once: the work is done when it is called.
    fn end(
        &self,
        channel: &str,
        end: End,
    ) -> impl Future<Output = Result<ByteStr, Infallible>> + Send {
        let id = self.with_channel(channel, |ch| ch.end(end));
        std::future::ready(Ok(id))
    }

    /// Ready at once: makes the channel, so that it is live from now.
    fn produce(&self, channel: &str) -> impl Future<Output = Result<(), Infallible>> + Send {
        self.with_channel(channel, |_| ());
        std::future::ready(Ok(()))
    }

    /// Ready at once.
    fn status(
        &self,
        channel: &str,
    ) -> impl Future<Output = Result<ChannelStatus, Infallible>> + Send {
        let channel = lock(&self.channels).get(channel).cloned();
        let status = channel.map_or(ChannelStatus::Unknown, |channel| {
            let mut channel = lock(&channel);
            if channel.expire(self.limits) {
                ChannelStatus::Unknown
            } else {
                channel.status()
            }
        });
        std::future::ready(Ok(status))
    }

    fn channel_stats(&self, channel: &str) -> Option<ChannelStats> {
        let channel = Arc::clone(lock(&self.channels).get(channel)?);
        let stats = lock(&channel).stats();
        Some(stats)
    }

    fn stats(&self) -> HubStats {
        let channels: Vec<_> = lock(&self.channels).values().cloned().collect();
        let mut stats = HubStats::of_channels(channels.len());
        for channel in channels {
            stats.count(&lock(&channel).log);
        }
        stats
    }

    fn prune(&self) -> usize {
        let mut channels = lock(&self.channels);
        let before = channels.len();
        channels.retain(|_, channel| {
            let mut channel = lock(channel);
            let unused = channel.log.is_empty() && channel.log.readers() == 0;
            channel.removed |= unused;
            !(channel.expire(self.limits) || unused)
        });
        let dropped = before - channels.len();
        crate::metrics::channels(-(dropped as f64));
        dropped
    }
}
