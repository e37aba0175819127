"""Two tlog-server instances on one PostgreSQL (Debian's, in a private
cluster this test starts): both start at once on an empty database (the
migration runs once), then the same 50 recordings are ingested through both
at the same time, by four clients in different orders and batch sizes.
Afterwards every message is stored once, each session row is exact (first
and last id, start and end, messages, bytes, no gaps), and each recording
read back from either server is byte-identical to its source file. The
same for tlog-audit events (POST /api/v1/audit): each stored and counted
once, a recording's events served in order by either instance. Then
PostgreSQL restarts: each instance's next ingest and read succeed at the
first attempt (the lost connection is opened again).
Environment: TLOG_SERVER."""
import json
import os
import random
import selectors
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request

from tlogtest import viewer as viewers
from tlogtest.postgres import Cluster
from tlogtest.terminal import fail

TLOG_SERVER = os.environ["TLOG_SERVER"]
RECORDINGS = 50


def recording(n, rng):
    """A recording's messages as the recorder writes them: ids from 1,
    positions and times rising, text with multi-byte characters."""
    rec = "pgrec-%02d" % n
    lines = []
    for i in range(1, rng.randint(20, 60) + 1):
        out = "%s line %d %s\r\n" % (rec, i, "\u20ac\u00e9" * rng.randint(0, 40))
        inp = "ls -l\r" if i % 7 == 0 else ""
        timing = "+%d>%d" % (rng.randint(0, 900), len(out)) + ("<%d" % len(inp) if inp else "")
        msg = {"ver": "2.3", "host": "host%d.example" % (n % 3), "rec": rec, "user": "user%d" % (n % 5),
               "term": "xterm", "session": 100 + n, "id": i, "pos": (i - 1) * 1000,
               "time": "%d.%03d" % (1700000000 + n * 3600 + i - 1, 0), "timing": timing,
               "in_txt": inp, "in_bin": [], "out_txt": out, "out_bin": []}
        line = json.dumps(msg, ensure_ascii=(i % 2 == 0), separators=(",", ":"))
        # "time" is a number in the format, written with its milliseconds.
        line = line.replace('"time":"%s"' % msg["time"], '"time":%s' % msg["time"])
        lines.append(line.encode())
    return rec, lines


def start_server(spec):
    # stderr to a file: the server logs a line per request, which would fill
    # a pipe nobody reads until the end and block the server.
    err = tempfile.TemporaryFile()
    p = subprocess.Popen([TLOG_SERVER, "--plain-http", "--listen", "127.0.0.1:0", "--database", spec] +
                         viewers.server_args(tempfile.gettempdir()), stdout=subprocess.PIPE,
                         stderr=err)
    p.errfile = err
    return p


def server_stderr(p):
    p.errfile.seek(0)
    return p.errfile.read()


def wait_listening(p):
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=120):
        p.kill()
        fail("tlog-server did not say where it listens: %r" % server_stderr(p))
    line = p.stdout.readline().decode()
    if not line.startswith("listening on 127.0.0.1:"):
        p.kill()
        fail("unexpected first line from tlog-server: %r %r" % (line, server_stderr(p)))
    return "http://" + line.split()[-1]


def post(url, body):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/x-ndjson"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def audit_events(rng):
    """tlog-audit events of 3 hosts: on each, a login's audit session 5
    (the authentication before pam_tlog's start record carries no rec),
    then the session's commands; with LOGIN/SYSCALL pairs of one serial."""
    out = []
    for h in range(3):
        host, rec = "audit%d.example" % h, "arec-%d" % h
        for serial in range(1, 101):
            secs = 1796419600 + serial // 3
            time = "2026-12-04T%02d:%02d:%02d.%03dZ" % (secs // 3600 % 24, secs // 60 % 60, secs % 60, serial % 7)
            joined = serial > 2
            ev = {"serial": serial, "time": time, "host": host, "ses": 5, "type": "SYSCALL",
                  "argv": ["cmd", "x" * rng.randint(0, 200)]}
            if joined:
                ev["rec"] = rec
            if serial == 2:
                ev.update(type="TRUSTED_APP", op="tlog-session-start", rec=rec)
            out.append(json.dumps(ev, separators=(",", ":")).encode())
            if serial % 10 == 0:
                out.append(json.dumps(dict(ev, type="LOGIN"), separators=(",", ":")).encode())
    return out


def audit_through_both(pg, urls, rng):
    """The same audit events through both instances at once, by four
    clients in different orders and batches: each stored and counted once,
    each recording's events served in time order by either instance."""
    events = audit_events(rng)
    created, errors = [0], []
    lock = threading.Lock()

    def client(url, order, batch):
        try:
            for i in range(0, len(order), batch):
                part = order[i:i + batch]
                status, r = post(url + "/api/v1/audit", b"\n".join(part) + b"\n")
                if status != 200 or r["created"] + r["duplicates"] != len(part):
                    raise RuntimeError("%s: audit batch %d: %s %r" % (url, i, status, r))
                with lock:
                    created[0] += r["created"]
        except Exception as e:  # reported by the main thread
            errors.append(str(e))

    shuffled = events[:]
    rng.shuffle(shuffled)
    clients = [threading.Thread(target=client, args=(urls[0], events, 7)),
               threading.Thread(target=client, args=(urls[1], events[::-1], 5)),
               threading.Thread(target=client, args=(urls[0], shuffled, 11)),
               threading.Thread(target=client, args=(urls[1], shuffled[::-1], 3))]
    for c in clients:
        c.start()
    for c in clients:
        c.join(600)
        if c.is_alive():
            fail("an audit client did not finish in 600 s")
    if errors:
        fail("audit ingest failed: " + "; ".join(errors[:5]))
    if created[0] != len(events):
        fail("the servers reported %d audit events created, expected %d (each once)" % (created[0], len(events)))
    stored = int(pg.psql("SELECT count(*) FROM audit_events", "tlog"))
    if stored != len(events):
        fail("%d audit events stored, expected %d" % (stored, len(events)))
    for h in range(3):
        host, rec = "audit%d.example" % h, "arec-%d" % h
        mine = [(json.loads(e)["time"], json.loads(e)["serial"], json.loads(e)["type"], e)
                for e in events if json.loads(e)["host"] == host]
        want = b"".join(e + b"\n" for _, _, _, e in sorted(mine))
        for url in urls:
            with urllib.request.urlopen(url + "/api/v1/sessions/%s/audit" % rec, timeout=60) as r:
                got = r.read()
            if got != want:
                fail("audit events of %s from %s: %d bytes, expected %d" % (rec, url, len(got), len(want)))
    print("%d audit events through 2 instances: each stored once" % len(events))


def main():
    rng = random.Random(15)
    recs = [recording(n, rng) for n in range(RECORDINGS)]
    with Cluster() as pg, tempfile.TemporaryDirectory() as d:
        for rec, lines in recs:
            with open(os.path.join(d, rec + ".log"), "wb") as f:
                f.write(b"".join(l + b"\n" for l in lines))
        pg.psql("CREATE DATABASE tlog")
        spec = pg.spec("tlog")
        servers = [start_server(spec), start_server(spec)]
        try:
            urls = [wait_listening(p) for p in servers]
            viewers.install(TLOG_SERVER, spec)  # one database: its token reads from both
            version = pg.psql("SELECT version FROM schema_version", "tlog").split()
            if len(version) != 1:
                fail("schema_version holds %r after two instances started" % version)

            created = [0]
            errors = []
            lock = threading.Lock()

            def client(url, order, batch):
                try:
                    for rec, lines in order:
                        for i in range(0, len(lines), batch):
                            body = b"\n".join(lines[i:i + batch]) + b"\n"
                            status, r = post(url + "/api/v1/ingest", body)
                            n = len(lines[i:i + batch])
                            if status != 200 or r["created"] + r["duplicates"] != n:
                                raise RuntimeError("%s: %s batch %d: %s %r" % (url, rec, i, status, r))
                            with lock:
                                created[0] += r["created"]
                except Exception as e:  # reported by the main thread
                    errors.append(str(e))

            shuffled = recs[:]
            rng.shuffle(shuffled)
            clients = [threading.Thread(target=client, args=(urls[0], recs, 7)),
                       threading.Thread(target=client, args=(urls[1], recs, 5)),
                       threading.Thread(target=client, args=(urls[0], recs[::-1], 11)),
                       threading.Thread(target=client, args=(urls[1], shuffled, 3))]
            for c in clients:
                c.start()
            for c in clients:
                c.join(600)
                if c.is_alive():
                    fail("a client did not finish in 600 s")
            if errors:
                fail("ingest failed: " + "; ".join(errors[:5]))
            total = sum(len(lines) for _, lines in recs)
            if created[0] != total:
                fail("the servers reported %d messages created, expected %d (each once)" % (created[0], total))
            stored = int(pg.psql("SELECT sum(n) FROM message_ids", "tlog"))
            if stored != total:
                fail("%d messages stored, expected %d" % (stored, total))

            rows = {}
            for line in pg.psql("SELECT rec, first_id, last_id, start_ms, end_ms, messages, bytes, host, \"user\" "
                                "FROM sessions", "tlog").splitlines():
                f = line.split("|")
                rows[f[0]] = f[1:]
            if len(rows) != RECORDINGS:
                fail("%d session rows, expected %d" % (len(rows), RECORDINGS))
            for n, (rec, lines) in enumerate(recs):
                start = (1700000000 + n * 3600) * 1000
                want = [str(x) for x in (1, len(lines), start, start + (len(lines) - 1) * 1000, len(lines),
                                         sum(len(l) for l in lines))] + ["host%d.example" % (n % 3), "user%d" % (n % 5)]
                if rows[rec] != want:
                    fail("session %s: %r, expected %r" % (rec, rows[rec], want))
                with open(os.path.join(d, rec + ".log"), "rb") as f:
                    source = f.read()
                for url in urls:
                    with urllib.request.urlopen(url + "/api/v1/sessions/%s/messages?limit=100000" % rec,
                                                timeout=60) as r:
                        got = r.read()
                    if got != source:
                        fail("%s from %s differs from its source file (%d bytes, expected %d)"
                             % (rec, url, len(got), len(source)))
            # The API's view of the sessions agrees: gaps are none.
            with urllib.request.urlopen(urls[1] + "/api/v1/sessions?limit=1000", timeout=60) as r:
                listed = json.loads(r.read())["sessions"]
            if len(listed) != RECORDINGS or any(s.get("gaps", 0) != 0 for s in listed):
                fail("GET /api/v1/sessions: %r" % listed[:3])
            print("%d messages of %d recordings through 2 instances: each stored once" % (total, RECORDINGS))
            audit_through_both(pg, urls, rng)

            pg.restart()
            for k, url in enumerate(urls):
                rec, lines = recording(RECORDINGS + k, rng)
                status, r = post(url + "/api/v1/ingest", b"".join(l + b"\n" for l in lines))
                if status != 200 or r["created"] != len(lines):
                    fail("ingest through %s after PostgreSQL restarted: %s %r" % (url, status, r))
                other = urls[1 - k]
                with urllib.request.urlopen(other + "/api/v1/sessions/%s/messages" % rec, timeout=60) as resp:
                    if resp.read() != b"".join(l + b"\n" for l in lines):
                        fail("%s read through %s after the restart differs" % (rec, other))
            print("both instances reconnected after PostgreSQL restarted")
        finally:
            for p in servers:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                err = server_stderr(p).decode(errors="replace")
                errors = [l for l in err.splitlines() if not l.startswith('{"time_ms":')]
                if errors:
                    print("tlog-server stderr: " + "\n".join(errors), file=sys.stderr)


main()
