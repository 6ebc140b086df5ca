//! [`EventRef`] and [`FrameRef`]: events and frames with borrowed fields,
//! for decoding without a reference count and encoding without building an
//! owned [`Event`].

use std::time::Duration;

use crate::error::InvalidField;
use crate::event::{Event, Frame};
use crate::parse;

/// An event whose fields are borrowed: what
/// [`EventDecoder::for_each_event`](crate::EventDecoder::for_each_event)
/// hands out, and what [`encode`](Self::encode) writes straight from `&str`
/// fields without building an [`Event`].
///
/// A decoded `EventRef` holds its fields as a browser sees them (data lines
/// joined by LF, the type `None` for the default, the last event ID). One
/// made for encoding takes any `&str`: line breaks in the data (CR, LF,
/// CRLF) become separate `data:` lines, and the type and id are checked when
/// it is encoded, as [`EventBuilder`](crate::EventBuilder) checks them.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use sse_codec::EventRef;
///
/// let mut buf = BytesMut::new();
/// EventRef::new("50%").with_event_type("progress").with_id("7").encode(&mut buf)?;
/// assert_eq!(&buf[..], b"event: progress\nid: 7\ndata: 50%\n\n");
/// # Ok::<(), sse_codec::InvalidField>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventRef<'a> {
    pub(crate) data: &'a str,
    /// `None` for the default type (empty or `message`).
    pub(crate) event_type: Option<&'a str>,
    pub(crate) id: Option<&'a str>,
    pub(crate) retry: Option<Duration>,
}

impl<'a> EventRef<'a> {
    /// An event of the default type carrying `data`, to encode.
    pub fn new(data: &'a str) -> Self {
        EventRef {
            data,
            event_type: None,
            id: None,
            retry: None,
        }
    }

    /// A decoded event; the decoder has already put each field in the form
    /// a browser sees.
    pub(crate) fn decoded(
        data: &'a str,
        event_type: Option<&'a str>,
        id: Option<&'a str>,
        retry: Option<Duration>,
    ) -> Self {
        EventRef {
            data,
            event_type,
            id,
            retry,
        }
    }

    /// Sets the event type. An empty type and `message` are the default
    /// type, not written. A type with a line break makes
    /// [`encode`](Self::encode) fail.
    pub fn with_event_type(mut self, event_type: &'a str) -> Self {
        self.event_type =
            Some(event_type).filter(|t| !t.is_empty() && *t != parse::DEFAULT_EVENT_TYPE);
        self
    }

    /// Sets the id. An id with a line break or NUL makes
    /// [`encode`](Self::encode) fail.
    pub fn with_id(mut self, id: &'a str) -> Self {
        self.id = Some(id);
        self
    }

    /// Sets the reconnection time (the `retry` field).
    pub fn with_retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self
    }

    /// The data. On a decoded event, its lines are joined by LF.
    #[inline]
    pub fn data(&self) -> &'a str {
        self.data
    }

    /// The event type: the value of the last `event` field, or `"message"`.
    #[doc(alias = "event")]
    #[inline]
    pub fn event_type(&self) -> &'a str {
        self.event_type.unwrap_or(parse::DEFAULT_EVENT_TYPE)
    }

    /// The id. On a decoded event, the stream's last event ID when the event
    /// was dispatched, as [`Event::id`] is; `None` when it is empty.
    #[inline]
    pub fn id(&self) -> Option<&'a str> {
        self.id
    }

    /// The reconnection time this event sets, from a `retry` field in its
    /// own block.
    #[inline]
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// An owned [`Event`] with the same fields (copied), to keep beyond the
    /// borrow.
    ///
    /// # Errors
    ///
    /// As [`EventBuilder::build`](crate::EventBuilder::build): a type or id
    /// with a line break, an id with NUL. A decoded `EventRef` never fails.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = sse_codec::EventRef::new("a\r\nb").with_id("1").to_event()?;
    /// assert_eq!(event.data(), "a\nb");
    /// assert_eq!(event.id(), Some("1"));
    /// # Ok::<(), sse_codec::InvalidField>(())
    /// ```
    pub fn to_event(&self) -> Result<Event, InvalidField> {
        let mut builder = Event::builder().data(self.data.to_owned());
        if let Some(event_type) = self.event_type {
            builder = builder.event_type(event_type.to_owned());
        }
        if let Some(id) = self.id {
            builder = builder.id(id.to_owned());
        }
        if let Some(retry) = self.retry {
            builder = builder.retry(retry);
        }
        builder.build()
    }
}

impl Event {
    /// The event with its fields borrowed, to hand to code written for
    /// [`EventRef`] (one function for both decoding paths).
    ///
    /// # Examples
    ///
    /// ```
    /// let event = sse_codec::Event::builder().event_type("tick").data("1").build()?;
    /// let borrowed = event.as_event_ref();
    /// assert_eq!((borrowed.event_type(), borrowed.data()), ("tick", "1"));
    /// # Ok::<(), sse_codec::InvalidField>(())
    /// ```
    pub fn as_event_ref(&self) -> EventRef<'_> {
        EventRef {
            data: self.data(),
            event_type: self.event_type.as_deref(),
            id: self.id(),
            retry: self.retry(),
        }
    }
}

impl Frame {
    /// The frame with its fields borrowed; see [`Event::as_event_ref`].
    pub fn as_frame_ref(&self) -> FrameRef<'_> {
        match self {
            Frame::Event(event) => FrameRef::Event(event.as_event_ref()),
            Frame::Comment(text) => FrameRef::Comment(text),
            Frame::Retry(retry) => FrameRef::Retry(*retry),
        }
    }
}

/// One unit of an event stream with borrowed fields: what
/// [`EventDecoder::for_each_frame`](crate::EventDecoder::for_each_frame)
/// hands out. The borrowed form of [`Frame`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameRef<'a> {
    /// A dispatched event.
    Event(EventRef<'a>),
    /// A comment line, without the colon.
    Comment(&'a str),
    /// A valid `retry` field.
    Retry(Duration),
}

impl FrameRef<'_> {
    /// An owned [`Frame`] with the same content (copied).
    ///
    /// # Errors
    ///
    /// As [`EventRef::to_event`]; a decoded frame never fails.
    pub fn to_frame(&self) -> Result<Frame, InvalidField> {
        Ok(match *self {
            FrameRef::Event(event) => Frame::Event(event.to_event()?),
            FrameRef::Comment(text) => Frame::comment(text.to_owned()),
            FrameRef::Retry(retry) => Frame::Retry(retry),
        })
    }
}
