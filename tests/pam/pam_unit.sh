#!/usr/bin/env bash
# Runs a pam_tlog test program under pam_wrapper + nss_wrapper (no root).
# Usage: pam_unit.sh TLOG_POLICY PAM_TLOG_SO NSS_PAMTEST_DIR PROGRAM [ARGS...]
#   (PROGRAM "valgrind" runs the rest under valgrind: suite integration)
# Users: alice (recorded, NSS gives the recorder), bob (not recorded), carol
# (recorded for su only), dave (recorded, but NSS gives /bin/bash), eve
# (excluded). The "real" shells come from libnss_pamtest (the source behind tlog).
set -euo pipefail
tp=$1; module=$2; pamtest_dir=$3; shift 3
fail() { echo "FAIL: $*" >&2; exit 1; }
find_lib() { for f in /usr/lib/*/"$1" /usr/lib/"$1"; do [ -e "$f" ] && { echo "$f"; return; }; done; }
pam_wrapper=$(find_lib libpam_wrapper.so); nss_wrapper=$(find_lib libnss_wrapper.so)
[ -n "$pam_wrapper" ] || fail "libpam_wrapper.so missing (apt-get install libpam-wrapper)"
[ -n "$nss_wrapper" ] || fail "libnss_wrapper.so missing (apt-get install libnss-wrapper)"
pam_env=$(find_lib security/pam_env.so); [ -n "$pam_env" ] || pam_env=$(ls /lib/*/security/pam_env.so | head -1)
permit=$(ls /lib/*/security/pam_permit.so /usr/lib/*/security/pam_permit.so 2>/dev/null | head -1)
[ -n "$permit" ] || fail "pam_permit.so missing (libpam-modules)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
rec=/opt/tlog/bin/tlog-rec-session
cat > "$tmp/passwd" <<P
alice:x:7001:7001::/home/alice:$rec
bob:x:7002:7002::/home/bob:/bin/bash
carol:x:7003:7003::/home/carol:$rec
dave:x:7004:7004::/home/dave:/bin/bash
eve:x:7005:7005::/home/eve:/bin/bash
gina:x:7006:7006::/home/gina:$rec
P
sed -e 's#:/opt/tlog/bin/tlog-rec-session$#:REAL#' "$tmp/passwd" | sed -e 's#^alice\(.*\):REAL$#alice\1:/bin/zsh#' \
  -e 's#^carol\(.*\):REAL$#carol\1:/bin/dash#' -e 's#^gina\(.*\):REAL$#gina\1:/bin/bash#' > "$tmp/real_passwd"
printf 'alice:x:7001:\nbob:x:7002:\ncarol:x:7003:\ndave:x:7004:\neve:x:7005:\ngina:x:7006:\n' > "$tmp/group"
cat > "$tmp/rules.yaml" <<R
version: 1
default: exclude
recorder: $rec
rules:
  - name: people
    action: record
    users: [alice, dave, eve]
    settings: {input: true}
  - name: not-eve
    action: exclude
    priority: 10
    users: [eve]
  - name: su-only
    action: record
    users: [carol]
    services: [su]
  - name: gina-interactive
    action: record
    users: [gina]
    sessions: [interactive]
R
"$tp" compile --rules "$tmp/rules.yaml" --output "$tmp/policy.cache" >/dev/null
echo 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff > "$tmp/proof.key"
chmod 600 "$tmp/proof.key"
# pam_wrapper copies the service files when the program starts: all here.
mkdir "$tmp/services"
# rundir: the recorder's session markers (the tests write them); shells:
# the test's /etc/shells (absent unless a test writes it).
mkdir "$tmp/run"
common="cache=$tmp/policy.cache key=$tmp/proof.key audit=off rundir=$tmp/run shells=$tmp/shells"
service() {   # NAME ARGS...
  # pam_permit first, as real stacks have other modules: libpam turns a stack
  # whose modules all say PAM_IGNORE into PAM_PERM_DENIED.
  printf 'account optional %s\nsession optional %s\naccount required %s %s\nsession required %s %s\n' \
    "$permit" "$permit" "$module" "${*:2}" "$module" "${*:2}" > "$tmp/services/$1"
}
service sshd "$common"
service su "$common"
service login "$common"
service runuser "$common fail=open"
service nocheck "$common shell_check=no"
service missing_closed "cache=$tmp/nonexistent.cache audit=off"
service missing_open "cache=$tmp/nonexistent.cache audit=off fail=open"
head -c 200 /dev/zero | tr '\0' x > "$tmp/corrupt.cache"
service corrupt "cache=$tmp/corrupt.cache audit=off"
service nokey "cache=$tmp/policy.cache key=$tmp/nokey audit=off"
service audit_required "cache=$tmp/policy.cache key=$tmp/proof.key audit=required"
service audit_optional "cache=$tmp/policy.cache key=$tmp/proof.key audit=optional"
service badargs "$common bogus frobnicate=1 audit=sometimes audit_rules=always fail=maybe cache=relative proof_lifetime=0 $(head -c 10000 /dev/zero | tr '\0' A)"
printf 'TLOG_REC_CONF_TEXT DEFAULT={"pam":{"record":false}}\nTLOG_REC_SHELL DEFAULT=/tmp/evil\n' > "$tmp/pam_env.conf"
printf 'session required %s readenv=0 user_readenv=0 conffile=%s\nsession required %s %s\n' \
  "$pam_env" "$tmp/pam_env.conf" "$module" "$common" > "$tmp/services/forge"
printf 'passwd: tlog pamtest\n' > "$tmp/nsswitch.conf"
prog=$1; shift
runner=()
if [ "$prog" = valgrind ]; then
  runner=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
          --suppressions=/dev/null); prog=$1; shift
fi
asan_rt=$(ldd "$prog" | awk '/libasan/ {print $3}')
export PAM_TLOG_TEST_DIR=$tmp PAM_TLOG_MODULE=$module PAM_ENV_MODULE=$pam_env PAMTEST_PASSWD=$tmp/real_passwd
export PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$tmp/services
export NSS_WRAPPER_PASSWD=$tmp/passwd NSS_WRAPPER_GROUP=$tmp/group TLOG_NSS_NSSWITCH=$tmp/nsswitch.conf
export LD_LIBRARY_PATH=$pamtest_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if [ ${#runner[@]} -gt 0 ]; then
  # valgrind adds its own preloads to LD_PRELOAD and passes ours on.
  LD_PRELOAD="$pam_wrapper $nss_wrapper" exec "${runner[@]}" "$prog" "$@"
fi
LD_PRELOAD="${asan_rt:+$asan_rt }$pam_wrapper $nss_wrapper" exec "$prog" "$@"
