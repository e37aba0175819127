#!/bin/bash
# Runs a test in a private mount namespace (never changes the host's /etc,
# /dev, /run). Fails, not skips, when not root: CI runs as root.
# The test's temporary files live under one directory, removed afterwards
# from outside the namespace (its mounts are gone by then).
set -eu
if [ "$(id -u)" != 0 ]; then echo "FAIL: needs root" >&2; exit 1; fi
T=$(mktemp -d /tmp/rectest-ns.XXXXXX)
chmod 755 "$T"
rc=0
env RECTEST_NS=1 TMPDIR="$T" unshare -m --propagation private "$@" || rc=$?
rm -rf --one-file-system "$T"
exit $rc
