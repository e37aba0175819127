#!/usr/bin/env python3
"""Passwords never reach a recording (suite integration; the cases that need
other users, sudo, su, passwd and sshd run as root in a private mount
namespace through run_ns.sh). Each case records a real program on a pty with
input logging on and asserts: the secret typed is nowhere in the recording
(the raw bytes of the file, and every value of every message decoded), an
"in_hidden" span with the right byte count is there, inside the integrity
chain, the rest of the input is recorded exactly, the chain verifies, and
Debian's tlog-play plays the file. Programs that turn echo off for other
reasons (vim, less, top, tmux, readline) keep all their input.
Usage: test_secrets.py CASE"""
import json
import os
import subprocess
import sys
import time

from tlogtest.namespace import add_users, private_pam, require_root_ns, sh, stop_process, write_sshd_config
from tlogtest.terminal import (TLOG_PLAY, TLOG_REC, check, clean_env, debian_play, decode, input_of, messages,
                               output_of, spawn, tmpdir)

SECRET = "Qz7-unlikely-Secret-9xW"
NEW_SECRET = "Vb4#another-Secret-2kP"
PLAY_BIN = os.environ.get("TLOG_PLAY_BIN", "")


def type_slowly(p, text, delay=0.03):
    """One read per key, as a person types."""
    for ch in text:
        p.write(ch)
        time.sleep(delay)


def record(argv, extra=(), env=None, preexec=None, rows=24, cols=80):
    """Starts tlog-rec --log-input on a pty; returns (proc, log path)."""
    d = tmpdir()
    if preexec is not None:
        os.chmod(d, 0o777)
    log = d + "/r.log"
    p = spawn([TLOG_REC, "--log-input", "--latency=1", "-o", log] + list(extra) + list(argv),
              env=env or clean_env(), preexec=preexec, rows=rows, cols=cols)
    return p, log


def strings_of(v):
    """Every string and byte array in a decoded JSON value."""
    if isinstance(v, str):
        yield v.encode("utf-8", "surrogatepass")
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k.encode()
            yield from strings_of(x)
    elif isinstance(v, list):
        if v and all(isinstance(x, int) and 0 <= x <= 255 for x in v):
            yield bytes(v)
        for x in v:
            yield from strings_of(x)


def check_secret_absent(log, *secrets):
    raw = open(log, "rb").read()
    msgs = messages(log)
    evs, verdict = decode(log)
    for s in secrets:
        b = s.encode()
        check(b not in raw, "the secret is in the recording's bytes")
        for m in msgs:
            for v in strings_of(m):
                check(b not in v, "the secret is in a decoded field of message %d" % m["id"])
        streams = {k: b"".join(d for _, kind, d in evs if kind == k) for k in ("i", "o")}
        for k, data in streams.items():
            check(b not in data, "the secret is in the decoded %s stream" % ("input" if k == "i" else "output"))
    return msgs, verdict


def spans_of(msgs, field="in_hidden"):
    out = []
    for m in msgs:
        if field in m:
            check(field in m.get("mac_fields", []), "message %d: %s not covered by the chain" % (m["id"], field))
            out.extend(m[field])
    return out


def check_recording(log, secrets, hidden, expect_input, verdict_word="intact"):
    """`hidden`: the byte counts of the in_hidden spans, in order;
    `expect_input`: the input recorded, exactly."""
    msgs, verdict = check_secret_absent(log, *secrets)
    check(verdict_word in verdict.lower(), "integrity: %s" % verdict)
    spans = spans_of(msgs)
    check([s["bytes"] for s in spans] == hidden, "hidden spans %r, expected byte counts %r" % (spans, hidden))
    for s in spans:
        check(s["reason"] == "echo off", "span reason %r" % s)
    if spans:
        pos = [s["pos"] for s in spans]
        check(pos == sorted(pos), "spans out of order: %r" % spans)
        dur = max(m["pos"] for m in msgs) + 60000
        check(all(0 <= x <= dur for x in pos), "span positions outside the recording: %r" % spans)
    got = input_of(log)
    check(got == expect_input, "recorded input %r, expected %r" % (got, expect_input))
    # Debian's tlog-play ignores the new fields and plays the output.
    check(os.access(TLOG_PLAY, os.X_OK), "Debian's tlog is not installed (scripts/apt-packages.txt)")
    st, out = debian_play(["-i", log, "-s", "100"])
    check(st == 0, "Debian's tlog-play failed (%d): %r" % (st, out[-500:]))
    check(output_of(log) in out, "Debian's tlog-play did not play the recorded output byte for byte")
    return msgs


# ---------------------------------------------------------------- no root


def case_getpass():
    prog = ("import getpass; x = getpass.getpass('PW: '); print('len', len(x)); "
            "y = input('name? '); print('name=' + y)")
    p, log = record(["/usr/bin/python3", "-c", prog])
    p.read_until("PW: ", timeout=30)
    type_slowly(p, SECRET + "\r")
    p.read_until("name? ", timeout=30)
    type_slowly(p, "alice\r")
    p.read_until("name=alice", timeout=30)
    check(p.wait(timeout=30) == 0, "python failed: %r" % p.out)
    check(("len %d" % len(SECRET)).encode() in p.out, "the program did not get the password: %r" % p.out)
    check_recording(log, [SECRET], [len(SECRET) + 1], b"alice\r")


def case_read_s():
    script = 'read -s -p "PW: " x; echo; echo "len=${#x}"; read -p "next: " y; echo "got=$y"'
    p, log = record(["/bin/bash", "--norc", "-c", script])
    p.read_until("PW: ", timeout=30)
    type_slowly(p, SECRET + "\r")
    p.read_until("next: ", timeout=30)
    type_slowly(p, "visible\r")
    p.read_until("got=visible", timeout=30)
    check(p.wait(timeout=30) == 0, "bash failed")
    check(("len=%d" % len(SECRET)).encode() in p.out, "read -s did not get the password")
    check_recording(log, [SECRET], [len(SECRET) + 1], b"visible\r")


def case_pasted_at_once():
    """A password pasted in one piece (one read) with its Enter."""
    script = 'read -s -p "PW: " x; echo; echo "len=${#x}"'
    p, log = record(["/bin/bash", "--norc", "-c", script])
    p.read_until("PW: ", timeout=30)
    p.write(SECRET + "\r")
    p.read_until("len=", timeout=30)
    check(p.wait(timeout=30) == 0, "bash failed")
    check_recording(log, [SECRET], [len(SECRET) + 1], b"")


def case_record_mode():
    """log.input_secrets "record": the administrator's choice, the input is kept."""
    script = 'read -s -p "PW: " x; echo; echo "len=${#x}"'
    p, log = record(["/bin/bash", "--norc", "-c", script], extra=["--log-input-secrets=record"])
    p.read_until("PW: ", timeout=30)
    type_slowly(p, "recorded-pw\r")
    p.read_until("len=", timeout=30)
    check(p.wait(timeout=30) == 0, "bash failed")
    msgs = messages(log)
    check(not spans_of(msgs), "spans in record mode")
    check(input_of(log) == b"recorded-pw\r", "input not recorded: %r" % input_of(log))


def case_full_screen_keep_input():
    """vim, less and top turn canonical mode and echo off and echo by
    themselves: every key they get is recorded, nothing is hidden."""
    d = tmpdir()
    text = d + "/t.txt"
    with open(text, "w") as f:
        f.write("".join("line %d of the file\n" % i for i in range(200)))
    env = clean_env(TERM="xterm", HOME=d, LESSHISTFILE="-")
    # vim: insert a word, save, quit
    p, log = record(["/usr/bin/vim", "-u", "NONE", "-i", "NONE", "-N", text], env=env)
    p.read_until("line 1 of", timeout=30)
    keys = "ggiTYPED-IN-VIM \x1b:wq\r"
    type_slowly(p, keys)
    check(p.wait(timeout=30) == 0, "vim failed: %r" % p.out[-300:])
    check(open(text).read().startswith("TYPED-IN-VIM line 0"), "vim did not get the keys")
    check_recording(log, [], [], keys.encode())
    # less: a search, then quit
    p, log = record(["/usr/bin/less", text], env=env)
    p.read_until("line 1 of", timeout=30)
    keys = "/line 150\r"
    type_slowly(p, keys)
    p.read_until("line 151 of", timeout=30)
    type_slowly(p, "q")
    check(p.wait(timeout=30) == 0, "less failed")
    check_recording(log, [], [], (keys + "q").encode())
    # top: one screen, then quit
    p, log = record(["/usr/bin/top", "-d", "5"], env=env)
    p.read_until("PID", timeout=30)
    time.sleep(0.3)
    type_slowly(p, "q")
    check(p.wait(timeout=30) == 0, "top failed")
    check_recording(log, [], [], b"q")


def case_readline_shell():
    """bash reading commands with readline (its own echo, no canonical mode)."""
    d = tmpdir()
    env = clean_env(TERM="xterm", HOME=d, PS1="rl$ ", INPUTRC="/dev/null", HISTFILE="/dev/null")
    p, log = record(["/bin/bash", "--norc", "--noprofile", "-i"], env=env)
    p.read_until("rl$ ", timeout=30)
    keys1 = "echo readline-$((40+2))\r"
    type_slowly(p, keys1)
    p.read_until("readline-42", timeout=30)
    p.read_until("rl$ ", timeout=30)
    keys2 = "exit\r"
    type_slowly(p, keys2)
    check(p.wait(timeout=30) == 0, "bash failed")
    check_recording(log, [], [], (keys1 + keys2).encode())


def case_stty_echo_off():
    """What a user hides with `stty -echo` (the known limit of the rule):
    in a shell without line editing the commands typed next are hidden, the
    spans say so and their output is recorded; readline shells turn
    canonical mode off themselves and their commands stay recorded."""
    d = tmpdir()
    env = clean_env(TERM="xterm", HOME=d, PS1="sh$ ", ENV="/dev/null")
    p, log = record(["/bin/dash", "-i"], env=env)
    p.read_until("sh$ ", timeout=30)
    type_slowly(p, "stty -echo\r")
    p.read_until("sh$ ", timeout=30)
    type_slowly(p, "echo hidden-cmd-$((20+1))\r")
    p.read_until("hidden-cmd-21", timeout=30)
    p.read_until("sh$ ", timeout=30)
    type_slowly(p, "stty echo\r")
    p.read_until("sh$ ", timeout=30)
    type_slowly(p, "exit\r")
    check(p.wait(timeout=30) == 0, "dash failed")
    check_recording(log, ["hidden-cmd-$"], [len("echo hidden-cmd-$((20+1))\r"), len("stty echo\r")],
                    b"stty -echo\rexit\r")
    check(b"hidden-cmd-21" in output_of(log), "the hidden command's output is not recorded")
    env = clean_env(TERM="xterm", HOME=d, PS1="rl$ ", INPUTRC="/dev/null", HISTFILE="/dev/null")
    p, log = record(["/bin/bash", "--norc", "--noprofile", "-i"], env=env)
    p.read_until("rl$ ", timeout=30)
    cmds = ["stty -echo\r", "echo rl-still-$((2+2))\r", "exit\r"]
    type_slowly(p, cmds[0])
    p.read_until("rl$ ", timeout=30)
    type_slowly(p, cmds[1])
    p.read_until("rl-still-4", timeout=30)
    type_slowly(p, cmds[2])
    keys = "".join(cmds)
    check(p.wait(timeout=30) == 0, "bash failed")
    check_recording(log, [], [], keys.encode())


def case_many_hidden_lines():
    """Lines typed with echo off, one span each, at most 16 spans a message
    (a field does not grow without bound)."""
    p, log = record(["/bin/sh", "-c", "stty -echo; echo ready; cat >/dev/null; echo after"])
    p.read_until("ready", timeout=30)
    for i in range(40):
        type_slowly(p, "l%02d\r" % i, delay=0.005)
        time.sleep(0.01)
    p.write("\x04")
    p.read_until("after", timeout=30)
    check(p.wait(timeout=30) == 0, "sh failed")
    msgs = check_recording(log, [], [4] * 40 + [1], b"")
    check(max(len(m.get("in_hidden", [])) for m in msgs) <= 16, "more than 16 spans in a message")


def case_tmux():
    """tmux's client holds the terminal raw: its input is recorded (also what
    a program inside tmux reads with echo off: the recorder sees only the
    client's terminal, doc/recorder-design.md)."""
    d = tmpdir()
    env = clean_env(TERM="xterm", HOME=d, TMUX_TMPDIR=d)
    env.pop("TMUX", None)
    with open(d + "/inner.sh", "w") as f:
        f.write("read -p 'ready> ' x; echo \"got-$x\"; read -s -p 'inner-pw> ' y; echo \"len-${#y}\"; sleep 0.3\n")
    p, log = record(["/usr/bin/tmux", "-f", "/dev/null", "new-session", "/bin/bash --norc " + d + "/inner.sh"],
                    env=env)
    p.read_until("ready> ", timeout=30)
    keys = "tmux-typed\r"
    type_slowly(p, keys)
    p.read_until("got-tmux-typed", timeout=30)
    p.read_until("inner-pw> ", timeout=30)
    type_slowly(p, "pw-in-tmux\r")
    p.read_until("len-10", timeout=30)
    check(p.wait(timeout=30) == 0, "tmux failed: %r" % p.out[-300:])
    check_recording(log, [], [], (keys + "pw-in-tmux\r").encode())


def case_redact():
    """Output redaction: the match is replaced in the recording, the user
    sees the original, the span is in the chain."""
    conf = json.dumps({"log": {"output_redact": ["AKIA[0-9A-Z]{16}"]}})
    env = clean_env(TLOG_REC_CONF_TEXT=conf)
    key = "AKIAABCDEFGHIJKLMNOP"
    p, log = record(["/bin/sh", "-c", "echo before; echo key=%s done; echo after" % key], env=env)
    check(p.wait(timeout=30) == 0, "sh failed")
    check(key.encode() in p.out, "the user's terminal must show the real output")
    msgs = check_recording(log, [key], [], b"")
    out = output_of(log)
    check(b"key=" + b"*" * len(key) + b" done" in out, "no replacement in %r" % out)
    spans = spans_of(msgs, "out_redacted")
    check([s["bytes"] for s in spans] == [len(key)], "redaction spans %r" % spans)


def case_configuration():
    env = clean_env()
    r = subprocess.run([TLOG_REC, "--configuration"], capture_output=True, env=env, timeout=20)
    check(r.returncode == 0, "--configuration failed: %r" % r.stderr)
    c = json.loads(r.stdout)
    check(c["log"]["input_secrets"] == "hide", "default: %r" % c["log"])
    check(c["log"]["output_redact"] == [], "default: %r" % c["log"])
    r = subprocess.run([TLOG_REC, "--configuration", "--log-input-secrets=record"], capture_output=True, env=env,
                       timeout=20)
    check(json.loads(r.stdout)["log"]["input_secrets"] == "record", "the option does not show")
    r = subprocess.run([TLOG_REC, "--configuration", "--log-input-secrets=maybe"], capture_output=True, env=env,
                       timeout=20)
    check(r.returncode != 0 and b"log.input_secrets" in r.stderr and b"hide" in r.stderr,
          "a bad value must be named: %r" % r.stderr)
    bad = clean_env(TLOG_REC_CONF_TEXT='{"log": {"output_redact": ["ok", "(unclosed"]}}')
    r = subprocess.run([TLOG_REC, "--configuration"], capture_output=True, env=bad, timeout=20)
    check(r.returncode != 0 and b"log.output_redact" in r.stderr and b"(unclosed" in r.stderr,
          "a bad pattern must be named: %r" % r.stderr)


def case_player_shows_marker():
    """Our player's text export tells where input was hidden, never the bytes."""
    check(PLAY_BIN, "TLOG_PLAY_BIN not set")
    script = 'echo start; read -s -p "PW: " x; echo; echo "len=${#x}"'
    p, log = record(["/bin/bash", "--norc", "-c", script])
    p.read_until("PW: ", timeout=30)
    type_slowly(p, SECRET + "\r")
    p.read_until("len=", timeout=30)
    check(p.wait(timeout=30) == 0, "bash failed")
    r = subprocess.run([PLAY_BIN, "-r", "file", "--file-path=" + log, "--export=text"], capture_output=True,
                       timeout=60)
    check(r.returncode == 0, "export failed: %r" % r.stderr)
    text = r.stdout.decode()
    want = "[input hidden: %d bytes]" % (len(SECRET) + 1)
    check(want in text, "no %s in the transcript:\n%s" % (want, text))
    check(SECRET not in text, "the secret is in the transcript")
    # at its place: after the prompt, before what followed
    check(text.index("PW:") < text.index(want) < text.index("len=%d" % len(SECRET)),
          "the marker is out of place:\n%s" % text)
    # the transcript: on the prompt's line
    r = subprocess.run([PLAY_BIN, "-r", "file", "--file-path=" + log, "--export=transcript"], capture_output=True,
                       timeout=60)
    check(r.returncode == 0, "transcript export failed: %r" % r.stderr)
    lines = r.stdout.decode().splitlines()
    check(SECRET not in r.stdout.decode(), "the secret is in the transcript")
    check(any(l.startswith("PW: ") and want in l for l in lines), "no %s on the prompt's line:\n%s" % (want, lines))
    check(lines.index("start") < [i for i, l in enumerate(lines) if want in l][0] <
          lines.index("len=%d" % len(SECRET)), "the transcript's marker is out of place:\n%s" % lines)


def case_player_status_line():
    """Interactive playback tells in its status line that input was hidden."""
    check(PLAY_BIN, "TLOG_PLAY_BIN not set")
    script = 'read -s -p "PW: " x; echo; echo "len=${#x}"; sleep 1; echo done'
    p, log = record(["/bin/bash", "--norc", "-c", script])
    p.read_until("PW: ", timeout=30)
    type_slowly(p, SECRET + "\r")
    check(p.wait(timeout=30) == 0, "bash failed")
    play = spawn([PLAY_BIN, "-r", "file", "--file-path=" + log], env=clean_env(TERM="xterm"))
    want = "[input hidden: %d bytes]" % (len(SECRET) + 1)
    play.read_until(want, timeout=30)
    play.read_until("done", timeout=30)
    play.wait(timeout=30)
    check(SECRET.encode() not in play.out, "the secret on the player's screen")


# ---------------------------------------------------------------- root, namespace

USER, OTHER = ("secuser", 62011), ("secother", 62012)
USER_PW, OTHER_PW = SECRET, "Other-" + SECRET[::-1]


def as_user(uid):
    def drop():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    return drop


def setup_ns():
    """Two users with passwords, pam.d with only pam_unix, sudoers for secuser."""
    require_root_ns()
    T = os.environ.get("TMPDIR") or tmpdir()
    users = []
    for name, uid in (USER, OTHER):
        home = "%s/home-%s" % (T, name)
        os.makedirs(home)
        os.chown(home, uid, uid)
        users.append((name, uid, uid, home, "/bin/bash"))
    add_users(T, users, passwords={USER[0]: USER_PW, OTHER[0]: OTHER_PW})
    private_pam(T)
    check(os.path.exists("/usr/bin/sudo"), "sudo is not installed (scripts/apt-packages.txt)")
    with open(T + "/sudoers", "w") as f:
        f.write("Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n%s ALL=(ALL:ALL) ALL\n" % USER[0])
    os.chmod(T + "/sudoers", 0o440)
    sh("mount --bind %s/sudoers /etc/sudoers" % T)
    # sudo's time stamps and lecture marks, sshd's privilege separation
    # directory: private, nothing of the host's
    sh("mount -t tmpfs -o mode=755 tmpfs /run")
    os.makedirs("/run/sshd", mode=0o755)
    if os.path.isdir("/var/lib/sudo"):
        sh("mount -t tmpfs -o mode=711 tmpfs /var/lib/sudo")
    return T


def user_env(home):
    return clean_env(TERM="xterm", HOME=home, USER=USER[0], LOGNAME=USER[0], PATH="/usr/bin:/bin",
                     LANG="C.UTF-8")


def case_sudo():
    T = setup_ns()
    p, log = record(["/usr/bin/sudo", "-k", "/bin/echo", "sudo-ran-as-root"], env=user_env(T),
                    preexec=as_user(USER[1]))
    p.read_until("password for %s" % USER[0], timeout=30)
    type_slowly(p, USER_PW + "\r")
    p.read_until("sudo-ran-as-root", timeout=30)
    check(p.wait(timeout=30) == 0, "sudo failed: %r" % p.out)
    check_recording(log, [USER_PW], [len(USER_PW) + 1], b"")


def case_su():
    T = setup_ns()
    p, log = record(["/usr/bin/su", OTHER[0], "-c", "echo su-ran-as-$(id -un)"], env=user_env(T),
                    preexec=as_user(USER[1]))
    p.read_until("Password:", timeout=30)
    type_slowly(p, OTHER_PW + "\r")
    p.read_until("su-ran-as-" + OTHER[0], timeout=30)
    check(p.wait(timeout=30) == 0, "su failed: %r" % p.out)
    check_recording(log, [OTHER_PW], [len(OTHER_PW) + 1], b"")


def case_passwd():
    T = setup_ns()
    p, log = record(["/usr/bin/passwd"], env=user_env(T), preexec=as_user(USER[1]))
    p.read_until("Current password:", timeout=30)
    type_slowly(p, USER_PW + "\r")
    p.read_until("New password:", timeout=30)
    type_slowly(p, NEW_SECRET + "\r")
    p.read_until("Retype new password:", timeout=30)
    type_slowly(p, NEW_SECRET + "\r")
    # The shadow file is a bind mount here, which pam_unix cannot replace:
    # the change itself may fail; the three answers were read all the same.
    p.wait(timeout=30)
    n = len(USER_PW) + 1
    m = len(NEW_SECRET) + 1
    check_recording(log, [USER_PW, NEW_SECRET], [n, m, m], b"")


def case_ssh_password():
    """ssh's own password prompt, to a real sshd on 127.0.0.1."""
    T = setup_ns()
    sh("ssh-keygen -q -t ed25519 -N '' -f %s/hostkey" % T)
    port = 23000 + os.getpid() % 10000
    conf = write_sshd_config(T, port)
    text = open(conf).read().replace("PasswordAuthentication no", "PasswordAuthentication yes")
    with open(conf, "w") as f:
        f.write(text)
    sshd_log = T + "/sshd.log"
    sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", conf, "-E", sshd_log])
    try:
        end = time.time() + 30
        while "Server listening" not in (open(sshd_log, errors="replace").read() if os.path.exists(sshd_log) else ""):
            check(sshd.poll() is None and time.time() < end, "sshd did not start")
            time.sleep(0.1)
        argv = ["/usr/bin/ssh", "-p", str(port), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password",
                "-o", "NumberOfPasswordPrompts=1", "%s@127.0.0.1" % OTHER[0], "echo ssh-ran-as-$(id -un)"]
        p, log = record(argv, env=user_env(T), preexec=as_user(USER[1]))
        p.read_until("password:", timeout=30)
        type_slowly(p, OTHER_PW + "\r")
        p.read_until("ssh-ran-as-" + OTHER[0], timeout=30)
        check(p.wait(timeout=30) == 0, "ssh failed: %r" % p.out)
        check_recording(log, [OTHER_PW], [len(OTHER_PW) + 1], b"")
    finally:
        stop_process(sshd)


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("cases: " + " ".join(CASES))
        sys.exit(2)
    CASES[sys.argv[1]]()
    print("ok")
