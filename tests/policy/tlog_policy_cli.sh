#!/usr/bin/env bash
# tlog-policy check / explain / compile as an administrator uses them, and the
# examples/rules file. A failing compile must leave the last good cache intact.
# Usage: tlog_policy_cli.sh TLOG_POLICY SOURCE_ROOT
set -euo pipefail
tp=$1; src=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The shipped example checks and compiles.
"$tp" check "$src/examples/rules/rules.yaml" | grep -q "OK, 6 rules (5 enabled)" || fail "example rules do not check"

cat > "$tmp/rules.yaml" <<'Y'
rules:
  - name: rec-daemon
    action: record
    users: [daemon]
    settings: {input: true, writer: journal}
    audit: login
    retention: short
  - name: su-all
    action: record
    users: all
    services: [su]
  - name: root-never
    action: exclude
    priority: 10
    uids: [0]
Y
"$tp" compile --rules "$tmp/rules.yaml" --output "$tmp/policy.cache" --host testhost >/dev/null
"$tp" show-cache "$tmp/policy.cache" > "$tmp/show"
grep -q "^host: testhost$" "$tmp/show" || fail "show-cache host"
grep -q "^rules: 3$" "$tmp/show" || fail "show-cache rule count"
"$tp" lookup-cache daemon 1 1 "$tmp/policy.cache" | grep -q "^record rec-daemon" || fail "daemon not recorded"
out=$("$tp" lookup-cache root 0 0 "$tmp/policy.cache" || true)
[ "$out" = exclude ] || fail "root recorded: $out"

# explain: the decision, the rule, where it is, its settings.
out=$("$tp" explain daemon --rules "$tmp/rules.yaml" --service sshd --host testhost)
grep -q "^decision: record$" <<<"$out" || fail "explain decision: $out"
grep -q "rule 'rec-daemon'.*rules.yaml:2:5" <<<"$out" || fail "explain rule location: $out"
grep -q '^settings: {"log":{"input":true},"writer":"journal"}$' <<<"$out" || fail "explain settings: $out"
grep -q "^audit: login$" <<<"$out" || fail "explain audit"
out=$("$tp" explain root --rules "$tmp/rules.yaml" --service su)
grep -q "^decision: exclude$" <<<"$out" || fail "explain root: $out"
grep -q "rule 'root-never'" <<<"$out" || fail "explain root rule: $out"
out=$("$tp" explain 2 --rules "$tmp/rules.yaml")   # by uid, service-independent (nss) view
grep -q "^user: bin uid=2" <<<"$out" || fail "explain by uid: $out"
grep -q "^nss: recorded" <<<"$out" || fail "explain nss view (su-all): $out"
grep -q "service su, interactive: recorded by rule 'su-all'" <<<"$out" || fail "explain classes: $out"

# A broken rules file: error names file, line and key; cache untouched.
cp "$tmp/policy.cache" "$tmp/good.cache"
sed -i 's/action: exclude/action: exclud/' "$tmp/rules.yaml"
if "$tp" check "$tmp/rules.yaml" 2>"$tmp/err"; then fail "check accepted a broken file"; fi
grep -q "rules.yaml:13:13: field 'rules\[2\].action': expected record or exclude, got 'exclud'" "$tmp/err" || fail "check message: $(cat "$tmp/err")"
if "$tp" compile --rules "$tmp/rules.yaml" --output "$tmp/policy.cache" 2>"$tmp/err"; then fail "compile accepted a broken file"; fi
grep -q "not replaced, the last good rules stay in force" "$tmp/err" || fail "compile message: $(cat "$tmp/err")"
cmp -s "$tmp/policy.cache" "$tmp/good.cache" || fail "cache changed after a failed compile"
[ -z "$(find "$tmp" -name 'policy.cache.*')" ] || fail "temporary file left behind"

# Unwritable target: refused, message names the path.
if "$tp" compile --rules "$src/examples/rules/rules.yaml" --output "$tmp/nodir/policy.cache" 2>"$tmp/err"; then fail "compile into missing dir"; fi
grep -q "$tmp/nodir/policy.cache" "$tmp/err" || fail "missing dir message"

# TLOG_POLICY_CACHE sets the default output (tests and packaging use it).
TLOG_POLICY_CACHE="$tmp/env.cache" "$tp" compile --rules "$src/examples/rules/rules.yaml" >/dev/null
[ -s "$tmp/env.cache" ] || fail "TLOG_POLICY_CACHE ignored"
# audit-rules: session-level users by auid (daemon), a login-level
# exception as a "never" rule before the broad uid range, root excluded.
cat > "$tmp/audit.yaml" <<'Y'
rules:
  - name: admins
    action: record
    users: [daemon, bin]
  - name: ops
    action: record
    uids: ["5000-5999"]
  - name: bin-login-only
    action: record
    priority: 5
    users: [bin]
    audit: login
  - name: root-never
    action: exclude
    priority: 10
    uids: ["0"]
  - name: nobody-untracked
    action: record
    users: [nosuchuser-tlogtest]
Y
"$tp" audit-rules --rules "$tmp/audit.yaml" --host h >"$tmp/ar" 2>"$tmp/err" || fail "audit-rules failed: $(cat "$tmp/err")"
grep -q "user nosuchuser-tlogtest is unknown" "$tmp/err" || fail "audit-rules unknown user: $(cat "$tmp/err")"
daemon=$(id -u daemon) bin=$(id -u bin)
rules=$(grep -v '^#' "$tmp/ar")
for arch in b64 b32; do
  grep -qx -- "-a always,exit -F arch=$arch -S execve,execveat -F auid=$daemon -k tlog-exec" <<<"$rules" || fail "daemon exec rule ($arch): $rules"
  grep -qx -- "-a always,exit -F arch=$arch -F perm=wa -F auid=$daemon -k tlog-file" <<<"$rules" || fail "daemon file rule ($arch)"
  grep -qx -- "-a always,exit -F arch=$arch -S execve,execveat -F auid>=5000 -F auid<=5999 -k tlog-exec" <<<"$rules" || fail "range rule ($arch)"
  grep -qx -- "-a never,exit -F arch=$arch -F auid=$bin" <<<"$rules" || fail "login-level bin not excluded ($arch)"
  grep -qx -- "-a never,exit -F arch=$arch -F auid=0" <<<"$rules" || fail "root not excluded ($arch)"
done
grep -q "auid=$bin -k" <<<"$rules" && fail "bin audited at session level"
# "never" rules come before every "always" rule (the kernel takes the first match).
last_never=$(grep -n '^-a never' <<<"$rules" | tail -1 | cut -d: -f1)
first_always=$(grep -n '^-a always' <<<"$rules" | head -1 | cut -d: -f1)
[ "$last_never" -lt "$first_always" ] || fail "never rules after always rules"
echo "tlog-policy CLI: OK"
