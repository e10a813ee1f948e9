//! One traffic line as the values a report needs, whatever its format.

use haplog_format::record::{parse_number, request_parts, target_parts};
use haplog_format::time::{DateCache, LogTime};
use haplog_format::{Field, Record};

/// The values of one request (or TCP connection) that reports and filters
/// look at. Absent values are `None` or empty; HAProxy's `-1` (a phase
/// that never happened) is kept as `-1`.
#[derive(Clone, Debug, Default)]
pub struct Request<'a> {
    /// When the request started (or the connection was accepted).
    pub time: Option<LogTime>,
    pub frontend: &'a [u8],
    pub backend: &'a [u8],
    pub server: &'a [u8],
    /// The client: its address, or with [`ReadOptions::xff_capture`] the
    /// first address of X-Forwarded-For.
    pub client: &'a [u8],
    pub status: Option<i64>,
    /// The first two characters of the termination state (`--`, `cD`, …).
    pub termination: Option<[u8; 2]>,
    /// Time waiting in queues (-1: never got a server).
    pub tw: Option<i64>,
    /// Time to connect to the server.
    pub tc: Option<i64>,
    /// Time for the server to send the response headers.
    pub tr: Option<i64>,
    /// Total time: `Tt` when the format has it (tcplog, pre-1.7
    /// httplog), else `Ta` (httplog's active time, without the idle time
    /// before the request). `None` for an incomplete line: its total is
    /// only the time until it was logged.
    pub tt: Option<i64>,
    pub bytes: Option<i64>,
    pub retries: Option<i64>,
    /// The retries field had a `+`: the request was redispatched to
    /// another server.
    pub redispatched: bool,
    pub srv_queue: Option<i64>,
    pub backend_queue: Option<i64>,
    pub method: &'a [u8],
    /// The request's path (no authority, no query): a gRPC call's
    /// `/package.Service/Method`.
    pub path: &'a [u8],
    pub query: Option<&'a [u8]>,
    /// The path with its query (`/search?q=x`), as requested.
    pub target: &'a [u8],
    /// The whole request line, as logged.
    pub request: &'a [u8],
    /// The frontend is a TLS one (`~` after its name), or the line has a
    /// TLS version.
    pub tls: bool,
    /// Logged before it ended (`option logasap`, see
    /// [`Record::incomplete`]): no total time, bytes so far.
    pub incomplete: bool,
    /// The gRPC status HAProxy captured from the response headers (with
    /// [`ReadOptions::grpc_status_capture`]): a trailers-only response's,
    /// which is how most gRPC errors are sent. `None` when it was in the
    /// trailers, which HAProxy cannot capture, or was not captured.
    pub grpc_status: Option<u8>,
}

/// How to read requests out of records.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Take the client address from this captured request header (1 is
    /// the first `{a|b}` slot), an X-Forwarded-For value: its first
    /// address, when there is one.
    pub xff_capture: Option<usize>,
    /// Take the gRPC status from this captured response header (1 is the
    /// first `{a|b}` slot): `capture response header grpc-status len 2`.
    pub grpc_status_capture: Option<usize>,
}

impl<'a> Request<'a> {
    /// The request a record logs, if it is a traffic line (including a
    /// JSON line read by its keys). Error lines (TLS handshakes that never
    /// became a stream) are not requests.
    #[inline]
    pub fn from_record(
        record: &Record<'_, 'a>,
        dates: &mut DateCache,
        options: &ReadOptions,
    ) -> Option<Request<'a>> {
        if !record.kind.is_request() {
            return None;
        }
        let get = |f: Field| record.get(f).filter(|v| !is_absent(v));
        // `parse_number` reads the absent marks (`-`, `""`) as no number.
        let num = |f: Field| record.get(f).and_then(parse_number);
        let time = get(Field::RequestDate)
            .or_else(|| get(Field::AcceptDate))
            .and_then(|v| dates.parse(v));
        let frontend = get(Field::Frontend)
            .or_else(|| get(Field::FrontendName))
            .unwrap_or_default();
        let retries_raw = get(Field::Retries);
        let request = get(Field::Request).unwrap_or_default();
        let (mut method, mut uri, _) = request_parts(request);
        if let Some(m) = get(Field::Method) {
            method = m;
        }
        if let Some(u) = get(Field::Uri).or_else(|| get(Field::Path)) {
            uri = u;
        }
        let (_, path, query) = target_parts(method, uri);
        let target = &uri[uri.len() - path.len() - query.map_or(0, |q| q.len() + 1)..];
        let termination = get(Field::Termination).map(|t| {
            let first = t.first().copied().unwrap_or(b'-');
            let second = t.get(1).copied().unwrap_or(b'-');
            [first, second]
        });
        let mut client = get(Field::ClientIp).unwrap_or_default();
        if let Some(slot) = options.xff_capture {
            if let Some(xff) = get(Field::CapturedRequestHeaders).and_then(|h| capture(h, slot)) {
                client = xff;
            }
        }
        let tls = frontend.last() == Some(&b'~') || get(Field::SslVersion).is_some();
        // The total time and the bytes, read once: a `+` before either
        // marks a line logged before its end (`Record::incomplete`).
        let tt = signed(record, Field::Tt).or_else(|| signed(record, Field::Ta));
        let bytes = signed(record, Field::BytesRead);
        let incomplete = tt.is_some_and(|t| t.1) || bytes.is_some_and(|b| b.1);
        let grpc_status = match options.grpc_status_capture {
            None => None,
            Some(slot) => grpc_status_of(record, slot),
        };
        Some(Request {
            time,
            frontend,
            backend: get(Field::Backend).unwrap_or_default(),
            server: get(Field::Server).unwrap_or_default(),
            client,
            status: num(Field::Status),
            termination,
            tw: num(Field::Tw),
            tc: num(Field::Tc),
            tr: num(Field::Tr),
            tt: tt.filter(|_| !incomplete).map(|t| t.0),
            bytes: bytes.map(|b| b.0),
            retries: retries_raw.and_then(parse_number),
            redispatched: retries_raw.is_some_and(|r| r.first() == Some(&b'+')),
            srv_queue: num(Field::SrvQueue),
            backend_queue: num(Field::BackendQueue),
            method,
            path,
            query,
            target,
            request,
            tls,
            incomplete,
            grpc_status,
        })
    }

    /// Failed, as docs/report.md defines it once for every output: the
    /// session did not end normally (a termination state whose first
    /// character is neither `-` nor `L`), or the response is a 5xx, or
    /// there was none (status -1, or outside 100-599). `L` is a reply
    /// HAProxy made on purpose (a redirect, `http-request return`, the
    /// stats page): judged by its status alone. A captured gRPC status
    /// that stands for a server-side failure fails the request too (see
    /// [`grpc_failure`]), whatever HTTP said (gRPC errors travel with a
    /// 200).
    pub fn failed(&self) -> bool {
        if self.grpc_status.is_some_and(grpc_failure) {
            return true;
        }
        if let Some([first, _]) = self.termination {
            if first != b'-' && first != b'L' {
                return true;
            }
        }
        match self.status {
            Some(s) => !(100..500).contains(&s),
            None => false,
        }
    }

    /// The request waited in a queue (Tw > 0).
    pub fn queued(&self) -> bool {
        self.tw.is_some_and(|t| t > 0)
    }
}

/// The gRPC status in the `slot`-th captured response header. The
/// response captures are the line's last `{...}` block: HAProxy leaves out
/// the request block when it captures no request header, and the parser
/// then names the one block `%hr`. Out of line: only a run that asks pays.
#[inline(never)]
fn grpc_status_of(record: &Record<'_, '_>, slot: usize) -> Option<u8> {
    let get = |f: Field| record.get(f).filter(|v| !is_absent(v));
    let block =
        get(Field::CapturedResponseHeaders).or_else(|| get(Field::CapturedRequestHeaders))?;
    let code = capture(block, slot)?;
    std::str::from_utf8(code)
        .ok()?
        .parse::<u8>()
        .ok()
        .filter(|c| *c <= 16)
}

/// The gRPC codes that gRPC's own HTTP mapping (and grpc-gateway) turn
/// into a 5xx: a failure of the server, as a 5xx is. The others (NotFound,
/// InvalidArgument, PermissionDenied, ...) are the caller's, as a 4xx is.
pub fn grpc_failure(code: u8) -> bool {
    // Unknown, DeadlineExceeded, Unimplemented, Internal, Unavailable,
    // DataLoss.
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
}

/// A number and whether HAProxy wrote a `+` before it.
#[inline(always)]
fn signed(record: &Record<'_, '_>, field: Field) -> Option<(i64, bool)> {
    let v = record.get(field)?;
    Some((parse_number(v)?, v[0] == b'+'))
}

/// `-` (and the quoted `""` of CLF formats) stand for no value.
fn is_absent(v: &[u8]) -> bool {
    matches!(v, [] | [b'-'] | [b'"', b'"'])
}

/// The first address of the `slot`-th (1-based) value of a captured
/// header block `{a|b|c}`: `1.2.3.4` of `1.2.3.4, 10.0.0.1`.
fn capture(block: &[u8], slot: usize) -> Option<&[u8]> {
    let inner = block.strip_prefix(b"{").unwrap_or(block);
    let inner = inner.strip_suffix(b"}").unwrap_or(inner);
    let value = inner.split(|&b| b == b'|').nth(slot.checked_sub(1)?)?;
    let first = value.split(|&b| b == b',').next()?;
    let first = first.trim_ascii();
    (!first.is_empty() && first != b"-").then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_follows_the_termination_state_and_the_status() {
        let cases: &[(&[u8; 2], Option<i64>, bool)] = &[
            (b"--", Some(200), false),
            (b"--", Some(404), false),
            (b"--", Some(503), true),
            (b"--", Some(-1), true),
            (b"--", None, false),
            // Local replies: a redirect, `return`, the stats page.
            (b"LR", Some(302), false),
            (b"LR", Some(200), false),
            (b"LR", Some(503), true),
            (b"LR", Some(-1), true),
            (b"PR", Some(403), true),
            (b"SC", Some(503), true),
            (b"CD", Some(200), true),
            (b"sD", None, true),
            (b"cD", None, true),
        ];
        for &(state, status, failed) in cases {
            let r = Request {
                termination: Some(*state),
                status,
                ..Request::default()
            };
            assert_eq!(
                r.failed(),
                failed,
                "{} {status:?}",
                String::from_utf8_lossy(state)
            );
        }
    }

    #[test]
    fn captured_forwarded_for() {
        assert_eq!(
            capture(b"{1.2.3.4, 10.0.0.1|host}", 1),
            Some(&b"1.2.3.4"[..])
        );
        assert_eq!(capture(b"{ua|9.9.9.9}", 2), Some(&b"9.9.9.9"[..]));
        assert_eq!(capture(b"{ua|}", 2), None);
        assert_eq!(capture(b"{ua}", 3), None);
        assert_eq!(capture(b"{ua}", 0), None);
    }
}
