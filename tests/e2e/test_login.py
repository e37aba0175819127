#!/usr/bin/env python3
"""End to end through a real sshd with pam_tlog and nss_tlog (suite e2e,
root, run through tests/recorder/run_ns.sh). Usage: test_login.py ORDER CASE
ORDER: tlog-first (passwd: tlog files; local users recorded) or directory
(passwd: files tlog extrausers; directory users recorded)."""
import os
import re
import shlex
import json
import signal
import subprocess
import sys
import time

from tlogtest.terminal import check, decode
from tlogtest.namespace import sh, stop_process
from tlogtest.login import Auditd, BUILD, CAROL_PASSWORD, SRC, USERS, run_case, wait_for


def recorded_user(order):
    return "alice" if order == "tlog-first" else "dave"


def unrecorded_user(order):
    return "bob" if order == "tlog-first" else "frank"


def case_recorded_login(e):
    """ssh -tt: output, user, host, audit session, input, byte-exact playback."""
    user = recorded_user(e.order)
    p = e.ssh_tty(user)
    p.read_until("ATTENTION! Your session is being recorded!")
    time.sleep(0.3)
    p.write("echo marker-$((6*7)); printf 'raw:\\377\\376:\\xe2\\x82\\xac:end\\n'; id -un\r")
    p.read_until("marker-42")
    p.read_until(":end")
    p.write("exit\r")
    check(p.wait(30) == 0, "ssh -tt exit status")
    e.wait_ended()
    recs = e.recordings()
    check(len(recs) == 1, "one recording expected, got %d" % len(recs))
    rec, msgs = next(iter(recs.items()))
    m = msgs[0]
    check(m["user"] == user, "user field %r" % m["user"])
    check(m["host"] == os.uname().nodename, "host field %r" % m["host"])
    check(m["session"] != 4294967295, "no audit session id (pam_loginuid before pam_tlog)")
    out = e.output(rec)
    check(b"marker-42" in out and ("%s\r\n" % user).encode() in out, "commands' output not recorded")
    # byte-exact: the raw bytes (invalid UTF-8 included) as the client saw them
    check(b"raw:\xff\xfe:\xe2\x82\xac:end" in out, "invalid UTF-8 not byte-exact in the recording")
    check(out in p.out, "recorded output is not exactly what the terminal received")
    evs, verdict = decode(e.log, rec)
    check(b"echo marker" in b"".join(d for _, k, d in evs if k == "i"), "input not recorded (rule: input true)")
    # pam_tlog's recording id is the recording's id (audit record <-> recording)
    log = e.syslog.text(wait_for="rec " + rec)
    check("recording %s (service sshd" % user in log and "rec " + rec in log,
          "pam_tlog log line with the recording id missing: %s" % log[-2000:])
    check(msgs[-1].get("end") == "exit", "end %r" % msgs[-1].get("end"))
    # close_session found the recorder's marker: recorded, ended, and gone
    log = e.syslog.text(wait_for="rec %s: recorded" % rec)
    check("rec %s: recorded, ended (exit)" % rec in log, "no close_session report: %s" % log[-2000:])
    # removed right after that line is logged: wait for it, not a fixed time
    wait_for(lambda: not [f for f in os.listdir("/run/tlog") if f.startswith("rec.")], "the markers to be removed", 10)


def case_not_recorded(e):
    """A user no rule names and an excluded user: no recording, no variables."""
    for user in (unrecorded_user(e.order), "eve" if e.order == "tlog-first" else None):
        if not user:
            continue
        r = e.ssh_cmd(user, "echo plain-$(id -un); env | grep -c ^TLOG_ || true")
        check(r.returncode == 0, "%s: ssh failed: %r" % (user, r.stderr))
        check(r.stdout == b"plain-%s\n0\n" % user.encode(), "%s: output %r" % (user, r.stdout))
    check(not e.recordings(), "an unrecorded user was recorded")


def case_ssh_command(e):
    """`ssh host cmd` without a pty is recorded (rules name all session kinds)."""
    user = recorded_user(e.order)
    r = e.ssh_cmd(user, "echo cmd-out-$((7*6)); exit 5")
    check(r.returncode == 5, "status %d %r" % (r.returncode, r.stderr))
    check(r.stdout == b"cmd-out-42\n", "stdout %r" % r.stdout)
    e.wait_ended()
    recs = e.recordings()
    check(len(recs) == 1, "recordings: %d" % len(recs))
    rec = next(iter(recs))
    check(e.output(rec) == b"cmd-out-42\n", "recorded %r" % e.output(rec))


def read_after(p, mark, pattern, timeout=15):
    """Reads until `pattern` appears in the output after offset `mark`."""
    end = time.time() + timeout
    while pattern not in p.out[mark:]:
        check(time.time() < end, "timeout waiting for %r after %d: %r" % (pattern, mark, p.out[-500:]))
        d = p._read(0.2)
        if d:
            p.out += d


def su_session(e, outer_user, expect):
    p = e.ssh_tty(outer_user)
    time.sleep(0.8)
    p.write("su - carol -c 'echo as-$(id -un)-$((5*5))'\r")
    p.read_until("Password:")
    p.write(CAROL_PASSWORD + "\r")
    p.read_until("as-carol-25")
    # back at the outer prompt before typing on (type-ahead would go to su's shell)
    read_after(p, p.out.rindex(b"as-carol-25"), b"$ ")
    p.write("exit\r")
    p.wait(30)
    if os.environ.get("E2E_DEBUG"):
        debug_dump(e, p)
    return p


def case_su_rules(e):
    check(e.order == "tlog-first", "su_rules needs local users recorded: the tlog-first order")
    """carol is recorded for su, sudo, runuser and login, not sshd: her ssh
    login is not recorded, `su - carol` from an unrecorded session is
    (nested, the outer not recorded), and inside
    a recorded session `su - carol` is not recorded twice."""
    # 1. carol's own ssh login: NSS gives her the recorder (recorded for su);
    #    pam_tlog hands the recorder a proven "not recorded"
    r = e.ssh_cmd("carol", "echo carol-ssh")
    check(r.returncode == 0 and r.stdout == b"carol-ssh\n", "carol ssh: %r %r" % (r.stdout, r.stderr))
    check(not e.recordings(), "carol's ssh login was recorded (rule becoming-carol names no sshd)")
    # 2. bob (not recorded) runs su - carol: that nested session is recorded
    su_session(e, "bob", True)
    e.wait_ended()
    recs = e.recordings()
    check(len(recs) == 1, "su from an unrecorded session: %d recordings" % len(recs))
    rec, msgs = next(iter(recs.items()))
    check(msgs[0]["user"] == "carol", "su recording user %r" % msgs[0]["user"])
    check(b"as-carol-25" in e.output(rec), "su session output not recorded")
    os.unlink(e.log)
    # 3. alice (recorded for sshd) runs su - carol: one recording, alice's
    su_session(e, "alice", True)
    e.wait_ended()
    recs = e.recordings()
    check(len(recs) == 1, "nested su recorded twice: %d recordings" % len(recs))
    rec, msgs = next(iter(recs.items()))
    check(msgs[0]["user"] == "alice", "outer recording user %r" % msgs[0]["user"])
    check(b"as-carol-25" in e.output(rec), "the outer recording misses the su session")


def case_hidden_password(e):
    """The real login path with input recorded (the rule's input: true):
    carol's password typed at su's prompt inside alice's recorded session
    is not in the recording, an in_hidden span says it was typed, the chain
    is intact. A rule's input_secrets: record (passed on by pam_tlog with
    its proof) records it."""
    check(e.order == "tlog-first", "hidden_password needs local users recorded: the tlog-first order")
    pw = CAROL_PASSWORD.encode()
    su_session(e, "alice", True)
    e.wait_ended()
    recs = e.recordings()
    check(len(recs) == 1, "one recording expected, got %d" % len(recs))
    rec, msgs = next(iter(recs.items()))
    check(pw not in open(e.log, "rb").read(), "the password is in the recording's bytes")
    evs, verdict = decode(e.log, rec)
    typed = b"".join(d for _, k, d in evs if k == "i")
    check(pw not in typed and pw not in b"".join(d for _, k, d in evs if k == "o"), "the password was decoded")
    check(b"su - carol -c" in typed and b"exit\r" in typed, "the other input is not recorded: %r" % typed)
    spans = [s for m in msgs for s in m.get("in_hidden", [])]
    check([s["bytes"] for s in spans] == [len(pw) + 1], "hidden spans %r" % spans)
    check(all("in_hidden" in m["mac_fields"] for m in msgs if "in_hidden" in m), "in_hidden outside the chain")
    check("intact" in verdict.lower(), "integrity: %s" % verdict)
    # The administrator's choice, through a rule.
    os.unlink(e.log)
    rules = open(SRC + "/examples/rules/login-rules.yaml").read()
    check("      input: true\n" in rules, "the example rules changed: no 'input: true' to extend")
    e.compile(rules.replace("      input: true\n", "      input: true\n      input_secrets: record\n", 1))
    su_session(e, "alice", True)
    e.wait_ended()
    rec, msgs = next(iter(e.recordings().items()))
    evs, _ = decode(e.log, rec)
    check(pw in b"".join(d for _, k, d in evs if k == "i"), "input_secrets: record from the rule was not applied")
    check(not any("in_hidden" in m for m in msgs), "spans with input_secrets: record")


def case_kind_per_session(e):
    """gina is recorded for interactive sessions only: sshd's PAM session
    cannot tell the kind, pam_tlog hands the per-kind decision to the
    recorder: `ssh host cmd` runs unrecorded, `ssh -tt` is recorded, and the
    audit start record says which kinds are recorded."""
    r = e.ssh_cmd("gina", "echo gina-cmd")
    check(r.returncode == 0 and r.stdout == b"gina-cmd\n", "ssh cmd: %r %r" % (r.stdout, r.stderr))
    check(not e.recordings(), "gina's command session was recorded (rule: interactive only)")
    p = e.ssh_tty("gina")
    p.read_until("ATTENTION")
    time.sleep(0.3)
    p.write("echo gina-$((4*4))\r")
    p.read_until("gina-16")
    p.write("exit\r")
    p.wait(30)
    e.wait_ended()
    recs = e.recordings()
    check(len(recs) == 1, "interactive: %d recordings" % len(recs))
    rec = next(iter(recs))
    check(b"gina-16" in e.output(rec), "interactive session not recorded")


def debug_dump(e, p=None):
    print("---- client output:", (p.out[-3000:] if p else b""))
    print("---- syslog:", e.syslog.text()[-4000:])
    print("---- sshd log:", e.read(e.sshd_log)[-3000:])


def case_forged_env(e):
    """Forged TLOG_* through AcceptEnv (SendEnv) and ~/.ssh/environment
    (PermitUserEnvironment): still recorded, output included, forgery logged."""
    user = recorded_user(e.order)
    home = "%s/home/%s" % (e.T, user)
    forged = '{"pam":{"record":false},"log":{"output":false}}'
    with open(home + "/.ssh/environment", "w") as f:
        f.write("TLOG_REC_CONF_TEXT=%s\nTLOG_REC_CONF_PROOF=v1:9999999999:00\n" % forged)
    env = dict(os.environ, TLOG_REC_CONF_TEXT=forged, TLOG_REC_SESSION_CONF_TEXT=forged,
               TLOG_REC_SESSION_SHELL="/bin/sh")
    r = e.ssh_cmd(user, "echo forged-$((3*3)); echo \"$TLOG_REC_SESSION_CONF_TEXT\" | grep -c record.:false",
                  "-o", "SendEnv=TLOG_*", env=env)
    if r.returncode != 0:
        debug_dump(e)
    check(r.returncode == 0, "ssh: %r %r" % (r.stdout, r.stderr))
    check(b"forged-9\n1\n" == r.stdout, "the forged variable did not even arrive: %r" % r.stdout)
    e.wait_ended()
    recs = e.recordings()
    check(len(recs) == 1, "forged record:false: %d recordings" % len(recs))
    rec = next(iter(recs))
    check(b"forged-9" in e.output(rec), "forged log.output:false was applied")
    log = e.syslog.text(wait_for="not proven")
    check("TLOG_REC_SESSION_CONF_TEXT not proven" in log and "setting 'pam.record' = false ignored" in log,
          "forgery not logged: %s" % log[-2000:])
    # ~/.ssh/environment's TLOG_REC_CONF_TEXT: PAM's proven value is what the
    # session runs with (sshd applies PAM's environment over the user's file),
    # and a forged one would fail its proof like the one above.


def case_recorder_untouchable(e):
    """kill -KILL / -STOP of the recorder from inside the session: EPERM; the
    session and its recording go on."""
    user = recorded_user(e.order)
    p = e.ssh_tty(user)
    p.read_until("ATTENTION")
    time.sleep(0.3)
    p.write("kill -KILL $PPID; echo kill=$?; kill -STOP $PPID; echo stop=$?; echo still-$((2*21))\r")
    p.read_until("still-42")
    p.write("exit\r")
    p.wait(30)
    e.wait_ended()
    rec, msgs = next(iter(e.recordings().items()))
    out = e.output(rec)
    check(b"kill=1" in out and b"stop=1" in out, "kill/stop of the recorder did not fail: %r" % out[-500:])
    check(b"still-42" in out and msgs[-1].get("end") == "exit", "recording did not go on to the end")


def case_misconfigured_shell(e):
    """The rules record the user but NSS does not give the recorder: denied,
    with a log line that says why. tlog-first: the cache names another
    recorder; directory: a local user (files answers before tlog)."""
    if e.order == "tlog-first":
        text = open(e.T + "/rules.yaml").read().replace("recorder: " + e.rec, "recorder: " + e.rec)
        # a recorder path NSS will give that is not the file pam_tlog expects:
        # simulate a stale cache by making the user's NSS shell differ
        e.compile(text.replace("users: [alice, dave, eve]", "users: [alice, dave, eve, bob]")
                  .replace("name: ssh-operators", "name: ssh-operators"))
        # bob is now recorded by the cache; give his NSS view the plain shell
        # by answering him before tlog: move the passwd line to the front
        with open("/etc/nsswitch.conf") as f:
            ns = f.read()
        with open("/etc/nsswitch.conf", "w") as f:   # in place: keeps the bind mount
            f.write(ns.replace("passwd:         tlog [UNAVAIL=return] files", "passwd:         files tlog"))
        user = "bob"
    else:
        user = "alice"   # local: files answers before tlog, so she keeps /bin/bash
    r = e.ssh_cmd(user, "echo should-not-run")
    check(r.returncode != 0 and b"should-not-run" not in r.stdout, "misconfigured login was let in: %r" % r.stdout)
    log = e.syslog.text(wait_for="NSS gives the shell")
    check("account: denying %s (service sshd)" % user in log and "not the recorder" in log,
          "no log line saying why: %s" % log[-2000:])
    check(not e.recordings(), "a denied login was recorded")


def case_auditd(e):
    """A real auditd captures pam_tlog's start and end records (audit=required
    in this test's stack), and their rec= is the recording's id."""
    a = Auditd(e.T)
    try:
        user = recorded_user(e.order)
        r = e.ssh_cmd(user, "echo audited-$((8*8))")
        check(r.returncode == 0 and r.stdout == b"audited-64\n", "ssh: %r %r" % (r.stdout, r.stderr))
        e.wait_ended()
        rec = next(iter(e.recordings()))
        # kernel audit is host-wide: other tests' logins are in this log too
        ops = ("op=tlog-session-end rec=" + rec + " ", "op=tlog-session-unrecorded rec=" + rec + " ")
        wait_for(lambda: any(op in a.search("-m", "TRUSTED_APP") for op in ops), "the end record", 10)
        out = a.search("-m", "TRUSTED_APP")
        print(out)
        check(ops[1] not in out, "pam_tlog reported recording %s as not recorded although it was: the recorder "
              "left no marker in /run/tlog (tlog::marker, pam_tlog(8) CLOSE_SESSION REPORT)" % rec)
        for op in ("tlog-session-start", "tlog-session-end"):
            recs = [l for l in out.splitlines() if "op=" + op in l and "rec=" + rec + " " in l]
            check(recs, "no %s audit record: %s" % (op, out))
            line = recs[0]
            for want in ("rec=" + rec, "rule=ssh-operators", "service=sshd", "acct=" + user, "rhost=127.0.0.1"):
                check(want in line, "%s record lacks %s: %s" % (op, want, line))
        # an audit search by the recording id finds the login
        check("tlog-session-start" in a.search("-m", "TRUSTED_APP", "--session",
                                               str(e.recordings()[rec][0]["session"])),
              "ausearch --session of the recording's audit session finds no start record")
    finally:
        a.stop()


def case_audit_json(e):
    """tlog-audit joins the kernel's events of a recorded ssh login to its
    recording: the commands' EXECVE and PATH events carry the recording's
    audit session and rec, --rec lists them, in time order."""
    user = recorded_user(e.order)
    uid = USERS[user][0]
    rule = ["-a", "always,exit", "-F", "arch=b64", "-S", "execve", "-F", "auid=%d" % uid, "-k", "tlog-e2e"]
    a = Auditd(e.T)
    try:
        sh("auditctl -b 8192")
        sh("auditctl " + " ".join(rule))
        r = e.ssh_cmd(user, "/bin/sh -c '/bin/echo audited-json; /bin/ls /etc/hostname'")
        check(r.returncode == 0 and b"audited-json" in r.stdout, "ssh: %r %r" % (r.stdout, r.stderr))
        e.wait_ended()
        rec = next(iter(e.recordings()))
        ses = e.recordings()[rec][0]["session"]
        wait_for(lambda: "op=tlog-session-end rec=" + rec + " " in a.search("-m", "TRUSTED_APP"), "the end record", 20)
    finally:
        subprocess.run(["auditctl", "-d"] + rule[1:], capture_output=True)
        a.stop()
    tool = BUILD + "/audit/programs/tlog-audit"
    out = subprocess.run([tool, a.log], capture_output=True, timeout=120)
    check(out.returncode == 0, "tlog-audit: %r" % out.stderr)
    events = [json.loads(l) for l in out.stdout.decode().splitlines()]
    mine = [ev for ev in events if ev.get("rec") == rec]
    check(mine and all(ev["ses"] == ses for ev in mine), "events with rec %s: %r" % (rec, [(ev["serial"], ev["ses"]) for ev in mine]))
    execs = {tuple(ev["argv"]): ev for ev in mine if ev.get("syscall") == "execve" and "argv" in ev}
    echo = execs.get(("/bin/echo", "audited-json"))
    ls = execs.get(("/bin/ls", "/etc/hostname"))
    check(echo and ls, "the commands' execs with rec: %r" % list(execs))
    check(echo["paths"][0]["name"] == "/bin/echo" and echo["auid"] == uid, "echo event: %r" % echo)
    check([p["exe"] for p in ls["parents"]][:1] == ["/usr/bin/dash"], "ls's parent chain: %r" % ls.get("parents"))
    check(not [ev for ev in events if ev.get("syscall") == "execve" and ev["ses"] == ses and ev.get("rec") != rec
               and ev["serial"] > min(x["serial"] for x in mine)], "an exec of the session without rec")
    by_rec = subprocess.run([tool, "--rec", rec, a.log], capture_output=True, timeout=120)
    listed = [json.loads(l) for l in by_rec.stdout.decode().splitlines()]
    check(by_rec.returncode == 0 and {ev["serial"] for ev in mine} <= {ev["serial"] for ev in listed}
          and all(ev["ses"] == ses for ev in listed if ev["type"] != "USER_AUTH"), "--rec %s: %r" % (rec, by_rec.stderr))
    times = [(ev["time"], ev["serial"]) for ev in listed]
    check(times == sorted(times), "--rec not in time order")


def session_rule_lines():
    """auditctl -l lines of per-session rules (pam_tlog audit_rules=session)."""
    return [l for l in sh("auditctl -l").splitlines() if "sessionid=" in l and "key=tlog-" in l]


def remove_session_rules():
    """The kernel's rule set is host-wide: leave none of ours behind."""
    for l in session_rule_lines():
        subprocess.run(["auditctl", "-d"] + shlex.split(l)[1:], capture_output=True)


def audit_rules_login(e, on):
    """A recorded ssh login that runs a few commands, `auditctl -l` sampled
    while it runs: (audit log, rec, audit session, rule lines seen)."""
    user = recorded_user(e.order)
    remove_session_rules()
    check(not session_rule_lines(), "per-session rules before the test: %r" % session_rule_lines())
    a = Auditd(e.T)
    seen = set()
    try:
        sh("auditctl -b 8192")
        p = subprocess.Popen(e.ssh_argv(user) + ["/bin/echo rules-%s; /bin/sleep 3; /bin/cat /etc/hostname" % on],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while p.poll() is None and time.monotonic() < deadline:
            seen.update(session_rule_lines())
            time.sleep(0.1)
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0 and out.startswith(b"rules-%s\n" % on.encode()), "ssh: %r %r" % (out, err))
        e.wait_ended()
        rec = next(iter(e.recordings()))
        ses = e.recordings()[rec][0]["session"]
        wait_for(lambda: "op=tlog-session-end rec=" + rec + " " in a.search("-m", "TRUSTED_APP"), "the end record", 20)
        # close_session removes them (before its end record; the login
        # program may call it a little after the session's end).
        deadline = time.monotonic() + 20
        while session_rule_lines() and time.monotonic() < deadline:
            time.sleep(0.1)
        left = session_rule_lines()
    finally:
        remove_session_rules()
        a.stop()
    return a, rec, ses, seen, left


def case_audit_rules_session(e):
    """pam_tlog audit_rules=session: while the recorded login runs, the
    kernel has the session-level rules for its audit session (exec, file
    changes, connections, both arches); its commands' execs are in the audit
    log with the recording's rec; after logout the rules are gone."""
    a, rec, ses, seen, left = audit_rules_login(e, "on")
    mine = {l for l in seen if "sessionid=%d " % ses in l + " "}
    logged = [l for l in open(e.T + "/syslog.out", errors="replace").read().splitlines() if "pam_tlog" in l]
    check(len(mine) == 6 and seen == mine, "rules seen during audit session %d: %r; pam_tlog's log: %s"
          % (ses, sorted(seen), "\n".join(logged[-10:])))
    for key in ("tlog-exec", "tlog-file", "tlog-net"):
        for arch in ("b64", "b32"):
            check(any("key=" + key in l and "arch=" + arch in l for l in mine), "no %s %s rule: %r" % (arch, key, mine))
    check(not left, "rules left after logout: %r" % left)
    tool = BUILD + "/audit/programs/tlog-audit"
    out = subprocess.run([tool, a.log], capture_output=True, timeout=120)
    check(out.returncode == 0, "tlog-audit: %r" % out.stderr)
    events = [json.loads(l) for l in out.stdout.decode().splitlines()]
    execs = {tuple(ev["argv"]): ev for ev in events if ev.get("rec") == rec and ev.get("syscall") == "execve"
             and "argv" in ev}
    cat = execs.get(("/bin/cat", "/etc/hostname"))
    check(cat and cat["ses"] == ses and cat.get("key") == "tlog-exec", "the session's execs: %r" % list(execs))
    check(("/bin/sleep", "3") in execs, "sleep's exec: %r" % list(execs))


def next_audit_sessions(n):
    """The audit session ids the next n logins will get: the kernel numbers
    sessions in order, and a process that sets its loginuid takes the next."""
    last = int(sh("sh -c 'echo 0 > /proc/self/loginuid && cat /proc/self/sessionid'").strip())
    return range(last + 1, last + 1 + n)


def case_audit_rules_refused(e):
    """pam_tlog audit_rules=session when the kernel refuses the session's
    rules: the login goes on and is recorded; the failure is logged and
    audited (op=tlog-audit-rules res=failed, with the recording's rec). The
    kernel's refusal is real: the exec rule pam_tlog will add is already
    there for the next audit sessions, so adding it gets EEXIST."""
    user = recorded_user(e.order)
    remove_session_rules()
    a = Auditd(e.T)
    try:
        for ses in next_audit_sessions(5):
            sh("auditctl -a always,exit -F arch=b64 -S execve,execveat -F sessionid=%d -k tlog-exec" % ses)
        r = e.ssh_cmd(user, "echo refused-rules-login")
        check(r.returncode == 0 and r.stdout == b"refused-rules-login\n", "ssh: %r %r" % (r.stdout, r.stderr))
        e.wait_ended()
        rec = next(iter(e.recordings()))
        ses = e.recordings()[rec][0]["session"]
        check(e.output(rec) == r.stdout, "recorded %r" % e.output(rec))
        wait_for(lambda: "op=tlog-session-end rec=" + rec + " " in a.search("-m", "TRUSTED_APP"), "the end record", 20)
        refused = [l for l in a.search("-m", "TRUSTED_APP").splitlines() if "op=tlog-audit-rules" in l]
        check(any("rec=" + rec + " " in l and "res=failed" in l and "File exists" in l for l in refused),
              "no audit record of the refused rules: %r" % refused)
        logged = [l for l in open(e.T + "/syslog.out", errors="replace").read().splitlines() if "pam_tlog" in l]
        check(any("audit rules of audit session %d not added" % ses in l and "tlog-exec (b64)" in l for l in logged),
              "pam_tlog's log: %s" % "\n".join(logged[-10:]))
    finally:
        remove_session_rules()
        a.stop()


def case_audit_rules_off(e):
    """Without audit_rules=session pam_tlog adds no kernel audit rule."""
    a, rec, ses, seen, left = audit_rules_login(e, "off")
    check(not seen and not left, "rules added with audit_rules off: %r" % sorted(seen))
    check(not [l for l in a.search("-m", "SYSCALL").splitlines() if "key=tlog-" in l], "tlog-keyed events")


def case_sssd_dropin(e):
    """SSSD coexistence, SSSD's hand-off emulated (the sssd daemon itself is
    not started: doc/policy-design.md, "SSSD as the decider"): with SSSD deciding, nss_sss answers the
    recorder as shell and pam_sss exports TLOG_REC_SESSION_SHELL; pam_tlog is
    not in the stack (examples/sssd/sssd.conf). Our recorder, run by a real
    sshd, records and runs the shell SSSD named."""
    T = e.T
    with open(T + "/pam.d/sshd") as f:
        stack = f.read().split("\n# pam_tlog (examples/pam.d/sshd)\n")[0]
    with open(T + "/pam_sss_env.conf", "w") as f:
        f.write("TLOG_REC_SESSION_SHELL DEFAULT=/bin/sh\n")
    with open(T + "/pam.d/sshd", "w") as f:
        f.write(stack + "\n# what pam_sss exports for a recorded user\n"
                "session required pam_env.so readenv=0 user_readenv=0 conffile=%s/pam_sss_env.conf\n" % T)
    with open("/var/lib/extrausers/passwd") as f:   # what nss_sss answers: the recorder as shell
        pw = f.read()
    with open("/var/lib/extrausers/passwd", "w") as f:
        f.write(pw.replace("/home/frank:/bin/bash", "/home/frank:" + e.rec))
    with open("/etc/nsswitch.conf") as f:
        ns = f.read()
    with open("/etc/nsswitch.conf", "w") as f:   # SSSD mode: no tlog on the passwd line
        f.write(re.sub(r"(?m)^passwd:.*$", "passwd: files extrausers", ns))
    r = e.ssh_cmd("frank", "echo sssd-$(readlink /proc/$$/exe)")
    if r.returncode != 0:
        debug_dump(e)
    check(r.returncode == 0, "ssh: %r %r" % (r.stdout, r.stderr))
    check(r.stdout.strip().endswith(b"dash") or r.stdout.strip() == b"sssd-/usr/bin/dash",
          "not the shell from TLOG_REC_SESSION_SHELL: %r" % r.stdout)
    e.wait_ended()
    recs = e.recordings()
    check(len(recs) == 1, "recordings: %d" % len(recs))
    rec, msgs = next(iter(recs.items()))
    check(msgs[0]["user"] == "frank" and e.output(rec) == r.stdout, "recorded %r" % e.output(rec))


class Sssd:
    """Debian's sssd, started by the test (`sssd -i`, logs to stderr into the
    test directory) with the test's copy of examples/sssd/sssd.conf; its
    databases, memory caches and sockets (/var/lib/sss) on the namespace's
    tmpfs /var/lib, its pid file on the tmpfs /run. Stopped by PID (the
    monitor stops its responders and backend)."""

    def __init__(self, T, conf_text):
        self.conf = T + "/sssd.conf"
        with open(self.conf, "w") as f:
            f.write(conf_text)
        os.chmod(self.conf, 0o600)   # sssd refuses a config others can read
        for d in ("db", "mc", "pipes/private", "pubconf", "gpo_cache", "deskprofile", "secrets"):
            os.makedirs("/var/lib/sss/" + d, exist_ok=True)
        for d in ("db", "pipes/private", "secrets"):
            os.chmod("/var/lib/sss/" + d, 0o700)
        check(os.path.exists("/usr/sbin/sssd"), "sssd is not installed (scripts/apt-packages.txt: "
              "sssd-common sssd-proxy libnss-sss libpam-sss)")
        # sssd merges /etc/sssd/conf.d/*.conf into any config: keep the
        # host's snippets out (empty tmpfs in the namespace)
        if os.path.isdir("/etc/sssd/conf.d"):
            sh("mount -t tmpfs -o mode=711 tmpfs /etc/sssd/conf.d")
        self.log = T + "/sssd.log"
        self.proc = subprocess.Popen(["/usr/sbin/sssd", "-i", "-c", self.conf, "--logger=stderr", "-d", "2"],
                                     stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is not None
                 or all(os.path.exists("/var/lib/sss/pipes/" + s) for s in ("nss", "pam")),
                 "sssd's nss and pam sockets", 30)
        check(self.proc.poll() is None, "sssd did not start: " + open(self.log).read()[-3000:])

    def stop(self):
        stop_process(self.proc, 20)


SSSD_RECORDER = "/usr/bin/tlog-rec-session"   # SSSD's compiled-in recorder path


def getent(*args):
    r = subprocess.run(["getent"] + list(args), capture_output=True)
    return r.stdout.decode().strip()


def case_sssd(e):
    """SSSD coexistence with the real sssd: examples/sssd/sssd.conf (proxy
    domain over files, [session_recording] scope=some users=alice) decides
    who is recorded. nsswitch `passwd: sss files`, sshd's PAM stack with
    pam_sss and neither pam_tlog nor nss_tlog. SSSD's NSS responder gives
    alice the shell /usr/bin/tlog-rec-session (here: our recorder, bind
    mounted over that path), its PAM responder has pam_sss export
    TLOG_REC_SESSION_SHELL=<her real shell> at open_session; sshd runs our
    recorder, which records and runs that shell. bob is not recorded."""
    T = e.T
    # alice's real shell: dash, distinct from the recorder's configured
    # default (/bin/bash), so the shell run can only come from SSSD's variable
    with open("/etc/passwd") as f:
        pw = f.read()
    check(":/home/alice:/bin/bash\n" in pw.replace(T, ""), "alice's passwd line changed")
    with open("/etc/passwd", "w") as f:   # in place: keeps the bind mount
        f.write(pw.replace("/home/alice:/bin/bash\n", "/home/alice:/bin/dash\n"))
    # nsswitch: SSSD first, no tlog (nss_tlog out of the picture)
    with open("/etc/nsswitch.conf") as f:
        ns = f.read()
    ns = re.sub(r"(?m)^passwd:.*$", "passwd: sss files", ns)
    ns = re.sub(r"(?m)^group:.*$", "group: sss files", ns)
    with open("/etc/nsswitch.conf", "w") as f:
        f.write(ns)
    # sshd's stack, written out: pam_sss, no pam_tlog
    with open(T + "/pam.d/sshd", "w") as f:
        f.write("""# e2e sssd: the SSSD hand-off alone, nothing of ours in the stack
auth     required pam_unix.so
account  required pam_nologin.so
account  required pam_unix.so
account  [default=bad success=ok user_unknown=ignore] pam_sss.so
password required pam_unix.so
session  required pam_loginuid.so
session  required pam_unix.so
session  required pam_sss.so
""")
    # our setuid-tlog recorder where SSSD points
    check(os.path.exists(SSSD_RECORDER), SSSD_RECORDER + " missing (Debian's tlog package provides the path)")
    sh("mount --bind %s %s" % (e.rec, SSSD_RECORDER))
    conf = open(SRC + "/examples/sssd/sssd.conf").read()
    check(re.search(r"(?m)^\[session_recording\]$", conf) and re.search(r"(?m)^users = alice$", conf),
          "examples/sssd/sssd.conf: no [session_recording] for alice")
    sssd = Sssd(T, conf)
    e.procs.append(sssd.proc)
    try:
        # the shell comes from SSSD (getent -s sss: that source alone)
        wait_for(lambda: getent("-s", "sss", "passwd", "alice").endswith(":" + SSSD_RECORDER),
                 "SSSD to give alice the recorder shell", 20)
        check(getent("passwd", "alice").endswith(":" + SSSD_RECORDER), "getent passwd alice: " + getent("passwd", "alice"))
        check(getent("passwd", "bob").endswith(":/bin/bash"), "getent passwd bob: " + getent("passwd", "bob"))
        check(getent("-s", "files", "passwd", "alice").endswith(":/bin/dash"), "files: " + getent("-s", "files", "passwd", "alice"))
        check("tlog" not in re.search(r"(?m)^passwd:.*$", open("/etc/nsswitch.conf").read()).group(0),
              "nss_tlog on the passwd line")
        check("pam_tlog" not in open("/etc/pam.d/sshd").read(), "pam_tlog in sshd's stack")
        # alice, interactive
        p = e.ssh_tty("alice")
        p.read_until("ATTENTION! Your session is being recorded!")
        time.sleep(0.3)
        p.write("echo sssd-$((6*7)); echo exe=$(readlink /proc/$$/exe)\r")
        p.read_until("exe=/")
        time.sleep(0.3)
        p.write("exit\r")
        status = p.wait(30)
        if status != 0 or os.environ.get("E2E_DEBUG"):
            debug_dump(e, p)
            print("---- sssd log:", open(sssd.log, errors="replace").read()[-3000:])
        check(status == 0, "ssh -tt alice: status %r" % status)
        e.wait_ended()
        recs = e.recordings()
        check(len(recs) == 1, "alice: %d recordings" % len(recs))
        rec, msgs = next(iter(recs.items()))
        check(msgs[0]["user"] == "alice", "user field %r" % msgs[0]["user"])
        out = e.output(rec)
        check(b"sssd-42" in out, "commands' output not recorded: %r" % out[-500:])
        # the shell run is TLOG_REC_SESSION_SHELL's (dash), under our recorder
        check(b"exe=/usr/bin/dash" in out, "not the shell SSSD exported: %r" % out[-500:])
        check(msgs[-1].get("end") == "exit", "end %r" % msgs[-1].get("end"))
        _, verdict = decode(e.log, rec)
        check("intact" in verdict.lower(), "integrity: %s" % verdict)
        # alice, `ssh host cmd` (no pty): the recorder runs `dash -c cmd`
        r = e.ssh_cmd("alice", "echo cmd-$((7*6)); readlink /proc/$$/exe")
        check(r.returncode == 0 and r.stdout == b"cmd-42\n/usr/bin/dash\n", "ssh alice cmd: %r %r" % (r.stdout, r.stderr))
        e.wait_ended()
        recs = e.recordings()
        check(len(recs) == 2, "alice cmd: %d recordings" % len(recs))
        rec2 = [k for k in recs if k != rec][0]
        check(recs[rec2][0]["user"] == "alice" and e.output(rec2) == r.stdout, "command recorded %r" % e.output(rec2))
        # bob: SSSD does not record him
        r = e.ssh_cmd("bob", "echo plain-$(id -un); readlink /proc/$$/exe; env | grep -c ^TLOG_ || true")
        check(r.returncode == 0, "bob: ssh failed: %r" % r.stderr)
        check(r.stdout == b"plain-bob\n/usr/bin/bash\n0\n", "bob: %r" % r.stdout)
        check(len(e.recordings()) == 2, "bob was recorded")
    finally:
        sssd.stop()


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}


def main():
    order, case = sys.argv[1], sys.argv[2]
    extra = "AcceptEnv TLOG_*\nPermitUserEnvironment yes" if case == "forged_env" else ""
    pam_args = "debug audit=required" if case in ("auditd", "audit_json", "audit_rules_off") else "debug"
    if case in ("audit_rules_session", "audit_rules_refused"):
        pam_args = "debug audit=required audit_rules=session"
    run_case(CASES, case, order, sshd_extra=extra, pam_args=pam_args)


if __name__ == "__main__":
    main()
    print("ok")
