//! `--slo`: objectives a run must meet, checked at its end, so that a CI
//! job fails on a slow or failing service (ghz users' most asked-for
//! feature; k6 calls them thresholds).
//!
//! `--slo 'p99<500ms,error_rate<1%,ttfm_p95<300ms'`: each objective is a
//! metric, a comparison (`<`, `<=`, `>`, `>=`) and a value.

use crate::error::LoadError;
use crate::report::Report;
use crate::stats::{format_duration, Spread};
pub use crate::stats::{Check, Verdict};

/// The exit status of a run that missed an objective (k6's, so CI scripts
/// that know k6 read it the same).
pub const EXIT_SLO_FAILED: i32 = 99;

/// What an objective measures.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Metric {
    /// A percentile of ghz's latency (from the send), of calls counted as
    /// the report counts them.
    Latency(Quantile),
    /// The same from each call's intended start (`intended_p99`).
    FromIntended(Quantile),
    /// Time to the first response message (`ttfm_p95`).
    FirstMessage(Quantile),
    /// Failed calls over all calls, 0 to 1 (`error_rate`).
    ErrorRate,
    /// Calls per second over the run (`rps`).
    Rate,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Quantile {
    P50,
    P90,
    P95,
    P99,
    P999,
    Max,
}

impl Quantile {
    fn parse(text: &str) -> Option<Quantile> {
        Some(match text {
            "p50" | "median" => Quantile::P50,
            "p90" => Quantile::P90,
            "p95" => Quantile::P95,
            "p99" => Quantile::P99,
            "p99.9" | "p999" => Quantile::P999,
            "max" => Quantile::Max,
            _ => return None,
        })
    }

    fn of(self, s: &Spread) -> Option<u64> {
        (s.count > 0).then_some(match self {
            Quantile::P50 => s.p50,
            Quantile::P90 => s.p90,
            Quantile::P95 => s.p95,
            Quantile::P99 => s.p99,
            Quantile::P999 => s.p999,
            Quantile::Max => s.max,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Comparison {
    Below,
    AtMost,
    Above,
    AtLeast,
}

impl Comparison {
    fn holds(self, actual: f64, threshold: f64) -> bool {
        match self {
            Comparison::Below => actual < threshold,
            Comparison::AtMost => actual <= threshold,
            Comparison::Above => actual > threshold,
            Comparison::AtLeast => actual >= threshold,
        }
    }
}

/// One objective, as written and as read.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    pub text: String,
    metric: Metric,
    comparison: Comparison,
    /// Nanoseconds for times, a fraction for the error rate, calls per
    /// second for the rate.
    threshold: f64,
}

/// Reads `--slo`'s comma-separated objectives.
pub fn parse(list: &str) -> Result<Vec<Objective>, LoadError> {
    let objectives: Vec<Objective> = list
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(parse_one)
        .collect::<Result<_, _>>()?;
    if objectives.is_empty() {
        return Err(LoadError::flag(
            "--slo",
            "no objective; give one like 'p99<500ms,error_rate<1%'",
        ));
    }
    Ok(objectives)
}

fn parse_one(text: &str) -> Result<Objective, LoadError> {
    let bad = |why: &str| {
        LoadError::flag(
            "--slo",
            format!(
                "{text:?}: {why}; write METRIC<VALUE, e.g. p99<500ms, error_rate<1%, \
                 ttfm_p95<300ms, intended_p99<1s, rps>=100"
            ),
        )
    };
    let at = text
        .find(['<', '>'])
        .ok_or_else(|| bad("no comparison (<, <=, >, >=)"))?;
    let (name, rest) = (text[..at].trim(), &text[at..]);
    let (comparison, value) = if let Some(v) = rest.strip_prefix("<=") {
        (Comparison::AtMost, v)
    } else if let Some(v) = rest.strip_prefix(">=") {
        (Comparison::AtLeast, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Comparison::Below, v)
    } else {
        (Comparison::Above, &rest[1..])
    };
    let value = value.trim();
    let metric = match name {
        "error_rate" | "errors" => Metric::ErrorRate,
        "rps" => Metric::Rate,
        _ => {
            let (kind, quantile) = match name.split_once('_') {
                Some(("ttfm", q)) => (Metric::FirstMessage as fn(Quantile) -> Metric, q),
                Some(("intended", q)) => (Metric::FromIntended as fn(Quantile) -> Metric, q),
                Some(("latency", q)) => (Metric::Latency as fn(Quantile) -> Metric, q),
                _ => (Metric::Latency as fn(Quantile) -> Metric, name),
            };
            kind(Quantile::parse(quantile).ok_or_else(|| bad("unknown metric"))?)
        }
    };
    let threshold = match metric {
        Metric::ErrorRate => match value.strip_suffix('%') {
            Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
            None => value.parse::<f64>(),
        }
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| bad("an error rate is a percentage (1%) or a fraction (0.01)"))?,
        Metric::Rate => value
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r >= 0.0)
            .ok_or_else(|| bad("a rate is calls per second"))?,
        _ => crate::units::parse_go_duration(value)
            .map_err(|_| bad("a time is a duration like 500ms or 1.5s"))?
            .as_nanos() as f64,
    };
    Ok(Objective {
        text: text.to_string(),
        metric,
        comparison,
        threshold,
    })
}

/// Checks `objectives` against a finished run. A metric with nothing to
/// measure (no OK call for a percentile) fails its objective: a run that
/// proves nothing must not pass CI.
pub fn evaluate(objectives: &[Objective], report: &Report) -> Verdict {
    let extra = &report.extra;
    let failed = report.failed_calls();
    let checks = objectives
        .iter()
        .map(|o| {
            let (value, measured) = match o.metric {
                Metric::Latency(q) => time(q.of(&extra.latency)),
                Metric::FromIntended(q) => time(q.of(&extra.from_intended)),
                Metric::FirstMessage(q) => time(q.of(&extra.time_to_first_message)),
                Metric::ErrorRate => {
                    let rate = (report.count > 0).then(|| failed as f64 / report.count as f64);
                    (
                        rate,
                        rate.map_or("none".into(), |r| format!("{:.2}%", r * 100.0)),
                    )
                }
                Metric::Rate => (Some(report.rps), format!("{:.1}/s", report.rps)),
            };
            Check {
                objective: o.text.clone(),
                passed: value.is_some_and(|v| o.comparison.holds(v, o.threshold)),
                measured,
                value,
            }
        })
        .collect();
    Verdict { checks }
}

fn time(ns: Option<u64>) -> (Option<f64>, String) {
    (
        ns.map(|n| n as f64),
        ns.map_or("none".into(), format_duration),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_read_as_written() {
        let all =
            parse("p99<500ms, error_rate<1%,ttfm_p95<=300ms,intended_p99.9<2s,rps>=100").unwrap();
        assert_eq!(all.len(), 5);
        assert_eq!(all[0].metric, Metric::Latency(Quantile::P99));
        assert_eq!(all[0].threshold, 500e6);
        assert_eq!(all[1].metric, Metric::ErrorRate);
        assert!((all[1].threshold - 0.01).abs() < 1e-12);
        assert_eq!(all[2].metric, Metric::FirstMessage(Quantile::P95));
        assert_eq!(all[2].comparison, Comparison::AtMost);
        assert_eq!(all[3].metric, Metric::FromIntended(Quantile::P999));
        assert_eq!(all[4].metric, Metric::Rate);
        assert_eq!(all[4].comparison, Comparison::AtLeast);
        for bad in [
            "",
            "p99",
            "p98<1s",
            "p99<fast",
            "error_rate<150%",
            "rps>-1",
            "nope<1",
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("--slo"), "{bad}: {e}");
        }
    }
}
