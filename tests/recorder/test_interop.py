#!/usr/bin/env python3
"""Our recordings play in Debian's tlog-play 12 (suite interop): from a
file, and from the journal (as cockpit-session-recording reads them:
matched by TLOG_REC). Usage: test_interop.py CASE"""
import json
import os
import subprocess
import time

from tlogtest.terminal import (run_case, TLOG_PLAY, TLOG_REC, TLOG_REC_SESSION, check, clean_env, debian_play, messages,
                               output_of, spawn, tmpdir)
from tlogtest.namespace import Journald, require_root_ns, sh


def case_play_file():
    check(os.access(TLOG_PLAY, os.X_OK), "Debian's tlog is not installed (scripts/apt-packages.txt)")
    d = tmpdir()
    log = d + "/r.log"
    # several messages (small payload), UTF-8, invalid bytes, a window change,
    # and the extension fields (mac chain, a drop record) old readers ignore
    script = ("printf 'interop-start caf\\303\\251 \\377\\376 '; stty size; "
              "i=0; while [ $i -lt 50 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; "
              "echo interop-end")
    p = spawn([TLOG_REC, "--payload=256", "-o", log, "/bin/sh", "-c", script], rows=30, cols=100)
    check(p.wait() == 0, "recording failed")
    check(len(messages(log)) > 5, "expected several messages")
    st, out = debian_play(["-i", log, "-s", "100"])
    check(st == 0, "tlog-play failed (%d): %r" % (st, out[-500:]))
    ours = output_of(log)
    check(b"interop-start caf\xc3\xa9 \xff\xfe " in out, "tlog-play output differs: %r" % out[:300])
    check(b"line-49-" in out and b"interop-end" in out, "tlog-play stopped early: %r" % out[-300:])
    # tlog-play writes exactly the recorded bytes (plus its own terminal setup)
    check(ours in out, "tlog-play's output does not contain the recorded stream byte for byte")
    # a recording with a drop record still plays
    log2 = d + "/drop.log"
    p = spawn([TLOG_REC, "--limit-rate=500", "--limit-burst=500", "--limit-action=drop", "-o", log2,
               "/bin/sh", "-c", "head -c 20000 /dev/zero | tr '\\0' z; echo; sleep 1.1; echo after-drop"])
    check(p.wait() == 0, "recording failed")
    check(any("dropped" in m for m in messages(log2)), "no drop record")
    st, out = debian_play(["-i", log2, "-s", "100"])
    check(st == 0 and b"after-drop" in out, "tlog-play with a drop record: %d %r" % (st, out[-300:]))


def case_play_withheld():
    """Hidden input ("in_hidden") and redacted output ("out_redacted") are
    fields tlog-play 12 does not know: it plays the recording all the same."""
    check(os.access(TLOG_PLAY, os.X_OK), "Debian's tlog is not installed (scripts/apt-packages.txt)")
    d = tmpdir()
    log = d + "/r.log"
    conf = json.dumps({"log": {"input": True, "output_redact": ["token-[0-9]+"]}})
    script = 'echo token-12345; read -s -p "PW: " x; echo; echo "len=${#x}"; echo withheld-end'
    p = spawn([TLOG_REC, "--payload=256", "-o", log, "/bin/bash", "--norc", "-c", script],
              env=clean_env(TLOG_REC_CONF_TEXT=conf))
    p.read_until("PW: ")
    for ch in "s3cret\r":
        p.write(ch)
        time.sleep(0.02)
    check(p.wait() == 0, "recording failed")
    msgs = messages(log)
    check(any("in_hidden" in m for m in msgs) and any("out_redacted" in m for m in msgs),
          "the recording lacks the fields: %r" % msgs)
    st, out = debian_play(["-i", log, "-s", "100"])
    check(st == 0, "tlog-play failed (%d): %r" % (st, out[-500:]))
    check(b"*" * 11 + b"\r\nPW: " in out and b"token-1" not in out and b"len=6" in out and b"withheld-end" in out,
          "tlog-play output: %r" % out[-300:])
    check(output_of(log) in out, "tlog-play's output does not contain the recorded stream byte for byte")


def case_play_journal():
    check(os.access(TLOG_PLAY, os.X_OK), "Debian's tlog is not installed")
    require_root_ns()
    T = tmpdir()
    sh("mount -t tmpfs -o mode=755 tmpfs /run")
    j = Journald(T)
    try:
        p = spawn([TLOG_REC, "-w", "journal", "--payload=256", "/bin/sh", "-c",
                   "echo journal-interop; seq 1 40; echo journal-end"], env=clean_env())
        check(p.wait() == 0, "recording failed")
        rec = None
        end = time.time() + 10
        while time.time() < end:
            ents = [e for e in j.entries("SYSLOG_IDENTIFIER=tlog-rec") if "TLOG_REC" in e]
            if ents and any('"end"' in e["MESSAGE"] for e in ents):
                rec = ents[0]["TLOG_REC"]
                break
            time.sleep(0.2)
        check(rec, "recording not in the journal")
        st, out = debian_play(["-r", "journal", "-M", "TLOG_REC=" + rec, "-s", "100"])
        check(st == 0, "tlog-play -r journal failed (%d): %r" % (st, out[-500:]))
        check(b"journal-interop" in out and b"journal-end" in out, "journal playback: %r" % out[-300:])
    finally:
        j.stop()


def case_configuration_compat():
    """`--configuration` of ours has every setting of Debian's tlog 12 with the
    same default value (both programs), and accepts Debian's output back."""
    check(os.access("/usr/bin/tlog-rec", os.X_OK), "Debian's tlog is not installed")

    def leaves(v, pre=""):
        if isinstance(v, dict):
            for k, x in v.items():
                yield from leaves(x, pre + k + ".")
        else:
            yield pre[:-1], v
    for deb, ours in (("/usr/bin/tlog-rec", TLOG_REC), ("/usr/bin/tlog-rec-session", TLOG_REC_SESSION)):
        env = clean_env()
        d = subprocess.run([deb, "--configuration"], capture_output=True, env=env, timeout=20)
        check(d.returncode == 0, "%s --configuration failed" % deb)
        o = subprocess.run([ours, "--configuration"], capture_output=True, env=env, timeout=20)
        check(o.returncode == 0, "%s --configuration failed: %r" % (ours, o.stderr))
        dj, oj = json.loads(d.stdout), json.loads(o.stdout)
        mine = dict(leaves(oj))
        for k, v in leaves(dj):
            check(k in mine, "%s: setting %s missing from ours" % (os.path.basename(ours), k))
            check(mine[k] == v, "%s: %s = %r, Debian %r" % (os.path.basename(ours), k, mine[k], v))
        # Debian's printed configuration is a valid configuration for ours
        r = subprocess.run([ours, "--configuration"], capture_output=True, timeout=20,
                           env=clean_env(**{("TLOG_REC_CONF_TEXT" if ours == TLOG_REC else "TLOG_REC_SESSION_CONF_TEXT"):
                                            d.stdout.decode()}))
        check(r.returncode == 0, "Debian's configuration rejected: %r" % r.stderr)


if __name__ == "__main__":
    run_case(globals())
