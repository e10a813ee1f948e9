//! One record per line, as NDJSON or CSV (`haplog cat`).

use haplog_format::field::Shape;
use haplog_format::record::{is_absent as absent, parse_number, request_parts, target_parts};
use haplog_format::{Field, Kind, Record};

use crate::escape::{csv_cell, json_string, CsvStyle};

/// Where a record comes from.
#[derive(Clone, Copy, Debug)]
pub struct Origin<'a> {
    /// The input's name (`-` for standard input).
    pub file: &'a str,
    /// 1-based line number in that input.
    pub line: u64,
}

/// Appends one record as a JSON object and a newline.
///
/// Keys: `file`, `line`, `kind`, then the header (`header`, `time`, `host`,
/// `tag`, `pid`, `severity`), then for traffic and error lines `format`,
/// `truncated`, `incomplete` and one key per log-format item (the field's name, or the
/// alias or sample expression for items that are not known fields), with
/// `method`, `uri` and `version` taken from the request line when the format
/// has no items of its own for them; `rest` holds fields appended after a
/// built-in format. Lines read by their keys (a JSON log-format without its
/// `--log-format`; connection errors and `Connect from` lines, by HAProxy's
/// fixed wording) have `format` `json`, `conn-error` or `connect` and a key
/// per field found (`client_ip`, `client_port`, `accept_date`, `frontend`,
/// `bind`, `message`; a connect line's destination as `frontend_ip` and
/// `frontend_port`, its `mode`); other kinds carry the text as `message`.
/// Numbers are
/// JSON numbers (`+` dropped), absent values (`-`, `""`) are `null`.
pub fn write_ndjson(out: &mut Vec<u8>, origin: Origin<'_>, r: &Record<'_, '_>) {
    out.extend_from_slice(b"{\"file\":");
    json_string(out, origin.file.as_bytes());
    out.extend_from_slice(b",\"line\":");
    push_int(out, origin.line as i64);
    out.extend_from_slice(b",\"kind\":\"");
    out.extend_from_slice(r.kind.name().as_bytes());
    out.extend_from_slice(b"\",\"header\":\"");
    out.extend_from_slice(r.header.style.name().as_bytes());
    out.push(b'"');
    if let Some(envelope) = &r.envelope {
        key_json(out, "envelope");
        json_string(out, envelope.style.name().as_bytes());
        if let Some(stream) = envelope.stream {
            key_json(out, "stream");
            json_string(out, stream);
        }
    }
    for (key, value) in [
        ("time", r.header.timestamp),
        ("host", r.header.host),
        ("tag", r.header.tag),
    ] {
        if let Some(v) = value {
            key_json(out, key);
            json_string(out, v);
        }
    }
    if let Some(pid) = r.header.pid {
        key_json(out, "pid");
        // A number, as syslog means it; kept as text if it is not one.
        match parse_number(pid).filter(|n| *n >= 0 && pid[0] != b'+') {
            Some(n) => push_int(out, n),
            None => json_string(out, pid),
        }
    }
    if let Some(v) = r.header.severity {
        key_json(out, "severity");
        json_string(out, v);
    }
    if let Some(pri) = r.header.pri {
        key_json(out, "syslog_priority");
        push_int(out, i64::from(pri));
    }
    match r.format {
        Some(format) => {
            key_json(out, "format");
            json_string(out, format.name.as_bytes());
            write_flags(out, r);
            for (index, item) in format.items().iter().enumerate() {
                let value = r.item(index).unwrap_or_default();
                let primary = item.field.is_none_or(|f| format.item_of(f) == Some(index));
                let name = if primary { item.name() } else { &item.label };
                key_json(out, name);
                json_value(out, item.shape, value);
            }
            if let Some(request) = r.get(Field::Request) {
                if !absent(request) {
                    write_request_parts(out, r, request);
                }
            }
            if let Some(rest) = r.rest {
                key_json(out, "rest");
                json_string(out, rest);
            }
        }
        None if r.format_name().is_some() => {
            // A line read by its keys.
            key_json(out, "format");
            json_string(out, r.format_name().unwrap_or_default().as_bytes());
            write_flags(out, r);
            for (field, value) in r.keyed_fields() {
                key_json(out, field.name());
                let shape = if field.is_numeric() {
                    Shape::Number
                } else {
                    Shape::Token
                };
                json_value(out, shape, value);
            }
            if let Some(request) = r.get(Field::Request) {
                if !absent(request) {
                    write_request_parts(out, r, request);
                }
            }
        }
        None if r.kind == Kind::Overlong => {
            key_json(out, "length");
            push_int(out, r.line.len() as i64);
            key_json(out, "message");
            json_string(out, overlong_start(r.line));
        }
        None => {
            key_json(out, "message");
            json_string(out, r.message);
        }
    }
    out.extend_from_slice(b"}\n");
}

/// `truncated` (the line was cut) and `incomplete` (logged before the
/// request ended, `option logasap`).
fn write_flags(out: &mut Vec<u8>, r: &Record<'_, '_>) {
    out.extend_from_slice(b",\"truncated\":");
    out.extend_from_slice(if r.truncated { b"true" } else { b"false" });
    out.extend_from_slice(b",\"incomplete\":");
    out.extend_from_slice(if r.incomplete() { b"true" } else { b"false" });
}

/// What a record shows of an overlong line: its start.
fn overlong_start(line: &[u8]) -> &[u8] {
    &line[..line.len().min(OVERLONG_SHOWN)]
}

/// Bytes of an overlong line that its record shows.
const OVERLONG_SHOWN: usize = 1024;

/// Appends `n` in decimal, without `fmt` (tens of numbers per record).
fn push_int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// `method`, `uri` and `version` from a request line, and the URI's
/// `authority` (absolute URIs of HTTP/2 and gRPC), `path` and `query`;
/// each unless the record has that field of its own.
fn write_request_parts(out: &mut Vec<u8>, r: &Record<'_, '_>, request: &[u8]) {
    let (method, uri, version) = request_parts(request);
    let (authority, path, query) = target_parts(method, uri);
    let derived = [
        ("method", Some(Field::Method), Some(method)),
        ("uri", Some(Field::Uri), Some(uri)),
        ("version", Some(Field::Version), version),
        ("authority", None, authority),
        // A CONNECT target is an authority alone: no path.
        (
            "path",
            Some(Field::Path),
            (method != b"CONNECT").then_some(path),
        ),
        ("query", Some(Field::Query), query),
    ];
    for (key, field, value) in derived {
        if field.is_some_and(|f| r.get(f).is_some()) {
            continue;
        }
        key_json(out, key);
        json_or_null(out, value);
    }
}

fn json_or_null(out: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        Some(v) => json_string(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

fn key_json(out: &mut Vec<u8>, key: &str) {
    out.push(b',');
    json_string(out, key.as_bytes());
    out.push(b':');
}

fn json_value(out: &mut Vec<u8>, shape: Shape, value: &[u8]) {
    if absent(value) {
        out.extend_from_slice(b"null");
        return;
    }
    if shape == Shape::Number {
        if let Some(n) = parse_number(value) {
            push_int(out, n);
            return;
        }
    }
    json_string(out, value);
}

/// The CSV columns, in order: where the line is from, its kind and header,
/// every known field, then `extra` (items that are not known fields, as
/// `name=value` joined by `; `), `rest` and `message`.
pub fn write_csv_header(out: &mut Vec<u8>) {
    out.extend_from_slice(b"file,line,kind,header,envelope,time,host,format,truncated,incomplete");
    for field in csv_fields() {
        out.push(b',');
        out.extend_from_slice(field.name().as_bytes());
    }
    out.extend_from_slice(b",extra,rest,message\n");
}

/// Appends one record as a CSV row matching [`write_csv_header`]. Values are
/// as written in the log, except that absent ones (`-`, `""`) are empty,
/// and text cells are written in `style` (see [`CsvStyle`]).
pub fn write_csv(out: &mut Vec<u8>, origin: Origin<'_>, r: &Record<'_, '_>, style: CsvStyle) {
    csv_cell(out, origin.file.as_bytes(), style);
    out.push(b',');
    push_int(out, origin.line as i64);
    out.push(b',');
    out.extend_from_slice(r.kind.name().as_bytes());
    out.push(b',');
    out.extend_from_slice(r.header.style.name().as_bytes());
    out.push(b',');
    if let Some(envelope) = &r.envelope {
        out.extend_from_slice(envelope.style.name().as_bytes());
    }
    out.push(b',');
    csv_cell(out, r.header.timestamp.unwrap_or_default(), style);
    out.push(b',');
    csv_cell(out, r.header.host.unwrap_or_default(), style);
    out.push(b',');
    if let Some(name) = r.format_name() {
        csv_cell(out, name.as_bytes(), style);
        out.push(b',');
        out.extend_from_slice(if r.truncated { b"true" } else { b"false" });
        out.push(b',');
        out.extend_from_slice(if r.incomplete() { b"true" } else { b"false" });
    } else {
        out.extend_from_slice(b",,");
    }
    for field in csv_fields() {
        out.push(b',');
        let value = r.get(field).or_else(|| derived(r, field));
        if let Some(v) = value.filter(|v| !absent(v)) {
            csv_cell(out, v, style);
        }
    }
    out.push(b',');
    if let Some(format) = r.format {
        let mut extra = Vec::new();
        for (index, item) in format.items().iter().enumerate() {
            if item.field.is_none() {
                if !extra.is_empty() {
                    extra.extend_from_slice(b"; ");
                }
                extra.extend_from_slice(item.label.as_bytes());
                extra.push(b'=');
                extra.extend_from_slice(r.item(index).unwrap_or_default());
            }
        }
        csv_cell(out, &extra, style);
    }
    out.push(b',');
    csv_cell(out, r.rest.unwrap_or_default(), style);
    out.push(b',');
    if r.kind == Kind::Overlong {
        csv_cell(out, overlong_start(r.line), style);
    } else if let Some(text) = r.get(Field::Message) {
        csv_cell(out, text, style);
    } else if r.format_name().is_none() {
        csv_cell(out, r.message, style);
    }
    out.push(b'\n');
}

/// The fields with a column of their own: all but the message, which has
/// the last column, shared with the lines that are nothing but a message.
fn csv_fields() -> impl Iterator<Item = Field> {
    Field::ALL.iter().copied().filter(|&f| f != Field::Message)
}

/// Method, URI and version from the request line when the format has no
/// item of their own.
fn derived<'a>(r: &Record<'_, 'a>, field: Field) -> Option<&'a [u8]> {
    if !matches!(field, Field::Method | Field::Uri | Field::Version) {
        return None;
    }
    let request = r.get(Field::Request).filter(|v| !absent(v))?;
    let (method, uri, version) = request_parts(request);
    match field {
        Field::Method => Some(method),
        Field::Uri => Some(uri),
        _ => version,
    }
}

/// Lines counted by kind, for the summary `haplog cat` prints.
#[derive(Clone, Debug, Default)]
pub struct KindCounts {
    counts: [u64; Kind::ALL.len()],
    truncated: u64,
}

impl KindCounts {
    pub fn add(&mut self, r: &Record<'_, '_>) {
        self.counts[r.kind.index()] += 1;
        if r.truncated {
            self.truncated += 1;
        }
    }

    pub fn merge(&mut self, other: &KindCounts) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.truncated += other.truncated;
    }

    pub fn get(&self, kind: Kind) -> u64 {
        self.counts[kind.index()]
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn truncated(&self) -> u64 {
        self.truncated
    }

    /// `2000 lines: traffic 1990 (1 cut), error 3, unparsed 7`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (i, kind) in Kind::ALL.iter().enumerate() {
            let n = self.counts[i];
            if n == 0 {
                continue;
            }
            if *kind == Kind::Traffic && self.truncated > 0 {
                parts.push(format!("{kind} {n} ({} cut)", self.truncated));
            } else {
                parts.push(format!("{kind} {n}"));
            }
        }
        let total = self.total();
        let noun = if total == 1 { "line" } else { "lines" };
        if parts.is_empty() {
            format!("{total} {noun}")
        } else {
            format!("{total} {noun}: {}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use haplog_format::{FormatOptions, Formats, LineParser};

    fn one(line: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let formats = Formats::new(&FormatOptions::default()).unwrap();
        let mut parser = LineParser::new(&formats, None);
        let r = parser.parse(line);
        let origin = Origin {
            file: "a.log",
            line: 7,
        };
        let mut json = Vec::new();
        write_ndjson(&mut json, origin, &r);
        let mut csv = Vec::new();
        write_csv(&mut csv, origin, &r, CsvStyle::default());
        (json, csv)
    }

    #[test]
    fn an_httplog_record_as_json() {
        let (json, _) = one(b"Nov 24 15:54:02 localhost haproxy[9228]: 127.0.0.1:60662 [24/Nov/2026:15:54:02.757] fe_http be_static/nginx1 0/0/-1/+12/5 200 235 - - ---- 1/1/0/0/+1 0/0 \"GET /static/index.html?sc=ok0 HTTP/1.1\"");
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["file"], "a.log");
        assert_eq!(v["line"], 7);
        assert_eq!(v["kind"], "traffic");
        assert_eq!(v["format"], "httplog");
        assert_eq!(v["header"], "bsd-host-tag");
        assert_eq!(v["host"], "localhost");
        assert_eq!(v["pid"], 9228, "a syslog pid is a number");
        assert_eq!(v["client_ip"], "127.0.0.1");
        assert_eq!(v["client_port"], 60662);
        assert_eq!(v["tc"], -1);
        assert_eq!(v["tr"], 12);
        assert_eq!(v["retries"], 1);
        assert_eq!(v["status"], 200);
        assert_eq!(v["captured_request_cookie"], serde_json::Value::Null);
        assert_eq!(v["method"], "GET");
        assert_eq!(v["uri"], "/static/index.html?sc=ok0");
        assert_eq!(v["version"], "HTTP/1.1");
        assert_eq!(v["truncated"], false);
        assert!(json.ends_with(b"}\n"));
    }

    /// `CONNECT host:port` names an authority (HAProxy as a forward proxy).
    #[test]
    fn a_connect_request_has_an_authority_not_a_path() {
        let (json, _) = one(b"10.0.0.1:5000 [24/Nov/2026:15:54:02.757] fe_proxy be_out/direct 0/0/1/2/3 200 0 - - ---- 1/1/0/0/0 0/0 \"CONNECT example.com:443 HTTP/1.1\"");
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["method"], "CONNECT");
        assert_eq!(v["uri"], "example.com:443");
        assert_eq!(v["authority"], "example.com:443");
        assert_eq!(v["path"], serde_json::Value::Null);
        assert_eq!(v["query"], serde_json::Value::Null);
    }

    #[test]
    fn an_event_as_json_and_csv() {
        let (json, csv) =
            one(b"<129>Nov 24 15:54:02 haproxy[1]: Server be/s1 is DOWN, reason: x, \"quoted\"");
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["kind"], "server-state");
        assert_eq!(v["syslog_priority"], 129);
        assert_eq!(v["message"], "Server be/s1 is DOWN, reason: x, \"quoted\"");
        let mut header = Vec::new();
        write_csv_header(&mut header);
        let columns = header.split(|&b| b == b',').count();
        assert!(csv.ends_with(b",\"Server be/s1 is DOWN, reason: x, \"\"quoted\"\"\"\n"));
        // Same number of columns, counting the commas outside quotes.
        let mut quoted = false;
        let commas = csv
            .iter()
            .filter(|&&b| {
                if b == b'"' {
                    quoted = !quoted;
                }
                b == b',' && !quoted
            })
            .count();
        assert_eq!(commas + 1, columns);
    }

    #[test]
    fn a_json_line_as_json() {
        let (json, csv) = one(br#"{"client_ip":"10.0.0.1","status":+1,"timers":{"Tr":12},"request":"GET /a HTTP/2.0","ua":"x"}"#);
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["kind"], "traffic");
        assert_eq!(v["format"], "json");
        assert_eq!(v["status"], 1);
        assert_eq!(v["tr"], 12);
        assert_eq!(v["client_ip"], "10.0.0.1");
        assert_eq!(v["uri"], "/a");
        assert!(v.get("message").is_none());
        assert!(csv.starts_with(b"a.log,7,traffic,none,,,,json,false,false,10.0.0.1,"));
    }

    #[test]
    fn integers() {
        for n in [0i64, 7, -1, 10, -99, i64::MAX, i64::MIN + 1] {
            let mut out = Vec::new();
            push_int(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }

    #[test]
    fn counts_summarise() {
        let mut c = KindCounts::default();
        assert_eq!(c.summary(), "0 lines");
        let formats = Formats::new(&FormatOptions::default()).unwrap();
        let mut parser = LineParser::new(&formats, None);
        c.add(&parser.parse(b"lua: x"));
        c.add(&parser.parse(b"127.0.0.1:1 [24/Nov/2026:15:54:02.757] fe b/s 0/0/0/0/0 200 1 - - ---- 1/1/0/0/0 0/0 \"GET /cut"));
        assert_eq!(c.summary(), "2 lines: traffic 1 (1 cut), unparsed 1");
    }
}
