//! `sse encode`: JSON Lines in, an event stream out.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use bytes::BytesMut;

use crate::{fail, is_broken_pipe, jsonl, Failed};

/// Read JSON Lines (FILE, or stdin) and write a text/event-stream.
///
/// Each line is an object with any of: "data" (a string; other JSON values
/// are written as JSON text), "event", "id", "retry" (milliseconds) and
/// "comment". Data with line breaks becomes several data: lines. Empty lines
/// are skipped. A line that cannot be encoded safely (an event type or id
/// with a line break, an id with NUL, an unknown key, not JSON) is refused:
/// an error naming its line number on stderr, nothing of it written, and
/// exit status 1 at the end. `sse encode | sse decode` gives back the events.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The file to read (default: stdin).
    file: Option<PathBuf>,
}

pub(crate) fn run(args: &Args) -> Result<(), Failed> {
    let name = args
        .file
        .as_ref()
        .map_or_else(|| "stdin".to_owned(), |p| p.display().to_string());
    let input: Box<dyn Read> = match &args.file {
        Some(path) => {
            Box::new(File::open(path).map_err(|err| fail("encode", format!("{name}: {err}")))?)
        }
        None => Box::new(io::stdin().lock()),
    };
    let mut input = BufReader::with_capacity(64 * 1024, input);
    let mut out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let mut buf = BytesMut::new();
    let mut line = Vec::new();
    let mut refused = 0usize;
    for number in 1.. {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(err) => return Err(fail("encode", format!("reading {name}: {err}"))),
        }
        let text = match std::str::from_utf8(&line) {
            Ok(text) => text.trim(),
            Err(_) => {
                refused += 1;
                eprintln!("sse encode: line {number}: not UTF-8");
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        match jsonl::parse(text) {
            Ok(frames) => frames.iter().for_each(|frame| frame.encode(&mut buf)),
            Err(err) => {
                refused += 1;
                eprintln!("sse encode: line {number}: {err}");
            }
        }
        // Written per line, flushed whenever the input has nothing more
        // ready: live behind `tail -f`, few writes for a file.
        let written = out.write_all(&buf.split()).and_then(|()| {
            if input.buffer().is_empty() {
                out.flush()
            } else {
                Ok(())
            }
        });
        if let Err(err) = written {
            if is_broken_pipe(&err) {
                return Ok(());
            }
            return Err(fail("encode", format!("writing output: {err}")));
        }
    }
    if let Err(err) = out.flush() {
        if !is_broken_pipe(&err) {
            return Err(fail("encode", format!("writing output: {err}")));
        }
    }
    match refused {
        0 => Ok(()),
        n => Err(fail("encode", format!("{n} line(s) refused"))),
    }
}
