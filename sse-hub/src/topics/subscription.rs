//! [`TopicSubscription`]: one subscriber's stream of updates, read from
//! the instance's log and filtered by its matchers and its access.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use sse_codec::EncodedFrame;

use super::log::{Entry, LocalLog, Read, Registered, Registry, What};
use super::matcher::Matcher;

/// Which private updates a subscriber may read: the rights its token
/// grants. Public updates reach every subscriber whose matchers select
/// them.
#[derive(Debug)]
#[non_exhaustive]
pub enum Access {
    /// Public updates only (no token, or a token without subscribe rights).
    Public,
    /// Also the private updates one of whose topics one of these matchers
    /// matches.
    Topics(Vec<Matcher>),
}

/// What a subscription holds of its access: its matchers, registered.
#[derive(Debug)]
pub(crate) enum Granted {
    Public,
    Topics(Vec<Registered>),
}

/// The filter of one subscriber: its matchers and its access, as
/// registered on the instance.
#[derive(Debug)]
pub(crate) struct Filter {
    pub(crate) selects: Vec<Registered>,
    pub(crate) granted: Granted,
    registry: Arc<Registry>,
}

impl Filter {
    pub(crate) fn new(selects: Vec<Matcher>, access: Access, registry: &Arc<Registry>) -> Filter {
        registry
            .subscribers
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        crate::metrics::topic_subscribers(1.0);
        let selects = selects.into_iter().map(|m| registry.register(m)).collect();
        let granted = match access {
            Access::Public => Granted::Public,
            Access::Topics(matchers) => {
                Granted::Topics(matchers.into_iter().map(|m| registry.register(m)).collect())
            }
        };
        Filter {
            selects,
            granted,
            registry: Arc::clone(registry),
        }
    }

    /// Whether the subscriber may read `entry` (a public update, a private
    /// one its access grants, or a reset).
    pub(crate) fn authorized(&self, entry: &Entry) -> bool {
        match &entry.what {
            What::Reset => true,
            What::Update(update) if !update.private => true,
            What::Update(update) => match &self.granted {
                Granted::Public => false,
                Granted::Topics(grants) => grants.iter().any(|g| update.matches(g.id, &g.matcher)),
            },
        }
    }

    /// The frame the subscriber gets for `entry`, if any.
    fn frame<'e>(&self, entry: &'e Entry, reset: &'e EncodedFrame) -> Option<&'e EncodedFrame> {
        match &entry.what {
            What::Reset => Some(reset),
            What::Update(update) => {
                let selected = self
                    .selects
                    .iter()
                    .any(|s| update.matches(s.id, &s.matcher));
                (selected && self.authorized(entry)).then_some(&update.frame)
            }
        }
    }
}

impl Drop for Filter {
    fn drop(&mut self) {
        self.registry
            .subscribers
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        crate::metrics::topic_subscribers(-1.0);
        for registered in &self.selects {
            self.registry.release(registered);
        }
        if let Granted::Topics(grants) = &self.granted {
            for registered in grants {
                self.registry.release(registered);
            }
        }
    }
}

/// A subscriber's stream of updates: those its matchers select and its
/// access allows, replayed from where it resumed, then live.
///
/// A [`Stream`] of [`EncodedFrame`]s (several ready frames joined into
/// one) that the framework adapters take as their event stream. It never
/// ends; dropping it unsubscribes. A subscriber that falls further behind
/// than the instance keeps gets the hub's reset event, then the newest
/// updates.
#[must_use = "streams do nothing unless polled"]
pub struct TopicSubscription {
    inner: Pin<Box<dyn Stream<Item = EncodedFrame> + Send>>,
    last_event_id: Option<Box<str>>,
}

impl std::fmt::Debug for TopicSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicSubscription")
            .field("last_event_id", &self.last_event_id)
            .finish_non_exhaustive()
    }
}

struct Reading {
    log: Arc<LocalLog>,
    filter: Filter,
    position: u64,
    tip: tokio::sync::watch::Receiver<u64>,
    reset: EncodedFrame,
}

impl TopicSubscription {
    pub(crate) fn new(
        log: Arc<LocalLog>,
        filter: Filter,
        position: u64,
        reset: EncodedFrame,
        last_event_id: Option<Box<str>>,
    ) -> Self {
        let tip = log.watch();
        let reading = Reading {
            log,
            filter,
            position,
            tip,
            reset,
        };
        let inner = futures_util::stream::unfold(reading, |mut r| async move {
            loop {
                // Mark the current tip seen before reading, so that an
                // append after the read wakes us.
                r.tip.borrow_and_update();
                match r.log.read(r.position) {
                    Read::Entries(entries, next) => {
                        r.position = next;
                        let frames: Vec<EncodedFrame> = entries
                            .iter()
                            .filter_map(|e| r.filter.frame(e, &r.reset).cloned())
                            .collect();
                        if !frames.is_empty() {
                            return Some((EncodedFrame::concat(&frames), r));
                        }
                    }
                    Read::Lagged(first) => {
                        r.position = first;
                        return Some((r.reset.clone(), r));
                    }
                    Read::Nothing => {
                        if r.tip.changed().await.is_err() {
                            return None;
                        }
                    }
                }
            }
        });
        TopicSubscription {
            inner: Box::pin(inner),
            last_event_id,
        }
    }

    /// For a subscriber that asked to resume: the id of the newest update
    /// it may read before the first one it gets, or `earliest` when there
    /// is none (the id it asked for is unknown, or gone). `None` for a
    /// subscriber that did not ask. A server sends it as the response's
    /// `Last-Event-ID` header, which lets a client detect a loss.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }
}

impl Stream for TopicSubscription {
    type Item = EncodedFrame;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EncodedFrame>> {
        self.inner.as_mut().poll_next(cx)
    }
}
