//! `haplog export` (Parquet files of the log's lines) and `haplog schema`
//! (the table definition an engine loads them into).

use std::ops::ControlFlow;
use std::path::PathBuf;

use clap::Args;
use haplog_export::schema::{ddl, Engine};
use haplog_export::{export, other_path, ExportError, ExportOptions, PartitionBy};

use crate::common::{input_bytes, interrupt, resolve_inputs, thread_count, FormatArgs};
use crate::progress::Progress;

/// Write the log's lines as Parquet, for ClickHouse, DuckDB and Spark.
///
/// One row per line in haplog's schema (docs/export.md): HAProxy's field
/// names, timers as integers with NULL where HAProxy logged -1, `ts` in UTC
/// microseconds, captures as lists, zstd. Traffic lines go to OUT; the
/// other lines (errors, server states, health checks, unparsed lines) to
/// OUT's `.other.parquet` sibling, or nowhere with --traffic-only.
/// --partition date,host writes a Hive-style dataset instead. Files are
/// written under hidden names and renamed when whole: a failed or stopped
/// export leaves OUT as it was.
///
/// Exit codes: 0 written; 2 a bad flag or file, or an input not read whole
/// (its rows up to the fault are written); 130 stopped by Ctrl-C or SIGTERM.
///
/// Examples:
///
///   haplog export --parquet requests.parquet /var/log/haproxy.log*
///   haplog export --partition date,host --parquet logs/ lb1.log.gz lb2.log.gz
///   duckdb -c "SELECT server, count(*) FROM 'requests.parquet' GROUP BY 1"
///   haplog schema --clickhouse | clickhouse-client
///   clickhouse-client -q 'INSERT INTO haproxy FORMAT Parquet' < requests.parquet
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ExportArgs {
    /// Log files (plain, .gz or .zst; patterns like 'haproxy.log*'); none,
    /// or `-`, reads standard input
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,

    /// The Parquet file of the traffic lines
    #[arg(long, value_name = "OUT", required = true)]
    parquet: PathBuf,

    /// Leave out the lines that are not traffic (no .other.parquet file)
    #[arg(long)]
    traffic_only: bool,

    /// Write a Hive-style dataset: OUT is a directory of
    /// date=2024-05-01/host=lb1/part-N.parquet files (keys: date, the UTC
    /// day of `ts`; host, the syslog host), the other lines under
    /// OUT/_other/. A second export into OUT adds files beside the first
    #[arg(long, value_name = "KEYS", value_delimiter = ',', value_parser = parse_partition)]
    partition: Vec<PartitionBy>,

    /// The zone of log dates written without one (HAProxy's %tr): local
    /// (the default), UTC, or an offset like +0200
    #[arg(long, value_name = "ZONE", default_value = "local")]
    utc_offset: String,

    /// zstd's compression level, 1 (fastest) to 22 (smallest)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=22))]
    zstd_level: i32,

    /// No progress line and no summary on stderr
    #[arg(short, long)]
    quiet: bool,

    #[command(flatten)]
    format: FormatArgs,

    /// Worker threads (default: HAPLOG_THREADS, else the number of CPUs)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    threads: Option<u32>,
}

fn parse_partition(s: &str) -> Result<PartitionBy, String> {
    PartitionBy::parse(s.trim())
        .ok_or_else(|| "partition by date or host (or both: date,host)".to_string())
}

pub fn run(args: ExportArgs) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("haplog export: {message}");
            2
        }
    }
}

fn run_inner(args: ExportArgs) -> Result<i32, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let offset_minutes = haplog_analyze::spec::parse_offset(&args.utc_offset, now)?;
    let formats = args.format.formats("export", args.quiet)?;
    let (inputs, names) = resolve_inputs(&args.files)?;
    let threads = thread_count(args.threads);
    let mut keys = args.partition.clone();
    keys.dedup();
    if keys.len() != args.partition.len() || (keys.len() == 2 && keys[0] == keys[1]) {
        return Err("--partition: name each key once (date, host)".to_string());
    }
    if !keys.is_empty() && args.parquet.is_file() {
        return Err(format!(
            "--parquet {}: a file; with --partition it names a directory",
            args.parquet.display()
        ));
    }
    let other = match (args.traffic_only, keys.is_empty()) {
        (true, _) => None,
        (false, true) => Some(other_path(&args.parquet)),
        (false, false) => Some(args.parquet.join("_other")),
    };
    let options = ExportOptions {
        other: other.clone(),
        offset_minutes,
        zstd_level: args.zstd_level,
        partition: keys.clone(),
        ..ExportOptions::new(args.parquet.clone())
    };
    let total_bytes = input_bytes(&inputs);
    let progress = Progress::start("haplog export", total_bytes, !args.quiet);
    let reading = args.format.reading(&formats);
    // Ctrl-C and SIGTERM stop the export between chunks, so its files
    // are left as they were, not as hidden halves.
    interrupt::catch();
    let outcome = export(&reading, inputs, &names, threads, &options, |bytes| {
        progress.add(bytes);
        if interrupt::caught() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    progress.finish();
    if let Err(e @ ExportError::Stopped) = &outcome {
        eprintln!("haplog export: {e}");
        return Ok(130);
    }
    let exported = outcome.map_err(|e| e.to_string())?;
    if !args.quiet {
        let mut line = format!(
            "haplog export: {} lines read; {} rows to {}",
            exported.lines(),
            exported.traffic_rows,
            args.parquet.display()
        );
        if !keys.is_empty() {
            line.push_str(&format!(" ({} files)", exported.files.len()));
        }
        match &other {
            Some(path) if exported.other_rows > 0 => {
                line.push_str(&format!(", {} to {}", exported.other_rows, path.display()));
            }
            Some(_) => line.push_str(" (no other lines)"),
            None => line.push_str(" (other lines left out)"),
        }
        eprintln!("{line}");
    }
    for e in &exported.input_errors {
        eprintln!("haplog export: {e}");
    }
    Ok(if exported.input_errors.is_empty() {
        0
    } else {
        2
    })
}

/// Print the table definition that loads haplog's Parquet files.
///
/// The columns are those of `haplog export --parquet` (docs/export.md).
///
/// Examples:
///
///   haplog schema --clickhouse | clickhouse-client --multiquery
///   haplog schema --duckdb --table requests
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct SchemaArgs {
    /// ClickHouse: a MergeTree partitioned by day, ordered by backend,
    /// server and time, LowCardinality names
    #[arg(long, group = "engine")]
    clickhouse: bool,

    /// DuckDB
    #[arg(long, group = "engine")]
    duckdb: bool,

    /// Spark SQL, over Parquet
    #[arg(long, group = "engine")]
    spark: bool,

    /// The columns as a Markdown table: name, type, NULL, meaning
    #[arg(long, group = "engine")]
    markdown: bool,

    /// The table's name
    #[arg(long, value_name = "NAME", default_value = "haproxy")]
    table: String,
}

pub fn run_schema(args: SchemaArgs) -> i32 {
    if args.markdown {
        return print(&haplog_export::schema::markdown());
    }
    let engine = if args.duckdb {
        Engine::DuckDb
    } else if args.spark {
        Engine::Spark
    } else if args.clickhouse {
        Engine::ClickHouse
    } else {
        eprintln!(
            "haplog schema: name an engine: --clickhouse, --duckdb or --spark (or --markdown)"
        );
        return 2;
    };
    if !args
        .table
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        || args.table.is_empty()
    {
        eprintln!(
            "haplog schema: --table `{}`: use letters, digits, `_` and `.`",
            args.table
        );
        return 2;
    }
    print(&ddl(engine, &args.table))
}

fn print(text: &str) -> i32 {
    let mut stdout = std::io::stdout().lock();
    match std::io::Write::write_all(&mut stdout, text.as_bytes()) {
        Ok(()) => 0,
        Err(e) => crate::common::write_failed(e).unwrap_or_else(|m| {
            eprintln!("haplog schema: {m}");
            2
        }),
    }
}
