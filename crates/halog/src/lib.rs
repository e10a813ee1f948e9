//! halog 2.6, byte for byte, on the haplog engine.
//!
//! [`options::parse`] reads halog's arguments exactly as halog does; [`run`]
//! reads the input on any number of threads and prints what halog prints.
//! The semantics (field scanning, integer wrap-around, sort orders, every
//! quirk) follow halog 2.6; where 2.6 prints memory garbage or crashes for a
//! combination of output options, we reject it as newer halog does.

use std::io::{self, Write};
use std::ops::ControlFlow;

use haplog_engine::{run_ordered, ChunkConfig, Chunker, InputError, InputSpec};

pub mod options;
mod output;
pub mod process;
pub mod scan;

pub use options::{parse, Config, Parsed};

/// Why a run could not finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing the results failed (a closed pipe shows up here too).
    #[error("cannot write output: {0}")]
    Output(#[from] io::Error),
}

/// How a run ended, when its results were written.
#[derive(Debug, Default)]
pub struct Finished {
    /// Inputs that could not be opened, or failed part way (a truncated
    /// `.gz`). The lines read before a failure are in the results; a caller
    /// should still report these and exit with an error.
    pub input_errors: Vec<InputError>,
}

/// Reads `inputs` as one stream and prints halog's results.
///
/// `threads` workers parse in parallel; the output does not depend on it.
/// A run that `-m` can cut short is read on one thread, because where it
/// stops depends on every line before.
pub fn run(
    config: &Config,
    inputs: Vec<InputSpec>,
    threads: usize,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Finished, Error> {
    if config.fast_count && config.invert {
        // halog answers without reading the input.
        writeln!(out, "0")?;
        return Ok(Finished::default());
    }
    let limit_input = limits_input(config);
    let threads = if limit_input { 1 } else { threads.max(1) };
    let chunker = Chunker::new(
        inputs,
        ChunkConfig {
            end_at_line_len: Some(process::MAX_LINE),
            ..ChunkConfig::default()
        },
    );

    let mut lines_in = 0u64;
    let mut write_error: Option<io::Error> = None;
    let outcome = run_ordered(
        chunker,
        threads,
        || process::Worker::new(config, limit_input),
        |worker, chunk| worker.process_chunk(chunk),
        |chunk_out| consume(&chunk_out, &mut lines_in, &mut write_error, out, err),
    );
    if let Some(e) = write_error {
        return Err(e.into());
    }
    finish(config, outcome.states, lines_in, out, err)?;
    Ok(Finished {
        input_errors: outcome.input_errors,
    })
}

/// Runs halog over `data` held in memory, cut into chunks after the line
/// ends listed in `cuts` (offsets into `data`), the chunks dealt round-robin
/// to `workers` worker states that are then merged: the parallel path made
/// deterministic, for fuzzing and for tests that the result does not depend
/// on where chunks end or how many workers share them.
pub fn run_in_memory(
    config: &Config,
    data: &[u8],
    cuts: &[usize],
    workers: usize,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    if config.fast_count && config.invert {
        return writeln!(out, "0");
    }
    let limit_input = limits_input(config);
    let workers = if limit_input { 1 } else { workers.max(1) };
    let data = match haplog_engine::first_long_line(data, process::MAX_LINE) {
        Some(end) => &data[..end],
        None => data,
    };
    let mut bounds: Vec<usize> = cuts
        .iter()
        .copied()
        .filter(|&c| c > 0 && c < data.len() && data[c - 1] == b'\n')
        .collect();
    bounds.sort_unstable();
    bounds.dedup();
    bounds.push(data.len());
    let mut states: Vec<_> = (0..workers)
        .map(|_| process::Worker::new(config, limit_input))
        .collect();
    let mut lines_in = 0u64;
    let mut write_error = None;
    let mut start = 0;
    for (i, &end) in bounds.iter().enumerate() {
        if end == start {
            continue;
        }
        let chunk_out = states[i % workers].process_chunk(&data[start..end]);
        start = end;
        if consume(&chunk_out, &mut lines_in, &mut write_error, out, err).is_break() {
            break;
        }
    }
    if let Some(e) = write_error {
        return Err(e);
    }
    finish(config, states, lines_in, out, err)
}

/// Whether `-m` can stop reading, so lines must be read on one thread in
/// order.
fn limits_input(config: &Config) -> bool {
    !config.fast_count
        && config.lines_max >= 0
        && (config.lines_max == 0 || config.line_mode.counts_while_reading())
}

/// Takes one chunk's ordered output; breaks when `-m` ended the input or
/// the output cannot be written.
fn consume(
    chunk_out: &process::ChunkOutput,
    lines_in: &mut u64,
    write_error: &mut Option<io::Error>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> ControlFlow<()> {
    if let Err(e) = emit_in_order(chunk_out, *lines_in, out, err) {
        *write_error = Some(e);
        return ControlFlow::Break(());
    }
    *lines_in += chunk_out.lines;
    if chunk_out.stop {
        ControlFlow::Break(())
    } else {
        ControlFlow::Continue(())
    }
}

/// Merges the workers' states and prints the final output.
fn finish(
    config: &Config,
    states: Vec<process::Worker<'_>>,
    lines_in: u64,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    let mut states = states.into_iter();
    let mut total = states.next().expect("at least one worker");
    for other in states {
        total.merge(other);
    }
    if config.fast_count {
        total.lines_out = match config.lines_max {
            max if max >= 0 => lines_in.min(max as u64),
            _ => lines_in,
        };
    }
    output::write_final(config, &total, lines_in, out, err)
}

/// Writes what a chunk printed, and its messages with their line numbers.
fn emit_in_order(
    chunk: &process::ChunkOutput,
    lines_before: u64,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    out.write_all(&chunk.stdout)?;
    if chunk.messages.is_empty() {
        return Ok(());
    }
    // Built in one buffer: a chunk of a TCP log can hold thousands of
    // "Truncated line" messages.
    let mut text = Vec::with_capacity(chunk.message_text.len() + 32 * chunk.messages.len());
    for message in &chunk.messages {
        match message {
            process::Message::Truncated { line, text: range } => {
                text.extend_from_slice(b"Truncated line ");
                text.extend_from_slice(
                    itoa::Buffer::new()
                        .format((lines_before + line) as u32 as i32)
                        .as_bytes(),
                );
                text.extend_from_slice(b": ");
                text.extend_from_slice(&chunk.message_text[range.clone()]);
                text.push(b'\n');
            }
            process::Message::Plain { text: range } => {
                text.extend_from_slice(&chunk.message_text[range.clone()])
            }
        }
    }
    err.write_all(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// halog numbers lines in a 32-bit int: past 2^31 the number printed in
    /// "Truncated line N" goes negative, and wraps to 0 at 2^32.
    #[test]
    fn truncated_line_numbers_wrap_as_c_ints() {
        let mut chunk = process::ChunkOutput::default();
        chunk.message_text.extend_from_slice(b"cut");
        for line in [1u64, 2] {
            chunk
                .messages
                .push(process::Message::Truncated { line, text: 0..3 });
        }
        for (before, first, second) in [
            (0u64, "1", "2"),
            (i32::MAX as u64 - 1, "2147483647", "-2147483648"),
            (u32::MAX as u64 - 1, "-1", "0"),
        ] {
            let mut out = Vec::new();
            let mut err = Vec::new();
            emit_in_order(&chunk, before, &mut out, &mut err).unwrap();
            assert_eq!(
                String::from_utf8(err).unwrap(),
                format!("Truncated line {first}: cut\nTruncated line {second}: cut\n")
            );
        }
    }
}
