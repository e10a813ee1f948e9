//! Log bytes are written by whoever sends requests: on a terminal they
//! show as text and never drive it; in Markdown they render as text; in
//! CSV they are not formulas to a spreadsheet (unless `--csv-raw`).

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

/// Traffic lines carrying an OSC title change, a screen clear and a C1
/// CSI, a spreadsheet formula and an HTML tag; and an unparsed line that
/// paints the terminal red.
const HOSTILE: &[u8] = b"10.0.0.1:5000 [24/Nov/2026:15:54:02.757] fe be/s1 0/0/1/2/3 200 10 - - ---- 1/1/0/0/0 0/0 \"GET /\x1b]0;pwned\x07\x1b[2J\xc2\x9b31m HTTP/1.1\"
10.0.0.2:5001 [24/Nov/2026:15:54:03.757] fe be/s1 0/0/1/2/3 200 10 - - ---- 1/1/0/0/0 0/0 \"GET =cmd|'/C calc'!A0 HTTP/1.1\"
10.0.0.3:5002 [24/Nov/2026:15:54:04.757] fe be/s1 0/0/1/2/3 200 10 - - ---- 1/1/0/0/0 0/0 \"GET /<script>alert(1)</script>?[x](javascript:y) HTTP/1.1\"
\x1b[31mnot a log line\x1b[0m
";

fn hostile_log() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("escapes");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hostile.log");
    fs::write(&path, HOSTILE).unwrap();
    path
}

fn haplog(args: &[&str]) -> Output {
    let log = hostile_log();
    let out = crate::support::haplog()
        .args(args)
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs haplog with its stdout on a pseudo-terminal (util-linux `script`).
fn on_a_terminal(args: &str) -> Vec<u8> {
    let command = format!(
        "{} {args} {} 2>/dev/null",
        crate::support::HAPLOG,
        hostile_log().display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .unwrap();
    out.stdout
}

/// No ESC, BEL or C1 control reaches the screen.
fn assert_inert(what: &str, out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    assert!(!out.contains(&0x1b), "{what}: raw ESC in {text}");
    assert!(!out.contains(&0x07), "{what}: raw BEL in {text}");
    assert!(!text.contains('\u{9b}'), "{what}: raw C1 CSI in {text}");
}

#[test]
fn report_text_and_markdown_show_controls_as_text() {
    let out = haplog(&["report", "--section", "urls,slow,overview"]);
    assert_inert("report", &out.stdout);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m"),
        "{text}"
    );
    assert!(text.contains("\\x1b[31mnot a log line"), "{text}");
    // Markdown escapes the backslash and the brackets, so the page shows
    // the same characters.
    let out = haplog(&["report", "--markdown"]);
    assert_inert("report --markdown", &out.stdout);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\\\\x1b\\]0;pwned\\\\x07"), "{text}");
    let md = haplog(&["report", "--markdown", "--section", "urls"]);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains("/&lt;script>alert(1)&lt;/script>"), "{md}");
    assert!(!md.contains("<script>"), "{md}");
}

#[test]
fn cat_on_a_terminal_is_inert_and_its_summary_too() {
    let tty = on_a_terminal("cat --csv");
    assert_inert("cat --csv on a terminal", &tty);
    assert!(String::from_utf8_lossy(&tty).contains("\\x1b]0;pwned"));
    // NDJSON escapes controls as JSON does, on a terminal or not.
    assert_inert("cat on a terminal", &on_a_terminal("cat"));
    // The unparsed line shown on stderr.
    let out = haplog(&["cat", "--count"]);
    assert_inert("cat's summary", &out.stderr);
    assert!(String::from_utf8_lossy(&out.stderr).contains("\\x1b[31mnot a log line"));
    // Into a file or a pipe, CSV keeps the bytes as logged.
    let piped = haplog(&["cat", "--csv"]);
    assert!(piped.stdout.windows(3).any(|w| w == b"\x1b]0"));
}

#[test]
fn csv_cells_are_not_formulas_unless_raw() {
    for args in [
        &["report", "--csv", "--section", "urls"][..],
        &["cat", "--csv", "--kind", "traffic"],
    ] {
        let guarded = String::from_utf8(haplog(args).stdout).unwrap();
        assert!(
            guarded.contains("'=cmd|'/C calc'!A0,"),
            "{args:?}: {guarded}"
        );
        // Numbers and termination states stay as they are.
        assert!(
            !guarded.contains("'-") && !guarded.contains("'2"),
            "{guarded}"
        );
        let raw = String::from_utf8(haplog(&[args, &["--csv-raw"]].concat()).stdout).unwrap();
        assert!(raw.contains("=cmd|'/C calc'!A0,"), "{args:?}: {raw}");
        assert!(!raw.contains("'=cmd"), "{args:?}: {raw}");
    }
}
