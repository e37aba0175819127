"""The storage suite (test_server_store) on PostgreSQL: starts Debian's
PostgreSQL in a private cluster and runs the suite against it.
Usage: pg_store_test.py TEST_BINARY."""
import subprocess
import sys

from tlogtest.postgres import Cluster

with Cluster() as pg:
    r = subprocess.run([sys.argv[1], "postgres:" + pg.conninfo()], timeout=600)
sys.exit(r.returncode)
