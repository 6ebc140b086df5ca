//! `sse hub`: a Mercure hub, on one node or several on Redis.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::Method;
use axum::response::Html;
use axum::routing::get;
use sse_axum::mercure::{Key, KeyAlgorithm, Mercure};
use sse_hub::backend::Backend;
use sse_hub::redis::RedisBackend;
use sse_hub::topics::TopicHub;
use sse_hub::Hub;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::serving::{serve_metrics, serve_until_signal, LimitArgs};
use crate::{fail, Failed};

/// Run a Mercure hub: backends in any language publish with a POST to
/// http://ADDR/.well-known/mercure, and pages subscribe to any number of
/// topics over one EventSource on the same URL (the Mercure protocol,
/// mercure.rocks; its clients ship in Symfony, API Platform and libraries
/// for most languages).
///
/// Publishers need a JWT signed with --publisher-jwt-key whose claims grant
/// publishing on the update's topics: a `mercure` claim
/// {"publish": ["*"]} (the legacy form), or RFC 9068 `authorization_details`
/// of type "mercure" (with the hub's URL as `aud`). Subscribers read public
/// updates with --anonymous, and private ones with a token signed with
/// --subscriber-jwt-key that grants `subscribe` on their topic, sent as a
/// Bearer header or in the mercureAuthorization cookie. A subscription
/// ends when its token expires.
///
/// With --redis, several `sse hub` processes on one Redis are one hub: an
/// update published to any of them reaches the subscribers of all, once,
/// in one order, and a subscriber resumes on any of them.
///
/// Every flag can also be set from the environment: MERCURE_PUBLISHER_JWT_KEY,
/// MERCURE_SUBSCRIBER_JWT_KEY, MERCURE_PUBLISHER_JWT_ALG and
/// MERCURE_SUBSCRIBER_JWT_ALG as Mercure names them, SSE_HUB_<FLAG> for the
/// rest (SSE_HUB_ADDR, SSE_HUB_REDIS, SSE_HUB_ANONYMOUS=true, ...).
///
/// Example: sse hub --publisher-jwt-key '!ChangeThisMercureHubJWTSecretKey!' --anonymous
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The address to listen on (port 0: any free port, printed on stderr).
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// The hub's public URL: the audience RFC 9068 tokens must name, the
    /// base of relative topics and patterns, and the namespace publishers
    /// may not write into. Default: http://ADDR/.well-known/mercure, and a
    /// token may then also name http://HOST/.well-known/mercure of the
    /// request's Host header as its audience.
    #[arg(long, value_name = "URL")]
    hub_url: Option<url::Url>,
    /// The key that verifies publishers' tokens: an HS256 secret, or with
    /// --jwt-algorithm RS256, ES256 or EdDSA a PEM public key; @FILE reads
    /// it from a file. Without it, nobody may publish.
    #[arg(
        long,
        value_name = "KEY",
        env = "MERCURE_PUBLISHER_JWT_KEY",
        hide_env_values = true
    )]
    publisher_jwt_key: Option<String>,
    /// The key that verifies subscribers' tokens (as --publisher-jwt-key).
    /// Without it, subscribers cannot present a token: only --anonymous
    /// ones are served.
    #[arg(
        long,
        value_name = "KEY",
        env = "MERCURE_SUBSCRIBER_JWT_KEY",
        hide_env_values = true
    )]
    subscriber_jwt_key: Option<String>,
    /// The algorithm of both keys: HS256, RS256, ES256 or EdDSA. A token
    /// signed with any other algorithm (`none` included) is refused.
    #[arg(long, value_name = "ALG", default_value = "HS256")]
    jwt_algorithm: KeyAlgorithm,
    /// The algorithm of the publisher key alone (overrides --jwt-algorithm).
    #[arg(long, value_name = "ALG", env = "MERCURE_PUBLISHER_JWT_ALG")]
    publisher_jwt_alg: Option<KeyAlgorithm>,
    /// The algorithm of the subscriber key alone (overrides --jwt-algorithm).
    #[arg(long, value_name = "ALG", env = "MERCURE_SUBSCRIBER_JWT_ALG")]
    subscriber_jwt_alg: Option<KeyAlgorithm>,
    /// Accept only tokens whose `iss` claim is ISS. When not given, the
    /// issuer is not checked.
    #[arg(long, value_name = "ISS")]
    jwt_issuer: Option<String>,
    /// Serve subscribers without a token (public updates only); by default
    /// a subscriber needs a valid token.
    #[arg(long)]
    anonymous: bool,
    /// Let pages from these origins subscribe and publish with their
    /// cookies (CORS with credentials), e.g. https://app.example.com
    /// (comma-separated or repeated). '*' allows any origin, without
    /// credentials.
    #[arg(long, value_name = "ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
    /// Origins whose pages may publish with a token from a cookie
    /// (comma-separated or repeated); other cookie-carried publishes are
    /// refused, against cross-site request forgery.
    #[arg(long, value_name = "ORIGINS", value_delimiter = ',')]
    publish_origins: Vec<String>,
    /// Track active subscriptions: a private event of type `mercure` when
    /// a subscription starts and when it ends, and the subscriptions API at
    /// /.well-known/mercure/subscriptions (every instance's; those of an
    /// instance that died go within 25 s, announced ended).
    #[arg(long)]
    subscriptions: bool,
    /// The number of updates kept for subscribers that reconnect (with
    /// Last-Event-ID or lastEventID), on each instance and in Redis.
    #[arg(long, value_name = "UPDATES", default_value_t = 1000)]
    history: usize,
    /// Share the hub with every `sse hub` on this Redis, e.g.
    /// redis://127.0.0.1:6379/.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// The prefix of the Redis keys, so that several hubs share one Redis.
    #[arg(long, value_name = "PREFIX", default_value = sse_hub::redis::DEFAULT_PREFIX, requires = "redis")]
    redis_prefix: String,
    /// Serve metrics at http://ADDR/metrics in the Prometheus text format.
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// On SIGINT or SIGTERM, send each subscriber a retry picked at random
    /// up to this many seconds before ending its stream, so that they
    /// reconnect (to another instance) spread over that window.
    #[arg(long, value_name = "SECONDS", value_parser = crate::parse_seconds)]
    drain: Option<Duration>,
    #[command(flatten)]
    limits: LimitArgs,
}

pub(crate) async fn run(args: Args) -> Result<(), Failed> {
    let metrics = match args.metrics_addr {
        Some(addr) => Some(serve_metrics("hub", addr).await?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|err| fail("hub", format!("{}: {err}", args.addr)))?;
    let addr = listener.local_addr().map_err(|err| fail("hub", err))?;
    let hub_url = match &args.hub_url {
        Some(url) => url.clone(),
        None => url::Url::parse(&format!("http://{addr}{}", sse_axum::mercure::PATH))
            .map_err(|err| fail("hub", err))?,
    };
    let builder = Hub::builder().history_events(args.history);
    match &args.redis {
        None => serve(builder.build(), hub_url, listener, args, metrics).await,
        Some(url) => {
            let backend = RedisBackend::builder(url.as_str())
                .prefix(args.redis_prefix.as_str())
                .history_events(args.history)
                .connect()
                .await
                .map_err(|err| fail("hub", format!("--redis {url}: {err}")))?;
            serve(
                builder.build_with(backend),
                hub_url,
                listener,
                args,
                metrics,
            )
            .await
        }
    }
}

async fn serve<B: Backend>(
    hub: Hub<B>,
    hub_url: url::Url,
    listener: tokio::net::TcpListener,
    args: Args,
    metrics: Option<SocketAddr>,
) -> Result<(), Failed> {
    let topics = TopicHub::builder(hub, hub_url.clone())
        .history(args.history)
        .build();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut mercure = Mercure::builder(topics)
        .anonymous(args.anonymous)
        .subscriptions(args.subscriptions)
        .audience_from_host(args.hub_url.is_none())
        .publish_origins(args.publish_origins.clone())
        .stop(stopped, args.drain);
    if let Some(key) = &args.publisher_jwt_key {
        let algorithm = args.publisher_jwt_alg.unwrap_or(args.jwt_algorithm);
        mercure = mercure.publisher_key(read_key("--publisher-jwt-key", key, algorithm)?);
    }
    if let Some(key) = &args.subscriber_jwt_key {
        let algorithm = args.subscriber_jwt_alg.unwrap_or(args.jwt_algorithm);
        mercure = mercure.subscriber_key(read_key("--subscriber-jwt-key", key, algorithm)?);
    }
    if let Some(issuer) = &args.jwt_issuer {
        mercure = mercure.issuer(issuer.as_str());
    }
    let app = mercure
        .build()
        .router()
        .route("/", get(|| async { Html(PAGE) }));
    let app = match cors(&args.cors_origins) {
        Ok(Some(cors)) => app.layer(cors),
        Ok(None) => app,
        Err(err) => return Err(fail("hub", err)),
    };
    eprintln!(
        "sse hub: Mercure hub at {hub_url} (listening on {}; Ctrl-C to stop)",
        listener.local_addr().map_err(|err| fail("hub", err))?
    );
    if let Some(metrics) = metrics {
        eprintln!("sse hub: metrics on http://{metrics}/metrics");
    }
    serve_until_signal("hub", listener, app, args.limits.limits(), stop, args.drain)
        .await
        .map_err(|err| fail("hub", err))
}

/// A key given as its value or as `@FILE`.
fn read_key(flag: &str, value: &str, algorithm: KeyAlgorithm) -> Result<Key, Failed> {
    let bytes = match value.strip_prefix('@') {
        Some(path) => {
            std::fs::read(path).map_err(|err| fail("hub", format!("{flag} @{path}: {err}")))?
        }
        None => value.as_bytes().to_vec(),
    };
    Key::new(algorithm, &bytes).map_err(|err| fail("hub", format!("{flag}: {err}")))
}

/// The CORS layer for `--cors-origins`: with credentials (cookies) for a
/// list of origins, never for `*`.
fn cors(origins: &[String]) -> Result<Option<CorsLayer>, String> {
    let origins: Vec<&String> = origins.iter().filter(|o| !o.trim().is_empty()).collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CACHE_CONTROL,
            header::CONTENT_TYPE,
            HeaderName::from_static(sse_codec::http::LAST_EVENT_ID),
        ])
        .expose_headers([HeaderName::from_static(
            sse_axum::mercure::MERCURE_LAST_EVENT_ID,
        )]);
    if origins.iter().any(|o| o.trim() == "*") {
        return Ok(Some(layer.allow_origin(AllowOrigin::any())));
    }
    let list = origins
        .iter()
        .map(|o| {
            HeaderValue::from_str(o.trim())
                .map_err(|_| format!("--cors-origins {o:?}: not a valid origin"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(
        layer
            .allow_origin(AllowOrigin::list(list))
            .allow_credentials(true),
    ))
}

/// The page at `/`: subscribe to topics, watch updates arrive.
const PAGE: &str = include_str!("hub.html");
