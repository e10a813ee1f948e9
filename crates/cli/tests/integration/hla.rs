//! `haplog hla` against the golden outputs of haproxy_log_analysis 6.0
//! (testdata/hla/golden, made by the real tool; see testdata/hla/README.md).
//!
//! Every case of its INDEX.tsv runs with the same arguments (paths mapped
//! to the copies in testdata/hla). Compared: the RESULTS section, and the
//! lines `print` wrote. Cases where the tool has a bug this port fixes are
//! listed in FIXED with the reason (docs/hla.md lists them for users); the
//! 200k-line `big__` cases need a file not stored here.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Cases whose golden output shows a bug of the tool that haplog fixes
/// (or behaviour haplog does differently on purpose), and why.
const FIXED: &[(&str, &str)] = &[
    ("cli_help", "haplog's own --help (clap), not argparse's"),
    ("cli_noargs", "haplog's own help"),
    ("cli_log_only_shows_help", "haplog's own help"),
    ("cli_json_only_shows_help", "haplog's own help"),
    ("cli_stdin_dash", "-l - reads standard input"),
    (
        "cli_filter_ip_without_arg",
        "a filter without its value is an error, not a filter that matches nothing",
    ),
    (
        "cli_invalid_flag",
        "--invalid prints the unparsable lines, as documented",
    ),
    (
        "cli_json_and_invalid_flag",
        "--invalid prints the unparsable lines, as documented",
    ),
    (
        "cli_json_prints_invalid_lines",
        "--json does not print unparsable lines",
    ),
    (
        "cli_negate_without_filter",
        "-n without -f keeps every line (nothing to negate)",
    ),
    (
        "up_small__delta_only_is_ignored",
        "-d without -s starts at the first line's time, as documented",
    ),
    (
        "in_nonutf8__counter",
        "a non-UTF-8 byte does not abort the run (checked below)",
    ),
    (
        "in_bad_month__counter",
        "an unreadable accept date skips the line, not the run (checked below)",
    ),
    (
        "in_no_millis__counter",
        "an unreadable accept date skips the line, not the run (checked below)",
    ),
    (
        "in_dst__tz_berlin",
        "per-minute/hour buckets do not move with the local time zone's DST",
    ),
    (
        "in_queue__tz_berlin",
        "queue peaks do not depend on the local time zone",
    ),
];

/// Cases where one command's output shows a fixed bug; the other commands
/// of the case are still compared.
const FIXED_COMMANDS: &[(&str, &str, &str)] = &[
    (
        "syn2k__queue_peaks",
        "queue_peaks",
        "accept times under 100 ms sort and collide",
    ),
    (
        "syn2k__queue_peaks__json",
        "queue_peaks",
        "accept times under 100 ms sort and collide",
    ),
    (
        "syn2k__all",
        "queue_peaks",
        "accept times under 100 ms sort and collide",
    ),
    (
        "syn2k__all__json",
        "queue_peaks",
        "accept times under 100 ms sort and collide",
    ),
    (
        "syn2k__window",
        "queue_peaks",
        "accept times under 100 ms sort and collide",
    ),
    (
        "in_queue__all",
        "queue_peaks",
        "the designed bug series (checked below)",
    ),
    (
        "in_queue__all__json",
        "queue_peaks",
        "the designed bug series (checked below)",
    ),
    (
        "in_timers__all",
        "queue_peaks",
        "lines with the same accept time are all kept",
    ),
    (
        "in_timers__all__json",
        "queue_peaks",
        "lines with the same accept time are all kept",
    ),
];

/// A shell word list, with single quotes (all INDEX.tsv uses).
fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in command.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            _ => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(word);
    }
    out
}

/// The part of the tool's stdout after `RESULTS`, and what `print` (or
/// `--invalid`) wrote before its timing line.
fn split_golden(stdout: &str) -> (&str, &str) {
    let printed = stdout.split("\nIt took").next().unwrap_or("");
    let results = stdout.split_once("\nRESULTS\n\n").map_or("", |(_, r)| r);
    (printed, results)
}

/// The tool's `--json` top_ips/top_request_paths line lists every key (a
/// bug); haplog's lists the first ten of them.
fn is_top_ten_of(ours: &str, tools: &str) -> bool {
    let (Ok(ours), Ok(tools)) = (
        serde_json::from_str::<serde_json::Value>(ours),
        serde_json::from_str::<serde_json::Value>(tools),
    ) else {
        return false;
    };
    let (Some((k1, v1)), Some((k2, v2))) = (
        ours.as_object().and_then(|o| o.iter().next()),
        tools.as_object().and_then(|o| o.iter().next()),
    ) else {
        return false;
    };
    let (Some(mine), Some(theirs)) = (v1.as_array(), v2.as_array()) else {
        return false;
    };
    k1 == k2 && mine.len() == theirs.len().min(10) && mine[..] == theirs[..mine.len()]
}

#[test]
fn every_golden_case() {
    let golden = root().join("testdata/hla/golden");
    let index = fs::read_to_string(golden.join("INDEX.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut compared = 0;
    for row in index.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let (case, rc, command) = (cols[0], cols[1], cols[5]);
        if case.starts_with("big__") || FIXED.iter().any(|(c, _)| *c == case) {
            continue;
        }
        let (dir, command) = match command.strip_prefix("cd ") {
            Some(rest) => {
                let (dir, rest) = rest.split_once(" && ").expect("cd DIR && command");
                let dir = dir.replace("shared/corpus/hla-upstream-tests", "testdata/hla/upstream");
                (root().join(dir), rest)
            }
            None => (root(), command),
        };
        let argv = words(command);
        let at = argv
            .iter()
            .position(|w| w.ends_with("haproxy_log_analysis"))
            .expect("the tool's name");
        let args: Vec<String> = argv[at + 1..]
            .iter()
            .map(|a| {
                a.replace(
                    "shared/corpus/hla-upstream-tests/",
                    "testdata/hla/upstream/",
                )
                .replace("shared/corpus/hla-cases/inputs/", "testdata/hla/inputs/")
            })
            .collect();
        let out = crate::support::haplog()
            .arg("hla")
            .args(&args)
            .current_dir(&dir)
            .env("HAPLOG_THREADS", "2")
            .env("HAPLOG_CHUNK_BYTES", "4096")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let want = fs::read_to_string(golden.join(format!("{case}.out"))).unwrap_or_default();
        if rc != "0" {
            // The tool died with a traceback; haplog names the problem in
            // one line and exits 2.
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.code() != Some(2) || stderr.lines().count() != 1 || !out.stdout.is_empty()
            {
                failures.push(format!(
                    "{case}: expected a one-line error, exit 2; got {:?}\n{stderr}{stdout}",
                    out.status.code()
                ));
            }
            compared += 1;
            continue;
        }
        if out.status.code() != Some(0) {
            failures.push(format!(
                "{case}: exit {:?}: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        let (want_printed, want_results) = split_golden(&want);
        let json = args.iter().any(|a| a == "--json");
        let (printed, results) = if !want.contains("\nRESULTS\n") {
            // Help and listings.
            (String::new(), stdout.clone())
        } else if json {
            let commands = args.iter().position(|a| a == "-c").map_or(0, |i| {
                args[i + 1].split(',').filter(|c| *c != "print").count()
            });
            let lines: Vec<&str> = stdout.lines().collect();
            let cut = lines.len().saturating_sub(commands);
            let printed: String = lines[..cut].iter().map(|l| format!("{l}\n")).collect();
            let results: String = lines[cut..].iter().map(|l| format!("{l}\n")).collect();
            (printed, results)
        } else {
            let (p, r) = stdout.split_once("\nRESULTS\n\n").unwrap_or(("", &stdout));
            (p.to_string(), r.to_string())
        };
        let (want_printed, want_results) = if want.contains("\nRESULTS\n") {
            (want_printed.to_string(), want_results.to_string())
        } else {
            (String::new(), want.clone())
        };
        let commands: Vec<String> = args
            .iter()
            .position(|a| a == "-c")
            .map(|i| {
                args[i + 1]
                    .split(',')
                    .filter(|c| *c != "print")
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let blocks = |text: &str| -> Option<Vec<String>> {
            if commands.is_empty() {
                return Some(vec![text.to_string()]);
            }
            if json {
                let lines: Vec<String> = text.lines().map(str::to_string).collect();
                return (lines.len() == commands.len()).then_some(lines);
            }
            let mut rest = text;
            let mut out = Vec::new();
            for (i, c) in commands.iter().enumerate() {
                let title = c.to_ascii_uppercase();
                let head = format!("{title}\n{}\n", "=".repeat(title.len()));
                rest = rest.strip_prefix(&head)?;
                let end = match commands.get(i + 1) {
                    Some(next) => {
                        let t = next.to_ascii_uppercase();
                        rest.find(&format!("\n{t}\n{}\n", "=".repeat(t.len())))? + 1
                    }
                    None => rest.len(),
                };
                out.push(rest[..end].to_string());
                rest = &rest[end..];
            }
            Some(out)
        };
        match (blocks(&want_results), blocks(&results)) {
            (Some(want_blocks), Some(got_blocks)) => {
                for (i, (w, g)) in want_blocks.iter().zip(&got_blocks).enumerate() {
                    let command = commands.get(i).map_or("", String::as_str);
                    if FIXED_COMMANDS
                        .iter()
                        .any(|(c, cmd, _)| *c == case && *cmd == command)
                    {
                        continue;
                    }
                    let same =
                        w == g || (json && command.starts_with("top_") && is_top_ten_of(g, w));
                    if !same {
                        failures.push(format!(
                            "{case}: {command} differs\n--- tool\n{w}\n--- haplog\n{g}"
                        ));
                    }
                }
            }
            _ => failures.push(format!(
                "{case}: results differ\n--- tool\n{want_results}--- haplog\n{results}"
            )),
        }
        let compare_printed = !json || args.iter().any(|a| a.split(',').any(|c| c == "print"));
        if compare_printed && printed != want_printed {
            failures.push(format!(
                "{case}: printed lines differ\n--- tool\n{want_printed}--- haplog\n{printed}"
            ));
        }
        compared += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn hla(args: &[&str]) -> (Option<i32>, String, String) {
    let out = crate::support::haplog()
        .arg("hla")
        .args(args)
        .current_dir(root().join("testdata/hla"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// queue.log is designed around the tool's queue_peaks bugs; these are its
/// peaks as the command describes them, worked out by hand from the file:
/// lines in accept order (file order for equal times), a run of queued
/// lines ends at the next line without a queue, peaks above 1 reported,
/// every run reset (the 1-line run at 01.000 leaks nothing).
#[test]
fn queue_peaks_as_documented() {
    let (code, out, _) = hla(&["-l", "inputs/queue.log", "-c", "queue_peaks"]);
    assert_eq!(code, Some(0));
    let expected = "\nRESULTS\n\nQUEUE_PEAKS\n===========\n\
- peak: 19 - span: 4 - started: 2025-10-14T09:00:00.100000 - finished: 2025-10-14T09:00:00.600000
- peak: 5 - span: 1 - started: 2025-10-14T09:00:01.300000 - finished: 2025-10-14T09:00:01.400000
- peak: 9 - span: 2 - started: 2025-10-14T09:00:02.050000 - finished: 2025-10-14T09:00:02.450000
- peak: 8 - span: 1 - started: 2025-10-14T09:00:03.005000 - finished: 2025-10-14T09:00:03.500000
- peak: 6 - span: 1 - started: 2025-10-14T09:00:04.100000 - finished: 2025-10-14T09:00:04.100000
- peak: 3 - span: 2 - started: 2025-10-14T09:00:05 - finished: 2025-10-14T09:00:05.100000


";
    assert_eq!(out, expected);
}

/// Where the tool aborts the whole run (a non-UTF-8 byte, an accept date
/// strptime cannot read), haplog skips or repairs that one line and says
/// so on stderr.
#[test]
fn bad_lines_do_not_abort_the_run() {
    for (file, counted, note) in [
        ("inputs/nonutf8.log", 3, "1 not UTF-8"),
        (
            "inputs/bad_month.log",
            2,
            "1 with an unreadable accept date",
        ),
        (
            "inputs/no_millis.log",
            2,
            "1 with an unreadable accept date",
        ),
    ] {
        let (code, out, err) = hla(&["-l", file, "-c", "counter"]);
        assert_eq!(code, Some(0), "{file}");
        assert!(
            out.ends_with(&format!("COUNTER\n=======\n{counted}\n\n")),
            "{file}: {out}"
        );
        assert!(err.contains(note), "{file}: {err}");
    }
}

/// The fixed options: -n alone keeps everything, -d alone starts at the
/// first line, -l - reads stdin, a filter needs its value.
#[test]
fn fixed_options() {
    let (_, out, _) = hla(&["-l", "upstream/small.log", "-c", "counter", "-n"]);
    assert!(out.ends_with("COUNTER\n=======\n9\n\n"), "{out}");
    // small.log's first line is accepted 10/Dec/2013:10:01:04.205; a day
    // from there reaches the 11th's lines up to 10:01:04.205.
    let (_, out, _) = hla(&["-l", "upstream/small.log", "-c", "counter", "-d", "1d"]);
    let (_, want, _) = hla(&[
        "-l",
        "upstream/small.log",
        "-c",
        "counter",
        "-s",
        "10/Dec/2013:10:01:04",
        "-d",
        "86401s",
    ]);
    assert_eq!(out, want);
    let (code, _, err) = hla(&["-l", "upstream/small.log", "-c", "counter", "-f", "ip"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("ip[") && err.lines().count() == 1, "{err}");
    let out = crate::support::haplog()
        .args(["hla", "-l", "-", "-c", "counter"])
        .stdin(fs::File::open(root().join("testdata/hla/upstream/small.log")).unwrap())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("COUNTER\n=======\n9\n\n"));
}
