//! The filters as a person writes them (text, as on a command line or in
//! a live view's prompt), read into a [`Filter`], with the words that say
//! in a report what was kept. Every command that filters shares it.

use crate::filter::{
    parse_duration_ms, parse_size, read_time_bound, resolve_time_bounds, Choice, Clock, Filter,
    FilterError, IpNet, StatusPattern, TerminationPattern, Timer,
};

/// Each filter as written; empty lists and `None` filter nothing.
#[derive(Clone, Debug, Default)]
pub struct FilterSpec {
    /// The zone of log dates written without one: `local`, `UTC`, `+0200`.
    pub utc_offset: String,
    pub since: Option<String>,
    pub until: Option<String>,
    pub status: Vec<String>,
    pub termination: Vec<String>,
    pub frontend: Vec<String>,
    pub backend: Vec<String>,
    pub server: Vec<String>,
    pub client: Vec<String>,
    pub path: Vec<String>,
    pub path_prefix: Vec<String>,
    pub method: Vec<String>,
    /// Only TLS frontends (`Some(true)`) or only others.
    pub https: Option<bool>,
    pub slow: Option<String>,
    pub slow_by: Timer,
    /// Only requests that waited in a queue (`Some(true)`) or only others.
    pub queued: Option<bool>,
    pub min_bytes: Option<String>,
    pub max_bytes: Option<String>,
}

/// The local zone's offset from UTC now, in minutes east.
pub fn local_offset_minutes(now_secs: i64) -> i32 {
    // SAFETY: localtime_r only writes the `tm` it is given.
    unsafe {
        let t: libc::time_t = now_secs as libc::time_t;
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        (tm.tm_gmtoff / 60) as i32
    }
}

pub fn parse_offset(s: &str, now_secs: i64) -> Result<i32, String> {
    let bad = || {
        format!(
            "--utc-offset: `{s}` is not a zone; use local, UTC, or an offset like +0200 or -05:30"
        )
    };
    match s.to_ascii_lowercase().as_str() {
        "local" => return Ok(local_offset_minutes(now_secs)),
        "utc" | "z" | "0" => return Ok(0),
        _ => {}
    }
    let sign = match s.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(bad()),
    };
    let digits: String = s[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let hh: i32 = digits[..2].parse().map_err(|_| bad())?;
    let mm: i32 = digits[2..].parse().map_err(|_| bad())?;
    if hh > 14 || mm > 59 {
        return Err(bad());
    }
    Ok(sign * (hh * 60 + mm))
}

/// Names (frontends, paths, methods…): any text reads; only an empty
/// list is refused.
fn names(flag: &'static str, values: &[String]) -> Result<Choice<Vec<u8>>, FilterError> {
    choice(
        flag,
        values,
        |s| Some(s.as_bytes().to_vec()),
        move |_| FilterError::Empty { flag },
    )
}

fn choice<T>(
    flag: &'static str,
    values: &[String],
    read: impl Fn(&str) -> Option<T> + Copy,
    error: impl Fn(String) -> FilterError + Copy,
) -> Result<Choice<T>, FilterError> {
    let mut c = Choice::default();
    for v in values {
        c.add(flag, v, read, error)?;
    }
    Ok(c)
}

impl FilterSpec {
    /// The filter, and its words for a report's overview (as given); `now`
    /// is when relative times (`15m`, `10:00`) are read from.
    pub fn build(&self, now: i64) -> Result<(Filter, Vec<String>), String> {
        let args = self;
        let offset = parse_offset(&args.utc_offset, now / 1000)?;
        let clock = Clock {
            now_utc_ms: now,
            offset_minutes: offset,
        };
        let time = |flag: &'static str, v: &Option<String>| {
            v.as_ref()
                .map(|s| {
                    read_time_bound(s, clock).ok_or_else(|| FilterError::Time {
                        flag,
                        value: s.clone(),
                    })
                })
                .transpose()
        };
        let slow = match &args.slow {
            None => None,
            Some(v) => {
                let (faster, d) = match v.trim().strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, v.as_str()),
                };
                let ms = parse_duration_ms(d).ok_or_else(|| {
                    FilterError::Duration {
                        flag: "--slow",
                        value: v.clone(),
                    }
                    .to_string()
                })?;
                Some((ms, faster))
            }
        };
        let size = |flag: &'static str, v: &Option<String>| -> Result<Option<i64>, String> {
            v.as_ref()
                .map(|s| {
                    parse_size(s).ok_or_else(|| {
                        FilterError::Size {
                            flag,
                            value: s.clone(),
                        }
                        .to_string()
                    })
                })
                .transpose()
        };
        let (since, until) = resolve_time_bounds(
            e(time("--since", &args.since))?,
            e(time("--until", &args.until))?,
            clock,
        );
        let f = Filter {
            since,
            until,
            offset_minutes: offset,
            status: e(choice(
                "--status",
                &args.status,
                StatusPattern::parse,
                |value| FilterError::Status {
                    flag: "--status",
                    value,
                },
            ))?,
            termination: e(choice(
                "--termination",
                &args.termination,
                TerminationPattern::parse,
                |value| FilterError::Termination {
                    flag: "--termination",
                    value,
                },
            ))?,
            frontend: e(names("--frontend", &args.frontend))?,
            backend: e(names("--backend", &args.backend))?,
            server: e(names("--server", &args.server))?,
            client: e(choice("--client", &args.client, IpNet::parse, |value| {
                FilterError::Client {
                    flag: "--client",
                    value,
                }
            }))?,
            path: e(names("--path", &args.path))?,
            path_prefix: e(names("--path-prefix", &args.path_prefix))?,
            method: e(names("--method", &args.method))?,
            https: args.https,
            slow,
            slow_timer: args.slow_by,
            queued: args.queued,
            min_bytes: size("--min-bytes", &args.min_bytes)?,
            max_bytes: size("--max-bytes", &args.max_bytes)?,
        };
        // The filters in words, as given.
        let mut words = Vec::new();
        let mut say = |flag: &str, values: &[String]| {
            for v in values {
                words.push(format!("--{flag} {v}"));
            }
        };
        say("since", args.since.as_slice());
        say("until", args.until.as_slice());
        say("status", &args.status);
        say("termination", &args.termination);
        say("frontend", &args.frontend);
        say("backend", &args.backend);
        say("server", &args.server);
        say("client", &args.client);
        say("path", &args.path);
        say("path-prefix", &args.path_prefix);
        say("method", &args.method);
        say("slow", args.slow.as_slice());
        say("min-bytes", args.min_bytes.as_slice());
        say("max-bytes", args.max_bytes.as_slice());
        for (set, flag) in [
            (args.https == Some(true), "--https"),
            (args.https == Some(false), "--no-https"),
            (args.queued == Some(true), "--queued"),
            (args.queued == Some(false), "--not-queued"),
        ] {
            if set {
                words.push(flag.to_string());
            }
        }
        if args.slow.is_some() && args.slow_by != Timer::Total {
            words.push(format!("--slow-by {:?}", args.slow_by).to_lowercase());
        }
        Ok((f, words))
    }
}

fn e<T>(r: Result<T, FilterError>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_reads_into_a_filter_and_its_words() {
        let spec = FilterSpec {
            utc_offset: "UTC".into(),
            since: Some("2026-12-02T10:00:00Z".into()),
            status: vec!["5xx".into()],
            server: vec!["be/s1".into()],
            https: Some(false),
            slow: Some("500ms".into()),
            ..FilterSpec::default()
        };
        let (filter, words) = spec.build(1_796_205_600_000).unwrap();
        assert_eq!(filter.offset_minutes, 0);
        assert!(filter.since.is_some() && filter.until.is_none());
        assert_eq!(filter.https, Some(false));
        assert_eq!(filter.slow, Some((500, false)));
        assert_eq!(
            words,
            [
                "--since 2026-12-02T10:00:00Z",
                "--status 5xx",
                "--server be/s1",
                "--slow 500ms",
                "--no-https"
            ]
        );
        for (spec, flag) in [
            (
                FilterSpec {
                    status: vec!["6zz".into()],
                    ..FilterSpec::default()
                },
                "--status",
            ),
            (
                FilterSpec {
                    utc_offset: "Mars".into(),
                    ..FilterSpec::default()
                },
                "--utc-offset",
            ),
            (
                FilterSpec {
                    min_bytes: Some("lots".into()),
                    ..FilterSpec::default()
                },
                "--min-bytes",
            ),
        ] {
            let spec = FilterSpec {
                utc_offset: if spec.utc_offset.is_empty() {
                    "UTC".into()
                } else {
                    spec.utc_offset.clone()
                },
                ..spec
            };
            let error = spec.build(0).unwrap_err();
            assert!(error.starts_with(flag), "{error}");
        }
    }
}
