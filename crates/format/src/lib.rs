//! HAProxy log lines as typed, zero-copy records.
//!
//! A stored line is `[transport header] message`. [`header`] strips the
//! header that HAProxy's log target and the collector (rsyslog, journald,
//! docker) put in front, by its shape rather than by counting fields. No I/O
//! here: everything works on `&[u8]` and borrows from it.

pub mod compiled;
pub mod config;
pub mod envelope;
pub mod field;
#[doc(hidden)]
pub mod fuzzing;
pub mod header;
pub mod json;
mod learn;
pub mod logformat;
pub mod message;
pub mod record;
pub mod time;

pub use compiled::{CompiledFormat, Match, Span};
pub use envelope::{EnvelopeDetector, EnvelopeStyle};
pub use field::Field;
pub use header::{Header, HeaderDetector, HeaderStyle};
pub use message::Kind;
pub use record::{FormatOptions, Formats, LineParser, Record};
