//! `Sse` and `LastEventId` through a real `Router`: exact headers and body
//! bytes, errors ending the body cleanly, keep-alive timing (paused clock).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use futures_util::stream;
use http_body_util::BodyExt;
use sse_axum::{Event, KeepAlive, LastEventId, Sse};
use tokio::time::Instant;
use tower::ServiceExt;

fn request(uri: &str) -> http::Request<Body> {
    http::Request::get(uri).body(Body::empty()).unwrap()
}

async fn body_bytes(response: axum::response::Response) -> Bytes {
    response.into_body().collect().await.unwrap().to_bytes()
}

#[tokio::test]
async fn headers_and_exact_body() {
    let app = Router::new().route(
        "/events",
        get(|| async { Sse::new(stream::iter(test_support::known_frames())) }),
    );
    let response = app.oneshot(request("/events")).await.unwrap();
    assert_eq!(response.status(), 200);
    test_support::assert_sse_headers(response.headers());
    assert_eq!(body_bytes(response).await, test_support::KNOWN_WIRE);
}

#[tokio::test]
async fn any_method_and_fallible_streams() {
    let app = Router::new().route(
        "/chat",
        post(|| async {
            Sse::new(stream::iter(vec![
                Ok(Event::new("token 1")),
                Err(std::io::Error::other("model failed")),
                Ok(Event::new("never sent")),
            ]))
        }),
    );
    let response = app
        .oneshot(http::Request::post("/chat").body(Body::from("{}")).unwrap())
        .await
        .unwrap();
    // The error ends the body cleanly after what was already sent.
    assert_eq!(body_bytes(response).await, "data: token 1\n\n");
}

#[tokio::test(start_paused = true)]
async fn keep_alive_comments_while_idle() {
    let app = Router::new().route(
        "/idle",
        get(|| async {
            let events = stream::pending::<Result<Event, Infallible>>();
            Sse::new(events).keep_alive(KeepAlive::new().text("ka"))
        }),
    );
    let mut body = app.oneshot(request("/idle")).await.unwrap().into_body();
    let start = Instant::now();
    for expected in [15, 30] {
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), ":ka\n");
        assert_eq!(start.elapsed(), Duration::from_secs(expected));
    }
}

async fn last_event_id(header: Option<&[u8]>) -> Option<String> {
    let app = Router::new().route(
        "/",
        get(|LastEventId(id): LastEventId| async move { format!("{id:?}") }),
    );
    let mut req = request("/");
    if let Some(value) = header {
        req.headers_mut().insert(
            "last-event-id",
            http::HeaderValue::from_bytes(value).unwrap(),
        );
    }
    let response = app.oneshot(req).await.unwrap();
    assert_eq!(response.status(), 200);
    let text = String::from_utf8(body_bytes(response).await.to_vec()).unwrap();
    match text.as_str() {
        "None" => None,
        some => Some(
            some.trim_start_matches("Some(\"")
                .trim_end_matches("\")")
                .to_owned(),
        ),
    }
}

#[tokio::test]
async fn last_event_id_extractor() {
    assert_eq!(last_event_id(None).await, None);
    assert_eq!(last_event_id(Some(b"42")).await.as_deref(), Some("42"));
    assert_eq!(last_event_id(Some(b"")).await, None);
    // Not UTF-8: treated as absent, not a 500 or a panic.
    assert_eq!(last_event_id(Some(b"\xFF\xFE")).await, None);
}

#[tokio::test]
async fn headers_can_be_added_and_overridden() {
    let app = Router::new().route(
        "/",
        get(|| async {
            (
                [("cache-control", "no-store"), ("x-stream", "demo")],
                Sse::new(stream::iter([Event::new("x")])),
            )
        }),
    );
    let response = app.oneshot(request("/")).await.unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["x-stream"], "demo");
    assert_eq!(response.headers()["content-type"], "text/event-stream");
}

#[tokio::test]
async fn last_event_id_or_query_extractor() {
    use sse_axum::LastEventIdOrQuery;
    let app = Router::new().route(
        "/",
        get(|LastEventIdOrQuery(id): LastEventIdOrQuery| async move { format!("{id:?}") }),
    );
    let by_query = body_bytes(
        app.clone()
            .oneshot(request("/?x=1&lastEventId=9"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(by_query, "Some(\"9\")");
    let mut req = request("/?lastEventId=9");
    req.headers_mut()
        .insert("last-event-id", http::HeaderValue::from_static("4"));
    assert_eq!(
        body_bytes(app.oneshot(req).await.unwrap()).await,
        "Some(\"4\")"
    );
}

/// The ids an `event-source-polyfill` reconnection sends in the query: the
/// polyfill appends `lastEventId=` + `encodeURIComponent(id)`; here node
/// runs that very expression, and the extractor must give the id back.
#[tokio::test]
async fn last_event_id_or_query_decodes_what_the_polyfill_sends() {
    use sse_axum::LastEventIdOrQuery;
    let Some(node) = test_support::servers::program_or_skip("node", "nodejs") else {
        return;
    };
    let ids = [
        "42",
        "1764000000123456-7",
        "a/b",
        "x y",
        "caf\u{e9} \u{1f600}",
        "a+b",
        "100%",
        "?&=#",
        "k:v;w",
    ];
    let script = format!(
        "for (const id of {}) console.log(encodeURIComponent(id))",
        serde_json::to_string(&ids).unwrap()
    );
    let output = std::process::Command::new(node)
        .args(["-e", &script])
        .output()
        .unwrap();
    assert!(output.status.success());
    let encoded = String::from_utf8(output.stdout).unwrap();
    let app = Router::new().route(
        "/",
        get(|LastEventIdOrQuery(id): LastEventIdOrQuery| async move { id.unwrap_or_default() }),
    );
    for (id, encoded) in ids.iter().zip(encoded.lines()) {
        let uri = format!("/?topic=a&lastEventId={encoded}");
        let got = body_bytes(app.clone().oneshot(request(&uri)).await.unwrap()).await;
        assert_eq!(got, *id, "sent as {encoded}");
    }
}
