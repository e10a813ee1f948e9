//! halog's field scanners, reimplemented on byte slices.
//!
//! halog never splits a line: it walks from known positions with several
//! scanners that each have their own stop set. Positions here are indices
//! into the line's text; `text.len()` plays the part of halog's NUL
//! terminator ("the end of the line").

/// One input line as halog sees it.
#[derive(Clone, Copy)]
pub struct Line<'a> {
    /// The bytes up to the first NUL or LF: what halog parses and prints.
    pub text: &'a [u8],
    /// The chunk from the line's first byte on, past its end. halog reads a
    /// few bytes past the terminator in places (`-cc` on a short code, the
    /// month skip of `-time`); those reads see what follows in its buffer,
    /// and this is the same data.
    pub raw: &'a [u8],
    /// Where the line's LF (halog's other terminator) is in `raw`.
    pub raw_len: usize,
    /// The spaces of the line's first bytes, so that most field walks are
    /// a few bit operations instead of a byte loop per field.
    spaces: SpaceMask,
}

impl<'a> Line<'a> {
    pub fn new(text: &'a [u8], raw: &'a [u8], raw_len: usize) -> Line<'a> {
        let (space, _) = window_bits(&window_of(raw));
        Line {
            text,
            raw,
            raw_len,
            spaces: SpaceMask::new(space, text.len()),
        }
    }

    /// Cuts the first line off `raw` (the rest of a chunk): its text ends at
    /// the first NUL or LF, the line itself at the first LF. One pass over
    /// the line's first bytes finds both its end and its spaces.
    #[inline]
    pub fn first_of(raw: &'a [u8]) -> Line<'a> {
        let (space, ends) = window_bits(&window_of(raw));
        let first_end = ends
            .iter()
            .enumerate()
            .find(|(_, &bits)| bits != 0)
            .map(|(w, bits)| w * 64 + bits.trailing_zeros() as usize)
            .filter(|&t| t < raw.len());
        let (text_len, raw_len) = match first_end {
            Some(t) if raw[t] == b'\n' => (t, t),
            Some(t) => (
                t,
                memchr::memchr(b'\n', &raw[t..]).map_or(raw.len(), |j| t + j),
            ),
            None if raw.len() <= WINDOW => (raw.len(), raw.len()),
            None => match memchr::memchr2(b'\n', 0, &raw[WINDOW..]) {
                None => (raw.len(), raw.len()),
                Some(i) if raw[WINDOW + i] == b'\n' => (WINDOW + i, WINDOW + i),
                Some(i) => (
                    WINDOW + i,
                    memchr::memchr(b'\n', &raw[WINDOW + i..]).map_or(raw.len(), |j| WINDOW + i + j),
                ),
            },
        };
        Line {
            text: &raw[..text_len],
            raw,
            raw_len,
            spaces: SpaceMask::new(space, text_len),
        }
    }

    /// [`field_start`] on this line.
    #[inline]
    pub fn field_start(&self, p: usize, field: i32) -> usize {
        self.spaces.field_start(self.text, p, field)
    }

    /// [`field_stop`] on this line.
    #[inline]
    pub fn field_stop(&self, p: usize) -> usize {
        self.spaces.next_space(self.text, p.min(self.text.len()))
    }
}

/// How many of a line's first bytes [`SpaceMask`] covers. Most log lines
/// reach their request within it; a walk past it goes on byte by byte.
const WINDOW: usize = 256;
const WORDS: usize = WINDOW / 64;

/// One bit per byte of a line's first [`WINDOW`] bytes: which are spaces and
/// which are not (bits past the line's end are in neither).
#[derive(Clone, Copy)]
struct SpaceMask {
    space: [u64; WORDS],
    other: [u64; WORDS],
    /// `min(text.len(), WINDOW)`.
    covered: usize,
}

impl SpaceMask {
    /// From the space bits of a window that starts with a line of `len`
    /// bytes.
    #[inline]
    fn new(mut space: [u64; WORDS], len: usize) -> SpaceMask {
        let covered = len.min(WINDOW);
        let mut other = [0u64; WORDS];
        for w in 0..WORDS {
            let valid = match covered.saturating_sub(w * 64) {
                0 => 0,
                n if n >= 64 => !0,
                n => (1u64 << n) - 1,
            };
            space[w] &= valid;
            other[w] = !space[w] & valid;
        }
        SpaceMask {
            space,
            other,
            covered,
        }
    }

    /// [`field_start`], by counting field starts in the mask: a non-space
    /// byte at `p` or after a space.
    #[inline(always)]
    fn field_start(&self, text: &[u8], p: usize, field: i32) -> usize {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("bmi2")
            && std::arch::is_x86_feature_detected!("popcnt")
        {
            // SAFETY: the CPU has the features just checked.
            return unsafe { self.field_start_bmi2(text, p, field) };
        }
        self.field_start_with::<false>(text, p, field)
    }

    /// Selecting the n-th field start is one PDEP, counting them one POPCNT.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "bmi1,bmi2,popcnt")]
    fn field_start_bmi2(&self, text: &[u8], p: usize, field: i32) -> usize {
        self.field_start_with::<true>(text, p, field)
    }

    #[inline(always)]
    fn field_start_with<const BMI2: bool>(&self, text: &[u8], p: usize, field: i32) -> usize {
        let len = text.len();
        if field <= 0 || p >= len {
            return len;
        }
        if p >= self.covered {
            return field_start(text, p, field);
        }
        // Field starts still to pass before the one wanted.
        let mut skip = (field - 1) as u32;
        let mut w = p / 64;
        let at = p % 64;
        let mut starts = self.other[w] & ((self.space[w] << 1) | (1u64 << at)) & (!0u64 << at);
        loop {
            if BMI2 {
                let count = starts.count_ones();
                if skip < count {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: only reached from `field_start_bmi2`, which
                    // runs on CPUs with BMI2.
                    let bit = unsafe { std::arch::x86_64::_pdep_u64(1u64 << skip, starts) };
                    #[cfg(not(target_arch = "x86_64"))]
                    let bit = starts;
                    return w * 64 + bit.trailing_zeros() as usize;
                }
                skip -= count;
            } else {
                while skip > 0 && starts != 0 {
                    starts &= starts - 1;
                    skip -= 1;
                }
                if starts != 0 {
                    return w * 64 + starts.trailing_zeros() as usize;
                }
            }
            w += 1;
            if w * 64 >= self.covered {
                break;
            }
            starts = self.other[w] & ((self.space[w] << 1) | (self.space[w - 1] >> 63));
        }
        if self.covered == len {
            return len;
        }
        // The line goes on past the window, maybe inside a field already
        // counted; `skip + 1` starts are still wanted.
        let end = self.covered;
        let from = if text[end - 1] == b' ' {
            end
        } else {
            next_space(text, end)
        };
        field_start(text, from, skip as i32 + 1)
    }

    /// [`next_space`] from `p <= text.len()`.
    #[inline]
    fn next_space(&self, text: &[u8], p: usize) -> usize {
        if p >= self.covered {
            return next_space(text, p);
        }
        let mut w = p / 64;
        let mut bits = self.space[w] & (!0u64 << (p % 64));
        loop {
            if bits != 0 {
                return w * 64 + bits.trailing_zeros() as usize;
            }
            w += 1;
            if w * 64 >= self.covered {
                return next_space(text, self.covered);
            }
            bits = self.space[w];
        }
    }
}

/// The first [`WINDOW`] bytes of `raw`, padded with a byte that is neither
/// a space nor a line end.
#[inline]
fn window_of(raw: &[u8]) -> std::borrow::Cow<'_, [u8; WINDOW]> {
    match raw.first_chunk::<WINDOW>() {
        Some(window) => std::borrow::Cow::Borrowed(window),
        None => {
            let mut padded = [b'x'; WINDOW];
            padded[..raw.len()].copy_from_slice(raw);
            std::borrow::Cow::Owned(padded)
        }
    }
}

/// The spaces and the line ends (LF or NUL) of a window, one bit per byte.
#[inline]
fn window_bits(window: &[u8; WINDOW]) -> ([u64; WORDS], [u64; WORDS]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { window_bits_avx2(window) };
        }
        // SAFETY: SSE2 is part of x86_64.
        unsafe { window_bits_sse2(window) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut space = [0u64; WORDS];
        let mut ends = [0u64; WORDS];
        for (i, &b) in window.iter().enumerate() {
            space[i / 64] |= ((b == b' ') as u64) << (i % 64);
            ends[i / 64] |= ((b == b'\n' || b == 0) as u64) << (i % 64);
        }
        (space, ends)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn window_bits_avx2(window: &[u8; WINDOW]) -> ([u64; WORDS], [u64; WORDS]) {
    use std::arch::x86_64::*;
    let mut space = [0u64; WORDS];
    let mut ends = [0u64; WORDS];
    let spaces = _mm256_set1_epi8(b' ' as i8);
    let lfs = _mm256_set1_epi8(b'\n' as i8);
    let nuls = _mm256_setzero_si256();
    let base = window.as_ptr() as *const __m256i;
    for w in 0..WORDS {
        let mut s = 0u64;
        let mut e = 0u64;
        for k in 0..2 {
            // SAFETY: 32 bytes at offset (2w + k) * 32 < WINDOW.
            let v = unsafe { _mm256_loadu_si256(base.add(w * 2 + k)) };
            let sm = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, spaces)) as u32 as u64;
            let end = _mm256_or_si256(_mm256_cmpeq_epi8(v, lfs), _mm256_cmpeq_epi8(v, nuls));
            let em = _mm256_movemask_epi8(end) as u32 as u64;
            s |= sm << (32 * k);
            e |= em << (32 * k);
        }
        space[w] = s;
        ends[w] = e;
    }
    (space, ends)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn window_bits_sse2(window: &[u8; WINDOW]) -> ([u64; WORDS], [u64; WORDS]) {
    use std::arch::x86_64::*;
    let mut space = [0u64; WORDS];
    let mut ends = [0u64; WORDS];
    let spaces = _mm_set1_epi8(b' ' as i8);
    let lfs = _mm_set1_epi8(b'\n' as i8);
    let nuls = _mm_setzero_si128();
    let base = window.as_ptr() as *const __m128i;
    for w in 0..WORDS {
        let mut s = 0u64;
        let mut e = 0u64;
        for k in 0..4 {
            // SAFETY: 16 bytes at offset (4w + k) * 16 < WINDOW.
            let v = unsafe { _mm_loadu_si128(base.add(w * 4 + k)) };
            let sm = _mm_movemask_epi8(_mm_cmpeq_epi8(v, spaces)) as u32 as u64;
            let end = _mm_or_si128(_mm_cmpeq_epi8(v, lfs), _mm_cmpeq_epi8(v, nuls));
            let em = _mm_movemask_epi8(end) as u32 as u64;
            s |= sm << (16 * k);
            e |= em << (16 * k);
        }
        space[w] = s;
        ends[w] = e;
    }
    (space, ends)
}

impl<'a> Line<'a> {
    /// The byte at `i`, reading past the end the way halog's buffer does:
    /// the terminators read as NUL, later bytes are the following data.
    #[inline]
    pub fn peek(&self, i: usize) -> u8 {
        if i < self.text.len() {
            self.text[i]
        } else if i == self.text.len() || i == self.raw_len {
            0
        } else {
            self.raw.get(i).copied().unwrap_or(0)
        }
    }
}

const SPACES: u64 = 0x2020_2020_2020_2020;
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The position of the first ' ' at or after `p`, or `text.len()`.
#[inline]
pub fn next_space(text: &[u8], mut p: usize) -> usize {
    // Eight bytes at a time: a zero byte in `word ^ SPACES` is a space. The
    // lowest flagged byte is always a true one.
    while p + 8 <= text.len() {
        let word = u64::from_le_bytes(text[p..p + 8].try_into().expect("8 bytes"));
        let x = word ^ SPACES;
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return p + (found.trailing_zeros() / 8) as usize;
        }
        p += 8;
    }
    while p < text.len() {
        if text[p] == b' ' {
            return p;
        }
        p += 1;
    }
    text.len()
}

/// The start of the `field`-th field counting from `p` (1 is the field at or
/// after `p`, after any spaces). Only ' ' separates fields; TAB, CR and every
/// other byte are field content. Returns `text.len()` when the line ends
/// first, which also happens for any `field <= 0`.
#[inline]
pub fn field_start(text: &[u8], mut p: usize, mut field: i32) -> usize {
    let len = text.len();
    loop {
        while p < len && text[p] == b' ' {
            p += 1;
        }
        if p >= len {
            return len;
        }
        field = field.wrapping_sub(1);
        if field == 0 {
            return p;
        }
        p = next_space(text, p + 1);
        if p >= len {
            return len;
        }
        p += 1;
    }
}

/// The end of the field containing `p`: the first ' ' or the end of line.
#[inline]
pub fn field_stop(text: &[u8], p: usize) -> usize {
    next_space(text, p.min(text.len()))
}

/// halog's integer parser: an optional leading '-', then ASCII digits up to
/// the first other byte, accumulated in 32 bits with wrap-around. No digits
/// gives 0, and '+' is not a sign.
#[inline]
pub fn str2ic(text: &[u8], p: usize) -> i32 {
    let mut i: i32 = 0;
    let rest = text.get(p..).unwrap_or(&[]);
    if rest.first() == Some(&b'-') {
        for &c in &rest[1..] {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            i = i.wrapping_mul(10).wrapping_sub(d as i32);
        }
    } else {
        for &c in rest {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            i = i.wrapping_mul(10).wrapping_add(d as i32);
        }
    }
    i
}

/// Walks a `a/b/c/...` timer list starting at `p`, for at most `want` parts.
///
/// A part starts at the current byte while that byte is above ' ' (so TAB,
/// CR and every control byte end the list); the next part starts after the
/// next '/'. With `PARSE`, each part's value goes to `values`. Returns the
/// number of parts seen and the start of the last one.
#[inline]
pub fn scan_timers<const PARSE: bool>(
    text: &[u8],
    mut p: usize,
    want: usize,
    values: &mut [i32; 5],
) -> (usize, usize) {
    let len = text.len();
    let mut parts = 0;
    let mut last = p;
    while p < len && text[p] > b' ' {
        last = p;
        if PARSE {
            values[parts] = str2ic(text, p);
        }
        parts += 1;
        if parts == want {
            break;
        }
        while p < len {
            let c = text[p];
            if c == b'/' {
                p += 1;
                break;
            }
            if c <= b' ' {
                break;
            }
            p += 1;
        }
    }
    (parts, last)
}

/// Reads decimal digits at `*e` (any other byte ends the number and is
/// consumed), in wrapping unsigned arithmetic. Returns the value and the
/// terminator byte.
#[inline]
fn digits(line: &Line, e: &mut usize) -> (u32, u8) {
    let mut v: u32 = 0;
    loop {
        let c = line.peek(*e);
        *e += 1;
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return (v, c);
        }
        v = v.wrapping_mul(10).wrapping_add(d as u32);
    }
}

/// The accept date's time of day in milliseconds (for `-ac`/`-ad`), or -1
/// when the line has no usable time. The day is ignored; milliseconds are
/// read as a plain number.
pub fn accept_time_of_day(line: &Line, acc: usize) -> i32 {
    let text = line.text;
    let Some(colon) = memchr::memchr(b':', &text[acc.min(text.len())..]) else {
        return -1;
    };
    let mut e = acc + colon + 1;
    let (h, end) = digits(line, &mut e);
    if end == 0 {
        return -1;
    }
    let (m, end) = digits(line, &mut e);
    if end == 0 {
        return -1;
    }
    let (s, end) = digits(line, &mut e);
    if end == 0 {
        return -1;
    }
    let mut ms = 0;
    if end == b'.' {
        let (v, end) = digits(line, &mut e);
        if end == 0 {
            return -1;
        }
        ms = v;
    }
    let value = h
        .wrapping_mul(60)
        .wrapping_add(m)
        .wrapping_mul(60)
        .wrapping_add(s)
        .wrapping_mul(1000)
        .wrapping_add(ms);
    value as i32
}

/// The calendar fields of an accept date, before conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateFields {
    pub day: u32,
    /// 1..=12, or 0 for halog's "Ju?" quirk.
    pub month: u32,
    pub year: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Parses `[dd/Mon/yyyy:HH:MM:SS` the way halog's `-time` does, including
/// its month recognition by one or two letters and fixed skips. `None` is an
/// unparsable date.
pub fn accept_date_fields(line: &Line, acc: usize) -> Option<DateFields> {
    let mut e = acc + 1;
    let (day, _) = digits(line, &mut e);
    let c = line.peek(e);
    e += 1;
    let month = match c {
        b'F' | b'S' | b'O' | b'N' | b'D' => {
            e += 3;
            match c {
                b'F' => 2,
                b'S' => 9,
                b'O' => 10,
                b'N' => 11,
                _ => 12,
            }
        }
        b'A' => {
            let c = line.peek(e);
            e += 1;
            e += 2;
            match c {
                b'p' => 4,
                b'u' => 8,
                _ => return None,
            }
        }
        b'J' => {
            let c = line.peek(e);
            e += 1;
            match c {
                b'a' => {
                    e += 2;
                    1
                }
                b'u' => {
                    let c = line.peek(e);
                    e += 1;
                    match c {
                        b'n' => {
                            e += 1;
                            6
                        }
                        b'l' => {
                            e += 1;
                            7
                        }
                        _ => 0,
                    }
                }
                _ => return None,
            }
        }
        b'M' => {
            e += 1;
            let c = line.peek(e);
            e += 1;
            e += 1;
            match c {
                b'r' => 3,
                b'y' => 5,
                _ => return None,
            }
        }
        _ => return None,
    };
    let (year, _) = digits(line, &mut e);
    let (hour, end) = digits(line, &mut e);
    if end == 0 {
        return None;
    }
    let (minute, end) = digits(line, &mut e);
    if end == 0 {
        return None;
    }
    let (second, _) = digits(line, &mut e);
    Some(DateFields {
        day,
        month,
        year,
        hour,
        minute,
        second,
    })
}

/// Keeps the 4 most significant bits of |v| and its sign (`-gt` buckets).
#[inline]
pub fn quantize(v: i32) -> i32 {
    fn q(u: u32) -> u32 {
        if u == 0 {
            return 0;
        }
        let high = 32 - u.leading_zeros();
        if high <= 4 {
            u
        } else {
            u & !((1u32 << (high - 4)) - 1)
        }
    }
    if v >= 0 {
        q(v as u32) as i32
    } else {
        (q(v.wrapping_neg() as u32) as i32).wrapping_neg()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &[u8]) -> Line<'_> {
        Line::new(text, text, text.len())
    }

    #[test]
    fn field_start_counts_space_runs_only() {
        let t = b"  a  b\tc d ";
        assert_eq!(field_start(t, 0, 1), 2);
        assert_eq!(field_start(t, 0, 2), 5);
        assert_eq!(field_start(t, 0, 3), 9);
        assert_eq!(field_start(t, 0, 4), t.len());
        assert_eq!(field_start(t, 0, 0), t.len());
        assert_eq!(field_start(t, 0, -3), t.len());
        // From inside a field, field 1 is that same position.
        assert_eq!(field_start(t, 6, 1), 6);
        assert_eq!(field_start(t, 6, 2), 9);
    }

    #[test]
    fn next_space_matches_naive_on_all_offsets() {
        let t = b"abcdefghij klmnopqrstuvwxyz0123456789 \x80\xff  x";
        for p in 0..=t.len() {
            let naive = t[p..]
                .iter()
                .position(|&b| b == b' ')
                .map_or(t.len(), |i| p + i);
            assert_eq!(next_space(t, p), naive, "from {p}");
        }
    }

    #[test]
    fn str2ic_wraps_and_ignores_plus() {
        assert_eq!(str2ic(b"123/4", 0), 123);
        assert_eq!(str2ic(b"-1", 0), -1);
        assert_eq!(str2ic(b"-0", 0), 0);
        assert_eq!(str2ic(b"+30", 0), 0);
        assert_eq!(str2ic(b"abc", 0), 0);
        assert_eq!(str2ic(b"99999999999", 0), 1215752191);
        assert_eq!(str2ic(b"4294967296", 0), 0);
        assert_eq!(str2ic(b"2147483648", 0), i32::MIN);
        assert_eq!(str2ic(b"", 0), 0);
        assert_eq!(str2ic(b"5", 3), 0);
    }

    #[test]
    fn timer_lists_follow_halog() {
        let mut v = [0; 5];
        let cases: &[(&[u8], usize, [i32; 5])] = &[
            (b"1//2/3/4", 5, [1, 0, 2, 3, 4]),
            (b"/1/2/3/4", 5, [0, 1, 2, 3, 4]),
            (b"1/2/3/4/", 4, [1, 2, 3, 4, 0]),
            (b"a/b/c/d/e", 5, [0, 0, 0, 0, 0]),
            (b"10/0/30/69/109/7", 5, [10, 0, 30, 69, 109]),
            (b"1/0/1/10/20x 200", 5, [1, 0, 1, 10, 20]),
            (b"1/2\t3/4/5/6", 2, [1, 2, 0, 0, 0]),
        ];
        for (text, parts, values) in cases {
            v = [0; 5];
            let (n, _) = scan_timers::<true>(text, 0, 5, &mut v);
            assert_eq!(n, *parts, "{}", String::from_utf8_lossy(text));
            assert_eq!(&v[..n], &values[..n], "{}", String::from_utf8_lossy(text));
        }
        let _ = v;
    }

    #[test]
    fn time_of_day_quirks() {
        assert_eq!(
            accept_time_of_day(&line(b"[06/Feb/2009:12:14:14.655] x"), 0),
            44_054_655
        );
        assert_eq!(
            accept_time_of_day(&line(b"[06/Feb/2009:12:14:14.9] x"), 0),
            44_054_009
        );
        assert_eq!(accept_time_of_day(&line(b"[06/Feb/2009:12:14:14"), 0), -1);
        assert_eq!(accept_time_of_day(&line(b"[06/Feb/2009]"), 0), -1);
        assert_eq!(
            accept_time_of_day(&line(b"[06/Feb/2009:12:00:0a x"), 0),
            43_200_000
        );
    }

    #[test]
    fn date_fields_month_quirks() {
        let f = accept_date_fields(&line(b"[06/Jux/2024:01:02:03.000]"), 0).unwrap();
        assert_eq!(
            (f.month, f.year, f.hour, f.minute, f.second),
            (0, 0, 2024, 1, 2)
        );
        let f = accept_date_fields(&line(b"[06/Mxr/2024:01:02:03.000]"), 0).unwrap();
        assert_eq!((f.day, f.month, f.year, f.hour), (6, 3, 2024, 1));
        assert!(accept_date_fields(&line(b"[06/jan/2024:01:02:03]"), 0).is_none());
        assert!(accept_date_fields(&line(b"[06/Feb/2024:01"), 0).is_none());
    }

    #[test]
    fn quantize_keeps_four_bits() {
        assert_eq!(quantize(0), 0);
        assert_eq!(quantize(15), 15);
        assert_eq!(quantize(17), 16);
        assert_eq!(quantize(1000), 960);
        assert_eq!(quantize(-1000), -960);
        assert_eq!(quantize(i32::MIN), i32::MIN);
    }

    proptest::proptest! {
        /// The mask walk agrees with the byte walk everywhere: lines shorter
        /// and longer than the window, runs of spaces across word and window
        /// edges, a chunk that goes on after the line or stops with it.
        #[test]
        fn mask_walk_matches_byte_walk(
            pieces in proptest::collection::vec((0usize..4, 0usize..90), 0..30),
            p in 0usize..400,
            field in -2i32..40,
            more in proptest::bool::ANY,
        ) {
            let mut raw = Vec::new();
            for (spaces, run) in pieces {
                raw.extend(std::iter::repeat_n(b' ', spaces));
                raw.extend((0..run).map(|i| b"ab\t-\"x"[i % 6]));
            }
            let len = raw.len();
            if more {
                raw.extend_from_slice(&[b' '; 300]);
            }
            let text = &raw[..len];
            let line = Line::new(text, &raw, len);
            let expected = field_start(text, p, field);
            proptest::prop_assert_eq!(line.field_start(p, field), expected);
            proptest::prop_assert_eq!(line.spaces.field_start_with::<false>(text, p, field), expected);
            proptest::prop_assert_eq!(line.field_stop(p), field_stop(text, p));
        }
    }

    proptest::proptest! {
        /// The fused cut finds the same text and line ends as two memchr
        /// scans, and the same spaces as the plain constructor, whether the
        /// end falls inside the window, past it, or at the chunk's end.
        #[test]
        fn first_of_cuts_like_memchr(
            raw in proptest::collection::vec(
                proptest::sample::select(b" a\n\0x\t".to_vec()),
                0..700,
            ),
            sparse in proptest::bool::ANY,
        ) {
            // Sparse inputs have long lines; dense ones many short lines.
            let raw: Vec<u8> = if sparse {
                raw.iter().map(|&b| if b == b'\n' || b == 0 { b'a' } else { b }).chain(raw.iter().copied().filter(|&b| b == b'\n')).collect()
            } else {
                raw
            };
            let (text_len, raw_len) = match memchr::memchr2(b'\n', 0, &raw) {
                None => (raw.len(), raw.len()),
                Some(i) if raw[i] == b'\n' => (i, i),
                Some(i) => (i, memchr::memchr(b'\n', &raw[i..]).map_or(raw.len(), |j| i + j)),
            };
            let line = Line::first_of(&raw);
            proptest::prop_assert_eq!(line.text.len(), text_len);
            proptest::prop_assert_eq!(line.raw_len, raw_len);
            let plain = Line::new(&raw[..text_len], &raw, raw_len);
            proptest::prop_assert_eq!(line.spaces.space, plain.spaces.space);
            proptest::prop_assert_eq!(line.spaces.other, plain.spaces.other);
            #[cfg(target_arch = "x86_64")]
            {
                let window = window_of(&raw);
                // SAFETY: SSE2 is part of x86_64.
                let sse2 = unsafe { window_bits_sse2(&window) };
                proptest::prop_assert_eq!(sse2, window_bits(&window));
            }
        }
    }
}
