//! HAProxy's dates as milliseconds since the epoch.
//!
//! `%t`/`%tr` print `dd/Mon/yyyy:HH:MM:SS.mmm` in the process's local time
//! with no zone; `%T`/`%trg`/`%Tl` print `dd/Mon/yyyy:HH:MM:SS +zzzz`. A
//! date without a zone is read as UTC unless the caller supplies the
//! offset: reports can compare lines of one file whatever the zone, and a
//! user can say `--utc-offset`.

/// A date read from a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogTime {
    /// Milliseconds since 1970-01-01T00:00:00, as if the clock was UTC.
    pub local_ms: i64,
    /// The zone the line gave, in minutes east of UTC.
    pub offset_minutes: Option<i32>,
}

impl LogTime {
    /// Milliseconds since the epoch in UTC: the line's own zone when it
    /// has one, else `default_offset_minutes`.
    pub fn utc_ms(&self, default_offset_minutes: i32) -> i64 {
        let offset = self.offset_minutes.unwrap_or(default_offset_minutes);
        self.local_ms - i64::from(offset) * 60_000
    }
}

/// Reads `dd/Mon/yyyy:HH:MM:SS[.mmm][ +zzzz]`.
pub fn parse_date(v: &[u8]) -> Option<LogTime> {
    if v.len() < 20
        || v[2] != b'/'
        || v[6] != b'/'
        || v[11] != b':'
        || v[14] != b':'
        || v[17] != b':'
    {
        return None;
    }
    let day = digits(&v[0..2])?;
    let month = month(&v[3..6])?;
    let year = digits(&v[7..11])?;
    let hour = digits(&v[12..14])?;
    let minute = digits(&v[15..17])?;
    let second = digits(&v[18..20])?;
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let (ms, offset_minutes) = tail(&v[20..])?;
    let days = days_from_civil(year, month, day);
    let local_ms = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms;
    Some(LogTime {
        local_ms,
        offset_minutes,
    })
}

/// Milliseconds and zone after the seconds: `[.fff…][ ±zzzz]`.
fn tail(mut rest: &[u8]) -> Option<(i64, Option<i32>)> {
    // HAProxy's own `.mmm`, nearly every line.
    if let [b'.', a, b, c] = *rest {
        let (a, b, c) = (
            a.wrapping_sub(b'0'),
            b.wrapping_sub(b'0'),
            c.wrapping_sub(b'0'),
        );
        if a < 10 && b < 10 && c < 10 {
            return Some((i64::from(a) * 100 + i64::from(b) * 10 + i64::from(c), None));
        }
    }
    let mut ms = 0;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        // Milliseconds from the first three digits, whatever the precision.
        for place in 0..3 {
            let digit = frac[..n].get(place).map_or(0, |d| i64::from(d - b'0'));
            ms = ms * 10 + digit;
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        [] => None,
        [b' ', sign @ (b'+' | b'-'), zone @ ..] if zone.len() == 4 => {
            let hh = digits(&zone[0..2])? as i32;
            let mm = digits(&zone[2..4])? as i32;
            let minutes = hh * 60 + mm;
            Some(if *sign == b'-' { -minutes } else { minutes })
        }
        _ => return None,
    };
    Some((ms, offset))
}

/// The date part of a parsed second, kept so that lines of the same
/// second (most of a busy log) skip the calendar arithmetic.
#[derive(Clone, Debug, Default)]
pub struct DateCache {
    key: [u8; 20],
    base_ms: i64,
    valid: bool,
}

impl DateCache {
    /// [`parse_date`], with the `dd/Mon/yyyy:HH:MM:SS` part cached.
    pub fn parse(&mut self, v: &[u8]) -> Option<LogTime> {
        if self.valid && v.first_chunk::<20>() == Some(&self.key) {
            let (ms, offset_minutes) = tail(&v[20..])?;
            return Some(LogTime {
                local_ms: self.base_ms + ms,
                offset_minutes,
            });
        }
        let t = parse_date(v)?;
        let (ms, _) = tail(&v[20..])?;
        self.key.copy_from_slice(&v[..20]);
        self.base_ms = t.local_ms - ms;
        self.valid = true;
        Some(t)
    }
}

fn digits(s: &[u8]) -> Option<i64> {
    s.iter().try_fold(0i64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
    })
}

/// The month (1 to 12) of an English abbreviation, as HAProxy and syslog
/// write them.
pub(crate) fn month(s: &[u8]) -> Option<i64> {
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    MONTHS.iter().position(|m| *m == s).map(|i| i as i64 + 1)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a number of days since 1970-01-01: the inverse of
/// [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_with_and_without_zone() {
        let t = parse_date(b"24/Nov/2026:15:54:02.757").unwrap();
        // 2026-11-24T15:54:02.757Z
        assert_eq!(t.local_ms, 1_795_535_642_757);
        assert_eq!(t.offset_minutes, None);
        assert_eq!(t.utc_ms(60), 1_795_535_642_757 - 3_600_000);
        let z = parse_date(b"24/Nov/2026:15:55:13 +0130").unwrap();
        assert_eq!(z.offset_minutes, Some(90));
        assert_eq!(
            z.utc_ms(0),
            parse_date(b"24/Nov/2026:14:25:13").unwrap().local_ms
        );
        assert_eq!(parse_date(b"01/Jan/1970:00:00:00").unwrap().local_ms, 0);
        assert_eq!(
            parse_date(b"29/Feb/2024:00:00:00.5").unwrap().local_ms,
            1_709_164_800_500
        );
        for bad in [
            &b"24/Nov/2026"[..],
            b"24/Xyz/2026:15:54:02",
            b"24/Nov/2026:25:54:02",
            b"24/Nov/2026:15:54:02 +01",
            b"24/Nov/2026:15:54:02.",
        ] {
            assert_eq!(parse_date(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn the_cache_agrees() {
        let mut cache = DateCache::default();
        for v in [
            &b"24/Nov/2026:15:54:02.757"[..],
            b"24/Nov/2026:15:54:02.001",
            b"24/Nov/2026:15:54:03.000",
            b"24/Nov/2026:15:54:03 -0500",
            b"24/Nov/2026:15:54:03.999",
        ] {
            assert_eq!(
                cache.parse(v),
                parse_date(v),
                "{}",
                String::from_utf8_lossy(v)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn calendar_matches_a_day_count(days in 0i64..200_000) {
            // Walk from 1970-01-01 by whole days through the civil calendar.
            let (mut y, mut m, mut d) = (1970i64, 1i64, 1i64);
            let month_len = |y: i64, m: i64| match m {
                4 | 6 | 9 | 11 => 30,
                2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
                2 => 28,
                _ => 31,
            };
            let mut left = days;
            while left > 0 {
                let step = (month_len(y, m) - d + 1).min(left);
                d += step;
                left -= step;
                if d > month_len(y, m) {
                    d = 1;
                    m += 1;
                    if m > 12 {
                        m = 1;
                        y += 1;
                    }
                }
            }
            proptest::prop_assert_eq!(days_from_civil(y, m, d), days);
            proptest::prop_assert_eq!(civil_from_days(days), (y, m, d));
        }
    }
}
