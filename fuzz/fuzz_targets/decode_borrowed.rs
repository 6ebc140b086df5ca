//! The borrowing path (`for_each_frame`) in any chunking gives the same
//! frames, errors and final state as the owned path (`decode_frame`) on the
//! whole input; so does a decoder that switches path at every chunk.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sse_codec::{DecodeError, EventDecoder, Frame};

type Outcome = (Vec<Option<Frame>>, Option<String>, Option<std::time::Duration>);

#[derive(Clone, Copy)]
enum Path {
    Owned,
    Borrowed,
    Alternating,
}

fn decode<'a>(max: usize, path: Path, chunks: impl Iterator<Item = &'a [u8]>) -> Outcome {
    let mut decoder = EventDecoder::with_max_event_size(max);
    let mut out = Vec::new();
    for (i, chunk) in chunks.enumerate() {
        let borrowed = match path {
            Path::Owned => false,
            Path::Borrowed => true,
            Path::Alternating => i % 2 == 1,
        };
        if borrowed {
            decoder.for_each_frame(chunk, |frame| match frame {
                Ok(frame) => out.push(Some(frame.to_frame().expect("decoded frames are valid"))),
                Err(DecodeError::EventTooLarge { .. }) => out.push(None),
                Err(err) => panic!("{err}"),
            });
            continue;
        }
        sse_codec_fuzz::decode_owned(&mut decoder, chunk, &mut out);
    }
    decoder.finish();
    (out, decoder.last_event_id().map(str::to_owned), decoder.retry())
}

fuzz_target!(|input: (u8, Vec<u16>, &[u8])| {
    let (max, cuts, bytes) = input;
    let max = sse_codec_fuzz::limit(max);
    let chunks = sse_codec_fuzz::split(bytes, &cuts);
    let owned = decode(max, Path::Owned, std::iter::once(bytes));
    assert_eq!(decode(max, Path::Borrowed, chunks.iter().copied()), owned);
    assert_eq!(decode(max, Path::Alternating, chunks.iter().copied()), owned);
});
