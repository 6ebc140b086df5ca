#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod send_timeout;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::send_timeout::SendTimeout;

/// What one connection may cost.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A connection that has not sent its request head by then is closed.
    pub header_timeout: Duration,
    /// Connections past this many open at once get 503.
    pub max_connections: usize,
    /// Event streams one HTTP/2 connection may carry at once (a proxy
    /// that multiplexes its clients, a browser with many tabs); past it a
    /// stream is refused (`REFUSED_STREAM`). hyper's default is 200.
    pub max_streams_per_connection: u32,
    /// A connection that has something to send and whose peer takes no
    /// byte of it for this long is closed (a client that stopped reading,
    /// a dead peer that never said so): it gives back its socket and its
    /// buffers, and the client reconnects with its `Last-Event-ID`. A
    /// client that reads slowly but keeps reading is never closed. nginx's
    /// `send_timeout` is 60 s.
    pub send_timeout: Duration,
}

impl Default for Limits {
    /// 10 s for the request head, 10,000 connections, 1,024 streams per
    /// HTTP/2 connection, 60 s without a byte taken.
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_streams_per_connection: DEFAULT_MAX_STREAMS,
            send_timeout: Duration::from_secs(60),
        }
    }
}

/// Event streams per HTTP/2 connection by default: far above what a
/// browser opens, enough for a proxy multiplexing hundreds of clients.
pub const DEFAULT_MAX_STREAMS: u32 = 1024;

/// The most bytes hyper queues per HTTP/2 stream that the peer's flow
/// control window does not take yet (hyper's default: 400 KiB). An unread
/// stream holds at most this, whatever its number of streams.
const H2_SEND_BUFFER: usize = 64 * 1024;

/// How often an idle HTTP/2 connection is pinged, and how long an answer
/// may take before the connection is closed: a dead peer is found in
/// under a minute even when no event is sent.
const H2_PING_INTERVAL: Duration = Duration::from_secs(20);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);

/// How [`serve`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Every open connection closed within the grace period.
    Drained,
    /// Connections were still open when the grace period ended; they are
    /// dropped with the runtime.
    GraceExpired,
}

/// Serves `service` on `listener` with `limits` until `shutdown` completes;
/// then stops accepting and waits for the open connections (whose event
/// streams the caller ends, e.g. with `sse_axum::Sse::until`) for
/// at most `grace`.
///
/// `shutdown` is where to end the streams too: what it does before it
/// completes happens before the server stops accepting.
///
/// When `accept` fails for the process's sake (out of file descriptors), it
/// waits before the next, from 5 ms doubling to 1 s, or until one of its
/// connections closes and frees a descriptor; it logs (with `tracing`) one
/// warning when such an episode starts and one when it ends.
///
/// See the crate's example.
pub async fn serve<S, B>(
    listener: tokio::net::TcpListener,
    service: S,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> Stopped
where
    S: tower_service::Service<
            http::Request<hyper::body::Incoming>,
            Response = http::Response<B>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let builders = Arc::new(Builders::new(&limits));
    // Set when the server stops: each connection then finishes its
    // request in flight (HTTP/1) or its open streams (HTTP/2), and closes.
    let (stop, stopped) = watch::channel(false);
    let open = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    // Told when a connection of ours closes, and so frees a descriptor.
    let closed = Arc::new(tokio::sync::Notify::new());
    let mut backoff = AcceptBackoff::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (mut socket, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    backoff.accepted();
                    accepted
                }
                // The client gave up before we accepted: nothing to wait for.
                Err(err) if is_connection_error(&err) => continue,
                // Out of file descriptors, say: retrying at once would spin
                // (a whole core, serving nothing). Wait, a little longer each
                // time, or until one of our connections closes.
                Err(err) => {
                    let wait = backoff.failed(&err);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = closed.notified() => {}
                        () = &mut shutdown => break,
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
            let closed = Arc::clone(&closed);
            tokio::spawn(async move {
                // After the request head (a client does not read an answer
                // to a request it has not sent), within the header timeout.
                if tokio::time::timeout(limits.header_timeout, read_head(&mut socket))
                    .await
                    .is_ok()
                {
                    let _ = socket.write_all(TOO_MANY).await;
                }
                let _ = socket.shutdown().await;
                drop(socket);
                closed.notify_one();
            });
            continue;
        };
        let closed = Arc::clone(&closed);
        let builders = Arc::clone(&builders);
        let service = service.clone();
        let stopped = stopped.clone();
        tokio::spawn(async move {
            serve_connection(socket, service, &builders, limits, stopped).await;
            drop(permit);
            closed.notify_one();
        });
    }
    // Every connection is told, and the server waits until each has
    // given back its place.
    let _ = stop.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(grace, open.acquire_many(all)).await;
    match drained {
        Ok(_) => Stopped::Drained,
        Err(_) => Stopped::GraceExpired,
    }
}

/// hyper's connection settings, one for each protocol, made once.
struct Builders {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
}

impl Builders {
    fn new(limits: &Limits) -> Self {
        let mut http1 = http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        // HTTP/2 for event streams: many long-lived streams per connection,
        // each holding little, and pings to find dead peers. Flow control is
        // per stream: a stream its client does not read stalls alone.
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .max_concurrent_streams(limits.max_streams_per_connection)
            .max_send_buf_size(H2_SEND_BUFFER)
            .keep_alive_interval(H2_PING_INTERVAL)
            .keep_alive_timeout(H2_PING_TIMEOUT);
        Builders { http1, http2 }
    }
}

/// The HTTP/2 connection preface (RFC 9113, section 3.4): how a client
/// that speaks HTTP/2 without a prior upgrade (h2c, or a proxy) begins.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Serves one accepted connection until it closes, or until `stopped`
/// says the server stops and its last request or stream is done.
///
/// The protocol is told from the first bytes, *peeked* (left in the
/// socket) rather than read: hyper's HTTP/1 connection then reads the
/// request head into its own buffer in one go. (hyper-util's automatic
/// builder reads them first and hands them over, and the HTTP/1 read
/// buffer grows from 8 to 16 KiB to take the rest.) Each protocol's
/// connection is boxed at its own size, so an HTTP/1 connection does not
/// carry room for HTTP/2's state.
async fn serve_connection<S, B>(
    socket: TcpStream,
    service: S,
    builders: &Builders,
    limits: Limits,
    stopped: watch::Receiver<bool>,
) where
    S: tower_service::Service<
            http::Request<hyper::body::Incoming>,
            Response = http::Response<B>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Ok(Some(http2)) = tokio::time::timeout(limits.header_timeout, speaks_http2(&socket)).await
    else {
        return; // closed or silent before its first request
    };
    // A small send buffer, so that progress shows at the socket (see
    // `send_timeout`); a failure leaves the kernel's default.
    let _ = socket2::SockRef::from(&socket).set_send_buffer_size(send_timeout::SEND_BUFFER);
    let io = TokioIo::new(SendTimeout::new(socket, limits.send_timeout));
    let service = TowerToHyperService::new(service);
    if http2 {
        let connection = Box::pin(builders.http2.serve_connection(io, service));
        until_stopped(connection, stopped, http2::Connection::graceful_shutdown).await;
    } else {
        let connection = Box::pin(builders.http1.serve_connection(io, service).with_upgrades());
        until_stopped(
            connection,
            stopped,
            http1::UpgradeableConnection::graceful_shutdown,
        )
        .await;
    }
}

/// Whether the client begins with the HTTP/2 preface (`Some(true)`),
/// with anything else (`Some(false)`: HTTP/1), or closes first (`None`).
/// Nothing is consumed.
async fn speaks_http2(socket: &TcpStream) -> Option<bool> {
    let mut first = [0u8; H2_PREFACE.len()];
    let mut wait = Duration::from_millis(1);
    loop {
        let peeked = socket.peek(&mut first).await.ok()?;
        match &first[..peeked] {
            [] => return None,
            bytes if !H2_PREFACE.starts_with(bytes) => return Some(false),
            bytes if bytes.len() == H2_PREFACE.len() => return Some(true),
            // Part of the preface: peeking again would return at once with
            // the same bytes, so wait a little for the rest.
            _ => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_millis(100));
            }
        }
    }
}

/// Drives `connection` to its end; once `stopped` turns true (or its
/// server is gone), asks it to finish gracefully and drives it on.
async fn until_stopped<C: Future>(
    mut connection: std::pin::Pin<Box<C>>,
    mut stopped: watch::Receiver<bool>,
    graceful_shutdown: impl FnOnce(std::pin::Pin<&mut C>),
) {
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stopped.wait_for(|stopped| *stopped) => {}
    }
    graceful_shutdown(connection.as_mut());
    let _ = connection.await;
}

/// The wait after a failed `accept`: the first, doubled per failure in a
/// row up to [`ACCEPT_BACKOFF_MAX`] (what `axum::serve` waits each time).
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Failed accepts in a row (an *episode*, such as running out of file
/// descriptors): how long to wait next, and one log line per episode
/// instead of one per failure.
#[derive(Debug, Default)]
struct AcceptBackoff {
    /// The last wait, while an episode lasts.
    wait: Option<Duration>,
    /// Failures in this episode.
    failures: u64,
}

impl AcceptBackoff {
    /// An accept failed with `err`: how long to wait before the next.
    fn failed(&mut self, err: &std::io::Error) -> Duration {
        self.failures += 1;
        let wait = match self.wait {
            None => {
                tracing::warn!(error = %err, "accept failed: backing off until it succeeds (out of file descriptors?)");
                ACCEPT_BACKOFF_MIN
            }
            Some(wait) => (wait * 2).min(ACCEPT_BACKOFF_MAX),
        };
        self.wait = Some(wait);
        wait
    }

    /// An accept succeeded: the episode, if any, is over.
    fn accepted(&mut self) {
        if self.wait.take().is_some() {
            tracing::warn!(failures = self.failures, "accepting connections again");
            self.failures = 0;
        }
    }
}

/// Whether an accept error is about one connection (which the client gave
/// up on), not about the listener or the process: `axum::serve`'s list.
fn is_connection_error(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// What a connection past the cap gets, after its request head.
const TOO_MANY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// Reads until the end of a request head (a blank line) or of the input,
/// keeping nothing.
async fn read_head(socket: &mut tokio::net::TcpStream) {
    let mut tail = [0u8; 4];
    let mut buf = [0u8; 1024];
    while let Ok(n @ 1..) = socket.read(&mut buf).await {
        for &byte in &buf[..n] {
            tail = [tail[1], tail[2], tail[3], byte];
            if &tail == b"\r\n\r\n" {
                return;
            }
        }
    }
}
