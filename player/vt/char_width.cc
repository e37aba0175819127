#include "char_width.h"

#include <algorithm>
#include <array>
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

int search(uint32_t cp) {
    if (in(kWidth0, cp)) return 0;
    if (in(kWidth2, cp)) return 2;
    return 1;
}

// The Basic Multilingual Plane, two bits a code point (16 KiB), filled
// once: CJK and box-drawing text would otherwise search for every character.
using BmpTable = std::array<uint8_t, 0x10000 / 4>;

BmpTable make_bmp_table() {
    BmpTable t{};
    for (uint32_t cp = 0; cp < 0x10000; cp++)
        t[cp >> 2] = static_cast<uint8_t>(t[cp >> 2] | (search(cp) << ((cp & 3) * 2)));
    return t;
}

}  // namespace

int char_width(uint32_t cp) {
    if (cp < 0x300) return 1;  // Latin: the common case
    if (cp < 0x10000) {
        static const BmpTable bmp = make_bmp_table();
        return (bmp[cp >> 2] >> ((cp & 3) * 2)) & 3;
    }
    return search(cp);
}

}  // namespace tlog::play::vt
