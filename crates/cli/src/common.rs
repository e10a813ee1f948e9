//! What the subcommands that read log records share: how lines are
//! understood, which inputs to read, and how output ends.

use std::io::{self, IsTerminal};
use std::path::PathBuf;

use clap::Args;
use haplog_analyze::filter::Timer;
use haplog_analyze::spec::FilterSpec;
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

/// The inputs' total size, for a progress line; `None` when one is
/// standard input (or cannot be measured).
pub fn input_bytes(inputs: &[InputSpec]) -> Option<u64> {
    inputs
        .iter()
        .map(|i| match i {
            InputSpec::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            InputSpec::Stdin => None,
        })
        .sum()
}

/// Worker threads: `--threads`, else HAPLOG_THREADS or the CPUs.
pub fn thread_count(threads: Option<u32>) -> usize {
    threads
        .map_or_else(haplog_engine::default_threads, |n| n as usize)
        .max(1)
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

/// The filter flags `report` and `live` share.
#[derive(Args, Debug)]
pub struct FilterArgs {
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
}

fn parse_timer(s: &str) -> Result<Timer, String> {
    Timer::parse(s).ok_or_else(|| "use tt, tr, tw or tc".to_string())
}

impl FilterArgs {
    /// The filter flags, as written.
    pub fn spec(&self) -> FilterSpec {
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

/// SIGINT and SIGTERM noted, not fatal, while an export has a file open:
/// the command ends its work cleanly and exits with 130.
#[cfg(any(feature = "live", feature = "export"))]
pub mod interrupt {
    use std::sync::atomic::{AtomicBool, Ordering};

    static CAUGHT: AtomicBool = AtomicBool::new(false);

    /// Notes the signal, and lets a second one end the process at once
    /// (when the clean end waits, say on a terminal's standard input).
    extern "C" fn note(signal: libc::c_int) {
        CAUGHT.store(true, Ordering::Relaxed);
        // SAFETY: signal(2) is async-signal-safe.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
        }
    }

    pub fn catch() {
        let handler = note as extern "C" fn(libc::c_int);
        // SAFETY: the handler only stores to an atomic and calls
        // signal(2), both async-signal-safe.
        unsafe {
            libc::signal(libc::SIGINT, handler as libc::sighandler_t);
            libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
        }
    }

    pub fn caught() -> bool {
        CAUGHT.load(Ordering::Relaxed)
    }
}
