#!/bin/bash
# Runs a test in a private mount namespace (never changes the host's /etc,
# /dev, /run). Fails, not skips, when not root: CI runs as root.
set -eu
if [ "$(id -u)" != 0 ]; then echo "FAIL: needs root" >&2; exit 1; fi
exec env RECTEST_NS=1 unshare -m --propagation private "$@"
