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

/// A server that this benchmark binary runs in a child process
/// (`--serve KIND`), so that its memory and CPU are its own; it prints
/// `port N` first. Killed when dropped.
#[derive(Debug)]
pub struct ChildServer {
    /// The process.
    pub child: tokio::process::Child,
    /// Its pid, for [`rss`].
    pub pid: u32,
    /// `http://127.0.0.1:N`.
    pub base: String,
    /// The rest of its output, kept open so that it can go on printing.
    pub stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl ChildServer {
    /// Starts this binary with `--serve kind` and reads the port it
    /// listens on.
    ///
    /// # Panics
    ///
    /// If it cannot start, or says no port.
    pub async fn start(kind: &str) -> ChildServer {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args(["--serve", kind])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let port_line = stdout.next_line().await.unwrap().unwrap();
        let base = format!("http://127.0.0.1:{}", port_line.trim_start_matches("port "));
        ChildServer {
            child,
            pid,
            base,
            stdout,
        }
    }
}
