#!/usr/bin/env bash
# nss_tlog under valgrind memcheck: lookups by name (recorded, not recorded,
# unknown) with growing buffers from 8 bytes (the ERANGE path), by uid, and
# enumeration, in the "tlog files" order. Any memcheck error or definite leak fails.
# Usage: nss_valgrind.sh NSS_LOOKUP TLOG_POLICY
set -euo pipefail
lookup=$1; tp=$2
command -v valgrind >/dev/null || { echo "FAIL: valgrind not installed" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf 'passwd: tlog files\n' > "$tmp/nsswitch.conf"
printf 'recorder: /opt/tlog/rec\nrules:\n  - {name: r, action: record, users: [daemon], groups: [man]}\n' > "$tmp/rules.yaml"
"$tp" compile --rules "$tmp/rules.yaml" --output "$tmp/policy.cache" >/dev/null
export TLOG_POLICY_CACHE=$tmp/policy.cache TLOG_NSS_NSSWITCH=$tmp/nsswitch.conf
vg() { valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible "$lookup" "$@"; }
out=$(vg --configure "tlog files" loop 50 daemon bin man root no-such-user)
grep -q '^daemon:1:1:/opt/tlog/rec$' <<<"$out" || { echo "FAIL: $out" >&2; exit 1; }
grep -q '^man:6:12:/opt/tlog/rec$' <<<"$out" || { echo "FAIL: $out" >&2; exit 1; }
out=$(vg --configure "tlog files" uid 1)
[ "$out" = "daemon:1:1:/opt/tlog/rec" ] || { echo "FAIL: $out" >&2; exit 1; }
vg --configure "tlog files" enum > /dev/null
# Without a cache (UNAVAIL path) too.
TLOG_POLICY_CACHE=$tmp/none vg --configure "tlog [UNAVAIL=return] files" loop 5 daemon >/dev/null
echo "nss valgrind: OK"
