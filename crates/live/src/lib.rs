//! `haplog live`'s model: the lines of a followed log (from the pipeline,
//! per second of their date) kept as small per-second [`slot::Slot`]s in a
//! bounded [`store::Store`], read back as windows (the last 10 s, 1 min,
//! 5 min) and since the start, and shown as report-model sections
//! ([`view`]) or Prometheus metrics ([`metrics`], served by [`http`]).
//! [`sources`] reads files, standard input and syslog datagrams. No CLI
//! here.

pub mod http;
pub mod metrics;
pub mod slot;
pub mod sources;
pub mod store;
#[cfg(feature = "tui")]
pub mod tui;
pub mod view;

pub use slot::{Flow, Slot};
pub use store::Store;
