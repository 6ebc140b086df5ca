//! How long Redis may take: every round trip bounded by the timeout, and
//! the longest wait between two retries. A leaf below the rest of the
//! backend.

use std::time::Duration;

use super::RedisError;

/// The longest wait between two attempts to reconnect the pub/sub
/// connection or to resync a channel.
pub(super) const MAX_RETRY_WAIT: Duration = Duration::from_secs(1);

/// `future`, failing after `timeout`.
pub(super) async fn bounded<T>(
    timeout: Duration,
    future: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, RedisError> {
    match tokio::time::timeout(timeout, future).await {
        Ok(result) => result.map_err(RedisError::unavailable),
        Err(_) => Err(RedisError::timeout(timeout)),
    }
}
