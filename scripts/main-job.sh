#!/usr/bin/env bash
# The main job on the embedded default (files, no server): installs what is
# missing, builds, records a scripted interactive session with tlog-rec into
# a file, verifies its integrity chain and plays it back
# (scripts/demo-record.sh does the recording and the playback).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/deps.sh
bash scripts/build.sh build >/dev/null
out=${TLOG_DEMO_DIR:-$top/build/demo}
mkdir -p "$out"
exec bash scripts/demo-record.sh "$top/build" "$out/session.log"
