//! [`FrameLog`]: a channel's recent frames, kept once, which every
//! subscriber reads at a position of its own ([`Reader`]).
//!
//! # BE ADVISED
//!
//! This replaced a queue per subscriber. With queues, publishing pushed the
//! frame into N queues under the channel's lock (O(N) work per publish,
//! publishers serialised behind it), and a subscriber that fell a queue's
//! worth behind for a moment (sharing the CPU in a burst) was cut off. Now a
//! subscriber's backlog is the part of the log after its position:
//!
//! 1. Publishing appends one entry and wakes the readers that wait (their
//!    wakers are taken under the lock and woken after it): no work per
//!    subscriber under the lock, and memory per subscriber is O(1).
//! 2. The log is bounded by [`HistoryLimits`]: it *is* the replay history.
//!    A reader is behind by at most what the log holds; one whose position
//!    was trimmed away gets the reset event in its stream (the latest id,
//!    so a reconnect resumes from there) and goes on from the newest entry.
//! 3. Positions count entries from 0 and never repeat; `first` is the
//!    position of the oldest entry kept, `first + entries.len()` the next.
//! 4. A reset entry (a backend found that frames owed to its subscribers
//!    are lost) is read like a frame, and rendered by the subscription with
//!    the hub's reset event.
//! 5. Entries are grouped into *segments* of consecutive frames, up to
//!    [`SEGMENT_BYTES`] (a reset is a segment of its own). A read never
//!    crosses a segment's end. A reader at the start of a closed segment
//!    takes the whole segment as one chunk, joined once by the first such
//!    reader and shared by all the others (no copy per subscriber); a
//!    reader in the middle of a segment, or in the one still filling, gets
//!    its range joined for it. Readers that fall behind in a burst read
//!    whole segments; readers that keep up read a few frames at a time.
//!    Joined segments cost at most the history's bytes once more.
//! 6. An end entry (the channel ended, [`End`]) is a frame that is a segment
//!    of its own, always the newest entry while the channel is ended, and
//!    never trimmed while it is: a reader that reads it has read
//!    everything, and its subscription finishes. A reader placed at the
//!    live end of an ended log is placed *at* the end entry, so that it
//!    reads it; one that resumes after it gets nothing to read
//!    ([`Replay::Ended`]). A frame pushed after the end opens the channel
//!    again (the end stays where it was in history).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use sse_codec::{ByteStr, EncodedFrame};

use crate::end::End;
use crate::lock::lock;
use crate::metrics;
use crate::resume::{Replay, Resume};

/// How much history each channel keeps: for replay, at most `events` events
/// and at most `bytes` encoded bytes, and, if `max_age` is set, no event
/// older than that; the oldest are dropped first.
///
/// Past those limits, a burst keeps its events for connected subscribers
/// (not for replay) while they are younger than `burst_age` and the whole
/// log holds at most `burst_bytes`: a subscriber that keeps up on average
/// never gets the reset event in a burst of up to `burst_bytes`, however
/// many events it has. That slack is shared by all the channel's
/// subscribers; it costs memory only while a burst is recent, and is given
/// back at the channel's next publish, or its next
/// [`prune`](crate::Hub::prune) or statistics. A subscriber that falls
/// further behind than the log gets the reset event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryLimits {
    /// The most events kept per channel.
    pub events: usize,
    /// The most encoded bytes kept per channel.
    pub bytes: usize,
    /// How long an event stays in history. With it, a channel nobody
    /// publishes to empties, and [`Backend::prune`](crate::backend::Backend::prune)
    /// can drop it: what per-user or per-session channels need.
    pub max_age: Option<Duration>,
    /// The most bytes a channel's log holds in a burst, counting each
    /// event's encoded bytes and its entry in the log; 0 for no slack.
    pub burst_bytes: usize,
    /// How long an event past the replay limits stays for the subscribers
    /// still reading it.
    pub burst_age: Duration,
    /// How long a channel is kept after its end
    /// ([`Hub::end`](crate::Hub::end)), for subscribers that come late or
    /// resume; then it is dropped, and unknown.
    pub ended_ttl: Duration,
}

impl Default for HistoryLimits {
    /// 1000 events and 1 MiB per channel for replay, kept however old; in
    /// a burst, up to 64 MiB for 10 seconds; an ended channel for 10
    /// minutes.
    fn default() -> Self {
        HistoryLimits {
            events: 1000,
            bytes: 1 << 20,
            max_age: None,
            burst_bytes: DEFAULT_BURST_BYTES,
            burst_age: DEFAULT_BURST_AGE,
            ended_ttl: DEFAULT_ENDED_TTL,
        }
    }
}

/// The default of [`HistoryLimits::burst_bytes`]: 64 MiB.
const DEFAULT_BURST_BYTES: usize = 64 << 20;

/// The default of [`HistoryLimits::ended_ttl`]: 10 minutes, for a reload,
/// a second tab, a phone that changed networks.
const DEFAULT_ENDED_TTL: Duration = Duration::from_secs(600);

/// The default of [`HistoryLimits::burst_age`]: 10 s, far longer than a
/// subscriber that keeps up on average needs to read a burst.
const DEFAULT_BURST_AGE: Duration = Duration::from_secs(10);

/// What an entry costs in the log beside its frame's bytes (counted in the
/// burst limit, so that a burst of tiny events is bounded too).
const ENTRY_OVERHEAD: usize = std::mem::size_of::<Entry>();

/// The most bytes of frames in one segment (invariant 5), and so in one
/// chunk a reader takes: fewer, larger chunks cost less in the HTTP layer
/// and the kernel than one chunk per frame. Only frames already in the log
/// are joined: no latency is added.
pub(crate) const SEGMENT_BYTES: usize = 64 * 1024;

/// Where a new subscriber starts: made by [`FrameLog::open`],
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

/// The recent frames of one channel, in order and bounded, read by every
/// subscriber at its own position: what a [`Backend`](crate::backend::Backend)
/// appends to and makes its subscriptions' [`Reader`]s from. Cloning shares
/// the log.
///
/// # Examples
///
/// ```
/// use sse_codec::{EncodedFrame, Event};
/// use sse_hub::backend::FrameLog;
/// use sse_hub::HistoryLimits;
///
/// let log = FrameLog::new(HistoryLimits::default());
/// let reader = log.reader_at_end();
/// log.push("1".into(), EncodedFrame::from(Event::builder().id("1").data("hi").build()?));
/// assert_eq!(log.len(), 1);
/// assert_eq!(log.readers(), 1);
/// # drop(reader);
/// # Ok::<(), sse_codec::InvalidField>(())
/// ```
#[derive(Clone, Debug)]
pub struct FrameLog {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Readers alive (subscribers connected).
    readers: AtomicUsize,
}

#[derive(Debug)]
struct State {
    limits: HistoryLimits,
    entries: VecDeque<Entry>,
    /// The position of `entries[0]` (invariant 3).
    first: u64,
    /// The encoded bytes of the frames in `entries`.
    bytes: usize,
    /// The segments of `entries`, oldest first (invariant 5); the first may
    /// start before `first` (partly trimmed).
    segments: VecDeque<Segment>,
    /// The id of the newest frame, even once trimmed away: what a reset
    /// carries.
    last_id: Option<ByteStr>,
    /// Readers waiting for the next entry.
    waiters: Vec<Waker>,
    /// Readers that fell out of the log (invariant 2).
    lagged: u64,
    /// Set while the newest entry is the channel's end (invariant 6).
    ended: Option<Ended>,
}

/// How and when a channel ended ([`FrameLog::ended`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    /// Why.
    pub end: End,
    /// The end event's id.
    pub id: ByteStr,
    /// When it was pushed.
    pub at: Instant,
}

#[derive(Debug)]
struct Entry {
    published: Instant,
    /// The frame's id; `None` for a reset.
    id: Option<ByteStr>,
    what: What,
}

#[derive(Debug)]
enum What {
    Frame(EncodedFrame),
    /// The hub's reset event, carrying this id (invariant 4).
    Reset(Option<ByteStr>),
    /// The channel's end event (invariant 6).
    End(EncodedFrame),
}

/// Consecutive entries read as one chunk (invariant 5).
#[derive(Debug)]
struct Segment {
    /// The position of its first entry.
    start: u64,
    /// The position after its last entry.
    end: u64,
    /// The encoded bytes of its frames.
    bytes: usize,
    /// No entry will be added to it.
    closed: bool,
    /// All its frames as one chunk, made by the first reader that reads it
    /// whole once it is closed.
    joined: Option<EncodedFrame>,
}

impl Entry {
    fn frame(&self) -> Option<EncodedFrame> {
        match &self.what {
            What::Frame(frame) => Some(frame.clone()),
            What::Reset(_) | What::End(_) => None,
        }
    }

    fn len(&self) -> usize {
        match &self.what {
            What::Frame(frame) | What::End(frame) => frame.len(),
            What::Reset(_) => 0,
        }
    }
}

impl FrameLog {
    /// An empty log bounded by `limits`.
    pub fn new(limits: HistoryLimits) -> Self {
        FrameLog {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    limits,
                    entries: VecDeque::new(),
                    first: 0,
                    bytes: 0,
                    segments: VecDeque::new(),
                    last_id: None,
                    waiters: Vec::new(),
                    lagged: 0,
                    ended: None,
                }),
                readers: AtomicUsize::new(0),
            }),
        }
    }

    /// Appends `frame`, whose event id is `id`, trims the oldest entries
    /// past the limits, and wakes the readers that wait. Does no work per
    /// reader beyond waking it. After the channel's end, it opens the
    /// channel again (invariant 6).
    pub fn push(&self, id: ByteStr, frame: EncodedFrame) {
        self.push_entry(Some(id.clone()), What::Frame(frame), Some(id), None);
    }

    /// Appends the channel's end (`end`, with id `id`): every reader gets
    /// it after the frames before it, and then nothing more; it stays in
    /// the log, and is replayed, until the channel is dropped or a frame
    /// is pushed after it.
    pub fn push_end(&self, id: ByteStr, end: End) {
        let frame = end.frame(Some(id.clone()));
        self.push_end_frame(id, frame, end);
    }

    /// [`push_end`](Self::push_end) with the end event already encoded
    /// (`frame`, an event of type [`END_TYPE`](crate::END_TYPE) whose data
    /// is [`End::to_json`]): for a backend that receives it from elsewhere.
    pub fn push_end_frame(&self, id: ByteStr, frame: EncodedFrame, end: End) {
        let ended = Ended {
            id: id.clone(),
            at: Instant::now(),
            end,
        };
        self.push_entry(Some(id.clone()), What::End(frame), Some(id), Some(ended));
    }

    /// Appends the hub's reset event carrying `last_id` (empty if `None`):
    /// for a backend that finds that frames owed to its subscribers are
    /// lost (its external log lost the channel's data). Every reader gets it
    /// in order; `last_id` becomes the log's latest id.
    pub fn push_reset(&self, last_id: Option<ByteStr>) {
        self.push_entry(None, What::Reset(last_id.clone()), last_id, None);
    }

    fn push_entry(
        &self,
        id: Option<ByteStr>,
        what: What,
        last_id: Option<ByteStr>,
        ended: Option<Ended>,
    ) {
        let waiters = {
            let mut state = lock(&self.shared.state);
            let entry = Entry {
                published: Instant::now(),
                id,
                what,
            };
            state.bytes += entry.len();
            metrics::history_bytes(entry.len() as f64);
            state.segment(&entry);
            state.entries.push_back(entry);
            state.last_id = last_id;
            state.ended = ended;
            state.trim(self.readers());
            let capacity = state.waiters.len();
            std::mem::replace(&mut state.waiters, Vec::with_capacity(capacity))
        };
        for waker in waiters {
            waker.wake();
        }
    }

    /// A reader of the entries pushed from now on.
    pub fn reader_at_end(&self) -> Reader {
        let state = lock(&self.shared.state);
        self.reader(state.live())
    }

    /// Where a subscriber starting at `from` starts, found in this log as
    /// [`Hub::subscribe`](crate::Hub::subscribe) describes (the reset event
    /// first when the id is not in the log), in one step with respect to
    /// [`push`](Self::push): every entry is either read by the new reader or
    /// was before its position, never both, never neither.
    pub fn open(&self, from: Resume<'_>) -> Start {
        let mut state = lock(&self.shared.state);
        state.trim(self.readers());
        let at = match from {
            Resume::Live => state.live(),
            Resume::Oldest => state.replay_first(),
            // Resumed after the end: nothing will come.
            Resume::After(id) if state.ended.as_ref().is_some_and(|e| e.id == id) => {
                return Start::new(Replay::Ended(Vec::new()), self.reader(state.end()));
            }
            Resume::After(id) => {
                match state.position(id).filter(|&at| at >= state.replay_first()) {
                    Some(at) => at + 1,
                    // The latest event, dropped from the log by the byte limit.
                    None if state.last_id.as_deref() == Some(id) => state.live(),
                    None => {
                        let last_id = state.last_id.clone();
                        return Start::new(
                            Replay::Reset {
                                last_id,
                                then: Vec::new(),
                            },
                            self.reader(state.live()),
                        );
                    }
                }
            }
        };
        Start::new(Replay::Missed(Vec::new()), self.reader(at))
    }

    fn reader(&self, next: u64) -> Reader {
        self.shared.readers.fetch_add(1, Ordering::Relaxed);
        metrics::subscribers(1.0);
        Reader {
            shared: Arc::clone(&self.shared),
            next,
            waker: None,
        }
    }

    /// Readers alive: the subscribers connected.
    pub fn readers(&self) -> usize {
        self.shared.readers.load(Ordering::Relaxed)
    }

    /// Frames in the log (after dropping those older than the age limit).
    pub fn len(&self) -> usize {
        let mut state = lock(&self.shared.state);
        state.trim(self.readers());
        state.entries.len()
    }

    /// Whether the log holds no entry (after dropping those older than the
    /// age limit).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoded bytes of the frames in the log.
    pub fn bytes(&self) -> usize {
        lock(&self.shared.state).bytes
    }

    /// The id of the newest frame, even if trimmed away.
    pub fn last_id(&self) -> Option<ByteStr> {
        lock(&self.shared.state).last_id.clone()
    }

    /// Readers that fell out of the log and were sent the reset event.
    pub fn lagged(&self) -> u64 {
        lock(&self.shared.state).lagged
    }

    /// How the channel ended, while its newest entry is its end.
    pub fn ended(&self) -> Option<Ended> {
        lock(&self.shared.state).ended.clone()
    }

    /// When the channel ended, while its newest entry is its end (what
    /// [`ended`](Self::ended) says, without a copy).
    pub(crate) fn ended_at(&self) -> Option<Instant> {
        lock(&self.shared.state)
            .ended
            .as_ref()
            .map(|ended| ended.at)
    }
}

impl State {
    fn end(&self) -> u64 {
        self.first + self.entries.len() as u64
    }

    /// Where a reader of what comes next starts: the end of the log, or,
    /// once the channel has ended, its end entry (invariant 6).
    fn live(&self) -> u64 {
        self.end() - u64::from(self.ended.is_some())
    }

    /// Drops the oldest entries while the log is over a limit; while
    /// `readers` read it, the newest entry stays whatever its size (or a
    /// limit of 0 events), so that it reaches them: the memory held is then
    /// the limits plus one event. Past the replay limits, entries younger
    /// than the burst age stay while the log is within the burst bytes and
    /// someone reads it.
    fn trim(&mut self, readers: usize) {
        let limits = self.limits;
        let expired = |entry: &Entry| {
            limits
                .max_age
                .is_some_and(|age| entry.published.elapsed() >= age)
        };
        let keep = usize::from(readers > 0);
        while let Some(oldest) = self.entries.front() {
            if self.ended.is_some() && self.entries.len() == 1 {
                break; // the end stays (invariant 6)
            }
            let over = self.over_replay_limits();
            let newest_kept = self.entries.len() <= keep;
            let in_burst = readers > 0
                && self.bytes + self.entries.len() * ENTRY_OVERHEAD <= limits.burst_bytes
                && oldest.published.elapsed() < limits.burst_age;
            if (!over || newest_kept || in_burst) && !expired(oldest) {
                break;
            }
            self.bytes -= oldest.len();
            metrics::history_bytes(-(oldest.len() as f64));
            self.entries.pop_front();
            self.first += 1;
        }
        while self.segments.front().is_some_and(|s| s.end <= self.first) {
            self.segments.pop_front();
        }
    }

    /// Whether the log holds more than replay may use.
    fn over_replay_limits(&self) -> bool {
        self.entries.len() > self.limits.events || self.bytes > self.limits.bytes
    }

    /// The position of the oldest entry replay may use: past the replay
    /// limits, the older entries are a burst's, kept for the readers
    /// already behind, not for a client that resumes.
    fn replay_first(&self) -> u64 {
        if !self.over_replay_limits() {
            return self.first;
        }
        let (mut events, mut bytes) = (0, 0);
        let within = self.entries.iter().rev().take_while(|entry| {
            events += 1;
            bytes += entry.len();
            events <= self.limits.events && bytes <= self.limits.bytes
        });
        self.end() - within.count() as u64
    }

    /// Adds `entry`, about to be pushed, to the segment still filling or to
    /// a new one (invariant 5).
    fn segment(&mut self, entry: &Entry) {
        let at = self.end();
        let len = entry.len();
        // A reset or an end is a closed segment of its own.
        let is_frame = matches!(entry.what, What::Frame(_));
        if let Some(open) = self.segments.back_mut().filter(|s| !s.closed) {
            if is_frame && open.bytes + len <= SEGMENT_BYTES {
                open.end += 1;
                open.bytes += len;
                return;
            }
            open.closed = true;
        }
        self.segments.push_back(Segment {
            start: at,
            end: at + 1,
            bytes: len,
            closed: !is_frame,
            joined: None,
        });
    }

    /// The position of the frame with id `id`.
    fn position(&self, id: &str) -> Option<u64> {
        let is = |entry: &Entry| entry.id.as_deref() == Some(id);
        // Ids the hub gave count from 1 with the positions, while no
        // publisher chose its own: try that arithmetic first, then scan
        // from the newest.
        if let Some(at) = id.parse::<u64>().ok().and_then(|n| n.checked_sub(1)) {
            let i = at
                .checked_sub(self.first)
                .and_then(|i| usize::try_from(i).ok());
            if i.and_then(|i| self.entries.get(i)).is_some_and(is) {
                return Some(at);
            }
        }
        let i = self.entries.iter().rposition(is)?;
        Some(self.first + i as u64)
    }
}

/// One subscriber's position in a [`FrameLog`]: what its subscription reads
/// after its replay. Dropping it unsubscribes.
#[derive(Debug)]
pub struct Reader {
    shared: Arc<Shared>,
    /// The position of the next entry to read.
    next: u64,
    /// The waker registered with the log, to register only once per wait.
    waker: Option<Waker>,
}

/// What a reader read.
pub(crate) enum Read {
    /// Whole frames, joined.
    Frames(EncodedFrame),
    /// The reset event with this id: the log lost what this reader was
    /// owed (it fell behind, or the backend said so).
    Reset(Option<ByteStr>),
    /// The channel's end event: nothing follows.
    End(EncodedFrame),
}

impl Reader {
    /// The next frames (up to the end of a segment, invariant 5) or reset, or
    /// `Pending` with the task registered for the next push.
    pub(crate) fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Read> {
        let mut state = lock(&self.shared.state);
        if self.next < state.first {
            // Fell out of the log (invariant 2).
            self.next = state.live();
            self.waker = None;
            state.lagged += 1;
            metrics::lagged();
            return Poll::Ready(Read::Reset(state.last_id.clone()));
        }
        if self.next >= state.end() {
            // `self.waker` is set while this reader's waker waits in the log
            // (a push takes them all): a second poll of the same task adds
            // nothing, so waiting costs O(1) per reader.
            if !self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                state.waiters.push(cx.waker().clone());
                self.waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        self.waker = None;
        let state = &mut *state;
        let next = self.next;
        let segment = state
            .segments
            .iter_mut()
            .rev()
            .find(|s| s.start <= next)
            .expect("every entry is in a segment");
        let index = |at: u64| usize::try_from(at - state.first).expect("within the log");
        let mut entries = state.entries.range(index(next)..index(segment.end));
        let first = entries.next().expect("the segment holds the next entry");
        let frame = match &first.what {
            What::Reset(last_id) => {
                self.next += 1;
                return Poll::Ready(Read::Reset(last_id.clone()));
            }
            What::End(frame) => {
                self.next += 1;
                return Poll::Ready(Read::End(frame.clone()));
            }
            What::Frame(frame) => frame,
        };
        let chunk = if segment.end == next + 1 {
            frame.clone()
        } else if segment.closed && segment.start == next {
            // Joined once, shared by every reader that starts here.
            let joined = segment.joined.get_or_insert_with(|| {
                let frames: Vec<EncodedFrame> = state
                    .entries
                    .range(index(next)..index(segment.end))
                    .filter_map(Entry::frame)
                    .collect();
                EncodedFrame::concat(&frames)
            });
            joined.clone()
        } else {
            let frames: Vec<EncodedFrame> = std::iter::once(frame.clone())
                .chain(entries.filter_map(Entry::frame))
                .collect();
            EncodedFrame::concat(&frames)
        };
        self.next = segment.end;
        Poll::Ready(Read::Frames(chunk))
    }

    /// The entries between this reader and the newest: its backlog.
    pub fn behind(&self) -> u64 {
        lock(&self.shared.state).end().saturating_sub(self.next)
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.shared.readers.fetch_sub(1, Ordering::Relaxed);
        metrics::subscribers(-1.0);
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let bytes = self.state.get_mut().map_or(0, |state| state.bytes);
        metrics::history_bytes(-(bytes as f64));
    }
}
