//! Where the service's schema comes from: a `.proto` compiled at run time,
//! a compiled descriptor set, or the server's reflection service; and the
//! method `--call` names in it.

use std::path::{Path, PathBuf};

use prost::Message;
use prost_reflect::{DescriptorPool, MethodDescriptor};
use prost_types::{FileDescriptorProto, FileDescriptorSet};
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use crate::error::LoadError;

/// How a method exchanges messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    Unary,
    ServerStreaming,
    ClientStreaming,
    Bidi,
}

impl CallKind {
    pub fn client_streams(self) -> bool {
        matches!(self, CallKind::ClientStreaming | CallKind::Bidi)
    }

    pub fn server_streams(self) -> bool {
        matches!(self, CallKind::ServerStreaming | CallKind::Bidi)
    }
}

/// The method under test.
#[derive(Clone, Debug)]
pub struct Method {
    pub descriptor: MethodDescriptor,
    /// `/pkg.Service/Method`, the HTTP/2 path (and what HAProxy logs).
    pub path: http::uri::PathAndQuery,
    pub kind: CallKind,
}

impl Method {
    pub fn full_name(&self) -> String {
        format!(
            "{}.{}",
            self.descriptor.parent_service().full_name(),
            self.descriptor.name()
        )
    }
}

/// Splits `--call` as ghz does: `pkg.Svc/Method` or `pkg.Svc.Method`, either
/// with a leading dot. One `/` splits there; none splits at the last `.`.
pub fn split_call(call: &str) -> Result<(&str, &str), LoadError> {
    let bad = |reason: &str| LoadError::Call {
        call: call.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = call.strip_prefix('.').unwrap_or(call);
    let (service, method) = match trimmed.matches('/').count() {
        0 => trimmed
            .rsplit_once('.')
            .ok_or_else(|| bad("expected package.Service/Method"))?,
        1 => trimmed.split_once('/').expect("one slash"),
        _ => return Err(bad("more than one '/'; expected package.Service/Method")),
    };
    if service.is_empty() || method.is_empty() {
        return Err(bad("expected package.Service/Method"));
    }
    Ok((service, method))
}

/// Finds the `--call` method in a schema.
pub fn find_method(pool: &DescriptorPool, call: &str) -> Result<Method, LoadError> {
    let (service_name, method_name) = split_call(call)?;
    let service = pool.get_service_by_name(service_name).ok_or_else(|| {
        let known: Vec<String> = pool.services().map(|s| s.full_name().to_string()).collect();
        LoadError::UnknownService {
            call: call.to_string(),
            service: service_name.to_string(),
            known: list_or_none(&known),
        }
    })?;
    let descriptor = service
        .methods()
        .find(|m| m.name() == method_name)
        .ok_or_else(|| {
            let known: Vec<String> = service.methods().map(|m| m.name().to_string()).collect();
            LoadError::UnknownMethod {
                call: call.to_string(),
                service: service_name.to_string(),
                method: method_name.to_string(),
                known: list_or_none(&known),
            }
        })?;
    let kind = match (
        descriptor.is_client_streaming(),
        descriptor.is_server_streaming(),
    ) {
        (false, false) => CallKind::Unary,
        (false, true) => CallKind::ServerStreaming,
        (true, false) => CallKind::ClientStreaming,
        (true, true) => CallKind::Bidi,
    };
    let path = format!("/{}/{}", service.full_name(), descriptor.name())
        .parse()
        .map_err(|_| LoadError::Call {
            call: call.to_string(),
            reason: "the method's name is not a valid HTTP/2 path".to_string(),
        })?;
    Ok(Method {
        descriptor,
        path,
        kind,
    })
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// Compiles a `.proto` file. The import path is ghz's: the file's own
/// directory (unless it is "."), then ".", then `-i` paths in order.
pub fn pool_from_proto(path: &Path, import_paths: &[PathBuf]) -> Result<DescriptorPool, LoadError> {
    if path.extension().is_none_or(|ext| ext != "proto") {
        return Err(LoadError::ProtoExtension {
            path: path.to_path_buf(),
        });
    }
    let fail = |message: String| LoadError::Proto {
        path: path.to_path_buf(),
        message,
    };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let mut includes: Vec<PathBuf> = Vec::new();
    if let Some(dir) = dir.filter(|d| *d != Path::new(".")) {
        includes.push(dir.to_path_buf());
    }
    includes.push(PathBuf::from("."));
    includes.extend(import_paths.iter().cloned());
    if !path.is_file() {
        return Err(fail("no such file".into()));
    }
    let mut compiler = protox::Compiler::new(&includes).map_err(|e| fail(e.to_string()))?;
    compiler.include_imports(true);
    compiler.open_file(path).map_err(|e| fail(e.to_string()))?;
    Ok(compiler.descriptor_pool())
}

/// Reads a compiled `FileDescriptorSet` (`protoc --descriptor_set_out`).
pub fn pool_from_protoset(path: &Path) -> Result<DescriptorPool, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    DescriptorPool::decode(bytes.as_slice()).map_err(|e| LoadError::Protoset {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Compiles `.proto` sources held in memory (the demo service's own).
pub fn pool_from_sources(files: &[(&str, &str)]) -> Result<DescriptorPool, String> {
    let set = fds_from_sources(files)?;
    DescriptorPool::from_file_descriptor_set(set).map_err(|e| e.to_string())
}

/// The descriptor set of `.proto` sources held in memory, imports included.
pub fn fds_from_sources(files: &[(&str, &str)]) -> Result<FileDescriptorSet, String> {
    let resolver = MemoryResolver {
        files: files
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect(),
    };
    let mut chain = protox::file::ChainFileResolver::new();
    chain.add(resolver);
    chain.add(protox::file::GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(chain);
    compiler.include_imports(true);
    for (name, _) in files {
        compiler.open_file(name).map_err(|e| e.to_string())?;
    }
    Ok(compiler.file_descriptor_set())
}

struct MemoryResolver {
    files: Vec<(String, String)>,
}

impl protox::file::FileResolver for MemoryResolver {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        match self.files.iter().find(|(n, _)| n == name) {
            Some((n, source)) => protox::file::File::from_source(n, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Asks the server's reflection service (v1, then v1alpha) for the file that
/// defines `symbol` and every file it imports.
pub async fn pool_from_reflection(
    channel: Channel,
    symbol: &str,
    metadata: &MetadataMap,
    target: &str,
) -> Result<DescriptorPool, LoadError> {
    let fail = |message: String| LoadError::Reflection {
        target: target.to_string(),
        message,
    };
    let files = match reflect_v1(channel.clone(), symbol, metadata).await {
        Ok(files) => files,
        Err(status) if status.code() == tonic::Code::Unimplemented => {
            reflect_v1alpha(channel, symbol, metadata)
                .await
                .map_err(|s| fail(describe_status(&s)))?
        }
        Err(status) if status.message().starts_with("Symbol not found: ") => {
            return Err(LoadError::NotReflected {
                target: target.to_string(),
                message: status.message().to_string(),
            })
        }
        Err(status) => return Err(fail(describe_status(&status))),
    };
    let mut pool = DescriptorPool::new();
    pool.add_file_descriptor_protos(order_by_imports(files))
        .map_err(|e| fail(e.to_string()))?;
    Ok(pool)
}

fn describe_status(status: &tonic::Status) -> String {
    crate::status::error_text(status.code(), status.message())
}

/// Puts files after the files they import, as a pool requires.
fn order_by_imports(files: Vec<FileDescriptorProto>) -> Vec<FileDescriptorProto> {
    let mut pending = files;
    let mut ordered: Vec<FileDescriptorProto> = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let before = pending.len();
        let mut index = 0;
        while index < pending.len() {
            let ready = pending[index].dependency.iter().all(|dep| {
                ordered.iter().any(|f| f.name() == dep) || !pending.iter().any(|f| f.name() == dep)
            });
            if ready {
                ordered.push(pending.remove(index));
            } else {
                index += 1;
            }
        }
        if pending.len() == before {
            // An import cycle: leave the rest as it is and let the pool say so.
            ordered.append(&mut pending);
        }
    }
    ordered
}

macro_rules! reflect_with {
    ($name:ident, $pb:path) => {
        async fn $name(
            channel: Channel,
            symbol: &str,
            metadata: &MetadataMap,
        ) -> Result<Vec<FileDescriptorProto>, tonic::Status> {
            use $pb as pb;
            use pb::server_reflection_request::MessageRequest;
            use pb::server_reflection_response::MessageResponse;

            let mut client = pb::server_reflection_client::ServerReflectionClient::new(channel)
                .max_decoding_message_size(usize::MAX);
            let mut files: Vec<FileDescriptorProto> = Vec::new();
            let mut wanted = vec![MessageRequest::FileContainingSymbol(symbol.to_string())];
            // Each round asks for the imports the previous answers named and
            // nobody has sent yet; a schema is a finite set of files.
            for _round in 0..64 {
                if wanted.is_empty() {
                    break;
                }
                let requests: Vec<pb::ServerReflectionRequest> = wanted
                    .drain(..)
                    .map(|message_request| pb::ServerReflectionRequest {
                        host: String::new(),
                        message_request: Some(message_request),
                    })
                    .collect();
                let mut request = tonic::Request::new(tokio_stream::iter(requests));
                *request.metadata_mut() = metadata.clone();
                let mut answers = client.server_reflection_info(request).await?.into_inner();
                while let Some(answer) = answers.message().await? {
                    match answer.message_response {
                        Some(MessageResponse::FileDescriptorResponse(found)) => {
                            for bytes in found.file_descriptor_proto {
                                let file = FileDescriptorProto::decode(bytes.as_slice())
                                    .map_err(|e| tonic::Status::internal(e.to_string()))?;
                                if !files.iter().any(|f| f.name() == file.name()) {
                                    files.push(file);
                                }
                            }
                        }
                        Some(MessageResponse::ErrorResponse(error))
                            if error.error_code == tonic::Code::NotFound as i32
                                && files.is_empty() =>
                        {
                            // ghz's words (grpcreflect's), and the names
                            // the server does have.
                            let mut message = format!("Symbol not found: {symbol}");
                            let list = pb::ServerReflectionRequest {
                                host: String::new(),
                                message_request: Some(MessageRequest::ListServices(String::new())),
                            };
                            let mut request = tonic::Request::new(tokio_stream::iter([list]));
                            *request.metadata_mut() = metadata.clone();
                            if let Ok(answers) = client.server_reflection_info(request).await {
                                let mut answers = answers.into_inner();
                                if let Ok(Some(pb::ServerReflectionResponse {
                                    message_response: Some(MessageResponse::ListServicesResponse(list)),
                                    ..
                                })) = answers.message().await
                                {
                                    let names: Vec<String> =
                                        list.service.into_iter().map(|s| s.name).collect();
                                    message.push_str(&format!(" (the server has: {})", names.join(", ")));
                                }
                            }
                            return Err(tonic::Status::new(tonic::Code::NotFound, message));
                        }
                        Some(MessageResponse::ErrorResponse(error)) => {
                            return Err(tonic::Status::new(
                                tonic::Code::from(error.error_code),
                                error.error_message,
                            ));
                        }
                        _ => {}
                    }
                }
                for file in &files {
                    for dep in &file.dependency {
                        let known = files.iter().any(|f| f.name() == dep);
                        let asked = wanted
                            .iter()
                            .any(|w| matches!(w, MessageRequest::FileByFilename(n) if n == dep));
                        if !known && !asked {
                            wanted.push(MessageRequest::FileByFilename(dep.clone()));
                        }
                    }
                }
            }
            Ok(files)
        }
    };
}

reflect_with!(reflect_v1, tonic_reflection::pb::v1);
reflect_with!(reflect_v1alpha, tonic_reflection::pb::v1alpha);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_forms_ghz_accepts() {
        for call in [
            "pkg.Svc/Method",
            ".pkg.Svc/Method",
            "pkg.Svc.Method",
            ".pkg.Svc.Method",
        ] {
            assert_eq!(split_call(call).unwrap(), ("pkg.Svc", "Method"), "{call}");
        }
        assert!(split_call("a/b/c").is_err());
        assert!(split_call("Method").is_err());
        assert!(split_call("pkg.Svc/").is_err());
    }

    #[test]
    fn finds_methods_of_each_kind() {
        let pool = pool_from_sources(&[("demo.proto", crate::testserver::DEMO_PROTO)]).unwrap();
        let kinds = [
            ("Speak", CallKind::Unary),
            ("SpeakWav", CallKind::ServerStreaming),
            ("SpeakBatch", CallKind::ClientStreaming),
            ("SpeakLive", CallKind::Bidi),
        ];
        for (name, kind) in kinds {
            let method = find_method(&pool, &format!("haplog.demo.Tts/{name}")).unwrap();
            assert_eq!(method.kind, kind);
            assert_eq!(method.path.as_str(), format!("/haplog.demo.Tts/{name}"));
        }
        let err = find_method(&pool, "haplog.demo.Tts/Sing").unwrap_err();
        assert!(err.to_string().contains("has no method \"Sing\""), "{err}");
        assert!(err.to_string().contains("SpeakWav"), "{err}");
        let err = find_method(&pool, "nope.Svc/Speak").unwrap_err();
        assert!(err.to_string().contains("haplog.demo.Tts"), "{err}");
    }
}
