//! Aggregates over a sliding time window, in bounded memory: a ring of
//! per-second slots, each a mergeable aggregate (bottom's time-pruned data
//! store, with xsv's merge). "The last N seconds" merges the slots of those
//! seconds; slots older than the ring's span are folded into a since-start
//! total and dropped, so memory stays bounded whatever the run time.

use std::collections::VecDeque;

use crate::merge::Merge;

/// Per-second slots of `A` for the last `span` seconds, and everything
/// older merged into one.
#[derive(Clone, Debug)]
pub struct Windowed<A> {
    span: i64,
    /// Oldest first; one slot per second that had data, in order.
    slots: VecDeque<(i64, A)>,
    /// Every slot that fell out of the span, merged.
    older: Option<A>,
    /// The newest second seen.
    newest: Option<i64>,
}

impl<A: Merge + Clone> Windowed<A> {
    /// Keeps `span_seconds` of per-second detail (at least one).
    pub fn new(span_seconds: u32) -> Windowed<A> {
        Windowed {
            span: i64::from(span_seconds.max(1)),
            slots: VecDeque::new(),
            older: None,
            newest: None,
        }
    }

    /// Adds `part`, the aggregate of the lines of `second` (Unix seconds).
    /// A second older than the span is counted since the start only.
    pub fn add(&mut self, second: i64, part: A) {
        let newest = self.newest.map_or(second, |n| n.max(second));
        self.newest = Some(newest);
        if second <= newest - self.span {
            merge_into(&mut self.older, part);
            return;
        }
        match self.slots.binary_search_by_key(&second, |(s, _)| *s) {
            Ok(at) => self.slots[at].1.merge(part),
            Err(at) => self.slots.insert(at, (second, part)),
        }
        self.prune(newest);
    }

    /// Moves the slots that fell out of the span into the since-start total.
    fn prune(&mut self, newest: i64) {
        while let Some((second, _)) = self.slots.front() {
            if *second > newest - self.span {
                break;
            }
            let (_, part) = self.slots.pop_front().expect("front exists");
            merge_into(&mut self.older, part);
        }
    }

    /// The seconds `now - seconds + 1 ..= now`, merged; `None` when none of
    /// them had data. Asking for more than the span gives the span.
    pub fn last(&self, now: i64, seconds: u32) -> Option<A> {
        let from = now - i64::from(seconds) + 1;
        crate::merge::merge_all(
            self.slots
                .iter()
                .filter(|(s, _)| *s >= from && *s <= now)
                .map(|(_, part)| part.clone()),
        )
    }

    /// Everything added, merged.
    pub fn since_start(&self) -> Option<A> {
        crate::merge::merge_all(
            self.older
                .iter()
                .cloned()
                .chain(self.slots.iter().map(|(_, part)| part.clone())),
        )
    }

    /// The per-second slots kept, oldest first (for a chart).
    pub fn seconds(&self) -> impl Iterator<Item = (i64, &A)> {
        self.slots.iter().map(|(s, part)| (*s, part))
    }

    /// Slots held: never more than the span.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty() && self.older.is_none()
    }
}

fn merge_into<A: Merge>(total: &mut Option<A>, part: A) {
    match total {
        Some(total) => total.merge(part),
        None => *total = Some(part),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Histogram;
    use proptest::prelude::*;

    /// A value at a second, as a line would give it.
    fn aggregate(values: &[(i64, u64)]) -> (u64, Histogram) {
        let mut histogram = Histogram::new();
        for (_, v) in values {
            histogram.add(*v);
        }
        (values.len() as u64, histogram)
    }

    proptest! {
        /// Per-window results equal a fresh aggregate over the same values,
        /// whatever order the seconds arrive in (lines of parallel chunks,
        /// or a log's slightly out-of-order dates).
        #[test]
        fn windows_equal_fresh_aggregates(
            values in prop::collection::vec((0i64..400, 0u64..100_000), 1..300),
            window in 1u32..120,
        ) {
            let span = 60;
            let mut windowed: Windowed<(u64, Histogram)> = Windowed::new(span);
            for (second, value) in &values {
                let mut part = Histogram::new();
                part.add(*value);
                windowed.add(*second, (1, part));
            }
            prop_assert!(windowed.len() <= span as usize);
            let newest = values.iter().map(|(s, _)| *s).max().unwrap();
            // Since the start: everything.
            prop_assert_eq!(windowed.since_start(), Some(aggregate(&values)));
            // The last `window` seconds (at most the span), counting only
            // values that came while their second was inside the span.
            let kept = window.min(span);
            let from = newest - i64::from(kept) + 1;
            let mut newest_so_far = i64::MIN;
            let inside: Vec<(i64, u64)> = values
                .iter()
                .filter(|(s, _)| {
                    newest_so_far = newest_so_far.max(*s);
                    *s > newest_so_far - i64::from(span) && *s >= from
                })
                .copied()
                .collect();
            let want = (!inside.is_empty()).then(|| aggregate(&inside));
            prop_assert_eq!(windowed.last(newest, window), want);
        }
    }

    #[test]
    fn memory_stays_bounded_over_a_long_run() {
        let mut windowed: Windowed<u64> = Windowed::new(300);
        for second in 0..100_000 {
            windowed.add(second, 1);
        }
        assert_eq!(windowed.len(), 300);
        assert_eq!(windowed.since_start(), Some(100_000));
        assert_eq!(windowed.last(99_999, 10), Some(10));
        assert_eq!(windowed.last(99_999, 1_000), Some(300));
        assert_eq!(windowed.seconds().next().map(|(s, _)| s), Some(99_700));
    }
}

#[cfg(test)]
mod traffic_tests {
    use super::*;
    use crate::{Collector, Config, TrafficStats};
    use haplog_format::{FormatOptions, Formats, LineParser};

    /// HAProxy lines over 20 seconds, two servers, some failing.
    fn lines() -> Vec<(i64, String)> {
        (0..200)
            .map(|i| {
                let second = i / 10;
                let (server, status, state) = match i % 7 {
                    0 => ("s2", 503, "SC--"),
                    1 => ("s2", 200, "----"),
                    _ => ("s1", 200, "----"),
                };
                let line = format!(
                    "10.0.0.{}:4000 [02/Dec/2026:10:00:{second:02}.{:03}] fe be/{server} 0/0/1/{}/{} {status} 100 - - {state} 1/1/0/0/0 0/0 \"GET /x/{} HTTP/1.1\"",
                    i % 5,
                    i % 1000,
                    i % 13,
                    i % 13 + 2,
                    i % 3
                );
                (1_796_205_600 + second, line)
            })
            .collect()
    }

    fn stats(lines: &[&(i64, String)], config: &Config, formats: &Formats) -> TrafficStats {
        let mut parser = LineParser::new(formats, None);
        let mut collector = Collector::new(config);
        for (i, (_, line)) in lines.iter().enumerate() {
            collector.line(&parser.parse(line.as_bytes()), (0, i as u64));
        }
        collector.finish()
    }

    /// A window of per-second report aggregates answers what a fresh
    /// report over the same lines says.
    #[test]
    fn windowed_traffic_equals_a_fresh_report_over_the_window() {
        let formats = Formats::new(&FormatOptions::default()).unwrap();
        let config = Config::default();
        let all = lines();
        let mut windowed: Windowed<TrafficStats> = Windowed::new(15);
        for second in 1_796_205_600..1_796_205_620 {
            let of_second: Vec<_> = all.iter().filter(|(s, _)| *s == second).collect();
            windowed.add(second, stats(&of_second, &config, &formats));
        }
        let now = 1_796_205_619;
        for window in [1, 5, 10, 15] {
            let got = windowed.last(now, window).unwrap();
            let inside: Vec<_> = all
                .iter()
                .filter(|(s, _)| *s > now - i64::from(window))
                .collect();
            let want = stats(&inside, &config, &formats);
            assert_eq!(got.requests, want.requests, "{window}");
            assert_eq!(got.requests, u64::from(window) * 10, "{window}");
            assert_eq!(got.status_counts(), want.status_counts(), "{window}");
            assert_eq!(
                got.termination_counts(),
                want.termination_counts(),
                "{window}"
            );
            assert_eq!(got.first, want.first, "{window}");
            assert_eq!(got.last, want.last, "{window}");
        }
        let since = windowed.since_start().unwrap();
        let every: Vec<_> = all.iter().collect();
        assert_eq!(since.requests, 200);
        assert_eq!(
            since.status_counts(),
            stats(&every, &config, &formats).status_counts()
        );
    }
}
