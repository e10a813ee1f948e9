//! halog mode on logs written by a real HAProxy 2.6 and stored by real
//! collectors (rsyslog, journald, stdout): for each, the goldens made by
//! the real `/usr/sbin/halog -srv -H`, `-st` and `-tc`.
//!
//! Each golden holds the command, halog's stdout, and a last line
//! `# stderr: ...` with halog's stderr, its newlines turned into spaces.

use std::fs;
use std::path::Path;
use std::process::Stdio;

#[test]
fn real_logs_match_halog() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).expect("testdata/real") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(stem) = name.strip_suffix(".out") else {
            continue;
        };
        let golden = fs::read(&path).unwrap();
        let (command, rest) = split_line(&golden);
        let command = std::str::from_utf8(command).unwrap();
        let args_and_input = command.strip_prefix("# $ halog ").expect(command);
        let (args, input) = args_and_input.split_once(" < ").expect(command);
        let stderr_at = find_last_line(rest, b"# stderr: ").expect("a stderr line");
        let expected_stdout = &rest[..stderr_at];
        let expected_stderr = &rest[stderr_at + b"# stderr: ".len()..];
        let expected_stderr = expected_stderr
            .strip_suffix(b"\n")
            .unwrap_or(expected_stderr);
        for threads in ["1", "2"] {
            let output = crate::support::haplog()
                .args(args.split_whitespace())
                .env("HAPLOG_THREADS", threads)
                .env(
                    "HAPLOG_CHUNK_BYTES",
                    if threads == "2" { "512" } else { "4194304" },
                )
                .env("TZ", "UTC")
                .stdin(Stdio::from(fs::File::open(dir.join(input)).unwrap()))
                .output()
                .unwrap();
            let label = format!("{stem} ({args}, {threads} thread(s))");
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(expected_stdout),
                "{label}: stdout"
            );
            let flat: Vec<u8> = output
                .stderr
                .iter()
                .map(|&b| if b == b'\n' { b' ' } else { b })
                .collect();
            assert_eq!(
                String::from_utf8_lossy(&flat),
                String::from_utf8_lossy(expected_stderr),
                "{label}: stderr"
            );
            assert_eq!(output.status.code(), Some(0), "{label}");
        }
        checked += 1;
    }
    assert_eq!(checked, 90, "30 logs, three goldens each");
}

fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// The start of the last line that begins with `prefix`.
fn find_last_line(data: &[u8], prefix: &[u8]) -> Option<usize> {
    let mut found = None;
    let mut start = 0;
    while start < data.len() {
        if data[start..].starts_with(prefix) {
            found = Some(start);
        }
        match data[start..].iter().position(|&b| b == b'\n') {
            Some(i) => start += i + 1,
            None => break,
        }
    }
    found
}
