#!/usr/bin/env python3
"""tlog-server's ingest benchmark (bench/README.md, "server").

    bench/server/run.py BUILD WORK [N] [KB] [CONNECTIONS] [BODY_KB] [MODES]

Generates N recordings of about KB KiB each into WORK/recs (once; default
200 x 512), runs the in-process stages (bench-server-stages: librec's
decode, the server's validation, the store, both), then for each mode
(default "ingest,bulk,null") starts BUILD's tlog-server on a fresh SQLite
database in WORK, posts every recording over CONNECTIONS connections
(default 4) in bodies of BODY_KB (default 1024) with bench-server-post,
stops the server with SIGTERM and reports the server's CPU time (user,
system), its peak RSS, and the stored bytes per byte of JSON (the database
file after the server closed it, and the compressed messages alone).
TLOG_SERVER=PATH runs another tlog-server (an older build, side by side);
STAGES=0 leaves out the in-process stages.
"""
import glob
import os
import signal
import sqlite3
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    build, work = sys.argv[1], sys.argv[2]
    n = sys.argv[3] if len(sys.argv) > 3 else "200"
    kb = sys.argv[4] if len(sys.argv) > 4 else "512"
    conns = sys.argv[5] if len(sys.argv) > 5 else "4"
    body_kb = sys.argv[6] if len(sys.argv) > 6 else "1024"
    modes = (sys.argv[7] if len(sys.argv) > 7 else "ingest,bulk,null").split(",")
    recs = os.path.join(work, "recs")
    os.makedirs(recs, exist_ok=True)
    files = sorted(glob.glob(os.path.join(recs, "rec-*.jsonl")))
    if len(files) != int(n):
        for f in files:
            os.unlink(f)
        subprocess.run([f"{build}/bench/server/bench-server-gen", recs, n, kb], check=True)
        files = sorted(glob.glob(os.path.join(recs, "rec-*.jsonl")))
    json_bytes = sum(os.path.getsize(f) for f in files)
    print(f"{len(files)} recordings, {json_bytes} bytes of JSON lines", flush=True)
    if os.environ.get("STAGES", "1") != "0":
        subprocess.run([f"{build}/bench/server/bench-server-stages", work, body_kb] + files, check=True)
    server_exe = os.environ.get("TLOG_SERVER", f"{build}/server/tlog-server")
    for mode in modes:
        db = os.path.join(work, "server.sqlite")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.unlink(db + suffix)
        server = subprocess.Popen([server_exe, "--listen", "127.0.0.1:0", "--database", db],
                                  stdout=subprocess.PIPE, text=True)
        line = server.stdout.readline()
        if not line.startswith("listening on "):
            print("tlog-server did not start: " + line, file=sys.stderr)
            server.kill()
            return 1
        port = line.strip().rsplit(":", 1)[1]
        post = subprocess.run([f"{build}/bench/server/bench-server-post", "127.0.0.1", port, mode, conns, body_kb]
                              + files, stdout=subprocess.PIPE, text=True, timeout=1800)
        server.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 120
        while True:
            pid, status, ru = os.wait4(server.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                server.kill()
                pid, status, ru = os.wait4(server.pid, 0)
                break
            time.sleep(0.05)
        server.returncode = os.waitstatus_to_exitcode(status)
        fields = dict(zip(post.stdout.split()[0::2], post.stdout.split()[1::2]))
        cpu = ru.ru_utime + ru.ru_stime
        sent = int(fields.get("json_bytes", 0))
        line = (f"{mode}: {fields.get('json_mb_s')} MB/s of JSON, {fields.get('msg_s')} messages/s, "
                f"wall {fields.get('wall_s')} s, server cpu {cpu:.2f} s (user {ru.ru_utime:.2f}, "
                f"sys {ru.ru_stime:.2f}), {sent / 1e6 / cpu:.1f} MB/s per server CPU second, "
                f"max RSS {ru.ru_maxrss / 1024:.1f} MiB, failures {fields.get('failures')}, "
                f"exit {server.returncode}")
        if mode != "null" and os.path.exists(db):
            with sqlite3.connect(db) as c:
                blob, size = c.execute("SELECT sum(length(json_zstd)), sum(json_size) FROM messages").fetchone()
            line += (f", stored {os.path.getsize(db) / sent:.3f} bytes per JSON byte "
                     f"(compressed messages alone {blob / size:.3f})")
        print(line, flush=True)
        if post.returncode != 0:
            print(post.stdout, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
