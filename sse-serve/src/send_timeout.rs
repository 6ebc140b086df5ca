//! [`SendTimeout`]: a connection that takes no byte for a while, although
//! there is something to send, is closed (nginx's `send_timeout`, Mercure's
//! `write_timeout`).
//!
//! Progress is measured at the socket: a write that goes through means the
//! kernel took bytes, which it does only when its send buffer has room,
//! that is when earlier bytes left. That holds only if the send buffer is
//! small: Linux grows it to megabytes and reports the socket writable only
//! after a large part has drained, so a slow reader on a fast link could
//! leave one write pending for tens of seconds. [`SEND_BUFFER`] bounds it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// The socket send buffer asked for (Linux doubles it for its own
/// bookkeeping): room for several seconds of events for any reader, and
/// small enough that a reader taking 4 KiB every 100 ms frees room, and so
/// lets a write through, within about two seconds.
pub(crate) const SEND_BUFFER: usize = 64 * 1024;

/// An IO whose writes fail with [`io::ErrorKind::TimedOut`] once one has
/// waited `timeout` for the peer to take a byte.
#[derive(Debug)]
pub(crate) struct SendTimeout<IO> {
    io: IO,
    timeout: Duration,
    /// Started when a write could not go through; cleared by one that does.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<IO> SendTimeout<IO> {
    pub(crate) fn new(io: IO, timeout: Duration) -> Self {
        SendTimeout {
            io,
            timeout,
            stalled: None,
        }
    }

    /// What a write that did not go through becomes: still pending, or,
    /// once it has waited `timeout` since the last byte went out, an error
    /// that closes the connection.
    fn poll_stalled<T>(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if written.is_ready() {
            self.stalled = None;
            return written;
        }
        let timeout = self.timeout;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the peer took no byte for {timeout:?}"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for SendTimeout<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for SendTimeout<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write(cx, buf);
        self.poll_stalled(cx, written)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.poll_stalled(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let flushed = Pin::new(&mut self.io).poll_flush(cx);
        self.poll_stalled(cx, flushed)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
