//! Where a subscriber starts ([`Resume`]) and what it gets before the live
//! events ([`Replay`]): the values the hub, its backends and the log share.

use sse_codec::{ByteStr, EncodedFrame};

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
        /// The id the reset event carries: where a client that reconnects
        /// after it resumes (the channel's latest id, or, when `then` holds
        /// the channel's events from their start, the id just before them).
        last_id: Option<ByteStr>,
        /// Events that follow the reset, oldest first (often none): a
        /// backend whose channel started again (Redis lost it) gives what it
        /// holds of the new start.
        then: Vec<EncodedFrame>,
    },
    /// The channel has ended: these frames (oldest first), the last of
    /// which is its end event, and nothing after them. Empty when the
    /// subscriber resumed after the end: it is told that nothing will
    /// come (the adapters answer 204 No Content, which stops a browser's
    /// `EventSource`).
    Ended(Vec<EncodedFrame>),
}
