//! `haplog live`: HAProxy traffic as it happens.

use std::io::{self, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use clap::Args;
use haplog_analyze::filter::parse_duration_ms;
use haplog_analyze::{Config, ReadOptions};
use haplog_live::http::{self, Ask, Page, Serve};
use haplog_live::metrics;
use haplog_live::sources::Sources;
use haplog_live::tui::{Action, Tui};
use haplog_live::view::{self, window_name, ViewOptions, Window};
use haplog_live::{Slot, Store};
use haplog_report::model::Report;
use haplog_report::render::{self, Style};

use crate::common::{interrupt, write_failed, FilterArgs, FormatArgs};

/// Watch HAProxy traffic as it happens: per-server request and error rates,
/// termination states in words and Tt/Tr/Tw/Tc percentiles over sliding
/// windows: a terminal view (on a terminal; `?` lists its keys), a web page
/// with live charts (--web), Prometheus metrics (--metrics), or a summary
/// a second as text or NDJSON (--no-tui, --json, or when piped).
///
/// Files are followed like `tail -F`: across rename rotation (the old file
/// read to its end first), copytruncate, delete and re-create, and a file
/// that does not exist yet. Without files, standard input is read to its
/// end; `--syslog` takes HAProxy's datagrams directly (`log
/// 127.0.0.1:5140 local0` in haproxy.cfg), no rsyslog needed.
///
/// Every format, header and filter flag of `haplog report` works here.
///
/// With --export DIR, every line read is also written to rolling Parquet
/// files (one a minute by default) that ClickHouse, DuckDB or Spark can
/// load as they appear; Ctrl-C closes the open one.
///
/// Examples:
///
///   haplog live /var/log/haproxy.log
///   haplog live --syslog 127.0.0.1:5140 --metrics 127.0.0.1:9101
///   haplog live --json --window 10s,1m access.log | jq .windows
///   haplog live --web 127.0.0.1:8080 access.log   (then open the address)
///   haplog live --from-start --duration 30s --backend api access.log
///   haplog live --no-tui --export /data/haproxy --export-every 5m access.log
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct LiveArgs {
    /// Log files to follow; none (without --syslog), or `-`, reads standard
    /// input to its end
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Read what the files hold first (default: start at their end)
    #[arg(long, help_heading = "Input")]
    from_start: bool,

    /// Listen for HAProxy's syslog datagrams (UDP, RFC 3164 or 5424) on this
    /// address
    #[arg(long, value_name = "ADDR", help_heading = "Input")]
    syslog: Option<SocketAddr>,

    /// Sliding windows shown, shortest first: 10s,1m,5m (at most 1h)
    #[arg(
        long,
        value_name = "LIST",
        default_value = "10s,1m,5m",
        help_heading = "View"
    )]
    window: String,

    /// How often a summary is written
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1s",
        help_heading = "View"
    )]
    every: String,

    /// Rows of the URL and failed-request tables
    #[arg(long, value_name = "N", default_value_t = 10, help_heading = "View")]
    top: usize,

    /// Stop after this long (a final summary is written); default: run
    /// until interrupted, or until standard input ends
    #[arg(long, value_name = "DURATION", help_heading = "View")]
    duration: Option<String>,

    /// One JSON object per summary (NDJSON): every window and the total
    #[arg(long, help_heading = "Output")]
    json: bool,

    /// Summaries as text lines, not the terminal view (the default when
    /// the output is a terminal)
    #[arg(long, help_heading = "Output")]
    no_tui: bool,

    /// Serve Prometheus metrics at http://ADDR/metrics (loopback unless
    /// another address is given)
    #[arg(long, value_name = "ADDR", help_heading = "Output")]
    metrics: Option<SocketAddr>,

    /// Serve the web view at http://ADDR/: charts and tables updated live
    /// (server-sent events), no external resources; /metrics there too
    #[arg(long, value_name = "ADDR", help_heading = "Output")]
    web: Option<SocketAddr>,

    /// Read gRPC statuses from the Nth captured response header (see
    /// `haplog report --help`)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "View")]
    grpc_status: Option<u32>,

    /// Also write every line read as rolling Parquet files in DIR (the
    /// schema of `haplog export`), for continuous ingest: a file appears,
    /// whole, when it closes (see --export-every, --export-rows); lines
    /// that are not traffic go under DIR/_other/
    #[arg(long, value_name = "DIR", help_heading = "Export")]
    export: Option<PathBuf>,

    /// Close an export file this long after its first row
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1m",
        help_heading = "Export"
    )]
    export_every: String,

    /// Close an export file when it holds this many rows
    #[arg(long, value_name = "N", default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Export")]
    export_rows: u64,

    /// No notes on stderr
    #[arg(short, long, help_heading = "Output")]
    quiet: bool,

    #[command(flatten)]
    filters: FilterArgs,

    #[command(flatten)]
    format: FormatArgs,
}

pub fn run(args: LiveArgs) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("haplog live: {message}");
            2
        }
    }
}

/// Windows in seconds, shortest first.
fn windows(list: &str) -> Result<Vec<u32>, String> {
    let mut seconds = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let ms = parse_duration_ms(part)
            .filter(|ms| *ms >= 1000 && *ms <= 3_600_000 && ms % 1000 == 0)
            .ok_or_else(|| {
                format!("--window {part}: give whole seconds from 1s to 1h, like 10s, 1m or 5m")
            })?;
        seconds.push((ms / 1000) as u32);
    }
    if seconds.is_empty() {
        return Err("--window: give at least one window, like 10s".to_string());
    }
    seconds.sort_unstable();
    seconds.dedup();
    Ok(seconds)
}

fn duration(flag: &str, text: &str) -> Result<Duration, String> {
    parse_duration_ms(text)
        .filter(|ms| *ms > 0)
        .map(|ms| Duration::from_millis(ms as u64))
        .ok_or_else(|| format!("{flag} {text}: not a duration; give one like 500ms, 1s or 2m"))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn run_inner(args: LiveArgs) -> Result<i32, String> {
    let windows = windows(&args.window)?;
    let every = duration("--every", &args.every)?;
    let stop_after = args
        .duration
        .as_deref()
        .map(|d| duration("--duration", d))
        .transpose()?;
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let (filter, _words) = args.filters.spec().build(now_ms)?;
    let formats = args.format.formats("live", args.quiet)?;
    let config = Config {
        filter,
        read: ReadOptions {
            xff_capture: None,
            grpc_status_capture: match args.grpc_status {
                Some(n) => Some(n as usize),
                None => args.format.grpc_status_capture()?,
            },
        },
        slowest: 0,
        recent_failed: haplog_live::slot::FAILED_KEPT,
        combinations: true,
        clients: false,
        ..Config::default()
    };
    let reading = args.format.reading(&formats);
    let mut sources = Sources::new();
    let mut stdin = args.files.is_empty() && args.syslog.is_none();
    for file in &args.files {
        if file.as_os_str() == "-" {
            stdin = true;
        } else {
            if file.is_dir() {
                return Err(format!(
                    "{}: a directory; give the log file",
                    file.display()
                ));
            }
            sources.file(&reading, file.clone(), args.from_start, &config);
        }
    }
    if stdin {
        sources.stdin(&reading, &config);
    }
    if let Some(addr) = args.syslog {
        let bound = sources
            .syslog(&reading, addr, &config)
            .map_err(|e| format!("--syslog {addr}: {e}"))?;
        if !args.quiet {
            eprintln!("haplog live: listening for syslog on udp://{bound}");
        }
    }
    if let Some(dir) = &args.export {
        let every = duration("--export-every", &args.export_every)?;
        export_sink(&mut sources, dir, every, args.export_rows, &config)?;
        // Ctrl-C and SIGTERM end the run as --duration does, so the open
        // file is closed, not lost.
        interrupt::catch();
    }
    let (asks, questions) = mpsc::channel::<Ask>();
    if let Some(addr) = args.metrics {
        let serve = Serve { web: false, every };
        let bound =
            http::serve(addr, asks.clone(), serve).map_err(|e| format!("--metrics {addr}: {e}"))?;
        if !args.quiet {
            eprintln!("haplog live: metrics at http://{bound}/metrics");
        }
    }
    if let Some(addr) = args.web {
        let serve = Serve { web: true, every };
        let bound =
            http::serve(addr, asks.clone(), serve).map_err(|e| format!("--web {addr}: {e}"))?;
        if !args.quiet {
            eprintln!("haplog live: web view at http://{bound}/");
        }
    }
    drop(asks);

    let longest = *windows.last().expect("at least one window");
    let mut store = Store::new(longest);
    let options = ViewOptions { top: args.top };
    let started = Instant::now();
    let mut next_summary = started + every;
    let color = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut stdout = io::stdout().lock();
    let tui_wanted = !args.no_tui && !args.json && io::stdout().is_terminal();
    let mut tui = if tui_wanted {
        let title = if args.files.is_empty() {
            args.syslog
                .map_or_else(|| "standard input".to_string(), |a| format!("syslog {a}"))
        } else {
            args.files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        Some(
            Tui::start(&windows, &title)
                .map_err(|e| format!("cannot take over the terminal: {e}"))?,
        )
    } else {
        None
    };
    let stop = AtomicBool::new(false);
    // Two threads: one reads and folds the lines into per-second slots,
    // this one keeps the windows, answers /metrics and writes summaries.
    std::thread::scope(|scope| {
        let (fed, feed) = mpsc::sync_channel::<Fed>(64);
        let stop = &stop;
        scope.spawn(move || read_sources(sources, fed, stop));
        let mut bytes = 0;
        let mut finished = false;
        let result = loop {
            let wait = next_summary
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(50));
            // The terminal view waits for keys; the others for lines.
            let mut next = match &mut tui {
                Some(view) => match view.handle_events(&store, unix_now(), wait) {
                    Ok(Action::Quit) => break Ok(0),
                    Ok(action) => {
                        if action == Action::Redraw {
                            next_summary = Instant::now();
                        }
                        feed.try_recv().map_err(|e| match e {
                            mpsc::TryRecvError::Empty => mpsc::RecvTimeoutError::Timeout,
                            mpsc::TryRecvError::Disconnected => {
                                mpsc::RecvTimeoutError::Disconnected
                            }
                        })
                    }
                    Err(e) => break Err(format!("the terminal: {e}")),
                },
                None => feed.recv_timeout(wait),
            };
            loop {
                match next {
                    Ok(Fed::Slots(slots, read, errors)) => {
                        bytes = read;
                        for (second, slot) in slots {
                            store.add_slot(second, slot);
                        }
                        for e in errors {
                            eprintln!("haplog live: {e}");
                        }
                    }
                    Ok(Fed::Done) | Err(mpsc::RecvTimeoutError::Disconnected) => finished = true,
                    Err(mpsc::RecvTimeoutError::Timeout) => break,
                }
                if finished {
                    break;
                }
                next = feed.try_recv().map_err(|e| match e {
                    mpsc::TryRecvError::Empty => mpsc::RecvTimeoutError::Timeout,
                    mpsc::TryRecvError::Disconnected => mpsc::RecvTimeoutError::Disconnected,
                });
            }
            while let Ok(ask) = questions.try_recv() {
                let text = match ask.page {
                    Page::Snapshot => {
                        view::json_summary(&store, &windows, unix_now(), options, Some(60))
                    }
                    Page::Metrics => metrics::text(
                        &store.since_start(),
                        metrics::Reading {
                            bytes,
                            lag_seconds: store.newest().map(|n| (unix_now() - n).max(0) as f64),
                        },
                    ),
                };
                let _ = ask.reply.send(text);
            }
            let out_of_time =
                stop_after.is_some_and(|d| started.elapsed() >= d) || interrupt::caught();
            let now = Instant::now();
            if let Some(view) = &mut tui {
                // The view stays up when the input ends, until q.
                if now >= next_summary {
                    next_summary = now + every;
                    if let Err(e) = view.draw(&store, unix_now()) {
                        break Err(format!("the terminal: {e}"));
                    }
                }
                if out_of_time {
                    break Ok(0);
                }
                continue;
            }
            if now >= next_summary || finished || out_of_time {
                next_summary = now + every;
                let last = finished || out_of_time;
                let text = summary(&store, &windows, options, args.json, color, last);
                if let Err(e) = stdout
                    .write_all(text.as_bytes())
                    .and_then(|()| stdout.flush())
                {
                    break write_failed(e);
                }
            }
            if finished || out_of_time {
                break Ok(0);
            }
        };
        stop.store(true, Ordering::Relaxed);
        // Stopped by Ctrl-C (or SIGTERM): the shell's code for it.
        result.map(|code| if interrupt::caught() { 130 } else { code })
    })
}

/// What the reading thread hands over.
enum Fed {
    /// Slots per second, the bytes read so far, errors to show.
    Slots(Vec<(i64, Slot)>, u64, Vec<String>),
    /// Every source has ended.
    Done,
}

/// Polls every source, folding what comes into per-second slots, until
/// `stop` or the sources end.
fn read_sources(mut sources: Sources<'_, '_>, fed: mpsc::SyncSender<Fed>, stop: &AtomicBool) {
    poll_sources(&mut sources, &fed, stop);
    // The export's open files close whatever ended the run.
    for e in sources.finish_export() {
        eprintln!("haplog live: {e}");
    }
    let _ = fed.send(Fed::Done);
}

fn poll_sources(sources: &mut Sources<'_, '_>, fed: &mpsc::SyncSender<Fed>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let polled = sources.poll();
        let busy = !polled.seconds.is_empty();
        if busy || !polled.errors.is_empty() {
            let slots = polled
                .seconds
                .iter()
                .map(|(second, stats)| (*second, Slot::from(stats)))
                .collect();
            if fed
                .send(Fed::Slots(slots, sources.bytes(), polled.errors))
                .is_err()
            {
                return;
            }
        }
        if sources.finished() {
            return;
        }
        if !busy {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One summary: NDJSON with every window and the total, or text of the
/// shortest window (of everything, once the input has ended).
fn summary(
    store: &Store,
    windows: &[u32],
    options: ViewOptions,
    json: bool,
    color: bool,
    last: bool,
) -> String {
    let now = unix_now();
    if json {
        let mut text = view::json_summary(store, windows, now, options, None);
        text.push('\n');
        return text;
    }
    let newest = store.newest();
    let view = |slot: &Slot, seconds: Option<u32>| -> Report {
        view::report(&Window { slot, seconds }, now, newest, options)
    };
    let shortest = windows[0];
    let (mut report, title) = if last {
        (
            view(&store.since_start(), None),
            "Live: since start".to_string(),
        )
    } else {
        (
            view(&store.window(now, shortest), Some(shortest)),
            format!("Live: last {}", window_name(shortest)),
        )
    };
    // A screenful: the figures, the servers' counts and the states.
    report
        .sections
        .retain(|s| matches!(s.key, "live" | "servers" | "termination"));
    for s in &mut report.sections {
        s.tables.retain(|t| t.key != "timers");
        if s.key == "live" {
            s.title = title.clone();
        }
    }
    let mut text = render::text(
        &report.sections,
        Style {
            color,
            cell_width: None,
        },
    );
    if !last {
        let (requests, lines) = store.totals();
        text.push_str(&format!(
            "  since start: {requests} requests, {lines} lines\n"
        ));
    }
    text.push('\n');
    text
}

/// `--export DIR`: the lines the sources read, into rolling Parquet files.
#[cfg(feature = "export")]
fn export_sink(
    sources: &mut Sources<'_, '_>,
    dir: &std::path::Path,
    every: Duration,
    max_rows: u64,
    config: &Config,
) -> Result<(), String> {
    use haplog_export::rolling::{Rolling, RollingOptions};
    use haplog_format::Record;
    use haplog_live::sources::RecordSink;

    if dir.is_file() {
        return Err(format!(
            "--export {}: a file; give a directory",
            dir.display()
        ));
    }
    /// Where the export stands: its first error stops it, and is said
    /// once, by the next flush; the view goes on.
    enum State {
        Writing,
        /// An error of `record`, not yet said.
        Failed(String),
        Stopped,
    }
    struct Sink {
        rolling: Rolling,
        state: State,
    }
    impl Sink {
        fn stop(&mut self, error: impl std::fmt::Display) -> Vec<String> {
            self.state = State::Stopped;
            vec![format!("--export stopped: {error}")]
        }
    }
    impl RecordSink for Sink {
        fn record(&mut self, source: &str, line: u64, record: &Record<'_, '_>) {
            if let State::Writing = self.state {
                if let Err(e) = self.rolling.push(source, line, record) {
                    self.state = State::Failed(e.to_string());
                }
            }
        }
        fn flush(&mut self) -> Vec<String> {
            match &self.state {
                State::Writing => match self.rolling.tick(Instant::now()) {
                    Ok(_) => Vec::new(),
                    Err(e) => self.stop(e),
                },
                State::Failed(e) => {
                    let e = e.clone();
                    self.stop(e)
                }
                State::Stopped => Vec::new(),
            }
        }
        fn finish(&mut self) -> Vec<String> {
            let State::Writing = self.state else {
                return self.flush();
            };
            match self.rolling.finish() {
                Ok(_) => Vec::new(),
                Err(e) => self.stop(e),
            }
        }
    }
    let rolling = Rolling::new(RollingOptions {
        dir: dir.to_path_buf(),
        every,
        max_rows,
        zstd_level: 1,
        offset_minutes: config.filter.offset_minutes,
        other: true,
    })
    .map_err(|e| format!("--export: {e}"))?;
    sources.export_to(Box::new(Sink {
        rolling,
        state: State::Writing,
    }));
    Ok(())
}

#[cfg(not(feature = "export"))]
fn export_sink(
    _: &mut Sources<'_, '_>,
    _: &std::path::Path,
    _: Duration,
    _: u64,
    _: &Config,
) -> Result<(), String> {
    Err("--export: this haplog was built without the export feature".to_string())
}
