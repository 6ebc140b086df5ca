//! `reply` and `last_event_id` through `warp::test`: exact headers and body
//! bytes, errors ending the body cleanly, keep-alive timing (paused clock).

use std::convert::Infallible;
use std::time::Duration;

use futures_util::stream;
use http_body_util::BodyExt;
use sse_warp::{Event, KeepAlive};
use tokio::time::Instant;
use warp::{Filter, Reply};

#[tokio::test]
async fn headers_and_exact_body() {
    let route =
        warp::path("events").map(|| sse_warp::reply(stream::iter(test_support::known_frames())));
    let response = warp::test::request().path("/events").reply(&route).await;
    assert_eq!(response.status(), 200);
    test_support::assert_sse_headers(response.headers());
    assert_eq!(response.body(), test_support::KNOWN_WIRE);
}

#[tokio::test]
async fn any_method_and_fallible_streams() {
    let route = warp::post().map(|| {
        sse_warp::reply(stream::iter(vec![
            Ok(Event::new("token 1")),
            Err(std::io::Error::other("model failed")),
            Ok(Event::new("never sent")),
        ]))
    });
    let response = warp::test::request()
        .method("POST")
        .body("{}")
        .reply(&route)
        .await;
    assert_eq!(response.body(), "data: token 1\n\n");
}

#[tokio::test(start_paused = true)]
async fn keep_alive_comments_while_idle() {
    let reply = sse_warp::reply(stream::pending::<Result<Event, Infallible>>())
        .keep_alive(KeepAlive::new().text("ka"));
    let mut body = reply.into_response().into_body();
    let start = Instant::now();
    for expected in [15, 30] {
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), ":ka\n");
        assert_eq!(start.elapsed(), Duration::from_secs(expected));
    }
}

#[tokio::test]
async fn until_ends_the_reply() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let reply = sse_warp::reply(stream::pending::<Event>()).until(async {
        let _ = stopped.await;
    });
    let mut body = reply.into_response().into_body();
    stop.send(()).unwrap();
    assert!(body.frame().await.is_none());
}

async fn last_event_id(header: Option<&[u8]>) -> Option<String> {
    let mut request = warp::test::request();
    if let Some(value) = header {
        request = request.header(
            "last-event-id",
            warp::http::HeaderValue::from_bytes(value).unwrap(),
        );
    }
    request.filter(&sse_warp::last_event_id()).await.unwrap()
}

#[tokio::test]
async fn last_event_id_filter() {
    assert_eq!(last_event_id(None).await, None);
    assert_eq!(last_event_id(Some(b"42")).await.as_deref(), Some("42"));
    assert_eq!(
        last_event_id(Some("caf\u{e9}".as_bytes())).await.as_deref(),
        Some("caf\u{e9}")
    );
    assert_eq!(last_event_id(Some(b"")).await, None);
    // Not UTF-8: absent, not a rejection.
    assert_eq!(last_event_id(Some(b"\xFF\xFE")).await, None);
}

#[tokio::test]
async fn last_event_id_or_query_filter() {
    let filter = sse_warp::last_event_id_or_query();
    let by_query = warp::test::request()
        .path("/?a=1&lastEventId=9")
        .filter(&filter)
        .await
        .unwrap();
    assert_eq!(by_query.as_deref(), Some("9"));
    let header_wins = warp::test::request()
        .path("/?lastEventId=9")
        .header("last-event-id", "4")
        .filter(&filter)
        .await
        .unwrap();
    assert_eq!(header_wins.as_deref(), Some("4"));
    assert_eq!(
        warp::test::request()
            .path("/")
            .filter(&filter)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn headers_can_be_added_and_overridden() {
    let route = warp::any().map(|| {
        let reply = sse_warp::reply(stream::iter([Event::new("x")]));
        let reply = warp::reply::with_header(reply, "cache-control", "no-store");
        warp::reply::with_header(reply, "x-stream", "demo")
    });
    let response = warp::test::request().reply(&route).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["x-stream"], "demo");
    assert_eq!(response.headers()["content-type"], "text/event-stream");
}
