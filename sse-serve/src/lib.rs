#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod send_timeout;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    // HTTP/2 for event streams: many long-lived streams per connection,
    // each holding little, and pings to find dead peers. Flow control is
    // per stream: a stream its client does not read stalls alone.
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_streams_per_connection)
        .max_send_buf_size(H2_SEND_BUFFER)
        .keep_alive_interval(H2_PING_INTERVAL)
        .keep_alive_timeout(H2_PING_TIMEOUT);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
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
        // A small send buffer, so that progress shows at the socket (see
        // `send_timeout`); a failure leaves the kernel's default.
        let _ = socket2::SockRef::from(&socket).set_send_buffer_size(send_timeout::SEND_BUFFER);
        let socket = SendTimeout::new(socket, limits.send_timeout);
        let connection = builder
            .serve_connection_with_upgrades(
                TokioIo::new(socket),
                TowerToHyperService::new(service.clone()),
            )
            .into_owned();
        let connection = graceful.watch(connection);
        let closed = Arc::clone(&closed);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
            closed.notify_one();
        });
    }
    match tokio::time::timeout(grace, graceful.shutdown()).await {
        Ok(()) => Stopped::Drained,
        Err(_) => Stopped::GraceExpired,
    }
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
