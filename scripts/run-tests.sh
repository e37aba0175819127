#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test suite:
#   1. the normal build: all suites (unit, integration, interop, e2e, fuzz corpus replay)
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build: the unit and stress suites
#   3. a clang libFuzzer build: each fuzz target for a bounded time
#   4. a distribution's build: --buildtype=release with Debian's hardening
#      flags (dpkg-buildflags, hardening=+all), warnings as errors: the unit suite
# Ends with one line "N passed, N failed". Exit status 0 only if all passed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/deps.sh || exit 1
fuzz_seconds=${TLOG_FUZZ_SECONDS:-60}
results=$(mktemp)
trap 'rm -f "$results"' EXIT

run_suite() {  # build-dir label meson-test-args...
  local dir=$1 label=$2; shift 2
  echo "=== $label: meson test $* ($dir)"
  meson test -C "$dir" --print-errorlogs --num-processes 2 "$@"
  local rc=$?
  python3 - "$dir/meson-logs/testlog.json" "$label" >> "$results" <<'PY'
import json, sys
ok = bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("result") in ("OK", "EXPECTEDFAIL"): ok += 1
    elif r.get("result") == "SKIP": bad += 1   # a skipped test hides a missing feature: counted as failed
    else: bad += 1
print(ok, bad, sys.argv[2])
PY
  return $rc
}

status=0
bash scripts/build.sh build || exit 1
run_suite build normal || status=1   # every suite but libFuzzer's, which this build does not have

bash scripts/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false || exit 1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  run_suite build-asan asan+ubsan --suite unit --suite stress || status=1

CC=clang CXX=clang++ bash scripts/build.sh build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false || exit 1
TLOG_FUZZ_SECONDS=$fuzz_seconds run_suite build-fuzz libfuzzer --suite fuzz --timeout-multiplier 4 || status=1

# What packagers build: --buildtype=release (-O3) and Debian's hardening
# flags (_FORTIFY_SOURCE, stack protector, PIE, relro/now) find warnings the
# developers' -O2 build does not. dpkg-buildflags' own -O2 is dropped so that
# -O3 stays in force (it would come last and win). Warnings are errors here
# so CI sees them; packagers' builds leave werror off.
(
  eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
  CFLAGS=${CFLAGS//-O2/} CXXFLAGS=${CXXFLAGS//-O2/}
  export CFLAGS CXXFLAGS CPPFLAGS LDFLAGS
  bash scripts/build.sh build-release --buildtype=release
) || exit 1
run_suite build-release release --suite unit || status=1

passed=$(awk '{s+=$1} END {print s+0}' "$results")
failed=$(awk '{s+=$2} END {print s+0}' "$results")
echo "--- per build:"; cat "$results"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$status" = 0 ]
