#!/usr/bin/env python3
"""`haplog hla` against haproxy_log_analysis 6.0 on the same 200k-line log.

    python3 bench/bench_hla.py              # 3 runs of the Python tool, 7 of haplog
    python3 bench/bench_hla.py --runs 1

The log is testdata/hla/gen_httplog.py --lines 200000 --seed 42 (the file the
golden corpus's benchmark used), made once in target/bench/. The Python tool
is installed into target/bench/hla-venv with pip when it is not there. Each
command set first checks that haplog's RESULTS section equals the tool's
(skipping queue_peaks and the JSON-only top_* rows, whose bugs haplog fixes),
then times both, interleaved. Medians; the ratio is the tool's time over
haplog's (the goal: at least 100x).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "target", "bench")
ALL = ("average_response_time,average_waiting_time,connection_type,counter,http_methods,"
       "ip_counter,request_path_counter,requests_per_hour,requests_per_minute,server_load,"
       "slow_requests,slow_requests_counter,status_codes_counter,top_ips,top_request_paths")
SETS = [
    ("counter", ["-c", "counter"]),
    ("15 commands", ["-c", ALL]),
    ("2 commands, 2 filters", ["-c", "counter,server_load", "-f", "status_code_family[5],backend[api]"]),
]


def tool():
    venv = os.path.join(BENCH, "hla-venv")
    exe = os.path.join(venv, "bin", "haproxy_log_analysis")
    if not os.path.exists(exe):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([os.path.join(venv, "bin", "pip"), "install", "-q",
                               "haproxy-log-analysis==6.0.0"])
    return exe


def log_file():
    path = os.path.join(BENCH, "hla-200000-42.log")
    if not os.path.exists(path):
        os.makedirs(BENCH, exist_ok=True)
        subprocess.check_call([sys.executable, os.path.join(ROOT, "testdata", "hla", "gen_httplog.py"),
                               "--lines", "200000", "--seed", "42", "--out", path])
    return path


def run(argv, env):
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("%s exited with %d" % (" ".join(argv), p.returncode))
    return wall, p.stdout.decode("utf-8", "replace")


def results(text):
    return text.split("\nRESULTS\n\n", 1)[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs of the Python tool (haplog: 7)")
    ap.add_argument("--haplog", default=os.path.join(ROOT, "target", "release", "haplog"))
    args = ap.parse_args()
    hla = tool()
    path = log_file()
    env = dict(os.environ, TZ="UTC", LANG="C.UTF-8")
    print("| commands | haproxy_log_analysis s | haplog hla s (2 threads) | haplog hla s (1 thread) | speed-up |")
    print("|---|---|---|---|---|")
    for name, flags in SETS:
        _, want = run([hla, "-l", path] + flags, env)
        _, got = run([args.haplog, "hla", "-q", "-l", path] + flags, env)
        if results(want) != results(got):
            sys.exit("%s: haplog's results differ from the tool's" % name)
        slow, fast2, fast1 = [], [], []
        for i in range(max(args.runs, 7)):
            if i < args.runs:
                slow.append(run([hla, "-l", path] + flags, env)[0])
            fast2.append(run([args.haplog, "hla", "-q", "-l", path] + flags, dict(env, HAPLOG_THREADS="2"))[0])
            fast1.append(run([args.haplog, "hla", "-q", "-l", path] + flags, dict(env, HAPLOG_THREADS="1"))[0])
        s, f2, f1 = statistics.median(slow), statistics.median(fast2), statistics.median(fast1)
        print("| %s | %.2f | %.3f | %.3f | %.0fx (1 thread: %.0fx) |" % (name, s, f2, f1, s / f2, s / f1))


if __name__ == "__main__":
    main()
