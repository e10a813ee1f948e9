//! Learning an input's style (its header, its envelope) from its first
//! lines, so that later lines are read with it and not tried every way.

use std::cmp::Reverse;

/// Lines looked at before an input's style is settled.
pub(crate) const LEARN_LINES: u32 = 32;

/// How often each of `N` styles was seen in an input's first lines.
#[derive(Clone, Debug)]
pub(crate) struct FirstLines<const N: usize> {
    seen: [u32; N],
    lines: u32,
}

impl<const N: usize> FirstLines<N> {
    pub(crate) fn new() -> FirstLines<N> {
        FirstLines {
            seen: [0; N],
            lines: 0,
        }
    }

    /// Counts one line, of style `index` (`None`: of none of them). Once
    /// [`LEARN_LINES`] are counted: the most frequent style (the first of
    /// equals), or `Some(None)` when none was seen; `None` before.
    pub(crate) fn count(&mut self, index: Option<usize>) -> Option<Option<usize>> {
        if let Some(i) = index {
            self.seen[i] += 1;
        }
        self.lines += 1;
        (self.lines >= LEARN_LINES).then(|| {
            (0..N)
                .filter(|&i| self.seen[i] > 0)
                .max_by_key(|&i| (self.seen[i], Reverse(i)))
        })
    }
}
