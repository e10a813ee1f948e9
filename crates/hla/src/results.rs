//! The commands' state, folded per chunk and merged in file order, and
//! their output in the tool's text and JSON layouts.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::line::Line;
use crate::query::Command;
use crate::time::NaiveTime;

/// A tally that remembers the order keys were first seen (the tool's dict
/// order, which breaks ties between equal counts).
#[derive(Clone, Debug, Default)]
pub struct Tally {
    index: HashMap<String, usize>,
    entries: Vec<(String, u64)>,
}

impl Tally {
    pub fn add(&mut self, key: &str, n: u64) {
        match self.index.get(key) {
            Some(&i) => self.entries[i].1 += n,
            None => {
                self.index.insert(key.to_string(), self.entries.len());
                self.entries.push((key.to_string(), n));
            }
        }
    }

    /// Adds a later part of the file.
    pub fn merge(&mut self, later: Tally) {
        for (key, n) in later.entries {
            match self.index.get(&key) {
                Some(&i) => self.entries[i].1 += n,
                None => {
                    self.index.insert(key.clone(), self.entries.len());
                    self.entries.push((key, n));
                }
            }
        }
    }

    /// By count, highest first; ties in first-seen order (Python's stable
    /// sort with `reverse=True`).
    pub fn sorted(&self) -> Vec<(&str, u64)> {
        let mut rows: Vec<(&str, u64)> =
            self.entries.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        rows.sort_by_key(|row| std::cmp::Reverse(row.1));
        rows
    }
}

/// Everything the requested commands need, for one part of the input.
#[derive(Clone, Debug, Default)]
pub struct Results {
    pub counter: u64,
    methods: Tally,
    ips: Tally,
    statuses: Tally,
    paths: Tally,
    servers: Tally,
    slow: Vec<i64>,
    tr_sum: i128,
    tr_count: u64,
    tw_sum: i128,
    tw_count: u64,
    https: u64,
    http: u64,
    per_minute: BTreeMap<NaiveTime, u64>,
    per_hour: BTreeMap<NaiveTime, u64>,
    /// (accept date, backend queue) of every line, in file order.
    queue: Vec<(NaiveTime, i64)>,
}

/// Which parts of [`Results`] the commands read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Needs {
    methods: bool,
    ips: bool,
    statuses: bool,
    paths: bool,
    servers: bool,
    slow: bool,
    tr: bool,
    tw: bool,
    https: bool,
    per_minute: bool,
    per_hour: bool,
    queue: bool,
}

impl Needs {
    pub fn of(commands: &[Command]) -> Needs {
        let mut n = Needs::default();
        for c in commands {
            match c {
                Command::AverageResponseTime => n.tr = true,
                Command::AverageWaitingTime => n.tw = true,
                Command::ConnectionType => n.https = true,
                Command::Counter => {}
                Command::HttpMethods => n.methods = true,
                Command::IpCounter | Command::TopIps => n.ips = true,
                // Printed by the reader, in line order.
                Command::Print => {}
                Command::QueuePeaks => n.queue = true,
                Command::RequestPathCounter | Command::TopRequestPaths => n.paths = true,
                Command::RequestsPerHour => n.per_hour = true,
                Command::RequestsPerMinute => n.per_minute = true,
                Command::ServerLoad => n.servers = true,
                Command::SlowRequests | Command::SlowRequestsCounter => n.slow = true,
                Command::StatusCodesCounter => n.statuses = true,
            }
        }
        n
    }
}

const SLOW_MS: i64 = 1000;

impl Results {
    /// Counts one line that reached the commands.
    pub fn add(&mut self, line: &Line, needs: &Needs) {
        self.counter += 1;
        if needs.methods {
            self.methods.add(line.method, 1);
        }
        if needs.ips {
            self.ips.add(line.ip(), 1);
        }
        if needs.statuses {
            self.statuses.add(line.status, 1);
        }
        if needs.paths {
            self.paths.add(line.path, 1);
        }
        if needs.servers {
            self.servers.add(line.server, 1);
        }
        if needs.slow && line.tr >= SLOW_MS {
            self.slow.push(line.tr);
        }
        if needs.tr && line.tr >= 0 {
            self.tr_sum += i128::from(line.tr);
            self.tr_count += 1;
        }
        if needs.tw && line.tw >= 0 {
            self.tw_sum += i128::from(line.tw);
            self.tw_count += 1;
        }
        if needs.https {
            if line.is_https() {
                self.https += 1;
            } else {
                self.http += 1;
            }
        }
        if needs.per_minute {
            *self
                .per_minute
                .entry(line.accept_date.minute_floor())
                .or_insert(0) += 1;
        }
        if needs.per_hour {
            *self
                .per_hour
                .entry(line.accept_date.hour_floor())
                .or_insert(0) += 1;
        }
        if needs.queue {
            self.queue.push((line.accept_date, line.queue_backend));
        }
    }

    /// Adds the results of the next part of the file.
    pub fn merge(&mut self, later: Results) {
        self.counter += later.counter;
        self.methods.merge(later.methods);
        self.ips.merge(later.ips);
        self.statuses.merge(later.statuses);
        self.paths.merge(later.paths);
        self.servers.merge(later.servers);
        self.slow.extend(later.slow);
        self.tr_sum += later.tr_sum;
        self.tr_count += later.tr_count;
        self.tw_sum += later.tw_sum;
        self.tw_count += later.tw_count;
        self.https += later.https;
        self.http += later.http;
        for (k, n) in later.per_minute {
            *self.per_minute.entry(k).or_insert(0) += n;
        }
        for (k, n) in later.per_hour {
            *self.per_hour.entry(k).or_insert(0) += n;
        }
        self.queue.extend(later.queue);
    }

    /// The queue peaks as the tool means them: lines in accept-date order
    /// (file order among equal dates); a peak is the highest backend queue
    /// of a run of lines with a queue, ended by a line without one;
    /// reported when above 1. Every run ends with a reset, reported or not.
    pub fn queue_peaks(&self) -> Vec<Peak> {
        let mut lines = self.queue.clone();
        lines.sort_by_key(|&(date, _)| date);
        let mut peaks = Vec::new();
        let mut current: Option<Peak> = None;
        let mut last = None;
        for &(date, queue) in &lines {
            last = Some(date);
            if queue > 0 {
                let p = current.get_or_insert(Peak {
                    peak: 0,
                    span: 0,
                    started: date,
                    finished: date,
                });
                p.peak = p.peak.max(queue);
                p.span += 1;
            } else if let Some(mut p) = current.take() {
                p.finished = date;
                if p.peak > 1 {
                    peaks.push(p);
                }
            }
        }
        if let (Some(mut p), Some(date)) = (current, last) {
            p.finished = date;
            if p.peak > 1 {
                peaks.push(p);
            }
        }
        peaks
    }

    fn average(sum: i128, count: u64) -> f64 {
        if count == 0 {
            return 0.0;
        }
        // Python: round(sum / float(count), 2), half to even on the exact
        // binary value, which Rust's fixed-precision formatting also does.
        let mean = sum as f64 / count as f64;
        format!("{mean:.2}").parse().unwrap_or(mean)
    }

    /// What one command answers.
    fn value(&self, command: Command) -> Value<'_> {
        match command {
            Command::Counter => Value::Int(self.counter),
            Command::SlowRequestsCounter => Value::Int(self.slow.len() as u64),
            Command::AverageResponseTime => Value::Float(Self::average(self.tr_sum, self.tr_count)),
            Command::AverageWaitingTime => Value::Float(Self::average(self.tw_sum, self.tw_count)),
            Command::ConnectionType => {
                Value::Tally(vec![("https", self.https), ("http", self.http)])
            }
            Command::HttpMethods => Value::Tally(self.methods.sorted()),
            Command::IpCounter => Value::Tally(self.ips.sorted()),
            Command::StatusCodesCounter => Value::Tally(self.statuses.sorted()),
            Command::RequestPathCounter => Value::Tally(self.paths.sorted()),
            Command::ServerLoad => Value::Tally(self.servers.sorted()),
            Command::TopIps => Value::Tally(top(&self.ips)),
            Command::TopRequestPaths => Value::Tally(top(&self.paths)),
            Command::SlowRequests => {
                let mut slow = self.slow.clone();
                slow.sort_unstable();
                Value::List(slow)
            }
            Command::QueuePeaks => Value::Peaks(self.queue_peaks()),
            Command::RequestsPerMinute => {
                Value::Buckets(self.per_minute.iter().map(|(t, n)| (*t, *n)).collect())
            }
            Command::RequestsPerHour => {
                Value::Buckets(self.per_hour.iter().map(|(t, n)| (*t, *n)).collect())
            }
            Command::Print => Value::Int(0),
        }
    }

    /// One command's block, as the tool prints it.
    pub fn write_text(&self, command: Command, out: &mut String) {
        let title = command.name().to_ascii_uppercase();
        let _ = write!(out, "{title}\n{}\n", "=".repeat(title.len()));
        match self.value(command) {
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Float(x) => out.push_str(&python_float(x)),
            // The one tally printed without a newline after its last row.
            Value::Tally(rows) if command == Command::ConnectionType => {
                let _ = write!(out, "- https: {}\n- http: {}", rows[0].1, rows[1].1);
            }
            Value::Tally(rows) => {
                for (k, n) in rows {
                    let _ = writeln!(out, "- {k}: {n}");
                }
            }
            Value::List(items) => {
                let items: Vec<String> = items.iter().map(i64::to_string).collect();
                let _ = write!(out, "[{}]", items.join(", "));
            }
            Value::Peaks(peaks) => {
                for p in peaks {
                    let _ = writeln!(
                        out,
                        "- peak: {} - span: {} - started: {} - finished: {}",
                        p.peak, p.span, p.started, p.finished
                    );
                }
            }
            Value::Buckets(buckets) => {
                for (t, n) in buckets {
                    let _ = writeln!(out, "- {t}: {n}");
                }
            }
        }
        out.push_str("\n\n");
    }

    /// One command's JSON line: `{"NAME": value}` as Python's `json.dumps`
    /// writes it (ASCII only, `", "` and `": "` separators).
    pub fn write_json(&self, command: Command, out: &mut String) {
        let title = command.name().to_ascii_uppercase();
        let _ = write!(out, "{{\"{title}\": ");
        let value = self.value(command);
        let scalar = matches!(value, Value::Int(_) | Value::Float(_));
        let items: Vec<String> = match value {
            Value::Int(n) => vec![n.to_string()],
            Value::Float(x) => vec![python_float(x)],
            Value::Tally(rows) => rows
                .iter()
                .map(|(k, n)| {
                    let mut item = String::from("{");
                    json_string(k, &mut item);
                    let _ = write!(item, ": {n}}}");
                    item
                })
                .collect(),
            Value::List(items) => items.iter().map(i64::to_string).collect(),
            Value::Peaks(peaks) => peaks
                .iter()
                .map(|p| {
                    format!(
                        "{{\"peak\": {}, \"span\": {}, \"started\": \"{}\", \"finished\": \"{}\"}}",
                        p.peak, p.span, p.started, p.finished
                    )
                })
                .collect(),
            Value::Buckets(buckets) => buckets
                .iter()
                .map(|(t, n)| format!("{{\"{t}\": {n}}}"))
                .collect(),
        };
        if scalar {
            out.push_str(&items[0]);
        } else {
            let _ = write!(out, "[{}]", items.join(", "));
        }
        out.push_str("}\n");
    }
}

/// A command's answer, before it is written as text or JSON.
enum Value<'a> {
    Int(u64),
    Float(f64),
    /// (key, count) rows in output order.
    Tally(Vec<(&'a str, u64)>),
    List(Vec<i64>),
    Peaks(Vec<Peak>),
    Buckets(Vec<(NaiveTime, u64)>),
}

/// One queue peak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peak {
    pub peak: i64,
    pub span: u64,
    pub started: NaiveTime,
    pub finished: NaiveTime,
}

/// The ten most frequent keys (in JSON too: the tool's JSON lists them
/// all, a bug this port does not copy).
fn top(tally: &Tally) -> Vec<(&str, u64)> {
    let mut rows = tally.sorted();
    rows.truncate(10);
    rows
}

/// Python's `repr()` of a float: the shortest text that reads back, with
/// `.0` on whole numbers.
pub fn python_float(x: f64) -> String {
    let mut s = format!("{x}");
    if x.is_finite() && !s.contains('.') && !s.contains('e') {
        s.push_str(".0");
    }
    s
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii`).
pub fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_floats_and_strings() {
        assert_eq!(python_float(20.0), "20.0");
        assert_eq!(python_float(6375.78), "6375.78");
        assert_eq!(Results::average(1, 8), 0.12);
        let mut s = String::new();
        json_string("/caf\u{e9}\u{1F600}\"", &mut s);
        assert_eq!(s, r#""/caf\u00e9\ud83d\ude00\"""#);
    }

    #[test]
    fn tallies_keep_first_seen_order_for_ties() {
        let mut a = Tally::default();
        a.add("x", 1);
        a.add("y", 2);
        let mut b = Tally::default();
        b.add("z", 2);
        b.add("x", 1);
        a.merge(b);
        assert_eq!(a.sorted(), vec![("x", 2), ("y", 2), ("z", 2)]);
    }
}
