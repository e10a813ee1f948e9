//! Differential test: random logs (with junk, binary, long and truncated
//! lines) through the real `/usr/sbin/halog` and haplog, under random
//! combinations of filters and output modes; the bytes must be identical.
//!
//! Needs halog 2.6 (`apt-get install haproxy`; `scripts/test.sh` installs
//! it). `HAPLOG_DIFF_SEED=N` replays a run, `HAPLOG_DIFF_SEED=random` picks
//! a new seed, `HAPLOG_DIFF_FILES=N` sets how many logs are generated.
//! A failing case is saved under `target/halog-diff/` with its command line.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const HALOG: &str = "/usr/sbin/halog";

/// SplitMix64: small, deterministic, good enough to pick test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

const MONTHS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const ODD_MONTHS: &[&str] = &["Jux", "jan", "Mxr", "Axx", "J", "Xyz", "May"];
const TERM_CODES: &[&str] = &[
    "----",
    "--NI",
    "--VN",
    "cD--",
    "CD--",
    "SC--",
    "sC--",
    "PC--",
    "CR--",
    "cR--",
    "SH--",
    "sQ--",
    "LR--",
    "-",
    "--",
    "cD",
    "\u{e9}--",
    "\u{ff}D--",
];
const STATUSES: &[&str] = &[
    "200",
    "200",
    "200",
    "200",
    "304",
    "302",
    "404",
    "404",
    "500",
    "502",
    "503",
    "504",
    "-1",
    "0",
    "099",
    "600",
    "abc",
    "-",
    "+200",
    "2147483648",
    "408",
    "101",
];
const PATHS: &[&str] = &[
    "/",
    "/index.html",
    "/api/v1/orders",
    "/api/v1/users?id=7",
    "/a;jsessionid=1",
    "/static/app.js?v=12",
    "/x#frag",
    "?q",
    "http://h/p?q",
    "/caf\u{e9}",
    "/tab\tpath",
    "/quote\"x",
];
const SERVERS: &[&str] = &[
    "bk_web/web01",
    "bk_web/web02",
    "bk_api/api1",
    "bk_api/<NOSRV>",
    "bk_static/static1",
    "BK/Z",
    "bk/\u{e9}",
    "bk_web/web10",
];

/// How the lines of a log start.
#[derive(Clone, Copy)]
enum Header {
    /// `Feb  6 12:14:14 host haproxy[1]:` (halog's default, -s 1)
    Classic,
    /// no hostname (-s 0)
    NoHost,
    /// no syslog header at all (-s -4)
    Bare,
}

fn timer(rng: &mut Rng) -> String {
    match rng.below(40) {
        0 => "-1".into(),
        1 => "+30".into(),
        2 => "99999999999".into(),
        3 => "2147483648".into(),
        4 => "x".into(),
        5 => String::new(),
        _ => {
            let max = if rng.chance(20) { 20000 } else { 300 };
            rng.below(max).to_string()
        }
    }
}

fn date(rng: &mut Rng, minute: &mut u64) -> String {
    *minute += rng.below(3);
    let day = 1 + (*minute / 1440) % 28;
    let (h, m) = ((*minute / 60) % 24, *minute % 60);
    let month = if rng.chance(2) {
        rng.pick(ODD_MONTHS)
    } else {
        MONTHS[(*minute / 40320 % 12) as usize]
    };
    let day = if rng.chance(2) {
        rng.pick(&[0u64, 32, 39, 9])
    } else {
        day
    };
    let ms = rng.below(1000);
    match rng.below(60) {
        0 => format!("[{day:02}/{month}/2024]"),
        1 => format!("[{day:02}/{month}/2024:{h:02}:{m:02}:{:02}]", rng.below(60)),
        2 => format!(
            "[{day:02}/{month}/2024:{h:02}:{m:02}:{:02}.{}]",
            rng.below(60),
            rng.below(10)
        ),
        3 => format!("[{day:02}/{month}/2024:25:{m:02}:00.000]"),
        _ => format!(
            "[{day:02}/{month}/2024:{h:02}:{m:02}:{:02}.{ms:03}]",
            rng.below(60)
        ),
    }
}

fn client(rng: &mut Rng) -> String {
    match rng.below(30) {
        0 => "2001:db8::1:443".into(),
        1 => "[2001:db8::2]:443".into(),
        2 => "unix:1".into(),
        3 => "nocolon".into(),
        4 => ":80".into(),
        _ => format!(
            "10.0.{}.{}:{}",
            rng.below(4),
            rng.below(20),
            1024 + rng.below(60000)
        ),
    }
}

fn captures(rng: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..rng.below(3) {
        let fields: Vec<String> = (0..1 + rng.below(3))
            .map(|_| {
                rng.pick(&[
                    "www.example.com",
                    "",
                    "a b",
                    "Mozilla/5.0 (X11)",
                    "x|y",
                    "\"q",
                    "text/html",
                    "}",
                ])
                .to_string()
            })
            .collect();
        s.push('{');
        s.push_str(&fields.join("|"));
        s.push_str("} ");
    }
    s
}

fn traffic_line(rng: &mut Rng, header: Header, minute: &mut u64, n: u64) -> String {
    let head = match header {
        Header::Classic => format!("Feb {:2} 12:14:14 localhost haproxy[14389]: ", 1 + n % 28),
        Header::NoHost => "Feb  6 12:14:14 haproxy[14389]: ".to_string(),
        Header::Bare => String::new(),
    };
    let mut parts = vec![
        client(rng),
        date(rng, minute),
        rng.pick(&["www-https~", "www", "api-in"]).to_string(),
        rng.pick(SERVERS).to_string(),
    ];
    if rng.chance(5) {
        // TCP log: Tw/Tc/Tt bytes term conns queues
        parts.push(format!("{}/{}/{}", timer(rng), timer(rng), timer(rng)));
        parts.push(rng.below(100000).to_string());
        parts.push(rng.pick(&["--", "CD", "sD", "SC"]).to_string());
        parts.push("1/1/1/1/0".into());
        parts.push("0/0".into());
    } else {
        let ntimers = if rng.chance(3) {
            rng.pick(&[3u64, 4, 6])
        } else {
            5
        };
        let timers: Vec<String> = (0..ntimers).map(|_| timer(rng)).collect();
        parts.push(timers.join("/"));
        parts.push(rng.pick(STATUSES).to_string());
        parts.push(match rng.below(20) {
            0 => "-5".into(),
            1 => "3000000000".into(),
            _ => rng.below(20000).to_string(),
        });
        parts.push("-".into());
        parts.push("-".into());
        parts.push(rng.pick(TERM_CODES).to_string());
        parts.push(format!(
            "{}/{}/{}/{}/{}",
            rng.below(100),
            rng.below(100),
            rng.below(50),
            rng.below(9),
            rng.below(3)
        ));
        parts.push(
            rng.pick(&["0/0", "0/0", "0/3", "2/0", "0/03", "00/3", "-/-", "0"])
                .to_string(),
        );
        let caps = if rng.chance(30) {
            captures(rng)
        } else {
            String::new()
        };
        let request = match rng.below(25) {
            0 => "\"<BADREQ>\"".to_string(),
            1 => "\"GET\"".to_string(),
            2 => format!("\"GET {}\"", rng.pick(PATHS)),
            3 => "\"CONNECT h:443 HTTP/1.1\"".to_string(),
            4 => format!("\\\"GET {} HTTP/1.1\\\"", rng.pick(PATHS)),
            _ => format!(
                "\"{} {} HTTP/1.1\"",
                rng.pick(&["GET", "POST", "HEAD"]),
                rng.pick(PATHS)
            ),
        };
        parts.push(format!("{caps}{request}"));
    }
    let mut line = head + &parts.join(" ");
    if rng.chance(3) {
        line = line.replacen(' ', "  ", 1 + rng.below(3) as usize);
    }
    line
}

fn junk_line(rng: &mut Rng) -> Vec<u8> {
    match rng.below(8) {
        0 => Vec::new(),
        1 => b"   ".to_vec(),
        2 => b"Feb  6 12:14:14 localhost haproxy[1]: Proxy www started.".to_vec(),
        3 => b"Feb  6 12:14:14 localhost haproxy[1]: backend [1] has no server available!".to_vec(),
        4 => {
            b"Feb  6 12:14:14 localhost haproxy[1]: Server bk/web1 is DOWN, reason: Layer4 timeout"
                .to_vec()
        }
        5 => b"x [".to_vec(),
        6 => (0..rng.below(80))
            .map(|_| rng.below(256) as u8)
            .filter(|&b| b != b'\n')
            .collect(),
        _ => b"Feb  6 12:14:14 localhost haproxy[1]: 1.2.3.4:5 [4".to_vec(),
    }
}

/// Binary damage inside a line, which halog must survive.
fn damage(rng: &mut Rng, line: &mut Vec<u8>) {
    if line.is_empty() {
        return;
    }
    let at = rng.below(line.len() as u64) as usize;
    let byte = rng.pick(&[b'\t', b'\r', 0u8, 0xff, b' ', 0x07, 0x7f, b'/', b'"']);
    if rng.chance(50) {
        line.insert(at, byte);
    } else {
        line[at] = byte;
    }
}

/// Writes one log. With `cut_lines`, some lines are cut short at a random
/// byte (halog then reads past their end in places that are undefined).
fn generate(rng: &mut Rng, header: Header, lines: u64, cut_lines: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut minute = 0;
    let long_at = if rng.chance(8) {
        Some(rng.below(lines))
    } else {
        None
    };
    for n in 0..lines {
        if Some(n) == long_at {
            // 262 144 bytes or more ends halog's input; 262 143 does not.
            let len = if rng.chance(50) {
                262_144 + rng.below(3) as usize
            } else {
                262_143
            };
            out.extend(std::iter::repeat_n(b'L', len));
            out.push(b'\n');
            continue;
        }
        let mut line = if rng.chance(2) {
            junk_line(rng)
        } else {
            traffic_line(rng, header, &mut minute, n).into_bytes()
        };
        if rng.chance(3) {
            damage(rng, &mut line);
        }
        if cut_lines && rng.chance(3) && !line.is_empty() {
            line.truncate(rng.below(line.len() as u64) as usize);
        }
        if rng.chance(2) {
            line.push(b'\r');
        }
        out.extend_from_slice(&line);
        out.push(b'\n');
    }
    if rng.chance(20) {
        out.pop();
    }
    out
}

/// A random halog command line. Returns it and whether it must not see
/// lines cut short (see `generate`).
fn command_line(rng: &mut Rng, header: Header) -> (Vec<String>, bool) {
    let mut args: Vec<String> = Vec::new();
    let mut needs_whole_lines = false;
    let mut push = |a: &[&str]| a.iter().for_each(|s| args.push(s.to_string()));
    if rng.chance(35) {
        push(&["-H"]);
    }
    if rng.chance(12) {
        push(&[rng.pick(&["-e", "-E"])]);
    }
    if rng.chance(10) {
        let v = rng.pick(&["0", "5", "50", "500", "-1"]).to_string();
        push(&[rng.pick(&["-rt", "-RT"]), &v]);
    }
    if rng.chance(8) {
        push(&[rng.pick(&["-Q", "-QS"])]);
    }
    if rng.chance(8) {
        let code = rng
            .pick(&["cD", "--", "SC", "c", "-", "PC-", "\u{e9}"])
            .to_string();
        push(&[rng.pick(&["-tcn", "-TCN"]), &code]);
    }
    if rng.chance(10) {
        let range = rng
            .pick(&["200", "500:", ":399", "300:499", "", ":", "0:0", "404:200"])
            .to_string();
        push(&[rng.pick(&["-hs", "-HS"]), &range]);
    }
    if rng.chance(8) {
        needs_whole_lines = true;
        let range = rng
            .pick(&[
                "1706745600:1707000000",
                "1706800000",
                ":1706800000",
                "1706745600:",
                "0:4294967295",
            ])
            .to_string();
        push(&["-time", &range]);
    }
    if rng.chance(10) {
        push(&["-v"]);
    }
    if rng.chance(10) {
        push(&["-q"]);
    }
    if rng.chance(12) {
        let m = rng.pick(&["0", "1", "3", "10", "100", "-1"]).to_string();
        push(&["-m", &m]);
    }
    if rng.chance(8) {
        push(&["-query"]);
    }
    let skip = match header {
        Header::Classic => None,
        Header::NoHost => Some("0"),
        Header::Bare => Some("-4"),
    };
    let skip = if rng.chance(5) {
        Some(rng.pick(&["2", "-5", "0"]))
    } else {
        skip
    };
    if let Some(s) = skip {
        push(&["-s", s]);
    }
    let output: &[&str] = rng.pick(&[
        &[],
        &["-c"],
        &["-gt"],
        &["-pct"],
        &["-st"],
        &["-cc"],
        &["-tc"],
        &["-srv"],
        &["-ic"],
        &["-u"],
        &["-uc"],
        &["-ue"],
        &["-ua"],
        &["-ut"],
        &["-uao"],
        &["-uto"],
        &["-uba"],
        &["-ubt"],
        &["-hdr", "1:1"],
        &["-hdr", "2:2"],
        &["-hdr", "1:3"],
        &["-ac", "1"],
        &["-ad", "10"],
        &["-ac", "2", "-ad", "0"],
        &["-srv", "-u"],
        &["-st", "-tc"],
        &["-cc", "-tc"],
        &["-gt", "-pct"],
        &["-ic", "-u"],
        &["-ic", "-ut"],
        &["-c", "-srv"],
        &["-c", "-pct"],
        &["-hdr", "1:1", "-srv"],
    ]);
    if output.contains(&"-cc") {
        needs_whole_lines = true;
    }
    push(output);
    (args, needs_whole_lines)
}

struct Outcome {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn run(
    program: &Path,
    prefix: &[&str],
    args: &[String],
    input: &Path,
    env: &[(&str, String)],
) -> Outcome {
    let mut cmd = Command::new(program);
    cmd.args(prefix)
        .args(args)
        .env_clear()
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .stdin(Stdio::from(fs::File::open(input).unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

fn seed() -> u64 {
    match std::env::var("HAPLOG_DIFF_SEED").ok().as_deref() {
        None | Some("") => 20_261_124,
        Some("random") => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
        Some(s) => s.parse().expect("HAPLOG_DIFF_SEED is a number or 'random'"),
    }
}

#[test]
fn haplog_matches_real_halog_on_random_logs() {
    assert!(
        Path::new(HALOG).exists(),
        "{HALOG} is missing: install it with `apt-get install haproxy` (scripts/test.sh does)"
    );
    let seed = seed();
    let files: u64 = std::env::var("HAPLOG_DIFF_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let haplog = PathBuf::from(crate::support::HAPLOG);
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("halog-diff-{seed}"));
    fs::create_dir_all(&work).unwrap();
    let mut rng = Rng(seed);
    let mut compared = 0;
    let mut failures = Vec::new();
    for file_no in 0..files {
        let header = rng.pick(&[
            Header::Classic,
            Header::Classic,
            Header::NoHost,
            Header::Bare,
        ]);
        let lines = 200 + rng.below(3000);
        let cut = rng.chance(50);
        let log = generate(&mut rng, header, lines, cut);
        let path = work.join(format!("log-{file_no}.log"));
        fs::write(&path, &log).unwrap();
        for _ in 0..30 {
            let (args, needs_whole_lines) = command_line(&mut rng, header);
            if needs_whole_lines && cut {
                continue;
            }
            let threads = rng.pick(&["1", "2", "3"]).to_string();
            // -cc reads two bytes past a line whose code has one character
            // and ends the line: halog sees whatever its buffer holds next,
            // we see the next line of the chunk. Small chunks would make that
            // undefined read differ, so -cc runs keep whole files in a chunk.
            let chunk = if args.iter().any(|a| a == "-cc") {
                "1048576".to_string()
            } else {
                rng.pick(&["97", "4096", "65536", "1048576"]).to_string()
            };
            let env = [("HAPLOG_THREADS", threads), ("HAPLOG_CHUNK_BYTES", chunk)];
            // `haplog ARGS` is halog when ARGS starts with a halog option;
            // `haplog halog ARGS` always is.
            let bare_applies = args.first().is_some_and(|a| a.starts_with('-'));
            let prefix: &[&str] = if bare_applies && rng.chance(50) {
                &[]
            } else {
                &["halog"]
            };
            let want = run(Path::new(HALOG), &[], &args, &path, &[]);
            let got = run(&haplog, prefix, &args, &path, &env);
            compared += 1;
            if (want.code, &want.stdout, &want.stderr) != (got.code, &got.stdout, &got.stderr) {
                let keep = Path::new(env!("CARGO_TARGET_TMPDIR"))
                    .join("../halog-diff")
                    .join(format!("seed-{seed}-file-{file_no}.log"));
                fs::create_dir_all(keep.parent().unwrap()).unwrap();
                fs::copy(&path, &keep).unwrap();
                let which = [
                    (want.code != got.code).then(|| format!("exit {} vs {}", want.code, got.code)),
                    (want.stdout != got.stdout).then(|| "stdout".to_string()),
                    (want.stderr != got.stderr).then(|| "stderr".to_string()),
                ];
                let which: Vec<String> = which.into_iter().flatten().collect();
                failures.push(format!(
                    "haplog {} {} < {}  [{}] differs: {}",
                    prefix.join(" "),
                    args.join(" "),
                    keep.display(),
                    env.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                    which.join(", ")
                ));
            }
        }
    }
    let _ = fs::remove_dir_all(&work);
    assert!(compared > files * 10, "too few comparisons ran: {compared}");
    assert!(
        failures.is_empty(),
        "seed {seed}: {} of {compared} command lines differ from halog:\n{}",
        failures.len(),
        failures
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!("seed {seed}: {compared} command lines identical to halog");
}
