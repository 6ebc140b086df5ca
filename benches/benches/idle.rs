//! Memory per idle event-stream connection, and where it goes.
//!
//! ```text
//! cargo bench -p benches --bench idle              # N = 10,000 and 50,000
//! cargo bench -p benches --bench idle -- --quick   # N = 2,000
//! cargo bench -p benches --bench idle -- --n 20000 # one N
//! ```
//!
//! Each server runs in a child process (this binary with `--serve KIND`),
//! so its memory is its own, with a counting allocator that keeps the
//! number of live allocations of each size:
//!
//! - `serve`: what `sse serve` runs for `GET /events`: `sse_serve::serve`
//!   (hyper's HTTP/1 and HTTP/2 server behind the header read timeout, the
//!   connection cap, the send timeout and the graceful drain), axum's
//!   router, `sse_axum::Sse` with its keep-alive over an `sse_hub`
//!   subscription.
//! - `hyper`: the floor: hyper's HTTP/1 connection alone on a tokio task,
//!   answering every request with a body that never yields.
//!
//! N clients (raw sockets in this process, spread over the loopback
//! addresses 127.0.0.1 to 127.0.0.4 to get past one address's ephemeral
//! ports) send a `GET /events` and read the response head, then stay
//! idle. The server's RSS and live heap are read before and after; the
//! growth divided by N is the cost of one idle connection, and the live
//! allocations that grew by about N, by size, say what it is made of.
//!
//! The descriptor limit is raised for both processes (`setrlimit`; the hard
//! limit too where the process may, as root with `CAP_SYS_RESOURCE`). An N
//! that the limit does not allow is lowered to what it allows, and the
//! table says so. Every wait is bounded.
#![allow(unsafe_code)]

use benches::process::rss;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use sse_axum::{KeepAlive, Sse};
use sse_hub::Hub;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Live allocations by size: class `i` holds sizes `16 i - 15 ..= 16 i`
/// (the allocator's own granularity is 16 bytes); the last class holds
/// everything larger than [`LARGEST`].
struct Counting;

const LARGEST: usize = 64 * 1024;
const CLASSES: usize = LARGEST / 16 + 2;
static LIVE_COUNT: [AtomicI64; CLASSES] = [const { AtomicI64::new(0) }; CLASSES];
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

fn class(size: usize) -> usize {
    if size > LARGEST {
        CLASSES - 1
    } else {
        size.div_ceil(16)
    }
}

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_COUNT[class(layout.size())].fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_COUNT[class(layout.size())].fetch_sub(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_COUNT[class(layout.size())].fetch_sub(1, Ordering::Relaxed);
        LIVE_COUNT[class(new_size)].fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The loopback addresses the clients connect from.
const SOURCES: u8 = 4;
/// Connections being opened at once.
const OPENING: usize = 256;
/// How long opening N connections may take.
const OPEN_LIMIT: Duration = Duration::from_secs(300);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let descriptors = raise_descriptor_limit(200_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        return runtime.block_on(serve(&args[i + 1]));
    }
    let ns: Vec<usize> = match args.iter().position(|a| a == "--n") {
        Some(i) => vec![args[i + 1]
            .parse()
            .expect("--n takes a number of connections")],
        None if args.iter().any(|a| a == "--quick") => vec![2_000],
        None => vec![10_000, 50_000],
    };
    println!("memory per idle event-stream connection (server in a child process)");
    for &wanted in &ns {
        // Each process holds N sockets, and a few descriptors of its own.
        let n = wanted.min(descriptors.saturating_sub(200) as usize);
        if n < wanted {
            println!("\nN = {wanted} asked, {n} measured: {descriptors} descriptors per process is all this machine allows");
        }
        for kind in ["serve", "hyper"] {
            runtime.block_on(measure(kind, n));
        }
    }
}

/// Raises this process's descriptor limit to `wanted` (children inherit
/// it), or as far as the hard limit allows; returns the limit.
fn raise_descriptor_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit write or read one rlimit we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        let raised = libc::rlimit {
            rlim_cur: wanted,
            rlim_max: wanted.max(limit.rlim_max),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            return wanted;
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        limit.rlim_cur
    }
}

/// The server's memory at one moment.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
struct Snapshot {
    rss: i64,
    heap: i64,
    /// Live allocations per size class (the class's largest size).
    counts: BTreeMap<usize, i64>,
}

fn snapshot() -> Snapshot {
    let counts = LIVE_COUNT
        .iter()
        .enumerate()
        .map(|(i, count)| {
            (
                if i == CLASSES - 1 { usize::MAX } else { i * 16 },
                count.load(Ordering::Relaxed),
            )
        })
        .filter(|&(_, count)| count != 0)
        .collect();
    Snapshot {
        rss: i64::try_from(rss(std::process::id())).expect("an RSS fits an i64"),
        heap: LIVE_BYTES.load(Ordering::Relaxed),
        counts,
    }
}

async fn serve(kind: &str) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("port {}", listener.local_addr().unwrap().port());
    // A line on stdin asks for a snapshot, printed as one line of JSON.
    std::thread::spawn(|| {
        for line in std::io::stdin().lines() {
            if line.is_err() {
                break;
            }
            println!("{}", serde_json::to_string(&snapshot()).unwrap());
        }
        std::process::exit(0);
    });
    match kind {
        "serve" => {
            let app = Router::new()
                .route("/events", get(events))
                .with_state(Hub::new());
            let limits = sse_serve::Limits {
                max_connections: 1_000_000,
                ..sse_serve::Limits::default()
            };
            sse_serve::serve(
                listener,
                app,
                limits,
                std::future::pending(),
                Duration::ZERO,
            )
            .await;
        }
        _ => loop {
            let (socket, _) = listener.accept().await.unwrap();
            let service = hyper::service::service_fn(|_request| async {
                Ok::<_, Infallible>(hyper::Response::new(NeverBody))
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(socket), service);
            tokio::spawn(connection);
        },
    }
}

/// `sse serve`'s route: the hub's channel as an event stream with
/// keep-alive comments.
async fn events(State(hub): State<Hub>) -> axum::response::Response {
    let Ok(subscription) = hub.subscribe("bench", None).await;
    Sse::new(subscription)
        .keep_alive(KeepAlive::new())
        .into_response()
}

/// A response body that never yields (an idle stream at its cheapest).
struct NeverBody;

impl hyper::body::Body for NeverBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        Poll::Pending
    }
}

/// A child server and its snapshots.
struct Child {
    process: std::process::Child,
    lines: BufReader<std::process::ChildStdout>,
    port: u16,
}

impl Child {
    fn start(kind: &str) -> Child {
        let mut process = Command::new(std::env::current_exe().unwrap())
            .args(["--serve", kind])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(process.stdout.take().unwrap());
        let mut line = String::new();
        lines.read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("port ").unwrap().parse().unwrap();
        Child {
            process,
            lines,
            port,
        }
    }

    fn snapshot(&mut self) -> Snapshot {
        let stdin = self.process.stdin.as_mut().unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        self.lines.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

async fn measure(kind: &str, n: usize) {
    let mut child = Child::start(kind);
    // A few connections first, so that what is made once (the runtime's
    // worker state, the router) is in the baseline.
    let warm = open(child.port, 16).await;
    drop(warm);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = child.snapshot();
    let started = Instant::now();
    let connections = open(child.port, n).await;
    let opened = started.elapsed();
    // Let the server finish with each (its write of the head, the idle
    // state it settles in).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = child.snapshot();
    let per = |a: i64, b: i64| (a - b) as f64 / n as f64;
    println!(
        "\n{kind:>5} N = {n}: {:.0} B RSS and {:.0} B of live heap per idle connection (opened in {:.1} s)",
        per(after.rss, before.rss),
        per(after.heap, before.heap),
        opened.as_secs_f64()
    );
    let mut grown: Vec<(usize, f64)> = after
        .counts
        .iter()
        .map(|(&size, &count)| {
            (
                size,
                per(count, before.counts.get(&size).copied().unwrap_or(0)),
            )
        })
        .filter(|&(_, per_connection)| per_connection >= 0.05)
        .collect();
    grown.sort_by(|a, b| {
        let bytes = |&(size, count): &(usize, f64)| size.min(LARGEST) as f64 * count;
        bytes(b).total_cmp(&bytes(a))
    });
    println!("      live allocations per connection, by size (largest first):");
    let mut listed = 0.0;
    for (size, count) in grown {
        let size_text = if size == usize::MAX {
            format!("> {LARGEST}")
        } else {
            format!("{}..={size}", size.saturating_sub(15))
        };
        let bytes = size.min(LARGEST) as f64 * count;
        listed += bytes;
        println!("      {size_text:>13} B  x {count:.2}  ~ {bytes:.0} B");
    }
    println!(
        "      (listed ~ {listed:.0} B of {:.0} B)",
        per(after.heap, before.heap)
    );
    drop(connections);
}

/// Opens `n` idle event-stream connections to `port`, each past its
/// response head.
async fn open(port: u16, n: usize) -> Vec<tokio::net::TcpStream> {
    let server = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let gate = Arc::new(tokio::sync::Semaphore::new(OPENING));
    let per_source = n.div_ceil(usize::from(SOURCES));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let gate = Arc::clone(&gate);
        let source = Ipv4Addr::new(127, 0, 0, 1 + (i / per_source) as u8);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            connect(source, server).await
        }));
    }
    let mut connections = Vec::with_capacity(n);
    let deadline = Instant::now() + OPEN_LIMIT;
    for task in tasks {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, task).await {
            Ok(Ok(Ok(stream))) => connections.push(stream),
            Ok(Ok(Err(err))) => panic!("a connection failed: {err}"),
            Ok(Err(err)) => panic!("a client task failed: {err}"),
            Err(_) => panic!("{n} connections not open within {OPEN_LIMIT:?}"),
        }
    }
    connections
}

async fn connect(source: Ipv4Addr, server: SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let mut stream = socket.connect(server).await?;
    stream
        .write_all(b"GET /events HTTP/1.1\r\nhost: bench\r\naccept: text/event-stream\r\n\r\n")
        .await?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = stream.read(&mut buf).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buf[..read]);
    }
    if !head.starts_with(b"HTTP/1.1 200") {
        return Err(std::io::Error::other(
            String::from_utf8_lossy(&head).into_owned(),
        ));
    }
    Ok(stream)
}
