//! [`RedisError`]: why the Redis backend could not publish or subscribe.

use std::fmt;
use std::time::Duration;

/// Why [`RedisBackend`](super::RedisBackend) could not publish, subscribe
/// or connect. Nothing was half done: a failed publish stored and sent
/// nothing (or, after a timeout, possibly everything: see
/// [`RedisErrorKind::Timeout`]), a failed subscribe registered nothing.
#[derive(Debug)]
pub struct RedisError {
    kind: RedisErrorKind,
    source: Option<redis::RedisError>,
}

/// What kind of failure a [`RedisError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisErrorKind {
    /// Redis did not answer within the backend's timeout
    /// ([`RedisBackendBuilder::timeout`](super::RedisBackendBuilder::timeout)):
    /// it is hung, overloaded, or the network is. A publish that timed out
    /// may still have been carried out; its id is unknown.
    Timeout,
    /// The connection failed or Redis answered with an error: it is down,
    /// restarting, or refused the command.
    Unavailable,
    /// The URL given to [`RedisBackend::builder`](super::RedisBackend::builder)
    /// is not a Redis URL.
    InvalidUrl,
    /// The event has an id of its own. On Redis every event's id is its
    /// position, `<epoch>-<seq>`, so that any instance can find it in the
    /// shared log: publish events without an id.
    EventHasId,
}

impl RedisError {
    /// What kind of failure this is.
    pub fn kind(&self) -> RedisErrorKind {
        self.kind
    }

    pub(crate) fn timeout(after: Duration) -> Self {
        RedisError {
            kind: RedisErrorKind::Timeout,
            source: Some(redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {after:?}"),
            ))),
        }
    }

    pub(crate) fn unavailable(source: redis::RedisError) -> Self {
        let kind = if source.is_timeout() {
            RedisErrorKind::Timeout
        } else {
            RedisErrorKind::Unavailable
        };
        RedisError {
            kind,
            source: Some(source),
        }
    }

    pub(crate) fn not_connected() -> Self {
        RedisError {
            kind: RedisErrorKind::Unavailable,
            source: None,
        }
    }

    pub(crate) fn invalid_url(source: redis::RedisError) -> Self {
        RedisError {
            kind: RedisErrorKind::InvalidUrl,
            source: Some(source),
        }
    }

    pub(crate) fn event_has_id() -> Self {
        RedisError {
            kind: RedisErrorKind::EventHasId,
            source: None,
        }
    }
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, &self.source) {
            (RedisErrorKind::Timeout, Some(source)) => write!(f, "redis timed out: {source}"),
            (RedisErrorKind::Timeout, None) => f.write_str("redis timed out"),
            (RedisErrorKind::Unavailable, Some(source)) => {
                write!(f, "redis unavailable: {source}")
            }
            (RedisErrorKind::Unavailable, None) => {
                f.write_str("redis unavailable: not connected")
            }
            (RedisErrorKind::InvalidUrl, _) => f.write_str("not a redis URL"),
            (RedisErrorKind::EventHasId, _) => f.write_str(
                "the event has an id; on redis each event's id is its position: publish it without one",
            ),
        }
    }
}

impl std::error::Error for RedisError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|s| s as _)
    }
}
