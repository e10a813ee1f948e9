//! Where halog mode reads from: named files, `.gz` and `.zst`, pipes, and
//! what happens when an input is missing, a directory, or damaged.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

fn sample() -> Vec<u8> {
    fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/haproxy.log"))
        .expect("samples/haproxy.log")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("haplog-inputs-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn haplog(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = crate::support::haplog()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run haplog");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The child may exit without reading everything.
        let _ = input.write_all(&stdin);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

const MODES: &[&[&str]] = &[&["-srv", "-H"], &["-st"], &["-uc", "-H"], &["-tc"], &["-c"]];

#[test]
fn named_plain_gzip_and_zstd_files_read_like_stdin() {
    let dir = scratch("formats");
    let text = sample();
    let plain = dir.join("a.log");
    fs::write(&plain, &text).unwrap();
    let gz = dir.join("a.log.gz");
    fs::write(&gz, gzip(&text)).unwrap();
    let zst = dir.join("a.log.zst");
    fs::write(&zst, zstd::encode_all(&text[..], 3).unwrap()).unwrap();
    for mode in MODES {
        let expected = haplog(mode, &text);
        assert_eq!(expected.status.code(), Some(0));
        for file in [&plain, &gz, &zst] {
            let mut args = mode.to_vec();
            args.push(file.to_str().unwrap());
            let got = haplog(&args, b"");
            assert_eq!(got.status.code(), Some(0), "{args:?}");
            assert_eq!(got.stdout, expected.stdout, "{args:?}");
            assert_eq!(got.stderr, expected.stderr, "{args:?}");
        }
        // Compressed data on a pipe is detected by its magic bytes.
        for packed in [gzip(&text), zstd::encode_all(&text[..], 3).unwrap()] {
            let got = haplog(mode, &packed);
            assert_eq!(got.stdout, expected.stdout, "{mode:?} on a compressed pipe");
        }
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn several_files_read_as_one_stream() {
    let dir = scratch("several");
    let text = sample();
    let cut = text.len() / 3;
    let cut = cut + text[cut..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let first = dir.join("first.log");
    fs::write(&first, &text[..cut]).unwrap();
    let second = dir.join("second.log.gz");
    fs::write(&second, gzip(&text[cut..])).unwrap();
    for mode in MODES {
        let expected = haplog(mode, &text);
        let mut args = mode.to_vec();
        args.extend([first.to_str().unwrap(), second.to_str().unwrap()]);
        let got = haplog(&args, b"");
        assert_eq!(got.stdout, expected.stdout, "{args:?}");
        // `-` is standard input, in its place among the files.
        let mut args = mode.to_vec();
        args.extend([first.to_str().unwrap(), "-"]);
        let got = haplog(&args, &gzip(&text[cut..]));
        assert_eq!(got.stdout, expected.stdout, "{args:?}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_file_or_a_directory_is_a_one_line_error_before_any_output() {
    let dir = scratch("missing");
    let present = dir.join("present.log");
    fs::write(&present, sample()).unwrap();
    let missing = dir.join("missing.log");
    for bad in [&missing, &dir] {
        let got = haplog(
            &[
                "-srv",
                "-H",
                present.to_str().unwrap(),
                bad.to_str().unwrap(),
            ],
            b"",
        );
        assert_eq!(got.status.code(), Some(2));
        assert!(got.stdout.is_empty(), "nothing printed before the error");
        let stderr = String::from_utf8(got.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!("haplog: {}: ", bad.display())),
            "{stderr}"
        );
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_truncated_gzip_reports_what_it_read_then_fails() {
    let dir = scratch("truncated");
    let text = sample();
    let packed = gzip(&text);
    let cut = dir.join("cut.log.gz");
    fs::write(&cut, &packed[..packed.len() / 2]).unwrap();
    for threads in ["1", "2"] {
        for (args, stdin) in [
            (
                vec!["-c", "--threads", threads, cut.to_str().unwrap()],
                Vec::new(),
            ),
            (
                vec!["-c", "--threads", threads],
                packed[..packed.len() / 2].to_vec(),
            ),
        ] {
            let got = haplog(&args, &stdin);
            assert_eq!(got.status.code(), Some(2), "{args:?}");
            let count: u64 = String::from_utf8(got.stdout.clone())
                .unwrap()
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("a count, got {:?}", got.stdout));
            let all = text.iter().filter(|&&b| b == b'\n').count() as u64;
            assert!(count > 0 && count < all, "{count} of {all} lines");
            let stderr = String::from_utf8(got.stderr).unwrap();
            assert!(
                stderr.contains("truncated or corrupt gzip data"),
                "{stderr}"
            );
        }
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_threads_value_is_a_usage_error() {
    for args in [
        &["-c", "--threads", "0"][..],
        &["-c", "--threads=x"],
        &["-c", "--threads"],
    ] {
        let got = haplog(args, b"");
        assert_eq!(got.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(got.stderr).unwrap();
        assert!(stderr.starts_with("haplog: --threads"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1);
    }
}

#[test]
fn a_closed_pipe_is_a_normal_exit() {
    let dir = scratch("pipe");
    let big = dir.join("big.log");
    let text = sample();
    let mut data = Vec::with_capacity(text.len() * 40);
    for _ in 0..40 {
        data.extend_from_slice(&text);
    }
    fs::write(&big, &data).unwrap();
    // `-H` with no output flag prints every matching line: far more than a
    // pipe buffer, so haplog is still writing when the reader goes away.
    let mut child = crate::support::haplog()
        .args(["-H", big.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut head = [0u8; 100];
    stdout.read_exact(&mut head).unwrap();
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(
        output.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&output.stderr)
    );
    fs::remove_dir_all(&dir).unwrap();
}
