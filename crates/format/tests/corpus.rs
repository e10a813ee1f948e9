//! The format crate against the 30 logs a real HAProxy 2.6 wrote
//! (`testdata/real/`, see its README).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use haplog_format::{HeaderDetector, HeaderStyle};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real")
}

fn lines(name: &str) -> Vec<Vec<u8>> {
    let data = fs::read(corpus().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    data.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Each file's header style, as the spec's reference parser classifies it.
const STYLES: &[(&str, HeaderStyle)] = &[
    ("connect.log", HeaderStyle::BsdHostTag),
    ("custom.log", HeaderStyle::BsdHostTag),
    ("httplog-clf.log", HeaderStyle::BsdHostTag),
    ("httplog.log", HeaderStyle::BsdHostTag),
    ("httpslog.log", HeaderStyle::BsdHostTag),
    ("iso.log", HeaderStyle::Iso),
    ("journal-cat.log", HeaderStyle::None),
    ("journal-json-sample.log", HeaderStyle::None),
    ("journal-short-iso-precise.log", HeaderStyle::IsoHostTag),
    ("journal-short-iso.log", HeaderStyle::IsoHostTag),
    ("journal-short-precise.log", HeaderStyle::BsdHostTag),
    ("journal-short-unix.log", HeaderStyle::UnixHostTag),
    ("journal-short.log", HeaderStyle::BsdHostTag),
    ("json-raw.log", HeaderStyle::None),
    ("json.log", HeaderStyle::BsdHostTag),
    ("legacy16.log", HeaderStyle::BsdHostTag),
    ("local-wire.log", HeaderStyle::PriBsdTag),
    ("priority.log", HeaderStyle::Pri),
    ("raw.log", HeaderStyle::None),
    ("rfc3164.log", HeaderStyle::PriBsdHostTag),
    ("rfc5424.log", HeaderStyle::Rfc5424),
    ("rsyslog-fileformat-udp.log", HeaderStyle::IsoHostTag),
    ("rsyslog-fileformat-uxsock.log", HeaderStyle::IsoHostTag),
    ("rsyslog-protocol23.log", HeaderStyle::Rfc5424),
    ("short.log", HeaderStyle::Pri),
    ("stderr.log", HeaderStyle::Stderr),
    ("tcplog-clf31.log", HeaderStyle::BsdHostTag),
    ("tcplog-raw.log", HeaderStyle::None),
    ("tcplog.log", HeaderStyle::BsdHostTag),
    ("timed.log", HeaderStyle::PriIso),
];

#[test]
fn every_line_of_every_file_gets_the_files_header_style() {
    let on_disk = fs::read_dir(corpus())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "log")
        })
        .count();
    assert_eq!(on_disk, STYLES.len(), "a style for every corpus log");
    for &(name, style) in STYLES {
        let mut detector = HeaderDetector::new(None);
        let mut styles = BTreeMap::new();
        for line in lines(name) {
            let h = detector.header(&line);
            *styles.entry(h.style).or_insert(0) += 1;
            // What follows a header is a message, never more header.
            let message = h.message(&line);
            assert!(
                !message.starts_with(b" "),
                "{name}: {:?}",
                String::from_utf8_lossy(&line)
            );
        }
        assert_eq!(
            styles.keys().copied().collect::<Vec<_>>(),
            vec![style],
            "{name}: {styles:?}"
        );
        assert_eq!(detector.style(), Some(style), "{name}");
    }
}

#[test]
fn the_same_messages_under_every_header() {
    // These files carry the same run's datagrams: once the header is gone,
    // the messages are the same lines (the wire formats lost none). Lines
    // logged in the same millisecond may reach targets in another order,
    // and the 1024-byte limit includes the header, so the cut long-URI line
    // is cut at another place: compare sorted, up to the shorter cut.
    let mut reference: Vec<Vec<u8>> = lines("raw.log");
    reference.sort();
    for name in [
        "local-wire.log",
        "rfc3164.log",
        "rfc5424.log",
        "priority.log",
        "short.log",
        "timed.log",
        "iso.log",
        "httplog.log",
        "rsyslog-fileformat-udp.log",
        "rsyslog-protocol23.log",
    ] {
        let mut detector = HeaderDetector::new(None);
        let mut messages: Vec<Vec<u8>> = lines(name)
            .iter()
            .map(|l| detector.header(l).message(l).to_vec())
            .collect();
        messages.sort();
        assert_eq!(messages.len(), reference.len(), "{name}");
        let differing = messages
            .iter()
            .zip(&reference)
            .filter(|(a, b)| !a.starts_with(b) && !b.starts_with(a))
            .map(|(a, _)| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>();
        assert!(
            differing.is_empty(),
            "{name}: {:#?}",
            &differing[..differing.len().min(3)]
        );
    }
}

/// Lines of each kind per file, from the spec's reference parser
/// (`setup/refparse.py --truth`). Its "error-custom" lines (error-log-format)
/// are errors here too; "traffic-truncated" are traffic lines marked cut.
/// One deliberate difference: the reference calls the lines of a JSON
/// log-format "json" (372) and "json-invalid" (9: `+1`, `+N`, one cut);
/// here they are what a person calls them, traffic, read by their keys
/// and leniently where HAProxy wrote invalid JSON (the cut one is marked).
const KINDS: &[(&str, &str)] = &[
    ("connect.log", "server-state 1, backend-down 1, health-check 1, connect 14, proxy-lifecycle 20"),
    ("custom.log", "server-state 9, backend-down 5, health-check 8, traffic 380, traffic-truncated 1, proxy-lifecycle 18"),
    ("httplog-clf.log", "server-state 10, backend-down 5, health-check 8, traffic 380, traffic-truncated 1, proxy-lifecycle 18"),
    ("httplog.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 18"),
    ("httpslog.log", "server-state 1, backend-down 1, health-check 1, traffic 101, error 10, proxy-lifecycle 16"),
    ("iso.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 18"),
    ("journal-cat.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 13"),
    ("journal-json-sample.log", "server-state 1, backend-down 1, health-check 1, traffic 37"),
    ("journal-short-iso-precise.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 13"),
    ("journal-short-iso.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 13"),
    ("journal-short-precise.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 13"),
    ("journal-short-unix.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 13"),
    ("journal-short.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 13"),
    ("json-raw.log", "server-state 9, backend-down 5, health-check 8, traffic 380, traffic-truncated 1, proxy-lifecycle 18"),
    ("json.log", "server-state 9, backend-down 5, health-check 8, traffic 380, traffic-truncated 1, proxy-lifecycle 18"),
    ("legacy16.log", "server-state 9, backend-down 5, health-check 8, traffic 381, traffic-truncated 1, proxy-lifecycle 18"),
    ("local-wire.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 18"),
    ("priority.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 18"),
    ("raw.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 18"),
    ("rfc3164.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 18"),
    ("rfc5424.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 18"),
    ("rsyslog-fileformat-udp.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 18"),
    ("rsyslog-fileformat-uxsock.log", "server-state 9, backend-down 5, health-check 8, traffic 384, traffic-truncated 1, proxy-lifecycle 13"),
    ("rsyslog-protocol23.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 18"),
    ("short.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 18"),
    ("stderr.log", "process 7, server-state 9, backend-down 5, health-check 8, proxy-lifecycle 18"),
    ("tcplog-clf31.log", "server-state 1, backend-down 1, traffic 31, error 2, proxy-lifecycle 18"),
    ("tcplog-raw.log", "server-state 1, backend-down 1, traffic 31, error 2, proxy-lifecycle 18"),
    ("tcplog.log", "server-state 1, backend-down 1, traffic 31, error 2, proxy-lifecycle 18"),
    ("timed.log", "server-state 9, backend-down 5, health-check 8, traffic 393, traffic-truncated 1, proxy-lifecycle 18"),
];

fn parse_counts(text: &str) -> BTreeMap<String, usize> {
    text.split(", ")
        .map(|part| {
            let (kind, n) = part.rsplit_once(' ').unwrap();
            (kind.to_string(), n.parse().unwrap())
        })
        .collect()
}

#[test]
fn every_line_gets_the_kind_a_person_would_give_it() {
    use haplog_format::{FormatOptions, Formats, Kind, LineParser};
    let formats = Formats::new(&FormatOptions::default()).unwrap();
    let mut failures = Vec::new();
    for &(name, expected) in KINDS {
        let mut parser = LineParser::new(&formats, None);
        let mut counts = BTreeMap::new();
        let mut samples: BTreeMap<String, String> = BTreeMap::new();
        for line in lines(name) {
            let r = parser.parse(&line);
            let kind = match r.kind {
                Kind::Traffic if r.truncated => "traffic-truncated".to_string(),
                k => k.name().to_string(),
            };
            samples
                .entry(kind.clone())
                .or_insert_with(|| String::from_utf8_lossy(&line).into_owned());
            *counts.entry(kind).or_insert(0usize) += 1;
        }
        if counts != parse_counts(expected) {
            failures.push(format!(
                "{name}: got {counts:?}\n  expected {expected}\n  samples {samples:#?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_configs_own_log_formats_read_every_traffic_line() {
    use haplog_format::{config, FormatOptions, Formats, Kind, LineParser};
    for (log, cfg, traffic) in [
        ("custom.log", "custom.cfg", 381),
        ("json.log", "json.cfg", 381),
        ("json-raw.log", "json.cfg", 381),
        ("legacy16.log", "legacy16.cfg", 382),
        ("tcplog-clf31.log", "tcplog-clf31.cfg", 31),
    ] {
        let text = fs::read_to_string(corpus().join("cfg").join(cfg)).unwrap();
        let custom = config::log_formats(&text);
        assert!(!custom.is_empty(), "{cfg}");
        let formats = Formats::new(&FormatOptions {
            custom,
            legacy_timers: false,
        })
        .unwrap_or_else(|e| panic!("{cfg}: {e}"));
        let mut parser = LineParser::new(&formats, None);
        let mut by_format = BTreeMap::new();
        for line in lines(log) {
            let r = parser.parse(&line);
            assert!(
                !matches!(r.kind, Kind::Unparsed | Kind::Json | Kind::JsonInvalid),
                "{log}: {}",
                String::from_utf8_lossy(&line)
            );
            if r.kind == Kind::Traffic {
                *by_format.entry(r.format.unwrap().name.clone()).or_insert(0) += 1;
                assert!(
                    r.rest.is_none(),
                    "{log}: nothing left over: {}",
                    String::from_utf8_lossy(&line)
                );
            }
        }
        assert_eq!(
            by_format.into_iter().collect::<Vec<_>>(),
            vec![("custom".to_string(), traffic)],
            "{log}"
        );
    }
}

/// Each line gets the same reading whatever lines came before it: the
/// parser's memory of the last format (a speed-up) decides nothing, so two
/// threads that see different lines agree. Each line is read in its file's
/// order and again by a parser that has seen nothing.
#[test]
fn a_lines_reading_does_not_depend_on_the_lines_before_it() {
    use haplog_format::{FormatOptions, Formats, LineParser, Record};
    let formats = Formats::new(&FormatOptions::default()).unwrap();
    let reading = |r: &Record| {
        let values: Vec<_> = (0..r.format.map_or(0, |f| f.items().len()))
            .map(|i| String::from_utf8_lossy(r.item(i).unwrap()).into_owned())
            .collect();
        format!(
            "{:?} {:?} {} {values:?}",
            r.kind,
            r.format_name(),
            r.truncated
        )
    };
    for &(name, style) in STYLES {
        let mut in_order = LineParser::new(&formats, Some(style));
        for line in lines(name) {
            let after_others = reading(&in_order.parse(&line));
            let alone = reading(&LineParser::new(&formats, Some(style)).parse(&line));
            assert_eq!(
                after_others,
                alone,
                "{name}: {}",
                String::from_utf8_lossy(&line)
            );
        }
    }
}

/// The unrolled head of the http and tcp formats reads every real line as
/// the steps alone do.
#[test]
fn the_unrolled_head_agrees_with_the_steps_on_every_real_line() {
    use haplog_format::CompiledFormat;
    let formats: Vec<CompiledFormat> = haplog_format::logformat::BUILT_IN
        .iter()
        .map(|(n, t)| CompiledFormat::new(n, t).unwrap())
        .collect();
    assert!(formats.iter().filter(|f| f.has_head()).count() >= 4);
    let mut matched = 0;
    for &(name, style) in STYLES {
        for line in lines(name) {
            let message =
                haplog_format::header::parse(&line, style).map_or(&line[..], |h| h.message(&line));
            for f in formats.iter().filter(|f| f.has_head()) {
                f.check_head(message).unwrap();
                matched += usize::from(f.matches(message).is_some())
                    + usize::from(f.matches_prefix(message).is_some());
            }
        }
    }
    assert!(matched > 5000, "{matched} matches");
}

/// The fuzz target's body on its committed seeds, on huge and non-UTF-8
/// lines: `cargo +nightly fuzz run format_lines` explores from these.
#[test]
fn fuzz_seeds_and_hostile_lines_parse_without_panic() {
    use haplog_format::fuzzing::parse_everything;
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/format_lines");
    let mut n = 0;
    for entry in fs::read_dir(&seeds).unwrap() {
        parse_everything(&fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n >= 30, "{n} seeds");
    let httplog = b"127.0.0.1:1 [24/Nov/2026:15:54:02.757] fe b/s 0/0/0/0/0 200 1 - - ---- 1/1/0/0/0 0/0 \"GET /";
    let mut huge = httplog.to_vec();
    huge.extend(std::iter::repeat_n(b'A', 256 * 1024));
    huge.extend_from_slice(b" HTTP/1.1\"");
    parse_everything(&huge);
    let mut spaces = httplog.to_vec();
    spaces.extend(std::iter::repeat_n(b' ', 256 * 1024));
    parse_everything(&spaces);
    let quotes: Vec<u8> = std::iter::repeat_n(&b"%{+Q}[a] \"x\" "[..], 2000)
        .flatten()
        .copied()
        .collect();
    parse_everything(&quotes);
    parse_everything(b"\xff\xfe\x00%\xc3(\n<134>\xff Nov 24 \x80\n{\"a\":\"\xff\"}\n");
}
