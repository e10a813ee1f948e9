//! Line charts drawn as inline SVG: nothing to fetch, nothing to run, and
//! readable printed. Names reach the SVG escaped only.

use std::fmt::Write as _;

use crate::html::escape;
use crate::model::Stamp;

/// What the horizontal axis measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XAxis {
    /// Seconds of the log's clock.
    Time,
    /// Percentiles 0–100, spread as HdrHistogram plots do: each nine
    /// (90, 99, 99.9, 99.99) as wide as the one before.
    Percentile,
}

/// One line: its name (the legend's) and its points; `None` breaks it.
#[derive(Clone, Debug)]
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, Option<f64>)>,
    /// Its colour, `s0`…`s7` of the page's style (modulo [`PALETTE`]):
    /// two lines of one server share it, one of them dashed.
    pub colour: usize,
    pub dashed: bool,
}

impl Line {
    pub fn new(name: impl Into<String>, colour: usize, points: Vec<(f64, Option<f64>)>) -> Line {
        Line {
            name: name.into(),
            points,
            colour,
            dashed: false,
        }
    }

    pub fn dashed(mut self) -> Line {
        self.dashed = true;
        self
    }
}

#[derive(Clone, Debug)]
pub struct LineChart {
    pub title: String,
    /// The unit of the vertical axis (`ms`, `req/s`).
    pub unit: String,
    pub x: XAxis,
    /// A logarithmic vertical axis (latency distributions span decades).
    pub log_y: bool,
    pub lines: Vec<Line>,
}

/// Lines get colours `s0`…`s7` of the page's style, then repeat them.
pub const PALETTE: usize = 8;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;

/// Where percentile `p` (0–100) sits on a [`XAxis::Percentile`] axis.
fn percentile_x(p: f64) -> f64 {
    if p >= 100.0 {
        // The maximum: a little past 99.99.
        4.6
    } else {
        (-(1.0 - p / 100.0).log10()).clamp(0.0, 4.0)
    }
}

/// 1, 2 or 5 times a power of ten, at least `v`.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * power >= v * (1.0 - 1e-9) {
            return step * power;
        }
    }
    10.0 * power
}

/// A number for an axis: whole below ten thousand, else with a unit
/// prefix (12k, 3.5M).
fn short_number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if a >= 1e4 {
        format!("{}k", trim(v / 1e3))
    } else if a >= 10.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// Time ticks: a round step giving at most eight ticks.
fn time_step(span: f64) -> f64 {
    const STEPS: &[f64] = &[
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
        10800.0, 21600.0, 43200.0, 86400.0, 172_800.0, 604_800.0,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| span / s <= 8.0)
        .unwrap_or(2_592_000.0)
}

fn time_label(second: f64, step: f64, span: f64) -> String {
    let stamp = Stamp {
        local_ms: second as i64 * 1000,
        offset_minutes: None,
        millis: false,
    }
    .human();
    // "2024-05-01 12:34:56": the parts the ticks differ in.
    if span >= 86_400.0 {
        stamp[5..16].to_string()
    } else if step >= 60.0 {
        stamp[11..16].to_string()
    } else {
        stamp[11..19].to_string()
    }
}

/// The chart as an SVG element, its legend as a list after it.
pub fn line_chart(chart: &LineChart) -> String {
    let xs = |x: f64| match chart.x {
        XAxis::Time => x,
        XAxis::Percentile => percentile_x(x),
    };
    let points = chart
        .lines
        .iter()
        .flat_map(|l| l.points.iter())
        .filter_map(|&(x, y)| y.map(|y| (xs(x), y)));
    let (mut x0, mut x1, mut top) = (f64::INFINITY, f64::NEG_INFINITY, 0f64);
    for (x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        top = top.max(y);
    }
    if chart.x == XAxis::Percentile {
        (x0, x1) = (0.0, percentile_x(100.0));
    }
    if !x0.is_finite() {
        (x0, x1) = (0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    // Linear: four or five round steps up past the highest point.
    let step = nice_ceiling(top / 4.0);
    let (y0, y1) = if chart.log_y {
        (0.0, top.max(1.0).log10().ceil().max(1.0))
    } else {
        (0.0, (top / step).ceil().max(1.0) * step)
    };
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let px = |x: f64| LEFT + (x - x0) / (x1 - x0) * plot_w;
    let py = |y: f64| {
        let y = if chart.log_y { y.max(1.0).log10() } else { y };
        TOP + plot_h - (y - y0) / (y1 - y0) * plot_h
    };

    let mut out = String::new();
    let _ = write!(
        out,
        "<figure class=\"chart-box\">\n<figcaption>{} <span class=\"unit\">({})</span></figcaption>\n<svg class=\"chart line\" role=\"img\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" xmlns=\"http://www.w3.org/2000/svg\">\n<title>{}</title>\n",
        escape(&chart.title),
        escape(&chart.unit),
        escape(&chart.title),
    );
    // Horizontal grid and its labels.
    let y_ticks: Vec<f64> = if chart.log_y {
        (0..=y1 as i32).map(|e| 10f64.powi(e)).collect()
    } else {
        (0..=(y1 / step).round() as i32)
            .map(|i| step * f64::from(i))
            .collect()
    };
    for v in y_ticks {
        let y = py(v);
        let _ = writeln!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            short_number(v)
        );
    }
    // Vertical ticks.
    let x_ticks: Vec<(f64, String)> = match chart.x {
        XAxis::Time => {
            let span = x1 - x0;
            let step = time_step(span);
            let mut t = (x0 / step).ceil() * step;
            let mut ticks = Vec::new();
            while t <= x1 {
                ticks.push((t, time_label(t, step, span)));
                t += step;
            }
            ticks
        }
        XAxis::Percentile => [
            (0.0, "0"),
            (90.0, "90"),
            (99.0, "99"),
            (99.9, "99.9"),
            (99.99, "99.99"),
            (100.0, "max"),
        ]
        .iter()
        .map(|&(p, l)| (percentile_x(p), l.to_string()))
        .collect(),
    };
    for (x, label) in x_ticks {
        let x = px(x);
        let _ = writeln!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{:.1}\"/><text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            TOP + plot_h,
            HEIGHT - 10.0,
            escape(&label)
        );
    }
    for line in &chart.lines {
        let _ = write!(
            out,
            "<g class=\"series s{}{}\"><title>{}</title>",
            line.colour % PALETTE,
            if line.dashed { " dashed" } else { "" },
            escape(&line.name)
        );
        let mut run: Vec<(f64, f64)> = Vec::new();
        let flush = |run: &mut Vec<(f64, f64)>, out: &mut String| {
            match run.len() {
                0 => {}
                1 => {
                    let _ = write!(
                        out,
                        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\"/>",
                        run[0].0, run[0].1
                    );
                }
                _ => {
                    out.push_str("<polyline points=\"");
                    for (j, (x, y)) in run.iter().enumerate() {
                        if j > 0 {
                            out.push(' ');
                        }
                        let _ = write!(out, "{x:.1},{y:.1}");
                    }
                    out.push_str("\"/>");
                }
            }
            run.clear();
        };
        for &(x, y) in &line.points {
            match y {
                Some(y) => run.push((px(xs(x)), py(y))),
                None => flush(&mut run, &mut out),
            }
        }
        flush(&mut run, &mut out);
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n<ul class=\"legend\">");
    for line in &chart.lines {
        let _ = write!(
            out,
            "<li><span class=\"swatch s{}{}\"></span>{}</li>",
            line.colour % PALETTE,
            if line.dashed { " dashed" } else { "" },
            escape(&line.name)
        );
    }
    out.push_str("</ul>\n</figure>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_round_up_and_label_briefly() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(120.0), 200.0);
        assert_eq!(nice_ceiling(5000.0), 5000.0);
        assert_eq!(short_number(12_500.0), "12.5k");
        assert_eq!(short_number(2_000_000.0), "2M");
        assert_eq!(short_number(2.5), "2.5");
        assert_eq!(short_number(250.0), "250");
        assert_eq!(time_step(3600.0), 600.0);
        assert_eq!(time_label(45_296.0, 60.0, 3600.0), "12:34");
        assert_eq!(time_label(45_296.0, 10.0, 60.0), "12:34:56");
    }

    #[test]
    fn lines_break_at_gaps_and_names_are_escaped() {
        let chart = LineChart {
            title: "Tt p99".into(),
            unit: "ms".into(),
            x: XAxis::Time,
            log_y: false,
            lines: vec![
                Line::new(
                    "<b>a</b>",
                    0,
                    vec![
                        (0.0, Some(1.0)),
                        (10.0, Some(2.0)),
                        (20.0, None),
                        (30.0, Some(4.0)),
                    ],
                ),
                Line::new("b", 1, vec![(0.0, Some(3.0)), (30.0, Some(3.0))]).dashed(),
            ],
        };
        let svg = line_chart(&chart);
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 1, "{svg}");
        assert!(svg.contains("&lt;b&gt;a&lt;/b&gt;") && !svg.contains("<b>"));
        // The highest point (4) tops an axis of round steps: 0, 1, … 4.
        assert!(
            svg.contains(">4</text>") && !svg.contains(">5</text>"),
            "{svg}"
        );
    }

    #[test]
    fn percentiles_spread_by_nines() {
        assert_eq!(percentile_x(0.0), 0.0);
        assert!((percentile_x(90.0) - 1.0).abs() < 1e-9);
        assert!((percentile_x(99.9) - 3.0).abs() < 1e-9);
        assert!(percentile_x(100.0) > percentile_x(99.99));
    }
}
