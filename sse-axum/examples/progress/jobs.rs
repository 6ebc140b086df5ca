//! The progress demo's job and its events, for the axum and warp examples
//! (and their tests): a simulated database batch update runs job after
//! job; each batch publishes a `progress` event (JSON data), and a
//! `finished` event ends each job. Every event gets the next decimal id.
//! The last [`HISTORY`] events are kept, so a client that reconnects with
//! `Last-Event-ID` gets exactly the events it missed, then the live ones,
//! with no gap and no duplicate.
//!
//! (The `sse-hub` crate will take over the history and fan-out.)

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::{self, Stream, StreamExt};
use sse_codec::Event;
use tokio::sync::broadcast;

/// Events kept for reconnecting clients.
pub(crate) const HISTORY: usize = 1000;
/// Batches per job, and rows per batch.
const BATCHES: u64 = 20;
const ROWS_PER_BATCH: u64 = 500;

/// The published events: the history and the live channel.
#[derive(Clone)]
pub(crate) struct Jobs {
    inner: Arc<Inner>,
}

struct Inner {
    /// (id, event), oldest first. Locked while publishing, so that a new
    /// subscriber's snapshot and subscription see the same instant.
    history: Mutex<(u64, VecDeque<(u64, Event)>)>,
    live: broadcast::Sender<(u64, Event)>,
}

impl Jobs {
    pub(crate) fn new() -> Self {
        let (live, _) = broadcast::channel(256);
        Jobs {
            inner: Arc::new(Inner {
                history: Mutex::new((0, VecDeque::new())),
                live,
            }),
        }
    }

    /// Publishes an event of `event_type` with the next id.
    fn publish(&self, event_type: &str, data: String) {
        let mut history = self.inner.history.lock().unwrap();
        history.0 += 1;
        let id = history.0;
        let event = Event::builder()
            .event_type(event_type)
            .id(id.to_string())
            .data(data)
            .build()
            .expect("fixed event type and integer id are valid");
        if history.1.len() == HISTORY {
            history.1.pop_front();
        }
        history.1.push_back((id, event.clone()));
        let _ = self.inner.live.send((id, event));
    }

    /// The events after `last` still in history, then the live ones.
    pub(crate) fn subscribe(
        &self,
        last: Option<u64>,
    ) -> impl Stream<Item = Event> + Send + 'static {
        let (missed, live) = {
            let history = self.inner.history.lock().unwrap();
            let missed: Vec<Event> = history
                .1
                .iter()
                .filter(|(id, _)| Some(*id) > last)
                .map(|(_, event)| event.clone())
                .collect();
            (missed, self.inner.live.subscribe())
        };
        // A subscriber that falls behind the channel ends its stream; it
        // reconnects with its Last-Event-ID and replays from history.
        let live = stream::unfold(live, |mut live| async move {
            let (_, event) = live.recv().await.ok()?;
            Some((event, live))
        });
        stream::iter(missed).chain(live)
    }

    /// Runs batch jobs forever, one batch every `step`.
    pub(crate) async fn run(self, step: Duration) {
        for job in 1.. {
            for batch in 1..=BATCHES {
                tokio::time::sleep(step).await;
                self.publish(
                    "progress",
                    format!(
                        "{{\"job\":{job},\"batch\":{batch},\"batches\":{BATCHES},\"rows\":{}}}",
                        batch * ROWS_PER_BATCH
                    ),
                );
            }
            self.publish(
                "finished",
                format!("job {job} done\n{} rows updated", BATCHES * ROWS_PER_BATCH),
            );
        }
    }
}
