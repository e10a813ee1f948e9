//! `haplog cat` on the logs a real HAProxy wrote: records, summaries,
//! options, and snapshots of sampled records from every log.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real")
}

fn logs() -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    assert_eq!(logs.len(), 30);
    logs
}

fn cat(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = crate::support::haplog();
    command.arg("cat").args(args).current_dir(corpus());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn name(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}

#[test]
fn every_record_is_json_and_threads_do_not_change_the_output() {
    for log in logs() {
        let file = name(&log);
        let one = cat(&[file], &[("HAPLOG_THREADS", "1")]);
        assert_eq!(one.status.code(), Some(0), "{file}");
        let two = cat(
            &[file],
            &[("HAPLOG_THREADS", "2"), ("HAPLOG_CHUNK_BYTES", "700")],
        );
        if one.stdout != two.stdout {
            let a = String::from_utf8_lossy(&one.stdout);
            let b = String::from_utf8_lossy(&two.stdout);
            let diff: Vec<_> = a
                .lines()
                .zip(b.lines())
                .filter(|(x, y)| x != y)
                .take(2)
                .collect();
            panic!("{file}: 1 and 2 threads differ: {diff:#?}");
        }
        assert_eq!(
            String::from_utf8_lossy(&one.stderr),
            String::from_utf8_lossy(&two.stderr),
            "{file}"
        );
        let text = String::from_utf8(one.stdout).unwrap();
        let lines = fs::read(&log).unwrap();
        let non_blank = lines
            .split(|&b| b == b'\n')
            .filter(|l| !l.iter().all(|&b| b == b' '))
            .count();
        assert_eq!(
            text.lines().count(),
            non_blank,
            "{file}: one record per line"
        );
        for (i, line) in text.lines().enumerate() {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{file}:{i}: {e}"));
            assert_eq!(v["file"], file);
            assert_ne!(v["kind"], "unparsed", "{file}: {line}");
        }
        let stderr = String::from_utf8(one.stderr).unwrap();
        assert!(
            stderr.starts_with(&format!("haplog cat: {non_blank} lines: ")),
            "{stderr}"
        );
    }
}

#[test]
fn csv_rows_have_every_column() {
    let out = cat(&["--csv", "-q", "httpslog.log", "tcplog.log"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "-q prints no summary");
    let text = String::from_utf8(out.stdout).unwrap();
    let columns = |row: &str| {
        let mut quoted = false;
        row.chars()
            .filter(|&c| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == ',' && !quoted
            })
            .count()
            + 1
    };
    let mut rows = text.lines();
    let header = rows.next().unwrap();
    assert!(header.starts_with("file,line,kind,header,"));
    let width = columns(header);
    let mut files = BTreeSet::new();
    for row in rows {
        assert_eq!(columns(row), width, "{row}");
        files.insert(row.split(',').next().unwrap().to_string());
    }
    assert_eq!(files.len(), 2);
}

#[test]
fn kinds_filter_and_custom_formats() {
    let out = cat(&["--kind", "traffic", "-q", "custom.log"], &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 381);
    assert!(text.lines().all(|l| l.contains("\"kind\":\"traffic\"")));
    // Without the config, the appended fields are `rest`; with it, named.
    assert!(text.contains("\"rest\":"));
    let out = cat(
        &[
            "--kind",
            "traffic",
            "-q",
            "--haproxy-config",
            "cfg/custom.cfg",
            "custom.log",
        ],
        &[],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["format"], "custom");
    assert!(first["unique_id"].is_string(), "{first}");
    assert!(first["var(txn.ua)"].is_string(), "{first}");
    assert!(first.get("rest").is_none());
}

#[test]
fn count_prints_the_kinds_only() {
    let out = cat(&["--count", "-q", "httpslog.log"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("traffic 101\nerror 10\n"), "{text}");
    assert!(text.ends_with("truncated 0\ntotal 130\n"), "{text}");
}

/// The unparsed lines shown carry their line numbers, counted in file
/// order whichever thread read them, with or without records printed.
#[test]
fn unparsed_lines_are_shown_with_their_numbers() {
    let good = fs::read_to_string(corpus().join("httplog.log")).unwrap();
    let good: Vec<&str> = good.lines().collect();
    let mut text = String::new();
    let mut junk = Vec::new();
    for n in 1..=400usize {
        if n % 37 == 0 {
            text.push_str(&format!("junk line {n}\n"));
            junk.push(n);
        } else {
            text.push_str(good[n % good.len()]);
            text.push('\n');
        }
    }
    let path = std::env::temp_dir().join(format!("haplog-unparsed-{}.log", std::process::id()));
    fs::write(&path, text).unwrap();
    let file = path.to_str().unwrap();
    let expected: Vec<String> = junk
        .iter()
        .take(5)
        .map(|n| format!("  unparsed {file}:{n}: junk line {n}"))
        .collect();
    for args in [&["--count", file][..], &[file]] {
        for threads in ["1", "2"] {
            let out = cat(
                args,
                &[("HAPLOG_THREADS", threads), ("HAPLOG_CHUNK_BYTES", "900")],
            );
            assert_eq!(out.status.code(), Some(0));
            let stderr = String::from_utf8(out.stderr).unwrap();
            let shown: Vec<&str> = stderr
                .lines()
                .filter(|l| l.starts_with("  unparsed "))
                .collect();
            assert_eq!(shown, expected, "{args:?} on {threads} threads");
            assert!(
                stderr.contains(&format!("unparsed {}", junk.len())),
                "{stderr}"
            );
        }
    }
    let _ = fs::remove_file(&path);
}

#[test]
fn bad_arguments_are_one_line_errors() {
    for (args, needle) in [
        (&["--log-format", "%ci %{+Q"][..], "--log-format"),
        (&["--haproxy-config", "nope.cfg"], "nope.cfg"),
        (&["missing.log"], "missing.log"),
        (&["--header", "bogus"], "bogus"),
        (&["--threads", "0"], "--threads"),
    ] {
        let out = cat(args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

/// For each log: the first record of every kind and format, and every
/// 60th traffic record, exactly as `haplog cat` prints them.
#[test]
fn sampled_records_of_every_log() {
    for log in logs() {
        let file = name(&log);
        let out = cat(&["-q", file], &[]);
        let text = String::from_utf8(out.stdout).unwrap();
        let mut seen = BTreeSet::new();
        let mut traffic = 0;
        let mut sample = String::new();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let key = format!("{}/{}/{}", v["kind"], v["format"], v["truncated"]);
            let is_traffic = v["kind"] == "traffic";
            if is_traffic {
                traffic += 1;
            }
            if seen.insert(key) || (is_traffic && traffic % 60 == 0) {
                sample.push_str(&serde_json::to_string_pretty(&v).unwrap());
                sample.push('\n');
            }
        }
        insta::assert_snapshot!(file.replace('.', "_"), sample);
    }
}

/// Connection errors and `Connect from` lines that a real HAProxy wrote
/// come out split into the fields HAProxy documents, each checked against
/// the raw line read here by its own split.
#[test]
fn error_and_connect_lines_have_their_fields() {
    let (mut checked, mut expected) = (0, 0);
    for file in ["httpslog.log", "tcplog.log", "connect.log"] {
        let raw = fs::read_to_string(corpus().join(file)).unwrap();
        let raw: Vec<&str> = raw.lines().collect();
        expected += raw
            .iter()
            .filter(|l| l.contains(": Connect from ") || l.contains("SSL handshake"))
            .count();
        let out = cat(&["-q", "--kind", "error,connect", file], &[]);
        assert_eq!(out.status.code(), Some(0));
        for record in String::from_utf8(out.stdout).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(record).unwrap();
            let line = raw[v["line"].as_u64().unwrap() as usize - 1];
            let message = line.split_once("]: ").unwrap().1;
            if v["kind"] == "connect" {
                // Connect from <ip>:<port> to <ip>:<port> (<fe>/<mode>)
                let words: Vec<&str> = message.split(' ').collect();
                let (ip, port) = words[2].rsplit_once(':').unwrap();
                let (dip, dport) = words[4].rsplit_once(':').unwrap();
                let (fe, mode) = words[5].trim_matches(['(', ')']).split_once('/').unwrap();
                assert_eq!(v["format"], "connect", "{record}");
                assert_eq!(v["client_ip"], ip, "{record}");
                assert_eq!(v["client_port"], port.parse::<u64>().unwrap());
                assert_eq!(v["frontend_ip"], dip, "{record}");
                assert_eq!(v["frontend_port"], dport.parse::<u64>().unwrap());
                assert_eq!(v["frontend"], fe, "{record}");
                assert_eq!(v["mode"], mode, "{record}");
            } else if v["format"] == "conn-error" {
                // <ip>:<port> [<date>] <fe>/<bind>: <text>
                let (address, rest) = message.split_once(" [").unwrap();
                let (ip, port) = address.rsplit_once(':').unwrap();
                let (date, rest) = rest.split_once("] ").unwrap();
                let (fe_bind, text) = rest.split_once(": ").unwrap();
                let (fe, bind) = fe_bind.split_once('/').unwrap();
                assert_eq!(v["client_ip"], ip, "{record}");
                assert_eq!(v["client_port"], port.parse::<u64>().unwrap());
                assert_eq!(v["accept_date"], date, "{record}");
                assert_eq!(v["frontend"], fe, "{record}");
                assert_eq!(v["bind"], bind, "{record}");
                assert_eq!(v["message"], text, "{record}");
                assert!(text.contains("SSL handshake"), "{record}");
            } else {
                // HAProxy 3's error-log-format: fields of its own.
                assert_eq!(v["format"], "error-tls", "{record}");
            }
            if v["format"] != "error-tls" {
                checked += 1;
            }
        }
    }
    assert_eq!(checked, expected);
    assert!(checked > 20, "{checked} records checked");
}
