#!/usr/bin/env bash
# The main job on the embedded default (files, no server): installs what is
# missing, builds, records a scripted demo session into a file, verifies its
# integrity chain and plays it back.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/deps.sh
bash scripts/build.sh build >/dev/null
out=${TLOG_DEMO_DIR:-$top/build/demo}
mkdir -p "$out"
tool=build/tests/tools/codec-tool
# A scripted session: a prompt, typed commands, colour, UTF-8, a resize.
cat > "$out/session.script" <<'S'
w 80x24
o 1b5b313b33326d616c696365406465766f1b5b306d3a7e2420
+400
i 6c73202d6c0d
o 6c73202d6c0d0a
+120
o 746f74616c20380d0a2d72772d722d2d722d2d20312061646d696e2061646d696e20343039362072c3a9706f6e73652e7478740d0a
+900
w 100x30
o 1b5b313b33326d616c696365406465766f1b5b306d3a7e2420
+300
i 657869740d
o 657869740d0a
end exit
S
"$tool" encode-script "$out/session.script" "$out/session.log"
echo "recorded: $out/session.log ($(wc -l < "$out/session.log") messages)"
"$tool" verify "$out/session.log"
echo "--- playback (output stream) ---"
"$tool" decode "$out/session.log"
echo
echo "--- events ---"
"$tool" decode --events "$out/session.log"
