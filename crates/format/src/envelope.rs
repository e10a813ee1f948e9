//! Envelopes: what a container runtime or the journal wraps around a whole
//! log line, header included.
//!
//! A header ([`crate::header`]) sits in front of HAProxy's message; an
//! envelope holds the whole line inside a structure of its own:
//!
//! - `journalctl -o json`: one JSON object per entry, the line in `MESSAGE`
//!   (a string, or an array of bytes when it is not UTF-8), its time in
//!   `__REALTIME_TIMESTAMP` (microseconds), host and pid beside it.
//! - Docker's `json-file` driver: `{"log":"<line>\n","stream":"stdout",
//!   "time":"2024-05-01T10:00:00.123456789Z"}`; a line longer than the
//!   driver's 16 KiB buffer is split into entries whose `log` lacks the
//!   final `\n`.
//! - Kubernetes' CRI log files: `<RFC 3339 time> <stream> <P|F> <line>`,
//!   where `P` marks a part that the next lines complete up to an `F`.
//!
//! Unwrapping copies the line into a buffer the caller owns (JSON strings
//! need their escapes undone), then the line goes through header detection
//! as if it had been stored bare.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;

use crate::learn::FirstLines;

/// The envelopes haplog reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EnvelopeStyle {
    /// `journalctl -o json` (and `json-seq`'s objects, `export`'s fields).
    JournalJson,
    /// Docker's `json-file` logging driver.
    DockerJson,
    /// Kubernetes' CRI container log format (containerd, CRI-O).
    Cri,
}

impl EnvelopeStyle {
    pub const ALL: [EnvelopeStyle; 3] = [
        EnvelopeStyle::JournalJson,
        EnvelopeStyle::DockerJson,
        EnvelopeStyle::Cri,
    ];

    /// The name on the command line (`--envelope NAME`) and in output.
    pub fn name(self) -> &'static str {
        match self {
            EnvelopeStyle::JournalJson => "journal-json",
            EnvelopeStyle::DockerJson => "docker-json",
            EnvelopeStyle::Cri => "cri",
        }
    }

    pub fn from_name(name: &str) -> Option<EnvelopeStyle> {
        EnvelopeStyle::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for EnvelopeStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an envelope says about its line, as places in the unwrapping
/// buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unwrapped {
    pub style: EnvelopeStyle,
    /// The line inside.
    pub line: Range<usize>,
    /// The entry's time: RFC 3339 for Docker and CRI, `seconds.micros`
    /// since the epoch for the journal.
    pub time: Option<Range<usize>>,
    pub host: Option<Range<usize>>,
    pub pid: Option<Range<usize>>,
    /// The journal's `SYSLOG_IDENTIFIER`.
    pub tag: Option<Range<usize>>,
    /// `stdout` or `stderr` (Docker, CRI).
    pub stream: Option<Range<usize>>,
    /// The line goes on in the next entry (CRI `P`, a Docker `log` without
    /// its final `\n`).
    pub partial: bool,
}

impl Unwrapped {
    /// A container runtime's entry: a time and a stream, no host or pid.
    fn container(
        style: EnvelopeStyle,
        line: Range<usize>,
        time: Option<Range<usize>>,
        stream: Option<Range<usize>>,
        partial: bool,
    ) -> Unwrapped {
        Unwrapped {
            style,
            line,
            time,
            host: None,
            pid: None,
            tag: None,
            stream,
            partial,
        }
    }
}

/// The journal's and Docker's fields, read in one pass: an object is one
/// or the other by the fields it has.
#[derive(Deserialize)]
struct JsonEntry<'a> {
    #[serde(rename = "MESSAGE", borrow, default)]
    message: JournalMessage<'a>,
    #[serde(rename = "__REALTIME_TIMESTAMP", borrow, default)]
    realtime: Option<Cow<'a, str>>,
    #[serde(rename = "_HOSTNAME", borrow, default)]
    hostname: Option<Cow<'a, str>>,
    #[serde(rename = "_PID", borrow, default)]
    pid: Option<Cow<'a, str>>,
    #[serde(rename = "SYSLOG_PID", borrow, default)]
    syslog_pid: Option<Cow<'a, str>>,
    #[serde(rename = "SYSLOG_IDENTIFIER", borrow, default)]
    identifier: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    log: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    stream: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    time: Option<Cow<'a, str>>,
}

/// journald writes a field that is not valid UTF-8 as an array of bytes,
/// and one too large to show as `null`.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum JournalMessage<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Bytes(Vec<u8>),
    Null(()),
    /// No `MESSAGE` key: not a journal entry.
    #[default]
    #[serde(skip)]
    Absent,
}

/// Reads `raw` as `style` (or, with `None`, as whichever envelope fits),
/// copying what it holds into `buf` (cleared first). `None` when the line
/// is not in such an envelope.
pub fn unwrap(raw: &[u8], style: Option<EnvelopeStyle>, buf: &mut Vec<u8>) -> Option<Unwrapped> {
    buf.clear();
    match style {
        Some(EnvelopeStyle::Cri) => cri(raw, buf),
        Some(json_style) => json(raw, buf).filter(|u| u.style == json_style),
        None => {
            if raw.first() == Some(&b'{') {
                json(raw, buf)
            } else {
                cri(raw, buf)
            }
        }
    }
}

fn push(buf: &mut Vec<u8>, bytes: &[u8]) -> Range<usize> {
    let start = buf.len();
    buf.extend_from_slice(bytes);
    start..buf.len()
}

fn push_opt(buf: &mut Vec<u8>, text: Option<&Cow<'_, str>>) -> Option<Range<usize>> {
    text.map(|t| push(buf, t.as_bytes()))
}

fn json(raw: &[u8], buf: &mut Vec<u8>) -> Option<Unwrapped> {
    if !raw.ends_with(b"}") {
        return None;
    }
    let entry: JsonEntry<'_> = serde_json::from_slice(raw).ok()?;
    if !matches!(entry.message, JournalMessage::Absent) {
        if entry.realtime.is_none() && entry.hostname.is_none() && entry.identifier.is_none() {
            return None;
        }
        let line = match &entry.message {
            JournalMessage::Text(text) => push(buf, text.as_bytes()),
            JournalMessage::Bytes(bytes) => push(buf, bytes),
            JournalMessage::Null(()) | JournalMessage::Absent => push(buf, b""),
        };
        let time = entry.realtime.as_deref().and_then(|micros| {
            let micros: u64 = micros.parse().ok()?;
            let text = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
            Some(push(buf, text.as_bytes()))
        });
        let host = push_opt(buf, entry.hostname.as_ref());
        let pid = push_opt(buf, entry.syslog_pid.as_ref().or(entry.pid.as_ref()));
        let tag = push_opt(buf, entry.identifier.as_ref());
        return Some(Unwrapped {
            style: EnvelopeStyle::JournalJson,
            line,
            time,
            host,
            pid,
            tag,
            stream: None,
            partial: false,
        });
    }
    let log = entry.log.as_ref()?;
    if entry.stream.is_none() && entry.time.is_none() {
        return None;
    }
    let (text, partial) = match log.strip_suffix('\n') {
        Some(text) => (text, false),
        None => (&log[..], true),
    };
    let line = push(buf, text.as_bytes());
    let time = push_opt(buf, entry.time.as_ref());
    let stream = push_opt(buf, entry.stream.as_ref());
    Some(Unwrapped::container(
        EnvelopeStyle::DockerJson,
        line,
        time,
        stream,
        partial,
    ))
}

/// `<time> <stdout|stderr> <P|F>[:tags] <line>`; the time is RFC 3339 with
/// a `T` after the date.
fn cri(raw: &[u8], buf: &mut Vec<u8>) -> Option<Unwrapped> {
    let CriParts {
        time,
        stream,
        partial,
        line,
    } = cri_parts(raw)?;
    let line = push(buf, line);
    let time = Some(push(buf, time));
    let stream = Some(push(buf, stream));
    Some(Unwrapped::container(
        EnvelopeStyle::Cri,
        line,
        time,
        stream,
        partial,
    ))
}

/// A CRI line's parts.
struct CriParts<'a> {
    time: &'a [u8],
    stream: &'a [u8],
    partial: bool,
    line: &'a [u8],
}

fn cri_parts(raw: &[u8]) -> Option<CriParts<'_>> {
    let time_end = memchr::memchr(b' ', raw)?;
    let time = &raw[..time_end];
    let shaped = time.len() >= 20
        && time[..4].iter().all(u8::is_ascii_digit)
        && time[4] == b'-'
        && time[7] == b'-'
        && time[10] == b'T'
        && time[13] == b':';
    if !shaped {
        return None;
    }
    let rest = &raw[time_end + 1..];
    let (stream, rest) = if let Some(r) = rest.strip_prefix(b"stdout ") {
        (&rest[..6], r)
    } else if let Some(r) = rest.strip_prefix(b"stderr ") {
        (&rest[..6], r)
    } else {
        return None;
    };
    let tag_end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
    let tags = &rest[..tag_end];
    // The first tag is the partial mark; later ones, `:`-separated, are
    // reserved by the CRI spec.
    let partial = match tags.split(|&b| b == b':').next() {
        Some(b"P") => true,
        Some(b"F") => false,
        _ => return None,
    };
    let line = rest.get(tag_end + 1..).unwrap_or_default();
    Some(CriParts {
        time,
        stream,
        partial,
        line,
    })
}

/// Whether `raw` is an entry whose line goes on in the next one: chunk
/// boundaries must not fall after it, so the parts meet in one worker.
/// A cheap look at the shape, no JSON parse: Docker writes its keys in
/// the order `log`, `stream`, `time`.
pub fn continues(raw: &[u8]) -> bool {
    if let Some(rest) = raw.strip_prefix(b"{\"log\":\"") {
        return !rest.windows(13).any(|w| w == b"\\n\",\"stream\":")
            && memchr::memmem::find(rest, b"\",\"stream\":").is_some();
    }
    cri_parts(raw).is_some_and(|p| p.partial)
}

/// Learns an input's envelope from its first lines, then unwraps every line
/// with it; an input whose first lines have none is read bare from then on,
/// at no cost per line.
#[derive(Clone, Debug)]
pub struct EnvelopeDetector {
    /// `Some(None)`: `--envelope none`.
    forced: Option<Option<EnvelopeStyle>>,
    first: FirstLines<{ EnvelopeStyle::ALL.len() }>,
    settled: Option<Option<EnvelopeStyle>>,
}

impl EnvelopeDetector {
    pub fn new(forced: Option<Option<EnvelopeStyle>>) -> EnvelopeDetector {
        EnvelopeDetector {
            forced,
            first: FirstLines::new(),
            settled: None,
        }
    }

    /// Forgets what was learnt: the next line starts another input.
    pub fn reset(&mut self) {
        *self = EnvelopeDetector::new(self.forced);
    }

    /// Unwraps one line into `buf`, or `None` for a bare line.
    pub fn unwrap(&mut self, raw: &[u8], buf: &mut Vec<u8>) -> Option<Unwrapped> {
        match self.forced.or(self.settled) {
            Some(None) => None,
            Some(style) => unwrap(raw, style, buf),
            None => {
                let found = unwrap(raw, None, buf);
                let index = found.as_ref().map(|u| {
                    EnvelopeStyle::ALL
                        .iter()
                        .position(|&s| s == u.style)
                        .expect("a known style")
                });
                if let Some(best) = self.first.count(index) {
                    self.settled = Some(best.map(|i| EnvelopeStyle::ALL[i]));
                }
                found
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "127.0.0.1:60662 [24/Nov/2026:15:54:02.757] fe_http be_static/nginx1 0/0/0/0/0 200 235 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"";

    fn text(buf: &[u8], r: &Option<Range<usize>>) -> Option<String> {
        r.clone()
            .map(|r| String::from_utf8(buf[r].to_vec()).unwrap())
    }

    #[test]
    fn journal_json() {
        let raw = format!(
            "{{\"_HOSTNAME\":\"vm\",\"MESSAGE\":{},\"__REALTIME_TIMESTAMP\":\"1795535641290718\",\"_PID\":\"9228\",\"SYSLOG_PID\":\"9229\",\"SYSLOG_IDENTIFIER\":\"haproxy\"}}",
            serde_json::to_string(LINE).unwrap()
        );
        let mut buf = Vec::new();
        let u = unwrap(raw.as_bytes(), None, &mut buf).unwrap();
        assert_eq!(u.style, EnvelopeStyle::JournalJson);
        assert_eq!(&buf[u.line.clone()], LINE.as_bytes());
        assert_eq!(text(&buf, &u.time).as_deref(), Some("1795535641.290718"));
        assert_eq!(text(&buf, &u.host).as_deref(), Some("vm"));
        assert_eq!(text(&buf, &u.pid).as_deref(), Some("9229"));
        assert_eq!(text(&buf, &u.tag).as_deref(), Some("haproxy"));
        assert!(!u.partial);
    }

    #[test]
    fn journal_bytes_and_null() {
        let raw = br#"{"MESSAGE":[104,105,255],"__REALTIME_TIMESTAMP":"5","_PID":"1"}"#;
        let mut buf = Vec::new();
        let u = unwrap(raw, None, &mut buf).unwrap();
        assert_eq!(&buf[u.line.clone()], b"hi\xff");
        assert_eq!(text(&buf, &u.time).as_deref(), Some("0.000005"));
        assert_eq!(text(&buf, &u.pid).as_deref(), Some("1"));
        let raw = br#"{"MESSAGE":null,"_HOSTNAME":"vm"}"#;
        let u = unwrap(raw, None, &mut buf).unwrap();
        assert!(u.line.is_empty());
    }

    #[test]
    fn docker_json_file() {
        let raw = format!(
            "{{\"log\":{},\"stream\":\"stdout\",\"time\":\"2024-05-01T10:00:00.123456789Z\"}}",
            serde_json::to_string(&format!("{LINE}\n")).unwrap()
        );
        let mut buf = Vec::new();
        let u = unwrap(raw.as_bytes(), None, &mut buf).unwrap();
        assert_eq!(u.style, EnvelopeStyle::DockerJson);
        assert_eq!(&buf[u.line.clone()], LINE.as_bytes());
        assert_eq!(
            text(&buf, &u.time).as_deref(),
            Some("2024-05-01T10:00:00.123456789Z")
        );
        assert_eq!(text(&buf, &u.stream).as_deref(), Some("stdout"));
        assert!(!u.partial);
        assert!(!continues(raw.as_bytes()));
        let part = r#"{"log":"127.0.0.1:1 [","stream":"stdout","time":"2024-05-01T10:00:00Z"}"#;
        let u = unwrap(part.as_bytes(), None, &mut buf).unwrap();
        assert!(u.partial);
        assert!(continues(part.as_bytes()));
    }

    #[test]
    fn cri() {
        let raw = format!("2024-05-01T10:00:00.123456789Z stdout F {LINE}");
        let mut buf = Vec::new();
        let u = unwrap(raw.as_bytes(), None, &mut buf).unwrap();
        assert_eq!(u.style, EnvelopeStyle::Cri);
        assert_eq!(&buf[u.line.clone()], LINE.as_bytes());
        assert_eq!(text(&buf, &u.stream).as_deref(), Some("stdout"));
        assert!(!u.partial);
        assert!(!continues(raw.as_bytes()));
        let part = "2024-05-01T10:00:00.1+02:00 stderr P 127.0.0.1:1 [";
        let u = unwrap(part.as_bytes(), None, &mut buf).unwrap();
        assert!(u.partial);
        assert_eq!(&buf[u.line.clone()], b"127.0.0.1:1 [");
        assert!(continues(part.as_bytes()));
        let empty = "2024-05-01T10:00:00Z stdout F";
        assert!(unwrap(empty.as_bytes(), None, &mut buf)
            .unwrap()
            .line
            .is_empty());
    }

    #[test]
    fn plain_lines_and_json_log_formats_are_not_envelopes() {
        let mut buf = Vec::new();
        for line in [
            LINE,
            "2026-11-24T15:54:02.758242+00:00 127.0.0.1:1 [24/Nov/2026:15:54:02.757] x",
            "{\"client_ip\":\"127.0.0.1\",\"status\":200,\"time\":\"x\"}",
            "{\"log\":\"x\"}",
            "{not json}",
            "2024-05-01T10:00:00Z stdout X line",
            "",
        ] {
            assert_eq!(unwrap(line.as_bytes(), None, &mut buf), None, "{line}");
            assert!(!continues(line.as_bytes()), "{line}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_unwrap_without_panic(line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120)) {
            let mut buf = Vec::new();
            if let Some(u) = unwrap(&line, None, &mut buf) {
                proptest::prop_assert!(u.line.end <= buf.len());
            }
            let _ = continues(&line);
        }
    }
}
