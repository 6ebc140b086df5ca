//! What the builder hands the connection: the request each attempt sends,
//! and the reconnection policy. Plain values, below both, so that the
//! builder only builds and the connection's state machine owns its state.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::Method;

/// The request of every connection attempt (the last event ID aside, which
/// the decoder knows).
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) client: reqwest::Client,
    pub(crate) method: Method,
    pub(crate) url: reqwest::Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
    /// Headers made anew for each attempt (a token that expires), added
    /// after `headers`.
    pub(crate) headers_with: Option<HeadersWith>,
}

/// When to reconnect, and when to give up.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    /// The reconnection time; a `retry` field from the server replaces it.
    pub(crate) retry: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) min_reconnect_delay: Duration,
    pub(crate) max_reconnects: Option<u32>,
    pub(crate) idle_timeout: Option<Duration>,
    /// Whether the request is sent again once an event has arrived
    /// ([`EventSourceBuilder::resend_after_events`](crate::EventSourceBuilder::resend_after_events)).
    pub(crate) resend_after_events: bool,
}

/// A function that makes the headers of each connection attempt.
#[derive(Clone)]
pub(crate) struct HeadersWith(pub(crate) Arc<dyn Fn() -> BoxFuture<HeaderMap> + Send + Sync>);

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl std::fmt::Debug for HeadersWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeadersWith(..)")
    }
}
