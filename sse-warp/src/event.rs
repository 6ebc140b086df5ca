//! [`Event`], [`KeepAlive`] and [`keep_alive`] in the shape of `warp::sse`,
//! over sse-codec's checked event.

use std::borrow::Cow;
use std::time::Duration;

use sse_codec::adapter::FrameworkEvent;

/// A server-sent event, built as `warp::sse::Event` is:
/// `Event::default().event("tick").id("1").data("…")`.
///
/// Unlike warp's, no field can inject another: a line break in an event
/// type or id, or NUL in an id, is kept as the event's
/// [`error`](Self::error) and the reply ends cleanly at this event instead
/// of writing it (warp writes it, and the browser reads other fields). Data
/// keeps a leading space (warp's `data:` without a space loses it in the
/// browser), and CR, LF and CRLF in data are all line breaks (warp splits on
/// LF only). See [`FrameworkEvent`] for every difference.
///
/// # Examples
///
/// ```
/// use sse_warp::Event;
///
/// let event = Event::default().event("chat").id("1").data("hello");
/// assert!(event.error().is_none());
/// let bad = Event::default().event("chat\ndata: injected");
/// assert!(bad.error().is_some());
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct Event(FrameworkEvent);

sse_codec::framework_event_common!(Event);

impl Event {
    /// Sets the data (`data:` lines, one per line of `data`).
    pub fn data<T: Into<String>>(self, data: T) -> Event {
        Event(self.0.data(data.into()))
    }

    /// Sets the data to `data` serialized as JSON.
    ///
    /// # Errors
    ///
    /// `data` cannot be serialized.
    pub fn json_data<T: serde::Serialize>(self, data: T) -> Result<Event, serde_json::Error> {
        Ok(Event(self.0.json_data(&data, |err| err)?))
    }

    /// Adds a comment (`:` lines, ignored by browsers), before the event's
    /// fields; a line break in it starts another comment line.
    pub fn comment<T: Into<String>>(self, comment: T) -> Event {
        Event(self.0.comment(comment.into()))
    }

    /// Sets the event type (`event:`). A line break in it makes the event
    /// invalid.
    pub fn event<T: Into<String>>(self, event: T) -> Event {
        Event(self.0.event_type(event.into()))
    }

    /// Sets the reconnection time (`retry:`, in milliseconds).
    pub fn retry(self, duration: Duration) -> Event {
        Event(self.0.retry(duration))
    }

    /// Sets the id (`id:`). A line break or NUL in it makes the event
    /// invalid.
    pub fn id<T: Into<String>>(self, id: T) -> Event {
        Event(self.0.id(id.into()))
    }
}

/// Builds an [`Event`], checking each field as it is set, with the first
/// invalid one returned by `build`; see [`sse_codec::EventBuilder`].
pub type EventBuilder = sse_codec::adapter::FrameworkEventBuilder<Event>;

/// The keep-alive of a reply, as `warp::sse::keep_alive()` configures it:
/// an empty comment after 15 seconds of silence by default.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use futures_util::stream;
///
/// let events = stream::iter([Ok::<_, std::convert::Infallible>(sse_warp::Event::default().data("hi"))]);
/// let events = sse_warp::keep_alive().interval(Duration::from_secs(5)).text("thump").stream(events);
/// let reply = sse_warp::reply(events);
/// # let _ = reply;
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct KeepAlive(pub(crate) sse_codec::stream::KeepAlive);

/// A keep-alive configuration for a reply (the counterpart of
/// `warp::sse::keep_alive`); see [`KeepAlive`].
pub fn keep_alive() -> KeepAlive {
    KeepAlive::new()
}

impl KeepAlive {
    /// An empty comment after 15 seconds of silence.
    pub fn new() -> Self {
        KeepAlive(sse_codec::stream::KeepAlive::new())
    }

    /// How long the reply may stay silent before the keep-alive is sent.
    pub fn interval(self, time: Duration) -> Self {
        KeepAlive(self.0.interval(time))
    }

    /// Sends `text` as the comment (a line break in it starts another
    /// comment line, never a field).
    pub fn text(self, text: impl Into<Cow<'static, str>>) -> Self {
        let text: Cow<'static, str> = text.into();
        KeepAlive(self.0.text(text.as_ref()))
    }

    /// `event_stream` with this keep-alive, for [`reply`](crate::reply).
    pub fn stream<S>(self, event_stream: S) -> KeepAliveStream<S> {
        KeepAliveStream {
            events: event_stream,
            keep_alive: self,
        }
    }
}

/// An event stream with its keep-alive, made by [`KeepAlive::stream`] and
/// taken by [`reply`](crate::reply), which sends the keep-alive.
#[derive(Debug)]
#[must_use]
pub struct KeepAliveStream<S> {
    pub(crate) events: S,
    pub(crate) keep_alive: KeepAlive,
}
