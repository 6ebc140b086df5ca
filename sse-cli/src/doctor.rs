//! `sse doctor`: connect to an event stream like a browser and say what in
//! its deployment will misbehave, and how to fix it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use sse_client::reqwest::{self, header, StatusCode, Version};
use sse_codec::{EventDecoder, Frame};

use crate::{fail, parse_seconds, Failed};

/// Check an event stream's deployment: connect to URL like a browser and
/// report, each as ok / warning / problem with why and how to fix it: the
/// status and headers, buffering by a proxy (judged from when the events
/// arrive, not from headers), keep-alive, a stream that ends too soon,
/// retry, ids, and resuming with Last-Event-ID.
///
/// Exit status: 0 when nothing is a problem, 1 when something is, 2 on a
/// usage error.
///
/// Example: sse doctor https://example.com/events -H 'Authorization: Bearer TOKEN'
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The URL of the event stream.
    url: String,
    /// A request header, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// How long to watch the stream, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_seconds)]
    duration: Duration,
    /// Print the findings as one JSON object.
    #[arg(long)]
    json: bool,
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Level {
    Ok,
    Warning,
    Problem,
}

#[derive(Debug, serde::Serialize)]
struct Finding {
    check: &'static str,
    level: Level,
    message: String,
}

/// A duration for a reader: `0.204 s`.
struct Secs(Duration);

impl std::fmt::Display for Secs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.3} s", self.0.as_secs_f64())
    }
}

/// What a browser sends.
const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// Frames arriving within this much of each other arrived together.
const TOGETHER: Duration = Duration::from_millis(15);

pub(crate) async fn run(args: Args) -> Result<(), Failed> {
    let mut headers = crate::header_args("doctor", &args.headers)?;
    for (name, value) in sse_codec::http::REQUEST_HEADERS {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    let findings = examine(&args, headers).await?;
    let problems = findings
        .iter()
        .filter(|f| f.level == Level::Problem)
        .count();
    if args.json {
        let report =
            serde_json::json!({ "url": args.url, "problems": problems, "findings": findings });
        println!("{report}");
    } else {
        for finding in &findings {
            let level = match finding.level {
                Level::Ok => "ok",
                Level::Warning => "warning",
                Level::Problem => "problem",
            };
            println!("{level:<8} {:<12} {}", finding.check, finding.message);
        }
    }
    if problems > 0 {
        Err(Failed)
    } else {
        Ok(())
    }
}

/// What one connection showed.
#[derive(Debug, Default)]
struct Watched {
    /// When each chunk arrived, after the request was sent.
    chunks: Vec<Duration>,
    /// Each frame and when it arrived.
    frames: Vec<(Duration, Frame)>,
    /// When the response ended, if it did.
    ended: Option<Duration>,
    /// The last event ID.
    last_id: Option<String>,
}

async fn examine(args: &Args, headers: header::HeaderMap) -> Result<Vec<Finding>, Failed> {
    let mut findings = Vec::new();
    let client = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .no_zstd()
        .connect_timeout(args.duration)
        .build()
        .map_err(|err| fail("doctor", err))?;
    let start = Instant::now();
    let request = client
        .get(&args.url)
        .headers(headers.clone())
        .header(header::ACCEPT_ENCODING, ACCEPT_ENCODING)
        .send();
    let response = match tokio::time::timeout(args.duration, request).await {
        Err(_) => {
            findings.push(problem(
                "response",
                format!(
                    "no response head within {}: a proxy holds the response until its buffer fills \
                     (nginx: `proxy_buffering off;`, or send `X-Accel-Buffering: no`), or the server \
                     does not answer",
                    Secs(args.duration)
                ),
            ));
            return Ok(findings);
        }
        Ok(Err(err)) => return Err(fail("doctor", format!("{}: {err}", args.url))),
        Ok(Ok(response)) => response,
    };
    check_head(&response, &mut findings);
    if response.status() != StatusCode::OK {
        return Ok(findings);
    }
    let compressed = response.headers().contains_key(header::CONTENT_ENCODING);
    let head_at = start.elapsed();
    // Events are judged uncompressed: watch on a connection that asks for
    // no compression if this one is compressed.
    let watched = if compressed {
        let plain = client
            .get(&args.url)
            .headers(headers.clone())
            .header(header::ACCEPT_ENCODING, "identity")
            .send()
            .await
            .map_err(|err| fail("doctor", err))?;
        watch(plain, Instant::now(), args.duration, Duration::ZERO).await
    } else {
        watch(response, start, args.duration, head_at).await
    };
    check_stream(&watched, args.duration, &mut findings);
    check_resume(args, &client, headers, &watched, &mut findings).await;
    Ok(findings)
}

fn ok(check: &'static str, message: impl Into<String>) -> Finding {
    Finding {
        check,
        level: Level::Ok,
        message: message.into(),
    }
}

fn warning(check: &'static str, message: impl Into<String>) -> Finding {
    Finding {
        check,
        level: Level::Warning,
        message: message.into(),
    }
}

fn problem(check: &'static str, message: impl Into<String>) -> Finding {
    Finding {
        check,
        level: Level::Problem,
        message: message.into(),
    }
}

fn check_head(response: &reqwest::Response, findings: &mut Vec<Finding>) {
    let status = response.status();
    findings.push(match status {
        StatusCode::OK => ok("status", "200 OK"),
        StatusCode::NO_CONTENT => problem(
            "status",
            "204 No Content: a browser stops and never reconnects",
        ),
        _ => problem(
            "status",
            format!("{status}: a browser fails the connection and does not retry"),
        ),
    });
    let headers = response.headers();
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
    };
    findings.push(match text(header::CONTENT_TYPE) {
        Some(t) if sse_codec::http::is_event_stream(t.as_bytes()) => ok("content-type", t),
        other => problem(
            "content-type",
            format!(
                "{}: a browser accepts only text/event-stream",
                other.as_deref().unwrap_or("missing")
            ),
        ),
    });
    let cache = text(header::CACHE_CONTROL).unwrap_or_default();
    findings.push(match (cache.contains("no-cache") || cache.contains("no-store"), cache.contains("no-transform")) {
        (true, true) => ok("cache", cache),
        (true, false) => warning(
            "cache",
            format!("{cache}: add no-transform, so that proxies do not compress or rewrite the stream"),
        ),
        (false, _) => warning(
            "cache",
            "no Cache-Control: no-cache: a cache between may store and replay the stream; send `Cache-Control: no-cache, no-transform`",
        ),
    });
    findings.push(match text(header::HeaderName::from_static("x-accel-buffering")) {
        Some(value) if value == "no" => ok("x-accel", "X-Accel-Buffering: no (nginx passes events on at once)"),
        other => warning(
            "x-accel",
            format!(
                "X-Accel-Buffering: {}: nginx buffers the stream unless the server sends `no` or `proxy_buffering off;` is set (nginx removes the header, so behind nginx judge by the buffering line)",
                other.as_deref().unwrap_or("not sent")
            ),
        ),
    });
    if let Some(coding) = text(header::CONTENT_ENCODING) {
        findings.push(warning(
            "compression",
            format!("Content-Encoding: {coding}: a compressor holds events until its block fills unless it flushes each one; compress only if every event is flushed"),
        ));
    }
    if response.version() == Version::HTTP_2 && headers.contains_key(header::CONNECTION) {
        findings.push(problem(
            "connection",
            "a Connection header on HTTP/2 is forbidden: browsers reject the response; do not set it",
        ));
    }
    if let Some(length) = text(header::CONTENT_LENGTH) {
        findings.push(problem(
            "length",
            format!("Content-Length: {length}: a stream has no length, the response ends after that many bytes; remove it"),
        ));
    }
}

/// Reads `response` for `duration` from `start`, recording when each chunk
/// and frame arrived.
async fn watch(
    response: reqwest::Response,
    start: Instant,
    duration: Duration,
    head_at: Duration,
) -> Watched {
    let mut watched = Watched {
        chunks: vec![head_at],
        ..Watched::default()
    };
    let mut decoder = EventDecoder::new();
    let mut body = response.bytes_stream();
    let deadline = start + duration;
    loop {
        let next = tokio::time::timeout_at(deadline.into(), body.next()).await;
        let at = start.elapsed();
        let mut chunk: Bytes = match next {
            Err(_) => break,
            Ok(Some(Ok(chunk))) => chunk,
            Ok(Some(Err(_)) | None) => {
                watched.ended = Some(at);
                break;
            }
        };
        watched.chunks.push(at);
        while let Ok(Some(frame)) = decoder.decode_frame(&mut chunk) {
            watched.frames.push((at, frame));
        }
    }
    watched.last_id = decoder.last_event_id().map(str::to_owned);
    watched
}

/// What one connection showed, judged check by check.
fn check_stream(watched: &Watched, duration: Duration, findings: &mut Vec<Finding>) {
    findings.push(check_buffering(watched, duration));
    findings.push(check_keep_alive(watched, duration));
    findings.push(check_end(watched, duration));
    findings.push(check_retry(watched));
    findings.push(check_ids(watched));
}

impl Watched {
    /// When each event arrived.
    fn event_times(&self) -> Vec<Duration> {
        self.frames
            .iter()
            .filter(|(_, f)| matches!(f, Frame::Event(_)))
            .map(|(at, _)| *at)
            .collect()
    }
}

/// Whether events arrive as they are sent, or in clumps (a buffering proxy
/// or compressor).
fn check_buffering(watched: &Watched, duration: Duration) -> Finding {
    let events = watched.event_times();
    // Arrival groups: frames that came together. The first group is what
    // the server had ready at connect (a replay of history), not buffering.
    let mut groups: Vec<(Duration, usize)> = Vec::new();
    for &at in &events {
        match groups.last_mut() {
            Some((last, n)) if at.saturating_sub(*last) <= TOGETHER => {
                *last = at;
                *n += 1;
            }
            _ => groups.push((at, 1)),
        }
    }
    let live = groups.get(1..).unwrap_or_default();
    let live_events: usize = live.iter().map(|(_, n)| n).sum();
    if watched.frames.is_empty() {
        problem(
            "buffering",
            format!("nothing arrived in {} after the response head: a proxy buffers the stream (nginx: `proxy_buffering off;`, or `X-Accel-Buffering: no` from the server), or the server sends nothing, not even a keep-alive", Secs(duration)),
        )
    } else if live_events >= 6 && live_events >= 3 * live.len() {
        let mean_gap = Secs(
            live.last().map_or(Duration::ZERO, |(at, _)| *at)
                / u32::try_from(live.len()).unwrap_or(1),
        );
        problem(
            "buffering",
            format!(
                "{live_events} events arrived in {} clumps (~{} each, every ~{mean_gap}): a proxy or compressor buffers them (nginx: `proxy_buffering off;`, or `X-Accel-Buffering: no` from the server)",
                live.len(),
                live_events / live.len().max(1)
            ),
        )
    } else if events.is_empty() {
        ok(
            "buffering",
            "no event in the window (only keep-alives): nothing to judge",
        )
    } else {
        ok(
            "buffering",
            format!(
                "{} events arrived as sent, in {} deliveries",
                events.len(),
                groups.len()
            ),
        )
    }
}

/// Whether the stream stays silent long enough for a proxy to close it.
fn check_keep_alive(watched: &Watched, duration: Duration) -> Finding {
    let longest = watched
        .chunks
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .chain(
            watched
                .chunks
                .last()
                .map(|last| duration.saturating_sub(*last)),
        )
        .max()
        .unwrap_or(duration);
    let comments = watched
        .frames
        .iter()
        .filter(|(_, f)| matches!(f, Frame::Comment(_)))
        .count();
    if longest > Duration::from_secs(45) {
        problem("keep-alive", format!("{} without a byte: proxies close idle connections after 60 s; send a comment every 15-30 s", Secs(longest)))
    } else if comments > 0 {
        ok(
            "keep-alive",
            format!(
                "{comments} keep-alive comments; longest silence {}",
                Secs(longest)
            ),
        )
    } else {
        ok("keep-alive", format!("longest silence {} (no keep-alive seen in the window; make sure one goes out every 15-30 s when idle)", Secs(longest)))
    }
}

/// Whether the response stays open.
fn check_end(watched: &Watched, duration: Duration) -> Finding {
    match watched.ended {
        Some(ended) => problem(
            "stream-end",
            format!("the stream ended after {} and {} events: every end costs the client a reconnect and `retry` of latency; keep the response open", Secs(ended), watched.event_times().len()),
        ),
        None => ok("stream-end", format!("open for the whole {}", Secs(duration))),
    }
}

/// Whether the `retry` sent, if any, spreads reconnections.
fn check_retry(watched: &Watched) -> Finding {
    let retry = watched.frames.iter().rev().find_map(|(_, f)| match f {
        Frame::Retry(retry) => Some(*retry),
        Frame::Event(event) => event.retry(),
        _ => None,
    });
    match retry {
        None => ok("retry", "none: browsers wait about 3 s before reconnecting"),
        Some(retry) if retry < Duration::from_millis(500) => warning(
            "retry",
            format!(
                "{}: clients reconnect almost at once, all together after a restart; use 1-10 s",
                Secs(retry)
            ),
        ),
        Some(retry) => ok("retry", Secs(retry).to_string()),
    }
}

/// Whether events carry ids a client can resume from.
fn check_ids(watched: &Watched) -> Finding {
    let ids: Vec<&str> = watched
        .frames
        .iter()
        .filter_map(|(_, f)| match f {
            Frame::Event(event) => Some(event.id().unwrap_or("")),
            _ => None,
        })
        .collect();
    if ids.is_empty() {
        ok("ids", "no event to judge")
    } else if ids.iter().all(|id| id.is_empty()) {
        warning("ids", "events have no id: a client that reconnects cannot resume where it was; give each event an id")
    } else if !increasing(&ids) {
        warning(
            "ids",
            format!(
                "ids do not increase ({}): a resuming client may get a repeat or a gap",
                ids.join(", ")
            ),
        )
    } else {
        ok(
            "ids",
            format!(
                "present and increasing ({} to {})",
                ids[0],
                ids[ids.len() - 1]
            ),
        )
    }
}

/// Whether the ids increase, compared as numbers where they are numbers
/// (`7`, or `<epoch>-<seq>`), as text otherwise.
fn increasing(ids: &[&str]) -> bool {
    let key = |id: &str| -> Vec<u64> { id.split('-').filter_map(|p| p.parse().ok()).collect() };
    ids.windows(2).all(|w| {
        let (a, b) = (key(w[0]), key(w[1]));
        if a.is_empty() || b.is_empty() {
            w[0] < w[1]
        } else {
            a < b
        }
    })
}

/// Reconnects with the last id seen and checks what comes first: the next
/// event (or an announced reset), not a repeat of the last one.
async fn check_resume(
    args: &Args,
    client: &reqwest::Client,
    headers: header::HeaderMap,
    watched: &Watched,
    findings: &mut Vec<Finding>,
) {
    let Some(last_id) = &watched.last_id else {
        findings.push(ok("resume", "no id seen: nothing to resume from"));
        return;
    };
    let request = client
        .get(&args.url)
        .headers(headers)
        .header(sse_codec::http::LAST_EVENT_ID, last_id.as_str())
        .header(header::ACCEPT_ENCODING, "identity")
        .send();
    let Ok(Ok(response)) = tokio::time::timeout(args.duration, request).await else {
        findings.push(problem(
            "resume",
            format!("reconnecting with Last-Event-ID: {last_id} got no response"),
        ));
        return;
    };
    if response.status() != StatusCode::OK {
        findings.push(problem(
            "resume",
            format!(
                "reconnecting with Last-Event-ID: {last_id} got {}",
                response.status()
            ),
        ));
        return;
    }
    let resumed = watch(response, Instant::now(), args.duration, Duration::ZERO).await;
    let first = resumed.frames.iter().find_map(|(_, f)| match f {
        Frame::Event(event) => Some(event),
        _ => None,
    });
    findings.push(match first {
        None => ok("resume", format!("after Last-Event-ID: {last_id}, no event in {} (nothing new to send)", Secs(args.duration))),
        Some(event) if event.event_type() != "message" && event.id() != Some(last_id.as_str()) && !increasing(&[last_id, event.id().unwrap_or("")]) => {
            ok("resume", format!("after Last-Event-ID: {last_id}, a `{}` event (an announced reset)", event.event_type()))
        }
        Some(event) if event.id() == Some(last_id.as_str()) => problem(
            "resume",
            format!("after Last-Event-ID: {last_id}, the same event again: the server ignores Last-Event-ID or replays from it inclusive"),
        ),
        Some(event) => match event.id() {
            Some(id) if increasing(&[last_id, id]) => ok("resume", format!("after Last-Event-ID: {last_id}, the next event is {id}")),
            Some(id) => warning("resume", format!("after Last-Event-ID: {last_id}, event {id} came first: an older one, or the server ignores Last-Event-ID")),
            None => warning("resume", format!("after Last-Event-ID: {last_id}, an event without an id came first")),
        },
    });
}
