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

mod answer;
mod auth;
mod config;
mod publish;
mod subscribe;
mod subscriptions;

use std::sync::atomic::Ordering;

use axum::routing::get;
use sse_hub::backend::Backend;

pub use self::auth::{InvalidKey, Key, KeyAlgorithm, COOKIE_NAMES};
pub use self::config::{
    Mercure, MercureBuilder, MAX_FIELD_LEN, MAX_MATCHERS, MAX_TOPICS, MERCURE_LAST_EVENT_ID, PATH,
};

impl<B: Backend> Mercure<B> {
    /// `GET` and `POST` on [`PATH`].
    ///
    /// With [`subscriptions`](MercureBuilder::subscriptions), also `GET`
    /// of the subscriptions API under it.
    ///
    /// # Panics
    ///
    /// With [`subscriptions`](MercureBuilder::subscriptions), outside a
    /// Tokio runtime (it spawns, once, the task that announces the
    /// subscriptions of instances that died as ended).
    pub fn router(self) -> axum::Router {
        let config = &self.config;
        if config.subscriptions && !config.departed_started.swap(true, Ordering::Relaxed) {
            tokio::spawn(subscriptions::announce_departed(config.topics.clone()));
        }
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
}
