//! What the examples of sse-axum and sse-warp share: the progress demo's
//! job ([`Jobs`]) and page ([`PROGRESS_PAGE`]), and the server with hyper's
//! limits they run on ([`server`], which is `sse_axum::serve`). Not published: each example depends on it,
//! so that both build and package from their own dependencies.
//!
//! It also hosts the workspace README's examples as doctests, where all
//! their dependencies are at hand.

mod jobs;
/// The server the examples run on: `sse_axum::serve`, for both adapters'
/// examples (it serves any tower service).
pub mod server {
    pub use sse_axum::serve::{serve, Limits, Stopped};
}

pub use crate::jobs::{Jobs, HISTORY};

/// The progress demo's page: the job's progress, resumed after a
/// reconnection.
pub const PROGRESS_PAGE: &str = include_str!("progress.html");

/// The workspace README's examples (of every crate), compiled and run as
/// doctests here.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
