"""The real login path in a private mount namespace (suite e2e, root):
sshd on 127.0.0.1 with PAM stacks that include pam_tlog (by absolute path),
nss_tlog on the passwd line (either order), the policy cache compiled from a
test rules file, the setuid/setgid-tlog recorder, and rsyslogd on a private
/dev/log catching pam_tlog's and the recorder's log lines. Nothing of the
host's /etc, /run, /var/lib or /dev is changed (bind mounts and tmpfs in the
namespace that run_ns.sh made)."""
import os
import re
import shutil
import subprocess
import time

from tlogtest.namespace import (Rsyslog, become_subreaper, private_dev, private_pam, reap_all, require_root_ns, sh,
                                stop_process, write_sshd_config)
from tlogtest.terminal import check, decode, fail, messages, spawn, tmpdir

SRC = os.environ["SOURCE_ROOT"]
BUILD = os.environ["BUILD_ROOT"]
PAM_TLOG = BUILD + "/pam_tlog/pam_tlog.so"
TLOG_POLICY = BUILD + "/policy/tlog-policy"
SYSCONFDIR = os.environ.get("TLOG_SYSCONFDIR_TEST", "/usr/local/etc/tlog")
KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
TLOG_UID = 61000
# name: (uid, where): "local" in /etc/passwd, "dir" in the directory (extrausers)
USERS = {"alice": (61011, "local"), "bob": (61012, "local"), "eve": (61013, "local"),
         "carol": (61014, "local"), "dave": (61021, "dir"), "frank": (61022, "dir"),
         "gina": (61023, "dir")}
CAROL_PASSWORD = "carol-pw-42"

ORDERS = {
    # examples/nsswitch/*.conf with sss standing in as extrausers (the
    # "directory" of these tests)
    "tlog-first": "nsswitch.tlog-first.conf",
    "directory": "nsswitch.directory-users.conf",
}


def wait_for(pred, what, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    fail("timeout waiting for " + what)


class Login:
    def __init__(self, order, rules=None, sshd_extra="", pam_args="debug"):
        require_root_ns()
        become_subreaper()
        self.order = order
        self.T = T = tmpdir()
        self.procs = []
        # tmpfs /run (locks, sshd), /var/lib (policy cache, extrausers)
        sh("mount -t tmpfs -o mode=755 tmpfs /run")
        os.makedirs("/run/sshd", mode=0o755)
        os.makedirs("/run/tlog")
        os.chown("/run/tlog", TLOG_UID, TLOG_UID)
        os.chmod("/run/tlog", 0o700)
        sh("mount -t tmpfs -o mode=755 tmpfs /var/lib")
        os.makedirs("/var/lib/tlog")
        os.makedirs("/var/lib/extrausers")
        self._users()
        # the recorder, setuid/setgid tlog as the install step leaves it
        os.makedirs(T + "/bin")
        self.rec = T + "/bin/tlog-rec-session"
        shutil.copy(BUILD + "/recorder/programs/tlog-rec-session", self.rec)
        os.chown(self.rec, TLOG_UID, TLOG_UID)
        os.chmod(self.rec, 0o6755)
        # setuid programs and sshd ignore LD_LIBRARY_PATH: an ld.so.cache
        with open(T + "/ld.conf", "w") as f:
            f.write("%s/librec\n%s/nss_tlog\ninclude /etc/ld.so.conf.d/*.conf\n" % (BUILD, BUILD))
        sh("ldconfig -C %s/ld.so.cache -f %s/ld.conf" % (T, T))
        sh("mount --bind %s/ld.so.cache /etc/ld.so.cache" % T)
        # nsswitch.conf from the shipped example
        with open(SRC + "/examples/nsswitch/" + ORDERS[order]) as f:
            ns = f.read().replace(" sss", " extrausers")
        ns = re.sub(r"(?m)^netgroup:.*$", "netgroup: files", ns)
        with open(T + "/nsswitch.conf", "w") as f:
            f.write(ns)
        sh("mount --bind %s/nsswitch.conf /etc/nsswitch.conf" % T)
        # recordings: only tlog may read them
        self.logdir = T + "/log"
        os.makedirs(self.logdir)
        os.chown(self.logdir, TLOG_UID, TLOG_UID)
        os.chmod(self.logdir, 0o700)
        self.log = self.logdir + "/session.log"
        # the strict system configuration and the proof key
        sh("mount -t tmpfs -o mode=755 tmpfs " + os.path.dirname(SYSCONFDIR))
        os.makedirs(SYSCONFDIR)
        with open(SYSCONFDIR + "/tlog-rec-session.conf", "w") as f:
            f.write('{"shell": "/bin/bash", "writer": "file", "file": {"path": "%s"}, "latency": 1}\n' % self.log)
        with open(SYSCONFDIR + "/conf-proof.key", "w") as f:
            f.write(KEY_HEX + "\n")
        os.chown(SYSCONFDIR + "/conf-proof.key", 0, TLOG_UID)
        os.chmod(SYSCONFDIR + "/conf-proof.key", 0o640)
        # rules -> /var/lib/tlog/policy.cache
        self.compile(rules or open(SRC + "/examples/rules/login-rules.yaml").read())
        self._pam(pam_args)
        private_dev(T)
        self.syslog = Rsyslog(T, T + "/syslog.out")
        self._sshd(sshd_extra)

    # ---------------------------------------------------------------- setup
    def _users(self):
        T = self.T
        sh("ssh-keygen -q -t ed25519 -N '' -f %s/userkey" % T)
        pw_hash = sh("openssl passwd -6 %s" % CAROL_PASSWORD).strip()
        local = {"passwd": [], "group": [], "shadow": []}
        direct = {"passwd": [], "group": [], "shadow": []}
        local["passwd"].append("tlog:x:%d:%d::/var/lib/tlog:/usr/sbin/nologin\n" % (TLOG_UID, TLOG_UID))
        local["group"].append("tlog:x:%d:\n" % TLOG_UID)
        local["shadow"].append("tlog:!:19000:0:99999:7:::\n")
        for name, (uid, where) in USERS.items():
            home = "%s/home/%s" % (T, name)
            os.makedirs(home + "/.ssh")
            shutil.copy(T + "/userkey.pub", home + "/.ssh/authorized_keys")
            sh("chown -R %d:%d %s" % (uid, uid, home))
            d = local if where == "local" else direct
            d["passwd"].append("%s:x:%d:%d::%s:/bin/bash\n" % (name, uid, uid, home))
            d["group"].append("%s:x:%d:\n" % (name, uid))
            d["shadow"].append("%s:%s:19000:0:99999:7:::\n" % (name, pw_hash if name == "carol" else "*"))
        names = set(USERS) | {"tlog"}
        for f in ("passwd", "group", "shadow"):
            with open("/etc/" + f) as src:
                lines = [l for l in src if l.split(":", 1)[0] not in names]
            with open(self.T + "/" + f, "w") as dst:
                dst.writelines(lines + local[f])
            os.chmod(self.T + "/" + f, 0o640 if f == "shadow" else 0o644)
            sh("mount --bind %s/%s /etc/%s" % (self.T, f, f))
            with open("/var/lib/extrausers/" + f, "w") as dst:
                dst.writelines(direct[f])
            os.chmod("/var/lib/extrausers/" + f, 0o640 if f == "shadow" else 0o644)

    def compile(self, rules_text):
        rules_text = re.sub(r"(?m)^recorder: .*$", "recorder: " + self.rec, rules_text)
        with open(self.T + "/rules.yaml", "w") as f:
            f.write(rules_text)
        sh("%s compile --rules %s/rules.yaml --output /var/lib/tlog/policy.cache" % (TLOG_POLICY, self.T))

    def _pam(self, pam_args):
        """A copy of /etc/pam.d with the shipped snippet added to every login
    service the admin guide names."""
        with open(SRC + "/examples/pam.d/sshd") as f:
            snippet = f.read().replace("pam_tlog.so", PAM_TLOG + " " + pam_args)
        self.snippet = snippet
        # su-l and runuser-l include su and runuser; sudo-i is `sudo -i`'s
        # service (Debian's sudo)
        services = ("sshd", "su", "sudo", "sudo-i", "runuser", "login")
        for svc in services:
            check(os.path.exists("/etc/pam.d/" + svc), "/etc/pam.d/%s missing: install sudo and login "
                  "(scripts/apt-packages.txt)" % svc)
        private_pam(self.T, {svc: "\n# pam_tlog (examples/pam.d/sshd)\n" + snippet for svc in services})

    def _sshd(self, extra):
        T = self.T
        sh("ssh-keygen -q -t ed25519 -N '' -f %s/hostkey" % T)
        self.port = 22000 + os.getpid() % 10000
        conf = write_sshd_config(T, self.port, extra)
        self.sshd_log = T + "/sshd.log"
        self.sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", conf, "-E", self.sshd_log])
        wait_for(lambda: self.sshd.poll() is not None or "Server listening" in self.read(self.sshd_log),
                 "sshd to start")
        check(self.sshd.poll() is None, "sshd did not start: " + self.read(self.sshd_log))

    # ---------------------------------------------------------------- use
    @staticmethod
    def read(path):
        return open(path, errors="replace").read() if os.path.exists(path) else ""

    def ssh_argv(self, user, *opts):
        return (["/usr/bin/ssh", "-i", self.T + "/userkey", "-p", str(self.port), "-o", "StrictHostKeyChecking=no",
                 "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes"]
                + list(opts) + ["%s@127.0.0.1" % user])

    def ssh_cmd(self, user, cmd, *opts, env=None):
        return subprocess.run(self.ssh_argv(user, *opts) + [cmd], capture_output=True, timeout=60,
                              stdin=subprocess.DEVNULL, env=env)

    def ssh_tty(self, user, *opts, env=None):
        return spawn(self.ssh_argv(user, "-tt", *opts), env=dict(env or os.environ, TERM="xterm"))

    def recordings(self):
        """{rec id: [messages]} of everything recorded so far."""
        out = {}
        if not os.path.exists(self.log):
            return out
        for m in messages(self.log):
            out.setdefault(m["rec"], []).append(m)
        return out

    def wait_ended(self, rec=None, timeout=20):
        def ended():
            recs = self.recordings()
            ids = [rec] if rec else list(recs)
            return ids and all(r in recs and recs[r][-1].get("end") for r in ids)
        wait_for(ended, "the recording to end", timeout)

    def output(self, rec):
        evs, _ = decode(self.log, rec)
        return b"".join(d for _, k, d in evs if k == "o")

    def close(self):
        if getattr(self, "sshd", None) and self.sshd.poll() is None:
            self.sshd.terminate()
            self.sshd.wait(10)
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                p.wait(10)
        if getattr(self, "syslog", None):
            self.syslog.stop()
        reap_all()


NEVER_STARTED = ("the announced recording never started: the login program did not run the recorder "
                 "(internal-sftp, ForceCommand, a subsystem, or a shell other than the recorder)")


def announced_rec(log, user, service):
    """The recording id of pam_tlog's "recording USER (service S, ...)" line."""
    m = re.findall(r"recording %s \(service %s, [^)]*\): rec (\S+)," % (user, service), log)
    check(m, "no \"recording %s (service %s\" line: %s" % (user, service, log[-2000:]))
    return m[-1]


def raw_records(a, op, rec=None):
    """TRUSTED_APP records of `op` (for recording `rec`) as auditd wrote
    them. Kernel audit is host-wide: other tests' logins show up too."""
    lines = [l for l in open(a.log, errors="replace").read().splitlines()
             if "type=TRUSTED_APP" in l and "op=%s " % op in l]
    return [l for l in lines if rec is None or re.search(r'\brec="?%s"? ' % re.escape(rec), l)]


def audit_field(line, name):
    """A field of a raw audit record: "quoted" or hex-encoded (spaces)."""
    m = re.search(r"\b%s=(\"[^\"]*\"|[0-9A-F]+)[ ']" % name, line)
    if not m:
        return None
    v = m.group(1)
    return v[1:-1] if v.startswith('"') else bytes.fromhex(v).decode(errors="replace")


class Auditd:
    """A real auditd with its log in the test directory (RUNBOOK: auditd -n
    -s enable -c CONFDIR); stopped by PID, kernel auditing disabled again."""

    def __init__(self, T, log_format="ENRICHED", node=None):
        self.dir = T + "/audit"
        os.makedirs(self.dir + "/plugins.d")
        self.log = self.dir + "/audit.log"
        with open("/etc/audit/auditd.conf") as f:
            conf = f.read()
        conf = re.sub(r"(?m)^log_file = .*$", "log_file = " + self.log, conf)
        conf = re.sub(r"(?m)^log_group = .*$", "log_group = root", conf)
        conf = re.sub(r"(?m)^plugin_dir = .*$", "plugin_dir = " + self.dir + "/plugins.d", conf)
        conf = re.sub(r"(?m)^space_left = .*$", "space_left = 2", conf)
        conf = re.sub(r"(?m)^admin_space_left = .*$", "admin_space_left = 1", conf)
        conf = re.sub(r"(?m)^flush = .*$", "flush = SYNC", conf)
        conf = re.sub(r"(?m)^log_format = .*$", "log_format = " + log_format, conf)
        if node:
            conf = re.sub(r"(?m)^name_format = .*$", "name_format = USER", conf)
            conf += "name = %s\n" % node
        with open(self.dir + "/auditd.conf", "w") as f:
            f.write(conf)
        os.chmod(self.dir + "/auditd.conf", 0o640)
        # The kernel talks to one audit daemon: wait while another test's
        # auditd is registered, then check that ours is the one.
        wait_for(lambda: re.search(r"(?m)^pid 0$", sh("auditctl -s")), "no other auditd registered", 900)
        self.proc = subprocess.Popen(["auditd", "-n", "-s", "enable", "-c", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: self.proc.poll() is not None or ("enabled 1" in sh("auditctl -s") and os.path.exists(self.log)
                                                          and "pid %d\n" % self.proc.pid in sh("auditctl -s")),
                 "auditd to start")
        check(self.proc.poll() is None, "auditd did not start: %r %s" % (self.proc.stderr.read(), open(T + "/syslog.out").read()[-1500:]))

    def search(self, *args):
        r = subprocess.run(["ausearch", "-if", self.log, "-i"] + list(args), capture_output=True)
        return r.stdout.decode(errors="replace")

    def stop(self):
        stop_process(self.proc)
        subprocess.run(["auditctl", "-e", "0"], capture_output=True)


def run_case(cases, case, order="tlog-first", sshd_extra="", pam_args="debug", dump=None):
    """Runs cases[case] against a fresh Login and closes it however the case
    ends. dump(login) prints what helps to debug: when the case fails, and
    when it passes too with E2E_DEBUG set."""
    check(case in cases, "unknown case %r (cases: %s)" % (case, ", ".join(sorted(cases))))
    e = Login(order, sshd_extra=sshd_extra, pam_args=pam_args)
    try:
        try:
            cases[case](e)
        except SystemExit:
            if dump:
                dump(e)
            raise
        if dump and os.environ.get("E2E_DEBUG"):
            dump(e)
    finally:
        e.close()
