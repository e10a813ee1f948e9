//! HAProxy logs into Parquet: every line read on all cores, one row per
//! line in haplog's documented schema ([`schema`]), written in input
//! order with zstd. Traffic lines (requests and connections, JSON lines
//! read by their keys) go to one file; the other lines (errors, server
//! states, health checks, unparsed lines) to a second one, or nowhere.
//! No command line here: the binary chooses inputs and files.

pub mod chunk;
#[doc(hidden)]
pub mod fuzzing;
pub mod rolling;
pub mod rows;
pub mod schema;

use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::SchemaRef;
use haplog_engine::{run_ordered, Chunk, Chunker, InputError, InputSpec};
use haplog_format::Kind;
use haplog_pipeline::Reading;
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter};
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnDescPtr;

use crate::chunk::{EncodedColumn, PageEncoder};
use crate::rows::{Dates, Origin, Rows};

pub use crate::schema::SCHEMA_VERSION;

/// What to write, and how.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The file of traffic lines.
    pub traffic: PathBuf,
    /// The file of the other lines; `None` leaves them out.
    pub other: Option<PathBuf>,
    /// The zone of dates written without one, in minutes east of UTC.
    pub offset_minutes: i32,
    /// zstd's level (1–22).
    pub zstd_level: i32,
    /// Hive-style partitions: `traffic` is then a directory of
    /// `date=2024-05-01/host=lb1/part-N.parquet` files, and the other
    /// lines go under its `_other/` (which readers of the dataset skip).
    pub partition: Vec<PartitionBy>,
}

/// A partition key of `--partition`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionBy {
    /// The UTC day of `ts`: `date=2024-05-01`.
    Date,
    /// The syslog header's host: `host=lb1`.
    Host,
}

impl PartitionBy {
    pub fn parse(s: &str) -> Option<PartitionBy> {
        match s {
            "date" => Some(PartitionBy::Date),
            "host" => Some(PartitionBy::Host),
            _ => None,
        }
    }
}

impl ExportOptions {
    pub fn new(traffic: PathBuf) -> ExportOptions {
        ExportOptions {
            traffic,
            other: None,
            offset_minutes: 0,
            zstd_level: 1,
            partition: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: cannot create the file ({source})")]
    Create { path: PathBuf, source: io::Error },
    #[error("{path}: cannot create the directory ({source})")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("{path}: cannot move the finished file into place ({source})")]
    Rename { path: PathBuf, source: io::Error },
    #[error("stopped before the end: no file was written or changed")]
    Stopped,
    #[error("{path}: cannot remove this file of an earlier export, which this one has no rows for ({source})")]
    Remove { path: PathBuf, source: io::Error },
    #[error("{path}: writing Parquet failed ({source})")]
    Write {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
}

/// What an export did.
#[derive(Debug, Default)]
pub struct Exported {
    /// Lines read, by [`Kind::index`].
    pub kinds: [u64; Kind::ALL.len()],
    /// Rows written to the traffic files and to the others.
    pub traffic_rows: u64,
    pub other_rows: u64,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// Inputs that could not be read whole (the rows before the fault are
    /// written).
    pub input_errors: Vec<InputError>,
}

impl Exported {
    pub fn lines(&self) -> u64 {
        self.kinds.iter().sum()
    }
}

/// Lines that hold nothing worth a row: blank lines, and the parts of a
/// split container line (their whole line has the row).
pub(crate) fn has_row(kind: Kind) -> bool {
    !matches!(kind, Kind::Blank | Kind::Partial)
}

/// A Parquet file being written: the rows of each chunk, encoded by the
/// worker that read it, become one row group, appended in input order.
/// It is written under a hidden name beside `path` and renamed to `path`
/// when whole: a reader never sees half a file, and an export that fails
/// or is stopped leaves the file that was there.
pub(crate) struct Output {
    path: PathBuf,
    writer: SerializedFileWriter<File>,
    rows: u64,
    unfinished: Unfinished,
}

/// The hidden file an [`Output`] is written to, removed unless it became
/// the output (a write that failed or was dropped leaves nothing).
struct Unfinished(Option<PathBuf>);

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Where `path` is written until it is whole: `.NAME.tmp` beside it. A
/// path that is something else than a regular file (a pipe,
/// `/dev/stdout`, a symbolic link) is written in place: renaming over it
/// would replace it.
fn unfinished_path(path: &Path) -> Option<PathBuf> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.is_file() => None,
        _ => {
            let mut hidden = std::ffi::OsString::from(".");
            hidden.push(path.file_name()?);
            hidden.push(".tmp");
            Some(path.with_file_name(hidden))
        }
    }
}

impl Output {
    pub(crate) fn create(
        path: &Path,
        schema: &SchemaRef,
        properties: &WriterProperties,
    ) -> Result<Output, ExportError> {
        let unfinished = Unfinished(unfinished_path(path));
        let file = File::create(unfinished.0.as_deref().unwrap_or(path)).map_err(|source| {
            ExportError::Create {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let failed = |source| ExportError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut properties = properties.clone();
        // The Arrow schema goes in the metadata, as ArrowWriter puts it:
        // Arrow readers get the same types back.
        add_encoded_arrow_schema_to_metadata(schema, &mut properties);
        let parquet_schema = ArrowSchemaConverter::new()
            .with_coerce_types(properties.coerce_types())
            .convert(schema)
            .map_err(failed)?;
        let writer =
            SerializedFileWriter::new(file, parquet_schema.root_schema_ptr(), Arc::new(properties))
                .map_err(failed)?;
        Ok(Output {
            path: path.to_path_buf(),
            writer,
            rows: 0,
            unfinished,
        })
    }

    /// The file's name once it is whole.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn failed(&self, source: ParquetError) -> ExportError {
        ExportError::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends one encoded row group.
    pub(crate) fn append(&mut self, group: RowGroup) -> Result<(), ExportError> {
        let path = &self.path;
        let failed = |source| ExportError::Write {
            path: path.clone(),
            source,
        };
        let mut row_group = self.writer.next_row_group().map_err(failed)?;
        for column in group.columns {
            row_group
                .append_column(&column.bytes, column.close)
                .map_err(failed)?;
        }
        row_group.close().map_err(failed)?;
        self.rows += group.rows;
        Ok(())
    }

    /// Writes the footer and moves the file into place: its rows.
    pub(crate) fn close(self) -> Result<u64, ExportError> {
        let Output {
            path,
            writer,
            rows,
            mut unfinished,
        } = self;
        if let Err(source) = writer.close() {
            return Err(ExportError::Write { path, source });
        }
        if let Some(temp) = &unfinished.0 {
            std::fs::rename(temp, &path).map_err(|source| ExportError::Rename { path, source })?;
            unfinished.0 = None;
        }
        Ok(rows)
    }
}

/// A chunk's rows, encoded: a row group's column chunks.
pub(crate) struct RowGroup {
    rows: u64,
    columns: Vec<EncodedColumn>,
}

/// Encodes `rows` as a row group, on the worker's thread: the encoding
/// and the compression are much of an export's work.
pub(crate) fn encode(
    rows: &mut Rows,
    pages: &mut Option<PageEncoder>,
) -> Result<RowGroup, ParquetError> {
    let Some(pages) = pages else {
        return Err(ParquetError::General(
            "zstd could not start at this level".to_string(),
        ));
    };
    let count = rows.len() as u64;
    Ok(RowGroup {
        rows: count,
        columns: rows.finish(pages)?,
    })
}

/// What one chunk gives the ordered writer: its row groups, by file
/// (`None` for the other lines) and partition.
struct ChunkRows {
    /// Bytes of input the chunk held (progress).
    bytes: u64,
    groups: Vec<(bool, String, Result<RowGroup, ParquetError>)>,
}

/// Chunks of this many bytes make row groups of about 80,000 lines: big
/// enough for readers to scan well, small enough to keep memory bounded.
const EXPORT_CHUNK: usize = 16 << 20;

/// Writes the rows of `inputs` (named `names` in the `file` column).
/// `written` is called after each chunk is written, with its bytes of
/// input: `Break` stops the export, and its files are left as they were
/// ([`ExportError::Stopped`]).
pub fn export(
    reading: &Reading<'_>,
    inputs: Vec<InputSpec>,
    names: &[String],
    threads: usize,
    options: &ExportOptions,
    mut written: impl FnMut(u64) -> ControlFlow<()>,
) -> Result<Exported, ExportError> {
    struct Worker<'f> {
        parser: haplog_format::LineParser<'f>,
        /// Rows by (traffic or not, partition).
        rows: Vec<(bool, String, Rows)>,
        /// The index in `rows` of the last line's rows.
        last: usize,
        /// Dates read for partition keys.
        dates: Dates,
        /// `None` if zstd could not start (said when a chunk is encoded).
        pages: Option<PageEncoder>,
        kinds: [u64; Kind::ALL.len()],
    }
    let schema: SchemaRef = Arc::new(schema::arrow_schema());
    let properties = writer_properties(options.zstd_level);
    let mut chunks = haplog_engine::ChunkConfig {
        count_lines: true,
        ..reading.chunk_config()
    };
    if std::env::var_os("HAPLOG_CHUNK_BYTES").is_none() {
        chunks.mapped_chunk = EXPORT_CHUNK;
        chunks.stream_chunk = EXPORT_CHUNK / 2;
    }
    let chunker = Chunker::new(inputs, chunks);
    let partitioned = !options.partition.is_empty();
    if partitioned {
        std::fs::create_dir_all(&options.traffic).map_err(|source| ExportError::CreateDir {
            path: options.traffic.clone(),
            source,
        })?;
    }
    let keep_other = options.other.is_some();
    let leaves = leaves(&schema, &options.traffic)?;
    let mut outputs: Vec<((bool, String), Output)> = Vec::new();
    if !partitioned {
        // The traffic file exists even when no line is traffic.
        outputs.push((
            (true, String::new()),
            Output::create(&options.traffic, &schema, &properties)?,
        ));
    }
    let mut first_error: Option<ExportError> = None;
    let outcome = run_ordered(
        chunker,
        threads,
        || Worker {
            parser: reading.parser(),
            rows: Vec::new(),
            last: 0,
            dates: Dates::new(options.offset_minutes),
            pages: PageEncoder::new(options.zstd_level).ok(),
            kinds: [0; Kind::ALL.len()],
        },
        |w, chunk: &Chunk| {
            let file = &names[chunk.input];
            let Worker {
                parser,
                rows,
                last,
                dates,
                pages,
                kinds,
            } = w;
            let mut key = String::new();
            parser.for_each_line(chunk.input, chunk, |index, record| {
                kinds[record.kind.index()] += 1;
                let traffic = record.kind.is_request();
                let wanted = traffic || (keep_other && has_row(record.kind));
                if !wanted {
                    return;
                }
                key.clear();
                if partitioned {
                    rows::partition(record, &options.partition, dates, &mut key);
                }
                // Consecutive lines mostly share a file and a partition:
                // the last one's rows first.
                let same =
                    |(t, k, _): &(bool, String, Rows)| *t == traffic && (!partitioned || *k == key);
                let at = match rows.get(*last).filter(|r| same(r)) {
                    Some(_) => *last,
                    None => match rows.iter().position(same) {
                        Some(at) => at,
                        None => {
                            rows.push((
                                traffic,
                                key.clone(),
                                Rows::new(&leaves, options.offset_minutes),
                            ));
                            rows.len() - 1
                        }
                    },
                };
                *last = at;
                let origin = Origin {
                    file,
                    line: chunk.first_line + index,
                };
                rows[at].2.push(&origin, record);
            });
            let groups = rows
                .iter_mut()
                .filter(|(_, _, r)| !r.is_empty())
                .map(|(traffic, key, r)| (*traffic, key.clone(), encode(r, pages)))
                .collect();
            // A partition seen once need not keep its builders.
            rows.retain_mut(|(_, _, r)| r.take_touched());
            ChunkRows {
                bytes: chunk.len() as u64,
                groups,
            }
        },
        |chunk: ChunkRows| {
            let bytes = chunk.bytes;
            let step = || -> Result<(), ExportError> {
                for (traffic, key, group) in chunk.groups {
                    let at = match outputs
                        .iter()
                        .position(|((t, k), _)| *t == traffic && *k == key)
                    {
                        Some(at) => at,
                        None => {
                            let path = partition_file(options, traffic, &key)?;
                            outputs.push((
                                (traffic, key),
                                Output::create(&path, &schema, &properties)?,
                            ));
                            outputs.len() - 1
                        }
                    };
                    let out = &mut outputs[at].1;
                    let group = group.map_err(|e| out.failed(e))?;
                    out.append(group)?;
                }
                Ok(())
            };
            match step() {
                Ok(()) => {
                    let flow = written(bytes);
                    if flow.is_break() {
                        first_error = Some(ExportError::Stopped);
                    }
                    flow
                }
                Err(e) => {
                    first_error = Some(e);
                    ControlFlow::Break(())
                }
            }
        },
    );
    if let Some(e) = first_error {
        return Err(e);
    }
    let (mut traffic_rows, mut other_rows, mut files) = (0, 0, Vec::new());
    for ((traffic, _), out) in outputs {
        files.push(out.path.clone());
        let rows = out.close()?;
        if traffic {
            traffic_rows += rows;
        } else {
            other_rows += rows;
        }
    }
    // No other lines this time: an other file of an earlier export of the
    // same name would pass for this one's.
    if let Some(other) = options.other.as_ref().filter(|_| !partitioned) {
        if !files.contains(other) && other.symlink_metadata().is_ok_and(|m| m.is_file()) {
            std::fs::remove_file(other).map_err(|source| ExportError::Remove {
                path: other.clone(),
                source,
            })?;
        }
    }
    let mut kinds = [0u64; Kind::ALL.len()];
    for w in &outcome.states {
        for (a, b) in kinds.iter_mut().zip(w.kinds) {
            *a += b;
        }
    }
    Ok(Exported {
        kinds,
        traffic_rows,
        other_rows,
        files,
        input_errors: outcome.input_errors,
    })
}

/// Where the rows of a partition go: `OUT` or its other-lines file
/// without partitions; else `OUT/[_other/]KEY/part-N.parquet`, N the first
/// number free (a second export into a dataset adds to it).
fn partition_file(
    options: &ExportOptions,
    traffic: bool,
    key: &str,
) -> Result<PathBuf, ExportError> {
    if options.partition.is_empty() {
        return Ok(if traffic {
            options.traffic.clone()
        } else {
            options.other.clone().unwrap_or_default()
        });
    }
    let mut dir = options.traffic.clone();
    if !traffic {
        dir.push("_other");
    }
    dir.push(key);
    std::fs::create_dir_all(&dir).map_err(|source| ExportError::CreateDir {
        path: dir.clone(),
        source,
    })?;
    let mut n = 0;
    loop {
        let path = dir.join(format!("part-{n}.parquet"));
        if !path.exists() {
            return Ok(path);
        }
        n += 1;
    }
}

/// The Parquet schema's leaves, one per column of the table (`path`: the
/// output, should that fail).
pub(crate) fn leaves(schema: &SchemaRef, path: &Path) -> Result<Vec<ColumnDescPtr>, ExportError> {
    Ok(ArrowSchemaConverter::new()
        .convert(schema)
        .map_err(|source| ExportError::Write {
            path: path.to_path_buf(),
            source,
        })?
        .columns()
        .to_vec())
}

/// zstd and the schema's version in the metadata (the pages themselves
/// are made by [`chunk`]).
pub(crate) fn writer_properties(zstd_level: i32) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(zstd_level).unwrap_or_default(),
        ))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "haplog.schema_version".to_string(),
            schema::SCHEMA_VERSION.to_string(),
        )]))
        .build()
}

/// `OUT.parquet` → `OUT.other.parquet`: where the other lines go by
/// default.
pub fn other_path(traffic: &Path) -> PathBuf {
    let stem = traffic
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    traffic.with_file_name(format!("{stem}.other.parquet"))
}
