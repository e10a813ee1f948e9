//! The report of a run: ghz's numbers computed ghz's way (its summary,
//! JSON and CSV layouts), plus what ghz leaves out: latency from the
//! intended start, time to the first streamed message, messages and bytes
//! per stream, and the generator's own dispatch lag.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tonic::Code;

use crate::run::{CallRecord, EndReason, RunOutcome};
pub use crate::stats::{format_duration, Spread, MAX_DETAILS};
use crate::stats::{go_seconds, tally};
use crate::status::code_name;
use crate::template::rfc3339;

/// The percentiles of ghz's latency distribution.
const GHZ_PERCENTILES: [u32; 7] = [10, 25, 50, 75, 90, 95, 99];

/// The least dispatch lag p99 that can say the generator, not the server,
/// set the pace (the schedule's own interval decides above it).
pub const LAG_FLOOR_NS: u64 = 1_000_000;

/// The run's settings as ghz echoes them in the JSON report's `options`.
#[derive(Clone, Debug, Default)]
pub struct Echo {
    pub call: String,
    pub host: String,
    pub proto: Option<String>,
    pub protoset: Option<String>,
    pub import_paths: Vec<String>,
    pub enable_compression: bool,
    pub cacert: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    pub cname: Option<String>,
    pub skip_tls: bool,
    pub insecure: bool,
    pub authority: Option<String>,
    pub rps: u64,
    pub load_schedule: String,
    pub load_start: u64,
    pub load_end: u64,
    pub load_step: i64,
    pub load_step_duration: Duration,
    pub load_max_duration: Duration,
    pub concurrency: u64,
    pub concurrency_schedule: String,
    pub concurrency_start: u64,
    pub concurrency_end: u64,
    pub concurrency_step: i64,
    pub concurrency_step_duration: Duration,
    pub concurrency_max_duration: Duration,
    pub total: u64,
    pub async_mode: bool,
    pub connections: u64,
    pub duration: Duration,
    pub timeout: Duration,
    pub dial_timeout: Duration,
    pub keepalive: Duration,
    pub data: Option<serde_json::Value>,
    pub binary: bool,
    pub metadata: Option<serde_json::Value>,
    pub cpus: u64,
    pub name: Option<String>,
    pub skip_first: u64,
    pub count_errors: bool,
}

/// How the report treats the results (`--skipFirst`, `--count-errors`).
#[derive(Clone, Debug, Default)]
pub struct ReportSettings {
    pub name: Option<String>,
    pub skip_first: usize,
    pub count_errors: bool,
    pub tags: Vec<(String, String)>,
    pub echo: Echo,
}

/// One histogram bucket; `mark` in seconds, as in ghz's JSON.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    pub mark: f64,
    pub count: u64,
    pub frequency: f64,
}

/// What haplog adds to ghz's report.
#[derive(Clone, Debug, Default)]
pub struct Extra {
    /// Latency from each call's intended start (open-loop view).
    pub from_intended: Spread,
    /// ghz's latency (from the actual send), with p99.9.
    pub latency: Spread,
    /// From the send to the first response message.
    pub time_to_first_message: Spread,
    /// From the intended start to the actual send.
    pub dispatch_lag: Spread,
    pub messages_sent: u64,
    pub messages_received: u64,
    pub bytes_received: u64,
    pub peak_in_flight: u64,
    /// Calls started per second, from the first send to the last.
    pub send_rate: f64,
    /// The generator fell behind its schedule: dispatch lag p99 above the
    /// mean interval between intended starts (and above 1 ms).
    pub generator_bound: bool,
    pub paced: bool,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub date: SystemTime,
    pub name: Option<String>,
    pub end_reason: EndReason,
    pub echo: Echo,
    pub count: u64,
    pub total: Duration,
    pub average_ns: u64,
    pub fastest_ns: u64,
    pub slowest_ns: u64,
    pub rps: f64,
    /// By count, most first; ties by text.
    pub error_distribution: Vec<(String, u64)>,
    pub status_distribution: Vec<(String, u64)>,
    /// `None` when no call counts (ghz prints `null`).
    pub latency_distribution: Option<Vec<(u32, u64)>>,
    pub histogram: Option<Vec<Bucket>>,
    /// The first [`MAX_DETAILS`] results after `--skipFirst`, in completion order.
    pub records: Vec<CallRecord>,
    pub started: SystemTime,
    pub tags: Vec<(String, String)>,
    pub extra: Extra,
    /// What the proxy's log says about the run (`--haproxy-log`).
    pub proxy: Option<crate::proxy::ProxySide>,
    /// The `--slo` objectives, checked.
    pub slo: Option<crate::stats::Verdict>,
}

/// Go's `time.Duration(seconds * float64(time.Second))`.
fn go_duration(seconds: f64) -> u64 {
    (seconds * 1e9) as u64
}

impl Report {
    /// Calls that did not end OK.
    pub fn failed_calls(&self) -> u64 {
        self.status_distribution
            .iter()
            .filter(|(code, _)| code != "OK")
            .map(|(_, n)| n)
            .sum()
    }

    /// The sum of ghz's error distribution (its `errors` figure).
    pub fn error_count(&self) -> u64 {
        self.error_distribution.iter().map(|(_, n)| n).sum()
    }

    pub fn new(outcome: RunOutcome, settings: ReportSettings, paced: bool) -> Report {
        let RunOutcome {
            records,
            overflow,
            started,
            total,
            end_reason,
            peak_in_flight,
        } = outcome;
        let mut results: Vec<CallRecord> = records.into_iter().skip(settings.skip_first).collect();
        let count = results.len() as u64 + overflow.count;
        let mut latency_sum = overflow.latency_seconds;
        let mut statuses: Vec<(String, u64)> = Vec::new();
        let mut errors: Vec<(String, u64)> = Vec::new();
        for (code, n) in &overflow.statuses {
            tally(&mut statuses, code_name(*code), *n);
        }
        for (error, n) in &overflow.errors {
            tally(&mut errors, &**error, *n);
        }
        let mut extra = Extra {
            peak_in_flight: peak_in_flight as u64,
            paced,
            messages_sent: overflow.messages_sent,
            messages_received: overflow.messages_received,
            bytes_received: overflow.bytes_received,
            ..Extra::default()
        };
        for record in &results {
            latency_sum += go_seconds(record.latency_ns());
            tally(&mut statuses, code_name(record.code), 1);
            if let Some(error) = &record.error {
                tally(&mut errors, &**error, 1);
            }
            extra.messages_sent += u64::from(record.messages_sent);
            extra.messages_received += u64::from(record.messages_received);
            extra.bytes_received += record.bytes_received;
        }
        sort_distribution(&mut statuses);
        sort_distribution(&mut errors);
        let last_overflow_send = overflow.last_sent_ns;
        // haplog's figures are over every call: the ones kept one by one
        // (all of them, before ghz's details are cut to MAX_DETAILS) and
        // the histograms of the rest.
        {
            let counts = |r: &&CallRecord| r.code == Code::Ok || settings.count_errors;
            let timings = &overflow.timings;
            let failed_too = settings.count_errors;
            fn classes(pair: &[crate::run::Hdr; 2], failed_too: bool) -> Vec<&crate::run::Hdr> {
                if failed_too {
                    vec![&pair[0], &pair[1]]
                } else {
                    vec![&pair[0]]
                }
            }
            extra.latency = Spread::over_all(
                results
                    .iter()
                    .filter(counts)
                    .map(CallRecord::latency_ns)
                    .collect(),
                &classes(&timings.latency, failed_too),
            );
            extra.from_intended = Spread::over_all(
                results
                    .iter()
                    .filter(counts)
                    .map(CallRecord::from_intended_ns)
                    .collect(),
                &classes(&timings.from_intended, failed_too),
            );
            extra.time_to_first_message = Spread::over_all(
                results
                    .iter()
                    .filter(counts)
                    .filter_map(CallRecord::time_to_first_message_ns)
                    .collect(),
                &classes(&timings.time_to_first_message, failed_too),
            );
            extra.dispatch_lag = Spread::over_all(
                results.iter().map(CallRecord::dispatch_lag_ns).collect(),
                &[&timings.dispatch_lag],
            );
        }
        results.truncate(MAX_DETAILS);

        let counted = |r: &&CallRecord| r.code == Code::Ok || settings.count_errors;
        // Sorted once: ghz's figures take them as Go float seconds, which
        // keeps the order.
        let mut ok_ns: Vec<u64> = results
            .iter()
            .filter(counted)
            .map(|r| r.latency_ns())
            .collect();
        ok_ns.sort_unstable();
        let ok_latencies: Vec<f64> = ok_ns.iter().map(|&ns| go_seconds(ns)).collect();
        let (mut fastest_ns, mut slowest_ns) = (0, 0);
        let (mut histogram, mut latency_distribution) = (None, None);
        if let (Some(&fastest), Some(&slowest)) = (ok_latencies.first(), ok_latencies.last()) {
            fastest_ns = go_duration(fastest);
            slowest_ns = go_duration(slowest);
            histogram = Some(ghz_histogram(&ok_latencies, slowest, fastest));
            latency_distribution = Some(ghz_percentiles(&ok_latencies));
        }
        let (average_ns, rps) = if count == 0 {
            (0, 0.0)
        } else {
            (
                go_duration(latency_sum / count as f64),
                count as f64 / total.as_secs_f64(),
            )
        };

        // Behind its schedule: calls started later than the schedule's own
        // spacing (the mean interval between intended starts), so the
        // next call was due before this one went out; never for less
        // than timer granularity. At --rps 2 that takes 500 ms of lag.
        let intended = results.iter().map(|r| r.intended_ns);
        let (first, last) = (
            intended.clone().min().unwrap_or(0),
            intended.max().unwrap_or(0),
        );
        let interval_ns = (last - first) / (results.len().max(2) as u64 - 1);
        extra.generator_bound = paced && extra.dispatch_lag.p99 > interval_ns.max(LAG_FLOOR_NS);
        let first_send = results.iter().map(|r| r.sent_ns).min().unwrap_or(0);
        let last_send = results
            .iter()
            .map(|r| r.sent_ns)
            .max()
            .unwrap_or(0)
            .max(last_overflow_send);
        if count > 1 && last_send > first_send {
            extra.send_rate = (count - 1) as f64 / go_seconds(last_send - first_send);
        }

        Report {
            date: SystemTime::now(),
            name: settings.name,
            end_reason,
            echo: settings.echo,
            count,
            total,
            average_ns,
            fastest_ns,
            slowest_ns,
            rps,
            error_distribution: errors,
            status_distribution: statuses,
            latency_distribution,
            histogram,
            records: results,
            started,
            tags: settings.tags,
            extra,
            proxy: None,
            slo: None,
        }
    }

    /// The wall-clock window the run covered, for matching it to a log.
    pub fn window(&self) -> (SystemTime, SystemTime) {
        (self.started, self.started + self.total)
    }
}

/// ghz prints its maps in Go's random order; haplog sorts them by count.
fn sort_distribution(counts: &mut [(String, u64)]) {
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
}

/// ghz's nearest-rank percentiles over sorted latencies in seconds.
fn ghz_percentiles(sorted: &[f64]) -> Vec<(u32, u64)> {
    let n = sorted.len() as f64;
    GHZ_PERCENTILES
        .iter()
        .map(|&p| {
            let ip = f64::from(p) / 100.0 * n;
            let mut index = ip as i64;
            if ip == index as f64 {
                index -= 1;
            }
            let value = sorted[index.max(0) as usize];
            if value > 0.0 {
                (p, go_duration(value))
            } else {
                (0, 0)
            }
        })
        .collect()
}

/// ghz's 11-bucket histogram: marks at fastest + i * (slowest - fastest) / 10
/// and at slowest; a value counts in the first bucket whose mark is at
/// least the value.
fn ghz_histogram(sorted: &[f64], slowest: f64, fastest: f64) -> Vec<Bucket> {
    const BUCKETS: usize = 10;
    let step = (slowest - fastest) / BUCKETS as f64;
    let mut marks = [0.0; BUCKETS + 1];
    for (i, mark) in marks.iter_mut().enumerate().take(BUCKETS) {
        *mark = fastest + step * i as f64;
    }
    marks[BUCKETS] = slowest;
    let mut counts = [0u64; BUCKETS + 1];
    let mut bucket = 0;
    let mut i = 0;
    while i < sorted.len() {
        if sorted[i] <= marks[bucket] {
            counts[bucket] += 1;
            i += 1;
        } else if bucket < BUCKETS {
            bucket += 1;
        } else {
            // Past the last mark: only NaN gets here; count it last.
            counts[bucket] += 1;
            i += 1;
        }
    }
    marks
        .iter()
        .zip(counts)
        .map(|(&mark, count)| Bucket {
            mark,
            count,
            frequency: count as f64 / sorted.len() as f64,
        })
        .collect()
}

/// Go's `text/tabwriter` with padding 3, for rows whose cells all end in a
/// tab (so every column, the last included, is padded).
fn tab_table(rows: &[[String; 2]]) -> String {
    let width = |column: usize| {
        rows.iter()
            .map(|r| r[column].chars().count())
            .max()
            .unwrap_or(0)
            + 3
    };
    let (first, second) = (width(0), width(1));
    let mut out = String::new();
    for row in rows {
        let _ = writeln!(out, "{:<first$}{:<second$}", row[0], row[1]);
    }
    out
}

/// ghz's default (`summary`) output, then haplog's additions.
pub fn summary(report: &Report) -> String {
    let mut out = String::from("\nSummary:\n");
    if let Some(name) = &report.name {
        let _ = writeln!(out, "  Name:\t\t{name}");
    }
    let _ = writeln!(out, "  Count:\t{}", report.count);
    let _ = writeln!(
        out,
        "  Total:\t{}",
        format_duration(report.total.as_nanos() as u64)
    );
    let _ = writeln!(out, "  Slowest:\t{}", format_duration(report.slowest_ns));
    let _ = writeln!(out, "  Fastest:\t{}", format_duration(report.fastest_ns));
    let _ = writeln!(out, "  Average:\t{}", format_duration(report.average_ns));
    let _ = writeln!(out, "  Requests/sec:\t{:4.2}", report.rps);
    out.push_str("\nResponse time histogram:\n");
    if let Some(buckets) = &report.histogram {
        out.push_str(&histogram_text(buckets));
    }
    out.push_str("\nLatency distribution:");
    for (percent, ns) in report.latency_distribution.iter().flatten() {
        let _ = write!(out, "\n  {percent} % in {} ", format_duration(*ns));
    }
    out.push_str("\n\n");
    if !report.status_distribution.is_empty() {
        out.push_str("Status code distribution:\n");
        let rows: Vec<[String; 2]> = report
            .status_distribution
            .iter()
            .map(|(code, n)| [format!("  [{code}]"), format!("{n} responses")])
            .collect();
        out.push_str(&tab_table(&rows));
    }
    out.push('\n');
    if !report.error_distribution.is_empty() {
        out.push_str("Error distribution:\n");
        let rows: Vec<[String; 2]> = report
            .error_distribution
            .iter()
            .map(|(error, n)| [format!("  [{n}]"), error.clone()])
            .collect();
        out.push_str(&tab_table(&rows));
    }
    out.push('\n');
    out.push_str(&extra_text(report));
    if let Some(side) = &report.proxy {
        out.push_str(&crate::proxy::text(
            side,
            report.count,
            report.failed_calls(),
            &report.extra.latency,
            &report.extra.time_to_first_message,
        ));
    }
    out
}

fn histogram_text(buckets: &[Bucket]) -> String {
    let mark_text = |mark: f64| format!("{:.3}", mark * 1000.0);
    let max_mark = buckets.iter().map(|b| b.mark).fold(0.0, f64::max);
    let max_count = buckets.iter().map(|b| b.count).max().unwrap_or(0);
    let mark_width = mark_text(max_mark).len();
    let count_width = max_count.to_string().len();
    let mut out = String::new();
    for bucket in buckets {
        let bar = (bucket.count * 40 + max_count / 2)
            .checked_div(max_count)
            .unwrap_or(0);
        let count = bucket.count.to_string();
        let _ = writeln!(
            out,
            "  {:<mark_width$} [{count}]{} |{}",
            mark_text(bucket.mark),
            " ".repeat(count_width - count.len()),
            "∎".repeat(bar as usize)
        );
    }
    out
}

/// haplog's section after ghz's summary.
fn extra_text(report: &Report) -> String {
    let extra = &report.extra;
    let mut out = String::from("Beyond ghz (haplog):\n");
    let spread = |s: &Spread| {
        if s.count == 0 {
            "none".to_string()
        } else {
            format!(
                "p50 {}, p90 {}, p99 {}, p99.9 {}, max {}",
                format_duration(s.p50),
                format_duration(s.p90),
                format_duration(s.p99),
                format_duration(s.p999),
                format_duration(s.max)
            )
        }
    };
    let rows = [
        ("Latency (from send)", spread(&extra.latency)),
        (
            "Latency (from intended start)",
            spread(&extra.from_intended),
        ),
        (
            "Time to first message",
            spread(&extra.time_to_first_message),
        ),
        ("Dispatch lag", spread(&extra.dispatch_lag)),
    ];
    for (label, value) in rows {
        let _ = writeln!(out, "  {:<31}{value}", format!("{label}:"));
    }
    let per_call = |total: u64| {
        if report.count == 0 {
            0.0
        } else {
            total as f64 / report.count as f64
        }
    };
    let _ = writeln!(
        out,
        "  {:<31}{} sent, {} received ({:.2} per call)",
        "Messages:",
        extra.messages_sent,
        extra.messages_received,
        per_call(extra.messages_received)
    );
    let _ = writeln!(
        out,
        "  {:<31}{} received ({:.0} per call)",
        "Bytes:",
        extra.bytes_received,
        per_call(extra.bytes_received)
    );
    let _ = writeln!(
        out,
        "  {:<31}{}",
        "Peak calls in flight:", extra.peak_in_flight
    );
    let _ = writeln!(
        out,
        "  {:<31}{:.2}",
        "Calls started per second:", extra.send_rate
    );
    for note in notes(report) {
        let _ = writeln!(out, "  {note}");
    }
    if let Some(verdict) = &report.slo {
        let _ = writeln!(out, "  {}", verdict.line());
    }
    out.push('\n');
    out
}

/// What the reader should know about the run's numbers: calls past the
/// deadline, and a generator or workers that set the pace.
pub fn notes(report: &Report) -> Vec<String> {
    let extra = &report.extra;
    let mut notes = Vec::new();
    let past_deadline = report
        .status_distribution
        .iter()
        .find(|(code, _)| code == "DeadlineExceeded")
        .map_or(0, |(_, n)| *n);
    if past_deadline > 0 && !report.echo.timeout.is_zero() {
        notes.push(format!(
            "Note: {past_deadline} calls ran past the -t deadline of {}, which covers a whole \
             stream; -t 0 sets no deadline.",
            format_duration(report.echo.timeout.as_nanos() as u64)
        ));
    }
    if extra.generator_bound {
        let lag = format_duration(extra.dispatch_lag.p99);
        let workers = report.echo.concurrency;
        let capped = !report.echo.async_mode && workers > 0 && extra.peak_in_flight >= workers;
        notes.push(if capped {
            format!(
                "Warning: all {workers} workers were busy, so calls started late (dispatch lag \
                 p99 {lag}). ghz's numbers leave that wait out; the latency from the intended \
                 start includes it. Use --async or a higher -c."
            )
        } else {
            format!(
                "Warning: the generator fell behind its schedule (dispatch lag p99 {lag}): \
                 calls started late because of haplog or this machine, not the server. \
                 Give it more --cpus or run it on another machine."
            )
        });
    }
    notes
}

/// ghz's `csv` output: one row per call.
pub fn csv(report: &Report) -> String {
    let mut out = String::from("\nduration (ms),status,error");
    for record in &report.records {
        let _ = write!(
            out,
            "\n{:4.2},{},{}",
            go_seconds(record.latency_ns()) * 1000.0,
            code_name(record.code),
            record.error.as_deref().unwrap_or("")
        );
    }
    out.push('\n');
    out
}

/// A JSON number as Go's encoding/json writes a float64.
pub fn go_float(value: f64) -> String {
    if !value.is_finite() {
        return "null".to_string();
    }
    let abs = value.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        return format!("{value}");
    }
    let text = format!("{value:e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) if !exponent.starts_with('-') => {
            format!("{mantissa}e+{exponent}")
        }
        _ => text,
    }
}

/// A JSON string as Go's encoding/json writes it (HTML characters escaped).
pub fn go_string(value: &str) -> String {
    let json = serde_json::to_string(value).expect("a string serializes");
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// A JSON object written key by key, in order.
struct Object {
    out: String,
    first: bool,
}

impl Object {
    fn new() -> Object {
        Object {
            out: String::from("{"),
            first: true,
        }
    }

    fn raw(&mut self, key: &str, value: impl AsRef<str>) -> &mut Self {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push_str(&go_string(key));
        self.out.push(':');
        self.out.push_str(value.as_ref());
        self
    }

    fn string(&mut self, key: &str, value: &str) -> &mut Self {
        self.raw(key, go_string(value))
    }

    fn opt_string(&mut self, key: &str, value: &Option<String>) -> &mut Self {
        match value.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => self.string(key, v),
            None => self,
        }
    }

    fn number(&mut self, key: &str, value: impl std::fmt::Display) -> &mut Self {
        self.raw(key, value.to_string())
    }

    fn nonzero(&mut self, key: &str, value: u64) -> &mut Self {
        if value != 0 {
            self.number(key, value);
        }
        self
    }

    fn flag(&mut self, key: &str, value: bool) -> &mut Self {
        self.raw(key, if value { "true" } else { "false" })
    }

    fn finish(&mut self) -> String {
        self.out.push('}');
        std::mem::take(&mut self.out)
    }
}

fn ns(d: Duration) -> u64 {
    d.as_nanos() as u64
}

pub(crate) fn echo_json(echo: &Echo) -> String {
    let mut o = Object::new();
    o.string("call", &echo.call).string("host", &echo.host);
    o.opt_string("proto", &echo.proto)
        .opt_string("protoset", &echo.protoset);
    if !echo.import_paths.is_empty() {
        let paths: Vec<String> = echo.import_paths.iter().map(|p| go_string(p)).collect();
        o.raw("import-paths", format!("[{}]", paths.join(",")));
    }
    if echo.enable_compression {
        o.flag("enable-compression", true);
    }
    o.opt_string("cacert", &echo.cacert)
        .opt_string("cert", &echo.cert)
        .opt_string("key", &echo.key)
        .opt_string("cname", &echo.cname);
    if echo.skip_tls {
        o.flag("skipTLS", true);
    }
    o.flag("insecure", echo.insecure);
    o.opt_string("authority", &echo.authority);
    o.nonzero("rps", echo.rps);
    o.string("load-schedule", &echo.load_schedule)
        .number("load-start", echo.load_start)
        .number("load-end", echo.load_end)
        .number("load-step", echo.load_step)
        .number("load-step-duration", ns(echo.load_step_duration))
        .number("load-max-duration", ns(echo.load_max_duration));
    o.nonzero("concurrency", echo.concurrency);
    o.string("concurrency-schedule", &echo.concurrency_schedule)
        .number("concurrency-start", echo.concurrency_start)
        .number("concurrency-end", echo.concurrency_end)
        .number("concurrency-step", echo.concurrency_step)
        .number(
            "concurrency-step-duration",
            ns(echo.concurrency_step_duration),
        )
        .number(
            "concurrency-max-duration",
            ns(echo.concurrency_max_duration),
        );
    o.nonzero("total", echo.total);
    if echo.async_mode {
        o.flag("async", true);
    }
    o.nonzero("connections", echo.connections)
        .nonzero("duration", ns(echo.duration))
        .nonzero("timeout", ns(echo.timeout))
        .nonzero("dial-timeout", ns(echo.dial_timeout))
        .nonzero("keepalive", ns(echo.keepalive));
    if let Some(data) = &echo.data {
        o.raw("data", go_json_value(data));
    }
    o.flag("binary", echo.binary);
    if let Some(metadata) = &echo.metadata {
        o.raw("metadata", go_json_value(metadata));
    }
    o.number("CPUs", echo.cpus);
    o.opt_string("name", &echo.name);
    o.nonzero("skipFirst", echo.skip_first);
    if echo.count_errors {
        o.flag("count-errors", true);
    }
    o.finish()
}

/// A JSON value re-encoded the way Go's encoding/json writes an
/// `interface{}`: object keys sorted, numbers as float64.
pub(crate) fn go_json_value(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), go_float),
        Value::String(s) => go_string(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(go_json_value).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", go_string(k), go_json_value(&map[k])))
                .collect();
            format!("{{{}}}", items.join(","))
        }
    }
}

fn system_time_parts(time: SystemTime) -> (i64, u32) {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(_) => (0, 0),
    }
}

fn spread_json(s: &Spread) -> String {
    let mut o = Object::new();
    o.number("count", s.count)
        .number("p50", s.p50)
        .number("p90", s.p90)
        .number("p95", s.p95)
        .number("p99", s.p99)
        .number("p99.9", s.p999)
        .number("max", s.max);
    o.finish()
}

/// ghz's JSON report (`-O json`), with haplog's additions under `haplog`.
pub fn json(report: &Report) -> String {
    let mut o = Object::new();
    let (date_secs, _) = system_time_parts(report.date);
    o.string("date", &rfc3339(date_secs, None));
    o.opt_string("name", &report.name);
    o.string("endReason", report.end_reason.as_str());
    o.raw("options", echo_json(&report.echo));
    o.number("count", report.count)
        .number("total", ns(report.total))
        .number("average", report.average_ns)
        .number("fastest", report.fastest_ns)
        .number("slowest", report.slowest_ns)
        .raw("rps", go_float(report.rps));
    let map = |entries: &[(String, u64)]| {
        let mut sorted: Vec<&(String, u64)> = entries.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut m = Object::new();
        for (k, v) in sorted {
            m.number(k, v);
        }
        m.finish()
    };
    o.raw("errorDistribution", map(&report.error_distribution));
    o.raw("statusCodeDistribution", map(&report.status_distribution));
    match &report.latency_distribution {
        Some(points) => {
            let items: Vec<String> = points
                .iter()
                .map(|(p, ns)| format!("{{\"percentage\":{p},\"latency\":{ns}}}"))
                .collect();
            o.raw("latencyDistribution", format!("[{}]", items.join(",")));
        }
        None => {
            o.raw("latencyDistribution", "null");
        }
    }
    match &report.histogram {
        Some(buckets) => {
            let items: Vec<String> = buckets
                .iter()
                .map(|b| {
                    format!(
                        "{{\"mark\":{},\"count\":{},\"frequency\":{}}}",
                        go_float(b.mark),
                        b.count,
                        go_float(b.frequency)
                    )
                })
                .collect();
            o.raw("histogram", format!("[{}]", items.join(",")));
        }
        None => {
            o.raw("histogram", "null");
        }
    }
    if report.records.is_empty() {
        o.raw("details", "null");
    } else {
        let (start_secs, start_nanos) = system_time_parts(report.started);
        let start_ns = start_secs as i128 * 1_000_000_000 + i128::from(start_nanos);
        let mut details = String::from("[");
        for (i, record) in report.records.iter().enumerate() {
            if i > 0 {
                details.push(',');
            }
            let end = start_ns + i128::from(record.end_ns);
            let timestamp = rfc3339(
                end.div_euclid(1_000_000_000) as i64,
                Some(end.rem_euclid(1_000_000_000) as u32),
            );
            let _ = write!(
                details,
                "{{\"timestamp\":{},\"latency\":{},\"error\":{},\"status\":{}}}",
                go_string(&timestamp),
                record.latency_ns(),
                go_string(record.error.as_deref().unwrap_or("")),
                go_string(code_name(record.code))
            );
        }
        details.push(']');
        o.raw("details", details);
    }
    if !report.tags.is_empty() {
        let mut tags: Vec<&(String, String)> = report.tags.iter().collect();
        tags.sort();
        let mut t = Object::new();
        for (k, v) in tags {
            t.string(k, v);
        }
        o.raw("tags", t.finish());
    }
    let extra = &report.extra;
    let mut h = Object::new();
    h.flag("paced", extra.paced)
        .raw("latency", spread_json(&extra.latency))
        .raw("latencyFromIntended", spread_json(&extra.from_intended))
        .raw(
            "timeToFirstMessage",
            spread_json(&extra.time_to_first_message),
        )
        .raw("dispatchLag", spread_json(&extra.dispatch_lag))
        .number("messagesSent", extra.messages_sent)
        .number("messagesReceived", extra.messages_received)
        .number("bytesReceived", extra.bytes_received)
        .raw("sendRate", go_float(extra.send_rate))
        .number("peakInFlight", extra.peak_in_flight)
        .flag("generatorBound", extra.generator_bound);
    if let Some(side) = &report.proxy {
        h.raw("proxy", crate::proxy::json(side).to_string());
    }
    if let Some(verdict) = &report.slo {
        let checks: Vec<serde_json::Value> = verdict
            .checks
            .iter()
            .map(|c| {
                serde_json::json!({
                    "objective": c.objective,
                    "measured": c.measured,
                    "value": c.value,
                    "passed": c.passed,
                })
            })
            .collect();
        let slo = serde_json::json!({"passed": verdict.passed(), "checks": checks});
        h.raw("slo", slo.to_string());
    }
    o.raw("haplog", h.finish());
    o.finish()
}

/// Go's `json.Indent(out, compact, "", "  ")`.
pub fn indent(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = compact.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                let close = if c == '{' { '}' } else { ']' };
                if chars.peek() == Some(&close) {
                    out.push(chars.next().expect("peeked"));
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(latency_ms: u64, code: Code) -> CallRecord {
        CallRecord {
            request_number: 0,
            intended_ns: 0,
            sent_ns: 1_000_000,
            first_message_ns: u64::MAX,
            end_ns: 1_000_000 + latency_ms * 1_000_000,
            code,
            error: (code != Code::Ok)
                .then(|| crate::status::error_text(code, "injected failure").into()),
            messages_sent: 1,
            messages_received: u32::from(code == Code::Ok),
            bytes_received: 0,
        }
    }

    fn report_of(latencies_ms: &[u64], failures: usize) -> Report {
        let mut records: Vec<CallRecord> = latencies_ms
            .iter()
            .map(|&ms| record(ms, Code::Ok))
            .collect();
        records.extend((0..failures).map(|_| record(5, Code::Unavailable)));
        let outcome = RunOutcome {
            records,
            overflow: Default::default(),
            started: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            total: Duration::from_millis(2000),
            end_reason: EndReason::Normal,
            peak_in_flight: 3,
        };
        Report::new(outcome, ReportSettings::default(), true)
    }

    #[test]
    fn ghz_numbers() {
        let report = report_of(&(1..=100).collect::<Vec<_>>(), 2);
        assert_eq!(report.count, 102);
        assert_eq!(report.fastest_ns, 1_000_000);
        assert_eq!(report.slowest_ns, 100_000_000);
        // Average covers the failed calls too: (5050 + 10) / 102 ms.
        assert_eq!(report.average_ns / 1000, 49_607);
        assert_eq!(report.rps, 51.0);
        let pct = report.latency_distribution.clone().unwrap();
        // Nearest rank with ghz's whole-number adjustment: p10 of 100 is the 10th.
        assert_eq!(pct[0], (10, 10_000_000));
        assert_eq!(pct[6], (99, 99_000_000));
        let buckets = report.histogram.clone().unwrap();
        assert_eq!(buckets.len(), 11);
        assert_eq!(buckets[0].count, 1);
        assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), 100);
        assert_eq!(
            report.status_distribution,
            [("OK".to_string(), 100), ("Unavailable".to_string(), 2)]
        );
        assert_eq!(report.error_distribution[0].1, 2);
    }

    #[test]
    fn calls_past_the_kept_ones_still_count() {
        let mut outcome = RunOutcome {
            records: vec![record(10, Code::Ok), record(20, Code::Ok)],
            overflow: Default::default(),
            started: UNIX_EPOCH,
            total: Duration::from_secs(1),
            end_reason: EndReason::Normal,
            peak_in_flight: 1,
        };
        outcome.overflow.add(&record(30, Code::Unavailable));
        outcome.overflow.add(&record(40, Code::Ok));
        let report = Report::new(outcome, ReportSettings::default(), false);
        assert_eq!(report.count, 4);
        assert_eq!(report.average_ns, 25_000_000);
        assert_eq!(
            report.status_distribution,
            [("OK".to_string(), 3), ("Unavailable".to_string(), 1)]
        );
        assert_eq!(report.error_distribution.len(), 1);
        // The histogram covers the kept calls only, as ghz's covers its first million.
        assert_eq!(report.slowest_ns, 20_000_000);
        // haplog's percentiles cover every OK call: 10, 20 and 40 ms.
        let latency = &report.extra.latency;
        assert_eq!(latency.count, 3);
        assert!(
            latency.max.abs_diff(40_000_000) <= 40_000,
            "{}",
            latency.max
        );
        assert!(
            latency.p50.abs_diff(20_000_000) <= 20_000,
            "{}",
            latency.p50
        );
        assert_eq!(report.extra.dispatch_lag.count, 4);
    }

    #[test]
    fn summary_layout() {
        let report = report_of(&[10, 20, 30, 40], 1);
        let text = summary(&report);
        let ghz_part = &text[..text.find("Beyond ghz").unwrap()];
        let expected = "\nSummary:\n  Count:\t5\n  Total:\t2.00 s\n  Slowest:\t40.00 ms\n  Fastest:\t10.00 ms\n  Average:\t21.00 ms\n  Requests/sec:\t2.50\n\nResponse time histogram:\n  10.000 [1] |∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎\n  13.000 [0] |\n  16.000 [0] |\n  19.000 [0] |\n  22.000 [1] |∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎\n  25.000 [0] |\n  28.000 [0] |\n  31.000 [1] |∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎\n  34.000 [0] |\n  37.000 [0] |\n  40.000 [1] |∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎\n\nLatency distribution:\n  10 % in 10.00 ms \n  25 % in 10.00 ms \n  50 % in 20.00 ms \n  75 % in 30.00 ms \n  90 % in 40.00 ms \n  95 % in 40.00 ms \n  99 % in 40.00 ms \n\nStatus code distribution:\n  [OK]            4 responses   \n  [Unavailable]   1 responses   \n\nError distribution:\n  [1]   rpc error: code = Unavailable desc = injected failure   \n\n";
        assert_eq!(ghz_part, expected);
    }

    #[test]
    fn durations_as_ghz_prints_them() {
        assert_eq!(format_duration(0), "0 ns");
        assert_eq!(format_duration(9_999), "9999 ns");
        assert_eq!(format_duration(10_000), "0.01 ms");
        assert_eq!(format_duration(999_994_999), "999.99 ms");
        assert_eq!(format_duration(51_930_000_000), "51.93 s");
    }

    #[test]
    fn go_json_numbers_and_strings() {
        assert_eq!(go_float(1.0), "1");
        assert_eq!(go_float(1.9256), "1.9256");
        assert_eq!(go_float(0.000001), "0.000001");
        assert_eq!(go_float(1e-7), "1e-7");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_string("a<b>&c"), r#""a\u003cb\u003e\u0026c""#);
    }

    #[test]
    fn json_is_ghz_shaped_and_indents_like_go() {
        let report = report_of(&[10, 20], 0);
        let text = json(&report);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys = [
            "date",
            "endReason",
            "options",
            "count",
            "total",
            "average",
            "fastest",
            "slowest",
            "rps",
            "errorDistribution",
            "statusCodeDistribution",
            "latencyDistribution",
            "histogram",
            "details",
            "haplog",
        ];
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| text.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(value.as_object().unwrap().len(), keys.len());
        assert_eq!(value["details"][0]["timestamp"], "2023-11-14T22:13:20.011Z");
        assert_eq!(value["details"][1]["latency"], 20_000_000);
        assert_eq!(value["histogram"][0]["mark"], 0.01);
        let pretty = indent(&text);
        assert!(pretty.starts_with("{\n  \"date\": \""), "{pretty}");
        assert!(pretty.contains("\"errorDistribution\": {},"), "{pretty}");
        let reparsed: serde_json::Value = serde_json::from_str(&pretty).unwrap();
        assert_eq!(reparsed, value);
    }

    #[test]
    fn no_results_prints_empty_sections() {
        let report = report_of(&[], 0);
        let text = summary(&report);
        assert!(text.contains("  Slowest:\t0 ns\n"));
        assert!(text.contains("Response time histogram:\n\nLatency distribution:\n\n"));
        let value: serde_json::Value = serde_json::from_str(&json(&report)).unwrap();
        assert!(value["latencyDistribution"].is_null());
        assert!(value["details"].is_null());
    }

    #[test]
    fn csv_rows() {
        let report = report_of(&[10], 1);
        assert_eq!(
            csv(&report),
            "\nduration (ms),status,error\n10.00,OK,\n5.00,Unavailable,rpc error: code = Unavailable desc = injected failure\n"
        );
    }
}
