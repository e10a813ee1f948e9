//! Chunk + fold + merge, with results that must keep input order.
//!
//! Each worker owns a private state `W` (its aggregates) and folds whole
//! chunks into it; the caller merges the states at the end, so no lock is
//! ever shared on the hot path. What a chunk produces that must stay in input
//! order (printed lines, messages with line numbers) comes back as a result
//! `R`, handed to `consume` strictly in chunk order.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use crossbeam_channel::{bounded, unbounded};

use crate::chunk::{Chunk, Chunker};
use crate::input::InputError;

/// The number of workers to use when the user did not say: the
/// `HAPLOG_THREADS` environment variable, else the number of CPUs.
pub fn default_threads() -> usize {
    if let Some(n) = std::env::var("HAPLOG_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return n;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// What a run leaves: the workers' states, and the inputs that could not be
/// read (whose readable lines were processed all the same).
pub struct Outcome<W> {
    pub states: Vec<W>,
    pub input_errors: Vec<InputError>,
}

/// Runs `process` over every chunk and returns the workers' states.
///
/// `consume` sees each chunk's result in input order; returning
/// `ControlFlow::Break` stops reading (the states then cover at least the
/// consumed chunks, and possibly a few more that were already in flight, so
/// callers that break must not rely on the states). With `threads <= 1`
/// everything runs on the calling thread.
pub fn run_ordered<W, R, Init, Process, Consume>(
    mut chunker: Chunker,
    threads: usize,
    init: Init,
    process: Process,
    mut consume: Consume,
) -> Outcome<W>
where
    W: Send,
    R: Send,
    Init: Fn() -> W + Sync,
    Process: Fn(&mut W, &Chunk) -> R + Sync,
    Consume: FnMut(R) -> ControlFlow<()>,
{
    if threads <= 1 {
        let mut state = init();
        let mut spare = Vec::new();
        while let Some(chunk) = chunker.next_chunk(spare) {
            let result = process(&mut state, &chunk);
            spare = chunk.recycle();
            if consume(result).is_break() {
                break;
            }
        }
        return Outcome {
            states: vec![state],
            input_errors: chunker.take_errors(),
        };
    }

    // Chunks that may exist at once: this bounds memory for stream inputs
    // and how far the reader runs ahead of the slowest worker.
    let in_flight = threads * 3;
    let (work_tx, work_rx) = bounded(in_flight);
    let (result_tx, result_rx) = unbounded();
    let (token_tx, token_rx) = bounded::<Vec<u8>>(in_flight);
    for _ in 0..in_flight {
        token_tx.send(Vec::new()).expect("token channel has room");
    }

    let late = chunker.late_reports();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut seq = 0u64;
            // Ends when the consumer drops the token sender (it stopped early).
            while let Ok(spare) = token_rx.recv() {
                let Some(chunk) = chunker.next_chunk(spare) else {
                    break;
                };
                if work_tx.send((seq, chunk)).is_err() {
                    break;
                }
                seq += 1;
            }
            chunker.take_errors()
        });

        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let work_rx = work_rx.clone();
                let result_tx = result_tx.clone();
                let init = &init;
                let process = &process;
                scope.spawn(move || {
                    let mut state = init();
                    for (seq, chunk) in work_rx {
                        let result = process(&mut state, &chunk);
                        if result_tx.send((seq, result, chunk)).is_err() {
                            break;
                        }
                    }
                    state
                })
            })
            .collect();
        drop(work_rx);
        drop(result_tx);

        let mut waiting = BTreeMap::new();
        let mut next = 0u64;
        'results: for (seq, result, chunk) in result_rx.iter() {
            waiting.insert(seq, (result, chunk));
            while let Some((result, chunk)) = waiting.remove(&next) {
                next += 1;
                let flow = consume(result);
                let _ = token_tx.send(chunk.recycle());
                if flow.is_break() {
                    break 'results;
                }
            }
        }
        // Dropping the token sender stops the reader if we broke early.
        drop(token_tx);
        drop(result_rx);
        let states = workers
            .into_iter()
            .map(|w| w.join().expect("worker thread panicked"))
            .collect();
        let mut input_errors = reader.join().expect("reader thread panicked");
        // Every chunk is dropped by now: inputs truncated under the
        // workers have reported themselves.
        input_errors.extend(late.take());
        Outcome {
            states,
            input_errors,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::ChunkConfig;
    use crate::input::InputSpec;

    #[test]
    fn results_arrive_in_order_and_states_cover_all_lines() {
        let dir = std::env::temp_dir().join(format!("haplog-par-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("n.log");
        let text: String = (0..20000).map(|i| format!("{i}\n")).collect();
        std::fs::write(&path, &text).unwrap();
        for threads in [1, 2, 4] {
            let config = ChunkConfig {
                mapped_chunk: 997,
                stream_chunk: 997,
                end_at_line_len: None,
                count_lines: false,
                max_line: None,
                joins_next: None,
            };
            let chunker = Chunker::new(vec![InputSpec::Path(path.clone())], config);
            let mut seen = Vec::new();
            let states = run_ordered(
                chunker,
                threads,
                || 0u64,
                |sum, chunk| {
                    let lines: Vec<u64> = chunk
                        .split(|&b| b == b'\n')
                        .filter(|l| !l.is_empty())
                        .map(|l| std::str::from_utf8(l).unwrap().parse().unwrap())
                        .collect();
                    *sum += lines.iter().sum::<u64>();
                    lines
                },
                |lines| {
                    seen.extend(lines);
                    ControlFlow::Continue(())
                },
            )
            .states;
            assert_eq!(seen, (0..20000).collect::<Vec<u64>>());
            assert_eq!(states.iter().sum::<u64>(), (0..20000u64).sum());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_file_is_reported_and_the_others_are_read() {
        let dir = std::env::temp_dir().join(format!("haplog-par-miss-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("one.log");
        std::fs::write(&path, "a\nb\n").unwrap();
        for threads in [1, 2] {
            let chunker = Chunker::new(
                vec![
                    InputSpec::Path("/nonexistent/haplog.log".into()),
                    InputSpec::Path(path.clone()),
                ],
                ChunkConfig::default(),
            );
            let outcome = run_ordered(
                chunker,
                threads,
                || 0usize,
                |n, chunk: &Chunk| *n += chunk.len(),
                |_| ControlFlow::Continue(()),
            );
            assert_eq!(outcome.states.iter().sum::<usize>(), 4);
            assert_eq!(outcome.input_errors.len(), 1);
            let message = outcome.input_errors[0].to_string();
            assert!(
                message.starts_with("/nonexistent/haplog.log: "),
                "{message}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
