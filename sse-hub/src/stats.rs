//! What a hub reports of itself: [`HubStats`] and [`ChannelStats`].

use sse_codec::ByteStr;

use crate::log::FrameLog;

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
    /// Channels that exist (see [`Backend::prune`](crate::backend::Backend::prune)).
    pub channels: usize,
    /// Subscribers connected now, over all channels.
    pub subscribers: usize,
    /// Subscribers that fell further behind than history and got the reset
    /// event, over all channels.
    pub lagged: u64,
}

impl HubStats {
    /// The statistics of `channels` channels, before their logs are counted.
    pub(crate) fn of_channels(channels: usize) -> Self {
        HubStats {
            channels,
            ..HubStats::default()
        }
    }

    /// Counts the subscribers of one channel's log.
    pub(crate) fn count(&mut self, log: &FrameLog) {
        self.subscribers += log.readers();
        self.lagged += log.lagged();
    }
}
