//! Everything a report counts, folded line by line on each thread and
//! merged at the end.
//!
//! Per line only the frontend and the server are updated; a backend's
//! figures and the overall ones are merges of its servers' and of the
//! frontends' ([`TrafficStats::backend_totals`], [`TrafficStats::overall`]),
//! so a request costs two groups' work, not four.

use haplog_format::time::{DateCache, LogTime};
use haplog_format::{Kind, Record};
use hashbrown::HashMap;

use crate::filter::Filter;
use crate::histogram::Histogram;
use crate::keyed::Keyed;
use crate::request::{ReadOptions, Request};
use crate::slices::Slices;

/// Where a line is in the whole input: (chunk sequence number, line index
/// in the chunk). Ordering by it is ordering by input position, whatever
/// the thread that read the line.
pub type Position = (u64, u64);

/// Figures of a set of requests: a frontend, a backend, a server, all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Group {
    pub requests: u64,
    /// 1xx, 2xx, 3xx, 4xx, 5xx, and other (no status, -1, …).
    pub status_classes: [u64; 6],
    /// See [`Request::failed`].
    pub failed: u64,
    /// Requests with no timer at -1 (halog's `req_ok`).
    pub timers_ok: u64,
    pub tt: Histogram,
    pub tr: Histogram,
    pub tw: Histogram,
    pub tc: Histogram,
    /// Requests that waited in a queue (Tw > 0).
    pub queued: u64,
    /// Sum of the retries fields.
    pub retries: u64,
    pub redispatched: u64,
    /// Requests logged before they ended (`option logasap`): left out of
    /// the total-time figures.
    pub incomplete: u64,
    pub max_srv_queue: u64,
    pub max_backend_queue: u64,
    pub bytes: u64,
    /// Termination states other than `--` (an abnormal end), by count in
    /// the order first seen: few per group, and none on most requests.
    pub abnormal: Vec<([u8; 2], u64)>,
    /// Requests over time (see [`Config::server_slices`]); empty unless
    /// asked for.
    pub slices: Slices,
    /// The first and last second (of the log's clock) of a failed dated
    /// request: since when a server fails.
    pub failed_span: Option<(i64, i64)>,
}

#[inline(always)]
fn add_timer(h: &mut Histogram, v: Option<i64>) -> bool {
    match v {
        Some(v) if v >= 0 => {
            h.add(v as u64);
            true
        }
        Some(_) => false,
        None => true,
    }
}

fn non_negative(v: Option<i64>) -> u64 {
    v.map_or(0, |v| v.max(0) as u64)
}

impl Group {
    fn add(&mut self, r: &Request<'_>, failed: bool) {
        self.requests += 1;
        let class = match r.status {
            Some(s @ 100..=599) => (s / 100 - 1) as usize,
            _ => 5,
        };
        self.status_classes[class] += 1;
        self.failed += u64::from(failed);
        let mut ok = add_timer(&mut self.tt, r.tt);
        ok &= add_timer(&mut self.tr, r.tr);
        ok &= add_timer(&mut self.tw, r.tw);
        ok &= add_timer(&mut self.tc, r.tc);
        self.timers_ok += u64::from(ok);
        self.queued += u64::from(r.queued());
        self.retries += non_negative(r.retries);
        self.redispatched += u64::from(r.redispatched);
        self.incomplete += u64::from(r.incomplete);
        self.max_srv_queue = self.max_srv_queue.max(non_negative(r.srv_queue));
        self.max_backend_queue = self.max_backend_queue.max(non_negative(r.backend_queue));
        self.bytes += non_negative(r.bytes);
        if let Some(t) = r.termination.filter(|t| t != b"--") {
            self.abnormal_state(t, 1);
        }
    }

    #[inline(never)]
    fn abnormal_state(&mut self, state: [u8; 2], n: u64) {
        match self.abnormal.iter_mut().find(|(s, _)| *s == state) {
            Some((_, count)) => *count += n,
            None => self.abnormal.push((state, n)),
        }
    }

    /// The most frequent abnormal state and its count (ties: the first
    /// in byte order).
    pub fn top_abnormal(&self) -> Option<([u8; 2], u64)> {
        self.abnormal
            .iter()
            .copied()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
    }

    pub fn merge(&mut self, o: &Group) {
        self.requests += o.requests;
        for (a, b) in self.status_classes.iter_mut().zip(o.status_classes) {
            *a += b;
        }
        self.failed += o.failed;
        self.timers_ok += o.timers_ok;
        self.tt.merge(&o.tt);
        self.tr.merge(&o.tr);
        self.tw.merge(&o.tw);
        self.tc.merge(&o.tc);
        self.queued += o.queued;
        self.retries += o.retries;
        self.redispatched += o.redispatched;
        self.incomplete += o.incomplete;
        self.max_srv_queue = self.max_srv_queue.max(o.max_srv_queue);
        self.max_backend_queue = self.max_backend_queue.max(o.max_backend_queue);
        self.bytes += o.bytes;
        for &(state, n) in &o.abnormal {
            self.abnormal_state(state, n);
        }
        self.slices.merge(&o.slices);
        if let Some((first, last)) = o.failed_span {
            self.failed_between(first, last);
        }
    }

    fn failed_between(&mut self, first: i64, last: i64) {
        self.failed_span = Some(match self.failed_span {
            Some((a, b)) => (a.min(first), b.max(last)),
            None => (first, last),
        });
    }
}

/// Sum, count and maximum of a timer's values, -1 left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    pub sum: u64,
    pub count: u64,
    pub max: u64,
}

impl Timing {
    fn add(&mut self, v: Option<i64>) {
        if let Some(t) = v.filter(|&t| t >= 0) {
            self.sum += t as u64;
            self.count += 1;
            self.max = self.max.max(t as u64);
        }
    }

    fn merge(&mut self, o: &Timing) {
        self.sum += o.sum;
        self.count += o.count;
        self.max = self.max.max(o.max);
    }

    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// The largest value, if there was one.
    pub fn largest(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }
}

/// Figures of one URL path (or gRPC method).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UrlStats {
    pub requests: u64,
    pub failed: u64,
    pub status_5xx: u64,
    /// The total time.
    pub tt: Timing,
    /// The server response time.
    pub tr: Timing,
    pub bytes: u64,
}

impl UrlStats {
    fn merge(&mut self, o: &UrlStats) {
        self.requests += o.requests;
        self.failed += o.failed;
        self.status_5xx += o.status_5xx;
        self.tt.merge(&o.tt);
        self.tr.merge(&o.tr);
        self.bytes += o.bytes;
    }
}

/// Figures of one client address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    pub requests: u64,
    pub failed: u64,
    pub bytes: u64,
}

/// Figures of one second of the log's clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecondStats {
    pub requests: u64,
    pub failed: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    pub tt: Timing,
    pub bytes: u64,
    pub queued: u64,
    pub max_srv_queue: u64,
    pub max_backend_queue: u64,
}

impl SecondStats {
    fn add(&mut self, r: &Request<'_>, failed: bool) {
        self.requests += 1;
        self.failed += u64::from(failed);
        match r.status {
            Some(400..=499) => self.status_4xx += 1,
            Some(500..=599) => self.status_5xx += 1,
            _ => {}
        }
        self.tt.add(r.tt);
        self.bytes += non_negative(r.bytes);
        self.queued += u64::from(r.queued());
        self.max_srv_queue = self.max_srv_queue.max(non_negative(r.srv_queue));
        self.max_backend_queue = self.max_backend_queue.max(non_negative(r.backend_queue));
    }

    pub fn merge(&mut self, o: &SecondStats) {
        self.requests += o.requests;
        self.failed += o.failed;
        self.status_4xx += o.status_4xx;
        self.status_5xx += o.status_5xx;
        self.tt.merge(&o.tt);
        self.bytes += o.bytes;
        self.queued += o.queued;
        self.max_srv_queue = self.max_srv_queue.max(o.max_srv_queue);
        self.max_backend_queue = self.max_backend_queue.max(o.max_backend_queue);
    }
}

/// Adds `n` requests of `state` to a short list of states.
#[inline(never)]
fn tally_state(states: &mut Vec<([u8; 2], u64)>, state: [u8; 2], n: u64) {
    match states.iter_mut().find(|(s, _)| *s == state) {
        Some((_, count)) => *count += n,
        None => states.push((state, n)),
    }
}

/// The status classes' names, by [`Group::status_classes`] index.
pub const STATUS_CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];

/// A request's frontend, backend, server, status class (an index of
/// [`STATUS_CLASSES`]) and termination state (`??` when none) as one key:
/// the names separated by NUL, which a name cannot hold.
pub fn combination_key(key: &mut Vec<u8>, r: &Request<'_>) {
    let class = match r.status {
        Some(s @ 100..=599) => (s / 100 - 1) as u8,
        _ => 5,
    };
    key.clear();
    for part in [r.frontend, r.backend, r.server] {
        key.extend_from_slice(part);
        key.push(0);
    }
    key.push(b'0' + class);
    key.push(0);
    key.extend_from_slice(&r.termination.unwrap_or(*b"??"));
}

/// The parts of a [`combination_key`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Combination<'a> {
    pub frontend: &'a [u8],
    pub backend: &'a [u8],
    pub server: &'a [u8],
    /// An index of [`STATUS_CLASSES`].
    pub class: usize,
    pub termination: [u8; 2],
}

/// A [`combination_key`] read back.
pub fn combination_parts(key: &[u8]) -> Option<Combination<'_>> {
    let mut parts = key.split(|&b| b == 0);
    let frontend = parts.next()?;
    let backend = parts.next()?;
    let server = parts.next()?;
    let class = usize::from(*parts.next()?.first()?).checked_sub(usize::from(b'0'))?;
    let termination = parts.next()?.try_into().ok()?;
    Some(Combination {
        frontend,
        backend,
        server,
        class: class.min(5),
        termination,
    })
}

/// One of the slowest requests, its values copied out of the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlowRequest {
    pub position: Position,
    pub tt: u64,
    pub time: Option<LogTime>,
    pub frontend: Vec<u8>,
    pub backend: Vec<u8>,
    pub server: Vec<u8>,
    pub client: Vec<u8>,
    pub status: Option<i64>,
    pub termination: Option<[u8; 2]>,
    pub tw: Option<i64>,
    pub tc: Option<i64>,
    pub tr: Option<i64>,
    pub request: Vec<u8>,
}

impl SlowRequest {
    fn of(r: &Request<'_>, tt: u64, position: Position) -> SlowRequest {
        SlowRequest {
            position,
            tt,
            time: r.time,
            frontend: r.frontend.to_vec(),
            backend: r.backend.to_vec(),
            server: r.server.to_vec(),
            client: r.client.to_vec(),
            status: r.status,
            termination: r.termination,
            tw: r.tw,
            tc: r.tc,
            tr: r.tr,
            request: r.request.to_vec(),
        }
    }
}

/// The `keep` slowest requests, the earliest first among equals.
#[derive(Clone, Debug, Default)]
pub struct Slowest {
    keep: usize,
    items: Vec<SlowRequest>,
    /// Once `keep` items are held, a request must beat this to get in.
    floor: Option<(u64, Position)>,
}

impl Slowest {
    fn new(keep: usize) -> Slowest {
        Slowest {
            keep,
            items: Vec::new(),
            floor: None,
        }
    }

    /// Whether a request of total time `tt` at `position` would be kept.
    fn wants(&self, tt: u64, position: Position) -> bool {
        self.keep > 0
            && self
                .floor
                .is_none_or(|(ftt, fpos)| tt > ftt || (tt == ftt && position < fpos))
    }

    fn push(&mut self, item: SlowRequest) {
        self.items.push(item);
        if self.items.len() >= self.keep * 2 {
            self.settle();
        }
    }

    /// Sorts, keeps the best `keep`, and raises the floor.
    fn settle(&mut self) {
        self.items
            .sort_by(|a, b| b.tt.cmp(&a.tt).then(a.position.cmp(&b.position)));
        self.items.truncate(self.keep);
        if self.items.len() == self.keep {
            self.floor = self.items.last().map(|i| (i.tt, i.position));
        }
    }

    fn merge(&mut self, o: Slowest) {
        self.items.extend(o.items);
        self.settle();
    }

    /// The slowest requests, slowest first.
    pub fn items(&self) -> &[SlowRequest] {
        &self.items
    }
}

/// What to count, beyond the defaults.
#[derive(Clone, Debug)]
pub struct Config {
    pub filter: Filter,
    pub read: ReadOptions,
    /// How many slow requests to keep.
    pub slowest: usize,
    /// URLs keep their query string (`/search?q=x`), like halog's -query.
    pub keep_query: bool,
    /// How many unparsed lines to keep as examples.
    pub unparsed_examples: usize,
    /// How many of the latest failed requests to keep (a live view's
    /// error tail); none for a report.
    pub recent_failed: usize,
    /// Count requests per client address (the report's clients section;
    /// a live view has no use for them).
    pub clients: bool,
    /// Count requests by frontend, backend, server, status class and
    /// termination state together ([`TrafficStats::combinations`]): the
    /// label sets of a Prometheus counter.
    pub combinations: bool,
    /// Count each server's requests, failures and total times per time
    /// slice ([`Group::slices`]): charts of latency over time.
    pub server_slices: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            filter: Filter::default(),
            read: ReadOptions::default(),
            slowest: 10,
            keep_query: false,
            unparsed_examples: 5,
            recent_failed: 0,
            clients: true,
            combinations: false,
            server_slices: false,
        }
    }
}

/// The figures of a whole input.
#[derive(Clone, Debug, Default)]
pub struct TrafficStats {
    /// Lines read (blank lines are not counted).
    pub lines: u64,
    /// Lines by [`Kind`], indexed by [`Kind::index`].
    pub kinds: [u64; Kind::ALL.len()],
    /// Lines cut short (HAProxy's line length limit).
    pub truncated: u64,
    /// Traffic lines by the format that read them.
    pub formats: Vec<(String, u64)>,
    /// Requests that passed the filters: everything below counts these.
    pub requests: u64,
    /// Requests the filters dropped.
    pub excluded: u64,
    /// What the filters dropped, to say what there was when nothing is
    /// left: their earliest and latest dates, and with a name filter
    /// their names.
    pub excluded_first: Option<LogTime>,
    pub excluded_last: Option<LogTime>,
    pub excluded_names: Names,
    /// Kept requests without a readable date.
    pub undated: u64,
    /// The earliest and latest request dates (the log's clock).
    pub first: Option<LogTime>,
    pub last: Option<LogTime>,
    /// Requests by status code: -1 to 998 at index code + 1, others in
    /// `status_other` (see [`TrafficStats::status_counts`]).
    status: Vec<u64>,
    status_other: HashMap<i64, u64>,
    /// Lines without a status (TCP).
    pub no_status: u64,
    /// Requests by the first two characters of their termination state,
    /// in the order first seen (see [`TrafficStats::termination_counts`]).
    termination: Vec<([u8; 2], u64)>,
    pub frontends: Keyed<Group>,
    /// Servers by backend, then by server name.
    pub servers: Keyed<Keyed<Group>>,
    pub urls: Keyed<UrlStats>,
    /// Requests by HTTP method (`<BADREQ>` for unreadable requests).
    pub methods: Keyed<u64>,
    /// Requests to TLS frontends.
    pub tls: u64,
    /// Requests by captured gRPC status (index = code), and those whose
    /// status was not in the response headers (OK calls, whose status is
    /// in the trailers, and errors sent after data): only with a capture.
    pub grpc: [u64; 17],
    pub grpc_in_trailers: u64,
    pub clients: Keyed<ClientStats>,
    /// Requests by second of the log's clock (seconds since the epoch, as
    /// if the log's clock were UTC).
    pub seconds: HashMap<i64, SecondStats>,
    pub slowest: Slowest,
    /// The latest failed requests (see [`Config::recent_failed`]), in
    /// input order.
    pub recent_failed: Vec<SlowRequest>,
    /// Requests by [`combination_key`] (see [`Config::combinations`]).
    pub combinations: Keyed<u64>,
    /// The first unparsed lines, by position.
    pub unparsed: Vec<(Position, Vec<u8>)>,
    /// What merging needs of the config: the zone of dates written
    /// without one (to order them), and how many unparsed lines to keep.
    offset_minutes: i32,
    unparsed_examples: usize,
    recent_failed_kept: usize,
}

impl TrafficStats {
    pub fn new(config: &Config) -> TrafficStats {
        TrafficStats {
            slowest: Slowest::new(config.slowest),
            offset_minutes: config.filter.offset_minutes,
            unparsed_examples: config.unparsed_examples,
            recent_failed_kept: config.recent_failed,
            ..TrafficStats::default()
        }
    }

    /// Merges another part of the input in. The result does not depend on
    /// the order parts are merged in.
    fn merge_part(&mut self, o: TrafficStats) {
        let offset = self.offset_minutes;
        self.lines += o.lines;
        for (a, b) in self.kinds.iter_mut().zip(o.kinds) {
            *a += b;
        }
        self.truncated += o.truncated;
        for (name, n) in o.formats {
            bump_format(&mut self.formats, &name, n);
        }
        self.formats
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        self.requests += o.requests;
        self.excluded += o.excluded;
        self.excluded_first = earliest(self.excluded_first, o.excluded_first, offset);
        self.excluded_last = latest(self.excluded_last, o.excluded_last, offset);
        self.excluded_names.merge(o.excluded_names);
        self.undated += o.undated;
        self.first = earliest(self.first, o.first, offset);
        self.last = latest(self.last, o.last, offset);
        add_counts(&mut self.status, &o.status);
        for (k, v) in o.status_other {
            *self.status_other.entry(k).or_default() += v;
        }
        self.no_status += o.no_status;
        for (state, n) in o.termination {
            tally_state(&mut self.termination, state, n);
        }
        self.frontends.merge_with(o.frontends, |a, b| a.merge(&b));
        self.servers
            .merge_with(o.servers, |a, b| a.merge_with(b, |x, y| x.merge(&y)));
        self.urls.merge_with(o.urls, |a, b| a.merge(&b));
        self.methods.merge_with(o.methods, |a, b| *a += b);
        self.tls += o.tls;
        for (a, b) in self.grpc.iter_mut().zip(o.grpc) {
            *a += b;
        }
        self.grpc_in_trailers += o.grpc_in_trailers;
        self.clients.merge_with(o.clients, |c, v| {
            c.requests += v.requests;
            c.failed += v.failed;
            c.bytes += v.bytes;
        });
        let (mut seconds, mut more) = (std::mem::take(&mut self.seconds), o.seconds);
        if more.len() > seconds.len() {
            std::mem::swap(&mut seconds, &mut more);
        }
        for (k, v) in more {
            seconds.entry(k).or_default().merge(&v);
        }
        self.seconds = seconds;
        self.slowest.merge(o.slowest);
        self.combinations.merge_with(o.combinations, |a, b| *a += b);
        self.recent_failed.extend(o.recent_failed);
        self.recent_failed.sort_by_key(|r| r.position);
        let extra = self
            .recent_failed
            .len()
            .saturating_sub(self.recent_failed_kept);
        self.recent_failed.drain(..extra);
        self.unparsed.extend(o.unparsed);
        self.unparsed.sort_by_key(|u| u.0);
        self.unparsed.truncate(self.unparsed_examples);
    }

    /// Requests by status code, by code.
    pub fn status_counts(&self) -> Vec<(i64, u64)> {
        let mut counts: Vec<(i64, u64)> = self
            .status
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(i, &n)| (i as i64 - 1, n))
            .chain(self.status_other.iter().map(|(&k, &v)| (k, v)))
            .collect();
        counts.sort();
        counts
    }

    /// Requests by termination state, by state.
    pub fn termination_counts(&self) -> Vec<([u8; 2], u64)> {
        let mut states = self.termination.clone();
        states.sort_unstable();
        states
    }

    /// Every kept request together.
    pub fn overall(&self) -> Group {
        let mut all = Group::default();
        for g in self.frontends.values() {
            all.merge(g);
        }
        all
    }

    /// A backend's figures: the merge of its servers'.
    pub fn backend_totals(&self) -> Vec<(&[u8], Group)> {
        self.servers
            .iter()
            .map(|(backend, servers)| {
                let mut total = Group::default();
                for g in servers.values() {
                    total.merge(g);
                }
                (backend, total)
            })
            .collect()
    }
}

/// The frontends, backends and servers (`backend/server`) of a set of
/// requests, with their request counts.
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub frontends: Keyed<Seen>,
    pub backends: Keyed<Seen>,
    pub servers: Keyed<Seen>,
}

/// How many requests had a name. A type of its own, not `u64`: the table
/// code made for it stays apart from the per-request tables' (which the
/// compiler then inlines into the hot loop).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seen(pub u64);

impl Names {
    fn add(&mut self, r: &Request<'_>) {
        self.frontends.entry(r.frontend).0 += 1;
        self.backends.entry(r.backend).0 += 1;
        let mut server = [0u8; 128];
        let n = r.backend.len() + 1 + r.server.len();
        if n <= server.len() {
            server[..r.backend.len()].copy_from_slice(r.backend);
            server[r.backend.len()] = b'/';
            server[r.backend.len() + 1..n].copy_from_slice(r.server);
            self.servers.entry(&server[..n]).0 += 1;
        } else {
            self.servers.entry(&[r.backend, b"/", r.server].concat()).0 += 1;
        }
    }

    fn merge(&mut self, o: Names) {
        self.frontends.merge_with(o.frontends, |a, b| a.0 += b.0);
        self.backends.merge_with(o.backends, |a, b| a.0 += b.0);
        self.servers.merge_with(o.servers, |a, b| a.0 += b.0);
    }
}

/// Status codes -1 to 998 have a slot each.
const STATUS_SLOTS: usize = 1000;

/// Adds counts indexed alike (either side may not be allocated yet).
fn add_counts(into: &mut Vec<u64>, from: &[u64]) {
    if into.len() < from.len() {
        into.resize(from.len(), 0);
    }
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

fn bump_format(formats: &mut Vec<(String, u64)>, name: &str, n: u64) {
    match formats.iter_mut().find(|(f, _)| f == name) {
        Some((_, count)) => *count += n,
        None => formats.push((name.to_string(), n)),
    }
}

/// Orders dates by the instant they name; equal instants by their clock
/// reading, so that the choice does not depend on merge order.
fn instant(t: &LogTime, offset_minutes: i32) -> (i64, i64) {
    (t.utc_ms(offset_minutes), t.local_ms)
}

fn earliest(a: Option<LogTime>, b: Option<LogTime>, offset: i32) -> Option<LogTime> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if instant(&y, offset) < instant(&x, offset) {
            y
        } else {
            x
        }),
        (x, y) => x.or(y),
    }
}

fn latest(a: Option<LogTime>, b: Option<LogTime>, offset: i32) -> Option<LogTime> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if instant(&y, offset) > instant(&x, offset) {
            y
        } else {
            x
        }),
        (x, y) => x.or(y),
    }
}

impl crate::merge::Merge for TrafficStats {
    fn merge(&mut self, other: TrafficStats) {
        self.merge_part(other);
    }
}

/// Folds the lines of one thread.
pub struct Collector<'c> {
    config: &'c Config,
    /// Any filter set: without one, no request needs checking.
    filtering: bool,
    names_filtered: bool,
    dates: DateCache,
    pub stats: TrafficStats,
    /// The second being counted, kept out of the map while lines of it
    /// come in (most of a log is in time order).
    second: Option<(i64, SecondStats)>,
    /// Reused for each request's combination key.
    key: Vec<u8>,
}

impl<'c> Collector<'c> {
    pub fn new(config: &'c Config) -> Collector<'c> {
        Collector {
            config,
            filtering: config.filter.is_active(),
            names_filtered: config.filter.names_filtered(),
            dates: DateCache::default(),
            stats: TrafficStats::new(config),
            second: None,
            key: Vec::new(),
        }
    }

    /// Counts one line.
    pub fn line(&mut self, record: &Record<'_, '_>, position: Position) {
        let stats = &mut self.stats;
        stats.lines += 1;
        stats.kinds[record.kind.index()] += 1;
        stats.truncated += u64::from(record.truncated);
        if record.kind == Kind::Unparsed {
            if stats.unparsed.len() < self.config.unparsed_examples {
                stats.unparsed.push((position, record.line.to_vec()));
            }
            return;
        }
        let Some(request) = Request::from_record(record, &mut self.dates, &self.config.read) else {
            return;
        };
        if let Some(name) = record.format_name() {
            match stats.formats.first_mut() {
                Some((f, n)) if f == name => *n += 1,
                _ => bump_format(&mut stats.formats, name, 1),
            }
        }
        if self.filtering && !self.config.filter.keeps(&request) {
            self.exclude(&request);
            return;
        }
        self.request(&request, position);
    }

    /// Counts a request the filters dropped. Out of line: the kept
    /// requests' path stays as the compiler inlined it.
    #[inline(never)]
    fn exclude(&mut self, request: &Request<'_>) {
        let stats = &mut self.stats;
        stats.excluded += 1;
        if let Some(t) = request.time {
            stats.excluded_first = earliest(
                stats.excluded_first,
                Some(t),
                self.config.filter.offset_minutes,
            );
            stats.excluded_last = latest(
                stats.excluded_last,
                Some(t),
                self.config.filter.offset_minutes,
            );
        }
        if self.names_filtered {
            stats.excluded_names.add(request);
        }
    }

    fn request(&mut self, r: &Request<'_>, position: Position) {
        let config = self.config;
        let stats = &mut self.stats;
        let failed = r.failed();
        stats.requests += 1;
        let mut dated_second = None;
        match r.time {
            Some(t) => {
                stats.first = earliest(stats.first, Some(t), config.filter.offset_minutes);
                stats.last = latest(stats.last, Some(t), config.filter.offset_minutes);
                let second = t.local_ms.div_euclid(1000);
                dated_second = Some(second);
                match &mut self.second {
                    Some((s, figures)) if *s == second => figures.add(r, failed),
                    current => {
                        if let Some((s, figures)) = current.take() {
                            stats.seconds.entry(s).or_default().merge(&figures);
                        }
                        let mut figures = SecondStats::default();
                        figures.add(r, failed);
                        *current = Some((second, figures));
                    }
                }
            }
            None => stats.undated += 1,
        }
        // Arrays, not maps: these two are counted for every request.
        match r.status {
            Some(s @ -1..=998) => {
                if stats.status.is_empty() {
                    stats.status.resize(STATUS_SLOTS, 0);
                }
                stats.status[(s + 1) as usize] += 1;
            }
            Some(s) => *stats.status_other.entry(s).or_default() += 1,
            None => stats.no_status += 1,
        }
        if let Some(t) = r.termination {
            // A few states in a log, the usual one first: a short scan.
            match stats.termination.first_mut() {
                Some((state, n)) if *state == t => *n += 1,
                _ => tally_state(&mut stats.termination, t, 1),
            }
        }
        stats.frontends.entry(r.frontend).add(r, failed);
        let server = stats.servers.entry(r.backend).entry(r.server);
        server.add(r, failed);
        if failed {
            if let Some(second) = dated_second {
                server.failed_between(second, second);
            }
        }
        if config.server_slices {
            if let Some(second) = dated_second {
                let tt = r.tt.filter(|&t| t >= 0).map(|t| t as u64);
                server.slices.add(second, tt, failed);
            }
        }

        // A request without a path (`<BADREQ>`, a cut line) is counted
        // under the request as logged; TCP connections have neither.
        let url = match (config.keep_query, r.path.is_empty()) {
            (_, true) => r.request,
            (true, false) => r.target,
            (false, false) => r.path,
        };
        if !r.method.is_empty() {
            *stats.methods.entry(r.method) += 1;
        }
        stats.tls += u64::from(r.tls);
        if config.read.grpc_status_capture.is_some() {
            match r.grpc_status {
                Some(code) => stats.grpc[usize::from(code)] += 1,
                None => stats.grpc_in_trailers += 1,
            }
        }
        if !url.is_empty() {
            let u = stats.urls.entry(url);
            u.requests += 1;
            u.failed += u64::from(failed);
            u.status_5xx += u64::from(matches!(r.status, Some(500..=599)));
            u.tt.add(r.tt);
            u.tr.add(r.tr);
            u.bytes += non_negative(r.bytes);
        }

        if config.clients {
            let c = stats.clients.entry(r.client);
            c.requests += 1;
            c.failed += u64::from(failed);
            c.bytes += non_negative(r.bytes);
        }

        if let Some(tt) = r.tt.filter(|&t| t >= 0) {
            let tt = tt as u64;
            if stats.slowest.wants(tt, position) {
                stats.slowest.push(SlowRequest::of(r, tt, position));
            }
        }
        if failed && config.recent_failed > 0 {
            self.recent_failed(r, position);
        }
        if config.combinations {
            combination_key(&mut self.key, r);
            *self.stats.combinations.entry(&self.key) += 1;
        }
    }

    #[inline(never)]
    fn recent_failed(&mut self, r: &Request<'_>, position: Position) {
        let keep = self.config.recent_failed;
        let recent = &mut self.stats.recent_failed;
        recent.push(SlowRequest::of(
            r,
            r.tt.unwrap_or(0).max(0) as u64,
            position,
        ));
        if recent.len() >= keep * 2 {
            recent.drain(..recent.len() - keep);
        }
    }

    /// The figures of every line given, once all are in.
    pub fn finish(mut self) -> TrafficStats {
        if let Some((s, figures)) = self.second.take() {
            self.stats.seconds.entry(s).or_default().merge(&figures);
        }
        self.stats.slowest.settle();
        let extra = self
            .stats
            .recent_failed
            .len()
            .saturating_sub(self.config.recent_failed);
        self.stats.recent_failed.drain(..extra);
        self.stats
    }
}
