"""tlog-play against the reference peers: Debian's tlog (tlog-rec records,
we play; we write, its tlog-play plays) and asciinema (our asciicast export
shows the same final screen as our player).
Usage: interop_test.py TEST (TLOG_PLAY and CODEC_TOOL in the environment)."""
import os
import subprocess
import sys
import time

from tlogtest.player import Script, Tmux, fail, tmpdir
from tlogtest.terminal import under_script

TLOG_PLAY = os.environ["TLOG_PLAY"]


def need(prog):
    if subprocess.run(["sh", "-c", "command -v " + prog], capture_output=True).returncode != 0:
        fail("%s is not installed (scripts/deps.sh installs it)" % prog)


def ensure_utmp():
    # Debian's tlog-rec refuses to start without it (RUNBOOK.md).
    if not os.path.exists("/run/utmp"):
        subprocess.run(["install", "-m", "664", "-g", "utmp", "/dev/null", "/run/utmp"], check=True)


def test_debian_recording():
    need("tlog-rec")
    ensure_utmp()
    d = tmpdir()
    log = os.path.join(d, "deb.log")
    cmd = os.path.join(d, "cmd.sh")
    with open(cmd, "w") as f:
        f.write("#!/bin/sh\nprintf 'interop-line-1\\n'; sleep 0.3; printf '\\033[1;32mgreen\\033[0m done\\n'\n")
    os.chmod(cmd, 0o755)
    subprocess.run(["script", "-qec", "tlog-rec -w file -o %s %s" % (log, cmd), "/dev/null"], check=True,
                   stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    text = subprocess.run([TLOG_PLAY, "--no-cache", "-i", log, "--export", "text"], capture_output=True, text=True,
                          check=True).stdout
    if "interop-line-1\ngreen done" not in text:
        fail("Debian tlog-rec's recording did not render: %r" % text)
    listing = subprocess.run([TLOG_PLAY, "-i", log, "--list"], capture_output=True, text=True, check=True).stdout
    if "unprotected" not in listing or "root" not in listing:
        fail("--list of a Debian recording: %r" % listing)


def debian_play(d, log):
    ts = os.path.join(d, "typescript")
    status, _ = under_script("tlog-play -i %s" % log, ts, timeout=120)
    if status != 0:
        fail("Debian tlog-play -i %s: exit %d" % (log, status))
    return open(ts, "rb").read()


def test_debian_plays_ours():
    need("tlog-play")
    d = tmpdir()
    # Our codec, with the integrity chain fields Debian's reader ignores.
    rec = Script("80x24").out("ours-line-1\r\n").wait(200).out("\x1b[1mbold\x1b[0m ours-line-2\r\n").write(d)
    out = debian_play(d, rec)
    if b"ours-line-1" not in out or b"ours-line-2" not in out:
        fail("Debian tlog-play did not play our recording: %r" % out[-300:])
    # An imported asciicast.
    cast = os.path.join(d, "in.cast")
    with open(cast, "w") as f:
        f.write('{"version": 2, "width": 80, "height": 24}\n[0.1, "o", "imported-1\\r\\n"]\n[0.3, "o", "imported-2\\r\\n"]\n')
    log = os.path.join(d, "imported.log")
    subprocess.run([TLOG_PLAY, "--import", cast, "-o", log, "--rec-id", "imp-1"], check=True, capture_output=True)
    out = debian_play(d, log)
    if b"imported-1" not in out or b"imported-2" not in out:
        fail("Debian tlog-play did not play our import: %r" % out[-300:])


def screen_rows(s):
    return [r.rstrip() for r in s.splitlines()]


def test_asciinema_same_screen():
    need("asciinema")
    d = tmpdir()
    s = Script("80x24")
    s.out("$ ls\r\nfile-a  file-b\r\n")
    s.wait(100).out("\x1b[?1049h\x1b[H\x1b[2J\x1b[1;1H\x1b[7m top bar \x1b[0m\x1b[5;10Hcentre \xe4\xb8\xad\xe6\x96\x87 wide")
    s.wait(100).out("\x1b[2;20r\x1b[20;1H\r\nscrolled 1\r\nscrolled 2\x1b[r")
    s.wait(100).out("\x1b[?1049l$ echo done\r\ndone\r\n$ END-MARK")
    s.wait(4000).out(" ")
    rec = s.write(d)
    cast = os.path.join(d, "out.cast")
    subprocess.run([TLOG_PLAY, "-i", rec, "--export", "asciicast", "-o", cast], check=True)
    screens = []
    for cmd in ("%s -i %s" % (TLOG_PLAY, rec), "asciinema play %s; sleep 5" % cast):
        t = Tmux(80, 24)
        t.start(cmd, env={"TLOG_PLAY_CACHE_DIR": os.path.join(d, "cache")})
        try:
            t.wait_for("END-MARK", 10)
            time.sleep(0.3)
            screens.append(screen_rows(t.screen()))
        finally:
            t.kill()
    ours, theirs = screens
    if ours != theirs:
        fail("final screens differ:\n--- tlog-play\n%s\n--- asciinema\n%s" % ("\n".join(ours), "\n".join(theirs)))
    if "file-a  file-b" not in ours or "done" not in ours:
        fail("unexpected final screen:\n" + "\n".join(ours))


TESTS = {name[5:]: fn for name, fn in globals().items() if name.startswith("test_")}

if __name__ == "__main__":
    TESTS[sys.argv[1].replace("-", "_")]()
    print("ok")
