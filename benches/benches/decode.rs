//! Decode throughput, side by side: sse-codec against eventsource-stream,
//! sse-stream and sse-core, and two physical limits (a `memchr` scan for
//! `\n` and a `memcpy` of the corpus). Every run checks the event count and
//! the total data length against what the corpus generator wrote.
//!
//! `cargo bench -p benches --bench decode`

use std::convert::Infallible;
use std::hint::black_box;
use std::io;
use std::num::NonZeroUsize;
use std::time::Duration;

use benches::Corpus;
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use eventsource_stream::Eventsource;
use futures_util::{stream, StreamExt};
use sse_codec::EventDecoder;

/// Corpus size: tens of MB, so whole-corpus throughput is what is measured.
const CORPUS: usize = 32 << 20;
/// Limit large enough for the `large` corpus's 1 MiB events, for every crate.
const LIMIT: usize = 2 << 20;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn ours(chunks: &[Bytes], limit: usize) -> (usize, usize) {
    let mut decoder = EventDecoder::with_max_event_size(limit);
    let (mut events, mut data_len) = (0, 0);
    for chunk in chunks {
        let mut chunk = chunk.clone();
        while let Some(event) = decoder.decode_event(&mut chunk).unwrap() {
            events += 1;
            data_len += event.data().len();
        }
    }
    (events, data_len)
}

/// The borrowing path: each event looked at and let go.
fn ours_borrowed(chunks: &[Bytes], limit: usize) -> (usize, usize) {
    let mut decoder = EventDecoder::with_max_event_size(limit);
    let (mut events, mut data_len) = (0, 0);
    for chunk in chunks {
        decoder.for_each_event(chunk, |event| {
            events += 1;
            data_len += event.unwrap().data().len();
        });
    }
    (events, data_len)
}

/// The owned path through `EventStream`, as a client reads a body.
fn ours_stream(rt: &tokio::runtime::Runtime, chunks: &[Bytes]) -> (usize, usize) {
    rt.block_on(async {
        let mut s = sse_codec::EventStream::with_decoder(
            stream::iter(chunks.iter().cloned().map(Ok::<_, Infallible>)),
            EventDecoder::with_max_event_size(LIMIT),
        );
        let (mut events, mut data_len) = (0, 0);
        while let Some(event) = s.next().await {
            events += 1;
            data_len += event.unwrap().data().len();
        }
        (events, data_len)
    })
}

fn eventsource_stream(rt: &tokio::runtime::Runtime, chunks: &[Bytes]) -> (usize, usize) {
    rt.block_on(async {
        let mut s = stream::iter(chunks.iter().cloned().map(Ok::<_, Infallible>)).eventsource();
        let (mut events, mut data_len) = (0, 0);
        while let Some(event) = s.next().await {
            events += 1;
            data_len += event.unwrap().data.len();
        }
        (events, data_len)
    })
}

fn sse_stream(rt: &tokio::runtime::Runtime, chunks: &[Bytes]) -> (usize, usize) {
    rt.block_on(async {
        let mut s = sse_stream::SseByteStream::new(stream::iter(
            chunks.iter().cloned().map(Ok::<_, io::Error>),
        ));
        let (mut events, mut data_len) = (0, 0);
        while let Some(block) = s.next().await {
            // It also returns blocks without data (a `retry` alone, say),
            // which a browser does not dispatch.
            if let Some(data) = block.unwrap().data {
                events += 1;
                data_len += data.len();
            }
        }
        (events, data_len)
    })
}

fn sse_core(chunks: &[Bytes]) -> (usize, usize) {
    let mut decoder = sse_core::SseDecoder::with_limit(NonZeroUsize::new(LIMIT).unwrap());
    let (mut events, mut data_len) = (0, 0);
    for chunk in chunks {
        let mut chunk = chunk.clone();
        while let Some(event) = decoder.next(&mut chunk) {
            if let sse_core::SseEvent::Message(message) = event.unwrap() {
                events += 1;
                data_len += message.data.len();
            }
        }
    }
    (events, data_len)
}

fn memchr_scan(chunks: &[Bytes]) -> usize {
    chunks
        .iter()
        .map(|c| memchr::memchr_iter(b'\n', c).count())
        .sum()
}

fn memcpy(chunks: &[Bytes], dst: &mut Vec<u8>) -> usize {
    dst.clear();
    for chunk in chunks {
        dst.extend_from_slice(chunk);
    }
    dst.len()
}

fn group(c: &mut Criterion, corpus: &Corpus, chunk_size: usize) {
    let rt = runtime();
    let chunks = corpus.chunks(chunk_size);
    let expected = (corpus.events, corpus.data_len);
    let mut g = c.benchmark_group(format!("decode/{}/{}KiB", corpus.name, chunk_size / 1024));
    g.throughput(Throughput::Bytes(corpus.bytes.len() as u64));
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("sse-codec-borrowed", |b| {
        b.iter(|| assert_eq!(ours_borrowed(black_box(&chunks), LIMIT), expected));
    });
    g.bench_function("sse-codec", |b| {
        b.iter(|| assert_eq!(ours(black_box(&chunks), LIMIT), expected));
    });
    g.bench_function("sse-codec-stream", |b| {
        b.iter(|| assert_eq!(ours_stream(&rt, black_box(&chunks)), expected));
    });
    g.bench_function("sse-stream", |b| {
        b.iter(|| assert_eq!(sse_stream(&rt, black_box(&chunks)), expected));
    });
    g.bench_function("sse-core", |b| {
        b.iter(|| assert_eq!(sse_core(black_box(&chunks)), expected));
    });
    // On the large corpus it copies each chunk into a growing `String` and
    // rescans it (16 MiB/s in 8 KiB chunks, 2 MiB/s in 1 KiB chunks when it
    // was measured): minutes per run for a figure that does not move.
    if corpus.name != "large" {
        g.bench_function("eventsource-stream", |b| {
            b.iter(|| assert_eq!(eventsource_stream(&rt, black_box(&chunks)), expected));
        });
    }
    let lines = memchr_scan(&chunks);
    g.bench_function("baseline-memchr", |b| {
        b.iter(|| assert_eq!(memchr_scan(black_box(&chunks)), lines));
    });
    let mut dst = Vec::with_capacity(corpus.bytes.len());
    g.bench_function("baseline-memcpy", |b| {
        b.iter(|| assert_eq!(memcpy(black_box(&chunks), &mut dst), corpus.bytes.len()));
    });
    g.finish();
}

fn corpora(c: &mut Criterion) {
    for corpus in [
        benches::small_json(CORPUS),
        benches::chat_tokens(CORPUS),
        benches::multiline(CORPUS),
        benches::crlf_mixed(CORPUS),
    ] {
        group(c, &corpus, 8 * 1024);
    }
    let large = benches::large(CORPUS);
    group(c, &large, 8 * 1024);
    group(c, &large, 1024);
}

/// The quadratic trap: one 64 MiB line in 1 KiB chunks must cost about the
/// same as in one chunk.
fn linear(c: &mut Criterion) {
    let len = 64 << 20;
    let corpus = benches::one_line(len);
    let limit = 2 * len;
    let mut g = c.benchmark_group("decode/one_64MiB_line");
    g.throughput(Throughput::Bytes(corpus.bytes.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(4));
    for chunk_size in [corpus.bytes.len(), 1024] {
        let chunks = corpus.chunks(chunk_size);
        g.bench_with_input(
            BenchmarkId::new("sse-codec", chunk_size),
            &chunks,
            |b, chunks| {
                b.iter(|| assert_eq!(ours(chunks, limit), (1, len)));
            },
        );
    }
    g.finish();
}

criterion_group!(benches, corpora, linear);
criterion_main!(benches);
