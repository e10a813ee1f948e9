#!/usr/bin/env bash
# Runs every check haplog has, the way CI does (.ci/run calls this).
# Installs what the tests need when it is missing: Debian's haproxy package,
# whose /usr/sbin/halog is the reference the differential test runs against
# and whose /usr/sbin/haproxy carries the end-to-end `haplog load` and
# `haplog live --syslog` tests, Debian's logrotate, tmux and chromium for the live view's tests,
# and Python's grpcio, DuckDB and chDB in virtual environments under target/. The fuzz targets
# are checked with nightly.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: haproxy (/usr/sbin/halog, /usr/sbin/haproxy), logrotate
# (the live view's rotation tests rotate with the real one), tmux (the
# pseudo-terminal the terminal view is tested in) and chromium (the browser
# the web view is tested in, driven over its DevTools protocol).
missing=""
if [ ! -x /usr/sbin/halog ] || [ ! -x /usr/sbin/haproxy ]; then missing="$missing haproxy"; fi
if [ ! -x /usr/sbin/logrotate ]; then missing="$missing logrotate"; fi
if ! command -v tmux >/dev/null; then missing="$missing tmux"; fi
if ! command -v chromium >/dev/null; then missing="$missing chromium"; fi
if [ -n "$missing" ]; then
    echo "test.sh: installing Debian's$missing" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi

# Python's grpcio (the independent gRPC server and client of the load
# tests, crates/cli/tests/grpcio/) and Prometheus' own text-format parser.
venv=target/grpc-venv
if ! "$venv/bin/python" -c 'import grpc, grpc_reflection, prometheus_client' 2>/dev/null; then
    echo "test.sh: installing grpcio and prometheus_client into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'grpcio==1.85.3' 'grpcio-reflection==1.85.1' 'prometheus_client==0.26.0'
fi

# DuckDB and chDB (embedded ClickHouse): the engines that read back what
# `haplog export --parquet` writes (crates/cli/tests/integration/export.rs).
export_venv=target/export-venv
if ! "$export_venv/bin/python" -c 'import duckdb, chdb' 2>/dev/null; then
    echo "test.sh: installing duckdb and chdb into $export_venv" >&2
    python3 -m venv "$export_venv"
    "$export_venv/bin/pip" install -q 'duckdb==2.0.1' 'chdb==4.4.0'
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# The log tools alone, without the gRPC load generator (--no-default-features).
cargo clippy -p haplog --no-default-features --all-targets -- -D warnings
# The fuzz targets build with nightly only (cargo-fuzz); checking them
# keeps them compiling against the libraries they drive.
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "test.sh: the fuzz targets need the nightly toolchain (rustup toolchain install nightly)" >&2
    exit 1
fi
cargo +nightly check --manifest-path fuzz/Cargo.toml
# Release mode: the integration tests run the binary thousands of times.
cargo test --release --workspace
