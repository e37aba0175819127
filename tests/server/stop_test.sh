#!/usr/bin/env bash
# tlog-server stops on SIGTERM however early it comes: sent the moment the
# server prints "listening on", before the HTTP library's accept loop may
# have started (a signal in that window used to be lost, and the server ran
# on), and sent while it serves. Each start must exit with status 0 within
# 10 seconds. Usage: stop_test.sh TLOG_SERVER
set -uo pipefail
server=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
d=$(mktemp -d /tmp/tlog-server-stop.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$d"' EXIT
mkfifo "$d/out"
for i in $(seq 30); do
  "$server" --plain-http --listen 127.0.0.1:0 --database "$d/db.sqlite" > "$d/out" 2> "$d/err" &
  pid=$!
  exec 3< "$d/out"
  read -r -t 30 line <&3 || fail "start $i: no 'listening on' line: $(tail -c 500 "$d/err")"
  case $line in "listening on "*) ;; *) fail "start $i: unexpected first line: $line" ;; esac
  kill -TERM "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "start $i: still running 10 s after SIGTERM sent as it began to listen"
  wait "$pid"; rc=$?
  pid=
  exec 3<&-
  [ "$rc" = 0 ] || fail "start $i: exit status $rc after SIGTERM: $(tail -c 500 "$d/err")"
done
echo "ok: 30 starts stopped by SIGTERM sent as each began to listen"
