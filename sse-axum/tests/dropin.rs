//! A drop-in for `axum::response::sse`: handlers in the style of axum's
//! documentation, written once (the macros below) and compiled twice, once
//! with `use axum::response::sse::…` and once with `use sse_axum::…`: the
//! `use` line is the only change. Then the bodies both write, byte for byte
//! where axum's is right, and what differs where axum's is wrong.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, Stream};
use http_body_util::BodyExt;
use serde::Serialize;
use test_support::dispatched;
use tower::ServiceExt;

#[derive(Serialize)]
struct Progress {
    done: u32,
    total: u32,
}

/// Handlers as axum's docs write them, using every method of `Event`,
/// `KeepAlive` and `Sse`.
macro_rules! handlers {
    () => {
        /// Events whose bytes axum writes correctly.
        pub(super) fn correct() -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
            let events = vec![
                Event::default().data("hello"),
                Event::default().event("tick").id("1").data("one\ntwo"),
                Event::default()
                    .event("progress")
                    .json_data(Progress { done: 3, total: 10 })
                    .unwrap(),
                Event::default()
                    .event("slow")
                    .retry(Duration::from_millis(2500))
                    .data("x"),
                Event::default().id(7.to_string()).data(format!("{}", 7)),
                {
                    use std::fmt::Write;
                    let mut writer = Event::default().event("sum").into_data_writer();
                    write!(writer, "{} + {} = {}", 1, 2, 3).unwrap();
                    writer.into_event()
                },
            ];
            Sse::new(stream::iter(events.into_iter().map(Ok))).keep_alive(
                KeepAlive::new()
                    .interval(Duration::from_secs(15))
                    .text("keep-alive-text"),
            )
        }

        /// Events axum writes wrongly (or panics on): built here only with
        /// the fields axum accepts; the invalid ones are tested apart.
        pub(super) fn differing() -> Sse<impl Stream<Item = Result<Event, std::io::Error>>> {
            let events = vec![
                Event::default().data(""),
                Event::default().data("a\r\nb"),
                Event::default().comment("a comment").data("after"),
            ];
            Sse::new(stream::iter(events.into_iter().map(Ok)))
                .keep_alive(KeepAlive::default().event(Event::default().event("ping")))
        }

        pub(super) fn router() -> Router {
            Router::new()
                .route("/correct", get(|| async { correct() }))
                .route("/differing", get(|| async { differing() }))
        }
    };
}

mod theirs {
    use super::*;
    use axum::response::sse::{Event, KeepAlive, Sse};
    handlers!();
}

mod ours {
    use super::*;
    use sse_axum::{Event, KeepAlive, Sse};
    handlers!();
}

async fn body(router: Router, path: &str) -> (String, axum::http::HeaderMap) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = router.oneshot(request).await.unwrap();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (String::from_utf8(bytes.to_vec()).unwrap(), headers)
}

#[tokio::test]
async fn where_axum_is_right_the_bytes_are_the_same() {
    let (theirs, their_headers) = body(theirs::router(), "/correct").await;
    let (ours, our_headers) = body(ours::router(), "/correct").await;
    assert_eq!(ours, theirs);
    assert_eq!(
        ours,
        "data: hello\n\n\
         event: tick\nid: 1\ndata: one\ndata: two\n\n\
         event: progress\ndata: {\"done\":3,\"total\":10}\n\n\
         event: slow\nretry: 2500\ndata: x\n\n\
         id: 7\ndata: 7\n\n\
         event: sum\ndata: 1 + 2 = 3\n\n"
    );
    for headers in [&their_headers, &our_headers] {
        assert_eq!(headers["content-type"], "text/event-stream");
    }
    // Ours tells proxies not to buffer or transform the stream too.
    assert_eq!(our_headers["x-accel-buffering"], "no");
}

#[tokio::test]
async fn where_axum_is_wrong_the_browser_reads_back_what_was_given() {
    let (theirs, _) = body(theirs::router(), "/differing").await;
    let (ours, _) = body(ours::router(), "/differing").await;
    // axum drops empty data (no event reaches the page) and turns CRLF into
    // two line breaks.
    assert_eq!(
        dispatched(&theirs),
        [
            ("message".into(), "a\n\nb".into(), String::new()),
            ("message".into(), "after".into(), String::new()),
        ]
    );
    assert_eq!(
        dispatched(&ours),
        [
            ("message".into(), String::new(), String::new()),
            ("message".into(), "a\nb".into(), String::new()),
            ("message".into(), "after".into(), String::new()),
        ]
    );
    assert_eq!(
        ours,
        "data: \n\ndata: a\ndata: b\n\n:a comment\ndata: after\n\n"
    );
}

#[tokio::test]
async fn an_invalid_field_panics_in_axum_and_ends_our_response_cleanly() {
    let injections: [fn(sse_axum::Event) -> sse_axum::Event; 4] = [
        |e| e.id("1\ndata: injected"),
        |e| e.id("nul\0"),
        |e| e.event("x\r\nid: 666"),
        |e| e.event("x\rdata: evil"),
    ];
    let theirs: [fn(axum::response::sse::Event) -> axum::response::sse::Event; 4] = [
        |e| e.id("1\ndata: injected"),
        |e| e.id("nul\0"),
        |e| e.event("x\r\nid: 666"),
        |e| e.event("x\rdata: evil"),
    ];
    for (ours, theirs) in injections.into_iter().zip(theirs) {
        let panicked = std::panic::catch_unwind(|| theirs(axum::response::sse::Event::default()));
        assert!(panicked.is_err(), "axum panics");

        let bad = ours(sse_axum::Event::default()).data("never sent");
        assert!(bad.error().is_some());
        let events = vec![
            sse_axum::Event::default().id("1").data("before"),
            bad,
            sse_axum::Event::default().id("2").data("after"),
        ];
        let response = sse_axum::Sse::new(stream::iter(events)).into_response();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        // The response ends at the invalid event: nothing of it, nothing
        // injected, nothing after it.
        assert_eq!(&bytes[..], b"id: 1\ndata: before\n\n");
    }
    // The same for a comment: ours writes each line as a comment.
    let event = sse_axum::Event::default()
        .comment("one\ndata: not a field")
        .data("x");
    let response = sse_axum::Sse::new(stream::iter([event])).into_response();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&bytes[..], b":one\n:data: not a field\ndata: x\n\n");
    assert_eq!(dispatched(std::str::from_utf8(&bytes).unwrap()).len(), 1);
}

#[tokio::test]
async fn a_json_error_is_axum_error_and_the_builder_path_still_works() {
    use std::collections::BTreeMap;
    let mut bad_keys = BTreeMap::new();
    bad_keys.insert((1, 2), "tuple keys are not JSON");
    let err: axum::Error = sse_axum::Event::default().json_data(&bad_keys).unwrap_err();
    assert!(!err.to_string().is_empty());
    let theirs: axum::Error = axum::response::sse::Event::default()
        .json_data(&bad_keys)
        .unwrap_err();
    assert_eq!(err.to_string(), theirs.to_string());

    // Today's checked builder: a Result at the end.
    let event = sse_axum::Event::builder()
        .event_type("e")
        .id("1")
        .data("x")
        .build()
        .unwrap();
    assert!(sse_axum::Event::builder().id("a\nb").build().is_err());
    let response = sse_axum::Sse::new(stream::iter([event])).into_response();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&bytes[..], b"event: e\nid: 1\ndata: x\n\n");
}

#[tokio::test(start_paused = true)]
async fn keep_alive_sends_the_text_or_the_event_like_axum() {
    let slow = || stream::pending::<Result<sse_axum::Event, Infallible>>();
    for (keep_alive, expected) in [
        (sse_axum::KeepAlive::new().text("thump"), ":thump\n"),
        (
            sse_axum::KeepAlive::new().event(sse_axum::Event::default().event("ping")),
            "event: ping\ndata: \n\n",
        ),
        (
            // Invalid: the keep-alive stays the default comment.
            sse_axum::KeepAlive::new().event(sse_axum::Event::default().event("a\nb")),
            ":\n",
        ),
    ] {
        let response = sse_axum::Sse::new(slow())
            .keep_alive(keep_alive.interval(Duration::from_secs(1)))
            .into_response();
        let mut body = response.into_body();
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(frame.into_data().unwrap(), expected);
    }
}
