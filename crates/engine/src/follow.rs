//! Following a log that grows, the way `tail -F` does, without losing the
//! lines written around a rotation.
//!
//! A [`Follower`] reads a file from an offset with plain reads (never a
//! memory map: a file truncated under a map raises SIGBUS) and hands out
//! chunks of whole lines as soon as they are written. At each end of file
//! it looks at the path again:
//!
//! - **rename** (`logrotate` without `copytruncate`) or **delete and
//!   re-create**: the path names another file. The old one is read to its
//!   end, and kept open and read for a grace period ([`FollowConfig::
//!   retire_after`] of silence), since a writer keeps writing to it until it
//!   reopens the path (rsyslog until its HUP, HAProxy's own `log` target
//!   never); then the new file is read from its start.
//! - **copytruncate**: the same file, now shorter than what was read. The
//!   lines written between the last read and the copy are in the copy, so
//!   the follower looks for it beside the file (`NAME.1`, `NAME-20240501`,
//!   ...: the newest sibling whose bytes just before the offset are the
//!   ones it last read) and reads it from the offset to its end first.
//! - **missing**: waits for the file to appear (a log not yet written).
//!
//! The last line of a file that is left (retired or truncated away) is
//! handed out even without its LF; a partial line of the current file waits
//! for its LF.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::chunk::Chunk;

/// How to follow.
#[derive(Clone, Debug)]
pub struct FollowConfig {
    /// Start at the end of the file as it is (`tail -F`), or read what is
    /// there first.
    pub from_start: bool,
    /// Most bytes read into one chunk.
    pub chunk_bytes: usize,
    /// How long a rotated-away file stays open after its last new byte.
    pub retire_after: Duration,
    /// Longest line kept whole; the rest of a longer one is dropped so that
    /// memory stays bounded (its first `max_line + 1` bytes are kept, for a
    /// reader to see it is too long).
    pub max_line: usize,
}

impl Default for FollowConfig {
    fn default() -> FollowConfig {
        FollowConfig {
            from_start: false,
            chunk_bytes: 1 << 20,
            retire_after: Duration::from_secs(5),
            max_line: 1 << 20,
        }
    }
}

/// What happened to the followed file, for a status line or a metric.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FollowStats {
    pub bytes: u64,
    /// The path named another file (rename, or delete and re-create).
    pub rotations: u64,
    /// The file was cut shorter than what had been read (copytruncate).
    pub truncations: u64,
    /// Bytes read from a rotated copy after a truncation.
    pub recovered_bytes: u64,
    /// Truncations with no copy to be found: the lines written since the
    /// last read are lost, as they are for `tail -F`.
    pub truncations_without_copy: u64,
}

/// An open file being read.
struct Open {
    file: File,
    identity: (u64, u64),
    offset: u64,
    /// Bytes after the last LF.
    carry: Vec<u8>,
    /// The carry is part of a line longer than `max_line`: drop until LF.
    skipping: bool,
    last_data: Instant,
    /// The last bytes read, to recognise a copy of this file.
    tail: Vec<u8>,
    /// Read into, kept from poll to poll.
    buf: Vec<u8>,
}

const FINGERPRINT: usize = 64;

impl Open {
    fn new(file: File, offset: u64) -> io::Result<Open> {
        let meta = file.metadata()?;
        Ok(Open {
            file,
            identity: (meta.dev(), meta.ino()),
            offset,
            carry: Vec::new(),
            skipping: false,
            last_data: Instant::now(),
            tail: Vec::new(),
            buf: Vec::new(),
        })
    }

    /// Reads up to `limit` new bytes onto the carry; the number read.
    fn read_more(&mut self, limit: usize, max_line: usize) -> io::Result<usize> {
        // One buffer for the file's life: a follower polls many times a
        // second, mostly to find nothing new.
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(limit.min(256 << 10), 0);
        let result = self.read_into(&mut buf, limit, max_line);
        self.buf = buf;
        result
    }

    fn read_into(&mut self, buf: &mut [u8], limit: usize, max_line: usize) -> io::Result<usize> {
        let mut total = 0;
        while total < limit {
            let n = match self.file.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            total += n;
            self.offset += n as u64;
            let read = &buf[..n];
            // Only the last bytes matter for the fingerprint.
            self.tail
                .extend_from_slice(&read[read.len().saturating_sub(FINGERPRINT)..]);
            if self.tail.len() > FINGERPRINT {
                self.tail.drain(..self.tail.len() - FINGERPRINT);
            }
            append_bounded(&mut self.carry, &mut self.skipping, read, max_line);
        }
        if total > 0 {
            self.last_data = Instant::now();
        }
        Ok(total)
    }

    /// The bytes just before the offset are still the ones read: a file cut
    /// and written again past the old offset between two looks is caught
    /// by its content, not only by its size.
    fn unchanged(&self) -> io::Result<bool> {
        use std::os::unix::fs::FileExt;
        let mut seen = vec![0u8; self.tail.len()];
        let at = self.offset - self.tail.len() as u64;
        match self.file.read_exact_at(&mut seen, at) {
            Ok(()) => Ok(seen == self.tail),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The whole lines read so far, out of the carry.
    fn whole_lines(&mut self) -> Vec<u8> {
        match memchr::memrchr(b'\n', &self.carry) {
            Some(at) => {
                let rest = self.carry.split_off(at + 1);
                std::mem::replace(&mut self.carry, rest)
            }
            None => Vec::new(),
        }
    }

    /// Everything left, the last line without its LF given one.
    fn everything(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.carry);
        if !out.is_empty() && out.last() != Some(&b'\n') {
            out.push(b'\n');
        }
        self.skipping = false;
        out
    }
}

/// Appends `read` to `carry`, keeping at most `max_line + 1` bytes of any
/// one line.
fn append_bounded(carry: &mut Vec<u8>, skipping: &mut bool, mut read: &[u8], max_line: usize) {
    while !read.is_empty() {
        let line_start = memchr::memrchr(b'\n', carry).map_or(0, |at| at + 1);
        match memchr::memchr(b'\n', read) {
            Some(at) => {
                if !*skipping {
                    let room = (max_line + 1).saturating_sub(carry.len() - line_start);
                    carry.extend_from_slice(&read[..at.min(room)]);
                }
                carry.push(b'\n');
                *skipping = false;
                read = &read[at + 1..];
            }
            None => {
                if !*skipping {
                    let room = (max_line + 1).saturating_sub(carry.len() - line_start);
                    carry.extend_from_slice(&read[..read.len().min(room)]);
                    *skipping = read.len() > room;
                }
                read = &[];
            }
        }
    }
}

/// Follows one path across rotations.
pub struct Follower {
    path: PathBuf,
    config: FollowConfig,
    current: Option<Open>,
    /// Files rotated away and still read until they fall silent.
    retiring: Vec<Open>,
    /// Bytes recovered from a rotated copy, handed out first.
    pending: Vec<u8>,
    stats: FollowStats,
    handed_out: u64,
    started: bool,
}

impl Follower {
    /// Follows `path`, which need not exist yet.
    pub fn new(path: impl Into<PathBuf>, config: FollowConfig) -> Follower {
        Follower {
            path: path.into(),
            config,
            current: None,
            retiring: Vec::new(),
            pending: Vec::new(),
            stats: FollowStats::default(),
            handed_out: 0,
            started: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn stats(&self) -> &FollowStats {
        &self.stats
    }

    /// The lines written since the last call, as one chunk (`None`: nothing
    /// new yet). Never blocks; call it again after a short sleep.
    pub fn poll(&mut self, spare: Vec<u8>) -> io::Result<Option<Chunk>> {
        let mut out = spare;
        out.clear();
        out.append(&mut self.pending);
        self.read_retiring(&mut out)?;
        self.read_current(&mut out)?;
        if out.is_empty() {
            return Ok(None);
        }
        self.stats.bytes += out.len() as u64;
        let len = out.len();
        let chunk = Chunk::owned(out, len, self.handed_out);
        self.handed_out += 1;
        Ok(Some(chunk))
    }

    fn read_retiring(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let (limit, max_line, quiet) = (
            self.config.chunk_bytes,
            self.config.max_line,
            self.config.retire_after,
        );
        let mut index = 0;
        while index < self.retiring.len() {
            let old = &mut self.retiring[index];
            old.read_more(limit, max_line)?;
            if old.last_data.elapsed() >= quiet {
                out.extend(old.everything());
                self.retiring.remove(index);
            } else {
                out.extend(old.whole_lines());
                index += 1;
            }
        }
        Ok(())
    }

    fn read_current(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let (limit, max_line) = (self.config.chunk_bytes, self.config.max_line);
        if self.current.is_none() && !self.open_path()? {
            return Ok(());
        }
        let current = self.current.as_mut().expect("opened above");
        // Cut shorter than what was read (copytruncate), or cut and written
        // again past the old offset (caught by content): before reading on
        // from a stale offset.
        if current.file.metadata()?.len() < current.offset || !current.unchanged()? {
            self.stats.truncations += 1;
            // What was not read yet of the old contents lives on in the
            // copy, if there is one; it goes on from the partial line.
            match find_copy(&self.path, current.offset, &current.tail) {
                Some(copy) => {
                    let rest = read_from(&copy, current.offset)?;
                    self.stats.recovered_bytes += rest.len() as u64;
                    append_bounded(&mut current.carry, &mut current.skipping, &rest, max_line);
                }
                None => self.stats.truncations_without_copy += 1,
            }
            out.extend(current.everything());
            current.file.seek(SeekFrom::Start(0))?;
            current.offset = 0;
            current.tail.clear();
        }
        let read = current.read_more(limit, max_line)?;
        out.extend(current.whole_lines());
        if read >= limit {
            // More to come at once: look at the path on a later call.
            return Ok(());
        }
        // At the end of the file: has the path moved on (renamed or
        // deleted, and maybe re-created)? Then the open file is read on as
        // a retiring one, since a writer may still hold it, until it falls
        // silent, and the path's new file, once there, from its start.
        let moved_on = match std::fs::metadata(&self.path) {
            Ok(meta) => (meta.dev(), meta.ino()) != current.identity,
            Err(e) if e.kind() == io::ErrorKind::NotFound => true,
            Err(e) => return Err(e),
        };
        if moved_on {
            self.stats.rotations += 1;
            let old = self.current.take().expect("opened above");
            self.retiring.push(old);
            if self.open_path()? {
                let current = self.current.as_mut().expect("just opened");
                current.read_more(limit, max_line)?;
                out.extend(current.whole_lines());
            }
        }
        Ok(())
    }

    /// Opens the path if it exists; at the very first open, at its end
    /// unless `from_start`.
    fn open_path(&mut self) -> io::Result<bool> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.started = true;
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        let mut offset = 0;
        if !self.started && !self.config.from_start {
            offset = file.metadata()?.len();
        }
        self.started = true;
        let mut open = Open::new(file, offset)?;
        open.file.seek(SeekFrom::Start(offset))?;
        self.current = Some(open);
        Ok(true)
    }
}

/// The newest uncompressed sibling of `path` (`NAME.1`, `NAME-DATE`) that
/// is at least `offset` long and holds `fingerprint` just before it: the
/// copy copytruncate made.
fn find_copy(path: &Path, offset: u64, fingerprint: &[u8]) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut candidates: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let file_name = entry.file_name().into_string().ok()?;
            let rest = file_name.strip_prefix(name)?;
            let sibling = rest.starts_with('.') || rest.starts_with('-');
            let compressed = [".gz", ".zst", ".xz", ".bz2"]
                .iter()
                .any(|ext| rest.ends_with(ext));
            let meta = entry.metadata().ok()?;
            if !(sibling && !compressed && meta.is_file() && meta.len() >= offset) {
                return None;
            }
            Some((meta.modified().ok()?, entry.path()))
        })
        .collect();
    candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
    candidates.into_iter().map(|(_, p)| p).find(|candidate| {
        let start = offset.saturating_sub(fingerprint.len() as u64);
        let mut seen = vec![0u8; (offset - start) as usize];
        File::open(candidate)
            .and_then(|mut f| {
                f.seek(SeekFrom::Start(start))?;
                f.read_exact(&mut seen)
            })
            .is_ok()
            && seen == fingerprint[fingerprint.len() - seen.len()..]
    })
}

/// The bytes of `path` from `offset` to its end.
fn read_from(path: &Path, offset: u64) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut rest = Vec::new();
    file.read_to_end(&mut rest)?;
    Ok(rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("haplog-follow-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn config() -> FollowConfig {
        FollowConfig {
            from_start: true,
            chunk_bytes: 4096,
            retire_after: Duration::from_millis(300),
            max_line: 1 << 16,
        }
    }

    /// Polls until `done` is set and the follower has been quiet past
    /// its retire time; the line numbers seen.
    fn follow_until(follower: &mut Follower, done: &AtomicBool) -> Vec<u64> {
        let mut seen = Vec::new();
        let mut quiet_since = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match follower.poll(Vec::new()).unwrap() {
                Some(chunk) => {
                    quiet_since = Instant::now();
                    for line in chunk.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                        let text = std::str::from_utf8(line).unwrap();
                        let number = text.strip_prefix("line ").unwrap_or(text);
                        seen.push(number.parse().unwrap_or_else(|_| panic!("{text:?}")));
                    }
                }
                None => {
                    if done.load(Ordering::SeqCst)
                        && quiet_since.elapsed() > Duration::from_millis(800)
                    {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        seen
    }

    /// A writer appends numbered lines through every kind of rotation;
    /// the follower sees each line exactly once.
    #[test]
    fn no_line_lost_or_doubled_across_rotations() {
        let dir = scratch("rotations");
        let path = dir.join("traffic.log");
        let done = Arc::new(AtomicBool::new(false));
        let writer = {
            let (path, dir, done) = (path.clone(), dir.clone(), done.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                let open = || {
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .unwrap()
                };
                let mut file = open();
                let write = |file: &mut File, count: u64, n: &mut u64| {
                    for _ in 0..count {
                        writeln!(file, "line {n}").unwrap();
                        *n += 1;
                        if n.is_multiple_of(50) {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                    }
                };
                write(&mut file, 500, &mut n);
                // Rename: the writer goes on in the renamed file a while
                // (rsyslog before its HUP), then reopens the path.
                std::fs::rename(&path, dir.join("traffic.log.1")).unwrap();
                write(&mut file, 200, &mut n);
                file = open();
                write(&mut file, 500, &mut n);
                // copytruncate: copy, then cut the file to nothing, with no
                // read by the follower in between.
                std::fs::copy(&path, dir.join("traffic.log.2")).unwrap();
                file.set_len(0).unwrap();
                write(&mut file, 500, &mut n);
                // Delete and re-create.
                std::fs::remove_file(&path).unwrap();
                file = open();
                write(&mut file, 500, &mut n);
                // A last line without its LF, ended by a rename away.
                write!(file, "line {n}").unwrap();
                n += 1;
                std::fs::rename(&path, dir.join("traffic.log.3")).unwrap();
                done.store(true, Ordering::SeqCst);
                n
            })
        };
        let mut follower = Follower::new(&path, config());
        let mut seen = follow_until(&mut follower, &done);
        let written = writer.join().unwrap();
        seen.sort_unstable();
        let expected: Vec<u64> = (0..written).collect();
        let doubled = seen.windows(2).filter(|w| w[0] == w[1]).count();
        assert_eq!(doubled, 0, "lines seen twice");
        assert_eq!(seen.len() as u64, written, "{:?}", follower.stats());
        assert_eq!(seen, expected);
        let stats = follower.stats();
        assert!(stats.rotations >= 2, "{stats:?}");
        assert_eq!(stats.truncations, 1, "{stats:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn starts_at_the_end_and_waits_for_a_missing_file() {
        let dir = scratch("start");
        let path = dir.join("a.log");
        let mut follower = Follower::new(&path, FollowConfig::default());
        assert!(follower.poll(Vec::new()).unwrap().is_none(), "no file yet");
        std::fs::write(&path, "old 1\nold 2\n").unwrap();
        // A file that appears after the start is read from its start.
        let chunk = follower.poll(Vec::new()).unwrap().unwrap();
        assert_eq!(&chunk[..], b"old 1\nold 2\n");
        // An existing file is followed from its end.
        let mut at_end = Follower::new(&path, FollowConfig::default());
        assert!(at_end.poll(Vec::new()).unwrap().is_none());
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        write!(file, "new 3\nnew").unwrap();
        assert_eq!(&at_end.poll(Vec::new()).unwrap().unwrap()[..], b"new 3\n");
        // A partial line waits for its LF.
        assert!(at_end.poll(Vec::new()).unwrap().is_none());
        writeln!(file, " 4").unwrap();
        assert_eq!(&at_end.poll(Vec::new()).unwrap().unwrap()[..], b"new 4\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_long_line_keeps_its_head_only() {
        let mut carry = Vec::new();
        let mut skipping = false;
        append_bounded(&mut carry, &mut skipping, b"ab\ncdefgh", 3);
        append_bounded(&mut carry, &mut skipping, b"ijk\nl", 3);
        assert_eq!(carry, b"ab\ncdef\nl");
    }

    fn lines(chunk: Option<Chunk>) -> Vec<String> {
        chunk
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn numbered(range: std::ops::Range<u32>) -> String {
        range.map(|n| format!("line {n}\n")).collect()
    }

    /// copytruncate between two looks: the lines written after the last
    /// read come from the copy, even when the file has already grown past
    /// the old offset again (caught by content, not by size).
    #[test]
    fn copytruncate_recovers_unread_lines_from_the_copy() {
        for regrown in [false, true] {
            let dir = scratch(if regrown { "regrown" } else { "cut" });
            let path = dir.join("t.log");
            let append = |text: &str| {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .unwrap();
                file.write_all(text.as_bytes()).unwrap();
            };
            append(&numbered(0..100));
            let mut follower = Follower::new(&path, config());
            assert_eq!(lines(follower.poll(Vec::new()).unwrap()).len(), 100);
            append(&numbered(100..150));
            std::fs::copy(&path, dir.join("t.log.1")).unwrap();
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(0)
                .unwrap();
            let after = if regrown { 150..400 } else { 150..160 };
            append(&numbered(after.clone()));
            let mut seen = Vec::new();
            while let Some(chunk) = follower.poll(Vec::new()).unwrap() {
                seen.extend(lines(Some(chunk)));
            }
            let want: Vec<String> = (100..after.end).map(|n| format!("line {n}")).collect();
            assert_eq!(seen, want, "regrown {regrown}");
            assert_eq!(follower.stats().truncations, 1);
            assert_eq!(
                follower.stats().recovered_bytes,
                numbered(100..150).len() as u64
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
