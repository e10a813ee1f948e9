//! The line reader against the tool's own parser, line by line: for every
//! input of the golden corpus, `golden/fields/<input>.jsonl` holds what
//! `haproxy.line.Line` extracted (see testdata/hla/README.md).

use std::fs;
use std::path::{Path, PathBuf};

use haplog_hla::line::{strip, Line, Rejection};
use haplog_hla::{lines, text};
use serde_json::Value;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/hla")
}

fn inputs() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = ["inputs", "upstream"]
        .iter()
        .flat_map(|d| fs::read_dir(testdata().join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    all.sort();
    all
}

#[test]
fn every_line_reads_as_the_tool_reads_it() {
    let mut compared = 0;
    for input in inputs() {
        let stem = input.file_stem().unwrap().to_str().unwrap().to_string();
        let oracle = fs::read(
            testdata()
                .join("golden/fields")
                .join(format!("{stem}.jsonl")),
        )
        .unwrap_or_else(|e| panic!("{stem}: {e}"));
        let oracle: Vec<Value> = oracle
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(&String::from_utf8_lossy(l)).unwrap())
            .collect();
        let data = fs::read(&input).unwrap();
        let read: Vec<String> = lines(&data).map(|l| text(l).into_owned()).collect();
        assert_eq!(read.len(), oracle.len(), "{stem}: line count");
        for (line, want) in read.iter().zip(&oracle) {
            let n = &want["n"];
            let got = Line::parse(strip(line));
            match (&want["valid"], &got) {
                (Value::Bool(false), Err(Rejection::Shape)) => {}
                (Value::Null, Err(Rejection::AcceptDate)) => {}
                (Value::Bool(true), Ok(l)) => {
                    let s = |k: &str| want[k].as_str().map(str::to_string);
                    let lossy = stem == "nonutf8";
                    let check = |field: &str, got: Option<String>| {
                        if !lossy || got.as_deref().is_none_or(|g| !g.contains('\u{fffd}')) {
                            assert_eq!(got, s(field), "{stem}:{n} {field}");
                        }
                    };
                    check("client_ip", Some(l.client_ip.into()));
                    check("accept_date", Some(l.accept_date.to_string()));
                    check("frontend_name", Some(l.frontend.into()));
                    check("backend_name", Some(l.backend.into()));
                    check("server_name", Some(l.server.into()));
                    check("status_code", Some(l.status.into()));
                    check("bytes_read", Some(l.bytes_read.into()));
                    check("http_request_method", Some(l.method.into()));
                    check("http_request_path", Some(l.path.into()));
                    check("raw_http_request", Some(l.request.into()));
                    check("ip", Some(l.ip().into()));
                    let headers = s("captured_request_headers");
                    assert_eq!(l.request_headers.map(str::to_string), headers, "{stem}:{n}");
                    assert_eq!(want["time_wait_queues"].as_i64(), Some(l.tw), "{stem}:{n}");
                    assert_eq!(
                        want["time_wait_response"].as_i64(),
                        Some(l.tr),
                        "{stem}:{n}"
                    );
                    assert_eq!(
                        want["queue_backend"].as_i64(),
                        Some(l.queue_backend),
                        "{stem}:{n}"
                    );
                    assert_eq!(want["is_https"].as_bool(), Some(l.is_https()), "{stem}:{n}");
                    let noticed = want.get("message").is_some();
                    assert_eq!(
                        noticed,
                        !l.request_parsed && l.request != "<BADREQ>",
                        "{stem}:{n}"
                    );
                    compared += 1;
                }
                (w, g) => panic!("{stem}:{n}: tool says {w}, haplog {g:?}\n{line}"),
            }
        }
    }
    assert!(compared > 2000, "{compared}");
}

/// The plain-line reader gives the regex's answer: on every line of the
/// corpus and on each of them with one byte changed, inserted or removed.
#[test]
fn the_plain_reader_agrees_with_the_regexes() {
    let mut corpus = Vec::new();
    for input in inputs() {
        let data = fs::read(&input).unwrap();
        corpus.extend(lines(&data).map(|l| strip(&text(l)).to_string()));
    }
    let edits = b" /:[]{}\"-+0a.|,~";
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let plain = corpus.iter().filter(|l| Line::is_plain(strip(l))).count();
    assert!(
        plain * 10 > corpus.len() * 8,
        "{plain} of {} lines read plainly",
        corpus.len()
    );
    let mut checked = 0;
    for line in &corpus {
        let mut variants = vec![line.clone()];
        if line.is_ascii() && !line.is_empty() {
            for _ in 0..40 {
                let mut v = line.clone().into_bytes();
                let at = next() as usize % v.len();
                let byte = edits[next() as usize % edits.len()];
                match next() % 3 {
                    0 => v[at] = byte,
                    1 => v.insert(at, byte),
                    _ => {
                        v.remove(at);
                    }
                }
                variants.push(String::from_utf8(v).unwrap());
            }
        }
        for v in &variants {
            let v = strip(v);
            assert_eq!(Line::parse(v), Line::parse_by_regex(v), "{v}");
            checked += 1;
        }
    }
    assert!(checked > 50_000, "{checked}");
}
