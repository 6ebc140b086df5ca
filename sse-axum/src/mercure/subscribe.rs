//! `GET /.well-known/mercure`: a subscription, as the Mercure protocol's
//! "Subscription", "Authorization" and "Reconnection" say.

use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sse_hub::backend::Backend;
use sse_hub::topics::{Access, MatchType, Matcher, EARLIEST};
use sse_hub::Resume;

use super::answer::form_pairs;
use super::auth::{find_token, validate, Denied};
use super::config::{Mercure, MAX_MATCHERS, MERCURE_LAST_EVENT_ID};
use super::subscriptions::Tracked;
use crate::{KeepAlive, Sse};

/// What a subscribe request asks for.
struct Request {
    selects: Vec<Matcher>,
    last_event_id: Option<String>,
    access_token: Option<String>,
}

pub(super) async fn subscribe<B: Backend>(
    State(mercure): State<Mercure<B>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let config = &mercure.config;
    let base = config.topics.base();
    let request = match read_request(uri.query().unwrap_or_default(), base) {
        Ok(request) => request,
        Err(denied) => return denied.into_response(),
    };
    let rights = match find_token(&headers, request.access_token.as_deref()) {
        Err(denied) => return denied.into_response(),
        Ok(None) if config.anonymous => None,
        Ok(None) => return Denied::NoToken.into_response(),
        Ok(Some((token, _))) => {
            let Some(key) = &config.subscriber else {
                return Denied::InvalidToken.into_response();
            };
            let audiences = config.audiences(&headers);
            match validate(&token, key, config.issuer.as_deref(), &audiences, base) {
                Ok(rights) => Some(rights),
                Err(denied) => return denied.into_response(),
            }
        }
    };
    // What the subscriptions API and events say of each matcher.
    let described: Vec<_> = if config.subscriptions {
        request
            .selects
            .iter()
            .map(|m| {
                let payload = rights
                    .as_ref()
                    .and_then(|r| r.payload_for(m.pattern(), base))
                    .cloned();
                (m.kind(), m.pattern().to_owned(), payload)
            })
            .collect()
    } else {
        Vec::new()
    };
    let (access, expires) = match rights {
        None => (Access::Public, None),
        Some(rights) => (Access::Topics(rights.subscribe), rights.expires),
    };
    // The header wins over the query parameter.
    let last_event_id = headers
        .get(sse_codec::http::LAST_EVENT_ID)
        .and_then(|v| sse_codec::http::parse_last_event_id(v.as_bytes()))
        .map(str::to_owned)
        .or(request.last_event_id);
    let from = match last_event_id.as_deref() {
        None => Resume::Live,
        Some(EARLIEST) => Resume::Oldest,
        Some(id) => Resume::After(id),
    };
    let subscription = match config.topics.subscribe(request.selects, access, from).await {
        Ok(subscription) => subscription,
        Err(err) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                format!("{err}\n"),
            )
                .into_response()
        }
    };
    let named = subscription
        .last_event_id()
        .and_then(|id| HeaderValue::from_str(id).ok());
    // The stream ends when the server stops or the token expires.
    let mut stop = config.stop.clone();
    let expiry = expires.map(|exp| {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        Duration::from_secs(exp).saturating_sub(now)
    });
    let end = async move {
        let stopped = async {
            match &mut stop {
                Some(stop) => {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                }
                None => std::future::pending().await,
            }
        };
        let expired = async {
            match expiry {
                Some(left) => tokio::time::sleep(left).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stopped => {}
            () = expired => {}
        }
    };
    let subscription = if config.subscriptions {
        Tracked::start(subscription, &config.topics, &described).await
    } else {
        Tracked::untracked(subscription, &config.topics)
    };
    let sse = Sse::new(subscription).keep_alive(KeepAlive::new().interval(config.keep_alive));
    let sse = match config.drain {
        Some(window) => sse.until_drained(end, window),
        None => sse.until(end),
    };
    let mut response = sse.into_response();
    if let Some(named) = named {
        let headers = response.headers_mut();
        headers.insert(
            HeaderName::from_static(sse_codec::http::LAST_EVENT_ID),
            named.clone(),
        );
        headers.insert(HeaderName::from_static(MERCURE_LAST_EVENT_ID), named);
    }
    response
}

/// Reads the query: topic matchers, the last event id, a token.
fn read_request(query: &str, base: &url::Url) -> Result<Request, Denied> {
    let pairs = form_pairs(query.as_bytes()).ok_or(Denied::BadRequest("the query is not UTF-8"))?;
    let mut request = Request {
        selects: Vec::new(),
        last_event_id: None,
        access_token: None,
    };
    for (name, value) in pairs {
        let kind = match name.as_str() {
            "match" | "matchExact" | "match_exact" => MatchType::Exact,
            "matchURLPattern" | "match_urlpattern" => MatchType::UrlPattern,
            // The legacy parameter: a string or a URI template.
            "topic" => MatchType::UriTemplate,
            "lastEventID" | "last_event_id" => {
                request.last_event_id = Some(value);
                continue;
            }
            "access_token" => {
                request.access_token = Some(value);
                continue;
            }
            // The whole `match` prefix is reserved: a misspelled matcher
            // type fails loudly.
            other if other.len() >= 5 && other.as_bytes()[..5].eq_ignore_ascii_case(b"match") => {
                return Err(Denied::BadRequest("unknown matcher type"));
            }
            _ => continue,
        };
        if request.selects.len() == MAX_MATCHERS {
            return Err(Denied::BadRequest("too many topic matchers"));
        }
        let matcher = Matcher::new(kind, &value, base)
            .map_err(|_| Denied::BadRequest("invalid topic matcher"))?;
        request.selects.push(matcher);
    }
    if request.selects.is_empty() {
        return Err(Denied::BadRequest("at least one topic matcher is required"));
    }
    Ok(request)
}
