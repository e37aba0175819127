"""The Debian packages, built and installed as an administrator would
(suite package, root): builds them once with dpkg-buildpackage from a copy
of the source tree, checks them with lintian, then, in a private mount
namespace with overlays over /usr, /etc and /var (the host is untouched; the
files dpkg installs there are the ones used):

  clean:    Debian's tlog purged first; `apt-get install ./*.deb`; nobody
            recorded before there are rules; rules written, compiled by the
            installed unit's command; an ssh login of a recorded directory
            user through the real sshd, the pam-auth-update stacks, nss_tlog
            and the setuid recorder; the recording played (text export) and
            verified keyed with the installed tlog-play; then purged:
            nothing of ours left behind.
  over-tlog: Debian's tlog installed; ours replace it (tlog removed, an
            upgrade does not bring it back); the same login, play, verify;
            purge keeps the recordings, their key and the account."""
import fcntl
import glob
import shutil
import os
import re
import subprocess
import sys
import time

from tlogtest.namespace import become_subreaper, reap_all, require_root_ns, sh, stop_process, write_sshd_config
from tlogtest.terminal import check, fail, tmpdir

SRC = os.environ["SOURCE_ROOT"]
USER, UID = "pkgalice", 61311
GLASS, GLASS_UID = "pkgglass", 61312   # the break-glass account: local, in tlog-break-glass
LOCAL, LOCAL_UID = "pkgbob", 61313     # a local account not in it
MARK = "hello-from-the-package-test"
# What dpkg, apt, the account tools and sshd's pam_motd (at every login)
# write for themselves: not ours.
NOT_OURS = re.compile(r"^/var/(lib/dpkg|lib/apt|cache|log/apt|log/dpkg\.log|log/alternatives\.log|backups)(/|$)"
                      r"|^/etc/(ld\.so\.cache|passwd-|group-|shadow-|gshadow-)$|^/run/motd\.dynamic$")


def run(argv, timeout=600, **kw):
    r = subprocess.run(argv, capture_output=True, timeout=timeout, **kw)
    return r.returncode, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


# A fixed place to build in: dpkg-buildflags puts the source directory into
# every compiler command line (-ffile-prefix-map), so a new directory per run
# would defeat ccache and rebuild everything each time.
BUILD_DIR = "/tmp/tlog-suite-package-test"


def build(T):
    """The packages, built once from a copy of the tree (no build directories)."""
    sh("rm -rf --one-file-system %s && mkdir -p %s" % (BUILD_DIR, BUILD_DIR))
    src = BUILD_DIR + "/src"
    # What a checkout holds: no build directories, no products of an earlier
    # dpkg-buildpackage in the tree (debian/.gitignore names them).
    excl = ["/.git", "/build*", "/obj-*"] + ["/debian/" + l.strip() for l in open(SRC + "/debian/.gitignore")
                                                if l.strip() and not l.startswith("#")]
    sh("rsync -a %s %s/ %s/" % (" ".join("--exclude='%s'" % e for e in excl), SRC, src))
    rc, out = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, timeout=1800)
    check(rc == 0, "dpkg-buildpackage failed:\n" + out[-4000:])
    sh("mv %s/*.deb %s/*.changes %s/*.buildinfo %s/ && rm -rf --one-file-system %s" % ((BUILD_DIR,) * 3 + (T, BUILD_DIR)))
    debs = sorted(glob.glob(T + "/*.deb"))
    names = {os.path.basename(d).split("_")[0] for d in debs}
    check(names >= {"tlog-suite", "librec0", "librec-dev", "tlog-policy", "libnss-tlog", "libpam-tlog"},
          "packages built: %s" % sorted(names))
    return debs


def lintian(T):
    changes = glob.glob(T + "/*.changes")
    check(len(changes) == 1, "one .changes file: %s" % changes)
    rc, out = run(["lintian", "--fail-on", "error,warning,info", "--display-info",
                   "--profile", "debian", changes[0]], timeout=900)
    check(rc == 0, "lintian:\n" + out)
    return out


class Root:
    """Overlays over /usr, /etc and /var with their upper layers on a tmpfs,
    and a tmpfs /run: dpkg, apt and the maintainer scripts write there."""

    def __init__(self, T, name):
        self.up = "%s/%s" % (T, name)
        os.makedirs(self.up)
        sh("mount -t tmpfs -o mode=755 tmpfs " + self.up)
        # The package database as of now, copied under dpkg's own lock (on
        # the host's file, before the overlays): the overlays' lower layer
        # is the live host, where another apt run must not show through
        # half-done.
        with open("/var/lib/dpkg/lock-frontend", "a") as lock:
            fcntl.lockf(lock, fcntl.LOCK_EX)
            sh("cp -a /var/lib/dpkg %s/dpkg" % self.up)
        for d in ("usr", "etc", "var"):
            os.makedirs("%s/%s-u" % (self.up, d))
            os.makedirs("%s/%s-w" % (self.up, d))
            sh("mount -t overlay overlay -o lowerdir=/{d},upperdir={u}/{d}-u,workdir={u}/{d}-w /{d}".format(
                d=d, u=self.up))
        sh("mount --bind %s/dpkg /var/lib/dpkg" % self.up)
        sh("mount -t tmpfs -o mode=755 tmpfs /run")
        # Debian's tlog-rec needs utmp; sshd its privilege separation directory.
        sh("install -m 664 -g utmp /dev/null /run/utmp")
        os.makedirs("/run/sshd")

    def close(self):
        for d in ("/run", "/var/lib/dpkg", "/var", "/etc", "/usr"):
            subprocess.run(["umount", "-l", d])
        subprocess.run(["umount", "-l", self.up])


def snapshot():
    """Every path under /etc, /usr, /var and /run (but the package manager's
    own state)."""
    out = set()
    for top in ("/etc", "/usr", "/var", "/run"):
        for dirpath, dirs, files in os.walk(top):
            out.update(p for p in (os.path.join(dirpath, n) for n in dirs + files) if not NOT_OURS.search(p))
    return out


def apt_install(debs):
    rc, out = run(["apt-get", "install", "-y", "-q", "--no-install-recommends"] + debs,
                  env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    check(rc == 0, "apt-get install ./*.deb failed:\n" + out)
    return out


def check_installed():
    rec = "/usr/bin/tlog-rec-session"
    check(sh("stat -c %U:%G:%a " + rec).strip() == "tlog:tlog:6755", "recorder: " + sh("stat -c %U:%G:%a " + rec))
    check("tlog tlog 6755 " + rec in sh("dpkg-statoverride --list " + rec), "no statoverride for " + rec)
    check("cap_setgid=ep" in sh("getcap " + rec), "recorder lacks cap_setgid")
    check(sh("stat -c %U:%a /run/tlog").strip() == "tlog:700", "/run/tlog: " + sh("stat -c %U:%a /run/tlog"))
    check(sh("stat -c %U:%a /var/log/tlog").strip() == "tlog:750", "/var/log/tlog")
    for key in ("/etc/tlog/integrity.key", "/etc/tlog/conf-proof.key"):
        check(sh("stat -c %U:%G:%a " + key).strip() == "root:tlog:640", key + ": " + sh("stat -c %U:%G:%a " + key))
    check(open("/etc/tlog/integrity.key").readline().startswith("id: "), "the integrity key has no id line")
    check("/etc/tlog/integrity.key" in open("/etc/tlog/tlog-rec-session.conf").read(),
          "the installed system configuration does not name the key")
    # pam-auth-update placed pam_tlog: in every common stack the services
    # include, and in common-account before a `sufficient` pam_localuser.
    for f in ("common-account", "common-session", "common-session-noninteractive"):
        lines = [l.split() for l in open("/etc/pam.d/" + f) if l.strip() and not l.startswith("#")]
        mods = [l[2] if len(l) > 2 else "" for l in lines]
        check("pam_tlog.so" in mods, "%s lacks pam_tlog:\n%s" % (f, open("/etc/pam.d/" + f).read()))
        if "pam_localuser.so" in mods:
            check(mods.index("pam_tlog.so") < mods.index("pam_localuser.so"),
                  "%s: pam_tlog after pam_localuser:\n%s" % (f, open("/etc/pam.d/" + f).read()))
    # nothing recorded until there are rules
    check(os.path.exists("/var/lib/tlog/policy.cache"), "no policy cache after installing")
    check("rules: 0" in sh("tlog-policy show-cache"), "the first cache records somebody: " + sh("tlog-policy show-cache"))
    check(os.path.islink("/etc/systemd/system/paths.target.wants/tlog-policy-compile.path"),
          "the rules path unit is not enabled")
    # tlog-forward: its own account (not tlog: doc/forward.md), its unit
    # enabled (it starts once /etc/tlog/tlog-forward.conf exists).
    check(sh("getent passwd tlog-forward").strip().split(":")[-1] == "/usr/sbin/nologin",
          "no tlog-forward account: " + sh("getent passwd tlog-forward || true"))
    check(os.path.islink("/etc/systemd/system/multi-user.target.wants/tlog-forward.service"),
          "the tlog-forward unit is not enabled")
    # Every example the installed guide names is where it says.
    guide = sh("zcat /usr/share/doc/tlog-suite/admin-guide.md.gz")
    named = set(re.findall(r"/usr/share/doc/tlog-suite/examples/[\w./-]*\w", guide))
    check(len(named) >= 5, "the guide names no installed examples")
    for path in named:
        check(os.path.exists(path), "the admin guide names %s, which is not installed" % path)
    # Every page the packages install names, in SEE ALSO, pages that exist
    # here (Debian's tlog is gone: no tlog-play(8) any more).
    pages = [l.strip() for l in sh("dpkg -L tlog-suite tlog-policy libnss-tlog libpam-tlog tlog-forward").splitlines()
             if l.startswith("/usr/share/man/") and l.endswith(".gz")]
    check(len(pages) >= 8, "man pages installed: %s" % pages)
    for page in pages:
        text = sh("zcat " + page)
        see = text.split(".SH SEE ALSO", 1)[-1].split("\n.SH", 1)[0] if ".SH SEE ALSO" in text else ""
        for name, sec in re.findall(r"(?m)^\.BR? (\S+) \((\d)\)", see):
            check(run(["man", "-w", sec, name])[0] == 0, "%s: SEE ALSO %s(%s) does not resolve" % (page, name, sec))


def add_directory_user(T):
    """A directory user (libnss-extrausers stands in for sss/LDAP), with an ssh key."""
    home = "%s/home/%s" % (T, USER)
    shutil.rmtree(home, ignore_errors=True)   # from an earlier phase
    os.makedirs(home + "/.ssh")
    sh("rm -f {0}/userkey {0}/userkey.pub && ssh-keygen -q -t ed25519 -N '' -f {0}/userkey".format(T))
    sh("cp %s/userkey.pub %s/.ssh/authorized_keys && chown -R %d:%d %s" % (T, home, UID, UID, home))
    os.makedirs("/var/lib/extrausers", exist_ok=True)
    for f, line in (("passwd", "%s:x:%d:%d::%s:/bin/bash\n" % (USER, UID, UID, home)),
                    ("group", "%s:x:%d:\n" % (USER, UID)), ("shadow", "%s:*:19000:0:99999:7:::\n" % USER)):
        with open("/var/lib/extrausers/" + f, "w") as out:
            out.write(line)
    # The recommended order (admin guide): local accounts, then tlog in front
    # of the directory; the host's other sources stay.
    text = open("/etc/nsswitch.conf").read()
    text = re.sub(r"(?m)^passwd:.*$", "passwd:         files tlog extrausers systemd sss", text)
    text = re.sub(r"(?m)^group:.*$", "group:          files extrausers systemd sss", text)
    text = re.sub(r"(?m)^shadow:.*$", "shadow:         files extrausers", text)
    with open("/etc/nsswitch.conf", "w") as out:
        out.write(text)


def shell_of(user):
    return sh("getent passwd " + user).strip().split(":")[-1]


def write_rules():
    with open("/etc/tlog/rules.yaml", "w") as f:
        f.write("version: 1\ndefault: exclude\nrules:\n  - name: package-test\n    action: record\n"
                "    users: [%s]\n    services: [sshd]\n" % USER)
    # What the path unit runs when the file changes (no systemd as PID 1 here).
    unit = open("/lib/systemd/system/tlog-policy-compile.service").read()
    cmd = re.search(r"(?m)^ExecStart=(.*)$", unit).group(1)
    sh(cmd)


def sshd(T):
    sh("rm -f %s/hostkey* && ssh-keygen -q -t ed25519 -N '' -f %s/hostkey" % (T, T))
    port = 23000 + os.getpid() % 9000
    conf = write_sshd_config(T, port)
    log = T + "/sshd.log"
    if os.path.exists(log):   # an earlier sshd's "Server listening" must not count
        os.unlink(log)
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", conf, "-E", log])
    end = time.time() + 30
    while time.time() < end and proc.poll() is None:
        if os.path.exists(log) and "Server listening" in open(log).read():
            return proc, port
        time.sleep(0.1)
    fail("sshd did not start: " + (open(log).read() if os.path.exists(log) else ""))


def ssh(T, port, cmd, user=USER):
    return run(["ssh", "-i", T + "/userkey", "-p", str(port), "-o", "StrictHostKeyChecking=no", "-o",
                "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
                "%s@127.0.0.1" % user, cmd], timeout=120, stdin=subprocess.DEVNULL)


def login_play_verify(T):
    """A recorded ssh login, played and verified with the installed programs."""
    add_directory_user(T)
    check(shell_of(USER) == "/bin/bash", "recorded before any rule: " + shell_of(USER))
    write_rules()
    check(shell_of(USER) == "/usr/bin/tlog-rec-session", "not given the recorder: " + shell_of(USER))
    proc, port = sshd(T)
    try:
        # The output (MARK-42) exists only if the shell ran the command.
        rc, out = ssh(T, port, "echo %s-$((6*7))" % MARK)
        check(rc == 0 and MARK + "-42" in out, "recorded login failed (%d): %s\nsshd: %s" % (rc, out, open(T + "/sshd.log").read()))
    finally:
        stop_process(proc)
    log = "/var/log/tlog/sessions.log"
    end = time.time() + 30
    while time.time() < end and not (os.path.exists(log) and '"end"' in open(log).read()):
        time.sleep(0.1)
    check(os.path.exists(log), "no recording in " + log)
    check(sh("stat -c %U:%a " + log).strip() == "tlog:600", "recording file: " + sh("stat -c %U:%a " + log))
    rec = sh("tlog-play --list -i " + log)
    check('"mac_alg":"hmac-sha256"' in open(log).read(), "the recording's chain is not keyed")
    rc, text = run(["tlog-play", "-i", log, "--export", "text"])
    check(rc == 0 and MARK + "-42" in text, "tlog-play does not show the session (%d): %s\n%s" % (rc, text, rec))
    rc, keyed = run(["tlog-play", "--verify", "--key", "/etc/tlog/integrity.key", "-i", log])
    check(rc == 0 and "intact" in keyed, "not intact with the key (%d): %s" % (rc, keyed))
    rc, unkeyed = run(["tlog-play", "--verify", "-i", log])
    check(rc != 0 and "intact" not in unkeyed.replace("not intact", ""),
          "verifies without the key, so it is not keyed (%d): %s" % (rc, unkeyed))
    # logrotate with the installed file: the recording is renamed whole (no
    # copy, no truncation), still intact, and no empty file is made for it.
    rc, out = run(["logrotate", "-f", "-v", "-s", T + "/logrotate.state", "/etc/logrotate.d/tlog-suite"])
    check(rc == 0 and "error" not in out.lower(), "logrotate (%d): %s" % (rc, out))
    check(not os.path.exists(log) and os.path.exists(log + ".1"), "not rotated: %s" % os.listdir("/var/log/tlog"))
    rc, keyed = run(["tlog-play", "--verify", "--key", "/etc/tlog/integrity.key", "-i", log + ".1"])
    check(rc == 0 and "intact" in keyed, "rotated recording not intact (%d): %s" % (rc, keyed))
    return log + ".1"


def break_glass(T):
    """The recommended passwd line and the packages' PAM lines: with the
    cache missing, then corrupt, lookups still work (daemons go on), the
    recorded user and an ordinary local user are refused (pam_tlog fails
    closed), and the local break-glass account gets in."""
    home = T + "/home/"
    for name, uid in ((GLASS, GLASS_UID), (LOCAL, LOCAL_UID)):
        sh("useradd -r -M -d %s%s -s /bin/bash -u %d %s && usermod -p '*' %s" % (home, name, uid, name, name))
        os.makedirs(home + name + "/.ssh")
        sh("cp %s/userkey.pub %s%s/.ssh/authorized_keys && chown -R %s %s%s" % (T, home, name, name, home, name))
    sh("addgroup --system tlog-break-glass && adduser %s tlog-break-glass" % GLASS)
    cache = "/var/lib/tlog/policy.cache"
    good = open(cache, "rb").read()
    proc, port = sshd(T)
    try:
        for what in ("missing", "corrupt"):
            if what == "missing":
                os.unlink(cache)
            else:
                with open(cache, "wb") as f:
                    f.write(b"TLOGPOL\0" + b"\xff" * 200)
            check(shell_of("root").endswith("sh") and shell_of(USER) == "/bin/bash",
                  "cache %s: lookups fail or give the recorder: root %s, %s %s"
                  % (what, shell_of("root"), USER, shell_of(USER)))
            for user, ok in ((USER, False), (LOCAL, False), (GLASS, True)):
                rc, out = ssh(T, port, "echo in-as-$(id -un)", user=user)
                got = rc == 0 and ("in-as-" + user) in out
                check(got == ok, "cache %s: %s %s (%d): %s\nsshd: %s" % (
                    what, user, "refused" if ok else "let in", rc, out, open(T + "/sshd.log").read()[-2000:]))
    finally:
        stop_process(proc)
    with open(cache, "wb") as f:
        f.write(good)
    for name in (GLASS, LOCAL):
        sh("userdel %s" % name)
    sh("delgroup --system tlog-break-glass")


def phase_clean(T, debs):
    root = Root(T, "clean")
    try:
        rc, out = run(["dpkg", "--purge", "tlog", "libtlog0"])
        check(rc == 0, "purging Debian's tlog: " + out)
        before = snapshot()
        pam_before = {f: open("/etc/pam.d/" + f).read() for f in os.listdir("/etc/pam.d") if f.startswith("common-")}
        ids_before = {f: open("/etc/" + f).read() for f in ("passwd", "group", "shadow", "gshadow", "shells")}
        apt_install(debs)
        check_installed()
        log = login_play_verify(T)
        break_glass(T)
        # The administrator archives the recordings, then purges.
        shutil.move(log, T + "/archived.log")
        with open("/etc/nsswitch.conf") as f:
            ns = f.read()
        rc, out = run(["apt-get", "purge", "-y", "-q", "tlog-suite", "librec0", "librec-dev", "tlog-policy",
                       "libnss-tlog", "libpam-tlog"], env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        check(rc == 0, "purge failed:\n" + out)
        check("tlog" not in re.search(r"(?m)^passwd:.*$", open("/etc/nsswitch.conf").read()).group(0),
              "nsswitch.conf still names tlog after removal")
        with open("/etc/nsswitch.conf", "w") as f:   # the test's own edit, undone to compare
            f.write(ns)
        after = snapshot()
        left = sorted(p for p in set(after) - set(before)
                      if not p.startswith(("/var/lib/extrausers", "/etc/nsswitch.conf")))
        check(not left, "left behind after purge:\n" + "\n".join(left))
        for f, text in pam_before.items():
            check(open("/etc/pam.d/" + f).read() == text, "/etc/pam.d/%s changed by install and purge:\n%s"
                  % (f, open("/etc/pam.d/" + f).read()))
        for f, text in ids_before.items():
            check(open("/etc/" + f).read() == text, "/etc/%s changed by install and purge" % f)
        check(run(["dpkg-statoverride", "--list", "/usr/bin/tlog-rec-session"])[0] != 0, "statoverride left")
    finally:
        reap_all()
        root.close()


def phase_over_tlog(T, debs):
    root = Root(T, "over")
    try:
        rc, out = run(["dpkg-query", "-W", "-f=${Status}", "tlog"])
        check(out.strip() == "install ok installed", "Debian's tlog is not installed on this machine: " + out)
        apt_install(debs)
        rc, out = run(["dpkg-query", "-W", "-f=${Status}", "tlog"])
        check("ok installed" not in out, "Debian's tlog is still installed: " + out)
        rc, out = run(["apt-get", "-s", "-q", "upgrade"])
        check(rc == 0 and not re.search(r"(?m)^Inst tlog ", out), "an upgrade brings Debian's tlog back:\n" + out)
        check_installed()
        log = login_play_verify(T)
        rc, out = run(["apt-get", "purge", "-y", "-q", "tlog-suite", "librec0", "librec-dev", "tlog-policy",
                       "libnss-tlog", "libpam-tlog"], env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        check(rc == 0, "purge failed:\n" + out)
        # Recordings are evidence: kept with their key and their owner.
        check(os.path.exists(log), "purge deleted the recordings")
        check(os.path.exists("/etc/tlog/integrity.key"), "purge deleted the key of kept recordings")
        check(run(["getent", "passwd", "tlog"])[0] == 0, "purge deleted the owner of kept recordings")
    finally:
        reap_all()
        root.close()


def main():
    require_root_ns()
    become_subreaper()
    T = tmpdir()
    os.chmod(T, 0o755)
    debs = [d for d in build(T) if "-dbgsym" not in d]
    phases = sys.argv[1:] or ["clean", "over-tlog", "lintian"]
    for p in phases:
        if p == "lintian":
            print(lintian(T))
        else:
            {"clean": phase_clean, "over-tlog": phase_over_tlog}[p](T, debs)
        print("ok", p)


if __name__ == "__main__":
    main()
