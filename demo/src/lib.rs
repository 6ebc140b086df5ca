//! What the examples of sse-axum and sse-warp share: the progress demo's
//! job ([`Jobs`]) and page ([`PROGRESS_PAGE`]), and the port they listen on
//! ([`port`]).
//! Not published: each example depends on it and on `sse-serve` (the
//! server with hyper's limits that they run on), so that both adapters'
//! examples build from their own dependencies.

mod jobs;

pub use crate::jobs::{Jobs, HISTORY};

/// The progress demo's page: the job's progress, resumed after a
/// reconnection.
pub const PROGRESS_PAGE: &str = include_str!("progress.html");

/// The port an example listens on: `PORT`, or 3000.
pub fn port() -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000)
}
