//! Which requests a report keeps.
//!
//! Every list filter takes values separated by commas; a value starting
//! with `!` excludes instead of selecting. A request passes a list filter
//! when it matches one of its selecting values (or there are none) and
//! none of its excluding ones. Different filters must all pass.

use std::net::IpAddr;

use haplog_format::time::days_from_civil;
use memchr::memmem;
use thiserror::Error;

use crate::request::Request;

/// A filter value that could not be read. The message names the value and
/// what is expected instead.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("{flag}: `{value}` is not a status code, a class like 5xx, or a range like 500-503")]
    Status { flag: &'static str, value: String },
    #[error(
        "{flag}: `{value}` is not a termination state: give 1 or 2 of its first characters, \
         like SC, cD or S (`.` matches any character)"
    )]
    Termination { flag: &'static str, value: String },
    #[error("{flag}: `{value}` is not an IP address or a CIDR block (10.0.0.0/8, 2001:db8::/32)")]
    Client { flag: &'static str, value: String },
    #[error("{flag}: `{value}` is not a duration; use a number with ms, s, m, h or d (500ms, 1.5s, 15m)")]
    Duration { flag: &'static str, value: String },
    #[error("{flag}: `{value}` is not a size; use bytes or a number with k, M or G (512k, 1.5M)")]
    Size { flag: &'static str, value: String },
    #[error(
        "{flag}: `{value}` is not a time; use 2024-05-01T10:00:00[+02:00], \
         01/May/2024:10:00:00, a time of day like 10:00, or an age like 15m (ago)"
    )]
    Time { flag: &'static str, value: String },
    #[error("{flag}: an empty value; give at least one")]
    Empty { flag: &'static str },
}

/// Selecting and excluding values of one filter.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice<T> {
    pub select: Vec<T>,
    pub exclude: Vec<T>,
}

impl<T> Default for Choice<T> {
    fn default() -> Choice<T> {
        Choice {
            select: Vec::new(),
            exclude: Vec::new(),
        }
    }
}

impl<T> Choice<T> {
    /// Adds a flag's value: comma-separated items, each read by `read`,
    /// those starting with `!` excluding.
    pub fn add(
        &mut self,
        flag: &'static str,
        value: &str,
        read: impl Fn(&str) -> Option<T>,
        error: impl Fn(String) -> FilterError,
    ) -> Result<(), FilterError> {
        let mut any = false;
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            any = true;
            let (negated, item) = match item.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, item),
            };
            let parsed = read(item).ok_or_else(|| error(item.to_string()))?;
            if negated {
                self.exclude.push(parsed);
            } else {
                self.select.push(parsed);
            }
        }
        if any {
            Ok(())
        } else {
            Err(FilterError::Empty { flag })
        }
    }

    pub fn is_empty(&self) -> bool {
        self.select.is_empty() && self.exclude.is_empty()
    }

    /// Whether a value passes, `hit` telling whether it matches an item.
    fn passes(&self, hit: impl Fn(&T) -> bool) -> bool {
        (self.select.is_empty() || self.select.iter().any(&hit)) && !self.exclude.iter().any(hit)
    }

    /// Whether a value that may be absent passes: an absent one passes
    /// only when nothing is selected.
    fn passes_if_known<V>(&self, value: Option<V>, hit: impl Fn(&T, &V) -> bool) -> bool {
        match value {
            Some(v) => self.passes(|p| hit(p, &v)),
            None => self.select.is_empty(),
        }
    }
}

/// A status code, a class (`5xx`) or a range (`500-503`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusPattern {
    Code(i64),
    Class(i64),
    Range(i64, i64),
}

impl StatusPattern {
    pub fn parse(s: &str) -> Option<StatusPattern> {
        let lower = s.to_ascii_lowercase();
        if lower.len() == 3 && lower.ends_with("xx") {
            let class = lower[..1].parse::<i64>().ok()?;
            return (1..=9)
                .contains(&class)
                .then_some(StatusPattern::Class(class));
        }
        if let Some((lo, hi)) = s.split_once('-').filter(|(lo, _)| !lo.is_empty()) {
            let (lo, hi) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
            return (lo <= hi).then_some(StatusPattern::Range(lo, hi));
        }
        s.parse().ok().map(StatusPattern::Code)
    }

    fn matches(self, status: i64) -> bool {
        match self {
            StatusPattern::Code(c) => status == c,
            StatusPattern::Class(c) => status / 100 == c && status >= 100,
            StatusPattern::Range(lo, hi) => (lo..=hi).contains(&status),
        }
    }
}

/// The first one or two characters of a termination state; `.` matches
/// any character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TerminationPattern {
    chars: [u8; 2],
    len: usize,
}

impl TerminationPattern {
    pub fn parse(s: &str) -> Option<TerminationPattern> {
        let b = s.as_bytes();
        if b.is_empty() || b.len() > 2 || !b.iter().all(|c| c.is_ascii_graphic()) {
            return None;
        }
        let mut chars = [b'.'; 2];
        chars[..b.len()].copy_from_slice(b);
        Some(TerminationPattern {
            chars,
            len: b.len(),
        })
    }

    fn matches(self, state: [u8; 2]) -> bool {
        (0..self.len).all(|i| self.chars[i] == b'.' || self.chars[i] == state[i])
    }
}

/// An address block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u32,
}

impl IpNet {
    pub fn parse(s: &str) -> Option<IpNet> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u32>().ok()?)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim_matches(|c| c == '[' || c == ']').parse().ok()?;
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client logged by a dual-stack listener as ::ffff:a.b.c.d
        // is the IPv4 address.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u128::from(u32::from(net)),
                u128::from(u32::from(ip)),
                32,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(u128::from(net), u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, bits: u32, prefix: u32) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = bits - prefix;
    (a >> shift) == (b >> shift)
}

/// Reads a client field as an address: `1.2.3.4`, `::1`, `[::1]`.
pub fn client_addr(client: &[u8]) -> Option<IpAddr> {
    let s = std::str::from_utf8(client).ok()?;
    s.trim_matches(|c| c == '[' || c == ']').parse().ok()
}

/// Which timer `--slow` looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Timer {
    /// Total time (Tt, or Ta for httplog).
    #[default]
    Total,
    /// Server response time.
    Response,
    /// Time in queues.
    Wait,
    /// Connect time.
    Connect,
}

impl Timer {
    pub fn parse(s: &str) -> Option<Timer> {
        Some(match s.to_ascii_lowercase().as_str() {
            "tt" | "ta" | "total" => Timer::Total,
            "tr" | "response" => Timer::Response,
            "tw" | "wait" | "queue" => Timer::Wait,
            "tc" | "connect" => Timer::Connect,
            _ => return None,
        })
    }

    pub fn of(self, r: &Request<'_>) -> Option<i64> {
        match self {
            Timer::Total => r.tt,
            Timer::Response => r.tr,
            Timer::Wait => r.tw,
            Timer::Connect => r.tc,
        }
    }
}

/// `500ms`, `1.5s`, `2m`, `1h`, `1d`, or a bare number of milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "" | "ms" => 1.0,
        "s" | "sec" => 1_000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    let ms = number * scale;
    (ms.is_finite() && ms < 1e15).then(|| ms.round() as i64)
}

/// `1234`, `512k`, `1.5M`, `2G` (powers of 1024; a trailing `B` or `iB`
/// is allowed).
pub fn parse_size(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: f64 = number.parse().ok()?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.trim_end_matches("ib").trim_end_matches('b');
    let scale = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let n = number * scale;
    (n.is_finite() && n < 9e18).then(|| n.round() as i64)
}

/// The clock a time bound is read against.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// Now, in milliseconds since the epoch (UTC).
    pub now_utc_ms: i64,
    /// The zone of dates written without one (in the log and in bounds),
    /// in minutes east of UTC.
    pub offset_minutes: i32,
}

/// A `--since`/`--until` value as milliseconds since the epoch (UTC):
/// an ISO-8601 date-time (`2024-05-01T10:00:00`, `2024-05-01 10:00`,
/// optionally with `Z` or `+02:00`), HAProxy's `01/May/2024:10:00:00`, a
/// time of day (`10:00`, today), `now`, or an age (`15m`: 15 minutes ago).
pub fn parse_time_bound(s: &str, clock: Clock) -> Option<i64> {
    let (since, _) = resolve_time_bounds(Some(read_time_bound(s, clock)?), None, clock);
    since
}

/// A `--since`/`--until` value before it is resolved: an instant, or a
/// time of day whose date comes from the other bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeBound {
    /// Milliseconds since the epoch (UTC).
    At(i64),
    /// Milliseconds after midnight, in the log's zone.
    TimeOfDay(i64),
}

/// Reads a `--since`/`--until` value (the forms of [`parse_time_bound`]).
pub fn read_time_bound(s: &str, clock: Clock) -> Option<TimeBound> {
    let s = s.trim();
    if s == "now" {
        return Some(TimeBound::At(clock.now_utc_ms));
    }
    let age = s.strip_suffix(" ago").unwrap_or(s);
    if age.ends_with(|c: char| c.is_ascii_alphabetic()) && !age.contains(':') {
        return parse_duration_ms(age).map(|d| TimeBound::At(clock.now_utc_ms - d));
    }
    let local = |naive_ms: i64, offset: Option<i32>| {
        naive_ms - i64::from(offset.unwrap_or(clock.offset_minutes)) * 60_000
    };
    if let Some(t) = haplog_format::time::parse_date(s.as_bytes()) {
        return Some(TimeBound::At(local(t.local_ms, t.offset_minutes)));
    }
    if let Some((naive, offset)) = parse_iso(s) {
        return Some(TimeBound::At(local(naive, offset)));
    }
    let (h, m, sec) = parse_hms(s)?;
    Some(TimeBound::TimeOfDay(((h * 60 + m) * 60 + sec) * 1000))
}

const DAY_MS: i64 = 86_400_000;

/// Both bounds as instants. A time of day takes the date of the other
/// bound when that one is an instant (`--since '2024-05-01 14:00' --until
/// 14:30` ends at 14:30 on May 1st), and today's date when neither has
/// one; all in the log's zone. A time of day that would put `--until`
/// before `--since` moves a day (`--since '… 23:00' --until 01:00` ends at
/// one the next morning).
pub fn resolve_time_bounds(
    since: Option<TimeBound>,
    until: Option<TimeBound>,
    clock: Clock,
) -> (Option<i64>, Option<i64>) {
    let zone = i64::from(clock.offset_minutes) * 60_000;
    let midnight_of = |utc_ms: i64| (utc_ms + zone).div_euclid(DAY_MS) * DAY_MS;
    let on = |midnight: i64, of_day: i64| midnight + of_day - zone;
    let today = midnight_of(clock.now_utc_ms);
    match (since, until) {
        (Some(TimeBound::At(a)), Some(TimeBound::TimeOfDay(t))) => {
            let mut b = on(midnight_of(a), t);
            if b <= a {
                b += DAY_MS;
            }
            (Some(a), Some(b))
        }
        (Some(TimeBound::TimeOfDay(t)), Some(TimeBound::At(b))) => {
            let mut a = on(midnight_of(b), t);
            if a >= b {
                a -= DAY_MS;
            }
            (Some(a), Some(b))
        }
        (since, until) => {
            let resolve = |bound: Option<TimeBound>| {
                bound.map(|b| match b {
                    TimeBound::At(ms) => ms,
                    TimeBound::TimeOfDay(t) => on(today, t),
                })
            };
            (resolve(since), resolve(until))
        }
    }
}

fn parse_hms(s: &str) -> Option<(i64, i64, i64)> {
    let mut parts = s.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let sec: f64 = parts.next().map_or(Some(0.0), |p| p.parse().ok())?;
    if parts.next().is_some() || h > 23 || m > 59 || !(0.0..61.0).contains(&sec) {
        return None;
    }
    Some((h, m, sec as i64))
}

/// `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH:MM|±HHMM]`.
fn parse_iso(s: &str) -> Option<(i64, Option<i32>)> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s[0..4].parse().ok()?;
    let mo: i64 = s[5..7].parse().ok()?;
    let d: i64 = s[8..10].parse().ok()?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut rest = &s[10..];
    let mut ms = 0;
    if let Some(time) = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' ')) {
        let end = time.find(['Z', '+', '-']).unwrap_or(time.len());
        let (h, m, sec) = parse_hms(&time[..end])?;
        let frac = time[..end].split_once('.').map_or(0, |(_, f)| {
            format!("{:0<3}", &f[..f.len().min(3)]).parse().unwrap_or(0)
        });
        ms = ((h * 60 + m) * 60 + sec) * 1000 + frac;
        rest = &time[end..];
    }
    let offset = match rest {
        "" => None,
        "Z" => Some(0),
        _ => {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 {
                return None;
            }
            let hh: i32 = digits[..2].parse().ok()?;
            let mm: i32 = digits[2..].parse().ok()?;
            Some(sign * (hh * 60 + mm))
        }
    };
    Some((days_from_civil(y, mo, d) * 86_400_000 + ms, offset))
}

/// The filters of one report. The default keeps everything.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Keep requests at or after this time (ms since the epoch, UTC).
    pub since: Option<i64>,
    /// Keep requests before this time.
    pub until: Option<i64>,
    /// The zone of log dates written without one, minutes east of UTC.
    pub offset_minutes: i32,
    pub status: Choice<StatusPattern>,
    pub termination: Choice<TerminationPattern>,
    pub frontend: Choice<Vec<u8>>,
    pub backend: Choice<Vec<u8>>,
    /// `server` or `backend/server`.
    pub server: Choice<Vec<u8>>,
    pub client: Choice<IpNet>,
    pub path: Choice<Vec<u8>>,
    pub path_prefix: Choice<Vec<u8>>,
    pub method: Choice<Vec<u8>>,
    /// Only TLS requests (`true`) or only plain ones.
    pub https: Option<bool>,
    /// Keep requests at least this slow (ms) on [`Filter::slow_timer`];
    /// `Some((ms, true))` keeps the faster ones instead.
    pub slow: Option<(i64, bool)>,
    pub slow_timer: Timer,
    /// Only requests that waited in a queue (`true`) or only the others.
    pub queued: Option<bool>,
    pub min_bytes: Option<i64>,
    pub max_bytes: Option<i64>,
}

impl Filter {
    /// Whether a filter on names is set (`--frontend`, `--backend`,
    /// `--server`): the names the filters dropped are then worth telling.
    pub fn names_filtered(&self) -> bool {
        !self.frontend.is_empty() || !self.backend.is_empty() || !self.server.is_empty()
    }

    /// Whether any filter is set.
    pub fn is_active(&self) -> bool {
        self.since.is_some()
            || self.until.is_some()
            || !self.status.is_empty()
            || !self.termination.is_empty()
            || !self.frontend.is_empty()
            || !self.backend.is_empty()
            || !self.server.is_empty()
            || !self.client.is_empty()
            || !self.path.is_empty()
            || !self.path_prefix.is_empty()
            || !self.method.is_empty()
            || self.https.is_some()
            || self.slow.is_some()
            || self.queued.is_some()
            || self.min_bytes.is_some()
            || self.max_bytes.is_some()
    }

    /// Whether the request passes every filter. A request lacking the
    /// value a filter selects on (no status on a TCP line, no date) is
    /// not selected by it, and not excluded by it either.
    pub fn keeps(&self, r: &Request<'_>) -> bool {
        if self.since.is_some() || self.until.is_some() {
            let Some(t) = r.time else { return false };
            let utc = t.utc_ms(self.offset_minutes);
            if self.since.is_some_and(|s| utc < s) || self.until.is_some_and(|u| utc >= u) {
                return false;
            }
        }
        if !self.status.passes_if_known(r.status, |p, s| p.matches(*s))
            || !self
                .termination
                .passes_if_known(r.termination, |p, t| p.matches(*t))
        {
            return false;
        }
        let frontend = r.frontend.strip_suffix(b"~").unwrap_or(r.frontend);
        if !self
            .frontend
            .passes(|f| f.as_slice() == frontend || f.as_slice() == r.frontend)
        {
            return false;
        }
        if !self.backend.passes(|b| b.as_slice() == r.backend) {
            return false;
        }
        if !self.server.is_empty() && !self.server.passes(|s| server_matches(s, r)) {
            return false;
        }
        if !self.client.is_empty()
            && !self
                .client
                .passes_if_known(client_addr(r.client), |n, ip| n.contains(*ip))
        {
            return false;
        }
        if !self.path.passes(|p| memmem::find(r.path, p).is_some()) {
            return false;
        }
        if !self.path_prefix.passes(|p| r.path.starts_with(p)) {
            return false;
        }
        if !self.method.passes(|m| m.eq_ignore_ascii_case(r.method)) {
            return false;
        }
        if self.https.is_some_and(|h| h != r.tls) {
            return false;
        }
        if let Some((ms, faster)) = self.slow {
            let Some(t) = self.slow_timer.of(r) else {
                return false;
            };
            if (t >= ms) == faster {
                return false;
            }
        }
        if self.queued.is_some_and(|q| q != r.queued()) {
            return false;
        }
        if self.min_bytes.is_some() || self.max_bytes.is_some() {
            let Some(b) = r.bytes else { return false };
            if self.min_bytes.is_some_and(|m| b < m) || self.max_bytes.is_some_and(|m| b > m) {
                return false;
            }
        }
        true
    }
}

fn server_matches(pattern: &[u8], r: &Request<'_>) -> bool {
    match memchr::memchr(b'/', pattern) {
        Some(slash) => &pattern[..slash] == r.backend && &pattern[slash + 1..] == r.server,
        None => pattern == r.server,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use haplog_format::time::LogTime;

    fn request() -> Request<'static> {
        Request {
            time: Some(LogTime {
                local_ms: 1_700_000_000_000,
                offset_minutes: None,
            }),
            frontend: b"fe~",
            backend: b"be",
            server: b"s1",
            client: b"10.1.2.3",
            status: Some(503),
            termination: Some(*b"sC"),
            tw: Some(0),
            tc: Some(-1),
            tr: Some(-1),
            tt: Some(5001),
            bytes: Some(212),
            method: b"GET",
            path: b"/api/items",
            tls: true,
            ..Request::default()
        }
    }

    fn choice<T>(value: &str, read: impl Fn(&str) -> Option<T>) -> Choice<T> {
        let mut c = Choice::default();
        c.add("--x", value, read, |v| FilterError::Status {
            flag: "--x",
            value: v,
        })
        .unwrap();
        c
    }

    #[test]
    fn list_filters_select_and_exclude() {
        let r = request();
        let keeps = |f: Filter| f.keeps(&r);
        let status = |v| Filter {
            status: choice(v, StatusPattern::parse),
            ..Filter::default()
        };
        assert!(keeps(status("5xx")));
        assert!(keeps(status("200,503")));
        assert!(keeps(status("500-599,!404")));
        assert!(!keeps(status("4xx")));
        assert!(!keeps(status("!5xx")));
        assert!(!keeps(status("5xx,!503")));
        let term = |v| Filter {
            termination: choice(v, TerminationPattern::parse),
            ..Filter::default()
        };
        assert!(keeps(term("s")));
        assert!(keeps(term("sC")));
        assert!(keeps(term(".C")));
        assert!(!keeps(term("S")));
        assert!(!keeps(term("!s")));
        let server = |v| Filter {
            server: choice(v, |s| Some(s.as_bytes().to_vec())),
            ..Filter::default()
        };
        assert!(keeps(server("s1")));
        assert!(keeps(server("be/s1")));
        assert!(!keeps(server("other/s1")));
        let frontend = |v| Filter {
            frontend: choice(v, |s| Some(s.as_bytes().to_vec())),
            ..Filter::default()
        };
        assert!(keeps(frontend("fe")));
        assert!(keeps(frontend("fe~")));
        assert!(!keeps(frontend("!fe")));
        let client = |v| Filter {
            client: choice(v, IpNet::parse),
            ..Filter::default()
        };
        assert!(keeps(client("10.0.0.0/8")));
        assert!(!keeps(client("10.0.0.0/16")));
        assert!(keeps(client("!192.168.0.0/16")));
        let path = |v| Filter {
            path: choice(v, |s| Some(s.as_bytes().to_vec())),
            ..Filter::default()
        };
        assert!(keeps(path("items")));
        assert!(!keeps(path("!api")));
    }

    #[test]
    fn scalar_filters() {
        let r = request();
        let f = Filter {
            slow: Some((5000, false)),
            ..Filter::default()
        };
        assert!(f.keeps(&r));
        let f = Filter {
            slow: Some((5000, true)),
            ..Filter::default()
        };
        assert!(!f.keeps(&r));
        let f = Filter {
            https: Some(false),
            ..Filter::default()
        };
        assert!(!f.keeps(&r));
        let f = Filter {
            queued: Some(true),
            ..Filter::default()
        };
        assert!(!f.keeps(&r));
        let f = Filter {
            min_bytes: Some(100),
            max_bytes: Some(212),
            ..Filter::default()
        };
        assert!(f.keeps(&r));
        let f = Filter {
            since: Some(1_700_000_000_001),
            ..Filter::default()
        };
        assert!(!f.keeps(&r));
        let f = Filter {
            since: Some(1_700_000_000_000),
            until: Some(1_700_000_000_001),
            ..Filter::default()
        };
        assert!(f.keeps(&r));
    }

    #[test]
    fn values() {
        assert_eq!(parse_duration_ms("500ms"), Some(500));
        assert_eq!(parse_duration_ms("1.5s"), Some(1500));
        assert_eq!(parse_duration_ms("15m"), Some(900_000));
        assert_eq!(parse_duration_ms("250"), Some(250));
        assert_eq!(parse_duration_ms("1x"), None);
        assert_eq!(parse_duration_ms("s"), None);
        assert_eq!(parse_size("512k"), Some(524_288));
        assert_eq!(parse_size("1.5MB"), Some(1_572_864));
        assert_eq!(parse_size("12"), Some(12));
        assert_eq!(parse_size("-1"), None);
        assert_eq!(StatusPattern::parse("5XX"), Some(StatusPattern::Class(5)));
        assert_eq!(StatusPattern::parse("-1"), Some(StatusPattern::Code(-1)));
        assert_eq!(StatusPattern::parse("503-500"), None);
        assert_eq!(TerminationPattern::parse("SCD"), None);
        assert!(IpNet::parse("::ffff:0:0/96").is_some());
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        let mapped = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(mapped.contains("::ffff:10.2.3.4".parse().unwrap()));
    }

    #[test]
    fn time_bounds() {
        // 2024-05-01T12:00:00Z, read in UTC+2.
        let clock = Clock {
            now_utc_ms: 1_714_564_800_000,
            offset_minutes: 120,
        };
        let at = |s| parse_time_bound(s, clock);
        assert_eq!(at("now"), Some(1_714_564_800_000));
        assert_eq!(at("15m"), Some(1_714_564_800_000 - 900_000));
        assert_eq!(at("2h ago"), Some(1_714_564_800_000 - 7_200_000));
        assert_eq!(at("2024-05-01T12:00:00Z"), Some(1_714_564_800_000));
        assert_eq!(at("2024-05-01T14:00:00+02:00"), Some(1_714_564_800_000));
        assert_eq!(at("2024-05-01 14:00"), Some(1_714_564_800_000));
        assert_eq!(at("2024-05-01T14:00:00.250"), Some(1_714_564_800_250));
        assert_eq!(at("01/May/2024:14:00:00"), Some(1_714_564_800_000));
        assert_eq!(at("01/May/2024:12:00:00 +0000"), Some(1_714_564_800_000));
        assert_eq!(at("14:00"), Some(1_714_564_800_000));
        assert_eq!(at("2024-13-01"), None);
        assert_eq!(at("yesterday"), None);
    }

    #[test]
    fn a_time_of_day_takes_the_other_bounds_date() {
        // Now: 2026-12-02T12:00:00Z, logs in UTC+2.
        let clock = Clock {
            now_utc_ms: 1_796_212_800_000,
            offset_minutes: 120,
        };
        let read = |s: &str| read_time_bound(s, clock);
        let both = |a: &str, b: &str| resolve_time_bounds(read(a), read(b), clock);
        let may1 = |hh: i64, mm: i64| 1_714_521_600_000 + ((hh - 2) * 60 + mm) * 60_000;
        assert_eq!(
            both("2024-05-01 14:00", "14:30"),
            (Some(may1(14, 0)), Some(may1(14, 30)))
        );
        assert_eq!(
            both("14:00", "2024-05-01 14:30"),
            (Some(may1(14, 0)), Some(may1(14, 30)))
        );
        // Past midnight: the next day.
        assert_eq!(
            both("2024-05-01 23:00", "01:00"),
            (Some(may1(23, 0)), Some(may1(25, 0)))
        );
        // Neither dated: today, in the log's zone.
        let today = |hh: i64| 1_796_169_600_000 + (hh - 2) * 3_600_000;
        assert_eq!(both("10:00", "11:00"), (Some(today(10)), Some(today(11))));
        assert_eq!(
            resolve_time_bounds(None, read("11:00"), clock),
            (None, Some(today(11)))
        );
    }
}
