//! The demo on warp: a long batch job streams its progress to a web page.
//!
//! `cargo run -p sse-warp --example warp_progress`, then open
//! <http://127.0.0.1:3000/> (or set `PORT`).

mod app;

use std::time::Duration;

use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() {
    let port = demo::port();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the port is free");
    println!(
        "progress demo (warp) on http://{}/ (Ctrl-C to stop)",
        listener.local_addr().expect("bound")
    );
    let jobs = app::Jobs::new();
    tokio::spawn(jobs.clone().run(Duration::from_millis(250)));
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    // warp's server sets no header read timeout: hyper's server with
    // limits, serving the filter as a tower service.
    let service = warp::service(app::routes(jobs, shutdown.clone()));
    let stop = async move {
        let _ = tokio::signal::ctrl_c().await;
        // Ends every open event stream, so the server can finish.
        signal.cancel();
    };
    let limits = sse_serve::Limits::default();
    sse_serve::serve(listener, service, limits, stop, Duration::from_secs(1)).await;
}
