#!/usr/bin/env bash
# clang-tidy with the project's .clang-tidy over the product's sources (not
# tests or benchmarks), from the build's compile_commands.json. Any finding
# fails (WarningsAsErrors). Usage: tidy_check.sh SOURCE_ROOT BUILD_ROOT
set -uo pipefail
top=$1 build=$2
tidy=$(command -v run-clang-tidy-14 || command -v run-clang-tidy) ||
  { echo "FAIL: run-clang-tidy is not installed (scripts/deps.sh: clang-tidy)"; exit 1; }
[ -f "$build/compile_commands.json" ] || { echo "FAIL: no $build/compile_commands.json"; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$tidy" -p "$build" -j "$(nproc)" -quiet "$top/(librec|recorder|policy|nss_tlog|pam_tlog|player|server|forward)/" >"$out" 2>&1
rc=$?
findings=$(sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -E ': (warning|error): ' | sort -u)
if [ -n "$findings" ] || [ "$rc" != 0 ]; then
  echo "$findings"
  [ -n "$findings" ] || tail -n 30 "$out"
  echo "FAIL: clang-tidy: $(printf '%s\n' "$findings" | grep -c . ) finding(s), exit $rc"
  exit 1
fi
echo "clang-tidy: no findings"
