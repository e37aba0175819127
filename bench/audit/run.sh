#!/usr/bin/env bash
# tlog-audit against ausearch --format csv and ausearch -i over the same
# large audit.log, each pinned to CPU 0 (taskset -c 0) and timed as a whole
# process by /usr/bin/time: CPU time (user + system: the one-core figure),
# wall time, peak RSS, events per second of CPU. tlog-audit and ausearch
# --format csv (and BEFORE, another build of tlog-audit) run in turn,
# RUNS times each after one warm-up run, and the medians are printed with
# the median of the run-by-run CPU ratios (pairs: a drift in the machine's
# speed hits both sides). ausearch -i is slow (it looks names up, for
# minutes over a large log): it runs once, over IN_COPIES copies, with
# tlog-audit over the same copies right before it.
# Usage: run.sh TLOG_AUDIT SAMPLE_LOG [COPIES]  (SAMPLE_LOG: any real
# audit.log, repeated COPIES times, default 100). Environment: RUNS
# (default 9), IN_COPIES (default 10; 0 leaves ausearch -i out),
# BEFORE=OTHER_TLOG_AUDIT.
set -euo pipefail
tool=$1 sample=$2 copies=${3:-100}
runs=${RUNS:-9} in_copies=${IN_COPIES:-10}
work=$(mktemp -d /tmp/audit-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
repeat() { for _ in $(seq "$2"); do cat "$1"; done; }
repeat "$sample" "$copies" > "$work/big.log"
events=$("$tool" "$work/big.log" | wc -l)
echo "$(du -m "$work/big.log" | cut -f1) MB, $events events; $runs runs each, medians"

# One timed run: appends "cpu wall rss_kb" to $work/NAME.
timed() {
  local name=$1; shift
  /usr/bin/time -f "%U %S %e %M" -o "$work/t" taskset -c 0 "$@" > /dev/null 2> /dev/null
  awk '{ printf "%.3f %.3f %d\n", $1 + $2, $3, $4 }' "$work/t" >> "$work/$name"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
report() {
  local name=$1 n=$2 cpu wall rss
  cpu=$(cut -d' ' -f1 "$work/$name" | median)
  wall=$(cut -d' ' -f2 "$work/$name" | median)
  rss=$(cut -d' ' -f3 "$work/$name" | median)
  awk -v n="$name" -v c="$cpu" -v w="$wall" -v r="$rss" -v e="$n" \
    'BEGIN { printf "%-26s cpu %7.3f s  wall %7.3f s  %9.0f events/s (CPU)  peak RSS %6.1f MiB\n", n, c, w, (c > 0 ? e / c : 0), r / 1024 }'
}
ratio() {  # median of the run-by-run CPU ratios A/B
  paste -d' ' <(cut -d' ' -f1 "$work/$1") <(cut -d' ' -f1 "$work/$2") |
    awk '{ print ($2 > 0 ? $1 / $2 : 0) }' | median | awk '{ printf "%.3f\n", $1 }'
}

timed warmup "$tool" "$work/big.log"
timed warmup ausearch -if "$work/big.log" --format csv
[ -n "${BEFORE:-}" ] && timed warmup "$BEFORE" "$work/big.log"
for _ in $(seq "$runs"); do
  timed tlog-audit "$tool" "$work/big.log"
  timed ausearch-csv ausearch -if "$work/big.log" --format csv
  [ -n "${BEFORE:-}" ] && timed before "$BEFORE" "$work/big.log"
done
report tlog-audit "$events"
report ausearch-csv "$events"
echo "CPU ratio tlog-audit / ausearch --format csv: $(ratio tlog-audit ausearch-csv)"
if [ -n "${BEFORE:-}" ]; then
  report before "$events"
  echo "CPU ratio tlog-audit / before: $(ratio tlog-audit before)"
fi

if [ "$in_copies" -gt 0 ]; then
  repeat "$sample" "$in_copies" > "$work/small.log"
  small=$("$tool" "$work/small.log" | wc -l)
  echo "ausearch -i: $in_copies copies, $small events, one run"
  timed tlog-audit-small "$tool" "$work/small.log"
  timed ausearch-i ausearch -if "$work/small.log" -i
  report tlog-audit-small "$small"
  report ausearch-i "$small"
  echo "CPU ratio tlog-audit / ausearch -i: $(ratio tlog-audit-small ausearch-i)"
fi
