//! The hub's metrics, through the `metrics` facade (feature `metrics`):
//! whatever recorder the application installs (Prometheus, `StatsD`, …)
//! receives them. Without the feature these functions do nothing.
//!
//! | name | kind | what |
//! |---|---|---|
//! | `sse_hub_subscribers` | gauge | subscribers connected now |
//! | `sse_hub_channels` | gauge | channels on this instance |
//! | `sse_hub_events_published_total` | counter | events published through this instance |
//! | `sse_hub_published_bytes_total` | counter | their encoded bytes |
//! | `sse_hub_events_replayed_total` | counter | events replayed to resuming clients |
//! | `sse_hub_resets_total` | counter | reset events sent |
//! | `sse_hub_subscribers_lagged_total` | counter | subscribers that fell further behind than history |
//! | `sse_hub_history_bytes` | gauge | bytes held in the channels' histories (what subscribers behind read) |
//! | `sse_hub_topic_subscribers` | gauge | topic subscriptions open (feature `topics`) |
//! | `sse_hub_topic_updates_total` | counter | updates this instance read from the topics' channel |

#[cfg(feature = "metrics")]
mod recorded {
    pub(crate) fn subscribers(delta: f64) {
        metrics::gauge!("sse_hub_subscribers").increment(delta);
    }

    pub(crate) fn channels(delta: f64) {
        metrics::gauge!("sse_hub_channels").increment(delta);
    }

    pub(crate) fn published(bytes: usize) {
        metrics::counter!("sse_hub_events_published_total").increment(1);
        metrics::counter!("sse_hub_published_bytes_total").increment(bytes as u64);
    }

    pub(crate) fn replayed(events: u64) {
        if events > 0 {
            metrics::counter!("sse_hub_events_replayed_total").increment(events);
        }
    }

    pub(crate) fn reset() {
        metrics::counter!("sse_hub_resets_total").increment(1);
    }

    pub(crate) fn lagged() {
        metrics::counter!("sse_hub_subscribers_lagged_total").increment(1);
    }

    pub(crate) fn history_bytes(delta: f64) {
        metrics::gauge!("sse_hub_history_bytes").increment(delta);
    }
    pub(crate) fn topic_subscribers(delta: f64) {
        metrics::gauge!("sse_hub_topic_subscribers").increment(delta);
    }
    pub(crate) fn topic_update() {
        metrics::counter!("sse_hub_topic_updates_total").increment(1);
    }

    /// See [`describe_metrics`](crate::describe_metrics).
    pub(crate) fn describe() {
        use metrics::{describe_counter, describe_gauge, Unit};
        describe_gauge!("sse_hub_subscribers", "Subscribers connected now.");
        describe_gauge!("sse_hub_channels", "Channels on this instance.");
        describe_counter!(
            "sse_hub_events_published_total",
            "Events published through this instance."
        );
        describe_counter!(
            "sse_hub_published_bytes_total",
            Unit::Bytes,
            "Encoded bytes of the events published through this instance."
        );
        describe_counter!(
            "sse_hub_events_replayed_total",
            "Events replayed to clients that resumed with Last-Event-ID."
        );
        describe_counter!(
            "sse_hub_resets_total",
            "Reset events sent: a client's last event ID was too old or unknown, or it fell behind."
        );
        describe_counter!(
            "sse_hub_subscribers_lagged_total",
            "Subscribers that fell further behind than the history and got the reset event."
        );
        describe_gauge!(
            "sse_hub_history_bytes",
            Unit::Bytes,
            "Encoded bytes held in the channels' histories, what subscribers that are behind read."
        );
        describe_gauge!(
            "sse_hub_topic_subscribers",
            "Topic subscriptions open on this instance."
        );
        describe_counter!(
            "sse_hub_topic_updates_total",
            "Updates this instance read from the topics' channel (each matched once here)."
        );
    }
}

#[cfg(not(feature = "metrics"))]
#[allow(dead_code)] // `replayed` is only counted with the feature
mod recorded {
    pub(crate) fn subscribers(_: f64) {}
    pub(crate) fn channels(_: f64) {}
    pub(crate) fn published(_: usize) {}
    pub(crate) fn replayed(_: u64) {}
    pub(crate) fn reset() {}
    pub(crate) fn lagged() {}
    pub(crate) fn history_bytes(_: f64) {}
    pub(crate) fn topic_subscribers(_: f64) {}
    pub(crate) fn topic_update() {}
}

pub(crate) use recorded::*;
