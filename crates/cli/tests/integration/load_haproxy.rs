//! `haplog load --haproxy-log` through a real HAProxy: Debian's
//! `/usr/sbin/haproxy` 2.6 (installed by `scripts/test.sh`) on loopback in
//! HTTP mode, HTTP/2 on both sides, round-robin over two `haplog
//! testserver`s, logging to a file. The proxy section must count every call
//! of the run, per server, with the termination states HAProxy wrote.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{self, free_port, Killed};

const HAPROXY: &str = "/usr/sbin/haproxy";

/// A test server of 20 chunks of 800 bytes, 20 ms apart.
pub(crate) fn testserver(name: &str, port: u16) -> Killed {
    testserver_with(
        name,
        port,
        &[
            "--chunks",
            "20",
            "--chunk-interval",
            "20ms",
            "--chunk-size",
            "800",
        ],
    )
}

fn testserver_with(name: &str, port: u16, flags: &[&str]) -> Killed {
    let child = crate::support::haplog()
        .args([
            "testserver",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--name",
            name,
        ])
        .args(flags)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start haplog testserver");
    Killed(child)
}

/// `haplog load` of four calls at once through HAProxy on `front`, with
/// `during` run `after` the start (a server killed under the calls); the
/// run's JSON report.
fn load_while(front: u16, call: &str, after: Duration, during: impl FnOnce()) -> Value {
    let load = crate::support::haplog()
        .args(["load", "--insecure", "-O", "json", "--proto"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../load/proto/haplog/demo/tts.proto"
        ))
        .args(["--call", call, "-n", "4", "-c", "4"])
        .arg(format!("127.0.0.1:{front}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    during();
    let out = load.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An empty directory of this test process, for HAProxy's config and log.
pub(crate) fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) fn wait_for_port(port: u16) {
    support::wait_for_port(port, Duration::from_secs(10));
}

fn haproxy(dir: &Path, front: u16, servers: [u16; 2]) -> Killed {
    haproxy_with(dir, front, servers, "")
}

/// HAProxy in front of `servers`, with `frontend` lines added to its
/// frontend.
fn haproxy_with(dir: &Path, front: u16, servers: [u16; 2], frontend: &str) -> Killed {
    haproxy_logging(dir, front, servers, frontend, "")
}

/// HAProxy in front of `servers`, logging to `haproxy.log` in `dir` and
/// to the `log` lines given (`log 127.0.0.1:5140 local0`).
pub(crate) fn haproxy_logging(
    dir: &Path,
    front: u16,
    servers: [u16; 2],
    frontend: &str,
    log: &str,
) -> Killed {
    let config = format!(
        "global
    log stdout format raw local0
{log}
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe_grpc
    bind 127.0.0.1:{front} proto h2
{frontend}
    default_backend be_tts
backend be_tts
    balance roundrobin
    server tts1 127.0.0.1:{} proto h2
    server tts2 127.0.0.1:{} proto h2
",
        servers[0], servers[1]
    );
    std::fs::write(dir.join("haproxy.cfg"), config).unwrap();
    let log = std::fs::File::create(dir.join("haproxy.log")).unwrap();
    let child = Command::new(HAPROXY)
        .args(["-f", "haproxy.cfg", "-db"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{HAPROXY}: {e} (scripts/test.sh installs Debian's haproxy)"));
    Killed(child)
}

fn run_load(dir: &Path, front: u16, extra: &[&str]) -> Value {
    let log = dir.join("haproxy.log");
    let out = crate::support::haplog()
        .args([
            "load",
            "--insecure",
            "-O",
            "json",
            "--call",
            "haplog.demo.Tts/SpeakWav",
        ])
        .args([
            "-d",
            r#"{"text":"bonjour"}"#,
            "--utc-offset",
            "local",
            "--haproxy-log",
        ])
        .arg(&log)
        .args(extra)
        .arg(format!("127.0.0.1:{front}"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub(crate) fn per_server(proxy: &Value) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = proxy["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                format!(
                    "{}/{}",
                    s["backend"].as_str().unwrap(),
                    s["server"].as_str().unwrap()
                ),
                s["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn terminations(proxy: &Value) -> Vec<(String, u64)> {
    proxy["terminations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["state"].as_str().unwrap().to_string(),
                t["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_proxy_section_counts_every_call_per_server() {
    let dir = scratch("haplog-e2e");
    let (p1, p2, front) = (free_port(), free_port(), free_port());
    let _servers = [testserver("tts1", p1), testserver("tts2", p2)];
    wait_for_port(p1);
    wait_for_port(p2);
    let _proxy = haproxy(&dir, front, [p1, p2]);
    wait_for_port(front);

    // 40 whole streams, open loop: every one ends normally ("--").
    let report = run_load(&dir, front, &["-n", "40", "--rps", "100", "--async"]);
    assert_eq!(report["statusCodeDistribution"]["OK"], 40);
    assert_eq!(report["haplog"]["messagesReceived"], 40 * 20);
    let proxy = &report["haplog"]["proxy"];
    assert_eq!(proxy["requests"], 40, "{proxy:#}");
    // Round robin, per stream: an even split. The reflection call went
    // through HAProxy too, and is counted apart.
    assert_eq!(
        per_server(proxy),
        [("be_tts/tts1".into(), 20), ("be_tts/tts2".into(), 20)]
    );
    assert_eq!(terminations(proxy), [("--".to_string(), 40)]);
    assert_eq!(proxy["statuses"][0]["status"], 200);
    assert!(proxy["otherRequests"].as_u64().unwrap() >= 1);
    // The report command the section suggests sees the same split.
    let out = crate::support::haplog()
        .args([
            "report",
            "--json",
            "--section",
            "servers",
            "--utc-offset",
            "local",
        ])
        .args(["--path-prefix", "/haplog.demo.Tts/SpeakWav", "--since"])
        .arg(proxy["since"].as_str().unwrap())
        .arg("--until")
        .arg(proxy["until"].as_str().unwrap())
        .arg(dir.join("haproxy.log"))
        .output()
        .unwrap();
    let full: Value = serde_json::from_slice(&out.stdout).unwrap();
    let split: Vec<(String, u64)> = full["servers"]["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["server"].as_str().unwrap().to_string(),
                r["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        split,
        [("be_tts/tts1".into(), 20), ("be_tts/tts2".into(), 20)]
    );
    // HAProxy's view of a stream (Ta) is close to the client's.
    let ta = proxy["ta"]["p50"].as_u64().unwrap();
    let client = report["haplog"]["latency"]["p50"].as_u64().unwrap();
    assert!(
        ta.abs_diff(client) < 100_000_000,
        "Ta {ta} vs client {client}"
    );

    // 10 streams the client cancels after 2 chunks: HAProxy says the
    // client aborted during the data transfer ("CD"), on both servers.
    let report = run_load(
        &dir,
        front,
        &["-n", "10", "-c", "2", "--stream-call-count", "2"],
    );
    assert_eq!(report["statusCodeDistribution"]["Canceled"], 10);
    let proxy = &report["haplog"]["proxy"];
    assert_eq!(proxy["requests"], 10, "{proxy:#}");
    assert_eq!(
        per_server(proxy),
        [("be_tts/tts1".into(), 5), ("be_tts/tts2".into(), 5)]
    );
    assert_eq!(terminations(proxy), [("CD".to_string(), 10)]);
    assert!(proxy["terminations"][0]["meaning"]
        .as_str()
        .unwrap()
        .contains("client aborted"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// HAProxy with no server up answers 503 with an HTML page: grpc-go's
/// status and words for it, not a decoding error of the page.
#[test]
fn no_server_up_is_unavailable_in_grpc_go_s_words() {
    let dir = scratch("haplog-e2e-503");
    // Nothing listens on the servers' ports.
    let (p1, p2, front) = (free_port(), free_port(), free_port());
    let _proxy = haproxy(&dir, front, [p1, p2]);
    wait_for_port(front);
    let report = support::json_of(
        crate::support::haplog()
            .args(["load", "--insecure", "-O", "json", "--proto"])
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../load/proto/haplog/demo/tts.proto"
            ))
            .args(["--call", "haplog.demo.Tts/Speak", "-n", "3", "-c", "1"])
            .arg(format!("127.0.0.1:{front}")),
    );
    assert_eq!(
        report["statusCodeDistribution"]["Unavailable"], 3,
        "{report:#}"
    );
    assert_eq!(
        report["errorDistribution"]["rpc error: code = Unavailable desc = unexpected HTTP status code received from server: 503 (Service Unavailable); transport: received unexpected content-type \"text/html\""],
        3,
        "{report:#}"
    );
}

/// gRPC errors travel with HTTP 200 and `--`: HAProxy's log says a
/// failing server is healthy, unless it captures the grpc-status header
/// of trailers-only responses. With the capture (found in the config),
/// `haplog report` counts the same failures as the client.
#[test]
fn captured_grpc_statuses_show_failing_servers() {
    let dir = scratch("haplog-e2e-grpc");
    let (p1, p2, front) = (free_port(), free_port(), free_port());
    let failing = [
        "--chunks",
        "20",
        "--chunk-interval",
        "20ms",
        "--chunk-size",
        "800",
        "--error-rate",
        "0.5",
        "--error-code",
        "unavailable",
    ];
    let _servers = [
        testserver_with("tts1", p1, &failing),
        testserver("tts2", p2),
    ];
    wait_for_port(p1);
    wait_for_port(p2);
    let _proxy = haproxy_with(
        &dir,
        front,
        [p1, p2],
        "    capture response header grpc-status len 2",
    );
    wait_for_port(front);
    let config = dir.join("haproxy.cfg").display().to_string();
    let report = run_load(
        &dir,
        front,
        &[
            "-n",
            "40",
            "--rps",
            "200",
            "--async",
            "--haproxy-config",
            &config,
        ],
    );
    let unavailable = report["statusCodeDistribution"]["Unavailable"]
        .as_u64()
        .unwrap();
    assert!(unavailable > 0, "{report:#}");
    // The load's proxy section reads the capture too.
    let proxy = &report["haplog"]["proxy"];
    assert_eq!(proxy["grpcCaptured"], true, "{proxy:#}");
    assert_eq!(proxy["grpcStatuses"][0]["code"], 14, "{proxy:#}");
    assert_eq!(proxy["grpcStatuses"][0]["count"], unavailable, "{proxy:#}");
    assert_eq!(proxy["failed"], unavailable, "{proxy:#}");
    let tts1 = proxy["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["server"] == "tts1")
        .unwrap();
    assert_eq!(tts1["grpcFailed"], unavailable, "{proxy:#}");
    let v = support::json_of(
        crate::support::haplog()
            .args([
                "report",
                "--json",
                "--section",
                "overview,status,servers",
                "--utc-offset",
                "local",
            ])
            .arg("--haproxy-config")
            .arg(dir.join("haproxy.cfg"))
            .arg(dir.join("haproxy.log")),
    );
    let grpc = v["status"]["grpc"].as_array().unwrap();
    let row = grpc.iter().find(|r| r["grpc_status"] == 14).unwrap();
    assert_eq!(row["requests"], unavailable, "{v:#}");
    assert_eq!(row["name"], "Unavailable");
    // Every one of them an HTTP 200 ending "--", and still failed.
    assert!(
        v["overview"]["failed"].as_u64().unwrap() >= unavailable,
        "{v:#}"
    );
    let servers = v["servers"]["requests"].as_array().unwrap();
    let tts1 = servers
        .iter()
        .find(|s| s["server"] == "be_tts/tts1")
        .unwrap();
    let tts2 = servers
        .iter()
        .find(|s| s["server"] == "be_tts/tts2")
        .unwrap();
    assert_eq!(tts1["failed"], unavailable, "{v:#}");
    assert_eq!(tts2["failed"], 0, "{v:#}");
    // Without the config the log says every call went well, and the text
    // says why the two sides disagree.
    let out = crate::support::haplog()
        .args([
            "load",
            "--insecure",
            "--call",
            "haplog.demo.Tts/SpeakWav",
            "-d",
            r#"{"text":"x"}"#,
        ])
        .args(["-n", "20", "--utc-offset", "local", "--haproxy-log"])
        .arg(dir.join("haproxy.log"))
        .arg(format!("127.0.0.1:{front}"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "failed calls, HAProxy's log 0 failed requests. gRPC errors travel in trailers"
        ),
        "{text}"
    );
}

/// A backend killed in the middle of its streams: HAProxy ends the
/// client's streams without trailers (it logs `SD`); grpc-go, and so
/// haplog, says Internal: server closed the stream without sending
/// trailers.
#[test]
fn a_backend_killed_mid_stream_is_internal_in_grpc_go_s_words() {
    let dir = scratch("haplog-e2e-sd");
    let (p1, p2, front) = (free_port(), free_port(), free_port());
    let slow = [
        "--chunks",
        "100",
        "--chunk-interval",
        "50ms",
        "--chunk-size",
        "800",
    ];
    let mut servers = [
        testserver_with("tts1", p1, &slow),
        testserver_with("tts2", p2, &slow),
    ];
    wait_for_port(p1);
    wait_for_port(p2);
    let _proxy = haproxy(&dir, front, [p1, p2]);
    wait_for_port(front);
    let report = load_while(
        front,
        "haplog.demo.Tts/SpeakWav",
        Duration::from_millis(1500),
        || {
            for server in &mut servers {
                let _ = server.0.kill();
                let _ = server.0.wait();
            }
        },
    );
    assert_eq!(
        report["errorDistribution"]
            ["rpc error: code = Internal desc = server closed the stream without sending trailers"],
        4,
        "{:#}",
        report["errorDistribution"]
    );
    let log = std::fs::read_to_string(dir.join("haproxy.log")).unwrap();
    assert_eq!(log.matches(" SD-- ").count(), 4, "{log}");
}

/// A backend killed before it sent its response headers: HAProxy refuses
/// the client's streams that were waiting on it, and the client retries
/// them, as grpc-go does with a stream the server never processed. A
/// retry that lands on the dead server again gets HAProxy's 503 page,
/// in grpc-go's words; none is a protocol error.
#[test]
fn a_backend_killed_before_its_headers() {
    let dir = scratch("haplog-e2e-sh");
    let (p1, p2, front) = (free_port(), free_port(), free_port());
    let slow = [
        "--latency",
        "1500ms",
        "--chunks",
        "2",
        "--chunk-size",
        "100",
    ];
    let mut tts1 = testserver_with("tts1", p1, &slow);
    let _tts2 = testserver_with("tts2", p2, &slow);
    wait_for_port(p1);
    wait_for_port(p2);
    let _proxy = haproxy(&dir, front, [p1, p2]);
    wait_for_port(front);
    let report = load_while(
        front,
        "haplog.demo.Tts/Speak",
        Duration::from_millis(700),
        || {
            let _ = tts1.0.kill();
            let _ = tts1.0.wait();
        },
    );
    let codes = report["statusCodeDistribution"].as_object().unwrap();
    assert_eq!(report["count"], 4, "{report:#}");
    assert!(codes["OK"].as_u64().unwrap() >= 2, "{report:#}");
    assert!(
        codes.keys().all(|c| c == "OK" || c == "Unavailable"),
        "{report:#}"
    );
    let errors = report["errorDistribution"].as_object().unwrap();
    assert!(
        errors.keys().all(|e| e == "rpc error: code = Unavailable desc = unexpected HTTP status code received from server: 503 (Service Unavailable); transport: received unexpected content-type \"text/html\""),
        "{errors:#?}"
    );
    // The retried streams reached HAProxy again after the kill: more
    // requests in its log than the two the live server took at first.
    let log = std::fs::read_to_string(dir.join("haproxy.log")).unwrap();
    assert!(log.matches("Tts/Speak").count() >= 4, "{log}");
}

/// Each call sends its id in `x-request-id`; HAProxy captures it, and the
/// proxy section matches calls to lines one by one: a failing server's
/// calls are named though HAProxy logged them `200 --`, and a second run
/// in the same log and window takes only its own lines. A header HAProxy
/// does not capture falls back to the time window, and says how to match.
#[test]
fn request_ids_match_calls_to_lines_one_by_one() {
    let dir = scratch("haplog-e2e-ids");
    let (p1, p2, front) = (free_port(), free_port(), free_port());
    let failing = ["--error-rate", "1", "--error-code", "internal"];
    let _servers = [
        testserver_with("tts1", p1, &failing),
        testserver("tts2", p2),
    ];
    wait_for_port(p1);
    wait_for_port(p2);
    let _proxy = haproxy_with(
        &dir,
        front,
        [p1, p2],
        "    capture request header x-request-id len 32",
    );
    wait_for_port(front);
    let speak = ["-n", "20", "-c", "4"];
    // Two runs at once, same method, same window: each keeps its own.
    let runs: Vec<Value> = std::thread::scope(|scope| {
        let both: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| run_load(&dir, front, &speak)))
            .collect();
        both.into_iter().map(|run| run.join().unwrap()).collect()
    });
    let mut internal = 0;
    for (run, report) in runs.iter().enumerate() {
        let proxy = &report["haplog"]["proxy"];
        let ids = &proxy["requestIds"];
        assert_eq!(ids["header"], "x-request-id", "run {run}: {proxy:#}");
        assert_eq!(ids["calls"], 20, "run {run}: {proxy:#}");
        assert_eq!(ids["matched"], 20, "run {run}: {proxy:#}");
        assert_eq!(ids["lines"], 20, "run {run}: {proxy:#}");
        assert_eq!(proxy["requests"], 20, "run {run}: {proxy:#}");
        let failed = ids["failed"].as_array().unwrap();
        let client = report["statusCodeDistribution"]["Internal"]
            .as_u64()
            .unwrap_or(0);
        internal += client;
        if client > 0 {
            assert_eq!(failed.len(), 1, "{proxy:#}");
            assert_eq!(failed[0]["status"], "Internal");
            assert_eq!(failed[0]["server"], "tts1");
            assert_eq!(failed[0]["httpStatus"], 200);
            assert_eq!(failed[0]["termination"], "--");
            assert_eq!(failed[0]["count"], client);
        }
    }
    // Round robin across both runs: half of the 40 calls went to tts1.
    assert_eq!(internal, 20);
    let report = run_load(
        &dir,
        front,
        &[&speak[..], &["--request-id-header", "x-trace"]].concat(),
    );
    let proxy = &report["haplog"]["proxy"];
    assert!(proxy["requestIds"].is_null(), "{proxy:#}");
    assert_eq!(proxy["requestIdsNotCaptured"], "x-trace", "{proxy:#}");
    assert!(proxy["requests"].as_u64().unwrap() >= 20, "{proxy:#}");
    let _ = std::fs::remove_dir_all(&dir);
}
