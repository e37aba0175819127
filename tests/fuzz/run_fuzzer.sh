#!/usr/bin/env bash
# Runs one libFuzzer target for TLOG_FUZZ_SECONDS (default 60) on a copy of
# its corpus. New inputs that libFuzzer finds stay in the copy; a crash fails
# the test and leaves the reproducer in the build directory.
set -euo pipefail
fuzzer=$1 corpus=$2 dict=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$corpus"/. "$work/"
# libFuzzer exits 77 on a finding by default, which meson reads as "skipped".
args=(-max_total_time="${TLOG_FUZZ_SECONDS:-60}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
      -error_exitcode=1 -timeout_exitcode=1
      -artifact_prefix="$(dirname "$fuzzer")/")
[ -n "$dict" ] && args+=(-dict="$dict")
exec "$fuzzer" "${args[@]}" "$work"
