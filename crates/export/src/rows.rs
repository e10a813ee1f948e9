//! Rows of [`COLUMNS`] built from parsed lines, one Arrow builder per
//! column, turned into a record batch per chunk of input.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Int32Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use haplog_format::record::{is_absent as absent, parse_number, request_parts, target_parts};
use haplog_format::time::DateCache;
use haplog_format::{Field, Record};

use crate::schema::{Source, COLUMNS};

enum Builder {
    Text(StringBuilder),
    Int(Int32Builder),
    Long(Int64Builder),
    Bool(BooleanBuilder),
    Time(TimestampMicrosecondBuilder),
    List(ListBuilder<StringBuilder>),
}

/// One row's value of a column.
enum Cell<'a> {
    Null,
    Text(Cow<'a, str>),
    Int(i32),
    Long(i64),
    Bool(bool),
    /// Microseconds since the epoch, UTC.
    Time(i64),
    /// A `{a|b}` block's values.
    List(&'a [u8]),
}

/// A column's builder and the NULLs owed to it: most columns of a line
/// are absent (a format has a third of them), and a run of NULLs goes in
/// at once when a value comes, or at the end.
struct Column {
    builder: Builder,
    nulls: usize,
}

impl Column {
    #[inline]
    fn put(&mut self, cell: Cell<'_>) {
        if let Cell::Null = cell {
            self.nulls += 1;
            return;
        }
        self.flush();
        match (&mut self.builder, cell) {
            (Builder::Text(b), Cell::Text(v)) => b.append_value(v),
            (Builder::Int(b), Cell::Int(v)) => b.append_value(v),
            (Builder::Long(b), Cell::Long(v)) => b.append_value(v),
            (Builder::Bool(b), Cell::Bool(v)) => b.append_value(v),
            (Builder::Time(b), Cell::Time(v)) => b.append_value(v),
            (Builder::List(b), Cell::List(block)) => {
                let inner = block.strip_prefix(b"{").unwrap_or(block);
                let inner = inner.strip_suffix(b"}").unwrap_or(inner);
                for value in inner.split(|&b| b == b'|') {
                    b.values()
                        .append_option((!value.is_empty()).then(|| text(value)));
                }
                b.append(true);
            }
            // A cell of another type than its column's: never made (both
            // come from the same table), and NULL if it were.
            (b, _) => append_nulls(b, 1),
        }
    }

    fn flush(&mut self) {
        if self.nulls > 0 {
            append_nulls(&mut self.builder, self.nulls);
            self.nulls = 0;
        }
    }
}

/// Text, or NULL.
fn opt_text(v: Option<&[u8]>) -> Cell<'_> {
    v.map_or(Cell::Null, |v| Cell::Text(text(v)))
}

/// Text for a Parquet string: bytes that are not UTF-8 become U+FFFD.
fn text(v: &[u8]) -> Cow<'_, str> {
    // Most log bytes are ASCII: the check alone, then the slow way.
    match std::str::from_utf8(v) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(v),
    }
}

/// Where a row comes from.
pub struct Origin<'a> {
    pub file: &'a str,
    pub line: u64,
}

/// Rows being built.
pub struct Rows {
    schema: SchemaRef,
    columns: Vec<Column>,
    dates: DateCache,
    /// The zone of dates written without one, in minutes east of UTC.
    offset_minutes: i32,
    rows: usize,
    /// Rows were pushed since the last chunk's batch.
    touched: bool,
}

impl Rows {
    pub fn new(schema: SchemaRef, offset_minutes: i32) -> Rows {
        let columns = COLUMNS
            .iter()
            .map(|c| match c.source {
                Source::Line | Source::Long(_) => Builder::Long(Int64Builder::new()),
                Source::Pid | Source::Timer(_) | Source::Int(_) | Source::Retries => {
                    Builder::Int(Int32Builder::new())
                }
                Source::Truncated | Source::Incomplete | Source::Redispatched => {
                    Builder::Bool(BooleanBuilder::new())
                }
                Source::Time => {
                    Builder::Time(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
                }
                Source::Captures(_) => Builder::List(ListBuilder::new(StringBuilder::new())),
                _ => Builder::Text(StringBuilder::new()),
            })
            .map(|builder| Column { builder, nulls: 0 })
            .collect();
        Rows {
            schema,
            columns,
            dates: DateCache::default(),
            offset_minutes,
            rows: 0,
            touched: false,
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends the row of one line.
    pub fn push(&mut self, origin: &Origin<'_>, r: &Record<'_, '_>) {
        self.rows += 1;
        self.touched = true;
        let get = |f: Field| r.get(f).filter(|v| !absent(v));
        // The request line's parts, for formats without fields of their own.
        let request = get(Field::Request).unwrap_or_default();
        let (line_method, line_uri, line_version) = request_parts(request);
        let method = get(Field::Method).unwrap_or(line_method);
        let uri = get(Field::Uri).unwrap_or(line_uri);
        let (authority, path, query) = target_parts(method, uri);
        let has_request = !request.is_empty() || get(Field::Method).is_some();
        let int = |v: Option<i64>| {
            v.and_then(|n| i32::try_from(n).ok())
                .map_or(Cell::Null, Cell::Int)
        };
        for (c, column) in COLUMNS.iter().zip(&mut self.columns) {
            let cell = match c.source {
                Source::File => Cell::Text(Cow::Borrowed(origin.file)),
                Source::Line => Cell::Long(origin.line as i64),
                Source::Kind => Cell::Text(Cow::Borrowed(r.kind.name())),
                Source::Format => r
                    .format_name()
                    .map_or(Cell::Null, |f| Cell::Text(Cow::Borrowed(f))),
                Source::Time => get(Field::RequestDate)
                    .or_else(|| get(Field::AcceptDate))
                    .and_then(|v| self.dates.parse(v))
                    .map_or(Cell::Null, |t| {
                        Cell::Time(t.utc_ms(self.offset_minutes) * 1000)
                    }),
                Source::Host => opt_text(r.header.host.filter(|h| !absent(h))),
                Source::Tag => opt_text(r.header.tag),
                Source::Pid => int(r.header.pid.and_then(parse_number)),
                Source::Truncated => Cell::Bool(r.truncated),
                Source::Incomplete => Cell::Bool(r.incomplete()),
                Source::Text(f) => opt_text(get(f)),
                Source::Timer(f) => int(get(f).and_then(parse_number).filter(|&n| n >= 0)),
                Source::Int(f) => int(get(f).and_then(parse_number)),
                Source::Long(f) => get(f).and_then(parse_number).map_or(Cell::Null, Cell::Long),
                Source::Retries => int(get(Field::Retries).and_then(parse_number)),
                Source::Redispatched => {
                    get(Field::Retries).map_or(Cell::Null, |v| Cell::Bool(v.first() == Some(&b'+')))
                }
                Source::Captures(f) => get(f).map_or(Cell::Null, Cell::List),
                Source::Method => opt_text((has_request && !method.is_empty()).then_some(method)),
                Source::Authority => opt_text(authority.filter(|_| has_request)),
                Source::Path => {
                    opt_text(get(Field::Path).or(
                        (has_request && method != b"CONNECT" && !path.is_empty()).then_some(path),
                    ))
                }
                Source::Query => opt_text(get(Field::Query).or(query.filter(|_| has_request))),
                Source::Version => {
                    opt_text(get(Field::Version).or(line_version.filter(|_| has_request)))
                }
                Source::Message => opt_text(
                    (r.format_name().is_none() && !r.message.is_empty()).then_some(r.message),
                ),
            };
            column.put(cell);
        }
    }

    /// Whether rows came since the last call: a partition the last chunk
    /// had keeps its builders for the next one, others are let go.
    pub fn take_touched(&mut self) -> bool {
        std::mem::take(&mut self.touched)
    }

    /// The partition of a line: `date=2024-05-01/host=lb1`, each value
    /// percent-encoded as Hive does (a host is whatever the sender wrote:
    /// never a path of its own), a missing one `__HIVE_DEFAULT_PARTITION__`.
    pub fn partition(&mut self, r: &Record<'_, '_>, by: &[crate::PartitionBy], out: &mut String) {
        const MISSING: &str = "__HIVE_DEFAULT_PARTITION__";
        for (i, key) in by.iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            match key {
                crate::PartitionBy::Date => {
                    out.push_str("date=");
                    let date = r
                        .get(Field::RequestDate)
                        .filter(|v| !absent(v))
                        .or_else(|| r.get(Field::AcceptDate).filter(|v| !absent(v)))
                        .and_then(|v| self.dates.parse(v));
                    match date {
                        Some(t) => {
                            let days = t.utc_ms(self.offset_minutes).div_euclid(86_400_000);
                            let (y, m, d) = haplog_format::time::civil_from_days(days);
                            out.push_str(&format!("{y:04}-{m:02}-{d:02}"));
                        }
                        None => out.push_str(MISSING),
                    }
                }
                crate::PartitionBy::Host => {
                    out.push_str("host=");
                    match r.header.host.filter(|h| !absent(h)) {
                        Some(host) => {
                            for (j, &b) in host.iter().enumerate() {
                                let plain = b.is_ascii_alphanumeric()
                                    || b == b'_'
                                    || b == b'-'
                                    || (b == b'.' && j > 0);
                                if plain {
                                    out.push(b as char);
                                } else {
                                    out.push_str(&format!("%{b:02X}"));
                                }
                            }
                        }
                        None => out.push_str(MISSING),
                    }
                }
            }
        }
    }

    /// The rows so far as a batch; the builders start over.
    pub fn finish(&mut self) -> RecordBatch {
        self.rows = 0;
        let columns: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| -> ArrayRef {
                c.flush();
                match &mut c.builder {
                    Builder::Text(b) => Arc::new(b.finish()),
                    Builder::Int(b) => Arc::new(b.finish()),
                    Builder::Long(b) => Arc::new(b.finish()),
                    Builder::Bool(b) => Arc::new(b.finish()),
                    Builder::Time(b) => Arc::new(b.finish()),
                    Builder::List(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        // Every column was built from the schema's own table.
        RecordBatch::try_new(self.schema.clone(), columns)
            .expect("the columns follow the schema they were made from")
    }
}

fn append_nulls(b: &mut Builder, n: usize) {
    match b {
        Builder::Text(b) => b.append_nulls(n),
        Builder::Int(b) => b.append_nulls(n),
        Builder::Long(b) => b.append_nulls(n),
        Builder::Bool(b) => b.append_nulls(n),
        Builder::Time(b) => b.append_nulls(n),
        Builder::List(b) => b.append_nulls(n),
    }
}
