//! Any bytes as log lines into Parquet rows (the first line doubles as a
//! custom log-format), read back whole by the parquet crate's reader.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    haplog_export::fuzzing::export_everything(data);
});
