//! `POST /.well-known/mercure`: an update, as the Mercure protocol's
//! "Publication" says.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sse_hub::backend::Backend;
use sse_hub::topics::{PublishError, Topic, Update, UpdateError};

use super::answer::{form_pairs, query_token, text};
use super::auth::{find_token, validate, Denied, Source};
use super::config::{Mercure, MAX_FIELD_LEN, MAX_TOPICS};

pub(super) async fn publish<B: Backend>(
    State(mercure): State<Mercure<B>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    let config = &mercure.config;
    let base = config.topics.base();
    let query_token = query_token(&uri);
    let rights = match find_token(&headers, query_token.as_deref()) {
        Err(denied) => return denied.into_response(),
        Ok(None) => return Denied::NoToken.into_response(),
        Ok(Some((token, source))) => {
            let Some(key) = &config.publisher else {
                return Denied::InvalidToken.into_response();
            };
            let rights = match validate(
                &token,
                key,
                config.issuer.as_deref(),
                &config.audiences(&headers),
                base,
            ) {
                Ok(rights) => rights,
                Err(denied) => return denied.into_response(),
            };
            // A cookie goes with every request a page makes, also one that
            // another site's page makes it send: only listed origins.
            if source == Source::Cookie {
                let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
                if !origin.is_some_and(|o| config.publish_origins.iter().any(|p| p == o)) {
                    return Denied::Forbidden.into_response();
                }
            }
            rights
        }
    };
    let Ok(body) = axum::body::to_bytes(body, config.max_body).await else {
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {} bytes\n", config.max_body),
        );
    };
    let update = match read_update(&body) {
        Ok(update) => update,
        Err(refused) => return refused.into_response(),
    };
    let allowed = update.topics().iter().all(|topic| {
        let topic = Topic::new(topic, base);
        rights.publish.iter().any(|m| m.matches(&topic))
    });
    if !allowed {
        return Denied::Forbidden.into_response();
    }
    match config.topics.publish(update).await {
        Ok(id) => text(StatusCode::OK, id),
        Err(PublishError::Invalid(err @ UpdateError::ReservedTopic(_))) => {
            text(StatusCode::FORBIDDEN, format!("{err}\n"))
        }
        Err(PublishError::Invalid(err)) => Denied::BadRequest("invalid update")
            .into_response()
            .map(|_| Body::from(format!("{err}\n"))),
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            format!("{err}\n"),
        )
            .into_response(),
    }
}

/// Why a form was refused.
enum Refused {
    /// 400.
    Bad(&'static str),
    /// 413, past a documented limit.
    TooLarge(String),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Bad(why) => Denied::BadRequest(why).into_response(),
            Refused::TooLarge(why) => text(StatusCode::PAYLOAD_TOO_LARGE, format!("{why}\n")),
        }
    }
}

/// The update a form body describes.
fn read_update(body: &[u8]) -> Result<Update, Refused> {
    let bad = Refused::Bad;
    let too_large = |why: &str| Refused::TooLarge(why.to_owned());
    let pairs = form_pairs(body).ok_or_else(|| bad("the form is not UTF-8"))?;
    let data = pairs
        .iter()
        .find(|(n, _)| n == "data")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut update = Update::without_topic(data);
    let mut topics = 0;
    for (name, value) in pairs {
        if matches!(name.as_str(), "topic" | "id" | "type") && value.len() > MAX_FIELD_LEN {
            return Err(too_large(&format!(
                "{name} is longer than {MAX_FIELD_LEN} bytes"
            )));
        }
        match name.as_str() {
            "topic" => {
                topics += 1;
                if topics > MAX_TOPICS {
                    return Err(too_large(&format!("more than {MAX_TOPICS} topics")));
                }
                update = update.topic(value);
            }
            // Present means private, whatever its value.
            "private" => update = update.private(),
            "id" => update = update.id(value),
            "type" => update = update.event_type(value),
            "retry" => {
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("retry must be digits"));
                }
                let ms = value
                    .parse::<u64>()
                    .map_err(|_| bad("retry is too large"))?;
                update = update.retry(Duration::from_millis(ms));
            }
            _ => {}
        }
    }
    if topics == 0 {
        return Err(bad("an update needs a topic"));
    }
    Ok(update)
}
