//! A small HTTP/1.1 server for `/metrics` and the web view (`/`, its
//! server-sent events at `/events`, `/snapshot.json`): each request
//! becomes a question to the thread that owns the figures, which answers
//! with the page; no figures are shared under a lock.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

/// The pages served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// `/metrics`, Prometheus' text format.
    Metrics,
    /// The web view's figures: every window, the total and the last
    /// minute per second, as JSON.
    Snapshot,
}

/// What a server serves beyond `/metrics`.
#[derive(Clone, Copy, Debug)]
pub struct Serve {
    /// The web view: `/`, `/events`, `/snapshot.json`.
    pub web: bool,
    /// How often `/events` sends the figures.
    pub every: Duration,
}

/// The web view's page: no external resource.
const PAGE: &str = include_str!("web/page.html");

/// The live page with the style every haplog page shares put in.
pub fn page() -> &'static str {
    static SHARED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        PAGE.replacen(
            "/* haplog-style: the shared style goes here; the rules below are the live view's own. */",
            haplog_report::html::STYLE,
            1,
        )
    })
}

/// The page's script, which inserts every log value as text.
pub const SCRIPT: &str = include_str!("web/app.js");

/// The page may run this server's script (no inline script, so no inline
/// event handler either: markup slipped into the page could run nothing),
/// use its own inline style and talk to this server, nothing else.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A question for the owner of the figures: the text of `page`.
pub struct Ask {
    pub page: Page,
    pub reply: Sender<String>,
}

/// Connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 32;

/// Serves on `addr` (port 0 picks one) until the process ends; gives the
/// address bound.
pub fn serve(addr: SocketAddr, asks: Sender<Ask>, serve: Serve) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    std::thread::spawn(move || {
        let open = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            if open.load(std::sync::atomic::Ordering::Relaxed) >= MAX_CONNECTIONS {
                let _ = respond(stream, "503 Service Unavailable", "text/plain", b"busy\n");
                continue;
            }
            open.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (asks, open) = (asks.clone(), open.clone());
            std::thread::spawn(move || {
                let _ = handle(stream, &asks, serve);
                open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            });
        }
    });
    Ok(bound)
}

fn handle(mut stream: TcpStream, asks: &Sender<Ask>, serve: Serve) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut buf = [0; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 || head.len() > 16 << 10 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut words = line.split(|&b| b == b' ');
    let (method, target) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    );
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    if method != b"GET" && method != b"HEAD" {
        return respond(
            stream,
            "405 Method Not Allowed",
            "text/plain",
            b"GET only\n",
        );
    }
    let page = match path {
        b"/metrics" => Page::Metrics,
        b"/snapshot.json" if serve.web => Page::Snapshot,
        b"/" if serve.web => {
            return respond_with(
                stream,
                "200 OK",
                "text/html; charset=utf-8",
                &[("Content-Security-Policy", PAGE_POLICY)],
                page().as_bytes(),
            )
        }
        b"/app.js" if serve.web => {
            return respond_with(
                stream,
                "200 OK",
                "text/javascript; charset=utf-8",
                &[("Content-Security-Policy", PAGE_POLICY)],
                SCRIPT.as_bytes(),
            )
        }
        b"/events" if serve.web => return events(stream, asks, serve.every),
        _ => {
            let hint: &[u8] = if serve.web {
                b"not found: try /, /events, /snapshot.json or /metrics\n"
            } else {
                b"not found: try /metrics\n"
            };
            return respond(stream, "404 Not Found", "text/plain", hint);
        }
    };
    let Some(body) = ask(asks, page) else {
        return respond(
            stream,
            "503 Service Unavailable",
            "text/plain",
            b"stopping\n",
        );
    };
    let body = if method == b"HEAD" {
        &b""[..]
    } else {
        body.as_bytes()
    };
    let content_type = match page {
        Page::Metrics => "text/plain; version=0.0.4; charset=utf-8",
        Page::Snapshot => "application/json",
    };
    respond(stream, "200 OK", content_type, body)
}

/// The owner's answer for `page`; `None` once it has stopped.
fn ask(asks: &Sender<Ask>, page: Page) -> Option<String> {
    let (reply, answer) = mpsc::channel();
    asks.send(Ask { page, reply }).ok()?;
    answer.recv_timeout(Duration::from_secs(5)).ok()
}

/// Server-sent events: the figures every `every`, until the client goes.
fn events(mut stream: TcpStream, asks: &Sender<Ask>, every: Duration) -> io::Result<()> {
    stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: keep-alive\r\n\r\n",
    )?;
    while let Some(snapshot) = ask(asks, Page::Snapshot) {
        // One event: its data on one line (JSON has no raw newline).
        stream.write_all(b"data: ")?;
        stream.write_all(snapshot.as_bytes())?;
        stream.write_all(b"\n\n")?;
        stream.flush()?;
        std::thread::sleep(every);
    }
    Ok(())
}

fn respond(stream: TcpStream, status: &str, content_type: &str, body: &[u8]) -> io::Result<()> {
    respond_with(stream, status, content_type, &[], body)
}

fn respond_with(
    mut stream: TcpStream,
    status: &str,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n",
        body.len()
    )?;
    for (name, value) in headers {
        write!(stream, "{name}: {value}\r\n")?;
    }
    stream.write_all(b"\r\n")?;
    stream.write_all(body)?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_page_wears_the_shared_style() {
        let page = page();
        assert!(page.contains(haplog_report::html::STYLE));
        assert!(!page.contains("haplog-style"));
        // Its lines take the shared palette, as the report page's do.
        assert!(SCRIPT.contains("\"series-line \" + colour"));
        assert!(haplog_report::html::STYLE.contains("polyline.series-line"));
    }
}
