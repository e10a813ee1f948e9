//! Messages that are not traffic: connection errors, "Connect from" lines,
//! events (server states, health checks, proxies) and HAProxy's own
//! process messages (log-formats spec, a.5–a.7, e.5).

use std::fmt;

use crate::compiled::{Span, MAX_ITEMS};
use crate::field::{Field, FieldSet};

/// What a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A request or connection, from a built-in or custom log-format.
    Traffic,
    /// A connection that died before a stream existed (TLS handshake,
    /// PROXY protocol), or an `error-log-format` line.
    Error,
    /// `Connect from …`: a stream started (no log option configured).
    Connect,
    /// A server went DOWN, UP, into maintenance or drain, changed address.
    ServerState,
    /// `backend X has no server available!`
    BackendDown,
    /// `Health check for server …` / `Agent check for …`.
    HealthCheck,
    /// A proxy stopped, started, paused, resumed, hit a limit.
    ProxyLifecycle,
    /// HAProxy's own process messages (workers forked, exiting, version).
    Process,
    /// A JSON object (a JSON log-format without a `--log-format` to match).
    Json,
    /// A line that starts like JSON but is not valid JSON (HAProxy prints
    /// `+1` and cuts long lines).
    JsonInvalid,
    /// None of the above: kept and counted, never fatal.
    Unparsed,
    /// Empty, or spaces and tabs only.
    Blank,
    /// Longer than the line limit (`--max-line-length`): counted, not read.
    Overlong,
    /// Part of a line that a container runtime split (CRI `P`, a Docker
    /// entry without its final newline): read with the entry completing it.
    Partial,
}

impl Kind {
    /// A line that logs a request or a connection: traffic, or a JSON
    /// line read by its keys.
    pub fn is_request(self) -> bool {
        matches!(self, Kind::Traffic | Kind::Json)
    }

    pub const ALL: [Kind; 14] = [
        Kind::Traffic,
        Kind::Error,
        Kind::Connect,
        Kind::ServerState,
        Kind::BackendDown,
        Kind::HealthCheck,
        Kind::ProxyLifecycle,
        Kind::Process,
        Kind::Json,
        Kind::JsonInvalid,
        Kind::Unparsed,
        Kind::Blank,
        Kind::Overlong,
        Kind::Partial,
    ];

    /// The kind's position in [`Kind::ALL`], for tables indexed by kind.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Traffic => "traffic",
            Kind::Error => "error",
            Kind::Connect => "connect",
            Kind::ServerState => "server-state",
            Kind::BackendDown => "backend-down",
            Kind::HealthCheck => "health-check",
            Kind::ProxyLifecycle => "proxy-lifecycle",
            Kind::Process => "process",
            Kind::Json => "json",
            Kind::JsonInvalid => "json-invalid",
            Kind::Unparsed => "unparsed",
            Kind::Blank => "blank",
            Kind::Overlong => "overlong",
            Kind::Partial => "partial",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Classifies a message that no traffic format matched.
pub fn classify(message: &[u8]) -> Kind {
    let m = message;
    if m.first() == Some(&b'{') {
        return if is_json_object(m) {
            Kind::Json
        } else {
            Kind::JsonInvalid
        };
    }
    if m.starts_with(b"Connect from ") || m.starts_with(b"Connect to ") {
        return Kind::Connect;
    }
    if is_connection_error(m) {
        return Kind::Error;
    }
    if m.starts_with(b"Health check for ") || m.starts_with(b"Agent check for ") {
        return Kind::HealthCheck;
    }
    if m.starts_with(b"Server ") || m.starts_with(b"Backup Server ") || is_dns_change(m) {
        return Kind::ServerState;
    }
    if (m.starts_with(b"backend ") || m.starts_with(b"proxy ") || m.starts_with(b"Proxy "))
        && m.ends_with(b" has no server available!")
    {
        return Kind::BackendDown;
    }
    if m.starts_with(b"Proxy ")
        || m.starts_with(b"Stopping frontend ")
        || m.starts_with(b"Stopping backend ")
        || m.starts_with(b"Stopping proxy ")
        || m.starts_with(b"Paused ")
        || m.starts_with(b"Resumed ")
        || m.starts_with(b"SIGHUP received")
    {
        return Kind::ProxyLifecycle;
    }
    if PROCESS.iter().any(|p| m.starts_with(p)) {
        return Kind::Process;
    }
    Kind::Unparsed
}

/// Openings of HAProxy's process messages on stderr.
const PROCESS: &[&[u8]] = &[
    b"New worker ",
    b"Loading success",
    b"haproxy version is ",
    b"path to executable is ",
    b"All workers exited",
    b"Current worker ",
    b"Exiting Master process",
    b"Reexecuting Master process",
    b"Former worker ",
    b"Stopping ",
    b"Proxies ",
    b"Master ",
];

/// `<ip>:<port> [<date>] <frontend>/<bind>: <text>`.
fn is_connection_error(m: &[u8]) -> bool {
    connection_error(m).is_some()
}

/// The parts of a connection error line, as HAProxy writes it without an
/// `error-log-format` (spec a.5): `<ip>:<port> [<date>] <frontend>/<bind>:
/// <text>`. An IPv6 address is not bracketed: the port follows the last
/// colon.
fn connection_error(m: &[u8]) -> Option<[(Field, Span); 6]> {
    let open = memchr::memchr(b'[', m)?;
    if open < 3 || m[open - 1] != b' ' {
        return None;
    }
    let colon = memchr::memrchr(b':', &m[..open - 1])?;
    let close = memchr::memchr(b']', &m[open..]).map(|i| open + i)?;
    let token_start = close + 2;
    if m.get(close + 1) != Some(&b' ') {
        return None;
    }
    // The frontend/bind token ends with ':' and is followed by text.
    let end = token_start + memchr::memchr(b' ', &m[token_start..])?;
    if end < token_start + 3 || m[end - 1] != b':' {
        return None;
    }
    let slash = token_start + memchr::memchr(b'/', &m[token_start..end])?;
    Some([
        (Field::ClientIp, Span::new(0, colon)),
        (Field::ClientPort, Span::new(colon + 1, open - 1)),
        (Field::AcceptDate, Span::new(open + 1, close)),
        (Field::Frontend, Span::new(token_start, slash)),
        (Field::Bind, Span::new(slash + 1, end - 1)),
        (Field::Message, Span::new(end + 1, m.len())),
    ])
}

/// The parts of a `Connect from <ip>:<port> to <ip>:<port> (<frontend>/<mode>)`
/// line (spec a.6), or of `Connect to unix:<listener> (<frontend>/<mode>)`;
/// the address connected to is the frontend's.
fn connect(m: &[u8], spans: &mut [Span; MAX_ITEMS]) -> FieldSet {
    let mut found = FieldSet::EMPTY;
    let mut set = |field: Field, span: Span| {
        spans[field as usize] = span;
        found.insert(field);
    };
    // `(<frontend>/<mode>)` closes every form.
    let Some(open) = memchr::memrchr(b'(', m) else {
        return found;
    };
    if m.last() != Some(&b')') || open == 0 || m[open - 1] != b' ' {
        return found;
    }
    let inside = open + 1..m.len() - 1;
    if let Some(slash) = memchr::memrchr(b'/', &m[inside.clone()]).map(|i| inside.start + i) {
        set(Field::Frontend, Span::new(inside.start, slash));
        set(Field::Mode, Span::new(slash + 1, inside.end));
    }
    let addresses = &m[..open - 1];
    let address = |from: usize, to: usize| -> Option<(Span, Span)> {
        let colon = from + memchr::memrchr(b':', &m[from..to])?;
        Some((Span::new(from, colon), Span::new(colon + 1, to)))
    };
    if let Some(after) = addresses.strip_prefix(b"Connect from ") {
        let from = addresses.len() - after.len();
        if let Some(to) = memchr::memmem::find(after, b" to ").map(|i| from + i) {
            if let Some((ip, port)) = address(from, to) {
                set(Field::ClientIp, ip);
                set(Field::ClientPort, port);
            }
            if let Some((ip, port)) = address(to + 4, addresses.len()) {
                set(Field::FrontendIp, ip);
                set(Field::FrontendPort, port);
            }
        }
    } else if let Some(listener) = addresses.strip_prefix(b"Connect to unix:") {
        let from = addresses.len() - listener.len();
        set(Field::Bind, Span::new(from, addresses.len()));
    }
    found
}

/// Reads the fields of an error or connect message (kinds
/// [`Kind::Error`] and [`Kind::Connect`] from [`classify`]) into `spans`,
/// indexed by field; returns which it found.
pub fn event_fields(kind: Kind, m: &[u8], spans: &mut [Span; MAX_ITEMS]) -> FieldSet {
    match kind {
        Kind::Connect => connect(m, spans),
        Kind::Error => {
            let mut found = FieldSet::EMPTY;
            for (field, span) in connection_error(m).into_iter().flatten() {
                spans[field as usize] = span;
                found.insert(field);
            }
            found
        }
        _ => FieldSet::EMPTY,
    }
}

/// `<be>/<srv> changed its IP from <a> to <b> by <resolver>`.
fn is_dns_change(m: &[u8]) -> bool {
    memchr::memmem::find(m, b" changed its IP from ").is_some()
}

/// Whether `m` is one valid JSON object (strict: no `+1`, no bare `-`).
pub fn is_json_object(m: &[u8]) -> bool {
    let mut p = Json { s: m, i: 0 };
    p.ws();
    if p.peek() != Some(b'{') {
        return false;
    }
    if !p.value(0) {
        return false;
    }
    p.ws();
    p.i == m.len()
}

struct Json<'a> {
    s: &'a [u8],
    i: usize,
}

impl Json<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> bool {
        if depth > 64 {
            return false;
        }
        self.ws();
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return true;
                }
                loop {
                    self.ws();
                    if !self.string() {
                        return false;
                    }
                    self.ws();
                    if self.peek() != Some(b':') {
                        return false;
                    }
                    self.i += 1;
                    if !self.value(depth + 1) {
                        return false;
                    }
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return true;
                        }
                        _ => return false,
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return true;
                }
                loop {
                    if !self.value(depth + 1) {
                        return false;
                    }
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return true;
                        }
                        _ => return false,
                    }
                }
            }
            Some(b'"') => self.string(),
            Some(b't') => self.word(b"true"),
            Some(b'f') => self.word(b"false"),
            Some(b'n') => self.word(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }

    fn word(&mut self, w: &[u8]) -> bool {
        if self.s[self.i..].starts_with(w) {
            self.i += w.len();
            true
        } else {
            false
        }
    }

    fn string(&mut self) -> bool {
        if self.peek() != Some(b'"') {
            return false;
        }
        self.i += 1;
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => return true,
                b'\\' => {
                    if self.peek().is_none() {
                        return false;
                    }
                    self.i += 1;
                }
                0..=0x1f => return false,
                _ => {}
            }
        }
        false
    }

    fn number(&mut self) -> bool {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let digits = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i == digits {
            return false;
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            let frac = self.i;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.i += 1;
            }
            if self.i == frac {
                return false;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            let exp = self.i;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.i += 1;
            }
            if self.i == exp {
                return false;
            }
        }
        self.i > start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_the_place_in_all() {
        for (i, kind) in Kind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i);
        }
    }

    #[test]
    fn kinds_of_real_messages() {
        let cases: &[(&str, Kind)] = &[
            ("Connect from 127.0.0.1:48594 to 127.0.0.1:18000 (fe_http/HTTP)", Kind::Connect),
            ("Connect to unix:1 (fe/HTTP)", Kind::Connect),
            ("127.0.0.1:47764 [24/Nov/2026:15:56:36.756] fe_https/1: SSL handshake failure", Kind::Error),
            ("127.0.0.1:47772 [24/Nov/2026:15:56:36.756] fe_https/1: Connection closed during SSL handshake", Kind::Error),
            ("Health check for server be_flap/flap1 succeeded, reason: Layer4 check passed, check duration: 0ms, status: 2/2 UP.", Kind::HealthCheck),
            ("Server be_down/dead1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.", Kind::ServerState),
            ("Server be_static/nginx1 enters drain state. 1 active and 0 backup servers online.", Kind::ServerState),
            ("be_app/app1 changed its IP from 10.0.0.1 to 10.0.0.2 by dns/ns1", Kind::ServerState),
            ("backend be_flap has no server available!", Kind::BackendDown),
            ("backend 'be_down' has no server available!", Kind::BackendDown),
            ("Proxy be_static stopped (cumulated conns: FE: 0, BE: 12).", Kind::ProxyLifecycle),
            ("Proxy <HTTPCLIENT> stopped (cumulated conns: FE: 0, BE: 0).", Kind::ProxyLifecycle),
            ("New worker (9228) forked", Kind::Process),
            ("Loading success.", Kind::Process),
            ("{\"a\":1,\"b\":[true,null,\"x\\\"y\"],\"c\":{\"d\":-1.5e3}}", Kind::Json),
            ("{\"retries\":+1}", Kind::JsonInvalid),
            ("{\"uri\":\"/cut", Kind::JsonInvalid),
            ("{\"port\":-}", Kind::JsonInvalid),
            ("lua: hello", Kind::Unparsed),
            ("", Kind::Unparsed),
        ];
        for (message, kind) in cases {
            assert_eq!(classify(message.as_bytes()), *kind, "{message}");
        }
    }

    fn fields_of(kind: Kind, m: &str) -> Vec<(&'static str, String)> {
        let mut spans = [Span::default(); MAX_ITEMS];
        let found = event_fields(kind, m.as_bytes(), &mut spans);
        found
            .iter()
            .map(|f| {
                (
                    f.name(),
                    String::from_utf8_lossy(spans[f as usize].of(m.as_bytes())).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn connection_errors_split_into_fields() {
        // Spec a.5, and lines a real HAProxy wrote (the corpus).
        let cases: &[(&str, &[(&str, &str)])] = &[
            (
                "127.0.0.1:47764 [24/Nov/2026:15:56:36.756] fe_https/1: SSL handshake failure",
                &[("client_ip", "127.0.0.1"), ("client_port", "47764"), ("accept_date", "24/Nov/2026:15:56:36.756"), ("frontend", "fe_https"), ("bind", "1"), ("message", "SSL handshake failure")],
            ),
            (
                "10.0.0.9:51000 [06/Feb/2009:12:12:51.443] fe_tls/bind-public: Connection error during SSL handshake",
                &[("client_ip", "10.0.0.9"), ("client_port", "51000"), ("accept_date", "06/Feb/2009:12:12:51.443"), ("frontend", "fe_tls"), ("bind", "bind-public"), ("message", "Connection error during SSL handshake")],
            ),
            (
                "2001:db8::7:40110 [06/Feb/2009:12:12:51.443] fe_pp/pp: Received something which does not look like a PROXY protocol header",
                &[("client_ip", "2001:db8::7"), ("client_port", "40110"), ("accept_date", "06/Feb/2009:12:12:51.443"), ("frontend", "fe_pp"), ("bind", "pp"), ("message", "Received something which does not look like a PROXY protocol header")],
            ),
        ];
        for (line, want) in cases {
            assert_eq!(classify(line.as_bytes()), Kind::Error, "{line}");
            let want: Vec<_> = want.iter().map(|(k, v)| (*k, v.to_string())).collect();
            assert_eq!(fields_of(Kind::Error, line), want, "{line}");
        }
    }

    #[test]
    fn connect_lines_split_into_fields() {
        let got = fields_of(
            Kind::Connect,
            "Connect from 127.0.0.1:48594 to 127.0.0.1:18000 (fe_http/HTTP)",
        );
        let want = [
            ("client_ip", "127.0.0.1"),
            ("client_port", "48594"),
            ("frontend_ip", "127.0.0.1"),
            ("frontend_port", "18000"),
            ("frontend", "fe_http"),
            ("mode", "HTTP"),
        ];
        assert_eq!(got, want.map(|(k, v)| (k, v.to_string())));
        let got = fields_of(
            Kind::Connect,
            "Connect from ::1:5555 to ::1:80 (fe_tcp/TCP)",
        );
        let want = [
            ("client_ip", "::1"),
            ("client_port", "5555"),
            ("frontend_ip", "::1"),
            ("frontend_port", "80"),
            ("frontend", "fe_tcp"),
            ("mode", "TCP"),
        ];
        assert_eq!(got, want.map(|(k, v)| (k, v.to_string())));
        let got = fields_of(Kind::Connect, "Connect to unix:1 (fe/HTTP)");
        let want = [("frontend", "fe"), ("mode", "HTTP"), ("bind", "1")];
        let mut want: Vec<_> = want.iter().map(|(k, v)| (*k, v.to_string())).collect();
        want.sort_by_key(|(k, _)| Field::ALL.iter().position(|f| f.name() == *k));
        assert_eq!(got, want);
        assert!(fields_of(Kind::Connect, "Connect from nowhere").is_empty());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_classify_without_panic(m in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            classify(&m);
            let mut json = b"{".to_vec();
            json.extend_from_slice(&m);
            classify(&json);
            let mut spans = [Span::default(); MAX_ITEMS];
            for kind in [Kind::Error, Kind::Connect] {
                for f in event_fields(kind, &m, &mut spans).iter() {
                    let _ = spans[f as usize].of(&m);
                }
            }
        }
    }
}
