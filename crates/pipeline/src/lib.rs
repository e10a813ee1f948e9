//! The loop every command runs, once: inputs → header and envelope →
//! parser → filter → collector. [`scan`] folds files (or standard input)
//! on all cores into one merged [`TrafficStats`]; [`Follow`] reads a log
//! that keeps growing and hands out what each batch of new lines adds, and
//! [`Seconds`] folds batches from any source (standard input, syslog
//! datagrams) the same way.
//! [`records::records`] writes every line as a record, in input order.
//! Callers choose inputs and outputs; no command line here.

pub mod records;

use std::io;
use std::path::PathBuf;

use haplog_analyze::{Collector, Config, Merge, Request, TrafficStats};
use haplog_engine::{
    run_ordered, Chunk, ChunkConfig, Chunker, FollowConfig, Follower, InputError, InputSpec,
};
use haplog_format::envelope::EnvelopeStyle;
use haplog_format::header::HeaderStyle;
use haplog_format::time::DateCache;
use haplog_format::{Formats, LineParser, Record};

/// How lines are read: the formats to try, the header and envelope around
/// each message (detected when `None`), and the longest line kept whole.
#[derive(Clone, Copy)]
pub struct Reading<'f> {
    pub formats: &'f Formats,
    pub header: Option<HeaderStyle>,
    /// `Some(None)`: bare lines, no envelope.
    pub envelope: Option<Option<EnvelopeStyle>>,
    pub max_line: usize,
}

impl<'f> Reading<'f> {
    /// A parser for one thread.
    pub fn parser(&self) -> LineParser<'f> {
        LineParser::new(self.formats, self.header)
            .with_envelope(self.envelope)
            .with_max_line(self.max_line)
    }

    /// How to cut inputs so that every line reaches the parser whole (the
    /// parts of a split container line in one chunk) and memory stays
    /// bounded on endless lines.
    pub fn chunk_config(&self) -> ChunkConfig {
        chunk_config(self.max_line)
    }
}

/// Chunks for lines of at most `max_line` bytes kept whole, the parts of a
/// split container line kept together.
pub fn chunk_config(max_line: usize) -> ChunkConfig {
    ChunkConfig {
        max_line: Some(max_line),
        joins_next: Some(haplog_format::envelope::continues),
        ..ChunkConfig::default()
    }
}

/// What a scan leaves: the merged figures, and the inputs that could not
/// be read (whose readable lines are counted all the same).
pub struct Scan {
    pub stats: TrafficStats,
    pub input_errors: Vec<InputError>,
}

/// Folds `inputs` on `threads` workers into one [`TrafficStats`];
/// `progress` hears the bytes of each chunk as it is done, in order.
pub fn scan(
    reading: &Reading<'_>,
    inputs: Vec<InputSpec>,
    threads: usize,
    config: &Config,
    mut progress: impl FnMut(u64),
) -> Scan {
    struct Worker<'f, 'c> {
        parser: LineParser<'f>,
        collector: Collector<'c>,
    }
    let chunker = Chunker::new(inputs, reading.chunk_config());
    let outcome = run_ordered(
        chunker,
        threads,
        || Worker {
            parser: reading.parser(),
            collector: Collector::new(config),
        },
        |w, chunk: &Chunk| {
            fold(&mut w.parser, &mut w.collector, chunk);
            chunk.len() as u64
        },
        |bytes| {
            progress(bytes);
            std::ops::ControlFlow::Continue(())
        },
    );
    let mut stats = TrafficStats::new(config);
    for w in outcome.states {
        stats.merge(w.collector.finish());
    }
    Scan {
        stats,
        input_errors: outcome.input_errors,
    }
}

/// The one per-line loop: each line of `chunk` parsed and counted.
#[inline]
fn fold(parser: &mut LineParser<'_>, collector: &mut Collector<'_>, chunk: &Chunk) {
    parser.for_each_line(chunk.input, chunk, |index, record| {
        collector.line(record, (chunk.seq, index));
    });
}

/// Batches of lines from any source (a followed file, standard input,
/// syslog datagrams) folded into figures per second of their log date.
pub struct Seconds<'f, 'c> {
    parser: LineParser<'f>,
    config: &'c Config,
    /// The newest second a dated line had, for the undated ones after it.
    last_second: Option<i64>,
    /// Batches folded: the first part of each line's position.
    batches: u64,
    /// Lines folded so far (what numbers the next batch's lines).
    lines: u64,
}

impl<'f, 'c> Seconds<'f, 'c> {
    pub fn new(reading: &Reading<'f>, config: &'c Config) -> Seconds<'f, 'c> {
        Seconds {
            parser: reading.parser(),
            config,
            last_second: None,
            batches: 0,
            lines: 0,
        }
    }

    /// The figures of `batch`'s lines per second of their log date (UTC,
    /// as `report --since/--until` reads dates): what a
    /// [`haplog_analyze::Windowed`] store takes, so a window and a report
    /// over the same lines agree. Lines without a date (not traffic) go
    /// with the newest dated second so far (the clock's, before any).
    /// `batch` should end at a line's end.
    pub fn fold(&mut self, batch: &[u8]) -> Vec<(i64, TrafficStats)> {
        self.fold_with(batch, |_, _| {})
    }

    /// [`Seconds::fold`], and each line's record handed to `each` with its
    /// 1-based number among the lines this source has given.
    pub fn fold_with(
        &mut self,
        batch: &[u8],
        mut each: impl FnMut(u64, &Record<'_, '_>),
    ) -> Vec<(i64, TrafficStats)> {
        let seq = self.batches;
        let first = self.lines + 1;
        self.batches += 1;
        let config = self.config;
        let offset = config.filter.offset_minutes;
        let mut dates = DateCache::default();
        let mut seconds: Vec<(i64, Collector<'c>)> = Vec::new();
        let mut undated = Collector::new(config);
        let mut any_undated = false;
        self.lines += self.parser.for_each_line(0, batch, |index, record| {
            each(first + index, record);
            let position = (seq, index);
            let second = Request::from_record(record, &mut dates, &config.read)
                .and_then(|r| r.time)
                .map(|t| t.utc_ms(offset).div_euclid(1000));
            let Some(second) = second else {
                undated.line(record, position);
                any_undated = true;
                return;
            };
            // A batch spans few seconds, mostly in order: look from the end.
            let at = match seconds.iter().rposition(|(s, _)| *s == second) {
                Some(at) => at,
                None => {
                    seconds.push((second, Collector::new(config)));
                    seconds.len() - 1
                }
            };
            seconds[at].1.line(record, position);
        });
        let newest = seconds.iter().map(|(s, _)| *s).max().or(self.last_second);
        self.last_second = newest;
        let mut out: Vec<(i64, TrafficStats)> = seconds
            .into_iter()
            .map(|(second, collector)| (second, collector.finish()))
            .collect();
        if any_undated {
            let second = newest.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64)
            });
            out.push((second, undated.finish()));
        }
        out
    }

    /// The newest log second seen (UTC).
    pub fn newest(&self) -> Option<i64> {
        self.last_second
    }
}

/// A log followed as it grows (across rotations): each [`Follow::poll`]
/// gives what the lines written since the last one add.
pub struct Follow<'f, 'c> {
    follower: Follower,
    seconds: Seconds<'f, 'c>,
}

impl<'f, 'c> Follow<'f, 'c> {
    pub fn new(
        reading: &Reading<'f>,
        path: impl Into<PathBuf>,
        follow: FollowConfig,
        config: &'c Config,
    ) -> Follow<'f, 'c> {
        Follow {
            follower: Follower::new(path, follow),
            seconds: Seconds::new(reading, config),
        }
    }

    /// The figures of the lines written since the last call, per second
    /// of their log date (see [`Seconds::fold`]). Never blocks.
    pub fn poll_seconds(&mut self) -> io::Result<Vec<(i64, TrafficStats)>> {
        self.poll_seconds_with(|_, _| {})
    }

    /// [`Follow::poll_seconds`], and each line's record handed to `each`
    /// (see [`Seconds::fold_with`]): numbered across rotations, as read.
    pub fn poll_seconds_with(
        &mut self,
        each: impl FnMut(u64, &Record<'_, '_>),
    ) -> io::Result<Vec<(i64, TrafficStats)>> {
        let Some(chunk) = self.follower.poll(Vec::new())? else {
            return Ok(Vec::new());
        };
        Ok(self.seconds.fold_with(&chunk, each))
    }

    /// The figures of the lines written since the last call; `None` when
    /// there were none. Never blocks.
    pub fn poll(&mut self) -> io::Result<Option<TrafficStats>> {
        let Some(chunk) = self.follower.poll(Vec::new())? else {
            return Ok(None);
        };
        let mut collector = Collector::new(self.seconds.config);
        fold(&mut self.seconds.parser, &mut collector, &chunk);
        Ok(Some(collector.finish()))
    }

    pub fn follower(&self) -> &Follower {
        &self.follower
    }

    /// The newest log second seen (UTC).
    pub fn newest(&self) -> Option<i64> {
        self.seconds.newest()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use haplog_format::FormatOptions;
    use std::io::Write;

    const LINE: &str = "10.0.0.1:4000 [02/Dec/2026:10:00:00.000] fe be/s1 0/0/1/2/3 200 100 - - ---- 1/1/0/0/0 0/0 \"GET /x HTTP/1.1\"\n";

    fn reading(formats: &Formats) -> Reading<'_> {
        Reading {
            formats,
            header: None,
            envelope: None,
            max_line: 1 << 16,
        }
    }

    /// The same lines give the same figures read on four threads, on one,
    /// or followed batch by batch as they are written.
    #[test]
    fn scan_and_follow_agree() {
        let formats = Formats::new(&FormatOptions::default()).unwrap();
        let reading = reading(&formats);
        let config = Config::default();
        let dir = std::env::temp_dir().join(format!("haplog-pipeline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.log");
        let _ = std::fs::remove_file(&path);
        let follow_config = FollowConfig {
            from_start: true,
            ..FollowConfig::default()
        };
        let mut follow = Follow::new(&reading, &path, follow_config, &config);
        assert!(follow.poll().unwrap().is_none());
        let mut file = std::fs::File::create(&path).unwrap();
        let mut followed = TrafficStats::new(&config);
        for batch in 0..5 {
            for i in 0..(10 + batch) {
                let line = LINE.replace(" 200 ", if i % 3 == 0 { " 503 " } else { " 200 " });
                file.write_all(line.as_bytes()).unwrap();
            }
            file.write_all(b"not a haproxy line\n").unwrap();
            while let Some(delta) = follow.poll().unwrap() {
                followed.merge(delta);
            }
        }
        let mut bytes = 0;
        let scanned = scan(
            &reading,
            vec![InputSpec::Path(path.clone())],
            4,
            &config,
            |n| bytes += n,
        );
        assert!(scanned.input_errors.is_empty());
        assert_eq!(bytes, std::fs::metadata(&path).unwrap().len());
        let stats = scanned.stats;
        assert_eq!(stats.requests, 60);
        assert_eq!(stats.lines, 65);
        let single = scan(
            &reading,
            vec![InputSpec::Path(path.clone())],
            1,
            &config,
            |_| {},
        )
        .stats;
        for other in [&followed, &single] {
            assert_eq!(other.requests, stats.requests);
            assert_eq!(other.lines, stats.lines);
            assert_eq!(other.status_counts(), stats.status_counts());
            assert_eq!(other.kinds, stats.kinds);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Followed lines land in the second of their log date; a window of
    /// those seconds counts what a fresh report over the window's lines
    /// counts.
    #[test]
    fn follow_by_log_second_feeds_a_window() {
        let formats = Formats::new(&FormatOptions::default()).unwrap();
        let reading = reading(&formats);
        let config = Config::default();
        let dir = std::env::temp_dir().join(format!("haplog-pipeline-s-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("b.log");
        let follow_config = FollowConfig {
            from_start: true,
            ..FollowConfig::default()
        };
        let mut text = String::new();
        for (second, count) in [(0, 3), (1, 5), (2, 2), (1, 1)] {
            for _ in 0..count {
                text.push_str(&LINE.replace("10:00:00.000", &format!("10:00:0{second}.000")));
            }
        }
        text.push_str("Proxy fe started.\n");
        std::fs::write(&path, &text).unwrap();
        let mut follow = Follow::new(&reading, &path, follow_config, &config);
        let mut windowed = haplog_analyze::Windowed::new(60);
        let batches = follow.poll_seconds().unwrap();
        let base = 1_796_205_600; // 2026-12-02T10:00:00Z
        let seconds: Vec<(i64, u64)> = batches
            .iter()
            .map(|(s, t)| (*s - base, t.requests))
            .collect();
        // The event line has no date: it goes with the newest second.
        assert_eq!(seconds, [(0, 3), (1, 6), (2, 2), (2, 0)]);
        for (second, stats) in batches {
            windowed.add(second, stats);
        }
        let last_two = windowed.last(base + 2, 2).unwrap();
        assert_eq!(last_two.requests, 8);
        assert_eq!(last_two.lines, 9);
        assert_eq!(windowed.since_start().unwrap().requests, 11);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
