//! `sse serve` out of file descriptors: it does not spin on `accept` (the
//! fault: a failed accept retried at once burned a whole core), says so in
//! one line per episode, and accepts again as soon as descriptors are free.
//!
//! The server runs under `prlimit --nofile=64` (util-linux); 120 clients
//! hold streams open, so most wait in the listen backlog while `accept`
//! fails with EMFILE.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt};

mod support;
use support::{open_stream, SSE};

/// The CPU time (user + system) process `pid` used so far, from `/proc`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses): utime and
    // stime are the 12th and 13th, in clock ticks.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let per_second = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse::<u64>().ok())
        .unwrap_or(100);
    Duration::from_millis(ticks * 1000 / per_second)
}

type Lines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>;

/// The next line on the server's stderr, within 10 s.
async fn next_line(stderr: &mut Lines) -> String {
    tokio::time::timeout(Duration::from_secs(10), stderr.next_line())
        .await
        .expect("a line on stderr within 10 s")
        .unwrap()
        .expect("stderr open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_descriptors_it_backs_off_logs_once_and_accepts_again() {
    if std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "prlimit (util-linux) is missing under CI"
        );
        eprintln!("SKIPPED: prlimit (util-linux) is not installed");
        return;
    }
    let mut server = tokio::process::Command::new("prlimit")
        .args([
            "--nofile=64:64",
            "--",
            SSE,
            "serve",
            "--addr",
            "127.0.0.1:0",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = server.id().unwrap();
    let mut stderr = tokio::io::BufReader::new(server.stderr.take().unwrap()).lines();
    let banner = next_line(&mut stderr).await;
    let addr = banner
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .unwrap()
        .trim_end_matches('/')
        .to_owned();

    let mut clients = Vec::new();
    for _ in 0..120 {
        clients.push(open_stream(&addr).await);
    }
    // The episode starts: one line.
    let line = next_line(&mut stderr).await;
    assert!(line.contains("accept failed"), "{line}");

    // While it lasts, the server waits instead of retrying at once: over
    // 2 s, a busy loop costs about 2 s of CPU; backing off, a few ms.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = cpu_time(pid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_time(pid) - before;
    println!("CPU used in 2 s while out of descriptors: {used:?}");
    assert!(
        used < Duration::from_millis(500),
        "spinning: {used:?} of CPU in 2 s"
    );

    // Descriptors come free: it accepts again (the queued clients first,
    // which have gone away, then a new one) and says so once.
    drop(clients);
    let line = next_line(&mut stderr).await;
    assert!(line.contains("accepting connections again"), "{line}");
    let mut client = open_stream(&addr).await;
    let mut head = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(10), client.read_exact(&mut head))
        .await
        .expect("a new client is answered within 10 s")
        .unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let _ = server.kill().await;
}
