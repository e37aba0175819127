"""tlog-server's /metrics (Prometheus text format) and its request log: a
recording by our tlog-rec is ingested, sent again (duplicates), a bad line
refused, pages read and an unknown path asked; the counters say exactly
that, and standard error has one JSON line per request (method, path,
route, status, bytes, ms) that never holds a message's content.
Environment: TLOG_SERVER, TLOG_REC."""
import json
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request

from server_play_test import fail, post, record, start_server

LINE = re.compile(r'^([a-z_]+)(\{.*\})? ([0-9]+(?:\.[0-9]+)?)$')


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read(), r.headers.get("Content-Type")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), None


def parse_metrics(text):
    """{(name, labels): value}; fails on any line not in the text format."""
    out, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        m = LINE.match(line)
        if not m:
            fail("not a Prometheus sample line: %r" % line)
        if m.group(1) not in types:
            fail("%s has no # TYPE line before it" % m.group(1))
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out, types


def main():
    d = tempfile.mkdtemp(prefix="tlog-server-metrics.")
    server = None
    try:
        log, msgs, rec = record(d, "gamma", 40)
        server, base = start_server(d)
        body = b"\n".join(msgs) + b"\n"
        for _ in range(2):
            status, _ = post(base + "/api/v1/ingest", body)
            if status != 200:
                fail("ingest: %d" % status)
        status, _ = post(base + "/api/v1/ingest", b'{"ver": 2}\n')
        if status != 400:
            fail("a bad line: %d" % status)
        for path in ("/api/v1/sessions", "/api/v1/sessions/%s/messages" % rec, "/no/such/path",
                     "/api/v1/sessions/nope/messages"):
            get(base + path)
        status, text, ctype = get(base + "/metrics")
        if status != 200 or not ctype.startswith("text/plain"):
            fail("/metrics: %d %s" % (status, ctype))
        m, types = parse_metrics(text.decode())
        want = {
            ("tlog_server_messages_total", '{result="created"}'): len(msgs),
            ("tlog_server_messages_total", '{result="duplicate"}'): len(msgs),
            ("tlog_server_messages_total", '{result="refused"}'): 1,
            ("tlog_server_ingest_bytes_total", ""): 2 * len(body) + len(b'{"ver": 2}\n'),
            ("tlog_server_store_errors_total", ""): 0,
            ("tlog_server_requests_total", '{method="POST",route="/api/v1/ingest",status="200"}'): 2,
            ("tlog_server_requests_total", '{method="POST",route="/api/v1/ingest",status="400"}'): 1,
            ("tlog_server_requests_total", '{method="GET",route="/api/v1/sessions",status="200"}'): 1,
            ("tlog_server_requests_total",
             '{method="GET",route="/api/v1/sessions/{rec}/messages",status="200"}'): 1,
            ("tlog_server_requests_total",
             '{method="GET",route="/api/v1/sessions/{rec}/messages",status="404"}'): 1,
            ("tlog_server_requests_total", '{method="GET",route="unmatched",status="404"}'): 1,
        }
        for key, value in want.items():
            if m.get(key) != value:
                fail("%s%s is %r, expected %r\n%s" % (key[0], key[1], m.get(key), value, text.decode()))
        if types.get("tlog_server_uptime_seconds") != "gauge" or ("tlog_server_uptime_seconds", "") not in m:
            fail("no uptime gauge:\n" + text.decode())
        if types.get("tlog_server_requests_total") != "counter":
            fail("requests_total is not a counter")
        # The scrape itself is counted from the next one on.
        m2, _ = parse_metrics(get(base + "/metrics")[1].decode())
        if m2.get(("tlog_server_requests_total", '{method="GET",route="/metrics",status="200"}')) != 1:
            fail("the first scrape was not counted")

        server.terminate()
        server.wait(timeout=60)
        server = None
        lines = open(os.path.join(d, "server.log"), encoding="utf-8").read().splitlines()
        # Start-up notices are not requests: plain HTTP's, once, and the web
        # console's when it is not installed (a build tree).
        notices = [x for x in lines if x.startswith('{"time_ms"') and '"event":"plain_http"' in x]
        if len(notices) != 1:
            fail("expected the plain HTTP notice once at start, got:\n" + "\n".join(lines))
        notices += [x for x in lines if x.startswith('{"time_ms"') and '"event":"web_console"' in x][:1]
        lines = [x for x in lines if x not in notices]
        entries = [json.loads(x) for x in lines if x.startswith("{")]
        if len(entries) != 9 or len(entries) != len(lines):
            fail("expected 9 request lines (and nothing else), got:\n" + "\n".join(lines))
        for e in entries:
            for k in ("method", "path", "route", "status", "bytes_in", "bytes_out", "ms", "remote", "time_ms"):
                if k not in e:
                    fail("log line without %s: %r" % (k, e))
        # A line is written once the response is out: concurrent requests'
        # lines come in any order.
        ingests = [e for e in entries if (e["method"], e["path"], e["route"], e["status"], e["bytes_in"]) ==
                   ("POST", "/api/v1/ingest", "/api/v1/ingest", 200, len(body))]
        unmatched = [e for e in entries if e["path"] == "/no/such/path"]
        if len(ingests) != 2 or len(unmatched) != 1 or unmatched[0]["route"] != "unmatched" or \
                unmatched[0]["status"] != 404:
            fail("log lines of the ingests %r, of the unknown path %r" % (ingests, unmatched))
        if "gamma line" in "\n".join(lines):
            fail("the log holds recorded text")
        print("ok: /metrics counts requests, messages and bytes; one log line per request")
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(d, True)


if __name__ == "__main__":
    main()
