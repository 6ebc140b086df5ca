//! Corpora for the benchmarks, generated deterministically (fixed seed), and
//! the expected result of decoding each, computed from the generator's own
//! record of what it wrote (never from a decoder).
//!
//! Run the benchmarks with `cargo bench -p benches`; see the README's
//! "Performance" section. [`process`] holds what the benchmarks that run
//! their servers in child processes share.

pub mod process;

use bytes::Bytes;

/// The seed of every corpus.
const SEED: u64 = 0x5EE_C0DE;

/// A generated event stream and what a spec-conformant decoder must get from
/// it.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// Short name, used as the benchmark id.
    pub name: &'static str,
    /// The stream.
    pub bytes: Bytes,
    /// Number of events it dispatches.
    pub events: usize,
    /// Sum of the byte lengths of the dispatched events' data.
    pub data_len: usize,
    /// The events' fields, for the encode benchmarks: (type, id, data).
    pub fields: Vec<(Option<String>, Option<String>, String)>,
}

impl Corpus {
    /// `bytes` cut into consecutive chunks of `size` bytes (the last may be
    /// shorter), sharing its storage.
    pub fn chunks(&self, size: usize) -> Vec<Bytes> {
        (0..self.bytes.len())
            .step_by(size)
            .map(|start| {
                self.bytes
                    .slice(start..(start + size).min(self.bytes.len()))
            })
            .collect()
    }
}

/// Collects a corpus until it reaches `target` bytes.
struct Builder {
    name: &'static str,
    out: Vec<u8>,
    events: usize,
    data_len: usize,
    fields: Vec<(Option<String>, Option<String>, String)>,
    keep_fields: bool,
}

impl Builder {
    fn new(name: &'static str, keep_fields: bool) -> Self {
        Builder {
            name,
            out: Vec::new(),
            events: 0,
            data_len: 0,
            fields: Vec::new(),
            keep_fields,
        }
    }

    /// Records one dispatched event whose data is `data`.
    fn event(&mut self, event_type: Option<&str>, id: Option<String>, data: String) {
        self.events += 1;
        self.data_len += data.len();
        if self.keep_fields {
            self.fields.push((event_type.map(str::to_owned), id, data));
        }
    }

    fn finish(self) -> Corpus {
        Corpus {
            name: self.name,
            bytes: Bytes::from(self.out),
            events: self.events,
            data_len: self.data_len,
            fields: self.fields,
        }
    }
}

/// Web-app events of about 90 bytes: `event: update`, `id: <n>`, one line of
/// JSON data, LF line ends.
pub fn small_json(target: usize) -> Corpus {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut b = Builder::new("small_json", true);
    let statuses = ["online", "away", "busy", "offline"];
    let mut n = 0u64;
    while b.out.len() < target {
        n += 1;
        let data = format!(
            "{{\"user\":\"u{}\",\"status\":\"{}\",\"n\":{n}}}",
            rng.u32(..100_000),
            statuses[rng.usize(..statuses.len())]
        );
        b.out
            .extend_from_slice(format!("event: update\nid: {n}\ndata: {data}\n\n").as_bytes());
        b.event(Some("update"), Some(n.to_string()), data);
    }
    b.finish()
}

/// LLM token streaming: `data: {"choices":[{"delta":{"content":"tok"}}]}`,
/// about 50 bytes each, some tokens not ASCII.
pub fn chat_tokens(target: usize) -> Corpus {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut b = Builder::new("chat_tokens", true);
    let tokens = [
        "The", " quick", " brown", " fox", " jumps", ",", " über", " café", " 日本", " 🙂",
        " naïve", "\\n", " 42", ".",
    ];
    while b.out.len() < target {
        let data = format!(
            "{{\"choices\":[{{\"delta\":{{\"content\":\"{}\"}}}}]}}",
            tokens[rng.usize(..tokens.len())]
        );
        b.out
            .extend_from_slice(format!("data: {data}\n\n").as_bytes());
        b.event(None, None, data);
    }
    b.finish()
}

/// Events of 5 to 20 data lines of 20 to 200 bytes, some lines starting with
/// a space (which the decoder must keep: only the one after the colon goes).
pub fn multiline(target: usize) -> Corpus {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut b = Builder::new("multiline", false);
    while b.out.len() < target {
        let lines: Vec<String> = (0..rng.usize(5..=20))
            .map(|_| {
                let len = rng.usize(20..=200);
                let mut line: String = (0..len).map(|_| rng.alphanumeric()).collect();
                if rng.u8(..4) == 0 {
                    line.replace_range(0..1, " ");
                }
                line
            })
            .collect();
        for line in &lines {
            b.out
                .extend_from_slice(format!("data: {line}\n").as_bytes());
        }
        b.out.push(b'\n');
        b.event(None, None, lines.join("\n"));
    }
    b.finish()
}

/// Events of one data line of 64 KiB to 1 MiB.
pub fn large(target: usize) -> Corpus {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut b = Builder::new("large", true);
    while b.out.len() < target {
        let len = rng.usize(64 * 1024..=1024 * 1024);
        let data: String = (0..len).map(|_| rng.alphanumeric()).collect();
        b.out.extend_from_slice(b"data: ");
        b.out.extend_from_slice(data.as_bytes());
        b.out.extend_from_slice(b"\n\n");
        b.event(None, None, data);
    }
    b.finish()
}

/// Like `small_json`, with CRLF (most), LF and bare CR line ends, keep-alive
/// comments and `retry` fields.
pub fn crlf_mixed(target: usize) -> Corpus {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut b = Builder::new("crlf_mixed", false);
    let mut n = 0u64;
    while b.out.len() < target {
        n += 1;
        let eol = match rng.u8(..10) {
            0 => "\n",
            1 => "\r",
            _ => "\r\n",
        };
        if rng.u8(..8) == 0 {
            b.out
                .extend_from_slice(format!(":keep-alive{eol}").as_bytes());
        }
        let data = format!("{{\"user\":\"u{}\",\"n\":{n}}}", rng.u32(..100_000));
        let retry = if rng.u8(..16) == 0 {
            format!("retry: {}{eol}", rng.u32(1000..10_000))
        } else {
            String::new()
        };
        b.out.extend_from_slice(
            format!("event: update{eol}id: {n}{eol}{retry}data: {data}{eol}{eol}").as_bytes(),
        );
        b.event(Some("update"), Some(n.to_string()), data);
    }
    b.finish()
}

/// One data line of `len` bytes, terminated, as one event.
pub fn one_line(len: usize) -> Corpus {
    let mut b = Builder::new("one_line", false);
    b.out.reserve(len + 8);
    b.out.extend_from_slice(b"data: ");
    b.out.resize(6 + len, b'x');
    b.out.extend_from_slice(b"\n\n");
    b.event(None, None, "x".repeat(len));
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sse_codec::EventDecoder;

    /// Each corpus decodes to what the generator says it holds, in the
    /// chunk sizes the benchmarks use.
    #[test]
    fn corpora_decode_to_their_expected_events() {
        for corpus in [
            small_json(1 << 20),
            chat_tokens(1 << 20),
            multiline(1 << 20),
            large(4 << 20),
            crlf_mixed(1 << 20),
        ] {
            for size in [1024, 8192] {
                let mut decoder = EventDecoder::with_max_event_size(2 << 20);
                let (mut events, mut data_len) = (0, 0);
                for mut chunk in corpus.chunks(size) {
                    while let Some(event) = decoder.decode_event(&mut chunk).unwrap() {
                        events += 1;
                        data_len += event.data().len();
                    }
                }
                assert_eq!(
                    (events, data_len),
                    (corpus.events, corpus.data_len),
                    "{}",
                    corpus.name
                );
            }
        }
    }

    #[test]
    fn corpora_are_deterministic() {
        assert_eq!(small_json(10_000).bytes, small_json(10_000).bytes);
        assert_eq!(crlf_mixed(10_000).bytes, crlf_mixed(10_000).bytes);
    }
}
