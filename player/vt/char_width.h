// Columns a code point takes on the terminal: 0 (joins the previous cell),
// 1 or 2. The table is generated at build time from glibc's C.UTF-8
// wcwidth() (gen_char_width.cc), so it does not depend on the locale the
// player runs in.
#pragma once

#include <cstdint>

namespace tlog::play::vt {

int char_width(uint32_t cp);

}  // namespace tlog::play::vt
