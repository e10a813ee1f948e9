//! The errors of a load run. Each message names the flag or value at fault
//! and, where one exists, the fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("--proto {path}: the file name must end in .proto")]
    ProtoExtension { path: PathBuf },
    #[error("--proto {path}: {message}")]
    Proto { path: PathBuf, message: String },
    #[error("--protoset {path}: {message}")]
    Protoset { path: PathBuf, message: String },
    #[error("server reflection on {target} failed: {message} (give the schema with --proto or --protoset)")]
    Reflection { target: String, message: String },
    /// The server reflects, and has no such service (ghz's words first).
    #[error("server reflection on {target}: {message}")]
    NotReflected { target: String, message: String },
    #[error("--call {call:?}: {reason}")]
    Call { call: String, reason: String },
    #[error("--call {call:?}: no service {service:?} in the schema (it has: {known})")]
    UnknownService {
        call: String,
        service: String,
        known: String,
    },
    #[error("--call {call:?}: service {service:?} has no method {method:?} (it has: {known})")]
    UnknownMethod {
        call: String,
        service: String,
        method: String,
        known: String,
    },
    #[error("{flag}: {message}")]
    Data { flag: &'static str, message: String },
    #[error("{flag}: {message}")]
    Flag { flag: &'static str, message: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--config {path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("{target}: {message}")]
    Connect { target: String, message: String },
}

impl LoadError {
    /// The run could not start against this server (its reflection
    /// failed, it has no such service or method, it cannot be reached):
    /// ghz exits 1 for these, where a bad flag or file is a usage error.
    pub fn is_run_error(&self) -> bool {
        matches!(
            self,
            LoadError::Reflection { .. }
                | LoadError::NotReflected { .. }
                | LoadError::UnknownService { .. }
                | LoadError::UnknownMethod { .. }
                | LoadError::Connect { .. }
        )
    }

    pub(crate) fn flag(flag: &'static str, message: impl Into<String>) -> Self {
        LoadError::Flag {
            flag,
            message: message.into(),
        }
    }

    pub(crate) fn data(flag: &'static str, message: impl Into<String>) -> Self {
        LoadError::Data {
            flag,
            message: message.into(),
        }
    }
}
