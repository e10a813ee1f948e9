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
        if every.is_zero() {
            return Err("the step schedule needs a step duration above 0".into());
        }
        if step == 0.0 {
            return Err("the step schedule needs a step other than 0".into());
        }
        if start == end {
            return Err("the start and end rates must differ".into());
        }
        if start < 0.0 || end < 0.0 {
            return Err("rates cannot be negative".into());
        }
        let rising = step > 0.0;
        if rising && end <= 0.0 && max_duration.is_none() {
            return Err("a rising schedule needs an end rate or a maximum duration".into());
        }
        let every = every.as_secs_f64();
        let limit = max_duration.map(|d| d.as_secs_f64());
        let mut segments = Vec::new();
        let mut t = 0.0;
        let mut hits = 0.0;
        for index in 0..MAX_STEPS {
            let mut rate = (start + step * index as f64).max(0.0);
            let passed = end > 0.0 && if rising { rate >= end } else { rate <= end };
            if passed {
                rate = end;
            }
            if passed || limit.is_some_and(|l| t >= l) || (!rising && rate == 0.0) {
                break;
            }
            let mut length = every;
            if let Some(limit) = limit {
                length = length.min(limit - t);
            }
            segments.push(Segment {
                start: t,
                hits_before: hits,
                rate,
                length,
            });
            t += length;
            hits += rate * length;
            if index + 1 == MAX_STEPS {
                return Err(format!(
                    "the ramp does not reach its end within {MAX_STEPS} steps"
                ));
            }
        }
        Ok(Schedule::Steps(Steps {
            segments,
            tail_start: t,
            tail_hits: hits,
            tail_rate: end,
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
    fn rejects_what_ghz_rejects() {
        let second = Duration::from_secs(1);
        assert!(Schedule::step(1.0, 0.0, second, 5.0, None).is_err());
        assert!(Schedule::step(5.0, 1.0, second, 5.0, None).is_err());
        assert!(Schedule::step(1.0, 1.0, Duration::ZERO, 5.0, None).is_err());
        assert!(Schedule::step(1.0, 1.0, second, 0.0, None).is_err());
    }
}
