//! Bad input and a hostile environment: a file truncated while it is read,
//! an endless line, damaged compressed data, a full disk. Nothing may kill
//! haplog with a signal, lose lines it could read, or grow without bound.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("haplog-faults-{name}-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn spawn(args: &[&str], stdin: Stdio) -> Child {
    crate::support::haplog()
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Varied httplog lines (no two alike, so they do not compress to
/// nothing), `n` of them.
fn varied_log(n: usize) -> Vec<u8> {
    let base = fs::read_to_string(corpus().join("raw.log")).unwrap();
    let traffic: Vec<&str> = base.lines().filter(|l| l.contains("] fe_")).collect();
    let mut out = Vec::new();
    let mut x = 0x2545F4914F6CDD1Du64;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let line = traffic[i % traffic.len()];
        // A unique query on every line.
        let line = line.replacen("?sc=", &format!("?id={x:016x}&sc="), 1);
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Whether `pid` has `path` mapped (it is reading it).
fn maps(pid: u32, path: &Path) -> bool {
    fs::read_to_string(format!("/proc/{pid}/maps"))
        .is_ok_and(|m| m.contains(path.to_str().unwrap()))
}

/// logrotate's `copytruncate` cuts a live log to nothing while haplog reads
/// it: every command reports what it read, then one line naming the file,
/// and exits 2; none dies of SIGBUS.
#[test]
fn a_file_truncated_while_read_is_reported_not_a_signal_death() {
    let dir = temp_dir("truncate");
    let data = varied_log(400_000);
    let path = dir.join("live.log");
    let file = path.to_str().unwrap().to_string();
    let commands: [(&[&str], bool); 6] = [
        (&["cat", "--count", "-q", &file], false),
        (&["cat", "-q", &file], false),
        (&["report", "-q", &file], false),
        (&["report", "-q"], true),
        (&["-srv", &file], false),
        (&["hla", "-l", &file, "-c", "counter"], false),
    ];
    for (args, from_stdin) in commands {
        fs::write(&path, &data).unwrap();
        let stdin = if from_stdin {
            Stdio::from(fs::File::open(&path).unwrap())
        } else {
            Stdio::null()
        };
        let child = spawn(args, stdin);
        let pid = child.id();
        // Stop it once it has the file mapped, cut the file, let it go on.
        let start = Instant::now();
        while !maps(pid, &path) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{args:?} never mapped the file"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
        // SAFETY: kill() with a pid we spawned and still own.
        unsafe { libc::kill(pid as i32, libc::SIGSTOP) };
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        unsafe { libc::kill(pid as i32, libc::SIGCONT) };
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {:?} {stderr}",
            out.status
        );
        let said: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("truncated while being read"))
            .collect();
        assert_eq!(said.len(), 1, "{args:?}: {stderr}");
        assert!(
            said[0].contains("live.log") || from_stdin,
            "{args:?}: {stderr}"
        );
        if args[0] == "report" {
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("lines read"),
                "{args:?}: the report of what was read"
            );
        }
    }
    fs::remove_dir_all(&dir).unwrap();
}

/// The largest resident size of `child` while it runs for `run`, in KiB.
fn peak_rss_kib(child: &mut Child, run: Duration) -> u64 {
    let start = Instant::now();
    let mut peak = 0;
    while start.elapsed() < run {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let status = fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
        if let Some(kib) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kib);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    peak
}

/// An endless line (`/dev/zero`) is read in bounded memory, by every
/// command at once for 20 seconds; its lines are counted as overlong.
#[test]
fn an_endless_line_keeps_memory_bounded() {
    let mut children: Vec<(&str, Child)> = vec![
        (
            "cat --count",
            spawn(&["cat", "--count", "-q", "/dev/zero"], Stdio::null()),
        ),
        (
            "report",
            spawn(&["report", "-q", "/dev/zero"], Stdio::null()),
        ),
        (
            "report from stdin",
            spawn(
                &["report", "-q"],
                Stdio::from(fs::File::open("/dev/zero").unwrap()),
            ),
        ),
    ];
    let run = Duration::from_secs(20);
    let start = Instant::now();
    let mut peaks = vec![0u64; children.len()];
    while start.elapsed() < run {
        for (i, (_, child)) in children.iter_mut().enumerate() {
            peaks[i] = peaks[i].max(peak_rss_kib(child, Duration::from_millis(60)));
        }
    }
    for ((name, mut child), peak) in children.into_iter().zip(peaks) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "{name} ended on /dev/zero"
        );
        child.kill().unwrap();
        let _ = child.wait();
        assert!(peak > 0, "{name}: no memory reading");
        assert!(peak < 200 * 1024, "{name}: {peak} KiB resident");
    }
    // A long line that ends is counted as overlong, and the lines after it
    // are read.
    let mut text = b"x".repeat(3 << 20);
    text.push(b'\n');
    text.extend_from_slice(&fs::read(corpus().join("raw.log")).unwrap());
    let mut child = spawn(&["cat", "--count", "-q"], Stdio::piped());
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&text));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let counts = String::from_utf8(out.stdout).unwrap();
    assert!(counts.contains("\noverlong 1\n"), "{counts}");
    let plain = crate::support::haplog()
        .args([
            "cat",
            "--count",
            "-q",
            corpus().join("raw.log").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let plain = String::from_utf8(plain.stdout).unwrap();
    assert_eq!(
        counts.lines().next(),
        plain.lines().next(),
        "the traffic after the long line"
    );
}

fn total(out: &std::process::Output) -> u64 {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("total "))
        .unwrap()
        .parse()
        .unwrap()
}

/// A byte flipped in a `.zst` costs the damaged block only: a file named
/// on the command line yields every line the same bytes through a pipe
/// yield, and says it is damaged.
#[test]
fn a_damaged_zst_loses_no_line_a_pipe_reads() {
    let dir = temp_dir("zst");
    let data = varied_log(60_000);
    // With a checksum, as the zstd tool writes files: every flip is caught.
    let mut encoder = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    encoder.include_checksum(true).unwrap();
    encoder.write_all(&data).unwrap();
    let packed = encoder.finish().unwrap();
    let plain_lines = data.iter().filter(|&&b| b == b'\n').count() as u64;
    let path = dir.join("damaged.log.zst");
    let file = path.to_str().unwrap();
    let mut damaged_somewhere = false;
    for place in [0.15, 0.35, 0.5, 0.7, 0.9] {
        let mut bytes = packed.clone();
        let at = (bytes.len() as f64 * place) as usize;
        bytes[at] ^= 0x5a;
        fs::write(&path, &bytes).unwrap();
        let named = crate::support::haplog()
            .args(["cat", "--count", "-q", file])
            .output()
            .unwrap();
        let piped = crate::support::haplog()
            .args(["cat", "--count", "-q"])
            .stdin(Stdio::from(
                Command::new("cat")
                    .arg(file)
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
                    .stdout
                    .unwrap(),
            ))
            .output()
            .unwrap();
        assert_eq!(named.status.code(), Some(2), "flip at {place}");
        let stderr = String::from_utf8_lossy(&named.stderr);
        assert!(stderr.contains("corrupt zstd data"), "{stderr}");
        assert!(
            total(&named) >= total(&piped),
            "flip at {place}: {} named, {} piped",
            total(&named),
            total(&piped)
        );
        damaged_somewhere |= total(&named) < plain_lines;
        // halog's mode says so too, in one line, with exit 2.
        let halog = crate::support::haplog()
            .args(["-srv", file])
            .output()
            .unwrap();
        assert_eq!(halog.status.code(), Some(2), "halog mode, flip at {place}");
        let stderr = String::from_utf8_lossy(&halog.stderr);
        assert_eq!(
            stderr
                .lines()
                .filter(|l| l.contains("damaged.log.zst"))
                .count(),
            1,
            "{stderr}"
        );
    }
    assert!(
        damaged_somewhere,
        "no flip cost a line: the test proves nothing"
    );
    fs::remove_dir_all(&dir).unwrap();
}

/// `--help` and `--version` into a full disk say so and exit 2.
#[test]
fn help_into_a_full_disk_is_an_error() {
    for args in [
        &["--help"][..],
        &["--version"],
        &["report", "--help"],
        &["cat", "-h"],
    ] {
        let out = crate::support::haplog()
            .args(args)
            .stdout(
                fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            )
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains("No space left"), "{args:?}: {stderr}");
    }
}
