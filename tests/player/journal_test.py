"""-r journal: recordings read from a journal file written by
systemd-journal-remote (no journald needed, so nothing host-wide is
started), and from a real systemd-journald (default and a journal
namespace) started in a private mount namespace by the journald-* tests
(run through tests/recorder/run_ns.sh, as root).
Usage: journal_test.py TEST (TLOG_PLAY and CODEC_TOOL in the environment)."""
import json
import os
import subprocess
import sys

from tlogtest.namespace import Journald, require_root_ns, sh
from tlogtest.player import Script, fail, tmpdir

TLOG_PLAY = os.environ["TLOG_PLAY"]
REMOTE = "/lib/systemd/systemd-journal-remote"
BOOT = "0123456789abcdef0123456789abcdef"
T0 = 1700000000000000  # us


def entries_of(recordings, t=T0, start=0, stop=None, unrelated=False, uid=0):
    """Export-format journal entries for messages start..stop of each
    recording, interleaved, one second apart, with the fields tlog-rec's
    journal writer adds and the trusted _UID journald would (root: the
    player's default recorder with tlog's), and, if asked, an unrelated
    entry after each."""
    entries = []
    per = [open(r).read().splitlines()[start:stop] for r in recordings]
    for i in range(max(len(p) for p in per)):
        for lines in per:
            if i >= len(lines):
                continue
            m = json.loads(lines[i])
            entries.append("__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n_UID=%d\nMESSAGE=%s\n"
                           "TLOG_REC=%s\nTLOG_USER=%s\nTLOG_SESSION=%d\nTLOG_ID=%d\n\n"
                           % (t, t - T0 + 1, BOOT, uid, lines[i], m["rec"], m["user"], m["session"], m["id"]))
            t += 1000000
            if unrelated:
                entries.append("__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n_UID=0\n"
                               "MESSAGE=unrelated\n\n" % (t, t - T0 + 1, BOOT))
                t += 1000000
    return "".join(entries), t


def append_journal(path, text):
    subprocess.run([REMOTE, "--output=" + path, "-"], input=text.encode(), check=True, capture_output=True)


def journal(d, recordings):
    """The recordings' messages as a journal file, with unrelated entries
    between them."""
    if not os.path.exists(REMOTE):
        fail("systemd-journal-remote is not installed (scripts/deps.sh installs it)")
    path = os.path.join(d, "test.journal")
    append_journal(path, entries_of(recordings, unrelated=True)[0])
    return path


def recording(d, name, word):
    s = Script("80x24")
    for i in range(5):
        s.out("%s %d\r\n" % (word, i)).flush().wait(100)
    return s.write(d, name, ["--rec", name])


def play(*args, check=True):
    return subprocess.run([TLOG_PLAY, "-r", "journal", *args], capture_output=True, text=True, check=check)


def test_journal():
    d = tmpdir()
    j = journal(d, [recording(d, "rec-a", "alpha"), recording(d, "rec-b", "bravo")])
    text = play("--journal-file", j, "-m", "rec-b", "--export", "text").stdout
    if "bravo 4" not in text or "alpha" in text:
        fail("-m did not select the recording: %r" % text)
    text = play("--journal-file", j, "-M", "TLOG_REC=rec-a", "--export", "text").stdout
    if "alpha 4" not in text or "bravo" in text:
        fail("-M did not select the recording: %r" % text)
    listing = play("--journal-file", j, "--list").stdout
    if "rec-a" not in listing or "rec-b" not in listing or listing.count("intact") != 2:
        fail("--list: %r" % listing)
    v = play("--journal-file", j, "-m", "rec-a", "--verify")
    if v.returncode != 0 or "intact" not in v.stdout:
        fail("--verify: %r" % v.stdout)
    # -U before the last message: the recording is cut, and says so.
    until = (T0 + 14 * 1000000) / 1e6
    v = play("--journal-file", j, "-m", "rec-a", "-U", "%.6f" % until, "--verify", check=False)
    if v.returncode == 0 or "incomplete" not in v.stdout:
        fail("-U: %r" % v.stdout)
    # -S after the first messages: strict playback refuses the missing
    # start, --lax plays the rest and says where the gap is.
    since = (T0 + 4 * 1000000) / 1e6
    r = play("--journal-file", j, "-m", "rec-a", "-S", "%.6f" % since, "--export", "text", check=False)
    if r.returncode == 0:
        fail("-S: strict mode accepted a recording without its first messages")
    r = play("--journal-file", j, "-m", "rec-a", "-S", "%.6f" % since, "--lax", "--export", "text")
    if "alpha 4" not in r.stdout or "alpha 0" in r.stdout or "gap: messages 1..1" not in r.stderr:
        fail("-S --lax: %r %r" % (r.stdout, r.stderr))
    r = play("--journal-file", j, "-m", "nothing", "--list", check=False)
    if r.returncode == 0 or "no matching messages" not in r.stderr:
        fail("empty selection: %r" % r.stderr)


def test_journal_entries():
    # Only entries with a recording are read (other programs' entries make
    # no phantom recording); every message names the journal entry, never
    # the player's private copy; an entry the recorder did not write (its
    # trusted _UID) is reported as forged and left out.
    d = tmpdir()
    rec = recording(d, "rec-a", "alpha")
    lines = open(rec).read().splitlines()
    path = os.path.join(d, "entries.journal")
    text, t = entries_of([rec], unrelated=True)
    append_journal(path, text)
    r = play("--journal-file", path, "--list", check=False)
    if r.returncode != 0 or r.stdout.count("\n") != 2 or "rec-a" not in r.stdout:
        fail("entries without a recording made a recording, or --list failed: %r %r" % (r.stdout, r.stderr))
    # A forged message, as any user can send it: the recording's fields and
    # a message line claiming to be part of it, written by uid 1000.
    m = json.loads(lines[2])
    m["out_txt"] = "FORGED LINE\r\n"
    forged = ("__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n_UID=1000\nMESSAGE=%s\n"
              "TLOG_REC=rec-a\nTLOG_ID=%d\n\n" % (t, t - T0 + 1, BOOT, json.dumps(m, separators=(",", ":")), m["id"]))
    append_journal(path, forged)
    r = play("--journal-file", path, "-m", "rec-a", "--export", "text", check=False)
    if r.returncode != 0 or "FORGED" in r.stdout or "alpha 4" not in r.stdout:
        fail("a forged entry was played as part of the recording: %r %r" % (r.stdout, r.stderr))
    if "forged" not in r.stderr or "uid 1000" not in r.stderr or "journal entry s=" not in r.stderr:
        fail("the forged entry was not reported by its cursor: %r" % r.stderr)
    v = play("--journal-file", path, "-m", "rec-a", "--verify", check=False)
    if v.returncode == 0 or "intact" not in v.stdout or "forged" not in v.stderr:
        fail("--verify with a forged entry: %r %r %r" % (v.returncode, v.stdout, v.stderr))
    r = play("--journal-file", path, "--list", check=False)
    if r.returncode == 0 or "forged" not in r.stderr:
        fail("--list with a forged entry: %r %r" % (r.stdout, r.stderr))
    r = play("--journal-file", path, "--list", "--json", check=False)
    doc = json.loads(r.stdout)
    if r.returncode == 0 or len(doc["forged"]) != 1 or doc["forged"][0]["uid"] != "1000" or \
            not doc["forged"][0]["entry"].startswith("journal entry s="):
        fail("--list --json with a forged entry: %r" % r.stdout)
    # The auditor may name the recorder's account: then that uid is trusted.
    r = play("--journal-file", path, "-m", "rec-a", "--recorder-user", "0", "--recorder-user", "1000", "--export",
             "text", check=False)
    if "forged" in r.stderr or "message after the end" not in r.stderr or "journal entry s=" not in r.stderr:
        fail("--recorder-user 1000 did not trust uid 1000: %r %r" % (r.stdout, r.stderr))
    # A damaged message: the error names the entry by cursor and time.
    path2 = os.path.join(d, "damaged.journal")
    bad = list(lines)
    bad[3] = bad[3].replace('"out_txt":"', '"out_txt":1,"x":"', 1)
    with open(os.path.join(d, "bad.log"), "w") as f:
        f.write("\n".join(bad) + "\n")
    append_journal(path2, entries_of([os.path.join(d, "bad.log")])[0])
    r = play("--journal-file", path2, "-m", "rec-a", "--export", "text", check=False)
    if r.returncode == 0 or "journal entry s=" not in r.stderr or "(2023-11-14T22:13:23.000000Z)" not in r.stderr \
            or "/tmp" in r.stderr or "messages.log" in r.stderr:
        fail("a damaged entry was not named by cursor and time: %r" % r.stderr)
    r = play("--journal-file", path2, "-m", "rec-a", "--lax", "--verify", check=False)
    if "journal entry s=" not in r.stdout or "messages.log" in r.stdout:
        fail("--verify named the private copy: %r" % r.stdout)


def test_journal_follow():
    # A session still being recorded into the journal: -f plays what is
    # there, then what arrives, until the recording's end.
    if not os.path.exists(REMOTE):
        fail("systemd-journal-remote is not installed (scripts/deps.sh installs it)")
    from tlogtest.player import PtyPlayer
    import time
    d = tmpdir()
    s = Script("80x24")
    for i in range(6):
        s.out("live %d\r\n" % i).flush().wait(100)
    s.wait(3000).out(".")
    rec = s.write(d, "live", ["--rec", "live"])
    path = os.path.join(d, "live.journal")
    first, t = entries_of([rec], stop=3)
    append_journal(path, first)
    p = PtyPlayer(["-r", "journal", "--journal-file", path, "-m", "live", "-f", "--exit-at-end"])
    try:
        deadline = time.time() + 5
        while b"live 2" not in p.out and time.time() < deadline:
            p.pump(0.1)
        if b"live 2" not in p.out:
            fail("the messages already in the journal were not played")
        if b"live 3" in p.out:
            fail("played messages not in the journal yet")
        rest, _ = entries_of([rec], t=t, start=3)
        append_journal(path, rest)
        rc = p.wait(20)  # the end marker ends it
        if rc != 0:
            fail("did not end with the recording (status %r): %s" % (rc, p.stderr()))
        if b"live 5" not in p.out:
            fail("new journal entries were not played")
    finally:
        p.close()
    del time


# ------------------------------------------------------------ real journald

def journald_setup():
    """A private /run for journald (tlogtest.namespace's Journald)."""
    require_root_ns()
    sh("mount -t tmpfs -o mode=755 tmpfs /run")


def journal_fields(line):
    """The fields the recorder's journal writer sends with a message."""
    m = json.loads(line)
    return [("MESSAGE", line), ("PRIORITY", "6"), ("SYSLOG_IDENTIFIER", "tlog-rec"), ("TLOG_REC", m["rec"]),
            ("TLOG_USER", m["user"]), ("TLOG_SESSION", str(m["session"])), ("TLOG_ID", str(m["id"]))]


def logger_send(d, lines):
    """Each message through `logger --journald` (sd_journal_sendv) to the default journald."""
    for line in lines:
        f = os.path.join(d, "entry")
        with open(f, "w") as out:
            out.write("".join("%s=%s\n" % kv for kv in journal_fields(line)))
        subprocess.run(["logger", "--journald=" + f], check=True)


def native_send(socket_path, lines):
    """Each message in journald's native protocol (what sd_journal_send
    writes) to `socket_path`: logger cannot address a journal namespace."""
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    for line in lines:
        s.sendto("".join("%s=%s\n" % kv for kv in journal_fields(line)).encode(), socket_path)
    s.close()


def wait_entries(j, rec, n):
    import time
    end = time.time() + 10
    while time.time() < end:
        if len(j.entries("TLOG_REC=" + rec)) >= n:
            return
        time.sleep(0.1)
    fail("journald did not store %d entries of %s" % (n, rec))


def live_recording(d, name, word, n=6, tail_ms=0):
    s = Script("80x24")
    for i in range(n):
        s.out("%s %d\r\n" % (word, i)).flush().wait(100)
    if tail_ms:
        s.wait(tail_ms).out(".")
    return open(s.write(d, name, ["--rec", name])).read().splitlines()


def test_journald_live():
    # Recordings in the real journal: -M selects one, --verify checks it,
    # and -f follows one that is still being written.
    journald_setup()
    from tlogtest.player import PtyPlayer
    import time
    d = tmpdir()
    j = Journald(d)
    try:
        a = live_recording(d, "jd-a", "alpha")
        b = live_recording(d, "jd-b", "bravo")
        mixed = [x for pair in zip(a, b) for x in pair]
        logger_send(d, mixed)
        wait_entries(j, "jd-a", len(a))
        wait_entries(j, "jd-b", len(b))
        r = play("-M", "TLOG_REC=jd-a", "--export", "text", check=False)
        if r.returncode != 0 or "alpha 5" not in r.stdout or "bravo" in r.stdout:
            fail("-M TLOG_REC=jd-a from journald: %r %r" % (r.stdout, r.stderr))
        # An unprivileged user writes an entry claiming to be part of jd-a
        # (logger --journald sets any field it is given); journald records
        # the user's real uid in _UID, and the player leaves the entry out.
        m = json.loads(a[3])
        m["out_txt"] = "FORGED BY NOBODY\r\n"
        fields = dict(journal_fields(json.dumps(m, separators=(",", ":"))))
        entry = "".join("%s=%s\n" % kv for kv in fields.items())
        subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "logger", "--journald"],
                       input=entry.encode(), check=True)
        end = time.time() + 10
        while not [e for e in j.entries("TLOG_REC=jd-a") if e.get("_UID") == "65534"]:
            if time.time() > end:
                fail("journald did not store the unprivileged user's entry")
            time.sleep(0.1)
        r = play("-m", "jd-a", "--export", "text", check=False)
        if r.returncode != 0 or "FORGED" in r.stdout or "alpha 5" not in r.stdout:
            fail("a forged journald entry was played: %r %r" % (r.stdout, r.stderr))
        if "forged" not in r.stderr or "uid 65534" not in r.stderr or "journal entry s=" not in r.stderr:
            fail("the forged journald entry was not reported: %r" % r.stderr)
        v = play("-m", "jd-a", "--verify", check=False)
        if v.returncode == 0 or "forged" not in v.stderr:
            fail("--verify with a forged journald entry: %r %r" % (v.stdout, v.stderr))
        # Other programs' entries (this logger line) make no recording.
        subprocess.run(["logger", "just a log line"], check=True)
        listing = play("--list", "--json", check=False)
        recs = [x["rec"] for x in json.loads(listing.stdout)["recordings"]]
        if sorted(recs) != ["jd-a", "jd-b"]:
            fail("--list of journald: %r" % listing.stdout)
        v = play("-m", "jd-b", "--verify", check=False)
        if v.returncode != 0 or "intact" not in v.stdout:
            fail("--verify from journald: %r %r" % (v.stdout, v.stderr))
        # A session still being recorded: the first half is in the journal.
        live = live_recording(d, "jd-live", "live", tail_ms=3000)
        logger_send(d, live[:3])
        wait_entries(j, "jd-live", 3)
        p = PtyPlayer(["-r", "journal", "-M", "TLOG_REC=jd-live", "-f", "--exit-at-end"])
        try:
            deadline = time.time() + 5
            while b"live 2" not in p.out and time.time() < deadline:
                p.pump(0.1)
            if b"live 2" not in p.out:
                fail("the messages already in journald were not played: %r %s" % (p.out, p.stderr()))
            if b"live 3" in p.out:
                fail("played messages not in the journal yet")
            logger_send(d, live[3:])
            rc = p.wait(20)  # the end marker ends it
            if rc != 0:
                fail("did not end with the recording (status %r): %s" % (rc, p.stderr()))
            if b"live 5" not in p.out:
                fail("new journald entries were not played")
        finally:
            p.close()
    finally:
        j.stop()


def test_journald_namespace():
    # -N reads a journal namespace (its own journald, as
    # systemd-journald@NS.service runs it), and only it unless +NS.
    journald_setup()
    d = tmpdir()
    jd = Journald(d)
    jn = Journald(d, "tlogtest")
    try:
        ns = live_recording(d, "in-ns", "namespaced")
        default = live_recording(d, "in-default", "plain")
        native_send(jn.socket, ns)
        logger_send(d, default)
        wait_entries(jn, "in-ns", len(ns))
        wait_entries(jd, "in-default", len(default))
        r = play("-N", "tlogtest", "-m", "in-ns", "--export", "text", check=False)
        if r.returncode != 0 or "namespaced 5" not in r.stdout:
            fail("-N tlogtest: %r %r" % (r.stdout, r.stderr))
        listing = play("--journal-namespace=tlogtest", "--list").stdout
        if "in-ns" not in listing or "in-default" in listing:
            fail("-N lists other namespaces: %r" % listing)
        listing = play("--namespace=+tlogtest", "--list").stdout
        if "in-ns" not in listing or "in-default" not in listing:
            fail("+NS must add the default namespace: %r" % listing)
        r = play("-m", "in-ns", "--list", check=False)
        if r.returncode == 0 or "no matching messages" not in r.stderr:
            fail("the default namespace showed a namespaced recording: %r" % r.stderr)
        r = play("-N", "nosuchns", "--list", check=False)
        if r.returncode == 0 or "no matching messages" not in r.stderr:
            fail("an empty namespace: %r" % r.stderr)
        r = play("-N", "tlogtest", "--journal-file", "/dev/null", "--list", check=False)
        if r.returncode != 2 or "do not go together" not in r.stderr:
            fail("-N with --journal-file: %r" % r.stderr)
    finally:
        jn.stop()
        jd.stop()


TESTS = {name[5:]: fn for name, fn in globals().items() if name.startswith("test_")}

if __name__ == "__main__":
    TESTS[sys.argv[1].replace("-", "_")]()
    print("ok")
