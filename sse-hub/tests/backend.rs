//! The `Backend` trait from outside the crate: two hubs (two server
//! instances) on one shared log. Here the log is a `MemoryBackend` behind an
//! `Arc`, standing in for an external one such as Redis Streams; the hubs,
//! their subscriptions and the adapters do not change.

use std::sync::Arc;

use futures_util::{FutureExt, StreamExt};
use sse_codec::{ByteStr, Event};
use sse_hub::backend::{Backend, Start};
use sse_hub::{ChannelStats, ChannelStatus, End, Hub, HubStats, MemoryBackend, Resume};

mod support;
use support::{decode_all, Ready};

/// A backend that several hubs share.
struct SharedLog(Arc<MemoryBackend>);

impl Backend for SharedLog {
    type Error = std::convert::Infallible;

    async fn publish(&self, channel: &str, event: Event) -> Result<ByteStr, Self::Error> {
        self.0.publish(channel, event).await
    }

    async fn subscribe(&self, channel: &str, from: Resume<'_>) -> Result<Start, Self::Error> {
        self.0.subscribe(channel, from).await
    }

    async fn end(&self, channel: &str, end: End) -> Result<ByteStr, Self::Error> {
        self.0.end(channel, end).await
    }

    async fn status(&self, channel: &str) -> Result<ChannelStatus, Self::Error> {
        self.0.status(channel).await
    }

    fn channel_stats(&self, channel: &str) -> Option<ChannelStats> {
        self.0.channel_stats(channel)
    }

    fn stats(&self) -> HubStats {
        self.0.stats()
    }

    fn prune(&self) -> usize {
        self.0.prune()
    }
}

fn data(subscription: &mut sse_hub::Subscription) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while let Some(Some(chunk)) = subscription.next().now_or_never() {
        for event in decode_all(&chunk) {
            out.push((event.id().unwrap().to_owned(), event.data().to_owned()));
        }
    }
    out
}

#[test]
fn hubs_on_one_log_share_ids_history_and_subscribers() {
    let log = Arc::new(MemoryBackend::default());
    let a: Hub<SharedLog> = Hub::builder().build_with(SharedLog(Arc::clone(&log)));
    let b: Hub<SharedLog> = Hub::builder().build_with(SharedLog(log));

    let Ok(mut on_b) = b.subscribe("news", None).ready();
    let Ok(id) = a.publish("news", Event::new("from a")).ready();
    assert_eq!(id, "1");
    let Ok(id) = b.publish("news", Event::new("from b")).ready();
    assert_eq!(id, "2", "one id sequence for the channel");
    assert_eq!(
        data(&mut on_b),
        [("1".into(), "from a".into()), ("2".into(), "from b".into())]
    );

    // A client that saw event 1 through instance A resumes on instance B.
    let Ok(mut resumed) = b.subscribe("news", Some("1")).ready();
    assert_eq!(data(&mut resumed), [("2".into(), "from b".into())]);
    assert_eq!(a.stats().subscribers, 2);
}
