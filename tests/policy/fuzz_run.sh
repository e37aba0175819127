#!/usr/bin/env bash
# Runs a libFuzzer target for TLOG_FUZZ_SECONDS (default 60) from a copy of
# its seed corpus (new inputs stay out of the source tree).
# Usage: fuzz_run.sh FUZZER CORPUS_DIR
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp -r "$2"/. "$tmp/"
"$1" -max_total_time="${TLOG_FUZZ_SECONDS:-60}" -timeout=10 -rss_limit_mb=2048 "$tmp"
