//! `sse listen`: a terminal EventSource.

use std::io::Write;
use std::time::Duration;

use futures_util::StreamExt;
use sse_client::{Error, EventSource, Message};
use sse_codec::Frame;

use crate::jsonl::Line;
use crate::{fail, is_broken_pipe, parse_seconds, Failed};

/// Connect to URL and print its events as they come, reconnecting like a
/// browser's EventSource.
///
/// After the server ends the stream it waits the reconnection time (3 s, or
/// what the server's retry field said) and reconnects with Last-Event-ID;
/// while reconnections fail it backs off exponentially. It stops, with exit
/// status 0, when the server answers 204 No Content. A status other than 200
/// or a Content-Type other than text/event-stream is an error (exit status
/// 1). Connection messages go to stderr.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The URL of the event stream.
    url: String,
    /// A request header, 'Name: value' (repeatable), e.g.
    /// -H 'Authorization: Bearer TOKEN'.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// The request method.
    #[arg(
        short = 'X',
        long = "request",
        value_name = "METHOD",
        default_value = "GET"
    )]
    method: String,
    /// The request body, sent on every connection.
    #[arg(short = 'd', long = "data", value_name = "BODY")]
    body: Option<String>,
    /// Send a request other than GET again after events have arrived (by
    /// default only GET is: a POST is not submitted twice).
    #[arg(long)]
    resend: bool,
    /// Send this Last-Event-ID from the first request on.
    #[arg(long, value_name = "ID")]
    last_event_id: Option<String>,
    /// Write JSON Lines, as `sse decode` does, instead of readable text.
    #[arg(long)]
    json: bool,
    /// Also write comment lines (keep-alives).
    #[arg(long)]
    comments: bool,
    /// Give up (exit status 1) rather than reconnect more than N times.
    #[arg(long, value_name = "N")]
    max_reconnects: Option<u32>,
    /// Reconnect when nothing (not even a keep-alive) arrives for this many
    /// seconds: for peers that vanish without closing the connection.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    idle_timeout: Option<Duration>,
    /// Stop after this many seconds (exit status 0).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    timeout: Option<Duration>,
}

pub(crate) async fn run(args: Args) -> Result<(), Failed> {
    let method = sse_client::reqwest::Method::from_bytes(args.method.as_bytes())
        .map_err(|_| fail("listen", format!("invalid method {:?}", args.method)))?;
    let mut builder = EventSource::builder(&args.url).method(method);
    for (name, value) in &crate::header_args("listen", &args.headers)? {
        // Made from a `&str` above, so the bytes are UTF-8: nothing is lost.
        builder = builder.header(name.as_str(), String::from_utf8_lossy(value.as_bytes()));
    }
    if let Some(body) = args.body.clone() {
        builder = builder.body(body);
    }
    if let Some(id) = args.last_event_id.clone() {
        builder = builder.last_event_id(id);
    }
    if args.resend {
        builder = builder.resend_after_events(true);
    }
    if let Some(n) = args.max_reconnects {
        builder = builder.max_reconnects(n);
    }
    if let Some(idle) = args.idle_timeout {
        builder = builder.idle_timeout(idle);
    }
    let source = builder.build().map_err(|err| fail("listen", err))?;
    let listening = listen(source, &args);
    match args.timeout {
        None => listening.await,
        Some(limit) => match tokio::time::timeout(limit, listening).await {
            Ok(result) => result,
            Err(_) => {
                eprintln!("sse listen: stopped after {limit:?} (--timeout)");
                Ok(())
            }
        },
    }
}

async fn listen(mut source: EventSource, args: &Args) -> Result<(), Failed> {
    let mut out = std::io::stdout().lock();
    while let Some(item) = source.next().await {
        let written = match item {
            Ok(Message::Open(_)) => {
                eprintln!("sse listen: connected to {}", args.url);
                Ok(())
            }
            Ok(message) => print(&mut out, message, args),
            Err(err @ (Error::Transport(_) | Error::Idle(_))) => {
                eprintln!("sse listen: {err}; reconnecting");
                Ok(())
            }
            Err(err @ Error::Decode(_)) => {
                eprintln!("sse listen: {err}; skipped");
                Ok(())
            }
            Err(err) => {
                // What the server said, as an API's JSON error says it.
                let said = err.rejected().map(|r| String::from_utf8_lossy(&r.body));
                return Err(match said.as_deref().map(str::trim) {
                    Some(said) if !said.is_empty() => fail("listen", format!("{err}: {said}")),
                    _ => fail("listen", err),
                });
            }
        };
        match written.and_then(|()| out.flush()) {
            Ok(()) => {}
            Err(err) if is_broken_pipe(&err) => return Ok(()),
            Err(err) => return Err(fail("listen", format!("writing output: {err}"))),
        }
    }
    eprintln!("sse listen: the server answered 204 No Content: done");
    Ok(())
}

/// Writes one message: as `sse decode` does with --json; otherwise
/// `type #id: data`, continuation lines of the data indented.
fn print(out: &mut impl Write, message: Message, args: &Args) -> std::io::Result<()> {
    let Message::Frame(frame) = message else {
        return Ok(());
    };
    if args.json {
        return match Line::of(&frame, args.comments) {
            Some(line) => line.write(out),
            None => Ok(()),
        };
    }
    match &frame {
        Frame::Event(event) => {
            write!(out, "{}", event.event_type())?;
            if let Some(id) = event.id() {
                write!(out, " #{id}")?;
            }
            writeln!(out, ": {}", event.data().replace('\n', "\n  "))
        }
        Frame::Retry(retry) => writeln!(out, "(retry: {} ms)", retry.as_millis()),
        Frame::Comment(text) if args.comments => writeln!(out, "(comment: {text})"),
        _ => Ok(()),
    }
}
