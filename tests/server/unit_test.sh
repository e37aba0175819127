#!/usr/bin/env bash
# tlog-server's systemd unit and account (dist/): the unit as meson
# configured it passes `systemd-analyze verify` (its ExecStart pointed at the
# built server, which is not installed here), it has the hardening the
# server is documented with, and systemd-sysusers makes the account it
# names from the sysusers.d file.
# The configuration file as installed starts the server (plain HTTP on
# loopback, said at start).
# Usage: unit_test.sh UNIT SYSUSERS_CONF TLOG_SERVER [SERVER_CONF]
set -uo pipefail
unit=$1 sysusers=$2 server=$3 conf=${4:-}
fail() { echo "FAIL: $*" >&2; exit 1; }
for prog in systemd-analyze systemd-sysusers; do
  command -v "$prog" >/dev/null || fail "$prog is not installed (systemd; scripts/deps.sh installs it)"
done
d=$(mktemp -d /tmp/tlog-server-unit.XXXXXX)
trap 'rm -rf "$d"' EXIT

sed -E "s|^ExecStart=[^ ]*tlog-server|ExecStart=$server|" "$unit" > "$d/tlog-server.service"
grep -q "^ExecStart=$server" "$d/tlog-server.service" || fail "no ExecStart= running tlog-server in $unit"
out=$(systemd-analyze verify --man=no "$d/tlog-server.service" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"

for want in User=tlog-server StateDirectory=tlog-server NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
  PrivateTmp=yes PrivateDevices=yes 'CapabilityBoundingSet=$' RestrictAddressFamilies= MemoryDenyWriteExecute=yes \
  SystemCallFilter=@system-service UMask=0077; do
  grep -qE "^$want" "$unit" || fail "$unit lacks $want"
done

mkdir -p "$d/root/etc"
systemd-sysusers --root="$d/root" "$sysusers" || fail "systemd-sysusers $sysusers failed"
entry=$(grep '^tlog-server:' "$d/root/etc/passwd") || fail "systemd-sysusers made no tlog-server account"
IFS=: read -r _ _ uid _ _ home shell <<<"$entry"
[ "$home" = /var/lib/tlog-server ] || fail "tlog-server's home is $home"
[ "$shell" = /usr/sbin/nologin ] || fail "tlog-server's shell is $shell"
[ "$uid" -lt 1000 ] || fail "tlog-server is not a system account (uid $uid)"
grep -q '^tlog-server:' "$d/root/etc/group" || fail "no tlog-server group"
echo "ok: the unit verifies, is hardened, and its account is made by systemd-sysusers"

if [ -n "$conf" ]; then
  # The shipped file with only the port and database changed: it loads and
  # the server listens, saying that ingest without identity is accepted.
  sed -e 's|"127.0.0.1:8640"|"127.0.0.1:0"|' -e "s|/var/lib/tlog-server/server.db|$d/db.sqlite|" "$conf" > "$d/server.conf"
  grep -q '"127.0.0.1:0"' "$d/server.conf" || fail "$conf does not listen on 127.0.0.1:8640"
  timeout 60 "$server" --config "$d/server.conf" > "$d/out" 2> "$d/err" &
  pid=$!
  for _ in $(seq 600); do grep -q '^listening on 127.0.0.1:' "$d/out" && break; sleep 0.1; done
  kill "$pid" 2>/dev/null; wait "$pid"
  grep -q '^listening on 127.0.0.1:' "$d/out" || fail "the shipped $conf does not start the server: $(cat "$d/err")"
  grep -q '"event":"plain_http"' "$d/err" || fail "no plain HTTP notice at start: $(cat "$d/err")"
  echo "ok: the shipped configuration starts the server on loopback, saying so"
fi
