//! [`Hub`]: channels of events with replay, fanned out to subscribers,
//! on a [`Backend`]; and its builder.

use std::sync::Arc;

use sse_codec::{ByteStr, Event};

use crate::backend::Backend;
use crate::cancel::Producers;
use crate::end::{ChannelStatus, End};
use crate::log::HistoryLimits;
use crate::memory::MemoryBackend;
#[cfg(feature = "metrics")]
use crate::metrics;
#[cfg(feature = "metrics")]
use crate::resume::Replay;
use crate::resume::Resume;
use crate::stats::{ChannelStats, HubStats};
use crate::subscription::Subscription;

/// The default event type of the reset event.
pub const DEFAULT_RESET_TYPE: &str = "reset";

/// A broadcast hub: channels of events with replay, fanned out to
/// subscribers. Cloning shares the hub.
///
/// See the [crate documentation](crate) for what it guarantees.
#[derive(Debug)]
pub struct Hub<B = MemoryBackend> {
    inner: Arc<Inner<B>>,
}

#[derive(Debug)]
struct Inner<B> {
    backend: B,
    reset: Arc<Event>,
    /// The producers in this process, for `cancel`.
    producers: Arc<Producers>,
}

impl<B> Clone for Hub<B> {
    fn clone(&self) -> Self {
        Hub {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl Hub {
    /// An in-memory hub with the default limits: [`HistoryLimits::default`]
    /// per channel.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Configures a hub.
    ///
    /// # Examples
    ///
    /// ```
    /// let hub = sse_hub::Hub::builder()
    ///     .history_events(100)
    ///     .history_bytes(64 * 1024)
    ///     .reset_event(sse_codec::Event::builder().event_type("reload").build()?)
    ///     .build();
    /// # drop(hub);
    /// # Ok::<(), sse_codec::InvalidField>(())
    /// ```
    pub fn builder() -> HubBuilder {
        HubBuilder {
            history: HistoryLimits::default(),
            reset: Event::builder()
                .event_type(DEFAULT_RESET_TYPE)
                .build()
                .expect("a fixed event type is valid"),
        }
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> Hub<B> {
    /// Publishes `event` on `channel` and returns its id: the channel's next
    /// sequence number (in memory: decimal, from 1, unless the event has an
    /// id; on Redis: `<epoch>-<seq>`).
    ///
    /// The event is encoded once and kept once, in the channel's log, where
    /// every subscriber reads it. This never waits for a subscriber: one
    /// that falls out of the log gets the reset event instead. The in-memory
    /// backend's future is ready at once.
    ///
    /// # Errors
    ///
    /// The backend's error; never, for the in-memory backend.
    pub async fn publish(&self, channel: &str, event: Event) -> Result<ByteStr, B::Error> {
        self.inner.backend.publish(channel, event).await
    }

    /// Subscribes to `channel`, starting where `from` says; pass the
    /// client's `Last-Event-ID` as an `Option<&str>`:
    ///
    /// - `None` ([`Resume::Live`]), or the channel's latest id: the live
    ///   events only. [`Resume::Oldest`]: all of history, then live.
    /// - An id in history: the events after it, then the live ones.
    /// - An id older than the history or unknown: the reset event (with the
    ///   channel's latest id as its id), then the live events.
    ///
    /// # Errors
    ///
    /// The backend's error; never, for the in-memory backend. A server
    /// answers it with 503 Service Unavailable: the client retries.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use sse_codec::Event;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let hub = sse_hub::Hub::new();
    /// for n in 1..=3 {
    ///     let _ = hub.publish("jobs", Event::new(format!("step {n}"))).await;
    /// }
    /// let Ok(mut resumed) = hub.subscribe("jobs", Some("1")).await;
    /// // Frames that are ready come joined into one chunk.
    /// let replayed = resumed.next().await.unwrap();
    /// assert_eq!(replayed.as_bytes(), "id: 2\ndata: step 2\n\nid: 3\ndata: step 3\n\n");
    ///
    /// let Ok(mut lost) = hub.subscribe("jobs", Some("99")).await;
    /// assert_eq!(lost.next().await.unwrap().as_bytes(), "event: reset\nid: 3\ndata: \n\n");
    /// # });
    /// ```
    pub async fn subscribe<'a>(
        &self,
        channel: &str,
        from: impl Into<Resume<'a>>,
    ) -> Result<Subscription, B::Error> {
        let start = self.inner.backend.subscribe(channel, from.into()).await?;
        // Counting the replay takes the log's lock once more: only when the
        // metrics are compiled in.
        #[cfg(feature = "metrics")]
        match &start.replay {
            Replay::Missed(frames) => {
                metrics::replayed(frames.len() as u64 + start.reader.behind());
            }
            Replay::Ended(frames) => metrics::replayed(frames.len() as u64),
            Replay::Reset { .. } => metrics::reset(),
        }
        Ok(Subscription::new(
            start.replay,
            start.reader,
            Arc::clone(&self.inner.reset),
        ))
    }

    /// Ends `channel` with `end` and returns the end event's id: its
    /// subscribers get what was published before, then the end event (type
    /// [`END_TYPE`](crate::END_TYPE), data [`End::to_json`]), and their streams finish. The
    /// end is kept in history and replayed: a subscriber that comes later
    /// gets what it missed, then the end; one that resumes *after* the end
    /// gets nothing, at once ([`Subscription::is_finished`]; the adapters
    /// answer 204). The ended channel is dropped
    /// [`HistoryLimits::ended_ttl`] after its end. Ending an ended channel
    /// changes nothing and returns the end's id. Publishing after the end
    /// opens the channel again; a [`Producer`](crate::Producer) is the way to write a channel
    /// that ends.
    ///
    /// # Errors
    ///
    /// The backend's error; never, for the in-memory backend.
    pub async fn end(&self, channel: &str, end: End) -> Result<ByteStr, B::Error> {
        self.inner.backend.end(channel, end).await
    }

    /// Whether `channel` is unknown (never used, or ended and expired),
    /// live, or ended (and how).
    ///
    /// # Errors
    ///
    /// The backend's error; never, for the in-memory backend.
    pub async fn status(&self, channel: &str) -> Result<ChannelStatus, B::Error> {
        self.inner.backend.status(channel).await
    }

    /// Asks `channel`'s producer to stop, on whichever instance runs it:
    /// its [`Producer::cancelled`](crate::Producer::cancelled) completes (it then stops its work and
    /// ends the channel, with [`End::Cancelled`] if it is dropped). Returns
    /// whether a producer was reached here or holds a lease elsewhere.
    ///
    /// # Errors
    ///
    /// The backend's error (the cancel could not be sent to the other
    /// instances); never, for the in-memory backend.
    pub async fn cancel(&self, channel: &str) -> Result<bool, B::Error> {
        if self.inner.producers.cancel(channel) {
            return Ok(true);
        }
        self.inner.backend.cancel(channel).await
    }

    pub(crate) fn producers(&self) -> &Producers {
        &self.inner.producers
    }

    /// Statistics of `channel`, or `None` if it does not exist.
    pub fn channel_stats(&self, channel: &str) -> Option<ChannelStats> {
        self.inner.backend.channel_stats(channel)
    }

    /// Statistics of the whole hub: channels and subscribers.
    pub fn stats(&self) -> HubStats {
        self.inner.backend.stats()
    }

    /// Drops the channels that have no subscriber and no history (after
    /// expiring events older than [`HubBuilder::history_max_age`]); returns
    /// how many. Call it now and then when channels are per user or per
    /// session.
    pub fn prune(&self) -> usize {
        self.inner.backend.prune()
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.inner.backend
    }

    /// The event type of the reset event.
    #[cfg(feature = "topics")]
    pub(crate) fn reset_type(&self) -> &str {
        self.inner.reset.event_type()
    }
}

/// Configures a [`Hub`]; made by [`Hub::builder`].
#[derive(Debug)]
#[must_use]
pub struct HubBuilder {
    history: HistoryLimits,
    reset: Event,
}

impl HubBuilder {
    /// The most events of history kept per channel (default 1000): also how
    /// far a subscriber may fall behind before it gets the reset event.
    pub fn history_events(mut self, events: usize) -> Self {
        self.history.events = events;
        self
    }

    /// The most encoded bytes of history kept per channel (default 1 MiB).
    pub fn history_bytes(mut self, bytes: usize) -> Self {
        self.history.bytes = bytes;
        self
    }

    /// How long an event stays in history (default: no limit). A client
    /// away longer gets the reset event; a channel with no subscriber and no
    /// event younger than this is dropped by [`Hub::prune`].
    pub fn history_max_age(mut self, max_age: std::time::Duration) -> Self {
        self.history.max_age = Some(max_age);
        self
    }

    /// The slack for bursts (default 64 MiB, 10 s; `0` bytes for none):
    /// past the replay limits, the log keeps what subscribers still read
    /// while it holds at most `bytes` and the events are younger than
    /// `age`. See [`HistoryLimits`].
    pub fn history_burst(mut self, bytes: usize, age: std::time::Duration) -> Self {
        self.history.burst_bytes = bytes;
        self.history.burst_age = age;
        self
    }

    /// How long an ended channel is kept (its history, the end last) for
    /// subscribers that come late or resume (default 10 minutes); after
    /// that it is unknown. See [`Hub::end`]. (On Redis:
    /// `RedisBackendBuilder::ended_ttl`.)
    pub fn ended_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.history.ended_ttl = ttl;
        self
    }

    /// The event sent to a subscriber whose last event ID is older than the
    /// history or unknown (default: type `reset`, empty data). Its id is
    /// replaced by the channel's latest id (empty if there is none), so a
    /// client that reconnects after it resumes from there.
    pub fn reset_event(mut self, event: Event) -> Self {
        self.reset = event;
        self
    }

    /// An in-memory hub.
    pub fn build(self) -> Hub {
        let backend = MemoryBackend::new(self.history);
        self.build_with(backend)
    }

    /// A hub on `backend`. The history limits set here are the in-memory
    /// backend's; other backends have their own.
    pub fn build_with<B: Backend>(self, backend: B) -> Hub<B> {
        let producers = Arc::new(Producers::default());
        let reached = Arc::clone(&producers);
        backend.on_cancel(Arc::new(move |channel| {
            reached.cancel(channel);
        }));
        Hub {
            inner: Arc::new(Inner {
                backend,
                reset: Arc::new(self.reset),
                producers,
            }),
        }
    }
}
