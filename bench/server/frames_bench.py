#!/usr/bin/env python3
"""The web player's frames route (bench/README.md, "server", "Web player
frames"):

    bench/server/frames_bench.py BUILD WORK [MINUTES] [RUNS]

Writes two busy recordings of MINUTES (default 5) minutes into WORK: `cat`
(a large file printed, 2 KB of coloured log lines every 10 ms) and `top`
(a full-screen program redrawing its 24x80 screen every 250 ms), posts
them to BUILD's tlog-server on a fresh SQLite database, waits for the
index, then for each:
  - plays it all through GET .../frames (from 0, windows of 60 s chained
    by `next`, interval 40): the server's CPU time (its /proc stat before
    and after) and the bytes answered, per minute of recording, and the
    requests made;
  - one minute from the middle (the keyframe restore included);
  - the console's Live poll: one second of frames (interval 10000) from
    positions spread over the recording, each the newest position of a
    session followed there (its cost is the replay from the keyframe
    before it): the server's CPU per poll, the mean of 20 at each;
  - the peer: tlog-play (BUILD's) rendering the same file at full speed
    with no terminal (--export=text to /dev/null: every byte through the
    same terminal model), CPU time from wait4;
  - CPU per MB of recorded output of both and the ratio frames / tlog-play.
The plays alternate (frames, tlog-play, frames, ...) RUNS times (default 5);
medians are printed.
"""
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import start_server, stop_server  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def write_cat(path, minutes):
    out_bytes = 0
    with open(path, "w") as f:
        ident, pos = 0, 0
        line_no = 0
        while pos < minutes * 60000:
            chunk = []
            for _ in range(20):
                line_no += 1
                chunk.append("\x1b[32m%08d\x1b[0m 2026-12-05 kernel: [%d] usb 1-1: new high-speed device number %d "
                             "using xhci_hcd\r\n" % (line_no, line_no, line_no % 128))
            text = "".join(chunk)
            out_bytes += len(text.encode())
            ident += 1
            timing = ("=80x24" if ident == 1 else "") + ">%d" % len(text)
            f.write(json.dumps({"ver": "2.3", "host": "bench", "rec": "r-cat", "user": "u", "term": "xterm",
                                "session": 1, "id": ident, "pos": pos, "time": 1796400000 + pos / 1000,
                                "timing": timing, "in_txt": "", "in_bin": [], "out_txt": text, "out_bin": []}) + "\n")
            pos += 10
    return out_bytes


def write_top(path, minutes):
    out_bytes = 0
    with open(path, "w") as f:
        ident, pos = 0, 0
        while pos < minutes * 60000:
            rows = ["\x1b[?1049h\x1b[H" if ident == 0 else "\x1b[H",
                    "\x1b[1mtop - %02d:%02d:%02d up 3 days, load average: %d.%02d\x1b[0m\x1b[K\r\n" %
                    (pos // 3600000, pos // 60000 % 60, pos // 1000 % 60, pos % 7, pos % 97),
                    "\x1b[7m  PID USER      PR  NI    VIRT    RES  %CPU %MEM     TIME+ COMMAND\x1b[0m\x1b[K\r\n"]
            for r in range(21):
                pid = 1000 + (r * 37 + pos // 250) % 900
                rows.append("%5d root      20   0  %6d  %5d  %4.1f  %3.1f  %2d:%02d.%02d %-10s\x1b[K\r\n" %
                            (pid, 100000 + pid * 3, 5000 + pid, (pid * pos) % 1000 / 10, pid % 50 / 10,
                             pid % 60, pos // 1000 % 60, pos // 10 % 100, "proc%d" % (pid % 13)))
            text = "".join(rows)
            out_bytes += len(text.encode())
            ident += 1
            timing = ("=80x24" if ident == 1 else "") + ">%d" % len(text)
            f.write(json.dumps({"ver": "2.3", "host": "bench", "rec": "r-top", "user": "u", "term": "xterm",
                                "session": 1, "id": ident, "pos": pos, "time": 1796400000 + pos / 1000,
                                "timing": timing, "in_txt": "", "in_bin": [], "out_txt": text, "out_bin": []}) + "\n")
            pos += 250
    return out_bytes


def cpu_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def get(url):
    with urllib.request.urlopen(url, timeout=600) as r:
        return r.read()


def play(base, server, rec, start, stop):
    """Frames from `start` to `stop` (ms): (server CPU s, bytes, requests)."""
    cpu0 = cpu_of(server.pid)
    total, requests, at = 0, 0, start
    while at is not None and at < stop:
        body = get("%s/api/v1/sessions/%s/frames?from=%d&until=%d&interval=40" % (base, rec, at,
                                                                                   min(at + 60000, stop)))
        total += len(body)
        requests += 1
        tail = json.loads(body.rstrip(b"\n").rsplit(b"\n", 1)[1])
        at = tail["next"]
    return cpu_of(server.pid) - cpu0, total, requests


def live_poll(base, server, rec, end):
    """Server CPU (s) of one Live poll, the mean over positions spread to `end`."""
    cpu0, n = cpu_of(server.pid), 0
    for at in range(end // 7, end, end // 7):
        for _ in range(20):
            get("%s/api/v1/sessions/%s/frames?from=%d&until=%d&interval=10000" % (base, rec, at, at + 1000))
            n += 1
    return (cpu_of(server.pid) - cpu0) / n


def tlog_play(build, path):
    t = time.monotonic()
    p = subprocess.Popen([build + "/player/tlog-play/tlog-play", "-i", path, "--export=text"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("tlog-play failed on " + path)
    return ru.ru_utime + ru.ru_stime, time.monotonic() - t


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    build, work = os.path.abspath(sys.argv[1]), sys.argv[2]
    minutes = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    os.makedirs(work, exist_ok=True)
    recs = {"r-cat": (os.path.join(work, "cat.jsonl"), write_cat), "r-top": (os.path.join(work, "top.jsonl"), write_top)}
    out_mb = {}
    for rec, (path, writer) in recs.items():
        out_mb[rec] = writer(path, minutes) / 1e6
    db = os.path.join(work, "frames.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    server, port = start_server(build + "/server/tlog-server", db)
    base = "http://127.0.0.1:%s" % port
    try:
        for rec, (path, _) in recs.items():
            with open(path, "rb") as f:
                lines = f.readlines()
            body = []
            for i, line in enumerate(lines):
                body.append(line)
                if len(body) >= 400 or i == len(lines) - 1:
                    req = urllib.request.Request(base + "/api/v1/ingest", data=b"".join(body), method="POST",
                                                 headers={"Content-Type": "application/x-ndjson"})
                    urllib.request.urlopen(req, timeout=600).read()
                    body = []
        deadline = time.monotonic() + 1800
        while True:
            sessions = json.loads(get(base + "/api/v1/sessions?limit=10"))["sessions"]
            if len(sessions) == 2 and all(s["integrity"]["indexed_through"] == s["messages"] for s in sessions):
                break
            if time.monotonic() > deadline:
                sys.exit("not indexed in 30 minutes")
            time.sleep(0.5)
        for rec, (path, _) in recs.items():
            whole, middle, peer = [], [], []
            end = minutes * 60000
            for _ in range(runs):
                whole.append(play(base, server, rec, 0, end + 1))
                peer.append(tlog_play(build, path))
                middle.append(play(base, server, rec, end // 2, end // 2 + 60000))
            cpu = statistics.median(w[0] for w in whole)
            size = statistics.median(w[1] for w in whole)
            reqs = statistics.median(w[2] for w in whole)
            mid_cpu = statistics.median(m[0] for m in middle)
            mid_size = statistics.median(m[1] for m in middle)
            peer_cpu = statistics.median(p[0] for p in peer)
            poll_cpu = live_poll(base, server, rec, end)
            print("%s: %d min, %.1f MB of output (%.1f MB/min), %d runs" % (rec, minutes, out_mb[rec],
                                                                           out_mb[rec] / minutes, runs))
            print("  frames from 0: %.3f s CPU, %.2f MB answered, %d requests; per minute %.3f s CPU, %.2f MB" %
                  (cpu, size / 1e6, reqs, cpu / minutes, size / 1e6 / minutes))
            print("  frames, one minute from the middle: %.3f s CPU, %.2f MB" % (mid_cpu, mid_size / 1e6))
            print("  tlog-play --export=text: %.3f s CPU" % peer_cpu)
            print("  Live poll: %.1f ms CPU each" % (poll_cpu * 1000))
            print("  CPU per MB of output: frames %.4f s, tlog-play %.4f s, ratio %.2f" %
                  (cpu / out_mb[rec], peer_cpu / out_mb[rec], cpu / peer_cpu))
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
