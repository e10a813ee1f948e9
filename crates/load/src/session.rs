//! A whole load test, from resolved settings to its report: connect, find
//! the schema (a file or server reflection), build the payload, run the
//! calls with a progress report, read HAProxy's side of the same run and
//! judge the objectives. The binary turns flags into a [`Session`] and
//! writes the report out; everything between lives here.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use haplog_format::Formats;
use tonic::metadata::MetadataMap;

use crate::connect::ConnectOptions;
use crate::data::{DataInput, Metadata, Payload, TemplateOptions};
use crate::proxy::{LogTail, ProxySide, Window};
use crate::report::{Echo, Report, ReportSettings};
use crate::run::{self, Live, RunOptions};
use crate::schedule::Schedule;
use crate::{schema, slo, LoadError};

/// Where the service's schema comes from.
#[derive(Clone, Debug)]
pub enum SchemaSource {
    /// `--proto FILE` with its `--import-paths`.
    Proto {
        path: PathBuf,
        import_paths: Vec<PathBuf>,
    },
    /// `--protoset FILE`.
    Protoset(PathBuf),
    /// Server reflection, sending this metadata (`--reflect-metadata`).
    Reflection(MetadataMap),
}

/// The HAProxy log to read the proxy's side of the run from.
#[derive(Clone, Debug)]
pub struct ProxyLog {
    pub path: PathBuf,
    /// The zone of log dates written without one, minutes east of UTC.
    pub offset_minutes: i32,
    pub formats: Formats,
    pub grpc_status_capture: Option<usize>,
    /// How long to wait after the run for its last lines.
    pub wait: Duration,
}

/// A load test with every setting resolved.
pub struct Session {
    /// `package.Service/Method` (or `package.Service.Method`).
    pub call: String,
    pub schema: SchemaSource,
    pub data: DataInput,
    pub templates: TemplateOptions,
    pub metadata: Metadata,
    pub connect: ConnectOptions,
    /// Threads of the runtime that drives the calls.
    pub cpus: usize,
    pub run: RunOptions,
    /// The report's settings; `echo`'s data and metadata are filled in
    /// from the payload.
    pub report: ReportSettings,
    pub proxy_log: Option<ProxyLog>,
    pub objectives: Option<Vec<slo::Objective>>,
}

/// How far a run has come, for a progress line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub completed: u64,
    pub failed: u64,
    pub in_flight: usize,
    /// `-n`, when the run ends after a number of calls.
    pub total: Option<u64>,
    pub elapsed: Duration,
}

impl Progress {
    /// `1200/5000 calls, 3 failed, 50 in flight, 4.2 s`.
    pub fn line(&self) -> String {
        let of = self.total.map(|t| format!("/{t}")).unwrap_or_default();
        format!(
            "{}{of} calls, {} failed, {} in flight, {:.1} s",
            self.completed,
            self.failed,
            self.in_flight,
            self.elapsed.as_secs_f64()
        )
    }
}

/// What the caller hears while a session runs.
pub struct Hooks {
    /// Every 200 ms of the run after its first second; `None` on the run's
    /// end (to clear a progress line).
    pub progress: Option<Box<dyn FnMut(Option<Progress>) + Send>>,
    /// A note about the settings (a template that will not change, a
    /// strategy with nothing to balance).
    pub note: Box<dyn FnMut(&str) + Send>,
}

/// Why a session did not give a report.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Ctrl-C before the run started.
    #[error("interrupted before the run started")]
    Interrupted,
}

/// Runs `session` to its report (with the proxy's side and the verdict
/// when asked for).
pub fn run(session: Session, mut hooks: Hooks) -> Result<Report, SessionError> {
    let Session {
        call,
        schema: source,
        data,
        templates,
        metadata,
        connect,
        cpus,
        run: options,
        report: mut settings,
        proxy_log,
        objectives,
    } = session;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cpus.max(1))
        .enable_all()
        .build()
        .map_err(|e| LoadError::flag("--cpus", format!("cannot start the runtime: {e}")))?;
    let request_id = options
        .request_ids
        .as_ref()
        .map(|ids| (ids.header.as_str().to_string(), ids.prefix().into_bytes()));
    let window_of = |path: Vec<u8>, log: &ProxyLog| Window {
        start_utc_ms: 0,
        end_utc_ms: 0,
        path,
        offset_minutes: log.offset_minutes,
        grpc_status_capture: log.grpc_status_capture,
        request_id: request_id.clone(),
    };
    let paced = options.schedule != Schedule::Unpaced;
    // The method's path as HAProxy logs it, known from --call before the
    // schema is (a bad --call fails here, before anything is sent).
    let method_path = {
        let (service, method) = schema::split_call(&call)?;
        format!("/{service}/{method}").into_bytes()
    };
    // The log's new lines are read from here on: the reflection call's
    // and the run's.
    let tail = match &proxy_log {
        Some(log) => Some((
            LogTail::start(
                &log.path,
                log.formats.clone(),
                &window_of(method_path.clone(), log),
            )
            .map_err(|e| {
                LoadError::flag("--haproxy-log", format!("{}: {e}", log.path.display()))
            })?,
            log,
        )),
        None => None,
    };
    let mut report = runtime.block_on(async {
        let channels = connect.channels()?;
        let pool = match &source {
            SchemaSource::Proto { path, import_paths } => {
                schema::pool_from_proto(path, import_paths)?
            }
            SchemaSource::Protoset(path) => schema::pool_from_protoset(path)?,
            SchemaSource::Reflection(reflect_metadata) => {
                let (service, _) = schema::split_call(&call)?;
                let reflection = schema::pool_from_reflection(
                    channels[0].first().inner().clone(),
                    service,
                    reflect_metadata,
                    &connect.target,
                );
                // A server that accepts and never answers must not hold
                // the run past its connect timeout and call timeout (nor
                // past -z), and Ctrl-C ends the wait.
                let mut limit = connect.connect_timeout.unwrap_or(Duration::from_secs(10))
                    + options.timeout.unwrap_or(Duration::from_secs(20));
                if let Some(z) = options.duration {
                    limit = limit.min(z);
                }
                tokio::select! {
                    pool = tokio::time::timeout(limit, reflection) => match pool {
                        Ok(pool) => pool?,
                        Err(_) => return Err(LoadError::Reflection {
                            target: connect.target.clone(),
                            message: format!("no answer within {limit:?}"),
                        }.into()),
                    },
                    _ = tokio::signal::ctrl_c() => return Err(SessionError::Interrupted),
                }
            }
        };
        let method = schema::find_method(&pool, &call)?;
        let payload = Payload::new(data, &method, templates)?;
        if options.stream.dynamic_messages
            && method.kind.client_streams()
            && !payload.is_templated()
        {
            return Err(LoadError::flag(
                "--stream-dynamic-messages",
                "renders the data's template per message, and the data has no template actions ({{...}}): give templated -d or -D, or leave the flag out",
            )
            .into());
        }
        for note in &payload.notes {
            (hooks.note)(note);
        }
        settings.echo = Echo {
            data: payload.json.clone(),
            binary: payload.binary,
            metadata: metadata.json.clone(),
            ..settings.echo
        };
        let live = Arc::new(Live::default());
        let total = options.total;
        let (stop_ticker, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let ticker = hooks.progress.take().map(|mut progress| {
            let live = live.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let mut pause = Duration::from_secs(1);
                loop {
                    tokio::select! {
                        _ = &mut stopped => {
                            progress(None);
                            return;
                        }
                        _ = tokio::time::sleep(pause) => {}
                    }
                    progress(Some(Progress {
                        completed: live.completed.load(Ordering::Relaxed),
                        failed: live.failed.load(Ordering::Relaxed),
                        in_flight: live.in_flight.load(Ordering::Relaxed),
                        total,
                        elapsed: started.elapsed(),
                    }));
                    pause = Duration::from_millis(200);
                }
            })
        });
        let interrupt = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let outcome = run::run(method, payload, metadata, options, channels, live, interrupt).await;
        if let Some(ticker) = ticker {
            let _ = stop_ticker.send(());
            let _ = ticker.await;
        }
        let mut report = Report::new(outcome, settings, paced);
        if let Some((tail, log)) = &tail {
            let window = window_of(method_path, log);
            report.proxy = Some(read_proxy_side(&report, tail, log, window).await);
        }
        Ok::<Report, SessionError>(report)
    })?;
    if let Some(objectives) = &objectives {
        report.slo = Some(slo::evaluate(objectives, &report));
    }
    Ok(report)
}

/// The proxy's side of the run, once the log holds a line for every call
/// (or the wait has passed: lines of aborted calls may come late or
/// never). The window's time bounds are the report's.
async fn read_proxy_side(
    report: &Report,
    tail: &LogTail,
    log: &ProxyLog,
    mut window: Window,
) -> ProxySide {
    let (start, end) = report.window();
    let ms = |t: SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    };
    window.start_utc_ms = ms(start);
    window.end_utc_ms = ms(end);
    let calls: Arc<[(u64, tonic::Code)]> = report
        .records
        .iter()
        .map(|r| (r.request_number, r.code))
        .collect();
    let source = log.path.display().to_string();
    let deadline = Instant::now() + log.wait;
    loop {
        let side = tail
            .side(&window, &source, calls.clone())
            .unwrap_or_default();
        if side.requests >= report.count || Instant::now() >= deadline {
            return side;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
