#!/usr/bin/env bash
# nss_tlog under nss_wrapper (fast, no root): nss_wrapper answers from its own
# passwd file first, then asks the module, which asks the sources after it
# (here: files, i.e. the host's /etc/passwd). This is the "files tlog" order
# for users nss_wrapper does not know. The "tlog files" order is tested
# in-process (test_nss_module) and with real getent (nss_namespace.sh).
# Usage: nss_wrapper.sh NSS_LOOKUP TLOG_POLICY MODULE_SO
set -euo pipefail
lookup=$1; tp=$2; module=$3
wrapper=
for f in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do [ -e "$f" ] && { wrapper=$f; break; }; done
[ -n "$wrapper" ] || { echo "FAIL: libnss_wrapper.so not installed (apt-get install libnss-wrapper)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cat > "$tmp/passwd" <<'P'
alice:x:5001:5001:Alice:/home/alice:/bin/bash
bob:x:5002:5002:Bob:/home/bob:/bin/bash
P
cat > "$tmp/group" <<'G'
alice:x:5001:
bob:x:5002:
G
# The module's own view: the sources after it. (nss_wrapper itself ignores nsswitch.conf.)
printf 'passwd: tlog files\n' > "$tmp/nsswitch.conf"
printf 'recorder: /opt/tlog/tlog-rec-session\nrules:\n  - {name: r, action: record, users: [alice, daemon], uids: [2]}\n' > "$tmp/rules.yaml"
"$tp" compile --rules "$tmp/rules.yaml" --output "$tmp/policy.cache" >/dev/null
# In a sanitizer build the ASan runtime must come first in LD_PRELOAD.
asan_rt=$(ldd "$lookup" | awk '/libasan/ {print $3}')
run() {
  LD_PRELOAD="${asan_rt:+$asan_rt }$wrapper" NSS_WRAPPER_PASSWD=$tmp/passwd NSS_WRAPPER_GROUP=$tmp/group \
  NSS_WRAPPER_MODULE_SO_PATH=$module NSS_WRAPPER_MODULE_FN_PREFIX=tlog \
  TLOG_POLICY_CACHE=$tmp/policy.cache TLOG_NSS_NSSWITCH=$tmp/nsswitch.conf "$lookup" "$@"
}
# nss_wrapper's own users: its file answers first, the module is not asked.
[ "$(run name alice)" = "alice:5001:5001:/bin/bash" ] || fail "alice: $(run name alice)"
# Users only the module's next source (files) knows: recorded ones get the recorder.
[ "$(run name daemon)" = "daemon:1:1:/opt/tlog/tlog-rec-session" ] || fail "daemon: $(run name daemon)"
[ "$(run uid 2)" = "bin:2:2:/opt/tlog/tlog-rec-session" ] || fail "uid 2: $(run uid 2)"
[ "$(run uid 1)" = "daemon:1:1:/opt/tlog/tlog-rec-session" ] || fail "uid 1: $(run uid 1)"
# Not recorded: NOTFOUND (errno ENOENT, as glibc's NSS convention says) from the module.
for who in "name sys" "name nosuchuser" "uid 3"; do
  rc=0; out=$(run $who) || rc=$?
  [ -z "$out" ] && { [ "$rc" = 2 ] || [ "$rc" = 3 ]; } || fail "$who should be unknown (rc $rc, $out)"
done
echo "nss_wrapper: OK"
