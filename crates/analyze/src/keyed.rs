//! A table of figures by byte-string key (a URL, a client address, a
//! server name), made for lookups on every line.
//!
//! Keys up to [`INLINE`] bytes live in the entry itself, and each entry
//! keeps its key's hash: a lookup reads one bucket and compares a hash
//! before any bytes, instead of chasing a pointer to a heap key (with
//! tens of thousands of URLs, that cache miss was most of a report's
//! time).

use std::hash::BuildHasher;

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

/// Keys up to this long are stored inline.
pub const INLINE: usize = 30;

#[derive(Clone, Debug)]
enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Key {
    fn new(k: &[u8]) -> Key {
        if k.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..k.len()].copy_from_slice(k);
            Key::Inline {
                len: k.len() as u8,
                bytes,
            }
        } else {
            Key::Heap(k.into())
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..*len as usize],
            Key::Heap(b) => b,
        }
    }

    /// Whether this is `key`: an inline key word by word, without a call to
    /// `memcmp` (keys are compared on every line, and are short).
    #[inline(always)]
    fn is(&self, key: &[u8]) -> bool {
        match self {
            Key::Inline { len, bytes } => {
                *len as usize == key.len() && same_short(&bytes[..key.len()], key)
            }
            Key::Heap(b) => **b == *key,
        }
    }
}

/// `a == b` for slices of one length up to [`INLINE`] bytes, by the two
/// (possibly overlapping) words at each end of each 16-byte half.
#[inline(always)]
fn same_short(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    let half = |s: &[u8], i: usize| u32::from_le_bytes(s[i..i + 4].try_into().expect("4 bytes"));
    match n {
        0 => true,
        1..=3 => a == b,
        4..=8 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        9..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => {
            word(a, 0) == word(b, 0)
                && word(a, 8) == word(b, 8)
                && word(a, n - 16) == word(b, n - 16)
                && word(a, n - 8) == word(b, n - 8)
        }
    }
}

#[derive(Clone, Debug)]
struct Slot<V> {
    hash: u64,
    key: Key,
    value: V,
}

/// Figures `V` by byte-string key.
#[derive(Clone, Debug)]
pub struct Keyed<V> {
    table: HashTable<Slot<V>>,
    hasher: foldhash::fast::FixedState,
}

impl<V> Default for Keyed<V> {
    fn default() -> Keyed<V> {
        Keyed {
            table: HashTable::new(),
            // A fixed seed: every thread's table hashes alike.
            hasher: foldhash::fast::FixedState::with_seed(0x6861_706c_6f67),
        }
    }
}

impl<V: Default> Keyed<V> {
    /// The figures of `key`, created empty if new.
    pub fn entry(&mut self, key: &[u8]) -> &mut V {
        let hash = self.hasher.hash_one(key);
        let found = self
            .table
            .entry(hash, |s| s.hash == hash && s.key.is(key), |s| s.hash);
        match found {
            Entry::Occupied(e) => &mut e.into_mut().value,
            Entry::Vacant(e) => {
                let slot = Slot {
                    hash,
                    key: Key::new(key),
                    value: V::default(),
                };
                &mut e.insert(slot).into_mut().value
            }
        }
    }

    /// Merges `other` in, `merge` adding one key's figures to another's
    /// (in either direction: figures are sums and maxima, and the smaller
    /// table is merged into the larger).
    pub fn merge_with(&mut self, mut other: Keyed<V>, merge: impl Fn(&mut V, V)) {
        if other.table.len() > self.table.len() {
            std::mem::swap(self, &mut other);
        }
        for slot in other.table {
            let hash = slot.hash;
            match self
                .table
                .find_mut(hash, |s| s.hash == hash && s.key.is(slot.key.as_slice()))
            {
                Some(mine) => merge(&mut mine.value, slot.value),
                None => {
                    self.table.insert_unique(hash, slot, |s| s.hash);
                }
            }
        }
    }
}

impl<V> Keyed<V> {
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        let hash = self.hasher.hash_one(key);
        self.table
            .find(hash, |s| s.hash == hash && s.key.is(key))
            .map(|s| &s.value)
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Keys and figures, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.table.iter().map(|s| (s.key.as_slice(), &s.value))
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.table.iter().map(|s| &s.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_keys() {
        let mut k: Keyed<u64> = Keyed::default();
        let long = vec![b'x'; 100];
        for key in [&b"a"[..], b"", &long, b"a", &long[..30], &long[..31]] {
            *k.entry(key) += 1;
        }
        assert_eq!(k.len(), 5);
        assert_eq!(k.get(b"a"), Some(&2));
        assert_eq!(k.get(&long), Some(&1));
        assert_eq!(k.get(&long[..30]), Some(&1));
        assert_eq!(k.get(b"b"), None);
        let mut other: Keyed<u64> = Keyed::default();
        *other.entry(b"a") += 5;
        *other.entry(b"new") += 1;
        k.merge_with(other, |a, b| *a += b);
        assert_eq!(k.get(b"a"), Some(&7));
        assert_eq!(k.get(b"new"), Some(&1));
        assert_eq!(k.len(), 6);
    }

    #[test]
    fn short_comparisons_see_every_byte() {
        for n in 0..=INLINE {
            let a: Vec<u8> = (0..n as u8).collect();
            assert!(same_short(&a, &a.clone()), "{n}");
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 0x40;
                assert!(!same_short(&a, &b), "{n} bytes, differing at {i}");
            }
        }
    }
}
