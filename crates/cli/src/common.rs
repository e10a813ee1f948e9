//! What the subcommands that read log records share: how lines are
//! understood, which inputs to read, and how output ends.

use std::io::{self, IsTerminal};
use std::path::PathBuf;

use clap::Args;
use haplog_engine::{order_rotated, InputSpec};
use haplog_format::record::DEFAULT_MAX_LINE;
use haplog_format::{config, EnvelopeStyle, FormatOptions, Formats, HeaderStyle};
use haplog_pipeline::Reading;

/// How to read lines: the header and the formats.
#[derive(Args, Debug, Clone)]
pub struct FormatArgs {
    /// The header in front of each message, instead of detecting it per
    /// file (`--help` lists the styles)
    #[arg(long, value_name = "STYLE", value_parser = parse_header,
          long_help = header_help())]
    pub header: Option<HeaderStyle>,

    /// The envelope around each line, instead of detecting it per file:
    /// journal-json (`journalctl -o json`), docker-json (Docker's json-file
    /// driver), cri (Kubernetes container logs), or none
    #[arg(long, value_name = "STYLE", value_parser = parse_envelope)]
    pub envelope: Option<EnvelopeChoice>,

    /// Lines longer than this many bytes are counted as overlong and not
    /// read, so that memory stays bounded on any input
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_LINE)]
    pub max_line_length: usize,

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
        format!(
            "unknown header style; use one of {} (aliases and examples in --help)",
            names.join(", ")
        )
    })
}

/// `--envelope`: one style, or `none` for bare lines.
#[derive(Clone, Copy, Debug)]
pub struct EnvelopeChoice(Option<EnvelopeStyle>);

fn parse_envelope(name: &str) -> Result<EnvelopeChoice, String> {
    if name == "none" {
        return Ok(EnvelopeChoice(None));
    }
    EnvelopeStyle::from_name(name)
        .map(|s| EnvelopeChoice(Some(s)))
        .ok_or_else(|| {
            let names: Vec<&str> = EnvelopeStyle::ALL.iter().map(|s| s.name()).collect();
            format!("unknown envelope; use one of {}, none", names.join(", "))
        })
}

fn header_help() -> String {
    format!(
        "The header in front of each message, instead of detecting it per file. \
         A style with a <PRI> also reads lines without one, and the other way round. \
         Names (aliases after the first) and what each looks like:\n{}",
        HeaderStyle::help_list().trim_end()
    )
}

impl FormatArgs {
    /// How these flags read lines, for the pipeline.
    pub fn reading<'f>(&self, formats: &'f Formats) -> Reading<'f> {
        Reading {
            formats,
            header: self.header,
            envelope: self.envelope.map(|c| c.0),
            max_line: self.max_line_length,
        }
    }

    /// Where `--haproxy-config` captures the `grpc-status` response header
    /// (1-based), if it does.
    pub fn grpc_status_capture(&self) -> Result<Option<usize>, String> {
        match &self.haproxy_config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("--haproxy-config {}: {e}", path.display()))?;
                Ok(config::grpc_status_capture(&text))
            }
            None => Ok(None),
        }
    }

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

/// A closed pipe (`| head`) is a normal end; any other write error is not.
pub fn write_failed(e: io::Error) -> Result<i32, String> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(0)
    } else {
        Err(format!("cannot write output: {e}"))
    }
}

/// The line of a clap error that names the bad flag or value, without
/// clap's "error: " and usage tips, which would bury it.
pub fn clap_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}
