//! Three `sse hub --redis` instances behind nginx (the cluster example's
//! configuration), judged by headless Chromium: Alice's page follows three
//! topics over one `EventSource`, one of them her private inbox read
//! through the `mercureAuthorization` cookie, while updates are published
//! to different instances. The instance serving her page is killed; her
//! browser reconnects through nginx to another, which resumes after her
//! last id from what it read of Redis. Her updates stay complete and in
//! order, the private ones included, and Bob's page (another browser,
//! another cookie, a pattern that also selects Alice's inbox) never sees
//! hers.
//!
//! Needs Debian's `redis-server`, `nginx` and `chromium` (`.ci/run`
//! installs them); without one, the test fails under CI and is skipped,
//! loudly, elsewhere.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::Router;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use test_support::servers::{chromium_or_skip, Browser, Nginx, RedisServer};
use tokio::sync::mpsc;

mod support;
use support::start_hub;

/// The page: `?user=NAME&token=JWT` puts the token in the cookie, then one
/// `EventSource` reports each update (`n` orders the reports).
const PAGE: &str = r#"<!doctype html>
<script>
const params = new URLSearchParams(location.search);
const user = params.get("user");
document.cookie = "mercureAuthorization=" + params.get("token") + "; path=/";
let n = 0;
const report = (body) => fetch("/report", { method: "POST", body: JSON.stringify({ user, n: n++, ...body }) });
const url = new URL("/.well-known/mercure", location.href);
for (const m of params.getAll("match")) url.searchParams.append("match", m);
for (const m of params.getAll("pattern")) url.searchParams.append("matchURLPattern", m);
const source = new EventSource(url);
source.onopen = () => report({ open: true });
source.onmessage = (e) => report({ id: e.lastEventId, data: e.data });
source.onerror = () => report({ error: true });
</script>
"#;

fn token(key: &[u8], mercure: &Value) -> String {
    let claims = json!({ "mercure": mercure });
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key),
    )
    .unwrap()
}

/// Established TCP connections whose local port is `port`.
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

async fn next(reports: &mut mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(30), reports.recv())
        .await
        .expect("a report from a page within 30 s")
        .unwrap()
}

/// The one instance with an open stream.
async fn serving(ports: &[u16]) -> usize {
    let start = Instant::now();
    loop {
        let busy: Vec<usize> = (0..ports.len())
            .filter(|&i| connections_to(ports[i]) > 0)
            .collect();
        if let [one] = busy[..] {
            return one;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "streams on {busy:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alices_page_keeps_every_update_in_order_across_a_killed_instance_and_bob_never_sees_hers()
{
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let redis_url = redis.url();
    let hub_url = "http://hub.test/.well-known/mercure";
    let mut instances = Vec::new();
    for _ in 0..3 {
        let (child, url, _stderr) = start_hub(&[
            "--redis",
            &redis_url,
            "--hub-url",
            hub_url,
            "--publisher-jwt-key",
            "publisher-key",
            "--subscriber-jwt-key",
            "subscriber-key",
        ])
        .await;
        let _ = url;
        instances.push(child);
    }
    // The banner names --hub-url; the ports come from the processes' sockets.
    let ports: Vec<u16> = {
        let mut ports = Vec::new();
        for child in &instances {
            let pid = child.id().unwrap();
            let out = std::process::Command::new("ss")
                .args(["-Htlnp"])
                .output()
                .unwrap();
            let listing = String::from_utf8_lossy(&out.stdout).into_owned();
            let line = listing
                .lines()
                .find(|l| l.contains(&format!("pid={pid},")))
                .expect("the instance listens");
            let local = line.split_whitespace().nth(3).unwrap();
            ports.push(local.rsplit(':').next().unwrap().parse().unwrap());
        }
        ports
    };

    let (report_tx, mut reports) = mpsc::unbounded_channel::<Value>();
    let report = Router::new().route(
        "/report",
        post(move |body: String| async move {
            let _ = report_tx.send(serde_json::from_str(&body).unwrap());
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let report_port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, report).await.unwrap() });
    let upstreams: String = ports
        .iter()
        .map(|port| format!("server 127.0.0.1:{port} max_fails=1 fail_timeout=10s; "))
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
    let page = |user: &str, token: &str, extra: &str| {
        format!(
            "http://127.0.0.1:{}/page.html?user={user}&token={token}&match=https://example.com/a&match=https://example.com/b{extra}",
            nginx.port()
        )
    };
    let alice_token = token(
        b"subscriber-key",
        &json!({ "subscribe": ["https://example.com/users/alice/{box}"] }),
    );
    let bob_token = token(
        b"subscriber-key",
        &json!({ "subscribe": ["https://example.com/users/bob/{box}"] }),
    );

    // Alice first, to learn which instance serves her; then Bob.
    let _alice = Browser::open(
        &chromium,
        &page(
            "alice",
            &alice_token,
            "&pattern=https://example.com/users/alice/:box",
        ),
    );
    assert_eq!(next(&mut reports).await["open"], true);
    let alices = serving(&ports).await;
    let _bob = Browser::open(
        &chromium,
        &page(
            "bob",
            &bob_token,
            "&pattern=https://example.com/users/:name/:box",
        ),
    );
    let opened = next(&mut reports).await;
    assert_eq!(
        (opened["user"].as_str(), opened["open"].as_bool()),
        (Some("bob"), Some(true)),
        "{opened}"
    );

    // 60 updates over four topics, published in turn to the two other
    // instances (never through the one that will die), 40 ms apart; Alice's
    // instance is killed once she has 15.
    let publisher_token = token(b"publisher-key", &json!({ "publish": ["*"] }));
    let others: Vec<u16> = (0..3).filter(|&i| i != alices).map(|i| ports[i]).collect();
    let topics = [
        ("https://example.com/a", false),
        ("https://example.com/users/alice/inbox", true),
        ("https://example.com/b", false),
        ("https://example.com/users/bob/inbox", true),
    ];
    const UPDATES: usize = 60;
    let publishing = tokio::spawn(async move {
        let client = reqwest::Client::new();
        for n in 0..UPDATES {
            let (topic, private) = topics[n % topics.len()];
            let mut form = vec![("topic", topic.to_owned()), ("data", format!("{n}"))];
            if private {
                form.push(("private", "on".to_owned()));
            }
            let to = format!("http://127.0.0.1:{}/.well-known/mercure", others[n % 2]);
            let response = client
                .post(&to)
                .bearer_auth(&publisher_token)
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "update {n}");
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    });
    let expected = |skip: &str| -> Vec<String> {
        (0..UPDATES)
            .filter(|n| topics[n % topics.len()].0 != skip)
            .map(|n| n.to_string())
            .collect()
    };
    let (alice_wants, bob_wants) = (
        expected("https://example.com/users/bob/inbox"),
        expected("https://example.com/users/alice/inbox"),
    );
    let mut received: BTreeMap<String, Vec<(u64, String, String)>> = BTreeMap::new();
    // Errors and opens after the first one: each a lost connection.
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut killed = false;
    let done = |received: &BTreeMap<String, Vec<(u64, String, String)>>| {
        let has_last = |user: &str, wants: &[String]| {
            received
                .get(user)
                .is_some_and(|r| r.iter().any(|(_, _, d)| Some(d) == wants.last()))
        };
        has_last("alice", &alice_wants) && has_last("bob", &bob_wants)
    };
    // Every report numbered below the last one seen, per page (the first
    // ones, the `open`s, are taken above).
    let mut seen: BTreeMap<String, std::collections::BTreeSet<u64>> = BTreeMap::new();
    seen.insert("alice".into(), [0].into());
    seen.insert("bob".into(), [0].into());
    let complete = |seen: &BTreeMap<String, std::collections::BTreeSet<u64>>| {
        seen.values()
            .all(|s| s.len() as u64 == s.last().unwrap() + 1)
    };
    while !(done(&received) && complete(&seen)) {
        let Ok(Some(report)) = tokio::time::timeout(Duration::from_secs(30), reports.recv()).await
        else {
            panic!("no report within 30 s; so far {received:?}, errors {errors:?}");
        };
        let user = report["user"].as_str().unwrap().to_owned();
        seen.get_mut(&user)
            .unwrap()
            .insert(report["n"].as_u64().unwrap());
        if report["error"] == true || report["open"] == true {
            *errors.entry(user).or_default() += 1;
        } else if let Some(data) = report["data"].as_str() {
            let list = received.entry(user.clone()).or_default();
            list.push((
                report["n"].as_u64().unwrap(),
                report["id"].as_str().unwrap().to_owned(),
                data.to_owned(),
            ));
            if user == "alice" && list.len() == 15 && !killed {
                instances[alices].start_kill().unwrap();
                killed = true;
            }
        }
    }
    publishing.await.unwrap();
    // Reports may overtake each other: order them by `n`.
    for list in received.values_mut() {
        list.sort();
    }
    assert!(killed);
    assert!(
        errors.get("alice").copied().unwrap_or(0) >= 1,
        "Alice's page lost its connection when its instance died"
    );
    let data =
        |user: &str| -> Vec<String> { received[user].iter().map(|(_, _, d)| d.clone()).collect() };
    assert_eq!(
        data("alice"),
        alice_wants,
        "Alice: every update of her topics once, in order, her private ones included"
    );
    assert_eq!(
        data("bob"),
        bob_wants,
        "Bob: his topics, never Alice's private updates"
    );
}
