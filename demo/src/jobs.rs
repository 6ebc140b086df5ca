//! The progress demo's job and its events, for the axum and warp examples
//! (and their tests): a simulated database batch update runs job after
//! job; each batch publishes a `progress` event (JSON data), and a
//! `finished` event ends each job.
//!
//! The events go through an [`sse_hub::Hub`] channel, which numbers them,
//! encodes each once for every client and keeps the last [`HISTORY`]: a new
//! page gets that history, and a page that reconnects with `Last-Event-ID`
//! gets exactly the events it missed (or a `reset` event if they are gone),
//! then the live ones.

use std::time::Duration;

use sse_codec::Event;
use sse_hub::{Hub, Resume, Subscription};

/// Events kept for reconnecting clients.
pub const HISTORY: usize = 1000;
/// The hub channel the jobs publish on.
const CHANNEL: &str = "jobs";
/// Batches per job, and rows per batch.
const BATCHES: u64 = 20;
const ROWS_PER_BATCH: u64 = 500;

/// The jobs' events.
#[derive(Clone, Debug)]
pub struct Jobs {
    hub: Hub,
}

impl Default for Jobs {
    fn default() -> Self {
        Self::new()
    }
}

impl Jobs {
    /// A hub channel for the jobs, with [`HISTORY`] events of history.
    pub fn new() -> Self {
        Jobs {
            hub: Hub::builder().history_events(HISTORY).build(),
        }
    }

    /// Publishes an event of `event_type`; the hub gives it the next id.
    async fn publish(&self, event_type: &str, data: String) {
        let event = Event::builder()
            .event_type(event_type)
            .data(data)
            .build()
            .expect("a fixed event type is valid");
        let Ok(_) = self.hub.publish(CHANNEL, event).await;
    }

    /// The events after `last_event_id` (all of history for a new client),
    /// then the live ones.
    pub async fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        let from = last_event_id.map_or(Resume::Oldest, Resume::After);
        let Ok(subscription) = self.hub.subscribe(CHANNEL, from).await;
        subscription
    }

    /// Runs batch jobs forever, one batch every `step`.
    pub async fn run(self, step: Duration) {
        for job in 1.. {
            for batch in 1..=BATCHES {
                tokio::time::sleep(step).await;
                self.publish(
                    "progress",
                    format!(
                        "{{\"job\":{job},\"batch\":{batch},\"batches\":{BATCHES},\"rows\":{}}}",
                        batch * ROWS_PER_BATCH
                    ),
                )
                .await;
            }
            self.publish(
                "finished",
                format!("job {job} done\n{} rows updated", BATCHES * ROWS_PER_BATCH),
            )
            .await;
        }
    }
}
