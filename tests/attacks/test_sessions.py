#!/usr/bin/env python3
"""Attacks on the recording of ssh and su sessions, end to end through a real
sshd with pam_tlog and nss_tlog (tests/tlogtest/login.py), run as root in a
private mount namespace (tests/recorder/run_ns.sh). Usage:
test_sessions.py CASE. Every case asserts the outcome the recorder must give
a recorded user who tries to get an unrecorded session: recorded (content
checked), refused (nothing of the command reaches the client), or not
recorded by the rules and logged as such. The rules are
examples/rules/login-rules.yaml: alice recorded for sshd, carol when
reached with su, sudo or runuser and at the console (not over ssh), gina at
a terminal only, bob not recorded."""
import collections
import grp
import os
import re
import select
import subprocess
import sys
import time

from tlogtest.terminal import check, fail, spawn
from tlogtest.namespace import sh
from tlogtest.login import CAROL_PASSWORD, TLOG_UID, USERS, run_case, wait_for


# ---------------------------------------------------------------- helpers
def read_after(p, mark, pattern, timeout=30):
    """Reads the pty client until `pattern` appears after offset `mark`."""
    if isinstance(pattern, str):
        pattern = pattern.encode()
    end = time.time() + timeout
    while pattern not in p.out[mark:]:
        check(time.time() < end, "timeout waiting for %r: %r" % (pattern, p.out[-1500:]))
        d = p._read(0.2)
        check(d != b"", "EOF waiting for %r: %r" % (pattern, p.out[-1500:]))
        if d:
            p.out += d
    return p.out.index(pattern, mark)


def prompt(p, mark=0):
    """Waits for the shell's prompt (bash: `user@host:~$ `) after `mark`."""
    return read_after(p, mark, b"$ ")


def private_pts():
    """A devpts instance of this namespace's own over /dev/pts: a scan of
    /dev/pts sees only this test's terminals (other tests on the machine use
    the same user ids), and nothing is written to another test's terminal.
    The private /dev's ptmx opens the instance at /dev/pts (kernel >= 4.7)."""
    sh("mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=%d devpts /dev/pts" % grp.getgrnam("tty").gr_gid)


def recorder_outer_ttys(e):
    """The terminals the running recorders were started on (their stdin):
    sshd's pty of each recorded ssh -tt session. Seen by root in /proc."""
    rec = os.path.realpath(e.rec)
    ttys = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/exe" % pid) != rec:
                continue
            t = os.readlink("/proc/%s/fd/0" % pid)
        except OSError:
            continue
        if t.startswith("/dev/pts/"):
            ttys.add(t)
    return ttys


def pam_rec_ids(e, user):
    """pam_tlog's recording ids for `user` (its "recording USER (...): rec ID" lines)."""
    return re.findall(r"recording %s \(service [^)]*\): rec ([A-Za-z0-9-]+)," % user, e.syslog.text())


def rec_with(e, marker):
    """The recordings whose output contains `marker`."""
    return [r for r in e.recordings() if marker in e.output(r)]


def log_lines(e, *words, start=0):
    """Auth log lines (after offset `start`) that contain every one of `words`."""
    return [l for l in e.syslog.text()[start:].splitlines() if all(w in l for w in words)]


def wait_log(e, *words, start=0, timeout=15):
    """Waits for an auth log line with all `words`; returns the lines ([] on timeout)."""
    return poll(lambda: log_lines(e, *words, start=start), timeout) or []


def poll(pred, timeout):
    """pred()'s first true value within `timeout` seconds, else None (no failure)."""
    end = time.time() + timeout
    while True:
        v = pred()
        if v or time.time() > end:
            return v or None
        time.sleep(0.1)


def debug_dump(e, p=None):
    if p is not None:
        print("---- client output:", p.out[-3000:])
    print("---- auth log:\n" + e.syslog.text()[-5000:])
    print("---- sshd log:\n" + e.read(e.sshd_log)[-3000:])
    try:
        print("---- recordings:", {r: e.output(r)[-300:] for r in e.recordings()})
    except (Exception, SystemExit) as x:   # a recording the decoder rejects
        print("---- recordings: cannot decode: %r" % x)


# ---------------------------------------------------------------- cases
def case_control_master(e):
    """Three sessions over one ssh connection (ControlMaster): one PAM
    session, one audit session, one proof from pam_tlog. Each session is a
    recording of its own: its output in exactly one recording, the first
    under pam_tlog's id, the later ones under ID-2 and ID-3."""
    cm = e.T + "/cm"
    # The master's own session lasts until the other two are done (the test
    # creates `done`; at most 60 s): with ControlPersist=no the master
    # connection ends with it, and a later client would open a new one.
    done = e.T + "/cm-done"
    first = subprocess.Popen(e.ssh_argv("alice", "-o", "ControlMaster=yes", "-o", "ControlPath=" + cm,
                                        "-o", "ControlPersist=no")
                             + ["echo first-$((1+1)); for i in $(seq 600); do [ -e %s ] && break; sleep 0.1; done"
                                % done],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    e.procs.append(first)
    wait_for(lambda: os.path.exists(cm) or first.poll() is not None, "the control socket", 30)
    if not os.path.exists(cm):
        fail("the master connection ended: %r" % (first.communicate(),))
    # the first session's command runs (its recorder started first) before
    # the second session starts: the socket is there before the session is
    out1 = b""
    end = time.time() + 30
    while b"first-2\n" not in out1 and time.time() < end:
        if not select.select([first.stdout], [], [], 0.5)[0]:
            continue
        d = os.read(first.stdout.fileno(), 4096)
        if not d:
            break
        out1 += d
    check(out1 == b"first-2\n", "the first session's output: %r" % out1)
    r2 = e.ssh_cmd("alice", "echo second-$((2+2))", "-o", "ControlPath=" + cm)
    check(r2.returncode == 0 and r2.stdout == b"second-4\n", "second session: %r %r" % (r2.stdout, r2.stderr))
    p3 = e.ssh_tty("alice", "-o", "ControlPath=" + cm)
    prompt(p3)
    p3.write("echo third-$((3+3))\r")
    p3.read_until("third-6", 30)
    p3.write("exit\r")
    check(p3.wait(30) == 0, "third session: exit status")
    open(done, "w").close()
    rest, err1 = first.communicate(timeout=30)
    check(first.returncode == 0 and rest == b"", "first session: %r %r" % (out1 + rest, err1))
    subprocess.run(e.ssh_argv("alice", "-o", "ControlPath=" + cm, "-O", "exit"), capture_output=True, timeout=30)
    e.wait_ended()
    recs = e.recordings()
    holders = {m: rec_with(e, m.encode()) for m in ("first-2", "second-4", "third-6")}
    check(all(len(h) == 1 for h in holders.values()),
          "each session's output in exactly one recording; recordings holding it: %r" % holders)
    found = {m: h[0] for m, h in holders.items()}
    check(len(recs) == 3 and len(set(found.values())) == 3,
          "three sessions, %d recordings: %s" % (len(recs), found))
    ids = pam_rec_ids(e, "alice")
    check(len(ids) == 1, "one PAM session (the master connection), pam_tlog ids: %r" % ids)
    pam_id = ids[0]
    want = {"first-2": pam_id, "second-4": pam_id + "-2", "third-6": pam_id + "-3"}
    check(found == want, "recording ids %r, expected %r" % (found, want))
    for rec in recs.values():
        check(rec[0]["user"] == "alice" and rec[-1].get("end"), "recording %s: user/end" % rec[0]["rec"])


def case_outer_tty(e):
    """From inside a recorded ssh -tt shell, open sshd's pty (the recorder's
    outer terminal, owned by the user) to write to the client, or read the
    client's keystrokes, past the recorder: the recorder holds it exclusive
    (open fails with EBUSY), and the shell has no descriptor on it."""
    private_pts()
    p = e.ssh_tty("alice")
    p.read_until("ATTENTION! Your session is being recorded!", 30)
    prompt(p)
    outer = recorder_outer_ttys(e)
    check(len(outer) == 1, "the recorder's outer terminal (from /proc): %r" % outer)
    outer = outer.pop()
    mark = len(p.out)
    p.write('for t in /dev/pts/[0-9]*; do [ "$t" = "$(tty)" ] && continue; [ -O "$t" ] || continue; '
            'echo "found $t"; (echo x > "$t") 2>/dev/null && echo "OPENED $t"; '
            '(exec 3<"$t") 2>/dev/null && echo "OPENED-READ $t"; done; '
            'for f in /proc/$$/fd/*; do echo "shell-fd $(readlink $f)"; done; echo scan-$((9*9))\r')
    at = read_after(p, mark, "scan-81")
    prompt(p, at)
    p.write("exit\r")
    p.wait(30)
    out = p.out[mark:].decode(errors="replace")
    found = re.findall(r"found (/dev/pts/\d+)", out)
    opened = re.findall(r"OPENED(?:-READ)? /dev/pts/\d+", out)
    check(found, "the scan found no terminal of the user's besides its own: %r" % out)
    check(outer in found, "the scan did not find the outer terminal %s: %r" % (outer, found))
    check(not opened, "the shell opened terminals past the recorder: %r (outer terminal %s)" % (opened, outer))
    # nor did it inherit a descriptor on it (with one it could undo the exclusive mode: TIOCNXCL)
    held = re.findall(r"shell-fd (\S+)", out)
    check(held and outer not in held, "the shell holds the outer terminal %s: %r" % (outer, held))
    e.wait_ended()
    recs = e.recordings()
    check(len(recs) == 1, "recordings: %d" % len(recs))
    check(b"scan-81" in e.output(next(iter(recs))), "the scan's output is not in the recording")


# su passes the arguments after the user name to the target's login shell:
# the recorder must not take recording settings from them.
CLI_VARIANTS = [
    ("--log-output=false", "log.output"),
    ("--file-path=/dev/null", "file.path"),
    ("--writer=syslog", "writer"),
    ("-w syslog", "writer"),
    ("-o {T}/cli-out/x", "file.path"),
]


def case_cli_options(e):
    """Recorder options as arguments of the login shell (`su -- carol OPTS -c
    CMD`, from bob's unrecorded session; carol is recorded for su): each su
    session is recorded to the configured file with its output, and the auth
    log says the command-line setting was ignored."""
    os.makedirs(e.T + "/cli-out")
    os.chmod(e.T + "/cli-out", 0o1777)   # where `-o` points: writable by carol
    log_start = len(e.syslog.text())
    p = e.ssh_tty("bob")
    mark = prompt(p) + 2
    problems = []
    for i, (opts, setting) in enumerate(CLI_VARIANTS):
        opts = opts.format(T=e.T)
        before = set(e.recordings())
        marker = "cli-%d" % (25 + 100 * i)   # cli-25, cli-125, ...: one per variant
        p.write("su -- carol %s -c 'echo cli-$((5*5+%d))'\r" % (opts, 100 * i))
        mark = read_after(p, mark, "Password:")
        p.write(CAROL_PASSWORD + "\r")
        mark = read_after(p, mark, marker)
        mark = prompt(p, mark) + 2
        # su has waited for the recorder: its recording is complete (if any)
        poll(lambda: [r for r, m in e.recordings().items() if r not in before and m[-1].get("end")], 3)
        new = [r for r in e.recordings() if r not in before]
        if len(new) != 1:
            problems.append("%s: %d new recordings in %s" % (opts, len(new), e.log))
        else:
            msgs = e.recordings()[new[0]]
            if msgs[0]["user"] != "carol" or not msgs[-1].get("end"):
                problems.append("%s: recording of %r, end %r" % (opts, msgs[0]["user"], msgs[-1].get("end")))
            if marker.encode() not in e.output(new[0]):
                problems.append("%s: %s missing from the recording: %r" % (opts, marker, e.output(new[0])[-300:]))
    p.write("exit\r")
    p.wait(30)
    if os.path.exists(e.T + "/cli-out/x"):
        problems.append("-o: the recorder wrote %s" % (e.T + "/cli-out/x"))
    # one "ignored" line per variant, counted by setting (the log is asynchronous)
    want = {}
    for _, setting in CLI_VARIANTS:
        want[setting] = want.get(setting, 0) + 1
    counts = lambda: {k: len(log_lines(e, "ignored", k, start=log_start)) for k in want}
    poll(lambda: all(counts()[k] >= n for k, n in want.items()), 10)
    got = counts()
    for k, n in want.items():
        if got[k] < n:
            problems.append("%d auth log line(s) saying the command-line setting '%s' was ignored, expected %d"
                            % (got[k], k, n))
    check(not problems, "command-line settings took effect:\n  " + "\n  ".join(problems))


def case_interactive_command_tty(e):
    """gina is recorded at a terminal only. `ssh -tt gina@host 'bash -l'`
    is a command session with a terminal: interactive, recorded; so is `ssh
    -T gina@host` (no command: the shell reads stdin). `ssh gina@host cmd`
    without a terminal is not recorded, and the auth log says so and why
    (the recorder's "not recorded" line)."""
    problems = []
    p = spawn(e.ssh_argv("gina", "-tt") + ["bash -l"], env=dict(os.environ, TERM="xterm"))
    prompt(p)
    mark = len(p.out)
    p.write("echo tty-cmd-$((6*6))\r")
    prompt(p, read_after(p, mark, "tty-cmd-36"))
    p.write("exit\r")
    p.wait(30)
    # sshd waited for the recorder: its recording is complete (if any)
    recs = poll(lambda: [r for r, m in e.recordings().items() if m[-1].get("end")], 3) or []
    if len(recs) != 1 or b"tty-cmd-36" not in e.output(recs[0]):
        problems.append("ssh -tt gina 'bash -l' (a terminal: interactive) not recorded: %d recording(s)" % len(recs))
    # no terminal and no command: the shell reads its commands from stdin (interactive)
    before = set(e.recordings())
    r = subprocess.run(e.ssh_argv("gina", "-T"), input=b"echo notty-$((8*8))\nexit\n", capture_output=True,
                       timeout=60)
    check(r.returncode == 0 and b"notty-64" in r.stdout, "ssh -T gina: %r %r" % (r.stdout, r.stderr))
    new = poll(lambda: [x for x, m in e.recordings().items() if x not in before and m[-1].get("end")], 3) or []
    if len(new) != 1 or b"notty-64" not in e.output(new[0]):
        problems.append("ssh -T gina (a shell reading stdin: interactive) not recorded: %d new recording(s)" % len(new))
    before = set(e.recordings())
    log_start = len(e.syslog.text())
    r = e.ssh_cmd("gina", "echo plain")
    check(r.returncode == 0 and r.stdout == b"plain\n", "ssh gina cmd: %r %r" % (r.stdout, r.stderr))
    if set(e.recordings()) != before:
        problems.append("ssh gina cmd (no terminal) was recorded")
    if not wait_log(e, "not recorded", "gina", start=log_start, timeout=10):
        problems.append("no auth log line saying gina's command session is not recorded")
    check(not problems, "\n  ".join(problems))


def fill_logdir(e):
    """A full file system under the recording: a 16 KiB tmpfs over the log
    directory (owned by tlog, as before), filled by root up to ENOSPC."""
    sh("mount -t tmpfs -o size=16k,mode=700,uid=%d,gid=%d tmpfs %s" % (TLOG_UID, TLOG_UID, e.logdir))
    r = subprocess.run(["dd", "if=/dev/zero", "of=" + e.logdir + "/fill", "bs=1k"], capture_output=True)
    check(b"No space left on device" in r.stderr, "dd did not fill the file system: %r" % r.stderr)
    r = subprocess.run(["dd", "if=/dev/zero", "of=" + e.logdir + "/probe", "bs=1", "count=1"], capture_output=True)
    check(r.returncode != 0, "the file system still takes data")
    os.unlink(e.logdir + "/probe")


def case_disk_full(e):
    """The recording's file system is full (lax off, the default): the
    recorder writes its first message before the command starts and refuses
    to start when it cannot: the client gets nothing of the command, a
    non-zero status, and the auth log names the failure (ENOSPC)."""
    fill_logdir(e)
    problems = []
    r = e.ssh_cmd("alice", "echo secret-$((7*7))")
    if b"secret-49" in r.stdout + r.stderr:
        problems.append("ssh cmd: the command ran unrecorded: %r" % r.stdout)
    if r.returncode == 0:
        problems.append("ssh cmd: exit status 0")
    if not wait_log(e, "cannot", "No space left on device", timeout=10):
        problems.append("ssh cmd: no auth log line naming ENOSPC")
    log_start = len(e.syslog.text())
    # with a terminal: a command, and a login shell with the command typed ahead
    for what, argv in (("ssh -tt cmd", e.ssh_argv("alice", "-tt") + ["echo secret-$((7*7))"]),
                       ("ssh -tt", e.ssh_argv("alice", "-tt"))):
        p = spawn(argv, env=dict(os.environ, TERM="xterm"))
        if what == "ssh -tt":
            p.write("echo secret-$((7*7)); exit\r")
        status = p.wait(30)
        if b"secret-49" in p.out:
            problems.append("%s: the command ran unrecorded: %r" % (what, p.out[-500:]))
        if status == 0:
            problems.append("%s: exit status 0" % what)
        if not wait_log(e, "cannot", "No space left on device", start=log_start, timeout=10):
            problems.append("%s: no auth log line naming ENOSPC" % what)
        log_start = len(e.syslog.text())
    check(not problems, "a recorded user ran unrecorded on a full disk:\n  " + "\n  ".join(problems))


def case_second_connection_cannot_join(e):
    """alice has a recorded ssh -tt session (A). A second connection (B, also
    recorded) writes to every pty: A's outer terminal (sshd's pty) refuses
    (the recorder holds it exclusive); A's inner pty takes it, but then the
    recorder reads it and A's recording has it. Whatever A's client was shown
    is in A's recording."""
    private_pts()
    a = e.ssh_tty("alice")
    a.read_until("ATTENTION! Your session is being recorded!", 30)
    prompt(a)
    outer = recorder_outer_ttys(e)
    check(len(outer) == 1, "A's outer terminal (from /proc): %r" % outer)
    outer = outer.pop()
    r = e.ssh_cmd("alice", 'for t in /dev/pts/[0-9]*; do (echo injected-$((8*8)) > $t) 2>/dev/null '
                           '&& echo "wrote $t"; done; echo done-b')
    check(r.returncode == 0 and b"done-b" in r.stdout, "B: %r %r" % (r.stdout, r.stderr))
    mark = len(a.out)
    a.write("echo a-end-$((2+3))\r")
    prompt(a, read_after(a, mark, "a-end-5"))
    a.write("exit\r")
    a.wait(30)
    e.wait_ended()
    wrote = re.findall(r"wrote (/dev/pts/\d+)", r.stdout.decode(errors="replace"))
    holders = rec_with(e, b"a-end-5")
    check(len(holders) == 1, "A's recording: %d recordings hold its output" % len(holders))
    rec_a = e.output(holders[0])
    # the recorder passes the inner pty's output on as it records it: every
    # line of the client's with the injected text is a line of the recording
    def lines(b):
        return collections.Counter(l.rstrip(b"\r") for l in b.split(b"\n") if b"injected-64" in l)
    missing = lines(a.out) - lines(rec_a)
    problems = []
    if outer in wrote:
        problems.append("B wrote to A's outer terminal %s (B wrote to %r)" % (outer, wrote))
    if missing or a.out.count(b"injected-64") > rec_a.count(b"injected-64"):
        problems.append("A's client was shown what A's recording does not have: lines %r (injected-64: client %d "
                        "times, recording %d)" % (sorted(missing.elements()), a.out.count(b"injected-64"),
                                                  rec_a.count(b"injected-64")))
    check(not problems, "\n  ".join(problems))


def case_inherited_fd(e):
    """The recorded program inherits the descriptors of whoever started the
    login shell: bob (not recorded) runs `su - carol -c CMD 3>&1` (carol is
    recorded for su), and carol's command writes to descriptor 3, bob's
    terminal, past carol's recorder. Whatever carol's session shows on bob's
    terminal must be in her recording (or the su session refused)."""
    p = e.ssh_tty("bob")
    start = prompt(p) + 2
    p.write("su - carol -c 'echo leaked-$((6*7)) as $(id -un) >&3; echo on-pty-$((7*7))' 3>&1; "
            "echo su-status=$?\r")
    mark = read_after(p, start, "Password:")
    p.write(CAROL_PASSWORD + "\r")
    prompt(p, read_after(p, mark, "su-status="))
    p.write("exit\r")
    p.wait(30)
    out = p.out[start:]
    check(b"Authentication failure" not in out, "su: the password was not taken: %r" % out)
    # su has waited for carol's recorder: her recording is complete (if any)
    recs = poll(lambda: [r for r, m in e.recordings().items() if m[-1].get("end")], 3) or []
    rec = b"".join(e.output(r) for r in recs)
    if b"su-status=0" in out:
        check(len(recs) == 1 and e.recordings()[recs[0]][0]["user"] == "carol",
              "carol's su session: %d recordings" % len(recs))
        check(b"on-pty-49" in rec, "carol's su session output not recorded: %r" % rec[-500:])
    check(b"leaked-42 as carol" not in out or b"leaked-42 as carol" in rec,
          "carol's command wrote to bob's terminal past her recording (descriptor 3): client %r, recording %r"
          % (out[-300:], rec[-300:]))


# bob's script: a recording of his own (the recorder is on the system for
# anyone to run; `script` gives it a terminal, fed from a fifo), then su to
# carol with standard input, output and error on that recording's pty, so
# that carol's recorder takes her session for one that recording covers, and
# a way out for carol's shell: descriptor 3 on bob's own terminal (su -c),
# or /dev/tty, bob's controlling terminal (interactive su -).
ESCAPE_SH = r"""REC=%(rec)s
PW=%(pw)s
D=$HOME/escape; mkdir $D; mkfifo $D/in
cat > $D/prog.sh <<EOS
tty > $D/tty.tmp && mv $D/tty.tmp $D/tty
for i in \$(seq 600); do [ -e $D/done ] && break; sleep 0.1; done
EOS
script -qfec "$REC -c 'sh $D/prog.sh'" /dev/null < $D/in > $D/out 2>&1 & SP=$!
exec 4>$D/in
wait_for() { for i in $(seq 300); do [ -e "$1" ] && return 0; sleep 0.1; done; echo "timeout: $1"; return 1; }
wait_out() { for i in $(seq 300); do grep -q "$1" $D/out && return 0; sleep 0.1; done; echo "timeout: $1"; return 1; }
wait_for $D/tty; N=$(cat $D/tty)   # the pty of bob's own recording
echo "own recording on $N"
(wait_out Password: && echo "$PW" >&4) &
su - carol -c 'echo escaped-fd-$((6*7)) as $(id -un) >&3; echo on-pty-$((7*7))' 3>&1 <$N >$N 2>$N
echo su-c-status=$?
: > $D/out
(wait_out Password: && echo "$PW" >&4 && wait_out carol@ &&
 echo 'echo escaped-tty-$((6*7)) as $(id -un) > /dev/tty; exit' >&4) &
su - carol <$N >$N 2>$N
echo su-status=$?
touch $D/done; exec 4>&-; wait $SP
"""


def case_nested_skip_escape(e):
    """A recorder started inside a recording's pty (stdin, stdout, stderr)
    runs the shell without a recording of its own. bob (not recorded) makes
    such a pty with a recording of his own and su's to carol (recorded for
    su) on it, with a descriptor on his unrecorded terminal (su -c CMD 3>&1)
    or through /dev/tty (interactive su -, bob's controlling terminal).
    Whatever carol's session shows on bob's terminal must be in a recording
    (or the su session refused)."""
    private_pts()
    script = e.T + "/home/bob/escape.sh"
    with open(script, "w") as f:
        f.write(ESCAPE_SH % {"rec": e.rec, "pw": CAROL_PASSWORD})
    os.chown(script, USERS["bob"][0], USERS["bob"][0])
    p = e.ssh_tty("bob")
    mark = prompt(p) + 2
    p.write("bash ~/escape.sh; echo end-$((1+1))\r")
    mark = read_after(p, mark, "end-2", 60)
    prompt(p, mark)
    p.write("exit\r")
    p.wait(30)
    out = p.out.decode(errors="replace")
    check(re.search(r"own recording on /dev/pts/\d+", out), "bob's own recording did not start: %r" % out[-1500:])
    # su may refuse (non-zero status), but not for want of the password
    check("su-c-status=" in out and "su-status=" in out and "Authentication failure" not in out
          and "timeout:" not in out, "the script did not get through su: %r" % out[-1500:])
    recorded = poll(lambda: b"".join(e.output(r) for r in e.recordings() if e.recordings()[r][-1].get("end")), 3) or b""
    problems = []
    for m in ("escaped-fd-42 as carol", "escaped-tty-42 as carol"):
        if m in out and m.encode() not in recorded:
            problems.append("%r reached bob's terminal and is in no recording" % m)
    check(not problems, "carol's su session escaped the recording:\n  " + "\n  ".join(problems)
          + "\n  auth log: %s" % "\n  ".join(log_lines(e, "carol")))


# Values of the recorder's variables a client sends (SendEnv, sshd's
# AcceptEnv TLOG_*): the nesting depth the recorder keeps in the
# environment, alone and with other recorder variables.
FORGED_ENVS = [
    {"TLOG_REC_SESSION_NESTED": "31"},
    {"TLOG_REC_SESSION_NESTED": "-1"},
    {"TLOG_REC_SESSION_NESTED": "32"},
    {"TLOG_REC_SESSION_NESTED": "4294967296"},
    {"TLOG_REC_SESSION_NESTED": "99999999999999999999"},
    {"TLOG_REC_SESSION_NESTED": "-2147483648"},
    {"TLOG_REC_SESSION_NESTED": "31", "TLOG_REC_SESSION_SHELL": "/bin/sh",
     "TLOG_REC_SESSION_CONF_TEXT": '{"pam":{"record":false},"lax":true}'},
    {"TLOG_REC_SESSION_NESTED": "-1", "TLOG_REC_SHELL": "/bin/sh", "TLOG_REC_CONF_PROOF": "v1:9999999999:00"},
]


def case_forged_nesting_env(e):
    """TLOG_REC_SESSION_NESTED and other recorder variables sent by the
    client: the session is recorded, or refused with nothing of the command
    on the client; never run unrecorded. (TLOG_ATTACK_PROBE shows that the
    client's variables reach the session.)"""
    problems = []
    for i, forged in enumerate(FORGED_ENVS):
        marker = "nested-%d" % (1000 + i)
        before = set(e.recordings())
        r = e.ssh_cmd("alice", "echo nested-$((1000+%d)) probe=$TLOG_ATTACK_PROBE depth=$TLOG_REC_SESSION_NESTED" % i,
                      "-o", "SendEnv=TLOG_*", env=dict(os.environ, TLOG_ATTACK_PROBE="arrived", **forged))
        got = marker.encode() in r.stdout
        if r.returncode != 0 and not got:
            print("%r: refused (status %d): %r" % (forged, r.returncode, r.stderr))
            continue
        if b"probe=arrived" not in r.stdout:
            problems.append("%r: the client's variables did not arrive (sshd AcceptEnv): %r" % (forged, r.stdout))
        # sshd waited for the recorder: its recording is complete (if any)
        recs = poll(lambda: [x for x, m in e.recordings().items() if x not in before and m[-1].get("end")], 3) or []
        if not any(marker.encode() in e.output(x) for x in recs):
            problems.append("%r: ran unrecorded (status %d, stdout %r, stderr %r)"
                            % (forged, r.returncode, r.stdout, r.stderr))
        elif not got:
            problems.append("%r: recorded but the client did not get the output (status %d, %r)"
                            % (forged, r.returncode, r.stderr))
        else:
            print("%r: recorded: %r" % (forged, r.stdout))
    check(not problems, "\n  ".join(problems))


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}
# gina is a directory user: only the directory order resolves her.
ORDER = {"interactive_command_tty": "directory"}
SSHD_EXTRA = {"forged_nesting_env": "AcceptEnv TLOG_*"}


def main():
    case = sys.argv[1]
    run_case(CASES, case, ORDER.get(case, "tlog-first"), sshd_extra=SSHD_EXTRA.get(case, ""), dump=debug_dump)


if __name__ == "__main__":
    main()
    print("ok")
