//! Naive date-times as haproxy_log_analysis reads and prints them: Python's
//! `strptime('%d/%b/%Y:%H:%M:%S.%f')` for accept dates, `isoformat()` for
//! output. No time zone anywhere: the tool's own `mktime` round trips are
//! the DST bug this port does not copy.

use std::fmt::{self, Write as _};

use haplog_format::time::{civil_from_days, days_from_civil};

/// Microseconds since 1970-01-01T00:00:00, naive (no zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NaiveTime(pub i64);

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// The parts of a date-time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub micro: u32,
}

impl NaiveTime {
    /// A valid date-time (Python's `datetime` rules: years 1–9999).
    pub fn from_parts(p: Parts) -> Option<NaiveTime> {
        if !(1..=9999).contains(&p.year)
            || !(1..=12).contains(&p.month)
            || p.day == 0
            || p.day > days_in_month(p.year, p.month)
            || p.hour > 23
            || p.minute > 59
            || p.second > 59
            || p.micro > 999_999
        {
            return None;
        }
        let days = days_from_civil(p.year, i64::from(p.month), i64::from(p.day));
        let seconds = i64::from(p.hour * 3600 + p.minute * 60 + p.second);
        Some(NaiveTime(
            days * MICROS_PER_DAY + seconds * MICROS_PER_SECOND + i64::from(p.micro),
        ))
    }

    pub fn parts(self) -> Parts {
        let days = self.0.div_euclid(MICROS_PER_DAY);
        let rest = self.0.rem_euclid(MICROS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let seconds = (rest / MICROS_PER_SECOND) as u32;
        Parts {
            year,
            month: month as u32,
            day: day as u32,
            hour: seconds / 3600,
            minute: seconds / 60 % 60,
            second: seconds % 60,
            micro: (rest % MICROS_PER_SECOND) as u32,
        }
    }

    /// The start of this time's minute.
    pub fn minute_floor(self) -> NaiveTime {
        NaiveTime(self.0 - self.0.rem_euclid(60 * MICROS_PER_SECOND))
    }

    /// The start of this time's hour.
    pub fn hour_floor(self) -> NaiveTime {
        NaiveTime(self.0 - self.0.rem_euclid(3600 * MICROS_PER_SECOND))
    }

    pub fn plus_seconds(self, seconds: i64) -> NaiveTime {
        NaiveTime(
            self.0
                .saturating_add(seconds.saturating_mul(MICROS_PER_SECOND)),
        )
    }
}

/// Python's `datetime.isoformat()`: the microseconds only when not zero.
impl fmt::Display for NaiveTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.parts();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            p.year, p.month, p.day, p.hour, p.minute, p.second
        )?;
        if p.micro != 0 {
            f.write_char('.')?;
            write!(f, "{:06}", p.micro)?;
        }
        Ok(())
    }
}

/// A run of 1 to `max` ASCII digits at the start of `s`, within `allowed`
/// as Python's `_strptime` patterns put it (`[0-5]\d|\d` and the like):
/// the longest reading that fits is taken first, as its regex does.
fn number(s: &[u8], max: usize, limit: u32) -> Option<(u32, usize)> {
    let digits = s
        .iter()
        .take(max)
        .take_while(|b| b.is_ascii_digit())
        .count();
    (1..=digits).rev().find_map(|n| {
        let v = s[..n]
            .iter()
            .fold(0u32, |v, &d| v * 10 + u32::from(d - b'0'));
        (v <= limit).then_some((v, n))
    })
}

/// `strptime(text, '%d/%b/%Y:%H:%M:%S.%f')`, or `None` where Python raises.
///
/// `_strptime` turns the format into a regex: `%d` is
/// `3[01]|[12]\d|0[1-9]|[1-9]| [1-9]`, `%b` a month abbreviation in any
/// case, `%Y` four digits, `%H` `2[0-3]|[0-1]\d|\d`, `%M` `[0-5]\d|\d`,
/// `%S` `6[0-1]|[0-5]\d|\d`, `%f` one to six digits (right-padded), and the
/// whole text must match. Alternatives are tried in order and the regex
/// backtracks, which for these fields means: the longest valid number that
/// lets the next literal match.
pub fn parse_accept_date(text: &str) -> Option<NaiveTime> {
    let s = text.as_bytes();
    // Each field may take 2 or 1 digits; try the longer first and back off.
    let mut best = None;
    fields(s, 0, &mut [0; 7], &mut best);
    let v = best?;
    NaiveTime::from_parts(Parts {
        day: v[0],
        month: v[1],
        year: i64::from(v[2]),
        hour: v[3],
        minute: v[4],
        second: v[5],
        micro: v[6],
    })
}

/// Fills `values` field by field from `s`, backtracking like `re` does.
fn fields(s: &[u8], field: usize, values: &mut [u32; 7], best: &mut Option<[u32; 7]>) {
    if best.is_some() {
        return;
    }
    let sep = |s: &[u8], c: u8| -> Option<usize> { (s.first() == Some(&c)).then_some(1) };
    match field {
        0 => {
            // %d, with its " [1-9]" form.
            let mut options: Vec<(u32, usize)> = Vec::with_capacity(3);
            if let Some((v, n)) = number(s, 2, 31) {
                if n == 2 && v >= 10 || n == 2 && s[0] == b'0' && v > 0 {
                    options.push((v, 2));
                }
            }
            if s.first().is_some_and(|b| (b'1'..=b'9').contains(b)) {
                options.push((u32::from(s[0] - b'0'), 1));
            }
            if s.first() == Some(&b' ') && s.get(1).is_some_and(|b| (b'1'..=b'9').contains(b)) {
                options.push((u32::from(s[1] - b'0'), 2));
            }
            for (v, n) in options {
                if let Some(k) = sep(&s[n..], b'/') {
                    values[0] = v;
                    fields(&s[n + k..], 1, values, best);
                }
            }
        }
        1 => {
            if s.len() >= 3 {
                let name = s[..3].to_ascii_lowercase();
                if let Some(m) = MONTHS.iter().position(|m| m.as_bytes() == name.as_slice()) {
                    if let Some(k) = sep(&s[3..], b'/') {
                        values[1] = m as u32 + 1;
                        fields(&s[3 + k..], 2, values, best);
                    }
                }
            }
        }
        2 => {
            if s.len() >= 4 && s[..4].iter().all(u8::is_ascii_digit) {
                if let Some(k) = sep(&s[4..], b':') {
                    values[2] = s[..4].iter().fold(0, |v, &d| v * 10 + u32::from(d - b'0'));
                    fields(&s[4 + k..], 3, values, best);
                }
            }
        }
        3..=5 => {
            let (limit, next) = match field {
                3 => (23, b':'),
                4 => (59, b':'),
                _ => (61, b'.'),
            };
            for n in [2, 1] {
                if s.len() < n || !s[..n].iter().all(u8::is_ascii_digit) {
                    continue;
                }
                let v = s[..n]
                    .iter()
                    .fold(0u32, |v, &d| v * 10 + u32::from(d - b'0'));
                // One digit is always allowed; two must be in range.
                if n == 2 && v > limit {
                    continue;
                }
                if let Some(k) = sep(&s[n..], next) {
                    values[field] = v;
                    fields(&s[n + k..], field + 1, values, best);
                }
            }
        }
        _ => {
            // %f: all that is left, 1 to 6 digits.
            if (1..=6).contains(&s.len()) && s.iter().all(u8::is_ascii_digit) {
                let mut micro = s.iter().fold(0u32, |v, &d| v * 10 + u32::from(d - b'0'));
                for _ in s.len()..6 {
                    micro *= 10;
                }
                values[6] = micro;
                *best = Some(*values);
            }
        }
    }
}

/// `-s`: `day/month/year[:hour[:minute[:second]]]` matched at the start
/// (trailing text ignored, as the tool does), every part a run of digits,
/// the month a name; then read as `strptime` would with `%d/%b/%Y:%H:%M:%S`.
pub fn parse_start(text: &str) -> Option<NaiveTime> {
    let s = text.as_bytes();
    let digits = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut i = digits(s);
    let day = &s[..i];
    if day.is_empty() || s.get(i) != Some(&b'/') {
        return None;
    }
    i += 1;
    let m0 = i;
    while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'_') {
        i += 1;
    }
    let month = &s[m0..i];
    if month.is_empty() || s.get(i) != Some(&b'/') {
        return None;
    }
    i += 1;
    let y0 = i;
    i += digits(&s[i..]);
    let year = &s[y0..i];
    if year.is_empty() {
        return None;
    }
    let mut rest = [0u32; 3];
    for part in &mut rest {
        if s.get(i) == Some(&b':') && s.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let n = digits(&s[i + 1..]);
            // strptime's %H/%M/%S take at most two digits.
            if n > 2 {
                return None;
            }
            *part = s[i + 1..i + 1 + n]
                .iter()
                .fold(0, |v, &d| v * 10 + u32::from(d - b'0'));
            i += 1 + n;
        } else {
            break;
        }
    }
    let to_num = |d: &[u8]| -> Option<u32> {
        (d.len() <= 4).then(|| d.iter().fold(0u32, |v, &c| v * 10 + u32::from(c - b'0')))
    };
    // %d takes at most two digits, %Y exactly four.
    if day.len() > 2 || year.len() != 4 || month.len() != 3 {
        return None;
    }
    let name = month.to_ascii_lowercase();
    let month = MONTHS
        .iter()
        .position(|m| m.as_bytes() == name.as_slice())? as u32
        + 1;
    NaiveTime::from_parts(Parts {
        year: i64::from(to_num(year)?),
        month,
        day: to_num(day)?,
        hour: rest[0],
        minute: rest[1],
        second: rest[2],
        micro: 0,
    })
}

/// `-d`: `<digits><s|m|h|d>`, in seconds.
pub fn parse_delta(text: &str) -> Option<i64> {
    let (number, unit) = text.split_at(text.len().checked_sub(1)?);
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = number.parse().ok()?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_dates_as_strptime_reads_them() {
        let t = parse_accept_date("09/Dec/2013:12:59:46.633").unwrap();
        assert_eq!(t.to_string(), "2013-12-09T12:59:46.633000");
        assert_eq!(
            parse_accept_date("9/dec/2013:1:2:3.5").unwrap().to_string(),
            "2013-12-09T01:02:03.500000"
        );
        assert_eq!(
            parse_accept_date("14/Oct/2025:09:00:01.000")
                .unwrap()
                .to_string(),
            "2025-10-14T09:00:01"
        );
        for bad in [
            "14/Okt/2025:09:00:00.100",
            "14/Oct/2025:09:00:00",
            "31/Feb/2025:09:00:00.100",
            "14/Oct/2025:09:00:60.100",
            "14/Oct/2025:24:00:00.100",
            "14/Oct/25:09:00:00.100",
            "14/Oct/2025:09:00:00.1234567",
            "",
        ] {
            assert_eq!(parse_accept_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn start_and_delta() {
        assert_eq!(
            parse_start("10/dec/2013xyz").unwrap().to_string(),
            "2013-12-10T00:00:00"
        );
        assert_eq!(
            parse_start("10/Dec/2013:11:02").unwrap().to_string(),
            "2013-12-10T11:02:00"
        );
        assert_eq!(parse_start("2013-12-10"), None);
        assert_eq!(parse_delta("90m"), Some(5400));
        assert_eq!(parse_delta("1w"), None);
        assert_eq!(parse_delta("m"), None);
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 60, 365, 10_957, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
