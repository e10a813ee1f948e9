//! What to compute: the `-c` commands, the `-f` filters and the `-s`/`-d`
//! window, read from the tool's own syntax.

use thiserror::Error;

use crate::line::Line;
use crate::time::{parse_delta, parse_start, NaiveTime};

/// The 17 commands of haproxy_log_analysis 6.0, in `--list-commands` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    AverageResponseTime,
    AverageWaitingTime,
    ConnectionType,
    Counter,
    HttpMethods,
    IpCounter,
    Print,
    QueuePeaks,
    RequestPathCounter,
    RequestsPerHour,
    RequestsPerMinute,
    ServerLoad,
    SlowRequests,
    SlowRequestsCounter,
    StatusCodesCounter,
    TopIps,
    TopRequestPaths,
}

impl Command {
    pub const ALL: [Command; 17] = [
        Command::AverageResponseTime,
        Command::AverageWaitingTime,
        Command::ConnectionType,
        Command::Counter,
        Command::HttpMethods,
        Command::IpCounter,
        Command::Print,
        Command::QueuePeaks,
        Command::RequestPathCounter,
        Command::RequestsPerHour,
        Command::RequestsPerMinute,
        Command::ServerLoad,
        Command::SlowRequests,
        Command::SlowRequestsCounter,
        Command::StatusCodesCounter,
        Command::TopIps,
        Command::TopRequestPaths,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Command::AverageResponseTime => "average_response_time",
            Command::AverageWaitingTime => "average_waiting_time",
            Command::ConnectionType => "connection_type",
            Command::Counter => "counter",
            Command::HttpMethods => "http_methods",
            Command::IpCounter => "ip_counter",
            Command::Print => "print",
            Command::QueuePeaks => "queue_peaks",
            Command::RequestPathCounter => "request_path_counter",
            Command::RequestsPerHour => "requests_per_hour",
            Command::RequestsPerMinute => "requests_per_minute",
            Command::ServerLoad => "server_load",
            Command::SlowRequests => "slow_requests",
            Command::SlowRequestsCounter => "slow_requests_counter",
            Command::StatusCodesCounter => "status_codes_counter",
            Command::TopIps => "top_ips",
            Command::TopRequestPaths => "top_request_paths",
        }
    }

    pub fn from_name(name: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// One `-f` filter with its argument, checked up front (the tool checks
/// most arguments only at the first line, and dies there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    Ip(String),
    IpRange(String),
    Path(String),
    Ssl,
    SlowRequests(i64),
    WaitOnQueues(i64),
    StatusCode(String),
    StatusCodeFamily(String),
    HttpMethod(String),
    Backend(String),
    Frontend(String),
    Server(String),
    ResponseSize(i64),
}

pub const FILTER_NAMES: [&str; 13] = [
    "backend",
    "frontend",
    "http_method",
    "ip",
    "ip_range",
    "path",
    "response_size",
    "server",
    "slow_requests",
    "ssl",
    "status_code",
    "status_code_family",
    "wait_on_queues",
];

impl Filter {
    /// Whether `line` passes.
    pub fn keeps(&self, line: &Line) -> bool {
        match self {
            Filter::Ip(ip) => line.ip() == ip,
            Filter::IpRange(prefix) => {
                let ip = line.ip();
                !ip.is_empty() && ip.starts_with(prefix.as_str())
            }
            Filter::Path(part) => line.path.contains(part.as_str()),
            Filter::Ssl => line.is_https(),
            Filter::SlowRequests(n) => line.tr >= *n,
            Filter::WaitOnQueues(n) => line.tw >= *n,
            Filter::StatusCode(s) => line.status == s,
            Filter::StatusCodeFamily(p) => line.status.starts_with(p.as_str()),
            Filter::HttpMethod(m) => line.method == m,
            Filter::Backend(b) => line.backend == b,
            Filter::Frontend(f) => line.frontend == f,
            Filter::Server(s) => line.server == s,
            Filter::ResponseSize(n) => {
                let bytes = line.bytes_read.strip_prefix('+').unwrap_or(line.bytes_read);
                python_int(bytes).is_some_and(|b| b >= *n)
            }
        }
    }
}

/// A command line that cannot run: each message names the value and what
/// would be accepted.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("command \"{0}\" is not available (see --list-commands)")]
    UnknownCommand(String),
    #[error("filter \"{0}\" is not available (see --list-filters)")]
    UnknownFilter(String),
    #[error("filter \"{0}\" is missing its opening square bracket: write name[value]")]
    MissingBracket(String),
    #[error(
        "filter \"{0}\" has more than one '[': write name[value] (values cannot hold '[' or ',')"
    )]
    TwoBrackets(String),
    #[error("filter \"{name}\" needs a value: write {name}[{example}]")]
    MissingValue { name: String, example: &'static str },
    #[error("filter \"{name}\" needs a whole number, got \"{value}\" (e.g. {name}[1000])")]
    NotANumber { name: String, value: String },
    #[error(
        "--start \"{0}\" is not valid: write DD/Mon/YYYY[:HH[:MM[:SS]]], e.g. 11/Dec/2013:19:31:41"
    )]
    BadStart(String),
    #[error("--delta \"{0}\" is not valid: write a number and one of s, m, h, d, e.g. 15m")]
    BadDelta(String),
}

/// Python's `int()` of a filter argument: blanks around, a sign, digits
/// with single underscores between them.
pub fn python_int(text: &str) -> Option<i64> {
    let t = crate::line::strip(text);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let n: i64 = digits.replace('_', "").parse().ok()?;
    Some(if negative { -n } else { n })
}

/// `-c a,b,c`: split on every comma, names exact (the tool trims nothing).
pub fn parse_commands(text: &str) -> Result<Vec<Command>, QueryError> {
    text.split(',')
        .map(|name| Command::from_name(name).ok_or_else(|| QueryError::UnknownCommand(name.into())))
        .collect()
}

/// `-f a,b[x]`: split on every comma; `name` or `name[value]`.
pub fn parse_filters(text: &str) -> Result<Vec<Filter>, QueryError> {
    text.split(',').map(parse_filter).collect()
}

fn parse_filter(expr: &str) -> Result<Filter, QueryError> {
    let (name, value) = match expr.strip_suffix(']') {
        Some(inner) => {
            let mut parts = inner.splitn(3, '[');
            let name = parts.next().unwrap_or("");
            let Some(value) = parts.next() else {
                return Err(QueryError::MissingBracket(expr.into()));
            };
            if parts.next().is_some() {
                return Err(QueryError::TwoBrackets(expr.into()));
            }
            (name, Some(value))
        }
        None => (expr, None),
    };
    if !FILTER_NAMES.contains(&name) {
        return Err(QueryError::UnknownFilter(name.into()));
    }
    let example = match name {
        "ip" => "192.168.1.2",
        "ip_range" => "192.168.1",
        "path" => "/some/path",
        "slow_requests" | "wait_on_queues" => "1000",
        "status_code" => "404",
        "status_code_family" => "5",
        "http_method" => "GET",
        "backend" => "specific_app",
        "frontend" => "loadbalancer",
        "server" => "app01",
        _ => "50000",
    };
    let text = |v: Option<&str>| -> Result<String, QueryError> {
        v.map(str::to_string).ok_or(QueryError::MissingValue {
            name: name.into(),
            example,
        })
    };
    let number = |v: Option<&str>| -> Result<i64, QueryError> {
        let v = text(v)?;
        let digits = if name == "response_size" {
            v.strip_prefix('+').unwrap_or(&v)
        } else {
            &v
        };
        python_int(digits).ok_or(QueryError::NotANumber {
            name: name.into(),
            value: v.clone(),
        })
    };
    Ok(match name {
        "ip" => Filter::Ip(text(value)?),
        "ip_range" => Filter::IpRange(text(value)?),
        "path" => Filter::Path(text(value)?),
        "ssl" => Filter::Ssl,
        "slow_requests" => Filter::SlowRequests(number(value)?),
        "wait_on_queues" => Filter::WaitOnQueues(number(value)?),
        "status_code" => Filter::StatusCode(text(value)?),
        "status_code_family" => Filter::StatusCodeFamily(text(value)?),
        "http_method" => Filter::HttpMethod(text(value)?),
        "backend" => Filter::Backend(text(value)?),
        "frontend" => Filter::Frontend(text(value)?),
        "server" => Filter::Server(text(value)?),
        _ => Filter::ResponseSize(number(value)?),
    })
}

/// Everything one run computes.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub commands: Vec<Command>,
    pub filters: Vec<Filter>,
    /// `-n`: keep the lines that do not pass all the filters.
    pub negate: bool,
    pub start: Option<NaiveTime>,
    /// `-d`, in seconds.
    pub delta: Option<i64>,
}

impl Query {
    pub fn parse_start(text: &str) -> Result<NaiveTime, QueryError> {
        parse_start(text).ok_or_else(|| QueryError::BadStart(text.into()))
    }

    pub fn parse_delta(text: &str) -> Result<i64, QueryError> {
        parse_delta(text).ok_or_else(|| QueryError::BadDelta(text.into()))
    }

    /// The window `[start, start + delta]`, both ends included, once the
    /// start is known (from `-s`, or the first line's accept date).
    pub fn window(&self, first_line: Option<NaiveTime>) -> (Option<NaiveTime>, Option<NaiveTime>) {
        let start = self.start.or(if self.delta.is_some() {
            first_line
        } else {
            None
        });
        let end = match (start, self.delta) {
            (Some(s), Some(d)) => Some(s.plus_seconds(d)),
            _ => None,
        };
        (start, end)
    }

    /// Whether the filters keep `line` (`-n` inverts their conjunction; no
    /// filters keep everything, negated or not).
    pub fn keeps(&self, line: &Line) -> bool {
        if self.filters.is_empty() {
            return true;
        }
        self.filters.iter().all(|f| f.keeps(line)) != self.negate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_syntax() {
        assert_eq!(
            parse_filters("ssl,path[/x]").unwrap(),
            vec![Filter::Ssl, Filter::Path("/x".into())]
        );
        assert_eq!(
            parse_filters("path[]").unwrap(),
            vec![Filter::Path(String::new())]
        );
        assert_eq!(parse_filters("ssl[yes]").unwrap(), vec![Filter::Ssl]);
        assert_eq!(
            parse_filters("response_size[+1_000]").unwrap(),
            vec![Filter::ResponseSize(1000)]
        );
        assert!(matches!(
            parse_filters("ip1.2.3.4]"),
            Err(QueryError::MissingBracket(_))
        ));
        assert!(matches!(
            parse_filters("path[a[b]"),
            Err(QueryError::TwoBrackets(_))
        ));
        assert!(matches!(
            parse_filters("path[/hello"),
            Err(QueryError::UnknownFilter(_))
        ));
        assert!(matches!(
            parse_filters("path[/a,b]"),
            Err(QueryError::UnknownFilter(_))
        ));
        assert!(matches!(
            parse_filters("slow_requests"),
            Err(QueryError::MissingValue { .. })
        ));
        assert!(matches!(
            parse_filters("slow_requests[1s]"),
            Err(QueryError::NotANumber { .. })
        ));
        assert!(matches!(
            parse_filters("ip"),
            Err(QueryError::MissingValue { .. })
        ));
    }

    #[test]
    fn command_syntax() {
        assert_eq!(
            parse_commands("counter,counter").unwrap(),
            vec![Command::Counter; 2]
        );
        assert!(parse_commands("counter, http_methods").is_err());
        assert!(parse_commands("counter,").is_err());
    }

    #[test]
    fn python_ints() {
        assert_eq!(python_int(" 12 "), Some(12));
        assert_eq!(python_int("-3"), Some(-3));
        assert_eq!(python_int("1_000"), Some(1000));
        assert_eq!(python_int("1__0"), None);
        assert_eq!(python_int("1s"), None);
        assert_eq!(python_int(""), None);
    }
}
