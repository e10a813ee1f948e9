//! Rows of [`COLUMNS`] built from parsed lines, each value going
//! straight into its column's chunk ([`crate::chunk`]); a chunk of input's
//! rows become a row group.

use haplog_format::compiled::CompiledFormat;
use haplog_format::record::{is_absent as absent, parse_number, request_parts, target_parts};
use haplog_format::time::DateCache;
use haplog_format::{Field, Record};
use parquet::errors::Result;
use parquet::schema::types::ColumnDescPtr;

use crate::chunk::{ColumnData, EncodedColumn, PageEncoder, Storage};
use crate::schema::{plain, Source, COLUMNS};

/// How a column of `source` is stored.
fn storage(source: Source) -> Storage {
    match source {
        Source::Line | Source::Time => Storage::DeltaInt,
        Source::Truncated | Source::Incomplete | Source::Redispatched => Storage::Bool,
        Source::Pid | Source::Timer(_) | Source::Int(_) | Source::Long(_) | Source::Retries => {
            if plain(source) {
                Storage::PlainInt
            } else {
                Storage::DictInt
            }
        }
        _ if plain(source) => Storage::PlainText,
        _ => Storage::DictText,
    }
}

/// Where a row comes from.
pub struct Origin<'a> {
    pub file: &'a str,
    pub line: u64,
}

/// A line's text values, made valid UTF-8 (Parquet strings must be):
/// a line of ASCII (nearly every one) is checked once, not per value.
struct Text<'a> {
    line: &'a [u8],
    ascii: bool,
}

impl Text<'_> {
    #[inline]
    fn put(&self, column: &mut ColumnData, v: Option<&[u8]>) {
        match v {
            None => column.null(),
            Some(v) if self.ascii && within(self.line, v) => column.text(v),
            Some(v) => column.text(String::from_utf8_lossy(v).as_bytes()),
        }
    }

    /// A `{a|b}` capture block as a list; an empty capture is a NULL
    /// element.
    fn list(&self, column: &mut ColumnData, block: Option<&[u8]>) {
        let Some(block) = block else {
            column.null();
            return;
        };
        let inner = block.strip_prefix(b"{").unwrap_or(block);
        let inner = inner.strip_suffix(b"}").unwrap_or(inner);
        for (i, value) in inner.split(|&b| b == b'|').enumerate() {
            if value.is_empty() {
                column.element(i == 0, None);
            } else if self.ascii && within(self.line, value) {
                column.element(i == 0, Some(value));
            } else {
                column.element(i == 0, Some(String::from_utf8_lossy(value).as_bytes()));
            }
        }
    }
}

/// Whether `v` lies inside `line` (values from an envelope may not).
#[inline]
fn within(line: &[u8], v: &[u8]) -> bool {
    let range = line.as_ptr_range();
    range.start <= v.as_ptr() && v.as_ptr_range().end <= range.end
}

/// Which columns a format can fill: those of fields it does not have are
/// NULL on every line it reads, so a row skips them (they catch up with
/// NULLs when next filled, or at the end).
fn plan(format: Option<&CompiledFormat>) -> Vec<usize> {
    let has = |f: Field| format.is_none_or(|format| format.item_of(f).is_some());
    COLUMNS
        .iter()
        .enumerate()
        .filter(|(_, c)| match c.source {
            Source::Text(f)
            | Source::Timer(f)
            | Source::Int(f)
            | Source::Long(f)
            | Source::Captures(f) => has(f),
            Source::Retries | Source::Redispatched => has(Field::Retries),
            // The text of lines that no format read.
            Source::Message => format.is_none(),
            _ => true,
        })
        .map(|(i, _)| i)
        .collect()
}

/// Lines' dates in UTC: the request's date, else the accept date, read
/// in the zone given for dates written without one.
pub struct Dates {
    cache: DateCache,
    /// Minutes east of UTC.
    offset_minutes: i32,
}

impl Dates {
    pub fn new(offset_minutes: i32) -> Dates {
        Dates {
            cache: DateCache::default(),
            offset_minutes,
        }
    }

    /// The line's date as milliseconds since the epoch, UTC.
    #[inline]
    pub fn utc_ms(&mut self, r: &Record<'_, '_>) -> Option<i64> {
        let get = |f: Field| r.get(f).filter(|v| !absent(v));
        get(Field::RequestDate)
            .or_else(|| get(Field::AcceptDate))
            .and_then(|v| self.cache.parse(v))
            .map(|t| t.utc_ms(self.offset_minutes))
    }
}

/// Rows being built.
pub struct Rows {
    columns: Vec<ColumnData>,
    /// Rows each column holds: a column a row skipped is behind.
    filled: Vec<u32>,
    /// Plans by format (by address; `0` for lines read by their keys),
    /// and the last one used.
    plans: Vec<(usize, Vec<usize>)>,
    last_plan: usize,
    dates: Dates,
    rows: usize,
    /// Rows were pushed since the last chunk's batch.
    touched: bool,
}

impl Rows {
    /// Rows of the columns `leaves` (the Parquet schema's, in
    /// [`COLUMNS`]' order).
    pub fn new(leaves: &[ColumnDescPtr], offset_minutes: i32) -> Rows {
        let columns = COLUMNS
            .iter()
            .zip(leaves)
            .map(|(c, descr)| ColumnData::new(descr.clone(), storage(c.source)))
            .collect();
        Rows {
            columns,
            filled: vec![0; COLUMNS.len()],
            plans: Vec::new(),
            last_plan: 0,
            dates: Dates::new(offset_minutes),
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

    /// The index in `plans` of the plan of `r`'s format.
    fn plan_of(&mut self, r: &Record<'_, '_>) -> usize {
        let id = r.format.map_or(0, |f| f as *const CompiledFormat as usize);
        if self
            .plans
            .get(self.last_plan)
            .is_some_and(|(p, _)| *p == id)
        {
            return self.last_plan;
        }
        let at = match self.plans.iter().position(|(p, _)| *p == id) {
            Some(at) => at,
            None => {
                self.plans.push((id, plan(r.format)));
                self.plans.len() - 1
            }
        };
        self.last_plan = at;
        at
    }

    /// Appends the row of one line.
    pub fn push(&mut self, origin: &Origin<'_>, r: &Record<'_, '_>) {
        let row = self.rows as u32;
        self.rows += 1;
        self.touched = true;
        let plan = self.plan_of(r);
        let get = |f: Field| r.get(f).filter(|v| !absent(v));
        // The request line's parts, for formats without fields of their own.
        let request = get(Field::Request).unwrap_or_default();
        let (line_method, line_uri, line_version) = request_parts(request);
        let method = get(Field::Method).unwrap_or(line_method);
        let uri = get(Field::Uri).unwrap_or(line_uri);
        let (authority, path, query) = target_parts(method, uri);
        let has_request = !request.is_empty() || get(Field::Method).is_some();
        let text = Text {
            line: r.line,
            ascii: r.line.is_ascii(),
        };
        // A number of a 32-bit column: NULL if it does not fit.
        let int = |column: &mut ColumnData, v: Option<i64>| match v
            .filter(|&n| i32::try_from(n).is_ok())
        {
            Some(n) => column.int(n),
            None => column.null(),
        };
        let Rows {
            columns,
            filled,
            plans,
            dates,
            ..
        } = self;
        for &i in &plans[plan].1 {
            let column = &mut columns[i];
            if filled[i] < row {
                column.nulls_of(row - filled[i]);
            }
            filled[i] = row + 1;
            match COLUMNS[i].source {
                Source::File => column.text_stable(origin.file),
                Source::Line => column.int(origin.line as i64),
                Source::Kind => column.text_stable(r.kind.name()),
                Source::Format => match r.format_name() {
                    Some(f) => column.text_stable(f),
                    None => column.null(),
                },
                Source::Time => match dates.utc_ms(r) {
                    Some(ms) => column.int(ms * 1000),
                    None => column.null(),
                },
                Source::Host => text.put(column, r.header.host.filter(|h| !absent(h))),
                Source::Tag => text.put(column, r.header.tag),
                Source::Pid => int(column, r.header.pid.and_then(parse_number)),
                Source::Truncated => column.boolean(r.truncated),
                Source::Incomplete => column.boolean(r.incomplete()),
                Source::Text(f) => text.put(column, get(f)),
                Source::Timer(f) => int(column, get(f).and_then(parse_number).filter(|&n| n >= 0)),
                Source::Int(f) => int(column, get(f).and_then(parse_number)),
                Source::Long(f) => match get(f).and_then(parse_number) {
                    Some(n) => column.int(n),
                    None => column.null(),
                },
                Source::Retries => int(column, get(Field::Retries).and_then(parse_number)),
                Source::Redispatched => match get(Field::Retries) {
                    Some(v) => column.boolean(v.first() == Some(&b'+')),
                    None => column.null(),
                },
                Source::Captures(f) => text.list(column, get(f)),
                Source::Method => text.put(
                    column,
                    (has_request && !method.is_empty()).then_some(method),
                ),
                Source::Authority => text.put(column, authority.filter(|_| has_request)),
                Source::Path => text.put(
                    column,
                    get(Field::Path)
                        .or((has_request && method != b"CONNECT" && !path.is_empty())
                            .then_some(path)),
                ),
                Source::Query => {
                    text.put(column, get(Field::Query).or(query.filter(|_| has_request)))
                }
                Source::Version => text.put(
                    column,
                    get(Field::Version).or(line_version.filter(|_| has_request)),
                ),
                Source::Message => text.put(
                    column,
                    (r.format_name().is_none() && !r.message.is_empty()).then_some(r.message),
                ),
            }
        }
    }

    /// Whether rows came since the last call: a partition the last chunk
    /// had keeps its builders for the next one, others are let go.
    pub fn take_touched(&mut self) -> bool {
        std::mem::take(&mut self.touched)
    }

    /// The rows so far, encoded as a row group's column chunks; the
    /// columns start over.
    pub fn finish(&mut self, pages: &mut PageEncoder) -> Result<Vec<EncodedColumn>> {
        let rows = std::mem::take(&mut self.rows) as u32;
        self.columns
            .iter_mut()
            .zip(&mut self.filled)
            .map(|(c, filled)| {
                if *filled < rows {
                    c.nulls_of(rows - *filled);
                }
                *filled = 0;
                c.finish(rows.into(), pages)
            })
            .collect()
    }
}

/// The partition of a line: `date=2024-05-01/host=lb1`, each value
/// percent-encoded as Hive does (a host is whatever the sender wrote:
/// never a path of its own), a missing one `__HIVE_DEFAULT_PARTITION__`.
pub fn partition(
    r: &Record<'_, '_>,
    by: &[crate::PartitionBy],
    dates: &mut Dates,
    out: &mut String,
) {
    const MISSING: &str = "__HIVE_DEFAULT_PARTITION__";
    for (i, key) in by.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        match key {
            crate::PartitionBy::Date => {
                out.push_str("date=");
                match dates.utc_ms(r) {
                    Some(ms) => {
                        let days = ms.div_euclid(86_400_000);
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
