#!/usr/bin/env python3
"""`haplog report` against halog and haproxy_log_analysis.

    python3 bench/bench_report.py            # 7 runs each, medians
    python3 bench/bench_report.py --runs 3 --skip-hla

1. A full report (every section, text to /dev/null) of the 2M-line
   generated log (bench/gen_haproxy_log.py --lines 2000000 --seed 1), against
   `halog -srv -H` on the same file. Goal: at most 1.5x halog's time.
2. The same full report of the 200k-line log of the haproxy_log_analysis
   corpus (testdata/hla/gen_httplog.py --lines 200000 --seed 42), against
   that tool running its 15 non-print commands (what the report covers).
   Goal: at least 100x faster. The tool is installed into target/bench/
   hla-venv when it is not there (bench_hla.py does the same).
3. The HTML page (`--html`, charts included) of the 2M-line log against
   the full text report of the same log, in the same runs. Goals: at most
   1.2x the text's time, and a page under 2 MB.

Runs are interleaved; the machine is shared, so medians are quoted.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import bench_halog  # noqa: E402  (the shared generated log)
import bench_hla  # noqa: E402  (the tool's venv and the 200k log)


def timed(argv, env=None, stdin=None):
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as inp:
        t0 = time.perf_counter()
        p = subprocess.run(argv, stdin=inp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("%s exited with %d" % (" ".join(argv), p.returncode))
    return wall


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--hla-runs", type=int, default=3, help="runs of the Python tool")
    ap.add_argument("--skip-hla", action="store_true")
    ap.add_argument("--haplog", default=os.path.join(ROOT, "target", "release", "haplog"))
    ap.add_argument("--halog", default="/usr/sbin/halog")
    args = ap.parse_args()
    env = dict(os.environ, TZ="UTC", LANG="C.UTF-8")
    report = [args.haplog, "report", "-q", "--full"]

    path = bench_halog.generated_log(2_000_000, 1)
    halog, two, one = [], [], []
    for _ in range(args.runs):
        halog.append(timed([args.halog, "-srv", "-H"], stdin=path))
        two.append(timed(report + [path], dict(env, HAPLOG_THREADS="2")))
        one.append(timed(report + [path], dict(env, HAPLOG_THREADS="1")))
    h, r2, r1 = statistics.median(halog), statistics.median(two), statistics.median(one)
    print("2M lines: halog -srv -H %.3f s; haplog report %.3f s on 2 threads (%.2fx halog), "
          "%.3f s on 1 thread (%.2fx)" % (h, r2, r2 / h, r1, r1 / h))

    page = os.path.join(ROOT, "target", "bench", "report-2M.html")
    text, html = [], []
    for _ in range(args.runs):
        text.append(timed(report + [path], dict(env, HAPLOG_THREADS="2")))
        html.append(timed([args.haplog, "report", "-q", "--html", page, path], dict(env, HAPLOG_THREADS="2")))
    t, w = statistics.median(text), statistics.median(html)
    print("2M lines, 2 threads: text report %.3f s; HTML page %.3f s (%.2fx the text), %d KB"
          % (t, w, w / t, os.path.getsize(page) // 1024))

    if args.skip_hla:
        return
    hla = bench_hla.tool()
    small = bench_hla.log_file()
    slow, two, one = [], [], []
    for i in range(args.runs):
        if i < args.hla_runs:
            slow.append(timed([hla, "-l", small, "-c", bench_hla.ALL], env))
        two.append(timed(report + [small], dict(env, HAPLOG_THREADS="2")))
        one.append(timed(report + [small], dict(env, HAPLOG_THREADS="1")))
    s, r2, r1 = statistics.median(slow), statistics.median(two), statistics.median(one)
    print("200k lines: haproxy_log_analysis (15 commands) %.2f s; haplog report %.3f s on 2 threads "
          "(%.0fx faster), %.3f s on 1 thread (%.0fx)" % (s, r2, s / r2, r1, s / r1))


if __name__ == "__main__":
    main()
