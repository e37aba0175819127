#!/bin/bash
# Main job demo, the central half: starts tlog-server on SQLite, ships a
# recording file to it with tlog-forward (as on a recorded host), searches
# the server for the session and plays it from the server with tlog-play.
#   scripts/demo-server.sh BUILD_DIR RECORDING.log WORK_DIR
set -euo pipefail
B=$(realpath "$1") LOG=$(realpath "$2")
WORK=$(mkdir -p "$3" && realpath "$3")
SERVER=$B/server/tlog-server FORWARD=$B/forward/tlog-forward PLAY=$B/player/tlog-play/tlog-play
rm -rf "$WORK/server.db"* "$WORK/forward-state"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# Port 0: the server picks a free port and says which on its first line.
# Who may read what: this user, everything (tlog-server-access.yaml(5)).
printf 'rules:\n  - name: demo\n    viewers: {users: [%s]}\n    recordings: {users: all}\n    rights: all\n' \
  "$(id -un)" > "$WORK/server-access.yaml"
coproc SRV {
  exec "$SERVER" --plain-http --listen 127.0.0.1:0 --database "$WORK/server.db" --access-rules "$WORK/server-access.yaml" \
    2>>"$WORK/server.log"
}
pids+=("$SRV_PID")
read -r -t 30 line <&"${SRV[0]}" || { echo "tlog-server did not start: $(tail -3 "$WORK/server.log")" >&2; exit 1; }
url=http://${line##* }
echo "tlog-server on $url (SQLite database $WORK/server.db)"
# Reading asks a viewer's credentials: an API token of this user's.
token=$("$SERVER" --database "$WORK/server.db" viewer-token issue "$(id -un)" --expires 1 2>>"$WORK/server.log")
rurl=http://$(id -un):$token@${line##* }
echo "viewer token issued for $(id -un) (tlog-server viewer-token issue)"

"$FORWARD" --server "$url" --file "$LOG" --state-dir "$WORK/forward-state" 2>>"$WORK/forward.log" &
pids+=("$!")
rec=$(head -1 "$LOG" | python3 -c 'import json, sys; print(json.load(sys.stdin)["rec"])')
want=$(wc -l < "$LOG")
echo "tlog-forward ships $LOG ($want message(s), recording $rec) ..."
query() { python3 -c 'import json, sys, urllib.request; r = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]}); print(json.dumps(json.load(urllib.request.urlopen(r, timeout=10))))' "$1" "$token"; }
for _ in $(seq 300); do
  got=$(query "$url/api/v1/sessions?user=$(id -un)" |
        python3 -c 'import json, sys; r = sys.argv[1]; print(sum(s["messages"] for s in json.load(sys.stdin)["sessions"] if s["rec"] == r))' "$rec")
  [ "$got" = "$want" ] && break
  sleep 0.1
done
[ "$got" = "$want" ] || { echo "the server has $got of $want message(s): $(tail -3 "$WORK/forward.log")" >&2; exit 1; }
echo "search: GET $url/api/v1/sessions?user=$(id -un)"
query "$url/api/v1/sessions?user=$(id -un)" | python3 -m json.tool
"$PLAY" -r server --server-url "$rurl" --server-rec "$rec" --verify
echo "playing back from the server with tlog-play -r server (4x speed):"
script -qec "'$PLAY' -r server --server-url '$rurl' --server-rec '$rec' -s 4" /dev/null
