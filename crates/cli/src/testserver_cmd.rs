//! `haplog testserver`: the demo TTS service, for trying `haplog load`.

use std::time::Duration;

use clap::Args;
use haplog_load::status::parse_code;
use haplog_load::testserver::{serve, ServerConfig};
use haplog_load::units::{parse_bytes, parse_go_duration};

/// Serve a TTS-like gRPC service to load-test: `haplog.demo.Tts`.
///
/// Methods (all take a SpeakRequest with a `text` field):
///   Speak       unary: the whole WAV in one response
///   SpeakWav    server streaming: the WAV in --chunks chunks
///   SpeakBatch  client streaming: many texts in, one WAV out
///   SpeakLive   bidi: one chunk back for every text sent
///
/// Server reflection is on, so `haplog load` needs no --proto:
///
///   haplog testserver --listen 127.0.0.1:50051 --latency 300ms --chunk-interval 50ms &
///   haplog load --insecure --call haplog.demo.Tts/SpeakWav -d '{"text":"hi"}' \
///       -n 100 --rps 20 --async 127.0.0.1:50051
///
/// A text "error:CODE" (e.g. {"text":"error:unavailable"}) makes that call
/// fail with the code; --error-rate fails a share of calls at random.
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct TestServerArgs {
    /// Address to listen on (port 0 picks a free port, printed on stderr)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50051")]
    listen: String,

    /// Wait this long before the response or the first chunk
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = parse_go_duration)]
    latency: Duration,

    /// Add up to this much more wait, at random
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = parse_go_duration)]
    jitter: Duration,

    /// Chunks per SpeakWav stream
    #[arg(long, value_name = "N", default_value_t = 10)]
    chunks: u32,

    /// Bytes of audio per chunk (the first starts with the 44-byte WAV header)
    #[arg(long = "chunk-size", value_name = "SIZE", default_value = "3200", value_parser = parse_bytes)]
    chunk_size: u64,

    /// Pause between chunks
    #[arg(long = "chunk-interval", value_name = "DURATION", default_value = "0", value_parser = parse_go_duration)]
    chunk_interval: Duration,

    /// Share of calls (0 to 1) that fail with --error-code
    #[arg(long = "error-rate", value_name = "FRACTION", default_value_t = 0.0)]
    error_rate: f64,

    /// gRPC status of injected failures (name or number)
    #[arg(
        long = "error-code",
        value_name = "CODE",
        default_value = "unavailable"
    )]
    error_code: String,

    /// HTTP/2 streams a connection may have open at once
    #[arg(long = "max-concurrent-streams", value_name = "N")]
    max_concurrent_streams: Option<u32>,

    /// Name sent back in the x-served-by header
    #[arg(long, value_name = "NAME", default_value = "testserver")]
    name: String,

    /// Serve TLS with this PEM certificate (chain), with --tls-key
    #[arg(long = "tls-cert", value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,

    /// The PEM private key of --tls-cert
    #[arg(long = "tls-key", value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
}

pub fn run(args: TestServerArgs) -> i32 {
    if !(0.0..=1.0).contains(&args.error_rate) {
        eprintln!("haplog testserver: --error-rate must be between 0 and 1");
        return 2;
    }
    let Some(error_code) = parse_code(&args.error_code) else {
        eprintln!(
            "haplog testserver: --error-code {:?} is not a gRPC status (e.g. unavailable, 14)",
            args.error_code
        );
        return 2;
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let read = |p: &std::path::PathBuf, flag: &str| {
                std::fs::read(p).map_err(|e| format!("{flag} {}: {e}", p.display()))
            };
            match (read(cert, "--tls-cert"), read(key, "--tls-key")) {
                (Ok(c), Ok(k)) => Some((c, k)),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("haplog testserver: {e}");
                    return 2;
                }
            }
        }
        _ => None,
    };
    let config = ServerConfig {
        tls,
        latency: args.latency,
        jitter: args.jitter,
        chunk_interval: args.chunk_interval,
        chunks: args.chunks,
        chunk_size: args.chunk_size as usize,
        error_rate: args.error_rate,
        error_code,
        max_concurrent_streams: args.max_concurrent_streams,
        name: args.name,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("haplog testserver: cannot start the runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(&args.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("haplog testserver: --listen {}: {e}", args.listen);
                return 2;
            }
        };
        if let Ok(addr) = listener.local_addr() {
            let tls = if config.tls.is_some() {
                " over TLS"
            } else {
                ""
            };
            eprintln!("haplog testserver: serving haplog.demo.Tts{tls} on {addr}");
        }
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match serve(listener, config, shutdown).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("haplog testserver: {e}");
                1
            }
        }
    })
}
