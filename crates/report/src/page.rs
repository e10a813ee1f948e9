//! The report as one self-contained HTML page: the findings first, each
//! section's facts and tables (sortable), and charts drawn as SVG from the
//! same model the other renderings show: request and failure rates over
//! time, total-time percentiles over time per backend and per server, the
//! status classes and termination states, and each server's latency
//! distribution. Every text from the log goes through [`escape`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::chart::{line_chart, Line, LineChart, XAxis};
use crate::html::{bar_chart, escape, Page};
use crate::model::{is_bad, Report, Section, Series, Table, Value};

/// Backends drawn one chart each; past these, the tables tell the rest.
const MAX_BACKEND_CHARTS: usize = 12;

/// The sort of sortable tables: a click on a heading orders the rows by
/// that column (numbers by their value, text by its letters), a second
/// click reverses them. It touches only the order of existing rows and
/// the headings' `aria-sort`: no markup is made from data.
const SORT_SCRIPT: &str = r#"
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    var button = th.querySelector("button");
    button.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var cell = row.cells[col];
        if (cell.hasAttribute("data-v")) {
          var v = cell.getAttribute("data-v");
          return v === "" ? null : Number(v);
        }
        return cell.textContent;
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null || y === null) { return x === y ? 0 : (x === null ? 1 : -1); }
        var order = typeof x === "number" ? x - y : x.localeCompare(y);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"#;

/// The page of `report`: `title` above, `subtitle` (the inputs, the span)
/// under it.
pub fn report_page(report: &Report, title: &str, subtitle: &str, footer: &str) -> String {
    let mut page = Page::new(title);
    page.subtitle(subtitle).script(SORT_SCRIPT);
    // The timeline's rates also go under the findings: the answer, then
    // the picture, before any table.
    let timeline = report
        .sections
        .iter()
        .find(|s| s.key == "timeline")
        .and_then(|s| s.series.first());
    for s in &report.sections {
        let mut body = section_body(s);
        if s.key == "findings" {
            if let Some(series) = timeline {
                rates_chart(&mut body, series);
            }
        }
        page.section(s.key, &s.title, body);
    }
    page.render(footer)
}

fn section_body(s: &Section) -> String {
    let mut out = String::new();
    if s.key == "findings" {
        findings(&mut out, s);
        return out;
    }
    if !s.facts.is_empty() {
        out.push_str("<dl class=\"facts\">");
        for (_, label, value) in &s.facts {
            let _ = write!(
                out,
                "<div><dt>{}</dt><dd>{}</dd></div>",
                escape(label),
                escape(&value.display(true))
            );
        }
        out.push_str("</dl>\n");
    }
    // Charts of the whole section first, then its tables.
    for series in &s.series {
        series_charts(&mut out, series);
    }
    for t in &s.tables {
        match (s.key, t.key) {
            (_, "over_time") => over_time_charts(&mut out, s.key, t),
            (_, "distribution") => distribution_charts(&mut out, s.key, t),
            ("status", "classes") | ("termination", "states") => {
                out.push_str(&bars(t));
                table(&mut out, t);
            }
            _ => table(&mut out, t),
        }
    }
    for series in &s.series {
        let t = series.table();
        let _ = writeln!(
            out,
            "<details><summary>The {} rows as a table</summary>",
            t.rows.len()
        );
        table(&mut out, &t);
        out.push_str("</details>\n");
    }
    for note in &s.notes {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
    }
    out
}

fn findings(out: &mut String, s: &Section) {
    let rows: Vec<&Vec<Value>> = s.tables.iter().flat_map(|t| t.rows.iter()).collect();
    if rows.is_empty() {
        out.push_str("<p class=\"good\">Nothing stands out: no server failing or slow, no requests without a server, no queue, no jump in failures (the rules are in docs/report.md).</p>\n");
        return;
    }
    out.push_str("<ol class=\"findings\">\n");
    for row in rows {
        let rule = row.first().map(|v| v.display(true)).unwrap_or_default();
        let text = row.last().map(|v| v.display(true)).unwrap_or_default();
        let _ = writeln!(
            out,
            "<li><span class=\"rule\">{}</span> {}</li>",
            escape(&rule),
            escape(&text)
        );
    }
    out.push_str("</ol>\n");
}

/// A table; sortable unless its rows come in groups (a server's four
/// timers), whose order is their meaning.
fn table(out: &mut String, t: &Table) {
    if let Some(title) = &t.title {
        let _ = writeln!(out, "<h3>{}</h3>", escape(title));
    }
    if t.rows.is_empty() {
        out.push_str("<p class=\"none\">(none)</p>\n");
        return;
    }
    let sortable = !t.grouped && t.rows.len() > 1;
    let numeric = t.numeric_columns();
    let _ = write!(
        out,
        "<div class=\"scroll\"><table{}>\n<thead><tr>",
        if sortable { " class=\"sortable\"" } else { "" }
    );
    for (c, column) in t.columns.iter().enumerate() {
        let class = if numeric[c] { " class=\"num\"" } else { "" };
        if sortable {
            let _ = write!(
                out,
                "<th{class}><button type=\"button\">{}</button></th>",
                escape(column.title)
            );
        } else {
            let _ = write!(out, "<th{class}>{}</th>", escape(column.title));
        }
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let shown = t.display_rows(true);
    for (r, (row, cells)) in t.rows.iter().zip(&shown).enumerate() {
        let starts_group = t.grouped && (r == 0 || t.rows[r - 1][0] != row[0]);
        out.push_str(if starts_group {
            "<tr class=\"group\">"
        } else {
            "<tr>"
        });
        for (c, (value, cell)) in row.iter().zip(cells).enumerate() {
            let mut classes = Vec::new();
            if numeric[c] {
                classes.push("num");
            }
            if is_bad(t.columns[c].key, value) {
                classes.push("bad");
            }
            let class = if classes.is_empty() {
                String::new()
            } else {
                format!(" class=\"{}\"", classes.join(" "))
            };
            let sort = match value {
                _ if !sortable => String::new(),
                Value::Time(t) => format!(" data-v=\"{}\"", t.local_ms),
                Value::Null | Value::Unknown if numeric[c] => " data-v=\"\"".to_string(),
                v => v
                    .as_f64()
                    .map(|f| format!(" data-v=\"{f}\""))
                    .unwrap_or_default(),
            };
            let shown = if t.grouped && c == 0 && !starts_group {
                ""
            } else {
                cell.as_str()
            };
            let _ = write!(out, "<td{class}{sort}>{}</td>", escape(shown));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
    if t.more > 0 {
        let _ = writeln!(out, "<p class=\"note\">… and {} more</p>", t.more);
    }
}

/// Bars of a table's first two columns (name, count).
fn bars(t: &Table) -> String {
    let bars: Vec<(String, u64)> = t
        .rows
        .iter()
        .filter_map(|r| match (r.first(), r.get(1)) {
            (Some(name), Some(Value::Count(n))) => Some((name.display(true), *n)),
            _ => None,
        })
        .take(20)
        .collect();
    let title = t.title.clone().unwrap_or_else(|| t.key.to_string());
    bar_chart(&title, &bars)
}

/// Points of slices `width` seconds wide, by start. A slice without
/// requests has no row: a count falls to zero there (`counts`), any
/// other value has a gap.
fn with_gaps(slices: Vec<(i64, Option<f64>)>, width: i64, counts: bool) -> Vec<(f64, Option<f64>)> {
    let empty = counts.then_some(0.0);
    let mut points = Vec::with_capacity(slices.len());
    let mut previous: Option<i64> = None;
    for (start, v) in slices {
        if let Some(p) = previous.filter(|&p| start - p > width) {
            points.push(((p + width) as f64, empty));
            if start - p > 2 * width {
                points.push(((start - width) as f64, empty));
            }
        }
        previous = Some(start);
        points.push((start as f64, v));
    }
    points
}

/// A line of a series' column, per second when `per_second` (a count
/// over the interval).
fn series_line(
    series: &Series,
    key: &str,
    name: &str,
    colour: usize,
    per_second: bool,
) -> Option<Line> {
    let width = series.interval_seconds.max(1);
    let values = series.line(key)?;
    let slices = series
        .starts
        .iter()
        .zip(values)
        .map(|(&start, v)| {
            let v = if per_second {
                v.map(|v| v / width as f64)
            } else {
                v
            };
            (start, v)
        })
        .collect();
    Some(Line::new(
        name,
        colour,
        with_gaps(slices, width, per_second),
    ))
}

/// Requests, failures and 5xx per second over the log's span.
fn rates_chart(out: &mut String, series: &Series) {
    let rates: Vec<Line> = [
        series_line(series, "requests", "requests", 0, true),
        series_line(series, "failed", "failed", 1, true),
        series_line(series, "status_5xx", "5xx", 2, true),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !rates.is_empty() {
        out.push_str(&line_chart(&LineChart {
            title: "Requests and failures per second".into(),
            unit: "per second".into(),
            x: XAxis::Time,
            log_y: false,
            lines: rates,
        }));
    }
}

/// The timeline: requests and failures per second, then mean and
/// largest total time.
fn series_charts(out: &mut String, series: &Series) {
    let line = |key: &str, name: &str, colour: usize, per_second: bool| {
        series_line(series, key, name, colour, per_second)
    };
    rates_chart(out, series);
    let times: Vec<Line> = [
        line("avg_tt", "mean Tt", 0, false),
        line("max_tt", "max Tt", 3, false),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !times.is_empty() {
        out.push_str(&line_chart(&LineChart {
            title: "Total time (Tt)".into(),
            unit: "ms, log scale".into(),
            x: XAxis::Time,
            log_y: true,
            lines: times,
        }));
    }
}

/// A group's name and its rows of a long table.
type Rows<'a> = (String, Vec<&'a Vec<Value>>);

/// A long table's rows by the group named in its first column, in order.
fn by_group(t: &Table) -> Vec<Rows<'_>> {
    let mut groups: Vec<Rows<'_>> = Vec::new();
    for row in &t.rows {
        let name = row[0].display(true);
        match groups.last_mut() {
            Some((n, rows)) if *n == name => rows.push(row),
            _ => groups.push((name, vec![row])),
        }
    }
    groups
}

fn column(t: &Table, key: &str) -> Option<usize> {
    t.columns.iter().position(|c| c.key == key)
}

/// Servers are drawn one chart per backend (`backend/server` names);
/// backends all on one chart.
fn charts_by_backend<'a>(
    section: &str,
    groups: Vec<Rows<'a>>,
) -> Vec<(Option<String>, Vec<Rows<'a>>)> {
    if section != "servers" {
        return vec![(None, groups)];
    }
    let mut backends: BTreeMap<String, Vec<Rows<'a>>> = BTreeMap::new();
    for (name, rows) in groups {
        let (backend, server) = match name.split_once('/') {
            Some((b, s)) => (b.to_string(), s.to_string()),
            None => (String::new(), name),
        };
        backends.entry(backend).or_default().push((server, rows));
    }
    backends
        .into_iter()
        .map(|(b, groups)| (Some(b), groups))
        .collect()
}

fn over_time_charts(out: &mut String, section: &str, t: &Table) {
    let (Some(start), Some(p50), Some(p99), Some(requests), Some(failed)) = (
        column(t, "start"),
        column(t, "tt_p50"),
        column(t, "tt_p99"),
        column(t, "requests"),
        column(t, "failed"),
    ) else {
        return;
    };
    // Every group's slices are as wide: the closest two starts say how.
    let groups = by_group(t);
    let width = groups
        .iter()
        .flat_map(|(_, rows)| {
            rows.windows(2)
                .filter_map(|w| match (&w[0][start], &w[1][start]) {
                    (Value::Time(a), Value::Time(b)) => Some((b.local_ms - a.local_ms) / 1000),
                    _ => None,
                })
        })
        .filter(|&d| d > 0)
        .min()
        .unwrap_or(1);
    let charts = charts_by_backend(section, groups);
    let shown = charts.len().min(MAX_BACKEND_CHARTS);
    for (backend, groups) in charts.into_iter().take(MAX_BACKEND_CHARTS) {
        let of = backend
            .as_deref()
            .map_or(String::new(), |b| format!(", backend {b}"));
        let line = |name: String, colour: usize, rows: &[&Vec<Value>], col: usize, counts| {
            let slices = rows
                .iter()
                .filter_map(|r| match &r[start] {
                    Value::Time(s) => Some((s.local_ms / 1000, r[col].as_f64())),
                    _ => None,
                })
                .collect();
            Line::new(name, colour, with_gaps(slices, width, counts))
        };
        let mut latency = Vec::new();
        for (i, (name, rows)) in groups.iter().enumerate() {
            latency.push(line(format!("{name} p99"), i, rows, p99, false));
            latency.push(line(format!("{name} p50"), i, rows, p50, false).dashed());
        }
        out.push_str(&line_chart(&LineChart {
            title: format!("Total time p50 and p99 over time{of}"),
            unit: "ms, log scale".into(),
            x: XAxis::Time,
            log_y: true,
            lines: latency,
        }));
        let mut counts = Vec::new();
        for (i, (name, rows)) in groups.iter().enumerate() {
            counts.push(line(format!("{name} requests"), i, rows, requests, true));
            counts.push(line(format!("{name} failed"), i, rows, failed, true).dashed());
        }
        out.push_str(&line_chart(&LineChart {
            title: format!("Requests and failures per slice{of}"),
            unit: "requests".into(),
            x: XAxis::Time,
            log_y: false,
            lines: counts,
        }));
    }
    if let Some(title) = &t.title {
        let _ = writeln!(
            out,
            "<p class=\"note\">{}{}</p>",
            escape(title),
            if shown < MAX_BACKEND_CHARTS {
                String::new()
            } else {
                format!("; the first {MAX_BACKEND_CHARTS} backends are drawn")
            }
        );
    }
}

fn distribution_charts(out: &mut String, section: &str, t: &Table) {
    let (Some(percentile), Some(tt)) = (column(t, "percentile"), column(t, "tt")) else {
        return;
    };
    for (backend, groups) in charts_by_backend(section, by_group(t))
        .into_iter()
        .take(MAX_BACKEND_CHARTS)
    {
        let of = backend
            .as_deref()
            .map_or(String::new(), |b| format!(", backend {b}"));
        let lines = groups
            .iter()
            .enumerate()
            .map(|(i, (name, rows))| {
                let points = rows
                    .iter()
                    .filter_map(|r| Some((r[percentile].as_f64()?, r[tt].as_f64())))
                    .collect();
                Line::new(name.clone(), i, points)
            })
            .collect();
        out.push_str(&line_chart(&LineChart {
            title: format!("Total time by percentile{of}"),
            unit: "ms, log scale".into(),
            x: XAxis::Percentile,
            log_y: true,
            lines,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_slices_are_zero_counts_or_gaps() {
        let slices = vec![
            (0, Some(5.0)),
            (10, Some(6.0)),
            (40, Some(7.0)),
            (50, Some(8.0)),
        ];
        assert_eq!(
            with_gaps(slices.clone(), 10, true),
            vec![
                (0.0, Some(5.0)),
                (10.0, Some(6.0)),
                (20.0, Some(0.0)),
                (30.0, Some(0.0)),
                (40.0, Some(7.0)),
                (50.0, Some(8.0))
            ]
        );
        let timed = with_gaps(slices, 10, false);
        assert_eq!(timed[2], (20.0, None));
        assert_eq!(timed.len(), 6);
    }
}
