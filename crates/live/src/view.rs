//! A window of traffic as report-model sections: what the headless text
//! and NDJSON lines, the terminal and the web page all show.

use haplog_analyze::traffic::STATUS_CLASSES;
use haplog_report::model::{columns, Column, Report, Section, Stamp, Table, Value};
use haplog_report::traffic::termination_section;

use crate::slot::{Flow, Slot};

/// The layout version of a live view's JSON.
pub const SCHEMA_VERSION: u32 = 1;

/// What a view shows.
#[derive(Clone, Copy, Debug)]
pub struct ViewOptions {
    /// Rows of the URL and failed-request tables.
    pub top: usize,
}

impl Default for ViewOptions {
    fn default() -> ViewOptions {
        ViewOptions { top: 10 }
    }
}

/// A window: its slots merged, and how long it is.
pub struct Window<'a> {
    pub slot: &'a Slot,
    /// `None`: since the start.
    pub seconds: Option<u32>,
}

/// The view of `window` at `now` (UTC seconds); `newest` is the newest log
/// second with a request, for the lag.
pub fn report(window: &Window<'_>, now: i64, newest: Option<i64>, options: ViewOptions) -> Report {
    let slot = window.slot;
    Report {
        schema_version: SCHEMA_VERSION,
        sections: vec![
            summary(window, now, newest),
            servers(slot, window.seconds),
            groups(
                "frontends",
                "Frontends",
                "frontend",
                slot.frontends.iter().map(|(k, f)| (lossy(k), f)),
                window.seconds,
            ),
            groups(
                "backends",
                "Backends",
                "backend",
                slot.backends()
                    .iter()
                    .map(|(k, f)| (lossy(k), f))
                    .collect::<Vec<_>>()
                    .into_iter(),
                window.seconds,
            ),
            terminations(slot),
            urls(slot, options),
            failed(slot, options),
        ],
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn rate(n: u64, seconds: Option<u32>) -> Value {
    match seconds {
        Some(s) if s > 0 => Value::Rate(n as f64 / f64::from(s)),
        _ => Value::Null,
    }
}

fn summary(window: &Window<'_>, now: i64, newest: Option<i64>) -> Section {
    let slot = window.slot;
    let mut s = Section::new("live", "Live");
    s.fact(
        "time",
        "at",
        Value::Time(Stamp {
            local_ms: now * 1000,
            offset_minutes: Some(0),
            millis: false,
        }),
    );
    s.fact(
        "window_seconds",
        "window (s)",
        window
            .seconds
            .map_or(Value::Null, |w| Value::Count(u64::from(w))),
    );
    s.fact("lines", "lines", Value::count(slot.lines));
    s.fact(
        "unparsed_lines",
        "unparsed lines",
        Value::count(slot.unparsed()),
    );
    s.fact("requests", "requests", Value::count(slot.requests));
    s.fact(
        "requests_per_second",
        "requests per second",
        rate(slot.requests, window.seconds),
    );
    let failed: u64 = slot.servers.values().map(|f| f.failed).sum();
    s.fact("failed", "failed requests", Value::count(failed));
    s.fact(
        "failed_share",
        "failed share",
        Value::share(failed, slot.requests),
    );
    s.fact(
        "lag_seconds",
        "newest request's age (s)",
        newest.map_or(Value::Null, |n| Value::Count((now - n).max(0) as u64)),
    );
    s
}

const COUNT_KEYS: &[&str] = &[
    "requests",
    "req/s",
    "failed",
    "failed%",
    "2xx",
    "3xx",
    "4xx",
    "5xx",
    "other",
    "queued",
    "top_state",
];

fn count_columns(name: &'static str) -> Vec<Column> {
    let mut c = columns(&[name]);
    c.extend(columns(COUNT_KEYS));
    c[2].key = "requests_per_second";
    c[4].key = "failed_share";
    c
}

fn count_row(name: String, f: &Flow, seconds: Option<u32>) -> Vec<Value> {
    let mut row = vec![
        Value::Text(name),
        Value::count(f.requests),
        rate(f.requests, seconds),
        Value::count(f.failed),
        Value::share(f.failed, f.requests),
    ];
    let c = f.classes;
    // 1xx (protocol switches) goes with "other", as in the report.
    row.extend([c[1], c[2], c[3], c[4], c[0] + c[5]].map(Value::count));
    row.push(Value::count(f.queued));
    row.push(match f.top_abnormal() {
        Some((state, n)) => Value::Text(format!("{} {n}", String::from_utf8_lossy(&state))),
        None => Value::Null,
    });
    row
}

fn timer_rows(t: &mut Table, name: &str, f: &Flow) {
    for (timer, sparse) in f.timers() {
        let h = sparse.to_histogram();
        let q = |p: f64| Value::millis(h.quantile(p));
        t.push(vec![
            Value::text(name),
            Value::text(timer),
            Value::count(h.count()),
            q(0.5),
            q(0.9),
            q(0.99),
            q(0.999),
            Value::millis(h.max()),
        ]);
    }
}

fn timer_table(name: &'static str) -> Table {
    let mut c = columns(&[name, "timer", "count", "p50", "p90", "p99", "p99.9", "max"]);
    c[6].key = "p99_9";
    Table::new("timers", c)
        .grouped()
        .titled("Timers (ms): Tt total, Tr server response, Tw queue, Tc connect")
}

fn servers(slot: &Slot, seconds: Option<u32>) -> Section {
    let mut s = Section::new("servers", "Servers");
    let mut counts = Table::new("requests", count_columns("server"));
    let mut timers = timer_table("server");
    for ((backend, server), f) in &slot.servers {
        let name = format!("{}/{}", lossy(backend), lossy(server));
        counts.push(count_row(name.clone(), f, seconds));
        timer_rows(&mut timers, &name, f);
    }
    s.tables.push(counts);
    s.tables.push(timers);
    s
}

fn groups<'a>(
    key: &'static str,
    title: &str,
    name: &'static str,
    flows: impl Iterator<Item = (String, &'a Flow)>,
    seconds: Option<u32>,
) -> Section {
    let mut s = Section::new(key, title);
    let mut counts = Table::new("requests", count_columns(name));
    for (n, f) in flows {
        counts.push(count_row(n, f, seconds));
    }
    s.tables.push(counts);
    s
}

fn terminations(slot: &Slot) -> Section {
    termination_section(slot.terminations.iter().map(|(k, n)| (*k, *n)).collect())
}

fn urls(slot: &Slot, options: ViewOptions) -> Section {
    let mut s = Section::new("urls", "Top URLs");
    let mut t = Table::new("urls", columns(&["url", "requests", "failed"]));
    for (url, c) in slot.urls.iter().take(options.top) {
        t.push(vec![
            Value::bytes(url),
            Value::count(c.requests),
            Value::count(c.failed),
        ]);
    }
    t.more = slot.urls.len().saturating_sub(options.top) as u64;
    s.tables.push(t);
    s
}

fn failed(slot: &Slot, options: ViewOptions) -> Section {
    let mut s = Section::new("failed", "Latest failed requests");
    let mut t = Table::new(
        "requests",
        columns(&[
            "time", "server", "status", "state", "tt", "client", "request",
        ]),
    );
    for r in slot.failed.iter().rev().take(options.top) {
        let mut server = r.backend.clone();
        server.push(b'/');
        server.extend_from_slice(&r.server);
        t.push(vec![
            r.time
                .map_or(Value::Null, |t| Value::time(t.local_ms, t.offset_minutes)),
            Value::bytes(&server),
            r.status.map_or(Value::Null, Value::Int),
            r.termination.map_or(Value::Null, |t| Value::bytes(&t)),
            Value::Millis(r.tt as f64),
            Value::bytes(&r.client),
            Value::bytes(&r.request[..r.request.len().min(120)]),
        ]);
    }
    s.tables.push(t);
    s
}

/// `10s`, `1m`, `90s`, `1h`: a window's name.
pub fn window_name(seconds: u32) -> String {
    match seconds {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The status classes' names, for labels.
pub fn class_name(class: usize) -> &'static str {
    STATUS_CLASSES[class.min(5)]
}

/// Per second of the last `seconds` up to `now`, per server: requests,
/// failed requests and the Tt p99 (ms): a chart's lines.
pub struct Series {
    /// The first second (UTC).
    pub start: i64,
    pub servers: Vec<(String, ServerSeries)>,
}

/// One server's points, one per second.
#[derive(Default)]
pub struct ServerSeries {
    pub requests: Vec<u64>,
    pub failed: Vec<u64>,
    pub tt_p99: Vec<Option<u64>>,
}

impl Series {
    pub fn of(store: &crate::Store, now: i64, seconds: u32) -> Series {
        let start = now - i64::from(seconds) + 1;
        let mut servers: std::collections::BTreeMap<(Vec<u8>, Vec<u8>), ServerSeries> =
            std::collections::BTreeMap::new();
        let len = seconds as usize;
        for (second, slot) in store.seconds() {
            if second < start || second > now {
                continue;
            }
            let at = (second - start) as usize;
            for (key, flow) in &slot.servers {
                let s = servers.entry(key.clone()).or_insert_with(|| ServerSeries {
                    requests: vec![0; len],
                    failed: vec![0; len],
                    tt_p99: vec![None; len],
                });
                s.requests[at] = flow.requests;
                s.failed[at] = flow.failed;
                s.tt_p99[at] = flow.tt.to_histogram().quantile(0.99);
            }
        }
        Series {
            start,
            servers: servers
                .into_iter()
                .map(|((b, s), series)| (format!("{}/{}", lossy(&b), lossy(&s)), series))
                .collect(),
        }
    }
}

impl serde::Serialize for Series {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct One<'a>(&'a ServerSeries);
        impl serde::Serialize for One<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry("requests", &self.0.requests)?;
                m.serialize_entry("failed", &self.0.failed)?;
                m.serialize_entry("tt_p99", &self.0.tt_p99)?;
                m.end()
            }
        }
        struct Servers<'a>(&'a [(String, ServerSeries)]);
        impl serde::Serialize for Servers<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|(name, series)| (name, One(series))))
            }
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("start", &self.start)?;
        m.serialize_entry("servers", &Servers(&self.servers))?;
        m.end()
    }
}

/// `{"schema_version": 1, "windows": {"10s": VIEW, …}, "total": VIEW}`,
/// and with `series` (for the web page) the per-second points of the last
/// that many seconds: one line of NDJSON, or one server-sent event.
pub fn json_summary(
    store: &crate::Store,
    windows: &[u32],
    now: i64,
    options: ViewOptions,
    series: Option<u32>,
) -> String {
    use serde::ser::{SerializeMap, Serializer};
    let newest = store.newest();
    let view =
        |slot: &Slot, seconds: Option<u32>| report(&Window { slot, seconds }, now, newest, options);
    let by_window: Vec<(String, Report)> = windows
        .iter()
        .map(|&w| (window_name(w), view(&store.window(now, w), Some(w))))
        .collect();
    let total = view(&store.since_start(), None);
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::new(&mut out);
    // Maps with string keys into a Vec: serialising cannot fail.
    let _ = (|| -> Result<(), serde_json::Error> {
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("schema_version", &SCHEMA_VERSION)?;
        m.serialize_entry(
            "windows",
            &by_window
                .iter()
                .map(|(k, v)| (k.as_str(), v))
                .collect::<Vec<_>>()
                .into_iter()
                .collect::<Ordered<'_>>(),
        )?;
        m.serialize_entry("total", &total)?;
        if let Some(seconds) = series {
            m.serialize_entry("series", &Series::of(store, now, seconds))?;
        }
        m.end()
    })();
    String::from_utf8(out).unwrap_or_default()
}

/// Windows in their order, as a JSON object.
struct Ordered<'a>(Vec<(&'a str, &'a Report)>);

impl<'a> FromIterator<(&'a str, &'a Report)> for Ordered<'a> {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a Report)>>(iter: I) -> Self {
        Ordered(iter.into_iter().collect())
    }
}

impl serde::Serialize for Ordered<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}
