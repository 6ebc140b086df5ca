//! [`Update`]: what a publisher sends, checked as the Mercure protocol
//! asks ("Publication"), and how it travels through the hub's channel.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sse_codec::{ByteStr, EncodedFrame, Event};
use url::Url;

use super::matcher::is_control;

/// The event type Mercure reserves for the hub's own subscription events.
pub const RESERVED_TYPE: &str = "mercure";

/// The path of the hub's own namespace, which publishers may not write
/// into.
pub const RESERVED_PATH: &str = "/.well-known/mercure";

/// An update to one or more topics: the first is canonical, the others
/// alternate. Its data, id, type and retry become the event's fields.
///
/// # Examples
///
/// ```
/// use sse_hub::topics::Update;
///
/// let update = Update::new("https://example.com/books/1", "{\"title\":\"Dune\"}")
///     .topic("https://example.com/books")
///     .private()
///     .event_type("book");
/// assert_eq!(update.topics().len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Update {
    topics: Vec<String>,
    data: String,
    private: bool,
    id: Option<String>,
    event_type: Option<String>,
    retry: Option<Duration>,
}

impl Update {
    /// An update to `topic` carrying `data`, public, with an id the hub
    /// generates.
    pub fn new(topic: impl Into<String>, data: impl Into<String>) -> Self {
        Update {
            topics: vec![topic.into()],
            data: data.into(),
            private: false,
            id: None,
            event_type: None,
            retry: None,
        }
    }

    /// An update with no topic yet (a form being read); publishing it
    /// fails with [`UpdateError::NoTopic`] until one is added.
    pub fn without_topic(data: impl Into<String>) -> Self {
        let mut update = Update::new("", data);
        update.topics.clear();
        update
    }

    /// Adds a topic (the first one added is the canonical topic).
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topics.push(topic.into());
        self
    }

    /// Marks it private: only subscribers whose access grants one of its
    /// topics receive it.
    pub fn private(mut self) -> Self {
        self.private = true;
        self
    }

    /// Its id (default: `urn:uuid:` and a random UUID).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Its event type.
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.event_type = Some(event_type.into());
        self
    }

    /// The reconnection time it sets in the client.
    pub fn retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Its topics, canonical first.
    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    /// Whether it is private.
    pub fn is_private(&self) -> bool {
        self.private
    }
}

/// Why an update was refused; each is a 400 Bad Request of the Mercure
/// protocol, but [`ReservedTopic`](Self::ReservedTopic), a 403.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// It has no topic.
    #[error("an update needs a topic")]
    NoTopic,
    /// A topic is `*`, which no subscriber could single out.
    #[error("topic \"*\" is reserved")]
    WildcardTopic,
    /// A topic resolves into the hub's own namespace
    /// (`/.well-known/mercure`), where only the hub publishes.
    #[error("topic {0:?} is in the hub's own namespace")]
    ReservedTopic(String),
    /// A topic holds a control character.
    #[error("topic holds a control character")]
    TopicControl,
    /// The id starts with `#`, is `earliest`, or holds a control or format
    /// character.
    #[error("invalid id: {0}")]
    InvalidId(&'static str),
    /// The type is `mercure` (the hub's own), or holds a line break.
    #[error("invalid type: {0}")]
    InvalidType(&'static str),
}

/// An update as it travels through the hub's channel: one JSON document
/// per event, read back once per instance.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Envelope {
    #[serde(rename = "t")]
    pub(crate) topics: Vec<String>,
    #[serde(rename = "p", default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) private: bool,
    #[serde(rename = "i")]
    pub(crate) id: String,
    #[serde(rename = "y", default, skip_serializing_if = "Option::is_none")]
    pub(crate) event_type: Option<String>,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub(crate) retry_ms: Option<u64>,
    #[serde(rename = "d")]
    pub(crate) data: String,
}

impl Envelope {
    /// The event subscribers get, encoded once.
    pub(crate) fn frame(&self) -> Option<EncodedFrame> {
        let mut event = Event::builder()
            .id(self.id.as_str())
            .data(self.data.as_str());
        if let Some(event_type) = &self.event_type {
            event = event.event_type(event_type.as_str());
        }
        if let Some(ms) = self.retry_ms {
            event = event.retry(Duration::from_millis(ms));
        }
        event.build().ok().map(EncodedFrame::from)
    }
}

impl Update {
    /// Checks it against the protocol's rules, gives it an id if it has
    /// none, and makes the envelope the hub's channel carries.
    pub(crate) fn into_envelope(self, hub_url: &Url) -> Result<Envelope, UpdateError> {
        for topic in &self.topics {
            if in_reserved_namespace(topic, hub_url) {
                return Err(UpdateError::ReservedTopic(topic.to_owned()));
            }
        }
        if self.event_type.as_deref() == Some(RESERVED_TYPE) {
            return Err(UpdateError::InvalidType("\"mercure\" is reserved"));
        }
        self.into_own_envelope(hub_url)
    }

    /// [`into_envelope`](Self::into_envelope) for the hub's own updates:
    /// their topics may be in its namespace, their type `mercure`.
    pub(crate) fn into_own_envelope(self, _hub_url: &Url) -> Result<Envelope, UpdateError> {
        if self.topics.is_empty() {
            return Err(UpdateError::NoTopic);
        }
        for topic in &self.topics {
            check_topic(topic)?;
        }
        let id = match self.id {
            Some(id) => {
                check_id(&id)?;
                id
            }
            None => generate_id(),
        };
        if let Some(event_type) = &self.event_type {
            if event_type.contains(['\r', '\n']) {
                return Err(UpdateError::InvalidType("line break"));
            }
        }
        Ok(Envelope {
            topics: self.topics,
            private: self.private,
            id,
            event_type: self.event_type.filter(|t| !t.is_empty()),
            retry_ms: self
                .retry
                .map(|r| u64::try_from(r.as_millis()).unwrap_or(u64::MAX)),
            data: self.data,
        })
    }
}

fn check_topic(topic: &str) -> Result<(), UpdateError> {
    if topic == "*" {
        return Err(UpdateError::WildcardTopic);
    }
    if topic.chars().any(is_control) {
        return Err(UpdateError::TopicControl);
    }
    Ok(())
}

/// Whether `topic`, resolved against the hub's URL, has a path that is
/// `/.well-known/mercure` or under it, whatever its scheme and authority.
/// The URL parser removes dot segments; percent-encoded unreserved
/// characters are decoded first, so that `/.well-known/%6Dercure` is
/// caught too.
pub(crate) fn in_reserved_namespace(topic: &str, hub_url: &Url) -> bool {
    let decoded = decode_unreserved(topic);
    let Ok(url) = hub_url.join(&decoded) else {
        return false;
    };
    let path = url.path();
    path == RESERVED_PATH
        || path
            .strip_prefix(RESERVED_PATH)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// `text` with its percent-encoded unreserved characters (RFC 3986 2.3)
/// decoded, as URI normalization does; other escapes stay.
fn decode_unreserved(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = &text[i + 1..i + 3];
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                    out.push(char::from(byte));
                    i += 3;
                    continue;
                }
            }
        }
        let c = text[i..].chars().next().expect("inside the string");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn check_id(id: &str) -> Result<(), UpdateError> {
    if id.starts_with('#') {
        return Err(UpdateError::InvalidId("starts with '#'"));
    }
    if id == "earliest" {
        return Err(UpdateError::InvalidId("\"earliest\" is reserved"));
    }
    if id.chars().any(|c| is_control(c) || is_format(c)) {
        return Err(UpdateError::InvalidId("control or format character"));
    }
    Ok(())
}

/// Unicode's format characters (general category Cf), which render as
/// nothing and so could make two different ids look the same.
fn is_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2
        | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

/// `urn:uuid:` and a random (version 4) UUID: the ids the hub gives
/// updates, and a fine id for a subscriber.
pub fn generate_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The event an [`Envelope`] travels as in the hub's channel.
pub(crate) fn as_event(envelope: &Envelope) -> Event {
    Event::new(ByteStr::from(
        serde_json::to_string(envelope).expect("an envelope serializes"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> Url {
        Url::parse("https://example.com/.well-known/mercure").unwrap()
    }

    fn refused(update: Update) -> UpdateError {
        update.into_envelope(&hub()).unwrap_err()
    }

    #[test]
    fn the_reserved_namespace_is_found_however_it_is_spelled() {
        for topic in [
            "/.well-known/mercure",
            "/.well-known/mercure/subscriptions/Exact/a/b",
            "https://other.example/.well-known/mercure/x",
            "/foo/../.well-known/mercure/x",
            "/.well-known/%6Dercure/x",
            "/%2Ewell-known/mercure",
        ] {
            assert!(in_reserved_namespace(topic, &hub()), "{topic}");
        }
        for topic in [
            "/.well-known/mercurey",
            "https://example.com/books/1",
            "foo",
            "subscriptions/x",
            "/.well-known/mercure%2Fx",
        ] {
            assert!(!in_reserved_namespace(topic, &hub()), "{topic}");
        }
    }

    #[test]
    fn ids_types_and_topics_are_checked() {
        assert_eq!(refused(Update::without_topic("x")), UpdateError::NoTopic);
        assert_eq!(refused(Update::new("*", "x")), UpdateError::WildcardTopic);
        assert_eq!(
            refused(Update::new("a\u{85}b", "x")),
            UpdateError::TopicControl
        );
        assert!(matches!(
            refused(Update::new("t", "x").id("#1")),
            UpdateError::InvalidId(_)
        ));
        assert!(matches!(
            refused(Update::new("t", "x").id("earliest")),
            UpdateError::InvalidId(_)
        ));
        assert!(matches!(
            refused(Update::new("t", "x").id("a\u{200B}b")),
            UpdateError::InvalidId(_)
        ));
        assert!(matches!(
            refused(Update::new("t", "x").id("a\nb")),
            UpdateError::InvalidId(_)
        ));
        assert!(matches!(
            refused(Update::new("t", "x").event_type("mercure")),
            UpdateError::InvalidType(_)
        ));
        assert!(matches!(
            refused(Update::new("t", "x").event_type("a\rb")),
            UpdateError::InvalidType(_)
        ));
        let ok = Update::new("t", "x")
            .id("urn:isbn:1")
            .into_envelope(&hub())
            .unwrap();
        assert_eq!(ok.id, "urn:isbn:1");
    }

    #[test]
    fn generated_ids_are_version_4_uuids() {
        let id = generate_id();
        let uuid = id.strip_prefix("urn:uuid:").unwrap();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(generate_id(), id);
    }
}
