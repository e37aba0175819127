"""Live sessions as streams (GET /api/v1/sessions/REC/stream) against a real
tlog-server.
sqlite: a recording ingested while a client streams it, out of order and
with resent messages: the client gets every message once, in id order,
byte for byte, an empty keep-alive line while idle, and the stream ends
after the message carrying "end" (a text field holding "end": does not end
it); `after` resumes; a gap that never fills is skipped after the timeout
with a tlog_stream_gap line and the late message is never sent; an unknown
recording is a 404. Then 500 streams open at once: the 501st gets 503
naming max_streams, ingest and health are answered meanwhile, and clients
that go are noticed (the gauge falls) so new streams are admitted.
postgres: two instances on one PostgreSQL (Debian's, a private cluster):
messages ingested through A reach a stream from B, in order, once, to the end.
Environment: TLOG_SERVER."""
import http.client
import json
import os
import re
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from tlogtest import viewer as viewers
from tlogtest.terminal import fail

TLOG_SERVER = os.environ["TLOG_SERVER"]


def message(rec, i, end=False, text=None, host="h1.example"):
    out = text if text is not None else "%s line %d \u20ac\r\n" % (rec, i)
    msg = {"ver": "2.3", "host": host, "rec": rec, "user": "alice", "term": "xterm", "session": 7, "id": i,
           "pos": (i - 1) * 100, "timing": "+100>%d" % len(out), "in_txt": "", "in_bin": [], "out_txt": out,
           "out_bin": []}
    if end:
        msg["end"] = "exit"
    return json.dumps(msg, separators=(",", ":")).encode()


def recording(rec, n, hostile_at=None):
    lines = []
    for i in range(1, n + 1):
        # The recorded user prints what looks like an end field.
        text = '\\",\\"end\\":\\"exit\\" ,"end":"exit"}\r\n' if i == hostile_at else None
        lines.append(message(rec, i, end=(i == n), text=text))
    return lines


def start_server(spec, d, *extra):
    err = open(os.path.join(d, "server-%d.log" % time.monotonic_ns()), "wb")
    p = subprocess.Popen([TLOG_SERVER, "--plain-http", "--listen", "127.0.0.1:0", "--database", spec] + viewers.server_args(d) +
                         list(extra),
                         stdout=subprocess.PIPE, stderr=err)
    p.errpath = err.name
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=120):
        p.kill()
        fail("tlog-server did not say where it listens: %r" % open(p.errpath, "rb").read())
    line = p.stdout.readline().decode()
    if not line.startswith("listening on 127.0.0.1:"):
        p.kill()
        fail("unexpected first line from tlog-server: %r" % line)
    addr = line.split()[-1]
    global VIEWER
    VIEWER = viewers.install(TLOG_SERVER, spec, "http://" + addr)
    return p, addr


VIEWER = None


def post(addr, lines, timeout=120):
    body = b"".join(l + b"\n" for l in lines)
    req = urllib.request.Request("http://%s/api/v1/ingest" % addr, data=body, method="POST",
                                 headers={"Content-Type": "application/x-ndjson"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def get(addr, path, timeout=60):
    try:
        with urllib.request.urlopen("http://%s%s" % (addr, path), timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def metric(addr, name):
    status, text = get(addr, "/metrics")
    m = re.search(r"^%s ([0-9]+)$" % name, text.decode(), re.M)
    if status != 200 or not m:
        fail("/metrics has no %s" % name)
    return int(m.group(1))


class StreamReader:
    """Reads one stream's lines on a thread: messages, keep-alive lines,
    gap lines, and whether the server ended it (the last chunk)."""

    def __init__(self, addr, rec, query=""):
        host, port = addr.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)
        self.conn.request("GET", "/api/v1/sessions/%s/stream%s" % (rec, query), headers=VIEWER.headers())
        self.resp = self.conn.getresponse()
        self.lines = []
        self.ended = False
        self.error = None
        self.cond = threading.Condition()
        if self.resp.status == 200:
            self.thread = threading.Thread(target=self.run, daemon=True)
            self.thread.start()

    def run(self):
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    with self.cond:
                        # http.client raises on a connection cut before
                        # the last chunk: reaching here means a clean end.
                        self.ended = True
                        self.cond.notify_all()
                    return
                with self.cond:
                    self.lines.append(line)
                    self.cond.notify_all()
        except Exception as e:  # reported by the test
            with self.cond:
                self.error = e
                self.cond.notify_all()

    def wait(self, pred, what, timeout=60):
        with self.cond:
            if not self.cond.wait_for(lambda: pred(self) or self.error is not None, timeout):
                fail("stream: timed out waiting for %s; got %r" % (what, self.lines[-5:]))
            if self.error is not None and not pred(self):
                fail("stream: %r while waiting for %s" % (self.error, what))

    def messages(self):
        return [l.rstrip(b"\n") for l in self.lines if l.strip() and b'"tlog_stream_gap"' not in l]

    def close(self):
        self.conn.close()


def check_order_end(addr):
    lines = recording("live-a", 30, hostile_at=12)
    status, r = post(addr, lines[:10])
    if status != 200:
        fail("ingest: %s %r" % (status, r))
    s = StreamReader(addr, "live-a")
    if s.resp.status != 200 or not s.resp.getheader("Content-Type", "").startswith("application/x-ndjson"):
        fail("stream: %d %r" % (s.resp.status, s.resp.getheader("Content-Type")))
    s.wait(lambda s: len(s.messages()) >= 10, "the stored messages")
    # Idle: the keep-alive (1 s here) comes as an empty line.
    s.wait(lambda s: b"\n" in s.lines, "a keep-alive line", timeout=30)
    # The rest out of order, and each batch sent twice.
    for batch in (lines[20:25], lines[10:15], lines[15:20], lines[10:20], lines[25:30], lines[0:5]):
        status, r = post(addr, batch)
        if status != 200:
            fail("ingest: %s %r" % (status, r))
    s.wait(lambda s: s.ended, "the end of the stream")
    if s.messages() != lines:
        fail("stream: got ids %r, expected 1..30 once each, byte for byte"
             % [json.loads(m)["id"] for m in s.messages()])
    s.close()
    print("ordered, no duplicates, a keep-alive line, ended after the end message (not at a text \"end\":)")

    s = StreamReader(addr, "live-a", "?after=25")
    s.wait(lambda s: s.ended, "the end of a resumed stream")
    if s.messages() != lines[25:]:
        fail("after=25: %r" % s.messages())
    s = StreamReader(addr, "live-a", "?after=30")
    s.wait(lambda s: s.ended, "the end of a stream resumed at its end", timeout=30)
    if s.messages():
        fail("after=30 (the end): %r" % s.messages())
    s = StreamReader(addr, "live-a", "?host=h1.example&after=29")
    s.wait(lambda s: s.ended, "the end of a stream with its host")
    if s.messages() != lines[29:]:
        fail("host=h1.example&after=29: %r" % s.messages())
    status, body = get(addr, "/api/v1/sessions/no-such-rec/stream")
    if status != 404 or b"no-such-rec" not in body:
        fail("unknown recording: %d %r" % (status, body))
    status, body = get(addr, "/api/v1/sessions/live-a/stream?after=x")
    if status != 400 or b"after" not in body:
        fail("bad after: %d %r" % (status, body))
    print("after= resumes; unknown recording 404; bad after 400")


def check_gap(addr):
    lines = recording("live-gap", 6)
    post(addr, lines[0:2] + lines[3:5])
    s = StreamReader(addr, "live-gap")
    s.wait(lambda s: len(s.messages()) >= 2, "messages 1 and 2")
    # The server's own account of the wait (waited_ms) is checked below:
    # the test's clock would depend on when it read messages 1 and 2.
    s.wait(lambda s: any(b"tlog_stream_gap" in l for l in s.lines), "the gap line", timeout=60)
    s.wait(lambda s: len(s.messages()) >= 4, "messages 4 and 5 after the gap")
    gap = [json.loads(l) for l in s.lines if b"tlog_stream_gap" in l]
    if len(gap) != 1 or gap[0]["tlog_stream_gap"]["first_id"] != 3 or gap[0]["tlog_stream_gap"]["last_id"] != 3 \
            or gap[0]["tlog_stream_gap"]["waited_ms"] < 2000:
        fail("gap line: %r" % gap)
    post(addr, [lines[2]])  # too late: never sent on this stream
    post(addr, [lines[5]])
    s.wait(lambda s: s.ended, "the end after the gap")
    if s.messages() != lines[0:2] + lines[3:6]:
        fail("gap: got ids %r, expected 1 2 4 5 6" % [json.loads(m)["id"] for m in s.messages()])
    print("a gap that does not fill is skipped after the timeout with a tlog_stream_gap line")


def open_raw_stream(addr, rec):
    host, port = addr.split(":")
    sock = socket.create_connection((host, int(port)), timeout=120)
    sock.sendall(b"GET /api/v1/sessions/%s/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % (
        rec.encode(), VIEWER.token.encode()))
    return sock


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def check_many(addr, n):
    lines = recording("live-many", 5)
    post(addr, lines[:4])  # no end: the streams stay open
    socks = []
    for _ in range(n):
        socks.append(open_raw_stream(addr, "live-many"))
    heads = []
    for s in socks:
        head = read_head(s)
        if not head.startswith(b"HTTP/1.1 200"):
            fail("stream %d: %r" % (len(socks), head[:200]))
        heads.append(head)
    deadline = time.monotonic() + 60
    while metric(addr, "tlog_server_streams") != n:
        if time.monotonic() > deadline:
            fail("%d streams open, the gauge says %d" % (n, metric(addr, "tlog_server_streams")))
        time.sleep(0.2)
    status, body = get(addr, "/api/v1/sessions/live-many/stream")
    if status != 503 or b"max_streams" not in body:
        fail("stream %d: %d %r (expected 503 naming max_streams)" % (n + 1, status, body))
    # Ingest and health are answered while every stream slot is taken.
    start = time.monotonic()
    other = recording("live-other", 20)
    for i in range(0, 20, 5):
        status, r = post(addr, other[i:i + 5], timeout=30)
        if status != 200 or r["created"] != 5:
            fail("ingest with %d streams open: %s %r" % (n, status, r))
    status, _ = get(addr, "/api/v1/health", timeout=30)
    if status != 200:
        fail("health with %d streams open: %d" % (n, status))
    took = time.monotonic() - start
    print("%d streams open: stream %d refused with 503; 4 ingest requests and health answered in %.2f s"
          % (n, n + 1, took))
    # The end wakes every stream: each gets message 5 and the last chunk.
    post(addr, lines[4:5])
    for k, s in enumerate(socks[: n // 2]):
        s.settimeout(120)
        data = heads[k]
        while not data.endswith(b"0\r\n\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                fail("stream %d was cut before its end: %r" % (k, data[-200:]))
            data += chunk
        if data.count(b'"id":') != 5:
            fail("stream %d: %d messages, expected 5" % (k, data.count(b'"id":')))
        s.close()
    # The other half were ended too; their clients go without reading.
    for s in socks[n // 2:]:
        s.close()
    deadline = time.monotonic() + 120
    while metric(addr, "tlog_server_streams") != 0:
        if time.monotonic() > deadline:
            fail("clients gone, but the gauge still says %d streams" % metric(addr, "tlog_server_streams"))
        time.sleep(0.5)
    status, _ = get(addr, "/api/v1/sessions/live-many/stream", timeout=60)
    if status != 200:
        fail("a stream after the others went: %d" % status)
    print("streams ended by the end message or by their clients going: all slots free again")


def check_client_gone(addr):
    lines = recording("live-gone", 5)
    post(addr, lines[:2])
    socks = [open_raw_stream(addr, "live-gone") for _ in range(3)]
    for s in socks:
        read_head(s)
    deadline = time.monotonic() + 60
    while metric(addr, "tlog_server_streams") != 3:
        if time.monotonic() > deadline:
            fail("3 idle streams: gauge %d" % metric(addr, "tlog_server_streams"))
        time.sleep(0.2)
    for s in socks:
        s.close()
    # Idle streams: only the keep-alive (1 s) finds that the clients went.
    deadline = time.monotonic() + 60
    while metric(addr, "tlog_server_streams") != 0:
        if time.monotonic() > deadline:
            fail("idle clients gone, the gauge still says %d" % metric(addr, "tlog_server_streams"))
        time.sleep(0.2)
    print("idle streams whose clients went are closed by the keep-alive")


def check_settings(d):
    """The streams' settings from the file: numbers, checked, naming the
    file, line and key; the file's max_streams is the limit."""
    conf = os.path.join(d, "server.conf")
    for text, want in (('{\n  "max_streams": -1\n}\n', "max_streams"), ('{"stream_keepalive": 0}', "stream_keepalive"),
                       ('{"stream_gap_timeout": "soon"}', "stream_gap_timeout"), ('{"stream_pol": 5}', "stream_pol")):
        with open(conf, "w") as f:
            f.write(text)
        r = subprocess.run([TLOG_SERVER, "--config", conf, "--database", os.path.join(d, "x.sqlite")],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 1 or conf not in r.stderr or want not in r.stderr:
            fail("config %r: exit %d, %r" % (text, r.returncode, r.stderr))
    r = subprocess.run([TLOG_SERVER, "--max-streams", "many"], capture_output=True, text=True, timeout=60)
    if r.returncode != 1 or "--max-streams" not in r.stderr:
        fail("--max-streams many: exit %d, %r" % (r.returncode, r.stderr))
    with open(conf, "w") as f:
        f.write('{"max_streams": 2, "stream_keepalive": 1, "stream_poll": 0}')
    p, addr = start_server(os.path.join(d, "limit.sqlite"), d, "--config", conf)
    try:
        post(addr, recording("lim", 3)[:2])
        open_streams = [StreamReader(addr, "lim") for _ in range(2)]
        status, body = get(addr, "/api/v1/sessions/lim/stream")
        if [s.resp.status for s in open_streams] != [200, 200] or status != 503 or b"max_streams 2" not in body:
            fail("max_streams 2 from the file: %r, then %d %r" % ([s.resp.status for s in open_streams], status, body))
        for s in open_streams:
            s.close()
    finally:
        p.terminate()
        p.wait(60)
    print("settings from the file, checked; max_streams 2 refuses the third")


def main_sqlite():
    with tempfile.TemporaryDirectory() as d:
        check_settings(d)
        p, addr = start_server(os.path.join(d, "db.sqlite"), d, "--stream-keepalive", "1",
                               "--stream-gap-timeout", "2")
        try:
            check_order_end(addr)
            check_gap(addr)
            check_client_gone(addr)
            check_many(addr, 500)
            if metric(addr, "tlog_server_streams_refused_total") != 1:
                fail("refused streams counter")
        except SystemExit:
            print(open(p.errpath, "rb").read()[-3000:].decode(errors="replace"), file=sys.stderr)
            raise
        finally:
            p.terminate()
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                fail("tlog-server did not stop within 60 s of SIGTERM with streams open")
        if p.returncode != 0:
            fail("tlog-server exited %d" % p.returncode)


def main_postgres():
    from tlogtest.postgres import Cluster
    with Cluster() as pg, tempfile.TemporaryDirectory() as d:
        pg.psql("CREATE DATABASE tlog")
        spec = pg.spec("tlog")
        a, addr_a = start_server(spec, d)
        b, addr_b = start_server(spec, d, "--stream-poll", "500")
        try:
            lines = recording("pg-live", 40)
            post(addr_a, lines[:3])
            s = StreamReader(addr_b, "pg-live")
            if s.resp.status != 200:
                fail("stream from B: %d" % s.resp.status)
            s.wait(lambda s: len(s.messages()) >= 3, "the stored messages from B")
            order = list(range(3, 40))
            order = order[10:20] + order[:10] + order[20:]
            for i in range(0, len(order), 4):
                status, r = post(addr_a, [lines[k] for k in order[i:i + 4]])
                if status != 200:
                    fail("ingest through A: %s %r" % (status, r))
                time.sleep(0.1)
            s.wait(lambda s: s.ended, "the end of B's stream", timeout=120)
            if s.messages() != lines:
                fail("B's stream: ids %r" % [json.loads(m)["id"] for m in s.messages()])
            print("ingest on A, stream from B (PostgreSQL): 40 messages in order, once, ended")
        finally:
            for p in (a, b):
                p.terminate()
                p.wait(60)


if __name__ == "__main__":
    {"sqlite": main_sqlite, "postgres": main_postgres}[sys.argv[1]]()
