#!/usr/bin/env python3
"""tlog-server ingest throughput on SQLite and on PostgreSQL, through the
HTTP endpoint (POST /api/v1/ingest), with the same generated recordings, and
the limit: librec's per-message validation of those recordings
(bench-server-decode). Also the stored bytes per JSON byte.

    bench/server/ingest_bench.py [--lines] [--files DIR] BUILD_DIR [TOTAL_MB] [BACKEND...]

BACKEND: sqlite, postgres (default both). The recordings are
bench-gen-recording's output (terminal output of curses redraws, logs and
resizes, encoded by librec) copied under distinct rec ids until TOTAL_MB
(default 64) of JSON; they are posted in requests of about 1 MB, one
recording after another, over one keep-alive connection. --lines uses
short messages instead (about 370 bytes of JSON each, 2,000 to a
recording: a shell session's lines), where the cost per message shows. PostgreSQL is
Debian's, in a private cluster (tests/tlogtest/postgres.py; root runs it as
the postgres user), with fsync on. --files DIR keeps the recordings in DIR
(made there if it has none) and skips the limit, so that a timing of the
whole process is the ingest alone, the same files the limit reads."""
import http.client
import os
import selectors
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from tlogtest.postgres import Cluster  # noqa: E402

REQUEST_BYTES = 1 << 20


def generate(build, d, total_mb):
    base = os.path.join(d, "base.log")
    subprocess.run([os.path.join(build, "bench/player/bench-gen-recording"), base, "8"], check=True,
                   stdout=subprocess.DEVNULL)
    with open(base, "rb") as f:
        data = f.read()
    files = []
    n = 0
    while n * len(data) < total_mb * 1e6:
        path = os.path.join(d, "rec%03d.log" % n)
        with open(path, "wb") as f:
            f.write(data.replace(b'"rec":"bench-rec-1"', b'"rec":"bench-rec-%03d"' % n))
        files.append(path)
        n += 1
    return files


def generate_lines(d, total_mb):
    """Recordings of short messages: one line of output each."""
    import json
    import random
    rng = random.Random(15)
    files, n, size = [], 0, 0
    while size < total_mb * 1e6:
        rec = "lines-%03d" % n
        path = os.path.join(d, "rec%03d.log" % n)
        with open(path, "wb") as f:
            for i in range(1, 2001):
                out = "%s line %d %s\r\n" % (rec, i, "x" * rng.randint(20, 300))
                m = {"ver": "2.3", "host": "bench-host", "rec": rec, "user": "bench", "term": "xterm",
                     "session": 1, "id": i, "pos": (i - 1) * 10, "time": 1700000000 + i, "timing": ">%d" % len(out),
                     "in_txt": "", "in_bin": [], "out_txt": out, "out_bin": []}
                line = json.dumps(m, separators=(",", ":")).encode() + b"\n"
                f.write(line)
                size += len(line)
        files.append(path)
        n += 1
    return files


def bodies(files):
    for path in files:
        with open(path, "rb") as f:
            lines = f.read().splitlines(keepends=True)
        body, size = [], 0
        for line in lines:
            body.append(line)
            size += len(line)
            if size >= REQUEST_BYTES:
                yield b"".join(body), len(body)
                body, size = [], 0
        if body:
            yield b"".join(body), len(body)


def run_server(build, spec):
    p = subprocess.Popen([os.path.join(build, "server/tlog-server"), "--listen", "127.0.0.1:0", "--database", spec],
                         stdout=subprocess.PIPE)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=120):
        p.kill()
        sys.exit("tlog-server did not start")
    port = int(p.stdout.readline().decode().rsplit(":", 1)[1])
    return p, port


def ingest(port, files):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    msgs = nbytes = 0
    t0 = time.monotonic()
    for body, n in bodies(files):
        conn.request("POST", "/api/v1/ingest", body, {"Content-Type": "application/x-ndjson"})
        r = conn.getresponse()
        out = r.read()
        if r.status != 200:
            sys.exit("ingest failed: %d %s" % (r.status, out[:300]))
        msgs += n
        nbytes += len(body)
    return time.monotonic() - t0, msgs, nbytes


def report(name, secs, msgs, nbytes, stored):
    print("%-10s %6.1f MB in %6.2f s: %6.1f MB/s, %7.0f messages/s; stored %.3f bytes per JSON byte"
          % (name, nbytes / 1e6, secs, nbytes / 1e6 / secs, msgs / secs, stored / nbytes))


def main():
    args = sys.argv[1:]
    keep, lines = None, False
    while args[:1] in (["--files"], ["--lines"]):
        if args[0] == "--lines":
            lines, args = True, args[1:]
        else:
            keep, args = os.path.abspath(args[1]), args[2:]
    build = os.path.abspath(args[0])
    total_mb = float(args[1]) if len(args) > 1 else 64
    backends = args[2:] or ["sqlite", "postgres"]
    with tempfile.TemporaryDirectory() as d:
        if keep:
            os.makedirs(keep, exist_ok=True)
            files = sorted(os.path.join(keep, f) for f in os.listdir(keep) if f.startswith("rec"))
            files = files or (generate_lines(keep, total_mb) if lines else generate(build, keep, total_mb))
        else:
            files = generate_lines(d, total_mb) if lines else generate(build, d, total_mb)
            subprocess.run([os.path.join(build, "bench/server/bench-server-decode")] + files, check=True)
        for backend in backends:
            if backend == "sqlite":
                db = os.path.join(d, "bench.sqlite")
                p, port = run_server(build, db)
                try:
                    secs, msgs, nbytes = ingest(port, files)
                finally:
                    p.terminate()
                    p.wait()
                # Closed cleanly: the WAL is checkpointed into the file.
                stored = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))
                report("sqlite", secs, msgs, nbytes, stored)
            elif backend == "postgres":
                with Cluster() as pg:
                    pg.psql("CREATE DATABASE bench")
                    p, port = run_server(build, pg.spec("bench"))
                    try:
                        secs, msgs, nbytes = ingest(port, files)
                    finally:
                        p.terminate()
                        p.wait()
                    pg.psql("VACUUM ANALYZE", "bench")
                    stored = int(pg.psql("SELECT pg_total_relation_size('messages') + "
                                         "pg_total_relation_size('sessions')", "bench"))
                    report("postgres", secs, msgs, nbytes, stored)
            else:
                sys.exit("unknown backend " + backend)


main()
