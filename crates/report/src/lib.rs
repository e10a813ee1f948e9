//! Rendering records and reports: NDJSON, CSV, text, JSON and Markdown. No I/O: writers
//! append to byte buffers that the caller writes out.

pub mod escape;
pub mod html;
pub mod records;
pub mod table;
pub mod termination;
pub mod traffic;
