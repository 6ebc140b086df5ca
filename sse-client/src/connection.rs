//! The connection state machine behind [`EventSource`](crate::EventSource):
//! connect, read and decode, wait and reconnect.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::StatusCode;
use sse_codec::{EventDecoder, Frame};

use crate::error::{Error, Rejected, REJECTED_BODY_MAX};
use crate::request::{HeadersWith, Policy, Request};
use crate::Message;

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

enum State {
    /// Connect, after waiting this long (none for the first connection).
    Connect(Option<Duration>),
    /// Reading a response body.
    Open(Body),
    /// Ended.
    Closed,
}

pub(crate) struct Connection {
    link: Link,
    state: State,
    /// Items decoded from the last chunk and not yet handed out.
    ready: VecDeque<Result<Message, Error>>,
}

/// What every attempt of a connection shares: the request, the policy, the
/// decoder (and so the last event ID), and the counts the backoff uses.
struct Link {
    request: Request,
    policy: Policy,
    decoder: EventDecoder,
    /// Reconnections made so far.
    reconnects: u32,
    /// Connection attempts that failed since the last one that opened.
    failures: u32,
    /// Whether an event has arrived, on any connection.
    events_arrived: bool,
}

impl Connection {
    /// A connection that has not connected yet: it does at its first poll.
    pub(crate) fn new(request: Request, policy: Policy, decoder: EventDecoder) -> Self {
        Connection {
            link: Link {
                request,
                policy,
                decoder,
                reconnects: 0,
                failures: 0,
                events_arrived: false,
            },
            state: State::Connect(None),
            ready: VecDeque::new(),
        }
    }

    /// The messages of this connection and its reconnections, until it
    /// ends.
    pub(crate) fn into_stream(self) -> impl Stream<Item = Result<Message, Error>> + Send {
        futures_util::stream::unfold(self, |mut connection| async move {
            let Connection { link, state, ready } = &mut connection;
            let item = link.next(state, ready).await?;
            Some((item, connection))
        })
    }
}

impl Link {
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
                            .policy
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
                State::Open(body) => {
                    // `None`: the server ended the response; else why the
                    // connection broke.
                    let ended = match self.read(body).await {
                        Ok(Some(Ok(mut chunk))) => {
                            self.decode(&mut chunk, ready);
                            continue;
                        }
                        Ok(None) => None,
                        Ok(Some(Err(err))) => Some(Error::Transport(err)),
                        Err(idle) => Some(Error::Idle(idle)),
                    };
                    self.decoder.finish();
                    if self.events_arrived && !self.policy.resend_after_events {
                        // Not sent again: a normal end is the end, a
                        // broken one an error.
                        *state = State::Closed;
                        return ended.map(|err| Err(Error::NotResent(Box::new(err))));
                    }
                    *state = State::Connect(Some(self.backoff()));
                    if let Some(err) = ended {
                        return Some(Err(err));
                    }
                }
            }
        }
    }

    /// The next chunk of `body`, or `Err` after the idle timeout.
    async fn read(&self, body: &mut Body) -> Result<Option<reqwest::Result<Bytes>>, Duration> {
        match self.policy.idle_timeout {
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
            .request
            .client
            .request(self.request.method.clone(), self.request.url.clone())
            .headers(self.request.headers.clone());
        if let Some(HeadersWith(headers)) = &self.request.headers_with {
            request = request.headers(headers().await);
        }
        if let Some(id) = self.decoder.last_event_id() {
            request = request.header(sse_codec::http::LAST_EVENT_ID, id);
        }
        if let Some(body) = &self.request.body {
            request = request.body(body.clone());
        }
        let sent = request.send();
        let response = match self.policy.idle_timeout {
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
            .is_some_and(|value| sse_codec::http::is_event_stream(value.as_bytes()))
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
        let limit = self.policy.idle_timeout.unwrap_or(Duration::from_secs(5));
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
                Ok(Some(frame)) => {
                    match &frame {
                        Frame::Retry(retry) => self.policy.retry = *retry,
                        Frame::Event(_) => self.events_arrived = true,
                        _ => {}
                    }
                    ready.push_back(Ok(Message::Frame(frame)));
                }
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
            self.policy.retry
        } else {
            let factor = 1u32 << self.failures.min(16);
            let wait = self
                .policy
                .retry
                .saturating_mul(factor)
                .min(self.policy.max_backoff);
            wait.mul_f64(0.5 + fastrand::f64() * 0.5)
        };
        wait.max(self.policy.min_reconnect_delay)
    }
}
