//! `haplog report`: the report after a load test.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use haplog_analyze::TrafficStats;
use haplog_analyze::{Config, ReadOptions};
use haplog_report::escape::{inert, CsvStyle};
use haplog_report::model::Report;
use haplog_report::render::{self, Style};
use haplog_report::traffic::{
    build, format_time, nothing_kept, summary, Interval, ReportOptions, SectionName, UrlSort,
};

use crate::common::{
    input_bytes, resolve_inputs, thread_count, write_failed, FilterArgs, FormatArgs,
};
use crate::progress::Progress;

/// Where the time went and why requests failed: a report of HAProxy logs.
///
/// On a terminal the report opens with its findings (failing or slow
/// servers, requests with no server, queues, a jump in failures), then a
/// summary that fits a screen; --full shows every table, --section the
/// sections named in full, --html a page with charts to open or share.
/// Text taller than the terminal goes through PAGER (less by default).
///
/// Sections (all with --full, --json, --csv, --markdown, --html):
///   findings     the answer first: failing and slow servers, no server
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
///   haplog report --html report.html /var/log/haproxy.log
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

    /// Write one self-contained HTML page to FILE (`-`: standard output):
    /// the findings, every table (click a heading to sort), and charts of
    /// rates, latency percentiles over time per backend and server, and
    /// latency distributions. Opens offline; light, dark and print
    #[arg(long, value_name = "FILE", conflicts_with_all = ["json", "csv", "markdown"], help_heading = "Output")]
    html: Option<PathBuf>,

    /// Every table of every section in text (the default is a summary that
    /// fits a screen; --section shows the sections named in full)
    #[arg(long, help_heading = "Output")]
    full: bool,

    /// Write straight to the terminal, never through a pager (PAGER, else
    /// less, pages text taller than the terminal)
    #[arg(long, help_heading = "Output")]
    no_pager: bool,

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

    #[command(flatten)]
    filters: FilterArgs,

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
    let (filter, filter_words) = args.filters.spec().build(now)?;
    let formats = args.format.formats("report", args.quiet)?;
    let (inputs, names) = resolve_inputs(&args.files)?;
    let threads = thread_count(args.threads);
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
        server_slices: args.html.is_some(),
        ..Config::default()
    };
    let total_bytes = input_bytes(&inputs);
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
        charts: args.html.is_some(),
    };
    // Text opens with a summary unless every table is asked for; the
    // summary is built instead of the full report, not beside it.
    let summarised = !(args.json || args.csv || args.markdown || args.full)
        && args.html.is_none()
        && args.section.is_empty();
    let report = if summarised {
        summary(&stats, &options)
    } else {
        build(&stats, &options)
    };
    let sections = &report.sections;
    let empty = nothing_kept(&stats, &config.filter, &options.filters);
    if let Some(path) = &args.html {
        let page = html_page(&report, &names, &stats, empty.as_deref());
        let written = if path.as_os_str() == "-" {
            let mut stdout = io::stdout().lock();
            stdout
                .write_all(page.as_bytes())
                .and_then(|()| stdout.flush())
        } else {
            std::fs::write(path, page.as_bytes())
        };
        if let Err(e) = written {
            if path.as_os_str() == "-" {
                return write_failed(e);
            }
            return Err(format!("{}: cannot write the page ({e})", path.display()));
        }
        if !args.quiet && path.as_os_str() != "-" {
            eprintln!(
                "haplog report: wrote {} ({} KB)",
                path.display(),
                page.len().div_ceil(1024)
            );
        }
        return Ok(finish(&args, &stats, &outcome.input_errors));
    }
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
        let cell_width = tty
            .then(crate::pager::terminal_size)
            .flatten()
            .map(|(w, _)| (w / 2).max(24));
        render::text(sections, Style { color, cell_width }).into_bytes()
    };
    // Text for people may be paged; data for programs never is.
    let people = !(args.json || args.csv);
    if let Err(e) = crate::pager::write(&out, people && !args.no_pager) {
        return write_failed(e);
    }
    Ok(finish(&args, &stats, &outcome.input_errors))
}

/// What is left to say on stderr once the report is out, and the exit
/// code: 2 when an input could not be read whole.
fn finish(args: &ReportArgs, stats: &TrafficStats, input_errors: &[impl std::fmt::Display]) -> i32 {
    let unparsed = stats.kinds[haplog_format::Kind::Unparsed.index()];
    if unparsed > 0 && !args.quiet {
        eprintln!(
            "haplog report: {unparsed} of {} lines could not be parsed (the overview shows the first ones)",
            stats.lines
        );
    }
    for e in input_errors {
        eprintln!("haplog report: {e}");
    }
    if input_errors.is_empty() {
        0
    } else {
        2
    }
}

/// The HTML page: the inputs and the span under the title; a line saying
/// why nothing is shown when the filters kept nothing.
fn html_page(
    report: &Report,
    names: &[String],
    stats: &TrafficStats,
    empty: Option<&str>,
) -> String {
    let inputs = match names {
        [] => "standard input".to_string(),
        [one] if one == "-" => "standard input".to_string(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
    };
    let mut subtitle = format!("{inputs}: {} lines", stats.lines);
    if let (Some(first), Some(last)) = (&stats.first, &stats.last) {
        subtitle.push_str(&format!(
            ", {} to {}",
            format_time(first),
            format_time(last)
        ));
    }
    if let Some(why) = empty {
        subtitle.push_str(&format!(". {why}"));
    }
    haplog_report::page::report_page(
        report,
        "HAProxy log report",
        &subtitle,
        &format!("haplog {} report", env!("CARGO_PKG_VERSION")),
    )
}
