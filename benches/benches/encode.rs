//! Encode throughput, side by side: sse-codec against axum's built-in `Sse`
//! (its body polled frame by frame), warp's `sse::reply` body and
//! sse-stream's encoder, with a baseline of copying each event's final
//! bytes into a reused `BytesMut`. Every run checks the bytes produced.
//!
//! `cargo bench -p benches --bench encode`

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use benches::Corpus;
use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::stream;
use http_body_util::BodyExt;
use sse_codec::{ByteStr, Event, EventRef};

const CORPUS: usize = 16 << 20;
/// Flush the reused output buffer past this size, as a server writing to a
/// socket would.
const FLUSH: usize = 64 * 1024;

type Fields = (Option<ByteStr>, Option<ByteStr>, ByteStr);

fn fields(corpus: &Corpus) -> Vec<Fields> {
    corpus
        .fields
        .iter()
        .map(|(t, id, data)| {
            (
                t.clone().map(ByteStr::from),
                id.clone().map(ByteStr::from),
                ByteStr::from(data.clone()),
            )
        })
        .collect()
}

fn build(fields: &Fields) -> Event {
    let (t, id, data) = fields;
    let mut b = Event::builder().data(data.clone());
    if let Some(t) = t {
        b = b.event_type(t.clone());
    }
    if let Some(id) = id {
        b = b.id(id.clone());
    }
    b.build().unwrap()
}

/// Writes each item into a reused buffer with `write`, flushing it past
/// `FLUSH` as a server writing to a socket would; returns the bytes written.
fn write_all<T>(
    items: &[T],
    buf: &mut BytesMut,
    mut write: impl FnMut(&T, &mut BytesMut),
) -> usize {
    let mut written = 0;
    for item in items {
        write(item, buf);
        if buf.len() > FLUSH {
            written += buf.len();
            buf.clear();
        }
    }
    written + std::mem::take(buf).len()
}

/// Built events, encoded.
fn ours(events: &[Event], buf: &mut BytesMut) -> usize {
    write_all(events, buf, Event::encode)
}

/// Built from shared field values (`ByteStr`, no copy), then encoded.
fn ours_from_fields(fields: &[Fields], buf: &mut BytesMut) -> usize {
    write_all(fields, buf, |f, buf| build(f).encode(buf))
}

/// Built from `&str` field values, as the other crates take them.
fn ours_from_str(fields: &[Fields], buf: &mut BytesMut) -> usize {
    write_all(fields, buf, |(t, id, data), buf| {
        let mut b = Event::builder().data(data.as_str());
        if let Some(t) = t {
            b = b.event_type(t.as_str());
        }
        if let Some(id) = id {
            b = b.id(id.as_str());
        }
        b.build().unwrap().encode(buf);
    })
}

/// Straight from `&str` field values, with no event built.
fn ours_from_str_ref(fields: &[Fields], buf: &mut BytesMut) -> usize {
    write_all(fields, buf, |(t, id, data), buf| {
        let mut e = EventRef::new(data);
        if let Some(t) = t {
            e = e.with_event_type(t);
        }
        if let Some(id) = id {
            e = e.with_id(id);
        }
        e.encode(buf).unwrap();
    })
}

/// The bytes each event encodes to, copied: the physical limit.
fn copy_baseline(encoded: &[Bytes], buf: &mut BytesMut) -> usize {
    write_all(encoded, buf, |bytes, buf| buf.extend_from_slice(bytes))
}

/// Builds a framework's event from the fields with its own setters.
fn framework_events<E>(
    fields: &[Fields],
    new: impl Fn() -> E,
    event: impl Fn(E, &str) -> E,
    id: impl Fn(E, &str) -> E,
    data: impl Fn(E, &str) -> E,
) -> Vec<Result<E, Infallible>> {
    fields
        .iter()
        .map(|(t, i, d)| {
            let mut e = new();
            if let Some(t) = t {
                e = event(e, t);
            }
            if let Some(i) = i {
                e = id(e, i);
            }
            Ok(data(e, d))
        })
        .collect()
}

fn axum_sse(rt: &tokio::runtime::Runtime, fields: &[Fields]) -> usize {
    use axum::response::{sse, IntoResponse};
    // axum encodes each field as it is set, so building is encoding.
    let events = framework_events(
        fields,
        sse::Event::default,
        |e, t| e.event(t),
        |e, id| e.id(id),
        |e, data| e.data(data),
    );
    let body = sse::Sse::new(stream::iter(events))
        .into_response()
        .into_body();
    rt.block_on(poll_body(body))
}

fn warp_sse(rt: &tokio::runtime::Runtime, fields: &[Fields]) -> usize {
    use warp::sse;
    use warp::Reply;
    let events = framework_events(
        fields,
        sse::Event::default,
        |e, t| e.event(t),
        |e, id| e.id(id),
        |e, data| e.data(data),
    );
    let body = sse::reply(stream::iter(events)).into_response().into_body();
    rt.block_on(poll_body(body))
}

async fn poll_body<B>(mut body: B) -> usize
where
    B: http_body::Body + Unpin,
    B::Error: std::fmt::Debug,
{
    let mut written = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            written += bytes::Buf::remaining(&data);
        }
    }
    written
}

fn sse_stream_encode(fields: &[Fields]) -> usize {
    fields
        .iter()
        .map(|(t, id, data)| {
            let mut e = sse_stream::Sse::default().data(data.as_str());
            if let Some(t) = t {
                e = e.event(t.as_str());
            }
            if let Some(id) = id {
                e = e.id(id.as_str());
            }
            e.encode().unwrap().len()
        })
        .sum()
}

fn group(c: &mut Criterion, corpus: &Corpus) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let fields = fields(corpus);
    let events: Vec<Event> = fields.iter().map(build).collect();
    let encoded: Vec<Bytes> = events.iter().map(Event::to_bytes).collect();
    let total: usize = encoded.iter().map(Bytes::len).sum();
    let mut buf = BytesMut::with_capacity(2 * FLUSH);

    let mut g = c.benchmark_group(format!("encode/{}", corpus.name));
    g.throughput(Throughput::Bytes(total as u64));
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("sse-codec", |b| {
        b.iter(|| assert_eq!(ours(black_box(&events), &mut buf), total));
    });
    g.bench_function("sse-codec-from-fields", |b| {
        b.iter(|| assert_eq!(ours_from_fields(black_box(&fields), &mut buf), total));
    });
    g.bench_function("sse-codec-ref", |b| {
        b.iter(|| assert_eq!(ours_from_str_ref(black_box(&fields), &mut buf), total));
    });
    g.bench_function("sse-codec-from-str", |b| {
        b.iter(|| assert_eq!(ours_from_str(black_box(&fields), &mut buf), total));
    });
    g.bench_function("baseline-copy", |b| {
        b.iter(|| assert_eq!(copy_baseline(black_box(&encoded), &mut buf), total));
    });
    let axum_total = axum_sse(&rt, &fields);
    g.bench_function("axum", |b| {
        b.iter(|| assert_eq!(axum_sse(&rt, black_box(&fields)), axum_total));
    });
    let warp_total = warp_sse(&rt, &fields);
    g.bench_function("warp", |b| {
        b.iter(|| assert_eq!(warp_sse(&rt, black_box(&fields)), warp_total));
    });
    let sse_stream_total = sse_stream_encode(&fields);
    g.bench_function("sse-stream", |b| {
        b.iter(|| assert_eq!(sse_stream_encode(black_box(&fields)), sse_stream_total));
    });
    g.finish();
}

fn corpora(c: &mut Criterion) {
    group(c, &benches::small_json(CORPUS));
    group(c, &benches::chat_tokens(CORPUS));
    group(c, &benches::large(CORPUS));
}

criterion_group!(benches, corpora);
criterion_main!(benches);
