#!/usr/bin/env python3
"""Pty relay tests of tlog-rec and tlog-rec-session (suite integration).
Usage: test_relay.py CASE   (binaries from TLOG_REC_BIN, TLOG_REC_SESSION_BIN, CODEC_TOOL_BIN)"""
import os
import signal
import stat
import subprocess
import time

from tlogtest.terminal import (run_case, CODEC_TOOL, TLOG_REC, TLOG_REC_SESSION, check, decode, end_of, fail, input_of,
                               messages, output_of, spawn, tmpdir, windows_of)


def session_env(**extra):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("TLOG_REC"):
            if k not in ("TLOG_REC_BIN", "TLOG_REC_SESSION_BIN"):
                del env[k]
    env.update(extra)
    return env


def case_echo_and_status():
    d = tmpdir()
    log = d + "/r.log"
    sem = d + "/ready"
    p = spawn([TLOG_REC, "-o", log, "--semaphore=" + sem, "/bin/sh", "-c", "echo hello-world; exit 3"])
    st = p.wait()
    check(st == 3, "exit status %d, expected 3" % st)
    check(b"hello-world" in p.out, "output not relayed: %r" % p.out)
    check(b"hello-world\r\n" in output_of(log), "output not recorded")
    check(end_of(log) == "exit", "end marker %r" % end_of(log))
    check(open(sem).read() == "READY", "semaphore not written")
    mode = stat.S_IMODE(os.stat(log).st_mode)
    check(mode == 0o600, "log mode %o, expected 600" % mode)
    # append: a second recording goes after the first
    p = spawn([TLOG_REC, "-o", log, "/bin/echo", "second"])
    check(p.wait() == 0, "second run failed")
    recs = {m["rec"] for m in messages(log)}
    check(len(recs) == 2, "expected 2 recordings in the file, got %d" % len(recs))
    _, verdict = decode(log)
    check("intact" in verdict.lower(), "integrity: %s" % verdict)


def case_window_change():
    d = tmpdir()
    log = d + "/r.log"
    p = spawn([TLOG_REC, "-o", log, "/bin/sh", "-c", "stty size; while read x; do stty size; done"], rows=24, cols=80)
    p.read_until("24 80")
    time.sleep(0.3)
    p.resize(30, 100)
    # the recorder passes the change on asynchronously: ask until it shows
    for _ in range(40):
        p.write("\r")
        if p.try_read_until("30 100", 0.5):
            break
    else:
        fail("the program never saw the new size: %r" % p.out[-300:])
    p.write("\x04")  # end of input: the loop ends
    check(p.wait() == 0, "non-zero exit")
    w = windows_of(log)
    check(w[:1] == ["80x24"], "first window %r" % w)
    check("100x30" in w, "resize not recorded: %r" % w)


def case_raw_mode_and_ctrl_c():
    d = tmpdir()
    log = d + "/r.log"
    script = 'trap "echo got-INT" INT; echo ready; read line; echo "line=$line"; sleep 5 & wait; echo after'
    p = spawn([TLOG_REC, "--log-input", "-o", log, "/bin/sh", "-c", script])
    p.read_until("ready")
    p.write("ab\x7fc\r")  # the inner tty's line editing: backspace works
    p.read_until("line=ac")
    time.sleep(0.3)
    p.write("\x03")  # Ctrl-C: passed raw, the inner tty makes SIGINT
    p.read_until("got-INT")
    p.read_until("after")
    check(p.wait() == 0, "non-zero exit")
    check(b"ab\x7fc\r" in input_of(log), "input not recorded with --log-input")
    check(b"\x03" in input_of(log), "Ctrl-C not recorded")


def case_signal_forwarding():
    d = tmpdir()
    log = d + "/r.log"
    p = spawn([TLOG_REC, "-o", log, "/bin/sh", "-c",
               'trap "echo got-TERM; exit 7" TERM; echo ready; while :; do sleep 0.1; done'])
    p.read_until("ready")
    os.kill(p.pid, signal.SIGTERM)
    p.read_until("got-TERM")
    st = p.wait()
    check(st == 7, "status %d, expected 7 (SIGTERM forwarded, program exited 7)" % st)
    check(end_of(log) == "exit", "end %r" % end_of(log))


def case_killed_status():
    d = tmpdir()
    log = d + "/r.log"
    p = spawn([TLOG_REC, "-o", log, "/bin/sh", "-c", "kill -9 $$"])
    st = p.wait()
    check(st == 128 + 9, "status %d, expected 137" % st)
    check(end_of(log) == "killed", "end %r" % end_of(log))


def case_hangup():
    d = tmpdir()
    log = d + "/r.log"
    p = spawn([TLOG_REC, "-o", log, "/bin/sh", "-c", 'echo ready; while :; do sleep 0.1; done'])
    p.read_until("ready")
    os.close(p.fd)  # the terminal goes away: the recorder gets SIGHUP
    deadline = time.time() + 10
    while time.time() < deadline:
        pid, st = os.waitpid(p.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.05)
    else:
        fail("recorder did not exit after hangup")
    check(end_of(log) == "hangup", "end %r" % end_of(log))
    check(b"ready" in output_of(log), "output before hangup lost")


def case_pipes_no_tty():
    d = tmpdir()
    log = d + "/r.log"
    p = subprocess.run([TLOG_REC, "-o", log, "/bin/sh", "-c", "cat; echo err-line >&2; exit 4"],
                       input=b"piped-data\n", capture_output=True, timeout=20)
    check(p.returncode == 4, "status %d" % p.returncode)
    check(p.stdout == b"piped-data\n", "stdout %r (no \\r: no pty)" % p.stdout)
    check(p.stderr == b"err-line\n", "stderr %r" % p.stderr)
    out = output_of(log)
    check(b"piped-data\n" in out and b"err-line\n" in out, "recorded %r" % out)
    check(windows_of(log) == [], "window recorded without a tty")
    # the reader of our output goes away (ssh connection dropped): the
    # program's output is still recorded and the recording ends properly
    os.unlink(log)
    r, w = os.pipe()
    os.close(r)
    p = subprocess.run([TLOG_REC, "-o", log, "/bin/sh", "-c", "sleep 0.3; echo after-close; echo err >&2; exit 0"],
                       stdin=subprocess.DEVNULL, stdout=w, stderr=w, timeout=20)
    os.close(w)
    check(p.returncode == 0, "status %d with a closed output" % p.returncode)
    check(b"after-close" in output_of(log) and end_of(log) == "exit", "recording with a closed output")
    # stdin EOF at once ends cleanly
    p = subprocess.run([TLOG_REC, "-o", log, "/bin/cat"], stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    check(p.returncode == 0, "cat with EOF stdin: status %d %r" % (p.returncode, p.stderr))


def case_latency_flush():
    d = tmpdir()
    log = d + "/r.log"
    p = spawn([TLOG_REC, "--latency=1", "-o", log, "/bin/sh", "-c", "echo first-part; sleep 6; echo second-part"])
    p.read_until("first-part")
    time.sleep(3)
    with open(log, "rb") as f:
        early = f.read()
    check(b"first-part" in early, "latency 1 s: nothing written after 3 s")
    check(b"second-part" not in early, "too early")
    check(p.wait() == 0, "exit")
    check(b"second-part" in output_of(log), "second part lost")


def case_session_login_and_shell():
    d = tmpdir()
    log = d + "/r.log"
    # login mode from argv[0] "-..." : the shell gets "-bash"
    env = session_env(TLOG_REC_SHELL="/bin/bash")
    p = spawn([TLOG_REC_SESSION, "-w", "file", "-o", log, "-c", 'echo "zero=$0"; shopt -q login_shell && echo LOGIN'],
              env=env, argv0="-tlog-rec-session")
    p.wait()
    check(b"zero=-bash" in p.out and b"LOGIN" in p.out, "login mode: %r" % p.out)
    # -l does the same
    p = spawn([TLOG_REC_SESSION, "-l", "-w", "file", "-o", log, "-c", 'shopt -q login_shell && echo LOGIN2'], env=env)
    p.wait()
    check(b"LOGIN2" in p.out, "-l: %r" % p.out)
    # -c CMD_STRING CMD_NAME ARGS
    p = spawn([TLOG_REC_SESSION, "-w", "file", "-o", log, "-c", 'echo "n=$0 a=$1"', "myname", "arg1"], env=env)
    p.wait()
    check(b"n=myname a=arg1" in p.out, "-c with name and args: %r" % p.out)
    # -i makes the shell interactive
    p = spawn([TLOG_REC_SESSION, "-i", "-w", "file", "-o", log, "-c", 'case $- in *i*) echo INTER;; esac'], env=env)
    p.wait()
    check(b"INTER" in p.out, "-i: %r" % p.out)
    # SSSD's variable
    env2 = session_env(TLOG_REC_SESSION_SHELL="/bin/sh")
    p = spawn([TLOG_REC_SESSION, "-w", "file", "-o", log, "-c", 'echo "sh=$0"'], env=env2)
    p.wait()
    check(b"sh=sh" in p.out, "TLOG_REC_SESSION_SHELL: %r" % p.out)
    # the -shell- name form
    link = d + "/tlog-rec-session-shell-bin-sh"
    os.symlink(TLOG_REC_SESSION, link)
    p = spawn([link, "-w", "file", "-o", log, "-c", 'echo "named=$0"'], env=session_env(TLOG_REC_SHELL="/bin/bash"))
    p.wait()
    check(b"named=sh" in p.out, "-shell- name form must win: %r" % p.out)


def case_session_notice():
    d = tmpdir()
    log = d + "/r.log"
    env = session_env(TLOG_REC_SHELL="/bin/sh")
    p = spawn([TLOG_REC_SESSION, "-w", "file", "-o", log], env=env)
    p.read_until("ATTENTION! Your session is being recorded!")
    p.write("echo in-shell\rexit 5\r")
    p.read_until("in-shell")
    check(p.wait() == 5, "exit status of the interactive shell")
    p = spawn([TLOG_REC_SESSION, "-w", "file", "-o", log, "-c", "echo cmd"], env=env)
    p.wait()
    check(b"ATTENTION" not in p.out, "notice shown to a non-interactive -c session")
    p = subprocess.run([TLOG_REC_SESSION, "-w", "file", "-o", log], input=b"echo piped\n", capture_output=True,
                       env=env, timeout=20)
    check(b"ATTENTION" not in p.stdout and b"piped" in p.stdout, "notice on a pipe: %r" % p.stdout)


def case_loop_guard():
    d = tmpdir()
    env = session_env(TLOG_REC_SHELL=TLOG_REC_SESSION)
    p = subprocess.run([TLOG_REC_SESSION, "-w", "file", "-o", d + "/r.log", "-c", "true"], env=env,
                       capture_output=True, timeout=20)
    check(p.returncode != 0, "loop not refused")
    check(b"loop" in p.stderr, "no clear error: %r" % p.stderr)
    link = d + "/tlog-rec-session-shell-usr-local-bin-tlog\\-rec\\-session"
    os.symlink(TLOG_REC_SESSION, d + "/x")
    p = subprocess.run([TLOG_REC, "-o", d + "/r.log", TLOG_REC_SESSION], capture_output=True, timeout=20)
    check(p.returncode != 0, "tlog-rec recording a recorder not refused")


def case_non_utf8_locale():
    # A terminal in ISO-8859-1: the recording holds UTF-8 text.
    d = tmpdir()
    log = d + "/r.log"
    # The locale is built into a temporary LOCPATH: nothing installed on the host.
    r = subprocess.run(["localedef", "-i", "fr_FR", "-f", "ISO-8859-1", d + "/fr_FR.ISO-8859-1"], capture_output=True)
    check(r.returncode in (0, 1) and os.path.isdir(d + "/fr_FR.ISO-8859-1"), "localedef failed: %r" % r.stderr)
    env = dict(os.environ, LOCPATH=d, LC_ALL="fr_FR.ISO-8859-1")
    p = spawn([TLOG_REC, "-o", log, "/usr/bin/printf", "caf\\351\\n"], env=env)
    check(p.wait() == 0, "exit")
    check(b"caf\xe9" in p.out, "relayed bytes must stay as they are: %r" % p.out)
    out = output_of(log)
    check("café".encode() in out, "recording not converted to UTF-8: %r" % out)


def case_file_transfer():
    import hashlib
    d = tmpdir()
    log = d + "/r.log"
    env = session_env(TLOG_REC_SHELL="/bin/sh")
    src = d + "/payload.txt"
    data = b"secret payload\n" * 100
    with open(src, "wb") as f:
        f.write(data)
    # sshd runs "shell -c 'scp -f FILE'" without a pty for `scp -O host:FILE .`;
    # we play the client side of the scp protocol: three acknowledgements.
    p = subprocess.run([TLOG_REC_SESSION, "-w", "file", "-o", log, "-c", "scp -f " + src],
                       input=b"\0\0\0", capture_output=True, env=env, timeout=20)
    check(p.returncode == 0, "scp -f failed: %r" % p.stderr)
    check(p.stdout.startswith(b"C0644 1500 payload.txt\n") and data in p.stdout, "scp protocol: %r" % p.stdout[:60])
    msgs = messages(log)
    check(b"secret payload" not in output_of(log), "transfer payload recorded")
    tr = [m["transfer"] for m in msgs if "transfer" in m]
    check(tr and tr[0]["command"] == "scp -f " + src, "transfer record: %r" % tr)
    check(tr[0]["out_bytes"] == len(p.stdout), "out_bytes %r vs %d" % (tr[0]["out_bytes"], len(p.stdout)))
    check(tr[0]["out_sha256"] == hashlib.sha256(p.stdout).hexdigest(), "sha256")
    check(tr[0]["in_bytes"] == 3, "in_bytes %r" % tr[0]["in_bytes"])
    os.unlink(log)
    # Anything more than a plain transfer command is recorded in full: the
    # user could append commands, or shadow scp with a function or PATH.
    for cmd in ("scp -f %s; echo evil-$((40+2))" % src, "scp -f %s && echo evil-$((40+2))" % src):
        p = subprocess.run([TLOG_REC_SESSION, "-w", "file", "-o", log, "-c", cmd],
                           input=b"\0\0\0", capture_output=True, env=env, timeout=20)
        check(b"evil-42" in output_of(log), "appended command hidden by transfer mode: %r" % cmd)
        check(not any("transfer" in m for m in messages(log)), "transfer mode for %r" % cmd)
        os.unlink(log)
    # A user's own "scp" earlier in PATH is not the system's program: the
    # recorder runs /usr/bin/scp itself, not the user's shell.
    fake = d + "/bin"
    os.makedirs(fake)
    with open(fake + "/scp", "w") as f:
        f.write("#!/bin/sh\necho fake-scp-ran\n")
    os.chmod(fake + "/scp", 0o755)
    env2 = dict(env, PATH=fake + ":/usr/bin:/bin")
    p = subprocess.run([TLOG_REC_SESSION, "-w", "file", "-o", log, "-c", "scp -f " + src],
                       input=b"\0\0\0", capture_output=True, env=env2, timeout=20)
    check(b"fake-scp-ran" not in p.stdout and data in p.stdout, "the user's scp ran in transfer mode: %r" % p.stdout)
    # an ordinary command is recorded in full
    os.unlink(log)
    p = subprocess.run([TLOG_REC_SESSION, "-w", "file", "-o", log, "-c", "cat " + src],
                       capture_output=True, env=env, timeout=20)
    check(b"secret payload" in output_of(log), "ordinary command not recorded")


def case_rate_limit_drop():
    d = tmpdir()
    log = d + "/r.log"
    import hashlib
    p = spawn([TLOG_REC, "--limit-rate=1000", "--limit-burst=2000", "--limit-action=drop", "-o", log,
               "/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x; echo; sleep 1.2; echo tail-line"])
    check(p.wait() == 0, "exit")
    msgs = messages(log)
    drops = [m["dropped"] for m in msgs if "dropped" in m]
    check(drops, "no drop record")
    dropped = sum(x["out_bytes"] for x in drops)
    recorded = output_of(log)
    check(len(recorded) + dropped >= 200000, "bytes unaccounted: %d + %d" % (len(recorded), dropped))
    check(dropped > 150000, "too little dropped: %d" % dropped)
    check(b"tail-line" in recorded, "recording did not resume after the limit")
    ids = [m["id"] for m in msgs]
    check(ids == list(range(1, len(ids) + 1)), "id gap")
    _, verdict = decode(log)
    check("intact" in verdict.lower(), "drop broke the chain: %s" % verdict)


def case_rate_limit_delay():
    d = tmpdir()
    log = d + "/r.log"
    t = time.time()
    p = spawn([TLOG_REC, "--limit-rate=20000", "--limit-burst=10000", "--limit-action=delay", "-o", log,
               "/bin/sh", "-c", "head -c 50000 /dev/zero | tr '\\0' y"])
    check(p.wait(timeout=30) == 0, "exit")
    el = time.time() - t
    check(el >= 1.5, "delay did not slow the program: %.2f s" % el)
    o = output_of(log)
    check(o.count(b"y") == 50000, "delay lost data: %d bytes, %d y, %r" % (len(o), o.count(b"y"), o[-100:]))


def case_no_spin_on_cut_character():
    """Half a UTF-8 character waits for its end; the latency timer must not
    spin meanwhile."""
    d = tmpdir()
    log = d + "/r.log"
    p = spawn([TLOG_REC, "--latency=0.2", "-o", log, "/bin/sh", "-c",
               "printf 'start \\303'; sleep 2; printf '\\251 end\\n'"])
    p.read_until("start")
    time.sleep(2.5)
    _, _, ru = os.wait4(p.pid, 0)
    os.close(p.fd)
    cpu = ru.ru_utime + ru.ru_stime
    check(cpu < 0.5, "recorder used %.2f s of CPU while waiting" % cpu)
    check("start é end".encode() in output_of(log), "cut character not joined: %r" % output_of(log))


def case_full_screen_and_job_control():
    """A full-screen program (less, alternate screen) and job control
    (Ctrl-Z, fg) through the recorder."""
    d = tmpdir()
    log = d + "/r.log"
    with open(d + "/text", "w") as f:
        f.write("".join("line %d\n" % i for i in range(200)))
    env = dict(os.environ, PS1="P$ ", LESS="", TERM="xterm")
    p = spawn([TLOG_REC, "-o", log, "/bin/bash", "--norc", "-i"], env=env, rows=24, cols=80)
    p.read_until("P$ ")
    p.write("less %s/text\r" % d)
    p.read_until("line 22")
    p.write(" ")  # next page
    p.read_until("line 44")
    time.sleep(0.5)  # let less settle at its prompt
    p.write("\x1a")  # Ctrl-Z: less is stopped, the shell takes over
    p.read_until("Stopped")
    p.write("echo back-in-shell\r")
    p.read_until("back-in-shell")
    p.write("fg\r")
    p.read_until("line 4")
    p.write("q")
    p.write("exit\r")
    check(p.wait() == 0, "shell exit")
    out = output_of(log)
    check(b"\x1b[?1049h" in out or b"\x1b[?47h" in out or b"\x1b7" in out, "alternate screen not recorded")
    check(b"line 44" in out and b"back-in-shell" in out, "full-screen output not recorded")


def binaries_present():
    for b in (TLOG_REC, TLOG_REC_SESSION, CODEC_TOOL):
        check(b and os.access(b, os.X_OK), "binary missing: %r" % b)


if __name__ == "__main__":
    run_case(globals(), before=binaries_present)
