//! A progress line on stderr for long reads: shown only on a terminal, and
//! only once the work has taken more than a second.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Set to stop the display thread, which waits on the condition.
type Stop = Arc<(Mutex<bool>, Condvar)>;

pub struct Progress {
    done: Arc<AtomicU64>,
    state: Option<(Stop, JoinHandle<()>)>,
    shown: Arc<AtomicBool>,
}

impl Progress {
    /// Starts the display thread if stderr is a terminal and `enabled`.
    /// `total` is the number of bytes expected, when known.
    pub fn start(label: &'static str, total: Option<u64>, enabled: bool) -> Progress {
        let done = Arc::new(AtomicU64::new(0));
        let shown = Arc::new(AtomicBool::new(false));
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress {
                done,
                state: None,
                shown,
            };
        }
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let (d, s, st) = (Arc::clone(&done), Arc::clone(&stop), Arc::clone(&shown));
        let handle = std::thread::spawn(move || {
            let started = Instant::now();
            let (lock, cvar) = &*s;
            let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
            let mut wait = Duration::from_secs(1);
            loop {
                let (guard, _) = cvar
                    .wait_timeout(stopped, wait)
                    .unwrap_or_else(|e| e.into_inner());
                stopped = guard;
                if *stopped {
                    return;
                }
                wait = Duration::from_millis(200);
                let bytes = d.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64();
                let rate = bytes as f64 / secs.max(0.001);
                let line = match total {
                    Some(t) if t > 0 => {
                        let pct = (bytes as f64 * 100.0 / t as f64).min(100.0);
                        let width = 30;
                        let filled = (pct / 100.0 * width as f64) as usize;
                        format!(
                            "{label}: [{}{}] {pct:5.1}% {} of {} {}/s",
                            "#".repeat(filled),
                            " ".repeat(width - filled),
                            human(bytes as f64),
                            human(t as f64),
                            human(rate)
                        )
                    }
                    _ => format!("{label}: {} read, {}/s", human(bytes as f64), human(rate)),
                };
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[K{line}");
                let _ = err.flush();
                st.store(true, Ordering::Relaxed);
            }
        });
        Progress {
            done,
            state: Some((stop, handle)),
            shown,
        }
    }

    /// Counts bytes processed.
    pub fn add(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Stops the display and clears its line.
    pub fn finish(mut self) {
        if let Some((stop, handle)) = self.state.take() {
            let (lock, cvar) = &*stop;
            *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
            cvar.notify_all();
            let _ = handle.join();
            if self.shown.load(Ordering::Relaxed) {
                let _ = write!(std::io::stderr(), "\r\x1b[K");
            }
        }
    }
}

fn human(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}
