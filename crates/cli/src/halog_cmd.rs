//! `haplog halog ARGS`, `haplog -srv ...`, or the binary run as `halog`.

use std::ffi::OsString;
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use haplog_engine::{default_threads, InputSpec};
use haplog_halog::{parse, Parsed};

/// Runs a halog command line; returns the exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    let (args, threads) = match take_threads(args) {
        Ok(v) => v,
        Err(msg) => {
            eprintln!("haplog: {msg}");
            return 2;
        }
    };
    let args: Vec<Vec<u8>> = args.into_iter().map(OsStringExt::into_vec).collect();
    let (parsed, consumed) = parse(&args);
    let config = match parsed {
        Parsed::Run(config) => config,
        Parsed::Exit {
            stdout,
            stderr,
            code,
        } => {
            let _ = io::stdout().write_all(stdout.as_bytes());
            let _ = io::stderr().write_all(stderr.as_bytes());
            return code;
        }
    };
    let inputs = inputs_from(&args[..consumed], &args[consumed..]);
    // A named file that cannot be read is a usage error: refuse it before
    // printing anything.
    if let Some(e) = inputs.iter().find_map(|input| input.check().err()) {
        eprintln!("haplog: {e}");
        return 2;
    }

    let stdout = io::stdout().lock();
    let stderr = io::stderr().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let mut err = BufWriter::with_capacity(1 << 14, stderr);
    let result = haplog_halog::run(&config, inputs, threads, &mut out, &mut err);
    let flushed = out.flush().and(err.flush());
    match (result, flushed) {
        (Ok(finished), Ok(())) => {
            // An input that failed part way: its readable lines are in the
            // results above, but the answer is incomplete.
            for e in &finished.input_errors {
                eprintln!("haplog: {e}");
            }
            if finished.input_errors.is_empty() {
                0
            } else {
                2
            }
        }
        (Err(haplog_halog::Error::Output(e)), _) | (Ok(_), Err(e)) => {
            // A reader that went away (`| head`) is a normal end.
            if e.kind() == io::ErrorKind::BrokenPipe {
                0
            } else {
                let _ = err.flush();
                eprintln!("haplog: cannot write output: {e}");
                2
            }
        }
    }
}

/// Removes haplog's own `--threads N` / `--threads=N` (halog would ignore
/// an unknown option, but not its value) and returns the worker count.
fn take_threads(args: Vec<OsString>) -> Result<(Vec<OsString>, usize), String> {
    let mut rest = Vec::with_capacity(args.len());
    let mut threads = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let bytes = arg.as_bytes();
        let value = if bytes == b"--threads" {
            Some(
                it.next()
                    .ok_or("--threads needs a number of worker threads, e.g. --threads 2")?,
            )
        } else {
            bytes
                .strip_prefix(b"--threads=")
                .map(|v| OsString::from_vec(v.to_vec()))
        };
        match value {
            Some(v) => {
                let text = v.to_string_lossy();
                let n: usize = text.trim().parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                    format!(
                        "--threads {text}: expected a whole number of worker threads, 1 or more"
                    )
                })?;
                threads = Some(n);
            }
            None => rest.push(arg),
        }
    }
    Ok((rest, threads.unwrap_or_else(default_threads)))
}

/// Where to read from. halog reads only stdin and ignores every argument
/// after the first that is not an option; haplog reads those as files when
/// they are clearly meant as files: an explicit `--` among the options, or
/// a first argument that exists or looks like a path (has a '/' or '.').
fn inputs_from(options: &[Vec<u8>], rest: &[Vec<u8>]) -> Vec<InputSpec> {
    let explicit = options.iter().any(|a| a == b"--");
    let looks_like_files = rest.first().is_some_and(|first| {
        first.contains(&b'/')
            || first.contains(&b'.')
            || Path::new(std::ffi::OsStr::from_bytes(first)).exists()
    });
    if rest.is_empty() || !(explicit || looks_like_files) {
        return vec![InputSpec::Stdin];
    }
    rest.iter()
        .map(|a| {
            if a == b"-" {
                InputSpec::Stdin
            } else {
                InputSpec::Path(std::ffi::OsStr::from_bytes(a).into())
            }
        })
        .collect()
}
