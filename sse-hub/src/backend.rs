//! The [`Backend`] trait: where a hub keeps its history and how it fans
//! events out.

use std::future::Future;

use sse_codec::{ByteStr, EncodedFrame, Event};

use crate::log::Reader;

/// History and fan-out for a [`Hub`](crate::Hub): the part that changes to
/// run one hub across several server instances on an external log, while
/// the hub, its subscriptions and the framework adapters stay as they are.
///
/// [`MemoryBackend`](crate::MemoryBackend) is the default; with the `redis`
/// feature, `RedisBackend` runs one hub across instances on Redis.
/// `publish` and `subscribe` are `async` because an external log answers
/// over the network; the in-memory backend's futures are ready at once.
/// A backend must keep two promises:
///
/// - **Ids.** [`publish`](Self::publish) gives an event without an id the
///   channel's next sequence number (decimal, counting from 1) and keeps a
///   given id as it is; the returned id is the one on the wire.
/// - **No gap, no duplicate.** [`subscribe`](Self::subscribe) places the
///   reader and computes the replay as one step with respect to `publish`
///   on the same channel: every event of the channel is either in the
///   replay or read by the reader afterwards, never both, never neither.
pub trait Backend: Send + Sync + 'static {
    /// Why an operation failed (a lost connection to the external log).
    /// The in-memory backend never fails: [`std::convert::Infallible`].
    type Error: std::error::Error + Send + Sync + 'static;

    /// Gives `event` its id, encodes it once and appends it to `channel`'s
    /// history, where every subscriber reads it. Returns the event's id.
    /// Must not block on any subscriber.
    ///
    /// # Errors
    ///
    /// The backend could not store the event; no subscriber got it.
    fn publish(
        &self,
        channel: &str,
        event: Event,
    ) -> impl Future<Output = Result<ByteStr, Self::Error>> + Send;

    /// Where a subscriber of `channel` starts, as [`Resume`] says: a
    /// [`Reader`] of the channel's [`FrameLog`](crate::FrameLog) (the live
    /// events), and what comes before it: for [`Resume::After`], nothing
    /// when the id is the channel's latest; the events after it when it is
    /// in history; otherwise [`Replay::Reset`].
    ///
    /// # Errors
    ///
    /// The backend could not read its history; nothing is registered.
    fn subscribe(
        &self,
        channel: &str,
        from: Resume<'_>,
    ) -> impl Future<Output = Result<Start, Self::Error>> + Send;

    /// Statistics of one channel, or `None` if it does not exist.
    fn channel_stats(&self, channel: &str) -> Option<ChannelStats>;

    /// Statistics of the whole hub.
    fn stats(&self) -> HubStats;

    /// Drops every channel that has no subscriber and no history (for a
    /// backend on an external log: no local subscriber), returning how many
    /// were dropped. Publishing to or subscribing to a dropped
    /// channel creates it anew.
    fn prune(&self) -> usize;
}

/// Where a new subscriber starts.
///
/// `Option<&str>` (a client's `Last-Event-ID`) converts into it: `None` is
/// [`Resume::Live`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume<'a> {
    /// With the next event published: a client that loads the current
    /// state some other way.
    Live,
    /// After the event with this id (the client's `Last-Event-ID`).
    After(&'a str),
    /// With the oldest event in history: a new client that wants all the
    /// recent events.
    Oldest,
}

impl<'a> From<Option<&'a str>> for Resume<'a> {
    fn from(last_event_id: Option<&'a str>) -> Self {
        last_event_id.map_or(Resume::Live, Resume::After)
    }
}

/// Where a new subscriber starts: made by [`FrameLog::open`](crate::FrameLog::open),
/// or by [`Start::new`] for a backend that reads the replay from elsewhere.
#[derive(Debug)]
pub struct Start {
    pub(crate) replay: Replay,
    pub(crate) reader: Reader,
}

impl Start {
    /// `replay`, then what `reader` reads. `reader` must be placed so that
    /// the replay ends just before its position: together they are every
    /// event once.
    pub fn new(replay: Replay, reader: Reader) -> Self {
        Start { replay, reader }
    }
}

/// What a new subscriber receives before the live events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replay {
    /// The events it missed, oldest first (often none).
    Missed(Vec<EncodedFrame>),
    /// It missed events that are no longer in history, or its last event ID
    /// is unknown: it gets the hub's reset event, carrying `last_id` (the
    /// channel's latest id, so that a reconnect after the reset resumes from
    /// there).
    Reset {
        /// The channel's latest event id, if it has published any.
        last_id: Option<ByteStr>,
    },
}

/// Statistics of one channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelStats {
    /// Subscribers connected now.
    pub subscribers: usize,
    /// Events in the replay history, and their encoded bytes.
    pub history_events: usize,
    /// The encoded bytes of the events in history.
    pub history_bytes: usize,
    /// Events published since the channel was created.
    pub published: u64,
    /// Subscribers that fell further behind than history and got the reset
    /// event in their stream.
    pub lagged: u64,
    /// The id of the latest event.
    pub last_id: Option<ByteStr>,
}

/// Statistics of a hub.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubStats {
    /// Channels that exist (see [`Backend::prune`]).
    pub channels: usize,
    /// Subscribers connected now, over all channels.
    pub subscribers: usize,
    /// Subscribers that fell further behind than history and got the reset
    /// event, over all channels.
    pub lagged: u64,
}
