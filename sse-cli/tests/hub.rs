//! `sse hub` over HTTP, one hub process per test: the Mercure protocol's
//! rules of publication, subscription, authorization and reconnection
//! (spec/mercure.md of dunglas/mercure), each checked from outside.
//! Tokens are signed by `jsonwebtoken`, not by the hub's code.

#![allow(clippy::needless_pass_by_value)] // helpers that take `json!` values read better

use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::header::{HeaderMap, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use test_support::events;

mod support;
use support::{start_hub, start_with_env, SSE};

const KEY: &[u8] = b"!ChangeThisMercureHubJWTSecretKey!";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A legacy token (`mercure` claim), HS256 with `key`.
fn legacy(key: &[u8], mercure: Value) -> String {
    sign(
        Header::new(Algorithm::HS256),
        &EncodingKey::from_secret(key),
        json!({ "mercure": mercure }),
    )
}

fn sign(header: Header, key: &EncodingKey, claims: Value) -> String {
    encode(&header, &claims, key).unwrap()
}

fn publisher() -> String {
    legacy(KEY, json!({ "publish": ["*"] }))
}

async fn publish(hub: &str, token: Option<&str>, form: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(hub).form(form);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn published(hub: &str, form: &[(&str, &str)]) -> String {
    let response = publish(hub, Some(&publisher()), form).await;
    assert_eq!(response.status(), StatusCode::OK, "{form:?}");
    response.text().await.unwrap()
}

async fn get(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// `(id, type, data)` of the next `n` events of `response`, 10 s at most.
async fn take(stream: &mut test_support::Events, n: usize) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    while out.len() < n {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("an event within 10 s")
            .expect("the stream goes on")
            .unwrap();
        out.push((
            event.id().unwrap_or_default().to_owned(),
            event.event_type().to_owned(),
            event.data().to_owned(),
        ));
    }
    out
}

fn data(events: &[(String, String, String)]) -> Vec<&str> {
    events.iter().map(|(_, _, d)| d.as_str()).collect()
}

fn challenge(headers: &HeaderMap) -> &str {
    headers
        .get(WWW_AUTHENTICATE)
        .map_or("", |v| v.to_str().unwrap())
}

/// Publishes a marker on `topic` and checks it is the next event of each
/// stream: nothing else came before it.
async fn next_is_marker(hub: &str, topic: &str, streams: &mut [&mut test_support::Events]) {
    let marker = format!("marker {}", now());
    published(hub, &[("topic", topic), ("data", &marker)]).await;
    for stream in streams {
        assert_eq!(data(&take(stream, 1).await), [marker.as_str()]);
    }
}

#[tokio::test]
async fn publishing_answers_as_the_protocol_says() {
    let (_hub, url, _) = start_hub(&[
        "--publisher-jwt-key",
        std::str::from_utf8(KEY).unwrap(),
        "--anonymous",
    ])
    .await;
    let mut all = events(get(&format!("{url}?match=*"), &[]).await);

    // 200, text/plain, the id as the body: generated, or the publisher's.
    let response = publish(
        &url,
        Some(&publisher()),
        &[("topic", "https://example.com/books/1"), ("data", "one")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    let generated = response.text().await.unwrap();
    let uuid = generated.strip_prefix("urn:uuid:").expect("a urn:uuid id");
    assert!(
        uuid.len() == 36 && &uuid[14..15] == "4",
        "a version 4 UUID: {uuid}"
    );
    let given = published(
        &url,
        &[
            ("topic", "t"),
            ("data", "two"),
            ("id", "urn:isbn:2"),
            ("type", "book"),
            ("retry", "2500"),
        ],
    )
    .await;
    assert_eq!(given, "urn:isbn:2");
    let got = take(&mut all, 2).await;
    assert_eq!(got[0], (generated.clone(), "message".into(), "one".into()));
    assert_eq!(got[1], ("urn:isbn:2".into(), "book".into(), "two".into()));

    // Every 400 of the spec, with the challenge naming `invalid_request`.
    let long_id = "i".repeat(3000);
    for form in [
        vec![("data", "no topic")],
        vec![("topic", "*"), ("data", "x")],
        vec![("topic", "t"), ("type", "mercure")],
        vec![("topic", "t"), ("type", "a\nb")],
        vec![("topic", "t"), ("id", "#1")],
        vec![("topic", "t"), ("id", "earliest")],
        vec![("topic", "t"), ("id", "a\u{200B}b")],
        vec![("topic", "t"), ("id", "a\u{1}b")],
        vec![("topic", "a\u{85}b")],
        vec![("topic", "t"), ("retry", "1s")],
        vec![("topic", "t"), ("retry", "-1")],
    ] {
        let response = publish(&url, Some(&publisher()), &form).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{form:?}");
        assert_eq!(
            challenge(response.headers()),
            "Bearer error=\"invalid_request\"",
            "{form:?}"
        );
    }
    // A form that is not UTF-8 once decoded.
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(publisher())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("topic=t&data=%FF")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // The hub's own namespace, however it is spelled: 403, as the spec says.
    for topic in [
        "/.well-known/mercure",
        "https://evil.example/.well-known/mercure/subscriptions/Exact/a/b",
        "/books/../.well-known/mercure/subscriptions",
        "/.well-known/%6Dercure/x",
    ] {
        let response = publish(&url, Some(&publisher()), &[("topic", topic), ("data", "x")]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{topic}");
    }

    // 413 past the documented limits.
    let big = "x".repeat((1 << 20) + 1);
    let response = publish(&url, Some(&publisher()), &[("topic", "t"), ("data", &big)]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let response = publish(
        &url,
        Some(&publisher()),
        &[("topic", "t"), ("id", &long_id)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Nothing refused was dispatched.
    next_is_marker(&url, "t", &mut [&mut all]).await;
}

#[tokio::test]
async fn a_publisher_needs_a_valid_token_granting_every_topic() {
    let (_hub, url, _) = start_hub(&[
        "--publisher-jwt-key",
        std::str::from_utf8(KEY).unwrap(),
        "--anonymous",
    ])
    .await;
    let mut all = events(get(&format!("{url}?match=*"), &[]).await);
    let form = [("topic", "https://example.com/books/1"), ("data", "x")];

    let response = publish(&url, None, &form).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(response.headers()),
        "Bearer",
        "no error code without a token"
    );

    let unsigned = {
        let b64 = |v: &Value| {
            use std::fmt::Write;
            let text = v.to_string();
            // base64url without padding, by hand: no encoder of the hub's.
            const ALPHABET: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let bytes = text.as_bytes();
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
                for i in 0..=chunk.len() {
                    let _ = write!(
                        out,
                        "{}",
                        ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char
                    );
                }
            }
            out
        };
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(&json!({"mercure": {"publish": ["*"]}}))
        )
    };
    let expired = sign(
        Header::new(Algorithm::HS256),
        &EncodingKey::from_secret(KEY),
        json!({ "mercure": { "publish": ["*"] }, "exp": now() - 10 }),
    );
    let not_yet = sign(
        Header::new(Algorithm::HS256),
        &EncodingKey::from_secret(KEY),
        json!({ "mercure": { "publish": ["*"] }, "nbf": now() + 3600 }),
    );
    for (what, token) in [
        (
            "another key",
            legacy(b"another key", json!({ "publish": ["*"] })),
        ),
        ("alg none", unsigned),
        ("expired", expired),
        ("not yet valid", not_yet),
        ("garbage", "a.b.c".to_owned()),
    ] {
        let response = publish(&url, Some(&token), &form).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(
            challenge(response.headers()),
            "Bearer error=\"invalid_token\"",
            "{what}"
        );
    }

    // Rights on some topics only: every topic of the update must be granted.
    let books = legacy(
        KEY,
        json!({ "publish": ["https://example.com/books/{id}"] }),
    );
    let response = publish(
        &url,
        Some(&books),
        &[("topic", "https://example.com/authors/1"), ("data", "x")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        challenge(response.headers()),
        "Bearer error=\"insufficient_scope\""
    );
    let two = [
        ("topic", "https://example.com/books/1"),
        ("topic", "https://example.com/authors/1"),
        ("data", "x"),
    ];
    assert_eq!(
        publish(&url, Some(&books), &two).await.status(),
        StatusCode::FORBIDDEN
    );
    let response = publish(&url, Some(&books), &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(data(&take(&mut all, 1).await), ["x"]);
    next_is_marker(&url, "t", &mut [&mut all]).await;
}

#[tokio::test]
async fn subscribing_refuses_bad_requests() {
    let (_hub, url, _) = start_hub(&["--subscriber-jwt-key", "sub-key"]).await;
    let many: String = (0..129).map(|n| format!("match=t{n}&")).collect();
    for query in [
        "match=a&matchFoo=b",
        "MATCH=a",
        "matchurlpattern=a",
        "matchURLPattern=/books/(",
        "match=a%01b",
        "topic=/books/{id",
        many.as_str(),
        "",
        "lastEventID=x",
    ] {
        let response = get(&format!("{url}?{query}"), &[]).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
    }
    // Without --anonymous, a subscriber needs a token.
    let response = get(&format!("{url}?match=a"), &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(response.headers()), "Bearer");
    let token = legacy(b"wrong", json!({ "subscribe": ["*"] }));
    let response = get(
        &format!("{url}?match=a"),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(response.headers()),
        "Bearer error=\"invalid_token\""
    );
    let token = legacy(b"sub-key", json!({ "subscribe": [] }));
    let response = get(
        &format!("{url}?match=a"),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
}

#[tokio::test]
async fn a_private_update_reaches_only_the_subscribers_its_topic_is_granted_to_live_and_replayed() {
    let key = std::str::from_utf8(KEY).unwrap();
    let (_hub, url, _) = start_hub(&[
        "--publisher-jwt-key",
        key,
        "--subscriber-jwt-key",
        "sub-key",
        "--anonymous",
    ])
    .await;
    let alice = legacy(
        b"sub-key",
        json!({ "subscribe": ["https://example.com/users/alice/{x}"] }),
    );
    let bob = legacy(
        b"sub-key",
        json!({ "subscribe": ["https://example.com/users/bob/inbox"] }),
    );
    let all_topics = format!("{url}?match=*");
    let cookie = |token: &str| format!("mercureAuthorization={token}");
    let bearer = |token: &str| format!("Bearer {token}");
    let open = |headers: Vec<(&'static str, String)>, query: String| async move {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        events(get(&query, &headers).await)
    };
    // Alice through the cookie; Bob through the header, which wins over
    // Alice's cookie; an anonymous one.
    let mut on_alice = open(vec![("cookie", cookie(&alice))], all_topics.clone()).await;
    let mut on_bob = open(
        vec![("authorization", bearer(&bob)), ("cookie", cookie(&alice))],
        all_topics.clone(),
    )
    .await;
    let mut anonymous = open(vec![], all_topics.clone()).await;

    let first = published(
        &url,
        &[
            ("topic", "https://example.com/users/alice/inbox"),
            ("data", "to alice"),
            ("private", ""),
        ],
    )
    .await;
    published(
        &url,
        &[
            ("topic", "https://example.com/users/bob/inbox"),
            ("data", "to bob"),
            ("private", "on"),
        ],
    )
    .await;
    published(
        &url,
        &[("topic", "https://example.com/news"), ("data", "to all")],
    )
    .await;
    assert_eq!(data(&take(&mut on_alice, 2).await), ["to alice", "to all"]);
    assert_eq!(data(&take(&mut on_bob, 2).await), ["to bob", "to all"]);
    assert_eq!(data(&take(&mut anonymous, 1).await), ["to all"]);
    next_is_marker(&url, "m", &mut [&mut on_alice, &mut on_bob, &mut anonymous]).await;

    // Replayed from the start: the same rule.
    let earliest = format!("{url}?match=*&lastEventID=earliest");
    let mut again = open(vec![("cookie", cookie(&bob))], earliest.clone()).await;
    assert_eq!(data(&take(&mut again, 2).await), ["to bob", "to all"]);
    let mut again = open(
        vec![],
        format!("{url}?match=*&lastEventID={}", urlencode(&first)),
    )
    .await;
    assert_eq!(data(&take(&mut again, 1).await), ["to all"]);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_subscriber_resumes_after_its_last_event_id_the_header_winning() {
    let key = std::str::from_utf8(KEY).unwrap();
    let (_hub, url, _) = start_hub(&["--publisher-jwt-key", key, "--anonymous"]).await;
    for n in 1..=3 {
        published(
            &url,
            &[
                ("topic", "t"),
                ("data", &format!("d{n}")),
                ("id", &format!("urn:n:{n}")),
            ],
        )
        .await;
    }
    // The header wins over the query parameter.
    let response = get(
        &format!("{url}?match=t&lastEventID=urn:n:2"),
        &[("last-event-id", "urn:n:1")],
    )
    .await;
    assert_eq!(response.headers()["last-event-id"], "urn:n:1");
    assert_eq!(response.headers()["mercure-last-event-id"], "urn:n:1");
    assert_eq!(data(&take(&mut events(response), 2).await), ["d2", "d3"]);
    // `lastEventID` and `last_event_id` in the query.
    for name in ["lastEventID", "last_event_id"] {
        let response = get(&format!("{url}?match=t&{name}=urn:n:2"), &[]).await;
        assert_eq!(response.headers()["last-event-id"], "urn:n:2", "{name}");
        assert_eq!(
            data(&take(&mut events(response), 1).await),
            ["d3"],
            "{name}"
        );
    }
    // `earliest`: everything kept; an unknown id: live, and `earliest`.
    let response = get(&format!("{url}?match=t&lastEventID=earliest"), &[]).await;
    assert_eq!(response.headers()["last-event-id"], "earliest");
    assert_eq!(
        data(&take(&mut events(response), 3).await),
        ["d1", "d2", "d3"]
    );
    let response = get(&format!("{url}?match=t&lastEventID=urn:gone"), &[]).await;
    assert_eq!(response.headers()["last-event-id"], "earliest");
    let mut live = events(response);
    // No header when the client did not ask to resume.
    let fresh = get(&format!("{url}?match=t"), &[]).await;
    assert!(fresh.headers().get("last-event-id").is_none());
    let mut fresh = events(fresh);
    published(&url, &[("topic", "t"), ("data", "d4")]).await;
    assert_eq!(data(&take(&mut live, 1).await), ["d4"]);
    assert_eq!(data(&take(&mut fresh, 1).await), ["d4"]);
}

#[tokio::test]
async fn a_subscription_ends_when_its_token_expires() {
    let (_hub, url, _) = start_hub(&["--subscriber-jwt-key", "sub-key"]).await;
    let token = sign(
        Header::new(Algorithm::HS256),
        &EncodingKey::from_secret(b"sub-key"),
        json!({ "mercure": { "subscribe": ["*"] }, "exp": now() + 2 }),
    );
    let response = get(
        &format!("{url}?match=*"),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.bytes_stream();
    let ended = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(chunk) = body.next().await {
            chunk.unwrap();
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ends once the token has expired");
}

#[tokio::test]
async fn rs256_es256_and_eddsa_keys_verify_and_no_other_algorithm_passes() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    for (alg, algorithm, private) in [
        ("RS256", Algorithm::RS256, "rs256-private.pem"),
        ("ES256", Algorithm::ES256, "es256-private.pem"),
        ("EdDSA", Algorithm::EdDSA, "eddsa-private.pem"),
    ] {
        let public_path = format!("{fixtures}/{}-public.pem", alg.to_lowercase());
        let key_arg = format!("@{public_path}");
        let (_hub, url, _) =
            start_hub(&["--publisher-jwt-key", &key_arg, "--jwt-algorithm", alg]).await;
        let pem = std::fs::read(format!("{fixtures}/{private}")).unwrap();
        let key = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem).unwrap(),
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
            _ => EncodingKey::from_ed_pem(&pem).unwrap(),
        };
        let good = sign(
            Header::new(algorithm),
            &key,
            json!({ "mercure": { "publish": ["*"] } }),
        );
        let form = [("topic", "t"), ("data", "x")];
        assert_eq!(
            publish(&url, Some(&good), &form).await.status(),
            StatusCode::OK,
            "{alg}"
        );
        // Algorithm confusion: an HS256 token whose secret is the public key.
        let public = std::fs::read(&public_path).unwrap();
        let confused = sign(
            Header::new(Algorithm::HS256),
            &EncodingKey::from_secret(&public),
            json!({ "mercure": { "publish": ["*"] } }),
        );
        assert_eq!(
            publish(&url, Some(&confused), &form).await.status(),
            StatusCode::UNAUTHORIZED,
            "{alg}"
        );
    }
}

#[tokio::test]
async fn rfc_9068_tokens_need_their_type_audience_and_expiry() {
    let (_hub, url, _) = start_hub(&["--publisher-jwt-key", "pub-key"]).await;
    let key = EncodingKey::from_secret(b"pub-key");
    let at = || {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("at+jwt".into());
        header
    };
    let details = json!([{
        "type": "mercure",
        "actions": ["publish"],
        "topics": [{ "match": "https://example.com/books/:id", "matchType": "URLPattern" }]
    }]);
    let claims = |extra: Value| {
        let mut claims = json!({ "aud": url, "exp": now() + 60, "authorization_details": details });
        for (k, v) in extra.as_object().unwrap() {
            claims[k] = v.clone();
        }
        claims
    };
    let form = [("topic", "https://example.com/books/1"), ("data", "x")];
    let good = sign(at(), &key, claims(json!({})));
    assert_eq!(
        publish(&url, Some(&good), &form).await.status(),
        StatusCode::OK
    );
    let other = [("topic", "https://example.com/authors/1"), ("data", "x")];
    assert_eq!(
        publish(&url, Some(&good), &other).await.status(),
        StatusCode::FORBIDDEN
    );
    // Without --hub-url, the hub URL of the request's own Host is an
    // audience too (as behind a proxy that keeps the Host).
    let proxied = sign(
        at(),
        &key,
        claims(json!({ "aud": "http://hub.example/.well-known/mercure" })),
    );
    let response = reqwest::Client::new()
        .post(&url)
        .header("host", "hub.example")
        .bearer_auth(&proxied)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        publish(&url, Some(&proxied), &form).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let array_aud = sign(
        at(),
        &key,
        claims(json!({ "aud": ["https://x.example", url] })),
    );
    assert_eq!(
        publish(&url, Some(&array_aud), &form).await.status(),
        StatusCode::OK
    );
    for (what, token) in [
        (
            "typ JWT",
            sign(Header::new(Algorithm::HS256), &key, claims(json!({}))),
        ),
        (
            "another audience",
            sign(at(), &key, claims(json!({ "aud": "https://x.example" }))),
        ),
        ("no exp", sign(at(), &key, claims(json!({ "exp": null })))),
        (
            "unknown matchType",
            sign(
                at(),
                &key,
                claims(
                    json!({ "authorization_details": [{ "type": "mercure", "actions": ["publish"], "topics": [{ "match": "*", "matchType": "Regex" }] }] }),
                ),
            ),
        ),
        (
            "one bad detail",
            sign(
                at(),
                &key,
                claims(
                    json!({ "authorization_details": [details[0].clone(), { "type": "mercure", "actions": [], "topics": [{ "match": "*" }] }] }),
                ),
            ),
        ),
    ] {
        let response = publish(&url, Some(&token), &form).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
    }
}

#[tokio::test]
async fn cors_allows_listed_origins_with_credentials_and_star_without() {
    let (_hub, url, _) = start_hub(&[
        "--anonymous",
        "--cors-origins",
        "https://app.example,https://other.example",
    ])
    .await;
    let preflight = |origin: &'static str| {
        reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "last-event-id")
            .send()
    };
    let ok = preflight("https://app.example").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    let response = get(
        &format!("{url}?match=a"),
        &[("origin", "https://other.example")],
    )
    .await;
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://other.example"
    );

    let (_star, url, _) = start_hub(&["--anonymous", "--cors-origins", "*"]).await;
    let response = get(
        &format!("{url}?match=a"),
        &[("origin", "https://any.example")],
    )
    .await;
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(
        response
            .headers()
            .get("access-control-allow-credentials")
            .is_none(),
        "never * with credentials"
    );
}

#[tokio::test]
async fn every_flag_reads_the_environment() {
    let help = std::process::Command::new(SSE)
        .args(["hub", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for name in [
        "MERCURE_PUBLISHER_JWT_KEY",
        "MERCURE_SUBSCRIBER_JWT_ALG",
        "SSE_HUB_REDIS_PREFIX",
        "SSE_HUB_ANONYMOUS",
        "SSE_HUB_SEND_TIMEOUT",
    ] {
        assert!(help.contains(name), "--help names {name}");
    }
    // The key and --anonymous from the environment alone.
    let env = [
        (
            "MERCURE_PUBLISHER_JWT_KEY",
            std::str::from_utf8(KEY).unwrap(),
        ),
        ("SSE_HUB_ANONYMOUS", "true"),
    ];
    let (_hub, url, _) = start_with_env("hub", &[], &env).await;
    let mut stream = events(get(&format!("{url}?match=t"), &[]).await);
    published(&url, &[("topic", "t"), ("data", "from env")]).await;
    assert_eq!(data(&take(&mut stream, 1).await), ["from env"]);
}
