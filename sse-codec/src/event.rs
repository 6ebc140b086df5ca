//! The event value, its builder, and [`Frame`].

use std::time::Duration;

use bytes::Bytes;

use crate::error::{InvalidField, InvalidFieldKind};
use crate::parse;
use crate::str::ByteStr;

/// One server-sent event: what a browser's `EventSource` dispatches as a
/// [`MessageEvent`](https://developer.mozilla.org/en-US/docs/Web/API/MessageEvent).
///
/// The same type is what [`EventDecoder`](crate::EventDecoder) yields and what
/// [`EventEncoder`](crate::EventEncoder) writes, so `decode(encode(e)) == e`.
/// To make that hold for every value, an `Event` stores its fields the way a
/// receiving `EventSource` will see them:
///
/// - line breaks in the data (CR, LF or CRLF) are stored as LF, because the
///   wire format can only carry line breaks as separate `data:` lines;
/// - an empty event type and the type `message` are both the default type
///   and are not written;
/// - an event type or id with a line break, or an id with NUL, cannot be
///   built at all (see [`InvalidField`]).
///
/// Cloning is cheap: the fields are [`ByteStr`]s sharing their storage.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sse_codec::Event;
///
/// let event = Event::builder()
///     .event_type("progress")
///     .id("42")
///     .data("50%")
///     .retry(Duration::from_secs(5))
///     .build()?;
/// assert_eq!(event.event_type(), "progress");
/// assert_eq!(event.id(), Some("42"));
/// assert_eq!(event.data(), "50%");
/// assert_eq!(event.to_bytes(), "event: progress\nid: 42\nretry: 5000\ndata: 50%\n\n");
/// # Ok::<(), sse_codec::InvalidField>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Event {
    /// Invariant: contains no CR (line breaks are LF).
    pub(crate) data: ByteStr,
    /// Number of lines in `data`: one more than its LF count.
    pub(crate) data_lines: usize,
    /// Invariant: `None`, or a type other than "" and "message" with no CR/LF.
    pub(crate) event_type: Option<ByteStr>,
    /// Invariant: contains no CR, LF or NUL.
    pub(crate) id: Option<ByteStr>,
    pub(crate) retry: Option<Duration>,
}

impl Event {
    /// Creates an event of the default type (`message`) carrying `data`.
    ///
    /// This cannot fail: line breaks in the data become separate `data:`
    /// lines when the event is encoded. CR and CRLF line breaks are stored as
    /// LF, which is what the receiver will see.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = sse_codec::Event::new("line 1\r\nline 2");
    /// assert_eq!(event.data(), "line 1\nline 2");
    /// assert_eq!(event.to_bytes(), "data: line 1\ndata: line 2\n\n");
    /// ```
    pub fn new(data: impl Into<ByteStr>) -> Self {
        let (data, data_lines) = normalize_data(data.into());
        Event {
            data,
            data_lines,
            event_type: None,
            id: None,
            retry: None,
        }
    }

    /// Starts building an event with more fields than data.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = sse_codec::Event::builder().event_type("ping").build()?;
    /// assert_eq!(event.event_type(), "ping");
    /// assert_eq!(event.data(), "");
    /// # Ok::<(), sse_codec::InvalidField>(())
    /// ```
    pub fn builder() -> EventBuilder {
        EventBuilder {
            inner: Ok(Event::new(ByteStr::new())),
        }
    }

    /// Continues building from this event: to change a field of an event
    /// someone else built, such as setting its id.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = sse_codec::Event::new("hi").into_builder().id("7").build()?;
    /// assert_eq!(event.id(), Some("7"));
    /// assert_eq!(event.data(), "hi");
    /// # Ok::<(), sse_codec::InvalidField>(())
    /// ```
    pub fn into_builder(self) -> EventBuilder {
        EventBuilder { inner: Ok(self) }
    }

    /// The event's data, with line breaks as LF.
    #[inline]
    pub fn data(&self) -> &str {
        &self.data
    }

    /// Takes the event's data without copying it.
    #[inline]
    pub fn into_data(self) -> ByteStr {
        self.data
    }

    /// The event type: the value of the last `event` field, or `"message"`.
    #[doc(alias = "event")]
    #[inline]
    pub fn event_type(&self) -> &str {
        self.event_type
            .as_deref()
            .unwrap_or(parse::DEFAULT_EVENT_TYPE)
    }

    /// The event's id.
    ///
    /// On an event to be encoded, this is the `id` field that will be written.
    /// On a decoded event it is what a browser reports as `lastEventId`: the
    /// stream's last event ID when the event was dispatched, which persists
    /// from earlier events that set it. `None` stands for the empty last event
    /// ID (never set, or reset by an empty `id` field).
    #[inline]
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The reconnection time this event sets, from a `retry` field in its own
    /// block.
    #[inline]
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }
}

/// Stores CR and CRLF line breaks as LF and counts the lines.
fn normalize_data(data: ByteStr) -> (ByteStr, usize) {
    if !parse::has_line_break(data.as_bytes(), false) {
        return (data, 1);
    }
    let mut lines = 1;
    for i in memchr::memchr2_iter(b'\r', b'\n', data.as_bytes()) {
        if data.as_bytes()[i] == b'\r' {
            return normalize_cr(&data);
        }
        lines += 1;
    }
    (data, lines)
}

/// The slow path of [`normalize_data`], for data with a CR.
#[cold]
fn normalize_cr(data: &str) -> (ByteStr, usize) {
    let joined = data.replace("\r\n", "\n").replace('\r', "\n");
    let lines = memchr::memchr_iter(b'\n', joined.as_bytes()).count() + 1;
    (ByteStr::from(joined), lines)
}

/// Builds an [`Event`], checking each field as it is set.
///
/// Setters take the builder by value, so a chain reads top to bottom. The
/// first invalid field is kept and returned by [`build`](Self::build); later
/// setters do nothing (the error-deferring pattern of `http`'s builders).
///
/// # Examples
///
/// ```
/// use sse_codec::Event;
///
/// let event = Event::builder().event_type("update").id("7").data("{}").build()?;
/// assert_eq!(event.to_bytes(), "event: update\nid: 7\ndata: {}\n\n");
/// # Ok::<(), sse_codec::InvalidField>(())
/// ```
///
/// An invalid field:
///
/// ```
/// use sse_codec::Event;
///
/// let result = Event::builder().event_type("a\r\nid: 666").data("x").build();
/// assert!(result.is_err());
/// ```
#[derive(Debug)]
#[must_use = "an EventBuilder does nothing until `build` is called"]
pub struct EventBuilder {
    inner: Result<Event, InvalidField>,
}

impl EventBuilder {
    /// The first invalid field set so far, which [`build`](Self::build)
    /// will return.
    pub fn error(&self) -> Option<&InvalidField> {
        self.inner.as_ref().err()
    }

    /// Sets the data. Line breaks (CR, LF, CRLF) become separate `data:`
    /// lines on the wire and are stored as LF. Data is never invalid.
    pub fn data(mut self, data: impl Into<ByteStr>) -> Self {
        if let Ok(event) = &mut self.inner {
            (event.data, event.data_lines) = normalize_data(data.into());
        }
        self
    }

    /// Sets the data to `value` serialized as JSON, written straight into the
    /// data buffer (no intermediate `String`). JSON text never contains a raw
    /// line break, so the data is always one `data:` line.
    ///
    /// # Errors
    ///
    /// [`build`](Self::build) fails if `value` cannot be serialized (for
    /// example a map with non-string keys).
    ///
    /// # Examples
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct Progress { done: u32, total: u32 }
    ///
    /// let event = sse_codec::Event::builder()
    ///     .json_data(&Progress { done: 3, total: 10 })
    ///     .build()?;
    /// assert_eq!(event.data(), r#"{"done":3,"total":10}"#);
    /// # Ok::<(), sse_codec::InvalidField>(())
    /// ```
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    pub fn json_data<T: serde::Serialize + ?Sized>(self, value: &T) -> Self {
        use bytes::BufMut;
        let mut writer = bytes::BytesMut::new().writer();
        match serde_json::to_writer(&mut writer, value) {
            Ok(()) => self.data(ByteStr::from_utf8_lossy(writer.into_inner().freeze())),
            Err(err) => self.fail(InvalidFieldKind::Json(err)),
        }
    }

    /// Sets the event type (the `event` field), which selects the listener a
    /// browser calls (`source.addEventListener(type, ..)`). An empty type and
    /// `message` are the default and are not written.
    ///
    /// # Errors
    ///
    /// [`build`](Self::build) fails if the type contains CR or LF.
    pub fn event_type(mut self, event_type: impl Into<ByteStr>) -> Self {
        let event_type = event_type.into();
        if parse::has_line_break(event_type.as_bytes(), false) {
            return self.fail(InvalidFieldKind::EventTypeLineBreak);
        }
        if let Ok(event) = &mut self.inner {
            event.event_type =
                Some(event_type).filter(|t| !t.is_empty() && *t != parse::DEFAULT_EVENT_TYPE);
        }
        self
    }

    /// Sets the id (the `id` field). A browser remembers it as the last event
    /// ID and sends it back in the `Last-Event-ID` header when it reconnects.
    /// An empty id resets the browser's last event ID.
    ///
    /// # Errors
    ///
    /// [`build`](Self::build) fails if the id contains CR, LF or NUL.
    pub fn id(mut self, id: impl Into<ByteStr>) -> Self {
        let id = id.into();
        if parse::has_line_break(id.as_bytes(), true) {
            return self.fail(parse::id_error(id.as_bytes()));
        }
        if let Ok(event) = &mut self.inner {
            event.id = Some(id);
        }
        self
    }

    /// Sets the reconnection time a browser waits before reconnecting (the
    /// `retry` field), written in whole milliseconds.
    pub fn retry(mut self, retry: Duration) -> Self {
        if let Ok(event) = &mut self.inner {
            event.retry = Some(retry);
        }
        self
    }

    /// Finishes the event.
    ///
    /// # Errors
    ///
    /// Returns the first [`InvalidField`] any setter met.
    pub fn build(self) -> Result<Event, InvalidField> {
        self.inner
    }

    /// Keeps the first error: a builder that already failed stays as it is.
    fn fail(mut self, kind: InvalidFieldKind) -> Self {
        if self.inner.is_ok() {
            self.inner = Err(kind.into());
        }
        self
    }
}

/// One unit of an event stream as the decoder reads it: an event, or one of
/// the lines that take effect without dispatching an event.
///
/// [`EventDecoder::decode_frame`](crate::EventDecoder::decode_frame) yields
/// frames, for callers that want to see comments (keep-alives) or every
/// `retry` field; [`EventEncoder`](crate::EventEncoder) writes them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame {
    /// A dispatched event.
    Event(Event),
    /// A comment line (a line starting with `:`), without the colon. Servers
    /// send comments as keep-alives; browsers ignore them.
    ///
    /// When encoded, a comment with line breaks is written as one comment
    /// line per line.
    Comment(ByteStr),
    /// A valid `retry` field: the reconnection time, in effect from the moment
    /// it is read. Each one is reported, also inside an event's block.
    ///
    /// When encoded, it is written as a block of its own, so it does not
    /// attach to the next event.
    Retry(Duration),
}

impl From<Event> for Frame {
    fn from(event: Event) -> Self {
        Frame::Event(event)
    }
}

impl Frame {
    /// A comment frame, the usual keep-alive.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_codec::Frame;
    ///
    /// assert_eq!(Frame::comment("ping").to_bytes(), ":ping\n");
    /// ```
    pub fn comment(text: impl Into<ByteStr>) -> Self {
        Frame::Comment(text.into())
    }
}

impl From<&'static str> for Event {
    /// Same as [`Event::new`]; the data is not copied.
    fn from(data: &'static str) -> Self {
        Event::new(ByteStr::from_static(data))
    }
}

impl From<String> for Event {
    /// Same as [`Event::new`]; the data is not copied.
    fn from(data: String) -> Self {
        Event::new(data)
    }
}

impl TryFrom<Bytes> for Event {
    type Error = std::str::Utf8Error;

    /// An event whose data is `data`, without copying it.
    ///
    /// # Errors
    ///
    /// Fails if `data` is not UTF-8.
    fn try_from(data: Bytes) -> Result<Self, Self::Error> {
        ByteStr::from_utf8(data).map(Event::new)
    }
}
