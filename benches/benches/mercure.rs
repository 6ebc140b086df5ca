//! The Mercure hub against `sse serve`'s hub, side by side in one run, over
//! real HTTP on 127.0.0.1; then the cost of matching.
//!
//! ```text
//! cargo bench -p benches --bench mercure              # 10,000 updates × 256 subscribers
//! cargo bench -p benches --bench mercure -- --quick   # 1,000 updates × 64 subscribers
//! ```
//!
//! 1. **The shape Mercure's users benchmark**: S subscribers (256), each
//!    an HTTP client decoding with sse-codec; U updates (10,000) of about
//!    100 bytes published over HTTP by 8 concurrent publishers, timed from
//!    the first publish to the last delivery. The Mercure hub (`sse hub`'s
//!    routes: `sse_axum::mercure` on `sse_hub::topics`) matches each
//!    subscriber by URL pattern (`https://example.com/books/:id`, and a
//!    second pattern of its own that matches nothing, so that 257 distinct
//!    patterns are evaluated per update), checks each subscriber's token,
//!    and 10% of the updates are private (every token grants them, so every
//!    subscriber gets every update). `sse serve`'s hub (`sse_hub::Hub` and
//!    `sse_axum::Sse` on one channel: no matching, no authorization) gets
//!    the same subscribers and updates, published with a POST of the
//!    event. Reported: delivered events per second, losses, and the ratio.
//! 2. **Memory per idle subscriber**: the server's growth, RSS and live
//!    heap (a counting allocator), with 1,000 idle subscribers, divided by
//!    1,000; on the Mercure hub with the shared pattern, and again with a
//!    pattern of its own per subscriber.
//! 3. **Matching cost**, in this process: a topic hub with 1,000 distinct
//!    URL patterns shared by 1,000 or by 10,000 subscriptions (not read,
//!    so nothing but matching and appending is timed), and with 10,000
//!    distinct patterns: the time per publish (publish returns once the
//!    instance has the update, matched). O(patterns) shows as the first two
//!    being equal and the third ten times as much.
//!
//! Each server runs in a child process (this binary with `--serve
//! mercure|serve`), so its RSS and CPU are its own. Every wait is bounded.

#![allow(unsafe_code)]

use benches::process::{rss, wait_until, ChildServer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use futures_util::StreamExt;
use sse_codec::{Event, EventStream};
use sse_hub::topics::{Access, Matcher, TopicHub, Update};
use sse_hub::{Hub, Resume};

const PADDING: &str = "{\"status\":\"running\",\"rows\":12345,\"of\":99999,\"note\":\"padding\"}";
const KEY: &[u8] = b"bench-key";
const PUBLISHERS: usize = 8;
const IDLE: usize = 1000;

/// Counts live heap bytes, always: each server reports its own at
/// `/heap` (both pay the same relaxed add per allocation). Implementing
/// `GlobalAlloc` is the only `unsafe` here, and it only forwards to
/// `System`.
struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn now_nanos() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

fn hub_url(port: u16) -> url::Url {
    url::Url::parse(&format!("http://127.0.0.1:{port}/.well-known/mercure")).unwrap()
}

/// A legacy Mercure token, HS256, signed here with `jsonwebtoken`.
fn token(mercure: &serde_json::Value) -> String {
    let claims = serde_json::json!({ "mercure": mercure });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(KEY),
    )
    .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        return runtime.block_on(serve(&args[i + 1]));
    }
    let quick = args.iter().any(|a| a == "--quick");
    let (updates, subscribers) = if quick { (1_000, 64) } else { (10_000, 256) };
    println!("{updates} updates to {subscribers} subscribers over HTTP on 127.0.0.1 (servers in child processes)");
    println!(
        "{:>8} {:>13} {:>9} {:>6} {:>15} {:>16}",
        "server", "delivered/s", "time s", "lost", "idle RSS/sub B", "idle heap/sub B"
    );
    let mut rows = Vec::new();
    let mut csv = String::from(
        "# written by a full `cargo bench -p benches --bench mercure`\nserver,delivered_per_s,seconds,lost,idle_rss_per_sub_bytes,idle_heap_per_sub_bytes,idle_heap_per_sub_own_pattern_bytes\n",
    );
    for kind in ["serve", "mercure"] {
        let row = runtime.block_on(measure(kind, updates, subscribers));
        let idle = |i: usize, what: fn(&Idle) -> f64| {
            row.idle
                .get(i)
                .map_or_else(|| "-".to_owned(), |m| format!("{:.0}", what(m)))
        };
        println!(
            "{:>8} {:>13.0} {:>9.3} {:>6} {:>15} {:>16}",
            kind,
            row.rate,
            row.seconds,
            row.lost,
            idle(0, |m| m.rss),
            idle(0, |m| m.heap)
        );
        if row.idle.len() > 1 {
            println!(
                "         with a pattern of its own per subscriber: idle RSS/sub {} B, heap/sub {} B",
                idle(1, |m| m.rss),
                idle(1, |m| m.heap)
            );
        }
        csv.push_str(&format!(
            "{kind},{:.0},{:.3},{},{},{},{}\n",
            row.rate,
            row.seconds,
            row.lost,
            idle(0, |m| m.rss),
            idle(0, |m| m.heap),
            idle(1, |m| m.heap)
        ));
        rows.push(row);
    }
    println!(
        "mercure / serve: delivered/s {:.2}x; idle heap per subscriber {:+.0} B (RSS {:+.0} B)",
        rows[1].rate / rows[0].rate,
        rows[1].idle[0].heap - rows[0].idle[0].heap,
        rows[1].idle[0].rss - rows[0].idle[0].rss
    );
    println!("matching cost per publish (in process, subscriptions not read):");
    for (subscriptions, patterns) in [(1_000, 1_000), (10_000, 1_000), (10_000, 10_000)] {
        let per = runtime.block_on(matching(
            subscriptions,
            patterns,
            if quick { 200 } else { 1_000 },
        ));
        println!(
            "  {subscriptions:>6} subscriptions over {patterns:>6} patterns: {:>8.1} µs",
            per.as_secs_f64() * 1e6
        );
        csv.push_str(&format!(
            "# matching {subscriptions} subscriptions {patterns} patterns: {:.1} us per publish\n",
            per.as_secs_f64() * 1e6
        ));
    }
    if !quick {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/results/mercure.csv");
        match std::fs::write(path, csv) {
            Ok(()) => println!("results written to {path}"),
            Err(err) => eprintln!("{path}: {err}"),
        }
    }
}

// ===== the servers (child processes) =====

async fn serve(kind: &str) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = match kind {
        "mercure" => {
            let topics = TopicHub::builder(Hub::new(), hub_url(port)).build();
            let key =
                sse_axum::mercure::Key::new(sse_axum::mercure::KeyAlgorithm::Hs256, KEY).unwrap();
            let stats = topics.clone();
            sse_axum::mercure::Mercure::builder(topics)
                .publisher_key(key.clone())
                .subscriber_key(key)
                .build()
                .router()
                .route(
                    "/stats",
                    get(move || async move { stats.stats().subscribers.to_string() }),
                )
        }
        // `sse serve`'s handler: the hub's one channel, as an event stream.
        _ => Router::new()
            .route("/events", get(serve_events))
            .route("/publish", post(serve_publish))
            .route(
                "/stats",
                get(|State(hub): State<Hub>| async move { hub.stats().subscribers.to_string() }),
            )
            .with_state(Hub::new()),
    };
    let app = app.route(
        "/heap",
        get(|| async { LIVE.load(Ordering::Relaxed).to_string() }),
    );
    println!("port {port}");
    axum::serve(listener, app).await.unwrap();
}

async fn serve_events(State(hub): State<Hub>) -> axum::response::Response {
    let Ok(subscription) = hub.subscribe("stdin", None).await;
    sse_axum::Sse::new(subscription).into_response()
}

async fn serve_publish(State(hub): State<Hub>, body: String) -> String {
    let Ok(id) = hub.publish("stdin", Event::new(body)).await;
    id.to_string()
}

// ===== the clients (this process) =====

struct Row {
    rate: f64,
    seconds: f64,
    lost: u64,
    /// Per shape measured (`Shared`, then `Own` on the Mercure hub).
    idle: Vec<Idle>,
}

/// Memory per idle subscriber: RSS growth, and live heap growth.
struct Idle {
    rss: f64,
    heap: f64,
}

/// The server's live heap bytes.
async fn heap(http: &reqwest::Client, base: &str) -> i64 {
    let text = http
        .get(format!("{base}/heap"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.parse().unwrap()
}

async fn subscribed(http: &reqwest::Client, base: &str) -> usize {
    match http.get(format!("{base}/stats")).send().await {
        Ok(r) => r.text().await.unwrap().parse().unwrap_or(0),
        Err(_) => 0,
    }
}

/// Whether each subscriber has a URL pattern of its own besides the one
/// they share.
#[derive(Clone, Copy)]
enum Shape {
    Shared,
    Own,
}

/// The subscribe URL and token of subscriber `i`.
fn subscribe_request(kind: &str, shape: Shape, base: &str, i: usize) -> (String, Option<String>) {
    match kind {
        "mercure" => {
            // The shape: every subscriber matches the books by URL pattern;
            // `Own` adds a pattern of its own (that matches nothing).
            let own = match shape {
                Shape::Shared => String::new(),
                Shape::Own => format!("&matchURLPattern=https://example.com/subscribers/{i}/*"),
            };
            let url = format!(
                "{base}/.well-known/mercure?matchURLPattern=https://example.com/books/:id{own}"
            );
            let token =
                token(&serde_json::json!({ "subscribe": ["https://example.com/books/{id}"] }));
            (url, Some(token))
        }
        _ => (format!("{base}/events"), None),
    }
}

/// Opens `n` subscribers that count the events they get; returns when the
/// server counts them.
#[allow(clippy::too_many_arguments)]
async fn open(
    kind: &str,
    shape: Shape,
    base: &str,
    n: usize,
    first: usize,
    http: &reqwest::Client,
    received: &Arc<AtomicU64>,
    last: &Arc<AtomicU64>,
    clients: &mut tokio::task::JoinSet<()>,
) {
    let before = subscribed(http, base).await;
    for i in first..first + n {
        let (url, token) = subscribe_request(kind, shape, base, i);
        let http = http.clone();
        let (received, last) = (Arc::clone(received), Arc::clone(last));
        clients.spawn(async move {
            let mut request = http.get(url);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let Ok(response) = request.send().await else {
                return;
            };
            let mut events = EventStream::new(response.bytes_stream());
            while let Some(Ok(event)) = events.next().await {
                if event.data().starts_with("u ") {
                    received.fetch_add(1, Ordering::Relaxed);
                    last.fetch_max(now_nanos(), Ordering::Relaxed);
                }
            }
        });
    }
    let start = Instant::now();
    while subscribed(http, base).await < before + n {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{n} subscribers within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn measure(kind: &str, updates: usize, subscribers: usize) -> Row {
    let ChildServer {
        mut child,
        pid,
        base,
        stdout: _stdout,
    } = ChildServer::start(kind).await;
    let http = reqwest::Client::new();
    let received = Arc::new(AtomicU64::new(0));
    let last = Arc::new(AtomicU64::new(0));
    let mut clients = tokio::task::JoinSet::new();

    // Idle memory first: 1,000 subscribers, then dropped; on the Mercure
    // hub once with the shared pattern, once with one of their own too.
    let shapes: &[Shape] = if kind == "mercure" {
        &[Shape::Shared, Shape::Own]
    } else {
        &[Shape::Shared]
    };
    let mut idle_memory = Vec::new();
    for (batch, &shape) in shapes.iter().enumerate() {
        let rss_before = rss(pid);
        let heap_before = heap(&http, &base).await;
        let mut idle = tokio::task::JoinSet::new();
        let first = 1_000_000 * (batch + 1);
        open(
            kind, shape, &base, IDLE, first, &http, &received, &last, &mut idle,
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        idle_memory.push(Idle {
            rss: rss(pid).saturating_sub(rss_before) as f64 / IDLE as f64,
            heap: (heap(&http, &base).await - heap_before) as f64 / IDLE as f64,
        });
        idle.shutdown().await;
        let start = Instant::now();
        while subscribed(&http, &base).await > 0 && start.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    open(
        kind,
        Shape::Own,
        &base,
        subscribers,
        0,
        &http,
        &received,
        &last,
        &mut clients,
    )
    .await;
    let publisher = token(&serde_json::json!({ "publish": ["*"] }));
    let started = now_nanos();
    let mut publishing = tokio::task::JoinSet::new();
    for p in 0..PUBLISHERS {
        let (http, base, publisher, kind) = (
            http.clone(),
            base.clone(),
            publisher.clone(),
            kind.to_owned(),
        );
        publishing.spawn(async move {
            for u in (p..updates).step_by(PUBLISHERS) {
                let data = format!("u {u} {PADDING}");
                let response = if kind == "mercure" {
                    let topic = format!("https://example.com/books/{u}");
                    let mut form = vec![("topic", topic), ("data", data)];
                    if u % 10 == 0 {
                        form.push(("private", "on".to_owned()));
                    }
                    http.post(format!("{base}/.well-known/mercure"))
                        .bearer_auth(&publisher)
                        .form(&form)
                        .send()
                        .await
                } else {
                    http.post(format!("{base}/publish")).body(data).send().await
                };
                assert!(response.unwrap().status().is_success());
            }
        });
    }
    while publishing.join_next().await.is_some() {}
    let expected = (updates * subscribers) as u64;
    wait_until(Duration::from_secs(120), || {
        received.load(Ordering::Relaxed) >= expected
    })
    .await;
    let delivered = received.load(Ordering::Relaxed);
    let seconds = last.load(Ordering::Relaxed).saturating_sub(started) as f64 / 1e9;
    child.kill().await.unwrap();
    clients.shutdown().await;
    Row {
        rate: delivered as f64 / seconds,
        seconds,
        lost: expected.saturating_sub(delivered),
        idle: idle_memory,
    }
}

/// The time per publish of a topic hub with `subscriptions` (not read)
/// spread over `patterns` distinct URL patterns, over `publishes` publishes.
async fn matching(subscriptions: usize, patterns: usize, publishes: usize) -> Duration {
    let base = hub_url(80);
    let topics = TopicHub::builder(Hub::new(), base.clone()).build();
    let mut held = Vec::with_capacity(subscriptions);
    for i in 0..subscriptions {
        let pattern = format!("https://example.com/feeds/{}/:item", i % patterns);
        let matcher = Matcher::url_pattern(&pattern, &base).unwrap();
        held.push(
            topics
                .subscribe(vec![matcher], Access::Public, Resume::Live)
                .await
                .unwrap(),
        );
    }
    assert_eq!(topics.stats().patterns, patterns);
    let start = Instant::now();
    for u in 0..publishes {
        let topic = format!("https://example.com/feeds/{}/{u}", u % patterns);
        topics.publish(Update::new(topic, "x")).await.unwrap();
    }
    start.elapsed() / publishes as u32
}
