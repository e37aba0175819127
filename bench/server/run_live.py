#!/usr/bin/env python3
"""Live streams benchmark (bench/README.md, "server", live streams).

    bench/server/run_live.py BUILD WORK [N] [KB] [POSTERS] [INTERVAL_MS]

Generates N recordings of about KB KiB each (default 500 x 32) into
WORK/live-recs with bench-server-gen, starts BUILD's tlog-server on a fresh
SQLite database in WORK (its request log in WORK/server.log), and runs
bench-server-live: one stream per recording, the recordings posted as live
sessions by POSTERS connections (default 8), one message per request, each
recording's next message every INTERVAL_MS (default 200). Then stops the
server with SIGTERM and prints its CPU time and peak RSS (wait4).
TLOG_SERVER=PATH runs another tlog-server.
"""
import glob
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import plain_http, recordings, stop_server  # noqa: E402


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    build, work = args[0], args[1]
    n, kb, posters, interval = (args[2:] + ["500", "32", "8", "200"][len(args) - 2:])[:4]
    os.makedirs(work, exist_ok=True)
    files = recordings(build, os.path.join(work, "live-recs"), n, kb, None)
    db = os.path.join(work, "live.sqlite")
    for f in glob.glob(db + "*"):
        os.unlink(f)
    exe = os.environ.get("TLOG_SERVER", os.path.join(build, "server", "tlog-server"))
    with open(os.path.join(work, "server.log"), "wb") as log:
        server = subprocess.Popen([exe, *plain_http(exe), "--listen", "127.0.0.1:0", "--database", db,
                                   "--max-streams", str(int(n) + 10)], stdout=subprocess.PIPE, stderr=log, text=True)
    line = server.stdout.readline()
    if not line.startswith("listening on "):
        server.kill()
        sys.exit("tlog-server did not start: " + line)
    port = line.strip().rsplit(":", 1)[1]
    r = subprocess.run([os.path.join(build, "bench", "server", "bench-server-live"), "127.0.0.1", port,
                        str(server.pid), posters, interval] + files)
    ru = stop_server(server)
    print("server total: cpu_s %.2f (user %.2f, system %.2f) peak_rss_mib %.1f exit %d"
          % (ru.ru_utime + ru.ru_stime, ru.ru_utime, ru.ru_stime, ru.ru_maxrss / 1024, server.returncode))
    sys.exit(r.returncode)


if __name__ == "__main__":
    main()
