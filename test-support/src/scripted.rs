//! A raw HTTP/1.1 server on 127.0.0.1 that answers each connection with the
//! next step of a script and records every request: for testing clients'
//! reconnection (closed streams, dropped connections, bad statuses, 204).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the server does with one connection.
#[derive(Clone, Debug)]
pub enum Step {
    /// 200 with `Content-Type: text/event-stream`, this body, then close.
    Stream(&'static str),
    /// 200 with `Content-Type: text/event-stream` and this body, then
    /// silence with the connection open (a dead peer) for 10 s.
    Hold(&'static str),
    /// Close the connection without answering (a network failure).
    Drop,
    /// Read the request and never answer, with the connection open for 10 s
    /// (a hung peer).
    Silent,
    /// This response, as it is (status line, headers, body), then close.
    Raw(&'static str),
    /// 200 with `Content-Encoding: gzip`: each event compressed and flushed
    /// on its own (a sync flush), 300 ms apart, then close.
    Gzip(&'static [&'static str]),
    /// Answer with this status and no body.
    Status(u16),
    /// 200 with this `Content-Type` and a short body.
    ContentType(&'static str),
}

/// One request as the server read it.
#[derive(Clone, Debug)]
pub struct Request {
    /// When it arrived.
    pub at: Instant,
    /// The request line's method.
    pub method: String,
    /// The headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (by `Content-Length`).
    pub body: String,
}

impl Request {
    /// The value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Serves `script`, one step per connection (the last step repeats), and
/// returns its URL and the requests it records.
pub async fn serve(script: Vec<Step>) -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&requests);
    tokio::spawn(async move {
        for n in 0.. {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let Some(request) = read_request(&mut socket).await else {
                continue;
            };
            recorded.lock().unwrap().push(request);
            let step = script[n.min(script.len() - 1)].clone();
            let response = match step {
                Step::Drop => continue,
                Step::Gzip(events) => {
                    tokio::spawn(write_gzip(socket, events));
                    continue;
                }
                Step::Silent => {
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_secs(10)).await;
                        drop(socket);
                    });
                    continue;
                }
                Step::Hold(body) => {
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
                    let _ = socket.write_all(format!("{head}{body}").as_bytes()).await;
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_secs(10)).await;
                        drop(socket);
                    });
                    continue;
                }
                Step::Stream(body) => format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n{body}"
                ),
                Step::Raw(response) => response.to_owned(),
                Step::Status(code) => {
                    format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                }
                Step::ContentType(ct) => format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: {ct}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi"
                ),
            };
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (url, requests)
}

/// Writes `events` gzip-compressed, each flushed as it is written, 300 ms
/// apart: a compressing server that still streams.
async fn write_gzip(mut socket: tokio::net::TcpStream, events: &'static [&'static str]) {
    use std::io::Write;
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: gzip\r\nconnection: close\r\n\r\n";
    if socket.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for event in events {
        encoder.write_all(event.as_bytes()).unwrap();
        encoder.flush().unwrap();
        let ready = std::mem::take(encoder.get_mut());
        if socket.write_all(&ready).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let rest = encoder.finish().unwrap();
    let _ = socket.write_all(&rest).await;
    let _ = socket.shutdown().await;
}

/// Reads one request's head and body, within 5 s.
async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Request> {
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let n = socket.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let method = lines.next()?.split(' ').next()?.to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = buf[head_end + 4..].to_vec();
        while body.len() < length {
            let n = socket.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        Some(Request {
            at: Instant::now(),
            method,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()?
}
