"""Helpers for the tests that run inside a private mount namespace (run
through tests/recorder/run_ns.sh, as root): shell commands, test users, a
private /dev, sshd's configuration, rsyslogd and journald stopped by PID,
reaping the orphans a stopped service leaves."""
import json
import os
import re
import shutil
import subprocess
import time

from tlogtest.terminal import check, fail

# Everything here runs inside a private mount namespace (the test's meson
# wrapper starts it with `unshare -m --propagation private`): the host's
# /etc, /dev, /run and sysconfdir are never changed.


def sh(cmd, **kw):
    r = subprocess.run(cmd, shell=True, capture_output=True, **kw)
    if r.returncode != 0:
        fail("command failed: %s\n%s%s" % (cmd, r.stdout.decode(), r.stderr.decode()))
    return r.stdout.decode()


def stop_process(proc, timeout=10):
    """Ends a service the test started: SIGTERM, then SIGKILL after `timeout` s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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


def add_users(T, users, passwords=None):
    """Bind-mounts copies of passwd/group/shadow with `users` added:
    [(name, uid, gid, home, shell)]; `passwords` {name: clear text} gives
    those users a password (locked otherwise)."""
    passwords = passwords or {}
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
                pw = sh("openssl passwd -6 '%s'" % passwords[name]).strip() if name in passwords else "!"
                lines.append("%s:%s:19000:0:99999:7:::\n" % (name, pw))
        with open(T + "/" + f, "w") as dst:
            dst.writelines(lines)
        os.chmod(T + "/" + f, 0o640 if f == "shadow" else 0o644)
        sh("mount --bind %s/%s /etc/%s" % (T, f, f))


# The common-* stacks of these tests: Debian 12's pam-auth-update output with
# only pam_unix (no pam_sss, pam_systemd, pam_cap, whatever the host has).
COMMON_PAM = {
    "common-auth": "auth [success=1 default=ignore] pam_unix.so nullok\n"
                   "auth requisite pam_deny.so\nauth required pam_permit.so\n",
    "common-account": "account [success=1 new_authtok_reqd=done default=ignore] pam_unix.so\n"
                      "account requisite pam_deny.so\naccount required pam_permit.so\n",
    "common-password": "password [success=1 default=ignore] pam_unix.so obscure yescrypt\n"
                       "password requisite pam_deny.so\npassword required pam_permit.so\n",
    "common-session": "session [default=1] pam_permit.so\nsession requisite pam_deny.so\n"
                      "session required pam_permit.so\nsession required pam_unix.so\n",
    "common-session-noninteractive": "session [default=1] pam_permit.so\nsession requisite pam_deny.so\n"
                                     "session required pam_permit.so\nsession required pam_unix.so\n",
}



def private_pam(T, append=None):
    """Bind-mounts a copy of /etc/pam.d with COMMON_PAM as its common-*
    files; `append` {service: text} adds lines to services' stacks."""
    d = T + "/pam.d"
    shutil.copytree("/etc/pam.d", d, symlinks=True)
    # The common-* files are pam-auth-update's output and differ from host
    # to host (installing libpam-sss adds pam_localuser and pam_sss, other
    # packages pam_systemd, pam_cap, ...): the tests use their own.
    for name, text in COMMON_PAM.items():
        path = d + "/" + name
        if os.path.lexists(path):
            os.unlink(path)
        with open(path, "w") as f:
            f.write(text)
    for svc, text in (append or {}).items():
        with open(d + "/" + svc, "a") as f:
            f.write(text)
    sh("mount --bind %s /etc/pam.d" % d)


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
        stop_process(self.proc)


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
        stop_process(self.proc)


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
