//! `haplog live`: its totals against `haplog report` on the real corpus,
//! following a log a writer appends to while Debian's real `logrotate`
//! (installed by scripts/test.sh) rotates it, and `/metrics` read by
//! Prometheus' own parser.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{haplog, json_of, Killed};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("haplog-live-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The last NDJSON summary `haplog live --json` wrote, reading `log` on
/// standard input.
fn live_total(log: &Path, extra: &[&str]) -> Value {
    let out = haplog()
        .args(["live", "--json", "-q"])
        .args(extra)
        .stdin(File::open(log).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let last = text.lines().last().expect("a summary");
    serde_json::from_str(last).unwrap()
}

/// A table's rows keyed by their first column.
fn rows(table: &Value, key: &str) -> BTreeMap<String, Value> {
    table
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[key].as_str().unwrap_or("(null)").to_string(), r.clone()))
        .collect()
}

/// Since the start, live counts what the report counts: requests,
/// failures, per server, per termination state, and the same timer
/// percentiles (the same histograms) on every log of the real corpus
/// that has requests.
#[test]
fn live_totals_equal_the_report() {
    let mut checked = 0;
    for entry in fs::read_dir(corpus()).unwrap() {
        let log = entry.unwrap().path();
        if log.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let report = json_of(
            haplog()
                .args([
                    "report",
                    "--json",
                    "-q",
                    "--section",
                    "overview,servers,termination",
                ])
                .arg(&log),
        );
        let live = live_total(&log, &[]);
        let total = &live["total"];
        let name = log.display().to_string();
        assert_eq!(
            total["live"]["lines"], report["overview"]["lines"],
            "{name}"
        );
        assert_eq!(
            total["live"]["requests"], report["overview"]["requests"],
            "{name}"
        );
        assert_eq!(
            total["live"]["failed"], report["overview"]["failed"],
            "{name}"
        );
        if report["overview"]["requests"] == 0 {
            continue;
        }
        checked += 1;
        let ours = rows(&total["servers"]["requests"], "server");
        let theirs = rows(&report["servers"]["requests"], "server");
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            "{name}"
        );
        for (server, r) in &theirs {
            for column in ["requests", "failed", "2xx", "3xx", "4xx", "5xx", "other"] {
                assert_eq!(ours[server][column], r[column], "{name} {server} {column}");
            }
        }
        let queues = rows(&report["servers"]["queues"], "server");
        for (server, q) in &queues {
            assert_eq!(
                ours[server]["queued"], q["queued"],
                "{name} {server} queued"
            );
        }
        // Four rows per server, in the same order: Tt, Tr, Tw, Tc.
        let ours = total["servers"]["timers"].as_array().unwrap();
        let theirs = report["servers"]["timers"].as_array().unwrap();
        assert_eq!(ours.len(), theirs.len(), "{name}");
        for (a, b) in ours.iter().zip(theirs) {
            for column in [
                "server", "timer", "count", "p50", "p90", "p99", "p99_9", "max",
            ] {
                assert_eq!(a[column], b[column], "{name} {column}: {a} {b}");
            }
        }
        let states = |v: &Value| -> BTreeMap<String, Value> {
            rows(v, "state")
                .into_iter()
                .map(|(k, r)| (k, r["requests"].clone()))
                .collect()
        };
        assert_eq!(
            states(&total["termination"]["states"]),
            states(&report["termination"]["states"]),
            "{name}"
        );
    }
    assert!(checked >= 20, "only {checked} logs with requests");
}

/// A filter keeps the same requests in live as in the report.
#[test]
fn live_filters_as_the_report_does() {
    let log = corpus().join("httplog.log");
    for filter in [
        ["--status", "5xx"],
        ["--backend", "be_app"],
        ["--termination", "SC"],
    ] {
        let report = json_of(
            haplog()
                .args(["report", "--json", "-q", "--section", "overview"])
                .args(filter)
                .arg(&log),
        );
        let live = live_total(&log, &filter);
        assert_eq!(
            live["total"]["live"]["requests"], report["overview"]["requests"],
            "{filter:?}"
        );
    }
}

/// One httplog line, request `n`.
pub(crate) fn line(n: u64) -> String {
    format!(
        "10.0.0.1:4000 [02/Dec/2026:10:00:00.000] fe be/s1 0/0/1/2/3 200 100 - - ---- 1/1/0/0/0 0/0 \"GET /i/{n} HTTP/1.1\"\n"
    )
}

/// How a log is rotated under a writer.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rotation {
    /// logrotate's default: rename, create a new file; the writer is
    /// told to reopen a moment later (as rsyslog is by its HUP).
    LogrotateCreate,
    /// logrotate's copytruncate: copy, then cut the file to 0 in place.
    LogrotateCopytruncate,
    /// The file deleted, and a new one created.
    DeleteRecreate,
    /// The file cut to 0 in place, nothing copied.
    Truncate,
}

/// Appends lines to `path` at a steady rate on a thread until `stop`,
/// reopening the path when `reopen` is set; counts what it wrote.
pub(crate) fn writer(
    path: PathBuf,
    reopen: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    pause: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let open = |p: &Path| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .unwrap()
        };
        let mut file = open(&path);
        let mut n = 0u64;
        while !stop.load(Ordering::SeqCst) {
            if reopen.swap(false, Ordering::SeqCst) {
                file = open(&path);
            }
            if pause.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            // 100 lines each 2 ms: about 50,000 lines a second.
            let mut batch = String::new();
            for _ in 0..100 {
                n += 1;
                batch.push_str(&line(n));
            }
            file.write_all(batch.as_bytes()).unwrap();
            written.store(n, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(2));
        }
    })
}

pub(crate) fn logrotate(dir: &Path, log: &Path, mode: &str) {
    let config = dir.join("logrotate.conf");
    fs::write(
        &config,
        format!(
            "{} {{\n    rotate 10\n    missingok\n    nocompress\n    {mode}\n}}\n",
            log.display()
        ),
    )
    .unwrap();
    let out = Command::new("/usr/sbin/logrotate")
        .arg("-f")
        .arg("-s")
        .arg(dir.join("state"))
        .arg(&config)
        .output()
        .unwrap_or_else(|e| {
            panic!("/usr/sbin/logrotate: {e} (scripts/test.sh installs Debian's logrotate)")
        });
    assert!(
        out.status.success(),
        "logrotate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `haplog live` following `log`, writing a summary every 100 ms.
fn follow(log: &Path) -> (Killed, BufReader<std::process::ChildStdout>) {
    let live = crate::support::spawn_piped(
        haplog()
            .args([
                "live", "--json", "-q", "--every", "100ms", "--window", "10s",
            ])
            .arg(log),
    );
    (live.child, live.stdout)
}

/// Reads summaries until live's total holds `lines` lines (or 10 s).
pub(crate) fn total_lines_reach(
    summaries: &mut BufReader<std::process::ChildStdout>,
    lines: u64,
) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = 0;
    let mut text = String::new();
    while Instant::now() < deadline {
        text.clear();
        if summaries.read_line(&mut text).unwrap() == 0 {
            break;
        }
        let v: Value = serde_json::from_str(&text).unwrap();
        seen = v["total"]["live"]["lines"].as_u64().unwrap();
        if seen >= lines {
            // A few more summaries: nothing may come twice.
            for _ in 0..5 {
                text.clear();
                summaries.read_line(&mut text).unwrap();
                let v: Value = serde_json::from_str(&text).unwrap();
                seen = v["total"]["live"]["lines"].as_u64().unwrap();
            }
            break;
        }
    }
    seen
}

fn torture(rotation: Rotation) {
    let dir = scratch(&format!("{rotation:?}").to_lowercase());
    let log = dir.join("app.log");
    File::create(&log).unwrap();
    let (_live, mut summaries) = follow(&log);
    // The first summary: live is reading.
    let mut first = String::new();
    summaries.read_line(&mut first).unwrap();

    let (reopen, stop, pause) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let written = Arc::new(AtomicU64::new(0));
    let thread = writer(
        log.clone(),
        reopen.clone(),
        stop.clone(),
        written.clone(),
        pause.clone(),
    );
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(400));
        match rotation {
            Rotation::LogrotateCreate => {
                logrotate(&dir, &log, "create");
                // The writer goes on in the renamed file for a moment.
                std::thread::sleep(Duration::from_millis(50));
                reopen.store(true, Ordering::SeqCst);
            }
            Rotation::LogrotateCopytruncate => {
                // Lines written between logrotate's copy and its cut are
                // lost to any reader (logrotate(8) says so): the writer
                // holds still while it runs, the reader does not.
                pause.store(true, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
                logrotate(&dir, &log, "copytruncate");
                pause.store(false, Ordering::SeqCst);
            }
            Rotation::DeleteRecreate => {
                fs::remove_file(&log).unwrap();
                reopen.store(true, Ordering::SeqCst);
            }
            Rotation::Truncate => {
                // Nothing keeps the lines of a cut file: wait until the
                // reader has them, then cut.
                pause.store(true, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(10));
                let target = written.load(Ordering::SeqCst);
                assert_eq!(
                    total_lines_reach(&mut summaries, target),
                    target,
                    "before the cut"
                );
                OpenOptions::new()
                    .write(true)
                    .open(&log)
                    .unwrap()
                    .set_len(0)
                    .unwrap();
                pause.store(false, Ordering::SeqCst);
            }
        }
    }
    std::thread::sleep(Duration::from_millis(400));
    stop.store(true, Ordering::SeqCst);
    thread.join().unwrap();
    let written = written.load(Ordering::SeqCst);
    assert!(written > 20_000, "the writer wrote only {written} lines");
    assert_eq!(
        total_lines_reach(&mut summaries, written),
        written,
        "{rotation:?}"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn follows_logrotate_create_rotation_without_losing_a_line() {
    torture(Rotation::LogrotateCreate);
}

#[test]
fn follows_logrotate_copytruncate_without_losing_a_line() {
    torture(Rotation::LogrotateCopytruncate);
}

#[test]
fn follows_delete_and_recreate_without_losing_a_line() {
    torture(Rotation::DeleteRecreate);
}

#[test]
fn follows_truncation_in_place() {
    torture(Rotation::Truncate);
}

/// `/metrics` read by Prometheus' own parser: the request counters add up
/// to the report's requests, per server, and the lines to the lines read.
#[test]
fn metrics_parse_with_prometheus_own_parser() {
    let dir = scratch("metrics");
    let log = dir.join("h.log");
    fs::copy(corpus().join("httplog.log"), &log).unwrap();
    let (_live, addr) = serving(
        &[
            "live",
            "--json",
            "--from-start",
            "--metrics",
            "127.0.0.1:0",
            "--every",
            "10s",
        ],
        &log,
        "metrics at http://",
        "/metrics",
    );
    let report = json_of(
        haplog()
            .args(["report", "--json", "-q", "--section", "overview,servers"])
            .arg(&log),
    );
    let requests = report["overview"]["requests"].as_u64().unwrap();

    let scrape = || -> String {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        response.split_once("\r\n\r\n").unwrap().1.to_string()
    };
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/grpc-venv/bin/python");
    let parse = |text: &str| -> Vec<Value> {
        let mut p = Command::new(&python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grpcio/prom_parse.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e} (scripts/test.sh makes it)", python.display()));
        p.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = p.wait_with_output().unwrap();
        assert!(out.status.success(), "prometheus_client refused:\n{text}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let samples = loop {
        let samples = parse(&scrape());
        let counted: f64 = samples
            .iter()
            .filter(|s| s[0] == "haplog_requests_total")
            .map(|s| s[2].as_f64().unwrap())
            .sum();
        if counted as u64 == requests || Instant::now() > deadline {
            break samples;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let sum = |name: &str, label: Option<(&str, &str)>| -> f64 {
        samples
            .iter()
            .filter(|s| s[0] == name)
            .filter(|s| label.is_none_or(|(k, v)| s[1][k] == v))
            .map(|s| s[2].as_f64().unwrap())
            .sum()
    };
    assert_eq!(sum("haplog_requests_total", None) as u64, requests);
    assert_eq!(
        sum("haplog_lines_total", None) as u64,
        report["overview"]["lines"].as_u64().unwrap()
    );
    assert_eq!(
        sum("haplog_bytes_total", None) as u64,
        fs::metadata(&log).unwrap().len()
    );
    for r in report["servers"]["requests"].as_array().unwrap() {
        let (backend, server) = r["server"].as_str().unwrap().split_once('/').unwrap();
        let counted: f64 = samples
            .iter()
            .filter(|s| {
                s[0] == "haplog_requests_total"
                    && s[1]["backend"] == backend
                    && s[1]["server"] == server
            })
            .map(|s| s[2].as_f64().unwrap())
            .sum();
        assert_eq!(
            counted as u64,
            r["requests"].as_u64().unwrap(),
            "{backend}/{server}"
        );
    }
    // Each server's Tt histogram counts the report's Tt values.
    for t in report["servers"]["timers"].as_array().unwrap() {
        if t["timer"] != "Tt" {
            continue;
        }
        let (backend, server) = t["server"].as_str().unwrap().split_once('/').unwrap();
        let count = samples
            .iter()
            .find(|s| {
                s[0] == "haplog_request_duration_seconds_count"
                    && s[1]["backend"] == backend
                    && s[1]["server"] == server
                    && s[1]["timer"] == "Tt"
            })
            .unwrap_or_else(|| panic!("no Tt histogram for {backend}/{server}"));
        assert_eq!(
            count[2].as_f64().unwrap() as u64,
            t["count"].as_u64().unwrap()
        );
        assert_eq!(count[3], "histogram");
    }
    let _ = fs::remove_dir_all(&dir);
}

/// A line of request `n`, dated `second` (Unix, UTC) plus `ms`, to
/// server `s1` or `s2`, with a total time of `tt` ms.
fn dated_line(second: i64, ms: i64, n: u64, tt: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = second.div_euclid(86_400);
    let rest = second.rem_euclid(86_400);
    let (y, m, d) = haplog_format::time::civil_from_days(days);
    let server = if n.is_multiple_of(3) { "s2" } else { "s1" };
    let status = if n.is_multiple_of(7) { 503 } else { 200 };
    format!(
        "10.0.0.{}:4000 [{d:02}/{}/{y}:{:02}:{:02}:{:02}.{ms:03}] fe be/{server} 0/0/1/{}/{tt} {status} 100 - - ---- 1/1/0/0/0 0/0 \"GET /w/{} HTTP/1.1\"\n",
        n % 200,
        MONTHS[(m - 1) as usize],
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        tt.saturating_sub(2),
        n % 13
    )
}

/// A window of `live` and `report --since/--until` over the same seconds
/// count the same requests, per server, with the same percentiles.
#[test]
fn a_window_equals_the_report_of_its_seconds() {
    let dir = scratch("window");
    let log = dir.join("now.log");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Forty seconds of lines up to now, a few a second, times varied.
    let mut text = String::new();
    let mut n = 0;
    for second in now - 40..=now {
        for k in 0..(5 + second % 4) {
            n += 1;
            text.push_str(&dated_line(second, k * 97 % 1000, n, (n * 37 % 3000) + 1));
        }
    }
    fs::write(&log, text).unwrap();
    let out = haplog()
        .args([
            "live",
            "--json",
            "-q",
            "--from-start",
            "--utc-offset",
            "UTC",
        ])
        .args([
            "--window",
            "10s,30s",
            "--every",
            "100ms",
            "--duration",
            "300ms",
        ])
        .arg(&log)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    for (name, seconds) in [("10s", 10), ("30s", 30)] {
        let window = &last["windows"][name];
        // The window's end: the second its summary was written.
        let at = window["live"]["time"].as_str().unwrap().to_string();
        let end = chrono_free_parse(&at);
        let iso = |s: i64| {
            let line = dated_line(s, 0, 1, 1);
            // `[02/Dec/2026:10:00:00.000]` as the report's --since reads it.
            let open = line.find('[').unwrap();
            line[open + 1..open + 21].to_string() + " +0000"
        };
        let report = json_of(
            haplog()
                .args(["report", "--json", "-q", "--section", "overview,servers"])
                .args(["--utc-offset", "UTC", "--since"])
                .arg(iso(end - seconds + 1))
                .arg("--until")
                .arg(iso(end + 1))
                .arg(&log),
        );
        assert!(
            report["overview"]["requests"].as_u64().unwrap() > 20,
            "{name}"
        );
        assert_eq!(
            window["live"]["requests"], report["overview"]["requests"],
            "{name}"
        );
        assert_eq!(
            window["live"]["failed"], report["overview"]["failed"],
            "{name}"
        );
        let ours = window["servers"]["timers"].as_array().unwrap();
        let theirs = report["servers"]["timers"].as_array().unwrap();
        assert_eq!(ours.len(), theirs.len(), "{name}");
        for (a, b) in ours.iter().zip(theirs) {
            for column in ["server", "timer", "count", "p50", "p90", "p99", "max"] {
                assert_eq!(a[column], b[column], "{name} {column}");
            }
        }
    }
    let _ = fs::remove_dir_all(&dir);
}

/// `2026-12-02T19:45:01Z` as Unix seconds.
fn chrono_free_parse(iso: &str) -> i64 {
    let n = |a: usize, b: usize| iso[a..b].parse::<i64>().unwrap();
    let days = haplog_format::time::days_from_civil(n(0, 4), n(5, 7), n(8, 10));
    days * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19)
}

/// `haplog live --json --syslog` on a port of its choosing: the process,
/// its summaries (every 100 ms) and the address it listens on.
fn syslog_live() -> (Killed, BufReader<std::process::ChildStdout>, String) {
    let crate::support::Piped {
        child: live,
        stdout: summaries,
        mut stderr,
    } = crate::support::spawn_piped(haplog().args([
        "live",
        "--json",
        "--syslog",
        "127.0.0.1:0",
        "--every",
        "100ms",
    ]));
    let mut said = String::new();
    stderr.read_line(&mut said).unwrap();
    let addr = said
        .trim()
        .strip_prefix("haplog live: listening for syslog on udp://")
        .unwrap_or_else(|| panic!("{said}"))
        .to_string();
    (live, summaries, addr)
}

/// The real HAProxy logs over UDP to `haplog live --syslog` while `haplog
/// load` drives it: live's per-server totals equal the load's proxy
/// section (read from the same HAProxy's log file).
#[cfg(feature = "load")]
#[test]
fn haproxy_over_syslog_counts_what_the_load_counts() {
    use crate::load_haproxy::{
        haproxy_logging, per_server, scratch as haproxy_dir, testserver, wait_for_port,
    };
    use crate::support::free_port;

    let dir = haproxy_dir("haplog-live-syslog");
    let (_live, mut summaries, udp) = syslog_live();

    let (p1, p2, front) = (free_port(), free_port(), free_port());
    let _servers = [testserver("tts1", p1), testserver("tts2", p2)];
    wait_for_port(p1);
    wait_for_port(p2);
    let _proxy = haproxy_logging(&dir, front, [p1, p2], "", &format!("    log {udp} local0"));
    wait_for_port(front);
    let load = json_of(
        haplog()
            .args(["load", "--insecure", "-O", "json", "--proto"])
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../load/proto/haplog/demo/tts.proto"
            ))
            .args([
                "--call",
                "haplog.demo.Tts/SpeakWav",
                "-d",
                r#"{"text":"hi"}"#,
            ])
            .args([
                "-n",
                "60",
                "-c",
                "6",
                "--utc-offset",
                "local",
                "--haproxy-log",
            ])
            .arg(dir.join("haproxy.log"))
            .arg(format!("127.0.0.1:{front}")),
    );
    let proxy = &load["haplog"]["proxy"];
    assert_eq!(proxy["requests"], 60, "{proxy:#}");
    let expected = per_server(proxy);

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    let got = loop {
        text.clear();
        assert!(summaries.read_line(&mut text).unwrap() > 0, "live ended");
        let v: Value = serde_json::from_str(&text).unwrap();
        let mut servers: Vec<(String, u64)> = v["total"]["servers"]["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["server"].as_str().unwrap().to_string(),
                    r["requests"].as_u64().unwrap(),
                )
            })
            .collect();
        servers.sort();
        // The run's lines: the probe's line must not stand in for one.
        let run: u64 = servers
            .iter()
            .filter(|(s, _)| s.starts_with("be_tts/"))
            .map(|(_, n)| n)
            .sum();
        if run >= 60 || Instant::now() > deadline {
            break servers;
        }
    };
    // wait_for_port's probe is a connection HAProxy logs too (no request,
    // no server): live counts it, the load's section leaves it out.
    let (run, probes): (Vec<_>, Vec<_>) =
        got.into_iter().partition(|(s, _)| s.starts_with("be_tts/"));
    assert_eq!(run, expected);
    assert!(
        probes.iter().all(|(s, _)| s == "fe_grpc/<NOSRV>"),
        "{probes:?}"
    );
    let _ = fs::remove_dir_all(&dir);
}

/// tmux on its own socket, for the terminal view's tests.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(name: &str) -> Tmux {
        Tmux {
            socket: format!("haplog-{name}-{}", std::process::id()),
        }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("tmux: {e} (scripts/test.sh installs Debian's tmux)"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "view"])
    }

    /// The screen once it shows `text` (at most 5 s).
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "no {text:?} on the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &str) {
        self.run(&["send-keys", "-t", "view", keys]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// The terminal view through a pseudo-terminal (tmux) at 120x40 and
/// 80x24: what it shows, its keys, a hostile URL shown inert, and the
/// terminal given back on `q`.
#[test]
fn the_terminal_view_answers_keys_and_restores_the_terminal() {
    let dir = scratch("tui");
    let log = dir.join("now.log");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut text = String::new();
    let mut n = 0;
    for second in now - 30..=now {
        for k in 0..4 {
            n += 1;
            text.push_str(&dated_line(second, k * 250, n, n * 13 % 700 + 1));
        }
    }
    // A URL with a terminal title sequence: shown as text, never obeyed.
    text.push_str(&dated_line(now, 999, 7, 5).replace("/w/7", "/evil\x1b]2;pwned\x07/x"));
    fs::write(&log, text).unwrap();
    for (width, height) in [("120", "40"), ("80", "24")] {
        let tmux = Tmux::new(&format!("tui{width}"));
        // After live: its exit code and the terminal's modes, as the
        // shell the user returns to finds them.
        let command = format!(
            "{} live --from-start --utc-offset UTC --window 10s,1m {}; code=$?; stty -a | tr -s '\\n;' '  '; echo; echo EXIT=$code",
            crate::support::HAPLOG,
            log.display()
        );
        let bytes = dir.join(format!("bytes-{width}"));
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "view",
            "-x",
            width,
            "-y",
            height,
            "sh",
            "-c",
            &command,
        ]);
        tmux.run(&["set-option", "-t", "view", "remain-on-exit", "on"]);
        tmux.run(&[
            "pipe-pane",
            "-t",
            "view",
            "-o",
            &format!("cat > {}", bytes.display()),
        ]);
        let screen = tmux.wait_for("be/s1");
        assert_eq!(
            screen.lines().count(),
            height.parse::<usize>().unwrap(),
            "{screen}"
        );
        for expected in [
            "haplog live",
            "last 10s",
            "Servers",
            "be/s2",
            "Termination states",
            "Latest failed requests",
            "503",
        ] {
            assert!(
                screen.contains(expected),
                "{width}x{height}: no {expected:?}:\n{screen}"
            );
        }
        if width == "120" {
            assert!(screen.contains("normal completion"), "{screen}");
            assert!(screen.contains("/evil\\x1b]2;pwned\\x07/x"), "{screen}");
        }
        assert_ne!(
            tmux.run(&["display", "-p", "-t", "view", "#{pane_title}"])
                .trim(),
            "pwned"
        );
        tmux.keys("2");
        tmux.wait_for("last 1m");
        tmux.keys("s");
        tmux.wait_for("sort: failed %");
        tmux.keys("b");
        tmux.wait_for("backend be;");
        tmux.keys("p");
        tmux.wait_for("PAUSED");
        tmux.keys("?");
        tmux.wait_for("Help");
        tmux.keys("q");
        let after = tmux.wait_for("EXIT=");
        assert!(after.contains("EXIT=0"), "{after}");
        // Raw mode undone: the line discipline echoes and edits lines again.
        let flags: Vec<&str> = after.split_whitespace().collect();
        assert!(
            flags.contains(&"icanon") && flags.contains(&"echo"),
            "{after}"
        );
        assert_eq!(
            tmux.run(&["display", "-p", "-t", "view", "#{alternate_on}"])
                .trim(),
            "0"
        );
        // The cursor shown again after its last hiding.
        let written = fs::read(&bytes).unwrap_or_default();
        let find = |pattern: &[u8]| written.windows(pattern.len()).rposition(|w| w == pattern);
        assert!(
            find(b"\x1b[?25h") > find(b"\x1b[?25l"),
            "{width}x{height}: cursor left hidden"
        );
        assert!(
            find(b"\x1b[?1049l").is_some(),
            "{width}x{height}: alternate screen not left"
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

/// Lines dated over the last `seconds` up to now, `per_second` a second,
/// to two servers, some failing.
fn recent_lines(seconds: i64, per_second: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut text = String::new();
    let mut n = 0;
    for second in now - seconds..=now {
        for k in 0..per_second {
            n += 1;
            text.push_str(&dated_line(
                second,
                k * (1000 / per_second),
                n,
                n * 13 % 700 + 1,
            ));
        }
    }
    text
}

/// `haplog ARGS LOG` serving HTTP: the process, and the address it says
/// (on stderr) it serves, between `before` and `after`.
fn serving(args: &[&str], log: &Path, before: &str, after: &str) -> (Killed, String) {
    let mut child = haplog()
        .args(args)
        .arg(log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let live = Killed(child);
    let mut said = String::new();
    stderr.read_line(&mut said).unwrap();
    let addr = said
        .trim()
        .strip_prefix("haplog live: ")
        .and_then(|a| a.strip_prefix(before))
        .and_then(|a| a.strip_suffix(after))
        .unwrap_or_else(|| panic!("{said}"))
        .to_string();
    (live, addr)
}

/// One HTTP GET on `addr`: the status line and headers, and the body.
fn get(addr: &str, path: &str) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

/// The web view: the page (no external resource, a strict policy), its
/// event stream, and headless Chromium (Debian's, driven over the
/// DevTools protocol) drawing the charts and tables from the events, with
/// no script error, no request but the page's own, and a hostile URL shown
/// as text.
#[test]
fn the_web_view_renders_in_chromium() {
    let dir = scratch("web");
    let log = dir.join("now.log");
    let mut text = recent_lines(40, 5);
    // A URL written to run script if it were markup.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    text.push_str(&dated_line(now, 999, 7, 5).replace(
        "/w/7",
        "/x><img src=x onerror=document.body.dataset.pwned=1><script>document.body.dataset.pwned=2</script>",
    ));
    fs::write(&log, text).unwrap();
    let (_live, addr) = serving(
        &[
            "live",
            "--no-tui",
            "--from-start",
            "--utc-offset",
            "UTC",
            "--window",
            "1m,5m",
            "--every",
            "300ms",
            "--web",
            "127.0.0.1:0",
        ],
        &log,
        "web view at http://",
        "/",
    );

    let (head, page) = get(&addr, "/");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(
        head.contains("Content-Security-Policy: default-src 'none';"),
        "{head}"
    );
    for external in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!page.contains(external), "the page loads {external}");
    }
    // The event stream: an event of JSON with the servers in it.
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut events = BufReader::new(stream);
    let mut line = String::new();
    let event = loop {
        line.clear();
        events.read_line(&mut line).unwrap();
        if let Some(data) = line.strip_prefix("data: ") {
            break serde_json::from_str::<Value>(data).unwrap();
        }
    };
    let servers = rows(&event["windows"]["1m"]["servers"]["requests"], "server");
    assert!(
        servers.contains_key("be/s1") && servers.contains_key("be/s2"),
        "{event}"
    );
    assert!(
        event["series"]["servers"]["be/s1"]["requests"]
            .as_array()
            .unwrap()
            .len()
            == 60
    );

    let check = "JSON.stringify({\
        errors: document.body.dataset.errors || '',\
        lines: [...document.querySelectorAll('svg')].map(s => Number(s.dataset.lines)),\
        points: [...document.querySelectorAll('polyline')].map(p => p.getAttribute('points').split(' ').length),\
        servers: [...document.querySelectorAll('#servers td:first-child')].map(t => t.textContent),\
        states: document.querySelectorAll('#states tr').length,\
        pwned: document.body.dataset.pwned || '',\
        scripts: document.querySelectorAll('script').length,\
        shown: [...document.querySelectorAll('td')].some(t => t.textContent.includes('<script>document.body.dataset.pwned=2</script>'))\
    })";
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/cdp.py"))
        .arg(format!("http://{addr}/"))
        .args([
            "--until",
            "Number(document.body.dataset.updates || 0) >= 2",
            "--eval",
            check,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["until"], true, "two events drawn: {result}");
    assert_eq!(result["errors"], serde_json::json!([]), "{result}");
    assert_eq!(result["console"], serde_json::json!([]), "{result}");
    let requests: Vec<&str> = result["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        requests,
        [
            format!("http://{addr}/"),
            format!("http://{addr}/app.js"),
            format!("http://{addr}/events")
        ],
        "{result}"
    );
    let page: Value = serde_json::from_str(result["value"].as_str().unwrap()).unwrap();
    assert_eq!(page["errors"], "", "{page}");
    // Three charts, a line per server each, a point per second with lines.
    assert_eq!(page["lines"], serde_json::json!([2, 2, 2]), "{page}");
    assert!(
        page["points"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p.as_u64().unwrap() >= 30),
        "{page}"
    );
    assert_eq!(
        page["servers"],
        serde_json::json!(["be/s1", "be/s2"]),
        "{page}"
    );
    // A header and the one state these lines have (`--`).
    assert_eq!(page["states"], 2, "{page}");
    assert_eq!(page["pwned"], "", "{page}");
    assert_eq!(page["scripts"], 1, "{page}");
    let (head, script) = get(&addr, "/app.js");
    assert!(head.contains("Content-Type: text/javascript"), "{head}");
    assert!(script.contains("new EventSource(\"events\")"), "{script}");
    assert_eq!(page["shown"], true, "{page}");
    let _ = fs::remove_dir_all(&dir);
}

/// Syslog datagrams in both formats HAProxy sends (RFC 5424 and RFC
/// 3164, one message each, as logged by a real HAProxy in the corpus):
/// live's totals equal the report of the same lines.
#[test]
fn syslog_datagrams_in_both_formats_count_as_the_report() {
    for name in ["rfc5424.log", "rfc3164.log"] {
        let log = corpus().join(name);
        let report = json_of(
            haplog()
                .args(["report", "--json", "-q", "--section", "overview,servers"])
                .arg(&log),
        );
        let (_live, mut summaries, addr) = syslog_live();
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let text = fs::read(&log).unwrap();
        let lines: Vec<&[u8]> = text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        for (i, line) in lines.iter().enumerate() {
            socket.send_to(line, &addr).unwrap();
            // Paced: loopback drops what a full socket buffer cannot take.
            if i % 50 == 49 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let expected = report["overview"]["lines"].as_u64().unwrap();
        assert_eq!(expected, lines.len() as u64, "{name}");
        let total = total_lines_reach(&mut summaries, expected);
        assert_eq!(total, expected, "{name}");
        let mut line = String::new();
        summaries.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v["total"]["live"]["requests"], report["overview"]["requests"],
            "{name}"
        );
        assert_eq!(
            v["total"]["live"]["failed"], report["overview"]["failed"],
            "{name}"
        );
        let ours = rows(&v["total"]["servers"]["requests"], "server");
        let theirs = rows(&report["servers"]["requests"], "server");
        assert_eq!(ours.len(), theirs.len(), "{name}");
        for (server, r) in &theirs {
            assert_eq!(ours[server]["requests"], r["requests"], "{name} {server}");
        }
    }
}
