#!/usr/bin/env bash
# Real getent and id with libnss_tlog.so.2 in a private mount namespace:
# test copies of /etc/nsswitch.conf (the two shipped examples), /etc/passwd,
# /etc/group and an ld.so.cache that lists the build's module directory are
# bind-mounted; /var/lib is a tmpfs holding the policy cache and the
# "directory" (libnss-extrausers stands in for sss). Both orders:
#   A. examples/nsswitch/nsswitch.tlog-first.conf       passwd: tlog [UNAVAIL=return] files systemd
#   B. examples/nsswitch/nsswitch.directory-users.conf  passwd: files systemd tlog sss  (sss -> extrausers)
# For each, SSSD's session-recording matrix (every scope) by name, by uid and
# by enumeration, `id`, failing closed/open without a cache, the shipped rules
# example, and (A) a setuid program ignoring TLOG_POLICY_CACHE.
# Needs root; fails (never skips) without it.
# Usage: nss_namespace.sh NSS_LOOKUP TLOG_POLICY MODULE_DIR SOURCE_ROOT
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (mount namespace, bind mounts)"
lookup=$(realpath "$1"); tp=$(realpath "$2"); moddir=$(realpath "$3"); src=$(realpath "$4")
if [ -z "${NSS_NS_INSIDE:-}" ]; then
  command -v unshare >/dev/null || fail "unshare missing (util-linux)"
  exec env NSS_NS_INSIDE=1 unshare -m --propagation private "$0" "$@"
fi
ls /usr/lib/libnss_extrausers.so.2 /usr/lib/*/libnss_extrausers.so.2 >/dev/null 2>&1 ||
  [ -e /usr/lib/libnss_extrausers.so.2 ] || fail "libnss-extrausers not installed (scripts/apt-packages.txt)"

tmp=$(mktemp -d); trap 'umount "$tmp/bin" 2>/dev/null; rm -rf "$tmp"' EXIT
unset TLOG_POLICY_CACHE TLOG_NSS_NSSWITCH LD_LIBRARY_PATH
mount -t tmpfs tmpfs /var/lib
mkdir -p /var/lib/tlog /var/lib/extrausers
printf '%s\ninclude /etc/ld.so.conf.d/*.conf\n' "$moddir" > "$tmp/ld.so.conf"
ldconfig -C "$tmp/ld.so.cache" -f "$tmp/ld.so.conf"
mount --bind "$tmp/ld.so.cache" /etc/ld.so.cache
# (not `ldconfig -p | grep -q`: under pipefail, grep -q exiting at the first
# match makes ldconfig die of SIGPIPE and the check fail at random)
ldconfig -p > "$tmp/ldconfig.out"
grep -q "libnss_tlog.so.2 .*$moddir" "$tmp/ldconfig.out" || fail "module not in the test ld.so.cache"
cp /etc/passwd "$tmp/passwd.base"; cp /etc/group "$tmp/group.base"
cp "$tmp/passwd.base" "$tmp/passwd"; cp "$tmp/group.base" "$tmp/group"; : > "$tmp/nsswitch.conf"
mount --bind "$tmp/passwd" /etc/passwd
mount --bind "$tmp/group" /etc/group
mount --bind "$tmp/nsswitch.conf" /etc/nsswitch.conf
# (Files are rewritten in place with '>' below: a rename would break the binds.)

users="user1 user2 user3 user4"
declare -A uid=([user1]=7001 [user2]=7002 [user3]=7003 [user4]=7004)
test_users() {
  for u in $users; do echo "$u:x:${uid[$u]}:$((uid[$u] + 1000)):Test $u:/home/$u:/bin/sh"; done
}
# user2 is in group3 as a supplementary member; user3 has it as primary group.
test_groups() {
  echo "group1:x:8001:"; echo "group2:x:8002:"; echo "group3:x:8003:user2"; echo "group4:x:8004:"
  echo "contractors:x:8100:user1"
}
recorder=""
first_shell() {  # NAME: shell of the first entry of NAME in `getent passwd` (enumeration)
  awk -F: -v n="$1" '$1 == n { print $7; exit }' "$tmp/enum"
}
check_user() {  # USER RECORDED(0|1) CONTEXT
  local u=$1 rec=$2 ctx=$3 want=/bin/sh
  [ "$rec" = 1 ] && want=$recorder
  local by_name by_uid
  by_name=$(getent passwd "$u" | cut -d: -f7) || fail "$ctx: getent passwd $u failed"
  by_uid=$(getent passwd "${uid[$u]}" | cut -d: -f7) || fail "$ctx: getent passwd ${uid[$u]} failed"
  [ "$by_name" = "$want" ] || fail "$ctx: $u by name: shell '$by_name', want '$want'"
  [ "$by_uid" = "$want" ] || fail "$ctx: $u by uid: shell '$by_uid', want '$want'"
  [ "$(first_shell "$u")" = "$want" ] || fail "$ctx: $u by enumeration: shell '$(first_shell "$u")', want '$want'"
  id "$u" >/dev/null || fail "$ctx: id $u"
}

# The SSSD session_recording matrix: "sssd: section|recorded users".
matrix=(
  "scope: none|"
  "scope: none, users: [user1], groups: [group3]|"
  "scope: some|"
  "scope: some, users: [user1]|user1"
  "scope: some, users: [user1, user4]|user1 user4"
  "scope: some, groups: [group3]|user2 user3"
  "scope: some, users: [user1], groups: [group3]|user1 user2 user3"
  "scope: some, users: [user1], exclude_users: [user1]|user1"
  "scope: some, groups: [group3], exclude_groups: [group3]|user2 user3"
  "scope: all|user1 user2 user3 user4"
  "scope: all, users: [user1]|user1 user2 user3 user4"
  "scope: all, exclude_users: [user1]|user2 user3 user4"
  "scope: all, exclude_groups: [group3]|user1 user4"
  "scope: all, exclude_users: [user4], exclude_groups: [group3]|user1"
)
run_matrix() {  # LABEL
  for row in "${matrix[@]}"; do
    local cfg=${row%%|*} want=${row#*|}
    printf 'sssd: {%s}\n' "$cfg" > "$tmp/rules.yaml"
    "$tp" compile --rules "$tmp/rules.yaml" >/dev/null 2>"$tmp/compile.err" || fail "$1: compile [$cfg]: $(cat "$tmp/compile.err")"
    recorder=$("$tp" show-cache | awk '/^recorder:/ {print $2}')
    getent passwd > "$tmp/enum" || fail "$1: enumeration failed"
    for u in $users; do
      local rec=0
      [[ " $want " == *" $u "* ]] && rec=1
      check_user "$u" "$rec" "$1 [$cfg]"
    done
  done
  echo "$1: SSSD matrix (${#matrix[@]} configurations x 4 users x name/uid/enumeration/id): OK"
}

# ---- A: tlog first, local users ----
cat "$src/examples/nsswitch/nsswitch.tlog-first.conf" > /etc/nsswitch.conf
{ cat "$tmp/passwd.base"; test_users; } > /etc/passwd
{ cat "$tmp/group.base"; test_groups; } > /etc/group
for u in $users; do echo "$(awk -F: -v n=group${u#user} '$1==n{print $3}' /etc/group)" >/dev/null; done
# Primary groups: user1 -> group1 (8001) ... so primary gid = uid + 1000.
run_matrix "A (tlog [UNAVAIL=return] files systemd)"

# The shipped rules example: contractors (user1) recorded, root excluded.
"$tp" compile --rules "$src/examples/rules/rules.yaml" >/dev/null 2>&1 || fail "example rules compile"
recorder=$("$tp" show-cache | awk '/^recorder:/ {print $2}')
getent passwd > "$tmp/enum"
check_user user1 1 "A example rules"
check_user user4 0 "A example rules"
[ "$(getent passwd root | cut -d: -f7)" = "$(awk -F: '$1=="root"{print $7}' "$tmp/passwd.base")" ] || fail "A: root recorded by example rules"

# setuid programs ignore TLOG_POLICY_CACHE (secure_getenv): a setuid-root copy
# of nss_lookup run by nobody uses the real cache; the same binary without
# the setuid bit honours the variable.
printf 'recorder: /opt/evil\nrules:\n  - {name: all, action: record, users: all}\n' > "$tmp/evil.yaml"
"$tp" compile --rules "$tmp/evil.yaml" --output "$tmp/evil.cache" >/dev/null
chmod 755 "$tmp" "$tmp/evil.cache"
# A fresh tmpfs (this namespace only) so a nosuid /tmp cannot defeat the test.
mkdir "$tmp/bin"; mount -t tmpfs -o mode=755 tmpfs "$tmp/bin"
install -m 4755 "$lookup" "$tmp/bin/suid_lookup"
install -m 0755 "$lookup" "$tmp/bin/plain_lookup"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env TLOG_POLICY_CACHE="$tmp/evil.cache" "$@"; }
out=$(as_nobody "$tmp/bin/plain_lookup" name user4) || fail "plain lookup as nobody"
[ "${out##*:}" = /opt/evil ] || fail "non-setuid process ignored TLOG_POLICY_CACHE: $out"
out=$(as_nobody "$tmp/bin/suid_lookup" name user4) || fail "setuid lookup as nobody"
[ "${out##*:}" = /bin/sh ] || fail "setuid process honoured TLOG_POLICY_CACHE: $out"
# ... and it did load nss_tlog (through ld.so.cache) with the real cache:
out=$(as_nobody "$tmp/bin/suid_lookup" name user1) || fail "setuid lookup of user1"
[ "${out##*:}" = "$recorder" ] || fail "setuid process did not use nss_tlog with the default cache: $out"
echo "A: setuid programs ignore TLOG_POLICY_CACHE: OK"

# nss: {unrecorded: answer}: same answers through real getent, one lookup fewer.
printf 'nss: {unrecorded: answer}\nsssd: {scope: some, users: [user1], groups: [group3]}\n' > "$tmp/rules.yaml"
"$tp" compile --rules "$tmp/rules.yaml" >/dev/null
recorder=$("$tp" show-cache | awk '/^recorder:/ {print $2}')
getent passwd > "$tmp/enum"
for u in user1 user2 user3; do check_user "$u" 1 "A unrecorded: answer"; done
check_user user4 0 "A unrecorded: answer"
[ "$(grep -c '^user4:' "$tmp/enum")" = 1 ] || fail "A answer mode: user4 listed by nss_tlog's enumeration"
echo "A: nss: {unrecorded: answer}: OK"

# Fail closed: no cache -> lookups of every user fail with this nsswitch line.
rm -f /var/lib/tlog/policy.cache
if getent passwd user1 >/dev/null; then fail "A: user1 resolved without a cache (should fail closed)"; fi
if getent passwd 7001 >/dev/null; then fail "A: uid 7001 resolved without a cache"; fi
if id user1 >/dev/null 2>&1; then fail "A: id user1 without a cache"; fi
echo "A: fails closed without a cache: OK"

# ---- B: files tlog sss (extrausers as the directory) ----
sed 's/\bsss\b/extrausers/g' "$src/examples/nsswitch/nsswitch.directory-users.conf" > /etc/nsswitch.conf
grep -q '^passwd: *files systemd tlog extrausers' /etc/nsswitch.conf || fail "B: example passwd line changed"
{ cat "$tmp/passwd.base"; echo "localuser:x:7100:7100::/home/localuser:/bin/sh"; } > /etc/passwd
{ cat "$tmp/group.base"; echo "localuser:x:7100:"; } > /etc/group
test_users > /var/lib/extrausers/passwd
test_groups > /var/lib/extrausers/group
run_matrix "B (files tlog extrausers)"
# Local users never reach nss_tlog in this order, even with users: all.
printf 'rules:\n  - {name: all, action: record, users: all}\n' > "$tmp/rules.yaml"
"$tp" compile --rules "$tmp/rules.yaml" >/dev/null
[ "$(getent passwd localuser | cut -d: -f7)" = /bin/sh ] || fail "B: local user recorded"
[ "$(getent passwd user1 | cut -d: -f7)" != /bin/sh ] || fail "B: directory user not recorded"
# Fail open for directory users without a cache (the example's default).
rm -f /var/lib/tlog/policy.cache
[ "$(getent passwd user1 | cut -d: -f7)" = /bin/sh ] || fail "B: user1 without a cache"
[ "$(getent passwd localuser | cut -d: -f7)" = /bin/sh ] || fail "B: localuser without a cache"
echo "B: local users untouched, fails open without a cache: OK"

# ---- Netgroups as host groups: resolved by `tlog-policy compile` with innetgr(3). ----
# A copy of /etc with an /etc/netgroup (files) is bind-mounted over /etc.
cp -a /etc "$tmp/etc"
printf 'pcihosts (dbhost1,,) (dbhost2,,)\n' > "$tmp/etc/netgroup"
printf 'passwd: files\ngroup: files\nnetgroup: files\n' > "$tmp/etc/nsswitch.conf"
umount /etc/nsswitch.conf /etc/passwd /etc/group /etc/ld.so.cache
mount --bind "$tmp/etc" /etc
printf 'rules:\n  - {name: pci, action: record, users: [daemon], netgroups: [pcihosts]}\n' > "$tmp/ng.yaml"
for h in dbhost1 dbhost2 webhost; do
  "$tp" compile --rules "$tmp/ng.yaml" --output "$tmp/ng.cache" --host "$h" >/dev/null
  got=$("$tp" lookup-cache daemon 1 1 "$tmp/ng.cache" || true)
  case $h in webhost) want=exclude ;; *) want="record pci" ;; esac
  [ "$got" = "$want" ] || fail "netgroup host $h: $got, want $want"
  "$tp" explain daemon --rules "$tmp/ng.yaml" --host "$h" | grep -q "^nss: $( [ $h = webhost ] && echo 'not recorded' || echo recorded)" ||
    fail "explain with netgroup host $h"
done
echo "netgroups (innetgr) as host groups: OK"
echo "nss namespace: OK"
