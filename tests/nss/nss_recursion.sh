#!/usr/bin/env bash
# nss_tlog never recurses into itself: (1) "tlog" on its own passwd line is
# skipped (tests/nss/test_nss_module: parser table); (2) a source after it
# that calls back into NSS (libnss_recurse.so.2, built for this test) re-enters
# glibc, which calls nss_tlog again in the same thread: nss_tlog answers that
# inner call UNAVAIL, glibc goes on to files, and the outer lookup completes.
# Usage: nss_recursion.sh NSS_LOOKUP TLOG_POLICY RECURSE_MODULE_DIR
set -euo pipefail
lookup=$1; tp=$2; recdir=$3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
printf 'passwd: tlog tlog recurse files\n' > "$tmp/nsswitch.conf"
printf 'recorder: /opt/rec\nrules:\n  - {name: d, action: record, users: [daemon]}\n' > "$tmp/rules.yaml"
"$tp" compile --rules "$tmp/rules.yaml" --output "$tmp/policy.cache" >/dev/null
export TLOG_POLICY_CACHE=$tmp/policy.cache TLOG_NSS_NSSWITCH=$tmp/nsswitch.conf
export LD_LIBRARY_PATH=$recdir:$LD_LIBRARY_PATH
out=$(timeout 20 "$lookup" --configure "tlog files" name daemon) || fail "lookup failed (rc $?)"
[ "$out" = "daemon:1:1:/opt/rec" ] || fail "daemon: $out"
out=$(timeout 20 "$lookup" --configure "tlog files" uid 1) || fail "uid lookup failed"
[ "$out" = "daemon:1:1:/opt/rec" ] || fail "uid 1: $out"
out=$(timeout 20 "$lookup" --configure "tlog files" name bin) || fail "bin lookup failed"
[ "${out##*:}" != /opt/rec ] || fail "bin: $out"
echo "nss recursion: OK"
