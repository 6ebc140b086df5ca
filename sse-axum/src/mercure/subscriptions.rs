//! Active subscriptions (the protocol's "Active Subscriptions"): an event
//! when a subscription starts and when it ends, and the API that lists
//! them, hub-wide, from the topic hub's presence entries.
//!
//! Each matcher of a request is one subscription. Its topic (and its
//! document's `id`) is
//! `/.well-known/mercure/subscriptions/{matchType}/{match}/{subscriber}`,
//! `match` and `subscriber` percent-encoded exactly once (every byte but
//! the unreserved ones). The subscriber is a `urn:uuid:` the hub makes
//! for each connection: unique among active subscriptions, and nothing a
//! client can choose.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_core::Stream;
use serde_json::{json, Value};
use sse_codec::EncodedFrame;
use sse_hub::backend::Backend;
use sse_hub::topics::{MatchType, TopicHub, TopicSubscription, Update, RESERVED_TYPE};

use super::answer::query_token;
use super::auth::{find_token, validate, Denied, Rights};
use super::config::{Mercure, PATH};

/// The path of the subscriptions API, and the start of every
/// subscription's topic.
pub(super) fn root() -> String {
    format!("{PATH}/subscriptions")
}

/// `text` percent-encoded once: every byte but RFC 3986's unreserved ones.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One subscription's topic and document (with `active`).
fn describe(
    kind: MatchType,
    pattern: &str,
    subscriber: &str,
    payload: Option<&Value>,
    active: bool,
) -> (String, Value) {
    let kind = kind.name();
    let topic = format!(
        "{}/{kind}/{}/{}",
        root(),
        encode(pattern),
        encode(subscriber)
    );
    let mut doc = json!({
        "@context": "https://mercure.rocks/",
        "id": topic,
        "type": "Subscription",
        "matchType": kind,
        "match": pattern,
        "subscriber": subscriber,
        "active": active,
    });
    if let Some(payload) = payload {
        doc["payload"] = payload.clone();
    }
    (topic, doc)
}

/// The subscriptions of one connection, announced; announced ended when
/// dropped.
pub(super) struct Tracked<B: Backend> {
    inner: TopicSubscription,
    topics: TopicHub<B>,
    subscriptions: Vec<(String, Value)>,
}

impl<B: Backend> Tracked<B> {
    /// `inner`, untracked (the hub does not track subscriptions).
    pub(super) fn untracked(inner: TopicSubscription, topics: &TopicHub<B>) -> Self {
        Tracked {
            inner,
            topics: topics.clone(),
            subscriptions: Vec::new(),
        }
    }

    /// Announces the subscriptions of `matchers` (type, pattern, payload;
    /// one subscription each) and tracks them while `inner` lives.
    pub(super) async fn start(
        inner: TopicSubscription,
        topics: &TopicHub<B>,
        matchers: &[(MatchType, String, Option<Value>)],
    ) -> Self {
        let subscriber = sse_hub::topics::generate_id();
        let subscriptions: Vec<(String, Value)> = matchers
            .iter()
            .map(|(kind, pattern, payload)| {
                describe(*kind, pattern, &subscriber, payload.as_ref(), true)
            })
            .collect();
        for (topic, doc) in &subscriptions {
            announce(topics, topic, doc).await;
            let _ = topics.presence_insert(topic.clone(), doc.to_string()).await;
        }
        Tracked {
            inner,
            topics: topics.clone(),
            subscriptions,
        }
    }
}

/// Publishes `doc` as the private subscription event of `topic`.
async fn announce<B: Backend>(topics: &TopicHub<B>, topic: &str, doc: &Value) {
    let update = Update::new(topic, doc.to_string())
        .private()
        .event_type(RESERVED_TYPE);
    let _ = topics.publish_own(update).await;
}

impl<B: Backend> Drop for Tracked<B> {
    fn drop(&mut self) {
        let topics = self.topics.clone();
        let subscriptions = std::mem::take(&mut self.subscriptions);
        // Announced from a task: a drop cannot wait.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                for (topic, mut doc) in subscriptions {
                    doc["active"] = Value::Bool(false);
                    let _ = topics.presence_remove(&topic).await;
                    announce(&topics, &topic, &doc).await;
                }
            });
        }
    }
}

impl<B: Backend> Stream for Tracked<B> {
    type Item = EncodedFrame;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EncodedFrame>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// Announces, ended, the subscriptions of instances found gone.
pub(super) async fn announce_departed<B: Backend>(topics: TopicHub<B>) {
    let mut departed = topics.departed();
    loop {
        match departed.recv().await {
            Ok(entries) => {
                for (topic, doc) in entries {
                    let Ok(mut doc) = serde_json::from_str::<Value>(&doc) else {
                        continue;
                    };
                    doc["active"] = Value::Bool(false);
                    announce(&topics, &topic, &doc).await;
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// `GET /.well-known/mercure/subscriptions[/{matchType}/{match}[/{subscriber}]]`.
pub(super) async fn list<B: Backend>(
    State(mercure): State<Mercure<B>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let config = &mercure.config;
    if !config.subscriptions {
        return StatusCode::NOT_FOUND.into_response();
    }
    let base = config.topics.base();
    let path = uri.path().trim_end_matches('/');
    let rights: Rights = match find_token(&headers, query_token(&uri).as_deref()) {
        Err(denied) => return denied.into_response(),
        Ok(None) => return Denied::NoToken.into_response(),
        Ok(Some((token, _))) => {
            let Some(key) = &config.subscriber else {
                return Denied::InvalidToken.into_response();
            };
            match validate(
                &token,
                key,
                config.issuer.as_deref(),
                &config.audiences(&headers),
                base,
            ) {
                Ok(rights) => rights,
                Err(denied) => return denied.into_response(),
            }
        }
    };
    // The requested URL, in relative form, is the topic to authorize.
    let topic = sse_hub::topics::Topic::new(path, base);
    if !rights.subscribe.iter().any(|m| m.matches(&topic)) {
        return Denied::Forbidden.into_response();
    }
    let root = root();
    let depth = path
        .strip_prefix(&root)
        .map(|rest| rest.split('/').filter(|s| !s.is_empty()).count());
    let Ok(entries) = config.topics.presence().await else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
        )
            .into_response();
    };
    let last_event_id = config
        .topics
        .last_event_id()
        .unwrap_or_else(|| sse_hub::topics::EARLIEST.to_owned());
    let docs = entries
        .into_iter()
        .filter(|(key, _)| *key == path || key.starts_with(&format!("{path}/")))
        .filter_map(|(_, doc)| serde_json::from_str::<Value>(&doc).ok());
    let body = match depth {
        Some(0 | 2) => json!({
            "@context": "https://mercure.rocks/",
            "id": path,
            "type": "Subscriptions",
            "lastEventID": last_event_id,
            "subscriptions": docs.collect::<Vec<_>>(),
        }),
        Some(3) => {
            let Some(mut doc) = docs.into_iter().next() else {
                return StatusCode::NOT_FOUND.into_response();
            };
            doc["lastEventID"] = Value::String(last_event_id);
            doc
        }
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/ld+json"),
        )],
        body.to_string(),
    )
        .into_response()
}
