"""tlog-server retention through its commands, with the run's clock given
(--now): recordings by our tlog-rec ingested and indexed by a running
server, the class of each from its audit start event's rule (or the
default), a dry run changing nothing, a run purging the expired one and
not the one on legal hold (tlog-server hold), another archiving one whose
archive plays with tlog-play (zstdcat ARCHIVE | tlog-play -i -) exactly
as the original and matches the manifest's hashes; tombstones with the
messages' SHA-256; the purged recordings gone from the restarted
server's searches (screen text too) and the held one still there; a bad
retention setting named by key.
Environment: TLOG_SERVER, TLOG_REC, TLOG_PLAY."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse

from index_test import get, sessions, wait_indexed
from server_play_test import TLOG_SERVER, fail, post, record, start_server

TLOG_PLAY = os.environ["TLOG_PLAY"]


def server_cmd(conf, *args, expect=0):
    r = subprocess.run([TLOG_SERVER, *args, "--config", conf], capture_output=True, timeout=300)
    if r.returncode != expect:
        fail("tlog-server %s: exit %d, expected %d: %r %r" % (" ".join(args), r.returncode, expect, r.stdout,
                                                             r.stderr))
    return r.stdout.decode(), r.stderr.decode()


def export_text(args, stdin=None):
    r = subprocess.run([TLOG_PLAY, *args, "--export", "text"], input=stdin, capture_output=True, timeout=120)
    if r.returncode != 0:
        fail("tlog-play %r: exit %d: %r" % (args, r.returncode, r.stderr))
    return r.stdout


def expected_who(account):
    """The user running the command: the account, or the audit login
    user behind sudo or su (getlogin(), as the command reads it)."""
    try:
        login = os.getlogin()
    except OSError:
        login = ""
    return account if not login or login == account else "%s (as %s)" % (login, account)


def start_event(host, rec, serial, rule):
    ev = {"serial": serial, "time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "host": host,
          "ses": 900 + serial, "rec": rec, "type": "USER_START", "op": "tlog-session-start", "acct": "root"}
    if rule:
        ev["rule"] = rule
    return json.dumps(ev).encode() + b"\n"


def main():
    d = tempfile.mkdtemp(prefix="tlog-retention-test.")
    try:
        recs = {name: record(d, name, 40) for name in ("keepme", "dropme", "heldme")}
        archive = os.path.join(d, "archive")
        os.mkdir(archive, 0o700)
        conf = os.path.join(d, "server.conf")
        with open(conf, "w") as f:
            json.dump({"database": os.path.join(d, "db.sqlite"),
                       "retention": {"short": {"days": 1},
                                     "keep": {"days": 7, "action": "archive", "archive_dir": archive}},
                       "retention_default": "short", "retention_rules": {"ops": "keep"}}, f)
        p, base = start_server(d)
        try:
            events = b""
            for i, (name, (log, msgs, rec)) in enumerate(recs.items()):
                status, body = post(base + "/api/v1/ingest", b"\n".join(msgs) + b"\n")
                if status != 200:
                    fail("ingest %s: %d %r" % (name, status, body))
                host = json.loads(msgs[0])["host"]
                events += start_event(host, rec, i + 1, "ops" if name == "keepme" else
                                      "not-configured" if name == "heldme" else "")
            status, body = post(base + "/api/v1/audit", events)
            if status != 200:
                fail("audit: %d %r" % (status, body))
            wait_indexed(base, {rec: len(msgs) for _, msgs, rec in recs.values()})
            got = sessions(base, text="dropme line 39")
            if list(got) != [recs["dropme"][2]]:
                fail("screen text of dropme not found before the purge: %r" % list(got))
        finally:
            p.terminate()
            p.wait(timeout=60)
        host = json.loads(recs["dropme"][1][0])["host"]
        server_cmd(conf, "hold", "set", "--rec", recs["heldme"][2], "--host", host, "--reason", "case 7")
        out, _ = server_cmd(conf, "hold", "list")
        if recs["heldme"][2] not in out or "case 7" not in out:
            fail("hold list: %r" % out)
        now = int(time.time())

        # A dry run past the short class's limit: says, changes nothing.
        out, _ = server_cmd(conf, "retention", "run", "--now", str(now + 2 * 86400), "--dry-run", "--json")
        rep = json.loads(out)
        outcomes = {i["rec"]: i["outcome"] for i in rep["items"]}
        if outcomes != {recs["dropme"][2]: "would purge", recs["heldme"][2]: "held"}:
            fail("dry run: %r" % outcomes)
        out, _ = server_cmd(conf, "retention", "tombstones", "--json")
        if out.strip():
            fail("a dry run left tombstones: %r" % out)

        # The run: the expired one purged, the held one kept.
        out, _ = server_cmd(conf, "retention", "run", "--now", str(now + 2 * 86400), "--json")
        outcomes = {i["rec"]: i["outcome"] for i in json.loads(out)["items"]}
        if outcomes != {recs["dropme"][2]: "purged", recs["heldme"][2]: "held"}:
            fail("run: %r" % outcomes)

        # Past the keep class's limit: archived, then purged.
        out, _ = server_cmd(conf, "retention", "run", "--now", str(now + 8 * 86400), "--json")
        rep = json.loads(out)
        outcomes = {i["rec"]: i["outcome"] for i in rep["items"]}
        if outcomes != {recs["keepme"][2]: "archived", recs["heldme"][2]: "held"}:
            fail("archive run: %r" % outcomes)
        with open(rep["manifest"]) as f:
            manifest = json.load(f)
        [entry] = manifest["recordings"]
        path = os.path.join(os.path.dirname(rep["manifest"]), entry["file"])
        with open(path, "rb") as f:
            z = f.read()
        if hashlib.sha256(z).hexdigest() != entry["file_sha256"] or len(z) != entry["file_bytes"]:
            fail("the archive file does not match its manifest entry")
        log, msgs, rec = recs["keepme"]
        plain = subprocess.run(["zstdcat", path], capture_output=True, check=True, timeout=60).stdout
        if plain != b"".join(m + b"\n" for m in msgs):
            fail("the archive is not the messages as stored")
        if hashlib.sha256(plain).hexdigest() != entry["json_sha256"] or entry["messages"] != len(msgs):
            fail("the manifest's hash or count of the messages is wrong: %r" % entry)
        if export_text(["-r", "file", "-i", "-"], stdin=plain) != export_text(["-i", log]):
            fail("the archive does not play as the original")

        # Tombstones: who, what, the messages' hashes.
        out, _ = server_cmd(conf, "retention", "tombstones", "--json")
        stones = {t["rec"]: t for t in map(json.loads, out.splitlines())}
        if set(stones) != {recs["dropme"][2], recs["keepme"][2]}:
            fail("tombstones: %r" % list(stones))
        for name in ("dropme", "keepme"):
            _, msgs, rec = recs[name]
            t = stones[rec]
            if t["sha256"] != hashlib.sha256(b"".join(m + b"\n" for m in msgs)).hexdigest():
                fail("tombstone of %s: wrong hash" % name)
            if t["messages"] != len(msgs) or not t["account"] or t["who"] != expected_who(t["account"]):
                fail("tombstone of %s: %r" % (name, t))
        if stones[recs["keepme"][2]]["archive_sha256"] != entry["file_sha256"]:
            fail("the archived recording's tombstone does not name the archive's hash")

        # The server again: the purged recordings are gone, screen text too.
        p, base = start_server(d)
        try:
            got = sessions(base)
            if list(got) != [recs["heldme"][2]]:
                fail("sessions after the purge: %r" % list(got))
            if sessions(base, text="dropme line 39"):
                fail("the purged recording's screen text is still found")
            if list(sessions(base, text="heldme line 39")) != [recs["heldme"][2]]:
                fail("the held recording's screen text is not found")
            status, _ = get(base + "/api/v1/sessions/%s/messages" % urllib.parse.quote(recs["dropme"][2]))
            if status != 404:
                fail("messages of a purged recording: %d" % status)
        finally:
            p.terminate()
            p.wait(timeout=60)

        # A bad retention setting stops the command, naming the key.
        bad = os.path.join(d, "bad.conf")
        with open(bad, "w") as f:
            f.write('{"database": "%s",\n "retention": {"x": {"days": "3"}}}' % os.path.join(d, "db.sqlite"))
        _, err = server_cmd(bad, "retention", "run", expect=1)
        if "retention.x.days" not in err or bad not in err:
            fail("bad configuration: %r" % err)
        print("ok")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
