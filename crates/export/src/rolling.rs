//! Rolling Parquet files, for continuous ingest from a live view: rows
//! come one line at a time, a file is closed when it is old enough or
//! big enough, and only then appears under its name (it is written as a
//! hidden `.tmp` file and renamed), so a loader that picks up
//! `DIR/*.parquet` never reads half a file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arrow_schema::SchemaRef;
use haplog_format::Record;
use parquet::file::properties::WriterProperties;

use crate::chunk::PageEncoder;
use crate::rows::{Origin, Rows};
use crate::{encode, has_row, leaves, schema, writer_properties, ExportError, Output};

/// When files close, and what goes in them.
#[derive(Clone, Debug)]
pub struct RollingOptions {
    /// Traffic files go here; the other lines under its `_other/`.
    pub dir: PathBuf,
    /// A file closes this long after its first row…
    pub every: Duration,
    /// …or as soon as it holds this many rows, whichever comes first.
    pub max_rows: u64,
    pub zstd_level: i32,
    /// The zone of dates written without one, in minutes east of UTC.
    pub offset_minutes: i32,
    /// Whether lines that are not traffic are kept (under `_other/`).
    pub other: bool,
}

/// A file closed: where, and how many rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub path: PathBuf,
    pub rows: u64,
}

/// Rows are encoded as a row group once this many wait, or once they
/// come from this many bytes of lines: memory stays bounded however long
/// a file stays open, and however long its lines.
const ROW_GROUP_ROWS: usize = 65_536;
const ROW_GROUP_BYTES: usize = 64 << 20;

/// Rolling files of traffic lines, and of the others.
pub struct Rolling {
    options: RollingOptions,
    files: Files,
    traffic: Roll,
    other: Option<Roll>,
}

/// What every file is written with.
struct Files {
    schema: SchemaRef,
    properties: WriterProperties,
    pages: Option<PageEncoder>,
    /// Files opened so far: the last part of each name.
    opened: u64,
}

/// One series of files.
struct Roll {
    dir: PathBuf,
    rows: Rows,
    open: Option<Output>,
    /// The first tick that saw the file being gathered hold rows: its age
    /// counts from there (ticks come with every poll), on the caller's
    /// clock.
    since: Option<Instant>,
    /// Rows of that file, written and waiting.
    file_rows: u64,
    /// Bytes of the lines of the rows waiting.
    group_bytes: usize,
}

impl Rolling {
    pub fn new(options: RollingOptions) -> Result<Rolling, ExportError> {
        let schema: SchemaRef = Arc::new(schema::arrow_schema());
        let leaves = leaves(&schema, &options.dir)?;
        let roll = |dir: PathBuf| -> Result<Roll, ExportError> {
            std::fs::create_dir_all(&dir).map_err(|source| ExportError::CreateDir {
                path: dir.clone(),
                source,
            })?;
            Ok(Roll {
                dir,
                rows: Rows::new(&leaves, options.offset_minutes),
                open: None,
                since: None,
                file_rows: 0,
                group_bytes: 0,
            })
        };
        let traffic = roll(options.dir.clone())?;
        let other = if options.other {
            Some(roll(options.dir.join("_other"))?)
        } else {
            None
        };
        Ok(Rolling {
            files: Files {
                properties: writer_properties(options.zstd_level),
                pages: PageEncoder::new(options.zstd_level).ok(),
                schema,
                opened: 0,
            },
            traffic,
            other,
            options,
        })
    }

    /// Adds the row of one line (`file`: its source's name; `line`: its
    /// number there).
    pub fn push(
        &mut self,
        file: &str,
        line: u64,
        record: &Record<'_, '_>,
    ) -> Result<(), ExportError> {
        let roll = if record.kind.is_request() {
            &mut self.traffic
        } else if has_row(record.kind) {
            match &mut self.other {
                Some(roll) => roll,
                None => return Ok(()),
            }
        } else {
            return Ok(());
        };
        roll.file_rows += 1;
        roll.group_bytes += record.line.len();
        roll.rows.push(&Origin { file, line }, record);
        if roll.file_rows >= self.options.max_rows {
            // A file never holds more than `max_rows`, however many rows
            // one poll brings.
            roll.close(&mut self.files)?;
        } else if roll.rows.len() >= ROW_GROUP_ROWS || roll.group_bytes >= ROW_GROUP_BYTES {
            roll.write_group(&mut self.files)?;
        }
        Ok(())
    }

    /// Closes the files that are due at `now`.
    pub fn tick(&mut self, now: Instant) -> Result<Vec<Closed>, ExportError> {
        let every = self.options.every;
        for roll in std::iter::once(&mut self.traffic).chain(self.other.as_mut()) {
            if roll.file_rows > 0 {
                roll.since.get_or_insert(now);
            }
        }
        self.close_where(|roll| {
            roll.since
                .is_some_and(|since| now.saturating_duration_since(since) >= every)
        })
    }

    /// Closes every file, due or not (at the end of the input, or when
    /// interrupted).
    pub fn finish(&mut self) -> Result<Vec<Closed>, ExportError> {
        self.close_where(|roll| roll.file_rows > 0)
    }

    fn close_where(&mut self, due: impl Fn(&Roll) -> bool) -> Result<Vec<Closed>, ExportError> {
        let mut closed = Vec::new();
        let Rolling {
            traffic,
            other,
            files,
            ..
        } = self;
        for roll in std::iter::once(traffic).chain(other.as_mut()) {
            if due(roll) {
                if let Some(c) = roll.close(files)? {
                    closed.push(c);
                }
            }
        }
        Ok(closed)
    }
}

impl Roll {
    /// Encodes the waiting rows as a row group of the open file (opened
    /// now if none is).
    fn write_group(&mut self, files: &mut Files) -> Result<(), ExportError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        self.group_bytes = 0;
        let open = match &mut self.open {
            Some(open) => open,
            None => {
                files.opened += 1;
                let name = format!(
                    "part-{}-{:06}.parquet",
                    utc_stamp(SystemTime::now()),
                    files.opened
                );
                let path = self.dir.join(name);
                self.open
                    .insert(Output::create(&path, &files.schema, &files.properties)?)
            }
        };
        let group = encode(&mut self.rows, &mut files.pages).map_err(|e| open.failed(e))?;
        open.append(group)
    }

    /// Writes what waits, closes the file and gives it its name.
    fn close(&mut self, files: &mut Files) -> Result<Option<Closed>, ExportError> {
        self.write_group(files)?;
        self.since = None;
        self.file_rows = 0;
        let Some(open) = self.open.take() else {
            return Ok(None);
        };
        let path = open.path().to_path_buf();
        let rows = open.close()?;
        Ok(Some(Closed { path, rows }))
    }
}

/// `20261203T014500Z`: a file name's time, in UTC.
fn utc_stamp(at: SystemTime) -> String {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (y, m, d) = haplog_format::time::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use bytes::Bytes;
    use haplog_format::{FormatOptions, Formats, LineParser};
    use parquet::file::reader::{FileReader, SerializedFileReader};

    #[test]
    fn stamps_are_utc() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_262_300);
        assert_eq!(utc_stamp(at), "20261203T014500Z");
    }

    fn line(n: u64) -> String {
        format!(
            "10.0.0.1:4000 [02/Dec/2026:10:00:00.000] fe be/s1 0/0/1/2/3 200 100 - - ---- \
             1/1/0/0/0 0/0 \"GET /i/{n} HTTP/1.1\""
        )
    }

    /// A fresh directory named for `name` under the system's temporary
    /// one, and files rolling there after a minute or 100,000 rows.
    fn rolling(name: &str, other: bool) -> (PathBuf, Rolling) {
        let dir = std::env::temp_dir().join(format!("haplog-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let rolling = Rolling::new(RollingOptions {
            dir: dir.clone(),
            every: Duration::from_secs(60),
            max_rows: 100_000,
            zstd_level: 1,
            offset_minutes: 0,
            other,
        })
        .unwrap();
        (dir, rolling)
    }

    /// The files in `dir` and their rows, by name; and the names of any
    /// other entries (a hidden file left open, say).
    fn files(dir: &Path) -> (Vec<(String, i64)>, Vec<String>) {
        let (mut parquet, mut other) = (Vec::new(), Vec::new());
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".parquet") && !name.starts_with('.') {
                let bytes = Bytes::from(std::fs::read(entry.path()).unwrap());
                let reader = SerializedFileReader::new(bytes).unwrap();
                parquet.push((name, reader.metadata().file_metadata().num_rows()));
            } else if name != "_other" {
                other.push(name);
            }
        }
        parquet.sort();
        (parquet, other)
    }

    /// Files close by age and by rows; until then nothing shows under a
    /// `.parquet` name; `finish` closes the last one, and other lines go
    /// under `_other/`.
    #[test]
    fn files_close_by_age_or_rows_and_appear_whole() {
        let (dir, mut rolling) = rolling("rolling", true);
        let formats = Formats::new(&FormatOptions::default()).unwrap();
        let mut parser = LineParser::new(&formats, None);
        let start = Instant::now();
        let mut n = 0;
        let mut push = |parser: &mut LineParser<'_>, rolling: &mut Rolling, count: u64| {
            for _ in 0..count {
                n += 1;
                let text = line(n);
                let record = parser.parse(text.as_bytes());
                rolling.push("a.log", n, &record).unwrap();
            }
        };
        // 70,000 rows: a row group is written to a hidden file. The age
        // counts from the first tick that sees rows.
        push(&mut parser, &mut rolling, 70_000);
        let record = parser.parse(b"Proxy fe started.");
        rolling.push("a.log", 0, &record).unwrap();
        assert_eq!(rolling.tick(start).unwrap(), []);
        assert_eq!(rolling.tick(start + Duration::from_secs(59)).unwrap(), []);
        let (shown, hidden) = files(&dir);
        assert!(shown.is_empty(), "{shown:?}");
        assert_eq!(hidden.len(), 1, "{hidden:?}");
        assert!(hidden[0].starts_with(".part-") && hidden[0].ends_with(".parquet.tmp"));

        // A minute on: both files close.
        let closed = rolling.tick(start + Duration::from_secs(61)).unwrap();
        let rows: Vec<u64> = closed.iter().map(|c| c.rows).collect();
        assert_eq!(rows, [70_000, 1]);
        // 100,000 more rows: closed by their count as the last one comes,
        // before any tick; the next row starts another file.
        push(&mut parser, &mut rolling, 100_000);
        let (shown, hidden) = files(&dir);
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(hidden.is_empty(), "{hidden:?}");
        assert_eq!(rolling.tick(start + Duration::from_secs(62)).unwrap(), []);
        // A few more: younger than a minute at the last tick, so only
        // `finish` closes them.
        push(&mut parser, &mut rolling, 5);
        assert_eq!(rolling.tick(start + Duration::from_secs(63)).unwrap(), []);
        assert_eq!(rolling.tick(start + Duration::from_secs(122)).unwrap(), []);
        assert_eq!(rolling.finish().unwrap().len(), 1);
        assert_eq!(rolling.finish().unwrap(), []);

        let (shown, hidden) = files(&dir);
        assert!(hidden.is_empty(), "{hidden:?}");
        let rows: Vec<i64> = shown.iter().map(|(_, r)| *r).collect();
        assert_eq!(rows, [70_000, 100_000, 5], "{shown:?}");
        let (other, _) = files(&dir.join("_other"));
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].1, 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Long lines make a row group long before 65,536 rows: the rows of
    /// 64 MiB of lines at most wait in memory.
    #[test]
    fn long_lines_make_row_groups_by_their_bytes() {
        let (dir, mut rolling) = rolling("rolling-long", false);
        let formats = Formats::new(&FormatOptions::default()).unwrap();
        let mut parser = LineParser::new(&formats, None);
        // 320 lines of 256 KiB: 80 MiB.
        let long = "q".repeat(256 << 10);
        for n in 0..320 {
            let text = line(n).replace("/i/", &format!("/{long}/"));
            rolling
                .push("a.log", n, &parser.parse(text.as_bytes()))
                .unwrap();
        }
        let closed = rolling.finish().unwrap();
        assert_eq!(closed.len(), 1);
        let bytes = Bytes::from(std::fs::read(&closed[0].path).unwrap());
        let reader = SerializedFileReader::new(bytes).unwrap();
        let groups: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        // The 256th line passes 64 MiB (each is 256 KiB and a little more).
        assert_eq!(groups, [256, 64]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
