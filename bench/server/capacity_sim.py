#!/usr/bin/env python3
"""The capacity model of doc/capacity.md, and a simulation that checks it.

    bench/server/capacity_sim.py [--backend sqlite|postgres|both] [--model-only]
        [--hosts 10000] [--sim-hosts 500] [--window 1800] [--speed 20]
        [--connections 8] BUILD WORK

1. Measures the model's inputs from the benchmark's load generator
   (bench-server-gen: interactive and log-tailing sessions, the recorders'
   payload and latency) and from tlog-audit's output on the tests' audit
   log (events per command and their size), then prints the model for
   --hosts hosts (messages/s average and peak, bytes/day, database size,
   server CPU, PostgreSQL, instances).
2. Simulates --sim-hosts hosts at the model's peak concurrency for
   --window simulated seconds: sessions in progress at the start and
   arriving during the window, each a recording of the generator's pool;
   every host's forwarder posts what its recorder wrote (and its audit
   events) once a --poll (tlog-forward's, 1 s), as JSON lines to
   /api/v1/ingest and /api/v1/audit. The schedule is played --speed times
   faster than real time by bench-server-post (schedule mode) over
   --connections connections, against a fresh tlog-server on SQLite and/or
   PostgreSQL (Debian's, a private cluster; root). 500 hosts at 20x is
   10,000 hosts' peak in real time, with the same requests per message.
3. Measures messages/s, the server's CPU per item (message or audit
   event), database growth per item, and for PostgreSQL its own CPU, WAL
   bytes, commits and bytes written per item, and prints them beside the
   model's per-item figures with the error.
"""
import argparse
import glob
import json
import math
import os
import random
import re
import selectors
import signal
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from tlogtest.postgres import Cluster  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
AUDIT_LOG = os.path.join(HERE, "..", "..", "tests", "audit", "corpus", "audit_log", "raw_head.log")
PAYLOAD = 2048  # the recorders' default (doc/format.md)
LATENCY = 10.0  # the recorders' default latency flush, seconds

# Measured in bench/README.md, "server", "Now" (bench/server/run.py, 4
# connections, 1 MiB bodies): per backend, for messages of the default
# payload (158.5 MB in 75,051 messages) and short ones (--payload 128:
# 30.3 MB in 69,020): MB/s of JSON per server CPU second, stored bytes per
# JSON byte (database after a clean stop).
BENCH = {
    "sqlite": {"big": (158.5e6 / 75051, 96.7, 0.471), "short": (30.3e6 / 69020, 47.0, 0.965)},
    "postgres": {"big": (158.5e6 / 75051, 129.0, 0.495), "short": (30.3e6 / 69020, 62.2, 1.096)},
}


# The server's CPU per request beyond its items: bench/README.md, "The
# one-pass ingest", JSON lines after: the same 158.5 MB took 51.1-53.5 MB/s
# per CPU second in 64 KiB bodies and 60.2-63.2 in 1 MiB bodies (SQLite,
# a commit and a WAL sync per request): the 2,267 more requests cost the
# difference.


def plain_http(exe):
    """["--plain-http"] for a tlog-server with TLS; [] for an older build."""
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60).stdout
    return ["--plain-http"] if "--plain-http" in out else []

def request_cpu():
    small, big = 158.5e6 / 52.3e6, 158.5e6 / 61.7e6
    return (small - big) / (158.5e6 / 65536 - 158.5e6 / 1048576)


def linear(bench, backend):
    """Cost = fixed + per_byte x size, through the two measured sizes: server
    CPU seconds per item, and stored bytes per item."""
    (s1, mbs1, r1), (s2, mbs2, r2) = bench[backend]["big"], bench[backend]["short"]
    cpu1, cpu2 = s1 / (mbs1 * 1e6), s2 / (mbs2 * 1e6)
    cpu_b = (cpu1 - cpu2) / (s1 - s2)
    st1, st2 = r1 * s1, r2 * s2
    st_b = (st1 - st2) / (s1 - s2)
    return {"cpu_a": cpu2 - cpu_b * s2, "cpu_b": cpu_b, "st_a": st2 - st_b * s2, "st_b": st_b}


def duration_s(last_line):
    m = json.loads(last_line)
    return (m["pos"] + sum(int(x) for x in re.findall(r"\+(\d+)", m["timing"]))) / 1000.0


def message_times(lines):
    """When the recorder wrote each message (seconds from the recording's
    start): when its payload was full (its last event), else at the latency
    flush, and never after the next message began."""
    out = []
    parsed = [json.loads(x) for x in lines]
    for i, m in enumerate(parsed):
        last = (m["pos"] + sum(int(x) for x in re.findall(r"\+(\d+)", m["timing"]))) / 1000.0
        t = last if len(lines[i]) >= PAYLOAD else m["pos"] / 1000.0 + LATENCY
        if i + 1 < len(parsed):
            t = min(t, parsed[i + 1]["pos"] / 1000.0)
        out.append(max(t, last))
    return out


class Recording:
    def __init__(self, path, kind):
        with open(path, "rb") as f:
            self.lines = f.read().splitlines()
        self.kind = kind
        self.rec = json.loads(self.lines[0])["rec"]
        self.duration = duration_s(self.lines[-1])
        self.times = message_times(self.lines)
        self.bytes = sum(len(x) + 1 for x in self.lines)
        # Commands: a prompt in the output (bench-server-gen writes one per command).
        self.commands = [t for t, x in zip(self.times, self.lines) if b":~$ " in x] or [0.0]


def pool(build, work, kind, n, kb):
    d = os.path.join(work, kind)
    stamp = os.path.join(d, "generated-with")
    want = "%d %d\n" % (n, kb)
    if not (os.path.exists(stamp) and open(stamp).read() == want):
        os.makedirs(d, exist_ok=True)
        for f in glob.glob(os.path.join(d, "rec-*.jsonl")):
            os.unlink(f)
        subprocess.run([build + "/bench/server/bench-server-gen", d, str(n), str(kb), "default", kind],
                       check=True, stdout=subprocess.DEVNULL)
        with open(stamp, "w") as f:
            f.write(want)
    return [Recording(p, kind) for p in sorted(glob.glob(os.path.join(d, "rec-*.jsonl")))]


def audit_inputs(build):
    """tlog-audit's events of the recorded session in the tests' audit log:
    the session's own (login, authentication, pam_tlog's start), and per
    exec the exec and its file events (rules tlog-exec, tlog-file)."""
    out = subprocess.run([build + "/audit/programs/tlog-audit", "--host", "sim", AUDIT_LOG], check=True,
                         capture_output=True).stdout
    events = [json.loads(x) for x in out.splitlines()]
    ses = next(e["ses"] for e in events if e.get("rec"))
    recorded = [e for e in events if e.get("ses") == ses]
    per_exec = [e for e in recorded if (e.get("key") or "").endswith(("-exec", "-file"))]
    fixed = [e for e in recorded if e not in per_exec]
    execs = sum(1 for e in per_exec if e.get("syscall") == "execve")
    size = sum(len(json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode()) for e in recorded) / len(
        recorded)
    return {"fixed": fixed, "per_exec_events": per_exec, "events_per_exec": len(per_exec) / execs,
            "fixed_events": len(fixed), "bytes": size}


def inputs(recs, audit, execs_per_command):
    k = {}
    for kind in ("interactive", "tail"):
        rs = [r for r in recs if r.kind == kind]
        secs = sum(r.duration for r in rs)
        msgs = sum(len(r.lines) for r in rs)
        k[kind] = {"bytes_s": sum(r.bytes for r in rs) / secs, "msgs_s": msgs / secs,
                   "msg_bytes": sum(r.bytes for r in rs) / msgs,
                   "commands_s": sum(len(r.commands) for r in rs) / secs,
                   "mean_duration": secs / len(rs)}
    k["audit"] = {"fixed": audit["fixed_events"], "per_exec": audit["events_per_exec"],
                  "execs_per_command": execs_per_command, "bytes": audit["bytes"]}
    return k


def model(p, k, backend):
    """The formulas of doc/capacity.md; returns a dict of results."""
    H, S, L, t, P = p.hosts, p.sessions_per_day, p.session_minutes * 60.0, p.tail_share, p.peak
    r = {}
    mix = {"interactive": 1 - t, "tail": t}
    r["concurrent_avg"] = H * S * L / 86400
    r["concurrent_peak"] = P * r["concurrent_avg"]
    r["msgs_s_avg"] = r["concurrent_avg"] * sum(mix[x] * k[x]["msgs_s"] for x in mix)
    a = k["audit"]
    ev_session = {x: a["fixed"] + max(1.0, k[x]["commands_s"] * L) * a["execs_per_command"] * a["per_exec"]
                  for x in mix}
    r["events_per_session"] = sum(mix[x] * ev_session[x] for x in mix)
    r["events_s_avg"] = H * S * r["events_per_session"] / 86400
    r["msgs_s_peak"], r["events_s_peak"] = P * r["msgs_s_avg"], P * r["events_s_avg"]
    r["msg_bytes"] = sum(mix[x] * k[x]["bytes_s"] for x in mix) / sum(mix[x] * k[x]["msgs_s"] for x in mix)
    r["rec_json_day"] = H * S * L * sum(mix[x] * k[x]["bytes_s"] for x in mix)
    r["audit_json_day"] = H * S * r["events_per_session"] * a["bytes"]
    c = linear(BENCH, backend)
    r["stored_per_msg"] = c["st_a"] + c["st_b"] * r["msg_bytes"]
    r["stored_per_event"] = c["st_a"] + c["st_b"] * a["bytes"]
    r["msgs_day"], r["events_day"] = r["msgs_s_avg"] * 86400, r["events_s_avg"] * 86400
    r["stored_day"] = r["msgs_day"] * r["stored_per_msg"] + r["events_day"] * r["stored_per_event"]
    r["db_retention"] = r["stored_day"] * p.retention_days
    r["cpu_per_msg"] = c["cpu_a"] + c["cpu_b"] * r["msg_bytes"]
    r["cpu_per_event"] = c["cpu_a"] + c["cpu_b"] * a["bytes"]
    # One request per host and source with new data each poll: a session's
    # messages are seconds apart (the latency flush, the payload), so each
    # goes alone; its audit events come in bursts, one per command; the
    # session's own events (login, pam_tlog's start) one more per session.
    per_session = sum(mix[x] * (min(k[x]["msgs_s"], 1 / p.poll) + min(k[x]["commands_s"], 1 / p.poll)) for x in mix)
    r["requests_s_peak"] = r["concurrent_peak"] * (per_session + 1 / L)
    r["request_cpu"] = request_cpu()
    r["server_cores_peak"] = (r["msgs_s_peak"] * r["cpu_per_msg"] + r["events_s_peak"] * r["cpu_per_event"]
                              + r["requests_s_peak"] * r["request_cpu"])
    items_peak = r["msgs_s_peak"] + r["events_s_peak"]
    r["items_s_peak"] = items_peak
    # PostgreSQL: assumptions the simulation checks (doc/capacity.md): its
    # CPU per item as the server's, WAL twice the stored bytes (the rows
    # and index entries, and full pages after each checkpoint).
    r["pg_cpu_per_item"] = r["server_cores_peak"] / items_peak
    stored_item = r["stored_day"] / (r["msgs_day"] + r["events_day"])
    r["wal_per_item"] = 2.0 * stored_item
    r["pg_cores_peak"] = items_peak * r["pg_cpu_per_item"]
    r["wal_s_peak"] = items_peak * r["wal_per_item"]
    r["write_s_peak"] = r["wal_s_peak"] + items_peak * stored_item
    # A commit (and a WAL sync) per request; the data pages written at
    # checkpoints, 8 KiB each.
    r["commits_s_peak"] = r["requests_s_peak"]
    r["iops_peak"] = r["commits_s_peak"] + items_peak * stored_item / 8192
    # Instances: the peak at most half of their cores, two at least (one
    # may fail),
    # and each instance stores one request at a time (requests are checked
    # side by side but take turns to store, doc/architecture.md "Collect"),
    # so a commit's time bounds its requests per second.
    r["instances_cpu"] = math.ceil(r["server_cores_peak"] * p.headroom / p.cores_per_instance)
    r["instances_commit"] = math.ceil(r["requests_s_peak"] * p.commit_ms / 1000 * p.headroom)
    r["instances"] = max(2, r["instances_cpu"], r["instances_commit"])
    return r


def print_model(p, k, backend, r):
    print("model, %s, %d hosts, %g sessions/host/day of %g min (%.0f%% log-tailing), peak %gx:"
          % (backend, p.hosts, p.sessions_per_day, p.session_minutes, p.tail_share * 100, p.peak))
    for name, v in r.items():
        print("  %-20s %.6g" % (name, v))


def iso(t):
    ms = int(t * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def schedule(p, k, recs, audit, path):
    """Writes the simulation's requests; returns (messages, events, json bytes)."""
    rnd = random.Random(7)
    by_kind = {x: [r for r in recs if r.kind == x] for x in ("interactive", "tail")}
    used = {x: 0 for x in by_kind}

    def take():
        kind = "tail" if rnd.random() < p.tail_share else "interactive"
        if used[kind] >= len(by_kind[kind]):
            sys.exit("the %s pool is too small: raise --pool" % kind)
        used[kind] += 1
        return by_kind[kind][used[kind] - 1]

    concurrent = p.sim_hosts * p.sessions_per_day * p.session_minutes * 60 / 86400 * p.peak
    sessions = []
    # In progress at the start: an offset into the recording (a recording's
    # chance of being in progress grows with its length; its pool is
    # already drawn by size, so a uniform offset is close enough).
    for _ in range(int(round(concurrent))):
        r = take()
        sessions.append((-rnd.uniform(0, r.duration), r))
    rate = concurrent / (p.session_minutes * 60)
    t = rnd.expovariate(rate)
    while t < p.window:
        sessions.append((t, take()))
        t += rnd.expovariate(rate)
    out = {}  # (host, path, tick) -> [lines]
    serial = 0
    for n, (start, r) in enumerate(sessions):
        host = "sim%05d.example.com" % rnd.randrange(p.sim_hosts)
        for line, mt in zip(r.lines, r.times):
            at = start + mt
            if 0 <= at < p.window:
                out.setdefault((host, "/api/v1/ingest", int(at // p.poll)), []).append(line)
        a = k["audit"]
        evs = [(start, e) for e in audit["fixed"]] if start >= 0 else []
        per_cmd = a["execs_per_command"] * a["per_exec"]
        tmpl = audit["per_exec_events"]
        for ct in r.commands:
            for i in range(int(per_cmd) + (1 if rnd.random() < per_cmd % 1 else 0)):
                evs.append((start + ct, tmpl[i % len(tmpl)]))
        for at, e in evs:
            if 0 <= at < p.window:
                serial += 1
                e = dict(e, host=host, ses=n + 1, rec=r.rec, serial=serial, time=iso(1764800000 + at))
                line = json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode()
                out.setdefault((host, "/api/v1/audit", int(at // p.poll)), []).append(line)
    msgs = events = nbytes = 0
    # Sent at the end of the poll interval, each host with its own phase;
    # bench-server-post takes the requests in file order.
    reqs = sorted(((tick + 1) * p.poll * 1000 + zlib.crc32(host.encode()) % int(p.poll * 1000), route, lines)
                  for (host, route, tick), lines in out.items())
    with open(path, "wb") as f:
        for due, route, lines in reqs:
            body = b"\n".join(lines) + b"\n"
            f.write(b"%d %s %d %d\n" % (due, route.encode(), len(lines), len(body)) + body)
            if route.endswith("ingest"):
                msgs += len(lines)
            else:
                events += len(lines)
            nbytes += len(body) - len(lines)
    return msgs, events, nbytes, len(reqs), len(sessions)


def proc_cpu(pids):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


def proc_written(pids, by_name=None, field="write_bytes"):
    """Bytes the processes caused to be written to storage (/proc/PID/io
    write_bytes), or passed to write() (wchar); by_name, if given, gets them
    per process title."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/io" % pid) as f:
                io = dict(x.split(": ") for x in f.read().splitlines())
                n = int(io[field])
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                title = f.read().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        total += n
        if by_name is not None:
            key = re.sub(r"\d+", "N", title)
            by_name[key] = by_name.get(key, 0) + n
    return total


def postgres_pids(pg):
    """The cluster's own processes: its postmaster and its children (other
    clusters on the machine run as the same user)."""
    with open(os.path.join(pg.data, "postmaster.pid")) as f:
        master = int(f.readline())
    out = [master]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                        out.append(int(d))
            except OSError:
                pass
    return out


def start_server(exe, database, log):
    with open(log, "ab") as err:
        server = subprocess.Popen([exe, *plain_http(exe), "--listen", "127.0.0.1:0", "--database", database], stdout=subprocess.PIPE,
                                  stderr=err, text=True)
    sel = selectors.DefaultSelector()
    sel.register(server.stdout, selectors.EVENT_READ)
    line = server.stdout.readline() if sel.select(timeout=120) else ""
    if not line.startswith("listening on "):
        server.kill()
        sys.exit("tlog-server did not start: " + line)
    return server, line.strip().rsplit(":", 1)[1]


def simulate(p, backend, sched, totals, pg=None):
    msgs, events, nbytes, nreq, nsess = totals
    exe = os.environ.get("TLOG_SERVER", p.build + "/server/tlog-server")
    if backend == "sqlite":
        db = os.path.join(p.work, "sim.sqlite")
        for s in ("", "-wal", "-shm"):
            if os.path.exists(db + s):
                os.unlink(db + s)
        spec = db
    else:
        pg.psql("DROP DATABASE IF EXISTS sim")
        pg.psql("CREATE DATABASE sim")
        spec = pg.spec("sim")
    server, port = start_server(exe, spec, os.path.join(p.work, "server.log"))
    m = {}
    try:
        def sample():
            s = {"server_cpu": proc_cpu([server.pid]), "server_written": proc_written([server.pid])}
            if pg:
                pp = postgres_pids(pg)
                s["pg_cpu"] = proc_cpu(pp)
                s["pg_by_process"] = {}
                s["pg_written"] = proc_written(pp, s["pg_by_process"])
                s["pg_wchar"] = proc_written(pp, field="wchar")
                s["wal"] = int(pg.psql("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint").strip())
                s["commits"] = int(pg.psql("SELECT xact_commit FROM pg_stat_database WHERE datname = 'sim'").strip())
                s["db"] = int(pg.psql("SELECT pg_database_size('sim')").strip())
                s["wal_write"], s["wal_sync"] = map(int, pg.psql(
                    "SELECT wal_write, wal_sync FROM pg_stat_wal").strip().split("|"))
            else:
                s["db"] = sum(os.path.getsize(db + x) for x in ("", "-wal") if os.path.exists(db + x))
            return s

        before = sample()
        post = subprocess.run([p.build + "/bench/server/bench-server-post", "127.0.0.1", port, "schedule",
                               str(p.connections), str(p.speed), sched], stdout=subprocess.PIPE, text=True,
                              timeout=7200)
        if pg:
            pg.psql("CHECKPOINT")
        after = sample()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
    if backend == "sqlite":
        after["db"] = sum(os.path.getsize(db + x) for x in ("", "-wal") if os.path.exists(db + x))
    f = dict(zip(post.stdout.split()[0::2], post.stdout.split()[1::2]))
    if post.returncode != 0 or f.get("failures") != "0":
        sys.exit("the simulation's requests failed: %s" % post.stdout)
    items = msgs + events
    wall = float(f["wall_s"])
    m["sessions"], m["requests"], m["messages"], m["events"] = nsess, nreq, msgs, events
    m["wall_s"] = wall
    m["items_s"] = items / wall
    m["msgs_s"], m["events_s"] = msgs / wall, events / wall
    m["requests_s"] = nreq / wall
    m["late_p99_s"], m["late_max_s"] = float(f["late_p99_s"]), float(f["late_max_s"])
    m["took_p50_s"], m["took_p99_s"] = float(f["took_p50_s"]), float(f["took_p99_s"])
    m["server_cpu_per_item"] = (after["server_cpu"] - before["server_cpu"]) / items
    m["server_cores"] = (after["server_cpu"] - before["server_cpu"]) / wall
    m["db_per_item"] = (after["db"] - before["db"]) / items
    m["json_per_item"] = nbytes / items
    if pg:
        m["pg_cpu_per_item"] = (after["pg_cpu"] - before["pg_cpu"]) / items
        m["pg_cores"] = (after["pg_cpu"] - before["pg_cpu"]) / wall
        m["wal_per_item"] = (after["wal"] - before["wal"]) / items
        m["commits_per_request"] = (after["commits"] - before["commits"]) / nreq
        m["wal_writes_per_request"] = (after["wal_write"] - before["wal_write"]) / nreq
        m["wal_syncs_per_request"] = (after["wal_sync"] - before["wal_sync"]) / nreq
        m["pg_written_per_item"] = (after["pg_written"] - before["pg_written"]) / items
        m["pg_write_calls_bytes_per_item"] = (after["pg_wchar"] - before["pg_wchar"]) / items
        for name, n in sorted(after["pg_by_process"].items()):
            m["written_per_item " + name] = (n - before["pg_by_process"].get(name, 0)) / items
    else:
        m["written_per_item"] = (after["server_written"] - before["server_written"]) / items
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    ap.add_argument("--model-only", action="store_true")
    ap.add_argument("--hosts", type=int, default=10000)
    ap.add_argument("--sessions-per-day", type=float, default=5)
    ap.add_argument("--session-minutes", type=float, default=30)
    ap.add_argument("--tail-share", type=float, default=0.2)
    ap.add_argument("--peak", type=float, default=3)
    ap.add_argument("--execs-per-command", type=float, default=3)
    ap.add_argument("--retention-days", type=float, default=365)
    ap.add_argument("--headroom", type=float, default=2)
    ap.add_argument("--cores-per-instance", type=float, default=2)
    # A request's store and commit: 2.5 ms (SQLite, and PostgreSQL on a
    # quiet disk) to 4.7 ms (PostgreSQL, shared disk), measured by the
    # simulation (doc/capacity.md).
    ap.add_argument("--commit-ms", type=float, default=4.7)
    ap.add_argument("--poll", type=float, default=1.0, help="tlog-forward's poll, seconds (its default: 1)")
    ap.add_argument("--sim-hosts", type=int, default=500)
    ap.add_argument("--window", type=float, default=1800)
    ap.add_argument("--speed", type=float, default=20)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--pool", type=int, default=0, help="recordings of each kind (default: enough)")
    ap.add_argument("build")
    ap.add_argument("work")
    p = ap.parse_args()
    os.makedirs(p.work, exist_ok=True)
    need = p.sim_hosts * p.sessions_per_day * p.session_minutes * 60 / 86400 * p.peak * (
        1 + p.window / (p.session_minutes * 60))
    n = p.pool or int(need * 1.3) + 10
    # Sizes that make sessions of --session-minutes on average (the
    # generator's output per second, measured: interactive about 170 bytes
    # of output a second, log-tailing about 400; sizes 0.25x to 2x).
    kb_int = int(p.session_minutes * 60 * 170 / 1024 / 1.125)
    kb_tail = int(p.session_minutes * 60 * 400 / 1024 / 1.125)
    recs = pool(p.build, p.work, "interactive", int(n * (1 - p.tail_share)) + 5, kb_int)
    recs += pool(p.build, p.work, "tail", int(n * p.tail_share) + 5, kb_tail)
    audit = audit_inputs(p.build)
    k = inputs(recs, audit, p.execs_per_command)
    print("inputs measured from the generator and the audit log:")
    print(json.dumps(k, indent=1))
    backends = ["sqlite", "postgres"] if p.backend == "both" else [p.backend]
    models = {}
    for b in backends:
        models[b] = model(p, k, b)
        print_model(p, k, b, models[b])
    if p.model_only:
        return 0
    sched = os.path.join(p.work, "schedule")
    totals = schedule(p, k, recs, audit, sched)
    print("simulation: %d hosts, %g s at %gx (%g hosts' rate in real time): %d sessions, %d requests, "
          "%d messages, %d audit events, %d bytes of JSON"
          % (p.sim_hosts, p.window, p.speed, p.sim_hosts * p.speed, totals[4], totals[3], totals[0], totals[1],
             totals[2]))
    # The model for the simulated rate: --sim-hosts x --speed hosts.
    sim_p = argparse.Namespace(**vars(p))
    sim_p.hosts = p.sim_hosts * p.speed
    for b in backends:
        mm = model(sim_p, k, b)
        if b == "postgres":
            with Cluster() as pg:
                m = simulate(p, b, sched, totals, pg)
        else:
            m = simulate(p, b, sched, totals)
        print("simulated, %s:" % b)
        for name, v in m.items():
            print("  %-22s %.6g" % (name, v))
        rows = [("items/s (messages + audit events)", mm["items_s_peak"], m["items_s"]),
                ("messages/s", mm["msgs_s_peak"], m["msgs_s"]),
                ("audit events/s", mm["events_s_peak"], m["events_s"]),
                ("requests/s", mm["requests_s_peak"], m["requests_s"]),
                ("server CPU µs per item", 1e6 * mm["server_cores_peak"] / mm["items_s_peak"],
                 1e6 * m["server_cpu_per_item"]),
                ("database bytes per item", mm["stored_day"] / (mm["msgs_day"] + mm["events_day"]), m["db_per_item"])]
        if b == "postgres":
            rows += [("PostgreSQL CPU µs per item", 1e6 * mm["pg_cpu_per_item"], 1e6 * m["pg_cpu_per_item"]),
                     ("WAL bytes per item", mm["wal_per_item"], m["wal_per_item"]),
                     ("commits per request", 1.0, m["commits_per_request"])]
        print("| %s | model | simulated | model / simulated |" % b)
        print("|---|---|---|---|")
        for name, want, got in rows:
            print("| %s | %.4g | %.4g | %.2f |" % (name, want, got, want / got if got else float("nan")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
