//! The one way aggregates combine: folded per chunk on any thread, merged
//! in any order (xsv's `Commute`). Merging is associative and commutative,
//! so a result does not depend on how the input was cut or scheduled, and
//! a time window can be answered by merging its slots.

/// An aggregate that absorbs another of its kind.
pub trait Merge {
    /// Adds `other`'s part of the input to this one.
    fn merge(&mut self, other: Self);
}

/// All parts merged into one; `None` when there are none.
pub fn merge_all<A: Merge>(parts: impl IntoIterator<Item = A>) -> Option<A> {
    let mut parts = parts.into_iter();
    let mut total = parts.next()?;
    for part in parts {
        total.merge(part);
    }
    Some(total)
}

impl Merge for u64 {
    fn merge(&mut self, other: u64) {
        *self += other;
    }
}

impl Merge for crate::Histogram {
    fn merge(&mut self, other: crate::Histogram) {
        crate::Histogram::merge(self, &other);
    }
}

impl Merge for crate::histogram::SparseHistogram {
    fn merge(&mut self, other: crate::histogram::SparseHistogram) {
        crate::histogram::SparseHistogram::merge(self, &other);
    }
}

impl<A: Merge, B: Merge> Merge for (A, B) {
    fn merge(&mut self, other: (A, B)) {
        self.0.merge(other.0);
        self.1.merge(other.1);
    }
}
