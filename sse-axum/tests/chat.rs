//! The chat example (`examples/chat`) against a fake OpenAI-compatible
//! upstream that each test starts on 127.0.0.1 and that counts its
//! requests: resuming token for token, late readers, 204 after the end,
//! stop from another connection (the upstream sees its request cancelled),
//! an upstream failing mid-answer, two instances on a real `redis-server`
//! (resume on the other; the producer's instance killed), and the page in
//! headless Chromium, reloaded mid-answer and opened in a second tab.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use futures_util::StreamExt;
use sse_codec::Event;
use sse_hub::Hub;
use tokio::sync::{mpsc, Semaphore};

#[path = "../examples/chat/app.rs"]
mod app;

/// How the fake upstream answers.
#[derive(Clone, Copy)]
enum Script {
    /// `n` tokens `t0 `, `t1 `, ... `every` apart, then `[DONE]`.
    Tokens { n: usize, every: Duration },
    /// `n` tokens, then waits for the test's gate, then `more` tokens.
    Gated { n: usize, more: usize },
    /// `n` tokens, then the connection breaks (no `[DONE]`).
    Breaks { n: usize },
    /// 500 with an `OpenAI` error object.
    Fails,
    /// `n` tokens, then an error object in the stream.
    ErrorObject { n: usize },
    /// `n` tokens, then the end of the response, without `[DONE]`.
    NoDone { n: usize },
}

/// A fake OpenAI-compatible chat-completions server.
struct Upstream {
    url: String,
    requests: Arc<AtomicUsize>,
    /// Set when a response stream was dropped before its end: the client
    /// cancelled the request.
    cancelled: Arc<AtomicBool>,
    gate: Arc<Semaphore>,
}

fn token(i: usize) -> String {
    format!("t{i} ")
}

fn answer(n: usize) -> String {
    (0..n).map(token).collect()
}

fn chunk(content: &str) -> String {
    serde_json::json!({
        "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": "test",
        "choices": [{ "index": 0, "delta": { "content": content }, "finish_reason": null }],
    })
    .to_string()
}

/// Sets its flag when dropped before `finish`.
struct CancelGuard(Arc<AtomicBool>, bool);

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

impl Upstream {
    async fn start(script: Script) -> Upstream {
        if let Script::Breaks { n } = script {
            return Upstream::breaking(n).await;
        }
        let requests = Arc::new(AtomicUsize::new(0));
        let cancelled = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(Semaphore::new(0));
        let (counted, flag, opened) = (requests.clone(), cancelled.clone(), gate.clone());
        let route = post(move |body: String| {
            let (counted, flag, gate) = (counted.clone(), flag.clone(), opened.clone());
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let request: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(request["stream"], true);
                upstream_response(script, flag, gate)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().route("/v1/chat/completions", route);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Upstream {
            url,
            requests,
            cancelled,
            gate,
        }
    }

    /// Answers each request with `n` tokens in a chunked body, written
    /// whole, and then closes the connection without the last chunk: a
    /// break the client sees after every token.
    async fn breaking(n: usize) -> Upstream {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let requests = Arc::new(AtomicUsize::new(0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let counted = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // The head and the JSON body (small: one read past the head).
                while !String::from_utf8_lossy(&request).contains("\r\n\r\n{") {
                    let read = socket.read(&mut buf).await.unwrap();
                    if read == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..read]);
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let mut response = String::from(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
                );
                for i in 0..n {
                    let data = format!("data: {}\n\n", chunk(&token(i)));
                    response.push_str(&format!("{:x}\r\n{data}\r\n", data.len()));
                }
                socket.write_all(response.as_bytes()).await.unwrap();
                let _ = socket.shutdown().await;
            }
        });
        Upstream {
            url,
            requests,
            cancelled: Arc::new(AtomicBool::new(false)),
            gate: Arc::new(Semaphore::new(0)),
        }
    }

    fn llm(&self) -> app::Llm {
        app::Llm {
            url: self.url.clone(),
            key: Some("sk-test".to_owned()),
            model: "test".to_owned(),
        }
    }
}

fn upstream_response(
    script: Script,
    flag: Arc<AtomicBool>,
    gate: Arc<Semaphore>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (n, every, gated_more) = match script {
        Script::Fails => {
            let error = serde_json::json!({ "error": { "message": "the model is overloaded", "type": "server_error" } });
            return (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(error),
            )
                .into_response();
        }
        Script::Tokens { n, every } => (n, every, None),
        Script::ErrorObject { n } | Script::NoDone { n } => {
            let mut body: String = (0..n)
                .map(|i| format!("data: {}\n\n", chunk(&token(i))))
                .collect();
            if let Script::ErrorObject { .. } = script {
                body.push_str(
                    "data: {\"error\":{\"message\":\"rate limited\",\"type\":\"requests\"}}\n\n",
                );
            }
            return ([("content-type", "text/event-stream")], body).into_response();
        }
        Script::Gated { n, more } => (n, Duration::from_millis(5), Some(more)),
        Script::Breaks { .. } => unreachable!("served by Upstream::breaking"),
    };
    let stream = async_stream(n, every, gated_more, flag, gate);
    let mut response = axum::body::Body::from_stream(stream).into_response();
    response.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("text/event-stream"),
    );
    response
}

/// The upstream's body: `data:` chunks as OpenAI writes them.
fn async_stream(
    n: usize,
    every: Duration,
    gated_more: Option<usize>,
    flag: Arc<AtomicBool>,
    gate: Arc<Semaphore>,
) -> impl futures_util::Stream<Item = Result<String, std::io::Error>> + Send {
    let total = n + gated_more.unwrap_or(0);
    futures_util::stream::unfold((0, CancelGuard(flag, false)), move |(i, mut guard)| {
        let gate = gate.clone();
        async move {
            if i == n && gated_more.is_some() {
                gate.acquire().await.unwrap().forget();
            }
            if i < total {
                tokio::time::sleep(every).await;
                let data = format!("data: {}\n\n", chunk(&token(i)));
                return Some((Ok(data), (i + 1, guard)));
            }
            if i == total {
                guard.1 = true;
                return Some((Ok("data: [DONE]\n\n".to_owned()), (i + 1, guard)));
            }
            None
        }
    })
}

/// The app on the in-memory hub, served on 127.0.0.1.
async fn serve_app(upstream: &Upstream) -> String {
    let hub = Hub::builder().history_events(app::ANSWER_EVENTS).build();
    let router = app::router(hub, upstream.llm());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

async fn ask(base: &str, prompt: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/chat"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "prompt": prompt }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// One received event: `(type, id, data)`.
type Received = (String, String, String);

/// Opens `/chat/{id}/events`, resuming after `last` (as the header).
async fn open(base: &str, id: &str, last: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{base}/chat/{id}/events"));
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    request.send().await.unwrap()
}

/// Reads events from `response` until `n` are read or it ends (10 s at
/// most between events).
async fn read(response: reqwest::Response, n: usize) -> Vec<Received> {
    assert_eq!(response.status(), 200);
    let mut events = test_support::events(response);
    let mut out = Vec::new();
    while out.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .unwrap_or_else(|_| panic!("no event within 10 s after {out:?}"));
        let Some(event) = next else { break };
        let event: Event = event.unwrap();
        out.push((
            event.event_type().to_owned(),
            event.id().unwrap_or_default().to_owned(),
            event.data().to_owned(),
        ));
    }
    out
}

/// The text of the `token` events, and the end's data.
fn text(events: &[Received]) -> String {
    events
        .iter()
        .filter(|(kind, _, _)| kind == "token")
        .map(|(_, _, data)| {
            let token: serde_json::Value = serde_json::from_str(data).unwrap();
            token["text"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn end_of(events: &[Received]) -> serde_json::Value {
    let (kind, _, data) = events.last().expect("events");
    assert_eq!(kind, "end", "the last event is the end: {events:?}");
    serde_json::from_str(data).unwrap()
}

/// Reads `events` up to their `end` event (at most `within` between two).
async fn until_end(events: &mut test_support::Events, within: Duration) -> Event {
    loop {
        let event = tokio::time::timeout(within, events.next())
            .await
            .unwrap_or_else(|_| panic!("the end within {within:?}"))
            .unwrap()
            .unwrap();
        if event.event_type() == "end" {
            return event;
        }
    }
}

/// Stops answer `id` through `base` (202), and checks that the `end`
/// reaches `events` within a second, saying `cancelled`; prints the time
/// as `label`.
async fn stop_within_a_second(
    base: &str,
    id: &str,
    events: &mut test_support::Events,
    label: &str,
) {
    let asked = Instant::now();
    let stop = reqwest::Client::new()
        .post(format!("{base}/chat/{id}/stop"))
        .send()
        .await
        .unwrap();
    assert_eq!(stop.status(), 202);
    let end = until_end(events, Duration::from_secs(5)).await;
    let latency = asked.elapsed();
    println!("{label}: {latency:?}");
    assert!(latency < Duration::from_secs(1), "{latency:?}");
    assert_eq!(end.data(), r#"{"reason":"cancelled"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_disconnects_resumes_exactly_once_token_for_token() {
    let upstream = Upstream::start(Script::Tokens {
        n: 30,
        every: Duration::from_millis(20),
    })
    .await;
    let base = serve_app(&upstream).await;
    let id = ask(&base, "resume me").await;

    let first = read(open(&base, &id, None).await, 10).await;
    let last_id = first.last().unwrap().1.clone();
    // Disconnected mid-answer; resumes with Last-Event-ID.
    let rest = read(open(&base, &id, Some(&last_id)).await, usize::MAX).await;
    let all: Vec<Received> = first.iter().chain(&rest).cloned().collect();
    assert_eq!(text(&all), answer(30));
    assert_eq!(end_of(&all)["reason"], "done");
    // Every event has an id, each once.
    let ids: Vec<&str> = all.iter().map(|(_, id, _)| id.as_str()).collect();
    assert!(ids.iter().all(|id| !id.is_empty()));
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    // At the end's id: 204, as EventSource needs to stop.
    let at_end = open(&base, &id, Some(ids.last().unwrap())).await;
    assert_eq!(at_end.status(), 204);
    // The query parameter too; the header wins over it.
    let client = reqwest::Client::new();
    let by_query = client
        .get(format!(
            "{base}/chat/{id}/events?lastEventId={}",
            ids.last().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), 204);
    let header_wins = client
        .get(format!(
            "{base}/chat/{id}/events?lastEventId={}",
            ids.last().unwrap()
        ))
        .header("last-event-id", ids[28])
        .send()
        .await
        .unwrap();
    assert_eq!(text(&read(header_wins, usize::MAX).await), token(29));
    assert_eq!(upstream.requests.load(Ordering::SeqCst), 1);
    // Unknown answers: 404.
    assert_eq!(open(&base, "unknown", None).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_readers_get_the_whole_answer_then_the_end_then_204() {
    let upstream = Upstream::start(Script::Gated { n: 5, more: 5 }).await;
    let base = serve_app(&upstream).await;
    let id = ask(&base, "late").await;
    let early = open(&base, &id, None).await;
    let early_part = read(early, 5).await;
    // A second reader joins mid-answer: from the first token.
    let second = open(&base, &id, None).await;
    upstream.gate.add_permits(1);
    let second = read(second, usize::MAX).await;
    assert_eq!(text(&second), answer(10));
    assert_eq!(text(&early_part), answer(5));
    // A third after the end: all of it, the end, and 204 on reconnecting.
    let third = read(open(&base, &id, None).await, usize::MAX).await;
    assert_eq!(third, second);
    assert_eq!(end_of(&third)["reason"], "done");
    let reconnect = open(&base, &id, Some(&third.last().unwrap().1)).await;
    assert_eq!(reconnect.status(), 204);
    assert_eq!(upstream.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_from_another_connection_ends_the_answer_and_cancels_the_upstream() {
    let upstream = Upstream::start(Script::Tokens {
        n: 1000,
        every: Duration::from_millis(20),
    })
    .await;
    let base = serve_app(&upstream).await;
    let id = ask(&base, "stop me").await;
    let mut events = test_support::events(open(&base, &id, None).await);
    let _first = events.next().await.unwrap().unwrap();

    let client = reqwest::Client::new();
    stop_within_a_second(&base, &id, &mut events, "stop latency").await;
    // The response ends after the end.
    assert!(tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("the response ends")
        .is_none());
    // The upstream saw its request dropped.
    let seen = async {
        while !upstream.cancelled.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), seen)
        .await
        .expect("the upstream request is cancelled");
    // Stopping an ended answer: 409; an unknown one: 404.
    let again = client
        .post(format!("{base}/chat/{id}/stop"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let unknown = client
        .post(format!("{base}/chat/nope/stop"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(upstream.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_fails_ends_the_answer_with_an_error_after_one_request() {
    // Cut mid-answer: the tokens so far, then the error; not sent again.
    let upstream = Upstream::start(Script::Breaks { n: 5 }).await;
    let base = serve_app(&upstream).await;
    let id = ask(&base, "break").await;
    let events = read(open(&base, &id, None).await, usize::MAX).await;
    assert_eq!(text(&events), answer(5));
    let end = end_of(&events);
    assert_eq!(end["reason"], "error");
    assert!(!end["message"].as_str().unwrap().is_empty());
    assert_eq!(upstream.requests.load(Ordering::SeqCst), 1);

    // An error status: its message, and no retry.
    let upstream = Upstream::start(Script::Fails).await;
    let base = serve_app(&upstream).await;
    let id = ask(&base, "fail").await;
    let events = read(open(&base, &id, None).await, usize::MAX).await;
    let end = end_of(&events);
    assert_eq!(end["reason"], "error");
    let message = end["message"].as_str().unwrap();
    assert!(
        message.contains("500") && message.contains("the model is overloaded"),
        "{message}"
    );
    assert_eq!(upstream.requests.load(Ordering::SeqCst), 1);

    // An error object in the stream: its message.
    let upstream = Upstream::start(Script::ErrorObject { n: 3 }).await;
    let base = serve_app(&upstream).await;
    let id = ask(&base, "error object").await;
    let events = read(open(&base, &id, None).await, usize::MAX).await;
    assert_eq!(text(&events), answer(3));
    let end = end_of(&events);
    assert_eq!(end["reason"], "error");
    assert_eq!(end["message"], "rate limited");
    assert_eq!(upstream.requests.load(Ordering::SeqCst), 1);

    // A stream that ends without [DONE]: an error, not a second request.
    let upstream = Upstream::start(Script::NoDone { n: 3 }).await;
    let base = serve_app(&upstream).await;
    let id = ask(&base, "no done").await;
    let events = read(open(&base, &id, None).await, usize::MAX).await;
    assert_eq!(text(&events), answer(3));
    let end = end_of(&events);
    assert_eq!(end["reason"], "error");
    assert!(end["message"].as_str().unwrap().contains("[DONE]"), "{end}");
    assert_eq!(upstream.requests.load(Ordering::SeqCst), 1);
}

mod on_redis {
    use super::*;
    use sse_hub::redis::RedisBackend;
    use test_support::servers::{ChildGuard, RedisServer};

    /// Not a test of its own: one instance of the app on Redis, run in a
    /// child process by the tests below (`SSE_CHAT_TEST_*` say where).
    #[tokio::test]
    #[ignore = "an instance for the tests on Redis"]
    async fn instance() {
        let (Ok(redis), Ok(llm)) = (
            std::env::var("SSE_CHAT_TEST_REDIS"),
            std::env::var("SSE_CHAT_TEST_LLM"),
        ) else {
            return;
        };
        let backend = RedisBackend::builder(redis)
            .history_events(app::ANSWER_EVENTS)
            .lease_ttl(Duration::from_millis(600))
            .connect()
            .await
            .unwrap();
        let llm = app::Llm {
            url: llm,
            key: None,
            model: "test".to_owned(),
        };
        let router = app::router(Hub::builder().build_with(backend), llm);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("LISTENING http://{}", listener.local_addr().unwrap());
        axum::serve(listener, router).await.unwrap();
    }

    /// Starts an instance in a child process; its base URL.
    async fn start_instance(redis: &RedisServer, upstream: &Upstream) -> (ChildGuard, String) {
        use std::io::BufRead;
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "on_redis::instance", "--nocapture"])
            .env("SSE_CHAT_TEST_REDIS", redis.url())
            .env("SSE_CHAT_TEST_LLM", &upstream.url)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let child = ChildGuard::new(child);
        let base = tokio::task::spawn_blocking(move || {
            std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .find_map(|line| line.strip_prefix("LISTENING ").map(str::to_owned))
        });
        let base = tokio::time::timeout(Duration::from_secs(20), base)
            .await
            .expect("the instance starts within 20 s")
            .unwrap()
            .expect("the instance says where it listens");
        (child, base)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_two_instances_a_reader_resumes_on_the_other_and_a_lost_producer_ends_in_error() {
        let Some(redis) = RedisServer::start() else {
            return;
        };
        let upstream = Upstream::start(Script::Gated { n: 5, more: 5 }).await;
        let (_a, a) = start_instance(&redis, &upstream).await;
        let (_b, b) = start_instance(&redis, &upstream).await;

        // Asked on A, read on A, resumed on B.
        let id = ask(&a, "two instances").await;
        let first = read(open(&a, &id, None).await, 5).await;
        upstream.gate.add_permits(1);
        let rest = read(
            open(&b, &id, Some(&first.last().unwrap().1)).await,
            usize::MAX,
        )
        .await;
        let all: Vec<Received> = first.iter().chain(&rest).cloned().collect();
        assert_eq!(text(&all), answer(10));
        assert_eq!(end_of(&all)["reason"], "done");
        assert_eq!(
            open(&b, &id, Some(&all.last().unwrap().1)).await.status(),
            204
        );

        // Stop on B reaches the producer on A; B's reader gets the end.
        let id = ask(&a, "stop from B").await;
        let mut reader = test_support::events(open(&b, &id, None).await);
        for _ in 0..5 {
            let _ = reader.next().await.unwrap().unwrap();
        }
        stop_within_a_second(&b, &id, &mut reader, "stop latency across instances").await;

        // A dies mid-answer: B's reader gets the end, with an error.
        let (mut a_process, a) = start_instance(&redis, &upstream).await;
        let id = ask(&a, "lost").await;
        let reader = open(&b, &id, None).await;
        let mut events = test_support::events(reader);
        for _ in 0..5 {
            let _ = events.next().await.unwrap().unwrap();
        }
        a_process.kill();
        let end = until_end(&mut events, Duration::from_secs(10)).await;
        let end: serde_json::Value = serde_json::from_str(end.data()).unwrap();
        assert_eq!(end["reason"], "error");
        assert_eq!(end["message"], sse_hub::redis::LOST);
    }
}

/// The real page (`chat.html`) with an observer that reports what it shows
/// to `/report`, and reloads itself once mid-answer when `?reload` is set.
fn observed_page() -> String {
    const OBSERVER: &str = r#"<script>
const params = new URLSearchParams(location.search);
const reloaded = sessionStorage.getItem('reloaded') === '1';
const report = () => fetch('/report', { method: 'POST', body: JSON.stringify({
  page: params.get('page'), reloaded, text: answer.textContent, reason: statusLine.dataset.reason || null,
}) });
new MutationObserver(report).observe(answer, { childList: true, characterData: true, subtree: true });
new MutationObserver(report).observe(statusLine, { attributes: true, childList: true, subtree: true });
if (params.has('reload') && !reloaded) {
  const check = setInterval(() => {
    if (answer.textContent.length >= 10) {
      clearInterval(check);
      sessionStorage.setItem('reloaded', '1');
      location.reload();
    }
  }, 10);
}
</script>
</body>"#;
    include_str!("../examples/chat/chat.html").replace("</body>", OBSERVER)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_chromium_a_reloaded_page_and_a_second_tab_show_the_whole_answer_once() {
    let Some(chromium) = test_support::servers::chromium_or_skip() else {
        return;
    };
    // 10 tokens, then the gate (opened once the reloaded page has shown
    // them again), then 20 more.
    let upstream = Upstream::start(Script::Gated { n: 10, more: 20 }).await;
    let hub = Hub::builder().history_events(app::ANSWER_EVENTS).build();
    let (report_tx, mut reports) = mpsc::unbounded_channel::<serde_json::Value>();
    let router = app::router(hub, upstream.llm())
        .route(
            "/page",
            get(|| async { axum::response::Html(observed_page()) }),
        )
        .route(
            "/report",
            post(move |body: String| async move {
                let _ = report_tx.send(serde_json::from_str(&body).unwrap());
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let id = ask(&base, "browser").await;

    let _reloading = test_support::servers::Browser::open(
        &chromium,
        &format!("{base}/page?id={id}&page=reloading&reload"),
    );
    async fn next(reports: &mut mpsc::UnboundedReceiver<serde_json::Value>) -> serde_json::Value {
        tokio::time::timeout(Duration::from_secs(20), reports.recv())
            .await
            .expect("a report within 20 s")
            .unwrap()
    }
    // The reloaded page shows the first ten tokens again, once.
    loop {
        let report = next(&mut reports).await;
        if report["reloaded"] == true && report["text"].as_str().unwrap().len() >= answer(10).len()
        {
            assert_eq!(report["text"], answer(10));
            break;
        }
    }
    let _second = test_support::servers::Browser::open(
        &chromium,
        &format!("{base}/page?id={id}&page=second"),
    );
    upstream.gate.add_permits(1);
    let mut done = std::collections::HashMap::new();
    while done.len() < 2 {
        let report = next(&mut reports).await;
        if report["reason"] == "done" {
            done.insert(
                report["page"].as_str().unwrap().to_owned(),
                report["text"].clone(),
            );
        }
    }
    assert_eq!(done["reloading"], answer(30));
    assert_eq!(done["second"], answer(30));
    assert_eq!(upstream.requests.load(Ordering::SeqCst), 1);
}
