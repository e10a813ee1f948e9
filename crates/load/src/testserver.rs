//! `haplog testserver`: a TTS-like gRPC service to try `haplog load` on and
//! to test it against. It serves `haplog.demo.Tts` (see
//! `proto/haplog/demo/tts.proto`) and server reflection, so
//! `haplog load --call haplog.demo.Tts/Speak -d '{"text":"hi"}'` needs no
//! `--proto`. No code is generated: messages go through the raw codec and
//! are encoded by hand.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::codegen::BoxFuture;
use tonic::server::NamedService;
use tonic::{Code, Status, Streaming};

use crate::codec::RawCodec;
use crate::status::parse_code;
use crate::template::splitmix64;

/// The demo service's schema, shipped in the binary.
pub const DEMO_PROTO: &str = include_str!("../proto/haplog/demo/tts.proto");
/// Its file name, as reflection reports it.
pub const DEMO_PROTO_NAME: &str = "haplog/demo/tts.proto";

/// How the demo service behaves.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Wait before answering: before the unary response, before the first
    /// chunk of a stream. Response headers wait too, as grpc-go and
    /// grpc-python servers hold them until the first message.
    pub latency: Duration,
    /// Up to this much more, at random, on top of `latency`.
    pub jitter: Duration,
    /// Gap between stream chunks.
    pub chunk_interval: Duration,
    /// Chunks per `SpeakWav` stream (and in a `Speak` response).
    pub chunks: u32,
    /// Bytes of audio per chunk; the first chunk starts with the 44-byte
    /// WAV header.
    pub chunk_size: usize,
    /// Fraction of calls (0 to 1) that fail with `error_code`.
    pub error_rate: f64,
    pub error_code: Code,
    /// HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS (HAProxy's front end says 100).
    pub max_concurrent_streams: Option<u32>,
    /// Sent back in the `x-served-by` header, to tell servers apart.
    pub name: String,
    /// Serve TLS with this PEM certificate chain and key.
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            chunk_interval: Duration::ZERO,
            chunks: 10,
            chunk_size: 3200,
            error_rate: 0.0,
            error_code: Code::Unavailable,
            max_concurrent_streams: None,
            name: "testserver".to_string(),
            tls: None,
        }
    }
}

struct State {
    config: ServerConfig,
    /// One utterance at the default sample rate.
    wav: Wav,
    calls: AtomicU64,
    seed: u64,
}

/// The 44-byte header of a 16-bit mono PCM WAV file.
fn wav_header(sample_rate: u32, data_len: u32) -> [u8; 44] {
    let mut h = [0u8; 44];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(36 + data_len).to_le_bytes());
    h[8..16].copy_from_slice(b"WAVEfmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&1u16.to_le_bytes()); // mono
    h[24..28].copy_from_slice(&sample_rate.to_le_bytes());
    h[28..32].copy_from_slice(&(sample_rate * 2).to_le_bytes());
    h[32..34].copy_from_slice(&2u16.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// One utterance as encoded `SpeakResponse` messages: cut into chunks for
/// streams, and whole for a single response. The audio is a header and
/// silence, so only the first chunk differs from the others: a stream of
/// any length holds two chunks in memory, and the whole message is built
/// only when a `Speak` call asks for it.
#[derive(Clone, Debug)]
struct Wav {
    sample_rate: u32,
    count: u32,
    size: usize,
    /// The first chunk (it starts with the 44-byte header), encoded.
    first: Bytes,
    /// Every later chunk (silence), encoded.
    rest: Bytes,
}

/// Audio bytes (header, then silence) in `count` chunks of `size` bytes.
fn wav(sample_rate: u32, count: u32, size: usize) -> Wav {
    let size = size.max(1);
    let audio_len = (count as usize).saturating_mul(size);
    let header = wav_header(sample_rate, audio_len.saturating_sub(44) as u32);
    let mut first = vec![0u8; size.max(44)];
    first[..44].copy_from_slice(&header);
    first.truncate(size.max(44).min(audio_len.max(44)));
    Wav {
        sample_rate,
        count,
        size,
        first: speak_response(&first),
        rest: speak_response(&vec![0u8; size]),
    }
}

impl Wav {
    /// The stream's chunks, as shared handles.
    fn chunks(&self) -> impl Iterator<Item = Bytes> + Send + 'static {
        let (first, rest) = (self.first.clone(), self.rest.clone());
        (0..self.count).map(move |i| if i == 0 { first.clone() } else { rest.clone() })
    }

    /// The whole utterance as one message (the chunks' audio together).
    fn whole(&self) -> Bytes {
        let audio_len = (self.count as usize).saturating_mul(self.size).max(44);
        let mut audio = vec![0u8; audio_len];
        let header = wav_header(self.sample_rate, audio_len.saturating_sub(44) as u32);
        audio[..44].copy_from_slice(&header);
        audio.truncate((self.count as usize).saturating_mul(self.size).max(44));
        speak_response(&audio)
    }
}

/// `SpeakResponse { media_data = 1 }`, encoded.
fn speak_response(media: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(media.len() + 6);
    out.put_u8(0x0a);
    prost::encoding::encode_varint(media.len() as u64, &mut out);
    out.put_slice(media);
    out.freeze()
}

/// The fields of a `SpeakRequest` the server acts on.
#[derive(Debug, Default, PartialEq)]
struct SpeakRequest {
    text: String,
    sample_rate: u32,
}

fn decode_request(mut bytes: &[u8]) -> Result<SpeakRequest, Status> {
    // grpc-go's words for a request its codec cannot unmarshal; which part
    // was bad stays in the server's own log, as Go's protobuf says it alike.
    let bad = |_what: &str| {
        Status::internal(
            "grpc: error unmarshalling request: proto: cannot parse invalid wire-format data",
        )
    };
    let mut request = SpeakRequest::default();
    while bytes.has_remaining() {
        let key = prost::encoding::decode_varint(&mut bytes).map_err(|_| bad("key"))?;
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                let value =
                    prost::encoding::decode_varint(&mut bytes).map_err(|_| bad("varint"))?;
                if field == 3 {
                    request.sample_rate = value as u32;
                }
            }
            2 => {
                let len = prost::encoding::decode_varint(&mut bytes).map_err(|_| bad("length"))?;
                let len = usize::try_from(len).map_err(|_| bad("length"))?;
                if len > bytes.len() {
                    return Err(bad("truncated"));
                }
                if field == 1 {
                    request.text = String::from_utf8_lossy(&bytes[..len]).into_owned();
                }
                bytes.advance(len);
            }
            1 => bytes.advance(8.min(bytes.len())),
            5 => bytes.advance(4.min(bytes.len())),
            _ => return Err(bad("wire type")),
        }
    }
    Ok(request)
}

impl State {
    fn new(config: ServerConfig) -> State {
        State {
            wav: wav(16_000, config.chunks, config.chunk_size),
            config,
            calls: AtomicU64::new(0),
            seed: splitmix64(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(7),
            ),
        }
    }

    /// Checks a request: a text "error:CODE" fails with that code, and
    /// `--error-rate` fails that share of calls at random.
    fn admit(&self, request: &SpeakRequest) -> Result<(), Status> {
        if let Some(code) = request.text.strip_prefix("error:") {
            let code = parse_code(code.trim()).unwrap_or(Code::Unknown);
            return Err(Status::new(code, "requested by the client"));
        }
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        if self.config.error_rate > 0.0 {
            let draw = splitmix64(self.seed ^ n) as f64 / u64::MAX as f64;
            if draw < self.config.error_rate {
                return Err(Status::new(self.config.error_code, "injected failure"));
            }
        }
        Ok(())
    }

    /// Reads a request, fails it if asked to, then waits the configured
    /// latency: what every method does before it answers a text.
    async fn take(&self, message: &[u8]) -> Result<SpeakRequest, Status> {
        let speak = decode_request(message)?;
        self.admit(&speak)?;
        self.think().await;
        Ok(speak)
    }

    async fn think(&self) {
        let mut wait = self.config.latency;
        if !self.config.jitter.is_zero() {
            let draw = splitmix64(self.seed.wrapping_add(self.calls.load(Ordering::Relaxed)));
            wait += Duration::from_nanos(draw % self.config.jitter.as_nanos().max(1) as u64);
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    fn wav_for(&self, request: &SpeakRequest) -> Wav {
        if request.sample_rate == 0 || request.sample_rate == 16_000 {
            self.wav.clone()
        } else {
            wav(
                request.sample_rate,
                self.config.chunks,
                self.config.chunk_size,
            )
        }
    }

    fn respond<T>(&self, message: T) -> tonic::Response<T> {
        let mut response = tonic::Response::new(message);
        if let Ok(name) = self.config.name.parse() {
            response.metadata_mut().insert("x-served-by", name);
        }
        response
    }
}

/// The demo service, routed by method path.
#[derive(Clone)]
pub struct DemoService {
    state: Arc<State>,
}

impl NamedService for DemoService {
    const NAME: &'static str = "haplog.demo.Tts";
}

impl DemoService {
    pub fn new(config: ServerConfig) -> DemoService {
        DemoService {
            state: Arc::new(State::new(config)),
        }
    }
}

impl tower_service::Service<http::Request<tonic::body::Body>> for DemoService {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let state = self.state.clone();
        Box::pin(async move {
            // As grpc-go servers: gzip accepted (and answered in kind), and
            // requests past 4 MiB refused.
            let mut grpc = tonic::server::Grpc::new(RawCodec)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(MAX_REQUEST);
            let mut response = match request.uri().path() {
                "/haplog.demo.Tts/Speak" => grpc.unary(Speak(state), request).await,
                "/haplog.demo.Tts/SpeakWav" => {
                    grpc.server_streaming(SpeakWav(state), request).await
                }
                "/haplog.demo.Tts/SpeakBatch" => {
                    grpc.client_streaming(SpeakBatch(state), request).await
                }
                "/haplog.demo.Tts/SpeakLive" => grpc.streaming(SpeakLive(state), request).await,
                path => Status::unimplemented(format!("unknown method {path}")).into_http(),
            };
            grpc_go_words(response.headers_mut());
            Ok(response)
        })
    }
}

/// grpc-go's default limit on a request message.
const MAX_REQUEST: usize = 4 << 20;

/// A status tonic's codec put in a trailers-only response, in grpc-go's
/// code and words (an oversized request is `ResourceExhausted`).
fn grpc_go_words(headers: &mut http::HeaderMap) {
    if let Some(status) = Status::from_header_map(headers) {
        let mapped = crate::grpc_go::codec_status(status.clone());
        if mapped.code() != status.code() {
            let _ = mapped.add_header(headers);
        }
    }
}

struct Speak(Arc<State>);

impl tonic::server::UnaryService<Bytes> for Speak {
    type Response = Bytes;
    type Future = BoxFuture<tonic::Response<Bytes>, Status>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let state = self.0.clone();
        async move {
            let speak = state.take(request.get_ref()).await?;
            Ok(state.respond(state.wav_for(&speak).whole()))
        }
        .boxed()
    }
}

type ChunkStream = BoxStream<'static, Result<Bytes, Status>>;

/// The chunks, `interval` apart (the first goes at once).
fn paced(chunks: impl Iterator<Item = Bytes> + Send + 'static, interval: Duration) -> ChunkStream {
    futures::stream::iter(chunks.enumerate())
        .then(move |(i, chunk)| async move {
            if i > 0 && !interval.is_zero() {
                tokio::time::sleep(interval).await;
            }
            Ok(chunk)
        })
        .boxed()
}

struct SpeakWav(Arc<State>);

impl tonic::server::ServerStreamingService<Bytes> for SpeakWav {
    type Response = Bytes;
    type ResponseStream = ChunkStream;
    type Future = BoxFuture<tonic::Response<ChunkStream>, Status>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let state = self.0.clone();
        async move {
            let speak = state.take(request.get_ref()).await?;
            let chunks = state.wav_for(&speak).chunks();
            Ok(state.respond(paced(chunks, state.config.chunk_interval)))
        }
        .boxed()
    }
}

struct SpeakBatch(Arc<State>);

impl tonic::server::ClientStreamingService<Bytes> for SpeakBatch {
    type Response = Bytes;
    type Future = BoxFuture<tonic::Response<Bytes>, Status>;

    fn call(&mut self, request: tonic::Request<Streaming<Bytes>>) -> Self::Future {
        let state = self.0.clone();
        async move {
            let mut incoming = request.into_inner();
            let mut texts = 0usize;
            while let Some(message) = incoming.message().await? {
                let speak = decode_request(&message)?;
                // The first text counts as the call for --error-rate; any
                // text can ask for an error.
                if texts == 0 || speak.text.starts_with("error:") {
                    state.admit(&speak)?;
                }
                texts += 1;
            }
            state.think().await;
            // One chunk of audio for every text received.
            let chunk_count = texts.max(1) as u32;
            Ok(state.respond(wav(16_000, chunk_count, state.config.chunk_size).whole()))
        }
        .boxed()
    }
}

struct SpeakLive(Arc<State>);

impl tonic::server::StreamingService<Bytes> for SpeakLive {
    type Response = Bytes;
    type ResponseStream = ChunkStream;
    type Future = BoxFuture<tonic::Response<ChunkStream>, Status>;

    fn call(&mut self, request: tonic::Request<Streaming<Bytes>>) -> Self::Future {
        let state = self.0.clone();
        async move {
            let incoming = request.into_inner();
            let chunk = state.wav.first.clone();
            let reply_state = state.clone();
            // One chunk back for every text, as it arrives.
            let replies = incoming
                .then(move |message| {
                    let state = reply_state.clone();
                    let chunk = chunk.clone();
                    async move {
                        state.take(&message?).await?;
                        Ok(chunk)
                    }
                })
                .boxed();
            Ok(state.respond(replies))
        }
        .boxed()
    }
}

/// The standard health service (`grpc.health.v1.Health`), as grpc-go
/// servers register it: `Check` answers SERVING for the server (`""`) and
/// for `haplog.demo.Tts`, NOT_FOUND for any other service; `Watch` sends
/// the same status once and holds the stream open.
#[derive(Clone, Default)]
pub struct HealthService;

impl NamedService for HealthService {
    const NAME: &'static str = "grpc.health.v1.Health";
}

/// `HealthCheckResponse { status = SERVING }`, encoded.
const SERVING: &[u8] = &[0x08, 0x01];

/// The `service` field of a `HealthCheckRequest`.
fn health_service_name(message: &[u8]) -> Result<String, Status> {
    let mut bytes = message;
    let mut name = String::new();
    while bytes.has_remaining() {
        let bad = || {
            Status::internal(
                "grpc: error unmarshalling request: proto: cannot parse invalid wire-format data",
            )
        };
        let key = prost::encoding::decode_varint(&mut bytes).map_err(|_| bad())?;
        match key & 7 {
            0 => {
                prost::encoding::decode_varint(&mut bytes).map_err(|_| bad())?;
            }
            2 => {
                let len = prost::encoding::decode_varint(&mut bytes).map_err(|_| bad())? as usize;
                if len > bytes.len() {
                    return Err(bad());
                }
                if key >> 3 == 1 {
                    name = String::from_utf8_lossy(&bytes[..len]).into_owned();
                }
                bytes.advance(len);
            }
            _ => return Err(bad()),
        }
    }
    Ok(name)
}

fn health_of(message: &[u8]) -> Result<Bytes, Status> {
    let name = health_service_name(message)?;
    if name.is_empty() || name == DemoService::NAME {
        Ok(Bytes::from_static(SERVING))
    } else {
        Err(Status::not_found("unknown service"))
    }
}

impl tower_service::Service<http::Request<tonic::body::Body>> for HealthService {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(RawCodec);
            let response = match request.uri().path() {
                "/grpc.health.v1.Health/Check" => grpc.unary(HealthCheck, request).await,
                "/grpc.health.v1.Health/Watch" => grpc.server_streaming(HealthWatch, request).await,
                path => Status::unimplemented(format!("unknown method {path}")).into_http(),
            };
            Ok(response)
        })
    }
}

struct HealthCheck;

impl tonic::server::UnaryService<Bytes> for HealthCheck {
    type Response = Bytes;
    type Future = BoxFuture<tonic::Response<Bytes>, Status>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let answer = health_of(request.get_ref()).map(tonic::Response::new);
        Box::pin(async move { answer })
    }
}

struct HealthWatch;

impl tonic::server::ServerStreamingService<Bytes> for HealthWatch {
    type Response = Bytes;
    type ResponseStream = ChunkStream;
    type Future = BoxFuture<tonic::Response<ChunkStream>, Status>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let answer = health_of(request.get_ref()).map(|status| {
            let once = futures::stream::once(async move { Ok(status) });
            tonic::Response::new(once.chain(futures::stream::pending()).boxed())
        });
        Box::pin(async move { answer })
    }
}

/// The standard health service's schema, for reflection.
const HEALTH_PROTO: &str = r#"syntax = "proto3";
package grpc.health.v1;
option go_package = "google.golang.org/grpc/health/grpc_health_v1";
message HealthCheckRequest {
  string service = 1;
}
message HealthCheckResponse {
  enum ServingStatus {
    UNKNOWN = 0;
    SERVING = 1;
    NOT_SERVING = 2;
    SERVICE_UNKNOWN = 3;
  }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
"#;

/// Reflection over every service the test server runs, as a grpc-go
/// server that registered them would answer.
fn reflection() -> crate::reflection_server::Reflection {
    let files = crate::schema::fds_from_sources(&[
        (DEMO_PROTO_NAME, DEMO_PROTO),
        ("grpc/health/v1/health.proto", HEALTH_PROTO),
    ])
    .expect("the shipped protos compile");
    let mut pool = prost_reflect::DescriptorPool::from_file_descriptor_set(files)
        .expect("the shipped protos are valid");
    for set in [
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ] {
        pool.decode_file_descriptor_set(set)
            .expect("tonic-reflection's descriptors are valid");
    }
    let services = pool.services().map(|s| s.full_name().to_string()).collect();
    crate::reflection_server::Reflection::new(pool, services)
}

/// Serves the demo service and reflection on `listener` until `shutdown`
/// resolves.
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let (reflection_v1, reflection_v1alpha) = reflection().services();
    let streams = config.max_concurrent_streams;
    let mut builder = tonic::transport::Server::builder();
    if let Some((cert, key)) = &config.tls {
        let identity = tonic::transport::Identity::from_pem(cert, key);
        builder =
            builder.tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))?;
    }
    builder
        .max_concurrent_streams(streams)
        .tcp_nodelay(true)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(DemoService::new(config))
        .add_service(HealthService)
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            shutdown,
        )
        .await
}

/// A server running in the background of the current runtime, for tests
/// and benchmarks; it stops when dropped.
pub struct BackgroundServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), tonic::transport::Error>>>,
}

impl BackgroundServer {
    /// Binds `127.0.0.1:0` and serves there.
    pub async fn start(config: ServerConfig) -> std::io::Result<BackgroundServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, config, async {
            let _ = stopped.await;
        }));
        Ok(BackgroundServer {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_chunks_start_with_a_header_and_add_up() {
        let w = wav(16_000, 3, 100);
        let (chunks, whole): (Vec<Bytes>, Bytes) = (w.chunks().collect(), w.whole());
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0].len(), 102);
        assert_eq!(chunks[2].len(), 102);
        let joined: Vec<u8> = chunks.iter().flat_map(|c| c[2..].to_vec()).collect();
        assert_eq!(
            &whole[3..],
            &joined[..],
            "the chunks are the whole, in order"
        );
        // 0x0a, varint 300 (2 bytes), 300 bytes of audio.
        assert_eq!(whole.len(), 303);
        assert_eq!(&whole[3..7], b"RIFF");
        assert_eq!(&whole[11..15], b"WAVE");
        assert_eq!(u32::from_le_bytes(whole[43..47].try_into().unwrap()), 256);
    }

    #[test]
    fn decodes_requests() {
        // text = "hi", sample_rate = 8000, lang = "ko"
        let bytes = [0x0a, 2, b'h', b'i', 0x12, 2, b'k', b'o', 0x18, 0xc0, 0x3e];
        assert_eq!(
            decode_request(&bytes).unwrap(),
            SpeakRequest {
                text: "hi".into(),
                sample_rate: 8000
            }
        );
        assert!(decode_request(&[0x0a, 9, b'h']).is_err());
    }

    #[test]
    fn error_texts_and_rates() {
        let state = State::new(ServerConfig {
            error_rate: 0.25,
            ..ServerConfig::default()
        });
        let err = state
            .admit(&SpeakRequest {
                text: "error:deadline_exceeded".into(),
                sample_rate: 0,
            })
            .unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded);
        let failures = (0..4000)
            .filter(|_| state.admit(&SpeakRequest::default()).is_err())
            .count();
        assert!((800..1200).contains(&failures), "{failures}");
    }
}
