//! For the authors of framework adapters (feature `stream`):
//! [`FrameworkEvent`], an event built the way axum's and warp's are, with
//! setters that cannot fail, over this crate's checked [`Event`]. An
//! application uses its adapter's `Event` (`sse_axum::Event`,
//! `sse_warp::Event`), which wraps it.

use std::time::Duration;

use crate::encoded::EncodedFrame;
use crate::error::InvalidField;
use crate::event::{Event, EventBuilder, Frame};
use crate::str::ByteStr;
use crate::stream::Outgoing;

/// An event built with chained setters that cannot fail, in the shape of
/// `axum::response::sse::Event` and `warp::sse::Event`: what `sse-axum`'s
/// and `sse-warp`'s `Event` wrap, so that a handler written for those
/// frameworks compiles with a change of `use`.
///
/// Where the frameworks panic (axum, on a line break in an event type, id or
/// comment, or NUL in an id) or write a corrupt stream (warp), this keeps
/// the first invalid field ([`error`](Self::error)), and the event becomes
/// [`Outgoing::End`]: the response ends cleanly at that event, nothing of it
/// is written, no field is injected, nothing panics.
///
/// Other differences, each the browser's reading of the stream kept exact:
/// data with CR, LF or CRLF becomes one `data:` line per line (axum turns a
/// CRLF into an extra empty line; warp splits on LF only); `data("")` is an
/// event with empty data, which a browser dispatches (axum writes nothing);
/// an event without `data` is dispatched with empty data too, unless it holds
/// only comments; fields are written in one order (`event`, `id`, `retry`,
/// `data`, comments first), whatever the order of the calls; the last call
/// of a setter wins (axum panics on a second call).
///
/// # Examples
///
/// ```
/// use sse_codec::adapter::FrameworkEvent;
/// use sse_codec::stream::Outgoing;
///
/// let event = FrameworkEvent::default().event_type("tick").id("7").data("a\nb");
/// let Outgoing::Frame(frame) = Outgoing::from(event) else { unreachable!() };
/// assert_eq!(frame.to_bytes(), "event: tick\nid: 7\ndata: a\ndata: b\n\n");
///
/// // A line break in an id would inject a field: the event ends the stream.
/// let bad = FrameworkEvent::default().id("1\ndata: injected").data("x");
/// assert_eq!(bad.error().unwrap().to_string(), "id contains a line break");
/// assert_eq!(Outgoing::from(bad), Outgoing::End);
/// ```
#[derive(Debug)]
#[must_use]
pub struct FrameworkEvent {
    builder: EventBuilder,
    /// Whether `data` was set (an event without is still dispatched, unless
    /// it holds only comments).
    has_data: bool,
    /// Whether an event type, id or retry was set.
    has_fields: bool,
    comments: Vec<ByteStr>,
}

impl Default for FrameworkEvent {
    fn default() -> Self {
        FrameworkEvent {
            builder: Event::builder(),
            has_data: false,
            has_fields: false,
            comments: Vec::new(),
        }
    }
}

impl From<Event> for FrameworkEvent {
    fn from(event: Event) -> Self {
        FrameworkEvent {
            builder: event.into_builder(),
            has_data: true,
            has_fields: true,
            comments: Vec::new(),
        }
    }
}

impl FrameworkEvent {
    /// Sets the data; see [`EventBuilder::data`].
    pub fn data(mut self, data: impl Into<ByteStr>) -> Self {
        self.builder = self.builder.data(data);
        self.has_data = true;
        self
    }

    /// Sets the data to `value` serialized as JSON, or returns the
    /// serializer's error mapped by `error` (each framework has its own
    /// error type).
    ///
    /// # Errors
    ///
    /// `value` could not be serialized.
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    pub fn json_data<T: serde::Serialize + ?Sized, E>(
        self,
        value: &T,
        error: impl FnOnce(serde_json::Error) -> E,
    ) -> Result<Self, E> {
        let json = serde_json::to_string(value).map_err(error)?;
        Ok(self.data(json))
    }

    /// Sets the event type; see [`EventBuilder::event_type`].
    pub fn event_type(mut self, event_type: impl Into<ByteStr>) -> Self {
        self.builder = self.builder.event_type(event_type);
        self.has_fields = true;
        self
    }

    /// Sets the id; see [`EventBuilder::id`].
    pub fn id(mut self, id: impl Into<ByteStr>) -> Self {
        self.builder = self.builder.id(id);
        self.has_fields = true;
        self
    }

    /// Sets the reconnection time; see [`EventBuilder::retry`].
    pub fn retry(mut self, retry: Duration) -> Self {
        self.builder = self.builder.retry(retry);
        self.has_fields = true;
        self
    }

    /// Adds a comment, written before the event (one comment line per line
    /// of `text`, so a line break cannot end it early). May be called
    /// several times.
    pub fn comment(mut self, text: impl Into<ByteStr>) -> Self {
        self.comments.push(text.into());
        self
    }

    /// The first invalid field set, if any: the event then ends the
    /// response instead of being written.
    pub fn error(&self) -> Option<&InvalidField> {
        self.builder.error()
    }

    /// The checked event and its comments, or the first invalid field.
    ///
    /// # Errors
    ///
    /// The first invalid field set.
    pub fn into_parts(self) -> Result<(Event, Vec<ByteStr>), InvalidField> {
        Ok((self.builder.build()?, self.comments))
    }
}

impl From<FrameworkEvent> for Outgoing {
    /// The event as one frame, or, with comments, the comments and the
    /// event encoded as one chunk; [`Outgoing::End`] if a field is invalid.
    fn from(event: FrameworkEvent) -> Self {
        let only_comments = !event.has_data && !event.has_fields && !event.comments.is_empty();
        let Ok((built, comments)) = event.into_parts() else {
            return Outgoing::End;
        };
        if comments.is_empty() {
            return Outgoing::Frame(Frame::Event(built));
        }
        let mut frames: Vec<EncodedFrame> = comments
            .into_iter()
            .map(|text| EncodedFrame::from(Frame::comment(text)))
            .collect();
        if !only_comments {
            frames.push(EncodedFrame::from(built));
        }
        Outgoing::Encoded(EncodedFrame::concat(&frames))
    }
}

/// Builds a framework adapter's event type `E` with checked setters and a
/// `Result` at the end, as [`EventBuilder`] builds an [`Event`]: what
/// `sse_axum::Event::builder()` and `sse_warp::Event::builder()` return.
///
/// # Examples
///
/// ```
/// use sse_codec::adapter::FrameworkEventBuilder;
/// use sse_codec::Event;
///
/// let builder: FrameworkEventBuilder<Event> = FrameworkEventBuilder::new();
/// let event = builder.event_type("tick").id("1").data("x").build()?;
/// assert_eq!(event.data(), "x");
/// # Ok::<(), sse_codec::InvalidField>(())
/// ```
#[derive(Debug)]
#[must_use = "a FrameworkEventBuilder does nothing until `build` is called"]
pub struct FrameworkEventBuilder<E> {
    builder: EventBuilder,
    built: std::marker::PhantomData<fn() -> E>,
}

impl<E: From<Event>> Default for FrameworkEventBuilder<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: From<Event>> FrameworkEventBuilder<E> {
    /// A builder of an event with empty data.
    pub fn new() -> Self {
        FrameworkEventBuilder {
            builder: Event::builder(),
            built: std::marker::PhantomData,
        }
    }

    fn map(self, f: impl FnOnce(EventBuilder) -> EventBuilder) -> Self {
        FrameworkEventBuilder {
            builder: f(self.builder),
            built: std::marker::PhantomData,
        }
    }

    /// Sets the data; see [`EventBuilder::data`].
    pub fn data(self, data: impl Into<ByteStr>) -> Self {
        self.map(|b| b.data(data))
    }

    /// Sets the data to `value` serialized as JSON; see
    /// [`EventBuilder::json_data`].
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    pub fn json_data<T: serde::Serialize + ?Sized>(self, value: &T) -> Self {
        self.map(|b| b.json_data(value))
    }

    /// Sets the event type; see [`EventBuilder::event_type`].
    pub fn event_type(self, event_type: impl Into<ByteStr>) -> Self {
        self.map(|b| b.event_type(event_type))
    }

    /// Sets the id; see [`EventBuilder::id`].
    pub fn id(self, id: impl Into<ByteStr>) -> Self {
        self.map(|b| b.id(id))
    }

    /// Sets the reconnection time; see [`EventBuilder::retry`].
    pub fn retry(self, retry: Duration) -> Self {
        self.map(|b| b.retry(retry))
    }

    /// The event.
    ///
    /// # Errors
    ///
    /// The first invalid field set.
    pub fn build(self) -> Result<E, InvalidField> {
        self.builder.build().map(E::from)
    }
}

/// The parts of a framework adapter's `Event` newtype over
/// [`FrameworkEvent`] that do not depend on the framework: `new`,
/// `builder`, `error`, and the conversions (from a checked [`Event`], into
/// [`Outgoing`]). Used by sse-axum and sse-warp; each writes its
/// framework's setters itself.
#[doc(hidden)]
#[macro_export]
macro_rules! framework_event_common {
    ($event:ident) => {
        impl $event {
            /// An event with `data`: the shortest way, `Event::new("hello")`.
            pub fn new(data: impl Into<$crate::ByteStr>) -> Self {
                $event($crate::adapter::FrameworkEvent::default().data(data))
            }

            /// Builds an event with checked setters and a `Result` at the
            /// end; see [`sse_codec::EventBuilder`].
            pub fn builder() -> $crate::adapter::FrameworkEventBuilder<$event> {
                $crate::adapter::FrameworkEventBuilder::new()
            }

            /// The first invalid field set: the response ends at this event
            /// instead of writing it.
            pub fn error(&self) -> Option<&$crate::InvalidField> {
                self.0.error()
            }
        }

        impl From<$crate::Event> for $event {
            fn from(event: $crate::Event) -> Self {
                $event($crate::adapter::FrameworkEvent::from(event))
            }
        }

        impl From<$event> for $crate::stream::Outgoing {
            fn from(event: $event) -> Self {
                $crate::stream::Outgoing::from(event.0)
            }
        }

        impl $crate::stream::IntoOutgoing for $event {
            type Error = ::std::convert::Infallible;

            fn into_outgoing(self) -> Result<$crate::stream::Outgoing, Self::Error> {
                Ok(self.into())
            }
        }
    };
}
