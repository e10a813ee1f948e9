//! One line, understood: its header, its kind, and its fields.

use crate::compiled::{CompiledFormat, Span, MAX_ITEMS};
use crate::envelope::{EnvelopeDetector, EnvelopeStyle, Unwrapped};
use crate::field::{Field, FieldSet};
use crate::header::{Header, HeaderDetector, HeaderStyle};
use crate::json;
use crate::logformat::{self, FormatError};
use crate::message::{self, Kind};

/// The traffic formats to try, the user's first.
#[derive(Clone, Debug)]
pub struct Formats {
    list: Vec<CompiledFormat>,
    /// Formats that may match a line's start only, the rest of the line
    /// being fields appended to a built-in format.
    prefix_from: usize,
}

/// How to read lines.
#[derive(Clone, Debug, Default)]
pub struct FormatOptions {
    /// `--log-format` strings (or pasted directives), tried first.
    pub custom: Vec<String>,
    /// `--legacy-timers`: read httplog lines with the pre-1.7 meaning of
    /// the first and last timers (Tq … Tt instead of TR … Ta).
    pub legacy_timers: bool,
}

impl Formats {
    pub fn new(options: &FormatOptions) -> Result<Formats, FormatError> {
        let mut list = Vec::new();
        for (i, text) in options.custom.iter().enumerate() {
            let name = if options.custom.len() == 1 {
                "custom".to_string()
            } else {
                format!("custom{}", i + 1)
            };
            list.push(CompiledFormat::new(&name, text)?);
        }
        let http = if options.legacy_timers {
            ("legacy16", logformat::HTTPLOG_LEGACY)
        } else {
            ("httplog", logformat::HTTPLOG)
        };
        // httplog before httpslog: a line cut inside its request matches
        // both, and the shorter claim is the one the line supports.
        for (name, text) in [
            http,
            ("httpslog", logformat::HTTPSLOG),
            ("tcplog", logformat::TCPLOG),
            ("clf", logformat::HTTPLOG_CLF),
            ("tcpclf", logformat::TCPLOG_CLF),
            ("error-tls", logformat::ERROR_LOG_TLS),
        ] {
            list.push(CompiledFormat::new(name, text).expect("built-in formats compile"));
        }
        // httplog with fields appended (a common custom format) still
        // reads as httplog, the rest kept aside.
        let prefix_from = list.len();
        list.push(CompiledFormat::new(http.0, http.1).expect("built-in formats compile"));
        Ok(Formats { list, prefix_from })
    }

    pub fn list(&self) -> &[CompiledFormat] {
        &self.list
    }
}

/// What an envelope said of its line (see [`crate::envelope`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub style: EnvelopeStyle,
    /// The entry's time as written (`seconds.micros` for the journal).
    pub time: Option<&'a [u8]>,
    /// `stdout` or `stderr`.
    pub stream: Option<&'a [u8]>,
}

/// A parsed line. Field values borrow from the line; the record borrows
/// its parser (`'p`), which holds the fields' places.
#[derive(Clone, Debug)]
pub struct Record<'p, 'a> {
    /// The line as HAProxy's collector wrote it: inside its envelope, if
    /// it has one, and without a final CR.
    pub line: &'a [u8],
    /// The container or journal entry around the line, if any.
    pub envelope: Option<Envelope<'a>>,
    pub header: Header<'a>,
    pub message: &'a [u8],
    pub kind: Kind,
    /// The format that matched a traffic or error line.
    pub format: Option<&'p CompiledFormat>,
    /// The line was cut (HAProxy's 1024-byte limit): later fields are empty.
    pub truncated: bool,
    spans: &'p [Span; MAX_ITEMS],
    /// Fields after a built-in format's end (a custom format that appends
    /// to httplog, read without its `--log-format`).
    pub rest: Option<&'a [u8]>,
    /// For a line read by its keys (a JSON line without its log-format,
    /// an error or connect message): which fields it has, their spans
    /// indexed by field, and what the reading is called.
    keyed: FieldSet,
    keyed_name: Option<&'static str>,
}

impl<'p, 'a> Record<'p, 'a> {
    /// The raw value of a field, if the line's format has it. Absent values
    /// (`-`, `""` in quoted formats) come back as written.
    #[inline]
    pub fn get(&self, field: Field) -> Option<&'a [u8]> {
        if let Some(format) = self.format {
            let item = format.item_of(field)?;
            return Some(self.spans[item].of(self.message));
        }
        // A line read by its keys (which has no format).
        self.keyed
            .contains(field)
            .then(|| self.spans[field as usize].of(self.message))
    }

    /// The name of the format that matched: a log-format's, or for a line
    /// read by its keys `json`, `conn-error` (a connection error without
    /// an `error-log-format`) or `connect` (a `Connect from` line).
    pub fn format_name(&self) -> Option<&'p str> {
        match self.format {
            Some(f) => Some(&f.name),
            None => self.keyed_name,
        }
    }

    /// The fields of a line read by its keys, in [`Field`] order.
    pub fn keyed_fields(&self) -> impl Iterator<Item = (Field, &'a [u8])> + '_ {
        self.keyed
            .iter()
            .map(|f| (f, self.spans[f as usize].of(self.message)))
    }

    /// The raw value of the format's `index`-th item.
    pub fn item(&self, index: usize) -> Option<&'a [u8]> {
        let format = self.format?;
        (index < format.items().len()).then(|| self.spans[index].of(self.message))
    }

    /// When the request started (or the connection was accepted, for
    /// formats without a request date), as written in the line.
    pub fn date(&self) -> Option<crate::time::LogTime> {
        let v = self
            .get(Field::RequestDate)
            .or_else(|| self.get(Field::AcceptDate))?;
        crate::time::parse_date(v)
    }

    /// The line was logged before its request ended (`option logasap`):
    /// HAProxy writes `+` before the total time (`Tt`, or `Ta` in httplog)
    /// and the bytes, which are only what was known then.
    pub fn incomplete(&self) -> bool {
        [Field::Tt, Field::Ta, Field::BytesRead]
            .into_iter()
            .any(|f| self.get(f).is_some_and(|v| v.first() == Some(&b'+')))
    }

    /// A numeric field: `+` (logasap, redispatch) is dropped, `-` or an
    /// empty value is `None`, `-1` stays `-1`.
    pub fn number(&self, field: Field) -> Option<i64> {
        parse_number(self.get(field)?)
    }
}

/// A request line's method, URI and version (the version only when the
/// last word looks like `HTTP/x.y`; a cut line has none).
#[inline]
pub fn request_parts(request: &[u8]) -> (&[u8], &[u8], Option<&[u8]>) {
    // The method and the version are short: plain loops from either end
    // beat setting up `memchr` twice per line.
    let Some(first) = request.iter().position(|&b| b == b' ') else {
        return (request, &[], None);
    };
    let method = &request[..first];
    let rest = &request[first + 1..];
    if let Some(last) = rest.iter().rposition(|&b| b == b' ') {
        let version = &rest[last + 1..];
        if version.starts_with(b"HTTP/") {
            return (method, &rest[..last], Some(version));
        }
    }
    (method, rest, None)
}

/// A URI's parts: the authority of an absolute URI (HTTP/2 and gRPC lines
/// carry `http://host:port/pkg.Svc/Method`), the path, and the query
/// (without its `?`).
#[inline]
pub fn uri_parts(uri: &[u8]) -> (Option<&[u8]>, &[u8], Option<&[u8]>) {
    let mut authority = None;
    let mut rest = uri;
    for scheme in [&b"http://"[..], b"https://"] {
        if let Some(after) = uri.strip_prefix(scheme) {
            let end = after
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .unwrap_or(after.len());
            authority = Some(&after[..end]);
            rest = &after[end..];
            break;
        }
    }
    match rest.iter().position(|&b| b == b'?') {
        Some(q) => (authority, &rest[..q], Some(&rest[q + 1..])),
        None => (authority, rest, None),
    }
}

/// A request target's parts as its method reads it: `CONNECT`'s target is
/// an authority (`host:port`, RFC 9110 section 9.3.6), not a path; every
/// other method's is a URI ([`uri_parts`]).
#[inline]
pub fn target_parts<'a>(
    method: &[u8],
    target: &'a [u8],
) -> (Option<&'a [u8]>, &'a [u8], Option<&'a [u8]>) {
    if method == b"CONNECT" {
        return (Some(target), &target[target.len()..], None);
    }
    uri_parts(target)
}

/// Whether a raw value means "absent": HAProxy prints `-`, or `""` in
/// quoted formats (whose values come without their quotes: empty).
#[inline]
pub fn is_absent(v: &[u8]) -> bool {
    v.is_empty() || v == b"-"
}

/// HAProxy's numbers: `[+]-?digits`.
#[inline]
pub fn parse_number(v: &[u8]) -> Option<i64> {
    // Most values: a few plain digits. A loop of their own, free of the
    // sign handling below, saves a report about 3% of its instructions.
    if let [first, rest @ ..] = v {
        let mut n = i64::from(first.wrapping_sub(b'0'));
        if n < 10 && rest.len() < 18 {
            for &d in rest {
                let d = d.wrapping_sub(b'0');
                if d > 9 {
                    return None;
                }
                n = n * 10 + i64::from(d);
            }
            return Some(n);
        }
    }
    let v = v.strip_prefix(b"+").unwrap_or(v);
    let (negative, digits) = match v.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, v),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut n = 0i64;
    for &d in digits {
        let d = d.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + i64::from(d);
    }
    Some(if negative { -n } else { n })
}

/// Lines longer than this are counted as [`Kind::Overlong`] and not read:
/// far above HAProxy's own limits (a syslog line is at most 64 KiB).
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

/// Reads the lines of one input: learns its envelope and header style,
/// remembers the format that matched last (most files use one), classifies
/// the rest.
pub struct LineParser<'f> {
    reader: Reader<'f>,
    envelopes: EnvelopeDetector,
    /// The last line taken out of its envelope.
    unwrapped: Vec<u8>,
    /// The parts of a line split across envelope entries, so far; once a
    /// record of the joined line was lent out, `joined` says to clear them
    /// before the next line.
    parts: Vec<u8>,
    joined: bool,
    /// The parts so far passed the line limit.
    parts_overlong: bool,
    max_line: usize,
    input: usize,
}

impl<'f> LineParser<'f> {
    pub fn new(formats: &'f Formats, header: Option<HeaderStyle>) -> LineParser<'f> {
        LineParser {
            reader: Reader {
                formats,
                headers: HeaderDetector::new(header),
                last_hit: 0,
                spans: [Span::default(); MAX_ITEMS],
            },
            envelopes: EnvelopeDetector::new(None),
            unwrapped: Vec::new(),
            parts: Vec::new(),
            joined: false,
            parts_overlong: false,
            max_line: DEFAULT_MAX_LINE,
            input: usize::MAX,
        }
    }

    /// `--envelope`: `Some(None)` reads every line bare, `Some(Some(s))`
    /// only `s`; `None` (the default) detects it per input.
    pub fn with_envelope(mut self, forced: Option<Option<EnvelopeStyle>>) -> LineParser<'f> {
        self.envelopes = EnvelopeDetector::new(forced);
        self
    }

    /// Lines longer than `max` bytes are [`Kind::Overlong`].
    pub fn with_max_line(mut self, max: usize) -> LineParser<'f> {
        self.max_line = max;
        self
    }

    /// The header style settled on for this input, once known.
    pub fn header_style(&self) -> Option<HeaderStyle> {
        self.reader.headers.style()
    }

    /// The next lines come from input `input` (an index the caller keeps):
    /// when it changes, what was learnt of the previous input's envelope
    /// and header is forgotten.
    pub fn set_input(&mut self, input: usize) {
        if input != self.input {
            self.input = input;
            self.reader.headers.reset();
            self.envelopes.reset();
        }
        self.clear_parts();
    }

    /// Forgets the parts of a split line gathered so far.
    fn clear_parts(&mut self) {
        self.parts.clear();
        self.parts_overlong = false;
    }

    /// Parses every line of `chunk` (whole lines of input `input`, as the
    /// engine hands them out), calling `each` with the line's index in the
    /// chunk and its record. Every line gets one record, blank ones too;
    /// returns how many lines there were.
    pub fn for_each_line(
        &mut self,
        input: usize,
        chunk: &[u8],
        mut each: impl FnMut(u64, &Record<'_, '_>),
    ) -> u64 {
        self.set_input(input);
        let mut start = 0;
        let mut index = 0;
        while start < chunk.len() {
            let end = memchr::memchr(b'\n', &chunk[start..]).map_or(chunk.len(), |i| start + i);
            let record = self.parse(&chunk[start..end]);
            each(index, &record);
            index += 1;
            start = end + 1;
        }
        index
    }

    /// Parses one line (without its LF). The record borrows the parser
    /// until it is dropped.
    pub fn parse<'p>(&'p mut self, raw: &'p [u8]) -> Record<'p, 'p> {
        if std::mem::take(&mut self.joined) {
            self.clear_parts();
        }
        let mut raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.first() == Some(&0) {
            // A log cut by copytruncate while its writer kept its offset
            // starts with a run of NULs (and so does a page of a file
            // truncated while it was mapped): padding, not text.
            let text = raw.iter().position(|&b| b != 0).unwrap_or(raw.len());
            raw = &raw[text..];
        }
        if raw.len() > self.max_line {
            return self.reader.bare(raw, Kind::Overlong);
        }
        if raw.iter().all(|&b| b == b' ' || b == b'\t') {
            // Blank, or NULs only.
            return self.reader.bare(raw, Kind::Blank);
        }
        let Some(u) = self.envelopes.unwrap(raw, &mut self.unwrapped) else {
            self.clear_parts();
            return self.reader.read(raw, None);
        };
        let piece = &self.unwrapped[u.line.clone()];
        if u.partial || !self.parts.is_empty() || self.parts_overlong {
            if self.parts.len() + piece.len() > self.max_line {
                self.parts.clear();
                self.parts_overlong = true;
            } else if !self.parts_overlong {
                self.parts.extend_from_slice(piece);
            }
            if u.partial {
                return self.reader.bare(raw, Kind::Partial);
            }
            self.joined = true;
            if self.parts_overlong {
                return self.reader.bare(raw, Kind::Overlong);
            }
        }
        let buf = &self.unwrapped;
        let line: &'p [u8] = if self.joined {
            &self.parts
        } else {
            &buf[u.line.clone()]
        };
        let envelope = Envelope {
            style: u.style,
            time: part(buf, &u.time),
            stream: part(buf, &u.stream),
        };
        let mut record = self.reader.read(line, Some(envelope));
        fill_header(&mut record.header, &self.unwrapped, &u);
        record
    }
}

/// What reads a line once it is out of its envelope: the header detector,
/// the formats, and the spans a record borrows.
struct Reader<'f> {
    formats: &'f Formats,
    headers: HeaderDetector,
    last_hit: usize,
    /// The spans of the last line's fields, lent to its [`Record`]: kept
    /// here rather than in each record, so a line costs no 512-byte clear
    /// or copy.
    spans: [Span; MAX_ITEMS],
}

impl<'f> Reader<'f> {
    /// A record of a line that is not read: blank, overlong, a part.
    fn bare<'p>(&'p self, line: &'p [u8], kind: Kind) -> Record<'p, 'p> {
        Record {
            line,
            envelope: None,
            header: Header::new(HeaderStyle::None),
            message: line,
            kind,
            format: None,
            truncated: false,
            spans: &self.spans,
            rest: None,
            keyed: FieldSet::EMPTY,
            keyed_name: None,
        }
    }

    /// Reads a line out of its envelope (if any): header, format, kind.
    fn read<'p, 'a: 'p>(
        &'p mut self,
        line: &'a [u8],
        envelope: Option<Envelope<'a>>,
    ) -> Record<'p, 'a> {
        let header = self.headers.header(line);
        let message = header.message(line);
        let formats: &'f Formats = self.formats;
        let mut kind = Kind::Traffic;
        let mut format = None;
        let mut truncated = false;
        let mut rest = None;
        let mut keyed = FieldSet::EMPTY;
        let mut keyed_name = None;
        match self.find_format(message) {
            Some((i, cut, after)) => {
                let found = &formats.list[i];
                if found.name == "error-tls" {
                    kind = Kind::Error;
                }
                format = Some(found);
                truncated = cut;
                rest = (after > 0).then(|| &message[after..]);
            }
            None => {
                kind = message::classify(message);
                match kind {
                    Kind::Json | Kind::JsonInvalid => {
                        // A JSON log-format read by its keys: traffic, if it
                        // names traffic fields (HAProxy's `+1` and cut lines
                        // included).
                        if let Some(found) = json::fields(message) {
                            self.spans = found.spans;
                            kind = Kind::Traffic;
                            keyed = found.present;
                            keyed_name = Some("json");
                            truncated = found.truncated;
                        }
                    }
                    Kind::Error | Kind::Connect => {
                        keyed = message::event_fields(kind, message, &mut self.spans);
                        if !keyed.is_empty() {
                            keyed_name = Some(if kind == Kind::Error {
                                "conn-error"
                            } else {
                                "connect"
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        Record {
            line,
            envelope,
            header,
            message,
            kind,
            format,
            truncated,
            spans: &self.spans,
            rest,
            keyed,
            keyed_name,
        }
    }

    /// The traffic format that reads `message`, with its spans in
    /// `self.spans`: its index, whether the line was cut, and where the
    /// fields after a built-in format start (0: none).
    fn find_format(&mut self, message: &[u8]) -> Option<(usize, bool, usize)> {
        let list = &self.formats.list;
        let whole = &list[..self.formats.prefix_from];
        let order = std::iter::once(self.last_hit.min(whole.len() - 1))
            .chain((0..whole.len()).filter(|&i| i != self.last_hit));
        for i in order {
            if let Some(m) = whole[i].matches_into(message, &mut self.spans, false) {
                if m.truncated && i != first_match(whole, message, &mut self.spans, i) {
                    // A cut line may fit several formats: the list's order
                    // decides, not the format of the lines before it (which
                    // differ between threads).
                    continue;
                }
                self.last_hit = i;
                return Some((i, m.truncated, 0));
            }
        }
        for (i, format) in list.iter().enumerate().skip(self.formats.prefix_from) {
            if let Some(m) = format.matches_into(message, &mut self.spans, true) {
                return Some((i, m.truncated, m.rest));
            }
        }
        None
    }
}

fn part<'a>(buf: &'a [u8], range: &Option<std::ops::Range<usize>>) -> Option<&'a [u8]> {
    range.clone().map(|r| &buf[r])
}

/// The envelope's host, pid, tag and time stand in for a header the line
/// inside does not have (journald keeps them beside the message).
fn fill_header<'a>(header: &mut Header<'a>, buf: &'a [u8], u: &Unwrapped) {
    header.timestamp = header.timestamp.or_else(|| part(buf, &u.time));
    header.host = header.host.or_else(|| part(buf, &u.host));
    header.pid = header.pid.or_else(|| part(buf, &u.pid));
    header.tag = header.tag.or_else(|| part(buf, &u.tag));
}

/// The first of `formats`, up to `upto`, that matches `message`.
fn first_match(
    formats: &[CompiledFormat],
    message: &[u8],
    spans: &mut [Span; MAX_ITEMS],
    upto: usize,
) -> usize {
    (0..upto)
        .find(|&i| formats[i].matches_into(message, spans, false).is_some())
        .unwrap_or(upto)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(
            request_parts(b"GET /a?b HTTP/1.1"),
            (&b"GET"[..], &b"/a?b"[..], Some(&b"HTTP/1.1"[..]))
        );
        assert_eq!(
            request_parts(b"<BADREQ>"),
            (&b"<BADREQ>"[..], &b""[..], None)
        );
        assert_eq!(
            request_parts(b"GET /static/LLLL"),
            (&b"GET"[..], &b"/static/LLLL"[..], None)
        );
    }

    #[test]
    fn uris() {
        assert_eq!(
            uri_parts(b"http://127.0.0.1:18002/pkg.Service/Method?sc=grpc0"),
            (
                Some(&b"127.0.0.1:18002"[..]),
                &b"/pkg.Service/Method"[..],
                Some(&b"sc=grpc0"[..])
            )
        );
        assert_eq!(uri_parts(b"/a/b"), (None, &b"/a/b"[..], None));
        assert_eq!(uri_parts(b"https://h"), (Some(&b"h"[..]), &b""[..], None));
        assert_eq!(uri_parts(b"/x?"), (None, &b"/x"[..], Some(&b""[..])));
        assert_eq!(
            target_parts(b"CONNECT", b"example.com:443"),
            (Some(&b"example.com:443"[..]), &b""[..], None)
        );
        assert_eq!(
            target_parts(b"GET", b"/a?b"),
            (None, &b"/a"[..], Some(&b"b"[..]))
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number(b"+12"), Some(12));
        assert_eq!(parse_number(b"-1"), Some(-1));
        assert_eq!(parse_number(b"-"), None);
        assert_eq!(parse_number(b""), None);
        assert_eq!(parse_number(b"1x"), None);
        assert_eq!(parse_number(b"99999999999999999999"), None);
        assert_eq!(
            parse_number(b"999999999999999999"),
            Some(999_999_999_999_999_999)
        );
        assert_eq!(parse_number(b"0"), Some(0));
        assert_eq!(parse_number(b"\"\""), None);
    }

    /// The plain-digits fast path answers as the general reading does, on
    /// every string of a few bytes that numbers are made of, and on long
    /// runs of digits around the 18-digit limit.
    #[test]
    fn numbers_fast_path_agrees() {
        fn general(v: &[u8]) -> Option<i64> {
            let v = v.strip_prefix(b"+").unwrap_or(v);
            let (negative, digits) = match v.strip_prefix(b"-") {
                Some(d) => (true, d),
                None => (false, v),
            };
            if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let n: i64 = std::str::from_utf8(digits).unwrap().parse().unwrap();
            Some(if negative { -n } else { n })
        }
        let alphabet = b"09+-/ x";
        let mut strings: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..5 {
            let longer: Vec<Vec<u8>> = strings
                .iter()
                .filter(|s| s.len() == strings.last().unwrap().len())
                .flat_map(|s| {
                    alphabet.iter().map(move |&b| {
                        let mut t = s.clone();
                        t.push(b);
                        t
                    })
                })
                .collect();
            strings.extend(longer);
        }
        for n in 15..22 {
            for prefix in ["", "+", "-", "+-"] {
                strings.push(format!("{prefix}{}", "9".repeat(n)).into_bytes());
                strings.push(format!("{prefix}1{}", "0".repeat(n - 1)).into_bytes());
            }
        }
        for s in &strings {
            assert_eq!(
                parse_number(s),
                general(s),
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn traffic_error_and_events() {
        let formats = Formats::new(&FormatOptions::default()).unwrap();
        let mut p = LineParser::new(&formats, None);
        let r = p.parse(b"Nov 24 15:53:23 localhost haproxy[7725]: 127.0.0.1:34818 [24/Nov/2026:15:53:23.567] fe_tcp bt_static/nginx1 1/0/0 272 -- 1/1/0/0/0 0/0");
        assert_eq!(r.kind, Kind::Traffic);
        assert_eq!(r.format.unwrap().name, "tcplog");
        assert_eq!(r.number(Field::BytesRead), Some(272));
        assert_eq!(r.get(Field::Status), None, "tcplog has no status");
        assert!(!r.incomplete());
        assert_eq!(r.date().unwrap().local_ms, 1_795_535_603_567);
        let r = p.parse(b"Nov 24 15:56:37 localhost haproxy[13993]: 127.0.0.1:44306 [24/Nov/2026:15:56:37.128] fe_https_errfmt~ 1/1 34/000000000A00009C/0/0/0 -/TLSv1.3/(NONE)");
        assert_eq!(r.kind, Kind::Error);
        assert_eq!(r.get(Field::SslError), Some(&b"000000000A00009C"[..]));
        let r = p.parse(b"Nov 24 15:53:23 localhost haproxy[7725]: Proxy fe_tcp stopped (cumulated conns: FE: 3, BE: 0).");
        assert_eq!(r.kind, Kind::ProxyLifecycle);
        assert!(r.format.is_none());
    }

    /// `option logasap`: `+` before the total time and the bytes (spec
    /// 8.2.2/8.2.3), not before the retries (a redispatch).
    #[test]
    fn logasap_lines_are_incomplete() {
        let formats = Formats::new(&FormatOptions::default()).unwrap();
        let mut p = LineParser::new(&formats, None);
        let lines: [(&[u8], bool); 4] = [
            (b"haproxy[14387]: 10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/+5007 +212 -- 0/0/0/0/3 0/0", true),
            (b"haproxy[14387]: 10.0.1.2:33317 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0", false),
            (b"haproxy[14389]: 10.0.1.2:33319 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/+109 200 +2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} \"GET /index.html HTTP/1.1\"", true),
            (b"haproxy[14389]: 10.0.1.2:33319 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/+1 0/0 {1wt.eu} {} \"GET /index.html HTTP/1.1\"", false),
        ];
        for (line, incomplete) in lines {
            let r = p.parse(line);
            assert_eq!(r.kind, Kind::Traffic, "{}", String::from_utf8_lossy(line));
            assert_eq!(
                r.incomplete(),
                incomplete,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn appended_fields_read_as_httplog() {
        let formats = Formats::new(&FormatOptions::default()).unwrap();
        let mut p = LineParser::new(&formats, None);
        let r = p.parse(b"127.0.0.1:60662 [24/Nov/2026:15:54:02.757] fe_http be_static/nginx1 0/0/0/0/0 200 235 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\" 7F000001:A86E 1 TLSv1.3");
        assert_eq!(r.kind, Kind::Traffic);
        assert_eq!(r.format.unwrap().name, "httplog");
        assert_eq!(r.rest, Some(&b"7F000001:A86E 1 TLSv1.3"[..]));
        assert_eq!(r.number(Field::Status), Some(200));
    }

    #[test]
    fn custom_formats_come_first() {
        let options = FormatOptions {
            custom: vec!["%ci:%cp [%tr] %ft %b/%s %ST %{+Q}r %ID".into()],
            legacy_timers: false,
        };
        let formats = Formats::new(&options).unwrap();
        let mut p = LineParser::new(&formats, None);
        let r = p.parse(
            b"10.0.0.1:5 [24/Nov/2026:15:54:02.757] fe be/s1 503 \"GET /x HTTP/1.1\" abc-123",
        );
        assert_eq!(r.format.unwrap().name, "custom");
        assert_eq!(r.get(Field::UniqueId), Some(&b"abc-123"[..]));
        assert_eq!(r.number(Field::Status), Some(503));
    }
}
