//! Memory maps that survive their file being truncated while they are read.
//!
//! Reading a page of a map past the end of its file raises SIGBUS, which
//! kills the process: what logrotate's `copytruncate` does to a live log
//! would end any command reading it, with no output. A process-wide SIGBUS
//! handler looks the faulting address up among the maps registered here;
//! for one of them it puts a page of zeros in place (the read goes on and
//! sees NULs, which readers skip) and marks the map, so that the input is
//! reported as truncated once it is dropped. A fault anywhere else gets the
//! default action, as if no handler were installed.

use std::fs::File;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};

use memmap2::Mmap;

use crate::input::{InputError, InputSpec};

/// Maps that can be registered at once; more are read unprotected.
const SLOTS: usize = 64;

static STARTS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static ENDS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static FAULTED: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
static PAGE: AtomicUsize = AtomicUsize::new(4096);
static INSTALL: Once = Once::new();

/// Where truncations are reported: the chunker's list of late errors.
pub(crate) type Reports = Arc<Mutex<Vec<InputError>>>;

/// A read-only map of a whole file, registered with the SIGBUS handler
/// while it lives.
pub(crate) struct GuardedMap {
    // Declared before `map`: the slot is released before the unmap, so the
    // address range is never claimed by a slot once it may be reused.
    slot: Option<usize>,
    map: Mmap,
    file: File,
    spec: InputSpec,
    /// The chunker saw the file shrink before handing out a chunk.
    shrunk: AtomicBool,
    reports: Reports,
}

impl GuardedMap {
    pub(crate) fn new(map: Mmap, file: File, spec: InputSpec, reports: Reports) -> GuardedMap {
        let slot = register(map.as_ptr() as usize, map.len());
        GuardedMap {
            slot,
            map,
            file,
            spec,
            shrunk: AtomicBool::new(false),
            reports,
        }
    }

    pub(crate) fn map(&self) -> &Mmap {
        &self.map
    }

    /// The file's size now (its map's length if it cannot be read).
    pub(crate) fn current_len(&self) -> usize {
        self.file
            .metadata()
            .map_or(self.map.len(), |m| m.len() as usize)
    }

    /// Notes that the file is shorter than its map: reported on drop.
    pub(crate) fn mark_shrunk(&self) {
        self.shrunk.store(true, Ordering::Relaxed);
    }

    fn faulted(&self) -> bool {
        self.slot
            .is_some_and(|i| FAULTED[i].load(Ordering::Relaxed))
    }
}

impl Deref for GuardedMap {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for GuardedMap {
    fn drop(&mut self) {
        let faulted = self.faulted();
        if let Some(i) = self.slot {
            ENDS[i].store(0, Ordering::SeqCst);
            STARTS[i].store(0, Ordering::SeqCst);
            FAULTED[i].store(false, Ordering::SeqCst);
        }
        if faulted || self.shrunk.load(Ordering::Relaxed) {
            let error = InputError::Truncated {
                input: self.spec.clone(),
                size: self.map.len() as u64,
                now: self.file.metadata().map_or(0, |m| m.len()),
            };
            if let Ok(mut reports) = self.reports.lock() {
                reports.push(error);
            }
        }
    }
}

/// Claims a slot for `[start, start + len)`; `None` when all are taken.
fn register(start: usize, len: usize) -> Option<usize> {
    INSTALL.call_once(install);
    if start == 0 || len == 0 {
        return None;
    }
    for i in 0..SLOTS {
        if STARTS[i]
            .compare_exchange(0, start, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            FAULTED[i].store(false, Ordering::SeqCst);
            ENDS[i].store(start + len, Ordering::SeqCst);
            return Some(i);
        }
    }
    None
}

fn install() {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page > 0 {
        PAGE.store(page as usize, Ordering::Relaxed);
    }
    // SAFETY: a zeroed sigaction is a valid starting point; the handler is
    // an `extern "C"` function of the SA_SIGINFO shape.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}

/// Runs in signal context: only atomics and the `mmap`/`signal` system
/// calls, no allocation, no lock.
extern "C" fn on_sigbus(
    _signal: libc::c_int,
    info: *mut libc::siginfo_t,
    _context: *mut libc::c_void,
) {
    // SAFETY: the kernel hands a valid siginfo to an SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    for i in 0..SLOTS {
        let start = STARTS[i].load(Ordering::SeqCst);
        let end = ENDS[i].load(Ordering::SeqCst);
        if start != 0 && addr >= start && addr < end {
            let page = PAGE.load(Ordering::Relaxed);
            let base = addr & !(page - 1);
            // SAFETY: the page lies inside a live read-only map of ours;
            // MAP_FIXED replaces just that page with zeros.
            let zeros = unsafe {
                libc::mmap(
                    base as *mut libc::c_void,
                    page,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if zeros != libc::MAP_FAILED {
                FAULTED[i].store(true, Ordering::SeqCst);
                return;
            }
        }
    }
    // Not ours: the default action, taken when the access runs again.
    // SAFETY: signal() is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGBUS, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A map whose file is cut to nothing reads as zeros past the cut,
    /// and says so when dropped.
    #[test]
    fn a_truncated_file_reads_as_zeros_and_is_reported() {
        let dir = std::env::temp_dir().join(format!("haplog-guard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.log");
        std::fs::write(&path, vec![b'x'; 5 * 4096 + 10]).unwrap();
        let file = File::open(&path).unwrap();
        // SAFETY: read-only map of a file this test owns.
        let map = unsafe { Mmap::map(&file) }.unwrap();
        let reports: Reports = Arc::default();
        let guarded = GuardedMap::new(map, file, InputSpec::Path(path.clone()), reports.clone());
        assert_eq!(guarded[0], b'x');
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(4096)
            .unwrap();
        assert_eq!(guarded[4095], b'x', "the page still in the file");
        let past: usize = guarded[4096..].iter().map(|&b| usize::from(b)).sum();
        assert_eq!(past, 0, "pages past the cut read as zeros");
        drop(guarded);
        let reports = reports.lock().unwrap();
        assert_eq!(reports.len(), 1);
        let message = reports[0].to_string();
        assert!(
            message.contains("a.log") && message.contains("truncated"),
            "{message}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
