#!/usr/bin/env bash
# The architecture's rules (doc/architecture.md, "Rules that must never
# break"), checked against the built artefacts and the source tree:
#  (a) pam_tlog.so and nss_tlog link no heavy library (YAML, LDAP, HTTP,
#      systemd, SQLite), not even through librec; nss_tlog not even librec;
#  (b) the format library exports only tlog:: declarations of its public
#      headers, never the recorder's relay, privilege separation, recorder
#      or writers;
#  (c) pam_tlog.so and tlog-play contain none of the recorder's privileged
#      code (relay, privsep, recorder_main) nor the writers (writers/);
#  (d) librec includes nothing of recorder/, player/, policy/, pam_tlog/,
#      nss_tlog/; pam_tlog/, nss_tlog/, player/ and policy/ include nothing
#      of recorder/;
#  (e) the audit converter (audit/) includes only librec and itself (the
#      program also the writers), tlog-audit holds no recorder code (the
#      writers are allowed), only audit/, tests/ and bench/ include its
#      headers; writers/ includes only librec and itself.
#  (f) the LDAP rule source stays in tlog-policy: pam_tlog.so and nss_tlog
#      contain none of it, nothing under pam_tlog/ or nss_tlog/ includes it
#      or <ldap.h>, and in policy/ only the ldap_*.cc files (the static
#      library tlogpolicy-ldap) include libldap;
#  (g) the server (server/) includes only librec, the player's terminal
#      model (vt-model: its headers term_model.h, snapshot.h,
#      keyframe_policy.h, screen_text.h), policy's YAML reading
#      (tlog/policy/yaml_reader.h: the access rules file), policy's LDAP
#      access entries and retention classes (tlog/policy/ldap_access.h,
#      ldap_retention.h, ldap_source.h: the directory's access rules and
#      retention classes, libtlogpolicy-ldap) and itself (the
#      program's subcommands' headers in server/tlog-server/ too), only
#      server/ and tests/ include its headers, tlog-server holds no recorder
#      code and none of libplay's (playback, index files, readers) nor
#      libsystemd.
#  (h) the forwarder (forward/) includes only librec, the player's readers
#      (journal and line sources) and itself, only forward/ and tests/
#      include its headers, tlog-forward holds no recorder or writer code,
#      and the setuid recorder links no HTTP or TLS library.
#  (j) the evidence verifier (server/tlog-evidence-verify/) and the proof
#      library it shares with the server (server/proof/) include only
#      librec, the proof library and themselves, and tlog-evidence-verify
#      holds none of libtlog-server (no tlog::server:: code: no database,
#      no HTTP), so it runs where the server is not.
#  (i) in the player, HTTP is the remote readers' alone: only
#      player/src/remote_source.cc includes <httplib.h>, and nothing of
#      pam_tlog/, nss_tlog/, librec/, recorder/, writers/, policy/ or audit/.
# Usage: arch_check.sh SRC_ROOT LIBREC_SO PAM_TLOG_SO NSS_TLOG_SO TLOG_PLAY TLOG_REC_SESSION TLOG_AUDIT TLOG_POLICY TLOG_SERVER TLOG_FORWARD TLOG_EVIDENCE_VERIFY
set -uo pipefail
src=$(realpath "$1") librec=$2 pam=$3 nss=$4 play=$5 recsession=$6 tlogaudit=$7 tlogpolicy=$8 tlogserver=$9 tlogforward=${10} evverify=${11}
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }
ok() { echo "ok: $*"; }

# The recorder's privileged entry points and internals, as nm -C prints them.
privileged='tlog::rec::(run_relay|relay_request_stop|capture_identities|act_as_user|back_to_recorder|become_user_or_die|become_recorder_or_die|drop_to_user_or_die|AsUser|recorder_main)\b'
recorder_internal='tlog::rec::(RelayObserver|RelaySpec|RelayResult|EndReason|end_word|mono_now_ns|real_now_ns|Identities|shell_from_program_name|is_recorder_program|GuardSink|audit_log|user_error|set_program_name|Config|LoadOptions|LoadResult|load_config|config_from_json|parse_command_line|default_json|usage|ExclusiveTerminal|TerminalLock|RateLimiter|DropRecord|ToUtf8|locale_codeset|codeset_is_utf8|is_file_transfer_command|file_transfer_argv|transfer_environment)\b'
# The writers (writers/): linked by the recorder and tlog-audit only.
writers='tlog::writers::'
heavy='yaml|ldap|lber|curl|httplib|libssl|systemd|sqlite|libpq'

# The control: the patterns name code that exists. Without it a renamed
# function would make (b) and (c) pass for nothing.
recsyms=$(nm -C "$recsession")
for want in 'tlog::rec::run_relay' 'tlog::rec::recorder_main' 'tlog::rec::become_recorder_or_die' 'tlog::writers::make_file_writer'; do
  grep -q "$want" <<<"$recsyms" || fail "control: $want not found in $recsession: the patterns below are stale"
done

# (a) What pam_tlog.so and nss_tlog load, directly and through librec.
f=$failed
libdir=$(dirname "$librec")
for so in "$pam" "$nss"; do
  needed=$(readelf -d "$so" | awk '/NEEDED/ {print $5}')
  loaded=$(LD_LIBRARY_PATH="$libdir" ldd "$so" | awk '{print $1}')
  if grep -Eiq "$heavy" <<<"$needed"$'\n'"$loaded"; then
    fail "$(basename "$so") loads a heavy library: $(grep -Ei "$heavy" <<<"$needed"$'\n'"$loaded" | sort -u | tr '\n' ' ')"
  fi
  if grep -Eiq 'recorder|libtlog-rec' <<<"$needed"$'\n'"$loaded"; then
    fail "$(basename "$so") loads recorder code: $needed"
  fi
done
if grep -q 'librec' <<<"$(readelf -d "$nss" | awk '/NEEDED/ {print $5}')$(LD_LIBRARY_PATH="$libdir" ldd "$nss")"; then
  fail "nss_tlog links librec"
fi
grep -Eiq "$heavy" <<<"$(readelf -d "$librec" | awk '/NEEDED/ {print $5}')" && fail "librec links a heavy library"
[ "$failed" = "$f" ] && ok "(a) pam_tlog, nss_tlog and librec link no heavy library; nss_tlog no librec"

# (b) The format library's exports.
f=$failed
exports=$(nm -DC --defined-only "$librec" | cut -d' ' -f3-)
bad=$(grep -Ev '^((typeinfo|typeinfo name|vtable) for )?tlog::' <<<"$exports")
[ -z "$bad" ] || fail "librec exports symbols outside namespace tlog:"$'\n'"$bad"
bad=$(grep -E "$privileged|$recorder_internal|$writers" <<<"$exports")
[ -z "$bad" ] || fail "librec exports recorder or writer code:"$'\n'"$bad"
# Each exported name is declared in a public header: the class or function
# right after the namespaces.
headers=$(cat "$src"/librec/include/tlog/*.h "$src"/librec/include/tlog/detail/*.h)
while read -r sym; do
  name=${sym#typeinfo name for }; name=${name#typeinfo for }; name=${name#vtable for }
  name=${name%%(*}; name=${name//\[abi:cxx11\]/}
  first=$(sed -E 's/^tlog::((json|integrity|hex|marker|rec|utf8|swar)::)?//; s/::.*//; s/<.*//' <<<"$name")
  grep -Eq "\b$first\b" <<<"$headers" || fail "librec exports $sym: '$first' is in no public header"
done < <(grep -E '^((typeinfo|typeinfo name|vtable) for )?tlog::' <<<"$exports")
[ "$failed" = "$f" ] && ok "(b) librec exports $(wc -l <<<"$exports") symbols, all tlog:: of its public headers"

# (c) No privileged recorder code in pam_tlog.so (inside sshd) or tlog-play.
f=$failed
for bin in "$pam" "$play"; do
  bad=$( (nm -C "$bin" 2>/dev/null; nm -DC "$bin") | grep -E "$privileged|$recorder_internal|$writers")
  [ -z "$bad" ] || fail "$(basename "$bin") contains recorder or writer code:"$'\n'"$bad"
done
[ "$failed" = "$f" ] && ok "(c) pam_tlog.so and tlog-play hold no relay, privsep, recorder or writer code"

# (d) Includes, from the sources.
f=$failed
includes() {  # FILE:LINE:NAME for every #include "NAME" under the given directories
  grep -rnE --include='*.cc' --include='*.h' --include='*.c' '^\s*#\s*include\s*"' "$@" |
    sed -E 's/^([^:]*:[0-9]+):\s*#\s*include\s*"([^"]*)".*/\1:\2/'
}
while IFS=: read -r file line name; do
  [ -e "$src/librec/include/$name" ] && continue
  [ -e "$(dirname "$file")/$name" ] && [[ $(realpath "$(dirname "$file")/$name") == "$src"/librec/* ]] && continue
  [ "$name" = tlog_build_config.h ] && continue
  fail "$file:$line includes \"$name\", which is not librec's"
done < <(cd "$src" && includes librec | sed "s|^|$src/|")
while IFS=: read -r file line name; do
  if [[ $name == tlog/rec/* || $name == *recorder/* ]] || [ -e "$src/recorder/include/$name" ]; then
    fail "$file:$line includes the recorder's \"$name\""
  fi
done < <(cd "$src" && includes pam_tlog nss_tlog player policy)
[ "$failed" = "$f" ] && ok "(d) librec includes only itself; pam_tlog, nss_tlog, player, policy include nothing of recorder/"

# (e) The audit converter: on librec only, and private.
f=$failed
while IFS=: read -r file line name; do
  [ -e "$src/librec/include/$name" ] || [ -e "$src/audit/include/$name" ] || [ "$name" = tlog_build_config.h ] ||
    { [ -e "$(dirname "$file")/$name" ] && [[ $(realpath "$(dirname "$file")/$name") == "$src"/audit/src/* ]]; } ||
    { [[ $file == */programs/* ]] && [ -e "$src/writers/include/$name" ]; } ||
    fail "$file:$line includes \"$name\", which is neither librec's nor the converter's"
done < <(cd "$src" && includes audit | sed "s|^|$src/|")
while IFS=: read -r file line name; do
  [ -e "$src/librec/include/$name" ] || [ -e "$src/writers/include/$name" ] ||
    fail "$file:$line includes \"$name\", which is neither librec's nor the writers'"
done < <(cd "$src" && includes writers)
while IFS=: read -r file line name; do
  [[ $name == tlog/audit/* ]] && fail "$file:$line includes the audit converter's \"$name\""
done < <(cd "$src" && includes librec recorder pam_tlog nss_tlog player policy)
bad=$( (nm -C "$tlogaudit" 2>/dev/null; nm -DC "$tlogaudit") | grep -E "$privileged|$recorder_internal")
[ -z "$bad" ] || fail "tlog-audit contains recorder code:"$'\n'"$bad"
grep -q 'tlog::writers::make_file_writer' <<<"$(nm -C "$tlogaudit")" || fail "control: tlog-audit has no writers: the check above is stale"
[ "$failed" = "$f" ] && ok "(e) audit/ and writers/ include librec and themselves only; tlog-audit holds no recorder code"

# (f) The LDAP rule source: only in tlog-policy.
f=$failed
ldap_syms='tlog::policy::(fetch_ldap_rules|load_ldap_config|merge_ldap_rules|ldap_group_resolver|ldapc::)'
grep -Eq "$ldap_syms" <<<"$(nm -C "$tlogpolicy")" || fail "control: fetch_ldap_rules not found in $tlogpolicy: the pattern is stale"
readelf -d "$tlogpolicy" | grep -q 'libldap' || fail "control: $tlogpolicy does not link libldap"
for so in "$pam" "$nss"; do
  bad=$(nm -C "$so" 2>/dev/null | grep -E "$ldap_syms" | head -3)
  [ -z "$bad" ] || fail "$(basename "$so") contains the LDAP rule source: $bad"
done
bad=$(cd "$src" && grep -rnE --include='*.cc' --include='*.h' --include='*.c' '^\s*#\s*include\s*[<"](ldap\.h|lber\.h|sasl/sasl\.h|tlog/policy/ldap_source\.h|ldap_client\.h)[">]' pam_tlog nss_tlog)
[ -z "$bad" ] || fail "pam_tlog/nss_tlog include the LDAP source or libldap: $bad"
bad=$(cd "$src" && grep -lE '^\s*#\s*include\s*[<"](ldap\.h|lber\.h|sasl/sasl\.h|ldap_client\.h)[">]' policy/src/*.cc policy/src/*.h policy/include/tlog/policy/*.h 2>/dev/null | grep -Ev '^policy/src/ldap_[a-z_]+\.(cc|h)$')
[ -z "$bad" ] || fail "policy files outside the LDAP library include libldap: $bad"
[ "$failed" = "$f" ] && ok "(f) the LDAP rule source is only in tlog-policy; pam_tlog and nss_tlog neither link nor include it"

# (g) The server: on librec and the terminal model only (its HTTP, SQLite,
# libpq and zstd headers are system headers, included with <>), and
# private; each storage backend's client library is included by that
# backend's file only, and PAM (viewers' sign-in) by viewer_auth.cc only;
# of policy/ it includes only the rules files' YAML reading (access rules)
# and the LDAP readers of access entries and retention classes.
f=$failed
vt_model_headers='tlog/play/(term_model|snapshot|keyframe_policy|screen_text)\.h'
while IFS=: read -r file line name; do
  [ -e "$src/librec/include/$name" ] || [ -e "$src/server/include/$name" ] || [ -e "$src/server/src/$name" ] ||
    [ -e "$src/server/proof/include/$name" ] || [ -e "$src/server/tlog-server/$name" ] ||
    [ "$name" = tlog/policy/yaml_reader.h ] || [ "$name" = tlog/policy/ldap_access.h ] ||
    [ "$name" = tlog/policy/ldap_source.h ] || [ "$name" = tlog/policy/ldap_retention.h ] ||
    [ "$name" = tlog_build_config.h ] || [[ $name =~ ^$vt_model_headers$ ]] ||
    fail "$file:$line includes \"$name\", which is neither librec's, the terminal model's, policy's YAML reading or LDAP readers nor the server's"
done < <(cd "$src" && includes server | sed "s|^|$src/|")
bad=$(nm -C "$tlogserver" | grep -E 'tlog::play::(Playback|RecordingIndex|LineSource|build_index|search_screen|JournalSource|RemoteSource)\b' | head -3)
[ -z "$bad" ] || fail "tlog-server links libplay beyond the terminal model:"$'\n'"$bad"
grep -q 'tlog::play::TermModel::feed' <<<"$(nm -C "$tlogserver")" || fail "control: tlog-server has no TermModel: the check above is stale"
! ldd "$tlogserver" 2>/dev/null | grep -q libsystemd || fail "tlog-server links libsystemd"
while IFS=: read -r file line name; do
  [[ $name == tlog/server/* ]] && fail "$file:$line includes the server's \"$name\""
done < <(cd "$src" && includes librec writers recorder audit pam_tlog nss_tlog player policy)
bad=$( (nm -C "$tlogserver" 2>/dev/null; nm -DC "$tlogserver") | grep -E "$privileged|$recorder_internal|tlog::writers::")
[ -z "$bad" ] || fail "tlog-server contains recorder or writer code:"$'\n'"$bad"
grep -q 'tlog::server::Store::add' <<<"$(nm -C "$tlogserver")" || fail "control: tlog-server has no Store: the check above is stale"
for pair in 'sqlite3\.h:server/src/store_sqlite.cc' 'libpq-fe\.h:server/src/store_postgres.cc' \
    'security/pam_appl\.h:server/src/viewer_auth.cc'; do
  hdr=${pair%%:*} own=${pair#*:}
  bad=$(cd "$src" && grep -rlE "^\s*#\s*include\s*<$hdr>" server | grep -vx "$own")
  [ -z "$bad" ] || fail "only $own may include <${hdr//\\/}>: $bad"
  (cd "$src" && grep -qE "^\s*#\s*include\s*<$hdr>" "$own") || fail "control: $own does not include <${hdr//\\/}>: the check is stale"
done
[ "$failed" = "$f" ] && ok "(g) server/ includes librec, the terminal model and itself only; tlog-server holds no recorder or libplay code"

# (h) The forwarder: librec, the player's two readers, itself; private; no
# recorder code in it and no network code in the setuid recorder.
f=$failed
while IFS=: read -r file line name; do
  [ -e "$src/librec/include/$name" ] || [ -e "$src/forward/include/$name" ] || [ -e "$src/forward/src/$name" ] ||
    [ "$name" = tlog/play/journal_source.h ] || [ "$name" = tlog/play/line_source.h ] ||
    [ "$name" = tlog_build_config.h ] ||
    fail "$file:$line includes \"$name\", which is neither librec's, the player's readers nor the forwarder's"
done < <(cd "$src" && includes forward | sed "s|^|$src/|")
while IFS=: read -r file line name; do
  [[ $name == tlog/forward/* ]] && fail "$file:$line includes the forwarder's \"$name\""
done < <(cd "$src" && includes librec writers recorder audit pam_tlog nss_tlog player policy server)
bad=$( (nm -C "$tlogforward" 2>/dev/null; nm -DC "$tlogforward") | grep -E "$privileged|$recorder_internal|tlog::writers::")
[ -z "$bad" ] || fail "tlog-forward contains recorder or writer code:"$'\n'"$bad"
grep -q 'tlog::forward::Sender::send' <<<"$(nm -C "$tlogforward")" || fail "control: tlog-forward has no Sender: the check above is stale"
readelf -d "$tlogforward" | grep -q 'libcpp-httplib' || fail "control: tlog-forward does not link cpp-httplib"
bad=$(readelf -d "$recsession" | grep -E 'libcpp-httplib|libssl|libcurl|libcrypto')
[ -z "$bad" ] || fail "the setuid recorder links network or TLS code: $bad"
[ "$failed" = "$f" ] && ok "(h) forward/ includes librec, the player's readers and itself only; tlog-forward holds no recorder code; tlog-rec-session no HTTP or TLS library"
# (i) HTTP: the server, and the player's remote readers (one file).
f=$failed
bad=$(cd "$src" && grep -rlE --include='*.cc' --include='*.h' --include='*.c' '^\s*#\s*include\s*<httplib\.h>' \
  librec writers recorder audit pam_tlog nss_tlog player policy | grep -vx 'player/src/remote_source.cc')
[ -z "$bad" ] || fail "files outside the server and the player's remote readers include <httplib.h>: $bad"
grep -qE '^\s*#\s*include\s*<httplib\.h>' "$src/player/src/remote_source.cc" ||
  fail "control: player/src/remote_source.cc does not include <httplib.h>: the check above is stale"
[ "$failed" = "$f" ] && ok "(i) HTTP in the player is in remote_source.cc only; no module or library includes it"

# (j) The offline evidence verifier: librec and the proof library only.
f=$failed
while IFS=: read -r file line name; do
  [ -e "$src/librec/include/$name" ] || [ -e "$src/server/proof/include/$name" ] || [ "$name" = tlog_build_config.h ] ||
    fail "$file:$line includes \"$name\", which is neither librec's nor the proof library's"
done < <(cd "$src" && includes server/proof server/tlog-evidence-verify | sed "s|^|$src/|")
bad=$( (nm -C "$evverify" 2>/dev/null; nm -DC "$evverify") | grep -E 'tlog::server::|sqlite3_|PQexec|httplib::' | head -3)
[ -z "$bad" ] || fail "tlog-evidence-verify holds the server's code:"$'\n'"$bad"
grep -q 'tlog::proof::root_from_proof' <<<"$(nm -C "$evverify")" || fail "control: tlog-evidence-verify has no root_from_proof: the check above is stale"
grep -q 'tlog::server::Store::add' <<<"$(nm -C "$tlogserver")" || fail "control: tlog-server has no Store: the check above is stale"
[ "$failed" = "$f" ] && ok "(j) tlog-evidence-verify and server/proof include librec and the proof library only; no server code in the verifier"

exit $failed
