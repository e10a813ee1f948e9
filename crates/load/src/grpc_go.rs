//! Responses read as grpc-go 1.56 reads them, so that every failure gets
//! the status and the words ghz prints.
//!
//! tonic's client differs from grpc-go on the failure paths: it decodes an
//! HTML error page as gRPC messages, calls a stream ended without trailers
//! `Unknown`, and names HTTP/2 errors in its own words. [`GrpcGo`] sits
//! between tonic and the connection and turns each such case into the
//! `tonic::Status` grpc-go's transport would give (tonic passes a `Status`
//! found in an error through unchanged). The rules follow grpc-go's
//! `internal/transport/http2_client.go` (`operateHeaders`, `handleData`,
//! `handleRSTStream`, `Close`) and `http_util.go` (its two tables).

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};
use tower_service::Service;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Metadata on a status whose call never reached the server's application
/// (a refused stream, a stream past a GOAWAY): grpc-go retries such a call
/// once, transparently.
const UNPROCESSED: &str = "x-haplog-unprocessed";

/// Whether `status` says its call was not processed, so may be retried.
pub fn unprocessed(status: &Status) -> bool {
    status.metadata().contains_key(UNPROCESSED)
}

/// A connection, answering as grpc-go would.
#[derive(Clone)]
pub struct GrpcGo<S> {
    inner: S,
    /// The dialled address, for grpc-go's "dial tcp ADDR: ..." words.
    dial: Arc<str>,
}

impl<S> GrpcGo<S> {
    pub fn new(inner: S, dial: &str) -> GrpcGo<S> {
        GrpcGo {
            inner,
            dial: dial.into(),
        }
    }

    /// The connection underneath.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S, ResBody> Service<http::Request<tonic::body::Body>> for GrpcGo<S>
where
    S: Service<http::Request<tonic::body::Body>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<GrpcGoBody<ResBody>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        let dial = self.dial.clone();
        self.inner
            .poll_ready(cx)
            .map_err(|e| Box::new(error_status(&*e.into(), &dial, true)) as BoxError)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        // A request body that fails (a message past --max-send-message-size)
        // makes the connection reset the stream; the body's own status is
        // the one to report.
        let failed: Arc<std::sync::Mutex<Option<Status>>> = Arc::default();
        let request = request.map(|inner| {
            tonic::body::Body::new(WatchedBody {
                inner,
                failed: failed.clone(),
            })
        });
        let future = self.inner.call(request);
        let dial = self.dial.clone();
        Box::pin(async move {
            let response = future.await.map_err(|e| {
                let own = failed.lock().ok().and_then(|mut f| f.take());
                Box::new(own.unwrap_or_else(|| error_status(&*e.into(), &dial, true))) as BoxError
            })?;
            if let Some(status) = header_status(response.status(), response.headers()) {
                return Err(Box::new(status) as BoxError);
            }
            // A trailers-only response has its grpc-status in the headers.
            let trailers_seen = response.headers().contains_key("grpc-status");
            Ok(response.map(|inner| GrpcGoBody {
                inner,
                trailers_seen,
                dial,
                done: false,
            }))
        })
    }
}

/// grpc-go's verdict on a response's headers: `None` when they are a gRPC
/// response (`:status` 200 and a gRPC content-type).
fn header_status(status: StatusCode, headers: &HeaderMap) -> Option<Status> {
    let content_type_error = match headers.get(http::header::CONTENT_TYPE) {
        None => Some("malformed header: missing HTTP content-type".to_string()),
        Some(value) => {
            let text = String::from_utf8_lossy(value.as_bytes());
            (!is_grpc_content_type(&text))
                .then(|| format!("transport: received unexpected content-type {text:?}"))
        }
    };
    let status_error = (status != StatusCode::OK).then(|| {
        format!(
            "unexpected HTTP status code received from server: {} ({})",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )
    });
    if status_error.is_none() && content_type_error.is_none() {
        return None;
    }
    let code = http_status_code(status);
    let words: Vec<String> = [status_error, content_type_error]
        .into_iter()
        .flatten()
        .collect();
    Some(Status::new(code, words.join("; ")))
}

/// `application/grpc`, or `application/grpc+proto` and the like (grpc-go's
/// `grpcutil.ContentSubtype`).
fn is_grpc_content_type(value: &str) -> bool {
    let value = value.to_ascii_lowercase();
    match value.strip_prefix("application/grpc") {
        Some("") => true,
        Some(rest) => rest.starts_with('+') || rest.starts_with(';'),
        None => false,
    }
}

/// The gRPC spec's HTTP-to-gRPC table (grpc-go's `HTTPStatusConvTab`).
fn http_status_code(status: StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

/// grpc-go's `http2ErrConvTab`, and Go's names of the codes.
fn rst_stream(reason: h2::Reason) -> (Code, String) {
    let (code, name) = match u32::from(reason) {
        0x0 => (Code::Internal, "NO_ERROR"),
        0x1 => (Code::Internal, "PROTOCOL_ERROR"),
        0x2 => (Code::Internal, "INTERNAL_ERROR"),
        0x3 => (Code::ResourceExhausted, "FLOW_CONTROL_ERROR"),
        0x4 => (Code::Internal, "SETTINGS_TIMEOUT"),
        0x5 => (Code::Internal, "STREAM_CLOSED"),
        0x6 => (Code::Internal, "FRAME_SIZE_ERROR"),
        0x7 => (Code::Unavailable, "REFUSED_STREAM"),
        0x8 => (Code::Cancelled, "CANCEL"),
        0x9 => (Code::Internal, "COMPRESSION_ERROR"),
        0xa => (Code::Internal, "CONNECT_ERROR"),
        0xb => (Code::ResourceExhausted, "ENHANCE_YOUR_CALM"),
        0xc => (Code::PermissionDenied, "INADEQUATE_SECURITY"),
        0xd => (Code::Internal, "HTTP_1_1_REQUIRED"),
        other => {
            return (
                Code::Unknown,
                format!(
                "stream terminated by RST_STREAM with error code: unknown error code 0x{other:x}"
            ),
            )
        }
    };
    (
        code,
        format!("stream terminated by RST_STREAM with error code: {name}"),
    )
}

/// The status grpc-go gives a call that failed below gRPC: a refused or
/// lost connection, a reset stream, a GOAWAY. `before_headers`: no
/// response headers had come.
fn error_status(error: &(dyn StdError + 'static), dial: &str, before_headers: bool) -> Status {
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    let mut dialing = false;
    while let Some(e) = source {
        dialing |= e.is::<tonic::ConnectError>();
        if e.is::<tonic::TimeoutExpired>() || e.is::<tokio::time::error::Elapsed>() {
            if dialing {
                return connection_error(&format!(
                    "transport: Error while dialing: dial tcp {dial}: i/o timeout"
                ));
            }
            // The call's deadline (-t), which tonic enforces itself.
            return Status::new(Code::DeadlineExceeded, "context deadline exceeded");
        }

        if let Some(status) = e.downcast_ref::<Status>() {
            return status.clone();
        }
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            if let Some(io) = h2.get_io() {
                return io_status(io, dial);
            }
            if let Some(reason) = h2.reason() {
                if h2.is_go_away() && h2.is_remote() {
                    // Streams past the GOAWAY's last stream id.
                    return unprocessed_status(
                        Code::Unavailable,
                        "the stream is rejected because server is draining the connection",
                    );
                }
                if h2.is_reset() && h2.is_remote() {
                    let (code, message) = rst_stream(reason);
                    // REFUSED_STREAM says the call was not processed. gRPC
                    // Core servers reset streams past their limit with
                    // ENHANCE_YOUR_CALM before any headers: streams grpc-go
                    // never opens, as it waits for the server's SETTINGS
                    // where h2 assumes 100 until they come. Both are retried.
                    let refused = reason == h2::Reason::REFUSED_STREAM
                        || (before_headers && reason == h2::Reason::ENHANCE_YOUR_CALM);
                    if refused {
                        return unprocessed_status(code, &message);
                    }
                    return Status::new(code, message);
                }
            }
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return io_status(io, dial);
        }
        if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
            if hyper.is_closed() || hyper.is_incomplete_message() {
                return connection_error("error reading from server: EOF");
            }
        }
        source = e.source();
    }
    connection_error(&format!("transport: {error}"))
}

/// An I/O error of the connection, in Go's words.
fn io_status(io: &std::io::Error, dial: &str) -> Status {
    use std::io::ErrorKind::*;
    let dialing = |what: &str| {
        connection_error(&format!(
            "transport: Error while dialing: dial tcp {dial}: {what}"
        ))
    };
    match io.kind() {
        ConnectionRefused => dialing("connect: connection refused"),
        TimedOut => dialing("i/o timeout"),
        HostUnreachable => dialing("connect: no route to host"),
        NetworkUnreachable => dialing("connect: network is unreachable"),
        ConnectionReset => {
            connection_error("error reading from server: read: connection reset by peer")
        }
        UnexpectedEof | BrokenPipe | ConnectionAborted | NotConnected => {
            connection_error("error reading from server: EOF")
        }
        _ => connection_error(&format!("error reading from server: {io}")),
    }
}

/// grpc-go's `ConnectionError` text, as a call on a closed transport gets
/// it: `Unavailable`.
fn connection_error(desc: &str) -> Status {
    Status::new(
        Code::Unavailable,
        format!("connection error: desc = {}", go_quote(desc)),
    )
}

/// Go's `%q` of a string: quoted, with `"` and `\` escaped.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn unprocessed_status(code: Code, message: &str) -> Status {
    let mut metadata = MetadataMap::new();
    metadata.insert(UNPROCESSED, "1".parse().expect("ASCII"));
    Status::with_metadata(code, message, metadata)
}

/// grpc-go's words for what tonic's codec reports in its own: a message
/// past `--max-recv-message-size` or `--max-send-message-size`
/// (`ResourceExhausted`, where tonic says `OutOfRange`).
pub fn codec_status(status: Status) -> Status {
    let sizes = |text: &str| -> Option<(String, String)> {
        let rest = text.split_once("found ")?.1;
        let (found, rest) = rest.split_once(" bytes, the limit is: ")?;
        let limit = rest.strip_suffix(" bytes")?;
        Some((found.to_string(), limit.to_string()))
    };
    if status.code() == Code::OutOfRange {
        let message = status.message();
        if let Some((found, limit)) = sizes(message) {
            if message.starts_with("Error, decoded message length too large") {
                return Status::new(
                    Code::ResourceExhausted,
                    format!("grpc: received message larger than max ({found} vs. {limit})"),
                );
            }
            if message.starts_with("Error, encoded message length too large") {
                return Status::new(
                    Code::ResourceExhausted,
                    format!("grpc: trying to send message larger than max ({found} vs. {limit})"),
                );
            }
        }
    }
    status
}

/// A response message must decode as the method's output type, as
/// grpc-go's codec unmarshals it: else `Internal`.
pub fn check_decodes(
    output: &prost_reflect::MessageDescriptor,
    message: &[u8],
) -> Result<(), Status> {
    match prost_reflect::DynamicMessage::decode(output.clone(), message) {
        Ok(_) => Ok(()),
        Err(_) => Err(Status::new(
            Code::Internal,
            // Go's protobuf names every malformed input alike.
            "grpc: failed to unmarshal the received message: proto: cannot parse invalid wire-format data",
        )),
    }
}

/// A request body that keeps the status it failed with.
struct WatchedBody {
    inner: tonic::body::Body,
    failed: Arc<std::sync::Mutex<Option<Status>>>,
}

impl Body for WatchedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(status))) = &polled {
            if let Ok(mut failed) = self.failed.lock() {
                *failed = Some(status.clone());
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that ends as grpc-go ends a stream: without trailers,
/// `Internal: server closed the stream without sending trailers`; on an
/// HTTP/2 or connection error, grpc-go's status for it.
pub struct GrpcGoBody<B> {
    inner: B,
    trailers_seen: bool,
    dial: Arc<str>,
    done: bool,
}

impl<B> Body for GrpcGoBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(frame))) => {
                if frame.is_trailers() {
                    this.trailers_seen = true;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.done = true;
                let status = error_status(&*e.into(), &this.dial, false);
                Poll::Ready(Some(Err(Box::new(status))))
            }
            Poll::Ready(None) => {
                this.done = true;
                if this.trailers_seen {
                    return Poll::Ready(None);
                }
                let status = Status::new(
                    Code::Internal,
                    "server closed the stream without sending trailers",
                );
                Poll::Ready(Some(Err(Box::new(status))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(t) = content_type {
            h.insert(http::header::CONTENT_TYPE, t.parse().unwrap());
        }
        h
    }

    /// grpc-go 1.56's words for HAProxy's 503 page and its kin.
    #[test]
    fn responses_that_are_not_grpc() {
        let s =
            header_status(StatusCode::SERVICE_UNAVAILABLE, &headers(Some("text/html"))).unwrap();
        assert_eq!(s.code(), Code::Unavailable);
        assert_eq!(
            s.message(),
            "unexpected HTTP status code received from server: 503 (Service Unavailable); transport: received unexpected content-type \"text/html\""
        );
        let s = header_status(StatusCode::NOT_FOUND, &headers(Some("application/grpc"))).unwrap();
        assert_eq!(s.code(), Code::Unimplemented);
        assert_eq!(
            s.message(),
            "unexpected HTTP status code received from server: 404 (Not Found)"
        );
        let s = header_status(StatusCode::OK, &headers(None)).unwrap();
        assert_eq!(s.code(), Code::Unknown);
        assert_eq!(s.message(), "malformed header: missing HTTP content-type");
        let s = header_status(StatusCode::IM_A_TEAPOT, &headers(Some("text/plain"))).unwrap();
        assert_eq!(s.code(), Code::Unknown);
        for (status, code) in [
            (400, Code::Internal),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (429, Code::Unavailable),
            (502, Code::Unavailable),
            (504, Code::Unavailable),
            (500, Code::Unknown),
        ] {
            assert_eq!(
                http_status_code(StatusCode::from_u16(status).unwrap()),
                code
            );
        }
        for ok in [
            "application/grpc",
            "application/grpc+proto",
            "Application/GRPC;charset=x",
        ] {
            assert!(
                header_status(StatusCode::OK, &headers(Some(ok))).is_none(),
                "{ok}"
            );
        }
        assert!(!is_grpc_content_type("application/grpcx"));
    }

    #[test]
    fn rst_stream_codes_as_grpc_go_maps_them() {
        let (code, message) = rst_stream(h2::Reason::REFUSED_STREAM);
        assert_eq!(code, Code::Unavailable);
        assert_eq!(
            message,
            "stream terminated by RST_STREAM with error code: REFUSED_STREAM"
        );
        assert_eq!(rst_stream(h2::Reason::CANCEL).0, Code::Cancelled);
        assert_eq!(
            rst_stream(h2::Reason::ENHANCE_YOUR_CALM).0,
            Code::ResourceExhausted
        );
        assert_eq!(
            rst_stream(h2::Reason::INADEQUATE_SECURITY).0,
            Code::PermissionDenied
        );
        assert_eq!(rst_stream(h2::Reason::NO_ERROR).0, Code::Internal);
        assert_eq!(rst_stream(h2::Reason::from(0x42)).0, Code::Unknown);
    }

    #[test]
    fn size_limits_in_grpc_go_s_words() {
        let s = codec_status(Status::new(
            Code::OutOfRange,
            "Error, decoded message length too large: found 2048 bytes, the limit is: 1024 bytes",
        ));
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert_eq!(
            s.message(),
            "grpc: received message larger than max (2048 vs. 1024)"
        );
        let s = codec_status(Status::new(
            Code::OutOfRange,
            "Error, encoded message length too large: found 9 bytes, the limit is: 4 bytes",
        ));
        assert_eq!(
            s.message(),
            "grpc: trying to send message larger than max (9 vs. 4)"
        );
        let other = codec_status(Status::new(Code::OutOfRange, "seek past end"));
        assert_eq!(other.code(), Code::OutOfRange);
    }

    #[test]
    fn connection_errors_in_go_s_words() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let s = error_status(&refused, "127.0.0.1:9", true);
        assert_eq!(s.code(), Code::Unavailable);
        assert_eq!(
            s.message(),
            "connection error: desc = \"transport: Error while dialing: dial tcp 127.0.0.1:9: connect: connection refused\""
        );
        let s = unprocessed_status(Code::Unavailable, "x");
        assert!(unprocessed(&s));
        assert!(!unprocessed(&Status::new(Code::Unavailable, "x")));
    }
}
