//! Records and reports: the report model ([`model`]), built from traffic figures
//! ([`traffic`]) and rendered as text, Markdown, CSV, JSON ([`render`]) and HTML
//! ([`html`]); records as NDJSON and CSV ([`records`]). No I/O: writers append to
//! byte buffers that the caller writes out.

pub mod chart;
pub mod escape;
pub mod findings;
pub mod html;
pub mod model;
pub mod page;
pub mod records;
pub mod render;
pub mod termination;
pub mod traffic;
