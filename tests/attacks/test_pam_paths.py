#!/usr/bin/env python3
"""Logins pam_tlog records that could run without the recorder, through a
real sshd and su (suite e2e, root, run through tests/recorder/run_ns.sh).
Usage: test_pam_paths.py CASE

internal_sftp  sshd serves SFTP in-process (`Subsystem sftp internal-sftp`):
               the transfer works, nothing is recorded, and close_session
               says so in the auth log and in a real auditd's log.
shells_listed  the recorder in /etc/shells lets `su -s /bin/bash` choose
               another shell: pam_tlog refuses su for a recorded target;
               with the recorder not listed, su ignores -s and records."""
import os
import re
import subprocess
import sys
import time

from tlogtest.terminal import check
from tlogtest.namespace import sh
from tlogtest.login import Auditd, CAROL_PASSWORD, NEVER_STARTED, announced_rec, audit_field, raw_records, run_case, wait_for

def case_internal_sftp(e):
    a = Auditd(e.T)
    try:
        T = e.T
        with open(T + "/upload.bin", "wb") as f:
            f.write(b"sftp-payload-" + bytes(range(256)) * 8)
        with open(T + "/batch", "w") as f:
            f.write("put %s/upload.bin up.bin\nget up.bin %s/down.bin\nls -l\n" % (T, T))
        argv = ["/usr/bin/sftp", "-b", T + "/batch", "-i", T + "/userkey", "-P", str(e.port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "BatchMode=yes", "alice@127.0.0.1"]
        r = subprocess.run(argv, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        check(r.returncode == 0, "sftp failed: %r %r" % (r.stdout, r.stderr))
        sent = open(T + "/upload.bin", "rb").read()
        check(open(T + "/home/alice/up.bin", "rb").read() == sent, "the upload did not arrive whole")
        check(open(T + "/down.bin", "rb").read() == sent, "the download did not come back whole")
        # the bypass itself: sshd never ran the login shell
        check(not e.recordings(), "internal-sftp was recorded? %r" % list(e.recordings()))
        log = e.syslog.text(wait_for=NEVER_STARTED)
        rec = announced_rec(log, "alice", "sshd")
        check("rec %s: %s" % (rec, NEVER_STARTED) in log,
              "no \"never started\" line for rec %s: %s" % (rec, log[-3000:]))
        check(re.search(r"(?m)^authpriv\.err .*rec %s: the announced recording never started" % re.escape(rec), log),
              "the \"never started\" line is not authpriv.err: %s" % log[-3000:])
        check("rec %s: recorded, ended" % rec not in log, "a recording was reported as ended: %s" % log[-3000:])
        wait_for(lambda: raw_records(a, "tlog-session-unrecorded", rec), "the unrecorded audit record", 10)
        lines = raw_records(a, "tlog-session-unrecorded", rec)
        print("\n".join(lines))
        check(len(lines) == 1, "expected one tlog-session-unrecorded record for %s: %s" % (rec, lines))
        line = lines[0]
        for name, want in (("service", "sshd"), ("acct", "alice"), ("rhost", "127.0.0.1"), ("rule", "ssh-operators"),
                           ("reason", "the login program did not run the recorder")):
            check(audit_field(line, name) == want, "unrecorded record: %s=%r, expected %r: %s"
                  % (name, audit_field(line, name), want, line))
        check("res=failed" in line, "unrecorded record not res=failed: %s" % line)
        check(not raw_records(a, "tlog-session-end", rec), "an end record for a recording that never started")
        check(raw_records(a, "tlog-session-start", rec), "no start record for rec %s" % rec)
    finally:
        a.stop()


def su_shell(e, outer, target, shell_cmd):
    """ssh -tt as `outer`, then `su -s /bin/bash TARGET -c CMD` with the
    target's password; returns everything the client received."""
    p = e.ssh_tty(outer)
    time.sleep(0.8)
    p.write("su -s /bin/bash %s -c '%s'; echo su-status=$?\r" % (target, shell_cmd))
    p.read_until("Password:")
    p.write(CAROL_PASSWORD + "\r")
    end = time.time() + 20   # the echoed command line says "su-status=$?"
    while not re.search(rb"su-status=\d+", p.out):
        check(time.time() < end, "su did not finish: %r" % p.out[-1500:])
        d = p._read(0.5)
        if d:
            p.out += d
    p.write("exit\r")
    p.wait(30)
    return p.out


def case_shells_listed(e):
    """carol is recorded for su (becoming-carol); bob is not recorded."""
    a = Auditd(e.T)
    try:
        T = e.T
        shells = T + "/shells"
        with open(shells, "w") as f:
            f.write("# /etc/shells: valid login shells\n/bin/sh\n/usr/bin/bash\n%s\n/bin/bash\n" % e.rec)
        sh("mount --bind %s /etc/shells" % shells)
        out = su_shell(e, "bob", "carol", "echo as-$(id -un)-$((5*5))")
        if os.environ.get("E2E_DEBUG"):
            print(out.decode(errors="replace"))
        check(b"as-carol-25" not in out, "su -s ran the chosen shell: %r" % out[-1500:])
        check(re.search(rb"su-status=[1-9]", out), "su did not fail: %r" % out[-1500:])
        log = e.syslog.text(wait_for="remove-shell")
        want = ("account: carol (service su): the recorder %s is listed in /etc/shells (line 4), so su -s, "
                "runuser -s and chsh let a recorded user run another shell; fix: remove-shell %s [denied]"
                % (e.rec, e.rec))
        check(want in log, "no denial line naming the file, line and fix: %s" % log[-3000:])
        check(not e.recordings(), "a denied su was recorded")
        wait_for(lambda: [l for l in raw_records(a, "tlog-session-denied") if audit_field(l, "acct") == "carol"],
                 "the denial audit record", 10)
        lines = [l for l in raw_records(a, "tlog-session-denied") if audit_field(l, "acct") == "carol"]
        print("\n".join(lines))
        check(audit_field(lines[0], "service") == "su" and "res=failed" in lines[0], "denial record: %s" % lines[0])
        check("is listed in /etc/shells (line 4)" in (audit_field(lines[0], "reason") or ""),
              "denial record reason: %s" % lines[0])

        # the fix: remove-shell; su now treats the recorder as restricted
        with open(shells, "w") as f:   # in place: keeps the bind mount
            f.write("# /etc/shells: valid login shells\n/bin/sh\n/usr/bin/bash\n/bin/bash\n")
        out = su_shell(e, "bob", "carol", "echo as-$(id -un)-$((5*5))")
        check(b"using restricted shell " + e.rec.encode() in out, "su did not say \"using restricted shell\": %r"
              % out[-1500:])
        check(b"as-carol-25" in out and b"su-status=0" in out, "su failed: %r" % out[-1500:])
        e.wait_ended()
        recs = e.recordings()
        check(len(recs) == 1, "su -s with the recorder not listed: %d recordings" % len(recs))
        rec, msgs = next(iter(recs.items()))
        check(msgs[0]["user"] == "carol", "recording user %r" % msgs[0]["user"])
        check(b"as-carol-25" in e.output(rec), "the su session's output is not in the recording")
    finally:
        a.stop()


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}


def main():
    case = sys.argv[1]
    sftp = case == "internal_sftp"
    run_case(CASES, case, sshd_extra="Subsystem sftp internal-sftp" if sftp else "",
             pam_args="debug audit=required" if sftp else "debug")


if __name__ == "__main__":
    main()
    print("ok")
