//! Rendering records and reports: NDJSON, CSV and text. No I/O: writers
//! append to byte buffers that the caller writes out.

pub mod escape;
pub mod records;
