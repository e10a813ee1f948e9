//! `haplog report --html`: the page of real-corpus logs opened in headless
//! Chromium (every section and chart drawn, tables that sort, no script
//! error, no request made), and a hostile log whose every field shows as
//! text and runs nothing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real")
}

fn tempdir(name: &str) -> PathBuf {
    crate::support::fresh_dir(&format!("report-html-{name}"))
}

/// Writes the page of `log` (and `extra` flags) to `page`.
fn write_page(log: &Path, page: &Path, extra: &[&str]) {
    let out = crate::support::haplog()
        .args(["report", "-q", "--utc-offset", "UTC", "--html"])
        .arg(page)
        .args(extra)
        .arg(log)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Opens `page` in headless Chromium, evaluates `check` and takes a
/// screenshot; the result of cdp.py, once the page is loaded.
fn open(page: &Path, check: &str, screenshot: &Path) -> Value {
    let mut cdp = Command::new("python3");
    cdp.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/cdp.py"))
        .arg(format!("file://{}", page.display()))
        .args(["--eval", check, "--screenshot"])
        .arg(screenshot);
    let result = crate::support::json_of(&mut cdp);
    assert_eq!(result["until"], true, "{result}");
    assert_eq!(result["errors"], serde_json::json!([]), "{result}");
    assert_eq!(result["console"], serde_json::json!([]), "{result}");
    // Nothing fetched: the file itself is the only request.
    assert_eq!(
        result["requests"],
        serde_json::json!([format!("file://{}", page.display())]),
        "{result}"
    );
    let shot = fs::read(screenshot).unwrap();
    assert!(shot.starts_with(b"\x89PNG") && shot.len() > 10_000);
    serde_json::from_str(result["value"].as_str().unwrap()).unwrap()
}

/// What the page holds, as the browser sees it; and the servers table
/// sorted by requests, ascending then descending, by clicks.
const CHECK: &str = "JSON.stringify({\
    sections: [...document.querySelectorAll('main > section')].map(s => s.id),\
    figures: [...document.querySelectorAll('figure')].map(f => ({\
        title: f.querySelector('figcaption').textContent,\
        lines: f.querySelectorAll('g.series').length,\
        marks: f.querySelectorAll('g.series polyline, g.series circle').length,\
        width: f.querySelector('svg').getBoundingClientRect().width\
    })),\
    bars: document.querySelectorAll('svg rect.bar').length,\
    scripts: document.scripts.length,\
    facts: Object.fromEntries([...document.querySelectorAll('#overview dl div')].map(d => [d.querySelector('dt').textContent, d.querySelector('dd').textContent])),\
    sorted: (function () {\
        var t = document.querySelector('#servers table.sortable');\
        if (!t) { return null; }\
        var b = t.tHead.rows[0].cells[1].querySelector('button');\
        var col = () => [...t.tBodies[0].rows].map(r => Number(r.cells[1].dataset.v));\
        b.click(); var up = col(); b.click(); var down = col();\
        return {up: up, down: down, sort: t.tHead.rows[0].cells[1].getAttribute('aria-sort')};\
    })()\
})";

#[test]
fn html_report_of_the_corpus_draws_every_section_and_chart() {
    let dir = tempdir("corpus");
    for log in ["httplog.log", "tcplog.log", "json.log", "rfc5424.log"] {
        let page = dir.join(format!("{log}.html"));
        write_page(&corpus().join(log), &page, &[]);
        let json = crate::support::json_of(
            crate::support::haplog()
                .args(["report", "--json", "-q", "--utc-offset", "UTC"])
                .arg(corpus().join(log)),
        );
        let seen = open(&page, CHECK, &dir.join(format!("{log}.png")));

        // Every section of the report, in its order.
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "report")
            .map(String::as_str)
            .collect();
        let order = [
            "findings",
            "overview",
            "status",
            "termination",
            "frontends",
            "backends",
            "servers",
            "urls",
            "clients",
            "slow",
            "queue",
            "timeline",
        ];
        assert_eq!(keys.len(), order.len(), "{log}: {keys:?}");
        assert!(keys.iter().all(|k| order.contains(k)), "{log}: {keys:?}");
        assert_eq!(seen["sections"], serde_json::json!(order), "{log}");

        // Charts: the rates under the findings; two of the timeline; per
        // backend section two over time
        // and one distribution; per backend of the servers the same three.
        let servers = json["servers"]["requests"].as_array().unwrap();
        let mut backends: Vec<&str> = servers
            .iter()
            .map(|s| s["server"].as_str().unwrap().split('/').next().unwrap())
            .collect();
        backends.dedup();
        let figures = seen["figures"].as_array().unwrap();
        assert_eq!(
            figures.len(),
            3 + 3 + 3 * backends.len().min(12),
            "{log}: {figures:?}"
        );
        for f in figures {
            assert!(
                f["lines"].as_u64().unwrap() >= 1 && f["marks"].as_u64().unwrap() >= 1,
                "{log}: a chart with nothing drawn: {f}"
            );
            assert!(f["width"].as_f64().unwrap() > 300.0, "{log}: {f}");
        }
        for backend in backends.iter().take(12) {
            let title = format!("Total time p50 and p99 over time, backend {backend}");
            let chart = figures
                .iter()
                .find(|f| f["title"].as_str().unwrap().starts_with(&title))
                .unwrap_or_else(|| panic!("{log}: no chart of {backend}"));
            // A p50 and a p99 line per server of the backend.
            let of_backend = servers
                .iter()
                .filter(|s| s["server"].as_str().unwrap().split('/').next() == Some(backend))
                .count();
            assert_eq!(chart["lines"], 2 * of_backend as u64, "{log}: {chart}");
        }
        // Bars of the status classes (HTTP logs) and of the states.
        let classes = json["status"]["classes"].as_array().unwrap().len();
        let states = json["termination"]["states"].as_array().unwrap().len();
        assert_eq!(seen["bars"], (classes + states) as u64, "{log}");
        assert_eq!(seen["scripts"], 1, "{log}");

        // The overview's figures are the JSON's.
        assert_eq!(
            seen["facts"]["requests"],
            json["overview"]["requests"].to_string(),
            "{log}"
        );
        // A click sorts the servers by requests; a second reverses them.
        let mut want: Vec<u64> = servers
            .iter()
            .map(|s| s["requests"].as_u64().unwrap())
            .collect();
        want.sort_unstable();
        let sorted = &seen["sorted"];
        assert_eq!(sorted["up"], serde_json::json!(want), "{log}");
        want.reverse();
        assert_eq!(sorted["down"], serde_json::json!(want), "{log}");
        assert_eq!(sorted["sort"], "descending", "{log}");
    }
}

/// Lines whose every field a stranger could have written: names, the
/// request, a captured header, an unparsed line; with tags, quotes,
/// attribute breakers, ANSI escapes and bytes that are not UTF-8.
fn hostile_lines() -> Vec<u8> {
    let mut log = Vec::new();
    for n in 0..12u32 {
        log.extend_from_slice(
            format!(
                "10.0.0.{}:4000 [24/Nov/2026:15:54:{:02}.000] fe<script>document.body.dataset.pwned=1</script> be\"><img/src=x/onerror=document.body.dataset.pwned=2>/s'<svg/onload=document.body.dataset.pwned=3>\x1b[31m\u{fffd}",
                n + 1,
                n
            )
            .as_bytes(),
        );
        log.extend_from_slice(b"\xff\xfe");
        log.extend_from_slice(
            b" 0/0/1/-1/5 503 100 - - SC-- 1/1/0/0/0 0/0 {<b>x</b>\"'\x1b]0;title\x07} \"GET /<script>document.body.dataset.pwned=4</script>'><img\x09src=x\x09onerror=document.body.dataset.pwned=5>\x1b[2J\xff HTTP/1.1\"\n",
        );
    }
    log.extend_from_slice(
        b"<img src=x onerror=document.body.dataset.pwned=6> not a log line \x1b[31m\xff\n",
    );
    log
}

#[test]
fn hostile_log_fields_show_as_text_and_run_nothing() {
    let dir = tempdir("hostile");
    let log = dir.join("hostile.log");
    fs::write(&log, hostile_lines()).unwrap();
    let page = dir.join("hostile.html");
    write_page(&log, &page, &["--xff", "1"]);
    let check = "JSON.stringify({\
        pwned: document.body.dataset.pwned || '',\
        scripts: document.scripts.length,\
        injected: document.querySelectorAll('main img, main iframe, main svg script, main svg[onload], b').length,\
        text: document.body.innerText,\
        titles: [...document.querySelectorAll('svg title')].map(t => t.textContent).join('\\n')\
    })";
    let seen = open(&page, check, &dir.join("hostile.png"));
    assert_eq!(seen["pwned"], "", "a log byte ran as a script");
    assert_eq!(seen["scripts"], 1, "{seen}");
    assert_eq!(seen["injected"], 0, "{seen}");
    let text = seen["text"].as_str().unwrap();
    for shown in [
        "fe<script>document.body.dataset.pwned=1</script>",
        "be\"><img/src=x/onerror=document.body.dataset.pwned=2>",
        "s'<svg/onload=document.body.dataset.pwned=3>\\x1B[31m\u{fffd}\u{fffd}\u{fffd}",
        "/<script>document.body.dataset.pwned=4</script>'><img",
        "<img src=x onerror=document.body.dataset.pwned=6> not a log line \\x1B[31m\u{fffd}",
    ] {
        assert!(
            text.contains(shown),
            "{shown:?} not shown as text in:\n{text}"
        );
    }
    // The finding names the failing server, as text too.
    assert!(
        text.contains("failed 12 of its 12 requests"),
        "no finding in:\n{text}"
    );
    // Chart titles and legends carry the names as text.
    assert!(
        seen["titles"]
            .as_str()
            .unwrap()
            .contains("s'<svg/onload=document.body.dataset.pwned=3>"),
        "{seen}"
    );
    let html = fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains('\x1b') && !html.contains('\x07'),
        "raw controls"
    );
}
