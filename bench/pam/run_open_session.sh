#!/usr/bin/env bash
# pam_tlog open_session with 10,000 rules (target: under 1 ms, so that PAM adds
# nothing noticeable to a login).
# Usage: bench/pam/run_open_session.sh BUILD_DIR [RULES] [ROUNDS]
# The policy names RULES users (one rule each, plus a group rule and an
# exclusion every 100th); the recorded user is the last one. Each round is a
# full libpam pam_start/pam_open_session/pam_end (proof HMAC, audit attempt,
# environment export included); "first" includes mapping and checksumming
# the cache, which a login program pays once per process (sshd: per login).
set -euo pipefail
build=$(realpath "$1"); nrules=${2:-10000}; rounds=${3:-2000}
find_lib() { for f in /usr/lib/*/"$1" /usr/lib/"$1"; do [ -e "$f" ] && { echo "$f"; return; }; done; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
rec=/usr/bin/tlog-rec-session
{
  echo "version: 1"; echo "default: exclude"; echo "recorder: $rec"; echo "rules:"
  for ((i = 0; i < nrules; i++)); do
    if ((i % 100 == 99)); then
      echo "  - {name: r$i, action: exclude, users: [u$i], priority: 5}"
    else
      echo "  - {name: r$i, action: record, users: [u$i], services: [sshd], settings: {input: true}}"
    fi
  done
  echo "  - {name: staff, action: record, groups: [staff]}"
} > "$tmp/rules.yaml"
echo "u$((nrules - 2)):x:9000:9000::/tmp:$rec" > "$tmp/passwd"
echo "nobody2:x:9001:9001::/tmp:/bin/bash" >> "$tmp/passwd"
printf 'u%d:x:9000:\nnobody2:x:9001:\nstaff:x:9500:\n' $((nrules - 2)) > "$tmp/group"
echo "u$((nrules - 2)):x:9000:9000::/tmp:/bin/bash" > "$tmp/real"
/usr/bin/time -f "compile: %e s, %M KB" "$build/policy/tlog-policy" compile --rules "$tmp/rules.yaml" \
  --output "$tmp/policy.cache" >/dev/null
ls -l "$tmp/policy.cache" | awk '{print "cache size: " $5 " bytes"}'
echo 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff > "$tmp/key"
mkdir "$tmp/svc"
printf "session optional $(ls /lib/*/security/pam_permit.so | head -1)\n" > "$tmp/svc/sshd"
printf 'session required %s cache=%s key=%s\n' "$build/pam_tlog/pam_tlog.so" "$tmp/policy.cache" "$tmp/key" \
  >> "$tmp/svc/sshd"
printf 'passwd: tlog pamtest\n' > "$tmp/nsswitch.conf"
PAMTEST_PASSWD=$tmp/real TLOG_NSS_NSSWITCH=$tmp/nsswitch.conf LD_LIBRARY_PATH=$build/tests/pam \
PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$tmp/svc NSS_WRAPPER_PASSWD=$tmp/passwd NSS_WRAPPER_GROUP=$tmp/group \
LD_PRELOAD="$(find_lib libpam_wrapper.so) $(find_lib libnss_wrapper.so)" \
  "$build/bench/pam/bench_open_session" sshd "u$((nrules - 2))" "$rounds"
PAMTEST_PASSWD=$tmp/real TLOG_NSS_NSSWITCH=$tmp/nsswitch.conf LD_LIBRARY_PATH=$build/tests/pam \
PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$tmp/svc NSS_WRAPPER_PASSWD=$tmp/passwd NSS_WRAPPER_GROUP=$tmp/group \
LD_PRELOAD="$(find_lib libpam_wrapper.so) $(find_lib libnss_wrapper.so)" \
  "$build/bench/pam/bench_open_session" sshd nobody2 "$rounds" 2>&1 || true
