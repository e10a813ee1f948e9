//! ghz's `-O prometheus` output: the run as Prometheus text-format
//! metrics (`ghz_run_count`, `_total`, `_average`, `_fastest`, `_slowest`,
//! `_rps`, the `ghz_run_histogram` histogram, the `ghz_run_latency`
//! summary and `ghz_run_errors`), labelled with the run's options as ghz
//! 0.121's `printer/prometheus.go` labels them. Labels are sorted by name
//! (ghz writes them in Go's map order, which varies run to run).

use std::fmt::Write as _;
use std::time::Duration;

use crate::report::Report;

/// `-O prometheus`.
pub fn text(report: &Report) -> String {
    let labels = labels(report);
    let mut out = String::new();
    let gauge = |out: &mut String, name: &str, value: f64| {
        let _ = writeln!(out, "# TYPE {name} gauge");
        let _ = writeln!(out, "{name}{{{labels}}} {}", go_g(value));
    };
    gauge(&mut out, "ghz_run_count", report.count as f64);
    gauge(&mut out, "ghz_run_total", report.total.as_nanos() as f64);
    gauge(&mut out, "ghz_run_average", report.average_ns as f64);
    gauge(&mut out, "ghz_run_fastest", report.fastest_ns as f64);
    gauge(&mut out, "ghz_run_slowest", report.slowest_ns as f64);
    gauge(&mut out, "ghz_run_rps", report.rps);
    let sum = go_g(report.total.as_nanos() as f64);
    let _ = writeln!(out, "# TYPE ghz_run_histogram histogram");
    // As ghz: each bucket's own count (ghz passes them as the cumulative
    // counts), then +Inf with every call.
    for bucket in report.histogram.iter().flatten() {
        let _ = writeln!(
            out,
            "ghz_run_histogram_bucket{{{labels},le=\"{}\"}} {}",
            go_g(bucket.mark),
            bucket.count
        );
    }
    let _ = writeln!(
        out,
        "ghz_run_histogram_bucket{{{labels},le=\"+Inf\"}} {}",
        report.count
    );
    let _ = writeln!(out, "ghz_run_histogram_sum{{{labels}}} {sum}");
    let _ = writeln!(out, "ghz_run_histogram_count{{{labels}}} {}", report.count);
    let _ = writeln!(out, "# TYPE ghz_run_latency summary");
    for (percent, ns) in report.latency_distribution.iter().flatten() {
        let _ = writeln!(
            out,
            "ghz_run_latency{{{labels},quantile=\"{}\"}} {}",
            go_g(f64::from(*percent) / 100.0),
            go_g(*ns as f64)
        );
    }
    let _ = writeln!(out, "ghz_run_latency_sum{{{labels}}} {sum}");
    let _ = writeln!(out, "ghz_run_latency_count{{{labels}}} {}", report.count);
    let errors = report.error_count();
    gauge(&mut out, "ghz_run_errors", errors as f64);
    out
}

/// The run's options as labels: the keys ghz's options JSON has (empty
/// strings left out, schedule keys only for step and line schedules),
/// `-` made `_`, sorted.
fn labels(report: &Report) -> String {
    let o = &report.echo;
    let ns = |d: Duration| d.as_nanos().to_string();
    let flag = |b: bool| b.to_string();
    let mut pairs: Vec<(&str, String)> = vec![
        ("end_reason", report.end_reason.as_str().to_string()),
        ("name", report.name.clone().unwrap_or_default()),
        ("import-paths", o.import_paths.join(",")),
        ("skipTLS", flag(o.skip_tls)),
        ("insecure", flag(o.insecure)),
        ("async", flag(o.async_mode)),
        ("binary", flag(o.binary)),
        ("count-errors", flag(o.count_errors)),
        ("rps", o.rps.to_string()),
        ("concurrency", o.concurrency.to_string()),
        ("total", o.total.to_string()),
        ("connections", o.connections.to_string()),
        ("CPUs", o.cpus.to_string()),
        ("skipFirst", o.skip_first.to_string()),
        ("duration", ns(o.duration)),
        ("timeout", ns(o.timeout)),
        ("dial-timeout", ns(o.dial_timeout)),
        ("keepalive", ns(o.keepalive)),
        ("call", o.call.clone()),
        ("host", o.host.clone()),
    ];
    let optional = [
        ("proto", &o.proto),
        ("protoset", &o.protoset),
        ("cacert", &o.cacert),
        ("cert", &o.cert),
        ("key", &o.key),
        ("cname", &o.cname),
        ("authority", &o.authority),
    ];
    for (key, value) in optional {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            pairs.push((key, v.clone()));
        }
    }
    if o.concurrency_schedule != "const" {
        pairs.extend([
            ("concurrency-schedule", o.concurrency_schedule.clone()),
            ("concurrency-start", o.concurrency_start.to_string()),
            ("concurrency-end", o.concurrency_end.to_string()),
            ("concurrency-step", o.concurrency_step.to_string()),
            ("concurrency-step-duration", ns(o.concurrency_step_duration)),
            ("concurrency-max-duration", ns(o.concurrency_max_duration)),
        ]);
    }
    if o.load_schedule != "const" {
        pairs.extend([
            ("load-schedule", o.load_schedule.clone()),
            ("load-start", o.load_start.to_string()),
            ("load-end", o.load_end.to_string()),
            ("load-step", o.load_step.to_string()),
            ("load-step-duration", ns(o.load_step_duration)),
            ("load-max-duration", ns(o.load_max_duration)),
        ]);
    }
    let mut labels: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(k, v)| (k.replace('-', "_"), v))
        .collect();
    labels.sort();
    labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect::<Vec<_>>()
        .join(",")
}

/// A label value in the text format: `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`, as Prometheus' Go client
/// writes sample values: the shortest digits, in e-notation when the
/// exponent is below -4 or at least 6 (`2e+09`, `1e+06`, `1.5e+07`, but
/// `2000`, `0.25`).
pub fn go_g(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if value == 0.0 {
        return "0".into();
    }
    let e = format!("{value:e}");
    let (mantissa, exponent) = e.split_once('e').expect("{:e} has an exponent");
    let exponent: i32 = exponent.parse().expect("an integer exponent");
    if (-4..6).contains(&exponent) {
        format!("{value}")
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Bucket;

    #[test]
    fn floats_as_go_formats_them() {
        for (value, text) in [
            (2e9, "2e+09"),
            (1e6, "1e+06"),
            (1.5e7, "1.5e+07"),
            (2000.0, "2000"),
            (100000.0, "100000"),
            (0.25, "0.25"),
            (0.01, "0.01"),
            (0.00001, "1e-05"),
            (0.0, "0"),
        ] {
            assert_eq!(go_g(value), text);
        }
    }

    /// Label pairs, sorted.
    type Labels = Vec<(String, String)>;

    /// One sample line: metric name, labels (sorted), value.
    fn samples(text: &str) -> Vec<(String, Labels, String)> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (head, value) = l.rsplit_once(' ').unwrap();
                let (name, labels) = head.split_once('{').unwrap();
                let mut labels: Vec<(String, String)> = labels
                    .trim_end_matches('}')
                    .split("\",")
                    .map(|pair| {
                        let (k, v) = pair.split_once("=\"").unwrap();
                        (k.to_string(), v.trim_end_matches('"').to_string())
                    })
                    .collect();
                labels.sort();
                (name.to_string(), labels, value.to_string())
            })
            .collect()
    }

    /// ghz 0.121's printer test, re-expressed: the same report gives the
    /// same samples with the same labels and values.
    #[test]
    fn the_samples_of_ghz_s_printer_test() {
        let mut report = crate::influx::ghz_goldens::ghz_test_report();
        report.histogram = Some(
            [(0.01, 1), (0.02, 10), (0.03, 50), (0.05, 60), (0.1, 15)]
                .into_iter()
                .map(|(mark, count)| Bucket {
                    mark,
                    count,
                    frequency: 0.0,
                })
                .collect(),
        );
        let got = samples(&text(&report));
        let common = "name=run name,end_reason=normal,insecure=false,rps=0,connections=0,keepalive=0,skipFirst=0,dial_timeout=0,proto=/apis/greeter.proto,concurrency=50,call=helloworld.Greeter.SayHello,import_paths=,async=false,binary=false,total=200,host=0.0.0.0:50051,skipTLS=false,CPUs=0,timeout=0,count_errors=false,duration=0";
        let labels = |extra: Option<(&str, &str)>| {
            let mut l: Vec<(String, String)> = common
                .split(',')
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect();
            if let Some((k, v)) = extra {
                l.push((k.into(), v.into()));
            }
            l.sort();
            l
        };
        let mut want = Vec::new();
        let mut add = |name: &str, extra: Option<(&str, &str)>, value: &str| {
            want.push((name.to_string(), labels(extra), value.to_string()));
        };
        add("ghz_run_count", None, "200");
        add("ghz_run_total", None, "2e+09");
        add("ghz_run_average", None, "1e+07");
        add("ghz_run_fastest", None, "1e+06");
        add("ghz_run_slowest", None, "1e+08");
        add("ghz_run_rps", None, "2000");
        for (le, n) in [
            ("0.01", "1"),
            ("0.02", "10"),
            ("0.03", "50"),
            ("0.05", "60"),
            ("0.1", "15"),
            ("+Inf", "200"),
        ] {
            add("ghz_run_histogram_bucket", Some(("le", le)), n);
        }
        add("ghz_run_histogram_sum", None, "2e+09");
        add("ghz_run_histogram_count", None, "200");
        for (q, v) in [
            ("0.25", "1e+06"),
            ("0.5", "5e+06"),
            ("0.75", "1e+07"),
            ("0.9", "1.5e+07"),
            ("0.95", "2e+07"),
            ("0.99", "2.5e+07"),
        ] {
            add("ghz_run_latency", Some(("quantile", q)), v);
        }
        add("ghz_run_latency_sum", None, "2e+09");
        add("ghz_run_latency_count", None, "200");
        add("ghz_run_errors", None, "5");
        assert_eq!(got, want);
    }
}
