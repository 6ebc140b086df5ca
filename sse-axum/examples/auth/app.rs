//! The auth example's server, shared by `main.rs` and the tests: per-user
//! notification streams behind bearer tokens.
//!
//! - `GET /events` with `Authorization: Bearer <token>`: that user's own
//!   stream (`event: notification`, JSON `{"from", "text"}` data, an id on
//!   each), resumable with `Last-Event-ID` or the `lastEventId` query
//!   parameter (what the event-source-polyfill sends). Each user is a hub
//!   channel of their own, so an id from another user's stream, or a forged
//!   one, can only ever name events of this user's channel: their own
//!   history, or the reset event. No token, or an unknown one: 401.
//! - `POST /notify` with the sender's token and `{"to": "<name>", "text":
//!   "..."}`: 202; 404 for an unknown recipient; 401 without a valid token.
//! - `GET /`: the page, which connects with the polyfill sending the
//!   `Authorization` header; `GET /eventsource.js`: the polyfill, from
//!   `node_modules` (`npm ci` in this folder).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sse_axum::{KeepAlive, LastEventIdOrQuery, Sse};
use sse_hub::Hub;
use tokio_util::sync::CancellationToken;

/// The demo's users when `AUTH_TOKENS` is not set: `name:token` pairs.
pub(crate) const DEMO_TOKENS: &str = "alice:alice-secret,bob:bob-secret";

#[derive(Clone)]
pub(crate) struct AppState {
    /// Token → user name.
    users: Arc<HashMap<String, String>>,
    hub: Hub,
    shutdown: CancellationToken,
}

/// The users of `tokens` (`name:token,name:token`; malformed pairs are
/// skipped).
pub(crate) fn users(tokens: &str) -> HashMap<String, String> {
    tokens
        .split(',')
        .filter_map(|pair| pair.trim().split_once(':'))
        .filter(|(name, token)| !name.is_empty() && !token.is_empty())
        .map(|(name, token)| (token.to_owned(), name.to_owned()))
        .collect()
}

pub(crate) fn router(users: HashMap<String, String>, shutdown: CancellationToken) -> Router {
    let hub = Hub::builder().history_events(100).build();
    Router::new()
        .route("/", get(|| async { Html(include_str!("index.html")) }))
        .route("/eventsource.js", get(polyfill))
        .route("/events", get(events))
        .route("/notify", post(notify))
        .with_state(AppState {
            users: Arc::new(users),
            hub,
            shutdown,
        })
}

/// The user whose bearer token `headers` carry.
fn user<'a>(state: &'a AppState, headers: &HeaderMap) -> Option<&'a str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?;
    state.users.get(token).map(String::as_str)
}

/// A user's own channel: replay and ids never cross it.
fn channel(user: &str) -> String {
    format!("user:{user}")
}

async fn events(
    State(state): State<AppState>,
    LastEventIdOrQuery(last): LastEventIdOrQuery,
    headers: HeaderMap,
) -> Response {
    let Some(user) = user(&state, &headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Ok(subscription) = state.hub.subscribe(&channel(user), last.as_deref()).await;
    Sse::new(subscription)
        .keep_alive(KeepAlive::new())
        .until(state.shutdown.clone().cancelled_owned())
        .into_response()
}

#[derive(serde::Deserialize)]
struct Notify {
    to: String,
    text: String,
}

async fn notify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(notify): Json<Notify>,
) -> StatusCode {
    let Some(from) = user(&state, &headers) else {
        return StatusCode::UNAUTHORIZED;
    };
    if !state.users.values().any(|name| *name == notify.to) {
        return StatusCode::NOT_FOUND;
    }
    let event = sse_codec::Event::builder()
        .event_type("notification")
        .json_data(&serde_json::json!({ "from": from, "text": notify.text }))
        .build()
        .expect("a fixed event type and JSON data are valid");
    let Ok(_) = state.hub.publish(&channel(&notify.to), event).await;
    StatusCode::ACCEPTED
}

/// The event-source-polyfill, as npm installed it beside this file.
async fn polyfill() -> Response {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/auth/node_modules/event-source-polyfill/src/eventsource.min.js"
    );
    match tokio::fs::read(path).await {
        Ok(js) => ([(header::CONTENT_TYPE, "text/javascript")], js).into_response(),
        Err(_) => (
            StatusCode::NOT_FOUND,
            "the event-source-polyfill is not installed: run `npm ci` in sse-axum/examples/auth\n",
        )
            .into_response(),
    }
}
