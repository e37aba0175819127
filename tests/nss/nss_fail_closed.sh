#!/usr/bin/env bash
# What nss_tlog does without a usable cache (nss_tlog(8) "FAILING CLOSED"):
# it answers UNAVAIL for everyone. With a plain "tlog files" line glibc goes on
# to files (fail open); with "tlog [UNAVAIL=return] files" the lookup fails
# (fail closed), so nobody logs in unrecorded.
# Usage: nss_fail_closed.sh NSS_LOOKUP TLOG_POLICY
set -euo pipefail
lookup=$1; tp=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
printf 'passwd: tlog files\n' > "$tmp/nsswitch.conf"
export TLOG_NSS_NSSWITCH=$tmp/nsswitch.conf
plain_shell=$(getent passwd daemon | cut -d: -f7)

for cache in "$tmp/missing.cache" "$tmp/corrupt.cache" "$tmp/empty.cache"; do
  printf 'TLOGPOL\0not a cache at all, just junk bytes to fill a header........................................................................................' > "$tmp/corrupt.cache"
  : > "$tmp/empty.cache"
  export TLOG_POLICY_CACHE=$cache
  out=$("$lookup" --configure "tlog files" name daemon) || fail "fail-open lookup failed ($cache)"
  [ "$out" = "daemon:1:1:$plain_shell" ] || fail "fail-open answer: $out"
  rc=0; out=$("$lookup" --configure "tlog [UNAVAIL=return] files" name daemon) || rc=$?
  [ "$rc" != 0 ] && [ -z "$out" ] || fail "fail-closed lookup answered: $out ($cache)"
  rc=0; "$lookup" --configure "tlog [UNAVAIL=return] files" uid 1 >/dev/null || rc=$?
  [ "$rc" != 0 ] || fail "fail-closed uid lookup answered ($cache)"
done

# With a good cache the same fail-closed line works normally.
printf 'rules:\n  - {name: d, action: record, users: [daemon]}\nrecorder: /opt/rec\n' > "$tmp/rules.yaml"
"$tp" compile --rules "$tmp/rules.yaml" --output "$tmp/good.cache" >/dev/null
export TLOG_POLICY_CACHE=$tmp/good.cache
out=$("$lookup" --configure "tlog [UNAVAIL=return] files" name daemon)
[ "$out" = "daemon:1:1:/opt/rec" ] || fail "good cache answer: $out"
out=$("$lookup" --configure "tlog [UNAVAIL=return] files" name bin)
[ "$(cut -d: -f7 <<<"$out")" != /opt/rec ] || fail "bin recorded"

# (setuid processes ignoring TLOG_POLICY_CACHE: nss_namespace.sh, where the
# module is found through ld.so.cache as setuid programs need.)
echo "nss fail-closed: OK"
