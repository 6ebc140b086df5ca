//! Cross-origin events with credentials: `EventSource(url, { withCredentials:
//! true })` works with tower-http's `CorsLayer` allowing one origin and
//! credentials.
//!
//! `cargo run -p sse-axum --example cors`, then open
//! <http://127.0.0.1:3000/>: the page (origin `http://127.0.0.1:3000`) reads
//! events from `http://127.0.0.1:3001/events`, a different origin (another
//! port) on the same site, sending its cookie. `PORT` moves both (page on
//! `PORT`, events on `PORT + 1`).

mod app;

use std::future::IntoFuture;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = demo::port();
    let page_origin = format!("http://127.0.0.1:{port}");
    let events_url = format!("http://127.0.0.1:{}/events", port + 1);
    let page = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let events = tokio::net::TcpListener::bind(("127.0.0.1", port + 1)).await?;
    println!("page on {page_origin}/, events on {events_url}");
    tokio::try_join!(
        axum::serve(page, app::page(&events_url)).into_future(),
        axum::serve(events, app::events(&page_origin)).into_future(),
    )?;
    Ok(())
}
