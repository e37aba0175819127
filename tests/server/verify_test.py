"""tlog-server verify and GET /api/v1/sessions/REC/verify: recordings by
our tlog-rec are ingested and verify intact (exit 0); then, with the server
stopped, the SQLite database is changed directly as someone with write
access to it could: a message's bytes altered (its batch decompressed,
changed and compressed again), a message deleted, two messages' ids
swapped, a recording's messages deleted. `tlog-server verify` exits 1 and
names each recording and message; the untouched recording stays intact,
alone it exits 0; the API route gives the same verdicts.
Environment: TLOG_SERVER, TLOG_REC."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import urllib.error
import urllib.request

from server_play_test import TLOG_SERVER, fail, post, record, start_server


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def verify(db, *args):
    r = subprocess.run([TLOG_SERVER, "verify", "--database", db, "--json", *args], capture_output=True, timeout=120)
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    if not lines or "checked" not in lines[-1]:
        fail("verify %r: no summary (%d): %r %r" % (args, r.returncode, r.stdout, r.stderr))
    return r.returncode, {x["rec"]: x for x in lines[:-1]}, lines[-1]


def stop(server):
    server.send_signal(signal.SIGTERM)
    if server.wait(timeout=60) != 0:
        fail("tlog-server exited %d" % server.returncode)


def sid_of(con, rec):
    return con.execute("SELECT sid FROM recording_keys WHERE rec = ?", (rec,)).fetchone()[0]


def alter_message(con, rec, msg_id):
    """Changes one letter of message msg_id's text inside its stored batch
    (the same length, so the batch's sizes still add up)."""
    sid = sid_of(con, rec)
    bid, = con.execute("SELECT bid FROM message_ids WHERE sid = ? AND id = ?", (sid, msg_id)).fetchone()
    zst, size = con.execute("SELECT json_zstd, json_size FROM message_batches WHERE bid = ?", (bid,)).fetchone()
    raw = subprocess.run(["zstd", "-dc"], input=zst, capture_output=True, check=True, timeout=60).stdout
    if len(raw) != size:
        fail("batch %d: %d bytes, %d stored" % (bid, len(raw), size))
    at = raw.find(b'"id":%d,' % msg_id)
    hit = raw.find(b"line", at)
    if at < 0 or hit < 0:
        fail("message %d not found in its batch" % msg_id)
    raw = raw[:hit] + b"LINE" + raw[hit + 4:]
    packed = subprocess.run(["zstd", "-c", "-q"], input=raw, capture_output=True, check=True, timeout=60).stdout
    con.execute("UPDATE message_batches SET json_zstd = ? WHERE bid = ?", (packed, bid))


def main():
    d = tempfile.mkdtemp(prefix="tlog-server-verify.")
    server = None
    try:
        recs = {}
        for name in ("alter", "delete", "swap", "gone", "keep"):
            _, msgs, rec = record(d, name, 60)
            recs[name] = (rec, msgs)
        server, base = start_server(d)
        for name, (rec, msgs) in recs.items():
            status, r = post(base + "/api/v1/ingest", b"\n".join(msgs) + b"\n")
            if status != 200 or r["created"] != len(msgs):
                fail("ingest of %s: %d %r" % (name, status, r))
        status, r = get(base + "/api/v1/sessions/%s/verify" % recs["keep"][0])
        if status != 200 or r["verdict"] != "intact" or not r["intact"] or r["messages"] != len(recs["keep"][1]):
            fail("GET verify of an untouched recording: %d %r" % (status, r))
        status, r = get(base + "/api/v1/sessions/no-such-rec/verify")
        if status != 404 or "no-such-rec" not in r["error"]:
            fail("GET verify of an unknown recording: %d %r" % (status, r))
        stop(server)
        server = None
        db = os.path.join(d, "db.sqlite")

        rc, got, summary = verify(db)
        if rc != 0 or summary["checked"] != 5 or summary["intact"] != 5:
            fail("untouched database: exit %d, %r %r" % (rc, summary, got))
        if any(not x["intact"] or x["messages"] != len(recs[n][1]) for n, x in
               ((n, got[recs[n][0]]) for n in recs)):
            fail("untouched database, per recording: %r" % got)

        con = sqlite3.connect(db)
        alter_message(con, recs["alter"][0], 7)
        sid = sid_of(con, recs["delete"][0])
        con.execute("DELETE FROM message_ids WHERE sid = ? AND id = 5", (sid,))
        sid = sid_of(con, recs["swap"][0])
        con.execute("UPDATE message_ids SET id = -1 WHERE sid = ? AND id = 3", (sid,))
        con.execute("UPDATE message_ids SET id = 3 WHERE sid = ? AND id = 4", (sid,))
        con.execute("UPDATE message_ids SET id = 4 WHERE sid = ? AND id = -1", (sid,))
        sid = sid_of(con, recs["gone"][0])
        con.execute("DELETE FROM message_ids WHERE sid = ?", (sid,))
        con.commit()
        con.close()

        rc, got, summary = verify(db)
        if rc != 1 or summary["checked"] != 5 or summary["intact"] != 1 or summary["ok"]:
            fail("tampered database: exit %d, %r %r" % (rc, summary, got))
        expect = {
            "alter": (7, "message 7"),
            "delete": (6, "messages 5..5 are missing"),
            "swap": (4, "message stored as 3 carries id 4"),
            "gone": (None, "no stored message"),
        }
        for name, (bad_id, text) in expect.items():
            x = got[recs[name][0]]
            if x["verdict"] != "broken" or x["intact"] or not any(text in p for p in x["problems"]):
                fail("%s: expected broken naming %r: %r" % (name, text, x))
            if bad_id is not None and x["first_bad_id"] != bad_id:
                fail("%s: expected the first bad message %d: %r" % (name, bad_id, x))
        if not got[recs["keep"][0]]["intact"]:
            fail("the untouched recording: %r" % got[recs["keep"][0]])

        # One recording, in the text form: the exit status is its own.
        rc, _, summary = verify(db, "--rec", recs["keep"][0])
        if rc != 0 or summary["checked"] != 1:
            fail("--rec of the untouched recording: exit %d %r" % (rc, summary))
        r = subprocess.run([TLOG_SERVER, "verify", "--database", db, "--rec", recs["alter"][0]],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 1 or recs["alter"][0] not in r.stdout or "message 7" not in r.stdout \
                or "0 intact, 1 not intact" not in r.stdout:
            fail("--rec of the altered recording: exit %d %r" % (r.returncode, r.stdout))
        # A time range holding none: nothing checked is not a success.
        rc, got, summary = verify(db, "--to", "1000")
        if rc != 1 or summary["checked"] != 0:
            fail("an empty range: exit %d %r" % (rc, summary))
        r = subprocess.run([TLOG_SERVER, "verify", "--database", db, "--from", "yesterday"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 2 or "--from" not in r.stderr:
            fail("a bad --from: exit %d %r" % (r.returncode, r.stderr))

        # The API after a restart gives the same verdict.
        server, base = start_server(d)
        status, r = get(base + "/api/v1/sessions/%s/verify" % recs["swap"][0])
        if status != 200 or r["verdict"] != "broken" or r["first_bad_id"] != 4:
            fail("GET verify of the reordered recording: %d %r" % (status, r))
        stop(server)
        server = None
        print("ok")
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
