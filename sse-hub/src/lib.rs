//! Server-Sent Events broadcast: one publisher, many clients, every client
//! gets every event exactly once, and no slow client can grow the server's
//! memory.
//!
//! A [`Hub`] holds named channels (a topic, a user, a session: replay is
//! scoped to one channel). For each channel it
//!
//! - gives every published event an id (the next decimal integer, unless the
//!   event has one) and **encodes it once**: every subscriber's response
//!   body gets the same shared bytes ([`EncodedFrame`]);
//! - keeps a **bounded history** (by events and by bytes, [`HistoryLimits`])
//!   and replays, to a client reconnecting with `Last-Event-ID`, exactly the
//!   events it missed, then the live ones: no gap and no duplicate, even
//!   while events are being published;
//! - sends a **reset event** instead when the client's last id is older than
//!   the history or unknown (a server restart), so the page can reload its
//!   state: a gap is never silent;
//! - keeps each frame **once**, in the channel's log ([`FrameLog`](backend::FrameLog), the
//!   history): a subscriber is a position in it, so memory per subscriber
//!   is O(1) and publishing does no work per subscriber but waking it. A
//!   subscriber that falls further behind than the history gets the reset
//!   event in its stream, then the newest events. Publishing never waits
//!   for a subscriber.
//!
//! History and fan-out live behind the [`backend::Backend`] trait
//! (the [`backend`] module is for its implementers); [`MemoryBackend`] is
//! the default.
//!
//! # Example
//!
//! With [`sse-axum`](https://docs.rs/sse-axum) (or `sse-warp`), a
//! [`Subscription`] is the response's event stream:
//!
//! ```
//! use axum::{extract::State, routing::get, Router};
//! use sse_axum::{LastEventId, Sse};
//! use sse_hub::{Hub, Subscription};
//!
//! async fn events(State(hub): State<Hub>, LastEventId(last): LastEventId) -> Sse<Subscription> {
//!     let Ok(subscription) = hub.subscribe("news", last.as_deref()).await;
//!     Sse::new(subscription)
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let hub = Hub::new();
//! let _app: Router = Router::new().route("/events", get(events)).with_state(hub.clone());
//!
//! // Anywhere: the in-memory hub's `publish` never waits.
//! let Ok(id) = hub.publish("news", sse_codec::Event::new("hello")).await;
//! assert_eq!(id, "1");
//! # });
//! ```
//!
//! # Several server instances
//!
//! With the `redis` feature, [`redis::RedisBackend`] runs one hub across server
//! instances behind a load balancer: an event published on any instance
//! reaches the clients of all of them, and a client resumes on any
//! instance. The same guarantee holds (below); ids become `<epoch>-<seq>`.
//! `publish` and `subscribe` then fail with a typed error, within a bounded
//! time, when Redis is unreachable: answer a failed subscribe with 503.
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn run() -> Result<(), sse_hub::redis::RedisError> {
//! let backend = sse_hub::redis::RedisBackend::builder("redis://127.0.0.1:6379/").connect().await?;
//! let hub = sse_hub::Hub::builder().build_with(backend);
//! let id = hub.publish("news", sse_codec::Event::new("hello")).await?;
//! # drop(id); Ok(()) }
//! # #[cfg(feature = "redis")]
//! # let _ = run;
//! ```
//!
//! # Delivery guarantee
//!
//! Every event published on a channel reaches each of its subscribers in
//! order, as one of: delivered live; replayed after a reconnect (the client
//! sends its last event ID); or, if history no longer holds it when the
//! client reconnects (or while a subscriber is too far behind), announced by
//! the reset event. Nothing is ever dropped silently.

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod backend;
mod cancel;
mod end;
mod hub;
mod lock;
mod log;
mod memory;
mod metrics;
mod producer;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
mod resume;
mod stats;
mod subscription;
#[cfg(feature = "topics")]
#[cfg_attr(docsrs, doc(cfg(feature = "topics")))]
pub mod topics;

pub use crate::end::{ChannelStatus, End, END_TYPE};
pub use crate::hub::{Hub, HubBuilder, DEFAULT_RESET_TYPE};
pub use crate::log::HistoryLimits;
pub use crate::memory::MemoryBackend;
pub use crate::producer::{Cancelled, ProduceError, Producer, DROPPED};
pub use crate::resume::Resume;
pub use crate::stats::{ChannelStats, HubStats};
pub use crate::subscription::Subscription;
pub use sse_codec::EncodedFrame;

/// Describes the hub's metrics (their help texts and units) to the
/// installed `metrics` recorder; call it once after installing one. The
/// metrics, all prefixed `sse_hub_`: `subscribers` and `channels` (gauges),
/// `events_published_total`, `published_bytes_total`,
/// `events_replayed_total`, `resets_total`, `subscribers_lagged_total`
/// (counters), `history_bytes` (gauge).
#[cfg(feature = "metrics")]
pub fn describe_metrics() {
    crate::metrics::describe();
}

/// The crate's README, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
