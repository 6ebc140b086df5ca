//! `sse hub --subscriptions`: the protocol's "Active Subscriptions" from
//! outside. A subscription event (private, type `mercure`, the JSON-LD
//! document, its topic percent-encoded once) when each subscription starts
//! and ends, and the subscriptions API, on one node, and across instances
//! on Redis, one of which dies.

use std::time::Duration;

use futures_util::StreamExt;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};
use test_support::events;
use test_support::servers::RedisServer;

mod support;
use support::start_hub;

fn token(mercure: &Value) -> String {
    let claims = json!({ "mercure": mercure });
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"key"),
    )
    .unwrap()
}

/// A subscriber token granting every subscription's topic.
fn observer() -> String {
    token(&json!({ "subscribe": ["/.well-known/mercure/subscriptions{/rest*}"] }))
}

async fn get(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// The next subscription event of `stream` (type `mercure`), as JSON.
async fn next_event(stream: &mut test_support::Events, within: Duration) -> Value {
    let event = tokio::time::timeout(within, stream.next())
        .await
        .expect("a subscription event in time")
        .expect("the stream goes on")
        .unwrap();
    assert_eq!(event.event_type(), "mercure");
    let doc: Value = serde_json::from_str(event.data()).unwrap();
    doc
}

/// `text` percent-encoded once, as the spec's example shows: every byte
/// but the unreserved ones (written here apart from the hub's encoder).
fn pct(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn hub_args(extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec![
        "--subscriber-jwt-key",
        "key",
        "--publisher-jwt-key",
        "key",
        "--anonymous",
        "--subscriptions",
    ];
    args.extend_from_slice(extra);
    args
}

#[tokio::test]
async fn each_subscription_is_announced_listed_and_announced_ended() {
    let (_hub, url, _) = start_hub(&hub_args(&[])).await;
    let api = format!("{url}/subscriptions");
    let watch = format!("{url}?matchURLPattern=/.well-known/mercure/subscriptions/*");
    // Subscription events are private: an anonymous subscriber of the same
    // topics (and of a marker) gets none of them.
    let mut anonymous = events(get(&format!("{watch}&match=marker"), None).await);
    let mut observing = events(get(&watch, Some(&observer())).await);
    // The observer's own subscription is announced to itself first.
    let own = next_event(&mut observing, Duration::from_secs(10)).await;
    assert_eq!(own["match"], "/.well-known/mercure/subscriptions/*");

    let subscriber_token =
        token(&json!({ "subscribe": ["https://example.com/a"], "payload": { "user": "alice" } }));
    let subscribing = get(
        &format!("{url}?match=https://example.com/a&matchURLPattern=https://example.com/b/:id"),
        Some(&subscriber_token),
    )
    .await;
    assert_eq!(subscribing.status(), StatusCode::OK);
    let first = next_event(&mut observing, Duration::from_secs(10)).await;
    let second = next_event(&mut observing, Duration::from_secs(10)).await;
    let subscriber = first["subscriber"].as_str().unwrap().to_owned();
    assert!(subscriber.starts_with("urn:uuid:"), "{first}");
    for (doc, kind, pattern) in [
        (&first, "Exact", "https://example.com/a"),
        (&second, "URLPattern", "https://example.com/b/:id"),
    ] {
        let id = format!(
            "/.well-known/mercure/subscriptions/{kind}/{}/{}",
            pct(pattern),
            pct(&subscriber)
        );
        assert_eq!(
            *doc,
            json!({
                "@context": "https://mercure.rocks/",
                "id": id,
                "type": "Subscription",
                "matchType": kind,
                "match": pattern,
                "subscriber": subscriber,
                "active": true,
                "payload": { "user": "alice" },
            })
        );
    }

    // The API: every subscription, one matcher's, one subscription.
    let all = get(&api, Some(&observer())).await;
    assert_eq!(all.status(), StatusCode::OK);
    assert_eq!(all.headers()["content-type"], "application/ld+json");
    let all: Value = all.json().await.unwrap();
    assert_eq!(all["type"], "Subscriptions");
    assert_eq!(all["id"], "/.well-known/mercure/subscriptions");
    assert!(all["lastEventID"].is_string());
    let listed: Vec<&Value> = all["subscriptions"].as_array().unwrap().iter().collect();
    assert_eq!(
        listed.len(),
        5,
        "the anonymous one's two, the observer's, these two: {all}"
    );
    assert!(listed.contains(&&first) && listed.contains(&&second));
    let one_matcher = format!("{api}/Exact/{}", pct("https://example.com/a"));
    let found: Value = get(&one_matcher, Some(&observer()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["subscriptions"], json!([first]));
    let single = format!(
        "{}{}",
        url.trim_end_matches("/.well-known/mercure"),
        first["id"].as_str().unwrap()
    );
    let found: Value = get(&single, Some(&observer())).await.json().await.unwrap();
    assert_eq!(found["subscriber"], subscriber);
    assert!(found["lastEventID"].is_string());
    assert_eq!(
        get(
            &format!("{one_matcher}/urn%3Auuid%3Anobody"),
            Some(&observer())
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    // Authorized on the requested URL as a topic: no token, 401; a token
    // that does not grant it, 403.
    assert_eq!(get(&api, None).await.status(), StatusCode::UNAUTHORIZED);
    let other = token(&json!({ "subscribe": ["https://example.com/a"] }));
    assert_eq!(
        get(&api, Some(&other)).await.status(),
        StatusCode::FORBIDDEN
    );
    // The subscriber leaves: both announced ended, and the API forgets them.
    drop(subscribing);
    let mut ended = vec![
        next_event(&mut observing, Duration::from_secs(10)).await,
        next_event(&mut observing, Duration::from_secs(10)).await,
    ];
    ended.sort_by_key(|d| d["matchType"].as_str().unwrap().to_owned());
    let mut expected = vec![first.clone(), second.clone()];
    for doc in &mut expected {
        doc["active"] = json!(false);
    }
    assert_eq!(ended, expected);
    let all: Value = get(&api, Some(&observer())).await.json().await.unwrap();
    assert_eq!(all["subscriptions"].as_array().unwrap().len(), 3, "{all}");
    // The anonymous subscriber got none of the events: the first thing it
    // reads is the marker.
    let publisher = token(&json!({ "publish": ["*"] }));
    let published = reqwest::Client::new()
        .post(&url)
        .bearer_auth(publisher)
        .form(&[("topic", "marker"), ("data", "marker")])
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), StatusCode::OK);
    let first_read = tokio::time::timeout(Duration::from_secs(10), anonymous.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (first_read.event_type(), first_read.data()),
        ("message", "marker")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_instances_the_api_lists_all_and_forgets_a_dead_instances() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let redis_url: &'static str = Box::leak(redis.url().into_boxed_str());
    let (_a, a, _) = start_hub(&hub_args(&["--redis", redis_url])).await;
    let (mut b_process, b, _) = start_hub(&hub_args(&["--redis", redis_url])).await;
    let watch = format!("{a}?matchURLPattern=/.well-known/mercure/subscriptions/*");
    let mut observing = events(get(&watch, Some(&observer())).await);
    let own = next_event(&mut observing, Duration::from_secs(10)).await;
    assert_eq!(own["active"], true);

    // A subscriber on B: announced to the observer on A, listed by A.
    let _on_b = get(&format!("{b}?match=https://example.com/x"), None).await;
    let started = next_event(&mut observing, Duration::from_secs(10)).await;
    assert_eq!(
        (started["match"].as_str(), started["active"].as_bool()),
        (Some("https://example.com/x"), Some(true))
    );
    let listed: Value = get(&format!("{a}/subscriptions"), Some(&observer()))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        listed["subscriptions"]
            .as_array()
            .unwrap()
            .contains(&started),
        "{listed}"
    );

    // B dies without a word: A announces its subscription ended and stops
    // listing it, within the documented 25 s (waited for up to 60 s).
    b_process.start_kill().unwrap();
    let ended = next_event(&mut observing, Duration::from_secs(60)).await;
    let mut expected = started.clone();
    expected["active"] = json!(false);
    assert_eq!(ended, expected);
    let listed: Value = get(&format!("{a}/subscriptions"), Some(&observer()))
        .await
        .json()
        .await
        .unwrap();
    let listed = listed["subscriptions"].as_array().unwrap();
    assert!(
        !listed.iter().any(|d| d["id"] == started["id"]),
        "{listed:?}"
    );
    assert_eq!(listed.len(), 1, "the observer's own: {listed:?}");
}
