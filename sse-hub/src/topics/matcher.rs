//! [`Matcher`]: which topics a subscription follows, or a token grants.
//!
//! The Mercure protocol (draft-dunglas-mercure, "Matcher Types") has two
//! matcher types, `Exact` (byte for byte) and `URLPattern` (the WHATWG URL
//! Pattern standard, relative patterns and topics resolved against the
//! hub's URL); deployed clients still send RFC 6570 URI templates (the
//! legacy `topic` parameter and the legacy `mercure` claim), and `*`
//! matches every topic whatever the type.
//!
//! Every matcher runs in time linear in the topic: URL patterns and URI
//! templates compile to the `regex` crate's automata, which never
//! backtrack, so a pathological pattern cannot stall the hub.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use url::Url;

/// The longest pattern a [`Matcher`] accepts, in bytes.
pub const MAX_PATTERN_LEN: usize = 2048;

/// How a [`Matcher`] compares a topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum MatchType {
    /// Byte for byte (Mercure's `Exact`, the `match` parameter).
    Exact,
    /// The WHATWG URL Pattern standard (Mercure's `URLPattern`).
    UrlPattern,
    /// An RFC 6570 URI template, or a plain string compared byte for byte
    /// (the legacy `topic` parameter and `mercure` claim).
    UriTemplate,
}

impl MatchType {
    /// The name Mercure gives the type (`Exact`, `URLPattern`), as it
    /// appears in subscription events; `URITemplate` for the legacy one.
    pub fn name(self) -> &'static str {
        match self {
            MatchType::Exact => "Exact",
            MatchType::UrlPattern => "URLPattern",
            MatchType::UriTemplate => "URITemplate",
        }
    }
}

/// A pattern that [`Matcher`] refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} matcher: {reason}")]
pub struct InvalidMatcher {
    kind: &'static str,
    reason: String,
}

impl InvalidMatcher {
    fn new(kind: MatchType, reason: impl Into<String>) -> Self {
        InvalidMatcher {
            kind: kind.name(),
            reason: reason.into(),
        }
    }
}

/// A topic as matchers see it: the string, and the URL it resolves to
/// against the hub's URL (for URL patterns), parsed once per update.
#[derive(Clone, Debug)]
pub struct Topic {
    raw: Box<str>,
    /// The components URL patterns match, taken once from the URL the
    /// topic resolves to (`None`: it resolves to no URL).
    url: Option<Box<urlpattern::quirks::MatchInput>>,
}

impl Topic {
    /// `topic`, resolved against `base` (the hub's URL) for URL patterns.
    pub fn new(topic: &str, base: &Url) -> Self {
        let url = base.join(topic).ok().and_then(|url| {
            urlpattern::quirks::parse_match_input(urlpattern::UrlPatternMatchInput::Url(url))
        });
        Topic {
            raw: topic.into(),
            url: url.map(Box::new),
        }
    }

    /// The topic as published.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

/// One compiled topic matcher.
///
/// # Examples
///
/// ```
/// use sse_hub::topics::{Matcher, Topic};
///
/// let hub = url::Url::parse("https://example.com/.well-known/mercure")?;
/// let books = Matcher::url_pattern("/books/:id", &hub)?;
/// assert!(books.matches(&Topic::new("https://example.com/books/1", &hub)));
/// assert!(books.matches(&Topic::new("/books/2", &hub)));
/// assert!(!books.matches(&Topic::new("https://example.com/authors/1", &hub)));
///
/// let legacy = Matcher::uri_template("https://example.com/books/{id}")?;
/// assert!(legacy.matches(&Topic::new("https://example.com/books/1", &hub)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Matcher {
    kind: MatchType,
    pattern: Box<str>,
    /// Shared by every matcher of the same compiled pattern (see
    /// [`compiled`]).
    how: Arc<How>,
}

enum How {
    Any,
    Exact,
    UrlPattern(Box<urlpattern::UrlPattern<LazyRegex>>),
    Template(regex::Regex),
}

/// A regular expression for `urlpattern`, checked when parsed but compiled
/// only when first used.
///
/// `urlpattern` compiles one expression per URL component (eight per
/// pattern), but matches most components without them (literals, `*`,
/// `:name`): compiled eagerly, an idle pattern cost about 100 KB of heap
/// (measured: 120 KB of RSS per idle subscriber with a pattern of its own,
/// against 21 KB for `sse serve`). Checked with `regex-syntax` and kept as
/// text, one costs its text.
struct LazyRegex {
    pattern: String,
    compiled: std::sync::OnceLock<Option<regex::Regex>>,
}

impl urlpattern::regexp::RegExp for LazyRegex {
    fn syntax() -> urlpattern::RegexSyntax {
        urlpattern::RegexSyntax::Rust
    }

    fn parse(pattern: &str, _flags: &str, _force_eval: bool) -> Result<Self, ()> {
        regex_syntax::Parser::new().parse(pattern).map_err(|_| ())?;
        Ok(LazyRegex {
            pattern: pattern.to_owned(),
            compiled: std::sync::OnceLock::new(),
        })
    }

    fn matches<'a>(&self, text: &'a str) -> Option<Vec<Option<&'a str>>> {
        let regex = self
            .compiled
            .get_or_init(|| regex::Regex::new(&self.pattern).ok())
            .as_ref()?;
        let captures = regex.captures(text)?;
        Some(
            captures
                .iter()
                .skip(1)
                .map(|c| c.map(|m| m.as_str()))
                .collect(),
        )
    }

    fn pattern_string(&self) -> &str {
        &self.pattern
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matcher")
            .field("kind", &self.kind)
            .field("pattern", &self.pattern)
            .finish()
    }
}

impl Matcher {
    /// The matcher `kind` of `pattern`; `*` matches every topic whatever the
    /// kind, as Mercure reserves it.
    ///
    /// # Errors
    ///
    /// A pattern longer than [`MAX_PATTERN_LEN`], holding a control
    /// character, or invalid for its kind.
    pub fn new(kind: MatchType, pattern: &str, base: &Url) -> Result<Self, InvalidMatcher> {
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(InvalidMatcher::new(
                kind,
                format!("longer than {MAX_PATTERN_LEN} bytes"),
            ));
        }
        if pattern.chars().any(is_control) {
            return Err(InvalidMatcher::new(kind, "control character"));
        }
        let how = if pattern == "*" {
            Arc::new(How::Any)
        } else {
            match kind {
                MatchType::Exact => Arc::new(How::Exact),
                MatchType::UriTemplate if !pattern.contains(['{', '}']) => Arc::new(How::Exact),
                MatchType::UrlPattern => compiled(kind, pattern, base.as_str(), || {
                    Ok(How::UrlPattern(Box::new(url_pattern(pattern, base)?)))
                })?,
                MatchType::UriTemplate => compiled(kind, pattern, "", || {
                    Ok(How::Template(template_regex(pattern)?))
                })?,
            }
        };
        Ok(Matcher {
            kind,
            pattern: pattern.into(),
            how,
        })
    }

    /// Matches `pattern` byte for byte (or every topic, for `*`).
    pub fn exact(pattern: &str) -> Self {
        let how = Arc::new(if pattern == "*" { How::Any } else { How::Exact });
        Matcher {
            kind: MatchType::Exact,
            pattern: pattern.into(),
            how,
        }
    }

    /// A URL pattern, resolved against `base` (the hub's URL) when relative.
    ///
    /// # Errors
    ///
    /// As [`Matcher::new`].
    pub fn url_pattern(pattern: &str, base: &Url) -> Result<Self, InvalidMatcher> {
        Self::new(MatchType::UrlPattern, pattern, base)
    }

    /// An RFC 6570 URI template (or a plain string, compared byte for byte).
    ///
    /// # Errors
    ///
    /// As [`Matcher::new`].
    pub fn uri_template(pattern: &str) -> Result<Self, InvalidMatcher> {
        // No base is used for templates.
        static NO_BASE: std::sync::OnceLock<Url> = std::sync::OnceLock::new();
        let base = NO_BASE.get_or_init(|| Url::parse("http://localhost/").expect("a valid URL"));
        Self::new(MatchType::UriTemplate, pattern, base)
    }

    /// Its type.
    pub fn kind(&self) -> MatchType {
        self.kind
    }

    /// The pattern as given.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether it matches every topic (`*`).
    pub fn is_any(&self) -> bool {
        matches!(*self.how, How::Any)
    }

    /// Whether `topic` matches.
    pub fn matches(&self, topic: &Topic) -> bool {
        match &*self.how {
            How::Any => true,
            How::Exact => *self.pattern == *topic.raw,
            How::UrlPattern(pattern) => topic.url.as_ref().is_some_and(|url| {
                // `UrlPattern::test`, without its per-call copies of the
                // URL and its components, and stopping at the first
                // component that differs (the path, most often).
                let component = |c: &urlpattern::component::Component<LazyRegex>, text: &str| {
                    c.matcher.matches(text).is_some()
                };
                component(&pattern.pathname, &url.pathname)
                    && component(&pattern.hostname, &url.hostname)
                    && component(&pattern.protocol, &url.protocol)
                    && component(&pattern.port, &url.port)
                    && component(&pattern.search, &url.search)
                    && component(&pattern.hash, &url.hash)
                    && component(&pattern.username, &url.username)
                    && component(&pattern.password, &url.password)
            }),
            How::Template(regex) => regex.is_match(&topic.raw),
        }
    }
}

/// A pattern compiled once while any matcher uses it: every subscription
/// and token that names the same pattern (against the same base) shares
/// one compiled form, so that a thousand subscribers with one pattern
/// compile it once and hold it once.
fn compiled(
    kind: MatchType,
    pattern: &str,
    base: &str,
    compile: impl FnOnce() -> Result<How, InvalidMatcher>,
) -> Result<Arc<How>, InvalidMatcher> {
    type Cache = HashMap<(MatchType, Box<str>, Box<str>), Weak<How>>;
    static CACHE: Mutex<Option<Cache>> = Mutex::new(None);
    let key = (kind, Box::<str>::from(pattern), Box::<str>::from(base));
    if let Some(how) = crate::lock::lock(&CACHE)
        .as_ref()
        .and_then(|c| c.get(&key)?.upgrade())
    {
        return Ok(how);
    }
    // Compiled outside the lock: a long pattern does not hold up others.
    let how = Arc::new(compile()?);
    let mut cache = crate::lock::lock(&CACHE);
    let cache = cache.get_or_insert_with(HashMap::new);
    cache.insert(key, Arc::downgrade(&how));
    // Forget the patterns no matcher uses any more, whenever the cache has
    // doubled: amortized O(1) per insert, and at most twice the live ones.
    if cache.len().is_power_of_two() && cache.len() >= 64 {
        cache.retain(|_, how| how.strong_count() > 0);
    }
    Ok(how)
}

/// C0, DEL and C1 controls, which Mercure forbids in topics and matchers.
pub(crate) fn is_control(c: char) -> bool {
    c.is_control()
}

fn url_pattern(
    pattern: &str,
    base: &Url,
) -> Result<urlpattern::UrlPattern<LazyRegex>, InvalidMatcher> {
    let invalid =
        |err: urlpattern::Error| InvalidMatcher::new(MatchType::UrlPattern, err.to_string());
    let init = urlpattern::UrlPatternInit::parse_constructor_string::<LazyRegex>(
        pattern,
        Some(base.clone()),
    )
    .map_err(invalid)?;
    // `ignoreCase` stays off, as Mercure requires.
    urlpattern::UrlPattern::parse(init, urlpattern::UrlPatternOptions::default()).map_err(invalid)
}

/// An RFC 6570 template as an anchored regular expression that matches
/// every expansion of it (levels 1 to 4), as the legacy Mercure hub does.
///
/// Each expression matches what its operator's expansion can produce: the
/// unreserved characters and percent-escapes, the reserved ones too for `+`
/// and `#`, and its separators. Literals match themselves.
fn template_regex(template: &str) -> Result<regex::Regex, InvalidMatcher> {
    let invalid = |reason: &str| InvalidMatcher::new(MatchType::UriTemplate, reason);
    const UNRESERVED: &str = r"[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2}";
    const RESERVED: &str = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2}";
    let mut re = String::from("^");
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err(invalid("unmatched '}'"));
        }
        re.push_str(&regex::escape(&rest[..open]));
        let close = rest[open..]
            .find('}')
            .map(|at| open + at)
            .ok_or_else(|| invalid("unclosed '{'"))?;
        let expression = &rest[open + 1..close];
        let (operator, variables) = match expression.chars().next() {
            Some(op @ ('+' | '#' | '.' | '/' | ';' | '?' | '&')) => (Some(op), &expression[1..]),
            _ => (None, expression),
        };
        let valid_name = |spec: &str| {
            let name = spec.strip_suffix('*').unwrap_or(spec);
            let name = name.split_once(':').map_or(name, |(name, prefix)| {
                if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
                    ""
                } else {
                    name
                }
            });
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'%')
        };
        if variables.is_empty() || !variables.split(',').all(valid_name) {
            return Err(invalid("invalid expression"));
        }
        re.push_str(&match operator {
            None => format!("(?:{UNRESERVED}|,)*"),
            Some('+') => format!("(?:{RESERVED})*"),
            Some('#') => format!("(?:#(?:{RESERVED})*)?"),
            Some('.') => format!(r"(?:\.(?:{UNRESERVED}|,)*)*"),
            Some('/') => format!("(?:/(?:{UNRESERVED}|,)*)*"),
            Some(';') => format!("(?:;(?:{UNRESERVED}|[=,])*)*"),
            Some('?') => format!(r"(?:\?(?:{UNRESERVED}|[=,&])*)?"),
            Some(_) => format!("(?:&(?:{UNRESERVED}|[=,&])*)*"),
        });
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err(invalid("unmatched '}'"));
    }
    re.push_str(&regex::escape(rest));
    re.push('$');
    regex::Regex::new(&re).map_err(|err| invalid(&err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://example.com/.well-known/mercure").unwrap()
    }

    fn hits(m: &Matcher, topic: &str) -> bool {
        m.matches(&Topic::new(topic, &base()))
    }

    #[test]
    fn exact_is_byte_for_byte() {
        let m = Matcher::exact("https://example.com/foo");
        assert!(hits(&m, "https://example.com/foo"));
        assert!(!hits(&m, "https://EXAMPLE.com/foo"));
        assert!(!hits(&m, "https://example.com/foo/"));
        assert!(!hits(&m, "/foo"), "exact never resolves relative topics");
    }

    #[test]
    fn star_matches_everything_whatever_the_type() {
        for kind in [
            MatchType::Exact,
            MatchType::UrlPattern,
            MatchType::UriTemplate,
        ] {
            let m = Matcher::new(kind, "*", &base()).unwrap();
            assert!(hits(&m, "anything at all"));
        }
    }

    #[test]
    fn url_patterns_resolve_relative_patterns_and_topics_against_the_hub() {
        let m = Matcher::url_pattern("/books/:id", &base()).unwrap();
        assert!(hits(&m, "https://example.com/books/1"));
        assert!(hits(&m, "/books/1"));
        assert!(!hits(&m, "https://other.example/books/1"));
        assert!(!hits(&m, "https://example.com/books/1/2"));
        let host = Matcher::url_pattern("https://example.com/:x", &base()).unwrap();
        assert!(
            hits(&host, "https://EXAMPLE.COM/a"),
            "hosts compare case-insensitively"
        );
        assert!(!hits(&host, "https://example.com/A/b"));
    }

    #[test]
    fn uri_templates_match_their_expansions() {
        let m = Matcher::uri_template("https://example.com/books/{id}").unwrap();
        assert!(hits(&m, "https://example.com/books/1"));
        assert!(hits(&m, "https://example.com/books/a%20b"));
        assert!(!hits(&m, "https://example.com/books/1/2"));
        assert!(!hits(&m, "https://example.com/authors/1"));
        let reserved = Matcher::uri_template("https://example.com/{+path}").unwrap();
        assert!(hits(&reserved, "https://example.com/a/b/c"));
        let query = Matcher::uri_template("/search{?q,lang}").unwrap();
        assert!(hits(&query, "/search?q=cat&lang=en"));
        assert!(hits(&query, "/search"));
        let plain = Matcher::uri_template("foo.bar").unwrap();
        assert!(hits(&plain, "foo.bar"));
        assert!(
            !hits(&plain, "fooxbar"),
            "a dot in a literal is not a wildcard"
        );
    }

    #[test]
    fn url_patterns_match_as_the_urlpattern_crates_own_test_does() {
        let patterns = [
            "/books/:id",
            "https://example.com/books/:id",
            "https://*.example.com/*",
            "http{s}?://example.com/books/:id(\\d+)",
            "/books/:id?",
            "/search?q=:term",
            "/a/*#:frag",
            "https://example.com:8080/*",
            "/(a+)+b",
            // Not `*`: Mercure reserves it for every topic, before any
            // matcher type (tested above).
        ];
        let topics = [
            "/books/1",
            "https://example.com/books/12",
            "http://example.com/books/12",
            "https://example.com/books/x",
            "https://api.example.com/v1",
            "https://example.com:8080/x",
            "/books",
            "/search?q=cats",
            "/a/b#top",
            "not a url at all",
            "urn:isbn:1",
            "aaaab",
        ];
        for p in patterns {
            let ours = Matcher::url_pattern(p, &base()).unwrap();
            let init = urlpattern::UrlPatternInit::parse_constructor_string::<regex::Regex>(
                p,
                Some(base()),
            )
            .unwrap();
            let theirs =
                urlpattern::UrlPattern::<regex::Regex>::parse(init, Default::default()).unwrap();
            for t in topics {
                let expected = base().join(t).ok().is_some_and(|url| {
                    theirs
                        .test(urlpattern::UrlPatternMatchInput::Url(url))
                        .unwrap()
                });
                assert_eq!(hits(&ours, t), expected, "{p} against {t}");
            }
        }
    }

    #[test]
    fn invalid_patterns_are_refused() {
        assert!(Matcher::uri_template("/books/{id").is_err());
        assert!(Matcher::uri_template("/books/id}").is_err());
        assert!(Matcher::uri_template("/books/{}").is_err());
        assert!(Matcher::url_pattern("/books/(", &base()).is_err());
        assert!(Matcher::new(MatchType::Exact, "a\u{7}b", &base()).is_err());
        let long = "a".repeat(MAX_PATTERN_LEN + 1);
        assert!(Matcher::new(MatchType::Exact, &long, &base()).is_err());
    }

    #[test]
    fn a_pathological_pattern_takes_linear_time() {
        // A backtracking engine takes exponential time on this pair; the
        // regex crate's automata take one pass. Bounded by the input size,
        // not by a clock.
        let m = Matcher::url_pattern("/(a+)+b", &base()).unwrap();
        let topic = format!("/{}c", "a".repeat(2000));
        assert!(!hits(&m, &topic));
    }
}
