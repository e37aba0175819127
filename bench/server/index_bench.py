#!/usr/bin/env python3
"""tlog-server's index benchmark (bench/README.md, "server", "Index"):

    bench/server/index_bench.py [--backend sqlite|postgres|both] [--no-alone] BUILD WORK [MB]

Generates one recording of about MB megabytes (default 1024) with
bench-server-gen into WORK/big (kept and reused), then per backend starts
BUILD's tlog-server on a fresh database and:
  - posts it (bench-server-post, one connection, 1 MiB bodies) while the
    indexer follows: ingest MB/s, and how long after the last answer the
    index caught up;
  - empties the index tables and restarts the server: the indexer alone,
    MB/s of recording and per CPU second of the server (--no-alone leaves
    this out);
  - GET .../at?t= at 90 % of the recording (30 times around it): latency
    p50 / p95 / max, and the bytes answered (keyframe + messages);
  - GET .../text?q= for a word on screen and one that is not, and
    GET /api/v1/sessions?text=: latency;
  - the index's size: keyframes and rows of screen text.
"""
import argparse
import glob
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from run import start_server, stop_server  # noqa: E402
from tlogtest.postgres import Cluster  # noqa: E402


def recording(build, work, mb):
    d = os.path.join(work, "big")
    os.makedirs(d, exist_ok=True)
    stamp = os.path.join(d, "generated-with")
    files = glob.glob(os.path.join(d, "rec-*.jsonl"))
    if files and os.path.exists(stamp) and open(stamp).read() == f"{mb}\n":
        return files[0]
    kb = mb * 1024
    for _ in range(3):
        for f in glob.glob(os.path.join(d, "rec-*.jsonl")):
            os.unlink(f)
        subprocess.run([f"{build}/bench/server/bench-server-gen", d, "1", str(kb)], check=True,
                       stdout=subprocess.DEVNULL)
        f = glob.glob(os.path.join(d, "rec-*.jsonl"))[0]
        size = os.path.getsize(f)
        if abs(size - mb * 1e6) < 0.1 * mb * 1e6:
            break
        kb = int(kb * mb * 1e6 / size)
    with open(stamp, "w") as s:
        s.write(f"{mb}\n")
    return f


def get(url):
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as r:
        body = r.read()
    return time.perf_counter() - t, body


def session(base):
    return json.loads(get(base + "/api/v1/sessions")[1])["sessions"][0]


def wait_indexed(base, last_id):
    while True:
        s = session(base)
        if s["integrity"]["indexed_through"] >= last_id:
            return s
        time.sleep(0.05)


def cpu_s(pid):
    """The process's user + system CPU seconds so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Sqlite:
    name = "SQLite"

    def __init__(self, work):
        self.db = os.path.join(work, "index.sqlite")

    def fresh(self):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.db + suffix):
                os.unlink(self.db + suffix)
        return self.db

    def sql(self, text):
        c = sqlite3.connect(self.db)
        try:
            rows = c.execute(text).fetchall()
            c.commit()
            return rows
        finally:
            c.close()


    def sizes(self):
        """Bytes on disk of the index's tables and their indexes (dbstat)."""
        c = sqlite3.connect(self.db)
        try:
            rows = c.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
            owners = dict(c.execute("SELECT name, tbl_name FROM sqlite_master").fetchall())
        finally:
            c.close()
        out = {}
        for name, size in rows:
            table = owners.get(name, name)
            if table.startswith(("session_index", "keyframes", "screen_chunks")):
                out[name] = size
        return out


class Postgres:
    name = "PostgreSQL"

    def __init__(self, pg):
        self.pg = pg
        self.n = 0

    def fresh(self):
        self.n += 1
        self.db = f"index_bench_{self.n}"
        self.pg.psql(f"CREATE DATABASE {self.db}")
        return self.pg.spec(self.db)

    def sizes(self):
        """Bytes on disk of the index's tables and their indexes."""
        rows = self.sql("SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                        "WHERE c.relkind = 'r' AND c.relname IN ('session_index', 'keyframes', 'screen_chunks')")
        return {name: int(size) for name, size in rows}

    def sql(self, text):
        out = self.pg.psql(text, self.db)
        return [tuple(line.split("|")) for line in out.splitlines()] if out else []


def bench(args, backend, rec_file):
    exe = f"{args.build}/server/tlog-server"
    mb = os.path.getsize(rec_file) / 1e6
    spec = backend.fresh()
    server, port = start_server(exe, spec)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        post = subprocess.run([f"{args.build}/bench/server/bench-server-post", "127.0.0.1", port, "ingest", "1",
                               "1024", rec_file], stdout=subprocess.PIPE, text=True, timeout=3600, check=True)
        t1 = time.perf_counter()
        s = session(base)
        wait_indexed(base, s["last_id"])
        t2 = time.perf_counter()
    finally:
        stop_server(server)
    if not args.alone:
        server, port = start_server(exe, spec)
        base = f"http://127.0.0.1:{port}"
    print(f"{backend.name}: {mb:.1f} MB, {s['messages']} messages; ingest {mb / (t1 - t0):.1f} MB/s "
          f"({t1 - t0:.1f} s), index caught up {t2 - t1:.1f} s after the last answer "
          f"({mb / (t2 - t0):.1f} MB/s from the first request); post: {post.stdout.strip()}")
    if args.alone:
        # Before the index is emptied and made again (on PostgreSQL the
        # rows deleted stay in the files until vacuumed): the size the
        # indexer leaves following ingest.
        sizes = backend.sizes()
        total = sum(sizes.values())
        print(f"  index on disk as indexed following ingest: {total / 1e6:.1f} MB, "
              f"{total / 1e6 / mb * 1000:.0f} MB per GB of recording")
    if args.alone:
        for table in ("session_index", "keyframes", "screen_chunks"):
            backend.sql(f"DELETE FROM {table}")
        if backend.name == "SQLite":
            backend.sql("INSERT INTO screen_chunks_fts (screen_chunks_fts) VALUES ('delete-all')")
        server, port = start_server(exe, spec)
        base = f"http://127.0.0.1:{port}"
    try:
        if args.alone:
            t3, c3 = time.perf_counter(), cpu_s(server.pid)
            s = wait_indexed(base, s["last_id"])
            t4, c4 = time.perf_counter(), cpu_s(server.pid)
            print(f"  indexing alone: {t4 - t3:.1f} s, {mb / (t4 - t3):.1f} MB/s of recording; server CPU "
                  f"{c4 - c3:.1f} s, {mb / (c4 - c3):.1f} MB per CPU second; verdict {s['integrity']}")
        s = session(base)
        rec = s["rec"]
        duration = s["end_ms"] - s["start_ms"]
        times, sizes = [], []
        for i in range(30):
            t = int(duration * 0.9) + (i - 15) * 997
            dt, body = get(f"{base}/api/v1/sessions/{rec}/at?t={t}")
            times.append(dt * 1000)
            sizes.append(len(body))
        print(f"  at?t= around 90 % of {duration / 1000:.0f} s: "
              f"p50 {pct(times, 50):.1f} ms, p95 {pct(times, 95):.1f} ms, max {max(times):.1f} ms; "
              f"answer {statistics.median(sizes) / 1e3:.0f} kB median")
        for what, url in (("text?q= (on screen)", f"{base}/api/v1/sessions/{rec}/text?q=make%20-j2&limit=100"),
                          ("text?q= (nowhere)", f"{base}/api/v1/sessions/{rec}/text?q=zqxv-nowhere"),
                          ("sessions?text= (nowhere)", f"{base}/api/v1/sessions?text=zqxv-nowhere"),
                          ("sessions?text= (on screen)", f"{base}/api/v1/sessions?text=make%20-j2")):
            ts = []
            for _ in range(10):
                dt, body = get(url)
                ts.append(dt * 1000)
            hits = len(json.loads(body).get("hits", json.loads(body).get("sessions", [])))
            print(f"  {what}: p50 {pct(ts, 50):.1f} ms, p95 {pct(ts, 95):.1f} ms, max {max(ts):.1f} ms, {hits} hits")
        kf = backend.sql("SELECT count(*), sum(length(snap_zstd)) FROM keyframes")[0]
        tx = backend.sql("SELECT count(*), sum(length(" + ("packed" if backend.name == "SQLite" else "text")
                         + ")) FROM screen_chunks")[0]
        print(f"  index size: {kf[0]} keyframes ({int(kf[1]) / 1e6:.1f} MB), {tx[0]} chunks of screen text "
              f"({int(tx[1]) / 1e6:.1f} MB {'packed' if backend.name == 'SQLite' else 'of text'})")
        sizes = backend.sizes()
        total = sum(sizes.values())
        print(f"  index on disk: {total / 1e6:.1f} MB, {total / 1e6 / mb * 1000:.0f} MB per GB of recording: "
              + ", ".join(f"{k} {v / 1e6:.1f}" for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])))
    finally:
        stop_server(server)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres", "both"])
    p.add_argument("build")
    p.add_argument("work")
    p.add_argument("mb", nargs="?", type=int, default=1024)
    p.add_argument("--no-alone", dest="alone", action="store_false",
                   help="leave out the indexing alone (the index is timed while ingest runs only)")
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rec_file = recording(args.build, args.work, args.mb)
    if args.backend in ("sqlite", "both"):
        bench(args, Sqlite(args.work), rec_file)
    if args.backend in ("postgres", "both"):
        with Cluster() as pg:
            bench(args, Postgres(pg), rec_file)


if __name__ == "__main__":
    main()
