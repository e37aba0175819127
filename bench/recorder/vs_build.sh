#!/bin/bash
# This build's tlog-rec against another build of it (e.g. the tree before a
# change), side by side in one run, with input logged (--log-input), so that
# the input path (the terminal mode looked at on every read of keys) is
# measured. Not a test.
#
#   bench/recorder/vs_build.sh BUILD_DIR OTHER_TLOG_REC [SIZE_MB] [ROUNDS]
#
# 1. `cat` of SIZE_MB (default 50) of base64 text on a pty (ptyrun), through
#    each recorder, ROUNDS (default 5) rounds interleaved (other, ours, ...):
#    median wall, user and system CPU of the command tree.
# 2. keystroke echo latency, 10000 round trips through `tlog-rec --log-input
#    -o LOG cat`, ROUNDS rounds interleaved: median of the rounds' p50 and p99.
set -euo pipefail
B=$(realpath "${1:?usage: vs_build.sh BUILD_DIR OTHER_TLOG_REC [SIZE_MB] [ROUNDS]}")
OTHER=$(realpath "${2:?usage: vs_build.sh BUILD_DIR OTHER_TLOG_REC [SIZE_MB] [ROUNDS]}")
MB=${3:-50}
ROUNDS=${4:-5}
OURS=$B/recorder/programs/tlog-rec
PTYRUN=$B/bench/recorder/ptyrun
ECHO=$B/bench/recorder/echo_latency
W=$(mktemp -d /tmp/bench-vs.XXXXXX)
trap 'rm -rf "$W"' EXIT
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
(base64 -w 100 /dev/urandom | head -c "${MB}M" > "$W/text.txt") || true  # SIGPIPE of base64
for _ in $(seq "$ROUNDS"); do
    for n in other ours; do
        rec=$OTHER
        [ $n = ours ] && rec=$OURS
        rm -f "$W/log"
        echo "$n $("$PTYRUN" "$rec" --log-input -o "$W/log" cat "$W/text.txt")" >> "$W/cat"
        rm -f "$W/log"
        echo "$n $("$ECHO" 10000 "$rec" --log-input -o "$W/log" cat)" >> "$W/echo"
    done
done
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
echo "# cat of ${MB} MB, median of $ROUNDS: wall_s user_s sys_s"
for n in other ours; do
    printf '%-6s %s %s %s\n' $n "$(awk -v n=$n '$1==n{print $2}' "$W/cat" | median)" \
        "$(awk -v n=$n '$1==n{print $3}' "$W/cat" | median)" "$(awk -v n=$n '$1==n{print $4}' "$W/cat" | median)"
done
echo "# echo latency, 10000 round trips, median of $ROUNDS rounds (microseconds): p50 p99"
for n in other ours; do
    printf '%-6s %s %s\n' $n "$(awk -v n=$n '$1==n{print $2}' "$W/echo" | median)" \
        "$(awk -v n=$n '$1==n{print $3}' "$W/echo" | median)"
done
echo "# raw rounds"
cat "$W/cat" "$W/echo"
