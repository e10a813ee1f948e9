//! halog 2.6's command line: the options, their quirks, and what they make
//! the program do.

/// The usage block halog prints after an error message (and before the long
/// help), ending with an empty line.
pub const USAGE: &str = "Usage:
  halog [-h|--help] for long help
  halog [input_filters]* [modifiers]* [output_format] < log
    inp = [-e|-E] [-H] [-Q|-QS] [-rt|-RT <time>] [-ad <delay>] [-ac <count>]
          [-hs|-HS [min][:[max]]] [-tcn|-TCN <termcode>] [-time [min][:[max]]]
    mod = [-q] [-v] [-m <lines>] [-s <skipflds>] [-query]
    out = {-c|-u|-uc|-ue|-ua|-ut|-uao|-uto|-uba|-ubt|-hdr <block>:<field>|
           -cc|-gt|-pct|-st|-tc|-srv|-ic}

";

/// `halog -h`: the usage block and the long help, exactly as 2.6 prints them.
pub const HELP: &str = include_str!("help.txt");

/// What the per-line step does with a line that passed the filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineMode {
    /// Print the line (no output option).
    Print,
    /// Count it (`-c`).
    Count,
    /// Print one captured header field (`-hdr`).
    Capture { block: u32, field: u32 },
    /// Count accepts per millisecond of the day (`-ac`/`-ad`).
    AcceptHoles,
    /// Timer distributions (`-pct`, or quantized for `-gt`).
    Graphs { quantized: bool },
    /// Count per status code (`-st`).
    Status,
    /// Count per cookie flags, chars 3-4 of the termination state (`-cc`).
    CookieCodes,
    /// Count per termination flags, chars 1-2 (`-tc`).
    TermCodes,
    /// Per-server statistics (`-srv`).
    Servers,
    /// Per-URL statistics (`-u*`).
    Urls,
    /// Per-client statistics (`-ic`).
    Sources,
}

impl LineMode {
    /// Whether this step raises the output-line count while reading, which
    /// is what `-m` stops the input on.
    pub fn counts_while_reading(self) -> bool {
        matches!(
            self,
            LineMode::Print | LineMode::Count | LineMode::Capture { .. } | LineMode::Graphs { .. }
        )
    }
}

/// What is printed once the input has been read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinalMode {
    Count,
    AcceptHoles,
    Graph,
    Percentiles,
    Status,
    Servers,
    Codes,
    Urls,
    Nothing,
}

/// The sort of the `-u*`/`-ic` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlSort {
    /// `-u`: by key, descending.
    Key,
    /// Numeric keys, descending, ties by key descending.
    Requests,
    Errors,
    TotalTime,
    AverageTime,
    TotalTimeOk,
    AverageTimeOk,
    AverageBytes,
    TotalBytes,
    /// No sort flag matched (cannot happen for a -u* or -ic table).
    Zero,
}

/// Everything halog's option scan decides.
#[derive(Clone, Debug)]
pub struct Config {
    pub quiet: bool,
    pub invert: bool,
    pub http_only: bool,
    /// `-e` (false) or `-E` (true: inverted).
    pub errors: Option<bool>,
    /// `-rt N` / `-RT N`: threshold and inversion.
    pub time_resp: Option<(i32, bool)>,
    pub queue_any: bool,
    pub queue_server: bool,
    /// `-tcn`/`-TCN`: the two compared bytes (NUL-padded) and inversion.
    pub term_code: Option<([u8; 2], bool)>,
    /// `-hs`/`-HS`: min, max, inversion.
    pub status_range: Option<(i32, i32, bool)>,
    /// `-time`: min and max unix time, unsigned.
    pub time_range: Option<(u32, u32)>,
    /// `-m`: negative is unlimited.
    pub lines_max: i32,
    /// `-s`: the accept date is field 6 + skip.
    pub skip: i32,
    pub preserve_query: bool,
    /// `-ic` was given: the accept date is found through the source field.
    pub sources_flag: bool,
    pub acc_delay: u32,
    pub acc_count: u32,
    pub line_mode: LineMode,
    pub final_mode: FinalMode,
    pub url_sort: UrlSort,
    /// `-c` with no input filter: lines are counted without being parsed.
    pub fast_count: bool,
}

/// The result of reading halog's arguments.
#[derive(Debug)]
pub enum Parsed {
    Run(Box<Config>),
    /// Print these and exit with this code, without reading any input.
    Exit {
        stdout: String,
        stderr: String,
        code: i32,
    },
}

fn die(msg: &str) -> Parsed {
    Parsed::Exit {
        stdout: String::new(),
        stderr: format!("{msg}{USAGE}"),
        code: 1,
    }
}

/// C's `atol`, as glibc does it: leading white space, an optional sign,
/// digits; saturating on overflow; 0 when there are no digits.
pub fn atol(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'-' || s[i] == b'+') {
        negative = s[i] == b'-';
        i += 1;
    }
    let mut v: i64 = 0;
    let mut overflow = false;
    while i < s.len() && s[i].is_ascii_digit() {
        let d = (s[i] - b'0') as i64;
        match v.checked_mul(10).and_then(|x| {
            if negative {
                x.checked_sub(d)
            } else {
                x.checked_add(d)
            }
        }) {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    if overflow {
        return if negative { i64::MIN } else { i64::MAX };
    }
    v
}

/// `atol` stored into a C `int`.
fn atoi32(s: &[u8]) -> i32 {
    atol(s) as i32
}

/// `atol` stored into a C `unsigned int`.
fn atou32(s: &[u8]) -> u32 {
    atol(s) as u32
}

// Option flags, named after halog's FILT_* bits.
#[derive(Default)]
struct Flags {
    count_only: bool,
    acc_delay: bool,
    acc_count: bool,
    graph: bool,
    pct: bool,
    status: bool,
    servers: bool,
    cookie: bool,
    term: bool,
    url_only: bool,
    url_count: bool,
    url_err: bool,
    url_ttot: bool,
    url_tavg: bool,
    url_ttoto: bool,
    url_tavgo: bool,
    url_bavg: bool,
    url_btot: bool,
    sources: bool,
    capture: Option<(u32, u32)>,
    // Anything that makes `halog` do something ("an action").
    action: bool,
}

impl Flags {
    fn any_url(&self) -> bool {
        self.url_only
            || self.url_count
            || self.url_err
            || self.url_ttot
            || self.url_tavg
            || self.url_ttoto
            || self.url_tavgo
            || self.url_bavg
            || self.url_btot
    }
}

/// Reads halog's arguments (without the program name). Returns the
/// arguments after the ones halog reads: halog ignores them.
pub fn parse(args: &[Vec<u8>]) -> (Parsed, usize) {
    let mut c = Config {
        quiet: false,
        invert: false,
        http_only: false,
        errors: None,
        time_resp: None,
        queue_any: false,
        queue_server: false,
        term_code: None,
        status_range: None,
        time_range: None,
        lines_max: -1,
        skip: 1,
        preserve_query: false,
        sources_flag: false,
        acc_delay: 0,
        acc_count: 0,
        line_mode: LineMode::Print,
        final_mode: FinalMode::Nothing,
        url_sort: UrlSort::Zero,
        fast_count: false,
    };
    let mut f = Flags::default();
    let mut output_file = false;
    let mut i = 0;
    // Takes the value of the option at `i`, or dies with halog's message.
    macro_rules! value {
        ($msg:expr) => {{
            if i + 1 >= args.len() {
                return (die($msg), args.len());
            }
            i += 1;
            args[i].as_slice()
        }};
    }
    while i < args.len() {
        let arg = args[i].as_slice();
        if arg.first() != Some(&b'-') {
            break;
        }
        match arg {
            b"-ad" => {
                let v = value!("missing option for -ad\n");
                f.acc_delay = true;
                c.acc_delay = atou32(v);
            }
            b"-ac" => {
                let v = value!("missing option for -ac\n");
                f.acc_count = true;
                c.acc_count = atou32(v);
            }
            b"-rt" | b"-RT" => {
                let v = if arg == b"-rt" {
                    value!("missing option for -rt\n")
                } else {
                    value!("missing option for -RT\n")
                };
                let inverted = c.time_resp.is_some_and(|(_, inv)| inv) || arg == b"-RT";
                c.time_resp = Some((atoi32(v), inverted));
            }
            b"-s" => c.skip = atoi32(value!("missing option for -s\n")),
            b"-m" => c.lines_max = atoi32(value!("missing option for -m\n")),
            b"-e" => c.errors = Some(c.errors.unwrap_or(false)),
            b"-E" => c.errors = Some(true),
            b"-H" => c.http_only = true,
            b"-Q" => c.queue_any = true,
            b"-QS" => c.queue_server = true,
            b"-c" => f.count_only = true,
            b"-q" => c.quiet = true,
            b"-v" => c.invert = !c.invert,
            b"-gt" => f.graph = true,
            b"-pct" => f.pct = true,
            b"-st" => f.status = true,
            b"-srv" => f.servers = true,
            b"-cc" => f.cookie = true,
            b"-tc" => f.term = true,
            b"-tcn" | b"-TCN" => {
                let v = if arg == b"-tcn" {
                    value!("missing option for -tcn\n")
                } else {
                    value!("missing option for -TCN\n")
                };
                let inverted = c.term_code.is_some_and(|(_, inv)| inv) || arg == b"-TCN";
                let code = [
                    v.first().copied().unwrap_or(0),
                    if v.is_empty() {
                        0
                    } else {
                        v.get(1).copied().unwrap_or(0)
                    },
                ];
                c.term_code = Some((code, inverted));
            }
            b"-hs" | b"-HS" => {
                let v = value!("missing option for -hs/-HS ([min]:[max])\n");
                let inverted = c.status_range.is_some_and(|(_, _, inv)| inv) || arg == b"-HS";
                let (low, high) = match v.iter().position(|&b| b == b':') {
                    Some(colon) => (&v[..colon], &v[colon + 1..]),
                    None => (v, v),
                };
                let low = if low.is_empty() { 0 } else { atoi32(low) };
                let high = if high.is_empty() { 65535 } else { atoi32(high) };
                c.status_range = Some((low, high, inverted));
            }
            b"-time" => {
                let v = value!("missing option for -time ([min]:[max])\n");
                let low = if v.is_empty() { 0 } else { atou32(v) };
                let high = match v.iter().position(|&b| b == b':') {
                    Some(colon) => atou32(&v[colon + 1..]),
                    None => 0xFFFF_FFFF,
                };
                c.time_range = Some((low, high));
            }
            b"-u" => f.url_only = true,
            b"-uc" => f.url_count = true,
            b"-ue" => f.url_err = true,
            b"-ua" => f.url_tavg = true,
            b"-ut" => f.url_ttot = true,
            b"-uao" => f.url_tavgo = true,
            b"-uto" => f.url_ttoto = true,
            b"-uba" => f.url_bavg = true,
            b"-ubt" => f.url_btot = true,
            b"-query" => c.preserve_query = true,
            b"-ic" => f.sources = true,
            b"-hdr" => {
                let v = value!("missing option for -hdr (<block>:<field>)\n");
                let Some(colon) = v.iter().position(|&b| b == b':') else {
                    return (die("missing colon in -hdr (<block>:<field>)\n"), args.len());
                };
                let (block, field) = (&v[..colon], &v[colon + 1..]);
                let block = if block.is_empty() { 1 } else { atou32(block) };
                let field = if field.is_empty() { 1 } else { atou32(field) };
                if block < 1 || field < 1 {
                    return (
                        die("block and field must be at least 1 for -hdr (<block>:<field>)\n"),
                        args.len(),
                    );
                }
                f.capture = Some((block, field));
            }
            b"-o" => {
                // A leftover: records the name without consuming it.
                if output_file {
                    return (
                        die("Fatal: output file name already specified.\n"),
                        args.len(),
                    );
                }
                if i + 1 >= args.len() {
                    return (die("Fatal: missing output file name.\n"), args.len());
                }
                output_file = true;
            }
            b"-h" | b"--help" => {
                return (
                    Parsed::Exit {
                        stdout: HELP.to_string(),
                        stderr: String::new(),
                        code: 0,
                    },
                    args.len(),
                )
            }
            _ => {}
        }
        i += 1;
    }
    let consumed = i;

    f.action = f.count_only
        || f.acc_delay
        || f.acc_count
        || f.graph
        || f.pct
        || f.status
        || f.servers
        || f.cookie
        || f.term
        || f.any_url()
        || f.sources
        || f.capture.is_some()
        || c.quiet
        || c.preserve_query
        || c.http_only
        || c.errors.is_some()
        || c.time_resp.is_some()
        || c.queue_any
        || c.queue_server
        || c.term_code.is_some()
        || c.status_range.is_some()
        || c.time_range.is_some();
    if !f.action {
        return (die("No action specified.\n"), consumed);
    }
    if f.acc_count && c.acc_count == 0 {
        c.acc_count = 1;
    }
    if f.acc_delay && c.acc_delay == 0 {
        c.acc_delay = 1;
    }
    c.sources_flag = f.sources;

    // The per-line step, chosen once, first match wins.
    let chosen = if f.acc_count || f.acc_delay {
        LineMode::AcceptHoles
    } else if f.graph || f.pct {
        LineMode::Graphs { quantized: f.graph }
    } else if f.status {
        LineMode::Status
    } else if f.cookie {
        LineMode::CookieCodes
    } else if f.term {
        LineMode::TermCodes
    } else if f.servers {
        LineMode::Servers
    } else if f.any_url() {
        LineMode::Urls
    } else if f.count_only {
        LineMode::Count
    } else {
        LineMode::Print
    };
    let has_input_filter = c.http_only
        || c.time_resp.is_some()
        || c.errors.is_some()
        || c.status_range.is_some()
        || c.queue_any
        || c.queue_server
        || c.term_code.is_some()
        || c.time_range.is_some();
    c.fast_count = chosen == LineMode::Count && !has_input_filter;
    // Inside the loop, -ic and then -hdr take over any step but counting.
    c.line_mode = match (chosen, f.sources, f.capture) {
        (LineMode::Count, _, _) => LineMode::Count,
        (_, true, _) => LineMode::Sources,
        (_, false, Some((block, field))) => LineMode::Capture { block, field },
        (mode, _, _) => mode,
    };
    c.final_mode = if f.count_only {
        FinalMode::Count
    } else if f.acc_count || f.acc_delay {
        FinalMode::AcceptHoles
    } else if f.graph {
        FinalMode::Graph
    } else if f.pct {
        FinalMode::Percentiles
    } else if f.status {
        FinalMode::Status
    } else if f.servers {
        FinalMode::Servers
    } else if f.term || f.cookie {
        FinalMode::Codes
    } else if f.any_url() || f.sources {
        FinalMode::Urls
    } else {
        FinalMode::Nothing
    };
    c.url_sort = if f.url_only {
        UrlSort::Key
    } else if f.url_count || f.sources {
        UrlSort::Requests
    } else if f.url_err {
        UrlSort::Errors
    } else if f.url_ttot {
        UrlSort::TotalTime
    } else if f.url_tavg {
        UrlSort::AverageTime
    } else if f.url_ttoto {
        UrlSort::TotalTimeOk
    } else if f.url_tavgo {
        UrlSort::AverageTimeOk
    } else if f.url_bavg {
        UrlSort::AverageBytes
    } else if f.url_btot {
        UrlSort::TotalBytes
    } else {
        UrlSort::Zero
    };
    if !modes_agree(c.line_mode, c.final_mode) {
        // halog 2.6 prints memory garbage or crashes here; newer halog
        // rejects every such combination with this message.
        return (die("Please, set only one output filter.\n"), consumed);
    }
    (Parsed::Run(Box::new(c)), consumed)
}

/// What a per-line step stores, or what a final output reads. In halog all
/// of them share one tree, so a mismatch reads one node type as another.
#[derive(PartialEq, Eq)]
enum Store {
    None,
    Counters,
    Servers,
    Urls,
}

fn modes_agree(line: LineMode, fin: FinalMode) -> bool {
    let written = match line {
        LineMode::Print | LineMode::Count | LineMode::Capture { .. } => Store::None,
        LineMode::AcceptHoles
        | LineMode::Graphs { .. }
        | LineMode::Status
        | LineMode::CookieCodes
        | LineMode::TermCodes => Store::Counters,
        LineMode::Servers => Store::Servers,
        LineMode::Urls | LineMode::Sources => Store::Urls,
    };
    let read = match fin {
        FinalMode::Count | FinalMode::Nothing => Store::None,
        FinalMode::AcceptHoles | FinalMode::Graph | FinalMode::Status | FinalMode::Codes => {
            Store::Counters
        }
        // The percentile table reads the timer trees only when samples were
        // counted (lines_out > 0): with captures counted instead, halog 2.6
        // crashes; with -ic nothing is counted and only the summary prints.
        FinalMode::Percentiles => match line {
            LineMode::Capture { .. } => return false,
            LineMode::Graphs { .. } => Store::Counters,
            _ => Store::None,
        },
        FinalMode::Servers => Store::Servers,
        FinalMode::Urls => Store::Urls,
    };
    written == Store::None || read == Store::None || written == read
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Parsed {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        parse(&args).0
    }

    fn config(args: &[&str]) -> Config {
        match run(args) {
            Parsed::Run(c) => *c,
            Parsed::Exit { stderr, .. } => panic!("{args:?} exited: {stderr}"),
        }
    }

    fn rejected(args: &[&str]) -> bool {
        matches!(run(args), Parsed::Exit { stderr, code: 1, .. } if stderr.starts_with("Please, set only one output filter."))
    }

    #[test]
    fn help_text_starts_with_usage() {
        assert!(HELP.starts_with(USAGE));
    }

    #[test]
    fn atol_is_glibc_like() {
        assert_eq!(atol(b"  -12x"), -12);
        assert_eq!(atol(b"+7"), 7);
        assert_eq!(atol(b"abc"), 0);
        assert_eq!(atol(b"99999999999999999999"), i64::MAX);
        assert_eq!(atol(b"-99999999999999999999"), i64::MIN);
        assert_eq!(atol(b"99999999999999999999") as i32, -1);
    }

    #[test]
    fn garbage_combinations_are_rejected() {
        for bad in [
            &["-tc", "-srv"][..],
            &["-cc", "-srv"],
            &["-ic", "-srv"],
            &["-ic", "-st"],
            &["-ic", "-tc"],
            &["-ic", "-gt"],
            &["-hdr", "1:1", "-pct"],
        ] {
            assert!(rejected(bad), "{bad:?}");
        }
        for good in [
            &["-srv", "-u"][..],
            &["-st", "-tc"],
            &["-cc", "-tc"],
            &["-gt", "-pct"],
            &["-ic", "-u"],
            &["-ic", "-ut"],
            &["-c", "-srv"],
            &["-hdr", "1:1", "-srv"],
            &["-ac", "1", "-srv"],
            &["-ic", "-pct"],
            &["-c", "-hdr", "1:1", "-pct"],
        ] {
            assert!(!rejected(good), "{good:?}");
        }
    }

    #[test]
    fn sticky_inversions_and_last_values() {
        let c = config(&["-RT", "5", "-rt", "9"]);
        assert_eq!(c.time_resp, Some((9, true)));
        let c = config(&["-E", "-e"]);
        assert_eq!(c.errors, Some(true));
        let c = config(&["-hs", "200:", "-HS", ":399"]);
        assert_eq!(c.status_range, Some((0, 399, true)));
        let c = config(&["-hs", "404"]);
        assert_eq!(c.status_range, Some((404, 404, false)));
        let c = config(&["-time", "1700000000:"]);
        assert_eq!(c.time_range, Some((1_700_000_000, 0)));
        let c = config(&["-time", "5"]);
        assert_eq!(c.time_range, Some((5, 0xFFFF_FFFF)));
        let c = config(&["-tcn", "c"]);
        assert_eq!(c.term_code, Some(([b'c', 0], false)));
    }

    #[test]
    fn scan_stops_at_first_non_option() {
        let args: Vec<Vec<u8>> = ["-srv", "extra", "-u"]
            .iter()
            .map(|a| a.as_bytes().to_vec())
            .collect();
        let (parsed, consumed) = parse(&args);
        assert_eq!(consumed, 1);
        match parsed {
            Parsed::Run(c) => assert_eq!(c.final_mode, FinalMode::Servers),
            _ => panic!(),
        }
    }
}
