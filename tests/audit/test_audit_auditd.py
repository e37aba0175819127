#!/usr/bin/env python3
"""tlog-audit against a real auditd (started here, RAW then ENRICHED log
format): the commands below run as a test uid in a new login session whose
start record has the form pam_tlog writes; every converted event is checked
for valid JSON and UTF-8, every field of every record against `ausearch -i`
for the same log, argv against what was run, and the joins (rec, parents,
failed authentications), --session, --rec, rotated sets, --follow, --plugin
and trimming. Root; fails when auditd cannot start."""
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

from tlogtest.login import Auditd, wait_for
from tlogtest.namespace import sh, stop_process
from tlogtest.terminal import check, fail, tmpdir

TLOG_AUDIT = sys.argv[1]
UID = 23456
NODE = "tlog-test-node"
REC = "0badc0de-test"
RHOST = "192.0.2.7"
HUGE_ARGC = 3000
BIG_ARG = "B" * 20000  # longer than the kernel's 7500-byte record piece: aN[i] chunks
ODD_NAMES = [b"sp ace", b'quo"te', b"new\nline", "ünï cødé".encode(), b"\xff\xfe bin", b"semi;colon=eq'x"]
ODD_ARGS = [b"two words", b'a "quoted" arg', b"tab\there", b"\xc3\x28 invalid", b"=eq a1=forged"]

RULES = [
    ["-a", "always,exit", "-F", "arch=b64", "-S", "execve", "-F", "uid=%d" % UID, "-k", "tlogtest-exec"],
    ["-a", "always,exit", "-F", "arch=b64", "-S", "openat", "-S", "unlinkat", "-F", "uid=%d" % UID, "-k",
     "tlogtest-file"],
    ["-a", "always,exit", "-F", "arch=b64", "-S", "connect", "-F", "uid=%d" % UID, "-k", "tlogtest-net"],
]

# Runs in the new login session (loginuid written by preexec): the records a
# failed then successful sshd login writes around pam_tlog's, then the user's
# commands as UID.
SESSION_SCRIPT = r'''
import ctypes, os, subprocess, sys
lib = ctypes.CDLL("libaudit.so.1")
fd = lib.audit_open()
assert fd >= 0
def user(kind, msg, ok):
    r = lib.audit_log_user_message(fd, kind, msg.encode(), sys.argv[2].encode(), sys.argv[2].encode(), b"ssh", ok)
    assert r > 0, r
user(1100, 'op=PAM:authentication grantors=? acct="tlogtest" exe="/usr/sbin/sshd"', 0)
user(1121, 'op=tlog-session-start rec="%s" rule="test" service="sshd" acct="tlogtest" rhost="%s" tty="ssh"'
     % (sys.argv[1], sys.argv[2]), 1)
os.execvp("setpriv", ["setpriv", "--reuid", sys.argv[3], "--regid", sys.argv[3], "--clear-groups"] + sys.argv[4:])
'''

USER_SCRIPT = r'''
cd "$1"
/bin/sh -c '/bin/true; /bin/echo chain' > /dev/null
'''


class Displaced(Exception):
    pass


def displaced(why):
    print("auditctl -s said: %s" % (why[0] if why else "?"))
    return Displaced()


def run_as_user(work, argv):
    subprocess.run(["setpriv", "--reuid", str(UID), "--regid", str(UID), "--clear-groups"] + argv, cwd=work,
                   env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def new_session():
    with open("/proc/self/loginuid", "w") as f:
        f.write(str(UID))


def generate(T, fmt):
    os.makedirs(T)
    open(T + "/syslog.out", "w").close()  # the helper shows it when auditd fails
    a = Auditd(T, log_format=fmt, node=NODE)
    added = []
    # Watches, while the events are made, that ours is the audit daemon the
    # kernel sends to and auditing stays on: other tests on this machine
    # start their own auditd or run auditctl -e 0, and our events then go
    # elsewhere or nowhere. Not a failure of ours: the caller tries again.
    lost = threading.Event()
    done = threading.Event()
    why = []

    def watch():
        while not done.is_set():
            st = subprocess.run(["auditctl", "-s"], capture_output=True, text=True).stdout
            if "pid %d\n" % a.proc.pid not in st or "enabled 1" not in st:
                why.append(st.replace("\n", " ")[:120])
                lost.set()
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        # The default backlog (64) loses events on a busy machine.
        sh("auditctl -b 8192 --backlog_wait_time 60000")
        for r in RULES:
            sh("auditctl " + " ".join("'%s'" % x for x in r))
            added.append(r)
        work = T + "/work"
        os.makedirs(work)
        os.chmod(work, 0o777)
        os.chmod(T, 0o755)
        # The login session: failed auth, pam_tlog's start, then a shell
        # whose children exec (the parent chain).
        subprocess.run([sys.executable, "-c", SESSION_SCRIPT, REC, RHOST, str(UID),
                        "/bin/sh", "-c", USER_SCRIPT, "sh", work], preexec_fn=new_session, check=True, timeout=60)
        # Outside the login session: files with odd names, failed syscalls,
        # odd and huge argv, connections.
        for n in ODD_NAMES:
            run_as_user(work, [b"/usr/bin/touch", n])
            run_as_user(work, [b"/bin/rm", b"./" + n])
        run_as_user(work, ["/bin/cat", "/nonexistent/tlogtest"])
        run_as_user(work, [b"/bin/echo"] + ODD_ARGS)
        run_as_user(work, ["/bin/true"] + ["arg%d" % i for i in range(HUGE_ARGC - 1)])
        run_as_user(work, ["/bin/echo", BIG_ARG])
        run_as_user(work, ["/usr/bin/python3", "-c",
                           "import socket\n"
                           "for fam, addr in ((socket.AF_INET, ('127.0.0.1', 9)), (socket.AF_INET6, ('::1', 9)),"
                           " (socket.AF_UNIX, '/nonexistent/tlogtest.sock')):\n"
                           "    try: socket.socket(fam).connect(addr)\n"
                           "    except OSError: pass\n"])
        # su's PAM records (USER_ACCT, CRED_ACQ, USER_START, USER_END, CRED_DISP).
        subprocess.run(["su", "-s", "/bin/true", "nobody"], check=True, timeout=60)
        # auditd writes (flush = SYNC) as it receives: wait for su's last record.
        end = time.time() + 120
        while not re.search(rb"type=CRED_DISP .*acct=\"nobody\" exe=\"/usr/bin/su\"", open(a.log, "rb").read()):
            if lost.is_set():
                raise displaced(why)
            check(time.time() < end, "timeout waiting for su's records in the log")
            time.sleep(0.2)
        if lost.is_set():
            raise displaced(why)
    finally:
        done.set()
        watcher.join()
        for r in added:
            subprocess.run(["auditctl", "-d"] + r[1:], capture_output=True)
        a.stop()
    return a.log


def convert(args, stdin=None):
    r = subprocess.run([TLOG_AUDIT] + args, capture_output=True, input=stdin, timeout=300)
    check(r.returncode == 0, "tlog-audit %s: %d %s" % (args, r.returncode, r.stderr.decode(errors="replace")))
    return parse_lines(r.stdout)


def parse_lines(data):
    events = []
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            text = line.decode("utf-8")  # strict: invalid UTF-8 is a failure
            events.append(json.loads(text))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            fail("invalid output line %r: %s" % (line[:200], e))
    return events


def ausearch_records(log):
    """serial -> [(type, text)] from ausearch -i --escape raw."""
    r = subprocess.run(["ausearch", "-if", log, "-i", "--escape", "raw"], capture_output=True, timeout=300)
    out = {}
    cur = None
    for line in r.stdout.decode("utf-8", errors="replace").split("\n----\n"):
        for rec in re.split(r"\n(?=(?:node=\S+ )?type=)", line.strip("\n")):
            m = re.match(r"(?:node=\S+ )?type=(\S+) msg=audit\([^)]*:(\d+)\) : (.*)", rec, re.S)
            if m:
                out.setdefault(int(m.group(2)), []).append((m.group(1), " " + m.group(3) + " "))
    return out


def check_against_ausearch(events, log):
    expected = ausearch_records(log)
    checked = 0
    for e in events:
        recs = expected.get(e["serial"])
        check(recs is not None, "event %d not in ausearch's output" % e["serial"])
        for r in e.get("records", []):
            cands = [t for ty, t in recs if ty == r["type"]]
            check(cands, "event %d: no %s record in ausearch's output" % (e["serial"], r["type"]))
            interp = r.get("interpreted", {})
            for name, raw in r["fields"].items():
                if r["type"] == "EXECVE" and re.match(r"a\d", name):
                    continue  # argv is checked against what was run
                if name.isupper():
                    continue  # ENRICHED's own copies, which ausearch -i folds into the interpretation
                want = "%s=%s" % (re.sub(r"~\d+$", "", name), interp.get(name, raw))
                check(any((" " + want + " ") in t or (" " + want) in t or ("'" + want) in t for t in cands),
                      "event %d %s: %r not in ausearch -i: %r" % (e["serial"], r["type"], want, cands[0][:600]))
                checked += 1
    check(checked > 500, "only %d fields compared" % checked)
    return checked


def check_events(events, log, fmt):
    # One serial may come as two events (libauparse ends an event at a
    # LOGIN record); the ausearch comparison goes by serial and record type.
    check(all(e["host"] == NODE for e in events), "host is not the node name")
    n = check_against_ausearch(events, log)
    execs = [e for e in events if e.get("syscall") == "execve"]
    argvs = [e.get("argv") for e in execs]
    # argv: hex-encoded, odd, huge, chunked.
    odd = [e for e in execs if e.get("argv", [""])[0] == "/bin/echo" and len(e["argv"]) == len(ODD_ARGS) + 1]
    check(odd, "odd argv not found in %r" % argvs[:20])
    got = odd[0]["argv"][1:]
    for i, a in enumerate(ODD_ARGS):
        if a == b"\xc3\x28 invalid":
            check(got[i] == "\ufffd( invalid", "invalid UTF-8 argument: %r" % got[i])
            check(odd[0]["argv_hex"][str(i + 1)] == a.hex(), "argv_hex: %r" % odd[0].get("argv_hex"))
        else:
            check(got[i] == a.decode(), "argument %d: %r != %r" % (i, got[i], a))
    huge = [e for e in execs if e.get("argc") == HUGE_ARGC]
    check(huge and len(huge[0]["argv"]) == HUGE_ARGC and huge[0]["argv"][-1] == "arg%d" % (HUGE_ARGC - 2),
          "huge argv: %r" % [(e.get("argc"), len(e.get("argv", []))) for e in execs])
    big = [e for e in execs if e.get("argv") == ["/bin/echo", BIG_ARG]]
    check(big, "the 20000-byte argument was not reassembled")
    # Odd file names: PATH list, resolved against CWD.
    names = {p["name"]: p for e in events for p in e.get("paths", [])}
    for n_ in ODD_NAMES:
        want = n_.decode("utf-8", errors="replace")
        check(want in names, "file name %r not in the PATH lists" % want)
        check(names[want]["resolved"].endswith("/work/" + want), "resolved: %r" % names[want])
    # Failed syscalls.
    cats = [e for e in events if e.get("comm") == "cat" and e.get("syscall") == "openat" and e.get("success") is False]
    check(any(c.get("exit_name", "").startswith("ENOENT") and c["exit"] == -2 for c in cats), "failed openat: %r" % [(c["exit"], c.get("exit_name")) for c in cats])
    # Connections.
    socks = [e["sockaddr"] for e in events if "sockaddr" in e and e.get("syscall") == "connect"]
    check({"family": "inet", "addr": "127.0.0.1", "port": 9} in socks, "inet sockaddr: %r" % socks)
    check({"family": "inet6", "addr": "::1", "port": 9} in socks, "inet6 sockaddr: %r" % socks)
    check({"family": "unix", "path": "/nonexistent/tlogtest.sock"} in socks, "unix sockaddr: %r" % socks)
    check(any(e.get("proctitle", [""])[0].endswith("python3") for e in events if "sockaddr" in e), "proctitle")
    # su/PAM records with their result.
    # (other tests' su runs may be in the log: kernel audit is host-wide)
    su = {e.get("type"): e for e in events if e.get("exe") == "/usr/bin/su" and e.get("acct") == "nobody"}
    for t in ("USER_ACCT", "CRED_ACQ", "USER_START", "USER_END", "CRED_DISP"):
        check(t in su and su[t]["res"] == "success" and su[t]["acct"] == "nobody", "su %s: %r" % (t, su.get(t)))
    # The login session: rec on its events, failed authentication joined,
    # the parent chain.
    start = [e for e in events if e.get("op") == "tlog-session-start" and e.get("rec") == REC]
    check(len(start) == 1, "start record: %r" % start)
    ses = start[0]["ses"]
    check(isinstance(ses, int), "start record without a session")
    fails = [e for e in events if e.get("type") == "USER_AUTH" and e.get("res") == "failed" and e.get("acct") == "tlogtest"]
    # The message forged exe="/usr/sbin/sshd"; libaudit appended the real one.
    check(len(fails) == 1 and fails[0]["exe"] != "/usr/sbin/sshd", "forged exe believed: %r" % fails)
    check(len(fails) == 1 and start[0]["failed_auth_before"] == [{"serial": fails[0]["serial"], "time": fails[0]["time"]}],
          "failed authentication not joined: %r" % start[0].get("failed_auth_before"))
    in_ses = [e for e in events if e["ses"] == ses and e["serial"] >= start[0]["serial"]]
    check(len(in_ses) >= 5 and all(e.get("rec") == REC for e in in_ses), "rec: %r" % [(e["serial"], e.get("rec")) for e in in_ses])
    check(not any(e.get("rec") == REC for e in events if e["ses"] != ses), "rec on another session's event")
    echo = [e for e in in_ses if e.get("syscall") == "execve" and e.get("argv") == ["/bin/echo", "chain"]]
    check(echo, "the chain's echo")
    chain = [(p["exe"], p["argv"][:2]) for p in echo[0].get("parents", [])]
    check(chain[:2] == [("/usr/bin/dash", ["/bin/sh", "-c"]), ("/usr/bin/dash", ["/bin/sh", "-c"])],
          "parent chain: %r" % chain)
    print("%s: %d events, %d fields compared with ausearch -i" % (fmt, len(events), n))
    return ses


def check_modes(T, log, events, ses):
    # --session: that session only, in time order.
    got = convert(["--session", "%s:%d" % (NODE, ses), log])
    want = [e for e in events if e["ses"] == ses]
    check([e["serial"] for e in got] == sorted(e["serial"] for e in want), "--session: %r" % [e["serial"] for e in got])
    # --rec: the same plus the joined failed authentication.
    got_rec = convert(["--rec", REC, log])
    check([e["serial"] for e in got_rec if e["ses"] == ses] == [e["serial"] for e in got]
          and any(e.get("type") == "USER_AUTH" for e in got_rec), "--rec: %r" % [e["serial"] for e in got_rec])
    r = subprocess.run([TLOG_AUDIT, "--rec", "no-such-rec", log], capture_output=True, timeout=120)
    check(r.returncode == 1 and b"no-such-rec" in r.stderr, "unknown --rec: %r" % r.stderr)
    # A rotated set gives what the whole file gives.
    data = open(log, "rb").read()
    cut = data.index(b"\n", len(data) // 2) + 1
    os.makedirs(T + "/rot")
    with open(T + "/rot/audit.log.1", "wb") as f:
        f.write(data[:cut])
    with open(T + "/rot/audit.log", "wb") as f:
        f.write(data[cut:])
    check(convert(["--rotated", T + "/rot/audit.log"]) == events, "rotated set differs from the whole file")
    # The file writer: the same lines; a symbolic link in its place is refused.
    check(convert(["-o", T + "/out.jsonl", log]) == [] and parse_lines(open(T + "/out.jsonl", "rb").read()) == events,
          "-o FILE differs")
    os.symlink(T + "/target", T + "/link.jsonl")
    r = subprocess.run([TLOG_AUDIT, "-o", T + "/link.jsonl", log], capture_output=True, timeout=120)
    check(r.returncode == 1 and not os.path.exists(T + "/target") and b"link.jsonl" in r.stderr,
          "-o through a symbolic link: %d %r" % (r.returncode, r.stderr))
    # Plugin mode: the same from standard input.
    check(convert(["--plugin"], stdin=data) == events, "--plugin differs")
    # Trimming: the huge argv under a small limit.
    small = convert(["--max-event-size", "2048", log])
    check(all(len(json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode()) <= 2048 for e in small),
          "an event exceeds --max-event-size")
    huge = [e for e in small if e.get("argc") == HUGE_ARGC]
    check(huge and "argv" in huge[0]["trimmed"] and len(huge[0]["argv"]) < HUGE_ARGC, "trimmed huge argv: %r" %
          (huge[0] if huge else None))
    # --follow: appended in pieces, and a rotation.
    live = T + "/live.log"
    open(live, "wb").close()
    out = open(T + "/follow.out", "wb")
    p = subprocess.Popen([TLOG_AUDIT, "--follow", live], stdout=out)

    def has_open(path):
        d = "/proc/%d/fd" % p.pid
        try:
            return any(os.readlink(d + "/" + fd) == path for fd in os.listdir(d))
        except OSError:
            return False

    try:
        # Follows from the file there when it starts, as tail -F does.
        wait_for(lambda: has_open(live), "tlog-audit --follow to open the file", 60)
        with open(live, "ab") as f:
            f.write(data[:cut])
        os.rename(live, live + ".1")
        with open(live, "wb") as f:
            f.write(data[cut:])
        wait_for(lambda: len(open(T + "/follow.out", "rb").read().split(b"\n")) > len(events) - 2, "--follow output", 60)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
        out.close()
    followed = parse_lines(open(T + "/follow.out", "rb").read())
    check([e["serial"] for e in followed] == [e["serial"] for e in events], "--follow gave other events")



def same_as_libauparse(log, raw, fmt):
    # tlog-audit's own reader against libauparse's event assembly (the
    # hidden --libauparse-events): byte for byte, from the file and from
    # standard input as auditd's plugin interface gives it.
    out = {}
    for name, args, stdin in (("reader", [log], None), ("libauparse", ["--libauparse-events", log], None),
                              ("reader, stdin", [], raw)):
        r = subprocess.run([TLOG_AUDIT] + args, capture_output=True, input=stdin, timeout=300)
        check(r.returncode == 0, "tlog-audit %s: %r" % (args, r.stderr))
        out[name] = r.stdout
    check(out["reader"] == out["libauparse"], "%s: the reader's output differs from libauparse's" % fmt)
    check(out["reader, stdin"] == out["reader"], "%s: standard input differs from the file" % fmt)
    print("%s: %d bytes of JSON, the same with libauparse assembling the events" % (fmt, len(out["reader"])))


def main():
    T = tmpdir()
    for fmt in ("RAW", "ENRICHED"):
        d = T + "/" + fmt
        os.makedirs(d)
        for attempt in range(5):
            try:
                log = generate(d + "/%d" % attempt, fmt)
                break
            except Displaced:
                print("%s: another auditd took over during attempt %d; again" % (fmt, attempt + 1))
        else:
            fail("%s: auditd was displaced five times" % fmt)
        d = d + "/%d" % attempt
        raw = open(log, "rb").read()
        check((b"\x1d" in raw) == (fmt == "ENRICHED"), "log format is not %s" % fmt)
        events = convert([log])
        same_as_libauparse(log, raw, fmt)
        ses = check_events(events, log, fmt)
        check_modes(d, log, events, ses)
    print("ok")


main()
