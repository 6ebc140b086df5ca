//! For implementers of a backend: the [`Backend`] trait (where a hub keeps
//! its history and how it fans events out), the log its subscribers read
//! ([`FrameLog`], [`Reader`]) and what a subscribe returns ([`Start`],
//! [`Replay`]).
//!
//! An application that only publishes and subscribes needs none of this:
//! [`Hub`](crate::Hub) is the whole API.

use std::future::Future;

use sse_codec::{ByteStr, Event};

use crate::end::{ChannelStatus, End};
use crate::resume::Resume;
use crate::stats::{ChannelStats, HubStats};

pub use crate::log::{Ended, FrameLog, Reader, Start};
pub use crate::resume::Replay;
pub use sse_codec::EncodedFrame;

/// Presence entries of every owner, as `(owner, key, value)`
/// ([`Backend::presence_list`]).
pub type PresenceList = Vec<(String, String, String)>;

/// History and fan-out for a [`Hub`](crate::Hub): the part that changes to
/// run one hub across several server instances on an external log, while
/// the hub, its subscriptions and the framework adapters stay as they are.
///
/// [`MemoryBackend`](crate::MemoryBackend) is the default; with the `redis`
/// feature, [`RedisBackend`](crate::redis::RedisBackend) runs one hub across instances on Redis.
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
    /// [`Reader`] of the channel's [`FrameLog`] (the live
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

    /// Ends `channel` with `end`, as [`Hub::end`](crate::Hub::end)
    /// describes: an entry after the channel's events, with the next id,
    /// that every subscriber reads last ([`FrameLog::push_end`]), replayed
    /// to later ones, kept for the history's `ended_ttl`. Returns its id;
    /// on an ended channel, changes nothing and returns the end's id.
    ///
    /// # Errors
    ///
    /// The backend could not store it; the channel did not end.
    fn end(
        &self,
        channel: &str,
        end: End,
    ) -> impl Future<Output = Result<ByteStr, Self::Error>> + Send;

    /// What `channel` is now ([`Hub::status`](crate::Hub::status)).
    ///
    /// # Errors
    ///
    /// The backend could not be reached.
    fn status(
        &self,
        channel: &str,
    ) -> impl Future<Output = Result<ChannelStatus, Self::Error>> + Send;

    /// A [`Producer`](crate::Producer) of `channel` starts on this
    /// instance: a backend shared by instances takes a lease, renewed until
    /// [`produced`](Self::produced), so that the channel ends with an error
    /// if the instance is lost. The default does nothing (one process).
    ///
    /// # Errors
    ///
    /// The backend could not take the lease; no producer starts.
    fn produce(&self, channel: &str) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = channel;
        std::future::ready(Ok(()))
    }

    /// The producer of `channel` on this instance is gone (it ended the
    /// channel, or was dropped and ends it): stop renewing its lease.
    fn produced(&self, channel: &str) {
        let _ = channel;
    }

    /// Asks the producer of `channel` on *another* instance to stop
    /// (this instance's producers are reached by the hub itself), through
    /// [`on_cancel`](Self::on_cancel) there; whether some instance holds
    /// its lease. The default reaches none: `false`.
    ///
    /// # Errors
    ///
    /// The backend could not be reached.
    fn cancel(&self, channel: &str) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        let _ = channel;
        std::future::ready(Ok(false))
    }

    /// Where the cancels sent by other instances go: the hub gives it, at
    /// [`build_with`](crate::HubBuilder::build_with), a function that
    /// reaches its producer of a channel. The default drops it.
    fn on_cancel(&self, deliver: std::sync::Arc<dyn Fn(&str) + Send + Sync>) {
        let _ = deliver;
    }

    /// Statistics of one channel, or `None` if it does not exist.
    fn channel_stats(&self, channel: &str) -> Option<ChannelStats>;

    /// Statistics of the whole hub.
    fn stats(&self) -> HubStats;

    /// Drops every channel that has no subscriber and no history (for a
    /// backend on an external log: no local subscriber), returning how many
    /// were dropped. Publishing to or subscribing to a dropped
    /// channel creates it anew.
    fn prune(&self) -> usize;

    /// Presence, for what every instance must see of the others (the
    /// active subscriptions of a topic hub): sets `entries` (key, value)
    /// in `owner`'s set under `scope`, and keeps the set for `ttl` from
    /// now. A backend that shares nothing between instances (in memory)
    /// keeps nothing: the default.
    ///
    /// # Errors
    ///
    /// The backend could not store them.
    fn presence_put(
        &self,
        scope: &str,
        owner: &str,
        entries: &[(String, String)],
        ttl: std::time::Duration,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = (scope, owner, entries, ttl);
        std::future::ready(Ok(()))
    }

    /// Removes `keys` from `owner`'s set under `scope`.
    ///
    /// # Errors
    ///
    /// The backend could not remove them.
    fn presence_remove(
        &self,
        scope: &str,
        owner: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = (scope, owner, keys);
        std::future::ready(Ok(()))
    }

    /// Keeps `owner`'s set under `scope` for `ttl` from now; `false` when
    /// the set was gone (expired, or the backend lost its data), so that
    /// the owner puts its entries again.
    ///
    /// # Errors
    ///
    /// The backend could not be reached.
    fn presence_refresh(
        &self,
        scope: &str,
        owner: &str,
        ttl: std::time::Duration,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        let _ = (scope, owner, ttl);
        std::future::ready(Ok(true))
    }

    /// Every owner's entries under `scope`, as `(owner, key, value)`;
    /// `None` for a backend that shares nothing (each instance then knows
    /// its own entries only).
    ///
    /// # Errors
    ///
    /// The backend could not be reached.
    fn presence_list(
        &self,
        scope: &str,
    ) -> impl Future<Output = Result<Option<PresenceList>, Self::Error>> + Send {
        let _ = scope;
        std::future::ready(Ok(None))
    }
}
