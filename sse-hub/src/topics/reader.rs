//! The instance's one reader of the hub's channel, and what it shares
//! with the [`TopicHub`](super::TopicHub): from the oldest event of the
//! channel's history, then live, each event decoded once into the local
//! log, each pattern in use evaluated once against it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use sse_codec::{EncodedFrame, EventDecoder};
use url::Url;

use super::log::{Entry, LocalLog, Registry};
use super::matcher::Topic;
use super::update::Envelope;
use crate::backend::Backend;
use crate::resume::Resume;
use crate::{Hub, Subscription};

/// What the hub's handles and the reader share.
#[derive(Debug)]
pub(super) struct Shared<B> {
    pub(super) hub: Hub<B>,
    pub(super) channel: String,
    pub(super) base: Url,
    pub(super) log: Arc<LocalLog>,
    pub(super) registry: Arc<Registry>,
    /// True once the instance has read the channel's history.
    pub(super) ready: tokio::sync::watch::Sender<bool>,
    /// The order of the last channel event read (see [`order`]).
    pub(super) read_upto: tokio::sync::watch::Sender<(u64, u64)>,
    pub(super) reset: EncodedFrame,
    pub(super) presence: Arc<super::presence::Presence>,
}

/// A hub id as a position in the channel's order: `n` (in memory) is
/// `(0, n)`, `<epoch>-<seq>` (on Redis) is `(epoch, seq)`.
pub(super) fn order(hub_id: &str) -> Option<(u64, u64)> {
    match hub_id.split_once('-') {
        Some((epoch, seq)) => Some((epoch.parse().ok()?, seq.parse().ok()?)),
        None => Some((0, hub_id.parse().ok()?)),
    }
}

/// The instance's one reader of the hub's channel: from the oldest event
/// of its history, then live, each decoded once into the local log.
pub(super) async fn read_channel<B: Backend>(shared: Arc<Shared<B>>) {
    let mut subscription = loop {
        match shared.hub.subscribe(&shared.channel, Resume::Oldest).await {
            Ok(subscription) => break subscription,
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    };
    let mut decoder = EventDecoder::with_max_event_size(64 << 20);
    // What is ready now is the history: read it, then say so.
    while let Some(Some(chunk)) = subscription.next().now_or_never() {
        take(&shared, &mut decoder, &chunk);
    }
    shared.ready.send_replace(true);
    read_live(&shared, &mut decoder, &mut subscription).await;
}

async fn read_live<B: Backend>(
    shared: &Shared<B>,
    decoder: &mut EventDecoder,
    subscription: &mut Subscription,
) {
    while let Some(chunk) = subscription.next().await {
        take(shared, decoder, &chunk);
    }
}

/// Appends the events of `chunk` to the local log.
fn take<B: Backend>(shared: &Shared<B>, decoder: &mut EventDecoder, chunk: &EncodedFrame) {
    let mut upto = None;
    decoder.for_each_event(chunk.as_bytes(), |event| {
        let Ok(event) = event else { return };
        if let Some(at) = event.id().and_then(order) {
            upto = Some(at);
        }
        if event.event_type() == shared.hub.reset_type() {
            // The hub's reset: its backend lost events.
            shared.log.push(Entry::reset());
            return;
        }
        // An event that is not an envelope (someone else wrote into the
        // channel) is not an update.
        let Ok(envelope) = serde_json::from_str::<Envelope>(event.data()) else {
            return;
        };
        let Some(frame) = envelope.frame() else {
            return;
        };
        let topics = envelope
            .topics
            .iter()
            .map(|t| Topic::new(t, &shared.base))
            .collect();
        crate::metrics::topic_update();
        let entry = Entry::update(
            envelope.id,
            topics,
            envelope.private,
            frame,
            &shared.registry,
        );
        shared.log.push(entry);
    });
    if let Some(at) = upto {
        shared.read_upto.send_replace(at);
    }
}
