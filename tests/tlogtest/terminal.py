"""Helpers for the recorder's pty-driven tests: run a program on a fresh
pseudo-terminal (as a login would), talk to it, resize it, hang it up, and
read back the recording with codec-tool (librec's decoder)."""
import errno
import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

TLOG_REC = os.environ.get("TLOG_REC_BIN", "")
TLOG_REC_SESSION = os.environ.get("TLOG_REC_SESSION_BIN", "")
CODEC_TOOL = os.environ.get("CODEC_TOOL_BIN", "")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Proc:
    def __init__(self, pid, fd):
        self.pid, self.fd, self.out = pid, fd, b""
        self.status = None

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        os.write(self.fd, data)

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return None
        try:
            d = os.read(self.fd, 65536)
        except OSError as e:
            if e.errno == errno.EIO:
                return b""
            raise
        return d

    def read_until(self, pattern, timeout=10):
        if isinstance(pattern, str):
            pattern = pattern.encode()
        end = time.time() + timeout
        while pattern not in self.out:
            left = end - time.time()
            if left <= 0:
                fail("timeout waiting for %r; output so far: %r" % (pattern, self.out[-2000:]))
            d = self._read(left)
            if d == b"":
                fail("EOF waiting for %r; output: %r" % (pattern, self.out[-2000:]))
            if d:
                self.out += d
        return self.out

    def try_read_until(self, pattern, timeout):
        """Like read_until, but returns False on timeout instead of failing."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        end = time.time() + timeout
        while pattern not in self.out:
            left = end - time.time()
            if left <= 0:
                return False
            d = self._read(left)
            if d == b"":
                return False
            if d:
                self.out += d
        return True

    def resize(self, rows, cols):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def wait(self, timeout=15):
        """Reads to EOF and reaps; returns the exit status (128+sig if killed)."""
        end = time.time() + timeout
        while True:
            left = end - time.time()
            if left <= 0:
                os.kill(self.pid, signal.SIGKILL)
                fail("timeout waiting for exit; output: %r" % self.out[-2000:])
            d = self._read(min(left, 0.5))
            if d == b"":
                break
            if d:
                self.out += d
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = st
                # drain
                while True:
                    d = self._read(0.05)
                    if not d:
                        break
                    self.out += d
                break
        if self.status is None:
            _, self.status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        if os.WIFEXITED(self.status):
            return os.WEXITSTATUS(self.status)
        return 128 + os.WTERMSIG(self.status)


def spawn(argv, env=None, rows=24, cols=80, argv0=None, preexec=None):
    """Runs argv on a new pty as session leader with it as controlling tty."""
    env = dict(os.environ if env is None else env)
    env.setdefault("TERM", "xterm")
    pid, fd = pty.fork()
    if pid == 0:
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            if preexec:
                preexec()
            os.execve(argv[0], [argv0 or argv[0]] + list(argv[1:]), env)
        except BaseException as e:  # noqa
            os.write(2, ("exec failed: %s\n" % e).encode())
        os._exit(127)
    return Proc(pid, fd)


TLOG_PLAY = "/usr/bin/tlog-play"  # Debian's, the reference peer


def clean_env(**kw):
    """The environment without TLOG_REC_* configuration (the *_BIN paths stay)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TLOG_REC_") or k.endswith("_BIN")}
    env.update(kw)
    return env


def debian_play(args):
    """Runs Debian's tlog-play on a pty; returns (status, output)."""
    p = spawn([TLOG_PLAY] + args, env=clean_env())
    st = p.wait(timeout=60)
    return st, p.out


def under_script(command, typescript="/dev/null", timeout=120):
    """Runs a shell command line on script(1)'s pty: (status, output).
    script's standard input is a pipe kept open and silent: at its end
    script sends an EOF to the pty, and Debian's tlog-play, when that comes
    before it set up the terminal, spins on it and never finishes."""
    silent, keep_open = os.pipe()
    try:
        r = subprocess.run(["script", "-qec", command, typescript], stdin=silent, capture_output=True,
                           timeout=timeout)
    finally:
        os.close(silent)
        os.close(keep_open)
    return r.returncode, r.stdout


def messages(path):
    with open(path, "rb") as f:
        return [json.loads(l) for l in f.read().splitlines() if l.strip()]


def decode(path, rec=None):
    """Returns (events, verdict) via codec-tool: events are (pos, kind, data)."""
    args = [CODEC_TOOL, "decode", path, "--events"]
    if rec:
        args += ["--rec", rec]
    p = subprocess.run(args, capture_output=True)
    if p.returncode != 0:
        fail("codec-tool decode failed: %s" % p.stderr.decode())
    evs = []
    for line in p.stdout.decode().splitlines():
        pos, kind, data = line.split(" ", 2) if line.count(" ") >= 2 else (line.split(" ") + [""])[:3]
        evs.append((int(pos), kind, data if kind == "w" else bytes.fromhex(data)))
    return evs, p.stderr.decode()


def output_of(path):
    evs, _ = decode(path)
    return b"".join(d for _, k, d in evs if k == "o")


def input_of(path):
    evs, _ = decode(path)
    return b"".join(d for _, k, d in evs if k == "i")


def windows_of(path):
    evs, _ = decode(path)
    return [d for _, k, d in evs if k == "w"]


def end_of(path):
    msgs = messages(path)
    check(msgs, "no messages in %s" % path)
    return msgs[-1].get("end")


def tmpdir():
    d = tempfile.mkdtemp(prefix="rectest-")
    os.chmod(d, 0o755)
    if os.environ.get("RECTEST_NS") != "1":
        # outside a namespace nothing is mounted below it: remove at exit
        # (run_ns.sh removes the namespace tests' directory itself)
        import atexit
        import shutil
        atexit.register(shutil.rmtree, d, True)
    return d


def run_case(scope, before=None):
    """The command line of a test script: runs the function case_NAME of
    `scope` (the script's globals()) named by argv[1], then prints "ok"."""
    cases = {k[5:]: v for k, v in scope.items() if k.startswith("case_")}
    if len(sys.argv) != 2 or sys.argv[1] not in cases:
        print("cases: " + " ".join(cases))
        sys.exit(2)
    if before:
        before()
    cases[sys.argv[1]]()
    print("ok")
