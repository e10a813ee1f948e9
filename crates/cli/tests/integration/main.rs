//! haplog's command-line behaviour, end to end: one test binary, as
//! ripgrep does, so the suite links once.

mod cat;
mod envelopes;
mod escapes;
#[cfg(feature = "export")]
mod export;
mod faults;
mod halog_diff;
mod halog_golden;
mod halog_real;
mod hla;
mod inputs;
#[cfg(feature = "live")]
mod live;
#[cfg(feature = "load")]
mod load;
#[cfg(feature = "load")]
mod load_grpcio;
#[cfg(feature = "load")]
mod load_haproxy;
mod report;
mod report_html;
mod support;
