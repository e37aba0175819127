#!/usr/bin/env bash
# tlog-audit against ausearch -i and ausearch --format csv over the same
# large audit.log, one after the other in one run: events/s and max RSS.
# Usage: run.sh TLOG_AUDIT SAMPLE_LOG [COPIES]  (SAMPLE_LOG: any real audit.log,
# repeated COPIES times, default 200)
set -euo pipefail
tool=$1 sample=$2 copies=${3:-200}
big=$(mktemp /tmp/audit-bench.XXXXXX)
trap 'rm -f "$big"' EXIT
for _ in $(seq "$copies"); do cat "$sample"; done > "$big"
events=$("$tool" "$big" | wc -l)
echo "$(du -m "$big" | cut -f1) MB, $events events"
run() {
  local name=$1; shift
  /usr/bin/time -f "%e %U %M" -o /tmp/audit-bench.time taskset -c 0 "$@" > /dev/null
  read -r wall user rss < /tmp/audit-bench.time
  awk -v n="$name" -v w="$wall" -v u="$user" -v r="$rss" -v e="$events" \
    'BEGIN { printf "%-22s wall %6.2f s  user %6.2f s  %9.0f events/s (wall)  max RSS %6.1f MB\n", n, w, u, e / w, r / 1024 }'
}
run "tlog-audit" "$tool" "$big"
run "ausearch -i" ausearch -if "$big" -i
run "ausearch --format csv" ausearch -if "$big" --format csv
