//! Rows of [`COLUMNS`] built from parsed lines, one Arrow builder per
//! column, turned into a record batch per chunk of input.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Int32Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use haplog_format::record::{parse_number, request_parts, target_parts};
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

/// Absent values: HAProxy writes `-`, quoted formats `""`.
fn absent(v: &[u8]) -> bool {
    v.is_empty() || v == b"-"
}

/// Text for a Parquet string: bytes that are not UTF-8 become U+FFFD.
fn text(v: &[u8]) -> std::borrow::Cow<'_, str> {
    // Most log bytes are ASCII: the check alone, then the slow way.
    match std::str::from_utf8(v) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
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
    builders: Vec<Builder>,
    dates: DateCache,
    /// The zone of dates written without one, in minutes east of UTC.
    offset_minutes: i32,
    rows: usize,
}

impl Rows {
    pub fn new(schema: SchemaRef, offset_minutes: i32) -> Rows {
        let builders = COLUMNS
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
            .collect();
        Rows {
            schema,
            builders,
            dates: DateCache::default(),
            offset_minutes,
            rows: 0,
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
        let get = |f: Field| r.get(f).filter(|v| !absent(v));
        // The request line's parts, for formats without fields of their own.
        let request = get(Field::Request).unwrap_or_default();
        let (line_method, line_uri, line_version) = request_parts(request);
        let method = get(Field::Method).unwrap_or(line_method);
        let uri = get(Field::Uri).unwrap_or(line_uri);
        let (authority, path, query) = target_parts(method, uri);
        let has_request = !request.is_empty() || get(Field::Method).is_some();
        for (c, b) in COLUMNS.iter().zip(&mut self.builders) {
            match (c.source, b) {
                (Source::File, Builder::Text(b)) => b.append_value(origin.file),
                (Source::Line, Builder::Long(b)) => b.append_value(origin.line as i64),
                (Source::Kind, Builder::Text(b)) => b.append_value(r.kind.name()),
                (Source::Format, Builder::Text(b)) => b.append_option(r.format_name()),
                (Source::Time, Builder::Time(b)) => {
                    let date = get(Field::RequestDate)
                        .or_else(|| get(Field::AcceptDate))
                        .and_then(|v| self.dates.parse(v));
                    b.append_option(date.map(|t| t.utc_ms(self.offset_minutes) * 1000));
                }
                (Source::Host, Builder::Text(b)) => b.append_option(r.header.host.map(text)),
                (Source::Tag, Builder::Text(b)) => b.append_option(r.header.tag.map(text)),
                (Source::Pid, Builder::Int(b)) => b.append_option(
                    r.header
                        .pid
                        .and_then(parse_number)
                        .and_then(|n| i32::try_from(n).ok()),
                ),
                (Source::Truncated, Builder::Bool(b)) => b.append_value(r.truncated),
                (Source::Incomplete, Builder::Bool(b)) => b.append_value(r.incomplete()),
                (Source::Text(f), Builder::Text(b)) => b.append_option(get(f).map(text)),
                (Source::Timer(f), Builder::Int(b)) => b.append_option(
                    get(f)
                        .and_then(parse_number)
                        .filter(|&n| n >= 0)
                        .and_then(|n| i32::try_from(n).ok()),
                ),
                (Source::Int(f), Builder::Int(b)) => b.append_option(
                    get(f)
                        .and_then(parse_number)
                        .and_then(|n| i32::try_from(n).ok()),
                ),
                (Source::Long(f), Builder::Long(b)) => {
                    b.append_option(get(f).and_then(parse_number))
                }
                (Source::Retries, Builder::Int(b)) => b.append_option(
                    get(Field::Retries)
                        .and_then(parse_number)
                        .and_then(|n| i32::try_from(n).ok()),
                ),
                (Source::Redispatched, Builder::Bool(b)) => {
                    b.append_option(get(Field::Retries).map(|v| v.first() == Some(&b'+')))
                }
                (Source::Captures(f), Builder::List(b)) => match get(f) {
                    Some(block) => {
                        let inner = block.strip_prefix(b"{").unwrap_or(block);
                        let inner = inner.strip_suffix(b"}").unwrap_or(inner);
                        for value in inner.split(|&b| b == b'|') {
                            b.values()
                                .append_option((!value.is_empty()).then(|| text(value)));
                        }
                        b.append(true);
                    }
                    None => b.append(false),
                },
                (Source::Method, Builder::Text(b)) => {
                    b.append_option((has_request && !method.is_empty()).then(|| text(method)))
                }
                (Source::Authority, Builder::Text(b)) => {
                    b.append_option(authority.filter(|_| has_request).map(text))
                }
                (Source::Path, Builder::Text(b)) => b.append_option(
                    get(Field::Path)
                        .or((has_request && method != b"CONNECT" && !path.is_empty())
                            .then_some(path))
                        .map(text),
                ),
                (Source::Query, Builder::Text(b)) => b.append_option(
                    get(Field::Query)
                        .or(query.filter(|_| has_request))
                        .map(text),
                ),
                (Source::Version, Builder::Text(b)) => b.append_option(
                    get(Field::Version)
                        .or(line_version.filter(|_| has_request))
                        .map(text),
                ),
                (Source::Message, Builder::Text(b)) => b.append_option(
                    (r.format_name().is_none() && !r.message.is_empty()).then(|| text(r.message)),
                ),
                // The builders are made from the same table: never reached.
                (_, b) => append_null(b),
            }
        }
    }

    /// The rows so far as a batch; the builders start over.
    pub fn finish(&mut self) -> RecordBatch {
        self.rows = 0;
        let columns: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
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

fn append_null(b: &mut Builder) {
    match b {
        Builder::Text(b) => b.append_null(),
        Builder::Int(b) => b.append_null(),
        Builder::Long(b) => b.append_null(),
        Builder::Bool(b) => b.append_null(),
        Builder::Time(b) => b.append_null(),
        Builder::List(b) => b.append(false),
    }
}
