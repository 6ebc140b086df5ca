//! [`started`]: a response's stream polled once before its head is sent,
//! to tell a stream that has nothing to send (answered 204 No Content)
//! from one that has.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

/// Polls `stream` once (with a waker that does nothing: the stream is
/// polled again, with the response body's own, before anything waits on
/// it). `None` if it ended before its first item: an event stream with
/// nothing to send, ever, which the framework adapters answer with 204 No
/// Content, the HTML standard's way to make `EventSource` stop
/// reconnecting (a hub subscription that resumed after its channel's
/// end). Otherwise the same stream, the item it yielded (if any) first.
///
/// # Examples
///
/// ```
/// use futures_util::{stream, StreamExt};
/// use sse_codec::stream::started;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// assert!(started(stream::empty::<u8>()).is_none());
/// assert!(started(stream::pending::<u8>()).is_some());
/// let items: Vec<u8> = started(stream::iter([1, 2])).unwrap().collect().await;
/// assert_eq!(items, [1, 2]);
/// # });
/// ```
pub fn started<S: Stream + Unpin>(mut stream: S) -> Option<Started<S>> {
    let mut cx = Context::from_waker(Waker::noop());
    let first = match Pin::new(&mut stream).poll_next(&mut cx) {
        Poll::Ready(None) => return None,
        Poll::Ready(Some(item)) => Some(item),
        Poll::Pending => None,
    };
    Some(Started {
        first,
        rest: stream,
    })
}

/// The stream [`started`] returns: its first item, if it was ready, then
/// the rest.
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Started<S: Stream> {
    first: Option<S::Item>,
    rest: S,
}

impl<S: Stream + Unpin> Stream for Started<S>
where
    S::Item: Unpin,
{
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(first));
        }
        Pin::new(&mut self.rest).poll_next(cx)
    }
}
