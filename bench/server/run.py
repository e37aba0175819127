#!/usr/bin/env python3
"""tlog-server's ingest benchmark (bench/README.md, "server").

    bench/server/run.py [--backend sqlite|postgres|both] [--payload BYTES] [--sample SECONDS]
                        [--pg-sql SQL]... BUILD WORK [N] [KB] [CONNECTIONS] [BODY_KB] [MODES]

Generates N recordings of about KB KiB each into WORK/recs with
bench-server-gen (default 200 x 512; kept and reused while N, KB and
--payload stay the same; --payload 256 gives short messages, about 400
bytes of JSON each, where the cost per message shows), runs the in-process
stages (bench-server-stages: librec's decode, the server's validation, the
store, both: the limit), then for each backend (default sqlite) and each
mode (default "ingest,bulk,null") starts BUILD's tlog-server on a fresh
database, posts every recording over CONNECTIONS connections (default 4) in
bodies of BODY_KB (default 1024) with bench-server-post, stops the server
with SIGTERM and reports the server's CPU time (user, system), its peak RSS,
and the stored bytes per byte of JSON (SQLite: the database file after the
server closed it; PostgreSQL: messages and sessions after VACUUM; and the
compressed messages alone).

PostgreSQL is Debian's, in a private cluster (tests/tlogtest/postgres.py;
root runs it as the postgres user), fsync on, one database per mode.
--sample SECONDS (PostgreSQL) also prints, every SECONDS of the posting,
the stored size as the database stands (autovacuum's work only, no
VACUUM), and at the end the size per table before the VACUUM; --pg-sql SQL
(repeatable) runs SQL in the new database before posting: settings to
measure (a table's storage parameters, ALTER SYSTEM with pg_reload_conf).
TLOG_SERVER=PATH runs another tlog-server (an older build, side by side);
TLOG_SERVER_CONFIG=FILE gives it a configuration file (checkpoint_key:
ingest with the checkpoint thread running);
STAGES=0 leaves out the in-process stages (a timing of the whole process is
then the ingest alone).
"""
import argparse
import contextlib
import glob
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from tlogtest.postgres import Cluster  # noqa: E402


def recordings(build, recs, n, kb, payload):
    """WORK/recs's recordings, generated again unless made with the same arguments."""
    os.makedirs(recs, exist_ok=True)
    stamp = os.path.join(recs, "generated-with")
    want = f"{n} {kb} {payload or 'default'}\n"
    files = sorted(glob.glob(os.path.join(recs, "rec-*.jsonl")))
    have = open(stamp).read() if os.path.exists(stamp) else ""
    if len(files) != int(n) or have != want:
        for f in files:
            os.unlink(f)
        subprocess.run([f"{build}/bench/server/bench-server-gen", recs, n, kb] + ([payload] if payload else []),
                       check=True)
        with open(stamp, "w") as f:
            f.write(want)
        files = sorted(glob.glob(os.path.join(recs, "rec-*.jsonl")))
    return files


def plain_http(exe):
    """["--plain-http"] for a tlog-server that has TLS (and so needs the
    flag for plain HTTP on loopback); [] for an older build, so side-by-side
    runs against earlier builds keep working."""
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60).stdout
    return ["--plain-http"] if "--plain-http" in out else []


def access_args(exe, d):
    """The options giving the benchmark's viewer every right (a file in
    `d`); none for a build from before access rules (a peer)."""
    import subprocess as sp
    if "--access-rules" not in sp.run([exe, "--help"], capture_output=True, text=True, timeout=60).stdout:
        return []
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
    from tlogtest import viewer
    return viewer.server_args(d)


def authorize(exe, database, port):
    """Every urllib request of this process to the server at `port` signs
    in as a viewer (tests/tlogtest/viewer.py); the Viewer. A build from
    before viewer tokens (a peer) needs none: None."""
    import subprocess as sp
    if "viewer-token" not in sp.run([exe, "--help"], capture_output=True, text=True, timeout=60).stdout:
        return None
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
    from tlogtest import viewer
    return viewer.install(exe, database, "http://127.0.0.1:%s" % port)


def start_server(exe, database):
    # TLOG_SERVER_CONFIG: a configuration file read first (the database
    # and listener given here win), e.g. checkpoint_key to measure ingest
    # with the checkpoint thread running.
    conf = os.environ.get("TLOG_SERVER_CONFIG")
    server = subprocess.Popen([exe, *plain_http(exe)] + (["--config", conf] if conf else []) +
                              ["--listen", "127.0.0.1:0", "--database", database] +
                              access_args(exe, os.path.dirname(os.path.abspath(database))), stdout=subprocess.PIPE,
                              text=True)
    sel = selectors.DefaultSelector()
    sel.register(server.stdout, selectors.EVENT_READ)
    line = server.stdout.readline() if sel.select(timeout=120) else ""
    if not line.startswith("listening on "):
        server.kill()
        server.wait()
        sys.exit("tlog-server did not start: " + line)
    port = line.strip().rsplit(":", 1)[1]
    authorize(exe, database, port)
    return server, port


def stop_server(server):
    """SIGTERM, then the server's exit status and resource usage (wait4)."""
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
    return ru


class Sqlite:
    name = "sqlite"

    def __init__(self, work):
        self.db = os.path.join(work, "server.sqlite")

    def database(self, mode):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.db + suffix):
                os.unlink(self.db + suffix)
        return self.db

    def stored(self, mode):
        """(bytes of the database after a clean stop, compressed messages, their JSON)."""
        size = sum(os.path.getsize(self.db + s) for s in ("", "-wal") if os.path.exists(self.db + s))
        with contextlib.closing(sqlite3.connect(self.db)) as c:
            table = "message_batches" if c.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'message_batches'").fetchone() else "messages"
            blob, json_size = c.execute(f"SELECT sum(length(json_zstd)), sum(json_size) FROM {table}").fetchone()
        return size, blob, json_size


class Postgres:
    name = "postgres"

    def __init__(self, pg):
        self.pg = pg

    def database(self, mode):
        self.pg.psql(f"CREATE DATABASE bench_{mode}")
        return self.pg.spec(f"bench_{mode}")

    def stored(self, mode, vacuum=True):
        db = f"bench_{mode}"
        if vacuum:
            self.pg.psql("VACUUM ANALYZE", db)
        # Schema 4 and later keep messages in batches; a build before it
        # (TLOG_SERVER) in the messages table alone.
        size = int(self.pg.psql("SELECT sum(pg_total_relation_size(to_regclass(t))) FROM unnest(ARRAY['messages', "
                                "'sessions', 'recording_keys', 'message_batches', 'message_ids']) t", db))
        table = "message_batches" if self.pg.psql("SELECT to_regclass('message_batches') IS NOT NULL", db).strip() == "t" \
            else "messages"
        blob, json_size = self.pg.psql(f"SELECT sum(length(json_zstd)), sum(json_size) FROM {table}", db).split("|")
        return size, int(blob), int(json_size)

    def by_table(self, mode):
        """MB per table of the stored size: heap + TOAST + indexes."""
        rows = self.pg.psql("SELECT relname, pg_relation_size(oid), coalesce(pg_total_relation_size(nullif("
                            "reltoastrelid, 0)), 0), pg_indexes_size(oid) FROM pg_class WHERE relname IN "
                            "('sessions', 'recording_keys', 'message_batches', 'message_ids') ORDER BY 1",
                            f"bench_{mode}")
        return ", ".join(f"{n} {int(h) / 1e6:.1f} + {int(t) / 1e6:.1f} + {int(i) / 1e6:.1f}"
                         for n, h, t, i in (r.split("|") for r in rows.split()))

    def setup(self, mode, sql):
        self.pg.psql(sql, f"bench_{mode}")

    def autovacuums(self, mode):
        """The autovacuum runs so far, all tables together."""
        return int(self.pg.psql("SELECT coalesce(sum(autovacuum_count), 0) FROM pg_stat_all_tables", f"bench_{mode}"))


def run_modes(args, backend, files):
    server_exe = os.environ.get("TLOG_SERVER", f"{args.build}/server/tlog-server")
    for mode in args.modes.split(","):
        server, port = start_server(server_exe, backend.database(mode))
        if args.pg_sql and backend.name == "postgres":
            for sql in args.pg_sql:  # the schema is created: settings to measure
                backend.setup(mode, sql)
        try:
            post = subprocess.Popen([f"{args.build}/bench/server/bench-server-post", "127.0.0.1", port, mode,
                                     args.connections, args.body_kb] + files, stdout=subprocess.PIPE, text=True)
            started = time.monotonic()
            # --sample: the stored size while the posting runs, as the
            # database stands (no VACUUM but autovacuum's).
            sample = args.sample if backend.name == "postgres" and mode != "null" else 0
            while sample and post.poll() is None:
                deadline = time.monotonic() + sample
                while post.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.2)
                if post.poll() is None:
                    size, blob, json_size = backend.stored(mode, vacuum=False)
                    print(f"  {time.monotonic() - started:.0f} s: stored {size / json_size:.3f} bytes per JSON byte "
                          f"({size / 1e6:.1f} MB for {json_size / 1e6:.1f} MB), autovacuum runs "
                          f"{backend.autovacuums(mode)}", flush=True)
            stdout, _ = post.communicate(timeout=1800)
            post.stdout = stdout
        finally:
            ru = stop_server(server)
        fields = dict(zip(post.stdout.split()[0::2], post.stdout.split()[1::2]))
        cpu = ru.ru_utime + ru.ru_stime
        sent = int(fields.get("json_bytes", 0))
        line = (f"{backend.name} {mode}: {fields.get('json_mb_s')} MB/s of JSON, {fields.get('msg_s')} messages/s, "
                f"wall {fields.get('wall_s')} s, server cpu {cpu:.2f} s (user {ru.ru_utime:.2f}, "
                f"sys {ru.ru_stime:.2f}), {sent / 1e6 / cpu:.1f} MB/s per server CPU second, "
                f"max RSS {ru.ru_maxrss / 1024:.1f} MiB, failures {fields.get('failures')}, "
                f"exit {server.returncode}")
        if mode != "null" and sent and args.sample and backend.name == "postgres":
            size, _, _ = backend.stored(mode, vacuum=False)
            line += (f", stored {size / sent:.3f} bytes per JSON byte as it stands (MB of heap + TOAST + indexes: "
                     f"{backend.by_table(mode)}), "
                     f"{backend.autovacuums(mode)} autovacuums")
        if mode != "null" and sent:
            size, blob, json_size = backend.stored(mode)
            line += (f", stored {size / sent:.3f} bytes per JSON byte "
                     f"(compressed messages alone {blob / json_size:.3f})")
        print(line, flush=True)
        if post.returncode != 0:
            print(post.stdout, file=sys.stderr)
            return 1
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    p.add_argument("--payload", help="the recordings' payload in bytes (bench-server-gen's; default 2048)")
    p.add_argument("--sample", type=float, default=0,
                   help="PostgreSQL: every SAMPLE seconds of the posting, the stored size without VACUUM")
    p.add_argument("--pg-sql", action="append", default=[],
                   help="PostgreSQL: SQL run once the server created the schema, before posting (settings to "
                   "measure; repeatable, each a statement of its own)")
    p.add_argument("build")
    p.add_argument("work")
    p.add_argument("n", nargs="?", default="200")
    p.add_argument("kb", nargs="?", default="512")
    p.add_argument("connections", nargs="?", default="4")
    p.add_argument("body_kb", nargs="?", default="1024")
    p.add_argument("modes", nargs="?", default="ingest,bulk,null")
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    files = recordings(args.build, os.path.join(args.work, "recs"), args.n, args.kb, args.payload)
    json_bytes = sum(os.path.getsize(f) for f in files)
    print(f"{len(files)} recordings, {json_bytes} bytes of JSON lines", flush=True)
    if os.environ.get("STAGES", "1") != "0":
        subprocess.run([f"{args.build}/bench/server/bench-server-stages", args.work, args.body_kb] + files, check=True)
    if args.backend in ("sqlite", "both") and run_modes(args, Sqlite(args.work), files):
        return 1
    if args.backend in ("postgres", "both"):
        with Cluster() as pg:
            if run_modes(args, Postgres(pg), files):
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
