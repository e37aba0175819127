#!/usr/bin/env bash
# Every C and C++ source of the project is formatted as .clang-format says.
# Usage: format_check.sh SOURCE_ROOT. Fails naming each file clang-format
# would change, and how to fix it.
set -uo pipefail
top=$1
command -v clang-format >/dev/null || { echo "FAIL: clang-format is not installed (scripts/deps.sh)"; exit 1; }
cd "$top" || exit 1
bad=0 n=0
while IFS= read -r -d '' f; do
  n=$((n + 1))
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "FAIL: $f is not formatted (clang-format -i $f)"
    bad=$((bad + 1))
  fi
done < <(find librec recorder policy nss_tlog pam_tlog player tests bench \
            -path tests/fuzz/corpus -prune -o \( -name '*.cc' -o -name '*.h' -o -name '*.c' \) -type f -print0)
[ "$n" -gt 100 ] || { echo "FAIL: only $n sources found under $top"; exit 1; }
echo "$((n - bad)) of $n sources formatted"
[ "$bad" = 0 ]
