#!/bin/sh
# Regenerates the README's picture, docs/report-html.png: the HTML report
# of a log a real HAProxy wrote (testdata/real/httplog.log), as headless
# Chromium shows it. Needs Debian's chromium (scripts/test.sh installs it).
set -eu
cd "$(dirname "$0")/.."
cargo build --release -q -p haplog
mkdir -p target/docs
target/release/haplog report -q --utc-offset UTC --html target/docs/report.html testdata/real/httplog.log
python3 crates/cli/tests/browser/cdp.py "file://$PWD/target/docs/report.html" \
    --width 1100 --height 1250 --screenshot docs/report-html.png >/dev/null
echo "wrote docs/report-html.png from target/docs/report.html"
