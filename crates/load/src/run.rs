//! The engine: workers take call numbers first come, first served (ghz's
//! model since v0.70), wait for each call's intended start, and either run
//! the call (sync: at most `-c` in flight) or start it and move on
//! (`--async`). Every call is measured from its intended start, its actual
//! send, its first response message and its end.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::{mpsc, Notify};
use tonic::codec::CompressionEncoding;
use tonic::{Code, Status};

use crate::codec::RawCodec;
use crate::connect::Connection;
use crate::data::{Metadata, Payload};
use crate::schedule::{Schedule, Slot, Workers};
use crate::schema::{CallKind, Method};
pub use crate::stats::Hdr;
use crate::template::CallContext;

/// What ghz's `--duration-stop` does with calls still running at `-z`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DurationStop {
    /// Cut them off; they count as `Canceled`.
    #[default]
    Close,
    /// Let them finish (each still bound by `-t`).
    Wait,
    /// Cut them off and leave them out of the report.
    Ignore,
}

/// Streaming options (`--stream-*`).
#[derive(Clone, Copy, Debug, Default)]
pub struct StreamOptions {
    /// Pause between sent messages (client streaming and bidi).
    pub interval: Option<Duration>,
    /// Client and bidi: stop sending after this long. Server streaming:
    /// cancel the call after this long.
    pub call_duration: Option<Duration>,
    /// Client and bidi: send this many messages, cycling the data. Server
    /// streaming: cancel after receiving this many.
    pub call_count: Option<u64>,
    /// Client and bidi: render each message's template on its own, with
    /// fresh values (`--stream-dynamic-messages`).
    pub dynamic_messages: bool,
}

/// Renders message `index` of one call's stream.
type Render = Arc<dyn Fn(u64) -> Option<Bytes> + Send + Sync>;

#[derive(Clone, Debug)]
pub struct RunOptions {
    /// `-n`; `None` runs until `-z` or the end of the schedule.
    pub total: Option<u64>,
    /// When each worker works (`-c`, or `--concurrency-schedule`).
    pub workers: Workers,
    pub schedule: Schedule,
    pub async_mode: bool,
    pub duration: Option<Duration>,
    pub duration_stop: DurationStop,
    /// Per-call deadline, sent as `grpc-timeout`; covers a whole stream.
    pub timeout: Option<Duration>,
    pub stream: StreamOptions,
    /// Prefix of `{{.WorkerID}}` (`--name`).
    pub name: Option<String>,
    pub compression: bool,
    pub max_receive: usize,
    pub max_send: usize,
    /// How many calls to keep one by one (the rest are totalled).
    pub keep: usize,
    /// A per-call id sent as metadata (`--request-id-header`).
    pub request_ids: Option<RequestIds>,
    /// Hears every finished call as it ends, for a view that watches the
    /// run live; the run goes on if it stops listening.
    pub observer: Option<mpsc::UnboundedSender<CallRecord>>,
}

/// The id each call sends in a header (`x-request-id` by default), so a
/// proxy log that captures the header matches calls one by one:
/// `RUN-N`, a random run id and the call's request number.
#[derive(Clone, Debug)]
pub struct RequestIds {
    pub header: tonic::metadata::MetadataKey<tonic::metadata::Ascii>,
    /// 12 hex digits, different in every run.
    pub run: String,
}

impl RequestIds {
    /// Ids in header `name` (lower case, as HTTP/2 sends it).
    pub fn new(name: &str) -> Result<RequestIds, String> {
        let header = name
            .to_ascii_lowercase()
            .parse()
            .map_err(|_| format!("{name:?} is not a header name"))?;
        if name.ends_with("-bin") {
            return Err(format!("{name:?} is a binary header; give a text one"));
        }
        // A process-seeded hash of the time: unique enough to tell runs
        // apart in one log.
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        let run = format!("{:012x}", hasher.finish() >> 16);
        Ok(RequestIds { header, run })
    }

    /// What every id of the run starts with.
    pub fn prefix(&self) -> String {
        format!("{}-", self.run)
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            total: Some(200),
            workers: Workers::constant(50),
            schedule: Schedule::Unpaced,
            async_mode: false,
            duration: None,
            duration_stop: DurationStop::Close,
            timeout: Some(Duration::from_secs(20)),
            stream: StreamOptions::default(),
            name: None,
            compression: false,
            max_receive: usize::MAX,
            max_send: usize::MAX,
            keep: crate::stats::MAX_DETAILS,
            request_ids: None,
            observer: None,
        }
    }
}

/// One finished call. Times are nanoseconds since the run started.
#[derive(Clone, Debug)]
pub struct CallRecord {
    pub request_number: u64,
    pub intended_ns: u64,
    pub sent_ns: u64,
    /// When the first response message arrived (`u64::MAX`: none did).
    pub first_message_ns: u64,
    pub end_ns: u64,
    pub code: Code,
    /// grpc-go's error text, for failed calls.
    pub error: Option<Arc<str>>,
    pub messages_sent: u32,
    pub messages_received: u32,
    pub bytes_received: u64,
}

impl CallRecord {
    /// ghz's latency: from the actual send to the end.
    pub fn latency_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.sent_ns)
    }

    /// Latency as the user of an open-loop schedule sees it.
    pub fn from_intended_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.intended_ns)
    }

    pub fn dispatch_lag_ns(&self) -> u64 {
        self.sent_ns.saturating_sub(self.intended_ns)
    }

    pub fn time_to_first_message_ns(&self) -> Option<u64> {
        (self.first_message_ns != u64::MAX)
            .then(|| self.first_message_ns.saturating_sub(self.sent_ns))
    }
}

/// Why the run ended, as ghz's `endReason` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    Normal,
    Cancel,
    Timeout,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Normal => "normal",
            EndReason::Cancel => "cancel",
            EndReason::Timeout => "timeout",
        }
    }
}

/// Everything a run measured.
#[derive(Debug)]
pub struct RunOutcome {
    /// The first [`RunOptions::keep`] calls, in completion order.
    pub records: Vec<CallRecord>,
    /// The calls after those, as totals: a long `-z` run keeps its memory
    /// bounded and still counts every call.
    pub overflow: Overflow,
    pub started: SystemTime,
    pub total: Duration,
    pub end_reason: EndReason,
    pub peak_in_flight: usize,
}

/// The totals of the calls not kept one by one.
#[derive(Clone, Debug, Default)]
pub struct Overflow {
    pub count: u64,
    /// Sum of latencies in seconds, as ghz sums them for its average.
    pub latency_seconds: f64,
    pub statuses: Vec<(Code, u64)>,
    pub errors: Vec<(Arc<str>, u64)>,
    pub messages_sent: u64,
    pub messages_received: u64,
    pub bytes_received: u64,
    pub last_sent_ns: u64,
    /// The timings of these calls, for percentiles over every call.
    pub timings: Timings,
}

/// Latency histograms (HDR, 3 significant digits: within 0.1 %) of calls
/// not kept one by one. OK calls and failed ones apart, as the report
/// counts failed calls only with `--count-errors`.
#[derive(Clone, Debug, Default)]
pub struct Timings {
    /// `[ok, failed]` each.
    pub latency: [Hdr; 2],
    pub from_intended: [Hdr; 2],
    pub time_to_first_message: [Hdr; 2],
    pub dispatch_lag: Hdr,
}

impl Timings {
    fn add(&mut self, record: &CallRecord) {
        let class = usize::from(record.code != Code::Ok);
        self.latency[class].record(record.latency_ns());
        self.from_intended[class].record(record.from_intended_ns());
        if let Some(t) = record.time_to_first_message_ns() {
            self.time_to_first_message[class].record(t);
        }
        self.dispatch_lag.record(record.dispatch_lag_ns());
    }
}

impl Overflow {
    pub fn add(&mut self, record: &CallRecord) {
        self.timings.add(record);
        self.count += 1;
        self.latency_seconds += crate::stats::go_seconds(record.latency_ns());
        crate::stats::tally(&mut self.statuses, &record.code, 1);
        if let Some(error) = &record.error {
            crate::stats::tally(&mut self.errors, error, 1);
        }
        self.messages_sent += u64::from(record.messages_sent);
        self.messages_received += u64::from(record.messages_received);
        self.bytes_received += record.bytes_received;
        self.last_sent_ns = self.last_sent_ns.max(record.sent_ns);
    }
}

/// Counters a caller can watch while the run goes (for a progress line).
#[derive(Debug, Default)]
pub struct Live {
    pub completed: AtomicU64,
    pub failed: AtomicU64,
    pub in_flight: AtomicUsize,
}

/// A one-way latch tasks can wait on.
#[derive(Default)]
struct Latch {
    fired: AtomicBool,
    notify: Notify,
}

impl Latch {
    fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    fn is_fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_fired() {
                return;
            }
            notified.await;
        }
    }
}

struct Shared {
    method: Method,
    payload: Payload,
    metadata: Metadata,
    options: RunOptions,
    start: Instant,
    next_call: AtomicU64,
    /// No more calls are to start.
    stop_dispatch: Latch,
    /// Calls in flight are to be cut off.
    abort: Latch,
    live: Arc<Live>,
    peak_in_flight: AtomicUsize,
    /// A worker stopped because the next call fell past `-z`.
    reached_duration: AtomicBool,
    names: Names,
}

/// Names the templates need, computed once.
struct Names {
    full: String,
    method: String,
    service: String,
    input: String,
    output: String,
}

/// Runs the load. `interrupt` resolving (Ctrl-C) ends the run early; the
/// calls in flight are then cut off and the report still covers the rest.
pub async fn run(
    method: Method,
    payload: Payload,
    metadata: Metadata,
    options: RunOptions,
    channels: Vec<Connection>,
    live: Arc<Live>,
    interrupt: impl Future<Output = ()>,
) -> RunOutcome {
    let names = Names {
        full: method.full_name(),
        method: method.descriptor.name().to_string(),
        service: method.descriptor.parent_service().name().to_string(),
        input: method.descriptor.input().name().to_string(),
        output: method.descriptor.output().name().to_string(),
    };
    let started = SystemTime::now();
    let start = Instant::now();
    let shared = Arc::new(Shared {
        method,
        payload,
        metadata,
        options,
        start,
        next_call: AtomicU64::new(0),
        stop_dispatch: Latch::default(),
        abort: Latch::default(),
        live,
        peak_in_flight: AtomicUsize::new(0),
        reached_duration: AtomicBool::new(false),
        names,
    });
    let (sender, mut receiver) = mpsc::unbounded_channel::<CallRecord>();
    let mut workers = tokio::task::JoinSet::new();
    for (worker, window) in shared
        .options
        .workers
        .windows
        .clone()
        .into_iter()
        .enumerate()
    {
        let channel = channels[worker % channels.len()].clone();
        let connection = worker % channels.len();
        let worker_id = match &shared.options.name {
            Some(name) => format!("{name}:g{worker}c{connection}"),
            None => format!("g{worker}c{connection}"),
        };
        workers.spawn(work(
            shared.clone(),
            worker_id,
            window,
            channel,
            sender.clone(),
        ));
    }
    drop(sender);

    let deadline = shared.options.duration.map(|z| start + z);
    let mut end_reason = EndReason::Normal;
    let mut records = Vec::new();
    let mut overflow = Overflow::default();
    let keep = shared.options.keep;
    let observer = shared.options.observer.clone();
    tokio::pin!(interrupt);
    let mut interrupted = false;
    let mut timed_out = false;
    loop {
        tokio::select! {
            record = receiver.recv() => match record {
                Some(record) => {
                    if let Some(observer) = &observer {
                        let _ = observer.send(record.clone());
                    }
                    if records.len() < keep {
                        records.push(record);
                    } else {
                        overflow.add(&record);
                    }
                }
                None => break,
            },
            () = &mut interrupt, if !interrupted => {
                interrupted = true;
                end_reason = EndReason::Cancel;
                shared.stop_dispatch.fire();
                shared.abort.fire();
            }
            () = sleep_until_opt(deadline), if !timed_out && deadline.is_some() => {
                timed_out = true;
                if end_reason == EndReason::Normal {
                    end_reason = EndReason::Timeout;
                }
                shared.stop_dispatch.fire();
                if shared.options.duration_stop != DurationStop::Wait {
                    shared.abort.fire();
                }
            }
        }
    }
    while workers.join_next().await.is_some() {}
    if end_reason == EndReason::Normal && shared.reached_duration.load(Ordering::Relaxed) {
        end_reason = EndReason::Timeout;
    }
    RunOutcome {
        records,
        overflow,
        started,
        total: start.elapsed(),
        end_reason,
        peak_in_flight: shared.peak_in_flight.load(Ordering::Relaxed),
    }
}

impl Shared {
    /// What a template of call `k` sees, at this moment.
    fn context<'a>(&'a self, worker_id: &'a str, k: u64) -> CallContext<'a> {
        let names = &self.names;
        CallContext {
            worker_id,
            request_number: k,
            fully_qualified_name: &names.full,
            method_name: &names.method,
            service_name: &names.service,
            input_name: &names.input,
            output_name: &names.output,
            is_client_streaming: self.method.kind.client_streams(),
            is_server_streaming: self.method.kind.server_streams(),
            now: SystemTime::now(),
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// One worker: takes the next call number, waits for its slot, runs it.
async fn work(
    shared: Arc<Shared>,
    worker_id: String,
    (from, until): (Duration, Option<Duration>),
    channel: Connection,
    records: mpsc::UnboundedSender<CallRecord>,
) {
    let worker_id: Arc<str> = worker_id.into();
    let mut in_flight = tokio::task::JoinSet::new();
    let deadline = shared.options.duration.map(|z| shared.start + z);
    if !from.is_zero() {
        tokio::select! {
            () = tokio::time::sleep_until((shared.start + from).into()) => {}
            () = shared.stop_dispatch.wait() => return,
        }
    }
    let retire = until.map(|u| shared.start + u);
    loop {
        if shared.stop_dispatch.is_fired() || retire.is_some_and(|r| Instant::now() >= r) {
            break;
        }
        let k = shared.next_call.fetch_add(1, Ordering::Relaxed);
        if shared.options.total.is_some_and(|n| k >= n) {
            break;
        }
        let intended = match shared.options.schedule.slot(k) {
            Slot::Now => Instant::now(),
            Slot::At(offset) => shared.start + offset,
            Slot::End => break,
        };
        if deadline.is_some_and(|d| intended >= d) {
            shared.reached_duration.store(true, Ordering::Relaxed);
            break;
        }
        if intended > Instant::now() {
            tokio::select! {
                () = tokio::time::sleep_until(intended.into()) => {}
                () = shared.stop_dispatch.wait() => break,
            }
        }
        let call = call(
            shared.clone(),
            worker_id.clone(),
            channel.clone(),
            k,
            intended,
            records.clone(),
        );
        if shared.options.async_mode {
            in_flight.spawn(call);
            // Reap finished calls so the set stays small on long runs.
            while in_flight.try_join_next().is_some() {}
        } else {
            call.await;
        }
    }
    while in_flight.join_next().await.is_some() {}
}

/// What a call driver saw.
#[derive(Default)]
struct Exchange {
    first_message: Option<Instant>,
    messages_sent: u32,
    messages_received: u32,
    bytes_received: u64,
}

async fn call(
    shared: Arc<Shared>,
    worker_id: Arc<str>,
    channel: Connection,
    k: u64,
    intended: Instant,
    records: mpsc::UnboundedSender<CallRecord>,
) {
    let now_in_flight = shared.live.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    shared
        .peak_in_flight
        .fetch_max(now_in_flight, Ordering::Relaxed);
    let context = shared.context(&worker_id, k);
    let prepared = shared.payload.messages(&context).and_then(|m| {
        let mut metadata = shared.metadata.for_call(&context)?;
        if let Some(ids) = &shared.options.request_ids {
            // The user's own value of the header wins.
            if !metadata.contains_key(&ids.header) {
                if let Ok(id) = format!("{}-{k}", ids.run).parse() {
                    metadata.insert(ids.header.clone(), id);
                }
            }
        }
        Ok((m, metadata))
    });
    let render = dynamic_messages(&shared, &worker_id, k);
    let sent = Instant::now();
    let mut exchange = Exchange::default();
    let result = match prepared {
        Err(message) => Err(Status::new(Code::InvalidArgument, message)),
        Ok((messages, metadata)) => {
            let driven = drive(&shared, channel, messages, render, metadata, &mut exchange);
            let timed = async {
                match shared.options.timeout.filter(|t| !t.is_zero()) {
                    Some(limit) => tokio::time::timeout(limit, driven)
                        .await
                        .unwrap_or_else(|_| {
                            Err(Status::new(
                                Code::DeadlineExceeded,
                                "context deadline exceeded",
                            ))
                        }),
                    None => driven.await,
                }
            };
            tokio::select! {
                result = timed => result,
                () = shared.abort.wait() => {
                    if shared.options.duration_stop == DurationStop::Ignore {
                        shared.live.in_flight.fetch_sub(1, Ordering::Relaxed);
                        return;
                    }
                    Err(Status::new(Code::Cancelled, "grpc: the client connection is closing"))
                }
            }
        }
    };
    let end = Instant::now();
    shared.live.in_flight.fetch_sub(1, Ordering::Relaxed);
    shared.live.completed.fetch_add(1, Ordering::Relaxed);
    if result.is_err() {
        shared.live.failed.fetch_add(1, Ordering::Relaxed);
    }
    let since_start = |at: Instant| at.saturating_duration_since(shared.start).as_nanos() as u64;
    // Tonic's client enforces grpc-timeout itself and calls it Cancelled;
    // grpc-go (and so ghz) calls a missed deadline DeadlineExceeded.
    let result = result.map_err(|status| {
        if status.code() == Code::Cancelled && status.message() == "Timeout expired" {
            Status::new(Code::DeadlineExceeded, "context deadline exceeded")
        } else {
            status
        }
    });
    let (code, error) = match &result {
        Ok(()) => (Code::Ok, None),
        Err(status) => (
            status.code(),
            Some(Arc::from(crate::status::error_text(
                status.code(),
                status.message(),
            ))),
        ),
    };
    let _ = records.send(CallRecord {
        request_number: k,
        intended_ns: since_start(intended),
        sent_ns: since_start(sent),
        first_message_ns: exchange.first_message.map_or(u64::MAX, since_start),
        end_ns: since_start(end),
        code,
        error,
        messages_sent: exchange.messages_sent,
        messages_received: exchange.messages_received,
        bytes_received: exchange.bytes_received,
    });
}

/// With `--stream-dynamic-messages` on a client or bidi stream of templated
/// data, each message is rendered when it is sent, as ghz's dynamic
/// message provider does: same call number, fresh time and random values.
fn dynamic_messages(shared: &Arc<Shared>, worker_id: &Arc<str>, k: u64) -> Option<Render> {
    let wanted = shared.options.stream.dynamic_messages
        && shared.method.kind.client_streams()
        && shared.payload.is_templated();
    if !wanted {
        return None;
    }
    let shared = shared.clone();
    let worker_id = worker_id.clone();
    Some(Arc::new(move |index| {
        let context = shared.context(&worker_id, k);
        // A message that no longer renders ends the stream, as in ghz.
        shared.payload.stream_message(&context, index).ok()
    }))
}

/// Runs one call of the method's kind, as grpc-go would: a call the
/// server refused before processing it (REFUSED_STREAM, a stream past a
/// GOAWAY) is retried transparently, the call waiting for a free stream
/// (a few attempts, a few milliseconds apart: grpc-go retries once, but
/// it never opens a stream before the server's SETTINGS have come, and a
/// server may free a stream slot just after the client sees it end);
/// failures carry grpc-go's words.
async fn drive(
    shared: &Shared,
    channel: Connection,
    messages: Vec<Bytes>,
    render: Option<Render>,
    metadata: tonic::metadata::MetadataMap,
    exchange: &mut Exchange,
) -> Result<(), Status> {
    const ATTEMPTS: u32 = 8;
    let mut attempt_number = 1;
    loop {
        let result = attempt(
            shared,
            channel.clone(),
            messages.clone(),
            render.clone(),
            metadata.clone(),
            exchange,
        )
        .await;
        match result {
            Err(status) if crate::grpc_go::unprocessed(&status) && attempt_number < ATTEMPTS => {
                *exchange = Exchange::default();
                let pause = Duration::from_millis(1 << (attempt_number - 1).min(5));
                tokio::time::sleep(pause).await;
                attempt_number += 1;
            }
            other => return other.map_err(crate::grpc_go::codec_status),
        }
    }
}

/// One attempt at a call.
async fn attempt(
    shared: &Shared,
    channel: Connection,
    messages: Vec<Bytes>,
    render: Option<Render>,
    metadata: tonic::metadata::MetadataMap,
    exchange: &mut Exchange,
) -> Result<(), Status> {
    let options = &shared.options;
    // --stream-call-duration counts from the call's start, as ghz's does.
    let cut_at = options.stream.call_duration.map(|d| Instant::now() + d);
    let mut grpc = tonic::client::Grpc::new(channel)
        .max_decoding_message_size(options.max_receive)
        .max_encoding_message_size(options.max_send);
    if options.compression {
        grpc = grpc
            .send_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Gzip);
    }
    grpc.ready().await.map_err(Status::from_error)?;
    let path = shared.method.path.clone();
    let output = shared.method.descriptor.output();
    let stream = options.stream;
    match shared.method.kind {
        CallKind::Unary | CallKind::ServerStreaming => {
            let message = messages.into_iter().next().unwrap_or_default();
            let mut request = tonic::Request::new(message);
            prepare(&mut request, metadata, options.timeout);
            exchange.messages_sent = 1;
            if shared.method.kind == CallKind::Unary {
                let response = grpc.unary(request, path, RawCodec).await?;
                exchange.first_message = Some(Instant::now());
                crate::grpc_go::check_decodes(&output, response.get_ref())?;
                exchange.messages_received = 1;
                exchange.bytes_received = response.get_ref().len() as u64;
                return Ok(());
            }
            let response = grpc.server_streaming(request, path, RawCodec).await?;
            receive(
                response.into_inner(),
                &output,
                exchange,
                stream.call_count,
                cut_at,
            )
            .await
        }
        CallKind::ClientStreaming | CallKind::Bidi => {
            let sent_counter = Arc::new(AtomicU64::new(0));
            let outgoing = send_stream(messages, render, stream, sent_counter.clone());
            let mut request = tonic::Request::new(outgoing);
            prepare(&mut request, metadata, options.timeout);
            let result = if shared.method.kind == CallKind::ClientStreaming {
                match grpc.client_streaming(request, path, RawCodec).await {
                    Ok(response) => {
                        exchange.first_message = Some(Instant::now());
                        crate::grpc_go::check_decodes(&output, response.get_ref()).map(|()| {
                            exchange.messages_received = 1;
                            exchange.bytes_received = response.get_ref().len() as u64;
                        })
                    }
                    Err(status) => Err(status),
                }
            } else {
                match grpc.streaming(request, path, RawCodec).await {
                    Ok(response) => {
                        receive(response.into_inner(), &output, exchange, None, None).await
                    }
                    Err(status) => Err(status),
                }
            };
            exchange.messages_sent = sent_counter.load(Ordering::Relaxed) as u32;
            result
        }
    }
}

fn prepare<T>(
    request: &mut tonic::Request<T>,
    metadata: tonic::metadata::MetadataMap,
    timeout: Option<Duration>,
) {
    *request.metadata_mut() = metadata;
    if let Some(limit) = timeout.filter(|t| !t.is_zero()) {
        request.set_timeout(limit);
    }
}

/// Reads a response stream to its end, or until `count` messages or the
/// `cut_at` time, which cancel the call as ghz does.
async fn receive(
    mut incoming: tonic::Streaming<Bytes>,
    output: &prost_reflect::MessageDescriptor,
    exchange: &mut Exchange,
    count: Option<u64>,
    cut_at: Option<Instant>,
) -> Result<(), Status> {
    let canceled = || Err(Status::new(Code::Cancelled, "context canceled"));
    loop {
        let next = async {
            match cut_at {
                Some(at) => tokio::time::timeout_at(at.into(), incoming.message())
                    .await
                    .ok(),
                None => Some(incoming.message().await),
            }
        };
        match next.await {
            None => return canceled(),
            Some(Ok(Some(message))) => {
                exchange.first_message.get_or_insert_with(Instant::now);
                crate::grpc_go::check_decodes(output, &message)?;
                exchange.messages_received += 1;
                exchange.bytes_received += message.len() as u64;
                if count.is_some_and(|c| u64::from(exchange.messages_received) >= c) {
                    return canceled();
                }
            }
            Some(Ok(None)) => return Ok(()),
            Some(Err(status)) => return Err(status),
        }
    }
}

/// The messages of a client or bidi stream: the data in order, cycled up to
/// `--stream-call-count`, with `--stream-interval` between them, ending at
/// `--stream-call-duration`.
fn send_stream(
    messages: Vec<Bytes>,
    render: Option<Render>,
    options: StreamOptions,
    sent: Arc<AtomicU64>,
) -> impl futures::Stream<Item = Bytes> + Send + 'static {
    let total = options.call_count.unwrap_or(messages.len() as u64);
    let end = options.call_duration.map(|d| Instant::now() + d);
    let messages: Arc<[Bytes]> = messages.into();
    futures::stream::unfold(0u64, move |index| {
        let messages = messages.clone();
        let render = render.clone();
        let sent = sent.clone();
        async move {
            if index >= total || messages.is_empty() {
                return None;
            }
            if index > 0 {
                if let Some(pause) = options.interval.filter(|p| !p.is_zero()) {
                    tokio::time::sleep(pause).await;
                }
            }
            if end.is_some_and(|e| Instant::now() >= e) {
                return None;
            }
            let message = match &render {
                Some(render) => render(index)?,
                None => messages[(index % messages.len() as u64) as usize].clone(),
            };
            sent.fetch_add(1, Ordering::Relaxed);
            Some((message, index + 1))
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::ConnectOptions;
    use crate::data::{DataInput, Metadata, Payload, TemplateOptions};
    use crate::testserver::{BackgroundServer, ServerConfig, DEMO_PROTO};

    /// An observer hears every call as it ends, and the run's own
    /// records are the same calls.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_observer_hears_every_call() {
        let server = BackgroundServer::start(ServerConfig {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            ..ServerConfig::default()
        })
        .await
        .unwrap();
        let pool = crate::schema::pool_from_sources(&[("demo.proto", DEMO_PROTO)]).unwrap();
        let method = crate::schema::find_method(&pool, "haplog.demo.Tts/Speak").unwrap();
        let data = DataInput::Json {
            flag: "-d",
            text: r#"{"text":"hi"}"#.into(),
        };
        let payload = Payload::new(data, &method, TemplateOptions::default()).unwrap();
        let channels = ConnectOptions {
            target: server.addr.to_string(),
            insecure: true,
            connections: 1,
            ..ConnectOptions::default()
        }
        .channels()
        .unwrap();
        let (observer, mut heard) = mpsc::unbounded_channel();
        let options = RunOptions {
            total: Some(12),
            workers: Workers::constant(3),
            observer: Some(observer),
            ..RunOptions::default()
        };
        let outcome = run(
            method,
            payload,
            Metadata::none(),
            options,
            channels,
            Arc::default(),
            std::future::pending(),
        )
        .await;
        let mut numbers = Vec::new();
        while let Some(record) = heard.recv().await {
            assert_eq!(record.code, Code::Ok);
            numbers.push(record.request_number);
        }
        numbers.sort_unstable();
        assert_eq!(numbers, (0..12).collect::<Vec<u64>>());
        assert_eq!(outcome.records.len(), 12);
    }
}
