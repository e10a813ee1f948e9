//! `haplog load` and `haplog testserver`, end to end on loopback: every call
//! kind, each data source, pacing, async, -z, errors, deadlines, and the
//! report formats. Every run is bounded by -n or -z and talks to
//! 127.0.0.1 only.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

const DEMO_PROTO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../load/proto/haplog/demo/tts.proto"
);

/// A `haplog testserver` child on a free loopback port; killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: String,
}

impl Server {
    pub(crate) fn start(flags: &[&str]) -> Server {
        let mut child = crate::support::haplog()
            .args(["testserver", "--listen", "127.0.0.1:0"])
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start haplog testserver");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|a| a.starts_with("127.0.0.1:"))
            .unwrap_or_else(|| panic!("testserver said {line:?}"))
            .to_string();
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn load_in(dir: Option<&Path>, args: &[&str]) -> Output {
    let mut command = crate::support::haplog();
    command.arg("load").args(args).stdin(Stdio::null());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command.output().expect("run haplog load")
}

fn load(args: &[&str]) -> Output {
    load_in(None, args)
}

/// Runs a load and reads its JSON report.
fn load_json(server: &Server, args: &[&str]) -> Value {
    let mut all: Vec<&str> = vec!["--insecure", "-O", "json"];
    all.extend_from_slice(args);
    all.push(&server.addr);
    let out = load(&all);
    assert!(
        out.status.success(),
        "haplog load {all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the JSON report parses")
}

fn statuses(report: &Value) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = report["statusCodeDistribution"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect();
    v.sort();
    v
}

fn ok(n: u64) -> Vec<(String, u64)> {
    vec![("OK".to_string(), n)]
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("haplog-load-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `SpeakRequest { text }`, serialized by hand.
fn speak_request(text: &str) -> Vec<u8> {
    let mut out = vec![0x0a, text.len() as u8];
    out.extend_from_slice(text.as_bytes());
    out
}

#[test]
fn every_call_kind_through_reflection() {
    let server = Server::start(&["--chunks", "4", "--chunk-size", "1000"]);
    let d = r#"[{"text":"a"},{"text":"b"},{"text":"c"}]"#;
    // (method, messages received per call, messages sent per call)
    let kinds = [
        ("Speak", 1, 1),
        ("SpeakWav", 4, 1),
        ("SpeakBatch", 1, 3),
        ("SpeakLive", 3, 3),
    ];
    for (method, received, sent) in kinds {
        let call = format!("haplog.demo.Tts/{method}");
        let report = load_json(&server, &["--call", &call, "-d", d, "-n", "12", "-c", "3"]);
        assert_eq!(report["count"], 12, "{method}");
        assert_eq!(statuses(&report), ok(12), "{method}");
        let extra = &report["haplog"];
        assert_eq!(extra["messagesReceived"], 12 * received, "{method}");
        assert_eq!(extra["messagesSent"], 12 * sent, "{method}");
        assert_eq!(extra["timeToFirstMessage"]["count"], 12, "{method}");
        assert!(
            report["details"].as_array().unwrap().len() == 12,
            "{method}"
        );
    }
    // A SpeakWav stream carries 4 chunks of 1000 bytes (+ 3 bytes of framing each).
    let report = load_json(&server, &["--call", "haplog.demo.Tts/SpeakWav", "-n", "5"]);
    assert_eq!(report["haplog"]["bytesReceived"], 5 * 4 * 1003);
}

#[test]
fn the_users_ghz_line_works_unchanged() {
    // ghz --insecure --async --proto ng_tts.proto --call ... -B ./TtsRequest.bin -n 100 --rps 2 HOST
    // with the demo service in place of theirs, and a shorter run.
    let server = Server::start(&["--chunks", "3", "--latency", "10ms"]);
    let dir = temp_dir("users-line");
    std::fs::copy(DEMO_PROTO, dir.join("tts.proto")).unwrap();
    std::fs::write(dir.join("TtsRequest.bin"), speak_request("안녕하세요")).unwrap();
    let out = load_in(
        Some(&dir),
        &[
            "--insecure",
            "--async",
            "--proto",
            "tts.proto",
            "--call",
            "haplog.demo.Tts/SpeakWav",
            "-B",
            "./TtsRequest.bin",
            "-n",
            "10",
            "--rps",
            "20",
            &server.addr,
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("\nSummary:\n  Count:\t10\n  Total:\t"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nStatus code distribution:\n  [OK]   10 responses   \n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nLatency distribution:\n  10 % in "),
        "{stdout}"
    );
    assert!(stdout.contains("Time to first message:"), "{stdout}");
    // The first call waits one interval (50 ms), the tenth goes at 500 ms.
    let total: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("  Total:\t"))
        .and_then(|t| t.strip_suffix(" ms"))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!((500.0..2000.0).contains(&total), "{total}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn binary_data_single_and_delimited() {
    let server = Server::start(&[]);
    let dir = temp_dir("binary");
    let single = dir.join("one.bin");
    std::fs::write(&single, speak_request("error:not_found")).unwrap();
    let report = load_json(
        &server,
        &[
            "--proto",
            DEMO_PROTO,
            "--call",
            "haplog.demo.Tts/Speak",
            "-B",
            single.to_str().unwrap(),
            "-n",
            "4",
        ],
    );
    // The text reached the server: it asked for NotFound.
    assert_eq!(statuses(&report), vec![("NotFound".to_string(), 4)]);

    // Two delimited messages, used round-robin: one fails, one succeeds.
    let mut delimited = Vec::new();
    for text in ["error:aborted", "fine"] {
        let m = speak_request(text);
        delimited.push(m.len() as u8);
        delimited.extend_from_slice(&m);
    }
    let path = dir.join("two.bin");
    std::fs::write(&path, delimited).unwrap();
    let report = load_json(
        &server,
        &[
            "--proto",
            DEMO_PROTO,
            "--call",
            "haplog.demo.Tts/Speak",
            "-B",
            path.to_str().unwrap(),
            "-n",
            "6",
            "-c",
            "1",
        ],
    );
    assert_eq!(
        statuses(&report),
        vec![("Aborted".to_string(), 3), ("OK".to_string(), 3)]
    );
    assert_eq!(report["options"]["binary"], true);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn templates_and_metadata_per_call() {
    let server = Server::start(&[]);
    // Every third call asks for an error through its own request number.
    let report = load_json(
        &server,
        &[
            "--call",
            "haplog.demo.Tts/Speak",
            "-n",
            "9",
            "-c",
            "1",
            "-d",
            r#"[{"text":"call {{.RequestNumber}} by {{.WorkerID}}"},{"text":"ok"},{"text":"error:internal"}]"#,
            "-m",
            r#"{"request-id":"{{.RequestNumber}}"}"#,
        ],
    );
    assert_eq!(
        statuses(&report),
        vec![("Internal".to_string(), 3), ("OK".to_string(), 6)]
    );
    // As ghz: the templates as the JSON they are, not as strings.
    assert_eq!(
        report["options"]["metadata"],
        serde_json::json!({"request-id": "{{.RequestNumber}}"})
    );
    assert_eq!(
        report["options"]["data"][0]["text"],
        "call {{.RequestNumber}} by {{.WorkerID}}"
    );
}

#[test]
fn rps_pacing_is_accurate() {
    let server = Server::start(&["--chunks", "2"]);
    // 300 calls at 100/s: 3 seconds of schedule.
    let report = load_json(
        &server,
        &[
            "--call",
            "haplog.demo.Tts/SpeakWav",
            "-d",
            r#"{"text":"x"}"#,
            "-n",
            "300",
            "--rps",
            "100",
            "--async",
        ],
    );
    assert_eq!(statuses(&report), ok(300));
    let rate = report["haplog"]["sendRate"].as_f64().unwrap();
    assert!(
        (rate - 100.0).abs() <= 2.0,
        "achieved {rate}/s for 100/s asked"
    );
    // ghz's Requests/sec: count over the whole run, a little under the rate.
    let rps = report["rps"].as_f64().unwrap();
    assert!(rps > 90.0 && rps <= 100.5, "{rps}");
    let lag = report["haplog"]["dispatchLag"]["p50"].as_u64().unwrap();
    assert!(lag < 20_000_000, "dispatch lag p50 {lag} ns");
}

#[test]
fn async_is_open_loop_and_sync_is_capped_by_workers() {
    let server = Server::start(&["--latency", "200ms"]);
    let common = [
        "--call",
        "haplog.demo.Tts/Speak",
        "-n",
        "20",
        "--rps",
        "40",
        "-c",
        "2",
    ];
    let sync = load_json(&server, &common);
    let mut async_args = common.to_vec();
    async_args.push("--async");
    let open = load_json(&server, &async_args);
    assert_eq!(statuses(&sync), ok(20));
    assert_eq!(statuses(&open), ok(20));
    assert!(sync["haplog"]["peakInFlight"].as_u64().unwrap() <= 2);
    assert!(open["haplog"]["peakInFlight"].as_u64().unwrap() >= 4);
    // Two workers at 200 ms a call manage 10/s, not 40: the calls queue in
    // the generator, which only the intended-start latency shows.
    let sync_rate = sync["haplog"]["sendRate"].as_f64().unwrap();
    let open_rate = open["haplog"]["sendRate"].as_f64().unwrap();
    assert!(sync_rate < 12.0, "{sync_rate}");
    assert!(open_rate > 35.0, "{open_rate}");
    let sync_p99 = sync["haplog"]["latencyFromIntended"]["p99"]
        .as_u64()
        .unwrap();
    let sync_ghz = sync["haplog"]["latency"]["p99"].as_u64().unwrap();
    assert!(sync_p99 > 3 * sync_ghz, "{sync_p99} vs {sync_ghz}");
    assert!(sync["haplog"]["generatorBound"].as_bool().unwrap());
}

#[test]
fn duration_ends_the_run() {
    let server = Server::start(&[]);
    let report = load_json(
        &server,
        &["--call", "haplog.demo.Tts/Speak", "-z", "1s", "--rps", "50"],
    );
    assert_eq!(report["endReason"], "timeout");
    let count = report["count"].as_u64().unwrap();
    assert!((45..=50).contains(&count), "{count}");
    // -x keeps -n as documented: 5 calls end the run long before 10 s.
    let report = load_json(
        &server,
        &["--call", "haplog.demo.Tts/Speak", "-x", "10s", "-n", "5"],
    );
    assert_eq!(report["count"], 5);
    assert_eq!(report["endReason"], "normal");
}

#[test]
fn errors_and_deadlines() {
    let server = Server::start(&["--latency", "500ms"]);
    let report = load_json(
        &server,
        &["--call", "haplog.demo.Tts/Speak", "-n", "4", "-t", "100ms"],
    );
    assert_eq!(statuses(&report), vec![("DeadlineExceeded".to_string(), 4)]);
    let errors = report["errorDistribution"].as_object().unwrap();
    assert_eq!(
        errors.get("rpc error: code = DeadlineExceeded desc = context deadline exceeded"),
        Some(&Value::from(4))
    );
    let average = report["average"].as_u64().unwrap();
    assert!((100_000_000..400_000_000).contains(&average), "{average}");
    // No OK call: ghz's null distributions.
    assert!(report["latencyDistribution"].is_null());

    let flaky = Server::start(&["--error-rate", "0.5", "--error-code", "resource_exhausted"]);
    let report = load_json(&flaky, &["--call", "haplog.demo.Tts/Speak", "-n", "200"]);
    let s = statuses(&report);
    assert_eq!(s.iter().map(|(_, n)| n).sum::<u64>(), 200);
    let failed = s
        .iter()
        .find(|(k, _)| k == "ResourceExhausted")
        .map_or(0, |(_, n)| *n);
    assert!((60..140).contains(&failed), "{s:?}");

    // Nobody listening: every call fails Unavailable, and the run still reports.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let out = load(&[
        "--insecure",
        "--proto",
        DEMO_PROTO,
        "--call",
        "haplog.demo.Tts/Speak",
        "-n",
        "3",
        "-O",
        "json",
        &closed,
    ]);
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(statuses(&report), vec![("Unavailable".to_string(), 3)]);
}

#[test]
fn stream_count_and_duration_cancel_server_streams() {
    let server = Server::start(&["--chunks", "50", "--chunk-interval", "20ms"]);
    let report = load_json(
        &server,
        &[
            "--call",
            "haplog.demo.Tts/SpeakWav",
            "-n",
            "3",
            "--stream-call-count",
            "2",
        ],
    );
    assert_eq!(statuses(&report), vec![("Canceled".to_string(), 3)]);
    assert_eq!(report["haplog"]["messagesReceived"], 6);
    let report = load_json(
        &server,
        &[
            "--call",
            "haplog.demo.Tts/SpeakLive",
            "-n",
            "2",
            "-d",
            r#"{"text":"x"}"#,
            "--stream-call-count",
            "5",
            "--stream-interval",
            "10ms",
        ],
    );
    assert_eq!(statuses(&report), ok(2));
    assert_eq!(report["haplog"]["messagesSent"], 10);
    assert_eq!(report["haplog"]["messagesReceived"], 10);
}

#[test]
fn json_report_schema() {
    let server = Server::start(&[]);
    let report = load_json(
        &server,
        &[
            "--call",
            "haplog.demo.Tts/Speak",
            "-n",
            "10",
            "--name",
            "smoke",
            "--tags",
            r#"{"env":"ci"}"#,
        ],
    );
    for key in [
        "date",
        "endReason",
        "options",
        "errorDistribution",
        "statusCodeDistribution",
        "haplog",
    ] {
        assert!(!report[key].is_null(), "{key}");
    }
    for key in ["count", "total", "average", "fastest", "slowest"] {
        assert!(report[key].is_u64(), "{key}: integer nanoseconds");
    }
    assert!(report["rps"].is_number());
    assert_eq!(report["name"], "smoke");
    assert_eq!(report["tags"]["env"], "ci");
    assert_eq!(report["options"]["call"], "haplog.demo.Tts/Speak");
    assert_eq!(report["options"]["insecure"], true);
    assert_eq!(report["options"]["total"], 10);
    assert_eq!(report["options"]["timeout"], 20_000_000_000u64);
    let pct: Vec<u64> = report["latencyDistribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["percentage"].as_u64().unwrap())
        .collect();
    assert_eq!(pct, [10, 25, 50, 75, 90, 95, 99]);
    let histogram = report["histogram"].as_array().unwrap();
    assert_eq!(histogram.len(), 11);
    assert_eq!(
        histogram
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum::<u64>(),
        10
    );
    let detail = &report["details"][0];
    assert!(detail["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(detail["latency"].is_u64());
    assert_eq!(detail["status"], "OK");
    assert_eq!(detail["error"], "");
    // -O pretty is the same document, indented.
    let out = load(&[
        "--insecure",
        "-O",
        "pretty",
        "--call",
        "haplog.demo.Tts/Speak",
        "-n",
        "2",
        &server.addr,
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("{\n  \"date\": "), "{text}");
    serde_json::from_str::<Value>(&text).unwrap();
    // -O csv: a header and one row per call.
    let out = load(&[
        "--insecure",
        "-O",
        "csv",
        "--call",
        "haplog.demo.Tts/Speak",
        "-n",
        "3",
        &server.addr,
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[..2], ["", "duration (ms),status,error"]);
    assert_eq!(rows.len(), 5);
    assert!(rows[2].ends_with(",OK,"), "{text}");
}

#[test]
fn bad_input_is_one_line_and_exit_2_run_errors_1() {
    let server = Server::start(&[]);
    let addr = server.addr.as_str();
    // The run cannot start against this server: 1, as ghz exits.
    for (args, want) in [
        (
            vec!["--call", "haplog.demo.Tts/Sing", addr],
            "has no method \"Sing\"",
        ),
        (
            vec!["--call", "nope.Svc/Speak", addr],
            "Symbol not found: nope.Svc (the server has: grpc.health.v1.Health, grpc.reflection.v1.ServerReflection, grpc.reflection.v1alpha.ServerReflection, haplog.demo.Tts)",
        ),
    ] {
        let mut all = vec!["--insecure"];
        all.extend(args.iter().copied());
        let out = load(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{all:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{all:?}: {stderr}");
        assert!(stderr.contains(want), "{all:?}: {stderr}");
    }
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--call", "haplog.demo.Tts/Speak", "-d", "{", addr],
            "-d: not JSON",
        ),
        (
            vec![
                "--call",
                "haplog.demo.Tts/Speak",
                "-d",
                r#"{"txt":1}"#,
                addr,
            ],
            "-d: not a haplog.demo.SpeakRequest",
        ),
        (
            vec![
                "--call",
                "haplog.demo.Tts/Speak",
                "--proto",
                "/nonexistent/x.proto",
                addr,
            ],
            "--proto /nonexistent/x.proto",
        ),
        (
            vec!["--call", "haplog.demo.Tts/Speak", "--proto", "x.txt", addr],
            "must end in .proto",
        ),
        (
            vec!["--call", "haplog.demo.Tts/Speak", "-t", "soon", addr],
            "not a duration",
        ),
        (
            vec!["--call", "haplog.demo.Tts/Speak", "-d", "{{.Nope}}", addr],
            "unknown template field",
        ),
        (
            vec![
                "--call",
                "haplog.demo.Tts/Speak",
                "--connections",
                "9",
                "-c",
                "2",
                addr,
            ],
            "--connections",
        ),
        (vec!["--call", "a/b/c", addr], "more than one '/'"),
    ];
    for (args, want) in cases {
        let mut all = vec!["--insecure"];
        all.extend(args.iter().copied());
        let out = load(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{all:?}: {stderr}");
        assert!(stderr.contains(want), "{all:?}: {stderr}");
    }
}

#[test]
fn ctrl_c_ends_the_run_and_still_reports() {
    let server = Server::start(&["--latency", "50ms"]);
    let child = crate::support::haplog()
        .args([
            "load",
            "--insecure",
            "-O",
            "json",
            "--call",
            "haplog.demo.Tts/Speak",
        ])
        .args(["-n", "100000", "--rps", "50", "--async", &server.addr])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    crate::support::ctrl_c(&child);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["endReason"], "cancel");
    let count = report["count"].as_u64().unwrap();
    assert!((30..=100).contains(&count), "{count}");
    // Calls still in flight were cut off and count as Canceled; the rest
    // finished normally.
    let s = statuses(&report);
    assert!(s.iter().all(|(k, _)| k == "OK" || k == "Canceled"), "{s:?}");
}

#[test]
fn tls_with_a_ca_a_server_name_or_no_verification() {
    let dir = temp_dir("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl makes the test certificate");
    assert!(made.success());
    let server = Server::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    let cacert = cert.to_str().unwrap();
    for flags in [
        vec!["--cacert", cacert],
        vec!["--cacert", cacert, "--cname", "localhost"],
        vec!["--skipTLS"],
    ] {
        let mut args = flags.clone();
        args.extend([
            "-O",
            "json",
            "--call",
            "haplog.demo.Tts/Speak",
            "-n",
            "5",
            &server.addr,
        ]);
        let out = load(&args);
        assert!(
            out.status.success(),
            "{flags:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(statuses(&report), ok(5), "{flags:?}");
    }
    // A certificate nobody vouches for, or the wrong name: every call fails.
    for flags in [
        vec![],
        vec!["--cacert", cacert, "--cname", "elsewhere.example"],
    ] {
        let mut args = flags.clone();
        args.extend([
            "--proto",
            DEMO_PROTO,
            "-O",
            "json",
            "--call",
            "haplog.demo.Tts/Speak",
            "-n",
            "2",
            &server.addr,
        ]);
        let out = load(&args);
        assert!(out.status.success(), "{flags:?}");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            statuses(&report),
            vec![("Unavailable".to_string(), 2)],
            "{flags:?}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn worker_schedules_add_and_remove_workers() {
    let server = Server::start(&["--latency", "100ms"]);
    // 1, 2, 3, then 4 workers, 300 ms apart, for 1.5 s of 100 ms calls.
    let report = load_json(
        &server,
        &[
            "--call",
            "haplog.demo.Tts/Speak",
            "-z",
            "1500ms",
            "--concurrency-schedule",
            "step",
            "--concurrency-start",
            "1",
            "--concurrency-step",
            "1",
            "--concurrency-step-duration",
            "300ms",
            "--concurrency-end",
            "4",
        ],
    );
    assert_eq!(report["haplog"]["peakInFlight"], 4);
    let count = report["count"].as_u64().unwrap();
    // 3 + 6 + 9 + 24 = 42 calls with no overhead at all.
    assert!((25..=44).contains(&count), "{count}");
    assert_eq!(report["options"]["concurrency-schedule"], "step");
    // 3, 2, 1, then no worker: the run ends by itself, long before -n.
    let report = load_json(
        &server,
        &[
            "--call",
            "haplog.demo.Tts/Speak",
            "-n",
            "1000",
            "--concurrency-schedule",
            "step",
            "--concurrency-start",
            "3",
            "--concurrency-step",
            "-1",
            "--concurrency-step-duration",
            "200ms",
            "--concurrency-end",
            "0",
        ],
    );
    assert_eq!(report["endReason"], "normal");
    let count = report["count"].as_u64().unwrap();
    assert!((8..=15).contains(&count), "{count}");
}

#[test]
fn skip_first_and_count_errors() {
    let server = Server::start(&[]);
    let data = r#"[{"text":"ok"},{"text":"error:internal"}]"#;
    let base = [
        "--call",
        "haplog.demo.Tts/Speak",
        "-n",
        "10",
        "-c",
        "1",
        "-d",
        data,
    ];
    let plain = load_json(&server, &base);
    let histogram_total = |r: &Value| {
        r["histogram"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum::<u64>()
    };
    // Failed calls count in Count and Average, not in the histogram...
    assert_eq!(plain["count"], 10);
    assert_eq!(histogram_total(&plain), 5);
    // ... unless --count-errors.
    let mut args = base.to_vec();
    args.push("--count-errors");
    assert_eq!(histogram_total(&load_json(&server, &args)), 10);
    // --skipFirst leaves the first finished calls out of everything.
    let mut args = base.to_vec();
    args.extend(["--skipFirst", "4"]);
    let skipped = load_json(&server, &args);
    assert_eq!(skipped["count"], 6);
    assert_eq!(skipped["details"].as_array().unwrap().len(), 6);
}

/// A server that accepts connections and never answers: nothing waits
/// past the limits the command line sets, and Ctrl-C ends the wait.
#[test]
fn a_silent_server_does_not_hold_the_run() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let started = std::time::Instant::now();
    let out = load(&[
        "--insecure",
        "--call",
        "haplog.demo.Tts/Speak",
        "-z",
        "2s",
        "--connect-timeout",
        "1s",
        &addr,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no answer within 2s"), "{stderr}");
    assert!(
        started.elapsed().as_secs_f64() < 5.0,
        "{:?}",
        started.elapsed()
    );

    // Ctrl-C while reflection waits.
    let child = crate::support::haplog()
        .args([
            "load",
            "--insecure",
            "--call",
            "haplog.demo.Tts/Speak",
            "-z",
            "60s",
            &addr,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    crate::support::ctrl_c(&child);
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed().as_secs_f64() < 3.0);

    // With the schema given, the calls end at -z.
    let started = std::time::Instant::now();
    let out = load(&[
        "--insecure",
        "-O",
        "json",
        "--proto",
        DEMO_PROTO,
        "--call",
        "haplog.demo.Tts/Speak",
        "-z",
        "2s",
        &addr,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed().as_secs_f64() < 5.0,
        "{:?}",
        started.elapsed()
    );
}

/// ghz's meanings of the limits: 0 is no limit; more workers than calls
/// run only as many as there are calls; a rate must be a number.
#[test]
fn limits_mean_what_ghz_means() {
    let server = Server::start(&[]);
    let started = std::time::Instant::now();
    let report = load_json(
        &server,
        &[
            "--call",
            "haplog.demo.Tts/Speak",
            "-n",
            "10",
            "-c",
            "1000000",
        ],
    );
    assert_eq!(report["count"], 10);
    assert_eq!(report["options"]["concurrency"], 1_000_000);
    assert!(
        started.elapsed().as_secs_f64() < 10.0,
        "{:?}",
        started.elapsed()
    );
    for zero in ["-z", "-x"] {
        let report = load_json(
            &server,
            &["--call", "haplog.demo.Tts/Speak", zero, "0", "-n", "30"],
        );
        assert_eq!(report["count"], 30, "{zero} 0");
        assert_eq!(report["endReason"], "normal", "{zero} 0");
    }
    // ghz's echo of the options: -z sets n to MaxInt32; the worker
    // schedule starts at 0 unless given.
    let report = load_json(
        &server,
        &[
            "--call",
            "haplog.demo.Tts/Speak",
            "-z",
            "300ms",
            "--rps",
            "20",
        ],
    );
    assert_eq!(report["options"]["total"], 2_147_483_647);
    assert_eq!(report["options"]["concurrency-start"], 0);
    // At 2 calls a second nothing is late enough to blame the generator.
    let out = load(&[
        "--insecure",
        "--call",
        "haplog.demo.Tts/Speak",
        "--rps",
        "2",
        "-n",
        "3",
        &server.addr,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(!text.contains("Warning"), "{text}");
    assert_eq!(report["haplog"]["generatorBound"], false);
    for rate in ["nan", "inf"] {
        let out = load(&[
            "--insecure",
            "--call",
            "haplog.demo.Tts/Speak",
            "--rps",
            rate,
            &server.addr,
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{rate}: {stderr}");
        assert!(stderr.contains("--rps"), "{stderr}");
    }
}

/// A test server asked for 6.5 GB streams streams them: two chunks in
/// memory, not the whole utterance (twice).
#[test]
fn long_test_streams_stay_small() {
    let server = Server::start(&["--chunks", "100000", "--chunk-size", "65536"]);
    let report = load_json(
        &server,
        &[
            "--call",
            "haplog.demo.Tts/SpeakWav",
            "-n",
            "2",
            "--stream-call-count",
            "20",
        ],
    );
    assert_eq!(report["haplog"]["messagesReceived"], 40, "{report}");
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap();
    assert!(peak_kb < 200_000, "test server peaked at {peak_kb} kB");
}

/// `--slo` passes a run that meets every objective (exit 0), fails one
/// that misses any (exit 99), says so on stderr and in the report, and
/// refuses a metric it does not know (exit 2).
#[test]
fn slo_verdicts_for_ci() {
    let server = Server::start(&["--latency", "30ms", "--error-rate", "0.5"]);
    let run = |slo: &str, format: &str| {
        load(&[
            "--insecure",
            "-O",
            format,
            "--call",
            "haplog.demo.Tts/Speak",
            "-n",
            "40",
            "-c",
            "4",
            "--slo",
            slo,
            &server.addr,
        ])
    };
    let out = run("p50>=25ms,error_rate<=90%,rps>1", "json");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["haplog"]["slo"]["passed"], true, "{report}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("SLO PASS"));

    // Half the calls fail: error_rate<1% is missed; so is p99 under 30 ms.
    let out = run("p99<10ms,error_rate<1%", "summary");
    assert_eq!(
        out.status.code(),
        Some(99),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SLO FAIL: p99<10ms (measured "), "{text}");
    assert!(text.contains("error_rate<1% (measured "), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("SLO FAIL"));

    let out = run("p98<1s", "json");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--slo"));
}

/// `--encode` writes -d's JSON as the bytes -B reads back: the same
/// messages reach the server as with -d.
#[test]
fn encode_writes_what_dash_b_reads() {
    let dir = std::env::temp_dir().join(format!("haplog-encode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = r#"[{"text":"one"},{"text":"two"},{"text":"three"}]"#;
    let batch = [
        "--proto",
        DEMO_PROTO,
        "--call",
        "haplog.demo.Tts/SpeakBatch",
    ];
    let out = load(&[&["--encode"][..], &batch, &["-d", data]].concat());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = dir.join("req.bin");
    std::fs::write(&bin, &out.stdout).unwrap();
    let server = Server::start(&[]);
    let bin = bin.display().to_string();
    let by_file = load_json(&server, &[&batch[..], &["-B", &bin, "-n", "2"]].concat());
    let by_json = load_json(&server, &[&batch[..], &["-d", data, "-n", "2"]].concat());
    assert_eq!(by_file["haplog"]["messagesSent"], 6);
    assert_eq!(
        by_file["haplog"]["bytesReceived"],
        by_json["haplog"]["bytesReceived"]
    );
    for (args, want) in [
        (
            vec!["--encode", "--call", "haplog.demo.Tts/Speak", "-d", "{}"],
            "--proto or --protoset",
        ),
        (
            vec![
                "--encode",
                "--proto",
                DEMO_PROTO,
                "--call",
                "haplog.demo.Tts/Speak",
                "-d",
                r#"{"text":"{{.RequestNumber}}"}"#,
            ],
            "templates",
        ),
    ] {
        let out = load(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(want), "{stderr}");
    }
}

/// ghz's `--config`: the same settings as JSON, TOML and YAML give the
/// run and the options echo that the same flags give; flags given on the
/// command line win over the file's.
#[test]
fn config_files_in_three_syntaxes_and_flags_win() {
    let server = Server::start(&[]);
    let dir = temp_dir("config");
    let files = [
        (
            "run.json",
            format!(
                r#"{{"insecure": true, "call": "haplog.demo.Tts/Speak", "host": "{}",
  "total": 6, "concurrency": 2, "format": "json", "timeout": "5s",
  "data": {{"text": "hi {{{{.RequestNumber}}}}"}}, "metadata": {{"rn": "{{{{.RequestNumber}}}}"}},
  "tags": {{"env": "ci"}}, "name": "from-config", "skipFirst": 1}}"#,
                server.addr
            ),
        ),
        (
            "run.toml",
            format!(
                "insecure = true\ncall = \"haplog.demo.Tts/Speak\"\nhost = \"{}\"\n\
                 total = 6\nconcurrency = 2\nformat = \"json\"\ntimeout = \"5s\"\n\
                 name = \"from-config\"\nskipFirst = 1\n\
                 [data]\ntext = \"hi {{{{.RequestNumber}}}}\"\n[metadata]\nrn = \"{{{{.RequestNumber}}}}\"\n\
                 [tags]\nenv = \"ci\"\n",
                server.addr
            ),
        ),
        (
            "run.yaml",
            format!(
                "insecure: true\ncall: haplog.demo.Tts/Speak\nhost: \"{}\"\ntotal: 6\n\
                 concurrency: 2\nformat: json\ntimeout: 5s\nname: from-config\nskipFirst: 1\n\
                 data:\n  text: \"hi {{{{.RequestNumber}}}}\"\nmetadata:\n  rn: \"{{{{.RequestNumber}}}}\"\n\
                 tags:\n  env: ci\n",
                server.addr
            ),
        ),
    ];
    let by_flags = load_json(
        &server,
        &[
            "--call",
            "haplog.demo.Tts/Speak",
            "-n",
            "6",
            "-c",
            "2",
            "-t",
            "5s",
            "-d",
            r#"{"text":"hi {{.RequestNumber}}"}"#,
            "-m",
            r#"{"rn":"{{.RequestNumber}}"}"#,
            "--tags",
            r#"{"env":"ci"}"#,
            "--name",
            "from-config",
            "--skipFirst",
            "1",
        ],
    );
    for (name, text) in &files {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let path = path.display().to_string();
        let out = load(&["--config", &path]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
        let report: Value = serde_json::from_slice(&out.stdout).expect(name);
        assert_eq!(statuses(&report), ok(5), "{name}");
        for key in [
            "call",
            "host",
            "total",
            "concurrency",
            "timeout",
            "data",
            "metadata",
            "name",
            "skipFirst",
            "insecure",
        ] {
            assert_eq!(
                report["options"][key], by_flags["options"][key],
                "{name}: options.{key}"
            );
        }
        assert_eq!(report["tags"], by_flags["tags"], "{name}");

        // Flags win: -n, -O and -d on the command line replace the file's.
        let out = load(&[
            "--config",
            &path,
            "-n",
            "3",
            "-O",
            "csv",
            "-d",
            r#"{"text":"x"}"#,
        ]);
        assert_eq!(out.status.code(), Some(0), "{name}");
        let csv = String::from_utf8_lossy(&out.stdout);
        let rows = csv.lines().filter(|l| !l.is_empty()).count();
        assert_eq!(rows, 1 + 2, "{name}: 3 calls, skipFirst 1: {csv}");
    }

    // A key ghz does not have, a bad value and a missing file: one line
    // naming the file and key, exit 2.
    let bad = dir.join("bad.toml");
    for (text, want) in [
        ("totl = 3\n", "\"totl\": not a ghz config key"),
        (
            "timeout = \"soon\"\n",
            "\"timeout\": \"soon\" is not a duration",
        ),
        ("call = \"haplog.demo.Tts/Speak\"\n", "no server: give HOST"),
    ] {
        std::fs::write(&bad, text).unwrap();
        let out = load(&["--config", bad.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(want) && stderr.contains("bad.toml"),
            "{stderr}"
        );
    }
    let out = load(&["--config", "/nonexistent/run.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--config /nonexistent/run.json"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--lb-strategy` over a `dns:///` target: the name resolves and every
/// call succeeds; an unknown policy is a usage error naming the flag.
#[test]
fn lb_strategy_on_a_dns_target() {
    let server = Server::start(&[]);
    let port = server.addr.rsplit(':').next().unwrap();
    let target = format!("dns:///localhost:{port}");
    for policy in ["round_robin", "pick_first"] {
        let out = load(&[
            "--insecure",
            "-O",
            "json",
            "--call",
            "haplog.demo.Tts/Speak",
            "-n",
            "6",
            "--lb-strategy",
            policy,
            &target,
        ]);
        assert_eq!(out.status.code(), Some(0), "{policy}");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(statuses(&report), ok(6), "{policy}");
    }
    let out = load(&[
        "--insecure",
        "--call",
        "haplog.demo.Tts/Speak",
        "--lb-strategy",
        "rr",
        &target,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--lb-strategy: \"rr\""));
}

/// `-O html`: one page with ghz's sections and figures and haplog's, that
/// needs nothing from a network; a run's name, tags and error texts (the
/// server's words) show as text and run nothing.
#[test]
fn html_report_is_self_contained_and_inert() {
    let server = Server::start(&["--error-rate", "0.5"]);
    let hostile = r#"<script>alert(1)</script>"><img src=x onerror=alert(2)>"#;
    let tags = format!(r#"{{"team":"{}"}}"#, hostile.replace('"', "\\\""));
    let out = load(&[
        "--insecure",
        "-O",
        "html",
        "--call",
        "haplog.demo.Tts/Speak",
        "-n",
        "20",
        "--name",
        hostile,
        "--tags",
        &tags,
        "--slo",
        "p99<10s",
        &server.addr,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    for id in [
        "summary",
        "histogram",
        "latency",
        "status",
        "errors",
        "beyond",
        "data",
        "options",
        "tags",
    ] {
        assert!(page.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    assert!(page.contains("<th>Count</th>") && page.contains("% of Total"));
    assert!(page.contains("<svg class=\"chart\""));
    assert!(page.contains("SLO PASS"));
    // Inert: no script or image element at all, the name escaped.
    assert!(!page.contains("<script") && !page.contains("<img"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // Nothing fetched: no resource from anywhere but the page itself.
    for attribute in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!page.contains(attribute), "{attribute}");
    }
}
