//! What the fuzz targets share.

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
