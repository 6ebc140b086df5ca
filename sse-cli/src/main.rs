//! `sse`: decode, encode, listen to and serve Server-Sent Events from the
//! command line. Run `sse --help`, or `sse <command> --help`.

// The doc comments of the commands and options are their --help texts, read
// in a terminal, where Markdown backticks and <URL> brackets would show.
#![allow(clippy::doc_markdown, rustdoc::bare_urls, rustdoc::invalid_html_tags)]

use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use sse_client::reqwest::header;

mod decode;
mod doctor;
mod encode;
mod hub;
mod jsonl;
mod listen;
mod serve;
mod serving;

/// Server-Sent Events (text/event-stream) on the command line, read exactly
/// as a browser's EventSource reads them.
///
/// Exit status: 0 on success, 1 on an error (I/O, a refused input line, a
/// failed connection), 2 on a usage error.
#[derive(Debug, Parser)]
#[command(name = "sse", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Decode(decode::Args),
    Encode(encode::Args),
    Listen(listen::Args),
    Serve(serve::Args),
    Doctor(doctor::Args),
    Hub(hub::Args),
}

fn main() -> ExitCode {
    let cli = parse();
    let result = match cli.command {
        Command::Decode(args) => decode::run(&args),
        Command::Encode(args) => encode::run(&args),
        Command::Listen(args) => runtime().block_on(listen::run(args)),
        Command::Serve(args) => {
            log_warnings();
            let runtime = runtime();
            let served = runtime.block_on(serve::run(args));
            // stdin is read on a blocking thread that would keep the process
            // alive until its writer goes away: do not wait for it.
            runtime.shutdown_timeout(Duration::from_millis(100));
            served
        }
        Command::Doctor(args) => runtime().block_on(doctor::run(args)),
        Command::Hub(args) => {
            log_warnings();
            runtime().block_on(hub::run(args))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed) => ExitCode::FAILURE,
    }
}

/// The command line, with an environment variable for every flag of `sse
/// hub`: `SSE_HUB_<FLAG>` (`--redis-prefix`: `SSE_HUB_REDIS_PREFIX`) unless
/// Mercure names it (`MERCURE_PUBLISHER_JWT_KEY`, ...).
fn parse() -> Cli {
    let command = Cli::command().mut_subcommand("hub", |hub| {
        hub.mut_args(|arg| {
            let id = arg.get_id().as_str();
            if arg.get_env().is_some() || id == "help" || id == "version" {
                return arg;
            }
            let name: &'static str =
                Box::leak(format!("SSE_HUB_{}", id.to_ascii_uppercase()).into_boxed_str());
            arg.env(name)
        })
    });
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
}

/// Prints the warnings of the libraries under `sse serve` (the serving
/// loop's accept backoff, say) on stderr, one line each.
fn log_warnings() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_level(false)
        .init();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The command failed; what went wrong is already on stderr.
#[derive(Debug)]
struct Failed;

/// Prints `sse <command>: <message>` on stderr and fails.
fn fail(command: &str, message: impl std::fmt::Display) -> Failed {
    eprintln!("sse {command}: {message}");
    Failed
}

/// The `-H 'Name: value'` arguments of `listen` and `doctor`, parsed once
/// as HTTP header names and values (trimmed), in order.
fn header_args(command: &str, lines: &[String]) -> Result<header::HeaderMap, Failed> {
    let mut headers = header::HeaderMap::new();
    for line in lines {
        let parsed = line.split_once(':').and_then(|(name, value)| {
            let name = header::HeaderName::try_from(name.trim()).ok()?;
            Some((name, header::HeaderValue::try_from(value.trim()).ok()?))
        });
        let Some((name, value)) = parsed else {
            return Err(fail(
                command,
                format!("-H {line:?}: expected 'Name: value'"),
            ));
        };
        headers.append(name, value);
    }
    Ok(headers)
}

/// Whether writing stopped because the reader went away (`sse ... | head`):
/// not an error.
fn is_broken_pipe(err: &std::io::Error) -> bool {
    err.kind() == std::io::ErrorKind::BrokenPipe
}

/// Parses a duration in seconds (`1.5`).
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("not a number of seconds: {text}"))?;
    Duration::try_from_secs_f64(secs).map_err(|err| err.to_string())
}
