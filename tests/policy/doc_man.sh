#!/usr/bin/env bash
# The rules man pages (nss_tlog.8, tlog-policy.8, tlog-rules.yaml.5) format without groff warnings, and the rules example
# in tlog-rules.yaml(5) is a valid rules file.
# Usage: doc_man.sh SOURCE_ROOT TLOG_POLICY
set -euo pipefail
src=$1; tp=$2
command -v groff >/dev/null || { echo "FAIL: groff missing (groff-base)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for page in nss_tlog.8 tlog-policy.8 tlog-rules.yaml.5; do
  f=$src/doc/man/$page
  [ -f "$f" ] || { echo "FAIL: $page missing" >&2; exit 1; }
  err=$(LC_ALL=C.UTF-8 groff -man -ww -z -t "$f" 2>&1)
  [ -z "$err" ] || { echo "FAIL: $page: $err" >&2; exit 1; }
done
# The EXAMPLE section of tlog-rules.yaml(5), rendered, is a valid file.
LC_ALL=C.UTF-8 MANWIDTH=120 groff -man -Tutf8 -P-cbou "$src/doc/man/tlog-rules.yaml.5" 2>/dev/null |
  awk '/^EXAMPLE/ {on=1; next} /^[A-Z]/ {on=0} on' | sed 's/^       //' |
  awk '/^A fuller example/ {exit} {print}' > "$tmp/example.yaml"
grep -q "break-glass" "$tmp/example.yaml" || { echo "FAIL: could not extract the example" >&2; exit 1; }
"$tp" check "$tmp/example.yaml" >/dev/null 2>"$tmp/err" || { echo "FAIL: man page example: $(cat "$tmp/err")" >&2; exit 1; }
echo "man pages: OK"
