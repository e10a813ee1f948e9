//! `haplog cat`: every line as a record, NDJSON or CSV.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;

use crate::common::{resolve_inputs, thread_count, write_failed, FormatArgs};
use haplog_format::Kind;
use haplog_pipeline::records::{records, Layout, RecordsOptions};
use haplog_report::escape::{inert, CsvStyle};
use haplog_report::records::write_csv_header;

/// Show each line as a record: its kind, its header and its fields.
///
/// Every HAProxy line is understood: tcplog, httplog, httpslog, CLF, error
/// and event lines, behind any syslog or journald header; custom formats
/// with --log-format or --haproxy-config. Records go to stdout, one JSON
/// object per line (or CSV); a count of lines by kind, with the first lines
/// that could not be parsed, goes to stderr.
///
/// Examples:
///
///   haplog cat /var/log/haproxy.log | jq 'select(.status >= 500)'
///   haplog cat --csv --kind traffic access.log.gz > requests.csv
///   haplog cat --haproxy-config /etc/haproxy/haproxy.cfg custom.log
///   haplog cat --log-format '%ci:%cp [%tr] %ft %b/%s %ST %{+Q}r' app.log
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct CatArgs {
    /// Log files (plain, .gz or .zst); none, or `-`, reads standard input
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,

    /// One JSON object per line (the default)
    #[arg(long, conflicts_with = "csv")]
    json: bool,

    /// CSV, with a header row naming every field. Text cells that a
    /// spreadsheet would run as a formula (starting with = + - @) get a `'`
    /// in front; control characters show as \x1b on a terminal
    #[arg(long)]
    csv: bool,

    /// CSV cells exactly as logged: no `'` before would-be formulas (for
    /// scripts and databases rather than spreadsheets)
    #[arg(long, requires = "csv")]
    csv_raw: bool,

    #[command(flatten)]
    format: FormatArgs,

    /// Only print records of these kinds (repeatable, or comma-separated:
    /// `--kind error,connect`): traffic, error, connect, server-state,
    /// backend-down, health-check, proxy-lifecycle, process, json,
    /// json-invalid, unparsed, blank, overlong, partial
    #[arg(long, value_name = "KIND", value_parser = parse_kind, value_delimiter = ',')]
    kind: Vec<Kind>,

    /// Print only the count of lines by kind (on stdout), no records
    #[arg(long, conflicts_with_all = ["json", "csv", "kind"])]
    count: bool,

    /// No summary on stderr
    #[arg(short, long)]
    quiet: bool,

    /// Worker threads (default: HAPLOG_THREADS, else the number of CPUs)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    threads: Option<u32>,
}

fn parse_kind(name: &str) -> Result<Kind, String> {
    Kind::ALL
        .iter()
        .copied()
        .find(|k| k.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown kind; use one of {}", names.join(", "))
        })
}

/// How many unparsed lines the summary shows.
const SHOWN_UNPARSED: usize = 5;

pub fn run(args: CatArgs) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("haplog cat: {message}");
            2
        }
    }
}

fn run_inner(args: CatArgs) -> Result<i32, String> {
    let formats = args.format.formats("cat", args.quiet)?;
    let (inputs, names) = resolve_inputs(&args.files)?;
    let threads = thread_count(args.threads);
    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let layout = if args.count {
        Layout::CountOnly
    } else if args.csv {
        Layout::Csv(CsvStyle {
            guard_formulas: !args.csv_raw,
            inert: io::stdout().is_terminal(),
        })
    } else {
        Layout::Ndjson
    };
    if args.csv {
        let mut header = Vec::new();
        write_csv_header(&mut header);
        if let Err(e) = out.write_all(&header) {
            return write_failed(e);
        }
    }
    let options = RecordsOptions {
        layout,
        kinds: args.kind.clone(),
        shown_unparsed: SHOWN_UNPARSED,
    };
    let reading = args.format.reading(&formats);
    let outcome = records(&reading, inputs, &names, threads, &options, |text| {
        out.write_all(text)
    });
    if let Some(e) = outcome.write_error.or_else(|| out.flush().err()) {
        return write_failed(e);
    }
    let counts = outcome.counts;
    let unparsed = outcome.unparsed;
    if args.count {
        let mut text = Vec::new();
        for kind in Kind::ALL {
            let _ = writeln!(text, "{} {}", kind.name(), counts.get(kind));
        }
        let _ = writeln!(text, "truncated {}", counts.truncated());
        let _ = writeln!(text, "total {}", counts.total());
        if let Err(e) = io::stdout().lock().write_all(&text) {
            return write_failed(e);
        }
    }
    if !args.quiet {
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "haplog cat: {}", counts.summary());
        for (input, line, text) in unparsed.iter().take(SHOWN_UNPARSED) {
            let shown = &text[..text.len().min(200)];
            let more = if text.len() > 200 { "…" } else { "" };
            let _ = writeln!(
                err,
                "  unparsed {}:{line}: {}{more}",
                names[*input],
                inert(&String::from_utf8_lossy(shown))
            );
        }
    }
    for e in &outcome.input_errors {
        eprintln!("haplog cat: {e}");
    }
    Ok(if outcome.input_errors.is_empty() {
        0
    } else {
        2
    })
}
