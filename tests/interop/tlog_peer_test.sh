#!/usr/bin/env bash
# Interoperability with the reference peer, Debian's tlog 12, both ways:
#  1. sessions recorded by Debian's tlog-rec (driven through tmux, with input
#     logging, UTF-8, wide characters, invalid bytes, resizes, long output,
#     a small payload) decode with our decoder to exactly the bytes Debian's
#     tlog-play writes, and to the keys that were typed;
#  2. recordings made by our encoder play in Debian's tlog-play byte for byte
#     equal to the original output, for several payloads and write sizes.
# Usage: tlog_peer_test.sh CODEC_TOOL
set -uo pipefail
tool=$1
for p in tlog-rec tlog-play tmux script; do
  command -v "$p" >/dev/null || { echo "FAIL: $p is not installed (scripts/deps.sh installs it)"; exit 1; }
done
[ -e /run/utmp ] || { echo "FAIL: /run/utmp is missing: Debian's tlog-rec refuses to start without it"; exit 1; }
work=$(mktemp -d /tmp/tlog-interop.XXXXXX)
sock="tlog-interop-$$"
cleanup() { tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export TERM=xterm-256color
passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

# Plays a recording with Debian's tlog-play under a pty (it needs a terminal)
# and removes the terminal reset it writes when it quits. script's standard
# input stays open and silent: at its end script sends an EOF to the pty, and
# Debian's tlog-play, when that comes before it set up the terminal, spins
# on the terminal's EOF and never finishes (seen on a loaded machine).
peer_play() {  # LOG OUT
  timeout 120 script -qec "tlog-play -r file -i '$1' -g end" /dev/null < <(exec sleep 150 2>/dev/null) \
    > "$2.tmp" 2>&1 || return 1
  python3 - "$2.tmp" "$2" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
for tail in (b"\x1b[0m\x1b[?25h\r\n\x00", b"\x1b[0m\x1b[?25h\r\n", b"\x1b[0m\x1b[?25h"):
    if data.endswith(tail):
        data = data[: -len(tail)]
        break
else:
    sys.exit("tlog-play output does not end with its terminal reset: %r" % data[-32:])
open(sys.argv[2], "wb").write(data)
PY
}

# Waits until the shell shows prompt number N ("R<N>> " as the last line of
# the pane): the previous line was read and its output written. Waiting on
# the prompt, not on time, keeps the test correct on a loaded machine.
wait_prompt() {  # N
  local _ last
  for _ in $(seq 1200); do
    last=$(tmux -L "$sock" capture-pane -p 2>/dev/null | awk 'NF {l = $0} END {print l}')
    [ "$last" = "R$1>" ] && return 0
    sleep 0.1
  done
  return 1
}

# Runs a shell under Debian's tlog-rec in tmux and types the given lines,
# each once the shell is ready for it.
peer_record() {  # LOG PAYLOAD LINE...
  local log=$1 payload=$2 n=1; shift 2
  tmux -L "$sock" kill-server 2>/dev/null
  tmux -L "$sock" new-session -d -x 80 -y 24 \
    "env PROMPT_COMMAND='n=\$((n+1))' PS1='R\$n> ' n=0 tlog-rec -w file -o '$log' --log-input --payload=$payload bash --norc --noprofile"
  wait_prompt $n || { echo "no prompt from the recorded shell"; return 1; }
  for line in "$@"; do
    case "$line" in
      RESIZE) tmux -L "$sock" resize-window -x 100 -y 40; sleep 0.2; continue ;;
      *) tmux -L "$sock" send-keys -l "$line"; tmux -L "$sock" send-keys Enter ;;
    esac
    n=$((n + 1))
    wait_prompt $n || { echo "no prompt $n after: $line"; return 1; }
  done
  tmux -L "$sock" send-keys -l "exit"; tmux -L "$sock" send-keys Enter
  for _ in $(seq 1200); do tmux -L "$sock" has-session 2>/dev/null || break; sleep 0.1; done
  tmux -L "$sock" kill-server 2>/dev/null
  [ -s "$log" ]
}

check_peer_recording() {  # NAME PAYLOAD LINE...
  local name=$1 payload=$2; shift 2
  local log=$work/$name.log
  peer_record "$log" "$payload" "$@" || { bad "$name: tlog-rec wrote nothing"; return; }
  peer_play "$log" "$work/$name.peer" || { bad "$name: tlog-play failed: $(tail -c 300 "$work/$name.peer.tmp")"; return; }
  if ! "$tool" decode "$log" > "$work/$name.ours" 2> "$work/$name.err"; then
    bad "$name: our strict decoder refused the peer's recording: $(cat "$work/$name.err")"; return
  fi
  if cmp -s "$work/$name.peer" "$work/$name.ours"; then
    ok "$name: our decoder gives the same $(stat -c %s "$work/$name.ours") output bytes as tlog-play ($(wc -l < "$log") messages)"
  else
    bad "$name: output differs from tlog-play: $(cmp "$work/$name.peer" "$work/$name.ours" 2>&1)"
  fi
  "$tool" decode --input "$log" > "$work/$name.in" 2>/dev/null
  local typed
  typed=$(printf '%s\r' "$@" | sed 's/RESIZE\r//g')
  if [ "$(cat "$work/$name.in")" = "${typed}exit"$'\r' ]; then
    ok "$name: our decoder gives the typed input"
  else
    bad "$name: input differs: $(od -c "$work/$name.in" | head -5)"
  fi
  if printf '%s\n' "$@" | grep -qx RESIZE; then
    if "$tool" decode --events "$log" 2>/dev/null | grep -q ' w 100x40$'; then
      ok "$name: the resize to 100x40 is decoded"
    else
      bad "$name: resize not found in decoded events"
    fi
  fi
}

# 1. The peer records, we decode.
check_peer_recording mixed 2048 \
  "printf 'plain ascii\\n'" \
  "printf 'euro \\xe2\\x82\\xac wide \\xe4\\xb8\\xad\\xe6\\x96\\x87 emoji \\xf0\\x9f\\x98\\x80\\n'" \
  "printf 'invalid \\xff\\xfe cut \\xe2\\x82 end\\n'" \
  RESIZE \
  "printf '\\033[1;31mred\\033[0m tab\\there \"quotes\" back\\\\slash \\x7f\\x01\\n'" \
  "echo typed: ü ñ 中"
check_peer_recording long 2048 "seq 1 200000" "printf 'done\\n'"
check_peer_recording smallpayload 128 \
  "for i in 1 2 3 4 5 6 7 8; do printf '\\xe4\\xb8\\xad\\xe6\\x96\\x87\\xf0\\x9f\\x98\\x80\\xff x'; done; echo" \
  "seq 1 300"

# 2. We encode, the peer plays.
python3 - "$work/sample.raw" <<'PY'
import random, sys
random.seed(7)
parts = [b"plain ascii line\r\n", "euro \u20ac wide \u4e2d\u6587 emoji \U0001F600\r\n".encode(),
         b"\x1b[1;31mred\x1b[0m \"q\" \\ \t\x7f\x01", b"\xff\xfe", b"\xe2\x82", b"\xc3", b"\x80\x80",
         bytes(range(256)), b"\xf0\x9f\x98"]
out = bytearray()
while len(out) < 600_000:
    out += random.choice(parts)
open(sys.argv[1], "wb").write(bytes(out))
PY
for payload in 64 2048 8192; do
  for chunk in 1 7 4096; do
    [ "$payload" = 64 ] && [ "$chunk" = 4096 ] && continue
    [ "$chunk" = 1 ] && [ "$payload" != 2048 ] && continue
    name=ours-p$payload-c$chunk
    if ! "$tool" encode-raw "$work/sample.raw" "$work/$name.log" --payload "$payload" --chunk "$chunk" --step-ms 1; then
      bad "$name: encode failed"; continue
    fi
    if ! peer_play "$work/$name.log" "$work/$name.peer"; then
      bad "$name: Debian tlog-play refused our recording: $(tail -c 300 "$work/$name.peer.tmp")"; continue
    fi
    if cmp -s "$work/sample.raw" "$work/$name.peer"; then
      ok "$name: Debian tlog-play reproduces the original $(stat -c %s "$work/sample.raw") bytes ($(wc -l < "$work/$name.log") messages)"
    else
      bad "$name: tlog-play output differs from the original: $(cmp "$work/sample.raw" "$work/$name.peer" 2>&1)"
    fi
  done
done
# With the keyed chain too: the new fields must not disturb the peer.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/key.hex"
"$tool" encode-raw "$work/sample.raw" "$work/keyed.log" --key "$work/key.hex" &&
  peer_play "$work/keyed.log" "$work/keyed.peer" && cmp -s "$work/sample.raw" "$work/keyed.peer" &&
  "$tool" verify "$work/keyed.log" --key "$work/key.hex" 2>/dev/null &&
  ok "keyed chain: tlog-play reproduces the bytes and our verifier says intact" ||
  bad "keyed chain recording"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
