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
    Mapped { map: Arc<Mmap>, start: usize },
    /// A stream of bytes read block by block.
    Stream {
        reader: Box<dyn Read + Send>,
        compression: Compression,
    },
}

/// Opens one input and decides how to read it.
pub(crate) fn open(spec: &InputSpec) -> Result<Opened, InputError> {
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
        // while we read it can raise SIGBUS; ripgrep and others accept this
        // trade for the speed of mapping, and so do we.
        let map = unsafe { Mmap::map(&file) }.map_err(open_err)?;
        let start = start as usize;
        let compression = Compression::detect(&map[start..]);
        if compression == Compression::None {
            #[cfg(unix)]
            let _ = map.advise(memmap2::Advice::Sequential);
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
        Compression::Zstd => match zstd::stream::read::Decoder::with_buffer(inner) {
            Ok(d) => Box::new(d),
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
    map: Mmap,
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
