//! The updates an instance has received, once, in order: a bounded log
//! that every topic subscription of the instance reads at a position of
//! its own, and the registry of the matchers those subscriptions use.
//!
//! Why not one hub channel per topic: a Mercure subscription follows any
//! number of topics and patterns over one connection with one resumable
//! id, and an update has several topics, so the order that ids resume
//! from is the hub's, not a topic's. The hub's channel carries that one
//! order (across instances on Redis); each instance reads it once into
//! this log, and its subscribers filter it.
//!
//! Invariants:
//!
//! 1. Entries are appended in the channel's order only (by the one pump
//!    task); `first + entries.len()` is the position after the last one,
//!    published in `tip` after each append.
//! 2. An update's `matched` lists, among the matchers registered when it
//!    was appended (ids below `evaluated_upto`), those that match one of
//!    its topics: each distinct pattern is evaluated once per update, not
//!    once per subscriber. A matcher registered later (an id at or above
//!    `evaluated_upto`) is evaluated by whoever asks.
//! 3. Matcher ids are never reused, so a listed id always names the same
//!    pattern.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sse_codec::EncodedFrame;

use super::matcher::{MatchType, Matcher, Topic};
use crate::lock::lock;

/// One entry of the log.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The update's id (empty for a reset).
    pub(crate) id: Box<str>,
    pub(crate) what: What,
    at: Instant,
}

#[derive(Debug)]
pub(crate) enum What {
    Update(Box<Update>),
    /// The hub's channel announced a gap (its backend lost events).
    Reset,
}

#[derive(Debug)]
pub(crate) struct Update {
    pub(crate) topics: Box<[Topic]>,
    pub(crate) private: bool,
    pub(crate) frame: EncodedFrame,
    /// Invariant 2.
    matched: Box<[u64]>,
    evaluated_upto: u64,
}

impl Update {
    /// Whether the registered matcher `id` (`matcher`) matches one of its
    /// topics.
    pub(crate) fn matches(&self, id: u64, matcher: &Matcher) -> bool {
        if id < self.evaluated_upto {
            self.matched.binary_search(&id).is_ok()
        } else {
            self.topics.iter().any(|t| matcher.matches(t))
        }
    }
}

impl Entry {
    pub(crate) fn update(
        id: String,
        topics: Box<[Topic]>,
        private: bool,
        frame: EncodedFrame,
        registry: &Registry,
    ) -> Entry {
        let (live, evaluated_upto) = registry.snapshot();
        let matched: Box<[u64]> = live
            .iter()
            .filter(|r| topics.iter().any(|t| r.matcher.matches(t)))
            .map(|r| r.id)
            .collect();
        Entry {
            id: id.into(),
            what: What::Update(Box::new(Update {
                topics,
                private,
                frame,
                matched,
                evaluated_upto,
            })),
            at: Instant::now(),
        }
    }

    pub(crate) fn reset() -> Entry {
        Entry {
            id: "".into(),
            what: What::Reset,
            at: Instant::now(),
        }
    }

    /// What it costs to keep, roughly: its frame, its topics and the
    /// entry itself.
    fn cost(&self) -> usize {
        let own = std::mem::size_of::<Entry>() + self.id.len();
        match &self.what {
            What::Update(u) => {
                own + std::mem::size_of::<Update>()
                    + u.frame.len()
                    + u.topics
                        .iter()
                        .map(|t| 2 * t.as_str().len() + 96)
                        .sum::<usize>()
                    + 8 * u.matched.len()
            }
            What::Reset => own,
        }
    }
}

/// How much the log keeps.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogLimits {
    /// Updates kept for reconnecting subscribers.
    pub(crate) history: usize,
    /// Past `history`, what is kept for subscribers still reading a burst:
    /// at most this many bytes, for at most `burst_age`.
    pub(crate) burst_bytes: usize,
    pub(crate) burst_age: Duration,
}

/// What a subscriber's read found.
pub(crate) enum Read {
    /// Entries from its position on (at most a batch), and the position
    /// after them.
    Entries(Vec<Arc<Entry>>, u64),
    /// Its position fell out of the log; the oldest position kept.
    Lagged(u64),
    /// Nothing new.
    Nothing,
}

/// Where a new subscriber starts.
pub(crate) struct Opened {
    pub(crate) position: u64,
    /// The entry it resumes after, when it asked for one that is here.
    pub(crate) found: Option<Arc<Entry>>,
    /// Entries before its position, newest first, to find the id the
    /// response names (at most a bounded number).
    pub(crate) before: Vec<Arc<Entry>>,
}

/// The most entries one read hands out.
const BATCH: usize = 512;

/// How far back a new subscriber looks for the id its response names.
pub(crate) const BACKWARD_SCAN: usize = 1024;

#[derive(Debug)]
pub(crate) struct LocalLog {
    state: Mutex<State>,
    tip: tokio::sync::watch::Sender<u64>,
    limits: LogLimits,
}

#[derive(Debug, Default)]
struct State {
    /// The position of `entries[0]`.
    first: u64,
    entries: VecDeque<Arc<Entry>>,
    bytes: usize,
}

impl LocalLog {
    pub(crate) fn new(limits: LogLimits) -> Self {
        LocalLog {
            state: Mutex::new(State::default()),
            tip: tokio::sync::watch::channel(0).0,
            limits,
        }
    }

    /// Appends `entry` (invariant 1) and drops what the limits no longer
    /// keep.
    pub(crate) fn push(&self, entry: Entry) {
        let end = {
            let mut state = lock(&self.state);
            state.bytes += entry.cost();
            state.entries.push_back(Arc::new(entry));
            let now = Instant::now();
            while state.entries.len() > self.limits.history {
                let front = &state.entries[0];
                let burst_over = state.bytes > self.limits.burst_bytes
                    || now.duration_since(front.at) > self.limits.burst_age;
                if !burst_over {
                    break;
                }
                let cost = front.cost();
                state.bytes -= cost;
                state.entries.pop_front();
                state.first += 1;
            }
            state.first + state.entries.len() as u64
        };
        self.tip.send_replace(end);
    }

    /// A receiver that changes after each append.
    pub(crate) fn watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.tip.subscribe()
    }

    /// Opens a subscriber: at the end (`None`), at the start of what the
    /// replay history holds (`Some(None)`), or after the newest update with
    /// id `id` (`Some(Some(id))`; at the end when none has it).
    pub(crate) fn open(&self, from: Option<Option<&str>>) -> Opened {
        let state = lock(&self.state);
        let end = state.first + state.entries.len() as u64;
        let replay_start = state.entries.len().saturating_sub(self.limits.history);
        let (position, found) = match from {
            None => (end, None),
            Some(None) => (state.first + replay_start as u64, None),
            Some(Some(id)) => {
                match state
                    .entries
                    .iter()
                    .skip(replay_start)
                    .rposition(|e| &*e.id == id)
                {
                    Some(at) => {
                        let at = replay_start + at;
                        (
                            state.first + at as u64 + 1,
                            Some(Arc::clone(&state.entries[at])),
                        )
                    }
                    None => (end, None),
                }
            }
        };
        let index = (position - state.first) as usize;
        let before = state
            .entries
            .range(..index)
            .rev()
            .take(BACKWARD_SCAN)
            .cloned()
            .collect();
        Opened {
            position,
            found,
            before,
        }
    }

    /// The entries from `position` on.
    pub(crate) fn read(&self, position: u64) -> Read {
        let state = lock(&self.state);
        if position < state.first {
            return Read::Lagged(state.first);
        }
        let start = (position - state.first) as usize;
        if start >= state.entries.len() {
            return Read::Nothing;
        }
        let entries: Vec<_> = state.entries.range(start..).take(BATCH).cloned().collect();
        let next = position + entries.len() as u64;
        Read::Entries(entries, next)
    }

    /// The id of the newest update, if any.
    pub(crate) fn last_id(&self) -> Option<Box<str>> {
        let state = lock(&self.state);
        state
            .entries
            .iter()
            .rev()
            .find(|e| matches!(e.what, What::Update(_)))
            .map(|e| e.id.clone())
    }

    /// Updates kept and their bytes.
    pub(crate) fn len_and_bytes(&self) -> (usize, usize) {
        let state = lock(&self.state);
        (state.entries.len(), state.bytes)
    }
}

/// The matchers in use on this instance, each distinct pattern once.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    state: Mutex<RegistryState>,
    /// Subscriptions open on this instance.
    pub(crate) subscribers: std::sync::atomic::AtomicUsize,
}

#[derive(Debug, Default)]
struct RegistryState {
    by_pattern: HashMap<PatternKey, (Registered, usize)>,
    /// Every registered matcher, for the pump (copied on change).
    live: Arc<[Registered]>,
    next: u64,
}

/// A pattern as the registry keys it.
type PatternKey = (MatchType, Box<str>);

/// A matcher as a subscription holds it: its registry id and itself.
#[derive(Debug, Clone)]
pub(crate) struct Registered {
    pub(crate) id: u64,
    pub(crate) matcher: Arc<Matcher>,
}

impl Registry {
    /// Registers `matcher`, or counts one more user of the same pattern.
    pub(crate) fn register(&self, matcher: Matcher) -> Registered {
        let mut state = lock(&self.state);
        let key = (matcher.kind(), Box::<str>::from(matcher.pattern()));
        if let Some((existing, users)) = state.by_pattern.get_mut(&key) {
            *users += 1;
            return existing.clone();
        }
        let id = state.next;
        state.next += 1;
        let registered = Registered {
            id,
            matcher: Arc::new(matcher),
        };
        state.by_pattern.insert(key, (registered.clone(), 1));
        state.rebuild();
        registered
    }

    /// One user of `registered` fewer; the pattern goes with its last.
    pub(crate) fn release(&self, registered: &Registered) {
        let mut state = lock(&self.state);
        let key = (
            registered.matcher.kind(),
            Box::<str>::from(registered.matcher.pattern()),
        );
        let gone = match state.by_pattern.get_mut(&key) {
            Some((_, users)) => {
                *users -= 1;
                *users == 0
            }
            None => false,
        };
        if gone {
            state.by_pattern.remove(&key);
            state.rebuild();
        }
    }

    /// Every registered matcher, and the next id (invariant 2).
    pub(crate) fn snapshot(&self) -> (Arc<[Registered]>, u64) {
        let state = lock(&self.state);
        (Arc::clone(&state.live), state.next)
    }

    /// Distinct patterns registered.
    pub(crate) fn len(&self) -> usize {
        lock(&self.state).by_pattern.len()
    }
}

impl RegistryState {
    fn rebuild(&mut self) {
        let mut live: Vec<_> = self
            .by_pattern
            .values()
            .map(|(registered, _)| registered.clone())
            .collect();
        live.sort_unstable_by_key(|r| r.id);
        self.live = live.into();
    }
}
