//! In a real browser: headless Chromium opens a page whose `EventSource`
//! reads named events, multi-line data and ids from an `Sse` response; the
//! server then closes the stream, the browser reconnects with
//! `Last-Event-ID`, and gets exactly the events it missed. The page POSTs
//! what it received back to the test server.
//!
//! Needs Debian's `chromium` (`.ci/run` installs it). Without it the test
//! fails under CI (`CI` set) and is skipped, loudly, elsewhere.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::Html;
use axum::routing::{get, post};
use axum::Router;
use futures_util::stream::{self, StreamExt};
use sse_axum::{Frame, LastEventId, Sse};
use sse_codec::Event;
use test_support::servers::{chromium_or_skip, Browser};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[path = "../examples/progress/app.rs"]
#[allow(dead_code)]
mod app;

#[path = "../examples/cors/app.rs"]
mod cors_app;

/// A page whose `EventSource` records the first five events of the given
/// types and POSTs them to `/report`.
fn page(event_types: &[&str]) -> Html<String> {
    let listeners: String = event_types
        .iter()
        .map(|t| format!("  source.addEventListener('{t}', record);\n"))
        .collect();
    Html(format!(
        r#"<!doctype html>
<meta charset="utf-8">
<title>sse-axum browser test</title>
<script>
  const got = [];
  const source = new EventSource('/events');
  function record(e) {{
    got.push({{ type: e.type, data: e.data, id: e.lastEventId }});
    if (got.length === 5) {{
      source.close();
      fetch('/report', {{ method: 'POST', body: JSON.stringify(got) }});
    }}
  }}
{listeners}</script>
"#
    ))
}

#[derive(Clone)]
struct Shared {
    /// The `Last-Event-ID` of each connection to /events, in order.
    connections: Arc<Mutex<Vec<Option<String>>>>,
}

fn event(event_type: Option<&str>, id: u32, data: &str) -> Frame {
    let mut b = Event::builder().id(id.to_string()).data(data);
    if let Some(t) = event_type {
        b = b.event_type(t);
    }
    Frame::Event(b.build().unwrap())
}

/// The history every connection replays from.
fn history() -> Vec<Frame> {
    vec![
        event(Some("progress"), 1, "line 1\nline 2"),
        event(None, 2, "two"),
        event(Some("progress"), 3, "three"),
        event(None, 4, "four"),
        event(None, 5, "five"),
    ]
}

async fn events(
    State(shared): State<Shared>,
    LastEventId(last): LastEventId,
) -> Sse<impl futures_util::Stream<Item = Frame>> {
    let first = {
        let mut connections = shared.connections.lock().unwrap();
        connections.push(last.clone());
        connections.len() == 1
    };
    let after: usize = last.and_then(|id| id.parse().ok()).unwrap_or(0);
    let mut frames = vec![Frame::Retry(Duration::from_millis(100))];
    if first {
        // The first connection gets three events, then the server closes it.
        frames.extend(history().into_iter().take(3));
        Sse::new(stream::iter(frames).boxed())
    } else {
        frames.extend(history().into_iter().skip(after));
        Sse::new(stream::iter(frames).chain(stream::pending()).boxed())
    }
}

/// `POST /report`: what the test page received, passed on to the test.
fn report_route(report: mpsc::Sender<String>) -> Router {
    Router::new().route(
        "/report",
        post(move |body: String| async move {
            let _ = report.send(body).await;
        }),
    )
}

/// Serves `app` on 127.0.0.1 and returns its address.
async fn serve(app: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Checks the `(type, data, lastEventId)` of each event a page reported.
fn assert_reported(report: &str, expected: &[(&str, &str, &str)]) {
    let got: Vec<serde_json::Value> = serde_json::from_str(report).unwrap();
    let got: Vec<(&str, &str, &str)> = got
        .iter()
        .map(|e| {
            let field = |name: &str| e[name].as_str().unwrap();
            (field("type"), field("data"), field("id"))
        })
        .collect();
    assert_eq!(got, expected);
}

/// Opens `url` in headless Chromium and waits for the page's report.
async fn run_page(chromium: &Path, url: String, report: &mut mpsc::Receiver<String>) -> String {
    let _browser = Browser::open(chromium, &url);
    tokio::time::timeout(Duration::from_secs(60), report.recv())
        .await
        .expect("the page reported nothing within 60 s")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_event_source_receives_events_and_resumes_after_reconnect() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let (report_tx, mut report_rx) = mpsc::channel(1);
    let shared = Shared {
        connections: Arc::default(),
    };
    let app = Router::new()
        .route("/", get(|| async { page(&["progress", "message"]) }))
        .route("/events", get(events))
        .with_state(shared.clone())
        .merge(report_route(report_tx));
    let addr = serve(app).await;

    let report = run_page(&chromium, format!("http://{addr}/"), &mut report_rx).await;
    assert_reported(
        &report,
        &[
            ("progress", "line 1\nline 2", "1"),
            ("message", "two", "2"),
            ("progress", "three", "3"),
            // After the server closed the stream: reconnected, resumed.
            ("message", "four", "4"),
            ("message", "five", "5"),
        ],
    );
    let connections = shared.connections.lock().unwrap().clone();
    assert_eq!(
        connections,
        [None, Some("3".to_owned())],
        "Last-Event-ID per connection"
    );
}

/// Runs against the progress example's server: its page's `EventSource`
/// code path, named events, consecutive ids, then a resume with
/// `?lastEventId=` from the example's history.
const EXAMPLE_TEST_PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<script>
  const got = [];
  let source = new EventSource('/events');
  function record(e) {
    got.push({ type: e.type, id: e.lastEventId, data: e.data });
    if (got.length === 3) {
      // Leave, then come back resuming after the first event.
      source.close();
      source = new EventSource('/events?lastEventId=' + got[0].id);
      source.addEventListener('progress', record);
    } else if (got.length === 5) {
      source.close();
      fetch('/report', { method: 'POST', body: JSON.stringify(got) });
    }
  }
  source.addEventListener('progress', record);
</script>
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_against_the_progress_example() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let jobs = app::Jobs::new();
    tokio::spawn(jobs.clone().run(Duration::from_millis(20)));
    let (report_tx, mut report_rx) = mpsc::channel::<String>(1);
    let example = app::router(jobs, CancellationToken::new());
    let router = example
        .route("/test", get(|| async { Html(EXAMPLE_TEST_PAGE) }))
        .merge(report_route(report_tx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    // The example's own page is served.
    let page = reqwest_page(&format!("http://{addr}/")).await;
    assert!(page.contains("new EventSource('/events')"));

    let report = run_page(&chromium, format!("http://{addr}/test"), &mut report_rx).await;
    let got: Vec<serde_json::Value> = serde_json::from_str(&report).unwrap();
    let ids: Vec<u64> = got
        .iter()
        .map(|e| e["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(got.iter().all(|e| e["type"] == "progress"));
    let first = ids[0];
    // Three live events, then the resume replays from first + 1.
    assert_eq!(
        ids,
        [first, first + 1, first + 2, first + 1, first + 2],
        "{got:?}"
    );
    let data: serde_json::Value = serde_json::from_str(got[0]["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["batches"], 20);
}

async fn reqwest_page(url: &str) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

const CORS_TEST_PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<script>
  document.cookie = 'session=demo; path=/';
  const got = [];
  const source = new EventSource('EVENTS_URL', { withCredentials: true });
  source.onmessage = (e) => {
    got.push({ id: e.lastEventId, data: e.data });
    if (got.length === 2) {
      source.close();
      fetch('/report', { method: 'POST', body: JSON.stringify(got) });
    }
  };
</script>
"#;

/// The CORS example: a page on one origin reads events from another with
/// `withCredentials: true`, through tower-http's `CorsLayer`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_cross_origin_with_credentials() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let page_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let events_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page_origin = format!("http://{}", page_listener.local_addr().unwrap());
    let events_url = format!("http://{}/events", events_listener.local_addr().unwrap());

    let (report_tx, mut report_rx) = mpsc::channel::<String>(1);
    let test_page = CORS_TEST_PAGE.replace("EVENTS_URL", &events_url);
    let page = cors_app::page(&events_url)
        .route("/test", get(move || async move { Html(test_page) }))
        .merge(report_route(report_tx));
    let events = cors_app::events(&page_origin);
    tokio::spawn(async move { axum::serve(page_listener, page).await.unwrap() });
    tokio::spawn(async move { axum::serve(events_listener, events).await.unwrap() });

    let report = run_page(&chromium, format!("{page_origin}/test"), &mut report_rx).await;
    let got: Vec<serde_json::Value> = serde_json::from_str(&report).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["id"], "1");
    // The cookie travelled: the browser sent credentials, and accepted the
    // response because the origin and credentials were allowed.
    assert_eq!(got[0]["data"], "event 1, cookie: session=demo");
}

#[tokio::test]
async fn cors_headers_allow_one_origin_with_credentials() {
    use tower::ServiceExt;
    let app = cors_app::events("http://127.0.0.1:3000");
    let request = |origin: &str| {
        axum::http::Request::get("/events")
            .header("origin", origin)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let allowed = app
        .clone()
        .oneshot(request("http://127.0.0.1:3000"))
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://127.0.0.1:3000"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    assert_eq!(allowed.headers()["content-type"], "text/event-stream");
    // Another origin is told the one allowed origin, so its browser refuses
    // the response.
    let other = app.oneshot(request("http://evil.example")).await.unwrap();
    assert_eq!(
        other.headers()["access-control-allow-origin"],
        "http://127.0.0.1:3000"
    );
}

/// A server whose sse-hub restarts (loses its history), closing the open
/// streams: what the browser makes of the hub's reset event.
#[derive(Clone)]
struct Restarting {
    hub: Arc<Mutex<sse_hub::Hub>>,
    closing: Arc<Mutex<CancellationToken>>,
    connections: Arc<Mutex<Vec<Option<String>>>>,
}

impl Restarting {
    fn hub(&self) -> sse_hub::Hub {
        self.hub.lock().unwrap().clone()
    }

    /// Ends every open stream; the browser reconnects.
    fn close_streams(&self) {
        let mut closing = self.closing.lock().unwrap();
        closing.cancel();
        *closing = CancellationToken::new();
    }

    async fn wait_for_subscriber(&self) {
        for _ in 0..500 {
            if self.hub().stats().subscribers == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the browser did not connect within 5 s");
    }
}

async fn hub_events(
    State(server): State<Restarting>,
    LastEventId(last): LastEventId,
) -> Sse<impl futures_util::Stream<Item = sse_axum::EncodedFrame>> {
    server.connections.lock().unwrap().push(last.clone());
    let Ok(subscription) = server.hub().subscribe("c", last.as_deref()).await;
    let retry = sse_axum::EncodedFrame::from(Frame::Retry(Duration::from_millis(100)));
    let closing = server.closing.lock().unwrap().clone();
    Sse::new(stream::iter([retry]).chain(subscription)).until(closing.cancelled_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_gets_the_hub_reset_after_a_restart_and_forgets_its_id() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let server = Restarting {
        hub: Arc::new(Mutex::new(sse_hub::Hub::new())),
        closing: Arc::default(),
        connections: Arc::default(),
    };
    let (report_tx, mut report_rx) = mpsc::channel(1);
    let app = Router::new()
        .route("/", get(|| async { page(&["message", "reset"]) }))
        .route("/events", get(hub_events))
        .with_state(server.clone())
        .merge(report_route(report_tx));
    let addr = serve(app).await;

    let script = {
        let server = server.clone();
        async move {
            server.wait_for_subscriber().await;
            for data in ["one", "two", "three"] {
                server.hub().publish("c", Event::new(data)).await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            // Restart: a new hub, without the old one's history.
            *server.hub.lock().unwrap() = sse_hub::Hub::new();
            server.close_streams();
            // The browser comes back with `Last-Event-ID: 3`, unknown here,
            // and gets the reset; then it is cut off once more.
            server.wait_for_subscriber().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            server.close_streams();
            tokio::time::sleep(Duration::from_millis(300)).await;
            server.wait_for_subscriber().await;
            server
                .hub()
                .publish("c", Event::new("after the restart"))
                .await
                .unwrap();
        }
    };
    let (report, ()) = tokio::join!(
        run_page(&chromium, format!("http://{addr}/"), &mut report_rx),
        script
    );
    assert_reported(
        &report,
        &[
            ("message", "one", "1"),
            ("message", "two", "2"),
            ("message", "three", "3"),
            // The reset's empty `id:` clears the browser's last event ID...
            ("reset", "", ""),
            ("message", "after the restart", "1"),
        ],
    );
    // ...so its next reconnection sends none.
    let connections = server.connections.lock().unwrap().clone();
    assert_eq!(connections, [None, Some("3".to_owned()), None]);
}
