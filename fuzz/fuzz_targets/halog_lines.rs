//! Any bytes, under every halog mode, through the line scanner, the
//! per-line filters, the aggregates and the final output: no panic, no
//! out-of-bounds read. The first byte picks the command line, the second
//! where a chunk boundary falls.
#![no_main]

use haplog_halog::{parse, run_in_memory, Parsed};
use libfuzzer_sys::fuzz_target;

const COMMANDS: &[&str] = &[
    "-c -H", "-gt", "-pct", "-st", "-tc", "-srv", "-ic", "-u", "-uc", "-ue", "-ua", "-ut",
    "-uao", "-uto", "-uba", "-ubt -query", "-cc", "-hdr 1:1", "-hdr 2:3", "-H", "-e -q",
    "-time 1709546400:1709550000 -c", "-ac 5 -st", "-ad 3 -srv", "-tcn -- -u",
    "-rt 10 -RT 200 -srv", "-hs 200 -HS 399 -Q -pct", "-QS -v -tc", "-m 3 -uc", "-s 2 -ic",
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let command = COMMANDS[data[0] as usize % COMMANDS.len()];
    let args: Vec<Vec<u8>> = command.split(' ').map(|a| a.as_bytes().to_vec()).collect();
    let Parsed::Run(config) = parse(&args).0 else {
        panic!("{command} must parse");
    };
    let input = &data[2..];
    let cut = if input.is_empty() { 0 } else { data[1] as usize * input.len() / 256 };
    let mut out = Vec::new();
    let mut err = Vec::new();
    run_in_memory(&config, input, &[cut], 2, &mut out, &mut err).expect("writes to memory");
});
