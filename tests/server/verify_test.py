"""tlog-server verify and GET /api/v1/sessions/REC/verify, with signed
checkpoints: recordings by our tlog-rec are ingested by a server holding a
checkpoint key (its checkpoints at each clean shutdown, logged on stderr)
and verify intact (exit 0); then, with the server stopped, the SQLite
database is changed directly as someone with write access to it could: a
message's bytes altered (its batch decompressed, changed and compressed
again), a message deleted, the last message deleted, two messages' ids
swapped, a recording's messages deleted, a recording deleted with its
sessions row, a checkpoint altered, the last checkpoint deleted.
`tlog-server verify` exits 1 and names each recording, message and
checkpoint; the untouched recording stays intact, alone it exits 0; the
API route gives the same verdicts. A private key readable by others stops
the server.
Last, a retention run with the checkpoint key archives a recording a
checkpoint covers: verify exits 0 naming it purged by retention, and the
archive manifest's signed tombstone checks with openssl pkeyutl; a
recording deleted by SQL behind a tombstone written by hand: exit 1,
naming the deletion and the unsigned tombstone.
Environment: TLOG_SERVER, TLOG_REC."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import selectors

from server_play_test import TLOG_SERVER, fail, post, record
from tlogtest import viewer as viewers


def start_server(d):
    """tlog-server with the test's configuration (its checkpoint key);
    stderr (the request log, the checkpoints' lines) to server.log."""
    with open(os.path.join(d, "server.log"), "ab") as log:
        p = subprocess.Popen([TLOG_SERVER, "--config", os.path.join(d, "server.conf"), "--plain-http", "--listen",
                              "127.0.0.1:0"] + viewers.server_args(d), stdout=subprocess.PIPE, stderr=log)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=60):
        p.kill()
        fail("tlog-server did not say where it listens: %r" % open(os.path.join(d, "server.log")).read())
    line = p.stdout.readline().decode()
    if not line.startswith("listening on 127.0.0.1:"):
        p.kill()
        fail("unexpected first line from tlog-server: %r" % line)
    base = "http://" + line.split()[-1]
    # The test reads as an auditor who may view everything.
    viewers.install(TLOG_SERVER, "", base, config=os.path.join(d, "server.conf"))
    return p, base


def logged_checkpoints(d):
    out = []
    with open(os.path.join(d, "server.log")) as f:
        for line in f:
            if line.startswith('{"checkpoint"'):
                out.append(json.loads(line))
    return out


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


CONF = None


def verify(db, *args):
    r = subprocess.run([TLOG_SERVER, "verify", "--config", CONF, "--database", db, "--json", *args],
                       capture_output=True, timeout=120)
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    if not lines or "checked" not in lines[-1]:
        fail("verify %r: no summary (%d): %r %r" % (args, r.returncode, r.stdout, r.stderr))
    recs = {x["rec"]: x for x in lines[:-1] if "rec" in x}
    problems = [x["checkpoint_problem"] for x in lines[:-1] if "checkpoint_problem" in x]
    return r.returncode, recs, lines[-1], problems


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


def tlog_server(*args, expect=0):
    r = subprocess.run([TLOG_SERVER, *args, "--config", CONF], capture_output=True, text=True, timeout=300)
    if r.returncode != expect:
        fail("tlog-server %s: exit %d, expected %d: %r %r" % (" ".join(args), r.returncode, expect, r.stdout,
                                                             r.stderr))
    return r.stdout


def signed_purge():
    """A retention run with the checkpoint key archives a recording a
    checkpoint covers: verify exits 0 naming it purged, its manifest's
    signed tombstone checks with openssl; then another recording deleted
    by SQL with a tombstone written by hand: exit 1, naming both."""
    global CONF
    d = tempfile.mkdtemp(prefix="tlog-server-verify-purge.")
    server = None
    try:
        db = os.path.join(d, "db.sqlite")
        key = os.path.join(d, "checkpoint.key")
        subprocess.run([TLOG_SERVER, "keygen", "--out", key], capture_output=True, check=True, timeout=60)
        archive = os.path.join(d, "archive")
        os.mkdir(archive, 0o700)
        CONF = os.path.join(d, "server.conf")
        with open(CONF, "w") as f:
            json.dump({"database": db, "checkpoint_key": key, "checkpoint_interval": 3600,
                       "retention": {"short": {"days": 1, "action": "archive", "archive_dir": archive}},
                       "retention_default": "short"}, f)
        recs = {}
        for name in ("purged", "forged", "kept"):
            _, msgs, rec = record(d, name, 40)
            recs[name] = (rec, msgs)
        server, base = start_server(d)
        for name, (rec, msgs) in recs.items():
            status, r = post(base + "/api/v1/ingest", b"\n".join(msgs) + b"\n")
            if status != 200 or r["created"] != len(msgs):
                fail("ingest of %s: %d %r" % (name, status, r))
        stop(server)  # its checkpoint covers the three
        server = None
        host = json.loads(recs["forged"][1][0])["host"]
        for name in ("forged", "kept"):
            tlog_server("hold", "set", "--rec", recs[name][0], "--host", host, "--reason", "case 9")
        later = str(int(time.time()) + 3 * 86400)
        out = json.loads(tlog_server("retention", "run", "--now", later, "--json"))
        outcomes = {i["rec"]: i["outcome"] for i in out["items"]}
        if outcomes != {recs["purged"][0]: "archived", recs["forged"][0]: "held", recs["kept"][0]: "held"}:
            fail("retention run: %r" % outcomes)
        [stone] = [json.loads(x) for x in tlog_server("retention", "tombstones", "--json").splitlines()]
        if not stone["signature"] or stone["rec_count"] != len(recs["purged"][1]):
            fail("the tombstone is not signed: %r" % stone)

        # The archive's manifest: the signed statement, checked offline.
        with open(out["manifest"]) as f:
            [entry] = json.load(f)["recordings"]
        with open(os.path.join(d, "tombstone.statement"), "w") as f:
            f.write(entry["tombstone_statement"])
        with open(os.path.join(d, "tombstone.sig"), "wb") as f:
            f.write(bytes.fromhex(entry["tombstone_signature"]))
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", key + ".pub", "-rawin", "-in",
                            "tombstone.statement", "-sigfile", "tombstone.sig"], cwd=d, capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0 or "Signature Verified Successfully" not in r.stdout:
            fail("openssl pkeyutl -verify of the manifest's tombstone: %d %r %r" % (r.returncode, r.stdout, r.stderr))
        if '\nrec "%s"\n' % recs["purged"][0] not in entry["tombstone_statement"]:
            fail("the statement does not name the recording: %r" % entry["tombstone_statement"])

        rc, got, summary, problems = verify(db)
        x = got.get(recs["purged"][0])
        if rc != 0 or summary["checked"] != 3 or summary["intact"] != 2 or summary["purged"] != 1 \
                or summary["not_intact"] != 0 or problems:
            fail("after a signed purge: exit %d %r %r %r" % (rc, summary, got, problems))
        if x["verdict"] != "purged" or x["problems"] or x["tombstone"] != stone["id"] or \
                not x["label"].startswith("purged by retention (tombstone %d, %s, " % (stone["id"], stone["who"])):
            fail("the purged recording: %r" % x)
        r = subprocess.run([TLOG_SERVER, "verify", "--config", CONF], capture_output=True, text=True, timeout=120)
        if r.returncode != 0 or "%s: purged by retention (tombstone %d" % (recs["purged"][0], stone["id"]) \
                not in r.stdout or "3 recordings checked, 2 intact, 0 not intact, 1 purged by retention" \
                not in r.stdout:
            fail("verify, text, after a signed purge: %d %r" % (r.returncode, r.stdout))

        # Someone with the database only deletes a recording and writes a
        # tombstone for it.
        rec = recs["forged"][0]
        con = sqlite3.connect(db)
        sid = sid_of(con, rec)
        for sql in ("DELETE FROM message_ids WHERE sid = ?", "DELETE FROM recording_keys WHERE sid = ?"):
            con.execute(sql, (sid,))
        for table in ("sessions", "session_index", "checkpoint_heads", "session_info", "retention_class"):
            con.execute("DELETE FROM %s WHERE rec = ?" % table, (rec,))
        cur = con.execute(
            "INSERT INTO retention_tombstones (run_ms, purged_ms, who, account, host, rec, usr, first_ms, last_ms, "
            "messages, bytes, sha256, action, archive_file, archive_sha256, class, reason) VALUES (?, ?, 'timer', "
            "'tlog-server', ?, ?, 'root', 1, 2, ?, 100, ?, 'purge', '', '', 'short', 'age')",
            (int(later) * 1000, int(later) * 1000, host, rec, len(recs["forged"][1]), stone["sha256"]))
        fake = cur.lastrowid
        con.commit()
        con.close()
        rc, got, summary, problems = verify(db)
        x = got.get(rec)
        if rc != 1 or summary["purged"] != 1 or summary["not_intact"] != 1 or problems:
            fail("after a forged tombstone: exit %d %r %r" % (rc, summary, problems))
        if x is None or x["verdict"] != "deleted" or \
                not any("recording deleted: checkpoint 1 covered %d messages" % len(recs["forged"][1]) in p
                        for p in x["problems"]) or \
                not any(p.startswith("tombstone %d: not signed by the checkpoint key" % fake) for p in x["problems"]):
            fail("the recording deleted behind a forged tombstone: %r" % x)
        if got[recs["purged"][0]]["verdict"] != "purged":
            fail("the purged recording after the forgery: %r" % got[recs["purged"][0]])
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    global CONF
    d = tempfile.mkdtemp(prefix="tlog-server-verify.")
    server = None
    try:
        db = os.path.join(d, "db.sqlite")
        key = os.path.join(d, "checkpoint.key")
        r = subprocess.run([TLOG_SERVER, "keygen", "--out", key], capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or oct(os.stat(key).st_mode & 0o777) != "0o600" or not os.path.exists(key + ".pub"):
            fail("keygen: %d %r %r" % (r.returncode, r.stdout, r.stderr))
        CONF = os.path.join(d, "server.conf")
        with open(CONF, "w") as f:
            json.dump({"database": db, "checkpoint_key": key, "checkpoint_interval": 3600}, f)

        # A private key others may read stops the server, naming it.
        os.chmod(key, 0o644)
        r = subprocess.run([TLOG_SERVER, "--config", CONF, "--plain-http", "--listen", "127.0.0.1:0"], capture_output=True,
                           text=True, timeout=60)
        if r.returncode == 0 or key not in r.stderr or "0644" not in r.stderr:
            fail("a readable private key: exit %d %r" % (r.returncode, r.stderr))
        os.chmod(key, 0o600)

        recs = {}
        names = ("alter", "delete", "tail", "swap", "gone", "purge", "keep")
        for name in names:
            _, msgs, rec = record(d, name, 60)
            recs[name] = (rec, msgs)
        server, base = start_server(d)
        for name in names[:-1]:
            rec, msgs = recs[name]
            status, r = post(base + "/api/v1/ingest", b"\n".join(msgs) + b"\n")
            if status != 200 or r["created"] != len(msgs):
                fail("ingest of %s: %d %r" % (name, status, r))
        stop(server)
        # A second checkpoint: only the recording that came after.
        server, base = start_server(d)
        rec, msgs = recs["keep"]
        status, r = post(base + "/api/v1/ingest", b"\n".join(msgs) + b"\n")
        if status != 200 or r["created"] != len(msgs):
            fail("ingest of keep: %d %r" % (status, r))
        status, r = get(base + "/api/v1/sessions/%s/verify" % recs["keep"][0])
        if status != 200 or r["verdict"] != "intact" or not r["intact"] or r["messages"] != len(recs["keep"][1]) \
                or r["checkpoint"] is not None:
            fail("GET verify of an untouched recording no checkpoint covers yet: %d %r" % (status, r))
        status, r = get(base + "/api/v1/sessions/%s/verify" % recs["alter"][0])
        n = len(recs["alter"][1])
        if status != 200 or not r["intact"] or r["checkpoint"] != {"seq": 1, "covered": n, "last_id": n}:
            fail("GET verify of a recording checkpoint 1 covers: %d %r" % (status, r))
        status, r = get(base + "/api/v1/sessions/no-such-rec/verify")
        if status != 404 or "no-such-rec" not in r["error"]:
            fail("GET verify of an unknown recording: %d %r" % (status, r))
        stop(server)
        server = None
        logged = logged_checkpoints(d)
        if [(c["checkpoint"], c["entries"]) for c in logged] != [(1, 6), (2, 1)]:
            fail("checkpoints logged: %r" % logged)
        last = "%d:%s" % (logged[-1]["checkpoint"], logged[-1]["hash"])

        rc, got, summary, problems = verify(db, "--last-checkpoint", last)
        if rc != 0 or summary["checked"] != 7 or summary["intact"] != 7 or summary["checkpoints"] != 2 or problems:
            fail("untouched database: exit %d, %r %r %r" % (rc, summary, got, problems))
        if any(not x["intact"] or x["messages"] != len(recs[n][1]) for n, x in
               ((n, got[recs[n][0]]) for n in recs)):
            fail("untouched database, per recording: %r" % got)

        con = sqlite3.connect(db)
        alter_message(con, recs["alter"][0], 7)
        sid = sid_of(con, recs["delete"][0])
        con.execute("DELETE FROM message_ids WHERE sid = ? AND id = 5", (sid,))
        sid = sid_of(con, recs["tail"][0])
        con.execute("DELETE FROM message_ids WHERE sid = ? AND id = ?", (sid, len(recs["tail"][1])))
        sid = sid_of(con, recs["swap"][0])
        con.execute("UPDATE message_ids SET id = -1 WHERE sid = ? AND id = 3", (sid,))
        con.execute("UPDATE message_ids SET id = 3 WHERE sid = ? AND id = 4", (sid,))
        con.execute("UPDATE message_ids SET id = 4 WHERE sid = ? AND id = -1", (sid,))
        sid = sid_of(con, recs["gone"][0])
        con.execute("DELETE FROM message_ids WHERE sid = ?", (sid,))
        # Every trace of a recording but the checkpoint's entry.
        sid = sid_of(con, recs["purge"][0])
        for sql in ("DELETE FROM message_ids WHERE sid = ?", "DELETE FROM message_batches WHERE sid = ?",
                    "DELETE FROM recording_keys WHERE sid = ?"):
            con.execute(sql, (sid,))
        for table in ("sessions", "session_index", "checkpoint_heads", "session_info"):
            con.execute("DELETE FROM %s WHERE rec = ?" % table, (recs["purge"][0],))
        con.commit()
        con.close()

        rc, got, summary, problems = verify(db, "--last-checkpoint", last)
        if rc != 1 or summary["checked"] != 7 or summary["intact"] != 1 or summary["ok"] or problems:
            fail("tampered database: exit %d, %r %r %r" % (rc, summary, got, problems))
        n_tail = len(recs["tail"][1])
        expect = {
            "alter": ("broken", 7, ["message 7", "checkpoint 1 covered %d messages" % len(recs["alter"][1]),
                                    "messages altered or reordered"]),
            "delete": ("broken", 6, ["messages 5..5 are missing", "messages deleted: checkpoint 1"]),
            "tail": ("broken", None, ["%d messages stored (ids 1 to %d), %d read back" % (n_tail, n_tail, n_tail - 1),
                                      "messages deleted: checkpoint 1 covered %d messages" % n_tail]),
            "swap": ("broken", 4, ["message stored as 3 carries id 4", "messages altered or reordered"]),
            "gone": ("broken", None, ["no stored message", "recording deleted: checkpoint 1"]),
            "purge": ("deleted", None, ["recording deleted: checkpoint 1 covered %d messages" %
                                        len(recs["purge"][1])]),
        }
        for name, (verdict, bad_id, texts) in expect.items():
            x = got.get(recs[name][0])
            if x is None or x["verdict"] != verdict or x["intact"] or \
                    not all(any(t in p for p in x["problems"]) for t in texts):
                fail("%s: expected %s naming %r: %r" % (name, verdict, texts, x))
            if bad_id is not None and x["first_bad_id"] != bad_id:
                fail("%s: expected the first bad message %d: %r" % (name, bad_id, x))
        if not got[recs["keep"][0]]["intact"]:
            fail("the untouched recording: %r" % got[recs["keep"][0]])

        # One recording, in the text form: the exit status is its own.
        rc, _, summary, _ = verify(db, "--rec", recs["keep"][0])
        if rc != 0 or summary["checked"] != 1:
            fail("--rec of the untouched recording: exit %d %r" % (rc, summary))
        r = subprocess.run([TLOG_SERVER, "verify", "--config", CONF, "--rec", recs["alter"][0]],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 1 or recs["alter"][0] not in r.stdout or "message 7" not in r.stdout \
                or "0 intact, 1 not intact" not in r.stdout:
            fail("--rec of the altered recording: exit %d %r" % (r.returncode, r.stdout))
        # A time range holding no recording: the recordings a checkpoint
        # covers that are gone are still named (their time is gone too).
        rc, got, summary, _ = verify(db, "--to", "1000")
        if rc != 1 or sorted(got) != sorted([recs["gone"][0], recs["purge"][0]]) or summary["intact"] != 0:
            fail("a range before every recording: exit %d %r %r" % (rc, summary, got))
        rc, got, summary, _ = verify(db, "--to", "1000", "--host", "elsewhere")
        if rc != 1 or summary["checked"] != 0:
            fail("an empty range: exit %d %r" % (rc, summary))
        r = subprocess.run([TLOG_SERVER, "verify", "--database", db, "--from", "yesterday"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 2 or "--from" not in r.stderr:
            fail("a bad --from: exit %d %r" % (r.returncode, r.stderr))

        # The API gives the same verdict (a server without the key: no
        # checkpoint is made that would cover the changes).
        with open(CONF, "w") as f:
            json.dump({"database": db}, f)
        server, base = start_server(d)
        status, r = get(base + "/api/v1/sessions/%s/verify" % recs["swap"][0])
        if status != 200 or r["verdict"] != "broken" or r["first_bad_id"] != 4 or "checkpoint" in r:
            fail("GET verify of the reordered recording: %d %r" % (status, r))
        stop(server)
        server = None
        with open(CONF, "w") as f:
            json.dump({"database": db, "checkpoint_key": key}, f)

        # The checkpoints: one altered, the last one deleted.
        con = sqlite3.connect(db)
        con.execute("UPDATE checkpoints SET time_ms = time_ms + 1 WHERE seq = 1")
        con.execute("DELETE FROM checkpoints WHERE seq = 2")
        con.commit()
        con.close()
        rc, _, summary, problems = verify(db, "--rec", recs["keep"][0])
        if rc != 1 or problems != ["checkpoint 1: the signature does not verify: the row was altered"]:
            fail("an altered checkpoint: exit %d %r %r" % (rc, summary, problems))
        rc, _, summary, problems = verify(db, "--rec", recs["keep"][0], "--last-checkpoint", last)
        if rc != 1 or len(problems) != 2 or "checkpoint 2 (known from outside the database) is not stored" \
                not in problems[1]:
            fail("the last checkpoint deleted: exit %d %r %r" % (rc, summary, problems))
        signed_purge()
        print("ok")
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
