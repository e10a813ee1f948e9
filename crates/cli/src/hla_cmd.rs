//! `haplog hla`: the haproxy_log_analysis command line.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, CommandFactory};
use haplog_engine::{default_threads, InputSpec};
use haplog_hla::query::{parse_commands, parse_filters, Query};
use haplog_hla::{Config, LIST_COMMANDS, LIST_FILTERS};

/// haproxy_log_analysis's command line, 100 times faster.
///
/// The commands, filters and options of `haproxy_log_analysis` 6.0 with
/// the same output (from its RESULTS line on), for scripts written
/// against it. The lines it cannot read are counted on stderr instead of
/// being dropped silently; see docs/hla.md for what else differs (its
/// bugs) and the `haplog report` equivalents.
///
/// Examples:
///
///   haplog hla -l haproxy.log -c counter,top_ips
///   haplog hla -l haproxy.log -c server_load -f status_code_family[5],backend[api]
///   haplog hla -l haproxy.log -c requests_per_minute -s 10/Dec/2013:10:00 -d 30m --json
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct HlaArgs {
    /// HAProxy log file to analyze (.gz and .zst too; `-` reads stdin)
    #[arg(short, long, value_name = "LOG")]
    log: Option<PathBuf>,

    /// Only lines accepted at or after this time: DD/Mon/YYYY[:HH[:MM[:SS]]]
    #[arg(short, long)]
    start: Option<String>,

    /// Only lines up to this long after the start (e.g. 1s, 10m, 3h, 4d);
    /// without --start, from the first line's time
    #[arg(short, long)]
    delta: Option<String>,

    /// Commands to run, comma separated (see --list-commands)
    #[arg(short, long)]
    command: Option<String>,

    /// Filters, comma separated, values in brackets: ip[1.2.3.4],ssl,path[/x]
    /// (see --list-filters)
    #[arg(short, long)]
    filter: Option<String>,

    /// Keep the lines that do not pass all the filters
    #[arg(short, long = "negate-filter")]
    negate_filter: bool,

    /// Lists all commands available
    #[arg(long)]
    list_commands: bool,

    /// Lists all filters available
    #[arg(long)]
    list_filters: bool,

    /// One JSON object per command on stdout, nothing else
    #[arg(long)]
    json: bool,

    /// Print the lines that could not be parsed
    #[arg(long)]
    invalid: bool,

    /// No summary on stderr
    #[arg(short, long)]
    quiet: bool,

    /// Worker threads (default: HAPLOG_THREADS, else the number of CPUs)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    threads: Option<u32>,
}

pub fn run(args: HlaArgs) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("haplog hla: {message}");
            2
        }
    }
}

fn run_inner(args: HlaArgs) -> Result<i32, String> {
    let mut stdout = io::stdout().lock();
    if args.list_commands || args.list_filters {
        let text = if args.list_commands {
            LIST_COMMANDS
        } else {
            LIST_FILTERS
        };
        return write_out(&mut stdout, text.as_bytes());
    }
    let Some(commands) = &args.command else {
        if args.filter.is_some() || args.start.is_some() || args.delta.is_some() {
            return Err("-f, -s and -d need commands to run: add -c (see --list-commands)".into());
        }
        // Nothing to run: the tool shows its help.
        let help = crate::Cli::command()
            .find_subcommand_mut("hla")
            .map(|c| c.render_help().to_string())
            .unwrap_or_default();
        return write_out(&mut stdout, help.as_bytes());
    };
    let query = Query {
        commands: parse_commands(commands).map_err(|e| e.to_string())?,
        filters: match &args.filter {
            Some(f) => parse_filters(f).map_err(|e| e.to_string())?,
            None => Vec::new(),
        },
        negate: args.negate_filter,
        start: args
            .start
            .as_deref()
            .map(Query::parse_start)
            .transpose()
            .map_err(|e| e.to_string())?,
        delta: args
            .delta
            .as_deref()
            .map(Query::parse_delta)
            .transpose()
            .map_err(|e| e.to_string())?,
    };
    let Some(log) = &args.log else {
        return Err("no log file: give it with -l FILE (or -l - for stdin)".into());
    };
    let input = InputSpec::from_arg(&log.to_string_lossy());
    input.check().map_err(|e| e.to_string())?;
    if matches!(input, InputSpec::Stdin) && query.delta.is_some() && query.start.is_none() {
        return Err(
            "-d without -s starts at the file's first line, which stdin cannot give: add -s".into(),
        );
    }
    let config = Config {
        query,
        json: args.json,
        show_invalid: args.invalid,
    };
    let threads = args.threads.map_or_else(default_threads, |n| n as usize);
    let began = Instant::now();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let summary = match haplog_hla::run(&config, input, threads, &mut out) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(0),
        Err(e) => return Err(format!("cannot write output: {e}")),
    };
    if !args.quiet {
        let mut err = io::stderr().lock();
        let _ = write!(
            err,
            "haplog hla: {} lines in {:.2} s: {} read, {} counted",
            summary.lines,
            began.elapsed().as_secs_f64(),
            summary.valid,
            summary.counted
        );
        if summary.invalid > 0 {
            let _ = write!(err, ", {} not in httplog shape (skipped)", summary.invalid);
        }
        if summary.bad_dates > 0 {
            let _ = write!(
                err,
                ", {} with an unreadable accept date (skipped)",
                summary.bad_dates
            );
        }
        if summary.not_utf8 > 0 {
            let _ = write!(err, ", {} not UTF-8 (read with U+FFFD)", summary.not_utf8);
        }
        let _ = writeln!(err);
        if summary.unreadable_requests > 0 {
            let _ = writeln!(
                err,
                "haplog hla: {} request lines not understood (method and path `invalid`), e.g. {:?}",
                summary.unreadable_requests, summary.first_unreadable
            );
        }
    }
    for e in &summary.input_errors {
        eprintln!("haplog hla: {e}");
    }
    Ok(if summary.input_errors.is_empty() {
        0
    } else {
        2
    })
}

fn write_out(out: &mut dyn Write, text: &[u8]) -> Result<i32, String> {
    match out.write_all(text).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(format!("cannot write output: {e}")),
    }
}
