//! Seconds of traffic kept for the longest window, and everything since
//! the start: memory bounded by the window, whatever the run time.

use haplog_analyze::{TrafficStats, Windowed};

use crate::slot::Slot;

/// The per-second slots of a live view.
pub struct Store {
    seconds: Windowed<Slot>,
    /// The newest second a line had (UTC), for the follow lag.
    newest: Option<i64>,
    /// Requests and lines since the start: counted as slots come, so a
    /// view that shows only these need not merge every slot.
    requests: u64,
    lines: u64,
}

impl Store {
    /// Keeps `span_seconds` of seconds (the longest window shown).
    pub fn new(span_seconds: u32) -> Store {
        Store {
            seconds: Windowed::new(span_seconds),
            newest: None,
            requests: 0,
            lines: 0,
        }
    }

    /// Adds the figures of `second`'s lines (UTC seconds).
    pub fn add(&mut self, second: i64, stats: &TrafficStats) {
        self.add_slot(second, Slot::from(stats));
    }

    /// Adds `second`'s slot (made on another thread).
    pub fn add_slot(&mut self, second: i64, slot: Slot) {
        if slot.requests > 0 {
            self.newest = Some(self.newest.map_or(second, |n| n.max(second)));
        }
        self.requests += slot.requests;
        self.lines += slot.lines;
        self.seconds.add(second, slot);
    }

    /// The last `seconds` seconds up to `now` (UTC), merged.
    pub fn window(&self, now: i64, seconds: u32) -> Slot {
        self.seconds.last(now, seconds).unwrap_or_default()
    }

    /// Requests and lines since the start (what [`Store::since_start`]
    /// would count, without merging).
    pub fn totals(&self) -> (u64, u64) {
        (self.requests, self.lines)
    }

    /// Everything since the start.
    pub fn since_start(&self) -> Slot {
        self.seconds.since_start().unwrap_or_default()
    }

    /// The per-second slots kept, oldest first (a chart's points).
    pub fn seconds(&self) -> impl Iterator<Item = (i64, &Slot)> {
        self.seconds.seconds()
    }

    /// `value` of each second of the last `seconds` up to `now`, oldest
    /// first, 0 for a second without lines (a sparkline's points).
    pub fn per_second(&self, now: i64, seconds: u32, value: impl Fn(&Slot) -> u64) -> Vec<u64> {
        let from = now - i64::from(seconds) + 1;
        let mut out = vec![0; seconds as usize];
        for (second, slot) in self.seconds.seconds() {
            if second >= from && second <= now {
                out[(second - from) as usize] = value(slot);
            }
        }
        out
    }

    /// The newest log second with a request (UTC).
    pub fn newest(&self) -> Option<i64> {
        self.newest
    }
}
