//! The answer first: short statements derived from the figures, each with
//! its numbers, ranked by the requests they concern. Each rule, its
//! threshold and its meaning are in docs/report.md; nothing is said when
//! nothing stands out.

use haplog_analyze::{Group, TrafficStats};

use crate::model::{columns, Section, Table, Value};
use crate::termination;

/// Requests a server must have before a rule speaks of it.
pub const MIN_REQUESTS: u64 = 10;
/// A server failing at least this share of its requests is failing.
pub const FAILING_SHARE: f64 = 0.5;
/// A server this many times slower than its peers' median (Tt p50 or
/// p99) is slow...
pub const SLOW_FACTOR: f64 = 3.0;
/// ...when the difference is at least this many milliseconds.
pub const SLOW_MIN_MS: u64 = 50;

/// Requests that waited in a queue, at least this many...
pub const QUEUED_MIN: u64 = 10;
/// ...and at least this share of the requests, make a finding.
pub const QUEUED_SHARE: f64 = 0.01;

/// A URL or client with at least this share of the failed requests...
pub const DOMINANT_SHARE: f64 = 0.5;
/// ...and at least this many of them dominates the failures.
pub const DOMINANT_MIN: u64 = 10;

/// A slice of time whose failed share is at least this...
pub const JUMP_SHARE: f64 = 0.2;
/// ...and this many times the share before it (at least 1 %), over at
/// least [`JUMP_MIN`] requests, is a jump.
pub const JUMP_FACTOR: f64 = 3.0;
pub const JUMP_MIN: u64 = 20;

/// One statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The rule's name (docs/report.md).
    pub rule: &'static str,
    /// What it is about: `backend/server`, a backend.
    pub subject: String,
    /// The requests it concerns (the ranking).
    pub requests: u64,
    /// The statement, with its numbers.
    pub text: String,
}

/// A server's name for the rules: `<NOSRV>` and `<STATS>` are HAProxy's
/// placeholders, not servers.
fn real_server(server: &[u8]) -> bool {
    !server.starts_with(b"<")
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The most frequent abnormal state of a group, in words.
fn why(g: &Group) -> Option<String> {
    let (state, n) = g.top_abnormal()?;
    let who = if n == g.failed {
        "all of them".to_string()
    } else {
        format!("{n} of them")
    };
    Some(format!(
        "{who} ended {}: {}",
        String::from_utf8_lossy(&state),
        termination::explain(state)
    ))
}

/// When a group's failures happened: ` at T` or ` from T to U` (the
/// log's clock, to the second); nothing for undated lines.
fn period(g: &Group) -> String {
    let at = |s: i64| crate::model::Value::second(s).display(true);
    match g.failed_span {
        Some((first, last)) if first == last => format!(" at {}", at(first)),
        Some((first, last)) => format!(" from {} to {}", at(first), at(last)),
        None => String::new(),
    }
}

/// A duration as text shows it: `4984 ms`, `30.0s`, `9m40.5s`.
fn ms(v: u64) -> String {
    let shown = crate::model::Value::Millis(v as f64).display(true);
    if shown.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{shown} ms")
    } else {
        shown
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    part as f64 * 100.0 / whole.max(1) as f64
}

/// Every finding, the most requests first.
pub fn findings(stats: &TrafficStats) -> Vec<Finding> {
    let mut found = Vec::new();
    for (backend, servers) in stats.servers.iter() {
        let mut peers: Vec<(&[u8], &Group)> = Vec::new();
        for (server, g) in servers.iter() {
            let subject = format!("{}/{}", lossy(backend), lossy(server));
            if !real_server(server) {
                // No server took them: HAProxy ended them on the server
                // side (SC, sQ, …) without one. A request HAProxy turned
                // away itself (PR, LR) is not this.
                let states: Vec<([u8; 2], u64)> = g
                    .abnormal
                    .iter()
                    .copied()
                    .filter(|(s, _)| server == b"<NOSRV>" && matches!(s[0], b'S' | b's'))
                    .collect();
                let n: u64 = states.iter().map(|s| s.1).sum();
                if n > 0 {
                    let why: Vec<String> = states
                        .iter()
                        .map(|(s, k)| {
                            format!(
                                "{k} {}: {}",
                                String::from_utf8_lossy(s),
                                termination::explain(*s)
                            )
                        })
                        .collect();
                    found.push(Finding {
                        rule: "no-server",
                        subject,
                        requests: n,
                        text: format!(
                            "{n} request{} to backend {} found no server available (<NOSRV>){}: {}",
                            if n == 1 { "" } else { "s" },
                            lossy(backend),
                            period(g),
                            why.join("; ")
                        ),
                    });
                }
                continue;
            }
            if g.requests >= MIN_REQUESTS && g.failed as f64 >= FAILING_SHARE * g.requests as f64 {
                let mut text = format!(
                    "{subject} failed {} of its {} requests ({:.0}%){}",
                    g.failed,
                    g.requests,
                    percent(g.failed, g.requests),
                    period(g)
                );
                if let Some(why) = why(g) {
                    text.push_str(&format!("; {why}"));
                }
                found.push(Finding {
                    rule: "failing-server",
                    subject,
                    requests: g.failed,
                    text,
                });
            }
            if g.tt.count() >= MIN_REQUESTS {
                peers.push((server, g));
            }
        }
        slow_servers(&mut found, backend, &peers);
    }
    queues(&mut found, stats);
    dominant(&mut found, stats);
    jump(&mut found, stats);
    found.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.subject.cmp(&b.subject)));
    found
}

/// The first slice of time (10 s, or a minute past 10 minutes of log)
/// where the failed share jumped: at least [`JUMP_SHARE`] and
/// [`JUMP_FACTOR`] times the share of everything before it.
fn jump(found: &mut Vec<Finding>, stats: &TrafficStats) {
    let mut seconds: Vec<(i64, u64, u64)> = stats
        .seconds
        .iter()
        .map(|(k, v)| (*k, v.requests, v.failed))
        .collect();
    seconds.sort_unstable();
    let (Some(first), Some(last)) = (seconds.first(), seconds.last()) else {
        return;
    };
    let width = if last.0 - first.0 > 600 { 60 } else { 10 };
    let mut slices: Vec<(i64, u64, u64)> = Vec::new();
    for (second, requests, failed) in seconds {
        let start = second.div_euclid(width) * width;
        match slices.last_mut() {
            Some(s) if s.0 == start => {
                s.1 += requests;
                s.2 += failed;
            }
            _ => slices.push((start, requests, failed)),
        }
    }
    let (mut before_requests, mut before_failed) = (0u64, 0u64);
    for (start, requests, failed) in slices {
        let share = failed as f64 / requests.max(1) as f64;
        let before = before_failed as f64 / before_requests.max(1) as f64;
        if before_requests >= JUMP_MIN
            && requests >= JUMP_MIN
            && share >= JUMP_SHARE
            && share >= JUMP_FACTOR * before.max(0.01)
        {
            let at = crate::model::Value::second(start).display(true);
            found.push(Finding {
                rule: "error-jump",
                subject: at.clone(),
                requests: failed,
                text: format!(
                    "the failed share jumped to {:.0}% at {at} ({failed} of {requests} requests in {width} s), from {:.1}% before",
                    share * 100.0,
                    before * 100.0
                ),
            });
            return;
        }
        before_requests += requests;
        before_failed += failed;
    }
}

/// A URL or a client behind most of the failures.
fn dominant(found: &mut Vec<Finding>, stats: &TrafficStats) {
    let overall = stats.overall();
    let failed = overall.failed;
    let rate = failed as f64 / overall.requests.max(1) as f64;
    // Most of the failures, and failing at least twice as often as the
    // rest: a log with one URL says nothing about that URL.
    let dominates = |n: u64, of: u64| {
        n >= DOMINANT_MIN
            && n as f64 >= DOMINANT_SHARE * failed as f64
            && n as f64 / of.max(1) as f64 >= 2.0 * rate
    };
    let mut say = |rule: &'static str, what: &str, name: &[u8], n: u64, of: u64| {
        let name = lossy(name);
        found.push(Finding {
            rule,
            text: format!(
                "{what} {name} accounts for {n} of the {failed} failed requests ({:.0}%), {:.0}% of its own {of}",
                percent(n, failed),
                percent(n, of)
            ),
            subject: name,
            requests: n,
        });
    };
    for (url, u) in stats.urls.iter() {
        if dominates(u.failed, u.requests) {
            say("failing-url", "URL", url, u.failed, u.requests);
        }
    }
    for (client, c) in stats.clients.iter() {
        if !client.is_empty() && dominates(c.failed, c.requests) {
            say("failing-client", "client", client, c.failed, c.requests);
        }
    }
}

/// Requests that waited in a queue (Tw > 0): how many, between which
/// seconds, and the second with the largest queue HAProxy logged.
fn queues(found: &mut Vec<Finding>, stats: &TrafficStats) {
    let overall = stats.overall();
    if overall.queued < QUEUED_MIN
        || (overall.queued as f64) < QUEUED_SHARE * overall.requests as f64
    {
        return;
    }
    let mut seconds: Vec<(i64, &haplog_analyze::traffic::SecondStats)> = stats
        .seconds
        .iter()
        .filter(|(_, v)| v.queued > 0)
        .map(|(k, v)| (*k, v))
        .collect();
    seconds.sort_by_key(|(k, _)| *k);
    let mut text = format!(
        "{} requests ({:.1}%) waited in a queue (Tw > 0)",
        overall.queued,
        percent(overall.queued, overall.requests)
    );
    if let (Some(first), Some(last)) = (seconds.first(), seconds.last()) {
        let at = |s: i64| crate::model::Value::second(s).display(true);
        text.push_str(&format!(" from {} to {}", at(first.0), at(last.0)));
        if let Some((peak, v)) = seconds
            .iter()
            .max_by_key(|(k, v)| (v.max_backend_queue + v.max_srv_queue, std::cmp::Reverse(*k)))
        {
            text.push_str(&format!(
                "; the largest queue logged was {} (backend {}, server {}) at {}",
                v.max_backend_queue + v.max_srv_queue,
                v.max_backend_queue,
                v.max_srv_queue,
                at(*peak)
            ));
        }
    }
    if let Some(p99) = overall.tw.quantile(0.99) {
        text.push_str(&format!("; Tw p99 {}", ms(p99)));
    }
    found.push(Finding {
        rule: "queue",
        subject: "all backends".to_string(),
        requests: overall.queued,
        text,
    });
}

/// Servers of one backend much slower than the others: Tt p50 or p99 at
/// least [`SLOW_FACTOR`] times the median of the other servers' and
/// [`SLOW_MIN_MS`] more.
fn slow_servers(found: &mut Vec<Finding>, backend: &[u8], servers: &[(&[u8], &Group)]) {
    if servers.len() < 2 {
        return;
    }
    let median = |mut v: Vec<u64>| -> u64 {
        v.sort_unstable();
        v[v.len() / 2]
    };
    for (i, (server, g)) in servers.iter().enumerate() {
        let others: Vec<&Group> = servers
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, (_, g))| *g)
            .collect();
        let q = |g: &Group, p: f64| g.tt.quantile(p).unwrap_or(0);
        let (p50, p99) = (q(g, 0.5), q(g, 0.99));
        let peer50 = median(others.iter().map(|o| q(o, 0.5)).collect());
        let peer99 = median(others.iter().map(|o| q(o, 0.99)).collect());
        let slow = |mine: u64, theirs: u64| {
            mine as f64 >= SLOW_FACTOR * theirs.max(1) as f64 && mine >= theirs + SLOW_MIN_MS
        };
        if !(slow(p50, peer50) || slow(p99, peer99)) {
            continue;
        }
        // The factor of the percentile that tripped the rule, named.
        let (factor, at) = if slow(p50, peer50) {
            (p50 as f64 / peer50.max(1) as f64, "")
        } else {
            (p99 as f64 / peer99.max(1) as f64, " at p99")
        };
        let (p50, peer50, p99, peer99) = (ms(p50), ms(peer50), ms(p99), ms(peer99));
        let subject = format!("{}/{}", lossy(backend), lossy(server));
        found.push(Finding {
            rule: "slow-server",
            requests: g.tt.count(),
            text: format!(
                "{subject} is {factor:.1}x slower{at} than the other servers of {}: Tt p50 {p50} against {peer50}, p99 {p99} against {peer99}",
                lossy(backend)
            ),
            subject,
        });
    }
}

/// The findings as the report's first section; text hides it when there
/// is nothing to say.
pub fn section(stats: &TrafficStats) -> Section {
    let mut s = Section::new("findings", "Findings");
    s.hide_when_empty = true;
    let mut t = Table::new(
        "findings",
        columns(&["rule", "subject", "requests", "finding"]),
    );
    t.list = true;
    for f in findings(stats) {
        t.push(vec![
            Value::text(f.rule),
            Value::Text(f.subject),
            Value::count(f.requests),
            Value::Text(f.text),
        ]);
    }
    s.tables.push(t);
    s
}

#[cfg(test)]
mod tests {
    use super::ms;

    #[test]
    fn durations_read_as_in_the_text() {
        assert_eq!(ms(4984), "4984 ms");
        assert_eq!(ms(30_000), "30.0s");
        assert_eq!(ms(580_541), "9m40.5s");
    }
}
