#!/usr/bin/env python3
"""sudo, su, runuser and the console login through the real login path
(suite e2e, root, run through tests/recorder/run_ns.sh): Debian's sudo, su,
runuser and /bin/login with the shipped pam.d snippet in their stacks, rules
from examples/rules/login-rules.yaml (carol recorded for su, su-l, sudo,
sudo-i, runuser, runuser-l and login; alice for sshd; bob not recorded), a
real auditd. Usage: test_sudo.py CASE

Every case asserts the recording's content and user metadata ("user" the
target, "login" the service and the invoking user) and pam_tlog's log and
audit lines, or, for what runs without the recorder, that it is logged and
audited as unrecorded or refused. The sudoers file of most cases is a
permissive site's (any command as carol, SETENV, SHELL kept; sudo_env_forged
keeps TLOG_* too): the worst case for the bypass attempts."""
import os
import re
import subprocess
import sys
import time

from tlogtest.terminal import check, decode, spawn
from tlogtest.namespace import sh
from tlogtest.login import (Auditd, CAROL_PASSWORD, NEVER_STARTED, SRC, announced_rec, audit_field, raw_records,
                            run_case, wait_for)

PERMISSIVE_SUDOERS = """Defaults env_reset
Defaults use_pty
Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Defaults !lecture
Defaults env_keep += "SHELL EDITOR"
alice, bob ALL=(carol) NOPASSWD:SETENV: ALL
alice, bob ALL=(root) NOPASSWD: /usr/bin/su - carol, /usr/bin/su -
"""


def sudoers(e, text):
    path = e.T + "/sudoers"
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o440)
    if not getattr(e, "sudoers_mounted", False):
        sh("mount --bind %s /etc/sudoers" % path)
        e.sudoers_mounted = True
    sh("visudo -c -f /etc/sudoers")


def shipped_sudoers(e):
    """examples/sudoers/tlog-recorded-targets with the recorder path pointed
    at this test's copy."""
    with open(SRC + "/examples/sudoers/tlog-recorded-targets") as f:
        text = f.read().replace("/usr/bin/tlog-rec-session", e.rec)
    sudoers(e, "Defaults env_reset\nDefaults use_pty\nDefaults !lecture\n" + text)


def processes():
    """Every process with where it waits (wchan) and, for the recorder,
    sudo, su and the shells, its kernel stack: what a shell that stopped
    answering waits on (seen once in a while on CI, never alone)."""
    out = sh("ps -eo pid,ppid,stat,wchan:32,args")
    for line in out.splitlines()[1:]:
        pid = line.split()[0]
        if re.search(r"tlog|sudo|su |bash|sh -c|stat", line):
            try:
                with open("/proc/%s/stack" % pid) as f:
                    out += "--- %s\n%s" % (line.strip(), f.read())
            except OSError:
                pass
    return out


class Shell:
    """A user's unrecorded (bob) or recorded (alice) ssh session to type in."""

    def __init__(self, e, user):
        self.e, self.p = e, e.ssh_tty(user)
        self.n = 0
        self.tty = None
        self.sync()
        self.tty = self.terminal()

    def terminal(self):
        """The shell's terminal, as ps names it (pts/N)."""
        self.p.write("echo tty-$(tty | tr / :)-end-$((6*7))\r")
        self.p.read_until("-end-42", 30)
        return re.findall(rb"tty-:dev:([\w:]+)-end-42", self.p.out)[-1].decode().replace(":", "/")

    def sudo_running(self):
        r = subprocess.run(["ps", "-t", self.tty, "-o", "comm="], capture_output=True, text=True)
        return "sudo" in r.stdout.split()

    def sync(self, timeout=90):
        """Waits until this shell reads commands again. Nothing is typed
        while a sudo started from it still runs: Debian 12's sudo
        (1.9.13p3, use_pty) never exits when a key comes as its command
        ends (sudo keeps reading the terminal to pass keys on to the
        command's closed pseudo-terminal, which this kernel accepts); a
        user's type-ahead does the same. Then typed again until seen:
        what is typed while the recorder's own terminal closes is lost.
        90 s: a busy CI machine once took longer than 30 s to answer."""
        end = time.time() + timeout
        while self.tty and self.sudo_running():
            check(time.time() < end, "sudo does not end: %r\n%s" % (self.p.out[-1000:], processes()))
            time.sleep(0.1)
        while True:
            self.n += 1
            self.p.write("echo sync-$((%d+1000))\r" % self.n)
            if self.p.try_read_until("sync-%d" % (self.n + 1000), 3):
                return
            check(time.time() < end, "the shell does not answer: %r\n%s" % (self.p.out[-1000:], processes()))

    def type(self, line, until, timeout=30):
        self.p.write(line + "\r")
        self.p.read_until(until, timeout)

    def close(self):
        self.p.write("exit\r")
        check(self.p.wait(30) == 0, "the ssh session did not end cleanly: %r" % self.p.out[-1000:])


def one_recording(e, user, service, ruser, content):
    """The one recording: its user metadata and content."""
    e.wait_ended()
    recs = e.recordings()
    check(len(recs) == 1, "%s: %d recordings, expected 1" % (service, len(recs)))
    rec, msgs = next(iter(recs.items()))
    check(msgs[0]["user"] == user, "%s: recording user %r" % (service, msgs[0]["user"]))
    want = {"service": service, "ruser": ruser} if ruser else {"service": service}
    check(msgs[0].get("login") == want, "%s: login field %r, expected %r" % (service, msgs[0].get("login"), want))
    check("login" in msgs[0].get("mac_fields", []), "login field outside the integrity chain")
    out = e.output(rec)
    check(content.encode() in out, "%s: %r not in the recording: %r" % (service, content, out[-1000:]))
    _, verdict = decode(e.log, rec)
    check("intact" in verdict.lower(), "%s: integrity: %s" % (service, verdict))
    return rec


def renamed_invoker_detected(e, rec, ruser):
    """Another name in the "login" field breaks the integrity chain."""
    forged = e.T + "/forged.log"
    with open(e.log, "rb") as f:
        text = f.read()
    old = b'"ruser":"%s"' % ruser.encode()
    check(old in text, "no %r in the log" % old)
    with open(forged, "wb") as f:
        f.write(text.replace(old, b'"ruser":"eve"', 1))
    _, verdict = decode(forged, rec)
    check("intact" not in verdict.lower(), "a renamed invoking user went unnoticed: %s" % verdict)


def audited(e, a, rec, service, user, ruser, ops=("tlog-session-start", "tlog-session-end")):
    """pam_tlog's log line and audit records for recording `rec` name the
    service and both users."""
    log = e.syslog.text(wait_for="rec %s:" % rec)
    want = "recording %s (service %s, ruser %s," % (user, service, ruser or "-")
    check(want in log, "no %r log line: %s" % (want, log[-2000:]))
    for op in ops:
        wait_for(lambda: raw_records(a, op, rec), "the %s audit record of %s" % (op, rec), 15)
        line = raw_records(a, op, rec)[0]
        print(line)
        check(audit_field(line, "service") == service, "%s: service in %s" % (op, line))
        check(audit_field(line, "acct") == user, "%s: acct in %s" % (op, line))
        check(audit_field(line, "ruser") == ruser, "%s: ruser in %s" % (op, line))


def unrecorded(e, a, service, user, ruser):
    """Nothing recorded, and pam_tlog said so in the log and the audit trail."""
    log = e.syslog.text(wait_for=NEVER_STARTED)
    rec = announced_rec(log, user, service)
    check(("rec %s: " % rec) + NEVER_STARTED in log, "no never-started line for %s: %s" % (rec, log[-2000:]))
    audited(e, a, rec, service, user, ruser, ops=("tlog-session-start", "tlog-session-unrecorded"))
    check(not e.recordings(), "%s: something was recorded" % service)


# ---------------------------------------------------------------- sudo

def case_sudo_i(e):
    """bob (unrecorded) runs `sudo -i -u carol`: carol's login shell is the
    recorder (service sudo-i); the recording names carol and bob."""
    a = Auditd(e.T)
    try:
        s = Shell(e, "bob")
        s.type("sudo -i -u carol", "ATTENTION")
        s.type("echo in-$(id -un)-$((6*7))", "in-carol-42")
        s.p.write("exit\r")
        e.wait_ended()
        s.sync()
        s.close()
        rec = one_recording(e, "carol", "sudo-i", "bob", "in-carol-42")
        audited(e, a, rec, "sudo-i", "carol", "bob")
        renamed_invoker_detected(e, rec, "bob")
    finally:
        a.stop()


def nested_sudo_i(e):
    s = Shell(e, "alice")
    s.type("sudo -i -u carol", "ATTENTION")
    s.type("echo nested-$(id -un)-$((6*7))", "nested-carol-42")
    s.p.write("exit\r")
    s.sync()
    s.close()
    e.wait_ended()
    recs = e.recordings()
    outer = [r for r, m in recs.items() if m[0]["user"] == "alice"]
    check(len(outer) == 1, "alice's recording: %r" % [m[0]["user"] for m in recs.values()])
    check(b"nested-carol-42" in e.output(outer[0]), "alice's recording misses carol's session")
    return outer[0], [r for r, m in recs.items() if m[0]["user"] == "carol"]


def case_sudo_i_nested(e):
    """alice (recorded over ssh) runs `sudo -i -u carol`: carol's session is
    in alice's recording and no second recording is made, with and without
    sudo's use_pty (Debian's default: sudo gives carol's shell a terminal of
    its own and relays it to alice's; pam_tlog, in sudo's process, names
    alice's recording to the recorder). Logged and audited as not recorded,
    naming alice's recording."""
    a = Auditd(e.T)
    try:
        for use_pty, why in (("!use_pty", "its terminal is recorded by recording "),
                             ("use_pty", "the login program relays its terminal to recording ")):
            sudoers(e, PERMISSIVE_SUDOERS.replace("Defaults use_pty", "Defaults " + use_pty))
            if os.path.exists(e.log):
                os.unlink(e.log)
            outer, inner = nested_sudo_i(e)
            check(not inner, "%s: carol recorded a second time inside alice's recording" % use_pty)
            log = e.syslog.text(wait_for="NOT recorded: " + why + outer)
            rec = announced_rec(log, "carol", "sudo-i")
            check("rec %s: NOT recorded: %s%s" % (rec, why, outer) in log,
                  "%s: no nesting line: %s" % (use_pty, log[-2000:]))
            audited(e, a, rec, "sudo-i", "carol", "alice", ops=("tlog-session-start", "tlog-session-unrecorded"))
            check(audit_field(raw_records(a, "tlog-session-unrecorded", rec)[0], "reason") == why + outer,
                  "%s: the audit record does not name the outer recording" % use_pty)
    finally:
        a.stop()


ESCAPE_SH = r"""REC=%(rec)s
D=$(mktemp -d /tmp/sudo-escape.XXXXXX); chmod 755 $D; mkfifo $D/in
cat > $D/prog.sh <<EOS
tty > $D/tty.tmp && mv $D/tty.tmp $D/tty
for i in \$(seq 600); do [ -e $D/done ] && break; sleep 0.1; done
EOS
echo 'echo escaped-tty-$((6*7)) as $(id -un) > /dev/tty; echo on-stdout-$((7*7))' > $D/esc.sh
script -qfec "$REC -c 'sh $D/prog.sh'" /dev/null < $D/in > $D/out 2>&1 & SP=$!
exec 4>$D/in
for i in $(seq 300); do [ -e $D/tty ] && break; sleep 0.1; done
N=$(cat $D/tty)
echo "own recording on $N"
sudo -i -u carol sh $D/esc.sh <$N >$N 2>$N; echo sudo-status=$?
setsid -w sudo -i -u carol sh $D/esc.sh <$N >$N 2>$N; echo sudo-setsid-status=$?
touch $D/done; exec 4>&-; wait $SP; rm -rf $D
"""


def case_sudo_nested_escape(e):
    """pam_tlog names an outer recording to the recorder when sudo's own
    descriptors are a recording's terminal. bob (not recorded) makes such a
    terminal with a recording of his own and runs `sudo -i -u carol` on it,
    his controlling terminal elsewhere (carol's /dev/tty then reaches bob's
    unrecorded terminal through sudo), and with none (setsid). Whatever
    carol's session shows on bob's terminal must be in a recording."""
    script = e.T + "/home/bob/escape.sh"
    with open(script, "w") as f:
        f.write(ESCAPE_SH % {"rec": e.rec})
    os.chown(script, 61012, 61012)
    s = Shell(e, "bob")
    s.type("bash ~/escape.sh; echo end-$((1+1))", "end-2", 90)
    s.sync()
    s.close()
    out = s.p.out.decode(errors="replace")
    check(re.search(r"own recording on /dev/pts/\d+", out), "bob's own recording did not start: %r" % out[-1500:])
    check("sudo-status=0" in out and "sudo-setsid-status=" in out, "sudo did not run: %r" % out[-1500:])
    e.wait_ended()
    recs = e.recordings()
    recorded = b"".join(e.output(r) for r in recs)
    check(b"escaped-tty-42 as carol" in recorded, "carol's /dev/tty output is in no recording: %r" % out[-1500:])
    # with the controlling terminal elsewhere pam_tlog names no recording:
    # carol's session is recorded as carol
    carol = [r for r, m in recs.items() if m[0]["user"] == "carol"]
    check(carol and any(b"escaped-tty-42 as carol" in e.output(r) for r in carol),
          "carol's session has no recording of its own: %r" % [m[0]["user"] for m in recs.values()])
    log = e.syslog.text()
    print("\n".join(l for l in log.splitlines() if "relays its terminal" in l or "recorded by recording" in l))


def case_sudo_i_command(e):
    """`sudo -i -u carol CMD`: the target's shell runs CMD (-c): recorded."""
    a = Auditd(e.T)
    try:
        s = Shell(e, "bob")
        # sudo quotes the command's words for the shell's -c: no expansion
        # in them; stat -c names the owner of carol's home (-i changes to it)
        s.type("sudo -i -u carol stat -c cmd-%U-49 .", "cmd-carol-49")
        s.sync()
        s.close()
        rec = one_recording(e, "carol", "sudo-i", "bob", "cmd-carol-49")
        audited(e, a, rec, "sudo-i", "carol", "bob")
    finally:
        a.stop()


def case_sudo_i_shell(e):
    """`sudo -i` asked for another shell (`SHELL=/bin/bash sudo -i -u carol
    bash`): -i runs carol's passwd shell, the recorder, whatever $SHELL says,
    and bash becomes its -c command: recorded (a terminal: interactive)."""
    a = Auditd(e.T)
    try:
        s = Shell(e, "bob")
        s.type("SHELL=/bin/bash sudo -i -u carol bash", "carol@")  # no notice: a -c command
        s.type("echo shell-$(id -un)-$((6*9)) $(readlink /proc/$$/exe)", "shell-carol-54")
        s.p.write("exit\r")
        e.wait_ended()
        s.sync()
        s.close()
        rec = one_recording(e, "carol", "sudo-i", "bob", "shell-carol-54 /usr/bin/bash")
        audited(e, a, rec, "sudo-i", "carol", "bob")
    finally:
        a.stop()


def case_sudo_iolog(e):
    """sudo's own I/O logging on at the same site: both logs hold carol's
    session; ours is made as without it."""
    iolog = e.T + "/sudo-io"
    sudoers(e, PERMISSIVE_SUDOERS + "Defaults log_input, log_output, !compress_io, iolog_dir=%s\n" % iolog)
    a = Auditd(e.T)
    try:
        s = Shell(e, "bob")
        s.type("sudo -i -u carol", "ATTENTION")
        s.type("echo both-$(id -un)-$((6*8))", "both-carol-48")
        s.p.write("exit\r")
        e.wait_ended()
        s.sync()
        s.close()
        rec = one_recording(e, "carol", "sudo-i", "bob", "both-carol-48")
        audited(e, a, rec, "sudo-i", "carol", "bob")
        outs = [os.path.join(d, "ttyout") for d, _, files in os.walk(iolog) if "ttyout" in files]
        check(len(outs) == 1, "sudo's I/O logs: %r" % outs)
        check(b"both-carol-48" in open(outs[0], "rb").read(), "sudo's I/O log misses the session")
    finally:
        a.stop()


def case_sudo_s(e):
    """`sudo -s -u carol` runs $SHELL (the user's choice): no recorder runs.
    pam_tlog announced the recording (service sudo), so it logs and audits
    the session as unrecorded; the shipped sudoers refuses it
    (sudoers_recorder_only)."""
    a = Auditd(e.T)
    try:
        s = Shell(e, "bob")
        s.type("SHELL=/bin/bash sudo -s -u carol", "$ ")
        s.type("echo s-$(id -un)-$((3*3))", "s-carol-9")
        s.p.write("exit\r")
        s.sync()
        s.close()
        unrecorded(e, a, "sudo", "carol", "bob")
    finally:
        a.stop()


def case_sudo_u_command(e):
    """`sudo -u carol CMD` runs CMD without any shell: logged and audited as
    unrecorded."""
    a = Auditd(e.T)
    try:
        s = Shell(e, "bob")
        s.type("sudo -u carol /usr/bin/id -un; echo rc=$?", "rc=0")
        check(b"carol\r\n" in s.p.out, "sudo -u carol id: %r" % s.p.out[-500:])
        s.close()
        unrecorded(e, a, "sudo", "carol", "bob")
    finally:
        a.stop()


def case_sudo_su(e):
    """`sudo su - carol`: sudo to root (not recorded), then su - carol
    (service su-l, run by root): recorded; the audit records carry bob's
    login uid (auid)."""
    a = Auditd(e.T)
    try:
        s = Shell(e, "bob")
        s.type("sudo su - carol", "ATTENTION")
        s.type("echo su-$(id -un)-$((8*8))", "su-carol-64")
        s.p.write("exit\r")
        e.wait_ended()
        s.sync()
        s.close()
        rec = one_recording(e, "carol", "su-l", "root", "su-carol-64")
        audited(e, a, rec, "su-l", "carol", "root")
        line = raw_records(a, "tlog-session-start", rec)[0]
        check("auid=61012 " in line, "bob's login uid not in the audit record: %s" % line)
    finally:
        a.stop()


ROOT_RULE = """
  # test_sudo.py sudo_su_root: root recorded when reached with su - or sudo -i
  - name: becoming-root
    action: record
    users: [root]
    services: [su-l, sudo-i]
"""


def case_sudo_su_root(e):
    """`sudo su -` with root recorded for su-l and sudo-i: sudo runs su as
    root (service sudo: not recorded), su - runs root's login shell, the
    recorder (service su-l, ruser root); the audit records carry bob's
    login uid (auid)."""
    with open(SRC + "/examples/rules/login-rules.yaml") as f:
        e.compile(f.read() + ROOT_RULE)
    a = Auditd(e.T)
    try:
        s = Shell(e, "bob")
        s.type("sudo su -", "ATTENTION")
        s.type("echo root-$(id -un)-$((8*9))", "root-root-72")
        s.p.write("exit\r")
        e.wait_ended()
        s.sync()
        s.close()
        rec = one_recording(e, "root", "su-l", "root", "root-root-72")
        audited(e, a, rec, "su-l", "root", "root")
        line = raw_records(a, "tlog-session-start", rec)[0]
        check("auid=61012 " in line, "bob's login uid not in the audit record: %s" % line)
    finally:
        a.stop()


def case_sudo_e(e):
    """sudoedit as carol with an editor that spawns a shell: the editor (and
    its shell) run as bob, not carol, on copies of carol's files; the
    recording pam_tlog announced for carol's PAM session is logged and
    audited as never started."""
    a = Auditd(e.T)
    try:
        editor = e.T + "/editor.sh"
        with open(editor, "w") as f:
            f.write("#!/bin/sh\n/bin/sh -c 'echo editor-shell-$(id -un)-$((2*21))'\necho edited >> \"$1\"\n")
        os.chmod(editor, 0o755)
        os.chmod(e.T, 0o755)
        target = e.T + "/carol-file"
        with open(target, "w") as f:
            f.write("original\n")
        os.chown(target, 61014, 61014)
        s = Shell(e, "bob")
        s.type("EDITOR=%s sudo -e -u carol %s; echo rc-$?-done" % (editor, target), "rc-0-done")
        check(b"editor-shell-bob-42" in s.p.out, "the editor's shell: %r" % s.p.out[-800:])
        check(b"editor-shell-carol" not in s.p.out, "the editor's shell ran as carol")
        s.close()
        check(open(target).read() == "original\nedited\n", "sudoedit did not write back")
        # sudoedit opens carol's PAM session (service sudo) but runs no shell of hers
        unrecorded(e, a, "sudo", "carol", "bob")
    finally:
        a.stop()


def case_sudoers_recorder_only(e):
    """The shipped examples/sudoers/tlog-recorded-targets: `sudo -i` recorded,
    `sudo -s`, `sudo -u carol CMD` and sudoedit refused by sudo."""
    shipped_sudoers(e)
    a = Auditd(e.T)
    try:
        s = Shell(e, "bob")
        for cmd in ("SHELL=/bin/bash sudo -n -s -u carol", "sudo -n -u carol /usr/bin/id",
                    "sudo -n -u carol /bin/bash -c id", "sudo -n -e -u carol /etc/hostname"):
            s.type(cmd + "; echo rc=$?", "rc=")
            s.sync()
            check(re.search(rb"not allowed|a password is required", s.p.out), "%s not refused: %r"
                  % (cmd, s.p.out[-600:]))
            check(b"rc=1" in s.p.out, "%s: %r" % (cmd, s.p.out[-600:]))
            s.p.out = b""
        s.type("sudo -n -i -u carol stat -c only-%U-81 .", "only-carol-81")
        s.sync()
        s.close()
        rec = one_recording(e, "carol", "sudo-i", "bob", "only-carol-81")
        audited(e, a, rec, "sudo-i", "carol", "bob")
    finally:
        a.stop()


def case_sudo_env_forged(e):
    """`sudo -E` and env_keep of TLOG_* (a site that keeps them): bob's own
    TLOG_REC_* (a "record": false text with a forged proof, a shell of his
    choice) override pam_tlog's in sudo's environment, yet carol's session
    is recorded: the recorder ignores an unproven text and records with its
    system configuration, says so in the auth log, and pam_tlog reports its
    announced recording as never started (logged and audited)."""
    sudoers(e, PERMISSIVE_SUDOERS + 'Defaults env_keep += "TLOG_REC_SHELL TLOG_REC_CONF_TEXT TLOG_REC_CONF_PROOF '
            'TLOG_REC_SESSION_SHELL"\n')
    a = Auditd(e.T)
    try:
        s = Shell(e, "bob")
        s.type("export TLOG_REC_CONF_TEXT='{\"pam\": {\"record\": false}, \"log\": {\"output\": false}}' "
               "TLOG_REC_CONF_PROOF=forged TLOG_REC_SHELL=/bin/sh TLOG_REC_SESSION_SHELL=/bin/sh", "$ ")
        s.sync()
        # -E with the recorder as $SHELL (-E and -i exclude each other), then env_keep alone
        for tag, cmd in (("E", "SHELL=%s sudo -E -s -u carol" % e.rec), ("keep", "sudo -i -u carol")):
            s.type(cmd, "ATTENTION")
            s.type("echo forged%s-$(id -un)-$((5*5))" % tag, "forged%s-carol-25" % tag)
            s.p.write("exit\r")
            s.sync()
        s.close()
        e.wait_ended()
        recs = e.recordings()
        check(len(recs) == 2, "%d recordings, expected 2" % len(recs))
        for rec, msgs in recs.items():
            check(msgs[0]["user"] == "carol", "recording user %r" % msgs[0]["user"])
        out = b"".join(e.output(r) for r in recs)
        check(b"forgedE-carol-25" in out and b"forgedkeep-carol-25" in out, "the sessions' output is not recorded: %r"
              % out[-1000:])
        log = e.syslog.text(wait_for=NEVER_STARTED)
        check("user carol, session" in log and "TLOG_REC_CONF_TEXT not proven" in log,
              "no recorder line about the unproven text: %s" % log[-3000:])
        unrecorded_announced = announced_rec(log, "carol", "sudo-i")
        check(("rec %s: " % unrecorded_announced) + NEVER_STARTED in log, "no never-started line: %s" % log[-2000:])
        wait_for(lambda: raw_records(a, "tlog-session-unrecorded", unrecorded_announced), "the unrecorded record", 15)
    finally:
        a.stop()


# ---------------------------------------------------------------- su, runuser, login

def su_case(e, a, argv_line, service, marker):
    s = Shell(e, "bob")
    s.type(argv_line, "Password:")
    s.p.write(CAROL_PASSWORD + "\r")
    s.p.read_until(marker, 30)
    e.wait_ended()
    s.sync()
    s.close()
    rec = one_recording(e, "carol", service, "bob", marker)
    audited(e, a, rec, service, "carol", "bob")


def case_su(e):
    """`su carol` (service su), interactive."""
    a = Auditd(e.T)
    try:
        s = Shell(e, "bob")
        s.type("su carol", "Password:")
        s.p.write(CAROL_PASSWORD + "\r")
        s.p.read_until("ATTENTION", 30)
        s.type("echo su-$(id -un)-$((4*4))", "su-carol-16")
        s.p.write("exit\r")
        e.wait_ended()
        s.sync()
        s.close()
        rec = one_recording(e, "carol", "su", "bob", "su-carol-16")
        audited(e, a, rec, "su", "carol", "bob")
    finally:
        a.stop()


def case_su_l(e):
    """`su - carol -c CMD` (service su-l)."""
    a = Auditd(e.T)
    try:
        su_case(e, a, "su - carol -c 'echo sul-$(id -un)-$((4*5))'", "su-l", "sul-carol-20")
    finally:
        a.stop()


def case_su_c(e):
    """`su carol -c CMD` (service su)."""
    a = Auditd(e.T)
    try:
        su_case(e, a, "su carol -c 'echo suc-$(id -un)-$((4*6))'", "su", "suc-carol-24")
    finally:
        a.stop()


def case_su_pty_nested(e):
    """alice (recorded over ssh) runs `su --pty - carol`: su gives carol's
    shell a terminal of its own and relays it to alice's, like sudo's
    use_pty; pam_tlog, inside su, names alice's recording; no second one."""
    a = Auditd(e.T)
    try:
        s = Shell(e, "alice")
        s.type("su --pty - carol", "Password:")
        s.p.write(CAROL_PASSWORD + "\r")
        s.p.read_until("carol@", 30)
        s.type("echo supty-$(id -un)-$((5*9))", "supty-carol-45")
        s.p.write("exit\r")
        s.sync()
        s.close()
        e.wait_ended()
        recs = e.recordings()
        check([m[0]["user"] for m in recs.values()] == ["alice"], "recordings of %r" % [m[0]["user"] for m in recs.values()])
        outer = next(iter(recs))
        check(b"supty-carol-45" in e.output(outer), "alice's recording misses carol's session")
        why = "the login program relays its terminal to recording " + outer
        log = e.syslog.text(wait_for="NOT recorded: " + why)
        rec = announced_rec(log, "carol", "su-l")
        check("rec %s: NOT recorded: %s" % (rec, why) in log, "no nesting line: %s" % log[-2000:])
        audited(e, a, rec, "su-l", "carol", "alice", ops=("tlog-session-start", "tlog-session-unrecorded"))
    finally:
        a.stop()


def case_runuser(e):
    """root runs `runuser -l carol` (runuser-l) and `runuser carol -c CMD`
    (runuser) on a terminal: both recorded, ruser root."""
    a = Auditd(e.T)
    try:
        p = spawn(["/usr/sbin/runuser", "-l", "carol"], env={"TERM": "xterm", "PATH": "/usr/bin:/bin"})
        p.read_until("ATTENTION", 30)
        time.sleep(0.3)
        p.write("echo ru-$(id -un)-$((3*11))\r")
        p.read_until("ru-carol-33", 30)
        p.write("exit\r")
        p.wait(30)
        rec = one_recording(e, "carol", "runuser-l", "root", "ru-carol-33")
        audited(e, a, rec, "runuser-l", "carol", "root")
        os.unlink(e.log)
        p = spawn(["/usr/sbin/runuser", "carol", "-c", "echo ruc-$(id -un)-$((3*12))"],
                  env={"TERM": "xterm", "PATH": "/usr/bin:/bin"})
        p.read_until("ruc-carol-36", 30)
        p.wait(30)
        rec = one_recording(e, "carol", "runuser", "root", "ruc-carol-36")
        audited(e, a, rec, "runuser", "carol", "root")
    finally:
        a.stop()


def case_login(e):
    """/bin/login on a terminal (a console or serial login): carol's
    password, her session recorded (service login, no invoking user)."""
    # login writes wtmp, btmp and lastlog: this namespace's own copies
    for f in ("wtmp", "btmp", "lastlog"):
        if os.path.exists("/var/log/" + f):
            open(e.T + "/" + f, "w").close()
            sh("mount --bind %s/%s /var/log/%s" % (e.T, f, f))
    a = Auditd(e.T)
    try:
        p = spawn(["/bin/login", "carol"], env={"TERM": "xterm"})
        p.read_until("Password:", 30)
        p.write(CAROL_PASSWORD + "\r")
        p.read_until("ATTENTION", 30)
        time.sleep(0.3)
        p.write("echo console-$(id -un)-$((6*6))\r")
        p.read_until("console-carol-36", 30)
        p.write("exit\r")
        p.wait(30)
        rec = one_recording(e, "carol", "login", None, "console-carol-36")
        audited(e, a, rec, "login", "carol", None)
        check(e.recordings()[rec][0]["session"] != 4294967295, "no audit session (pam_loginuid before pam_tlog)")
    finally:
        a.stop()


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}


def main():
    case = sys.argv[1]

    def setup_and_run(e):
        sudoers(e, PERMISSIVE_SUDOERS)
        CASES[case](e)

    run_case({case: setup_and_run} if case in CASES else CASES, case,
             dump=lambda e: print("---- syslog:", e.syslog.text()[-5000:]))


if __name__ == "__main__":
    main()
    print("ok")
