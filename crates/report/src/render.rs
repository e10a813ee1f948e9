//! The report model's renderings: aligned text, Markdown, CSV and JSON.
//! Each shows the same values; text and Markdown as people read them,
//! CSV and JSON as programs do (numbers in full, dates in ISO 8601).

use std::fmt::Write as _;
use std::io;

use serde::Serialize;

use crate::escape::{csv_shown, inert, markdown_cell, CsvStyle};
use crate::model::{is_bad, Report, Section, Table, Value};

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
    for (i, s) in sections.iter().filter(|s| !s.hidden()).enumerate() {
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
        for (i, t) in s.all_tables().iter().enumerate() {
            if !s.facts.is_empty() || t.title.is_some() || i > 0 {
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
    if t.list {
        for row in &t.rows {
            if let Some(last) = row.last() {
                let _ = writeln!(out, "  - {}", inert(&last.display(true)));
            }
        }
        return;
    }
    let mut cells: Vec<Vec<String>> = t
        .display_rows(true)
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| clip(inert(&v).into_owned(), style.cell_width))
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
    let numeric = t.numeric_columns();
    // Bad signs in red on a terminal (`is_bad`): the padding is counted
    // on the plain cell, the colour wraps it.
    let line = |cells: &[String], values: Option<&[Value]>| {
        let mut s = String::from(" ");
        let last = cells.len() - 1;
        for (c, cell) in cells.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            let bad = style.color
                && values.is_some_and(|v| !cell.is_empty() && is_bad(t.columns[c].key, &v[c]));
            let shown = if bad {
                std::borrow::Cow::Owned(format!("\x1b[31m{cell}\x1b[0m"))
            } else {
                std::borrow::Cow::Borrowed(cell.as_str())
            };
            s.push(' ');
            if numeric[c] {
                s.extend(std::iter::repeat_n(' ', pad));
                s.push_str(&shown);
            } else {
                s.push_str(&shown);
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
    let _ = writeln!(out, "{}", style.header_row(&line(&titles, None)));
    for (row, values) in cells.iter().zip(&t.rows) {
        let _ = writeln!(out, "{}", line(row, Some(values)));
    }
    if t.more > 0 {
        let _ = writeln!(out, "  … and {} more", t.more);
    }
}

/// A text cell cut to `width` characters, ending in `…` (on a terminal,
/// where a URL of 3000 bytes would wrap the table away); whole without one.
pub fn clip(s: String, width: Option<usize>) -> String {
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
    for (i, s) in sections.iter().filter(|s| !s.hidden()).enumerate() {
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
        for t in s.all_tables() {
            if let Some(title) = &t.title {
                let _ = writeln!(out, "**{}**\n", markdown_cell(title));
            }
            if t.rows.is_empty() {
                out.push_str("(none)\n\n");
                continue;
            }
            let heads: Vec<&str> = t.columns.iter().map(|c| c.title).collect();
            let _ = writeln!(out, "| {} |", heads.join(" | "));
            let aligns: Vec<&str> = t
                .numeric_columns()
                .into_iter()
                .map(|n| if n { "---:" } else { "---" })
                .collect();
            let _ = writeln!(out, "|{}|", aligns.join("|"));
            for row in t.display_rows(true) {
                let cells: Vec<String> = row.iter().map(|v| markdown_cell(v)).collect();
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
/// inert); numbers in full, dates in ISO 8601, no value as an empty cell.
pub fn csv(sections: &[Section], style: CsvStyle) -> Vec<u8> {
    let mut out = Vec::new();
    let block = |out: &mut Vec<u8>, name: String, head: Vec<&str>, rows: Vec<Vec<String>>| {
        if !out.is_empty() {
            out.push(b'\n');
        }
        out.extend_from_slice(format!("# {name}\n").as_bytes());
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(out);
        // Writing to a Vec cannot fail.
        let _ = w.write_record(&head);
        for row in rows {
            let _ = w.write_record(&row);
        }
        let _ = w.flush();
    };
    let cell = |v: &Value| match v {
        Value::Text(s) => String::from_utf8_lossy(&csv_shown(s.as_bytes(), style)).into_owned(),
        _ => v.data().unwrap_or_default(),
    };
    for s in sections {
        if !s.facts.is_empty() {
            let rows = s
                .facts
                .iter()
                .map(|(key, _, value)| vec![key.to_string(), cell(value)])
                .collect();
            block(
                &mut out,
                format!("{}.facts", s.key),
                vec!["key", "value"],
                rows,
            );
        }
        for t in s.all_tables() {
            let head = t.columns.iter().map(|c| c.key).collect();
            let rows = t
                .rows
                .iter()
                .map(|r| r.iter().map(cell).collect())
                .collect();
            block(&mut out, format!("{}.{}", s.key, t.key), head, rows);
        }
    }
    out
}

/// The report as one JSON document (see [`Report`]'s layout): indented,
/// each table row on one line.
pub fn json(report: &Report) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, RowPerLine::default());
    // Serialising the model into a Vec cannot fail: every key is a string.
    let _ = report.serialize(&mut ser);
    out.push(b'\n');
    out
}

/// serde_json's pretty layout down to the tables; a row's object on one
/// line, so a timeline of a thousand rows reads as a thousand lines.
#[derive(Default)]
struct RowPerLine {
    depth: usize,
    has_value: bool,
}

impl RowPerLine {
    /// Containers this deep or less are laid out one value per line:
    /// the document, a section, a table.
    const PRETTY_DEPTH: usize = 3;

    fn separate<W: ?Sized + io::Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        if self.depth <= Self::PRETTY_DEPTH {
            w.write_all(if first { b"\n" } else { b",\n" })?;
            w.write_all(&b"  ".repeat(self.depth))
        } else if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn close<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        if self.depth <= Self::PRETTY_DEPTH && self.has_value {
            w.write_all(b"\n")?;
            w.write_all(&b"  ".repeat(self.depth - 1))?;
        }
        self.depth -= 1;
        w.write_all(bracket)
    }
}

impl serde_json::ser::Formatter for RowPerLine {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.separate(w, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.separate(w, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{columns, Series};

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
        let mut series = Series::new("minutes", 60, columns(&["requests"]));
        series.push(60, vec![Value::count(3)]);
        s.series.push(series);
        vec![s]
    }

    #[test]
    fn renderings() {
        let sections = sample();
        assert_eq!(
            text(&sections, Style::default()),
            "SERVERS\n  total requests  3\n\n  server  requests  share\n  be/a           2  66.7%\n  be/b|c         1      -\n  … and 4 more\n\n  start                requests\n  1970-01-01 00:01:00         3\n"
        );
        let report = Report {
            schema_version: 2,
            sections: sections.clone(),
        };
        let j: serde_json::Value = serde_json::from_slice(&json(&report)).unwrap();
        assert_eq!(j["report"]["schema_version"], 2);
        assert_eq!(
            j["servers"]["rows"][0]["share"],
            serde_json::json!(200.0 / 3.0)
        );
        assert_eq!(
            j["servers"]["minutes"][0],
            serde_json::json!({"start": "1970-01-01T00:01:00", "requests": 3})
        );
        assert_eq!(j["servers"]["rows"][1]["share"], serde_json::Value::Null);
        assert_eq!(j["servers"]["rows_more"], 4);
        assert_eq!(
            String::from_utf8(csv(&sections, CsvStyle::default())).unwrap(),
            "# servers.facts\nkey,value\ntotal,3\n\n# servers.rows\nserver,requests,share\nbe/a,2,66.66666666666667\nbe/b|c,1,\n\n# servers.minutes\nstart,requests\n1970-01-01T00:01:00,3\n"
        );
        assert!(markdown(&sections).contains("| be/b\\|c | 1 | - |"));
    }

    #[test]
    fn bad_signs_are_red_on_a_terminal_only() {
        let mut s = Section::new("servers", "Servers");
        let mut t = Table::new("rows", columns(&["server", "failed_share"]));
        t.push(vec![Value::text("be/a"), Value::Percent(50.0)]);
        t.push(vec![Value::text("be/b"), Value::Percent(1.0)]);
        s.tables.push(t);
        let colour = Style {
            color: true,
            cell_width: None,
        };
        let shown = text(&[s.clone()], colour);
        assert!(
            shown.contains("  be/a           \x1b[31m50.0%\x1b[0m\n"),
            "{shown:?}"
        );
        assert!(shown.contains("  be/b            1.0%\n"), "{shown:?}");
        assert!(!text(&[s], Style::default()).contains('\x1b'));
    }
}
