#!/usr/bin/env bash
# tlog-server's retention service and timer (dist/): both pass
# `systemd-analyze verify` (ExecStart pointed at the built server), the
# service runs `retention run --timer` as tlog-server with the server's
# hardening, and the timer is daily and persistent.
# Usage: retention_unit_test.sh SERVICE TIMER TLOG_SERVER
set -uo pipefail
service=$1 timer=$2 server=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null || fail "systemd-analyze is not installed (systemd; scripts/deps.sh installs it)"
d=$(mktemp -d /tmp/tlog-retention-unit.XXXXXX)
trap 'rm -rf "$d"' EXIT
sed -E "s|^ExecStart=[^ ]*tlog-server|ExecStart=$server|" "$service" > "$d/tlog-server-retention.service"
grep -q "^ExecStart=$server retention run --timer$" "$d/tlog-server-retention.service" ||
  fail "no ExecStart= running tlog-server retention run --timer in $service"
cp "$timer" "$d/tlog-server-retention.timer"
out=$(cd "$d" && systemd-analyze verify --man=no tlog-server-retention.service tlog-server-retention.timer 2>&1) ||
  fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
for want in Type=oneshot User=tlog-server NoNewPrivileges=yes ProtectSystem=strict 'CapabilityBoundingSet=$' \
  SystemCallFilter=@system-service UMask=0077; do
  grep -qE "^$want" "$service" || fail "$service lacks $want"
done
for want in OnCalendar=daily Persistent=true; do
  grep -qE "^$want$" "$timer" || fail "$timer lacks $want"
done
echo "ok: the retention service and timer verify"
