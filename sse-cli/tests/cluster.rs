//! The several-instances example, for real: a Redis, three `sse serve
//! --redis` processes, nginx balancing them round robin with the example's
//! own configuration (`examples/cluster/nginx.conf`), and a page in headless
//! Chromium whose `EventSource` goes through nginx. The instance serving the
//! page is killed; the browser reconnects through nginx to another one and
//! its ids stay consecutive: no gap, no duplicate.
//!
//! Needs Debian's `redis-server`, `nginx` and `chromium` (`.ci/run` installs
//! them); without one, the test fails under CI and is skipped, loudly,
//! elsewhere.

use std::time::{Duration, Instant};

use axum::routing::post;
use axum::Router;
use test_support::servers::{chromium_or_skip, Browser, Nginx, RedisServer};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

mod support;
use support::start_serve;

/// The page: what its `EventSource` sees, sent back (POST) one report at a time
/// (`n` orders them, since the POSTs may overtake each other).
const PAGE: &str = r#"<!doctype html>
<script>
let n = 0;
const report = (body) => fetch('/report', { method: 'POST', body: JSON.stringify({ n: n++, ...body }) });
const source = new EventSource('/');
source.onopen = () => report({ open: true });
source.onmessage = (e) => report({ id: e.lastEventId, data: e.data });
source.onerror = () => report({ error: true });
</script>
"#;

/// Established TCP connections whose local port is `port` (nginx's to an
/// instance, here: the page's stream).
fn connections_to(port: u16) -> usize {
    let out = std::process::Command::new("ss")
        .args([
            "-Htn",
            "state",
            "established",
            &format!("( sport = :{port} )"),
        ])
        .output()
        .expect("run ss (iproute2)");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// The page's next report, within 30 s.
async fn next(reports: &mut mpsc::UnboundedReceiver<serde_json::Value>) -> serde_json::Value {
    tokio::time::timeout(Duration::from_secs(30), reports.recv())
        .await
        .expect("a report from the page within 30 s")
        .unwrap()
}

fn port_of(url: &str) -> u16 {
    url.trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_behind_nginx_keeps_its_stream_when_its_instance_is_killed() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let redis_url = redis.url();
    let mut instances = Vec::new();
    for _ in 0..3 {
        let (child, url, _stderr) = start_serve(&["--redis", &redis_url]).await;
        instances.push((child, port_of(&url)));
    }

    // The page's reports come back to the test through nginx.
    let (report_tx, mut reports) = mpsc::unbounded_channel::<serde_json::Value>();
    let report = Router::new().route(
        "/report",
        post(move |body: String| async move {
            let _ = report_tx.send(serde_json::from_str(&body).unwrap());
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let report_port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, report).await.unwrap() });

    let upstreams: String = instances
        .iter()
        .map(|(_, port)| format!("server 127.0.0.1:{port} max_fails=1 fail_timeout=10s; "))
        .collect();
    let template =
        include_str!("../examples/cluster/nginx.conf").replace("{upstreams}", &upstreams);
    let Some(nginx) = Nginx::start(&template, |dir| {
        std::fs::write(dir.join("page.html"), PAGE).unwrap();
        let extra = format!(
            "location = /page.html {{ root {}; }}\n\
             location = /favicon.ico {{ return 204; }}\n\
             location = /report {{ proxy_pass http://127.0.0.1:{report_port}; }}\n",
            dir.display()
        );
        std::fs::write(dir.join("extra.conf"), extra).unwrap();
    }) else {
        return;
    };
    let _browser = Browser::open(
        &chromium,
        &format!("http://127.0.0.1:{}/page.html", nginx.port()),
    );

    let opened = next(&mut reports).await;
    assert_eq!(opened["open"], true, "{opened}");
    // Which instance nginx sent the stream to.
    let start = Instant::now();
    let serving = loop {
        let busy: Vec<usize> = (0..3)
            .filter(|&i| connections_to(instances[i].1) > 0)
            .collect();
        if let [one] = busy[..] {
            break one;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "stream on {busy:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    // Another instance publishes 1..=60, every 40 ms; the serving one is
    // killed after the 20th event reached the page.
    const EVENTS: u64 = 60;
    let publisher = (serving + 1) % 3;
    let mut stdin = instances[publisher].0.stdin.take().unwrap();
    let publishing = tokio::spawn(async move {
        for n in 1..=EVENTS {
            stdin
                .write_all(format!("{{\"data\":\"{n}\"}}\n").as_bytes())
                .await
                .unwrap();
            stdin.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        stdin
    });
    let mut received = Vec::new();
    let mut errors = 0;
    // Report 0 was the `open`; stop when the last event and every report
    // before it arrived.
    let mut reported = std::collections::BTreeSet::from([0]);
    while !(received
        .iter()
        .any(|(_, _, data): &(u64, String, String)| data == &EVENTS.to_string())
        && reported.len() as u64 == reported.last().unwrap() + 1)
    {
        let report = next(&mut reports).await;
        let n = report["n"].as_u64().unwrap();
        reported.insert(n);
        if report["error"] == true {
            errors += 1;
        } else if let Some(data) = report["data"].as_str() {
            received.push((
                n,
                report["id"].as_str().unwrap().to_owned(),
                data.to_owned(),
            ));
            if data == "20" {
                instances[serving].0.kill().await.unwrap();
            }
        }
    }
    received.sort();
    let _stdin = publishing.await.unwrap();

    assert!(
        errors >= 1,
        "the page lost its connection when its instance died"
    );
    let data: Vec<&str> = received.iter().map(|(_, _, data)| data.as_str()).collect();
    let expected: Vec<String> = (1..=EVENTS).map(|n| n.to_string()).collect();
    assert_eq!(
        data, expected,
        "every event once, in order, across the kill"
    );
    let epoch = received[0].1.split_once('-').unwrap().0.to_owned();
    for (seq, (_, id, _)) in (1..).zip(&received) {
        assert_eq!(*id, format!("{epoch}-{seq}"));
    }
    let now_serving: Vec<usize> = (0..3)
        .filter(|&i| connections_to(instances[i].1) > 0)
        .collect();
    assert!(!now_serving.contains(&serving), "{now_serving:?}");
}
