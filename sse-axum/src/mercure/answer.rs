//! What the handlers share: reading a form or a query, and answering.

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::auth::Denied;

/// The answer to a refused request, with the `WWW-Authenticate` challenge
/// of RFC 6750 that the protocol asks for.
impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        let (status, challenge, message) = match self {
            Denied::NoToken => (StatusCode::UNAUTHORIZED, "Bearer", "a token is required"),
            Denied::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "Bearer error=\"invalid_token\"",
                "invalid token",
            ),
            Denied::Forbidden => (
                StatusCode::FORBIDDEN,
                "Bearer error=\"insufficient_scope\"",
                "the token does not grant this",
            ),
            Denied::BadRequest(why) => (
                StatusCode::BAD_REQUEST,
                "Bearer error=\"invalid_request\"",
                why,
            ),
        };
        (
            status,
            [(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            )],
            format!("{message}\n"),
        )
            .into_response()
    }
}

/// The pairs of an `application/x-www-form-urlencoded` text (a body or a
/// query), decoded; `None` when a name or value is not UTF-8 once
/// decoded (the protocol requires UTF-8: a 400, never a lossy guess).
pub(super) fn form_pairs(text: &[u8]) -> Option<Vec<(String, String)>> {
    let decode = |part: &[u8]| -> Option<String> {
        let plus: Vec<u8> = part
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        let bytes: Vec<u8> = percent_encoding::percent_decode(&plus).collect();
        String::from_utf8(bytes).ok()
    };
    text.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            Some((decode(name)?, decode(value)?))
        })
        .collect()
}

/// A plain-text answer.
pub(super) fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body.into(),
    )
        .into_response()
}

/// The `access_token` query parameter, if any.
pub(super) fn query_token(uri: &Uri) -> Option<String> {
    let pairs = form_pairs(uri.query().unwrap_or_default().as_bytes())?;
    pairs
        .into_iter()
        .find(|(n, _)| n == "access_token")
        .map(|(_, v)| v)
}
