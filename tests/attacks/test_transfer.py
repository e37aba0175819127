#!/usr/bin/env python3
"""Transfer mode as a way around the recording (suite e2e, root, through
tests/recorder/run_ns.sh): a real sshd, pam_tlog, nss_tlog and the
setuid-tlog recorder as recorded user alice's login shell. Transfer mode keeps
only byte counts and hashes; a command line that looks like a transfer but
lets the user run something (rsync's daemon mode with the user's own
rsyncd.conf) must be recorded in full, and a real transfer's program must not
see the environment the user gave sshd. Usage: test_transfer.py CASE"""
import os
import subprocess
import sys
import time

from tlogtest.terminal import check, decode, fail
from tlogtest.login import USERS, run_case, wait_for

USER = "alice"
UID = USERS[USER][0]
FIXED_PATH = "/usr/local/bin:/usr/bin:/bin"


def home(e):
    return "%s/home/%s" % (e.T, USER)


def write_as_user(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chown(path, UID, UID)
    os.chmod(path, mode)


def ssh_e(e):
    """The ssh command line for rsync -e."""
    return " ".join(e.ssh_argv(USER)[:-1])


def scp_opts(e):
    """ssh's options for scp (whose port option is -P)."""
    return ["-P" if a == "-p" else a for a in e.ssh_argv(USER)[1:-1]]


def new_recording(e, before):
    """The one recording made since `before` (a set of ids), once it ended."""
    def ended():
        recs = e.recordings()
        new = [r for r in recs if r not in before]
        return new if len(new) == 1 and recs[new[0]][-1].get("end") else None
    new = wait_for(ended, "one new recording to end")
    return new[0], e.recordings()[new[0]]


def recorded(e, rec, kind):
    evs, _ = decode(e.log, rec)
    return b"".join(d for _, k, d in evs if k == kind)


def check_transfer(e, rec, msgs, command_start, in_min=0, out_min=1):
    tr = [m["transfer"] for m in msgs if "transfer" in m]
    check(len(tr) == 1, "no transfer record: %r" % msgs[-1])
    t = tr[0]
    check(t["command"].startswith(command_start), "transfer command %r" % t["command"])
    check(t["in_bytes"] >= in_min and t["out_bytes"] >= out_min and len(t["in_sha256"]) == 64
          and len(t["out_sha256"]) == 64,
          "transfer counts/hashes %r" % t)
    out, inp = recorded(e, rec, "o"), recorded(e, rec, "i")
    check(out == b"" and inp == b"", "a transfer's payload recorded: %d output, %d input bytes" % (len(out), len(inp)))
    return t


def case_rsync_daemon_config(e):
    """rsync's client asked to run `rsync --config=FILE --server --daemon .`
    (--rsync-path): the daemon runs the user's rsyncd.conf, whose pre-xfer
    exec runs a command whose output reaches the client. It looks like rsync
    but is not a transfer: recorded in full."""
    h = home(e)
    os.makedirs(h + "/modroot")
    write_as_user(h + "/modroot/file", "module file\n")
    os.chown(h + "/modroot", UID, UID)
    write_as_user(h + "/motd.txt", "daemon-motd-%s\n" % "k7q2")
    write_as_user(h + "/evil.conf",
                  "use chroot = no\n"
                  "motd file = %s/motd.txt\n"
                  "[mod]\n"
                  "path = %s/modroot\n"
                  "pre-xfer exec = /bin/sh -c 'echo pre-xfer-ran-$((7*6)); id -un; exit 1'\n" % (h, h))
    before = set(e.recordings())
    dst = e.T + "/dl"
    r = subprocess.run(["rsync", "-r", "--rsync-path=rsync --config=%s/evil.conf" % h, "-e", ssh_e(e),
                        "%s@127.0.0.1::mod/" % USER, dst + "/"],
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    client = r.stdout + r.stderr
    # the attack reached the daemon: its motd and the command's output came back
    check(b"daemon-motd-k7q2" in client and b"pre-xfer-ran-42\nalice" in client,
          "the daemon did not run the user's configuration: %r" % client[-600:])
    rec, msgs = new_recording(e, before)
    check(not any("transfer" in m for m in msgs), "daemon session recorded as a transfer: %r" %
          [m["transfer"] for m in msgs if "transfer" in m])
    out = recorded(e, rec, "o")
    check(b"daemon-motd-k7q2" in out and b"pre-xfer-ran-42" in out,
          "the daemon's output is not in the recording: %r" % out[-400:])
    check(msgs[0].get("user") == USER, "recorded user %r" % msgs[0].get("user"))


def case_transfer_still_hashed(e):
    """Real transfers (rsync -a up, rsync -az --delete down, scp over SFTP,
    scp -O) are still transfers: the "transfer" field, the file's content
    nowhere in the recording."""
    h = home(e)
    src = e.T + "/payload.txt"
    payload = ("transfer-payload-%s\n" % os.urandom(8).hex()) * 4000
    with open(src, "w") as f:
        f.write(payload)
    up = len(payload)  # uploads: at least the file came in
    for argv, dest, command_start, in_min in (
            (["rsync", "-a", "-e", ssh_e(e), src, "%s@127.0.0.1:dst/" % USER], h + "/dst/payload.txt",
             "rsync --server ", up),
            (["rsync", "-az", "--delete", "-e", ssh_e(e), "%s@127.0.0.1:dst/" % USER, e.T + "/pulled/"],
             e.T + "/pulled/payload.txt", "rsync --server --sender ", 0),
            (["scp"] + scp_opts(e) + [src, "%s@127.0.0.1:scp.txt" % USER], h + "/scp.txt",
             "/usr/lib/openssh/sftp-server", up),
            (["scp", "-O"] + scp_opts(e) + [src, "%s@127.0.0.1:scp-legacy.txt" % USER],
             h + "/scp-legacy.txt", "scp -t ", up),
    ):
        before = set(e.recordings())
        r = subprocess.run(argv, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        check(r.returncode == 0, "%s failed: %r" % (argv[0:2], r.stderr))
        check(open(dest).read() == payload, "%s: the copy differs" % dest)
        rec, msgs = new_recording(e, before)
        check_transfer(e, rec, msgs, command_start, in_min)


def sftp_server_environ(timeout=15):
    """The environment of alice's running sftp-server, read from /proc."""
    end = time.time() + timeout
    while time.time() < end:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if open("/proc/%s/comm" % pid).read().strip() != "sftp-server":
                    continue
                if os.stat("/proc/" + pid).st_uid != UID:
                    continue
                raw = open("/proc/%s/environ" % pid, "rb").read()
            except OSError:
                continue
            return dict(v.split(b"=", 1) for v in raw.split(b"\0") if b"=" in v)
        time.sleep(0.1)
    fail("no sftp-server of %s running" % USER)


def case_transfer_env_scrubbed(e):
    """sshd passes the user's ~/.ssh/environment (PermitUserEnvironment):
    the transfer program runs with a fixed environment all the same."""
    h = home(e)
    write_as_user(h + "/.ssh/environment",
                  "LD_PRELOAD=/nonexistent/evil.so\n"
                  "LD_LIBRARY_PATH=/nonexistent/lib\n"
                  "RSYNC_RSH=/nonexistent/evil-rsh\n"
                  "BASH_ENV=/nonexistent/evil.sh\n"
                  "PATH=/nonexistent/bin:/usr/bin:/bin\n"
                  "TRANSFER_CANARY=from-the-user\n", 0o600)
    # sshd does pass them on: an ordinary command sees them (and is recorded)
    r = e.ssh_cmd(USER, "echo canary=$TRANSFER_CANARY rsh=$RSYNC_RSH")
    check(b"canary=from-the-user rsh=/nonexistent/evil-rsh" in r.stdout, "sshd did not pass ~/.ssh/environment: %r %r"
          % (r.stdout, r.stderr))
    e.wait_ended()

    # an scp upload works, without a preload error, as a transfer
    src = e.T + "/payload.txt"
    payload = ("env-payload-%s\n" % os.urandom(8).hex()) * 2000
    with open(src, "w") as f:
        f.write(payload)
    opts = scp_opts(e)
    before = set(e.recordings())
    r = subprocess.run(["scp"] + opts + [src, "%s@127.0.0.1:up.txt" % USER], capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    check(r.returncode == 0, "scp failed: %r" % r.stderr)
    check(b"ld.so" not in r.stderr and b"preload" not in r.stderr.lower(), "preload error: %r" % r.stderr)
    check(open(h + "/up.txt").read() == payload, "the copy differs")
    rec, msgs = new_recording(e, before)
    check_transfer(e, rec, msgs, "/usr/lib/openssh/sftp-server", len(payload))

    # what the transfer program got, read from the running sftp-server
    before = set(e.recordings())
    p = subprocess.Popen(["sftp", "-q", "-b", "-"] + opts + ["%s@127.0.0.1" % USER], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    e.procs.append(p)
    try:
        env = sftp_server_environ()
    finally:
        out, err = p.communicate(b"pwd\n", timeout=30)
    for name in (b"LD_PRELOAD", b"LD_LIBRARY_PATH", b"RSYNC_RSH", b"BASH_ENV", b"TRANSFER_CANARY"):
        check(name not in env, "%s reached the transfer program: %r" % (name.decode(), env))
    check(env.get(b"PATH") == FIXED_PATH.encode(), "PATH %r" % env.get(b"PATH"))
    check(env.get(b"HOME") == h.encode() and env.get(b"USER") == USER.encode(), "HOME/USER %r" % env)
    allowed = {b"PATH", b"HOME", b"USER", b"LOGNAME", b"SHELL", b"LANG", b"TZ"}
    extra = [k for k in env if k not in allowed and not k.startswith(b"LC_")]
    check(not extra, "more than the fixed environment: %r" % extra)
    check(p.returncode == 0 and h.encode() in out, "sftp failed: %r %r" % (out, err))
    rec, msgs = new_recording(e, before)
    check(any("transfer" in m for m in msgs), "sftp session not a transfer: %r" % msgs[-1])


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}


def main():
    case = sys.argv[1]
    run_case(CASES, case, sshd_extra="PermitUserEnvironment yes" if case == "transfer_env_scrubbed" else "")


if __name__ == "__main__":
    main()
    print("ok")
