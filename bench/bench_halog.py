#!/usr/bin/env python3
"""haplog versus halog on the same generated log: wall-time ratios per mode.

    python3 bench/bench_halog.py                 # 2 M lines, 7 runs per command
    python3 bench/bench_halog.py --lines 200000 --runs 3 --markdown

The log is made once by bench/gen_haproxy_log.py (deterministic for a seed)
and kept in target/bench/. Every command reads it on stdin, as `halog < log`
does; the file is warmed in the page cache first. For each mode the script
first checks that haplog prints exactly what halog prints, then times halog,
haplog on one thread and haplog on two threads, interleaved so that noise
from a shared machine falls on all three alike. It reports medians, the
ratios to halog (lower is better) and each program's peak memory (max RSS).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (mode, target ratio with 2 threads, target ratio with 1 thread), from the
# halog drop-in issue: per-line modes at most 0.5x halog's time with two
# threads and 1.0x with one; URL and client tables at most 0.2x.
MODES = [
    (["-srv", "-H"], 0.5, 1.0),
    (["-st"], 0.5, 1.0),
    (["-tc"], 0.5, 1.0),
    (["-pct"], 0.5, 1.0),
    (["-u", "-H"], 0.2, None),
    (["-ut", "-H"], 0.2, None),
    (["-uc"], 0.2, None),
    (["-ua"], 0.2, None),
    (["-uto"], 0.2, None),
    (["-ubt"], 0.2, None),
    (["-ic"], 0.2, None),
    (["-c"], None, None),
    (["-c", "-H"], None, None),
]


def run_once(argv, path, env=None, capture=False):
    """(wall seconds, max RSS in MiB, stdout bytes or None) of one run."""
    with open(path, "rb") as f:
        out = subprocess.PIPE if capture else subprocess.DEVNULL
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=f, stdout=out, stderr=subprocess.DEVNULL, env=env)
        data = p.stdout.read() if capture else None
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        if status != 0:
            sys.exit("%s exited with status %d" % (" ".join(argv), status))
        return wall, ru.ru_maxrss / 1024.0, data


def generated_log(lines=2_000_000, seed=1):
    """The generated log every bench script shares, made once."""
    os.makedirs(os.path.join(ROOT, "target", "bench"), exist_ok=True)
    path = os.path.join(ROOT, "target", "bench", "halog-%d-%d.log" % (lines, seed))
    if not os.path.exists(path):
        print("generating %s ..." % path, file=sys.stderr)
        subprocess.check_call([sys.executable, os.path.join(ROOT, "bench", "gen_haproxy_log.py"),
                               "--lines", str(lines), "--seed", str(seed), "-o", path + ".tmp"])
        os.rename(path + ".tmp", path)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--halog", default="/usr/sbin/halog")
    ap.add_argument("--haplog", default=os.path.join(ROOT, "target", "release", "haplog"))
    ap.add_argument("--file", help="use this log instead of generating one")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--only", help="only modes whose flags contain this text")
    args = ap.parse_args()

    if not os.path.exists(args.haplog):
        sys.exit("%s is missing: run `cargo build --release` first" % args.haplog)
    path = args.file or generated_log(args.lines, args.seed)
    size = os.path.getsize(path)
    run_once(["cat"], path)  # warm the page cache

    env = dict(os.environ, TZ="UTC", LC_ALL="C")
    env1 = dict(env, HAPLOG_THREADS="1")
    env2 = dict(env, HAPLOG_THREADS="2")
    print("file: %s (%.1f MB), %d runs per command, loadavg %s, cpus %d" % (
        path, size / 1e6, args.runs, open("/proc/loadavg").read().split()[0], os.cpu_count()))
    head = ("| mode | halog s | haplog 1 thread s | ratio | haplog 2 threads s | ratio | "
            "halog MiB | haplog MiB (2t) |")
    if args.markdown:
        print(head)
        print("|---|---|---|---|---|---|---|---|")
    all_ok = True
    for mode, target2, target1 in MODES:
        if args.only and args.only not in " ".join(mode):
            continue
        _, _, want = run_once([args.halog] + mode, path, env, capture=True)
        _, _, got = run_once([args.haplog] + mode, path, env2, capture=True)
        if want != got:
            sys.exit("haplog %s prints something else than halog: fix that before timing" % " ".join(mode))
        halog, hap1, hap2 = [], [], []
        rss = {"halog": 0.0, "hap2": 0.0}
        for _ in range(args.runs):
            w, r, _ = run_once([args.halog] + mode, path, env)
            halog.append(w)
            rss["halog"] = max(rss["halog"], r)
            hap1.append(run_once([args.haplog] + mode, path, env1)[0])
            w, r, _ = run_once([args.haplog] + mode, path, env2)
            hap2.append(w)
            rss["hap2"] = max(rss["hap2"], r)
        m0, m1, m2 = statistics.median(halog), statistics.median(hap1), statistics.median(hap2)
        r1, r2 = m1 / m0, m2 / m0
        ok = (target2 is None or r2 <= target2) and (target1 is None or r1 <= target1)
        all_ok &= ok
        target = "-" if target2 is None else ("%.1fx / %s" % (target2, "%.1fx" % target1 if target1 else "-"))
        mark = "" if target2 is None else (" ok" if ok else " MISSED")
        name = " ".join(mode)
        if args.markdown:
            # The README's table: measurements only, the goals stay here.
            print("| `%s` | %.3f | %.3f | %.2fx | %.3f | %.2fx | %.0f | %.0f |" % (
                name, m0, m1, r1, m2, r2, rss["halog"], rss["hap2"]))
        else:
            print("%-10s halog %.3fs  haplog-1t %.3fs (%.2fx)  haplog-2t %.3fs (%.2fx)  target %s%s  rss %.0f/%.0f MiB" % (
                name, m0, m1, r1, m2, r2, target, mark, rss["halog"], rss["hap2"]))
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
