//! Output longer than the terminal goes through a pager, as git does it:
//! `HAPLOG_PAGER`, else `PAGER`, else `less`, run by the shell; `LESS`
//! defaults to `FRX` (quit when it fits, keep colours, leave the screen
//! as it was). Never in a pipe or a file, never with `--no-pager`.

use std::io::{self, IsTerminal, Write};
use std::process::{Command, Stdio};

/// The terminal's size (columns, rows), if standard output is one.
pub fn terminal_size() -> Option<(usize, usize)> {
    // SAFETY: TIOCGWINSZ fills a winsize; a zeroed one is a valid start.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some((usize::from(size.ws_col), usize::from(size.ws_row)))
}

/// The pager's command, unless paging is off or pointless.
fn pager_command() -> Option<String> {
    let command = std::env::var("HAPLOG_PAGER")
        .or_else(|_| std::env::var("PAGER"))
        .unwrap_or_else(|_| "less".to_string());
    let command = command.trim().to_string();
    (!command.is_empty() && command != "cat").then_some(command)
}

/// Writes `out` to standard output, through the pager when `allowed`,
/// standard output is a terminal and `out` has more lines than it.
pub fn write(out: &[u8], allowed: bool) -> io::Result<()> {
    let stdout = io::stdout();
    // A terminal that does not say its height gets the text as it is: a
    // pager waiting for keys nobody presses would hang a script.
    let taller = || match terminal_size() {
        Some((_, rows)) if rows > 0 => out.iter().filter(|&&b| b == b'\n').count() >= rows,
        _ => false,
    };
    if allowed && stdout.is_terminal() && taller() {
        if let Some(command) = pager_command() {
            let mut pager = Command::new("sh");
            pager.args(["-c", &command]).stdin(Stdio::piped());
            if std::env::var_os("LESS").is_none() {
                pager.env("LESS", "FRX");
            }
            if std::env::var_os("LV").is_none() {
                pager.env("LV", "-c");
            }
            // A pager that cannot start: the text goes out as it is.
            if let Ok(mut child) = pager.spawn() {
                if let Some(mut input) = child.stdin.take() {
                    match input.write_all(out) {
                        // The reader quit the pager before the end.
                        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                        other => other?,
                    }
                }
                child.wait()?;
                return Ok(());
            }
        }
    }
    let mut stdout = stdout.lock();
    stdout.write_all(out)?;
    stdout.flush()
}
