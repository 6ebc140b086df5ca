//! The client against a scripted server on 127.0.0.1 that closes streams,
//! sends `retry`, fails and finally answers 204, checking what the client
//! sent on every connection.

use std::time::Duration;

use futures_util::StreamExt;
use sse_client::{Error, EventSource, Frame, Message};
use test_support::scripted::{serve, Request, Step};

/// Everything the stream yields until it ends (bounded: 10 s).
async fn run(source: EventSource) -> Vec<Result<Message, Error>> {
    tokio::time::timeout(Duration::from_secs(10), source.collect())
        .await
        .expect("the stream ends within 10 s")
}

fn events(items: &[Result<Message, Error>]) -> Vec<(String, String, Option<String>)> {
    items
        .iter()
        .filter_map(|item| match item {
            Ok(Message::Frame(Frame::Event(e))) => Some((
                e.event_type().to_owned(),
                e.data().to_owned(),
                e.id().map(str::to_owned),
            )),
            _ => None,
        })
        .collect()
}

fn requests(recorded: &std::sync::Mutex<Vec<Request>>) -> Vec<Request> {
    recorded.lock().unwrap().clone()
}

#[tokio::test]
async fn reconnects_with_last_event_id_honours_retry_and_stops_on_204() {
    let (url, recorded) = serve(vec![
        Step::Stream(
            "retry: 50\nid: 1\ndata: one\n\nevent: tick\nid: 2\ndata: two\n\ndata: cut off",
        ),
        Step::Drop,
        Step::Stream(": keep-alive\nid: 3\ndata: three\n\n"),
        Step::Status(204),
    ])
    .await;
    let source = EventSource::builder(&url)
        .method(reqwest::Method::POST)
        .header("authorization", "Bearer secret")
        .header("x-tenant", "acme")
        .body("{\"stream\":true}")
        // A POST that the server resumes with Last-Event-ID: opted in.
        .resend_after_events(true)
        .build()
        .unwrap();
    let items = run(source).await;

    // Events as a browser dispatches them; the unterminated one is dropped.
    assert_eq!(
        events(&items),
        [
            ("message".into(), "one".into(), Some("1".into())),
            ("tick".into(), "two".into(), Some("2".into())),
            ("message".into(), "three".into(), Some("3".into())),
        ]
    );
    assert!(items.iter().any(
        |i| matches!(i, Ok(Message::Frame(Frame::Retry(r))) if *r == Duration::from_millis(50))
    ));
    assert!(items
        .iter()
        .any(|i| matches!(i, Ok(Message::Frame(Frame::Comment(c))) if c == " keep-alive")));
    assert!(matches!(
        items.iter().find(|i| i.is_err()),
        Some(Err(Error::Transport(_)))
    ));
    assert_eq!(
        items
            .iter()
            .filter(|i| matches!(i, Ok(Message::Open(_))))
            .count(),
        2
    );

    let requests = requests(&recorded);
    assert_eq!(requests.len(), 4, "204 stops the client");
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.header("authorization"), Some("Bearer secret"));
        assert_eq!(request.header("x-tenant"), Some("acme"));
        assert_eq!(request.header("accept"), Some("text/event-stream"));
        assert_eq!(request.body, "{\"stream\":true}");
    }
    let last_ids: Vec<_> = requests.iter().map(|r| r.header("last-event-id")).collect();
    assert_eq!(last_ids, [None, Some("2"), Some("2"), Some("3")]);
    // The server's `retry: 50` replaced the 3 s default.
    let gap = requests[1].at - requests[0].at;
    assert!(
        gap >= Duration::from_millis(45) && gap < Duration::from_secs(2),
        "{gap:?}"
    );
}

#[tokio::test]
async fn failures_back_off_exponentially_with_jitter_up_to_the_cap() {
    let (url, recorded) = serve(vec![
        Step::Drop,
        Step::Drop,
        Step::Drop,
        Step::Drop,
        Step::Drop,
        Step::Status(204),
    ])
    .await;
    let source = EventSource::builder(&url)
        .retry(Duration::from_millis(20))
        .max_backoff(Duration::from_millis(100))
        .min_reconnect_delay(Duration::ZERO)
        .build()
        .unwrap();
    let items = run(source).await;
    assert_eq!(
        items
            .iter()
            .filter(|i| matches!(i, Err(Error::Transport(_))))
            .count(),
        5
    );
    let at: Vec<_> = requests(&recorded).iter().map(|r| r.at).collect();
    assert_eq!(at.len(), 6);
    // After failure k: 20 ms × 2^k, capped at 100 ms, then jittered into
    // the upper half.
    let bounds = [(20, 40), (40, 80), (50, 100), (50, 100), (50, 100)];
    for (k, (low, high)) in bounds.into_iter().enumerate() {
        let gap = at[k + 1] - at[k];
        assert!(gap >= Duration::from_millis(low - 2), "wait {k}: {gap:?}");
        assert!(gap < Duration::from_millis(high + 200), "wait {k}: {gap:?}");
    }
}

#[tokio::test]
async fn a_wrong_status_or_content_type_is_a_typed_error_and_no_retry() {
    let (url, recorded) = serve(vec![Step::Status(500)]).await;
    let items = run(EventSource::new(&url).unwrap()).await;
    assert_eq!(items.len(), 1);
    let err = items.into_iter().next().unwrap().unwrap_err();
    assert!(
        matches!(&err, Error::Status(r) if r.status == 500) && err.is_fatal(),
        "{err}"
    );
    assert_eq!(requests(&recorded).len(), 1);

    let (url, recorded) = serve(vec![Step::ContentType("text/html; charset=utf-8")]).await;
    let items = run(EventSource::new(&url).unwrap()).await;
    let err = items.into_iter().next().unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unexpected content type text/html; charset=utf-8, expected text/event-stream"
    );
    assert_eq!(requests(&recorded).len(), 1);
}

#[tokio::test]
async fn max_reconnects_ends_the_stream_with_an_error() {
    let (url, recorded) = serve(vec![Step::Stream("data: x\n\n")]).await;
    let source = EventSource::builder(&url)
        .retry(Duration::from_millis(1))
        .max_reconnects(2)
        .build()
        .unwrap();
    let items = run(source).await;
    assert!(matches!(items.last(), Some(Err(Error::ReconnectLimit(2)))));
    assert_eq!(events(&items).len(), 3);
    assert_eq!(requests(&recorded).len(), 3);
}

#[tokio::test]
async fn a_given_last_event_id_is_sent_from_the_first_request() {
    let (url, recorded) = serve(vec![Step::Status(204)]).await;
    let items = run(EventSource::builder(&url)
        .last_event_id("41")
        .build()
        .unwrap())
    .await;
    assert!(items.is_empty());
    assert_eq!(requests(&recorded)[0].header("last-event-id"), Some("41"));
    // Invalid input is refused before anything is sent.
    assert!(matches!(
        EventSource::new("not a url"),
        Err(Error::Request(_))
    ));
    let bad = EventSource::builder(&url)
        .header("x-bad", "line\nbreak")
        .build();
    assert!(matches!(bad, Err(Error::Request(_))));
}

#[tokio::test]
async fn an_event_over_the_limit_is_reported_and_skipped() {
    let (url, _) = serve(vec![
        Step::Stream("data: 0123456789abcdef\n\ndata: ok\n\n"),
        Step::Status(204),
    ])
    .await;
    let source = EventSource::builder(&url)
        .max_event_size(12)
        .retry(Duration::from_millis(1))
        .build()
        .unwrap();
    let items = run(source).await;
    assert!(matches!(items[1], Err(Error::Decode(_))));
    assert_eq!(events(&items), [("message".into(), "ok".into(), None)]);
}

#[tokio::test]
async fn a_silent_connection_is_dropped_after_the_idle_timeout() {
    let (url, recorded) = serve(vec![
        Step::Hold("id: 1\ndata: then silence\n\n"),
        Step::Status(204),
    ])
    .await;
    let source = EventSource::builder(&url)
        .idle_timeout(Duration::from_millis(200))
        .retry(Duration::from_millis(1))
        .build()
        .unwrap();
    let items = run(source).await;
    assert_eq!(
        events(&items),
        [("message".into(), "then silence".into(), Some("1".into()))]
    );
    assert!(matches!(items.last(), Some(Err(Error::Idle(_)))));
    let requests = requests(&recorded);
    assert_eq!(requests[1].header("last-event-id"), Some("1"));
    let gap = requests[1].at - requests[0].at;
    assert!(
        gap >= Duration::from_millis(195) && gap < Duration::from_secs(5),
        "{gap:?}"
    );
}

/// A server that says `retry: 0` and closes every stream: a browser
/// (Chromium) reconnects at once, every time. This client waits its floor.
#[tokio::test]
async fn a_retry_0_server_sees_at_most_two_connections_a_second() {
    let (url, recorded) = serve(vec![Step::Stream("retry: 0\nid: 1\ndata: x\n\n")]).await;
    let source = EventSource::builder(&url).build().unwrap();
    let window = Duration::from_secs(3);
    let _ = tokio::time::timeout(window, run(source)).await;
    let requests = requests(&recorded);
    // One at once, then one per 500 ms: 7 in 3 s at the most.
    assert!(
        requests.len() <= 7,
        "{} connections in {window:?}",
        requests.len()
    );
    assert!(requests.len() >= 5, "it does reconnect: {}", requests.len());
    for pair in requests.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(490), "{gap:?}");
    }
}

/// A peer that accepts the connection and never answers: the idle timeout
/// covers the wait for the response head too.
#[tokio::test]
async fn the_idle_timeout_covers_a_peer_that_never_answers() {
    let (url, recorded) = serve(vec![Step::Silent, Step::Status(204)]).await;
    let source = EventSource::builder(&url)
        .idle_timeout(Duration::from_millis(200))
        .min_reconnect_delay(Duration::ZERO)
        .retry(Duration::from_millis(1))
        .build()
        .unwrap();
    let items = tokio::time::timeout(Duration::from_secs(5), run(source))
        .await
        .expect("not waiting forever");
    assert!(
        matches!(items.first(), Some(Err(Error::Idle(_)))),
        "{items:?}"
    );
    let requests = requests(&recorded);
    assert_eq!(requests.len(), 2, "it reconnected, then got 204");
    let gap = requests[1].at - requests[0].at;
    assert!(gap >= Duration::from_millis(195), "{gap:?}");
}

/// A bearer token that expires: the header function runs before every
/// attempt, and the server sees the fresh token each time.
#[tokio::test]
async fn headers_are_made_afresh_for_every_reconnection() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    let (url, recorded) = serve(vec![
        Step::Stream("id: 1\ndata: a\n\n"),
        Step::Drop,
        Step::Stream("id: 2\ndata: b\n\n"),
        Step::Status(204),
    ])
    .await;
    let issued = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&issued);
    let source = EventSource::builder(&url)
        .header("authorization", "Bearer static")
        .header("x-static", "kept")
        .headers_with(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                let mut headers = reqwest::header::HeaderMap::new();
                let token = format!("Bearer token-{n}");
                headers.insert("authorization", token.parse().unwrap());
                headers
            }
        })
        .min_reconnect_delay(Duration::ZERO)
        .retry(Duration::from_millis(1))
        .build()
        .unwrap();
    let items = run(source).await;
    assert_eq!(events(&items).len(), 2);
    let requests = requests(&recorded);
    let tokens: Vec<_> = requests.iter().map(|r| r.header("authorization")).collect();
    assert_eq!(
        tokens,
        [
            Some("Bearer token-1"),
            Some("Bearer token-2"),
            Some("Bearer token-3"),
            Some("Bearer token-4")
        ]
    );
    assert!(requests
        .iter()
        .all(|r| r.header("x-static") == Some("kept")));
    assert_eq!(issued.load(Ordering::SeqCst), 4);
}

/// Compression as a browser does it: the client asks for it, and a
/// compressing server that flushes each event still streams.
#[tokio::test]
async fn a_gzip_stream_is_decoded_event_by_event() {
    let (url, recorded) = serve(vec![
        Step::Gzip(&[
            "id: 1\ndata: one\n\n",
            "id: 2\ndata: two\n\n",
            "id: 3\ndata: three\n\n",
        ]),
        Step::Status(204),
    ])
    .await;
    let mut source = EventSource::builder(&url)
        .min_reconnect_delay(Duration::ZERO)
        .retry(Duration::from_millis(1))
        .build()
        .unwrap();
    let start = std::time::Instant::now();
    let mut arrivals = Vec::new();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(5), source.next())
        .await
        .unwrap()
    {
        if let Some(event) = item.ok().and_then(Message::into_event) {
            arrivals.push((event.data().to_owned(), start.elapsed()));
        }
    }
    let data: Vec<_> = arrivals.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(data, ["one", "two", "three"]);
    // The first event arrived before the second was even compressed.
    assert!(arrivals[0].1 < Duration::from_millis(250), "{arrivals:?}");
    assert!(arrivals[1].1 >= Duration::from_millis(250), "{arrivals:?}");
    let accept = requests(&recorded)[0]
        .header("accept-encoding")
        .unwrap()
        .to_owned();
    for coding in ["gzip", "br", "deflate", "zstd"] {
        assert!(accept.contains(coding), "{accept}");
    }
}

/// A rejected response keeps what the server said (an LLM API's JSON error,
/// its rate-limit headers), bounded; an opened one gives its headers.
#[tokio::test]
async fn failures_keep_the_status_headers_and_body_and_open_gives_headers() {
    let (url, _) = serve(vec![Step::Raw(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: 7\r\ncontent-length: 46\r\nconnection: close\r\n\r\n{\"error\":{\"message\":\"rate limit, slow down\"}}",
    )])
    .await;
    let items = run(EventSource::new(&url).unwrap()).await;
    let err = items.into_iter().next().unwrap().unwrap_err();
    let rejected = err.rejected().expect("the response is kept");
    assert_eq!(rejected.status, 429);
    assert_eq!(rejected.headers["retry-after"], "7");
    assert_eq!(
        &rejected.body[..],
        b"{\"error\":{\"message\":\"rate limit, slow down\"}}"
    );
    assert_eq!(
        err.to_string(),
        "unexpected HTTP status 429 Too Many Requests"
    );

    // A huge error body is cut at 64 KiB.
    static HUGE: std::sync::LazyLock<&'static str> = std::sync::LazyLock::new(|| {
        let body = "x".repeat(1 << 20);
        let response = format!("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        Box::leak(response.into_boxed_str())
    });
    let (url, _) = serve(vec![Step::Raw(&HUGE)]).await;
    let items = run(EventSource::new(&url).unwrap()).await;
    let err = items.into_iter().next().unwrap().unwrap_err();
    assert!(matches!(err, Error::ContentType(_)), "{err}");
    assert_eq!(
        err.rejected().unwrap().body.len(),
        sse_client::REJECTED_BODY_MAX
    );

    let (url, _) = serve(vec![
        Step::Raw("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-ratelimit-remaining: 99\r\nconnection: close\r\n\r\ndata: x\n\n"),
        Step::Status(204),
    ])
    .await;
    let source = EventSource::builder(&url)
        .min_reconnect_delay(Duration::ZERO)
        .retry(Duration::from_millis(1))
        .build()
        .unwrap();
    let items = run(source).await;
    let Some(Ok(Message::Open(headers))) = items.first() else {
        panic!("{items:?}")
    };
    assert_eq!(headers["x-ratelimit-remaining"], "99");
}

/// What is wrong with a request is said, with the parser's error as the
/// source.
#[test]
fn an_invalid_request_is_a_typed_error() {
    use sse_client::RequestError;
    use std::error::Error as _;
    let err = EventSource::new("not a url").unwrap_err();
    assert!(matches!(&err, Error::Request(RequestError::Url { url, .. }) if url == "not a url"));
    assert!(
        err.source().and_then(|s| s.source()).is_some(),
        "the URL parser's error"
    );
    let err = EventSource::builder("http://127.0.0.1/")
        .header("bad name", "x")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::Request(RequestError::HeaderName { .. })),
        "{err}"
    );
    let err = EventSource::builder("http://127.0.0.1/")
        .header("x", "a\nb")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::Request(RequestError::HeaderValue { .. })),
        "{err}"
    );
    let err = EventSource::builder("http://127.0.0.1/")
        .last_event_id("a\0")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::Request(RequestError::LastEventId(_))),
        "{err}"
    );
}

/// An event stream cut mid-body: chunked, one event, then the connection
/// closes without the last chunk (a transport error, not an end).
const CUT_AFTER_AN_EVENT: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\nf\r\nid: 1\ndata: a\n\n\r\n";

fn post(url: &str) -> sse_client::EventSourceBuilder {
    EventSource::builder(url)
        .method(reqwest::Method::POST)
        .body("{\"prompt\":\"hi\"}")
        .retry(Duration::from_millis(10))
        .min_reconnect_delay(Duration::ZERO)
}

#[tokio::test]
async fn a_post_is_not_sent_again_once_an_event_has_arrived() {
    // Cut after its first event: the stream ends with the error, and the
    // server sees one request (a chat completion is not submitted twice).
    let (url, recorded) = serve(vec![
        Step::Raw(CUT_AFTER_AN_EVENT),
        Step::Stream("data: again\n\n"),
    ])
    .await;
    let items = run(post(&url).build().unwrap()).await;
    assert_eq!(
        events(&items),
        [("message".into(), "a".into(), Some("1".into()))]
    );
    let err = items.last().unwrap().as_ref().unwrap_err();
    assert!(
        matches!(err, Error::NotResent(cause) if matches!(**cause, Error::Transport(_))),
        "{err}"
    );
    assert!(err.is_fatal());
    assert_eq!(requests(&recorded).len(), 1);

    // Ended by the server after its events: the end, with no error.
    let (url, recorded) = serve(vec![
        Step::Stream("id: 1\ndata: a\n\nid: 2\ndata: b\n\n"),
        Step::Stream("data: again\n\n"),
    ])
    .await;
    let items = run(post(&url).build().unwrap()).await;
    assert_eq!(events(&items).len(), 2);
    assert!(items.iter().all(Result::is_ok));
    assert_eq!(requests(&recorded).len(), 1);

    // Opted in: sent again, with Last-Event-ID.
    let (url, recorded) = serve(vec![Step::Raw(CUT_AFTER_AN_EVENT), Step::Status(204)]).await;
    let items = run(post(&url).resend_after_events(true).build().unwrap()).await;
    assert_eq!(events(&items).len(), 1);
    let requests = requests(&recorded);
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("last-event-id"), Some("1"));
}

#[tokio::test]
async fn a_post_cut_before_its_first_event_is_retried() {
    // A failed connection, then a stream cut after a comment only: no
    // event arrived, so both are retried; the third answers and ends.
    let (url, recorded) = serve(vec![
        Step::Drop,
        Step::Raw("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n4\r\n: a\n\r\n"),
        Step::Stream("id: 1\ndata: answer\n\n"),
        Step::Stream("data: again\n\n"),
    ])
    .await;
    let items = run(post(&url).build().unwrap()).await;
    assert_eq!(
        events(&items),
        [("message".into(), "answer".into(), Some("1".into()))]
    );
    assert_eq!(
        items
            .iter()
            .filter(|i| matches!(i, Err(Error::Transport(_))))
            .count(),
        2
    );
    let requests = requests(&recorded);
    assert_eq!(requests.len(), 3);
    assert!(requests
        .iter()
        .all(|r| r.method == "POST" && r.body == "{\"prompt\":\"hi\"}"));
}
