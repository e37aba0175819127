#!/usr/bin/env python3
"""The sessions search over N sessions (default 1,000,000) on SQLite and
PostgreSQL: p50/p95 of GET /api/v1/sessions as a client sees it (one
keep-alive connection, the server on loopback), for the seed's two
example queries and others (by host, by state, failed authentications,
sorts, deep cursor pages).

The database is filled in bulk by SQL (an INSERT ... SELECT over a
numbers series: SQLite's recursive CTE, PostgreSQL's generate_series)
into the tables tlog-server itself writes (sessions, session_info,
session_groups), after tlog-server created the schema; then ANALYZE.
The data: N sessions over the last N * 31.5 s until now (a year for a
million), 2,000 hosts (100 file servers in NJ "fs*.nj.example.com", 100
in NY, 100 database servers in NJ, the rest workstations), 5,000 users
("jdoe" among them), each in one of 50 groups, 2 % also in "admins";
services sshd 70 %, sudo 20 %, login 10 %; 1 % after failed
authentications; 95 % ended, 3 % closed by the audit trail, the rest
live or idle; 1 to 480 minutes, 1 KB to 5 MB.

Usage: search_bench.py [--backend sqlite|postgres|both] [--runs R] [--reuse] [--pg-dir DIR] BUILD WORK [N]
(PostgreSQL: root, Debian's PostgreSQL in a private cluster.)"""
import argparse
import http.client
import json
import os
import sqlite3
import statistics
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from run import access_args, authorize, plain_http, start_server, stop_server  # noqa: E402
from tlogtest.postgres import Cluster  # noqa: E402

STEP_MS = 31536  # one session every 31.5 s: a year for a million

# One SELECT for both dialects over a column i (1..N) of a numbers source;
# {base} is the first session's start.
HOST = ("CASE WHEN (i * 7919) % 2000 < 100 THEN 'fs' || ((i * 7919) % 2000) || '.nj.example.com' "
        "WHEN (i * 7919) % 2000 < 200 THEN 'fs' || ((i * 7919) % 2000) || '.ny.example.com' "
        "WHEN (i * 7919) % 2000 < 300 THEN 'db' || ((i * 7919) % 2000) || '.nj.example.com' "
        "ELSE 'ws' || ((i * 7919) % 2000) || '.example.com' END")
USER = "CASE WHEN (i * 104729) % 5000 = 42 THEN 'jdoe' ELSE 'user' || ((i * 104729) % 5000) END"
START = "({base} + i * %d + (i * 7) %% 30000)" % STEP_MS
DUR = "(60000 + (i * 2654435761) % 28800000)"

SESSIONS = (f"INSERT INTO sessions (host, rec, \"user\", term, session, first_id, last_id, start_ms, end_ms, "
            f"messages, bytes) SELECT {HOST}, 'r' || i, {USER}, 'xterm', i, 1, 1 + {DUR} / 10000, {START}, "
            f"{START} + {DUR}, 1 + {DUR} / 10000, 1000 + (i * 48271) % 5000000 FROM {{numbers}}")
INFO = (f"INSERT INTO session_info (host, rec, service, tty, rhost, ses, audit_start_ms, failed_auth, closed_ms, "
        f"ended, groups_done, groups) SELECT {HOST}, 'r' || i, "
        f"CASE i % 10 WHEN 0 THEN 'login' WHEN 1 THEN 'sudo' WHEN 2 THEN 'sudo' ELSE 'sshd' END, "
        f"CASE i % 10 WHEN 0 THEN '/dev/tty1' ELSE 'ssh' END, '192.0.2.' || (i % 250), i, {START}, "
        f"CASE WHEN (i * 31) % 100 = 0 THEN 1 + i % 3 ELSE 0 END, "
        f"CASE WHEN i % 100 IN (95, 96, 97) THEN {START} + {DUR} + 1000 END, "
        f"CASE WHEN i % 100 < 95 THEN 1 ELSE 0 END, 1, "
        f"CASE WHEN ((i * 104729) % 5000) % 50 = 0 THEN '[\"admins\",\"g0\"]' "
        f"ELSE '[\"g' || (((i * 104729) % 5000) % 50) || '\"]' END FROM {{numbers}}")
GROUPS = (f"INSERT INTO session_groups (grp, host, rec) SELECT 'g' || (((i * 104729) % 5000) % 50), {HOST}, "
          f"'r' || i FROM {{numbers}}")
ADMINS = (f"INSERT INTO session_groups (grp, host, rec) SELECT 'admins', {HOST}, 'r' || i FROM {{numbers}} "
          f"WHERE ((i * 104729) % 5000) % 50 = 0")

CONFIG = '{"host_groups": {"nj-fileservers": ["fs*.nj.example.com"]}}\n'


# Schema version 8 and later copy failed_auth and ended into sessions, as
# its migration does (a server before it has no such columns).
FLAGS = ("UPDATE sessions SET "
         "failed_auth = (SELECT i.failed_auth FROM session_info i WHERE i.host = sessions.host AND i.rec = sessions.rec), "
         "ended = (SELECT i.ended FROM session_info i WHERE i.host = sessions.host AND i.rec = sessions.rec)")


def fill_sql(n, base, numbers, flags):
    return [s.format(base=base, numbers=numbers) for s in (SESSIONS, INFO, GROUPS, ADMINS)] + ([FLAGS] if flags else [])


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def queries(now_ms):
    # The last full weekend and the week (Monday to Sunday) it ends.
    day = 86400000
    today = now_ms - now_ms % day
    # 1970-01-01 was a Thursday: weekday 0 = Monday.
    weekday = (today // day + 3) % 7
    monday = today - weekday * day - 7 * day
    sat, sun_end = monday + 5 * day, monday + 7 * day - 1000
    return [
        ("John Doe this weekend", {"user": "jdoe", "since": iso(sat), "until": iso(sun_end)}),
        ("admins last week on NJ file servers", {"group": "admins", "host_group": "nj-fileservers",
                                                 "since": iso(monday), "until": iso(sun_end), "time": "start"}),
        ("first page, no filter", {}),
        ("by host", {"host": "fs7.nj.example.com"}),
        ("by host group", {"host_group": "nj-fileservers"}),
        ("state=live", {"state": "live"}),
        ("state=interrupted", {"state": "interrupted"}),
        ("state=ended, last day", {"state": "ended", "since": iso(now_ms - day)}),
        ("failed_auth=1", {"failed_auth": "1"}),
        ("group=admins", {"group": "admins"}),
        ("service=login, -duration", {"service": "login", "sort": "-duration"}),
        ("sort=-bytes", {"sort": "-bytes"}),
        ("sort=-end", {"sort": "-end"}),
    ]


class Client:
    def __init__(self, port, viewer=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=120)
        self.headers = viewer.headers() if viewer else {}

    def get(self, params):
        self.conn.request("GET", "/api/v1/sessions?" + urllib.parse.urlencode(params), headers=self.headers)
        r = self.conn.getresponse()
        body = r.read()
        if r.status != 200:
            sys.exit("%r: %d %s" % (params, r.status, body[:300]))
        return json.loads(body)


def timed(client, params, runs):
    client.get(params)  # warm
    ms = []
    for _ in range(runs):
        t = time.perf_counter()
        page = client.get(params)
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return statistics.median(ms), ms[max(0, int(round(0.95 * len(ms))) - 1)], len(page["sessions"])


def deep_cursor(client, params, depth):
    """The cursor `depth` sessions into `params`' order (pages of 1000)."""
    p = dict(params, limit=1000)
    cursor = None
    for _ in range(depth // 1000):
        if cursor:
            p["cursor"] = cursor
        cursor = client.get(p)["next_cursor"]
    return cursor


def bench(exe, database, conf, runs, label, n):
    server, port = start_server_conf(exe, database, conf)
    try:
        c = Client(port, server.viewer)
        now_ms = int(time.time() * 1000)
        rows = []
        for name, params in queries(now_ms):
            p50, p95, got = timed(c, params, runs)
            rows.append((name, p50, p95, got))
        for sort in ("start", "-bytes"):
            depth = max(1000, n // 2 // 1000 * 1000)
            cur = deep_cursor(c, {"sort": sort}, depth)
            p50, p95, got = timed(c, {"sort": sort, "cursor": cur}, runs)
            rows.append((f"after {depth:,} sessions by cursor, sort={sort}", p50, p95, got))
    finally:
        stop_server(server)
    print(f"\n{label}: p50 / p95 ms over {runs} requests (page of at most 100)")
    print("| query | p50 ms | p95 ms | sessions |")
    print("|---|---|---|---|")
    for name, p50, p95, n in rows:
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {n} |")
    sys.stdout.flush()


def start_server_conf(exe, database, conf):
    # run.py's start_server, with the configuration (host groups).
    import selectors
    import subprocess
    server = subprocess.Popen([exe, "--config", conf, *plain_http(exe), "--listen", "127.0.0.1:0", "--database", database] +
                              access_args(exe, os.path.dirname(os.path.abspath(conf))),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    sel = selectors.DefaultSelector()
    sel.register(server.stdout, selectors.EVENT_READ)
    line = server.stdout.readline() if sel.select(timeout=600) else ""
    if not line.startswith("listening on "):
        server.kill()
        server.wait()
        sys.exit("tlog-server did not start: " + line)
    port = line.strip().rsplit(":", 1)[1]
    server.viewer = authorize(exe, database, port)
    return server, port


def create_schema(exe, database):
    server, _ = start_server(exe, database)
    stop_server(server)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres", "both"])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--reuse", action="store_true",
                    help="search WORK's databases if they hold N sessions (PostgreSQL: with --pg-dir)")
    ap.add_argument("--pg-dir", help="PostgreSQL: keep the cluster in this directory (for --reuse)")
    ap.add_argument("build")
    ap.add_argument("work")
    ap.add_argument("n", nargs="?", type=int, default=1000000)
    a = ap.parse_args()
    exe = os.environ.get("TLOG_SERVER", os.path.join(a.build, "server", "tlog-server"))
    os.makedirs(a.work, exist_ok=True)
    conf = os.path.join(a.work, "search.conf")
    with open(conf, "w") as f:
        f.write(CONFIG)
    base = int(time.time() * 1000) - a.n * STEP_MS - 30000
    if a.backend in ("sqlite", "both"):
        db = os.path.join(a.work, "search.sqlite")
        if a.reuse and os.path.exists(db):
            con = sqlite3.connect(db)
            if con.execute("SELECT count(*) FROM sessions").fetchone()[0] == a.n:
                con.close()
                bench(exe, db, conf, a.runs, f"SQLite, {a.n} sessions", a.n)
                a.backend = "postgres" if a.backend == "both" else "none"
            else:
                con.close()
    if a.backend in ("sqlite", "both"):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.unlink(db + suffix)
        create_schema(exe, db)
        t = time.monotonic()
        con = sqlite3.connect(db)
        numbers = f"(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {a.n}) SELECT i FROM c)"
        flags = con.execute("SELECT 1 FROM pragma_table_info('sessions') WHERE name = 'ended'").fetchone() is not None
        for sql in fill_sql(a.n, base, numbers, flags):
            con.execute(sql)
        con.commit()
        con.execute("ANALYZE")
        con.commit()
        con.close()
        print(f"SQLite: {a.n} sessions filled and analysed in {time.monotonic() - t:.0f} s, "
              f"{os.path.getsize(db) / 1e6:.0f} MB")
        bench(exe, db, conf, a.runs, f"SQLite, {a.n} sessions", a.n)
    if a.backend in ("postgres", "both"):
        with Cluster(keep=a.pg_dir) as pg:
            spec = pg.spec("search")
            exists = pg.psql("SELECT 1 FROM pg_database WHERE datname = 'search'").strip() == "1"
            if not (a.reuse and exists and pg.psql("SELECT count(*) FROM sessions", "search").strip() == str(a.n)):
                if exists:
                    pg.psql("DROP DATABASE search")
                pg.psql("CREATE DATABASE search")
                create_schema(exe, spec)
                t = time.monotonic()
                numbers = f"generate_series(1::bigint, {a.n}::bigint) AS g(i)"
                flags = pg.psql("SELECT 1 FROM information_schema.columns WHERE table_name = 'sessions' "
                                "AND column_name = 'ended'", "search").strip() == "1"
                for sql in fill_sql(a.n, base, numbers, flags):
                    pg.psql(sql, "search")
                pg.psql("VACUUM ANALYZE", "search")
                size = pg.psql("SELECT pg_database_size('search')", "search").strip()
                print(f"PostgreSQL: {a.n} sessions filled and analysed in {time.monotonic() - t:.0f} s, "
                      f"{int(size) / 1e6:.0f} MB")
            bench(exe, spec, conf, a.runs, f"PostgreSQL, {a.n} sessions", a.n)


if __name__ == "__main__":
    main()
