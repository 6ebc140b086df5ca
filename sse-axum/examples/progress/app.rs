//! The progress demo's axum server, shared by `main.rs` and the tests:
//! `GET /` serves the page, `GET /events` the event stream, resuming after
//! `Last-Event-ID` (header, or `?lastEventId=` for polyfills).

use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use sse_axum::{KeepAlive, LastEventIdOrQuery, Sse};
use sse_hub::Subscription;
use tokio_util::sync::CancellationToken;

pub(crate) use demo::Jobs;

#[derive(Clone)]
struct AppState {
    jobs: Jobs,
    shutdown: CancellationToken,
}

/// `GET /` serves the page; `GET /events` the event stream.
pub(crate) fn router(jobs: Jobs, shutdown: CancellationToken) -> Router {
    Router::new()
        .route("/", get(|| async { Html(demo::PROGRESS_PAGE) }))
        .route("/events", get(events))
        .with_state(AppState { jobs, shutdown })
}

async fn events(
    State(state): State<AppState>,
    LastEventIdOrQuery(last): LastEventIdOrQuery,
) -> Sse<Subscription> {
    Sse::new(state.jobs.subscribe(last.as_deref()).await)
        .keep_alive(KeepAlive::new())
        .until(state.shutdown.cancelled_owned())
}
