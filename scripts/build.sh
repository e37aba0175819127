#!/usr/bin/env bash
# Configures (once) and builds a build directory. Usage: build.sh DIR [meson options...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$1; shift
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$top" "$@"
fi
ninja -C "$dir"
