//! The per-line step: halog's line check, filters and per-mode aggregation.

use hashbrown::HashMap;

use crate::options::{Config, LineMode};
use crate::scan::{
    accept_date_fields, accept_time_of_day, quantize, scan_timers, str2ic, DateFields, Line,
};

/// Lines this long or longer (LF excluded) end halog's input.
pub const MAX_LINE: usize = 262_144;

/// Counters of one server (`-srv`).
#[derive(Clone, Copy, Default, Debug)]
pub struct ServerStats {
    /// Index 0 is "other", 1..=5 the status classes.
    pub classes: [u32; 6],
    pub ok: u32,
    pub nb_ct: u32,
    pub nb_rt: u32,
    pub cum_ct: u64,
    pub cum_rt: u64,
}

impl ServerStats {
    fn merge(&mut self, o: &ServerStats) {
        for (a, b) in self.classes.iter_mut().zip(o.classes) {
            *a = a.wrapping_add(b);
        }
        self.ok = self.ok.wrapping_add(o.ok);
        self.nb_ct = self.nb_ct.wrapping_add(o.nb_ct);
        self.nb_rt = self.nb_rt.wrapping_add(o.nb_rt);
        self.cum_ct = self.cum_ct.wrapping_add(o.cum_ct);
        self.cum_rt = self.cum_rt.wrapping_add(o.cum_rt);
    }
}

/// Counters of one URL or client address (`-u*`, `-ic`).
#[derive(Clone, Copy, Default, Debug)]
pub struct UrlStats {
    pub requests: u32,
    pub errors: u32,
    pub total_time: u64,
    pub total_time_ok: u64,
    pub total_bytes: u64,
}

impl UrlStats {
    fn merge(&mut self, o: &UrlStats) {
        self.requests = self.requests.wrapping_add(o.requests);
        self.errors = self.errors.wrapping_add(o.errors);
        self.total_time = self.total_time.wrapping_add(o.total_time);
        self.total_time_ok = self.total_time_ok.wrapping_add(o.total_time_ok);
        self.total_bytes = self.total_bytes.wrapping_add(o.total_bytes);
    }
}

/// halog's `-time` conversion through the C library's `mktime`, in the
/// process's time zone, with halog's one-entry cache.
pub struct MkTime {
    tm: Option<libc::tm>,
    last: i32,
}

// SAFETY: `libc::tm` holds a pointer to a time-zone name owned by the C
// library for the life of the process; it is never written through.
unsafe impl Send for MkTime {}

impl MkTime {
    pub fn new() -> MkTime {
        MkTime { tm: None, last: 0 }
    }

    pub fn timestamp(&mut self, f: DateFields) -> u32 {
        let month = f.month.wrapping_sub(1);
        let year = f.year.wrapping_sub(1900);
        if let Some(tm) = &self.tm {
            if tm.tm_min as u32 == f.minute
                && tm.tm_hour as u32 == f.hour
                && tm.tm_mday as u32 == f.day
                && tm.tm_mon as u32 == month
                && tm.tm_year as u32 == year
            {
                return (self.last as u32).wrapping_add(f.second);
            }
        }
        let tm = self.tm.get_or_insert_with(|| {
            // SAFETY: plain libc calls on owned, zero-initialised storage.
            unsafe {
                let now = libc::time(std::ptr::null_mut());
                let mut tm: libc::tm = std::mem::zeroed();
                libc::localtime_r(&now, &mut tm);
                tm
            }
        });
        tm.tm_sec = 0;
        tm.tm_min = f.minute as i32;
        tm.tm_hour = f.hour as i32;
        tm.tm_mday = f.day as i32;
        tm.tm_mon = month as i32;
        tm.tm_year = year as i32;
        // SAFETY: `tm` is a valid, initialised struct tm.
        self.last = unsafe { libc::mktime(tm) } as i32;
        (self.last as u32).wrapping_add(f.second)
    }
}

impl Default for MkTime {
    fn default() -> Self {
        MkTime::new()
    }
}

/// A message for stderr, kept in input order.
pub enum Message {
    /// `Truncated line N: <line>`; `line` is the number within the chunk.
    Truncated {
        line: u64,
        text: std::ops::Range<usize>,
    },
    /// A complete message (the `ERR:` lines of -pct/-gt).
    Plain { text: std::ops::Range<usize> },
}

/// What one chunk produced that must keep input order.
#[derive(Default)]
pub struct ChunkOutput {
    /// Lines read (up to the `-m` stop, if any).
    pub lines: u64,
    pub stdout: Vec<u8>,
    pub messages: Vec<Message>,
    pub message_text: Vec<u8>,
    /// `-m` ended the input inside this chunk.
    pub stop: bool,
}

impl ChunkOutput {
    fn truncated(&mut self, line: u64, text: &[u8]) {
        let start = self.message_text.len();
        self.message_text.extend_from_slice(text);
        self.messages.push(Message::Truncated {
            line,
            text: start..self.message_text.len(),
        });
    }
}

/// One worker's state: its counters and aggregates.
pub struct Worker<'c> {
    pub config: &'c Config,
    /// Whether `-m` may stop the input (only on a sequential run).
    pub limit_input: bool,
    pub lines_out: u64,
    pub parse_errors: u64,
    /// `-st`, `-tc`, `-cc`: value → count. `-ac`/`-ad`: ms of day → count.
    pub counters: HashMap<i32, u32>,
    /// `-pct`/`-gt` timer distributions: [errors, Tq, Tc, Tr, data time].
    pub timers: [HashMap<i32, u32>; 5],
    pub servers: HashMap<Vec<u8>, ServerStats>,
    pub urls: HashMap<Vec<u8>, UrlStats>,
    mktime: MkTime,
}

impl<'c> Worker<'c> {
    pub fn new(config: &'c Config, limit_input: bool) -> Worker<'c> {
        Worker {
            config,
            limit_input,
            lines_out: 0,
            parse_errors: 0,
            counters: HashMap::new(),
            timers: Default::default(),
            servers: HashMap::new(),
            urls: HashMap::new(),
            mktime: MkTime::new(),
        }
    }

    /// Adds another worker's results into this one.
    pub fn merge(&mut self, other: Worker<'_>) {
        self.lines_out += other.lines_out;
        self.parse_errors += other.parse_errors;
        for (k, v) in other.counters {
            let e = self.counters.entry(k).or_default();
            *e = e.wrapping_add(v);
        }
        for (mine, theirs) in self.timers.iter_mut().zip(other.timers) {
            for (k, v) in theirs {
                let e = mine.entry(k).or_default();
                *e = e.wrapping_add(v);
            }
        }
        for (k, v) in other.servers {
            self.servers.entry(k).or_default().merge(&v);
        }
        for (k, v) in other.urls {
            self.urls.entry(k).or_default().merge(&v);
        }
    }

    /// Folds one chunk of whole lines.
    pub fn process_chunk(&mut self, chunk: &[u8]) -> ChunkOutput {
        let mut out = ChunkOutput::default();
        if self.config.fast_count {
            out.lines = count_lines(chunk);
            return out;
        }
        let mut pos = 0;
        while pos < chunk.len() {
            let line = Line::first_of(&chunk[pos..]);
            let raw_len = line.raw_len;
            out.lines += 1;
            pos += raw_len + 1;
            if self.line(&line, out.lines, &mut out) {
                out.stop = true;
                break;
            }
        }
        out
    }

    /// Reports a "Truncated line" unless `-q`.
    #[inline]
    /// One output line, counted in "lines out".
    fn print_line(&mut self, out: &mut ChunkOutput, text: &[u8]) {
        out.stdout.extend_from_slice(text);
        out.stdout.push(b'\n');
        self.lines_out += 1;
    }

    fn truncated(&self, out: &mut ChunkOutput, number: u64, line: &Line) {
        if !self.config.quiet {
            out.truncated(number, line.text);
        }
    }

    /// The timer field: where a filter already found it, else the fourth
    /// field after the date. `None`, with halog's "Truncated line", when
    /// the line ends first.
    #[inline]
    fn timer_field(
        &self,
        line: &Line,
        acc: usize,
        known: Option<usize>,
        number: u64,
        out: &mut ChunkOutput,
    ) -> Option<usize> {
        if known.is_some() {
            return known;
        }
        let t = line.field_start(acc, 4);
        if t >= line.text.len() {
            self.truncated(out, number, line);
            return None;
        }
        Some(t)
    }

    /// One line. Returns true when `-m` ends the input after it.
    fn line(&mut self, line: &Line, number: u64, out: &mut ChunkOutput) -> bool {
        let c = self.config;
        let text = line.text;
        let len = text.len();

        let (source, acc) = if c.sources_flag {
            let source = line.field_start(0, 5i32.wrapping_add(c.skip));
            (source, line.field_start(source, 2))
        } else {
            (0, line.field_start(0, 6i32.wrapping_add(c.skip)))
        };
        if acc >= len || text[acc] != b'[' || !matches!(line.peek(acc + 1), b'0'..=b'3') {
            self.parse_errors += 1;
            return false;
        }

        let mut test = true;
        let mut values = [0i32; 5];
        // The timer field, once a filter has located it.
        let mut time_field: Option<usize> = None;

        if let Some((low, high)) = c.time_range {
            let t = match accept_date_fields(line, acc) {
                Some(f) => self.mktime.timestamp(f),
                None => 0xFFFF_FFFF,
            };
            test &= low <= t && t <= high;
        }
        if c.http_only {
            let Some(t) = self.timer_field(line, acc, None, number, out) else {
                return false;
            };
            time_field = Some(t);
            let (parts, _) = scan_timers::<false>(text, t, 4, &mut values);
            test &= parts >= 4;
        }
        if let Some((threshold, inverted)) = c.time_resp {
            let Some(t) = self.timer_field(line, acc, time_field, number, out) else {
                return false;
            };
            time_field = Some(t);
            let (parts, _) = scan_timers::<true>(text, t, 4, &mut values);
            if parts < 4 {
                self.parse_errors += 1;
                return false;
            }
            let tr = values[3].max(-1);
            test &= (tr >= threshold) ^ inverted;
        }
        if c.errors.is_some() || c.status_range.is_some() {
            let b = match time_field {
                Some(t) => line.field_start(t, 2),
                None => line.field_start(acc, 5),
            };
            if b >= len {
                self.truncated(out, number, line);
                return false;
            }
            let status = str2ic(text, b);
            if let Some(inverted) = c.errors {
                test &= (status < 0 || (500..=599).contains(&status)) ^ inverted;
            }
            if let Some((low, high, inverted)) = c.status_range {
                test &= (status >= low && status <= high) ^ inverted;
            }
        }
        if c.queue_any || c.queue_server {
            let b = match time_field {
                Some(t) => line.field_start(t, 8),
                None => line.field_start(acc, 11),
            };
            if b >= len {
                self.truncated(out, number, line);
                return false;
            }
            if text[b] == b'0' {
                if c.queue_server {
                    test = false;
                } else {
                    // Scan to the byte after the next '/', even into later
                    // fields, and keep the line if it is 1..9.
                    let mut p = b;
                    loop {
                        p += 1;
                        if p >= len {
                            break;
                        }
                        if text[p] == b'/' {
                            p += 1;
                            break;
                        }
                    }
                    let next = if p < len { text[p] } else { 0 };
                    test &= next.wrapping_sub(b'1') < 9;
                }
            }
        }
        if let Some((code, inverted)) = c.term_code {
            let b = match time_field {
                Some(t) => line.field_start(t, 6),
                None => line.field_start(acc, 9),
            };
            if b >= len {
                self.truncated(out, number, line);
                return false;
            }
            test &= (text[b] == code[0] && line.peek(b + 1) == code[1]) ^ inverted;
        }

        if test == c.invert {
            return false;
        }

        match c.line_mode {
            LineMode::Print => self.print_line(out, text),
            LineMode::Count => self.lines_out += 1,
            LineMode::Capture { block, field } => {
                let e = match time_field {
                    Some(t) => line.field_start(t, 9),
                    None => line.field_start(acc, 12),
                };
                self.capture(line, e, block, field, number, out);
            }
            LineMode::AcceptHoles => {
                let ms = accept_time_of_day(line, acc);
                if ms < 0 {
                    self.truncated(out, number, line);
                } else {
                    bump(&mut self.counters, ms);
                }
            }
            LineMode::Status => {
                let b = match time_field {
                    Some(t) => line.field_start(t, 2),
                    None => line.field_start(acc, 5),
                };
                if b >= len {
                    self.truncated(out, number, line);
                } else {
                    bump(&mut self.counters, str2ic(text, b));
                }
            }
            LineMode::CookieCodes | LineMode::TermCodes => {
                let b = match time_field {
                    Some(t) => line.field_start(t, 6),
                    None => line.field_start(acc, 9),
                };
                if b >= len {
                    self.truncated(out, number, line);
                } else {
                    let first = if c.line_mode == LineMode::TermCodes {
                        b
                    } else {
                        b + 2
                    };
                    // halog's `char` is signed: 256 * c0 + c1 with c0, c1 in -128..127.
                    let key =
                        256 * (line.peek(first) as i8 as i32) + line.peek(first + 1) as i8 as i32;
                    bump(&mut self.counters, key);
                }
            }
            LineMode::Servers => self.server(line, acc, time_field, number, out),
            LineMode::Urls | LineMode::Sources => {
                self.url_or_source(line, source, acc, time_field, number, out)
            }
            LineMode::Graphs { quantized } => {
                self.graphs(line, acc, time_field, quantized, number, out)
            }
        }
        self.limit_input && c.lines_max >= 0 && self.lines_out >= c.lines_max as u64
    }

    fn capture(
        &mut self,
        line: &Line,
        mut e: usize,
        block: u32,
        field: u32,
        number: u64,
        out: &mut ChunkOutput,
    ) {
        let text = line.text;
        let len = text.len();
        for _ in 0..block {
            // Up to the next capture block ('{') or the request ('"').
            while e < len && text[e] != b'"' && text[e] != b'{' {
                if text[e] == b'\\' && line.peek(e + 1) == b'"' {
                    break;
                }
                e = line.field_start(e, 2);
            }
            if e >= len {
                self.truncated(out, number, line);
                return;
            }
            if text[e] != b'{' {
                self.print_line(out, b"");
                return;
            }
            e += 1;
        }
        for _ in 1..field {
            while e < len && text[e] != b'|' && text[e] != b'}' {
                e += 1;
            }
            if e >= len {
                self.truncated(out, number, line);
                return;
            }
            if text[e] != b'|' {
                self.print_line(out, b"");
                return;
            }
            e += 1;
        }
        let mut f = e;
        while f < len && text[f] != b'|' && text[f] != b'}' {
            f += 1;
        }
        if f >= len {
            self.truncated(out, number, line);
            return;
        }
        self.print_line(out, &text[e..f]);
    }

    fn server(
        &mut self,
        line: &Line,
        acc: usize,
        time_field: Option<usize>,
        number: u64,
        out: &mut ChunkOutput,
    ) {
        let text = line.text;
        let len = text.len();
        let b = line.field_start(acc, 3);
        if b >= len {
            self.truncated(out, number, line);
            return;
        }
        let name_end = line.field_stop(b + 1);
        let name = &text[b..name_end];
        // The entry exists from now on, whatever happens to the line later.
        let stats: &mut ServerStats = self.servers.entry_ref(name).or_default();
        let t = match time_field {
            Some(t) => t,
            None => {
                let t = line.field_start(name_end, 1);
                if t >= len {
                    if !self.config.quiet {
                        out.truncated(number, line.text);
                    }
                    return;
                }
                t
            }
        };
        let mut v = [0i32; 5];
        let (parts, _) = scan_timers::<true>(text, t, 5, &mut v);
        if parts < 5 {
            self.parse_errors += 1;
            return;
        }
        if v.iter().all(|&x| x >= 0) {
            stats.ok = stats.ok.wrapping_add(1);
        }
        if v[2] >= 0 {
            stats.cum_ct = stats.cum_ct.wrapping_add(v[2] as u64);
            stats.nb_ct = stats.nb_ct.wrapping_add(1);
        }
        if v[3] >= 0 {
            stats.cum_rt = stats.cum_rt.wrapping_add(v[3] as u64);
            stats.nb_rt = stats.nb_rt.wrapping_add(1);
        }
        let b = line.field_start(line.field_stop(t + 1), 1);
        if b >= len {
            if !self.config.quiet {
                out.truncated(number, line.text);
            }
            return;
        }
        let class = match text[b] {
            d @ b'1'..=b'5' => (d - b'0') as usize,
            _ => 0,
        };
        stats.classes[class] = stats.classes[class].wrapping_add(1);
    }

    fn url_or_source(
        &mut self,
        line: &Line,
        source: usize,
        acc: usize,
        time_field: Option<usize>,
        number: u64,
        out: &mut ChunkOutput,
    ) {
        let text = line.text;
        let len = text.len();
        let sources = self.config.line_mode == LineMode::Sources;
        let Some(t) = self.timer_field(line, acc, time_field, number, out) else {
            return;
        };
        let mut v = [0i32; 5];
        let (parts, last) = scan_timers::<true>(text, t, 5, &mut v);
        if parts < 5 {
            self.parse_errors += 1;
            return;
        }
        // -u* counts an error on any negative timer and times the response
        // (Tr); -ic looks at Tq and Tt only and times the request (Tq).
        let (err, timed) = if sources {
            (v[0] < 0 || v[4] < 0, v[0])
        } else {
            (v.iter().any(|&x| x < 0), v[3])
        };
        let total = v[4].max(-1);
        let bytes_field = line.field_start(last, 3);
        let stats = UrlStats {
            requests: 1,
            errors: err as u32,
            total_time: (if timed >= 0 { timed } else { total }) as i64 as u64,
            total_time_ok: if timed >= 0 { timed as u64 } else { 0 },
            total_bytes: str2ic(text, bytes_field) as i64 as u64,
        };
        let key: &[u8] = if sources {
            // The source up to its last ':' (the port is cut). Without any
            // ':', halog's cut lands before the field and the key runs to
            // the end of the line.
            let mut e = line.field_stop(source + 1);
            while e > source && text[e - 1] != b':' {
                e -= 1;
            }
            if e == source {
                &text[source..]
            } else {
                &text[source..e - 1]
            }
        } else {
            let first = line.field_start(bytes_field, 7);
            // The request is the first field at or after `first` starting
            // with '"' (or '\"' from syslog daemons that escape quotes);
            // captures come before it.
            let Some(e) = request_field(text, first) else {
                self.truncated(out, number, line);
                return;
            };
            let mut b = line.field_start(e, 2);
            if b >= len {
                b = e;
            }
            let rest = &text[b..];
            let end = if self.config.preserve_query {
                memchr::memchr(b' ', rest)
            } else {
                memchr::memchr3(b' ', b'?', b';', rest)
            };
            &rest[..end.unwrap_or(rest.len())]
        };
        self.urls.entry_ref(key).or_default().merge(&stats);
    }

    fn graphs(
        &mut self,
        line: &Line,
        acc: usize,
        time_field: Option<usize>,
        quantized: bool,
        number: u64,
        out: &mut ChunkOutput,
    ) {
        let text = line.text;
        let Some(t) = self.timer_field(line, acc, time_field, number, out) else {
            return;
        };
        let mut v = [0i32; 5];
        let (parts, _) = scan_timers::<true>(text, t, 5, &mut v);
        if parts < 5 {
            self.parse_errors += 1;
            return;
        }
        let q = |x: i32| if quantized { quantize(x) } else { x };
        if v.iter().any(|&x| x < 0) {
            // Only -gt prints the error bucket.
            if quantized {
                bump(&mut self.timers[0], q(v[4].max(-1)));
            }
            return;
        }
        bump(&mut self.timers[1], q(v[0]));
        bump(&mut self.timers[2], q(v[2]));
        bump(&mut self.timers[3], q(v[3]));
        let data = v[4]
            .wrapping_sub(v[0])
            .wrapping_sub(v[1])
            .wrapping_sub(v[2])
            .wrapping_sub(v[3]);
        if data < 0 && !self.config.quiet {
            let start = out.message_text.len();
            out.message_text.extend_from_slice(b"ERR: ");
            out.message_text.extend_from_slice(text);
            out.message_text.extend_from_slice(
                format!(
                    " ({} {} {} {} {} => {})\n",
                    v[0], v[1], v[2], v[3], v[4], data
                )
                .as_bytes(),
            );
            out.messages.push(Message::Plain {
                text: start..out.message_text.len(),
            });
        }
        bump(&mut self.timers[4], q(data));
        self.lines_out += 1;
    }
}

/// The first field at or after the field starting at `first` that starts
/// with '"' or with '\"', as halog finds by stepping field by field.
///
/// Fields are separated by spaces only, so such a field starts at a quote
/// that is at `first` or follows a space, or at a backslash placed there and
/// followed by a quote. The first such quote is the first such field.
#[inline]
fn request_field(text: &[u8], first: usize) -> Option<usize> {
    if first >= text.len() {
        return None;
    }
    let at_field_start = |p: usize| p == first || text[p - 1] == b' ';
    let mut from = first;
    while let Some(i) = memchr::memchr(b'"', &text[from..]) {
        let q = from + i;
        if at_field_start(q) {
            return Some(q);
        }
        if text[q - 1] == b'\\' && at_field_start(q - 1) {
            return Some(q - 1);
        }
        from = q + 1;
    }
    None
}

#[inline]
fn bump(map: &mut HashMap<i32, u32>, key: i32) {
    let e = map.entry(key).or_insert(0);
    *e = e.wrapping_add(1);
}

/// Lines in a chunk: its LFs, plus a last line without one.
fn count_lines(chunk: &[u8]) -> u64 {
    let lfs = memchr::memchr_iter(b'\n', chunk).count() as u64;
    lfs + u64::from(chunk.last().is_some_and(|&b| b != b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::field_start;
    use proptest::prelude::*;

    /// halog's own walk: field by field until one starts with '"' or '\"'.
    fn request_field_by_steps(text: &[u8], mut e: usize) -> Option<usize> {
        while e < text.len() && text[e] != b'"' {
            if text[e] == b'\\' && text.get(e + 1) == Some(&b'"') {
                break;
            }
            e = field_start(text, e, 2);
        }
        (e < text.len()).then_some(e)
    }

    proptest! {
        #[test]
        fn request_field_matches_field_walk(
            text in proptest::collection::vec(prop::sample::select(b" \"\\a{|}".to_vec()), 0..40),
            skip in 0i32..4,
        ) {
            let first = field_start(&text, 0, skip + 1);
            prop_assert_eq!(request_field(&text, first), request_field_by_steps(&text, first));
        }
    }
}
