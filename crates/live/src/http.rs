//! A small HTTP/1.1 server for `/metrics`: each request becomes a
//! question to the thread that owns the figures, which answers with the
//! page; no figures are shared under a lock.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

/// The pages served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// `/metrics`, Prometheus' text format.
    Metrics,
}

/// A question for the owner of the figures: the text of `page`.
pub struct Ask {
    pub page: Page,
    pub reply: Sender<String>,
}

/// Connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 32;

/// Serves on `addr` (port 0 picks one) until the process ends; gives the
/// address bound.
pub fn serve(addr: SocketAddr, asks: Sender<Ask>) -> io::Result<SocketAddr> {
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
                let _ = handle(stream, &asks);
                open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            });
        }
    });
    Ok(bound)
}

fn handle(mut stream: TcpStream, asks: &Sender<Ask>) -> io::Result<()> {
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
        _ => {
            return respond(
                stream,
                "404 Not Found",
                "text/plain",
                b"not found: try /metrics\n",
            )
        }
    };
    let (reply, answer) = mpsc::channel();
    if asks.send(Ask { page, reply }).is_err() {
        return respond(
            stream,
            "503 Service Unavailable",
            "text/plain",
            b"stopping\n",
        );
    }
    let body = answer
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_default();
    let body = if method == b"HEAD" {
        &b""[..]
    } else {
        body.as_bytes()
    };
    respond(
        stream,
        "200 OK",
        "text/plain; version=0.0.4; charset=utf-8",
        body,
    )
}

fn respond(mut stream: TcpStream, status: &str, content_type: &str, body: &[u8]) -> io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}
