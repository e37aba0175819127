"""tlog-play on a pseudo-terminal: what reaches the auditor's terminal from
hostile recordings, terminal answers never taken for keys, the terminal
restored on every exit, no busy loop without a keyboard.
Usage: pty_test.py TEST (TLOG_PLAY and CODEC_TOOL in the environment)."""
import os
import re
import signal
import subprocess
import sys
import termios
import time

from tlogtest.player import PtyPlayer, Script, encode_raw, fail, sequences, tmpdir

# What the player itself may send: cursor positioning, SGR, erase, cursor
# visibility, its alternate screen, a size request, the reset on exit.
ALLOWED = [
    rb"\x1b\[\d*(;\d*)?H",
    rb"\x1b\[[\d;]*m",
    rb"\x1b\[K",
    rb"\x1b\[2J",
    rb"\x1b\[\?25[hl]",
    rb"\x1b\[8;\d+;\d+t",
    rb"\x1b\[r",
    rb"\x1b\(B",
    rb"\x1b[78]",  # cursor saved and restored around the scroll-region reset on exit
]

HOSTILE = [
    b"\x1b[6n",                 # DSR: cursor position report
    b"\x1b[5n",                 # DSR: status report
    b"\x1b[c", b"\x1b[>c", b"\x1b[=c",  # device attributes
    b"\x1bP$qm\x1b\\",          # DECRQSS
    b"\x1bP+q544e\x1b\\",       # XTGETTCAP
    b"\x1b]52;c;ZXZpbA==\x07",  # clipboard write
    b"\x1b]52;c;?\x07",         # clipboard read
    b"\x1b]0;pwned\x07",        # title set
    b"\x1b[21t", b"\x1b[20t",   # title / icon label report
    b"\x1b[14t", b"\x1b[18t", b"\x1b[13t",  # size and position reports
    b"\x1b]10;?\x07", b"\x1b]11;?\x1b\\", b"\x1b]4;1;?\x07",  # colour queries
    b"\x1b[>0q",                # XTVERSION
    b"\x1bZ",                   # DECID
    b"\x1b[?1000h\x1b[?1006h",  # mouse reporting
    b"\x1b[?2004h",             # bracketed paste
    b"\x1b[5i",                 # media copy (printer)
    b"\x1b]50;?\x07",           # font query
    b"\x1b[2h",                 # keyboard action mode (locks the keyboard)
    b"\x1b[?1h\x1b=",           # application cursor and keypad
    b"\xc2\x9b6n",              # C1 CSI written as UTF-8
    b"\x9b6n",                  # C1 CSI as a raw byte
    b"\x1b]8;;http://evil/\x07link\x1b]8;;\x07",  # hyperlink
    b"\x1b[?1049h",             # its own alternate screen
]


def check_clean(out):
    for seq in sequences(out):
        if not any(re.fullmatch(p, seq) for p in ALLOWED):
            fail("a sequence reached the terminal: %r" % seq)
    for bad in (b"\x1b]", b"\x1bP", b"\x9b", b"\xc2\x9b", b"pwned", b"ZXZpbA"):
        if bad in out:
            fail("%r reached the terminal" % bad)


def test_hostile():
    d = tmpdir()
    s = Script("60x10").out("SAFE-TEXT-1\r\n")
    for i, h in enumerate(HOSTILE):
        s.wait(10).out(b"[" + str(i).encode() + b"]" + h)
    s.wait(10).out("\r\nSAFE-TEXT-2\r\n")
    rec = s.write(d)
    # Played normally, fast, after a seek, and as an export of rendered text.
    for args in (["-i", rec], ["-i", rec, "-s", "16"], ["-i", rec, "-g", "00:00:00.150"]):
        p = PtyPlayer(args + ["--exit-at-end"], rows=10, cols=60)
        rc = p.wait(10)
        if rc is None:
            fail("player did not finish: %r" % args)
        if rc != 0:
            fail("exit status %d: %s" % (rc, p.stderr()))
        if b"SAFE-TEXT-2" not in p.out:
            fail("the recording's text was not drawn")
        check_clean(p.out)
        p.close()
    # The status line quotes the recording's user, host and id, and the
    # input overlay its keystrokes: all of them the recorded user's bytes.
    import json
    s = Script("60x10").out("SAFE-TEXT-1\r\n").wait(10)
    for h in HOSTILE:
        # Shown as text (^[]0;...), the words would be on the screen: the
        # check below looks for them to catch sequences that took effect.
        s.inp(h.replace(b"pwned", b"title").replace(b"ZXZpbA", b"data")).wait(10)
    s.out("\r\nSAFE-TEXT-2\r\n")
    hostile = s.write(d, "fields.log")
    lines = []
    for line in open(hostile):
        m = json.loads(line)
        m["user"], m["host"], m["rec"] = "u\x1b]2;user\x07x", "h\x9b2Jy", "r\x1b[6nz"
        lines.append(json.dumps(m) + "\n")
    with open(hostile, "w") as f:
        f.writelines(lines)
    p = PtyPlayer(["-i", hostile, "--lax", "--status", "--show-input", "-p", "-g", "end"], rows=10, cols=200)
    p.pump(1.5)
    p.send("q")
    if p.wait(10) != 0:
        fail("hostile fields: %r" % p.stderr())
    if b"u?]2;user?x@h??2Jy  rec r?[6nz" not in p.out or b"input: " not in p.out:
        fail("the status and input lines were not drawn: %r" % p.out[-600:])
    check_clean(p.out)
    p.close()
    out = subprocess.run([os.environ["TLOG_PLAY"], "-i", rec, "--export", "text"], capture_output=True, check=True).stdout
    if b"\x1b" in out or b"\x9b" in out:
        fail("escape sequences in the text export")
    if b"SAFE-TEXT-2" not in out:
        fail("text export lacks the text")


def long_recording(d, seconds=60):
    s = Script("80x24")
    for t in range(seconds + 1):
        s.out("\x1b[H\x1b[2JT=%d\r\n" % t).wait(1000)
    return s.write(d)


def test_answers_not_keys():
    d = tmpdir()
    rec = long_recording(d)
    p = PtyPlayer(["-i", rec, "-p"])
    p.pump(0.7)
    if b"T=0" not in p.out:
        fail("paused player did not draw the start")
    p.out = b""
    # Terminal answers full of command letters: q, p, G, digits, '/', '.'.
    answers = [b"\x1b[12;40R", b"\x1b[?64;1;2;6;9;15c", b"\x1b[>41;354;0c", b"\x1bP1$r0;1m\x1b\\",
               b"\x1b]52;c;cXVpdCBHIDUgcA==\x07", b"\x1b]l q G 5 p / .\x1b\\", b"\x1b]11;rgb:0/0/0\x07",
               b"\x1b[8;24;80t", b"\x1b[I", b"\x1b[O"]
    for a in answers:
        p.send(a)
        p.pump(0.05)
    p.pump(0.6)
    if p.proc.poll() is not None:
        fail("a terminal answer made the player quit")
    if b"T=" in p.out:
        fail("a terminal answer moved playback: %r" % p.out)
    p.send("q")
    rc = p.wait(3)
    if rc != 0:
        fail("q did not quit (status %r)" % rc)
    p.close()


def test_signals():
    d = tmpdir()
    rec = long_recording(d, 20)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        p = PtyPlayer(["-i", rec])
        p.pump(0.5)
        before = termios.tcgetattr(p.slave)
        if before[3] & termios.ECHO:
            fail("the player did not put the terminal in raw mode")
        p.proc.send_signal(sig)
        rc = p.wait(3)
        if rc is None:
            fail("still running after signal %d" % sig)
        after = termios.tcgetattr(p.slave)
        if not (after[3] & termios.ECHO and after[3] & termios.ICANON):
            fail("terminal modes not restored after signal %d" % sig)
        if b"\x1b7\x1b[r\x1b8\x1b[0m\x1b(B\x0f\x1b[?25h" not in p.out[-64:]:
            fail("screen not restored after signal %d: %r" % (sig, p.out[-64:]))
        p.close()


def test_suspend():
    # SIGTSTP (a job-control stop): the terminal is given back while the
    # player is stopped, and taken again (and redrawn) when it continues.
    d = tmpdir()
    rec = long_recording(d, 20)
    p = PtyPlayer(["-i", rec])
    p.pump(0.5)
    p.proc.send_signal(signal.SIGTSTP)
    p.pump(0.5)
    with open("/proc/%d/stat" % p.proc.pid) as f:
        state = f.read().split(")")[1].split()[0]
    if state != "T":
        fail("not stopped after SIGTSTP (state %s)" % state)
    modes = termios.tcgetattr(p.slave)
    if not (modes[3] & termios.ECHO and modes[3] & termios.ICANON):
        fail("terminal modes not restored while stopped")
    if b"\x1b[?25h" not in p.out[-64:]:
        fail("cursor not restored while stopped")
    p.out = b""
    p.proc.send_signal(signal.SIGCONT)
    p.pump(0.7)
    if termios.tcgetattr(p.slave)[3] & termios.ECHO:
        fail("raw mode not taken again after SIGCONT")
    if b"T=" not in p.out:
        fail("screen not redrawn after SIGCONT")
    p.send("q")
    if p.wait(3) != 0:
        fail("q after SIGCONT")
    p.close()


def test_keyboard_quit():
    d = tmpdir()
    rec = long_recording(d, 20)
    p = PtyPlayer(["-i", rec])
    p.pump(0.3)
    p.send(b"\x03")  # ^C
    if p.wait(3) is None:
        fail("^C did not stop the player")
    after = termios.tcgetattr(p.slave)
    if not after[3] & termios.ECHO:
        fail("terminal modes not restored after ^C")
    p.close()


def test_persist():
    d = tmpdir()
    s = Script("80x24").out("start\r\n").wait(1500).out("end\r\n")
    rec = s.write(d)
    p = PtyPlayer(["-i", rec, "--persist"])
    p.pump(0.3)
    p.send(b"q\x03")
    p.pump(0.5)
    if p.proc.poll() is not None:
        fail("--persist: q or ^C stopped the player")
    rc = p.wait(5)
    if rc != 0:
        fail("--persist: did not end at the end of the recording (%r)" % rc)
    p.close()


def test_no_spin():
    # No keyboard (stdin /dev/null, or a pipe at EOF), a long pause in the
    # recording: the player must sleep, not loop.
    d = tmpdir()
    rec = Script("80x24").out("a\r\n").wait(2500).out("b\r\n").write(d)
    for kind in ("devnull", "eof-pipe", "paused-then-eof"):
        if kind == "devnull":
            stdin = open(os.devnull, "rb")
        else:
            r, w = os.pipe()
            os.close(w)
            stdin = os.fdopen(r, "rb")
        args = ["-i", rec]
        p = PtyPlayer(args, stdin=stdin)
        stdin.close()
        rc = p.wait(8)
        if rc is None:
            fail("%s: player did not finish" % kind)
        cpu = p.rusage.ru_utime + p.rusage.ru_stime
        if cpu > 0.5:
            fail("%s: %.2f s of CPU for a 2.5 s pause: busy loop" % (kind, cpu))
        if b"b" not in p.out:
            fail("%s: did not play to the end" % kind)
        p.close()
    # A keyboard that sends no key: tlog's exit at the end (the end is a
    # state to seek back from only once a key was pressed).
    p = PtyPlayer(["-i", rec])
    p.pump(0.3)
    start = time.time()
    rc = p.wait(8)
    if rc is None or time.time() - start > 6:
        fail("player did not end")
    p.close()


def test_size_notice():
    d = tmpdir()
    rec = Script("100x30").out("wide recording\r\n").wait(800).out("done\r\n").write(d)
    p = PtyPlayer(["-i", rec, "--exit-at-end"], rows=10, cols=40)
    rc = p.wait(5)
    if rc != 0:
        fail("status %r" % rc)
    if b"\x1b[8;30;100t" not in p.out:
        fail("the player did not ask the terminal for the recorded size")
    err = p.stderr()
    if err.count("cannot be resized") != 1:
        fail("expected one notice about the size, got: %r" % err)
    if b"the recording is 100x30" not in p.out:
        fail("the notice was not shown on the screen")
    p.close()


def test_strict_and_lax():
    d = tmpdir()
    s = Script("80x24")
    for i in range(30):
        s.out("message %d\r\n" % i).wait(20).flush = None
        s.lines.append("flush")
    rec = s.write(d)
    lines = open(rec).read().splitlines(True)
    with open(rec, "w") as f:
        f.writelines(lines[:10] + lines[13:])
    p = PtyPlayer(["-i", rec])
    rc = p.wait(5)
    if rc != 1 or ":11:" not in p.stderr() or "--lax" not in p.stderr():
        fail("strict mode should stop at line 11 and name it: %r %r" % (rc, p.stderr()))
    if b"message 9" not in p.out or b"message 14" in p.out or "messages 11..13 are missing at" not in p.stderr():
        fail("strict mode should play what precedes the gap, and no more: %r" % p.stderr())
    p.close()
    # The first messages missing (dropped earlier): refused, naming them.
    first = os.path.join(d, "first.log")
    with open(first, "w") as f:
        f.writelines(lines[3:])
    p = PtyPlayer(["-i", first])
    rc = p.wait(5)
    if rc != 1 or "messages 1..3 are missing" not in p.stderr() or "--lax plays what is there" not in p.stderr():
        fail("strict mode should name the missing first messages: %r %r" % (rc, p.stderr()))
    p.close()
    p = PtyPlayer(["-i", first, "--lax", "--exit-at-end"])
    if p.wait(5) != 0 or b"message 29" not in p.out:
        fail("lax mode should play a recording without its first messages")
    p.close()
    p = PtyPlayer(["-i", rec, "--lax", "--exit-at-end"])
    rc = p.wait(5)
    if rc != 0 or "gap: messages 11..13 missing" not in p.stderr():
        fail("lax mode should play through and say where: %r %r" % (rc, p.stderr()))
    if b"message 29" not in p.out:
        fail("lax mode did not play to the end")
    p.close()


def test_background_strict():
    # A large recording damaged near its end: playback starts at once, and
    # when the background index build meets the damage the player stops
    # and names the line, as strict mode does.
    d = tmpdir()
    raw = os.path.join(d, "big.raw")
    with open(raw, "w") as f:
        for i in range(450000):
            f.write("line %07d of a big recording, and text to fill the screen.........\r\n" % i)
    rec = encode_raw(d, raw)
    lines = open(rec).read().splitlines(True)
    bad = len(lines) - 20
    lines[bad - 1] = lines[bad - 1].replace('"timing"', '"timinX"')
    with open(rec, "w") as f:
        f.writelines(lines)
    p = PtyPlayer(["-i", rec])
    rc = p.wait(120)
    if rc != 1:
        fail("status %r" % rc)
    if b"line 0000" not in p.out:
        fail("did not start playing before the index was built")
    if (":%d:" % bad) not in p.stderr() or "--lax" not in p.stderr():
        fail("the damaged line was not named: %r" % p.stderr())
    p.close()


def test_verify_keyed():
    # The verdict says what it rests on: the key that verified the chain, or
    # that an unkeyed chain could have been rewritten by anyone; a key file
    # that is not the recording's is blamed, not the recording.
    d = tmpdir()
    key = os.path.join(d, "recorder.key")
    with open(key, "w") as f:
        f.write("id: host-2026\n" + "6b" * 32 + "\n")
    wrong = os.path.join(d, "wrong.key")
    with open(wrong, "w") as f:
        f.write("id: host-2026\n" + "77" * 32 + "\n")
    s = Script("80x24")
    for i in range(3):
        s.out("message number %d\r\n" % i).flush().wait(10)
    keyed = s.write(d, "keyed.log", ["--key", key])
    unkeyed = s.write(d, "unkeyed.log")
    play = lambda *a: subprocess.run([os.environ["TLOG_PLAY"], *a], capture_output=True, text=True)
    r = play("-i", keyed, "--verify", "--key", key)
    if r.returncode != 0 or not r.stdout.startswith("recording demo-rec-1: intact (keyed, key host-2026): "):
        fail("keyed recording: %r" % r.stdout)
    r = play("-i", keyed, "--list", "--wide", "--key", key)
    if r.returncode != 0 or "intact (keyed, key host-2026)" not in r.stdout:
        fail("keyed --list --wide: %r" % r.stdout)
    r = play("-i", keyed, "--list", "--key", key)
    if r.returncode != 0 or " intact\n" not in r.stdout or "unkeyed" in r.stdout:
        fail("keyed --list: %r" % r.stdout)
    r = play("-i", unkeyed, "--verify")
    if r.returncode != 0 or "intact (unkeyed: anyone could have rewritten it)" not in r.stdout:
        fail("unkeyed recording: %r" % r.stdout)
    r = play("-i", unkeyed, "--list", "--wide")
    if "intact (unkeyed: anyone could have rewritten it)" not in r.stdout:
        fail("unkeyed --list --wide: %r" % r.stdout)
    r = play("-i", unkeyed, "--list")
    if (" intact*\n" not in r.stdout or "* unkeyed chain: shows damage, but anyone could have rewritten it"
            not in r.stderr or max(len(l) for l in r.stdout.splitlines()) > 80):
        fail("unkeyed --list: %r" % r.stdout)
    r = play("-i", keyed, "--verify", "--key", wrong)
    if (r.returncode != 1 or "unverifiable (wrong key host-2026)" not in r.stdout
            or "the key file is not the one" not in r.stdout or "broken" in r.stdout or "altered" in r.stdout):
        fail("wrong key: %r" % r.stdout)
    r = play("-i", keyed, "--verify")
    if r.returncode != 1 or "unverifiable (no key host-2026)" not in r.stdout:
        fail("no key: %r" % r.stdout)


def test_verify():
    # --verify names the first altered message; an intact recording passes.
    d = tmpdir()
    s = Script("80x24")
    for i in range(5):
        s.out("message number %d\r\n" % i).flush().wait(10)
    rec = s.write(d)
    run = lambda: subprocess.run([os.environ["TLOG_PLAY"], "-i", rec, "--verify"], capture_output=True, text=True)
    r = run()
    if r.returncode != 0 or "intact" not in r.stdout:
        fail("intact recording: %r" % r.stdout)
    lines = open(rec).read().splitlines(True)
    lines[2] = lines[2].replace("message number 2", "message number 7")
    with open(rec, "w") as f:
        f.writelines(lines)
    r = run()
    if r.returncode != 1 or "broken" not in r.stdout or "first broken message: id 3, line 3" not in r.stdout:
        fail("altered recording: %r" % r.stdout)


def two_recordings(d, damage="gap"):
    """A file holding recordings "rec-a" and "rec-b", their lines
    interleaved; "rec-b" is damaged: a lost message ("gap"), an altered one
    ("mac") or a line cut short ("truncated")."""
    def one(name):
        s = Script("80x24")
        for i in range(6):
            s.out("%s line %d\r\n" % (name, i)).flush().wait(10)
        return open(s.write(d, name, ["--rec", name])).read().splitlines(True)
    a, b = one("rec-a"), one("rec-b")
    if damage == "gap":
        del b[2]
    elif damage == "mac":
        b[2] = b[2].replace("rec-b line", "rec-B line")
    else:
        b[2] = b[2][:len(b[2]) // 2] + "\n"
    mixed = os.path.join(d, damage + ".log")
    with open(mixed, "w") as f:
        for i in range(max(len(a), len(b))):
            f.writelines(a[i:i + 1] + b[i:i + 1])
    return mixed


def test_several_recordings():
    # Every command that takes a file sees all its recordings: verify and
    # list report each and fail when one is damaged; playback and export
    # refuse without -m, naming the recordings, and work with it.
    d = tmpdir()
    rec = two_recordings(d)
    tp = os.environ["TLOG_PLAY"]
    r = subprocess.run([tp, "-i", rec, "--verify"], capture_output=True, text=True)
    if r.returncode != 1 or "recording rec-a: intact" not in r.stdout or "recording rec-b: " not in r.stdout:
        fail("--verify of two recordings: %r %r" % (r.returncode, r.stdout))
    if "recording rec-b: gap: messages" not in r.stdout or "not intact: rec-b\n" not in r.stdout:
        fail("--verify did not name the damaged recording: %r" % r.stdout)
    for damage in ("mac", "truncated"):
        r = subprocess.run([tp, "-i", two_recordings(d, damage), "--verify"], capture_output=True, text=True)
        if r.returncode != 1 or "recording rec-a: intact" not in r.stdout or "not intact: rec-b\n" not in r.stdout:
            fail("--verify, %s in the second recording: %r %r" % (damage, r.returncode, r.stdout))
    r = subprocess.run([tp, "-i", rec, "--verify", "-m", "rec-a"], capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.startswith("recording rec-a: intact") or r.stdout.count("\n") != 1:
        fail("--verify -m rec-a: %r %r" % (r.returncode, r.stdout))
    r = subprocess.run([tp, "-i", rec, "--list"], capture_output=True, text=True)
    if r.returncode != 1 or "rec-a " not in r.stdout or "rec-b " not in r.stdout:
        fail("--list of two recordings: %r %r" % (r.returncode, r.stdout))
    r = subprocess.run([tp, "-i", rec, "--search", "line 5", "--lax"], capture_output=True, text=True)
    if "recording rec-a: " not in r.stdout or "recording rec-b: " not in r.stdout:
        fail("--search of two recordings: %r %r" % (r.returncode, r.stdout))
    for args in (["--export", "text"], []):
        if args:
            r = subprocess.run([tp, "-i", rec, *args], capture_output=True, text=True)
            rc, err = r.returncode, r.stderr
        else:
            p = PtyPlayer(["-i", rec])
            rc, err = p.wait(5), p.stderr()
            p.close()
        if rc == 0 or "rec-a" not in err or "rec-b" not in err or "-m REC" not in err:
            fail("%r without -m should refuse and name both: %r %r" % (args, rc, err))
    r = subprocess.run([tp, "-i", rec, "--export", "text", "-m", "rec-a"], capture_output=True, text=True)
    if r.returncode != 0 or "rec-a line 5" not in r.stdout or "rec-b" in r.stdout:
        fail("--export -m rec-a: %r %r" % (r.returncode, r.stdout[-300:]))
    p = PtyPlayer(["-i", rec, "-m", "rec-a", "--exit-at-end"])
    rc = p.wait(5)
    if rc != 0 or b"rec-a line 5" not in p.out:
        fail("playback -m rec-a: %r %r" % (rc, p.stderr()))
    p.close()


def test_no_overwrite():
    # -o never replaces a file unless --force, never follows a symbolic link;
    # an import has no host or user from this machine.
    d = tmpdir()
    tp = os.environ["TLOG_PLAY"]
    rec = Script("80x24").out("exported text\r\n").write(d)
    out = os.path.join(d, "evidence.txt")
    with open(out, "w") as f:
        f.write("keep me\n")
    r = subprocess.run([tp, "-i", rec, "--export", "text", "-o", out], capture_output=True, text=True)
    if r.returncode == 0 or "--force" not in r.stderr or open(out).read() != "keep me\n":
        fail("export over an existing file: %r %r" % (r.returncode, r.stderr))
    r = subprocess.run([tp, "-i", rec, "--export", "text", "-o", out, "--force"], capture_output=True, text=True)
    if r.returncode != 0 or "exported text" not in open(out).read():
        fail("export --force: %r %r" % (r.returncode, r.stderr))
    target = os.path.join(d, "target")
    with open(target, "w") as f:
        f.write("target\n")
    link = os.path.join(d, "link")
    os.symlink(target, link)
    r = subprocess.run([tp, "-i", rec, "--export", "text", "-o", link, "--force"], capture_output=True, text=True)
    if r.returncode == 0 or open(target).read() != "target\n":
        fail("export through a symbolic link: %r %r" % (r.returncode, r.stderr))
    cast = os.path.join(d, "in.cast")
    with open(cast, "w") as f:
        f.write('{"version": 2, "width": 80, "height": 24}\n[0.1, "o", "imported\\r\\n"]\n')
    log = os.path.join(d, "imported.log")
    r = subprocess.run([tp, "--import", cast, "-o", log], capture_output=True, text=True)
    first = open(log).readline()
    if r.returncode != 0 or '"host":""' not in first or '"user":""' not in first:
        fail("import: host and user must be empty unless given: %r %r" % (r.stderr, first))
    r = subprocess.run([tp, "--import", cast, "-o", log, "--host", "h1", "--user", "u1"], capture_output=True, text=True)
    if r.returncode == 0 or "--force" not in r.stderr or open(log).readline() != first:
        fail("import over an existing file: %r %r" % (r.returncode, r.stderr))
    r = subprocess.run([tp, "--import", cast, "-o", log, "--host", "h1", "--user", "u1", "--force"], capture_output=True,
                       text=True)
    first = open(log).readline()
    if r.returncode != 0 or '"host":"h1"' not in first or '"user":"u1"' not in first:
        fail("import --force with --host and --user: %r %r" % (r.stderr, first))


TESTS = {name[5:]: fn for name, fn in globals().items() if name.startswith("test_")}

if __name__ == "__main__":
    TESTS[sys.argv[1].replace("-", "_")]()
    print("ok")
