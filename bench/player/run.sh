#!/usr/bin/env bash
# The player benchmark: a large recording (default 1024 MiB) with heavy
# output, full-screen redraws and resizes, then
#   0. time to the first screen without a cached index, both players;
#   1. libplay: index build throughput and peak memory, cache load, seeks
#      to 10 %, 50 %, 90 % and back to 5 % (bench-player-seek);
#   1b. the index build alone (bench-player-index): decoding only, and the
#      pipelined build (decoder and model threads) with each stage's CPU
#      time (INDEX_MODES adds "sequential");
#   2. tlog-play end to end (cached index): time until the screen at
#      10/50/90/5 % is drawn (`tlog-play -g T` under script);
#   3. Debian's tlog-play -g T, reaching the same points forward (it cannot
#      go back: 5 % is a fresh start too; with -p it does not fast-forward);
#   4. how much faster than Debian's tlog-play reaching 90 % our whole index
#      build is, and decoding alone.
# Usage: bench/player/run.sh [SIZE_MB] (BUILD=build dir, WORK=scratch dir in /tmp)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
size=${1:-1024}
build=${BUILD:-$top/build}
work=${WORK:-/tmp/tlog-play-bench}
timeout=${DEBIAN_TIMEOUT:-1800}
mkdir -p "$work"
log=$work/bench-$size.log
cache=$work/cache
trap 'rm -rf "$work"' EXIT
command -v tlog-play >/dev/null || { echo "Debian tlog is not installed (scripts/deps.sh)"; exit 1; }

echo "== generating a $size MiB recording"
"$build/bench/player/bench-gen-recording" "$log" "$size" | tee "$work/marks"
ls -l "$log"

fmt() { printf '%02d:%02d:%02d.%03d' $(($1/3600000)) $(($1/60000%60)) $(($1/1000%60)) $(($1%1000)); }
declare -A at
while read -r word pct _ ms; do if [ "$word" = mark ]; then at[$pct]=$ms; fi; done < "$work/marks"

echo "== first screen of the uncached recording (our index is then built in the background)"
first_ours=$(python3 "$top/bench/player/goto_time.py" 60 "cpu" \
       env TLOG_PLAY_CACHE_DIR="$cache" "$build/player/tlog-play/tlog-play" -i "$log")
first_deb=$(python3 "$top/bench/player/goto_time.py" 60 "cpu" tlog-play -i "$log")
echo "tlog-play ${first_ours}s, Debian tlog-play ${first_deb}s"
rm -rf "$cache"

echo "== libplay (bench-player-seek)"
rm -rf "$cache"
"$build/bench/player/bench-player-seek" "$log" "$cache" 10:${at[10]} 50:${at[50]} 90:${at[90]} 5:${at[5]} | tee "$work/libplay"

echo "== the index build alone (bench-player-index)"
# shellcheck disable=SC2086
"$build/bench/player/bench-player-index" "$log" decode ${INDEX_MODES:-} pipelined | tee "$work/index"

echo "== end to end: time until the screen at the point is on the terminal"
printf '%-6s %-14s %14s %14s %10s\n' point time tlog-play debian ratio
for pct in 10 50 90 5; do
  t=$(fmt "${at[$pct]}")
  ours=$(python3 "$top/bench/player/goto_time.py" 60 "MARK-$pct-PERCENT" \
         env TLOG_PLAY_CACHE_DIR="$cache" "$build/player/tlog-play/tlog-play" -i "$log" -g "$t")
  deb=$(python3 "$top/bench/player/goto_time.py" "$timeout" "MARK-$pct-PERCENT" tlog-play -i "$log" -g "$t")
  ratio=$(python3 -c "import sys; o,d=sys.argv[1:]; print('%.0fx' % (float(d)/float(o)) if 'timeout' not in (o,d) else '-')" "$ours" "$deb")
  printf '%-6s %-14s %13ss %13ss %10s\n' "$pct%" "$t" "$ours" "$deb" "$ratio"
  if [ "$pct" = 90 ]; then deb90=$deb; fi
done

echo "== Debian's tlog-play reaching 90 % against our whole index build and decoding alone"
# wall: as measured here; stage-bound: the larger stage's CPU time, what two
# free cores would take (the machine may be shared).
python3 - "$deb90" "$work/index" <<'PY'
import re, sys
deb, path = sys.argv[1], sys.argv[2]
if 'timeout' in deb:
    sys.exit('Debian tlog-play timed out: no ratio')
deb = float(deb)
text = open(path).read()
mib = float(re.search(r': (\d+) MiB', text).group(1))
for m in re.finditer(r'^(\S+)\s+([\d.]+) s wall.*stage-bound\s+([\d.]+) MiB/s', text, re.M):
    wall, stage = float(m.group(2)), mib / float(m.group(3))
    print('%-10s wall %7.2f s = %6.1fx Debian\'s %.2f s; stage-bound %7.2f s = %6.1fx'
          % (m.group(1), wall, deb / wall, deb, stage, deb / stage))
PY
