//! The Mercure example (`examples/mercure`): the application's own
//! publishing and the hub's HTTP routes in one axum app, served for real.

#[path = "../examples/mercure/app.rs"]
mod app;

use futures_util::StreamExt;
use test_support::events;

#[tokio::test]
async fn the_apps_own_updates_and_a_backends_reach_a_subscriber_of_the_merged_hub() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hub_url = url::Url::parse(&format!("{base}/.well-known/mercure")).unwrap();
    tokio::spawn(async move { axum::serve(listener, app::app(hub_url, b"key")).await });
    let client = reqwest::Client::new();

    let response = client
        .get(format!(
            "{base}/.well-known/mercure?matchURLPattern=/books/:id"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = events(response);
    // The application publishes through the library.
    let id = client
        .post(format!("{base}/books/7/price/12"))
        .send()
        .await
        .unwrap();
    assert_eq!(id.status(), 200);
    let id = id.text().await.unwrap();
    let event = stream.next().await.unwrap().unwrap();
    assert_eq!(event.id(), Some(id.as_str()));
    assert_eq!(event.data(), r#"{"id":7,"price":12}"#);
    // Another backend publishes over HTTP with a token (legacy claim,
    // HS256 `key`: header {"alg":"HS256","typ":"JWT"}, claims
    // {"mercure":{"publish":["*"]}}, signed with the Python standard library).
    let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtZXJjdXJlIjp7InB1Ymxpc2giOlsiKiJdfX0.";
    let signature = hmac_sha256_b64(b"key", token.trim_end_matches('.'));
    let response = client
        .post(format!("{base}/.well-known/mercure"))
        .bearer_auth(format!("{token}{signature}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("topic=%2Fbooks%2F8&data=from+another+backend")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let event = stream.next().await.unwrap().unwrap();
    assert_eq!(event.data(), "from another backend");
}

/// HMAC-SHA256 of `message` with `key`, base64url without padding, computed
/// by `python3` (a signer the hub shares no code with).
fn hmac_sha256_b64(key: &[u8], message: &str) -> String {
    let script = "import base64,hashlib,hmac,sys; k,m=sys.argv[1:3]; \
        print(base64.urlsafe_b64encode(hmac.new(k.encode(),m.encode(),hashlib.sha256).digest()).rstrip(b'=').decode())";
    let out = std::process::Command::new("python3")
        .args(["-c", script, std::str::from_utf8(key).unwrap(), message])
        .output()
        .expect("python3");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
