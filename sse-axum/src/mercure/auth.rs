//! Who may publish and read what: the access token of a request, found
//! and checked as the Mercure protocol says ("Authorization").
//!
//! Two forms of claims are accepted: RFC 9068 access tokens (`typ`
//! `at+jwt`, the hub's URL in `aud`, `exp`) whose `authorization_details`
//! hold `mercure` details, and the legacy `mercure` claim
//! (`{"publish": [...], "subscribe": [...]}` of topic selectors: `*`, a URI
//! template or a string), which deployed publishers still send.

use std::collections::HashSet;

use http::header::{AUTHORIZATION, COOKIE};
use http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sse_hub::topics::{MatchType, Matcher};
use url::Url;

/// The names of the cookies that may carry a token, in the order they are
/// looked for: Mercure's recommended name, its legacy one, and the
/// `__Secure-` one of the reference hub.
pub const COOKIE_NAMES: [&str; 3] = [
    "mercureAccessToken",
    "mercureAuthorization",
    "__Secure-mercure_access_token",
];

/// The most `mercure` authorization details, and topics in each, a token
/// may carry.
const MAX_DETAILS: usize = 64;
const MAX_TOPICS_PER_DETAIL: usize = 256;

/// A signature algorithm the keys are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// HMAC with SHA-256: the key is a shared secret.
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256: the key is a PEM public key.
    Rs256,
    /// ECDSA on P-256 with SHA-256: the key is a PEM public key.
    Es256,
    /// Ed25519: the key is a PEM public key.
    EdDsa,
}

impl std::str::FromStr for KeyAlgorithm {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "HS256" => Ok(KeyAlgorithm::Hs256),
            "RS256" => Ok(KeyAlgorithm::Rs256),
            "ES256" => Ok(KeyAlgorithm::Es256),
            "EdDSA" => Ok(KeyAlgorithm::EdDsa),
            other => Err(format!(
                "unsupported algorithm {other:?} (HS256, RS256, ES256 or EdDSA)"
            )),
        }
    }
}

/// A key that verifies tokens: one algorithm, one key, so a token cannot
/// choose another (no `alg: none`, no algorithm confusion).
#[derive(Clone)]
pub struct Key {
    algorithm: Algorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// A key that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid {algorithm:?} key: {reason}")]
pub struct InvalidKey {
    algorithm: KeyAlgorithm,
    reason: String,
}

impl Key {
    /// A key for `algorithm`: the secret itself for HS256, a PEM public key
    /// for RS256, ES256 and `EdDSA`.
    ///
    /// # Errors
    ///
    /// A PEM key that does not parse.
    pub fn new(algorithm: KeyAlgorithm, key: &[u8]) -> Result<Key, InvalidKey> {
        let invalid = |err: jsonwebtoken::errors::Error| InvalidKey {
            algorithm,
            reason: err.to_string(),
        };
        let (algorithm, key) = match algorithm {
            KeyAlgorithm::Hs256 => (Algorithm::HS256, DecodingKey::from_secret(key)),
            KeyAlgorithm::Rs256 => (
                Algorithm::RS256,
                DecodingKey::from_rsa_pem(key).map_err(invalid)?,
            ),
            KeyAlgorithm::Es256 => (
                Algorithm::ES256,
                DecodingKey::from_ec_pem(key).map_err(invalid)?,
            ),
            KeyAlgorithm::EdDsa => (
                Algorithm::EdDSA,
                DecodingKey::from_ed_pem(key).map_err(invalid)?,
            ),
        };
        Ok(Key { algorithm, key })
    }
}

/// Where the token of a request came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Header,
    Query,
    Cookie,
}

/// The token of a request, by the protocol's precedence: the
/// `Authorization` header, then the `access_token` query parameter, then
/// a cookie. A malformed `Authorization` header is a bad request.
pub(crate) fn find_token(
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<Option<(String, Source)>, Denied> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| Denied::BadRequest("authorization header"))?;
        let token = value
            .strip_prefix("Bearer ")
            .filter(|t| !t.is_empty())
            .ok_or(Denied::BadRequest("authorization header is not Bearer"))?;
        return Ok(Some((token.trim().to_owned(), Source::Header)));
    }
    if let Some(token) = query_token {
        return Ok(Some((token.to_owned(), Source::Query)));
    }
    for value in headers.get_all(COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for name in COOKIE_NAMES {
            let found = value.split(';').find_map(|pair| {
                let (n, v) = pair.trim().split_once('=')?;
                (n == name).then(|| v.trim_matches('"').to_owned())
            });
            if let Some(token) = found {
                return Ok(Some((token, Source::Cookie)));
            }
        }
    }
    Ok(None)
}

/// What a valid token grants.
#[derive(Debug)]
pub(crate) struct Rights {
    pub(crate) publish: Vec<Matcher>,
    pub(crate) subscribe: Vec<Matcher>,
    /// `exp`, in seconds since the epoch.
    pub(crate) expires: Option<u64>,
    /// The payloads of `subscribe` rights, in the token's order, with the
    /// matchers they apply to.
    pub(crate) payloads: Vec<(Vec<Matcher>, serde_json::Value)>,
}

impl Rights {
    /// The payload of the first `subscribe` right whose matchers match
    /// `matcher` taken as a topic (the protocol's "Payloads").
    pub(crate) fn payload_for(&self, matcher: &str, base: &Url) -> Option<&serde_json::Value> {
        let topic = sse_hub::topics::Topic::new(matcher, base);
        self.payloads
            .iter()
            .find(|(matchers, _)| matchers.iter().any(|m| m.matches(&topic)))
            .map(|(_, payload)| payload)
    }
}

/// Why a request is refused, and how it is answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Denied {
    /// 401, no error code: a token is needed and none came.
    NoToken,
    /// 401 `invalid_token`: a token came and did not validate.
    InvalidToken,
    /// 403 `insufficient_scope`.
    Forbidden,
    /// 400 `invalid_request`.
    BadRequest(&'static str),
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    mercure: Option<Legacy>,
    #[serde(default)]
    authorization_details: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    exp: Option<u64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Legacy {
    #[serde(default)]
    publish: Option<Vec<String>>,
    #[serde(default)]
    subscribe: Option<Vec<String>>,
    #[serde(default)]
    payload: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Detail {
    #[serde(rename = "type")]
    kind: String,
    actions: Vec<String>,
    topics: Vec<TopicMatcher>,
    #[serde(default)]
    payload: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicMatcher {
    #[serde(rename = "match")]
    pattern: String,
    #[serde(default, rename = "matchType")]
    match_type: Option<String>,
}

/// Validates `token` with `key` and reads what it grants. Every failure is
/// the same [`Denied::InvalidToken`], so as not to tell why.
pub(crate) fn validate(
    token: &str,
    key: &Key,
    issuer: Option<&str>,
    audiences: &[String],
    base: &Url,
) -> Result<Rights, Denied> {
    let mut validation = Validation::new(key.algorithm);
    validation.algorithms = vec![key.algorithm];
    validation.leeway = 0;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    // Checked below: the legacy form has no audience, and may have no
    // expiry.
    validation.validate_aud = false;
    validation.required_spec_claims = HashSet::new();
    if let Some(issuer) = issuer {
        validation.set_issuer(&[issuer]);
        validation.required_spec_claims.insert("iss".to_owned());
    }
    let data = jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
        .map_err(|_| Denied::InvalidToken)?;
    let claims = data.claims;
    let mut rights = Rights {
        publish: Vec::new(),
        subscribe: Vec::new(),
        expires: claims.exp,
        payloads: Vec::new(),
    };
    if let Some(details) = claims.authorization_details {
        // An RFC 9068 access token: its type, its audience and its expiry
        // are required.
        if data
            .header
            .typ
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
            != Some("at+jwt")
        {
            return Err(Denied::InvalidToken);
        }
        let audience_ok = match &claims.aud {
            Some(Audience::One(aud)) => audiences.contains(aud),
            Some(Audience::Many(auds)) => auds.iter().any(|a| audiences.contains(a)),
            None => false,
        };
        if !audience_ok || claims.exp.is_none() || details.len() > MAX_DETAILS {
            return Err(Denied::InvalidToken);
        }
        for detail in details {
            // Any detail that does not parse invalidates the whole token:
            // never a partial acceptance.
            let Ok(detail) = serde_json::from_value::<Detail>(detail) else {
                return Err(Denied::InvalidToken);
            };
            if detail.kind != "mercure" {
                continue;
            }
            if detail.actions.is_empty()
                || detail.topics.is_empty()
                || detail.topics.len() > MAX_TOPICS_PER_DETAIL
                || detail
                    .actions
                    .iter()
                    .any(|a| a != "publish" && a != "subscribe")
            {
                return Err(Denied::InvalidToken);
            }
            let mut matchers = Vec::with_capacity(detail.topics.len());
            for topic in &detail.topics {
                let kind = match topic.match_type.as_deref() {
                    None | Some("Exact") => MatchType::Exact,
                    Some("URLPattern") => MatchType::UrlPattern,
                    Some(_) => return Err(Denied::InvalidToken),
                };
                matchers.push(
                    Matcher::new(kind, &topic.pattern, base).map_err(|_| Denied::InvalidToken)?,
                );
            }
            if let Some(payload) = detail
                .payload
                .filter(|_| detail.actions.iter().any(|a| a == "subscribe"))
            {
                rights.payloads.push((matchers.clone(), payload));
            }
            for action in &detail.actions {
                match action.as_str() {
                    "publish" => rights.publish.extend(matchers.iter().cloned()),
                    _ => rights.subscribe.extend(matchers.iter().cloned()),
                }
            }
        }
    }
    if let Some(legacy) = claims.mercure {
        let selectors = |list: Option<Vec<String>>| -> Result<Vec<Matcher>, Denied> {
            list.unwrap_or_default()
                .iter()
                .map(|s| Matcher::uri_template(s).map_err(|_| Denied::InvalidToken))
                .collect()
        };
        if let Some(payload) = legacy.payload {
            rights.payloads.push((vec![Matcher::exact("*")], payload));
        }
        rights.publish.extend(selectors(legacy.publish)?);
        rights.subscribe.extend(selectors(legacy.subscribe)?);
    }
    Ok(rights)
}
