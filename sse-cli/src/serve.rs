//! `sse serve`: JSON Lines on stdin, broadcast as an event stream.

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sse_axum::{KeepAlive, LastEventIdOrQuery, Sse};
use sse_codec::Frame;
use sse_hub::backend::Backend;
use sse_hub::redis::RedisBackend;
use sse_hub::{Hub, Resume};
use std::time::Duration;

use tokio::io::AsyncBufReadExt;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::serving::{serve_metrics, serve_until_signal};
use crate::{fail, jsonl, Failed};

/// The hub channel the events go to.
const CHANNEL: &str = "stdin";

/// Read JSON Lines events on stdin (as `sse encode` does) and serve them as
/// an event stream at http://ADDR/, broadcast to every connected client.
///
/// A browser that opens http://ADDR/ itself (Accept: text/html) gets a page
/// showing the events as they come (message events; add named types with
/// http://ADDR/?types=update,progress); EventSource, curl and other clients
/// get the stream. Each event gets the next id unless it has one. A client that reconnects
/// with Last-Event-ID gets the events it missed from the last --history
/// events, or a `reset` event if they are gone. Refused lines are reported
/// on stderr and skipped; comment-only and retry-only lines are not
/// broadcast. When stdin ends, the server goes on serving until Ctrl-C or
/// SIGTERM, which end every stream cleanly (after a spread-out retry with
/// --drain) and exit within a second (plus the drain window).
///
/// With --redis, several `sse serve` processes on one Redis form one hub:
/// a line piped into any of them reaches the clients of all, and a client
/// resumes on any of them. Ids are then `<epoch>-<seq>` (lines must not
/// carry their own id); a line that cannot be published (Redis down) is
/// reported on stderr, and a new client gets 503 until Redis is back.
///
/// Example: tail -f app.log | jq -c '{data: .}' | sse serve
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The address to listen on (port 0: any free port, printed on stderr).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The number of events kept for reconnecting clients (and, outside a
    /// burst, how far a client may fall behind before it gets a `reset`).
    #[arg(long, value_name = "EVENTS", default_value_t = 1000)]
    history: usize,
    /// The most bytes of events kept (the same two uses as --history).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    history_bytes: usize,
    /// In a burst, keep up to this many bytes of events (for 10 s) for the
    /// connected clients still reading them, past --history: a client that
    /// keeps up on average gets no reset in a burst this large. 0 for none.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    burst_bytes: usize,
    /// Send new clients (no Last-Event-ID) the history first, as `tail`
    /// shows the last lines; by default they get only what comes next.
    #[arg(long)]
    replay_history: bool,
    /// Let pages from this origin read the stream (CORS), e.g.
    /// https://app.example.com (repeatable), or '*' for any origin.
    #[arg(long, value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// Share the hub with every `sse serve` on this Redis, e.g.
    /// redis://127.0.0.1:6379/ (--history then bounds the Redis log too).
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// On SIGINT or SIGTERM, send each client a retry picked at random up to
    /// this many seconds before ending its stream, so that they reconnect
    /// (to another instance) spread over that window, not all at once.
    #[arg(long, value_name = "SECONDS", value_parser = crate::parse_seconds)]
    drain: Option<Duration>,
    #[command(flatten)]
    limits: crate::serving::LimitArgs,
    /// Serve the hub's metrics at http://ADDR/metrics in the Prometheus text
    /// format (subscribers, channels, events and bytes published, events
    /// replayed, resets, subscribers that fell behind, history bytes).
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// The prefix of the Redis keys, so that several hubs share one Redis.
    #[arg(long, value_name = "PREFIX", default_value = sse_hub::redis::DEFAULT_PREFIX, requires = "redis")]
    redis_prefix: String,
}

pub(crate) async fn run(args: Args) -> Result<(), Failed> {
    let metrics = match args.metrics_addr {
        Some(addr) => Some(serve_metrics("serve", addr).await?),
        None => None,
    };
    let burst_age = Duration::from_secs(10);
    let builder = Hub::builder()
        .history_events(args.history)
        .history_bytes(args.history_bytes)
        .history_burst(args.burst_bytes, burst_age);
    match &args.redis {
        None => serve(builder.build(), args, metrics).await,
        Some(url) => {
            let backend = RedisBackend::builder(url.as_str())
                .prefix(args.redis_prefix.as_str())
                .history_events(args.history)
                .history_bytes(args.history_bytes)
                .history_burst(args.burst_bytes, burst_age)
                .connect()
                .await
                .map_err(|err| fail("serve", format!("--redis {url}: {err}")))?;
            serve(builder.build_with(backend), args, metrics).await
        }
    }
}

async fn serve<B: Backend>(
    hub: Hub<B>,
    args: Args,
    metrics: Option<SocketAddr>,
) -> Result<(), Failed> {
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|err| fail("serve", format!("{}: {err}", args.addr)))?;
    let addr = listener.local_addr().map_err(|err| fail("serve", err))?;
    eprintln!("sse serve: serving stdin on http://{addr}/ (Ctrl-C to stop)");
    if let Some(metrics) = metrics {
        eprintln!("sse serve: metrics on http://{metrics}/metrics");
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let state = AppState {
        hub: hub.clone(),
        new_clients: if args.replay_history {
            Resume::Oldest
        } else {
            Resume::Live
        },
        stopped,
        drain: args.drain,
    };
    let app = Router::new().route("/", get(events::<B>)).with_state(state);
    let app = match cors(&args.allow_origin) {
        Ok(Some(cors)) => app.layer(cors),
        Ok(None) => app,
        Err(err) => return Err(fail("serve", err)),
    };
    tokio::spawn(publish_stdin(hub));
    serve_until_signal(
        "serve",
        listener,
        app,
        args.limits.limits(),
        stop,
        args.drain,
    )
    .await
    .map_err(|err| fail("serve", err))
}

struct AppState<B> {
    hub: Hub<B>,
    /// Where a client without a Last-Event-ID starts.
    new_clients: Resume<'static>,
    /// Becomes true when the server stops: every stream ends.
    stopped: tokio::sync::watch::Receiver<bool>,
    /// `--drain`.
    drain: Option<Duration>,
}

impl<B> Clone for AppState<B> {
    fn clone(&self) -> Self {
        AppState {
            hub: self.hub.clone(),
            new_clients: self.new_clients,
            stopped: self.stopped.clone(),
            drain: self.drain,
        }
    }
}

async fn events<B: Backend>(
    State(state): State<AppState<B>>,
    LastEventIdOrQuery(last): LastEventIdOrQuery,
    headers: HeaderMap,
) -> Response {
    let wants_page = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_page {
        return Html(PAGE).into_response();
    }
    let from = last.as_deref().map_or(state.new_clients, Resume::After);
    let mut stopped = state.stopped.clone();
    let stop = async move {
        let _ = stopped.wait_for(|stopped| *stopped).await;
    };
    match state.hub.subscribe(CHANNEL, from).await {
        Ok(subscription) => {
            let sse = Sse::new(subscription).keep_alive(KeepAlive::new());
            match state.drain {
                Some(window) => sse.until_drained(stop, window),
                None => sse.until(stop),
            }
            .into_response()
        }
        // The client's EventSource retries; nothing is lost meanwhile.
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            format!("{err}\n"),
        )
            .into_response(),
    }
}

/// The page a browser gets at `/`: the events, newest last.
const PAGE: &str = include_str!("serve.html");

/// The CORS layer for `--allow-origin`, if any was given.
fn cors(origins: &[String]) -> Result<Option<CorsLayer>, String> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let origins = origins
            .iter()
            .map(|o| {
                HeaderValue::from_str(o)
                    .map_err(|_| format!("--allow-origin {o:?}: not a valid origin"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(origins)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET])
            // A reconnecting EventSource sends Last-Event-ID.
            .allow_headers([HeaderName::from_static(sse_codec::http::LAST_EVENT_ID)]),
    ))
}

async fn publish_stdin<B: Backend>(hub: Hub<B>) {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut number = 0u64;
    loop {
        number += 1;
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(err) => {
                eprintln!("sse serve: reading stdin: {err}");
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        match jsonl::parse(line.trim()) {
            Ok(frames) => {
                for frame in frames {
                    match frame {
                        Frame::Event(event) => {
                            if let Err(err) = hub.publish(CHANNEL, event).await {
                                eprintln!("sse serve: line {number}: {err}; not published");
                            }
                        }
                        _ => eprintln!(
                            "sse serve: line {number}: only events are broadcast; skipped"
                        ),
                    }
                }
            }
            Err(err) => eprintln!("sse serve: line {number}: {err}; skipped"),
        }
    }
    eprintln!("sse serve: stdin ended; still serving (Ctrl-C to stop)");
}
