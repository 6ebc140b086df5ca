//! What `sse serve` and `sse hub` share: the serving loop's limits, the
//! metrics endpoint, and serving until a signal.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::header;
use axum::routing::get;
use axum::Router;
use sse_serve::{Limits, Stopped};

use crate::{fail, Failed};

/// The serving loop's limits, as flags.
#[derive(Debug, clap::Args)]
pub(crate) struct LimitArgs {
    /// Close a connection that has not sent its request head within this
    /// many seconds.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = crate::parse_seconds)]
    header_timeout: Duration,
    /// Answer 503 to connections past this many open at once.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_connections: usize,
    /// Event streams one HTTP/2 connection may carry at once (a proxy
    /// multiplexing its clients); past it a stream is refused.
    #[arg(long, value_name = "N", default_value_t = sse_serve::DEFAULT_MAX_STREAMS)]
    max_streams: u32,
    /// Close a connection whose client takes no byte for this many seconds
    /// while there is something to send (it stopped reading); it
    /// reconnects with its Last-Event-ID. A slow reader that keeps reading
    /// is never closed.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = crate::parse_seconds)]
    send_timeout: Duration,
}

impl LimitArgs {
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            header_timeout: self.header_timeout,
            max_connections: self.max_connections,
            max_streams_per_connection: self.max_streams,
            send_timeout: self.send_timeout,
        }
    }
}

/// Installs the Prometheus recorder and serves `GET /metrics` on `addr`.
pub(crate) async fn serve_metrics(command: &str, addr: SocketAddr) -> Result<SocketAddr, Failed> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .map_err(|err| fail(command, format!("--metrics-addr: {err}")))?;
    sse_hub::describe_metrics();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|err| fail(command, format!("--metrics-addr {addr}: {err}")))?;
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    handle.render(),
                )
            }
        }),
    );
    let bound = listener.local_addr().map_err(|err| fail(command, err))?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(bound)
}

/// Serves `app` on `listener` with hyper's server settings
/// ([`sse_serve::serve`]: a header read timeout, a cap on connections
/// answered with 503) until SIGINT or SIGTERM; then tells every stream to
/// end (`stop`), stops accepting, and waits for the connections to close,
/// at most `drain` plus one second.
pub(crate) async fn serve_until_signal(
    command: &'static str,
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    stop: tokio::sync::watch::Sender<bool>,
    drain: Option<Duration>,
) -> std::io::Result<()> {
    let signal = async move {
        shutdown_signal().await;
        eprintln!("sse {command}: stopping");
        let _ = stop.send(true);
    };
    let wait = drain.unwrap_or_default() + Duration::from_secs(1);
    let stopped = sse_serve::serve(listener, app, limits, signal, wait).await;
    if stopped == Stopped::GraceExpired {
        eprintln!("sse {command}: connections still open after {wait:?}; exiting");
    }
    Ok(())
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
