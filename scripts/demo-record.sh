#!/bin/bash
# Main job demo: records a scripted interactive session with our tlog-rec
# into a file, checks its integrity chain, lists it and plays it back with
# our tlog-play.
#   scripts/demo-record.sh [BUILD_DIR] [OUT.log]   (OUT.log is overwritten)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
B=$(realpath "${1:-$top/build}")
OUT=${2:-$(mktemp -d /tmp/tlog-demo.XXXXXX)/demo.log}
REC=$B/recorder/programs/tlog-rec
[ -x "$REC" ] || { echo "build first: scripts/build.sh build" >&2; exit 1; }
rm -f "$OUT"
echo "recording a scripted session into $OUT ..."
python3 - "$REC" "$OUT" <<'PY'
import fcntl, os, pty, select, struct, sys, termios, time
rec, out = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", PS1="demo$ ")
    os.execve(rec, [rec, "--latency=1", "--log-input", "-o", out, "/bin/bash", "--norc", "-i"], env)
def pump(t):
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
        if r:
            try:
                os.read(fd, 65536)
            except OSError:
                return
def type_(s):
    for c in s:
        os.write(fd, c.encode()); pump(0.04)
pump(0.5)
type_("echo 'Hello from a recorded session'\r"); pump(0.3)
type_("printf '\\033[1;32mgreen\\033[0m caf\\303\\251 \\342\\234\\223\\n'\r"); pump(0.3)
type_("ls / | head -5\r"); pump(0.3)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0)); pump(0.2)
type_("stty size\r"); pump(0.3)
type_("exit\r"); pump(1)
os.waitpid(pid, 0)
PY
echo "recorded $(wc -l < "$OUT") message(s)"
PLAY=$B/player/tlog-play/tlog-play
"$PLAY" --verify -i "$OUT"
"$PLAY" --list -i "$OUT"
echo "playing back with tlog-play (4x speed):"
script -qec "'$PLAY' -i '$OUT' -s 4" /dev/null
