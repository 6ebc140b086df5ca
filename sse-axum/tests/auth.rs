//! The auth example in headless Chromium with the real npm
//! `event-source-polyfill` (installed by `npm ci` in
//! `sse-axum/examples/auth`; `.ci/run` does it): two users' pages each get
//! only their own notifications, also across the polyfill's reconnections
//! and with a `lastEventId` taken from the other user's stream; requests
//! without a valid token get 401.

use std::collections::HashMap;
use std::time::Duration;

use axum::routing::{get, post};
use test_support::servers::{chromium_or_skip, Browser};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[path = "../examples/auth/app.rs"]
#[allow(dead_code)]
mod app;

/// A page that connects as the user of `?token=`, optionally resuming from
/// `?forge=` (an id), with a short heartbeat so that the polyfill
/// reconnects (with `?lastEventId=`) every 1.5 s, and reports each
/// notification to `/report`.
const PAGE: &str = r#"<!doctype html>
<script src="/eventsource.js"></script>
<script>
  const params = new URLSearchParams(location.search);
  const page = params.get('page');
  const forge = params.get('forge');
  const url = forge ? '/events?lastEventId=' + encodeURIComponent(forge) : '/events';
  const source = new EventSourcePolyfill(url, {
    headers: { Authorization: 'Bearer ' + params.get('token') },
    heartbeatTimeout: 1500,
  });
  source.onopen = () => {
    fetch('/report', { method: 'POST', body: JSON.stringify({ page, open: true }) });
  };
  source.addEventListener('notification', (e) => {
    const { from, text } = JSON.parse(e.data);
    fetch('/report', { method: 'POST', body: JSON.stringify({ page, id: e.lastEventId, from, text }) });
  });
</script>
"#;

fn polyfill_installed() -> bool {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/auth/node_modules/event-source-polyfill/src/eventsource.min.js"
    );
    let installed = std::path::Path::new(path).is_file();
    if !installed {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install the polyfill: npm ci --prefix sse-axum/examples/auth"
        );
        eprintln!("SKIPPED: run npm ci --prefix sse-axum/examples/auth; CI runs this test");
    }
    installed
}

/// The next report of a page, within 20 s.
async fn next(reports: &mut mpsc::UnboundedReceiver<serde_json::Value>) -> serde_json::Value {
    tokio::time::timeout(Duration::from_secs(20), reports.recv())
        .await
        .expect("a report within 20 s")
        .unwrap()
}

/// Bob sends Alice "for alice N" and Alice sends Bob "for bob N".
async fn notify_each_other(client: &reqwest::Client, base: &str, n: u32) {
    let alice = format!("for alice {n}");
    assert_eq!(
        notify(client, base, "bob-secret", "alice", &alice).await,
        202
    );
    let bob = format!("for bob {n}");
    assert_eq!(notify(client, base, "alice-secret", "bob", &bob).await, 202);
}

async fn notify(client: &reqwest::Client, base: &str, token: &str, to: &str, text: &str) -> u16 {
    client
        .post(format!("{base}/notify"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(serde_json::json!({ "to": to, "text": text }).to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_gets_only_their_own_notifications_in_chromium_with_the_polyfill() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    if !polyfill_installed() {
        return;
    }
    let (report_tx, mut reports) = mpsc::unbounded_channel::<serde_json::Value>();
    let shutdown = CancellationToken::new();
    let app = app::router(app::users(app::DEMO_TOKENS), shutdown.clone())
        .route("/test", get(|| async { axum::response::Html(PAGE) }))
        .route(
            "/report",
            post(move |body: String| async move {
                let _ = report_tx.send(serde_json::from_str(&body).unwrap());
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();

    // Without a valid token: 401, and no notification can be sent.
    let anonymous = client.get(format!("{base}/events")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = client
        .get(format!("{base}/events"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(notify(&client, &base, "guess", "alice", "x").await, 401);
    assert_eq!(
        notify(&client, &base, "alice-secret", "mallory", "x").await,
        404
    );

    // History before the pages open: ids 1 and 2 in each user's channel.
    for n in 1..=2 {
        notify_each_other(&client, &base, n).await;
    }
    // Alice's own page, Bob's, and a page with Alice's token resuming from
    // an id of Bob's stream ("1"): it names Alice's event 1, never Bob's.
    let _alice = Browser::open(
        &chromium,
        &format!("{base}/test?page=alice&token=alice-secret"),
    );
    let _bob = Browser::open(&chromium, &format!("{base}/test?page=bob&token=bob-secret"));
    let _forged = Browser::open(
        &chromium,
        &format!("{base}/test?page=forged&token=alice-secret&forge=1"),
    );
    let mut seen: HashMap<String, Vec<(u64, String)>> = HashMap::new();
    let mut opened = std::collections::HashSet::new();
    let mut record = |report: serde_json::Value, seen: &mut HashMap<String, Vec<(u64, String)>>| {
        let page = report["page"].as_str().unwrap().to_owned();
        if report["open"] == true {
            opened.insert(page);
            return opened.len();
        }
        let text = report["text"].as_str().unwrap().to_owned();
        let id: u64 = report["id"].as_str().unwrap().parse().unwrap();
        // Never anyone else's notification.
        let owner = if page == "bob" { "bob" } else { "alice" };
        assert!(
            text.starts_with(&format!("for {owner} ")),
            "{page} got {text:?}"
        );
        assert_ne!(
            report["from"].as_str().unwrap(),
            owner,
            "sent by the other user"
        );
        seen.entry(page).or_default().push((id, text));
        opened.len()
    };
    // Every page connected before the live notifications.
    while record(next(&mut reports).await, &mut seen) < 3 {}
    // Live notifications, sent across the polyfill's reconnections (every
    // 1.5 s without a heartbeat).
    for n in 3..=5 {
        notify_each_other(&client, &base, n).await;
        tokio::time::sleep(Duration::from_millis(1700)).await;
    }

    let complete = |seen: &HashMap<String, Vec<(u64, String)>>| {
        seen.get("alice").is_some_and(|v| v.len() >= 3)
            && seen.get("bob").is_some_and(|v| v.len() >= 3)
            && seen.get("forged").is_some_and(|v| v.len() >= 4)
    };
    while !complete(&seen) {
        record(next(&mut reports).await, &mut seen);
    }
    shutdown.cancel();
    for (page, got) in &mut seen {
        // The reports' POSTs may overtake each other: order them by id.
        got.sort();
        let total = got.len();
        got.dedup();
        assert_eq!(
            got.len(),
            total,
            "{page}: no duplicate across reconnections: {got:?}"
        );
    }
    // The forged page resumed after Alice's event 1: her 2 to 5.
    let forged: Vec<_> = seen["forged"].iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        forged,
        ["for alice 2", "for alice 3", "for alice 4", "for alice 5"]
    );
    let live: Vec<_> = seen["alice"].iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(live, ["for alice 3", "for alice 4", "for alice 5"]);
}
