//! [`Event`], [`EventDataWriter`], [`EventBuilder`] and [`KeepAlive`] in the
//! shape of `axum::response::sse`, over sse-codec's checked event.

use std::fmt;
use std::time::Duration;

use sse_codec::adapter::FrameworkEvent;
use sse_codec::stream::Outgoing;
use sse_codec::EncodedFrame;

/// A server-sent event, built as `axum::response::sse::Event` is:
/// `Event::default().event("tick").id("1").data("…")`.
///
/// No setter panics. A field that would inject another one or be ignored by
/// browsers (a line break in an event type or id, NUL in an id) is kept as
/// the event's [`error`](Self::error), and the response ends cleanly at this
/// event instead of writing it (axum panics there). Where axum's output is
/// wrong, this one is what a browser reads back: `data("")` is sent (axum
/// drops it), and CRLF in data is one line break (axum makes it two). See
/// [`FrameworkEvent`] for every difference.
///
/// # Examples
///
/// ```
/// use sse_axum::Event;
///
/// let event = Event::default().event("progress").id("7").data("50%");
/// assert!(event.error().is_none());
///
/// let bad = Event::default().id("7\ndata: injected");
/// assert_eq!(bad.error().unwrap().to_string(), "id contains a line break");
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct Event(FrameworkEvent);

sse_codec::framework_event_common!(Event);

impl Event {
    /// Sets the data (`data:` lines). Line breaks (CR, LF, CRLF) become
    /// separate `data:` lines; empty data is sent as an event with empty
    /// data, which browsers dispatch.
    pub fn data<T: AsRef<str>>(self, data: T) -> Self {
        Event(self.0.data(data.as_ref()))
    }

    /// Sets the data to `data` serialized as JSON.
    ///
    /// # Errors
    ///
    /// `data` cannot be serialized (a map with non-string keys, a failing
    /// `Serialize` implementation).
    pub fn json_data<T: serde::Serialize>(self, data: T) -> Result<Self, axum_core::Error> {
        Ok(Event(self.0.json_data(&data, axum_core::Error::new)?))
    }

    /// Sets the event type (`event:`), the name a page listens to with
    /// `addEventListener`. A line break in it makes the event invalid.
    pub fn event<T: AsRef<str>>(self, event: T) -> Self {
        Event(self.0.event_type(event.as_ref()))
    }

    /// Sets the id (`id:`), which a reconnecting browser sends back as
    /// `Last-Event-ID`. A line break or NUL in it makes the event invalid.
    pub fn id<T: AsRef<str>>(self, id: T) -> Self {
        Event(self.0.id(id.as_ref()))
    }

    /// Sets the reconnection time the browser waits after a disconnection
    /// (`retry:`, in milliseconds).
    pub fn retry(self, duration: Duration) -> Self {
        Event(self.0.retry(duration))
    }

    /// Adds a comment (`:` lines, ignored by browsers), before the event's
    /// fields. A line break in it starts another comment line. May be called
    /// several times.
    pub fn comment<T: AsRef<str>>(self, comment: T) -> Self {
        Event(self.0.comment(comment.as_ref()))
    }

    /// This event as a [`fmt::Write`] that sets its data: `write!` into it,
    /// then [`EventDataWriter::into_event`].
    pub fn into_data_writer(self) -> EventDataWriter {
        EventDataWriter {
            event: self,
            data: String::new(),
            written: false,
        }
    }
}

/// An [`Event`] whose data is being written with [`fmt::Write`]; made by
/// [`Event::into_data_writer`].
///
/// # Examples
///
/// ```
/// use std::fmt::Write;
///
/// let mut writer = sse_axum::Event::default().event("sum").into_data_writer();
/// write!(writer, "{} + {} = {}", 1, 2, 1 + 2).unwrap();
/// let event = writer.into_event();
/// # drop(event);
/// ```
#[derive(Debug)]
#[must_use]
pub struct EventDataWriter {
    event: Event,
    data: String,
    written: bool,
}

impl EventDataWriter {
    /// The event, with the data written (if any was).
    pub fn into_event(self) -> Event {
        if self.written {
            self.event.data(self.data)
        } else {
            self.event
        }
    }
}

impl fmt::Write for EventDataWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.written = true;
        self.data.push_str(s);
        Ok(())
    }
}

/// Builds an [`Event`], checking each field as it is set, with the first
/// invalid one returned by `build`; see [`sse_codec::EventBuilder`].
pub type EventBuilder = sse_codec::adapter::FrameworkEventBuilder<Event>;

/// When and what to send to keep an idle response's connection open, as
/// `axum::response::sse::KeepAlive`: an empty comment every 15 seconds of
/// silence by default.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sse_axum::{Event, KeepAlive};
///
/// let keep_alive = KeepAlive::new().interval(Duration::from_secs(5)).text("ping");
/// let as_event = KeepAlive::default().event(Event::default().event("ping"));
/// # drop((keep_alive, as_event));
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct KeepAlive(pub(crate) sse_codec::stream::KeepAlive);

impl KeepAlive {
    /// An empty comment every 15 seconds of silence.
    pub fn new() -> Self {
        KeepAlive(sse_codec::stream::KeepAlive::new())
    }

    /// How long the response may stay silent before the keep-alive is sent.
    pub fn interval(self, time: Duration) -> Self {
        KeepAlive(self.0.interval(time))
    }

    /// Sends `text` as the comment (a line break in it starts another
    /// comment line, never a field).
    pub fn text<I: AsRef<str>>(self, text: I) -> Self {
        KeepAlive(self.0.text(text.as_ref()))
    }

    /// Sends `event` as the keep-alive instead of a comment. An event with
    /// an invalid field (see [`Event::error`]) is not sent: the keep-alive
    /// stays as it was (axum panics there).
    pub fn event(self, event: Event) -> Self {
        match Outgoing::from(event) {
            Outgoing::Frame(frame) => KeepAlive(self.0.frame(EncodedFrame::from(frame))),
            Outgoing::Encoded(frame) => KeepAlive(self.0.frame(frame)),
            _ => self,
        }
    }
}
