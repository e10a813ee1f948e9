//! The small types and helpers the load crate's modules share (a run's
//! spreads and histograms, duration text, tallies, SLO verdicts), kept in
//! a leaf so that run, report, proxy and slo depend on it and not on each
//! other.

/// ghz keeps the details of at most this many calls; its percentiles,
/// histogram, fastest and slowest cover only them.
pub const MAX_DETAILS: usize = 1_000_000;

/// Percentiles of one measure, exact (nearest rank), in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spread {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p95: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Spread {
    /// Exact percentiles of the kept calls' `values` when every call was
    /// kept; else percentiles over every call, from an HDR histogram of
    /// the kept values and the others' `more` (within 0.1 %).
    pub fn over_all(values: Vec<u64>, more: &[&Hdr]) -> Spread {
        if more.iter().all(|h| h.0.is_none()) {
            return Spread::of(values);
        }
        let mut all = Hdr::default();
        for v in values {
            all.record(v);
        }
        let mut h = all.0.expect("recorded or merged below");
        for other in more.iter().filter_map(|m| m.0.as_ref()) {
            let _ = h.add(other);
        }
        if h.is_empty() {
            return Spread::default();
        }
        Spread {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p95: h.value_at_quantile(0.95),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }

    /// The same of a histogram of milliseconds (HAProxy's timers), in
    /// nanoseconds: the report's histogram, exact below 2048 ms.
    pub fn of_ms(ms: &haplog_analyze::Histogram) -> Spread {
        let at = |q: f64| ms.quantile(q).unwrap_or(0) * 1_000_000;
        Spread {
            count: ms.count(),
            p50: at(0.50),
            p90: at(0.90),
            p95: at(0.95),
            p99: at(0.99),
            p999: at(0.999),
            max: ms.max().unwrap_or(0) * 1_000_000,
        }
    }

    pub fn of(mut values: Vec<u64>) -> Spread {
        values.sort_unstable();
        Spread::of_sorted(&values)
    }

    /// The same of values already in ascending order.
    pub fn of_sorted(values: &[u64]) -> Spread {
        let rank = |q: f64| {
            let n = values.len();
            let index = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
            values[index]
        };
        if values.is_empty() {
            return Spread::default();
        }
        Spread {
            count: values.len() as u64,
            p50: rank(0.50),
            p90: rank(0.90),
            p95: rank(0.95),
            p99: rank(0.99),
            p999: rank(0.999),
            max: *values.last().expect("not empty"),
        }
    }
}

/// An HDR histogram of nanoseconds, made on first use.
#[derive(Clone, Debug, Default)]
pub struct Hdr(pub Option<hdrhistogram::Histogram<u64>>);

impl Hdr {
    pub fn record(&mut self, value: u64) {
        let h = self.0.get_or_insert_with(|| {
            hdrhistogram::Histogram::new(3).expect("3 significant digits is valid")
        });
        // Auto-resizing: never fails for a u64.
        let _ = h.record(value.max(1));
    }
}

/// Go's `Duration.Seconds()`.
pub(crate) fn go_seconds(ns: u64) -> f64 {
    (ns / 1_000_000_000) as f64 + (ns % 1_000_000_000) as f64 / 1e9
}

/// Adds `by` to `key`'s count, in first-seen order; the key is copied only
/// when it is new. The lists are short (statuses, errors, servers).
pub(crate) fn tally<K, Q>(counts: &mut Vec<(K, u64)>, key: &Q, by: u64)
where
    K: std::borrow::Borrow<Q>,
    Q: PartialEq + ToOwned<Owned = K> + ?Sized,
{
    match counts.iter_mut().find(|(k, _)| k.borrow() == key) {
        Some((_, n)) => *n += by,
        None => counts.push((key.to_owned(), by)),
    }
}

/// ghz's `formatNanoUnit`.
pub fn format_duration(ns: u64) -> String {
    if ns < 10_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000_000 {
        format!("{:4.2} ms", ns as f64 / 1e6)
    } else {
        format!("{:4.2} s", ns as f64 / 1e9)
    }
}

/// One objective checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub objective: String,
    /// The measured value, as the objective's unit reads it (`412.3 ms`,
    /// `0.20%`, `95.1/s`); `none` when nothing was measured.
    pub measured: String,
    /// The measured value in the threshold's unit (ns, fraction, calls/s).
    pub value: Option<f64>,
    pub passed: bool,
}

/// Every objective checked: the run passes when all do.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub checks: Vec<Check>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// `SLO PASS: p99 412.30 ms < 500ms, error_rate 0.20% < 1%`.
    pub fn line(&self) -> String {
        let word = if self.passed() { "PASS" } else { "FAIL" };
        let parts: Vec<String> = self
            .checks
            .iter()
            .map(|c| {
                let mark = if c.passed { "ok" } else { "missed" };
                format!("{} (measured {}, {mark})", c.objective, c.measured)
            })
            .collect();
        format!("SLO {word}: {}", parts.join("; "))
    }
}
