#!/usr/bin/env python3
"""The HTTP library comparison (bench/README.md, "server", "HTTP libraries").

    bench/server/http_libs/run.py BUILD [LIBRARY...] [--seconds S] [--streams N]

For each server (httplib, mhd, beast; default all that were built) started
on a free port: 1 MiB POSTs over 4 connections for S seconds (default 10):
requests/s, MB/s and the server's CPU seconds per 100 MB (/proc/PID/stat);
then N streams (default 500) held open, the server's RSS and threads
sampled with them open, and 1 MiB POSTs over 2 connections for S/2 seconds
meanwhile: requests/s with the streams open. Then SIGTERM; peak RSS (wait4).
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

SERVERS = {"httplib": ["{port}", "{streams}"], "mhd": ["{port}", "2"], "beast": ["{port}", "2"]}


def proc(pid):
    with open(f"/proc/{pid}/status") as f:
        st = f.read()
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = int(re.search(r"VmRSS:\s+(\d+)", st).group(1)) / 1024
    threads = int(re.search(r"Threads:\s+(\d+)", st).group(1))
    return cpu, rss, threads


def load(build, port, *args):
    exe = f"{build}/bench/server/http_libs/bench-http-load"
    r = subprocess.run([exe, "127.0.0.1", str(port)] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=600)
    if r.returncode != 0:
        sys.exit(f"bench-http-load {args}: {r.stdout} {r.stderr}")
    return dict(zip(*[iter(r.stdout.split()[1:])] * 2))


def run(build, name, seconds, nstreams):
    args = [a.format(port=0, streams=nstreams) for a in SERVERS[name]]
    srv = subprocess.Popen([f"{build}/bench/server/http_libs/bench-http-{name}"] + args, stdout=subprocess.PIPE,
                           text=True)
    port = int(srv.stdout.readline().split()[-1])
    time.sleep(0.5)  # cpp-httplib starts its thread pool after saying it listens
    idle_cpu, idle_rss, idle_threads = proc(srv.pid)
    cpu0 = proc(srv.pid)[0]
    ing = load(build, port, "ingest", 4, seconds)
    cpu1 = proc(srv.pid)[0]
    mb = float(ing["requests"]) * (1 << 20) / 1e6
    st = subprocess.Popen([f"{build}/bench/server/http_libs/bench-http-load", "127.0.0.1", str(port), "streams",
                           str(nstreams), str(seconds + 10)], stdout=subprocess.PIPE, text=True)
    line = st.stdout.readline()
    if "open" not in line:
        sys.exit(f"{name}: streams did not open: {line}")
    time.sleep(2)
    _, rss_streams, threads_streams = proc(srv.pid)
    during = load(build, port, "ingest", 2, seconds / 2)
    rest = st.stdout.read()
    st.wait()
    m = re.search(r"answered_200 (\d+) sent_data (\d+)", rest)
    srv.send_signal(signal.SIGTERM)
    _, status, ru = os.wait4(srv.pid, 0)
    print(f"| {name} | {float(ing['req_s']):.1f} | {float(ing['mb_s']):.0f} | {(cpu1 - cpu0) / mb * 100:.3f} | "
          f"{idle_threads} / {idle_rss:.1f} MiB | {m.group(1)}/{m.group(2)} of {nstreams} | {threads_streams} | "
          f"{rss_streams:.1f} MiB | {float(during['req_s']):.1f} | {ru.ru_maxrss / 1024:.1f} MiB |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("libraries", nargs="*")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--streams", type=int, default=500)
    a = ap.parse_args()
    built = f"{a.build}/bench/server/http_libs/bench-http-"
    libs = a.libraries or [n for n in SERVERS if os.path.exists(built + n)]
    print("| library | req/s (4 conn.) | MB/s | server CPU s per 100 MB | idle: threads / RSS | streams 200 / with data "
          "| threads, streams open | RSS, streams open | req/s (2 conn.), streams open | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in libs:
        run(a.build, n, a.seconds, a.streams)


if __name__ == "__main__":
    main()
