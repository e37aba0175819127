#include "char_width.h"

#include <algorithm>
#include <iterator>

namespace tlog::play::vt {

namespace {

struct CharRange {
    uint32_t first, last;
};

#include "char_width_table.h"

template <size_t N>
bool in(const CharRange (&table)[N], uint32_t cp) {
    auto it = std::upper_bound(std::begin(table), std::end(table), cp,
                               [](uint32_t c, const CharRange& r) { return c < r.first; });
    return it != std::begin(table) && cp <= (it - 1)->last;
}

}  // namespace

int char_width(uint32_t cp) {
    if (cp < 0x300) return 1;  // Latin: the common case, no search
    if (in(kWidth0, cp)) return 0;
    if (in(kWidth2, cp)) return 2;
    return 1;
}

}  // namespace tlog::play::vt
