//! Transport headers: what syslog, journald or a container runtime puts in
//! front of HAProxy's message.
//!
//! Each style is recognised by its shape, anchored at the start of the line
//! (log-formats spec, e.3). A message never starts like a header: traffic
//! starts with `ip:port [`, so the tag pattern `[^ \[\]:]+` followed by
//! `[pid]:` or `:` cannot swallow it.

use std::fmt;

use crate::learn::FirstLines;

/// The header styles HAProxy and its collectors write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HeaderStyle {
    /// `<134>1 2026-11-24T15:54:02.758234+00:00 - haproxy 9228 - - ` (RFC 5424,
    /// HAProxy's `format rfc5424`, rsyslog's SyslogProtocol23Format).
    Rfc5424,
    /// `<134>Nov 24 15:54:02 localhost haproxy[9228]: ` (`format rfc3164`).
    PriBsdHostTag,
    /// `<134>Nov 24 15:54:02 haproxy[9228]: ` (HAProxy's default `local`).
    PriBsdTag,
    /// `Nov 24 15:54:02 localhost haproxy[9228]: ` (rsyslog traditional,
    /// `journalctl -o short` and `short-precise`, syslog-ng).
    BsdHostTag,
    /// `Nov 24 15:54:02 haproxy[9228]: `.
    BsdTag,
    /// `2026-11-24T15:54:02+00:00 localhost haproxy[9228]: ` (rsyslog's
    /// FileFormat, Debian 12's default; `journalctl -o short-iso`).
    IsoHostTag,
    /// `1795535642.758261 vm haproxy[9228]: ` (`journalctl -o short-unix`).
    UnixHostTag,
    /// `<6>2026-11-24T15:54:02.758246+00:00 ` (`format timed`).
    PriIso,
    /// `2026-11-24T15:54:02.758242+00:00 ` (`format iso`; `docker logs -t`).
    Iso,
    /// `<6>` or `<134>` glued to the message (`format short`, `priority`).
    Pri,
    /// `[WARNING]  (9228) : ` (HAProxy's own stderr).
    Stderr,
    /// `haproxy[9228]: ` alone: the tag with no time or host, as HAProxy's
    /// documentation prints its examples and rsyslog writes with a
    /// `%syslogtag%%msg%` template.
    Tag,
    /// Nothing: `format raw`, `journalctl -o cat`, a container's stdout.
    None,
}

impl HeaderStyle {
    /// Every style, in the order a line is tried against them.
    pub const ALL: [HeaderStyle; 13] = [
        HeaderStyle::Rfc5424,
        HeaderStyle::PriBsdHostTag,
        HeaderStyle::PriBsdTag,
        HeaderStyle::BsdHostTag,
        HeaderStyle::BsdTag,
        HeaderStyle::IsoHostTag,
        HeaderStyle::UnixHostTag,
        HeaderStyle::PriIso,
        HeaderStyle::Iso,
        HeaderStyle::Pri,
        HeaderStyle::Stderr,
        HeaderStyle::Tag,
        HeaderStyle::None,
    ];

    /// The name used on the command line (`--header NAME`) and in output.
    pub fn name(self) -> &'static str {
        match self {
            HeaderStyle::Rfc5424 => "rfc5424",
            HeaderStyle::PriBsdHostTag => "pri-bsd-host-tag",
            HeaderStyle::PriBsdTag => "pri-bsd-tag",
            HeaderStyle::BsdHostTag => "bsd-host-tag",
            HeaderStyle::BsdTag => "bsd-tag",
            HeaderStyle::IsoHostTag => "iso-host-tag",
            HeaderStyle::UnixHostTag => "unix-host-tag",
            HeaderStyle::PriIso => "pri-iso",
            HeaderStyle::Iso => "iso",
            HeaderStyle::Pri => "pri",
            HeaderStyle::Stderr => "stderr",
            HeaderStyle::Tag => "tag",
            HeaderStyle::None => "none",
        }
    }

    /// What the style looks like, for `--help` and error messages.
    pub fn example(self) -> &'static str {
        match self {
            HeaderStyle::Rfc5424 => "<134>1 2024-05-01T14:00:00.123+00:00 host haproxy 9228 - - ",
            HeaderStyle::PriBsdHostTag => "<134>May  1 14:00:00 host haproxy[9228]: ",
            HeaderStyle::PriBsdTag => "<134>May  1 14:00:00 haproxy[9228]: ",
            HeaderStyle::BsdHostTag => "May  1 14:00:00 host haproxy[9228]: ",
            HeaderStyle::BsdTag => "May  1 14:00:00 haproxy[9228]: ",
            HeaderStyle::IsoHostTag => "2024-05-01T14:00:00+00:00 host haproxy[9228]: ",
            HeaderStyle::UnixHostTag => "1714572000.123456 host haproxy[9228]: ",
            HeaderStyle::PriIso => "<134>2024-05-01T14:00:00.123+00:00 ",
            HeaderStyle::Iso => "2024-05-01T14:00:00.123+00:00 ",
            HeaderStyle::Pri => "<134>",
            HeaderStyle::Stderr => "[WARNING]  (9228) : ",
            HeaderStyle::Tag => "haproxy[9228]: ",
            HeaderStyle::None => "(nothing)",
        }
    }

    /// The same header with its `<PRI>` added or dropped: a forced style
    /// reads both (`--header rfc3164` reads a file written with or without
    /// the priority).
    fn twin(self) -> Option<HeaderStyle> {
        match self {
            HeaderStyle::PriBsdHostTag => Some(HeaderStyle::BsdHostTag),
            HeaderStyle::BsdHostTag => Some(HeaderStyle::PriBsdHostTag),
            HeaderStyle::PriBsdTag => Some(HeaderStyle::BsdTag),
            HeaderStyle::BsdTag => Some(HeaderStyle::PriBsdTag),
            HeaderStyle::PriIso => Some(HeaderStyle::Iso),
            HeaderStyle::Iso => Some(HeaderStyle::PriIso),
            _ => None,
        }
    }

    /// Every name `--header` takes, each with its example, one per line:
    /// the one list `--help`, errors and the docs show.
    pub fn help_list() -> String {
        let mut out = String::new();
        for style in HeaderStyle::ALL {
            let mut names = style.name().to_string();
            for alias in style.aliases() {
                names.push_str(", ");
                names.push_str(alias);
            }
            out.push_str(&format!("  {names:<37} {}\n", style.example()));
        }
        out
    }

    /// Other names for the style, the ones users know from HAProxy's
    /// `log ... format NAME` and from collectors.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            HeaderStyle::Rfc5424 => &["protocol23"],
            HeaderStyle::PriBsdHostTag => &["rfc3164"],
            HeaderStyle::PriBsdTag => &["local"],
            HeaderStyle::BsdHostTag => &["bsd", "traditional", "short"],
            HeaderStyle::BsdTag => &[],
            HeaderStyle::IsoHostTag => &["fileformat", "short-iso"],
            HeaderStyle::UnixHostTag => &["short-unix"],
            HeaderStyle::PriIso => &["timed"],
            HeaderStyle::Iso => &[],
            HeaderStyle::Pri => &["priority"],
            HeaderStyle::Stderr => &[],
            HeaderStyle::Tag => &["syslogtag"],
            HeaderStyle::None => &["raw", "cat"],
        }
    }

    /// The style a name or an alias stands for.
    pub fn from_name(name: &str) -> Option<HeaderStyle> {
        HeaderStyle::ALL
            .into_iter()
            .find(|s| s.name() == name || s.aliases().contains(&name))
    }
}

impl fmt::Display for HeaderStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed header; every part borrows from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    pub style: HeaderStyle,
    /// The syslog priority (facility × 8 + severity), when written.
    pub pri: Option<u16>,
    /// The header's time stamp as written (BSD, ISO 8601 or epoch seconds).
    pub timestamp: Option<&'a [u8]>,
    pub host: Option<&'a [u8]>,
    /// The syslog tag or RFC 5424 app name (`haproxy`).
    pub tag: Option<&'a [u8]>,
    pub pid: Option<&'a [u8]>,
    /// The severity word of HAProxy's stderr (`WARNING`).
    pub severity: Option<&'a [u8]>,
    /// Where the message starts in the line.
    pub message_start: usize,
}

impl<'a> Header<'a> {
    pub(crate) fn new(style: HeaderStyle) -> Header<'a> {
        Header {
            style,
            pri: None,
            timestamp: None,
            host: None,
            tag: None,
            pid: None,
            severity: None,
            message_start: 0,
        }
    }

    /// The message after this header.
    pub fn message(&self, line: &'a [u8]) -> &'a [u8] {
        &line[self.message_start.min(line.len())..]
    }

    /// The syslog severity (0 emergency … 7 debug), from the priority.
    pub fn syslog_severity(&self) -> Option<u8> {
        self.pri.map(|p| (p & 7) as u8)
    }

    /// The syslog facility (16 = local0), from the priority.
    pub fn syslog_facility(&self) -> Option<u8> {
        self.pri.map(|p| (p >> 3) as u8)
    }
}

/// Parses the header of `line` as `style`; `None` when the line does not
/// have that shape. [`HeaderStyle::None`] always matches.
pub fn parse(line: &[u8], style: HeaderStyle) -> Option<Header<'_>> {
    let mut h = Header::new(style);
    let mut c = Cursor { line, pos: 0 };
    match style {
        HeaderStyle::Rfc5424 => {
            h.pri = Some(c.pri()?);
            c.literal(b"1 ")?;
            h.timestamp = Some(c.token()?);
            c.literal(b" ")?;
            h.host = Some(c.token()?);
            c.literal(b" ")?;
            h.tag = Some(c.token()?);
            c.literal(b" ")?;
            h.pid = Some(c.token()?);
            c.literal(b" ")?;
            c.token()?; // MSGID
            c.literal(b" ")?;
            c.structured_data()?;
            // rsyslog's SyslogProtocol23Format writes two spaces.
            c.spaces_or_end()?;
        }
        HeaderStyle::PriBsdHostTag | HeaderStyle::PriBsdTag => {
            h.pri = Some(c.pri()?);
            h.timestamp = Some(c.bsd_time()?);
            c.literal(b" ")?;
            if style == HeaderStyle::PriBsdHostTag {
                h.host = Some(c.host()?);
            }
            c.tag(&mut h)?;
        }
        HeaderStyle::BsdHostTag | HeaderStyle::BsdTag => {
            h.timestamp = Some(c.bsd_time()?);
            c.literal(b" ")?;
            if style == HeaderStyle::BsdHostTag {
                h.host = Some(c.host()?);
            }
            c.tag(&mut h)?;
        }
        HeaderStyle::IsoHostTag => {
            h.timestamp = Some(c.iso_time()?);
            c.literal(b" ")?;
            h.host = Some(c.host()?);
            c.tag(&mut h)?;
        }
        HeaderStyle::UnixHostTag => {
            h.timestamp = Some(c.unix_time()?);
            c.literal(b" ")?;
            h.host = Some(c.host()?);
            c.tag(&mut h)?;
        }
        HeaderStyle::PriIso => {
            h.pri = Some(c.pri()?);
            h.timestamp = Some(c.iso_time()?);
            c.literal(b" ")?;
        }
        HeaderStyle::Iso => {
            h.timestamp = Some(c.iso_time()?);
            c.literal(b" ")?;
        }
        HeaderStyle::Pri => {
            h.pri = Some(c.pri()?);
        }
        HeaderStyle::Stderr => {
            c.literal(b"[")?;
            let start = c.pos;
            c.take_while(|b| b.is_ascii_uppercase())?;
            h.severity = Some(&line[start..c.pos]);
            c.literal(b"]")?;
            c.take_while(|b| b == b' ')?;
            c.literal(b"(")?;
            let start = c.pos;
            c.take_while(|b| b.is_ascii_digit())?;
            h.pid = Some(&line[start..c.pos]);
            c.literal(b") : ")?;
        }
        HeaderStyle::Tag => c.tag(&mut h)?,
        HeaderStyle::None => {}
    }
    h.message_start = c.pos;
    Some(h)
}

/// Tries every style in turn; the first that fits wins.
pub fn detect(line: &[u8]) -> Header<'_> {
    HeaderStyle::ALL
        .iter()
        .find_map(|&style| parse(line, style))
        .expect("HeaderStyle::None always matches")
}

/// Learns a file's header style from its first lines, then parses every
/// line with it, falling back to [`detect`] for lines of another shape (a
/// file whose collector changed format part way).
#[derive(Clone, Debug)]
pub struct HeaderDetector {
    forced: Option<HeaderStyle>,
    first: FirstLines<{ HeaderStyle::ALL.len() }>,
    settled: Option<HeaderStyle>,
    /// The last header parsed with the settled style, as bytes and as
    /// positions: the lines of one second share their whole header.
    last_bytes: Vec<u8>,
    last: Option<Layout>,
}

/// A header's parts as positions in its line.
#[derive(Clone, Copy, Debug)]
struct Layout {
    style: HeaderStyle,
    pri: Option<u16>,
    timestamp: Option<(usize, usize)>,
    host: Option<(usize, usize)>,
    tag: Option<(usize, usize)>,
    pid: Option<(usize, usize)>,
    severity: Option<(usize, usize)>,
    message_start: usize,
}

impl Layout {
    fn of(line: &[u8], h: &Header<'_>) -> Layout {
        let base = line.as_ptr() as usize;
        let range = |part: Option<&[u8]>| {
            part.map(|p| {
                let start = p.as_ptr() as usize - base;
                (start, start + p.len())
            })
        };
        Layout {
            style: h.style,
            pri: h.pri,
            timestamp: range(h.timestamp),
            host: range(h.host),
            tag: range(h.tag),
            pid: range(h.pid),
            severity: range(h.severity),
            message_start: h.message_start,
        }
    }

    fn header<'a>(&self, line: &'a [u8]) -> Header<'a> {
        let part = |r: Option<(usize, usize)>| r.map(|(a, b)| &line[a..b]);
        Header {
            style: self.style,
            pri: self.pri,
            timestamp: part(self.timestamp),
            host: part(self.host),
            tag: part(self.tag),
            pid: part(self.pid),
            severity: part(self.severity),
            message_start: self.message_start,
        }
    }
}

impl HeaderDetector {
    /// `forced` (from `--header`) skips detection: lines of another shape
    /// are then read as headerless.
    pub fn new(forced: Option<HeaderStyle>) -> HeaderDetector {
        HeaderDetector {
            forced,
            first: FirstLines::new(),
            settled: None,
            last_bytes: Vec::new(),
            last: None,
        }
    }

    /// Forgets what was learnt: the next line starts another input.
    pub fn reset(&mut self) {
        *self = HeaderDetector::new(self.forced);
    }

    /// The style settled on so far, if any.
    pub fn style(&self) -> Option<HeaderStyle> {
        self.forced.or(self.settled)
    }

    /// The header of one line.
    pub fn header<'a>(&mut self, line: &'a [u8]) -> Header<'a> {
        if let Some(style) = self.forced {
            return parse(line, style)
                .or_else(|| parse(line, style.twin()?))
                .unwrap_or_else(|| Header::new(HeaderStyle::None));
        }
        if let Some(style) = self.settled {
            // Same header bytes as the last line (same second, host, pid),
            // and a message that does not start with a blank the header
            // would have taken: same header.
            if let Some(layout) = self.last {
                let n = layout.message_start;
                if line.len() > n && line[n] != b' ' && line[..n] == self.last_bytes[..] {
                    return layout.header(line);
                }
            }
            if let Some(h) = parse(line, style) {
                self.last = Some(Layout::of(line, &h));
                self.last_bytes.clear();
                self.last_bytes.extend_from_slice(&line[..h.message_start]);
                return h;
            }
            return detect(line);
        }
        let h = detect(line);
        // Headerless counts for nothing: it is settled on only when no
        // other style was seen.
        let index = (h.style != HeaderStyle::None).then(|| {
            HeaderStyle::ALL
                .iter()
                .position(|&s| s == h.style)
                .expect("a known style")
        });
        if let Some(best) = self.first.count(index) {
            self.settled = Some(best.map_or(HeaderStyle::None, |i| HeaderStyle::ALL[i]));
        }
        h
    }
}

/// A position in a line, with small shape matchers that advance it.
struct Cursor<'a> {
    line: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.line.get(self.pos).copied()
    }

    fn literal(&mut self, text: &[u8]) -> Option<()> {
        if self.line[self.pos..].starts_with(text) {
            self.pos += text.len();
            Some(())
        } else {
            None
        }
    }

    /// One or more bytes satisfying `pred`.
    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> Option<&'a [u8]> {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.line[start..self.pos])
    }

    fn digits(&mut self, n: usize) -> Option<()> {
        let end = self.pos + n;
        if end <= self.line.len() && self.line[self.pos..end].iter().all(u8::is_ascii_digit) {
            self.pos = end;
            Some(())
        } else {
            None
        }
    }

    /// A run of non-space bytes.
    fn token(&mut self) -> Option<&'a [u8]> {
        self.take_while(|b| b != b' ')
    }

    /// `<N>` with 1 to 3 digits, N ≤ 191.
    fn pri(&mut self) -> Option<u16> {
        self.literal(b"<")?;
        let digits = self.take_while(|b| b.is_ascii_digit())?;
        if digits.len() > 3 {
            return None;
        }
        self.literal(b">")?;
        let value = digits
            .iter()
            .fold(0u16, |v, &d| v * 10 + u16::from(d - b'0'));
        (value <= 191).then_some(value)
    }

    /// `Mmm dd hh:mm:ss[.ffffff]`, the day padded with a space.
    fn bsd_time(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        let month = self.line.get(self.pos..self.pos + 3)?;
        crate::time::month(month)?;
        self.pos += 3;
        self.literal(b" ")?;
        if self.peek() == Some(b' ') {
            self.pos += 1;
            self.digits(1)?;
        } else {
            self.take_while(|b| b.is_ascii_digit())
                .filter(|d| d.len() <= 2)?;
        }
        self.literal(b" ")?;
        self.clock()?;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.take_while(|b| b.is_ascii_digit())?;
        }
        Some(&self.line[start..self.pos])
    }

    /// `hh:mm:ss`.
    fn clock(&mut self) -> Option<()> {
        self.digits(2)?;
        self.literal(b":")?;
        self.digits(2)?;
        self.literal(b":")?;
        self.digits(2)
    }

    /// `YYYY-MM-DDThh:mm:ss[.f…][Z|±hh:mm|±hhmm]`.
    fn iso_time(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        self.digits(4)?;
        self.literal(b"-")?;
        self.digits(2)?;
        self.literal(b"-")?;
        self.digits(2)?;
        self.literal(b"T")?;
        self.clock()?;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.take_while(|b| b.is_ascii_digit())?;
        }
        match self.peek() {
            Some(b'Z') => self.pos += 1,
            Some(b'+' | b'-') => {
                self.pos += 1;
                self.digits(2)?;
                if self.peek() == Some(b':') {
                    self.pos += 1;
                }
                self.digits(2)?;
            }
            _ => {}
        }
        Some(&self.line[start..self.pos])
    }

    /// `seconds.micros` since the epoch.
    fn unix_time(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        self.take_while(|b| b.is_ascii_digit())?;
        self.literal(b".")?;
        self.take_while(|b| b.is_ascii_digit())?;
        Some(&self.line[start..self.pos])
    }

    /// A host name, followed by the space before the tag. A host is never
    /// followed by `:` or `[`, which is how a tag-only header differs.
    fn host(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        let host = self.take_while(|b| b != b' ' && b != b'[' && b != b']' && b != b':')?;
        if self.peek() != Some(b' ') {
            self.pos = start;
            return None;
        }
        self.pos += 1;
        Some(host)
    }

    /// `TAG[PID]: ` or `TAG: `.
    fn tag(&mut self, h: &mut Header<'a>) -> Option<()> {
        h.tag = Some(self.take_while(|b| !matches!(b, b' ' | b'[' | b']' | b':'))?);
        if self.peek() == Some(b'[') {
            self.pos += 1;
            h.pid = Some(self.take_while(|b| b != b']' && b != b' ')?);
            self.literal(b"]")?;
        }
        self.literal(b":")?;
        self.spaces_or_end()
    }

    /// RFC 5424 structured data: `-` or one or more `[id k="v" …]`.
    fn structured_data(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
            return Some(());
        }
        let mut any = false;
        while self.peek() == Some(b'[') {
            self.pos += 1;
            // Inside an element, `\]` and `\"` are escaped; quoted values may
            // hold `]`.
            let mut quoted = false;
            loop {
                let b = self.peek()?;
                self.pos += 1;
                match b {
                    b'\\' => self.pos += 1,
                    b'"' => quoted = !quoted,
                    b']' if !quoted => break,
                    _ => {}
                }
            }
            any = true;
        }
        any.then_some(())
    }

    /// One space (or more), or the end of the line.
    fn spaces_or_end(&mut self) -> Option<()> {
        match self.peek() {
            None => Some(()),
            Some(b' ') => {
                while self.peek() == Some(b' ') {
                    self.pos += 1;
                }
                Some(())
            }
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &str = "127.0.0.1:60662 [24/Nov/2026:15:54:02.757] fe_http be_static/nginx1 0/0/0/0/0 200 235 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"";

    fn check(prefix: &str, style: HeaderStyle) -> Header<'static> {
        let line: &'static str = Box::leak(format!("{prefix}{MSG}").into_boxed_str());
        let h = detect(line.as_bytes());
        assert_eq!(h.style, style, "{prefix:?}");
        assert_eq!(h.message(line.as_bytes()), MSG.as_bytes(), "{prefix:?}");
        h
    }

    #[test]
    fn every_style_from_the_real_corpus() {
        let h = check(
            "<134>1 2026-11-24T15:54:02.758234+00:00 - haproxy 9228 - - ",
            HeaderStyle::Rfc5424,
        );
        assert_eq!(h.pri, Some(134));
        assert_eq!(h.tag, Some(&b"haproxy"[..]));
        assert_eq!(h.pid, Some(&b"9228"[..]));
        check(
            "<134>1 2026-11-24T15:54:02+00:00 localhost haproxy 9228 - -  ",
            HeaderStyle::Rfc5424,
        );
        check(
            "<134>1 2026-11-24T15:54:02Z host haproxy 9228 - [meta x=\"a]b\"][o k=\"v\"] ",
            HeaderStyle::Rfc5424,
        );
        let h = check(
            "<134>Nov 24 15:54:02 localhost haproxy[9228]: ",
            HeaderStyle::PriBsdHostTag,
        );
        assert_eq!(h.host, Some(&b"localhost"[..]));
        check(
            "<134>Nov 24 15:54:02 haproxy[9228]: ",
            HeaderStyle::PriBsdTag,
        );
        let h = check(
            "Nov 24 15:54:02 localhost haproxy[9228]: ",
            HeaderStyle::BsdHostTag,
        );
        assert_eq!(h.timestamp, Some(&b"Nov 24 15:54:02"[..]));
        check(
            "Nov  4 15:54:02.758261 vm haproxy[9228]: ",
            HeaderStyle::BsdHostTag,
        );
        check("Mar  4 10:00:00 lb1 haproxy: ", HeaderStyle::BsdHostTag);
        check("Nov 24 15:54:02 haproxy[9228]: ", HeaderStyle::BsdTag);
        check(
            "2026-11-24T15:54:02+00:00 localhost haproxy[9228]: ",
            HeaderStyle::IsoHostTag,
        );
        check(
            "2026-11-24T15:54:02.758261+0000 vm haproxy[9228]: ",
            HeaderStyle::IsoHostTag,
        );
        check(
            "1795535642.758261 vm haproxy[9228]: ",
            HeaderStyle::UnixHostTag,
        );
        let h = check("<6>2026-11-24T15:54:02.758246+00:00 ", HeaderStyle::PriIso);
        assert_eq!(h.syslog_severity(), Some(6));
        check("2026-11-24T15:54:02.758242+00:00 ", HeaderStyle::Iso);
        check("2026-11-24T15:54:02.123456789Z ", HeaderStyle::Iso);
        let h = check("<134>", HeaderStyle::Pri);
        assert_eq!(h.syslog_facility(), Some(16));
        check("<6>", HeaderStyle::Pri);
        check("", HeaderStyle::None);
    }

    /// HAProxy's documentation prints every example after the tag alone,
    /// and rsyslog writes it so with a `%syslogtag%%msg%` template.
    #[test]
    fn bare_tag() {
        let h = check("haproxy[14387]: ", HeaderStyle::Tag);
        assert_eq!(h.tag, Some(&b"haproxy"[..]));
        assert_eq!(h.pid, Some(&b"14387"[..]));
        assert_eq!(h.timestamp, None);
        let h = check("haproxy: ", HeaderStyle::Tag);
        assert_eq!(h.pid, None);
        let line = b"haproxy[14387]: 10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0";
        let h = parse(line, HeaderStyle::Tag).unwrap();
        assert!(h.message(line).starts_with(b"10.0.1.2:33313 ["));
    }

    #[test]
    fn a_forced_style_reads_its_twin_with_or_without_pri() {
        let style = HeaderStyle::from_name("rfc3164").unwrap();
        for prefix in [
            "<134>Nov 24 15:54:02 localhost haproxy[9228]: ",
            "Nov 24 15:54:02 localhost haproxy[9228]: ",
        ] {
            let line = format!("{prefix}{MSG}");
            let h = HeaderDetector::new(Some(style)).header(line.as_bytes());
            assert_eq!(h.message(line.as_bytes()), MSG.as_bytes(), "{prefix}");
            assert_eq!(h.host, Some(&b"localhost"[..]));
        }
        let line = format!("2026-11-24T15:54:02Z {MSG}");
        let h = HeaderDetector::new(Some(HeaderStyle::PriIso)).header(line.as_bytes());
        assert_eq!(h.message(line.as_bytes()), MSG.as_bytes());
    }

    #[test]
    fn stderr_lines() {
        let line = b"[WARNING]  (9228) : Server be_down/dead1 is DOWN";
        let h = detect(line);
        assert_eq!(h.style, HeaderStyle::Stderr);
        assert_eq!(h.severity, Some(&b"WARNING"[..]));
        assert_eq!(h.pid, Some(&b"9228"[..]));
        assert_eq!(h.message(line), b"Server be_down/dead1 is DOWN");
    }

    #[test]
    fn messages_are_never_taken_for_headers() {
        for message in [
            MSG,
            "Health check for server be_flap/flap1 succeeded, reason: Layer4 check passed",
            "Connect from 127.0.0.1:48594 to 127.0.0.1:18000 (fe_http/HTTP)",
            "127.0.0.1:57976 [24/Nov/2026:15:53:35.979] fe_tcp_tls/1: SSL handshake failure",
            "127.0.0.1 - - [24/Nov/2026:15:55:13 +0000] \"GET / HTTP/1.1\" 200 235",
            "{\"client_ip\":\"127.0.0.1\"}",
            "<BADREQ>",
            "[24/Nov/2026:15:55:13 +0000]",
            "Proxy fe_http stopped (cumulated conns: FE: 10, BE: 0).",
        ] {
            let h = detect(message.as_bytes());
            assert_eq!(h.style, HeaderStyle::None, "{message}");
            assert_eq!(h.message_start, 0);
        }
    }

    #[test]
    fn pri_bounds() {
        assert_eq!(detect(b"<191>x").style, HeaderStyle::Pri);
        assert_eq!(detect(b"<192>x").style, HeaderStyle::None);
        assert_eq!(detect(b"<1234>x").style, HeaderStyle::None);
        assert_eq!(detect(b"<>x").style, HeaderStyle::None);
    }

    #[test]
    fn detector_settles_and_falls_back() {
        let mut d = HeaderDetector::new(None);
        let bsd = format!("Nov 24 15:54:02 localhost haproxy[9228]: {MSG}");
        for _ in 0..crate::learn::LEARN_LINES {
            assert_eq!(d.header(bsd.as_bytes()).style, HeaderStyle::BsdHostTag);
        }
        assert_eq!(d.style(), Some(HeaderStyle::BsdHostTag));
        let iso = format!("2026-11-24T15:54:02+00:00 localhost haproxy[9228]: {MSG}");
        assert_eq!(d.header(iso.as_bytes()).style, HeaderStyle::IsoHostTag);

        let mut forced = HeaderDetector::new(Some(HeaderStyle::Pri));
        assert_eq!(forced.header(b"<6>x").message_start, 3);
        assert_eq!(forced.header(bsd.as_bytes()).style, HeaderStyle::None);
    }

    #[test]
    fn a_repeated_header_comes_from_the_cache_unchanged() {
        let mut d = HeaderDetector::new(None);
        let lines = [
            format!("Nov 24 15:54:02 localhost haproxy[9228]: {MSG}"),
            format!("Nov 24 15:54:02 localhost haproxy[9228]: x{MSG}"),
            format!("Nov 24 15:54:02 localhost haproxy[9228]:  {MSG}"),
            format!("Nov 24 15:54:03 localhost haproxy[9228]: {MSG}"),
            "Nov 24 15:54:03 localhost haproxy[9228]: ".to_string(),
        ];
        for round in 0..crate::learn::LEARN_LINES + 3 {
            for line in &lines {
                let got = d.header(line.as_bytes());
                assert_eq!(got, detect(line.as_bytes()), "round {round}: {line:?}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for style in HeaderStyle::ALL {
            assert_eq!(HeaderStyle::from_name(style.name()), Some(style));
            for alias in style.aliases() {
                assert_eq!(HeaderStyle::from_name(alias), Some(style), "{alias}");
            }
            assert!(HeaderStyle::help_list().contains(style.name()));
        }
        assert_eq!(HeaderStyle::from_name("bogus"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_without_panic(line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120)) {
            let h = detect(&line);
            proptest::prop_assert!(h.message_start <= line.len());
            for style in HeaderStyle::ALL {
                if let Some(h) = parse(&line, style) {
                    proptest::prop_assert!(h.message_start <= line.len());
                }
            }
        }
    }
}
