// The binary encoding of the model's state in a Snapshot: variable-length
// integers, each screen row as runs of cells sharing a pen, trailing blank
// cells left out (a typical 80x24 screen takes 1-3 KB). Decoding checks
// every field and the emulator's invariants (sizes, cursor and margins in
// range, wide characters whole), since a cache file is read back from disk.
#pragma once

#include <string>
#include <string_view>

#include "screen.h"

namespace tlog::play::vt {

// The largest screen the model keeps: a recording claiming more is clamped
// (a hostile "window" must not make the player allocate gigabytes).
constexpr int kMaxRows = 1024;
constexpr int kMaxCols = 1024;

std::string encode_state(const ScreenState& s);
bool decode_state(std::string_view in, ScreenState& out);

}  // namespace tlog::play::vt
