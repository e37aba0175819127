#!/usr/bin/env python3
"""Seconds until a marker appears in what a player writes to its terminal.
Runs the player under script(1) (Debian's tlog-play needs a tty), reads the
terminal output as it comes and stops the player when MARKER shows up.

  goto_time.py TIMEOUT MARKER COMMAND...
Prints the seconds, or "timeout"."""
import os
import select
import signal
import subprocess
import sys
import time


def main():
    timeout, marker, cmd = float(sys.argv[1]), sys.argv[2].encode(), sys.argv[3:]
    start = time.time()
    p = subprocess.Popen(["script", "-qec", " ".join(cmd), "/dev/null"], stdout=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    tail = b""
    found = None
    fd = p.stdout.fileno()
    while time.time() - start < timeout:
        r, _, _ = select.select([fd], [], [], 0.5)
        if not r:
            if p.poll() is not None:
                break
            continue
        data = os.read(fd, 1 << 20)
        if not data:
            break
        buf = tail + data
        if marker in buf:
            found = time.time() - start
            break
        tail = buf[-len(marker):]
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()
    print("%.3f" % found if found is not None else "timeout")


if __name__ == "__main__":
    main()
