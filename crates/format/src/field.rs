//! The meaning of a log-format item, whatever format it came from.

use std::fmt;

macro_rules! fields {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// A value a traffic line can carry, named the same whatever the
        /// format (tcplog, httplog, CLF, JSON or a custom string).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Field {
            $($variant),*
        }

        impl Field {
            /// Every field, in declaration order.
            pub const ALL: &'static [Field] = &[$(Field::$variant),*];

            /// The snake_case name used in JSON and CSV output.
            pub fn name(self) -> &'static str {
                match self {
                    $(Field::$variant => $name),*
                }
            }
        }
    };
}

fields! {
    ClientIp => "client_ip",
    ClientPort => "client_port",
    FrontendIp => "frontend_ip",
    FrontendPort => "frontend_port",
    BackendIp => "backend_ip",
    BackendPort => "backend_port",
    ServerIp => "server_ip",
    ServerPort => "server_port",
    AcceptDate => "accept_date",
    RequestDate => "request_date",
    DateMs => "date_ms",
    EpochSeconds => "epoch_seconds",
    Frontend => "frontend",
    FrontendName => "frontend_name",
    Backend => "backend",
    Server => "server",
    Th => "th",
    Ti => "ti",
    TR => "tr_headers",
    Tq => "tq",
    Tw => "tw",
    Tc => "tc",
    Tr => "tr",
    Td => "td",
    Ta => "ta",
    Tt => "tt",
    Tu => "tu",
    Status => "status",
    BytesRead => "bytes_read",
    BytesUploaded => "bytes_uploaded",
    CookieRequest => "captured_request_cookie",
    CookieResponse => "captured_response_cookie",
    Termination => "termination_state",
    ActConn => "actconn",
    FeConn => "feconn",
    BeConn => "beconn",
    SrvConn => "srv_conn",
    Retries => "retries",
    SrvQueue => "srv_queue",
    BackendQueue => "backend_queue",
    CapturedRequestHeaders => "captured_request_headers",
    CapturedResponseHeaders => "captured_response_headers",
    Request => "request",
    Method => "method",
    Uri => "uri",
    Path => "path",
    PathOnly => "path_only",
    Query => "query",
    Version => "version",
    UniqueId => "unique_id",
    Hostname => "hostname",
    Pid => "pid",
    RequestCounter => "request_counter",
    LogCounter => "log_counter",
    SslVersion => "ssl_version",
    SslCipher => "ssl_cipher",
    Sni => "sni",
    ConnectionError => "fc_err",
    SslError => "ssl_fc_err",
    ClientCertError => "ssl_c_err",
    ClientCaError => "ssl_c_ca_err",
    SslResumed => "ssl_resumed",
    SslUsed => "ssl_used",
    Bind => "bind",
    Mode => "mode",
    Message => "message",
}

/// A set of fields, as the fields a line was found to have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FieldSet(u128);

// One bit per field.
const _: () = assert!(Field::ALL.len() <= 128);

impl FieldSet {
    pub const EMPTY: FieldSet = FieldSet(0);

    #[inline]
    pub fn contains(self, field: Field) -> bool {
        self.0 & (1 << field as u32) != 0
    }

    #[inline]
    pub fn insert(&mut self, field: Field) {
        self.0 |= 1 << field as u32;
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The fields in the set, in [`Field::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Field> {
        Field::ALL
            .iter()
            .copied()
            .filter(move |&f| self.contains(f))
    }
}

impl Field {
    /// Whether the field's values are numbers (timers, counts, codes).
    pub fn is_numeric(self) -> bool {
        use Field::*;
        matches!(
            self,
            ClientPort
                | FrontendPort
                | BackendPort
                | ServerPort
                | DateMs
                | EpochSeconds
                | Th
                | Ti
                | TR
                | Tq
                | Tw
                | Tc
                | Tr
                | Td
                | Ta
                | Tt
                | Tu
                | Status
                | BytesRead
                | BytesUploaded
                | ActConn
                | FeConn
                | BeConn
                | SrvConn
                | Retries
                | SrvQueue
                | BackendQueue
                | Pid
                | RequestCounter
                | LogCounter
        )
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How an item's value is written, which decides how far it reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `[+]-?digits`, or `-` when absent; never quoted.
    Number,
    /// An address: non-space, split from a following `:port` at the last
    /// colon (IPv6 is not bracketed).
    Address,
    /// A run of non-space bytes up to the next literal.
    Token,
    /// A date with a zone, `dd/Mon/yyyy:HH:MM:SS +zzzz`: holds one space.
    ZonedDate,
    /// Exactly this many bytes (`%ts`, `%tsc`).
    Fixed(usize),
    /// `{…}`, or nothing at all (`%hr`, `%hs`).
    Capture,
    /// Each captured header as its own quoted field, to the end (`%hrl`).
    CaptureList,
    /// The request line: spaces inside, quoted in every built-in format.
    Request,
    /// Sample-fetch output: not escaped, so a quoted one may hold `"`.
    Sample,
}

/// The field and shape of a log-format variable; `None` for one that is
/// not known (it is kept as an extra named by its alias).
pub fn alias(name: &str) -> Option<(Field, Shape)> {
    use Field::*;
    use Shape::*;
    let found = match name {
        "ci" => (ClientIp, Address),
        "cp" => (ClientPort, Number),
        "fi" => (FrontendIp, Address),
        "fp" => (FrontendPort, Number),
        "bi" => (BackendIp, Address),
        "bp" => (BackendPort, Number),
        "si" => (ServerIp, Address),
        "sp" => (ServerPort, Number),
        "t" => (AcceptDate, Token),
        "tr" => (RequestDate, Token),
        "T" | "Tl" => (AcceptDate, ZonedDate),
        "trg" | "trl" => (RequestDate, ZonedDate),
        "ms" => (DateMs, Number),
        "Ts" => (EpochSeconds, Number),
        "ft" => (Frontend, Token),
        "f" => (FrontendName, Token),
        "b" => (Backend, Token),
        "s" => (Server, Token),
        "Th" => (Th, Number),
        "Ti" => (Ti, Number),
        "TR" => (TR, Number),
        "Tq" => (Tq, Number),
        "Tw" => (Tw, Number),
        "Tc" => (Tc, Number),
        "Tr" => (Tr, Number),
        "Td" => (Td, Number),
        "Ta" => (Ta, Number),
        "Tt" => (Tt, Number),
        "Tu" => (Tu, Number),
        "ST" => (Status, Number),
        "B" => (BytesRead, Number),
        "U" => (BytesUploaded, Number),
        "CC" => (CookieRequest, Token),
        "CS" => (CookieResponse, Token),
        "ts" => (Termination, Fixed(2)),
        "tsc" => (Termination, Fixed(4)),
        "ac" => (ActConn, Number),
        "fc" => (FeConn, Number),
        "bc" => (BeConn, Number),
        "sc" => (SrvConn, Number),
        "rc" => (Retries, Number),
        "sq" => (SrvQueue, Number),
        "bq" => (BackendQueue, Number),
        "hr" => (CapturedRequestHeaders, Capture),
        "hs" => (CapturedResponseHeaders, Capture),
        "hrl" => (CapturedRequestHeaders, CaptureList),
        "hsl" => (CapturedResponseHeaders, CaptureList),
        "r" => (Field::Request, Shape::Request),
        "HM" => (Method, Token),
        "HU" => (Uri, Token),
        "HP" => (Path, Token),
        "HPO" => (PathOnly, Token),
        "HQ" => (Query, Token),
        "HV" => (Version, Token),
        "ID" => (UniqueId, Token),
        "H" => (Hostname, Token),
        "pid" => (Pid, Number),
        "rt" => (RequestCounter, Number),
        "lc" => (LogCounter, Number),
        "sslv" => (SslVersion, Token),
        "sslc" => (SslCipher, Token),
        _ => return None,
    };
    Some(found)
}

/// The field a sample expression stands for, and how its value is
/// written, when it is one of the well-known ones (httpslog's TLS fields).
pub fn sample(expr: &str) -> Option<(Field, Shape)> {
    let mut parts = expr.split(',');
    let fetch = parts.next().unwrap_or(expr).trim();
    // A converter (`,hex`, `,json(...)`) changes how the value looks.
    let converted = parts.next().is_some();
    let numeric = if converted {
        Shape::Sample
    } else {
        Shape::Number
    };
    let found = match fetch {
        "ssl_fc_sni" => (Field::Sni, Shape::Sample),
        "fc_err" => (Field::ConnectionError, numeric),
        "ssl_fc_err" => (Field::SslError, numeric),
        "ssl_c_err" => (Field::ClientCertError, numeric),
        "ssl_c_ca_err" => (Field::ClientCaError, numeric),
        "ssl_fc_is_resumed" => (Field::SslResumed, numeric),
        "ssl_fc" => (Field::SslUsed, numeric),
        "ssl_fc_protocol" => (Field::SslVersion, Shape::Sample),
        "ssl_fc_cipher" => (Field::SslCipher, Shape::Sample),
        "unique-id" => (Field::UniqueId, Shape::Sample),
        _ => return None,
    };
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn built_in_aliases_are_all_known() {
        for (name, text) in crate::logformat::BUILT_IN {
            for token in crate::logformat::tokenize(text).unwrap() {
                if let crate::logformat::Token::Item(item) = token {
                    match item.value {
                        crate::logformat::Value::Alias(a) => {
                            assert!(alias(&a).is_some(), "{name}: %{a}")
                        }
                        crate::logformat::Value::Sample(s) => {
                            assert!(sample(&s).is_some(), "{name}: %[{s}]")
                        }
                    }
                }
            }
        }
    }
}
