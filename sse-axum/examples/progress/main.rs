//! The demo: a long batch job streams its progress to a web page.
//!
//! `cargo run -p sse-axum --example progress`, then open
//! <http://127.0.0.1:3000/> (or set `PORT`). Reload the page, or stop the
//! network for a while: the page resumes from the last event it saw.

mod app;

use std::time::Duration;

use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = demo::port();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "progress demo on http://{}/ (Ctrl-C to stop)",
        listener.local_addr()?
    );

    let jobs = app::Jobs::new();
    tokio::spawn(jobs.clone().run(Duration::from_millis(250)));
    let shutdown = CancellationToken::new();
    let app = app::router(jobs, shutdown.clone());
    // axum::serve sets no header read timeout: hyper's server with limits.
    let signal = async move {
        let _ = tokio::signal::ctrl_c().await;
        // Ends every open event stream, so the server can finish.
        shutdown.cancel();
    };
    let limits = sse_serve::Limits::default();
    sse_serve::serve(listener, app, limits, signal, Duration::from_secs(1)).await;
    Ok(())
}
