//! `haplog load`: a ghz-compatible gRPC load generator. It reads the
//! service's schema at run time (a `.proto`, a descriptor set or server
//! reflection), drives unary and streaming calls on an open-loop schedule,
//! and reports ghz's numbers plus the ones ghz leaves out: latency from the
//! intended start, time to the first streamed message and the generator's
//! own lag. `testserver` is a TTS-like demo service to try it on.
//!
//! No CLI here: the `haplog` binary parses flags into these types.

pub mod codec;
pub mod config;
pub mod connect;
pub mod data;
pub mod error;
pub mod grpc_go;
pub mod html;
pub mod influx;
pub mod prometheus;
pub mod proxy;
pub mod reflection_server;
pub mod report;
pub mod run;
pub mod schedule;
pub mod schema;
pub mod session;
pub mod slo;
pub mod stats;
pub mod status;
pub mod template;
pub mod testserver;
pub mod tls;
pub mod units;

pub use error::LoadError;
