//! [`ByteStr`]: a [`Bytes`] known to be UTF-8.
//!
//! This is the only module of the crate with `unsafe` code: one block that
//! views the validated bytes as `str` without validating them again. Every
//! constructor states how it upholds the invariant that makes this sound (the
//! habit of `http`'s `byte_str.rs`).

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// An immutable, cheaply cloneable string that shares its storage with the
/// [`Bytes`] it was made from.
///
/// Decoded events hand out their fields as `ByteStr`, so that the data of an
/// event is a slice of the chunk it was read from rather than a copy; cloning
/// a `ByteStr` is an `O(1)` reference count increment. It dereferences to
/// [`str`] at no cost: the UTF-8 check happens once, when it is made.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use sse_codec::ByteStr;
///
/// let s = ByteStr::from_utf8(Bytes::from_static(b"caf\xC3\xA9")).unwrap();
/// assert_eq!(&*s, "café");
/// assert_eq!(s.len(), 5);
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteStr {
    // Invariant: `bytes` contains valid UTF-8.
    bytes: Bytes,
}

impl ByteStr {
    /// Creates an empty `ByteStr`. This does not allocate.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sse_codec::ByteStr::new().is_empty());
    /// ```
    #[inline]
    pub const fn new() -> Self {
        // Invariant: the empty string is valid UTF-8.
        ByteStr {
            bytes: Bytes::new(),
        }
    }

    /// Creates a `ByteStr` that points at a static string. This does not
    /// allocate or copy.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = sse_codec::ByteStr::from_static("keep-alive");
    /// assert_eq!(s, "keep-alive");
    /// ```
    #[inline]
    pub const fn from_static(s: &'static str) -> Self {
        // Invariant: `s` is a `str`, so its bytes are valid UTF-8.
        ByteStr {
            bytes: Bytes::from_static(s.as_bytes()),
        }
    }

    /// Takes `bytes` if they are valid UTF-8, without copying them.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use sse_codec::ByteStr;
    ///
    /// assert_eq!(ByteStr::from_utf8(Bytes::from_static(b"ok")).unwrap(), "ok");
    /// ```
    ///
    /// # Errors
    ///
    /// Returns the [`Utf8Error`](std::str::Utf8Error) describing the first
    /// invalid sequence if `bytes` is not UTF-8:
    ///
    /// ```
    /// use bytes::Bytes;
    /// use sse_codec::ByteStr;
    ///
    /// assert!(ByteStr::from_utf8(Bytes::from_static(b"\xFF")).is_err());
    /// ```
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        // Invariant: just checked.
        Ok(ByteStr { bytes })
    }

    /// Decodes `bytes` as UTF-8 the way the WHATWG *UTF-8 decode* algorithm
    /// does: each invalid sequence becomes U+FFFD REPLACEMENT CHARACTER.
    ///
    /// Valid input (the normal case) is kept as it is, without a copy; only
    /// invalid input allocates a new, repaired string.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use sse_codec::ByteStr;
    ///
    /// let s = ByteStr::from_utf8_lossy(Bytes::from_static(b"a\xFFb"));
    /// assert_eq!(s, "a\u{FFFD}b");
    /// ```
    pub fn from_utf8_lossy(bytes: Bytes) -> Self {
        // A whole-input check is much faster than the lossy iterator on
        // valid input, the case that matters.
        if simdutf8::basic::from_utf8(&bytes).is_ok() {
            // Invariant: just checked.
            return ByteStr { bytes };
        }
        Self::from(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Takes `bytes` if they are valid UTF-8, checked with `simdutf8` (the
    /// fast check for the decoder's one pass per chunk).
    pub(crate) fn from_utf8_checked(bytes: Bytes) -> Option<Self> {
        simdutf8::basic::from_utf8(&bytes).ok()?;
        // Invariant: just checked.
        Some(ByteStr { bytes })
    }

    /// The part of the string at byte offsets `start..end`, sharing its
    /// storage; `None` if an offset is out of range or not on a character
    /// boundary.
    pub(crate) fn substr(&self, start: usize, end: usize) -> Option<Self> {
        self.as_str().get(start..end)?;
        // Invariant: a part of a valid string that starts and ends on
        // character boundaries (just checked) is valid.
        Some(ByteStr {
            bytes: self.bytes.slice(start..end),
        })
    }

    /// Views the string as `&str`.
    #[inline]
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor of `ByteStr` ensures that `bytes` is valid
        // UTF-8, and `bytes` is never mutated.
        unsafe { std::str::from_utf8_unchecked(&self.bytes) }
    }

    /// Views the string as its UTF-8 bytes.
    #[inline]
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Returns the underlying [`Bytes`], without copying.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = sse_codec::ByteStr::from_static("x");
    /// assert_eq!(s.into_bytes(), "x".as_bytes());
    /// ```
    #[inline]
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }
}

impl Deref for ByteStr {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ByteStr {
    #[inline]
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for ByteStr {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Borrow<str> for ByteStr {
    #[inline]
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<String> for ByteStr {
    /// Takes the string's buffer without copying it.
    #[inline]
    fn from(s: String) -> Self {
        // Invariant: `s` is a `String`, so its bytes are valid UTF-8.
        ByteStr {
            bytes: Bytes::from(s.into_bytes()),
        }
    }
}

impl From<&str> for ByteStr {
    /// Copies the string. Use [`ByteStr::from_static`] for literals to avoid
    /// the copy.
    #[inline]
    fn from(s: &str) -> Self {
        // Invariant: `s` is a `str`, so its bytes are valid UTF-8.
        ByteStr {
            bytes: Bytes::copy_from_slice(s.as_bytes()),
        }
    }
}

impl From<ByteStr> for Bytes {
    #[inline]
    fn from(s: ByteStr) -> Self {
        s.bytes
    }
}

impl PartialEq<str> for ByteStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ByteStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for ByteStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<ByteStr> for str {
    fn eq(&self, other: &ByteStr) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<ByteStr> for &str {
    fn eq(&self, other: &ByteStr) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_keeps_valid_input_without_copy() {
        let bytes = Bytes::from(b"hello world".to_vec());
        let ptr = bytes.as_ptr();
        let s = ByteStr::from_utf8_lossy(bytes);
        assert_eq!(s, "hello world");
        assert_eq!(s.as_bytes().as_ptr(), ptr);
    }

    #[test]
    fn lossy_replaces_each_invalid_sequence() {
        // Maximal subparts, as the WHATWG UTF-8 decoder does: E2 82 is one
        // truncated sequence, FF one invalid byte.
        let s = ByteStr::from_utf8_lossy(Bytes::from_static(b"\xE2\x82x\xFFy"));
        assert_eq!(s, "\u{FFFD}x\u{FFFD}y");
    }

    #[test]
    fn strict_rejects_invalid_input() {
        assert!(ByteStr::from_utf8(Bytes::from_static(b"ok\xC0")).is_err());
        assert_eq!(
            ByteStr::from_utf8(Bytes::from_static(b"\xC3\xA9")).unwrap(),
            "é"
        );
    }

    #[test]
    fn conversions_round_trip() {
        let s = ByteStr::from(String::from("abc"));
        assert_eq!(s.as_str(), "abc");
        assert_eq!(&*ByteStr::from("x"), "x");
        assert_eq!(Bytes::from(s), Bytes::from_static(b"abc"));
        assert_eq!(format!("{:?}", ByteStr::from_static("a\n")), "\"a\\n\"");
        assert_eq!(ByteStr::from_static("z").to_string(), "z");
    }
}
