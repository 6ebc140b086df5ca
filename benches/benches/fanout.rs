//! Fan-out over real HTTP on 127.0.0.1: one publisher, N subscribers, each
//! a real HTTP client (reqwest, decoding with sse-codec), for the hub
//! (`sse-hub` + `sse-axum`) and, in the same run, the baseline people write
//! today: axum's own `Sse` over `tokio::sync::broadcast`, one encode per
//! subscriber.
//!
//! ```text
//! cargo bench -p benches --bench fanout              # N = 100, 1000, 10000
//! cargo bench -p benches --bench fanout -- --quick   # N = 100
//! cargo bench -p benches --bench fanout -- --n 1000  # one N
//! ```
//!
//! For each server and N, the server runs in a child process (this binary
//! with `--serve hub|baseline`), so its RSS is its own:
//!
//! 1. N clients connect; **memory per idle subscriber** is the server's RSS
//!    growth divided by N (the HTTP connection included).
//! 2. **Delivered events per second**: the server publishes a burst of E
//!    events as fast as it can (E = 2,000,000 / N, within 20..=20,000); the
//!    rate is N × E over the time from the start of the burst to the last
//!    delivery. Nothing may be lost: the hub runs with its defaults (a
//!    burst larger than its 1,000 events of history, within its 64 MiB of
//!    burst slack), the broadcast channel is sized for the burst; a loss or
//!    a reset is reported.
//! 3. **Latency**: 50 events, 20 ms apart; publish-to-receive p50 and p99
//!    over all deliveries (both processes read the same clock).
//!
//! Then, in this process with a counting allocator, the **hub's own memory
//! per subscriber**: the bytes allocated by 10,000 `subscribe` calls.
//!
//! Every wait is bounded: a phase that does not finish in time is reported
//! as such.
//!
//! The counting allocator is switched off except for that last measurement,
//! so the servers pay one relaxed load per allocation; published counting
//! allocators count always. Implementing `GlobalAlloc` is the only `unsafe`
//! here, and it only forwards to `System`.
#![allow(unsafe_code)]

use benches::process::{rss, wait_until, ChildServer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use futures_util::{FutureExt, StreamExt};
use sse_codec::{Event, EventStream};
use sse_hub::Hub;
use tokio::sync::broadcast;

/// Counts live heap bytes while `COUNTING` is set (only for the in-process
/// hub measurement; a relaxed load otherwise).
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CHANNEL: &str = "bench";
/// Makes each event's data about 100 bytes, like a small JSON update.
const PADDING: &str =
    "{\"status\":\"running\",\"rows\":12345,\"of\":99999,\"note\":\"padding to 100 B\"}";
const BURST_TOTAL: usize = 2_000_000;
const PACED_EVENTS: u64 = 50;
const PACED_INTERVAL: Duration = Duration::from_millis(20);

fn now_nanos() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(since_epoch.as_nanos()).unwrap()
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
    let chosen: Vec<usize> = match args.iter().position(|a| a == "--n") {
        Some(i) => vec![args[i + 1].parse().expect("--n takes a number of clients")],
        None if args.iter().any(|a| a == "--quick") => vec![100],
        None => vec![100, 1000, 10_000],
    };
    let ns = chosen.as_slice();
    println!("fan-out over HTTP on 127.0.0.1 (server in a child process)");
    println!(
        "{:>6} {:>9} {:>12} {:>14} {:>8} {:>8} {:>6} {:>6} {:>10}",
        "N",
        "server",
        "delivered/s",
        "per server s",
        "p50 ms",
        "p99 ms",
        "lost",
        "resets",
        "RSS/sub B"
    );
    // The rows of `results/fanout.csv`, from which the plots are drawn.
    let mut csv = String::from(
        "# written by a full `cargo bench -p benches --bench fanout`; drawn by `cargo run -p benches --bin plots`\nn,server,delivered_per_s,rss_per_sub_bytes\n",
    );
    for &n in ns {
        let mut rates = Vec::new();
        for kind in ["baseline", "hub"] {
            let row = runtime.block_on(measure(kind, n));
            println!(
                "{:>6} {:>9} {:>12.0} {:>14.0} {:>8.2} {:>8.2} {:>6} {:>6} {:>10.0}",
                n,
                kind,
                row.rate,
                row.per_cpu_second,
                row.p50_ms,
                row.p99_ms,
                row.lost,
                row.resets,
                row.rss_per_sub
            );
            rates.push((row.rate, row.per_cpu_second));
            csv.push_str(&format!(
                "{n},{kind},{:.0},{:.0}\n",
                row.rate, row.rss_per_sub
            ));
        }
        println!(
            "{:>6} hub / baseline: delivered/s {:.2}x, per server CPU second {:.2}x",
            n,
            rates[1].0 / rates[0].0,
            rates[1].1 / rates[0].1
        );
    }
    println!(
        "hub's own heap per subscriber: {} B",
        hub_bytes_per_subscriber()
    );
    // Only the full run (every N) replaces the recorded results.
    if ns == [100, 1000, 10_000] {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/results/fanout.csv");
        match std::fs::write(path, csv) {
            Ok(()) => println!("results written to {path}"),
            Err(err) => eprintln!("{path}: {err}"),
        }
    }
}

// ===== the server (child process) =====

#[derive(Clone)]
enum Server {
    Hub(Hub),
    Baseline(broadcast::Sender<(u64, String)>),
}

#[derive(serde::Deserialize)]
struct Count {
    events: u64,
}

async fn serve(kind: &str) {
    let server = match kind {
        // The hub's defaults, as `sse serve` runs: 1,000 events of
        // history, and up to 64 MiB of a burst kept for the subscribers
        // still reading it. The burst (up to 20,000 events) is larger than
        // the history; any reset or loss is reported.
        "hub" => Server::Hub(Hub::new()),
        _ => Server::Baseline(broadcast::channel(20_000).0),
    };
    let app = Router::new()
        .route("/events", get(events))
        .route("/stats", get(stats))
        .route("/burst", post(burst))
        .route("/paced", post(paced))
        .with_state(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("port {}", listener.local_addr().unwrap().port());
    axum::serve(listener, app).await.unwrap();
}

async fn events(State(server): State<Server>) -> axum::response::Response {
    match server {
        Server::Hub(hub) => {
            let Ok(subscription) = hub.subscribe(CHANNEL, None).await;
            sse_axum::Sse::new(subscription).into_response()
        }
        Server::Baseline(tx) => {
            // What the axum docs and most tutorials show.
            let events = tokio_stream::wrappers::BroadcastStream::new(tx.subscribe())
                .filter_map(|item| async move { item.ok() })
                .map(|(id, data)| {
                    Ok::<_, Infallible>(
                        axum::response::sse::Event::default()
                            .id(id.to_string())
                            .data(data),
                    )
                });
            axum::response::Sse::new(events).into_response()
        }
    }
}

async fn stats(State(server): State<Server>) -> String {
    match server {
        Server::Hub(hub) => hub.stats().subscribers.to_string(),
        Server::Baseline(tx) => tx.receiver_count().to_string(),
    }
}

fn publish(server: &Server, seq: u64, kind: char) {
    let data = format!("{kind} {} {PADDING}", now_nanos());
    match server {
        Server::Hub(hub) => {
            // The in-memory hub's future is ready at once.
            let published = hub.publish(CHANNEL, Event::new(data)).now_or_never();
            assert!(published.is_some(), "the in-memory hub never waits");
        }
        Server::Baseline(tx) => {
            let _ = tx.send((seq, data));
        }
    }
}

async fn burst(State(server): State<Server>, Query(count): Query<Count>) {
    tokio::task::spawn_blocking(move || {
        for seq in 1..=count.events {
            publish(&server, seq, 'b');
        }
    })
    .await
    .unwrap();
}

async fn paced(State(server): State<Server>, Query(count): Query<Count>) {
    for seq in 1..=count.events {
        tokio::time::sleep(PACED_INTERVAL).await;
        publish(&server, seq, 'l');
    }
}

// ===== the clients (this process) =====

struct Row {
    rate: f64,
    /// Deliveries per second of the server's CPU time (user + system).
    per_cpu_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    lost: u64,
    /// Reset events received: subscribers that fell out of history.
    resets: u64,
    rss_per_sub: f64,
}

#[derive(Default)]
struct Counters {
    /// Reset events: a subscriber fell further behind than history.
    resets: AtomicU64,
    burst: AtomicU64,
    paced: AtomicU64,
    last_burst: AtomicU64,
}

/// The CPU time process `pid` has used, user and system, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses: utime and
    // stime are the 12th and 13th, in clock ticks.
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / CLOCK_TICKS
}

/// `getconf CLK_TCK` on Linux.
const CLOCK_TICKS: f64 = 100.0;

async fn subscribers(http: &reqwest::Client, base: &str) -> usize {
    match http.get(format!("{base}/stats")).send().await {
        Ok(response) => response.text().await.unwrap().parse().unwrap(),
        Err(_) => 0,
    }
}

/// One subscriber: counts burst events, records paced events' latency.
async fn client(http: reqwest::Client, url: String, counters: Arc<Counters>) -> Vec<u64> {
    let Ok(response) = http.get(url).send().await else {
        return Vec::new();
    };
    let mut events = EventStream::new(response.bytes_stream());
    let mut latencies = Vec::new();
    while let Some(Ok(event)) = events.next().await {
        if event.event_type() == "reset" {
            counters.resets.fetch_add(1, Ordering::Relaxed);
        }
        let mut fields = event.data().split(' ');
        let (Some(kind), Some(sent)) = (fields.next(), fields.next()) else {
            continue;
        };
        let now = now_nanos();
        if kind == "b" {
            counters.burst.fetch_add(1, Ordering::Relaxed);
            counters.last_burst.fetch_max(now, Ordering::Relaxed);
        } else {
            latencies.push(now.saturating_sub(sent.parse().unwrap()));
            counters.paced.fetch_add(1, Ordering::Relaxed);
        }
    }
    latencies
}

async fn measure(kind: &str, n: usize) -> Row {
    let ChildServer {
        mut child,
        pid,
        base,
        stdout: _stdout,
    } = ChildServer::start(kind).await;
    let http = reqwest::Client::new();
    assert!(wait_until(Duration::from_secs(10), || true).await);
    let rss_before = rss(pid);

    let counters = Arc::new(Counters::default());
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..n {
        let url = format!("{base}/events");
        clients.spawn(client(http.clone(), url, Arc::clone(&counters)));
    }
    let connected = Instant::now();
    while subscribers(&http, &base).await < n {
        assert!(
            connected.elapsed() < Duration::from_secs(120),
            "{n} clients within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_per_sub = rss(pid).saturating_sub(rss_before) as f64 / n as f64;

    let events = (BURST_TOTAL / n).clamp(20, 20_000) as u64;
    let expected = n as u64 * events;
    let cpu_before = cpu_seconds(pid);
    let start = now_nanos();
    http.post(format!("{base}/burst?events={events}"))
        .send()
        .await
        .unwrap();
    let all = wait_until(Duration::from_secs(60), || {
        counters.burst.load(Ordering::Relaxed) >= expected
    })
    .await;
    let delivered = counters.burst.load(Ordering::Relaxed);
    let server_cpu = cpu_seconds(pid) - cpu_before;
    let elapsed = counters
        .last_burst
        .load(Ordering::Relaxed)
        .saturating_sub(start);
    let rate = delivered as f64 / (elapsed as f64 / 1e9);
    if !all {
        eprintln!("{kind} N={n}: burst not delivered within 60 s");
    }

    http.post(format!("{base}/paced?events={PACED_EVENTS}"))
        .send()
        .await
        .unwrap();
    let paced_expected = n as u64 * PACED_EVENTS;
    wait_until(Duration::from_secs(30), || {
        counters.paced.load(Ordering::Relaxed) >= paced_expected
    })
    .await;
    let lost = (expected - delivered.min(expected))
        + (paced_expected - counters.paced.load(Ordering::Relaxed).min(paced_expected));

    child.kill().await.unwrap();
    let mut latencies = Vec::new();
    while let Ok(Some(done)) =
        tokio::time::timeout(Duration::from_secs(30), clients.join_next()).await
    {
        latencies.extend(done.unwrap());
    }
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(f64::NAN, |&ns| ns as f64 / 1e6)
    };
    Row {
        rate,
        per_cpu_second: delivered as f64 / server_cpu,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
        lost,
        resets: counters.resets.load(Ordering::Relaxed),
        rss_per_sub,
    }
}

/// The heap the hub allocates per subscriber (its position in the
/// channel's log, and what the subscription holds).
fn hub_bytes_per_subscriber() -> usize {
    const SUBSCRIBERS: usize = 10_000;
    let hub = Hub::new();
    assert!(hub
        .publish(CHANNEL, Event::new("warm-up"))
        .now_or_never()
        .is_some());
    COUNTING.store(true, Ordering::SeqCst);
    let before = LIVE.load(Ordering::SeqCst);
    let subscriptions: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| hub.subscribe(CHANNEL, None).now_or_never())
        .collect();
    let after = LIVE.load(Ordering::SeqCst);
    COUNTING.store(false, Ordering::SeqCst);
    // The Vec holding the subscriptions is the caller's, not the hub's.
    let held = subscriptions.capacity() * std::mem::size_of_val(&subscriptions[0]);
    drop(subscriptions);
    after.wrapping_sub(before).saturating_sub(held) / SUBSCRIBERS
}
