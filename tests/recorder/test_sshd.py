#!/usr/bin/env python3
"""End to end (suite e2e, root): a real sshd on 127.0.0.1 in a private mount
namespace, the test user's login shell is the setuid/setgid-tlog
tlog-rec-session, PAM as the host's /etc/pam.d/sshd (pam_loginuid gives the
audit session id). Checks: `ssh host cmd` recorded without a pty, an
interactive `ssh -tt` login recorded with the login-shell argv[0] and a
notice, a dropped connection ends the recording with "hangup", nested
`tlog-rec-session` in the same login not recorded twice, scp (sftp-server)
and rsync recorded as transfers. Run through run_ns.sh. Usage: test_sshd.py"""
import os
import signal
import subprocess
import time

from tlogtest.terminal import check, messages, output_of, spawn
from tlogtest.namespace import sh, write_sshd_config
from tlogtest.security_env import Env, SYSCONFDIR, USER_GID, USER_UID


def main():
    e = Env(login_shell_is_recorder=True)
    T = e.T
    sshd = None
    try:
        with open(SYSCONFDIR + "/tlog-rec-session.conf", "w") as f:
            f.write('{"shell": "/bin/bash", "writer": "file", "file": {"path": "%s"}, "latency": 1}' % e.log)
        os.makedirs("/run/sshd", mode=0o755)
        sh("ssh-keygen -q -t ed25519 -N '' -f %s/hostkey" % T)
        sh("ssh-keygen -q -t ed25519 -N '' -f %s/userkey" % T)
        os.makedirs(T + "/home/.ssh", mode=0o700)
        sh("cp %s/userkey.pub %s/home/.ssh/authorized_keys" % (T, T))
        sh("chown -R %d:%d %s/home" % (USER_UID, USER_GID, T))
        port = 20000 + os.getpid() % 20000
        conf = write_sshd_config(T, port)
        log = T + "/sshd.log"
        sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", conf, "-E", log])
        end = time.time() + 10
        while "Server listening" not in (open(log).read() if os.path.exists(log) else ""):
            check(time.time() < end and sshd.poll() is None, "sshd did not start: %s" %
                  (open(log).read() if os.path.exists(log) else ""))
            time.sleep(0.05)
        ssh = ["/usr/bin/ssh", "-i", T + "/userkey", "-p", str(port), "-o", "StrictHostKeyChecking=no",
               "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes"]

        # 1. ssh host cmd: no pty, recorded, exit status passed on
        r = subprocess.run(ssh + ["rectest@127.0.0.1", "echo ssh-cmd-$(id -u); exit 3"], capture_output=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        check(r.returncode == 3, "ssh cmd status %d: %r" % (r.returncode, r.stderr))
        check(r.stdout == b"ssh-cmd-%d\n" % USER_UID, "stdout %r" % r.stdout)
        msgs = messages(e.log)
        check(b"ssh-cmd-%d\n" % USER_UID in output_of(e.log), "ssh cmd not recorded")
        check(msgs[-1]["session"] != 4294967295, "no audit session id from pam_loginuid")
        check(b"ATTENTION" not in r.stdout, "notice on a non-interactive session")
        os.unlink(e.log)

        # 2. interactive login with a pty; nested tlog-rec-session not recorded twice
        p = spawn(ssh + ["-tt", "rectest@127.0.0.1"], env=dict(os.environ, TERM="xterm"))
        p.read_until("ATTENTION! Your session is being recorded!")
        time.sleep(0.5)
        p.write("echo \"argv0=$0\"\r")
        p.read_until("argv0=-bash")
        p.write("%s -c 'echo nested-run'\r" % e.rec)
        p.read_until("nested-run")
        # 3. drop the connection: kill the client
        time.sleep(0.3)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        end = time.time() + 15
        while time.time() < end:
            if os.path.exists(e.log) and messages(e.log) and messages(e.log)[-1].get("end"):
                break
            time.sleep(0.2)
        msgs = messages(e.log)
        check(msgs and msgs[-1].get("end") == "hangup", "dropped connection: end %r" % (msgs[-1].get("end") if msgs else None))
        check(len({m["rec"] for m in msgs}) == 1, "nested recorder recorded too")
        out = output_of(e.log)
        check(b"argv0=-bash" in out and b"nested-run" in out, "interactive session not recorded")
        os.unlink(e.log)

        # 4. scp (SFTP protocol: sshd runs `shell -c sftp-server`): a transfer record
        src = T + "/payload.bin"
        with open(src, "wb") as f:
            f.write(os.urandom(100000))
        r = subprocess.run(["scp", "-q", "-i", T + "/userkey", "-P", str(port), "-o", "StrictHostKeyChecking=no",
                            "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", src,
                            "rectest@127.0.0.1:%s/home/copy.bin" % T], capture_output=True, timeout=30)
        check(r.returncode == 0, "scp failed: %r" % r.stderr)
        check(open(T + "/home/copy.bin", "rb").read() == open(src, "rb").read(), "scp copy differs")
        msgs = messages(e.log)
        tr = [m["transfer"] for m in msgs if "transfer" in m]
        check(tr and "sftp-server" in tr[0]["command"], "no transfer record: %r" % msgs[-1])
        check(tr[0]["in_bytes"] > 100000, "transfer byte count %r" % tr[0])
        check(len(output_of(e.log)) == 0, "transfer payload recorded")
        os.unlink(e.log)

        # 5. rsync over ssh (sshd runs `shell -c 'rsync --server ...'`)
        r = subprocess.run(["rsync", "-a", "-e", " ".join(ssh), src, "rectest@127.0.0.1:%s/home/rsync.bin" % T],
                           capture_output=True, timeout=60)
        check(r.returncode == 0, "rsync failed: %r" % r.stderr)
        check(open(T + "/home/rsync.bin", "rb").read() == open(src, "rb").read(), "rsync copy differs")
        tr = [m["transfer"] for m in messages(e.log) if "transfer" in m]
        check(tr and tr[0]["command"].startswith("rsync --server"), "no rsync transfer record: %r" % messages(e.log))
        check(tr[0]["in_bytes"] > 100000 and len(output_of(e.log)) == 0, "rsync transfer record %r" % tr[0])
    finally:
        if sshd:
            sshd.terminate()
            sshd.wait(10)
        e.close()


if __name__ == "__main__":
    main()
    print("ok")
