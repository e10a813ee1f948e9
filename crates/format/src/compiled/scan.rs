//! Byte scanning for the matcher: numbers, spaces, and the first of one
//! or two bytes, eight bytes at a time (SWAR) where fields are short
//! enough that a call to memchr and its setup would cost more.

/// The end of a number at `pos`: `[+]-?digits` (hex digits with the `X`
/// flag), or a lone `-` for an absent value.
#[inline(always)]
pub(super) fn number_end(m: &[u8], pos: usize, hex: bool) -> Option<usize> {
    // Most values are a few plain digits with eight bytes of line after
    // them: one word decides, inline.
    if !hex {
        if let Some(word) = m.get(pos..pos + 8) {
            let n = leading_digits(u64::from_le_bytes(word.try_into().expect("8 bytes")));
            if n > 0 && n < 8 {
                return Some(pos + n);
            }
        }
    }
    number_end_slow(m, pos, hex)
}

#[inline(never)]
pub(super) fn number_end_slow(m: &[u8], pos: usize, hex: bool) -> Option<usize> {
    let rest = m.get(pos..)?;
    let mut i = 0;
    match rest.first()? {
        b'-' => {
            if !rest.get(1).is_some_and(u8::is_ascii_digit) {
                return Some(pos + 1);
            }
            i = 1;
        }
        b'+' => i = if rest.get(1) == Some(&b'-') { 2 } else { 1 },
        _ => {}
    }
    let start = i;
    if hex {
        while i < rest.len() && rest[i].is_ascii_hexdigit() {
            i += 1;
        }
    } else {
        while let Some(word) = rest.get(i..i + 8) {
            let n = leading_digits(u64::from_le_bytes(word.try_into().expect("8 bytes")));
            i += n;
            if n < 8 {
                return (i > start).then_some(pos + i);
            }
        }
        while i < rest.len() && rest[i].wrapping_sub(b'0') < 10 {
            i += 1;
        }
    }
    (i > start).then_some(pos + i)
}

/// How many of the word's bytes, from the lowest, are ASCII digits.
///
/// A byte is flagged when its high bit is set, when adding 0x46 sets it
/// (above `9`) or when subtracting 0x30 borrows (below `0`). Carries and
/// borrows only start at a flagged byte, so the lowest flag is exact.
#[inline]
pub(super) fn leading_digits(word: u64) -> usize {
    let flags = (word
        | word.wrapping_add(0x4646_4646_4646_4646)
        | word.wrapping_sub(0x3030_3030_3030_3030))
        & HIGHS;
    (flags.trailing_zeros() / 8) as usize
}

/// A space in the format at `pos`: a run of spaces, or none right after a
/// run (an absent optional item took none), or the end of the line.
#[inline(always)]
pub(super) fn space(m: &[u8], pos: usize) -> Option<usize> {
    // Nearly always one space, then a value.
    if m.get(pos) == Some(&b' ') && m.get(pos + 1).is_some_and(|&b| b != b' ') {
        return Some(pos + 1);
    }
    space_slow(m, pos)
}

#[inline(never)]
pub(super) fn space_slow(m: &[u8], mut pos: usize) -> Option<usize> {
    if m.get(pos) == Some(&b' ') {
        pos += 1;
        while m.get(pos) == Some(&b' ') {
            pos += 1;
        }
        Some(pos)
    } else if (pos > 0 && m[pos - 1] == b' ') || pos >= m.len() {
        Some(pos)
    } else {
        None
    }
}

pub(super) const ONES: u64 = 0x0101_0101_0101_0101;
pub(super) const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Flags (high bit) the zero bytes of `x`. Only bytes above a true zero
/// can be flagged falsely, so the lowest flag is exact.
#[inline(always)]
pub(super) fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The first byte at or after `pos` that is `a` or `b`, or the line's
/// end. Fields are short: eight bytes at a time, inline, beats a call to
/// `memchr` and its setup.
#[inline(always)]
pub(super) fn find_either(m: &[u8], mut pos: usize, a: u8, b: u8) -> usize {
    let (a8, b8) = (ONES * u64::from(a), ONES * u64::from(b));
    while let Some(word) = m.get(pos..pos + 8) {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        let found = zero_bytes(word ^ a8) | zero_bytes(word ^ b8);
        if found != 0 {
            return pos + (found.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while pos < m.len() && m[pos] != a && m[pos] != b {
        pos += 1;
    }
    pos.min(m.len())
}

/// The first `c` at or after `pos`.
#[inline(always)]
pub(super) fn find_byte(m: &[u8], pos: usize, c: u8) -> Option<usize> {
    let at = find_either(m, pos, c, c);
    (at < m.len()).then_some(at)
}

/// The end of the run of non-space bytes at `pos`.
#[inline(always)]
pub(super) fn token_end(m: &[u8], pos: usize) -> usize {
    find_either(m, pos, b' ', b' ')
}

/// The end of a token at `pos` closed by `c`: the first `c` or space.
#[inline(always)]
pub(super) fn token_end_at(m: &[u8], pos: usize, c: u8) -> usize {
    find_either(m, pos, c, b' ')
}

/// The first `"` not escaped by a backslash.
pub(super) fn find_unescaped_quote(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}
