//! Prometheus' text exposition format (version 0.0.4) of everything since
//! the start: request counters by frontend, backend, server, status class
//! and termination state, and histograms of HAProxy's timers per server,
//! the percentiles HAProxy's own exporter cannot give.

use std::fmt::Write as _;

use haplog_format::Kind;

use crate::slot::Slot;
use crate::view::class_name;

/// The histograms' upper bounds, in milliseconds (HAProxy's unit).
pub const BUCKETS_MS: [u64; 14] = [
    1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000,
];

/// What the follower adds to the log's own figures.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reading {
    /// Bytes of log read.
    pub bytes: u64,
    /// Seconds between now and the newest request's date.
    pub lag_seconds: Option<f64>,
}

/// A label value as Prometheus reads it: `\`, `"` and newlines escaped;
/// bytes that are not UTF-8 replaced.
fn label(out: &mut String, value: &[u8]) {
    for c in String::from_utf8_lossy(value).chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn seconds(ms: u64) -> String {
    let s = ms as f64 / 1000.0;
    format!("{s}")
}

/// The metrics of `since` (everything since the start).
pub fn text(since: &Slot, reading: Reading) -> String {
    let mut out = String::new();
    out.push_str("# HELP haplog_requests_total Requests in the log, by frontend, backend, server, status class and termination state.\n");
    out.push_str("# TYPE haplog_requests_total counter\n");
    for (l, n) in &since.counters {
        out.push_str("haplog_requests_total{frontend=\"");
        label(&mut out, &l.frontend);
        out.push_str("\",backend=\"");
        label(&mut out, &l.backend);
        out.push_str("\",server=\"");
        label(&mut out, &l.server);
        let _ = write!(
            out,
            "\",status_class=\"{}\",termination=\"",
            class_name(l.class)
        );
        label(&mut out, &l.termination);
        let _ = writeln!(out, "\"}} {n}");
    }
    out.push_str("# HELP haplog_request_duration_seconds HAProxy's timers per server from the log: Tt total, Tr server response, Tw queue, Tc connect.\n");
    out.push_str("# TYPE haplog_request_duration_seconds histogram\n");
    for ((backend, server), flow) in &since.servers {
        for (timer, h) in flow.timers() {
            let mut labels = String::from("backend=\"");
            label(&mut labels, backend);
            labels.push_str("\",server=\"");
            label(&mut labels, server);
            let _ = write!(labels, "\",timer=\"{timer}\"");
            for le in BUCKETS_MS {
                let _ = writeln!(
                    out,
                    "haplog_request_duration_seconds_bucket{{{labels},le=\"{}\"}} {}",
                    seconds(le),
                    h.count_at_most(le)
                );
            }
            let _ = writeln!(
                out,
                "haplog_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count()
            );
            let _ = writeln!(
                out,
                "haplog_request_duration_seconds_sum{{{labels}}} {}",
                h.sum() as f64 / 1000.0
            );
            let _ = writeln!(
                out,
                "haplog_request_duration_seconds_count{{{labels}}} {}",
                h.count()
            );
        }
    }
    out.push_str("# HELP haplog_lines_total Lines read from the log, by kind.\n");
    out.push_str("# TYPE haplog_lines_total counter\n");
    for kind in Kind::ALL {
        let _ = writeln!(
            out,
            "haplog_lines_total{{kind=\"{}\"}} {}",
            kind.name(),
            since.kinds[kind.index()]
        );
    }
    out.push_str("# HELP haplog_bytes_total Bytes of log read.\n");
    out.push_str("# TYPE haplog_bytes_total counter\n");
    let _ = writeln!(out, "haplog_bytes_total {}", reading.bytes);
    out.push_str("# HELP haplog_follow_lag_seconds Seconds between now and the date of the newest request read.\n");
    out.push_str("# TYPE haplog_follow_lag_seconds gauge\n");
    // No sample before the first dated request.
    if let Some(lag) = reading.lag_seconds {
        let _ = writeln!(out, "haplog_follow_lag_seconds {lag}");
    }
    out
}
