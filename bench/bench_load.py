#!/usr/bin/env python3
"""`haplog load` against h2load: unary gRPC calls on loopback, closed loop.

    python3 bench/bench_load.py                 # 5 runs each, medians
    python3 bench/bench_load.py --calls 50000 --concurrency 32 --runs 3

Both clients call haplog.demo.Tts/Speak on one `haplog testserver` (small
responses: one 64-byte chunk), over one HTTP/2 connection with the same
number of calls in flight: `haplog load -c C --connections 1` and
`h2load -c 1 -m C` with the same gRPC body. The figure is the achieved rate
(calls per second); the goal is haplog at least 1.0x h2load's, with exact
status counts (h2load cannot see gRPC status, so its count is of HTTP
responses). Runs are interleaved; the machine is shared, so medians are
quoted. h2load comes from Debian's nghttp2-client, installed when missing.
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ensure_h2load():
    if shutil.which("h2load"):
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print("bench_load: installing Debian's nghttp2-client for h2load", file=sys.stderr)
    subprocess.check_call(sudo + ["apt-get", "update", "-qq"])
    subprocess.check_call(sudo + ["apt-get", "install", "-y", "-qq", "nghttp2-client"],
                          env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def speak_request(text):
    data = text.encode()
    return bytes([0x0A, len(data)]) + data


def haplog_run(haplog, addr, calls, concurrency):
    argv = [haplog, "load", "--insecure", "-O", "json", "--call", "haplog.demo.Tts/Speak",
            "-d", '{"text":"hello"}', "-n", str(calls), "-c", str(concurrency),
            "--connections", "1", "--quiet", addr]
    out = subprocess.run(argv, check=True, capture_output=True).stdout
    report = json.loads(out)
    rate = report["count"] / (report["total"] / 1e9)
    return rate, report["statusCodeDistribution"]


def h2load_run(body, addr, calls, concurrency):
    argv = ["h2load", "-n", str(calls), "-c", "1", "-m", str(concurrency),
            "-H", "content-type: application/grpc", "-H", "te: trailers", "-d", body,
            "http://%s/haplog.demo.Tts/Speak" % addr]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
    succeeded = int(re.search(r"(\d+) succeeded", out).group(1))
    return rate, {"HTTP 2xx (gRPC status unseen)": succeeded}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--calls", type=int, default=30000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--haplog", default=os.path.join(ROOT, "target", "release", "haplog"))
    args = ap.parse_args()
    ensure_h2load()
    port = free_port()
    addr = "127.0.0.1:%d" % port
    server = subprocess.Popen([args.haplog, "testserver", "--listen", addr, "--chunks", "1",
                               "--chunk-size", "64"], stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    sys.exit("the test server did not start")
                time.sleep(0.05)
        with tempfile.NamedTemporaryFile(suffix=".grpc", delete=False) as f:
            message = speak_request("hello")
            f.write(b"\x00" + len(message).to_bytes(4, "big") + message)
            body = f.name
        haplog_rates, h2load_rates = [], []
        for i in range(args.runs):
            rate, statuses = haplog_run(args.haplog, addr, args.calls, args.concurrency)
            haplog_rates.append(rate)
            print("run %d: haplog load %8.0f calls/s  %s" % (i + 1, rate, statuses))
            rate, statuses = h2load_run(body, addr, args.calls, args.concurrency)
            h2load_rates.append(rate)
            print("run %d: h2load      %8.0f calls/s  %s" % (i + 1, rate, statuses))
        hm, h2m = statistics.median(haplog_rates), statistics.median(h2load_rates)
        print()
        print("unary calls, closed loop, %d in flight on one connection, %d calls per run, %d runs:"
              % (args.concurrency, args.calls, args.runs))
        print("  haplog load  median %8.0f calls/s" % hm)
        print("  h2load       median %8.0f calls/s" % h2m)
        print("  ratio (haplog / h2load): %.2fx (goal: at least 1.0x)" % (hm / h2m))
        os.unlink(body)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
