#!/usr/bin/env python3
"""Two tlog-server builds index the same recordings identically
(bench/README.md, "server", "Index: the indexer's CPU"):

    bench/server/index_compare.py BEFORE_BUILD AFTER_BUILD WORK [MB]

Writes recordings into WORK (kept and reused): interactive shell sessions
and log tails (bench-server-gen, the index benchmark's kind of recording,
MB megabytes in all, default 20) and curses programs redrawing full
screens, scrolling logs and window changes (bench-gen-recording, MB/2);
posts them to AFTER_BUILD's tlog-server on a fresh SQLite database; then,
for each build, on a copy of that database with the index tables emptied,
starts its tlog-server, waits until every session is indexed, and dumps
the index: each session's verdict, every keyframe (position, message,
snapshot and rendering state, compressed bytes included) and every chunk
of screen text (its rows' messages, positions, rows and text, compressed
bytes included, in the order stored; both builds of schema version 7 or
later). Prints
each build's counts and server CPU, and exits 1 when the dumps differ.
A check for changes to the indexer that must not change what it finds,
not a test: it needs two builds.
"""
import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import start_server, stop_server  # noqa: E402


def recordings(build, work, mb):
    d = os.path.join(work, "recordings")
    stamp = os.path.join(d, "generated-with")
    if os.path.exists(stamp) and open(stamp).read() == f"{mb}\n":
        return sorted(glob.glob(os.path.join(d, "*.jsonl")))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    gen = f"{build}/bench/server/bench-server-gen"
    # 6 shell sessions (each 0.25x to 2x the size asked), 2 log tails.
    subprocess.run([gen, os.path.join(d), "6", str(mb * 1024 // 8)], check=True, stdout=subprocess.DEVNULL)
    tails = os.path.join(d, "tails")
    os.makedirs(tails)
    subprocess.run([gen, tails, "2", str(mb * 1024 // 16), "2048", "tail"], check=True, stdout=subprocess.DEVNULL)
    for i, f in enumerate(sorted(glob.glob(os.path.join(tails, "*.jsonl")))):
        os.rename(f, os.path.join(d, f"tail-{i}.jsonl"))
    os.rmdir(tails)
    subprocess.run([f"{build}/bench/player/bench-gen-recording", os.path.join(d, "curses.jsonl"), str(max(mb // 2, 1))],
                   check=True, stdout=subprocess.DEVNULL)
    with open(stamp, "w") as s:
        s.write(f"{mb}\n")
    return sorted(glob.glob(os.path.join(d, "*.jsonl")))


def sessions(base):
    with urllib.request.urlopen(base + "/api/v1/sessions?limit=1000", timeout=600) as r:
        return json.loads(r.read())["sessions"]


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def index(build, db):
    """Indexes db (its index emptied) with build's server; the server's CPU seconds."""
    c = sqlite3.connect(db)
    for table in ("session_index", "keyframes", "screen_chunks"):
        c.execute(f"DELETE FROM {table}")
    c.execute("INSERT INTO screen_chunks_fts (screen_chunks_fts) VALUES ('delete-all')")
    c.commit()
    c.close()
    server, port = start_server(f"{build}/server/tlog-server", db)
    base = f"http://127.0.0.1:{port}"
    try:
        c0 = cpu_s(server.pid)
        deadline = time.monotonic() + 3600
        while True:
            ss = sessions(base)
            if all(s["integrity"]["indexed_through"] >= s["last_id"] for s in ss):
                break
            if time.monotonic() > deadline:
                sys.exit(f"{build}: the index did not catch up")
            time.sleep(0.2)
        return cpu_s(server.pid) - c0
    finally:
        stop_server(server)


def dump(db, out):
    """The index tables as text lines; their counts."""
    c = sqlite3.connect(db)
    counts = {}
    with open(out, "w") as f:
        for name, sql in (
                ("sessions", "SELECT host, rec, verdict, label, first_bad_id, indexed_through FROM session_index "
                             "ORDER BY host, rec"),
                ("keyframes", "SELECT k.sid, pos_ms, msg_id, snap_size, hex(snap_zstd), base_size, hex(base_zstd) "
                              "FROM keyframes k ORDER BY k.sid, msg_id"),
                # A chunk's rows (ids, positions, rows, text) in one zstd
                # frame: equal frames, equal rows in equal chunks.
                ("chunks", "SELECT sid, first_id, last_id, packed_size, hex(packed) FROM screen_chunks ORDER BY cid")):
            n = 0
            for row in c.execute(sql):
                f.write(name + "\t" + "\t".join(str(v) for v in row) + "\n")
                n += 1
            counts[name] = n
    c.close()
    return counts


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    before, after, work = sys.argv[1:4]
    mb = int(sys.argv[4]) if len(sys.argv) == 5 else 20
    os.makedirs(work, exist_ok=True)
    files = recordings(after, work, mb)
    db = os.path.join(work, "messages.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    server, port = start_server(f"{after}/server/tlog-server", db)
    try:
        subprocess.run([f"{after}/bench/server/bench-server-post", "127.0.0.1", port, "ingest", "2", "1024"] + files,
                       check=True, stdout=subprocess.DEVNULL, timeout=3600)
    finally:
        stop_server(server)
    digests = []
    for name, build in (("before", before), ("after", after)):
        copy = os.path.join(work, f"{name}.sqlite")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(copy + suffix):
                os.unlink(copy + suffix)
            if os.path.exists(db + suffix):
                shutil.copy(db + suffix, copy + suffix)
        cpu = index(build, copy)
        out = os.path.join(work, f"{name}.txt")
        counts = dump(copy, out)
        with open(out, "rb") as f:
            digests.append(hashlib.sha256(f.read()).hexdigest())
        print(f"{name}: {len(files)} recordings, {sum(os.path.getsize(f) for f in files) / 1e6:.1f} MB; "
              f"server CPU {cpu:.1f} s; {counts['sessions']} sessions, {counts['keyframes']} keyframes, "
              f"{counts['chunks']} chunks of screen text; sha256 {digests[-1][:16]}")
    if digests[0] != digests[1]:
        print(f"DIFFERENT: diff {work}/before.txt {work}/after.txt")
        sys.exit(1)
    print("identical")


if __name__ == "__main__":
    main()
