//! haproxy_log_analysis's reading of a line: its one regex, its request
//! regex and its derived `ip` and `is_https`, reproduced exactly (the
//! regexes are the tool's, run by a linear-time engine, so no line can
//! stall the run as a crafted one stalls Python's backtracking).

use std::sync::OnceLock;

use regex::Regex;

use crate::time::{parse_accept_date, NaiveTime};

/// Python's `\s` on text: `str.isspace()`, which is Unicode White_Space
/// plus the four information separators U+001C..U+001F.
const WS: &str = r"[\s\x1c-\x1f]";

fn line_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // The tool's HAPROXY_LINE_REGEX, piece by piece. `\d` is ASCII
        // here: the values go through `int()`, which this port reads as
        // ASCII numbers.
        let pattern = [
            r"\A.*\]:",
            WS,
            r"+(?P<client_ip>[a-fA-F0-9+.:]+):(?P<client_port>[0-9]+)",
            WS,
            r"+\[(?P<accept_date>.+)\]",
            WS,
            r"+(?P<frontend_name>.*)",
            WS,
            r"+(?P<backend_name>.*)/(?P<server_name>.*)",
            WS,
            r"+(?P<tq>-?[0-9]+)/(?P<tw>-?[0-9]+)/(?P<tc>-?[0-9]+)/(?P<tr>-?[0-9]+)/(?P<tt>\+?[0-9]+)",
            WS,
            r"+(?P<status_code>-?[0-9]+)",
            WS,
            r"+(?P<bytes_read>\+?[0-9]+)",
            WS,
            r"+.*",
            WS,
            r"+(?P<act>[0-9]+)/(?P<fe>[0-9]+)/(?P<be>[0-9]+)/(?P<srv>[0-9]+)/(?P<retries>\+?[0-9]+)",
            WS,
            r"+(?P<queue_server>[0-9]+)/(?P<queue_backend>[0-9]+)",
            WS,
            r"+(\{(?P<request_headers>.*)\}",
            WS,
            r"+\{(?P<response_headers>.*)\}",
            WS,
            r"+|\{(?P<headers>.*)\}",
            WS,
            r#"+|)"(?P<http_request>.*)"\z"#,
        ]
        .concat();
        Regex::new(&pattern).expect("the line regex compiles")
    })
}

fn request_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let pattern = [
            r"\A(?P<method>\w+)",
            WS,
            r"+(?P<path>(/[`´\\<>/\w:,;.#$!?=&@%_+'*^~|()\[\]{}-]*)+)(",
            WS,
            r"+(?P<protocol>\w+/[0-9]\.[0-9]))?",
        ]
        .concat();
        Regex::new(&pattern).expect("the request regex compiles")
    })
}

/// A line the tool would accept, with the fields its commands and filters
/// use. Text fields borrow from the line.
#[derive(Clone, Debug, PartialEq)]
pub struct Line<'a> {
    pub raw: &'a str,
    pub client_ip: &'a str,
    pub accept_date: NaiveTime,
    pub frontend: &'a str,
    pub backend: &'a str,
    pub server: &'a str,
    pub tw: i64,
    pub tr: i64,
    pub status: &'a str,
    pub bytes_read: &'a str,
    pub queue_backend: i64,
    pub request_headers: Option<&'a str>,
    pub request: &'a str,
    /// `invalid` when the request line does not parse.
    pub method: &'a str,
    pub path: &'a str,
    /// The request line parsed (else method and path are `invalid`).
    pub request_parsed: bool,
}

/// Why a line is not counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Not the tool's httplog shape (silently skipped by the tool).
    Shape,
    /// The shape, but an accept date `strptime` cannot read (the tool
    /// aborts the whole run on these).
    AcceptDate,
}

/// Python's `int()` of a `-?\d+` or `\d+` match.
fn int(s: &str) -> i64 {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    // Absurdly long numbers saturate (Python's are unbounded).
    let n = digits.bytes().fold(0i64, |n, d| {
        n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
    });
    if negative {
        -n
    } else {
        n
    }
}

impl<'a> Line<'a> {
    /// Reads one stripped line.
    pub fn parse(raw: &'a str) -> Result<Line<'a>, Rejection> {
        plain(raw).unwrap_or_else(|| Line::parse_by_regex(raw))
    }

    /// Whether `raw` is read without the regexes (for tests that want to
    /// know the plain reader was exercised).
    #[doc(hidden)]
    pub fn is_plain(raw: &str) -> bool {
        plain(raw).is_some()
    }

    /// [`Line::parse`] by the tool's regexes alone (the reference the
    /// plain-line reader is tested against).
    pub fn parse_by_regex(raw: &'a str) -> Result<Line<'a>, Rejection> {
        // The regex needs `]:` at least; most non-traffic lines fail here
        // without running it.
        if !raw.contains("]:") {
            return Err(Rejection::Shape);
        }
        let caps = line_regex().captures(raw).ok_or(Rejection::Shape)?;
        let text = |name: &str| caps.name(name).map_or("", |m| m.as_str());
        let accept_date = parse_accept_date(text("accept_date")).ok_or(Rejection::AcceptDate)?;
        let request = text("http_request");
        let (method, path, request_parsed) = match request_regex().captures(request) {
            Some(r) => (
                r.name("method").map_or("", |m| m.as_str()),
                r.name("path").map_or("", |m| m.as_str()),
                true,
            ),
            None => ("invalid", "invalid", false),
        };
        let request_headers = caps
            .name("headers")
            .or_else(|| caps.name("request_headers"))
            .map(|m| m.as_str());
        Ok(Line {
            raw,
            client_ip: text("client_ip"),
            accept_date,
            frontend: text("frontend_name"),
            backend: text("backend_name"),
            server: text("server_name"),
            tw: int(text("tw")),
            tr: int(text("tr")),
            status: text("status_code"),
            bytes_read: text("bytes_read"),
            queue_backend: int(text("queue_backend")),
            request_headers,
            request,
            method,
            path,
            request_parsed,
        })
    }

    /// The first X-Forwarded-For address when the first captured request
    /// header has one, else the client address.
    pub fn ip(&self) -> &'a str {
        if let Some(headers) = self.request_headers {
            let first = headers.split('|').next().unwrap_or("");
            if !first.is_empty() {
                return first.split(',').next().unwrap_or("");
            }
        }
        self.client_ip
    }

    /// The tool's test for TLS: `:443` in the request path.
    pub fn is_https(&self) -> bool {
        self.path.contains(":443")
    }
}

/// The most space-separated words before the request that the plain
/// reader takes (httplog has 10, captures with spaces add some).
const MAX_WORDS: usize = 48;

fn all_digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

/// `-?\d+` (with `sign` b'-') or `\+?\d+` (with b'+').
fn signed(s: &[u8], sign: u8) -> bool {
    all_digits(s.strip_prefix(&[sign]).unwrap_or(s))
}

/// `n` numbers joined by `/`, the last with `last_sign` allowed, the
/// others with `sign` (0: none).
fn number_group(token: &[u8], n: usize, sign: u8, last_sign: u8) -> bool {
    let mut parts = token.split(|&b| b == b'/');
    for i in 0..n {
        let Some(p) = parts.next() else {
            return false;
        };
        let s = if i + 1 == n { last_sign } else { sign };
        let ok = if s == 0 { all_digits(p) } else { signed(p, s) };
        if !ok {
            return false;
        }
    }
    parts.next().is_none()
}

fn request_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"`\\<>/:,;.#$!?=&@%_+'*^~|()[]{}-".contains(&c)
}

/// The tool's reading of a plain line, without its regex: ASCII, single
/// spaces, one `]:`, and every split the regex could make in only one
/// place (one timers group that status and bytes follow, no `]` after the
/// date, the quotes only around the request, braces only around the
/// captures). Then each greedy group has one possible end and the reading
/// below is the regex's. Anything else: `None`, and the regex decides.
fn plain(raw: &str) -> Option<Result<Line<'_>, Rejection>> {
    let b = raw.as_bytes();
    let tag = memchr::memmem::find(b, b"]: ")?;
    if memchr::memmem::find_iter(b, b"]:").nth(1).is_some() {
        return None;
    }
    // What the prefix's `.*` takes may hold anything; the rest must be
    // ASCII with single spaces.
    let rest = &b[tag + 3..];
    if !rest.is_ascii()
        || rest
            .iter()
            .any(|&c| c.is_ascii_whitespace() && c != b' ' || (0x1c..=0x1f).contains(&c))
        || memchr::memmem::find(rest, b"  ").is_some()
    {
        return None;
    }
    let base = tag + 3;
    // client: [a-fA-F0-9+.:]+ ':' port, then the date in brackets.
    let sp = memchr::memchr(b' ', rest)?;
    let client = &rest[..sp];
    let colon = memchr::memrchr(b':', client)?;
    let ip = &client[..colon];
    if ip.is_empty()
        || !ip
            .iter()
            .all(|&c| c.is_ascii_hexdigit() || matches!(c, b'+' | b'.' | b':'))
        || !all_digits(&client[colon + 1..])
    {
        return None;
    }
    let after = &rest[sp + 1..];
    if after.first() != Some(&b'[') {
        return None;
    }
    let close = memchr::memchr(b']', after)?;
    // The date's `]` must be the line's last (the greedy `.+` would take
    // a later one), and a space follows it.
    if memchr::memrchr(b']', after) != Some(close)
        || after.get(close + 1) != Some(&b' ')
        || close < 2
    {
        return None;
    }
    let date_start = base + sp + 2;
    let date = &raw[date_start..base + sp + 1 + close];
    let body_start = base + sp + 1 + close + 2;
    // Quotes: exactly two, around the request at the end.
    let body = &b[body_start..];
    if b.last() != Some(&b'"') || memchr::memchr_iter(b'"', body).count() != 2 {
        return None;
    }
    let open_quote = memchr::memchr(b'"', body)?;
    if open_quote == 0 || body[open_quote - 1] != b' ' {
        return None;
    }
    let request = &raw[body_start + open_quote + 1..raw.len() - 1];
    if request.contains(['{', '}']) {
        return None;
    }
    let head = &body[..open_quote - 1];
    // The words before the request, on the stack (a line with more is
    // left to the regex).
    let mut words: [&[u8]; MAX_WORDS] = [&[]; MAX_WORDS];
    let mut count = 0;
    for word in head.split(|&c| c == b' ') {
        *words.get_mut(count)? = word;
        count += 1;
    }
    let tokens = &words[..count];
    // Captures: the last tokens, up to two `{...}` blocks without inner
    // braces; the first of them holds the request headers.
    let mut first_block: Option<(usize, usize)> = None;
    let mut blocks = 0;
    let mut end = tokens.len();
    let braces = head.iter().filter(|&&c| c == b'{' || c == b'}').count();
    if braces > 0 {
        // Walk back over whole blocks (a block may hold spaces).
        let mut pos = head.len();
        while blocks < 2 && pos > 0 && head[pos - 1] == b'}' {
            let open = memchr::memrchr(b'{', &head[..pos])?;
            if head[open + 1..pos - 1]
                .iter()
                .any(|&c| c == b'{' || c == b'}')
                || (open > 0 && head[open - 1] != b' ')
            {
                return None;
            }
            first_block = Some((open, pos));
            blocks += 1;
            pos = open.saturating_sub(1);
        }
        let (open, _) = first_block?;
        if braces != blocks * 2 {
            return None;
        }
        let before = &head[..open.saturating_sub(1)];
        end = before.split(|&c| c == b' ').count();
    }
    // ... conns and queues right before the captures (or the request).
    if end < 8 {
        return None;
    }
    let (conns, queues) = (tokens[end - 2], tokens[end - 1]);
    if !number_group(conns, 5, 0, b'+') || !number_group(queues, 2, 0, 0) {
        return None;
    }
    // The timers: the only token that reads as timers with a status and
    // bytes after it, leaving FE and BE/SRV before and something before
    // the conns.
    let mut timers = None;
    for k in 2..end - 2 {
        if k + 3 < end - 2
            && number_group(tokens[k], 5, b'-', b'+')
            && signed(tokens[k + 1], b'-')
            && signed(tokens[k + 2], b'+')
        {
            if timers.is_some() {
                return None;
            }
            timers = Some(k);
        }
    }
    let k = timers?;
    // FE: up to the last space that has a '/' after it (before the timers);
    // BE: up to the last '/'; SRV: the rest.
    let names_len: usize = tokens[..k].iter().map(|t| t.len() + 1).sum::<usize>() - 1;
    let names = &raw[body_start..body_start + names_len];
    let slash = names.rfind('/')?;
    let fe_end = names[..slash].rfind(' ')?;
    let frontend = &names[..fe_end];
    let backend = &names[fe_end + 1..slash];
    let server = &names[slash + 1..];
    let text = |t: &[u8]| -> &str {
        let start = t.as_ptr() as usize - raw.as_ptr() as usize;
        &raw[start..start + t.len()]
    };
    let mut timer_values = tokens[k].split(|&c| c == b'/');
    let _tq = timer_values.next();
    let tw = int(text(timer_values.next()?));
    let _tc = timer_values.next();
    let tr = int(text(timer_values.next()?));
    let queue_backend = int(text(&queues[memchr::memchr(b'/', queues)? + 1..]));
    let request_headers =
        first_block.map(|(open, close)| &raw[body_start + open + 1..body_start + close - 1]);
    let Some(accept_date) = parse_accept_date(date) else {
        return Some(Err(Rejection::AcceptDate));
    };
    // The request: \w+ \s+ then a path of the allowed characters from '/'.
    let rb = request.as_bytes();
    let method_len = rb
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    let (method, path, request_parsed) = if method_len > 0
        && rb.get(method_len) == Some(&b' ')
        && rb.get(method_len + 1) == Some(&b'/')
    {
        let from = method_len + 1;
        let len = rb[from..].iter().take_while(|&&c| request_char(c)).count();
        (&request[..method_len], &request[from..from + len], true)
    } else {
        ("invalid", "invalid", false)
    };
    Some(Ok(Line {
        raw,
        client_ip: text(ip),
        accept_date,
        frontend,
        backend,
        server,
        tw,
        tr,
        status: text(tokens[k + 1]),
        bytes_read: text(tokens[k + 2]),
        queue_backend,
        request_headers,
        request,
        method,
        path,
        request_parsed,
    }))
}

/// Python's `str.strip()`.
pub fn strip(line: &str) -> &str {
    line.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "Dec  9 12:00:03 localhost haproxy[12345]: 127.0.0.1:38037 [09/Dec/2013:10:01:04.219] loadbalancer default/instance1 0/0/0/4/4 200 83285 - - ---- 87/87/87/1/0 0/67 {77.24.148.74} \"GET /hello HTTP/1.1\"";

    #[test]
    fn the_upstream_sample_line() {
        let l = Line::parse(SMALL).unwrap();
        assert_eq!(l.client_ip, "127.0.0.1");
        assert_eq!(l.accept_date.to_string(), "2013-12-09T10:01:04.219000");
        assert_eq!(
            (l.frontend, l.backend, l.server),
            ("loadbalancer", "default", "instance1")
        );
        assert_eq!((l.tw, l.tr), (0, 4));
        assert_eq!((l.status, l.bytes_read), ("200", "83285"));
        assert_eq!(l.queue_backend, 67);
        assert_eq!(l.ip(), "77.24.148.74");
        assert_eq!((l.method, l.path), ("GET", "/hello"));
        assert!(!l.is_https());
    }

    #[test]
    fn shapes_the_tool_rejects() {
        assert_eq!(Line::parse("junk"), Err(Rejection::Shape));
        let no_tag = SMALL.replace("haproxy[12345]:", "haproxy:");
        assert_eq!(Line::parse(&no_tag), Err(Rejection::Shape));
        let bad_month = SMALL.replace("Dec/2013", "Dez/2013");
        assert_eq!(Line::parse(&bad_month), Err(Rejection::AcceptDate));
    }

    #[test]
    fn unreadable_requests() {
        let connect = SMALL.replace("GET /hello HTTP/1.1", "CONNECT h:443 HTTP/1.1");
        let l = Line::parse(&connect).unwrap();
        assert_eq!((l.method, l.path), ("invalid", "invalid"));
        assert!(!l.request_parsed);
    }

    #[test]
    fn plain_lines_skip_the_regex() {
        for line in [
            SMALL,
            "Oct 14 09:00:00 lb1 haproxy[31337]: 81.82.87.215:8600 [14/Oct/2025:09:00:00.044] internal web/web02 2/0/0/16/18 200 6061 - - ---- 123/85/65/8/0 0/0 \"GET / HTTP/2.0\"",
            "Oct 14 09:00:00 lb1 haproxy[31337]: 66.82.172.50:47444 [14/Oct/2025:09:00:00.317] https-in~ web/web03 0/0/0/7/12 204 247 - - ---- 122/88/66/7/0 0/0 {66.82.172.50|static.example.com} {text/html} \"GET /blog/2024/11/post-82 HTTP/1.1\"",
        ] {
            let Some(Ok(fast)) = plain(line) else {
                panic!("not plain: {line}");
            };
            assert_eq!(Ok(fast), Line::parse_by_regex(line));
        }
    }

    #[test]
    fn python_strip() {
        assert_eq!(strip(" \t\x1c a b \u{a0}\r"), "a b");
    }
}
