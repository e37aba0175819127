#!/usr/bin/env python3
"""Writers against the real services (suite integration, root): journald with
its sockets on a private /run, rsyslogd on a private /dev/log. Both started
here and stopped by PID. Run through run_ns.sh. Usage: test_writers.py CASE"""
import json
import os
import subprocess
import time

from tlogtest.terminal import run_case, TLOG_REC, TLOG_REC_SESSION, check, decode, output_of, spawn, tmpdir
from tlogtest.namespace import Journald, Rsyslog, private_dev, require_root_ns, sh


def clean_env(**kw):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TLOG_REC_") or k.endswith("_BIN")}
    env.update(kw)
    return env


def case_journal():
    require_root_ns()
    T = tmpdir()
    sh("mount -t tmpfs -o mode=755 tmpfs /run")
    j = Journald(T)
    try:
        p = spawn([TLOG_REC, "-w", "journal", "/bin/sh", "-c", "echo journal-payload-$((40+2))"], env=clean_env())
        check(p.wait() == 0, "tlog-rec failed: %r" % p.out)
        time.sleep(0.5)
        ents = []
        end = time.time() + 10
        while time.time() < end:
            ents = [e for e in j.entries("SYSLOG_IDENTIFIER=tlog-rec") if "TLOG_REC" in e]
            if ents and any('"end"' in e["MESSAGE"] for e in ents):
                break
            time.sleep(0.2)
        check(ents, "no journal entries with TLOG_REC")
        e0 = ents[0]
        for f in ("TLOG_REC", "TLOG_USER", "TLOG_SESSION", "TLOG_ID", "MESSAGE"):
            check(f in e0, "journal entry lacks %s: %r" % (f, sorted(e0)))
        check(e0["TLOG_USER"] == "root" and e0["TLOG_SESSION"] == "4294967295", "fields %r" % e0)
        check(e0["PRIORITY"] == "6", "priority info expected")
        # the MESSAGE fields form the recording
        out = T + "/from-journal.log"
        with open(out, "w") as f:
            for e in sorted(ents, key=lambda e: int(e["TLOG_ID"])):
                f.write(e["MESSAGE"] + "\n")
                check(json.loads(e["MESSAGE"])["id"] == int(e["TLOG_ID"]), "TLOG_ID differs from id")
        check(b"journal-payload-42" in output_of(out), "payload not in the journal")
        # tlog-rec-session's default writer is the journal
        p = spawn([TLOG_REC_SESSION, "-c", "echo session-in-journal"], env=clean_env(TLOG_REC_SHELL="/bin/sh"))
        check(p.wait() == 0, "tlog-rec-session failed: %r" % p.out)
        end = time.time() + 10
        while time.time() < end and not j.entries("SYSLOG_IDENTIFIER=tlog-rec-session"):
            time.sleep(0.2)
        ents = j.entries("SYSLOG_IDENTIFIER=tlog-rec-session")
        check(any("session-in-journal" in e["MESSAGE"] for e in ents), "session not in the journal")
        # --journal-priority and --journal-augment=false
        p = spawn([TLOG_REC, "-w", "journal", "--journal-priority=warning", "--journal-augment=false",
                   "/bin/echo", "plain-entry"], env=clean_env())
        check(p.wait() == 0, "tlog-rec failed")
        end = time.time() + 10
        plain = []
        while time.time() < end and not plain:
            plain = [e for e in j.entries("SYSLOG_IDENTIFIER=tlog-rec") if "plain-entry" in e["MESSAGE"]]
            time.sleep(0.2)
        check(plain and plain[0]["PRIORITY"] == "4" and "TLOG_REC" not in plain[0], "options ignored: %r" % plain)
    finally:
        j.stop()
    # journald gone: the writer refuses to start instead of dropping silently
    sh("rm -rf /run/systemd/journal")
    r = subprocess.run([TLOG_REC, "-w", "journal", "/bin/true"], capture_output=True, env=clean_env(), timeout=20)
    check(r.returncode != 0 and b"journald is not running" in r.stderr, "silent journal failure: %r" % r.stderr)


def case_syslog():
    require_root_ns()
    T = tmpdir()
    private_dev(T)
    s = Rsyslog(T, T + "/syslog.out")
    try:
        p = spawn([TLOG_REC, "-w", "syslog", "/bin/sh", "-c", "echo syslog-payload-$((40+2))"], env=clean_env())
        check(p.wait() == 0, "tlog-rec failed: %r" % p.out)
        text = s.text(wait_for='"end"')
        lines = [l for l in text.splitlines() if l.startswith("authpriv.info tlog-rec:")]
        check(lines, "no authpriv.info messages from tlog-rec: %r" % text)
        rec = T + "/from-syslog.log"
        with open(rec, "w") as f:
            for l in lines:
                f.write(l.split(":", 1)[1].strip() + "\n")
        check(b"syslog-payload-42" in output_of(rec), "payload not in syslog")
        _, verdict = decode(rec)
        check("intact" in verdict.lower(), "syslog copy not intact: %s" % verdict)
        p = spawn([TLOG_REC, "-w", "syslog", "--syslog-facility=local3", "--syslog-priority=notice", "/bin/echo", "x"],
                  env=clean_env())
        check(p.wait() == 0, "facility run failed")
        check("local3.notice tlog-rec:" in s.text(wait_for="local3.notice"), "facility/priority options ignored")
    finally:
        s.stop()
    # rsyslog gone: the failure is reported, the session ends (lax false)
    r = subprocess.run([TLOG_REC, "-w", "syslog", "/bin/true"], capture_output=True, env=clean_env(), timeout=20)
    check(r.returncode != 0 and b"syslog" in r.stderr, "silent syslog failure: %r" % r.stderr)


def case_writer_dies_mid_session():
    """rsyslogd stops while the session runs: lax false ends the session
    with an error, lax true goes on; neither is silent."""
    require_root_ns()
    T = tmpdir()
    private_dev(T)
    sh("mount -t tmpfs -o mode=755 tmpfs /var/log")  # the loss record goes to /var/log/tlog
    os.makedirs("/var/log/tlog")
    for lax, want_end in ((False, True), (True, False)):
        s = Rsyslog(T, T + "/syslog-%d.out" % lax)
        args = [TLOG_REC, "-w", "syslog", "--latency=0.2", "--lax=%s" % ("true" if lax else "false"),
                "/bin/sh", "-c", "echo started; sleep 1; while :; do echo tick; sleep 0.2; done"]
        p = spawn(args, env=clean_env())
        p.read_until("started")
        s.stop()
        if os.path.exists("/dev/log"):
            os.unlink("/dev/log")
        if want_end:
            st = p.wait(timeout=20)
            check(st != 0, "session did not end after the writer failed")
            check(b"writer failed" in p.out, "failure not shown: %r" % p.out[-500:])
        else:
            p.read_until("writer failed")
            p.read_until("tick")
            time.sleep(1)
            os.kill(p.pid, 15)
            p.wait(timeout=20)
            check(b"lost" in p.out, "loss summary not shown: %r" % p.out[-500:])
            lost = [json.loads(l) for l in open("/var/log/tlog/lost.log")]
            check(lost and lost[-1]["writer"] == "syslog" and lost[-1]["lost_messages"] >= 1,
                  "no local loss record: %r" % lost)


if __name__ == "__main__":
    run_case(globals())
