//! `sse decode`: an event stream in, JSON Lines out.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use sse_codec::{DecodeError, EventDecoder};

use crate::jsonl::Line;
use crate::{fail, is_broken_pipe, Failed};

/// Read a text/event-stream body (FILE, or stdin) and write what a browser's
/// EventSource would see, as JSON Lines.
///
/// One line per dispatched event, `{"type": ..., "data": ..., "lastEventId":
/// ...}` (`type` is "message" when none was set), one `{"retry": N}` per valid
/// retry field, and with --comments one `{"comment": ...}` per comment line.
/// Output is flushed before each read of input, so `curl -N URL | sse decode`
/// is live. Malformed input is not an error: it means what the spec says.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The file to read (default: stdin).
    file: Option<PathBuf>,
    /// Also write comment lines, as {"comment": "..."}.
    #[arg(long)]
    comments: bool,
    /// Skip (and report on stderr) events larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = sse_codec::DEFAULT_MAX_EVENT_SIZE)]
    max_event_size: usize,
}

pub(crate) fn run(args: &Args) -> Result<(), Failed> {
    let name = args
        .file
        .as_ref()
        .map_or_else(|| "stdin".to_owned(), |p| p.display().to_string());
    let mut input: Box<dyn Read> = match &args.file {
        Some(path) => {
            Box::new(File::open(path).map_err(|err| fail("decode", format!("{name}: {err}")))?)
        }
        None => Box::new(io::stdin().lock()),
    };
    let mut out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let mut decoder = EventDecoder::with_max_event_size(args.max_event_size);
    let mut buf = vec![0; 64 * 1024];
    loop {
        if let Err(err) = out.flush() {
            return stopped(&err);
        }
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(fail("decode", format!("reading {name}: {err}"))),
        };
        // Borrowed frames: each is written and let go, nothing is copied.
        let mut failed = None;
        decoder.for_each_frame(&buf[..n], |frame| {
            if failed.is_some() {
                return;
            }
            match frame {
                Ok(frame) => {
                    if let Some(line) = Line::of_ref(frame, args.comments) {
                        failed = line.write(&mut out).err().map(Stop::Write);
                    }
                }
                Err(DecodeError::EventTooLarge { max }) => {
                    eprintln!(
                        "sse decode: skipped an event larger than {max} bytes (--max-event-size)"
                    );
                }
                Err(err) => failed = Some(Stop::Decode(err)),
            }
        });
        match failed {
            None => {}
            Some(Stop::Write(err)) => return stopped(&err),
            Some(Stop::Decode(err)) => return Err(fail("decode", err)),
        }
    }
    // The end of input ends the stream: an unterminated event is dropped.
    decoder.finish();
    out.flush().or_else(|err| stopped(&err))?;
    Ok(())
}

/// Why a chunk's frames stopped being written.
enum Stop {
    Write(io::Error),
    Decode(DecodeError),
}

/// Writing failed: fine if the reader left, an error otherwise.
fn stopped(err: &io::Error) -> Result<(), Failed> {
    if is_broken_pipe(err) {
        Ok(())
    } else {
        Err(fail("decode", format!("writing output: {err}")))
    }
}
