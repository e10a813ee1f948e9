//! What the subcommands that read log records share: how lines are
//! understood, which inputs to read, and how output ends.

use std::io::{self, IsTerminal};
use std::path::PathBuf;

use clap::Args;
use haplog_engine::{order_rotated, InputSpec};
use haplog_format::{config, FormatOptions, Formats, HeaderStyle};

/// How to read lines: the header and the formats.
#[derive(Args, Debug, Clone)]
pub struct FormatArgs {
    /// The header in front of each message, instead of detecting it:
    /// rfc5424, rfc3164, local, bsd, bsd-tag, fileformat (ISO + host),
    /// short-unix, timed, iso, priority, stderr, none
    #[arg(long, value_name = "STYLE", value_parser = parse_header)]
    pub header: Option<HeaderStyle>,

    /// A log-format string as written in haproxy.cfg, tried before the
    /// built-in formats (repeatable)
    #[arg(long = "log-format", value_name = "FORMAT")]
    pub log_format: Vec<String>,

    /// Use the log-format and error-log-format lines of this haproxy.cfg
    #[arg(long, value_name = "FILE")]
    pub haproxy_config: Option<PathBuf>,

    /// Read httplog timers with their meaning before HAProxy 1.7
    /// (Tq/Tw/Tc/Tr/Tt instead of TR/Tw/Tc/Tr/Ta)
    #[arg(long)]
    pub legacy_timers: bool,
}

fn parse_header(name: &str) -> Result<HeaderStyle, String> {
    HeaderStyle::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = HeaderStyle::ALL.iter().map(|s| s.name()).collect();
        format!("unknown header style; use one of {}", names.join(", "))
    })
}

impl FormatArgs {
    /// The formats to try, the user's first. `command` names the
    /// subcommand in the warning printed (unless `quiet`) when a config
    /// has no log-format lines.
    pub fn formats(&self, command: &str, quiet: bool) -> Result<Formats, String> {
        let mut options = FormatOptions {
            custom: self.log_format.clone(),
            legacy_timers: self.legacy_timers,
        };
        if let Some(path) = &self.haproxy_config {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--haproxy-config {}: {e}", path.display()))?;
            let found = config::log_formats(&text);
            if found.is_empty() && !quiet {
                eprintln!(
                    "haplog {command}: {} has no log-format lines; the built-in formats are used",
                    path.display()
                );
            }
            options.custom.extend(found);
        }
        Formats::new(&options).map_err(|e| format!("--log-format: {e}"))
    }
}

/// The inputs named on a command line: `-` or nothing is standard input;
/// a pattern (`logs/haproxy.log*`) that names no file as it is expands
/// like a shell glob; each rotated set is read oldest first. Every file
/// is checked, so a bad name is an error before anything is read.
pub fn resolve_inputs(files: &[PathBuf]) -> Result<(Vec<InputSpec>, Vec<String>), String> {
    if files.is_empty() {
        // Waiting on a terminal for a log to be typed helps no one.
        if std::io::stdin().is_terminal() {
            return Err("no input: give log files, or pipe a log into standard input".to_string());
        }
        return Ok((vec![InputSpec::Stdin], vec!["-".to_string()]));
    }
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut stdin_at = None;
    for f in files {
        let arg = f.to_string_lossy();
        if arg == "-" {
            stdin_at.get_or_insert(paths.len());
            continue;
        }
        let is_pattern = arg.contains(['*', '?', '[']);
        if is_pattern && !f.exists() {
            let matches = glob::glob(&arg)
                .map_err(|e| format!("{arg}: not a valid pattern ({e})"))?
                .filter_map(Result::ok)
                .filter(|p| p.is_file());
            let before = paths.len();
            paths.extend(matches);
            if paths.len() == before {
                return Err(format!("{arg}: no file matches this pattern"));
            }
        } else {
            paths.push(f.clone());
        }
    }
    order_rotated(&mut paths);
    let mut inputs: Vec<InputSpec> = paths.into_iter().map(InputSpec::Path).collect();
    if let Some(at) = stdin_at {
        inputs.insert(at.min(inputs.len()), InputSpec::Stdin);
    }
    for input in &inputs {
        input.check().map_err(|e| e.to_string())?;
    }
    let names = inputs
        .iter()
        .map(|i| match i {
            InputSpec::Stdin => "-".to_string(),
            InputSpec::Path(p) => p.display().to_string(),
        })
        .collect();
    Ok((inputs, names))
}

/// The lines of a chunk, without their LF.
pub fn lines(chunk: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= chunk.len() {
            return None;
        }
        let end = memchr::memchr(b'\n', &chunk[start..]).map_or(chunk.len(), |i| start + i);
        let line = &chunk[start..end];
        start = end + 1;
        Some(line)
    })
}

/// A line worth reading: without its CR, `None` when blank.
pub fn content(raw: &[u8]) -> Option<&[u8]> {
    let line = raw.strip_suffix(b"\r").unwrap_or(raw);
    (!line.iter().all(|&b| b == b' ' || b == b'\t')).then_some(line)
}

/// A closed pipe (`| head`) is a normal end; any other write error is not.
pub fn write_failed(e: io::Error) -> Result<i32, String> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(0)
    } else {
        Err(format!("cannot write output: {e}"))
    }
}
