//! The proxy's side of a run: the HAProxy log lines of the run's calls
//! (its method path, inside its time window), summed up per server, by
//! status and termination state, with HAProxy's own timers, so they can sit
//! next to the client's numbers.

use std::collections::HashMap;
use std::fmt::Write as _;

use haplog_analyze::{Histogram, ReadOptions, Request};
use haplog_format::time::DateCache;
use haplog_format::{Field, Formats, LineParser, Record};
use tonic::Code;

use crate::stats::{format_duration, tally, Spread};

/// Which log lines belong to the run.
#[derive(Clone, Debug)]
pub struct Window {
    /// The run's first and last moments, in ms since the epoch (UTC). A
    /// request is the run's when it started before the run's end and ended
    /// after its start: a log's request date can precede the first send
    /// (HAProxy dates the first stream of a connection from the connection
    /// and its idle time), but its end cannot.
    pub start_utc_ms: i64,
    pub end_utc_ms: i64,
    /// The method's path, `/package.Service/Method`.
    pub path: Vec<u8>,
    /// The zone of log dates written without one, minutes east of UTC.
    pub offset_minutes: i32,
    /// Where HAProxy captures the `grpc-status` response header (1-based
    /// slot of `capture response header`), if it does.
    pub grpc_status_capture: Option<usize>,
    /// The header the calls sent their ids in, and what every id of the
    /// run starts with (`--request-id-header`).
    pub request_id: Option<(String, Vec<u8>)>,
}

/// The run's calls matched one by one to the log's lines by the id each
/// call sent, where HAProxy captured it (`capture request header
/// x-request-id len 32`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IdMatch {
    pub header: String,
    /// The run's calls looked for (those kept one by one).
    pub calls: u64,
    /// Calls with a line.
    pub matched: u64,
    /// Lines with an id of this run: more than `matched` when a refused
    /// stream was retried (two lines, one call).
    pub lines: u64,
    /// Lines of this run's calls that were not kept one by one
    /// (`--skipFirst`).
    pub not_kept: u64,
    /// Calls with no line, by the client's status: a call that never
    /// reached HAProxy (refused connection) or whose line was not written.
    pub missing: Vec<(String, u64)>,
    /// Failed calls by client status and what HAProxy logged for them
    /// (its last line for the call), most first.
    pub failed: Vec<FailedCall>,
}

/// Failed calls that HAProxy logged alike.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FailedCall {
    /// The client's status (ghz's name).
    pub code: String,
    pub backend: String,
    pub server: String,
    pub status: i64,
    pub termination: [u8; 2],
    pub count: u64,
}

/// One server's share.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerShare {
    pub backend: String,
    pub server: String,
    pub requests: u64,
    /// Requests with a termination state other than `--`.
    pub abnormal: u64,
    /// Requests whose captured gRPC status is a failure (with a capture).
    pub grpc_failed: u64,
    pub ta: Spread,
}

/// What the log says about the run's calls. Timers are in milliseconds
/// (HAProxy's unit) inside [`Spread`]s of nanoseconds.
#[derive(Clone, Debug, Default)]
pub struct ProxySide {
    pub source: String,
    /// The window read, ms since the epoch (UTC).
    pub start_utc_ms: i64,
    pub end_utc_ms: i64,
    pub lines: u64,
    /// Traffic lines of the run: its path, in its window.
    pub requests: u64,
    /// Traffic lines of anything else (other paths, other times).
    pub other_requests: u64,
    /// Lines that are not traffic or could not be read.
    pub other_lines: u64,
    /// By count, most first.
    pub servers: Vec<ServerShare>,
    pub statuses: Vec<(i64, u64)>,
    pub terminations: Vec<([u8; 2], u64)>,
    /// Whether the log's lines carry a captured gRPC status, and by code
    /// the requests whose status was captured (a trailers-only response);
    /// the others had theirs in the trailers, which HAProxy cannot log.
    pub grpc_captured: bool,
    pub grpc_statuses: Vec<(u8, u64)>,
    pub grpc_in_trailers: u64,
    /// Requests the report's failure rule calls failed (docs/report.md):
    /// an abnormal end, a 5xx, or a failing captured gRPC status.
    pub failed: u64,
    pub tw: Spread,
    pub tc: Spread,
    pub tr: Spread,
    pub ta: Spread,
    /// Calls matched one by one, when the log has their ids.
    pub by_id: Option<IdMatch>,
    /// The header ids were sent in, when the log has none of them (the
    /// lines were taken by time window).
    pub ids_not_captured: Option<String>,
}

/// Reads the lines of a HAProxy log that belong to `window`: those
/// carrying an id of the run when the log has any (then `calls`, each
/// call's request number and status, are matched one by one), else the
/// run's method inside its time window.
pub fn read(
    log: &[u8],
    formats: &Formats,
    window: &Window,
    source: &str,
    calls: &[(u64, Code)],
) -> ProxySide {
    let mut reader = ProxyReader::new(formats, window);
    reader.feed(log);
    reader.finish_line();
    reader.side(window, source, calls)
}

/// A request line that may be the run's (its method, or an id of the
/// run), kept small until the run's end says which are.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    /// When the request began and ended, ms since the epoch (UTC).
    began_utc_ms: Option<i64>,
    ended_utc_ms: Option<i64>,
    /// The run's request number, from the id HAProxy captured.
    number: Option<u64>,
    on_path: bool,
    server: usize,
    status: i64,
    termination: [u8; 2],
    grpc_status: Option<u8>,
    failed: bool,
    tw: Option<i64>,
    tc: Option<i64>,
    tr: Option<i64>,
    tt: Option<i64>,
}

/// The proxy's side read as the log grows: each line parsed once, when it
/// arrives; only the lines that may be the run's are kept (a few numbers
/// each, not the line), so a long run's side costs neither a re-read nor
/// the log's bytes in memory.
pub struct ProxyReader<'f> {
    parser: LineParser<'f>,
    dates: DateCache,
    options: ReadOptions,
    path: Vec<u8>,
    offset_minutes: i32,
    id_prefix: Option<Vec<u8>>,
    /// The bytes of a line not yet ended.
    partial: Vec<u8>,
    lines: u64,
    other_lines: u64,
    /// Requests that cannot be the run's (another method, no id).
    not_candidates: u64,
    candidates: Vec<Candidate>,
    /// (backend, server) by index.
    servers: Vec<(Vec<u8>, Vec<u8>)>,
    server_index: HashMap<(Vec<u8>, Vec<u8>), usize>,
}

impl<'f> ProxyReader<'f> {
    /// A reader of `window`'s method and ids (its time bounds are given
    /// to [`ProxyReader::side`], once the run has ended).
    pub fn new(formats: &'f Formats, window: &Window) -> ProxyReader<'f> {
        ProxyReader {
            parser: LineParser::new(formats, None),
            dates: DateCache::default(),
            options: ReadOptions {
                grpc_status_capture: window.grpc_status_capture,
                ..ReadOptions::default()
            },
            path: window.path.clone(),
            offset_minutes: window.offset_minutes,
            id_prefix: window.request_id.as_ref().map(|(_, p)| p.clone()),
            partial: Vec::new(),
            lines: 0,
            other_lines: 0,
            not_candidates: 0,
            candidates: Vec::new(),
            servers: Vec::new(),
            server_index: HashMap::new(),
        }
    }

    /// Reads `bytes`, the log's next bytes; a line not yet ended waits
    /// for the rest.
    pub fn feed(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        if !self.partial.is_empty() {
            let Some(end) = memchr::memchr(b'\n', rest) else {
                self.partial.extend_from_slice(rest);
                return;
            };
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(&rest[..end]);
            self.line(&line);
            rest = &rest[end + 1..];
        }
        let whole = match memchr::memrchr(b'\n', rest) {
            Some(last) => {
                self.partial.extend_from_slice(&rest[last + 1..]);
                &rest[..last]
            }
            None => {
                self.partial.extend_from_slice(rest);
                return;
            }
        };
        for raw in whole.split(|&b| b == b'\n') {
            self.line(raw);
        }
    }

    /// Reads a last line that has no newline (a log read whole).
    pub fn finish_line(&mut self) {
        let line = std::mem::take(&mut self.partial);
        self.line(&line);
    }

    fn line(&mut self, raw: &[u8]) {
        // The parser drops a final CR and the NULs a log truncated while
        // HAProxy held it open starts with.
        let record = self.parser.parse(raw);
        if record.line.is_empty() {
            return;
        }
        self.lines += 1;
        let Some(request) = Request::from_record(&record, &mut self.dates, &self.options) else {
            self.other_lines += 1;
            return;
        };
        let number = self
            .id_prefix
            .as_deref()
            .and_then(|prefix| request_number(&record, prefix));
        let on_path = request.path == self.path.as_slice();
        if number.is_none() && !on_path {
            self.not_candidates += 1;
            return;
        }
        let key = (request.backend.to_vec(), request.server.to_vec());
        let server = match self.server_index.get(&key) {
            Some(&i) => i,
            None => {
                self.servers.push(key.clone());
                self.server_index.insert(key, self.servers.len() - 1);
                self.servers.len() - 1
            }
        };
        let began = request.time.map(|t| t.utc_ms(self.offset_minutes));
        self.candidates.push(Candidate {
            began_utc_ms: began,
            ended_utc_ms: began.map(|b| b + request.tt.unwrap_or(0).max(0)),
            number,
            on_path,
            server,
            status: request.status.unwrap_or(-1),
            termination: request.termination.unwrap_or(*b"??"),
            grpc_status: request.grpc_status,
            failed: request.failed(),
            tw: request.tw,
            tc: request.tc,
            tr: request.tr,
            tt: request.tt,
        });
    }

    /// The lines read so far that belong to `window`: those with an id
    /// of the run when any line has one, else the run's method inside
    /// the window.
    pub fn side(&self, window: &Window, source: &str, calls: &[(u64, Code)]) -> ProxySide {
        let mut side = ProxySide {
            source: source.to_string(),
            start_utc_ms: window.start_utc_ms,
            end_utc_ms: window.end_utc_ms,
            lines: self.lines,
            other_lines: self.other_lines,
            other_requests: self.not_candidates,
            grpc_captured: window.grpc_status_capture.is_some(),
            ..ProxySide::default()
        };
        let by_id = self.candidates.iter().any(|c| c.number.is_some());
        if !by_id {
            side.ids_not_captured = window.request_id.as_ref().map(|(h, _)| h.clone());
        }
        // Request number -> (lines seen, last line's server index, status,
        // termination).
        let mut by_number: HashMap<u64, (u64, usize, i64, [u8; 2])> = HashMap::new();
        // HAProxy's timers in ms, in the report's histograms (exact below
        // 2048 ms, within 0.1 % above), not sorted lists.
        let (mut tw, mut tc, mut tr, mut ta) = Default::default();
        let mut per_server: Vec<Option<(ServerShare, Histogram)>> = vec![None; self.servers.len()];
        for c in &self.candidates {
            let belongs = if by_id {
                c.number.is_some()
            } else {
                c.on_path
                    && c.began_utc_ms
                        .zip(c.ended_utc_ms)
                        .is_some_and(|(began, ended)| {
                            began <= window.end_utc_ms && ended >= window.start_utc_ms
                        })
            };
            if !belongs {
                side.other_requests += 1;
                continue;
            }
            side.requests += 1;
            side.failed += u64::from(c.failed);
            tally(&mut side.statuses, &c.status, 1);
            if side.grpc_captured {
                match c.grpc_status {
                    Some(code) => tally(&mut side.grpc_statuses, &code, 1),
                    None => side.grpc_in_trailers += 1,
                }
            }
            tally(&mut side.terminations, &c.termination, 1);
            let keep = |v: Option<i64>, into: &mut Histogram| {
                if let Some(ms) = v.filter(|ms| *ms >= 0) {
                    into.add(ms as u64);
                }
            };
            keep(c.tw, &mut tw);
            keep(c.tc, &mut tc);
            keep(c.tr, &mut tr);
            keep(c.tt, &mut ta);
            if let Some(k) = c.number {
                let seen = by_number.entry(k).or_default();
                *seen = (seen.0 + 1, c.server, c.status, c.termination);
            }
            let (share, times) = per_server[c.server].get_or_insert_with(|| {
                let (backend, server) = &self.servers[c.server];
                (
                    ServerShare {
                        backend: String::from_utf8_lossy(backend).into_owned(),
                        server: String::from_utf8_lossy(server).into_owned(),
                        ..ServerShare::default()
                    },
                    Histogram::new(),
                )
            });
            share.requests += 1;
            if c.termination != *b"--" {
                share.abnormal += 1;
            }
            if c.grpc_status
                .is_some_and(haplog_analyze::request::grpc_failure)
            {
                share.grpc_failed += 1;
            }
            keep(c.tt, times);
        }
        if by_id {
            side.by_id = Some(match_calls(window, calls, &by_number, &per_server));
        }
        side.tw = Spread::of_ms(&tw);
        side.tc = Spread::of_ms(&tc);
        side.tr = Spread::of_ms(&tr);
        side.ta = Spread::of_ms(&ta);
        side.servers = per_server
            .into_iter()
            .flatten()
            .map(|(mut share, times)| {
                share.ta = Spread::of_ms(&times);
                share
            })
            .collect();
        side.servers.sort_by(|a, b| {
            b.requests
                .cmp(&a.requests)
                .then_with(|| (&a.backend, &a.server).cmp(&(&b.backend, &b.server)))
        });
        side.statuses
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        side.terminations
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        side.grpc_statuses
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        side
    }
}

/// A question to the tail's thread: the side of this window now.
struct Ask {
    window: Window,
    source: String,
    calls: std::sync::Arc<[(u64, Code)]>,
    reply: std::sync::mpsc::Sender<ProxySide>,
}

/// A HAProxy log followed from now on (across rotations, from the log's
/// end at the start) on its own thread, whose [`ProxyReader`] reads each
/// new line once as it comes; [`LogTail::side`] asks it for the run's
/// side so far.
pub struct LogTail {
    asks: std::sync::mpsc::Sender<Ask>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LogTail {
    /// Starts at the log's current end (or its start, if it does not exist
    /// yet and appears later), reading the lines of `window`'s method and
    /// ids.
    pub fn start(
        path: &std::path::Path,
        formats: Formats,
        window: &Window,
    ) -> std::io::Result<LogTail> {
        use std::sync::atomic::Ordering;
        let mut follower =
            haplog_engine::Follower::new(path, haplog_engine::FollowConfig::default());
        // The first look fixes the starting offset before the run begins.
        let first = follower.poll(Vec::new())?;
        let (asks, questions) = std::sync::mpsc::channel::<Ask>();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let window = window.clone();
        let thread = std::thread::spawn(move || {
            let mut reader = ProxyReader::new(&formats, &window);
            if let Some(chunk) = first {
                reader.feed(&chunk);
            }
            // Everything written so far, read; `false` on an error or
            // nothing new.
            let mut read_new = |reader: &mut ProxyReader<'_>| match follower.poll(Vec::new()) {
                Ok(Some(chunk)) => {
                    reader.feed(&chunk);
                    true
                }
                // Nothing new, or a passing error (a rotation's moment):
                // look again shortly.
                Ok(None) | Err(_) => false,
            };
            while !stopped.load(Ordering::Relaxed) {
                let got = read_new(&mut reader);
                while let Ok(ask) = questions.try_recv() {
                    while read_new(&mut reader) {}
                    let _ = ask
                        .reply
                        .send(reader.side(&ask.window, &ask.source, &ask.calls));
                }
                if !got {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
        });
        Ok(LogTail {
            asks,
            stop,
            thread: Some(thread),
        })
    }

    /// The side of `window` in the lines the log has gained since the
    /// start, up to now.
    pub fn side(
        &self,
        window: &Window,
        source: &str,
        calls: std::sync::Arc<[(u64, Code)]>,
    ) -> Option<ProxySide> {
        let (reply, answer) = std::sync::mpsc::channel();
        self.asks
            .send(Ask {
                window: window.clone(),
                source: source.to_string(),
                calls,
                reply,
            })
            .ok()?;
        answer.recv().ok()
    }
}

impl Drop for LogTail {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The request number in a line's captured headers, after the run's
/// `prefix` (`RUN-` of `RUN-17`).
fn request_number(record: &Record<'_, '_>, prefix: &[u8]) -> Option<u64> {
    [
        Field::CapturedRequestHeaders,
        Field::CapturedResponseHeaders,
    ]
    .into_iter()
    .filter_map(|field| record.get(field))
    .find_map(|block| {
        let at = memchr::memmem::find(block, prefix)? + prefix.len();
        let digits = block[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        std::str::from_utf8(&block[at..at + digits])
            .ok()?
            .parse()
            .ok()
    })
}

/// The client's calls next to the lines their ids found.
fn match_calls(
    window: &Window,
    calls: &[(u64, Code)],
    by_number: &HashMap<u64, (u64, usize, i64, [u8; 2])>,
    servers: &[Option<(ServerShare, Histogram)>],
) -> IdMatch {
    let mut matched = IdMatch {
        header: window
            .request_id
            .as_ref()
            .map(|(h, _)| h.clone())
            .unwrap_or_default(),
        calls: calls.len() as u64,
        lines: by_number.values().map(|v| v.0).sum(),
        ..IdMatch::default()
    };
    let mut kept = 0;
    for &(k, code) in calls {
        let name = crate::status::code_name(code);
        let Some(&(_, server, status, termination)) = by_number.get(&k) else {
            tally(&mut matched.missing, name, 1);
            continue;
        };
        kept += by_number[&k].0;
        matched.matched += 1;
        if code == Code::Ok {
            continue;
        }
        let Some((share, _)) = &servers[server] else {
            continue;
        };
        let row = matched.failed.iter_mut().find(|f| {
            f.code == name
                && f.backend == share.backend
                && f.server == share.server
                && f.status == status
                && f.termination == termination
        });
        match row {
            Some(row) => row.count += 1,
            None => matched.failed.push(FailedCall {
                code: name.to_string(),
                backend: share.backend.clone(),
                server: share.server.clone(),
                status,
                termination,
                count: 1,
            }),
        }
    }
    matched.not_kept = matched.lines - kept;
    matched.failed.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| (&a.code, &a.backend, &a.server).cmp(&(&b.code, &b.backend, &b.server)))
    });
    matched
        .missing
        .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    matched
}

/// Why the client's failed calls and the log's failed requests differ,
/// when they do: `None` when they agree.
pub fn disagreement(side: &ProxySide, client_failed: u64) -> Option<String> {
    if side.requests == 0 || client_failed == side.failed {
        return None;
    }
    let mut why = format!(
        "The client saw {client_failed} failed calls, HAProxy's log {} failed requests. ",
        side.failed
    );
    if client_failed > side.failed {
        if side.grpc_captured {
            why.push_str(
                "gRPC errors sent after data travel in trailers, which HAProxy cannot log (it logs 200 and --); only trailers-only errors carry a captured grpc-status.",
            );
        } else {
            why.push_str(
                "gRPC errors travel in trailers with HTTP 200 and --, so the log shows them as successes: add 'capture response header grpc-status len 2' to the frontend and give the config (--haproxy-config) to see those sent trailers-only.",
            );
        }
    } else {
        why.push_str(
            "HAProxy counts requests the client did not count as failed calls: streams the client cancelled (CD), calls it retried after a refused stream, or requests of the same method by other clients in the window.",
        );
    }
    Some(why)
}

fn id_match_text(out: &mut String, ids: &IdMatch) {
    let _ = write!(
        out,
        "  Calls matched by {}: {} of {}",
        ids.header, ids.matched, ids.calls
    );
    let missing: u64 = ids.missing.iter().map(|(_, n)| n).sum();
    if missing > 0 {
        let by_code: Vec<String> = ids
            .missing
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        let _ = write!(out, "; {missing} with no line ({})", by_code.join(", "));
    }
    let retried = ids.lines.saturating_sub(ids.matched + ids.not_kept);
    if retried > 0 {
        let _ = write!(out, "; {retried} more lines of retried calls");
    }
    out.push('\n');
    if ids.failed.is_empty() {
        return;
    }
    out.push_str("  Failed calls, as HAProxy logged them:\n");
    let width = ids
        .failed
        .iter()
        .map(|f| f.backend.len() + f.server.len() + 1)
        .max()
        .unwrap_or(0);
    for f in &ids.failed {
        let server = format!("{}/{}", f.backend, f.server);
        let _ = writeln!(
            out,
            "    {:<18} {:>6}  {server:<width$}  {:<4} {}  {}",
            f.code,
            f.count,
            f.status,
            state_text(f.termination),
            haplog_report::termination::explain(f.termination)
        );
    }
}

fn state_text(state: [u8; 2]) -> String {
    String::from_utf8_lossy(&state).into_owned()
}

/// The section printed after the summary: HAProxy's view next to the
/// client's. `client` is the client's latency (from send) and time to
/// first message.
pub fn text(
    side: &ProxySide,
    calls: u64,
    client_failed: u64,
    client_latency: &Spread,
    client_first: &Spread,
) -> String {
    let mut out = format!(
        "HAProxy's side ({}: {} of the run's {} calls logged",
        side.source, side.requests, calls
    );
    if side.other_requests > 0 {
        let _ = write!(out, "; {} other requests left out", side.other_requests);
    }
    out.push_str("):\n");
    if side.requests == 0 {
        out.push_str(
            "  No line of this run's method in its time window. Is it the log of the proxy \
             the calls went through, and are its clock and zone right (--utc-offset)?\n\n",
        );
        return out;
    }
    out.push_str("  Servers:\n");
    let width = side
        .servers
        .iter()
        .map(|s| s.backend.len() + s.server.len() + 1)
        .max()
        .unwrap_or(0)
        .max(6);
    for share in &side.servers {
        let name = format!("{}/{}", share.backend, share.server);
        let _ = writeln!(
            out,
            "    {name:<width$}  {:>6} requests  {:>5.1} %  {:>6} abnormal{}  Ta p50 {}, p99 {}",
            share.requests,
            share.requests as f64 * 100.0 / side.requests as f64,
            share.abnormal,
            if side.grpc_captured {
                format!("  {:>6} gRPC failures", share.grpc_failed)
            } else {
                String::new()
            },
            format_duration(share.ta.p50),
            format_duration(share.ta.p99)
        );
    }
    if let Some(ids) = &side.by_id {
        id_match_text(&mut out, ids);
    }
    if let Some(header) = &side.ids_not_captured {
        let _ = writeln!(
            out,
            "  Lines taken by method and time window: the log has no {header} of this run. To match \
             calls one by one, add 'capture request header {header} len 32' to the frontend."
        );
    }
    if side.grpc_captured {
        out.push_str("  gRPC status (captured from response headers):\n");
        for (code, n) in &side.grpc_statuses {
            let name = crate::status::code_name(tonic::Code::from(i32::from(*code)));
            let _ = writeln!(out, "    {code:<3} {name:<18} {n}");
        }
        if side.grpc_in_trailers > 0 {
            let _ = writeln!(
                out,
                "    in trailers (OK, or an error after data)  {}",
                side.grpc_in_trailers
            );
        }
    }
    if let Some(why) = disagreement(side, client_failed) {
        let _ = writeln!(out, "  Note: {why}");
    }
    out.push_str("  HTTP status:\n");
    for (status, n) in &side.statuses {
        let _ = writeln!(out, "    {status:<6} {n}");
    }
    out.push_str("  Termination states:\n");
    for (state, n) in &side.terminations {
        let _ = writeln!(
            out,
            "    {}  {n:>6}  {}",
            state_text(*state),
            haplog_report::termination::explain(*state)
        );
    }
    out.push_str("  Where the time went              p50        p90        p99        max\n");
    let row = |out: &mut String, label: &str, s: &Spread| {
        if s.count == 0 {
            let _ = writeln!(out, "    {label:<30}{:>10}", "none");
        } else {
            let _ = writeln!(
                out,
                "    {label:<30}{:>10} {:>10} {:>10} {:>10}",
                format_duration(s.p50),
                format_duration(s.p90),
                format_duration(s.p99),
                format_duration(s.max)
            );
        }
    };
    row(&mut out, "Tw  queue in HAProxy", &side.tw);
    row(&mut out, "Tc  connect to the server", &side.tc);
    row(&mut out, "Tr  server's response headers", &side.tr);
    row(&mut out, "Ta  whole request in HAProxy", &side.ta);
    row(&mut out, "client: first message", client_first);
    row(&mut out, "client: whole call", client_latency);
    let _ = writeln!(
        out,
        "  Everything the log says about this window:\n    haplog report --since {} --until {} {}",
        whole_second(side.start_utc_ms - 1000, false),
        whole_second(side.end_utc_ms + 1000, true),
        side.source
    );
    out.push('\n');
    out
}

/// An ISO-8601 UTC date-time, rounded to a whole second.
fn whole_second(ms: i64, up: bool) -> String {
    let seconds = if up {
        (ms + 999).div_euclid(1000)
    } else {
        ms.div_euclid(1000)
    };
    crate::template::rfc3339(seconds, None)
}

/// The same as a JSON object (for the `haplog.proxy` key).
pub fn json(side: &ProxySide) -> serde_json::Value {
    use serde_json::json;
    let spread = |s: &Spread| json!({"count": s.count, "p50": s.p50, "p90": s.p90, "p99": s.p99, "p99.9": s.p999, "max": s.max});
    json!({
        "source": side.source,
        "since": whole_second(side.start_utc_ms - 1000, false),
        "until": whole_second(side.end_utc_ms + 1000, true),
        "lines": side.lines,
        "requests": side.requests,
        "otherRequests": side.other_requests,
        "otherLines": side.other_lines,
        "servers": side.servers.iter().map(|s| json!({
            "backend": s.backend,
            "server": s.server,
            "requests": s.requests,
            "abnormal": s.abnormal,
            "grpcFailed": s.grpc_failed,
            "ta": spread(&s.ta),
        })).collect::<Vec<_>>(),
        "statuses": side.statuses.iter().map(|(status, n)| json!({"status": status, "count": n})).collect::<Vec<_>>(),
        "terminations": side.terminations.iter().map(|(state, n)| json!({
            "state": state_text(*state),
            "count": n,
            "meaning": haplog_report::termination::explain(*state),
        })).collect::<Vec<_>>(),
        "failed": side.failed,
        "grpcCaptured": side.grpc_captured,
        "grpcStatuses": side.grpc_statuses.iter().map(|(code, n)| json!({
            "code": code,
            "name": crate::status::code_name(tonic::Code::from(i32::from(*code))),
            "count": n,
        })).collect::<Vec<_>>(),
        "grpcInTrailers": side.grpc_in_trailers,
        "requestIds": side.by_id.as_ref().map(|ids| json!({
            "header": ids.header,
            "calls": ids.calls,
            "matched": ids.matched,
            "lines": ids.lines,
            "notKept": ids.not_kept,
            "missing": ids.missing.iter().map(|(code, n)| json!({"status": code, "count": n})).collect::<Vec<_>>(),
            "failed": ids.failed.iter().map(|f| json!({
                "status": f.code,
                "backend": f.backend,
                "server": f.server,
                "httpStatus": f.status,
                "termination": state_text(f.termination),
                "meaning": haplog_report::termination::explain(f.termination),
                "count": f.count,
            })).collect::<Vec<_>>(),
        })),
        "requestIdsNotCaptured": side.ids_not_captured,
        "tw": spread(&side.tw),
        "tc": spread(&side.tc),
        "tr": spread(&side.tr),
        "ta": spread(&side.ta),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    use haplog_format::FormatOptions;

    const LOG: &str = "\x00\x00127.0.0.1:57908 [24/Nov/2026:23:14:14.282] fe_grpc be_tts/tts1 0/0/0/0/42 200 627 - - ---- 1/1/0/0/0 0/0 \"POST http://127.0.0.1:51000/grpc.reflection.v1.ServerReflection/ServerReflectionInfo HTTP/2.0\"
127.0.0.1:57908 [24/Nov/2026:23:14:14.325] fe_grpc be_tts/tts2 0/0/0/1/52 200 6524 - - CD-- 1/1/1/0/0 0/0 \"POST http://127.0.0.1:51000/haplog.demo.Tts/SpeakWav HTTP/2.0\"
127.0.0.1:57908 [24/Nov/2026:23:14:14.325] fe_grpc be_tts/tts1 0/0/0/0/51 200 6524 - - CD-- 1/1/0/0/0 0/0 \"POST http://127.0.0.1:51000/haplog.demo.Tts/SpeakWav HTTP/2.0\"
127.0.0.1:57910 [24/Nov/2026:23:14:14.425] fe_grpc be_tts/tts2 0/2/1/3/201 200 12940 - - ---- 1/1/1/0/0 0/0 \"POST http://127.0.0.1:51000/haplog.demo.Tts/SpeakWav HTTP/2.0\"
127.0.0.1:57910 [24/Nov/2026:23:19:14.425] fe_grpc be_tts/tts2 0/0/0/0/201 200 12940 - - ---- 1/1/1/0/0 0/0 \"POST http://127.0.0.1:51000/haplog.demo.Tts/SpeakWav HTTP/2.0\"
Proxy fe_grpc started.
";

    /// `LOG`'s SpeakWav calls: 2026-11-24T23:14:14Z to 23:14:15Z.
    fn speak_wav_window() -> Window {
        let start = 1_795_562_054_000;
        Window {
            start_utc_ms: start,
            end_utc_ms: start + 1_000,
            path: b"/haplog.demo.Tts/SpeakWav".to_vec(),
            offset_minutes: 0,
            grpc_status_capture: None,
            request_id: None,
        }
    }

    #[test]
    fn counts_the_runs_lines_only() {
        let formats = Formats::new(&FormatOptions::default()).unwrap();
        let window = speak_wav_window();
        let side = read(LOG.as_bytes(), &formats, &window, "h.log", &[]);
        assert_eq!(side.lines, 6);
        assert_eq!(side.requests, 3);
        // The reflection call (other path) and the line 5 minutes later.
        assert_eq!(side.other_requests, 2);
        assert_eq!(side.other_lines, 1);
        assert_eq!(side.servers[0].server, "tts2");
        assert_eq!(side.servers[0].requests, 2);
        assert_eq!(side.servers[0].abnormal, 1);
        assert_eq!(side.terminations, vec![(*b"CD", 2), (*b"--", 1)]);
        assert_eq!(side.statuses, vec![(200, 3)]);
        assert_eq!(side.ta.max, 201 * MS);
        assert_eq!(side.tw.max, 2 * MS);
        let text = text(&side, 3, 2, &Spread::default(), &Spread::default());
        assert!(text.contains("be_tts/tts2"), "{text}");
        assert!(text.contains("CD       2  the client aborted"), "{text}");
        assert!(
            text.contains(
                "haplog report --since 2026-11-24T23:14:13Z --until 2026-11-24T23:14:16Z h.log"
            ),
            "{text}"
        );
    }

    /// Lines fed as a follower hands them out (cut anywhere, a line's
    /// halves in two pieces) give the side the whole log gives.
    #[test]
    fn lines_fed_in_pieces_give_the_same_side() {
        let formats = Formats::new(&FormatOptions::default()).unwrap();
        let window = speak_wav_window();
        let whole = read(LOG.as_bytes(), &formats, &window, "h.log", &[]);
        for piece in [1, 7, 100, 333] {
            let mut reader = ProxyReader::new(&formats, &window);
            for part in LOG.as_bytes().chunks(piece) {
                reader.feed(part);
            }
            let side = reader.side(&window, "h.log", &[]);
            assert_eq!(
                (
                    side.lines,
                    side.requests,
                    side.other_requests,
                    side.other_lines
                ),
                (
                    whole.lines,
                    whole.requests,
                    whole.other_requests,
                    whole.other_lines
                ),
                "pieces of {piece}"
            );
            assert_eq!(side.servers, whole.servers, "pieces of {piece}");
            assert_eq!(side.terminations, whole.terminations);
            assert_eq!(side.ta, whole.ta);
        }
    }

    /// Lines carrying `RUN-N` in a captured request header: call 1 refused
    /// then retried (two lines), call 2 failed on tts2, call 3 never
    /// logged, call 0 left out of the kept calls, another run's line.
    const IDS: &str = "127.0.0.1:1 [24/Nov/2026:23:14:14.282] fe be/tts1 0/0/0/0/4 200 6 - - ---- 1/1/0/0/0 0/0 {abc-1} \"POST /p.S/M HTTP/2.0\"
127.0.0.1:1 [24/Nov/2026:23:14:14.283] fe be/tts2 0/0/-1/-1/4 503 6 - - SC-- 1/1/0/0/0 0/0 {abc-1} \"POST /p.S/M HTTP/2.0\"
127.0.0.1:1 [24/Nov/2026:23:14:14.284] fe be/tts1 0/0/0/0/4 200 6 - - ---- 1/1/0/0/0 0/0 {abc-1} \"POST /p.S/M HTTP/2.0\"
127.0.0.1:1 [24/Nov/2026:23:14:14.285] fe be/tts2 0/0/0/0/4 200 6 - - ---- 1/1/0/0/0 0/0 {abc-2} \"POST /p.S/M HTTP/2.0\"
127.0.0.1:1 [24/Nov/2026:23:14:14.286] fe be/tts2 0/0/0/0/4 200 6 - - ---- 1/1/0/0/0 0/0 {abc-0} \"POST /p.S/M HTTP/2.0\"
127.0.0.1:1 [24/Nov/2026:23:14:14.287] fe be/tts2 0/0/0/0/4 200 6 - - ---- 1/1/0/0/0 0/0 {xyz-2} \"POST /p.S/M HTTP/2.0\"
";

    #[test]
    fn ids_match_calls_one_by_one() {
        let formats = Formats::new(&FormatOptions::default()).unwrap();
        let window = Window {
            start_utc_ms: 0,
            end_utc_ms: 0,
            path: b"/p.S/M".to_vec(),
            offset_minutes: 0,
            grpc_status_capture: None,
            request_id: Some(("x-request-id".into(), b"abc-".to_vec())),
        };
        let calls = [(1, Code::Ok), (2, Code::Internal), (3, Code::Unavailable)];
        let side = read(IDS.as_bytes(), &formats, &window, "h.log", &calls);
        // Every line of the run, whatever the (empty) time window says.
        assert_eq!(side.requests, 5);
        assert_eq!(side.other_requests, 1);
        let ids = side.by_id.clone().unwrap();
        assert_eq!(
            (ids.calls, ids.matched, ids.lines, ids.not_kept),
            (3, 2, 5, 1)
        );
        assert_eq!(ids.missing, [("Unavailable".to_string(), 1)]);
        assert_eq!(
            ids.failed,
            [FailedCall {
                code: "Internal".into(),
                backend: "be".into(),
                server: "tts2".into(),
                status: 200,
                termination: *b"--",
                count: 1,
            }]
        );
        let text = text(&side, 3, 2, &Spread::default(), &Spread::default());
        assert!(
            text.contains(
                "Calls matched by x-request-id: 2 of 3; 1 with no line (Unavailable 1); 2 more lines of retried calls"
            ),
            "{text}"
        );
        assert!(text.contains("Internal"), "{text}");
        // The notes read as sentences, without runs of spaces.
        let note = text.lines().find(|l| l.contains("Note:")).unwrap();
        assert!(!note.trim().contains("  "), "{note}");

        // No id of this run in the log: by method and time window.
        let other = Window {
            request_id: Some(("x-request-id".into(), b"def-".to_vec())),
            ..window
        };
        let side = read(IDS.as_bytes(), &formats, &other, "h.log", &calls);
        assert!(side.by_id.is_none());
        assert_eq!(side.ids_not_captured.as_deref(), Some("x-request-id"));
        assert_eq!(side.requests, 0);
    }
}
