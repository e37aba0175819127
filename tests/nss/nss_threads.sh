#!/usr/bin/env bash
# Runs test_nss_threads against a fresh cache.
# Usage: nss_threads.sh BINARY TLOG_POLICY THREADS LOOKUPS [fork]
set -euo pipefail
bin=$1; tp=$2; threads=$3; lookups=$4; mode=${5:-}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf 'passwd: tlog files\n' > "$tmp/nsswitch.conf"
printf 'recorder: /opt/tlog/rec\nrules:\n  - {name: r, action: record, users: [daemon], uids: [3]}\n  - {name: x, action: exclude, users: [root]}\n' > "$tmp/rules.yaml"
"$tp" compile --rules "$tmp/rules.yaml" --output "$tmp/policy.cache" >/dev/null
# Not exec: the EXIT trap must still remove $tmp.
TLOG_POLICY_CACHE=$tmp/policy.cache TLOG_NSS_NSSWITCH=$tmp/nsswitch.conf TEST_RECORDER=/opt/tlog/rec \
  "$bin" "$threads" "$lookups" $mode
