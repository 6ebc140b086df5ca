//! A Mercure hub's routes for an axum application (feature `mercure`):
//! `GET /.well-known/mercure` to subscribe, `POST` to publish, as the
//! Mercure protocol (draft-dunglas-mercure) says, on
//! [`sse_hub::topics::TopicHub`], so in memory or across instances on
//! Redis. `sse hub` (sse-cli) is this router and a serving loop.
//!
//! # Example
//!
//! ```
//! use sse_axum::mercure::{Key, KeyAlgorithm, Mercure};
//! use sse_hub::topics::TopicHub;
//! use sse_hub::Hub;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let url = url::Url::parse("https://example.com/.well-known/mercure").unwrap();
//! let topics = TopicHub::builder(Hub::new(), url).build();
//! let secret = b"!ChangeThisMercureHubJWTSecretKey!";
//! let mercure = Mercure::builder(topics)
//!     .publisher_key(Key::new(KeyAlgorithm::Hs256, secret).unwrap())
//!     .subscriber_key(Key::new(KeyAlgorithm::Hs256, secret).unwrap())
//!     .anonymous(true)
//!     .build();
//! let app: axum::Router = axum::Router::new().merge(mercure.router());
//! # drop(app);
//! # });
//! ```
//!
//! # Limits
//!
//! A publish body is at most [`MercureBuilder::max_body`] bytes (1 MiB),
//! with at most [`MAX_TOPICS`] topics and fields of at most
//! [`MAX_FIELD_LEN`] bytes but `data`: past these, 413. A subscribe
//! request has at most [`MAX_MATCHERS`] matchers, each at most
//! [`MAX_PATTERN_LEN`](sse_hub::topics::MAX_PATTERN_LEN) bytes: past
//! these, 400.

mod auth;
mod publish;
mod subscribe;
mod subscriptions;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sse_hub::backend::Backend;
use sse_hub::topics::TopicHub;

use self::auth::Denied;
pub use self::auth::{InvalidKey, Key, KeyAlgorithm, COOKIE_NAMES};

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

/// A Mercure hub's routes: see the [module documentation](self).
/// Cloning shares it.
#[derive(Debug)]
pub struct Mercure<B: Backend> {
    config: Arc<Config<B>>,
}

impl<B: Backend> Clone for Mercure<B> {
    fn clone(&self) -> Self {
        Mercure {
            config: Arc::clone(&self.config),
        }
    }
}

#[derive(Debug)]
struct Config<B: Backend> {
    topics: TopicHub<B>,
    publisher: Option<Key>,
    subscriber: Option<Key>,
    issuer: Option<String>,
    anonymous: bool,
    publish_origins: Vec<String>,
    max_body: usize,
    keep_alive: Duration,
    stop: Option<tokio::sync::watch::Receiver<bool>>,
    drain: Option<Duration>,
    subscriptions: bool,
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
            },
        }
    }

    /// `GET` and `POST` on [`PATH`].
    ///
    /// With [`subscriptions`](MercureBuilder::subscriptions), also `GET`
    /// of the subscriptions API under it.
    pub fn router(self) -> axum::Router {
        let api = subscriptions::root();
        axum::Router::new()
            .route(
                PATH,
                get(subscribe::subscribe::<B>).post(publish::publish::<B>),
            )
            .route(&api, get(subscriptions::list::<B>))
            .route(&format!("{api}/{{*rest}}"), get(subscriptions::list::<B>))
            .with_state(self)
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

    /// The routes.
    ///
    /// # Panics
    ///
    /// With [`subscriptions`](Self::subscriptions), outside a Tokio runtime
    /// (it spawns the task that announces departed subscriptions).
    pub fn build(self) -> Mercure<B> {
        if self.config.subscriptions {
            tokio::spawn(subscriptions::announce_departed(self.config.topics.clone()));
        }
        Mercure {
            config: Arc::new(self.config),
        }
    }
}

impl<B: Backend> Config<B> {
    /// The audiences an RFC 9068 token may name: the hub's URL.
    fn audiences(&self) -> Vec<String> {
        vec![self.topics.base().to_string()]
    }
}

/// The answer to a refused request, with the `WWW-Authenticate` challenge
/// of RFC 6750 that the protocol asks for.
impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        let (status, challenge, message) = match self {
            Denied::NoToken => (StatusCode::UNAUTHORIZED, "Bearer", "a token is required"),
            Denied::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "Bearer error=\"invalid_token\"",
                "invalid token",
            ),
            Denied::Forbidden => (
                StatusCode::FORBIDDEN,
                "Bearer error=\"insufficient_scope\"",
                "the token does not grant this",
            ),
            Denied::BadRequest(why) => (
                StatusCode::BAD_REQUEST,
                "Bearer error=\"invalid_request\"",
                why,
            ),
        };
        (
            status,
            [(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            )],
            format!("{message}\n"),
        )
            .into_response()
    }
}

/// The pairs of an `application/x-www-form-urlencoded` text (a body or a
/// query), decoded; `None` when a name or value is not UTF-8 once
/// decoded (the protocol requires UTF-8: a 400, never a lossy guess).
fn form_pairs(text: &[u8]) -> Option<Vec<(String, String)>> {
    let decode = |part: &[u8]| -> Option<String> {
        let plus: Vec<u8> = part
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        let bytes: Vec<u8> = percent_encoding::percent_decode(&plus).collect();
        String::from_utf8(bytes).ok()
    };
    text.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            Some((decode(name)?, decode(value)?))
        })
        .collect()
}

/// A plain-text answer.
fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body.into(),
    )
        .into_response()
}
