//! A publisher nobody here wrote: Symfony's Mercure component (Debian's
//! `php-symfony-mercure`, run by `php-cli`) publishes public and private
//! updates to `sse hub` through its `Hub` class with a JWT, and headless
//! Chromium's `EventSource`s receive what their tokens allow, and nothing
//! else: one page subscribes with Alice's token in the
//! `mercureAuthorization` cookie, one without a token.
//!
//! Needs Debian's `php-cli`, `php-symfony-mercure` and `chromium`
//! (`.ci/run` installs them); without one, the test fails under CI and is
//! skipped, loudly, elsewhere.

use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use test_support::servers::{chromium_or_skip, program_or_skip, Browser};
use tokio::sync::mpsc;

mod support;
use support::start_hub;

/// Two subscribers in one page, the same topics (every topic of
/// example.com), one with the cookie (`withCredentials`), one without;
/// each reports what it received once the marker came.
const PAGE: &str = r#"<!doctype html>
<script>
document.cookie = "mercureAuthorization={subscriber}; path=/";
const url = new URL("{hub}");
url.searchParams.append("matchURLPattern", "https://example.com/*");
const report = (body) => fetch("/report", { method: "POST", body: JSON.stringify(body) });
let opened = 0;
for (const [who, withCredentials] of [["alice", true], ["anonymous", false]]) {
  const es = new EventSource(url, { withCredentials });
  const received = [];
  const record = (e) => {
    if (e.data === "marker") { es.close(); report({ who, received }); return; }
    received.push({ type: e.type, id: e.lastEventId, data: e.data });
  };
  es.onmessage = record;
  es.addEventListener("book", record);
  es.onopen = () => { if (++opened === 2) report({ ready: true }); };
}
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

async fn next(reports: &mut mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(30), reports.recv())
        .await
        .expect("a report from the page within 30 s")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symfony_publishes_and_each_browser_gets_what_its_token_allows() {
    let Some(php) = program_or_skip("php", "php-cli") else {
        return;
    };
    if !std::path::Path::new("/usr/share/php/Symfony/Component/Mercure/Hub.php").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run this test: install Debian's php-symfony-mercure"
        );
        eprintln!("SKIPPED: no Symfony Mercure component (apt-get install php-symfony-mercure); CI runs this test");
        return;
    }
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let (report_tx, mut reports) = mpsc::unbounded_channel::<Value>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (_hub, hub, _) = start_hub(&[
        "--publisher-jwt-key",
        "publisher-key",
        "--subscriber-jwt-key",
        "subscriber-key",
        "--anonymous",
        "--cors-origins",
        &origin,
    ])
    .await;
    let page = PAGE.replace("{hub}", &hub).replace(
        "{subscriber}",
        &token(
            b"subscriber-key",
            &json!({ "subscribe": ["https://example.com/users/alice/{box}"] }),
        ),
    );
    let app = Router::new()
        .route(
            "/page.html",
            get(move || async move { axum::response::Html(page) }),
        )
        .route("/favicon.ico", get(|| async { "" }))
        .route(
            "/report",
            post(move |body: String| async move {
                let _ = report_tx.send(serde_json::from_str(&body).unwrap());
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let _browser = Browser::open(&chromium, &format!("{origin}/page.html"));
    assert_eq!(next(&mut reports).await, json!({ "ready": true }));

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/publish.php");
    let publisher = token(
        b"publisher-key",
        &json!({ "publish": ["https://example.com/{+path}"] }),
    );
    let output = tokio::process::Command::new(php)
        .args([script, &hub, &publisher])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "php: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ids: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert_eq!(ids[3], "urn:isbn:9780441013593");
    assert!(
        ids.iter()
            .filter(|id| *id != &ids[3])
            .all(|id| id.starts_with("urn:uuid:")),
        "{ids:?}"
    );

    let mut got = std::collections::BTreeMap::new();
    for _ in 0..2 {
        let report = next(&mut reports).await;
        got.insert(
            report["who"].as_str().unwrap().to_owned(),
            report["received"].clone(),
        );
    }
    let event =
        |i: usize, kind: &str, data: &str| json!({ "type": kind, "id": ids[i], "data": data });
    let dune = "{\"title\":\"Dune\"}";
    assert_eq!(
        got["alice"],
        json!([
            event(0, "message", "public news"),
            event(1, "message", "for alice"),
            event(3, "book", dune)
        ]),
        "Alice: the public updates and her own private one"
    );
    assert_eq!(
        got["anonymous"],
        json!([event(0, "message", "public news"), event(3, "book", dune)]),
        "without a token: the public updates only"
    );
}
