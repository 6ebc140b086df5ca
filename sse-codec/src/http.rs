//! What an event stream means in HTTP, in one place for servers, clients
//! and the `sse doctor`: its media type and what counts as an event-stream
//! response ([`is_event_stream`]), the headers a server sends
//! ([`RESPONSE_HEADERS`]) and a browser sends ([`REQUEST_HEADERS`]), and the
//! last event ID a reconnecting client sends (as a header, or as a query
//! parameter from polyfills).

/// The media type of an event stream, for `Content-Type` and `Accept`.
pub const MIME_TYPE: &str = "text/event-stream";

/// The request header in which a reconnecting client sends the last event ID
/// it saw (lowercase, as HTTP/2 requires).
pub const LAST_EVENT_ID: &str = "last-event-id";

/// The name of the query parameter that `EventSource` polyfills send the
/// last event ID in, when they cannot set the header.
pub const LAST_EVENT_ID_QUERY: &str = "lastEventId";

/// Finds the `lastEventId` parameter in a URL query string (without the
/// `?`), as polyfilled clients send it, decoded as a browser's
/// `URLSearchParams` decodes it (`%XX` escapes, `+` for a space).
///
/// The npm `event-source-polyfill` appends
/// `lastEventId=` + `encodeURIComponent(id)` to the URL on each
/// reconnection, so an id with `/`, `:`, a space or a non-ASCII character
/// arrives escaped. When the parameter appears more than once (a page that
/// resumes by URL, then the polyfill's own), the last one is the newest.
/// Like [`parse_last_event_id`], a value that is empty, not UTF-8 once
/// decoded, or contains NUL is no last event ID.
///
/// # Examples
///
/// ```
/// use sse_codec::http::last_event_id_from_query;
///
/// assert_eq!(last_event_id_from_query("a=1&lastEventId=42").as_deref(), Some("42"));
/// assert_eq!(last_event_id_from_query("lastEventId=a%2Fb%20c").as_deref(), Some("a/b c"));
/// assert_eq!(last_event_id_from_query("lastEventId=caf%C3%A9").as_deref(), Some("caf\u{e9}"));
/// assert_eq!(last_event_id_from_query("lastEventId=1&lastEventId=2").as_deref(), Some("2"));
/// assert_eq!(last_event_id_from_query("lastEventId="), None);
/// assert_eq!(last_event_id_from_query("lastEventId=%00"), None);
/// assert_eq!(last_event_id_from_query("lasteventid=1"), None);
/// ```
pub fn last_event_id_from_query(query: &str) -> Option<std::borrow::Cow<'_, str>> {
    let (_, value) = query
        .rsplit('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == LAST_EVENT_ID_QUERY)?;
    if !value.contains(['%', '+']) {
        return parse_last_event_id(value.as_bytes()).map(std::borrow::Cow::Borrowed);
    }
    let decoded = percent_decode(value.as_bytes());
    parse_last_event_id(&decoded).map(|id| std::borrow::Cow::Owned(id.to_owned()))
}

/// The bytes of an `application/x-www-form-urlencoded` value: `+` is a
/// space, `%` and two hex digits a byte, anything else itself (a `%` not
/// followed by two hex digits stays, as the WHATWG URL standard says).
fn percent_decode(value: &[u8]) -> Vec<u8> {
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let byte = match value[i] {
            b'+' => b' ',
            b'%' => match (
                value.get(i + 1).copied().and_then(hex),
                value.get(i + 2).copied().and_then(hex),
            ) {
                (Some(high), Some(low)) => {
                    i += 2;
                    high * 16 + low
                }
                _ => b'%',
            },
            other => other,
        };
        out.push(byte);
        i += 1;
    }
    out
}

/// Reads the value of a `Last-Event-ID` request header.
///
/// A browser sends the last event ID string UTF-8 encoded, and only when it
/// is not empty; an id can never contain NUL (the decoder ignores such `id`
/// fields). So a value that is empty, not UTF-8, or contains NUL is no last
/// event ID: `None`, never an error.
///
/// # Examples
///
/// ```
/// use sse_codec::http::parse_last_event_id;
///
/// assert_eq!(parse_last_event_id(b"42"), Some("42"));
/// assert_eq!(parse_last_event_id("caf\u{e9}".as_bytes()), Some("caf\u{e9}"));
/// assert_eq!(parse_last_event_id(b""), None);
/// assert_eq!(parse_last_event_id(b"\xFF"), None);
/// assert_eq!(parse_last_event_id(b"4\x002"), None);
/// ```
pub fn parse_last_event_id(value: &[u8]) -> Option<&str> {
    if value.is_empty() || memchr::memchr(0, value).is_some() {
        return None;
    }
    std::str::from_utf8(value).ok()
}

/// The response headers of an event stream, for the framework adapters:
/// the media type; `no-cache` so nothing stores it and `no-transform` so
/// proxies and compression layers pass it through; and
/// `X-Accel-Buffering: no`, which stops nginx from buffering it. No
/// `Connection` header (HTTP/2 forbids it) and no length.
pub const RESPONSE_HEADERS: [(&str, &str); 3] = [
    ("content-type", MIME_TYPE),
    ("cache-control", "no-cache, no-transform"),
    ("x-accel-buffering", "no"),
];

/// The request headers a browser's `EventSource` sends, besides cookies
/// and `Last-Event-ID`: it accepts only an event stream, and asks caches
/// not to answer from storage. A client that wants to be served as a
/// browser is, sends these.
pub const REQUEST_HEADERS: [(&str, &str); 2] =
    [("accept", MIME_TYPE), ("cache-control", "no-cache")];

/// Whether a `Content-Type` value names an event stream, as a browser
/// judges it: the media type (before any `;` parameter), without the
/// spaces around it, is `text/event-stream` in any case. `EventSource`
/// fails the connection on anything else.
///
/// # Examples
///
/// ```
/// use sse_codec::http::is_event_stream;
///
/// assert!(is_event_stream(b"text/event-stream"));
/// assert!(is_event_stream(b"Text/Event-Stream; charset=utf-8"));
/// assert!(!is_event_stream(b"text/plain"));
/// assert!(!is_event_stream(b"text/event-streams"));
/// ```
pub fn is_event_stream(content_type: &[u8]) -> bool {
    let essence = content_type
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default();
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(MIME_TYPE.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_essence() {
        for ok in [
            "text/event-stream",
            "Text/Event-Stream",
            "text/event-stream; charset=utf-8",
            " text/event-stream ",
            "text/event-stream;charset=utf-8",
        ] {
            assert!(is_event_stream(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "text/plain",
            "text/event-streams",
            "application/json",
            "",
            "text /event-stream",
        ] {
            assert!(!is_event_stream(bad.as_bytes()), "{bad}");
        }
    }
}
