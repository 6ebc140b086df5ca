//! Spec conformance, table-driven.
//!
//! Each case is decoded four ways (whole, split at every offset, one byte at
//! a time, events-only through `decode_eof`; see `support::decode_four_ways`)
//! and by the naive reference decoder, and all must produce the expected
//! frames.
//!
//! Cases marked WPT are ported from web-platform-tests, `eventsource/`
//! (<https://github.com/web-platform-tests/wpt/tree/master/eventsource>).
//! Those tests serve their stream through `resources/message.py`, which
//! appends `"\n\n\n"` to the message, or `"\n"` with `newline=none`; the
//! inputs below include what it appends. The others cite the step of the
//! WHATWG "Interpreting an event stream" algorithm they check
//! (<https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>).

mod support;

use std::time::Duration;

use bytes::Bytes;
use sse_codec::EventDecoder;
use support::{comment, decode_four_ways, ev, naive, retry, Expect, Out};

macro_rules! spec_cases {
    ($(
        $(#[$meta:meta])*
        $name:ident: $input:expr => [$($frame:expr),* $(,)?]
        $(, last_event_id = $id:expr)?
        $(, retry = $retry:expr)?
        ;
    )*) => {$(
        $(#[$meta])*
        #[test]
        fn $name() {
            let input: &[u8] = $input;
            let expected: Vec<Out> = vec![$(Out::Frame($frame)),*];
            let outcome = decode_four_ways(EventDecoder::new, input);
            assert_eq!(outcome.out, expected, "decoder");
            let (frames, naive_id, naive_retry) = naive::decode(input, "");
            assert_eq!(frames.into_iter().map(Out::Frame).collect::<Vec<_>>(), expected, "naive");
            assert_eq!(outcome.last_event_id.as_deref().unwrap_or(""), naive_id);
            assert_eq!(outcome.retry, naive_retry);
            $( assert_eq!(outcome.last_event_id.as_deref(), $id, "last event id"); )?
            $( assert_eq!(outcome.retry, Some(Duration::from_millis($retry)), "retry"); )?
        }
    )*};
}

fn long_comment_stream() -> Vec<u8> {
    let long = "x".repeat(2 * 1024);
    format!("data:1\r:\0\n:\r\ndata:2\n:{long}\rdata:3\n:data:fail\r:{long}\ndata:4\n\n")
        .into_bytes()
}

spec_cases! {
    // ===== web-platform-tests =====

    /// WPT format-bom.js: the BOM is stripped at the start only; a later
    /// U+FEFF is part of the field name, which is then unknown.
    wpt_bom: b"\xEF\xBB\xBFdata:1\n\n\xEF\xBB\xBFdata:2\n\ndata:3\n\n\n" => [ev("1"), ev("3")];

    /// WPT format-bom-2.any.js: of two BOMs only the first is stripped.
    wpt_double_bom: b"\xEF\xBB\xBF\xEF\xBB\xBFdata:1\n\ndata:2\n\ndata:3\n\n\n" => [ev("2"), ev("3")];

    /// WPT format-comments.js: comments anywhere, with CR, LF and CRLF, a NUL,
    /// and 2 KiB long, do not disturb the data lines around them.
    wpt_comments: &long_comment_stream() => [
        comment("\0"),
        comment(""),
        comment(&"x".repeat(2048)),
        comment("data:fail"),
        comment(&"x".repeat(2048)),
        ev("1\n2\n3\n4"),
    ];

    /// WPT format-data-before-final-empty-line.js: an event not followed by a
    /// blank line before the end of the stream is not dispatched, and its id
    /// does not take effect.
    wpt_data_before_final_empty_line: b"retry:1000\ndata:test1\n\nid:test\ndata:test2\n" => [
        retry(1000),
        ev("test1").retry_ms(1000),
    ], last_event_id = None, retry = 1000;

    /// WPT format-field-data.js: `data:` and `data` append an empty line.
    wpt_field_data: b"data:\n\ndata\ndata\n\ndata:test\n\n\n" => [ev(""), ev("\n"), ev("test")];

    /// WPT format-field-event-empty.htm: an empty type is the default type.
    wpt_field_event_empty: b"event: \ndata:data\n\n\n" => [ev("data")];

    /// WPT format-field-event.htm: the type applies to one event only.
    wpt_field_event: b"event:test\ndata:x\n\ndata:x\n\n\n" => [ev("x").ty("test"), ev("x")];

    /// WPT format-field-id-3.htm "persists" (stream of resources/last-event-id2.py).
    wpt_id_persists: b"id: 1\ndata: 1\n\ndata: 2\n\n" => [ev("1").id("1"), ev("2").id("1")],
        last_event_id = Some("1");

    /// WPT format-field-id-3.htm "changes and persists".
    wpt_id_changes_and_persists: b"id: 1\ndata: 1\n\nid: 2\ndata: 2\n\ndata: 3\n\n" => [
        ev("1").id("1"), ev("2").id("2"), ev("3").id("2"),
    ], last_event_id = Some("2");

    /// WPT format-field-id-3.htm "resets": an empty id resets lastEventId to "".
    wpt_id_resets: b"id: 1\ndata: 1\n\nid:\ndata: 2\n\ndata: 3\n\n" => [
        ev("1").id("1"), ev("2"), ev("3"),
    ], last_event_id = None;

    /// WPT format-field-id-null.window.js: an id containing U+0000 is ignored.
    wpt_id_null: b"id: 1\ndata: a\n\nid: x\0y\ndata: b\n\nid:\0\0\ndata: c\n\n" => [
        ev("a").id("1"), ev("b").id("1"), ev("c").id("1"),
    ], last_event_id = Some("1");

    /// WPT format-field-parsing.js: names are case-sensitive and exact, one
    /// space is stripped, NUL is data.
    wpt_field_parsing: b"data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n" => [
        ev("\0\n 2\n1\n3\n\n4"),
    ];

    /// WPT format-field-retry-bogus.htm: `retry:1000x` is ignored.
    wpt_retry_bogus: b"retry:2000\nretry:1000x\ndata:x\n\n\n" => [
        retry(2000), ev("x").retry_ms(2000),
    ], retry = 2000;

    /// WPT format-field-retry-empty.htm: `retry` without a value is ignored.
    wpt_retry_empty: b"retry\ndata:test\n\n\n" => [ev("test")];

    /// WPT format-field-retry.htm: leading zeros, milliseconds.
    wpt_retry: b"retry:03000\ndata:x\n\n\n" => [retry(3000), ev("x").retry_ms(3000)], retry = 3000;

    /// WPT format-field-unknown.htm: unknown fields and a leading space in the
    /// name are ignored.
    wpt_field_unknown: b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n\n" => [
        comment("thisisacommentyay"), ev("test\n\ntest"),
    ];

    /// WPT format-leading-space.htm: only a space is stripped, not a tab.
    wpt_leading_space: b"data:\ttest\rdata: \ndata:test\n\n\n" => [ev("\ttest\n\ntest")];

    /// WPT format-newlines.htm: CRLF, LF and CR mixed.
    wpt_newlines: b"data:test\r\ndata\ndata:test\r\n\r\n\n\n" => [ev("test\n\ntest")];

    /// WPT format-null-character.html.
    wpt_null_character: b"data:\0\n\n\n\n\n" => [ev("\0")];

    /// WPT format-utf-8.htm: always UTF-8.
    wpt_utf8: b"data:ok\xE2\x80\xA6\n\n\n" => [ev("ok\u{2026}")];

    // ===== the algorithm, step by step =====

    /// "Lines must be separated by either a CRLF pair, a single LF, or a
    /// single CR": a CRLF is one line end, also between chunks.
    crlf_is_one_line_end: b"data: a\r\ndata: b\r\n\r\n" => [ev("a\nb")];

    /// A lone CR ends a line; CR CR is a line end and a blank line.
    lone_cr_is_a_line_end: b"data: a\rdata: b\r\rdata: c\r\r" => [ev("a\nb"), ev("c")];

    /// LF CR is two line ends, not one.
    lf_cr_is_two_line_ends: b"data: a\n\rdata: b\n\n" => [ev("a"), ev("b")];

    /// "If value starts with a U+0020 SPACE character, remove it": exactly one.
    retry_with_leading_space_is_accepted: b"retry: 1000\n\n" => [retry(1000)], retry = 1000;

    /// Only one space is removed from any value.
    only_one_space_is_stripped: b"data:  two\nevent:  t\nid:  i\n\n" => [
        ev(" two").ty(" t").id(" i"),
    ];

    /// The field name is what precedes the *first* colon.
    value_keeps_later_colons: b"data: a: b:c\n\n" => [ev("a: b:c")];

    /// A line without a colon is a field with an empty value.
    field_without_colon: b"event\ndata\n\n" => [ev("")];

    /// Names are case-sensitive: `Data`, `DATA` and `Event` are unknown.
    field_names_are_case_sensitive: b"Data: a\nDATA: b\nEvent: c\ndata: d\n\n" => [ev("d")];

    /// A line starting with a colon is a comment, with its text kept whole.
    comment_text_is_kept: b": keep-alive\n:\n::x\n" => [
        comment(" keep-alive"), comment(""), comment(":x"),
    ];

    /// Invalid UTF-8 becomes U+FFFD, field by field, and the stream goes on.
    invalid_utf8_is_replaced_and_stream_continues: b"data: a\n\n\xFF\ndata: b\n\ndata: c\xFF\xFEd\xE2\x82\n\n" => [
        ev("a"), ev("b"), ev("c\u{FFFD}\u{FFFD}d\u{FFFD}"),
    ];

    /// Invalid UTF-8 in an id and type is replaced too.
    invalid_utf8_in_id_and_type: b"id: \xC0\nevent: \xFFx\ndata: 1\n\n" => [
        ev("1").id("\u{FFFD}").ty("\u{FFFD}x"),
    ];

    /// Dispatch step 3: only one trailing LF is removed.
    one_trailing_lf_is_removed: b"data: a\ndata:\n\n" => [ev("a\n")];

    /// Dispatch step 2: a block without data dispatches nothing and resets the
    /// event type buffer.
    block_without_data_resets_type: b"event: foo\n\ndata: x\n\n" => [ev("x")];

    /// Dispatch step 1: an `id` in a block without data still takes effect.
    id_without_data_takes_effect: b"id: 5\n\ndata: x\n\n" => [ev("x").id("5")],
        last_event_id = Some("5");

    /// The id is committed at the blank line, wherever it stands in the block.
    id_after_data_applies_to_that_event: b"data: a\nid: 1\n\n" => [ev("a").id("1")];

    /// The last `id` of a block wins.
    last_id_in_block_wins: b"id: 1\nid: 2\ndata: a\n\n" => [ev("a").id("2")];

    /// A `retry` in a block without data still takes effect.
    retry_without_data_takes_effect: b"retry: 10\n\n" => [retry(10)], retry = 10;

    /// Each valid `retry` is reported; an invalid one changes nothing. A
    /// value too large for a 64-bit integer is ignored, as Chromium's
    /// `EventSourceParser` ignores it (`ToUInt64Strict` fails): it keeps
    /// the reconnection time it had.
    retry_values: b"retry: -1\nretry: 1.5\nretry: 20\nretry:  30\ndata: x\n\nretry: 99999999999999999999999\n\nretry: 18446744073709551616\n\n" => [
        retry(20), ev("x").retry_ms(20),
    ], retry = 20;

    /// The largest value that fits is taken.
    retry_largest: b"retry: 18446744073709551615\n\n" => [retry(u64::MAX)], retry = u64::MAX;

    /// The type `message` written out is the default type.
    explicit_message_type_is_default: b"event: message\ndata: x\n\n" => [ev("x")];

    /// Several events, one chunk.
    many_events: b"data: 1\n\ndata: 2\n\nevent: e\ndata: 3\n\n" => [ev("1"), ev("2"), ev("3").ty("e")];

    /// End of stream: an incomplete last line and an unterminated event are
    /// discarded.
    unterminated_event_is_discarded: b"data: a\n\ndata: b\n" => [ev("a")];
    unterminated_line_is_discarded: b"data: a\n\ndata: b" => [ev("a")];
    unterminated_id_is_not_committed: b"id: 1\ndata: a\n\nid: 2\n" => [ev("a").id("1")],
        last_event_id = Some("1");

    /// Blank lines alone do nothing.
    only_blank_lines: b"\n\r\n\r\n\n" => [];

    /// Empty input.
    empty_input: b"" => [];

    /// A stream that is only a BOM, or a BOM and a blank line.
    only_bom: b"\xEF\xBB\xBF\n" => [];

    /// Bytes that begin like a BOM but are not one are part of the first line.
    bom_prefix_is_data: b"\xEF\xBBdata: x\n\n\xEFdata: y\n\n" => [];
}

#[test]
fn bom_prefix_then_line_end() {
    // "\xEF\xBB" + LF: an unknown field, then an event.
    let outcome = decode_four_ways(EventDecoder::new, b"\xEF\xBB\ndata: x\n\n");
    assert_eq!(outcome.out, vec![Out::Frame(ev("x"))]);
}

#[test]
fn seeded_last_event_id_persists_to_events_without_id() {
    let make = || {
        let mut decoder = EventDecoder::new();
        decoder.set_last_event_id("41");
        decoder
    };
    let outcome = decode_four_ways(make, b"data: a\n\nid: 42\ndata: b\n\ndata: c\n\n");
    assert_eq!(
        outcome.out,
        vec![
            Out::Frame(ev("a").id("41")),
            Out::Frame(ev("b").id("42")),
            Out::Frame(ev("c").id("42")),
        ]
    );
    let (frames, id, _) = naive::decode(b"data: a\n\n", "41");
    assert_eq!(frames, vec![ev("a").id("41")]);
    assert_eq!(id, "41");
}

#[test]
fn last_event_id_and_retry_survive_reconnection() {
    let mut decoder = EventDecoder::new();
    let mut first = Bytes::from_static(b"\xEF\xBB\xBFid: 7\nretry: 500\ndata: a\n\ndata: cut");
    assert_eq!(
        decoder.decode_event(&mut first).unwrap().unwrap().id(),
        Some("7")
    );
    assert!(decoder.decode_event(&mut first).unwrap().is_none());
    decoder.finish();
    // A new connection: its BOM is stripped again, the id and retry persist.
    let mut second = Bytes::from_static(b"\xEF\xBB\xBFdata: b\n\n");
    let event = decoder.decode_event(&mut second).unwrap().unwrap();
    assert_eq!(event.data(), "b");
    assert_eq!(event.id(), Some("7"));
    assert_eq!(decoder.retry(), Some(Duration::from_millis(500)));
}

#[test]
fn crlf_split_across_chunks_is_one_line_end() {
    // The async-sse bug (STYLE 4.3.1): "\r" ending one read, "\n" starting
    // the next must not add a blank line that dispatches early.
    let mut decoder = EventDecoder::new();
    let mut events = Vec::new();
    for chunk in ["data: a\r", "\ndata: b\r", "\n\r", "\n"] {
        let mut chunk = Bytes::from(chunk);
        while let Some(event) = decoder.decode_event(&mut chunk).unwrap() {
            events.push(event);
        }
    }
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data(), "a\nb");
}

#[test]
fn cr_at_chunk_end_dispatches_without_waiting() {
    // "data: x\r\r" must dispatch as soon as the second CR arrives, without
    // waiting to see whether a LF follows.
    let mut decoder = EventDecoder::new();
    let mut chunk = Bytes::from_static(b"data: x\r\r");
    assert_eq!(
        decoder.decode_event(&mut chunk).unwrap().unwrap().data(),
        "x"
    );
}
