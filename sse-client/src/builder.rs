//! [`EventSourceBuilder`]: the request and the reconnection policy of an
//! [`EventSource`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use sse_codec::EventDecoder;

use crate::connection::Connection;
use crate::error::{Error, RequestError};
use crate::request::{HeadersWith, Policy, Request};
use crate::EventSource;
use crate::{DEFAULT_MAX_BACKOFF, DEFAULT_MIN_RECONNECT_DELAY, DEFAULT_RETRY};

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
    resend_after_events: Option<bool>,
}

impl EventSourceBuilder {
    /// The defaults, for `GET url`.
    pub(crate) fn new(url: String) -> Self {
        EventSourceBuilder {
            client: None,
            method: Method::GET,
            url,
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
            resend_after_events: None,
        }
    }

    /// Sends the requests with `client` (its timeouts, proxies, TLS roots,
    /// cookies) instead of a new one. Do not give it a total request timeout:
    /// an event stream is one long response.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The request method (default `GET`). A request other than `GET` is
    /// not sent again once an event has arrived, unless
    /// [`resend_after_events`](Self::resend_after_events) says so.
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

    /// Whether the request is sent again when its stream ends or breaks
    /// after an event has arrived. Default: yes for `GET` (what
    /// `EventSource` does, sending `Last-Event-ID`), no for any other
    /// method: a POST to a model's chat-completions API would submit the
    /// prompt again, and bill it again, and its answer would start over
    /// rather than resume. Without resending, such a stream ends: quietly
    /// when the server ends the response, with [`Error::NotResent`] when
    /// the connection breaks or goes idle. Before the first event, a
    /// request is retried with backoff whatever its method, as the
    /// server cannot have acted on it in a way the client saw.
    ///
    /// Say `true` for a POST that the server treats as idempotent (one
    /// that resumes with `Last-Event-ID`, say).
    pub fn resend_after_events(mut self, resend: bool) -> Self {
        self.resend_after_events = Some(resend);
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
        let url = reqwest::Url::parse(&self.url).map_err(|err| {
            Error::Request(RequestError::Url {
                url: self.url.clone(),
                source: Box::new(err),
            })
        })?;
        let mut headers = HeaderMap::new();
        for (name, value) in sse_codec::http::REQUEST_HEADERS {
            headers.insert(name, HeaderValue::from_static(value));
        }
        for (name, value) in &self.headers {
            let name = HeaderName::try_from(name.as_str()).map_err(|source| {
                Error::Request(RequestError::HeaderName {
                    name: name.clone(),
                    source,
                })
            })?;
            let value = HeaderValue::try_from(value.as_str()).map_err(|source| {
                Error::Request(RequestError::HeaderValue {
                    name: name.to_string(),
                    source,
                })
            })?;
            headers.append(name, value);
        }
        let mut decoder = match self.max_event_size {
            Some(max) => EventDecoder::with_max_event_size(max),
            None => EventDecoder::new(),
        };
        if let Some(id) = self.last_event_id {
            if HeaderValue::try_from(id.as_str()).is_err() || id.contains('\0') {
                return Err(Error::Request(RequestError::LastEventId(id)));
            }
            decoder.set_last_event_id(id);
        }
        let client = match (self.client, self.connect_timeout) {
            (Some(client), _) => client,
            (None, None) => reqwest::Client::default(),
            (None, Some(timeout)) => reqwest::Client::builder()
                .connect_timeout(timeout)
                .build()
                .map_err(|err| Error::Request(RequestError::Client(err)))?,
        };
        let request = Request {
            client,
            method: self.method,
            url,
            headers,
            body: self.body,
            headers_with: self.headers_with,
        };
        let policy = Policy {
            retry: self.retry,
            max_backoff: self.max_backoff,
            min_reconnect_delay: self.min_reconnect_delay,
            max_reconnects: self.max_reconnects,
            idle_timeout: self.idle_timeout,
            resend_after_events: self
                .resend_after_events
                .unwrap_or(request.method == Method::GET),
        };
        let connection = Connection::new(request, policy, decoder);
        Ok(EventSource {
            inner: Box::pin(connection.into_stream()),
        })
    }
}
