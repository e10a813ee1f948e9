//! HAProxy logs into Parquet: every line read on all cores, one row per
//! line in haplog's documented schema ([`schema`]), written in input
//! order with zstd. Traffic lines (requests and connections, JSON lines
//! read by their keys) go to one file; the other lines (errors, server
//! states, health checks, unparsed lines) to a second one, or nowhere.
//! No command line here: the binary chooses inputs and files.

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
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::rows::{Origin, Rows};

/// What to write, and how.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The file of traffic lines.
    pub traffic: PathBuf,
    /// The file of the other lines; `None` leaves them out.
    pub other: Option<PathBuf>,
    /// The zone of dates written without one, in minutes east of UTC.
    pub offset_minutes: i32,
    /// Rows per row group (readers parallelise over row groups).
    pub row_group_rows: usize,
    /// zstd's level (1–22).
    pub zstd_level: i32,
}

impl ExportOptions {
    pub fn new(traffic: PathBuf) -> ExportOptions {
        ExportOptions {
            traffic,
            other: None,
            offset_minutes: 0,
            row_group_rows: 1 << 20,
            zstd_level: 3,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: cannot create the file ({source})")]
    Create { path: PathBuf, source: io::Error },
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
    /// Rows written to each file.
    pub traffic_rows: u64,
    pub other_rows: u64,
    /// Inputs that could not be read whole (the rows before the fault are
    /// written).
    pub input_errors: Vec<InputError>,
}

impl Exported {
    pub fn lines(&self) -> u64 {
        self.kinds.iter().sum()
    }
}

/// Whether a line's row goes to the traffic file.
fn is_traffic(kind: Kind) -> bool {
    matches!(kind, Kind::Traffic | Kind::Json)
}

/// Lines that hold nothing worth a row: blank lines, and the parts of a
/// split container line (their whole line has the row).
fn has_row(kind: Kind) -> bool {
    !matches!(kind, Kind::Blank | Kind::Partial)
}

/// A Parquet file being written; made when its first rows come.
struct Output {
    path: PathBuf,
    writer: Option<ArrowWriter<File>>,
}

impl Output {
    fn write(
        &mut self,
        batch: &arrow_array::RecordBatch,
        schema: &SchemaRef,
        properties: &WriterProperties,
    ) -> Result<(), ExportError> {
        if self.writer.is_none() {
            let file = File::create(&self.path).map_err(|source| ExportError::Create {
                path: self.path.clone(),
                source,
            })?;
            let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties.clone()))
                .map_err(|source| self.failed(source))?;
            self.writer = Some(writer);
        }
        if let Some(w) = self.writer.as_mut() {
            w.write(batch).map_err(|source| ExportError::Write {
                path: self.path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    fn failed(&self, source: parquet::errors::ParquetError) -> ExportError {
        ExportError::Write {
            path: self.path.clone(),
            source,
        }
    }

    fn close(self) -> Result<(), ExportError> {
        if let Some(w) = self.writer {
            w.close().map_err(|source| ExportError::Write {
                path: self.path,
                source,
            })?;
        }
        Ok(())
    }
}

/// What one chunk gives the ordered writer.
struct ChunkRows {
    /// Bytes of input the chunk held (progress).
    bytes: u64,
    traffic: Option<arrow_array::RecordBatch>,
    other: Option<arrow_array::RecordBatch>,
}

/// Writes the rows of `inputs` (named `names` in the `file` column).
pub fn export(
    reading: &Reading<'_>,
    inputs: Vec<InputSpec>,
    names: &[String],
    threads: usize,
    options: &ExportOptions,
    mut progress: impl FnMut(u64),
) -> Result<Exported, ExportError> {
    struct Worker<'f> {
        parser: haplog_format::LineParser<'f>,
        traffic: Rows,
        other: Rows,
        kinds: [u64; Kind::ALL.len()],
    }
    let schema: SchemaRef = Arc::new(schema::arrow_schema());
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(options.zstd_level).unwrap_or_default(),
        ))
        .set_max_row_group_row_count(Some(options.row_group_rows))
        .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
            "haplog.schema_version".to_string(),
            schema::SCHEMA_VERSION.to_string(),
        )]))
        .build();
    let chunker = Chunker::new(
        inputs,
        haplog_engine::ChunkConfig {
            count_lines: true,
            ..reading.chunk_config()
        },
    );
    let keep_other = options.other.is_some();
    let mut traffic = Output {
        path: options.traffic.clone(),
        writer: None,
    };
    let mut other = Output {
        path: options.other.clone().unwrap_or_default(),
        writer: None,
    };
    let mut first_error: Option<ExportError> = None;
    let (mut traffic_rows, mut other_rows) = (0u64, 0u64);
    let outcome = run_ordered(
        chunker,
        threads,
        || Worker {
            parser: reading.parser(),
            traffic: Rows::new(schema.clone(), options.offset_minutes),
            other: Rows::new(schema.clone(), options.offset_minutes),
            kinds: [0; Kind::ALL.len()],
        },
        |w, chunk: &Chunk| {
            let file = &names[chunk.input];
            let Worker {
                parser,
                traffic,
                other,
                kinds,
            } = w;
            parser.for_each_line(chunk.input, chunk, |index, record| {
                kinds[record.kind.index()] += 1;
                let origin = Origin {
                    file,
                    line: chunk.first_line + index,
                };
                if is_traffic(record.kind) {
                    traffic.push(&origin, record);
                } else if keep_other && has_row(record.kind) {
                    other.push(&origin, record);
                }
            });
            ChunkRows {
                bytes: chunk.len() as u64,
                traffic: (!traffic.is_empty()).then(|| traffic.finish()),
                other: (!other.is_empty()).then(|| other.finish()),
            }
        },
        |rows: ChunkRows| {
            let bytes = rows.bytes;
            let step = || -> Result<(), ExportError> {
                if let Some(batch) = rows.traffic {
                    traffic_rows += batch.num_rows() as u64;
                    traffic.write(&batch, &schema, &properties)?;
                }
                if let Some(batch) = rows.other {
                    other_rows += batch.num_rows() as u64;
                    other.write(&batch, &schema, &properties)?;
                }
                Ok(())
            };
            match step() {
                Ok(()) => {
                    progress(bytes);
                    ControlFlow::Continue(())
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
    traffic.close()?;
    other.close()?;
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
        input_errors: outcome.input_errors,
    })
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
