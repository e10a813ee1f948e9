//! `haplog report` on the logs a real HAProxy wrote: its numbers against
//! the real halog's, its filters against an independent count of `haplog
//! cat`'s records, snapshots of the text and JSON reports, and its errors.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const HALOG: &str = "/usr/sbin/halog";

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real")
}

fn haplog(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = crate::support::haplog();
    command.args(args).current_dir(corpus());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn report_json(args: &[&str]) -> Value {
    let mut all = vec![
        "report",
        "--json",
        "-q",
        "--top",
        "100000",
        "--utc-offset",
        "UTC",
    ];
    all.extend_from_slice(args);
    let out = haplog(&all, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn logs() -> Vec<String> {
    let mut logs: Vec<String> = fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".log"))
        .collect();
    logs.sort();
    assert_eq!(logs.len(), 30);
    logs
}

/// halog's `-s` that skips each log's header (found by trying every value
/// against the real halog: `halog-skip.txt`).
fn halog_skip() -> BTreeMap<String, String> {
    fs::read_to_string(corpus().join("halog-skip.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace();
            (
                words.next().unwrap().to_string(),
                words.next().unwrap().to_string(),
            )
        })
        .collect()
}

/// Logs halog cannot read right whatever `-s` is: it counts fields from a
/// fixed place, so it takes other values for the status, the termination
/// state or the server (README of testdata/real, spec of the log formats).
const HALOG_MISREADS: &[(&str, &str)] = &[
    (
        "httplog-clf.log",
        "CLF puts the status and server elsewhere",
    ),
    (
        "httpslog.log",
        "reads TLS error lines as requests with status 0",
    ),
    ("journal-json-sample.log", "JSON lines"),
    ("json-raw.log", "JSON lines"),
    ("json.log", "JSON lines"),
    ("tcplog-clf31.log", "TCP CLF lines"),
    (
        "tcplog-raw.log",
        "TCP lines: the termination state is 2 fields earlier",
    ),
    (
        "tcplog.log",
        "TCP lines: the termination state is 2 fields earlier",
    ),
];

fn halog_out(args: &[&str], log: &str) -> String {
    let input = fs::File::open(corpus().join(log)).unwrap();
    let out = Command::new(HALOG)
        .args(args)
        .stdin(input)
        .stderr(Stdio::null())
        .output()
        .expect("halog 2.6 is installed (scripts/test.sh installs haproxy)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn count_map(rows: &Value, key: &str) -> BTreeMap<String, u64> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let k = match &r[key] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k, r["requests"].as_u64().unwrap())
        })
        .collect()
}

#[test]
fn status_termination_and_server_counts_agree_with_halog() {
    let skip = halog_skip();
    let mut compared = 0;
    for log in logs() {
        if HALOG_MISREADS.iter().any(|(l, _)| *l == log) {
            continue;
        }
        let s = &skip[&log];
        let report = report_json(&[&log]);

        let mut st = BTreeMap::new();
        for line in halog_out(&["-s", s, "-st", "-H"], &log).lines() {
            let (code, n) = line.split_once(' ').unwrap();
            st.insert(code.to_string(), n.parse::<u64>().unwrap());
        }
        let mut ours = count_map(&report["status"]["codes"], "status");
        ours.remove("null");
        assert_eq!(ours, st, "{log}: -st");

        let mut tc = BTreeMap::new();
        for line in halog_out(&["-s", s, "-tc", "-H"], &log).lines() {
            let (code, n) = line.split_at(2);
            tc.insert(code.to_string(), n.trim().parse::<u64>().unwrap());
        }
        assert_eq!(
            count_map(&report["termination"]["states"], "state"),
            tc,
            "{log}: -tc"
        );

        let mut srv = BTreeMap::new();
        for line in halog_out(&["-s", s, "-srv", "-H"], &log).lines().skip(1) {
            let w: Vec<&str> = line.split_whitespace().collect();
            // 2xx 3xx 4xx 5xx, 1xx + other, total
            let n = |i: usize| w[i].parse::<u64>().unwrap();
            srv.insert(
                w[0].to_string(),
                vec![n(2), n(3), n(4), n(5), n(1) + n(6), n(7)],
            );
        }
        let mut ours = BTreeMap::new();
        for r in report["servers"]["requests"].as_array().unwrap() {
            let n = |k: &str| r[k].as_u64().unwrap();
            ours.insert(
                r["server"].as_str().unwrap().to_string(),
                vec![
                    n("2xx"),
                    n("3xx"),
                    n("4xx"),
                    n("5xx"),
                    n("other"),
                    n("requests"),
                ],
            );
        }
        assert_eq!(ours, srv, "{log}: -srv");
        compared += 1;
    }
    assert_eq!(compared, 22);
}

#[test]
fn threads_and_chunk_sizes_do_not_change_the_report() {
    for log in logs() {
        for format in ["--json", "--csv"] {
            let args = [
                "report",
                format,
                "-q",
                "--utc-offset",
                "UTC",
                "--top",
                "5",
                &log,
            ];
            let one = haplog(&args, &[("HAPLOG_THREADS", "1")]);
            let two = haplog(
                &args,
                &[("HAPLOG_THREADS", "2"), ("HAPLOG_CHUNK_BYTES", "700")],
            );
            assert_eq!(one.status.code(), Some(0), "{log}");
            assert!(
                one.stdout == two.stdout,
                "{log} {format}: 1 and 2 threads differ"
            );
        }
    }
}

#[test]
fn text_reports_of_the_real_corpus() {
    for log in logs() {
        let out = haplog(
            &[
                "report",
                "--full",
                "--top",
                "5",
                "--utc-offset",
                "UTC",
                "--color",
                "never",
                &log,
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{log}");
        insta::assert_snapshot!(
            format!("report_text_{log}"),
            String::from_utf8(out.stdout).unwrap()
        );
    }
}

/// The default text: a summary that opens with the findings, then the
/// overview's figures, status classes, the top states and one line per
/// server, most failures first.
#[test]
fn text_summaries_of_the_real_corpus() {
    for log in ["httplog.log", "tcplog.log", "json.log"] {
        let out = haplog(
            &["report", "--utc-offset", "UTC", "--color", "never", log],
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{log}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.lines().count() <= 60, "{log}: {text}");
        insta::assert_snapshot!(format!("report_summary_{log}"), text);
    }
}

#[test]
fn json_reports() {
    for log in ["httplog.log", "tcplog.log", "httpslog.log", "json.log"] {
        let out = haplog(
            &["report", "--json", "--top", "3", "--utc-offset", "UTC", log],
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{log}");
        let text = String::from_utf8(out.stdout).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["report"]["schema_version"], 2);
        insta::assert_snapshot!(format!("report_json_{log}"), text);
    }
}

#[test]
fn markdown_and_csv_show_the_same_numbers() {
    let md = haplog(
        &[
            "report",
            "--markdown",
            "--section",
            "servers",
            "httplog.log",
        ],
        &[],
    );
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(
        md.starts_with("## Servers\n\n| server | requests |"),
        "{md}"
    );
    assert!(md.contains("| be_app/app1 | 17 |"), "{md}");
    let csv = haplog(
        &["report", "--csv", "--section", "servers", "httplog.log"],
        &[],
    );
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.starts_with("# servers.requests\nserver,requests,share,backend_share,"));
    assert!(csv.contains("\nbe_app/app1,17,"), "{csv}");
    let blocks: Vec<&str> = csv.split("\n\n").collect();
    assert_eq!(blocks.len(), 4, "requests, timers, queues, states");
}

/// The traffic records of a log, as `haplog cat` gives them.
fn records(log: &str) -> Vec<Value> {
    let out = haplog(&["cat", "--kind", "traffic", "-q", log], &[]);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn num(r: &Value, field: &str) -> Option<i64> {
    let v = r.get(field)?;
    v.as_i64().or_else(|| {
        v.as_str()
            .and_then(|s| s.trim_start_matches('+').parse().ok())
    })
}

fn text<'a>(r: &'a Value, field: &str) -> &'a str {
    r.get(field).and_then(Value::as_str).unwrap_or("")
}

#[test]
fn filters_keep_what_an_independent_count_says() {
    let log = "httplog.log";
    let all = records(log);
    let total = all.len() as u64;
    assert_eq!(total, 394);
    let path = |r: &Value| -> String {
        let request = text(r, "request");
        let uri = request.split(' ').nth(1).unwrap_or("");
        let uri = uri
            .strip_prefix("http://")
            .map(|rest| &rest[rest.find('/').unwrap_or(rest.len())..])
            .unwrap_or(uri);
        uri.split('?').next().unwrap().to_string()
    };
    let cases: Vec<(Vec<&str>, Pick)> = vec![
        (
            vec!["--status", "5xx"],
            Box::new(|r| (500..600).contains(&num(r, "status").unwrap())),
        ),
        (
            vec!["--status", "!5xx,!-1"],
            Box::new(|r| {
                let s = num(r, "status").unwrap();
                !(500..600).contains(&s) && s != -1
            }),
        ),
        (
            vec!["--status", "400-404", "--status", "503"],
            Box::new(|r| {
                let s = num(r, "status").unwrap();
                (400..=404).contains(&s) || s == 503
            }),
        ),
        (
            vec!["--termination", "s"],
            Box::new(|r| text(r, "termination_state").starts_with('s')),
        ),
        (
            vec!["--termination", ".D"],
            Box::new(|r| text(r, "termination_state").get(1..2) == Some("D")),
        ),
        (
            vec!["--backend", "be_app,be_queue"],
            Box::new(|r| matches!(text(r, "backend"), "be_app" | "be_queue")),
        ),
        (
            vec!["--server", "be_app/app1"],
            Box::new(|r| text(r, "backend") == "be_app" && text(r, "server") == "app1"),
        ),
        (
            vec!["--frontend", "!fe_http"],
            Box::new(|r| text(r, "frontend") != "fe_http"),
        ),
        (
            vec!["--method", "POST"],
            Box::new(|r| text(r, "request").starts_with("POST ")),
        ),
        (
            vec!["--path", "slow"],
            Box::new(move |r| path(r).contains("slow")),
        ),
        (
            vec!["--path-prefix", "/app/"],
            Box::new(move |r| path(r).starts_with("/app/")),
        ),
        (
            vec!["--slow", "1s"],
            // A logasap line's Ta is only the time until it was logged.
            Box::new(|r| r["incomplete"] == false && num(r, "ta").is_some_and(|t| t >= 1000)),
        ),
        (
            vec!["--slow", "!1s"],
            Box::new(|r| r["incomplete"] == false && num(r, "ta").is_some_and(|t| t < 1000)),
        ),
        (
            vec!["--slow", "100ms", "--slow-by", "tr"],
            Box::new(|r| num(r, "tr").is_some_and(|t| t >= 100)),
        ),
        (
            vec!["--queued"],
            Box::new(|r| num(r, "tw").is_some_and(|t| t > 0)),
        ),
        (
            vec!["--min-bytes", "10k"],
            Box::new(|r| num(r, "bytes_read").is_some_and(|b| b >= 10240)),
        ),
        (
            vec!["--max-bytes", "200"],
            Box::new(|r| num(r, "bytes_read").is_some_and(|b| b <= 200)),
        ),
        (
            vec![
                "--since",
                "2026-11-24T15:54:30",
                "--until",
                "2026-11-24 15:54:40",
            ],
            Box::new(|r| {
                let d = text(r, "request_date");
                // 24/Nov/2026:15:54:SS.mmm
                let hms = &d[12..20];
                ("15:54:30".."15:54:40").contains(&hms)
            }),
        ),
        (
            vec![
                "--status",
                "200",
                "--backend",
                "be_static",
                "--method",
                "GET",
            ],
            Box::new(|r| {
                num(r, "status") == Some(200)
                    && text(r, "backend") == "be_static"
                    && text(r, "request").starts_with("GET ")
            }),
        ),
    ];
    check_filters(log, cases);

    // Every client of the real corpus is 127.0.0.1: addresses are checked
    // on the generated log of the hla tests.
    let cases: Vec<(Vec<&str>, Pick)> = vec![
        (
            vec!["--client", "10.20.0.0/16"],
            Box::new(|r| text(r, "client_ip").starts_with("10.20.")),
        ),
        (
            vec!["--client", "!10.0.0.0/8,!66.178.77.35"],
            Box::new(|r| {
                let ip = text(r, "client_ip");
                !ip.starts_with("10.") && ip != "66.178.77.35"
            }),
        ),
    ];
    check_filters("../hla/inputs/synthetic_2k.log", cases);
}

/// Which records a filter should keep.
type Pick = Box<dyn Fn(&Value) -> bool>;

fn check_filters(log: &str, cases: Vec<(Vec<&str>, Pick)>) {
    let all = records(log);
    let total = all.len() as u64;
    for (args, pick) in cases {
        let expected = all.iter().filter(|r| pick(r)).count() as u64;
        let mut full = args.clone();
        full.push(log);
        let report = report_json(&full);
        let kept = report["overview"]["requests"].as_u64().unwrap();
        let excluded = report["overview"]["excluded_requests"].as_u64().unwrap();
        assert_eq!(kept, expected, "{log} {args:?}");
        assert_eq!(kept + excluded, total, "{log} {args:?}");
        assert!(
            expected > 0 && expected < total,
            "{log} {args:?} selects something"
        );
    }
}

#[test]
fn stdin_patterns_and_compressed_files_read_the_same() {
    let dir = tempdir("inputs");
    let log = fs::read(corpus().join("httplog.log")).unwrap();
    let (first, second) = log.split_at(log.len() / 2);
    let cut = first.iter().rposition(|&b| b == b'\n').unwrap() + 1;
    let (first, second) = (&log[..cut], [&first[cut..], second].concat());
    fs::write(dir.join("h.log.1"), first).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&second).unwrap();
    fs::write(dir.join("h.log"), &second).unwrap();
    fs::write(dir.join("h2.log.gz"), gz.finish().unwrap()).unwrap();

    let whole = report_json(&[&corpus().join("httplog.log").display().to_string()]);
    let pattern = dir.join("h.log*").display().to_string();
    let split = report_json(&[&pattern]);
    assert_eq!(whole["status"], split["status"]);
    assert_eq!(whole["servers"], split["servers"]);
    let gz_pair = report_json(&[
        &dir.join("h.log.1").display().to_string(),
        &dir.join("h2.log.gz").display().to_string(),
    ]);
    assert_eq!(whole["servers"], gz_pair["servers"]);

    let mut child = crate::support::haplog()
        .args([
            "report",
            "--json",
            "-q",
            "--utc-offset",
            "UTC",
            "--top",
            "100000",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&log).unwrap();
    let out = child.wait_with_output().unwrap();
    let piped: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(whole, piped);
}

fn tempdir(name: &str) -> PathBuf {
    crate::support::fresh_dir(&format!("report-{name}"))
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempdir("errors");
    let log = fs::read(corpus().join("httplog.log")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&log).unwrap();
    let gz = gz.finish().unwrap();
    let cut = dir.join("cut.log.gz");
    fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let cut = cut.display().to_string();
    let cases: &[(&[&str], &str)] = &[
        (&["--section", "servers,bogus"], "bogus"),
        (&["--status", "5x"], "5x"),
        (&["--termination", "ABC"], "ABC"),
        (&["--client", "10.0.0.0/40"], "10.0.0.0/40"),
        (&["--since", "yesterday"], "yesterday"),
        (&["--slow", "fast"], "fast"),
        (&["--min-bytes", "lots"], "lots"),
        (&["--utc-offset", "+25"], "+25"),
        (&["--top", "x"], "--top"),
        (&["--url-sort", "size"], "size"),
        (&["--no-such-flag"], "--no-such-flag"),
        (&["missing.log"], "missing.log"),
        (&["nothing-matches-*.log"], "nothing-matches-*.log"),
    ];
    for (args, named) in cases {
        let mut all = vec!["report"];
        all.extend_from_slice(args);
        if !args.iter().any(|a| a.ends_with(".log")) {
            all.push("httplog.log");
        }
        let out = haplog(&all, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(named), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // A damaged .gz: the lines before the damage are reported, and the
    // damage is said, with exit 2.
    let out = haplog(&["report", "-q", "--section", "overview", &cut], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cut.log.gz") && err.contains("truncated"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("lines read"));
}

#[test]
fn unparsed_lines_are_counted_and_shown_never_fatal() {
    let dir = tempdir("unparsed");
    let mut log = fs::read(corpus().join("httplog.log")).unwrap();
    log.extend_from_slice(b"this is not a log line\n\xff\xfe binary \x00 junk\n");
    let path = dir.join("mixed.log");
    fs::write(&path, &log).unwrap();
    let out = haplog(
        &[
            "report",
            "--section",
            "overview",
            &path.display().to_string(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("unparsed lines         2"), "{text}");
    assert!(text.contains("this is not a log line"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 of 436 lines could not be parsed"), "{err}");
}

/// The RESULTS JSON line of one of haproxy_log_analysis's golden outputs.
fn hla_golden(case: &str) -> Value {
    let path = corpus().join(format!("../hla/golden/{case}__json.out"));
    let text = fs::read_to_string(&path).unwrap();
    let line = text.lines().rev().find(|l| l.starts_with('{')).unwrap();
    let object: serde_json::Map<String, Value> = serde_json::from_str(line).unwrap();
    object.into_iter().next().unwrap().1
}

/// A golden tally (`[{"k": n}, …]`) as a map.
fn tally(v: &Value) -> BTreeMap<String, u64> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o.as_object().unwrap().iter())
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect()
}

#[test]
fn numbers_agree_with_haproxy_log_analysis() {
    for (case, log) in [
        ("syn2k", "../hla/inputs/synthetic_2k.log"),
        ("up_small", "../hla/upstream/small.log"),
        ("up_2_ok_1_invalid", "../hla/upstream/2_ok_1_invalid.log"),
    ] {
        // The tool reads HTTP lines only: those with a status.
        let http = ["--status", "-1,0-999"];
        let report = report_json(&[&http[..], &["--interval", "minute", log]].concat());
        assert_eq!(
            report["overview"]["requests"],
            hla_golden(&format!("{case}__counter")),
            "{case}: counter"
        );
        assert_eq!(
            count_map(&report["status"]["codes"], "status"),
            tally(&hla_golden(&format!("{case}__status_codes_counter"))),
            "{case}: status_codes_counter"
        );
        // The tool calls `invalid` every request whose target is not a
        // path (`<BADREQ>`, but also `CONNECT host:443` and absolute URIs),
        // so its counts are at most ours, with the same total.
        let ours = count_map(&report["urls"]["methods"], "method");
        let theirs = tally(&hla_golden(&format!("{case}__http_methods")));
        for (method, n) in &theirs {
            if method != "invalid" {
                assert!(ours.get(method).is_some_and(|m| m >= n), "{case}: {method}");
            }
        }
        assert_eq!(
            ours.values().sum::<u64>(),
            theirs.values().sum::<u64>(),
            "{case}: http_methods"
        );
        // The tool tallies servers by name alone.
        let mut servers = BTreeMap::new();
        for r in report["servers"]["requests"].as_array().unwrap() {
            let name = r["server"].as_str().unwrap();
            let server = name.split_once('/').unwrap().1.to_string();
            *servers.entry(server).or_insert(0) += r["requests"].as_u64().unwrap();
        }
        assert_eq!(
            servers,
            tally(&hla_golden(&format!("{case}__server_load"))),
            "{case}: server_load"
        );
        let mut minutes = BTreeMap::new();
        for r in report["timeline"]["rows"].as_array().unwrap() {
            let start = r["start"].as_str().unwrap().replace(' ', "T");
            minutes.insert(start, r["requests"].as_u64().unwrap());
        }
        assert_eq!(
            minutes,
            tally(&hla_golden(&format!("{case}__requests_per_minute"))),
            "{case}: requests_per_minute"
        );
        let slow = report_json(&[&http[..], &["--slow", "1s", "--slow-by", "tr", log]].concat());
        assert_eq!(
            slow["overview"]["requests"],
            hla_golden(&format!("{case}__slow_requests_counter")),
            "{case}: slow_requests_counter"
        );
    }
}

/// Every row of a timer table names its frontend, backend or server in
/// JSON and CSV; only the text view shows a name once per group.
#[test]
fn timer_rows_carry_their_name_except_in_text() {
    let v = report_json(&["--section", "servers", "httplog.log"]);
    let rows = v["servers"]["timers"].as_array().unwrap();
    assert!(rows.len() >= 8, "{rows:?}");
    for row in rows {
        assert!(!row["server"].as_str().unwrap().is_empty(), "{row}");
    }
    let csv = haplog(
        &["report", "--csv", "--section", "servers", "httplog.log"],
        &[],
    );
    let csv = String::from_utf8(csv.stdout).unwrap();
    let block: Vec<&str> = csv
        .split("# servers.timers")
        .nth(1)
        .unwrap()
        .lines()
        .skip(2)
        .take_while(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(block.len() >= 8);
    assert!(block.iter().all(|l| !l.starts_with(',')), "{block:?}");
    let text = haplog(&["report", "--section", "servers", "httplog.log"], &[]);
    let text = String::from_utf8(text.stdout).unwrap();
    let tr_rows = text
        .lines()
        .filter(|l| l.trim_start().starts_with("Tr "))
        .count();
    assert!(
        tr_rows >= 2,
        "text rows after a group's first start with the timer:\n{text}"
    );
}

/// Long cells (a 1000-byte URL) are cut on a terminal only: a file or a
/// pipe gets them whole.
#[test]
fn text_cells_are_cut_on_a_terminal_only() {
    let long_uri =
        "/static/LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL";
    let piped = haplog(
        &["report", "--section", "urls", "--top", "100", "httplog.log"],
        &[],
    );
    let piped = String::from_utf8(piped.stdout).unwrap();
    assert!(piped.contains(long_uri), "whole in a pipe");
    let command = format!(
        "stty cols 100; {} report --color never --section urls --top 100 httplog.log",
        crate::support::HAPLOG
    );
    let tty = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(corpus())
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.contains("urls") || tty.contains("URL"), "{tty}");
    assert!(!tty.contains(long_uri), "cut on a terminal");
    assert!(tty.contains('…'), "{tty}");
    assert!(
        tty.lines().all(|l| l.chars().count() <= 100 + 30),
        "lines fit about the width"
    );
}

/// On a terminal shorter than the text, the report goes through PAGER
/// (with LESS=FRX unless set); never with --no-pager, on a taller
/// terminal, or in a pipe.
#[test]
fn text_taller_than_the_terminal_goes_through_the_pager() {
    let dir = tempdir("pager");
    let paged = dir.join("paged.txt");
    let pager = format!("tee {} >/dev/null; echo PAGED LESS=$LESS", paged.display());
    let on_terminal = |rows: u32, extra: &str| {
        let _ = fs::remove_file(&paged);
        let command = format!(
            "stty rows {rows} cols 120; {} report --color never {extra} httplog.log",
            crate::support::HAPLOG
        );
        let out = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(corpus())
            .env("PAGER", &pager)
            .env_remove("LESS")
            .env_remove("HAPLOG_PAGER")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
    };
    let piped = haplog(
        &["report", "--color", "never", "httplog.log"],
        &[("PAGER", pager.as_str())],
    );
    let piped = String::from_utf8(piped.stdout).unwrap();
    assert!(!piped.contains("PAGED") && piped.starts_with("FINDINGS"));

    let mut direct = String::new();
    for (rows, extra) in [(20, "--no-pager"), (200, "")] {
        direct = on_terminal(rows, extra);
        assert!(!direct.contains("PAGED"), "{rows} {extra}: {direct}");
        assert!(direct.starts_with("FINDINGS"), "{rows} {extra}: {direct}");
        assert!(!paged.exists());
    }

    let shown = on_terminal(20, "");
    assert!(shown.contains("PAGED LESS=FRX"), "{shown}");
    assert!(!shown.contains("FINDINGS"), "the pager showed it: {shown}");
    // The pager got what the terminal would have shown.
    assert_eq!(fs::read_to_string(&paged).unwrap(), direct);
}

/// docs/report.md's failure rule, computed here from each record's
/// termination state and status: a local reply (`LR--`: a redirect,
/// `return`, the stats page) with a 2xx/3xx is served on purpose.
#[test]
fn failed_is_one_rule_and_local_replies_are_not_failures() {
    for log in ["httplog.log", "httpslog.log", "custom.log"] {
        let all = records(log);
        let failed = |r: &Value| {
            let state = text(r, "termination_state");
            let status = num(r, "status");
            let abnormal = !state.is_empty() && !state.starts_with('-') && !state.starts_with('L');
            abnormal || status.is_some_and(|s| !(100..500).contains(&s))
        };
        let expected = all.iter().filter(|r| failed(r)).count() as u64;
        let local: Vec<&Value> = all
            .iter()
            .filter(|r| text(r, "termination_state").starts_with("LR"))
            .collect();
        assert!(
            local.iter().any(|r| num(r, "status") == Some(302))
                && local.iter().any(|r| num(r, "status") == Some(200)),
            "{log}: the corpus has redirects and returns"
        );
        let v = report_json(&["--sections", "overview,servers", log]);
        assert_eq!(v["overview"]["failed"], expected, "{log}");
        let v = report_json(&["--termination", "LR", "--sections", "overview", log]);
        let local_failed = local.iter().filter(|r| failed(r)).count() as u64;
        assert_eq!(v["overview"]["requests"], local.len() as u64, "{log}");
        assert_eq!(v["overview"]["failed"], local_failed, "{log}");
        assert!(local_failed < local.len() as u64, "{log}");
    }
}

/// `option logasap` lines (a `+` before the total time and the bytes) are
/// flagged incomplete, counted apart, and kept out of the Tt figures and
/// the slow list; their other timers still count.
#[test]
fn logasap_lines_are_counted_apart_and_out_of_tt() {
    for log in ["httplog.log", "tcplog.log"] {
        let raw = fs::read_to_string(corpus().join(log)).unwrap();
        // The total time and the bytes, read from the raw line: tcplog's
        // `Tw/Tc/Tt B`, httplog's `TR/Tw/Tc/Tr/Ta ST B`.
        let marked = raw
            .lines()
            .filter(|l| {
                let words: Vec<&str> = l.split(' ').collect();
                // The first all-numeric `a/b/c[/d/e]` word is the timers.
                let Some(i) = words.iter().position(|w| {
                    let parts: Vec<&str> = w.split('/').collect();
                    (parts.len() == 3 || parts.len() == 5)
                        && parts
                            .iter()
                            .all(|t| t.trim_start_matches(['+', '-']).parse::<u64>().is_ok())
                }) else {
                    return false;
                };
                let bytes = if words[i].split('/').count() == 3 {
                    i + 1
                } else {
                    i + 2
                };
                words[i].rsplit('/').next().unwrap().starts_with('+')
                    || words.get(bytes).is_some_and(|b| b.starts_with('+'))
            })
            .count() as u64;
        assert!(marked >= 2, "{log}: {marked} logasap lines");
        let flagged = records(log)
            .iter()
            .filter(|r| r["incomplete"] == true)
            .count() as u64;
        assert_eq!(flagged, marked, "{log}");

        let all = report_json(&["--section", "overview,slow", log]);
        assert_eq!(all["overview"]["incomplete_requests"], marked, "{log}");
        let frontend = if log == "tcplog.log" {
            "fe_tcp_logasap"
        } else {
            "fe_logasap"
        };
        let asap = report_json(&["--frontend", frontend, "--section", "overview,slow", log]);
        let requests = asap["overview"]["requests"].as_u64().unwrap();
        assert!(requests > 0, "{log}");
        assert_eq!(asap["overview"]["incomplete_requests"], requests, "{log}");
        let timers = asap["overview"]["timers"].as_array().unwrap();
        let count =
            |name: &str| timers.iter().find(|t| t["timer"] == name).unwrap()["count"].clone();
        assert_eq!(count("Tt"), 0, "{log}: no Tt from logasap lines");
        assert!(
            count("Tc").as_u64().unwrap() > 0,
            "{log}: their other timers count"
        );
        assert_eq!(
            asap["slow"]["requests"].as_array().unwrap().len(),
            0,
            "{log}"
        );
    }
}

/// `--until 14:30` after a dated `--since` is 14:30 on that date (the
/// README's and --help's example), counted here from each record's date.
#[test]
fn a_time_of_day_until_takes_the_since_date() {
    let log = "httplog.log";
    // Request dates are `24/Nov/2026:15:54:02.757`; the report reads them
    // in UTC (report_json's --utc-offset).
    let second = |r: &Value| -> String { text(r, "request_date")[12..20].to_string() };
    let all = records(log);
    let expected = all
        .iter()
        .filter(|r| ("15:54:10".to_string()..="15:54:29".to_string()).contains(&second(r)))
        .count() as u64;
    assert!(expected > 0 && expected < all.len() as u64);
    for (since, until) in [
        ("2026-11-24 15:54:10", "15:54:30"),
        ("24/Nov/2026:15:54:10", "15:54:30"),
        ("15:54:10", "2026-11-24T15:54:30"),
    ] {
        let v = report_json(&[
            "--since",
            since,
            "--until",
            until,
            "--section",
            "overview",
            log,
        ]);
        assert_eq!(
            v["overview"]["requests"], expected,
            "--since {since} --until {until}"
        );
    }
}

/// A filter that keeps nothing says so in one line, with the input's time
/// span and, for a name filter, the names there are.
#[test]
fn a_filter_that_keeps_nothing_says_so_in_one_line() {
    let log = "httplog.log";
    let all = records(log);
    let mut backends: Vec<&str> = all.iter().map(|r| text(r, "backend")).collect();
    backends.sort_unstable();
    backends.dedup();
    for args in [
        vec!["report", "--backend", "api", log],
        vec!["report", "--markdown", "--backend", "api", log],
    ] {
        let out = haplog(&args, &[]);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.starts_with("no request passed the filters (--backend api): the input has 394 requests from 2026-11-24 15:54:02.757 to 2026-11-24 15:54:58.679; its backends: "),
            "{text}"
        );
        let listed = backends
            .iter()
            .filter(|b| text.contains(&format!(" {b} (")))
            .count();
        assert_eq!(listed.min(12), 12.min(backends.len()), "{text}");
        assert!(
            text.contains(&format!("and {} more", backends.len() - 12)),
            "{text}"
        );
    }
    // A time filter names no names; JSON keeps its full layout.
    let out = haplog(&["report", "--status", "600", log], &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(!text.contains("its "), "{text}");
    let v = report_json(&["--backend", "api", log]);
    assert_eq!(v["overview"]["requests"], 0);
    assert_eq!(v["overview"]["excluded_requests"], 394);
}

/// A client logged as `-` (no address: a unix socket, an unknown peer) is
/// shown as unknown, never as an address.
#[test]
fn a_client_without_an_address_is_unknown() {
    let dir = tempdir("unknown-client");
    let log = dir.join("dash.log");
    fs::write(
        &log,
        "-:- [24/Nov/2026:15:54:02.757] fe be/s1 0/0/1/2/3 200 10 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n\
         10.0.0.1:5 [24/Nov/2026:15:54:02.757] fe be/s1 0/0/1/2/4 200 10 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n",
    )
    .unwrap();
    let log = log.display().to_string();
    let out = haplog(&["report", "--section", "clients,slow", &log], &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("(unknown)")).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("- ")),
        "{text}"
    );
    let v = report_json(&["--section", "clients,slow", &log]);
    let clients = v["clients"]["clients"].as_array().unwrap();
    assert!(clients.iter().any(|c| c["client"].is_null()), "{v}");
    assert!(clients.iter().any(|c| c["client"] == "10.0.0.1"), "{v}");
}

/// A request line to `be/{server}` with total time `tt`, status and state.
fn finding_line(n: u32, server: &str, tt: u32, status: u16, state: &str) -> String {
    format!(
        "10.0.0.{}:4000 [24/Nov/2026:15:54:{:02}.{:03}] fe be/{server} 0/0/1/{}/{tt} {status} 100 - - {state} 1/1/0/0/0 0/0 \"GET /f HTTP/1.1\"\n",
        n % 200,
        n / 1000 % 60,
        n % 1000,
        tt.saturating_sub(2)
    )
}

/// The report of `lines` (JSON, and the text's first lines).
fn findings_of(name: &str, lines: &str) -> (Vec<Value>, String) {
    let dir = tempdir(name);
    let log = dir.join("f.log");
    fs::write(&log, lines).unwrap();
    let log = log.display().to_string();
    let v = report_json(&["--section", "findings", &log]);
    let text = String::from_utf8(haplog(&["report", &log], &[]).stdout).unwrap();
    (v["findings"]["findings"].as_array().unwrap().clone(), text)
}

/// Each finding rule, on a log made to trigger it, and a healthy log that
/// triggers none (docs/report.md lists the rules).
#[test]
fn findings_rules_each_trigger_on_their_case() {
    let healthy: String = (0..60)
        .map(|n| {
            finding_line(
                n,
                ["s1", "s2", "s3"][n as usize % 3],
                10 + n % 7,
                200,
                "----",
            )
        })
        .collect();
    let (none, text) = findings_of("findings-none", &healthy);
    assert_eq!(none, Vec::<Value>::new());
    assert!(
        text.starts_with("OVERVIEW\n"),
        "nothing stands out, nothing said:\n{text}"
    );

    // s4 fails 10 of its 12 requests, the server side timing out.
    let mut failing = healthy.clone();
    for n in 0..12 {
        let (status, state) = if n < 10 { (503, "sC--") } else { (200, "----") };
        // One a second: the finding says since when.
        failing.push_str(&finding_line(1001 * n + 100, "s4", 5, status, state));
    }
    let (found, text) = findings_of("findings-failing", &failing);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["rule"], "failing-server");
    assert_eq!(found[0]["subject"], "be/s4");
    assert!(
        text.starts_with(
            "FINDINGS\n  - be/s4 failed 10 of its 12 requests (83%) from 2026-11-24 15:54:00 to 2026-11-24 15:54:09; all of them ended sC: "
        ),
        "{text}"
    );

    // s3 takes 400 ms where the others take about 10.
    let slow: String = (0..60)
        .map(|n| {
            let server = ["s1", "s2", "s3"][n as usize % 3];
            let tt = if server == "s3" {
                400 + n % 9
            } else {
                10 + n % 7
            };
            finding_line(n, server, tt, 200, "----")
        })
        .collect();
    let (found, text) = findings_of("findings-slow", &slow);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["rule"], "slow-server");
    assert_eq!(found[0]["subject"], "be/s3");
    let said = found[0]["finding"].as_str().unwrap();
    assert!(
        said.contains("slower than the other servers of be: Tt p50 4"),
        "{said}"
    );
    assert!(text.starts_with("FINDINGS\n  - be/s3 is "), "{text}");

    // Five requests found no server: HAProxy logs <NOSRV> and SC.
    let mut nosrv = healthy.clone();
    for n in 0..5 {
        nosrv.push_str(&finding_line(2001 * n + 200, "<NOSRV>", 0, 503, "SC--"));
    }
    let (found, _) = findings_of("findings-nosrv", &nosrv);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["rule"], "no-server");
    assert_eq!(found[0]["requests"], 5);
    assert!(found[0]["finding"]
        .as_str()
        .unwrap()
        .starts_with("5 requests to backend be found no server available (<NOSRV>) from 2026-11-24 15:54:00 to 2026-11-24 15:54:08: 5 SC:"));
}

/// The abnormal states of each server, against a count of `haplog cat`'s
/// records.
#[test]
fn abnormal_states_by_server_match_the_records() {
    for log in ["httplog.log", "tcplog.log", "json.log"] {
        let j = report_json(&["--section", "servers", log]);
        let mut got: BTreeMap<(String, String), u64> = BTreeMap::new();
        for row in j["servers"]["states"].as_array().unwrap() {
            let key = (
                row["server"].as_str().unwrap().to_string(),
                row["state"].as_str().unwrap().to_string(),
            );
            got.insert(key, row["requests"].as_u64().unwrap());
        }
        let mut want: BTreeMap<(String, String), u64> = BTreeMap::new();
        for r in records(log) {
            let state = &r["termination_state"].as_str().unwrap_or("")[..2];
            if state != "--" {
                let server = format!(
                    "{}/{}",
                    r["backend"].as_str().unwrap(),
                    r["server"].as_str().unwrap()
                );
                *want.entry((server, state.to_string())).or_default() += 1;
            }
        }
        assert!(!want.is_empty(), "{log}");
        assert_eq!(got, want, "{log}");
    }
}
