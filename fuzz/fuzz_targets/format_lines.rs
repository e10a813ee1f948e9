//! Any bytes through header detection, every log-format matcher (the first
//! line doubles as a custom log-format) and line classification.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    haplog_format::fuzzing::parse_everything(data);
});
