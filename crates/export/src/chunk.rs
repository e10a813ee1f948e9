//! Parquet column chunks, encoded as the rows come.
//!
//! Why not the Arrow writer: it wants arrays first, then hashes every
//! value again for its dictionaries, walks the levels of each array and
//! makes a zstd context per page. Here a value is hashed once, when it is
//! read; a run of NULLs (a format leaves a third of the columns empty)
//! costs a counter; and one zstd context per worker serves every page.
//! On the 2M-line bench log this took the export from 2.56 s of CPU to
//! 2.01 s, and the file from 57.2 MB to 55.8 MB. The parquet crate still writes the pages'
//! headers, the row groups and the footer ([`EncodedColumn`] goes through
//! `SerializedRowGroupWriter::append_column`).
//!
//! A chunk is one v1 data page (levels, then values) after an optional
//! dictionary page: each worker's chunk of input becomes one row group of
//! about 80,000 rows.

use std::hash::{BuildHasher, Hasher};

use bytes::Bytes;
use foldhash::fast::FixedState;
use parquet::basic::{Compression, Encoding, Type as PhysicalType, ZstdLevel};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// Bits to write `max`: the width of levels and dictionary keys.
fn bits(max: u64) -> u8 {
    (u64::BITS - max.leading_zeros()) as u8
}

/// Levels (definition or repetition), as runs of one value: most columns
/// are all present or all absent in a format, so a chunk has few runs.
#[derive(Default)]
struct Levels {
    runs: Vec<(u8, u32)>,
}

impl Levels {
    #[inline]
    fn push(&mut self, level: u8) {
        self.push_n(level, 1);
    }

    #[inline]
    fn push_n(&mut self, level: u8, count: u32) {
        match self.runs.last_mut() {
            Some((l, n)) if *l == level => *n += count,
            _ => self.runs.push((level, count)),
        }
    }

    fn len(&self) -> usize {
        self.runs.iter().map(|&(_, n)| n as usize).sum()
    }

    /// A v1 page's levels: their length in 4 bytes, then the RLE and
    /// bit-packing hybrid.
    fn encode(&self, max_level: i16, out: &mut Vec<u8>) {
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        let mut encoder = Hybrid::new(bits(max_level as u64), out);
        for &(level, count) in &self.runs {
            encoder.run(level, count as usize);
        }
        encoder.finish();
        let len = (out.len() - at - 4) as u32;
        out[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }
}

/// Parquet's RLE and bit-packing hybrid, for levels: a run of 8 or more
/// equal values is one (count, value) pair, anything else is packed
/// `width` bits each, in groups of 8.
struct Hybrid<'o> {
    /// 8 at most: a group of 8 packs into `width` bytes.
    width: u8,
    out: &'o mut Vec<u8>,
    /// Values waiting to be bit-packed.
    pending: Vec<u8>,
}

impl<'o> Hybrid<'o> {
    fn new(width: u8, out: &'o mut Vec<u8>) -> Hybrid<'o> {
        debug_assert!(width <= 8, "levels of {width} bits");
        Hybrid {
            width,
            out,
            pending: Vec::new(),
        }
    }

    /// `count` times `value`.
    #[inline]
    fn run(&mut self, value: u8, mut count: usize) {
        // Complete the group being packed first: a run starts on a group's
        // boundary.
        while count > 0 && !self.pending.len().is_multiple_of(8) {
            self.pending.push(value);
            count -= 1;
        }
        if count >= 8 {
            self.pack();
            rle_run(value.into(), count, self.width, self.out);
        } else {
            self.pending.extend(std::iter::repeat_n(value, count));
        }
    }

    /// Writes the pending values as one bit-packed run, the last group
    /// padded with zeros.
    fn pack(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let groups = self.pending.len().div_ceil(8);
        self.pending.resize(groups * 8, 0);
        varint(self.out, ((groups as u64) << 1) | 1);
        // A group at a time (levels alternate in columns with NULLs and
        // in lists: packing them a value at a time showed in profiles).
        let width = usize::from(self.width);
        for group in self.pending.chunks_exact(8) {
            let packed = group
                .iter()
                .enumerate()
                .fold(0u64, |acc, (i, &v)| acc | (u64::from(v) << (i * width)));
            self.out.extend_from_slice(&packed.to_le_bytes()[..width]);
        }
        self.pending.clear();
    }

    fn finish(mut self) {
        self.pack();
    }
}

/// A run of the hybrid: `count` (8 or more) times `value`.
fn rle_run(value: u64, count: usize, width: u8, out: &mut Vec<u8>) {
    varint(out, (count as u64) << 1);
    let bytes = (width as usize).div_ceil(8);
    out.extend_from_slice(&value.to_le_bytes()[..bytes]);
}

/// `values` packed `width` bits each, the first in the lowest bits; the
/// last byte padded with zeros.
#[inline]
fn bit_pack(values: impl IntoIterator<Item = u64>, width: u8, out: &mut Vec<u8>) {
    let (mut acc, mut held) = (0u128, 0u32);
    for v in values {
        acc |= u128::from(v) << held;
        held += u32::from(width);
        while held >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            held -= 8;
        }
    }
    if held > 0 {
        out.push(acc as u8);
    }
}

/// ULEB128, as Parquet's headers write counts.
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// DELTA_BINARY_PACKED: blocks of 128 deltas, in 4 miniblocks of 32, each
/// miniblock packed to the width of its largest delta above the block's
/// least.
fn delta_binary_packed(values: &[i64], out: &mut Vec<u8>) {
    const BLOCK: usize = 128;
    const MINIBLOCKS: usize = 4;
    const MINI: usize = BLOCK / MINIBLOCKS;
    varint(out, BLOCK as u64);
    varint(out, MINIBLOCKS as u64);
    varint(out, values.len() as u64);
    varint(out, zigzag(values.first().copied().unwrap_or(0)));
    let deltas: Vec<i64> = values.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let mut packed = [0u64; MINI];
    for block in deltas.chunks(BLOCK) {
        let min = block.iter().copied().min().unwrap_or(0);
        varint(out, zigzag(min));
        let minis: Vec<&[i64]> = block.chunks(MINI).collect();
        let widths: Vec<u8> = minis
            .iter()
            .map(|m| {
                bits(
                    m.iter()
                        .map(|&d| d.wrapping_sub(min) as u64)
                        .max()
                        .unwrap_or(0),
                )
            })
            .collect();
        for i in 0..MINIBLOCKS {
            // The widths of miniblocks the last block does not need are 0.
            out.push(widths.get(i).copied().unwrap_or(0));
        }
        for (mini, &width) in minis.iter().zip(&widths) {
            packed.fill(0);
            for (p, &d) in packed.iter_mut().zip(mini.iter()) {
                *p = d.wrapping_sub(min) as u64;
            }
            // A short last miniblock is padded to its full length.
            bit_pack(packed, width, out);
        }
    }
}

const HASHER: FixedState = FixedState::with_seed(0x6861_706c_6f67);

/// Keys by hash, for the dictionaries: open addressing with linear
/// probing, at most half full. A slot holds the hash's upper 32 bits
/// (which also place it) and the key + 1 (0: empty), so a probe reads one
/// array and compares values only when those 32 bits agree. (hashbrown
/// reads a control array, then the bucket, then the value; this measured
/// about 2 % faster on the bench log. Slots of 32 bytes holding short
/// values whole measured slower.)
#[derive(Default)]
struct Slots {
    slots: Vec<(u32, u32)>,
    len: usize,
}

impl Slots {
    /// The key of the value whose hash is `hash` and for which `same`
    /// holds, or `new` (made a key here) if none: `(key, inserted)`.
    #[inline]
    fn find_or_insert(&mut self, hash: u64, same: impl Fn(u32) -> bool, new: u32) -> (u32, bool) {
        if self.len * 2 >= self.slots.len() {
            self.grow();
        }
        let tag = (hash >> 32) as u32;
        let mask = self.slots.len() - 1;
        let mut at = tag as usize & mask;
        loop {
            let (t, k) = self.slots[at];
            if k == 0 {
                self.slots[at] = (tag, new + 1);
                self.len += 1;
                return (new, true);
            }
            if t == tag && same(k - 1) {
                return (k - 1, false);
            }
            at = (at + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(1024);
        let old = std::mem::replace(&mut self.slots, vec![(0, 0); size]);
        let mask = size - 1;
        for (tag, k) in old.into_iter().filter(|&(_, k)| k != 0) {
            let mut at = tag as usize & mask;
            while self.slots[at].1 != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = (tag, k);
        }
    }

    fn clear(&mut self) {
        self.slots.fill((0, 0));
        self.len = 0;
    }
}

#[inline]
fn hash_bytes(v: &[u8]) -> u64 {
    let mut hasher = HASHER.build_hasher();
    hasher.write(v);
    hasher.finish()
}

/// `a == b`, without a call to libc for the short values most are.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or([0; 4]));
    match n {
        // Two words that overlap cover 8 to 16 bytes.
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

/// The distinct strings of a chunk's column, each with its key (its
/// index), stored end to end.
#[derive(Default)]
struct TextDict {
    slots: Slots,
    ends: Vec<u32>,
    bytes: Vec<u8>,
    /// The last value's address and length, and its key, for
    /// [`ColumnData::text_stable`].
    last: (usize, usize, u32),
}

fn entry<'d>(ends: &[u32], bytes: &'d [u8], key: u32) -> &'d [u8] {
    let key = key as usize;
    let start = if key == 0 { 0 } else { ends[key - 1] as usize };
    &bytes[start..ends[key] as usize]
}

impl TextDict {
    /// The key of a value that stays at its address while the chunk is
    /// built.
    #[inline]
    fn stable_key(&mut self, v: &[u8]) -> u32 {
        let at = (v.as_ptr() as usize, v.len());
        if (self.last.0, self.last.1) == at && !self.ends.is_empty() {
            return self.last.2;
        }
        let key = self.key(v);
        self.last = (at.0, at.1, key);
        key
    }

    #[inline]
    fn key(&mut self, v: &[u8]) -> u32 {
        let TextDict {
            slots, ends, bytes, ..
        } = self;
        let new = ends.len() as u32;
        let (key, inserted) =
            slots.find_or_insert(hash_bytes(v), |k| same_bytes(entry(ends, bytes, k), v), new);
        if inserted {
            bytes.extend_from_slice(v);
            ends.push(bytes.len() as u32);
        }
        key
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, key: u32) -> &[u8] {
        entry(&self.ends, &self.bytes, key)
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.ends.clear();
        self.bytes.clear();
    }
}

/// Text values waiting for their keys, end to end: a chunk's values are
/// looked up column by column when it is encoded, each dictionary staying
/// in the cache for its whole column (a lookup per value as the rows came
/// took about 11 % more of the export's time, mostly in cache misses).
#[derive(Default)]
struct Staged {
    bytes: Vec<u8>,
    /// Where each value ends in `bytes`: a chunk's values are at most its
    /// input's bytes, far below 4 GiB.
    ends: Vec<u32>,
}

impl Staged {
    #[inline]
    fn push(&mut self, v: &[u8]) {
        self.bytes.extend_from_slice(v);
        self.ends.push(self.bytes.len() as u32);
    }

    /// Gives the waiting values their keys, in order.
    #[inline]
    fn resolve(&mut self, dict: &mut TextDict, keys: &mut Vec<u32>) {
        if self.ends.is_empty() {
            return;
        }
        keys.reserve(self.ends.len());
        let mut start = 0;
        for &end in &self.ends {
            keys.push(dict.key(&self.bytes[start..end as usize]));
            start = end as usize;
        }
        self.clear();
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}

/// The distinct numbers of a chunk's column.
struct IntDict {
    /// For numbers below [`SMALL`] (most timers, counts and statuses):
    /// their key + 1, or 0; one load instead of a hash and a probe.
    small: Box<[u32; SMALL]>,
    slots: Slots,
    values: Vec<i64>,
}

const SMALL: usize = 4096;

impl Default for IntDict {
    fn default() -> IntDict {
        IntDict {
            small: Box::new([0; SMALL]),
            slots: Slots::default(),
            values: Vec::new(),
        }
    }
}

/// A multiplicative hash: its upper bits, which place a value, mix all of
/// the number's.
#[inline]
fn int_hash(v: i64) -> u64 {
    (v as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl IntDict {
    #[inline]
    fn key(&mut self, v: i64) -> u32 {
        if let Some(slot) = usize::try_from(v).ok().and_then(|i| self.small.get_mut(i)) {
            if *slot == 0 {
                self.values.push(v);
                *slot = self.values.len() as u32;
            }
            return *slot - 1;
        }
        let IntDict { slots, values, .. } = self;
        let new = values.len() as u32;
        let (key, inserted) = slots.find_or_insert(int_hash(v), |k| values[k as usize] == v, new);
        if inserted {
            values.push(v);
        }
        key
    }

    fn clear(&mut self) {
        // Only the slots used, not the whole table.
        for &v in &self.values {
            if let Some(slot) = usize::try_from(v).ok().and_then(|i| self.small.get_mut(i)) {
                *slot = 0;
            }
        }
        self.slots.clear();
        self.values.clear();
    }
}

/// How a column's values are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// Strings, by dictionary.
    DictText,
    /// Strings as they come (mostly distinct: request lines, ids).
    PlainText,
    /// Numbers by dictionary (timers, counts, statuses).
    DictInt,
    /// Numbers as they come (ports, byte counts).
    PlainInt,
    /// Numbers that grow (line numbers, times): deltas.
    DeltaInt,
    Bool,
}

enum Values {
    DictText {
        dict: TextDict,
        keys: Vec<u32>,
        staged: Staged,
    },
    PlainText {
        bytes: Vec<u8>,
        count: usize,
    },
    DictInt {
        dict: IntDict,
        keys: Vec<u32>,
        staged: Vec<i64>,
    },
    PlainInt(Vec<i64>),
    DeltaInt(Vec<i64>),
    Bool(Vec<bool>),
}

/// One column's values and levels for the rows of a chunk.
pub struct ColumnData {
    descr: ColumnDescPtr,
    max_def: u8,
    max_rep: u8,
    defs: Levels,
    reps: Levels,
    values: Values,
    /// Level entries below the full definition: NULL values or elements.
    nulls: u64,
}

impl ColumnData {
    pub fn new(descr: ColumnDescPtr, storage: Storage) -> ColumnData {
        let values = match storage {
            Storage::DictText => Values::DictText {
                dict: TextDict::default(),
                keys: Vec::new(),
                staged: Staged::default(),
            },
            Storage::PlainText => Values::PlainText {
                bytes: Vec::new(),
                count: 0,
            },
            Storage::DictInt => Values::DictInt {
                dict: IntDict::default(),
                keys: Vec::new(),
                staged: Vec::new(),
            },
            Storage::PlainInt => Values::PlainInt(Vec::new()),
            Storage::DeltaInt => Values::DeltaInt(Vec::new()),
            Storage::Bool => Values::Bool(Vec::new()),
        };
        ColumnData {
            max_def: descr.max_def_level() as u8,
            max_rep: descr.max_rep_level() as u8,
            descr,
            defs: Levels::default(),
            reps: Levels::default(),
            values,
            nulls: 0,
        }
    }

    /// A NULL (or a NULL list).
    #[inline]
    pub fn null(&mut self) {
        self.nulls_of(1);
    }

    /// `n` NULLs at once.
    #[inline]
    pub fn nulls_of(&mut self, n: u32) {
        debug_assert!(self.max_def > 0, "{} is required", self.descr.name());
        self.defs.push_n(0, n);
        if self.max_rep > 0 {
            self.reps.push_n(0, n);
        }
        self.nulls += u64::from(n);
    }

    #[inline]
    fn present(&mut self) {
        if self.max_def > 0 {
            self.defs.push(self.max_def);
        }
    }

    /// A string, which must be UTF-8.
    #[inline]
    pub fn text(&mut self, v: &[u8]) {
        self.present();
        self.put_text(v);
    }

    /// A string that stays at its address while the chunk is built (the
    /// input's name, the kind, the format: the same `&str` row after row),
    /// so the last one's key is known by its address.
    #[inline]
    pub fn text_stable(&mut self, v: &str) {
        self.present();
        match &mut self.values {
            Values::DictText { dict, keys, staged } => {
                // Keys stay in row order: values that wait get theirs first
                // (a column fed by this alone has none waiting).
                staged.resolve(dict, keys);
                keys.push(dict.stable_key(v.as_bytes()))
            }
            _ => self.put_text(v.as_bytes()),
        }
    }

    #[inline]
    fn put_text(&mut self, v: &[u8]) {
        match &mut self.values {
            Values::DictText { staged, .. } => staged.push(v),
            Values::PlainText { bytes, count } => {
                bytes.extend_from_slice(&(v.len() as u32).to_le_bytes());
                bytes.extend_from_slice(v);
                *count += 1;
            }
            _ => debug_assert!(false, "{} holds no text", self.descr.name()),
        }
    }

    /// A number (of the column's width: the caller checks the range).
    #[inline]
    pub fn int(&mut self, v: i64) {
        self.present();
        match &mut self.values {
            Values::DictInt { staged, .. } => staged.push(v),
            Values::PlainInt(values) | Values::DeltaInt(values) => values.push(v),
            _ => debug_assert!(false, "{} holds no numbers", self.descr.name()),
        }
    }

    #[inline]
    pub fn boolean(&mut self, v: bool) {
        self.present();
        match &mut self.values {
            Values::Bool(values) => values.push(v),
            _ => debug_assert!(false, "{} holds no booleans", self.descr.name()),
        }
    }

    /// An element of a list column: the row's first or a later one; a
    /// NULL element for `None`.
    #[inline]
    pub fn element(&mut self, first: bool, v: Option<&[u8]>) {
        self.reps.push(if first { 0 } else { self.max_rep });
        match v {
            Some(v) => {
                self.defs.push(self.max_def);
                self.put_text(v);
            }
            None => {
                self.defs.push(self.max_def - 1);
                self.nulls += 1;
            }
        }
    }

    /// Values written (not NULLs).
    fn value_count(&self) -> usize {
        match &self.values {
            Values::DictText { keys, .. } | Values::DictInt { keys, .. } => keys.len(),
            Values::PlainText { count, .. } => *count,
            Values::PlainInt(v) | Values::DeltaInt(v) => v.len(),
            Values::Bool(v) => v.len(),
        }
    }

    /// Encodes the rows so far as a column chunk, and starts over.
    pub fn finish(&mut self, rows: u64, pages: &mut PageEncoder) -> Result<EncodedColumn> {
        // The keys of the values that wait.
        match &mut self.values {
            Values::DictText { dict, keys, staged } => staged.resolve(dict, keys),
            Values::DictInt { dict, keys, staged } => {
                keys.extend(staged.iter().map(|&v| dict.key(v)));
                staged.clear();
            }
            _ => {}
        }
        let level_entries = if self.max_def > 0 {
            self.defs.len()
        } else {
            self.value_count()
        };
        let mut body = std::mem::take(&mut pages.body);
        body.clear();
        if self.max_rep > 0 {
            self.reps.encode(self.max_rep.into(), &mut body);
        }
        if self.max_def > 0 {
            self.defs.encode(self.max_def.into(), &mut body);
        }
        let mut dictionary: Option<(Vec<u8>, usize)> = None;
        let encoding = self.encode_values(&mut body, &mut dictionary)?;
        let statistics = self.statistics();

        let mut sink = TrackedWrite::new(Vec::new());
        let mut writer = SerializedPageWriter::new(&mut sink);
        let (mut compressed, mut uncompressed) = (0i64, 0i64);
        let mut dictionary_offset = None;
        let mut encodings = vec![Encoding::RLE];
        if let Some((plain, count)) = dictionary {
            let buf = pages.compress(&plain)?;
            let page = Page::DictionaryPage {
                buf,
                num_values: count as u32,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            };
            let spec = writer.write_page(CompressedPage::new(page, plain.len()))?;
            dictionary_offset = Some(spec.offset as i64);
            compressed += spec.compressed_size as i64;
            uncompressed += spec.uncompressed_size as i64;
            encodings.push(Encoding::PLAIN);
        }
        let buf = pages.compress(&body)?;
        let page = Page::DataPage {
            buf,
            num_values: level_entries as u32,
            encoding,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        };
        let spec = writer.write_page(CompressedPage::new(page, body.len()))?;
        compressed += spec.compressed_size as i64;
        uncompressed += spec.uncompressed_size as i64;
        if !encodings.contains(&encoding) {
            encodings.push(encoding);
        }
        writer.close()?;
        pages.body = body;

        let metadata = ColumnChunkMetaData::builder(self.descr.clone())
            .set_compression(pages.compression)
            .set_encodings(encodings)
            .set_total_compressed_size(compressed)
            .set_total_uncompressed_size(uncompressed)
            .set_num_values(level_entries as i64)
            .set_data_page_offset(spec.offset as i64)
            .set_dictionary_page_offset(dictionary_offset)
            .set_statistics(statistics)
            .build()?;
        let bytes_written = sink.bytes_written() as u64;
        let bytes = Bytes::from(sink.into_inner()?);
        self.clear();
        Ok(EncodedColumn {
            bytes,
            close: ColumnCloseResult {
                bytes_written,
                rows_written: rows,
                metadata,
                bloom_filter: None,
                column_index: None,
                offset_index: None,
            },
        })
    }

    /// Appends the values to a data page's `body`, and makes the
    /// dictionary page's body if they are keys; returns their encoding.
    fn encode_values(
        &self,
        body: &mut Vec<u8>,
        dictionary: &mut Option<(Vec<u8>, usize)>,
    ) -> Result<Encoding> {
        let int32 = self.descr.physical_type() == PhysicalType::INT32;
        let plain_int = |body: &mut Vec<u8>, v: i64| {
            if int32 {
                body.extend_from_slice(&(v as i32).to_le_bytes());
            } else {
                body.extend_from_slice(&v.to_le_bytes());
            }
        };
        let plain_text = |body: &mut Vec<u8>, v: &[u8]| {
            body.extend_from_slice(&(v.len() as u32).to_le_bytes());
            body.extend_from_slice(v);
        };
        // Keys pay when values repeat: mostly distinct ones are written
        // plain (and a chunk of NULLs has no dictionary at all).
        let mut keyed = |entries: usize, keys: &[u32], write: &dyn Fn(&mut Vec<u8>, u32)| {
            if entries > 0 && entries * 2 <= keys.len().max(64) {
                let mut plain = Vec::new();
                for key in 0..entries as u32 {
                    write(&mut plain, key);
                }
                *dictionary = Some((plain, entries));
                encode_keys(keys, entries, body);
                Encoding::RLE_DICTIONARY
            } else {
                for &key in keys {
                    write(body, key);
                }
                Encoding::PLAIN
            }
        };
        match &self.values {
            Values::DictText { dict, keys, .. } => Ok(keyed(dict.len(), keys, &|out, key| {
                plain_text(out, dict.get(key))
            })),
            Values::DictInt { dict, keys, .. } => {
                Ok(keyed(dict.values.len(), keys, &|out, key| {
                    plain_int(out, dict.values[key as usize])
                }))
            }
            Values::PlainText { bytes, .. } => {
                body.extend_from_slice(bytes);
                Ok(Encoding::PLAIN)
            }
            Values::PlainInt(values) => {
                for &v in values {
                    plain_int(body, v);
                }
                Ok(Encoding::PLAIN)
            }
            Values::DeltaInt(values) => {
                if int32 {
                    return Err(ParquetError::General(format!(
                        "{}: deltas are written for 64-bit columns only",
                        self.descr.name()
                    )));
                }
                delta_binary_packed(values, body);
                Ok(Encoding::DELTA_BINARY_PACKED)
            }
            Values::Bool(values) => {
                // PLAIN booleans: one bit each, the first in the low bit.
                for group in values.chunks(8) {
                    let byte = group
                        .iter()
                        .enumerate()
                        .fold(0u8, |b, (i, &v)| b | (u8::from(v) << i));
                    body.push(byte);
                }
                Ok(Encoding::PLAIN)
            }
        }
    }

    /// The chunk's statistics: least and greatest value (taken from the
    /// dictionary where there is one) and the NULL count. Plain strings
    /// (request lines, ids) get the count only: a range of them prunes
    /// nothing.
    fn statistics(&self) -> Statistics {
        let nulls = Some(self.nulls);
        let int32 = self.descr.physical_type() == PhysicalType::INT32;
        let ints = |values: &[i64]| {
            let min = values.iter().min().copied();
            let max = values.iter().max().copied();
            if int32 {
                Statistics::int32(
                    min.map(|v| v as i32),
                    max.map(|v| v as i32),
                    None,
                    nulls,
                    false,
                )
            } else {
                Statistics::int64(min, max, None, nulls, false)
            }
        };
        match &self.values {
            Values::DictText { dict, .. } => {
                let all = (0..dict.len() as u32).map(|k| dict.get(k));
                let min = all.clone().min().map(|v| ByteArray::from(v.to_vec()));
                let max = all.max().map(|v| ByteArray::from(v.to_vec()));
                // A list's elements are not the column's rows: no range.
                if self.max_rep > 0 {
                    Statistics::byte_array(None, None, None, nulls, false)
                } else {
                    Statistics::byte_array(min, max, None, nulls, false)
                }
            }
            Values::PlainText { .. } => Statistics::byte_array(None, None, None, nulls, false),
            Values::DictInt { dict, .. } => ints(&dict.values),
            Values::PlainInt(values) | Values::DeltaInt(values) => ints(values),
            Values::Bool(values) => Statistics::boolean(
                values.iter().min().copied(),
                values.iter().max().copied(),
                None,
                nulls,
                false,
            ),
        }
    }

    fn clear(&mut self) {
        self.defs.runs.clear();
        self.reps.runs.clear();
        self.nulls = 0;
        match &mut self.values {
            Values::DictText { dict, keys, staged } => {
                dict.clear();
                keys.clear();
                staged.clear();
            }
            Values::PlainText { bytes, count } => {
                bytes.clear();
                *count = 0;
            }
            Values::DictInt { dict, keys, staged } => {
                dict.clear();
                keys.clear();
                staged.clear();
            }
            Values::PlainInt(v) | Values::DeltaInt(v) => v.clear(),
            Values::Bool(v) => v.clear(),
        }
    }
}

/// Dictionary keys in a data page: their bit width in a byte, then the
/// RLE and bit-packing hybrid.
fn encode_keys(keys: &[u32], entries: usize, body: &mut Vec<u8>) {
    let width = bits(entries.saturating_sub(1) as u64).max(1);
    body.push(width);
    // By groups of 8 from the start: a group of one key (and the equal
    // groups after it) is a repeated run, the others are bit-packed. Runs
    // that do not start on a group are packed: keys rarely repeat much
    // unless a column is constant, and this keeps the loop simple.
    let groups: Vec<&[u32]> = keys.chunks(8).collect();
    let mut packed_from = 0;
    let mut g = 0;
    while g < groups.len() {
        let group = groups[g];
        let key = group[0];
        if group.len() == 8 && group.iter().all(|&k| k == key) {
            let mut end = g + 1;
            while end < groups.len()
                && groups[end].len() == 8
                && groups[end].iter().all(|&k| k == key)
            {
                end += 1;
            }
            pack_groups(&groups[packed_from..g], width, body);
            rle_run(u64::from(key), (end - g) * 8, width, body);
            g = end;
            packed_from = end;
        } else {
            g += 1;
        }
    }
    pack_groups(&groups[packed_from..], width, body);
}

/// Groups of 8 keys as one bit-packed run (the last group padded).
fn pack_groups(groups: &[&[u32]], width: u8, out: &mut Vec<u8>) {
    if groups.is_empty() {
        return;
    }
    varint(out, ((groups.len() as u64) << 1) | 1);
    // Not `bit_pack`: keys are at most 32 bits, and flushing 32 bits at a
    // time from a u64 measured 6 % faster on the whole export.
    let width = u32::from(width);
    for group in groups {
        // 8 values of `width` bits make `width` whole bytes.
        let (mut acc, mut held) = (0u64, 0u32);
        for i in 0..8 {
            acc |= u64::from(group.get(i).copied().unwrap_or(0)) << held;
            held += width;
            if held >= 32 {
                out.extend_from_slice(&(acc as u32).to_le_bytes());
                acc >>= 32;
                held -= 32;
            }
        }
        out.extend_from_slice(&acc.to_le_bytes()[..(held / 8) as usize]);
    }
}

/// A column chunk ready to append to a row group.
pub struct EncodedColumn {
    pub bytes: Bytes,
    pub close: ColumnCloseResult,
}

/// What pages are compressed with: one zstd context, reused.
pub struct PageEncoder {
    zstd: zstd::bulk::Compressor<'static>,
    compression: Compression,
    /// A data page's body, kept for its allocation.
    body: Vec<u8>,
}

impl PageEncoder {
    pub fn new(level: i32) -> Result<PageEncoder> {
        let zstd_level = ZstdLevel::try_new(level)?;
        let zstd =
            zstd::bulk::Compressor::new(level).map_err(|e| ParquetError::External(Box::new(e)))?;
        Ok(PageEncoder {
            zstd,
            compression: Compression::ZSTD(zstd_level),
            body: Vec::new(),
        })
    }

    fn compress(&mut self, data: &[u8]) -> Result<Bytes> {
        self.zstd
            .compress(data)
            .map(Bytes::from)
            .map_err(|e| ParquetError::External(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_widths() {
        assert_eq!(bits(0), 0);
        assert_eq!(bits(1), 1);
        assert_eq!(bits(3), 2);
        assert_eq!(bits(255), 8);
        assert_eq!(bits(256), 9);
    }

    #[test]
    fn same_bytes_is_equality() {
        let words: Vec<Vec<u8>> = (0..40)
            .flat_map(|n| {
                [
                    vec![b'a'; n],
                    [vec![b'a'; n.saturating_sub(1)], vec![b'b']].concat(),
                ]
            })
            .chain((0..40).map(|n| [vec![b'b'], vec![b'a'; n]].concat()))
            .collect();
        for a in &words {
            for b in &words {
                assert_eq!(same_bytes(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn dictionaries_give_one_key_per_distinct_value() {
        let mut text = TextDict::default();
        let words: Vec<String> = (0..5000).map(|i| format!("w{}", i % 700)).collect();
        let keys: Vec<u32> = words.iter().map(|w| text.key(w.as_bytes())).collect();
        assert_eq!(text.len(), 700);
        for (w, &k) in words.iter().zip(&keys) {
            assert_eq!(text.get(k), w.as_bytes());
        }
        let mut ints = IntDict::default();
        let keys: Vec<u32> = (0..5000i64).map(|i| ints.key(i % 300 - 7)).collect();
        assert_eq!(ints.values.len(), 300);
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(ints.values[k as usize], i as i64 % 300 - 7);
        }
    }
}

/// Chunks written by [`ColumnData`] read back by the parquet crate's own
/// reader: the hand-made encodings must mean what they say.
#[cfg(test)]
mod round_trip {
    use std::sync::Arc;

    use arrow_array::{Array, BooleanArray, Int32Array, Int64Array, ListArray, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ArrowSchemaConverter;
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    enum Cell {
        Int(Option<i64>),
        Text(Option<String>),
        Bool(Option<bool>),
        List(Option<Vec<Option<String>>>),
    }

    /// Writes `groups` (a row group each) of one column, and reads the
    /// column back.
    fn round_trip(field: Field, storage: Storage, groups: &[Vec<Cell>]) -> Vec<Cell> {
        let schema = Arc::new(Schema::new(vec![field.clone()]));
        let parquet = ArrowSchemaConverter::new().convert(&schema).unwrap();
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap()))
            .build();
        let mut writer =
            SerializedFileWriter::new(Vec::new(), parquet.root_schema_ptr(), Arc::new(properties))
                .unwrap();
        let mut column = ColumnData::new(parquet.column(0), storage);
        let mut pages = PageEncoder::new(3).unwrap();
        for group in groups {
            for cell in group {
                match cell {
                    Cell::Int(Some(v)) => column.int(*v),
                    // Some by the path for values that keep their address,
                    // mixed with the others: keys stay in row order.
                    Cell::Text(Some(v)) if v.starts_with('a') && storage == Storage::DictText => {
                        column.text_stable(v)
                    }
                    Cell::Text(Some(v)) => column.text(v.as_bytes()),
                    Cell::Bool(Some(v)) => column.boolean(*v),
                    Cell::List(Some(items)) => {
                        for (i, item) in items.iter().enumerate() {
                            column.element(i == 0, item.as_deref().map(str::as_bytes));
                        }
                    }
                    _ => column.null(),
                }
            }
            let encoded = column.finish(group.len() as u64, &mut pages).unwrap();
            let mut row_group = writer.next_row_group().unwrap();
            row_group
                .append_column(&encoded.bytes, encoded.close)
                .unwrap();
            row_group.close().unwrap();
        }
        let file = Bytes::from(writer.into_inner().unwrap());
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let mut cells = Vec::new();
        for batch in reader {
            let array = batch.unwrap().column(0).clone();
            let any = array.as_any();
            let valid = |i: usize| array.is_valid(i);
            for i in 0..array.len() {
                cells.push(match field.data_type() {
                    DataType::Int32 => {
                        let a = any.downcast_ref::<Int32Array>().unwrap();
                        Cell::Int(valid(i).then(|| i64::from(a.value(i))))
                    }
                    DataType::Int64 => {
                        let a = any.downcast_ref::<Int64Array>().unwrap();
                        Cell::Int(valid(i).then(|| a.value(i)))
                    }
                    DataType::Utf8 => {
                        let a = any.downcast_ref::<StringArray>().unwrap();
                        Cell::Text(valid(i).then(|| a.value(i).to_string()))
                    }
                    DataType::Boolean => {
                        let a = any.downcast_ref::<BooleanArray>().unwrap();
                        Cell::Bool(valid(i).then(|| a.value(i)))
                    }
                    _ => {
                        let a = any.downcast_ref::<ListArray>().unwrap();
                        Cell::List(valid(i).then(|| {
                            let items = a.value(i);
                            let items = items.as_any().downcast_ref::<StringArray>().unwrap();
                            (0..items.len())
                                .map(|j| items.is_valid(j).then(|| items.value(j).to_string()))
                                .collect()
                        }))
                    }
                });
            }
        }
        cells
    }

    /// Runs of values (the encodings treat runs of 8 and more apart).
    fn runs<T: Clone + std::fmt::Debug>(
        value: impl Strategy<Value = T>,
    ) -> impl Strategy<Value = Vec<Vec<T>>> {
        let group = prop::collection::vec((value, 1usize..20), 0..60).prop_map(|runs| {
            runs.into_iter()
                .flat_map(|(v, n)| std::iter::repeat_n(v, n))
                .collect::<Vec<T>>()
        });
        prop::collection::vec(group, 1..4)
    }

    fn check(field: Field, storage: Storage, groups: Vec<Vec<Cell>>) {
        let back = round_trip(field, storage, &groups);
        assert_eq!(back, groups.concat());
    }

    fn int(range: std::ops::Range<i64>) -> impl Strategy<Value = Cell> {
        prop_oneof![
            1 => Just(Cell::Int(None)),
            3 => (0i64..40).prop_map(|v| Cell::Int(Some(v))),
            2 => range.prop_map(|v| Cell::Int(Some(v))),
        ]
    }

    fn text() -> impl Strategy<Value = Cell> {
        prop_oneof![
            1 => Just(Cell::Text(None)),
            3 => "[a-c]{0,2}".prop_map(|v| Cell::Text(Some(v))),
            2 => "\\PC{0,12}".prop_map(|v| Cell::Text(Some(v))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn numbers(groups in runs(int(i32::MIN as i64..i32::MAX as i64))) {
            let field = Field::new("n", DataType::Int32, true);
            check(field.clone(), Storage::DictInt, groups.clone());
            check(field, Storage::PlainInt, groups);
        }

        #[test]
        fn wide_numbers(groups in runs(int(i64::MIN..i64::MAX))) {
            check(Field::new("n", DataType::Int64, true), Storage::DictInt, groups);
        }

        #[test]
        fn deltas(groups in runs(prop_oneof![
            3 => (0i64..1000).prop_map(|v| Cell::Int(Some(v * 1000))),
            1 => any::<i64>().prop_map(|v| Cell::Int(Some(v))),
        ])) {
            check(Field::new("ts", DataType::Int64, false), Storage::DeltaInt, groups);
        }

        #[test]
        fn strings(groups in runs(text())) {
            let field = Field::new("s", DataType::Utf8, true);
            check(field.clone(), Storage::DictText, groups.clone());
            check(field, Storage::PlainText, groups);
        }

        #[test]
        fn booleans(groups in runs(prop_oneof![
            Just(Cell::Bool(None)), any::<bool>().prop_map(|v| Cell::Bool(Some(v)))
        ])) {
            check(Field::new("b", DataType::Boolean, true), Storage::Bool, groups);
        }

        #[test]
        fn lists(groups in runs(prop_oneof![
            1 => Just(Cell::List(None)),
            3 => prop::collection::vec(prop::option::of("[a-d]{1,3}"), 1..4)
                .prop_map(|items| Cell::List(Some(items))),
        ])) {
            let item = Arc::new(Field::new("item", DataType::Utf8, true));
            check(Field::new("l", DataType::List(item), true), Storage::DictText, groups);
        }
    }
}
