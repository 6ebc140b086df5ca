//! A reconnecting Server-Sent Events client on [reqwest]: a [`Stream`] of
//! events that behaves like a browser's `EventSource`, plus what the browser
//! cannot do.
//!
//! Like `EventSource` (the [HTML standard]'s processing model):
//!
//! - the body is decoded by [`sse_codec`], exactly as a browser decodes it;
//! - when the server ends the response, it waits the reconnection time
//!   (3 s, or what the last `retry` field said, but never less than
//!   [`DEFAULT_MIN_RECONNECT_DELAY`], so no server can turn its clients into
//!   a load generator) and reconnects, sending `Last-Event-ID`;
//! - HTTP 204 No Content ends the stream for good (the server's way of
//!   saying "stop");
//! - a status other than 200 or a `Content-Type` other than
//!   `text/event-stream` fails the connection: a typed [`Error`], and the
//!   stream ends rather than retrying forever.
//!
//! Like a browser, it asks for and decodes compressed streams (gzip, brotli,
//! deflate, zstd: reqwest's decoders), event by event as they arrive.
//!
//! Beyond it: custom headers (a bearer token), made afresh for each attempt
//! if needed ([`EventSourceBuilder::headers_with`]), any method and body
//! (POST, as LLM APIs use), your own [`reqwest::Client`], a limit on
//! reconnections, idle and connect timeouts, and exponential backoff with
//! jitter, capped, while the network is down.
//!
//! # Example
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use sse_client::{EventSource, Message};
//!
//! # async fn run() -> Result<(), sse_client::Error> {
//! let mut events = EventSource::builder("https://api.example.com/v1/chat")
//!     .method(reqwest::Method::POST)
//!     .header("authorization", "Bearer sk-...")
//!     .body(r#"{"stream": true}"#)
//!     .build()?;
//! while let Some(message) = events.next().await {
//!     match message {
//!         Ok(Message::Event(event)) => println!("{}: {}", event.event_type(), event.data()),
//!         Ok(_) => {}                          // opened, retry, comment
//!         Err(err) if err.is_fatal() => return Err(err),
//!         Err(err) => eprintln!("{err}; reconnecting"),
//!     }
//! }
//! # Ok(())
//! # }
//! # let _ = run;
//! ```
//!
//! [HTML standard]: https://html.spec.whatwg.org/multipage/server-sent-events.html

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use sse_codec::{ByteStr, DecodeError, EventDecoder, Frame};

pub use reqwest;
pub use sse_codec::Event;

/// The reconnection time before any `retry` field: 3 seconds, as browsers
/// use.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(3);

/// The longest wait between reconnection attempts while they keep failing.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The shortest wait between two connection attempts, whatever the server
/// says: 500 ms, the floor Firefox applies to a `retry` field
/// (`MIN_RECONNECTION_TIME_VALUE` in its `EventSource.cpp`). Chromium takes
/// any `retry`, even 0, so a server that sends `retry: 0` and closes each
/// stream makes every Chromium tab reconnect at once, again and again; this
/// client reconnects at most twice a second. See
/// [`EventSourceBuilder::min_reconnect_delay`].
pub const DEFAULT_MIN_RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// What the stream yields.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A connection was opened: status 200 and `text/event-stream` (the
    /// `open` event of `EventSource`), with the response's headers (rate
    /// limits, a request id). Yielded again after each reconnect.
    Open(HeaderMap),
    /// An event, as `EventSource` dispatches it ([`Event::id`] is its
    /// `lastEventId`).
    Event(Event),
    /// A valid `retry` field: the new reconnection time.
    Retry(Duration),
    /// A comment line (often a keep-alive), without the colon.
    Comment(ByteStr),
}

/// Why a connection failed or could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be built (an invalid URL or header).
    #[error("invalid request: {0}")]
    Request(String),
    /// The server answered with a status other than 200 (or 204, which ends
    /// the stream without an error). Fatal, as in `EventSource`. The
    /// response is kept: an API's JSON error is in its body.
    #[error("unexpected HTTP status {}", .0.status)]
    Status(Box<Rejected>),
    /// The server answered 200 with another `Content-Type` than
    /// `text/event-stream`. Fatal. The response is kept.
    #[error("unexpected content type {}, expected text/event-stream", .0.content_type().unwrap_or("(none)"))]
    ContentType(Box<Rejected>),
    /// The connection failed or broke: the client reconnects.
    #[error("connection failed: {0}")]
    Transport(#[source] reqwest::Error),
    /// Nothing arrived for [`EventSourceBuilder::idle_timeout`]: the client
    /// drops the connection and reconnects.
    #[error("no data for {0:?}")]
    Idle(Duration),
    /// An event was larger than the decoder's limit and was skipped; the
    /// stream goes on.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// [`EventSourceBuilder::max_reconnects`] was reached. Fatal.
    #[error("gave up after {0} reconnections")]
    ReconnectLimit(u32),
}

/// A response the client did not take as an event stream: its status, its
/// headers, and the start of its body (at most [`REJECTED_BODY_MAX`]
/// bytes, read for at most the idle timeout or 5 s).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejected {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The first bytes of the body.
    pub body: Bytes,
}

impl Rejected {
    /// The `Content-Type` header, if it is text.
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(CONTENT_TYPE)?.to_str().ok()
    }
}

/// How much of a rejected response's body is kept: 64 KiB.
pub const REJECTED_BODY_MAX: usize = 64 * 1024;

impl Error {
    /// The response the client rejected, for [`Error::Status`] and
    /// [`Error::ContentType`].
    pub fn rejected(&self) -> Option<&Rejected> {
        match self {
            Error::Status(rejected) | Error::ContentType(rejected) => Some(rejected),
            _ => None,
        }
    }

    /// Whether the stream ends after this error. The others are reported
    /// and the stream carries on (reconnecting, for [`Error::Transport`]).
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            Error::Transport(_) | Error::Idle(_) | Error::Decode(_)
        )
    }
}

/// Configures an [`EventSource`]; made by [`EventSource::builder`].
#[derive(Debug)]
#[must_use]
pub struct EventSourceBuilder {
    client: Option<reqwest::Client>,
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Bytes>,
    last_event_id: Option<String>,
    retry: Duration,
    max_backoff: Duration,
    min_reconnect_delay: Duration,
    connect_timeout: Option<Duration>,
    max_reconnects: Option<u32>,
    max_event_size: Option<usize>,
    idle_timeout: Option<Duration>,
    headers_with: Option<HeadersWith>,
}

/// A function that makes the headers of each connection attempt.
#[derive(Clone)]
struct HeadersWith(Arc<dyn Fn() -> BoxFuture<HeaderMap> + Send + Sync>);

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl std::fmt::Debug for HeadersWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeadersWith(..)")
    }
}

impl EventSourceBuilder {
    /// Sends the requests with `client` (its timeouts, proxies, TLS roots,
    /// cookies) instead of a new one. Do not give it a total request timeout:
    /// an event stream is one long response.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The request method (default `GET`).
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Adds a request header, sent on every connection (checked by
    /// [`build`](Self::build)).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Headers made afresh for every connection attempt by `headers`: a
    /// bearer token refreshed when it expires, a signature with the time in
    /// it. They are added after the [`header`](Self::header)s, replacing
    /// those of the same name.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_client::EventSource;
    /// use sse_client::reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
    ///
    /// async fn fresh_token() -> String {
    ///     "Bearer token".to_owned() // ask the identity provider
    /// }
    ///
    /// let source = EventSource::builder("https://example.com/events")
    ///     .headers_with(|| async {
    ///         let mut headers = HeaderMap::new();
    ///         let token = HeaderValue::try_from(fresh_token().await).expect("a valid header value");
    ///         headers.insert(AUTHORIZATION, token);
    ///         headers
    ///     })
    ///     .build()?;
    /// # drop(source);
    /// # Ok::<(), sse_client::Error>(())
    /// ```
    pub fn headers_with<F, Fut>(mut self, headers: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HeaderMap> + Send + 'static,
    {
        self.headers_with = Some(HeadersWith(Arc::new(move || Box::pin(headers()))));
        self
    }

    /// The request body, sent on every connection.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Starts as if an event with this id had been received: the first
    /// request already sends `Last-Event-ID`.
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        self.last_event_id = Some(id.into());
        self
    }

    /// The reconnection time until the server sends `retry` (default
    /// [`DEFAULT_RETRY`]).
    pub fn retry(mut self, retry: Duration) -> Self {
        self.retry = retry;
        self
    }

    /// The cap of the exponential backoff while reconnections fail (default
    /// [`DEFAULT_MAX_BACKOFF`]).
    pub fn max_backoff(mut self, max_backoff: Duration) -> Self {
        self.max_backoff = max_backoff;
        self
    }

    /// Ends the stream with [`Error::ReconnectLimit`] instead of making
    /// reconnection number `n + 1` (default: no limit, as `EventSource`).
    pub fn max_reconnects(mut self, n: u32) -> Self {
        self.max_reconnects = Some(n);
        self
    }

    /// Reconnects when nothing (not even a keep-alive comment) has arrived
    /// for `timeout`, from sending the request on: a peer that accepts the
    /// connection and never answers, one that died without closing it, or a
    /// proxy that holds it open is otherwise waited for forever. Set it
    /// above the server's keep-alive interval. Default: none, as
    /// `EventSource`.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Gives up a connection attempt (TCP and TLS) after `timeout`, and
    /// retries with backoff. Applies to the client this builder makes; a
    /// client given with [`client`](Self::client) keeps its own setting.
    /// Default: none.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The shortest wait between two connection attempts, whatever `retry`
    /// the server sends (default [`DEFAULT_MIN_RECONNECT_DELAY`]). A server
    /// cannot lower it; lower it only for servers you trust (tests).
    pub fn min_reconnect_delay(mut self, delay: Duration) -> Self {
        self.min_reconnect_delay = delay;
        self
    }

    /// The decoder's limit on one event (default
    /// [`sse_codec::DEFAULT_MAX_EVENT_SIZE`]); larger events are skipped
    /// with [`Error::Decode`].
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = Some(bytes);
        self
    }

    /// The event source. Nothing is sent until it is polled.
    ///
    /// # Errors
    ///
    /// [`Error::Request`] for an invalid URL, header name or value, or last
    /// event ID.
    pub fn build(self) -> Result<EventSource, Error> {
        let url = reqwest::Url::parse(&self.url)
            .map_err(|err| Error::Request(format!("invalid URL {:?}: {err}", self.url)))?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(sse_codec::MIME_TYPE));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        for (name, value) in &self.headers {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|_| Error::Request(format!("invalid header name {name:?}")))?;
            let value = HeaderValue::try_from(value.as_str())
                .map_err(|_| Error::Request(format!("invalid value for header {name}")))?;
            headers.append(name, value);
        }
        let mut decoder = match self.max_event_size {
            Some(max) => EventDecoder::with_max_event_size(max),
            None => EventDecoder::new(),
        };
        if let Some(id) = self.last_event_id {
            if HeaderValue::try_from(id.as_str()).is_err() || id.contains('\0') {
                return Err(Error::Request(format!("invalid last event ID {id:?}")));
            }
            decoder.set_last_event_id(id);
        }
        let client = match (self.client, self.connect_timeout) {
            (Some(client), _) => client,
            (None, None) => reqwest::Client::default(),
            (None, Some(timeout)) => reqwest::Client::builder()
                .connect_timeout(timeout)
                .build()
                .map_err(|err| Error::Request(format!("cannot make the client: {err}")))?,
        };
        let connection = Connection {
            client,
            method: self.method,
            url,
            headers,
            body: self.body,
            decoder,
            retry: self.retry,
            max_backoff: self.max_backoff,
            min_reconnect_delay: self.min_reconnect_delay,
            max_reconnects: self.max_reconnects,
            idle_timeout: self.idle_timeout,
            headers_with: self.headers_with,
            reconnects: 0,
            failures: 0,
        };
        let stream = futures_util::stream::unfold(
            (connection, State::Connect(None), VecDeque::new()),
            |(mut connection, mut state, mut ready)| async move {
                let item = connection.next(&mut state, &mut ready).await?;
                Some((item, (connection, state, ready)))
            },
        );
        Ok(EventSource {
            inner: Box::pin(stream),
        })
    }
}

/// A reconnecting event stream: a [`Stream`] of [`Message`]s, or of errors.
///
/// It ends after HTTP 204, after a fatal error ([`Error::is_fatal`]), or
/// never. Dropping it closes the connection.
#[must_use = "streams do nothing unless polled"]
pub struct EventSource {
    inner: Pin<Box<dyn Stream<Item = Result<Message, Error>> + Send>>,
}

impl std::fmt::Debug for EventSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSource").finish_non_exhaustive()
    }
}

impl EventSource {
    /// An event source for `GET url`; see [`builder`](Self::builder) for
    /// more.
    ///
    /// # Errors
    ///
    /// [`Error::Request`] for an invalid URL.
    pub fn new(url: impl Into<String>) -> Result<Self, Error> {
        Self::builder(url).build()
    }

    /// Configures an event source for `url`.
    pub fn builder(url: impl Into<String>) -> EventSourceBuilder {
        EventSourceBuilder {
            client: None,
            method: Method::GET,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            last_event_id: None,
            retry: DEFAULT_RETRY,
            max_backoff: DEFAULT_MAX_BACKOFF,
            min_reconnect_delay: DEFAULT_MIN_RECONNECT_DELAY,
            connect_timeout: None,
            max_reconnects: None,
            max_event_size: None,
            idle_timeout: None,
            headers_with: None,
        }
    }
}

impl Stream for EventSource {
    type Item = Result<Message, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

enum State {
    /// Connect, after waiting this long (none for the first connection).
    Connect(Option<Duration>),
    /// Reading a response body.
    Open(Body),
    /// Ended.
    Closed,
}

struct Connection {
    client: reqwest::Client,
    method: Method,
    url: reqwest::Url,
    headers: HeaderMap,
    body: Option<Bytes>,
    decoder: EventDecoder,
    retry: Duration,
    max_backoff: Duration,
    min_reconnect_delay: Duration,
    max_reconnects: Option<u32>,
    idle_timeout: Option<Duration>,
    headers_with: Option<HeadersWith>,
    /// Reconnections made so far.
    reconnects: u32,
    /// Connection attempts that failed since the last one that opened.
    failures: u32,
}

impl Connection {
    /// The next item, driving the state machine.
    async fn next(
        &mut self,
        state: &mut State,
        ready: &mut VecDeque<Result<Message, Error>>,
    ) -> Option<Result<Message, Error>> {
        loop {
            if let Some(item) = ready.pop_front() {
                return Some(item);
            }
            match state {
                State::Closed => return None,
                State::Connect(wait) => {
                    if let Some(wait) = *wait {
                        if self
                            .max_reconnects
                            .is_some_and(|max| self.reconnects >= max)
                        {
                            *state = State::Closed;
                            return Some(Err(Error::ReconnectLimit(self.reconnects)));
                        }
                        tokio::time::sleep(wait).await;
                        self.reconnects += 1;
                    }
                    match self.connect().await {
                        Ok(Some((headers, body))) => {
                            self.failures = 0;
                            *state = State::Open(body);
                            return Some(Ok(Message::Open(headers)));
                        }
                        Ok(None) => *state = State::Closed,
                        Err(err) if err.is_fatal() => {
                            *state = State::Closed;
                            return Some(Err(err));
                        }
                        Err(err) => {
                            self.failures += 1;
                            *state = State::Connect(Some(self.backoff()));
                            return Some(Err(err));
                        }
                    }
                }
                State::Open(body) => match self.read(body).await {
                    Err(idle) => {
                        self.decoder.finish();
                        *state = State::Connect(Some(self.backoff()));
                        return Some(Err(Error::Idle(idle)));
                    }
                    Ok(Some(Ok(mut chunk))) => self.decode(&mut chunk, ready),
                    Ok(Some(Err(err))) => {
                        // The connection broke: as after a close, plus the
                        // error.
                        self.decoder.finish();
                        *state = State::Connect(Some(self.backoff()));
                        return Some(Err(Error::Transport(err)));
                    }
                    Ok(None) => {
                        self.decoder.finish();
                        *state = State::Connect(Some(self.backoff()));
                    }
                },
            }
        }
    }

    /// The next chunk of `body`, or `Err` after the idle timeout.
    async fn read(&self, body: &mut Body) -> Result<Option<reqwest::Result<Bytes>>, Duration> {
        match self.idle_timeout {
            None => Ok(body.next().await),
            Some(limit) => tokio::time::timeout(limit, body.next())
                .await
                .map_err(|_| limit),
        }
    }

    /// Sends the request: the response's headers and body, or `Ok(None)`
    /// for HTTP 204: stop.
    async fn connect(&self) -> Result<Option<(HeaderMap, Body)>, Error> {
        let mut request = self
            .client
            .request(self.method.clone(), self.url.clone())
            .headers(self.headers.clone());
        if let Some(HeadersWith(headers)) = &self.headers_with {
            request = request.headers(headers().await);
        }
        if let Some(id) = self.decoder.last_event_id() {
            request = request.header(sse_codec::LAST_EVENT_ID, id);
        }
        if let Some(body) = &self.body {
            request = request.body(body.clone());
        }
        let sent = request.send();
        let response = match self.idle_timeout {
            None => sent.await,
            // The wait for the response head counts as silence too.
            Some(limit) => tokio::time::timeout(limit, sent)
                .await
                .map_err(|_| Error::Idle(limit))?,
        }
        .map_err(Error::Transport)?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NO_CONTENT => return Ok(None),
            _ => return Err(Error::Status(self.rejected(response).await)),
        }
        if !response
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(is_event_stream)
        {
            return Err(Error::ContentType(self.rejected(response).await));
        }
        let headers = response.headers().clone();
        Ok(Some((headers, Box::pin(response.bytes_stream()))))
    }

    /// What a rejected response said: its head and the start of its body,
    /// read within the idle timeout (or 5 s).
    async fn rejected(&self, response: reqwest::Response) -> Box<Rejected> {
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        let mut chunks = response.bytes_stream();
        let read = async {
            while let Some(Ok(chunk)) = chunks.next().await {
                let room = REJECTED_BODY_MAX - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() == REJECTED_BODY_MAX {
                    break;
                }
            }
        };
        let limit = self.idle_timeout.unwrap_or(Duration::from_secs(5));
        let _ = tokio::time::timeout(limit, read).await;
        Box::new(Rejected {
            status,
            headers,
            body: Bytes::from(body),
        })
    }

    /// Decodes what `chunk` completes into `ready`.
    fn decode(&mut self, chunk: &mut Bytes, ready: &mut VecDeque<Result<Message, Error>>) {
        loop {
            match self.decoder.decode_frame(chunk) {
                Ok(None) => return,
                Ok(Some(Frame::Event(event))) => ready.push_back(Ok(Message::Event(event))),
                Ok(Some(Frame::Retry(retry))) => {
                    self.retry = retry;
                    ready.push_back(Ok(Message::Retry(retry)));
                }
                Ok(Some(Frame::Comment(text))) => ready.push_back(Ok(Message::Comment(text))),
                Ok(Some(_)) => {}
                Err(err) => ready.push_back(Err(Error::Decode(err))),
            }
        }
    }

    /// The wait before the next attempt: the reconnection time after a
    /// connection that opened; doubled for each failed attempt since, capped
    /// at `max_backoff`, with jitter (a uniform pick in the upper half) so
    /// that many clients do not reconnect in step; never less than
    /// `min_reconnect_delay`.
    fn backoff(&self) -> Duration {
        let wait = if self.failures == 0 {
            self.retry
        } else {
            let factor = 1u32 << self.failures.min(16);
            let wait = self.retry.saturating_mul(factor).min(self.max_backoff);
            wait.mul_f64(0.5 + fastrand::f64() * 0.5)
        };
        wait.max(self.min_reconnect_delay)
    }
}

/// Whether a `Content-Type` value is `text/event-stream`, ignoring case,
/// parameters and spaces.
fn is_event_stream(value: &HeaderValue) -> bool {
    let essence = value
        .as_bytes()
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default();
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(sse_codec::MIME_TYPE.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_essence() {
        for ok in [
            "text/event-stream",
            "Text/Event-Stream",
            "text/event-stream; charset=utf-8",
            " text/event-stream ",
        ] {
            assert!(is_event_stream(&HeaderValue::from_static(ok)), "{ok}");
        }
        for bad in ["text/plain", "text/event-streams", "application/json", ""] {
            assert!(!is_event_stream(&HeaderValue::from_static(bad)), "{bad}");
        }
    }
}
