//! The progress demo's warp server, shared by `main.rs` and the tests. The
//! job, its events and the page are the axum example's, from the `demo`
//! crate (one demo, two frameworks).

use tokio_util::sync::CancellationToken;
use warp::{Filter, Reply};

pub(crate) use demo::Jobs;

const PAGE: &str = demo::PROGRESS_PAGE;

/// `GET /` serves the page; `GET /events` the event stream, resuming after
/// `Last-Event-ID` (header, or `?lastEventId=` for polyfills).
pub(crate) fn routes(
    jobs: Jobs,
    shutdown: CancellationToken,
) -> impl Filter<Extract = (impl Reply,), Error = warp::Rejection> + Clone {
    let page = warp::path::end().map(|| warp::reply::html(PAGE));
    let events = warp::path("events")
        .and(warp::path::end())
        .and(sse_warp::last_event_id_or_query())
        .then(move |last: Option<String>| {
            let (jobs, shutdown) = (jobs.clone(), shutdown.clone());
            async move {
                sse_warp::reply(jobs.subscribe(last.as_deref()).await)
                    .keep_alive(sse_warp::KeepAlive::new())
                    .until(shutdown.cancelled_owned())
            }
        });
    warp::get().and(page.or(events))
}
