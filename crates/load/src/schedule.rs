//! When each call is meant to start: the open-loop schedule behind `--rps`
//! and `--load-schedule`. Calls are measured from these intended times as
//! well as from their actual send, so a stalled server or generator shows
//! up instead of hiding (coordinated omission).

use std::time::Duration;

/// When call number k is meant to start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Slot {
    /// As soon as a worker is free (no rate given).
    Now,
    /// This long after the run started.
    At(Duration),
    /// The schedule has ended; no call k.
    End,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    Unpaced,
    /// ghz's constant pacer: call k at (k + 1) / rps, so the first call
    /// waits one interval, as in ghz.
    Const {
        rps: f64,
    },
    /// A rate changing in steps; see [`Schedule::step`].
    Steps(Steps),
}

/// A piecewise-constant rate: `segments` in order, then `tail_rate` forever
/// (or the end of the schedule when it is 0).
#[derive(Clone, Debug, PartialEq)]
pub struct Steps {
    segments: Vec<Segment>,
    tail_start: f64,
    tail_hits: f64,
    tail_rate: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Segment {
    start: f64,
    /// Calls scheduled before this segment.
    hits_before: f64,
    rate: f64,
    length: f64,
}

/// The most steps a ramp may have before it must have reached its end.
const MAX_STEPS: usize = 1_000_000;

/// ghz's step ramp, shared by the rate and the worker schedules: the value
/// is `start + step * floor(t / every)`, never below 0, until it passes
/// `end` (when `end` is above 0) or `max_duration` ends the ramp; then it
/// stays at `end`, and an `end` of 0 ends the schedule.
#[derive(Clone, Debug, PartialEq)]
struct Staircase {
    /// (start, length, value) of each step, in seconds.
    steps: Vec<(f64, f64, f64)>,
    end_time: f64,
    final_value: f64,
}

impl Staircase {
    fn new(
        start: f64,
        step: f64,
        every: Duration,
        end: f64,
        max_duration: Option<Duration>,
    ) -> Result<Staircase, String> {
        if every.is_zero() {
            return Err("the step schedule needs a step duration above 0".into());
        }
        if step == 0.0 {
            return Err("the step schedule needs a step other than 0".into());
        }
        if start == end {
            return Err("the start and end values must differ".into());
        }
        if start < 0.0 || end < 0.0 {
            return Err("the values cannot be negative".into());
        }
        let rising = step > 0.0;
        if rising && end <= 0.0 && max_duration.is_none() {
            return Err("a rising schedule needs an end value or a maximum duration".into());
        }
        let every = every.as_secs_f64();
        let limit = max_duration.map(|d| d.as_secs_f64());
        let mut steps = Vec::new();
        let mut t = 0.0;
        for index in 0..MAX_STEPS {
            let value = (start + step * index as f64).max(0.0);
            let passed = end > 0.0 && if rising { value >= end } else { value <= end };
            if passed || limit.is_some_and(|l| t >= l) || (!rising && value == 0.0) {
                return Ok(Staircase {
                    steps,
                    end_time: t,
                    final_value: end,
                });
            }
            let length = limit.map_or(every, |l| every.min(l - t));
            steps.push((t, length, value));
            t += length;
        }
        Err(format!(
            "the ramp does not reach its end within {MAX_STEPS} steps"
        ))
    }
}

/// When each worker is at work: ghz's `--concurrency-schedule`. Worker i
/// starts when the worker count first exceeds i and stops (after its
/// current call) when the count falls to i or below.
#[derive(Clone, Debug, PartialEq)]
pub struct Workers {
    /// Per worker: from, and until (`None`: to the end of the run).
    pub windows: Vec<(Duration, Option<Duration>)>,
}

/// The most workers a schedule may ask for.
pub const MAX_WORKERS: usize = 100_000;

impl Workers {
    /// `count` workers for the whole run (`-c`).
    pub fn constant(count: usize) -> Workers {
        Workers {
            windows: vec![(Duration::ZERO, None); count.max(1)],
        }
    }

    /// Workers added or removed in steps (`step`; `line` is `every` = 1 s).
    pub fn step(
        start: usize,
        step: i64,
        every: Duration,
        end: usize,
        max_duration: Option<Duration>,
    ) -> Result<Workers, String> {
        let ramp = Staircase::new(start as f64, step as f64, every, end as f64, max_duration)?;
        let mut counts: Vec<(f64, usize)> = ramp
            .steps
            .iter()
            .map(|&(t, _, value)| (t, value as usize))
            .collect();
        counts.push((ramp.end_time, ramp.final_value as usize));
        let most = counts.iter().map(|c| c.1).max().unwrap_or(0);
        if most == 0 {
            return Err("the schedule never has a worker".into());
        }
        if most > MAX_WORKERS {
            return Err(format!(
                "the schedule asks for {most} workers; at most {MAX_WORKERS}"
            ));
        }
        let windows = (0..most)
            .map(|worker| {
                let from = counts
                    .iter()
                    .position(|&(_, c)| c > worker)
                    .expect("most > worker");
                let until = counts[from..]
                    .iter()
                    .find(|&&(_, c)| c <= worker)
                    .map(|&(t, _)| Duration::from_secs_f64(t));
                (Duration::from_secs_f64(counts[from].0), until)
            })
            .collect();
        Ok(Workers { windows })
    }

    pub fn most(&self) -> usize {
        self.windows.len()
    }
}

impl Schedule {
    pub fn constant(rps: f64) -> Schedule {
        if rps > 0.0 {
            Schedule::Const { rps }
        } else {
            Schedule::Unpaced
        }
    }

    /// ghz's `step` schedule: the rate is `start + step * floor(t / every)`,
    /// never below 0. The ramp lasts until the rate passes `end` (when `end`
    /// is above 0) or until `max_duration` (when given); after that the rate
    /// stays at `end`, and an `end` of 0 ends the run. `line` is the same
    /// with `every` = 1 s.
    pub fn step(
        start: f64,
        step: f64,
        every: Duration,
        end: f64,
        max_duration: Option<Duration>,
    ) -> Result<Schedule, String> {
        let ramp = Staircase::new(start, step, every, end, max_duration)?;
        let mut segments = Vec::with_capacity(ramp.steps.len());
        let mut hits = 0.0;
        for &(start, length, rate) in &ramp.steps {
            segments.push(Segment {
                start,
                hits_before: hits,
                rate,
                length,
            });
            hits += rate * length;
        }
        Ok(Schedule::Steps(Steps {
            segments,
            tail_start: ramp.end_time,
            tail_hits: hits,
            tail_rate: ramp.final_value,
        }))
    }

    /// When call `k` (0-based) is meant to start.
    pub fn slot(&self, k: u64) -> Slot {
        match self {
            Schedule::Unpaced => Slot::Now,
            Schedule::Const { rps } => Slot::At(Duration::from_secs_f64((k + 1) as f64 / rps)),
            Schedule::Steps(steps) => steps.slot(k),
        }
    }

    /// The rate at `elapsed`, for the report; `None` when unpaced.
    pub fn rate_at(&self, elapsed: Duration) -> Option<f64> {
        match self {
            Schedule::Unpaced => None,
            Schedule::Const { rps } => Some(*rps),
            Schedule::Steps(steps) => {
                let t = elapsed.as_secs_f64();
                Some(
                    steps
                        .segments
                        .iter()
                        .find(|s| t >= s.start && t < s.start + s.length)
                        .map_or(steps.tail_rate, |s| s.rate),
                )
            }
        }
    }
}

impl Steps {
    fn slot(&self, k: u64) -> Slot {
        // Call k goes out when k + 1 calls are due.
        let due = (k + 1) as f64;
        let index = self
            .segments
            .partition_point(|s| s.hits_before + s.rate * s.length < due);
        if let Some(segment) = self.segments.get(index) {
            let offset = (due - segment.hits_before) / segment.rate;
            return Slot::At(Duration::from_secs_f64(segment.start + offset));
        }
        if self.tail_rate <= 0.0 {
            return Slot::End;
        }
        let offset = (due - self.tail_hits) / self.tail_rate;
        Slot::At(Duration::from_secs_f64(self.tail_start + offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(slot: Slot) -> f64 {
        match slot {
            Slot::At(d) => d.as_secs_f64(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn constant_rate_waits_one_interval_first() {
        let s = Schedule::constant(2.0);
        assert_eq!(secs(s.slot(0)), 0.5);
        assert_eq!(secs(s.slot(99)), 50.0);
        assert_eq!(Schedule::constant(0.0).slot(5), Slot::Now);
    }

    #[test]
    fn steps_ramp_then_hold() {
        // 1/s for a second, 2/s for a second, then 3/s held.
        let s = Schedule::step(1.0, 1.0, Duration::from_secs(1), 3.0, None).unwrap();
        let times: Vec<f64> = (0..7).map(|k| secs(s.slot(k))).collect();
        let want = [
            1.0,
            1.5,
            2.0,
            2.0 + 1.0 / 3.0,
            2.0 + 2.0 / 3.0,
            3.0,
            3.0 + 1.0 / 3.0,
        ];
        for (got, want) in times.iter().zip(want) {
            assert!((got - want).abs() < 1e-9, "{times:?}");
        }
        assert_eq!(s.rate_at(Duration::from_millis(1500)), Some(2.0));
        assert_eq!(s.rate_at(Duration::from_secs(60)), Some(3.0));
    }

    #[test]
    fn a_ramp_down_to_zero_ends() {
        let s = Schedule::step(4.0, -2.0, Duration::from_secs(1), 0.0, None).unwrap();
        // 4 calls in the first second, 2 in the next, then none.
        let slots: Vec<Slot> = (0..7).map(|k| s.slot(k)).collect();
        assert_eq!(secs(slots[3]), 1.0);
        assert_eq!(secs(slots[5]), 2.0);
        assert_eq!(slots[6], Slot::End);
    }

    #[test]
    fn max_duration_ends_a_ramp_with_no_end_rate() {
        let s = Schedule::step(
            10.0,
            10.0,
            Duration::from_secs(1),
            0.0,
            Some(Duration::from_secs(2)),
        )
        .unwrap();
        assert_eq!(secs(s.slot(9)), 1.0);
        assert_eq!(secs(s.slot(29)), 2.0);
        assert_eq!(s.slot(30), Slot::End);
    }

    #[test]
    fn workers_join_and_leave_in_steps() {
        let second = Duration::from_secs(1);
        // 2 workers, then 4, then 6 held.
        let w = Workers::step(2, 2, second, 6, None).unwrap();
        let starts: Vec<u64> = w.windows.iter().map(|(from, _)| from.as_secs()).collect();
        assert_eq!(starts, [0, 0, 1, 1, 2, 2]);
        assert!(w.windows.iter().all(|(_, until)| until.is_none()));
        // 3 workers, then 2, then 1, then none.
        let w = Workers::step(3, -1, second, 0, None).unwrap();
        let untils: Vec<Option<u64>> = w
            .windows
            .iter()
            .map(|(_, u)| u.map(|d| d.as_secs()))
            .collect();
        assert_eq!(untils, [Some(3), Some(2), Some(1)]);
        assert_eq!(Workers::constant(4).most(), 4);
    }

    #[test]
    fn rejects_what_ghz_rejects() {
        let second = Duration::from_secs(1);
        assert!(Schedule::step(1.0, 0.0, second, 5.0, None).is_err());
        assert!(Schedule::step(5.0, 1.0, second, 5.0, None).is_err());
        assert!(Schedule::step(1.0, 1.0, Duration::ZERO, 5.0, None).is_err());
        assert!(Schedule::step(1.0, 1.0, second, 0.0, None).is_err());
    }
}
