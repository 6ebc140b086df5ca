//! `sse serve`: JSON Lines on stdin, broadcast as an event stream.

use std::net::SocketAddr;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use sse_axum::{KeepAlive, LastEventIdOrQuery, Sse};
use sse_codec::Frame;
use sse_hub::{Hub, Subscription};
use tokio::io::AsyncBufReadExt;

use crate::{fail, jsonl, Failed};

/// The hub channel the events go to.
const CHANNEL: &str = "stdin";

/// Read JSON Lines events on stdin (as `sse encode` does) and serve them as
/// an event stream at http://ADDR/, broadcast to every connected client.
///
/// Each event gets the next id unless it has one. A client that reconnects
/// with Last-Event-ID gets the events it missed from the last --history
/// events, or a `reset` event if they are gone. Refused lines are reported
/// on stderr and skipped; comment-only and retry-only lines are not
/// broadcast. When stdin ends, the server goes on serving until Ctrl-C.
///
/// Example: tail -f app.log | jq -c '{data: .}' | sse serve
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The address to listen on (port 0: any free port, printed on stderr).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The number of events kept for reconnecting clients.
    #[arg(long, value_name = "EVENTS", default_value_t = 1000)]
    history: usize,
}

pub(crate) async fn run(args: Args) -> Result<(), Failed> {
    let hub = Hub::builder().history_events(args.history).build();
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|err| fail("serve", format!("{}: {err}", args.addr)))?;
    let addr = listener.local_addr().map_err(|err| fail("serve", err))?;
    eprintln!("sse serve: serving stdin on http://{addr}/ (Ctrl-C to stop)");
    let app = Router::new()
        .route("/", get(events))
        .with_state(hub.clone());
    tokio::spawn(publish_stdin(hub));
    tokio::select! {
        served = axum::serve(listener, app) => served.map_err(|err| fail("serve", err)),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

async fn events(
    State(hub): State<Hub>,
    LastEventIdOrQuery(last): LastEventIdOrQuery,
) -> Sse<Subscription> {
    let Ok(subscription) = hub.subscribe(CHANNEL, last.as_deref());
    Sse::new(subscription).keep_alive(KeepAlive::new())
}

async fn publish_stdin(hub: Hub) {
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
                            let Ok(_) = hub.publish(CHANNEL, event);
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
