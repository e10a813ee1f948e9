//! The report after a load test: sections built from [`TrafficStats`].

use std::cmp::Ordering;

use haplog_analyze::filter::Filter;
use haplog_analyze::histogram::Histogram;
use haplog_analyze::traffic::{SecondStats, Timing, TrafficStats};
use haplog_analyze::Group;
use haplog_format::time::LogTime;
use haplog_format::Kind;

use crate::model::{columns, Column, Report, Section, Series, Stamp, Table, Value};
use crate::termination;

/// The version of the JSON document's layout; raised on any change that
/// is not an addition.
pub const SCHEMA_VERSION: u32 = 2;

macro_rules! section_names {
    ($($variant:ident => $name:literal: $help:literal),* $(,)?) => {
        /// A section of the report.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
        pub enum SectionName {
            $($variant),*
        }

        impl SectionName {
            /// Every section, in report order.
            pub const ALL: &'static [SectionName] = &[$(SectionName::$variant),*];

            pub fn name(self) -> &'static str {
                match self {
                    $(SectionName::$variant => $name),*
                }
            }

            /// What the section shows, for `--help`.
            pub fn help(self) -> &'static str {
                match self {
                    $(SectionName::$variant => $help),*
                }
            }

            pub fn from_name(s: &str) -> Option<SectionName> {
                match s {
                    $($name => Some(SectionName::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

section_names! {
    Findings => "findings": "the answer first: failing and slow servers, requests with no server",
    Overview => "overview": "lines by kind, unparsed lines, time span, request rate",
    Status => "status": "requests by status code and class",
    Termination => "termination": "termination states, each explained",
    Frontends => "frontends": "per frontend: requests, outcomes, Tt/Tr/Tw/Tc percentiles",
    Backends => "backends": "per backend: the same, with queues and retries",
    Servers => "servers": "per server: the same, with each server's share of its backend",
    Urls => "urls": "per URL path or gRPC method (see --url-sort)",
    Clients => "clients": "top client addresses (X-Forwarded-For with --xff)",
    Slow => "slow": "the slowest requests",
    Queue => "queue": "queueing: how many waited, how long, the peak seconds",
    Timeline => "timeline": "requests, errors and times per second, minute or hour",
}

/// The width of the timeline's rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Interval {
    /// Seconds for a span up to 2 minutes, minutes up to 3 hours, else hours.
    #[default]
    Auto,
    Second,
    Minute,
    Hour,
}

impl Interval {
    pub fn parse(s: &str) -> Option<Interval> {
        Some(match s {
            "auto" => Interval::Auto,
            "second" | "s" | "1s" => Interval::Second,
            "minute" | "m" | "1m" => Interval::Minute,
            "hour" | "h" | "1h" => Interval::Hour,
            _ => return None,
        })
    }

    fn seconds(self, span_ms: i64) -> i64 {
        match self {
            Interval::Second => 1,
            Interval::Minute => 60,
            Interval::Hour => 3600,
            Interval::Auto if span_ms <= 120_000 => 1,
            Interval::Auto if span_ms <= 3 * 3_600_000 => 60,
            Interval::Auto => 3600,
        }
    }
}

/// The order of the URL table, named after halog's `-u*` options.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UrlSort {
    /// Most requests first (`-uc`).
    #[default]
    Requests,
    /// Most failed first (`-ue`).
    Failed,
    /// Largest total time first (`-ut`).
    TotalTime,
    /// Largest average total time first (`-ua`).
    AvgTime,
    /// Largest average server response time first (`-uao`, roughly).
    AvgResponse,
    /// Most bytes first (`-ubt`).
    Bytes,
    /// Largest average bytes first (`-uba`).
    AvgBytes,
    /// By URL (`-u`, but ascending).
    Url,
}

impl UrlSort {
    pub const NAMES: &'static [&'static str] = &[
        "requests",
        "failed",
        "time",
        "avg-time",
        "avg-response",
        "bytes",
        "avg-bytes",
        "url",
    ];

    pub fn parse(s: &str) -> Option<UrlSort> {
        Some(match s {
            "requests" | "count" | "c" => UrlSort::Requests,
            "failed" | "errors" | "e" => UrlSort::Failed,
            "time" | "t" => UrlSort::TotalTime,
            "avg-time" | "a" => UrlSort::AvgTime,
            "avg-response" | "ao" => UrlSort::AvgResponse,
            "bytes" | "bt" => UrlSort::Bytes,
            "avg-bytes" | "ba" => UrlSort::AvgBytes,
            "url" | "u" => UrlSort::Url,
            _ => return None,
        })
    }
}

/// What to show.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    pub sections: Vec<SectionName>,
    /// Rows of the ranked tables (URLs, clients, slow requests, peaks).
    pub top: usize,
    pub interval: Interval,
    pub url_sort: UrlSort,
    /// The filters in words, for the overview; empty when none is set.
    pub filters: Vec<String>,
    /// The data of charts too: each backend's and server's requests and
    /// total-time percentiles over time, and their latency distribution
    /// (needs [`haplog_analyze::Config::server_slices`]). An HTML page
    /// draws them; text has no use for them.
    pub charts: bool,
}

impl Default for ReportOptions {
    fn default() -> ReportOptions {
        ReportOptions {
            sections: SectionName::ALL.to_vec(),
            top: 10,
            interval: Interval::Auto,
            url_sort: UrlSort::Requests,
            filters: Vec::new(),
            charts: false,
        }
    }
}

/// The report of the sections asked for, in report order.
pub fn build(stats: &TrafficStats, options: &ReportOptions) -> Report {
    let mut names = options.sections.clone();
    names.sort();
    names.dedup();
    let overall = stats.overall();
    let sections = names
        .into_iter()
        .map(|name| match name {
            SectionName::Findings => crate::findings::section(stats),
            SectionName::Overview => overview(stats, &overall, options),
            SectionName::Status => status(stats),
            SectionName::Termination => terminations(stats),
            SectionName::Frontends => frontends(stats),
            SectionName::Backends => backends(stats, options),
            SectionName::Servers => servers(stats, options),
            SectionName::Urls => urls(stats, options),
            SectionName::Clients => clients(stats, options),
            SectionName::Slow => slow(stats, options),
            SectionName::Queue => queue(stats, &overall, options),
            SectionName::Timeline => timeline(stats, options),
        })
        .collect();
    Report {
        schema_version: SCHEMA_VERSION,
        sections,
    }
}

/// Sections of the text report's default summary, each shown in full by
/// `--section`.
pub const MORE_SECTIONS: &str =
    "frontends, backends, servers, urls, clients, slow, queue, timeline";

/// The text report's default: what fits a screen. The findings; the
/// overview's main figures; the status classes; the five most frequent
/// termination states; and one line per server (most failures first)
/// with its failures, total-time percentiles and top abnormal state.
/// The full report ([`build`]) is one flag away.
pub fn summary(stats: &TrafficStats, options: &ReportOptions) -> Report {
    const OVERVIEW: &[&str] = &[
        "lines",
        "unparsed_lines",
        "requests",
        "excluded_requests",
        "filters",
        "failed",
        "failed_share",
        "first",
        "last",
        "requests_per_second",
        "incomplete_requests",
        "undated_requests",
    ];
    let overall = stats.overall();
    let mut sections = vec![crate::findings::section(stats)];

    let full = overview(stats, &overall, options);
    let mut o = Section::new("overview", "Overview");
    for (key, label, value) in full.facts {
        let skip = key == "unparsed_lines" && value == Value::Count(0);
        if OVERVIEW.contains(&key) && !skip {
            o.fact(key, label, value);
        }
    }
    o.fact(
        "tt_p50",
        "total time p50",
        Value::millis(overall.tt.quantile(0.5)),
    );
    o.fact(
        "tt_p99",
        "total time p99",
        Value::millis(overall.tt.quantile(0.99)),
    );
    sections.push(o);

    let mut st = Section::new("status", "Status classes");
    st.tables.extend(
        status(stats)
            .tables
            .into_iter()
            .filter(|t| t.key == "classes")
            .map(|mut t| {
                t.title = None;
                t
            }),
    );
    sections.push(st);

    let mut term = terminations(stats);
    for t in &mut term.tables {
        t.more = t.rows.len().saturating_sub(5) as u64;
        t.rows.truncate(5);
    }
    sections.push(term);

    let mut servers = Section::new("servers", "Servers (most failures first)");
    let mut c = columns(&[
        "server",
        "requests",
        "failed",
        "failed%",
        "Tt p50",
        "Tt p99",
        "Tt max",
        "top state",
    ]);
    c[3].key = "failed_share";
    c[7].key = "state";
    let mut t = Table::new("summary", c);
    let mut rows: Vec<(String, &Group)> = stats
        .servers
        .iter()
        .flat_map(|(backend, servers)| {
            servers
                .iter()
                .map(move |(server, g)| (format!("{}/{}", lossy(backend), lossy(server)), g))
        })
        .collect();
    sort_top(&mut rows, options.top, |a, b| {
        b.1.failed
            .cmp(&a.1.failed)
            .then(b.1.requests.cmp(&a.1.requests))
            .then(a.0.cmp(&b.0))
    });
    t.more = rows.len().saturating_sub(options.top) as u64;
    for (name, g) in rows.iter().take(options.top) {
        t.push(vec![
            Value::text(name.as_str()),
            Value::count(g.requests),
            Value::count(g.failed),
            Value::share(g.failed, g.requests),
            Value::millis(g.tt.quantile(0.5)),
            Value::millis(g.tt.quantile(0.99)),
            Value::millis(g.tt.max()),
            g.top_abnormal().map_or(Value::text("--"), |(state, n)| {
                Value::text(format!("{} {n}", String::from_utf8_lossy(&state)))
            }),
        ]);
    }
    servers.tables.push(t);
    servers.notes.push(format!(
        "A summary: --full shows every table, --section NAME one section in full ({MORE_SECTIONS})."
    ));
    sections.push(servers);
    Report {
        schema_version: SCHEMA_VERSION,
        sections,
    }
}

/// A date of the log's clock: `2024-05-01 12:00:00.250`, and its zone
/// when the log gave one.
pub fn format_time(t: &LogTime) -> String {
    stamp(t).human()
}

fn stamp(t: &LogTime) -> Stamp {
    Stamp {
        local_ms: t.local_ms,
        offset_minutes: t.offset_minutes,
        millis: true,
    }
}

fn time_value(t: Option<&LogTime>) -> Value {
    t.map_or(Value::Null, |t| Value::Time(stamp(t)))
}

/// Milliseconds between the first and the last request.
fn span_ms(stats: &TrafficStats) -> Option<i64> {
    match (stats.first, stats.last) {
        (Some(a), Some(b)) => Some(
            b.local_ms - a.local_ms + {
                // Lines with zones: the instants' difference.
                let (oa, ob) = (a.offset_minutes.unwrap_or(0), b.offset_minutes.unwrap_or(0));
                i64::from(oa - ob) * 60_000
            },
        ),
        _ => None,
    }
}

fn overview(stats: &TrafficStats, overall: &Group, options: &ReportOptions) -> Section {
    let mut s = Section::new("overview", "Overview");
    s.fact("lines", "lines read", Value::count(stats.lines));
    s.fact(
        "unparsed_lines",
        "unparsed lines",
        Value::count(stats.kinds[Kind::Unparsed.index()]),
    );
    s.fact(
        "truncated_lines",
        "truncated lines",
        Value::count(stats.truncated),
    );
    s.fact("requests", "requests", Value::count(stats.requests));
    if !options.filters.is_empty() {
        s.fact(
            "excluded_requests",
            "excluded by filters",
            Value::count(stats.excluded),
        );
        s.fact("filters", "filters", Value::text(options.filters.join(" ")));
    }
    s.fact("failed", "failed requests", Value::count(overall.failed));
    s.fact(
        "failed_share",
        "failed share",
        Value::share(overall.failed, stats.requests),
    );
    s.fact("first", "first request", time_value(stats.first.as_ref()));
    s.fact("last", "last request", time_value(stats.last.as_ref()));
    let span = span_ms(stats);
    s.fact(
        "span_seconds",
        "time span (s)",
        span.map_or(Value::Null, |ms| Value::Seconds(ms as f64 / 1000.0)),
    );
    s.fact(
        "requests_per_second",
        "requests per second",
        match span {
            Some(ms) if ms > 0 => Value::Rate(stats.requests as f64 * 1000.0 / ms as f64),
            _ => Value::Null,
        },
    );
    s.fact(
        "bytes",
        "bytes sent to clients",
        Value::Bytes(overall.bytes),
    );
    s.fact("tls_requests", "requests over TLS", Value::count(stats.tls));
    if overall.incomplete > 0 {
        // option logasap: the line was written before the request ended,
        // so its Tt is not the request's; see docs/report.md.
        s.fact(
            "incomplete_requests",
            "incomplete (logasap)",
            Value::count(overall.incomplete),
        );
    }
    if stats.undated > 0 {
        s.fact(
            "undated_requests",
            "requests without a date",
            Value::count(stats.undated),
        );
    }

    let mut timers = Table::new("timers", timer_columns("requests"))
        .grouped()
        .titled("Timers (ms): Tt total, Tr server response, Tw queue, Tc connect");
    timer_rows(&mut timers, "all", overall);
    s.tables.push(timers);
    let mut kinds =
        Table::new("kinds", columns(&["kind", "lines", "share"])).titled("Lines by kind");
    for kind in Kind::ALL {
        let n = stats.kinds[kind.index()];
        if n > 0 {
            kinds.push(vec![
                Value::text(kind.name()),
                Value::count(n),
                Value::share(n, stats.lines),
            ]);
        }
    }
    s.tables.push(kinds);
    let mut formats =
        Table::new("formats", columns(&["format", "lines"])).titled("Traffic lines by format");
    for (name, n) in &stats.formats {
        formats.push(vec![Value::text(name.as_str()), Value::count(*n)]);
    }
    s.tables.push(formats);
    if !stats.unparsed.is_empty() {
        let mut unparsed =
            Table::new("unparsed_examples", columns(&["line"])).titled("First unparsed lines");
        for (_, line) in &stats.unparsed {
            let shown = &line[..line.len().min(200)];
            let mut text = String::from_utf8_lossy(shown).into_owned();
            if line.len() > 200 {
                text.push('…');
            }
            unparsed.push(vec![Value::Text(text)]);
        }
        s.tables.push(unparsed);
    }
    s
}

fn reason(code: i64) -> &'static str {
    match code {
        -1 => "no response (aborted before one)",
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        421 => "Misdirected Request",
        425 => "Too Early",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        499 => "Client Closed Request",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

fn status(stats: &TrafficStats) -> Section {
    let mut s = Section::new("status", "Status codes");
    let codes = stats.status_counts();
    let mut t = Table::new(
        "codes",
        columns(&["status", "requests", "share", "meaning"]),
    );
    for (code, n) in &codes {
        t.push(vec![
            Value::Int(*code),
            Value::count(*n),
            Value::share(*n, stats.requests),
            Value::text(reason(*code)),
        ]);
    }
    if stats.no_status > 0 {
        t.push(vec![
            Value::Null,
            Value::count(stats.no_status),
            Value::share(stats.no_status, stats.requests),
            Value::text("no status (TCP connections)"),
        ]);
    }
    s.tables.push(t);
    let mut classes =
        Table::new("classes", columns(&["class", "requests", "share"])).titled("By class");
    let mut counts = [0u64; 6];
    for (code, n) in &codes {
        let i = match code {
            100..=599 => (code / 100 - 1) as usize,
            _ => 5,
        };
        counts[i] += n;
    }
    counts[5] += stats.no_status;
    for (i, name) in ["1xx", "2xx", "3xx", "4xx", "5xx", "other"]
        .iter()
        .enumerate()
    {
        if counts[i] > 0 {
            classes.push(vec![
                Value::text(*name),
                Value::count(counts[i]),
                Value::share(counts[i], stats.requests),
            ]);
        }
    }
    s.tables.push(classes);
    if stats.grpc.iter().sum::<u64>() + stats.grpc_in_trailers > 0 {
        s.tables.push(grpc_table(stats));
    }
    s
}

fn terminations(stats: &TrafficStats) -> Section {
    termination_section(stats.termination_counts())
}

/// The termination states section of these counts, each state explained.
pub fn termination_section(mut states: Vec<([u8; 2], u64)>) -> Section {
    let mut s = Section::new("termination", "Termination states");
    // Most frequent first; equal counts in byte order.
    states.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let total: u64 = states.iter().map(|s| s.1).sum();
    let mut t = Table::new(
        "states",
        columns(&["state", "requests", "share", "meaning"]),
    );
    for (state, n) in states {
        t.push(vec![
            Value::bytes(&state),
            Value::count(n),
            Value::share(n, total),
            Value::Text(termination::explain(state)),
        ]);
    }
    s.tables.push(t);
    s
}

const COUNT_COLUMNS: &[&str] = &[
    "requests", "share", "2xx", "3xx", "4xx", "5xx", "other", "failed", "failed%",
];

fn count_columns(name: &'static str) -> Vec<Column> {
    let mut c = columns(&[name]);
    c.extend(columns(COUNT_COLUMNS));
    c[COUNT_COLUMNS.len()].key = "failed_share";
    c
}

fn count_row(name: Value, g: &Group, whole: u64) -> Vec<Value> {
    let mut row = vec![
        name,
        Value::count(g.requests),
        Value::share(g.requests, whole),
    ];
    let c = &g.status_classes;
    // 1xx (rare: protocol switches) is counted with "other".
    row.extend([c[1], c[2], c[3], c[4], c[0] + c[5]].map(Value::count));
    row.push(Value::count(g.failed));
    row.push(Value::share(g.failed, g.requests));
    row
}

const TIMER_COLUMNS: &[&str] = &[
    "timer", "count", "p50", "p90", "p99", "p99.9", "max", "mean",
];

fn timer_columns(name: &'static str) -> Vec<Column> {
    let mut c = columns(&[name]);
    c.extend(columns(TIMER_COLUMNS));
    c[6].key = "p99_9";
    c
}

fn timer_rows(table: &mut Table, name: &str, g: &Group) {
    for (timer, h) in [("Tt", &g.tt), ("Tr", &g.tr), ("Tw", &g.tw), ("Tc", &g.tc)] {
        let q = |p: f64| Value::millis(h.quantile(p));
        // Every row names its group; the text view shows it once.
        table.push(vec![
            Value::text(name),
            Value::text(timer),
            Value::count(h.count()),
            q(0.5),
            q(0.9),
            q(0.99),
            q(0.999),
            Value::millis(h.max()),
            h.mean().map_or(Value::Null, Value::Millis),
        ]);
    }
}

fn group_tables(s: &mut Section, name: &'static str, groups: &[(String, &Group)], whole: u64) {
    let mut counts = Table::new("requests", count_columns(name));
    for (n, g) in groups {
        counts.push(count_row(Value::text(n.as_str()), g, whole));
    }
    s.tables.push(counts);
    let mut timers = Table::new("timers", timer_columns(name))
        .grouped()
        .titled("Timers (ms): Tt total, Tr server response, Tw queue, Tc connect");
    for (n, g) in groups {
        timer_rows(&mut timers, n, g);
    }
    s.tables.push(timers);
}

fn queue_table(s: &mut Section, name: &'static str, groups: &[(String, &Group)]) {
    let mut c = columns(&[name]);
    c.extend(columns(&[
        "queued",
        "queued%",
        "max_srv_queue",
        "max_backend_queue",
        "retries",
        "redispatched",
    ]));
    c[2].key = "queued_share";
    let mut t = Table::new("queues", c).titled("Queues and retries");
    for (n, g) in groups {
        t.push(vec![
            Value::text(n.as_str()),
            Value::count(g.queued),
            Value::share(g.queued, g.requests),
            Value::count(g.max_srv_queue),
            Value::count(g.max_backend_queue),
            Value::count(g.retries),
            Value::count(g.redispatched),
        ]);
    }
    s.tables.push(t);
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn frontends(stats: &TrafficStats) -> Section {
    let mut s = Section::new("frontends", "Frontends");
    let mut groups: Vec<(String, &Group)> =
        stats.frontends.iter().map(|(k, g)| (lossy(k), g)).collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    group_tables(&mut s, "frontend", &groups, stats.requests);
    s
}

fn backends(stats: &TrafficStats, options: &ReportOptions) -> Section {
    let mut s = Section::new("backends", "Backends");
    let totals = stats.backend_totals();
    let mut groups: Vec<(String, &Group)> = totals.iter().map(|(k, g)| (lossy(k), g)).collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    group_tables(&mut s, "backend", &groups, stats.requests);
    queue_table(&mut s, "backend", &groups);
    if options.charts {
        chart_tables(&mut s, "backend", &groups);
    }
    s
}

fn servers(stats: &TrafficStats, options: &ReportOptions) -> Section {
    let mut s = Section::new("servers", "Servers");
    // halog -srv's order: `backend/server` by bytes.
    let mut keyed: Vec<(Vec<u8>, &Group, u64)> = Vec::new();
    for (backend, servers) in stats.servers.iter() {
        let backend_total: u64 = servers.values().map(|g| g.requests).sum();
        for (server, g) in servers.iter() {
            let mut key = backend.to_vec();
            key.push(b'/');
            key.extend_from_slice(server);
            keyed.push((key, g, backend_total));
        }
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let groups: Vec<(String, &Group)> = keyed.iter().map(|(k, g, _)| (lossy(k), *g)).collect();
    let mut counts = Table::new("requests", {
        let mut c = count_columns("server");
        c.insert(
            3,
            Column {
                key: "backend_share",
                title: "of backend",
            },
        );
        c
    });
    for (name, g, backend_total) in &keyed {
        let mut row = count_row(Value::bytes(name), g, stats.requests);
        row.insert(3, Value::share(g.requests, *backend_total));
        counts.push(row);
    }
    s.tables.push(counts);
    let mut timers = Table::new("timers", timer_columns("server"))
        .grouped()
        .titled("Timers (ms): Tt total, Tr server response, Tw queue, Tc connect");
    for (n, g) in &groups {
        timer_rows(&mut timers, n, g);
    }
    s.tables.push(timers);
    queue_table(&mut s, "server", &groups);
    s.tables.push(abnormal_table(&groups));
    if options.charts {
        chart_tables(&mut s, "server", &groups);
    }
    s
}

/// Each group's abnormal termination states, most frequent first, with
/// their share of the group's requests and their meaning.
fn abnormal_table(groups: &[(String, &Group)]) -> Table {
    let mut c = columns(&["server", "state", "requests", "of server", "meaning"]);
    c[3].key = "server_share";
    let mut t = Table::new("states", c)
        .grouped()
        .titled("Abnormal termination states by server");
    for (name, g) in groups {
        let mut states = g.abnormal.clone();
        states.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (state, n) in states {
            t.push(vec![
                Value::text(name.as_str()),
                Value::bytes(&state),
                Value::count(n),
                Value::share(n, g.requests),
                Value::Text(termination::explain(state)),
            ]);
        }
    }
    t
}

/// Quantiles of a latency distribution chart (0 is the minimum, 1 the
/// maximum).
const DISTRIBUTION: &[f64] = &[
    0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999,
    0.9999, 1.0,
];

/// A chart's data, as long tables (one row per group and point):
/// `over_time`, each group's requests, failures and total-time
/// percentiles per time slice (the same slices for every group), and
/// `distribution`, its total time at each of [`DISTRIBUTION`]'s quantiles.
fn chart_tables(s: &mut Section, name: &'static str, groups: &[(String, &Group)]) {
    let width = groups
        .iter()
        .map(|(_, g)| g.slices.width())
        .max()
        .unwrap_or(1);
    let mut c = columns(&[
        name, "start", "requests", "failed", "tt_p50", "tt_p90", "tt_p99", "tt_max",
    ]);
    c[1].title = "start";
    let mut over_time = Table::new("over_time", c).grouped().titled(format!(
        "Over time, per {width} s: requests, failed, Tt (ms)"
    ));
    for (n, g) in groups {
        for (start, slice) in g.slices.widened(width).slices() {
            let q = |p: f64| Value::millis(slice.tt_quantile(p));
            over_time.push(vec![
                Value::text(n.as_str()),
                Value::second(*start),
                Value::count(slice.requests),
                Value::count(slice.failed),
                q(0.5),
                q(0.9),
                q(0.99),
                q(1.0),
            ]);
        }
    }
    s.tables.push(over_time);
    let mut distribution = Table::new("distribution", columns(&[name, "percentile", "tt"]))
        .grouped()
        .titled("Tt distribution (ms)");
    for (n, g) in groups {
        if g.tt.count() == 0 {
            continue;
        }
        for &q in DISTRIBUTION {
            distribution.push(vec![
                Value::text(n.as_str()),
                Value::Number(q * 100.0),
                Value::millis(g.tt.quantile(q)),
            ]);
        }
    }
    s.tables.push(distribution);
}

fn mean(t: &Timing) -> Value {
    t.mean().map_or(Value::Null, Value::Millis)
}

fn avg(sum: u64, n: u64) -> Value {
    if n == 0 {
        Value::Null
    } else {
        Value::Number(sum as f64 / n as f64)
    }
}

fn urls(stats: &TrafficStats, options: &ReportOptions) -> Section {
    let mut s = Section::new("urls", "URLs");
    let mut rows: Vec<(&[u8], &haplog_analyze::traffic::UrlStats)> = stats.urls.iter().collect();
    let ratio = |sum: u64, n: u64| if n == 0 { 0.0 } else { sum as f64 / n as f64 };
    let mean_or_zero = |t: &Timing| t.mean().unwrap_or(0.0);
    let sort = options.url_sort;
    sort_top(&mut rows, options.top, |a, b| {
        let (x, y) = (a.1, b.1);
        let order = match sort {
            UrlSort::Requests => y.requests.cmp(&x.requests),
            UrlSort::Failed => y.failed.cmp(&x.failed),
            UrlSort::TotalTime => y.tt.sum.cmp(&x.tt.sum),
            UrlSort::AvgTime => mean_or_zero(&y.tt).total_cmp(&mean_or_zero(&x.tt)),
            UrlSort::AvgResponse => mean_or_zero(&y.tr).total_cmp(&mean_or_zero(&x.tr)),
            UrlSort::Bytes => y.bytes.cmp(&x.bytes),
            UrlSort::AvgBytes => ratio(y.bytes, y.requests).total_cmp(&ratio(x.bytes, x.requests)),
            UrlSort::Url => std::cmp::Ordering::Equal,
        };
        order.then(a.0.cmp(b.0))
    });
    let mut c = columns(&[
        "url",
        "requests",
        "failed",
        "5xx",
        "avg_tt",
        "max_tt",
        "avg_tr",
        "bytes",
        "avg_bytes",
    ]);
    c[3].key = "status_5xx";
    let mut t = Table::new("urls", c);
    for (url, u) in rows.iter().take(options.top) {
        t.push(vec![
            Value::bytes(url),
            Value::count(u.requests),
            Value::count(u.failed),
            Value::count(u.status_5xx),
            mean(&u.tt),
            Value::millis(u.tt.largest()),
            mean(&u.tr),
            Value::Bytes(u.bytes),
            avg(u.bytes, u.requests),
        ]);
    }
    t.more = rows.len().saturating_sub(options.top) as u64;
    s.tables.push(t);
    let mut methods: Vec<(&[u8], &u64)> = stats.methods.iter().collect();
    methods.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut m = Table::new("methods", columns(&["method", "requests", "share"])).titled("Methods");
    for (method, n) in methods {
        m.push(vec![
            Value::bytes(method),
            Value::count(*n),
            Value::share(*n, stats.requests),
        ]);
    }
    s.tables.push(m);
    s.notes.push(format!(
        "{} distinct paths; times in ms; sorted by {}.",
        rows.len(),
        UrlSort::NAMES[sort as usize]
    ));
    s
}

/// Puts the first `top` rows by `order` first, in order; the rest stay
/// unordered. Tens of thousands of URLs or clients need no full sort for
/// a table of ten. `order` must be total (ties broken by the key), so the
/// rows shown are those a full sort would show.
fn sort_top<T>(rows: &mut [T], top: usize, mut order: impl FnMut(&T, &T) -> Ordering) {
    if top < rows.len() {
        rows.select_nth_unstable_by(top, &mut order);
    }
    let shown = top.min(rows.len());
    rows[..shown].sort_by(order);
}

fn clients(stats: &TrafficStats, options: &ReportOptions) -> Section {
    let mut s = Section::new("clients", "Clients");
    let mut rows: Vec<_> = stats.clients.iter().collect();
    sort_top(&mut rows, options.top, |a, b| {
        b.1.requests.cmp(&a.1.requests).then(a.0.cmp(b.0))
    });
    let mut t = Table::new(
        "clients",
        columns(&["client", "requests", "share", "failed", "bytes"]),
    );
    for (client, c) in rows.iter().take(options.top) {
        t.push(vec![
            client_value(client),
            Value::count(c.requests),
            Value::share(c.requests, stats.requests),
            Value::count(c.failed),
            Value::Bytes(c.bytes),
        ]);
    }
    t.more = rows.len().saturating_sub(options.top) as u64;
    s.tables.push(t);
    s.notes.push(format!("{} distinct clients.", rows.len()));
    s
}

/// grpc-go's names of the gRPC codes, by number.
const GRPC_NAMES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

/// Requests by the gRPC status HAProxy captured from response headers.
fn grpc_table(stats: &TrafficStats) -> Table {
    let mut t = Table::new(
        "grpc",
        columns(&["grpc_status", "name", "requests", "share", "failure"]),
    )
    .titled("gRPC status (captured response header)");
    for (code, &n) in stats.grpc.iter().enumerate() {
        if n > 0 {
            t.push(vec![
                Value::Int(code as i64),
                Value::text(GRPC_NAMES[code]),
                Value::count(n),
                Value::share(n, stats.requests),
                Value::text(if haplog_analyze::request::grpc_failure(code as u8) {
                    "yes"
                } else {
                    "no"
                }),
            ]);
        }
    }
    if stats.grpc_in_trailers > 0 {
        t.push(vec![
            Value::Null,
            Value::text("in trailers (OK, or an error after data)"),
            Value::count(stats.grpc_in_trailers),
            Value::share(stats.grpc_in_trailers, stats.requests),
            Value::Null,
        ]);
    }
    t
}

/// When the filters kept nothing of a log that had requests: one line
/// that says so, with the dates of the requests there were and, for a
/// filter on names, the names there are (most requests first). `None`
/// when something was kept, or nothing was there to keep.
pub fn nothing_kept(stats: &TrafficStats, filter: &Filter, words: &[String]) -> Option<String> {
    if stats.requests > 0 || stats.excluded == 0 {
        return None;
    }
    let mut line = format!(
        "no request passed the filters ({}): the input has {} request{}",
        words.join(" "),
        stats.excluded,
        if stats.excluded == 1 { "" } else { "s" }
    );
    if let (Some(first), Some(last)) = (&stats.excluded_first, &stats.excluded_last) {
        line.push_str(&format!(
            " from {} to {}",
            format_time(first),
            format_time(last)
        ));
    }
    let names = &stats.excluded_names;
    let lists = [
        (!filter.frontend.is_empty(), "frontends", &names.frontends),
        (!filter.backend.is_empty(), "backends", &names.backends),
        (!filter.server.is_empty(), "servers", &names.servers),
    ];
    for (asked, what, keyed) in lists {
        if !asked {
            continue;
        }
        let mut all: Vec<(&[u8], u64)> = keyed.iter().map(|(k, n)| (k, n.0)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let shown: Vec<String> = all
            .iter()
            .take(NAMES_SHOWN)
            .map(|(k, n)| format!("{} ({n})", String::from_utf8_lossy(k)))
            .collect();
        line.push_str(&format!("; its {what}: {}", shown.join(", ")));
        if all.len() > NAMES_SHOWN {
            line.push_str(&format!(" and {} more", all.len() - NAMES_SHOWN));
        }
    }
    Some(line)
}

/// Names listed when a name filter kept nothing.
const NAMES_SHOWN: usize = 12;

/// A client address; HAProxy's `-` (no address known) as unknown, not as
/// an address.
fn client_value(client: &[u8]) -> Value {
    if client.is_empty() {
        Value::Unknown
    } else {
        Value::bytes(client)
    }
}

fn slow(stats: &TrafficStats, options: &ReportOptions) -> Section {
    let mut s = Section::new("slow", "Slowest requests");
    let c = columns(&[
        "time", "tt", "tw", "tc", "tr", "status", "state", "frontend", "server", "client",
        "request",
    ]);
    let mut t = Table::new("requests", c);
    let ms = |v: Option<i64>| v.map_or(Value::Null, |ms| Value::Millis(ms as f64));
    for r in stats.slowest.items().iter().take(options.top) {
        let mut server = r.backend.clone();
        server.push(b'/');
        server.extend_from_slice(&r.server);
        t.push(vec![
            time_value(r.time.as_ref()),
            Value::Millis(r.tt as f64),
            ms(r.tw),
            ms(r.tc),
            ms(r.tr),
            r.status.map_or(Value::Null, Value::Int),
            r.termination.map_or(Value::Null, |t| Value::bytes(&t)),
            Value::bytes(&r.frontend),
            Value::bytes(&server),
            client_value(&r.client),
            Value::bytes(&r.request[..r.request.len().min(120)]),
        ]);
    }
    s.tables.push(t);
    s.notes
        .push("Times in ms; Tt is the total time (Ta for httplog lines).".to_string());
    s
}

fn queue(stats: &TrafficStats, overall: &Group, options: &ReportOptions) -> Section {
    let mut s = Section::new("queue", "Queueing");
    s.fact(
        "queued",
        "requests that waited (Tw > 0)",
        Value::count(overall.queued),
    );
    s.fact(
        "queued_share",
        "share of requests",
        Value::share(overall.queued, overall.requests),
    );
    let tw_positive: &Histogram = &overall.tw;
    s.fact(
        "tw_p99",
        "Tw p99 (ms)",
        Value::millis(tw_positive.quantile(0.99)),
    );
    s.fact("tw_max", "Tw max (ms)", Value::millis(tw_positive.max()));
    s.fact(
        "max_backend_queue",
        "largest backend queue",
        Value::count(overall.max_backend_queue),
    );
    s.fact(
        "max_srv_queue",
        "largest server queue",
        Value::count(overall.max_srv_queue),
    );
    s.fact("retries", "retries", Value::count(overall.retries));
    s.fact(
        "redispatched",
        "redispatched requests",
        Value::count(overall.redispatched),
    );
    let mut peaks: Vec<(&i64, &SecondStats)> = stats
        .seconds
        .iter()
        .filter(|(_, v)| v.max_backend_queue > 0 || v.max_srv_queue > 0 || v.queued > 0)
        .collect();
    s.fact(
        "seconds_with_queue",
        "seconds with a queue",
        Value::count(peaks.len() as u64),
    );
    sort_top(&mut peaks, options.top, |a, b| {
        let key = |v: &SecondStats| v.max_backend_queue + v.max_srv_queue;
        key(b.1)
            .cmp(&key(a.1))
            .then(b.1.queued.cmp(&a.1.queued))
            .then(a.0.cmp(b.0))
    });
    let mut t = Table::new(
        "peaks",
        columns(&["second", "backend_queue", "srv_queue", "queued", "requests"]),
    )
    .titled("Peak seconds (the largest queues logged)");
    for (second, v) in peaks.iter().take(options.top) {
        t.push(vec![
            Value::second(**second),
            Value::count(v.max_backend_queue),
            Value::count(v.max_srv_queue),
            Value::count(v.queued),
            Value::count(v.requests),
        ]);
    }
    t.more = peaks.len().saturating_sub(options.top) as u64;
    s.tables.push(t);
    s
}

/// A chart's interval: the roundest width that draws the span in at most
/// 300 points.
fn chart_width(span_ms: i64) -> i64 {
    const WIDTHS: &[i64] = &[
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400,
    ];
    let span = span_ms / 1000 + 1;
    WIDTHS
        .iter()
        .copied()
        .find(|w| span / w <= 300)
        .unwrap_or(604_800)
}

fn timeline(stats: &TrafficStats, options: &ReportOptions) -> Section {
    let span = span_ms(stats).unwrap_or(0);
    let width = if options.charts && options.interval == Interval::Auto {
        chart_width(span)
    } else {
        options.interval.seconds(span)
    };
    let unit = match width {
        1 => "second".to_string(),
        60 => "minute".to_string(),
        3600 => "hour".to_string(),
        w if w % 60 == 0 => format!("{} minutes", w / 60),
        w => format!("{w} seconds"),
    };
    let mut s = Section::new("timeline", format!("Timeline (per {unit})"));
    s.fact("interval_seconds", "interval (s)", Value::Int(width));
    let mut buckets: Vec<(i64, SecondStats)> = Vec::new();
    let mut seconds: Vec<(&i64, &SecondStats)> = stats.seconds.iter().collect();
    seconds.sort_by_key(|(k, _)| **k);
    for (second, v) in seconds {
        let start = second.div_euclid(width) * width;
        match buckets.last_mut() {
            Some((s, b)) if *s == start => b.merge(v),
            _ => buckets.push((start, *v)),
        }
    }
    let mut c = columns(&[
        "requests",
        "req/s",
        "failed",
        "4xx",
        "5xx",
        "avg_tt",
        "max_tt",
        "queued",
        "max_queue",
        "bytes",
    ]);
    c[1].key = "requests_per_second";
    c[3].key = "status_4xx";
    c[4].key = "status_5xx";
    let mut series = Series::new("rows", width, c);
    for (start, b) in &buckets {
        series.push(
            *start,
            vec![
                Value::count(b.requests),
                Value::Rate(b.requests as f64 / width as f64),
                Value::count(b.failed),
                Value::count(b.status_4xx),
                Value::count(b.status_5xx),
                mean(&b.tt),
                Value::millis(b.tt.largest()),
                Value::count(b.queued),
                Value::count(b.max_backend_queue + b.max_srv_queue),
                Value::Bytes(b.bytes),
            ],
        );
    }
    s.series.push(series);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_names_round_trip() {
        for s in SectionName::ALL {
            assert_eq!(SectionName::from_name(s.name()), Some(*s));
        }
        for (i, n) in UrlSort::NAMES.iter().enumerate() {
            assert_eq!(UrlSort::parse(n).map(|s| s as usize), Some(i));
        }
    }
}
