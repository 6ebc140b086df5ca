//! Arbitrary bytes, in arbitrary chunks, under an arbitrary (small) limit:
//! no panic, and the decoder never holds more than its limit.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sse_codec::EventDecoder;

fuzz_target!(|input: (u8, u8, &[u8])| {
    let (max, chunk, bytes) = input;
    let mut decoder = EventDecoder::with_max_event_size(usize::from(max));
    for piece in bytes.chunks(usize::from(chunk).max(1)) {
        let mut piece = Bytes::copy_from_slice(piece);
        while let Ok(Some(_)) | Err(_) = decoder.decode_frame(&mut piece) {}
        assert!(decoder.buffered_len() <= decoder.max_event_size());
    }
    decoder.finish();
});
