#!/bin/bash
# Recorder benchmarks, side by side in one run (bare pty relay, ours, Debian's
# tlog-rec, script). Not a test.
#
#   bench/recorder/run.sh BUILD_DIR [SIZE_MB] [ROUNDS]
#
# 1. `cat` of a SIZE_MB (default 200) text file on a pty, through:
#      bare      script -q -c "cat F" /dev/null        (bare pty relay)
#      ours      tlog-rec -o LOG cat F                 (this project, file writer)
#      debian    /usr/bin/tlog-rec -o LOG cat F        (Debian tlog 12)
#      script    script -q -c "cat F" TYPESCRIPT       (script writing a typescript)
#    each under ptyrun (a pty whose output is drained), ROUNDS rounds
#    (default 3) interleaved, the best of each by wall time; wall, user and system CPU and peak RSS of the
#    command tree (cat included in every row), and ratios to "bare".
# 2. keystroke echo latency, 10000 round trips: bare pty (`cat`, the line
#    discipline echoes) vs through tlog-rec (`tlog-rec -o LOG cat`).
#
# Runs in a private mount namespace when root (a tmpfs /run with /run/utmp,
# which Debian's tlog-rec needs), so nothing on the host changes.
set -euo pipefail
B=$(realpath "${1:?usage: run.sh BUILD_DIR [SIZE_MB] [ROUNDS]}")
MB=${2:-200}
ROUNDS=${3:-3}
if [ "$(id -u)" = 0 ] && [ -z "${BENCH_NS:-}" ]; then
    exec env BENCH_NS=1 unshare -m --propagation private "$0" "$@"
fi
if [ -n "${BENCH_NS:-}" ]; then
    mount -t tmpfs tmpfs /run
    install -m 664 -g utmp /dev/null /run/utmp
fi
OURS=$B/recorder/programs/tlog-rec
PTYRUN=$B/bench/recorder/ptyrun
ECHO=$B/bench/recorder/echo_latency
W=$(mktemp -d /tmp/bench-rec.XXXXXX)
trap 'rm -rf "$W"' EXIT
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); file: ${MB} MB of base64 text (100-char lines)"
(base64 -w 100 /dev/urandom | head -c "${MB}M" > "$W/text.txt") || true  # SIGPIPE of base64
BYTES=$(stat -c %s "$W/text.txt")

# Rounds are interleaved (bare, ours, debian, script, bare, ...) so that every
# configuration sees the same machine load; the best wall time of each is kept.
declare -A best
run_once() {  # name cmd...
    local name=$1; shift
    rm -f "$W/log" "$W/typescript"
    local r
    r=$("$PTYRUN" "$@")
    local logsize=0
    [ -f "$W/log" ] && logsize=$(stat -c %s "$W/log")
    [ -f "$W/typescript" ] && logsize=$(stat -c %s "$W/typescript")
    local cur=${best[$name]:-}
    if [ -z "$cur" ] || awk -v a="${r%% *}" -v b="${cur%% *}" 'BEGIN{exit !(a<b)}'; then
        best[$name]="$r $logsize"
    fi
}
names="bare ours"
[ -x /usr/bin/tlog-rec ] && names="$names debian"
names="$names script"
for _ in $(seq "$ROUNDS"); do
    run_once bare   script -q -c "cat $W/text.txt" /dev/null
    run_once ours   "$OURS" -o "$W/log" cat "$W/text.txt"
    [ -x /usr/bin/tlog-rec ] && run_once debian /usr/bin/tlog-rec -o "$W/log" cat "$W/text.txt"
    run_once script script -q -c "cat $W/text.txt" "$W/typescript"
done
for n in $names; do echo "$n ${best[$n]}"; done > "$W/results"

awk -v bytes="$BYTES" '
  BEGIN { printf "%-7s %8s %8s %8s %9s | %6s %6s %6s %6s | %9s %8s %s\n",
          "", "wall_s", "user_s", "sys_s", "rss_kB", "wall", "user", "sys", "rss", "user_ns/B", "log_MB", "status" }
  { n[NR]=$1; w[NR]=$2; u[NR]=$3; s[NR]=$4; r[NR]=$5; out[NR]=$6; st[NR]=$7; lg[NR]=$8 }
  END {
    for (i = 1; i <= NR; i++)
      printf "%-7s %8.2f %8.2f %8.2f %9d | %5.2fx %5.2fx %5.2fx %5.2fx | %9.2f %8.1f %s\n",
        n[i], w[i], u[i], s[i], r[i], w[i]/w[1], (u[1] > 0 ? u[i]/u[1] : 0), (s[1] > 0 ? s[i]/s[1] : 0),
        r[i]/r[1], u[i]*1e9/bytes, lg[i]/1048576, st[i]
  }' "$W/results"
echo "(ratios to 'bare'; CPU and RSS are of the whole command tree, cat included; RSS = largest process)"
ours_w=$(awk '$1=="ours"{print $2}' "$W/results"); bare_w=$(awk '$1=="bare"{print $2}' "$W/results")
deb_w=$(awk '$1=="debian"{print $2}' "$W/results")
[ -n "$deb_w" ] && awk -v o="$ours_w" -v d="$deb_w" 'BEGIN{printf "debian/ours wall: %.2fx\n", d/o}'

echo
echo "# keystroke echo latency, 10000 round trips (microseconds): p50 p99 max"
bare=$("$ECHO" 10000 cat)
ours=$("$ECHO" 10000 "$OURS" -o "$W/echo.log" cat)
echo "bare  $bare"
echo "ours  $ours"
awk -v b="$bare" -v o="$ours" 'BEGIN{split(b,x," "); split(o,y," "); printf "added by the recorder: p50 %.1f us, p99 %.1f us\n", y[1]-x[1], y[2]-x[2]}'
