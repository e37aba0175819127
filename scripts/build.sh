#!/usr/bin/env bash
# Configures (once) and builds a build directory. Usage: build.sh DIR [meson options...]
# Developers' and CI builds treat warnings as errors (-Dwerror=true, before the
# caller's options so one can turn it off); meson.build leaves werror off for
# packagers, whose compilers and flags may warn where ours do not.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$1; shift
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$top" -Dwerror=true "$@"
fi
ninja -C "$dir"
