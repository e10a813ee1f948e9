//! haproxy_log_analysis (the Python `haproxy-log-analysis` 6.0 package)
//! reimplemented: its line grammar, its 17 commands and 13 filters, its
//! text and JSON output, with its bugs fixed where they are bugs (the list
//! is in `docs/hla.md`). No CLI here: `haplog hla` drives it.

pub mod line;
pub mod query;
pub mod results;
pub mod time;

use std::io::{self, Write};
use std::ops::ControlFlow;

use haplog_engine::{run_ordered, ChunkConfig, Chunker, InputError, InputSpec};

use line::{strip, Line, Rejection};
use query::{Command, Query};
use results::{Needs, Results};
use time::NaiveTime;

pub use query::QueryError;

/// `--list-commands`, as the tool prints it.
pub const LIST_COMMANDS: &str = include_str!("listings/list-commands.txt");
/// `--list-filters`, as the tool prints it.
pub const LIST_FILTERS: &str = include_str!("listings/list-filters.txt");

/// The lines of `data` as Python's universal newlines see them: `\n`,
/// `\r\n` and a lone `\r` each end a line; a final line end starts no
/// empty line.
pub fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    // Empty data has no line ("\n" has one, empty).
    let pieces = (!data.is_empty()).then(|| {
        let body = data.strip_suffix(b"\n").unwrap_or(data);
        body.split(|&b| b == b'\n')
    });
    pieces.into_iter().flatten().flat_map(|piece| {
        let piece = piece.strip_suffix(b"\r").unwrap_or(piece);
        piece.split(|&b| b == b'\r')
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn universal_newlines() {
        let all = |d: &'static [u8]| super::lines(d).collect::<Vec<_>>();
        assert!(all(b"").is_empty());
        assert_eq!(all(b"\n"), [&b""[..]]);
        assert_eq!(all(b"a\r\nb\rc\n\nd"), [&b"a"[..], b"b", b"c", b"", b"d"]);
        assert_eq!(all(b"a\r\r\n"), [&b"a"[..], b""]);
    }
}

/// A line's text: UTF-8, or (where the tool aborts the whole run) its
/// bytes read with U+FFFD for the ones that are not.
pub fn text(line: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(line)
}

/// How to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub query: Query,
    pub json: bool,
    /// `--invalid`: print the lines the tool's grammar does not accept.
    pub show_invalid: bool,
}

/// What the run saw, for the summary on stderr.
#[derive(Debug, Default)]
pub struct Summary {
    pub lines: u64,
    /// Lines the tool's grammar accepts.
    pub valid: u64,
    /// Lines of another shape (the tool skips them silently).
    pub invalid: u64,
    /// Lines whose accept date `strptime` cannot read (the tool aborts).
    pub bad_dates: u64,
    /// Lines with bytes that are not UTF-8 (the tool aborts).
    pub not_utf8: u64,
    /// Valid lines whose request line does not parse (the tool prints a
    /// notice for each but `<BADREQ>`): their count and the first few.
    pub unreadable_requests: u64,
    pub first_unreadable: Vec<String>,
    /// Lines within the window that reached the commands.
    pub counted: u64,
    pub input_errors: Vec<InputError>,
}

const SHOWN: usize = 5;

impl Summary {
    /// Adds the counts of the next part of the input.
    fn absorb(&mut self, later: Summary) {
        self.lines += later.lines;
        self.valid += later.valid;
        self.invalid += later.invalid;
        self.bad_dates += later.bad_dates;
        self.not_utf8 += later.not_utf8;
        self.unreadable_requests += later.unreadable_requests;
        let room = SHOWN.saturating_sub(self.first_unreadable.len());
        self.first_unreadable
            .extend(later.first_unreadable.into_iter().take(room));
    }
}

/// One chunk's share.
struct ChunkOut {
    results: Results,
    summary: Summary,
    /// `print` and `--invalid` output, in line order.
    printed: Vec<u8>,
}

/// The accept date of the first valid line of `input` (the start of the
/// window when `-d` comes without `-s`).
pub fn first_accept_date(input: &InputSpec) -> Option<NaiveTime> {
    let mut chunker = Chunker::new(vec![input.clone()], ChunkConfig::default());
    let mut spare = Vec::new();
    while let Some(chunk) = chunker.next_chunk(spare) {
        for raw in lines(&chunk) {
            if let Ok(line) = Line::parse(strip(&text(raw))) {
                return Some(line.accept_date);
            }
        }
        spare = chunk.recycle();
    }
    None
}

/// Reads `input` and writes the results as the tool would: the `print`
/// lines, then (text) `RESULTS` and one block per command or (JSON) one
/// line per command.
pub fn run(
    config: &Config,
    input: InputSpec,
    threads: usize,
    out: &mut dyn Write,
) -> io::Result<Summary> {
    let query = &config.query;
    let first = if query.delta.is_some() && query.start.is_none() {
        first_accept_date(&input)
    } else {
        None
    };
    let (start, end) = query.window(first);
    let needs = Needs::of(&query.commands);
    let print = query.commands.contains(&Command::Print);
    let chunker = Chunker::new(vec![input], ChunkConfig::default());
    let mut total = Results::default();
    let mut summary = Summary::default();
    let mut write_error = None;
    let outcome = run_ordered(
        chunker,
        threads.max(1),
        || (),
        |_, chunk| {
            let mut c = ChunkOut {
                results: Results::default(),
                summary: Summary::default(),
                printed: Vec::new(),
            };
            for raw in lines(chunk) {
                c.summary.lines += 1;
                let text = text(raw);
                if matches!(text, std::borrow::Cow::Owned(_)) {
                    c.summary.not_utf8 += 1;
                }
                let stripped = strip(&text);
                let line = match Line::parse(stripped) {
                    Ok(line) => line,
                    Err(rejection) => {
                        match rejection {
                            Rejection::Shape => c.summary.invalid += 1,
                            Rejection::AcceptDate => c.summary.bad_dates += 1,
                        }
                        if config.show_invalid {
                            c.printed.extend_from_slice(stripped.as_bytes());
                            c.printed.push(b'\n');
                        }
                        continue;
                    }
                };
                c.summary.valid += 1;
                if !line.request_parsed && line.request != "<BADREQ>" {
                    c.summary.unreadable_requests += 1;
                    if c.summary.first_unreadable.len() < SHOWN {
                        c.summary.first_unreadable.push(line.request.to_string());
                    }
                }
                if start.is_some_and(|s| line.accept_date < s)
                    || end.is_some_and(|e| line.accept_date > e)
                    || !query.keeps(&line)
                {
                    continue;
                }
                c.results.add(&line, &needs);
                if print {
                    c.printed.extend_from_slice(stripped.as_bytes());
                    c.printed.push(b'\n');
                }
            }
            c
        },
        |c: ChunkOut| {
            summary.absorb(c.summary);
            total.merge(c.results);
            match out.write_all(&c.printed) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    write_error = Some(e);
                    ControlFlow::Break(())
                }
            }
        },
    );
    if let Some(e) = write_error {
        return Err(e);
    }
    summary.counted = total.counter;
    summary.input_errors = outcome.input_errors;
    let mut text = String::new();
    if !config.json {
        text.push_str("\nRESULTS\n\n");
    }
    for &command in &query.commands {
        if command == Command::Print {
            continue;
        }
        if config.json {
            total.write_json(command, &mut text);
        } else {
            total.write_text(command, &mut text);
        }
    }
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(summary)
}
