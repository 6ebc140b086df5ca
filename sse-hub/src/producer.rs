//! [`Producer`]: the one writer of a channel that ends, which ends it
//! even when its task fails, and hears [`Hub::cancel`] from anywhere.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use sse_codec::{ByteStr, Event};

use crate::backend::Backend;
use crate::cancel::Signal;
use crate::end::End;
use crate::hub::Hub;
use crate::lock::lock;
use crate::memory::MemoryBackend;

/// What the end says when a producer is dropped without ending its channel
/// (a panic, a task that was cancelled).
pub const DROPPED: &str = "the producer stopped without ending the stream";

/// The writer of a channel that ends: made by [`Hub::producer`], one per
/// channel at a time in a process (on Redis, with a lease: if its instance
/// is lost, another ends the channel with an error).
///
/// It publishes with [`send`](Self::send) and ends the channel with
/// [`end`](Self::end). If it is dropped without ending it (its task
/// panicked, or was cancelled), the channel ends with
/// [`End::Error`]([`DROPPED`]), or with [`End::Cancelled`] when a cancel
/// had been asked for: a subscriber never waits forever on a producer that
/// is gone. [`cancelled`](Self::cancelled) completes when
/// [`Hub::cancel`] is called for its channel, from any task: select on it
/// and stop the upstream work.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use sse_hub::{End, Hub};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let hub = Hub::new();
/// let answer = hub.producer("answer-1").await.expect("no other producer");
/// let Ok(mut reader) = hub.subscribe("answer-1", None).await;
/// for token in ["Hel", "lo"] {
///     let _ = answer.send(sse_codec::Event::new(token)).await;
/// }
/// let _ = answer.end(End::Done).await;
///
/// let mut received = String::new();
/// while let Some(frames) = reader.next().await {
///     received.push_str(std::str::from_utf8(frames.as_bytes()).unwrap());
/// }
/// assert_eq!(
///     received,
///     "id: 1\ndata: Hel\n\nid: 2\ndata: lo\n\nevent: end\nid: 3\ndata: {\"reason\":\"done\"}\n\n"
/// );
/// # });
/// ```
#[derive(Debug)]
#[must_use = "dropping a producer ends its channel with an error"]
pub struct Producer<B: Backend = MemoryBackend> {
    hub: Hub<B>,
    channel: Arc<str>,
    signal: Arc<Signal>,
    /// Set once the channel was ended through this producer.
    ended: bool,
}

/// The channel already has a producer in this process.
#[derive(Debug)]
pub(crate) struct ProducerTaken;

/// Why [`Hub::producer`] failed.
#[derive(Debug)]
pub enum ProduceError<E> {
    /// The channel already has a producer in this process.
    Taken,
    /// The backend could not take the channel's lease.
    Backend(E),
}

impl<E: std::fmt::Display> std::fmt::Display for ProduceError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProduceError::Taken => f.write_str("the channel already has a producer"),
            ProduceError::Backend(err) => write!(f, "cannot take the channel's lease: {err}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ProduceError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProduceError::Taken => None,
            ProduceError::Backend(err) => Some(err),
        }
    }
}

impl<B: Backend> Producer<B> {
    pub(crate) fn new(hub: &Hub<B>, channel: &str) -> Result<Self, ProducerTaken> {
        let channel: Arc<str> = channel.into();
        let signal = Arc::new(Signal::default());
        let mut signals = lock(&hub.producers().signals);
        if signals.contains_key(&channel) {
            return Err(ProducerTaken);
        }
        signals.insert(Arc::clone(&channel), Arc::clone(&signal));
        drop(signals);
        Ok(Producer {
            hub: hub.clone(),
            channel,
            signal,
            ended: false,
        })
    }

    /// The channel it writes.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Publishes `event` on the channel ([`Hub::publish`]).
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn send(&self, event: Event) -> Result<ByteStr, B::Error> {
        self.hub.publish(&self.channel, event).await
    }

    /// Ends the channel with `end` ([`Hub::end`]) and returns the end's id.
    ///
    /// # Errors
    ///
    /// The backend's error: the channel did not end.
    pub async fn end(mut self, end: End) -> Result<ByteStr, B::Error> {
        self.ended = true;
        self.release();
        let channel = Arc::clone(&self.channel);
        self.hub.end(&channel, end).await
    }

    /// Completes once [`Hub::cancel`] was called for the channel (at once if
    /// it already was).
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled {
            signal: &self.signal,
        }
    }

    /// Whether a cancel was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.signal.is_raised()
    }

    /// Gone without ending anything (its lease could not be taken).
    pub(crate) fn forget(mut self) {
        self.ended = true;
        self.release();
    }

    /// Takes the producer out of the process's registry, and its lease
    /// out of renewal.
    fn release(&self) {
        self.hub.backend().produced(&self.channel);
        let mut signals = lock(&self.hub.producers().signals);
        if signals
            .get(&self.channel)
            .is_some_and(|signal| Arc::ptr_eq(signal, &self.signal))
        {
            signals.remove(&self.channel);
        }
    }
}

impl<B: Backend> Drop for Producer<B> {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        self.release();
        let end = if self.is_cancelled() {
            End::Cancelled
        } else {
            End::Error(DROPPED.to_owned())
        };
        let hub = self.hub.clone();
        let channel = Arc::clone(&self.channel);
        let mut ending = Box::pin(async move {
            let _ = hub.end(&channel, end).await;
        });
        // The in-memory backend ends it here; a backend that must wait
        // (Redis) ends it on the runtime.
        let mut cx = Context::from_waker(Waker::noop());
        if ending.as_mut().poll(&mut cx).is_pending() {
            #[cfg(any(feature = "redis", feature = "topics"))]
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(ending);
            }
        }
    }
}

/// The future of [`Producer::cancelled`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Cancelled<'a> {
    signal: &'a Signal,
}

impl Future for Cancelled<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = lock(&self.signal.state);
        if state.0 {
            return Poll::Ready(());
        }
        if !state.1.iter().any(|w| w.will_wake(cx.waker())) {
            state.1.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<B: Backend> Hub<B> {
    /// The writer of `channel`, which ends it when dropped without
    /// [`Producer::end`] and hears [`cancel`](Self::cancel). On Redis it
    /// takes a lease, so that the channel ends with an error if this
    /// instance is lost (see `RedisBackendBuilder::lease_ttl`).
    ///
    /// # Errors
    ///
    /// [`ProduceError::Taken`]: the channel has a producer in this
    /// process; [`ProduceError::Backend`]: the backend could not take the
    /// lease.
    pub async fn producer(&self, channel: &str) -> Result<Producer<B>, ProduceError<B::Error>> {
        let producer = Producer::new(self, channel).map_err(|ProducerTaken| ProduceError::Taken)?;
        match self.backend().produce(channel).await {
            Ok(()) => Ok(producer),
            Err(err) => {
                producer.forget();
                Err(ProduceError::Backend(err))
            }
        }
    }
}
