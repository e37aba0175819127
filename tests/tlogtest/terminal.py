"""Helpers for the recorder's pty-driven tests: run a program on a fresh
pseudo-terminal (as a login would), talk to it, resize it, hang it up, and
read back the recording with codec-tool (librec's decoder)."""
import errno
import json  # noqa
import fcntl
import json
import os
import pty
import re
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


# ---------------------------------------------------------------- namespaces
# Everything below runs inside a private mount namespace (the test's meson
# wrapper starts it with `unshare -m --propagation private`): the host's
# /etc, /dev, /run and sysconfdir are never changed.

def sh(cmd, **kw):
    r = subprocess.run(cmd, shell=True, capture_output=True, **kw)
    if r.returncode != 0:
        fail("command failed: %s\n%s%s" % (cmd, r.stdout.decode(), r.stderr.decode()))
    return r.stdout.decode()


def require_root_ns():
    check(os.geteuid() == 0, "this test needs root (CI runs as root)")
    check(os.environ.get("RECTEST_NS") == "1", "run through the meson wrapper (unshare -m)")


def write_sshd_config(T, port, extra=""):
    """The sshd_config every sshd test uses: 127.0.0.1:PORT, its own host key
    (T/hostkey) and pid file, PAM, public keys only, sftp through the
    user's shell unless `extra` names another Subsystem sftp (sshd refuses
    two). Returns its path."""
    conf = T + "/sshd_config"
    sftp = "" if re.search(r"(?mi)^\s*Subsystem\s+sftp\s", extra) else "Subsystem sftp /usr/lib/openssh/sftp-server"
    with open(conf, "w") as f:
        f.write("""ListenAddress 127.0.0.1
Port %d
HostKey %s/hostkey
PidFile %s/sshd.pid
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
PrintMotd no
PrintLastLog no
%s
%s
""" % (port, T, T, sftp, extra))
    return conf


def add_users(T, users):
    """Bind-mounts copies of passwd/group/shadow with `users` added:
    [(name, uid, gid, home, shell)]."""
    names = {u[0] for u in users}
    for f in ("passwd", "group", "shadow"):
        with open("/etc/" + f) as src:
            lines = [l for l in src if l.split(":", 1)[0] not in names]
        for name, uid, gid, home, shell in users:
            if f == "passwd":
                lines.append("%s:x:%d:%d::%s:%s\n" % (name, uid, gid, home, shell))
            elif f == "group":
                lines.append("%s:x:%d:\n" % (name, gid))
            else:
                lines.append("%s:!:19000:0:99999:7:::\n" % name)
        with open(T + "/" + f, "w") as dst:
            dst.writelines(lines)
        os.chmod(T + "/" + f, 0o640 if f == "shadow" else 0o644)
        sh("mount --bind %s/%s /etc/%s" % (T, f, f))


def private_dev(T):
    """A private /dev (tmpfs) with the usual nodes and the host's devpts, so
    that /dev/log can be served by the test's own rsyslogd."""
    d = T + "/dev"
    os.makedirs(d)
    sh("mount -t tmpfs -o mode=755 tmpfs " + d)
    for n in ("null", "zero", "full", "random", "urandom", "tty", "ptmx"):
        sh("cp -a /dev/%s %s/" % (n, d))
    os.makedirs(d + "/pts")
    os.makedirs(d + "/shm")
    sh("mount --bind /dev/pts %s/pts" % d)
    os.symlink("/proc/self/fd", d + "/fd")
    for i, n in enumerate(("stdin", "stdout", "stderr")):
        os.symlink("/proc/self/fd/%d" % i, d + "/" + n)
    sh("mount --rbind %s /dev" % d)


def private_dir(path, T, name):
    """Mounts an empty tmpfs over `path` (which must exist)."""
    sh("mount -t tmpfs -o mode=755 tmpfs " + path)


class Rsyslog:
    """rsyslogd serving /dev/log (SysSock) and writing every message's raw
    text to OUT. Stopped by PID."""

    def __init__(self, T, out):
        self.T, self.out = T, out
        os.makedirs(T + "/rsyslog-work", exist_ok=True)
        conf = T + "/rsyslog.conf"
        with open(conf, "w") as f:
            f.write('''global(workDirectory="%s/rsyslog-work" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="on" SysSock.Name="/dev/log")
template(name="raw" type="string" string="%%syslogfacility-text%%.%%syslogseverity-text%% %%programname%%:%%msg%%\\n")
*.* action(type="omfile" file="%s" template="raw")
''' % (T, out))
        self.pidfile = T + "/rsyslog.pid"
        self.proc = subprocess.Popen(["rsyslogd", "-n", "-f", conf, "-i", self.pidfile],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.time() + 10
        while not os.path.exists("/dev/log"):
            if time.time() > end or self.proc.poll() is not None:
                fail("rsyslogd did not start")
            time.sleep(0.05)

    def text(self, wait_for=None, timeout=10):
        end = time.time() + timeout
        while True:
            t = open(self.out).read() if os.path.exists(self.out) else ""
            if wait_for is None or wait_for in t or time.time() > end:
                return t
            time.sleep(0.1)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Journald:
    """systemd-journald with its sockets on a private tmpfs over /run and
    its files in a private /var/log/journal: the machine's journal (if any)
    is untouched. Stopped by PID."""

    def __init__(self, T, namespace=None):
        """With `namespace`, a journald for that journal namespace (as
        systemd-journald@NAMESPACE.service runs it): sockets in
        /run/systemd/journal.NAMESPACE, files in MACHINE-ID.NAMESPACE."""
        os.makedirs("/run/systemd/journal", exist_ok=True)
        if os.path.isdir("/var/log/journal") and not os.path.ismount("/var/log/journal"):
            sh("mount -t tmpfs tmpfs /var/log/journal")
        self.namespace = namespace
        self.socket = "/run/systemd/journal%s/socket" % ("." + namespace if namespace else "")
        self.proc = subprocess.Popen(["/lib/systemd/systemd-journald"] + ([namespace] if namespace else []),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.time() + 10
        while not os.path.exists(self.socket):
            if time.time() > end or self.proc.poll() is not None:
                fail("journald did not start")
            time.sleep(0.05)

    def entries(self, match):
        ns = ["--namespace=" + self.namespace] if self.namespace else []
        r = subprocess.run(["journalctl", "--no-pager", "-o", "json", *ns, match], capture_output=True)
        return [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def become_subreaper():
    """Orphans of the test (sessions of a stopped sshd, ...) become our
    children, so reap_all() can collect them (PID 1 here may not reap)."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def reap_all(timeout=5):
    end = time.time() + timeout
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.time() > end:
                return
            time.sleep(0.05)
