#!/usr/bin/env bash
# libnss_tlog.so.2 is loaded into every process: it exports only _nss_tlog_*,
# runs no global constructors, starts no threads, and links no heavy library.
# Usage: nss_symbols.sh MODULE_SO
set -euo pipefail
so=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sort)
want=$(printf '%s\n' _nss_tlog_endpwent _nss_tlog_getpwent_r _nss_tlog_getpwnam_r _nss_tlog_getpwuid_r _nss_tlog_setpwent | sort)
[ "$exported" = "$want" ] || fail "exported symbols differ:"$'\n'"$exported"
# The only .init_array entry allowed is the compiler's frame_dummy (one
# pointer); in a sanitizer build also one instrumentation constructor per
# source file (_sub_I_00099_*), which is the sanitizer's, not ours.
allowed=1
if readelf -d "$so" | grep -q 'NEEDED.*libasan'; then
  allowed=$((1 + $(nm "$so" | grep -c ' _sub_I_00099_')))
fi
initsz=$(readelf -d "$so" | awk '/INIT_ARRAYSZ/ {print $3}')
[ "${initsz:-0}" -le $((8 * allowed)) ] || fail "INIT_ARRAYSZ $initsz (allowed $((8 * allowed))): a global constructor crept in"
! nm "$so" | grep -q '_GLOBAL__sub_I' || fail "global constructor: $(nm "$so" | grep _GLOBAL__sub_I)"
! readelf -S "$so" | grep -q '\.ctors' || fail ".ctors section"
# No threads, no heavy libraries.
needed=$(readelf -d "$so" | awk '/NEEDED/ {print $5}')
for bad in yaml ldap crypto ssl librec; do
  ! grep -qi "$bad" <<<"$needed" || fail "links $bad: $needed"
done
! nm -D --undefined-only "$so" | grep -qE ' (pthread_create|thrd_create|clone)(@|$)' || fail "creates threads"
! nm -D --undefined-only "$so" | grep -qE ' _?_?(getpw|getgr|getgrouplist|initgroups)' || fail "calls back into NSS"
echo "nss symbols: OK ($(tr '\n' ' ' <<<"$needed"))"
