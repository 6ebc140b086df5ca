//! The CORS example's two servers, shared by `main.rs` and the browser test:
//! a page on one origin whose `EventSource` uses `withCredentials: true` to
//! read events from another origin. tower-http's `CorsLayer` allows exactly
//! the page's origin and credentials (a wildcard origin is not allowed with
//! credentials, and the browser would refuse the stream).

use axum::http::{header, HeaderValue, Method};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, Stream, StreamExt};
use sse_axum::{Event, Sse};
use tower_http::cors::CorsLayer;

/// The page, served from `page_origin`, reading events from `events_url`.
pub(crate) fn page(events_url: &str) -> Router {
    let html = include_str!("index.html").replace("EVENTS_URL", events_url);
    Router::new().route("/", get(move || async move { Html(html) }))
}

/// The events, readable with credentials from `page_origin` only.
pub(crate) fn events(page_origin: &str) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(HeaderValue::from_str(page_origin).expect("an origin is a valid header"))
        .allow_methods([Method::GET])
        // A reconnecting EventSource sends Last-Event-ID across origins.
        .allow_headers([header::HeaderName::from_static(
            sse_codec::http::LAST_EVENT_ID,
        )])
        .allow_credentials(true);
    Router::new()
        .route("/events", get(stream_events))
        .layer(cors)
}

async fn stream_events(headers: axum::http::HeaderMap) -> Sse<impl Stream<Item = Event>> {
    // The cookie shows that the browser sent credentials across origins.
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|c| c.to_str().ok())
        .unwrap_or("none")
        .to_owned();
    Sse::new(
        stream::iter(1..=3)
            .map(move |n| {
                Event::builder()
                    .id(n.to_string())
                    .data(format!("event {n}, cookie: {cookie}"))
                    .build()
                    .unwrap()
            })
            .chain(stream::pending()),
    )
}
