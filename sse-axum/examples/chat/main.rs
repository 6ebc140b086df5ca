//! Resumable LLM answers: `cargo run -p sse-axum --example chat`, then open
//! <http://127.0.0.1:3000/>. Ask, then reload, open a second tab, or press
//! Stop: the answer survives in the hub.
//!
//! By default it answers from its built-in fake model (no key needed). With
//! `LLM_URL` (and `LLM_API_KEY`, `LLM_MODEL`) it asks any OpenAI-compatible
//! API. `PORT` sets the port; `REDIS_URL` makes several instances one
//! application (an answer resumes on any of them, Stop reaches the one that
//! generates it, and a lost instance's answers end with an error).

mod app;

use std::time::Duration;

use sse_hub::redis::RedisBackend;
use sse_hub::Hub;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = demo::port();
    let llm = app::Llm {
        url: std::env::var("LLM_URL").unwrap_or_else(|_| format!("http://127.0.0.1:{port}")),
        key: std::env::var("LLM_API_KEY").ok(),
        model: std::env::var("LLM_MODEL").unwrap_or_else(|_| "fake".to_owned()),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let routes = match std::env::var("REDIS_URL") {
        Ok(url) => {
            let backend = RedisBackend::builder(url)
                .history_events(app::ANSWER_EVENTS)
                .history_bytes(16 << 20)
                .connect()
                .await
                .map_err(std::io::Error::other)?;
            app::router(Hub::builder().build_with(backend), llm)
        }
        Err(_) => {
            let hub = Hub::builder()
                .history_events(app::ANSWER_EVENTS)
                .history_bytes(16 << 20)
                .build();
            app::router(hub, llm)
        }
    };
    println!("chat on http://127.0.0.1:{port}/");
    let limits = sse_serve::Limits::default();
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    sse_serve::serve(listener, routes, limits, shutdown, Duration::from_secs(5)).await;
    Ok(())
}
