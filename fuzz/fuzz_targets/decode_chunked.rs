//! Arbitrary bytes and split points give the same frames, errors and final
//! state as the same bytes in one chunk.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sse_codec::{EventDecoder, Frame};

fn decode<'a>(max: usize, chunks: impl Iterator<Item = &'a [u8]>) -> (Vec<Option<Frame>>, Option<String>) {
    let mut decoder = EventDecoder::with_max_event_size(max);
    let mut out = Vec::new();
    for chunk in chunks {
        sse_codec_fuzz::decode_owned(&mut decoder, chunk, &mut out);
    }
    decoder.finish();
    (out, decoder.last_event_id().map(str::to_owned))
}

fuzz_target!(|input: (u8, Vec<u16>, &[u8])| {
    let (max, cuts, bytes) = input;
    let max = sse_codec_fuzz::limit(max);
    let chunks = sse_codec_fuzz::split(bytes, &cuts);
    assert_eq!(decode(max, chunks.into_iter()), decode(max, std::iter::once(bytes)));
});
