"""A private PostgreSQL cluster for one test: Debian's binaries, initdb and
pg_ctl run as the unprivileged `postgres` user when the test is root (initdb
refuses root), listening only on a Unix socket in a temporary directory.
Missing PostgreSQL is a failure, never a skip (scripts/deps.sh installs it).

    with Cluster() as pg:
        pg.psql("CREATE DATABASE tlog")
        spec = pg.spec("tlog")   # "postgres:host=DIR port=PORT user=postgres dbname=tlog"
"""
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

from tlogtest.terminal import fail

PORT = 5432  # the socket lives in a private directory: no clash with a host server


def bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not dirs:
        fail("PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb "
             "(scripts/deps.sh installs the postgresql package)")
    if shutil.which("psql") is None:
        fail("psql is not installed (postgresql-client, from scripts/deps.sh)")
    return os.path.dirname(dirs[-1])


class Cluster:
    def __init__(self, keep=None):
        """keep: a directory that holds the cluster across runs (a benchmark's
        filled database): created on first use, started again after, and
        left in place when stopped."""
        self.bin = bindir()
        self.keep = keep
        if keep:
            os.makedirs(keep, exist_ok=True)
            self.dir = os.path.abspath(keep)
        else:
            self.dir = tempfile.mkdtemp(prefix="tlog-pg.")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.as_user = []
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                fail("no postgres user (the postgresql package creates it)")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.started = False

    def run(self, args, timeout=120):
        r = subprocess.run(self.as_user + args, capture_output=True, timeout=timeout, cwd=self.dir)
        if r.returncode != 0:
            log = ""
            if os.path.exists(self.log):
                with open(self.log, errors="replace") as f:
                    log = f.read()[-3000:]
            fail("%s failed (%d): %s%s\n%s" % (" ".join(args), r.returncode, r.stdout.decode(errors="replace"),
                                                r.stderr.decode(errors="replace"), log))
        return r.stdout.decode()

    def __enter__(self):
        # meson's timeout sends SIGTERM: exit through the context managers,
        # so the cluster is stopped rather than left running.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: sys.exit("FAIL: terminated"))
        try:
            if not (self.keep and os.path.exists(os.path.join(self.data, "PG_VERSION"))):
                self.run([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres", "-A", "trust",
                          "-E", "UTF8", "--locale=C"])
            # Fsync stays on: the tests measure what a site would run.
            self.run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "120",
                      "-o", "-p %d -k %s -c listen_addresses=''" % (PORT, self.dir), "start"], timeout=180)
            self.started = True
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.started:
            self.started = False
            subprocess.run(self.as_user + [os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "fast", "-w",
                                           "-t", "60", "stop"], capture_output=True, timeout=90)
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self):
        """Stops the server (fast: clients are disconnected) and starts it
        again, as a PostgreSQL restart or failover looks to tlog-server."""
        self.run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "120", "-m", "fast",
                  "-o", "-p %d -k %s -c listen_addresses=''" % (PORT, self.dir), "restart"], timeout=180)

    def conninfo(self, db=None):
        """libpq's key=value form, without a dbname unless given."""
        s = "host=%s port=%d user=postgres" % (self.dir, PORT)
        return s + (" dbname=%s" % db if db else "")

    def spec(self, db):
        """tlog-server's `database` setting for database DB."""
        return "postgres:" + self.conninfo(db)

    def psql(self, sql, db="postgres"):
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", self.conninfo(db), "-c", sql],
                           capture_output=True, timeout=120)
        if r.returncode != 0:
            fail("psql %r failed: %s" % (sql, r.stderr.decode(errors="replace")))
        return r.stdout.decode()
