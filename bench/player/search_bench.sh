#!/usr/bin/env bash
# The search benchmark: `tlog-play --search` over a generated recording
# (bench-gen-recording, default 256 MiB) against the brute-force style
# reference `tlog-play --export text FILE | grep -c PATTERN`. The index is
# built (and cached) first, so both sides read a cached index.
# Prints hits, wall and CPU seconds, and hits/s for both; then
# bench-player-search: search_screen against a brute-force reference with
# the same rule (every row of every event rendered), time to first and all hits.
# The text export renders only the final screen of each recording, so its
# count is no reference for the hits, only for the cost of one pass.
# Usage: bench/player/search_bench.sh [SIZE_MB] [PATTERN]
#   (BUILD=build dir, WORK=scratch dir in /tmp)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
size=${1:-256}
pattern=${2:-'log line [0-9]+7 '}
build=${BUILD:-$top/build}
work=${WORK:-/tmp/tlog-play-search-bench}
play=$build/player/tlog-play/tlog-play
mkdir -p "$work"
log=$work/bench-$size.log
trap 'rm -rf "$work"' EXIT
export TLOG_PLAY_CACHE_DIR=$work/cache

"$build/bench/player/bench-gen-recording" "$log" "$size" >/dev/null
ls -l "$log"
"$play" --search 'no such text anywhere' -i "$log" >/dev/null || true  # index, cached

run() {  # LABEL COMMAND...: hits, wall s, CPU s
    local label=$1
    shift
    local t0 c0 t1 c1 hits
    t0=$(date +%s.%N)
    c0=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
    hits=$(bash -c "$*")
    t1=$(date +%s.%N)
    c1=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
    local wall cpu
    wall=$(echo "$t1 - $t0" | bc -l)
    cpu=$(echo "($c1 - $c0) / $(getconf CLK_TCK)" | bc -l)
    printf '%-28s hits %8d  wall %7.2f s  cpu %7.2f s  %10.0f hits/s\n' "$label" "$hits" "$wall" "$cpu" \
        "$(echo "$hits / $wall" | bc -l)"
}
run "tlog-play --search" "'$play' --search '$pattern' -i '$log' | wc -l"
run "--export text | grep -cE" "'$play' --export text -i '$log' | grep -cE '$pattern' || true"
# libplay's search against our own brute force (the same rule, every row of
# every event rendered and compared), in one process.
"$build/bench/player/bench-player-search" "$log" "$pattern"
