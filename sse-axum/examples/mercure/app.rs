//! A bookstore with live updates: the application's own routes and a
//! Mercure hub's routes in one axum app. The application publishes
//! through the hub's library API (no HTTP round trip to itself); pages
//! and backends in other languages use the hub's HTTP routes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use axum::Router;
use sse_axum::mercure::Mercure;
use sse_hub::topics::{TopicHub, Update};
use sse_hub::Hub;

/// The page: follows every book with one `EventSource` and a URL pattern.
const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>Books</title>
<p>Live book prices. Change one with
<code>curl -X POST http://HOST/books/1/price/12</code>.</p>
<ul id="books"></ul>
<script>
const url = new URL("/.well-known/mercure", location.href);
url.searchParams.append("matchURLPattern", "/books/:id");
new EventSource(url).onmessage = (e) => {
  const book = JSON.parse(e.data);
  let li = document.getElementById("book-" + book.id);
  if (!li) { li = document.createElement("li"); li.id = "book-" + book.id; document.getElementById("books").append(li); }
  li.textContent = `book ${book.id}: ${book.price} €`;
};
</script>
"#;

/// The app: `/` (the page), `POST /books/{id}/price/{price}` (publishes
/// the book's new state), and the hub at `/.well-known/mercure`, whose
/// URL is `hub_url`. Subscribers need no token; publishing over HTTP
/// needs one signed with `publisher_key`.
pub(crate) fn app(hub_url: url::Url, publisher_key: &[u8]) -> Router {
    let topics = TopicHub::builder(Hub::new(), hub_url).build();
    let key = sse_axum::mercure::Key::new(sse_axum::mercure::KeyAlgorithm::Hs256, publisher_key)
        .expect("an HS256 secret is any bytes");
    let hub = Mercure::builder(topics.clone())
        .publisher_key(key)
        .anonymous(true)
        .build();
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/books/{id}/price/{price}", post(set_price))
        .with_state(topics)
        .merge(hub.router())
}

async fn set_price(
    State(topics): State<TopicHub>,
    Path((id, price)): Path<(u32, u32)>,
) -> Result<String, StatusCode> {
    // The topic is relative: the hub's URL is its base.
    let update = Update::new(
        format!("/books/{id}"),
        serde_json::json!({ "id": id, "price": price }).to_string(),
    );
    let published = topics.publish(update).await;
    published.map_err(|_| StatusCode::SERVICE_UNAVAILABLE)
}
