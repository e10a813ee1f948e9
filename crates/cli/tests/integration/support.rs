//! Helpers the end-to-end tests share: the binary under test, processes
//! that die with the test, free loopback ports.

// Processes and ports serve the load suites, built with the `load` feature.
#![cfg_attr(not(feature = "load"), allow(dead_code))]

use std::process::Child;
use std::time::{Duration, Instant};

/// The `haplog` binary under test, as a command to add arguments to: the
/// one way every test starts it.
pub fn haplog() -> std::process::Command {
    std::process::Command::new(HAPLOG)
}

/// Where the binary under test is (for a symlink named `halog`).
pub const HAPLOG: &str = env!("CARGO_BIN_EXE_haplog");

/// A child process killed (and reaped) when the test lets go of it.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `child` SIGINT, as Ctrl-C in its terminal would.
pub fn ctrl_c(child: &Child) {
    // SAFETY: kill(2) on the pid of a child this test started and has not
    // reaped.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
}

/// A process started with its output piped: killed when dropped.
pub struct Piped {
    pub child: Killed,
    pub stdout: std::io::BufReader<std::process::ChildStdout>,
    pub stderr: std::io::BufReader<std::process::ChildStderr>,
}

/// Starts `command` without standard input, its output piped for the
/// test to read (what it writes must be read, or it blocks).
pub fn spawn_piped(command: &mut std::process::Command) -> Piped {
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    Piped {
        child: Killed(child),
        stdout,
        stderr,
    }
}

/// Whether `ready` holds within `limit`, asked every 10 ms.
pub fn within(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !ready() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// A loopback port nothing listens on (now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on `port` (at most `limit`).
pub fn wait_for_port(port: u16, limit: Duration) {
    let deadline = Instant::now() + limit;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `command` (no stdin), which must succeed.
pub fn run_ok(command: &mut std::process::Command) -> std::process::Output {
    let out = command.stdin(std::process::Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `command`, which must succeed, and reads its stdout as JSON.
pub fn json_of(command: &mut std::process::Command) -> serde_json::Value {
    serde_json::from_slice(&run_ok(command).stdout).unwrap()
}

/// An empty directory of the test's own under the target's temporary
/// directory (what an earlier run left there is removed first).
pub fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
