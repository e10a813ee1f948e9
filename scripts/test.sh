#!/usr/bin/env bash
# Runs every check haplog has, the way CI does (.ci/run calls this).
# Installs what the tests need when it is missing: Debian's haproxy package,
# whose /usr/sbin/halog is the reference the differential test runs against
# and whose /usr/sbin/haproxy carries the end-to-end `haplog load` test, and
# Python's grpcio in a virtual environment under target/.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/sbin/halog ] || [ ! -x /usr/sbin/haproxy ]; then
    echo "test.sh: installing Debian's haproxy for /usr/sbin/halog and /usr/sbin/haproxy" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq haproxy >/dev/null
fi

# Python's grpcio (the independent gRPC server and client of the load
# tests, crates/cli/tests/grpcio/) and Prometheus' own text-format parser.
venv=target/grpc-venv
if ! "$venv/bin/python" -c 'import grpc, grpc_reflection, prometheus_client' 2>/dev/null; then
    echo "test.sh: installing grpcio and prometheus_client into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'grpcio==1.85.3' 'grpcio-reflection==1.85.1' 'prometheus_client==0.26.0'
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# Release mode: the integration tests run the binary thousands of times.
cargo test --release --workspace
