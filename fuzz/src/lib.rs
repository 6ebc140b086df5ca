//! What the fuzz targets share.

use bytes::Bytes;
use sse_codec::{DecodeError, EventDecoder, Frame};

/// The size limit a fuzzed byte stands for: 255 is no limit.
pub fn limit(byte: u8) -> usize {
    if byte == 255 {
        usize::MAX
    } else {
        usize::from(byte)
    }
}

/// `bytes` cut at the fuzzed offsets (each taken modulo the length + 1).
pub fn split<'a>(bytes: &'a [u8], cuts: &[u16]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| usize::from(c) % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in cuts {
        chunks.push(&bytes[start..cut]);
        start = cut;
    }
    chunks.push(&bytes[start..]);
    chunks
}

/// Decodes `chunk` with `decode_frame` until it is used up, pushing each
/// frame, or `None` for an event past the limit.
pub fn decode_owned(decoder: &mut EventDecoder, chunk: &[u8], out: &mut Vec<Option<Frame>>) {
    let mut chunk = Bytes::copy_from_slice(chunk);
    loop {
        match decoder.decode_frame(&mut chunk) {
            Ok(Some(frame)) => out.push(Some(frame)),
            Ok(None) => break,
            Err(DecodeError::EventTooLarge { .. }) => out.push(None),
            Err(err) => panic!("{err}"),
        }
    }
}
