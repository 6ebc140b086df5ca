//! The hub's configuration: [`Mercure`], its builder, and the limits.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap};
use sse_hub::backend::Backend;
use sse_hub::topics::TopicHub;

use super::auth::Key;

/// The path of a Mercure hub.
pub const PATH: &str = "/.well-known/mercure";

/// The most topics one update may have.
pub const MAX_TOPICS: usize = 64;

/// The longest `topic`, `id` or `type` field of an update, in bytes.
pub const MAX_FIELD_LEN: usize = sse_hub::topics::MAX_PATTERN_LEN;

/// The most topic matchers one subscribe request may have.
pub const MAX_MATCHERS: usize = 128;

/// The response header that names where a resumed subscription starts
/// (besides `Last-Event-ID`, which the protocol names too).
pub const MERCURE_LAST_EVENT_ID: &str = "mercure-last-event-id";

/// A Mercure hub's routes: see the [module documentation](crate::mercure).
/// Cloning shares it.
#[derive(Debug)]
pub struct Mercure<B: Backend> {
    pub(super) config: Arc<Config<B>>,
}

impl<B: Backend> Clone for Mercure<B> {
    fn clone(&self) -> Self {
        Mercure {
            config: Arc::clone(&self.config),
        }
    }
}

#[derive(Debug)]
pub(super) struct Config<B: Backend> {
    pub(super) topics: TopicHub<B>,
    pub(super) publisher: Option<Key>,
    pub(super) subscriber: Option<Key>,
    pub(super) issuer: Option<String>,
    pub(super) anonymous: bool,
    pub(super) publish_origins: Vec<String>,
    pub(super) max_body: usize,
    pub(super) keep_alive: Duration,
    pub(super) stop: Option<tokio::sync::watch::Receiver<bool>>,
    pub(super) drain: Option<Duration>,
    pub(super) subscriptions: bool,
    /// Also accept the request's own `http://<Host>/.well-known/mercure` as
    /// a token's audience.
    pub(super) audience_from_host: bool,
    /// Set once the task that announces departed subscriptions runs.
    pub(super) departed_started: std::sync::atomic::AtomicBool,
}

/// Configures [`Mercure`]; made by [`Mercure::builder`].
#[derive(Debug)]
#[must_use]
pub struct MercureBuilder<B: Backend> {
    config: Config<B>,
}

impl<B: Backend> Mercure<B> {
    /// The routes of a hub on `topics`, whose base URL is the hub's URL
    /// (the audience RFC 9068 tokens must name). With no key, nobody may
    /// publish and only anonymous subscribers are served.
    pub fn builder(topics: TopicHub<B>) -> MercureBuilder<B> {
        MercureBuilder {
            config: Config {
                topics,
                publisher: None,
                subscriber: None,
                issuer: None,
                anonymous: false,
                publish_origins: Vec::new(),
                max_body: 1 << 20,
                keep_alive: Duration::from_secs(15),
                stop: None,
                drain: None,
                subscriptions: false,
                audience_from_host: false,
                departed_started: std::sync::atomic::AtomicBool::new(false),
            },
        }
    }

    /// The topic hub it serves.
    pub fn topics(&self) -> &TopicHub<B> {
        &self.config.topics
    }
}

impl<B: Backend> MercureBuilder<B> {
    /// The key that verifies publishers' tokens.
    pub fn publisher_key(mut self, key: Key) -> Self {
        self.config.publisher = Some(key);
        self
    }

    /// The key that verifies subscribers' tokens.
    pub fn subscriber_key(mut self, key: Key) -> Self {
        self.config.subscriber = Some(key);
        self
    }

    /// Accept only tokens whose `iss` is `issuer` (default: `iss` is not
    /// checked).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.config.issuer = Some(issuer.into());
        self
    }

    /// Serve subscribers without a token (public updates only). Default:
    /// a token is required.
    pub fn anonymous(mut self, anonymous: bool) -> Self {
        self.config.anonymous = anonymous;
        self
    }

    /// Origins whose pages may publish with a token from a cookie (other
    /// cookie-carried publishes are refused, against cross-site request
    /// forgery).
    pub fn publish_origins(mut self, origins: Vec<String>) -> Self {
        self.config.publish_origins = origins;
        self
    }

    /// The largest publish body, in bytes (default 1 MiB); past it, 413.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.config.max_body = bytes;
        self
    }

    /// The interval of keep-alive comments (default 15 s).
    pub fn keep_alive(mut self, interval: Duration) -> Self {
        self.config.keep_alive = interval;
        self
    }

    /// Ends every subscription when `stop` becomes true (a server's
    /// shutdown), after a retry spread over `drain` if given.
    pub fn stop(
        mut self,
        stop: tokio::sync::watch::Receiver<bool>,
        drain: Option<Duration>,
    ) -> Self {
        self.config.stop = Some(stop);
        self.config.drain = drain;
        self
    }

    /// Track active subscriptions (the protocol's "Active Subscriptions";
    /// default off): a private subscription event of type `mercure` when
    /// each subscription starts and ends, and the subscriptions API at
    /// `/.well-known/mercure/subscriptions`, which lists every instance's
    /// (those of an instance that died go within
    /// [`PRESENCE_TTL`](sse_hub::topics::PRESENCE_TTL) plus two
    /// [`PRESENCE_REFRESH`](sse_hub::topics::PRESENCE_REFRESH), announced
    /// ended by one of the instances left).
    pub fn subscriptions(mut self, enabled: bool) -> Self {
        self.config.subscriptions = enabled;
        self
    }

    /// Also accept, as the audience of an RFC 9068 token, the hub URL of
    /// the request's own `Host` (`http://<Host>/.well-known/mercure`):
    /// for a hub whose public URL was not configured (default: only the
    /// topic hub's base URL).
    pub fn audience_from_host(mut self, enabled: bool) -> Self {
        self.config.audience_from_host = enabled;
        self
    }

    /// The routes ([`Mercure::router`]).
    pub fn build(self) -> Mercure<B> {
        Mercure {
            config: Arc::new(self.config),
        }
    }
}

impl<B: Backend> Config<B> {
    /// The audiences an RFC 9068 token may name: the hub's URL (and the
    /// one of the request's `Host`, if so configured).
    pub(super) fn audiences(&self, headers: &HeaderMap) -> Vec<String> {
        let mut audiences = vec![self.topics.base().to_string()];
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        if let Some(host) = host.filter(|_| self.audience_from_host) {
            audiences.push(format!("http://{host}{PATH}"));
        }
        audiences
    }
}
