"""Export, legal holds and retention over the API, as a viewer with every
right: a recording by our tlog-rec exported over HTTP once a checkpoint
covers it, the archive unpacked with tar and checked by
tlog-evidence-verify with only the public key, its members read by
Python's tarfile; a hostile recording id's archive and download names
made safe; two recordings past their
class's limit, one held over the API: dry run and run over the API purge
the other and keep the held one, the tombstones route names the purged
one and the viewer; the hold cleared over the API, the next run purges it;
each request in the access log (export, hold, purge).
On SQLite, or with the argument `postgres` on a private PostgreSQL cluster.
Environment: TLOG_SERVER, TLOG_REC, TLOG_EVIDENCE_VERIFY."""
import http.client
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse

from evidence_test import run_verify
from index_test import wait_indexed
from server_play_test import TLOG_SERVER, fail, post, record
from tlogtest import viewer as viewers
from verify_test import start_server, stop

FILES = ["SHA256SUMS", "audit.jsonl", "checkpoint.json", "checkpoint.sig", "checkpoint.statement", "entry.json",
         "key-fingerprint.txt", "manifest.json", "messages.jsonl"]


def old_msgs(host, rec, when):
    """Three messages of a recording that ended at `when` (seconds)."""
    out = []
    for i in (1, 2, 3):
        m = {"ver": "2.3", "host": host, "rec": rec, "user": "olduser", "term": "xterm", "session": 7, "id": i,
             "pos": (i - 1) * 1000, "time": when - 3 + i, "timing": ">5", "in_txt": "", "in_bin": [],
             "out_txt": "old %d" % i, "out_bin": []}
        out.append(json.dumps(m, separators=(",", ":")).encode())
    return out


class Api:
    def __init__(self, base, token):
        self.hostport = base.split("//")[1]
        self.token = token

    def request(self, method, path, body=None):
        c = http.client.HTTPConnection(self.hostport, timeout=120)
        try:
            data = json.dumps(body).encode() if body is not None else None
            c.request(method, path, body=data, headers={"Authorization": "Bearer " + self.token})
            r = c.getresponse()
            return r.status, r.headers, r.read()
        finally:
            c.close()

    def json(self, method, path, body=None, want=200):
        status, _, data = self.request(method, path, body)
        if status != want:
            fail("%s %s: %d %r (expected %d)" % (method, path, status, data, want))
        return json.loads(data)


def export(api, rec):
    """The export, once a checkpoint covers the recording (409 until then)."""
    deadline = time.time() + 120
    while True:
        status, headers, tar = api.request("GET", "/api/v1/sessions/%s/export" % urllib.parse.quote(rec, safe=""))
        if status == 200:
            return status, headers, tar
        if status != 409 or time.time() > deadline:
            fail("export of %r: %d %r" % (rec, status, tar[:300]))
        time.sleep(0.2)


def main():
    d = tempfile.mkdtemp(prefix="tlog-server-admin-api.")
    try:
        if sys.argv[1:] == ["postgres"]:
            from tlogtest.postgres import Cluster
            with Cluster() as pg:
                pg.psql("CREATE DATABASE tlog")
                run(d, pg.spec("tlog"))
        else:
            run(d, os.path.join(d, "db.sqlite"))
        print("ok")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run(d, db):
    server = None
    try:
        key = os.path.join(d, "checkpoint.key")
        subprocess.run([TLOG_SERVER, "keygen", "--out", key], check=True, capture_output=True, timeout=60)
        conf = os.path.join(d, "server.conf")
        with open(conf, "w") as f:
            json.dump({"database": db, "checkpoint_key": key, "checkpoint_interval": 1,
                       "retention": {"short": {"days": 1}}, "retention_default": "short"}, f)
        _, msgs, rec = record(d, "evid", 40)
        when = int(time.time()) - 3 * 86400
        drop = old_msgs("old1.example.com", "old-drop", when)
        held = old_msgs("old1.example.com", "old-held", when)
        # A recording id chosen by a hostile sender: quotes, dots, angle
        # brackets and a header's separators must not reach the archive's
        # names or the Content-Disposition header.
        evil_rec = 'ev"il..;<x>\\ \tname'
        evil = old_msgs("old2.example.com", evil_rec, int(time.time()))
        server, base = start_server(d)
        api = Api(base, viewers.issue(TLOG_SERVER, db, config=conf))
        for m in (msgs, drop, held, evil):
            status, r = post(base + "/api/v1/ingest", b"\n".join(m) + b"\n")
            if status != 200 or r["created"] != len(m):
                fail("ingest: %d %r" % (status, r))
        wait_indexed(base, {rec: len(msgs), "old-drop": 3, "old-held": 3, evil_rec: 3})

        # 1. The export, once a checkpoint covers the recording.
        status, headers, tar = export(api, rec)
        if headers.get("Content-Type") != "application/x-tar" or \
                "tlog-evidence-%s.tar" % rec not in headers.get("Content-Disposition", ""):
            fail("export headers: %r" % dict(headers))
        away = os.path.join(d, "away")
        os.mkdir(away)
        r = subprocess.run(["tar", "-xf", "-", "-C", away], input=tar, capture_output=True, timeout=60)
        if r.returncode != 0:
            fail("tar -x: %r" % r.stderr)
        ev = os.path.join(away, "tlog-evidence-" + rec)
        if sorted(os.listdir(ev)) != FILES:
            fail("the archive's files: %r" % sorted(os.listdir(ev)))
        with open(os.path.join(ev, "messages.jsonl"), "rb") as f:
            if f.read() != b"\n".join(msgs) + b"\n":
                fail("the exported messages are not the recording's bytes")
        pub = os.path.join(away, "server.pub")
        shutil.copy(key + ".pub", pub)
        rc, text = run_verify(ev, pub)
        if rc != 0 or "evidence verified" not in text:
            fail("tlog-evidence-verify of the exported archive: %d %r" % (rc, text))
        with tarfile.open(fileobj=io.BytesIO(tar)) as t:
            members = t.getmembers()
        if [m.name for m in members] != ["tlog-evidence-" + rec] + ["tlog-evidence-%s/%s" % (rec, f) for f in FILES] \
                or not members[0].isdir() or not all(m.isfile() and m.mode == 0o644 for m in members[1:]):
            fail("the archive's members: %r" % [(m.name, m.type, oct(m.mode)) for m in members])
        status, headers, etar = export(api, evil_rec)
        with tarfile.open(fileobj=io.BytesIO(etar)) as t:
            names = t.getnames()
        safe = "tlog-evidence-ev_il..__x____name"
        if names[0] != safe or not all(n.startswith(safe + "/") for n in names[1:]) or \
                'filename="%s.tar"' % safe not in headers.get("Content-Disposition", ""):
            fail("a hostile id's archive: %r %r" % (names, headers.get("Content-Disposition")))
        # Not stored: answered as the other recording routes answer it.
        nothing = api.request("GET", "/api/v1/sessions/no-such-rec/export")
        like = api.request("GET", "/api/v1/sessions/no-such-rec/messages")
        if (nothing[0], nothing[2]) != (like[0], like[2]) or nothing[0] != 404:
            fail("export of a recording not stored: %r, messages: %r" % (nothing, like))

        # 2. A hold over the API.
        bad = api.request("POST", "/api/v1/holds", {"rec": "old-held"})
        if bad[0] != 400 or b"reason" not in bad[2]:
            fail("a hold without reason: %r" % (bad,))
        hid = api.json("POST", "/api/v1/holds", {"rec": "old-held", "host": "old1.example.com", "reason": "case 9"},
                       want=201)["id"]
        [h] = api.json("GET", "/api/v1/holds")["holds"]
        if h["id"] != hid or h["rec"] != "old-held" or h["set_by"] != viewers.VIEWER or h["reason"] != "case 9":
            fail("holds: %r" % h)

        # 3. Retention runs over the API, with the server's clock.
        rep = api.json("POST", "/api/v1/retention/run", {"dry_run": True})
        outcomes = {i["rec"]: i["outcome"] for i in rep["items"]}
        if not rep["dry_run"] or outcomes != {"old-drop": "would purge", "old-held": "held"}:
            fail("dry run: %r" % rep)
        if api.request("GET", "/api/v1/retention/tombstones")[2] != b"":
            fail("a dry run left tombstones")
        rep = api.json("POST", "/api/v1/retention/run", {"dry_run": False})
        outcomes = {i["rec"]: i["outcome"] for i in rep["items"]}
        if rep["dry_run"] or outcomes != {"old-drop": "purged", "old-held": "held"}:
            fail("run: %r" % rep)
        status, headers, body = api.request("GET", "/api/v1/retention/tombstones")
        stones = [json.loads(l) for l in body.splitlines()]
        if status != 200 or [t["rec"] for t in stones] != ["old-drop"] or stones[0]["who"] != viewers.VIEWER or \
                stones[0]["messages"] != 3:
            fail("tombstones: %d %r" % (status, stones))
        # The server holds the checkpoints' key: a run over the API signs its
        # tombstones as the command's does (verify tells the purge from a
        # deletion).
        if not stones[0].get("signature") or not stones[0].get("key_id"):
            fail("a tombstone of a run over the API is not signed: %r" % stones[0])
        if api.request("GET", "/api/v1/sessions/old-drop/messages")[0] != 404:
            fail("the purged recording is still served")
        # The hold cleared over the API: the next run purges the recording.
        api.json("POST", "/api/v1/holds/%d/clear" % hid, {"reason": "case 9 closed"})
        if api.json("GET", "/api/v1/holds")["holds"]:
            fail("the hold is still in force")
        [h] = api.json("GET", "/api/v1/holds?all=true")["holds"]
        if h["cleared_by"] != viewers.VIEWER or h["clear_reason"] != "case 9 closed":
            fail("the cleared hold: %r" % h)
        if api.request("POST", "/api/v1/holds/%d/clear" % hid, {"reason": "again"})[0] != 404:
            fail("a cleared hold cleared again")
        rep = api.json("POST", "/api/v1/retention/run", {})
        if {i["rec"]: i["outcome"] for i in rep["items"]} != {"old-held": "purged"}:
            fail("the run after the hold was cleared: %r" % rep)

        # 4. The access log.
        entries = api.json("GET", "/api/v1/access-log?limit=1000")["entries"]
        seen = {(e["action"], e["route"], e["rec"], e["outcome"]) for e in entries}
        for want in (("export", "/api/v1/sessions/{rec}/export", rec, "ok"),
                     ("export", "/api/v1/sessions/{rec}/export", "no-such-rec", "absent"),
                     ("hold", "/api/v1/holds", "old-held", "ok"),
                     ("hold", "/api/v1/holds/{id}/clear", "old-held", "ok"),
                     ("purge", "/api/v1/retention/run", "", "ok"),
                     ("purge", "/api/v1/retention/tombstones", "", "ok"),
                     ("hold", "/api/v1/holds", "", "status 400")):
            if want not in seen:
                fail("access log: no %r in %r" % (want, sorted(seen)))
        runs = [e for e in entries if e["route"] == "/api/v1/retention/run"]
        if not any({"host": "old1.example.com", "rec": "old-drop", "outcome": "purged"} in e["detail"]["items"]
                   for e in runs):
            fail("the run's access log entry does not name the purged recording: %r" % runs)
        stop(server)
        server = None
    finally:
        if server is not None:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
