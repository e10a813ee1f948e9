//! Splitting inputs into chunks that end on line boundaries.
//!
//! Every chunk holds whole lines: it ends just after an LF, or at the end of
//! an input (whose last line may lack its LF). Inputs are read one after the
//! other, as if concatenated, except that each file's last line stays a line
//! of its own.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read};
use std::ops::{Deref, Range};
use std::sync::Arc;

use crate::guard::{GuardedMap, Reports};
use crate::input::{self, Compression, InputError, InputSpec, Opened};
use memchr::{memchr, memrchr};

/// How to cut inputs into chunks.
#[derive(Clone, Debug)]
pub struct ChunkConfig {
    /// Target size of a chunk read from a memory map.
    pub mapped_chunk: usize,
    /// Target size of a chunk read from a stream (a pipe, a decompressor).
    pub stream_chunk: usize,
    /// When set, the first line this long or longer (LF excluded) silently
    /// ends all input, and it and every later byte are never handed out.
    /// halog does this at 262 144 bytes.
    pub end_at_line_len: Option<usize>,
    /// Number each chunk's first line within its input (costs a pass that
    /// counts LFs on the reading thread).
    pub count_lines: bool,
    /// When set, a line of a stream longer than this keeps its first
    /// `max_line + 1` bytes (enough for a reader to see that it is too
    /// long) and the rest is read and dropped, so memory stays bounded on
    /// any input (`/dev/zero`, a 1 GiB line). Mapped files hand out such
    /// lines whole: they cost no memory of their own.
    pub max_line: Option<usize>,
    /// Whether a line goes on in the next one (a container runtime's
    /// partial entry): no chunk ends after such a line, so the parts of
    /// one line meet in one chunk (up to `max_line` bytes of parts).
    pub joins_next: Option<fn(&[u8]) -> bool>,
}

impl Default for ChunkConfig {
    /// 4 MiB chunks from maps, 1 MiB from streams. `HAPLOG_CHUNK_BYTES`
    /// overrides both: tests use tiny chunks to exercise merging.
    fn default() -> ChunkConfig {
        let forced = std::env::var("HAPLOG_CHUNK_BYTES")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0);
        ChunkConfig {
            mapped_chunk: forced.unwrap_or(4 << 20),
            stream_chunk: forced.unwrap_or(1 << 20),
            end_at_line_len: None,
            count_lines: false,
            max_line: None,
            joins_next: None,
        }
    }
}

/// A run of whole lines, and where it comes from.
pub struct Chunk {
    body: Body,
    /// Which input (index in the list given to [`Chunker::new`]).
    pub input: usize,
    /// The 1-based number of the chunk's first line in its input, when
    /// [`ChunkConfig::count_lines`] is set; 0 otherwise.
    pub first_line: u64,
    /// The chunk's position among all chunks of the run (0, 1, 2, …): a
    /// total order on lines, with a line's index in its chunk, for results
    /// that must not depend on which thread read what.
    pub seq: u64,
}

enum Body {
    Mapped {
        map: Arc<GuardedMap>,
        range: Range<usize>,
    },
    Owned {
        buf: Vec<u8>,
        len: usize,
    },
}

impl Chunk {
    /// A chunk of the first `len` bytes of `buf`, whole lines.
    pub(crate) fn owned(buf: Vec<u8>, len: usize, seq: u64) -> Chunk {
        Chunk {
            body: Body::Owned { buf, len },
            input: 0,
            first_line: 0,
            seq,
        }
    }

    /// Done with the chunk: gives back its buffer for the next stream chunk,
    /// or lets the pages of a mapped chunk go, so that a pass over a large
    /// file holds no more of it in memory than the chunks in flight.
    pub fn recycle(self) -> Vec<u8> {
        match self.body {
            Body::Mapped { map, range } => {
                release_pages(&map, range);
                Vec::new()
            }
            Body::Owned { buf, .. } => buf,
        }
    }
}

/// Drops the whole pages inside `range` from this process's mapping. The
/// file stays in the page cache, and a later read of the same bytes (the
/// partial pages at either end are shared with neighbouring chunks) would
/// fault them back in unchanged: the map is read-only.
fn release_pages(map: &GuardedMap, range: Range<usize>) {
    let map = map.map();
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = if page > 0 { page as usize } else { 4096 };
    let start = range.start.div_ceil(page) * page;
    let end = range.end / page * page;
    if end > start {
        // SAFETY: MADV_DONTNEED on a private read-only file mapping only
        // drops page-table entries; no reference into the dropped range
        // outlives this chunk, and re-reading it would see the same data.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
        };
    }
}

impl Deref for Chunk {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.body {
            Body::Mapped { map, range } => &map[range.clone()],
            Body::Owned { buf, len } => &buf[..*len],
        }
    }
}

enum Current {
    Mapped {
        map: Arc<GuardedMap>,
        pos: usize,
    },
    Stream {
        spec: InputSpec,
        reader: Box<dyn Read + Send>,
        compression: Compression,
        /// Bytes read after the last LF of the previous chunk.
        carry: Vec<u8>,
        eof: bool,
    },
}

/// Produces the chunks of a list of inputs, in order.
pub struct Chunker {
    pending: VecDeque<InputSpec>,
    current: Option<Current>,
    config: ChunkConfig,
    ended: bool,
    errors: Vec<InputError>,
    /// Index of the current input; `usize::MAX` before the first.
    input: usize,
    /// Lines of the current input before the next chunk.
    lines_before: u64,
    /// Chunks handed out so far.
    handed_out: u64,
    /// Inputs found truncated while they were read, reported when their
    /// maps are dropped (possibly after the last chunk was handed out).
    late: Reports,
}

impl Chunker {
    pub fn new(inputs: Vec<InputSpec>, config: ChunkConfig) -> Chunker {
        Chunker {
            pending: inputs.into(),
            current: None,
            config,
            ended: false,
            errors: Vec::new(),
            input: usize::MAX,
            lines_before: 0,
            handed_out: 0,
            late: Reports::default(),
        }
    }

    /// The next chunk, or `None` at the end of all inputs. `spare` is an empty
    /// or recycled buffer that a stream chunk may fill.
    ///
    /// An input that cannot be opened is skipped, and one that fails part
    /// way (a truncated `.gz`) ends with the lines read before the damage;
    /// either way the error is kept for [`Chunker::take_errors`], so one bad
    /// file neither hides the others nor loses what could be read.
    pub fn next_chunk(&mut self, spare: Vec<u8>) -> Option<Chunk> {
        let mut spare = spare;
        loop {
            if self.ended {
                return None;
            }
            if self.current.is_none() {
                match self.pending.pop_front() {
                    None => return None,
                    Some(spec) => {
                        self.input = self.input.wrapping_add(1);
                        self.lines_before = 0;
                        let opened = match input::open(&spec, &self.late) {
                            Ok(opened) => opened,
                            Err(e) => {
                                self.errors.push(e);
                                continue;
                            }
                        };
                        self.current = Some(match opened {
                            Opened::Mapped { map, start } => Current::Mapped { map, pos: start },
                            Opened::Stream {
                                reader,
                                compression,
                            } => Current::Stream {
                                spec,
                                reader,
                                compression,
                                carry: Vec::new(),
                                eof: false,
                            },
                        });
                    }
                }
            }
            let chunk = match self.current.as_mut().expect("an input is open") {
                Current::Mapped { map, pos } => {
                    next_mapped(map, pos, &self.config).map(|range| Body::Mapped {
                        map: Arc::clone(map),
                        range,
                    })
                }
                Current::Stream {
                    spec,
                    reader,
                    compression,
                    carry,
                    eof,
                } => {
                    let mut failure = None;
                    let filled =
                        fill_stream(reader, carry, eof, &mut spare, &self.config, &mut failure);
                    if let Some(e) = failure {
                        self.errors.push(input::read_error(spec, *compression, e));
                    }
                    filled.map(|len| Body::Owned {
                        buf: std::mem::take(&mut spare),
                        len,
                    })
                }
            };
            let Some(body) = chunk else {
                self.current = None;
                continue;
            };
            let mut chunk = self.apply_line_limit(Chunk {
                body,
                input: self.input,
                first_line: 0,
                seq: self.handed_out,
            });
            self.handed_out += 1;
            if self.config.count_lines {
                chunk.first_line = self.lines_before + 1;
                self.lines_before += memchr::memchr_iter(b'\n', &chunk).count() as u64;
            }
            return Some(chunk);
        }
    }

    /// The inputs that could not be opened or read to their end, so far.
    pub fn take_errors(&mut self) -> Vec<InputError> {
        let mut errors = std::mem::take(&mut self.errors);
        errors.extend(late_errors(&self.late));
        errors
    }

    /// Where inputs found truncated are reported once every chunk of
    /// theirs is dropped: [`late_errors`] reads it after the workers end.
    pub fn late_reports(&self) -> LateErrors {
        LateErrors(Arc::clone(&self.late))
    }

    /// Cuts the chunk before the first over-long line, and ends all input
    /// there.
    fn apply_line_limit(&mut self, chunk: Chunk) -> Chunk {
        let Some(limit) = self.config.end_at_line_len else {
            return chunk;
        };
        let Some(start) = first_long_line(&chunk, limit) else {
            return chunk;
        };
        self.ended = true;
        if let Some(Current::Stream {
            spec,
            reader,
            compression,
            eof: false,
            ..
        }) = self.current.take()
        {
            // The input ends here, but a damaged compressed file must still
            // say so: decode the rest, keeping nothing.
            if compression != Compression::None {
                if let Some(e) = drain(reader) {
                    self.errors.push(input::read_error(&spec, compression, e));
                }
            }
        }
        let body = match chunk.body {
            Body::Mapped { map, range } => Body::Mapped {
                map,
                range: range.start..range.start + start,
            },
            Body::Owned { buf, .. } => Body::Owned { buf, len: start },
        };
        Chunk { body, ..chunk }
    }
}

/// Errors of inputs truncated while read, reported as their maps drop.
pub struct LateErrors(Reports);

impl LateErrors {
    /// The truncations reported so far.
    pub fn take(&self) -> Vec<InputError> {
        late_errors(&self.0)
    }
}

fn late_errors(reports: &Reports) -> Vec<InputError> {
    reports
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default()
}

/// Reads `reader` to its end, keeping nothing; the error that ends it early.
fn drain(mut reader: Box<dyn Read + Send>) -> Option<std::io::Error> {
    let mut scratch = vec![0u8; 1 << 16];
    let (mut eof, mut failure) = (false, None);
    while !eof {
        read_some(&mut reader, &mut scratch, &mut eof, &mut failure);
    }
    failure
}

/// One read into `buf`, retried when interrupted: the bytes read. At the
/// end, or on an error (left in `failure`), `eof` is set and 0 returned.
fn read_some(
    reader: &mut Box<dyn Read + Send>,
    buf: &mut [u8],
    eof: &mut bool,
    failure: &mut Option<std::io::Error>,
) -> usize {
    loop {
        match reader.read(buf) {
            Ok(0) => *eof = true,
            Ok(n) => return n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                *failure = Some(e);
                *eof = true;
            }
        }
        return 0;
    }
}

/// The range of the next chunk of a mapped file, or `None` at its end.
/// A file found shorter than its map (truncated by someone else) ends
/// where it now ends, and is reported.
fn next_mapped(map: &GuardedMap, pos: &mut usize, config: &ChunkConfig) -> Option<Range<usize>> {
    let now = map.current_len();
    if now < map.len() {
        map.mark_shrunk();
    }
    let len = now.min(map.len());
    if *pos >= len {
        return None;
    }
    let start = *pos;
    let target = start.saturating_add(config.mapped_chunk.max(1)).min(len);
    let next_end = |from: usize| match memchr(b'\n', &map[from..len]) {
        Some(i) => from + i + 1,
        None => len,
    };
    let mut end = if target >= len {
        len
    } else {
        next_end(target - 1)
    };
    if let Some(joins) = config.joins_next {
        let limit = end.saturating_add(config.max_line.unwrap_or(usize::MAX));
        while end < len && end < limit && joins(last_line(&map[start..end])) {
            end = next_end(end);
        }
    }
    *pos = end;
    Some(start..end)
}

/// The last line of `data` (which ends with its LF), without the LF.
fn last_line(data: &[u8]) -> &[u8] {
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    match memrchr(b'\n', body) {
        Some(i) => &body[i + 1..],
        None => body,
    }
}

/// Fills `buf` with the next run of whole lines of a stream; returns its
/// length, or `None` at the end of the stream. A read error ends the stream
/// as if it were its end, and is left in `failure`.
fn fill_stream(
    reader: &mut Box<dyn Read + Send>,
    carry: &mut Vec<u8>,
    eof: &mut bool,
    buf: &mut Vec<u8>,
    config: &ChunkConfig,
    failure: &mut Option<std::io::Error>,
) -> Option<usize> {
    let block = config.stream_chunk.max(1);
    let mut filled = carry.len();
    if buf.len() < block.max(filled) {
        buf.resize(block.max(filled), 0);
    }
    buf[..filled].copy_from_slice(carry);
    carry.clear();
    // Bytes before `scanned` are known to hold no LF but the one that ends
    // at `line_start`.
    let mut scanned = 0;
    let mut line_start = 0;
    let mut target = block;
    loop {
        while filled < target && !*eof {
            if buf.len() < target {
                buf.resize(target, 0);
            }
            filled += read_some(reader, &mut buf[filled..target], eof, failure);
        }
        if *eof {
            return if filled == 0 { None } else { Some(filled) };
        }
        if let Some(i) = memrchr(b'\n', &buf[scanned..filled]) {
            let mut end = scanned + i + 1;
            line_start = end;
            if let Some(joins) = config.joins_next {
                // Leave the parts of a split line for the next chunk, unless
                // they are all this chunk holds (then read on, up to the
                // line limit).
                let mut cut = end;
                while cut > 0 && joins(last_line(&buf[..cut])) {
                    cut = memrchr(b'\n', &buf[..cut - 1]).map_or(0, |j| j + 1);
                }
                let capped = config.max_line.is_some_and(|max| end > max);
                if cut > 0 {
                    end = cut;
                } else if !capped {
                    scanned = filled;
                    target = filled + block;
                    continue;
                }
            }
            carry.extend_from_slice(&buf[end..filled]);
            return Some(end);
        }
        // One line longer than a block. Once it is known to pass the
        // line limit, the input ends at its start, so stop reading.
        if let Some(limit) = config.end_at_line_len {
            if filled - line_start >= limit {
                return Some(filled);
            }
        }
        if let Some(max) = config.max_line {
            if filled - line_start > max {
                let keep = line_start + max + 1;
                return Some(skip_rest_of_line(
                    reader, carry, eof, buf, keep, block, failure,
                ));
            }
        }
        scanned = filled;
        target = filled + block;
    }
}

/// Keeps the first `keep` bytes of the line filling `buf`, reads and drops
/// the rest of it, and returns the length of the kept part with an LF
/// after it; what follows the line's end goes to `carry`.
fn skip_rest_of_line(
    reader: &mut Box<dyn Read + Send>,
    carry: &mut Vec<u8>,
    eof: &mut bool,
    buf: &mut Vec<u8>,
    keep: usize,
    block: usize,
    failure: &mut Option<std::io::Error>,
) -> usize {
    buf.resize(keep + 1 + block, 0);
    let scratch = keep + 1;
    while !*eof {
        let n = read_some(reader, &mut buf[scratch..scratch + block], eof, failure);
        if let Some(i) = memchr(b'\n', &buf[scratch..scratch + n]) {
            carry.extend_from_slice(&buf[scratch + i + 1..scratch + n]);
            break;
        }
    }
    buf[keep] = b'\n';
    keep + 1
}

/// The start of the first line at least `limit` bytes long (LF excluded).
///
/// Such a line covers at least one multiple of `limit / 2`, so looking at the
/// line around each of those offsets finds it without scanning every byte.
pub fn first_long_line(data: &[u8], limit: usize) -> Option<usize> {
    let stride = (limit / 2).max(1);
    let mut probe = 0;
    while probe < data.len() {
        let start = match memrchr(b'\n', &data[..probe]) {
            Some(i) => i + 1,
            None => 0,
        };
        let end = match memchr(b'\n', &data[probe..]) {
            Some(i) => probe + i,
            None => data.len(),
        };
        if end - start >= limit {
            return Some(start);
        }
        // The next line starts after `end`; jump to the next probe past it.
        let next = probe + stride;
        probe = if end + 1 > next {
            (end + 1).div_ceil(stride) * stride
        } else {
            next
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_first_long(data: &[u8], limit: usize) -> Option<usize> {
        let mut start = 0;
        for line in data.split(|&b| b == b'\n') {
            if line.len() >= limit && start <= data.len() {
                return Some(start);
            }
            start += line.len() + 1;
        }
        None
    }

    #[test]
    fn long_line_probe_matches_naive_scan() {
        let mut rng = 12345u64;
        for _ in 0..2000 {
            let mut data = Vec::new();
            let lines = (rng % 7) as usize;
            for _ in 0..lines {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let len = ((rng >> 33) % 40) as usize;
                data.extend(std::iter::repeat_n(b'x', len));
                data.push(b'\n');
            }
            if rng & 1 == 0 {
                data.pop();
            }
            for limit in [1usize, 2, 3, 5, 8, 16, 33] {
                assert_eq!(
                    first_long_line(&data, limit),
                    naive_first_long(&data, limit),
                    "limit {limit} data {:?}",
                    String::from_utf8_lossy(&data)
                );
            }
        }
    }

    fn chunks_of(inputs: Vec<InputSpec>, config: ChunkConfig) -> Vec<Vec<u8>> {
        let mut c = Chunker::new(inputs, config);
        let mut out = Vec::new();
        while let Some(ch) = c.next_chunk(Vec::new()) {
            out.push(ch.to_vec());
        }
        out
    }

    #[test]
    fn chunks_end_on_lines_and_cover_the_file() {
        let dir = std::env::temp_dir().join(format!("haplog-chunk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.log");
        let mut data = Vec::new();
        for i in 0..5000 {
            data.extend_from_slice(format!("line {i} {}\n", "y".repeat(i % 97)).as_bytes());
        }
        data.extend_from_slice(b"last without lf");
        std::fs::write(&path, &data).unwrap();
        for size in [1usize, 7, 100, 4096, 1 << 20] {
            let config = ChunkConfig {
                mapped_chunk: size,
                stream_chunk: size,
                end_at_line_len: None,
                count_lines: false,
                max_line: None,
                joins_next: None,
            };
            let chunks = chunks_of(vec![InputSpec::Path(path.clone())], config);
            assert_eq!(chunks.concat(), data);
            for c in &chunks[..chunks.len() - 1] {
                assert_eq!(c.last(), Some(&b'\n'));
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn numbered_lines(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("line {i} {}\n", "z".repeat(i % 31)).into_bytes())
            .collect()
    }

    #[test]
    fn gzip_and_zstd_files_read_as_their_text() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("haplog-chunk-z-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = numbered_lines(20_000);
        let gz = dir.join("a.log.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&data).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let zst = dir.join("a.log.zst");
        std::fs::write(&zst, zstd::encode_all(&data[..], 1).unwrap()).unwrap();
        for path in [gz, zst] {
            let config = ChunkConfig {
                mapped_chunk: 4096,
                stream_chunk: 4096,
                end_at_line_len: None,
                count_lines: false,
                max_line: None,
                joins_next: None,
            };
            let mut chunker = Chunker::new(vec![InputSpec::Path(path.clone())], config);
            let mut read = Vec::new();
            while let Some(chunk) = chunker.next_chunk(Vec::new()) {
                assert_eq!(chunk.last(), Some(&b'\n'), "{}", path.display());
                read.extend_from_slice(&chunk);
            }
            assert!(chunker.take_errors().is_empty());
            assert!(read == data, "{} decodes to its text", path.display());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_truncated_gzip_keeps_its_readable_lines_and_says_so() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("haplog-chunk-cut-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = numbered_lines(50_000);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&data).unwrap();
        let full = enc.finish().unwrap();
        let cut = dir.join("cut.log.gz");
        std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
        let after = dir.join("after.log");
        std::fs::write(&after, b"after\n").unwrap();
        let mut chunker = Chunker::new(
            vec![InputSpec::Path(cut.clone()), InputSpec::Path(after)],
            ChunkConfig::default(),
        );
        let mut read = Vec::new();
        while let Some(chunk) = chunker.next_chunk(Vec::new()) {
            read.extend_from_slice(&chunk);
        }
        // Most of the first half of the text, a prefix of it, then the next file.
        let (got, next) = read.split_at(read.len() - b"after\n".len());
        assert_eq!(next, b"after\n");
        assert!(got.len() > data.len() / 4, "read only {} bytes", got.len());
        assert!(data.starts_with(got));
        let errors = chunker.take_errors();
        assert_eq!(errors.len(), 1);
        let message = errors[0].to_string();
        assert!(
            message.starts_with(&format!(
                "{}: truncated or corrupt gzip data",
                cut.display()
            )),
            "{message}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn chunks_know_their_input_and_first_line() {
        let dir = std::env::temp_dir().join(format!("haplog-chunk-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a.log");
        let b = dir.join("b.log");
        std::fs::write(&a, numbered_lines(3000)).unwrap();
        std::fs::write(&b, numbered_lines(1000)).unwrap();
        let config = ChunkConfig {
            mapped_chunk: 999,
            stream_chunk: 999,
            end_at_line_len: None,
            count_lines: true,
            max_line: None,
            joins_next: None,
        };
        let inputs = vec![
            InputSpec::Path(a),
            InputSpec::Path(dir.join("missing.log")),
            InputSpec::Path(b),
        ];
        let mut chunker = Chunker::new(inputs, config);
        let mut next_line = [1u64, 1, 1];
        while let Some(chunk) = chunker.next_chunk(Vec::new()) {
            assert_ne!(chunk.input, 1, "the missing file has no chunks");
            assert_eq!(chunk.first_line, next_line[chunk.input]);
            let first = chunk.split(|&b| b == b'\n').next().unwrap();
            let expected = format!("line {} ", chunk.first_line - 1);
            assert!(
                first.starts_with(expected.as_bytes()),
                "{:?}",
                String::from_utf8_lossy(first)
            );
            next_line[chunk.input] += memchr::memchr_iter(b'\n', &chunk).count() as u64;
        }
        assert_eq!(next_line, [3001, 1, 1001]);
        assert_eq!(chunker.take_errors().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The chunks of `data` read as a stream (a pipe).
    fn streamed(data: &[u8], config: ChunkConfig) -> Vec<Vec<u8>> {
        let mut chunker = Chunker::new(Vec::new(), config);
        chunker.current = Some(Current::Stream {
            spec: InputSpec::Stdin,
            reader: Box::new(std::io::Cursor::new(data.to_vec())),
            compression: Compression::None,
            carry: Vec::new(),
            eof: false,
        });
        chunker.input = 0;
        let mut chunks = Vec::new();
        while let Some(chunk) = chunker.next_chunk(Vec::new()) {
            chunks.push(chunk.to_vec());
        }
        chunks
    }

    /// A stream of endless lines is read in bounded memory: each line keeps
    /// `max_line + 1` bytes and its LF, the rest is dropped, and the lines
    /// after it are whole.
    #[test]
    fn stream_lines_past_the_limit_are_cut_and_the_rest_read() {
        let mut data = b"short\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 100_000));
        data.extend_from_slice(b"\nafter\n");
        data.extend(std::iter::repeat_n(b'y', 50));
        for block in [7usize, 64, 4096, 1 << 20] {
            let config = ChunkConfig {
                mapped_chunk: block,
                stream_chunk: block,
                max_line: Some(30),
                ..ChunkConfig::default()
            };
            let chunks = streamed(&data, config);
            for chunk in &chunks {
                assert!(
                    chunk.len() <= 2 * block + 32,
                    "block {block}: {}",
                    chunk.len()
                );
            }
            let read = chunks.concat();
            // A cut line gets an LF; the input's own last line has none.
            let lines: Vec<&[u8]> = read
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .collect();
            assert_eq!(lines[0], b"short");
            // Cut to 31 bytes when it spans blocks; whole when a block
            // holds it (the memory is the block's either way).
            let x = lines[1].len();
            assert!(x == 31 || (x == 100_000 && block > x), "block {block}: {x}");
            assert!(lines[1].iter().all(|&b| b == b'x'));
            assert_eq!(lines[2], b"after");
            // The last line may reach the end before the limit: whole, then.
            assert!(lines[3].len() > 30 && lines[3].iter().all(|&b| b == b'y'));
            assert_eq!(lines.len(), 4, "block {block}");
        }
    }

    fn cri_partial(line: &[u8]) -> bool {
        line.starts_with(b"P ")
    }

    /// No chunk ends after a line that the next completes, from a map or a
    /// stream, whatever the chunk size.
    #[test]
    fn joined_lines_stay_in_one_chunk() {
        let mut data = Vec::new();
        for i in 0..300 {
            match i % 5 {
                0 | 1 => data.extend_from_slice(format!("P part {i}\n").as_bytes()),
                _ => data.extend_from_slice(format!("F line {i}\n").as_bytes()),
            }
        }
        let dir = std::env::temp_dir().join(format!("haplog-chunk-join-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.log");
        std::fs::write(&path, &data).unwrap();
        for size in [1usize, 5, 17, 100, 4096] {
            let config = ChunkConfig {
                mapped_chunk: size,
                stream_chunk: size,
                joins_next: Some(cri_partial),
                ..ChunkConfig::default()
            };
            let mapped = chunks_of(vec![InputSpec::Path(path.clone())], config.clone());
            for chunks in [mapped, streamed(&data, config)] {
                assert_eq!(chunks.concat(), data, "size {size}");
                for c in &chunks {
                    assert!(
                        !cri_partial(last_line(c)),
                        "size {size}: {:?}",
                        String::from_utf8_lossy(c)
                    );
                }
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
