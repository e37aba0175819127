#!/usr/bin/env bash
# pam_tlog(8) formats without groff warnings and documents every module
# argument options.cc accepts; the files the admin guide and the bastion
# HOWTO name under examples/ exist.
# Usage: pam_doc.sh SOURCE_ROOT
set -euo pipefail
src=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v groff >/dev/null || fail "groff missing (groff-base)"
page=$src/doc/man/pam_tlog.8
err=$(LC_ALL=C.UTF-8 groff -man -ww -z -t "$page" 2>&1); [ -z "$err" ] || fail "pam_tlog.8: $err"
for arg in $(grep -o 'take(a, "[a-z_]*"' "$src/pam_tlog/options.cc" | cut -d'"' -f2) debug; do
  grep -q "$arg" "$page" || fail "pam_tlog.8 does not document the argument $arg"
done
for doc in admin-guide.md bastion-howto.md; do
  for f in $(grep -o 'examples/[A-Za-z0-9_./-]*[A-Za-z0-9]' "$src/doc/$doc" | sort -u); do
    [ -e "$src/$f" ] || fail "$doc names $f, which does not exist"
  done
done
echo "pam docs: OK"
