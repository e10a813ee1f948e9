//! The halog result does not depend on where chunks end or how many
//! workers share them: any cut at line ends, dealt to one to three workers
//! and merged, prints what one worker reading everything prints. Inputs mix
//! real log lines, damaged copies of them and junk bytes.

use haplog_halog::{parse, run_in_memory, Parsed};
use proptest::prelude::*;

const SAMPLE: &str = include_str!("../../../samples/haproxy.log");

/// Option sets covering every output mode and most filters. `-cc` and
/// `-time` are left out on purpose: on a line cut short, halog reads past
/// its end into the next line, which a chunk boundary hides (README,
/// "Known differences").
const COMMANDS: &[&str] = &[
    "-c",
    "-c -H",
    "-c -v -E",
    "-c -m 5",
    "-gt",
    "-gt -H -q",
    "-pct",
    "-pct -e",
    "-st",
    "-st -hs 300 -HS 499",
    "-tc",
    "-tc -Q",
    "-srv",
    "-srv -H",
    "-srv -rt 20",
    "-ic",
    "-ic -v",
    "-u",
    "-uc -H",
    "-ue",
    "-ua -query",
    "-ut -m 3",
    "-uao",
    "-uto -RT 50",
    "-uba",
    "-ubt -QS",
    "-u -s 1",
    "-hdr 1:1",
    "-hdr 2:1 -q",
    "-ac 100",
    "-ad 5",
    "-tcn --",
    "-TCN cD",
    "-H",
    "-H -m 7",
    "-e -q",
    "-srv -s -1",
    "-uc -v -query -H",
];

fn config(command: &str) -> haplog_halog::Config {
    let args: Vec<Vec<u8>> = command
        .split_whitespace()
        .map(|a| a.as_bytes().to_vec())
        .collect();
    match parse(&args).0 {
        Parsed::Run(config) => *config,
        Parsed::Exit { stderr, .. } => panic!("{command}: {stderr}"),
    }
}

fn run(config: &haplog_halog::Config, data: &[u8], cuts: &[usize], workers: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut err = Vec::new();
    run_in_memory(config, data, cuts, workers, &mut out, &mut err).unwrap();
    out.extend_from_slice(b"\n--- stderr ---\n");
    out.extend_from_slice(&err);
    out
}

/// One input line: a sample line (maybe damaged) or junk.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let samples: Vec<&'static str> = SAMPLE.lines().collect();
    prop_oneof![
        6 => prop::sample::select(samples.clone()).prop_map(|l| l.as_bytes().to_vec()),
        2 => (prop::sample::select(samples), any::<usize>(), any::<u8>(), any::<bool>())
            .prop_map(|(l, at, byte, cut)| {
                let mut l = l.as_bytes().to_vec();
                if l.is_empty() {
                    return l;
                }
                let at = at % l.len();
                if cut {
                    l.truncate(at);
                } else {
                    l[at] = byte;
                }
                l
            }),
        1 => prop::collection::vec(any::<u8>(), 0..80),
    ]
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(line(), 0..40), any::<bool>()).prop_map(|(lines, final_lf)| {
        let mut data = lines.join(&b'\n');
        if final_lf && !data.is_empty() {
            data.push(b'\n');
        }
        data
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn chunking_and_workers_do_not_change_the_result(
        command in prop::sample::select(COMMANDS),
        data in input(),
        cut_points in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        workers in 1usize..4,
    ) {
        let config = config(command);
        let whole = run(&config, &data, &[], 1);
        // Cut after the line ends nearest the chosen points.
        let ends: Vec<usize> = data
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'\n')
            .map(|(i, _)| i + 1)
            .collect();
        let cuts: Vec<usize> = if ends.is_empty() {
            Vec::new()
        } else {
            cut_points.iter().map(|ix| ends[ix.index(ends.len())]).collect()
        };
        let split = run(&config, &data, &cuts, workers);
        prop_assert!(
            whole == split,
            "{command} cuts {cuts:?} workers {workers}\n--- whole ---\n{}\n--- split ---\n{}",
            String::from_utf8_lossy(&whole),
            String::from_utf8_lossy(&split)
        );
    }

    /// `-cc` and `-time` too, and any bytes at all: never a panic.
    #[test]
    fn any_bytes_under_any_mode_never_panic(
        command in prop::sample::select(COMMANDS),
        extra in prop::sample::select(&["", "-cc", "-time 1709546400:1709550000"][..]),
        data in prop::collection::vec(any::<u8>(), 0..2000),
        cut in any::<prop::sample::Index>(),
    ) {
        let command = if extra.is_empty() || command.starts_with("-c") {
            command.to_string()
        } else if extra == "-cc" {
            // -cc is an output mode of its own.
            "-cc".to_string()
        } else {
            format!("{command} {extra}")
        };
        let config = config(&command);
        let at = if data.is_empty() { 0 } else { cut.index(data.len()) };
        run(&config, &data, &[at], 2);
    }
}
