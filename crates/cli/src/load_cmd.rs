//! `haplog load`: ghz's command line, on haplog's engine.

use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use std::ffi::OsString;

use clap::{Args, FromArgMatches, ValueEnum};
use haplog_load::config::Given;
use haplog_load::connect::{ConnectOptions, LbStrategy};
use haplog_load::data::{DataInput, Metadata, Payload, TemplateOptions};
use haplog_load::report::{self, Echo, ReportSettings};
use haplog_load::run::{self, DurationStop, RunOptions, StreamOptions};
use haplog_load::schedule::{Schedule, Workers, MAX_WORKERS};
use haplog_load::schema;
use haplog_load::session::{self, Hooks, Progress, ProxyLog, SchemaSource, Session, SessionError};
use haplog_load::slo;
use haplog_load::units::{parse_bytes, parse_go_duration};
use haplog_load::LoadError;

use crate::common::{write_failed, FormatArgs};
use haplog_analyze::spec::parse_offset;

/// Load-test a gRPC service: ghz's command line, open-loop and honest.
///
/// Any ghz command line works with `haplog load` in place of `ghz`:
///
///   haplog load --insecure --async --proto ng_tts.proto \
///       --call maum.brain.tts.NgTtsService/SpeakWav \
///       -B ./TtsRequest.bin -n 100 --rps 2 HOST:50051
///
/// The schema comes from --proto (compiled at run time), --protoset, or the
/// server's reflection service when neither is given. Calls start on a
/// schedule (--rps, --load-schedule) and are measured both from their
/// actual send, as ghz does, and from their intended start, so a stalled
/// server cannot hide its queueing. The summary keeps ghz's layout and
/// numbers and adds time to first message, messages and bytes per stream,
/// and the generator's own dispatch lag. Through HAProxy, --haproxy-log
/// adds the proxy's side of the same run: requests per server, termination
/// states in words, and HAProxy's Tw/Tc/Tr/Ta next to the client's times.
///
/// Try it on the demo service:
///
///   haplog testserver --listen 127.0.0.1:50051 &
///   haplog load --insecure --call haplog.demo.Tts/SpeakWav \
///       -d '{"text":"hello"}' -n 200 --rps 50 127.0.0.1:50051
///
/// Exit status: 0 when the run completed (whatever the calls returned, as
/// ghz), 2 for a bad flag, schema or data, 1 when the report cannot be
/// written.
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct LoadArgs {
    /// The server: host:port
    #[arg(value_name = "HOST", required_unless_present_any = ["encode", "config"])]
    host: Option<String>,

    /// Read settings from ghz's JSON, TOML or YAML config file: keys are
    /// the long flag names (total, concurrency, call, host, data, ...);
    /// flags given on the command line win
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    // --- Schema and method ---
    /// The method to call: package.Service/Method or package.Service.Method
    #[arg(
        long,
        value_name = "METHOD",
        required_unless_present = "config",
        help_heading = "Schema"
    )]
    call: Option<String>,

    /// The .proto file that defines the service, compiled at run time
    #[arg(long, value_name = "FILE", help_heading = "Schema")]
    proto: Option<PathBuf>,

    /// A compiled descriptor set (protoc --descriptor_set_out)
    #[arg(long, value_name = "FILE", help_heading = "Schema")]
    protoset: Option<PathBuf>,

    /// Import paths for --proto, comma separated (after the file's own
    /// directory and ".")
    #[arg(
        short = 'i',
        long = "import-paths",
        value_name = "PATHS",
        value_delimiter = ',',
        help_heading = "Schema"
    )]
    import_paths: Vec<PathBuf>,

    /// Metadata sent with the reflection request only (JSON object)
    #[arg(
        long = "reflect-metadata",
        value_name = "JSON",
        help_heading = "Schema"
    )]
    reflect_metadata: Option<String>,

    // --- Data ---
    /// Request data as JSON: an object, or an array (round-robin for unary
    /// and server streaming, one stream for client streaming and bidi);
    /// `@` reads standard input. Go-template actions like
    /// {{.RequestNumber}} are rendered per call.
    #[arg(short = 'd', long, value_name = "JSON", help_heading = "Data")]
    data: Option<String>,

    /// Request data from a JSON file
    #[arg(
        short = 'D',
        long = "data-file",
        value_name = "FILE",
        help_heading = "Data"
    )]
    data_file: Option<PathBuf>,

    /// Request data as serialized protobuf from standard input
    #[arg(short = 'b', long, help_heading = "Data")]
    binary: bool,

    /// Request data as serialized protobuf from a file: one message, or
    /// varint-length-delimited messages (ghz's rule)
    #[arg(
        short = 'B',
        long = "binary-file",
        value_name = "FILE",
        help_heading = "Data"
    )]
    binary_file: Option<PathBuf>,

    /// Request metadata as a JSON object of strings, rendered per call
    #[arg(short = 'm', long, value_name = "JSON", help_heading = "Data")]
    metadata: Option<String>,

    /// Request metadata from a JSON file
    #[arg(
        short = 'M',
        long = "metadata-file",
        value_name = "FILE",
        help_heading = "Data"
    )]
    metadata_file: Option<PathBuf>,

    /// Send -d and -m as they are, with no template rendering
    #[arg(long = "disable-template-data", help_heading = "Data")]
    disable_template_data: bool,

    /// Refuse template functions (newUUID, randomString, randomInt)
    #[arg(long = "disable-template-functions", help_heading = "Data")]
    disable_template_functions: bool,

    // --- Load ---
    /// Number of calls
    #[arg(
        short = 'n',
        long,
        value_name = "N",
        default_value_t = 200,
        help_heading = "Load"
    )]
    total: u64,

    /// Workers taking calls; without --async, the most calls in flight
    #[arg(
        short = 'c',
        long,
        value_name = "N",
        default_value_t = 50,
        help_heading = "Load"
    )]
    concurrency: usize,

    /// Calls per second for the whole run (0: as fast as the workers go)
    #[arg(
        short = 'r',
        long,
        value_name = "RATE",
        default_value_t = 0.0,
        help_heading = "Load"
    )]
    rps: f64,

    /// Start each call on schedule without waiting for earlier ones (no
    /// limit on calls in flight)
    #[arg(long = "async", help_heading = "Load")]
    async_mode: bool,

    /// Run for this long instead of -n calls (e.g. 30s)
    #[arg(short = 'z', long, value_name = "DURATION", value_parser = parse_go_duration, help_heading = "Load")]
    duration: Option<Duration>,

    /// Stop at -n calls or after this long, whichever comes first
    #[arg(short = 'x', long = "max-duration", value_name = "DURATION", value_parser = parse_go_duration, help_heading = "Load")]
    max_duration: Option<Duration>,

    /// What -z does with calls still running: close (they fail as
    /// Canceled), wait (let them finish), ignore (leave them out)
    #[arg(
        long = "duration-stop",
        value_name = "MODE",
        default_value = "close",
        help_heading = "Load"
    )]
    duration_stop: StopMode,

    /// Per-call deadline, sent as grpc-timeout; it covers a whole stream
    /// (0: none)
    #[arg(short = 't', long, value_name = "DURATION", default_value = "20s", value_parser = parse_go_duration, help_heading = "Load")]
    timeout: Duration,

    /// Rate schedule: const (--rps), step or line
    #[arg(
        long = "load-schedule",
        value_name = "KIND",
        default_value = "const",
        help_heading = "Load"
    )]
    load_schedule: ScheduleKind,

    /// Starting rate of a step or line schedule
    #[arg(
        long = "load-start",
        value_name = "RATE",
        default_value_t = 0.0,
        help_heading = "Load"
    )]
    load_start: f64,

    /// Final rate of a step or line schedule (0 with a ramp down ends the run)
    #[arg(
        long = "load-end",
        value_name = "RATE",
        default_value_t = 0.0,
        help_heading = "Load"
    )]
    load_end: f64,

    /// Rate change per step (step) or per second (line)
    #[arg(
        long = "load-step",
        value_name = "RATE",
        default_value_t = 0.0,
        allow_hyphen_values = true,
        help_heading = "Load"
    )]
    load_step: f64,

    /// How long each step lasts
    #[arg(long = "load-step-duration", value_name = "DURATION", value_parser = parse_go_duration, help_heading = "Load")]
    load_step_duration: Option<Duration>,

    /// End the ramp after this long, then hold --load-end
    #[arg(long = "load-max-duration", value_name = "DURATION", value_parser = parse_go_duration, help_heading = "Load")]
    load_max_duration: Option<Duration>,

    /// Worker schedule: const (-c), step or line (workers added or removed
    /// over time; a removed worker stops after its current call)
    #[arg(
        long = "concurrency-schedule",
        value_name = "KIND",
        default_value = "const",
        help_heading = "Load"
    )]
    concurrency_schedule: ScheduleKind,

    /// Starting workers of a step or line worker schedule
    #[arg(
        long = "concurrency-start",
        value_name = "N",
        default_value_t = 0,
        help_heading = "Load"
    )]
    concurrency_start: usize,

    /// Final workers of a step or line worker schedule
    #[arg(
        long = "concurrency-end",
        value_name = "N",
        default_value_t = 0,
        help_heading = "Load"
    )]
    concurrency_end: usize,

    /// Workers added per step (negative: removed)
    #[arg(
        long = "concurrency-step",
        value_name = "N",
        default_value_t = 1,
        allow_hyphen_values = true,
        help_heading = "Load"
    )]
    concurrency_step: i64,

    /// How long each worker step lasts
    #[arg(long = "concurrency-step-duration", value_name = "DURATION", value_parser = parse_go_duration, help_heading = "Load")]
    concurrency_step_duration: Option<Duration>,

    /// End the worker ramp after this long, then hold --concurrency-end
    #[arg(long = "concurrency-max-duration", value_name = "DURATION", value_parser = parse_go_duration, help_heading = "Load")]
    concurrency_max_duration: Option<Duration>,

    /// Worker threads of the generator (default: all cores)
    #[arg(long, value_name = "N", help_heading = "Load")]
    cpus: Option<usize>,

    /// Leave the first N finished calls out of every figure
    #[arg(
        long = "skipFirst",
        value_name = "N",
        default_value_t = 0,
        help_heading = "Load"
    )]
    skip_first: usize,

    /// Count failed calls in fastest, slowest, histogram and percentiles
    #[arg(long = "count-errors", help_heading = "Load")]
    count_errors: bool,

    /// Objectives the run must meet, checked at its end: METRIC<VALUE,
    /// comma-separated. Metrics: p50, p90, p95, p99, p99.9, max (latency
    /// from the send), the same as ttfm_p95 (time to first message) and
    /// intended_p99 (from the intended start), error_rate (1% or 0.01),
    /// rps. A verdict line goes to stderr and into the report; a missed
    /// objective exits 99 (as k6's thresholds). Example:
    /// --slo 'p99<500ms,error_rate<1%,ttfm_p95<300ms'
    #[arg(long, value_name = "LIST", help_heading = "Beyond ghz")]
    slo: Option<String>,

    /// Write the request data (-d or -D) as protobuf bytes to stdout and
    /// exit, for -b and -B: each message length-delimited, as -B reads
    /// them (one or an array). Needs --proto or --protoset;
    /// no HOST. Example: haplog load --encode --proto x.proto --call
    /// pkg.Svc/Call -d '{"text":"hi"}' > req.bin
    #[arg(long, help_heading = "Beyond ghz")]
    encode: bool,

    // --- Streaming ---
    /// Pause between messages sent on client and bidi streams
    #[arg(long = "stream-interval", value_name = "DURATION", value_parser = parse_go_duration, help_heading = "Streaming")]
    stream_interval: Option<Duration>,

    /// Client/bidi: stop sending after this long; server streaming: cancel
    /// the call after this long
    #[arg(long = "stream-call-duration", value_name = "DURATION", value_parser = parse_go_duration, help_heading = "Streaming")]
    stream_call_duration: Option<Duration>,

    /// Client/bidi: send this many messages; server streaming: cancel after
    /// receiving this many
    #[arg(
        long = "stream-call-count",
        value_name = "N",
        help_heading = "Streaming"
    )]
    stream_call_count: Option<u64>,

    /// Client/bidi: render the data's template for each message as it is
    /// sent (fresh timestamps and random values; an array's elements one
    /// by one), not once per call
    #[arg(long = "stream-dynamic-messages", help_heading = "Streaming")]
    stream_dynamic_messages: bool,

    // --- Connection ---
    /// Plaintext HTTP/2 (h2c) instead of TLS
    #[arg(long, help_heading = "Connection")]
    insecure: bool,

    /// PEM file of the CA that signed the server's certificate
    #[arg(long, value_name = "FILE", help_heading = "Connection")]
    cacert: Option<PathBuf>,

    /// Client certificate (PEM), with --key
    #[arg(long, value_name = "FILE", help_heading = "Connection")]
    cert: Option<PathBuf>,

    /// Client private key (PEM), with --cert
    #[arg(long, value_name = "FILE", help_heading = "Connection")]
    key: Option<PathBuf>,

    /// The server name to check the certificate against
    #[arg(long, value_name = "NAME", help_heading = "Connection")]
    cname: Option<String>,

    /// Do not verify the server's certificate
    #[arg(long = "skipTLS", help_heading = "Connection")]
    skip_tls: bool,

    /// The :authority header to send
    #[arg(long, value_name = "AUTHORITY", help_heading = "Connection")]
    authority: Option<String>,

    /// HTTP/2 connections; worker i uses connection i mod N
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        help_heading = "Connection"
    )]
    connections: usize,

    /// Client-side load balancing over the addresses of a dns:///NAME:PORT
    /// target: pick_first (grpc-go's default: the first address) or
    /// round_robin (each call on the next address)
    #[arg(
        long = "lb-strategy",
        value_name = "POLICY",
        help_heading = "Connection"
    )]
    lb_strategy: Option<String>,

    /// Connect timeout
    #[arg(long = "connect-timeout", value_name = "DURATION", default_value = "10s", value_parser = parse_go_duration, help_heading = "Connection")]
    connect_timeout: Duration,

    /// HTTP/2 keepalive ping interval (and timeout)
    #[arg(long, value_name = "DURATION", value_parser = parse_go_duration, help_heading = "Connection")]
    keepalive: Option<Duration>,

    /// gzip requests and accept gzip responses
    #[arg(short = 'e', long = "enable-compression", help_heading = "Connection")]
    enable_compression: bool,

    /// Largest response message accepted (e.g. 42 MB; default unlimited)
    #[arg(long = "max-recv-message-size", value_name = "SIZE", value_parser = parse_bytes, help_heading = "Connection")]
    max_recv_message_size: Option<u64>,

    /// Largest request message sent (default unlimited)
    #[arg(long = "max-send-message-size", value_name = "SIZE", value_parser = parse_bytes, help_heading = "Connection")]
    max_send_message_size: Option<u64>,

    // --- Output ---
    /// Report format: summary, csv, json, pretty, html, influx-summary,
    /// influx-details, prometheus (ghz's formats)
    #[arg(
        short = 'O',
        long = "format",
        value_name = "FORMAT",
        default_value = "summary",
        help_heading = "Output"
    )]
    format: OutputFormat,

    /// Write the report to this file instead of standard output
    #[arg(short = 'o', long, value_name = "FILE", help_heading = "Output")]
    output: Option<PathBuf>,

    /// A name for the run, shown in the report
    #[arg(long, value_name = "NAME", help_heading = "Output")]
    name: Option<String>,

    /// Tags for the JSON report: a JSON object of strings
    #[arg(long, value_name = "JSON", help_heading = "Output")]
    tags: Option<String>,

    /// No progress line on stderr
    #[arg(long, help_heading = "Output")]
    quiet: bool,

    // --- HAProxy ---
    /// After the run, read this HAProxy log and add the proxy's side: the
    /// run's requests per server, their termination states in words, and
    /// HAProxy's Tw/Tc/Tr/Ta next to the client's own times
    #[arg(long = "haproxy-log", value_name = "FILE", help_heading = "HAProxy")]
    haproxy_log: Option<PathBuf>,

    /// Send each call's id in this header (RUN-N: a random run id, the
    /// call's number). Where HAProxy captures it ('capture request header
    /// x-request-id len 32'), --haproxy-log matches calls to lines one by
    /// one; else by method and time window. "" sends none
    #[arg(
        long = "request-id-header",
        value_name = "NAME",
        default_value = "x-request-id",
        help_heading = "HAProxy"
    )]
    request_id_header: String,

    /// Wait up to this long for the run's last lines to reach the log
    #[arg(long = "haproxy-log-wait", value_name = "DURATION", default_value = "2s", value_parser = parse_go_duration, help_heading = "HAProxy")]
    haproxy_log_wait: Duration,

    /// The zone of log dates written without one: local, UTC, or an offset
    /// like +0200
    #[arg(
        long = "utc-offset",
        value_name = "ZONE",
        default_value = "local",
        help_heading = "HAProxy"
    )]
    utc_offset: String,

    #[command(flatten, next_help_heading = "HAProxy")]
    log_format: FormatArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum StopMode {
    Close,
    Wait,
    Ignore,
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
enum ScheduleKind {
    Const,
    Step,
    Line,
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
enum OutputFormat {
    Summary,
    Csv,
    Json,
    Pretty,
    /// InfluxDB line protocol: one `ghz_run` line.
    InfluxSummary,
    /// InfluxDB line protocol: a `ghz_detail` line per call.
    InfluxDetails,
    /// Prometheus' text format: ghz's `ghz_run_*` metrics.
    Prometheus,
    /// One self-contained HTML page: ghz's sections, no network needed.
    Html,
}

impl LoadArgs {
    /// The method; present once the config file is merged (checked first).
    fn call(&self) -> &str {
        self.call.as_deref().unwrap_or_default()
    }
}

/// `--config FILE`: the file's settings become arguments placed before
/// the command line's own (`argv` after `haplog load`), and the whole is
/// parsed again with later flags overriding earlier ones, so the command
/// line wins as in ghz.
pub fn with_config(args: LoadArgs, argv: &[OsString]) -> Result<LoadArgs, i32> {
    let Some(path) = &args.config else {
        return Ok(args);
    };
    let given = Given {
        host: args.host.is_some(),
        data: args.data.is_some()
            || args.data_file.is_some()
            || args.binary
            || args.binary_file.is_some(),
        metadata: args.metadata.is_some() || args.metadata_file.is_some(),
    };
    let from_file = match haplog_load::config::arguments(path, given) {
        Ok(from_file) => from_file,
        Err(e) => {
            eprintln!("haplog load: {e}");
            return Err(2);
        }
    };
    for note in &from_file.notes {
        eprintln!("haplog load: {note}");
    }
    let command = LoadArgs::augment_args(clap::Command::new("haplog load"))
        .args_override_self(true)
        .no_binary_name(true);
    let merged = from_file
        .args
        .iter()
        .map(OsString::from)
        .chain(argv.iter().cloned());
    let parsed = command
        .try_get_matches_from(merged)
        .and_then(|matches| LoadArgs::from_arg_matches(&matches));
    match parsed {
        Ok(merged) if merged.call.is_none() => {
            eprintln!(
                "haplog load: no method to call: give --call, or \"call\" in {}",
                path.display()
            );
            Err(2)
        }
        Ok(merged) if merged.host.is_none() && !merged.encode => {
            eprintln!(
                "haplog load: no server: give HOST, or \"host\" in {}",
                path.display()
            );
            Err(2)
        }
        Ok(merged) => Ok(merged),
        Err(e) => {
            eprintln!(
                "haplog load: {} (with the settings of --config {})",
                crate::common::clap_error_line(&e),
                path.display()
            );
            Err(2)
        }
    }
}

impl ScheduleKind {
    fn name(self) -> &'static str {
        match self {
            ScheduleKind::Const => "const",
            ScheduleKind::Step => "step",
            ScheduleKind::Line => "line",
        }
    }
}

pub fn run(args: LoadArgs) -> i32 {
    match prepare_and_run(args) {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            eprintln!("haplog load: {message}");
            2
        }
        Err(Failure::Output(message) | Failure::Run(message)) => {
            eprintln!("haplog load: {message}");
            1
        }
        Err(Failure::Interrupted) => {
            eprintln!("haplog load: interrupted before the run started");
            130
        }
    }
}

enum Failure {
    /// A bad flag, file or value: exit 2.
    Usage(String),
    /// The report could not be written: exit 1.
    Output(String),
    /// The run could not start against the server: exit 1, as ghz.
    Run(String),
    /// Ctrl-C before the run started: exit 130, as a shell reports SIGINT.
    Interrupted,
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Self {
        if e.is_run_error() {
            Failure::Run(e.to_string())
        } else {
            Failure::Usage(e.to_string())
        }
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure::Usage(message.into())
}

fn read_file(path: &PathBuf, flag: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| usage(format!("{flag} {}: {e}", path.display())))
}

fn read_stdin(flag: &str) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| usage(format!("{flag}: cannot read standard input: {e}")))?;
    Ok(bytes)
}

fn text(bytes: Vec<u8>, flag: &str) -> Result<String, Failure> {
    String::from_utf8(bytes).map_err(|_| usage(format!("{flag}: not UTF-8 text")))
}

fn data_input(args: &LoadArgs) -> Result<DataInput, Failure> {
    let given = [
        args.data.is_some(),
        args.data_file.is_some(),
        args.binary,
        args.binary_file.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(usage("give request data once: -d, -D, -b or -B"));
    }
    Ok(if let Some(data) = &args.data {
        let text = if data == "@" {
            text(read_stdin("-d @")?, "-d @")?
        } else {
            data.clone()
        };
        DataInput::Json { flag: "-d", text }
    } else if let Some(path) = &args.data_file {
        DataInput::Json {
            flag: "-D",
            text: text(read_file(path, "-D")?, "-D")?,
        }
    } else if args.binary {
        DataInput::Binary {
            flag: "-b",
            bytes: read_stdin("-b")?,
        }
    } else if let Some(path) = &args.binary_file {
        DataInput::Binary {
            flag: "-B",
            bytes: read_file(path, "-B")?,
        }
    } else {
        DataInput::None
    })
}

fn schedule(args: &LoadArgs) -> Result<Schedule, Failure> {
    if args.rps < 0.0 {
        return Err(usage("--rps cannot be negative"));
    }
    match args.load_schedule {
        ScheduleKind::Const => Ok(Schedule::constant(args.rps)),
        kind => {
            let every = match kind {
                ScheduleKind::Line => Duration::from_secs(1),
                _ => args
                    .load_step_duration
                    .ok_or_else(|| usage("--load-schedule step needs --load-step-duration"))?,
            };
            Schedule::step(
                args.load_start,
                args.load_step,
                every,
                args.load_end,
                args.load_max_duration,
            )
            .map_err(|e| usage(format!("--load-schedule {}: {e}", kind.name())))
        }
    }
}

fn workers(args: &LoadArgs) -> Result<Workers, Failure> {
    match args.concurrency_schedule {
        ScheduleKind::Const => Ok(Workers::constant(args.concurrency)),
        kind => {
            let every = match kind {
                ScheduleKind::Line => Duration::from_secs(1),
                _ => args.concurrency_step_duration.ok_or_else(|| {
                    usage("--concurrency-schedule step needs --concurrency-step-duration")
                })?,
            };
            Workers::step(
                args.concurrency_start,
                args.concurrency_step,
                every,
                args.concurrency_end,
                args.concurrency_max_duration,
            )
            .map_err(|e| usage(format!("--concurrency-schedule {}: {e}", kind.name())))
        }
    }
}

fn string_map(text: &str, flag: &str) -> Result<Vec<(String, String)>, Failure> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| usage(format!("{flag}: not JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| usage(format!("{flag}: expected a JSON object of strings")))?;
    object
        .iter()
        .map(|(k, v)| {
            v.as_str()
                .map(|s| (k.clone(), s.to_string()))
                .ok_or_else(|| usage(format!("{flag}: the value of {k:?} is not a string")))
        })
        .collect()
}

/// `--encode`: the request data as bytes for -b/-B.
fn encode(args: &LoadArgs) -> Result<i32, Failure> {
    let pool = if let Some(proto) = &args.proto {
        schema::pool_from_proto(proto, &args.import_paths)?
    } else if let Some(protoset) = &args.protoset {
        schema::pool_from_protoset(protoset)?
    } else {
        return Err(usage(
            "--encode needs the schema: give --proto or --protoset",
        ));
    };
    let method = schema::find_method(&pool, args.call())?;
    let data = data_input(args)?;
    if !matches!(data, DataInput::Json { .. }) {
        return Err(usage(
            "--encode turns JSON request data into bytes: give -d or -D",
        ));
    }
    let payload = Payload::new(data, &method, TemplateOptions::default())?;
    let messages = payload.fixed().ok_or_else(|| {
        usage("--encode: the data holds templates, which change per call; give plain JSON")
    })?;
    let bytes = haplog_load::data::delimited(messages);
    let mut out = io::stdout().lock();
    match out.write_all(&bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) => write_failed(e).map_err(Failure::Output),
    }
}

fn prepare_and_run(mut args: LoadArgs) -> Result<i32, Failure> {
    if args.encode {
        return encode(&args);
    }
    let host = args.host.clone().unwrap_or_default();
    if args.concurrency == 0 {
        return Err(usage("-c must be at least 1"));
    }
    // ghz reads 0 as no limit.
    for limit in [&mut args.duration, &mut args.max_duration] {
        if *limit == Some(Duration::ZERO) {
            *limit = None;
        }
    }
    if !args.rps.is_finite() {
        return Err(usage(format!(
            "--rps {}: not a rate; give calls per second, 0 for as fast as the workers go",
            args.rps
        )));
    }
    let objectives = args.slo.as_deref().map(slo::parse).transpose()?;
    let mut workers = workers(&args)?;
    let ends_at_n = args.duration.is_none() && args.max_duration.is_none();
    if ends_at_n && args.concurrency_schedule == ScheduleKind::Const {
        // More workers than calls would only wait: -n 10 -c 1000000 runs
        // 10 workers (the report still says -c as given).
        let needed = usize::try_from(args.total).unwrap_or(usize::MAX).max(1);
        workers = Workers::constant(args.concurrency.min(needed));
    }
    if workers.windows.len() > MAX_WORKERS {
        return Err(usage(format!(
            "-c {}: at most {MAX_WORKERS} workers (each holds a call in flight)",
            args.concurrency
        )));
    }
    if args.connections == 0 || args.connections > args.concurrency.max(workers.most()) {
        return Err(usage(
            "--connections must be between 1 and the concurrency (-c)",
        ));
    }
    if args.duration.is_none() && args.skip_first as u64 > args.total {
        return Err(usage("--skipFirst cannot be more than -n"));
    }
    let schedule = schedule(&args)?;
    let data = data_input(&args)?;
    if args.stream_dynamic_messages && matches!(data, DataInput::Binary { .. }) {
        return Err(usage(
            "--stream-dynamic-messages renders JSON templates per message; binary data (-b, -B) has none",
        ));
    }
    let proxy_log = match &args.haproxy_log {
        Some(path) => {
            if !path.is_file() {
                return Err(usage(format!(
                    "--haproxy-log {}: no such file",
                    path.display()
                )));
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            Some(ProxyLog {
                path: path.clone(),
                offset_minutes: parse_offset(&args.utc_offset, now).map_err(usage)?,
                formats: args.log_format.formats("load", false).map_err(usage)?,
                grpc_status_capture: args.log_format.grpc_status_capture().map_err(usage)?,
                wait: args.haproxy_log_wait,
            })
        }
        None => None,
    };
    let templates = TemplateOptions {
        disable_data: args.disable_template_data,
        disable_functions: args.disable_template_functions || args.disable_template_data,
    };
    let metadata_text = match (&args.metadata, &args.metadata_file) {
        (Some(_), Some(_)) => return Err(usage("give metadata once: -m or -M")),
        (Some(text), None) => Some(("-m", text.clone())),
        (None, Some(path)) => Some(("-M", text(read_file(path, "-M")?, "-M")?)),
        (None, None) => None,
    };
    let metadata = match &metadata_text {
        Some((flag, text)) => Metadata::new(flag, text, templates)?,
        None => Metadata::none(),
    };
    let tags = match &args.tags {
        Some(text) => string_map(text, "--tags")?,
        None => Vec::new(),
    };
    let schema_source = if let Some(proto) = &args.proto {
        SchemaSource::Proto {
            path: proto.clone(),
            import_paths: args.import_paths.clone(),
        }
    } else if let Some(protoset) = &args.protoset {
        SchemaSource::Protoset(protoset.clone())
    } else {
        SchemaSource::Reflection(match &args.reflect_metadata {
            Some(text) => {
                let value: serde_json::Value = serde_json::from_str(text)
                    .map_err(|e| usage(format!("--reflect-metadata: not JSON: {e}")))?;
                haplog_load::data::metadata_map(&value)
                    .map_err(|e| usage(format!("--reflect-metadata: {e}")))?
            }
            None => tonic::metadata::MetadataMap::new(),
        })
    };
    let lb_strategy = match &args.lb_strategy {
        Some(name) => {
            if haplog_load::connect::dns_name(&host).is_none() {
                // As ghz warns: one address leaves nothing to balance.
                eprintln!(
                    "haplog load: --lb-strategy {name} without a dns:/// target ({host}): one address, nothing to balance"
                );
            }
            LbStrategy::parse(name)?
        }
        None => LbStrategy::default(),
    };
    let connect = ConnectOptions {
        target: host.clone(),
        insecure: args.insecure,
        cacert: args.cacert.clone(),
        cert: args.cert.clone(),
        key: args.key.clone(),
        cname: args.cname.clone(),
        skip_tls_verify: args.skip_tls,
        authority: args.authority.clone(),
        connect_timeout: Some(args.connect_timeout),
        keepalive: args.keepalive,
        connections: args.connections,
        lb_strategy,
    };
    let cpus = args
        .cpus
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let request_ids = if args.request_id_header.is_empty() {
        None
    } else {
        Some(
            run::RequestIds::new(&args.request_id_header)
                .map_err(|e| usage(format!("--request-id-header: {e}")))?,
        )
    };
    let max = |size: Option<u64>| size.map_or(usize::MAX, |s| s.min(usize::MAX as u64) as usize);
    let options = RunOptions {
        total: if args.duration.is_some() {
            None
        } else {
            Some(args.total)
        },
        workers,
        schedule,
        async_mode: args.async_mode,
        duration: args.duration.or(args.max_duration),
        duration_stop: match args.duration_stop {
            StopMode::Close => DurationStop::Close,
            StopMode::Wait => DurationStop::Wait,
            StopMode::Ignore => DurationStop::Ignore,
        },
        timeout: Some(args.timeout),
        stream: StreamOptions {
            interval: args.stream_interval,
            call_duration: args.stream_call_duration,
            call_count: args.stream_call_count,
            dynamic_messages: args.stream_dynamic_messages,
        },
        name: args.name.clone(),
        compression: args.enable_compression,
        max_receive: max(args.max_recv_message_size),
        max_send: max(args.max_send_message_size),
        keep: report::MAX_DETAILS.saturating_add(args.skip_first),
        request_ids,
        observer: None,
    };
    let session = Session {
        call: args.call().to_string(),
        schema: schema_source,
        data,
        templates,
        metadata,
        connect,
        cpus,
        run: options,
        report: ReportSettings {
            name: args.name.clone(),
            skip_first: args.skip_first,
            count_errors: args.count_errors,
            tags,
            echo: echo(&args, cpus),
        },
        proxy_log,
        objectives,
    };
    let progress = (!args.quiet && io::stderr().is_terminal()).then(|| {
        Box::new(|progress: Option<Progress>| match progress {
            Some(p) => eprint!("\r\x1b[Khaplog load: {}", p.line()),
            None => eprint!("\r\x1b[K"),
        }) as Box<dyn FnMut(Option<Progress>) + Send>
    });
    let hooks = Hooks {
        progress,
        note: Box::new(|note| eprintln!("haplog load: {note}")),
    };
    let report = session::run(session, hooks).map_err(|e| match e {
        SessionError::Load(e) => Failure::from(e),
        SessionError::Interrupted => Failure::Interrupted,
    })?;

    let text = match args.format {
        OutputFormat::Summary => report::summary(&report),
        OutputFormat::Csv => report::csv(&report),
        OutputFormat::Json => report::json(&report),
        OutputFormat::Pretty => report::indent(&report::json(&report)),
        OutputFormat::InfluxSummary => haplog_load::influx::summary(&report),
        OutputFormat::InfluxDetails => haplog_load::influx::details(&report),
        OutputFormat::Prometheus => haplog_load::prometheus::text(&report),
        OutputFormat::Html => haplog_load::html::page(&report),
    };
    let written = match &args.output {
        Some(path) => std::fs::write(path, text.as_bytes())
            .map_err(|e| Failure::Output(format!("-o {}: {e}", path.display()))),
        None => {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .or_else(|e| write_failed(e).map(|_| ()).map_err(io::Error::other))
                .map_err(|e| Failure::Output(e.to_string()))
        }
    };
    written?;
    match &report.slo {
        Some(verdict) => {
            eprintln!("haplog load: {}", verdict.line());
            Ok(if verdict.passed() {
                0
            } else {
                slo::EXIT_SLO_FAILED
            })
        }
        None => Ok(0),
    }
}

/// The settings as ghz echoes them; the data and metadata are filled in
/// by the session from the payload.
fn echo(args: &LoadArgs, cpus: usize) -> Echo {
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    Echo {
        call: args.call().to_string(),
        host: args.host.clone().unwrap_or_default(),
        proto: path(&args.proto),
        protoset: path(&args.protoset),
        import_paths: args
            .import_paths
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        enable_compression: args.enable_compression,
        cacert: path(&args.cacert),
        cert: path(&args.cert),
        key: path(&args.key),
        cname: args.cname.clone(),
        skip_tls: args.skip_tls,
        insecure: args.insecure,
        authority: args.authority.clone(),
        rps: args.rps as u64,
        load_schedule: args.load_schedule.name().to_string(),
        load_start: args.load_start as u64,
        load_end: args.load_end as u64,
        load_step: args.load_step as i64,
        load_step_duration: args.load_step_duration.unwrap_or_default(),
        load_max_duration: args.load_max_duration.unwrap_or_default(),
        concurrency: args.concurrency as u64,
        concurrency_schedule: args.concurrency_schedule.name().to_string(),
        concurrency_start: args.concurrency_start as u64,
        concurrency_end: args.concurrency_end as u64,
        concurrency_step: args.concurrency_step,
        concurrency_step_duration: args.concurrency_step_duration.unwrap_or_default(),
        concurrency_max_duration: args.concurrency_max_duration.unwrap_or_default(),
        // ghz sets n to math.MaxInt32 for a -z run, and reports it.
        total: if args.duration.is_some() {
            i32::MAX as u64
        } else {
            args.total
        },
        async_mode: args.async_mode,
        connections: args.connections as u64,
        duration: args.duration.or(args.max_duration).unwrap_or_default(),
        timeout: args.timeout,
        dial_timeout: args.connect_timeout,
        keepalive: args.keepalive.unwrap_or_default(),
        data: None,
        binary: false,
        metadata: None,
        cpus: cpus as u64,
        name: args.name.clone(),
        skip_first: args.skip_first as u64,
        count_errors: args.count_errors,
    }
}
