"""Helpers for the player's integration and interop tests: recordings made
with codec-tool, tlog-play run on a pseudo-terminal with its raw output
captured, and tmux sessions for screen checks."""
import atexit
import os
import shutil
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import fcntl
import time

TLOG_PLAY = os.environ["TLOG_PLAY"]
CODEC_TOOL = os.environ["CODEC_TOOL"]


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def hexs(b):
    if isinstance(b, str):
        b = b.encode()
    return b.hex()


class Script:
    """A codec-tool encode-script: timed output, input and window sizes."""

    def __init__(self, size="80x24"):
        self.lines = ["w " + size]

    def out(self, data):
        self.lines.append("o " + hexs(data))
        return self

    def inp(self, data):
        self.lines.append("i " + hexs(data))
        return self

    def wait(self, ms):
        self.lines.append("+%d" % ms)
        return self

    def flush(self):
        """Ends the current message here."""
        self.lines.append("flush")
        return self

    def window(self, size):
        self.lines.append("w " + size)
        return self

    def write(self, dir, name="rec.log", extra=()):
        src = os.path.join(dir, name + ".script")
        with open(src, "w") as f:
            f.write("\n".join(self.lines) + "\n")
        dst = os.path.join(dir, name)
        subprocess.run([CODEC_TOOL, "encode-script", src, dst, *extra], check=True)
        return dst


def tmpdir():
    d = tempfile.mkdtemp(prefix="tlog-play-it.")
    atexit.register(shutil.rmtree, d, True)
    os.environ["TLOG_PLAY_CACHE_DIR"] = os.path.join(d, "cache")
    return d


class PtyPlayer:
    """tlog-play on a pty of a given size; everything it writes is kept."""

    def __init__(self, args, rows=24, cols=80, stdin=None):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.slave = slave
        self.out = b""
        self.err_path = tempfile.mktemp(prefix="tlog-play-err.")
        err = open(self.err_path, "wb")

        def setup():
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen([TLOG_PLAY, *args], stdin=stdin if stdin is not None else slave,
                                     stdout=slave, stderr=err, preexec_fn=setup, close_fds=True)
        err.close()

    def pump(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            r, _, _ = select.select([self.master], [], [], max(0, end - time.time()))
            if not r:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                break
            if not data:
                break
            self.out += data

    def send(self, data):
        os.write(self.master, data if isinstance(data, bytes) else data.encode())

    def wait(self, timeout):
        """Exit status, or None if still running after `timeout` seconds.
        Keeps the child's resource usage in self.rusage."""
        end = time.time() + timeout
        while time.time() < end:
            self.pump(0.05)
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.rusage = ru
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                self.pump(0.1)
                return self.proc.returncode
        return None

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)
        os.unlink(self.err_path)


def scrolling_recording(d, seconds=120, marker_at=None):
    """A large recording, 400 KiB of output a second in 4096-byte chunks 10 ms
    apart: a clock "second NNN" on row 1, coloured filler scrolling in rows
    3-24, and "MARKER-NEAR-END" on row 2 from second `marker_at` on."""
    raw = os.path.join(d, "big.raw")
    per_second = 100 * 4096
    filler = "".join("\x1b[3%dmfill %05d\x1b[0m with some text to scroll the region\r\n" % (i % 8, i)
                     for i in range(20000))
    with open(raw, "w") as f:
        f.write("\x1b[3;24r\x1b[24;1H")
        pos = 0
        for sec in range(seconds):
            clock = "\x1b7\x1b[1;1Hsecond %03d%s\x1b8" % (sec, "\x1b[2;1HMARKER-NEAR-END" if sec == marker_at else "")
            need = per_second - len(clock)
            chunk = ""
            while len(chunk) < need:
                take = filler[pos % len(filler):][:need - len(chunk)]
                chunk += take
                pos += len(take)
            f.write(clock + chunk)
    return encode_raw(d, raw)


def encode_raw(d, raw):
    """Encodes terminal output `raw` as d/big.log: 4096-byte messages 10 ms apart."""
    rec = os.path.join(d, "big.log")
    subprocess.run([os.environ["CODEC_TOOL"], "encode-raw", raw, rec, "--chunk", "4096", "--step-ms", "10"], check=True)
    return rec


def sequences(data):
    """Every escape sequence in `data` (bytes), as bytes."""
    seqs = []
    i = 0
    n = len(data)
    while i < n:
        if data[i] != 0x1b:
            i += 1
            continue
        j = i + 1
        if j >= n:
            seqs.append(data[i:])
            break
        c = data[j]
        if c == ord("["):
            j += 1
            while j < n and not (0x40 <= data[j] <= 0x7e):
                j += 1
            seqs.append(data[i:j + 1])
            i = j + 1
        elif c in b"]P_^X":
            k = j + 1
            while k < n and data[k] != 0x07 and not (data[k] == 0x1b and k + 1 < n and data[k + 1] == ord("\\")):
                k += 1
            seqs.append(data[i:k + 2])
            i = k + 2
        elif c in b"()":
            seqs.append(data[i:j + 2])
            i = j + 2
        else:
            seqs.append(data[i:j + 1])
            i = j + 1
    return seqs


class Tmux:
    """A tmux server on a private socket, for screen checks."""

    def __init__(self, cols=80, rows=24):
        self.sock = tempfile.mktemp(prefix="tlog-play-tmux.")
        self.cols, self.rows = cols, rows

    def run(self, *args, check=True):
        return subprocess.run(["tmux", "-S", self.sock, *args], check=check, capture_output=True, text=True)

    def start(self, command, env=None):
        envs = []
        for k, v in (env or {}).items():
            envs += ["-e", "%s=%s" % (k, v)]
        # remain-on-exit is set before the session starts, in the same
        # command list: set after it, a program that exits at once (a
        # short playback) closed the session and ended the server first.
        self.run("start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";",
                 "new-session", "-d", "-x", str(self.cols), "-y", str(self.rows), *envs, command)

    def keys(self, *keys):
        self.run("send-keys", "-t", "0", *keys)

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "0").stdout

    def wait_for(self, text, timeout=5.0):
        end = time.time() + timeout
        while time.time() < end:
            s = self.screen()
            if text in s:
                return s
            time.sleep(0.05)
        fail("screen never showed %r; it shows:\n%s" % (text, self.screen()))

    def wait_dead(self, timeout=5.0):
        """Waits for the pane's program to exit (remain-on-exit keeps the pane)."""
        end = time.time() + timeout
        while time.time() < end:
            r = self.run("display-message", "-p", "-t", "0", "#{pane_dead}", check=False)
            if r.returncode != 0 or r.stdout.strip() == "1":
                return
            time.sleep(0.05)
        fail("the player did not exit; the screen shows:\n%s" % self.screen())

    def kill(self):
        self.run("kill-server", check=False)
        try:
            os.unlink(self.sock)
        except OSError:
            pass
