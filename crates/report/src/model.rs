//! The report model: sections of facts, tables and time series holding
//! typed values. Every output (text, Markdown, CSV, JSON, HTML, a live
//! view) renders this one model; the values carry what they are (a count,
//! a duration, a share, a time) and each renderer decides how to show it.

use haplog_format::time::civil_from_days;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// One value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A number of things (requests, lines, queue places).
    Count(u64),
    /// A code or any other signed integer (a status, a gRPC code).
    Int(i64),
    /// A duration in milliseconds (HAProxy's timers, their means).
    Millis(f64),
    /// A duration in seconds.
    Seconds(f64),
    /// A number of bytes.
    Bytes(u64),
    /// Events per second.
    Rate(f64),
    /// A share of a whole, 0–100.
    Percent(f64),
    /// Any other number (a mean of bytes), shown to one decimal.
    Number(f64),
    /// A date of the log's clock.
    Time(Stamp),
    Text(String),
    /// No value (a percentile of nothing, a missing field).
    Null,
    /// A value the log does not know (a client address of `-`): `(unknown)`
    /// in text, null in JSON.
    Unknown,
}

/// A date of the log's clock, with its zone when the log gave one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Milliseconds since 1970-01-01T00:00:00 of the log's clock.
    pub local_ms: i64,
    /// Minutes east of UTC, when the log gave a zone.
    pub offset_minutes: Option<i32>,
    /// Whether the milliseconds mean anything (a request's date) or the
    /// stamp names a whole second (a timeline row).
    pub millis: bool,
}

impl Stamp {
    /// `2024-05-01 12:00:00.250 +0200`: for people.
    pub fn human(&self) -> String {
        let mut s = civil(self.local_ms, self.millis, ' ');
        if let Some(o) = self.offset_minutes {
            let sign = if o < 0 { '-' } else { '+' };
            let o = o.unsigned_abs();
            s.push_str(&format!(" {sign}{:02}{:02}", o / 60, o % 60));
        }
        s
    }

    /// `2024-05-01T12:00:00.250+02:00` (RFC 3339 when the zone is known,
    /// ISO 8601 local time when not): for programs.
    pub fn iso(&self) -> String {
        let mut s = civil(self.local_ms, self.millis, 'T');
        if let Some(o) = self.offset_minutes {
            if o == 0 {
                s.push('Z');
            } else {
                let sign = if o < 0 { '-' } else { '+' };
                let o = o.unsigned_abs();
                s.push_str(&format!("{sign}{:02}:{:02}", o / 60, o % 60));
            }
        }
        s
    }
}

fn civil(ms: i64, with_ms: bool, separator: char) -> String {
    let days = ms.div_euclid(86_400_000);
    let rest = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    if with_ms {
        format!("{y:04}-{m:02}-{d:02}{separator}{h:02}:{mi:02}:{s:02}.{milli:03}")
    } else {
        format!("{y:04}-{m:02}-{d:02}{separator}{h:02}:{mi:02}:{s:02}")
    }
}

impl Value {
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }

    pub fn bytes(b: &[u8]) -> Value {
        Value::Text(String::from_utf8_lossy(b).into_owned())
    }

    pub fn count(n: u64) -> Value {
        Value::Count(n)
    }

    /// A count, or null.
    pub fn opt(n: Option<u64>) -> Value {
        n.map_or(Value::Null, Value::Count)
    }

    /// Milliseconds, or null.
    pub fn millis(ms: Option<u64>) -> Value {
        ms.map_or(Value::Null, |ms| Value::Millis(ms as f64))
    }

    /// `part` as a share of `whole`; null when the whole is empty.
    pub fn share(part: u64, whole: u64) -> Value {
        if whole == 0 {
            Value::Null
        } else {
            Value::Percent(part as f64 * 100.0 / whole as f64)
        }
    }

    /// A date to the millisecond.
    pub fn time(local_ms: i64, offset_minutes: Option<i32>) -> Value {
        Value::Time(Stamp {
            local_ms,
            offset_minutes,
            millis: true,
        })
    }

    /// A whole second of the log's clock.
    pub fn second(second: i64) -> Value {
        Value::Time(Stamp {
            local_ms: second * 1000,
            offset_minutes: None,
            millis: false,
        })
    }

    /// Whether the value is a number (right-aligned in text).
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            Value::Count(_)
                | Value::Int(_)
                | Value::Millis(_)
                | Value::Seconds(_)
                | Value::Bytes(_)
                | Value::Rate(_)
                | Value::Percent(_)
                | Value::Number(_)
        )
    }

    /// The value as a number, for charts; `None` for text and nulls.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Count(n) | Value::Bytes(n) => Some(n as f64),
            Value::Int(n) => Some(n as f64),
            Value::Millis(f)
            | Value::Seconds(f)
            | Value::Rate(f)
            | Value::Percent(f)
            | Value::Number(f) => f.is_finite().then_some(f),
            _ => None,
        }
    }

    /// As people read it: durations in ms to a tenth when not whole,
    /// seconds to the millisecond, rates to two decimals, shares to one
    /// with `%` (when `percent_sign`).
    pub fn display(&self, percent_sign: bool) -> String {
        self.display_with(percent_sign, !self.is_whole())
    }

    /// A duration in ms with a fraction, or a number without one: a
    /// column shows its durations to a tenth when any of them needs it.
    pub fn is_whole(&self) -> bool {
        match self {
            Value::Millis(f) => f.fract() == 0.0,
            _ => true,
        }
    }

    /// As [`Value::display`], durations in ms to a tenth when `tenths`.
    pub fn display_with(&self, percent_sign: bool, tenths: bool) -> String {
        match self {
            Value::Count(n) | Value::Bytes(n) => n.to_string(),
            Value::Int(n) => n.to_string(),
            Value::Millis(f) if f.abs() >= HUMAN_MS => human_duration(*f),
            Value::Millis(f) if tenths => format!("{f:.1}"),
            Value::Millis(f) => format!("{f:.0}"),
            Value::Seconds(f) => format!("{f:.3}"),
            Value::Rate(f) => format!("{f:.2}"),
            Value::Percent(p) if percent_sign => format!("{p:.1}%"),
            Value::Percent(p) => format!("{p:.1}"),
            Value::Number(f) => format!("{f:.1}"),
            Value::Time(t) => t.human(),
            Value::Text(s) => s.clone(),
            Value::Null => "-".to_string(),
            Value::Unknown => "(unknown)".to_string(),
        }
    }

    /// As programs read it (a CSV cell): numbers in full, dates in ISO
    /// 8601; `None` for no value.
    pub fn data(&self) -> Option<String> {
        match self {
            Value::Count(n) | Value::Bytes(n) => Some(n.to_string()),
            Value::Int(n) => Some(n.to_string()),
            Value::Millis(f)
            | Value::Seconds(f)
            | Value::Rate(f)
            | Value::Percent(f)
            | Value::Number(f) => f.is_finite().then(|| f.to_string()),
            Value::Time(t) => Some(t.iso()),
            Value::Text(s) => Some(s.clone()),
            Value::Null | Value::Unknown => None,
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Count(n) | Value::Bytes(n) => s.serialize_u64(*n),
            Value::Int(n) => s.serialize_i64(*n),
            // HAProxy's timers are whole milliseconds: integers stay integers.
            Value::Millis(f) if f.fract() == 0.0 && f.abs() < 9e15 => s.serialize_i64(*f as i64),
            Value::Millis(f)
            | Value::Seconds(f)
            | Value::Rate(f)
            | Value::Percent(f)
            | Value::Number(f)
                if f.is_finite() =>
            {
                s.serialize_f64(*f)
            }
            Value::Time(t) => s.serialize_str(&t.iso()),
            Value::Text(t) => s.serialize_str(t),
            _ => s.serialize_none(),
        }
    }
}

/// Durations from this many milliseconds on are shown with their units
/// (`12.5s`, `9m40.5s`): a column of timers in ms reads badly at 580541.
const HUMAN_MS: f64 = 10_000.0;

/// `12.5s`, `9m40.5s`, `2h03m10s`, `3d04h` (to a tenth of a second below
/// an hour).
fn human_duration(ms: f64) -> String {
    if !ms.is_finite() {
        return format!("{ms}");
    }
    let sign = if ms < 0.0 { "-" } else { "" };
    let tenths = (ms.abs() / 100.0).round() as u64;
    let (s, t) = (tenths / 10, tenths % 10);
    if s < 60 {
        format!("{sign}{s}.{t}s")
    } else if s < 3600 {
        format!("{sign}{}m{:02}.{t}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{sign}{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{sign}{}d{:02}h", s / 86_400, s / 3600 % 24)
    }
}

/// Whether a value in the column keyed `key` is a bad sign, shown in red
/// on a terminal and on a page: a failed share of 5 % or more, a queued
/// share of 1 % or more, a 5xx status, a termination state that is not
/// `--`.
pub fn is_bad(key: &str, value: &Value) -> bool {
    match (key, value) {
        ("failed_share", Value::Percent(p)) => *p >= 5.0,
        ("queued_share", Value::Percent(p)) => *p >= 1.0,
        ("status", Value::Int(code)) => *code >= 500,
        ("state", Value::Text(state)) => state != "--",
        _ => false,
    }
}

/// A column: its JSON/CSV key and its heading in text.
#[derive(Clone, Debug)]
pub struct Column {
    pub key: &'static str,
    pub title: &'static str,
}

/// Shorthand for a list of columns whose heading is their key.
pub fn columns(keys: &[&'static str]) -> Vec<Column> {
    keys.iter().map(|&key| Column { key, title: key }).collect()
}

#[derive(Clone, Debug)]
pub struct Table {
    /// The table's key in its section's JSON object.
    pub key: &'static str,
    /// A heading shown above the table in text (none for a section's
    /// main table).
    pub title: Option<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    /// Rows left out (of `--top`), said under the table in text.
    pub more: u64,
    /// The first column names groups of consecutive rows (a server's four
    /// timers): text shows each name once; JSON, CSV and Markdown rows
    /// all carry it.
    pub grouped: bool,
    /// Text shows each row's last cell as a line of a list (sentences),
    /// not as a table.
    pub list: bool,
}

impl Table {
    pub fn new(key: &'static str, columns: Vec<Column>) -> Table {
        Table {
            key,
            title: None,
            columns,
            rows: Vec::new(),
            more: 0,
            grouped: false,
            list: false,
        }
    }

    /// See [`Table::grouped`].
    pub fn grouped(mut self) -> Table {
        self.grouped = true;
        self
    }

    pub fn titled(mut self, title: impl Into<String>) -> Table {
        self.title = Some(title.into());
        self
    }

    pub fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len(), "{}", self.key);
        self.rows.push(row);
    }

    /// The cells as people read them; a column of durations shows them
    /// all to a tenth of a millisecond when one of them has a fraction.
    pub fn display_rows(&self, percent_sign: bool) -> Vec<Vec<String>> {
        let tenths: Vec<bool> = (0..self.columns.len())
            .map(|c| self.rows.iter().any(|r| !r[c].is_whole()))
            .collect();
        self.rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&tenths)
                    .map(|(v, &t)| v.display_with(percent_sign, t))
                    .collect()
            })
            .collect()
    }

    /// Each column's values are numbers (or none): right-aligned in text.
    pub fn numeric_columns(&self) -> Vec<bool> {
        (0..self.columns.len())
            .map(|c| {
                self.rows
                    .iter()
                    .all(|r| r[c].is_numeric() || r[c] == Value::Null)
            })
            .collect()
    }
}

/// Values over time at a fixed interval: a chart's data. Tables show it
/// with its start times as the first column (`start`).
#[derive(Clone, Debug)]
pub struct Series {
    pub key: &'static str,
    pub title: Option<String>,
    pub interval_seconds: i64,
    /// The first second of each point, of the log's clock.
    pub starts: Vec<i64>,
    pub columns: Vec<Column>,
    /// One row of values per start.
    pub points: Vec<Vec<Value>>,
}

impl Series {
    pub fn new(key: &'static str, interval_seconds: i64, columns: Vec<Column>) -> Series {
        Series {
            key,
            title: None,
            interval_seconds,
            starts: Vec::new(),
            columns,
            points: Vec::new(),
        }
    }

    pub fn push(&mut self, start: i64, values: Vec<Value>) {
        debug_assert_eq!(values.len(), self.columns.len(), "{}", self.key);
        self.starts.push(start);
        self.points.push(values);
    }

    /// One column's values as numbers, one per start (a chart's line).
    pub fn line(&self, key: &str) -> Option<Vec<Option<f64>>> {
        let c = self.columns.iter().position(|c| c.key == key)?;
        Some(self.points.iter().map(|p| p[c].as_f64()).collect())
    }

    /// The series as a table: `start`, then its columns.
    pub fn table(&self) -> Table {
        let mut columns = vec![Column {
            key: "start",
            title: "start",
        }];
        columns.extend(self.columns.iter().cloned());
        let mut t = Table::new(self.key, columns);
        t.title = self.title.clone();
        for (start, values) in self.starts.iter().zip(&self.points) {
            let mut row = Vec::with_capacity(values.len() + 1);
            row.push(Value::second(*start));
            row.extend(values.iter().cloned());
            t.rows.push(row);
        }
        t
    }
}

#[derive(Clone, Debug)]
pub struct Section {
    /// The section's name on the command line and key in JSON.
    pub key: &'static str,
    pub title: String,
    /// Single values: (key, label, value).
    pub facts: Vec<(&'static str, &'static str, Value)>,
    pub tables: Vec<Table>,
    /// Shown after the tables.
    pub series: Vec<Series>,
    /// Sentences shown under the section in text and Markdown.
    pub notes: Vec<String>,
    /// Text and Markdown leave the section out when its tables are empty
    /// (JSON and CSV keep it, so their layout stays the same).
    pub hide_when_empty: bool,
}

impl Section {
    pub fn new(key: &'static str, title: impl Into<String>) -> Section {
        Section {
            key,
            title: title.into(),
            facts: Vec::new(),
            tables: Vec::new(),
            series: Vec::new(),
            notes: Vec::new(),
            hide_when_empty: false,
        }
    }

    /// Whether text and Markdown leave it out.
    pub fn hidden(&self) -> bool {
        self.hide_when_empty
            && self.facts.is_empty()
            && self.tables.iter().all(|t| t.rows.is_empty())
            && self.series.iter().all(|s| s.points.is_empty())
    }

    pub fn fact(&mut self, key: &'static str, label: &'static str, value: Value) {
        self.facts.push((key, label, value));
    }

    /// The tables, then the series as tables, in the order shown.
    pub fn all_tables(&self) -> Vec<std::borrow::Cow<'_, Table>> {
        let mut all: Vec<std::borrow::Cow<'_, Table>> =
            self.tables.iter().map(std::borrow::Cow::Borrowed).collect();
        all.extend(
            self.series
                .iter()
                .map(|s| std::borrow::Cow::Owned(s.table())),
        );
        all
    }
}

/// A whole report: its layout's version and its sections.
#[derive(Clone, Debug)]
pub struct Report {
    /// The version of the JSON document's layout ([`Report::serialize`]).
    pub schema_version: u32,
    pub sections: Vec<Section>,
}

/// `{"report": {"schema_version": N}, "<section>": {facts…, "<table>":
/// [{column: value, …}, …], "<table>_more": n}, …}`, in section order.
impl Serialize for Report {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Head(u32);
        impl Serialize for Head {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("schema_version", &self.0)?;
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(self.sections.len() + 1))?;
        m.serialize_entry("report", &Head(self.schema_version))?;
        for section in &self.sections {
            m.serialize_entry(section.key, section)?;
        }
        m.end()
    }
}

impl Serialize for Section {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (key, _, value) in &self.facts {
            m.serialize_entry(key, value)?;
        }
        for t in self.all_tables() {
            m.serialize_entry(t.key, &Rows(&t))?;
            if t.more > 0 {
                m.serialize_entry(&format!("{}_more", t.key), &t.more)?;
            }
        }
        m.end()
    }
}

/// A table as an array of objects keyed by column.
struct Rows<'a>(&'a Table);

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Row<'a>(&'a [Column], &'a [Value]);
        impl Serialize for Row<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (c, v) in self.0.iter().zip(self.1) {
                    m.serialize_entry(c.key, v)?;
                }
                m.end()
            }
        }
        s.collect_seq(self.0.rows.iter().map(|r| Row(&self.0.columns, r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps() {
        let t = Stamp {
            local_ms: 1_714_564_800_250,
            offset_minutes: Some(-330),
            millis: true,
        };
        assert_eq!(t.human(), "2024-05-01 12:00:00.250 -0530");
        assert_eq!(t.iso(), "2024-05-01T12:00:00.250-05:30");
        let utc = Stamp {
            offset_minutes: Some(0),
            ..t
        };
        assert_eq!(utc.iso(), "2024-05-01T12:00:00.250Z");
        assert_eq!(
            Value::second(951_782_400).display(true),
            "2000-02-29 00:00:00"
        );
        assert_eq!(
            Value::time(0, None).display(true),
            "1970-01-01 00:00:00.000"
        );
    }

    #[test]
    fn values_keep_their_numbers_for_programs() {
        let v = Value::share(2, 3);
        assert_eq!(v.display(true), "66.7%");
        assert_eq!(serde_json::to_string(&v).unwrap(), "66.66666666666667");
        assert_eq!(Value::Millis(12.0).display(true), "12");
        assert_eq!(Value::Millis(12.25).display(true), "12.2");
        for (ms, shown) in [
            (9_999.0, "9999"),
            (10_000.0, "10.0s"),
            (580_541.0, "9m40.5s"),
            (3_599_960.0, "1h00m00s"),
            (7_390_000.0, "2h03m10s"),
            (277_200_000.0, "3d05h"),
        ] {
            assert_eq!(Value::Millis(ms).display(true), shown);
        }
        // Programs get the number.
        assert_eq!(Value::Millis(580_541.0).data().unwrap(), "580541");
        assert_eq!(serde_json::to_string(&Value::Rate(2.5)).unwrap(), "2.5");
        assert_eq!(serde_json::to_string(&Value::Millis(12.0)).unwrap(), "12");
        assert_eq!(
            serde_json::to_string(&Value::Rate(f64::NAN)).unwrap(),
            "null"
        );
        assert_eq!(Value::Unknown.data(), None);
    }

    #[test]
    fn a_series_is_a_table_and_chart_lines() {
        let mut s = Series::new("rows", 60, columns(&["requests", "avg_tt"]));
        s.push(120, vec![Value::count(3), Value::Millis(1.5)]);
        s.push(180, vec![Value::count(0), Value::Null]);
        assert_eq!(s.line("avg_tt"), Some(vec![Some(1.5), None]));
        let t = s.table();
        assert_eq!(t.columns[0].key, "start");
        assert_eq!(t.rows[1][0], Value::second(180));
    }
}
