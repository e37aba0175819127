#!/usr/bin/env bash
# The man pages as installed (doc/meson.build fills in the version and date):
# one version and one footer on every page, the same version from every
# program's --version, every page formats without groff warnings, and every
# SEE ALSO names a page we ship or one a Debian package on this machine ships
# (scripts/apt-packages.txt installs those packages; a missing page fails).
# Usage: man_pages.sh BUILD_DOC_DIR VERSION PROGRAM...
set -euo pipefail
docdir=$1; version=$2; shift 2
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v groff >/dev/null || fail "groff missing (groff-base)"
mapfile -t pages < <(find "$docdir" -maxdepth 1 -name '*.[1-8]' -printf '%f\n' | sort)
[ "${#pages[@]}" -ge 10 ] || fail "only ${#pages[@]} man pages in $docdir"
footer=""
for p in "${pages[@]}"; do
  f=$docdir/$p
  th=$(head -1 "$f")
  grep -q '@[A-Z_]*@' "$f" && fail "$p: a placeholder was not filled in"
  sec=${p##*.}; name=${p%.*}
  [[ $th == ".TH ${name^^} $sec "* ]] || fail "$p: title line '$th' does not name ${name^^} $sec"
  this=$(sed -E 's/^\.TH [^ ]+ [0-9] //' <<<"$th" | sed -E 's/ "[^"]*"$//')  # date and footer
  [[ $this == *"\"tlog-suite $version\"" ]] || fail "$p: footer '$this' is not \"tlog-suite $version\""
  [ -z "$footer" ] || [ "$this" = "$footer" ] || fail "$p: footer '$this' differs from '$footer'"
  footer=$this
  err=$(LC_ALL=C.UTF-8 groff -man -ww -z -t "$f" 2>&1); [ -z "$err" ] || fail "$p: $err"
  # SEE ALSO: ".BR page (N)" lines up to the next section.
  while read -r ref sec_ref; do
    [ -n "$ref" ] || continue
    if [ -f "$docdir/$ref.$sec_ref" ]; then continue; fi
    ls /usr/share/man/man"$sec_ref"/"$ref"."$sec_ref"* >/dev/null 2>&1 ||
      fail "$p: SEE ALSO $ref($sec_ref) is neither shipped by us nor installed on this machine"
  done < <(awk '/^\.SH "?SEE ALSO/ {on=1; next} /^\.SH/ {on=0} on && /^\.BR / {print $2, $3}' "$f" |
           tr -d '(),' )
  n=$(awk '/^\.SH "?SEE ALSO/ {on=1; next} /^\.SH/ {on=0} on && /^\.BR /' "$f" | wc -l)
  [ "$n" -gt 0 ] || fail "$p: no SEE ALSO entries"
done
for prog in "$@"; do
  out=$("$prog" --version 2>&1) || fail "$prog --version failed: $out"
  first=$(head -1 <<<"$out")
  [[ $first == "$(basename "$prog") $version"* ]] || fail "$prog --version says '$first', not '$(basename "$prog") $version'"
  [ -f "$docdir/$(basename "$prog").1" ] || [ -f "$docdir/$(basename "$prog").8" ] || fail "$prog has no man page"
done
echo "man pages: ${#pages[@]} pages, footer $footer; --version of $# programs: OK"
