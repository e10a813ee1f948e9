//! The test server's reflection service (v1 and v1alpha), answering as
//! grpc-go 1.56's does: a name it does not know gets an `ErrorResponse`
//! (NOT_FOUND, "proto: not found") on the stream, which stays open for the
//! next request; a file comes with those of its imports not yet sent on
//! the stream. (tonic-reflection ends the stream with an error status
//! instead, which clients such as grpcurl and ghz read differently.)

use std::collections::HashSet;
use std::sync::Arc;

use futures::stream::BoxStream;
use futures::StreamExt;
use prost::Message;
use prost_reflect::{DescriptorPool, FileDescriptor};
use tonic::{Request, Response, Status, Streaming};
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{
    ErrorResponse, ExtensionNumberResponse, FileDescriptorResponse, ListServiceResponse,
    ServerReflectionRequest, ServerReflectionResponse, ServiceResponse,
};
use tonic_reflection::pb::{v1, v1alpha};

/// grpc-go's text for a name its registry lacks (protoregistry.NotFound).
const NOT_FOUND: &str = "proto: not found";

/// What the service describes: the files of a pool, and the names of the
/// services the server runs.
#[derive(Debug)]
pub struct Reflection {
    pool: DescriptorPool,
    services: Vec<String>,
}

impl Reflection {
    /// `pool` must hold the reflection service's own files if it is to
    /// describe itself; `services` are listed sorted, as grpc-go lists them.
    pub fn new(pool: DescriptorPool, mut services: Vec<String>) -> Reflection {
        services.sort();
        Reflection { pool, services }
    }

    /// The two services to add to a server.
    pub fn services(
        self,
    ) -> (
        v1::server_reflection_server::ServerReflectionServer<V1>,
        v1alpha::server_reflection_server::ServerReflectionServer<V1Alpha>,
    ) {
        let shared = Arc::new(self);
        (
            v1::server_reflection_server::ServerReflectionServer::new(V1(shared.clone())),
            v1alpha::server_reflection_server::ServerReflectionServer::new(V1Alpha(shared)),
        )
    }

    /// The answer to one request of a stream; `sent` holds the files
    /// already sent on it. An error status ends the stream.
    fn answer(
        &self,
        request: ServerReflectionRequest,
        sent: &mut HashSet<String>,
    ) -> Result<ServerReflectionResponse, Status> {
        let not_found = || {
            MessageResponse::ErrorResponse(ErrorResponse {
                error_code: tonic::Code::NotFound as i32,
                error_message: NOT_FOUND.into(),
            })
        };
        let files = |file: Option<FileDescriptor>, sent: &mut HashSet<String>| match file {
            Some(file) => MessageResponse::FileDescriptorResponse(FileDescriptorResponse {
                file_descriptor_proto: with_imports(file, sent),
            }),
            None => not_found(),
        };
        let answer = match &request.message_request {
            Some(MessageRequest::FileByFilename(name)) => {
                files(self.pool.get_file_by_name(name), sent)
            }
            Some(MessageRequest::FileContainingSymbol(symbol)) => {
                files(self.file_containing(symbol), sent)
            }
            Some(MessageRequest::FileContainingExtension(extension)) => {
                let file = self
                    .pool
                    .get_message_by_name(&extension.containing_type)
                    .and_then(|m| {
                        m.extensions()
                            .find(|e| e.number() == extension.extension_number as u32)
                    })
                    .map(|e| e.parent_file());
                files(file, sent)
            }
            Some(MessageRequest::AllExtensionNumbersOfType(name)) => {
                match self.pool.get_message_by_name(name) {
                    Some(message) => {
                        let mut numbers: Vec<i32> =
                            message.extensions().map(|e| e.number() as i32).collect();
                        numbers.sort_unstable();
                        MessageResponse::AllExtensionNumbersResponse(ExtensionNumberResponse {
                            base_type_name: name.clone(),
                            extension_number: numbers,
                        })
                    }
                    None => not_found(),
                }
            }
            Some(MessageRequest::ListServices(_)) => {
                MessageResponse::ListServicesResponse(ListServiceResponse {
                    service: self
                        .services
                        .iter()
                        .map(|name| ServiceResponse { name: name.clone() })
                        .collect(),
                })
            }
            None => {
                return Err(Status::invalid_argument(
                    "invalid MessageRequest: <nil>".to_string(),
                ))
            }
        };
        Ok(ServerReflectionResponse {
            valid_host: request.host.clone(),
            original_request: Some(request),
            message_response: Some(answer),
        })
    }

    /// The file that declares a type, service, method, field, enum value or
    /// extension of this full name.
    fn file_containing(&self, symbol: &str) -> Option<FileDescriptor> {
        let pool = &self.pool;
        if let Some(service) = pool.get_service_by_name(symbol) {
            return Some(service.parent_file());
        }
        if let Some(message) = pool.get_message_by_name(symbol) {
            return Some(message.parent_file());
        }
        if let Some(enumeration) = pool.get_enum_by_name(symbol) {
            return Some(enumeration.parent_file());
        }
        if let Some(extension) = pool.get_extension_by_name(symbol) {
            return Some(extension.parent_file());
        }
        // A member: a method, a field or an enum value.
        let (parent, member) = symbol.rsplit_once('.')?;
        if let Some(service) = pool.get_service_by_name(parent) {
            return service
                .methods()
                .any(|m| m.name() == member)
                .then(|| service.parent_file());
        }
        if let Some(message) = pool.get_message_by_name(parent) {
            if message.get_field_by_name(member).is_some() {
                return Some(message.parent_file());
            }
        }
        // Enum values are named as siblings of their enum: `pkg.RED` of
        // `pkg.Color`.
        pool.all_enums()
            .find(|e| {
                let scope = e.full_name().rsplit_once('.').map_or("", |(p, _)| p);
                scope == parent && e.get_value_by_name(member).is_some()
            })
            .map(|e| e.parent_file())
    }
}

/// `file` and, breadth first, those of its imports not yet in `sent`, each
/// encoded, as grpc-go's fileDescWithDependencies sends them (the file
/// asked for always, even when sent before).
fn with_imports(file: FileDescriptor, sent: &mut HashSet<String>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut queue = std::collections::VecDeque::from([file]);
    while let Some(current) = queue.pop_front() {
        let name = current.name().to_string();
        if out.is_empty() || !sent.contains(&name) {
            sent.insert(name);
            out.push(current.file_descriptor_proto().encode_to_vec());
        }
        queue.extend(current.dependencies());
    }
    out
}

type Answers<T> = BoxStream<'static, Result<T, Status>>;

/// One reflection stream: an answer per request until the client ends its
/// side (then OK), or a request is invalid (then that status).
fn answers(
    reflection: Arc<Reflection>,
    incoming: impl futures::Stream<Item = Result<ServerReflectionRequest, Status>> + Send + 'static,
) -> Answers<ServerReflectionResponse> {
    let state = (Box::pin(incoming), HashSet::new(), false);
    futures::stream::unfold(state, move |(mut incoming, mut sent, ended)| {
        let reflection = reflection.clone();
        async move {
            if ended {
                return None;
            }
            match incoming.next().await? {
                Ok(request) => match reflection.answer(request, &mut sent) {
                    Ok(answer) => Some((Ok(answer), (incoming, sent, false))),
                    Err(status) => Some((Err(status), (incoming, sent, true))),
                },
                Err(status) => Some((Err(status), (incoming, sent, true))),
            }
        }
    })
    .boxed()
}

/// `grpc.reflection.v1.ServerReflection`.
#[derive(Clone, Debug)]
pub struct V1(Arc<Reflection>);

#[tonic::async_trait]
impl v1::server_reflection_server::ServerReflection for V1 {
    type ServerReflectionInfoStream = Answers<ServerReflectionResponse>;

    async fn server_reflection_info(
        &self,
        request: Request<Streaming<ServerReflectionRequest>>,
    ) -> Result<Response<Self::ServerReflectionInfoStream>, Status> {
        Ok(Response::new(answers(self.0.clone(), request.into_inner())))
    }
}

/// `grpc.reflection.v1alpha.ServerReflection`: the same messages on the
/// wire as v1, so its requests and answers are v1's, re-read.
#[derive(Clone, Debug)]
pub struct V1Alpha(Arc<Reflection>);

fn reread<A: Message, B: Message + Default>(message: &A) -> Result<B, Status> {
    B::decode(message.encode_to_vec().as_slice()).map_err(|e| Status::internal(e.to_string()))
}

#[tonic::async_trait]
impl v1alpha::server_reflection_server::ServerReflection for V1Alpha {
    type ServerReflectionInfoStream = Answers<v1alpha::ServerReflectionResponse>;

    async fn server_reflection_info(
        &self,
        request: Request<Streaming<v1alpha::ServerReflectionRequest>>,
    ) -> Result<Response<Self::ServerReflectionInfoStream>, Status> {
        let incoming = request
            .into_inner()
            .map(|request| request.and_then(|r| reread::<_, ServerReflectionRequest>(&r)));
        let outgoing = answers(self.0.clone(), incoming)
            .map(|answer| answer.and_then(|a| reread::<_, v1alpha::ServerReflectionResponse>(&a)));
        Ok(Response::new(outgoing.boxed()))
    }
}
