//! `haplog load` against a gRPC server that is not haplog's: Python's
//! grpcio (gRPC Core), from the virtual environment `scripts/test.sh`
//! makes. Every failure must carry the status and the words grpc-go 1.56
//! (and so ghz 0.121) gives it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{self, free_port, Killed};

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grpcio")
}

/// The virtual environment's Python, with grpcio.
fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/grpc-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: scripts/test.sh makes it (python3 -m venv, pip install grpcio)",
        python.display()
    );
    python
}

/// Starts tests/grpcio/server.py on `port` and waits until it listens.
fn grpcio(port: u16, extra: &[&str]) -> Killed {
    let child = Command::new(python())
        .arg(here().join("server.py"))
        .arg(port.to_string())
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    support::wait_for_port(port, Duration::from_secs(20));
    Killed(child)
}

/// Runs `haplog load` on faults.proto with `args`, JSON out.
fn load(port: u16, args: &[&str]) -> Value {
    let out = crate::support::haplog()
        .args(["load", "--insecure", "-O", "json", "--proto"])
        .arg(here().join("faults.proto"))
        .args(args)
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn distribution(report: &Value, key: &str) -> BTreeMap<String, u64> {
    report[key]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn responses_that_do_not_decode_are_internal() {
    let port = free_port();
    let _server = grpcio(port, &[]);
    let r = load(
        port,
        &["--call", "faults.Faults/Garbage", "-n", "5", "-c", "2"],
    );
    assert_eq!(
        distribution(&r, "statusCodeDistribution"),
        BTreeMap::from([("Internal".into(), 5)])
    );
    assert_eq!(
        distribution(&r, "errorDistribution"),
        BTreeMap::from([(
            "rpc error: code = Internal desc = grpc: failed to unmarshal the received message: proto: cannot parse invalid wire-format data".into(),
            5
        )])
    );
    let r = load(
        port,
        &["--call", "faults.Faults/Echo", "-n", "5", "-c", "2"],
    );
    assert_eq!(
        distribution(&r, "statusCodeDistribution"),
        BTreeMap::from([("OK".into(), 5)])
    );
}

#[test]
fn message_size_limits_both_ways_are_resource_exhausted() {
    let port = free_port();
    let _server = grpcio(port, &[]);
    let r = load(
        port,
        &[
            "--call",
            "faults.Faults/Big",
            "-n",
            "3",
            "-m",
            r#"{"size":"4096"}"#,
            "--max-recv-message-size",
            "1KB",
        ],
    );
    assert_eq!(
        distribution(&r, "errorDistribution"),
        BTreeMap::from([(
            "rpc error: code = ResourceExhausted desc = grpc: received message larger than max (4099 vs. 1000)".into(),
            3
        )])
    );
    let text = "a".repeat(3000);
    let data = format!(r#"{{"text":"{text}"}}"#);
    let r = load(
        port,
        &[
            "--call",
            "faults.Faults/Echo",
            "-n",
            "3",
            "-d",
            &data,
            "--max-send-message-size",
            "1KB",
        ],
    );
    assert_eq!(
        distribution(&r, "errorDistribution"),
        BTreeMap::from([(
            "rpc error: code = ResourceExhausted desc = grpc: trying to send message larger than max (3003 vs. 1000)".into(),
            3
        )])
    );
}

/// A burst past the server's SETTINGS_MAX_CONCURRENT_STREAMS waits for
/// free streams instead of failing the calls the server refused.
#[test]
fn calls_wait_for_a_free_stream() {
    let port = free_port();
    let _server = grpcio(port, &["--max-streams", "5"]);
    let r = load(
        port,
        &[
            "--call",
            "faults.Faults/Slow",
            "-n",
            "20",
            "-c",
            "20",
            "--async",
        ],
    );
    assert_eq!(
        distribution(&r, "statusCodeDistribution"),
        BTreeMap::from([("OK".into(), 20)]),
        "{r}"
    );
    // Five at a time, 200 ms each: four rounds.
    let total_ns = r["total"].as_u64().unwrap();
    assert!(total_ns >= 700_000_000, "{total_ns} ns");
}

#[test]
fn a_server_that_is_not_there_or_dies_is_unavailable() {
    let port = free_port();
    let r = load(
        port,
        &["--call", "faults.Faults/Echo", "-n", "3", "-c", "1"],
    );
    let refused = format!(
        "rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp 127.0.0.1:{port}: connect: connection refused\""
    );
    assert_eq!(
        distribution(&r, "errorDistribution"),
        BTreeMap::from([(refused.clone(), 3)])
    );

    // Killed a second into a 3 s run: the calls in flight and those after
    // are Unavailable, the later ones with the refused dial.
    let mut server = grpcio(port, &[]);
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1000));
        drop(server.0.kill());
        let _ = server.0.wait();
    });
    let r = load(
        port,
        &[
            "--call",
            "faults.Faults/Slow",
            "-m",
            r#"{"delay-ms":"300"}"#,
            "-z",
            "3s",
            "--rps",
            "20",
            "-c",
            "10",
        ],
    );
    killer.join().unwrap();
    let codes = distribution(&r, "statusCodeDistribution");
    assert!(codes["OK"] > 0, "{r}");
    assert!(codes["Unavailable"] > 0, "{r}");
    assert_eq!(codes.len(), 2, "only OK and Unavailable: {r}");
    let errors = distribution(&r, "errorDistribution");
    assert!(errors.contains_key(&refused), "{errors:?}");
    assert!(
        errors.keys().all(
            |e| e.starts_with("rpc error: code = Unavailable desc = connection error: desc = ")
        ),
        "{errors:?}"
    );
}

/// `haplog testserver` answers a grpcio client as a grpc-go server would.
#[test]
fn the_test_server_answers_as_grpc_go_servers_do() {
    let port = free_port();
    let _server = Killed(
        crate::support::haplog()
            .args(["testserver", "--listen", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    support::wait_for_port(port, Duration::from_secs(10));
    let call = |path: &str, request: &str, extra: &[&str]| -> Value {
        support::json_of(
            Command::new(python())
                .arg(here().join("client.py"))
                .args([&format!("127.0.0.1:{port}"), path, request])
                .args(extra),
        )
    };
    // SpeakRequest { text: "hi" }, plain and gzip-compressed.
    for extra in [&[][..], &["--gzip"]] {
        let ok = call("/haplog.demo.Tts/Speak", "0a026869", extra);
        assert_eq!(ok["code"], "OK", "{ok} {extra:?}");
        assert!(ok["response"].as_str().unwrap().len() > 100);
    }
    // Bytes that are no SpeakRequest.
    let bad = call("/haplog.demo.Tts/Speak", "ffffff", &[]);
    assert_eq!(bad["code"], "INTERNAL", "{bad}");
    assert_eq!(
        bad["details"],
        "grpc: error unmarshalling request: proto: cannot parse invalid wire-format data"
    );
    // A request past grpc-go's 4 MiB default.
    let over = call("/haplog.demo.Tts/Speak", &format!("text:{}", 5 << 20), &[]);
    assert_eq!(over["code"], "RESOURCE_EXHAUSTED", "{}", over["code"]);
    assert_eq!(
        over["details"],
        format!(
            "grpc: received message larger than max ({} vs. 4194304)",
            (5 << 20) + 5
        )
    );
    // The standard health service.
    let health = call("/grpc.health.v1.Health/Check", "", &[]);
    assert_eq!(health["response"], "0801", "SERVING: {health}");
    let named = call(
        "/grpc.health.v1.Health/Check",
        &format!("0a04{}", hex("nope")),
        &[],
    );
    assert_eq!(named["code"], "NOT_FOUND", "{named}");
    let demo = call(
        "/grpc.health.v1.Health/Check",
        &format!("0a0f{}", hex("haplog.demo.Tts")),
        &[],
    );
    assert_eq!(demo["response"], "0801", "{demo}");
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// `-O prometheus` is read by Prometheus' own parser (prometheus_client),
/// with the run's numbers in it.
#[test]
fn prometheus_output_parses_with_prometheus_own_parser() {
    let port = free_port();
    let _server = grpcio(port, &[]);
    let out = support::run_ok(
        crate::support::haplog()
            .args(["load", "--insecure", "-O", "prometheus", "--proto"])
            .arg(here().join("faults.proto"))
            .args([
                "--call",
                "faults.Faults/Echo",
                "-n",
                "7",
                "--name",
                "a \"quoted\" run",
            ])
            .arg(format!("127.0.0.1:{port}")),
    );
    let mut parse = Command::new(python())
        .arg(here().join("prom_parse.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    parse.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let parsed = parse.wait_with_output().unwrap();
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let samples: Vec<Value> = String::from_utf8(parsed.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let value = |name: &str| {
        samples
            .iter()
            .find(|s| s[0] == name)
            .and_then(|s| s[2].as_f64())
    };
    assert_eq!(value("ghz_run_count"), Some(7.0));
    assert_eq!(value("ghz_run_errors"), Some(0.0));
    assert_eq!(value("ghz_run_histogram_count"), Some(7.0));
    let count = samples.iter().find(|s| s[0] == "ghz_run_count").unwrap();
    assert_eq!(count[1]["name"], "a \"quoted\" run");
    assert_eq!(count[1]["call"], "faults.Faults/Echo");
    assert_eq!(count[1]["end_reason"], "normal");
    assert_eq!(count[3], "gauge");
}

/// `--stream-dynamic-messages`: each message of a client stream rendered
/// on its own (fresh random values), where without it the call's one
/// rendering is sent every time; an array's elements go one by one.
#[test]
fn dynamic_stream_messages_are_rendered_one_by_one() {
    let port = free_port();
    let _server = grpcio(port, &[]);
    let sent = |extra: &[&str]| -> Vec<Vec<String>> {
        let mut args = vec!["--call", "faults.Faults/Collect", "-n", "4", "-c", "2"];
        args.extend_from_slice(extra);
        let r = load(port, &args);
        let errors = distribution(&r, "errorDistribution");
        assert_eq!(errors.values().sum::<u64>(), 4, "{errors:?}");
        errors
            .keys()
            .map(|k| {
                let texts = k
                    .strip_prefix("rpc error: code = FailedPrecondition desc = ")
                    .unwrap_or_else(|| panic!("{k}"));
                texts.split('|').map(String::from).collect()
            })
            .collect()
    };
    let uuid = r#"{"text":"{{.RequestNumber}} {{newUUID}}"}"#;
    // Once per call: three copies of one text in each call.
    for texts in sent(&["-d", uuid, "--stream-call-count", "3"]) {
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert!(texts.iter().all(|t| t == &texts[0]), "{texts:?}");
    }
    // Per message: three different texts, all of the same call number.
    let calls = sent(&[
        "-d",
        uuid,
        "--stream-call-count",
        "3",
        "--stream-dynamic-messages",
    ]);
    assert_eq!(calls.len(), 4);
    for texts in calls {
        assert_eq!(texts.len(), 3, "{texts:?}");
        let numbers: Vec<&str> = texts.iter().map(|t| t.split(' ').next().unwrap()).collect();
        assert!(numbers.iter().all(|n| n == &numbers[0]), "{texts:?}");
        assert!(
            texts[0] != texts[1] && texts[1] != texts[2] && texts[0] != texts[2],
            "{texts:?}"
        );
    }
    // An array: its elements in order, each rendered as it is sent.
    let array = r#"[{"text":"a {{newUUID}}"},{"text":"b {{newUUID}}"}]"#;
    for texts in sent(&["-d", array, "--stream-dynamic-messages"]) {
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(
            texts[0].starts_with("a ") && texts[1].starts_with("b "),
            "{texts:?}"
        );
    }
    // Plain data has nothing to render: refused as ghz refuses it.
    let out = crate::support::haplog()
        .args(["load", "--insecure", "--proto"])
        .arg(here().join("faults.proto"))
        .args(["--call", "faults.Faults/Collect", "-d", r#"{"text":"x"}"#])
        .args(["--stream-dynamic-messages", "-n", "1"])
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no template actions"));
}

/// `haplog testserver`'s reflection answers as grpc-go's: on one stream, a
/// name it does not know gets an error reply (NOT_FOUND, "proto: not
/// found") and the stream stays open for the next question; a file comes
/// with its imports; the list names every service, health included. Asked
/// by grpcio with grpcio-reflection's messages, over v1 and v1alpha.
#[test]
fn the_test_server_reflects_as_grpc_go_does() {
    let server = crate::load::Server::start(&[]);
    for version in ["v1", "v1alpha"] {
        let out = Command::new(python())
            .arg(here().join("reflect.py"))
            .args([&server.addr, version])
            .args([
                "no.such.Service",
                "haplog.demo.Tts.SpeakWav",
                "grpc.health.v1.HealthCheckResponse.SERVING",
                "list",
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 5, "{version}: {stdout}");
        assert_eq!(lines[0]["kind"], "error_response", "{stdout}");
        assert_eq!(lines[0]["code"], 5, "{stdout}");
        assert_eq!(lines[0]["message"], "proto: not found", "{stdout}");
        assert_eq!(
            lines[1]["files"],
            serde_json::json!(["haplog/demo/tts.proto"]),
            "{stdout}"
        );
        assert_eq!(
            lines[2]["files"],
            serde_json::json!(["grpc/health/v1/health.proto"]),
            "{stdout}"
        );
        assert_eq!(
            lines[3]["services"],
            serde_json::json!([
                "grpc.health.v1.Health",
                "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
                "haplog.demo.Tts"
            ]),
            "{stdout}"
        );
        assert_eq!(lines[4]["status"], "OK", "{stdout}");
    }
}
