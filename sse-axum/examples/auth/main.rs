//! Per-user notifications behind bearer tokens, with the
//! event-source-polyfill (a browser's `EventSource` cannot send an
//! `Authorization` header).
//!
//! `npm ci --prefix sse-axum/examples/auth`, then
//! `cargo run -p sse-axum --example auth` and open
//! <http://127.0.0.1:3000/?token=alice-secret> and
//! <http://127.0.0.1:3000/?token=bob-secret> (or set `PORT`). Users and
//! tokens come from `AUTH_TOKENS` (`name:token` pairs separated by commas;
//! the demo's default is `alice:alice-secret,bob:bob-secret`).

mod app;

use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = demo::port();
    let tokens = std::env::var("AUTH_TOKENS").unwrap_or_else(|_| app::DEMO_TOKENS.to_owned());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    println!("auth demo on http://{addr}/?token=alice-secret (Ctrl-C to stop)");
    let shutdown = CancellationToken::new();
    let app = app::router(app::users(&tokens), shutdown.clone());
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            shutdown.cancel();
        })
        .await
}
