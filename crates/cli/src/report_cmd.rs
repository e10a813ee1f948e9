//! `haplog report`: the report after a load test.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use haplog_analyze::filter::Timer;
use haplog_analyze::spec::FilterSpec;
use haplog_analyze::{Config, ReadOptions};
use haplog_engine::{default_threads, InputSpec};
use haplog_report::escape::{inert, CsvStyle};
use haplog_report::render::{self, Style};
use haplog_report::traffic::{build, nothing_kept, Interval, ReportOptions, SectionName, UrlSort};

use crate::common::{resolve_inputs, write_failed, FormatArgs};
use crate::progress::Progress;

/// Where the time went and why requests failed: a report of HAProxy logs.
///
/// Sections (all by default; pick with --section):
///   overview     lines by kind, unparsed lines, time span, request rate
///   status       requests by status code and class
///   termination  termination states, each explained in words
///   frontends    per frontend: requests, outcomes, Tt/Tr/Tw/Tc percentiles
///   backends     per backend: the same, with queues and retries
///   servers      per server: the same, with its share of its backend
///   urls         per URL path or gRPC method (--url-sort, --top)
///   clients      top client addresses (X-Forwarded-For with --xff)
///   slow         the slowest requests (--top)
///   queue        queueing: how many waited, how long, the peak seconds
///   timeline     requests, errors and times per second/minute/hour
///
/// Filters combine (all must pass). List filters take comma-separated
/// values; a value starting with `!` excludes: --status '5xx,!503'.
///
/// Examples:
///
///   haplog report /var/log/haproxy.log
///   haplog report --section servers,termination --since 15m access.log
///   haplog report --status 5xx --backend api --json access.log.*.gz
///   haplog report --slow 1s --section slow,urls --top 20 access.log
///   haplog report --markdown --since '2024-05-01 14:00' --until '14:30' app.log
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ReportArgs {
    /// Log files (plain, .gz or .zst; patterns like 'haproxy.log*'; rotated
    /// sets are read oldest first); none, or `-`, reads standard input
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Sections to show, comma separated (default: all)
    #[arg(long, alias = "sections", value_name = "LIST", value_delimiter = ',', value_parser = parse_section, help_heading = "Report")]
    section: Vec<SectionName>,

    /// Rows of the ranked tables: URLs, clients, slow requests, queue peaks
    #[arg(long, value_name = "N", default_value_t = 10, help_heading = "Report")]
    top: usize,

    /// URL table order: requests, failed, time, avg-time, avg-response,
    /// bytes, avg-bytes, url (halog's -uc -ue -ut -ua -uao -ubt -uba -u)
    #[arg(long, value_name = "KEY", default_value = "requests", value_parser = parse_url_sort, help_heading = "Report")]
    url_sort: UrlSort,

    /// Keep query strings in URLs (/search?q=x), like halog's -query
    #[arg(long, help_heading = "Report")]
    query: bool,

    /// Timeline rows: auto, second, minute, hour
    #[arg(long, value_name = "WIDTH", default_value = "auto", value_parser = parse_interval, help_heading = "Report")]
    interval: Interval,

    /// Count clients by the first address of X-Forwarded-For, taken from
    /// the Nth captured request header (`capture request header
    /// X-Forwarded-For` in haproxy.cfg; 1 is the first capture)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Report")]
    xff: Option<u32>,

    /// Read gRPC statuses from the Nth captured response header (`capture
    /// response header grpc-status len 2` in haproxy.cfg; found there by
    /// itself with --haproxy-config). gRPC errors travel with HTTP 200:
    /// without this a failing gRPC server looks healthy
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Report")]
    grpc_status: Option<u32>,

    /// One JSON document (schema in docs/report.md)
    #[arg(long, conflicts_with_all = ["csv", "markdown"], help_heading = "Output")]
    json: bool,

    /// CSV: each table as a block headed `# section.table`. Text cells
    /// that a spreadsheet would run as a formula (starting with = + - @)
    /// get a `'` in front
    #[arg(long, conflicts_with = "markdown", help_heading = "Output")]
    csv: bool,

    /// CSV cells exactly as logged: no `'` before would-be formulas
    #[arg(long, requires = "csv", help_heading = "Output")]
    csv_raw: bool,

    /// Markdown tables, to paste into an issue or a wiki
    #[arg(long, help_heading = "Output")]
    markdown: bool,

    /// Colour in text output
    #[arg(
        long,
        value_name = "WHEN",
        default_value = "auto",
        help_heading = "Output"
    )]
    color: ColorChoice,

    /// No progress line and no summary on stderr
    #[arg(short, long, help_heading = "Output")]
    quiet: bool,

    /// Only requests at or after this time: 2024-05-01T10:00:00[+02:00],
    /// '2024-05-01 10:00', 01/May/2024:10:00:00, an age: 15m, 2h, 1d (ago),
    /// or a time of day, 10:00: on the other bound's date when it has one,
    /// else today
    #[arg(long, value_name = "TIME", help_heading = "Filters")]
    since: Option<String>,

    /// Only requests before this time (same forms as --since): `--since
    /// '2024-05-01 14:00' --until 14:30` is half an hour of May 1st
    #[arg(long, value_name = "TIME", help_heading = "Filters")]
    until: Option<String>,

    /// The zone of log dates written without one (HAProxy's %tr): local
    /// (the default), UTC, or an offset like +0200
    #[arg(
        long,
        value_name = "ZONE",
        default_value = "local",
        help_heading = "Filters"
    )]
    utc_offset: String,

    /// Status codes, classes or ranges: 503, 5xx, 500-504, '!404', -1 (no
    /// response)
    #[arg(
        long,
        value_name = "LIST",
        allow_hyphen_values = true,
        help_heading = "Filters"
    )]
    status: Vec<String>,

    /// Termination states by their first 1 or 2 characters: SC, cD, s, '.H'
    #[arg(long, value_name = "LIST", help_heading = "Filters")]
    termination: Vec<String>,

    /// Frontend names
    #[arg(long, value_name = "LIST", help_heading = "Filters")]
    frontend: Vec<String>,

    /// Backend names
    #[arg(long, value_name = "LIST", help_heading = "Filters")]
    backend: Vec<String>,

    /// Server names, or backend/server
    #[arg(long, value_name = "LIST", help_heading = "Filters")]
    server: Vec<String>,

    /// Client addresses or CIDR blocks: 10.0.0.0/8, 2001:db8::/32
    #[arg(long, value_name = "LIST", help_heading = "Filters")]
    client: Vec<String>,

    /// Paths containing this text (a gRPC method: /pkg.Svc/Method)
    #[arg(long, value_name = "LIST", help_heading = "Filters")]
    path: Vec<String>,

    /// Paths starting with this text
    #[arg(long, value_name = "LIST", help_heading = "Filters")]
    path_prefix: Vec<String>,

    /// HTTP methods: GET, POST, …
    #[arg(long, value_name = "LIST", help_heading = "Filters")]
    method: Vec<String>,

    /// Only requests to TLS frontends
    #[arg(long, conflicts_with = "no_https", help_heading = "Filters")]
    https: bool,

    /// Only requests to plain frontends
    #[arg(long, help_heading = "Filters")]
    no_https: bool,

    /// Only requests at least this slow: 500ms, 1s, 2m ('!1s': faster ones)
    #[arg(long, value_name = "DURATION", help_heading = "Filters")]
    slow: Option<String>,

    /// The timer --slow looks at: tt (total, the default), tr (server
    /// response), tw (queue), tc (connect)
    #[arg(long, value_name = "TIMER", default_value = "tt", value_parser = parse_timer, help_heading = "Filters")]
    slow_by: Timer,

    /// Only requests that waited in a queue (Tw > 0)
    #[arg(long, conflicts_with = "not_queued", help_heading = "Filters")]
    queued: bool,

    /// Only requests that did not wait in a queue
    #[arg(long, help_heading = "Filters")]
    not_queued: bool,

    /// Only responses of at least this size: 1024, 512k, 1.5M
    #[arg(long, value_name = "SIZE", help_heading = "Filters")]
    min_bytes: Option<String>,

    /// Only responses of at most this size
    #[arg(long, value_name = "SIZE", help_heading = "Filters")]
    max_bytes: Option<String>,

    #[command(flatten)]
    format: FormatArgs,

    /// Worker threads (default: HAPLOG_THREADS, else the number of CPUs)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    threads: Option<u32>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

fn parse_section(s: &str) -> Result<SectionName, String> {
    SectionName::from_name(s.trim()).ok_or_else(|| {
        let names: Vec<&str> = SectionName::ALL.iter().map(|s| s.name()).collect();
        format!("unknown section; use one of {}", names.join(", "))
    })
}

fn parse_url_sort(s: &str) -> Result<UrlSort, String> {
    UrlSort::parse(s).ok_or_else(|| format!("use one of {}", UrlSort::NAMES.join(", ")))
}

fn parse_interval(s: &str) -> Result<Interval, String> {
    Interval::parse(s).ok_or_else(|| "use auto, second, minute or hour".to_string())
}

fn parse_timer(s: &str) -> Result<Timer, String> {
    Timer::parse(s).ok_or_else(|| "use tt, tr, tw or tc".to_string())
}

impl ReportArgs {
    /// The filter flags, as written.
    fn filter_spec(&self) -> FilterSpec {
        let either = |yes: bool, no: bool| (yes || no).then_some(yes);
        FilterSpec {
            utc_offset: self.utc_offset.clone(),
            since: self.since.clone(),
            until: self.until.clone(),
            status: self.status.clone(),
            termination: self.termination.clone(),
            frontend: self.frontend.clone(),
            backend: self.backend.clone(),
            server: self.server.clone(),
            client: self.client.clone(),
            path: self.path.clone(),
            path_prefix: self.path_prefix.clone(),
            method: self.method.clone(),
            https: either(self.https, self.no_https),
            slow: self.slow.clone(),
            slow_by: self.slow_by,
            queued: either(self.queued, self.not_queued),
            min_bytes: self.min_bytes.clone(),
            max_bytes: self.max_bytes.clone(),
        }
    }
}

pub fn run(args: ReportArgs) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("haplog report: {message}");
            2
        }
    }
}

fn run_inner(args: ReportArgs) -> Result<i32, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let (filter, filter_words) = args.filter_spec().build(now)?;
    let formats = args.format.formats("report", args.quiet)?;
    let (inputs, _names) = resolve_inputs(&args.files)?;
    let threads = args
        .threads
        .map_or_else(default_threads, |n| n as usize)
        .max(1);
    let config = Config {
        filter,
        read: ReadOptions {
            xff_capture: args.xff.map(|n| n as usize),
            grpc_status_capture: match args.grpc_status {
                Some(n) => Some(n as usize),
                None => args.format.grpc_status_capture()?,
            },
        },
        slowest: args.top,
        keep_query: args.query,
        unparsed_examples: 5,
    };
    let total_bytes = inputs
        .iter()
        .map(|i| match i {
            InputSpec::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            InputSpec::Stdin => None,
        })
        .sum::<Option<u64>>();
    let progress = Progress::start("haplog report", total_bytes, !args.quiet);
    let reading = args.format.reading(&formats);
    let outcome = haplog_pipeline::scan(&reading, inputs, threads, &config, |bytes| {
        progress.add(bytes)
    });
    progress.finish();
    let stats = outcome.stats;

    let options = ReportOptions {
        sections: if args.section.is_empty() {
            SectionName::ALL.to_vec()
        } else {
            args.section.clone()
        },
        top: args.top,
        interval: args.interval,
        url_sort: args.url_sort,
        filters: filter_words,
    };
    let report = build(&stats, &options);
    let sections = &report.sections;
    let empty = nothing_kept(&stats, &config.filter, &options.filters);
    let out = if args.json {
        render::json(&report)
    } else if args.csv {
        render::csv(
            sections,
            CsvStyle {
                guard_formulas: !args.csv_raw,
                inert: io::stdout().is_terminal(),
            },
        )
    } else if let Some(line) = empty {
        // Text and Markdown: a page of empty tables would hide the answer.
        format!("{}\n", inert(&line)).into_bytes()
    } else if args.markdown {
        render::markdown(sections).into_bytes()
    } else {
        let tty = io::stdout().is_terminal();
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && std::env::var_os("NO_COLOR").is_none(),
        };
        // Cells are cut on a terminal only, so a long URL does not wrap the
        // table away; a file or a pipe gets every byte.
        let cell_width = tty.then(terminal_width).flatten().map(|w| (w / 2).max(24));
        render::text(sections, Style { color, cell_width }).into_bytes()
    };
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout.write_all(&out).and_then(|()| stdout.flush()) {
        return write_failed(e);
    }
    let unparsed = stats.kinds[haplog_format::Kind::Unparsed.index()];
    if unparsed > 0 && !args.quiet {
        eprintln!(
            "haplog report: {unparsed} of {} lines could not be parsed (the overview shows the first ones)",
            stats.lines
        );
    }
    for e in &outcome.input_errors {
        eprintln!("haplog report: {e}");
    }
    Ok(if outcome.input_errors.is_empty() {
        0
    } else {
        2
    })
}

/// The terminal's width in columns, if standard output is one.
fn terminal_width() -> Option<usize> {
    // SAFETY: TIOCGWINSZ fills a winsize; a zeroed one is a valid start.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}
