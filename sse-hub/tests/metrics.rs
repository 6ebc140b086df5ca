//! The hub's metrics, recorded by the Prometheus recorder for this thread
//! only: every reset a subscriber receives is counted, the ones in its
//! stream (it fell behind) as well as the ones at subscribe.
#![cfg(feature = "metrics")]

use futures_util::{FutureExt, StreamExt};
use sse_codec::Event;
use sse_hub::Hub;

fn value(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

#[test]
fn resets_are_counted_at_subscribe_and_in_the_stream() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        let hub = Hub::builder()
            .history_events(2)
            .history_burst(0, std::time::Duration::ZERO)
            .build();
        let mut behind = hub.subscribe("c", None).now_or_never().unwrap().unwrap();
        for n in 0..5 {
            let published = hub.publish("c", Event::new(n.to_string())).now_or_never();
            assert!(published.is_some());
        }
        // It fell out of the 2 events of history: the reset is in its stream.
        let chunk = behind.next().now_or_never().unwrap().unwrap();
        assert!(chunk.as_bytes().starts_with(b"event: reset\n"));
        // An unknown id: the reset at subscribe.
        let _lost = hub
            .subscribe("c", Some("nope"))
            .now_or_never()
            .unwrap()
            .unwrap();
    });
    let rendered = handle.render();
    assert_eq!(value(&rendered, "sse_hub_resets_total"), 2.0, "{rendered}");
    assert_eq!(
        value(&rendered, "sse_hub_subscribers_lagged_total"),
        1.0,
        "{rendered}"
    );
    assert_eq!(
        value(&rendered, "sse_hub_events_published_total"),
        5.0,
        "{rendered}"
    );
}
