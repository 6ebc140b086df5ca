//! The line layer: pure functions on byte slices, no allocation, no buffers.
//!
//! Everything here follows the grammar and the field rules of the WHATWG HTML
//! standard, [§9.2.5 "Parsing an event stream"][parsing] and
//! [§9.2.6 "Interpreting an event stream"][interpreting]. The stateful parts
//! (chunk boundaries, buffering, dispatch) live in `decode.rs`.
//!
//! [parsing]: https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
//! [interpreting]: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

use std::time::Duration;

/// The UTF-8 byte order mark, stripped once at the start of a stream.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The event type a browser uses when none is given (no `event` field, or
/// an empty one).
pub(crate) const DEFAULT_EVENT_TYPE: &str = "message";

/// Field names. The spec compares them case-sensitively, byte for byte.
pub(crate) const DATA: &[u8] = b"data";
/// `data` and its colon: how nearly every data line starts.
pub(crate) const DATA_FIELD: &[u8] = b"data:";
pub(crate) const EVENT: &[u8] = b"event";
pub(crate) const ID: &[u8] = b"id";
pub(crate) const RETRY: &[u8] = b"retry";

/// Where the first line of a buffer ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LineEnd {
    /// Length of the line, without its end-of-line bytes.
    pub(crate) len: usize,
    /// Offset just past the end-of-line bytes: where the next line starts.
    pub(crate) next: usize,
    /// The line ended with a CR that is the buffer's last byte, so a LF at
    /// the start of the next buffer belongs to this line end (CRLF split
    /// across chunks) and must be skipped.
    pub(crate) cr_at_end: bool,
}

/// A search for the next CR or LF: `memchr`'s AVX2 searcher when the CPU
/// has AVX2, made once per decoder, so each line costs one direct call
/// instead of a dispatch through `memchr2` (which its profile showed as a
/// fifth of the search time on short lines).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LineBreaks {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::Two>,
}

impl LineBreaks {
    /// The searcher for this CPU, made the first time it is needed.
    #[inline]
    pub(crate) fn get() -> &'static LineBreaks {
        static BREAKS: std::sync::OnceLock<LineBreaks> = std::sync::OnceLock::new();
        BREAKS.get_or_init(LineBreaks::new)
    }

    fn new() -> Self {
        LineBreaks {
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::memchr::Two::new(b'\r', b'\n'),
        }
    }

    /// The offset of the first CR or LF in `haystack`.
    #[inline]
    pub(crate) fn find(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = &self.avx2 {
            return avx2.find(haystack);
        }
        memchr::memchr2(b'\r', b'\n', haystack)
    }

    /// The offset of the last CR or LF in `haystack`.
    #[inline]
    pub(crate) fn rfind(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = &self.avx2 {
            return avx2.rfind(haystack);
        }
        memchr::memrchr2(b'\r', b'\n', haystack)
    }
}

/// Finds the end of the first line in `buf`: CRLF, LF or a lone CR.
///
/// Returns `None` when `buf` holds no line end yet. A CR that is the last byte
/// of `buf` ends the line at once (a lone CR is a line end, and waiting for
/// the next byte would delay dispatch); `cr_at_end` tells the caller to skip a
/// LF that may follow.
#[inline]
pub(crate) fn find_line_end(breaks: &LineBreaks, buf: &[u8]) -> Option<LineEnd> {
    // Nearly every event ends with a blank line: test the first byte before
    // paying for a search.
    let len = match buf.first()? {
        b'\r' | b'\n' => 0,
        _ => breaks.find(buf)?,
    };
    if buf[len] == b'\n' {
        return Some(LineEnd {
            len,
            next: len + 1,
            cr_at_end: false,
        });
    }
    Some(match buf.get(len + 1) {
        Some(b'\n') => LineEnd {
            len,
            next: len + 2,
            cr_at_end: false,
        },
        Some(_) => LineEnd {
            len,
            next: len + 1,
            cr_at_end: false,
        },
        None => LineEnd {
            len,
            next: len + 1,
            cr_at_end: true,
        },
    })
}

/// Values up to this long are checked by [`short_has_line_break`]: below
/// it a search call costs more than the check (sse-stream draws the same
/// line at 16).
const SHORT: usize = 16;

/// Whether `value` holds a CR or a LF (or, with `nul`, a NUL): what makes
/// an event type or id unwritable, and data span several lines.
#[inline]
pub(crate) fn has_line_break(value: &[u8], nul: bool) -> bool {
    if value.len() <= SHORT {
        return short_has_line_break(value, nul);
    }
    match nul {
        false => LineBreaks::get().find(value).is_some(),
        true => memchr::memchr3(b'\r', b'\n', 0, value).is_some(),
    }
}

/// [`has_line_break`] for a value of at most [`SHORT`] bytes, a word at a
/// time: two overlapping 8-byte (or 4-byte) reads cover the value, and each
/// word is tested for the bytes with the exact "has a zero byte" bit trick
/// (no branch per byte, no call).
#[inline]
fn short_has_line_break(value: &[u8], nul: bool) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let test = |word: u64| {
        let found =
            zero_byte(word ^ (LO * u64::from(b'\r'))) | zero_byte(word ^ (LO * u64::from(b'\n')));
        (found | if nul { zero_byte(word) } else { 0 }) != 0
    };
    let len = value.len();
    let word = |at: usize| u64::from_le_bytes(value[at..at + 8].try_into().unwrap_or_default());
    let half = |at: usize| {
        u64::from(u32::from_le_bytes(
            value[at..at + 4].try_into().unwrap_or_default(),
        ))
    };
    match len {
        8.. => test(word(0)) || test(word(len - 8)),
        // Both halves are bytes of the value: no padding to confuse the test.
        4..=7 => test(half(0) | half(len - 4) << 32),
        _ => value
            .iter()
            .any(|&b| b == b'\r' || b == b'\n' || (nul && b == 0)),
    }
}

/// What is wrong with an id that [`has_line_break`] refused: its first
/// offending byte decides.
#[cold]
pub(crate) fn id_error(id: &[u8]) -> crate::error::InvalidFieldKind {
    match memchr::memchr3(b'\r', b'\n', 0, id).map(|i| id[i]) {
        Some(0) => crate::error::InvalidFieldKind::IdNul,
        _ => crate::error::InvalidFieldKind::IdLineBreak,
    }
}

/// One complete line of an event stream, classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// An empty line: dispatch the event.
    Blank,
    /// A line starting with a colon; the text after the colon.
    Comment(&'a [u8]),
    /// A field with its value (one leading space already removed).
    Field(Field, &'a [u8]),
}

/// The fields the spec gives a meaning to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Data,
    Event,
    Id,
    Retry,
    /// Any other name: the spec says to ignore the field.
    Unknown,
}

/// Classifies one complete line (without its end-of-line bytes).
///
/// "If the line contains a U+003A COLON character, collect the characters on
/// the line before the first colon, and let *field* be that string. Collect
/// the characters on the line after the first colon, and let *value* be that
/// string. If *value* starts with a U+0020 SPACE character, remove it from
/// *value*." A line without a colon is a field whose value is empty.
#[inline]
pub(crate) fn parse_line(line: &[u8]) -> Line<'_> {
    if line.is_empty() {
        return Line::Blank;
    }
    // The fields servers send, recognised by prefix without a search.
    for (prefix, field) in KNOWN_PREFIXES {
        if let Some(value) = line.strip_prefix(*prefix) {
            return Line::Field(*field, strip_space(value));
        }
    }
    let (name, value) = match memchr::memchr(b':', line) {
        None => (line, &line[line.len()..]),
        Some(0) => return Line::Comment(&line[1..]),
        Some(colon) => (&line[..colon], strip_space(&line[colon + 1..])),
    };
    let field = match name {
        DATA => Field::Data,
        EVENT => Field::Event,
        ID => Field::Id,
        RETRY => Field::Retry,
        _ => Field::Unknown,
    };
    Line::Field(field, value)
}

/// Each known field name with its colon, most frequent first.
const KNOWN_PREFIXES: &[(&[u8], Field)] = &[
    (b"data:", Field::Data),
    (b"id:", Field::Id),
    (b"event:", Field::Event),
    (b"retry:", Field::Retry),
];

/// "If value starts with a U+0020 SPACE character, remove it from value."
#[inline]
fn strip_space(value: &[u8]) -> &[u8] {
    value.strip_prefix(b" ").unwrap_or(value)
}

/// Interprets a `retry` value: "If the field value consists of only ASCII
/// digits, then interpret the field value as an integer in base ten" (in
/// milliseconds). Anything else, including the empty value, is ignored.
///
/// The spec puts no upper bound on the integer; a value past `u64::MAX`
/// milliseconds is ignored, as Chromium ignores it (its `EventSourceParser`
/// takes the value only if `ToUInt64Strict` succeeds), so that no single
/// line can set a reconnection time no browser would use.
#[inline]
pub(crate) fn parse_retry(value: &[u8]) -> Option<Duration> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let ms = value.iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })?;
    Some(Duration::from_millis(ms))
}

/// Splits `text` into lines at CRLF, LF and lone CR, the way the decoder
/// does. Text ending in a line break yields a final empty line; empty text
/// yields one empty line.
pub(crate) fn lines(text: &[u8]) -> Lines<'_> {
    Lines {
        rest: Some(text),
        breaks: *LineBreaks::get(),
    }
}

/// The iterator returned by [`lines`].
#[derive(Debug)]
pub(crate) struct Lines<'a> {
    rest: Option<&'a [u8]>,
    breaks: LineBreaks,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match find_line_end(&self.breaks, rest) {
            Some(end) => {
                self.rest = Some(&rest[end.next..]);
                Some(&rest[..end.len])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(len: usize, next: usize, cr_at_end: bool) -> Option<LineEnd> {
        Some(LineEnd {
            len,
            next,
            cr_at_end,
        })
    }

    #[test]
    fn line_ends() {
        assert_eq!(find_line_end(LineBreaks::get(), b"abc"), None);
        assert_eq!(find_line_end(LineBreaks::get(), b""), None);
        assert_eq!(
            find_line_end(LineBreaks::get(), b"ab\ncd"),
            end(2, 3, false)
        );
        assert_eq!(
            find_line_end(LineBreaks::get(), b"ab\r\ncd"),
            end(2, 4, false)
        );
        assert_eq!(
            find_line_end(LineBreaks::get(), b"ab\rcd"),
            end(2, 3, false)
        );
        assert_eq!(find_line_end(LineBreaks::get(), b"ab\r"), end(2, 3, true));
        assert_eq!(find_line_end(LineBreaks::get(), b"\n\r"), end(0, 1, false));
        assert_eq!(
            find_line_end(LineBreaks::get(), b"\r\r\n"),
            end(0, 1, false)
        );
    }

    /// Every place in every length up to 40 (the word-at-a-time check and
    /// the edges of its overlapping reads), and a few places in longer
    /// values (the searches).
    #[test]
    fn line_breaks_found_in_short_and_long_values() {
        for len in (0..40).chain([127, 128, 129, 300]) {
            let clean = vec![b'a'; len];
            assert!(!has_line_break(&clean, true), "{len}");
            // Bytes next to the ones looked for, in case of an off-by-one.
            assert!(!has_line_break(&vec![b'\x0b'; len], true), "{len}");
            let places: Vec<usize> = match len {
                0..40 => (0..len).collect(),
                _ => vec![0, len / 2, len - 1],
            };
            for at in places {
                for (byte, nul_only) in [(b'\r', false), (b'\n', false), (0, true)] {
                    let mut value = clean.clone();
                    value[at] = byte;
                    assert!(has_line_break(&value, true), "{len} {at} {byte}");
                    let found = has_line_break(&value, false);
                    assert_eq!(found, !nul_only, "{len} {at} {byte}");
                }
            }
        }
    }

    #[test]
    fn lines_classify() {
        assert_eq!(parse_line(b""), Line::Blank);
        assert_eq!(parse_line(b":"), Line::Comment(b""));
        assert_eq!(parse_line(b": hi"), Line::Comment(b" hi"));
        assert_eq!(parse_line(b"data"), Line::Field(Field::Data, b""));
        assert_eq!(parse_line(b"data:"), Line::Field(Field::Data, b""));
        assert_eq!(parse_line(b"data: x"), Line::Field(Field::Data, b"x"));
        assert_eq!(parse_line(b"data:  x"), Line::Field(Field::Data, b" x"));
        assert_eq!(parse_line(b"data:x: y"), Line::Field(Field::Data, b"x: y"));
        assert_eq!(parse_line(b"Data:x"), Line::Field(Field::Unknown, b"x"));
        assert_eq!(parse_line(b"data :x"), Line::Field(Field::Unknown, b"x"));
        assert_eq!(parse_line(b"event:e"), Line::Field(Field::Event, b"e"));
        assert_eq!(parse_line(b"id"), Line::Field(Field::Id, b""));
        assert_eq!(parse_line(b"retry:1"), Line::Field(Field::Retry, b"1"));
    }

    #[test]
    fn retry_values() {
        assert_eq!(parse_retry(b"1000"), Some(Duration::from_millis(1000)));
        assert_eq!(parse_retry(b"03000"), Some(Duration::from_millis(3000)));
        assert_eq!(parse_retry(b"0"), Some(Duration::ZERO));
        assert_eq!(parse_retry(b""), None);
        assert_eq!(parse_retry(b" 1"), None);
        assert_eq!(parse_retry(b"1000x"), None);
        assert_eq!(parse_retry(b"-1"), None);
        assert_eq!(parse_retry(b"1.5"), None);
        assert_eq!(parse_retry(b"99999999999999999999999"), None);
        assert_eq!(parse_retry(b"18446744073709551616"), None);
        assert_eq!(
            parse_retry(b"18446744073709551615"),
            Some(Duration::from_millis(u64::MAX))
        );
    }

    #[test]
    fn lines_split_like_the_decoder() {
        let split = |t: &'static [u8]| lines(t).collect::<Vec<_>>();
        assert_eq!(split(b""), [b"" as &[u8]]);
        assert_eq!(split(b"a"), [b"a" as &[u8]]);
        assert_eq!(split(b"a\n"), [b"a" as &[u8], b""]);
        assert_eq!(split(b"a\r\nb\rc\nd"), [b"a" as &[u8], b"b", b"c", b"d"]);
        assert_eq!(split(b"\r\n\r\n"), [b"" as &[u8], b"", b""]);
    }
}
