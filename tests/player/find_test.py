"""Finding sessions and reading them as text: --list over many files, a
directory or filters (--user, --host, --since, --until, --wide, --json);
--export transcript of a real bash session recorded by tlog-rec; the
strict-mode message of --export and --search when messages are missing.
Usage: find_test.py TEST (TLOG_PLAY, CODEC_TOOL, TLOG_REC in the environment)."""
import json
import os
import subprocess
import sys
import time

from tlogtest.player import Script, fail, tmpdir

TLOG_PLAY = os.environ["TLOG_PLAY"]
DAY = 86400


def play(*args, env=None):
    e = dict(os.environ, TZ="UTC")
    e.update(env or {})
    return subprocess.run([TLOG_PLAY, *args], capture_output=True, text=True, env=e, timeout=120)


def recording(d, name, user, host, start, session=7, lines=3, path=None):
    """A recording (no integrity chain, so its fields can be set) by `user`
    on `host` starting at `start` (seconds since the epoch)."""
    s = Script("80x24")
    for i in range(lines):
        s.out("%s says %d\r\n" % (name, i)).flush().wait(1000)
    raw = s.write(d, name + ".raw", ["--rec", name, "--no-chain"])
    out = []
    for line in open(raw).read().splitlines():
        m = json.loads(line)
        m["user"], m["host"], m["session"] = user, host, session
        m["time"] = round(start + m["pos"] / 1000.0, 3)
        out.append(json.dumps(m, separators=(",", ":")))
    os.unlink(raw)
    path = path or os.path.join(d, name + ".log")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as f:
        f.write("\n".join(out) + "\n")
    return path


def table_recs(stdout):
    return [line.split()[-2] for line in stdout.splitlines()[1:]]


def test_list_many():
    d = tmpdir()
    t0 = 1764892800  # 2025-12-05 00:00 UTC
    long_id = "a1b2c3d4e5f60718293a4b5c6d7e8f90-4242-1f2e3d"
    top = os.path.join(d, "logs")
    recording(d, "late", "alice", "web1", t0 + 14 * 3600, path=os.path.join(top, "a", "late.log"))
    recording(d, "early", "bob", "db1", t0 + 9 * 3600, path=os.path.join(top, "b", "deep", "early.log"))
    recording(d, long_id, "carol-with-a-long-name", "a-very-long-host-name.example.org", t0 - DAY + 3600,
              session=4294967295, path=os.path.join(top, "old.log"))
    with open(os.path.join(top, "notes.txt"), "w") as f:
        f.write("not a recording\n")
    os.symlink(top, os.path.join(top, "a", "loop"))  # never followed
    other = recording(d, "other", "alice", "web2", t0 + 20 * 3600)

    # A directory, recursively, and a file beside it: sorted by start.
    r = play("--list", top, other)
    if r.returncode != 0:
        fail("--list of intact recordings: %r %r" % (r.stdout, r.stderr))
    rows = r.stdout.splitlines()
    if len(rows) != 5 or any(len(x) > 80 for x in rows):
        fail("--list table: %d rows, widths %r:\n%s" % (len(rows), [len(x) for x in rows], r.stdout))
    order = [x.split()[-2] for x in rows[1:]]
    if order[1:] != ["early", "late", "other"] or not order[0].endswith("~") or long_id.startswith(order[0]) is False \
            and not long_id.startswith(order[0][:-1]):
        fail("--list order or abbreviation: %r" % order)
    old = rows[1]
    if " - " not in old or "2025-12-04 01:00" not in old:
        fail("unset audit session not '-', or start wrong: %r" % old)
    # --wide: whole values, the file.
    r = play("--list", "--wide", top)
    if long_id not in r.stdout or "a-very-long-host-name.example.org" not in r.stdout or "deep/early.log" not in r.stdout:
        fail("--wide: %r" % r.stdout)
    # Filters.
    r = play("--list", top, other, "--user", "alice")
    if table_recs(r.stdout) != ["late", "other"]:
        fail("--user alice: %r" % r.stdout)
    r = play("--list", top, other, "--host", "db1")
    if table_recs(r.stdout) != ["early"]:
        fail("--host db1: %r" % r.stdout)
    r = play("--list", top, other, "--since", "2025-12-05 12:00", "--until", "2025-12-05 15:00")
    if table_recs(r.stdout) != ["late"]:
        fail("--since/--until with hours: %r" % r.stdout)
    r = play("--list", top, other, "--since", "2025-12-05")
    if table_recs(r.stdout) != ["early", "late", "other"]:
        fail("--since DATE: %r" % r.stdout)
    r = play("--list", top, other, "--until", "2025-12-04T23:59:59Z")
    if [x["rec"] for x in json.loads(play("--list", top, other, "--until", "2025-12-04T23:59:59Z", "--json")
                                     .stdout)["recordings"]] != [long_id]:
        fail("--until with T and Z: %r" % r.stdout)
    # Relative dates from now: recordings from an hour ago and three days ago.
    now = int(time.time())
    recent = recording(d, "recent", "dave", "web1", now - 3600)
    older = recording(d, "older", "dave", "web1", now - 3 * DAY)
    r = play("--list", recent, older, "--since", "-2h")
    if table_recs(r.stdout) != ["recent"]:
        fail("--since -2h: %r" % r.stdout)
    r = play("--list", recent, older, "--since", "-4d", "--until", "-2d")
    if table_recs(r.stdout) != ["older"]:
        fail("--since -4d --until -2d: %r" % r.stdout)
    r = play("--list", recent, older, "--since", "today" if (now - 3600) // DAY == now // DAY else "yesterday")
    if table_recs(r.stdout) != ["recent"]:
        fail("--since today/yesterday: %r" % r.stdout)
    r = play("--list", recent, older, "--until", "now")
    if table_recs(r.stdout) != ["older", "recent"]:
        fail("--until now: %r" % r.stdout)
    for bad in ("2025-13-01", "2025-02-30", "yesteryear", "-2y", "2025-12-05 25:00"):
        r = play("--list", top, "--since", bad)
        if r.returncode != 2 or ('--since: bad date "%s"' % bad) not in r.stderr:
            fail("bad date %r: %r %r" % (bad, r.returncode, r.stderr))
    # --json: one document, every recording with its file.
    r = play("--list", "--json", top, other)
    doc = json.loads(r.stdout)
    recs = doc["recordings"]
    if [x["rec"] for x in recs] != [long_id, "early", "late", "other"] or recs[0]["session"] is not None \
            or recs[1]["session"] != 7 or not recs[1]["file"].endswith("deep/early.log") \
            or recs[2]["start"] != "2025-12-05T14:00:00.000Z" or recs[2]["duration_ms"] != 3000 \
            or recs[2]["status"] != "unprotected" or doc["errors"] != [] or doc["forged"] != []:
        fail("--json: %r" % r.stdout)
    # Anything broken: status 1, and the table still lists the rest.
    broken = os.path.join(top, "b", "broken.log")
    lines = open(recording(d, "gappy", "erin", "web1", t0 + 10 * 3600, lines=5, path=broken)).read().splitlines()
    with open(broken, "w") as f:
        f.write("\n".join(lines[:2] + lines[3:]) + "\n")
    r = play("--list", top)
    if r.returncode != 1 or "gappy" not in r.stdout or "damaged" not in r.stdout or "gappy" not in r.stderr:
        fail("--list over a directory with a damaged recording: %r %r %r" % (r.returncode, r.stdout, r.stderr))
    # Fields the recorded side controls never put control characters on the
    # auditor's terminal (table, wide); JSON escapes them.
    hostile = recording(d, "evil\x1b]52;c;aGk=\x07", "\x1b[2Jroot", "h\x1b[31m", t0, lines=1)
    for args in ([], ["--wide"]):
        r = play("--list", hostile, *args)
        if "\x1b" in r.stdout or "\x07" in r.stdout or "evil" not in r.stdout:
            fail("--list %r let control characters through: %r" % (args, r.stdout))
    r = play("--list", "--json", hostile)
    if "\x1b" in r.stdout or json.loads(r.stdout)["recordings"][0]["user"] != "\x1b[2Jroot":
        fail("--json did not escape control characters: %r" % r.stdout)
    r = play("--list", top, os.path.join(d, "missing.log"))
    if r.returncode != 1 or "missing.log" not in r.stderr:
        fail("--list with a missing file: %r %r" % (r.returncode, r.stderr))


def test_strict_missing():
    # Strict --export and --search name exactly the missing messages and
    # say that --lax goes on; --lax does.
    d = tmpdir()
    s = Script("80x24")
    for i in range(8):
        s.out("msg %d\r\n" % i).flush().wait(100)
    lines = open(s.write(d, "r.log", ["--rec", "r"])).read().splitlines()
    first = os.path.join(d, "first.log")
    with open(first, "w") as f:
        f.write("\n".join(lines[2:]) + "\n")
    gap = os.path.join(d, "gap.log")
    with open(gap, "w") as f:
        f.write("\n".join(lines[:3] + lines[5:]) + "\n")
    for path, want in ((first, "missing messages: 1..2 (the recording starts at message 3"),
                       (gap, "missing messages: 4..5 (at 00:00:00.")):
        for mode, args, verb in (("export", ["--export", "text"], "--lax exports what is there"),
                                 ("search", ["--search", "msg"], "--lax searches what is there")):
            r = play("--no-cache", "-i", path, *args)
            if r.returncode != 1 or want not in r.stderr or verb not in r.stderr or path not in r.stderr:
                fail("strict %s of %s: %r %r" % (mode, os.path.basename(path), r.returncode, r.stderr))
            r = play("--no-cache", "-i", path, "--lax", *args)
            if r.returncode != 0 or "msg 7" not in r.stdout:
                fail("--lax %s of %s: %r %r" % (mode, os.path.basename(path), r.stdout, r.stderr))


def bash_session(d):
    """A real bash session recorded by tlog-rec on a pty."""
    from tlogtest.terminal import spawn
    log = os.path.join(d, "bash.log")
    with open(os.path.join(d, "text"), "w") as f:
        f.write("".join("page line %d\n" % i for i in range(200)))
    env = dict(os.environ, PS1="P$ ", TERM="xterm", HOME=d, LESS="", LESSHISTFILE="-")
    p = spawn([os.environ["TLOG_REC"], "-o", log, "/bin/bash", "--norc", "--noprofile", "-i"], env=env)
    prompts = 1
    p.read_until("P$ ")

    def run(cmd, until=None):
        nonlocal prompts
        p.write(cmd + "\r")
        prompts += 1
        if until:
            p.read_until(until)
        else:
            p.read_until("P$ " * 0 + "P$ ")
        time.sleep(0.2)

    run("echo first-command", "first-command\r\n")
    run("clear", "P$ ")
    run("echo top-after-clear", "top-after-clear\r\n")
    run("seq 1 100", "\r\n100\r\n")
    run("echo twice; echo twice", "twice\r\ntwice\r\n")
    p.write("less %s\r" % os.path.join(d, "text"))
    p.read_until("page line 22")
    time.sleep(0.3)
    p.write(" ")
    p.read_until("page line 44")
    time.sleep(0.3)
    p.write("q")
    time.sleep(0.3)
    run("echo after-less", "after-less\r\n")
    p.write("exit\r")
    if p.wait() != 0:
        fail("bash did not exit cleanly")
    return log


def test_transcript_hostile():
    # What the recorded program prints is text in the transcript, never
    # terminal sequences: a transcript read with cat on the auditor's
    # terminal cannot set the clipboard, the title or answer for it.
    d = tmpdir()
    s = Script("80x24")
    s.out("plain\r\n\x1b]52;c;aGVsbG8=\x07\x1b]0;title\x07\x1b[6n\x1bP$qm\x1b\\\x1b[31mred\x1b[0m\r\n")
    s.out("\x1b[?1049h\x1b[Hfull \x1b]52;c;eA==\x07screen\x1b[?1049l").out("after\r\n")
    rec = s.write(d, "hostile.log")
    r = play("--no-cache", "-i", rec, "--export", "transcript")
    if r.returncode != 0 or any(c in r.stdout for c in "\x1b\x07\x90\x9b\x9d"):
        fail("control characters in the transcript: %r %r" % (r.stdout, r.stderr))
    if "plain" not in r.stdout or "red" not in r.stdout or "full screen" not in r.stdout or "after" not in r.stdout:
        fail("the transcript lost text: %r" % r.stdout)


def test_transcript_bash():
    d = tmpdir()
    log = bash_session(d)
    r = play("--no-cache", "-i", log, "--export", "transcript")
    if r.returncode != 0:
        fail("--export transcript: %r" % r.stderr)
    t = r.stdout.splitlines()
    # Commands and their output in order, each line once.
    expected = ["P$ echo first-command", "first-command", "P$ clear", "P$ echo top-after-clear", "top-after-clear",
                "P$ seq 1 100"] + [str(i) for i in range(1, 101)] + \
               ["P$ echo twice; echo twice", "twice", "twice"]
    at = 0
    for want in expected:
        try:
            at = t.index(want, at) + 1
        except ValueError:
            fail("transcript lacks %r (in order) after line %d:\n%s" % (want, at, r.stdout))
    for i in range(1, 101):
        if t.count(str(i)) != 1:
            fail("seq output %d appears %d times:\n%s" % (i, t.count(str(i)), r.stdout))
    if t.count("P$ echo first-command") != 1 or t.count("P$ echo twice; echo twice") != 1:
        fail("a command line is repeated:\n%s" % r.stdout)
    # less: one snapshot of its last screen, framed, then the shell goes on.
    starts = [i for i, x in enumerate(t) if x.startswith("--- full-screen program")]
    ends = [i for i, x in enumerate(t) if x == "--- end of full-screen program ---"]
    if len(starts) != 1 or len(ends) != 1 or not (at <= starts[0] < ends[0]):
        fail("the full-screen program is not one framed snapshot:\n%s" % r.stdout)
    block = t[starts[0] + 1:ends[0]]
    if "page line 44" not in block or "page line 10" in block or any(x.startswith("page line") for x in t[:starts[0]]):
        fail("the snapshot is not less's last screen:\n%s" % "\n".join(block))
    tail = t[ends[0] + 1:]
    if "P$ echo after-less" not in tail or "after-less" not in tail or tail[-1] != "exit":
        fail("after less: %r" % tail)


TESTS = {name[5:]: fn for name, fn in globals().items() if name.startswith("test_")}

if __name__ == "__main__":
    TESTS[sys.argv[1].replace("-", "_")]()
    print("ok")
