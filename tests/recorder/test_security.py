#!/usr/bin/env python3
"""Security model tests of tlog-rec-session installed setuid/setgid tlog
(suite integration, root). Run through run_ns.sh: a private mount
namespace with test copies of passwd/group/shadow (users tlog and rectest),
an ld.so.cache naming the build's librec (setuid programs ignore
LD_LIBRARY_PATH and $ORIGIN), a private /dev served by a real rsyslogd
(/dev/log: the recorder's audit messages), a tmpfs /run (/run/tlog locks)
and a tmpfs sysconfdir holding the strict system configuration.
Usage: test_security.py CASE"""
import ctypes
import hashlib
import hmac
import json
import os
import sys
import time

from tlogtest.terminal import run_case, check, decode, end_of, fail, input_of, messages, output_of, windows_of
from tlogtest.namespace import sh
from tlogtest.security_env import EXTRA_GID, Env, KEY_HEX, SYSCONFDIR, TLOG_GID, TLOG_UID, USER_GID, USER_UID

PTRACE_CHECK = ("import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); "
                "r=l.ptrace(16,int(sys.argv[1]),0,0); print('ptrace=%d errno=%d' % (r, ctypes.get_errno()))")


def case_recorder_untouchable():
    e = Env()
    try:
        script = ('echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"; '
                  'kill -KILL $PPID; echo "kill=$?"; kill -STOP $PPID; echo "stop=$?"; '
                  'python3 -c "%s" $PPID; ' % PTRACE_CHECK +
                  'grep -E "^(Uid|Gid|Groups|CapEff|CapPrm):" /proc/$PPID/status; '
                  'echo "shellcaps=$(grep CapEff /proc/$$/status | cut -f2)"; '
                  'cat /proc/$PPID/environ >/dev/null 2>&1; echo "environ=$?"; '
                  'cat %s >/dev/null 2>&1; echo "readlog=$?"; echo "tty=$(stat -c %%U:%%G $(tty))"; '
                  'ls -l /proc/$$/fd > $HOME/fds.txt; '
                  'echo "leaked=$(grep -c -E "session.log|socket:|lock|ptmx|signalfd|pipe:" $HOME/fds.txt)"; '
                  'echo done' % e.log)
        p = e.run_as_user(["-c", script])
        st = p.wait()
        out = p.out.decode()
        print(out)
        check(st == 0, "status %d" % st)
        check("uid=%d gid=%d" % (USER_UID, USER_GID) in out, "the shell must run as the user")
        check("kill=1" in out and "stop=1" in out, "kill -KILL / -STOP on the recorder did not fail")
        check(out.count("Operation not permitted") >= 2, "kill errors are not EPERM")
        check("ptrace=-1 errno=1" in out, "ptrace attach on the recorder did not fail with EPERM")
        check("Uid:\t%d\t%d\t%d\t%d" % ((TLOG_UID,) * 4) in out, "recorder uids not all tlog")
        check("Gid:\t%d\t%d\t%d\t%d" % ((TLOG_GID,) * 4) in out, "recorder gids not all tlog")
        check("Groups:\t%d" % TLOG_GID in out and str(EXTRA_GID) not in out.split("Groups:")[1].split("\n")[0],
              "recorder kept the user's supplementary groups")
        check("CapEff:\t0000000000000000" in out and "CapPrm:\t0000000000000000" in out,
              "recorder kept capabilities")
        check("groups=%d %d" % (USER_GID, EXTRA_GID) in out, "the shell lost the user's groups")
        check("shellcaps=0000000000000000" in out, "the shell has capabilities")
        check("environ=1" in out, "the user can read the recorder's /proc/PID/environ")
        check("readlog=1" in out, "the user can read the recordings")
        check("tty=rectest:rectest" in out, "the session's terminal is not the user's")
        check("leaked=0" in out, "the shell inherited a descriptor of the recorder")
        st_ = os.stat(e.log)
        check(st_.st_uid == TLOG_UID and (st_.st_mode & 0o777) == 0o600, "recording file owner/mode")
        check(b"uid=%d" % USER_UID in output_of(e.log), "session not recorded")
        check(end_of(e.log) == "exit", "end marker %r" % end_of(e.log))
        # installed without the capability (no xattrs): the supplementary
        # groups stay, everything else holds
        sh("setcap -r " + e.rec)
        os.chmod(e.rec, 0o6755)
        p = e.run_as_user(["-c", 'kill -KILL $PPID; echo "kill=$?"; grep -E "^(Uid|Gid|Groups):" /proc/$PPID/status'])
        check(p.wait() == 0, "session without cap_setgid failed")
        out = p.out.decode()
        check("kill=1" in out and "Uid:\t%d\t%d\t%d\t%d" % ((TLOG_UID,) * 4) in out and
              "Gid:\t%d\t%d\t%d\t%d" % ((TLOG_GID,) * 4) in out, "without cap_setgid: %s" % out)
        check(str(EXTRA_GID) in out.split("Groups:")[1], "expected the user's groups kept: %s" % out)
    finally:
        e.close()


def case_hangup_final_message():
    e = Env()
    try:
        p = e.run_as_user([], argv0="-tlog-rec-session")
        p.read_until("ATTENTION")
        p.write("echo marker-$((6*7))\r")
        p.read_until("marker-42")
        os.close(p.fd)  # the terminal (ssh connection) goes away
        end = time.time() + 15
        while time.time() < end:
            pid, st = os.waitpid(p.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
        else:
            fail("recorder still running after hangup")
        check(b"marker-42" in output_of(e.log), "output before the hangup lost")
        check(end_of(e.log) == "hangup", "end %r" % end_of(e.log))
    finally:
        e.close()


def case_forged_env_ignored():
    e = Env()
    try:
        forged = '{"log": {"output": false}, "writer": "file", "file": {"path": "%s/home/mine.log"}}' % e.T
        p = e.run_as_user(["-c", "echo visible-output"], env_extra={
            "TLOG_REC_SESSION_CONF_TEXT": forged,
            "TLOG_REC_SESSION_CONF_FILE": e.T + "/home/other.conf",
            "TLOG_REC_SESSION_CONF_PROOF": "v1:99999999999:" + "00" * 32})
        check(p.wait() == 0, "session failed")
        check(b"visible-output" in output_of(e.log), "a forged environment disabled the recording")
        check(not os.path.exists(e.T + "/home/mine.log"), "the forged file path was used")
        log = e.syslog.text(wait_for="log.output")
        print(log)
        check("authpriv.warning" in log and "log.output" in log and "ignored" in log,
              "the ignored setting was not logged to authpriv")
        check("MAC does not match" in log, "the bad proof was not reported")
        # the login shell's command line is the user's: a file path, another
        # writer or log-output=false given there is ignored and logged
        elsewhere = e.T + "/home/elsewhere.log"
        r = e.run_as_user(["-o", elsewhere, "--log-output=false", "-w", "syslog", "-c", "echo cli-$((6*7))"], pty=False)
        check(r.returncode == 0 and r.stdout == b"cli-42\n", "session with ignored options failed: %r" % r.stderr)
        check(not os.path.exists(elsewhere), "the command-line file path was used")
        last = messages(e.log)[-1]["rec"]
        evs, _ = decode(e.log, last)
        check(b"cli-42" in b"".join(d for _, k, d in evs if k == "o"), "command-line options weakened the recording")
        log = e.syslog.text(wait_for="file.path")
        for setting in ("file.path", "log.output", "writer"):
            check("<command line>: setting '%s'" % setting in log and "command line is the user's" in log,
                  "ignored command-line setting %s not logged: %s" % (setting, log[-1500:]))
    finally:
        e.close()


def case_valid_proof_accepted():
    e = Env()
    try:
        text = '{"log": {"input": true}}'
        expires = int(time.time()) + 60
        msg = ("tlog-conf-proof-v1\nrectest\n4294967295\n%d\n" % expires).encode() + text.encode()
        mac = hmac.new(bytes.fromhex(KEY_HEX), msg, hashlib.sha256).hexdigest()
        proof = "v1:%d:%s" % (expires, mac)
        p = e.run_as_user(["-c", "read line; echo got-$line"], env_extra={
            "TLOG_REC_SESSION_CONF_TEXT": text, "TLOG_REC_SESSION_CONF_PROOF": proof})
        time.sleep(0.5)
        p.write("typed-secret\r")
        p.read_until("got-typed-secret")
        check(p.wait() == 0, "session failed")
        check(b"typed-secret" in input_of(e.log), "proven setting (log.input) not applied")
        # pam_tlog's names: TLOG_REC_CONF_TEXT + TLOG_REC_CONF_PROOF
        os.unlink(e.log)
        text2 = '{"log": {"window": false}}'
        msg = ("tlog-conf-proof-v1\nrectest\n4294967295\n%d\n" % expires).encode() + text2.encode()
        proof2 = "v1:%d:%s" % (expires, hmac.new(bytes.fromhex(KEY_HEX), msg, hashlib.sha256).hexdigest())
        p = e.run_as_user(["-c", "echo pam-names"], env_extra={
            "TLOG_REC_CONF_TEXT": text2, "TLOG_REC_CONF_PROOF": proof2})
        check(p.wait() == 0, "session failed")
        check(windows_of(e.log) == [] and b"pam-names" in output_of(e.log), "TLOG_REC_CONF_TEXT with proof not applied")
        # the proof of one text does not carry over to another
        os.unlink(e.log)
        p = e.run_as_user(["-c", "echo swapped"], env_extra={
            "TLOG_REC_CONF_TEXT": text2, "TLOG_REC_CONF_PROOF": proof})
        check(p.wait() == 0, "session failed")
        check(windows_of(e.log) != [], "a proof for another text was accepted")
    finally:
        e.close()


def case_one_recording_per_login():
    e = Env()
    try:
        # an audit session: loginuid set as a login would (pam_loginuid)
        nested = "%s -c 'echo nested-$(id -u)'; echo outer-done" % e.rec
        p = e.run_as_user(["-c", nested], loginuid=USER_UID)
        check(p.wait() == 0, "session failed")
        check(b"nested-%d" % USER_UID in p.out, "nested shell did not run: %r" % p.out)
        recs = {m["rec"] for m in messages(e.log)}
        check(len(recs) == 1, "nested session recorded twice (%d recordings)" % len(recs))
        sess = {m["session"] for m in messages(e.log)}
        check(sess != {4294967295}, "no audit session id was recorded")
        # a "shell" that starts the recorder again: stopped with an error,
        # not an endless exec circle
        os.unlink(e.log)
        loop = e.T + "/home/loop.sh"
        with open(loop, "w") as f:
            f.write("#!/bin/sh\nexec %s \"$@\"\n" % e.rec)
        os.chmod(loop, 0o755)
        p = e.run_as_user(["-c", "%s -c 'echo never'" % e.rec], loginuid=USER_UID,
                          env_extra={"TLOG_REC_SHELL": loop})
        st = p.wait(timeout=30)
        check(b"a loop" in p.out, "shell loop not stopped: %r" % p.out[-300:])
        check(b"a loop" in output_of(e.log), "the loop error was not recorded: %r" % output_of(e.log)[-300:])
        # the same loop without an audit session id: recorders inside
        # recorders, stopped at the same depth
        os.unlink(e.log)
        p = e.run_as_user(["-c", "%s -c 'echo never'" % e.rec], env_extra={"TLOG_REC_SHELL": loop})
        p.wait(timeout=60)
        check(b"a loop" in p.out, "recorder-in-recorder loop not stopped: %r" % p.out[-300:])
        # the terminal decides, not the audit session id: without one
        # (4294967295) the nested shell is still inside the recorded terminal
        os.unlink(e.log)
        p = e.run_as_user(["-c", nested])
        check(p.wait() == 0, "session failed")
        recs = {m["rec"] for m in messages(e.log)}
        check(len(recs) == 1, "nested session without an audit session id recorded twice (%d)" % len(recs))
        # a nested recorder whose input and output are not the recorded
        # terminal is not covered by the outer recording: it records itself
        os.unlink(e.log)
        piped = "%s -c 'echo piped-$(id -u)' </dev/null | cat; echo outer-done" % e.rec
        p = e.run_as_user(["-c", piped], loginuid=USER_UID)
        check(p.wait() == 0, "session failed")
        check(b"piped-%d" % USER_UID in p.out, "piped nested shell did not run: %r" % p.out)
        recs = {m["rec"] for m in messages(e.log)}
        check(len(recs) == 2, "a nested recorder off the recorded terminal did not record (%d recordings)" % len(recs))
    finally:
        e.close()


def case_writer_failure_not_silent():
    e = Env()
    try:
        # journal writer and no journald in this namespace (private /run)
        with open(SYSCONFDIR + "/tlog-rec-session.conf", "w") as f:
            f.write('{"writer": "journal"}')
        r = e.run_as_user(["-c", "echo should-not-run"], pty=False)
        check(r.returncode != 0, "session started without a working writer (lax false)")
        check(b"journald is not running" in r.stderr, "no clear error: %r" % r.stderr)
        check(b"should-not-run" not in r.stdout, "shell ran unrecorded")
        check("cannot start the recording" in e.syslog.text(wait_for="cannot start"), "not logged")
        # lax: the session goes on, the loss is logged
        with open(SYSCONFDIR + "/tlog-rec-session.conf", "w") as f:
            f.write('{"writer": "journal", "lax": true}')
        r = e.run_as_user(["-c", "echo lax-runs"], pty=False)
        check(r.returncode == 0 and b"lax-runs" in r.stdout, "lax session did not run: %r" % (r.stderr,))
        check("lost" in e.syslog.text(wait_for="lost"), "loss not logged")
        lost = [json.loads(l) for l in open("/var/log/tlog/lost.log")]
        check(lost and lost[-1]["user"] == "rectest" and lost[-1]["writer"] == "journal" and
              lost[-1]["first_id"] == 1 and "journald is not running" in lost[-1]["error"] and
              lost[-1]["lost_messages"] >= 1 and len(lost[-1]["sha256"]) == 64, "local loss record: %r" % lost)
        check(os.stat("/var/log/tlog/lost.log").st_uid == TLOG_UID, "loss record not tlog's")
    finally:
        e.close()


def case_graphical_session():
    e = Env()
    try:
        with open(SYSCONFDIR + "/tlog-rec-session.conf", "w") as f:
            f.write('{"writer": "file", "file": {"path": "%s"}, "graphical": {"record": false}}' % e.log)
        gui = {"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"}
        r = e.run_as_user(["-c", "echo gui-session-$(id -u)"], env_extra=gui, pty=False)
        check(r.returncode == 0 and b"gui-session-%d" % USER_UID in r.stdout, "graphical session did not run: %r" % r.stderr)
        check(not os.path.exists(e.log), "graphical session recorded although graphical.record is false")
        check("not recorded: graphical session" in e.syslog.text(wait_for="graphical"), "not logged")
        # the same variables on a terminal (ssh -X, a terminal emulator): recorded
        p = e.run_as_user(["-c", "echo terminal-with-display"], env_extra=gui)
        check(p.wait() == 0, "session failed")
        check(b"terminal-with-display" in output_of(e.log), "terminal session with DISPLAY not recorded")
    finally:
        e.close()


def case_terminate_signal():
    """SIGTERM to the recorder (from root: the user cannot) cannot be passed
    on to the user's shell by the tlog identity: the session is hung up and
    the recording ends with "signal"."""
    e = Env()
    try:
        p = e.run_as_user(["-c", "echo ready; while :; do sleep 0.1; done"])
        p.read_until("ready")
        os.kill(p.pid, 15)
        st = p.wait()
        check(end_of(e.log) == "signal", "end %r" % end_of(e.log))
        check(st != 0, "status 0 after SIGTERM")
    finally:
        e.close()


if __name__ == "__main__":
    run_case(globals())
