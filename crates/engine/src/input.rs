//! Opening inputs: named files or standard input, plain or compressed.
//!
//! A regular file (including a regular file redirected to stdin) is
//! memory-mapped, so chunking it costs no copy. Anything else (a pipe, a
//! terminal, a compressed stream) is read as a stream of blocks.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use crate::guard::{GuardedMap, Reports};
use thiserror::Error;

/// Where one input comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputSpec {
    /// Standard input (also written `-` on command lines).
    Stdin,
    /// A file on disk.
    Path(PathBuf),
}

impl InputSpec {
    /// `-` means standard input, anything else is a path.
    pub fn from_arg(arg: &str) -> InputSpec {
        if arg == "-" {
            InputSpec::Stdin
        } else {
            InputSpec::Path(PathBuf::from(arg))
        }
    }

    /// Checks that a named file opens and is not a directory, so that a
    /// command can refuse a bad argument before it reads or prints anything.
    pub fn check(&self) -> Result<(), InputError> {
        match self {
            InputSpec::Stdin => Ok(()),
            InputSpec::Path(path) => {
                let file = File::open(path).map_err(|source| InputError::Open {
                    input: self.clone(),
                    source,
                })?;
                check_not_dir(&file, path, self)
            }
        }
    }
}

impl fmt::Display for InputSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputSpec::Stdin => f.write_str("<stdin>"),
            InputSpec::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The compression a stream was found to use, from its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Detects gzip (`1f 8b`) and zstd (`28 b5 2f fd`) magic numbers.
    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Compression::None => "plain",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Errors while opening or reading an input. Each names the input.
#[derive(Debug, Error)]
pub enum InputError {
    #[error("{input}: {source}")]
    Open {
        input: InputSpec,
        #[source]
        source: io::Error,
    },
    #[error("{input}: is a directory; give a log file (or - for standard input)")]
    IsDirectory { input: InputSpec },
    #[error("{input}: read error: {source}")]
    Read {
        input: InputSpec,
        #[source]
        source: io::Error,
    },
    #[error("{input}: truncated while being read (it had {size} bytes, now {now}); the lines read before are counted, the rest of the file is not")]
    Truncated {
        input: InputSpec,
        size: u64,
        now: u64,
    },
    #[error("{input}: truncated or corrupt {format} data ({source}); the lines before the damage were read")]
    Corrupt {
        input: InputSpec,
        format: &'static str,
        #[source]
        source: io::Error,
    },
}

/// An opened input, ready to be chunked.
pub(crate) enum Opened {
    /// The bytes of a regular file, starting at `start` (stdin may have been
    /// partly consumed before we got it).
    Mapped { map: Arc<GuardedMap>, start: usize },
    /// A stream of bytes read block by block.
    Stream {
        reader: Box<dyn Read + Send>,
        compression: Compression,
    },
}

/// Opens one input and decides how to read it.
pub(crate) fn open(spec: &InputSpec, reports: &Reports) -> Result<Opened, InputError> {
    let open_err = |source| InputError::Open {
        input: spec.clone(),
        source,
    };
    let (file, start) = match spec {
        InputSpec::Path(path) => {
            let file = File::open(path).map_err(open_err)?;
            check_not_dir(&file, path, spec)?;
            (file, 0u64)
        }
        InputSpec::Stdin => {
            use std::os::fd::AsFd;
            // A duplicate of fd 0, so dropping it never closes stdin itself.
            let fd = io::stdin().as_fd().try_clone_to_owned().map_err(open_err)?;
            let mut file = File::from(fd);
            // A stdin that is not seekable (a pipe) reports an error here.
            let start = file.stream_position().unwrap_or(0);
            (file, start)
        }
    };
    let meta = file.metadata().map_err(open_err)?;
    if meta.is_file() && meta.len() > start {
        // SAFETY: the map is read-only. A log file truncated by someone else
        // while we read it raises SIGBUS on the pages past its new end: the
        // guard's handler turns those into zeros and the input is reported.
        let map = unsafe { Mmap::map(&file) }.map_err(open_err)?;
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);
        let map = GuardedMap::new(map, file, spec.clone(), Arc::clone(reports));
        let start = start as usize;
        let compression = Compression::detect(&map[start..]);
        if compression == Compression::None {
            return Ok(Opened::Mapped {
                map: Arc::new(map),
                start,
            });
        }
        let reader = MapReader { map, pos: start };
        return Ok(stream(reader, compression));
    }
    let mut buffered = BufReader::with_capacity(1 << 16, file);
    let head = buffered.fill_buf().map_err(|source| InputError::Read {
        input: spec.clone(),
        source,
    })?;
    let compression = Compression::detect(head);
    Ok(stream(buffered, compression))
}

fn check_not_dir(file: &File, path: &Path, spec: &InputSpec) -> Result<(), InputError> {
    match file.metadata() {
        Ok(m) if m.is_dir() => Err(InputError::IsDirectory {
            input: spec.clone(),
        }),
        Ok(_) => Ok(()),
        Err(source) => Err(InputError::Open {
            input: InputSpec::Path(path.to_path_buf()),
            source,
        }),
    }
}

fn stream<R: BufRead + Send + 'static>(inner: R, compression: Compression) -> Opened {
    let reader: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(inner),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(inner)),
        Compression::Zstd => match zstd::stream::raw::Decoder::new() {
            Ok(decoder) => Box::new(ZstdReader {
                inner,
                decoder,
                pending: None,
                in_frame: false,
                units: ZstdUnits::default(),
            }),
            // Only fails on allocation; fall back to an always-failing reader
            // so the error surfaces through the normal read path.
            Err(e) => Box::new(FailingReader(Some(e))),
        },
    };
    Opened::Stream {
        reader,
        compression,
    }
}

/// Maps a read error to the right message: a decoder error means damaged
/// compressed data, anything else is an I/O error.
pub(crate) fn read_error(
    spec: &InputSpec,
    compression: Compression,
    source: io::Error,
) -> InputError {
    if compression == Compression::None {
        InputError::Read {
            input: spec.clone(),
            source,
        }
    } else {
        InputError::Corrupt {
            input: spec.clone(),
            format: compression.name(),
            source,
        }
    }
}

/// Reads a memory map as a stream (for compressed files).
struct MapReader {
    map: GuardedMap,
    pos: usize,
}

impl Read for MapReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.map[self.pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl BufRead for MapReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Ok(&self.map[self.pos..])
    }
    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.map.len());
    }
}

/// Compressed input handed to one zstd call at a time: a block is at most
/// 128 KiB, so a call meets at most one or two.
const ZSTD_STEP: usize = 16 << 10;

/// zstd decoded one `decompress_stream` call at a time, each read ending
/// with the first call that gives text: damaged data costs only the block
/// it is in. (zstd's own reader keeps decoding into the caller's buffer
/// and drops all of it with the error: up to a whole chunk of lines.) The
/// error comes with the read after the text decoded before it.
struct ZstdReader<R> {
    inner: R,
    decoder: zstd::stream::raw::Decoder<'static>,
    pending: Option<io::Error>,
    /// A frame was started and not finished.
    in_frame: bool,
    units: ZstdUnits,
}

/// Where the parts of a zstd stream end (frame headers, blocks,
/// checksums), so that each decoder call gets one part: a block's text is
/// handed out before the checksum after it is checked, whatever the reads
/// look like. (zstd's format: RFC 8878, section 3.1.)
#[derive(Default)]
struct ZstdUnits {
    /// Compressed bytes consumed so far.
    at: u64,
    /// Where the current part ends.
    end: u64,
    state: UnitState,
}

#[derive(Default, Clone, Copy)]
enum UnitState {
    /// A frame (or skippable frame) starts at `end`.
    #[default]
    Frame,
    /// A block header starts at `end`; the frame has a checksum.
    Block { checksum: bool },
    /// The checksum starts at `end`.
    Checksum,
    /// Not zstd as expected: plain steps.
    Lost,
}

impl ZstdUnits {
    /// How many of the bytes `ahead` (which start at `self.at`) to hand the
    /// decoder in one call.
    fn step(&mut self, ahead: &[u8]) -> usize {
        if self.at >= self.end {
            if let Some(len) = self.next_part(ahead) {
                self.end = self.at + len as u64;
            } else {
                self.state = UnitState::Lost;
            }
        }
        let part = if matches!(self.state, UnitState::Lost) {
            ahead.len()
        } else {
            (self.end - self.at) as usize
        };
        part.min(ahead.len()).min(ZSTD_STEP)
    }

    fn consumed(&mut self, n: usize) {
        self.at += n as u64;
    }

    /// The length of the part at the start of `ahead`, moving the state on.
    fn next_part(&mut self, ahead: &[u8]) -> Option<usize> {
        let byte = |i: usize| ahead.get(i).copied();
        match self.state {
            UnitState::Lost => None,
            UnitState::Frame => {
                let magic = u32::from_le_bytes(ahead.get(..4)?.try_into().ok()?);
                if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
                    let size = u32::from_le_bytes(ahead.get(4..8)?.try_into().ok()?);
                    return Some(8 + size as usize);
                }
                if magic != 0xFD2F_B528 {
                    return None;
                }
                let descriptor = byte(4)?;
                let single = descriptor & 0x20 != 0;
                let window = usize::from(!single);
                let dictionary = [0, 1, 2, 4][usize::from(descriptor & 3)];
                let content = [usize::from(single), 2, 4, 8][usize::from(descriptor >> 6)];
                self.state = UnitState::Block {
                    checksum: descriptor & 4 != 0,
                };
                Some(5 + window + dictionary + content)
            }
            UnitState::Block { checksum } => {
                let header =
                    u32::from(byte(0)?) | u32::from(byte(1)?) << 8 | u32::from(byte(2)?) << 16;
                let last = header & 1 != 0;
                let size = (header >> 3) as usize;
                let body = match (header >> 1) & 3 {
                    0 | 2 => size,
                    1 => 1,
                    _ => return None,
                };
                if last {
                    self.state = if checksum {
                        UnitState::Checksum
                    } else {
                        UnitState::Frame
                    };
                }
                Some(3 + body)
            }
            UnitState::Checksum => {
                self.state = UnitState::Frame;
                Some(4)
            }
        }
    }
}

impl<R: BufRead> Read for ZstdReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.inner.fill_buf()?;
            let at_end = input.is_empty();
            let step = &input[..self.units.step(input)];
            let mut from = InBuffer::around(step);
            let mut to = OutBuffer::around(&mut buf[..]);
            let result = self.decoder.run(&mut from, &mut to);
            let (used, made) = (from.pos(), to.pos());
            self.inner.consume(used);
            self.units.consumed(used);
            match result {
                Ok(hint) => {
                    if used > 0 || made > 0 {
                        self.in_frame = hint != 0;
                    }
                    if made > 0 {
                        return Ok(made);
                    }
                    if used == 0 && !at_end {
                        return Err(io::Error::other("zstd decoder made no progress"));
                    }
                    if at_end {
                        if self.in_frame {
                            return Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "incomplete frame",
                            ));
                        }
                        return Ok(0);
                    }
                }
                Err(e) if made > 0 => {
                    self.pending = Some(e);
                    return Ok(made);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

struct FailingReader(Option<io::Error>);

impl Read for FailingReader {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(self
            .0
            .take()
            .unwrap_or_else(|| io::Error::other("decoder unavailable")))
    }
}

/// Orders the files of each rotated set oldest first, as logrotate names
/// them: `x.log.3.gz`, `x.log.2.gz`, `x.log.1`, then `x.log`; with
/// `dateext`, `x.log-20240501` before `x.log-20240502`, both before
/// `x.log`. Files of different sets keep the order they were given in (a
/// set sits where its first file was), so `*.log*` from a shell, sorted by
/// name, reads each set in time order.
pub fn order_rotated(paths: &mut Vec<PathBuf>) {
    /// (set name, place in the set: older sorts first).
    fn key(path: &Path) -> (PathBuf, (u8, i64)) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut stem = name.as_str();
        for ext in [".gz", ".zst", ".bz2", ".xz"] {
            if let Some(s) = stem.strip_suffix(ext) {
                stem = s;
                break;
            }
        }
        let digits_after = |sep: char| -> Option<(&str, i64)> {
            let (base, n) = stem.rsplit_once(sep)?;
            (!base.is_empty()
                && !n.is_empty()
                && n.len() <= 14
                && n.bytes().all(|b| b.is_ascii_digit()))
            .then(|| (base, n.parse().unwrap_or(0)))
        };
        let (base, place) = if let Some((base, n)) = digits_after('.') {
            // x.log.1 is newer than x.log.2: larger numbers first.
            (base, (0, -n))
        } else if let Some((base, date)) = digits_after('-').filter(|(_, d)| *d >= 19_700_101) {
            (base, (1, date))
        } else {
            (stem, (2, 0))
        };
        (path.with_file_name(base), place)
    }
    let keyed: Vec<(PathBuf, (u8, i64))> = paths.iter().map(|p| key(p)).collect();
    let mut first_seen: Vec<&PathBuf> = Vec::new();
    for (set, _) in &keyed {
        if !first_seen.contains(&set) {
            first_seen.push(set);
        }
    }
    let mut order: Vec<usize> = (0..paths.len()).collect();
    order.sort_by_key(|&i| {
        let set = first_seen
            .iter()
            .position(|s| *s == &keyed[i].0)
            .unwrap_or(0);
        (set, keyed[i].1)
    });
    let sorted: Vec<PathBuf> = order.into_iter().map(|i| paths[i].clone()).collect();
    *paths = sorted;
}

#[cfg(test)]
mod rotation_tests {
    use super::*;

    fn ordered(names: &[&str]) -> Vec<String> {
        let mut paths: Vec<PathBuf> = names.iter().map(PathBuf::from).collect();
        order_rotated(&mut paths);
        paths.iter().map(|p| p.display().to_string()).collect()
    }

    #[test]
    fn rotated_sets_read_oldest_first() {
        assert_eq!(
            ordered(&[
                "/v/haproxy.log",
                "/v/haproxy.log.1",
                "/v/haproxy.log.10.gz",
                "/v/haproxy.log.2.gz"
            ]),
            [
                "/v/haproxy.log.10.gz",
                "/v/haproxy.log.2.gz",
                "/v/haproxy.log.1",
                "/v/haproxy.log"
            ]
        );
        assert_eq!(
            ordered(&[
                "a.log",
                "b.log-20240502.gz",
                "b.log",
                "b.log-20240501",
                "a.log.1"
            ]),
            [
                "a.log.1",
                "a.log",
                "b.log-20240501",
                "b.log-20240502.gz",
                "b.log"
            ]
        );
        // Unrelated files keep their order.
        assert_eq!(ordered(&["z.log", "a.log"]), ["z.log", "a.log"]);
        // The same name in two directories is two sets.
        assert_eq!(
            ordered(&["x/h.log", "y/h.log.1", "x/h.log.1"]),
            ["x/h.log.1", "x/h.log", "y/h.log.1"]
        );
    }
}
