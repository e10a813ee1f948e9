//! What one second of traffic leaves in a live view, small enough to keep
//! minutes of seconds: per frontend and server, counts and the timers'
//! non-empty histogram buckets; termination states; the busiest URLs; the
//! latest failed requests; the counts Prometheus' labels need.

use std::collections::{BTreeMap, HashMap};

use haplog_analyze::traffic::{combination_parts, SlowRequest};
use haplog_analyze::{Group, Merge, SparseHistogram, TrafficStats};
use haplog_format::Kind;

/// URLs a slot keeps, the busiest: a long window's top URLs are the top
/// of each second's (exact when a second has fewer distinct URLs).
pub const URLS_KEPT: usize = 100;
/// Failed requests a slot keeps, the latest.
pub const FAILED_KEPT: usize = 20;

/// One frontend's, backend's or server's traffic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Flow {
    pub requests: u64,
    pub failed: u64,
    /// 1xx, 2xx, 3xx, 4xx, 5xx, other.
    pub classes: [u64; 6],
    pub bytes: u64,
    pub queued: u64,
    /// Termination states other than `--`, by state.
    pub abnormal: BTreeMap<[u8; 2], u64>,
    pub tt: SparseHistogram,
    pub tr: SparseHistogram,
    pub tw: SparseHistogram,
    pub tc: SparseHistogram,
}

impl From<&Group> for Flow {
    fn from(g: &Group) -> Flow {
        Flow {
            tt: SparseHistogram::from(&g.tt),
            tr: SparseHistogram::from(&g.tr),
            tw: SparseHistogram::from(&g.tw),
            tc: SparseHistogram::from(&g.tc),
            ..Flow::counts(g)
        }
    }
}

impl Flow {
    /// A group's counts, without its timers (a frontend's: the views show
    /// timers per server).
    pub fn counts(g: &Group) -> Flow {
        Flow {
            requests: g.requests,
            failed: g.failed,
            classes: g.status_classes,
            bytes: g.bytes,
            queued: g.queued,
            abnormal: g.abnormal.iter().copied().collect(),
            ..Flow::default()
        }
    }
}

impl Merge for Flow {
    fn merge(&mut self, o: Flow) {
        self.requests += o.requests;
        self.failed += o.failed;
        for (a, b) in self.classes.iter_mut().zip(o.classes) {
            *a += b;
        }
        self.bytes += o.bytes;
        self.queued += o.queued;
        for (state, n) in o.abnormal {
            *self.abnormal.entry(state).or_default() += n;
        }
        self.tt.merge(&o.tt);
        self.tr.merge(&o.tr);
        self.tw.merge(&o.tw);
        self.tc.merge(&o.tc);
    }
}

impl Flow {
    /// The timers by name, in HAProxy's order of importance.
    pub fn timers(&self) -> [(&'static str, &SparseHistogram); 4] {
        [
            ("Tt", &self.tt),
            ("Tr", &self.tr),
            ("Tw", &self.tw),
            ("Tc", &self.tc),
        ]
    }

    /// The most frequent abnormal termination state.
    pub fn top_abnormal(&self) -> Option<([u8; 2], u64)> {
        self.abnormal
            .iter()
            .map(|(s, n)| (*s, *n))
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
    }
}

/// A URL's (or gRPC method's) requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UrlCount {
    pub requests: u64,
    pub failed: u64,
}

/// The labels of one Prometheus request counter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Labels {
    pub frontend: Vec<u8>,
    pub backend: Vec<u8>,
    pub server: Vec<u8>,
    /// An index of `STATUS_CLASSES`.
    pub class: usize,
    pub termination: [u8; 2],
}

/// One second's traffic (or a window's: slots merge).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Slot {
    pub lines: u64,
    pub kinds: [u64; Kind::ALL.len()],
    pub requests: u64,
    /// Requests the filters left out.
    pub excluded: u64,
    pub frontends: BTreeMap<Vec<u8>, Flow>,
    /// By (backend, server).
    pub servers: BTreeMap<(Vec<u8>, Vec<u8>), Flow>,
    /// Every termination state, `--` among them.
    pub terminations: BTreeMap<[u8; 2], u64>,
    /// The busiest URLs, at most [`URLS_KEPT`].
    pub urls: Vec<(Vec<u8>, UrlCount)>,
    /// The latest failed requests, oldest first, at most [`FAILED_KEPT`].
    pub failed: Vec<SlowRequest>,
    pub counters: BTreeMap<Labels, u64>,
}

impl From<&TrafficStats> for Slot {
    fn from(stats: &TrafficStats) -> Slot {
        let mut slot = Slot {
            lines: stats.lines,
            kinds: stats.kinds,
            requests: stats.requests,
            excluded: stats.excluded,
            frontends: stats
                .frontends
                .iter()
                .map(|(k, g)| (k.to_vec(), Flow::counts(g)))
                .collect(),
            terminations: stats.termination_counts().into_iter().collect(),
            failed: stats.recent_failed.clone(),
            ..Slot::default()
        };
        for (backend, servers) in stats.servers.iter() {
            for (server, g) in servers.iter() {
                slot.servers
                    .insert((backend.to_vec(), server.to_vec()), Flow::from(g));
            }
        }
        // The busiest first, chosen before any URL is copied.
        let mut urls: Vec<(&[u8], u64, u64)> = stats
            .urls
            .iter()
            .map(|(url, u)| (url, u.requests, u.failed))
            .collect();
        let busiest =
            |a: &(&[u8], u64, u64), b: &(&[u8], u64, u64)| b.1.cmp(&a.1).then(a.0.cmp(b.0));
        if urls.len() > URLS_KEPT {
            urls.select_nth_unstable_by(URLS_KEPT, busiest);
            urls.truncate(URLS_KEPT);
        }
        urls.sort_by(busiest);
        slot.urls = urls
            .into_iter()
            .map(|(url, requests, failed)| (url.to_vec(), UrlCount { requests, failed }))
            .collect();
        for (key, n) in stats.combinations.iter() {
            if let Some(c) = combination_parts(key) {
                slot.counters.insert(
                    Labels {
                        frontend: c.frontend.to_vec(),
                        backend: c.backend.to_vec(),
                        server: c.server.to_vec(),
                        class: c.class,
                        termination: c.termination,
                    },
                    *n,
                );
            }
        }
        slot
    }
}

fn keep_busiest(urls: &mut Vec<(Vec<u8>, UrlCount)>) {
    let busiest = |a: &(Vec<u8>, UrlCount), b: &(Vec<u8>, UrlCount)| {
        b.1.requests.cmp(&a.1.requests).then(a.0.cmp(&b.0))
    };
    if urls.len() > URLS_KEPT {
        urls.select_nth_unstable_by(URLS_KEPT, busiest);
        urls.truncate(URLS_KEPT);
    }
    urls.sort_by(busiest);
}

impl Merge for Slot {
    fn merge(&mut self, o: Slot) {
        self.lines += o.lines;
        for (a, b) in self.kinds.iter_mut().zip(o.kinds) {
            *a += b;
        }
        self.requests += o.requests;
        self.excluded += o.excluded;
        for (k, f) in o.frontends {
            merge_entry(&mut self.frontends, k, f);
        }
        for (k, f) in o.servers {
            merge_entry(&mut self.servers, k, f);
        }
        for (k, n) in o.terminations {
            *self.terminations.entry(k).or_default() += n;
        }
        for (k, n) in o.counters {
            *self.counters.entry(k).or_default() += n;
        }
        if !o.urls.is_empty() {
            let mut urls: HashMap<Vec<u8>, UrlCount> =
                std::mem::take(&mut self.urls).into_iter().collect();
            for (url, c) in o.urls {
                let u = urls.entry(url).or_default();
                u.requests += c.requests;
                u.failed += c.failed;
            }
            self.urls = urls.into_iter().collect();
            keep_busiest(&mut self.urls);
        }
        self.failed.extend(o.failed);
        // Latest last: by date, then by where the line was read.
        self.failed
            .sort_by_key(|r| (r.time.map(|t| t.local_ms), r.position));
        let extra = self.failed.len().saturating_sub(FAILED_KEPT);
        self.failed.drain(..extra);
    }
}

fn merge_entry<K: Ord>(map: &mut BTreeMap<K, Flow>, key: K, flow: Flow) {
    match map.get_mut(&key) {
        Some(f) => f.merge(flow),
        None => {
            map.insert(key, flow);
        }
    }
}

impl Slot {
    /// Each backend's servers together.
    pub fn backends(&self) -> BTreeMap<Vec<u8>, Flow> {
        let mut backends = BTreeMap::new();
        for ((backend, _), flow) in &self.servers {
            merge_entry(&mut backends, backend.clone(), flow.clone());
        }
        backends
    }

    /// Lines read that could not be parsed.
    pub fn unparsed(&self) -> u64 {
        self.kinds[Kind::Unparsed.index()]
    }
}
