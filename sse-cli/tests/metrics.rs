//! `sse serve --metrics-addr`: the hub's metrics in the Prometheus text
//! format, checked by Prometheus's own `promtool check metrics` (Debian's
//! `prometheus` package, which `.ci/run` installs), and moving as a client
//! connects and events are published.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::AsyncWriteExt;

mod support;
use support::{start_hub, start_serve, stderr_line_with};

/// The value of the sample `name` (no labels) in a Prometheus text body.
fn value(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_pass_promtool_and_move_with_clients_and_events() {
    let Some(promtool) = test_support::servers::program_or_skip("promtool", "prometheus") else {
        return;
    };
    let port = test_support::servers::free_port();
    let addr = format!("127.0.0.1:{port}");
    let (mut server, url, mut stderr) = start_serve(&[
        "--metrics-addr",
        &addr,
        "--history",
        "2",
        "--burst-bytes",
        "0",
    ])
    .await;
    stderr_line_with(&mut stderr, "metrics on").await;
    let metrics_url = format!("http://{addr}/metrics");
    let scrape = || async {
        reqwest::get(&metrics_url)
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };

    let mut stdin = server.stdin.take().unwrap();
    stdin.write_all(b"{\"data\":\"one\"}\n").await.unwrap();
    stdin.flush().await.unwrap();
    let mut client = test_support::connect(&url, None).await;
    let mut resumed = test_support::connect(&url, Some("1")).await;
    // One event at a time, each read by both clients before the next: with
    // a history of 2, a client that had not read "two" when "four" arrived
    // would (rightly) be cut off and reset, which this part does not test.
    for data in ["two", "three", "four"] {
        stdin
            .write_all(format!("{{\"data\":\"{data}\"}}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
        for stream in [&mut client, &mut resumed] {
            let event = tokio::time::timeout(
                Duration::from_secs(5),
                futures_util::StreamExt::next(stream),
            )
            .await
            .expect("each event within 5 s")
            .expect("an event")
            .unwrap();
            assert_eq!(event.data(), data);
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let body = scrape().await;

    // Prometheus's own checker accepts it (HELP on every metric, counters
    // ending in _total).
    promtool_accepts(&promtool, &body);
    assert!(body.contains("# HELP sse_hub_subscribers"), "{body}");

    // The values move.
    assert_eq!(value(&body, "sse_hub_subscribers"), Some(2.0), "{body}");
    assert_eq!(
        value(&body, "sse_hub_events_published_total"),
        Some(4.0),
        "{body}"
    );
    assert!(
        value(&body, "sse_hub_published_bytes_total").unwrap() > 40.0,
        "{body}"
    );
    assert_eq!(value(&body, "sse_hub_channels"), Some(1.0), "{body}");
    assert!(
        value(&body, "sse_hub_history_bytes").unwrap() > 0.0,
        "{body}"
    );
    // A client resuming from an id history no longer holds (history 2).
    drop(test_support::connect(&url, Some("1")).await);
    drop(client);
    drop(resumed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = scrape().await;
    assert_eq!(value(&body, "sse_hub_resets_total"), Some(1.0), "{body}");
    assert_eq!(value(&body, "sse_hub_subscribers"), Some(0.0), "{body}");
    server.kill().await.unwrap();
}

/// `promtool check metrics` on `body`.
fn promtool_accepts(promtool: &std::path::Path, body: &str) {
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let checked = check.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool: {}{}\n{body}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_hub_metrics_count_topic_subscribers_and_updates() {
    let Some(promtool) = test_support::servers::program_or_skip("promtool", "prometheus") else {
        return;
    };
    let port = test_support::servers::free_port();
    let addr = format!("127.0.0.1:{port}");
    // The publisher's token: HS256 with "key", {"mercure":{"publish":["*"]}}, signed by python3's hmac.
    let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtZXJjdXJlIjp7InB1Ymxpc2giOlsiKiJdfX0.DE8tA07o6y1jkvBLBCKBJkMNCLreFH09RVHeCl3Huy8";
    let (_hub, url, mut stderr) = start_hub(&[
        "--metrics-addr",
        &addr,
        "--publisher-jwt-key",
        "key",
        "--anonymous",
    ])
    .await;
    stderr_line_with(&mut stderr, "metrics on").await;
    let mut a = test_support::connect(&format!("{url}?match=t"), None).await;
    let mut b = test_support::connect(&format!("{url}?match=*"), None).await;
    for n in 0..3 {
        let published = reqwest::Client::new()
            .post(&url)
            .bearer_auth(token)
            .form(&[("topic", "t"), ("data", &format!("{n}"))])
            .send()
            .await
            .unwrap();
        assert_eq!(published.status(), 200);
        for stream in [&mut a, &mut b] {
            let event = tokio::time::timeout(
                Duration::from_secs(5),
                futures_util::StreamExt::next(stream),
            )
            .await
            .expect("each update within 5 s")
            .expect("an update")
            .unwrap();
            assert_eq!(event.data(), n.to_string());
        }
    }
    let body = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    promtool_accepts(&promtool, &body);
    assert_eq!(
        value(&body, "sse_hub_topic_subscribers"),
        Some(2.0),
        "{body}"
    );
    assert_eq!(
        value(&body, "sse_hub_topic_updates_total"),
        Some(3.0),
        "{body}"
    );
}
