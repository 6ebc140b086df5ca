//! What the benchmarks that run their servers in child processes read of
//! them, and how they wait: the same in the fan-out, Mercure and idle
//! benchmarks.

use std::time::{Duration, Instant};

/// The resident set size of process `pid`, in bytes (Linux's
/// `/proc/<pid>/status`).
///
/// # Panics
///
/// Without that file (not Linux, or no such process).
pub fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Polls `done` every 10 ms until it holds (`true`) or `limit` passes
/// (`false`).
pub async fn wait_until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}
