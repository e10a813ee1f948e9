//! Records mode: every line as a record (NDJSON or CSV), written in input
//! order while the parsing runs on all cores, with the count of lines by
//! kind and the first lines that could not be parsed.

use std::io;
use std::ops::ControlFlow;

use haplog_engine::{run_ordered, Chunk, ChunkConfig, Chunker, InputError, InputSpec};
use haplog_format::Kind;
use haplog_report::escape::CsvStyle;
use haplog_report::records::{write_csv, write_ndjson, KindCounts, Origin};

use crate::Reading;

/// How records are written.
#[derive(Clone, Copy, Debug)]
pub enum Layout {
    Ndjson,
    Csv(CsvStyle),
    /// No records: the counts only.
    CountOnly,
}

/// Which records, and how.
#[derive(Clone, Debug)]
pub struct RecordsOptions {
    pub layout: Layout,
    /// Only these kinds; empty: every kind but blank lines and the parts
    /// of a split line (counted, but their records say nothing).
    pub kinds: Vec<Kind>,
    /// How many unparsed lines to keep for the summary.
    pub shown_unparsed: usize,
}

/// What a records run leaves.
pub struct Records {
    pub counts: KindCounts,
    /// The first unparsed lines: (input, 1-based line, text).
    pub unparsed: Vec<(usize, u64, Vec<u8>)>,
    pub input_errors: Vec<InputError>,
    /// Writing stopped here (a closed pipe, a full disk).
    pub write_error: Option<io::Error>,
}

/// What one chunk gives the ordered writer.
struct ChunkOut {
    text: Vec<u8>,
    input: usize,
    lines: u64,
    /// The chunk's first unparsed lines: (line index in the chunk, text).
    unparsed: Vec<(u64, Vec<u8>)>,
}

/// Writes the records of `inputs` (named `names` in each record) through
/// `write`, in input order.
pub fn records(
    reading: &Reading<'_>,
    inputs: Vec<InputSpec>,
    names: &[String],
    threads: usize,
    options: &RecordsOptions,
    mut write: impl FnMut(&[u8]) -> io::Result<()>,
) -> Records {
    struct Worker<'f> {
        parser: haplog_format::LineParser<'f>,
        counts: KindCounts,
    }
    let writing = !matches!(options.layout, Layout::CountOnly);
    let chunker = Chunker::new(
        inputs,
        ChunkConfig {
            // Records carry their line number; the counts alone number
            // only the unparsed lines they show, in the ordered writer.
            count_lines: writing,
            ..reading.chunk_config()
        },
    );
    let mut write_error = None;
    let mut next_line = vec![1u64; names.len()];
    let mut unparsed = Vec::new();
    let shown_unparsed = options.shown_unparsed;
    let outcome = run_ordered(
        chunker,
        threads,
        || Worker {
            parser: reading.parser(),
            counts: KindCounts::default(),
        },
        |w, chunk: &Chunk| {
            let mut text = Vec::with_capacity(if writing { chunk.len() * 2 } else { 0 });
            let file = &names[chunk.input];
            let mut shown = Vec::new();
            let counts = &mut w.counts;
            let lines = w.parser.for_each_line(chunk.input, chunk, |index, record| {
                counts.add(record);
                if record.kind == Kind::Unparsed && shown.len() < shown_unparsed {
                    shown.push((index, record.line.to_vec()));
                }
                let wanted = if options.kinds.is_empty() {
                    !matches!(record.kind, Kind::Blank | Kind::Partial)
                } else {
                    options.kinds.contains(&record.kind)
                };
                if !wanted {
                    return;
                }
                let origin = Origin {
                    file,
                    line: chunk.first_line + index,
                };
                match options.layout {
                    Layout::Ndjson => write_ndjson(&mut text, origin, record),
                    Layout::Csv(style) => write_csv(&mut text, origin, record, style),
                    Layout::CountOnly => {}
                }
            });
            ChunkOut {
                text,
                input: chunk.input,
                lines,
                unparsed: shown,
            }
        },
        |chunk: ChunkOut| {
            let first = next_line[chunk.input];
            next_line[chunk.input] += chunk.lines;
            for (index, line) in chunk.unparsed {
                if unparsed.len() < shown_unparsed {
                    unparsed.push((chunk.input, first + index, line));
                }
            }
            match write(&chunk.text) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    write_error = Some(e);
                    ControlFlow::Break(())
                }
            }
        },
    );
    let mut counts = KindCounts::default();
    for w in outcome.states {
        counts.merge(&w.counts);
    }
    Records {
        counts,
        unparsed,
        input_errors: outcome.input_errors,
        write_error,
    }
}
