//! A histogram of non-negative integer durations (milliseconds) whose
//! percentiles are exact below 2048 and within 0.1 % above.
//!
//! Values below 2048 have a bucket each. Above, each power of two is cut
//! into 1024 equal buckets, so a bucket spans less than 1/1024 of its
//! values: reporting its lowest value errs by under 0.098 %. Buckets are
//! allocated up to the largest value seen (a timer of an hour needs ~14k).
//!
//! The first [`FEW`] values are kept as they are, and the buckets made only
//! when more come: a live view keeps a histogram per server per second,
//! most of which hold a handful of values, and 16 KB of zeroed buckets for
//! each would cost more than the values. The answers are the same either
//! way: a value kept aside counts as its bucket.

/// Values kept aside before the buckets are made.
const FEW: usize = 32;

/// 2^10 buckets per power of two: values below 2048 have a bucket each.
const SUB_BITS: u32 = 10;

#[derive(Clone, Debug)]
pub struct Histogram {
    /// The buckets; empty while the values are [`Histogram::few`].
    counts: Vec<u64>,
    /// The values, while there are at most [`FEW`] and no buckets.
    few: Vec<u64>,
    total: u64,
    /// `u64::MAX` while empty (no `Option`: this is on every line's path).
    min: u64,
    max: u64,
    sum: u128,
}

impl PartialEq for Histogram {
    /// The same values counted, whether kept aside or in buckets.
    fn eq(&self, other: &Histogram) -> bool {
        self.total == other.total
            && self.min == other.min
            && self.max == other.max
            && self.sum == other.sum
            && SparseHistogram::from(self).buckets == SparseHistogram::from(other).buckets
    }
}

impl Eq for Histogram {}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            counts: Vec::new(),
            few: Vec::new(),
            total: 0,
            min: u64::MAX,
            max: 0,
            sum: 0,
        }
    }
}

/// The bucket of `v` in a log-linear layout of `2^SUB_BITS` buckets per
/// power of two: values below `2^(SUB_BITS + 1)` have a bucket each, and
/// above, a value's bucket is its top `SUB_BITS + 1` bits. Shared with
/// the coarser per-slice histograms of [`crate::slices`].
#[inline]
pub(crate) fn log_index<const SUB_BITS: u32>(v: u64) -> usize {
    let sub_buckets = 1u64 << SUB_BITS;
    if v < 2 * sub_buckets {
        return v as usize;
    }
    // v has `bits` significant bits (SUB_BITS + 2 or more); keep the top
    // SUB_BITS + 1 of them: the leading one and SUB_BITS below it.
    let bits = 64 - v.leading_zeros();
    let shift = bits - 1 - SUB_BITS;
    let sub = (v >> shift) - sub_buckets;
    ((u64::from(shift) + 1) * sub_buckets + sub) as usize
}

/// The lowest value of bucket `i` of [`log_index`].
pub(crate) fn log_lowest<const SUB_BITS: u32>(i: usize) -> u64 {
    let sub_buckets = 1u64 << SUB_BITS;
    let i = i as u64;
    if i < 2 * sub_buckets {
        return i;
    }
    let shift = i / sub_buckets - 1;
    (sub_buckets + i % sub_buckets) << shift
}

/// The bucket of `v`.
#[inline]
fn index(v: u64) -> usize {
    log_index::<SUB_BITS>(v)
}

/// The lowest value of bucket `i`.
fn lowest(i: usize) -> u64 {
    log_lowest::<SUB_BITS>(i)
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram::default()
    }

    #[inline]
    pub fn add(&mut self, v: u64) {
        if self.counts.is_empty() && self.few.len() < FEW {
            self.few.push(v);
        } else {
            self.bucket(v);
        }
        self.total += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += u128::from(v);
    }

    /// Counts `v` in its bucket (the buckets made first, if need be).
    #[inline]
    fn bucket(&mut self, v: u64) {
        if !self.few.is_empty() {
            self.spill();
        }
        let i = index(v);
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
    }

    /// Moves the values kept aside into buckets.
    #[cold]
    fn spill(&mut self) {
        let few = std::mem::take(&mut self.few);
        for v in few {
            let i = index(v);
            if i >= self.counts.len() {
                self.counts.resize(i + 1, 0);
            }
            self.counts[i] += 1;
        }
    }

    pub fn merge(&mut self, other: &Histogram) {
        if other.total == 0 {
            return;
        }
        if self.counts.is_empty()
            && other.counts.is_empty()
            && self.few.len() + other.few.len() <= FEW
        {
            self.few.extend_from_slice(&other.few);
        } else {
            if !self.few.is_empty() || self.counts.is_empty() {
                self.spill();
            }
            for &v in &other.few {
                self.bucket(v);
            }
            if other.counts.len() > self.counts.len() {
                self.counts.resize(other.counts.len(), 0);
            }
            for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
                *mine += theirs;
            }
        }
        self.total += other.total;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn min(&self) -> Option<u64> {
        (self.total > 0).then_some(self.min)
    }

    /// The largest value, exact.
    pub fn max(&self) -> Option<u64> {
        (self.total > 0).then_some(self.max)
    }

    pub fn mean(&self) -> Option<f64> {
        (self.total > 0).then(|| self.sum as f64 / self.total as f64)
    }

    /// The `q` quantile (0.0–1.0) by nearest rank: the smallest value with
    /// at least `ceil(q * n)` values at or below it (the first value for
    /// q = 0). Exact below 2048, else within 0.1 % below the true value;
    /// never above the maximum.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        if self.counts.is_empty() {
            // As its bucket would say it: the bucket's lowest value.
            let mut values = self.few.clone();
            values.sort_unstable();
            let v = values[(rank as usize).min(values.len()) - 1];
            return Some(lowest(index(v)).clamp(self.min, self.max));
        }
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(lowest(i).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

/// A [`Histogram`]'s non-empty buckets only: what a per-second slot of a
/// live view keeps (a second's requests fill few buckets), merged and
/// turned back into a [`Histogram`] to answer with the same percentiles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SparseHistogram {
    /// (bucket, count), by bucket.
    buckets: Vec<(u32, u64)>,
    total: u64,
    min: u64,
    max: u64,
    sum: u128,
}

impl Default for SparseHistogram {
    fn default() -> SparseHistogram {
        SparseHistogram::from(&Histogram::default())
    }
}

impl From<&Histogram> for SparseHistogram {
    fn from(h: &Histogram) -> SparseHistogram {
        if h.counts.is_empty() {
            let mut indexes: Vec<u32> = h.few.iter().map(|&v| index(v) as u32).collect();
            indexes.sort_unstable();
            let mut buckets: Vec<(u32, u64)> = Vec::with_capacity(indexes.len());
            for i in indexes {
                match buckets.last_mut() {
                    Some((last, n)) if *last == i => *n += 1,
                    _ => buckets.push((i, 1)),
                }
            }
            return SparseHistogram {
                buckets,
                total: h.total,
                min: h.min,
                max: h.max,
                sum: h.sum,
            };
        }
        let mut buckets = Vec::new();
        // Most of a second's buckets are empty: skip eight at a time.
        let mut chunks = h.counts.chunks_exact(8);
        for (c, chunk) in (&mut chunks).enumerate() {
            if chunk.iter().fold(0, |a, &b| a | b) == 0 {
                continue;
            }
            for (j, &n) in chunk.iter().enumerate() {
                if n > 0 {
                    buckets.push(((c * 8 + j) as u32, n));
                }
            }
        }
        let base = h.counts.len() - chunks.remainder().len();
        for (j, &n) in chunks.remainder().iter().enumerate() {
            if n > 0 {
                buckets.push(((base + j) as u32, n));
            }
        }
        SparseHistogram {
            buckets,
            total: h.total,
            min: h.min,
            max: h.max,
            sum: h.sum,
        }
    }
}

impl SparseHistogram {
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The same histogram, dense: its percentiles are the dense one's.
    pub fn to_histogram(&self) -> Histogram {
        let mut counts = vec![0; self.buckets.last().map_or(0, |b| b.0 as usize + 1)];
        for &(i, c) in &self.buckets {
            counts[i as usize] = c;
        }
        Histogram {
            counts,
            few: Vec::new(),
            total: self.total,
            min: self.min,
            max: self.max,
            sum: self.sum,
        }
    }

    /// Buckets of values at most `v`, counted (a Prometheus bucket `le`):
    /// exact below 2048, else the buckets that start at or below `v`.
    pub fn count_at_most(&self, v: u64) -> u64 {
        let last = index(v) as u32;
        self.buckets
            .iter()
            .take_while(|b| b.0 <= last)
            .map(|b| b.1)
            .sum()
    }

    pub fn sum(&self) -> u128 {
        self.sum
    }

    pub fn merge(&mut self, other: &SparseHistogram) {
        if other.total == 0 {
            return;
        }
        self.total += other.total;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        // A second's few buckets into a long run's many: in place.
        if other.buckets.len() * 16 < self.buckets.len() {
            for &(i, c) in &other.buckets {
                match self.buckets.binary_search_by_key(&i, |b| b.0) {
                    Ok(at) => self.buckets[at].1 += c,
                    Err(at) => self.buckets.insert(at, (i, c)),
                }
            }
            return;
        }
        let mut merged = Vec::with_capacity(self.buckets.len() + other.buckets.len());
        let (mut a, mut b) = (
            self.buckets.iter().peekable(),
            other.buckets.iter().peekable(),
        );
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.0 == y.0 => {
                    let sum = (x.0, x.1 + y.1);
                    a.next();
                    b.next();
                    sum
                }
                (Some(x), Some(y)) if x.0 < y.0 => *a.next().expect("peeked"),
                (Some(_), Some(_)) | (None, Some(_)) => *b.next().expect("peeked"),
                (Some(_), None) => *a.next().expect("peeked"),
                (None, None) => break,
            };
            merged.push(next);
        }
        self.buckets = merged;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Values kept aside and values in buckets answer alike, merged
        /// in any mix: each percentile is the lowest value of the bucket
        /// of the value at its nearest rank.
        #[test]
        fn few_and_buckets_answer_alike(
            a in prop::collection::vec(0u64..100_000, 0..80),
            b in prop::collection::vec(0u64..100_000, 0..80),
        ) {
            let of = |values: &[u64]| {
                let mut h = Histogram::new();
                for v in values {
                    h.add(*v);
                }
                h
            };
            let mut merged = of(&a);
            merged.merge(&of(&b));
            let mut all: Vec<u64> = a.iter().chain(&b).copied().collect();
            let whole = of(&all);
            prop_assert_eq!(&merged, &whole);
            all.sort_unstable();
            for q in [0.0, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0] {
                let expected = (!all.is_empty()).then(|| {
                    let rank = ((q * all.len() as f64).ceil() as usize).max(1);
                    lowest(index(all[rank - 1])).clamp(all[0], *all.last().unwrap())
                });
                prop_assert_eq!(merged.quantile(q), expected, "q {}", q);
                prop_assert_eq!(whole.quantile(q), expected, "q {}", q);
            }
        }

        /// Sparse parts merged give the dense merge's percentiles.
        #[test]
        fn sparse_merges_equal_dense(
            a in prop::collection::vec(0u64..50_000, 0..200),
            b in prop::collection::vec(0u64..50_000, 0..200),
        ) {
            let dense = |values: &[u64]| {
                let mut h = Histogram::new();
                for v in values {
                    h.add(*v);
                }
                h
            };
            let mut sparse = SparseHistogram::from(&dense(&a));
            sparse.merge(&SparseHistogram::from(&dense(&b)));
            let all: Vec<u64> = a.iter().chain(&b).copied().collect();
            let whole = dense(&all);
            let back = sparse.to_histogram();
            for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
                prop_assert_eq!(back.quantile(q), whole.quantile(q));
            }
            prop_assert_eq!(back.count(), whole.count());
            prop_assert_eq!(back.mean(), whole.mean());
            prop_assert_eq!(sparse.count_at_most(100), all.iter().filter(|v| **v <= 100).count() as u64);
        }
    }

    #[test]
    fn buckets_tile_the_values() {
        for v in (0..100_000u64).chain([u64::MAX / 2, u64::MAX]) {
            let i = index(v);
            assert!(lowest(i) <= v, "{v}");
            if i + 1 < index(u64::MAX) {
                assert!(lowest(i + 1) > v, "{v}");
            }
        }
        assert_eq!(index(2047), 2047);
        assert_eq!(index(2048), 2048);
        assert_eq!(lowest(index(3_600_000)), 3_598_336);
    }

    #[test]
    fn small_values_are_exact() {
        let mut h = Histogram::new();
        for v in 1..=100 {
            h.add(v);
        }
        assert_eq!(h.quantile(0.5), Some(50));
        assert_eq!(h.quantile(0.9), Some(90));
        assert_eq!(h.quantile(0.99), Some(99));
        assert_eq!(h.quantile(0.999), Some(100));
        assert_eq!(h.quantile(1.0), Some(100));
        assert_eq!(h.quantile(0.0), Some(1));
        assert_eq!(h.mean(), Some(50.5));
        assert_eq!(Histogram::new().quantile(0.5), None);
    }

    fn nearest_rank(sorted: &[u64], q: f64) -> u64 {
        let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
        sorted[rank - 1]
    }

    proptest! {
        /// Quantiles are within 0.1 % of the exact nearest-rank value, and
        /// merging parts gives the histogram of the whole.
        #[test]
        fn quantiles_within_a_tenth_of_a_percent(
            values in proptest::collection::vec(prop_oneof![0u64..3000, 0u64..10_000_000], 1..400),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut whole = Histogram::new();
            for &v in &values {
                whole.add(v);
            }
            let at = cut.index(values.len());
            let (mut a, mut b) = (Histogram::new(), Histogram::new());
            values[..at].iter().for_each(|&v| a.add(v));
            values[at..].iter().for_each(|&v| b.add(v));
            b.merge(&a);
            // Buckets go up to the largest value's, so equal histograms
            // are equal field by field.
            prop_assert_eq!(&b, &whole);
            let mut sorted = values.clone();
            sorted.sort_unstable();
            for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
                let exact = nearest_rank(&sorted, q);
                let got = whole.quantile(q).unwrap();
                prop_assert!(got <= exact, "q{q}: {got} > {exact}");
                prop_assert!((exact - got) as f64 <= exact as f64 * 0.001, "q{q}: {got} vs {exact}");
            }
            prop_assert_eq!(whole.max(), sorted.last().copied());
        }
    }
}
