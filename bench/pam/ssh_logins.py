#!/usr/bin/env python3
"""50 ssh logins with and without pam_tlog + nss_tlog in the stack, side by
side (target: under 10% added login time). Root; runs itself in a
private mount namespace with the e2e setup (tests/tlogtest/login.py, found
through PYTHONPATH=<source root>/tests, which the re-exec below sets).
Usage: bench/pam/ssh_logins.py BUILD_DIR [LOGINS]
Rounds alternate: bare (host pam.d/sshd, passwd: files), modules (+pam_tlog
account/session, passwd: tlog files) for an unrecorded user, and modules for
a recorded user (the recorder runs too), so load changes hit all alike."""
import os
import statistics
import subprocess
import sys
import time

if os.environ.get("RECTEST_NS") != "1":
    build = os.path.realpath(sys.argv[1])
    src = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
    env = dict(os.environ, RECTEST_NS="1", SOURCE_ROOT=src, BUILD_ROOT=build,
               CODEC_TOOL_BIN=build + "/tests/tools/codec-tool",
               PYTHONPATH=os.pathsep.join(filter(None, [src + "/tests", os.environ.get("PYTHONPATH")])))
    env.setdefault("TLOG_SYSCONFDIR_TEST", "/usr/local/etc/tlog")
    os.execvpe("unshare", ["unshare", "-m", "--propagation", "private", sys.executable] + sys.argv, env)

from tlogtest.login import Login  # noqa: E402

n = int(sys.argv[2]) if len(sys.argv) > 2 else 50
e = Login("tlog-first", pam_args="")
try:
    with open(e.T + "/pam.d/sshd") as f:
        with_modules = f.read()
    without = with_modules.split("\n# pam_tlog (examples/pam.d/sshd)\n")[0] + "\n"
    with open("/etc/nsswitch.conf") as f:
        ns_with = f.read()
    ns_without = ns_with.replace("tlog [UNAVAIL=return] files", "files")

    def setup(modules):
        with open(e.T + "/pam.d/sshd", "w") as f:
            f.write(with_modules if modules else without)
        with open("/etc/nsswitch.conf", "w") as f:   # in place: keeps the bind mount
            f.write(ns_with if modules else ns_without)

    def login(user):
        t0 = time.monotonic()
        r = subprocess.run(e.ssh_argv(user) + ["true"], capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
        dt = time.monotonic() - t0
        if r.returncode != 0:
            raise SystemExit("ssh %s failed: %r\n%s\n%s" % (user, r.stderr, e.read(e.sshd_log)[-1500:], e.syslog.text()[-2500:]))
        return dt

    kinds = [("bare, bob", False, "bob"), ("modules, bob (not recorded)", True, "bob"),
             ("bare, alice", False, "alice"), ("modules, alice (recorded)", True, "alice")]
    times = {k[0]: [] for k in kinds}
    for name, modules, user in kinds:   # warm up
        setup(modules)
        login(user)
    for i in range(n):
        for name, modules, user in kinds:
            setup(modules)
            times[name].append(login(user))
    med = {k: statistics.median(v) for k, v in times.items()}
    print("%d logins each (ssh USER true), median / mean seconds:" % n)
    for k, v in times.items():
        print("  %-30s %.4f / %.4f" % (k, med[k], statistics.mean(v)))
    print("ratio not recorded (modules / bare): %.3f" % (med["modules, bob (not recorded)"] / med["bare, bob"]))
    print("ratio recorded     (modules / bare): %.3f" % (med["modules, alice (recorded)"] / med["bare, alice"]))
finally:
    e.close()
