//! `sse doctor` against real servers: our own (`sse serve`), the same
//! behind a real nginx with the plain `proxy_pass` configuration people
//! write, and a server that does not send `X-Accel-Buffering: no` behind
//! nginx's default buffering. nginx is Debian's, started by each test on a
//! free port (`.ci/run` installs it).

use std::process::Stdio;
use std::time::Duration;

use axum::response::sse::{Event, Sse};
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, StreamExt};
use test_support::servers::Nginx;
use tokio::io::AsyncWriteExt;

mod support;
use support::{start_serve, SSE};

/// Runs `sse doctor URL --duration 2`: its exit code and output.
async fn doctor(url: &str) -> (i32, String) {
    let output = tokio::process::Command::new(SSE)
        .args(["doctor", url, "--duration", "2"])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.code().unwrap(), out)
}

/// `sse serve`, fed an event every 100 ms, for 20 s at most.
async fn our_server() -> (tokio::process::Child, String) {
    let (mut child, url, _stderr) = start_serve(&[]).await;
    let mut stdin = child.stdin.take().unwrap();
    tokio::spawn(async move {
        for n in 0..200 {
            let line = format!("{{\"data\":\"tick {n}\"}}\n");
            if stdin.write_all(line.as_bytes()).await.is_err() {
                return;
            }
            let _ = stdin.flush().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    (child, url)
}

/// The plain reverse proxy of the seeds: no buffering settings at all.
const PLAIN_PROXY: &str = "daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events { worker_connections 64; }
http {
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {
        listen 127.0.0.1:{port};
        location / { proxy_pass http://{upstream}; }
    }
}
";

fn upstream_of(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_server_has_no_problem() {
    let (mut server, url) = our_server().await;
    let (code, out) = doctor(&url).await;
    assert_eq!(code, 0, "{out}");
    for line in [
        "ok       buffering",
        "ok       x-accel",
        "ok       cache",
        "ok       resume",
    ] {
        assert!(out.contains(line), "{line:?} in:\n{out}");
    }
    server.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_server_behind_plain_nginx_has_no_problem() {
    let (mut server, url) = our_server().await;
    let config = PLAIN_PROXY.replace("{upstream}", &upstream_of(&url));
    let Some(nginx) = Nginx::start(&config, |_| {}) else {
        return;
    };
    let (code, out) = doctor(&format!("http://127.0.0.1:{}/", nginx.port())).await;
    // Our X-Accel-Buffering: no works: nginx passes each event on at once
    // (and removes the header, which the x-accel line says).
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok       buffering"), "{out}");
    server.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_x_accel_buffering_behind_nginx_is_reported_buffered() {
    // axum's own Sse, small events every 100 ms, no X-Accel-Buffering.
    let app = Router::new().route(
        "/",
        get(|| async {
            let ticks = stream::iter(0..).then(|n| async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok::<_, std::convert::Infallible>(Event::default().id(n.to_string()).data("tick"))
            });
            Sse::new(ticks)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // Unbuffered, it is fine...
    let (code, out) = doctor(&format!("http://{upstream}/")).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning  x-accel"), "{out}");

    let config = PLAIN_PROXY.replace("{upstream}", &upstream);
    let Some(nginx) = Nginx::start(&config, |_| {}) else {
        return;
    };
    // ... behind nginx's default buffering, it is not: exit status 1.
    let (code, out) = doctor(&format!("http://127.0.0.1:{}/", nginx.port())).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("problem  response") || out.contains("problem  buffering"),
        "{out}"
    );
    assert!(
        out.contains("proxy_buffering off"),
        "the fix is named:\n{out}"
    );
}

#[tokio::test]
async fn a_usage_error_exits_with_2() {
    let output = tokio::process::Command::new(SSE)
        .args(["doctor"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// The progress example (built by `cargo test --workspace` beside the
/// binaries) on a free port: the process and its address; `None` (said
/// loudly) when it is not built, outside CI.
fn progress_example() -> Option<(test_support::servers::ChildGuard, std::net::SocketAddr)> {
    let example = std::path::Path::new(SSE)
        .parent()
        .unwrap()
        .join("examples/progress");
    if !example.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI builds the progress example: run cargo test --workspace"
        );
        eprintln!(
            "SKIPPED: {} not built (cargo test --workspace builds it)",
            example.display()
        );
        return None;
    }
    let port = test_support::servers::free_port();
    let child = std::process::Command::new(&example)
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = test_support::servers::ChildGuard::new(child);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    test_support::servers::wait_for_port(addr, Duration::from_secs(10));
    Some((server, addr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_progress_example_has_no_problem_alone_and_behind_plain_nginx() {
    let Some((_server, addr)) = progress_example() else {
        return;
    };
    let (code, out) = doctor(&format!("http://{addr}/events")).await;
    assert_eq!(code, 0, "{out}");
    for line in ["ok       buffering", "ok       ids", "ok       resume"] {
        assert!(out.contains(line), "{line:?} in:\n{out}");
    }
    // Behind the plain proxy_pass of the seeds: its X-Accel-Buffering: no
    // is enough.
    let config = PLAIN_PROXY.replace("{upstream}", &addr.to_string());
    let Some(nginx) = Nginx::start(&config, |_| {}) else {
        return;
    };
    let (code, out) = doctor(&format!("http://127.0.0.1:{}/events", nginx.port())).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok       buffering"), "{out}");
}
