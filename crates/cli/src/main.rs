//! The `haplog` binary: a thin dispatcher over the haplog libraries.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

use clap::{Parser, Subcommand};

mod cat_cmd;
mod common;
#[cfg(feature = "export")]
mod export_cmd;
mod halog_cmd;
mod hla_cmd;
#[cfg(feature = "live")]
mod live_cmd;
#[cfg(feature = "load")]
mod load_cmd;
mod pager;
mod progress;
mod report_cmd;
#[cfg(feature = "load")]
mod testserver_cmd;

/// Fast HAProxy log analysis: a byte-exact halog drop-in, reports, and
/// gRPC load tests that read the proxy's side.
///
/// Any halog command line works as it is:
///
///   haplog -srv -H < haproxy.log          (same bytes as `halog -srv -H`)
///   haplog -ut -H -m 10 a.log b.log.gz    (named files, .gz and .zst too)
///   haplog halog -tc < haproxy.log        (the explicit form)
///
/// A symlink named `halog` pointing at haplog behaves as halog itself.
/// Input is parsed on all cores; `--threads N` (or HAPLOG_THREADS) sets the
/// number of workers.
///
/// `haplog report LOG` is the report after a load test; `haplog live LOG`
/// watches a log as it grows; `haplog export` writes Parquet for ClickHouse,
/// DuckDB and Spark; `haplog load` takes ghz's command line (`haplog load
/// --help`).
#[derive(Parser)]
#[command(name = "haplog", version, about, long_about, verbatim_doc_comment)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a halog 2.6 command line: `haplog halog -h` lists its options.
    ///
    /// Prints exactly what halog 2.6 prints (stdout, stderr and exit code),
    /// reading standard input, or the files named after the options.
    #[command(disable_help_flag = true)]
    Halog {
        /// halog's options, then optional input files
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    Report(Box<report_cmd::ReportArgs>),
    Cat(cat_cmd::CatArgs),
    #[cfg(feature = "export")]
    Export(Box<export_cmd::ExportArgs>),
    #[cfg(feature = "export")]
    Schema(export_cmd::SchemaArgs),
    Hla(hla_cmd::HlaArgs),
    #[cfg(feature = "live")]
    Live(Box<live_cmd::LiveArgs>),
    #[cfg(feature = "load")]
    Load(Box<load_cmd::LoadArgs>),
    #[cfg(feature = "load")]
    Testserver(testserver_cmd::TestServerArgs),
}

fn main() {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let invoked_as = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let code = if invoked_as == "halog" {
        halog_cmd::main(args.split_off(1))
    } else if args.get(1).is_some_and(|a| a == "halog") {
        halog_cmd::main(args.split_off(2))
    } else if args.get(1).is_some_and(is_halog_option) {
        halog_cmd::main(args.split_off(1))
    } else {
        run_subcommand(args)
    };
    std::process::exit(code);
}

/// A first argument that starts with '-' and is not one of haplog's own
/// top-level flags starts a halog command line.
fn is_halog_option(arg: &OsString) -> bool {
    let s = arg.to_string_lossy();
    s.starts_with('-') && !matches!(s.as_ref(), "-h" | "--help" | "-V" | "--version")
}

/// The arguments after the subcommand's name (`haplog load ...`).
#[cfg(feature = "load")]
fn args_after(args: &[OsString], subcommand: &str) -> Vec<OsString> {
    let at = args
        .iter()
        .position(|a| a == subcommand)
        .unwrap_or(args.len());
    args.get(at + 1..).unwrap_or_default().to_vec()
}

fn run_subcommand(args_os: Vec<OsString>) -> i32 {
    let args = &args_os;
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            if !e.use_stderr() {
                // --help and --version: a full disk or a closed file is an
                // error like any other write error; `| head` is not.
                let text = e.render().to_string();
                let mut stdout = std::io::stdout().lock();
                let written = stdout
                    .write_all(text.as_bytes())
                    .and_then(|()| stdout.flush());
                return match written.map(|()| 0).or_else(common::write_failed) {
                    Ok(code) => code,
                    Err(message) => {
                        eprintln!("haplog: {message}");
                        2
                    }
                };
            }
            // One line naming the bad flag or value, like every other
            // error; clap's usage tips would bury it.
            eprintln!("haplog: {} (see --help)", common::clap_error_line(&e));
            return 2;
        }
    };
    match cli.command {
        Command::Halog { args } => halog_cmd::main(args),
        Command::Report(args) => report_cmd::run(*args),
        Command::Cat(args) => cat_cmd::run(args),
        #[cfg(feature = "export")]
        Command::Export(args) => export_cmd::run(*args),
        #[cfg(feature = "export")]
        Command::Schema(args) => export_cmd::run_schema(args),
        Command::Hla(args) => hla_cmd::run(args),
        #[cfg(feature = "live")]
        Command::Live(args) => live_cmd::run(*args),
        #[cfg(feature = "load")]
        Command::Load(args) => match load_cmd::with_config(*args, &args_after(&args_os, "load")) {
            Ok(args) => load_cmd::run(args),
            Err(code) => code,
        },
        #[cfg(feature = "load")]
        Command::Testserver(args) => testserver_cmd::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
