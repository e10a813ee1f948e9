//! Where a live view's lines come from: files followed like `tail -F`,
//! standard input, and HAProxy's syslog datagrams over UDP. Files are
//! polled (a poll never blocks); standard input and the socket are read
//! on threads that hand whole lines over a channel.

use std::io::{self, Read};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use haplog_analyze::{Config, TrafficStats};
use haplog_engine::FollowConfig;
use haplog_format::Record;
use haplog_pipeline::{Follow, Reading, Seconds};

/// A batch of whole lines from a thread, or the end of its input.
enum Batch {
    Lines(Vec<u8>),
    End(Option<io::Error>),
}

/// Lines a thread reads: standard input or a syslog socket.
struct Stream<'f, 'c> {
    name: String,
    /// What an export's `file` column says: `-` as `haplog export` says
    /// for standard input, `syslog://ADDR` for a socket.
    source: String,
    batches: Receiver<Batch>,
    seconds: Seconds<'f, 'c>,
    ended: bool,
}

/// Where every line a poll reads also goes, record by record: an export
/// of what the view sees.
pub trait RecordSink: Send {
    /// One line of the source named `source`, `line` its 1-based number
    /// among the lines read from it.
    fn record(&mut self, source: &str, line: u64, record: &Record<'_, '_>);

    /// The poll's lines are all in (a file may be due to close); errors
    /// to show.
    fn flush(&mut self) -> Vec<String>;

    /// The sources are done with: close what is open; errors to show.
    fn finish(&mut self) -> Vec<String>;
}

/// Every source of a live view, polled together.
pub struct Sources<'f, 'c> {
    files: Vec<Follow<'f, 'c>>,
    /// The files' names, as given.
    file_names: Vec<String>,
    sink: Option<Box<dyn RecordSink + 'f>>,
    streams: Vec<Stream<'f, 'c>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Bytes handed over by the threads.
    stream_bytes: u64,
}

/// What one poll read.
#[derive(Default)]
pub struct Polled {
    /// Figures per second of log date (UTC).
    pub seconds: Vec<(i64, TrafficStats)>,
    /// Errors worth a line on stderr (a file that went away for a moment
    /// is not one: it is looked for again).
    pub errors: Vec<String>,
}

impl<'f, 'c> Sources<'f, 'c> {
    pub fn new() -> Sources<'f, 'c> {
        Sources {
            files: Vec::new(),
            file_names: Vec::new(),
            sink: None,
            streams: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
            stream_bytes: 0,
        }
    }

    /// Follows `path` (which need not exist yet).
    pub fn file(
        &mut self,
        reading: &Reading<'f>,
        path: PathBuf,
        from_start: bool,
        config: &'c Config,
    ) {
        let follow = FollowConfig {
            from_start,
            max_line: reading.max_line,
            ..FollowConfig::default()
        };
        self.file_names.push(path.display().to_string());
        self.files.push(Follow::new(reading, path, follow, config));
    }

    /// Hands every line read from now on to `sink` as well.
    pub fn export_to(&mut self, sink: Box<dyn RecordSink + 'f>) {
        self.sink = Some(sink);
    }

    /// Closes the sink's open files; errors to show.
    pub fn finish_export(&mut self) -> Vec<String> {
        self.sink.as_mut().map(|s| s.finish()).unwrap_or_default()
    }

    /// Reads standard input to its end.
    pub fn stdin(&mut self, reading: &Reading<'f>, config: &'c Config) {
        // Bounded: a pipe faster than the fold waits, rather than
        // filling memory.
        let (send, batches) = mpsc::sync_channel(BATCHES_IN_FLIGHT);
        self.threads
            .push(std::thread::spawn(move || read_stdin(send)));
        self.streams.push(Stream {
            name: "standard input".to_string(),
            source: "-".to_string(),
            batches,
            seconds: Seconds::new(reading, config),
            ended: false,
        });
    }

    /// Listens for syslog datagrams (RFC 3164 or 5424, one message each,
    /// as HAProxy's `log 127.0.0.1:5140 local0` sends them) on `addr`;
    /// gives the address bound (port 0 picks one).
    pub fn syslog(
        &mut self,
        reading: &Reading<'f>,
        addr: SocketAddr,
        config: &'c Config,
    ) -> io::Result<SocketAddr> {
        let socket = UdpSocket::bind(addr)?;
        let bound = socket.local_addr()?;
        // The thread looks at `stop` between datagrams.
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        // A burst must not overflow the kernel's buffer while lines are
        // folded: ask for 8 MB (the kernel may cap it).
        set_receive_buffer(&socket, 8 << 20);
        let (send, batches) = mpsc::sync_channel(BATCHES_IN_FLIGHT);
        let stop = self.stop.clone();
        self.threads
            .push(std::thread::spawn(move || read_syslog(socket, send, stop)));
        self.streams.push(Stream {
            name: format!("syslog {bound}"),
            source: format!("syslog://{bound}"),
            batches,
            seconds: Seconds::new(reading, config),
            ended: false,
        });
        Ok(bound)
    }

    /// Reads what every source has now; never blocks.
    pub fn poll(&mut self) -> Polled {
        let mut polled = Polled::default();
        let sink = &mut self.sink;
        for (follow, name) in self.files.iter_mut().zip(&self.file_names) {
            // An error comes between a rename and a re-create, or with a
            // moment without permission: look again on the next poll.
            let each = |line: u64, record: &Record<'_, '_>| {
                if let Some(sink) = sink.as_mut() {
                    sink.record(name, line, record);
                }
            };
            if let Ok(seconds) = follow.poll_seconds_with(each) {
                polled.seconds.extend(seconds);
            }
        }
        for stream in &mut self.streams {
            let mut lines = Vec::new();
            while !stream.ended {
                match stream.batches.try_recv() {
                    Ok(Batch::Lines(batch)) => {
                        if lines.is_empty() {
                            lines = batch;
                        } else {
                            lines.extend_from_slice(&batch);
                        }
                        if lines.len() >= 1 << 20 {
                            break;
                        }
                    }
                    Ok(Batch::End(error)) => {
                        stream.ended = true;
                        if let Some(e) = error {
                            polled.errors.push(format!("{}: {e}", stream.name));
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => stream.ended = true,
                }
            }
            if !lines.is_empty() {
                self.stream_bytes += lines.len() as u64;
                let name = &stream.source;
                let each = |line: u64, record: &Record<'_, '_>| {
                    if let Some(sink) = sink.as_mut() {
                        sink.record(name, line, record);
                    }
                };
                polled
                    .seconds
                    .extend(stream.seconds.fold_with(&lines, each));
            }
        }
        if let Some(sink) = sink.as_mut() {
            polled.errors.extend(sink.flush());
        }
        polled
    }

    /// Whether every source has ended (standard input at its end, and no
    /// file or socket, which never end).
    pub fn finished(&self) -> bool {
        self.files.is_empty() && self.streams.iter().all(|s| s.ended)
    }

    /// Bytes read from every source.
    pub fn bytes(&self) -> u64 {
        self.stream_bytes
            + self
                .files
                .iter()
                .map(|f| f.follower().stats().bytes)
                .sum::<u64>()
    }
}

impl Default for Sources<'_, '_> {
    fn default() -> Self {
        Sources::new()
    }
}

impl Drop for Sources<'_, '_> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // The stdin thread may be blocked in a read: leave it (it ends
        // with the process); the socket thread wakes within its timeout.
        self.threads.clear();
    }
}

/// Batches a reading thread may have handed over and not yet had folded:
/// memory stays bounded when the input comes faster than it is counted.
const BATCHES_IN_FLIGHT: usize = 16;

/// Sends standard input's whole lines in batches; a last line without a
/// newline goes at the end.
fn read_stdin(send: SyncSender<Batch>) {
    let mut stdin = io::stdin().lock();
    let mut carry: Vec<u8> = Vec::new();
    let mut buf = vec![0; 256 << 10];
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => {
                if !carry.is_empty() {
                    carry.push(b'\n');
                    let _ = send.send(Batch::Lines(carry));
                }
                let _ = send.send(Batch::End(None));
                return;
            }
            Ok(n) => {
                let read = &buf[..n];
                match memchr::memrchr(b'\n', read) {
                    Some(last) => {
                        let mut batch = std::mem::take(&mut carry);
                        batch.extend_from_slice(&read[..=last]);
                        carry.extend_from_slice(&read[last + 1..]);
                        if send.send(Batch::Lines(batch)).is_err() {
                            return;
                        }
                    }
                    None => carry.extend_from_slice(read),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                let _ = send.send(Batch::End(Some(e)));
                return;
            }
        }
    }
}

/// Sends each datagram as one line (a message's own final newline, if
/// any, dropped; newlines inside replaced by spaces so one message stays
/// one line), the datagrams waiting in the socket together.
fn read_syslog(socket: UdpSocket, send: SyncSender<Batch>, stop: Arc<AtomicBool>) {
    // The largest UDP payload.
    let mut buf = vec![0; 65_536];
    let mut batch = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match socket.recv_from(&mut buf) {
            Ok((n, _)) => {
                push_message(&mut batch, &buf[..n]);
                // What else is waiting, without blocking, up to 1 MB.
                let _ = socket.set_nonblocking(true);
                while batch.len() < 1 << 20 {
                    match socket.recv_from(&mut buf) {
                        Ok((n, _)) => push_message(&mut batch, &buf[..n]),
                        Err(_) => break,
                    }
                }
                let _ = socket.set_nonblocking(false);
                if send.send(Batch::Lines(std::mem::take(&mut batch))).is_err() {
                    return;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                let _ = send.send(Batch::End(Some(e)));
                return;
            }
        }
    }
}

fn push_message(batch: &mut Vec<u8>, mut message: &[u8]) {
    while let Some(rest) = message.strip_suffix(b"\n") {
        message = rest;
    }
    batch.extend(message.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
    batch.push(b'\n');
}

fn set_receive_buffer(socket: &UdpSocket, bytes: i32) {
    use std::os::fd::AsRawFd;
    // SAFETY: SO_RCVBUF takes an int; the pointer and length describe it.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&bytes as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        );
    }
}
