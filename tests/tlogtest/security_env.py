"""The setuid/setgid-tlog recorder as the install step leaves it, in a
private mount namespace (run through tests/recorder/run_ns.sh, as root):
test copies of passwd/group/shadow (users tlog and rectest), an
ld.so.cache naming the build's librec (setuid programs ignore
LD_LIBRARY_PATH and $ORIGIN), a private /dev served by a real rsyslogd
(/dev/log: the recorder's audit messages), a tmpfs /run (/run/tlog locks)
and a tmpfs sysconfdir holding the strict system configuration."""
import os
import shutil
import subprocess

from tlogtest.namespace import Rsyslog, add_users, become_subreaper, private_dev, reap_all, require_root_ns, sh
from tlogtest.terminal import TLOG_REC_SESSION, check, spawn, tmpdir

TLOG_UID = TLOG_GID = 61000
USER_UID = USER_GID = 61001
EXTRA_GID = 61002  # a supplementary group of the test user
SYSCONFDIR = os.environ.get("TLOG_SYSCONFDIR_TEST", "/usr/local/etc/tlog")
KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


class Env:
    def __init__(self, login_shell_is_recorder=False):
        require_root_ns()
        become_subreaper()
        self.T = T = tmpdir()
        self.rec = T + "/bin/tlog-rec-session"
        add_users(T, [("tlog", TLOG_UID, TLOG_GID, "/var/lib/tlog", "/usr/sbin/nologin"),
                      ("rectest", USER_UID, USER_GID, T + "/home",
                       self.rec if login_shell_is_recorder else "/bin/bash"),
                      ("rectestx", EXTRA_GID, EXTRA_GID, "/nonexistent", "/usr/sbin/nologin")])
        os.makedirs(T + "/home")
        os.chown(T + "/home", USER_UID, USER_GID)
        # the setuid/setgid recorder, as the install step leaves it
        os.makedirs(T + "/bin")
        self.rec = T + "/bin/tlog-rec-session"
        shutil.copy(TLOG_REC_SESSION, self.rec)
        os.chown(self.rec, TLOG_UID, TLOG_GID)
        os.chmod(self.rec, 0o6755)
        sh("setcap cap_setgid+ep " + self.rec)  # as install-tlog-user.sh does
        libdir = os.environ["BUILD_LIBREC_DIR"]
        with open(T + "/ld.conf", "w") as f:
            f.write("include /etc/ld.so.conf.d/*.conf\n%s\n" % libdir)
        sh("ldconfig -C %s/ld.so.cache -f %s/ld.conf" % (T, T))
        sh("mount --bind %s/ld.so.cache /etc/ld.so.cache" % T)
        # /run/tlog for the session locks
        sh("mount -t tmpfs -o mode=755 tmpfs /run")
        os.makedirs("/run/tlog")
        os.chown("/run/tlog", TLOG_UID, TLOG_GID)
        os.chmod("/run/tlog", 0o700)
        # the recordings: only tlog may read them
        self.logdir = T + "/log"
        os.makedirs(self.logdir)
        os.chown(self.logdir, TLOG_UID, TLOG_GID)
        os.chmod(self.logdir, 0o700)
        self.log = self.logdir + "/session.log"
        # strict system configuration, on a private mount over SYSCONFDIR
        # (or over its parent when it does not exist, never over /etc itself)
        if os.path.isdir(SYSCONFDIR):
            os.makedirs(T + "/sysconf")
            sh("mount --bind %s/sysconf %s" % (T, SYSCONFDIR))
        else:
            parent = os.path.dirname(SYSCONFDIR)
            check(os.path.isdir(parent) and parent != "/etc", "cannot make a private %s" % SYSCONFDIR)
            sh("mount -t tmpfs -o mode=755 tmpfs " + parent)
            os.makedirs(SYSCONFDIR)
        with open(SYSCONFDIR + "/tlog-rec-session.conf", "w") as f:
            f.write('// strict\n{"shell": "/bin/bash", "writer": "file", "file": {"path": "%s"}, "latency": 1}\n'
                    % self.log)
        with open(SYSCONFDIR + "/conf-proof.key", "w") as f:
            f.write(KEY_HEX + "\n")
        os.chown(SYSCONFDIR + "/conf-proof.key", 0, TLOG_GID)
        os.chmod(SYSCONFDIR + "/conf-proof.key", 0o640)
        # /var/log/tlog as the install step leaves it (for the loss record)
        sh("mount -t tmpfs -o mode=755 tmpfs /var/log")
        os.makedirs("/var/log/tlog")
        os.chown("/var/log/tlog", TLOG_UID, TLOG_GID)
        os.chmod("/var/log/tlog", 0o750)
        private_dev(T)
        self.syslog = Rsyslog(T, T + "/syslog.out")

    def run_as_user(self, args, env_extra=None, loginuid=None, argv0=None, pty=True, inp=None):
        env = {"PATH": "/usr/bin:/bin", "TERM": "xterm", "HOME": self.T + "/home", "LANG": "C.UTF-8"}
        env.update(env_extra or {})

        def drop():
            # Always explicit: an audit session id inherited from the CI
            # runner's own login would make the lock tests depend on it.
            # Writing the unset value (4294967295) unsets the session id too.
            with open("/proc/self/loginuid", "w") as f:
                f.write(str(loginuid if loginuid is not None else 4294967295))
            os.setgroups([EXTRA_GID])
            os.setgid(USER_GID)
            os.setuid(USER_UID)
        if pty:
            p = spawn([self.rec] + args, env=env, argv0=argv0, preexec=drop)
            return p
        return subprocess.run([self.rec] + args, env=env, preexec_fn=drop, input=inp, capture_output=True, timeout=30)

    def close(self):
        self.syslog.stop()
        reap_all()
