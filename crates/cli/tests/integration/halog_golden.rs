//! Every case of the halog 2.6 golden corpus, byte for byte (stdout, stderr,
//! exit code), through each way of running haplog as halog, on one thread
//! and on two threads with tiny chunks.
//!
//! The goldens in `tests/data/halog-cases` were produced by the real
//! `/usr/sbin/halog` (Debian haproxy 2.6.12) as
//! `TZ=UTC LC_ALL=C halog ARGS < INPUT`; never edit them by hand.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Case {
    name: String,
    input: String,
    args: Vec<String>,
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/halog-cases")
}

fn cases() -> Vec<Case> {
    let dir = data_dir();
    let manifest = fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut cases = Vec::new();
    for row in manifest.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = row.split('\t').collect();
        assert_eq!(cols.len(), 5, "bad manifest row {row:?}");
        let (case, input, slug, args, code) = (cols[0], cols[1], cols[2], cols[3], cols[4]);
        cases.push(Case {
            name: format!("{case}.{slug}"),
            input: input.to_string(),
            // The manifest's args never need shell quoting beyond spaces.
            args: args.split_whitespace().map(str::to_string).collect(),
            code: code.parse().expect("exit code"),
            stdout: fs::read(dir.join(format!("{case}.{slug}.out"))).expect("golden stdout"),
            stderr: fs::read(dir.join(format!("{case}.{slug}.err"))).expect("golden stderr"),
        });
    }
    assert_eq!(cases.len(), 361, "the corpus has 361 cases");
    cases
}

/// A directory with a `halog` symlink to the haplog binary.
fn halog_link() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("haplog-golden-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let link = dir.join("halog");
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(crate::support::HAPLOG, &link).unwrap();
    link
}

fn run(
    program: &Path,
    prefix: &[&str],
    case: &Case,
    env: &[(&str, &str)],
) -> (i32, Vec<u8>, Vec<u8>) {
    let dir = data_dir();
    let input = fs::File::open(dir.join(&case.input)).expect("input log");
    let mut cmd = Command::new(program);
    cmd.args(prefix)
        .args(&case.args)
        .current_dir(&dir)
        .env_clear()
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .stdin(Stdio::from(input))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run haplog");
    (out.status.code().unwrap_or(-1), out.stdout, out.stderr)
}

fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().take(12).collect();
    lines.join("\n")
}

#[test]
fn every_golden_case_three_ways_and_threaded() {
    let haplog = PathBuf::from(crate::support::HAPLOG);
    let halog = halog_link();
    let mut failures = Vec::new();
    let mut runs = 0;
    for case in cases() {
        let first = case.args.first().map(String::as_str);
        // `haplog ARGS` means halog only when ARGS starts with a halog
        // option other than the help flags (those are haplog's own).
        let bare_applies = first.is_some_and(|a| a.starts_with('-') && a != "-h" && a != "--help");
        let mut ways: Vec<(&str, &Path, Vec<&str>)> = vec![
            ("halog symlink", &halog, vec![]),
            ("haplog halog", &haplog, vec!["halog"]),
        ];
        if bare_applies {
            ways.push(("haplog", &haplog, vec![]));
        }
        let threadings: [&[(&str, &str)]; 2] = [
            &[("HAPLOG_THREADS", "1")],
            &[("HAPLOG_THREADS", "2"), ("HAPLOG_CHUNK_BYTES", "64")],
        ];
        for (way, program, prefix) in &ways {
            for env in threadings {
                runs += 1;
                let (code, stdout, stderr) = run(program, prefix, &case, env);
                let mut what = Vec::new();
                if code != case.code {
                    what.push(format!("exit {code}, want {}", case.code));
                }
                if stdout != case.stdout {
                    what.push(format!(
                        "stdout differs:\n--- want\n{}\n--- got\n{}",
                        show(&case.stdout),
                        show(&stdout)
                    ));
                }
                if stderr != case.stderr {
                    what.push(format!(
                        "stderr differs:\n--- want\n{}\n--- got\n{}",
                        show(&case.stderr),
                        show(&stderr)
                    ));
                }
                if !what.is_empty() {
                    failures.push(format!(
                        "{} via {way} {env:?}: {}",
                        case.name,
                        what.join("\n")
                    ));
                }
            }
        }
    }
    let _ = fs::remove_dir_all(halog.parent().unwrap());
    assert!(
        failures.is_empty(),
        "{} of {runs} runs differ from halog 2.6:\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}
