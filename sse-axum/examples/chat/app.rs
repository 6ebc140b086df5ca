//! The chat application: answers streamed from a model into a hub channel
//! that ends, so that a reload, a second tab or another instance picks an
//! answer up where it is, and Stop works from anywhere.
//!
//! The wire contract (see the README's "Resumable answers"):
//!
//! - `POST /chat` with JSON `{"prompt": "..."}`: 202 with JSON `{"id": "<id>"}`,
//!   and the generation starts.
//! - `GET /chat/{id}/events`: `text/event-stream`; one `token` event per
//!   upstream delta, data `{"text": "<delta>"}`, each with an id; then one
//!   `end` event, data `{"reason": "done" | "cancelled" | "error", "message":
//!   "..."}`, and the response ends. Without `Last-Event-ID` (or
//!   `?lastEventId=`; the header wins) the whole answer from its first
//!   token, then what follows live; with it, what follows that id. At the
//!   end's id: 204. An unknown or expired answer: 404.
//! - `POST /chat/{id}/stop`: 202, and the generation stops on whichever
//!   instance runs it (readers get `end` with `cancelled`); 404 for an
//!   unknown answer, 409 for one that has ended.
//!
//! The model is any OpenAI-compatible `POST {url}/v1/chat/completions` with
//! `"stream": true`, called through `sse-client` (a POST that is not sent
//! again once tokens arrived); by default the fake model below, on the same
//! server.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use sse_axum::{KeepAlive, LastEventIdOrQuery, Sse};
use sse_client::{EventSource, Frame, Message};
use sse_codec::Event;
use sse_hub::backend::Backend;
use sse_hub::{ChannelStatus, End, Hub, Producer, Resume};

/// Where answers come from: an OpenAI-compatible chat-completions API.
#[derive(Clone, Debug)]
pub(crate) struct Llm {
    /// The API's base URL: requests go to `{url}/v1/chat/completions`.
    pub(crate) url: String,
    /// Sent as `Authorization: Bearer <key>`.
    pub(crate) key: Option<String>,
    /// Sent as `model`.
    pub(crate) model: String,
}

struct App<B: Backend> {
    hub: Hub<B>,
    llm: Llm,
}

impl<B: Backend> Clone for App<B> {
    fn clone(&self) -> Self {
        App {
            hub: self.hub.clone(),
            llm: self.llm.clone(),
        }
    }
}

/// How many tokens of history an answer keeps: all of a long answer (the
/// whole answer is what a reload replays).
pub(crate) const ANSWER_EVENTS: usize = 100_000;

/// The application's routes on `hub`, asking `llm`; the fake model's route
/// (`/v1/chat/completions`) is always there, for the demo.
pub(crate) fn router<B: Backend>(hub: Hub<B>, llm: Llm) -> Router {
    Router::new()
        .route("/", get(|| async { Html(include_str!("chat.html")) }))
        .route("/chat", post(start::<B>))
        .route("/chat/{id}/events", get(events::<B>))
        .route("/chat/{id}/stop", post(stop::<B>))
        .route("/v1/chat/completions", post(fake_model))
        .with_state(App { hub, llm })
}

#[derive(serde::Deserialize)]
struct Prompt {
    prompt: String,
}

/// A new answer's id: 128 random bits, in hex (it is all a reader needs).
fn new_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS has randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn start<B: Backend>(State(app): State<App<B>>, Json(prompt): Json<Prompt>) -> Response {
    let id = new_id();
    let producer = match app.hub.producer(&id).await {
        Ok(producer) => producer,
        Err(err) => return (StatusCode::SERVICE_UNAVAILABLE, err.to_string()).into_response(),
    };
    tokio::spawn(generate(producer, app.llm.clone(), prompt.prompt));
    (StatusCode::ACCEPTED, Json(serde_json::json!({ "id": id }))).into_response()
}

async fn events<B: Backend>(
    State(app): State<App<B>>,
    Path(id): Path<String>,
    LastEventIdOrQuery(last): LastEventIdOrQuery,
) -> Response {
    match app.hub.status(&id).await {
        Ok(ChannelStatus::Unknown) => return StatusCode::NOT_FOUND.into_response(),
        Ok(_) => {}
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
    // Without an id: the whole answer from its first token.
    let from = last.as_deref().map_or(Resume::Oldest, Resume::After);
    match app.hub.subscribe(&id, from).await {
        // At the end's id the stream is empty: Sse answers 204.
        Ok(answer) => Sse::new(answer)
            .keep_alive(KeepAlive::new())
            .into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn stop<B: Backend>(State(app): State<App<B>>, Path(id): Path<String>) -> StatusCode {
    match app.hub.status(&id).await {
        Ok(ChannelStatus::Unknown) => StatusCode::NOT_FOUND,
        Ok(ChannelStatus::Ended { .. }) => StatusCode::CONFLICT,
        Ok(ChannelStatus::Live) => match app.hub.cancel(&id).await {
            Ok(_) => StatusCode::ACCEPTED,
            Err(_) => StatusCode::SERVICE_UNAVAILABLE,
        },
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Streams the model's answer to `prompt` into the producer's channel, one
/// `token` event per delta, and ends it: `done` at `[DONE]`, `cancelled`
/// on a stop (the upstream request is dropped, which closes its
/// connection), `error` with the reason otherwise.
async fn generate<B: Backend>(producer: Producer<B>, llm: Llm, prompt: String) {
    let end = tokio::select! {
        end = stream_answer(&producer, &llm, &prompt) => end,
        () = producer.cancelled() => End::Cancelled,
    };
    let _ = producer.end(end).await;
}

async fn stream_answer<B: Backend>(producer: &Producer<B>, llm: &Llm, prompt: &str) -> End {
    let body = serde_json::json!({
        "model": llm.model,
        "stream": true,
        "messages": [{ "role": "user", "content": prompt }],
    });
    let mut request = EventSource::builder(format!(
        "{}/v1/chat/completions",
        llm.url.trim_end_matches('/')
    ))
    .method(sse_client::reqwest::Method::POST)
    .header("content-type", "application/json")
    .body(body.to_string())
    // A failed connection is retried a few times; once tokens arrived, a
    // POST is never sent again (sse-client's default).
    .max_reconnects(2)
    .idle_timeout(Duration::from_secs(60));
    if let Some(key) = &llm.key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let mut upstream = match request.build() {
        Ok(upstream) => upstream,
        Err(err) => return End::Error(err.to_string()),
    };
    while let Some(message) = upstream.next().await {
        let event = match message {
            Ok(Message::Frame(Frame::Event(event))) => event,
            Ok(_) => continue,
            Err(err) if err.is_fatal() => return End::Error(upstream_error(&err)),
            Err(_) => continue, // reconnecting before the first token
        };
        if event.data() == "[DONE]" {
            return End::Done;
        }
        let chunk: serde_json::Value = match serde_json::from_str(event.data()) {
            Ok(chunk) => chunk,
            Err(err) => {
                return End::Error(format!("the model sent a chunk that is not JSON: {err}"))
            }
        };
        if let Some(error) = chunk.get("error") {
            let message = error["message"].as_str().unwrap_or("the model failed");
            return End::Error(message.to_owned());
        }
        let text = chunk["choices"][0]["delta"]["content"]
            .as_str()
            .unwrap_or("");
        if text.is_empty() {
            continue;
        }
        let token = Event::builder()
            .event_type("token")
            .data(serde_json::json!({ "text": text }).to_string())
            .build()
            .expect("JSON is valid data");
        if let Err(err) = producer.send(token).await {
            return End::Error(format!("cannot keep the answer: {err}"));
        }
    }
    End::Error("the model's stream ended before [DONE]".to_owned())
}

/// What a failed upstream said: its status and error message, if any.
fn upstream_error(err: &sse_client::Error) -> String {
    let Some(rejected) = err.rejected() else {
        return format!("the model's stream failed: {err}");
    };
    let message = serde_json::from_slice::<serde_json::Value>(&rejected.body)
        .ok()
        .and_then(|body| body["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&rejected.body).into_owned());
    format!("the model answered {}: {message}", rejected.status)
}

/// The fake model: an OpenAI-compatible streaming chat completion that
/// echoes the prompt and talks a little, one word every 40 ms, so that the
/// demo needs no key.
async fn fake_model(Json(request): Json<serde_json::Value>) -> impl IntoResponse {
    let prompt = request["messages"][0]["content"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let text = format!(
        "You asked: \"{prompt}\". This answer comes from the fake model, word by word, \
         so that you can reload the page, open it in a second tab, or press Stop while it \
         streams. Every token is kept in the hub until the answer expires, and a reader \
         that comes back gets the whole answer, each token exactly once."
    );
    let words: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        serde_json::json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "fake",
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        })
        .to_string()
    };
    let first = chunk(
        serde_json::json!({ "role": "assistant", "content": "" }),
        None,
    );
    let last = chunk(serde_json::json!({}), Some("stop"));
    let tokens = futures_util::stream::iter(words).then(move |word| {
        let data = chunk(serde_json::json!({ "content": word }), None);
        async move {
            tokio::time::sleep(Duration::from_millis(40)).await;
            data
        }
    });
    let all = futures_util::stream::once(async move { first })
        .chain(tokens)
        .chain(futures_util::stream::iter([last, "[DONE]".to_owned()]))
        .map(|data| Ok::<_, Infallible>(Event::new(data)));
    Sse::new(all)
}
