//! Topics: one subscription follows many topics, selected by matchers,
//! with one resumable id; updates may be private; ids are the
//! publisher's (feature `topics`). The model is the Mercure protocol's,
//! and `sse hub` (sse-cli) is a Mercure hub on it, but nothing here is
//! HTTP: an axum or warp application serves a [`TopicSubscription`] as it
//! serves a [`Subscription`](crate::Subscription).
//!
//! A [`TopicHub`] runs on a [`Hub`] (in memory, or on Redis across
//! instances) and uses one of its channels to carry every update in one
//! order, hub-wide. Each instance reads that channel once, into a bounded
//! log of its own; its subscribers are positions in that log, filtered by
//! their matchers and their [`Access`]. Each distinct pattern is evaluated
//! once per update whatever the number of subscribers using it, and each
//! update is encoded once per instance.
//!
//! # Example
//!
//! ```
//! use futures_util::StreamExt;
//! use sse_hub::topics::{Access, Matcher, TopicHub, Update};
//! use sse_hub::{Hub, Resume};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let base = url::Url::parse("https://example.com/.well-known/mercure").unwrap();
//! let topics = TopicHub::builder(Hub::new(), base.clone()).build();
//!
//! let books = Matcher::url_pattern("/books/:id", &base).unwrap();
//! let mut reader = topics.subscribe(vec![books], Access::Public, Resume::Live).await.unwrap();
//!
//! let update = Update::new("https://example.com/books/1", "Dune").id("urn:isbn:9780441013593");
//! assert_eq!(topics.publish(update).await.unwrap(), "urn:isbn:9780441013593");
//! let secret = Update::new("https://example.com/books/2", "draft").private();
//! topics.publish(secret).await.unwrap();
//! topics.publish(Update::new("https://example.com/books/3", "Emma").id("3")).await.unwrap();
//!
//! // The private update is not for this reader.
//! let mut got = String::new();
//! while !got.contains("Emma") {
//!     got.push_str(std::str::from_utf8(reader.next().await.unwrap().as_bytes()).unwrap());
//! }
//! assert_eq!(got, "id: urn:isbn:9780441013593\ndata: Dune\n\nid: 3\ndata: Emma\n\n");
//! # });
//! ```

mod log;
mod matcher;
mod presence;
mod reader;
mod subscription;
mod update;

use std::sync::Arc;
use std::time::Duration;

use sse_codec::{EncodedFrame, Event};
use url::Url;

use self::log::{LocalLog, LogLimits, Registry};
use self::reader::{order, read_channel, Shared};
use self::subscription::Filter;
use self::update::{as_event, Envelope};
use crate::backend::Backend;
use crate::lock::lock;
use crate::resume::Resume;
use crate::Hub;

pub use self::matcher::{InvalidMatcher, MatchType, Matcher, Topic, MAX_PATTERN_LEN};
pub use self::presence::{REFRESH as PRESENCE_REFRESH, TTL as PRESENCE_TTL};
pub use self::subscription::{Access, TopicSubscription};
pub use self::update::{generate_id, Update, UpdateError, RESERVED_PATH, RESERVED_TYPE};

/// The hub channel a [`TopicHub`] uses by default.
pub const DEFAULT_CHANNEL: &str = "mercure";

/// The value a client sends to resume from the oldest update kept, and
/// that a resumed subscription reports when it cannot name one.
pub const EARLIEST: &str = "earliest";

/// How long [`TopicHub::publish`] waits for this instance to receive what
/// it published (one pub/sub message on Redis) before it answers anyway.
const PUBLISH_ECHO_WAIT: Duration = Duration::from_secs(2);

/// How long [`TopicHub::subscribe`] waits for the instance to have read the
/// hub's history after it started.
const READY_WAIT: Duration = Duration::from_secs(5);

/// Topics over a [`Hub`]: see the [module documentation](self).
///
/// Cloning shares it. Its reading task ends when the last clone is
/// dropped.
#[derive(Debug)]
pub struct TopicHub<B: Backend = crate::MemoryBackend> {
    shared: Arc<Shared<B>>,
    _tasks: Arc<AbortOnDrop>,
}

impl<B: Backend> Clone for TopicHub<B> {
    fn clone(&self) -> Self {
        TopicHub {
            shared: Arc::clone(&self.shared),
            _tasks: Arc::clone(&self._tasks),
        }
    }
}

/// The instance's tasks (reading the channel, refreshing presence), ended
/// with the last clone of the hub.
#[derive(Debug)]
struct AbortOnDrop(Vec<tokio::task::AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Configures a [`TopicHub`]; made by [`TopicHub::builder`].
#[derive(Debug)]
#[must_use]
pub struct TopicHubBuilder<B> {
    hub: Hub<B>,
    base: Url,
    channel: String,
    limits: LogLimits,
    reset: Event,
}

impl<B: Backend> TopicHub<B> {
    /// Topics over `hub`; `base` is the hub's public URL (Mercure's
    /// `https://<host>/.well-known/mercure`): relative topics and URL
    /// patterns resolve against it, and publishers may not write into its
    /// namespace.
    pub fn builder(hub: Hub<B>, base: Url) -> TopicHubBuilder<B> {
        TopicHubBuilder {
            hub,
            base,
            channel: DEFAULT_CHANNEL.to_owned(),
            limits: LogLimits {
                history: 1000,
                burst_bytes: 64 << 20,
                burst_age: Duration::from_secs(10),
            },
            reset: Event::builder()
                .event_type(crate::DEFAULT_RESET_TYPE)
                .build()
                .expect("a fixed event type is valid"),
        }
    }
}

impl<B: Backend> TopicHubBuilder<B> {
    /// The hub channel that carries the updates (default
    /// [`DEFAULT_CHANNEL`]); instances that share a Redis and a channel are
    /// one topic hub.
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// How many updates each instance keeps for subscribers that resume
    /// (default 1000). The hub's own history (on Redis, what an instance
    /// that starts reads) should be at least as long.
    pub fn history(mut self, updates: usize) -> Self {
        self.limits.history = updates;
        self
    }

    /// The slack for bursts (default 64 MiB, 10 s): past the history, each
    /// instance keeps updates that are younger than `age` while they take
    /// at most `bytes`, so that a subscriber that keeps up on average gets
    /// no reset in a burst.
    pub fn burst(mut self, bytes: usize, age: Duration) -> Self {
        self.limits.burst_bytes = bytes;
        self.limits.burst_age = age;
        self
    }

    /// The event a subscriber gets when it fell behind what its instance
    /// keeps, or when the hub's channel lost updates (default: type
    /// `reset`, empty data, no id).
    pub fn reset_event(mut self, event: Event) -> Self {
        self.reset = event;
        self
    }

    /// Starts reading the hub's channel: from the oldest event its history
    /// holds, then live.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (it spawns its reading task).
    pub fn build(self) -> TopicHub<B> {
        let shared = Arc::new(Shared {
            hub: self.hub,
            channel: self.channel,
            base: self.base,
            log: Arc::new(LocalLog::new(self.limits)),
            registry: Arc::new(Registry::default()),
            ready: tokio::sync::watch::channel(false).0,
            read_upto: tokio::sync::watch::channel((0, 0)).0,
            reset: EncodedFrame::from(self.reset),
            presence: Arc::new(presence::Presence::new(update::generate_id())),
        });
        let reader = tokio::spawn(read_channel(Arc::clone(&shared)));
        let refresher = tokio::spawn(presence::refresh(
            Arc::clone(&shared.presence),
            shared.hub.clone(),
            shared.channel.clone(),
        ));
        TopicHub {
            shared,
            _tasks: Arc::new(AbortOnDrop(vec![
                reader.abort_handle(),
                refresher.abort_handle(),
            ])),
        }
    }
}

/// Why [`TopicHub::publish`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError<E> {
    /// The update breaks a rule of the protocol; nothing was published.
    #[error(transparent)]
    Invalid(#[from] UpdateError),
    /// The hub's backend could not store it (Redis unreachable).
    #[error(transparent)]
    Backend(E),
}

/// Why [`TopicHub::subscribe`] failed: the instance has not read the hub's
/// history yet (Redis unreachable since it started). A server answers
/// 503; the client retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the hub's history is not read yet")]
pub struct NotReady;

impl<B: Backend> TopicHub<B> {
    /// Publishes `update` and returns its id (the one it has, or
    /// `urn:uuid:` and a random UUID).
    ///
    /// It answers once this instance has the update in its log (at once in
    /// memory; after one pub/sub message on Redis, or two seconds at
    /// most), so that a subscriber of this instance that resumes from the
    /// returned id finds it.
    ///
    /// # Errors
    ///
    /// [`PublishError::Invalid`] for an update that breaks a rule of the
    /// protocol ([`UpdateError`]), [`PublishError::Backend`] when the hub
    /// could not store it.
    pub async fn publish(&self, update: Update) -> Result<String, PublishError<B::Error>> {
        let envelope = update.into_envelope(&self.shared.base)?;
        self.send(envelope).await
    }

    /// Publishes a checked envelope, then waits for this instance to have
    /// it.
    async fn send(&self, envelope: Envelope) -> Result<String, PublishError<B::Error>> {
        let hub_id = self
            .shared
            .hub
            .publish(&self.shared.channel, as_event(&envelope))
            .await
            .map_err(PublishError::Backend)?;
        if let Some(published) = order(&hub_id) {
            let mut read = self.shared.read_upto.subscribe();
            let _ =
                tokio::time::timeout(PUBLISH_ECHO_WAIT, read.wait_for(|at| *at >= published)).await;
        }
        Ok(envelope.id)
    }

    /// Subscribes to the updates one of `selects` matches (any number of
    /// matchers) that `access` allows, starting where `from` says:
    /// [`Resume::Live`] for the next update, [`Resume::After`] an update's
    /// id for those after it, [`Resume::Oldest`] (Mercure's `earliest`)
    /// for every update the history keeps. An id the history does not
    /// hold starts live, and [`TopicSubscription::last_event_id`] says
    /// `earliest`.
    ///
    /// # Errors
    ///
    /// [`NotReady`] when the instance could not read the hub's history
    /// since it started (within five seconds).
    pub async fn subscribe(
        &self,
        selects: Vec<Matcher>,
        access: Access,
        from: Resume<'_>,
    ) -> Result<TopicSubscription, NotReady> {
        let mut ready = self.shared.ready.subscribe();
        if !*ready.borrow() {
            let waited = tokio::time::timeout(READY_WAIT, ready.wait_for(|ready| *ready)).await;
            if !matches!(waited, Ok(Ok(_))) {
                return Err(NotReady);
            }
        }
        let filter = Filter::new(selects, access, &self.shared.registry);
        let opened = self.shared.log.open(match from {
            Resume::Live => None,
            Resume::Oldest => Some(None),
            Resume::After(id) => Some(Some(id)),
        });
        let last_event_id = match from {
            Resume::Live => None,
            Resume::Oldest => Some(EARLIEST.into()),
            Resume::After(_) if opened.found.is_none() => Some(EARLIEST.into()),
            // The newest update before the first one sent that this
            // subscriber may read; never the id of one it may not.
            Resume::After(_) => Some(
                opened
                    .before
                    .iter()
                    .find(|e| matches!(e.what, log::What::Update(_)) && filter.authorized(e))
                    .map_or_else(|| EARLIEST.into(), |e| e.id.clone()),
            ),
        };
        Ok(TopicSubscription::new(
            Arc::clone(&self.shared.log),
            filter,
            opened.position,
            self.shared.reset.clone(),
            last_event_id,
        ))
    }

    /// The id of the newest update this instance has, if any.
    pub fn last_event_id(&self) -> Option<String> {
        self.shared.log.last_id().map(String::from)
    }

    /// The hub's public URL, which relative topics and patterns resolve
    /// against.
    pub fn base(&self) -> &Url {
        &self.shared.base
    }

    /// What this instance holds: subscriptions, updates kept, their bytes,
    /// and distinct patterns in use.
    pub fn stats(&self) -> TopicStats {
        let (updates, bytes) = self.shared.log.len_and_bytes();
        TopicStats {
            subscribers: self
                .shared
                .registry
                .subscribers
                .load(std::sync::atomic::Ordering::Relaxed),
            updates,
            bytes,
            patterns: self.shared.registry.len(),
        }
    }

    /// The hub it runs on.
    pub fn hub(&self) -> &Hub<B> {
        &self.shared.hub
    }

    /// Publishes one of the hub's own updates: like
    /// [`publish`](Self::publish), but its topics may be in the hub's
    /// namespace and its type may be `mercure` (Mercure's subscription
    /// events). Never give it a publisher's update.
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish), but for those two rules.
    pub async fn publish_own(&self, update: Update) -> Result<String, PublishError<B::Error>> {
        let envelope = update.into_own_envelope(&self.shared.base)?;
        self.send(envelope).await
    }

    /// Puts `key` with `value` among this instance's presence entries, seen
    /// by every instance ([`presence`](Self::presence)) while this one
    /// lives (see [`PRESENCE_TTL`]).
    ///
    /// # Errors
    ///
    /// The backend could not store it (it is kept here, and put again at
    /// the next refresh that finds the backend's copy gone).
    pub async fn presence_insert(&self, key: String, value: String) -> Result<(), B::Error> {
        let presence = &self.shared.presence;
        lock(&presence.local).insert(key.clone(), value.clone());
        let entries = [(key, value), presence::sentinel()];
        let backend = self.shared.hub.backend();
        backend
            .presence_put(
                &self.shared.channel,
                &presence.instance,
                &entries,
                presence::TTL,
            )
            .await
    }

    /// Removes `key` from this instance's presence entries.
    ///
    /// # Errors
    ///
    /// The backend could not remove it (it goes with this instance's set).
    pub async fn presence_remove(&self, key: &str) -> Result<(), B::Error> {
        let presence = &self.shared.presence;
        lock(&presence.local).remove(key);
        let backend = self.shared.hub.backend();
        backend
            .presence_remove(&self.shared.channel, &presence.instance, &[key.to_owned()])
            .await
    }

    /// Every instance's presence entries (in memory: this instance's), by
    /// key.
    ///
    /// # Errors
    ///
    /// The backend could not be reached.
    pub async fn presence(&self) -> Result<Vec<(String, String)>, B::Error> {
        let presence = &self.shared.presence;
        let listed = self
            .shared
            .hub
            .backend()
            .presence_list(&self.shared.channel)
            .await?;
        let mut entries: std::collections::BTreeMap<String, String> = match listed {
            None => lock(&presence.local).clone(),
            Some(listed) => listed
                .into_iter()
                .filter(|(_, key, _)| !key.is_empty())
                .map(|(_, key, value)| (key, value))
                .collect(),
        };
        // This instance's own, also those the backend missed.
        entries.extend(
            lock(&presence.local)
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        Ok(entries.into_iter().collect())
    }

    /// The presence entries of instances found gone (their set expired):
    /// each batch announced by one instance, once, at most
    /// [`PRESENCE_TTL`] plus two [`PRESENCE_REFRESH`] after the instance's
    /// last refresh.
    pub fn departed(&self) -> tokio::sync::broadcast::Receiver<Vec<(String, String)>> {
        self.shared.presence.departed.subscribe()
    }
}

/// What a [`TopicHub`] instance holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicStats {
    /// Subscriptions open on this instance.
    pub subscribers: usize,
    /// Updates kept (history and burst slack).
    pub updates: usize,
    /// Their bytes, roughly.
    pub bytes: usize,
    /// Distinct patterns in use by subscribers (each evaluated once per
    /// update).
    pub patterns: usize,
}
