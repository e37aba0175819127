#!/usr/bin/env bash
# tlog-audit against ausearch -i and ausearch --format csv over the same
# large audit.log, one after the other in one run, each pinned to CPU 0:
# wall and user time, events/s by user CPU time, max RSS. tlog-audit runs
# twice: with its own parser and with libauparse assembling the events
# (--libauparse-events, the reference its tests compare it with).
# Usage: run.sh TLOG_AUDIT SAMPLE_LOG [COPIES]  (SAMPLE_LOG: any real audit.log,
# repeated COPIES times, default 200). BEFORE=OTHER_TLOG_AUDIT adds a run
# of another build (the previous version) for a before/after comparison.
set -euo pipefail
tool=$1 sample=$2 copies=${3:-200}
big=$(mktemp /tmp/audit-bench.XXXXXX)
times=$(mktemp /tmp/audit-bench-time.XXXXXX)
trap 'rm -f "$big" "$times"' EXIT
for _ in $(seq "$copies"); do cat "$sample"; done > "$big"
events=$("$tool" "$big" | wc -l)
echo "$(du -m "$big" | cut -f1) MB, $events events"
run() {
  local name=$1; shift
  /usr/bin/time -f "%e %U %M" -o "$times" taskset -c 0 "$@" > /dev/null
  read -r wall user rss < "$times"
  awk -v n="$name" -v w="$wall" -v u="$user" -v r="$rss" -v e="$events" \
    'BEGIN { printf "%-34s wall %6.2f s  user %6.2f s  %9.0f events/s (user CPU)  max RSS %6.1f MB\n", n, w, u, (u > 0 ? e / u : 0), r / 1024 }'
}
run "tlog-audit" "$tool" "$big"
run "tlog-audit --libauparse-events" "$tool" --libauparse-events "$big"
[ -n "${BEFORE:-}" ] && run "tlog-audit (before: $BEFORE)" "$BEFORE" "$big"
run "ausearch -i" ausearch -if "$big" -i
run "ausearch --format csv" ausearch -if "$big" --format csv
