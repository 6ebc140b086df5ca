//! The size limit and the memory the decoder holds, measured with a counting
//! allocator, and allocations per event.
//!
//! The allocator counts per thread (tests run in parallel), which no
//! published counting allocator does; implementing `GlobalAlloc` is the only
//! `unsafe` here, and it only forwards to `System`.
#![allow(unsafe_code)]

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::{Bytes, BytesMut};
use sse_codec::{DecodeError, Event, EventDecoder};
use support::{decode_four_ways, ev, Expect, Out};

// ===== a per-thread counting allocator =====

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|live| {
            live.set(live.get() + layout.size());
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
        });
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(layout.size())));
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    /// Counted as a change of size, not as alloc + copy + free: for large
    /// blocks glibc grows in place (`mremap`), so nothing is held twice.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = LIVE.try_with(|live| {
            live.set(live.get().saturating_sub(layout.size()) + new_size);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
        });
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns (peak bytes allocated beyond what was live before,
/// number of allocations), for this thread.
fn measure(f: impl FnOnce()) -> (usize, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let allocs = ALLOCS.with(Cell::get);
    f();
    (PEAK.with(Cell::get) - base, ALLOCS.with(Cell::get) - allocs)
}

fn feed(decoder: &mut EventDecoder, chunk: &Bytes) -> Vec<Result<Event, usize>> {
    let mut out = Vec::new();
    let mut chunk = chunk.clone();
    loop {
        match decoder.decode_event(&mut chunk) {
            Ok(Some(event)) => out.push(Ok(event)),
            Ok(None) => return out,
            Err(DecodeError::EventTooLarge { max }) => out.push(Err(max)),
            Err(err) => panic!("{err}"),
        }
    }
}

// ===== the limit =====

#[test]
fn oversized_event_is_reported_once_and_skipped() {
    let make = || EventDecoder::with_max_event_size(10);
    let outcome = decode_four_ways(make, b"data: 0123456789\ndata: more\nid: 3\n\ndata: ok\n\n");
    assert_eq!(outcome.out, vec![Out::TooLarge, Out::Frame(ev("ok"))]);
    // The dropped block's id did not take effect.
    assert_eq!(outcome.last_event_id, None);
}

#[test]
fn limit_counts_held_data_type_and_the_line_being_read() {
    // The line "data: abc" (9 bytes) must fit.
    let outcome = decode_four_ways(|| EventDecoder::with_max_event_size(9), b"data: abc\n\n");
    assert_eq!(outcome.out, vec![Out::Frame(ev("abc"))]);
    let outcome = decode_four_ways(|| EventDecoder::with_max_event_size(8), b"data: abc\n\n");
    assert_eq!(outcome.out, vec![Out::TooLarge]);
    // "event: t" holds 1 byte (the type); "data: ab" then holds "ab" + LF, 3
    // more; the line "data: c" (7 bytes) needs 1 + 3 + 7 = 11.
    let input = b"event: t\ndata: ab\ndata: c\n\n";
    let outcome = decode_four_ways(|| EventDecoder::with_max_event_size(11), input);
    assert_eq!(outcome.out, vec![Out::Frame(ev("ab\nc").ty("t"))]);
    let outcome = decode_four_ways(|| EventDecoder::with_max_event_size(10), input);
    assert_eq!(outcome.out, vec![Out::TooLarge]);
}

#[test]
fn long_comment_line_is_refused_too() {
    // A line is checked before it is known to be a comment, so a hostile
    // comment cannot make the decoder buffer more than the limit either.
    let outcome = decode_four_ways(
        || EventDecoder::with_max_event_size(8),
        b": a long comment\ndata: x\n\ndata: y\n\n",
    );
    assert_eq!(outcome.out, vec![Out::TooLarge, Out::Frame(ev("y"))]);
}

#[test]
fn discarding_ends_at_blank_line_split_across_chunks() {
    let mut decoder = EventDecoder::with_max_event_size(8);
    assert_eq!(
        feed(&mut decoder, &Bytes::from_static(b"data: too long")),
        vec![Err(8)]
    );
    assert!(feed(&mut decoder, &Bytes::from_static(b" still\r")).is_empty());
    assert!(feed(&mut decoder, &Bytes::from_static(b"\n")).is_empty()); // CRLF, not a blank line
    assert!(feed(&mut decoder, &Bytes::from_static(b"data: ignored\r")).is_empty());
    assert!(feed(&mut decoder, &Bytes::from_static(b"\r")).is_empty()); // the blank line
    let events = feed(&mut decoder, &Bytes::from_static(b"data: ok\n\n"));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].as_ref().unwrap().data(), "ok");
}

#[test]
fn lowering_the_limit_mid_event_refuses_it_at_its_next_line() {
    let mut decoder = EventDecoder::new();
    assert!(feed(&mut decoder, &Bytes::from_static(b"data: 0123456789\n")).is_empty());
    decoder.set_max_event_size(12);
    let out = feed(
        &mut decoder,
        &Bytes::from_static(b"data: x\n\ndata: ok\n\n"),
    );
    assert_eq!(out.len(), 2);
    assert_eq!(out[0], Err(12));
    assert_eq!(out[1].as_ref().unwrap().data(), "ok");
    let mut decoder = EventDecoder::new();
    assert!(feed(&mut decoder, &Bytes::from_static(b"data: 0123456789\n")).is_empty());
    decoder.set_max_event_size(5);
    // The blank line is not refused: it dispatches the event already read.
    let events = feed(&mut decoder, &Bytes::from_static(b"\n"));
    assert_eq!(events[0].as_ref().unwrap().data(), "0123456789");
}

// ===== memory =====

const MAX: usize = 1 << 20;
/// Allowance for the decoder's small fixed allocations.
const SLACK: usize = 4096;

#[test]
fn one_gibibyte_line_without_line_end_is_bounded() {
    let chunk = Bytes::from(vec![b'a'; 1 << 20]);
    let mut decoder = EventDecoder::with_max_event_size(MAX);
    let mut errors = 0;
    let (peak, _) = measure(|| {
        for _ in 0..1024 {
            errors += feed(&mut decoder, &chunk).len();
            assert!(decoder.buffered_len() <= MAX);
        }
    });
    assert_eq!(errors, 1, "one error for the one oversized line");
    assert!(
        peak <= MAX + SLACK,
        "peak {peak} bytes held for a 1 GiB line"
    );
    // The stream recovers after the line ends and a blank line follows.
    let events = feed(&mut decoder, &Bytes::from_static(b"\n\ndata: after\n\n"));
    assert_eq!(events[0].as_ref().unwrap().data(), "after");
}

#[test]
fn huge_multi_line_event_in_small_chunks_is_bounded() {
    // 4 MiB of 1 KiB data lines arriving in 1 KiB chunks.
    let line = format!("data: {}\n", "b".repeat(1017));
    let chunk = Bytes::from(line);
    let mut decoder = EventDecoder::with_max_event_size(MAX);
    let mut errors = 0;
    let (peak, _) = measure(|| {
        for _ in 0..4096 {
            errors += feed(&mut decoder, &chunk).len();
        }
    });
    assert_eq!(errors, 1);
    assert!(peak <= MAX + SLACK, "peak {peak} bytes");
}

#[test]
fn event_just_under_the_limit_split_everywhere_is_bounded() {
    // A 1 MiB - 16 B event: two large data lines, split into 1000-byte chunks
    // so that every buffer grows; memory stays within the limit.
    let half = "c".repeat(MAX / 2 - 16);
    let input = Bytes::from(format!("data: {half}\ndata: {half}\n\n"));
    let mut decoder = EventDecoder::with_max_event_size(MAX);
    let mut events = Vec::new();
    let (peak, _) = measure(|| {
        for chunk in input.chunks(1000) {
            events.extend(feed(&mut decoder, &Bytes::copy_from_slice(chunk)));
        }
    });
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].as_ref().unwrap().data().len(), MAX - 32 + 1);
    // The event itself (about MAX) is returned to us, so allow for it once.
    assert!(peak <= 2 * MAX + SLACK, "peak {peak} bytes");
}

// ===== allocations per event =====

fn small_events(n: usize) -> Bytes {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!("event: update\nid: {i}\ndata: {{\"user\":\"u{i}\",\"status\":\"online\",\"n\":{i}}}\n\n"));
    }
    Bytes::from(s)
}

#[test]
fn decoding_small_events_allocates_at_most_once_per_event() {
    let input = small_events(1000);
    let mut decoder = EventDecoder::new();
    let mut count = 0;
    let (_, allocs) = measure(|| {
        let mut chunk = input.clone();
        while let Some(event) = decoder.decode_event(&mut chunk).unwrap() {
            count += usize::from(event.event_type() == "update");
        }
    });
    assert_eq!(count, 1000);
    assert!(allocs <= 1000, "{allocs} allocations for 1000 events");
    eprintln!("decode: {allocs} allocations for 1000 single-line events");
}

/// In 8 KiB chunks about one event per chunk spans two chunks; its values
/// are copied, and must not cost an allocation each.
#[test]
fn decoding_small_events_in_8_kib_chunks_allocates_almost_never() {
    let input = small_events(20_000);
    let chunks: Vec<Bytes> = (0..input.len())
        .step_by(8192)
        .map(|at| input.slice(at..(at + 8192).min(input.len())))
        .collect();
    let mut decoder = EventDecoder::new();
    let mut count = 0;
    let (_, allocs) = measure(|| {
        for chunk in &chunks {
            let mut chunk = chunk.clone();
            while let Some(event) = decoder.decode_event(&mut chunk).unwrap() {
                count += usize::from(event.event_type() == "update" && event.id().is_some());
            }
        }
    });
    assert_eq!(count, 20_000);
    let per_event = allocs as f64 / 20_000.0;
    eprintln!(
        "decode: {allocs} allocations for 20000 events in {} chunks of 8 KiB ({per_event:.4} per event)",
        chunks.len()
    );
    assert!(per_event <= 0.01, "{per_event} allocations per event");
}

#[test]
fn encoding_into_a_reused_buffer_allocates_nothing() {
    let events: Vec<Event> = (0..1000)
        .map(|i| {
            Event::builder()
                .event_type("update")
                .id(i.to_string())
                .data(format!("{{\"n\":{i}}}"))
                .build()
                .unwrap()
        })
        .collect();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let (_, allocs) = measure(|| {
        for event in &events {
            event.encode(&mut buf);
            if buf.len() > 32 * 1024 {
                buf.clear();
            }
        }
    });
    assert_eq!(allocs, 0, "{allocs} allocations encoding 1000 events");
}
