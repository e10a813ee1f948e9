#!/usr/bin/env python3
"""`haplog live --no-tui`: ingest rate, CPU at a steady rate, memory.

    python3 bench/bench_live.py                  # all three measures
    python3 bench/bench_live.py --skip-memory    # the first two only

1. Ingest: the 2M-line generated log (bench/gen_haproxy_log.py --seed 1) is
   appended as fast as the disk takes it to a file `haplog live` follows;
   the rate is lines over the time until live's total holds every line
   (median of --runs). For comparison, the same log through `haplog
   report` on the same threads, and `tail -F` (which only copies bytes).
2. Steady: a writer appends 10,000 lines a second for --steady-seconds;
   live's CPU time (user + system, from /proc) over that time, as a share
   of one core.
3. Memory: 100 M lines (the 2M log 50 times) on standard input at full
   speed; live's peak resident memory, which the window bounds, next to the
   same after 2 M lines.

Runs are interleaved where there are several; the machine is shared, so
medians are quoted.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import bench_halog  # noqa: E402  (the shared generated log)


def count_lines(path):
    n = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 24)
            if not b:
                return n
            n += b.count(b"\n")


def follow_until(haplog, target, lines, feed, env):
    """Starts live on `target`, runs `feed()` on a thread, and returns the
    seconds from the feed's start until live's total reaches `lines`, and
    live's process for CPU readings."""
    p = subprocess.Popen(
        [haplog, "live", "--json", "-q", "--no-tui", "--every", "50ms", "--window", "10s", target],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    first = p.stdout.readline()  # live is reading
    if not first:
        sys.exit("haplog live wrote nothing")
    t0 = time.perf_counter()
    writer = threading.Thread(target=feed)
    writer.start()
    seen = 0
    for line in p.stdout:
        seen = json.loads(line)["total"]["live"]["lines"]
        if seen >= lines:
            break
    elapsed = time.perf_counter() - t0
    writer.join()
    p.kill()
    p.wait()
    if seen < lines:
        sys.exit("live saw %d of %d lines" % (seen, lines))
    return elapsed


def ingest(args, log, lines, env):
    rates = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as d:
            target = os.path.join(d, "live.log")
            open(target, "wb").close()

            def feed():
                with open(log, "rb") as src, open(target, "ab") as dst:
                    while True:
                        b = src.read(1 << 20)
                        if not b:
                            return
                        dst.write(b)
                        dst.flush()

            rates.append(lines / follow_until(args.haplog, target, lines, feed, env))
    report = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        subprocess.run([args.haplog, "report", "-q", log], stdout=subprocess.DEVNULL, env=env, check=True)
        report.append(lines / (time.perf_counter() - t0))
    return statistics.median(rates), statistics.median(report)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def steady(args, log, env):
    with open(log, "rb") as f:
        sample = [f.readline() for _ in range(20_000)]
    with tempfile.TemporaryDirectory() as d:
        target = os.path.join(d, "steady.log")
        open(target, "wb").close()
        p = subprocess.Popen([args.haplog, "live", "--json", "-q", "--no-tui", target],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        time.sleep(0.5)
        start_cpu, t0 = cpu_seconds(p.pid), time.perf_counter()
        written = 0
        with open(target, "ab") as dst:
            # 100 lines every 10 ms: 10,000 lines a second.
            while time.perf_counter() - t0 < args.steady_seconds:
                tick = t0 + written / 10_000
                now = time.perf_counter()
                if tick > now:
                    time.sleep(tick - now)
                dst.write(b"".join(sample[written % 20_000:written % 20_000 + 100]))
                dst.flush()
                written += 100
        time.sleep(0.2)
        used = cpu_seconds(p.pid) - start_cpu
        wall = time.perf_counter() - t0
        p.kill()
        p.wait()
    return written / args.steady_seconds, used / wall


def memory(args, log, repeats, env):
    """Peak RSS (MiB) of live reading `repeats` copies of the log on stdin.
    The copies come from a shell, so no large Python process is forked
    (a fork's pages would count in the child's peak)."""
    feeder = subprocess.Popen(["sh", "-c", 'for i in $(seq %d); do cat "$0"; done' % repeats, log],
                              stdout=subprocess.PIPE)
    t0 = time.perf_counter()
    p = subprocess.Popen([args.haplog, "live", "--json", "-q", "--no-tui", "--every", "10s"],
                         stdin=feeder.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    feeder.stdout.close()
    _, status, ru = os.wait4(p.pid, 0)
    feeder.wait()
    if status != 0:
        sys.exit("haplog live exited with status %d" % status)
    return ru.ru_maxrss / 1024.0, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--steady-seconds", type=float, default=10.0)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--haplog", default=os.path.join(ROOT, "target", "release", "haplog"))
    args = ap.parse_args()
    env = dict(os.environ, TZ="UTC", LANG="C.UTF-8", HAPLOG_THREADS="2")
    log = bench_halog.generated_log(2_000_000, 1)
    lines = count_lines(log)

    live, report = ingest(args, log, lines, env)
    print("ingest: %d lines appended at full speed: haplog live %.2f M lines/s (goal: at least 1 M); "
          "haplog report on 2 threads %.2f M lines/s" % (lines, live / 1e6, report / 1e6))
    rate, share = steady(args, log, env)
    print("steady: %.0f lines/s for %.0f s: haplog live used %.1f %% of a core (goal: at most 5 %%)"
          % (rate, args.steady_seconds, share * 100))
    if not args.skip_memory:
        small, _ = memory(args, log, 1, env)
        big, seconds = memory(args, log, 50, env)
        print("memory: peak RSS %.0f MiB after %d M lines, %.0f MiB after %d M lines (%.0f s, %.2f M lines/s on stdin)"
              % (small, lines // 1_000_000, big, 50 * lines // 1_000_000, seconds, 50 * lines / seconds / 1e6))


if __name__ == "__main__":
    main()
