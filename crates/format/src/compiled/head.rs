//! httplog's head, unrolled and read through byte-class bitmaps.
//!
//! Most lines of most logs are httplog (or tcplog and httpslog, which share
//! its first items). Instead of walking each field byte by byte, the head
//! classifies 64 bytes of the line at a time (spaces, slashes, digits, and
//! at the line's start colons, dots and `]`) into one bit per byte, with
//! SIMD, and finds each field's end with one shift and one bit scan. A
//! field whose fast check fails (a `-1` timer, a run of spaces, a field
//! longer than the window) is read by the interpreter's own item matcher,
//! so only the plain case needs to be right here: the steps decide the
//! rest, and tests hold both to the same answers.

use std::borrow::Cow;

use super::scan::{space, HIGHS, ONES};
use super::{item_at, separator, ItemEnd, Sep, Shape, Span, Step, MAX_ITEMS};

/// Where [`match_head`] may stop: after `%ci:%cp [%t] %ft %b/%s ` (the
/// head tcplog shares), after httplog's `%sq/%bq `, and after all of
/// httplog (httpslog continues from there).
const CHECKPOINTS: [usize; 3] = [6, 23, 26];

/// How many of `steps` the unrolled head can match: the longest checkpoint
/// up to which they equal httplog's steps (fields aside: the steps name
/// items by position).
pub(super) fn head_steps(steps: &[Step]) -> usize {
    // httplog's steps, the layout `match_head` unrolls.
    static LAYOUT: std::sync::OnceLock<Vec<Step>> = std::sync::OnceLock::new();
    let layout = LAYOUT.get_or_init(|| {
        super::CompiledFormat::build("httplog", crate::logformat::HTTPLOG)
            .expect("built-in formats compile")
            .steps
    });
    let same = steps
        .iter()
        .zip(layout.iter())
        .take_while(|(a, b)| a == b)
        .count();
    CHECKPOINTS
        .iter()
        .copied()
        .filter(|&c| c <= same)
        .max()
        .unwrap_or(0)
}

/// Which instructions build the bitmaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
    /// AVX2 with BMI1/BMI2, detected at run time.
    Avx2,
    /// SSE2, part of every x86-64.
    Sse2,
    /// A byte loop, for other machines.
    Portable,
}

impl Simd {
    /// The best this machine has.
    pub fn detect() -> Simd {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("bmi1")
                && std::arch::is_x86_feature_detected!("bmi2")
                && std::arch::is_x86_feature_detected!("lzcnt")
            {
                return Simd::Avx2;
            }
            Simd::Sse2
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Simd::Portable
        }
    }

    /// Whether this machine can run `self`.
    pub fn available(self) -> bool {
        match self {
            Simd::Portable => true,
            Simd::Sse2 => cfg!(target_arch = "x86_64"),
            Simd::Avx2 => Simd::detect() == Simd::Avx2,
        }
    }
}

/// httplog's first `upto` steps (a [`CHECKPOINTS`] value). `None` when the
/// line does not match them (the caller then runs the steps from the start,
/// which say so too, or find a cut line).
#[inline]
pub(super) fn match_head(
    simd: Simd,
    m: &[u8],
    spans: &mut [Span; MAX_ITEMS],
    upto: usize,
) -> Option<usize> {
    match simd {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Simd::Avx2` is only chosen when the CPU has AVX2, BMI1,
        // BMI2 and LZCNT (`Simd::detect`, or a caller checking
        // `Simd::available`).
        Simd::Avx2 => unsafe { match_head_avx2(m, spans, upto) },
        #[cfg(target_arch = "x86_64")]
        Simd::Sse2 => match_head_sse2(m, spans, upto),
        _ => match_head_portable(m, spans, upto),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,bmi2,lzcnt")]
#[inline(never)]
fn match_head_avx2(m: &[u8], spans: &mut [Span; MAX_ITEMS], upto: usize) -> Option<usize> {
    match_head_with::<{ AVX2 }>(m, spans, upto)
}

#[cfg(target_arch = "x86_64")]
#[inline(never)]
fn match_head_sse2(m: &[u8], spans: &mut [Span; MAX_ITEMS], upto: usize) -> Option<usize> {
    match_head_with::<{ SSE2 }>(m, spans, upto)
}

#[inline(never)]
fn match_head_portable(m: &[u8], spans: &mut [Span; MAX_ITEMS], upto: usize) -> Option<usize> {
    match_head_with::<{ PORTABLE }>(m, spans, upto)
}

const AVX2: u8 = 0;
const SSE2: u8 = 1;
const PORTABLE: u8 = 2;

/// The window's width: one bit per byte in a `u64`.
const WIDTH: usize = 64;

/// The classes of 64 bytes of the line from `base`, one bit per byte.
/// Bytes past the line's end are in no class but `nondigit`.
struct Window {
    base: usize,
    space: u64,
    slash: u64,
    nondigit: u64,
    /// Only in the window at the line's start (zero elsewhere): what the
    /// address and the date need.
    colon: u64,
    dot: u64,
    close: u64,
}

impl Window {
    #[inline(always)]
    fn new<const S: u8, const START: bool>(m: &[u8], base: usize) -> Window {
        let rest = m.get(base..).unwrap_or_default();
        let bytes: Cow<'_, [u8; WIDTH]> = match rest.first_chunk::<WIDTH>() {
            Some(bytes) => Cow::Borrowed(bytes),
            None => {
                let mut padded = [0u8; WIDTH];
                padded[..rest.len()].copy_from_slice(rest);
                Cow::Owned(padded)
            }
        };
        let bytes: &[u8; WIDTH] = &bytes;
        let mut w = Window {
            base,
            space: 0,
            slash: 0,
            nondigit: 0,
            colon: 0,
            dot: 0,
            close: 0,
        };
        match S {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the AVX2 instance only runs where the CPU has AVX2.
            AVX2 => unsafe { w.classify_avx2::<START>(bytes) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: SSE2 is part of x86-64.
            SSE2 => unsafe { w.classify_sse2::<START>(bytes) },
            _ => w.classify_portable::<START>(bytes),
        }
        w
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline]
    fn classify_avx2<const START: bool>(&mut self, bytes: &[u8; WIDTH]) {
        use std::arch::x86_64::*;
        let ptr = bytes.as_ptr() as *const __m256i;
        // SAFETY: two 32-byte loads inside the 64-byte array.
        let halves = unsafe { [_mm256_loadu_si256(ptr), _mm256_loadu_si256(ptr.add(1))] };
        macro_rules! bits {
            (|$v:ident| $test:expr) => {{
                let lo = {
                    let $v = halves[0];
                    _mm256_movemask_epi8($test) as u32 as u64
                };
                let hi = {
                    let $v = halves[1];
                    _mm256_movemask_epi8($test) as u32 as u64
                };
                lo | hi << 32
            }};
        }
        macro_rules! of {
            ($c:expr) => {{
                let c = _mm256_set1_epi8($c as i8);
                bits!(|v| _mm256_cmpeq_epi8(v, c))
            }};
        }
        self.space = of!(b' ');
        self.slash = of!(b'/');
        let zero = _mm256_set1_epi8(b'0' as i8);
        let nine = _mm256_set1_epi8(9);
        self.nondigit = !bits!(|v| {
            let d = _mm256_sub_epi8(v, zero);
            _mm256_cmpeq_epi8(_mm256_min_epu8(d, nine), d)
        });
        if START {
            self.colon = of!(b':');
            self.dot = of!(b'.');
            self.close = of!(b']');
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "sse2")]
    #[inline]
    fn classify_sse2<const START: bool>(&mut self, bytes: &[u8; WIDTH]) {
        use std::arch::x86_64::*;
        let ptr = bytes.as_ptr() as *const __m128i;
        // SAFETY: four 16-byte loads inside the 64-byte array; SSE2 is part
        // of x86-64.
        let quarters = unsafe {
            [
                _mm_loadu_si128(ptr),
                _mm_loadu_si128(ptr.add(1)),
                _mm_loadu_si128(ptr.add(2)),
                _mm_loadu_si128(ptr.add(3)),
            ]
        };
        macro_rules! bits {
            (|$v:ident| $test:expr) => {{
                let mut out = 0;
                for (k, &$v) in quarters.iter().enumerate() {
                    out |= (_mm_movemask_epi8($test) as u32 as u64) << (16 * k);
                }
                out
            }};
        }
        macro_rules! of {
            ($c:expr) => {{
                let c = _mm_set1_epi8($c as i8);
                bits!(|v| _mm_cmpeq_epi8(v, c))
            }};
        }
        self.space = of!(b' ');
        self.slash = of!(b'/');
        let zero = _mm_set1_epi8(b'0' as i8);
        let nine = _mm_set1_epi8(9);
        self.nondigit = !bits!(|v| {
            let d = _mm_sub_epi8(v, zero);
            _mm_cmpeq_epi8(_mm_min_epu8(d, nine), d)
        });
        if START {
            self.colon = of!(b':');
            self.dot = of!(b'.');
            self.close = of!(b']');
        }
    }

    /// Eight bytes at a time in plain integers, for machines without the
    /// SIMD paths.
    #[inline(always)]
    fn classify_portable<const START: bool>(&mut self, bytes: &[u8; WIDTH]) {
        for (k, word) in bytes.chunks_exact(8).enumerate() {
            let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            let at = 8 * k;
            self.space |= gather(equal_bytes(word, b' ')) << at;
            self.slash |= gather(equal_bytes(word, b'/')) << at;
            self.nondigit |= gather(!digit_bytes(word) & HIGHS) << at;
            if START {
                self.colon |= gather(equal_bytes(word, b':')) << at;
                self.dot |= gather(equal_bytes(word, b'.')) << at;
                self.close |= gather(equal_bytes(word, b']')) << at;
            }
        }
    }

    /// The first byte at or after `pos` in the class `pick` chooses,
    /// moving the window to `pos` once if it is not in the current one.
    /// `None` when it is not within 64 bytes of `pos` either.
    #[inline(always)]
    fn first<const S: u8>(
        &mut self,
        m: &[u8],
        pos: usize,
        pick: fn(&Window) -> u64,
    ) -> Option<usize> {
        let off = pos.wrapping_sub(self.base);
        if off < WIDTH {
            let bits = pick(self) >> off;
            if bits != 0 {
                return Some(pos + bits.trailing_zeros() as usize);
            }
            if self.base + WIDTH >= m.len() {
                // The window already holds the rest of the line.
                return None;
            }
        }
        *self = Window::new::<S, false>(m, pos);
        let bits = pick(self);
        (bits != 0).then(|| pos + bits.trailing_zeros() as usize)
    }
}

const LOWS: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// The high bit of each byte of `word` that is `c`, exactly: no carry
/// crosses a byte (unlike the usual zero-byte test, whose flags above a
/// true zero may be false).
#[inline(always)]
fn equal_bytes(word: u64, c: u8) -> u64 {
    let x = word ^ (ONES * u64::from(c));
    !(((x & LOWS) + LOWS) | x) & HIGHS
}

/// The high bit of each byte of `word` that is an ASCII digit, exactly.
#[inline(always)]
fn digit_bytes(word: u64) -> u64 {
    let low = word & LOWS;
    // A byte's high bit after adding: set from `0` (0x30) on, and from
    // past `9` (0x3A) on.
    let from_zero = low + ONES * 0x50;
    let past_nine = low + ONES * 0x46;
    from_zero & !past_nine & !word & HIGHS
}

/// The high bits of a word's bytes, as eight bits in byte order.
#[inline(always)]
fn gather(highs: u64) -> u64 {
    ((highs >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
}

/// How a group of items read in one window.
#[derive(Debug, PartialEq, Eq)]
enum Group<const N: usize> {
    /// The offsets from the group's start of the separators that end its
    /// items.
    Read([u32; N]),
    /// The window ends first: another one may hold the group.
    Short,
    /// Not the plain case: the caller reads the items one by one.
    Odd,
}

impl Window {
    /// `N` numbers from `pos`, ended by the separators `SLASHES` names (bit
    /// `k` set: a slash, clear: one space), the last separator followed by
    /// a byte other than a space: `%TR/%Tw/%Tc/%Tr/%Ta %ST %B ` and
    /// `%ac/%fc/%bc/%sc/%rc %sq/%bq ` read as one. The separators are the
    /// first `N` non-digits; a bit scan each finds them, and a few mask
    /// tests check them all.
    #[inline(always)]
    fn numbers<const N: usize, const SLASHES: u32>(&self, pos: usize) -> Group<N> {
        let off = pos.wrapping_sub(self.base);
        if off >= WIDTH {
            return Group::Short;
        }
        let room = (WIDTH - off) as u32;
        let nondigit = self.nondigit >> off;
        let mut rest = nondigit;
        let mut ends = [0u32; N];
        let mut slashes = 0u64;
        for (k, end) in ends.iter_mut().enumerate() {
            *end = rest.trailing_zeros();
            rest &= rest.wrapping_sub(1);
            if SLASHES >> k & 1 == 1 {
                slashes |= 1u64 << (*end & 63);
            }
        }
        let last = ends[N - 1];
        if last + 1 >= room {
            return Group::Short;
        }
        let seps = nondigit ^ rest;
        let spaces = seps & !slashes;
        let (space, slash) = (self.space >> off, self.slash >> off);
        // Every number holds a digit (no separator at 0 or right after
        // another), each separator is the right one, and one space ends
        // the group.
        let plain = seps & (seps << 1 | 1) == 0
            && slash & slashes == slashes
            && space & spaces == spaces
            && space >> (last + 1) & 1 == 0;
        if plain {
            Group::Read(ends)
        } else {
            Group::Odd
        }
    }

    /// `%CC %CS %tsc ` from `pos`: two tokens and four bytes, each ended
    /// by one space, the last followed by a byte other than a space.
    #[inline(always)]
    fn cookies_and_state(&self, pos: usize) -> Group<3> {
        let off = pos.wrapping_sub(self.base);
        if off >= WIDTH {
            return Group::Short;
        }
        let room = (WIDTH - off) as u32;
        let space = self.space >> off;
        let mut rest = space;
        let mut ends = [0u32; 3];
        for end in &mut ends {
            *end = rest.trailing_zeros();
            rest &= rest.wrapping_sub(1);
        }
        let [a, b, c] = ends;
        if c + 1 >= room {
            return Group::Short;
        }
        if a > 0 && b > a + 1 && c == b + 5 && space >> (c + 1) & 1 == 0 {
            Group::Read(ends)
        } else {
            Group::Odd
        }
    }
}

/// The first `c` at or after `pos`.
#[inline(always)]
fn find<const S: u8>(m: &[u8], pos: usize, c: u8) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if S != PORTABLE {
        // SAFETY: SSE2 is part of x86-64.
        return unsafe { find_sse2(m, pos, c) };
    }
    super::scan::find_byte(m, pos, c)
}

/// The first `c` at or after `pos`, sixteen bytes at a time: captured
/// headers and request lines run to dozens of bytes, too short for
/// `memchr`'s setup (which costs the head 2.5% more instructions).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn find_sse2(m: &[u8], mut pos: usize, c: u8) -> Option<usize> {
    use std::arch::x86_64::*;
    let needle = _mm_set1_epi8(c as i8);
    while let Some(chunk) = m.get(pos..pos + 16) {
        // SAFETY: `chunk` holds 16 bytes.
        let v = unsafe { _mm_loadu_si128(chunk.as_ptr() as *const __m128i) };
        let bits = _mm_movemask_epi8(_mm_cmpeq_epi8(v, needle)) as u32;
        if bits != 0 {
            return Some(pos + bits.trailing_zeros() as usize);
        }
        pos += 16;
    }
    super::scan::find_byte(m, pos, c)
}

/// httplog's first `upto` steps. Each item first tries its bitmap check;
/// when that does not settle it, the interpreter's item matcher
/// ([`item_at`], with the step's constants) reads it instead.
#[inline(always)]
fn match_head_with<const S: u8>(
    m: &[u8],
    spans: &mut [Span; MAX_ITEMS],
    upto: usize,
) -> Option<usize> {
    use Shape::{Address, Capture, Fixed, Number, Request, Token};
    const SPACE: &Sep = &Sep::Space;
    const SLASH: &Sep = &Sep::Byte(b'/');
    const COLON: &Sep = &Sep::Byte(b':');
    const OPEN: &Sep = &Sep::Text(Cow::Borrowed(b" ["));
    const CLOSE: &Sep = &Sep::Text(Cow::Borrowed(b"] "));
    const NONE: &Sep = &Sep::None;
    let mut pos = 0;
    let mut w = Window::new::<S, true>(m, 0);
    // The interpreter's reading of one item.
    macro_rules! item {
        ($index:expr, $shape:expr, $quoted:expr, $sep:expr) => {
            match item_at(m, pos, $index, $shape, $quoted, false, $sep, spans)? {
                ItemEnd::Next(end) => pos = end,
                ItemEnd::Cut | ItemEnd::QuotedSample => return None,
            }
        };
    }
    // A number: a run of digits ends at the first non-digit (a sign or a
    // lone `-` is left to the interpreter).
    macro_rules! number {
        ($index:expr, $sep:expr) => {
            match w.first::<S>(m, pos, |w| w.nondigit) {
                Some(end) if end > pos => {
                    spans[$index] = Span::new(pos, end);
                    pos = separator(m, end, $sep)?;
                }
                _ => item!($index, Number, false, $sep),
            }
        };
    }
    // A token closed by a space.
    macro_rules! token {
        ($index:expr) => {
            match w.first::<S>(m, pos, |w| w.space) {
                Some(end) if end > pos => {
                    spans[$index] = Span::new(pos, end);
                    pos = space(m, end)?;
                }
                _ => item!($index, Token, false, SPACE),
            }
        };
    }

    // %ci: up to the last colon before the first space, digits, dots and
    // colons (IPv4, and IPv6 without letters).
    let first_space = w.space.trailing_zeros();
    let colons = w.colon & ((1u64 << first_space.min(63)) - 1);
    let colon = 63u32.wrapping_sub(colons.leading_zeros()) as usize;
    let odd = w.nondigit & !w.dot & !w.colon;
    if first_space < 64 && colons != 0 && colon > 0 && odd & ((1u64 << colon) - 1) == 0 {
        spans[0] = Span::new(0, colon);
        pos = colon + 1;
    } else {
        item!(0, Address, false, COLON);
    }
    // %cp, then ` [`.
    match w.first::<S>(m, pos, |w| w.nondigit) {
        Some(end) if end > pos && m.get(end..end + 2) == Some(b" [") => {
            spans[1] = Span::new(pos, end);
            pos = end + 2;
        }
        _ => item!(1, Number, false, OPEN),
    }
    // %tr (or %t), then `] `.
    match w.first::<S>(m, pos, |w| w.space | w.close) {
        Some(end)
            if end > pos
                && m.get(end..end + 2) == Some(b"] ")
                && m.get(end + 2).is_some_and(|&b| b != b' ') =>
        {
            spans[2] = Span::new(pos, end);
            pos = end + 2;
        }
        _ => item!(2, Token, false, CLOSE),
    }
    // %ft %b/%s
    token!(3);
    match w.first::<S>(m, pos, |w| w.space | w.slash) {
        Some(end) if end > pos && m.get(end) == Some(&b'/') => {
            spans[4] = Span::new(pos, end);
            pos = end + 1;
        }
        _ => item!(4, Token, false, SLASH),
    }
    token!(5);
    if upto == 6 {
        return Some(pos);
    }
    // A group of items read in one window (once more in a window moved
    // to `pos` if it ran past the first): the separators' offsets.
    macro_rules! group {
        ($read:expr) => {{
            let mut group = $read;
            if group == Group::Short && pos > w.base {
                w = Window::new::<S, false>(m, pos);
                group = $read;
            }
            match group {
                Group::Read(ends) => Some(ends),
                _ => None,
            }
        }};
    }
    // Items `first..` from the separators' offsets a group read.
    macro_rules! spans_of {
        ($first:expr, $ends:expr) => {{
            let mut start = pos;
            for (k, end) in $ends.into_iter().enumerate() {
                let end = pos + end as usize;
                spans[$first + k] = Span::new(start, end);
                start = end + 1;
            }
            pos = start;
        }};
    }
    // %TR/%Tw/%Tc/%Tr/%Ta %ST %B
    match group!(w.numbers::<7, 0b0001111>(pos)) {
        Some(ends) => spans_of!(6, ends),
        None => {
            for index in 6..10 {
                number!(index, SLASH);
            }
            number!(10, SPACE);
            number!(11, SPACE);
            number!(12, SPACE);
        }
    }
    // %CC %CS %tsc
    match group!(w.cookies_and_state(pos)) {
        Some(ends) => spans_of!(13, ends),
        None => {
            token!(13);
            token!(14);
            match w.first::<S>(m, pos, |w| w.space) {
                Some(end) if end == pos + 4 => {
                    spans[15] = Span::new(pos, end);
                    pos = space(m, end)?;
                }
                _ => item!(15, Fixed(4), false, SPACE),
            }
        }
    }
    // %ac/%fc/%bc/%sc/%rc %sq/%bq
    match group!(w.numbers::<7, 0b0101111>(pos)) {
        Some(ends) => spans_of!(16, ends),
        None => {
            for index in 16..20 {
                number!(index, SLASH);
            }
            number!(20, SPACE);
            number!(21, SLASH);
            number!(22, SPACE);
        }
    }
    if upto == 23 {
        return Some(pos);
    }
    // %hr %hs: `{…}` or absent.
    for index in [23, 24] {
        match m.get(pos) {
            Some(b'{') => match find::<S>(m, pos + 1, b'}') {
                Some(close) => {
                    spans[index] = Span::new(pos, close + 1);
                    pos = space(m, close + 1)?;
                }
                None => return None,
            },
            // Absent, after the space that ended the item before.
            Some(b'"') if m[pos - 1] == b' ' => spans[index] = Span::new(pos, pos),
            _ => item!(index, Capture, false, SPACE),
        }
    }
    // %{+Q}r
    match m.get(pos) {
        Some(b'"') => match find::<S>(m, pos + 1, b'"') {
            Some(close) => {
                spans[25] = Span::new(pos + 1, close);
                pos = close + 1;
            }
            // A line cut inside the request: the steps say how.
            None => return None,
        },
        _ => item!(25, Request, true, NONE),
    }
    Some(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every instruction set classifies every byte value, at every place
    /// in the window, as a byte-by-byte reading does.
    #[test]
    fn windows_classify_every_byte() {
        let simds = [Simd::Avx2, Simd::Sse2, Simd::Portable];
        for shift in 0..=255u8 {
            let line: Vec<u8> = (0..WIDTH as u8)
                .map(|i| i.wrapping_mul(7).wrapping_add(shift))
                .collect();
            let bits = |test: fn(u8) -> bool| {
                line.iter()
                    .enumerate()
                    .fold(0u64, |acc, (i, &b)| acc | u64::from(test(b)) << i)
            };
            for simd in simds.into_iter().filter(|s| s.available()) {
                let w = match simd {
                    Simd::Avx2 => Window::new::<AVX2, true>(&line, 0),
                    Simd::Sse2 => Window::new::<SSE2, true>(&line, 0),
                    Simd::Portable => Window::new::<PORTABLE, true>(&line, 0),
                };
                assert_eq!(w.space, bits(|b| b == b' '), "{simd:?} spaces");
                assert_eq!(w.slash, bits(|b| b == b'/'), "{simd:?} slashes");
                assert_eq!(w.nondigit, bits(|b| !b.is_ascii_digit()), "{simd:?} digits");
                assert_eq!(w.colon, bits(|b| b == b':'), "{simd:?} colons");
                assert_eq!(w.dot, bits(|b| b == b'.'), "{simd:?} dots");
                assert_eq!(w.close, bits(|b| b == b']'), "{simd:?} brackets");
            }
        }
    }
}
