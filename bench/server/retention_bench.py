#!/usr/bin/env python3
"""Ingest while a retention run purges (bench/README.md, "Retention: ingest
during a purge").

    bench/server/retention_bench.py [--backend sqlite|postgres] BUILD WORK [N] [MESSAGES]

Starts BUILD's tlog-server on a fresh database in WORK, stores N
recordings (default 1000) of MESSAGES messages (default 100, about 500
bytes of JSON each), then posts a live session one message a request (as
a recorder sends an active terminal) for 10 s alone and again while
`tlog-server retention run` purges the N recordings (a class of one day,
the run's clock a year ahead; the live session's host is on legal hold),
and prints the requests' latency (median, 99th percentile, worst) in
each phase, the requests per second, and how long the purge took.
"""
import argparse
import json
import os
import selectors
import shutil
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from tlogtest.postgres import Cluster  # noqa: E402


def message(host, rec, i, t):
    out = ("x" * 300) + " line %d" % i
    return ('{"ver":"2.3","host":"%s","rec":"%s","user":"bench","term":"xterm","session":1,"id":%d,"pos":%d,'
            '"time":%.3f,"timing":">%d","in_txt":"","in_bin":[],"out_txt":"%s","out_bin":[]}'
            % (host, rec, i, i * 10, t, len(out), out))


def post(base, body):
    req = urllib.request.Request(base + "/api/v1/ingest", data=body, method="POST",
                                 headers={"Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(req, timeout=120) as r:
        r.read()
        if r.status != 200:
            raise SystemExit("ingest: %d" % r.status)


def start(server, conf, work):
    log = open(os.path.join(work, "server.log"), "ab")
    p = subprocess.Popen([server, "--config", conf, "--listen", "127.0.0.1:0", "--plain-http"], stdout=subprocess.PIPE, stderr=log)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=60):
        p.kill()
        raise SystemExit("tlog-server did not start")
    return p, "http://" + p.stdout.readline().decode().split()[-1]


def live(base, start_id, until):
    """Posts one message a request until until() is true; the latencies."""
    lat, i = [], start_id
    while not until():
        i += 1
        body = (message("live-host", "live", i, time.time()) + "\n").encode()
        t = time.perf_counter()
        post(base, body)
        lat.append(time.perf_counter() - t)
    return lat, i


def summary(name, lat, seconds):
    lat = sorted(lat)
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    print("%-14s %6d requests %7.0f/s  median %6.2f ms  p99 %7.2f ms  worst %7.2f ms"
          % (name, len(lat), len(lat) / seconds, pick(0.5), pick(0.99), lat[-1] * 1000))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("build")
    ap.add_argument("work")
    ap.add_argument("n", nargs="?", type=int, default=1000)
    ap.add_argument("messages", nargs="?", type=int, default=100)
    a = ap.parse_args()
    server = os.path.join(os.path.abspath(a.build), "server", "tlog-server")
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    cluster = Cluster() if a.backend == "postgres" else None
    database = ("postgres:" + cluster.__enter__().conninfo()) if cluster else os.path.join(a.work, "db.sqlite")
    try:
        conf = os.path.join(a.work, "server.conf")
        with open(conf, "w") as f:
            json.dump({"database": database, "retention": {"day": {"days": 1}}, "retention_default": "day"}, f)
        p, base = start(server, conf, a.work)
        try:
            t0 = time.time() - 86400
            for r in range(a.n):
                post(base, "".join(message("old-host", "old-%d" % r, i, t0 + i) + "\n"
                                   for i in range(1, a.messages + 1)).encode())
            subprocess.run([server, "hold", "set", "--config", conf, "--host", "live-host", "--reason", "bench"],
                           check=True, capture_output=True)
            end = time.time() + 10
            lat, last = live(base, 0, lambda: time.time() > end)
            summary("alone", lat, 10)
            now = str(int(time.time()) + 365 * 86400)
            t = time.time()
            # Its report to a file: a pipe read only at the end would fill.
            with open(os.path.join(a.work, "run.out"), "wb") as out, open(os.path.join(a.work, "run.err"), "wb") as err:
                run = subprocess.Popen([server, "retention", "run", "--config", conf, "--now", now], stdout=out,
                                       stderr=err)
                lat, last = live(base, last, lambda: run.poll() is not None)
            took = time.time() - t
            if run.returncode != 0:
                raise SystemExit("retention run: %r" % open(os.path.join(a.work, "run.err")).read())
            summary("during purge", lat, took)
            purged = sum(1 for line in open(os.path.join(a.work, "run.out")) if line.startswith("purged "))
            print("purge: %d recordings of %d messages in %.2f s (%.0f recordings/s)"
                  % (purged, a.messages, took, purged / took))
        finally:
            p.terminate()
            p.wait(timeout=60)
    finally:
        if cluster:
            cluster.__exit__(None, None, None)


if __name__ == "__main__":
    main()
