"""tlog-server's index through HTTP: a recording by our tlog-rec is
ingested and indexed in the background (integrity verdict in the sessions'
list, filter integrity=), a tampered copy is found broken at its message;
GET .../at gives the keyframe's repaint and the messages after it; GET
.../text and the filter text= find text seen on screen; the index
survives a restart without being made again; a missing key file in the
configuration stops the server naming it.
Environment: TLOG_SERVER, TLOG_REC."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from server_play_test import TLOG_SERVER, fail, post, record, start_server


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def sessions(base, **params):
    status, body = get(base + "/api/v1/sessions?" + urllib.parse.urlencode(params))
    if status != 200:
        fail("sessions %r: %d %r" % (params, status, body))
    return {s["rec"]: s for s in json.loads(body)["sessions"]}


def wait_indexed(base, recs_through):
    """Waits (on the condition, 120 s at most) until each rec is indexed
    through its last id."""
    deadline = time.time() + 120
    while True:
        got = sessions(base)
        if all(r in got and got[r]["integrity"]["indexed_through"] == n for r, n in recs_through.items()):
            return got
        if time.time() > deadline:
            fail("not indexed in 120 s: %r" % {r: got.get(r, {}).get("integrity") for r in recs_through})
        time.sleep(0.1)


def tampered(msgs):
    """One letter of one message's text changed: the JSON and the timing
    stay valid, the MAC does not."""
    out, bad_id = [], None
    for m in msgs:
        o = json.loads(m)
        if bad_id is None and o["id"] > 3 and "line" in o["out_txt"]:
            m = m.replace(b"line", b"LINE", 1)
            bad_id = o["id"]
        out.append(m)
    return out, bad_id


def main():
    d = tempfile.mkdtemp(prefix="tlog-server-index.")
    server = None
    try:
        log, msgs, rec = record(d, "delta", 60)
        _, other, bad_rec = record(d, "echo", 60)
        server, base = start_server(d)
        status, r = post(base + "/api/v1/ingest", b"\n".join(msgs) + b"\n")
        if status != 200:
            fail("ingest: %d %r" % (status, r))
        bad, bad_id = tampered(other)
        status, r = post(base + "/api/v1/ingest", b"\n".join(bad) + b"\n")
        if status != 200:
            fail("ingest of the tampered copy: %d %r" % (status, r))
        got = wait_indexed(base, {rec: len(msgs), bad_rec: len(other)})
        good = got[rec]["integrity"]
        if good["verdict"] != "intact" or good["first_bad_id"] is not None or "unkeyed" not in good["label"]:
            fail("verdict of the recording: %r" % good)
        broken = got[bad_rec]["integrity"]
        if broken["verdict"] != "broken" or broken["first_bad_id"] != bad_id:
            fail("verdict of the tampered copy (message %d changed): %r" % (bad_id, broken))
        if list(sessions(base, integrity="broken")) != [bad_rec]:
            fail("integrity=broken: %r" % list(sessions(base, integrity="broken")))
        # A common verdict (read in the sort's order) and one no session has.
        if list(sessions(base, integrity="intact")) != [rec]:
            fail("integrity=intact: %r" % list(sessions(base, integrity="intact")))
        if list(sessions(base, integrity="pending")) != []:
            fail("integrity=pending: %r" % list(sessions(base, integrity="pending")))
        status, body = get(base + "/api/v1/sessions?integrity=fine")
        if status != 400 or b"integrity" not in body:
            fail("integrity=fine: %d %r" % (status, body))

        # Text seen on screen: "delta line 50" once, at its row.
        status, body = get(base + "/api/v1/sessions/%s/text?q=%s" % (rec, urllib.parse.quote("delta line 50")))
        hits = json.loads(body)["hits"] if status == 200 else fail("text: %d %r" % (status, body))
        if len(hits) != 1 or hits[0]["text"] != "delta line 50":
            fail("text hits for 'delta line 50': %r" % hits)
        if set(sessions(base, text="line 50")) != {rec, bad_rec} or set(sessions(base, text="delta line 50")) != {rec}:
            fail("text=: %r" % list(sessions(base, text="delta line 50")))
        if sessions(base, text="not on any screen"):
            fail("text= found what no screen showed")

        # The screen at the end: the keyframe's repaint and the messages
        # after it, which start at or before t.
        end = max(json.loads(m)["pos"] for m in msgs)
        status, body = get(base + "/api/v1/sessions/%s/at?t=%d" % (rec, end))
        if status != 200:
            fail("at: %d %r" % (status, body))
        lines = body.splitlines()
        head = json.loads(lines[0])
        if not head["screen"].startswith("\x1b[0m\x1b[H\x1b[2J") or head["keyframe_pos_ms"] > end:
            fail("at: %r" % head)
        if lines[1:] != msgs[head["next_id"] - 1:] or head["messages"] != len(lines) - 1:
            fail("at: not the messages from %d on" % head["next_id"])
        for path, want in (("/api/v1/sessions/%s/at" % rec, 400), ("/api/v1/sessions/nope/at?t=0", 404),
                           ("/api/v1/sessions/%s/at?t=x" % rec, 400), ("/api/v1/sessions/%s/text" % rec, 400)):
            status, _ = get(base + path)
            if status != want:
                fail("%s: %d, expected %d" % (path, status, want))

        # A restart: the index stays, nothing is indexed again.
        server.terminate()
        server.wait(timeout=60)
        with open(os.path.join(d, "server.log")) as f:
            if "indexing" in f.read():
                fail("the indexer logged an error")
        server, base = start_server(d)
        time.sleep(1)
        again = sessions(base)
        if again[rec]["integrity"] != good or again[bad_rec]["integrity"] != broken:
            fail("after a restart: %r" % again[rec]["integrity"])

        # A key file that does not load stops the server, naming it.
        conf = os.path.join(d, "keys.conf")
        with open(conf, "w") as f:
            json.dump({"listen": "127.0.0.1:0", "plain_http": "loopback", "database": os.path.join(d, "other.db"),
                       "integrity_keys": [os.path.join(d, "no-such-key")]}, f)
        r = subprocess.run([TLOG_SERVER, "--config", conf], capture_output=True, text=True, timeout=60)
        if r.returncode != 1 or "no-such-key" not in r.stderr:
            fail("a missing key file: exit %d, %r" % (r.returncode, r.stderr))
        with open(conf, "w") as f:
            f.write('{"integrity_keys": ["a", 5]}')
        r = subprocess.run([TLOG_SERVER, "--config", conf], capture_output=True, text=True, timeout=60)
        if r.returncode != 1 or "integrity_keys" not in r.stderr:
            fail("a key that is not a string: exit %d, %r" % (r.returncode, r.stderr))
        print("ok")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
