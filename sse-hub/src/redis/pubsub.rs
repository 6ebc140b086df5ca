//! The pub/sub task: receives every channel's live frames, makes the
//! connection again when it is lost (invariant 4), and sweeps idle
//! channels.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;

use super::local::Local;
use super::shared::Shared;
use super::timing::{bounded, MAX_RETRY_WAIT};
use super::RedisError;
use crate::lock::lock;

/// How often channels without local subscribers are dropped and
/// unsubscribed.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Receives the live frames of this instance's channels; when the
/// connection is lost, makes it again (see [`reconnect`]). Also drops idle
/// channels now and then.
pub(super) async fn run_pubsub(
    shared: Arc<Shared>,
    client: redis::Client,
    mut messages: redis::aio::PubSubStream,
) {
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    loop {
        loop {
            tokio::select! {
                message = next_message(&mut messages) => match message {
                    Some(message) if message.get_channel_name() == shared.cancel_name() => {
                        shared.on_cancel(&String::from_utf8_lossy(message.get_payload_bytes()));
                    }
                    Some(message) => {
                        shared.on_message(message.get_channel_name(), message.get_payload_bytes());
                    }
                    None => break,
                },
                _ = sweep.tick() => {
                    shared.prune();
                }
            }
        }
        *lock(&shared.pubsub) = None;
        shared.counters.reconnects.fetch_add(1, Ordering::Relaxed);
        let mut wait = Duration::from_millis(25);
        messages = loop {
            if let Ok(messages) = reconnect(&shared, &client).await {
                break messages;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_RETRY_WAIT);
        };
    }
}

/// Makes the pub/sub connection again, subscribes every channel again and
/// resyncs each (invariant 4).
async fn reconnect(
    shared: &Arc<Shared>,
    client: &redis::Client,
) -> Result<redis::aio::PubSubStream, RedisError> {
    let (mut sink, messages) = bounded(shared.timeout, client.get_async_pubsub())
        .await?
        .split();
    let _subscribing = shared.subscribing.lock().await;
    let locals: Vec<Arc<Local>> = lock(&shared.channels).values().cloned().collect();
    let mut names: Vec<String> = locals.iter().map(|l| shared.live_name(&l.name)).collect();
    names.push(shared.cancel_name());
    bounded(shared.timeout, sink.subscribe(names)).await?;
    *lock(&shared.pubsub) = Some(sink);
    shared.generation.fetch_add(1, Ordering::SeqCst);
    for local in locals {
        let joined = lock(&local.state).feed.fall_behind();
        if joined {
            shared.spawn_resync(local);
        }
    }
    Ok(messages)
}

async fn next_message(messages: &mut redis::aio::PubSubStream) -> Option<redis::Msg> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *messages).poll_next(cx)).await
}
