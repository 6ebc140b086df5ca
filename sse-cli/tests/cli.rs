//! The `sse` binary itself, run as a user runs it. Expected outputs are
//! written from the HTML standard's rules, not from the implementation.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use futures_util::StreamExt;
use test_support::scripted::{serve, Step};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

mod support;
use support::{spawn, start_serve, stderr_line_with};

/// Writes `contents` to a fresh file in the temp dir.
fn file(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sse-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Runs `sse args...` with `stdin`, within 20 s.
async fn sse(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = spawn(args);
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).await.unwrap();
    drop(input);
    tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("sse finishes within 20 s")
        .unwrap()
}

fn stdout(output: &Output) -> &str {
    std::str::from_utf8(&output.stdout).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// BOM, CRLF, a comment, retry, multi-line data, the id persisting and being
/// reset, a bogus retry and an unterminated event.
const STREAM: &[u8] = b"\xEF\xBB\xBF: hello\r\nretry: 2500\r\nevent: greeting\r\nid: 7\r\ndata: first\r\ndata:  second\r\n\r\ndata: no id field here\n\nretry: soon\nid\ndata: id reset\n\ndata: unterminated";

const DECODED: &str = r#"{"retry":2500}
{"type":"greeting","data":"first\n second","lastEventId":"7"}
{"type":"message","data":"no id field here","lastEventId":"7"}
{"type":"message","data":"id reset","lastEventId":""}
"#;

#[tokio::test]
async fn decode_a_file_and_stdin() {
    let path = file("stream.sse", STREAM);
    let output = sse(&["decode", path.to_str().unwrap()], b"").await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), DECODED);

    let output = sse(&["decode", "--comments"], STREAM).await;
    assert!(output.status.success());
    assert_eq!(
        stdout(&output),
        format!("{{\"comment\":\" hello\"}}\n{DECODED}")
    );
}

#[tokio::test]
async fn decode_skips_oversized_events_and_reports_io_errors() {
    let output = sse(
        &["decode", "--max-event-size", "20"],
        b"data: this event is far too long\n\ndata: ok\n\n",
    )
    .await;
    assert!(output.status.success());
    assert_eq!(
        stdout(&output),
        "{\"type\":\"message\",\"data\":\"ok\",\"lastEventId\":\"\"}\n"
    );
    assert!(
        stderr(&output).contains("larger than 20 bytes"),
        "{}",
        stderr(&output)
    );

    let output = sse(&["decode", "/nonexistent/stream.sse"], b"").await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with("sse decode: /nonexistent/stream.sse: "),
        "{}",
        stderr(&output)
    );
    let output = sse(&["decode", "--max-event-size", "lots"], b"").await;
    assert_eq!(output.status.code(), Some(2), "usage error");
}

const JSON_LINES: &str = r#"{"data":"hello"}
{"event":"update","id":"1","data":"line one\nline two"}
{"retry":5000}
{"comment":"keep alive"}
{"data":{"n":1}}
{"event":"bad\nevent","data":"x"}
{"id":"a\u0000b","data":"x"}
{"data":"x","colour":"red"}
not json

{"data":"after errors"}
"#;

const ENCODED: &str = "data: hello\n\nevent: update\nid: 1\ndata: line one\ndata: line two\n\nretry: 5000\n\n:keep alive\ndata: {\"n\":1}\n\ndata: after errors\n\n";

#[tokio::test]
async fn encode_refuses_unsafe_lines_by_number_and_writes_nothing_of_them() {
    let path = file("events.jsonl", JSON_LINES.as_bytes());
    let output = sse(&["encode", path.to_str().unwrap()], b"").await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), ENCODED);
    let errors = stderr(&output);
    for line in 6..=9 {
        assert!(
            errors.contains(&format!("line {line}: ")),
            "line {line} in {errors}"
        );
    }
    assert!(
        !errors.contains("line 10") && !errors.contains("line 11"),
        "{errors}"
    );
    assert_eq!(errors.matches(": line ").count(), 4, "{errors}");
    assert!(
        errors.contains("line 8: unknown field `colour`"),
        "{errors}"
    );

    let output = sse(&["encode"], b"{\"data\":\"ok\"}\n").await;
    assert!(output.status.success());
    assert_eq!(stdout(&output), "data: ok\n\n");
}

#[tokio::test]
async fn encode_then_decode_gives_back_the_events() {
    let valid: String = JSON_LINES
        .lines()
        .filter(|l| !l.is_empty())
        .take(5)
        .chain(["{\"data\":\"after errors\"}"])
        .map(|l| format!("{l}\n"))
        .collect();
    let encoded = sse(&["encode"], valid.as_bytes()).await;
    assert!(encoded.status.success(), "{}", stderr(&encoded));
    let decoded = sse(&["decode"], &encoded.stdout).await;
    assert!(decoded.status.success());
    // The id persists to later events, as in a browser.
    assert_eq!(
        stdout(&decoded),
        r#"{"type":"message","data":"hello","lastEventId":""}
{"type":"update","data":"line one\nline two","lastEventId":"1"}
{"retry":5000}
{"type":"message","data":"{\"n\":1}","lastEventId":"1"}
{"type":"message","data":"after errors","lastEventId":"1"}
"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_reconnects_with_last_event_id_and_custom_headers_until_204() {
    let (url, recorded) = serve(vec![
        Step::Stream("retry: 100\nid: 1\ndata: a\n\n"),
        Step::Stream("id: 2\nevent: e\ndata: b\n\n"),
        Step::Status(204),
    ])
    .await;
    let args = [
        "listen",
        &url,
        "-H",
        "Authorization: Bearer t0ken",
        "-X",
        "POST",
        "-d",
        "{\"q\":1}",
        "--json",
        // A POST is sent again only when asked (sse-client's default).
        "--resend",
    ];
    let output = sse(&args, b"").await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "{\"retry\":100}\n{\"type\":\"message\",\"data\":\"a\",\"lastEventId\":\"1\"}\n{\"type\":\"e\",\"data\":\"b\",\"lastEventId\":\"2\"}\n"
    );
    let requests = recorded.lock().unwrap().clone();
    assert_eq!(requests.len(), 3);
    let ids: Vec<_> = requests.iter().map(|r| r.header("last-event-id")).collect();
    assert_eq!(ids, [None, Some("1"), Some("2")]);
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.header("authorization"), Some("Bearer t0ken"));
        assert_eq!(request.body, "{\"q\":1}");
    }
    // The server's retry (100 ms) replaced the 3 s default.
    assert!(requests[1].at - requests[0].at < Duration::from_secs(2));

    // Without --resend, the POST is sent once: its stream ended after an
    // event, and that is the end (exit status 0).
    let (url, recorded) = serve(vec![
        Step::Stream("retry: 100\nid: 1\ndata: a\n\n"),
        Step::Stream("id: 2\nevent: e\ndata: b\n\n"),
    ])
    .await;
    let once = ["listen", &url, "-X", "POST", "-d", "{}", "--json"];
    let output = sse(&once, b"").await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "{\"retry\":100}\n{\"type\":\"message\",\"data\":\"a\",\"lastEventId\":\"1\"}\n"
    );
    assert_eq!(recorded.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_fails_clearly_on_a_bad_status_or_content_type() {
    let (url, _) = serve(vec![Step::Status(401)]).await;
    let output = sse(&["listen", &url], b"").await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("unexpected HTTP status 401"),
        "{}",
        stderr(&output)
    );

    let (url, _) = serve(vec![Step::ContentType("application/json")]).await;
    let output = sse(&["listen", &url], b"").await;
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("unexpected content type application/json"));

    let (url, recorded) = serve(vec![Step::Stream("retry: 10\ndata: x\n\n")]).await;
    let output = sse(&["listen", &url, "--max-reconnects", "2"], b"").await;
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("gave up after 2 reconnections"));
    assert_eq!(recorded.lock().unwrap().len(), 3);
    // The readable format.
    assert_eq!(stdout(&output), "(retry: 10 ms)\nmessage: x\n".repeat(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_stops_at_the_timeout() {
    let (url, _) = serve(vec![Step::Stream("data: x\n\n")]).await;
    let output = sse(&["listen", &url, "--timeout", "0.5"], b"").await;
    assert!(output.status.success());
    assert!(stderr(&output).contains("--timeout"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_broadcasts_stdin_to_two_clients_with_replay() {
    let (mut child, url, mut stderr) = start_serve(&[]).await;
    let mut stdin = child.stdin.take().unwrap();

    let mut a = test_support::connect(&url, None).await;
    let mut b = test_support::connect(&url, None).await;
    stdin.write_all(b"{\"data\":\"one\"}\n{\"event\":\"e\",\"data\":\"two\"}\nnot json\n{\"data\":\"three\"}\n").await.unwrap();
    stdin.flush().await.unwrap();
    for client in [&mut a, &mut b] {
        let got = next_events(client, 3).await;
        assert_eq!(
            got,
            [
                ("1", "message", "one"),
                ("2", "e", "two"),
                ("3", "message", "three")
            ]
            .map(owned)
        );
    }
    let warning = tokio::time::timeout(Duration::from_secs(10), stderr.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(warning.contains("line 3"), "{warning}");

    // A disconnects; two more events; A comes back with its last id.
    drop(a);
    stdin
        .write_all(b"{\"data\":\"four\"}\n{\"data\":\"five\"}\n")
        .await
        .unwrap();
    stdin.flush().await.unwrap();
    assert_eq!(
        next_events(&mut b, 2).await,
        [("4", "message", "four"), ("5", "message", "five")].map(owned)
    );
    let mut a = test_support::connect(&url, Some("3")).await;
    assert_eq!(
        next_events(&mut a, 2).await,
        [("4", "message", "four"), ("5", "message", "five")].map(owned)
    );
    child.kill().await.unwrap();
}

fn owned((id, event_type, data): (&str, &str, &str)) -> (String, String, String) {
    (id.to_owned(), event_type.to_owned(), data.to_owned())
}

async fn next_events(events: &mut test_support::Events, n: usize) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        out.push(owned((
            event.id().unwrap(),
            event.event_type(),
            event.data(),
        )));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_to_serve() {
    let (mut server, url, _server_err) = start_serve(&[]).await;

    let mut listener = spawn(&["listen", &url, "--json", "--timeout", "3"]);
    let mut listener_err = tokio::io::BufReader::new(listener.stderr.take().unwrap()).lines();
    let connected = tokio::time::timeout(Duration::from_secs(10), listener_err.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(connected.contains("connected to"), "{connected}");

    let mut stdin = server.stdin.take().unwrap();
    stdin.write_all(b"{\"event\":\"greet\",\"data\":\"hello\\nworld\"}\n{\"id\":\"x-1\",\"data\":\"given id\"}\n").await.unwrap();
    stdin.flush().await.unwrap();
    let output = tokio::time::timeout(Duration::from_secs(10), listener.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        stdout(&output),
        "{\"type\":\"greet\",\"data\":\"hello\\nworld\",\"lastEventId\":\"1\"}\n{\"type\":\"message\",\"data\":\"given id\",\"lastEventId\":\"x-1\"}\n"
    );
    server.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_shows_browsers_a_page_replays_history_and_allows_origins() {
    let (mut server, url, _stderr) =
        start_serve(&["--replay-history", "--allow-origin", "https://app.example"]).await;
    let mut stdin = server.stdin.take().unwrap();
    stdin
        .write_all(b"{\"data\":\"before anyone came\"}\n")
        .await
        .unwrap();
    stdin.flush().await.unwrap();
    let http = reqwest::Client::new();

    // A browser navigating to the URL gets the viewer page.
    let page = http
        .get(&url)
        .header("accept", "text/html,*/*")
        .send()
        .await
        .unwrap();
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("new EventSource(location.pathname)"));

    // EventSource from the allowed origin: the stream, CORS-allowed, with
    // the history first (--replay-history).
    let response = http
        .get(&url)
        .header("accept", "text/event-stream")
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let mut events = test_support::events(response);
    let first = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.id(), first.data()),
        (Some("1"), "before anyone came")
    );

    // Another origin is not allowed.
    let other = http
        .get(&url)
        .header("accept", "text/event-stream")
        .header("origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    server.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serves_on_one_redis_are_one_hub() {
    let Some(mut redis) = test_support::servers::RedisServer::start() else {
        return;
    };
    let url_arg = redis.url();
    let redis_args = ["--redis", url_arg.as_str(), "--history", "100"];
    let (mut one, url_one, mut err_one) = start_serve(&redis_args).await;
    let (mut two, url_two, _err_two) = start_serve(&redis_args).await;
    let mut stdin_one = one.stdin.take().unwrap();
    let mut stdin_two = two.stdin.take().unwrap();

    // Clients of both; lines piped into either reach both.
    let mut on_one = test_support::connect(&url_one, None).await;
    let mut on_two = test_support::connect(&url_two, None).await;
    stdin_one.write_all(b"{\"data\":\"one\"}\n").await.unwrap();
    stdin_one.flush().await.unwrap();
    let first = next_events(&mut on_two, 1).await;
    stdin_two.write_all(b"{\"data\":\"two\"}\n").await.unwrap();
    stdin_two.flush().await.unwrap();
    let got = [
        next_events(&mut on_one, 2).await,
        next_events(&mut on_two, 1).await,
    ];
    assert_eq!(got[0][1], got[1][0]);
    assert_eq!(got[0][0], first[0]);
    let (epoch, seq) = first[0].0.split_once('-').expect("<epoch>-<seq> ids");
    assert_eq!(seq, "1");
    assert_eq!(got[1][0].0, format!("{epoch}-2"));

    // A client of `one` goes away after event 1 and resumes on `two`.
    drop(on_one);
    stdin_one
        .write_all(b"{\"data\":\"three\"}\n{\"id\":\"mine\",\"data\":\"refused\"}\n")
        .await
        .unwrap();
    stdin_one.flush().await.unwrap();
    // An event with its own id cannot be published on Redis: said, by line.
    let said = stderr_line_with(&mut err_one, "line 3").await;
    assert!(said.contains("id"), "{said}");
    let mut resumed = test_support::connect(&url_two, Some(&first[0].0)).await;
    let replayed = next_events(&mut resumed, 2).await;
    assert_eq!(
        replayed.iter().map(|e| e.2.as_str()).collect::<Vec<_>>(),
        ["two", "three"]
    );

    // Redis down: a new client gets 503 at once; a line cannot be
    // published and is reported.
    redis.kill();
    let start = std::time::Instant::now();
    loop {
        let response = tokio::time::timeout(Duration::from_secs(5), reqwest::get(url_two.as_str()))
            .await
            .expect("an answer, not a hang")
            .unwrap();
        if response.status() == 503 {
            break;
        }
        // The instance notices the lost connection within moments.
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{}",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stdin_one.write_all(b"{\"data\":\"four\"}\n").await.unwrap();
    stdin_one.flush().await.unwrap();
    let said = stderr_line_with(&mut err_one, "line 4").await;
    assert!(said.contains("redis"), "{said}");
    one.kill().await.unwrap();
    two.kill().await.unwrap();
}
