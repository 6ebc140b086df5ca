//! Configuration and connecting: [`RedisBackendBuilder`] and its limits.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::ConnectionManagerConfig;
use redis::Script;

use super::lease::{run_leases, DEFAULT_LEASE_TTL};
use super::pubsub::run_pubsub;
use super::shared::{Counters, Shared};
use super::timing::{bounded, MAX_RETRY_WAIT};
use super::{RedisBackend, RedisError};
use crate::log::HistoryLimits;

/// How long one Redis round trip may take before the operation fails with
/// [`RedisErrorKind::Timeout`](super::RedisErrorKind::Timeout): 1 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// The default key prefix: `sse:`.
pub const DEFAULT_PREFIX: &str = "sse:";

impl RedisBackend {
    /// Configures a backend on the Redis server at `url`
    /// (`redis://[:password@]host:port[/db]`).
    pub fn builder(url: impl Into<String>) -> RedisBackendBuilder {
        RedisBackendBuilder {
            url: url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            history: HistoryLimits::default(),
            channel_max_idle: None,
            timeout: DEFAULT_TIMEOUT,
            lease_ttl: DEFAULT_LEASE_TTL,
        }
    }
}

/// Configures a [`RedisBackend`]; made by [`RedisBackend::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct RedisBackendBuilder {
    url: String,
    prefix: String,
    history: HistoryLimits,
    channel_max_idle: Option<Duration>,
    timeout: Duration,
    lease_ttl: Duration,
}

impl RedisBackendBuilder {
    /// The prefix of every key and pub/sub channel name (default
    /// [`DEFAULT_PREFIX`]), so that several hubs can share one Redis.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// All the history limits at once (default [`HistoryLimits::default`]),
    /// each as [`history_events`](Self::history_events),
    /// [`history_bytes`](Self::history_bytes) and
    /// [`history_max_age`](Self::history_max_age) say.
    pub fn history(mut self, limits: HistoryLimits) -> Self {
        self.history = HistoryLimits {
            events: limits.events.max(1),
            ..limits
        };
        self
    }

    /// The events of history kept per channel (default 1000; at least 1).
    /// Redis trims with `MAXLEN ~`, so a few more may be kept.
    pub fn history_events(mut self, events: usize) -> Self {
        self.history.events = events.max(1);
        self
    }

    /// The most bytes of recent frames each instance keeps per channel for
    /// its subscribers (default 1 MiB), with at most
    /// [`history_events`](Self::history_events) of them: how far one of its
    /// subscribers may fall behind before it gets the reset event. (The
    /// Redis stream is trimmed by count.)
    pub fn history_bytes(mut self, bytes: usize) -> Self {
        self.history.bytes = bytes;
        self
    }

    /// How long a channel's history is kept after its latest event (default:
    /// no limit). A client away longer gets the reset event.
    pub fn history_max_age(mut self, max_age: Duration) -> Self {
        self.history.max_age = Some(max_age);
        self
    }

    /// The slack each instance's log gives its subscribers in a burst
    /// (default 64 MiB, 10 s; `0` bytes for none), as
    /// [`HubBuilder::history_burst`](crate::HubBuilder::history_burst) says.
    pub fn history_burst(mut self, bytes: usize, age: Duration) -> Self {
        self.history.burst_bytes = bytes;
        self.history.burst_age = age;
        self
    }

    /// How long an ended channel is kept (default 10 minutes), as
    /// [`HubBuilder::ended_ttl`](crate::HubBuilder::ended_ttl) says: Redis
    /// expires its keys (`PEXPIRE`) that long after its end.
    pub fn ended_ttl(mut self, ttl: Duration) -> Self {
        self.history.ended_ttl = ttl;
        self
    }

    /// How long a channel's position is kept after its latest event
    /// (default: no limit). Per-user or per-session channels want it, so
    /// that Redis forgets the ones nobody uses; a channel forgotten starts a
    /// new epoch, and a client resuming across it gets the reset event.
    pub fn channel_max_idle(mut self, max_idle: Duration) -> Self {
        self.channel_max_idle = Some(max_idle);
        self
    }

    /// How long a producer's lease lasts without renewal (default
    /// [`DEFAULT_LEASE_TTL`]): a channel whose producer's instance is lost
    /// ends with an error within this plus a third of it. Each instance
    /// renews its producers' leases every third of it.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_millis(30));
        self
    }

    /// How long one Redis round trip may take (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects: one multiplexed connection for commands, one for pub/sub,
    /// and a task (on the current tokio runtime) that receives the live
    /// events and reconnects the pub/sub connection when it is lost.
    ///
    /// # Errors
    ///
    /// The URL is not a Redis URL, or Redis cannot be reached within the
    /// timeout.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn connect(self) -> Result<RedisBackend, RedisError> {
        let client = redis::Client::open(self.url.as_str()).map_err(RedisError::invalid_url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(MAX_RETRY_WAIT);
        let commands = bounded(
            self.timeout,
            client.get_connection_manager_with_config(config),
        )
        .await?;
        let (mut pubsub, messages) = bounded(self.timeout, client.get_async_pubsub())
            .await?
            .split();
        bounded(
            self.timeout,
            pubsub.subscribe(format!("{}cancel", self.prefix)),
        )
        .await?;
        let ms = |d: Option<Duration>| d.map_or(0, |d| d.as_millis().max(1));
        let shared = Arc::new(Shared {
            prefix: self.prefix,
            history_events: self.history.events,
            local_limits: HistoryLimits {
                max_age: None,
                ..self.history
            },
            log_ttl_ms: ms(self.history.max_age.max(self.channel_max_idle)),
            meta_ttl_ms: ms(self.channel_max_idle),
            timeout: self.timeout,
            commands,
            publish: Script::new(include_str!("publish.lua")),
            read: Script::new(include_str!("read.lua")),
            lease: Script::new(include_str!("lease.lua")),
            expire: Script::new(include_str!("expire.lua")),
            lease_ttl: self.lease_ttl,
            leased: Mutex::default(),
            cancel_hook: Mutex::default(),
            channels: Mutex::default(),
            pubsub: Mutex::new(Some(pubsub)),
            subscribing: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            runtime: tokio::runtime::Handle::current(),
            counters: Counters::default(),
        });
        let task = tokio::spawn(run_pubsub(Arc::clone(&shared), client, messages));
        let leases = tokio::spawn(run_leases(Arc::clone(&shared)));
        Ok(RedisBackend {
            shared,
            pubsub_task: task.abort_handle(),
            lease_task: leases.abort_handle(),
        })
    }
}
