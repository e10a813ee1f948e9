//! ghz's InfluxDB line-protocol outputs, `-O influx-summary` (one
//! `ghz_run` line) and `-O influx-details` (a `ghz_detail` line per call),
//! written as ghz 0.121's `printer/influx.go` writes them.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::report::{go_float, go_json_value, go_string, Report};

/// `-O influx-summary`: one line, no final newline (as ghz).
pub fn summary(report: &Report) -> String {
    let errors = report.error_count();
    let mut fields = vec![
        format!("count={}", report.count),
        format!("total={}", report.total.as_nanos()),
        format!("average={}", report.average_ns),
        format!("fastest={}", report.fastest_ns),
        format!("slowest={}", report.slowest_ns),
        format!("rps={:.2}", report.rps),
    ];
    for (percent, ns) in report.latency_distribution.iter().flatten() {
        match percent {
            50 => fields.push(format!("median={ns}")),
            95 => fields.push(format!("p95={ns}")),
            _ => {}
        }
    }
    fields.push(format!("errors={errors}"));
    format!(
        "ghz_run,{} {} {}",
        tags(report, true),
        fields.join(","),
        unix_nanos(report.date)
    )
}

/// `-O influx-details`: a line per call kept one by one.
pub fn details(report: &Report) -> String {
    let common = tags(report, false);
    let start = unix_nanos(report.started);
    let mut out = String::new();
    for record in &report.records {
        let error = record.error.as_deref().unwrap_or("");
        let has_error = !error.is_empty();
        let _ = writeln!(
            out,
            "ghz_detail,{common},hasError={has_error} latency={},error=\"{}\",status=\"{}\" {}",
            record.latency_ns(),
            clean(error),
            crate::status::code_name(record.code),
            start + i128::from(record.end_ns)
        );
    }
    out
}

/// The tags of both outputs, in ghz's order.
fn tags(report: &Report, with_errors: bool) -> String {
    let o = &report.echo;
    let mut s: Vec<String> = Vec::new();
    if let Some(name) = report.name.as_deref().filter(|n| !n.trim().is_empty()) {
        s.push(format!("name=\"{}\"", clean(name.trim())));
    }
    if let Some(proto) = &o.proto {
        s.push(format!("proto=\"{proto}\""));
    } else if let Some(protoset) = &o.protoset {
        s.push(format!("Protoset=\"{protoset}\""));
    }
    s.push(format!("call=\"{}\"", o.call));
    s.push(format!("host=\"{}\"", o.host));
    s.push(format!("n={}", o.total));
    if o.concurrency_schedule == "const" {
        s.push(format!("c={}", o.concurrency));
    } else {
        s.push(format!("concurrency-schedule={}", o.concurrency_schedule));
        s.push(format!("concurrency-start={}", o.concurrency_start));
        s.push(format!("concurrency-end={}", o.concurrency_end));
        s.push(format!("concurrency-step={}", o.concurrency_step));
        s.push(format!(
            "concurrency-step-duration={}",
            go_duration(o.concurrency_step_duration)
        ));
        s.push(format!(
            "concurrency-max-duration={}",
            go_duration(o.concurrency_max_duration)
        ));
    }
    if o.load_schedule == "const" {
        s.push(format!("rps={}", o.rps));
    } else {
        s.push(format!("load-schedule={}", o.load_schedule));
        s.push(format!("load-start={}", o.load_start));
        s.push(format!("load-end={}", o.load_end));
        s.push(format!("load-step={}", o.load_step));
        s.push(format!(
            "load-step-duration={}",
            go_duration(o.load_step_duration)
        ));
        s.push(format!(
            "load-max-duration={}",
            go_duration(o.load_max_duration)
        ));
    }
    s.push(format!("z={}", o.duration.as_nanos()));
    s.push(format!("timeout={}", go_float(o.timeout.as_secs_f64())));
    s.push(format!(
        "dial_timeout={}",
        go_float(o.dial_timeout.as_secs_f64())
    ));
    s.push(format!("keepalive={}", go_float(o.keepalive.as_secs_f64())));
    // ghz marshals the data (null when there is none), then marshals that
    // text as a JSON string.
    let data = o.data.as_ref().map_or("null".to_string(), go_json_value);
    s.push(format!("data={}", clean(&go_string(&data))));
    let metadata = match &o.metadata {
        Some(m) => clean(&go_string(&go_json_value(m))),
        None => "\"\"".to_string(),
    };
    s.push(format!("metadata={metadata}"));
    let tags = if report.tags.is_empty() {
        "\"\"".to_string()
    } else {
        let map: serde_json::Map<String, serde_json::Value> = report
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        clean(&go_string(&go_json_value(&serde_json::Value::Object(map))))
    };
    s.push(format!("tags={tags}"));
    if with_errors {
        let errors = report.error_count();
        s.push(format!("errors={errors}"));
        s.push(format!("has_errors={}", errors > 0));
    }
    s.join(",")
}

/// ghz's `cleanInfluxString`: spaces, commas and equal signs escaped.
fn clean(text: &str) -> String {
    text.replace(' ', "\\ ")
        .replace(',', "\\,")
        .replace('=', "\\=")
}

fn unix_nanos(time: SystemTime) -> i128 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// Go's `time.Duration.String()`: `0s`, `500ms`, `1.5s`, `1m30s`, `2h0m0s`.
pub fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    let trim = |whole: u128, frac: u128, digits: usize| -> String {
        let frac = format!("{frac:0digits$}");
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            whole.to_string()
        } else {
            format!("{whole}.{frac}")
        }
    };
    if ns < 1_000_000 {
        return format!("{}µs", trim(ns / 1_000, ns % 1_000, 3));
    }
    if ns < 1_000_000_000 {
        return format!("{}ms", trim(ns / 1_000_000, ns % 1_000_000, 6));
    }
    let total_seconds = ns / 1_000_000_000;
    let seconds = trim(total_seconds % 60, ns % 1_000_000_000, 9);
    let minutes = total_seconds / 60;
    if minutes == 0 {
        return format!("{seconds}s");
    }
    if minutes < 60 {
        return format!("{minutes}m{seconds}s");
    }
    format!("{}h{}m{seconds}s", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_go_prints_them() {
        for (ns, text) in [
            (0u64, "0s"),
            (999, "999ns"),
            (1_500, "1.5µs"),
            (500_000_000, "500ms"),
            (1_500_000_000, "1.5s"),
            (90_000_000_000, "1m30s"),
            (7_200_000_000_000, "2h0m0s"),
        ] {
            assert_eq!(go_duration(Duration::from_nanos(ns)), text);
        }
    }
}

#[cfg(test)]
pub(crate) mod ghz_goldens {
    use super::*;
    use crate::report::{Echo, ReportSettings};
    use crate::run::{CallRecord, EndReason, RunOutcome};
    use tonic::Code;

    /// The report of ghz 0.121's own printer tests (influx_test.go and
    /// prometheus_test.go).
    pub(crate) fn ghz_test_report() -> Report {
        let start = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_000);
        let outcome = RunOutcome {
            records: vec![CallRecord {
                request_number: 0,
                intended_ns: 0,
                sent_ns: 0,
                first_message_ns: 1_000_000,
                end_ns: 1_000_000,
                code: Code::Ok,
                error: None,
                messages_sent: 1,
                messages_received: 1,
                bytes_received: 1,
            }],
            overflow: Default::default(),
            started: start,
            total: Duration::from_secs(2),
            end_reason: EndReason::Normal,
            peak_in_flight: 1,
        };
        let mut r = Report::new(outcome, ReportSettings::default(), false);
        r.name = Some("run name".into());
        r.date = start;
        r.count = 200;
        r.total = Duration::from_secs(2);
        r.average_ns = 10_000_000;
        r.fastest_ns = 1_000_000;
        r.slowest_ns = 100_000_000;
        r.rps = 2000.0;
        r.error_distribution = vec![
            (
                "rpc error: code = Internal desc = Internal error.".into(),
                3,
            ),
            (
                "rpc error: code = DeadlineExceeded desc = Deadline exceeded.".into(),
                2,
            ),
        ];
        let ms = |n: u64| n * 1_000_000;
        r.latency_distribution = Some(vec![
            (25, ms(1)),
            (50, ms(5)),
            (75, ms(10)),
            (90, ms(15)),
            (95, ms(20)),
            (99, ms(25)),
        ]);
        r.echo = Echo {
            name: Some("run name".into()),
            call: "helloworld.Greeter.SayHello".into(),
            proto: Some("/apis/greeter.proto".into()),
            host: "0.0.0.0:50051".into(),
            load_schedule: "const".into(),
            concurrency_schedule: "const".into(),
            total: 200,
            concurrency: 50,
            data: Some(serde_json::json!({"name": "Bob Smith"})),
            metadata: Some(serde_json::json!({"foo bar": "biz baz"})),
            ..Echo::default()
        };
        r
    }

    const TAGS: &str = r#"name="run\ name",proto="/apis/greeter.proto",call="helloworld.Greeter.SayHello",host="0.0.0.0:50051",n=200,c=50,rps=0,z=0,timeout=0,dial_timeout=0,keepalive=0,data="{\"name\":\"Bob\ Smith\"}",metadata="{\"foo\ bar\":\"biz\ baz\"}",tags="""#;

    #[test]
    fn influx_summary_is_ghz_s() {
        let want = format!("ghz_run,{TAGS},errors=5,has_errors=true count=200,total=2000000000,average=10000000,fastest=1000000,slowest=100000000,rps=2000.00,median=5000000,p95=20000000,errors=5 1700000000000000000");
        assert_eq!(summary(&ghz_test_report()), want);
    }

    #[test]
    fn influx_details_are_ghz_s() {
        let want = format!("ghz_detail,{TAGS},hasError=false latency=1000000,error=\"\",status=\"OK\" 1700000000001000000\n");
        assert_eq!(details(&ghz_test_report()), want);
    }
}
