//! A group's requests over time, for charts: per time slice, how many
//! requests, how many failed, and a coarse histogram of their total time.
//!
//! The slices start one second wide and widen (1 s, 2 s, 10 s, 30 s, 1 min,
//! 5 min, …, each width a multiple of the one before) whenever a group has
//! more than [`MAX_SLICES`] of them, so memory stays bounded whatever the
//! log's span, and two parts of a log merge by widening to the wider of the
//! two. Charts need a few hundred points, not every second.

use crate::histogram::{log_index, log_lowest};

/// Slice widths in seconds; each divides the next.
const WIDTHS: &[i64] = &[
    1, 2, 10, 30, 60, 300, 600, 1800, 3600, 7200, 21_600, 43_200, 86_400, 604_800,
];

/// Slices a group keeps before it widens them.
pub const MAX_SLICES: usize = 400;

/// 16 buckets per power of two (values below 32 have a bucket each), so
/// a bucket is less than 1/16 (6.25 %) of its values wide: plenty for a
/// chart's line, and small enough to keep per slice.
const SUB_BITS: u32 = 4;

/// The bucket of `v`.
#[inline]
fn index(v: u64) -> usize {
    log_index::<SUB_BITS>(v)
}

/// The lowest value of bucket `i`.
fn lowest(i: usize) -> u64 {
    log_lowest::<SUB_BITS>(i)
}

/// One slice's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Slice {
    pub requests: u64,
    pub failed: u64,
    /// Total times (Tt) by bucket; as long as the largest bucket used.
    tt: Vec<u32>,
    tt_count: u64,
    tt_max: u64,
}

impl Slice {
    #[inline]
    fn add(&mut self, tt: Option<u64>, failed: bool) {
        self.requests += 1;
        self.failed += u64::from(failed);
        if let Some(v) = tt {
            let i = index(v);
            if i >= self.tt.len() {
                self.tt.resize(i + 1, 0);
            }
            self.tt[i] += 1;
            self.tt_count += 1;
            self.tt_max = self.tt_max.max(v);
        }
    }

    fn merge(&mut self, o: &Slice) {
        self.requests += o.requests;
        self.failed += o.failed;
        if o.tt.len() > self.tt.len() {
            self.tt.resize(o.tt.len(), 0);
        }
        for (a, b) in self.tt.iter_mut().zip(&o.tt) {
            *a += b;
        }
        self.tt_count += o.tt_count;
        self.tt_max = self.tt_max.max(o.tt_max);
    }

    /// Requests with a total time.
    pub fn timed(&self) -> u64 {
        self.tt_count
    }

    /// The `q` quantile (0.0–1.0) of the total time by nearest rank, to
    /// within 6.25 % below; the exact maximum for 1.0.
    pub fn tt_quantile(&self, q: f64) -> Option<u64> {
        if self.tt_count == 0 {
            return None;
        }
        if q >= 1.0 {
            return Some(self.tt_max);
        }
        let rank = ((q.max(0.0) * self.tt_count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.tt.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                return Some(lowest(i).min(self.tt_max));
            }
        }
        Some(self.tt_max)
    }
}

/// A group's slices, by start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Slices {
    /// Index into [`WIDTHS`].
    width: usize,
    /// (first second, figures), by first second.
    slices: Vec<(i64, Slice)>,
}

impl Slices {
    /// The slices' width in seconds.
    pub fn width(&self) -> i64 {
        WIDTHS[self.width]
    }

    /// (first second, figures), by first second; slices without requests
    /// are left out.
    pub fn slices(&self) -> &[(i64, Slice)] {
        &self.slices
    }

    /// Counts a request of `second` (of the log's clock).
    #[inline]
    pub fn add(&mut self, second: i64, tt: Option<u64>, failed: bool) {
        let width = WIDTHS[self.width];
        let start = second - second.rem_euclid(width);
        // Most lines come in time order: the last slice, usually.
        if let Some((s, slice)) = self.slices.last_mut() {
            if *s == start {
                slice.add(tt, failed);
                return;
            }
        }
        self.add_elsewhere(start, tt, failed);
    }

    #[inline(never)]
    fn add_elsewhere(&mut self, start: i64, tt: Option<u64>, failed: bool) {
        let at = match self.slices.binary_search_by_key(&start, |s| s.0) {
            Ok(at) => at,
            Err(at) => {
                self.slices.insert(at, (start, Slice::default()));
                at
            }
        };
        self.slices[at].1.add(tt, failed);
        self.fit();
    }

    /// Widens the slices until at most [`MAX_SLICES`] remain.
    fn fit(&mut self) {
        while self.slices.len() > MAX_SLICES && self.width + 1 < WIDTHS.len() {
            self.widen(self.width + 1);
        }
    }

    /// Regroups the slices at `WIDTHS[width]` (wider than now).
    fn widen(&mut self, width: usize) {
        let w = WIDTHS[width];
        let mut wider: Vec<(i64, Slice)> = Vec::with_capacity(self.slices.len());
        for (start, slice) in std::mem::take(&mut self.slices) {
            let start = start - start.rem_euclid(w);
            match wider.last_mut() {
                Some((s, merged)) if *s == start => merged.merge(&slice),
                _ => wider.push((start, slice)),
            }
        }
        self.width = width;
        self.slices = wider;
    }

    /// The same requests in slices at least `seconds` wide (the next width
    /// of the ladder up from it): lines of several groups drawn on one
    /// chart share their slices.
    pub fn widened(&self, seconds: i64) -> Slices {
        let mut wider = self.clone();
        let to = WIDTHS
            .iter()
            .position(|&w| w >= seconds)
            .unwrap_or(WIDTHS.len() - 1);
        if to > wider.width {
            wider.widen(to);
        }
        wider
    }

    pub fn merge(&mut self, other: &Slices) {
        if other.slices.is_empty() {
            return;
        }
        let mut other = other.clone();
        if other.width < self.width {
            other.widen(self.width);
        } else if other.width > self.width {
            self.widen(other.width);
        }
        let mut merged = Vec::with_capacity(self.slices.len() + other.slices.len());
        let mut theirs = other.slices.into_iter().peekable();
        for (start, mut slice) in std::mem::take(&mut self.slices) {
            while let Some(t) = theirs.next_if(|t| t.0 < start) {
                merged.push(t);
            }
            if let Some(t) = theirs.next_if(|t| t.0 == start) {
                slice.merge(&t.1);
            }
            merged.push((start, slice));
        }
        merged.extend(theirs);
        self.slices = merged;
        self.fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn buckets_are_ordered_and_narrow() {
        let mut last = 0;
        for v in 0..200_000u64 {
            let i = index(v);
            assert!(i == last || i == last + 1, "{v}");
            last = i;
            let low = lowest(i);
            assert!(low <= v && (v - low) as f64 <= v as f64 / 16.0, "{v} {low}");
        }
        assert_eq!(lowest(index(u64::MAX)), 31 << 59);
    }

    #[test]
    fn slices_widen_past_the_limit_and_keep_every_request() {
        let mut s = Slices::default();
        for second in 0..10_000 {
            s.add(
                1_000_000 + second,
                Some(second as u64 % 100),
                second % 4 == 0,
            );
        }
        assert!(s.slices().len() <= MAX_SLICES);
        assert_eq!(s.width(), 30);
        let total: u64 = s.slices().iter().map(|(_, x)| x.requests).sum();
        let failed: u64 = s.slices().iter().map(|(_, x)| x.failed).sum();
        assert_eq!((total, failed), (10_000, 2_500));
        assert!(s.slices().iter().all(|(start, _)| start % 30 == 0));
    }

    proptest! {
        /// However a log is cut into parts, the merged slices are the
        /// whole log's.
        #[test]
        fn merging_parts_is_counting_the_whole(
            lines in proptest::collection::vec((0i64..3000, 0u64..5000, any::<bool>()), 0..1500),
            cut in 0usize..1500,
        ) {
            let cut = cut.min(lines.len());
            let mut whole = Slices::default();
            let (mut a, mut b) = (Slices::default(), Slices::default());
            for (i, &(second, tt, failed)) in lines.iter().enumerate() {
                whole.add(second, Some(tt), failed);
                if i < cut { a.add(second, Some(tt), failed) } else { b.add(second, Some(tt), failed) }
            }
            let mut ab = a.clone();
            ab.merge(&b);
            let mut ba = b;
            ba.merge(&a);
            prop_assert_eq!(&ab, &whole);
            prop_assert_eq!(&ba, &whole);
        }

        #[test]
        fn quantiles_are_within_a_sixteenth(values in proptest::collection::vec(0u64..1_000_000, 1..200), q in 0.0f64..1.0) {
            let mut slice = Slice::default();
            for &v in &values {
                slice.add(Some(v), false);
            }
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
            let exact = sorted[rank - 1];
            let got = slice.tt_quantile(q).unwrap();
            prop_assert!(got <= exact && (exact - got) as f64 <= exact as f64 / 16.0, "{} {}", got, exact);
        }
    }
}
