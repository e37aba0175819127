#!/usr/bin/env bash
# The main job on the embedded default (files and SQLite, no server to
# install): installs what is missing, builds, records a scripted interactive
# session with tlog-rec into a file, verifies its integrity chain and plays
# it back (scripts/demo-record.sh); then starts tlog-server on SQLite, ships
# the recording to it with tlog-forward, finds it with the sessions search
# and plays it from the server (scripts/demo-server.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/deps.sh
bash scripts/build.sh build >/dev/null
out=${TLOG_DEMO_DIR:-$top/build/demo}
mkdir -p "$out"
bash scripts/demo-record.sh "$top/build" "$out/session.log"
exec bash scripts/demo-server.sh "$top/build" "$out/session.log" "$out/server"
