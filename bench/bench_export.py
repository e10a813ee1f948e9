#!/usr/bin/env python3
"""`haplog export --parquet` against `halog -srv -H`, and the files' size.

    python3 bench/bench_export.py            # 5 runs each, medians
    python3 bench/bench_export.py --spark    # and Spark's check (below)

1. Exporting the 2M-line generated log (bench/gen_haproxy_log.py --lines
   2000000 --seed 1) on 2 threads, against `halog -srv -H` on the same
   file, interleaved. Goal: at most 2.5x halog's time.
2. The Parquet files' size against the log's. Goal: at most 15 %.
3. With --spark: Spark in local mode (PyPI pyspark, Debian
   openjdk-17-jre-headless; installed into target/bench/spark-venv when
   missing) reads the export and runs docs/sql.md's Spark queries; their
   counts are compared with `haplog report --json` and their percentiles
   with the report's, within percentile_approx's accuracy.

The machine is shared: medians are quoted, and the ratio is what counts.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import bench_halog  # noqa: E402  (the shared generated log)
from bench_report import timed  # noqa: E402  (one timed run, as the report bench times it)


def spark_check(haplog, log, out_dir):
    venv = os.path.join(ROOT, "target", "bench", "spark-venv")
    python = os.path.join(venv, "bin", "python")
    if subprocess.run([python, "-c", "import pyspark"], capture_output=True).returncode != 0:
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([os.path.join(venv, "bin", "pip"), "install", "-q", "pyspark"])
    if subprocess.run(["java", "-version"], capture_output=True).returncode != 0:
        subprocess.check_call(["apt-get", "install", "-y", "-qq", "openjdk-17-jre-headless"])
    sql = open(os.path.join(ROOT, "docs", "sql.md")).read()
    queries = {}
    for block in re.findall(r"```sql\n(.*?)```", sql, re.S):
        m = re.match(r"-- spark: (\w+)\n", block)
        if m:
            queries[m.group(1)] = block[m.end():].strip().rstrip(";")
    script = """
import json, sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.master("local[2]").config("spark.sql.session.timeZone", "UTC").getOrCreate()
spark.read.parquet(sys.argv[1]).createOrReplaceTempView("haproxy")
out = {}
for name, q in json.loads(sys.argv[2]).items():
    out[name] = [r.asDict() for r in spark.sql(q).collect()]
print(json.dumps(out, default=str))
"""
    got = json.loads(subprocess.check_output([python, "-c", script, out_dir, json.dumps(queries)]).decode().strip().splitlines()[-1])
    report = json.loads(subprocess.check_output([haplog, "report", "--json", "-q", "--utc-offset", "UTC",
                                                 "--interval", "minute", "--top", "1000000", log]))
    servers = {r["server"]: r for r in report["servers"]["requests"]}
    bad = 0
    for row in got["servers"]:
        key = "%s/%s" % (row["backend"], row["server"])
        if servers[key]["requests"] != row["requests"] or servers[key]["failed"] != row["failed"]:
            bad += 1
            print("spark: %s differs: %s vs %s" % (key, row, servers[key]))
    # percentile_approx's default accuracy (10000) puts its answer within
    # 1/10000 of the rank: on these timers, within 1 % or 1 ms of the
    # report's (itself within 0.1 % of the exact value).
    timers = {(r["server"], r["timer"]): r for r in report["servers"]["timers"]}
    for row in got["servers"]:
        key = "%s/%s" % (row["backend"], row["server"])
        for column, timer, p in [("tt_p50", "Tt", "p50"), ("tt_p99", "Tt", "p99"),
                                 ("tr_p50", "Tr", "p50"), ("tr_p99", "Tr", "p99")]:
            ours, theirs = timers[(key, timer)][p], row[column]
            if ours is None or theirs is None:
                if ours != theirs:
                    bad += 1
                    print("spark: %s %s: %s vs report %s" % (key, column, theirs, ours))
            elif abs(float(theirs) - ours) > max(1.0, 0.01 * ours):
                bad += 1
                print("spark: %s %s: %s vs report %s" % (key, column, theirs, ours))
    codes = {r["status"]: r["requests"] for r in report["status"]["codes"] if r["status"] is not None}
    if {r["status"]: r["requests"] for r in got["status"]} != codes:
        bad += 1
        print("spark: status counts differ")
    print("spark: %d servers, %d status codes, %d minutes read back from the partitioned export; %s"
          % (len(got["servers"]), len(got["status"]), len(got["minutes"]),
             "counts equal the report's, percentiles within accuracy" if bad == 0 else "%d differences" % bad))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--haplog", default=os.path.join(ROOT, "target", "release", "haplog"))
    ap.add_argument("--halog", default="/usr/sbin/halog")
    ap.add_argument("--spark", action="store_true")
    args = ap.parse_args()
    env = dict(os.environ, TZ="UTC", HAPLOG_THREADS="2")
    log = bench_halog.generated_log(2_000_000, 1)
    out = os.path.join(ROOT, "target", "bench", "export-2M.parquet")
    export = [args.haplog, "export", "-q", "--utc-offset", "UTC", "--parquet", out, log]
    halog, ours = [], []
    for _ in range(args.runs):
        halog.append(timed([args.halog, "-srv", "-H"], stdin=log))
        ours.append(timed(export, env))
    h, e = statistics.median(halog), statistics.median(ours)
    size = os.path.getsize(out)
    other = out.replace(".parquet", ".other.parquet")
    other_size = os.path.getsize(other) if os.path.exists(other) else 0
    log_size = os.path.getsize(log)
    print("2M lines, 2 threads: halog -srv -H %.3f s; haplog export %.3f s (%.2fx halog)" % (h, e, e / h))
    print("log %.1f MB; Parquet %.1f MB + %.2f MB other lines = %.1f %% of the log"
          % (log_size / 1e6, size / 1e6, other_size / 1e6, (size + other_size) * 100.0 / log_size))
    if args.spark:
        spark_dir = os.path.join(ROOT, "target", "bench", "spark-export")
        subprocess.run(["rm", "-rf", spark_dir], check=True)
        subprocess.check_call([args.haplog, "export", "-q", "--traffic-only", "--utc-offset", "UTC",
                               "--partition", "date,host", "--parquet", spark_dir, log])
        spark_check(args.haplog, log, spark_dir)


if __name__ == "__main__":
    main()
