#!/usr/bin/env python3
"""A recording's audit events, GET /api/v1/sessions/REC/audit, as a client
sees it (the server on loopback), with and without failed authentications
listed in the start event (failed_auth_before), on SQLite and PostgreSQL:
what looking them up costs a page.

Two recordings on two hosts, each with EVENTS events carrying its rec
(after the start event); one's start event lists FAILURES failed
authentications, nine in ten of them stored (the rest reported missing).
Posted through POST /api/v1/audit. Each page (limit 100, and limit 10000)
is asked RUNS times; the median and p95 in milliseconds.

Usage: audit_trail_bench.py [--backend sqlite|postgres|both] [--runs R] BUILD WORK [FAILURES [EVENTS]]
(PostgreSQL: root, Debian's PostgreSQL in a private cluster.)"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from tlogtest.postgres import Cluster  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import access_args, authorize  # noqa: E402

T0 = 1796400000000




def plain_http(exe):
    """["--plain-http"] for a tlog-server with TLS; [] for an older build."""
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60).stdout
    return ["--plain-http"] if "--plain-http" in out else []

def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def events(rec, host, failures, n):
    lines, listed = [], []
    for i in range(failures):
        ms = T0 + i * 10
        if i % 10 != 9:
            lines.append({"serial": 1000 + i, "time": iso(ms), "host": host, "ses": None, "type": "USER_AUTH",
                          "acct": "alice", "res": "failed"})
        listed.append({"serial": 1000 + i, "time": iso(ms)})
    start = {"serial": 50000, "time": iso(T0 + 100000), "host": host, "ses": 7, "rec": rec, "type": "TRUSTED_APP",
             "op": "tlog-session-start", "acct": "alice", "service": "sshd"}
    if listed:
        start["failed_auth_before"] = listed
    lines.append(start)
    for i in range(n):
        lines.append({"serial": 60000 + i, "time": iso(T0 + 200000 + i), "host": host, "ses": 7, "rec": rec,
                      "type": "SYSCALL", "exe": "/usr/bin/ls"})
    return [json.dumps(e, separators=(",", ":")) for e in lines]


def bench(exe, database, work, label, failures, n, runs):
    with open(os.path.join(work, "server.log"), "ab") as log:
        p = subprocess.Popen([exe, *plain_http(exe), "--listen", "127.0.0.1:0", "--database", database] + access_args(exe, work),
                             stdout=subprocess.PIPE,
                             stderr=log)
    try:
        base = "http://" + p.stdout.readline().decode().split()[-1]
        authorize(exe, database, base.rsplit(":", 1)[1])
        for rec, host, f in (("with-failures", "h1", failures), ("without", "h2", 0)):
            lines = events(rec, host, f, n)
            for k in range(0, len(lines), 5000):
                req = urllib.request.Request(base + "/api/v1/audit", data=("\n".join(lines[k:k + 5000]) + "\n").encode(),
                                             method="POST", headers={"Content-Type": "application/x-ndjson"})
                with urllib.request.urlopen(req, timeout=600) as r:
                    assert json.loads(r.read())["failed"] == 0
        print(f"{label}: {failures} failures listed, {n} events")
        for rec in ("with-failures", "without"):
            for limit in (100, 10000):
                times = []
                for _ in range(runs + 1):
                    t = time.perf_counter()
                    with urllib.request.urlopen(f"{base}/api/v1/sessions/{rec}/audit?limit={limit}", timeout=60) as r:
                        r.read()
                    times.append((time.perf_counter() - t) * 1000)
                times = sorted(times[1:])  # the first warms
                print(f"  {rec:14} limit {limit:5}: median {statistics.median(times):6.2f} ms, "
                      f"p95 {times[int(len(times) * 0.95) - 1]:6.2f} ms")
    finally:
        p.terminate()
        p.wait(30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres", "both"])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("build")
    ap.add_argument("work")
    ap.add_argument("failures", nargs="?", type=int, default=200)
    ap.add_argument("events", nargs="?", type=int, default=20000)
    a = ap.parse_args()
    exe = os.environ.get("TLOG_SERVER", os.path.join(a.build, "server", "tlog-server"))
    os.makedirs(a.work, exist_ok=True)
    if a.backend in ("sqlite", "both"):
        db = os.path.join(a.work, "audit.sqlite")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.unlink(db + suffix)
        bench(exe, db, a.work, "SQLite", a.failures, a.events, a.runs)
    if a.backend in ("postgres", "both"):
        with Cluster() as pg:
            pg.psql("CREATE DATABASE audit")
            bench(exe, pg.spec("audit"), a.work, "PostgreSQL", a.failures, a.events, a.runs)


if __name__ == "__main__":
    main()
