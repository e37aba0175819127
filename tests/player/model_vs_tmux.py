#!/usr/bin/env python3
"""The terminal model against a real terminal: tmux replays the same random
streams in a pane of the same size, and the screens (text, wide and
combining characters included) and cursor must agree. tmux follows xterm
closely and is what many auditors watch recordings in; libvterm, compared
in the unit tests, departs from xterm around wide characters.

The alphabet leaves out the few places where terminals themselves disagree
and the model follows xterm (documented in doc/terminal-model.md): an
erase, insert or delete while a wrap is pending (rounds with one are left
out, the render tool tells which), a bare
LF, BS or DECRC while a wrap is pending, DECDWL/DECDHL (tmux has no double
width lines), IND/RI while a wrap is pending, DEC line drawing (tmux's capture shows the ASCII letters),
DECSC/DECRC, leaving an alternate screen that was not entered, and scroll
regions (tmux applies IL/DL outside the region, VT510 and xterm ignore
them there; regions are compared with libvterm in the unit tests), and
autowrap off (where a wide character goes at the edge differs)."""
import os
import random
import subprocess
import sys
import tempfile
import time

RENDER = os.environ["TERM_MODEL_RENDER"]
SOCKET = "model-vs-tmux-%d" % os.getpid()

PIECES = [
    b"hello ", b"world", b"0123456789", b"\r\n", b"\r", b"\t", b"\xe4\xb8\xad", b"\xe6\x96\x87", b"e\xcc\x81",
    b"a\xcc\x88\xcc\x81", b"\xe2\x94\x82", b"\x1b[H", b"\x1b[5;10H", b"\x1b[2;3H", b"\x1b[A", b"\x1b[3B",
    b"\x1b[4C", b"\x1b[2D", b"\x1b[7G", b"\x1b[4d", b"\x1b[J", b"\x1b[1J", b"\x1b[2J", b"\x1b[K", b"\x1b[1K",
    b"\x1b[2K", b"\x1b[X", b"\x1b[4X", b"\x1b[@", b"\x1b[3@", b"\x1b[P", b"\x1b[2P", b"\x1b[L", b"\x1b[2L",
    b"\x1b[M", b"\x1b[2M", b"\x1b[S", b"\x1b[2T", b"\x1b[1m", b"\x1b[4m", b"\x1b[7;31;42m",
    b"\x1b[0m", b"\x1b[?1049h", b"\x1b[?1049l", b"\x1b[4h", b"\x1b[4l", b"\x1b[6n", b"\x1b]0;title\x07",
]


def tmux(*args, check=True):
    return subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args], check=check, capture_output=True,
                          text=True, timeout=20).stdout


def tmux_screen(path, rows, cols):
    tmux("kill-session", "-t", "m", check=False)
    tmux("new-session", "-d", "-s", "m", "-x", str(cols), "-y", str(rows),
         "stty raw -echo; cat '%s'; tmux -L %s wait-for -S shown; sleep 600" % (path, SOCKET))
    subprocess.run(["tmux", "-L", SOCKET, "wait-for", "shown"], check=True, timeout=20)
    text = tmux("capture-pane", "-p", "-t", "m").split("\n")[:rows]
    text += [""] * (rows - len(text))
    x, y = tmux("display", "-p", "-t", "m", "#{cursor_x},#{cursor_y}").strip().split(",")
    # tmux keeps a pending wrap as the cursor one past the last column.
    return [t.rstrip(" ") for t in text], (int(y), min(int(x), cols - 1))


def model_screen(pieces, rows, cols):
    out = subprocess.run([RENDER, str(rows), str(cols)], input=b"\0".join(pieces), check=True, capture_output=True,
                         timeout=20).stdout.decode()
    lines = out.split("\n")
    if lines[0] == "ambiguous":
        return None
    r, c = lines[rows].split()[1].split(",")
    return lines[:rows], (int(r), int(c))


def main():
    rounds = int(os.environ.get("MODEL_VS_TMUX_ROUNDS", "150"))
    rng = random.Random(2026)
    failures = ambiguous = 0
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "stream")
        try:
            # A session of its own keeps the server up between rounds.
            tmux("new-session", "-d", "-s", "keep", "sleep 3600")
            for n in range(rounds):
                rows, cols = rng.randint(4, 14), rng.randint(8, 40)
                pieces, alt = [], False
                for _ in range(rng.randint(1, 40)):
                    piece = rng.choice(PIECES)
                    # Leaving the alternate screen restores the cursor in
                    # xterm even when it was not entered; tmux does not.
                    if piece == b"\x1b[?1049" + (b"h" if alt else b"l"):
                        continue  # entered twice: xterm clears it again, tmux does not
                    if piece.startswith(b"\x1b[?1049"):
                        alt = piece.endswith(b"h")
                    pieces.append(piece)
                stream = b"".join(pieces)
                ours = model_screen(pieces, rows, cols)
                if ours is None:
                    ambiguous += 1
                    continue
                with open(path, "wb") as f:
                    f.write(stream)
                theirs = tmux_screen(path, rows, cols)
                if theirs != ours:
                    failures += 1
                    print("round %d (%dx%d): stream %r" % (n, rows, cols, stream))
                    for i, (a, b) in enumerate(zip(theirs[0], ours[0])):
                        if a != b:
                            print("  row %d: tmux %r model %r" % (i, a, b))
                    if theirs[1] != ours[1]:
                        print("  cursor: tmux %s model %s" % (theirs[1], ours[1]))
                    if failures >= 5:
                        break
        finally:
            tmux("kill-server", check=False)
    print("%d rounds, %d differ, %d left out (an edit while a wrap was pending), %.1f s" %
          (n + 1, failures, ambiguous, time.time() - start))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
