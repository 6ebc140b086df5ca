//! Running `sse` as a child process, for the tests of the binary.
#![allow(dead_code)] // not every test binary uses every helper

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;

pub(crate) const SSE: &str = env!("CARGO_BIN_EXE_sse");

/// Starts `sse args...` with its standard streams piped.
pub(crate) fn spawn(args: &[&str]) -> tokio::process::Child {
    spawn_with_env(args, &[])
}

/// [`spawn`] with environment variables set for the child alone.
pub(crate) fn spawn_with_env(args: &[&str], env: &[(&str, &str)]) -> tokio::process::Child {
    tokio::process::Command::new(SSE)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

pub(crate) type Lines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>;

/// Starts `sse serve` on a free port: the process, its URL (from the first
/// line on stderr) and the rest of its stderr.
pub(crate) async fn start_serve(extra: &[&str]) -> (tokio::process::Child, String, Lines) {
    start("serve", extra).await
}

/// Starts `sse hub` on a free port: the process, the hub's URL
/// (`http://127.0.0.1:PORT/.well-known/mercure`) and the rest of its stderr.
pub(crate) async fn start_hub(extra: &[&str]) -> (tokio::process::Child, String, Lines) {
    start("hub", extra).await
}

/// Starts `sse <command> --addr 127.0.0.1:0 extra...`; the URL is the first
/// one on its first line on stderr.
async fn start(command: &str, extra: &[&str]) -> (tokio::process::Child, String, Lines) {
    start_with_env(command, extra, &[]).await
}

/// [`start`] with environment variables set for the child alone.
pub(crate) async fn start_with_env(
    command: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (tokio::process::Child, String, Lines) {
    let args: Vec<&str> = [command, "--addr", "127.0.0.1:0"]
        .iter()
        .chain(extra)
        .copied()
        .collect();
    let mut child = spawn_with_env(&args, env);
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let banner = tokio::time::timeout(Duration::from_secs(10), stderr.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    (child, url, stderr)
}

/// Reads `stderr` until a line contains `needle`, for at most 10 s.
pub(crate) async fn stderr_line_with(stderr: &mut Lines, needle: &str) -> String {
    loop {
        let line = tokio::time::timeout(Duration::from_secs(10), stderr.next_line())
            .await
            .unwrap_or_else(|_| panic!("no line with {needle:?} on stderr within 10 s"))
            .unwrap()
            .expect("stderr open");
        if line.contains(needle) {
            return line;
        }
    }
}

/// Opens an event stream on `addr` (`host:port`) over a raw socket and
/// keeps it unread; the request goes out whether or not the server has
/// accepted yet (the kernel queues it).
pub(crate) async fn open_stream(addr: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"GET / HTTP/1.1\r\nhost: test\r\naccept: text/event-stream\r\n\r\n")
        .await
        .unwrap();
    socket
}
