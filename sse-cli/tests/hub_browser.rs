//! `sse hub` judged by headless Chromium's `EventSource`: the scenarios of
//! the reference hub's conformance suite (conformance-tests/mercure.spec.ts
//! of dunglas/mercure: raw string, several topics, several selectors, URI,
//! URI template, the non-matching and the private cases), written anew.
//! As there, a page subscribes with the legacy `topic` parameter and
//! publishes with `fetch` and a Bearer token; here the page is served from
//! another origin, so CORS with credentials is exercised too, and a private
//! update read through the `mercureAuthorization` cookie is added.
//!
//! Non-receipt is proven without a clock: after each update the page
//! publishes a marker that its subscription also follows, and what came
//! before the marker is what the subscription received.
//!
//! Needs Debian's `chromium` (`.ci/run` installs it); without it, the test
//! fails under CI and is skipped, loudly, elsewhere.

use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use test_support::servers::{chromium_or_skip, Browser};
use tokio::sync::mpsc;

mod support;
use support::start_hub;

/// The page: each scenario in turn, its result sent (POST) to `/report`.
const PAGE: &str = r#"<!doctype html>
<script>
const HUB = "{hub}";
const PUBLISHER = "{publisher}";
document.cookie = "mercureAuthorization={subscriber}; path=/";
const scenarios = {scenarios};
const report = (body) => fetch("/report", { method: "POST", body: JSON.stringify(body) });

async function run(s, index) {
  const marker = "urn:marker:" + index;
  const url = new URL(HUB);
  for (const selector of s.selectors) url.searchParams.append("topic", selector);
  url.searchParams.append("topic", marker);
  const es = new EventSource(url, { withCredentials: !!s.cookie });
  await new Promise((resolve, reject) => { es.onopen = resolve; es.onerror = reject; });
  const received = [];
  const done = new Promise((resolve) => {
    es.onmessage = (e) => {
      if (e.data === "marker") { resolve(); return; }
      received.push({ type: e.type, id: e.lastEventId, data: e.data });
    };
  });
  const update = new URLSearchParams();
  for (const topic of s.topics) update.append("topic", topic);
  update.set("id", "id-" + index);
  update.set("data", "data for\n\n        " + s.name);
  if (s.private) update.set("private", "on");
  const publish = (body) => fetch(HUB, { method: "POST", headers: { Authorization: "Bearer " + PUBLISHER }, body });
  const response = await publish(update);
  const body = await response.text();
  const markerUpdate = new URLSearchParams({ topic: marker, data: "marker" });
  await publish(markerUpdate);
  await done;
  es.close();
  return { name: s.name, status: response.status, contentType: response.headers.get("Content-Type"), body, received };
}

(async () => {
  const results = [];
  for (const [index, s] of scenarios.entries()) {
    try { results.push(await run(s, index)); } catch (e) { results.push({ name: s.name, error: String(e) }); }
  }
  await report(results);
})();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_receives_exactly_what_the_conformance_scenarios_say() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    // The page's origin, then the hub that lets it in with credentials.
    let (report_tx, mut reports) = mpsc::unbounded_channel::<Value>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page_origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (_hub, hub, _) = start_hub(&[
        "--publisher-jwt-key",
        "publisher-key",
        "--subscriber-jwt-key",
        "subscriber-key",
        "--anonymous",
        "--cors-origins",
        &page_origin,
    ])
    .await;

    let r = |n: u8| format!("r{n}-{}", std::process::id());
    let scenario = |name: &str, topics: Vec<String>, selectors: Vec<String>, received: bool| json!({ "name": name, "topics": topics, "selectors": selectors, "expect": received });
    let mut scenarios = vec![
        scenario("raw string", vec![r(0)], vec![r(0)], true),
        scenario("multiple topics", vec![r(9), r(1)], vec![r(1)], true),
        scenario(
            "multiple topic selectors",
            vec![r(2)],
            vec!["foo".into(), r(2)],
            true,
        ),
        scenario(
            "URI",
            vec![format!("https://example.net/foo/{}", r(3))],
            vec![format!("https://example.net/foo/{}", r(3))],
            true,
        ),
        scenario(
            "URI template",
            vec![format!("https://example.net/foo/{}", r(4))],
            vec!["https://example.net/foo/{random}".into()],
            true,
        ),
        scenario(
            "nonmatching raw string",
            vec!["will-not-match".into()],
            vec!["another-name".into()],
            false,
        ),
        scenario(
            "nonmatching URI",
            vec!["https://example.net/foo/will-not-match".into()],
            vec!["https://example.net/foo/another-name".into()],
            false,
        ),
        scenario(
            "nonmatching URI template",
            vec!["https://example.net/foo/will-not-match".into()],
            vec!["https://example.net/bar/{var}".into()],
            false,
        ),
        scenario("private raw string", vec![r(0)], vec![r(0)], false),
        scenario(
            "private URI",
            vec![format!("https://example.net/foo/{}", r(3))],
            vec![format!("https://example.net/foo/{}", r(3))],
            false,
        ),
        scenario(
            "private URI template",
            vec![format!("https://example.net/foo/{}", r(4))],
            vec!["https://example.net/foo/{random}".into()],
            false,
        ),
        scenario(
            "private, granted by the cookie",
            vec!["https://example.net/users/alice/inbox".into()],
            vec!["https://example.net/users/alice/{box}".into()],
            true,
        ),
        scenario(
            "private, another user's",
            vec!["https://example.net/users/bob/inbox".into()],
            vec!["https://example.net/users/{name}/inbox".into()],
            false,
        ),
    ];
    for s in &mut scenarios {
        let name = s["name"].as_str().unwrap().to_owned();
        if name.starts_with("private") {
            s["private"] = json!(true);
        }
        if name.starts_with("private,") {
            s["cookie"] = json!(true);
        }
    }
    let page = PAGE
        .replace("{hub}", &hub)
        .replace(
            "{publisher}",
            &token(b"publisher-key", &json!({ "publish": ["*"] })),
        )
        .replace(
            "{subscriber}",
            &token(
                b"subscriber-key",
                &json!({ "subscribe": ["https://example.net/users/alice/{box}"] }),
            ),
        )
        .replace("{scenarios}", &Value::from(scenarios.clone()).to_string());
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
    let _browser = Browser::open(&chromium, &format!("{page_origin}/page.html"));

    let results = tokio::time::timeout(Duration::from_secs(60), reports.recv())
        .await
        .expect("the page reports within 60 s")
        .unwrap();
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), scenarios.len());
    for ((index, s), result) in scenarios.iter().enumerate().zip(results) {
        let name = s["name"].as_str().unwrap();
        assert!(result.get("error").is_none(), "{name}: {result}");
        assert_eq!(result["status"], 200, "{name}: {result}");
        assert_eq!(result["contentType"], "text/plain; charset=utf-8", "{name}");
        assert_eq!(
            result["body"],
            format!("id-{index}"),
            "{name}: the publisher's id"
        );
        let expected = if s["expect"] == true {
            json!([{ "type": "message", "id": format!("id-{index}"), "data": format!("data for\n\n        {name}") }])
        } else {
            json!([])
        };
        assert_eq!(result["received"], expected, "{name}");
    }
}
