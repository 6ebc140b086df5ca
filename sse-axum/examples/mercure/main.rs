//! A Mercure hub inside an application: `cargo run -p sse-axum --features
//! mercure --example mercure`, then open <http://127.0.0.1:3000/> and
//! change a price with `curl -X POST http://127.0.0.1:3000/books/1/price/12`.
//! `PORT` sets the port; `MERCURE_PUBLISHER_JWT_KEY` the key other
//! backends sign their publishing tokens with.

mod app;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = demo::port();
    let key = std::env::var("MERCURE_PUBLISHER_JWT_KEY")
        .unwrap_or_else(|_| "!ChangeThisMercureHubJWTSecretKey!".to_owned());
    let hub_url = url::Url::parse(&format!("http://127.0.0.1:{port}/.well-known/mercure"))
        .expect("a valid URL");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("books on http://127.0.0.1:{port}/, hub at {hub_url}");
    axum::serve(listener, app::app(hub_url, key.as_bytes())).await
}
