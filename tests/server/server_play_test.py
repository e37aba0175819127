"""tlog-server end to end: recordings made by our tlog-rec are ingested as
JSON lines (out of order, then resent) and as Elasticsearch _bulk, and
Debian's tlog-play -r es plays each from the server with exactly the output
it plays from the recording's file. Malformed lines get a 400 naming them
while the good lines are stored.
Usage: server_play_test.py direct|rsyslog. "rsyslog": a real rsyslogd reads
the recording file (imfile) and ships it with omelasticsearch to _bulk.
Environment: TLOG_SERVER, TLOG_REC."""
import http.client
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from tlogtest.terminal import under_script

TLOG_SERVER = os.environ["TLOG_SERVER"]
TLOG_REC = os.environ["TLOG_REC"]


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def need(prog):
    if shutil.which(prog) is None:
        fail("%s is not installed (scripts/deps.sh installs it)" % prog)


def record(d, name, lines):
    """A recording by our tlog-rec of a command printing LINES lines, with a
    small payload so it spans more messages than one tlog-play request."""
    log = os.path.join(d, name + ".log")
    cmd = os.path.join(d, name + ".sh")
    with open(cmd, "w") as f:
        f.write("#!/bin/sh\nfor i in $(seq %d); do echo %s line $i; done\nprintf '\\342\\202\\254 %s done\\n'\n"
                % (lines, name, name))
    os.chmod(cmd, 0o755)
    r = subprocess.run(["script", "-qec", "%s --payload=64 -w file -o %s %s" % (TLOG_REC, log, cmd), "/dev/null"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    if r.returncode != 0:
        fail("tlog-rec failed (%d): %r" % (r.returncode, r.stdout[-500:]))
    with open(log, "rb") as f:
        msgs = f.read().splitlines()
    if len(msgs) < 12:
        fail("%s: expected more than one page of messages, got %d" % (log, len(msgs)))
    return log, msgs, json.loads(msgs[0])["rec"]


def start_server(d):
    # Its log (a line per request) goes to a file: a pipe nobody reads
    # would fill and stop the server.
    with open(os.path.join(d, "server.log"), "ab") as log:
        p = subprocess.Popen([TLOG_SERVER, "--listen", "127.0.0.1:0", "--database", os.path.join(d, "db.sqlite")],
                             stdout=subprocess.PIPE, stderr=log)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=60):
        p.kill()
        fail("tlog-server did not say where it listens: %r" % open(os.path.join(d, "server.log")).read())
    line = p.stdout.readline().decode()
    if not line.startswith("listening on 127.0.0.1:"):
        p.kill()
        fail("unexpected first line from tlog-server: %r" % line)
    return p, "http://" + line.split()[-1]


def post(url, body):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/x-ndjson"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def check_request_latency(base, message):
    """A shipper posts request after request on one keep-alive connection.
    With Nagle's algorithm on the server's socket, each response's body
    (written after its headers) waits for the client's delayed ACK (up to
    40 ms on Linux): 100 requests took 2.9 s that way, and 0.1 s without
    it on a busy machine."""
    host, port = base[len("http://"):].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    start = time.monotonic()
    for _ in range(100):
        conn.request("POST", "/api/v1/ingest", body=message + b"\n",
                     headers={"Content-Type": "application/x-ndjson"})
        r = conn.getresponse()
        body = json.loads(r.read())
        if r.status != 200 or body["duplicates"] != 1:
            fail("resent message on a kept-alive connection: %d %r" % (r.status, body))
    took = time.monotonic() - start
    conn.close()
    if took > 1.0:
        fail("100 requests on one connection took %.2f s: responses are held back (Nagle's algorithm?)" % took)


def check_no_compression(base, bulk):
    """A client that accepts Brotli (browsers, some shippers) must not make
    the server compress responses at Brotli's slowest quality: 0.3 s of CPU
    for one _bulk answer, minutes for a large search page. Responses are
    sent as they are, labelled as Elasticsearch labels its own."""
    for path, body in (("/tlog/_bulk", bulk), ("/_search?q=rec:x", None)):
        req = urllib.request.Request(base + path, data=body, method="POST" if body else "GET",
                                     headers={"Content-Type": "application/x-ndjson",
                                              "Accept-Encoding": "br, gzip, deflate"})
        with urllib.request.urlopen(req, timeout=60) as r:
            enc = r.headers.get("Content-Encoding")
            ctype = r.headers.get("Content-Type")
            data = r.read()
        if enc is not None or ctype != "application/json; charset=UTF-8":
            fail("%s: Content-Encoding %r, Content-Type %r" % (path, enc, ctype))
        json.loads(data)


def get_json(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


def play(args):
    """Debian's tlog-play under a pty (it needs a terminal); its output.
    -g end plays without the recorded delays: the same bytes, and no
    dependence on how fast a loaded machine recorded.
    script's input is kept open and silent (tlogtest.terminal.under_script)."""
    args = args + ["-g", "end"]
    status, out = under_script(" ".join(args))
    if status != 0:
        fail("%s failed (%d): %r" % (" ".join(args), status, out[-300:]))
    return out


def check_config_errors(d):
    """A bad configuration file stops the server with its file, line and key."""
    conf = os.path.join(d, "server.conf")
    for text, want in (('{\n  "listen": "127.0.0.1:0",\n  "databse": "x"\n}\n', ":3:"),
                       ('{"listen": "127.0.0.1:99999"}', "port"), ('{"database": 5}', "database")):
        with open(conf, "w") as f:
            f.write(text)
        r = subprocess.run([TLOG_SERVER, "--config", conf], capture_output=True, text=True, timeout=60)
        if r.returncode != 1 or conf not in r.stderr or want not in r.stderr:
            fail("config %r: exit %d, %r" % (text, r.returncode, r.stderr))


def test_rsyslog():
    """Real rsyslog's omelasticsearch ships a recording file to _bulk."""
    for prog in ("tlog-play", "script", "rsyslogd"):
        need(prog)
    if not os.path.exists("/usr/lib/x86_64-linux-gnu/rsyslog/omelasticsearch.so"):
        fail("rsyslog's omelasticsearch module is not installed (rsyslog-elasticsearch)")
    d = tempfile.mkdtemp(prefix="tlog-server-rsyslog.")
    server = rsyslogd = None
    try:
        log, msgs, rec = record(d, "gamma", 60)
        server, base = start_server(d)
        port = base.rsplit(":", 1)[1]
        os.mkdir(os.path.join(d, "work"))
        conf = os.path.join(d, "rsyslog.conf")
        with open(conf, "w") as f:
            f.write("""global(workDirectory="%(d)s/work")
module(load="imfile")
module(load="omelasticsearch")
template(name="tlogmsg" type="string" string="%%msg%%")
input(type="imfile" File="%(log)s" Tag="tlog" ruleset="ship" freshStartTail="off")
ruleset(name="ship") {
  action(type="omelasticsearch" server="127.0.0.1" serverport="%(port)s" template="tlogmsg"
         searchIndex="tlog" bulkmode="on" esVersion.major="8" errorFile="%(d)s/es-errors.json")
}
""" % {"d": d, "log": log, "port": port})
        rsyslogd = subprocess.Popen(["rsyslogd", "-n", "-f", conf, "-i", os.path.join(d, "rsyslog.pid")],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        session = None
        while time.monotonic() < deadline:
            found = [x for x in get_json(base + "/api/v1/sessions")["sessions"] if x["rec"] == rec]
            session = found[0] if found else None
            if session and session["messages"] == len(msgs):
                break
            if rsyslogd.poll() is not None:
                fail("rsyslogd exited %d: %r" % (rsyslogd.returncode, rsyslogd.stdout.read()))
            time.sleep(0.2)
        else:
            fail("rsyslog delivered %r of %d messages" % (session, len(msgs)))
        if os.path.exists(os.path.join(d, "es-errors.json")):
            fail("omelasticsearch reported errors: %r" % open(os.path.join(d, "es-errors.json")).read()[:500])
        stored = urllib.request.urlopen(base + "/api/v1/sessions/%s/messages" % urllib.parse.quote(rec),
                                        timeout=60).read()
        if stored != b"\n".join(msgs) + b"\n":
            fail("the messages shipped by rsyslog differ from the recording's lines")
        want = play(["tlog-play", "-r", "file", "-i", log])
        got = play(["tlog-play", "-r", "es", "--es-baseurl=%s/tlog/_search" % base, "--es-query=rec:" + rec])
        if got != want or b"gamma line 60" not in got:
            fail("tlog-play -r es after rsyslog differs from the file:\n%r\n%r" % (got[-200:], want[-200:]))
        print("ok: %d messages shipped by rsyslog's omelasticsearch, played by Debian's tlog-play -r es" % len(msgs))
    finally:
        for p in (rsyslogd, server):
            if p is not None:
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(d, True)


def main():
    for prog in ("tlog-play", "script"):
        need(prog)
    d = tempfile.mkdtemp(prefix="tlog-server-it.")
    server = None
    try:
        check_config_errors(d)
        log_a, msgs_a, rec_a = record(d, "alpha", 60)
        log_b, msgs_b, rec_b = record(d, "beta", 50)
        server, base = start_server(d)

        # JSON lines: second half first, then the first half, then everything again.
        half = len(msgs_a) // 2
        for part, created in ((msgs_a[half:], len(msgs_a) - half), (msgs_a[:half], half), (msgs_a, 0)):
            status, r = post(base + "/api/v1/ingest", b"\n".join(part) + b"\n")
            if status != 200 or r["created"] != created or r["failed"] != 0:
                fail("ingest of %d lines: %d %r (expected %d created)" % (len(part), status, r, created))
        # _bulk, as rsyslog's omelasticsearch sends it (index and type in the path).
        bulk = b"".join(b'{"index":{"_index":"tlog","_type":"tlog"}}\n' + m + b"\n" for m in msgs_b)
        status, r = post(base + "/tlog/tlog/_bulk", bulk)
        if status != 200 or r["errors"] or len(r["items"]) != len(msgs_b):
            fail("_bulk: %d %r" % (status, r))
        # A malformed line is named; the good line after it is stored anyway.
        status, r = post(base + "/api/v1/ingest", b'{"ver": 2\n' + msgs_b[0] + b"\n")
        if status != 400 or r["failed"] != 1 or r["duplicates"] != 1 or r["errors"][0]["line"] != 1:
            fail("malformed ingest: %d %r" % (status, r))

        check_request_latency(base, msgs_b[0])
        check_no_compression(base, bulk)

        with urllib.request.urlopen(base + "/_cat/health", timeout=60) as h:
            if h.status != 200 or b"green" not in h.read():
                fail("/_cat/health, which omelasticsearch asks before resuming, is not green")
        sessions = get_json(base + "/api/v1/sessions")["sessions"]
        by_rec = {s["rec"]: s for s in sessions}
        for rec, msgs in ((rec_a, msgs_a), (rec_b, msgs_b)):
            s = by_rec.get(rec)
            if s is None or s["messages"] != len(msgs) or s["gaps"] != 0 or s["bytes"] != sum(map(len, msgs)):
                fail("session %s: %r (expected %d messages)" % (rec, s, len(msgs)))
        stored = urllib.request.urlopen(base + "/api/v1/sessions/%s/messages" % urllib.parse.quote(rec_a),
                                        timeout=60).read()
        if stored != b"\n".join(msgs_a) + b"\n":
            fail("the stored messages of %s differ from the recording's lines" % rec_a)

        # Cursor paging over HTTP visits both sessions once; filters apply.
        seen, cursor = [], None
        for _ in range(5):
            page = get_json(base + "/api/v1/sessions?limit=1" + ("&cursor=" + cursor if cursor else ""))
            seen += [x["rec"] for x in page["sessions"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        if sorted(seen) != sorted([rec_a, rec_b]) or len(seen) != 2:
            fail("paging visited %r" % seen)
        if get_json(base + "/api/v1/sessions?user=nobody-such")["sessions"]:
            fail("the user filter matched a session of another user")
        if len(get_json(base + "/api/v1/sessions?since=2000-01-01T00:00:00Z")["sessions"]) != 2:
            fail("since=2000 did not match today's sessions")
        for bad, names in (("/tlog/_search?q=user:root", "q"), ("/tlog/_search?q=rec:x&sort=id:desc", "sort"),
                           ("/api/v1/sessions?since=yesterday", "since"), ("/api/v1/sessions?cursor=zz", "cursor")):
            try:
                urllib.request.urlopen(base + bad, timeout=60)
                fail("%s was accepted" % bad)
            except urllib.error.HTTPError as e:
                body = json.loads(e.read())
                if e.code != 400 or names not in body["error"]:
                    fail("%s: %d %r does not name %s" % (bad, e.code, body, names))

        # Debian's tlog-play from the server, both query forms of tlog's docs.
        for log, rec, query in ((log_a, rec_a, "rec:%s" % rec_a), (log_b, rec_b, "'rec:\"%s\"'" % rec_b)):
            want = play(["tlog-play", "-r", "file", "-i", log])
            got = play(["tlog-play", "-r", "es", "--es-baseurl=%s/tlog/tlog/_search" % base, "--es-query=" + query])
            if got != want:
                fail("tlog-play -r es of %s differs from its file:\n%r\n%r" % (rec, got[-200:], want[-200:]))
            if b"line 30" not in got or "€".encode() not in got:
                fail("tlog-play -r es of %s lacks the recorded text: %r" % (rec, got[-200:]))
        server.send_signal(signal.SIGTERM)
        rc = server.wait(timeout=60)
        server = None
        if rc != 0:
            fail("tlog-server exited %d on SIGTERM" % rc)
        print("ok: %d + %d messages ingested, played by Debian's tlog-play -r es" % (len(msgs_a), len(msgs_b)))
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(d, True)


if __name__ == "__main__":
    if sys.argv[1:] == ["rsyslog"]:
        test_rsyslog()
    elif sys.argv[1:] == ["direct"]:
        main()
    else:
        fail("usage: server_play_test.py direct|rsyslog")
