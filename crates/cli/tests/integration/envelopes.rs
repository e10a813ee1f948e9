//! Real HAProxy logs wrapped in the envelopes of journald, Docker and
//! Kubernetes read exactly as the plain files: the same records, the same
//! report, whatever the chunking and whether from a file or a pipe.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use serde_json::{json, Value};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real")
}

fn haplog(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    let mut command = crate::support::haplog();
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    child.wait_with_output().unwrap()
}

/// How a line is wrapped; `split` cuts lines longer than that into parts
/// (as the runtimes do past their 16 KiB buffers).
#[derive(Clone, Copy, Debug)]
enum Wrap {
    Journal,
    Docker { split: usize },
    Cri { split: usize },
}

fn wrap(text: &str, how: Wrap) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let time = format!("2026-11-24T15:54:{:02}.{:09}Z", i % 60, i);
        match how {
            Wrap::Journal => {
                // journald writes a message that is not UTF-8 as bytes;
                // write every 7th so, the rest as strings.
                let message = if i % 7 == 3 {
                    json!(line.as_bytes())
                } else {
                    json!(line)
                };
                let entry = json!({
                    "_HOSTNAME": "vm",
                    "__REALTIME_TIMESTAMP": format!("{}", 1_795_535_641_000_000u64 + i as u64),
                    "MESSAGE": message,
                    "_PID": "9228",
                    "SYSLOG_IDENTIFIER": "haproxy",
                });
                out.extend_from_slice(entry.to_string().as_bytes());
            }
            Wrap::Docker { split } => {
                let parts = pieces(line, split);
                for (n, part) in parts.iter().enumerate() {
                    let log = if n + 1 == parts.len() {
                        format!("{part}\n")
                    } else {
                        part.to_string()
                    };
                    // Docker's own key order.
                    let entry = format!(
                        "{{\"log\":{},\"stream\":\"stdout\",\"time\":\"{time}\"}}",
                        serde_json::to_string(&log).unwrap()
                    );
                    out.extend_from_slice(entry.as_bytes());
                    if n + 1 < parts.len() {
                        out.push(b'\n');
                    }
                }
            }
            Wrap::Cri { split } => {
                let parts = pieces(line, split);
                for (n, part) in parts.iter().enumerate() {
                    let tag = if n + 1 == parts.len() { "F" } else { "P" };
                    out.extend_from_slice(format!("{time} stdout {tag} {part}").as_bytes());
                    if n + 1 < parts.len() {
                        out.push(b'\n');
                    }
                }
            }
        }
        out.push(b'\n');
    }
    out
}

/// `line` in parts of `size` bytes (whole characters).
fn pieces(line: &str, size: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = line;
    while rest.len() > size {
        let mut cut = size;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        parts.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    parts.push(rest);
    parts
}

/// The records of `haplog cat`, without what the envelope adds or moves:
/// the file, line numbers, and the envelope's own keys.
fn records(out: &Output, drop_header: bool) -> Vec<Value> {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            for key in ["file", "line", "envelope", "stream"] {
                o.remove(key);
            }
            if drop_header {
                for key in ["time", "host", "tag", "pid"] {
                    o.remove(key);
                }
            }
            v
        })
        .collect()
}

fn temp(name: &str, data: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("haplog-envelopes-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    fs::write(&path, data).unwrap();
    path
}

#[test]
fn wrapped_logs_give_the_plain_files_records() {
    // raw.log has no header (the journal keeps none in MESSAGE either);
    // httplog.log and tcplog.log keep their syslog header inside the
    // container envelopes; the long-URI line is split into parts.
    let cases = [
        ("raw.log", Wrap::Journal, true),
        ("httplog.log", Wrap::Docker { split: 300 }, false),
        ("tcplog.log", Wrap::Docker { split: 40 }, false),
        ("httplog.log", Wrap::Cri { split: 250 }, false),
        ("json-raw.log", Wrap::Cri { split: 100 }, true),
        ("stderr.log", Wrap::Cri { split: 10_000 }, true),
    ];
    for (log, how, drop_header) in cases {
        let plain_path = corpus().join(log);
        let text = fs::read_to_string(&plain_path).unwrap();
        let plain = records(
            &haplog(&["cat", "-q", plain_path.to_str().unwrap()], None, &[]),
            drop_header,
        );
        let wrapped = wrap(&text, how);
        let path = temp(&format!("{log}.{how:?}"), &wrapped);
        let file = path.to_str().unwrap();
        for (threads, chunk) in [("1", "1000000"), ("2", "700"), ("2", "1")] {
            let env = [("HAPLOG_THREADS", threads), ("HAPLOG_CHUNK_BYTES", chunk)];
            let from_file = records(&haplog(&["cat", "-q", file], None, &env), drop_header);
            assert_eq!(from_file.len(), plain.len(), "{log} {how:?} {env:?}");
            for (a, b) in from_file.iter().zip(&plain) {
                assert_eq!(a, b, "{log} {how:?} {env:?}");
            }
            let piped = records(&haplog(&["cat", "-q"], Some(&wrapped), &env), drop_header);
            assert!(piped == plain, "{log} {how:?} {env:?} through a pipe");
        }
        // Every entry is counted: the parts of split lines as `partial`.
        let out = haplog(&["cat", "--count", "-q", file], None, &[]);
        let counts = String::from_utf8(out.stdout).unwrap();
        let entries = wrapped.iter().filter(|&&b| b == b'\n').count();
        let parts = entries - text.lines().count();
        assert!(
            counts.contains(&format!("\npartial {parts}\n")),
            "{log} {how:?}: {counts}"
        );
        assert!(
            counts.ends_with(&format!("total {entries}\n")),
            "{log} {how:?}: {counts}"
        );
    }
}

#[test]
fn the_journal_sample_reads_as_its_messages() {
    let sample = corpus().join("journal-json-sample.log");
    let text = fs::read_to_string(&sample).unwrap();
    let messages: String = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            format!("{}\n", v["MESSAGE"].as_str().unwrap())
        })
        .collect();
    let plain = temp("journal-messages.log", messages.as_bytes());
    let wrapped = haplog(&["cat", "-q", sample.to_str().unwrap()], None, &[]);
    let bare = haplog(&["cat", "-q", plain.to_str().unwrap()], None, &[]);
    let wrapped_records = records(&wrapped, true);
    assert_eq!(wrapped_records, records(&bare, true));
    let traffic = wrapped_records
        .iter()
        .filter(|r| r["kind"] == "traffic")
        .count();
    assert_eq!(traffic, 37);
    // The envelope's time, host, tag and pid stand in for a header.
    let first: Value = serde_json::from_str(
        String::from_utf8_lossy(&wrapped.stdout)
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["envelope"], "journal-json");
    assert_eq!(first["time"], "1795535641.290718");
    assert_eq!(first["host"], "vm");
    assert_eq!(first["tag"], "haproxy");
    assert_eq!(first["pid"], 9228);
}

#[test]
fn wrapped_logs_give_the_plain_files_report() {
    for (log, how) in [
        ("httplog.log", Wrap::Docker { split: 100_000 }),
        ("httplog.log", Wrap::Cri { split: 100_000 }),
        ("raw.log", Wrap::Journal),
    ] {
        let plain = corpus().join(log);
        let text = fs::read_to_string(&plain).unwrap();
        let path = temp(&format!("report-{log}.{how:?}"), &wrap(&text, how));
        let a = haplog(&["report", "--json", plain.to_str().unwrap()], None, &[]);
        let b = haplog(&["report", "--json", path.to_str().unwrap()], None, &[]);
        assert_eq!(a.status.code(), Some(0));
        assert_eq!(b.status.code(), Some(0));
        let a: Value = serde_json::from_slice(&a.stdout).unwrap();
        let b: Value = serde_json::from_slice(&b.stdout).unwrap();
        assert!(a == b, "{log} {how:?}: the reports differ");
    }
}

#[test]
fn the_envelope_can_be_forced_or_refused() {
    let text = fs::read_to_string(corpus().join("raw.log")).unwrap();
    let path = temp("forced.cri", &wrap(&text, Wrap::Cri { split: 100_000 }));
    let file = path.to_str().unwrap();
    let count = |args: &[&str]| {
        let out = haplog(args, None, &[]);
        String::from_utf8(out.stdout).unwrap()
    };
    let plain = count(&[
        "cat",
        "--count",
        "-q",
        corpus().join("raw.log").to_str().unwrap(),
    ]);
    assert!(!plain.starts_with("traffic 0\n"));
    assert_eq!(
        count(&["cat", "--count", "-q", "--envelope", "cri", file]),
        plain
    );
    let none = count(&["cat", "--count", "-q", "--envelope", "none", file]);
    assert!(none.starts_with("traffic 0\n"), "{none}");
    let out = haplog(&["cat", "--envelope", "bogus", file], None, &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("bogus") && stderr.contains("journal-json"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
