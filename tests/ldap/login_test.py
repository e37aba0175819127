"""The sshd end-to-end login with the rules coming from LDAP: a real slapd
(FreeIPA-shaped tree, a user recorded through nested groups), tlog-policy
sync writing the cache the login path reads, then the directory stopped
(SIGSTOP) while users log in: logins go on at full speed with the last good
rules, sync keeps the cache and says how old it is. A rule disabled in the
directory stops recording after the next sync."""
import os
import signal
import subprocess
import time

from tlogtest.login import TLOG_POLICY, Login
from tlogtest.slapd import ROOT_PW, Dit, Slapd
from tlogtest.terminal import check

S = "dc=example,dc=com"
GEN = os.environ["BUILD_ROOT"] + "/ldap-schema"


def run(*args):
    return subprocess.run([TLOG_POLICY] + list(args), capture_output=True, text=True, timeout=60)


e = Login("tlog-first", rules="version: 1\ndefault: exclude\nrecorder: /usr/bin/tlog-rec-session\n")
s = None
try:
    s = Slapd(e.T, [GEN + "/freeipa-compat.ldif", GEN + "/tlog.ldif"]).start()
    d = Dit(S)
    alice, bob = d.user("alice", 61011, 61011), d.user("bob", 61012, 61012)
    inner = d.group("ops-inner", 9001, [alice])
    d.group("ops", 9000, [inner])  # alice only through the nested group
    d.service("sshd")
    d.rule("record-ops", [("tlogAction", "record"), ("memberUser", d.group_dn("ops")), ("hostCategory", "all"),
                          ("memberService", d.service_dn("sshd")), ("tlogLogInput", "TRUE")])
    s.modify(d.ldif())
    conf = e.T + "/ldap.yaml"
    with open(conf, "w") as f:
        f.write(f"uri: {s.uri}\nbase: {S}\nhost: {os.uname().nodename}\ntimeout: 1\n")
    sync = ["sync", "--rules", e.T + "/rules.yaml", "--ldap", conf, "--output", "/var/lib/tlog/policy.cache"]
    r = run(*sync)
    check(r.returncode == 0 and "synced 1 rules" in r.stdout, f"sync: {r.stdout}{r.stderr}")

    r = e.ssh_cmd("alice", "echo ldap-rec-$((6*7))")
    check(r.returncode == 0 and r.stdout == b"ldap-rec-42\n", f"alice: {r.returncode} {r.stdout!r} {r.stderr!r}")
    e.wait_ended()
    recs = e.recordings()
    check(len(recs) == 1 and next(iter(recs.values()))[0]["user"] == "alice",
          "alice (in ops through a nested group in LDAP) was not recorded")
    r = e.ssh_cmd("bob", "echo plain")
    check(r.returncode == 0 and r.stdout == b"plain\n", f"bob: {r.stdout!r} {r.stderr!r}")
    check(len(e.recordings()) == 1, "bob, whom no LDAP rule names, was recorded")

    # The directory stops answering: logins do not wait for it.
    os.kill(s.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        r = run(*sync)
        el = time.monotonic() - t0
        check(r.returncode == 1 and el < 4 and "the last good rules stay in force" in r.stderr and " s old" in r.stderr,
              f"sync against a stopped slapd ({el:.1f} s): {r.stderr}")
        t0 = time.monotonic()
        r = e.ssh_cmd("alice", "echo still-recorded")
        el = time.monotonic() - t0
        check(r.returncode == 0 and r.stdout == b"still-recorded\n", f"alice with slapd stopped: {r.stderr!r}")
        check(el < 10, f"a login took {el:.1f} s while the directory was stopped")
        e.wait_ended()
        check(len(e.recordings()) == 2, "with slapd stopped, the last good rules no longer recorded alice")
    finally:
        os.kill(s.proc.pid, signal.SIGCONT)

    # Disabled in the directory: after the next sync alice is not recorded.
    with open(e.T + "/admin.pw", "w") as f:
        f.write(ROOT_PW + "\n")
    os.chmod(e.T + "/admin.pw", 0o600)
    r = run("ldap", "disable", "record-ops", "--ldap", conf, "--bind", "simple", "--bind-dn", s.rootdn,
            "--password-file", e.T + "/admin.pw")
    check(r.returncode == 0, f"ldap disable: {r.stdout}{r.stderr}")
    r = run(*sync)
    check(r.returncode == 0, f"sync: {r.stderr}")
    r = e.ssh_cmd("alice", "echo now-plain")
    check(r.returncode == 0 and r.stdout == b"now-plain\n", f"alice after disable: {r.stderr!r}")
    time.sleep(0.5)
    check(len(e.recordings()) == 2, "alice was recorded after her rule was disabled in the directory")

    # The directory killed: sync fails fast and keeps the cache, logins go on.
    s.proc.kill()
    s.proc.wait()
    s.proc = None
    t0 = time.monotonic()
    r = run(*sync)
    check(r.returncode == 1 and time.monotonic() - t0 < 4 and "stay in force" in r.stderr,
          f"sync against a killed slapd: {r.stderr}")
    t0 = time.monotonic()
    r = e.ssh_cmd("bob", "echo after-kill")
    check(r.returncode == 0 and r.stdout == b"after-kill\n" and time.monotonic() - t0 < 10,
          f"a login with the directory killed: {r.stderr!r}")
finally:
    if s:
        s.stop()
    e.close()
print("ok: sshd login with rules from LDAP")
