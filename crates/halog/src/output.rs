//! The tables halog prints once the input is read.

use std::io::{self, Write};

use hashbrown::HashMap;

use crate::options::{Config, FinalMode, UrlSort};
use crate::process::{UrlStats, Worker};

/// halog prints its counters as C `int`s.
fn c_int(v: u64) -> i32 {
    v as u32 as i32
}

/// Tracks `lines_out` while rows are printed, and the `-m` row limit.
struct Rows {
    lines_out: u64,
    max: i32,
}

impl Rows {
    /// Counts a printed row; true when the limit says stop.
    fn printed(&mut self) -> bool {
        self.lines_out += 1;
        self.max >= 0 && self.lines_out >= self.max as u64
    }
}

/// Prints the final output of `mode` and, unless `-q`, the summary line.
/// Returns nothing for `-c`, which prints only its count.
pub fn write_final(
    config: &Config,
    state: &Worker,
    lines_in: u64,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    let mut rows = Rows {
        lines_out: state.lines_out,
        max: config.lines_max,
    };
    match config.final_mode {
        FinalMode::Count => {
            writeln!(out, "{}", c_int(state.lines_out))?;
            return Ok(());
        }
        FinalMode::AcceptHoles => accept_holes(config, &state.counters, &mut rows, out)?,
        FinalMode::Graph => graph(&state.timers, out)?,
        FinalMode::Percentiles => percentiles(&state.timers, state.lines_out, out)?,
        FinalMode::Status => {
            for (key, count) in sorted(&state.counters) {
                writeln!(out, "{key} {count}")?;
                if rows.printed() {
                    break;
                }
            }
        }
        FinalMode::Codes => {
            for (key, count) in sorted(&state.counters) {
                out.write_all(&[(key >> 8) as u8, key as u8])?;
                writeln!(out, " {count}")?;
                if rows.printed() {
                    break;
                }
            }
        }
        FinalMode::Servers => servers(state, &mut rows, out)?,
        FinalMode::Urls => urls(config, &state.urls, &mut rows, out)?,
        FinalMode::Nothing => {}
    }
    if !config.quiet {
        writeln!(
            err,
            "{} lines in, {} lines out, {} parsing errors",
            c_int(lines_in),
            c_int(rows.lines_out),
            c_int(state.parse_errors)
        )?;
    }
    Ok(())
}

fn sorted(map: &HashMap<i32, u32>) -> Vec<(i32, u32)> {
    let mut v: Vec<(i32, u32)> = map.iter().map(|(&k, &c)| (k, c)).collect();
    v.sort_unstable_by_key(|&(k, _)| k);
    v
}

fn accept_holes(
    config: &Config,
    counters: &HashMap<i32, u32>,
    rows: &mut Rows,
    out: &mut dyn Write,
) -> io::Result<()> {
    let values = sorted(counters);
    let Some(&(first, _)) = values.first() else {
        return Ok(());
    };
    let mut last = first;
    for (value, count) in values {
        let delta = (value as u32).wrapping_sub(last as u32);
        last = value;
        if delta >= config.acc_delay && count >= config.acc_count {
            let v = value as u32;
            let (ms, s, m, h) = (v % 1000, v / 1000 % 60, v / 60_000 % 60, v / 3_600_000);
            writeln!(out, "{h:02}:{m:02}:{s:02}.{ms:03} {value} {delta} {count}")?;
            if rows.printed() {
                break;
            }
        }
    }
    Ok(())
}

fn graph(timers: &[HashMap<i32, u32>; 5], out: &mut dyn Write) -> io::Result<()> {
    for (f, tree) in timers.iter().enumerate() {
        for (key, count) in sorted(tree) {
            let bits = 32 - key.unsigned_abs().leading_zeros() as i32;
            let shift = bits - 4;
            let count = count as i32 as f64;
            let d = if shift > 0 {
                count / (1u32 << shift) as f64
            } else {
                count
            };
            if d > 0.0 {
                writeln!(out, "{f} {key} {:.6}", d + 1.0)?;
            }
        }
    }
    Ok(())
}

/// The per-mille steps of the percentile table.
fn percentile_steps() -> impl Iterator<Item = u32> {
    let mut step = 1u32;
    std::iter::from_fn(move || {
        if step > 1000 {
            return None;
        }
        let s = step;
        step += if (100..900).contains(&step) {
            50
        } else if (20..980).contains(&step) {
            10
        } else {
            1
        };
        Some(s)
    })
}

fn percentiles(
    timers: &[HashMap<i32, u32>; 5],
    samples: u64,
    out: &mut dyn Write,
) -> io::Result<()> {
    if samples == 0 {
        return Ok(());
    }
    let dists: Vec<Vec<(i32, u32)>> = timers[1..].iter().map(sorted).collect();
    if dists.iter().any(|d| d.is_empty()) {
        return Ok(());
    }
    let mut cursor = [0usize; 4];
    let mut cum: [u64; 4] = std::array::from_fn(|i| dists[i][0].1 as u64);
    let n = c_int(samples) as f64;
    let mut line = Vec::with_capacity(64);
    for step in percentile_steps() {
        let thres = (n * (step as f64 / 1000.0)) as u32;
        line.clear();
        write!(line, "{}.{} {} ", step / 10, step % 10, thres)?;
        for (i, dist) in dists.iter().enumerate() {
            while cum[i] < thres as u64 && cursor[i] + 1 < dist.len() {
                cursor[i] += 1;
                cum[i] += dist[cursor[i]].1 as u64;
            }
            write!(line, "{} ", dist[cursor[i]].0)?;
        }
        line.push(b'\n');
        out.write_all(&line)?;
    }
    Ok(())
}

fn servers(state: &Worker, rows: &mut Rows, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "#srv_name 1xx 2xx 3xx 4xx 5xx other tot_req req_ok pct_ok avg_ct avg_rt"
    )?;
    let mut names: Vec<_> = state.servers.iter().collect();
    names.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (name, s) in names {
        let total = s.classes.iter().fold(0u32, |a, &b| a.wrapping_add(b)) as i32;
        let pct = s.ok as f64 * 100.0 / if total != 0 { total as f64 } else { 1.0 };
        let avg_ct = (s.cum_ct / u64::from(s.nb_ct.max(1))) as i32;
        let avg_rt = (s.cum_rt / u64::from(s.nb_rt.max(1))) as i32;
        out.write_all(name)?;
        writeln!(
            out,
            " {} {} {} {} {} {} {} {} {:.1} {} {}",
            s.classes[1],
            s.classes[2],
            s.classes[3],
            s.classes[4],
            s.classes[5],
            s.classes[0],
            total,
            s.ok,
            pct,
            avg_ct,
            avg_rt
        )?;
        if rows.printed() {
            break;
        }
    }
    Ok(())
}

fn urls(
    config: &Config,
    urls: &HashMap<Vec<u8>, UrlStats>,
    rows: &mut Rows,
    out: &mut dyn Write,
) -> io::Result<()> {
    let avg = |total: u64, n: u32| if n != 0 { total / u64::from(n) } else { 0 };
    let sort_key = |s: &UrlStats| -> u64 {
        match config.url_sort {
            UrlSort::Key | UrlSort::Zero => 0,
            UrlSort::Requests => s.requests as u64,
            UrlSort::Errors => s.errors as u64,
            UrlSort::TotalTime => s.total_time,
            UrlSort::AverageTime => avg(s.total_time, s.requests),
            UrlSort::TotalTimeOk => s.total_time_ok,
            UrlSort::AverageTimeOk => avg(s.total_time_ok, s.requests.wrapping_sub(s.errors)),
            UrlSort::AverageBytes => avg(s.total_bytes, s.requests),
            UrlSort::TotalBytes => s.total_bytes,
        }
    };
    let mut table: Vec<(u64, &[u8], &UrlStats)> =
        urls.iter().map(|(k, s)| (sort_key(s), &k[..], s)).collect();
    // Descending by the numeric key, then by the key bytes (with -u, the
    // numeric key is 0 for all, leaving the key bytes alone).
    table.sort_unstable_by(|a, b| (b.0, b.1).cmp(&(a.0, a.1)));
    // The header says "src" in every mode: halog's choice of text tests a
    // constant.
    writeln!(out, "#req err ttot tavg oktot okavg bavg btot src")?;
    let mut text = Vec::with_capacity(1 << 16);
    for (_, key, s) in table {
        for v in [
            u64::from(s.requests),
            u64::from(s.errors),
            s.total_time,
            avg(s.total_time, s.requests),
            s.total_time_ok,
            avg(s.total_time_ok, s.requests.wrapping_sub(s.errors)),
            avg(s.total_bytes, s.requests),
            s.total_bytes,
        ] {
            text.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
            text.push(b' ');
        }
        text.extend_from_slice(key);
        text.push(b'\n');
        if text.len() >= 1 << 16 {
            out.write_all(&text)?;
            text.clear();
        }
        if rows.printed() {
            break;
        }
    }
    out.write_all(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seventy_two_percentile_steps() {
        let steps: Vec<u32> = percentile_steps().collect();
        assert_eq!(steps.len(), 72);
        assert_eq!(&steps[..3], &[1, 2, 3]);
        assert_eq!(steps[19], 20);
        assert_eq!(steps[20], 30);
        assert!(steps.contains(&150) && steps.contains(&900) && steps.contains(&910));
        assert_eq!(*steps.last().unwrap(), 1000);
    }
}
