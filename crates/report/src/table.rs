//! A report as sections of facts and tables, and its four renderings:
//! aligned text, JSON, CSV and Markdown. The sections are built once;
//! every rendering shows the same values.

use std::fmt::Write as _;

use crate::escape::{csv_cell, csv_field, inert, json_string, markdown_cell, CsvStyle};

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    /// A number shown with this many decimals (JSON gets the same digits).
    Float(f64, usize),
    /// A share of a whole, 0–100, shown with one decimal and `%` in text.
    Percent(f64),
    Text(String),
    /// No value (a percentile of nothing, a missing field).
    Null,
    /// A value the log does not know (a client address of `-`): `(unknown)`
    /// in text, null in JSON.
    Unknown,
}

impl Value {
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }

    pub fn bytes(b: &[u8]) -> Value {
        Value::Text(String::from_utf8_lossy(b).into_owned())
    }

    pub fn count(n: u64) -> Value {
        Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }

    pub fn opt(n: Option<u64>) -> Value {
        n.map_or(Value::Null, Value::count)
    }

    /// `part` as a share of `whole`; null when the whole is empty.
    pub fn share(part: u64, whole: u64) -> Value {
        if whole == 0 {
            Value::Null
        } else {
            Value::Percent(part as f64 * 100.0 / whole as f64)
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Float(..) | Value::Percent(_))
    }

    /// As shown in text, Markdown and CSV (CSV drops the `%`).
    fn display(&self, percent_sign: bool) -> String {
        match self {
            Value::Int(n) => n.to_string(),
            Value::Float(f, d) => format!("{f:.d$}"),
            Value::Percent(p) if percent_sign => format!("{p:.1}%"),
            Value::Percent(p) => format!("{p:.1}"),
            Value::Text(s) => s.clone(),
            Value::Null => "-".to_string(),
            Value::Unknown => "(unknown)".to_string(),
        }
    }

    fn json(&self, out: &mut Vec<u8>) {
        match self {
            Value::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Value::Float(f, d) if f.is_finite() => {
                out.extend_from_slice(format!("{f:.d$}").as_bytes())
            }
            Value::Percent(p) if p.is_finite() => {
                out.extend_from_slice(format!("{p:.1}").as_bytes())
            }
            Value::Text(s) => json_string(out, s.as_bytes()),
            _ => out.extend_from_slice(b"null"),
        }
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
}

#[derive(Clone, Debug)]
pub struct Section {
    /// The section's name on the command line and key in JSON.
    pub key: &'static str,
    pub title: String,
    /// Single values: (key, label, value).
    pub facts: Vec<(&'static str, &'static str, Value)>,
    pub tables: Vec<Table>,
    /// Sentences shown under the section in text and Markdown.
    pub notes: Vec<String>,
}

impl Section {
    pub fn new(key: &'static str, title: impl Into<String>) -> Section {
        Section {
            key,
            title: title.into(),
            facts: Vec::new(),
            tables: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn fact(&mut self, key: &'static str, label: &'static str, value: Value) {
        self.facts.push((key, label, value));
    }
}

/// Styling for text on a terminal.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub color: bool,
    /// The widest a text cell may be (on a terminal, from its width);
    /// `None` keeps every cell whole (a file, a pipe).
    pub cell_width: Option<usize>,
}

impl Style {
    fn heading(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[1;36m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    fn header_row(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Aligned text: a heading per section, facts as `label  value` lines,
/// tables with numbers right-aligned.
pub fn text(sections: &[Section], style: Style) -> String {
    let mut out = String::new();
    for (i, s) in sections.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", style.heading(&s.title.to_uppercase()));
        let width = s
            .facts
            .iter()
            .map(|f| f.1.chars().count())
            .max()
            .unwrap_or(0);
        for (_, label, value) in &s.facts {
            let _ = writeln!(out, "  {label:<width$}  {}", inert(&value.display(true)));
        }
        for t in &s.tables {
            if !s.facts.is_empty() || t.title.is_some() || t.key != s.tables[0].key {
                out.push('\n');
            }
            if let Some(title) = &t.title {
                let _ = writeln!(out, "  {title}");
            }
            text_table(&mut out, t, style);
        }
        for note in &s.notes {
            let _ = writeln!(out, "  {}", inert(note));
        }
    }
    out
}

fn text_table(out: &mut String, t: &Table, style: Style) {
    if t.rows.is_empty() {
        let _ = writeln!(out, "  (none)");
        return;
    }
    let mut cells: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| clip(inert(&v.display(true)).into_owned(), style.cell_width))
                .collect()
        })
        .collect();
    if t.grouped {
        for i in (1..cells.len()).rev() {
            if cells[i][0] == cells[i - 1][0] {
                cells[i][0].clear();
            }
        }
    }
    let widths: Vec<usize> = (0..t.columns.len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .chain([t.columns[c].title.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // A column is right-aligned when all its values are numbers (or none).
    let numeric: Vec<bool> = (0..t.columns.len())
        .map(|c| {
            t.rows
                .iter()
                .all(|r| r[c].is_numeric() || r[c] == Value::Null)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut s = String::from(" ");
        let last = cells.len() - 1;
        for (c, cell) in cells.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            s.push(' ');
            if numeric[c] {
                s.extend(std::iter::repeat_n(' ', pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                if c != last {
                    s.extend(std::iter::repeat_n(' ', pad));
                }
            }
            if c != last {
                s.push(' ');
            }
        }
        s.truncate(s.trim_end().len());
        s
    };
    let titles: Vec<String> = t.columns.iter().map(|c| c.title.to_string()).collect();
    let _ = writeln!(out, "{}", style.header_row(&line(&titles)));
    for row in &cells {
        let _ = writeln!(out, "{}", line(row));
    }
    if t.more > 0 {
        let _ = writeln!(out, "  … and {} more", t.more);
    }
}

/// A text cell cut to `width` characters, ending in `…` (on a terminal,
/// where a URL of 3000 bytes would wrap the table away); whole without one.
fn clip(s: String, width: Option<usize>) -> String {
    let Some(width) = width.filter(|&w| w > 1) else {
        return s;
    };
    if s.chars().count() <= width {
        return s;
    }
    let mut cut: String = s.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// Markdown: a `##` heading per section, facts and tables as pipe tables.
pub fn markdown(sections: &[Section]) -> String {
    let mut out = String::new();
    for (i, s) in sections.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "## {}\n", s.title);
        if !s.facts.is_empty() {
            out.push_str("| | |\n|---|---:|\n");
            for (_, label, value) in &s.facts {
                let _ = writeln!(
                    out,
                    "| {} | {} |",
                    markdown_cell(label),
                    markdown_cell(&value.display(true))
                );
            }
            out.push('\n');
        }
        for t in &s.tables {
            if let Some(title) = &t.title {
                let _ = writeln!(out, "**{}**\n", markdown_cell(title));
            }
            if t.rows.is_empty() {
                out.push_str("(none)\n\n");
                continue;
            }
            let heads: Vec<&str> = t.columns.iter().map(|c| c.title).collect();
            let _ = writeln!(out, "| {} |", heads.join(" | "));
            let aligns: Vec<&str> = (0..t.columns.len())
                .map(|c| {
                    if t.rows
                        .iter()
                        .all(|r| r[c].is_numeric() || r[c] == Value::Null)
                    {
                        "---:"
                    } else {
                        "---"
                    }
                })
                .collect();
            let _ = writeln!(out, "|{}|", aligns.join("|"));
            for row in &t.rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|v| markdown_cell(&v.display(true)))
                    .collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            if t.more > 0 {
                let _ = writeln!(out, "\n… and {} more", t.more);
            }
            out.push('\n');
        }
        for note in &s.notes {
            let _ = writeln!(out, "{}\n", markdown_cell(note));
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// CSV: each table as a block, `# section.table` above its header row,
/// a blank line between blocks. A section's facts are a `key,value` block.
/// Text cells are written in `style` (guarded against formulas, made
/// inert); numbers as they are.
pub fn csv(sections: &[Section], style: CsvStyle) -> Vec<u8> {
    let cell = |out: &mut Vec<u8>, v: &Value| match v {
        Value::Null | Value::Unknown => {}
        Value::Text(s) => csv_cell(out, s.as_bytes(), style),
        _ => csv_field(out, v.display(false).as_bytes()),
    };
    let mut out = Vec::new();
    let mut first = true;
    let mut block = |out: &mut Vec<u8>, name: String| {
        if !first {
            out.push(b'\n');
        }
        first = false;
        out.extend_from_slice(b"# ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    };
    for s in sections {
        if !s.facts.is_empty() {
            block(&mut out, format!("{}.facts", s.key));
            out.extend_from_slice(b"key,value\n");
            for (key, _, value) in &s.facts {
                csv_field(&mut out, key.as_bytes());
                out.push(b',');
                cell(&mut out, value);
                out.push(b'\n');
            }
        }
        for t in &s.tables {
            block(&mut out, format!("{}.{}", s.key, t.key));
            for (i, c) in t.columns.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                csv_field(&mut out, c.key.as_bytes());
            }
            out.push(b'\n');
            for row in &t.rows {
                for (i, v) in row.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    cell(&mut out, v);
                }
                out.push(b'\n');
            }
        }
    }
    out
}

/// One JSON document: `{"report": {"schema_version": 1}, "<section>": {facts…,
/// "<table>": [{column: value, …}, …]}, …}`, in section order.
pub fn json(sections: &[Section], version: u32) -> Vec<u8> {
    let mut out = format!("{{\n  \"report\": {{\"schema_version\": {version}}}").into_bytes();
    for s in sections {
        out.extend_from_slice(b",\n  ");
        json_string(&mut out, s.key.as_bytes());
        out.extend_from_slice(b": {");
        let mut first = true;
        let mut key = |out: &mut Vec<u8>, k: &str| {
            out.extend_from_slice(if first { b"\n    " } else { b",\n    " });
            first = false;
            json_string(out, k.as_bytes());
            out.extend_from_slice(b": ");
        };
        for (k, _, v) in &s.facts {
            key(&mut out, k);
            v.json(&mut out);
        }
        for t in &s.tables {
            key(&mut out, t.key);
            out.push(b'[');
            for (r, row) in t.rows.iter().enumerate() {
                out.extend_from_slice(if r == 0 { b"\n      {" } else { b",\n      {" });
                for (c, v) in row.iter().enumerate() {
                    if c > 0 {
                        out.extend_from_slice(b", ");
                    }
                    json_string(&mut out, t.columns[c].key.as_bytes());
                    out.extend_from_slice(b": ");
                    v.json(&mut out);
                }
                out.push(b'}');
            }
            if !t.rows.is_empty() {
                out.extend_from_slice(b"\n    ");
            }
            out.push(b']');
            if t.more > 0 {
                key(&mut out, &format!("{}_more", t.key));
                out.extend_from_slice(t.more.to_string().as_bytes());
            }
        }
        if !first {
            out.extend_from_slice(b"\n  ");
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Section> {
        let mut s = Section::new("servers", "Servers");
        s.fact("total", "total requests", Value::count(3));
        let mut t = Table::new("rows", columns(&["server", "requests", "share"]));
        t.push(vec![
            Value::text("be/a"),
            Value::count(2),
            Value::share(2, 3),
        ]);
        t.push(vec![Value::text("be/b|c"), Value::count(1), Value::Null]);
        t.more = 4;
        s.tables.push(t);
        vec![s]
    }

    #[test]
    fn renderings() {
        let sections = sample();
        assert_eq!(
            text(&sections, Style::default()),
            "SERVERS\n  total requests  3\n\n  server  requests  share\n  be/a           2  66.7%\n  be/b|c         1      -\n  … and 4 more\n"
        );
        let j: serde_json::Value = serde_json::from_slice(&json(&sections, 1)).unwrap();
        assert_eq!(j["servers"]["rows"][0]["share"], serde_json::json!(66.7));
        assert_eq!(j["servers"]["rows"][1]["share"], serde_json::Value::Null);
        assert_eq!(j["servers"]["rows_more"], 4);
        assert_eq!(
            String::from_utf8(csv(&sections, CsvStyle::default())).unwrap(),
            "# servers.facts\nkey,value\ntotal,3\n\n# servers.rows\nserver,requests,share\nbe/a,2,66.7\nbe/b|c,1,\n"
        );
        assert!(markdown(&sections).contains("| be/b\\|c | 1 | - |"));
    }
}
