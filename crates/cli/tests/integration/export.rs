//! `haplog export --parquet` read back by two engines of other makers:
//! DuckDB and ClickHouse (chDB, loaded through `haplog schema
//! --clickhouse`'s table). docs/sql.md's queries over the files give the
//! figures of `haplog report --json` on the same logs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus() -> PathBuf {
    root().join("testdata/real")
}

fn tempdir(name: &str) -> PathBuf {
    crate::support::fresh_dir(&format!("export-{name}"))
}

/// The venv scripts/test.sh fills with DuckDB and chDB.
fn python() -> PathBuf {
    let python = root().join("target/export-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: scripts/test.sh installs DuckDB and chDB there",
        python.display()
    );
    python
}

/// `haplog export` without progress, dates without a zone read in UTC.
const EXPORT_QUIET_UTC: [&str; 4] = ["export", "-q", "--utc-offset", "UTC"];

/// A log of the generator in bench/, made once.
fn generated_log() -> &'static Path {
    static LOG: OnceLock<PathBuf> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = tempdir("generated");
        let log = dir.join("generated.log");
        crate::support::run_ok(
            Command::new("python3")
                .arg(root().join("bench/gen_haproxy_log.py"))
                .args(["--lines", "20000", "--seed", "7", "--rate", "40", "-o"])
                .arg(&log),
        );
        log
    })
}

/// Exports `log` into `dir`; the traffic file's path and the summary.
fn export(log: &Path, dir: &Path) -> (PathBuf, String) {
    let parquet = dir.join("traffic.parquet");
    let out = crate::support::run_ok(
        crate::support::haplog()
            .args(["export", "--utc-offset", "UTC", "--parquet"])
            .arg(&parquet)
            .arg(log),
    );
    let summary = String::from_utf8(out.stderr).unwrap();
    assert!(out.stdout.is_empty(), "{summary}");
    (parquet, summary)
}

/// docs/sql.md's queries for `engine` over `parquet`, by sql_check.py.
fn engine(engine: &str, parquet: &Path, dir: &Path) -> Value {
    let mut command = Command::new(python());
    command
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/export/sql_check.py"))
        .arg(engine)
        .arg(parquet)
        .arg(root().join("docs/sql.md"));
    if engine == "clickhouse" {
        let ddl = crate::support::run_ok(crate::support::haplog().args(["schema", "--clickhouse"]))
            .stdout;
        let path = dir.join("haproxy.sql");
        std::fs::write(&path, ddl).unwrap();
        command.arg(path);
    }
    crate::support::json_of(&mut command)
}

/// A count as either engine writes it (ClickHouse quotes 64-bit ones).
fn count(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("not a count: {v}"))
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Rows of a report table or a query as `key → value`.
fn by(rows: &Value, key: impl Fn(&Value) -> String, value: &str) -> BTreeMap<String, u64> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| (key(r), count(&r[value])))
        .collect()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

#[test]
fn duckdb_and_clickhouse_give_the_reports_figures() {
    let mut logs: Vec<PathBuf> = [
        "httplog.log",
        "tcplog.log",
        "json.log",
        "httpslog.log",
        "rfc5424.log",
        "custom.log",
    ]
    .iter()
    .map(|l| corpus().join(l))
    .collect();
    logs.push(generated_log().to_path_buf());
    for log in &logs {
        let name = log.file_name().unwrap().to_string_lossy().into_owned();
        let dir = tempdir(&name);
        let (parquet, summary) = export(log, &dir);
        let report = crate::support::json_of(
            crate::support::haplog()
                .args([
                    "report",
                    "--json",
                    "-q",
                    "--utc-offset",
                    "UTC",
                    "--interval",
                    "minute",
                    "--top",
                    "1000000",
                ])
                .arg(log),
        );
        // Every line is a row of one file or the other, or a blank line.
        let requests = report["overview"]["requests"].as_u64().unwrap();
        assert!(
            summary.contains(&format!("; {requests} rows to ")),
            "{name}: {summary}"
        );
        let servers = by(
            &report["servers"]["requests"],
            |r| text(&r["server"]),
            "requests",
        );
        let failed = by(
            &report["servers"]["requests"],
            |r| text(&r["server"]),
            "failed",
        );
        let codes: BTreeMap<String, u64> = report["status"]["codes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| !r["status"].is_null())
            .map(|r| (text(&r["status"]), count(&r["requests"])))
            .collect();
        let states = by(
            &report["termination"]["states"],
            |r| text(&r["state"]),
            "requests",
        );
        let minutes = by(
            &report["timeline"]["rows"],
            |r| text(&r["start"]),
            "requests",
        );
        // The report's Tt and Tr percentiles, by server.
        let mut timers: BTreeMap<(String, String), (Option<f64>, Option<f64>)> = BTreeMap::new();
        for r in report["servers"]["timers"].as_array().unwrap() {
            timers.insert(
                (text(&r["server"]), text(&r["timer"])),
                (number(&r["p50"]), number(&r["p99"])),
            );
        }

        for which in ["duckdb", "clickhouse"] {
            let got = engine(which, &parquet, &dir);
            let q = &got["queries"];
            let key = |r: &Value| format!("{}/{}", text(&r["backend"]), text(&r["server"]));
            assert_eq!(
                by(&q["servers"], key, "requests"),
                servers,
                "{name} {which}"
            );
            assert_eq!(by(&q["servers"], key, "failed"), failed, "{name} {which}");
            assert_eq!(
                by(&q["status"], |r| text(&r["status"]), "requests"),
                codes,
                "{name} {which}"
            );
            assert_eq!(
                by(&q["termination"], |r| text(&r["state"]), "requests"),
                states,
                "{name} {which}"
            );
            assert_eq!(
                by(&q["minutes"], |r| text(&r["minute"]), "requests"),
                minutes,
                "{name} {which}"
            );
            // Percentiles: the engine's within one rank of the exact
            // nearest-rank value; the report's within 0.1 % of it.
            for row in q["servers"].as_array().unwrap() {
                let server = key(row);
                let exact = &got["exact"][&server];
                for (column, timer, p) in [
                    ("tt_p50", "Tt", 0),
                    ("tt_p99", "Tt", 1),
                    ("tr_p50", "Tr", 0),
                    ("tr_p99", "Tr", 1),
                ] {
                    let ranks = &exact[column];
                    let engine_value = number(&row[column]);
                    let ours = timers
                        .get(&(server.clone(), timer.to_string()))
                        .and_then(|t| if p == 0 { t.0 } else { t.1 });
                    if ranks.is_null() {
                        assert_eq!(engine_value, None, "{name} {which} {server} {column}");
                        assert_eq!(ours, None, "{name} {server} {column}");
                        continue;
                    }
                    let (lo, mid, hi) = (
                        number(&ranks[0]).unwrap(),
                        number(&ranks[1]).unwrap(),
                        number(&ranks[2]).unwrap(),
                    );
                    let v = engine_value.unwrap();
                    assert!(
                        (lo..=hi).contains(&v),
                        "{name} {which} {server} {column}: {v} not in [{lo}, {hi}]"
                    );
                    let ours = ours.unwrap();
                    assert!(
                        ours <= mid && mid - ours <= mid * 0.001,
                        "{name} {server} {column}: report {ours}, exact {mid}"
                    );
                }
            }
        }
    }
}

/// `haplog schema` names every engine's types, and a bad table name or
/// no engine is a one-line error.
#[test]
fn schema_prints_each_engines_table() {
    let ch = String::from_utf8(
        crate::support::run_ok(crate::support::haplog().args(["schema", "--clickhouse"])).stdout,
    )
    .unwrap();
    assert!(ch.starts_with("CREATE TABLE haproxy ("), "{ch}");
    assert!(ch.contains("ENGINE = MergeTree") && ch.contains("ORDER BY (backend, server, ts)"));
    let duck = String::from_utf8(
        crate::support::run_ok(crate::support::haplog().args([
            "schema",
            "--duckdb",
            "--table",
            "logs.requests",
        ]))
        .stdout,
    )
    .unwrap();
    assert!(duck.starts_with("CREATE TABLE logs.requests ("), "{duck}");
    assert!(duck.contains("ts") && duck.contains("TIMESTAMPTZ"));
    for args in [
        &["schema"][..],
        &["schema", "--duckdb", "--table", "x; DROP TABLE y"],
        &["schema", "--duckdb", "--spark"],
    ] {
        let out = crate::support::haplog().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

/// `--partition date,host` writes a Hive-style dataset that DuckDB reads
/// back with the same rows as the single file, each in the directory of
/// its day and host; a host name from the log cannot leave the dataset.
#[test]
fn partitions_hold_the_same_rows_by_day_and_host() {
    let dir = tempdir("partitions");
    // Two hosts over two days (UTC), and a host name trying to climb out.
    let mut log = String::new();
    for (n, (host, day)) in [("lb1", 24), ("lb2", 24), ("lb1", 25), ("../../x", 25)]
        .iter()
        .enumerate()
    {
        for i in 0..5 {
            log.push_str(&format!(
                "<134>Nov {day} 10:00:0{i} {host} haproxy[1]: 10.0.0.{n}:4000 [{day}/Nov/2026:10:00:0{i}.000] fe be/s1 0/0/1/2/3 200 10 - - ---- 1/1/0/0/0 0/0 \"GET /{n} HTTP/1.1\"\n"
            ));
        }
    }
    let path = dir.join("two-days.log");
    std::fs::write(&path, &log).unwrap();
    let out_dir = dir.join("dataset");
    for _ in 0..2 {
        // A second export into the dataset adds files beside the first.
        crate::support::run_ok(
            crate::support::haplog()
                .args(EXPORT_QUIET_UTC)
                .args(["--partition", "date,host", "--parquet"])
                .arg(&out_dir)
                .arg(&path),
        );
    }
    let mut files: Vec<String> = Vec::new();
    let mut stack = vec![out_dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p.strip_prefix(&out_dir).unwrap().display().to_string());
            }
        }
    }
    files.sort();
    assert_eq!(
        files,
        [
            "date=2026-11-24/host=lb1/part-0.parquet",
            "date=2026-11-24/host=lb1/part-1.parquet",
            "date=2026-11-24/host=lb2/part-0.parquet",
            "date=2026-11-24/host=lb2/part-1.parquet",
            "date=2026-11-25/host=%2E.%2F..%2Fx/part-0.parquet",
            "date=2026-11-25/host=%2E.%2F..%2Fx/part-1.parquet",
            "date=2026-11-25/host=lb1/part-0.parquet",
            "date=2026-11-25/host=lb1/part-1.parquet",
        ]
    );
    let script = format!(
        "import duckdb, json\nprint(json.dumps(duckdb.sql(\"SELECT strftime(date, '%Y-%m-%d'), host, count(*), min(strftime(ts AT TIME ZONE 'UTC', '%d')) FROM read_parquet('{}/*/*/*.parquet', hive_partitioning=true) GROUP BY ALL ORDER BY ALL\").fetchall()))",
        out_dir.display()
    );
    let rows = crate::support::json_of(Command::new(python()).args(["-c", &script]));
    assert_eq!(
        rows,
        serde_json::json!([
            ["2026-11-24", "lb1", 10, "24"],
            ["2026-11-24", "lb2", 10, "24"],
            // The host as logged: the path's encoding is only the path's.
            ["2026-11-25", "../../x", 10, "25"],
            ["2026-11-25", "lb1", 10, "25"],
        ])
    );
}

/// A file that cannot be made, a missing input, a doubled key: one line,
/// exit 2. A damaged .gz keeps the rows read before the damage, says so
/// and exits 2; lines read = rows of both files (the log has no blank
/// line).
#[test]
fn export_errors_are_one_line_and_damaged_input_keeps_its_rows() {
    let dir = tempdir("errors");
    let log = corpus().join("httplog.log");
    for args in [
        vec!["export", "--parquet", "/nonexistent/dir/x.parquet"],
        vec!["export", "--parquet", "x.parquet", "missing.log"],
        vec![
            "export",
            "--parquet",
            "x.parquet",
            "--partition",
            "date,date",
        ],
        vec!["export", "--parquet", "x.parquet", "--partition", "week"],
    ] {
        let out = crate::support::haplog()
            .args(&args)
            .arg(&log)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &std::fs::read(&log).unwrap()).unwrap();
    let gz = gz.finish().unwrap();
    let damaged = dir.join("damaged.log.gz");
    std::fs::write(&damaged, &gz[..gz.len() / 2]).unwrap();
    let parquet = dir.join("damaged.parquet");
    let out = crate::support::haplog()
        .args(["export", "--parquet"])
        .arg(&parquet)
        .arg(&damaged)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("truncated or corrupt gzip"), "{err}");
    let summary = err.lines().next().unwrap();
    let numbers: Vec<u64> = summary
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    // "N lines read; T rows to …, O to …"
    assert!(numbers[0] > 0 && numbers[0] < 434, "{summary}");
    assert_eq!(numbers[0], numbers[1] + numbers[2], "{summary}");
    let script = format!(
        "import duckdb\nprint(duckdb.sql(\"SELECT count(*) FROM '{}'\").fetchall()[0][0])",
        parquet.display()
    );
    let rows = crate::support::run_ok(Command::new(python()).args(["-c", &script]));
    assert_eq!(
        String::from_utf8(rows.stdout).unwrap().trim(),
        numbers[1].to_string()
    );
}

/// An export is written under a hidden name and moved into place when
/// whole: one stopped half-way by Ctrl-C leaves the file that was there
/// untouched and no hidden file (exit code 130), and a symbolic link (as
/// `/dev/stdout` is) is written through, not replaced.
#[test]
fn an_export_replaces_its_file_only_when_whole() {
    use std::io::Write;
    use std::time::Duration;

    let dir = tempdir("whole");
    let log = generated_log();
    let (parquet, _) = export(log, &dir);
    let names = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(), ["traffic.other.parquet", "traffic.parquet"]);
    let before = std::fs::read(&parquet).unwrap();

    // An export of half the log through standard input, still open: it
    // waits for the rest, its hidden file there.
    let text = std::fs::read(log).unwrap();
    let hidden = dir.join(".traffic.parquet.tmp");
    let half_way = || {
        let mut child = crate::support::Killed(
            crate::support::haplog()
                .args(EXPORT_QUIET_UTC)
                .arg("--parquet")
                .arg(&parquet)
                .arg("-")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut stdin = child.0.stdin.take().unwrap();
        stdin.write_all(&text[..text.len() / 2]).unwrap();
        let shows = crate::support::within(Duration::from_secs(10), || hidden.exists());
        assert!(shows, "{:?}", names());
        (child, stdin)
    };
    // Ctrl-C: it stops once the chunk it waits for ends (a terminal's
    // Ctrl-C also ends whatever writes into the pipe).
    let (mut child, stdin) = half_way();
    crate::support::ctrl_c(&child.0);
    drop(stdin);
    let status = child.0.wait().unwrap();
    let mut said = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut said).unwrap();
    assert_eq!(status.code(), Some(130), "{said}");
    assert_eq!(
        said,
        "haplog export: stopped before the end: no file was written or changed\n"
    );
    assert_eq!(names(), ["traffic.other.parquet", "traffic.parquet"]);
    assert!(
        std::fs::read(&parquet).unwrap() == before,
        "the stopped export changed {}",
        parquet.display()
    );

    // A second Ctrl-C ends it at once, while it still waits for input.
    let (mut child, stdin) = half_way();
    for _ in 0..2 {
        crate::support::ctrl_c(&child.0);
        std::thread::sleep(Duration::from_millis(100));
    }
    let ended = crate::support::within(Duration::from_secs(10), || {
        child.0.try_wait().unwrap().is_some()
    });
    assert!(ended, "a second Ctrl-C did not end it");
    let status = child.0.wait().unwrap();
    drop(stdin);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGINT)
    );
    assert!(std::fs::read(&parquet).unwrap() == before);

    // Through a symbolic link: the same rows land in its target.
    let target = dir.join("target.parquet");
    let link = dir.join("link.parquet");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    crate::support::run_ok(
        crate::support::haplog()
            .args(EXPORT_QUIET_UTC)
            .args(["--traffic-only", "--parquet"])
            .arg(&link)
            .arg(log),
    );
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    assert!(std::fs::read(&target).unwrap() == before);

    // A log of traffic alone: the earlier other file does not stay
    // beside the new traffic file as if it were its.
    let traffic_only = dir.join("traffic-only.log");
    let lines: Vec<&str> = std::str::from_utf8(&text)
        .unwrap()
        .lines()
        .filter(|l| l.contains("HTTP/1.1\""))
        .collect();
    std::fs::write(&traffic_only, lines.join("\n")).unwrap();
    let (_, summary) = export(&traffic_only, &dir);
    assert!(summary.contains("(no other lines)"), "{summary}");
    assert!(!dir.join("traffic.other.parquet").exists(), "{:?}", names());
}

/// `haplog live --export OUT LOG` with `flags`, a summary each 100 ms in
/// JSON; returned once it reads (it follows LOG from its end).
#[cfg(feature = "live")]
fn live_export(log: &Path, out: &Path, flags: &[&str]) -> crate::support::Piped {
    let mut live = crate::support::spawn_piped(
        crate::support::haplog()
            .args([
                "live", "--json", "-q", "--every", "100ms", "--window", "10s",
            ])
            .args(flags)
            .arg("--export")
            .arg(out)
            .arg(log),
    );
    let mut first = String::new();
    std::io::BufRead::read_line(&mut live.stdout, &mut first).unwrap();
    live
}

/// Ctrl-C to `live`: how it ended, and what it said on stderr.
#[cfg(feature = "live")]
fn interrupt(live: crate::support::Piped) -> (std::process::ExitStatus, String) {
    let crate::support::Piped {
        mut child, stderr, ..
    } = live;
    crate::support::ctrl_c(&child.0);
    let status = child.0.wait().unwrap();
    let mut notes = String::new();
    std::io::Read::read_to_string(&mut { stderr }, &mut notes).unwrap();
    (status, notes)
}

/// `haplog live --export`: lines written at 50,000 a second through two
/// logrotate rotations, then Ctrl-C. Every line is in exactly one closed
/// file (DuckDB reads them all), numbered across the rotations; files
/// rolled by size, the last one closed by Ctrl-C; none is left
/// half-written; and the rows are those `haplog export` writes for the
/// rotated files.
#[cfg(feature = "live")]
#[test]
fn live_export_rolls_whole_files_through_rotations() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use crate::live::{logrotate, total_lines_reach, writer};

    let dir = tempdir("live");
    let log = dir.join("app.log");
    let out = dir.join("out");
    std::fs::File::create(&log).unwrap();
    // Rolled by rows while the lines come; the last file is still open
    // (younger than 2 s) when Ctrl-C comes.
    let mut live = live_export(
        &log,
        &out,
        &["--export-every", "2s", "--export-rows", "20000"],
    );

    let flag = || Arc::new(AtomicBool::new(false));
    let (reopen, stop, pause) = (flag(), flag(), flag());
    let written = Arc::new(AtomicU64::new(0));
    let thread = writer(
        log.clone(),
        reopen.clone(),
        stop.clone(),
        written.clone(),
        pause,
    );
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(400));
        logrotate(&dir, &log, "create");
        std::thread::sleep(Duration::from_millis(50));
        reopen.store(true, Ordering::SeqCst);
    }
    std::thread::sleep(Duration::from_millis(400));
    stop.store(true, Ordering::SeqCst);
    thread.join().unwrap();
    let written = written.load(Ordering::SeqCst);
    assert_eq!(total_lines_reach(&mut live.stdout, written), written);

    // Ctrl-C: the open file is closed, and the exit code says how it ended.
    let (status, notes) = interrupt(live);
    assert_eq!(status.code(), Some(130), "{notes}");
    assert!(notes.is_empty(), "{notes}");

    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "_other")
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("part-") && n.ends_with(".parquet")),
        "a file left half-written: {names:?}"
    );
    assert!(
        names.len() as u64 > written / 20_000,
        "files of 20,000 rows: {names:?}"
    );

    // `haplog export` of the rotated files and the log: the same rows
    // (but for `file` and `line`, which name the files one by one).
    let exported = dir.join("all.parquet");
    crate::support::run_ok(
        crate::support::haplog()
            .args(["export", "-q", "--traffic-only", "--parquet"])
            .arg(&exported)
            .args(["app.log.2", "app.log.1", "app.log"].map(|f| dir.join(f))),
    );
    let script = format!(
        r#"
import duckdb, json
live = "read_parquet('{out}/*.parquet', filename = true)"
rows = duckdb.sql(f"""
    select count(*), count(distinct path), count(distinct line), min(line), max(line),
           count(*) filter (where status = 200 and server = 's1'),
           count(distinct filename)
    from {{live}}
""").fetchall()[0]
live = "read_parquet('{out}/*.parquet')"
exported = "read_parquet('{exported}')"
def missing(a, b):
    return duckdb.sql(f"""select count(*) from (select * exclude (file, line) from {{a}}
                          except all select * exclude (file, line) from {{b}})""").fetchall()[0][0]
print(json.dumps(list(rows) + [missing(live, exported), missing(exported, live)]))
"#,
        out = out.display(),
        exported = exported.display()
    );
    let counts = crate::support::json_of(Command::new(python()).args(["-c", &script]));
    let n = written as i64;
    assert_eq!(
        counts,
        serde_json::json!([n, n, n, 1, n, n, names.len(), 0, 0]),
        "{written} lines written"
    );
}

/// A write error stops `live --export` with one line on stderr, and the
/// view goes on: here the export's directory is taken away under it.
#[cfg(feature = "live")]
#[test]
fn live_export_stops_once_on_a_write_error_and_the_view_goes_on() {
    use std::io::Write;
    use std::time::Duration;

    use crate::live::{line, total_lines_reach};

    let dir = tempdir("live-gone");
    let log = dir.join("app.log");
    let out = dir.join("out");
    std::fs::File::create(&log).unwrap();
    let mut live = live_export(&log, &out, &["--export-rows", "1000"]);
    let append = |lines: std::ops::Range<u64>| {
        let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        let text: String = lines.map(line).collect();
        file.write_all(text.as_bytes()).unwrap();
    };
    append(1..1501);
    // The first file closes at its 1,000th row.
    let closed = crate::support::within(Duration::from_secs(10), || {
        std::fs::read_dir(&out).is_ok_and(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("part-"))
        })
    });
    assert!(closed, "no file closed in {}", out.display());
    std::fs::remove_dir_all(&out).unwrap();
    // The next file cannot be made; the view reads every line regardless.
    append(1501..4001);
    assert_eq!(total_lines_reach(&mut live.stdout, 4000), 4000);

    let (status, notes) = interrupt(live);
    assert_eq!(status.code(), Some(130), "{notes}");
    let lines: Vec<&str> = notes.lines().collect();
    assert_eq!(lines.len(), 1, "{notes}");
    assert!(
        lines[0].contains("--export stopped") && lines[0].contains(&*out.to_string_lossy()),
        "{notes}"
    );
    assert!(!out.exists(), "the export went on after its error");
}

/// Text that is not UTF-8 (a server name, a path, a capture) is written
/// with U+FFFD for the bad bytes, and text that is (`café`) as it is:
/// DuckDB, which checks UTF-8 as it reads, gives both back.
#[test]
fn strings_are_utf8_with_bad_bytes_replaced() {
    let dir = tempdir("utf8");
    let log = dir.join("u.log");
    let mut text = Vec::new();
    text.extend_from_slice(b"10.0.0.1:4000 [02/Dec/2026:10:00:00.000] fe be/s1 0/0/1/2/3 200 100 - - ---- 1/1/0/0/0 0/0 {caf\xc3\xa9|x} {\xff} \"GET /caf\xc3\xa9?q=\xc3\xa9 HTTP/1.1\"\n");
    text.extend_from_slice(b"10.0.0.2:4000 [02/Dec/2026:10:00:01.000] fe be/s\xfe 0/0/1/2/3 503 100 - - SC-- 1/1/0/0/0 0/0 {a|} {} \"GET /x\xff HTTP/1.1\"\n");
    std::fs::write(&log, text).unwrap();
    let (parquet, _) = export(&log, &dir);
    let script = format!(
        r#"
import duckdb, json
rows = duckdb.sql("""select server, path, query, captured_request_headers,
                            captured_response_headers, request
                     from read_parquet('{}') order by line""").fetchall()
print(json.dumps([list(r) for r in rows]))
"#,
        parquet.display()
    );
    let rows = crate::support::json_of(Command::new(python()).args(["-c", &script]));
    assert_eq!(
        rows,
        serde_json::json!([
            [
                "s1",
                "/café",
                "q=é",
                ["café", "x"],
                ["\u{FFFD}"],
                "GET /café?q=é HTTP/1.1"
            ],
            [
                "s\u{FFFD}",
                "/x\u{FFFD}",
                null,
                ["a", null],
                [null],
                "GET /x\u{FFFD} HTTP/1.1"
            ]
        ])
    );
}
