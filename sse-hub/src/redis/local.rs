//! The state one instance keeps per channel with local subscribers: its
//! [`FrameLog`], the cursor, and how live frames reach the log ([`Feed`]).

use std::collections::VecDeque;
use std::sync::Mutex;

use super::position::{Position, Received};
use crate::lock::lock;
use crate::log::{FrameLog, HistoryLimits};

/// Live frames kept per channel while its local is out of sync; past this,
/// later ones are dropped and the resync reads them from the log instead.
const MAX_PENDING: usize = 4096;

#[derive(Debug)]
pub(super) struct Local {
    pub(super) name: Box<str>,
    /// Held by a resync from its first read to its last update
    /// (invariant 2).
    pub(super) sync: tokio::sync::Mutex<()>,
    pub(super) state: Mutex<LocalState>,
}

#[derive(Debug)]
pub(super) struct LocalState {
    /// Set when the sweep drops the channel, so that a subscriber that
    /// found it just before starts again with a new one.
    pub(super) removed: bool,
    /// Subscribers between finding this local and adding their sink; the
    /// sweep leaves it alone meanwhile.
    pub(super) joining: usize,
    /// How live frames reach the log (invariant 2).
    pub(super) feed: Feed,
    /// The position of the last frame appended to the log (invariant 1).
    pub(super) cursor: Position,
    /// The frames received, read by this instance's subscribers.
    pub(super) log: FrameLog,
}

/// How live frames reach a channel's local log: straight in only while in
/// sync (invariant 2). Frames that wait exist only in the states that wait,
/// so no frame can reach the log past a resync.
#[derive(Debug)]
pub(super) enum Feed {
    /// No resync has set the cursor yet: live frames wait for the first.
    Joining(Pending),
    /// A resync is under way or due: live frames wait for it, in order.
    Behind(Pending),
    /// Live frames go straight to the log, each the cursor's successor.
    InSync,
}

/// Live frames received while out of sync, oldest first.
#[derive(Debug, Default)]
pub(super) struct Pending {
    pub(super) frames: VecDeque<Received>,
    /// Whether frames were left out because it was full: the resync must
    /// read the log again.
    pub(super) overflowed: bool,
}

impl Local {
    pub(super) fn new(name: &str, limits: HistoryLimits) -> Self {
        Local {
            name: name.into(),
            sync: tokio::sync::Mutex::new(()),
            state: Mutex::new(LocalState {
                removed: false,
                joining: 0,
                feed: Feed::Joining(Pending::default()),
                cursor: Position::default(),
                log: FrameLog::new(limits),
            }),
        }
    }
}

impl Feed {
    /// Whether a first resync has set the cursor.
    pub(super) fn is_joined(&self) -> bool {
        !matches!(self, Feed::Joining(_))
    }

    /// Stops live frames from going straight to the log, for a resync;
    /// returns whether the channel was joined.
    pub(super) fn fall_behind(&mut self) -> bool {
        if let Feed::InSync = self {
            *self = Feed::Behind(Pending::default());
        }
        self.is_joined()
    }

    /// The frames waiting for the resync under way, which the feed no
    /// longer holds: it is [`Feed::Behind`] with none.
    pub(super) fn take_pending(&mut self) -> Pending {
        match std::mem::replace(self, Feed::Behind(Pending::default())) {
            Feed::Joining(pending) | Feed::Behind(pending) => pending,
            Feed::InSync => Pending::default(),
        }
    }
}

impl Pending {
    /// Keeps a live frame for the resync under way. Bytes that are not one
    /// of our frames are dropped: the resync reads the log instead.
    pub(super) fn hold(&mut self, frame: Option<Received>) {
        match frame {
            Some(frame) if self.frames.len() < MAX_PENDING => self.frames.push_back(frame),
            _ => self.overflowed = true,
        }
    }
}

/// Counts a subscriber as joining a local until dropped.
pub(super) struct Joining<'a>(&'a Local);

impl<'a> Joining<'a> {
    pub(super) fn new(local: &'a Local) -> Self {
        lock(&local.state).joining += 1;
        Joining(local)
    }
}

impl Drop for Joining<'_> {
    fn drop(&mut self) {
        lock(&self.0.state).joining -= 1;
    }
}
