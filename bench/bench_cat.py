#!/usr/bin/env python3
"""`haplog cat` (the full parser) against `halog -srv` on the same log.

    python3 bench/bench_cat.py                  # the 2 M-line generated log
    python3 bench/bench_cat.py --file some.log --runs 5

halog only counts fields from a fixed place; haplog cat recognises each
line's header, format and kind and reads every field. The goal (parsing
issue): the parse-only pass (`cat --count`, which prints nothing per line)
runs at no less than halog -srv's speed on one thread. Also timed: the full
NDJSON output to /dev/null. Runs are interleaved; medians are reported.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_halog import ROOT, generated_log, run_once  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", help="log to read (default: the 2 M-line generated log, made if missing)")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--halog", default="/usr/sbin/halog")
    ap.add_argument("--haplog", default=os.path.join(ROOT, "target", "release", "haplog"))
    args = ap.parse_args()
    args.file = args.file or generated_log()
    if not os.path.exists(args.file):
        sys.exit("%s is missing" % args.file)
    run_once(["cat"], args.file)
    env = dict(os.environ, TZ="UTC", LC_ALL="C")
    commands = [
        ("halog -srv", [args.halog, "-srv"], env),
        ("haplog cat --count, 1 thread", [args.haplog, "cat", "--count", "-q"], dict(env, HAPLOG_THREADS="1")),
        ("haplog cat --count, 2 threads", [args.haplog, "cat", "--count", "-q"], dict(env, HAPLOG_THREADS="2")),
        ("haplog cat (NDJSON), 1 thread", [args.haplog, "cat", "-q"], dict(env, HAPLOG_THREADS="1")),
        ("haplog cat (NDJSON), 2 threads", [args.haplog, "cat", "-q"], dict(env, HAPLOG_THREADS="2")),
    ]
    times = {name: [] for name, _, _ in commands}
    for _ in range(args.runs):
        for name, argv, e in commands:
            wall, _, _ = run_once(argv, args.file, e)
            times[name].append(wall)
    base = statistics.median(times["halog -srv"])
    print("| command | median s | vs halog -srv |")
    print("|---|---|---|")
    for name, _, _ in commands:
        m = statistics.median(times[name])
        print("| %s | %.3f | %.2fx |" % (name, m, m / base))


if __name__ == "__main__":
    main()
